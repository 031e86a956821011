"""Mappings an administrator stored in the warehouse, as the YAML text they were given."""

from __future__ import annotations

import duckdb

from cxkpi.warehouse.inspect import config_value, set_config_value

PREFIX = "mapping:"  # warehouse_config key of each stored mapping


def stored_texts(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every stored mapping: name -> YAML text, sorted by name."""
    rows = con.execute("SELECT key, value FROM warehouse_config WHERE starts_with(key, ?) ORDER BY key", [PREFIX]).fetchall()
    return {str(k)[len(PREFIX):]: str(v) for k, v in rows}


def stored_text(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    return config_value(con, PREFIX + name)


def store_text(con: duckdb.DuckDBPyConnection, name: str, text: str) -> None:
    set_config_value(con, PREFIX + name, text)


def remove_text(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Remove a stored mapping; whether there was one."""
    found = stored_text(con, name) is not None
    con.execute("DELETE FROM warehouse_config WHERE key = ?", [PREFIX + name])
    return found
