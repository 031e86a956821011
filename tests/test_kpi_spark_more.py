"""The golden cases of the NON-contact KPIs on Apache Spark: same data, same numbers as DuckDB.

Each case's data set is imported into a DuckDB warehouse through the real importers (see
``kpi_golden_more.py``); then every canonical table goes to Spark through Arrow, contacts
*without* ``next_inbound_at`` / ``next_same_reason_at`` (as in ``test_kpi_spark.py``). The Spark
result, counts included (``with_counts``), must equal DuckDB's (same rows, values within 1e-9)
and the hand-computed golden rows. One local Spark session per process; the data are tiny.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest

from cxkpi.schema import TABLES
from cxkpi.warehouse.engines import Engine, spark_session
from kpi_golden import SPARK_MARKS, Q, Warehouses, assert_rows, assert_same_frames, run, run_duck, spark, warehouses  # noqa: F401
from kpi_golden_more import (  # noqa: F401
    CASES_MORE_BY_ID, MORE_KPIS, UK, UK_MAPPING, Loaded, ev, import_uk, load_tables, loaded,
)

pytestmark = SPARK_MARKS

DERIVED = ("next_inbound_at", "next_same_reason_at")


def to_spark(con: duckdb.DuckDBPyConnection) -> None:
    """Register every canonical table of the warehouse as a Spark view (empty ones too)."""
    session = spark_session()
    for name in TABLES:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [name]
        ).fetchall()]
        keep = ", ".join(f'"{c}"' for c in cols if c not in DERIVED)
        session.createDataFrame(con.sql(f'SELECT {keep} FROM "{name}"').to_arrow_table()).createOrReplaceTempView(name)


SPARK_CASES = [
    "backlog_days",  # 6 backlog KPIs, buckets at exactly 1/3/7 days, a case opened at the end instant
    "backlog_paris_spring_day",  # 23-hour day, end at local midnight
    "resolution_days",  # mean, linear median/p90, once-and-done, contacts per case
    "repeat_days_paris",
    "agents_by_agent",  # occupancy, shrinkage, contacts per hour, nulls for empty groups
    "agents_total_day_paris",
    "surveys_days",  # csat, csat_mean, nps (exactly 0), ces, response rate by sent_at
    "surveys_by_agent",  # dimensions joined from the contact
    "quality_by_mode",
    "coverage_weeks_paris",  # ISO weeks in Paris
    "customers_months",  # churn, retention, engagement
    "clv_quarter_by_segment",  # months rolled up to a quarter
    "cost_month_paris",  # cash flows by date beside contacts by local time
    "cash_months_paris",  # dates without a zone
    "cash_by_category",
]


def test_the_subset_runs_every_non_contact_kpi() -> None:
    covered = {k for cid in SPARK_CASES for k in CASES_MORE_BY_ID[cid].query.kpis}
    assert covered >= set(MORE_KPIS) - {"delinquency_rate", "delinquency_rate_balance"}  # loans: test_loans_on_spark


def check_on_spark(case_id: str, spark: Engine, loaded: Loaded) -> None:
    case = CASES_MORE_BY_ID[case_id]
    con = loaded(case.dataset)
    to_spark(con)
    query = replace(case.query, with_counts=True)
    on_spark = run(spark, query)
    assert_same_frames(on_spark, run_duck(con, query))
    assert_rows(on_spark, case.expected)


@pytest.mark.parametrize("case_id", SPARK_CASES)
def test_golden_case_spark_equals_duckdb(case_id: str, spark: Engine, loaded: Loaded) -> None:
    check_on_spark(case_id, spark, loaded)


@pytest.mark.parametrize("case_id", ["backlog_all_default_range", "customers_all_default_range"])
def test_snapshot_default_range_on_spark(case_id: str, spark: Engine, loaded: Loaded) -> None:
    check_on_spark(case_id, spark, loaded)


def test_loans_on_spark(spark: Engine, loaded: Loaded) -> None:
    check_on_spark("loans_months", spark, loaded)


def test_zero_weight_evaluation_on_spark(spark: Engine, warehouses: Warehouses) -> None:
    con = load_tables(warehouses, "zero_weight", {"evaluations": [
        ev("Z1", "A", "2026-03-02T10:00:00Z", "cold", "info", 3, 5, 0),  # Σ weight = 0: no score
        ev("Z2", "A", "2026-03-02T11:00:00Z", "live", "greet", 5, 5, 1),  # 100
    ]})
    to_spark(con)
    query = Q(["quality_score"], with_counts=True)
    on_spark = run(spark, query)
    assert_same_frames(on_spark, run_duck(con, query))  # Spark NULL and DuckDB NaN treated alike
    assert_rows(on_spark, [dict(quality_score=100.0, evaluations=1)])  # Z2 only


@pytest.mark.skipif(not UK.exists(), reason=f"{UK} not available")
def test_uk_telecom_nps_on_spark(spark: Engine, warehouses: Warehouses) -> None:
    con, report = import_uk(warehouses, UK_MAPPING, "uk_spark")
    assert report.accepted == 2385
    to_spark(con)
    query = Q(["nps"], by=("nps_rating",), with_counts=True)
    on_spark = run(spark, query)
    assert_same_frames(on_spark, run_duck(con, query))
    total = run(spark, Q(["nps"], with_counts=True)).to_dict("records")[0]
    assert (total["nps_n"], total["promoters"], total["detractors"]) == (2353, 690, 1271)
    assert round(total["nps"], 2) == -24.69  # SOURCE.md
