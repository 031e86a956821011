"""KPI queries from user input: parsed and checked once, run within the caller's scope, cached.

The command line, the API and the dashboard all build their queries here, from the
same text options (``QueryArgs``), so a bad input gets the same one-line message
everywhere (a ``UserError``: exit code 2 on the command line, 400 over HTTP) and a page,
its JSON and its export show the same numbers. A result is computed once per data
version and served page by page (or streamed whole), whatever its size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from cxkpi.config import UserError, check_tz
from cxkpi.kpi.calendar import Calendar
from cxkpi.kpi.engine import compute
from cxkpi.kpi.inspect import drill, parse_filters
from cxkpi.kpi.model import Grain
from cxkpi.kpi.params import parse_assignments
from cxkpi.kpi.periods import next_start, parse_date, parse_grain, period_start
from cxkpi.kpi.query import KpiQuery
from cxkpi.kpi.targets import load_targets, with_targets
from cxkpi.service.principal import Principal
from cxkpi.service.runtime import Warehouse
from cxkpi.warehouse.inspect import latest_contact_at

# bounds of one query, so that no input can make the server work without end
MAX_KPIS = 60
MAX_DIMENSIONS = 6
MAX_FILTERS = 50
MAX_PARAMS = 20
MAX_TEXT = 200  # characters of one name, value or assignment


@dataclass(frozen=True)
class QueryArgs:
    """The options of ``cxkpi kpi``, as text from a command line or a URL."""

    kpis: tuple[str, ...]
    by: str | None = None
    grain: str = "all"
    start: str | None = None
    end: str | None = None
    tz: str | None = None
    where: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    with_counts: bool = False


def _check_sizes(args: QueryArgs) -> None:
    if not args.kpis:
        raise UserError("name at least one KPI (cxkpi kpis lists them)")
    if len(args.kpis) > MAX_KPIS:
        raise UserError(f"at most {MAX_KPIS} KPIs in one query")
    if len(args.where) > MAX_FILTERS:
        raise UserError(f"at most {MAX_FILTERS} filters in one query")
    if len(args.params) > MAX_PARAMS:
        raise UserError(f"at most {MAX_PARAMS} parameters in one query")
    texts = [*args.kpis, *args.where, *args.params, args.by or "", args.tz or "", args.grain]
    if any(len(t) > MAX_TEXT for t in texts):
        raise UserError(f"a name or value is longer than {MAX_TEXT} characters")
    if any("\x00" in t for t in texts):
        raise UserError("a name or value holds a NUL character")


def dimensions(by: str | None) -> tuple[str, ...]:
    """``--by channel,team`` as a tuple of dimension names."""
    dims = tuple(d.strip() for d in by.split(",") if d.strip()) if by else ()
    if len(dims) > MAX_DIMENSIONS:
        raise UserError(f"at most {MAX_DIMENSIONS} dimensions in --by")
    return dims


def build_query(args: QueryArgs, default_tz: str, calendar_of: Callable[[str], Calendar | None],
                option: str = "--") -> KpiQuery:
    """The KPI query ``args`` describe, every part checked (``UserError`` otherwise).

    ``default_tz``: the warehouse's reporting zone, used when ``args`` names none;
    ``calendar_of(zone)``: the warehouse's business-hours calendar in that zone; ``option``:
    how messages name an option (``--from`` on the command line, ``from`` in a URL).
    """
    _check_sizes(args)
    zone = check_tz(args.tz or default_tz)
    return KpiQuery(
        kpis=tuple(args.kpis),
        by=dimensions(args.by),
        grain=parse_grain(args.grain),
        start=parse_date(args.start, f"{option}from"),
        end=parse_date(args.end, f"{option}to"),
        tz=zone,
        params=parse_assignments(list(args.params)),
        with_counts=args.with_counts,
        calendar=calendar_of(zone),
        filters=parse_filters(list(args.where)) or None,
    )


def served_query(warehouse: Warehouse, args: QueryArgs) -> KpiQuery:
    """``build_query`` with the served warehouse's zone and calendar (cached per data version)."""
    return build_query(args, warehouse.reporting_tz(), warehouse.calendar, option="")


def kpi_frame(warehouse: Warehouse, who: Principal, q: KpiQuery, targets: bool = False) -> pd.DataFrame:
    """The KPIs of ``q`` within the caller's scope (``OutOfScope`` otherwise), computed once
    per data version: every page of a large answer reads the same cached frame."""
    scoped = who.scope.apply(q)
    key = ("kpi", _key(scoped), targets)

    def run() -> pd.DataFrame:
        with warehouse.reader() as (engine, cur):
            frame = compute(engine, scoped)
            if targets:
                frame = with_targets(frame, scoped, load_targets(cur))
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


def latest_day(warehouse: Warehouse) -> date:
    """The last local day with contacts in the reporting zone (today when there is none):
    the default period of the pages is the one containing it."""
    def load() -> date:
        tz = warehouse.reporting_tz()
        with warehouse.reader() as (_, cur):
            latest = latest_contact_at(cur)
        return date.today() if latest is None else latest.astimezone(ZoneInfo(tz)).date()

    result: date = warehouse.cached(("latest_day",), load)
    return result


def period_range(grain: Grain, anchor: date, trend: int) -> tuple[date, date, date]:
    """(first day of the trend, first day of the period, last day of the period) around ``anchor``."""
    start = period_start(anchor, grain)
    end = next_start(start, grain)
    first = start
    for _ in range(trend - 1):
        first = period_start(first - timedelta(days=1), grain)
    return first, start, end - timedelta(days=1)
