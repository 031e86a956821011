"""The REST API: KPIs with the CLI's parameters, the catalogue, targets, imports, rejects.

Every route needs a logged-in caller (session cookie or bearer token); KPI figures and
rows are restricted to the caller's scope by the query layer; anything that lists rows is
paginated (``limit``, ``offset``) with a maximum.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
import tempfile
from pathlib import Path
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from cxkpi.access.audit import entries
from cxkpi.access.users import Role
from cxkpi.web.deps import Server, caller, server, writer
from cxkpi.service.queries import QueryArgs, drill_frame, kpi_frame, served_query
from cxkpi.service.principal import Principal
from cxkpi.config import UserError
from cxkpi.kpi.inspect import parse_where
from cxkpi.kpi.output import records
from cxkpi.kpi.targets import Target, load_targets, remove_target, set_target
from cxkpi.schema import TABLES
from cxkpi.warehouse.inspect import count_rejects, import_log_page, list_rejects

router = APIRouter(prefix="/api", tags=["api"])

MAX_LIMIT = 1000
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]


class Page(BaseModel):
    rows: list[dict[str, Any]]
    limit: int
    offset: int
    total: int | None = Field(default=None, description="Rows in all pages, when known.")


class KpiAnswer(BaseModel):
    query: dict[str, Any]
    rows: list[dict[str, Any]]
    limit: int
    offset: int
    total: int


class TargetIn(BaseModel):
    kpi: str = Field(max_length=100)
    target: float = Field(allow_inf_nan=False)  # JSON parsers read 1e999 as inf: a target is a finite number
    dimension: str | None = Field(None, max_length=100)
    value: str | None = Field(None, max_length=200)
    amber: float | None = Field(None, allow_inf_nan=False)


class Me(BaseModel):
    username: str
    role: str
    team: str | None
    agent_id: str | None
    lang: str


@router.get("/me", response_model=Me)
def me(who: Principal = Depends(caller)) -> Me:
    u = who.user
    return Me(username=u.username, role=u.role.value, team=u.team, agent_id=u.agent_id, lang=u.lang)


@router.get("/catalogue")
def catalogue(lang: Annotated[str, Query(pattern="^(en|fr)$")] = "en", who: Principal = Depends(caller)) -> list[dict[str, Any]]:
    """The KPIs open to the caller: name, label, definition, formula, unit, direction, dimensions."""
    return [
        {
            "name": k.name, "label": k.label(lang), "definition": k.definition(lang), "formula": k.formula,
            "unit": k.unit.value, "direction": k.direction.value, "dimensions": list(k.dimensions),
            "inputs": list(k.inputs), "params": list(k.params), "min_grain": k.min_grain.value,
        }
        for k in who.scope.kpis()
    ]


@router.get("/kpis", response_model=KpiAnswer, responses={200: {"content": {
    "text/csv": {}, "application/vnd.apache.parquet": {}}, "description": "A page of JSON rows, or the whole answer as CSV or Parquet."}})
def kpis(
    kpi: Annotated[list[str], Query(min_length=1, max_length=60, description="KPI names (repeat).")],
    by: Annotated[str | None, Query(max_length=200, description="Dimensions, comma-separated.")] = None,
    grain: Annotated[str, Query(pattern="^(day|week|month|quarter|year|all)$")] = "all",
    start: Annotated[str | None, Query(alias="from", max_length=10, description="First local date YYYY-MM-DD.")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10, description="Last local date (inclusive).")] = None,
    tz: Annotated[str | None, Query(max_length=64)] = None,
    where: Annotated[list[str] | None, Query(max_length=20, description="dim=value filters (repeat).")] = None,
    param: Annotated[list[str] | None, Query(max_length=20, description="KPI parameter name=value (repeat).")] = None,
    with_counts: bool = False,
    targets: bool = False,
    limit: Limit = MAX_LIMIT,
    offset: Offset = 0,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|csv|parquet)$",
                              description="json: one page of rows; csv or parquet: the whole answer, streamed.")] = "json",
    who: Principal = Depends(caller),
    srv: Server = Depends(server),
) -> Any:
    """KPIs by dimensions and period, as ``cxkpi kpi --format json``.

    The answer is computed once per data version, whatever its size: pages (``limit``,
    ``offset``, ``total``) read the same cached result, and ``format=csv`` or ``parquet``
    download all of it."""
    args = QueryArgs(kpis=tuple(kpi), by=by, grain=grain, start=start, end=end, tz=tz, where=tuple(where or ()),
                     params=tuple(param or ()), with_counts=with_counts)
    q = served_query(srv.warehouse, args)
    frame = kpi_frame(srv.warehouse, who, q, targets=targets)
    if fmt != "json":
        return frame_download(frame, fmt, "kpis")
    page = frame.iloc[offset:offset + limit]
    return KpiAnswer(
        query={"kpis": list(q.kpis), "by": list(q.by), "grain": q.grain.value, "from": start, "to": end, "tz": q.tz,
               "where": list(where or []), "with_counts": with_counts, "targets": targets},
        rows=records(page), limit=limit, offset=offset, total=len(frame),
    )


def frame_download(frame: Any, fmt: str, name: str) -> StreamingResponse:
    """A whole result as CSV (UTF-8, written in chunks) or Parquet."""
    if fmt == "parquet":
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
        buffer.seek(0)
        return StreamingResponse(buffer, media_type="application/vnd.apache.parquet",
                                 headers={"Content-Disposition": f'attachment; filename="{name}.parquet"'})

    def chunks() -> Iterator[str]:
        step = 50_000
        for i in range(0, max(len(frame), 1), step):
            yield frame.iloc[i:i + step].to_csv(index=False, header=i == 0)

    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/drill/{name}", response_model=Page)
def drill_rows(
    name: str,
    where: Annotated[list[str] | None, Query(max_length=20, description="dim=value of the figure's group.")] = None,
    period: Annotated[str | None, Query(max_length=20, description="The figure's period label.")] = None,
    grain: Annotated[str, Query(pattern="^(day|week|month|quarter|year|all)$")] = "all",
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    who: Principal = Depends(caller),
    srv: Server = Depends(server),
) -> Page:
    """The rows behind one figure (its group and period), within the caller's scope."""
    q = served_query(srv.warehouse, QueryArgs(kpis=(name,), grain=grain, start=start, end=end))
    frame = drill_frame(srv.warehouse, who, name, parse_where(list(where or [])), period, q, limit, offset)
    return Page(rows=records(frame), limit=limit, offset=offset)


@router.get("/targets")
def targets_list(who: Principal = Depends(caller), srv: Server = Depends(server)) -> list[dict[str, Any]]:
    with srv.warehouse.reader() as (_, cur):
        found = load_targets(cur)
    return [{"kpi": t.kpi, "target": t.target, "dimension": t.dimension, "value": t.value, "amber": t.amber} for t in found]


@router.put("/targets")
def targets_set(body: TargetIn, request: Request, who: Principal = Depends(writer), srv: Server = Depends(server)) -> dict[str, Any]:
    """Create or replace a target (admin, manager)."""
    srv.security.check_csrf(request, who)
    if (body.dimension is None) != (body.value is None):
        raise UserError("give both dimension and value, or neither")
    with srv.warehouse.writer() as con:
        set_target(con, Target(kpi=body.kpi, target=body.target, dimension=body.dimension, value=body.value, amber=body.amber))
    srv.changed()
    return {"ok": True}


@router.delete("/targets")
def targets_remove(
    request: Request,
    kpi: Annotated[str, Query(max_length=100)],
    dimension: Annotated[str | None, Query(max_length=100)] = None,
    value: Annotated[str | None, Query(max_length=200)] = None,
    who: Principal = Depends(writer),
    srv: Server = Depends(server),
) -> dict[str, Any]:
    srv.security.check_csrf(request, who)
    with srv.warehouse.writer() as con:
        removed = remove_target(con, kpi, dimension, value)
    if not removed:
        raise HTTPException(status_code=404, detail="no such target")
    return {"removed": removed}


MAX_UPLOAD_NAME = 100  # characters; 200 bytes at most in UTF-8, well under a file system's 255


def upload_name(raw: str | None) -> str:
    """The name an upload goes by: its temporary copy, the import log, the rejects, messages.

    The client chooses it, so only its last path part is kept, printable characters only,
    at most ``MAX_UPLOAD_NAME`` characters with its extension (the file's format) kept;
    ``upload.csv`` when nothing usable is left (no name, ``.``, ``..``).
    """
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base[:10_000] if ch.isprintable()).strip()
    if base in ("", ".", ".."):
        return "upload.csv"
    suffix = Path(base).suffix
    suffix = suffix if len(suffix) <= 16 else ""
    stem = base[: len(base) - len(suffix)][:MAX_UPLOAD_NAME - len(suffix)]
    while len((stem + suffix).encode()) > 2 * MAX_UPLOAD_NAME:
        stem = stem[:-1]
    return stem + suffix


@router.post("/imports")
def imports_upload(
    request: Request,
    table: Annotated[str, Form(max_length=40)],
    file: Annotated[UploadFile, File()],
    mapping: Annotated[str | None, Form(max_length=100)] = None,
    source_tz: Annotated[str | None, Form(max_length=64)] = None,
    who: Principal = Depends(writer),
    srv: Server = Depends(server),
) -> dict[str, Any]:
    """Import an uploaded file (admin, manager); the answer is the import report."""
    srv.security.check_csrf(request, who)
    if table not in TABLES:
        raise UserError(f"unknown table {table!r} (one of {', '.join(TABLES)})")
    name = upload_name(file.filename)
    with tempfile.TemporaryDirectory(prefix="cxkpi-upload-") as folder:
        path = Path(folder) / name
        with path.open("wb") as f:
            shutil.copyfileobj(file.file, f)
        try:
            # a shipped or stored mapping's name, never a path (run_import opens no file it names);
            # a form's empty field is no mapping
            report = srv.run_import(table, path, mapping or None, source_tz, rejects_dir=Path(folder), shown_as=name)
        except UserError as exc:  # name the uploaded file, not the server's temporary copy
            raise UserError(str(exc).replace(str(path), name).replace(folder, "")) from None
    srv.security.audit("import", who.user.username, f"{table} {name}: {report['accepted']} accepted, {report['rejected']} rejected",
                       None)
    return report


@router.get("/imports", response_model=Page)
def imports_list(limit: Limit = 100, offset: Offset = 0, who: Principal = Depends(writer), srv: Server = Depends(server)) -> Page:
    """The import log, newest first (admin, manager)."""
    with srv.warehouse.reader() as (_, cur):
        rows, total = import_log_page(cur, limit, offset)
    return Page(rows=rows, limit=limit, offset=offset, total=total)


@router.get("/rejects", response_model=Page)
def rejects_list(
    import_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    table: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    who: Principal = Depends(writer),
    srv: Server = Depends(server),
) -> Page:
    """Rows set aside (file, line, column, reason), newest import first (admin, manager)."""
    with srv.warehouse.reader() as (_, cur):
        total = count_rejects(cur, table, import_id)
        rows = list_rejects(cur, table, import_id, limit=limit, offset=offset)
    return Page(rows=rows, limit=limit, offset=offset, total=total)


@router.get("/audit", response_model=Page)
def audit_list(limit: Limit = 100, offset: Offset = 0, who: Principal = Depends(caller), srv: Server = Depends(server)) -> Page:
    """The audit log of logins, exports and imports, newest first (admin)."""
    if who.user.role is not Role.ADMIN:
        raise HTTPException(status_code=403, detail="admins only")
    with srv.warehouse.reader() as (_, cur):
        found = entries(cur, limit=limit, offset=offset)
    return Page(rows=[asdict(e) for e in found], limit=limit, offset=offset)
