"""Customer KPIs on DuckDB (SPEC §3): repeat_contact_rate (contacts), churn_rate,
retention_rate, engagement_rate (a customer snapshot per period) and clv (monthly margin /
pooled monthly churn).

Data and hand-computed expectations: ``kpi_golden_more.py`` (REPEAT, CUSTOMERS, CUSTOMERS_EDGE).
"""

from __future__ import annotations

from datetime import date

import pytest

from cxkpi.config import UserError
from cxkpi.kpi import Grain
from kpi_golden import THIRD_PARTY_WARNINGS, Q, assert_rows, run_duck
from kpi_golden_more import CUSTOMER_KPIS, Loaded, cases_of, loaded  # noqa: F401

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

CASES = [*cases_of("repeat"), *cases_of("customers")]
Q1 = dict(start=date(2026, 1, 1), end=date(2026, 3, 31))


def test_the_golden_cases_cover_every_customer_kpi() -> None:
    assert {k for c in CASES for k in c.query.kpis} - {"contacts_offered"} == {"repeat_contact_rate", *CUSTOMER_KPIS}


def test_repeat_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("repeat"), Q(["repeat_contact_rate"], grain=Grain.DAY, with_counts=True))
    assert [(r["period"], r["customers_in_contact"], r["customers_repeating"]) for r in df.to_dict("records")] == [
        ("2026-03-02", 4, 3), ("2026-03-04", 1, 0),
    ]


def test_customer_snapshot_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("customers"), Q(["churn_rate", "retention_rate", "engagement_rate"], grain=Grain.MONTH,
                                         with_counts=True, **Q1))
    got = [(r["period"], r["active_at_start"], r["churned"], r["retained"], r["active_customers"], r["engaged_customers"])
           for r in df.to_dict("records")]
    assert got == [  # see the CUSTOMERS table in kpi_golden_more.py
        ("2026-01", 3, 0, 3, 4, 1),
        ("2026-02", 5, 1, 4, 5, 1),
        ("2026-03", 4, 1, 3, 4, 2),
    ]


def test_clv_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("customers"), Q(["clv"], grain=Grain.QUARTER, with_counts=True, **Q1))
    row = df.to_dict("records")[0]
    assert (row["margin_sum"], row["customer_months"], row["month_churned"], row["month_active_at_start"]) == (415.0, 9, 2, 12)


def test_churn_and_retention_add_up_to_one(loaded: Loaded) -> None:
    df = run_duck(loaded("customers"), Q(["churn_rate", "retention_rate"], grain=Grain.DAY,
                                         start=date(2026, 1, 1), end=date(2026, 3, 31)))
    assert len(df) == 90  # a snapshot for every day of the range
    assert all(abs(c + r - 1) < 1e-12 for c, r in zip(df["churn_rate"], df["retention_rate"]))
    churn_days = df[df["churn_rate"] > 0]["period"].tolist()
    assert churn_days == ["2026-02-10", "2026-03-31"]  # u2 at 12:00, u5 at 23:59:59


@pytest.mark.parametrize(("grain", "start", "end", "periods"), [
    (Grain.MONTH, date(2026, 1, 1), date(2026, 2, 28), ["2026-01", "2026-02"]),
    (Grain.DAY, date(2026, 1, 31), date(2026, 2, 1), ["2026-01-31", "2026-02-01"]),
])
def test_a_churn_at_midnight_is_counted_once_in_its_period(grain: Grain, start: date, end: date, periods: list[str],
                                                           loaded: Loaded) -> None:
    """v1 churned_at 2026-02-01T00:00:00Z (a date-only churn date): SPEC §3 counts it in the period its
    churned_at falls in, February 1st / February, and in no other; in January v1 is still retained
    (active up to the end of January). The denominator at the boundary instant is left unspecified here."""
    df = run_duck(loaded("customers_edge"), Q(["churn_rate", "retention_rate"], grain=grain, start=start, end=end,
                                              with_counts=True))
    assert df["period"].tolist() == periods
    assert df["churned"].tolist() == [0, 1]
    assert_rows(df.iloc[:1], [dict(active_at_start=2, churn_rate=0.0, retention_rate=1.0)])


def test_customer_kpis_without_contacts_use_their_own_span(loaded: Loaded) -> None:
    """A snapshot's default range is the contacts' span, else the table's own times: a
    warehouse with customers only still has a period to look at; --from/--to choose another."""
    con = loaded("customers_edge")
    assert len(run_duck(con, Q(["churn_rate"]))) == 1
    assert_rows(run_duck(con, Q(["churn_rate", "retention_rate"], start=date(2026, 1, 1), end=date(2026, 1, 31))),
                [dict(churn_rate=0.0, retention_rate=1.0)])


@pytest.mark.parametrize("grain", [Grain.DAY, Grain.WEEK])
def test_clv_refuses_a_grain_finer_than_a_month(grain: Grain, loaded: Loaded) -> None:
    with pytest.raises(UserError, match="clv needs a grain of month or coarser"):
        run_duck(loaded("customers"), Q(["clv"], grain=grain))


@pytest.mark.parametrize(("kpi", "dim"), [("churn_rate", "channel"), ("retention_rate", "agent_id"),
                                          ("engagement_rate", "team"), ("clv", "customer_id")])
def test_customer_kpis_refuse_other_dimensions(kpi: str, dim: str, loaded: Loaded) -> None:
    with pytest.raises(UserError, match=f"does not accept dimension '{dim}'.*accepts: segment"):
        run_duck(loaded("customers"), Q([kpi], by=(dim,), grain=Grain.MONTH))


def test_repeat_contact_rate_refuses_a_customer_dimension(loaded: Loaded) -> None:
    with pytest.raises(UserError, match="does not accept dimension 'customer_id'"):
        run_duck(loaded("repeat"), Q(["repeat_contact_rate"], by=("customer_id",)))


def test_engagement_of_a_customer_without_contact_is_zero_not_null(loaded: Loaded) -> None:
    # pro customers u4 u5 are active in Q1 with no inbound contact: 0 / 2, a true zero
    df = run_duck(loaded("customers"), Q(["engagement_rate"], by=("segment",), **Q1))
    assert_rows(df, [dict(segment="pro", engagement_rate=0.0), dict(segment="retail", engagement_rate=1.0)])
