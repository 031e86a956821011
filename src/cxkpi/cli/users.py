"""``cxkpi user`` and ``cxkpi token``: manage panel accounts and API tokens from the machine.

Whoever runs these commands owns the warehouse file, so they act as administrator; audit
entries name no user (``None``) and say which account was touched.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cxkpi.cli.common import check_format, emit, say, warehouse

user_app = typer.Typer(help="Accounts of the web panel (roles: admin, manager, team_lead, quality, agent).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for scripts (sent as 'Authorization: Bearer cxk_...').", no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (else one is generated and shown once).")]
Format = Annotated[str, typer.Option("--format", help="table or json.")]


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password to set, and whether it was generated (then it must be shown)."""
    from cxkpi.access import generate_password

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return generate_password(), True


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
    from cxkpi.access import Action, add_user, record

    password, generated = _password(password_stdin)
    with warehouse() as con:
        user = add_user(con, username, password, role, team=team, agent_id=agent, lang=lang)
        record(con, Action.USER_ADD, detail=f"{user.username} ({user.role.value})")
    scope = f", team {user.team}" if user.team else ""
    scope += f", agent {user.agent_id}" if user.agent_id else ""
    say(f"added user {user.username}: role {user.role.value}{scope}, lang {user.lang}")
    if generated:
        say(f"password for {user.username}: {password} (shown once)")


@user_app.command("list")
def user_list_cmd(fmt: Format = "table") -> None:
    """Every account (never the password hashes)."""
    from cxkpi.access import list_users

    check_format(fmt, ("table", "json"))
    with warehouse() as con:
        rows = [u.as_dict() for u in list_users(con)]
    emit(rows, fmt, title="Users", empty="no users (add one with cxkpi user add NAME --role admin)")


@user_app.command("remove")
def user_remove_cmd(username: Annotated[str, typer.Argument(help="The account to delete, with its API tokens.")]) -> None:
    """Delete an account and its API tokens."""
    from cxkpi.access import Action, record, remove_user

    with warehouse() as con:
        remove_user(con, username)
        record(con, Action.USER_REMOVE, detail=username)
    say(f"removed user {username} and their API tokens")


@user_app.command("passwd")
def user_passwd_cmd(
    username: Annotated[str, typer.Argument(help="The account.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password for an account."""
    from cxkpi.access import Action, record, set_password

    password, generated = _password(password_stdin)
    with warehouse() as con:
        set_password(con, username, password)
        record(con, Action.PASSWORD, detail=username)
    say(f"password of {username} changed")
    if generated:
        say(f"password for {username}: {password} (shown once)")


@token_app.command("add")
def token_add_cmd(
    username: Annotated[str, typer.Argument(help="The account the token acts as (same scope).")],
    name: Annotated[str | None, typer.Option("--name", help="What the token is for (shown by token list).")] = None,
) -> None:
    """Create an API token; it is printed once and cannot be shown again."""
    from cxkpi.access import Action, create_token, record, token_id

    with warehouse() as con:
        token = create_token(con, username, name)
        record(con, Action.TOKEN, detail=f"created {token_id(token)} for {username}")
    say(f"token {token_id(token)} for {username}: {token} (shown once)")


@token_app.command("list")
def token_list_cmd(
    user: Annotated[str | None, typer.Option("--user", help="Only the tokens of this account.")] = None,
    fmt: Format = "table",
) -> None:
    """The API tokens (their ids, never the tokens)."""
    from cxkpi.access import list_tokens

    check_format(fmt, ("table", "json"))
    with warehouse() as con:
        rows = [t.as_dict() for t in list_tokens(con, user)]
    emit(rows, fmt, title="API tokens", empty="no API tokens")


@token_app.command("remove")
def token_remove_cmd(token_id_prefix: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="The id shown by token list (or its first characters).")]) -> None:
    """Revoke an API token."""
    from cxkpi.access import Action, record, revoke_token

    with warehouse() as con:
        revoke_token(con, token_id_prefix)
        record(con, Action.TOKEN, detail=f"revoked {token_id_prefix}")
    say(f"revoked token {token_id_prefix}")
