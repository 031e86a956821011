"""Open the embedded DuckDB warehouse, migrated to the current schema, in UTC."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from cxkpi.config import UserError
from cxkpi.warehouse.migrations import LATEST, current_version, migrate

MEMORY_ENV = "CXKPI_MEMORY_LIMIT"


def open_warehouse(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Connect to (and create or migrate) the warehouse at ``path``.

    Sessions run in UTC so that TIMESTAMPTZ values never depend on the machine's zone;
    reporting zones are applied explicitly by the queries that need them.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise UserError(f"no warehouse at {path} (run 'cxkpi demo' or 'cxkpi import' first)")
    if path.parent and not path.parent.exists():
        raise UserError(f"folder {path.parent} does not exist")
    config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": True}
    if os.environ.get(MEMORY_ENV):
        config["memory_limit"] = os.environ[MEMORY_ENV]
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        from cxkpi.warehouse.control import read_control

        served = read_control(path)
        if served is not None:
            raise UserError(
                f"warehouse {path} is held by cxkpi serve (pid {served.pid}, {served.url}): "
                "imports go through it; stop it for other changes"
            ) from None
        raise UserError(f"cannot open warehouse {path}: {str(exc).splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise UserError(f"{path} is not a cxkpi warehouse: {str(exc).splitlines()[0]}") from None
    try:
        con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            migrate(con)
        elif current_version(con) < LATEST:
            # made by an older release: migrate it once in write mode, then read
            con.close()
            open_warehouse(path).close()
            return open_warehouse(path, read_only=True)
    except BaseException:
        con.close()
        raise
    return con
