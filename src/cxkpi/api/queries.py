"""KPI figures for a caller: the CLI's parameters, the caller's scope, one cache per data version.

The API and the dashboard both come through here, so a page, its JSON and its export
show the same numbers, computed by the engine under the same scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

from cxkpi.api.runtime import Warehouse
from cxkpi.api.security import Principal
from cxkpi.config import UserError, check_tz
from cxkpi.kpi.engine import KpiQuery, compute
from cxkpi.kpi.inspect import drill, parse_filters
from cxkpi.kpi.model import Grain
from cxkpi.kpi.params import parse_assignments
from cxkpi.kpi.periods import next_start, parse_date, parse_grain, period_start
from cxkpi.kpi.targets import load_targets, with_targets

MAX_ROWS = 10_000  # rows of one KPI answer (an agent x day table over a year fits)


@dataclass(frozen=True)
class QueryArgs:
    """The parameters of ``cxkpi kpi``, as received from a URL."""

    kpis: tuple[str, ...]
    by: str | None = None
    grain: str = "all"
    start: str | None = None
    end: str | None = None
    tz: str | None = None
    where: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    with_counts: bool = False


def build_query(warehouse: Warehouse, args: QueryArgs) -> KpiQuery:
    zone = check_tz(args.tz or warehouse.reporting_tz())
    return KpiQuery(
        kpis=tuple(args.kpis),
        by=tuple(d.strip() for d in args.by.split(",") if d.strip()) if args.by else (),
        grain=parse_grain(args.grain),
        start=parse_date(args.start, "from"),
        end=parse_date(args.end, "to"),
        tz=zone,
        params=parse_assignments(list(args.params)),
        with_counts=args.with_counts,
        calendar=warehouse.calendar(zone),
        filters=parse_filters(list(args.where)) or None,
    )


def kpi_frame(warehouse: Warehouse, who: Principal, q: KpiQuery, targets: bool = False) -> pd.DataFrame:
    """The KPIs of ``q`` within the caller's scope (``OutOfScope`` otherwise), cached."""
    scoped = who.scope.apply(q)
    key = ("kpi", _key(scoped), targets)

    def run() -> pd.DataFrame:
        with warehouse.reader() as (engine, cur):
            frame = compute(engine, scoped)
            if targets:
                frame = with_targets(frame, scoped, load_targets(cur))
        if len(frame) > MAX_ROWS:
            raise UserError(f"the answer has {len(frame):,} rows, more than {MAX_ROWS:,}: use a coarser grain or fewer dimensions")
        return frame

    result: pd.DataFrame = warehouse.cached(key, run)
    return result


def drill_frame(warehouse: Warehouse, who: Principal, name: str, where: Mapping[str, str], period: str | None,
                q: KpiQuery, limit: int, offset: int) -> pd.DataFrame:
    """The rows behind one figure, within the caller's scope."""
    scoped = who.scope.apply(replace(q, kpis=(name,)))
    with warehouse.reader() as (engine, _):
        frame = drill(engine, name, where, period, scoped, limit=offset + limit)
    return frame.iloc[offset:offset + limit].reset_index(drop=True)


def _key(q: KpiQuery) -> tuple[Any, ...]:
    return (
        q.kpis, q.by, q.grain, q.start, q.end, q.tz,
        tuple(sorted((q.params or {}).items(), key=lambda kv: kv[0])).__repr__(),
        q.with_counts,
        tuple(sorted((k, tuple(v)) for k, v in (q.filters or {}).items())),
        q.scope,
        id(q.calendar) if q.calendar is not None else None,
    )


def period_range(grain: Grain, anchor: date, trend: int) -> tuple[date, date, date]:
    """(first day of the trend, first day of the period, last day of the period) around ``anchor``."""
    start = period_start(anchor, grain)
    end = next_start(start, grain)
    first = start
    for _ in range(trend - 1):
        first = period_start(first - timedelta(days=1), grain)
    return first, start, end - timedelta(days=1)
