"""Daily rollups: the additive measures of the big event sources, pre-aggregated per local day.

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

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops

from cxkpi import __version__
from cxkpi.config import UserError, check_tz
from cxkpi.kpi import customer_rollups
from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.catalogue import MEASURES
from cxkpi.kpi.engine import PERIOD, KpiQuery, _data_span, days_by_period, expression, source_filters, with_filters
from cxkpi.kpi.model import Grain, Measure
from cxkpi.kpi.periods import IBIS_UNITS, label, next_start, period_start
from cxkpi.kpi.sources import SOURCES, Shape, Source
from cxkpi.warehouse import quote
from cxkpi.warehouse.engines import Engine, duckdb_engine

CONFIG_KEY = "rollups"  # warehouse_config: what the rollup tables hold (JSON)
FORMAT = 1  # bump when what a rollup stores changes meaning: older rollups are then ignored


@dataclass(frozen=True)
class Rollup:
    """One rollup: ``source``'s additive measures by local day and ``dims``."""

    name: str
    source: str
    dims: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"rollup_{self.name}"

    def measures(self) -> list[Measure]:
        """The measures it stores: every rollable measure of its source (``rollable``)."""
        return [m for m in MEASURES.values() if m.source == self.source and rollable(m)]


# SNAPSHOT sources with a daily snapshot rollup: the measures that are counts or sums over
# the rows open at one instant (so summed over dimensions, never over days)
SNAPSHOT_MEASURES: dict[str, frozenset[str]] = {
    "backlog": frozenset(
        {"backlog", "backlog_age_sum_s", "backlog_lt_1d", "backlog_1_3d", "backlog_3_7d", "backlog_gt_7d"}
    ),
}


def rollable(m: Measure) -> bool:
    """A measure a rollup can hold: additive over an events source's rows, a count or sum
    of a snapshot (SNAPSHOT_MEASURES), or a distinct-customer count; never business time."""
    if m.business:
        return False
    if m.source == customer_rollups.SOURCE:
        return m.name in customer_rollups.FLAGS
    return m.additive or m.name in SNAPSHOT_MEASURES.get(m.source, frozenset())


_TEAM = ("channel", "team", "site")
ROLLUPS: tuple[Rollup, ...] = (
    Rollup("contacts", "contacts", (*_TEAM, "direction")),
    Rollup("contacts_agent", "contacts", ("agent_id", *_TEAM, "direction")),
    Rollup("cases_closed", "cases_closed", (*_TEAM, "priority")),
    Rollup("cases_closed_agent", "cases_closed", ("agent_id", *_TEAM)),
    Rollup("agent_states", "agent_states", ("agent_id",)),
    Rollup("responses", "responses", (*_TEAM, "mode", "language")),
    Rollup("responses_agent", "responses", ("agent_id", *_TEAM)),
    Rollup("surveys_sent", "surveys_sent", (*_TEAM, "mode", "language")),
    Rollup("surveys_sent_agent", "surveys_sent", ("agent_id", *_TEAM)),
    Rollup("backlog", "backlog", (*_TEAM, "priority")),
    Rollup("backlog_agent", "backlog", ("agent_id", *_TEAM)),
)


def fingerprint(p: Mapping[str, Any]) -> str:
    """A digest of resolved parameter values: a rollup serves only queries with the same ones."""
    text = json.dumps(p, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _declared() -> dict[str, dict[str, Any]]:
    events = {r.name: {"source": r.source, "dims": list(r.dims), "measures": [m.name for m in r.measures()]} for r in ROLLUPS}
    return events | customer_rollups.declared()


def stored(engine: Engine) -> dict[str, Any] | None:
    """What the warehouse says its rollups hold (None: no rollups, or made by another release).

    Rollups live in the DuckDB warehouse: an engine without its connection has none.
    """
    if engine.raw is None:
        return None
    meta: dict[str, Any] | None = engine.fact(("rollups",), lambda: _read_stored(engine))
    return meta


def _read_stored(engine: Engine) -> dict[str, Any] | None:
    try:
        values = engine.raw.execute("SELECT value FROM warehouse_config WHERE key = ?", [CONFIG_KEY]).fetchall()
    except duckdb.Error:  # not a cxkpi warehouse
        return None
    if not values or values[0][0] is None:
        return None
    meta: dict[str, Any] = json.loads(values[0][0])
    if meta.get("format") != FORMAT or meta.get("version") != __version__:
        return None
    return meta


def held_for(engine: Engine, tz: str, p: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored rollups' metadata by name, when they were built in zone ``tz`` with the
    parameter values ``p`` (None: no rollup can answer such a query)."""
    meta = stored(engine)
    if meta is None or meta.get("tz") != tz or meta.get("params") != fingerprint(p):
        return None
    held: dict[str, Any] = meta.get("rollups", {})
    return held


def _current(meta: dict[str, Any] | None, tz: str, digest: str) -> bool:
    """The stored rollups are the declared ones, for this zone and these parameters."""
    if meta is None or meta.get("tz") != tz or meta.get("params") != digest:
        return False
    declared = _declared()
    held = meta.get("rollups", {})
    return set(held) == set(declared) and all(
        {k: held[n].get(k) for k in ("source", "dims", "measures")} == d for n, d in declared.items()
    )


def _tables_read(expr: Any) -> set[str]:
    return {node.name for node in expr.op().find(ops.DatabaseTable)}


def _finest() -> dict[str, tuple[str, ...]]:
    """Each rolled-up source with the union of its rollups' dimensions."""
    out: dict[str, tuple[str, ...]] = {}
    for r in ROLLUPS:
        out[r.source] = tuple(dict.fromkeys([*out.get(r.source, ()), *r.dims]))
    return out


def _sql_type(dtype: Any) -> str:
    """How a measure is stored: as Ibis types it (DuckDB would keep a sum of flags as a
    HUGEINT, which reads back as a float)."""
    return "BIGINT" if dtype.is_integer() else "DOUBLE"


def _build_source(
    engine: Engine, source: str, tz: str, p: Mapping[str, Any]
) -> tuple[dict[str, int], set[str], list[str] | None]:
    """Rebuild the rollups of one source: the raw daily aggregation by all their dimensions
    once (one scan), then each rollup summed from it. Returns their rows, the tables read
    and, for a snapshot, the span of days it covers (ISO dates; None: no data)."""
    rollups = [r for r in ROLLUPS if r.source == source]
    src = SOURCES[source]
    span: list[str] | None = None
    select = "*"
    reads: set[str] = set()
    if src.shape is Shape.SNAPSHOT:
        engine.facts.clear()  # the span of the data as it is now, in this transaction
        days = _data_span(engine, src, tz)
        has_own = engine.raw.execute(f"SELECT count(*) > 0 FROM {quote(src.table)}").fetchall()[0][0]
        # the default span is the table's own, falling back on the contacts' one when it is empty
        reads = {src.table} if has_own else {src.table, "contacts"}
        if days is None:
            for r in rollups:
                engine.raw.execute(f"DROP TABLE IF EXISTS {quote(r.table)}")
            return {r.name: 0 for r in rollups}, reads, None
        span = [days[0].isoformat(), days[1].isoformat()]
        q = KpiQuery(kpis=(), by=_finest()[source], grain=Grain.DAY, start=days[0], end=days[1], tz=tz, use_rollups=False)
        select = f"* REPLACE (CAST({quote(PERIOD)} AS DATE) AS {quote(PERIOD)})"  # the label of day d, as a date
    else:
        q = KpiQuery(kpis=(), by=_finest()[source], grain=Grain.DAY, tz=tz)
    expr = expression(engine, src, rollups[0].measures(), q, p)
    base = quote(f"_rollup_base_{source}")
    memtables = [op for op in expr.op().find(ops.InMemoryTable)]  # the snapshot's periods
    for op in memtables:
        engine.raw.register(op.name, op.data.to_pyarrow(op.schema))
    try:
        engine.raw.execute(
            f"CREATE OR REPLACE TEMP TABLE {base} AS SELECT {select} FROM ({ibis.to_sql(expr, dialect='duckdb')})"
        )
    finally:
        for op in memtables:
            engine.raw.unregister(op.name)
    rows: dict[str, int] = {}
    for r in rollups:
        keys = ", ".join(quote(c) for c in (*r.dims, PERIOD))
        sums = ", ".join(
            f"CAST(sum({quote(m.name)}) AS {_sql_type(expr.schema()[m.name])}) AS {quote(m.name)}" for m in r.measures()
        )
        engine.raw.execute(
            f"CREATE OR REPLACE TABLE {quote(r.table)} AS SELECT {keys}, {sums} FROM {base} "
            f"GROUP BY {keys} ORDER BY {quote(PERIOD)}"
        )
        rows[r.name] = int(engine.raw.execute(f"SELECT count(*) FROM {quote(r.table)}").fetchall()[0][0])
    engine.raw.execute(f"DROP TABLE {base}")
    return rows, _tables_read(expr) | reads, span


def refresh_rollups(
    target: Engine | duckdb.DuckDBPyConnection,
    tz: str,
    params: Mapping[str, Any] | None = None,
    tables: Iterable[str] | None = None,
) -> dict[str, int]:
    """(Re)build the rollups; returns the rows of each one rebuilt.

    ``tables``: the tables whose rows changed, so only the rollups reading them are
    rebuilt (None: all). Every rollup is rebuilt when the stored ones were made for
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
    changed = set(tables) if tables is not None and meta is not None and _current(meta, tz, digest) else None
    held: dict[str, Any] = dict(meta["rollups"]) if meta is not None and changed is not None else {}
    declared = _declared()
    built: dict[str, int] = {}
    for source in _finest():
        mine = [r for r in ROLLUPS if r.source == source]
        if changed is not None and not any(set(held[r.name]["reads"]) & changed for r in mine):
            continue
        rows, reads, span = _build_source(engine, source, tz, p)
        for r in mine:
            held[r.name] = {**declared[r.name], "rows": rows[r.name], "reads": sorted(reads)}
            if SOURCES[source].shape is Shape.SNAPSHOT:
                held[r.name]["span"] = span
        built |= rows
    if changed is None or customer_rollups.LINKS in changed:
        rows = customer_rollups.build(engine, tz)
        for name, n in rows.items():
            held[name] = {**declared[name], "rows": n, "reads": [customer_rollups.LINKS]}
        built |= rows
    meta = {"format": FORMAT, "version": __version__, "tz": tz, "params": digest, "rollups": held}
    engine.raw.execute("INSERT OR REPLACE INTO warehouse_config VALUES (?, ?)", [CONFIG_KEY, json.dumps(meta)])
    engine.facts.clear()  # the facts this engine remembered (rollup tables, their metadata) changed
    return built


def refresh_after_change(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, int]:
    """Rebuild the rollups reading ``tables`` in the warehouse's reporting zone (default UTC)."""
    rows = con.execute("SELECT value FROM warehouse_config WHERE key = 'reporting_tz'").fetchall()
    tz = rows[0][0] if rows and rows[0][0] else "UTC"
    return refresh_rollups(con, tz, tables=tables)


def rollup_expression(
    engine: Engine, source: Source, measures: Sequence[Measure], q: KpiQuery, p: Mapping[str, Any]
) -> Any:
    """The aggregation of ``measures`` for ``q`` read from a rollup, with the columns and
    types of ``engine.expression``; None when no rollup can answer it exactly."""
    if source.shape is Shape.SNAPSHOT:
        return _snapshot_expression(engine, source, measures, q, p)
    if source.name == customer_rollups.SOURCE:
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


def answered_weeks(engine: Engine, tz: str, p: Mapping[str, Any]) -> Any:
    """The (agent_id, ``_week``) pairs where the agent answered an inbound contact in that
    local ISO week, read from the agents' contact rollup (None: no current one for ``tz``).
    A day row counting an answered contact is exactly a day with one."""
    held = held_for(engine, tz, p)
    r = next(r for r in ROLLUPS if r.source == "contacts" and "agent_id" in r.dims)
    if held is None or r.name not in held:
        return None
    t = engine.table(r.table)
    t = t.filter(t.agent_id.notnull() & (t.answered > 0))
    return t.select("agent_id", _week=t[PERIOD].truncate("W").cast("date")).distinct()


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
        span = _data_span(engine, source, q.tz)
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
