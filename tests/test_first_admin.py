"""``cxkpi demo`` creates the first admin and prints the password once; it logs in to the panel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import InProcessCli
from cxkpi.access.users import list_users
from cxkpi.server.app import create_app
from cxkpi.warehouse.connection import open_warehouse
from web_support import login


def test_demo_prints_the_first_admin_password_once(cli_fast: InProcessCli, db_file: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXKPI_ARGON2_FAST", "1")
    done = cli_fast("demo", "--scale", "0.02")
    assert done.returncode == 0, done.stderr
    found = re.search(r"user admin, password (\S+) \(shown once", done.stdout)
    assert found, done.stdout
    con = open_warehouse(db_file)
    try:
        users = list_users(con)
        assert [(u.username, u.role.value) for u in users] == [("admin", "admin")]
        assert found.group(1) not in str(con.execute("SELECT * FROM users").fetchall())  # only its hash is stored
    finally:
        con.close()
    app = create_app(db_file, secure_cookies=False)
    try:
        with TestClient(app) as client:
            login(client, "admin", found.group(1))
            assert client.get("/api/me").json()["role"] == "admin"
    finally:
        app.state.server.warehouse.close()
