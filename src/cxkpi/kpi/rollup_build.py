"""Building the daily rollups: the raw aggregation at grain day, stored per rollup.

Each source's rollups are rebuilt from one scan (``kpi.scan.expression`` at grain day in
the reporting zone, by the union of their dimensions), then summed per rollup; the
distinct-customer rollups sum the flags of ``contact_links``. The SQL that stores them is
the warehouse's (``warehouse.rollup_store``). Rollups are refreshed inside the transaction
that changes their tables (the import pipeline's after-write step), so a reader never
sees new rows with old rollups.

An import refreshes only the days it touched (``Change``): the local days of the rows it
wrote, as they were and as they are, of the rows whose derived values moved (a
customer's earlier contact that now has a next one, a case's contact count, a link's
neighbours), of the surveys following a contact that changed, and, since FCR is
censored at the latest contact, the days whose FCR window reaches between the former and
the new latest contact. Those days are computed again from the raw rows on them, by the
same expression as a full build, and replace the stored ones; a first load, another zone,
other parameters or declarations rebuild whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import ibis.expr.operations as ops
import pyarrow as pa

from cxkpi import __version__
from cxkpi.config import UserError, check_tz
from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.model import Grain
from cxkpi.kpi.periods import local_midnight_utc, next_start, period_start
from cxkpi.kpi.query import PERIOD, KpiQuery
from cxkpi.kpi.rollup_meta import (
    CUSTOMER_ROLLUPS, FORMAT, PERIOD_GRAINS, ROLLUPS, Rollup, declared, fingerprint, finest, stored,
)
from cxkpi.kpi.scan import data_end_us, data_span, expression, local_date
from cxkpi.kpi.sources import SOURCES, Shape
from cxkpi.warehouse import rollup_store as store
from cxkpi.warehouse.changes import Change
from cxkpi.warehouse.derived import NEXT_MOVED
from cxkpi.warehouse.engines import Engine, duckdb_engine

__all__ = ["refresh_after_change", "refresh_rollups"]


def _current(meta: dict[str, Any] | None, tz: str, digest: str) -> bool:
    """The stored rollups are the declared ones, for this zone and these parameters."""
    if meta is None or meta.get("tz") != tz or meta.get("params") != digest:
        return False
    wanted = declared()
    held = meta.get("rollups", {})
    return set(held) == set(wanted) and all(
        {k: held[n].get(k) for k in ("source", "dims", "measures")} == d for n, d in wanted.items()
    )


def _tables_read(expr: Any) -> set[str]:
    return {node.name for node in expr.op().find(ops.DatabaseTable)}


def _build_source(
    engine: Engine, source: str, tz: str, p: Mapping[str, Any]
) -> tuple[dict[str, int], set[str], list[str] | None]:
    """Rebuild the rollups of one source: the raw daily aggregation by all their dimensions
    once (one scan), then each rollup summed from it. Returns their rows, the tables read
    and, for a snapshot, the span of days it covers (ISO dates; None: no data)."""
    con = engine.raw
    rollups = [r for r in ROLLUPS if r.source == source]
    src = SOURCES[source]
    span: list[str] | None = None
    reads: set[str] = set()
    if src.shape is Shape.SNAPSHOT:
        engine.facts.clear()  # the span of the data as it is now, in this transaction
        days = data_span(engine, src, tz)
        # the default span is the table's own, falling back on the contacts' one when it is empty
        reads = {src.table} if store.has_rows(con, src.table) else {src.table, "contacts"}
        if days is None:
            for r in rollups:
                store.drop(con, r.table)
            return {r.name: 0 for r in rollups}, reads, None
        span = [days[0].isoformat(), days[1].isoformat()]
        q = _daily(source, tz, *days)
    else:
        q = _daily(source, tz)
    rows, expr = _aggregate(engine, source, q, p, lambda r, base, sums: store.sum_into(
        con, base, r.table, (*r.dims, PERIOD), sums, order_by=PERIOD))
    return rows, _tables_read(expr) | reads, span


def _daily(source: str, tz: str, first: date | None = None, last: date | None = None) -> KpiQuery:
    """The raw query a source's rollups hold: by all their dimensions, by local day."""
    return KpiQuery(kpis=(), by=finest()[source], grain=Grain.DAY, start=first, end=last, tz=tz, use_rollups=False)


def _aggregate(engine: Engine, source: str, q: KpiQuery, p: Mapping[str, Any],
               write: Callable[[Rollup, str, list[tuple[str, bool]]], int]) -> tuple[dict[str, int], Any]:
    """Aggregate ``source``'s rollable measures for ``q`` once into a temporary table, then
    ``write(rollup, table, sums)`` each rollup from it (``sums``: its measures, and whether
    each is whole). Returns their rows and the expression."""
    con = engine.raw
    src = SOURCES[source]
    rollups = [r for r in ROLLUPS if r.source == source]
    expr = expression(engine, src, rollups[0].measures(), q, p)
    base = f"_rollup_base_{source}"
    # a snapshot's period is the label of day d, stored as a date
    store.materialize(con, expr, base, date_column=PERIOD if src.shape is Shape.SNAPSHOT else None)
    schema = expr.schema()
    rows = {r.name: write(r, base, [(m.name, schema[m.name].is_integer()) for m in r.measures()]) for r in rollups}
    store.drop(con, base)
    return rows, expr


def _bounds_of(days: Iterable[date], tz: str) -> pa.Table:
    """Each local day of ``days`` with the UTC bounds of its period of every grain."""
    days = sorted(days)
    columns: dict[str, Any] = {"day": pa.array(days, pa.date32())}
    utc = pa.timestamp("us", tz="UTC")
    for g in PERIOD_GRAINS:
        starts = [period_start(d, g) for d in days]
        columns[f"s_{g.value}"] = pa.array([local_midnight_utc(s, tz) for s in starts], utc)
        columns[f"e_{g.value}"] = pa.array([local_midnight_utc(next_start(s, g), tz) for s in starts], utc)
    return pa.table(columns)


def build_customer_rollups(engine: Engine, tz: str) -> dict[str, int]:
    """(Re)build every distinct-customer rollup in zone ``tz`` from ``contact_links``; their rows."""
    lo, hi = store.links_span(engine.raw)
    zone = ZoneInfo(tz)
    first, last = local_date(lo, zone), local_date(hi, zone)
    bounds = _bounds_of(_dates(first, last) if first and last else [date(2000, 1, 1)], tz)
    grains = [g.value for g in PERIOD_GRAINS]
    return {r.name: store.customer_rollup(engine.raw, r.table, r.dims, r.links, bounds, grains, tz, PERIOD)
            for r in CUSTOMER_ROLLUPS}


def refresh_rollups(
    target: Engine | duckdb.DuckDBPyConnection,
    tz: str,
    params: Mapping[str, Any] | None = None,
    tables: Iterable[str] | None = None,
    change: Change | None = None,
) -> dict[str, int]:
    """(Re)build the rollups; returns the rows of each one rebuilt or refreshed.

    ``tables``: the tables whose rows changed, so only the rollups reading them are
    rebuilt (None: all); ``change``: what an import changed, so only the days it touched
    are refreshed. Every rollup is rebuilt whole when the stored ones were made for
    another zone, other parameters or another set of declarations. Runs in the caller's
    transaction, if any (the importer's): it never begins nor commits one.
    """
    engine = target if isinstance(target, Engine) else duckdb_engine(target)
    if engine.raw is None:
        raise UserError("rollups are stored in the DuckDB warehouse only")
    tz = check_tz(tz)
    p = kpi_params.resolve(params)
    digest = fingerprint(p)
    meta = stored(engine)
    engine.facts.clear()  # the data changed since this engine last looked
    current = meta is not None and _current(meta, tz, digest)
    if not current:
        changed: set[str] | None = None
    elif change is not None:
        changed = set(change.tables())
    else:
        changed = set(tables) if tables is not None else None
    held: dict[str, Any] = dict(meta["rollups"]) if meta is not None and changed is not None else {}
    wanted = declared()
    end_us = data_end_us(engine)
    built: dict[str, int] = {}
    for source in finest():
        mine = [r for r in ROLLUPS if r.source == source]
        if changed is not None and not any(set(held[r.name]["reads"]) & changed for r in mine):
            continue
        plan = None
        if change is not None and changed is not None and meta is not None:
            plan = _plan(engine, source, change, tz, p, held, meta, end_us)
            if plan is not None and not plan.days and plan.span == held[mine[0].name].get("span"):
                continue
        if plan is None:
            rows, reads, span = _build_source(engine, source, tz, p)
            for r in mine:
                held[r.name] = {**wanted[r.name], "rows": rows[r.name], "reads": sorted(reads)}
                if SOURCES[source].shape is Shape.SNAPSHOT:
                    held[r.name]["span"] = span
        else:
            rows = _refresh_days(engine, source, tz, p, plan)
            for r in mine:
                held[r.name] = {**held[r.name], "rows": rows[r.name]}
                if plan.span is not None:
                    held[r.name]["span"] = plan.span
        built |= rows
    if changed is None or store.LINKS in changed:
        days = _link_days(engine, change, tz) if change is not None and changed is not None else None
        rows = build_customer_rollups(engine, tz) if days is None else _refresh_customer_days(engine, tz, days)
        for name, n in rows.items():
            held[name] = {**wanted[name], "rows": n, "reads": [store.LINKS]}
        built |= rows
    store.write_meta(engine.raw, {"format": FORMAT, "version": __version__, "tz": tz, "params": digest,
                                  "data_end_us": end_us, "rollups": held})
    engine.facts.clear()  # the facts this engine remembered (rollup tables, their metadata) changed
    return built


@dataclass(frozen=True)
class _Plan:
    """The local days of a source to compute again, and for a snapshot its new span."""

    days: frozenset[date]
    span: list[str] | None = None


# snapshot sources refreshed by day: the columns between which a row is open
_OPEN = {"backlog": ("opened_at", "closed_at")}
# surveys are seen with the dimensions of the contact they follow: (table, its column) -> the
# joined table and its key
_JOINED = {"surveys": ("contacts", "contact_id")}


def _plan(engine: Engine, source: str, change: Change, tz: str, p: Mapping[str, Any], held: Mapping[str, Any],
          meta: Mapping[str, Any], end_us: int) -> _Plan | None:
    """The days of ``source``'s rollups that ``change`` moved (None: rebuild it whole)."""
    con = engine.raw
    src = SOURCES[source]
    mine = [r for r in ROLLUPS if r.source == source]
    reads: set[str] = set().union(*(held[r.name]["reads"] for r in mine))
    if any(change.is_whole(t) for t in reads) or not all(store.exists(con, r.table) for r in mine):
        return None
    affected: list[str] = []  # queries of the source table's rows whose days changed
    own = change.rows.get(src.table)
    if own is not None:
        affected.append(f"SELECT * FROM {own}")
    if src.table in _JOINED:
        other, key = _JOINED[src.table]
        theirs = change.rows.get(other)
        if theirs is not None and other in reads:
            affected.append(f"SELECT * FROM {src.table} WHERE {key} IN (SELECT {key} FROM {theirs})")
    days: set[date] = set()
    if src.shape is Shape.SNAPSHOT:
        old = held[mine[0].name].get("span")
        span = data_span(engine, src, tz)
        if old is None or span is None or source not in _OPEN:
            return None
        first, last = span
        for q in affected:
            days |= store.local_day_ranges(con, q, *_OPEN[source], tz, last)
        before = _dates(date.fromisoformat(old[0]), date.fromisoformat(old[1]))
        days = {d for d in days if first <= d <= last} | (_dates(first, last) - before)
        return _Plan(frozenset(days), [first.isoformat(), last.isoformat()])
    for q in affected:
        days |= store.local_days(con, q, src.time_column, tz)
    if source == "contacts":
        moved = change.facts.get(NEXT_MOVED)
        if moved is not None:  # earlier contacts whose next contact moved: only FCR sees it, within its window
            column = "next_same_reason_at" if p["fcr_same_reason"] else "next_inbound_at"
            days |= store.days_window_moved(con, moved, column, int(p["fcr_window_days"] * 86_400_000_000), tz)
        before_us = meta.get("data_end_us")
        if not isinstance(before_us, int) or not before_us or not end_us:
            return None
        if before_us != end_us:  # FCR windows ending between the two are no longer (or newly) censored
            window = timedelta(days=float(p["fcr_window_days"]))
            zone = ZoneInfo(tz)
            lo, hi = (_utc(min(before_us, end_us)) - window, _utc(max(before_us, end_us)) - window)
            days |= _dates(lo.astimezone(zone).date(), hi.astimezone(zone).date())
    return _Plan(frozenset(days))


def _utc(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _dates(first: date, last: date) -> set[date]:
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


def _days_table(days: Iterable[date]) -> pa.Table:
    return pa.table({"day": pa.array(sorted(days), pa.date32())})


def _refresh_days(engine: Engine, source: str, tz: str, p: Mapping[str, Any], plan: _Plan) -> dict[str, int]:
    """Compute ``source``'s rollups again on ``plan``'s days only: the same expression as a
    full build, over a temporary table of the source rows that can fall on those days."""
    con = engine.raw
    src = SOURCES[source]
    rollups = [r for r in ROLLUPS if r.source == source]
    days = _days_table(plan.days)
    keep = (date.fromisoformat(plan.span[0]), date.fromisoformat(plan.span[1])) if plan.span else None
    if not plan.days:  # a snapshot's span shrank: only the days outside go
        return {r.name: store.keep_span(con, r.table, PERIOD, keep) for r in rollups}
    first, last = min(plan.days), max(plan.days)
    lo, hi = local_midnight_utc(first, tz), local_midnight_utc(last + timedelta(days=1), tz)
    part = f"_rollup_rows_{source}"
    if src.shape is Shape.SNAPSHOT:
        store.rows_open_within(con, src.table, *_OPEN[source], lo, hi, part)
    else:
        store.rows_on_days(con, src.table, src.time_column, tz, days, lo, hi, part)
    # the facts (the end of the contact data) stay the whole warehouse's; only the source's table is narrowed
    data_end_us(engine)
    rows, _ = _aggregate(engine.narrowed(src.table, part), source, _daily(source, tz, first, last), p,
                         lambda r, base, sums: store.replace_days(con, base, r.table, (*r.dims, PERIOD), sums,
                                                                  PERIOD, days, keep))
    store.drop(con, part)
    return rows


def _link_days(engine: Engine, change: Change, tz: str) -> set[date] | None:
    """The local days of the links ``change`` moved (None: rebuild the customer rollups whole)."""
    if change.is_whole(store.LINKS) or not all(store.exists(engine.raw, r.table) for r in CUSTOMER_ROLLUPS):
        return None
    moved = change.rows.get(store.LINKS)
    return set() if moved is None else store.local_days(engine.raw, f"SELECT * FROM {moved}", "created_at", tz)


def _refresh_customer_days(engine: Engine, tz: str, days: set[date]) -> dict[str, int]:
    if not days:
        return {r.name: store.row_count(engine.raw, r.table) for r in CUSTOMER_ROLLUPS}
    bounds = _bounds_of(days, tz)
    lo, hi = local_midnight_utc(min(days), tz), local_midnight_utc(max(days) + timedelta(days=1), tz)
    grains = [g.value for g in PERIOD_GRAINS]
    rows = "_rollup_rows_links"  # the links on those days, read once for the three rollups
    store.rows_on_days(engine.raw, store.LINKS, "created_at", tz, _days_table(days), lo, hi, rows)
    out = {r.name: store.customer_rollup_days(engine.raw, r.table, r.dims, r.links, bounds, grains, tz, PERIOD, rows)
           for r in CUSTOMER_ROLLUPS}
    store.drop(engine.raw, rows)
    return out


def refresh_after_change(con: duckdb.DuckDBPyConnection, changed: Iterable[str] | Change) -> dict[str, int]:
    """Refresh the rollups in the warehouse's reporting zone (default UTC) after a write:
    the days an import's ``Change`` touched, or every rollup reading the ``changed`` tables."""
    tz = store.reporting_tz(con)
    if isinstance(changed, Change):
        return refresh_rollups(con, tz, change=changed)
    return refresh_rollups(con, tz, tables=changed)
