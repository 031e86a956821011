"""Reading the daily rollups: the additive measures of the big event sources, pre-aggregated per local day.

A dashboard asks for a few KPIs by channel or agent over months; scanning 10 M contacts
for each answer costs seconds. A rollup is the raw aggregation itself
(``engine.expression`` at grain day in the reporting zone, grouped by a few declared
dimensions), stored as table ``rollup_<name>``. Every measure in it is a count or a sum
over rows (``Measure.additive``), so any coarser group (fewer of those dimensions, a
week, a month, all time, a range of whole local days, a filter on those dimensions) is
the sum of its daily rows: the very number the raw scan gives, null where every day is
null (a sum of no value), never a mean of means.

The backlog (a SNAPSHOT source: the cases open at each period's end) has a daily
snapshot rollup: the raw aggregation at grain day over the default span of the data, so
row (dims, day d) holds the counts and age sums of the cases open at the end of local day
d. A backlog at the end of any period (cut by --from/--to, or all time) is the snapshot of
the day that period's window ends: one day's row, never a sum over days. It answers only
ranges within the span it was built over (recorded in the metadata).

Distinct customers (repeat contacts) have rollups of their own, summed per grain
(``kpi.customer_rollups``).

A rollup answers only what it can answer exactly: the same zone and parameter values
as when it was built, dimensions and filters among its own, events sources (and the
backlog snapshot), no quantile and no business time. Anything else falls back to the raw
scan. The rollups are rebuilt inside the transaction that changes their tables (the
importer, sentiment scoring), so a reader never sees new rows with old rollups. FCR
censoring depends on the latest contact of the whole warehouse, so a contact import
rebuilds its rollups whole rather than only the days it touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import ibis

from cxkpi.kpi import customer_rollups
from cxkpi.kpi.model import Grain, Measure
from cxkpi.kpi.periods import label, next_start, period_start
from cxkpi.kpi.query import PERIOD, KpiQuery
from cxkpi.kpi.rollup_meta import CUSTOMER_SOURCE, ROLLUPS, Rollup, held_for, rollable
from cxkpi.kpi.scan import data_span, days_by_period, source_filters, with_filters
from cxkpi.kpi.sources import Shape, Source
from cxkpi.warehouse.engines import Engine

__all__ = ["rollable", "rollup_expression"]


def rollup_expression(
    engine: Engine, source: Source, measures: Sequence[Measure], q: KpiQuery, p: Mapping[str, Any]
) -> Any:
    """The aggregation of ``measures`` for ``q`` read from a rollup, with the columns and
    types of ``engine.expression``; None when no rollup can answer it exactly."""
    if source.shape is Shape.SNAPSHOT:
        return _snapshot_expression(engine, source, measures, q, p)
    if source.name == CUSTOMER_SOURCE:
        held = held_for(engine, q.tz, p)
        return None if held is None else customer_rollups.expression(engine, source, measures, q, held)
    if source.shape is not Shape.EVENTS or source.base is not None or source.latest_only or not measures:
        return None
    if any(not m.additive or m.business or m.source != source.name for m in measures):
        return None
    picked = _pick(engine, source, measures, q, p)
    if picked is None:
        return None
    r, _, filters = picked
    t = days_by_period(engine.table(r.table), q, filters)
    sums = {
        m.name: t[m.name].sum().cast("int64" if t[m.name].type().is_integer() else "float64") for m in measures
    }
    return t.group_by([*q.by, PERIOD]).aggregate(**sums)


def _pick(engine: Engine, source: Source, measures: Sequence[Measure], q: KpiQuery, p: Mapping[str, Any],
          snapshot: bool = False) -> tuple[Rollup, dict[str, Any], dict[str, tuple[str, ...]]] | None:
    """The smallest stored rollup of ``source`` holding the measures and every dimension the
    query groups or filters by (its scope included), built in the query's zone with its
    parameters: (rollup, its metadata, the filters to apply); None if there is none."""
    filters = source_filters(source, q)  # the user's filters and access scope
    needed = {*q.by, *filters}
    held = held_for(engine, q.tz, p)
    if held is None:
        return None
    names = {m.name for m in measures}
    fits = [
        r for r in ROLLUPS
        if r.source == source.name and r.name in held and (held[r.name].get("span") or not snapshot)
        and needed <= set(r.dims) and names <= set(held[r.name]["measures"])
    ]
    if not fits:
        return None
    r = min(fits, key=lambda x: int(held[x.name].get("rows", 0)))
    return r, held[r.name], filters


def _snapshot_expression(
    engine: Engine, source: Source, measures: Sequence[Measure], q: KpiQuery, p: Mapping[str, Any]
) -> Any:
    """A snapshot source's aggregation read from its daily snapshot rollup, or None.

    The raw path cuts the range into periods and looks at each at its window's end: the
    end of local day d = min(the period's last day, the range's last day). That instant is
    the one the rollup's row for day d was taken at, so each period is that day's rows,
    relabelled (and grouped by fewer dimensions)."""
    if not measures or any(not rollable(m) or m.source != source.name for m in measures):
        return None
    picked = _pick(engine, source, measures, q, p, snapshot=True)
    if picked is None:
        return None
    r, held, filters = picked
    lo, hi = (date.fromisoformat(d) for d in held["span"])
    first, last = q.start, q.end
    if first is None or last is None:  # the raw path's default range: the data's span now
        span = data_span(engine, source, q.tz)
        if span is None:
            return None
        first, last = first or span[0], last or span[1]
    if first > last or first < lo or last > hi:
        return None
    labels, days = _snapshot_days(first, last, q.grain)
    windows = ibis.memtable({"_label": labels, "_day": days}, schema={"_label": "string", "_day": "date"})
    t = with_filters(engine.table(r.table), filters)
    j = t.join(windows, t[PERIOD] == windows["_day"])
    sums = {
        m.name: j[m.name].sum().cast("int64" if j[m.name].type().is_integer() else "float64") for m in measures
    }
    return j.group_by([*(j[d] for d in q.by), j["_label"].name(PERIOD)]).aggregate(**sums)


def _snapshot_days(first: date, last: date, grain: Grain) -> tuple[list[str], list[date]]:
    """Each period of ``grain`` over ``first``..``last`` (as ``periods`` cuts them) with its
    label and the local day whose end is its snapshot instant (the window's end clipped to
    the end of ``last``)."""
    if grain is Grain.ALL:
        return ["all"], [last]
    labels: list[str] = []
    days: list[date] = []
    start = period_start(first, grain)
    while start <= last:
        nxt = next_start(start, grain)
        labels.append(label(start, grain))
        days.append(min(nxt - timedelta(days=1), last))
        start = nxt
    return labels, days
