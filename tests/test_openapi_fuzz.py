"""Schemathesis against the served OpenAPI schema: no input makes the API answer with a 5xx.

The API runs on a warehouse of its own (targets and imports may be written by the
generated calls), authenticated as a manager with a bearer token. Generation is bounded
(a couple of dozen examples per operation and mode, a fixed seed) so the run stays short
and repeatable.

Schemathesis' own pytest integration (``schema.parametrize`` / ``from_fixture``) rewrites
pytest's private node ids, which pytest 9 no longer has, so each operation is driven here
with ``APIOperation.as_strategy`` under Hypothesis' ``@given``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from cxkpi.access.tokens import create_token
from cxkpi.api.routes import router

# Every documented operation (the API router's routes; the others are hidden from the schema).
OPERATIONS = sorted(
    (method, route.path) for route in router.routes if isinstance(route, APIRoute) and route.include_in_schema
    for method in route.methods
)
FUZZ = settings(max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    """(the OpenAPI schema of an app on a warehouse of its own, a manager's bearer header)."""
    from web_support import build_web_warehouse

    from cxkpi.api.app import create_app

    built = build_web_warehouse(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb")
    app = create_app(built.path, secure_cookies=False)
    wh = app.state.server.warehouse
    cur = wh.con.cursor()
    try:
        token = create_token(cur, "manager", "fuzz")
    finally:
        cur.close()
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield api_schema, {"Authorization": f"Bearer {token}"}
    wh.close()


def test_every_operation_is_fuzzed(fuzz_target: tuple[Any, dict[str, str]]) -> None:
    api_schema, _ = fuzz_target
    found = sorted((op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations())
    assert found == OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_input_makes_a_server_error(method: str, path: str, fuzz_target: tuple[Any, dict[str, str]]) -> None:
    api_schema, headers = fuzz_target
    operation = api_schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @FUZZ
    @given(case=cases)
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    run()
