"""The import log and the rejects under the name a user gave a file."""

from __future__ import annotations

import duckdb


def relabel_import(con: duckdb.DuckDBPyConnection, table: str, import_id: int, shown_as: str) -> None:
    """Show import ``import_id`` as file ``shown_as`` (an upload's own name, not the server's
    temporary copy); as for a file imported twice, the rejects of that name become those of
    its latest import."""
    con.execute("DELETE FROM rejects WHERE table_name = ? AND file = ? AND import_id <> ?", [table, shown_as, import_id])
    con.execute("UPDATE rejects SET file = ? WHERE import_id = ?", [shown_as, import_id])
    con.execute("UPDATE import_log SET file = ?, rejects_file = NULL WHERE import_id = ?", [shown_as, import_id])
