"""Agent states, consistent with the simulation: shifts, handling, wrap, pauses, absences.

Each server (shift piece) of the simulation is laid out as a timeline: handling from
answer to end of each contact it served (for an unanswered callback, the ringing),
wrap after it, the gaps planned in its shift (break, meeting, training), and available
time in between. A contact still running when a gap starts pushes the gap back (the
agent goes on break when the call ends), and one running past the end of the shift
extends the shift. Absent rosters are one absence interval. Everything is vectorised:
intervals are sorted by server and the available time is the holes between them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cxkpi.demo import arrow
from cxkpi.demo.calendar import Calendar
from cxkpi.demo.contacts import Contacts
from cxkpi.demo.reference import STATE
from cxkpi.demo.staffing import Staff
from cxkpi.schema.tables import AGENT_STATES

AVAILABLE, HANDLING, WRAP, ABSENCE = STATE["available"], STATE["handling"], STATE["wrap"], STATE["absence"]


#: Agents are processed in chunks of about this many served contacts (bounds memory).
CHUNK_CONTACTS = 1_500_000


def agent_states_table(cal: Calendar, c: Contacts, staff: Staff, agent_ids: pa.Array) -> pa.Table:
    """The canonical agent_states table (non-overlapping intervals per agent, sorted by agent)."""
    served = np.flatnonzero(c.server >= 0)
    served_agent = staff.server_agent[c.server[served]]
    n_chunks = max(1, int(np.ceil(served.size / CHUNK_CONTACTS)))
    bounds = np.linspace(0, staff.n_agents, n_chunks + 1).astype(np.int64)
    parts = []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        contacts = served[(served_agent >= lo) & (served_agent < hi)]
        parts.append(_chunk(cal, c, staff, agent_ids, contacts, lo, hi))
    return pa.concat_tables(parts)


def _chunk(
    cal: Calendar, c: Contacts, staff: Staff, agent_ids: pa.Array, served: np.ndarray, lo: int, hi: int
) -> pa.Table:
    """States of agents ``lo <= agent < hi`` whose served contacts are ``served``."""
    b_srv = c.server[served]
    b_start = c.start[served]
    b_end = c.ended[served]
    b_free = b_end + np.nan_to_num(c.wrap[served])
    order = np.lexsort((b_start, b_srv))
    b_srv, b_start, b_end, b_free = b_srv[order], b_start[order], b_end[order], b_free[order]

    # Gaps start after the contact in progress, if any.
    mine = (staff.server_agent[staff.gap_server] >= lo) & (staff.server_agent[staff.gap_server] < hi)
    g_srv, g_start, g_end, g_state = staff.gap_server[mine], staff.gap_start[mine], staff.gap_end[mine], staff.gap_state[mine]
    pos = np.searchsorted(_key(b_srv, b_start), _key(g_srv, g_start), side="left") - 1
    prev_same = (pos >= 0) & (b_srv[np.maximum(pos, 0)] == g_srv)
    spill = np.where(prev_same, b_free[np.maximum(pos, 0)], -np.inf)
    g_start = np.maximum(g_start, spill)
    keep = g_start < g_end
    g_srv, g_start, g_end, g_state = g_srv[keep], g_start[keep], g_end[keep], g_state[keep]

    n_s = staff.n_servers
    last_free = np.full(n_s, -np.inf)
    np.maximum.at(last_free, b_srv, b_free)
    span_start = staff.server_start
    span_end = np.maximum(staff.server_end, last_free)

    wrap_sel = b_free > b_end
    srv = np.concatenate([b_srv, b_srv[wrap_sel], g_srv])
    start = np.concatenate([b_start, b_end[wrap_sel], g_start])
    end = np.concatenate([b_end, b_free[wrap_sel], g_end])
    state = np.concatenate(
        [np.full(b_srv.size, HANDLING, np.int8), np.full(int(wrap_sel.sum()), WRAP, np.int8), g_state.astype(np.int8)]
    )
    del b_srv, b_start, b_end, b_free, g_srv, g_start, g_end, g_state
    order = np.lexsort((start, srv))
    srv, start, end, state = srv[order], start[order], end[order], state[order]

    # Available time: holes between consecutive intervals of a server, and at its edges.
    first = np.r_[True, srv[1:] != srv[:-1]]
    prev_end = np.r_[-np.inf, end[:-1]]
    hole_start = np.where(first, span_start[srv], prev_end)
    last = np.r_[srv[1:] != srv[:-1], True]
    tail_srv = srv[last]
    in_chunk = (staff.server_agent >= lo) & (staff.server_agent < hi)
    busy_servers = np.zeros(n_s, dtype=bool)
    busy_servers[srv] = True
    idle = np.flatnonzero(in_chunk & ~busy_servers)
    a_srv = np.concatenate([srv, tail_srv, idle])
    a_start = np.concatenate([hole_start, end[last], span_start[idle]])
    a_end = np.concatenate([start, span_end[tail_srv], span_end[idle]])

    absent = np.flatnonzero(staff.roster_absent & (staff.roster_agent >= lo) & (staff.roster_agent < hi))
    agent = np.concatenate([staff.server_agent[srv], staff.server_agent[a_srv], staff.roster_agent[absent]])
    s_all = np.concatenate([start, a_start, staff.roster_start[absent]])
    e_all = np.concatenate([end, a_end, staff.roster_end[absent]])
    st_all = np.concatenate([state, np.full(a_srv.size, AVAILABLE, np.int8), np.full(absent.size, ABSENCE, np.int8)])
    keep = e_all > s_all
    agent, s_all, e_all, st_all = agent[keep], s_all[keep], e_all[keep], st_all[keep]
    order = np.lexsort((s_all, agent))
    return pa.table(
        {
            "agent_id": arrow.text(agent[order], agent_ids),
            "state": arrow.text(st_all[order], AGENT_STATES),
            "start_at": arrow.timestamps(s_all[order], cal.t0),
            "end_at": arrow.timestamps(e_all[order], cal.t0),
        }
    )


def _key(server: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Sortable (server, time) key: times are < 2**26 s from the period start."""
    out: np.ndarray = server.astype(np.float64) * 67108864.0 + t
    return out
