"""The whole KPI catalogue agrees across engines on a demo warehouse.

The golden cases (``test_kpi_golden.py``) pin each formula on tiny hand-made data; this test
runs every KPI of the catalogue, by month, over a year of demo data: on DuckDB (its daily
rollups included) and on Spark over the warehouse exported as Parquet (``cxkpi export``),
with the warehouse's reporting zone and business-hours calendar, as ``cxkpi kpi`` does.
Every value must be equal (relative tolerance 1e-9), nulls included.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cxkpi.kpi import Grain, KpiQuery, compute
from cxkpi.kpi.calendar import parse_calendar
from cxkpi.kpi.catalogue import KPIS
from cxkpi.schema import TABLES
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.engines import duckdb_engine, spark_engine
from cxkpi.warehouse.inspect import config_value, export_parquet
from kpi_golden import SPARK_MARKS, is_na

pytestmark = [pytest.mark.slow, *SPARK_MARKS]


def differences(a: pd.DataFrame, b: pd.DataFrame, tol: float = 1e-9) -> list[str]:
    """``period kpi: a vs b`` for every value that differs (a null differs from any number)."""
    out: list[str] = []
    for k in KPIS:
        for period in sorted(set(a.index) | set(b.index)):
            u = a[k].get(period) if period in a.index else None
            v = b[k].get(period) if period in b.index else None
            if is_na(u) and is_na(v):
                continue
            if is_na(u) or is_na(v) or not math.isclose(float(u), float(v), rel_tol=tol, abs_tol=tol):
                out.append(f"{period} {k}: {u!r} vs {v!r}")
    return out


def test_whole_catalogue_by_month_agrees_on_duckdb_and_spark(web_warehouse: Any, spark_local: Any, tmp_path: Path) -> None:
    # the web tests' demo warehouse (seed 7, scale 0.03), opened as the server opens it
    con = open_warehouse(web_warehouse.path)
    try:
        folder = tmp_path / "parquet"
        export_parquet(con, str(folder), list(TABLES))
        tz = config_value(con, "reporting_tz") or "UTC"
        text = config_value(con, "calendar")
        assert text, "the demo stores a business-hours calendar"
        query = KpiQuery(kpis=tuple(KPIS), grain=Grain.MONTH, tz=tz, calendar=parse_calendar(text, tz, "warehouse calendar"))
        on_duckdb = compute(duckdb_engine(con), query).set_index("period")
    finally:
        con.close()
    on_spark = compute(spark_engine("local[1]", folder), query).set_index("period")

    assert list(on_spark.index) == list(on_duckdb.index)
    assert len(on_duckdb) >= 12  # a year of months
    values = on_duckdb.size
    assert on_duckdb.notna().sum().sum() > 0.8 * values  # not an agreement of nulls
    diff = differences(on_duckdb, on_spark)
    assert not diff, f"{len(diff)} of {values} values differ (DuckDB vs Spark):\n" + "\n".join(diff[:40])
