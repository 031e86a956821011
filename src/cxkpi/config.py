"""Where the warehouse lives and which time zones apply, from options or the environment."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DB = "cxkpi.duckdb"
DB_ENV = "CXKPI_DB"


class UserError(Exception):
    """A mistake the user can fix (bad option, missing file): shown as one line, no traceback."""


def db_path(option: str | None = None) -> Path:
    """The warehouse path: the ``--db`` option, else ``$CXKPI_DB``, else ``./cxkpi.duckdb``."""
    return Path(option or os.environ.get(DB_ENV) or DEFAULT_DB)


def check_tz(name: str) -> str:
    """Return ``name`` if it is an IANA time zone, else raise a ``UserError``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris or UTC)") from None
    return name
