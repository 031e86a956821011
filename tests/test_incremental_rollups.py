"""Incremental refresh: after any sequence of imports, the rollups, links and next-contact
columns an import refreshes in proportion to its batch equal a full rebuild.

Batches draw ids from small pools so that later batches change and move earlier rows
(a contact to another day, customer, case or channel; a case closed, reopened or moved; a
survey to another contact; an agent state lengthened), over a spring DST change and a month end in Paris, with FCR
windows censored at the latest contact. After each import, a full rebuild runs in a
transaction that is rolled back, so the next import refreshes the incremental state.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxkpi.kpi.rollup_build import refresh_rollups
from cxkpi.kpi.rollup_meta import CUSTOMER_ROLLUPS, ROLLUPS
from cxkpi.service.imports import import_arrow
from cxkpi.warehouse import open_warehouse, rollup_store
from cxkpi.warehouse.derived import refresh_case_contacts, refresh_contact_links, refresh_next_inbound
from kpi_golden import THIRD_PARTY_WARNINGS

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

PARIS = "Europe/Paris"
T0 = datetime(2026, 3, 27, 20, 0, tzinfo=timezone.utc)  # Paris moves to summer time on the 29th
HOURS = 24 * 6  # up to 2026-04-02: a month end too

stamp = st.integers(0, HOURS * 4).map(lambda q: T0 + timedelta(minutes=15 * q))


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


@st.composite
def contact_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for i in draw(st.lists(st.integers(0, 14), min_size=1, max_size=6, unique=True)):
        created = draw(stamp)
        answered = draw(st.booleans())
        wait = timedelta(seconds=draw(st.integers(0, 400)))
        talk = timedelta(seconds=draw(st.integers(1, 900)))
        rows.append({
            "contact_id": f"C{i}",
            "channel": draw(st.sampled_from(["phone", "email", "chat"])),
            "created_at": iso(created),
            "direction": draw(st.sampled_from(["inbound", "inbound", "inbound", "outbound"])),
            "customer_id": draw(st.sampled_from(["K1", "K2", "K3", None])),
            "case_id": draw(st.sampled_from(["K-1", "K-2", "K-3", None])),
            "team": draw(st.sampled_from(["north", "south"])),
            "agent_id": draw(st.sampled_from(["A1", "A2"])) if answered else None,
            "answered_at": iso(created + wait) if answered else None,
            "ended_at": iso(created + wait + (talk if answered else timedelta(0))),
            "outcome": "answered" if answered else "abandoned",
            "reason": draw(st.sampled_from(["card", "loan", None])),
        })
    return rows


@st.composite
def case_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for i in draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True)):
        opened = draw(stamp)
        closed = opened + timedelta(hours=draw(st.integers(1, 72))) if draw(st.booleans()) else None
        rows.append({"case_id": f"K-{i}", "opened_at": iso(opened), "closed_at": iso(closed),
                     "channel": draw(st.sampled_from(["phone", "email"])), "team": draw(st.sampled_from(["north", "south"]))})
    return rows


@st.composite
def survey_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for i in draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True)):
        sent = draw(stamp)
        rows.append({"survey_id": f"S{i}", "contact_id": f"C{draw(st.integers(0, 14))}", "sent_at": iso(sent),
                     "responded_at": iso(sent + timedelta(hours=2)) if draw(st.booleans()) else None,
                     "csat": draw(st.integers(1, 5)), "verbatim": draw(st.sampled_from(["très bien", "nul", None]))})
    return rows


@st.composite
def state_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = {}
    for _ in range(draw(st.integers(1, 3))):
        start = draw(stamp)
        agent = draw(st.sampled_from(["A1", "A2"]))
        rows[(agent, start)] = {"agent_id": agent, "start_at": iso(start),
                                "end_at": iso(start + timedelta(minutes=draw(st.integers(1, 600)))),
                                "state": draw(st.sampled_from(["available", "handling", "break"]))}
    return list(rows.values())


batches = st.lists(
    st.one_of(
        contact_rows().map(lambda r: ("contacts", r)),
        contact_rows().map(lambda r: ("contacts", r)),
        case_rows().map(lambda r: ("cases", r)),
        survey_rows().map(lambda r: ("surveys", r)),
        state_rows().map(lambda r: ("agent_states", r)),
    ),
    min_size=2,
    max_size=5,
)


def snapshot(con: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup, the links and the derived columns, as sorted rows."""
    out = {}
    for r in (*ROLLUPS, *CUSTOMER_ROLLUPS):
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [r.table]).fetchall()[0][0]
        out[r.table] = sorted(con.execute(f"SELECT * FROM {r.table}").fetchall(), key=repr) if exists else []
    out["contact_links"] = sorted(con.execute("SELECT * FROM contact_links").fetchall(), key=repr)
    out["derived"] = sorted(con.execute(
        "SELECT contact_id, next_inbound_at, next_same_reason_at FROM contacts").fetchall(), key=repr)
    out["cases"] = sorted(con.execute("SELECT case_id, contact_count FROM cases").fetchall(), key=repr)
    return out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def assert_same(incremental: dict[str, list[Any]], full: dict[str, list[Any]]) -> None:
    for name in full:
        got, want = incremental[name], full[name]
        assert len(got) == len(want) and all(same(x, y) for x, y in zip(got, want)), (
            f"{name} differs from a full rebuild:\nincremental {got}\nfull        {want}")


def full_rebuild(con: Any) -> dict[str, list[Any]]:
    """Everything derived, rebuilt from scratch, inside a transaction rolled back."""
    con.execute("BEGIN TRANSACTION")
    try:
        refresh_next_inbound(con)
        refresh_contact_links(con)
        refresh_case_contacts(con)
        refresh_rollups(con, PARIS)
        return snapshot(con)
    finally:
        con.execute("ROLLBACK")


def table_of(rows: list[dict[str, Any]]) -> pa.Table:
    names = list(rows[0])
    return pa.table({n: pa.array([None if r[n] is None else str(r[n]) for r in rows], pa.string()) for n in names})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(batches)
def test_incremental_refresh_equals_a_full_rebuild(tmp_path_factory: pytest.TempPathFactory, steps: list[Any]) -> None:
    db = Path(tmp_path_factory.mktemp("incr")) / "w.duckdb"
    con = open_warehouse(db)
    try:
        con.execute("INSERT OR REPLACE INTO warehouse_config VALUES ('reporting_tz', ?)", [PARIS])
        for i, (table, rows) in enumerate(steps):
            report = import_arrow(con, table, table_of(rows), f"batch{i}")
            assert report.rejected == 0, report
            assert_same(snapshot(con), full_rebuild(con))
    finally:
        con.close()


def test_an_intraday_import_refreshes_only_its_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Contacts arriving after three weeks of data refresh their own day, the day of a
    customer's previous contact when the new one falls within its FCR window, and the days
    whose FCR window reaches between the former and the new latest contact; no other day
    is computed again."""
    con = open_warehouse(tmp_path / "w.duckdb")
    con.execute("INSERT OR REPLACE INTO warehouse_config VALUES ('reporting_tz', ?)", [PARIS])
    first = [{"contact_id": f"C{d}", "channel": "phone", "created_at": iso(T0 + timedelta(days=d)),
              "customer_id": f"K{d}", "answered_at": iso(T0 + timedelta(days=d, seconds=30)),
              "ended_at": iso(T0 + timedelta(days=d, seconds=300)), "outcome": "answered", "agent_id": "A1"}
             for d in range(20)]
    import_arrow(con, "contacts", table_of(first), "history")
    refreshed: dict[str, set[Any]] = {}
    real = rollup_store.replace_days

    def spy(con: Any, base: str, table: str, *args: Any, **kw: Any) -> int:
        days = args[3] if len(args) > 3 else kw["days"]
        refreshed.setdefault(table, set()).update(days.column("day").to_pylist())
        return real(con, base, table, *args, **kw)

    monkeypatch.setattr(rollup_store, "replace_days", spy)
    later = [{**first[d], "contact_id": f"NEW{d}", "created_at": iso(T0 + timedelta(days=20, hours=1)),
              "answered_at": iso(T0 + timedelta(days=20, hours=1, seconds=20)),
              "ended_at": iso(T0 + timedelta(days=20, hours=1, seconds=200))} for d in (2, 15)]
    import_arrow(con, "contacts", table_of(later), "intraday")
    day = (T0 + timedelta(hours=1)).date()  # 21:00 or 22:00 in Paris: the same date as in UTC
    window = 7  # days: the default FCR window
    # K15's contact of day 15 has its next one within its window (no longer first-contact
    # resolved); K2's of day 2 too, but 18 days later: its FCR does not move
    expected = {day + timedelta(days=d) for d in (15, 20, 19 - window, 20 - window)}
    assert refreshed["rollup_contacts"] == expected
    # no case, survey or state changed; with no case, the backlog's days follow the contacts: one more
    assert set(refreshed) == {"rollup_contacts", "rollup_contacts_agent", "rollup_backlog", "rollup_backlog_agent"}
    assert refreshed["rollup_backlog"] == {day + timedelta(days=20)}
    assert_same(snapshot(con), full_rebuild(con))
    con.close()
