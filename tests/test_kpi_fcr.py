"""FCR's per-row derivation kept at import (``contacts.next_inbound_at`` / ``next_same_reason_at``):
exact under overlapping imports, and equal to the portable computation other engines use.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from cxkpi.service.imports import import_file
from cxkpi.kpi.sources import with_next_inbound
from cxkpi.warehouse.engines import duckdb_engine
from kpi_golden import (  # noqa: F401
    FCR, THIRD_PARTY_WARNINGS, Q, Warehouses, assert_rows, assert_same_frames, contact, import_rows, run_duck, warehouses,
    write_csv,
)

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

NEXT = "SELECT contact_id, next_inbound_at, next_same_reason_at FROM contacts ORDER BY contact_id"


def materialized(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.sql(NEXT).fetchall()


def portable(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """``with_next_inbound`` on the table without its materialized columns."""
    engine = duckdb_engine(con)
    t = engine.table("contacts").drop("next_inbound_at", "next_same_reason_at")
    out = with_next_inbound(engine, t).select("contact_id", "next_inbound_at", "next_same_reason_at").order_by("contact_id")
    return [(r["contact_id"], r["next_inbound_at"], r["next_same_reason_at"]) for r in out.to_pyarrow().to_pylist()]


def by_id(rows: list[dict[str, str | None]]) -> dict[str, dict[str, str | None]]:
    return {str(r["contact_id"]): r for r in rows}


ROWS = by_id(FCR)
# batch 1: everything but a2; c2 is (wrongly) attributed to customer D
BATCH_1 = [dict(r, customer_id="D") if r["contact_id"] == "c2" else r for r in FCR if r["contact_id"] != "a2"]
# batch 2 overlaps batch 1: a repeat contact of A (new), c2 moved back to C (changed), b1 e1 e2 (unchanged)
BATCH_2 = [ROWS["a2"], ROWS["c2"], ROWS["b1"], ROWS["e1"], ROWS["e2"]]


def test_materialized_next_inbound_by_hand(warehouses: Warehouses) -> None:
    con = warehouses.load("fcr")
    got = {cid: (n, s) for cid, n, s in materialized(con)}

    def at(text: str) -> Any:
        return con.execute(f"SELECT TIMESTAMPTZ '{text}'").fetchall()[0][0]

    assert got["a1"] == (at("2026-03-09 09:00:00+00"), None)  # a2; reasons null never match
    assert got["c1"] == (at("2026-03-03 11:00:00+00"), None)  # c2, abandoned but inbound
    assert got["d1"] == (None, None)  # d2 is outbound
    assert got["d2"] == (None, None)  # outbound rows carry nothing
    assert got["e1"] == (None, None) and got["e2"] == (None, None)  # same timestamp: not strictly after
    assert got["n1"] == (None, None)  # no customer
    assert got["h1"] == (at("2026-03-04 15:00:00+00"), None)  # h2 has another reason
    assert got["i1"] == (at("2026-03-03 16:00:00+00"), at("2026-03-03 16:00:00+00"))


def test_portable_next_inbound_equals_materialized(warehouses: Warehouses) -> None:
    con = warehouses.load("fcr")
    assert portable(con) == materialized(con)


def test_fcr_after_two_overlapping_batches_equals_one_import(warehouses: Warehouses) -> None:
    inc = warehouses.new("incremental")
    import_rows(inc, warehouses.folder / "in", "batch1", BATCH_1)
    # after batch 1 (no a2; c2 belongs to D): base still a1 b1 c1 d1 e1 e2 h1 h2 i1 i2 f1 = 11;
    # a1 and c1 are now OK, d1 is broken by c2 (inbound, +23 h): OK a1 b1 c1 e1 e2 h2 i2 f1 = 8
    assert_rows(run_duck(inc, Q(["fcr"])), [dict(fcr=8 / 11)])
    report = import_file(inc, "contacts", write_csv(warehouses.folder / "in" / "batch2.csv", BATCH_2))
    assert (report.rejected, report.new, report.changed, report.unchanged) == (0, 1, 1, 3)

    whole = warehouses.load("fcr", "whole")
    assert materialized(inc) == materialized(whole)
    assert portable(inc) == materialized(inc)
    for query in (Q(["fcr"]), Q(["fcr"], by=("channel",)), Q(["fcr"], params={"fcr_same_reason": True})):
        assert_same_frames(run_duck(inc, query), run_duck(whole, query))
    assert_rows(run_duck(inc, Q(["fcr"])), [dict(fcr=7 / 11)])  # the golden value of the FCR data set


def test_customer_moved_to_another_customer_refreshes_both(warehouses: Warehouses) -> None:
    con = warehouses.new("moved")
    folder = warehouses.folder / "in"
    first = [
        contact("y1", "email", "2026-03-02T08:00:00Z", wait=10, customer="Y"),
        contact("x1", "phone", "2026-03-02T09:00:00Z", wait=10, customer="X"),
        contact("x2", "chat", "2026-03-03T09:00:00Z", wait=10, customer="X"),
        contact("end", "phone", "2026-03-20T09:00:00Z", wait=10, direction="outbound"),  # end of data
    ]
    import_rows(con, folder, "first", first)
    by_channel = Q(["fcr"], by=("channel",))
    # x1 broken by x2 (+1 d); x2 and y1 have no repeat
    assert_rows(run_duck(con, by_channel), [dict(channel="chat", fcr=1.0), dict(channel="email", fcr=1.0),
                                            dict(channel="phone", fcr=0.0)])
    import_rows(con, folder, "second", [dict(first[2], customer_id="Y")])  # x2 now belongs to Y
    # x1 has no repeat any more; y1 is broken by x2 (+25 h); x2 has no repeat
    assert_rows(run_duck(con, by_channel), [dict(channel="chat", fcr=1.0), dict(channel="email", fcr=0.0),
                                            dict(channel="phone", fcr=1.0)])
    assert portable(con) == materialized(con)


def test_customer_id_cleared_clears_the_derived_columns(warehouses: Warehouses) -> None:
    con = warehouses.new("cleared")
    folder = warehouses.folder / "in"
    first = [
        contact("x1", "phone", "2026-03-02T09:00:00Z", wait=10, customer="X"),
        contact("x2", "chat", "2026-03-03T09:00:00Z", wait=10, customer="X"),
    ]
    import_rows(con, folder, "first", first)
    import_rows(con, folder, "second", [dict(first[0], customer_id=None)])  # x1 loses its customer
    # derived.py: "Null for other contacts" -> x1 (no customer) must have no next_inbound_at
    assert materialized(con) == [("x1", None, None), ("x2", None, None)]
    assert portable(con) == materialized(con)
