"""Golden data sets and cases for the NON-contact KPIs of SPEC §3, shared by DuckDB and Spark.

Same style as ``kpi_golden.py`` (which holds the contact KPIs): every data set is a handful
of hand-made rows of the canonical tables, imported through the real CSV importer; every
expected number is worked out by hand in the comment beside it, never by re-running the
engine. The same ``GoldenCase`` objects run on DuckDB (``test_kpi_cases.py``,
``test_kpi_agents.py``, ``test_kpi_surveys.py``, ``test_kpi_customers.py``,
``test_kpi_finance.py``), and all of them on every engine (``test_kpi_golden.py``).

Conventions used in the comments: all timestamps are UTC (``Z``) unless said; the end of
a period is the next period's local midnight (Europe/Paris: UTC+1 in winter, UTC+2 in
summer; clocks change 2026-03-29 02:00 -> 03:00 and 2026-10-25 03:00 -> 02:00);
d = 86,400 s; percentiles interpolate linearly (h = q·(n−1)).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cxkpi.ingest import ImportReport
from cxkpi.service.imports import import_file
from cxkpi.kpi import Grain
from cxkpi.kpi.calendar import parse_calendar
from kpi_golden import NA, GoldenCase, Q, Warehouses, contact, is_na, write_csv, write_table

PARIS = "Europe/Paris"
DAY = 86_400

Rows = list[dict[str, Any]]
Tables = dict[str, Rows]

# every non-contact KPI of the catalogue this module covers (sentiment is another module's)
CASE_KPIS = (
    "backlog_open", "backlog_age_mean", "backlog_aged_lt_1d", "backlog_aged_1_3d", "backlog_aged_3_7d",
    "backlog_aged_gt_7d", "resolution_time", "resolution_time_median", "resolution_time_p90",
    "once_and_done_rate", "contacts_per_case",
)
BACKLOG = CASE_KPIS[:6]
RESOLUTION = ("resolution_time", "resolution_time_median", "resolution_time_p90", "once_and_done_rate", "contacts_per_case")
AGENT_KPIS = ("occupancy", "shrinkage", "contacts_per_hour")
SURVEY_KPIS = ("csat", "csat_mean", "nps", "ces", "survey_response_rate")
QUALITY_KPIS = ("quality_score", "evaluation_coverage")
CUSTOMER_KPIS = ("churn_rate", "retention_rate", "engagement_rate", "clv")
FINANCE_KPIS = ("net_cash_flow", "cost_per_contact", "delinquency_rate", "delinquency_rate_balance")
BUSINESS_CONTACT_KPIS = ("asa_business", "wait_p90_business", "aht_business", "communication_time_business", "service_level_open")
BUSINESS_CASE_KPIS = ("resolution_time_business", "resolution_time_median_business", "resolution_time_p90_business",
                      "backlog_age_mean_business")
MORE_KPIS = ("repeat_contact_rate", *CASE_KPIS, *AGENT_KPIS, *SURVEY_KPIS, *QUALITY_KPIS, *CUSTOMER_KPIS, *FINANCE_KPIS)


# --------------------------------------------------------------------------- row builders


def case_row(case_id: str, opened: str, closed: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"case_id": case_id, "opened_at": opened, "closed_at": closed, **extra}


def state(agent: str, name: str, start: str, end: str) -> dict[str, Any]:
    return {"agent_id": agent, "state": name, "start_at": start, "end_at": end}


def survey(survey_id: str, **kw: Any) -> dict[str, Any]:
    return {"survey_id": survey_id, **kw}


def ev(eid: str, agent: str, at: str, mode: str, criterion: str, score: float, max_score: float,
       weight: float | None = None, evaluator: str | None = None) -> dict[str, Any]:
    return {"evaluation_id": eid, "agent_id": agent, "evaluator_id": evaluator, "evaluated_at": at, "mode": mode,
            "criterion": criterion, "score": score, "max_score": max_score, "weight": weight}


def customer(cid: str, segment: str | None, acquired: str | None = None, churned: str | None = None) -> dict[str, Any]:
    return {"customer_id": cid, "segment": segment, "acquired_at": acquired, "churned_at": churned}


def revenue(cid: str, period: str, rev: float | None, cost: float | None = None) -> dict[str, Any]:
    return {"customer_id": cid, "period": period, "revenue": rev, "cost": cost}


def flow(day: str, direction: str, category: str, amount: float, team: str) -> dict[str, Any]:
    return {"date": day, "direction": direction, "category": category, "amount": amount, "team": team}


def loan(loan_id: str, snapshot: str, outstanding: float | None, dpd: int | None) -> dict[str, Any]:
    return {"loan_id": loan_id, "snapshot_date": snapshot, "outstanding": outstanding, "days_past_due": dpd}


def answered(cid: str, created: str, **kw: Any) -> dict[str, Any]:
    """An inbound phone contact answered after 10 s, 60 s of talk."""
    channel = kw.pop("channel", "phone")
    return contact(cid, channel, created, wait=10, talk=60, **kw)


# --------------------------------------------------------------------------- data sets

# CASES: backlog snapshots, aging buckets at exactly 1/3/7 days, resolution times, contacts per case.
CASES = [
    # k*: team A, phone (k9: team B, chat)
    case_row("k1", "2026-03-10T12:00:00Z", team="A", channel="phone"),
    case_row("k2", "2026-03-10T00:00:00Z", team="A", channel="phone"),
    case_row("k3", "2026-03-08T00:00:00Z", team="A", channel="phone"),
    case_row("k4", "2026-03-04T00:00:00Z", team="A", channel="phone"),
    case_row("k5", "2026-03-10T00:00:01Z", team="A", channel="phone"),
    case_row("k6", "2026-03-01T00:00:00Z", "2026-03-11T00:00:00Z", team="A", channel="phone"),  # resolution 10 d = 864000
    case_row("k7", "2026-03-09T06:00:00Z", "2026-03-11T00:00:01Z", team="A", channel="phone"),  # 42 h + 1 s = 151201
    case_row("k8", "2026-03-11T00:00:00Z", team="A", channel="phone"),
    case_row("k9", "2026-03-02T00:00:00Z", "2026-03-05T00:00:00Z", team="B", channel="chat"),  # 3 d = 259200
    # r*: closed on 2026-03-12 after 100, 200, 400, 1000 s
    case_row("r1", "2026-03-12T08:00:00Z", "2026-03-12T08:01:40Z", team="C", channel="email"),
    case_row("r2", "2026-03-12T09:00:00Z", "2026-03-12T09:03:20Z", team="C", channel="email"),
    case_row("r3", "2026-03-12T10:00:00Z", "2026-03-12T10:06:40Z", team="C", channel="phone"),
    case_row("r4", "2026-03-12T11:00:00Z", "2026-03-12T11:16:40Z", team="C", channel="phone"),
]
CASE_CONTACTS = [
    answered("x1", "2026-03-05T09:00:00Z", case_id="k6"),  # k6: 1 contact
    answered("x2", "2026-03-02T09:00:00Z", case_id="k9", channel="chat"),  # k9: 1
    answered("x3", "2026-03-12T08:00:00Z", case_id="r1", channel="email"),  # r1: 1
    answered("x4", "2026-03-12T09:00:00Z", case_id="r2", channel="email"),  # r2: 2 (one outbound: any contact counts)
    answered("x5", "2026-03-12T09:02:00Z", case_id="r2", channel="email", direction="outbound"),
    answered("x6", "2026-03-12T11:00:00Z", case_id="r4"),  # r4: 3 (one abandoned)
    answered("x7", "2026-03-12T11:05:00Z", case_id="r4"),
    contact("x8", "phone", "2026-03-12T11:10:00Z", end_after=30, outcome="abandoned", case_id="r4"),
    answered("x9", "2026-03-12T12:00:00Z", case_id="ghost"),  # a case that is not in cases: ignored
    answered("x10", "2026-03-12T12:30:00Z"),  # no case
]  # k7 and r3 have no contact: they count in the denominators with 0 contacts

# CASES_TZ: period ends at Paris local midnight across both DST changes.
CASES_TZ = [
    case_row("t1", "2026-03-28T23:00:00Z"),  # Paris 03-29 00:00 CET: the start of the 23-hour day
    case_row("t2", "2026-03-29T22:00:00Z"),  # Paris 03-30 00:00 CEST: exactly the end instant of Paris 03-29
    case_row("t3", "2026-03-27T12:00:00Z", "2026-03-29T22:00:00Z"),  # closed exactly at the end of Paris 03-29
    case_row("t4", "2026-03-27T12:00:00Z", "2026-03-29T23:00:00Z"),  # closed 1 h after it (Paris 03-30 01:00)
    case_row("t5", "2026-10-24T22:00:00Z"),  # Paris 10-25 00:00 CEST: the start of the 25-hour day
]

# REPEAT: customers' inbound contacts (outbound and customer-less contacts do not count).
REPEAT = [
    answered("a1", "2026-03-02T09:00:00Z", customer="A"),
    answered("a2", "2026-03-02T10:00:00Z", customer="A", channel="chat"),
    answered("b1", "2026-03-02T09:30:00Z", customer="B"),
    answered("b2", "2026-03-02T11:00:00Z", customer="B", direction="outbound"),
    answered("c1", "2026-03-02T12:00:00Z", customer="C"),
    answered("c2", "2026-03-02T12:30:00Z", customer="C"),
    contact("c3", "phone", "2026-03-02T13:00:00Z", end_after=30, outcome="abandoned", customer="C"),  # abandoned: still a contact
    answered("d1", "2026-03-02T10:00:00Z", customer="D"),
    answered("d2", "2026-03-02T23:30:00Z", customer="D"),  # UTC 03-02, Paris 03-03 00:30
    answered("n1", "2026-03-02T14:00:00Z"),
    answered("n2", "2026-03-02T15:00:00Z", channel="email"),  # the only email contact has no customer
    answered("e1", "2026-03-02T16:00:00Z", customer="E", direction="outbound"),  # E: outbound only
    answered("f1", "2026-03-04T09:00:00Z", customer="F"),
]

# AGENTS: agent states (X, Y, Z) and the contacts they answered (X, Y and W, who has no states).
AGENT_STATES = [
    state("X", "available", "2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z"),  # 3600
    state("X", "handling", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),  # 3600
    state("X", "wrap", "2026-03-02T10:00:00Z", "2026-03-02T10:30:00Z"),  # 1800
    state("X", "break", "2026-03-02T10:30:00Z", "2026-03-02T10:45:00Z"),  # 900
    state("X", "training", "2026-03-02T10:45:00Z", "2026-03-02T11:45:00Z"),  # 3600
    state("X", "meeting", "2026-03-02T11:45:00Z", "2026-03-02T12:00:00Z"),  # 900
    state("X", "offline", "2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z"),  # 3600, in no total
    state("X", "absence", "2026-03-02T13:00:00Z", "2026-03-02T14:00:00Z"),  # 3600
    state("X", "handling", "2026-03-02T23:00:00Z", "2026-03-03T01:00:00Z"),  # 7200, counts where it starts
    state("Y", "available", "2026-03-02T08:00:00Z", "2026-03-02T10:00:00Z"),  # 7200
    state("Y", "handling", "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),  # 3600
    state("Z", "absence", "2026-03-02T09:00:00Z", "2026-03-02T17:00:00Z"),  # 28800
]
# X: available 3600, handling 3600 + 7200 = 10800, wrap 1800 -> busy 12600, productive 16200;
#    shrink 900 + 3600 + 900 + 3600 = 9000; present (not offline) 16200 + 9000 = 25200
# Y: busy 3600, productive 10800, shrink 0, present 10800;  Z: productive 0, shrink = present = 28800
AGENT_CONTACTS = [
    *(answered(f"xa{i}", f"2026-03-02T09:{10 * i:02d}:00Z", agent_id="X") for i in range(1, 5)),  # X: 4 answered
    answered("xo1", "2026-03-02T09:55:00Z", agent_id="X", direction="outbound"),  # outbound: not counted
    contact("xab", "phone", "2026-03-02T09:56:00Z", end_after=30, outcome="abandoned", agent_id="X"),  # never answered
    *(answered(f"ya{i}", f"2026-03-02T10:{5 * i:02d}:00Z", agent_id="Y") for i in range(1, 7)),  # Y: 6 answered
    answered("wa1", "2026-03-02T15:00:00Z", agent_id="W"),  # W: 2 answered, no agent states
    answered("wa2", "2026-03-02T15:30:00Z", agent_id="W"),
]

# SURVEYS: responses (by responded_at) and sends (by sent_at), seen with their contact's dimensions.
SURVEY_CONTACTS = [
    answered("c1", "2026-03-01T09:00:00Z", agent_id="A1"),
    answered("c2", "2026-03-01T09:10:00Z", agent_id="A2", channel="chat"),
    answered("c3", "2026-03-01T09:20:00Z", agent_id="A1", channel="email"),
]
SURVEYS = [
    survey("s1", contact_id="c1", mode="email", sent_at="2026-03-01T10:00:00Z", responded_at="2026-03-02T09:00:00Z", csat=5, nps=10, ces=2),
    survey("s2", contact_id="c1", mode="email", sent_at="2026-03-01T10:05:00Z", responded_at="2026-03-02T09:05:00Z", csat=4, nps=9, ces=3),
    survey("s3", contact_id="c2", mode="sms", sent_at="2026-03-01T10:10:00Z", responded_at="2026-03-02T09:10:00Z", csat=3, nps=7, ces=5),
    survey("s4", contact_id="c2", mode="sms", sent_at="2026-03-01T10:15:00Z", responded_at="2026-03-02T09:15:00Z", csat=1, nps=0, ces=7),
    # s5's own agent (A2) wins over its contact's (A1)
    survey("s5", contact_id="c3", agent_id="A2", mode="email", sent_at="2026-03-01T10:20:00Z", responded_at="2026-03-02T09:20:00Z", csat=2, nps=6, ces=4),
    survey("s6", agent_id="A2", mode="ivr", sent_at="2026-03-01T10:25:00Z", responded_at="2026-03-02T09:25:00Z", nps=8),  # nps only
    survey("s7", mode="email", sent_at="2026-03-02T10:00:00Z"),  # sent, never answered
    survey("s8", mode="email", sent_at="2026-03-02T11:00:00Z", responded_at="2026-03-03T08:00:00Z", csat=5, nps=10),
    survey("s9", agent_id="A3", mode="web", responded_at="2026-03-02T12:00:00Z", csat=4),  # answered, sent_at unknown
    survey("s10", mode="email", sent_at="2026-03-03T09:00:00Z"),  # sent, never answered
]
# responses: csat s1 5, s2 4, s3 3, s4 1, s5 2, s8 5, s9 4 (7); nps s1 10, s2 9, s3 7, s4 0, s5 6, s6 8,
# s8 10 (7); ces s1 2, s2 3, s3 5, s4 7, s5 4 (5). Sent: s1-s8, s10 (9), answered s1-s6, s8 (7).

# QUALITY: evaluations scored on several criteria, with weights (empty = 1).
QUALITY = [
    ev("E1", "A", "2026-03-02T10:00:00Z", "cold", "greet", 4, 5, 2, evaluator="ev1"),
    ev("E1", "A", "2026-03-02T10:00:00Z", "cold", "listen", 1, 2, 1, evaluator="ev1"),
    ev("E1", "A", "2026-03-02T10:00:00Z", "cold", "close", 10, 10, None, evaluator="ev1"),
    ev("E2", "A", "2026-03-03T10:00:00Z", "live", "greet", 3, 5, 1, evaluator="ev2"),
    ev("E2", "A", "2026-03-03T10:00:00Z", "live", "listen", 2, 2, 1, evaluator="ev2"),
    ev("E3", "A", "2026-03-04T10:00:00Z", "cold", "greet", 0, 5, 1, evaluator="ev1"),
    ev("E4", "B", "2026-03-02T11:00:00Z", "live", "greet", 5, 5, 3, evaluator="ev2"),
    ev("E4", "B", "2026-03-02T11:00:00Z", "live", "listen", 0, 2, 1, evaluator="ev2"),
]
# E1: 100 × (2·4/5 + 1·1/2 + 1·10/10) / (2 + 1 + 1) = 100 × 3.1 / 4 = 77.5
# E2: 100 × (3/5 + 2/2) / 2 = 80;  E3: 0;  E4: 100 × (3·5/5 + 1·0/2) / 4 = 75
# (the mean of the 8 rows' own percentages, 61.25, is NOT the KPI)

# COVERAGE: agents who answered inbound contacts in ISO weeks 2026-W10 (03-02..03-08) and W11 (03-09..03-15).
COVERAGE_CONTACTS = [
    answered("ca1", "2026-03-03T10:00:00Z", agent_id="A"),  # A in W10
    answered("cb1", "2026-03-04T10:00:00Z", agent_id="B"),  # B in W10
    answered("cc0", "2026-03-04T11:00:00Z", agent_id="C", direction="outbound"),  # C: outbound only in W10
    contact("cd0", "phone", "2026-03-04T12:00:00Z", end_after=30, outcome="abandoned", agent_id="D"),  # D never answered
    answered("ca2", "2026-03-10T10:00:00Z", agent_id="A"),  # A in W11
    answered("cb2", "2026-03-11T10:00:00Z", agent_id="B"),  # B in W11 (no evaluation at all)
    answered("cc1", "2026-03-12T10:00:00Z", agent_id="C"),  # C in W11
    answered("cn", "2026-03-12T11:00:00Z"),  # no agent
]


def _e(eid: str, agent: str, at: str, mode: str, criterion: str = "overall") -> dict[str, Any]:
    return ev(eid, agent, at, mode, criterion, 1, 1)


COVERAGE_EVALS = [
    # A, W10: E1 cold (two criteria: one evaluation), E2 live, E3 cold -> 3 evaluations, cold and live: covered
    _e("E1", "A", "2026-03-02T09:00:00Z", "cold", "greet"), _e("E1", "A", "2026-03-02T09:00:00Z", "cold", "close"),
    _e("E2", "A", "2026-03-03T09:00:00Z", "live"),
    _e("E3", "A", "2026-03-05T09:00:00Z", "cold"),
    # B, W10: three live evaluations, no cold one: not covered
    _e("E4", "B", "2026-03-02T09:00:00Z", "live"), _e("E5", "B", "2026-03-05T09:00:00Z", "live"),
    _e("E6", "B", "2026-03-06T09:00:00Z", "live"),
    # A, W11: E7 (three criteria rows, one evaluation) + E8: 2 evaluations: not covered
    _e("E7", "A", "2026-03-09T09:00:00Z", "cold", "greet"), _e("E7", "A", "2026-03-09T09:00:00Z", "cold", "listen"),
    _e("E7", "A", "2026-03-09T09:00:00Z", "cold", "close"),
    _e("E8", "A", "2026-03-10T09:00:00Z", "live"),
    # C, W11: E9 cold, E10 live, E11 live on Sunday 03-15 23:30 UTC = Monday 03-16 00:30 Paris (W12)
    _e("E9", "C", "2026-03-11T09:00:00Z", "cold"), _e("E10", "C", "2026-03-12T09:00:00Z", "live"),
    _e("E11", "C", "2026-03-15T23:30:00Z", "live"),
    # D, W10: evaluated 3 times (cold and live) but answered nothing: not in the base
    _e("E12", "D", "2026-03-03T09:00:00Z", "cold"), _e("E13", "D", "2026-03-04T09:00:00Z", "live"),
    _e("E14", "D", "2026-03-05T09:00:00Z", "cold"),
]
# UTC pairs: W10 (A covered, B not); W11 (A not, B not, C covered) -> 2 / 5.
# Paris: E11 falls in W12, so (C, W11) has 2 evaluations: not covered -> 1 / 5.

# CUSTOMERS: a customer snapshot per period, inbound contacts for engagement, monthly margins for CLV.
CUSTOMERS = [
    customer("u1", "retail", "2025-06-01T00:00:00Z"),
    customer("u2", "retail", "2025-06-01T00:00:00Z", "2026-02-10T12:00:00Z"),
    customer("u4", "pro", "2026-01-15T00:00:00Z"),
    customer("u5", "pro", "2025-01-01T00:00:00Z", "2026-03-31T23:59:59Z"),  # UTC March; Paris 04-01 01:59:59
    customer("u6", "retail", "2025-01-01T00:00:00Z", "2025-12-15T00:00:00Z"),  # gone before the range
    customer("u7", "retail", "2026-02-01T00:00:00Z"),  # acquired exactly at the start of February: active at it
]
CUSTOMER_CONTACTS = [
    answered("g1", "2026-01-05T10:00:00Z", customer="u1"),
    answered("g2", "2026-01-06T10:00:00Z", customer="u6"),  # u6 is not active any more
    answered("g3", "2026-01-07T10:00:00Z", customer="u9"),  # not a known customer
    answered("g4", "2026-02-11T10:00:00Z", customer="u2"),  # u2 churned 02-10 but was active in February
    answered("g5", "2026-02-05T10:00:00Z", customer="u4", direction="outbound"),  # outbound: no engagement
    answered("g6", "2026-03-05T10:00:00Z", customer="u1"),
    answered("g7", "2026-03-06T10:00:00Z", customer="u1"),
    answered("g8", "2026-03-31T23:30:00Z", customer="u7"),  # UTC March; Paris April
]
REVENUE = [
    revenue("u1", "2026-01", 100, 40), revenue("u2", "2026-01", 50, 10), revenue("u5", "2026-01", 30),  # cost empty = 0
    revenue("u1", "2026-02", 100, 40), revenue("u4", "2026-02", 80, 20), revenue("u5", "2026-02", 30, 0),
    revenue("u1", "2026-03", 100, 40), revenue("u4", "2026-03", 80, 20), revenue("u7", "2026-03", 20, 5),
]
# margins: Jan u1 60 u2 40 u5 30 = 130; Feb u1 60 u4 60 u5 30 = 150; Mar u1 60 u4 60 u7 15 = 135
# UTC months (start = 1st 00:00):
#          active at start            churned in month   retained  active in month       engaged (inbound contact)
#   Jan    u1 u2 u5 = 3               -                  3         u1 u2 u4 u5 = 4       u1 (g1)
#   Feb    u1 u2 u4 u5 u7 = 5         u2                 4         u1 u2 u4 u5 u7 = 5    u2 (g4)
#   Mar    u1 u4 u5 u7 = 4            u5                 3         u1 u4 u5 u7 = 4       u1 (g6 g7) u7 (g8)

# CUSTOMERS_EDGE: a churn timestamped exactly at a period boundary (a date-only churn date, midnight).
CUSTOMERS_EDGE = [
    customer("v1", "retail", "2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
    customer("v2", "retail", "2025-01-01T00:00:00Z"),
]

# CASH: cash flows by date (no time zone); two identical rows stay two flows.
CASH = [
    flow("2026-03-02", "in", "fees", 1000, "A"),
    flow("2026-03-02", "out", "salaries", 600, "A"),
    flow("2026-03-02", "out", "salaries", 600, "A"),  # identical to the row above: both count
    flow("2026-03-03", "out", "rent", 500, "B"),
    flow("2026-03-31", "in", "fees", 200, "B"),
    flow("2026-04-01", "in", "fees", 50, "A"),
]

# COST_CONTACTS: answered contacts beside CASH's outflows (cost per contact), UTC.
COST_CONTACTS = [
    contact("p1", "phone", "2026-03-02T09:00:00Z", wait=10, talk=60, team="A"),
    contact("p2", "phone", "2026-03-02T10:00:00Z", wait=10, talk=60, team="A"),
    contact("p3", "phone", "2026-03-02T11:00:00Z", end_after=40, team="A"),  # abandoned: not answered
    contact("p4", "email", "2026-03-03T09:00:00Z", wait=100, talk=60, team="B"),
    contact("p5", "chat", "2026-03-31T23:30:00Z", wait=5, talk=60, team="B"),  # 04-01 01:30 in Paris
    contact("p6", "phone", "2026-04-02T09:00:00Z", wait=10, talk=60, team="C"),  # team C has no cash flow
]

# LOANS: snapshots; each period looks at its latest snapshot date only.
LOANS = [
    loan("L1", "2026-03-15", 1000, 100), loan("L2", "2026-03-15", 2000, 60),  # earlier March snapshot: ignored for March
    loan("L1", "2026-03-31", 1000, 0),
    loan("L2", "2026-03-31", 2000, 90),  # exactly 90: delinquent
    loan("L3", "2026-03-31", 500, 89),  # 89: not
    loan("L4", "2026-03-31", 0, 120),  # nothing outstanding: in neither count
    loan("L5", "2026-03-31", 300, 200),
    loan("L6", "2026-03-31", 700, None),  # days past due unknown: not delinquent
    loan("L7", "2026-04-10", 400, 100),  # not April's latest snapshot: ignored
    loan("L1", "2026-04-30", 900, 0), loan("L2", "2026-04-30", 1900, 120),
    loan("L1", "2026-05-31", 0, 0),  # May: no live loan at all
]
# March (03-31): live L1 L2 L3 L5 L6 = 5, balance 1000+2000+500+300+700 = 4500; delinquent L2 L5, balance 2300
# April (04-30): live L1 L2, balance 2800; delinquent L2, balance 1900

# ZERO_WEIGHT: an evaluation whose criteria all weigh 0 scores nothing (null), not 0.
ZERO_WEIGHT = [
    ev("Z1", "A", "2026-03-02T10:00:00Z", "cold", "info", 3, 5, 0),  # Σ weight = 0: no score
    ev("Z2", "A", "2026-03-02T11:00:00Z", "live", "greet", 5, 5, 1),  # 100
]

# BUSINESS: business hours (the *_business KPIs and service_level_open) with CAL, in Paris (UTC+1
# until 03-29): Mon-Fri 08:00-12:00 and 14:00-18:00 (07-11Z, 13-17Z), Wednesday 03-04 closed;
# social only on Friday 20:00-02:00 (19:00Z-01:00Z Saturday). "b": the open (business) seconds of
# an interval; T phone 20 s, email 86,400 s, social 3,600 s.
CAL = parse_calendar(
    """
name: golden
timezone: Europe/Paris
country: FR
closed: [2026-03-04]
hours:
  mon-fri: ["08:00-12:00", "14:00-18:00"]
channels:
  social: {fri: ["20:00-02:00"]}
""",
    "UTC",
    "golden calendar",
)
BUSINESS_CONTACTS = [
    # e1 Mon 17:30 local, answered Tue 09:00 (calendar 55,800 s <= T: met): wait b 30 min + 60 min = 5400,
    #    handle b 600 + wrap 60 = 660, communication b 6000; arrived open
    contact("e1", "email", "2026-03-02T16:30:00Z", wait=55_800, talk=600, wrap=60),
    # e2 Tue 11:00, answered Thu 08:30 (163,800 s > T): wait b Tue 1 h + 4 h, Wed closed, Thu 0.5 h = 19800;
    #    handle b 600; communication b 20400; arrived open
    contact("e2", "email", "2026-03-03T10:00:00Z", wait=163_800, talk=600),
    # e3 Sat 10:00 (closed: out of the open base), answered Mon 08:15: wait b 900, handle b 300, comm. b 1200
    contact("e3", "email", "2026-03-07T09:00:00Z", wait=166_500, talk=300),
    # p1 Mon 10:00: wait b 15 (met), handle b 120 + wrap 30 = 150, communication b 135; open
    contact("p1", "phone", "2026-03-02T09:00:00Z", wait=15, talk=120, wrap=30),
    # p2 Mon 11:59:50, answered 12:00:20 (lunch: closed): wait b 10 (calendar 30: not met), handle b 0, comm. b 10; open
    contact("p2", "phone", "2026-03-02T10:59:50Z", wait=30, talk=100),
    # p3 abandoned after 60 s, arrived at 13:00 (lunch): not in the open base
    contact("p3", "phone", "2026-03-02T12:00:00Z", end_after=60, outcome="abandoned"),
    # p4 abandoned after 10 s (<= T, >= S) at 15:00: offered open; met only with met_within_t
    contact("p4", "phone", "2026-03-02T14:00:00Z", end_after=10, outcome="abandoned"),
    # p5 07:59:59, 1 s before opening (closed), answered after 5 s: wait b 4, handle b 60, comm. b 64
    contact("p5", "phone", "2026-03-02T06:59:59Z", wait=5, talk=60),
    # p6 exactly 08:00:00 (open: a range includes its start), wait 20 = T (met): wait b 20, handle b 40, comm. b 60
    contact("p6", "phone", "2026-03-02T07:00:00Z", wait=20, talk=40),
    # p7 exactly 18:00:00 (closed: a range excludes its end): wait b 0, handle b 0, comm. b 0
    contact("p7", "phone", "2026-03-02T17:00:00Z", wait=10, talk=50),
    # p8 16:00: wait b 12 (met), handle b 30, communication b 42; open
    contact("p8", "phone", "2026-03-02T15:00:00Z", wait=12, talk=30),
    # p9 a short abandon (3 s < S) while open: never offered
    contact("p9", "phone", "2026-03-02T09:30:00Z", end_after=3, outcome="abandoned"),
    # s1 social Fri 23:30 local, answered Sat 01:30 (the Friday range past midnight): wait b 7200 (> T),
    #    ended Sat 02:30: handle b 30 min (open until 02:00) = 1800, communication b 9000; open
    contact("s1", "social", "2026-03-06T22:30:00Z", wait=7200, talk=3600),
]
BUSINESS_CASES = [
    # resolution b: Mon 17-18 + Tue 08-09 = 7200 (calendar 16 h = 57600)
    case_row("b1", "2026-03-02T16:00:00Z", "2026-03-03T08:00:00Z", channel="email"),
    # Tue 11:30-12 + 14-18, Wed closed, Thu 08-12 + 14-15 = 9.5 h = 34200 (calendar 51.5 h = 185400)
    case_row("b2", "2026-03-03T10:30:00Z", "2026-03-05T14:00:00Z", channel="email"),
    # Sat 11:00 to Mon 08:30: 1800 (calendar 45.5 h = 163800)
    case_row("b3", "2026-03-07T10:00:00Z", "2026-03-09T07:30:00Z", channel="phone"),
    # social, Fri 19:00 to Sat 01:00 local: open from 20:00, past midnight: 5 h = 18000 (calendar 6 h = 21600)
    case_row("b4", "2026-03-06T18:00:00Z", "2026-03-07T00:00:00Z", channel="social"),
    # opened Mon 07:00 local (before opening), never closed
    case_row("b5", "2026-03-02T06:00:00Z", channel="email"),
]

DATASETS_MORE: dict[str, Tables] = {
    "cases": {"contacts": CASE_CONTACTS, "cases": CASES},
    "cases_tz": {"cases": CASES_TZ},
    "repeat": {"contacts": REPEAT},
    "agents": {"contacts": AGENT_CONTACTS, "agent_states": AGENT_STATES},
    "surveys": {"contacts": SURVEY_CONTACTS, "surveys": SURVEYS},
    "quality": {"evaluations": QUALITY},
    "coverage": {"contacts": COVERAGE_CONTACTS, "evaluations": COVERAGE_EVALS},
    "customers": {"customers": CUSTOMERS, "contacts": CUSTOMER_CONTACTS, "customer_revenue": REVENUE},
    "customers_edge": {"customers": CUSTOMERS_EDGE},
    "cash": {"cashflows": CASH},
    "cost": {"cashflows": CASH, "contacts": COST_CONTACTS},
    "loans": {"loans": LOANS},
    "zero_weight": {"evaluations": ZERO_WEIGHT},
    "business": {"contacts": BUSINESS_CONTACTS, "cases": BUSINESS_CASES},
}


# --------------------------------------------------------------------------- loading


def write_rows(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """A CSV of ``rows`` (header: the keys in first-seen order); None is an empty cell."""
    if rows and "contact_id" in rows[0]:
        return write_csv(path, rows)
    return write_table(path, list(dict.fromkeys(k for r in rows for k in r)), rows)


def load_more(warehouses: Warehouses, dataset: str, name: str | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh warehouse holding one data set, every table imported from CSV by the real importer."""
    return load_tables(warehouses, name or f"more_{dataset}", DATASETS_MORE[dataset])


def load_tables(warehouses: Warehouses, name: str, tables: Tables) -> duckdb.DuckDBPyConnection:
    """A fresh warehouse ``name`` holding ``tables`` (table -> rows); every row must be accepted."""
    con = warehouses.new(name)
    for table, rows in tables.items():
        report = import_file(con, table, write_rows(warehouses.folder / "in" / f"{name}_{table}.csv", rows))
        assert report.rejected == 0, con.sql("SELECT line, reason FROM rejects").fetchall()
        assert report.accepted == len(rows), (table, report)
    return con


# --------------------------------------------------------------------------- golden cases

CASES_MORE: list[GoldenCase] = []
TOPIC: dict[str, str] = {}


def case(topic: str, id: str, dataset: str, query: Any, *rows: dict[str, Any]) -> GoldenCase:
    c = GoldenCase(id, dataset, query, tuple(rows))
    assert id not in TOPIC, f"duplicate golden case id {id}"
    CASES_MORE.append(c)
    TOPIC[id] = topic
    return c


def cases_of(topic: str) -> list[GoldenCase]:
    return [c for c in CASES_MORE if TOPIC[c.id] == topic]


D03_10 = date(2026, 3, 10)

# ===================================================================== backlog (snapshot at each period end)
case(
    "cases", "backlog_one_day", "cases", Q(BACKLOG, grain=Grain.DAY, start=D03_10, end=D03_10),
    # end of 2026-03-10 = 2026-03-11T00:00Z. Open: opened_at <= end < closed_at (or never closed):
    #   k1 age 12 h = 43200 (<1 d)           k2 age exactly 1 d = 86400 (upper bucket: 1-3 d)
    #   k3 age exactly 3 d (3-7 d)           k4 age exactly 7 d (>7 d bucket, "7 days or more")
    #   k5 age 1 d - 1 s = 86399 (<1 d)      k7 closed 1 s after the end: open, age 42 h = 151200 (1-3 d)
    #   k8 opened exactly at the end instant: open, age 0 (<1 d)
    #   not k6 (closed exactly at the end), not k9 (closed 03-05), not r* (opened 03-12)
    dict(period="2026-03-10", backlog_open=7,
         backlog_age_mean=1231199 / 7,  # 43200 + 86400 + 259200 + 604800 + 86399 + 151200 + 0 = 1231199
         backlog_aged_lt_1d=3, backlog_aged_1_3d=2, backlog_aged_3_7d=1, backlog_aged_gt_7d=1),
)
case(
    "cases", "backlog_days", "cases", Q(BACKLOG, grain=Grain.DAY, start=date(2026, 3, 9), end=date(2026, 3, 11)),
    # end of 03-09 = 03-10T00:00Z: k2 (opened exactly then, age 0), k3 2 d, k4 6 d, k6 9 d (closes 03-11), k7 18 h
    dict(period="2026-03-09", backlog_open=5,
         backlog_age_mean=1533600 / 5,  # 0 + 172800 + 518400 + 777600 + 64800
         backlog_aged_lt_1d=2, backlog_aged_1_3d=1, backlog_aged_3_7d=1, backlog_aged_gt_7d=1),
    dict(period="2026-03-10", backlog_open=7, backlog_age_mean=1231199 / 7,
         backlog_aged_lt_1d=3, backlog_aged_1_3d=2, backlog_aged_3_7d=1, backlog_aged_gt_7d=1),
    # end of 03-11 = 03-12T00:00Z: k1 1.5 d, k2 2 d, k3 4 d, k4 8 d, k5 2 d - 1 s, k8 1 d (k7 closed 03-11 00:00:01)
    dict(period="2026-03-11", backlog_open=6,
         backlog_age_mean=1598399 / 6,  # 129600 + 172800 + 345600 + 691200 + 172799 + 86400
         backlog_aged_lt_1d=0,  # a true zero (the group has open cases), not null
         backlog_aged_1_3d=4, backlog_aged_3_7d=1, backlog_aged_gt_7d=1),
)
case(
    "cases", "backlog_all_default_range", "cases", Q(BACKLOG),
    # no --from/--to: the cases' span, first opened_at (03-01) to last closed_at/opened_at (03-12):
    # one snapshot at the end of 03-12 = 03-13T00:00Z. Open: the never-closed k1 k2 k3 k4 k5 k8
    #   k1 2.5 d = 216000 (1-3), k2 3 d = 259200 (3-7), k3 5 d = 432000 (3-7), k4 9 d = 777600 (>7),
    #   k5 3 d - 1 s = 259199 (1-3), k8 2 d = 172800 (1-3)
    dict(backlog_open=6, backlog_age_mean=2116799 / 6,
         backlog_aged_lt_1d=0, backlog_aged_1_3d=3, backlog_aged_3_7d=2, backlog_aged_gt_7d=1),
)
case(
    "cases", "backlog_empty_group_is_null", "cases",
    Q(["backlog_open", "backlog_age_mean", "resolution_time"], by=("team",), grain=Grain.DAY,
      start=date(2026, 3, 5), end=date(2026, 3, 5)),
    # end of 03-05 = 03-06T00:00Z: team A has k4 (2 d) and k6 (5 d) open; team B's only case k9 closed on 03-05
    dict(period="2026-03-05", team="A", backlog_open=2, backlog_age_mean=302400.0,  # (172800 + 432000) / 2
         resolution_time=NA),  # no case of team A closed on 03-05
    dict(period="2026-03-05", team="B", backlog_open=NA, backlog_age_mean=NA,  # nothing open: null, not 0
         resolution_time=259200.0),  # k9: 3 d
)
case(
    "cases", "backlog_by_channel", "cases", Q(["backlog_open", "backlog_aged_gt_7d"], by=("channel",)),
    # snapshot at 03-13T00:00Z: all six open cases are phone (k9 chat and r* email/phone are closed)
    dict(channel="phone", backlog_open=6, backlog_aged_gt_7d=1),
)

# ---- Europe/Paris: the period end is the local midnight, through both DST changes
case(
    "cases", "backlog_paris_spring_day", "cases_tz", Q(BACKLOG, grain=Grain.DAY, tz=PARIS,
                                                         start=date(2026, 3, 29), end=date(2026, 3, 29)),
    # Paris 03-29 lasts 23 h; its end (03-30 00:00 CEST) is 2026-03-29T22:00Z.
    #   t1 opened at the day's start: age 23 h = 82800 (<1 d, although UTC would say 25 h)
    #   t2 opened exactly at the end instant: open, age 0
    #   t3 closed exactly at the end: not open; t4 closed 1 h after it: open, age 2 d 10 h = 208800
    dict(period="2026-03-29", backlog_open=3, backlog_age_mean=97200.0,  # (82800 + 0 + 208800) / 3
         backlog_aged_lt_1d=2, backlog_aged_1_3d=1, backlog_aged_3_7d=0, backlog_aged_gt_7d=0),
)
case(
    "cases", "backlog_utc_same_day", "cases_tz", Q(BACKLOG, grain=Grain.DAY, start=date(2026, 3, 29), end=date(2026, 3, 29)),
    # UTC: end 2026-03-30T00:00Z; t1 age 25 h = 90000 (1-3 d), t2 age 2 h = 7200; t3 and t4 closed before
    dict(period="2026-03-29", backlog_open=2, backlog_age_mean=48600.0,
         backlog_aged_lt_1d=1, backlog_aged_1_3d=1, backlog_aged_3_7d=0, backlog_aged_gt_7d=0),
)
case(
    "cases", "backlog_paris_autumn_day", "cases_tz", Q(BACKLOG, grain=Grain.DAY, tz=PARIS,
                                                         start=date(2026, 10, 25), end=date(2026, 10, 25)),
    # Paris 10-25 lasts 25 h; its end (10-26 00:00 CET) is 2026-10-25T23:00Z.
    #   t5 opened at the day's start (10-24T22:00Z): age 25 h = 90000 (1-3 d)
    #   t1: 03-28T23:00Z -> 10-25T23:00Z = 211 d = 18230400; t2: 03-29T22:00Z -> = 210 d 1 h = 18147600
    dict(period="2026-10-25", backlog_open=3, backlog_age_mean=12156000.0,  # 36468000 / 3
         backlog_aged_lt_1d=0, backlog_aged_1_3d=1, backlog_aged_3_7d=0, backlog_aged_gt_7d=2),
)
case(
    "cases", "backlog_paris_months", "cases_tz", Q(BACKLOG, grain=Grain.MONTH, tz=PARIS,
                                                     start=date(2026, 3, 1), end=date(2026, 4, 30)),
    # March ends at 04-01 00:00 CEST = 03-31T22:00Z: t1 2 d 23 h = 255600, t2 2 d = 172800 (t3 t4 closed 03-29)
    dict(period="2026-03", backlog_open=2, backlog_age_mean=214200.0, backlog_aged_1_3d=2, backlog_aged_gt_7d=0),
    # April ends at 05-01 00:00 CEST = 04-30T22:00Z: t1 32 d 23 h = 2847600, t2 32 d = 2764800
    dict(period="2026-04", backlog_open=2, backlog_age_mean=2806200.0, backlog_aged_1_3d=0, backlog_aged_gt_7d=2),
)
case(
    "cases", "backlog_paris_quarters", "cases_tz", Q(["backlog_open"], grain=Grain.QUARTER, tz=PARIS,
                                                      start=date(2026, 1, 1), end=date(2026, 12, 31)),
    dict(period="2026-Q1", backlog_open=2),  # end 03-31T22:00Z: t1 t2
    dict(period="2026-Q2", backlog_open=2),
    dict(period="2026-Q3", backlog_open=2),
    dict(period="2026-Q4", backlog_open=3),  # end 2027-01-01 00:00 CET = 2026-12-31T23:00Z: t1 t2 t5
)
case(
    "cases", "backlog_paris_year", "cases_tz", Q(["backlog_open"], grain=Grain.YEAR, tz=PARIS,
                                                  start=date(2026, 1, 1), end=date(2026, 12, 31)),
    dict(period="2026", backlog_open=3),
)

# ===================================================================== resolution (cases closed in the period, by closed_at)
case(
    "cases", "resolution_all", "cases", Q(RESOLUTION),
    # closed: k6 864000, k7 151201, k9 259200, r1 100, r2 200, r3 400, r4 1000 (7 cases)
    dict(resolution_time=1276101 / 7,  # sum 864000 + 151201 + 259200 + 1700
         resolution_time_median=1000.0,  # sorted 100 200 400 [1000] 151201 259200 864000
         resolution_time_p90=501120.0,  # h = 0.9 * 6 = 5.4 -> 259200 + 0.4 * (864000 - 259200)
         once_and_done_rate=3 / 7,  # k6 k9 r1 have exactly one contact
         contacts_per_case=8 / 7),  # k6 1 + k7 0 + k9 1 + r1 1 + r2 2 + r3 0 + r4 3
)
case(
    "cases", "resolution_days", "cases", Q(RESOLUTION, grain=Grain.DAY),
    dict(period="2026-03-05", resolution_time=259200.0, resolution_time_median=259200.0, resolution_time_p90=259200.0,
         once_and_done_rate=1.0, contacts_per_case=1.0),  # k9 alone
    dict(period="2026-03-11",  # k6 864000 (closed exactly at 03-11 00:00), k7 151201
         resolution_time=507600.5, resolution_time_median=507600.5,
         resolution_time_p90=792720.1,  # 151201 + 0.9 * 712799
         once_and_done_rate=0.5, contacts_per_case=0.5),  # k6 1 contact, k7 none
    dict(period="2026-03-12",  # r1-r4: 100 200 400 1000
         resolution_time=425.0, resolution_time_median=300.0,
         resolution_time_p90=820.0,  # h = 2.7 -> 400 + 0.7 * 600
         once_and_done_rate=0.25,  # r1
         contacts_per_case=1.5),  # (1 + 2 + 0 + 3) / 4
)
case(
    "cases", "resolution_by_channel_range", "cases",
    Q(RESOLUTION, by=("channel",), start=date(2026, 3, 12), end=date(2026, 3, 12)),
    dict(channel="email", resolution_time=150.0, resolution_time_median=150.0,
         resolution_time_p90=190.0,  # [100, 200]: 100 + 0.9 * 100
         once_and_done_rate=0.5, contacts_per_case=1.5),  # r1 1, r2 2
    dict(channel="phone", resolution_time=700.0, resolution_time_median=700.0,
         resolution_time_p90=940.0,  # [400, 1000]: 400 + 0.9 * 600
         once_and_done_rate=0.0,  # r3 0 contacts, r4 3: a true zero
         contacts_per_case=1.5),
)
case(
    "cases", "resolution_paris_vs_utc", "cases_tz", Q(["resolution_time"], grain=Grain.DAY, tz=PARIS),
    # t3 closed 03-29T22:00Z = Paris 03-30 00:00 (not 03-29); t4 closed 03-29T23:00Z = Paris 03-30 01:00
    dict(period="2026-03-30", resolution_time=210600.0),  # (208800 + 212400) / 2
)
case(
    "cases", "resolution_utc", "cases_tz", Q(["resolution_time"], grain=Grain.DAY),
    dict(period="2026-03-29", resolution_time=210600.0),
)

# ===================================================================== repeat contacts
case(
    "repeat", "repeat_all", "repeat", Q(["repeat_contact_rate"]),
    # customers with an inbound contact: A (2), B (1: b2 is outbound), C (3, one abandoned), D (2), F (1);
    # E has only an outbound contact; n1 n2 have no customer -> 3 / 5
    dict(repeat_contact_rate=0.6),
)
case(
    "repeat", "repeat_days_utc", "repeat", Q(["repeat_contact_rate"], grain=Grain.DAY),
    dict(period="2026-03-02", repeat_contact_rate=0.75),  # A C D repeat / A B C D
    dict(period="2026-03-04", repeat_contact_rate=0.0),  # F once
)
case(
    "repeat", "repeat_days_paris", "repeat", Q(["repeat_contact_rate"], grain=Grain.DAY, tz=PARIS),
    dict(period="2026-03-02", repeat_contact_rate=0.5),  # A C / A B C D (d2 is Paris 03-03)
    dict(period="2026-03-03", repeat_contact_rate=0.0),  # D once
    dict(period="2026-03-04", repeat_contact_rate=0.0),  # F once
)
case(
    "repeat", "repeat_by_channel", "repeat", Q(["contacts_offered", "repeat_contact_rate"], by=("channel",)),
    dict(channel="chat", contacts_offered=1, repeat_contact_rate=0.0),  # A once on chat
    dict(channel="email", contacts_offered=1, repeat_contact_rate=NA),  # n2 has no customer: no eligible customer
    # phone: A 1, B 1, C 3, D 2, F 1 -> C D / 5; offered a1 b1 c1 c2 c3 d1 d2 n1 f1 = 9
    dict(channel="phone", contacts_offered=9, repeat_contact_rate=0.4),
)

# ===================================================================== agent states
case(
    "agents", "agents_by_agent", "agents", Q(AGENT_KPIS, by=("agent_id",)),
    dict(agent_id="W", occupancy=NA, shrinkage=NA, contacts_per_hour=NA),  # no agent states: no hours
    dict(agent_id="X", occupancy=7 / 9,  # 12600 / 16200
         shrinkage=5 / 14,  # 9000 / 25200 (the offline hour is in neither)
         contacts_per_hour=8 / 9),  # 4 answered inbound (not xo1 outbound, not xab) / 4.5 h
    dict(agent_id="Y", occupancy=1 / 3,  # 3600 / 10800
         shrinkage=0.0,  # a true zero
         contacts_per_hour=2.0),  # 6 / 3 h
    dict(agent_id="Z", occupancy=NA,  # absence only: no available/handling/wrap time
         shrinkage=1.0, contacts_per_hour=NA),
)
case(
    "agents", "agents_total_day_utc", "agents", Q(AGENT_KPIS, grain=Grain.DAY),
    # X's 23:00 -> 01:00 handling interval counts in full on 03-02, where it starts: no 03-03 row
    dict(period="2026-03-02",
         occupancy=0.6,  # (12600 + 3600) / (16200 + 10800)
         shrinkage=7 / 12,  # (9000 + 0 + 28800) / (25200 + 10800 + 28800)
         contacts_per_hour=1.6),  # (4 + 6 + 2) / 7.5 h
)
case(
    "agents", "agents_total_day_paris", "agents", Q(["occupancy", "shrinkage"], grain=Grain.DAY, tz=PARIS),
    # in Paris the 23:00Z interval starts on 03-03 00:00 CET
    dict(period="2026-03-02", occupancy=5 / 11,  # 9000 / 19800
         shrinkage=37800 / 57600),
    dict(period="2026-03-03", occupancy=1.0, shrinkage=0.0),  # 7200 s of handling only
)

# ===================================================================== surveys
case(
    "surveys", "surveys_all", "surveys", Q(SURVEY_KPIS),
    dict(csat=4 / 7,  # s1 5, s2 4 (exactly 4 is top box), s8 5, s9 4 / 7 csat answers
         csat_mean=24 / 7,  # 5 + 4 + 3 + 1 + 2 + 5 + 4
         nps=100 / 7,  # promoters s1 s2 s8, detractors s4 (0) s5 (6), passives s3 s6: 100 × (3 - 2) / 7
         ces=4.2,  # (2 + 3 + 5 + 7 + 4) / 5
         survey_response_rate=7 / 9),  # sent s1-s8 s10; answered s1-s6 s8 (s9 has no sent_at)
)
case(
    "surveys", "surveys_days", "surveys", Q(SURVEY_KPIS, grain=Grain.DAY),
    # responses by responded_at, response rate by sent_at: the two have different days
    dict(period="2026-03-01", csat=NA, csat_mean=NA, nps=NA, ces=NA,
         survey_response_rate=1.0),  # s1-s6 sent on 03-01, all answered
    dict(period="2026-03-02", csat=0.5,  # s1 s2 s9 / s1-s5 s9
         csat_mean=19 / 6,
         nps=0.0,  # s1-s6: promoters s1 s2, detractors s4 s5: exactly 0, not null
         ces=4.2, survey_response_rate=0.5),  # s7 s8 sent, s8 answered (on 03-03)
    dict(period="2026-03-03", csat=1.0, csat_mean=5.0, nps=100.0,  # s8
         ces=NA,  # s8 has no ces
         survey_response_rate=0.0),  # s10 not answered
)
case(
    "surveys", "surveys_by_channel", "surveys", Q(SURVEY_KPIS, by=("channel",)),
    # channel of the contact the survey follows: phone c1 (s1 s2), chat c2 (s3 s4), email c3 (s5), none (s6-s10)
    dict(channel="chat", csat=0.0, csat_mean=2.0, nps=-50.0,  # s3 7, s4 0: 100 × (0 - 1) / 2
         ces=6.0, survey_response_rate=1.0),
    dict(channel="email", csat=0.0, csat_mean=2.0, nps=-100.0, ces=4.0, survey_response_rate=1.0),
    dict(channel="phone", csat=1.0, csat_mean=4.5, nps=100.0, ces=2.5, survey_response_rate=1.0),
    dict(channel=NA, csat=1.0,  # s8 5, s9 4
         csat_mean=4.5, nps=50.0,  # s6 8 (passive), s8 10
         ces=NA, survey_response_rate=0.5),  # sent s6 s7 s8 s10, answered s6 s8
)
case(
    "surveys", "surveys_by_agent", "surveys", Q(SURVEY_KPIS, by=("agent_id",)),
    # agent: the survey's own, else its contact's: A1 s1 s2; A2 s3 s4 (c2), s5 (own, over c3's A1), s6; A3 s9
    dict(agent_id="A1", csat=1.0, csat_mean=4.5, nps=100.0, ces=2.5, survey_response_rate=1.0),
    dict(agent_id="A2", csat=0.0,  # 3, 1, 2
         csat_mean=2.0, nps=-50.0,  # 7, 0, 6, 8: 100 × (0 - 2) / 4
         ces=16 / 3,  # 5, 7, 4
         survey_response_rate=1.0),
    dict(agent_id="A3", csat=1.0, csat_mean=4.0, nps=NA, ces=NA,
         survey_response_rate=NA),  # s9 was never recorded as sent
    dict(agent_id=NA, csat=1.0, csat_mean=5.0, nps=100.0, ces=NA,  # s8
         survey_response_rate=1 / 3),  # s7 s8 s10
)
case(
    "surveys", "surveys_top_box_5", "surveys", Q(["csat", "csat_mean"], params={"csat_top_box": 5}),
    dict(csat=2 / 7, csat_mean=24 / 7),  # s1 s8; the mean does not depend on the top box
)
case(
    "surveys", "surveys_range", "surveys", Q(SURVEY_KPIS, start=date(2026, 3, 2), end=date(2026, 3, 2)),
    dict(csat=0.5, csat_mean=19 / 6, nps=0.0, ces=4.2, survey_response_rate=0.5),  # the 03-02 row above
)

# ===================================================================== quality score
case(
    "quality", "quality_all", "quality", Q(["quality_score"]),
    dict(quality_score=58.125),  # (77.5 + 80 + 0 + 75) / 4 evaluations
)
case(
    "quality", "quality_by_agent", "quality", Q(["quality_score"], by=("agent_id",)),
    dict(agent_id="A", quality_score=52.5),  # (77.5 + 80 + 0) / 3
    dict(agent_id="B", quality_score=75.0),
)
case(
    "quality", "quality_by_mode", "quality", Q(["quality_score"], by=("mode",)),
    dict(mode="cold", quality_score=38.75),  # E1 E3
    dict(mode="live", quality_score=77.5),  # E2 E4
)
case(
    "quality", "quality_by_evaluator_day", "quality", Q(["quality_score"], by=("evaluator_id",), grain=Grain.DAY),
    dict(period="2026-03-02", evaluator_id="ev1", quality_score=77.5),  # E1
    dict(period="2026-03-02", evaluator_id="ev2", quality_score=75.0),  # E4
    dict(period="2026-03-03", evaluator_id="ev2", quality_score=80.0),  # E2
    dict(period="2026-03-04", evaluator_id="ev1", quality_score=0.0),  # E3: a true zero
)

# ===================================================================== evaluation coverage
case(
    "quality", "coverage_weeks_utc", "coverage", Q(["evaluation_coverage"], grain=Grain.WEEK),
    dict(period="2026-W10", evaluation_coverage=0.5),  # A covered, B not (live only)
    dict(period="2026-W11", evaluation_coverage=1 / 3),  # C covered; A 2 evaluations; B none
)
case(
    "quality", "coverage_weeks_paris", "coverage", Q(["evaluation_coverage"], grain=Grain.WEEK, tz=PARIS),
    dict(period="2026-W10", evaluation_coverage=0.5),
    dict(period="2026-W11", evaluation_coverage=0.0),  # E11 is Monday 03-16 in Paris: C has 2 in W11
)
case(
    "quality", "coverage_by_agent", "coverage", Q(["evaluation_coverage"], by=("agent_id",), grain=Grain.WEEK),
    dict(period="2026-W10", agent_id="A", evaluation_coverage=1.0),
    dict(period="2026-W10", agent_id="B", evaluation_coverage=0.0),
    dict(period="2026-W11", agent_id="A", evaluation_coverage=0.0),
    dict(period="2026-W11", agent_id="B", evaluation_coverage=0.0),
    dict(period="2026-W11", agent_id="C", evaluation_coverage=1.0),
    # no C in W10 (outbound only), no D (never answered)
)
case(
    "quality", "coverage_all_and_month", "coverage", Q(["evaluation_coverage"], grain=Grain.MONTH),
    dict(period="2026-03", evaluation_coverage=0.4),  # 2 / 5 pairs (both weeks start in March)
)
case(
    "quality", "coverage_all_paris", "coverage", Q(["evaluation_coverage"], tz=PARIS),
    dict(evaluation_coverage=0.2),  # 1 / 5
)
case(
    "quality", "coverage_range", "coverage", Q(["evaluation_coverage"], grain=Grain.WEEK,
                                                start=date(2026, 3, 9), end=date(2026, 3, 15)),
    dict(period="2026-W11", evaluation_coverage=1 / 3),
)

# ===================================================================== customers: churn, retention, engagement
Q1 = dict(start=date(2026, 1, 1), end=date(2026, 3, 31))
CUST3 = ("churn_rate", "retention_rate", "engagement_rate")
case(
    "customers", "customers_months", "customers", Q(CUST3, grain=Grain.MONTH, **Q1),
    dict(period="2026-01", churn_rate=0.0, retention_rate=1.0, engagement_rate=0.25),  # 0/3, 3/3, u1 / 4
    dict(period="2026-02", churn_rate=0.2, retention_rate=0.8, engagement_rate=0.2),  # u2 / 5, 4/5, u2 / 5
    dict(period="2026-03", churn_rate=0.25, retention_rate=0.75, engagement_rate=0.5),  # u5 / 4, 3/4, u1 u7 / 4
)
case(
    "customers", "customers_default_range_months", "customers", Q(CUST3, grain=Grain.MONTH),
    # no range: the contacts' span (01-05 .. 03-31), whole months: same three months
    dict(period="2026-01", churn_rate=0.0, retention_rate=1.0, engagement_rate=0.25),
    dict(period="2026-02", churn_rate=0.2, retention_rate=0.8, engagement_rate=0.2),
    dict(period="2026-03", churn_rate=0.25, retention_rate=0.75, engagement_rate=0.5),
)
case(
    "customers", "customers_quarter", "customers", Q(CUST3, grain=Grain.QUARTER, **Q1),
    # at 01-01: u1 u2 u5 active; u2 u5 churn in Q1; u1 retained; active in Q1: u1 u2 u4 u5 u7, engaged u1 u2 u7
    dict(period="2026-Q1", churn_rate=2 / 3, retention_rate=1 / 3, engagement_rate=0.6),
)
case(
    "customers", "customers_quarter_by_segment", "customers", Q(CUST3, by=("segment",), grain=Grain.QUARTER, **Q1),
    dict(period="2026-Q1", segment="pro", churn_rate=1.0,  # u5 / u5 (u4 acquired after 01-01)
         retention_rate=0.0, engagement_rate=0.0),  # u4 u5 active; u4's only contact is outbound
    dict(period="2026-Q1", segment="retail", churn_rate=0.5,  # u2 / u1 u2
         retention_rate=0.5, engagement_rate=1.0),  # u1 u2 u7 all in contact
)
case(
    "customers", "customers_paris_march", "customers",
    Q(CUST3, grain=Grain.MONTH, tz=PARIS, start=date(2026, 3, 1), end=date(2026, 3, 31)),
    # Paris March = 02-28T23:00Z .. 03-31T22:00Z: u5 churns (03-31T23:59:59Z) in April; g8 is an April contact
    dict(period="2026-03", churn_rate=0.0, retention_rate=1.0, engagement_rate=0.25),  # u1 / u1 u4 u5 u7
)
case(
    "customers", "customers_day", "customers", Q(["churn_rate", "retention_rate"], grain=Grain.DAY,
                                                 start=date(2026, 2, 10), end=date(2026, 2, 10)),
    dict(period="2026-02-10", churn_rate=0.2, retention_rate=0.8),  # u2 (12:00) / u1 u2 u4 u5 u7
)
case(
    "customers", "customers_all_default_range", "customers", Q(CUST3),
    # one window over the contacts' span [01-05T00:00Z, 04-01T00:00Z): active at its start u1 u2 u5,
    # churned u2 u5; active in it u1 u2 u4 u5 u7; engaged u1 u2 u7
    dict(churn_rate=2 / 3, retention_rate=1 / 3, engagement_rate=0.6),
)

# ===================================================================== clv
case(
    "customers", "clv_months", "customers", Q(["clv"], grain=Grain.MONTH, **Q1),
    dict(period="2026-01", clv=NA),  # no churn in January: monthly churn 0, no finite CLV
    dict(period="2026-02", clv=250.0),  # (150 / 3) / (1 / 5)
    dict(period="2026-03", clv=180.0),  # (135 / 3) / (1 / 4)
)
case(
    "customers", "clv_quarter", "customers", Q(["clv"], grain=Grain.QUARTER, **Q1),
    # margin 415 over 9 customer-months; pooled monthly churn (0 + 1 + 1) / (3 + 5 + 4) = 1/6
    dict(period="2026-Q1", clv=2490 / 9),
)
case(
    "customers", "clv_quarter_by_segment", "customers", Q(["clv"], by=("segment",), grain=Grain.QUARTER, **Q1),
    # pro: u5 Jan 30 Feb 30, u4 Feb 60 Mar 60 -> 180 / 4 = 45; at month starts 1 + 2 + 2 = 5, churned u5 -> 45 / (1/5)
    dict(period="2026-Q1", segment="pro", clv=225.0),
    # retail: u1 60 × 3, u2 40, u7 15 -> 235 / 5 = 47; at month starts 2 + 3 + 2 = 7, churned u2 -> 47 × 7
    dict(period="2026-Q1", segment="retail", clv=329.0),
)
case(
    "customers", "clv_all_range", "customers", Q(["clv"], **Q1),
    dict(clv=2490 / 9),  # grain all over Q1: the same pooled figures
)
case(
    "customers", "clv_year", "customers", Q(["clv"], grain=Grain.YEAR, **Q1),
    dict(period="2026", clv=2490 / 9),
)

# ===================================================================== cash flows (by date, no time zone)
case(
    "finance", "cash_days", "cash", Q(["net_cash_flow"], grain=Grain.DAY),
    dict(period="2026-03-02", net_cash_flow=-200.0),  # 1000 - 600 - 600 (identical rows both count)
    dict(period="2026-03-03", net_cash_flow=-500.0),  # outflow only
    dict(period="2026-03-31", net_cash_flow=200.0),
    dict(period="2026-04-01", net_cash_flow=50.0),
)
case(
    "finance", "cash_months_paris", "cash", Q(["net_cash_flow"], grain=Grain.MONTH, tz=PARIS),
    # a date has no time zone: 03-31 stays in March and 04-01 in April whatever the zone
    dict(period="2026-03", net_cash_flow=-500.0),  # 1200 - 1700
    dict(period="2026-04", net_cash_flow=50.0),
)
case(
    "finance", "cash_weeks", "cash", Q(["net_cash_flow"], grain=Grain.WEEK),
    dict(period="2026-W10", net_cash_flow=-700.0),  # Mon 03-02, Tue 03-03
    dict(period="2026-W14", net_cash_flow=250.0),  # Tue 03-31, Wed 04-01
)
case(
    "finance", "cash_quarters_year", "cash", Q(["net_cash_flow"], grain=Grain.QUARTER),
    dict(period="2026-Q1", net_cash_flow=-500.0),
    dict(period="2026-Q2", net_cash_flow=50.0),
)
case(
    "finance", "cash_year", "cash", Q(["net_cash_flow"], grain=Grain.YEAR),
    dict(period="2026", net_cash_flow=-450.0),
)
case(
    "finance", "cash_by_category", "cash", Q(["net_cash_flow"], by=("category",)),
    dict(category="fees", net_cash_flow=1250.0),
    dict(category="rent", net_cash_flow=-500.0),
    dict(category="salaries", net_cash_flow=-1200.0),
)
case(
    "finance", "cash_by_team_range", "cash", Q(["net_cash_flow"], by=("team",), start=date(2026, 3, 3), end=date(2026, 3, 31)),
    dict(team="B", net_cash_flow=-300.0),  # 200 - 500; team A has no flow in the range: no row
)

# ===================================================================== cost per contact (outflows / answered)
case(
    "finance", "cost_month", "cost", Q(["cost_per_contact"], grain=Grain.MONTH),
    dict(period="2026-03", cost_per_contact=1700 / 4),  # out 600 + 600 + 500 / answered p1 p2 p4 p5 (p3 abandoned)
    dict(period="2026-04", cost_per_contact=0.0),  # no outflow in April / answered p6
)
case(
    "finance", "cost_by_team", "cost", Q(["cost_per_contact"], by=("team",)),
    dict(team="A", cost_per_contact=600.0),  # 1200 / p1 p2
    dict(team="B", cost_per_contact=250.0),  # 500 / p4 p5
    dict(team="C", cost_per_contact=NA),  # no cash flow of team C at all: its cost is unknown, not 0
)
case(
    "finance", "cost_month_paris", "cost", Q(["cost_per_contact"], grain=Grain.MONTH, tz=PARIS),
    # p5 answers on 04-01 in Paris: March = 1700 / 3; April = 0 / (p5, p6)
    dict(period="2026-03", cost_per_contact=1700 / 3),
    dict(period="2026-04", cost_per_contact=0.0),
)

# ===================================================================== loans (the period's latest snapshot)
DELQ = ("delinquency_rate", "delinquency_rate_balance")
case(
    "finance", "loans_months", "loans", Q(DELQ, grain=Grain.MONTH),
    dict(period="2026-03", delinquency_rate=0.4,  # L2 (exactly 90) L5 / L1 L2 L3 L5 L6 (not L4: nothing outstanding)
         delinquency_rate_balance=2300 / 4500),
    dict(period="2026-04", delinquency_rate=0.5, delinquency_rate_balance=1900 / 2800),  # 04-30; L7 (04-10) ignored
    dict(period="2026-05", delinquency_rate=NA, delinquency_rate_balance=NA),  # no loan with a balance
)
case(
    "finance", "loans_day", "loans", Q(DELQ, grain=Grain.DAY, start=date(2026, 3, 15), end=date(2026, 3, 15)),
    dict(period="2026-03-15", delinquency_rate=0.5, delinquency_rate_balance=1000 / 3000),  # L1 100 dpd
)
case(
    "finance", "loans_param_30", "loans", Q(DELQ, grain=Grain.MONTH, start=date(2026, 3, 1), end=date(2026, 3, 31),
                                            params={"delinquency_days": 30}),
    dict(period="2026-03", delinquency_rate=0.6, delinquency_rate_balance=2800 / 4500),  # L2 L3 L5
)
case(
    "finance", "loans_param_200", "loans", Q(DELQ, start=date(2026, 3, 1), end=date(2026, 3, 31),
                                             params={"delinquency_days": 200}),
    dict(delinquency_rate=0.2, delinquency_rate_balance=300 / 4500),  # L5 exactly 200
)
case(
    "finance", "loans_all_to_april", "loans", Q(DELQ, end=date(2026, 4, 30)),
    dict(delinquency_rate=0.5, delinquency_rate_balance=1900 / 2800),  # latest snapshot up to --to: 04-30
)
case(
    "finance", "loans_quarters_paris", "loans", Q(DELQ, grain=Grain.QUARTER, tz=PARIS),
    dict(period="2026-Q1", delinquency_rate=0.4, delinquency_rate_balance=2300 / 4500),  # 03-31 (dates: no zone)
    dict(period="2026-Q2", delinquency_rate=NA, delinquency_rate_balance=NA),  # latest is 05-31
)

# ===================================================================== quality: an evaluation scoring nothing
case(
    "quality", "quality_zero_weight", "zero_weight", Q(["quality_score"]),
    dict(quality_score=100.0),  # Z2 only: Z1 has no score (not a 0)
)

# ===================================================================== business hours (calendar CAL, Paris)
case(
    "business", "business_contacts_by_channel", "business",
    Q(BUSINESS_CONTACT_KPIS, by=("channel",), tz=PARIS, calendar=CAL),
    dict(channel="email",
         asa_business=8700.0,  # (5400 + 19800 + 900) / 3
         wait_p90_business=16920.0,  # [900, 5400, 19800]: h = 1.8 -> 5400 + 0.8 * 14400
         aht_business=520.0,  # (660 + 600 + 300) / 3
         communication_time_business=9200.0,  # (6000 + 20400 + 1200) / 3
         service_level_open=0.5),  # e1 / e1 e2 (e3 arrived closed)
    dict(channel="phone",
         asa_business=61 / 6,  # p1 15, p2 10, p5 4, p6 20, p7 0, p8 12
         wait_p90_business=17.5,  # [0, 4, 10, 12, 15, 20]: h = 4.5 -> 15 + 0.5 * 5
         aht_business=280 / 6,  # 150 + 0 + 60 + 40 + 0 + 30
         communication_time_business=311 / 6,  # 135 + 10 + 64 + 60 + 0 + 42
         service_level_open=0.6),  # p1 p6 p8 / p1 p2 p4 p6 p8 (p3 p5 p7 arrived closed, p9 short)
    dict(channel="social", asa_business=7200.0, wait_p90_business=7200.0, aht_business=1800.0,
         communication_time_business=9000.0, service_level_open=0.0),  # s1: open, not within T
)
case(
    "business", "business_contacts_met_within_t", "business",
    Q(["asa_business", "service_level_open"], tz=PARIS, calendar=CAL, params={"service_level_abandons": "met_within_t"}),
    dict(asa_business=3336.1,  # (26100 + 61 + 7200) / 10 answered
         service_level_open=0.625),  # (e1 + p1 p6 p8 + p4 abandoned within T) / 8 offered open
)
case(
    "business", "business_default_calendar", "business", Q(["asa_business"], by=("channel",), tz=PARIS),
    # no calendar: Mon-Fri 08:00-20:00, Sat 09:00-17:00 local, French holidays, every channel alike
    dict(channel="email", asa_business=38700.0),  # e1 2.5 h + 1 h; e2 9 h + 12 h (Wed) + 0.5 h; e3 7 h + 0.25 h
    dict(channel="phone", asa_business=91 / 6),  # 15 + 30 (no lunch break) + 4 + 20 + 10 (open until 20:00) + 12
    dict(channel="social", asa_business=0.0),  # s1: Friday 23:30 to Saturday 01:30, all closed
)
case(
    "business", "business_resolution_month", "business",
    Q(["resolution_time", *BUSINESS_CASE_KPIS[:3]], grain=Grain.MONTH, tz=PARIS, calendar=CAL),
    dict(period="2026-03",
         resolution_time=107100.0,  # (57600 + 185400 + 163800 + 21600) / 4: calendar time
         resolution_time_business=15300.0,  # (7200 + 34200 + 1800 + 18000) / 4
         resolution_time_median_business=12600.0,  # [1800, 7200, 18000, 34200]: (7200 + 18000) / 2
         resolution_time_p90_business=29340.0),  # h = 2.7 -> 18000 + 0.7 * 16200
)
case(
    "business", "business_backlog_days", "business",
    Q(["backlog_open", "backlog_age_mean", "backlog_age_mean_business"], grain=Grain.DAY, tz=PARIS, calendar=CAL,
      start=date(2026, 3, 3), end=date(2026, 3, 4)),
    # end of Tue 03-03 = 03-03T23:00Z: open b2 (b 4.5 h = 16200; 12.5 h) and b5 (b Mon 8 h + Tue 8 h = 57600; 41 h)
    dict(period="2026-03-03", backlog_open=2, backlog_age_mean=96300.0, backlog_age_mean_business=36900.0),
    # end of Wed 03-04 (closed): one more calendar day, no more open time
    dict(period="2026-03-04", backlog_open=2, backlog_age_mean=182700.0, backlog_age_mean_business=36900.0),
)

CASES_MORE_BY_ID: dict[str, GoldenCase] = {c.id: c for c in CASES_MORE}


# --------------------------------------------------------------------------- shared warehouses


class Loaded:
    """One warehouse per data set, loaded on first use and shared by a module's read-only tests.

    ``load(warehouses, dataset)`` builds one (default: the data sets of this module)."""

    def __init__(self, folder: Path,
                 load: Callable[[Warehouses, str], duckdb.DuckDBPyConnection] = load_more) -> None:
        self.warehouses = Warehouses(folder)
        self.load = load
        self.cons: dict[str, duckdb.DuckDBPyConnection] = {}

    def __call__(self, dataset: str) -> duckdb.DuckDBPyConnection:
        if dataset not in self.cons:
            self.cons[dataset] = self.load(self.warehouses, dataset)
        return self.cons[dataset]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    shared = Loaded(tmp_path_factory.mktemp("more"))
    try:
        yield shared
    finally:
        shared.warehouses.close()


# --------------------------------------------------------------------------- UK telecom NPS (real data)

UK = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "nps-verbatims-uk-telecom" / "text_data.csv"
# survey_id: the data set has no id. md5(date || text) would collide (line 2324 repeats line 1604's
# date and verbatim "STOP", once with a score 7 and once without), so the sub-type and score are hashed too.
UK_MAPPING = """\
name: uk-telecom-nps
table: surveys
description: UK telecom NPS responses with verbatims (textSummary R package)
source_tz: Europe/London
unmapped: keep
columns:
  survey_id: {sql: "md5(concat_ws('|', CUSTOMER_RESPONSE_DATE, SURVEY_SUB_TYPE, NPS_SCORE, text))"}
  responded_at: {column: CUSTOMER_RESPONSE_DATE, format: "%d/%m/%Y %H:%M"}
  nps: NPS_SCORE
  verbatim: text
  language: {value: en}
"""


def import_uk(warehouses: Warehouses, mapping_text: str, name: str) -> tuple[duckdb.DuckDBPyConnection, ImportReport]:
    """The UK telecom NPS file imported with ``mapping_text`` into a fresh warehouse (rejects under the tmp folder)."""
    mapping = warehouses.folder / f"{name}.yaml"
    mapping.write_text(mapping_text, encoding="utf-8")
    con = warehouses.new(name)
    report = import_file(con, "surveys", UK, mapping=str(mapping), rejects_dir=warehouses.folder / "rejects")
    return con, report


# --------------------------------------------------------------------------- re-deriving a KPI from its counts
# Written from SPEC §3, independently of the catalogue's own formulas: with_counts must show
# every number a KPI is computed from, so that each value can be checked by hand.


def _div(num: str, den: str, scale: float = 1.0) -> Any:
    def f(m: Mapping[str, Any]) -> float | None:
        n, d = m.get(num), m.get(den)
        if is_na(d) or float(d) == 0:
            return None
        return scale * float(0 if is_na(n) else n) / float(d)

    return f


def _val(name: str) -> Any:
    return lambda m: None if is_na(m.get(name)) else float(m[name])


def _nps(m: Mapping[str, Any]) -> float | None:
    n = m.get("nps_n")
    if is_na(n) or n == 0:
        return None
    return 100.0 * (float(m["promoters"]) - float(m["detractors"])) / float(n)


def _per_hour(m: Mapping[str, Any]) -> float | None:
    seconds = m.get("productive_s")
    if is_na(seconds) or seconds == 0:
        return None
    answered = m.get("answered")  # hours but no answered contact in the group: 0
    return float(0 if is_na(answered) else answered) / (float(seconds) / 3600.0)


def _clv(m: Mapping[str, Any]) -> float | None:
    months, churned, at_start = m.get("customer_months"), m.get("month_churned"), m.get("month_active_at_start")
    if any(is_na(v) or v == 0 for v in (months, churned, at_start)) or is_na(m.get("margin_sum")):
        return None
    return (float(m["margin_sum"]) / float(months)) / (float(churned) / float(at_start))


def _net(m: Mapping[str, Any]) -> float | None:
    cin, cout = m.get("cash_in"), m.get("cash_out")
    if is_na(cin) and is_na(cout):
        return None
    return (0.0 if is_na(cin) else float(cin)) - (0.0 if is_na(cout) else float(cout))


def _cost(m: Mapping[str, Any]) -> float | None:
    """No cash flow at all in the group: the cost is unknown (null), not 0."""
    out, answered = m.get("cash_out"), m.get("answered")
    if is_na(out) or is_na(answered) or float(answered) == 0:
        return None
    return float(out) / float(answered)


REDERIVE: dict[str, Any] = {
    "repeat_contact_rate": _div("customers_repeating", "customers_in_contact"),
    "backlog_open": _val("backlog"),
    "backlog_age_mean": _div("backlog_age_sum_s", "backlog"),
    "backlog_aged_lt_1d": _val("backlog_lt_1d"),
    "backlog_aged_1_3d": _val("backlog_1_3d"),
    "backlog_aged_3_7d": _val("backlog_3_7d"),
    "backlog_aged_gt_7d": _val("backlog_gt_7d"),
    "resolution_time": _div("resolution_sum_s", "cases_closed"),
    "resolution_time_median": _val("resolution_median_s"),
    "resolution_time_p90": _val("resolution_p90_s"),
    "once_and_done_rate": _div("cases_one_contact", "cases_closed"),
    "contacts_per_case": _div("case_contacts", "cases_closed"),
    "occupancy": _div("busy_s", "productive_s"),
    "shrinkage": _div("shrink_s", "present_s"),
    "contacts_per_hour": _per_hour,
    "csat": _div("csat_top", "csat_n"),
    "csat_mean": _div("csat_sum", "csat_n"),
    "nps": _nps,
    "ces": _div("ces_sum", "ces_n"),
    "survey_response_rate": _div("surveys_responded", "surveys_sent"),
    "quality_score": _div("quality_sum", "evaluations"),
    "evaluation_coverage": _div("agent_weeks_covered", "agent_weeks"),
    "churn_rate": _div("churned", "active_at_start"),
    "retention_rate": _div("retained", "active_at_start"),
    "engagement_rate": _div("engaged_customers", "active_customers"),
    "clv": _clv,
    "net_cash_flow": _net,
    "cost_per_contact": _cost,
    "delinquency_rate": _div("loans_delinquent", "loans_live"),
    "delinquency_rate_balance": _div("balance_delinquent", "balance_live"),
}
assert set(REDERIVE) == set(MORE_KPIS)
