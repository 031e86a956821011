"""Users of the web panel: who they are, their role and scope, and their argon2 password hash.

Passwords are never stored, only argon2id hashes (``argon2.PasswordHasher`` defaults, RFC 9106
low-memory profile). ``authenticate`` takes about the same time whether or not the username
exists, so a login form does not reveal which accounts exist.

``CXKPI_ARGON2_FAST=1`` (for tests only) makes hashing cheap (time_cost=1, memory_cost=8 MiB,
parallelism=1); hashes made that way are upgraded at the next login without it.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cxkpi.config import UserError

FAST_ENV = "CXKPI_ARGON2_FAST"
LANGS = ("en", "fr")
MIN_PASSWORD = 8
USERNAME_RE = re.compile(r"[A-Za-z0-9._@-]{1,64}")

_COLUMNS = "username, role, team, agent_id, lang, created_at"


class Role(StrEnum):
    """What a user may see (see ``cxkpi.access.scope``)."""

    ADMIN = "admin"
    MANAGER = "manager"
    TEAM_LEAD = "team_lead"
    QUALITY = "quality"
    AGENT = "agent"


@dataclass(frozen=True)
class User:
    """A panel user, without the password hash (it never leaves this module)."""

    username: str
    role: Role
    team: str | None
    agent_id: str | None
    lang: str
    created_at: datetime

    def as_dict(self) -> dict[str, str | None]:
        """JSON-ready fields (``created_at`` in ISO 8601)."""
        return {
            "username": self.username,
            "role": self.role.value,
            "team": self.team,
            "agent_id": self.agent_id,
            "lang": self.lang,
            "created_at": self.created_at.isoformat(),
        }


def _hasher() -> PasswordHasher:
    """A hasher; built per call so that ``CXKPI_ARGON2_FAST`` is read when hashing."""
    if os.environ.get(FAST_ENV) == "1":
        return PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    return PasswordHasher()


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    """A hash of a random secret with the current parameters, verified for unknown users."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    return hasher.hash(secrets.token_urlsafe(16))


def _user(row: tuple[Any, ...]) -> User:
    created: datetime = row[5]
    return User(
        username=row[0], role=Role(row[1]), team=row[2], agent_id=row[3], lang=row[4],
        created_at=created.astimezone(UTC),
    )


def _parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r} (use {', '.join(r.value for r in Role)})") from None


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise UserError(f"unknown language {lang!r} (use {' or '.join(LANGS)})")
    return lang


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


def _require(con: duckdb.DuckDBPyConnection, username: str) -> None:
    if get_user(con, username) is None:
        raise UserError(f"no user {username!r}")


def add_user(
    con: duckdb.DuckDBPyConnection,
    username: str,
    password: str,
    role: Role | str,
    team: str | None = None,
    agent_id: str | None = None,
    lang: str = "en",
) -> User:
    """Create a user; a team lead needs a team and an agent their agent id (their scope)."""
    if not USERNAME_RE.fullmatch(username):
        raise UserError(f"invalid username {username!r} (1 to 64 letters, digits or . _ @ -)")
    parsed = _parse_role(role)
    team, agent_id = team or None, agent_id or None
    if parsed is Role.TEAM_LEAD and team is None:
        raise UserError("a team_lead needs a team (--team)")
    if parsed is Role.AGENT and agent_id is None:
        raise UserError("an agent needs an agent id (--agent)")
    _check_lang(lang)
    _check_password(password)
    if get_user(con, username) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(username, parsed, team, agent_id, lang, datetime.now(UTC))
    try:
        con.execute(
            "INSERT INTO users (username, password_hash, role, team, agent_id, lang, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [username, _hasher().hash(password), parsed.value, team, agent_id, lang, user.created_at],
        )
    except duckdb.ConstraintException:  # created meanwhile by another process
        raise UserError(f"user {username!r} already exists") from None
    return user


def generate_password() -> str:
    """A random password of 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def authenticate(con: duckdb.DuckDBPyConnection, username: str, password: str) -> User | None:
    """The user if the password is right, else None (unknown user or wrong password alike).

    A stored hash made with older parameters is replaced by a fresh one on success.
    """
    rows = con.execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchall()
    hasher = _hasher()
    if not rows:
        try:  # same work as for a real user: timing does not tell which usernames exist
            hasher.verify(_dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism), password)
        except VerificationError:
            pass
        return None
    stored: str = rows[0][0]
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(stored):
        try:
            con.execute("UPDATE users SET password_hash = ? WHERE username = ?", [hasher.hash(password), username])
        except duckdb.Error:
            pass  # read-only or conflicting connection: the login stands, the upgrade waits for the next one
    return get_user(con, username)


def get_user(con: duckdb.DuckDBPyConnection, username: str) -> User | None:
    """The user named ``username``, or None."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?", [username]).fetchall()
    return _user(rows[0]) if rows else None


def list_users(con: duckdb.DuckDBPyConnection) -> list[User]:
    """Every user, by username."""
    return [_user(r) for r in con.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username").fetchall()]


def count_users(con: duckdb.DuckDBPyConnection) -> int:
    """How many users exist (0: the panel needs a first admin)."""
    return int(con.execute("SELECT count(*) FROM users").fetchall()[0][0])


def remove_user(con: duckdb.DuckDBPyConnection, username: str) -> None:
    """Delete a user and their API tokens, so no token outlives its owner."""
    _require(con, username)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM api_tokens WHERE username = ?", [username])
        con.execute("DELETE FROM users WHERE username = ?", [username])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def set_password(con: duckdb.DuckDBPyConnection, username: str, password: str) -> None:
    """Replace a user's password (its hash)."""
    _check_password(password)
    _require(con, username)
    con.execute("UPDATE users SET password_hash = ? WHERE username = ?", [_hasher().hash(password), username])


def set_lang(con: duckdb.DuckDBPyConnection, username: str, lang: str) -> None:
    """Set the language of a user's pages (en or fr)."""
    _check_lang(lang)
    _require(con, username)
    con.execute("UPDATE users SET lang = ? WHERE username = ?", [lang, username])
