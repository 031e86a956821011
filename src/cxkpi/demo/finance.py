"""Money: monthly revenue and cost per customer, the service's daily cash flows, a loan book.

* customer_revenue: every customer active in a month gets a revenue (a persistent level
  by segment, plus the margin of products bought through the service) and a cost (a
  servicing cost by segment plus the cost of each of their contacts by channel), both
  pro rata of the days active.
* cashflows: what the service pays (salaries of the in-house teams, the outsourcer's
  invoice from its logged hours, telecom by call minutes, licences, training, rent,
  goodwill gestures) and brings in (sales commissions, fees recovered, the internal
  recharge to the business lines), by day; team is set on team-level flows.
* loans: month-end snapshots of amortising loans (annuities); arrears follow a monthly
  Markov chain of delinquency buckets (current, 1-29, 30-59, 60-89, 90-119, 120-179,
  180+ days), started from its long-run mix, so a few percent are 90+ days past due.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa

from cxkpi.demo import arrow
from cxkpi.demo.calendar import PARIS, SLOT, Calendar
from cxkpi.demo.contacts import Contacts
from cxkpi.demo.reference import (
    COMMISSION,
    COMPTE,
    FRAUDE,
    LYON,
    MARGIN_UPLIFT,
    PATRIMONIAL,
    PHONE,
    PROFESSIONNEL,
    RABAT,
    SMS,
    STATE,
    TEAM_SITE,
    TEAMS,
    VIDEO,
)
from cxkpi.demo.staffing import Staff

N_MONTHS = 12
EPOCH = date(1970, 1, 1)
REVENUE_MEDIAN = (22.0, 85.0, 240.0)  # EUR per month by segment
SERVICING_COST = (3.5, 9.0, 14.0)
CONTACT_COST = (6.0, 4.0, 3.5, 14.0, 4.5, 3.5, 1.2, 0.15)  # EUR per contact by channel


def month_bounds(cal: Calendar) -> tuple[np.ndarray, list[date]]:
    """Local month starts (seconds from the period start), 13 bounds, and the month dates."""
    firsts = [date(2025 + (10 + m) // 12, (10 + m) % 12 + 1, 1) for m in range(N_MONTHS + 1)]
    secs = np.array([datetime.combine(d, datetime.min.time(), PARIS).timestamp() - cal.t0 for d in firsts])
    return secs, firsts[:N_MONTHS]


def contact_month(cal: Calendar, t: np.ndarray) -> np.ndarray:
    day = cal.slot_day[np.minimum((t // SLOT).astype(np.int64), cal.n_slots - 1)]
    out: np.ndarray = cal.day_month[day].astype(np.int64)
    return out


def customer_revenue_table(
    cal: Calendar,
    segment: np.ndarray,
    acquired: np.ndarray,
    churned: np.ndarray,
    c: Contacts,
    contact_customer: np.ndarray,
    contact_reason: np.ndarray,
    customer_ids: pa.Array,
    rng: np.random.Generator,
) -> pa.Table:
    """Monthly revenue and cost per active customer (rows by month, then customer)."""
    n = segment.size
    bounds, firsts = month_bounds(cal)
    m_start, m_end = bounds[:-1], bounds[1:]
    churn_end = np.where(np.isnan(churned), np.inf, churned)
    level = (np.asarray(REVENUE_MEDIAN)[segment] * np.exp(rng.normal(0.0, 0.6, n))).astype(np.float32)
    month = contact_month(cal, c.t)
    cost = np.zeros((N_MONTHS, n), dtype=np.float32)
    np.add.at(cost, (month, contact_customer), np.asarray(CONTACT_COST, dtype=np.float32)[c.channel])
    uplift = np.zeros((N_MONTHS + 1, n), dtype=np.float32)
    sold = np.flatnonzero(c.converted == 1)
    np.add.at(uplift, (month[sold] + 1, contact_customer[sold]), np.asarray(MARGIN_UPLIFT, dtype=np.float32)[contact_reason[sold]])
    uplift = np.cumsum(uplift, axis=0)[:N_MONTHS]
    del month
    servicing = np.asarray(SERVICING_COST, dtype=np.float32)[segment]
    period_days = np.array([(d - EPOCH).days for d in firsts], dtype=np.int32)
    parts = []
    for m in range(N_MONTHS):
        lo = np.maximum(acquired, m_start[m])
        hi = np.minimum(churn_end, m_end[m])
        frac = np.clip((hi - lo) / (m_end[m] - m_start[m]), 0.0, 1.0)
        cust = np.flatnonzero(frac > 0)
        f = frac[cust]
        noise = np.exp(rng.normal(0.0, 0.08, cust.size))
        revenue = np.round((level[cust] * noise + uplift[m, cust]) * f, 2)
        total_cost = np.round(servicing[cust] * f + cost[m, cust], 2)
        parts.append(
            pa.table(
                {
                    "customer_id": arrow.ref(customer_ids, cust),
                    "period": arrow.dates(np.full(cust.size, period_days[m])),
                    "revenue": arrow.numbers(revenue),
                    "cost": arrow.numbers(total_cost),
                }
            )
        )
    return pa.concat_tables(parts)


def _business_day_on_or_before(d: date, holidays: set[date]) -> date:
    while d.weekday() >= 5 or d in holidays:
        d -= timedelta(days=1)
    return d


def _business_day_on_or_after(d: date, holidays: set[date]) -> date:
    while d.weekday() >= 5 or d in holidays:
        d += timedelta(days=1)
    return d


def cashflows_table(
    cal: Calendar, c: Contacts, contact_reason: np.ndarray, staff: Staff, scale: float, rng: np.random.Generator
) -> pa.Table:
    """Daily cash flows of the service (EUR), with a team on the team-level ones."""
    nd = cal.n_period_days
    dates = cal.day_dates[:nd]
    hol = {d for d, h in zip(cal.day_dates, cal.day_holiday.tolist()) if h}
    day_of = cal.slot_day[np.minimum((c.t // SLOT).astype(np.int64), cal.n_slots - 1)]
    in_period = day_of < nd
    rows: list[tuple[int, int, str, float, int]] = []  # day, direction (0 in, 1 out), category, amount, team

    def add(day: np.ndarray, direction: int, category: str, amount: np.ndarray, team: int = -1) -> None:
        for d, a in zip(day.tolist(), amount.tolist()):
            if a > 0:
                rows.append((d, direction, category, round(a, 2), team))

    days = np.arange(nd)
    voice = in_period & np.isin(c.channel, (PHONE, VIDEO)) & ~np.isnan(c.answered)
    minutes = np.bincount(day_of[voice], weights=(c.ended - c.answered)[voice] / 60.0, minlength=nd)[:nd]
    sms = np.bincount(day_of[in_period & (c.channel == SMS)], minlength=nd)[:nd]
    add(days, 1, "télécom", 0.015 * minutes + 0.06 * sms + 120.0 * max(scale, 0.05) ** 0.5)

    sold = in_period & (c.converted == 1)
    commission = np.bincount(
        day_of[sold], weights=np.asarray(COMMISSION)[contact_reason[sold]] * rng.uniform(0.8, 1.2, int(sold.sum())), minlength=nd
    )[:nd]
    add(days, 0, "commissions ventes", commission)
    open_day = np.array([d.weekday() < 5 and d not in hol for d in dates])
    fees = rng.poisson(45.0 * scale, nd) * rng.uniform(8.0, 20.0, nd) * open_day
    add(days, 0, "frais récupérés", fees)
    gesture = in_period & np.isin(contact_reason, (COMPTE, FRAUDE)) & (c.resolved == 1) & (rng.random(c.n) < 0.08)
    goodwill = np.bincount(day_of[gesture], weights=rng.uniform(15.0, 80.0, int(gesture.sum())), minlength=nd)[:nd]
    add(days, 1, "gestes commerciaux", goodwill)

    team_agents = np.bincount(staff.agent_team, minlength=len(TEAMS))
    logged = np.zeros((len(TEAMS), N_MONTHS))
    present = ~staff.roster_absent
    r_team = staff.agent_team[staff.roster_agent[present]]
    r_month = contact_month(cal, staff.roster_start[present])
    np.add.at(logged, (r_team, r_month), (staff.roster_end - staff.roster_start)[present] / 3600.0)
    training = np.zeros((len(TEAMS), N_MONTHS))
    tr = staff.gap_state == STATE["training"]
    np.add.at(
        training,
        (staff.agent_team[staff.server_agent[staff.gap_server[tr]]], contact_month(cal, staff.gap_start[tr])),
        (staff.gap_end - staff.gap_start)[tr] / 3600.0,
    )
    index = {d: i for i, d in enumerate(dates)}
    monthly_out = np.zeros(N_MONTHS)
    for m in range(N_MONTHS):
        y, mo = 2025 + (10 + m) // 12, (10 + m) % 12 + 1
        first = date(y, mo, 1)
        last = (date(y + mo // 12, mo % 12 + 1, 1)) - timedelta(days=1)
        pay = index[_business_day_on_or_before(date(y, mo, min(28, last.day)), hol)]
        for team, site in enumerate(TEAM_SITE):
            if site == LYON and team_agents[team]:
                amount = team_agents[team] * 3800.0 * rng.uniform(0.98, 1.03)
                add(np.array([pay]), 1, "salaires", np.array([amount]), team)
                monthly_out[m] += amount
            if site == RABAT and m > 0:
                inv_day = index[_business_day_on_or_after(date(y, mo, 10), hol)]
                amount = logged[team, m - 1] * 26.0
                add(np.array([inv_day]), 1, "facture prestataire", np.array([amount]), team)
                monthly_out[m] += amount
            if training[team, m] > 0:
                add(np.array([index[last]]), 1, "formation", np.array([training[team, m] * 55.0]), team)
        lic_day = index[_business_day_on_or_after(date(y, mo, 5), hol)]
        licences = staff.n_agents * 110.0
        add(np.array([lic_day]), 1, "licences logicielles", np.array([licences]))
        rent = 38000.0 * max(float(team_agents[[t for t, s in enumerate(TEAM_SITE) if s == LYON]].sum()), 1.0) / 90.0
        add(np.array([index[first]]), 1, "loyer et charges", np.array([rent]))
        monthly_out[m] += licences + rent
        recharge_day = index[_business_day_on_or_before(last, hol)]
        add(np.array([recharge_day]), 0, "refacturation interne", np.array([0.55 * monthly_out[m]]))

    rows.sort()
    n = len(rows)
    day = np.array([r[0] for r in rows], dtype=np.int64)
    direction = np.array([r[1] for r in rows], dtype=np.int8)
    epoch_days = np.array([(d - EPOCH).days for d in dates], dtype=np.int32)
    row_team = np.array([r[4] for r in rows], dtype=np.int64)
    return pa.table(
        {
            "cashflow_id": arrow.ids("CF", np.arange(1, n + 1), arrow.id_width(n, 6)),
            "date": arrow.dates(epoch_days[day]),
            "direction": arrow.text(direction, ("in", "out")),
            "category": pa.array([r[2] for r in rows], type=pa.string()),
            "amount": arrow.numbers(np.array([r[3] for r in rows])),
            "team": arrow.text(row_team, TEAMS),
        }
    )


#: Monthly transition matrix of the delinquency buckets (rows: from, columns: to).
TRANSITIONS = np.array(
    [
        [0.975, 0.025, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.55, 0.20, 0.25, 0.0, 0.0, 0.0, 0.0],
        [0.30, 0.08, 0.17, 0.45, 0.0, 0.0, 0.0],
        [0.15, 0.03, 0.05, 0.17, 0.60, 0.0, 0.0],
        [0.06, 0.0, 0.02, 0.02, 0.20, 0.70, 0.0],
        [0.04, 0.0, 0.0, 0.0, 0.01, 0.45, 0.50],
        [0.02, 0.0, 0.0, 0.0, 0.0, 0.0, 0.98],
    ]
)
WRITE_OFF_MONTHS = 6
DPD_RANGE = ((0, 0), (1, 29), (30, 59), (60, 89), (90, 119), (120, 179), (180, 180))
LOANS_AT_SCALE_1 = 7000
#: Loan types: (share, principal median EUR, sigma, terms in months, yearly rate, risk).
LOAN_TYPES = (
    (0.35, 190_000.0, 0.45, (180, 240, 300), 0.036, 0.6),
    (0.50, 11_000.0, 0.60, (36, 48, 60, 72), 0.065, 1.5),
    (0.15, 70_000.0, 0.70, (60, 84), 0.050, 1.2),
)


def _step(state: np.ndarray, risk: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One month of the delinquency chain; the roll rate out of "current" scales with risk."""
    p = TRANSITIONS[state].copy()
    roll = np.minimum(p[:, 1] * risk, 0.5)
    current = state == 0
    p[current, 1] = roll[current]
    p[current, 0] = 1.0 - roll[current]
    cum = np.cumsum(p, axis=1)
    out: np.ndarray = (cum < u[:, None]).sum(axis=1).astype(np.int8)
    capped: np.ndarray = np.minimum(out, 6).astype(np.int8)
    return capped


def loans_table(
    cal: Calendar, segment: np.ndarray, acquired: np.ndarray, customer_ids: pa.Array, scale: float, rng: np.random.Generator
) -> pa.Table:
    """Month-end snapshots of the loan book."""
    n = max(20, int(round(LOANS_AT_SCALE_1 * scale)))
    w = np.where(segment == PATRIMONIAL, 2.0, np.where(segment == PROFESSIONNEL, 1.8, 1.0))
    cust = rng.choice(segment.size, size=n, p=w / w.sum())
    kind = rng.choice(len(LOAN_TYPES), size=n, p=[t[0] for t in LOAN_TYPES])
    kind = np.where(segment[cust] == PROFESSIONNEL, np.where(rng.random(n) < 0.6, 2, kind), np.where(kind == 2, 1, kind))
    principal = np.zeros(n)
    term = np.zeros(n, dtype=np.int64)
    rate = np.zeros(n)
    risk = np.zeros(n)
    for k, (_share, median, sigma, terms, yearly, rsk) in enumerate(LOAN_TYPES):
        sel = kind == k
        principal[sel] = np.round(median * np.exp(sigma * rng.standard_normal(int(sel.sum()))), -2)
        term[sel] = rng.choice(terms, size=int(sel.sum()))
        rate[sel] = yearly / 12.0
        risk[sel] = rsk
    risk *= np.exp(rng.normal(0.0, 0.5, n))
    # Origination (months relative to the first month of the period); new loans in the year.
    bounds, firsts = month_bounds(cal)
    acq = acquired[cust]
    acq_month = np.where(acq < 0, np.floor(acq / (30.44 * 86400.0)), np.searchsorted(bounds, acq, side="right") - 1)
    new = rng.random(n) < 0.2
    origin = np.where(new, rng.integers(0, N_MONTHS, n), -rng.integers(1, np.maximum(term, 2), n))
    origin = np.maximum(origin, acq_month)
    # Long-run start of the delinquency chain: 36 months of burn-in.
    # (a loan charged off during the burn-in is replaced by a performing one).
    state = np.zeros(n, dtype=np.int8)
    months_in_6 = np.zeros(n, dtype=np.int64)
    for _ in range(36):
        state = _step(state, risk, rng.random(n))
        months_in_6 = np.where(state == 6, months_in_6 + 1, 0)
        state = np.where(months_in_6 > WRITE_OFF_MONTHS, 0, state).astype(np.int8)
        months_in_6 = np.where(state == 6, months_in_6, 0)
    state = np.where(origin >= 0, 0, state).astype(np.int8)
    months_in_6 = np.where(state == 6, months_in_6 - 1, 0)

    growth = (1.0 + rate) ** term
    out_loan: list[np.ndarray] = []
    out_month: list[np.ndarray] = []
    out_balance: list[np.ndarray] = []
    out_dpd: list[np.ndarray] = []
    done = np.zeros(n, dtype=bool)
    for m in range(N_MONTHS):
        if m > 0:
            state = np.where(origin < m, _step(state, risk, rng.random(n)), state).astype(np.int8)
        months_in_6 = np.where(state == 6, months_in_6 + 1, 0)
        age = m - origin
        paid = np.clip(age - state, 0, term)
        balance = np.maximum(principal * (growth - (1.0 + rate) ** paid) / (growth - 1.0), 0.0)
        written_off = months_in_6 > WRITE_OFF_MONTHS  # charged off: leaves the book at zero
        balance = np.where(written_off, 0.0, balance)
        live = (age >= 0) & ~done
        lo = np.array([r[0] for r in DPD_RANGE])[state]
        hi = np.array([r[1] for r in DPD_RANGE])[state]
        dpd = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
        dpd = np.where(state == 6, 180 + 30 * (months_in_6 - 1), dpd)
        dpd = np.where(balance > 0, dpd, 0)
        sel = np.flatnonzero(live)
        out_loan.append(sel)
        out_month.append(np.full(sel.size, m))
        out_balance.append(np.round(balance[sel], 2))
        out_dpd.append(dpd[sel])
        done |= live & (balance <= 0)
    loan = np.concatenate(out_loan)
    month = np.concatenate(out_month)
    month_end_days = np.array([(d - EPOCH).days for d in _month_ends(firsts)], dtype=np.int32)
    return pa.table(
        {
            "loan_id": arrow.ids("PR", loan + 1, arrow.id_width(n, 6)),
            "customer_id": arrow.ref(customer_ids, cust[loan]),
            "snapshot_date": arrow.dates(month_end_days[month]),
            "outstanding": arrow.numbers(np.concatenate(out_balance)),
            "days_past_due": arrow.integers(np.concatenate(out_dpd)),
        }
    )


def _month_ends(firsts: list[date]) -> list[date]:
    return [date(d.year + d.month // 12, d.month % 12 + 1, 1) - timedelta(days=1) for d in firsts]
