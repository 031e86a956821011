"""The raw scan: a source's rows, enriched, filtered, cut into periods, and aggregated.

Everything here reads the canonical tables; the rollups (``kpi.rollups``) answer the same
aggregations from pre-computed daily rows when they can, and fall back on this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pandas as pd

from cxkpi.config import UserError
from cxkpi.kpi import rollup_meta
from cxkpi.kpi.calendar import MAX_SEGMENTS, default_calendar, open_days_table
from cxkpi.kpi.model import Grain, Measure
from cxkpi.kpi.periods import IBIS_UNITS, Period, label, local_midnight_utc, period_start, periods
from cxkpi.kpi.query import PERIOD, KpiQuery
from cxkpi.kpi.sources import Shape, Source, with_next_inbound
from cxkpi.schema import TABLES, ColumnType
from cxkpi.warehouse.engines import Engine

def source_filters(source: Source, q: KpiQuery) -> dict[str, tuple[str, ...]]:
    """The filters of ``q`` for one source, its scope included (the first scope dimension it has).

    A source the scope cannot restrict gets an impossible filter: no rows, never all rows.
    """
    out = dict(q.filters or {})
    if q.scope:
        dim, values = next(((d, v) for d, v in q.scope if d in source.dimensions), ("", ()))
        if not dim:
            raise UserError(f"the {source.name} figures are outside your scope")
        kept = tuple(v for v in out.get(dim, values) if v in values)
        out[dim] = kept
    return out


def with_filters(t: Any, filters: Mapping[str, tuple[str, ...]] | None) -> Any:
    """Keep the rows whose dimensions take one of the accepted values (an empty value: null)."""
    for dim, values in (filters or {}).items():
        if dim not in t.columns:
            raise UserError(f"cannot filter by {dim!r} here")
        named = [v for v in values if v != ""]
        cond = t[dim].cast("string").isin(named) if named else ibis.literal(False)
        if "" in values:
            cond = cond | t[dim].isnull()
        t = t.filter(cond)
    return t


def period_label(v: Any, grain: Grain) -> str:
    if isinstance(v, str):
        return v
    d = v.date() if isinstance(v, datetime) else pd.Timestamp(v).date()
    return label(d, grain)


def _utc_bounds(q: KpiQuery) -> tuple[datetime | None, datetime | None]:
    start = local_midnight_utc(q.start, q.tz) if q.start else None
    end = local_midnight_utc(q.end + timedelta(days=1), q.tz) if q.end else None
    return start, end


def _context(engine: Engine, source: Source, q: KpiQuery, p: Mapping[str, Any], business: bool) -> dict[str, Any]:
    """Facts about the whole data a source needs: the zone, for FCR the end of the data,
    and for business-time measures the calendar's open days over the data's span."""
    ctx: dict[str, Any] = {"tz": q.tz, "grain": q.grain, "business": business}
    if q.use_rollups:  # sources that can take part of their rows from a rollup (agent weeks)
        ctx["answered_weeks"] = lambda: rollup_meta.answered_weeks(engine, q.tz, p)
    if source.name == "contacts":
        ctx["data_end_us"] = data_end_us(engine)
    if business:
        cal = q.calendar or default_calendar(q.tz)
        first, last = _business_span(engine, source, cal.timezone, q)
        ctx["calendar_tz"] = cal.timezone
        ctx["calendar_keys"] = cal.keys()
        ctx["open_days"] = ibis.memtable(open_days_table(cal, first, last), schema=OPEN_DAYS_SCHEMA)
    return ctx


def data_end_us(engine: Engine) -> int:
    """The end of the contact data (its latest ``created_at``, epoch microseconds; 0: none):
    an FCR window reaching past it is censored."""
    def compute() -> int:
        t = engine.table("contacts")
        latest = engine.epoch_us(t.created_at).max().execute()
        return int(latest) if latest is not None and not pd.isna(latest) else 0

    end: int = engine.fact(("data_end_us",), compute)
    return end


OPEN_DAYS_SCHEMA = {
    "_bk": "string", "_day": "date", "_cum_us": "int64",
    **{f"_{x}{i}": "int64" for i in range(MAX_SEGMENTS) for x in ("s", "e")},
}


def _business_span(engine: Engine, source: Source, tz: str, q: KpiQuery) -> tuple[date, date]:
    """Local days covering every timestamp of the source, and for a snapshot the query's range
    (a backlog's age runs to the end of each window). An event's business time lies between
    its own timestamps, so the query's range adds nothing there: a range of centuries costs
    no more calendar than the data's span."""
    span = local_span(engine, source.table, _timestamp_columns(source.table), ZoneInfo(tz))
    today = date.today()
    first = span[0] if span else today
    last = span[1] if span else today
    if source.shape is not Shape.SNAPSHOT:
        return first - timedelta(days=1), last + timedelta(days=1)
    if q.start:
        first = min(first, q.start)
    if q.end:
        last = max(last, q.end + timedelta(days=1))
    return first - timedelta(days=1), last + timedelta(days=1)


def rows(engine: Engine, source: Source, q: KpiQuery, p: Mapping[str, Any], business: bool = False) -> Any:
    """The source's rows, enriched, in range, each with its ``period`` (before any grouping).

    ``business`` adds business-time columns (a join with the calendar's open days). None
    for a snapshot source with no period to look at.
    """
    ctx = _context(engine, source, q, p, business)
    if source.shape is Shape.SNAPSHOT:
        windows = _windows(engine, source, q)
        if windows is None:
            return None
        ctx["periods"] = windows
        assert source.enrich is not None
        return with_filters(source.enrich(engine, engine.table(source.table).cross_join(windows), p, ctx), source_filters(source, q))
    t = source.base(engine, p, ctx) if source.base else engine.table(source.table)
    if source.table == "contacts" and source.base is None:
        t = with_next_inbound(engine, t)
    if source.enrich is not None:
        t = source.enrich(engine, t, p, ctx)
    t = with_filters(_in_range(engine, source, t, q), source_filters(source, q))
    t = t.mutate(**{PERIOD: _period_expr(engine, source, t, q)})
    if source.latest_only:
        t = t.mutate(_latest=t[source.time_column].max().over(group_by=PERIOD))
        t = t.filter(t[source.time_column] == t._latest).drop("_latest")
    return t


def expression(engine: Engine, source: Source, ms: Sequence[Measure], q: KpiQuery, p: Mapping[str, Any],
               only_counted: bool = False) -> Any:
    """The one grouped aggregation computing all measures ``ms`` of ``source`` (None: nothing to do).

    ``only_counted``: every measure counts only the rows of a flag (``Measure.only_where``)
    and the caller has the groups from elsewhere, so the other rows are left out before
    grouping (a filter on a flag reaches the table scan)."""
    t = rows(engine, source, q, p, business=any(m.business for m in ms))
    if t is None:
        return None
    if only_counted:
        t = t.filter(ibis.or_(*(t[c] for c in dict.fromkeys(m.only_where for m in ms if m.only_where))))
    keys = [*q.by, PERIOD]
    if source.shape is Shape.TWO_STAGE:
        assert source.entity is not None and source.stage is not None
        entities = t.filter(t[source.entity].notnull())
        t = entities.group_by([*keys, source.entity]).aggregate(**source.stage(entities, p))
    return t.group_by(keys).aggregate(**{m.name: m.build(t, p) for m in ms})


def outer_join(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Groups of either side; pandas cannot merge empty Arrow-backed keys, so those go as objects
    (and with no group at all, the columns are put side by side, keeping the keys' types)."""
    if a.empty and b.empty:
        return pd.concat([a, b.drop(columns=keys)], axis=1)
    if a.empty or b.empty:
        a, b = a.astype({k: object for k in keys}), b.astype({k: object for k in keys})
    return a.merge(b, on=keys, how="outer")


def days_by_period(t: Any, q: KpiQuery, filters: Mapping[str, tuple[str, ...]]) -> Any:
    """Rows of a daily table (a rollup: the local day in ``period``) within the range and
    filters of ``q``, each labelled with the period of ``q``'s grain holding its day."""
    if q.start:
        t = t.filter(t[PERIOD] >= q.start)
    if q.end:
        t = t.filter(t[PERIOD] <= q.end)
    t = with_filters(t, filters)
    if q.grain is Grain.ALL:
        return t.mutate(**{PERIOD: ibis.literal("all")})
    if q.grain is Grain.DAY:
        return t
    return t.mutate(**{PERIOD: t[PERIOD].truncate(IBIS_UNITS[q.grain]).cast("date")})


def _in_range(engine: Engine, source: Source, t: Any, q: KpiQuery) -> Any:
    ts = t[source.time_column]
    if source.is_date:
        if q.start:
            t = t.filter(ts >= q.start)
        if q.end:
            t = t.filter(ts <= q.end)
        return t
    start, end = _utc_bounds(q)
    if start:
        t = t.filter(ts >= ibis.literal(start, type="timestamp('UTC')"))
    if end:
        t = t.filter(ts < ibis.literal(end, type="timestamp('UTC')"))
    return t


def _period_expr(engine: Engine, source: Source, t: Any, q: KpiQuery) -> Any:
    if q.grain is Grain.ALL:
        return ibis.literal("all")
    ts = t[source.time_column]
    stamp = ts if source.is_date else engine.local_time(ts, q.tz)
    return stamp.truncate(IBIS_UNITS[q.grain]).cast("date")


def _windows(engine: Engine, source: Source, q: KpiQuery) -> Any:
    """The periods a snapshot source is looked at, as a small table (label, UTC bounds, local start)."""
    first, last = q.start, q.end
    if first is None or last is None:
        span = data_span(engine, source, q.tz)
        if span is None:
            return None
        first, last = first or span[0], last or span[1]
    if first > last:
        return None
    step = Grain.MONTH if source.monthly else q.grain
    rows = periods(first, last, step, q.tz)
    labels = [_rollup_label(pr, step, q.grain, q.tz) for pr in rows]
    # periods cut by --from/--to are looked at within the range (a backlog at --to's end)
    lo, hi = local_midnight_utc(first, q.tz), local_midnight_utc(last + timedelta(days=1), q.tz)
    return ibis.memtable(
        {
            PERIOD: labels,
            "_start": [max(pr.start, lo) for pr in rows],
            "_end": [min(pr.end, hi) for pr in rows],
            "_pstart": [pr.start.astimezone(ZoneInfo(q.tz)).date() for pr in rows],
        },
        schema={PERIOD: "string", "_start": "timestamp('UTC')", "_end": "timestamp('UTC')", "_pstart": "date"},
    )


def _rollup_label(pr: Period, step: Grain, grain: Grain, tz: str) -> str:
    """The label of the requested grain's period containing a window (months roll up to quarters...)."""
    if grain is Grain.ALL:
        return "all"
    if step is grain:
        return pr.label
    local = pr.start.astimezone(ZoneInfo(tz)).date()
    return label(period_start(local, grain), grain)


def local_date(value: Any, zone: ZoneInfo) -> date | None:
    """The local date of a fetched timestamp (engines that return naive UTC values included)."""
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert(zone).date()  # type: ignore[no-any-return]


def _timestamp_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table].columns if c.type is ColumnType.TIMESTAMP]


def local_span(engine: Engine, table: str, cols: list[str], zone: ZoneInfo) -> tuple[date, date] | None:
    """Local dates of the earliest and latest values of ``cols`` in ``table`` (None: no value)."""
    span: tuple[date, date] | None = engine.fact(("span", table, tuple(cols), str(zone)),
                                                 lambda: _query_span(engine, table, cols, zone))
    return span


def _query_span(engine: Engine, table: str, cols: list[str], zone: ZoneInfo) -> tuple[date, date] | None:
    t = engine.table(table)
    lows = [t[c].min() for c in cols]
    highs = [t[c].max() for c in cols]
    lo = ibis.least(*lows) if len(lows) > 1 else lows[0]
    hi = ibis.greatest(*highs) if len(highs) > 1 else highs[0]
    bounds = t.aggregate(lo=lo, hi=hi).to_pandas().iloc[0].tolist()
    first, last = local_date(bounds[0], zone), local_date(bounds[1], zone)
    return (first, last) if first is not None and last is not None else None


def data_span(engine: Engine, source: Source, tz: str) -> tuple[date, date] | None:
    """Default range of a snapshot: the span of the cases for backlog, else of the contacts,
    else of the table's own times."""
    own = (source.table, _timestamp_columns(source.table))
    contacts = ("contacts", ["created_at"])
    candidates = [own, contacts] if source.table == "cases" else [contacts, own]
    for table, cols in candidates:
        if engine.has_table(table) and (span := local_span(engine, table, cols, ZoneInfo(tz))):
            return span
    return None
