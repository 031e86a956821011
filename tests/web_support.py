"""A small served warehouse for the web tests: demo data, one user per role, a live server.

Passwords are hashed with fast argon2 parameters (``CXKPI_ARGON2_FAST``), for tests only.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from cxkpi.access.tokens import create_token
from cxkpi.access.users import Role, add_user
from cxkpi.demo.load import build_demo
from cxkpi.demo.targets import set_demo_targets
from cxkpi.warehouse.connection import open_warehouse

LEAD_TEAM = "Lyon Digital"
PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class WebWarehouse:
    path: Path
    agent_id: str  # the agent user's id, in LEAD_TEAM
    other_agent: str  # an agent of another team
    team_agents: tuple[str, ...]  # agents seen in LEAD_TEAM's contacts


def build_web_warehouse(path: Path) -> WebWarehouse:
    """A one-year demo at a small scale, with users admin, manager, lead, quality and agent."""
    os.environ["CXKPI_ARGON2_FAST"] = "1"
    build_demo(path, seed=7, scale=0.03)
    con = open_warehouse(path)
    try:
        team_agents = tuple(r[0] for r in con.execute(
            "SELECT DISTINCT agent_id FROM contacts WHERE team = ? AND agent_id IS NOT NULL ORDER BY 1", [LEAD_TEAM]).fetchall())
        other = con.execute(
            "SELECT agent_id FROM contacts WHERE team <> ? AND agent_id IS NOT NULL AND agent_id NOT IN "
            "(SELECT agent_id FROM contacts WHERE team = ? AND agent_id IS NOT NULL) ORDER BY 1 LIMIT 1",
            [LEAD_TEAM, LEAD_TEAM]).fetchall()[0][0]
        agent = team_agents[0]
        set_demo_targets(con)
        add_user(con, "admin", PASSWORD, Role.ADMIN)
        add_user(con, "manager", PASSWORD, Role.MANAGER)
        add_user(con, "lead", PASSWORD, Role.TEAM_LEAD, team=LEAD_TEAM)
        add_user(con, "quality", PASSWORD, Role.QUALITY)
        add_user(con, "agent", PASSWORD, Role.AGENT, agent_id=agent, lang="fr")
    finally:
        con.close()
    return WebWarehouse(path=path, agent_id=agent, other_agent=str(other), team_agents=team_agents)


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    """Log ``client`` in through the login form (its CSRF cookie and field)."""
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    answer = client.post("/login", data={"username": username, "password": password, "csrf": token.group(1), "next": "/"},
                         follow_redirects=False)
    assert answer.status_code == 303 and not answer.headers["location"].startswith("/login"), answer.text


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, as the pages carry it."""
    page = client.get("/kpi/fcr")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``cxkpi serve`` in a thread of the test process, on a free loopback port."""

    def __init__(self, db: Path) -> None:
        import uvicorn

        from cxkpi.server.app import create_app
        from cxkpi.service.runtime import Warehouse

        self.warehouse = Warehouse(db)
        self.app = create_app(db, secure_cookies=False, warehouse=self.warehouse)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        self.warehouse.publish(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        self.warehouse.unpublish()
        self.server.should_exit = True
        self.thread.join(timeout=20)


def read_only_copy(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def bearer(app: Any, username: str) -> dict[str, str]:
    """The headers of a program calling ``app`` as ``username`` (a fresh API token)."""
    cur = app.state.server.warehouse.con.cursor()
    try:
        return {"Authorization": f"Bearer {create_token(cur, username, 'test')}"}
    finally:
        cur.close()


def one_line_error(resp: Any, status_code: int, *fragments: str) -> str:
    """The answer is ``status_code`` with a one-line ``detail`` (no traceback) holding every fragment."""
    assert resp.status_code == status_code, (resp.status_code, resp.text[:500])
    detail = resp.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail, detail
    for f in fragments:
        assert f in detail, (f, detail)
    return detail
