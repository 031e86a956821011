"""Compute KPIs by dimensions and period: one grouped aggregation per source, then ratios.

Several KPIs of one source share one pass over it (all their measures in one
aggregation); KPI values are combined from the measures afterwards, so any figure can be
re-derived from the counts shown with ``with_counts``. Each source's additive measures
come from a daily rollup when one answers exactly (``kpi.rollups``), the rest from the
raw scan (``kpi.scan``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.catalogue import measures_of
from cxkpi.kpi.model import Grain, Measure, Unit, compute_column
from cxkpi.kpi.query import GRAIN_ORDER, PERIOD, KpiQuery, check_query, kpi_named
from cxkpi.kpi.rollups import rollable, rollup_expression
from cxkpi.kpi.scan import expression, outer_join, period_label
from cxkpi.kpi.sources import SOURCES, Source
from cxkpi.warehouse.engines import Engine

__all__ = ["GRAIN_ORDER", "PERIOD", "KpiQuery", "check_query", "compute", "kpi_named"]


def compute(engine: Engine, q: KpiQuery) -> pd.DataFrame:
    """The KPIs of ``q`` as a DataFrame: dimension columns, ``period`` (not for grain all),
    one column per KPI, and with ``with_counts`` the measures they are computed from."""
    kpis = check_query(engine, q)
    p = kpi_params.resolve(q.params)
    measures = measures_of([k.name for k in kpis])
    by_source: dict[str, list[Measure]] = {}
    for m in measures:
        by_source.setdefault(m.source, []).append(m)
    keys = [*q.by, *([PERIOD] if q.grain is not Grain.ALL else [])]
    frame: pd.DataFrame | None = None
    whole: set[str] = set()  # integer measures, kept whole after the outer joins
    for source_name, ms in by_source.items():
        part = _aggregate(engine, SOURCES[source_name], ms, q, p)
        whole |= {m.name for m in ms if m.name in part and pd.api.types.is_integer_dtype(part[m.name].dtype)}
        frame = part if frame is None else outer_join(frame, part, keys) if keys else pd.concat([frame, part], axis=1)
    assert frame is not None
    for name in whole:
        frame[name] = frame[name].astype("Int64")
    # a measure missing after the outer join (no row of its source in the group) is null
    values = {k.name: compute_column(k, frame, p) for k in kpis}
    for k in kpis:
        v = values[k.name]
        frame[k.name] = v.round().astype("Int64") if k.unit is Unit.COUNT else v.astype("Float64")
    counts = [m.name for m in measures] if q.with_counts else []
    frame = frame[[*q.by, *([PERIOD] if q.grain is not Grain.ALL else []), *(k.name for k in kpis), *counts]]
    if keys:
        frame = frame.sort_values([*([PERIOD] if PERIOD in keys else []), *q.by], na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def _aggregate(engine: Engine, source: Source, ms: Sequence[Measure], q: KpiQuery, p: Mapping[str, Any]) -> pd.DataFrame:
    """One source's measures: the rollable ones (``rollups.rollable``) from a rollup when one can answer
    exactly, the others (all of them when none can) from the raw rows."""
    keys = [*q.by, PERIOD]
    additive = [m for m in ms if rollable(m)] if q.use_rollups else []
    rolled = rollup_expression(engine, source, additive, q, p) if additive else None
    rest = [m for m in ms if rolled is None or m not in additive]
    df = rolled.to_pandas() if rolled is not None else None
    if rest:
        # the rollup's groups are every group of the source: the quantiles need only their rows
        expr = expression(engine, source, rest, q, p, only_counted=df is not None and all(m.only_where for m in rest))
        raw = pd.DataFrame(columns=[*keys, *(m.name for m in rest)]) if expr is None else expr.to_pandas()
        df = raw if df is None else outer_join(df, raw, keys)
    assert df is not None
    if q.grain is Grain.ALL:
        return df.drop(columns=[PERIOD])
    codes, days = pd.factorize(df[PERIOD])  # label each distinct period once
    labels = [period_label(v, q.grain) for v in days]
    df[PERIOD] = [labels[c] for c in codes]
    return df
