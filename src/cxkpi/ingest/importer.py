"""Import a file into a canonical table: every row accepted or set aside, in one transaction.

The steps, all inside DuckDB: read the file as text cells (``sources``), rename and
convert with a mapping (``mapping``), type and check every cell and row rule
(``validate``), set aside duplicates of the key within the file, then upsert the valid
rows on the table key, counting new, changed and unchanged rows. The batch is one
transaction: a process killed mid-import leaves the warehouse as it was.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from datetime import UTC, datetime
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cxkpi.config import UserError, check_tz
from cxkpi.ingest import mapping as mappings
from cxkpi.ingest.sources import ReadOptions, Staged, _StagedCsv, aliased, stage
from cxkpi.ingest.validate import raw_json, reason_sql, rule_checks, typed_select
from cxkpi.schema import Table, table as get_table
from cxkpi.schema.tables import IfPresent
from cxkpi.warehouse import IMPORT_ID, quote
from cxkpi.warehouse.changes import Change
from cxkpi.warehouse.derived import (
    DERIVED_COLUMNS, refresh_case_contacts, refresh_contact_links, refresh_customers, refresh_next_inbound,
)

Progress = Callable[[str, float], None]
# called inside an import's transaction, after its rows are written, with the table imported
# and what the import changed (the import pipeline's after-write steps: text scoring,
# rollups); never commits
AfterWrite = Callable[[duckdb.DuckDBPyConnection, str, Change], None]
_tags = itertools.count()


@dataclass(frozen=True)
class ImportReport:
    """What an import did; ``read == accepted + rejected`` always."""

    import_id: int
    table: str
    file: str
    format: str
    read: int
    accepted: int
    rejected: int
    new: int
    changed: int
    unchanged: int
    rejects_file: str | None
    checksum: str
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def import_file(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    path: str | Path,
    mapping: str | mappings.Mapping | None = None,
    source_tz: str | None = None,
    options: ReadOptions | None = None,
    rejects_dir: str | Path | None = None,
    progress: Progress | None = None,
    after_write: AfterWrite | None = None,
) -> ImportReport:
    """Import one file (CSV, XLSX, Parquet or JSON Lines) into ``table_name``.

    ``source_tz`` is the zone of timestamps written without an offset (option, else the
    mapping's, else the warehouse's ``source_tz`` setting, else UTC). Rejects are written
    beside the file as ``NAME.rejects.csv``, or into ``rejects_dir`` when given or when the
    file's folder is read-only. ``after_write`` runs in the import's transaction when rows
    changed (``cxkpi.service.imports`` passes the registered steps).
    """
    path = Path(path)
    table = _table(table_name)
    m = mappings.load(mapping) if isinstance(mapping, str) else mapping
    if m is not None and m.table != table.name:
        raise UserError(f"mapping {m.name} is for table {m.table}, not {table.name}")
    read = _merge(m.read if m else ReadOptions(), options or ReadOptions())
    tz = _source_tz(con, source_tz, m)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a file")
    rejects_file = _rejects_path(path, rejects_dir)
    checksum = _Checksum(path)
    try:
        return _run_import(con, table, lambda tag: stage(con, path, read, tag), m, tz, str(path), rejects_file,
                           progress, checksum, after_write)
    except _NotUtf8:
        retry = ReadOptions(**{**asdict(read), "encoding": "cp1252"})
        return _run_import(con, table, lambda tag: stage(con, path, retry, tag), m, tz, str(path), rejects_file,
                           progress, checksum, after_write)
    finally:
        checksum.wait()  # never leave the thread reading a file its caller may delete


def import_arrow(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    data: pa.Table,
    label: str,
    progress: Progress | None = None,
    after_write: AfterWrite | None = None,
) -> ImportReport:
    """Import an in-memory Arrow table through the same checks (the demo loads this way)."""
    table = _table(table_name)

    def staged(tag: str) -> Staged:
        view = f"_arrow_{tag}"
        con.register(view, data)
        cells = aliased([f"CAST({quote(c)} AS VARCHAR)" for c in data.column_names])
        return Staged(
            path=Path(label),
            format="arrow",
            columns=list(data.column_names),
            relation_sql=f"SELECT {cells} FROM {view}",
            structural=[],
            first_line=1,
        )

    views: list[str] = []

    def registered(tag: str) -> Staged:
        views.append(f"_arrow_{tag}")
        return staged(tag)

    try:
        return _run_import(con, table, registered, None, "UTC", label, None, progress, None, after_write)
    finally:
        for view in views:  # the connection would otherwise keep the data alive
            con.unregister(view)


def _table(name: str) -> Table:
    try:
        return get_table(name)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None


def _merge(base: ReadOptions, override: ReadOptions) -> ReadOptions:
    return ReadOptions(**{k: getattr(override, k) or getattr(base, k) for k in ReadOptions.__dataclass_fields__})


def _source_tz(con: duckdb.DuckDBPyConnection, option: str | None, m: mappings.Mapping | None) -> str:
    if option:
        return check_tz(option)
    if m is not None and m.source_tz:
        return m.source_tz
    rows = con.execute("SELECT value FROM warehouse_config WHERE key = 'source_tz'").fetchall()
    return check_tz(rows[0][0]) if rows and rows[0][0] else "UTC"


def _rejects_path(path: Path, rejects_dir: str | Path | None) -> Path:
    if rejects_dir is not None:
        folder = Path(rejects_dir)
    elif os.access(path.parent.resolve(), os.W_OK):
        folder = path.parent
    else:
        folder = Path.cwd() / "rejects"
    return folder / f"{path.name}.rejects.csv"


class _Checksum:
    """SHA-256 of the file, and its blank lines (which CSV readers skip), computed in a
    thread while DuckDB reads the file."""

    def __init__(self, path: Path, chunk: int = 8 << 20) -> None:
        self._chunk = chunk
        self._digest = hashlib.sha256()
        self._blank: list[int] = []
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        # bytes.find runs in C: the thread stays light beside DuckDB's readers (a regex
        # scan in Python held the interpreter and slowed the import's first step by a third)
        lines = 0  # newlines seen before the current chunk
        previous = b"\n"  # a blank first line counts too
        with path.open("rb") as fh:
            while chunk := fh.read(self._chunk):
                self._digest.update(chunk)
                tail = previous[-2:]
                data = tail + chunk
                offset = len(tail)
                starts = sorted(_blank_starts(data, offset))
                pos, seen = offset, 0  # newlines of this chunk before pos
                for start in starts:
                    start = max(start, offset)
                    seen += data.count(b"\n", pos, start)
                    pos = start
                    self._blank.append(lines + seen + 1)
                lines += chunk.count(b"\n")
                previous = data[-2:]  # the last two bytes read, whatever the chunk size

    def wait(self) -> None:
        self._thread.join()

    def value(self) -> str:
        self._thread.join()
        return self._digest.hexdigest()

    def blank_lines(self) -> list[int]:
        self._thread.join()
        return self._blank


def _blank_starts(data: bytes, offset: int) -> list[int]:
    """Where the blank lines of ``data`` start (a line ``\r?`` between two newlines), for
    those whose ending newline lies at or after ``offset``."""
    out = []
    for blank in (b"\n\n", b"\n\r\n"):
        i = data.find(blank)
        while i != -1:
            if i + len(blank) > offset:
                out.append(i + 1)
            i = data.find(blank, i + 1)
    return out


def _execute(con: duckdb.DuckDBPyConnection, sql: str, step: str, progress: Progress | None) -> None:
    """Run a statement; with a progress callback, poll DuckDB's own progress meanwhile."""
    if progress is None:
        con.execute(sql)
        return
    error: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
        try:
            done = con.query_progress()
        except duckdb.Error:
            done = -1
        if done >= 0:
            progress(step, min(done, 100.0) / 100.0)
    progress(step, 1.0)
    if error:
        raise error[0]


def _run_import(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    make_staged: Callable[[str], Staged],
    m: mappings.Mapping | None,
    tz: str,
    file_label: str,
    rejects_file: Path | None,
    progress: Progress | None,
    checksum: _Checksum | None,
    after_write: AfterWrite | None,
) -> ImportReport:
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    tag = f"{os.getpid()}_{next(_tags)}"
    typed = f"_typed_{tag}"
    con.execute("BEGIN TRANSACTION")
    try:
        staged = make_staged(tag)
        compiled = (
            mappings.compile_mapping(m, table, staged.columns, file_label, staged.ref)
            if m is not None
            else mappings.identity(table, staged.columns, staged.ref)
        )
        _require_columns(table, compiled.fields, staged.columns, file_label)
        sql, extras = typed_select(
            table, compiled.fields, compiled.rejects, staged.named_relation(), tz, staged.decimal,
            [(c, staged.ref(c)) for c in staged.columns],
            staged.line_column,
        )
        try:
            _execute(con, f"CREATE TEMP TABLE {typed} AS {sql}", "read and check", progress)
        except duckdb.Error as exc:
            raise UserError(f"{file_label}: cannot read ({str(exc).splitlines()[0]})") from None
        if isinstance(staged, _StagedCsv):
            staged.collect_structural(con)
            if checksum is not None and staged.encoding != "utf-16":
                staged.blank_lines = checksum.blank_lines()
            if staged.sniffed_utf8 and any("encoding" in reason for _, reason, _ in staged.structural):
                raise _NotUtf8()
        # rows of a table made inside a transaction are numbered from a large offset
        base = int(_scalar(con, f"SELECT coalesce(min(rowid), 0) FROM {typed}"))
        if table.derive_key_from:
            _derive_key(con, table, typed)
        _reject_duplicates(con, table, typed, staged, base)
        provided = _provided(table, compiled.fields)
        _reject_broken_merges(con, table, typed, provided)
        _fill_raw(con, typed, staged, base)
        import_id = int(_scalar(con, "SELECT nextval('import_id_seq')"))
        # the rejects of a file are what its latest import set aside; the log keeps the history
        con.execute("DELETE FROM rejects WHERE table_name = ? AND file = ?", [table.name, file_label])
        rejected = _store_rejects(con, table, typed, staged, import_id, file_label, base)
        read = int(_scalar(con, f"SELECT count(*) FROM {typed}")) + len(staged.structural)
        _add_extra_columns(con, table, extras)
        refresh = _refresh_derived(con, table, typed)
        change = Change()
        new, changed, unchanged = _upsert(con, table, typed, provided + extras, extras, import_id, progress, change)
        if new or changed:
            refresh(change)
            if after_write is not None:  # same transaction: derived data is never stale
                after_write(con, table.name, change)
        change.drop(con)
        digest = checksum.value() if checksum else ""
        con.execute(
            "INSERT INTO import_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_id, table.name, file_label, digest, staged.format, m.name if m else None, tz,
                started_at, datetime.now(UTC), read, read - rejected, rejected,
                new, changed, unchanged, str(rejects_file) if rejects_file and rejected else None,
            ],
        )
        con.execute(f"DROP TABLE {typed}")
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    finally:
        for p in getattr(locals().get("staged"), "cleanup", []):
            p.unlink(missing_ok=True)
    written = _write_rejects(con, import_id, rejects_file) if rejected and rejects_file else None
    return ImportReport(
        import_id=import_id,
        table=table.name,
        file=file_label,
        format=staged.format,
        read=read,
        accepted=read - rejected,
        rejected=rejected,
        new=new,
        changed=changed,
        unchanged=unchanged,
        rejects_file=written,
        checksum=digest,
        seconds=round(time.perf_counter() - started, 3),
    )


class _NotUtf8(Exception):
    """A file sniffed as UTF-8 has invalid UTF-8 further on: it is read again as Windows-1252."""


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> Any:
    return con.execute(sql, params or []).fetchall()[0][0]


def _provided(table: Table, fields: dict[str, str]) -> list[str]:
    """Columns a file says something about: its own and the key.

    An update never overwrites a column the file does not carry, not even with a default
    (a row's outcome stays "callback" when a later export has no outcome column).
    """
    return [c.name for c in table.columns if c.name in fields or c.name in table.key]


def _merged(table: Table, provided: list[str]) -> dict[str, str]:
    """SQL of each column of a row after an update (``s`` the file's row, ``t`` the stored one).

    A provided column takes the file's value; another keeps the stored one, except a
    default derived from a provided column (outcome from answered_at), which follows it
    unless the stored value was set on purpose (``callback`` stays).
    """
    out: dict[str, str] = {}
    for c in table.columns:
        q = quote(c.name)
        d = c.default
        if c.name in provided:
            out[c.name] = f"s.{q}"
        elif isinstance(d, IfPresent) and d.column in provided:
            dep = quote(d.column)
            then, otherwise = _sql_lit(d.then), _sql_lit(d.otherwise)
            old = f"(CASE WHEN t.{dep} IS NOT NULL THEN {then} ELSE {otherwise} END)"
            new = f"(CASE WHEN s.{dep} IS NOT NULL THEN {then} ELSE {otherwise} END)"
            out[c.name] = f"(CASE WHEN t.{q} IS NOT DISTINCT FROM {old} THEN {new} ELSE t.{q} END)"
        else:
            out[c.name] = f"t.{q}"
    return out


def _reject_broken_merges(con: duckdb.DuckDBPyConnection, table: Table, typed: str, provided: list[str]) -> None:
    """A partial update must leave a stored row that still keeps every rule: a file without
    ended_at may not move answered_at past the stored ended_at."""
    if not table.rules or all(c.name in provided for c in table.columns):
        return
    if not _scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {quote(table.name)} LIMIT 1)"):
        return
    reason, first = reason_sql(rule_checks(table, _merged(table, provided)))
    on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in table.key)
    con.execute(
        f"""UPDATE {typed} AS s SET _reason = 'with the stored row: ' || r.reason, _column = r.col
            FROM (SELECT s.rowid AS r_id, {reason} AS reason, {first} AS col
                  FROM {typed} s JOIN {quote(table.name)} t ON {on} WHERE s._reason IS NULL) r
            WHERE s.rowid = r.r_id AND r.reason IS NOT NULL"""
    )


def _require_columns(table: Table, fields: dict[str, str], columns: list[str], label: str) -> None:
    for c in table.columns:
        needed = c.required and c.default is None and not (c.name in table.key and table.derive_key_from)
        if needed and c.name not in fields:
            raise UserError(
                f"{label}: no column {c.name!r}, required for {table.name} (columns: {', '.join(columns)}; "
                "a mapping can rename them: --mapping)"
            )


def _derive_key(con: duckdb.DuckDBPyConnection, table: Table, typed: str) -> None:
    """Give rows without an id of their own a stable one: hash of their content and rank."""
    key = table.key[0]
    parts = ", ".join(f"CAST({quote(c)} AS VARCHAR)" for c in table.derive_key_from)
    con.execute(
        f"""UPDATE {typed} SET {quote(key)} = d.k FROM (
            SELECT rowid AS r, md5(concat_ws('|', {parts}, CAST(row_number() OVER (PARTITION BY {parts} ORDER BY rowid) AS VARCHAR))) AS k
            FROM {typed} WHERE {quote(key)} IS NULL) d
        WHERE {typed}.rowid = d.r"""
    )


def _reject_duplicates(con: duckdb.DuckDBPyConnection, table: Table, typed: str, staged: Staged, base: int) -> None:
    """Within one file the key must be unique: later rows with a seen key are set aside."""
    keys = ", ".join(quote(k) for k in table.key)
    on = " AND ".join(f"t.{quote(k)} = d.{quote(k)}" for k in table.key)
    shown = " || ', ' || ".join(f"CAST(t.{quote(k)} AS VARCHAR)" for k in table.key)
    dups = f"_dups_{typed}"
    first_line = ", arg_min(_line, rowid) AS _first_line" if staged.line_column else ""
    con.execute(
        f"CREATE TEMP TABLE {dups} AS SELECT {keys}, min(rowid) AS _first{first_line} FROM {typed} "
        f"WHERE _reason IS NULL GROUP BY {keys} HAVING count(*) > 1"
    )
    if _scalar(con, f"SELECT count(*) FROM {dups}"):
        line = "d._first_line" if staged.line_column else staged.line_of(f"(d._first - {base})")
        con.execute(
            f"""UPDATE {typed} AS t SET _reason = '{'/'.join(table.key)}: duplicate ''' || {shown} || ''' (first at line ' || {line} || ')',
                _column = '{table.key[0]}'
            FROM {dups} d WHERE {on} AND t.rowid <> d._first AND t._reason IS NULL"""
        )
    con.execute(f"DROP TABLE {dups}")


def _fill_raw(con: duckdb.DuckDBPyConnection, typed: str, staged: Staged, base: int) -> None:
    """The row as read for rows set aside after typing (duplicates, broken merges): a second
    read of the source, only when there are such rows."""
    if not _scalar(con, f"SELECT count(*) FROM {typed} WHERE _reason IS NOT NULL AND _raw IS NULL"):
        return
    raw = raw_json([(c, staged.ref(c)) for c in staged.columns])
    con.execute(
        f"""UPDATE {typed} AS t SET _raw = r.raw
            FROM (SELECT row_number() OVER () - 1 AS i, {raw} AS raw FROM ({staged.relation_sql})) r
            WHERE t._raw IS NULL AND t._reason IS NOT NULL AND t.rowid - {base} = r.i"""
    )
    if isinstance(staged, _StagedCsv):
        staged.drop_rejects_tables(con)


def _sql_lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _store_rejects(
    con: duckdb.DuckDBPyConnection, table: Table, typed: str, staged: Staged, import_id: int, label: str, base: int
) -> int:
    con.execute(
        f"""INSERT INTO rejects SELECT ?, ?, ?, {staged.line_of(f'(rowid - {base})')}, _column, _reason, _raw
            FROM {typed} WHERE _reason IS NOT NULL ORDER BY rowid""",
        [import_id, table.name, label],
    )
    if staged.structural:
        con.executemany(
            "INSERT INTO rejects VALUES (?, ?, ?, ?, NULL, ?, ?)",
            [[import_id, table.name, label, line, reason, raw] for line, reason, raw in staged.structural],
        )
    return int(_scalar(con, "SELECT count(*) FROM rejects WHERE import_id = ?", [import_id]))


def _touched(con: duckdb.DuckDBPyConnection, table: Table, typed: str, column: str) -> str | None:
    """The values of ``column`` a batch touches (its rows', and the stored ones of the rows it
    changes), as a query; None when the table was empty (a full refresh is cheaper)."""
    if not _scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {quote(table.name)} LIMIT 1)"):
        return None
    name = f"_touched_{column}_{typed}"
    on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in table.key)
    col = quote(column)
    con.execute(
        f"""CREATE TEMP TABLE {name} AS
            SELECT {col} FROM {typed} WHERE _reason IS NULL AND {col} IS NOT NULL
            UNION
            SELECT t.{col} FROM {quote(table.name)} t JOIN {typed} s ON {on}
            WHERE s._reason IS NULL AND t.{col} IS NOT NULL"""
    )
    return f"SELECT {col} FROM {name}"


def _refresh_derived(con: duckdb.DuckDBPyConnection, table: Table, typed: str) -> Callable[[Change], None]:
    """Prepare, before the upsert, the refresh of the derived columns a batch may change;
    the refresh records in a ``Change`` the rows whose derived values moved."""
    if table.name == "contacts":
        customers = _touched(con, table, typed, "customer_id")
        cases = _touched(con, table, typed, "case_id")

        def refresh(change: Change) -> None:
            if customers is None:  # a first load: every customer
                refresh_next_inbound(con, change)
                refresh_contact_links(con, change)
            else:
                refresh_customers(con, customers, change)
            refresh_case_contacts(con, cases, change)

        return refresh
    if table.name == "cases":
        # the batch's own cases: already recorded by the upsert
        return lambda change: refresh_case_contacts(con, f"SELECT case_id FROM {typed} WHERE _reason IS NULL")
    return lambda change: None


def _add_extra_columns(con: duckdb.DuckDBPyConnection, table: Table, extras: list[str]) -> None:
    """Unknown source columns are kept: each becomes a text column of the table."""
    existing = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table.name]
        ).fetchall()
    }
    for name in extras:
        if name not in existing:
            con.execute(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(name)} VARCHAR")


def _upsert(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    typed: str,
    provided: list[str],
    extras: list[str],
    import_id: int,
    progress: Progress | None,
    change: Change,
) -> tuple[int, int, int]:
    """Insert new rows, update changed ones (provided columns only), count unchanged ones;
    ``change`` records the changed rows as they were and every row written as it is."""
    target = quote(table.name)
    all_cols = [*table.names, *extras]
    cols = ", ".join(quote(c) for c in all_cols)
    valid = f"SELECT {cols}, {import_id} AS {IMPORT_ID} FROM {typed} WHERE _reason IS NULL"
    if not _scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1)"):
        # rows need no order in the warehouse: let DuckDB write them in parallel
        con.execute("SET preserve_insertion_order = false")
        try:
            _execute(con, f"INSERT INTO {target} ({cols}, {IMPORT_ID}) {valid}", "load", progress)
        finally:
            con.execute("SET preserve_insertion_order = true")
        change.whole(table.name)
        return int(_scalar(con, f"SELECT count(*) FROM {typed} WHERE _reason IS NULL")), 0, 0
    on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in table.key)
    compared = [c for c in provided if c not in table.key]
    differs = (
        f"({', '.join(f's.{quote(c)}' for c in compared)}) IS DISTINCT FROM ({', '.join(f't.{quote(c)}' for c in compared)})"
        if compared
        else "false"
    )
    status = f"_status_{typed}"
    _execute(
        con,
        f"""CREATE TEMP TABLE {status} AS SELECT s.rowid AS _r,
                CASE WHEN t.{quote(table.key[0])} IS NULL THEN 0 WHEN {differs} THEN 1 ELSE 2 END AS st
            FROM {typed} s LEFT JOIN {target} t ON {on} WHERE s._reason IS NULL""",
        "compare",
        progress,
    )
    counts = dict(con.execute(f"SELECT st, count(*) FROM {status} GROUP BY st").fetchall())
    new, changed, unchanged = (int(counts.get(i, 0)) for i in range(3))
    if new or changed:
        merged = _merged(table, provided)
        follow = [c.name for c in table.columns if c.name not in provided and merged[c.name] != f"t.{quote(c.name)}"]
        sets = ", ".join(
            [f"{quote(c)} = s.{quote(c)}" for c in compared] + [f"{quote(c)} = {merged[c]}" for c in follow]
        ) or f"{quote(table.key[0])} = s.{quote(table.key[0])}"
        sets += "".join(f", {quote(c)} = NULL" for c in DERIVED_COLUMNS.get(table.name, ()))
        values = ", ".join(f"s.{quote(c)}" for c in all_cols)
        if changed:
            change.add(con, table.name, f"SELECT t.* FROM {target} t JOIN (SELECT s.* FROM {typed} s JOIN {status} x "
                                        f"ON s.rowid = x._r WHERE x.st = 1) s ON {on}")
        _execute(
            con,
            f"""MERGE INTO {target} AS t
                USING (SELECT s.*, {import_id} AS {IMPORT_ID} FROM {typed} s JOIN {status} x ON s.rowid = x._r WHERE x.st < 2) AS s
                ON ({on})
                WHEN MATCHED THEN UPDATE SET {sets}, {IMPORT_ID} = s.{IMPORT_ID}
                WHEN NOT MATCHED THEN INSERT ({cols}, {IMPORT_ID}) VALUES ({values}, s.{IMPORT_ID})""",
            "load",
            progress,
        )
        change.add(con, table.name, f"SELECT * FROM {target} WHERE {IMPORT_ID} = {int(import_id)}")
    con.execute(f"DROP TABLE {status}")
    return new, changed, unchanged


def _write_rejects(con: duckdb.DuckDBPyConnection, import_id: int, path: Path) -> str | None:
    """The rejects of an import as CSV (line, column, reason, the row as read in JSON)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"""COPY (SELECT line, "column", reason, raw FROM rejects WHERE import_id = {int(import_id)} ORDER BY line)
                TO {_sql_lit(str(path))} (HEADER, DELIMITER ',')"""
        )
    except (OSError, duckdb.Error):
        return None
    return str(path)
