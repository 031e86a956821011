"""Where the rollups live: their tables and their metadata, in the DuckDB warehouse.

The KPI layer decides what a rollup holds (``kpi.rollup_meta``) and writes the
aggregation as an Ibis expression (``kpi.rollup_build``); this module is the SQL that
stores it, reads its description back, and the distinct-customer sums over
``contact_links``, so the engine's dialect stays in the warehouse layer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops
import pyarrow as pa

from cxkpi.warehouse.ddl import quote
from cxkpi.warehouse.inspect import config_value, set_config_value

CONFIG_KEY = "rollups"  # warehouse_config: what the rollup tables hold (JSON)
LINKS = "contact_links"


def read_meta(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The stored description of the rollups (None: none, or not a cxkpi warehouse)."""
    try:
        text = config_value(con, CONFIG_KEY)
    except duckdb.Error:
        return None
    if text is None:
        return None
    meta: dict[str, Any] = json.loads(text)
    return meta


def write_meta(con: duckdb.DuckDBPyConnection, meta: dict[str, Any]) -> None:
    set_config_value(con, CONFIG_KEY, json.dumps(meta))


def reporting_tz(con: duckdb.DuckDBPyConnection) -> str:
    """The warehouse's reporting zone (UTC when none is set)."""
    return config_value(con, "reporting_tz") or "UTC"


def has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute(f"SELECT count(*) > 0 FROM {quote(table)}").fetchall()[0][0])


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {quote(table)}").fetchall()[0][0])


def drop(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(f"DROP TABLE IF EXISTS {quote(table)}")


def materialize(con: duckdb.DuckDBPyConnection, expr: Any, table: str, date_column: str | None = None) -> None:
    """Store the result of Ibis expression ``expr`` as temporary table ``table``.

    The small in-memory tables the expression joins (a snapshot's periods) are registered
    for the statement. ``date_column``: a text label of a local day, stored as a DATE.
    """
    select = "*" if date_column is None else f"* REPLACE (CAST({quote(date_column)} AS DATE) AS {quote(date_column)})"
    memtables = list(expr.op().find(ops.InMemoryTable))
    for op in memtables:
        con.register(op.name, op.data.to_pyarrow(op.schema))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(table)} AS SELECT {select} FROM ({ibis.to_sql(expr, dialect='duckdb')})")
    finally:
        for op in memtables:
            con.unregister(op.name)


def sum_into(con: duckdb.DuckDBPyConnection, base: str, table: str, keys: Sequence[str],
             sums: Sequence[tuple[str, bool]], order_by: str) -> int:
    """(Re)create ``table`` as ``base``'s columns ``sums`` (name, is_integer) summed by ``keys``.

    Sums keep their Ibis type (DuckDB would keep a sum of integers as a HUGEINT, which
    reads back as a float). Returns the rows written.
    """
    key_sql = ", ".join(quote(c) for c in keys)
    con.execute(f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT {key_sql}, {_sums(sums)} FROM {quote(base)} "
                f"GROUP BY {key_sql} ORDER BY {quote(order_by)}")
    return row_count(con, table)


def _sums(sums: Sequence[tuple[str, bool]]) -> str:
    """The summed measures, each keeping its type (DuckDB would keep a sum of integers as a
    HUGEINT, which reads back as a float)."""
    return ", ".join(f"CAST(sum({quote(n)}) AS {'BIGINT' if whole else 'DOUBLE'}) AS {quote(n)}" for n, whole in sums)


def links_span(con: duckdb.DuckDBPyConnection) -> tuple[Any, Any]:
    """The earliest and latest ``created_at`` of the customer links (None, None: no link)."""
    lo, hi = con.execute(f"SELECT min(created_at), max(created_at) FROM {LINKS}").fetchall()[0]
    return lo, hi


def customer_rollup(con: duckdb.DuckDBPyConnection, table: str, dims: Sequence[str], links: tuple[str, str],
                    calendar: pa.Table, grains: Sequence[str], tz: str, period: str) -> int:
    """(Re)create distinct-customer rollup ``table``: per local day of ``created_at`` in
    ``tz`` and ``dims``, for each grain g the contacts that are their customer's first of
    the g-period (predecessor before the period start ``s_g``) and those whose successor
    is before the period end ``e_g`` too; ``calendar`` gives each day's bounds. Returns its rows."""
    name = "_cxkpi_rollup_calendar"
    con.register(name, calendar)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {quote(table)} AS "
                    f"{_customer_select(dims, links, grains, tz, period, name)} ORDER BY {quote(period)}")
    finally:
        con.unregister(name)
    return row_count(con, table)


def _customer_select(dims: Sequence[str], links: tuple[str, str], grains: Sequence[str], tz: str, period: str,
                     calendar: str, source: str = LINKS) -> str:
    prev, nxt = (f"l.{quote(c)}" for c in links)
    sums = []
    for g in grains:
        is_first = f"({prev} IS NULL OR {prev} < k.s_{g})"
        sums.append(f"count(*) FILTER ({is_first}) AS first_{g}")
        sums.append(f"count(*) FILTER ({is_first} AND {nxt} < k.e_{g}) AS again_{g}")
    sums.append(f"count(*) FILTER ({prev} IS NULL) AS first_all")
    sums.append(f"count(*) FILTER ({prev} IS NULL AND {nxt} IS NOT NULL) AS again_all")
    dim_sql = "".join(f"l.{quote(d)}, " for d in dims)
    return (f"SELECT {dim_sql}l._day AS {quote(period)}, {', '.join(sums)} "
            f"FROM (SELECT *, CAST(timezone({_zone(tz)}, created_at) AS DATE) AS _day FROM {quote(source)}) l "
            f"JOIN {calendar} k ON k.day = l._day GROUP BY ALL")


# --- refreshing only some days (an import's) -------------------------------------------

def _zone(tz: str) -> str:
    return "'" + tz.replace("'", "''") + "'"


def local_days(con: duckdb.DuckDBPyConnection, select_sql: str, column: str, tz: str) -> set[Any]:
    """The local dates in ``tz`` of ``column`` over the rows ``select_sql`` returns."""
    col = quote(column)
    rows = con.execute(
        f"SELECT DISTINCT CAST(timezone({_zone(tz)}, {col}) AS DATE) FROM ({select_sql}) WHERE {col} IS NOT NULL"
    ).fetchall()
    return {r[0] for r in rows}


def local_day_ranges(con: duckdb.DuckDBPyConnection, select_sql: str, start: str, end: str, tz: str,
                     open_until: Any) -> set[Any]:
    """Every local date from ``start``'s to ``end``'s (``open_until`` when ``end`` is null)
    over the rows ``select_sql`` returns: the days a case is open at some day's end."""
    zone = _zone(tz)
    first = f"CAST(timezone({zone}, {quote(start)}) AS DATE)"
    last = f"coalesce(CAST(timezone({zone}, {quote(end)}) AS DATE), CAST($until AS DATE))"
    rows = con.execute(
        f"SELECT DISTINCT CAST(unnest(generate_series({first}, {last}, INTERVAL 1 DAY)) AS DATE) "
        f"FROM ({select_sql}) WHERE {quote(start)} IS NOT NULL AND {first} <= {last}",
        {"until": open_until},
    ).fetchall()
    return {r[0] for r in rows}


def days_window_moved(con: duckdb.DuckDBPyConnection, moved: str, column: str, window_us: int, tz: str) -> set[Any]:
    """The local days of the contacts of ``moved`` (a change's ``old_``/``new_`` times of
    ``column``) whose next contact entered or left the window of ``window_us`` after them."""
    def within(c: str) -> str:
        return f"coalesce(epoch_us({quote(c)}) <= epoch_us(created_at) + {int(window_us)}, false)"
    return local_days(con, f"SELECT created_at FROM {quote(moved)} "
                           f"WHERE {within('old_' + column)} <> {within('new_' + column)}", "created_at", tz)


def rows_on_days(con: duckdb.DuckDBPyConnection, table: str, column: str, tz: str, days: pa.Table,
                 lo: Any, hi: Any, into: str) -> None:
    """Temporary table ``into``: the rows of ``table`` whose ``column`` falls, in zone ``tz``,
    on one of ``days`` (a one-column ``day`` table), ``lo <= column < hi`` bounding them
    first so that the scan skips the row groups outside."""
    col = quote(column)
    name = "_cxkpi_refresh_days"
    con.register(name, days)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote(into)} AS SELECT * FROM {quote(table)} "
            f"WHERE {col} >= ? AND {col} < ? AND CAST(timezone({_zone(tz)}, {col}) AS DATE) IN (SELECT day FROM {name})",
            [lo, hi],
        )
    finally:
        con.unregister(name)


def rows_open_within(con: duckdb.DuckDBPyConnection, table: str, start: str, end: str, lo: Any, hi: Any,
                     into: str) -> None:
    """Temporary table ``into``: the rows of ``table`` open at some time in [lo, hi)
    (``start`` before ``hi``, ``end`` null or not before ``lo``)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote(into)} AS SELECT * FROM {quote(table)} "
        f"WHERE {quote(start)} < ? AND ({quote(end)} IS NULL OR {quote(end)} >= ?)",
        [hi, lo],
    )


def exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [table]
    ).fetchall()[0][0])


def replace_days(con: duckdb.DuckDBPyConnection, base: str, table: str, keys: Sequence[str],
                 sums: Sequence[tuple[str, bool]], period: str, days: pa.Table,
                 keep: tuple[Any, Any] | None = None) -> int:
    """Replace the rows of ``table`` on ``days`` (``period`` in the one-column ``day``
    table) by ``base``'s on those days, summed as ``sum_into`` does; ``keep``: the only span
    of days the table may hold (a snapshot's), rows outside it are deleted. Returns its rows."""
    name = "_cxkpi_refresh_days"
    p = quote(period)
    key_sql = ", ".join(quote(c) for c in keys)
    cols = ", ".join(quote(c) for c in [*keys, *(n for n, _ in sums)])
    con.register(name, days)
    try:
        con.execute(f"DELETE FROM {quote(table)} WHERE {p} IN (SELECT day FROM {name})")
        con.execute(f"INSERT INTO {quote(table)} ({cols}) SELECT {key_sql}, {_sums(sums)} FROM {quote(base)} "
                    f"WHERE {p} IN (SELECT day FROM {name}) GROUP BY {key_sql}")
    finally:
        con.unregister(name)
    return keep_span(con, table, period, keep)


def keep_span(con: duckdb.DuckDBPyConnection, table: str, period: str, keep: tuple[Any, Any] | None) -> int:
    """Delete the rows of ``table`` outside the span of days ``keep``; its rows."""
    if keep is not None:
        con.execute(f"DELETE FROM {quote(table)} WHERE {quote(period)} < ? OR {quote(period)} > ?", list(keep))
    return row_count(con, table)


def customer_rollup_days(con: duckdb.DuckDBPyConnection, table: str, dims: Sequence[str], links: tuple[str, str],
                         calendar: pa.Table, grains: Sequence[str], tz: str, period: str, rows: str) -> int:
    """Recompute ``customer_rollup``'s rows on the days of ``calendar`` only, from ``rows``
    (a temporary copy of the links on those days: ``rows_on_days``). Returns the table's rows."""
    name = "_cxkpi_rollup_calendar"
    con.register(name, calendar)
    try:
        con.execute(f"DELETE FROM {quote(table)} WHERE {quote(period)} IN (SELECT day FROM {name})")
        con.execute(f"INSERT INTO {quote(table)} {_customer_select(dims, links, grains, tz, period, name, source=rows)}")
    finally:
        con.unregister(name)
    return row_count(con, table)
