"""Warehouse types of the canonical columns, and the DDL that the declarations imply."""

from __future__ import annotations

from cxkpi.schema import ColumnType, Table

SQL_TYPES: dict[ColumnType, str] = {
    ColumnType.TEXT: "VARCHAR",
    ColumnType.TIMESTAMP: "TIMESTAMPTZ",
    ColumnType.DATE: "DATE",
    ColumnType.MONTH: "DATE",
    ColumnType.NUMBER: "DOUBLE",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.BOOL: "BOOLEAN",
}

IMPORT_ID = "_import_id"


def quote(name: str) -> str:
    """Quote an identifier for SQL."""
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(table: Table) -> str:
    """``CREATE TABLE`` for a canonical table, with the import id that loaded each row."""
    cols = [f"    {quote(c.name)} {SQL_TYPES[c.type]}" for c in table.columns]
    cols.append(f"    {IMPORT_ID} BIGINT")
    return f"CREATE TABLE {quote(table.name)} (\n" + ",\n".join(cols) + "\n)"
