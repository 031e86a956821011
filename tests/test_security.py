"""Who may see what through ``cxkpi serve``: login required everywhere, scopes that no URL can
widen, the login form's defences, sessions, bearer tokens and the audit log.

Tests share the session's served warehouse (``web_app``); nothing here changes its data
(tokens and audit entries aside). Login throttling is per client address, so the tests that
fail logins on purpose use addresses of their own.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route
from web_support import LEAD_TEAM, PASSWORD, login

from cxkpi.access.audit import entries
from cxkpi.access.tokens import create_token, revoke_token, token_id
from cxkpi.web.security import SESSION_COOKIE
from cxkpi.kpi.calendar import parse_calendar
from cxkpi.kpi.engine import KpiQuery, compute
from cxkpi.kpi.output import records
from cxkpi.warehouse.inspect import config_value

PUBLIC = {"/login", "/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect", "/api/control/import"}
SAMPLE_PATH_VALUES = {"name": "aht", "key": "flow", "agent_id": "AG0001"}


def all_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, included routers' routes flattened."""
    found: list[tuple[str, set[str]]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)  # an included router (FastAPI >= 0.16x)
        if inner is not None:
            found += all_routes(inner.routes, prefix + (getattr(route.include_context, "prefix", "") or ""))
        elif isinstance(route, (APIRoute, Route)):
            found.append((prefix + route.path, set(route.methods or ())))
    return found


def protected_routes(app: Any) -> list[tuple[str, str]]:
    """(method, concrete path) of every route but the public ones."""
    found = []
    for path, methods in all_routes(app.routes):
        if path in PUBLIC or path.startswith("/static/"):
            continue
        concrete = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "x"), path)
        found += [(method, concrete) for method in sorted(methods) if method != "HEAD"]
    return found


def client_at(app: Any, host: str) -> TestClient:
    """A client seen by the server at its own address (login throttling is per address)."""
    return TestClient(app, raise_server_exceptions=False, client=(host, 50000))


def new_token(app: Any, username: str) -> str:
    cur = app.state.server.warehouse.con.cursor()
    try:
        return create_token(cur, username, "security test")
    finally:
        cur.close()


def audit_entries(app: Any, limit: int = 200) -> list[Any]:
    with app.state.server.warehouse.reader() as (_, cur):
        return entries(cur, limit=limit)


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


# --- everything needs a login ----------------------------------------------------------------


def test_every_route_and_page_is_refused_without_login(web_app: Any) -> None:
    routes = protected_routes(web_app)
    assert ("GET", "/api/kpis") in routes and ("GET", "/") in routes and ("POST", "/logout") in routes
    client = TestClient(web_app, raise_server_exceptions=False)
    for method, path in routes:
        resp = client.request(method, path, follow_redirects=False)
        if path.startswith("/api/"):
            assert resp.status_code == 401, (method, path, resp.status_code, resp.text)
            assert resp.headers["www-authenticate"] == "Bearer"
            assert resp.json() == {"detail": "log in or send a bearer token"}
        else:
            assert resp.status_code == 303, (method, path, resp.status_code, resp.text)
            assert resp.headers["location"].startswith("/login?next="), (method, path)


def test_forged_credentials_are_refused(web_app: Any) -> None:
    client = TestClient(web_app, raise_server_exceptions=False)
    for headers in ({"Authorization": "Bearer cxk_forged"}, {"Authorization": "Bearer "}, {"Authorization": "Basic YTpi"}):
        assert client.get("/api/me", headers=headers).status_code == 401, headers
    client.cookies.set(SESSION_COOKIE, "forged-session-id")
    assert client.get("/api/me").status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_control_import_needs_the_control_secret(web_app: Any, tmp_path: Any) -> None:
    client = TestClient(web_app, raise_server_exceptions=False)
    body = {"table": "contacts", "path": str(tmp_path / "x.csv")}
    assert client.post("/api/control/import", json=body).status_code == 403
    assert client.post("/api/control/import", json=body, headers={"x-cxkpi-control": "guess"}).status_code == 403


def test_a_page_redirect_keeps_where_the_user_was_going(web_app: Any) -> None:
    client = TestClient(web_app, raise_server_exceptions=False)
    resp = client.get("/teams?grain=week", follow_redirects=False)
    assert resp.headers["location"] == "/login?next=%2Fteams%3Fgrain%3Dweek"


# --- agent: their own figures only -----------------------------------------------------------


@pytest.fixture
def agent(client_as: Any) -> TestClient:
    client: TestClient = client_as("agent")
    return client


def test_agent_sees_only_their_own_agent_id(agent: TestClient, web_warehouse: Any) -> None:
    rows = agent.get("/api/kpis?kpi=aht&kpi=csat&by=agent_id").json()["rows"]
    assert [r["agent_id"] for r in rows] == [web_warehouse.agent_id]
    by_channel = agent.get("/api/kpis?kpi=contacts_offered&by=channel").json()["rows"]
    assert by_channel and sum(r["contacts_offered"] for r in by_channel) == agent.get(
        "/api/kpis?kpi=contacts_offered").json()["rows"][0]["contacts_offered"]


@pytest.mark.parametrize("query", ["kpi=aht", "kpi=aht&by=agent_id", "kpi=aht&by=channel&grain=month",
                                   "kpi=occupancy&by=agent_id", "kpi=quality_score"])
def test_agent_cannot_forge_another_agents_filter(agent: TestClient, web_warehouse: Any, query: str) -> None:
    resp = agent.get(f"/api/kpis?{query}&where=agent_id={web_warehouse.other_agent}")
    assert resp.status_code in (200, 403), resp.text
    if resp.status_code == 200:
        assert resp.json()["rows"] == []


def test_agent_cannot_open_another_agents_scorecard(agent: TestClient, web_warehouse: Any) -> None:
    assert agent.get(f"/agents/{web_warehouse.other_agent}").status_code == 403
    assert agent.get(f"/agents/{web_warehouse.other_agent}?export=csv&table=trend").status_code == 403
    assert agent.get(f"/agents/{web_warehouse.agent_id}").status_code == 200


def test_agent_drill_stays_within_their_rows(agent: TestClient, web_warehouse: Any) -> None:
    forged = agent.get(f"/api/drill/aht?where=agent_id={web_warehouse.other_agent}")
    assert forged.status_code in (200, 403)
    if forged.status_code == 200:
        assert forged.json()["rows"] == []
    own = agent.get("/api/drill/aht?limit=200").json()["rows"]
    assert own and {r["agent_id"] for r in own} == {web_warehouse.agent_id}
    by_channel = agent.get("/api/drill/service_level?where=channel=phone&limit=200").json()["rows"]
    assert {r["agent_id"] for r in by_channel} <= {web_warehouse.agent_id}


def test_agent_export_holds_only_their_figures(agent: TestClient, web_app: Any, web_warehouse: Any) -> None:
    resp = agent.get("/channels?export=csv&table=channel&grain=month&date=2026-10-15")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(resp.text)))
    kpis = tuple(c for c in exported[0] if c != "channel" and not c.endswith(("_target", "_status")))
    assert "aht" in kpis and "contacts_offered" in kpis

    wh = web_app.state.server.warehouse
    with wh.reader() as (_, cur):
        tz = config_value(cur, "reporting_tz") or "UTC"
        calendar_yaml = config_value(cur, "calendar")
    calendar = parse_calendar(calendar_yaml, tz, "warehouse calendar") if calendar_yaml else None

    def figures(scope: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, dict[str, Any]]:
        q = KpiQuery(kpis=kpis, by=("channel",), start=date(2026, 10, 1), end=date(2026, 10, 31), tz=tz,
                     calendar=calendar, scope=scope)
        with wh.reader() as (engine, _):
            return {str(r["channel"]): r for r in records(compute(engine, q))}

    own = figures((("agent_id", (web_warehouse.agent_id,)),))
    everyone = figures(())
    assert [r["channel"] for r in exported] == list(own)
    for row in exported:
        for k in kpis:
            expected = own[row["channel"]][k]
            if expected is None:
                assert row[k] == "", (row["channel"], k)
            else:
                assert math.isclose(float(row[k]), expected, rel_tol=1e-9), (row["channel"], k, row[k], expected)
    channel = exported[0]["channel"]
    assert everyone[channel]["contacts_offered"] > own[channel]["contacts_offered"]  # not the whole centre's


@pytest.mark.parametrize("path", ["/api/kpis?kpi=churn_rate", "/api/kpis?kpi=net_cash_flow", "/api/kpis?kpi=clv&grain=month",
                                  "/api/drill/churn_rate", "/api/rejects", "/api/imports", "/api/audit", "/kpi/churn_rate"])
def test_agent_is_refused_what_their_scope_cannot_restrict(agent: TestClient, path: str) -> None:
    resp = agent.get(path)
    assert resp.status_code == 403, resp.text


def test_agent_cannot_write(agent: TestClient) -> None:
    from web_support import csrf_of

    csrf = {"x-csrf-token": csrf_of(agent)}
    assert agent.put("/api/targets", json={"kpi": "aht", "target": 1}, headers=csrf).status_code == 403
    upload = {"file": ("x.csv", b"contact_id,channel,created_at\n", "text/csv")}
    assert agent.post("/api/imports", data={"table": "contacts"}, files=upload, headers=csrf).status_code == 403
    assert agent.delete("/api/targets?kpi=aht", headers=csrf).status_code == 403


def test_agent_catalogue_leaves_out_what_they_cannot_see(agent: TestClient) -> None:
    names = {e["name"] for e in agent.get("/api/catalogue").json()}
    assert "aht" in names and "occupancy" in names
    assert not names & {"churn_rate", "net_cash_flow", "clv", "delinquency_rate", "cost_per_contact"}


# --- team lead: their team ---------------------------------------------------------------------


@pytest.fixture
def lead(client_as: Any) -> TestClient:
    client: TestClient = client_as("lead")
    return client


def test_team_lead_sees_only_their_team(lead: TestClient, client_as: Any) -> None:
    rows = lead.get("/api/kpis?kpi=service_level&kpi=csat&by=team").json()["rows"]
    assert [r["team"] for r in rows] == [LEAD_TEAM]
    everyone = client_as("manager").get("/api/kpis?kpi=service_level&kpi=csat&by=team").json()["rows"]
    assert len({r["team"] for r in everyone}) > 2
    assert rows[0] == next(r for r in everyone if r["team"] == LEAD_TEAM)  # the same figures as the manager's


def test_team_lead_sees_only_the_agents_of_their_team(lead: TestClient, client_as: Any, web_warehouse: Any) -> None:
    team = set(web_warehouse.team_agents)
    aht = {r["agent_id"] for r in lead.get("/api/kpis?kpi=aht&by=agent_id").json()["rows"]} - {None}
    assert aht and aht <= team
    occupancy = {r["agent_id"] for r in lead.get("/api/kpis?kpi=occupancy&kpi=shrinkage&by=agent_id").json()["rows"]}
    assert occupancy and occupancy <= team
    everyone = {r["agent_id"] for r in client_as("manager").get("/api/kpis?kpi=occupancy&by=agent_id").json()["rows"]}
    assert everyone - team  # the manager sees agents the lead does not
    drilled = lead.get("/api/drill/occupancy?limit=500").json()["rows"]
    assert drilled and {r["agent_id"] for r in drilled} <= team


@pytest.mark.parametrize("query", ["kpi=service_level&where=team=Rabat Voix", "kpi=service_level&by=team&where=team=Rabat Voix",
                                   "kpi=aht&by=agent_id&where=team=Rabat Voix", "kpi=backlog_open&where=team=Rabat Voix"])
def test_team_lead_cannot_forge_another_teams_filter(lead: TestClient, query: str) -> None:
    resp = lead.get(f"/api/kpis?{query}")
    assert resp.status_code in (200, 403), resp.text
    if resp.status_code == 200:
        assert resp.json()["rows"] == []


def test_team_lead_drill_stays_within_the_team(lead: TestClient) -> None:
    forged = lead.get("/api/drill/aht?where=team=Rabat Voix")
    assert forged.status_code in (200, 403) and (forged.status_code == 403 or forged.json()["rows"] == [])
    rows = lead.get("/api/drill/service_level?limit=300").json()["rows"]
    assert rows and {r["team"] for r in rows} == {LEAD_TEAM}


def test_team_lead_is_refused_customer_value(lead: TestClient) -> None:
    assert lead.get("/api/kpis?kpi=churn_rate").status_code == 403
    assert lead.get("/api/rejects").status_code == 403


# --- quality: quality tables, every agent --------------------------------------------------------


def test_quality_sees_no_money_but_every_agent(client_as: Any) -> None:
    quality = client_as("quality")
    for kpi in ("net_cash_flow", "churn_rate", "clv", "delinquency_rate", "cost_per_contact"):
        assert quality.get(f"/api/kpis?kpi={kpi}").status_code == 403, kpi
    assert quality.get("/api/drill/net_cash_flow").status_code == 403
    for table in ("trend", "period"):
        export = quality.get(f"/finance?export=csv&table={table}")
        assert export.status_code in (200, 403, 404)
        assert not {"net_cash_flow", "cost_per_contact", "clv", "churn_rate"} & set(export.text.splitlines()[0].split(","))
    scores = quality.get("/api/kpis?kpi=quality_score&by=agent_id").json()["rows"]
    assert scores == client_as("manager").get("/api/kpis?kpi=quality_score&by=agent_id").json()["rows"]
    assert len(scores) > 20
    names = {e["name"] for e in quality.get("/api/catalogue").json()}
    assert "quality_score" in names and "net_cash_flow" not in names


# --- the login form --------------------------------------------------------------------------


def test_a_wrong_password_goes_back_to_the_form(web_app: Any) -> None:
    client = client_at(web_app, "192.0.2.10")
    token = login_token(client)
    resp = client.post("/login", data={"username": "manager", "password": "wrong-password", "csrf": token, "next": "/teams"},
                       follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?error=1&next=/teams"
    assert SESSION_COOKIE not in resp.cookies
    assert client.get("/api/me").status_code == 401


def test_the_sixth_failure_within_five_minutes_is_throttled(web_app: Any) -> None:
    client = client_at(web_app, "192.0.2.11")
    token = login_token(client)
    form = {"username": "admin", "password": "not-the-password", "csrf": token}
    for _ in range(5):
        assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    throttled = client.post("/login", data=form, follow_redirects=False)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    # even the right password waits: guessing stops here
    right = client.post("/login", data={**form, "password": PASSWORD}, follow_redirects=False)
    assert right.status_code == 429
    # another address is not held back
    other = client_at(web_app, "192.0.2.12")
    login(other, "admin")


@pytest.mark.parametrize("case", ["no cookie", "no field", "mismatch"])
def test_the_login_form_needs_its_csrf_token(web_app: Any, case: str) -> None:
    client = client_at(web_app, "192.0.2.13")
    token = login_token(client)
    form = {"username": "manager", "password": PASSWORD, "csrf": token}
    if case == "no cookie":
        client.cookies.clear()
    elif case == "mismatch":
        form["csrf"] = "x" + token
    else:
        del form["csrf"]
    resp = client.post("/login", data=form, follow_redirects=False)
    assert resp.status_code in ((422, 403) if case == "no field" else (403,)), resp.text
    assert SESSION_COOKIE not in resp.cookies


def test_the_session_cookie_is_httponly_and_samesite_lax(web_app: Any) -> None:
    client = client_at(web_app, "192.0.2.14")
    token = login_token(client)
    resp = client.post("/login", data={"username": "manager", "password": PASSWORD, "csrf": token},
                       follow_redirects=False)
    assert resp.status_code == 303
    cookie = next(v for v in resp.headers.get_list("set-cookie") if v.startswith(f"{SESSION_COOKIE}="))
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/"


@pytest.mark.parametrize(("target", "expected"), [
    ("//evil.com", "/"), ("//evil.com/teams", "/"), ("https://evil.com", "/"), ("/\\evil.com", "/"),
    ("evil.com", "/"), ("/teams?grain=week", "/teams?grain=week"),
])
def test_no_open_redirect_after_login(web_app: Any, target: str, expected: str) -> None:
    client = client_at(web_app, "192.0.2.15")
    token = login_token(client)
    resp = client.post("/login", data={"username": "manager", "password": PASSWORD, "csrf": token, "next": target},
                       follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == expected


def test_the_login_form_does_not_echo_a_foreign_next(web_app: Any) -> None:
    page = TestClient(web_app).get("/login?next=//evil.com")
    assert "evil.com" not in page.text


def test_logout_needs_csrf_and_ends_the_session(client_as: Any, web_app: Any) -> None:
    from web_support import csrf_of

    client = client_as("manager")
    sid = client.cookies.get(SESSION_COOKIE)
    assert sid
    csrf = csrf_of(client)
    assert client.post("/logout", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    assert client.get("/api/me").status_code == 200  # still logged in
    resp = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    # the old session id is dead on the server, not only forgotten by this browser
    replay = TestClient(web_app, raise_server_exceptions=False)
    replay.cookies.set(SESSION_COOKIE, sid)
    assert replay.get("/api/me").status_code == 401
    assert replay.get("/", follow_redirects=False).status_code == 303
    assert any(e.action == "logout" and e.username == "manager" for e in audit_entries(web_app, 20))


def test_state_changes_with_a_session_need_its_csrf_token(client_as: Any) -> None:
    client = client_as("manager")
    assert client.post("/settings/lang", data={"lang": "fr", "csrf": "forged"}, follow_redirects=False).status_code == 403
    assert client.get("/api/me").json()["lang"] == "en"


# --- bearer tokens ---------------------------------------------------------------------------


def test_a_bearer_token_works_until_revoked(web_app: Any) -> None:
    token = new_token(web_app, "lead")
    client = TestClient(web_app, raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=auth).json()["username"] == "lead"
    rows = client.get("/api/kpis?kpi=service_level&by=team", headers=auth).json()["rows"]
    assert [r["team"] for r in rows] == [LEAD_TEAM]  # a token carries its owner's scope
    assert client.get("/", headers=auth, follow_redirects=False).status_code == 200  # pages too
    cur = web_app.state.server.warehouse.con.cursor()
    try:
        revoke_token(cur, token_id(token))
    finally:
        cur.close()
    assert client.get("/api/me", headers=auth).status_code == 401
    assert client.get("/api/kpis?kpi=aht", headers=auth).status_code == 401


# --- the audit log -----------------------------------------------------------------------------


def test_the_audit_log_records_logins_failures_and_exports(web_app: Any) -> None:
    client = client_at(web_app, "192.0.2.16")
    token = login_token(client)
    client.post("/login", data={"username": "quality", "password": "wrong-password", "csrf": token}, follow_redirects=False)
    login(client, "quality")
    resp = client.get("/teams?export=csv&table=team&grain=month&date=2026-10-15")
    assert resp.status_code == 200
    found = [(e.action.value, e.username, e.client, e.detail) for e in audit_entries(web_app)]
    assert ("login_failed", "quality", "192.0.2.16", None) in found
    assert ("login", "quality", "192.0.2.16", None) in found
    exports = [f for f in found if f[0] == "export" and f[1] == "quality"]
    assert exports and "teams:team.csv" in exports[0][3]
    order = [a for a, u, c, _ in found if u == "quality" and a in ("login_failed", "login", "export")]
    assert order[:3] == ["export", "login", "login_failed"]  # newest first
