"""API tokens: bearer secrets for scripts, shown once and stored only as a SHA-256 hash.

A token is 32 random bytes, so a fast hash is enough (no password stretching needed) and a
lookup by hash is an exact-match index probe: no secret-dependent string comparison.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from cxkpi.config import UserError
from cxkpi.access.users import User, _user, get_user

PREFIX = "cxk_"
ID_LENGTH = 12
_ID_RE = re.compile(r"[0-9a-f]{4,64}")


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the token nor its full hash."""

    token_id: str  # the first 12 hex digits of the hash
    username: str
    name: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, str | None]:
        """JSON-ready fields (``created_at`` in ISO 8601)."""
        return {"token_id": self.token_id, "username": self.username, "name": self.name,
                "created_at": self.created_at.isoformat()}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id(token: str) -> str:
    """The public id of a token (what ``list_tokens`` shows and ``revoke_token`` takes)."""
    return _hash(token)[:ID_LENGTH]


def create_token(con: duckdb.DuckDBPyConnection, username: str, name: str | None = None) -> str:
    """A new token for ``username``; the plaintext is returned here and never again."""
    if get_user(con, username) is None:
        raise UserError(f"no user {username!r}")
    token = PREFIX + secrets.token_urlsafe(32)
    con.execute(
        "INSERT INTO api_tokens (token_hash, username, name, created_at) VALUES (?, ?, ?, ?)",
        [_hash(token), username, name or None, datetime.now(UTC)],
    )
    return token


def user_for_token(con: duckdb.DuckDBPyConnection, token: str) -> User | None:
    """The owner of ``token``, or None for an unknown or revoked token."""
    if not token.startswith(PREFIX):
        return None
    rows = con.execute(
        "SELECT u.username, u.role, u.team, u.agent_id, u.lang, u.created_at "
        "FROM api_tokens t JOIN users u ON u.username = t.username WHERE t.token_hash = ?",
        [_hash(token)],
    ).fetchall()
    return _user(rows[0]) if rows else None


def _info(row: tuple[Any, ...]) -> TokenInfo:
    created: datetime = row[3]
    return TokenInfo(row[0][:ID_LENGTH], row[1], row[2], created.astimezone(UTC))


def list_tokens(con: duckdb.DuckDBPyConnection, username: str | None = None) -> list[TokenInfo]:
    """Tokens of one user or of all, by username then age."""
    sql = "SELECT token_hash, username, name, created_at FROM api_tokens"
    params: list[str] = []
    if username is not None:
        sql += " WHERE username = ?"
        params.append(username)
    rows = con.execute(sql + " ORDER BY username, created_at, token_hash", params).fetchall()
    return [_info(r) for r in rows]


def revoke_token(con: duckdb.DuckDBPyConnection, token_id_prefix: str) -> None:
    """Delete the one token whose id starts with ``token_id_prefix`` (at least 4 hex digits)."""
    prefix = token_id_prefix.strip().lower()
    if not _ID_RE.fullmatch(prefix):
        raise UserError(f"invalid token id {token_id_prefix!r} (the hex id shown by 'cxkpi token list')")
    rows = con.execute(
        "SELECT token_hash FROM api_tokens WHERE starts_with(token_hash, ?)", [prefix]
    ).fetchall()
    if not rows:
        raise UserError(f"no token {token_id_prefix!r}")
    if len(rows) > 1:
        raise UserError(f"{len(rows)} tokens start with {token_id_prefix!r}: give more of the id")
    con.execute("DELETE FROM api_tokens WHERE token_hash = ?", [rows[0][0]])
