"""Orchestration of the demo data set: a French retail bank's multichannel service, one year.

Order matters because every table follows from the ones before: customers, then their
requests (arrivals), then the staffing planned from the forecast, then the queue
simulation that decides waits, abandons, answers and repeats, then everything observed
about the contacts (cases, surveys, quality evaluations, agent states), then churn
(which depends on the experience) and money. Each stage draws from its own random
stream spawned from the seed, so the result depends only on ``seed`` and ``scale``.
Large scales are built in parts (``cxkpi.demo.shards``), each one run of these stages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from cxkpi.demo import arrow
from cxkpi.demo.agent_states import agent_states_table
from cxkpi.demo.arrivals import Arrivals, draw_arrivals
from cxkpi.demo.calendar import Calendar, build_calendar
from cxkpi.demo.cases import Cases, build_cases, cases_table
from cxkpi.demo.contacts import Contacts, assemble_contacts, contacts_table
from cxkpi.demo.customers import CustomerBase, customer_base, draw_churn
from cxkpi.demo.finance import cashflows_table, customer_revenue_table, loans_table
from cxkpi.demo.quality import evaluations_table
from cxkpi.demo.queue import simulate
from cxkpi.demo.reference import ABANDONED, ANSWERED, PHONE, SEGMENTS
from cxkpi.demo.staffing import Staff, build_staff
from cxkpi.demo.surveys import Surveys, build_surveys, surveys_table

Progress = Callable[[str, float], None]

#: Stages in order, with the share of the run time they take at scale 1 (for progress).
STAGES = (
    ("customers", 0.01),
    ("arrivals", 0.04),
    ("staffing", 0.04),
    ("queue", 0.30),
    ("contacts", 0.12),
    ("cases", 0.05),
    ("surveys", 0.08),
    ("quality", 0.04),
    ("agent_states", 0.14),
    ("churn", 0.03),
    ("finance", 0.15),
)
TABLE_ORDER = (
    "contacts",
    "cases",
    "surveys",
    "evaluations",
    "agent_states",
    "customers",
    "customer_revenue",
    "cashflows",
    "loans",
)
#: Bad-experience weights behind churn: an abandoned contact, a request closed without
#: resolution, a low CSAT (1-2), a phone wait over three minutes.
BAD_WEIGHTS = {"abandon": 1.0, "unresolved": 1.5, "low_csat": 2.0, "long_wait": 0.5}


@dataclass(frozen=True)
class DemoData:
    """The tables plus the internals that produced them (for checks and demos)."""

    tables: dict[str, pa.Table]
    calendar: Calendar
    staff: Staff
    arrivals: Arrivals
    contacts: Contacts
    cases: Cases
    surveys: Surveys
    customers: CustomerBase
    bad_experience: np.ndarray


class _Progress:
    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback
        self.done = 0.0
        self.weights = dict(STAGES)

    def start(self, stage: str) -> None:
        if self.callback is not None:
            self.callback(stage, self.done)

    def finish(self, stage: str) -> None:
        self.done = min(1.0, self.done + self.weights[stage])

    def within(self, stage: str) -> Progress:
        def report(_name: str, fraction: float) -> None:
            if self.callback is not None:
                self.callback(stage, min(1.0, self.done + self.weights[stage] * fraction))

        return report


def build(
    seed: int = 42, scale: float = 1.0, progress: Progress | None = None, *, compact_text: bool = False
) -> DemoData:
    """Generate the demo data set and keep the intermediate results."""
    data = _run(seed, scale, progress)
    tables = {name: arrow.finalize(t, compact_text) for name, t in data.tables.items()}
    return replace(data, tables=tables)


def _run(seed: int | np.random.SeedSequence, scale: float, progress: Progress | None) -> DemoData:
    """All stages; low-cardinality text columns are still dictionary-encoded.

    ``seed``: an integer, or the seed sequence of one part of a larger demo (its stages'
    streams are spawned from it as from an integer's).
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    streams = dict(
        zip(
            [name for name, _ in STAGES],
            [np.random.default_rng(s) for s in root.spawn(len(STAGES))],
        )
    )
    p = _Progress(progress)
    cal = build_calendar()

    p.start("customers")
    customers = customer_base(cal, scale, streams["customers"])
    width = arrow.id_width(customers.n, 7)
    customer_ids = arrow.ids("CU", np.arange(1, customers.n + 1), width)
    p.finish("customers")

    p.start("arrivals")
    arr = draw_arrivals(cal, customers, scale, streams["arrivals"])
    p.finish("arrivals")

    p.start("staffing")
    seg_share = np.bincount(customers.segment, weights=customers.weight, minlength=len(SEGMENTS))
    staff = build_staff(cal, arr.forecast, seg_share / seg_share.sum(), streams["staffing"])
    agent_ids = arrow.ids("AG", np.arange(1, staff.n_agents + 1), arrow.id_width(staff.n_agents, 4))
    p.finish("staffing")

    p.start("queue")
    q = simulate(cal, arr, staff, streams["queue"], p.within("queue"))
    p.finish("queue")

    p.start("contacts")
    c = assemble_contacts(arr, q, staff, streams["contacts"])
    del q
    p.finish("contacts")

    p.start("cases")
    k = build_cases(cal, c, arr, streams["cases"])
    cases, case_ids = cases_table(cal, k, arr, staff, customer_ids, agent_ids)
    contacts = contacts_table(cal, c, arr, staff, customer_ids, agent_ids, case_ids)
    contact_ids = contacts.column("contact_id").combine_chunks()
    p.finish("cases")

    p.start("surveys")
    s = build_surveys(cal, c, arr, staff, streams["surveys"])
    surveys = surveys_table(cal, s, c, arr, contact_ids, customer_ids, agent_ids)
    p.finish("surveys")

    p.start("quality")
    evaluations = evaluations_table(cal, c, staff, contact_ids, agent_ids, streams["quality"])
    p.finish("quality")

    p.start("agent_states")
    states = agent_states_table(cal, c, staff, agent_ids)
    p.finish("agent_states")

    p.start("churn")
    contact_customer = arr.issue_customer[c.issue]
    bad = bad_experience(c, k, s, contact_customer, arr.issue_customer, customers.n)
    last = np.full(customers.n, -np.inf)
    np.maximum.at(last, contact_customer, c.ended)
    last = np.where(np.isinf(last), np.nan, last)
    churned = draw_churn(customers, cal, bad, last, streams["churn"])
    customers_tbl = pa.table(
        {
            "customer_id": customer_ids,
            "segment": arrow.text(customers.segment, SEGMENTS),
            "acquired_at": arrow.timestamps(customers.acquired, cal.t0),
            "churned_at": arrow.timestamps(churned, cal.t0),
        }
    )
    p.finish("churn")

    p.start("finance")
    rng = streams["finance"]
    contact_reason = arr.issue_reason[c.issue]
    revenue = customer_revenue_table(
        cal, customers.segment, customers.acquired, churned, c, contact_customer, contact_reason, customer_ids, rng
    )
    cashflows = cashflows_table(cal, c, contact_reason, staff, scale, rng)
    loans = loans_table(cal, customers.segment, customers.acquired, customer_ids, scale, rng)
    p.finish("finance")
    if progress is not None:
        progress("done", 1.0)

    tables = {
        "contacts": contacts,
        "cases": cases,
        "surveys": surveys,
        "evaluations": evaluations,
        "agent_states": states,
        "customers": customers_tbl,
        "customer_revenue": revenue,
        "cashflows": cashflows,
        "loans": loans,
    }
    return DemoData(
        tables={name: tables[name] for name in TABLE_ORDER},
        calendar=cal,
        staff=staff,
        arrivals=arr,
        contacts=c,
        cases=k,
        surveys=s,
        customers=customers,
        bad_experience=bad,
    )


def bad_experience(
    c: Contacts, k: Cases, s: Surveys, contact_customer: np.ndarray, issue_customer: np.ndarray, n_customers: int
) -> np.ndarray:
    """Weighted count of bad experiences per customer (see ``BAD_WEIGHTS``)."""
    wait = c.ended - c.t
    abandon = (c.outcome == ABANDONED) & ~c.outbound & (wait >= 5.0)
    long_wait = (c.outcome == ANSWERED) & (c.channel == PHONE) & ~c.outbound & (c.answered - c.t > 180.0)
    bad = BAD_WEIGHTS["abandon"] * np.bincount(contact_customer[abandon], minlength=n_customers)
    bad += BAD_WEIGHTS["long_wait"] * np.bincount(contact_customer[long_wait], minlength=n_customers)
    # Requests whose last contact left them unresolved.
    last_contact_of_case = np.zeros(k.n, dtype=np.int64)
    has = c.case >= 0
    order = np.lexsort((c.t[has], c.case[has]))
    idx = np.flatnonzero(has)[order]
    ends = np.r_[np.flatnonzero(np.diff(c.case[idx]) != 0), idx.size - 1]
    last_contact_of_case[c.case[idx[ends]]] = idx[ends]
    unresolved = c.resolved[last_contact_of_case] != 1
    bad += BAD_WEIGHTS["unresolved"] * np.bincount(issue_customer[k.issue[unresolved]], minlength=n_customers)
    low = s.csat.copy()
    low_sel = (low >= 1) & (low <= 2)
    bad += BAD_WEIGHTS["low_csat"] * np.bincount(contact_customer[s.contact[low_sel]], minlength=n_customers)
    out: np.ndarray = bad
    return out


def generate(
    seed: int | np.random.SeedSequence = 42,
    scale: float = 1.0,
    progress: Progress | None = None,
    *,
    compact_text: bool = False,
) -> dict[str, pa.Table]:
    """One Arrow table per canonical table: a bank's multichannel customer service over a year.

    ``scale`` multiplies the volumes (about 500k contacts at 1, 10M at 20); the same
    ``seed`` and ``scale`` always give identical tables. ``progress(stage, fraction)`` is
    called now and then. The whole year is held in memory (about 0.5 GB at scale 1): larger
    demos are generated in parts by ``cxkpi.demo.shards``. The period is 2025-11-01 to 2026-10-31, Europe/Paris.

    Text columns are ``string``. With ``compact_text`` the low-cardinality ones (channel,
    queue, team, agent_id, state, reason...) stay ``dictionary<int, string>``: same values,
    read as VARCHAR by DuckDB, and about half the memory at large scales.
    """
    tables = _run(seed, scale, progress).tables  # the internals are freed here
    for name in TABLE_ORDER:  # decode one table at a time to bound the peak memory
        tables[name] = arrow.finalize(tables[name], compact_text)
    return tables
