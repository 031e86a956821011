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

Nor does it say which values are out of range: ``test_out_of_range_values_never_make_a_server_error``
puts huge numbers, ``inf``/``nan``, extreme dates, long strings and paths into valid cases
of every operation.
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
    from cxkpi.server.app import create_app

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


# --- out of range: values the schema lets through and nothing should take ---------------------
# Generated strings are seldom a huge number, an extreme date or a path, and one bad field
# is refused before the others are read. So each case here is a sane one (real KPI names,
# free-text fields left out) with one field, or two, out of range: a number too large,
# inf or nan, an extreme date, a long string, a path. The answer may be anything but a 5xx.

NUMBERS = ["1e300", "-1e300", "1e30", "inf", "-inf", "Infinity", "nan", "NaN", "-1", "99999999999999999999999", "4.5"]
EXTREME_DATES = ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01", "0000-00-00", "9999-99-99"]
LONG = ["x" * 300, "é" * 150, "9" * 400, "a=" + "b" * 300]
PATHS = ["..", "../../etc/passwd", "/etc/passwd", "/etc", "/dev/zero", "C:\\Windows\\win.ini", "\x00", "%00", "\u202e"]
HOSTILE = st.sampled_from([*NUMBERS, *EXTREME_DATES, *LONG, *PATHS, "", " "])
# each numeric KPI parameter and a KPI that reads it (a parameter reaches SQL only through one);
# those that once overflowed first: generation leans towards the start of a list
PARAM_KPIS = {"fcr_window_days": "fcr", "csat_top_box": "csat", "delinquency_days": "delinquency_rate",
              "short_abandon_s": "short_abandons", "negative_sentiment_below": "negative_verbatim_rate",
              "answer_threshold_s.phone": "service_level"}
SANE_KPIS = st.sampled_from([*PARAM_KPIS.values(), "asa_business", "backlog_open", "aht", "nps", "occupancy"])
BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "param": st.builds("{}={}".format, st.sampled_from(list(PARAM_KPIS)), st.sampled_from(NUMBERS)),
    "date": st.sampled_from(EXTREME_DATES[:4]),  # from, to and date: the same day (a one-day range)
    "mapping": st.sampled_from([*PATHS, "phonenow.yaml", __file__]),
    "tz": st.sampled_from(["../../etc/localtime", "Etc/GMT+99", "UTC\x00", "x" * 64]),
}
HEAVY = {"param": 6, "from": 4, "to": 4, "date": 6, "mapping": 6, "tz": 2, "kpi": 2, "name": 2}  # fields that reach deepest
DAYS = ("from", "to", "date")
HUGE = st.sampled_from([1e300, -1e300, 1.7976931348623157e308, -0.0, 10**30])


def types(schema: dict[str, Any]) -> set[Any]:
    return {schema.get("type"), *(alt.get("type") for alt in schema.get("anyOf", []))}


def is_free_text(parameter: Any) -> bool:
    """An optional string the schema does not constrain (left out of a sane case)."""
    schema = parameter.definition.get("schema", {})
    return not parameter.is_required and any(
        alt.get("type") in ("string", "array") and "pattern" not in alt for alt in (schema, *schema.get("anyOf", [])))


def body_schema(operation: Any) -> dict[str, Any]:
    """The schema of the operation's body (its first media type), or an empty one."""
    for alt in operation.body:
        found: dict[str, Any] = alt.definition.get("schema", {})
        return found
    return {}


@st.composite
def out_of_range_cases(draw: st.DrawFn, operation: Any) -> Any:
    """A sane case of ``operation`` with one or two fields out of range."""
    case = draw(operation.as_strategy(GenerationMode.POSITIVE))
    schema = body_schema(operation)
    props: dict[str, Any] = schema.get("properties", {})
    fields = [*(p.name for p in operation.query), *(p.name for p in operation.path_parameters), *(k for k in props if k != "file")]
    # heavy fields first: generated indices lean towards the start of a list
    weighted = [f for f in sorted(fields, key=lambda f: -HEAVY.get(f, 1)) for _ in range(HEAVY.get(f, 1))]
    bad = set(draw(st.lists(st.sampled_from(weighted), min_size=1, max_size=2))) if weighted else set()
    if bad & set(DAYS):
        bad |= set(DAYS)
    param = draw(BY_NAME["param"])
    sane_kpi = PARAM_KPIS[param.split("=")[0]] if "param" in bad else draw(SANE_KPIS)  # a KPI that reads the parameter
    day = draw(BY_NAME["date"]) if draw(st.integers(0, 3)) else draw(HOSTILE)

    def value(name: str) -> Any:
        if name == "param":
            return param
        if name in DAYS:
            return day
        return draw(BY_NAME[name]) if name in BY_NAME and draw(st.integers(0, 3)) else draw(HOSTILE)

    query = dict(case.query or {})
    for parameter in operation.query:
        name = parameter.name
        if name in bad or name == "kpi":
            one = value(name) if name in bad else sane_kpi
            query[name] = [one] if "array" in types(parameter.definition.get("schema", {})) else one
        elif is_free_text(parameter):
            query.pop(name, None)
    case.query = query
    for parameter in operation.path_parameters:
        case.path_parameters = {**(case.path_parameters or {}),
                                parameter.name: value(parameter.name) if parameter.name in bad else sane_kpi}
    if isinstance(case.body, dict):
        body = {k: v for k, v in case.body.items() if k in props}
        for key, prop in props.items():
            if key in bad:
                body[key] = draw(HUGE) if "number" in types(prop) else value(key)
            elif key in ("kpi", "table"):
                body[key] = sane_kpi if key == "kpi" else "contacts"
            elif key != "file" and key not in schema.get("required", []):
                body.pop(key, None)
        case.body = body
    return case


OUT_OF_RANGE = settings(FUZZ, max_examples=int(os.environ.get("CXKPI_FUZZ_EXAMPLES", "25")))


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_out_of_range_values_never_make_a_server_error(method: str, path: str,
                                                       fuzz_target: tuple[Any, dict[str, str]]) -> None:
    api_schema, headers = fuzz_target
    operation = api_schema[path][method]

    @OUT_OF_RANGE
    @given(case=out_of_range_cases(operation))
    def run(case: Any) -> None:
        note(f"{case.method} {case.path} query={case.query} path={case.path_parameters} body={case.body!r:.300}")
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    run()


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
          "csat_top_box=5", "delinquency_days=30", "unknown=1", "novalue",
          "fcr_window_days=1e300", "fcr_window_days=inf", "fcr_window_days=nan", "delinquency_days=1e30",
          "csat_top_box=-1e300", "answer_threshold_s.email=Infinity", "negative_sentiment_below=-inf"]
# extreme dates are refused at once; 1900-01-01 itself is left out (a business-hours KPI from
# then would build a calendar of a century and a quarter, slowly)
DATES = st.one_of(st.none(), st.dates(date(2025, 9, 1), date(2027, 1, 31)).map(date.isoformat),
                  st.sampled_from(["2026-02-30", "2026-1-5", "20260105", "yesterday", "9999-12-31", "0001-01-01",
                                   "1899-12-31", "2200-01-01"]))
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
    from cxkpi.server.app import create_app

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


@pytest.mark.parametrize("role", ROLES)
def test_the_scope_checks_above_see_real_rows(role_clients: tuple[TestClient, dict[str, dict[str, str]], Any],
                                              role: str) -> None:
    """The fuzzed queries are checked only when they succeed: every role does get rows."""
    client, headers, facts = role_clients
    resp = client.get("/api/kpis", params=[("kpi", "aht"), ("by", "agent_id,team")], headers=headers[role])
    assert resp.status_code == 200, resp.text
    rows = [r for r in resp.json()["rows"] if r["agent_id"] is not None]
    assert rows, role
    if role == "agent":
        assert {r["agent_id"] for r in rows} == {facts["agent_id"]}
    if role == "lead":
        assert {r["team"] for r in rows} == {"Lyon Digital"}
