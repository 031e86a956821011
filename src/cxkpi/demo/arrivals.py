"""The inbound flow: expected volumes per channel and half hour, and the drawn arrivals.

Volumes multiply a drifting channel mix (digital grows through the year) by yearly,
weekly, day-of-month (month start and paydays), holiday and intraday (two peaks, about
10:00 and 14:00) factors. Arrivals are Poisson per half hour around that expectation,
plus a few incidents (a card outage, an app outage, a phishing wave) that the forecast
does not know about. Each arrival is a new request (an *issue*) of a customer; self-care
sessions that fail escalate to an agent channel a little later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from cxkpi.demo.calendar import SLOT, Calendar, next_open_slot
from cxkpi.demo.customers import CustomerBase
from cxkpi.demo.reference import (
    BANQUE_EN_LIGNE,
    CARTE,
    CHAT,
    COMPTE,
    EMAIL,
    ESCALATION,
    FRAUDE,
    MIX_END,
    MIX_START,
    MONTHLY,
    N_CHANNELS,
    N_REASONS,
    NEW,
    PATRIMONIAL,
    PHONE,
    PRODUCT_OFFSET,
    PRODUCT_WEIGHTS,
    PRODUCTS,
    PROFESSIONNEL,
    REALTIME,
    REASON_WEIGHTS,
    SELFCARE,
    SELFCARE_REASON_FACTOR,
    SELFCARE_SUCCESS,
    SOCIAL,
    VIDEO,
    WEEKLY,
)

#: New requests per year at scale 1 (repeats, retries and callbacks come on top).
ISSUES_AT_SCALE_1 = 405_000

#: Unforecast incidents: (date, local hours, reason, extra volume factor per channel).
INCIDENTS: tuple[tuple[date, tuple[float, float], int, dict[int, float]], ...] = (
    (date(2026, 1, 13), (11.0, 18.0), CARTE, {PHONE: 0.8, CHAT: 0.6, SOCIAL: 2.5, SELFCARE: 0.3}),
    (date(2026, 3, 17), (8.0, 20.0), FRAUDE, {PHONE: 0.25, SOCIAL: 1.0, EMAIL: 0.3}),
    (date(2026, 3, 18), (8.0, 20.0), FRAUDE, {PHONE: 0.2, SOCIAL: 0.6, EMAIL: 0.3}),
    (date(2026, 6, 9), (8.0, 14.0), BANQUE_EN_LIGNE, {PHONE: 0.5, CHAT: 0.9, EMAIL: 0.4, SOCIAL: 1.5}),
)

#: Contacts pushed back to the next opening arrive within its first hours (in slots).
SNAP_SPREAD_SLOTS = 8

#: Channel choice of a customer who escalates a failed self-care session or comes back.
FOLLOW_UP_MIX = (0.55, 0.12, 0.18, 0.02, 0.03, 0.05, 0.05, 0.0)


def _bump(h: np.ndarray, mu: float, sd: float) -> np.ndarray:
    out: np.ndarray = np.exp(-0.5 * ((h - mu) / sd) ** 2)
    return out


def intraday_profile(channel: int, hour: np.ndarray, saturday: np.ndarray) -> np.ndarray:
    """Relative arrival intensity at local ``hour`` (mid slot); zero where closed is applied later."""
    h = hour
    if channel in (PHONE, VIDEO):
        week = 0.55 * _bump(h, 10.3, 1.1) + 0.45 * _bump(h, 14.3, 1.4) + 0.10 * _bump(h, 18.3, 1.2) + 0.03
        sat = _bump(h, 11.0, 1.8) + 0.05
    elif channel == CHAT:
        week = 0.42 * _bump(h, 11.0, 1.4) + 0.38 * _bump(h, 14.5, 1.5) + 0.28 * _bump(h, 20.5, 1.2) + 0.03
        sat = _bump(h, 11.5, 2.5) + 0.05
    elif channel == SELFCARE:
        week = 0.25 * _bump(h, 8.5, 1.2) + 0.30 * _bump(h, 12.5, 1.5) + 0.38 * _bump(h, 20.8, 1.8) + 0.02
        sat = 0.6 * _bump(h, 11.0, 2.5) + 0.35 * _bump(h, 20.0, 2.0) + 0.02
    else:  # messages: business hours and evenings, a little at night
        week = 0.35 * _bump(h, 10.0, 2.0) + 0.30 * _bump(h, 14.5, 2.0) + 0.25 * _bump(h, 21.0, 1.5) + 0.02
        sat = 0.5 * _bump(h, 11.0, 2.5) + 0.3 * _bump(h, 20.0, 2.0) + 0.02
    out: np.ndarray = np.where(saturday, sat, week)
    return out


def arrival_masks(cal: Calendar) -> np.ndarray:
    """Half hours in which each channel receives contacts (messages arrive at any hour)."""
    masks = np.ones((N_CHANNELS, cal.n_slots), dtype=bool)
    for c in REALTIME:
        masks[c] = cal.hours_mask(c)
    masks[:, cal.n_period_slots :] = False
    return masks


def daily_volumes(cal: Calendar, scale: float) -> np.ndarray:
    """Expected new requests per channel and local day (float, zero after the period)."""
    d = np.arange(cal.n_days)
    frac = np.clip(d / max(cal.n_period_days - 1, 1), 0.0, 1.0)
    mix = np.outer(np.asarray(MIX_START), 1.0 - frac) + np.outer(np.asarray(MIX_END), frac)
    monthly = np.asarray(MONTHLY)[cal.day_month]
    dom = cal.day_dom.astype(np.int64)
    dom_f = np.ones(cal.n_days)
    dom_f[dom == 1] = 1.22
    dom_f[dom == 2] = 1.15
    dom_f[dom == 3] = 1.07
    dom_f[(dom >= 27) & (dom <= 29)] = 1.08
    dom_f[dom >= 30] = 1.12
    vol = mix * (monthly * dom_f)[None, :]
    for c in range(N_CHANNELS):
        vol[c] *= np.asarray(WEEKLY[c])[cal.day_dow]
    # The first open day after a public holiday absorbs the calls that could not be made.
    after_holiday = np.zeros(cal.n_days, dtype=bool)
    after_holiday[1:] = cal.day_holiday[:-1]
    after_holiday[3:] |= (cal.day_dow[3:] == 0) & cal.day_holiday[:-3]
    after_holiday &= ~cal.day_holiday
    christmas = np.array([(x.month == 12 and x.day >= 22) or (x.month == 1 and x.day <= 2) for x in cal.day_dates])
    for c in range(N_CHANNELS):
        if c == SELFCARE:
            vol[c, cal.day_holiday] *= 0.8
            continue
        if c in REALTIME:
            vol[c, cal.day_holiday] = 0.0
        else:
            vol[c, cal.day_holiday] *= 0.5
        vol[c, after_holiday] *= 1.2
        vol[c, cal.day_short] *= 0.7
        vol[c, christmas] *= 0.85
    vol[:, cal.n_period_days :] = 0.0
    vol *= ISSUES_AT_SCALE_1 * scale / float(vol.sum())
    out: np.ndarray = vol
    return out


def slot_intensity(cal: Calendar, daily: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Spread the daily volumes over the open half hours by the intraday profile."""
    lam = np.zeros((N_CHANNELS, cal.n_slots))
    saturday = cal.day_dow[cal.slot_day] == 5
    for c in range(N_CHANNELS):
        prof = intraday_profile(c, cal.slot_hour + 0.25, saturday) * masks[c]
        per_day = np.bincount(cal.slot_day, weights=prof, minlength=cal.n_days)
        norm = np.where(per_day > 0, daily[c] / np.where(per_day > 0, per_day, 1.0), 0.0)
        lam[c] = prof * norm[cal.slot_day]
    return lam


def incident_intensity(cal: Calendar, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Extra expected arrivals per channel and slot from the incidents, and the forced reason per slot."""
    extra = np.zeros_like(lam)
    reason = np.full(cal.n_slots, -1, dtype=np.int8)
    for day, (h0, h1), r, factors in INCIDENTS:
        d = (day - cal.day_dates[0]).days
        sel = (cal.slot_day == d) & (cal.slot_hour >= h0) & (cal.slot_hour < h1)
        reason[sel] = r
        for c, f in factors.items():
            extra[c, sel] = lam[c, sel] * f
    return extra, reason


@dataclass(frozen=True)
class Arrivals:
    """Requests (issues) and the contacts that exist before any agent is involved.

    ``queued_*``: contacts that wait for an agent (new requests on agent channels and
    escalations of failed self-care sessions), sorted by time. ``self_*``: self-care
    sessions (outcome deflected). ``issue_*``: one row per request.
    """

    issue_customer: np.ndarray
    issue_segment: np.ndarray
    issue_language: np.ndarray
    issue_reason: np.ndarray
    issue_product: np.ndarray
    queued_t: np.ndarray
    queued_channel: np.ndarray
    queued_issue: np.ndarray
    queued_kind: np.ndarray
    self_t: np.ndarray
    self_end: np.ndarray
    self_issue: np.ndarray
    self_resolved: np.ndarray
    self_converted: np.ndarray
    forecast: np.ndarray  # expected new requests per channel and slot (no incidents)
    open_masks: np.ndarray
    next_open: np.ndarray


def snap_to_open(
    t: np.ndarray, channel: np.ndarray, masks: np.ndarray, nxt: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Move times that fall while their real-time channel is closed to the next opening.

    Returns NaN where the channel does not open again within the simulated horizon.
    """
    out = t.astype(np.float64).copy()
    n_slots = masks.shape[1]
    slot = np.minimum((t // SLOT).astype(np.int64), n_slots - 1)
    closed = ~masks[channel, slot]
    if closed.any():
        ns = nxt[channel[closed], slot[closed]]
        # Spread over the first hours of the next opening, not all at the opening bell.
        later = ns + (rng.random(ns.size) * SNAP_SPREAD_SLOTS).astype(np.int64)
        ok = (ns >= 0) & (later < n_slots)
        later = np.where(ok, later, 0)
        ok &= masks[channel[closed], later]
        first = np.where(ok, later, ns)
        moved = np.where(ns >= 0, first * float(SLOT) + np.floor(rng.random(ns.size) * SLOT), np.nan)
        out[closed] = moved
    return out


def draw_arrivals(cal: Calendar, customers: CustomerBase, scale: float, rng: np.random.Generator) -> Arrivals:
    """Draw a year of requests and self-care sessions, with their customers and reasons."""
    masks = arrival_masks(cal)
    nxt = np.stack([next_open_slot(masks[c]) for c in range(N_CHANNELS)])
    daily = daily_volumes(cal, scale)
    lam = slot_intensity(cal, daily, masks)
    extra, forced = incident_intensity(cal, lam)

    counts = rng.poisson(lam + extra)
    ch, slot = np.nonzero(counts)
    k = counts[ch, slot]
    ch = np.repeat(ch, k).astype(np.int8)
    slot = np.repeat(slot, k)
    t = slot * float(SLOT) + rng.integers(0, SLOT, ch.size)
    # Which of them belong to the incident: a share extra / (lam + extra) of the slot.
    share = np.where(extra[ch, slot] > 0, extra[ch, slot] / np.maximum(lam[ch, slot] + extra[ch, slot], 1e-12), 0.0)
    incident = rng.random(ch.size) < share
    order = np.argsort(t, kind="stable")
    ch, t, slot, incident = ch[order], t[order], slot[order], incident[order]
    n = t.size

    cust = customers.pick(t, rng)
    seg = customers.segment[cust]
    lang = customers.language[cust]
    selfcare = ch == SELFCARE
    reason = np.zeros(n, dtype=np.int8)
    for s in range(len(REASON_WEIGHTS)):
        for sc in (False, True):
            sel = np.flatnonzero((seg == s) & (selfcare == sc))
            w = np.asarray(REASON_WEIGHTS[s]) * (np.asarray(SELFCARE_REASON_FACTOR) if sc else 1.0)
            reason[sel] = rng.choice(N_REASONS, size=sel.size, p=w / w.sum())
    reason[incident] = forced[slot[incident]]
    product = _draw_products(reason, seg, rng)

    # Self-care sessions: a few minutes, most succeed; failures escalate to an agent channel.
    s_idx = np.flatnonzero(selfcare)
    s_t = t[s_idx]
    s_dur = np.floor(np.exp(np.log(150.0) + 0.7 * rng.standard_normal(s_idx.size))) + 20.0
    p_ok = np.asarray(SELFCARE_SUCCESS)[reason[s_idx]]
    p_ok = np.where(incident[s_idx], p_ok * 0.4, p_ok)
    s_ok = rng.random(s_idx.size) < p_ok
    s_conv = s_ok & (rng.random(s_idx.size) < np.where(np.isin(reason[s_idx], (7, 8)), 0.03, 0.004))
    escalate = ~s_ok & (rng.random(s_idx.size) < 0.85)
    e_src = s_idx[escalate]
    soon = rng.random(e_src.size) < 0.6
    delay = np.where(soon, 600.0 + rng.random(e_src.size) * 6600.0, 3600.0 + rng.random(e_src.size) * 172800.0)
    e_t = np.floor(s_t[escalate] + s_dur[escalate] + delay)
    fm = np.asarray(FOLLOW_UP_MIX)
    e_ch = rng.choice(N_CHANNELS, size=e_src.size, p=fm / fm.sum()).astype(np.int8)
    e_t = snap_to_open(e_t, e_ch, masks, nxt, rng)
    keep = ~np.isnan(e_t) & (e_t < cal.end)
    e_src, e_t, e_ch = e_src[keep], e_t[keep], e_ch[keep]

    agent = np.flatnonzero(~selfcare)
    q_t = np.concatenate([t[agent], e_t])
    q_ch = np.concatenate([ch[agent], e_ch])
    q_issue = np.concatenate([agent, e_src]).astype(np.int32)
    q_kind = np.concatenate([np.full(agent.size, NEW, np.int8), np.full(e_src.size, ESCALATION, np.int8)])
    q_order = np.lexsort((q_issue, q_t))
    return Arrivals(
        issue_customer=cust,
        issue_segment=seg,
        issue_language=lang,
        issue_reason=reason,
        issue_product=product,
        queued_t=q_t[q_order],
        queued_channel=q_ch[q_order],
        queued_issue=q_issue[q_order],
        queued_kind=q_kind[q_order],
        self_t=s_t,
        self_end=s_t + s_dur,
        self_issue=s_idx.astype(np.int32),
        self_resolved=s_ok,
        self_converted=s_conv,
        forecast=lam,
        open_masks=masks,
        next_open=nxt,
    )


def _draw_products(reason: np.ndarray, seg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A product per request, from the reason's product list (global product code)."""
    product = np.zeros(reason.size, dtype=np.int16)
    for r in range(N_REASONS):
        sel = np.flatnonzero(reason == r)
        if sel.size == 0:
            continue
        w = np.asarray(PRODUCT_WEIGHTS[r], dtype=float)
        local = rng.choice(len(PRODUCTS[r]), size=sel.size, p=w / w.sum())
        if r == COMPTE:
            pro = (seg[sel] == PROFESSIONNEL) & (rng.random(sel.size) < 0.7)
            local[pro] = 3
        if r == CARTE:
            rich = (seg[sel] == PATRIMONIAL) & (rng.random(sel.size) < 0.5)
            local[rich] = 3
        product[sel] = PRODUCT_OFFSET[r] + local
    return product

