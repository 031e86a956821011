"""Read-only views of the warehouse for people: table sizes and ranges, rejects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from cxkpi.config import UserError
from cxkpi.schema import TABLES
from cxkpi.warehouse.ddl import quote


def table_stats(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Rows, first and last value of the table's time column, and rejects, per canonical table."""
    rejected = dict(con.execute("SELECT table_name, count(*) FROM rejects GROUP BY 1").fetchall())
    stats = []
    for t in TABLES.values():
        col = quote(t.time_column)
        rows, first, last = con.execute(
            f"SELECT count(*), CAST(min({col}) AS VARCHAR), CAST(max({col}) AS VARCHAR) FROM {quote(t.name)}"
        ).fetchall()[0]
        stats.append({"table": t.name, "rows": int(rows), "from": first, "to": last, "rejected": int(rejected.get(t.name, 0))})
    return stats


def list_rejects(
    con: duckdb.DuckDBPyConnection,
    table: str | None = None,
    import_id: int | None = None,
    limit: int = 50,
    summary: bool = False,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Rejected rows (newest import first), or counts by table and reason with ``summary``."""
    clause, params = _rejects_where(table, import_id)
    cap = (f"LIMIT {int(limit)}" if limit else "") + (f" OFFSET {int(offset)}" if offset else "")
    if summary:
        sql = (f"SELECT r.table_name AS table, r.reason, count(*) AS rows FROM rejects r {clause} "
               f"GROUP BY ALL ORDER BY rows DESC, r.reason {cap}")
    else:
        sql = (f"SELECT r.import_id, r.table_name AS table, r.file, r.line, r.\"column\", r.reason, r.raw "
               f"FROM rejects r {clause} ORDER BY r.import_id DESC, r.line {cap}")
    return dicts(con.execute(sql, params))


def dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of an executed query as dicts (no DataFrame: duckdb's ``fetch_df`` warns under pandas 3.1)."""
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def count_rejects(con: duckdb.DuckDBPyConnection, table: str | None = None, import_id: int | None = None) -> int:
    """How many rows ``list_rejects`` would list without a limit."""
    clause, params = _rejects_where(table, import_id)
    return int(con.execute(f"SELECT count(*) FROM rejects r {clause}", params).fetchall()[0][0])


def _rejects_where(table: str | None, import_id: int | None) -> tuple[str, list[object]]:
    if table is not None and table not in TABLES:
        raise UserError(f"unknown table {table!r} (known: {', '.join(TABLES)})")
    where: list[str] = []
    params: list[object] = []
    if table is not None:
        where.append("r.table_name = ?")
        params.append(table)
    if import_id is not None:
        where.append("r.import_id = ?")
        params.append(import_id)
    return (f"WHERE {' AND '.join(where)}" if where else ""), params


def config_value(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """A warehouse setting (``reporting_tz``, ``source_tz``...), or None."""
    rows = con.execute("SELECT value FROM warehouse_config WHERE key = ?", [key]).fetchall()
    return str(rows[0][0]) if rows and rows[0][0] is not None else None


def export_parquet(con: duckdb.DuckDBPyConnection, folder: str, tables: list[str]) -> list[str]:
    """Write tables as ``NAME.parquet`` in ``folder`` (what the Spark engine reads)."""
    from pathlib import Path

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in tables:
        path = out / f"{name}.parquet"
        con.execute(f"COPY {quote(name)} TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
        written.append(str(path))
    return written


def set_config_value(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Store one setting of the warehouse (its reporting zone, its calendar...)."""
    con.execute("INSERT OR REPLACE INTO warehouse_config VALUES (?, ?)", [key, value])


def latest_contact_at(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the latest contact arrived (an aware UTC datetime), or None without contacts."""
    rows = con.execute("SELECT max(created_at) FROM contacts").fetchall()
    value = rows[0][0] if rows else None
    if value is None:
        return None
    stamp: datetime = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return stamp


def distinct_values(con: duckdb.DuckDBPyConnection, table: str, column: str) -> list[str]:
    """The distinct non-null values of a column of a canonical table, sorted (a filter's choices)."""
    if table not in TABLES or column not in TABLES[table].names:
        raise UserError(f"no column {column!r} in table {table!r}")
    rows = con.execute(f"SELECT DISTINCT {quote(column)} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL ORDER BY 1")
    return [str(r[0]) for r in rows.fetchall()]


def agents_of_team(con: duckdb.DuckDBPyConnection, team: str) -> list[str]:
    """The agents seen handling the contacts of ``team`` (a team lead's scope)."""
    rows = con.execute(
        "SELECT DISTINCT agent_id FROM contacts WHERE team = ? AND agent_id IS NOT NULL ORDER BY 1", [team]
    ).fetchall()
    return [str(r[0]) for r in rows]


def import_log_page(con: duckdb.DuckDBPyConnection, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the import log, newest first, and the number of imports in all."""
    total = int(con.execute("SELECT count(*) FROM import_log").fetchall()[0][0])
    rows = dicts(con.execute("SELECT * FROM import_log ORDER BY import_id DESC LIMIT ? OFFSET ?", [limit, offset]))
    return rows, total
