"""Importing the same data again changes nothing; overlapping exports update exactly what changed."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from typing import Any

import pytest

HEADER = ["contact_id", "channel", "created_at", "answered_at", "ended_at", "hold_seconds", "team", "reason"]


def contact(i: int, **changes: str) -> list[str]:
    row = {
        "contact_id": f"c{i}", "channel": "phone", "created_at": f"2026-03-05 10:{i % 60:02d}:00",
        "answered_at": f"2026-03-05 10:{i % 60:02d}:30", "ended_at": f"2026-03-05 11:{i % 60:02d}:00",
        "hold_seconds": str(i), "team": "T1", "reason": "card",
    }
    row.update(changes)
    return [row[c] for c in HEADER]


def snapshot(wh: Any, table: str = "contacts") -> list[tuple[Any, ...]]:
    return wh.all(f'SELECT * EXCLUDE (_import_id) FROM "{table}" ORDER BY ALL')


def test_reimporting_the_same_file_changes_nothing(wh: Any, files: Any) -> None:
    rows = [contact(i) for i in range(1, 6)] + [contact(99, channel="fax")]
    path = files.csv("c.csv", HEADER, rows)
    first = wh.import_("contacts", path)
    assert (first.read, first.accepted, first.rejected, first.new, first.changed, first.unchanged) == (6, 5, 1, 5, 0, 0)
    before = wh.all("SELECT * FROM contacts ORDER BY contact_id")
    rejects_before = [(r["line"], r["reason"]) for r in wh.rejects()]
    second = wh.import_("contacts", path)
    assert (second.read, second.accepted, second.rejected, second.new, second.changed, second.unchanged) == (6, 5, 1, 0, 0, 5)
    # identical, including the import id that last wrote each row
    assert wh.all("SELECT * FROM contacts ORDER BY contact_id") == before
    # the rejects of a file are those of its latest import: not duplicated
    assert [(r["line"], r["reason"]) for r in wh.rejects()] == rejects_before
    assert {r["import_id"] for r in wh.rejects()} == {second.import_id}
    assert second.checksum == first.checksum
    assert wh.scalar("SELECT count(*) FROM import_log") == 2


@pytest.mark.parametrize("table", ["cases", "surveys", "evaluations", "agent_states", "customers", "customer_revenue", "cashflows", "loans"])
def test_reimport_is_idempotent_for_every_table(wh: Any, files: Any, table: str) -> None:
    from test_validation_rules import base_row

    rows = [base_row(table, i) for i in range(1, 4)]
    path = files.dict_csv(f"{table}.csv", rows)
    first = wh.import_(table, path)
    before = snapshot(wh, table)
    second = wh.import_(table, path)
    assert (first.new, first.changed, first.unchanged) == (3, 0, 0)
    assert (second.new, second.changed, second.unchanged) == (0, 0, 3)
    assert snapshot(wh, table) == before


def test_identical_cashflows_without_ids_stay_distinct_and_idempotent(wh: Any, files: Any) -> None:
    header = ["date", "direction", "category", "amount"]
    rows = [["2026-03-05", "out", "salary", "100"]] * 3 + [["2026-03-05", "in", "fees", "5"]]
    path = files.csv("f.csv", header, rows)
    assert wh.import_("cashflows", path).new == 4
    again = wh.import_("cashflows", path)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 4)
    assert wh.count("cashflows") == 4
    # a later export with one more identical payment adds exactly one
    more = files.csv("g.csv", header, rows + [["2026-03-05", "out", "salary", "100"]])
    r = wh.import_("cashflows", more)
    assert (r.new, r.changed, r.unchanged) == (1, 0, 4)
    assert wh.scalar("SELECT count(*) FROM cashflows WHERE category = 'salary'") == 4


def test_a_copy_of_the_file_elsewhere_is_unchanged(wh: Any, files: Any, tmp_path: Any) -> None:
    path = files.csv("c.csv", HEADER, [contact(i) for i in range(1, 4)])
    wh.import_("contacts", path)
    copy = tmp_path / "copy.csv"
    shutil.copy(path, copy)
    r = wh.import_("contacts", copy)
    assert (r.new, r.changed, r.unchanged) == (0, 0, 3)


def test_overlapping_export(wh: Any, files: Any) -> None:
    day1 = files.csv("day1.csv", HEADER, [contact(i) for i in range(1, 11)])
    wh.import_("contacts", day1)
    # day 2 re-exports c6..c10 (c7 and c9 changed since) and adds c11..c13
    rows = [contact(6), contact(7, team="T2"), contact(8), contact(9, hold_seconds="99.5", reason=""), contact(10)]
    rows += [contact(i) for i in range(11, 14)]
    day2 = files.csv("day2.csv", HEADER, rows)
    r = wh.import_("contacts", day2)
    assert (r.read, r.accepted, r.rejected) == (8, 8, 0)
    assert (r.new, r.changed, r.unchanged) == (3, 2, 3)
    assert wh.count("contacts") == 13
    assert wh.all("SELECT team, hold_seconds, reason FROM contacts WHERE contact_id IN ('c7', 'c9') ORDER BY contact_id") == [
        ("T2", 7.0, "card"), ("T1", 99.5, None),  # an emptied cell in the new export empties the value
    ]
    ids = dict(wh.all("SELECT contact_id, _import_id FROM contacts"))
    assert ids["c7"] == ids["c9"] == ids["c11"] == r.import_id
    assert ids["c6"] == ids["c1"] != r.import_id  # unchanged rows keep the import that wrote them
    # the same day-2 file again: all unchanged
    again = wh.import_("contacts", day2)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 8)


def test_changed_timestamp_counts_as_changed_only_when_the_instant_moves(wh: Any, files: Any) -> None:
    wh.import_("contacts", files.csv("a.csv", HEADER, [contact(1), contact(2)]))
    # same instants written differently (offset form, T separator) are unchanged; a moved one is changed
    rows = [contact(1, created_at="2026-03-05T11:01:00+01:00"), contact(2, created_at="2026-03-05 10:02:05")]
    r = wh.import_("contacts", files.csv("b.csv", HEADER, rows))
    assert (r.new, r.changed, r.unchanged) == (0, 1, 1)
    assert wh.scalar("SELECT created_at FROM contacts WHERE contact_id = 'c2'") == datetime(2026, 3, 5, 10, 2, 5, tzinfo=UTC)


def test_a_rejected_row_does_not_touch_the_stored_one(wh: Any, files: Any) -> None:
    wh.import_("contacts", files.csv("a.csv", HEADER, [contact(1)]))
    before = snapshot(wh)
    r = wh.import_("contacts", files.csv("b.csv", HEADER, [contact(1, channel="pigeon")]))
    assert (r.accepted, r.rejected, r.new, r.changed) == (0, 1, 0, 0)
    assert snapshot(wh) == before


def test_fixing_a_file_clears_its_rejects(wh: Any, files: Any) -> None:
    path = files.csv("c.csv", HEADER, [contact(1), contact(2, channel="fax")])
    wh.import_("contacts", path)
    assert len(wh.rejects()) == 1
    files.csv("c.csv", HEADER, [contact(1), contact(2)])
    r = wh.import_("contacts", path)
    assert (r.new, r.unchanged, r.rejected) == (1, 1, 0)
    assert wh.rejects() == []


def test_later_file_without_an_optional_column_keeps_its_values(wh: Any, files: Any) -> None:
    wh.import_("contacts", files.csv("a.csv", HEADER, [contact(1), contact(2)]))
    slim_header = ["contact_id", "channel", "created_at", "answered_at", "ended_at"]
    slim = files.csv("b.csv", slim_header, [contact(1)[:5], contact(2, ended_at="2026-03-05 11:30:00")[:5]])
    r = wh.import_("contacts", slim)
    assert (r.new, r.changed, r.unchanged) == (0, 1, 1)
    assert wh.all("SELECT contact_id, team, reason, hold_seconds FROM contacts ORDER BY 1") == [
        ("c1", "T1", "card", 1.0), ("c2", "T1", "card", 2.0),
    ]


def test_later_file_without_an_extra_column_keeps_its_values(wh: Any, files: Any) -> None:
    wh.import_("contacts", files.csv("a.csv", [*HEADER, "campaign"], [contact(1) + ["spring"]]))
    r = wh.import_("contacts", files.csv("b.csv", HEADER, [contact(1)]))
    assert (r.new, r.changed, r.unchanged) == (0, 0, 1)
    assert wh.scalar("SELECT campaign FROM contacts") == "spring"
    r = wh.import_("contacts", files.csv("c.csv", [*HEADER, "campaign"], [contact(1) + ["summer"]]))
    assert (r.changed, wh.scalar("SELECT campaign FROM contacts")) == (1, "summer")



def test_later_file_without_a_defaulted_column_keeps_its_values(wh: Any, files: Any) -> None:
    header = [*HEADER, "direction", "outcome"]
    wh.import_("contacts", files.csv("a.csv", header, [contact(1) + ["outbound", "callback"]]))
    r = wh.import_("contacts", files.csv("b.csv", HEADER, [contact(1)]))
    assert wh.all("SELECT direction, outcome FROM contacts") == [("outbound", "callback")]
    assert (r.changed, r.unchanged) == (0, 1)


RULES_SQL = """
SELECT contact_id FROM contacts
WHERE answered_at < created_at OR ended_at < answered_at OR ended_at < created_at
   OR (outcome = 'answered' AND answered_at IS NULL) OR (outcome = 'abandoned' AND answered_at IS NOT NULL)
ORDER BY 1
"""


def test_derived_outcome_follows_a_later_answered_at(wh: Any, files: Any) -> None:
    head = ["contact_id", "channel", "created_at", "answered_at"]
    wh.import_("contacts", files.csv("a.csv", head, [
        ["c1", "phone", "2026-03-05 10:00", ""],                  # derived: abandoned
        ["c2", "phone", "2026-03-05 10:00", "2026-03-05 10:01"],  # derived: answered
    ]))
    # the next export knows more: c1 was answered after all, c2's answer time is gone
    r = wh.import_("contacts", files.csv("b.csv", head, [
        ["c1", "phone", "2026-03-05 10:00", "2026-03-05 10:02"],
        ["c2", "phone", "2026-03-05 10:00", ""],
    ]))
    assert r.changed == 2
    assert wh.all(RULES_SQL) == []  # the warehouse never holds a row that breaks a rule
    assert wh.all("SELECT contact_id, outcome FROM contacts ORDER BY 1") == [("c1", "answered"), ("c2", "abandoned")]


def test_a_partial_update_never_breaks_a_rule(wh: Any, files: Any) -> None:
    wh.import_("contacts", files.csv("a.csv", ["contact_id", "channel", "created_at", "answered_at", "ended_at"], [
        ["c1", "phone", "2026-03-05 10:00", "2026-03-05 10:01", "2026-03-05 10:05"],
        ["c2", "phone", "2026-03-05 10:00", "2026-03-05 10:01", "2026-03-05 10:05"],
    ]))
    # c1: answered after the stored end; c2: created after the stored answer
    r1 = wh.import_("contacts", files.csv("b.csv", ["contact_id", "channel", "created_at", "answered_at"], [
        ["c1", "phone", "2026-03-05 10:00", "2026-03-05 10:10"],
    ]))
    r2 = wh.import_("contacts", files.csv("c.csv", ["contact_id", "channel", "created_at"], [
        ["c2", "phone", "2026-03-05 11:00"],
    ]))
    assert r1.accepted + r1.rejected == 1 and r2.accepted + r2.rejected == 1
    assert wh.all(RULES_SQL) == []  # rejecting the update or re-checking the merged row: never a broken row


def test_explicit_outcome_survives_a_later_file_without_outcome(wh: Any, files: Any) -> None:
    head = ["contact_id", "channel", "created_at", "answered_at"]
    wh.import_("contacts", files.csv("a.csv", [*head, "outcome"], [["c1", "chat", "2026-03-05 10:00", "", "deflected"]]))
    wh.import_("contacts", files.csv("b.csv", head, [["c1", "chat", "2026-03-05 10:00", ""]]))
    assert wh.all("SELECT outcome FROM contacts") == [("deflected",)]
    assert wh.all(RULES_SQL) == []



def test_later_file_without_weight_keeps_the_weight(wh: Any, files: Any) -> None:
    head = ["evaluation_id", "agent_id", "evaluated_at", "criterion", "score", "max_score"]
    row = ["e1", "a1", "2026-03-05 10:00", "greeting", "3", "5"]
    wh.import_("evaluations", files.csv("a.csv", [*head, "weight"], [row + ["2"]]))
    wh.import_("evaluations", files.csv("b.csv", head, [row]))
    assert wh.scalar("SELECT weight FROM evaluations") == 2.0


def test_explicit_default_values_count_as_changes(wh: Any, files: Any) -> None:
    header = [*HEADER, "direction"]
    wh.import_("contacts", files.csv("a.csv", header, [contact(1) + ["outbound"]]))
    r = wh.import_("contacts", files.csv("b.csv", header, [contact(1) + [""]]))  # empty cell: default inbound
    assert (r.changed, wh.scalar("SELECT direction FROM contacts")) == (1, "inbound")


def test_a_failed_import_leaves_the_warehouse_as_it_was(wh: Any, files: Any) -> None:
    from cxkpi.config import UserError

    wh.import_("contacts", files.csv("a.csv", HEADER, [contact(1)]))
    before = snapshot(wh)
    log = wh.scalar("SELECT count(*) FROM import_log")
    bad = files.text("bad.yaml", "table: contacts\ncolumns:\n  contact_id: nope\n  channel: channel\n  created_at: created_at\n")
    with pytest.raises(UserError):
        wh.import_("contacts", files.csv("b.csv", HEADER, [contact(2)]), mapping=str(bad))
    assert snapshot(wh) == before
    assert wh.scalar("SELECT count(*) FROM import_log") == log
    # and the connection is still usable
    assert wh.import_("contacts", files.csv("c.csv", HEADER, [contact(2)])).new == 1
