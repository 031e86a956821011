"""The audit log: who logged in, exported, imported or changed access, and when.

Actions form a closed set (``Action``) so that a typo cannot create an action nobody queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import duckdb

from cxkpi.config import UserError


class Action(StrEnum):
    """What an audit entry records."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    EXPORT = "export"
    IMPORT = "import"
    TOKEN = "token"
    USER_ADD = "user_add"
    USER_REMOVE = "user_remove"
    PASSWORD = "password"


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log; ``username`` None is the command line (the machine's owner)."""

    audit_id: int
    logged_at: datetime
    username: str | None
    action: Action
    detail: str | None
    client: str | None

    def as_dict(self) -> dict[str, str | int | None]:
        """JSON-ready fields (``logged_at`` in ISO 8601)."""
        return {"audit_id": self.audit_id, "logged_at": self.logged_at.isoformat(), "username": self.username,
                "action": self.action.value, "detail": self.detail, "client": self.client}


def record(
    con: duckdb.DuckDBPyConnection,
    action: Action | str,
    username: str | None = None,
    detail: str | None = None,
    client: str | None = None,
) -> None:
    """Append an entry stamped now (UTC); ``client`` is e.g. the remote address.

    An unknown ``action`` is a programming error: ``ValueError``.
    """
    try:
        parsed = Action(action)
    except ValueError:
        raise ValueError(f"unknown audit action {action!r} (use {', '.join(a.value for a in Action)})") from None
    con.execute(
        "INSERT INTO audit_log (logged_at, username, action, detail, client) VALUES (?, ?, ?, ?, ?)",
        [datetime.now(UTC), username, parsed.value, detail, client],
    )


def entries(
    con: duckdb.DuckDBPyConnection, limit: int = 100, offset: int = 0, username: str | None = None
) -> list[AuditEntry]:
    """A page of the log, newest first (by insertion order, immune to clock changes)."""
    if limit < 0 or offset < 0:
        raise UserError("limit and offset must not be negative")
    sql = "SELECT audit_id, logged_at, username, action, detail, client FROM audit_log"
    params: list[str | int] = []
    if username is not None:
        sql += " WHERE username = ?"
        params.append(username)
    rows = con.execute(sql + " ORDER BY audit_id DESC LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()
    return [AuditEntry(int(r[0]), r[1].astimezone(UTC), r[2], Action(r[3]), r[4], r[5]) for r in rows]


def count_entries(con: duckdb.DuckDBPyConnection, username: str | None = None) -> int:
    """How many entries ``entries`` can page through (for a total beside a page)."""
    if username is None:
        return int(con.execute("SELECT count(*) FROM audit_log").fetchall()[0][0])
    return int(con.execute("SELECT count(*) FROM audit_log WHERE username = ?", [username]).fetchall()[0][0])
