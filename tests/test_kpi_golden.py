"""Golden cases of the contact KPIs on DuckDB: hand-made data, hand-computed numbers.

The data sets and the expected values (with the reasoning beside each number) live in
``kpi_golden.py``; the same cases run on Spark in ``test_kpi_spark.py``.
"""

from __future__ import annotations

import pytest

from kpi_golden import CASES, THIRD_PARTY_WARNINGS, GoldenCase, Warehouses, assert_rows, run_duck, warehouses  # noqa: F401

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_case_duckdb(case: GoldenCase, warehouses: Warehouses) -> None:
    con = warehouses.load(case.dataset)
    assert_rows(run_duck(con, case.query), case.expected)
