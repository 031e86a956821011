"""Satisfaction surveys sent after contacts: modes, response rates, scores and verbatims.

A share of answered inbound contacts (and a few self-care sessions) gets a survey whose
mode depends on the channel (IVR or SMS after a call, a post-chat web form, an email...).
Response rates differ by mode (an outbound satisfaction call gets most answers, an email
the fewest) and unhappy or delighted customers answer more often. Scores come from one
latent experience per contact, driven by the wait (relative to the channel threshold),
the resolution, the agent's skill, transfers, long holds and repeated contacts, so CSAT,
NPS and CES agree with each other and with the operational data. Verbatims take the tone
of the CSAT and talk about what went wrong or right.
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
    ANSWER_THRESHOLD,
    ANSWERED,
    BANQUE_EN_LIGNE,
    CARTE,
    CHAT,
    COMPTE,
    CREDIT_CONSO,
    DEFLECTED,
    EMAIL,
    FRAUDE,
    LANGUAGES,
    N_CHANNELS,
    NEW,
    PHONE,
    PRET_IMMO,
    SELFCARE,
    SMS,
    SOCIAL,
    SURVEY_MODE,
    VIDEO,
    WEB_FORM,
)
from cxkpi.demo.staffing import Staff
from cxkpi.demo.verbatims import (
    APPLICATION,
    ATTENTE,
    CARTE as T_CARTE,
    CONSEILLER,
    CREDIT,
    FRAIS,
    GENERAL,
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    RESOLUTION,
    compose,
)
from cxkpi.schema.tables import SURVEY_MODES

M = SURVEY_MODE
#: Probability that a contact of each channel is surveyed, and the mode mix.
SEND_PROB = {PHONE: 0.45, VIDEO: 0.6, CHAT: 0.55, EMAIL: 0.35, WEB_FORM: 0.35, SOCIAL: 0.15, SMS: 0.25, SELFCARE: 0.06}
MODE_MIX = {
    PHONE: {M["ivr"]: 0.5, M["sms"]: 0.3, M["email"]: 0.15, M["call"]: 0.05},
    VIDEO: {M["email"]: 0.7, M["in_app"]: 0.3},
    CHAT: {M["web"]: 0.7, M["in_app"]: 0.3},
    EMAIL: {M["email"]: 1.0},
    WEB_FORM: {M["email"]: 0.6, M["web"]: 0.4},
    SOCIAL: {M["web"]: 1.0},
    SMS: {M["sms"]: 1.0},
    SELFCARE: {M["in_app"]: 1.0},
}
N_MODES = len(SURVEY_MODES)
RESPONSE_RATE = np.zeros(N_MODES)
for _name, _rate in {"email": 0.12, "ivr": 0.30, "sms": 0.17, "call": 0.68, "web": 0.22, "in_app": 0.20}.items():
    RESPONSE_RATE[M[_name]] = _rate
#: Which scores each mode asks: csat always; nps and ces by mode.
ASKS_NPS = np.zeros(N_MODES)
ASKS_CES = np.zeros(N_MODES)
for _name, (_nps, _ces) in {
    "email": (1.0, 1.0),
    "ivr": (1.0, 0.0),
    "sms": (0.5, 0.0),
    "call": (1.0, 1.0),
    "web": (0.0, 1.0),
    "in_app": (1.0, 0.3),
}.items():
    ASKS_NPS[M[_name]] = _nps
    ASKS_CES[M[_name]] = _ces
VERBATIM_PROB = np.zeros(N_MODES)
for _name, _p in {"email": 0.5, "ivr": 0.12, "sms": 0.25, "call": 0.7, "web": 0.4, "in_app": 0.3}.items():
    VERBATIM_PROB[M[_name]] = _p


@dataclass(frozen=True)
class Surveys:
    contact: np.ndarray
    sent: np.ndarray
    responded: np.ndarray
    mode: np.ndarray
    csat: np.ndarray  # -1 = null
    nps: np.ndarray
    ces: np.ndarray
    verbatim: list[str | None]
    verbatim_tone: np.ndarray  # -1 = no verbatim (kept for checks)


def _send_delay(mode: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = mode.size
    u = rng.random(n)
    delay = np.select(
        [mode == M["ivr"], mode == M["sms"], mode == M["email"], mode == M["web"], mode == M["in_app"], mode == M["call"]],
        [5.0 + 0 * u, 300.0 + 1500.0 * u, 3600.0 + 82800.0 * u, 2.0 + 0 * u, 60.0 + 540.0 * u, 86400.0 * (1.0 + 2.0 * u)],
        3600.0,
    )
    out: np.ndarray = np.floor(delay)
    return out


def _response_delay(mode: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = mode.size
    z = rng.standard_normal(n)
    median = np.select(
        [mode == M["ivr"], mode == M["sms"], mode == M["email"], mode == M["web"], mode == M["in_app"], mode == M["call"]],
        [45.0, 1200.0, 18000.0, 30.0, 900.0, 300.0],
        3600.0,
    )
    sigma = np.where((mode == M["ivr"]) | (mode == M["web"]) | (mode == M["call"]), 0.4, 1.2)
    out: np.ndarray = np.floor(median * np.exp(sigma * z)) + 1.0
    return out


def build_surveys(cal: Calendar, c: Contacts, arr: Arrivals, staff: Staff, rng: np.random.Generator) -> Surveys:
    """Draw the surveys, their responses, scores and verbatims."""
    eligible = ((c.outcome == ANSWERED) & ~c.outbound) | (c.outcome == DEFLECTED)
    send_p = np.zeros(N_CHANNELS)
    for chan, p in SEND_PROB.items():
        send_p[chan] = p
    sent_mask = eligible & (rng.random(c.n) < send_p[c.channel])
    idx = np.flatnonzero(sent_mask)
    ch = c.channel[idx]
    n = idx.size
    mode = np.zeros(n, dtype=np.int8)
    u = rng.random(n)
    for chan, mix in MODE_MIX.items():
        sel = ch == chan
        cum = 0.0
        assigned = np.zeros(n, dtype=bool)
        for m, p in mix.items():
            cum += p
            hit = sel & ~assigned & (u < cum)
            mode[hit] = m
            assigned |= hit

    # Latent experience of each surveyed contact.
    issue = c.issue[idx]
    reason = arr.issue_reason[issue]
    threshold = np.asarray(ANSWER_THRESHOLD)[ch]
    wait = np.nan_to_num(c.answered[idx] - c.t[idx])
    agent = c.agent[idx]
    skill = np.where(agent >= 0, staff.agent_skill[np.maximum(agent, 0)], 0.0)
    resolved = c.resolved[idx] == 1
    transferred = c.transferred[idx] == 1
    long_hold = np.nan_to_num(c.hold[idx]) > 90.0
    again = c.kind[idx] != NEW  # a retry, a repeat or an escalation from self-care
    wait_term = np.log1p(np.where(threshold > 0, wait / np.maximum(threshold, 1.0), 0.0))
    x = (
        0.95
        + 1.1 * resolved
        - 0.5 * np.minimum(wait_term, 4.0)
        + 0.35 * skill
        - 0.35 * transferred
        - 0.3 * long_hold
        - 0.45 * again
        - 0.25 * (reason == FRAUDE)
        - 0.2 * (ch == SOCIAL)
        + rng.normal(0.0, 0.85, n)
    )
    csat = np.digitize(x, [-0.6, 0.0, 0.6, 1.45]) + 1
    nps = np.clip(np.rint(5.9 + 1.7 * (x + rng.normal(0.0, 0.6, n))), 0, 10).astype(np.int64)
    ces = np.clip(np.rint(3.7 - 1.1 * (x + rng.normal(0.0, 0.6, n)) + 0.6 * again), 1, 7).astype(np.int64)

    respond_p = RESPONSE_RATE[mode] * (0.8 + 0.22 * np.abs(x - 0.9))
    responds = rng.random(n) < np.minimum(respond_p, 0.95)
    sent = c.ended[idx] + _send_delay(mode, rng)
    responded = np.where(responds, sent + _response_delay(mode, rng), np.nan)
    nps = np.where(responds & (rng.random(n) < ASKS_NPS[mode]), nps, -1)
    ces = np.where(responds & (rng.random(n) < ASKS_CES[mode]), ces, -1)
    csat = np.where(responds, csat, -1)

    # Verbatims: tone from the CSAT, topic from what happened.
    extreme = np.where((csat <= 2) | (csat == 5), 1.3, 1.0)
    has_text = responds & (rng.random(n) < VERBATIM_PROB[mode] * extreme)
    tone_p = {1: (0.02, 0.05, 0.93), 2: (0.03, 0.15, 0.82), 3: (0.12, 0.6, 0.28), 4: (0.78, 0.2, 0.02), 5: (0.93, 0.06, 0.01)}
    tone = np.full(n, -1, dtype=np.int8)
    ut = rng.random(n)
    for score, (p_pos, p_neu, _p_neg) in tone_p.items():
        sel = has_text & (csat == score)
        tone[sel] = np.where(ut[sel] < p_pos, POSITIVE, np.where(ut[sel] < p_pos + p_neu, NEUTRAL, NEGATIVE))
    topic = _topics(tone, wait, threshold, resolved, skill, reason, ch, rng)
    second = np.where(rng.random(n) < 0.25, _topics(tone, wait, threshold, resolved, skill, reason, ch, rng), -1)
    t_idx = np.flatnonzero(has_text)
    texts = compose(arr.issue_language[issue[t_idx]], tone[t_idx], topic[t_idx], second[t_idx], rng)
    verbatim: list[str | None] = [None] * n
    for i, s in zip(t_idx.tolist(), texts):
        verbatim[i] = s

    order = np.lexsort((idx, sent))
    return Surveys(
        contact=idx[order],
        sent=sent[order],
        responded=responded[order],
        mode=mode[order],
        csat=csat[order],
        nps=nps[order],
        ces=ces[order],
        verbatim=[verbatim[i] for i in order.tolist()],
        verbatim_tone=tone[order],
    )


def _topics(
    tone: np.ndarray,
    wait: np.ndarray,
    threshold: np.ndarray,
    resolved: np.ndarray,
    skill: np.ndarray,
    reason: np.ndarray,
    ch: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Pick the topic a customer writes about: the salient thing in their experience."""
    n = tone.size
    long_wait = (threshold > 0) & (wait > 3.0 * threshold)
    reason_topic = np.full(n, GENERAL, dtype=np.int8)
    reason_topic[reason == CARTE] = T_CARTE
    reason_topic[reason == BANQUE_EN_LIGNE] = APPLICATION
    reason_topic[(reason == COMPTE)] = FRAIS
    reason_topic[(reason == CREDIT_CONSO) | (reason == PRET_IMMO)] = CREDIT
    reason_topic[ch == SELFCARE] = APPLICATION
    u = rng.random((n, 2))
    neg = tone == NEGATIVE
    pos = tone == POSITIVE
    topic = np.where(u[:, 0] < 0.45, reason_topic, np.where(u[:, 1] < 0.5, CONSEILLER, GENERAL)).astype(np.int8)
    topic = np.where(neg & long_wait & (u[:, 1] < 0.7), ATTENTE, topic)
    topic = np.where(neg & ~resolved & ~long_wait & (u[:, 1] < 0.6), RESOLUTION, topic)
    topic = np.where(neg & (skill < -0.8) & (u[:, 0] > 0.7), CONSEILLER, topic)
    topic = np.where(pos & resolved & (u[:, 1] > 0.75), RESOLUTION, topic)
    topic = np.where(pos & ~long_wait & (threshold > 0) & (wait <= threshold) & (u[:, 0] > 0.85), ATTENTE, topic)
    topic = np.where(pos & (skill > 0.8) & (u[:, 1] < 0.3), CONSEILLER, topic)
    topic = np.where((ch == SELFCARE) & (topic == CONSEILLER), APPLICATION, topic)
    return topic


def surveys_table(
    cal: Calendar, s: Surveys, c: Contacts, arr: Arrivals, contact_ids: pa.Array, customer_ids: pa.Array, agent_ids: pa.Array
) -> pa.Table:
    n = s.contact.size
    agent = c.agent[s.contact]
    return pa.table(
        {
            "survey_id": arrow.ids("SV", np.arange(1, n + 1), arrow.id_width(n, 7)),
            "responded_at": arrow.timestamps(s.responded, cal.t0),
            "sent_at": arrow.timestamps(s.sent, cal.t0),
            "contact_id": arrow.ref(contact_ids, s.contact),
            "customer_id": arrow.ref(customer_ids, arr.issue_customer[c.issue[s.contact]]),
            "agent_id": arrow.text(agent, agent_ids),
            "mode": arrow.text(s.mode, SURVEY_MODES),
            "csat": arrow.integers(s.csat, mask=s.csat < 0),
            "nps": arrow.integers(s.nps, mask=s.nps < 0),
            "ces": arrow.integers(s.ces, mask=s.ces < 0),
            "verbatim": pa.array(s.verbatim, type=pa.string()),
            "language": arrow.text(arr.issue_language[c.issue[s.contact]], LANGUAGES),
        }
    )
