"""The golden contact-KPI cases on Apache Spark: same data, same numbers as DuckDB.

Each case's data set is imported into a DuckDB warehouse through the real importer, then
its ``contacts`` table goes to Spark through Arrow *without* the ``next_inbound_at`` /
``next_same_reason_at`` columns, so Spark runs the portable FCR derivation
(``cxkpi.kpi.sources.with_next_inbound``). The result must equal DuckDB's (same rows,
values within 1e-9) and the hand-computed golden rows of ``kpi_golden.py``.

One local Spark session per test process (``spark_session()`` caches it); the data are tiny.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest

from cxkpi.kpi.sources import with_next_inbound
from cxkpi.warehouse.engines import Engine, spark_session
from kpi_golden import (  # noqa: F401
    CASES_BY_ID, CONTACT_KPIS, SPARK_MARKS, GoldenCase, Q, Warehouses, assert_rows, assert_same_frames, run,
    run_duck, spark, warehouses,
)

pytestmark = SPARK_MARKS

DERIVED = ("next_inbound_at", "next_same_reason_at")


def to_spark(con: duckdb.DuckDBPyConnection) -> None:
    """Register the warehouse's contacts as the Spark view ``contacts``, derived columns dropped."""
    cols = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'contacts'").fetchall()]
    keep = ", ".join(f'"{c}"' for c in cols if c not in DERIVED)
    arrow = con.sql(f"SELECT {keep} FROM contacts").to_arrow_table()
    spark_session().createDataFrame(arrow).createOrReplaceTempView("contacts")


SPARK_CASES = [
    "basics_by_channel",  # all 16 contact KPIs, nulls for empty groups
    "sl_met_within_t",
    "param_phone_t30",
    "p90_by_channel",  # linear p90 (46)
    "ratio_month",
    "fcr_by_channel",
    "fcr_same_reason",
    "fcr_window_1d",
    "fcr_filtered_day",
    "tz_spring_paris_day",  # 23-hour day
    "tz_autumn_paris_day",  # 25-hour day
    "tz_week_2026_w53_paris",
    "tz_quarter_paris",
    "extra_campaign",
]


def test_the_subset_runs_every_contact_kpi() -> None:
    covered = {k for cid in SPARK_CASES for k in CASES_BY_ID[cid].query.kpis}
    assert covered == set(CONTACT_KPIS)


@pytest.mark.parametrize("case_id", SPARK_CASES)
def test_golden_case_spark_equals_duckdb(case_id: str, spark: Engine, warehouses: Warehouses) -> None:
    case: GoldenCase = CASES_BY_ID[case_id]
    con = warehouses.load(case.dataset)
    to_spark(con)
    on_spark = run(spark, case.query)
    assert_same_frames(on_spark, run_duck(con, case.query))
    assert_rows(on_spark, case.expected)


def test_counts_identical_on_spark(spark: Engine, warehouses: Warehouses) -> None:
    con = warehouses.load("basics")
    to_spark(con)
    query = Q(CONTACT_KPIS, by=("channel",), with_counts=True)
    assert_same_frames(run(spark, query), run_duck(con, query))


def utc(ts: datetime | None) -> datetime | None:
    """Spark (session zone UTC) hands timestamps back naive: they are UTC wall-clock times."""
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def test_portable_next_inbound_on_spark_equals_materialized(spark: Engine, warehouses: Warehouses) -> None:
    con = warehouses.load("fcr")
    to_spark(con)
    t = spark.table("contacts")
    assert not set(DERIVED) & set(t.columns)
    out = with_next_inbound(spark, t).select("contact_id", *DERIVED).order_by("contact_id").to_pyarrow().to_pylist()
    got: list[tuple[Any, ...]] = [(r["contact_id"], utc(r["next_inbound_at"]), utc(r["next_same_reason_at"])) for r in out]
    want = con.execute(f"SELECT contact_id, {', '.join(DERIVED)} FROM contacts ORDER BY contact_id").fetchall()
    assert got == want
