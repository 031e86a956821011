"""Finance KPIs on DuckDB (SPEC §3): net_cash_flow (by date, no time zone), delinquency_rate and
delinquency_rate_balance (the period's latest loan snapshot, delinquency_days parameter).

Data and hand-computed expectations: ``kpi_golden_more.py`` (CASH, LOANS).
"""

from __future__ import annotations

from datetime import date

import pytest

from cxkpi.config import UserError
from cxkpi.kpi import Grain
from kpi_golden import THIRD_PARTY_WARNINGS, Q, assert_rows, run_duck
from kpi_golden_more import FINANCE_KPIS, Loaded, cases_of, loaded  # noqa: F401

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

CASES = cases_of("finance")
DELQ = ("delinquency_rate", "delinquency_rate_balance")


def test_the_golden_cases_cover_every_finance_kpi() -> None:
    assert {k for c in CASES for k in c.query.kpis} == set(FINANCE_KPIS)


def test_identical_cash_flows_are_both_imported(loaded: Loaded) -> None:
    con = loaded("cash")
    assert con.execute("SELECT count(*), count(DISTINCT cashflow_id) FROM cashflows").fetchone() == (6, 6)


def test_cash_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("cash"), Q(["net_cash_flow"], grain=Grain.MONTH, with_counts=True))
    assert [(r["period"], r["cash_in"], r["cash_out"]) for r in df.to_dict("records")] == [
        ("2026-03", 1200.0, 1700.0),  # in 1000 + 200; out 600 + 600 + 500
        ("2026-04", 50.0, 0.0),
    ]


def test_cash_dates_ignore_the_time_zone(loaded: Loaded) -> None:
    for tz in ("UTC", "Europe/Paris", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
        df = run_duck(loaded("cash"), Q(["net_cash_flow"], grain=Grain.DAY, tz=tz, start=date(2026, 3, 31), end=date(2026, 4, 1)))
        assert_rows(df, [dict(period="2026-03-31", net_cash_flow=200.0), dict(period="2026-04-01", net_cash_flow=50.0)])


def test_loan_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("loans"), Q(DELQ, grain=Grain.MONTH, with_counts=True))
    got = [(r["period"], r["loans_live"], r["loans_delinquent"], r["balance_live"], r["balance_delinquent"])
           for r in df.to_dict("records")]
    assert got == [
        ("2026-03", 5, 2, 4500.0, 2300.0),  # 03-31 only (the 03-15 snapshot is not the latest)
        ("2026-04", 2, 1, 2800.0, 1900.0),  # 04-30 only (L7 at 04-10 is not)
        ("2026-05", 0, 0, 0.0, 0.0),  # L1 with nothing outstanding
    ]


@pytest.mark.parametrize(("days", "rate"), [(1, 0.6), (89, 0.6), (90, 0.4), (91, 0.2), (200, 0.2), (201, 0.0)])
def test_delinquency_days_threshold_is_inclusive(days: int, rate: float, loaded: Loaded) -> None:
    # March live loans' days past due: L1 0, L2 90, L3 89, L5 200, L6 unknown (never delinquent)
    df = run_duck(loaded("loans"), Q(["delinquency_rate"], start=date(2026, 3, 1), end=date(2026, 3, 31),
                                     params={"delinquency_days": str(days)}))
    assert_rows(df, [dict(delinquency_rate=rate)])


@pytest.mark.parametrize(("kpis", "dim", "fragment"), [
    (["net_cash_flow"], "channel", "accepts: category, team"),
    (["delinquency_rate"], "customer_id", "accepts: none"),
    (["delinquency_rate_balance"], "segment", "accepts: none"),
])
def test_finance_kpis_refuse_other_dimensions(kpis: list[str], dim: str, fragment: str, loaded: Loaded) -> None:
    with pytest.raises(UserError, match=f"does not accept dimension '{dim}'.*{fragment}"):
        run_duck(loaded("loans"), Q(kpis, by=(dim,)))


def test_bad_delinquency_days_is_a_user_error(loaded: Loaded) -> None:
    with pytest.raises(UserError, match="delinquency_days"):
        run_duck(loaded("loans"), Q(["delinquency_rate"], params={"delinquency_days": "-1"}))
