"""Reading the daily rollups of distinct customers: repeat contacts without grouping contacts by customer.

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
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cxkpi.kpi.model import Grain, Measure
from cxkpi.kpi.periods import next_start, period_start
from cxkpi.kpi.query import PERIOD, KpiQuery
from cxkpi.kpi.rollup_meta import CUSTOMER_ROLLUPS, CUSTOMER_SOURCE, FLAGS
from cxkpi.kpi.scan import days_by_period, local_span, source_filters
from cxkpi.kpi.sources import Source
from cxkpi.warehouse.engines import Engine

SOURCE = CUSTOMER_SOURCE


def _whole_periods(engine: Engine, q: KpiQuery) -> bool:
    """The range cuts no period: its ends are period bounds (grain all: it holds every contact)."""
    if q.grain is Grain.ALL:
        if q.start is None and q.end is None:
            return True
        span = local_span(engine, "contacts", ["created_at"], ZoneInfo(q.tz))
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
