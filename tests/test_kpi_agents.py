"""Workforce and behavioural-quality KPIs on DuckDB (SPEC §3): occupancy, shrinkage,
contacts per hour (agent_states), quality score and evaluation coverage (evaluations).

Data and hand-computed expectations: ``kpi_golden_more.py`` (AGENT_STATES, QUALITY, COVERAGE).
"""

from __future__ import annotations

from datetime import date

import pytest

from cxkpi.config import UserError
from cxkpi.kpi import Grain
from kpi_golden import THIRD_PARTY_WARNINGS, GoldenCase, Q, Warehouses, assert_rows, run_duck, warehouses  # noqa: F401
from kpi_golden_more import (  # noqa: F401
    AGENT_KPIS, PARIS, QUALITY_KPIS, Loaded, cases_of, ev, load_tables, loaded, state,
)

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

CASES = [*cases_of("agents"), *cases_of("quality")]


def test_the_golden_cases_cover_every_agent_and_quality_kpi() -> None:
    assert {k for c in CASES for k in c.query.kpis} == {*AGENT_KPIS, *QUALITY_KPIS}


def test_state_seconds_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("agents"), Q(AGENT_KPIS, by=("agent_id",), with_counts=True))
    got = {r["agent_id"]: (r["busy_s"], r["productive_s"], r["shrink_s"], r["present_s"]) for r in df.to_dict("records")}
    assert got["X"] == (12600.0, 16200.0, 9000.0, 25200.0)
    assert got["Y"] == (3600.0, 10800.0, 0.0, 10800.0)
    assert got["Z"] == (0.0, 0.0, 28800.0, 28800.0)
    assert [float(v) for v in df["answered"].dropna()] == [2.0, 4.0, 6.0]  # W X Y (Z answered nothing)


@pytest.mark.parametrize(
    ("kpis", "dim"),
    [(["shrinkage"], "channel"), (["occupancy"], "team"), (["contacts_per_hour"], "channel"), (["occupancy"], "state")],
)
def test_agent_state_kpis_refuse_other_dimensions(kpis: list[str], dim: str, loaded: Loaded) -> None:
    with pytest.raises(UserError, match=f"does not accept dimension '{dim}'.*accepts: agent_id"):
        run_duck(loaded("agents"), Q(kpis, by=(dim,)))


def test_contacts_per_hour_is_zero_with_hours_and_no_answered_contact(loaded: Loaded) -> None:
    # Paris 03-03: X's 2 h of handling (23:00Z -> 01:00Z starts at 00:00 CET) and no contact created that
    # day: 0 answered / 2 h = 0 (SPEC §3: answered contacts / hours; the denominator is 2 h, not empty).
    # The contacts source has no row for that day, so the KPI must not read a missing count as "no data".
    df = run_duck(loaded("agents"), Q(["contacts_per_hour"], grain=Grain.DAY, tz=PARIS))
    assert_rows(df, [dict(period="2026-03-02", contacts_per_hour=24 / 11),  # 12 / 5.5 h
                     dict(period="2026-03-03", contacts_per_hour=0.0)])


def test_a_state_interval_counts_in_the_period_where_it_starts(warehouses: Warehouses) -> None:
    con = load_tables(warehouses, "agents_week_edge", {"agent_states": [
        # Sunday 2026-03-08 23:00 UTC -> Monday 01:00 (2026-W10 in UTC, 2026-W11 in Paris: Monday 00:00 CET)
        state("Q", "handling", "2026-03-08T23:00:00Z", "2026-03-09T01:00:00Z"),
        state("Q", "available", "2026-03-09T08:00:00Z", "2026-03-09T10:00:00Z"),  # W11 everywhere
    ]})
    assert_rows(run_duck(con, Q(["occupancy"], grain=Grain.WEEK)),
                [dict(period="2026-W10", occupancy=1.0),  # 7200 / 7200
                 dict(period="2026-W11", occupancy=0.0)])  # 0 / 7200
    assert_rows(run_duck(con, Q(["occupancy"], grain=Grain.WEEK, tz=PARIS)),
                [dict(period="2026-W11", occupancy=0.5)])  # 7200 / 14400


# --------------------------------------------------------------------------- quality


def test_quality_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("quality"), Q(["quality_score"], by=("agent_id",), with_counts=True))
    assert [(r["agent_id"], r["evaluations"], r["quality_sum"]) for r in df.to_dict("records")] == [
        ("A", 3, pytest.approx(157.5)),  # 77.5 + 80 + 0: evaluations, not criterion rows (6)
        ("B", 1, pytest.approx(75.0)),
    ]


def test_an_evaluation_without_weight_does_not_blank_the_group(warehouses: Warehouses) -> None:
    """An evaluation whose weights are all 0 (weight 0 is allowed at import) has no score: it is left
    out of the mean, and neither blanks the group (a 0/0 NaN in the sum) nor counts as an evaluation."""
    con = load_tables(warehouses, "zero_weight", {"evaluations": [
        ev("Z1", "A", "2026-03-02T10:00:00Z", "cold", "info", 3, 5, 0),  # Σ weight = 0: no score
        ev("Z2", "A", "2026-03-02T11:00:00Z", "live", "greet", 5, 5, 1),  # 100
    ]})
    # mean over the evaluations that have a score (SPEC §3): Z2 only
    assert_rows(run_duck(con, Q(["quality_score"], with_counts=True)), [dict(quality_score=100.0, evaluations=1)])


def test_coverage_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("coverage"), Q(["evaluation_coverage"], grain=Grain.WEEK, with_counts=True))
    assert [(r["period"], r["agent_weeks"], r["agent_weeks_covered"]) for r in df.to_dict("records")] == [
        ("2026-W10", 2, 1), ("2026-W11", 3, 1),
    ]


@pytest.mark.parametrize("grain", [Grain.DAY])
def test_coverage_refuses_a_grain_finer_than_a_week(grain: Grain, loaded: Loaded) -> None:
    with pytest.raises(UserError, match="evaluation_coverage needs a grain of week or coarser"):
        run_duck(loaded("coverage"), Q(["evaluation_coverage"], grain=grain))


@pytest.mark.parametrize("grain", [Grain.WEEK, Grain.MONTH, Grain.QUARTER, Grain.YEAR, Grain.ALL])
def test_coverage_accepts_a_week_or_coarser(grain: Grain, loaded: Loaded) -> None:
    df = run_duck(loaded("coverage"), Q(["evaluation_coverage"], grain=grain, with_counts=True))
    assert df["agent_weeks"].sum() == 5 and df["agent_weeks_covered"].sum() == 2  # the same 5 pairs, 2 covered


@pytest.mark.parametrize(("kpis", "dim"), [(["quality_score"], "channel"), (["evaluation_coverage"], "mode"),
                                           (["evaluation_coverage"], "team")])
def test_quality_kpis_refuse_other_dimensions(kpis: list[str], dim: str, loaded: Loaded) -> None:
    with pytest.raises(UserError, match=f"does not accept dimension '{dim}'"):
        run_duck(loaded("coverage"), Q(kpis, by=(dim,), grain=Grain.WEEK))


def test_quality_range_is_by_evaluated_at(loaded: Loaded) -> None:
    df = run_duck(loaded("quality"), Q(["quality_score"], start=date(2026, 3, 3), end=date(2026, 3, 4)))
    assert_rows(df, [dict(quality_score=40.0)])  # E2 80, E3 0
