"""The access layer: users and password hashes, API tokens, the audit log, login throttling."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import cxkpi.access as access
from cxkpi.access import (
    Action,
    LoginLimiter,
    Role,
    add_user,
    authenticate,
    count_entries,
    count_users,
    create_token,
    entries,
    generate_password,
    get_user,
    list_tokens,
    list_users,
    record,
    remove_user,
    revoke_token,
    set_lang,
    set_password,
    token_id,
    user_for_token,
)
from cxkpi.config import UserError
from cxkpi.warehouse import open_warehouse

PW = "correct horse"


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXKPI_ARGON2_FAST", "1")


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_warehouse(tmp_path / "w.duckdb")
    try:
        yield c
    finally:
        c.close()


def stored_hash(con: duckdb.DuckDBPyConnection, username: str) -> str:
    value: str = con.execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchall()[0][0]
    return value


def test_all_names_exist() -> None:
    assert access.__all__ == sorted(access.__all__)
    for name in access.__all__:
        assert hasattr(access, name), name


# --- users -------------------------------------------------------------------------------


def test_add_and_get_user(con: duckdb.DuckDBPyConnection) -> None:
    user = add_user(con, "ana.b@example", PW, "team_lead", team="Billing", lang="fr")
    assert (user.username, user.role, user.team, user.agent_id, user.lang) == ("ana.b@example", Role.TEAM_LEAD, "Billing", None, "fr")
    assert user.created_at.tzinfo is not None
    assert get_user(con, "ana.b@example") == user
    assert get_user(con, "nobody") is None
    assert count_users(con) == 1


def test_hash_is_argon2_and_never_the_password(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "ana", PW, Role.ADMIN)
    h = stored_hash(con, "ana")
    assert h.startswith("$argon2id$")
    assert PW not in h
    add_user(con, "bob", PW, Role.ADMIN)
    assert stored_hash(con, "bob") != h  # salted


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"username": "has space"}, "invalid username"),
        ({"username": ""}, "invalid username"),
        ({"username": "x" * 65}, "invalid username"),
        ({"role": "boss"}, "admin, manager, team_lead, quality, agent"),
        ({"role": "team_lead"}, "needs a team"),
        ({"role": "team_lead", "team": ""}, "needs a team"),
        ({"role": "agent"}, "needs an agent id"),
        ({"lang": "de"}, "unknown language"),
        ({"password": "short7!"}, "at least 8 characters"),
    ],
)
def test_add_user_validation(con: duckdb.DuckDBPyConnection, kwargs: dict[str, Any], fragment: str) -> None:
    args: dict[str, Any] = {"username": "ana", "password": PW, "role": "manager", **kwargs}
    with pytest.raises(UserError, match=fragment):
        add_user(con, **args)
    assert count_users(con) == 0


def test_username_taken(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "ana", PW, "quality")
    with pytest.raises(UserError, match="already exists"):
        add_user(con, "ana", PW, "manager")
    kept = get_user(con, "ana")
    assert kept is not None and kept.role is Role.QUALITY


def test_authenticate(con: duckdb.DuckDBPyConnection) -> None:
    user = add_user(con, "ag7", PW, "agent", agent_id="A7")
    assert authenticate(con, "ag7", PW) == user
    assert authenticate(con, "ag7", PW + "x") is None
    assert authenticate(con, "ag7", "") is None
    assert authenticate(con, "nobody", PW) is None
    assert authenticate(con, "AG7", PW) is None  # usernames are exact


def test_authenticate_rehashes_old_parameters(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(con, "ana", PW, "admin")  # fast (weak) parameters
    weak = stored_hash(con, "ana")
    monkeypatch.delenv("CXKPI_ARGON2_FAST")
    assert authenticate(con, "ana", PW) is not None
    strong = stored_hash(con, "ana")
    assert strong != weak and "m=65536" in strong
    assert authenticate(con, "ana", PW) is not None
    assert stored_hash(con, "ana") == strong  # no rehash needed any more


def test_authenticate_on_a_read_only_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ro.duckdb"
    rw = open_warehouse(path)
    add_user(rw, "ana", PW, "admin")
    rw.close()
    monkeypatch.delenv("CXKPI_ARGON2_FAST")
    ro = open_warehouse(path, read_only=True)
    try:
        assert authenticate(ro, "ana", PW) is not None  # the rehash is skipped, the login stands
    finally:
        ro.close()


def test_set_password_and_lang(con: duckdb.DuckDBPyConnection) -> None:
    user = add_user(con, "ana", PW, "admin")
    set_password(con, "ana", "another secret")
    assert authenticate(con, "ana", PW) is None
    assert authenticate(con, "ana", "another secret") is not None
    with pytest.raises(UserError, match="at least 8"):
        set_password(con, "ana", "short")
    with pytest.raises(UserError, match="no user"):
        set_password(con, "nobody", "long enough")
    set_lang(con, "ana", "fr")
    assert get_user(con, "ana") == replace(user, lang="fr")
    with pytest.raises(UserError, match="unknown language"):
        set_lang(con, "ana", "es")
    with pytest.raises(UserError, match="no user"):
        set_lang(con, "nobody", "en")


def test_list_users_sorted(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("zoe", "ana", "mo"):
        add_user(con, name, PW, "manager")
    assert [u.username for u in list_users(con)] == ["ana", "mo", "zoe"]
    assert "password" not in str(list_users(con)[0].as_dict())


def test_generate_password() -> None:
    pw = generate_password()
    assert len(pw) == 16 and pw != generate_password()


def test_remove_user_removes_tokens(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "ana", PW, "admin")
    add_user(con, "bob", PW, "admin")
    token = create_token(con, "ana", "cron")
    other = create_token(con, "bob", None)
    remove_user(con, "ana")
    assert get_user(con, "ana") is None
    assert user_for_token(con, token) is None
    assert [t.username for t in list_tokens(con)] == ["bob"]
    assert user_for_token(con, other) is not None
    with pytest.raises(UserError, match="no user"):
        remove_user(con, "ana")


# --- tokens ------------------------------------------------------------------------------


def test_token_round_trip_and_revoke(con: duckdb.DuckDBPyConnection) -> None:
    user = add_user(con, "ana", PW, "admin")
    token = create_token(con, "ana", "nightly export")
    assert token.startswith("cxk_") and len(token) == 4 + 43
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert con.execute("SELECT token_hash FROM api_tokens").fetchall() == [(digest,)]  # only the hash is stored
    assert user_for_token(con, token) == user
    assert user_for_token(con, token + "x") is None
    assert user_for_token(con, "not-a-token") is None
    [info] = list_tokens(con)
    assert (info.token_id, info.username, info.name) == (digest[:12], "ana", "nightly export") == (token_id(token), "ana", "nightly export")
    assert list_tokens(con, "bob") == []
    revoke_token(con, info.token_id[:6].upper())
    assert user_for_token(con, token) is None
    with pytest.raises(UserError, match="no token"):
        revoke_token(con, info.token_id)


def test_token_errors(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UserError, match="no user"):
        create_token(con, "nobody", "x")
    with pytest.raises(UserError, match="invalid token id"):
        revoke_token(con, "")
    with pytest.raises(UserError, match="invalid token id"):
        revoke_token(con, "zz' OR 1=1")


def test_revoke_ambiguous_prefix(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "ana", PW, "admin")
    for h in ("abcd" + "0" * 60, "abcd" + "1" * 60):  # two hashes sharing a prefix, made by hand
        con.execute("INSERT INTO api_tokens VALUES (?, 'ana', NULL, now())", [h])
    with pytest.raises(UserError, match="2 tokens start with 'abcd'"):
        revoke_token(con, "abcd")
    revoke_token(con, "abcd0")
    assert [t.token_id for t in list_tokens(con)] == ["abcd11111111"]


# --- audit -------------------------------------------------------------------------------


def test_audit_order_and_paging(con: duckdb.DuckDBPyConnection) -> None:
    record(con, "login", username="ana", client="10.0.0.1")
    record(con, Action.EXPORT, username="ana", detail="contacts.csv")
    record(con, "login_failed", username="bob", client="10.0.0.2")
    record(con, "user_add", detail="carl (agent)")
    all_ = entries(con)
    assert [e.action for e in all_] == ["user_add", "login_failed", "export", "login"]
    assert all_[0].username is None and all_[0].detail == "carl (agent)"
    assert all_[-1].client == "10.0.0.1" and all_[-1].logged_at.tzinfo is not None
    assert [e.audit_id for e in all_] == sorted((e.audit_id for e in all_), reverse=True)
    assert [e.action for e in entries(con, limit=2, offset=1)] == ["login_failed", "export"]
    assert [e.action for e in entries(con, username="ana")] == ["export", "login"]
    assert entries(con, limit=0) == []
    assert (count_entries(con), count_entries(con, "ana"), count_entries(con, "nobody")) == (4, 2, 0)
    assert entries(con, offset=10) == []
    assert all_[0].as_dict()["action"] == "user_add"


def test_audit_rejects_unknown_action_and_bad_paging(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="unknown audit action 'loggin'"):
        record(con, "loggin")
    with pytest.raises(UserError):
        entries(con, limit=-1)


# --- rate limit --------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_sliding_window() -> None:
    clock = FakeClock()
    lim = LoginLimiter(max_failures=3, window_s=60.0, clock=clock)
    key = "10.0.0.1|ana"
    for _ in range(2):
        lim.failure(key)
        clock.now += 10
    assert lim.allowed(key) and lim.retry_after(key) == 0.0
    lim.failure(key)  # failures at 1000, 1010, 1020
    assert not lim.allowed(key)
    assert lim.allowed("10.0.0.2|ana")  # other keys are untouched
    assert lim.retry_after(key) == pytest.approx(40.0)  # the one at 1000 expires at 1060
    clock.now = 1059.9
    assert not lim.allowed(key)
    clock.now = 1060.0
    assert lim.allowed(key)
    lim.failure(key)  # 1010, 1020, 1060: blocked until 1010 expires
    assert not lim.allowed(key) and lim.retry_after(key) == pytest.approx(10.0)
    lim.success(key)
    assert lim.allowed(key) and lim.retry_after(key) == 0.0


def test_limiter_memory_is_bounded() -> None:
    clock = FakeClock()
    lim = LoginLimiter(max_failures=2, window_s=60.0, clock=clock, max_keys=50)
    for i in range(200):
        lim.failure(f"ip{i}|x")
    assert len(lim) == 50
    for _ in range(10):
        lim.failure("ip199|x")
    assert len(lim) == 50 and not lim.allowed("ip199|x")
    clock.now += 61
    lim.failure("late|x")  # the sweep drops every expired key
    assert len(lim) == 1


def test_limiter_threads_count_every_failure() -> None:
    lim = LoginLimiter(max_failures=800, window_s=60.0)

    def hammer() -> None:
        for _ in range(100):
            lim.failure("k")
            lim.allowed("k")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not lim.allowed("k")  # exactly 800 failures: none lost to a race
    lim.success("k")
    assert lim.allowed("k")


def test_limiter_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        LoginLimiter(max_failures=0)
    with pytest.raises(ValueError):
        LoginLimiter(window_s=0)
