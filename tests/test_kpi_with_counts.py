"""``with_counts`` for every non-contact KPI: the columns shown are exactly the measures the KPI is
computed from, and every KPI value is re-derived from them by SPEC §3's formula (written
independently in ``kpi_golden_more.REDERIVE``), on every golden case of ``kpi_golden_more.py``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from cxkpi.kpi import KPIS, MEASURES, Grain
from kpi_golden import THIRD_PARTY_WARNINGS, GoldenCase, run_duck, same_value
from kpi_golden_more import CASES_MORE, MORE_KPIS, REDERIVE, Loaded, loaded  # noqa: F401

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]


def test_every_non_contact_kpi_is_in_a_golden_case() -> None:
    assert {k for c in CASES_MORE for k in c.query.kpis} >= set(MORE_KPIS)
    assert set(MORE_KPIS) <= set(KPIS)


@pytest.mark.parametrize("case", CASES_MORE, ids=[c.id for c in CASES_MORE])
def test_with_counts_re_derives_every_value(case: GoldenCase, loaded: Loaded) -> None:
    query = replace(case.query, with_counts=True)
    df = run_duck(loaded(case.dataset), query)
    wanted = {m for k in query.kpis for m in KPIS[k].measures}
    measures = [m for m in MEASURES if m in wanted]
    period = [] if query.grain is Grain.ALL else ["period"]
    assert list(df.columns) == [*query.by, *period, *query.kpis, *measures]
    assert len(df) == len(case.expected)
    for row in df.to_dict("records"):
        for k in query.kpis:
            if k in REDERIVE:
                want = REDERIVE[k](row)
                assert same_value(row[k], want), f"{k}: {row[k]!r} vs {want!r} from {row}"
