"""Mappings an administrator stored in the warehouse, as the YAML text they were given."""

from __future__ import annotations

import duckdb

PREFIX = "mapping:"  # warehouse_config key of each stored mapping


def stored_texts(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every stored mapping: name -> YAML text, sorted by name."""
    rows = con.execute("SELECT key, value FROM warehouse_config WHERE starts_with(key, ?) ORDER BY key", [PREFIX]).fetchall()
    return {str(k)[len(PREFIX):]: str(v) for k, v in rows}


def stored_text(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    rows = con.execute("SELECT value FROM warehouse_config WHERE key = ?", [PREFIX + name]).fetchall()
    return str(rows[0][0]) if rows else None


def store_text(con: duckdb.DuckDBPyConnection, name: str, text: str) -> None:
    con.execute("INSERT OR REPLACE INTO warehouse_config VALUES (?, ?)", [PREFIX + name, text])


def remove_text(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Remove a stored mapping; whether there was one."""
    found = stored_text(con, name) is not None
    con.execute("DELETE FROM warehouse_config WHERE key = ?", [PREFIX + name])
    return found
