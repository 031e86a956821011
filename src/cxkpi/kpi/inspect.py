"""Explain a KPI (its definition and the query it runs) and drill into the rows behind a figure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from cxkpi.config import UserError
from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.catalogue import measures_of
from cxkpi.kpi.query import PERIOD, KpiQuery, check_query, kpi_named
from cxkpi.kpi.scan import expression, rows
from cxkpi.kpi.model import Grain, Kpi
from cxkpi.kpi.periods import parse_label
from cxkpi.kpi.sources import SOURCES, Shape
from cxkpi.warehouse.engines import Engine


@dataclass(frozen=True)
class Explanation:
    kpi: Kpi
    params: dict[str, Any]
    sql: dict[str, str]  # source name -> SQL of its aggregation on this engine


def explain(engine: Engine, name: str, q: KpiQuery | None = None) -> Explanation:
    """The KPI's declaration, the parameter values in force and the SQL each source runs."""
    k = kpi_named(name)
    q = q or KpiQuery(kpis=(name,))
    p = kpi_params.resolve(q.params)
    sql: dict[str, str] = {}
    by_source: dict[str, list[Any]] = {}
    for m in measures_of([k.name]):
        by_source.setdefault(m.source, []).append(m)
    for source_name, ms in by_source.items():
        expr = expression(engine, SOURCES[source_name], ms, q, p)
        sql[source_name] = "-- no period to look at" if expr is None else str(ibis.to_sql(expr))
    return Explanation(kpi=k, params={n: p[n] for n in k.params}, sql=sql)


def parse_where(items: list[str]) -> dict[str, str]:
    """``dim=value`` filters (``dim=`` alone matches an empty value)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--where expects dim=value, got {item!r}")
        dim, value = item.split("=", 1)
        out[dim.strip()] = value
    return out


def parse_filters(items: list[str]) -> dict[str, tuple[str, ...]]:
    """``dim=value`` filters of ``cxkpi kpi --where``; a dimension named twice keeps either value."""
    out: dict[str, tuple[str, ...]] = {}
    for item in items:
        for dim, value in parse_where([item]).items():
            out[dim] = (*out.get(dim, ()), value)
    return out


def drill(
    engine: Engine,
    name: str,
    where: Mapping[str, str] | None = None,
    period: str | None = None,
    q: KpiQuery | None = None,
    limit: int = 100,
) -> pd.DataFrame:
    """The rows of the KPI's first source behind one figure: its group (``where``) and period.

    Derived flags (columns starting with ``_``) show how each row counts.
    """
    k = kpi_named(name)
    where = dict(where or {})
    q = q or KpiQuery(kpis=(name,))
    q = KpiQuery(kpis=(name,), by=tuple(where), grain=q.grain, start=q.start, end=q.end, tz=q.tz, params=q.params,
                 filters=q.filters, calendar=q.calendar, scope=q.scope)
    check_query(engine, q)
    if period is not None and q.grain is Grain.ALL:
        raise UserError("--period needs a --grain")
    p = kpi_params.resolve(q.params)
    measures = measures_of([k.name])
    source = SOURCES[measures[0].source]
    t = rows(engine, source, q, p, business=any(m.business for m in measures if m.source == source.name))
    if t is None:
        return pd.DataFrame()
    for dim, value in where.items():
        t = t.filter(t[dim].isnull() if value == "" else t[dim].cast("string") == value)
    if period is not None:
        wanted: Any = period if source.shape is Shape.SNAPSHOT else parse_label(period, q.grain)
        t = t.filter(t[PERIOD] == wanted)
    df = t.limit(limit).to_pandas().drop(columns=[PERIOD], errors="ignore")
    if source.shape is Shape.SNAPSHOT:
        df = df.rename(columns={"_start": "period_start", "_end": "period_end"})
    return df.reset_index(drop=True)
