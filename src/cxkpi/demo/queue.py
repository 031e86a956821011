"""Event simulation of the contact queues: waits, abandons, retries, callbacks and repeats.

Queueing assumptions (one FCFS queue per pool):

* Servers are shift pieces (one agent each), on duty during their duty intervals only.
  A pool keeps a heap of (time the server can next start, server). A contact arriving at
  ``t`` takes the server with the earliest such time; service starts at
  ``max(t, free)`` if the server is on duty then, otherwise the server is re-keyed to its
  next duty start (or dropped after its shift) and the heap is consulted again. With
  FCFS this is exact (a customer's wait depends only on the customers before them who
  were served), and costs O(log c) per contact.
* Real-time channels (phone, video, chat): each customer has a patience (log-normal,
  plus a small share who hang up at once). If the wait would exceed it, the customer
  abandons and does not occupy a server. Phone callers facing a long announced wait may
  ask for a callback instead (an outbound call queued a minute later, which waits as long
  as needed). Abandoners sometimes retry a few minutes later, or come back days later.
* Asynchronous channels (email, web form, social, SMS): no abandonment; messages wait
  in a backlog across closed hours and weekends.
* A served contact occupies its server for talk + wrap; talk is scaled by the agent's
  speed. Resolution depends on the reason, the channel, the agent's skill and the wait;
  an unresolved customer usually comes back within days, often on another channel.

Arrivals created during the simulation (retries, callbacks, repeats) go into a second
heap merged with the pre-drawn arrivals, so everything is processed in time order.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from heapq import heapify, heappop, heappush, heapreplace

import numpy as np

from cxkpi.demo.arrivals import FOLLOW_UP_MIX, SNAP_SPREAD_SLOTS, Arrivals
from cxkpi.demo.calendar import SLOT, Calendar
from cxkpi.demo.reference import (
    ABANDONED,
    ANSWER_THRESHOLD,
    ANSWERED,
    CALLBACK,
    CHANNEL_RESOLVE_ODDS,
    DROPPED,
    N_CHANNELS,
    OUTBOUND_CALLBACK,
    PATIENCE_MEDIAN,
    PATIENCE_SIGMA,
    PHONE,
    POOL_OF,
    POOLS,
    REALTIME,
    REASON_RESOLVE,
    REASON_TALK,
    REPEAT,
    REPEAT_PROB,
    RETRY,
    SHORT_PATIENCE_SHARE,
    TALK_MEAN,
    TALK_SIGMA,
    WRAP_MEAN,
    WRAP_SIGMA,
)
from cxkpi.demo.staffing import Staff

#: Probability that an abandoning customer calls again a few minutes later, per channel.
RETRY_PROB = (0.45, 0.0, 0.35, 0.30, 0.0, 0.0, 0.0, 0.0)
#: Probability that an abandoning customer who does not retry comes back another day.
LATER_PROB = 0.30
CALLBACK_AFTER = 45.0  # seconds of waiting before the callback offer
CALLBACK_MIN_WAIT = 120.0  # offered when the announced wait exceeds this
CALLBACK_ACCEPT = 0.30
CALLBACK_DELAY = 60.0  # the callback task enters the queue this long after the offer
UNREACHED = 0.12  # outbound callbacks where nobody picks up
RING_SECONDS = 30.0
WAIT_PENALTY = 0.35  # log-odds of resolution lost after a long wait (3 x threshold)
SKILL_RESOLVE = 0.45  # log-odds of resolution per standard deviation of agent skill


@dataclass(frozen=True)
class QueueResult:
    """One row per queued contact (pre-drawn and created), in processing order."""

    t: np.ndarray
    channel: np.ndarray
    pool: np.ndarray
    issue: np.ndarray
    kind: np.ndarray
    start: np.ndarray  # service start (NaN if never served)
    end: np.ndarray  # end of talk, of the abandon or of the callback request
    wrap: np.ndarray
    server: np.ndarray  # -1 if no agent
    outcome: np.ndarray
    resolved: np.ndarray  # 1, 0 or -1 (not applicable)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def draw_patience(channel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Patience in seconds per contact (inf on asynchronous channels)."""
    med = np.asarray(PATIENCE_MEDIAN)[channel]
    mult = _patience_multiplier(channel.size, rng)
    out: np.ndarray = np.where(med > 0, med * mult, np.inf)
    return out


def _patience_multiplier(n: int, rng: np.random.Generator) -> np.ndarray:
    short = rng.random(n) < SHORT_PATIENCE_SHARE
    body = np.exp(PATIENCE_SIGMA * rng.standard_normal(n))
    out: np.ndarray = np.where(short, rng.exponential(0.035, n), body)
    return out


def _lognormal_unit(n: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Mean-one log-normal factors, capped at 4 (no 3-hour calls)."""
    out: np.ndarray = np.minimum(np.exp(sigma * rng.standard_normal(n) - 0.5 * sigma * sigma), 4.0)
    return out


def simulate(
    cal: Calendar,
    arr: Arrivals,
    staff: Staff,
    rng: np.random.Generator,
    progress: Callable[[str, float], None] | None = None,
) -> QueueResult:
    """Run the queues for the whole year (see the module docstring for the assumptions)."""
    nb = arr.queued_t.size
    cap = int(nb * 1.5) + 1000
    seg = arr.issue_segment
    reason = arr.issue_reason

    # --- pre-drawn contacts --------------------------------------------------------
    ch0 = arr.queued_channel
    r0 = reason[arr.queued_issue]
    T = np.zeros(cap)
    T[:nb] = arr.queued_t
    CH = np.zeros(cap, np.int8)
    CH[:nb] = ch0
    ISS = np.zeros(cap, np.int32)
    ISS[:nb] = arr.queued_issue
    KIND = np.zeros(cap, np.int8)
    KIND[:nb] = arr.queued_kind
    pool_of = np.asarray(POOL_OF, dtype=np.int8)
    POOL = np.zeros(cap, np.int8)
    POOL[:nb] = pool_of[ch0, seg[arr.queued_issue]]
    PAT = np.full(cap, np.inf)
    PAT[:nb] = draw_patience(ch0, rng)
    talk_mean = np.asarray(TALK_MEAN)[:, None] * np.asarray(REASON_TALK)[None, :]
    TALK = np.zeros(cap, np.float32)
    TALK[:nb] = talk_mean[ch0, r0] * _lognormal_unit(nb, TALK_SIGMA, rng)
    WRAP = np.zeros(cap, np.float32)
    WRAP[:nb] = np.floor(np.asarray(WRAP_MEAN)[ch0] * _lognormal_unit(nb, WRAP_SIGMA, rng))
    base_logit = np.array(
        [[_logit(REASON_RESOLVE[r]) + math.log(CHANNEL_RESOLVE_ODDS[c]) for c in range(N_CHANNELS)] for r in range(len(REASON_RESOLVE))]
    )
    THR = np.zeros(cap, np.float32)
    THR[:nb] = rng.logistic(size=nb) - base_logit[r0, ch0]
    START = np.full(cap, np.nan)
    END = np.full(cap, np.nan)
    SRV = np.full(cap, -1, np.int32)
    OUT = np.full(cap, DROPPED, np.int8)
    RES = np.full(cap, -1, np.int8)

    # --- streams for contacts created during the run -----------------------------------
    # numpy buffers read through memoryviews (ndarray.data): compact, items come out as Python floats
    nd = cap - nb
    s_pat: Any = _patience_multiplier(nd, rng).data
    s_talk: Any = _lognormal_unit(nd, TALK_SIGMA, rng).data
    s_wrap: Any = _lognormal_unit(nd, WRAP_SIGMA, rng).data
    s_log: Any = rng.logistic(size=nd).data
    n_u = 3 * nb + 1000
    s_u: Any = rng.random(n_u).data

    # --- lookup tables as Python lists (fast scalar access) ---------------------------
    L_POOL = pool_of.tolist()
    L_TALK = talk_mean.tolist()
    L_WRAP = list(WRAP_MEAN)
    L_PAT = [m if m > 0 else math.inf for m in PATIENCE_MEDIAN]
    L_BASE = base_logit.tolist()
    L_T3 = [3.0 * x for x in ANSWER_THRESHOLD]
    L_RETRY = list(RETRY_PROB)
    L_REPEAT = list(REPEAT_PROB)
    fm = np.asarray(FOLLOW_UP_MIX)
    L_MIX = np.cumsum(fm / fm.sum()).tolist()
    L_MIX[-1] = 1.0
    realtime = [c in REALTIME for c in range(N_CHANNELS)]
    OPEN = [arr.open_masks[c].tolist() for c in range(N_CHANNELS)]
    NXT = [arr.next_open[c].tolist() for c in range(N_CHANNELS)]
    n_slots = cal.n_slots
    period_end = cal.end

    # --- servers -----------------------------------------------------------------------
    ptr = staff.duty_ptr
    ivp = ptr[:-1].tolist()
    ive = ptr[1:].tolist()
    dS: Any = staff.duty_start.data
    dE: Any = staff.duty_end.data
    spd = staff.agent_speed[staff.server_agent].tolist()
    skl = (SKILL_RESOLVE * staff.agent_skill[staff.server_agent]).tolist()
    heaps: list[list[tuple[float, int]]] = [[] for _ in POOLS]
    for s, p in enumerate(staff.server_pool.tolist()):
        if ive[s] > ivp[s]:
            heaps[p].append((dS[ivp[s]], s))
    for h in heaps:
        heapify(h)

    t_: Any = T.data
    ch_: Any = CH.data
    iss_: Any = ISS.data
    kind_: Any = KIND.data
    pool_: Any = POOL.data
    pat_: Any = PAT.data
    talk_: Any = TALK.data
    wrap_: Any = WRAP.data
    thr_: Any = THR.data
    start_: Any = START.data
    end_: Any = END.data
    srv_: Any = SRV.data
    out_: Any = OUT.data
    res_: Any = RES.data
    seg_: Any = seg.data
    reason_: Any = reason.data

    dyn: list[tuple[float, int]] = []
    n = nb
    ui = 0
    bi = 0
    log_055 = math.log(0.55)
    step = 0

    def spawn(t2: float, c2: int, issue: int, kind: int) -> None:
        nonlocal n
        if n >= cap or t2 >= period_end:
            return
        if realtime[c2] and kind != OUTBOUND_CALLBACK:
            slot = int(t2 // SLOT)
            if slot >= n_slots:
                return
            if not OPEN[c2][slot]:
                nx = NXT[c2][slot]
                if nx < 0:
                    return
                u = s_u[(n * 7) % n_u]
                later = nx + int(u * SNAP_SPREAD_SLOTS)
                if later >= n_slots or not OPEN[c2][later]:
                    later = nx
                t2 = later * float(SLOT) + float(int(s_u[(n * 7 + 3) % n_u] * SLOT))
                if t2 >= period_end:
                    return
        j = n
        k = j - nb
        r = reason_[issue]
        t_[j] = t2
        ch_[j] = c2
        iss_[j] = issue
        kind_[j] = kind
        pool_[j] = L_POOL[c2][seg_[issue]]
        pat_[j] = math.inf if kind == OUTBOUND_CALLBACK else L_PAT[c2] * s_pat[k]
        talk_[j] = L_TALK[c2][r] * s_talk[k]
        wrap_[j] = float(int(L_WRAP[c2] * s_wrap[k]))
        thr_[j] = s_log[k] - L_BASE[r][c2]
        n += 1
        heappush(dyn, (t2, j))

    def come_back(t_from: float, c_prev: int, issue: int) -> None:
        nonlocal ui
        u1 = s_u[ui]
        u2 = s_u[ui + 1] or 1e-12
        u3 = s_u[ui + 2]
        u4 = s_u[ui + 3]
        ui = (ui + 4) % (n_u - 8)
        if u1 < 0.3:
            t2 = t_from + 1800.0 + u2 * 12600.0
        else:
            days = min(1 + int(math.log(u2) / log_055), 14)
            t2 = t_from + days * 86400.0 + (u3 - 0.5) * 21600.0
        c2 = c_prev if u4 < 0.5 else bisect_right(L_MIX, (u4 - 0.5) * 2.0)
        spawn(float(int(t2)), c2, issue, REPEAT)

    while True:
        if bi < nb:
            tb = t_[bi]
            if dyn and dyn[0][0] < tb:
                t, j = heappop(dyn)
            else:
                t = tb
                j = bi
                bi += 1
        elif dyn:
            t, j = heappop(dyn)
        else:
            break
        step += 1
        if progress is not None and step & 0xFFFF == 0:
            progress("queue", min(t / period_end, 1.0))
        h = heaps[pool_[j]]
        while h:
            f, s = h[0]
            st = f if f > t else t
            k = ivp[s]
            e = ive[s]
            while k < e and dE[k] <= st:
                k += 1
            ivp[s] = k
            if k == e:
                heappop(h)
                continue
            a = dS[k]
            if a > st:
                heapreplace(h, (a, s))
                continue
            break
        else:  # nobody left to serve it this year
            if pat_[j] < math.inf:
                out_[j] = ABANDONED
                end_[j] = t + pat_[j]
            continue  # a task without patience stays DROPPED
        w = st - t
        pat = pat_[j]
        c = ch_[j]
        kind = kind_[j]
        if w > pat:
            u = s_u[ui]
            ui = (ui + 1) % (n_u - 8)
            if c == PHONE and w > CALLBACK_MIN_WAIT and pat > CALLBACK_AFTER and u < CALLBACK_ACCEPT:
                out_[j] = CALLBACK
                end_[j] = t + CALLBACK_AFTER
                spawn(t + CALLBACK_AFTER + CALLBACK_DELAY, PHONE, iss_[j], OUTBOUND_CALLBACK)
                continue
            out_[j] = ABANDONED
            end_[j] = t + pat
            u = s_u[ui]
            ui = (ui + 1) % (n_u - 8)
            if u < L_RETRY[c]:
                u2 = s_u[ui] or 1e-12
                ui = (ui + 1) % (n_u - 8)
                t2 = float(int(t + pat + 20.0 - 240.0 * math.log(u2)))
                slot = int(t2 // SLOT)
                if slot < n_slots and OPEN[c][slot]:
                    spawn(t2, c, iss_[j], RETRY)
            elif u < L_RETRY[c] + (1.0 - L_RETRY[c]) * LATER_PROB:
                come_back(t + pat, c, iss_[j])
            continue
        if kind == OUTBOUND_CALLBACK and s_u[ui] < UNREACHED:
            ui = (ui + 1) % (n_u - 8)
            heapreplace(h, (st + RING_SECONDS, s))
            out_[j] = ABANDONED
            start_[j] = st
            end_[j] = st + RING_SECONDS
            srv_[j] = s
            wrap_[j] = 0.0
            continue
        ui = (ui + 1) % (n_u - 8)
        x = talk_[j] * spd[s]
        talk = float(int(x + 0.5)) if x > 20.0 else 20.0
        end = st + talk
        heapreplace(h, (end + wrap_[j], s))
        start_[j] = st
        end_[j] = end
        srv_[j] = s
        out_[j] = ANSWERED
        issue = iss_[j]
        if thr_[j] < skl[s] - (WAIT_PENALTY if w > L_T3[c] else 0.0):
            res_[j] = 1
        else:
            res_[j] = 0
            u = s_u[ui]
            ui = (ui + 1) % (n_u - 8)
            if u < L_REPEAT[reason_[issue]]:
                come_back(end, c, issue)

    keep = slice(0, n)
    return QueueResult(
        t=T[keep],
        channel=CH[keep],
        pool=POOL[keep],
        issue=ISS[keep],
        kind=KIND[keep],
        start=START[keep],
        end=END[keep],
        wrap=WRAP[keep].astype(np.float64),
        server=SRV[keep],
        outcome=OUT[keep],
        resolved=RES[keep],
    )
