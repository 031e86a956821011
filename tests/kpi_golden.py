"""Golden data sets and cases for the contact KPIs (SPEC §3), run on every engine.

Every data set is a few dozen hand-made contacts; every expected number is worked out by
hand in the comment beside it (which rows count and why), never by re-running the engine.
The same ``GoldenCase`` objects run on DuckDB and on Spark (``test_kpi_golden.py``);
``test_kpi_contacts.py`` and ``test_kpi_fcr.py`` reuse the data sets.

Defaults used in the comments (SPEC §3): answer threshold T phone 20 s, chat 60 s, email
86400 s, no threshold for selfcare; short-abandon threshold S = 5 s; FCR window 7 days,
(t, t + 7 d] with an inclusive end; end of data = latest created_at of all contacts.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from cxkpi.service.imports import import_file
from cxkpi.kpi import Grain, KpiQuery, compute
from cxkpi.kpi.params import parse_assignments
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.engines import Engine, duckdb_engine

# Third-party deprecations seen with ibis 12 + duckdb 2.0 + pandas 3.1 (not cxkpi's own code).
# pytest runs with filterwarnings=error, so every KPI test module applies these marks.
THIRD_PARTY_WARNINGS = (
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning",
    "ignore:The 'future.infer_string' option is deprecated",
)

NA = None  # expected value "null" (pandas NA): no eligible row, never 0

CONTACT_KPIS = (
    "contacts_offered", "contacts_answered", "contacts_abandoned", "short_abandons",
    "answer_rate", "abandon_rate", "service_level", "asa", "wait_p90", "aht",
    "communication_time", "fcr", "transfer_rate", "selfcare_rate", "digital_rate", "conversion_rate",
)
COUNT_KPIS = ("contacts_offered", "contacts_answered", "contacts_abandoned", "short_abandons")

CANONICAL_ORDER = (
    "contact_id", "channel", "created_at", "direction", "customer_id", "case_id", "queue", "team", "site",
    "agent_id", "answered_at", "ended_at", "hold_seconds", "wrap_seconds", "outcome", "transferred",
    "resolved", "converted", "reason", "product", "segment", "language",
)


# --------------------------------------------------------------------------- row builder


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def contact(
    contact_id: str,
    channel: str,
    created: str,
    *,
    wait: float | None = None,
    talk: float | None = None,
    end_after: float | None = None,
    outcome: str | None = None,
    direction: str | None = None,
    customer: str | None = None,
    reason: str | None = None,
    wrap: float | None = None,
    transferred: bool | None = None,
    converted: bool | None = None,
    **extra: str | None,
) -> dict[str, str | None]:
    """One canonical contacts row, written with absolute UTC timestamps.

    ``wait``: answered_at = created + wait; ``talk``: ended_at = answered_at + talk;
    ``end_after``: ended_at = created + end_after (unanswered contacts). Cells left ``None``
    are written empty, so the importer's defaults apply (direction inbound; outcome answered
    if answered_at else abandoned).
    """
    t0 = parse_ts(created)
    answered = t0 + timedelta(seconds=wait) if wait is not None else None
    ended: datetime | None = None
    if talk is not None:
        assert answered is not None, contact_id
        ended = answered + timedelta(seconds=talk)
    if end_after is not None:
        ended = t0 + timedelta(seconds=end_after)
    row: dict[str, str | None] = {
        "contact_id": contact_id,
        "channel": channel,
        "created_at": iso(t0),
        "direction": direction,
        "customer_id": customer,
        "answered_at": iso(answered) if answered else None,
        "ended_at": iso(ended) if ended else None,
        "wrap_seconds": None if wrap is None else repr(wrap),
        "outcome": outcome,
        "transferred": None if transferred is None else str(transferred).lower(),
        "converted": None if converted is None else str(converted).lower(),
        "reason": reason,
    }
    row.update(extra)
    return row


# --------------------------------------------------------------------------- data sets

# BASICS: one UTC day (Monday 2026-03-02), no customer ids (so fcr is null everywhere).
# Every answered inbound contact states its transferred/converted flags (known false unless
# said), so transfer and conversion rates do not depend on how unknown flags are counted.
NO_FLAGS: dict[str, Any] = {"transferred": False, "converted": False}
BASICS = [
    # phone, T = 20 s, S = 5 s
    contact("p1", "phone", "2026-03-02T08:00:00Z", wait=10, talk=100, wrap=20, **NO_FLAGS),  # in T; handle 100+20=120, comm 110
    contact("p2", "phone", "2026-03-02T08:10:00Z", wait=20, talk=200, **NO_FLAGS),  # wait == T: in T; wrap missing = 0: handle 200, comm 220
    contact("p3", "phone", "2026-03-02T08:20:00Z", wait=21, talk=60, wrap=0, transferred=True, converted=False),  # 21 > T; handle 60, comm 81
    contact("p4", "phone", "2026-03-02T08:30:00Z", wait=30, transferred=False, converted=True),  # no ended_at: out of aht/comm
    contact("p5", "phone", "2026-03-02T08:40:00Z", end_after=5, outcome="abandoned"),  # wait == S: NOT short; 5 <= T
    contact("p6", "phone", "2026-03-02T08:50:00Z", end_after=4.9, outcome="abandoned"),  # 4.9 < S: short
    contact("p7", "phone", "2026-03-02T09:00:00Z", outcome="abandoned"),  # no ended_at: wait unknown, not short
    contact("p8", "phone", "2026-03-02T09:10:00Z", end_after=40),  # outcome defaults to abandoned; 40 > T
    contact("p9", "phone", "2026-03-02T09:20:00Z", wait=1, talk=100, direction="outbound", transferred=True, converted=True),
    contact("p10", "phone", "2026-03-02T09:30:00Z", outcome="deflected"),  # inbound, not offered, selfcare
    contact("p11", "phone", "2026-03-02T09:40:00Z", end_after=15, outcome="callback"),  # inbound, not offered
    # chat, T = 60 s
    contact("c1", "chat", "2026-03-02T10:00:00Z", wait=60, talk=300, wrap=30, **NO_FLAGS),  # wait == T; handle 330, comm 360
    contact("c2", "chat", "2026-03-02T10:10:00Z", wait=61, talk=100, **NO_FLAGS),  # 61 > T; handle 100, comm 161
    contact("c3", "chat", "2026-03-02T10:20:00Z", end_after=120, outcome="abandoned"),  # 120 > T
    # email, T = 86400 s
    contact("e1", "email", "2026-03-02T11:00:00Z", wait=86400, talk=600, **NO_FLAGS),  # wait == T; handle 600, comm 87000
    contact("e2", "email", "2026-03-02T11:10:00Z", wait=86401, **NO_FLAGS),  # > T; no ended_at
    # selfcare: no answer threshold (never met)
    contact("s1", "selfcare", "2026-03-02T12:00:00Z", outcome="deflected"),
    contact("s2", "selfcare", "2026-03-02T12:10:00Z", end_after=60, outcome="abandoned"),  # offered, abandoned
    # sms: only a deflected contact, nothing offered
    contact("m1", "sms", "2026-03-02T13:00:00Z", outcome="deflected"),
    # video: only an outbound contact, no inbound at all
    contact("v1", "video", "2026-03-02T14:00:00Z", wait=5, direction="outbound"),
]
# Per channel (inbound only; p9 and v1 are outbound):
#   phone    inbound p1-p8,p10,p11 = 10; offered p1-p4,p5,p7,p8 = 7; answered p1-p4 = 4;
#            abandoned p5,p7,p8 = 3; short p6 = 1; answered in T p1,p2 = 2; abandoned in T p5 = 1;
#            waits 10,20,21,30; handle 120,200,60; comm 110,220,81; transferred p3; converted p4;
#            selfcare p10 = 1; digital 0 (outbound p9 is in none of these, not even aht/comm)
#   chat     inbound 3; offered 3; answered 2; abandoned 1; in T c1 = 1; waits 60,61;
#            handle 330,100; comm 360,161; digital 3
#   email    inbound 2; offered 2; answered 2; in T e1 = 1; waits 86400,86401; handle 600; comm 87000
#   selfcare inbound 2; offered s2 = 1; answered 0; abandoned 1; selfcare 2; digital 2
#   sms      inbound 1; offered 0; selfcare 1; digital 1
#   video    inbound 0 (only outbound v1)

# P90: answered waits 10..50 on phone for the linear-interpolation percentile.
P90 = [
    contact("q1", "phone", "2026-03-03T08:00:00Z", wait=30, talk=10),
    contact("q2", "phone", "2026-03-03T08:01:00Z", wait=10, talk=10),
    contact("q3", "phone", "2026-03-03T08:02:00Z", wait=50, talk=10),
    contact("q4", "phone", "2026-03-03T08:03:00Z", wait=20, talk=10),
    contact("q5", "phone", "2026-03-03T08:04:00Z", wait=40, talk=10),
    contact("u1", "chat", "2026-03-03T09:00:00Z", wait=7, talk=10),
    contact("r1", "video", "2026-03-03T10:00:00Z", end_after=30, outcome="abandoned"),
    contact("r2", "video", "2026-03-03T10:01:00Z", end_after=40, outcome="abandoned"),
    contact("t1", "social", "2026-03-03T11:00:00Z", outcome="deflected"),
]

# RATIO: two days with different volumes, for "a monthly rate is the ratio of monthly sums".
RATIO = [
    contact("x1", "phone", "2026-03-02T09:00:00Z", wait=10, talk=60),
    contact("x2", "phone", "2026-03-03T09:00:00Z", wait=40, talk=60),
    contact("x3", "phone", "2026-03-03T09:10:00Z", wait=60, talk=60),
    contact("x4", "phone", "2026-03-03T09:20:00Z", end_after=30, outcome="abandoned"),
    contact("x5", "phone", "2026-03-03T09:30:00Z", end_after=30, outcome="abandoned"),
    contact("x6", "phone", "2026-03-03T09:40:00Z", end_after=30, outcome="abandoned"),
]

# FCR: answered contacts wait 10 s and talk 60 s. End of data = z1 (outbound), 2026-03-12T09:00:00Z.
FCR = [
    contact("a1", "phone", "2026-03-02T09:00:00Z", wait=10, talk=60, customer="A"),
    contact("a2", "email", "2026-03-09T09:00:00Z", wait=10, talk=60, customer="A"),  # a1 + exactly 7 d, other channel
    contact("b1", "phone", "2026-03-02T10:00:00Z", wait=10, talk=60, customer="B"),
    contact("b2", "chat", "2026-03-09T10:00:01Z", wait=10, talk=60, customer="B"),  # b1 + 7 d + 1 s
    contact("c1", "phone", "2026-03-02T11:00:00Z", wait=10, talk=60, customer="C"),
    contact("c2", "phone", "2026-03-03T11:00:00Z", end_after=30, outcome="abandoned", customer="C"),  # c1 + 1 d
    contact("d1", "phone", "2026-03-02T12:00:00Z", wait=10, talk=60, customer="D"),
    contact("d2", "phone", "2026-03-03T12:00:00Z", wait=10, talk=60, customer="D", direction="outbound"),
    contact("e1", "phone", "2026-03-02T13:00:00Z", wait=10, talk=60, customer="E"),
    contact("e2", "chat", "2026-03-02T13:00:00Z", wait=10, talk=60, customer="E"),  # same timestamp as e1
    contact("n1", "phone", "2026-03-02T14:00:00Z", wait=10, talk=60),  # no customer
    contact("h1", "phone", "2026-03-02T15:00:00Z", wait=10, talk=60, customer="H", reason="billing"),
    contact("h2", "chat", "2026-03-04T15:00:00Z", wait=10, talk=60, customer="H", reason="delivery"),
    contact("i1", "phone", "2026-03-02T16:00:00Z", wait=10, talk=60, customer="I", reason="billing"),
    contact("i2", "email", "2026-03-03T16:00:00Z", wait=10, talk=60, customer="I", reason="billing"),  # i1 + 1 d
    contact("f1", "phone", "2026-03-05T09:00:00Z", wait=10, talk=60, customer="F"),  # f1 + 7 d == end of data
    contact("g1", "phone", "2026-03-05T09:00:01Z", wait=10, talk=60, customer="G"),  # g1 + 7 d > end of data
    contact("z1", "phone", "2026-03-12T09:00:00Z", wait=10, talk=60, customer="Z", direction="outbound"),
]
# Default (7 d): base = answered inbound with customer and t + 7 d <= 2026-03-12T09:00:00Z, i.e.
# t <= 2026-03-05T09:00:00Z: a1 b1 c1 d1 e1 e2 h1 h2 i1 i2 f1 = 11 (not a2 b2 g1: window passes
# the end; not c2: unanswered; not n1: no customer; not d2 z1: outbound).
# Broken: a1 (a2 at exactly +7 d), c1 (c2 abandoned inbound at +1 d), h1 (h2 at +2 d), i1 (i2).
# OK: b1 (b2 at +7 d +1 s), d1 (d2 outbound), e1 e2 (the other is at the same time, not in
# (t, t+7d]), h2, i2, f1 = 7.

# TZ: phone contacts answered after 10 s, placed around local midnights of Europe/Paris
# (UTC+1 in winter, UTC+2 in summer; clocks change 2026-03-29 02:00 -> 03:00 and
# 2026-10-25 03:00 -> 02:00) and around the ISO-week year ends.
TZ = [
    contact("m2", "phone", "2026-03-31T21:30:00Z", wait=10),  # Paris 03-31 23:30 CEST
    contact("m1", "phone", "2026-03-31T22:30:00Z", wait=10),  # Paris 04-01 00:30 CEST; UTC March
    contact("s0", "phone", "2026-03-28T22:59:59Z", wait=10),  # Paris 03-28 23:59:59 CET
    contact("s1", "phone", "2026-03-28T23:00:00Z", wait=10),  # Paris 03-29 00:00:00 CET
    contact("s2", "phone", "2026-03-29T01:30:00Z", wait=10),  # Paris 03-29 03:30 CEST (after the jump)
    contact("s3", "phone", "2026-03-29T21:59:59Z", wait=10),  # Paris 03-29 23:59:59 CEST
    contact("s4", "phone", "2026-03-29T22:00:00Z", wait=10),  # Paris 03-30 00:00 CEST
    contact("o0", "phone", "2026-10-24T21:59:59Z", wait=10),  # Paris 10-24 23:59:59 CEST
    contact("o1", "phone", "2026-10-24T22:00:00Z", wait=10),  # Paris 10-25 00:00 CEST
    contact("o2", "phone", "2026-10-25T00:30:00Z", wait=10),  # Paris 10-25 02:30 CEST (first pass)
    contact("o3", "phone", "2026-10-25T01:30:00Z", wait=10),  # Paris 10-25 02:30 CET (second pass)
    contact("o4", "phone", "2026-10-25T22:59:59Z", wait=10),  # Paris 10-25 23:59:59 CET
    contact("o5", "phone", "2026-10-25T23:00:00Z", wait=10),  # Paris 10-26 00:00 CET
    contact("w0", "phone", "2025-12-28T12:00:00Z", wait=10),  # Sunday: ISO 2025-W52 in both zones
    contact("wp", "phone", "2025-12-28T23:30:00Z", wait=10),  # UTC Sun 12-28 (2025-W52); Paris Mon 12-29 (2026-W01)
    contact("w1", "phone", "2025-12-29T12:00:00Z", wait=10),  # Monday: 2026-W01 starts 2025-12-29
    contact("y1", "phone", "2026-12-28T12:00:00Z", wait=10),  # Monday of 2026-W53
    contact("ny", "phone", "2026-12-31T23:30:00Z", wait=10),  # UTC 2026-12-31; Paris 2027-01-01 00:30 CET
    contact("y2", "phone", "2027-01-01T12:00:00Z", wait=10),  # Friday of 2026-W53
    contact("y3", "phone", "2027-01-04T12:00:00Z", wait=10),  # Monday: 2027-W01
]

# EXTRA: a column outside the canonical schema, kept at import and usable as a dimension.
EXTRA = [
    contact("k1", "phone", "2026-03-02T09:00:00Z", wait=10, campaign="spring"),
    contact("k2", "phone", "2026-03-02T09:10:00Z", end_after=30, outcome="abandoned", campaign="spring"),
    contact("k3", "chat", "2026-03-02T09:20:00Z", wait=20, campaign="autumn"),
    contact("k4", "phone", "2026-03-02T09:30:00Z", wait=5, campaign=None),
]

DATASETS: dict[str, list[dict[str, str | None]]] = {
    "basics": BASICS, "p90": P90, "ratio": RATIO, "fcr": FCR, "tz": TZ, "extra": EXTRA,
}


# --------------------------------------------------------------------------- loading


def write_csv(path: Path, rows: Sequence[Mapping[str, str | None]]) -> Path:
    """A canonical CSV of ``rows``: canonical columns first, extra columns after; None is empty."""
    header = [c for c in CANONICAL_ORDER if any(c in r for r in rows)]
    header += [c for r in rows for c in r if c not in header and c not in CANONICAL_ORDER]
    return write_table(path, list(dict.fromkeys(header)), rows)


def write_table(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> Path:
    """A CSV with ``header``; a missing or None cell is empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r.get(c) for c in header])
    return path


def import_rows(con: duckdb.DuckDBPyConnection, folder: Path, name: str, rows: Sequence[Mapping[str, str | None]]) -> None:
    """Import ``rows`` through the real CSV importer; every row must be accepted."""
    report = import_file(con, "contacts", write_csv(folder / f"{name}.csv", rows))
    assert report.rejected == 0, con.sql("SELECT line, reason FROM rejects").fetchall()
    assert report.accepted == len(rows)


class Warehouses:
    """Fresh warehouses under one folder, closed at teardown."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: list[duckdb.DuckDBPyConnection] = []

    def new(self, name: str) -> duckdb.DuckDBPyConnection:
        self.folder.mkdir(parents=True, exist_ok=True)
        con = open_warehouse(self.folder / f"{name}.duckdb")
        self.made.append(con)
        return con

    def load(self, dataset: str, name: str | None = None) -> duckdb.DuckDBPyConnection:
        """A fresh warehouse holding one golden data set, imported from CSV."""
        name = name or dataset
        con = self.new(name)
        import_rows(con, self.folder / "in", name, DATASETS[dataset])
        return con

    def close(self) -> None:
        for con in self.made:
            con.close()


@pytest.fixture
def warehouses(tmp_path: Path) -> Iterator[Warehouses]:
    w = Warehouses(tmp_path)
    try:
        yield w
    finally:
        w.close()


def run(engine: Engine, query: KpiQuery) -> pd.DataFrame:
    return compute(engine, query)


def run_duck(con: duckdb.DuckDBPyConnection, query: KpiQuery) -> pd.DataFrame:
    return compute(duckdb_engine(con), query)


# --------------------------------------------------------------------------- comparison


def is_na(v: Any) -> bool:
    if v is None or v is pd.NA:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def same_value(got: Any, want: Any, tol: float = 1e-9) -> bool:
    if want is None:
        return is_na(got)
    if is_na(got):
        return False
    if isinstance(want, bool) or isinstance(want, str):
        return bool(got == want)
    if isinstance(want, int) and not isinstance(want, bool):
        return float(got) == float(want)
    return math.isclose(float(got), float(want), rel_tol=tol, abs_tol=tol)


def assert_rows(df: pd.DataFrame, expected: Sequence[Mapping[str, Any]]) -> None:
    """``df`` has exactly the expected rows, in order; each listed column matches (NA = None)."""
    got = df.to_dict("records")
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}:\n{df.to_string()}"
    for i, (g, w) in enumerate(zip(got, expected)):
        for col, want in w.items():
            assert col in g, f"no column {col!r} in {list(df.columns)}"
            assert same_value(g[col], want), f"row {i} column {col}: got {g[col]!r}, expected {want!r}\n{df.to_string()}"


def assert_same_frames(a: pd.DataFrame, b: pd.DataFrame, tol: float = 1e-9) -> None:
    """Two results are identical: same columns, same rows in the same order, values within ``tol``."""
    assert list(a.columns) == list(b.columns)
    ra, rb = a.to_dict("records"), b.to_dict("records")
    assert len(ra) == len(rb), f"\n{a.to_string()}\n---\n{b.to_string()}"
    for i, (x, y) in enumerate(zip(ra, rb)):
        for col in a.columns:
            u, v = x[col], y[col]
            if is_na(u) or is_na(v):
                assert is_na(u) and is_na(v), f"row {i} {col}: {u!r} vs {v!r}"
            elif isinstance(u, str) or isinstance(v, str):
                assert u == v, f"row {i} {col}: {u!r} vs {v!r}"
            else:
                assert math.isclose(float(u), float(v), rel_tol=tol, abs_tol=tol), f"row {i} {col}: {u!r} vs {v!r}"


# --------------------------------------------------------------------------- golden cases


@dataclass(frozen=True)
class GoldenCase:
    id: str
    dataset: str
    query: KpiQuery
    expected: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def Q(kpis: Sequence[str], **kw: Any) -> KpiQuery:
    return KpiQuery(kpis=tuple(kpis), **kw)


CASES: list[GoldenCase] = []


def case(id: str, dataset: str, query: KpiQuery, *rows: dict[str, Any]) -> GoldenCase:
    c = GoldenCase(id, dataset, query, tuple(rows))
    CASES.append(c)
    return c


# ---- BASICS, every contact KPI by channel (rows sorted by channel)
case(
    "basics_by_channel", "basics", Q(CONTACT_KPIS, by=("channel",)),
    dict(channel="chat", contacts_offered=3, contacts_answered=2, contacts_abandoned=1, short_abandons=0,
         answer_rate=2 / 3,  # c1 c2 / c1 c2 c3
         abandon_rate=1 / 3,  # c3
         service_level=1 / 3,  # c1 (60 == T) / 3 offered
         asa=60.5,  # (60 + 61) / 2
         wait_p90=60.9,  # [60, 61]: h = 0.9 * 1 -> 60 + 0.9 * 1
         aht=215.0,  # (330 + 100) / 2
         communication_time=260.5,  # (360 + 161) / 2
         fcr=NA, transfer_rate=0.0, selfcare_rate=0.0, digital_rate=1.0, conversion_rate=0.0),
    dict(channel="email", contacts_offered=2, contacts_answered=2, contacts_abandoned=0, short_abandons=0,
         answer_rate=1.0, abandon_rate=0.0,
         service_level=0.5,  # e1 (86400 == T) / e1 e2
         asa=86400.5,  # (86400 + 86401) / 2
         wait_p90=86400.9,  # 86400 + 0.9 * 1
         aht=600.0,  # e1 only (e2 has no ended_at)
         communication_time=87000.0,  # e1: 86400 + 600
         fcr=NA, transfer_rate=0.0, selfcare_rate=0.0, digital_rate=1.0, conversion_rate=0.0),
    dict(channel="phone", contacts_offered=7, contacts_answered=4, contacts_abandoned=3, short_abandons=1,
         answer_rate=4 / 7,  # p1-p4 / p1-p5 p7 p8 (p6 short, p9 outbound, p10 deflected, p11 callback)
         abandon_rate=3 / 7,  # p5 (wait == S is not short), p7 (unknown wait), p8
         service_level=2 / 7,  # p1 (10), p2 (20 == T); abandons count against
         asa=20.25,  # (10 + 20 + 21 + 30) / 4; outbound p9 (wait 1) left out
         wait_p90=27.3,  # [10, 20, 21, 30]: h = 0.9 * 3 = 2.7 -> 21 + 0.7 * 9
         aht=380 / 3,  # (120 + 200 + 60) / 3; p4 has no ended_at
         communication_time=137.0,  # (110 + 220 + 81) / 3
         fcr=NA,  # no customer ids
         transfer_rate=0.25,  # p3 / 4 answered (p9 outbound transferred does not count)
         selfcare_rate=0.1,  # p10 deflected / 10 inbound
         digital_rate=0.0,
         conversion_rate=0.25),  # p4 / 4 (p9 outbound converted does not count)
    dict(channel="selfcare", contacts_offered=1, contacts_answered=0, contacts_abandoned=1, short_abandons=0,
         answer_rate=0.0,  # 0 answered / 1 offered: a true zero, not null
         abandon_rate=1.0,
         service_level=0.0,  # selfcare has no threshold: never met
         asa=NA, wait_p90=NA, aht=NA, communication_time=NA,  # nothing answered
         fcr=NA, transfer_rate=NA, conversion_rate=NA,  # 0 answered
         selfcare_rate=1.0,  # s1 deflected, s2 on channel selfcare / 2
         digital_rate=1.0),
    dict(channel="sms", contacts_offered=0, contacts_answered=0, contacts_abandoned=0, short_abandons=0,
         answer_rate=NA, abandon_rate=NA, service_level=NA,  # no offered contact
         asa=NA, wait_p90=NA, aht=NA, communication_time=NA, fcr=NA, transfer_rate=NA, conversion_rate=NA,
         selfcare_rate=1.0, digital_rate=1.0),  # m1 deflected / 1 inbound
    dict(channel="video", contacts_offered=0, contacts_answered=0, contacts_abandoned=0, short_abandons=0,
         answer_rate=NA, abandon_rate=NA, service_level=NA, asa=NA, wait_p90=NA, aht=NA,
         communication_time=NA, fcr=NA, transfer_rate=NA, conversion_rate=NA,
         selfcare_rate=NA, digital_rate=NA),  # no inbound contact at all (v1 is outbound)
)

# ---- BASICS, all channels together
case(
    "basics_total", "basics", Q(CONTACT_KPIS),
    dict(contacts_offered=13,  # phone 7 + chat 3 + email 2 + selfcare 1
         contacts_answered=8,  # 4 + 2 + 2
         contacts_abandoned=5,  # p5 p7 p8 c3 s2
         short_abandons=1,  # p6
         answer_rate=8 / 13, abandon_rate=5 / 13,
         service_level=4 / 13,  # p1 p2 c1 e1
         asa=173003 / 8,  # (81 + 121 + 172801) / 8 = 21625.375
         wait_p90=86400.3,  # [10,20,21,30,60,61,86400,86401]: h = 0.9 * 7 = 6.3 -> 86400 + 0.3
         aht=235.0,  # (120 + 200 + 60 + 330 + 100 + 600) / 6 = 1410 / 6
         communication_time=87932 / 6,  # (110 + 220 + 81 + 360 + 161 + 87000) / 6
         fcr=NA,
         transfer_rate=1 / 8, conversion_rate=1 / 8,
         selfcare_rate=4 / 18,  # p10 s1 s2 m1 / 18 inbound
         digital_rate=8 / 18),  # chat 3 + email 2 + selfcare 2 + sms 1
)

# ---- service-level abandon modes
case(
    "sl_ignored", "basics", Q(["service_level"], by=("channel",), params={"service_level_abandons": "ignored"}),
    dict(channel="chat", service_level=0.5),  # c1 / 2 answered
    dict(channel="email", service_level=0.5),  # e1 / 2 answered
    dict(channel="phone", service_level=0.5),  # p1 p2 / 4 answered
    dict(channel="selfcare", service_level=NA),  # base = answered = 0
    dict(channel="sms", service_level=NA),
    dict(channel="video", service_level=NA),
)
case(
    "sl_met_within_t", "basics", Q(["service_level"], by=("channel",), params={"service_level_abandons": "met_within_t"}),
    dict(channel="chat", service_level=1 / 3),  # c1; c3 abandoned after 120 > 60 / 3
    dict(channel="email", service_level=0.5),
    dict(channel="phone", service_level=3 / 7),  # p1 p2 + p5 (abandoned at 5 <= 20); p7 unknown, p8 40 > 20
    dict(channel="selfcare", service_level=0.0),  # s2 abandoned, no threshold on selfcare
    dict(channel="sms", service_level=NA),
    dict(channel="video", service_level=NA),
)
case(
    "sl_against_explicit", "basics", Q(["service_level"], params={"service_level_abandons": "against"}),
    dict(service_level=4 / 13),  # same as the default
)

# ---- thresholds overridden the way --param does it (answer_threshold_s.phone=30)
case(
    "param_phone_t30", "basics",
    Q(["service_level"], by=("channel",), params=parse_assignments(["answer_threshold_s.phone=30"])),
    dict(channel="chat", service_level=1 / 3),  # other channels keep their default T
    dict(channel="email", service_level=0.5),
    dict(channel="phone", service_level=4 / 7),  # p1 10, p2 20, p3 21, p4 30 (== new T) / 7
    dict(channel="selfcare", service_level=0.0),
    dict(channel="sms", service_level=NA),
    dict(channel="video", service_level=NA),
)
case(
    "param_short_6", "basics",
    Q(["contacts_offered", "short_abandons", "contacts_abandoned", "answer_rate", "abandon_rate", "service_level"],
      by=("channel",), params={"short_abandon_s": 6}),
    dict(channel="chat", contacts_offered=3, short_abandons=0, contacts_abandoned=1),
    dict(channel="email", contacts_offered=2, short_abandons=0, contacts_abandoned=0),
    # S = 6: p5 (5 s) and p6 (4.9 s) short; p7 (unknown) and p8 (40 s) remain
    dict(channel="phone", contacts_offered=6, short_abandons=2, contacts_abandoned=2,
         answer_rate=4 / 6, abandon_rate=2 / 6, service_level=2 / 6),
    dict(channel="selfcare", contacts_offered=1, short_abandons=0, contacts_abandoned=1),
    dict(channel="sms", contacts_offered=0),
    dict(channel="video", contacts_offered=0),
)

# ---- P90 with linear interpolation; null vs zero
case(
    "p90_by_channel", "p90", Q(["contacts_offered", "answer_rate", "asa", "wait_p90", "aht"], by=("channel",)),
    dict(channel="chat", contacts_offered=1, answer_rate=1.0, asa=7.0, wait_p90=7.0, aht=10.0),  # one wait: p90 = it
    # waits 10,20,30,40,50: h = 0.9 * 4 = 3.6 -> 40 + 0.6 * 10 = 46; asa 150 / 5
    dict(channel="phone", contacts_offered=5, answer_rate=1.0, asa=30.0, wait_p90=46.0, aht=10.0),
    dict(channel="social", contacts_offered=0, answer_rate=NA, asa=NA, wait_p90=NA, aht=NA),  # t1 deflected only
    dict(channel="video", contacts_offered=2, answer_rate=0.0, asa=NA, wait_p90=NA, aht=NA),  # only abandons
)
case(
    "p90_total", "p90", Q(["wait_p90", "asa"]),
    # waits 7,10,20,30,40,50: h = 0.9 * 5 = 4.5 -> 40 + 0.5 * 10 = 45; asa 157 / 6
    dict(wait_p90=45.0, asa=157 / 6),
)

# ---- a monthly rate is the ratio of monthly sums
case(
    "ratio_day", "ratio", Q(["contacts_offered", "answer_rate", "asa"], grain=Grain.DAY),
    dict(period="2026-03-02", contacts_offered=1, answer_rate=1.0, asa=10.0),  # x1
    dict(period="2026-03-03", contacts_offered=5, answer_rate=0.4, asa=50.0),  # x2 x3 / x2-x6; (40 + 60) / 2
)
case(
    "ratio_month", "ratio", Q(["contacts_offered", "answer_rate", "asa"], grain=Grain.MONTH),
    # 3 answered / 6 offered = 0.5 (the mean of daily rates would be 0.7); asa (10+40+60)/3 (not 30)
    dict(period="2026-03", contacts_offered=6, answer_rate=0.5, asa=110 / 3),
)

# ---- FCR
case(
    "fcr_total", "fcr", Q(["fcr", "contacts_answered"]),
    dict(fcr=7 / 11,  # see the FCR data set comment
         contacts_answered=15),  # a1 a2 b1 b2 c1 d1 e1 e2 n1 h1 h2 i1 i2 f1 g1 (d2 z1 outbound)
)
case(
    "fcr_by_channel", "fcr", Q(["fcr"], by=("channel",)),
    dict(channel="chat", fcr=1.0),  # base e2 h2 (b2 past the end): both OK
    dict(channel="email", fcr=1.0),  # base i2 (a2 past the end): OK
    dict(channel="phone", fcr=0.5),  # base a1 b1 c1 d1 e1 h1 i1 f1 = 8; OK b1 d1 e1 f1 = 4
)
case(
    "fcr_same_reason", "fcr", Q(["fcr"], params={"fcr_same_reason": True}),
    # same base of 11; only a repeat for the same reason breaks: i1 (billing -> billing).
    # h1 (billing -> delivery) is now OK; contacts without a reason are never matched.
    dict(fcr=10 / 11),
)
case(
    "fcr_window_1d", "fcr", Q(["fcr"], params={"fcr_window_days": 1}),
    # window (t, t + 1 d]: every answered inbound contact with a customer has t + 1 d <= end of
    # data: base a1 a2 b1 b2 c1 d1 e1 e2 h1 h2 i1 i2 f1 g1 = 14. Broken: c1 (c2 at exactly +1 d),
    # i1 (i2 at exactly +1 d). a1 is OK now (a2 at +7 d), h1 too (h2 at +2 d).
    dict(fcr=12 / 14),
)
case(
    "fcr_filtered_day", "fcr", Q(["fcr"], start=date(2026, 3, 2), end=date(2026, 3, 2)),
    # only contacts created on 2026-03-02 are judged, but repeats are looked up in all the data:
    # base a1 b1 c1 d1 e1 e2 h1 i1 = 8; OK b1 d1 e1 e2 = 4 (a1 still broken by a2 on 03-09)
    dict(fcr=0.5),
)
case(
    "fcr_by_day", "fcr", Q(["fcr"], grain=Grain.DAY),
    dict(period="2026-03-02", fcr=0.5),  # as above
    dict(period="2026-03-03", fcr=1.0),  # i2 (c2 unanswered, d2 outbound)
    dict(period="2026-03-04", fcr=1.0),  # h2
    dict(period="2026-03-05", fcr=1.0),  # f1 (g1 left out: window passes the end)
    dict(period="2026-03-09", fcr=NA),  # a2 b2: windows pass the end of data -> no base
    dict(period="2026-03-12", fcr=NA),  # z1 outbound
)

# ---- time zones, DST and grains (counts of offered contacts per period)
PARIS = "Europe/Paris"
OFF = ["contacts_offered"]
case(
    "tz_spring_paris_day", "tz", Q(OFF, grain=Grain.DAY, tz=PARIS, start=date(2026, 3, 28), end=date(2026, 3, 30)),
    dict(period="2026-03-28", contacts_offered=1),  # s0
    dict(period="2026-03-29", contacts_offered=3),  # s1 s2 s3: the 23-hour day 03-28T23:00Z .. 03-29T22:00Z
    dict(period="2026-03-30", contacts_offered=1),  # s4 (m2 is 03-31)
)
case(
    "tz_spring_utc_day", "tz", Q(OFF, grain=Grain.DAY, start=date(2026, 3, 28), end=date(2026, 3, 30)),
    dict(period="2026-03-28", contacts_offered=2),  # s0 s1
    dict(period="2026-03-29", contacts_offered=3),  # s2 s3 s4
)
case(
    "tz_autumn_paris_day", "tz", Q(OFF, grain=Grain.DAY, tz=PARIS, start=date(2026, 10, 24), end=date(2026, 10, 26)),
    dict(period="2026-10-24", contacts_offered=1),  # o0
    dict(period="2026-10-25", contacts_offered=4),  # o1 o2 o3 o4: the 25-hour day 10-24T22:00Z .. 10-25T23:00Z
    dict(period="2026-10-26", contacts_offered=1),  # o5
)
case(
    "tz_autumn_utc_day", "tz", Q(OFF, grain=Grain.DAY, start=date(2026, 10, 24), end=date(2026, 10, 26)),
    dict(period="2026-10-24", contacts_offered=2),  # o0 o1
    dict(period="2026-10-25", contacts_offered=4),  # o2 o3 o4 o5
)
case(
    "tz_month_paris", "tz", Q(OFF, grain=Grain.MONTH, tz=PARIS, start=date(2026, 3, 1), end=date(2026, 4, 30)),
    dict(period="2026-03", contacts_offered=6),  # s0-s4 m2
    dict(period="2026-04", contacts_offered=1),  # m1: 2026-03-31T22:30Z is April 1st in Paris
)
case(
    "tz_month_utc", "tz", Q(OFF, grain=Grain.MONTH, start=date(2026, 3, 1), end=date(2026, 4, 30)),
    dict(period="2026-03", contacts_offered=7),  # s0-s4 m2 m1
)
case(
    "tz_one_day_paris", "tz", Q(OFF, tz=PARIS, start=date(2026, 4, 1), end=date(2026, 4, 1)),
    dict(contacts_offered=1),  # m1 only (local dates, inclusive)
)
case(
    "tz_one_day_utc", "tz", Q(OFF, start=date(2026, 3, 31), end=date(2026, 3, 31)),
    dict(contacts_offered=2),  # m1 m2
)
case(
    "tz_week_2026_w01_paris", "tz", Q(OFF, grain=Grain.WEEK, tz=PARIS, start=date(2025, 12, 22), end=date(2026, 1, 4)),
    dict(period="2025-W52", contacts_offered=1),  # w0
    dict(period="2026-W01", contacts_offered=2),  # wp (Monday 00:30 in Paris) w1; 2026-W01 starts 2025-12-29
)
case(
    "tz_week_2026_w01_utc", "tz", Q(OFF, grain=Grain.WEEK, start=date(2025, 12, 22), end=date(2026, 1, 4)),
    dict(period="2025-W52", contacts_offered=2),  # w0 wp (Sunday 23:30 UTC)
    dict(period="2026-W01", contacts_offered=1),  # w1
)
case(
    "tz_week_2026_w53_paris", "tz", Q(OFF, grain=Grain.WEEK, tz=PARIS, start=date(2026, 12, 21), end=date(2027, 1, 10)),
    dict(period="2026-W53", contacts_offered=3),  # y1 ny y2: 2027-01-01 is in week 2026-W53
    dict(period="2027-W01", contacts_offered=1),  # y3
)
case(
    "tz_year_paris", "tz", Q(OFF, grain=Grain.YEAR, tz=PARIS),
    dict(period="2025", contacts_offered=3),  # w0 wp w1
    dict(period="2026", contacts_offered=14),  # m1 m2 s0-s4 o0-o5 y1 (ny is 2027 in Paris)
    dict(period="2027", contacts_offered=3),  # ny y2 y3
)
case(
    "tz_year_utc", "tz", Q(OFF, grain=Grain.YEAR),
    dict(period="2025", contacts_offered=3),
    dict(period="2026", contacts_offered=15),  # + ny (2026-12-31T23:30Z)
    dict(period="2027", contacts_offered=2),
)
case(
    "tz_quarter_paris", "tz", Q(OFF, grain=Grain.QUARTER, tz=PARIS),
    dict(period="2025-Q4", contacts_offered=3),  # w0 wp w1
    dict(period="2026-Q1", contacts_offered=6),  # s0-s4 m2
    dict(period="2026-Q2", contacts_offered=1),  # m1
    dict(period="2026-Q4", contacts_offered=7),  # o0-o5 y1
    dict(period="2027-Q1", contacts_offered=3),  # ny y2 y3
)
case(
    "tz_quarter_utc", "tz", Q(OFF, grain=Grain.QUARTER),
    dict(period="2025-Q4", contacts_offered=3),
    dict(period="2026-Q1", contacts_offered=7),  # s0-s4 m2 m1
    dict(period="2026-Q4", contacts_offered=8),  # o0-o5 y1 ny
    dict(period="2027-Q1", contacts_offered=2),  # y2 y3
)

# ---- an extra column kept at import is a dimension
case(
    "extra_campaign", "extra", Q(["contacts_offered", "answer_rate"], by=("campaign",)),
    dict(campaign="autumn", contacts_offered=1, answer_rate=1.0),  # k3
    dict(campaign="spring", contacts_offered=2, answer_rate=0.5),  # k1 answered, k2 abandoned
    dict(campaign=NA, contacts_offered=1, answer_rate=1.0),  # k4: empty cell, null group sorted last
)

CASES_BY_ID: dict[str, GoldenCase] = {c.id: c for c in CASES}
assert len(CASES_BY_ID) == len(CASES), "duplicate golden case id"


# --------------------------------------------------------------------------- Spark

# warnings of pyspark 4.0 with pandas 3 (Arrow conversion) and its py4j sockets, for the modules running Spark
SPARK_MARKS = [
    *(pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
