"""Compute KPIs by dimensions and period: one grouped aggregation per source, then ratios.

Several KPIs of one source share one pass over it (all their measures in one
aggregation); KPI values are combined from the measures afterwards, so any figure can be
re-derived from the counts shown with ``with_counts``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import pandas as pd

from cxkpi.config import UserError, check_tz
from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.catalogue import KPIS, measures_of
from cxkpi.kpi.model import Grain, Kpi, Measure, Unit
from cxkpi.kpi.periods import IBIS_UNITS, label, local_midnight_utc
from cxkpi.kpi.sources import SOURCES, Shape, Source, with_next_inbound
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
    if q.start and q.end and q.start > q.end:
        raise UserError("--from is after --to")
    kpis = [kpi_named(n) for n in dict.fromkeys(q.kpis)]
    for k in kpis:
        extra = _extra_dimensions(engine, k)
        for dim in q.by:
            if dim not in k.dimensions and dim not in extra:
                accepted = ", ".join(k.dimensions) or "none"
                raise UserError(f"KPI {k.name} does not accept dimension {dim!r} (accepts: {accepted})")
        if q.grain is not Grain.ALL and GRAIN_ORDER.index(q.grain) < GRAIN_ORDER.index(k.min_grain):
            raise UserError(f"KPI {k.name} needs a grain of {k.min_grain.value} or coarser")
    if len(set(q.by)) != len(q.by):
        raise UserError("a dimension is named twice in --by")
    return kpis


def _extra_dimensions(engine: Engine, k: Kpi) -> set[str]:
    """Extra text columns kept at import are dimensions of the KPIs of that table."""
    from cxkpi.schema import TABLES

    sources = {SOURCES[m.source] for m in measures_of([k.name])}
    extra: set[str] = set()
    for s in sources:
        if engine.has_table(s.table):
            canonical = set(TABLES[s.table].names)
            extra |= {c for c in engine.table(s.table).columns if c not in canonical and not c.startswith("_") and not c.startswith("next_")}
    return extra


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
    for source_name, ms in by_source.items():
        part = _aggregate(engine, SOURCES[source_name], ms, q, p)
        frame = part if frame is None else frame.merge(part, on=keys, how="outer") if keys else pd.concat([frame, part], axis=1)
    assert frame is not None
    if q.grain is not Grain.ALL and not frame.empty:
        frame[PERIOD] = [_label(v, q.grain) for v in frame[PERIOD]]
        frame = frame.groupby(keys, dropna=False, sort=False, as_index=False).first() if frame.duplicated(keys).any() else frame
    records = frame.to_dict("records")
    for k in kpis:
        values = [k.compute(r, p) for r in records]
        if k.unit is Unit.COUNT:
            frame[k.name] = pd.array([None if v is None else round(v) for v in values], dtype="Int64")
        else:
            frame[k.name] = pd.array(values, dtype="Float64")
    counts = [m.name for m in measures] if q.with_counts else []
    frame = frame[[*q.by, *([PERIOD] if q.grain is not Grain.ALL else []), *(k.name for k in kpis), *counts]]
    if keys:
        frame = frame.sort_values([*([PERIOD] if PERIOD in keys else []), *q.by], na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def _label(v: Any, grain: Grain) -> str:
    if isinstance(v, str):
        return v
    d = v.date() if isinstance(v, datetime) else pd.Timestamp(v).date()
    return label(d, grain)


def _utc_bounds(q: KpiQuery) -> tuple[datetime | None, datetime | None]:
    start = local_midnight_utc(q.start, q.tz) if q.start else None
    end = local_midnight_utc(q.end + timedelta(days=1), q.tz) if q.end else None
    return start, end


def _context(engine: Engine, source: Source) -> dict[str, Any]:
    """Facts about the whole data a source needs (FCR censoring: the end of the data)."""
    if source.table != "contacts":
        return {}
    t = engine.table("contacts")
    latest = engine.epoch_us(t.created_at).max().execute()
    return {"data_end_us": int(latest) if latest is not None and not pd.isna(latest) else 0}


def _aggregate(engine: Engine, source: Source, ms: Sequence[Measure], q: KpiQuery, p: Mapping[str, Any]) -> pd.DataFrame:
    t = engine.table(source.table)
    if source.table == "contacts":
        t = with_next_inbound(engine, t)
    if source.enrich is not None:
        t = source.enrich(engine, t, p, _context(engine, source))
    ts = t[source.time_column]
    start, end = _utc_bounds(q)
    if source.is_date:
        if q.start:
            t = t.filter(ts >= q.start)
        if q.end:
            t = t.filter(ts <= q.end)
    else:
        if start:
            t = t.filter(ts >= ibis.literal(start, type="timestamp('UTC')"))
        if end:
            t = t.filter(ts < ibis.literal(end, type="timestamp('UTC')"))
    if q.grain is Grain.ALL:
        t = t.mutate(**{PERIOD: ibis.literal("all")})
    else:
        stamp = t[source.time_column] if source.is_date else engine.local_time(t[source.time_column], q.tz)
        t = t.mutate(**{PERIOD: stamp.truncate(IBIS_UNITS[q.grain]).cast("date")})
    keys = [*q.by, PERIOD]
    agg = t.group_by(keys).aggregate(**{m.name: m.build(t, p) for m in ms})
    df = agg.to_pandas()
    if q.grain is Grain.ALL:
        df = df.drop(columns=[PERIOD])
    return df

