"""Case KPIs on DuckDB (SPEC §3): backlog snapshots and aging buckets, resolution time
(mean, median, p90), once-and-done rate and contacts per case.

Data and hand-computed expectations: ``kpi_golden_more.py`` (CASES, CASES_TZ).
"""

from __future__ import annotations

from datetime import date

import pytest

from cxkpi.service.imports import import_file
from cxkpi.kpi import Grain
from kpi_golden import NA, THIRD_PARTY_WARNINGS, GoldenCase, Q, Warehouses, assert_rows, run_duck, warehouses  # noqa: F401
from kpi_golden_more import (  # noqa: F401
    BACKLOG, CASE_KPIS, RESOLUTION, Loaded, case_row, cases_of, load_more, loaded, write_rows,
)

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

CASES = cases_of("cases")


def test_the_golden_cases_cover_every_case_kpi() -> None:
    assert {k for c in CASES for k in c.query.kpis} == set(CASE_KPIS)


def test_buckets_partition_the_backlog(loaded: Loaded) -> None:
    df = run_duck(loaded("cases"), Q(BACKLOG, grain=Grain.DAY, start=date(2026, 3, 1), end=date(2026, 3, 12)))
    assert df["period"].tolist() == [f"2026-03-{d:02d}" for d in range(1, 13)]  # a case is open at every day's end
    buckets = df[["backlog_aged_lt_1d", "backlog_aged_1_3d", "backlog_aged_3_7d", "backlog_aged_gt_7d"]].sum(axis=1)
    assert buckets.tolist() == df["backlog_open"].tolist()
    # end of 03-01 (03-02T00:00Z): k6 only (k9 opens exactly at that instant: open too, age 0)
    assert df["backlog_open"].tolist()[:2] == [2, 2]  # 03-01: k6 1 d + k9 0; 03-02: k6 2 d + k9 1 d


def test_backlog_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("cases"), Q(BACKLOG, grain=Grain.DAY, start=date(2026, 3, 10), end=date(2026, 3, 10), with_counts=True))
    row = df.to_dict("records")[0]
    assert {k: row[k] for k in ("backlog", "backlog_lt_1d", "backlog_1_3d", "backlog_3_7d", "backlog_gt_7d")} == {
        "backlog": 7, "backlog_lt_1d": 3, "backlog_1_3d": 2, "backlog_3_7d": 1, "backlog_gt_7d": 1,
    }
    assert row["backlog_age_sum_s"] == pytest.approx(1231199.0)  # see backlog_one_day


def test_resolution_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("cases"), Q(RESOLUTION, grain=Grain.DAY, with_counts=True))
    got = {r["period"]: (r["cases_closed"], r["resolution_sum_s"], r["cases_one_contact"], r["case_contacts"])
           for r in df.to_dict("records")}
    assert got == {
        "2026-03-05": (1, 259200.0, 1, 1),  # k9
        "2026-03-11": (2, 1015201.0, 1, 1),  # k6 864000 (1 contact) + k7 151201 (none)
        "2026-03-12": (4, 1700.0, 1, 6),  # r1-r4; contacts 1 + 2 + 0 + 3
    }


def test_a_contact_of_a_case_counts_whatever_its_date_or_direction(warehouses: Warehouses) -> None:
    """Contacts link to a case by case_id only: dates and directions do not matter."""
    con = load_more(warehouses, "cases")
    # r2's outbound contact x5 counts: r2 has 2 contacts, so r1 is the only once-and-done case of email
    df = run_duck(con, Q(["once_and_done_rate", "contacts_per_case"], by=("channel",), start=date(2026, 3, 12), end=date(2026, 3, 12)))
    assert_rows(df, [dict(channel="email", once_and_done_rate=0.5, contacts_per_case=1.5),
                     dict(channel="phone", once_and_done_rate=0.0, contacts_per_case=1.5)])


def test_an_open_case_is_not_in_resolution_kpis(warehouses: Warehouses) -> None:
    con = load_more(warehouses, "cases_tz")  # t1 t2 t5 never closed
    df = run_duck(con, Q(RESOLUTION, with_counts=True))
    assert_rows(df, [dict(cases_closed=2, resolution_time=210600.0,
                          once_and_done_rate=0.0,  # no contacts table rows at all: 0 contacts each
                          contacts_per_case=0.0)])


def test_extra_case_column_is_a_dimension(warehouses: Warehouses) -> None:
    con = warehouses.new("extra_cases")
    rows = [
        case_row("e1", "2026-03-02T08:00:00Z", region="north"),
        case_row("e2", "2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z", region="north"),
        case_row("e3", "2026-03-02T10:00:00Z", region="south"),
    ]
    assert import_file(con, "cases", write_rows(warehouses.folder / "in" / "extra_cases.csv", rows)).rejected == 0
    df = run_duck(con, Q(["backlog_open", "resolution_time"], by=("region",)))
    # snapshot at the end of 03-02: e1 (north), e3 (south); e2 resolved in 1800 s
    assert_rows(df, [dict(region="north", backlog_open=1, resolution_time=1800.0),
                     dict(region="south", backlog_open=1, resolution_time=NA)])
