"""Building the daily rollups: the raw aggregation at grain day, stored per rollup.

Each source's rollups are rebuilt from one scan (``kpi.scan.expression`` at grain day in
the reporting zone, by the union of their dimensions), then summed per rollup; the
distinct-customer rollups sum the flags of ``contact_links``. The SQL that stores them is
the warehouse's (``warehouse.rollup_store``). Rollups are rebuilt inside the transaction
that changes their tables (the import pipeline's after-write step), so a reader never
sees new rows with old rollups. FCR censoring depends on the latest contact of the whole
warehouse, so a contact import rebuilds its rollups whole rather than only the days it
touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import ibis.expr.operations as ops
import pyarrow as pa

from cxkpi import __version__
from cxkpi.config import UserError, check_tz
from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.model import Grain
from cxkpi.kpi.periods import local_midnight_utc, next_start, period_start
from cxkpi.kpi.query import PERIOD, KpiQuery
from cxkpi.kpi.rollup_meta import (
    CUSTOMER_ROLLUPS, FORMAT, PERIOD_GRAINS, ROLLUPS, declared, fingerprint, finest, stored,
)
from cxkpi.kpi.scan import data_span, expression, local_date
from cxkpi.kpi.sources import SOURCES, Shape
from cxkpi.warehouse import rollup_store as store
from cxkpi.warehouse.engines import Engine, duckdb_engine

__all__ = ["refresh_after_change", "refresh_rollups"]


def _current(meta: dict[str, Any] | None, tz: str, digest: str) -> bool:
    """The stored rollups are the declared ones, for this zone and these parameters."""
    if meta is None or meta.get("tz") != tz or meta.get("params") != digest:
        return False
    wanted = declared()
    held = meta.get("rollups", {})
    return set(held) == set(wanted) and all(
        {k: held[n].get(k) for k in ("source", "dims", "measures")} == d for n, d in wanted.items()
    )


def _tables_read(expr: Any) -> set[str]:
    return {node.name for node in expr.op().find(ops.DatabaseTable)}


def _build_source(
    engine: Engine, source: str, tz: str, p: Mapping[str, Any]
) -> tuple[dict[str, int], set[str], list[str] | None]:
    """Rebuild the rollups of one source: the raw daily aggregation by all their dimensions
    once (one scan), then each rollup summed from it. Returns their rows, the tables read
    and, for a snapshot, the span of days it covers (ISO dates; None: no data)."""
    con = engine.raw
    rollups = [r for r in ROLLUPS if r.source == source]
    src = SOURCES[source]
    span: list[str] | None = None
    reads: set[str] = set()
    if src.shape is Shape.SNAPSHOT:
        engine.facts.clear()  # the span of the data as it is now, in this transaction
        days = data_span(engine, src, tz)
        # the default span is the table's own, falling back on the contacts' one when it is empty
        reads = {src.table} if store.has_rows(con, src.table) else {src.table, "contacts"}
        if days is None:
            for r in rollups:
                store.drop(con, r.table)
            return {r.name: 0 for r in rollups}, reads, None
        span = [days[0].isoformat(), days[1].isoformat()]
        q = KpiQuery(kpis=(), by=finest()[source], grain=Grain.DAY, start=days[0], end=days[1], tz=tz, use_rollups=False)
    else:
        q = KpiQuery(kpis=(), by=finest()[source], grain=Grain.DAY, tz=tz)
    expr = expression(engine, src, rollups[0].measures(), q, p)
    base = f"_rollup_base_{source}"
    # a snapshot's period is the label of day d, stored as a date
    store.materialize(con, expr, base, date_column=PERIOD if src.shape is Shape.SNAPSHOT else None)
    schema = expr.schema()
    rows = {
        r.name: store.sum_into(con, base, r.table, (*r.dims, PERIOD),
                               [(m.name, schema[m.name].is_integer()) for m in r.measures()], order_by=PERIOD)
        for r in rollups
    }
    store.drop(con, base)
    return rows, _tables_read(expr) | reads, span


def _day_bounds(first: date, last: date, tz: str) -> pa.Table:
    """Each local day with the UTC bounds of its period of every grain."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    columns: dict[str, Any] = {"day": pa.array(days, pa.date32())}
    utc = pa.timestamp("us", tz="UTC")
    for g in PERIOD_GRAINS:
        starts = [period_start(d, g) for d in days]
        columns[f"s_{g.value}"] = pa.array([local_midnight_utc(s, tz) for s in starts], utc)
        columns[f"e_{g.value}"] = pa.array([local_midnight_utc(next_start(s, g), tz) for s in starts], utc)
    return pa.table(columns)


def build_customer_rollups(engine: Engine, tz: str) -> dict[str, int]:
    """(Re)build every distinct-customer rollup in zone ``tz`` from ``contact_links``; their rows."""
    lo, hi = store.links_span(engine.raw)
    zone = ZoneInfo(tz)
    first, last = local_date(lo, zone), local_date(hi, zone)
    bounds = _day_bounds(first, last, tz) if first and last else _day_bounds(date(2000, 1, 1), date(2000, 1, 1), tz)
    grains = [g.value for g in PERIOD_GRAINS]
    return {r.name: store.customer_rollup(engine.raw, r.table, r.dims, r.links, bounds, grains, tz, PERIOD)
            for r in CUSTOMER_ROLLUPS}


def refresh_rollups(
    target: Engine | duckdb.DuckDBPyConnection,
    tz: str,
    params: Mapping[str, Any] | None = None,
    tables: Iterable[str] | None = None,
) -> dict[str, int]:
    """(Re)build the rollups; returns the rows of each one rebuilt.

    ``tables``: the tables whose rows changed, so only the rollups reading them are
    rebuilt (None: all). Every rollup is rebuilt when the stored ones were made for
    another zone, other parameters or another set of declarations. Runs in the caller's
    transaction, if any (the importer's): it never begins nor commits one.
    """
    engine = target if isinstance(target, Engine) else duckdb_engine(target)
    if engine.raw is None:
        raise UserError("rollups are stored in the DuckDB warehouse only")
    tz = check_tz(tz)
    p = kpi_params.resolve(params)
    digest = fingerprint(p)
    meta = stored(engine)
    changed = set(tables) if tables is not None and meta is not None and _current(meta, tz, digest) else None
    held: dict[str, Any] = dict(meta["rollups"]) if meta is not None and changed is not None else {}
    wanted = declared()
    built: dict[str, int] = {}
    for source in finest():
        mine = [r for r in ROLLUPS if r.source == source]
        if changed is not None and not any(set(held[r.name]["reads"]) & changed for r in mine):
            continue
        rows, reads, span = _build_source(engine, source, tz, p)
        for r in mine:
            held[r.name] = {**wanted[r.name], "rows": rows[r.name], "reads": sorted(reads)}
            if SOURCES[source].shape is Shape.SNAPSHOT:
                held[r.name]["span"] = span
        built |= rows
    if changed is None or store.LINKS in changed:
        rows = build_customer_rollups(engine, tz)
        for name, n in rows.items():
            held[name] = {**wanted[name], "rows": n, "reads": [store.LINKS]}
        built |= rows
    store.write_meta(engine.raw, {"format": FORMAT, "version": __version__, "tz": tz, "params": digest, "rollups": held})
    engine.facts.clear()  # the facts this engine remembered (rollup tables, their metadata) changed
    return built


def refresh_after_change(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, int]:
    """Rebuild the rollups reading ``tables`` in the warehouse's reporting zone (default UTC)."""
    return refresh_rollups(con, store.reporting_tz(con), tables=tables)
