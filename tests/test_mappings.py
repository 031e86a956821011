"""Mapping files: a tool's own export renamed and converted into a canonical table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cxkpi.config import UserError
from cxkpi.ingest import available_mappings, load_mapping

MAPPING = """\
name: tool-x
table: contacts
description: a made-up telephony tool
read: {delimiter: ";", decimal: ","}
source_tz: Europe/Paris
unmapped: keep
columns:
  contact_id: {template: "X-{Call Ref}"}
  channel: {column: Media, values: {TEL: phone, MAIL: email}}
  created_at: {date: Day, date_format: "%d/%m/%Y", time: Start, time_format: "%H:%M:%S"}
  answered_at: {date: Day, date_format: "%d/%m/%Y", time: Answer, null_if: ["-"], after: Start}
  ended_at: {date: Day, date_format: "%d/%m/%Y", time: End, null_if: ["-"], after: Start}
  hold_seconds: Hold
  customer_id: {column: Cust, null_if: ["0"]}
  outcome: {column: Res, values: {OK: answered, KO: abandoned}, reject: {TEST: "test call, not a customer's"}}
  direction: {value: inbound}
  team: {coalesce: [{column: Team}, {value: unknown}]}
  site: {sql: "upper(\\"Site\\")"}
"""

HEADER = "Call Ref;Media;Day;Start;Answer;End;Hold;Cust;Res;Team;Site;Extra Info\n"
DATA = (
    # crosses midnight: answer and end are on the next day
    "1;TEL;05/03/2026;23:59:00;00:00:30;00:02:00;1,5;0;OK;;lyon;x\n"
    "2;MAIL;05/03/2026;10:00:00;-;-;;42;KO;T2;paris;y\n"
    "3;TEL;05/03/2026;10:00:00;10:00:05;10:01:00;;7;TEST;T;a;z\n"
    "4;FAX;05/03/2026;10:00:00;10:00:05;10:01:00;;7;OK;T;a;z\n"
    "5;TEL;32/03/2026;10:00:00;10:00:05;10:01:00;;7;OK;T;a;z\n"
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_a_mapping_converts_every_entry_form(wh: Any, files: Any) -> None:
    mapping = files.text("tool-x.yaml", MAPPING)
    path = files.text("export.csv", HEADER + DATA)
    report = wh.import_("contacts", path, mapping=str(mapping))
    assert (report.read, report.accepted, report.rejected) == (5, 2, 3), wh.rejects()
    rows = wh.dicts("SELECT * FROM contacts ORDER BY contact_id")
    one, two = rows
    assert one["contact_id"] == "X-1"
    assert one["channel"] == "phone"
    assert one["created_at"] == utc(2026, 3, 5, 22, 59)  # Paris, CET
    assert one["answered_at"] == utc(2026, 3, 5, 23, 0, 30)  # next day in Paris
    assert one["ended_at"] == utc(2026, 3, 5, 23, 2)
    assert one["hold_seconds"] == 1.5  # decimal comma from the mapping's read options
    assert one["customer_id"] is None  # null_if
    assert one["outcome"] == "answered"
    assert one["team"] == "unknown"  # coalesce falls back on the constant
    assert one["site"] == "LYON"  # sql
    assert one["extra_info"] == "x"  # unmapped columns are kept
    assert (two["channel"], two["answered_at"], two["outcome"], two["customer_id"], two["team"]) == ("email", None, "abandoned", "42", "T2")
    rejects = {r["line"]: r for r in wh.rejects()}
    assert rejects[4]["column"] == "outcome"
    assert rejects[4]["reason"] == "outcome: test call, not a customer's"  # the mapping's reason alone
    assert rejects[5]["column"] == "channel" and "'FAX'" in rejects[5]["reason"]
    assert rejects[6]["column"] == "created_at"
    assert "32/03/2026" in rejects[6]["reason"]  # a failed parse is reported as read
    assert '"Call Ref":"3"' in rejects[4]["raw"]  # raw holds the source's own columns
    assert wh.all("SELECT mapping, source_tz FROM import_log") == [("tool-x", "Europe/Paris")]
    # idempotent through a mapping too
    again = wh.import_("contacts", path, mapping=str(mapping))
    assert (again.new, again.changed, again.unchanged) == (0, 0, 2)


def test_unmapped_drop(wh: Any, files: Any) -> None:
    mapping = files.text("m.yaml", MAPPING.replace("unmapped: keep", "unmapped: drop"))
    wh.import_("contacts", files.text("export.csv", HEADER + DATA), mapping=str(mapping))
    cols = wh.columns("contacts")
    assert "extra_info" not in cols and "call_ref" not in cols


def test_add_seconds_and_when(wh: Any, files: Any) -> None:
    mapping = files.text("m.yaml", """\
table: contacts
columns:
  contact_id: id
  channel: {value: chat}
  created_at: {column: Stamp, format: "%d/%m/%Y %H:%M:%S"}
  answered_at: {column: Stamp, format: "%d/%m/%Y %H:%M:%S", add: [Wait], when: {column: Served, in: ["Y"]}}
""")
    path = files.text("c.csv", "id,Stamp,Wait,Served\na,05/03/2026 10:00:00,42.5,Y\nb,05/03/2026 11:00:00,10,N\n")
    report = wh.import_("contacts", path, mapping=str(mapping))
    assert report.rejected == 0, wh.rejects()
    assert wh.all("SELECT contact_id, created_at, answered_at, outcome FROM contacts ORDER BY 1") == [
        ("a", utc(2026, 3, 5, 10, 0), datetime(2026, 3, 5, 10, 0, 42, 500000, tzinfo=UTC), "answered"),
        ("b", utc(2026, 3, 5, 11, 0), None, "abandoned"),
    ]


def test_mapping_cells_are_trimmed(wh: Any, files: Any) -> None:
    mapping = files.text("m.yaml", "table: contacts\ncolumns:\n  contact_id: id\n  channel: ch\n  created_at: at\n")
    path = files.text("c.csv", "id,ch,at\n  a1 , phone ,2026-03-05 10:00\n   ,phone,2026-03-05 10:00\n")
    report = wh.import_("contacts", path, mapping=str(mapping))
    assert (report.accepted, report.rejected) == (1, 1)
    assert wh.all("SELECT contact_id, channel FROM contacts") == [("a1", "phone")]
    [r] = wh.rejects()
    assert (r["line"], r["column"]) == (3, "contact_id")


def test_shipped_mappings_load() -> None:
    names = available_mappings()
    assert "anonymous-bank" in names
    for name in names:
        m = load_mapping(name)
        assert m.table in {"contacts", "cases", "surveys", "evaluations", "agent_states", "customers",
                           "customer_revenue", "cashflows", "loans"}
        assert m.columns


def test_anonymous_bank_mapping_on_a_small_sample(wh: Any, files: Any) -> None:
    header = "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver\n"
    rows = [
        # served after queueing
        "AA0101\t33116\t9664491\t2\tPS\t990101\t0:00:31\t0:00:36\t5\t0:00:36\t0:03:09\t153\tAGENT\t0:03:09\t0:06:10\t181\tMICHAL\n",
        # hung up in the queue
        "AA0101\t33117\t0\t0\tPS\t990101\t0:34:12\t0:34:23\t11\t0:34:23\t0:35:01\t38\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER\n",
        # phantom call: set aside by the mapping
        "AA0101\t33118\t0\t0\tPS\t990101\t1:00:00\t1:00:05\t5\t0:00:00\t0:00:00\t0\tPHANTOM\t0:00:00\t0:00:00\t0\tNO_SERVER\n",
        # rolls past midnight: service starts the next day
        "AA0102\t33119\t123\t1\tIN\t990101\t23:59:50\t23:59:55\t5\t23:59:55\t0:00:10\t15\tAGENT\t0:00:10\t0:02:00\t110\tDORIT\n",
    ]
    path = files.text("january.txt", header + "".join(rows))
    report = wh.import_("contacts", path, mapping="anonymous-bank")
    assert (report.read, report.accepted, report.rejected) == (4, 3, 1), wh.rejects()
    [r] = wh.rejects()
    assert (r["line"], r["column"]) == (4, "outcome")
    assert "PHANTOM" in r["reason"]
    got = wh.dicts("SELECT contact_id, outcome, customer_id, agent_id, queue, created_at, answered_at, ended_at FROM contacts ORDER BY created_at")
    assert [g["outcome"] for g in got] == ["answered", "abandoned", "answered"]
    assert got[1]["customer_id"] is None and got[1]["agent_id"] is None
    assert got[0]["queue"] == "regular"
    last = got[2]
    # Asia/Jerusalem is UTC+2 in January
    assert last["created_at"] == utc(1999, 1, 1, 21, 59, 55)
    assert last["answered_at"] == utc(1999, 1, 1, 22, 0, 10)
    assert last["ended_at"] == utc(1999, 1, 1, 22, 2, 0)


# --------------------------------------------------------------------------- mapping errors


@pytest.mark.parametrize(("text", "fragment"), [
    ("- just\n- a list\n", "expected a YAML mapping"),
    ("table: tickets\ncolumns: {a: b}\n", "'table' must be one of"),
    ("table: contacts\n", "'columns' must map"),
    ("table: contacts\ncolumns: {contact_id: {column: a, colour: red}}\n", "unknown key(s) colour"),
    ("table: contacts\ncolumns: {contact_id: {column: a, value: b}}\n", "needs exactly one of"),
    ("table: contacts\ncolumns: {contact_id: [a, b]}\n", "must be a column name or a mapping"),
    ("table: contacts\ncolumns: {contact_id: {coalesce: []}}\n", "must be a non-empty list"),
    ("table: contacts\nunmapped: maybe\ncolumns: {contact_id: a}\n", "'unmapped' must be keep or drop"),
    ("table: contacts\nread: {quote: x}\ncolumns: {contact_id: a}\n", "'read' accepts"),
    ("table: contacts\nsource_tz: Mars/Base\ncolumns: {contact_id: a}\n", "unknown time zone"),
    ("table: contacts\ncolumns: [unclosed\n", "not valid YAML"),
])
def test_bad_mapping_files(files: Any, text: str, fragment: str) -> None:
    path = files.text("bad.yaml", text)
    with pytest.raises(UserError) as info:
        load_mapping(str(path))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_mapping_name() -> None:
    with pytest.raises(UserError, match="unknown mapping 'nope'"):
        load_mapping("nope")


def test_missing_mapping_file(tmp_path: Any) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_mapping(str(tmp_path / "absent.yaml"))


def test_mapping_naming_a_missing_column(wh: Any, files: Any) -> None:
    mapping = files.text("m.yaml", "table: contacts\ncolumns:\n  contact_id: ref\n  channel: {value: phone}\n  created_at: when\n")
    path = files.text("c.csv", "ref,at\n1,2026-03-05\n")
    with pytest.raises(UserError, match="names column 'when', which .* does not have"):
        wh.import_("contacts", path, mapping=str(mapping))
    assert wh.count("contacts") == 0


def test_mapping_leaving_a_required_column_out(wh: Any, files: Any) -> None:
    mapping = files.text("m.yaml", "table: contacts\nunmapped: drop\ncolumns:\n  contact_id: ref\n  channel: {value: phone}\n")
    path = files.text("c.csv", "ref,at\n1,2026-03-05\n")
    with pytest.raises(UserError, match="no column 'created_at'"):
        wh.import_("contacts", path, mapping=str(mapping))


def test_mapping_for_another_table(wh: Any, files: Any) -> None:
    mapping = files.text("m.yaml", "table: cases\ncolumns:\n  case_id: ref\n  opened_at: at\n")
    with pytest.raises(UserError, match="is for table cases, not contacts"):
        wh.import_("contacts", files.text("c.csv", "ref,at\n1,2026-03-05\n"), mapping=str(mapping))
