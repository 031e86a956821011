"""Distinct-customer rollups (``kpi.customer_rollups``): repeat contacts without the raw group-by.

``repeat_contact_rate`` counts distinct customers per period and group, so its rollups
sum per-contact flags read from ``contact_links`` (each inbound contact's predecessor and
successor for the same customer, overall / on the same channel / with the same agent).
These tests check the numbers by hand in Paris time (DST days, months that start at a
different instant than in UTC, ties), that the rollups answer only what they can answer
exactly, and that the links stay exact through incremental and overlapping imports and
through the migration that introduces them.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from kpi_golden import THIRD_PARTY_WARNINGS, Warehouses, contact, import_rows, is_na, parse_ts, warehouses  # noqa: F401
from test_rollups import assert_equal_frames, rolled, same

from cxkpi.kpi import Grain, KpiQuery, compute, customer_rollups
from cxkpi.kpi.catalogue import MEASURES
from cxkpi.kpi.rollup_meta import CUSTOMER_ROLLUPS, stored
from cxkpi.kpi.periods import label, period_start
from cxkpi.kpi.rollup_build import refresh_rollups
from cxkpi.kpi.sources import SOURCES
from cxkpi.warehouse import LATEST, MIGRATIONS, current_version, migrate, open_warehouse
from cxkpi.warehouse.derived import LINKS_SELECT
from cxkpi.warehouse.engines import duckdb_engine

# keep Hypothesis' caches out of the project folder, as test_properties.py does (examples are not stored: database=None)
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "cxkpi-tests-hypothesis")

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

PARIS = "Europe/Paris"
KPI = ("repeat_contact_rate",)
SOURCE = customer_rollups.SOURCE  # "contact_customers"
PARTITIONS: tuple[tuple[str, ...], ...] = ((), ("channel",), ("agent_id",))
ANSWERS = {SOURCE}  # what `same(..., uses=ANSWERS)` expects: the customer rollup answered
Key = tuple[Any, ...]
Counts = dict[Key, tuple[int, int]]


# --------------------------------------------------------------------------- helpers


def paris_warehouse(w: Warehouses, name: str) -> duckdb.DuckDBPyConnection:
    """A fresh warehouse reporting in Paris time: every import rebuilds the rollups there."""
    con = w.new(name)
    con.execute("INSERT OR REPLACE INTO warehouse_config VALUES ('reporting_tz', ?)", [PARIS])
    return con


def query(by: tuple[str, ...], grain: Grain, **kw: Any) -> KpiQuery:
    kw.setdefault("tz", PARIS)
    return KpiQuery(kpis=KPI, by=by, grain=grain, with_counts=True, **kw)


def counts(df: pd.DataFrame, by: Sequence[str]) -> Counts:
    """{(group..., period): (customers_in_contact, customers_repeating)}; checks on the way
    that each rate is repeating / in contact and lies in [0, 1]."""
    out: Counts = {}
    for row in df.to_dict("records"):
        key = (*(None if is_na(row[d]) else row[d] for d in by), row.get("period", "all"))
        n, r = int(row["customers_in_contact"]), int(row["customers_repeating"])
        assert 0 <= r <= n and n >= 1, row
        rate = row["repeat_contact_rate"]
        assert 0.0 <= rate <= 1.0 and rate == pytest.approx(r / n, abs=1e-12), row
        assert key not in out, f"group {key} twice"
        out[key] = (n, r)
    return out


def links(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT * FROM contact_links ORDER BY contact_id").fetchall()


def recomputed_links(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """The links of every contact, recomputed whole from the contacts table."""
    return con.execute(f"SELECT * FROM ({LINKS_SELECT.format(source='contacts', customers='')}) ORDER BY contact_id").fetchall()


def held(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The rollups the warehouse's metadata says it holds."""
    meta = stored(duckdb_engine(con))
    assert meta is not None
    rollups: dict[str, Any] = meta["rollups"]
    return rollups


def link_of(con: duckdb.DuckDBPyConnection, contact_id: str) -> dict[str, Any]:
    cur = con.execute("SELECT * FROM contact_links WHERE contact_id = ?", [contact_id])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1, (contact_id, rows)
    return dict(zip(names, rows[0]))


# --------------------------------------------------------------------------- 1. golden, by hand

# Paris is UTC+1 until 2026-03-29T01:00Z, UTC+2 after. ISO weeks: W11 = 03-09..03-15,
# W13 = 03-23..03-29 (Sunday the 29th is the 23-hour spring-forward day), W14 = 03-30..04-05,
# W17 = 04-20..04-26.
GOLDEN = [
    # A: two contacts the same local day on two channels, same agent x
    contact("a1", "phone", "2026-03-10T09:00:00Z", customer="A", agent_id="x"),  # 03-10 10:00 local
    contact("a2", "chat", "2026-03-10T15:00:00Z", customer="A", agent_id="x"),  # 03-10 16:00 local
    # B: two contacts at the very same instant (tie), same channel and agent
    contact("b1", "phone", "2026-03-11T10:00:00Z", customer="B", agent_id="y"),
    contact("b2", "phone", "2026-03-11T10:00:00Z", customer="B", agent_id="y"),
    # D: one inbound contact; its outbound one and a contact without customer are ignored
    contact("d1", "phone", "2026-03-12T10:00:00Z", customer="D", agent_id="x"),
    contact("d2", "phone", "2026-03-12T11:00:00Z", customer="D", agent_id="x", direction="outbound"),
    contact("n1", "phone", "2026-03-12T12:00:00Z", agent_id="x"),
    # C: 21:30Z and 22:30Z are one UTC day (and week), but 23:30 Sunday 03-29 and 00:30
    # Monday 03-30 in Paris (CEST); 03-31T22:30Z is March in UTC but 04-01 00:30 in Paris
    contact("c1", "phone", "2026-03-29T21:30:00Z", customer="C", agent_id="x"),
    contact("c2", "phone", "2026-03-29T22:30:00Z", customer="C", agent_id="y"),
    contact("c3", "phone", "2026-03-31T22:30:00Z", customer="C", agent_id=None),
    # E: twice in April on chat, in different weeks, null agent then y
    contact("e1", "chat", "2026-04-02T08:00:00Z", customer="E", agent_id=None),
    contact("e2", "chat", "2026-04-20T08:00:00Z", customer="E", agent_id="y"),
]
# Inbound contacts with a customer, by Paris day: 03-10 a1 a2 (A) | 03-11 b1 b2 (B) | 03-12 d1
# (D) | 03-29 c1 | 03-30 c2 | 04-01 c3 (C) | 04-02 e1 | 04-20 e2 (E). Values: (in, repeating, rate).
EXPECTED: dict[tuple[tuple[str, ...], Grain], dict[Key, tuple[int, int, float]]] = {
    # each day holds one customer; only A (a1 a2) and B (tie b1 b2) come twice in a day
    ((), Grain.DAY): {
        ("2026-03-10",): (1, 1, 1.0), ("2026-03-11",): (1, 1, 1.0), ("2026-03-12",): (1, 0, 0.0),
        ("2026-03-29",): (1, 0, 0.0), ("2026-03-30",): (1, 0, 0.0), ("2026-04-01",): (1, 0, 0.0),
        ("2026-04-02",): (1, 0, 0.0), ("2026-04-20",): (1, 0, 0.0),
    },
    # A's two contacts are on two channels: once on each, repeating on neither
    (("channel",), Grain.DAY): {
        ("chat", "2026-03-10"): (1, 0, 0.0), ("phone", "2026-03-10"): (1, 0, 0.0),
        ("phone", "2026-03-11"): (1, 1, 1.0), ("phone", "2026-03-12"): (1, 0, 0.0),
        ("phone", "2026-03-29"): (1, 0, 0.0), ("phone", "2026-03-30"): (1, 0, 0.0),
        ("phone", "2026-04-01"): (1, 0, 0.0), ("chat", "2026-04-02"): (1, 0, 0.0), ("chat", "2026-04-20"): (1, 0, 0.0),
    },
    # A twice with x, B twice (tie) with y; C with x, y, null on three days; E null then y
    (("agent_id",), Grain.DAY): {
        ("x", "2026-03-10"): (1, 1, 1.0), ("y", "2026-03-11"): (1, 1, 1.0), ("x", "2026-03-12"): (1, 0, 0.0),
        ("x", "2026-03-29"): (1, 0, 0.0), ("y", "2026-03-30"): (1, 0, 0.0), (None, "2026-04-01"): (1, 0, 0.0),
        (None, "2026-04-02"): (1, 0, 0.0), ("y", "2026-04-20"): (1, 0, 0.0),
    },
    # W11: A (2), B (2), D (1) -> 3 in, 2 repeating; W13: c1 only; W14: C (c2 c3) and E (e1)
    # -> 2 in, 1 repeating; W17: e2
    ((), Grain.WEEK): {
        ("2026-W11",): (3, 2, 2 / 3), ("2026-W13",): (1, 0, 0.0), ("2026-W14",): (2, 1, 0.5), ("2026-W17",): (1, 0, 0.0),
    },
    # W11 phone: A (a1), B (b1 b2), D (d1) -> 3, 1; chat: A (a2); W14 phone: C (c2 c3) -> 1, 1
    (("channel",), Grain.WEEK): {
        ("chat", "2026-W11"): (1, 0, 0.0), ("phone", "2026-W11"): (3, 1, 1 / 3), ("phone", "2026-W13"): (1, 0, 0.0),
        ("chat", "2026-W14"): (1, 0, 0.0), ("phone", "2026-W14"): (1, 1, 1.0), ("chat", "2026-W17"): (1, 0, 0.0),
    },
    # W11 x: A (a1 a2), D (d1) -> 2, 1; y: B -> 1, 1; W13 x: c1; W14 y: c2; null: C (c3), E (e1) -> 2, 0
    (("agent_id",), Grain.WEEK): {
        ("x", "2026-W11"): (2, 1, 0.5), ("y", "2026-W11"): (1, 1, 1.0), ("x", "2026-W13"): (1, 0, 0.0),
        ("y", "2026-W14"): (1, 0, 0.0), (None, "2026-W14"): (2, 0, 0.0), ("y", "2026-W17"): (1, 0, 0.0),
    },
    # March: A, B, C (c1 c2) repeat, D does not -> 4, 3; April: C (c3 only), E (e1 e2) -> 2, 1
    # (in UTC c3 would be March: C still repeating there, and April only E: 1, 1)
    ((), Grain.MONTH): {("2026-03",): (4, 3, 0.75), ("2026-04",): (2, 1, 0.5)},
    # March phone: A (a1), B (tie), D, C (c1 c2) -> 4, 2; chat: A (a2); April phone: c3; chat: E twice
    (("channel",), Grain.MONTH): {
        ("chat", "2026-03"): (1, 0, 0.0), ("phone", "2026-03"): (4, 2, 0.5),
        ("chat", "2026-04"): (1, 1, 1.0), ("phone", "2026-04"): (1, 0, 0.0),
    },
    # March x: A (a1 a2), D, C (c1) -> 3, 1; y: B (tie), C (c2) -> 2, 1; April null: C (c3), E (e1); y: e2
    (("agent_id",), Grain.MONTH): {
        ("x", "2026-03"): (3, 1, 1 / 3), ("y", "2026-03"): (2, 1, 0.5),
        (None, "2026-04"): (2, 0, 0.0), ("y", "2026-04"): (1, 0, 0.0),
    },
    # A, B, C, E repeat, D does not
    ((), Grain.ALL): {("all",): (5, 4, 0.8)},
    # chat: A (a2), E (e1 e2) -> 2, 1; phone: A (a1), B, C (c1 c2 c3), D -> 4, 2
    (("channel",), Grain.ALL): {("chat", "all"): (2, 1, 0.5), ("phone", "all"): (4, 2, 0.5)},
    # x: A (a1 a2), D, C (c1) -> 3, 1; y: B, C (c2), E (e2) -> 3, 1; null: C (c3), E (e1) -> 2, 0
    (("agent_id",), Grain.ALL): {("x", "all"): (3, 1, 1 / 3), ("y", "all"): (3, 1, 1 / 3), (None, "all"): (2, 0, 0.0)},
}


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """GOLDEN imported once by the real importer (the tests only read it)."""
    w = Warehouses(tmp_path_factory.mktemp("customer_rollups"))
    con = paris_warehouse(w, "golden")
    import_rows(con, w.folder / "in", "golden", GOLDEN)
    yield con
    w.close()


def assert_hand(df: pd.DataFrame, by: Sequence[str], want: Mapping[Key, tuple[int, int, float]]) -> None:
    got = counts(df, by)
    assert got == {k: (n, r) for k, (n, r, _) in want.items()}
    for row in df.to_dict("records"):
        key = (*(None if is_na(row[d]) else row[d] for d in by), row.get("period", "all"))
        assert row["repeat_contact_rate"] == pytest.approx(want[key][2], abs=1e-12), key


@pytest.mark.parametrize(("by", "grain"), list(EXPECTED), ids=str)
def test_golden_counts_by_hand(golden: duckdb.DuckDBPyConnection, by: tuple[str, ...], grain: Grain) -> None:
    """The rollup answers, with the hand-worked counts, and the raw rows agree."""
    q = query(by, grain)
    assert customer_rollups.expression(
        duckdb_engine(golden), SOURCES[SOURCE], [MEASURES["customers_in_contact"], MEASURES["customers_repeating"]],
        q, held(golden),
    ) is not None
    df = same(golden, q, uses=ANSWERS)
    assert_hand(df, by, EXPECTED[by, grain])
    assert_hand(compute(duckdb_engine(golden), replace(q, use_rollups=False)), by, EXPECTED[by, grain])


def test_golden_links_and_other_grains(golden: duckdb.DuckDBPyConnection) -> None:
    """Ties have a predecessor, links stay within their partition; quarter and year agree too."""
    assert links(golden) == recomputed_links(golden)
    assert [r[0] for r in links(golden)] == ["a1", "a2", "b1", "b2", "c1", "c2", "c3", "d1", "e1", "e2"]
    b1, b2 = link_of(golden, "b1"), link_of(golden, "b2")
    assert b1["prev_contact_at"] is None and b1["next_contact_at"] == parse_ts("2026-03-11T10:00:00Z")
    assert b2["prev_contact_at"] == parse_ts("2026-03-11T10:00:00Z") and b2["next_contact_at"] is None
    a2 = link_of(golden, "a2")  # A's second contact overall, first on chat
    assert a2["prev_contact_at"] == parse_ts("2026-03-10T09:00:00Z") and a2["prev_channel_contact_at"] is None
    assert a2["prev_agent_contact_at"] == parse_ts("2026-03-10T09:00:00Z")
    c3 = link_of(golden, "c3")  # null agent: no predecessor with the same (null) agent
    assert c3["prev_channel_contact_at"] == parse_ts("2026-03-29T22:30:00Z") and c3["prev_agent_contact_at"] is None
    assert link_of(golden, "d1")["next_contact_at"] is None  # d2 is outbound
    for by in PARTITIONS:
        for grain in (Grain.QUARTER, Grain.YEAR):
            same(golden, query(by, grain), uses=ANSWERS)
    # Q1 as March (A, B, C, D), Q2 as April (C, E); the year as all time
    assert counts(same(golden, query((), Grain.QUARTER), uses=ANSWERS), ()) == {("2026-Q1",): (4, 3), ("2026-Q2",): (2, 1)}
    assert counts(same(golden, query((), Grain.YEAR), uses=ANSWERS), ()) == {("2026",): (5, 4)}


# --------------------------------------------------------------------------- 2. what the rollups answer


@pytest.mark.parametrize(
    ("q", "answers"),
    [
        (query(("channel",), Grain.MONTH, start=date(2026, 3, 15)), False),  # a month cut in two
        (query((), Grain.WEEK, start=date(2026, 3, 10), end=date(2026, 3, 29)), False),  # starts on a Tuesday
        (query((), Grain.ALL, start=date(2026, 3, 11), end=date(2026, 4, 1)), False),  # inside the data
        (query((), Grain.ALL, end=date(2026, 4, 19)), False),  # ends before e2
        (query(("team",), Grain.MONTH), False),
        (query(("channel", "agent_id"), Grain.MONTH), False),
        (query((), Grain.MONTH, filters={"channel": ("phone",)}), False),
        (query(("agent_id",), Grain.MONTH, filters={"channel": ("phone",)}), False),
        (query(("channel",), Grain.MONTH, scope=(("team", ("t1",)),)), False),  # scope outside the dims
        (query(("channel",), Grain.MONTH, tz="UTC"), False),  # rollups built in Paris
        (query(("channel",), Grain.MONTH, tz="America/New_York"), False),
        (query(("channel",), Grain.MONTH, filters={"channel": ("phone",)}), True),
        (query(("agent_id",), Grain.WEEK, filters={"agent_id": ("", "y")}), True),  # "" is the null agent
        (query(("channel",), Grain.MONTH, scope=(("channel", ("chat",)),)), True),
        (query((), Grain.MONTH, start=date(2026, 3, 1), end=date(2026, 4, 30)), True),  # whole months
        (query(("channel",), Grain.WEEK, start=date(2026, 3, 23), end=date(2026, 4, 5)), True),  # whole weeks
        (query((), Grain.ALL, start=date(2026, 3, 1), end=date(2026, 4, 30)), True),  # covers every contact
        (query(("agent_id",), Grain.DAY, start=date(2026, 3, 29), end=date(2026, 3, 30)), True),
    ],
    ids=lambda v: str(v) if isinstance(v, bool) else f"{v.by}-{v.grain}-{v.start}-{v.end}-{v.tz}-{v.filters}-{v.scope}",
)
def test_the_rollup_answers_only_exactly(golden: duckdb.DuckDBPyConnection, q: KpiQuery, answers: bool) -> None:
    """A cut period, other dims or filters, another zone: the raw rows, with the same numbers."""
    same(golden, q, uses=ANSWERS if answers else False)


def test_fallbacks_by_hand(golden: duckdb.DuckDBPyConnection) -> None:
    """The numbers of the fallbacks differ from the whole-period ones: a rollup answering
    them would be wrong, not merely slower."""
    # from 03-15: March holds only c1 c2 (C repeats); April C (c3), E (e1 e2)
    df = same(golden, query((), Grain.MONTH, start=date(2026, 3, 15)), uses=False)
    assert counts(df, ()) == {("2026-03",): (1, 1), ("2026-04",): (2, 1)}
    # 03-11..04-01: B (tie), D, C (c1 c2 c3) -> 3 in, B and C repeat
    df = same(golden, query((), Grain.ALL, start=date(2026, 3, 11), end=date(2026, 4, 1)), uses=False)
    assert counts(df, ()) == {("all",): (3, 2)}
    # UTC: c3 (03-31T22:30Z) is March: March A, B, C, D -> 4, 3; April E -> 1, 1
    df = same(golden, query((), Grain.MONTH, tz="UTC"), uses=False)
    assert counts(df, ()) == {("2026-03",): (4, 3), ("2026-04",): (1, 1)}
    # UTC days: c1 and c2 fall on 03-29, so C repeats that day
    df = same(golden, query((), Grain.DAY, tz="UTC", start=date(2026, 3, 29), end=date(2026, 3, 29)), uses=False)
    assert counts(df, ()) == {("2026-03-29",): (1, 1)}
    # phone only, overall: March A (a1), B, D, C (c1 c2) -> 4, 2; April C (c3) -> 1, 0
    df = same(golden, query((), Grain.MONTH, filters={"channel": ("phone",)}), uses=False)
    assert counts(df, ()) == {("2026-03",): (4, 2), ("2026-04",): (1, 0)}
    # the same by channel answers from the rollup
    df = same(golden, query(("channel",), Grain.MONTH, filters={"channel": ("phone",)}), uses=ANSWERS)
    assert counts(df, ("channel",)) == {("phone", "2026-03"): (4, 2), ("phone", "2026-04"): (1, 0)}
    # by channel and agent: A on phone and on chat with x, each once
    df = same(golden, query(("channel", "agent_id"), Grain.ALL), uses=False)
    assert counts(df, ("channel", "agent_id"))[("phone", "x", "all")] == (3, 0)  # A (a1), D, C (c1)


# --------------------------------------------------------------------------- 3. incremental imports

BATCH_A = [
    contact("k1", "phone", "2026-03-10T09:00:00Z", customer="K", agent_id="x", direction="inbound"),
    contact("k2", "chat", "2026-03-20T09:00:00Z", customer="K", agent_id="y", direction="inbound"),
    contact("l1", "phone", "2026-03-15T09:00:00Z", customer="L", agent_id="x", direction="inbound"),
    contact("l2", "phone", "2026-03-25T09:00:00Z", customer="L", agent_id=None, direction="inbound"),
    contact("m1", "email", "2026-03-12T09:00:00Z", customer="M", agent_id="y", direction="inbound"),
    contact("m2", "email", "2026-03-13T09:00:00Z", customer="M", agent_id="y", direction="inbound"),
    contact("p1", "phone", "2026-03-14T09:00:00Z", customer="P", agent_id="x", direction="inbound"),
    contact("p2", "phone", "2026-03-18T09:00:00Z", customer="P", agent_id="x", direction="inbound"),
    contact("q1", "chat", "2026-03-16T09:00:00Z", customer="Q", agent_id="x", direction="inbound"),
    contact("q2", "chat", "2026-03-31T22:30:00Z", customer="Q", agent_id="x", direction="inbound"),
    contact("r1", "chat", "2026-03-21T09:00:00Z", customer="R", agent_id="y", direction="inbound"),
    contact("r2", "chat", "2026-03-22T09:00:00Z", customer="R", agent_id="y", direction="inbound"),
]
# P, M and R appear in batch B only through rows that leave them: the importer must relink
# the former customer of a changed row
BATCH_B = [
    contact("k0", "phone", "2026-03-01T09:00:00Z", customer="K", agent_id="x", direction="inbound"),  # before k1
    contact("k3", "chat", "2026-04-05T09:00:00Z", customer="K", agent_id="y", direction="inbound"),  # after k2
    contact("k4", "chat", "2026-03-20T09:00:00Z", customer="K", agent_id="y", direction="inbound"),  # tie with k2
    contact("l2", "chat", "2026-03-25T09:00:00Z", customer="L", agent_id=None, direction="inbound"),  # phone -> chat
    contact("p2", "phone", "2026-03-18T09:00:00Z", customer="Q", agent_id="x", direction="inbound"),  # P -> Q
    contact("m2", "email", "2026-03-13T09:00:00Z", customer="M", agent_id="y", direction="outbound"),  # now outbound
    contact("r2", "chat", "2026-03-22T09:00:00Z", customer=None, agent_id="y", direction="inbound"),  # loses R
    contact("q1", "chat", "2026-03-16T09:00:00Z", customer="Q", agent_id="x", direction="inbound"),  # unchanged
]


def test_incremental_and_overlapping_imports_keep_links_exact(warehouses: Warehouses) -> None:
    """Each import relinks the customers it touches, the former ones of changed rows too."""
    con = paris_warehouse(warehouses, "incremental")
    import_rows(con, warehouses.folder / "in", "a", BATCH_A)
    assert links(con) == recomputed_links(con)
    # before B: p1, m1 and r1 each have a successor
    assert all(link_of(con, c)["next_contact_at"] is not None for c in ("p1", "m1", "r1"))
    import_rows(con, warehouses.folder / "in", "b", BATCH_B)
    assert links(con) == recomputed_links(con)
    # after B, by hand
    assert link_of(con, "p1")["next_contact_at"] is None  # p2 moved to Q
    assert link_of(con, "m1")["next_contact_at"] is None  # m2 is outbound
    assert link_of(con, "r1")["next_contact_at"] is None  # r2 lost its customer
    assert con.execute("SELECT count(*) FROM contact_links WHERE contact_id IN ('m2', 'r2')").fetchall() == [(0,)]
    p2 = link_of(con, "p2")  # Q: q1 03-16, p2 03-18, q2 03-31
    assert (p2["customer_id"], p2["prev_contact_at"], p2["next_contact_at"]) == (
        "Q", parse_ts("2026-03-16T09:00:00Z"), parse_ts("2026-03-31T22:30:00Z"))
    assert p2["prev_channel_contact_at"] is None and p2["next_channel_contact_at"] is None  # Q's others are chat
    k1, k2, k4 = link_of(con, "k1"), link_of(con, "k2"), link_of(con, "k4")
    assert k1["prev_contact_at"] == parse_ts("2026-03-01T09:00:00Z")
    tie = parse_ts("2026-03-20T09:00:00Z")
    assert k2["next_contact_at"] == tie and k4["prev_contact_at"] == tie
    assert k4["next_contact_at"] == parse_ts("2026-04-05T09:00:00Z")
    l2 = link_of(con, "l2")
    assert l2["channel"] == "chat" and l2["prev_channel_contact_at"] is None
    assert l2["prev_contact_at"] == parse_ts("2026-03-15T09:00:00Z")
    # March, Paris: K (k0 k1 k2 k4), L (l1 l2), Q (q1 p2), M (m1), P (p1), R (r1) -> 6 in, 3
    # repeating; April: K (k3), Q (q2: 04-01 00:30 local) -> 2, 0
    df = same(con, query((), Grain.MONTH), uses=ANSWERS)
    assert counts(df, ()) == {("2026-03",): (6, 3), ("2026-04",): (2, 0)}
    for by in PARTITIONS:
        for grain in (Grain.DAY, Grain.WEEK, Grain.MONTH, Grain.ALL):
            same(con, query(by, grain), uses=ANSWERS)


# --------------------------------------------------------------------------- 4. property: random batches

# instants around the Paris DST changes, month, quarter and year ends: many ties
INSTANTS = tuple(
    parse_ts(t)
    for t in (
        "2026-03-28T22:30:00Z",  # Sat 23:30 CET
        "2026-03-28T23:30:00Z",  # Sun 03-29 00:30 CET
        "2026-03-29T00:59:00Z",  # 01:59 CET, just before the jump
        "2026-03-29T01:00:00Z",  # 03:00 CEST
        "2026-03-29T21:59:00Z",  # Sun 23:59 CEST
        "2026-03-29T22:00:00Z",  # Mon 03-30 00:00: next day, week
        "2026-03-31T21:59:00Z",  # 03-31 23:59
        "2026-03-31T22:00:00Z",  # 04-01 00:00: next month, quarter
        "2026-10-24T22:30:00Z",  # Sun 10-25 00:30 CEST
        "2026-10-25T00:30:00Z",  # 02:30 CEST
        "2026-10-25T01:30:00Z",  # 02:30 CET (the hour again)
        "2026-10-25T22:59:00Z",  # Sun 23:59 CET
        "2026-10-25T23:00:00Z",  # Mon 10-26 00:00
        "2026-10-31T23:00:00Z",  # 11-01 00:00
        "2026-12-31T22:59:00Z",  # 12-31 23:59
        "2026-12-31T23:00:00Z",  # 2027-01-01 00:00 (ISO week 2026-W53)
    )
)
ROW = st.fixed_dictionaries(
    {
        "customer": st.sampled_from([None, "K1", "K2", "K3"]),
        "channel": st.sampled_from(["phone", "chat", "email"]),
        "agent_id": st.sampled_from([None, "x", "y"]),
        "at": st.sampled_from(INSTANTS),
        "direction": st.sampled_from(["inbound", "inbound", "outbound"]),
    }
)
BATCH = st.dictionaries(st.sampled_from([f"c{i:02d}" for i in range(12)]), ROW, min_size=1, max_size=10)


def as_contacts(batch: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str | None]]:
    return [
        contact(cid, r["channel"], r["at"].isoformat(), customer=r["customer"], direction=r["direction"],
                agent_id=r["agent_id"])
        for cid, r in sorted(batch.items())
    ]


def expected_counts(rows: Mapping[str, Mapping[str, Any]], by: tuple[str, ...], grain: Grain) -> Counts:
    """Distinct customers per group and Paris period, straight from the rows."""
    zone = ZoneInfo(PARIS)
    seen: Counter[tuple[Key, str]] = Counter()
    for r in rows.values():
        if r["direction"] != "inbound" or r["customer"] is None:
            continue
        day = r["at"].astimezone(zone).date()
        period = "all" if grain is Grain.ALL else label(period_start(day, grain), grain)
        seen[((*(r[d] for d in by), period), r["customer"])] += 1
    out: dict[Key, list[int]] = {}
    for (key, _), n in seen.items():
        c = out.setdefault(key, [0, 0])
        c[0] += 1
        c[1] += n >= 2
    return {k: (n, r) for k, (n, r) in out.items()}


@given(first=BATCH, second=BATCH)
@settings(max_examples=8, deadline=None, database=None)  # each: two imports, then 3 partitions x 6 grains, rollups vs raw
def test_random_imports_rollups_equal_raw(first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]]) -> None:
    """Whatever two overlapping batches bring, rollups, raw rows and a count by hand agree."""
    with tempfile.TemporaryDirectory() as folder:
        w = Warehouses(Path(folder))
        try:
            con = paris_warehouse(w, "prop")
            import_rows(con, w.folder, "first", as_contacts(first))
            import_rows(con, w.folder, "second", as_contacts(second))
            final = {**first, **second}
            stored_rows = con.execute(
                "SELECT contact_id, customer_id, channel, agent_id, created_at, direction FROM contacts ORDER BY 1"
            ).fetchall()
            assert stored_rows == [
                (cid, r["customer"], r["channel"], r["agent_id"], r["at"], r["direction"])
                for cid, r in sorted(final.items())
            ]
            assert links(con) == recomputed_links(con)
            for by in PARTITIONS:
                for grain in Grain:
                    df = same(con, query(by, grain), uses=ANSWERS)
                    assert counts(df, by) == expected_counts(final, by, grain), (by, grain)
        finally:
            w.close()


# --------------------------------------------------------------------------- 5. migration


def test_migration_7_links_the_contacts_of_an_older_warehouse(tmp_path: Path) -> None:
    """A version-6 warehouse with contacts opens with exact links; once the rollups are
    built, they answer and agree with the raw rows."""
    db = tmp_path / "v6.duckdb"
    con = duckdb.connect(str(db))
    try:
        assert migrate(con, MIGRATIONS[:6]) == 6
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert "contacts" in tables and "contact_links" not in tables
        con.execute(
            """INSERT INTO contacts (contact_id, channel, created_at, direction, customer_id, agent_id, outcome, _import_id)
               VALUES ('u1', 'phone', TIMESTAMPTZ '2026-03-29 21:30:00+00', 'inbound', 'U', 'x', 'abandoned', 1),
                      ('u2', 'chat',  TIMESTAMPTZ '2026-03-29 22:30:00+00', 'inbound', 'U', 'x', 'abandoned', 1),
                      ('u3', 'phone', TIMESTAMPTZ '2026-03-29 22:30:00+00', 'inbound', 'U', NULL, 'abandoned', 1),
                      ('u4', 'phone', TIMESTAMPTZ '2026-04-02 08:00:00+00', 'outbound', 'U', 'x', 'abandoned', 1),
                      ('v1', 'phone', TIMESTAMPTZ '2026-03-31 22:30:00+00', 'inbound', 'V', 'y', 'abandoned', 1),
                      ('v2', 'phone', TIMESTAMPTZ '2026-04-01 08:00:00+00', 'inbound', 'V', 'y', 'abandoned', 1),
                      ('n1', 'phone', TIMESTAMPTZ '2026-04-01 09:00:00+00', 'inbound', NULL, 'y', 'abandoned', 1)"""
        )
    finally:
        con.close()
    con = open_warehouse(db)
    try:
        assert current_version(con) == LATEST >= 7
        assert links(con) == recomputed_links(con)
        assert [r[0] for r in links(con)] == ["u1", "u2", "u3", "v1", "v2"]  # u4 outbound, n1 no customer
        u2, u3 = link_of(con, "u2"), link_of(con, "u3")  # u2 and u3 tie: u3 comes after u2 (contact_id)
        assert u2["prev_contact_at"] == parse_ts("2026-03-29T21:30:00Z")
        assert u2["next_contact_at"] == parse_ts("2026-03-29T22:30:00Z")
        assert u3["prev_contact_at"] == parse_ts("2026-03-29T22:30:00Z") and u3["next_contact_at"] is None
        assert u3["prev_channel_contact_at"] == parse_ts("2026-03-29T21:30:00Z") and u3["prev_agent_contact_at"] is None
        # no rollups yet: the raw rows answer
        q = query((), Grain.DAY)
        same(con, q, uses=False)
        assert stored(duckdb_engine(con)) is None
        refresh_rollups(con, PARIS)
        assert {r.name for r in CUSTOMER_ROLLUPS} <= set(held(con))
        # Paris days: 03-29 u1 | 03-30 u2 u3 (tie) | 04-01 v1 v2 -> U once then repeating; V repeating
        assert counts(same(con, q, uses=ANSWERS), ()) == {
            ("2026-03-29",): (1, 0), ("2026-03-30",): (1, 1), ("2026-04-01",): (1, 1),
        }
        for by in PARTITIONS:
            for grain in (Grain.WEEK, Grain.MONTH, Grain.ALL):
                same(con, query(by, grain), uses=ANSWERS)
    finally:
        con.close()


def test_rolled_reports_the_customer_source(golden: duckdb.DuckDBPyConnection) -> None:
    """``rolled`` (from test_rollups) sees the customer rollup: the checks above rely on it."""
    q = query(("channel",), Grain.MONTH)
    assert rolled(golden, q) == {SOURCE}
    assert rolled(golden, replace(q, tz="UTC")) == set()
    assert_equal_frames(compute(duckdb_engine(golden), q), compute(duckdb_engine(golden), replace(q, use_rollups=False)))
