"""Schemathesis against the served OpenAPI schema: no input makes the API answer with a 5xx.

The API runs on a warehouse of its own (targets and imports may be written by the
generated calls), authenticated as a manager with a bearer token. Generation is bounded
(a couple of dozen examples per operation and mode, a fixed seed) so the run stays short
and repeatable.

Schemathesis' own pytest integration (``schema.parametrize`` / ``from_fixture``) rewrites
pytest's private node ids, which pytest 9 no longer has, so each operation is driven here
with ``APIOperation.as_strategy`` under Hypothesis' ``@given``.

The schema cannot tell a KPI name from any string, so the last two tests also generate
queries from the catalogue's vocabulary (names, dimensions, grains, filters, parameters)
under every role, and check that no row escapes the caller's scope.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, note, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from cxkpi.access.tokens import create_token
from cxkpi.api.routes import router
from cxkpi.dashboard import views
from cxkpi.kpi.catalogue import KPIS
from cxkpi.warehouse.connection import open_warehouse

# The documented operations known without serving anything: the API routers' routes (the
# pages and static files are hidden from the schema). Any other operation the served schema
# has is fuzzed by ``test_other_operations``.
ROUTERS = [router, *([views.api_router] if hasattr(views, "api_router") else [])]
OPERATIONS = sorted(
    (method, route.path) for r in ROUTERS for route in r.routes if isinstance(route, APIRoute) and route.include_in_schema
    for method in route.methods
)
# CXKPI_FUZZ_EXAMPLES=500 (say) explores further, with a random seed, when hunting for bugs.
EXAMPLES = int(os.environ.get("CXKPI_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize="CXKPI_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A warehouse of the fuzz tests' own, and a manager's bearer token on it."""
    from web_support import build_web_warehouse

    built = build_web_warehouse(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb")
    con = open_warehouse(built.path)
    try:
        token = create_token(con, "manager", "fuzz")
    finally:
        con.close()
    return built.path, token


@pytest.fixture
def fuzz_target(fuzz_warehouse: tuple[Path, str]) -> Iterator[tuple[Any, dict[str, str]]]:
    """(the OpenAPI schema of an app serving the fuzz warehouse, the manager's bearer header).

    One app per test: schemathesis' pytest plugin ends the lifespans it started after each
    test, and the app's lifespan closes its warehouse.
    """
    from cxkpi.api.app import create_app

    path, token = fuzz_warehouse
    app = create_app(path, secure_cookies=False)
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app), {"Authorization": f"Bearer {token}"}
    finally:
        app.state.server.warehouse.close()


def fuzz(operation: Any, headers: dict[str, str]) -> None:
    """Positive and negative cases of one operation: none may get a 5xx."""
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @FUZZ
    @given(case=cases)
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    run()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_input_makes_a_server_error(method: str, path: str, fuzz_target: tuple[Any, dict[str, str]]) -> None:
    api_schema, headers = fuzz_target
    fuzz(api_schema[path][method], headers)


def test_other_operations(fuzz_target: tuple[Any, dict[str, str]]) -> None:
    """Operations of the served schema not listed above (routes added to the app itself) are fuzzed too."""
    api_schema, headers = fuzz_target
    operations = [op.ok() for op in api_schema.get_all_operations()]
    served = {(op.method.upper(), op.path) for op in operations}
    assert set(OPERATIONS) <= served
    for op in operations:
        if (op.method.upper(), op.path) not in OPERATIONS:
            fuzz(op, headers)


# --- beyond the schema: KPI queries from the catalogue's own vocabulary ------------------------
# The schema says a KPI name is a string, so generated names are nearly always unknown (400).
# These cases use real names, dimensions, grains, dates, filters and parameters, under every
# role, and check both that nothing crashes and that no row escapes the caller's scope.

DIMS = sorted({d for k in KPIS.values() for d in k.dimensions})
GRAINS = ["day", "week", "month", "quarter", "year", "all"]
VALUES = ["phone", "chat", "email", "Lyon Digital", "Rabat Voix", "AG0031", "AG0001", "particulier", "", "%", "'", "é,ü",
          "a=b", "NULL", "\x00", "AG0031\x00"]
PARAMS = ["answer_threshold_s.chat=30", "answer_threshold_s.phone=-1", "short_abandon_s=0", "short_abandon_s=abc",
          "service_level_abandons=ignored", "service_level_abandons=later", "fcr_window_days=1.5", "fcr_same_reason=yes",
          "csat_top_box=5", "delinquency_days=30", "unknown=1", "novalue"]
DATES = st.one_of(st.none(), st.dates(date(2025, 9, 1), date(2027, 1, 31)).map(date.isoformat),
                  st.sampled_from(["2026-02-30", "2026-1-5", "20260105", "yesterday"]))
ROLES = ["manager", "lead", "quality", "agent"]


@st.composite
def kpi_queries(draw: st.DrawFn) -> list[tuple[str, str]]:
    query = [("kpi", k) for k in draw(st.lists(st.sampled_from(sorted(KPIS)), min_size=1, max_size=3))]
    if draw(st.booleans()):
        query.append(("by", ",".join(draw(st.lists(st.sampled_from(DIMS), min_size=1, max_size=2)))))
    query.append(("grain", draw(st.sampled_from(GRAINS))))
    for name in ("from", "to"):
        if (value := draw(DATES)) is not None:
            query.append((name, value))
    if draw(st.booleans()):
        query.append(("tz", draw(st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Nope/Zone"]))))
    for _ in range(draw(st.integers(0, 2))):
        query.append(("where", f"{draw(st.sampled_from(DIMS))}={draw(st.sampled_from(VALUES) | st.text(max_size=8))}"))
    for _ in range(draw(st.integers(0, 2))):
        query.append(("param", draw(st.sampled_from(PARAMS))))
    for flag in ("with_counts", "targets"):
        if draw(st.booleans()):
            query.append((flag, "true"))
    return query


@pytest.fixture(scope="module")
def role_clients(fuzz_warehouse: tuple[Path, str]) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], Any]]:
    """A client of an app over the fuzz warehouse, bearer headers per role, and the team lead's agents."""
    from cxkpi.api.app import create_app

    path, _ = fuzz_warehouse
    app = create_app(path, secure_cookies=False)
    cur = app.state.server.warehouse.con.cursor()
    try:
        headers = {r: {"Authorization": f"Bearer {create_token(cur, r, 'fuzz')}"} for r in ROLES}
        team_agents = {a for (a,) in cur.execute(
            "SELECT DISTINCT agent_id FROM contacts WHERE team = 'Lyon Digital' AND agent_id IS NOT NULL").fetchall()}
        agent_id = cur.execute("SELECT agent_id FROM users WHERE username = 'agent'").fetchall()[0][0]
    finally:
        cur.close()
    client = TestClient(app, raise_server_exceptions=True)  # a crash fails the example with its traceback
    try:
        yield client, headers, {"team_agents": team_agents, "agent_id": agent_id}
    finally:
        client.close()
        app.state.server.warehouse.close()


@FUZZ
@given(role=st.sampled_from(ROLES), query=kpi_queries())
def test_kpi_queries_never_crash_nor_escape_the_scope(
        role_clients: tuple[TestClient, dict[str, dict[str, str]], Any], role: str, query: list[tuple[str, str]]) -> None:
    client, headers, facts = role_clients
    note(f"GET /api/kpis as {role}: {query}")
    resp = client.get("/api/kpis", params=query, headers=headers[role])
    assert resp.status_code in (200, 400, 403, 422), (resp.status_code, resp.text)
    detail = resp.json().get("detail")
    assert detail is None or ("\n" not in detail and "Traceback" not in detail), detail
    if resp.status_code != 200:
        return
    body = resp.json()
    assert body["total"] == len(body["rows"]) or len(body["rows"]) == 1000
    for row in body["rows"]:
        if role == "agent" and "agent_id" in row:
            assert row["agent_id"] == facts["agent_id"], row
        if role == "lead" and "team" in row:
            assert row["team"] == "Lyon Digital", row
        if role == "lead" and "agent_id" in row and row["agent_id"] is not None:
            assert row["agent_id"] in facts["team_agents"], row


@FUZZ
@given(role=st.sampled_from(ROLES), name=st.sampled_from(sorted(KPIS)), grain=st.sampled_from(GRAINS),
       where=st.lists(st.tuples(st.sampled_from(DIMS), st.sampled_from(VALUES)), max_size=2),
       period=st.none() | st.sampled_from(["2026-03", "2026-W10", "2026-03-02", "2026-Q1", "2026", "all", "junk"]),
       start=DATES, offset=st.integers(0, 50))
def test_drill_queries_never_crash_nor_escape_the_scope(
        role_clients: tuple[TestClient, dict[str, dict[str, str]], Any], role: str, name: str, grain: str,
        where: list[tuple[str, str]], period: str | None, start: str | None, offset: int) -> None:
    client, headers, facts = role_clients
    query = [("grain", grain), ("offset", str(offset)), ("limit", "50"), *(("where", f"{d}={v}") for d, v in where)]
    if period is not None:
        query.append(("period", period))
    if start is not None:
        query.append(("from", start))
    note(f"GET /api/drill/{name} as {role}: {query}")
    resp = client.get(f"/api/drill/{name}", params=query, headers=headers[role])
    assert resp.status_code in (200, 400, 403, 422), (resp.status_code, resp.text)
    if resp.status_code != 200:
        return
    for row in resp.json()["rows"]:
        if role == "agent" and "agent_id" in row:
            assert row["agent_id"] == facts["agent_id"], row
        if role == "lead" and "team" in row:
            assert row["team"] == "Lyon Digital", row
        elif role == "lead" and row.get("agent_id") is not None:  # agent-only tables: the team's agents
            assert row["agent_id"] in facts["team_agents"], row
