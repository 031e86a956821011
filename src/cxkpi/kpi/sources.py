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
from datetime import UTC, datetime
from typing import Any

import ibis

from cxkpi.kpi.calendar import DEFAULT_KEY, MAX_SEGMENTS
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
    monthly: bool = False  # SNAPSHOT: look at every month, then add months up to the grain
    base: Callable[[Engine, Mapping[str, Any], Mapping[str, Any]], Any] | None = None  # built from several tables


def _contacts(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    """Per-contact flags and durations used by every contact KPI (SPEC §3)."""
    if ctx.get("business"):
        t = with_business_time(engine, t, business_key(t.channel, ctx["calendar_keys"]), ("created_at", "answered_at", "ended_at"), ctx)
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
    if ctx.get("business"):
        t = t.mutate(
            _wait_b_s=ibis.ifelse(answered, (t._F_answered_at - t._F_created_at).cast("float64") / 1e6, ibis.null()),
            _handle_b_s=ibis.ifelse(
                answered & t.ended_at.notnull(),
                (t._F_ended_at - t._F_answered_at).cast("float64") / 1e6 + t.wrap_seconds.fill_null(0.0),
                ibis.null(),
            ),
            _comm_b_s=ibis.ifelse(answered & t.ended_at.notnull(), (t._F_ended_at - t._F_created_at).cast("float64") / 1e6, ibis.null()),
            _offered_open=offered & t._O_created_at,
            _answered_in_t_open=answered & within_t.fill_null(False) & t._O_created_at,
            _answered_open=answered & t._O_created_at,
            _abandoned_in_t_open=abandoned & ~short_abandon & (end_wait_s <= threshold).fill_null(False) & t._O_created_at,
        )
    return t.mutate(
        _inbound=inbound,
        _answered=answered,
        _offered=offered,
        _abandoned=abandoned & ~short_abandon,
        _short_abandon=short_abandon,
        _wait_s=ibis.ifelse(answered, wait_s, ibis.null()),
        _answered_in_t=answered & within_t.fill_null(False),
        _abandoned_in_t=abandoned & ~short_abandon & (end_wait_s <= threshold).fill_null(False),
        _handle_s=ibis.ifelse(answered & t.ended_at.notnull(), handle_s, ibis.null()),
        _comm_s=ibis.ifelse(answered & t.ended_at.notnull(), comm_s, ibis.null()),
        _fcr_base=fcr_base,
        _fcr_ok=fcr_base & (next_us.isnull() | (next_us > created_us + window_us)),
        _selfcare=inbound & ((t.outcome == "deflected") | (t.channel == "selfcare")),
        _digital=inbound & t.channel.isin(DIGITAL_CHANNELS),
        _transfer_known=answered & t.transferred.notnull(),
        _transferred=answered & t.transferred.fill_null(False),
        _conversion_known=answered & t.converted.notnull(),
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


def _seconds(engine: Engine, a: Any, b: Any) -> Any:
    return engine.seconds_between(a, b)


def _cases_closed(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    """Closed cases with their resolution time and number of contacts (kept on the case at
    import in the warehouse; counted here when a table lacks it)."""
    closed = t.filter(t.closed_at.notnull())
    if "contact_count" in t.columns:
        joined = closed.mutate(_n_contacts=closed.contact_count)
    else:
        contacts = engine.table("contacts")
        with_case = contacts.filter(contacts.case_id.notnull())
        per_case = with_case.group_by("case_id").aggregate(_n_contacts=with_case.count())
        joined = closed.left_join(per_case, "case_id").select(closed, per_case._n_contacts)
    joined = joined.mutate(
        _res_s=_seconds(engine, joined.opened_at, joined.closed_at),
        _n_contacts=joined._n_contacts.fill_null(0).cast("int64"),
    )
    if ctx.get("business"):
        joined = with_business_time(engine, joined, business_key(joined.channel, ctx["calendar_keys"]), ("opened_at", "closed_at"), ctx)
        joined = joined.mutate(_res_b_s=(joined._F_closed_at - joined._F_opened_at).cast("float64") / 1e6)
    return joined


def _backlog(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    """Cases open at each period's end: opened_at <= end < closed_at, or never closed."""
    # two plain inequalities (no OR) let the engine use a range join of cases and periods
    never = ibis.literal(datetime(9999, 1, 1, tzinfo=UTC), type="timestamp('UTC')")
    open_ = t.filter((t.opened_at <= t._end) & (t.closed_at.fill_null(never) > t._end))
    if ctx.get("business"):
        open_ = with_business_time(engine, open_, business_key(open_.channel, ctx["calendar_keys"]), ("opened_at", "_end"), ctx)
        open_ = open_.mutate(_age_b_s=(open_._F__end - open_._F_opened_at).cast("float64") / 1e6)
    age = _seconds(engine, open_.opened_at, open_._end)
    day = 86_400.0
    return open_.mutate(
        _age_s=age,
        _lt1d=age < day,
        _1_3d=(age >= day) & (age < 3 * day),
        _3_7d=(age >= 3 * day) & (age < 7 * day),
        _gt7d=age >= 7 * day,
    )


STATE_GROUPS = {
    "_productive_s": ("available", "handling", "wrap"),
    "_busy_s": ("handling", "wrap"),
    "_shrink_s": ("break", "training", "meeting", "absence"),
}


def _agent_states(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    """State durations; a state interval counts in the period where it starts."""
    dur = _seconds(engine, t.start_at, t.end_at)
    cols = {name: ibis.ifelse(t.state.isin(states), dur, 0.0) for name, states in STATE_GROUPS.items()}
    cols["_present_s"] = ibis.ifelse(t.state != "offline", dur, 0.0)
    return t.mutate(**cols)


SURVEY_CONTACT_DIMS = ("channel", "queue", "team", "site", "reason", "product", "segment")


def _with_contact_dims(engine: Engine, t: Any) -> Any:
    """Surveys seen with the dimensions of the contact they follow (agent: the survey's, else the contact's)."""
    c = engine.table("contacts")
    dims = c.select("contact_id", *SURVEY_CONTACT_DIMS, _contact_agent=c.agent_id)
    joined = t.left_join(dims, "contact_id").select(t, *(dims[d] for d in SURVEY_CONTACT_DIMS), dims._contact_agent)
    return joined.mutate(agent_id=joined.agent_id.fill_null(joined._contact_agent))


def _responses(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    t = _with_contact_dims(engine, t).filter(lambda r: r.responded_at.notnull())
    top = int(p["csat_top_box"])
    return t.mutate(
        _csat_top=(t.csat >= top).fill_null(False),
        _promoter=(t.nps >= 9).fill_null(False),
        _detractor=(t.nps <= 6).fill_null(False),
        _csat=t.csat.cast("float64"),
        _sentiment=t.sentiment.cast("float64"),
        _negative=(t.sentiment < p["negative_sentiment_below"]).fill_null(False) & t.sentiment.notnull(),
        _nps=t.nps.cast("float64"),
        _ces=t.ces.cast("float64"),
    )


def _sent(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    t = _with_contact_dims(engine, t).filter(lambda r: r.sent_at.notnull())
    return t.mutate(_responded=t.responded_at.notnull())


def _evaluation_stage(t: Any, p: Mapping[str, Any]) -> dict[str, Any]:
    """One evaluation: 100 × Σ(weight × score / max_score) / Σ weight; none when every
    criterion weighs 0 (nothing was scored)."""
    w = t.weight.fill_null(1.0)
    total = w.sum()
    return {"_score": ibis.ifelse(total > 0, 100.0 * (w * t.score / t.max_score).sum() / total, ibis.null("float64"))}


def _customer_contacts(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    return t.filter((t.direction == "inbound") & t.customer_id.notnull())


def _customer_stage(t: Any, p: Mapping[str, Any]) -> dict[str, Any]:
    return {"_contacts": t.count()}


def _customers(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    """Customers seen at each period: active at its start, churned in it, still active at its end,
    active at some time in it, and in contact (an inbound contact in it)."""
    contacts = engine.table("contacts")
    inbound = contacts.filter((contacts.direction == "inbound") & contacts.customer_id.notnull())
    windows = ctx["periods"]
    touched = (
        inbound.cross_join(windows)
        .filter(lambda r: (r.created_at >= r._start) & (r.created_at < r._end))
        .select("customer_id", "_pstart")
        .distinct()
        .mutate(_touched=ibis.literal(True))
    )
    c = t.left_join(touched, ["customer_id", "_pstart"]).select(t, touched._touched)
    acquired, churned_at = c.acquired_at, c.churned_at
    # a customer is active up to and including the churn instant, so a churn exactly at a
    # period start falls in that period (SPEC §3: the period its churned_at falls in)
    active_start = (acquired.isnull() | (acquired <= c._start)) & (churned_at.isnull() | (churned_at >= c._start))
    active_during = (acquired.isnull() | (acquired < c._end)) & (churned_at.isnull() | (churned_at >= c._start))
    return c.mutate(
        _active_start=active_start,
        _churned=active_start & (churned_at >= c._start) & (churned_at < c._end),
        _retained=active_start & (churned_at.isnull() | (churned_at >= c._end)),
        _active=active_during,
        _engaged=active_during & c._touched.fill_null(False),
    )


def _revenue(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    customers = engine.table("customers").select("customer_id", "segment")
    joined = t.left_join(customers, "customer_id").select(t, customers.segment)
    return joined.mutate(_margin=joined.revenue.fill_null(0.0) - joined.cost.fill_null(0.0))


def _cashflows(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    return t.mutate(
        _in=ibis.ifelse(t.direction == "in", t.amount, 0.0),
        _out=ibis.ifelse(t.direction == "out", t.amount, 0.0),
    )


def _loans(engine: Engine, t: Any, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    outstanding = t.outstanding.fill_null(0.0)
    live = outstanding > 0
    late = live & (t.days_past_due.fill_null(0) >= int(p["delinquency_days"]))
    return t.mutate(_live=live, _late=late, _live_balance=ibis.ifelse(live, outstanding, 0.0), _late_balance=ibis.ifelse(late, outstanding, 0.0))


def _agent_weeks(engine: Engine, p: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    """(agent, ISO week) pairs where the agent answered contacts, with that week's evaluations.

    The pairs come from the agents' daily contact rollup when it is current (the same
    days, already counted), else from the contacts."""
    tz = ctx["tz"]
    from_rollup = ctx.get("answered_weeks")  # given by the scan when rollups may answer
    weeks = from_rollup() if from_rollup is not None else None
    if weeks is None:
        c = engine.table("contacts")
        answered = c.filter((c.direction == "inbound") & c.answered_at.notnull() & c.agent_id.notnull())
        weeks = answered.mutate(_week=engine.local_time(answered.created_at, tz).truncate("W").cast("date")).select(
            "agent_id", "_week"
        ).distinct()
    e = engine.table("evaluations")
    per_eval = e.group_by("evaluation_id").aggregate(
        agent_id=e.agent_id.arbitrary(), evaluated_at=e.evaluated_at.min(), mode=e.mode.arbitrary()
    )
    per_eval = per_eval.mutate(_week=engine.local_time(per_eval.evaluated_at, tz).truncate("W").cast("date"))
    ev = per_eval.group_by(["agent_id", "_week"]).aggregate(
        _evals=per_eval.count(),
        _cold=(per_eval.mode == "cold").sum(),
        _live=(per_eval.mode == "live").sum(),
    )
    joined = weeks.left_join(ev, ["agent_id", "_week"]).select(weeks, ev._evals, ev._cold, ev._live)
    return joined.mutate(
        _covered=(joined._evals.fill_null(0) >= 3) & (joined._cold.fill_null(0) >= 1) & (joined._live.fill_null(0) >= 1)
    )


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("contacts", "contacts", "created_at", CONTACT_DIMS, enrich=_contacts),
        Source("contact_customers", "contacts", "created_at", CONTACT_DIMS, shape=Shape.TWO_STAGE,
               enrich=_customer_contacts, entity="customer_id", stage=_customer_stage),
        Source("cases_closed", "cases", "closed_at", ("channel", "status", "reason", "priority", "team", "site", "agent_id"),
               enrich=_cases_closed),
        Source("backlog", "cases", "opened_at", ("channel", "status", "reason", "priority", "team", "site", "agent_id"),
               shape=Shape.SNAPSHOT, enrich=_backlog),
        Source("agent_states", "agent_states", "start_at", ("agent_id",), enrich=_agent_states),
        Source("responses", "surveys", "responded_at", ("mode", "language", "agent_id", *SURVEY_CONTACT_DIMS),
               enrich=_responses),
        Source("surveys_sent", "surveys", "sent_at", ("mode", "language", "agent_id", *SURVEY_CONTACT_DIMS), enrich=_sent),
        Source("evaluations", "evaluations", "evaluated_at", ("agent_id", "evaluator_id", "mode"), shape=Shape.TWO_STAGE,
               entity="evaluation_id", stage=_evaluation_stage),
        Source("agent_weeks", "contacts", "_week", ("agent_id",), is_date=True, base=_agent_weeks),
        Source("customers", "customers", "acquired_at", ("segment",), shape=Shape.SNAPSHOT, enrich=_customers),
        Source("customer_months", "customers", "acquired_at", ("segment",), shape=Shape.SNAPSHOT, enrich=_customers,
               monthly=True),
        Source("revenue", "customer_revenue", "period", ("segment",), is_date=True, enrich=_revenue),
        Source("cashflows", "cashflows", "date", ("category", "team"), is_date=True, enrich=_cashflows),
        Source("loans", "loans", "snapshot_date", (), is_date=True, enrich=_loans, latest_only=True),
    )
}


def with_business_time(engine: Engine, t: Any, key: Any, columns: tuple[str, ...], ctx: Mapping[str, Any]) -> Any:
    """Add ``_F_<col>``: open microseconds of the calendar from its start to each timestamp.

    ``key`` picks the calendar's hours per row (the channel, or ``*``); business time
    between two timestamps is the difference of their F values (see kpi.calendar).
    """
    days = ctx["open_days"]
    t = t.mutate(_bkey=key)
    for col in columns:
        day = engine.local_time(t[col], ctx["calendar_tz"]).cast("date")
        t = t.mutate(_bday=day)
        d = days.view()
        joined = t.left_join(d, [t._bkey == d._bk, t._bday == d._day])
        us = engine.epoch_us(joined[col])
        inside = [
            ibis.greatest(ibis.least(us, joined[f"_e{i}"]) - joined[f"_s{i}"], 0).fill_null(0)
            for i in range(MAX_SEGMENTS)
        ]
        value = joined._cum_us + sum(inside[1:], inside[0])
        is_open = ibis.or_(*[((us >= joined[f"_s{i}"]) & (us < joined[f"_e{i}"])).fill_null(False) for i in range(MAX_SEGMENTS)])
        t = joined.select(
            *[joined[c] for c in t.columns if c != "_bday"],
            **{f"_F_{col}": ibis.ifelse(us.notnull(), value, ibis.null()), f"_O_{col}": is_open},
        )
    return t.drop("_bkey")


def business_key(channel: Any, keys: list[str]) -> Any:
    """The calendar key of a row: its channel when the calendar has hours for it, else ``*``."""
    specific = [k for k in keys if k != DEFAULT_KEY]
    if not specific:
        return ibis.literal(DEFAULT_KEY)
    return ibis.ifelse(channel.isin(specific), channel, DEFAULT_KEY)
