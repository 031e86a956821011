"""The KPI formulas, column-wise: hand-computed values per formula kind, nulls included.

``compute_column`` is how the engine turns a frame of measures (one row per group) into KPI
values, so each kind of formula of the catalogue (ratio, value, service level and its abandon
rules, flag rates, NPS, contacts per hour, CLV, net cash flow) is checked here on groups whose
answers were worked out by hand: zero denominators, measures missing from a group or from the
frame, groups where every measure is null.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxkpi.kpi import KPIS, Unit
from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.model import compute_column, ratio

N = None  # a null measure: no row of its source in the group
MODES = ("against", "ignored", "met_within_t")
RATES = sorted(name for name, k in KPIS.items() if k.unit is Unit.RATE)


def _frame(columns: dict[str, list[Any]], style: str = "nullable") -> pd.DataFrame:
    """Measures as the engine's frame holds them: ``nullable`` has Int64 counts and Float64
    sums; ``numpy`` has float64 columns with NaN for null (as a plain aggregation returns)."""
    if style == "numpy":
        return pd.DataFrame({k: np.array([np.nan if v is None else v for v in vs], dtype="float64") for k, vs in columns.items()})
    whole = {k: all(v is None or float(v).is_integer() for v in vs) for k, vs in columns.items()}
    return pd.DataFrame({k: pd.array(vs, dtype="Int64" if whole[k] else "Float64") for k, vs in columns.items()})


def _values(name: str, frame: pd.DataFrame, **params: Any) -> list[float | None]:
    """The KPI's values for every group of ``frame``, one per row, index kept; null as None."""
    out = compute_column(KPIS[name], frame, kpi_params.resolve(params))
    assert isinstance(out, pd.Series)
    assert out.index.equals(frame.index)
    return [None if pd.isna(v) else float(v) for v in out]


def _assert_values(got: list[float | None], want: list[float | None]) -> None:
    assert [g is None for g in got] == [w is None for w in want], f"nulls differ: {got} vs {want}"
    for g, w in zip(got, want, strict=True):
        if w is not None:
            assert g == pytest.approx(w, rel=1e-12, abs=1e-12), f"{got} vs {want}"


# (id, KPI, params, measure columns, expected per row). Every expected number is worked out
# by hand in the comment beside it.
GOLDEN: list[tuple[str, str, dict[str, Any], dict[str, list[Any]], list[float | None]]] = [
    ("ratio", "answer_rate", {}, {
        "answered": [8, 0, 3, N, 5, N, 0],
        "offered": [10, 4, 0, 7, N, N, 0],
    }, [0.8, 0.0, N, N, N, N, N]),  # 8/10; 0/4; /0; numerator missing; denominator missing; all null; 0/0
    ("ratio_not_a_rate", "contacts_per_case", {}, {
        "case_contacts": [7, 3, 5],
        "cases_closed": [4, 0, 1],
    }, [1.75, N, 5.0]),  # 7/4; /0; 5/1
    ("ratio_of_sums", "sentiment", {}, {
        "sentiment_sum": [-1.5, 0.25, 0.0],
        "sentiment_n": [3, 1, 2],
    }, [-0.5, 0.25, 0.0]),  # negative sums divide like any other
    ("ratio_numerator_column_missing", "answer_rate", {}, {
        "offered": [10, 0, N],
    }, [N, N, N]),
    ("ratio_denominator_column_missing", "answer_rate", {}, {
        "answered": [3, 0, N],
    }, [N, N, N]),
    ("value", "backlog_open", {}, {
        "backlog": [12, 0, N],
    }, [12.0, 0.0, N]),  # the measure itself; 0 stays 0
    ("value_quantile", "wait_p90", {}, {
        "wait_p90_s": [37.5, N],
        "wait_n": [9, 0],
    }, [37.5, N]),
    ("value_column_missing", "wait_p90", {}, {
        "wait_n": [9, 0],
    }, [N, N]),  # the quantile's column absent: null even where answered waits were counted
    # service level: rows (answered_in_t, offered, answered, abandoned_in_t)
    #   a: 6, 10, 8, 1   b: 0, 5, 0, 2   c: 3, 4, 4, null   d: null, 3, null, 1
    #   e: 0, 0, 0, 0    f: all null     g: 2, null, 2, 0
    *(
        (f"service_level_{mode}", kpi, {"service_level_abandons": mode}, {
            f"answered_in_t{suffix}": [6, 0, 3, N, 0, N, 2],
            f"offered{suffix}": [10, 5, 4, 3, 0, N, N],
            f"answered{suffix}": [8, 0, 4, N, 0, N, 2],
            f"abandoned_in_t{suffix}": [1, 2, N, 1, 0, N, 0],
        }, want)
        for kpi, suffix in (("service_level", ""), ("service_level_open", "_open"))
        for mode, want in (
            # met / offered: 6/10; 0/5; 3/4; met missing; /0; all null; offered missing
            ("against", [0.6, 0.0, 0.75, N, N, N, N]),
            # met / answered: 6/8; /0; 3/4; met missing; /0; all null; 2/2
            ("ignored", [0.75, N, 0.75, N, N, N, 1.0]),
            # (met + abandoned within T) / offered: 7/10; 2/5; (3 + 0)/4; met missing (the
            # abandon alone is not 1/3); /0; all null; offered missing
            ("met_within_t", [0.7, 0.4, 0.75, N, N, N, N]),
        )
    ),
    ("service_level_met_within_t_abandons_column_missing", "service_level", {"service_level_abandons": "met_within_t"}, {
        "answered_in_t": [3, 0],
        "offered": [6, 2],
        "answered": [5, 1],
    }, [0.5, 0.0]),  # no abandon counted: 3/6, 0/2
    # flag rates: flag / answered, null where no answered contact carries the flag (known 0)
    *(
        (f"flag_rate_{kpi}", kpi, {}, {
            flag: [2, 0, 0, 1, N, 1, 0, N],
            "answered": [10, 10, 10, 0, 5, 5, 0, N],
            known: [10, 0, 4, 0, 5, N, 3, N],
        }, [0.2, N, 0.0, N, N, N, N, N])  # 2/10; known 0; 0/10 with the flag known; known 0;
        # flag missing; known missing; answered 0 (known > 0 but nothing to divide by); all null
        for kpi, flag, known in (("transfer_rate", "transferred", "transfer_known"),
                                 ("conversion_rate", "converted", "conversion_known"))
    ),
    ("flag_rate_known_column_missing", "transfer_rate", {}, {
        "transferred": [2, 0],
        "answered": [10, 10],
    }, [N, N]),
    ("nps", "nps", {}, {
        "promoters": [5, 0, N, 3, 0, 2, N, 1],
        "detractors": [2, 4, 1, N, 0, 1, N, 1],
        "nps_n": [10, 4, 4, 4, 0, N, N, 2],
    }, [30.0, -100.0, -25.0, 75.0, N, N, N, 0.0]),
    # 100 × (5 − 2)/10; 100 × (0 − 4)/4; promoters missing count 0: 100 × (0 − 1)/4;
    # detractors missing: 100 × 3/4; no response; responses missing; all null; 100 × 0/2
    ("nps_only_responses", "nps", {}, {
        "nps_n": [4, 0],
    }, [0.0, N]),  # neither promoters nor detractors: 0 points
    ("contacts_per_hour", "contacts_per_hour", {}, {
        "answered": [10, 0, N, 4, 4, N, 3],
        "productive_s": [7200.0, 3600.0, 1800.0, 0.0, N, N, 5400.0],
    }, [5.0, 0.0, 0.0, N, N, N, 2.0]),
    # 10 / 2 h; hours logged with 0 answered: 0; answered missing: 0; no time; time missing;
    # all null; 3 / 1.5 h
    ("contacts_per_hour_answered_column_missing", "contacts_per_hour", {}, {
        "productive_s": [3600.0, 0.0],
    }, [0.0, N]),
    # CLV: (margin / customer-months) / (churned / active at month start)
    ("clv", "clv", {}, {
        "margin_sum": [1200.0, -300.0, 1200.0, 1200.0, 1200.0, N, 0.0, N, 1200.0, 1200.0, 1200.0],
        "customer_months": [60, 30, 60, 0, 60, 60, 60, N, N, 60, 60],
        "month_churned": [2, 3, 0, 2, 2, 2, 2, N, 2, N, 2],
        "month_active_at_start": [40, 30, 40, 40, 0, 40, 40, N, 40, 40, N],
    }, [400.0, -100.0, N, N, N, N, 0.0, N, N, N, N]),
    # (1200/60)/(2/40) = 20/0.05; (−300/30)/(3/30) = −10/0.1; no churn; no customer-month;
    # nobody at risk; margin missing; margin 0 → 0; all null; months missing; churned missing;
    # at risk missing
    ("net_cash_flow", "net_cash_flow", {}, {
        "cash_in": [1200.0, 50.0, N, 50.0, N, 0.0],
        "cash_out": [1700.0, N, 300.0, 0.0, N, 0.0],
    }, [-500.0, 50.0, -300.0, 50.0, N, 0.0]),
    # 1200 − 1700; only inflows: 50; only outflows: −300; 50 − 0; no cash flow at all; 0 − 0
    ("net_cash_flow_inflows_only", "net_cash_flow", {}, {
        "cash_in": [1200.0, 0.0, N],
    }, [1200.0, 0.0, N]),  # no cash_out column at all: the inflows; a group without any: null
]


@pytest.mark.parametrize("style", ["nullable", "numpy"])
@pytest.mark.parametrize(("name", "params", "columns", "want"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_golden_values(
    name: str, params: dict[str, Any], columns: dict[str, list[Any]], want: list[float | None], style: str
) -> None:
    assert set(columns) <= set(KPIS[name].measures), "a golden case names a measure its KPI does not read"
    _assert_values(_values(name, _frame(columns, style), **params), want)


def _kind(name: str) -> str:
    """The catalogue function a KPI's formula comes from (``ratio`` for ``ratio(...)``'s)."""
    return str(KPIS[name].formula_of.__qualname__.split(".")[0])


def test_golden_cases_cover_every_formula_kind() -> None:
    """A new kind of formula, or one left without a hand-computed case, fails here."""
    kinds = {_kind(name) for name in KPIS}
    assert kinds == {"ratio", "value", "_service_level_of", "_flag_rate", "_nps", "_per_hour", "_clv", "_net_cash_flow"}
    assert {_kind(name) for _, name, *_ in GOLDEN} == kinds


def test_ratio_scale_multiplies_before_dividing() -> None:
    frame = _frame({"a": [1, 2, N], "b": [3, 0, 4]})
    got = [None if pd.isna(v) else float(v) for v in ratio("a", "b", scale=100.0)(frame, {})]
    _assert_values(got, [100.0 / 3, N, N])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(KPIS))
def test_every_kpi_is_null_where_the_group_has_no_measure(name: str, mode: str) -> None:
    """A group with every measure null, or a frame without the KPI's measure columns at all,
    gives null, never 0: the group has no row to compute from. The frame's index is kept."""
    kpi = KPIS[name]
    index = pd.Index(["x", "y"], name="team")
    all_null = _frame({m: [N, N] for m in kpi.measures}).set_axis(index)
    assert _values(name, all_null, service_level_abandons=mode) == [N, N]
    other = pd.DataFrame({"unrelated": pd.array([1, 2], dtype="Int64")}, index=index)
    assert _values(name, other, service_level_abandons=mode) == [N, N]


@pytest.mark.parametrize("name", sorted(KPIS))
def test_every_kpi_gives_nothing_for_no_group(name: str) -> None:
    assert _values(name, _frame({m: [] for m in KPIS[name].measures})) == []


# --- a property of every rate: within [0, 1] or null ------------------------------------

def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), value)


@st.composite
def _ratio_row(draw: st.DrawFn, num: str, den: str) -> dict[str, Any]:
    """A numerator at most its denominator: whole counts, or sums of seconds or balances."""
    if draw(st.booleans()):
        d: float = draw(st.integers(0, 10_000))
        n: float = draw(st.integers(0, int(d)))
    else:
        d = draw(st.floats(0, 1e9))
        n = d * draw(st.floats(0, 1))  # ≤ d: rounding is monotonic and d × 1 = d
    return {num: draw(_maybe(st.just(n))), den: draw(_maybe(st.just(d)))}


@st.composite
def _service_level_row(draw: st.DrawFn, suffix: str) -> dict[str, Any]:
    """answered within T ≤ answered ≤ offered, and abandons within T ≤ offered − answered."""
    offered = draw(st.integers(0, 1000))
    answered = draw(st.integers(0, offered))
    in_t = draw(st.integers(0, answered))
    abandoned_in_t = draw(st.integers(0, offered - answered))
    counts = {"answered_in_t": in_t, "offered": offered, "answered": answered, "abandoned_in_t": abandoned_in_t}
    return {f"{k}{suffix}": draw(_maybe(st.just(v))) for k, v in counts.items()}


@st.composite
def _flag_row(draw: st.DrawFn, flag: str, known: str) -> dict[str, Any]:
    """flag ≤ known ≤ answered: a contact carries the flag only if it is known."""
    answered = draw(st.integers(0, 1000))
    k = draw(st.integers(0, answered))
    f = draw(st.integers(0, k))
    return {flag: draw(_maybe(st.just(f))), "answered": draw(_maybe(st.just(answered))), known: draw(_maybe(st.just(k)))}


def _rows_of(name: str) -> st.SearchStrategy[dict[str, Any]]:
    if name in ("service_level", "service_level_open"):
        return _service_level_row("" if name == "service_level" else "_open")
    if name == "transfer_rate":
        return _flag_row("transferred", "transfer_known")
    if name == "conversion_rate":
        return _flag_row("converted", "conversion_known")
    measures = KPIS[name].measures
    assert len(measures) == 2, f"{name}: a rate that is not (numerator, denominator) needs its own strategy here"
    return _ratio_row(*measures)


def test_the_rate_property_sees_rates() -> None:
    assert {"answer_rate", "service_level", "service_level_open", "transfer_rate", "churn_rate", "csat"} <= set(RATES)


@pytest.mark.parametrize("name", RATES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_rate_is_within_0_and_1_or_null(name: str, data: st.DataObject) -> None:
    kpi = KPIS[name]
    rows = data.draw(st.lists(_rows_of(name), min_size=1, max_size=8))
    assert set(rows[0]) == set(kpi.measures)
    frame = pd.DataFrame(rows, columns=list(kpi.measures)).astype("Float64")
    mode = data.draw(st.sampled_from(MODES))
    for v in _values(name, frame, service_level_abandons=mode):
        assert v is None or (0.0 <= v <= 1.0 and not math.isnan(v)), f"{name} ({mode}): {v}"
