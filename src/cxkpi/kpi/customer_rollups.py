"""Daily rollups of distinct customers: repeat contacts without grouping contacts by customer.

``repeat_contact_rate`` counts distinct customers per period (those with an inbound
contact, those with two or more): not a sum over days, so the additive rollups
(``kpi.rollups``) cannot hold it, and the raw answer groups every contact by customer.
But with each contact linked to its customer's previous and next inbound contact
(``contact_links``, kept by the importer), a contact is its customer's first of a period
when its predecessor is before the period's start, and that customer has another contact
in the period when the successor of that first one is before the period's end. For each
grain these are flags of one row, so their sums over the days of a period are the two
distinct counts, exactly. A rollup stores, per local day, both sums for every grain
(``first_<grain>``, ``again_<grain>``; ``all``: no predecessor at all).

A customer counts once per group, so the links must be taken within the group: the
rollup by channel uses links between contacts on the same channel, the one by agent
links with the same agent. A rollup therefore answers only queries grouped by exactly its
dimensions (filters on them allowed), in the zone it was built in, over whole periods: a
range cut inside a period (or, for grain all, inside the data) falls back to the raw rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from cxkpi.kpi.engine import PERIOD, KpiQuery, _local_span, days_by_period, local_date, source_filters
from cxkpi.kpi.model import Grain, Measure
from cxkpi.kpi.periods import local_midnight_utc, next_start, period_start
from cxkpi.kpi.sources import Source
from cxkpi.warehouse import quote
from cxkpi.warehouse.derived import LINK_PARTITIONS
from cxkpi.warehouse.engines import Engine

SOURCE = "contact_customers"
LINKS = "contact_links"
# measure -> the flag summed for it
FLAGS = {"customers_in_contact": "first", "customers_repeating": "again"}
PERIOD_GRAINS = (Grain.DAY, Grain.WEEK, Grain.MONTH, Grain.QUARTER, Grain.YEAR)


@dataclass(frozen=True)
class CustomerRollup:
    """Distinct customers per local day and ``dims``, for every grain."""

    name: str
    dims: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"rollup_{self.name}"

    @property
    def links(self) -> tuple[str, str]:
        """The predecessor and successor columns of ``contact_links`` within these dims."""
        infix = LINK_PARTITIONS[self.dims]
        return f"prev_{infix}contact_at", f"next_{infix}contact_at"


CUSTOMER_ROLLUPS: tuple[CustomerRollup, ...] = tuple(
    CustomerRollup("_".join([SOURCE, *(d.removesuffix("_id") for d in dims)]), dims) for dims in LINK_PARTITIONS
)


def declared() -> dict[str, dict[str, Any]]:
    """What each rollup holds, as the rollups' metadata records it."""
    return {r.name: {"source": SOURCE, "dims": list(r.dims), "measures": list(FLAGS)} for r in CUSTOMER_ROLLUPS}


def _calendar(first: date, last: date, tz: str) -> pa.Table:
    """Each local day with the UTC bounds of its period of every grain."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    columns: dict[str, Any] = {"day": pa.array(days, pa.date32())}
    utc = pa.timestamp("us", tz="UTC")
    for g in PERIOD_GRAINS:
        starts = [period_start(d, g) for d in days]
        columns[f"s_{g.value}"] = pa.array([local_midnight_utc(s, tz) for s in starts], utc)
        columns[f"e_{g.value}"] = pa.array([local_midnight_utc(next_start(s, g), tz) for s in starts], utc)
    return pa.table(columns)


def build(engine: Engine, tz: str) -> dict[str, int]:
    """(Re)build every customer rollup in zone ``tz`` from ``contact_links``; their rows."""
    con = engine.raw
    lo, hi = con.execute(f"SELECT min(created_at), max(created_at) FROM {LINKS}").fetchall()[0]
    zone = ZoneInfo(tz)
    first, last = local_date(lo, zone), local_date(hi, zone)
    calendar = _calendar(first, last, tz) if first and last else _calendar(date(2000, 1, 1), date(2000, 1, 1), tz)
    name = "_cxkpi_rollup_calendar"
    con.register(name, calendar)
    rows: dict[str, int] = {}
    try:
        for r in CUSTOMER_ROLLUPS:
            prev, nxt = (f"l.{quote(c)}" for c in r.links)
            sums = []
            for g in PERIOD_GRAINS:
                is_first = f"({prev} IS NULL OR {prev} < k.s_{g.value})"
                sums.append(f"count(*) FILTER ({is_first}) AS first_{g.value}")
                sums.append(f"count(*) FILTER ({is_first} AND {nxt} < k.e_{g.value}) AS again_{g.value}")
            sums.append(f"count(*) FILTER ({prev} IS NULL) AS first_all")
            sums.append(f"count(*) FILTER ({prev} IS NULL AND {nxt} IS NOT NULL) AS again_all")
            dims = "".join(f"l.{quote(d)}, " for d in r.dims)
            zone_sql = "'" + tz.replace("'", "''") + "'"
            con.execute(
                f"CREATE OR REPLACE TABLE {quote(r.table)} AS "
                f"SELECT {dims}l._day AS {quote(PERIOD)}, {', '.join(sums)} "
                f"FROM (SELECT *, CAST(timezone({zone_sql}, created_at) AS DATE) AS _day FROM {LINKS}) l "
                f"JOIN {name} k ON k.day = l._day GROUP BY ALL ORDER BY {quote(PERIOD)}"
            )
            rows[r.name] = int(con.execute(f"SELECT count(*) FROM {quote(r.table)}").fetchall()[0][0])
    finally:
        con.unregister(name)
    return rows


def _whole_periods(engine: Engine, q: KpiQuery) -> bool:
    """The range cuts no period: its ends are period bounds (grain all: it holds every contact)."""
    if q.grain is Grain.ALL:
        if q.start is None and q.end is None:
            return True
        span = _local_span(engine, "contacts", ["created_at"], ZoneInfo(q.tz))
        return span is None or ((q.start is None or q.start <= span[0]) and (q.end is None or q.end >= span[1]))
    starts = q.start is None or period_start(q.start, q.grain) == q.start
    ends = q.end is None or next_start(period_start(q.end, q.grain), q.grain) == q.end + timedelta(days=1)
    return starts and ends


def expression(
    engine: Engine, source: Source, measures: Sequence[Measure], q: KpiQuery, held: Mapping[str, Any]
) -> Any:
    """The distinct-customer measures of ``q`` read from a customer rollup (the rollups
    ``held`` were built in the query's zone), or None when none answers it exactly."""
    if source.name != SOURCE or not measures or any(m.name not in FLAGS for m in measures):
        return None
    r = next((r for r in CUSTOMER_ROLLUPS if set(r.dims) == set(q.by)), None)
    filters = source_filters(source, q)
    if r is None or r.name not in held or not set(filters) <= set(r.dims) or not _whole_periods(engine, q):
        return None
    t = days_by_period(engine.table(r.table), q, filters)
    flag = {m.name: f"{FLAGS[m.name]}_{q.grain.value}" for m in measures}
    return t.group_by([*q.by, PERIOD]).aggregate(**{m: t[c].sum().cast("int64") for m, c in flag.items()})
