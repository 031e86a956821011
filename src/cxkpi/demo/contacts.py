"""Contacts: the simulated queue contacts and the self-care sessions, with their details.

The queue decides when a contact was answered and by whom, whether it was abandoned or
turned into a callback, and whether the agent resolved it. What does not feed back into
the queue is drawn here: hold time inside the talk (phone and video only), transfers
(more likely for complex reasons, at the outsourcer and when unresolved) and sales
(by reason and channel, better agents sell more, unresolved customers rarely buy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from cxkpi.demo import arrow
from cxkpi.demo.arrivals import Arrivals
from cxkpi.demo.calendar import Calendar
from cxkpi.demo.queue import QueueResult
from cxkpi.demo.reference import (
    ANSWERED,
    CHANNEL_CONVERSION,
    CONVERSION,
    DEFLECTED,
    DROPPED,
    HOLD_PROB,
    LANGUAGES,
    NEW,
    OUTBOUND_CALLBACK,
    PATRIMONIAL,
    PHONE,
    PRODUCT_LABELS,
    QUEUES,
    RABAT,
    REASONS,
    SEGMENTS,
    SELFCARE,
    SITES,
    TEAMS,
    TRANSFER,
    VIDEO,
)
from cxkpi.demo.staffing import Staff
from cxkpi.schema.tables import CHANNELS, DIRECTIONS, OUTCOMES


@dataclass(frozen=True)
class Contacts:
    """All contacts in created-at order (the order of their ids)."""

    t: np.ndarray
    start: np.ndarray  # when an agent took it (also unreached callbacks); NaN if never
    answered: np.ndarray  # NaN if never answered
    ended: np.ndarray
    channel: np.ndarray
    outbound: np.ndarray  # bool
    issue: np.ndarray
    kind: np.ndarray
    outcome: np.ndarray
    agent: np.ndarray  # -1 if no agent
    server: np.ndarray
    hold: np.ndarray  # NaN if not applicable
    wrap: np.ndarray  # NaN if not applicable
    transferred: np.ndarray  # int8 1/0/-1
    resolved: np.ndarray
    converted: np.ndarray
    case: np.ndarray  # case index, -1 if none (set by the cases module)

    @property
    def n(self) -> int:
        return int(self.t.size)


def assemble_contacts(arr: Arrivals, q: QueueResult, staff: Staff, rng: np.random.Generator) -> Contacts:
    """Merge queue contacts and self-care sessions, and draw hold, transfer and sale."""
    keep = q.outcome != DROPPED
    n_q = int(keep.sum())
    n_s = arr.self_t.size
    t = np.concatenate([q.t[keep], arr.self_t])
    issue = np.concatenate([q.issue[keep], arr.self_issue])
    kind = np.concatenate([q.kind[keep], np.full(n_s, NEW, np.int8)])
    order = np.lexsort((kind, issue, t))

    def cat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.concatenate([a, b])[order]
        return out

    t, issue, kind = t[order], issue[order], kind[order]
    channel = cat(q.channel[keep], np.full(n_s, SELFCARE, np.int8))
    outcome = cat(q.outcome[keep], np.full(n_s, DEFLECTED, np.int8))
    server = cat(q.server[keep], np.full(n_s, -1, np.int32))
    start = cat(q.start[keep], np.full(n_s, np.nan))
    ended = cat(q.end[keep], arr.self_end)
    wrap_raw = cat(q.wrap[keep], np.zeros(n_s))
    resolved = cat(q.resolved[keep], arr.self_resolved.astype(np.int8))
    self_conv = cat(np.zeros(n_q, np.int8), arr.self_converted.astype(np.int8))

    answered_mask = outcome == ANSWERED
    answered = np.where(answered_mask, start, np.nan)
    agent = np.where(server >= 0, staff.server_agent[np.maximum(server, 0)], -1).astype(np.int32)
    skill = np.where(agent >= 0, staff.agent_skill[np.maximum(agent, 0)], 0.0)
    rabat = (agent >= 0) & (staff.agent_site[np.maximum(agent, 0)] == RABAT)
    reason = arr.issue_reason[issue]
    n = t.size

    voice = answered_mask & ((channel == PHONE) | (channel == VIDEO))
    talk = ended - answered
    p_hold = np.asarray(HOLD_PROB)[reason] + 0.08 * rabat
    has_hold = voice & (rng.random(n) < p_hold)
    hold_len = np.floor(np.exp(np.log(50.0) + 0.8 * rng.standard_normal(n)))
    hold = np.where(voice, np.where(has_hold, np.minimum(hold_len, np.floor(0.5 * np.nan_to_num(talk))), 0.0), np.nan)
    wrap = np.where(answered_mask, wrap_raw, np.nan)

    unresolved = resolved == 0
    p_tr = np.asarray(TRANSFER)[reason] * np.where(rabat, 1.6, 1.0) * np.where(unresolved, 1.5, 1.0)
    p_tr = np.where(np.isin(channel, (PHONE, VIDEO, 2)), p_tr, 0.03)
    transferred = np.where(answered_mask, (rng.random(n) < p_tr).astype(np.int8), -1).astype(np.int8)

    seg = arr.issue_segment[issue]
    p_conv = (
        np.asarray(CONVERSION)[reason]
        * np.asarray(CHANNEL_CONVERSION)[channel]
        * np.exp(0.35 * skill)
        * np.where(seg == PATRIMONIAL, 1.3, 1.0)
        * np.where(unresolved, 0.3, 1.0)
    )
    conv = (rng.random(n) < p_conv).astype(np.int8)
    converted = np.where(answered_mask, conv, np.where(channel == SELFCARE, self_conv, -1)).astype(np.int8)
    resolved = np.where(answered_mask | (channel == SELFCARE), resolved, -1).astype(np.int8)
    return Contacts(
        t=t,
        start=start,
        answered=answered,
        ended=ended,
        channel=channel,
        outbound=kind == OUTBOUND_CALLBACK,
        issue=issue,
        kind=kind,
        outcome=outcome,
        agent=agent,
        server=server,
        hold=hold,
        wrap=wrap,
        transferred=transferred,
        resolved=resolved,
        converted=converted,
        case=np.full(n, -1, np.int32),
    )


def contacts_table(
    cal: Calendar, c: Contacts, arr: Arrivals, staff: Staff, customer_ids: pa.Array, agent_ids: pa.Array, case_ids: pa.Array
) -> pa.Table:
    """The canonical contacts table."""
    seg = arr.issue_segment[c.issue]
    queue = np.where(c.channel == SELFCARE, -1, c.channel.astype(np.int32) * 3 + seg)
    team = np.where(c.agent >= 0, staff.agent_team[np.maximum(c.agent, 0)], -1)
    site = np.where(c.agent >= 0, staff.agent_site[np.maximum(c.agent, 0)], -1)
    cust = arr.issue_customer[c.issue]
    return pa.table(
        {
            "contact_id": arrow.ids("CT", np.arange(1, c.n + 1), arrow.id_width(c.n, 8)),
            "channel": arrow.text(c.channel, CHANNELS),
            "created_at": arrow.timestamps(c.t, cal.t0),
            "direction": arrow.text(c.outbound.astype(np.int8), DIRECTIONS),
            "customer_id": arrow.ref(customer_ids, cust),
            "case_id": arrow.ref(case_ids, c.case),
            "queue": arrow.text(queue, QUEUES),
            "team": arrow.text(team, TEAMS),
            "site": arrow.text(site, SITES),
            "agent_id": arrow.text(c.agent, agent_ids),
            "answered_at": arrow.timestamps(c.answered, cal.t0),
            "ended_at": arrow.timestamps(c.ended, cal.t0),
            "hold_seconds": arrow.numbers(c.hold),
            "wrap_seconds": arrow.numbers(c.wrap),
            "outcome": arrow.text(c.outcome, OUTCOMES),
            "transferred": arrow.bools(c.transferred),
            "resolved": arrow.bools(c.resolved),
            "converted": arrow.bools(c.converted),
            "reason": arrow.text(arr.issue_reason[c.issue], REASONS),
            "product": arrow.text(arr.issue_product[c.issue], PRODUCT_LABELS),
            "segment": arrow.text(seg, SEGMENTS),
            "language": arrow.text(arr.issue_language[c.issue], LANGUAGES),
        }
    )
