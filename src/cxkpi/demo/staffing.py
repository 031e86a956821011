"""Staffing: from the volume forecast to rosters of agents, half hour by half hour.

1. Offered load per pool and half hour: a = forecast arrivals x mean busy time / 1800 s.
2. Requirement. Real-time pools use square-root staffing, N = ceil((a + beta sqrt(a)) /
   (1 - pauses)), the rule of thumb behind Erlang-C/Halfin-Whitt for a target service
   level, at least ``min_staff`` while open. Asynchronous pools are staffed to clear the
   week's workload within their processing hours (a backlog is allowed).
3. Plan per site: the pool's requirement times the site share, with noise per day, an
   outsourcer planned below the requirement, summer holidays and Christmas, and a few
   bad days (IT incident, strike, training) where far fewer people are planned.
4. Rosters. The staffing curve of a day is cut into "seats" (seat k works the half hours
   where N > k); a seat whose span exceeds 10 h becomes two shifts, a very short one is
   stretched to 3 h, gaps of more than 2 h split a shift into two pieces (split shift),
   shorter gaps are breaks (lunch). Shifts get coffee pauses, some a team meeting or a
   training block, and are given to agents who work ``front_days`` days a week on the
   contact channels. Some rostered agents are absent (sick, more in the winter flu
   season), so the staffing that actually shows up is lower than planned.

Each non-absent shift piece is a *server* of the queue simulation, on duty during its
span minus its gaps.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from datetime import date

import numpy as np

from cxkpi.demo.calendar import SLOT, Calendar
from cxkpi.demo.reference import (
    GROUPS,
    PATRIMONIAL,
    POOLS,
    PROFESSIONNEL,
    RABAT,
    REASON_TALK,
    REASON_WEIGHTS,
    STATE,
    TALK_MEAN,
    WRAP_MEAN,
)

SHRINKAGE = 0.15  # pauses, meetings, training and absences, planned in the requirement
MAX_SHIFT_SLOTS = 20  # 10 h
MIN_SHIFT_SLOTS = 6  # 3 h
SPLIT_GAP_SLOTS = 4  # a gap longer than 2 h splits a shift in two pieces

BREAK, MEETING, TRAINING, ABSENCE = STATE["break"], STATE["meeting"], STATE["training"], STATE["absence"]


def mean_busy_seconds() -> np.ndarray:
    """Expected talk + wrap per channel (average reason, average agent)."""
    w = np.asarray(REASON_WEIGHTS[0])
    reason_talk = float(np.dot(w / w.sum(), REASON_TALK))
    out: np.ndarray = np.asarray(TALK_MEAN) * reason_talk + np.asarray(WRAP_MEAN)
    return out


@dataclass(frozen=True)
class Staff:
    """Agents, their rosters and the servers (on-duty shift pieces) of the simulation."""

    agent_group: np.ndarray
    agent_team: np.ndarray
    agent_site: np.ndarray
    agent_skill: np.ndarray
    agent_speed: np.ndarray
    roster_agent: np.ndarray
    roster_start: np.ndarray
    roster_end: np.ndarray
    roster_absent: np.ndarray
    server_agent: np.ndarray
    server_pool: np.ndarray
    server_start: np.ndarray
    server_end: np.ndarray
    duty_start: np.ndarray  # sorted by server then time
    duty_end: np.ndarray
    duty_ptr: np.ndarray  # server s owns duty rows duty_ptr[s]:duty_ptr[s+1]
    gap_server: np.ndarray
    gap_start: np.ndarray
    gap_end: np.ndarray
    gap_state: np.ndarray
    planned: np.ndarray  # planned staff per group and slot
    required: np.ndarray  # square-root requirement per pool and slot (before site split)
    load: np.ndarray  # forecast offered load (Erlangs) per pool and slot

    @property
    def n_agents(self) -> int:
        return int(self.agent_group.size)

    @property
    def n_servers(self) -> int:
        return int(self.server_agent.size)

    def on_duty(self, n_slots: int) -> np.ndarray:
        """Average number of servers on duty per pool and slot (from the duty intervals)."""
        out = np.zeros((len(POOLS), n_slots + 1))
        pool = self.server_pool[np.repeat(np.arange(self.n_servers), np.diff(self.duty_ptr))]
        s = self.duty_start / SLOT
        e = self.duty_end / SLOT
        s0 = np.floor(s).astype(np.int64)
        e0 = np.floor(e).astype(np.int64)
        same = s0 == e0
        np.add.at(out, (pool[same], s0[same]), (e - s)[same])
        d = ~same
        np.add.at(out, (pool[d], s0[d]), (s0 + 1 - s)[d])
        np.add.at(out, (pool[d], np.minimum(e0[d], n_slots)), (e - e0)[d])
        full = np.zeros((len(POOLS), n_slots + 2))
        np.add.at(full, (pool[d], np.minimum(s0[d] + 1, n_slots + 1)), 1.0)
        np.add.at(full, (pool[d], np.minimum(e0[d], n_slots + 1)), -1.0)
        out += np.cumsum(full, axis=1)[:, : n_slots + 1]
        result: np.ndarray = out[:, :n_slots]
        return result


def pool_load(cal: Calendar, forecast: np.ndarray, segment_share: np.ndarray) -> np.ndarray:
    """Forecast offered load in Erlangs per pool and slot."""
    busy = mean_busy_seconds()
    load = np.zeros((len(POOLS), cal.n_slots))
    for p, pool in enumerate(POOLS):
        for c in pool.channels:
            share = 1.0
            if pool.name.startswith("TEL_"):
                seg = {"TEL_PART": 0, "TEL_PRO": PROFESSIONNEL, "TEL_PATRI": PATRIMONIAL}[pool.name]
                share = float(segment_share[seg])
            load[p] += forecast[c] * share * busy[c] * pool.busy_inflation / SLOT
    return load


def requirement(cal: Calendar, load: np.ndarray) -> np.ndarray:
    """Staff required per pool and slot (float for async pools, integer for real-time ones)."""
    req = np.zeros_like(load)
    for p, pool in enumerate(POOLS):
        mask = cal.hours_mask(pool.channels[0])
        a = load[p]
        if pool.realtime:
            n = np.ceil((a + pool.beta * np.sqrt(a)) / (1.0 - SHRINKAGE))
            req[p] = np.where(mask, np.maximum(n, pool.min_staff), 0.0)
            continue
        # Asynchronous: the week's work spread evenly over the week's processing hours.
        week = cal.day_iso_week[cal.slot_day]
        work = np.bincount(week, weights=a)
        hours = np.bincount(week, weights=mask.astype(float))
        margin = 1.55 if pool.name == "ECRIT" else 1.5
        per_slot = np.where(hours > 0, work * margin / (1.0 - SHRINKAGE) / np.maximum(hours, 1.0), 0.0)
        req[p] = np.where(mask, np.maximum(per_slot[week], pool.min_staff), 0.0)
    # The tail after the period only clears the messages' backlog.
    tail = np.arange(cal.n_slots) >= cal.n_period_slots
    for p, pool in enumerate(POOLS):
        if pool.realtime:
            req[p, tail] = 0.0
    return req


def _in_window(day: date, start: tuple[int, int], end: tuple[int, int]) -> bool:
    md = (day.month, day.day)
    if start <= end:
        return start <= md <= end
    return md >= start or md <= end


def plan_groups(cal: Calendar, req: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Planned staff per group and slot: the pool requirement split by site, with noise."""
    planned = np.zeros((len(GROUPS), cal.n_slots), dtype=np.int32)
    summer = np.array([_in_window(d, (7, 6), (8, 28)) for d in cal.day_dates])
    christmas = np.array([_in_window(d, (12, 22), (1, 2)) for d in cal.day_dates])
    for g, grp in enumerate(GROUPS):
        factor = grp.staffing_factor * np.exp(rng.normal(0.0, 0.07, cal.n_days))
        factor *= np.where(summer, 0.95 if grp.site == RABAT else 0.86, 1.0)
        factor *= np.where(christmas, 0.9, 1.0)
        bad = rng.random(cal.n_days) < 0.025
        factor *= np.where(bad, rng.uniform(0.55, 0.8, cal.n_days), 1.0)
        x = req[grp.pool] * grp.share * factor[cal.slot_day]
        if POOLS[grp.pool].realtime:
            n = np.floor(x + 0.5)
        else:  # daily stochastic rounding keeps the weekly capacity unbiased
            n = np.floor(x + rng.random(cal.n_days)[cal.slot_day])
        main = grp.share >= 0.5
        if main:
            n = np.where(req[grp.pool] > 0, np.maximum(n, 1.0), n)
        planned[g] = n.astype(np.int32)
    return planned


class _Builder:
    """Accumulates rosters, pieces, gaps and duty intervals in compact arrays."""

    def __init__(self) -> None:
        self.r_group = array("i")
        self.r_day = array("i")
        self.r_start = array("d")
        self.r_end = array("d")
        self.p_roster = array("i")
        self.p_start = array("d")
        self.p_end = array("d")
        self.g_piece = array("i")
        self.g_start = array("d")
        self.g_end = array("d")
        self.g_state = array("b")
        self.d_piece = array("i")
        self.d_start = array("d")
        self.d_end = array("d")


def _cut(runs: list[list[int]], cut: int) -> tuple[list[list[int]], list[list[int]]]:
    first: list[list[int]] = []
    second: list[list[int]] = []
    for s, e in runs:
        if e <= cut:
            first.append([s, e])
        elif s >= cut:
            second.append([s, e])
        else:
            first.append([s, cut])
            second.append([cut, e])
    return first, second


def _add_roster(
    b: _Builder, g: int, d: int, base: int, runs: list[list[int]], lo: int, hi: int, u: list[float], train_p: float
) -> None:
    """Turn a seat's runs (slot offsets in the day) into a roster with pieces and gaps."""
    total = sum(e - s for s, e in runs)
    if total < MIN_SHIFT_SLOTS:
        need = MIN_SHIFT_SLOTS - total
        grow = min(need, hi - runs[-1][1])
        runs[-1][1] += grow
        need -= grow
        if need > 0:
            runs[0][0] = max(lo, runs[0][0] - need)
    r = len(b.r_group)
    b.r_group.append(g)
    b.r_day.append(d)
    b.r_start.append((base + runs[0][0]) * float(SLOT))
    b.r_end.append((base + runs[-1][1]) * float(SLOT))
    # Split into pieces at long gaps.
    pieces: list[list[list[int]]] = [[runs[0]]]
    for run in runs[1:]:
        if run[0] - pieces[-1][-1][1] > SPLIT_GAP_SLOTS:
            pieces.append([run])
        else:
            pieces[-1].append(run)
    longest = max(range(len(pieces)), key=lambda i: sum(e - s for s, e in pieces[i]))
    for i, piece in enumerate(pieces):
        gaps: list[tuple[float, float, int]] = []
        for (s0, e0), (s1, _e1) in zip(piece[:-1], piece[1:]):
            gaps.append(((base + e0) * float(SLOT), (base + s1) * float(SLOT), BREAK))
        if i == longest:
            big = max(range(len(piece)), key=lambda j: piece[j][1] - piece[j][0])
            s, e = piece[big]
            if u[0] < train_p and e - s >= 8:
                gaps.append(((base + s) * float(SLOT), (base + s + 4) * float(SLOT), TRAINING))
                s += 4
                piece[big] = [s, e]
            elif u[1] < 0.18 and e - s >= 5:
                at = s + 1 + int(u[1] / 0.18 * (e - s - 2))  # a whole slot inside the run
                gaps.append(((base + at) * float(SLOT), (base + at + 1) * float(SLOT), MEETING))
                piece[big] = [s, at]
                piece.insert(big + 1, [at + 1, e])
        # Coffee pauses: 15 minutes at one or two thirds of the piece's on-duty time.
        slots = [x for s, e in piece for x in range(s, e)]
        n_pause = 2 if len(slots) >= 13 else 1 if len(slots) >= 7 else 0
        for k in range(n_pause):
            # Staggered: somewhere in the k-th half (or the middle half) of the duty time.
            lo_f, width = ((0.25, 0.5) if n_pause == 1 else (0.15 + 0.45 * k, 0.3))
            at = slots[int(len(slots) * (lo_f + width * u[2 + k]))]
            off = 300.0 * int(u[3 - k] * 4)
            gaps.append(((base + at) * float(SLOT) + off, (base + at) * float(SLOT) + off + 900.0, BREAK))
        gaps.sort()
        p = len(b.p_roster)
        start = (base + piece[0][0]) * float(SLOT)
        if gaps:  # a shift that opens with training starts with it
            start = min(start, gaps[0][0])
        end = (base + piece[-1][1]) * float(SLOT)
        b.p_roster.append(r)
        b.p_start.append(start)
        b.p_end.append(end)
        cursor = start
        for gs, ge, st in gaps:
            b.g_piece.append(p)
            b.g_start.append(gs)
            b.g_end.append(ge)
            b.g_state.append(st)
            if gs > cursor:
                b.d_piece.append(p)
                b.d_start.append(cursor)
                b.d_end.append(gs)
            cursor = max(cursor, ge)
        if end > cursor:
            b.d_piece.append(p)
            b.d_start.append(cursor)
            b.d_end.append(end)


def build_rosters(cal: Calendar, planned: np.ndarray, rng: np.random.Generator) -> _Builder:
    """Cut each group-day staffing curve into seats, seats into rosters and pieces."""
    b = _Builder()
    september = np.array([d.month in (9, 10) for d in cal.day_dates])
    for g, grp in enumerate(GROUPS):
        mask = cal.hours_mask(POOLS[grp.pool].channels[0])
        for d in range(cal.n_days):
            f = int(cal.day_first_slot[d])
            L = int(cal.day_n_slots[d])
            n = planned[g, f : f + L]
            k_max = int(n.max())
            if k_max <= 0:
                continue
            open_idx = np.flatnonzero(mask[f : f + L])
            lo, hi = (int(open_idx[0]), int(open_idx[-1]) + 1) if open_idx.size else (0, L)
            act = np.zeros((k_max, L + 2), dtype=np.int8)
            act[:, 1:-1] = n[None, :] > np.arange(k_max)[:, None]
            dif = np.diff(act, axis=1)
            ks, starts = np.nonzero(dif == 1)
            _, ends = np.nonzero(dif == -1)
            seat_runs: list[list[list[int]]] = [[] for _ in range(k_max)]
            for k, s, e in zip(ks.tolist(), starts.tolist(), ends.tolist()):
                seat_runs[k].append([s, e])
            u = rng.random((2 * k_max, 4)).tolist()
            train_p = 0.08 if september[d] else 0.035
            j = 0
            for runs in seat_runs:
                if not runs:
                    continue
                span = runs[-1][1] - runs[0][0]
                if span > MAX_SHIFT_SLOTS:
                    first, second = _cut(runs, runs[0][0] + span // 2)
                    _add_roster(b, g, d, f, first, lo, hi, u[j], train_p)
                    _add_roster(b, g, d, f, second, lo, hi, u[j + 1], train_p)
                else:
                    _add_roster(b, g, d, f, runs, lo, hi, u[j], train_p)
                j += 2
    return b


def _absence_prob(cal: Calendar, site: int) -> np.ndarray:
    flu = np.array([_in_window(d, (12, 15), (2, 20)) for d in cal.day_dates])
    base = 0.06 if site == RABAT else 0.04
    p: np.ndarray = base + 0.06 * flu + 0.01 * (cal.day_dow == 0)
    return p


def assign_agents(
    cal: Calendar, b: _Builder, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Give each roster an agent of its group; returns roster agent and absence, agent group and team."""
    r_group = np.frombuffer(b.r_group, dtype=np.int32)
    r_day = np.frombuffer(b.r_day, dtype=np.int32)
    n_r = r_group.size
    roster_agent = np.zeros(n_r, dtype=np.int32)
    absent = np.zeros(n_r, dtype=bool)
    agent_group: list[np.ndarray] = []
    agent_team: list[np.ndarray] = []
    offset = 0
    week = cal.day_iso_week
    n_weeks = int(week.max()) + 1
    summer_weeks = np.unique(week[[i for i, d in enumerate(cal.day_dates) if _in_window(d, (7, 6), (8, 30))]])
    for g, grp in enumerate(GROUPS):
        idx = np.flatnonzero(r_group == g)
        if idx.size == 0:
            continue
        per_week = np.bincount(week[r_day[idx]], minlength=n_weeks)
        per_day = np.bincount(r_day[idx], minlength=cal.n_days)
        m = int(max(math.ceil(per_week.max() / grp.front_days * 1.08), math.ceil(per_day.max() * 1.1), 1))
        cap = min(math.ceil(grp.front_days) + 1, 5)  # days a week, at most five
        # Leave: three summer weeks per agent, one more week for half of them in winter.
        leave = np.zeros((m, n_weeks), dtype=bool)
        if summer_weeks.size >= 3:
            first = rng.integers(0, summer_weeks.size - 2, m)
            for k in range(3):
                leave[np.arange(m), summer_weeks[first + k]] = True
        winter = rng.integers(5, 17, m)
        takes = rng.random(m) < 0.5
        leave[np.arange(m)[takes], winter[takes]] = True
        p_abs = _absence_prob(cal, grp.site)
        worked = np.zeros(m)
        current_week = -1
        order = idx[np.argsort(r_day[idx], kind="stable")]
        bounds = np.searchsorted(r_day[order], np.arange(cal.n_days + 1))
        for d in range(cal.n_days):
            todays = order[bounds[d] : bounds[d + 1]]
            if todays.size == 0:
                continue
            if week[d] != current_week:
                current_week = int(week[d])
                worked[:] = 0
            key = worked + 1000.0 * leave[:, current_week] + 100.0 * (worked >= cap) + rng.random(m)
            chosen = np.argsort(key, kind="stable")[: todays.size]
            worked[chosen] += 1
            roster_agent[todays] = offset + chosen
            absent[todays] = rng.random(todays.size) < p_abs[d]
        agent_group.append(np.full(m, g, dtype=np.int32))
        agent_team.append(np.asarray(grp.teams, dtype=np.int32)[np.arange(m) % len(grp.teams)])
        offset += m
    return roster_agent, absent, np.concatenate(agent_group), np.concatenate(agent_team)


def build_staff(
    cal: Calendar, forecast: np.ndarray, segment_share: np.ndarray, rng: np.random.Generator
) -> Staff:
    """Plan, roster and assign the agents of every pool for the year."""
    load = pool_load(cal, forecast, segment_share)
    req = requirement(cal, load)
    planned = plan_groups(cal, req, rng)
    b = build_rosters(cal, planned, rng)
    roster_agent, absent, agent_group, agent_team = assign_agents(cal, b, rng)

    n_agents = agent_group.size
    site = np.asarray([GROUPS[g].site for g in range(len(GROUPS))])[agent_group]
    skill = rng.standard_normal(n_agents) - 0.35 * (site == RABAT)
    junior = rng.random(n_agents) < 0.15
    skill = np.where(junior, skill - 0.6, skill)
    speed = np.exp(-0.10 * skill + rng.normal(0.0, 0.07, n_agents)) * np.where(site == RABAT, 1.05, 1.0)

    r_group = np.frombuffer(b.r_group, dtype=np.int32)
    p_roster = np.frombuffer(b.p_roster, dtype=np.int32)
    keep_piece = ~absent[p_roster]
    new_index = np.cumsum(keep_piece) - 1
    d_piece = np.frombuffer(b.d_piece, dtype=np.int32)
    keep_duty = keep_piece[d_piece]
    g_piece = np.frombuffer(b.g_piece, dtype=np.int32)
    keep_gap = keep_piece[g_piece]
    servers = np.flatnonzero(keep_piece)
    duty_server = new_index[d_piece[keep_duty]]
    duty_ptr = np.searchsorted(duty_server, np.arange(servers.size + 1)).astype(np.int64)
    pool_of_group = np.asarray([grp.pool for grp in GROUPS], dtype=np.int32)
    return Staff(
        agent_group=agent_group,
        agent_team=agent_team,
        agent_site=site.astype(np.int32),
        agent_skill=skill,
        agent_speed=speed,
        roster_agent=roster_agent,
        roster_start=np.frombuffer(b.r_start, dtype=np.float64).copy(),
        roster_end=np.frombuffer(b.r_end, dtype=np.float64).copy(),
        roster_absent=absent,
        server_agent=roster_agent[p_roster[servers]],
        server_pool=pool_of_group[r_group[p_roster[servers]]],
        server_start=np.frombuffer(b.p_start, dtype=np.float64)[servers].copy(),
        server_end=np.frombuffer(b.p_end, dtype=np.float64)[servers].copy(),
        duty_start=np.frombuffer(b.d_start, dtype=np.float64)[keep_duty].copy(),
        duty_end=np.frombuffer(b.d_end, dtype=np.float64)[keep_duty].copy(),
        duty_ptr=duty_ptr,
        gap_server=new_index[g_piece[keep_gap]].astype(np.int32),
        gap_start=np.frombuffer(b.g_start, dtype=np.float64)[keep_gap].copy(),
        gap_end=np.frombuffer(b.g_end, dtype=np.float64)[keep_gap].copy(),
        gap_state=np.frombuffer(b.g_state, dtype=np.int8)[keep_gap].copy(),
        planned=planned,
        required=req,
        load=load,
    )

