"""The warehouse: the only layer that knows the engine (DuckDB, embedded)."""

from __future__ import annotations

from cxkpi.warehouse.connection import open_warehouse
from cxkpi.warehouse.ddl import IMPORT_ID, SQL_TYPES, quote
from cxkpi.warehouse.migrations import LATEST, MIGRATIONS, Migration, current_version, migrate

__all__ = [
    "IMPORT_ID",
    "LATEST",
    "MIGRATIONS",
    "SQL_TYPES",
    "Migration",
    "current_version",
    "migrate",
    "open_warehouse",
    "quote",
]
