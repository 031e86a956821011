"""Cases (requests / tickets): one per request that reached an agent, with its contacts.

A case opens with the first contact of the request (a failed self-care session, an
abandoned call that was retried...) and closes when its last contact was resolved, plus
back-office time for the reasons that need it (mortgage, consumer credit, fraud claims,
insurance). A request left unresolved with no further contact is closed automatically
one to two weeks later. Cases whose closing would fall after the period end are open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from cxkpi.demo import arrow
from cxkpi.demo.arrivals import Arrivals
from cxkpi.demo.calendar import Calendar
from cxkpi.demo.contacts import Contacts
from cxkpi.demo.reference import (
    ANSWERED,
    ASSURANCE,
    CREDIT_CONSO,
    FRAUDE,
    N_REASONS,
    PRET_IMMO,
    PRIORITIES,
    REASON_PRIORITY,
    REASONS,
    SITES,
    TEAMS,
)
from cxkpi.demo.staffing import Staff
from cxkpi.schema.tables import CHANNELS

STATUSES = ("clôturé", "en cours", "en attente client")
#: Share of resolved requests that still need back-office work, and its median in days.
BACK_OFFICE_SHARE = np.full(N_REASONS, 0.05)
BACK_OFFICE_SHARE[[PRET_IMMO, CREDIT_CONSO, FRAUDE, ASSURANCE]] = (0.5, 0.35, 0.6, 0.25)
BACK_OFFICE_DAYS = np.full(N_REASONS, 1.0)
BACK_OFFICE_DAYS[[PRET_IMMO, CREDIT_CONSO, FRAUDE, ASSURANCE]] = (4.0, 2.0, 5.0, 2.0)


@dataclass(frozen=True)
class Cases:
    """One row per case, in opening order; ``issue`` links back to the request."""

    issue: np.ndarray
    opened: np.ndarray
    closed: np.ndarray  # NaN = open
    status: np.ndarray
    channel: np.ndarray
    agent: np.ndarray
    priority: np.ndarray
    n_contacts: np.ndarray

    @property
    def n(self) -> int:
        return int(self.issue.size)


def build_cases(cal: Calendar, c: Contacts, arr: Arrivals, rng: np.random.Generator) -> Cases:
    """Derive cases from the contacts; also fills ``c.case`` (case index per contact)."""
    order = np.lexsort((c.t, c.issue))
    iss = c.issue[order]
    starts = np.flatnonzero(np.r_[True, iss[1:] != iss[:-1]])
    ends = np.r_[starts[1:], iss.size] - 1
    issues = iss[starts]
    answered = np.maximum.reduceat((c.outcome[order] == ANSWERED).astype(np.int8), starts) > 0
    # First answered contact of each request: its agent owns the case.
    ans_pos = np.where(c.outcome[order] == ANSWERED, np.arange(iss.size), iss.size)
    first_ans = np.minimum.reduceat(ans_pos, starts)
    first = order[starts]
    last = order[ends]
    sel = np.flatnonzero(answered)
    first, last, first_ans, issues = first[sel], last[sel], first_ans[sel], issues[sel]
    n_contacts = (ends - starts + 1)[sel]
    reason = arr.issue_reason[issues]

    opened = c.t[first]
    last_end = c.ended[last]
    ok = c.resolved[last] == 1
    n = sel.size
    needs_bo = ok & (rng.random(n) < BACK_OFFICE_SHARE[reason])
    bo = np.where(needs_bo, BACK_OFFICE_DAYS[reason] * 86400.0 * np.exp(0.8 * rng.standard_normal(n)), 0.0)
    auto = (7.0 + 8.0 * rng.random(n)) * 86400.0
    closed = np.floor(last_end + np.where(ok, bo, auto))
    still_open = closed >= cal.end
    status = np.where(still_open, np.where(ok, 1, 2), 0).astype(np.int8)
    closed = np.where(still_open, np.nan, closed)
    priority = np.asarray(REASON_PRIORITY)[reason] + np.where(rng.random(n) < 0.1, rng.choice([-1, 1], n), 0)
    priority = np.clip(priority, 0, len(PRIORITIES) - 1).astype(np.int8)

    case_order = np.lexsort((issues, opened))
    case_of_issue = np.full(arr.issue_reason.size, -1, np.int32)
    case_of_issue[issues[case_order]] = np.arange(n, dtype=np.int32)
    c.case[:] = case_of_issue[c.issue]
    return Cases(
        issue=issues[case_order],
        opened=opened[case_order],
        closed=closed[case_order],
        status=status[case_order],
        channel=c.channel[first][case_order],
        agent=c.agent[order[first_ans]][case_order],
        priority=priority[case_order],
        n_contacts=n_contacts[case_order],
    )


def cases_table(
    cal: Calendar, k: Cases, arr: Arrivals, staff: Staff, customer_ids: pa.Array, agent_ids: pa.Array
) -> tuple[pa.Table, pa.Array]:
    """The canonical cases table and the case id column (for the contacts)."""
    case_ids = arrow.ids("DM", np.arange(1, k.n + 1), arrow.id_width(k.n, 7))
    table = pa.table(
        {
            "case_id": case_ids,
            "opened_at": arrow.timestamps(k.opened, cal.t0),
            "closed_at": arrow.timestamps(k.closed, cal.t0),
            "customer_id": arrow.ref(customer_ids, arr.issue_customer[k.issue]),
            "channel": arrow.text(k.channel, CHANNELS),
            "status": arrow.text(k.status, STATUSES),
            "reason": arrow.text(arr.issue_reason[k.issue], REASONS),
            "priority": arrow.text(k.priority, PRIORITIES),
            "team": arrow.text(staff.agent_team[k.agent], TEAMS),
            "site": arrow.text(staff.agent_site[k.agent], SITES),
            "agent_id": arrow.text(k.agent, agent_ids),
        }
    )
    return table, case_ids
