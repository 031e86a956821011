"""What to compute: a KPI query, checked against the catalogue before any data is read."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from cxkpi.config import UserError, check_tz
from cxkpi.kpi.calendar import Calendar
from cxkpi.kpi.catalogue import KPIS, measures_of
from cxkpi.kpi.model import Grain, Kpi
from cxkpi.kpi.periods import within_reach
from cxkpi.kpi.sources import SOURCES
from cxkpi.schema import TABLES
from cxkpi.warehouse.derived import DERIVED_COLUMNS
from cxkpi.warehouse.engines import Engine

PERIOD = "period"
GRAIN_ORDER = list(Grain)


@dataclass(frozen=True)
class KpiQuery:
    """What to compute: KPIs, dimensions, grain, local date range (inclusive), zone, parameters."""

    kpis: tuple[str, ...]
    by: tuple[str, ...] = ()
    grain: Grain = Grain.ALL
    start: date | None = None
    end: date | None = None
    tz: str = "UTC"
    params: Mapping[str, Any] | None = None
    with_counts: bool = False
    calendar: Calendar | None = None  # business hours; default: kpi.calendar.default_calendar(tz)
    filters: Mapping[str, tuple[str, ...]] | None = None  # dimension -> accepted values (rows kept: any of them)
    # a user's scope: (dimension, values) alternatives; each source keeps the rows of the first it has
    scope: tuple[tuple[str, tuple[str, ...]], ...] = ()
    use_rollups: bool = True  # read additive measures from daily rollups when they can answer exactly (kpi.rollups)


def kpi_named(name: str) -> Kpi:
    """The catalogue entry ``name``; a user error suggests close names."""
    if name in KPIS:
        return KPIS[name]
    close = difflib.get_close_matches(name, KPIS, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else " (cxkpi kpis lists them)"
    raise UserError(f"unknown KPI {name!r}{hint}")


def check_query(engine: Engine, q: KpiQuery) -> list[Kpi]:
    """Refuse unknown KPIs, dimensions a KPI does not accept, grains finer than it allows."""
    if not q.kpis:
        raise UserError("name at least one KPI (cxkpi kpis lists them)")
    check_tz(q.tz)
    within_reach(*(d for d in (q.start, q.end) if d is not None))  # a range a program gave: no overflow
    if q.start and q.end and q.start > q.end:
        raise UserError("--from is after --to")
    kpis = [kpi_named(n) for n in dict.fromkeys(q.kpis)]
    columns: dict[str, list[str]] = {}  # table -> its columns, looked up once
    for k in kpis:
        extra = _extra_dimensions(engine, k, columns)
        for dim in q.by:
            if dim not in k.dimensions and dim not in extra:
                accepted = ", ".join(k.dimensions) or "none"
                raise UserError(f"KPI {k.name} does not accept dimension {dim!r} (accepts: {accepted})")
        if q.grain is not Grain.ALL and GRAIN_ORDER.index(q.grain) < GRAIN_ORDER.index(k.min_grain):
            raise UserError(f"KPI {k.name} needs a grain of {k.min_grain.value} or coarser")
    if len(set(q.by)) != len(q.by):
        raise UserError("a dimension is named twice in --by")
    for k in kpis:
        extra = _extra_dimensions(engine, k, columns)
        for dim in q.filters or {}:
            if dim not in k.dimensions and dim not in extra:
                raise UserError(f"KPI {k.name} cannot be filtered by {dim!r} (accepts: {', '.join(k.dimensions) or 'none'})")
    return kpis


def _extra_dimensions(engine: Engine, k: Kpi, columns: dict[str, list[str]]) -> set[str]:
    """Extra text columns kept at import are dimensions of the KPIs of that table."""
    extra: set[str] = set()
    for table in {SOURCES[m.source].table for m in measures_of([k.name])}:
        if table not in columns:
            columns[table] = engine.fact(
                ("columns", table), lambda: list(engine.table(table).columns) if engine.has_table(table) else [])
        known = {*TABLES[table].names, *DERIVED_COLUMNS.get(table, ())}
        extra |= {c for c in columns[table] if c not in known and not c.startswith("_")}
    return extra
