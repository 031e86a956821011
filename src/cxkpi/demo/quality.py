"""Behavioural quality monitoring: weighted evaluation grids, about three a week per agent.

Each week an agent handles contacts, quality analysts and team leaders score some of
them on a six-criterion grid, mostly three evaluations a week mixing cold listening
(recorded contacts, scored hours or days later) and live side-by-side listening (scored
as the contact ends). Scores follow the agent's skill, the criterion's difficulty, the
evaluator's severity (team leaders are more lenient) and a slow improvement through
coaching; "solution apportée" also follows whether the contact was resolved.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cxkpi.demo import arrow
from cxkpi.demo.calendar import SLOT, Calendar
from cxkpi.demo.contacts import Contacts
from cxkpi.demo.reference import ANSWERED, QUALITY_ANALYSTS, TEAM_LEADERS
from cxkpi.demo.staffing import Staff
from cxkpi.schema.tables import EVALUATION_MODES

#: The grid: (criterion, max score, weight, ease in log-odds).
CRITERIA = (
    ("Accueil", 5.0, 1.0, 0.8),
    ("Découverte du besoin", 10.0, 2.0, 0.1),
    ("Reformulation", 5.0, 1.0, -0.2),
    ("Solution apportée", 10.0, 3.0, 0.1),
    ("Conclusion", 5.0, 1.0, 0.5),
    ("Ton et empathie", 10.0, 2.0, 0.3),
)
SOLUTION = 3
EVALUATORS = QUALITY_ANALYSTS + TEAM_LEADERS
#: Severity of each evaluator in log-odds (quality analysts first, then team leaders).
EVALUATOR_BIAS = np.array([0.1, -0.25, 0.0, 0.05] + [0.3] * len(TEAM_LEADERS))
COLD, LIVE = EVALUATION_MODES.index("cold"), EVALUATION_MODES.index("live")


def evaluations_table(
    cal: Calendar, c: Contacts, staff: Staff, contact_ids: pa.Array, agent_ids: pa.Array, rng: np.random.Generator
) -> pa.Table:
    """One row per criterion of each evaluation."""
    handled = np.flatnonzero((c.outcome == ANSWERED) & (c.agent >= 0))
    day = cal.slot_day[np.minimum((c.t[handled] // SLOT).astype(np.int64), cal.n_slots - 1)]
    week = cal.day_iso_week[day].astype(np.int64)
    n_weeks = int(cal.day_iso_week.max()) + 1
    key = c.agent[handled].astype(np.int64) * n_weeks + week
    order = np.argsort(key, kind="stable")
    handled, key = handled[order], key[order]
    keys, starts, counts = np.unique(key, return_index=True, return_counts=True)
    ok = counts >= 3
    keys, starts, counts = keys[ok], starts[ok], counts[ok]

    n_eval = rng.choice([1, 2, 3, 4], size=keys.size, p=[0.04, 0.10, 0.76, 0.10])
    all_cold = rng.random(keys.size) < 0.1
    ev_group = np.repeat(np.arange(keys.size), n_eval)
    rank = np.arange(ev_group.size) - np.repeat(np.cumsum(n_eval) - n_eval, n_eval)
    mode = np.where(rank == 1, LIVE, np.where(rank >= 2, np.where(rng.random(ev_group.size) < 0.6, COLD, LIVE), COLD))
    mode = np.where(all_cold[ev_group], COLD, mode).astype(np.int8)
    pick = starts[ev_group] + (rng.random(ev_group.size) * counts[ev_group]).astype(np.int64)
    contact = handled[pick]
    agent = c.agent[contact]
    ended = c.ended[contact]
    evaluated = np.where(mode == LIVE, ended, ended + 7200.0 + rng.random(ev_group.size) * 64800.0 * 4)
    evaluated = np.floor(evaluated)

    n_ev = ev_group.size
    by_leader = rng.random(n_ev) < 0.4
    analyst = rng.integers(0, len(QUALITY_ANALYSTS), n_ev)
    evaluator = np.where(by_leader, len(QUALITY_ANALYSTS) + staff.agent_team[agent], analyst)
    week_of = (keys[ev_group] % n_weeks).astype(np.float64)
    base = (
        0.9
        + 0.7 * staff.agent_skill[agent]
        + EVALUATOR_BIAS[evaluator]
        + 0.3 * week_of / n_weeks
        + rng.normal(0.0, 0.4, n_ev)
    )
    ev_order = np.lexsort((contact, evaluated))
    n_crit = len(CRITERIA)
    rows = np.repeat(ev_order, n_crit)
    crit = np.tile(np.arange(n_crit), n_ev)
    max_score = np.array([cr[1] for cr in CRITERIA])[crit]
    weight = np.array([cr[2] for cr in CRITERIA])[crit]
    ease = np.array([cr[3] for cr in CRITERIA])[crit]
    resolved = c.resolved[contact[rows]] == 1
    logit = base[rows] + ease + np.where(crit == SOLUTION, np.where(resolved, 0.6, -0.6), 0.0)
    logit += rng.normal(0.0, 0.5, rows.size)
    score = np.clip(np.rint(max_score / (1.0 + np.exp(-logit))), 0.0, max_score)
    eval_number = np.repeat(np.arange(1, n_ev + 1), n_crit)
    return pa.table(
        {
            "evaluation_id": arrow.ids("EV", eval_number, arrow.id_width(n_ev, 6)),
            "agent_id": arrow.text(agent[rows], agent_ids),
            "evaluator_id": arrow.text(evaluator[rows], EVALUATORS),
            "evaluated_at": arrow.timestamps(evaluated[rows], cal.t0),
            "contact_id": arrow.ref(contact_ids, contact[rows]),
            "mode": arrow.text(mode[rows], EVALUATION_MODES),
            "criterion": arrow.text(crit, [cr[0] for cr in CRITERIA]),
            "score": arrow.numbers(score),
            "max_score": arrow.numbers(max_score),
            "weight": arrow.numbers(weight),
        }
    )
