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
    sum_sql = ", ".join(f"CAST(sum({quote(n)}) AS {'BIGINT' if whole else 'DOUBLE'}) AS {quote(n)}" for n, whole in sums)
    con.execute(f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT {key_sql}, {sum_sql} FROM {quote(base)} "
                f"GROUP BY {key_sql} ORDER BY {quote(order_by)}")
    return row_count(con, table)


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
    prev, nxt = (f"l.{quote(c)}" for c in links)
    sums = []
    for g in grains:
        is_first = f"({prev} IS NULL OR {prev} < k.s_{g})"
        sums.append(f"count(*) FILTER ({is_first}) AS first_{g}")
        sums.append(f"count(*) FILTER ({is_first} AND {nxt} < k.e_{g}) AS again_{g}")
    sums.append(f"count(*) FILTER ({prev} IS NULL) AS first_all")
    sums.append(f"count(*) FILTER ({prev} IS NULL AND {nxt} IS NOT NULL) AS again_all")
    dim_sql = "".join(f"l.{quote(d)}, " for d in dims)
    zone_sql = "'" + tz.replace("'", "''") + "'"
    con.register(name, calendar)
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {quote(table)} AS "
            f"SELECT {dim_sql}l._day AS {quote(period)}, {', '.join(sums)} "
            f"FROM (SELECT *, CAST(timezone({zone_sql}, created_at) AS DATE) AS _day FROM {LINKS}) l "
            f"JOIN {name} k ON k.day = l._day GROUP BY ALL ORDER BY {quote(period)}"
        )
    finally:
        con.unregister(name)
    return row_count(con, table)
