"""Dimensions of the non-contact KPIs (SPEC §3 "Dimensions for --by"): every dimension a KPI
declares is accepted and yields one column of groups; any other column is refused with a clear
UserError naming what the KPI accepts (customer KPIs have no agent, agent-state KPIs no channel...).
"""

from __future__ import annotations

import pytest

from cxkpi.config import UserError
from cxkpi.kpi import KPIS, Grain
from kpi_golden import THIRD_PARTY_WARNINGS, Q, run_duck
from kpi_golden_more import (  # noqa: F401
    AGENT_KPIS, CASE_KPIS, CUSTOMER_KPIS, SURVEY_KPIS, Loaded, loaded,
)

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

# (data set, grain, KPIs): a grain every KPI of the group accepts
GROUPS = [
    ("repeat", Grain.ALL, ("repeat_contact_rate",)),
    ("cases", Grain.ALL, CASE_KPIS),
    ("agents", Grain.ALL, AGENT_KPIS),
    ("surveys", Grain.ALL, SURVEY_KPIS),
    ("quality", Grain.ALL, ("quality_score",)),
    ("coverage", Grain.WEEK, ("evaluation_coverage",)),
    ("customers", Grain.MONTH, CUSTOMER_KPIS),
    ("cash", Grain.ALL, ("net_cash_flow",)),
    ("loans", Grain.ALL, ("delinquency_rate", "delinquency_rate_balance")),
]
ACCEPTED = [(ds, grain, kpis, dim) for ds, grain, kpis in GROUPS for dim in KPIS[kpis[0]].dimensions]
# columns found in some table, none of them a dimension of every KPI
CANDIDATES = ("channel", "agent_id", "segment", "customer_id", "contact_id", "created_at", "state", "category", "mode")


def test_the_groups_share_their_dimensions() -> None:
    for _, _, kpis in GROUPS:
        assert len({KPIS[k].dimensions for k in kpis}) == 1, kpis


def test_spec_examples() -> None:
    assert KPIS["shrinkage"].dimensions == ("agent_id",)  # no channel for agent states
    assert "agent_id" not in KPIS["churn_rate"].dimensions  # customer KPIs have no agent
    assert KPIS["delinquency_rate"].dimensions == ()


@pytest.mark.parametrize(("dataset", "grain", "kpis", "dim"), ACCEPTED, ids=[f"{k[0]}-{d}" for _, _, k, d in ACCEPTED])
def test_declared_dimension_is_accepted(dataset: str, grain: Grain, kpis: tuple[str, ...], dim: str, loaded: Loaded) -> None:
    df = run_duck(loaded(dataset), Q(kpis, by=(dim,), grain=grain))
    assert list(df.columns)[:1] == [dim]
    assert not df.empty


REFUSED = [
    (name, ds, grain, next(c for c in CANDIDATES if c not in KPIS[name].dimensions))
    for ds, grain, kpis in GROUPS for name in kpis
]


@pytest.mark.parametrize(("kpi", "dataset", "grain", "dim"), REFUSED, ids=[f"{k}-{d}" for k, _, _, d in REFUSED])
def test_other_dimension_is_refused(kpi: str, dataset: str, grain: Grain, dim: str, loaded: Loaded) -> None:
    accepts = ", ".join(KPIS[kpi].dimensions) or "none"
    with pytest.raises(UserError) as err:
        run_duck(loaded(dataset), Q([kpi], by=(dim,), grain=grain))
    assert str(err.value) == f"KPI {kpi} does not accept dimension {dim!r} (accepts: {accepts})"


def test_shrinkage_by_channel_is_refused_even_with_contact_kpis(loaded: Loaded) -> None:
    with pytest.raises(UserError, match="KPI shrinkage does not accept dimension 'channel'"):
        run_duck(loaded("agents"), Q(["contacts_answered", "shrinkage"], by=("channel",)))
