"""Sources of measures: a canonical table, the timestamp that assigns its rows to periods,
the derived columns every measure of it shares, and how rows meet periods.

Three shapes cover SPEC §3:
- events: each row falls in the period of its timestamp (contacts by created_at...);
- two-stage events: rows are first grouped per entity (a customer, an evaluation), then
  the entities are aggregated (repeat contacts, quality score);
- snapshots: each row is looked at at every period's start/end (backlog, churn, retention).
All derived columns are Ibis expressions, so every source runs on every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import ibis

from cxkpi.kpi.params import DIGITAL_CHANNELS
from cxkpi.warehouse.engines import Engine

CONTACT_DIMS = ("channel", "queue", "team", "site", "agent_id", "reason", "product", "segment", "language", "direction")


class Shape(StrEnum):
    EVENTS = "events"
    TWO_STAGE = "two_stage"
    SNAPSHOT = "snapshot"


@dataclass(frozen=True)
class Source:
    """Where measures come from.

    ``enrich(engine, table, params, ctx)`` adds derived columns; ``time_column`` assigns
    periods (``is_date``: a DATE, no time zone); for TWO_STAGE, ``entity`` names the column
    grouped first and ``stage`` aggregates one entity's rows; for SNAPSHOT, rows are
    joined to every period and see its bounds as ``_start`` and ``_end``.
    """

    name: str
    table: str
    time_column: str
    dimensions: tuple[str, ...]
    shape: Shape = Shape.EVENTS
    enrich: Callable[[Engine, Any, Mapping[str, Any], Mapping[str, Any]], Any] | None = None
    is_date: bool = False
    entity: str | None = None
    stage: Callable[[Any, Mapping[str, Any]], dict[str, Any]] | None = None
    latest_only: bool = False  # keep only the period's latest value of time_column (loan snapshots)


def _contacts(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    """Per-contact flags and durations used by every contact KPI (SPEC §3)."""
    inbound = t.direction == "inbound"
    wait_s = engine.seconds_between(t.created_at, t.answered_at)
    end_wait_s = engine.seconds_between(t.created_at, t.ended_at)
    handle_s = engine.seconds_between(t.answered_at, t.ended_at) + t.wrap_seconds.fill_null(0.0)
    comm_s = engine.seconds_between(t.created_at, t.ended_at)
    threshold = _threshold(t.channel, p["answer_threshold_s"])
    short = p["short_abandon_s"]
    abandoned = inbound & (t.outcome == "abandoned")
    short_abandon = abandoned & end_wait_s.notnull() & (end_wait_s < short)
    answered = inbound & t.answered_at.notnull()
    offered = inbound & t.outcome.isin(("answered", "abandoned")) & ~short_abandon
    window_us = int(p["fcr_window_days"] * 86_400_000_000)
    data_end_us = ctx["data_end_us"]
    created_us = engine.epoch_us(t.created_at)
    next_col = "next_same_reason_at" if p["fcr_same_reason"] else "next_inbound_at"
    next_us = engine.epoch_us(t[next_col])
    fcr_base = answered & t.customer_id.notnull() & (created_us + window_us <= data_end_us)
    within_t = wait_s <= threshold
    return t.mutate(
        _inbound=inbound,
        _answered=answered,
        _offered=offered,
        _abandoned=abandoned & ~short_abandon,
        _short_abandon=short_abandon,
        _wait_s=ibis.ifelse(answered, wait_s, ibis.null()),
        _answered_in_t=answered & within_t.fill_null(False),
        _abandoned_in_t=abandoned & ~short_abandon & (end_wait_s <= threshold).fill_null(False),
        _handle_s=ibis.ifelse(t.answered_at.notnull() & t.ended_at.notnull(), handle_s, ibis.null()),
        _comm_s=ibis.ifelse(t.answered_at.notnull() & t.ended_at.notnull(), comm_s, ibis.null()),
        _fcr_base=fcr_base,
        _fcr_ok=fcr_base & (next_us.isnull() | (next_us > created_us + window_us)),
        _selfcare=inbound & ((t.outcome == "deflected") | (t.channel == "selfcare")),
        _digital=inbound & t.channel.isin(DIGITAL_CHANNELS),
        _transferred=answered & t.transferred.fill_null(False),
        _converted=answered & t.converted.fill_null(False),
    )


def _threshold(channel: Any, thresholds: Mapping[str, float]) -> Any:
    """The answer threshold T of each contact's channel (null for channels with none)."""
    expr = ibis.cases(*((channel == name, float(s)) for name, s in thresholds.items()), else_=ibis.null("float64"))
    return expr


def with_next_inbound(engine: Engine, t: Any) -> Any:
    """Add ``next_inbound_at`` and ``next_same_reason_at`` when the table lacks them.

    For an inbound contact with a customer: the time of the same customer's next inbound
    contact strictly after it, on any channel (and for the same reason); null otherwise.
    The DuckDB warehouse keeps both up to date at import; this portable computation
    serves other engines, and a test proves the two agree.
    """
    if "next_inbound_at" in t.columns and "next_same_reason_at" in t.columns:
        return t
    inbound = t.filter((t.direction == "inbound") & t.customer_id.notnull())
    times = inbound.select("customer_id", "created_at").distinct()
    times = times.mutate(next_inbound_at=times.created_at.lead().over(group_by="customer_id", order_by="created_at"))
    same = inbound.select("customer_id", "reason", "created_at").distinct()
    same = same.mutate(
        next_same_reason_at=same.created_at.lead().over(group_by=["customer_id", "reason"], order_by="created_at")
    )
    out = t.drop(*[c for c in ("next_inbound_at", "next_same_reason_at") if c in t.columns])
    joined = out.left_join(times, ["customer_id", "created_at"]).select(out, times.next_inbound_at)
    joined = joined.left_join(same, ["customer_id", "reason", "created_at"]).select(joined, same.next_same_reason_at)
    inbound_customer = (joined.direction == "inbound") & joined.customer_id.notnull()
    return joined.mutate(
        next_inbound_at=ibis.ifelse(inbound_customer, joined.next_inbound_at, ibis.null()),
        next_same_reason_at=ibis.ifelse(inbound_customer, joined.next_same_reason_at, ibis.null()),
    )


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("contacts", "contacts", "created_at", CONTACT_DIMS, enrich=_contacts),
    )
}
