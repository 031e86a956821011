"""What the daily rollups hold: their declarations, and whether the stored ones are current.

A rollup is a raw aggregation at grain day in the reporting zone, grouped by a few
declared dimensions (``ROLLUPS``), or the distinct-customer flags summed per day
(``CUSTOMER_ROLLUPS``). The stored metadata says in which zone and with which parameter
values they were built; a rollup serves only queries with the same ones. Reading rollups
is ``kpi.rollups``; building them, ``kpi.rollup_build``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cxkpi import __version__
from cxkpi.kpi.catalogue import MEASURES
from cxkpi.kpi.model import Grain, Measure
from cxkpi.kpi.query import PERIOD
from cxkpi.warehouse.derived import LINK_PARTITIONS
from cxkpi.warehouse.engines import Engine
from cxkpi.warehouse.rollup_store import read_meta

FORMAT = 1  # bump when what a rollup stores changes meaning: older rollups are then ignored

CUSTOMER_SOURCE = "contact_customers"
# measure -> the flag summed for it
FLAGS = {"customers_in_contact": "first", "customers_repeating": "again"}
PERIOD_GRAINS = (Grain.DAY, Grain.WEEK, Grain.MONTH, Grain.QUARTER, Grain.YEAR)

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
    if m.source == CUSTOMER_SOURCE:
        return m.name in FLAGS
    return m.additive or m.name in SNAPSHOT_MEASURES.get(m.source, frozenset())


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
    CustomerRollup("_".join([CUSTOMER_SOURCE, *(d.removesuffix("_id") for d in dims)]), dims) for dims in LINK_PARTITIONS
)


def finest() -> dict[str, tuple[str, ...]]:
    """Each rolled-up source with the union of its rollups' dimensions."""
    out: dict[str, tuple[str, ...]] = {}
    for r in ROLLUPS:
        out[r.source] = tuple(dict.fromkeys([*out.get(r.source, ()), *r.dims]))
    return out


def declared() -> dict[str, dict[str, Any]]:
    """What each rollup holds, as the rollups' metadata records it."""
    events = {r.name: {"source": r.source, "dims": list(r.dims), "measures": [m.name for m in r.measures()]} for r in ROLLUPS}
    customers = {r.name: {"source": CUSTOMER_SOURCE, "dims": list(r.dims), "measures": list(FLAGS)} for r in CUSTOMER_ROLLUPS}
    return events | customers


def fingerprint(p: Mapping[str, Any]) -> str:
    """A digest of resolved parameter values: a rollup serves only queries with the same ones."""
    text = json.dumps(p, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stored(engine: Engine) -> dict[str, Any] | None:
    """What the warehouse says its rollups hold (None: no rollups, or made by another release).

    Rollups live in the DuckDB warehouse: an engine without its connection has none.
    """
    if engine.raw is None:
        return None
    meta: dict[str, Any] | None = engine.fact(("rollups",), lambda: _current_release(read_meta(engine.raw)))
    return meta


def _current_release(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    if meta is None or meta.get("format") != FORMAT or meta.get("version") != __version__:
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
