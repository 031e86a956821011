"""``cxkpi user`` and ``cxkpi token``: accounts and API tokens from the command line."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import InProcessCli, assert_user_error
from cxkpi.access import authenticate, entries, token_id, user_for_token
from cxkpi.cli.main import app
from cxkpi.cli.users import token_app, user_app
from cxkpi.warehouse import open_warehouse

# main.py registers the sub-apps; until it does, register them here (same names)
if not any(g.name == "user" for g in app.registered_groups):
    app.add_typer(user_app, name="user")
if not any(g.name == "token" for g in app.registered_groups):
    app.add_typer(token_app, name="token")

PW = "s3cret-enough"


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXKPI_ARGON2_FAST", "1")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "panel.duckdb"


@pytest.fixture
def run(cli_fast: InProcessCli, db: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cxkpi --db DB ARGS``, with ``stdin`` text for --password-stdin."""

    def call(*args: str, stdin: str = "") -> Any:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return cli_fast("--db", str(db), *args, db=None)

    return call


@pytest.fixture
def con(db: Path) -> Iterator[Any]:
    """Connections to the test warehouse, closed at the end."""
    opened: list[duckdb.DuckDBPyConnection] = []

    def open_() -> duckdb.DuckDBPyConnection:
        opened.append(open_warehouse(db))
        return opened[-1]

    yield open_
    for c in opened:
        c.close()


def test_user_add_with_stdin_password(run: Any, con: Any) -> None:
    proc = run("user", "add", "ana", "--role", "team_lead", "--team", "Billing", "--lang", "fr", "--password-stdin", stdin=PW + "\nignored\n")
    assert proc.returncode == 0, proc.stderr
    assert "added user ana: role team_lead, team Billing, lang fr" in proc.stdout
    assert "password for" not in proc.stdout and PW not in proc.stdout
    c = con()
    assert authenticate(c, "ana", PW) is not None
    [entry] = entries(c)
    assert (entry.action, entry.username, entry.detail) == ("user_add", None, "ana (team_lead)")


def test_user_add_generates_and_shows_password_once(run: Any, con: Any) -> None:
    proc = run("user", "add", "ag7", "--role", "agent", "--agent", "A7")
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"password for ag7: (\S+) \(shown once\)", proc.stdout)
    assert m, proc.stdout
    user = authenticate(con(), "ag7", m.group(1))
    assert user is not None and user.agent_id == "A7"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("user", "add", "ana", "--role", "boss"), "admin, manager, team_lead, quality, agent"),
        (("user", "add", "ana", "--role", "team_lead"), "needs a team"),
        (("user", "add", "ana", "--role", "agent"), "needs an agent id"),
        (("user", "add", "a b", "--role", "admin"), "invalid username"),
        (("user", "add", "ana", "--role", "admin", "--lang", "de"), "unknown language"),
        (("user", "add", "ana", "--role", "admin", "--password-stdin"), "at least 8 characters"),
        (("user", "remove", "nobody"), "no user 'nobody'"),
        (("user", "passwd", "nobody"), "no user 'nobody'"),
        (("user", "list", "--format", "xml"), "unknown --format"),
        (("token", "add", "nobody"), "no user 'nobody'"),
        (("token", "remove", "abcdef"), "no token 'abcdef'"),
        (("token", "list", "--format", "csv"), "unknown --format"),
    ],
)
def test_user_errors_are_one_line(run: Any, args: tuple[str, ...], fragment: str) -> None:
    proc = run(*args, stdin="short\n")
    assert proc.returncode == 2
    assert_user_error(proc, fragment)


def test_user_add_twice(run: Any) -> None:
    assert run("user", "add", "ana", "--role", "admin").returncode == 0
    assert_user_error(run("user", "add", "ana", "--role", "manager"), "already exists")


def test_user_list_table_and_json(run: Any) -> None:
    assert "no users" in run("user", "list").stdout
    run("user", "add", "zoe", "--role", "quality")
    run("user", "add", "ana", "--role", "manager", "--lang", "fr")
    table = run("user", "list")
    assert table.returncode == 0 and "ana" in table.stdout and "quality" in table.stdout
    assert "argon2" not in table.stdout
    doc = json.loads(run("user", "list", "--format", "json").stdout)
    assert [u["username"] for u in doc] == ["ana", "zoe"]
    assert set(doc[0]) == {"username", "role", "team", "agent_id", "lang", "created_at"}
    assert (doc[0]["role"], doc[0]["lang"], doc[0]["team"]) == ("manager", "fr", None)


def test_user_passwd(run: Any, con: Any) -> None:
    run("user", "add", "ana", "--role", "admin", "--password-stdin", stdin=PW + "\n")
    proc = run("user", "passwd", "ana", "--password-stdin", stdin="new password\r\n")
    assert proc.returncode == 0 and "password of ana changed" in proc.stdout
    assert "shown once" not in proc.stdout
    generated = run("user", "passwd", "ana")
    m = re.search(r"password for ana: (\S+) \(shown once\)", generated.stdout)
    assert m, generated.stdout
    c = con()
    assert authenticate(c, "ana", "new password") is None
    assert authenticate(c, "ana", m.group(1)) is not None
    assert [(e.action, e.detail) for e in entries(c)][:2] == [("password", "ana"), ("password", "ana")]


def test_token_lifecycle_and_user_remove(run: Any, con: Any) -> None:
    run("user", "add", "ana", "--role", "admin")
    added = run("token", "add", "ana", "--name", "nightly")
    assert added.returncode == 0, added.stderr
    m = re.search(r"token ([0-9a-f]{12}) for ana: (cxk_\S+) \(shown once\)", added.stdout)
    assert m, added.stdout
    tid, token = m.groups()
    listed = json.loads(run("token", "list", "--format", "json").stdout)
    assert listed == [{"token_id": tid, "username": "ana", "name": "nightly", "created_at": listed[0]["created_at"]}]
    assert token not in run("token", "list").stdout
    assert json.loads(run("token", "list", "--user", "bob", "--format", "json").stdout) == []
    assert user_for_token(con(), token) is not None
    removed = run("token", "remove", tid[:6])
    assert removed.returncode == 0 and f"revoked token {tid[:6]}" in removed.stdout
    assert "no API tokens" in run("token", "list").stdout
    second = re.search(r"(cxk_\S+)", run("token", "add", "ana").stdout)
    assert second
    gone = run("user", "remove", "ana")
    assert gone.returncode == 0 and "removed user ana" in gone.stdout
    c = con()
    assert user_for_token(c, second.group(1)) is None
    actions = [(e.action, e.username, e.detail) for e in entries(c)]
    assert actions == [
        ("user_remove", None, "ana"),
        ("token", None, f"created {token_id(second.group(1))} for ana"),
        ("token", None, f"revoked {tid[:6]}"),
        ("token", None, f"created {tid} for ana"),
        ("user_add", None, "ana (admin)"),
    ]


def test_help(run: Any) -> None:
    for group in ("user", "token"):
        proc = run(group, "--help")
        assert proc.returncode == 0 and "add" in proc.stdout and "list" in proc.stdout and "remove" in proc.stdout
