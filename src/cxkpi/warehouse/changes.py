"""What one write changed, so that data derived from it is refreshed in proportion to it.

An import upserts a batch, then refreshes the derived columns and links of what it
touched. Derived tables (the daily rollups) then need only the days those rows fall on:
the rows' versions before and after the write, and the rows whose derived values moved
(a customer's previous contact gets a next contact, a case a new contact count, a link
a new neighbour). ``Change`` keeps, per table, a temporary table of those rows (the
table's key and time columns); a table marked whole (a first load, a full refresh) has
its derived data rebuilt whole. The temporary tables live in the import's transaction
and are dropped with ``drop``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from cxkpi.schema import TABLES, ColumnType
from cxkpi.warehouse.ddl import quote

_tags = itertools.count()

# the contacts' links (warehouse.derived) are a table of the warehouse, not of the schema
_EXTRA_COLUMNS = {"contact_links": ("contact_id", "customer_id", "created_at")}


def tracked_columns(table: str) -> tuple[str, ...]:
    """The columns a change keeps of ``table``'s rows: its key, the ids other tables join
    on, and every time column (what places a row on days)."""
    if table in _EXTRA_COLUMNS:
        return _EXTRA_COLUMNS[table]
    t = TABLES[table]
    ids = [c.name for c in t.columns if c.name in t.key or c.name in ("contact_id", "case_id", "customer_id")]
    times = [c.name for c in t.columns if c.type in (ColumnType.TIMESTAMP, ColumnType.DATE)]
    return tuple(dict.fromkeys([*ids, *times]))


@dataclass
class Change:
    """The rows one write affected, per table: a temporary table of them (``rows[t]``), or
    None when any row of ``t`` may have changed."""

    rows: dict[str, str | None] = field(default_factory=dict)
    # other facts about the change, by name: a temporary table each (see ``record``)
    facts: dict[str, str] = field(default_factory=dict)
    _tag: str = field(default_factory=lambda: f"c{next(_tags)}")

    def whole(self, table: str) -> None:
        """Any row of ``table`` may have changed (its derived data is rebuilt whole)."""
        self.rows[table] = None

    def is_whole(self, table: str) -> bool:
        return table in self.rows and self.rows[table] is None

    def add(self, con: duckdb.DuckDBPyConnection, table: str, select_sql: str) -> None:
        """Record the rows of ``table`` that ``select_sql`` returns (it selects at least
        ``tracked_columns(table)``, by name); nothing when the table is already whole."""
        if self.is_whole(table):
            return
        cols = ", ".join(quote(c) for c in tracked_columns(table))
        name = self.rows.get(table)
        if name is None:
            name = f"_changed_{table}_{self._tag}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS SELECT {cols} FROM ({select_sql}) LIMIT 0")
            self.rows[table] = name
        con.execute(f"INSERT INTO {quote(name)} SELECT {cols} FROM ({select_sql})")

    def add_returning(self, con: duckdb.DuckDBPyConnection, table: str, statement: str) -> None:
        """Run ``statement`` (an UPDATE or DELETE ... RETURNING the rows' columns) and record
        the rows it returns."""
        result = con.execute(statement)
        names = [d[0] for d in result.description or ()]
        wanted = [names.index(c) for c in tracked_columns(table)]
        rows = result.fetchall()  # few: the rows whose derived values moved
        returned = pa.table({names[i]: pa.array([r[i] for r in rows]) for i in wanted}) if rows else None
        if returned is None:
            self.add(con, table, f"SELECT {', '.join(quote(c) for c in tracked_columns(table))} FROM {quote(table)} LIMIT 0")
            return
        view = f"_returned_{self._tag}"
        con.register(view, returned)
        try:
            self.add(con, table, f"SELECT * FROM {view}")
        finally:
            con.unregister(view)

    def record(self, con: duckdb.DuckDBPyConnection, name: str, select_sql: str) -> None:
        """Keep the rows of ``select_sql`` as fact ``name`` (e.g. the contacts whose next
        contact moved, with the old and new times: only the consumer knows which matter)."""
        table = f"_change_{name}_{self._tag}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(table)} AS {select_sql}")
        self.facts[name] = table

    def tables(self) -> tuple[str, ...]:
        return tuple(self.rows)

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        for name in [*self.rows.values(), *self.facts.values()]:
            if name is not None:
                con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        self.rows.clear()
        self.facts.clear()
