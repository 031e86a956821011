"""``cxkpi user`` and ``cxkpi token``: manage panel accounts and API tokens from the machine.

Whoever runs these commands owns the warehouse file, so they act as administrator; audit
entries name no user (``None``) and say which account was touched.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table as RichTable

from cxkpi.access import (
    Action,
    add_user,
    create_token,
    generate_password,
    list_tokens,
    list_users,
    record,
    remove_user,
    revoke_token,
    set_password,
    token_id,
)
from cxkpi.config import UserError
from cxkpi.warehouse import open_warehouse

user_app = typer.Typer(help="Accounts of the web panel (roles: admin, manager, team_lead, quality, agent).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for scripts (sent as 'Authorization: Bearer cxk_...').", no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (else one is generated and shown once).")]
Format = Annotated[str, typer.Option("--format", help="table or json.")]


@contextmanager
def _warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    from cxkpi.cli.main import _db  # main imports this module to register the sub-apps

    con = open_warehouse(_db())
    try:
        yield con
    finally:
        con.close()


def _out() -> Console:
    from cxkpi.cli.main import out

    return out


def _say(text: str) -> None:
    _out().print(text, highlight=False, markup=False)


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password to set, and whether it was generated (then it must be shown)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return generate_password(), True


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise UserError(f"unknown --format {fmt!r} (use table or json)")


def _emit(rows: Sequence[dict[str, str | None]], fmt: str, title: str, empty: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(list(rows), indent=2) + "\n")
        return
    if not rows:
        _say(empty)
        return
    grid = RichTable(title=title)
    for name in rows[0]:
        grid.add_column(name, overflow="fold")
    for r in rows:
        grid.add_row(*("" if v is None else v for v in r.values()))
    _out().print(grid)


@user_app.command("add")
def user_add_cmd(
    username: Annotated[str, typer.Argument(help="Login name: letters, digits, . _ @ - (at most 64).")],
    role: Annotated[str, typer.Option("--role", help="admin, manager, team_lead, quality or agent.")],
    team: Annotated[str | None, typer.Option("--team", help="The team of a team_lead (required for that role).")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="The agent id of an agent (required for that role).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the pages: en or fr.")] = "en",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a panel account."""
    password, generated = _password(password_stdin)
    with _warehouse() as con:
        user = add_user(con, username, password, role, team=team, agent_id=agent, lang=lang)
        record(con, Action.USER_ADD, detail=f"{user.username} ({user.role.value})")
    scope = f", team {user.team}" if user.team else ""
    scope += f", agent {user.agent_id}" if user.agent_id else ""
    _say(f"added user {user.username}: role {user.role.value}{scope}, lang {user.lang}")
    if generated:
        _say(f"password for {user.username}: {password} (shown once)")


@user_app.command("list")
def user_list_cmd(fmt: Format = "table") -> None:
    """Every account (never the password hashes)."""
    _check_format(fmt)
    with _warehouse() as con:
        rows = [u.as_dict() for u in list_users(con)]
    _emit(rows, fmt, title="Users", empty="no users (add one with cxkpi user add NAME --role admin)")


@user_app.command("remove")
def user_remove_cmd(username: Annotated[str, typer.Argument(help="The account to delete, with its API tokens.")]) -> None:
    """Delete an account and its API tokens."""
    with _warehouse() as con:
        remove_user(con, username)
        record(con, Action.USER_REMOVE, detail=username)
    _say(f"removed user {username} and their API tokens")


@user_app.command("passwd")
def user_passwd_cmd(
    username: Annotated[str, typer.Argument(help="The account.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password for an account."""
    password, generated = _password(password_stdin)
    with _warehouse() as con:
        set_password(con, username, password)
        record(con, Action.PASSWORD, detail=username)
    _say(f"password of {username} changed")
    if generated:
        _say(f"password for {username}: {password} (shown once)")


@token_app.command("add")
def token_add_cmd(
    username: Annotated[str, typer.Argument(help="The account the token acts as (same scope).")],
    name: Annotated[str | None, typer.Option("--name", help="What the token is for (shown by token list).")] = None,
) -> None:
    """Create an API token; it is printed once and cannot be shown again."""
    with _warehouse() as con:
        token = create_token(con, username, name)
        record(con, Action.TOKEN, detail=f"created {token_id(token)} for {username}")
    _say(f"token {token_id(token)} for {username}: {token} (shown once)")


@token_app.command("list")
def token_list_cmd(
    user: Annotated[str | None, typer.Option("--user", help="Only the tokens of this account.")] = None,
    fmt: Format = "table",
) -> None:
    """The API tokens (their ids, never the tokens)."""
    _check_format(fmt)
    with _warehouse() as con:
        rows = [t.as_dict() for t in list_tokens(con, user)]
    _emit(rows, fmt, title="API tokens", empty="no API tokens")


@token_app.command("remove")
def token_remove_cmd(token_id_prefix: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="The id shown by token list (or its first characters).")]) -> None:
    """Revoke an API token."""
    with _warehouse() as con:
        revoke_token(con, token_id_prefix)
        record(con, Action.TOKEN, detail=f"revoked {token_id_prefix}")
    _say(f"revoked token {token_id_prefix}")
