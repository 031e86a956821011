"""Every KPI's column-wise value (all groups at once) is its row function's value, group by group.

The engine computes KPI values column-wise; the row functions are the readable
definitions (and what a single record is computed with). Nulls, zeros and missing
measures must give the same answer both ways.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxkpi.kpi import KPIS
from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.model import compute_column

# measure values as the engine's frame holds them: counts, sums (negative for margins or
# cash), zeros and nulls (no row of the measure's source in the group)
VALUES = st.one_of(st.none(), st.just(0), st.integers(0, 50), st.floats(-1e6, 1e6, allow_nan=False))


def _frame(kpi: Any, rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(kpi.measures))
    return frame.astype({m: "Float64" for m in kpi.measures})


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["against", "ignored", "met_within_t"])
@pytest.mark.parametrize("name", sorted(KPIS))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_columns_equal_the_row_function(name: str, mode: str, data: st.DataObject) -> None:
    kpi = KPIS[name]
    if mode != "against" and "service_level_abandons" not in kpi.params:
        return
    p = kpi_params.resolve({"service_level_abandons": mode})
    rows = data.draw(st.lists(st.fixed_dictionaries({m: VALUES for m in kpi.measures}), min_size=1, max_size=6))
    frame = _frame(kpi, rows)
    assert getattr(kpi.compute, "columns", None) is not None, f"{name} has no column-wise value"
    got = compute_column(kpi, frame, p).tolist()
    want = [kpi.compute(r, p) for r in _records(frame)]
    for g, w in zip(got, want, strict=True):
        if w is None or (isinstance(w, float) and math.isnan(w)):
            assert g is pd.NA or (isinstance(g, float) and math.isnan(g)), f"{name}: {g!r} for null"
        else:
            assert g is not pd.NA and math.isclose(float(g), w, rel_tol=1e-12, abs_tol=1e-12), f"{name}: {g!r} vs {w!r}"
