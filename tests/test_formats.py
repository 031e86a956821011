"""The same logical rows from every format and encoding give the same warehouse content.

Source zone Europe/Paris everywhere (March 2026 = CET, UTC+1): a naive 11:00 is 10:00Z.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxkpi.config import UserError
from cxkpi.ingest import ReadOptions
from cxkpi.service.imports import import_arrow

TZ = "Europe/Paris"
COLUMNS = ["contact_id", "channel", "created_at", "answered_at", "ended_at", "hold_seconds", "wrap_seconds",
           "transferred", "resolved", "reason", "note"]

# what every format must load (UTC instants)
EXPECTED = [
    ("c1", "phone", datetime(2026, 3, 5, 10, 0, tzinfo=UTC), datetime(2026, 3, 5, 10, 0, 20, tzinfo=UTC),
     datetime(2026, 3, 5, 10, 5, tzinfo=UTC), 12.5, 30.0, True, False, "carte bloquée", "« très » bien, dit-il"),
    ("c2", "chat", datetime(2026, 3, 5, 11, 0, tzinfo=UTC), None, datetime(2026, 3, 5, 11, 1, tzinfo=UTC),
     None, 0.0, False, None, "prêt", "a;b\tc \"quoted\""),
    ("c3", "email", datetime(2026, 3, 6, 8, 30, 15, tzinfo=UTC), datetime(2026, 3, 6, 9, 0, tzinfo=UTC), None,
     0.25, None, None, True, None, "€ ’ é"),
]
OUTCOMES = ["answered", "abandoned", "answered"]

# the same rows as an export would write them (naive times are Paris local)
TEXT_ROWS = [
    ["c1", "phone", "2026-03-05 11:00:00", "2026-03-05 11:00:20", "2026-03-05T10:05:00Z", "12.5", "30", "true", "false",
     "carte bloquée", "« très » bien, dit-il"],
    ["c2", "chat", "2026-03-05 12:00:00", "", "2026-03-05 12:01:00", "", "0", "0", "", "prêt", "a;b\tc \"quoted\""],
    ["c3", "email", "2026-03-06T09:30:15+01:00", "2026-03-06 10:00:00", "", "0.25", "", "", "yes", "", "€ ’ é"],
]


def loaded(w: Any) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    return w.all(f"SELECT {cols} FROM contacts ORDER BY contact_id")


def check_content(w: Any) -> None:
    assert loaded(w) == EXPECTED
    assert [r[0] for r in w.all("SELECT outcome FROM contacts ORDER BY contact_id")] == OUTCOMES
    assert w.columns("contacts")["note"] == "VARCHAR"


def decimal_comma(row: list[str]) -> list[str]:
    return [v.replace(".", ",") if i in (5, 6) else v for i, v in enumerate(row)]


@pytest.mark.parametrize(
    ("name", "delimiter", "encoding", "bom", "decimal"),
    [
        ("comma.csv", ",", "utf-8", False, False),
        ("semicolon.csv", ";", "utf-8", False, True),
        ("tab.tsv", "\t", "utf-8", False, False),
        ("pipe.txt", "|", "utf-8", False, False),
        ("bom.csv", ",", "utf-8", True, False),
        ("excel-fr.csv", ";", "cp1252", False, True),
        ("utf16.csv", "\t", "utf-16", False, False),
    ],
)
def test_csv_dialects_and_encodings(wh: Any, files: Any, name: str, delimiter: str, encoding: str, bom: bool, decimal: bool) -> None:
    rows = [decimal_comma(r) for r in TEXT_ROWS] if decimal else TEXT_ROWS
    path = files.csv(name, COLUMNS, rows, delimiter=delimiter, encoding=encoding, bom=bom)
    report = wh.import_("contacts", path, source_tz=TZ)
    assert (report.read, report.accepted, report.rejected) == (3, 3, 0), wh.rejects()
    assert report.format == "csv"
    check_content(wh)


def test_decimal_comma_with_thousands_space(wh: Any, files: Any) -> None:
    path = files.text("fr.csv", "contact_id;channel;created_at;hold_seconds;wrap_seconds\n"
                                "c1;phone;2026-03-05 10:00:00;1 234,5;1\u00a0000\nc2;phone;2026-03-05 10:00:00;7;0,5\n")
    report = wh.import_("contacts", path)
    assert report.rejected == 0, wh.rejects()
    assert wh.all("SELECT hold_seconds, wrap_seconds FROM contacts ORDER BY 1") == [(7.0, 0.5), (1234.5, 1000.0)]


def test_decimal_option_overrides_the_default(wh: Any, files: Any) -> None:
    path = files.text("c.csv", 'contact_id,channel,created_at,hold_seconds\nc1,phone,2026-03-05 10:00,"12,5"\n')
    report = wh.import_("contacts", path, options=ReadOptions(decimal=","))
    assert report.rejected == 0
    assert wh.scalar("SELECT hold_seconds FROM contacts") == 12.5


def test_delimiter_and_encoding_options(wh: Any, files: Any) -> None:
    path = files.csv("c.txt", COLUMNS, TEXT_ROWS, delimiter="|", encoding="cp1252")
    report = wh.import_("contacts", path, source_tz=TZ, options=ReadOptions(delimiter="|", encoding="windows-1252"))
    assert report.rejected == 0
    check_content(wh)


def test_latin1_option(wh: Any, files: Any) -> None:
    path = files.text("l.csv", "contact_id,channel,created_at,note\nc1,phone,2026-03-05 10:00,àéîõü ÿ\n", encoding="latin-1")
    wh.import_("contacts", path, options=ReadOptions(encoding="latin-1"))
    assert wh.scalar("SELECT note FROM contacts") == "àéîõü ÿ"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-bom", "cp1252"])
def test_special_characters_read_back_exactly(wh: Any, files: Any, encoding: str) -> None:
    text = "Hélène a payé 12 € l’abonnement « premium »"
    enc, bom = ("utf-8", True) if encoding == "utf-8-bom" else (encoding, False)
    path = files.csv("c.csv", ["contact_id", "channel", "created_at", "reason", "verbatim"],
                     [["c1", "phone", "2026-03-05 10:00", text, "ok"]], encoding=enc, bom=bom)
    report = wh.import_("contacts", path)
    assert report.rejected == 0
    assert wh.all("SELECT contact_id, reason, verbatim FROM contacts") == [("c1", text, "ok")]


def test_bom_does_not_hide_the_first_column(wh: Any, files: Any) -> None:
    path = files.text("c.csv", "contact_id,channel,created_at\nc1,phone,2026-03-05 10:00\n", bom=True)
    report = wh.import_("contacts", path)
    assert report.accepted == 1
    assert "\ufeffcontact_id" not in wh.columns("contacts")


def test_header_names_are_matched_in_any_case(wh: Any, files: Any) -> None:
    path = files.text("c.csv", "Contact ID,CHANNEL,Created_At,Note Client\nc1,phone,2026-03-05 10:00,vip\n")
    report = wh.import_("contacts", path)
    assert report.accepted == 1
    assert wh.all("SELECT contact_id, channel, note_client FROM contacts") == [("c1", "phone", "vip")]


# --------------------------------------------------------------------------- extra columns


def test_unknown_extra_columns_are_kept_and_queryable(wh: Any, files: Any) -> None:
    path = files.text("c.csv", "contact_id,channel,created_at,ivr_path,score_interne\n"
                               "c1,phone,2026-03-05 10:00,menu>cards,7\nc2,phone,2026-03-05 10:00,,\n")
    wh.import_("contacts", path)
    cols = wh.columns("contacts")
    assert cols["ivr_path"] == "VARCHAR" and cols["score_interne"] == "VARCHAR"
    assert wh.all("SELECT contact_id, ivr_path, score_interne FROM contacts ORDER BY 1") == [
        ("c1", "menu>cards", "7"), ("c2", None, None),
    ]
    assert wh.scalar("SELECT count(*) FROM contacts WHERE ivr_path LIKE 'menu%'") == 1
    # a second file with another extra column adds it; earlier rows keep theirs
    wh.import_("contacts", files.text("d.csv", "contact_id,channel,created_at,campaign\nc3,sms,2026-03-05 10:00,spring\n"))
    assert wh.all("SELECT contact_id, ivr_path, campaign FROM contacts ORDER BY 1") == [
        ("c1", "menu>cards", None), ("c2", None, None), ("c3", None, "spring"),
    ]


# --------------------------------------------------------------------------- XLSX


def write_xlsx(path: Path, header: list[str], rows: list[list[Any]], sheet: str = "Sheet") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


XLSX_ROWS: list[list[Any]] = [
    ["c1", "phone", datetime(2026, 3, 5, 11, 0), datetime(2026, 3, 5, 11, 0, 20), "2026-03-05T10:05:00Z", 12.5, 30,
     True, False, "carte bloquée", "« très » bien, dit-il"],
    ["c2", "chat", "2026-03-05 12:00:00", None, datetime(2026, 3, 5, 12, 1), None, 0, "0", None, "prêt", "a;b\tc \"quoted\""],
    ["c3", "email", "2026-03-06T09:30:15+01:00", datetime(2026, 3, 6, 10, 0), None, 0.25, None, None, "yes", None, "€ ’ é"],
]


def test_xlsx_with_typed_cells(wh: Any, files: Any) -> None:
    path = write_xlsx(files.folder / "c.xlsx", COLUMNS, XLSX_ROWS)
    report = wh.import_("contacts", path, source_tz=TZ)
    assert (report.format, report.read, report.accepted, report.rejected) == ("xlsx", 3, 3, 0), wh.rejects()
    check_content(wh)


def test_xlsx_line_numbers_skip_nothing(wh: Any, files: Any) -> None:
    rows = [XLSX_ROWS[0], [None] * len(COLUMNS), ["c9", "fax", datetime(2026, 3, 5), None, None, None, None, None, None, None, None],
            XLSX_ROWS[1]]
    path = write_xlsx(files.folder / "c.xlsx", COLUMNS, rows)
    report = wh.import_("contacts", path, source_tz=TZ)
    assert (report.read, report.accepted, report.rejected) == (3, 2, 1)
    [r] = wh.rejects()
    assert (r["line"], r["column"]) == (4, "channel")  # sheet row 4: the blank row 3 is not a record


def test_xlsx_sheet_option(wh: Any, files: Any) -> None:
    path = files.folder / "two.xlsx"
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    first.title = "Notes"
    first.append(["nothing here"])
    data = wb.create_sheet("Data")
    data.append(["contact_id", "channel", "created_at"])
    data.append(["c1", "phone", datetime(2026, 3, 5, 10, 0)])
    wb.save(path)
    report = wh.import_("contacts", path, options=ReadOptions(sheet="Data"))
    assert report.accepted == 1
    with pytest.raises(UserError, match="no sheet 'Missing'"):
        wh.import_("contacts", path, options=ReadOptions(sheet="Missing"))


def test_xlsx_date_cells_in_a_date_column(wh: Any, files: Any) -> None:
    from datetime import date

    path = write_xlsx(files.folder / "f.xlsx", ["date", "direction", "amount"],
                      [[date(2026, 1, 5), "in", 10], [datetime(2026, 1, 6), "out", 2.25]])
    report = wh.import_("cashflows", path)
    assert report.rejected == 0, wh.rejects()
    assert wh.all("SELECT date, direction, amount FROM cashflows ORDER BY date") == [
        (date(2026, 1, 5), "in", 10.0), (date(2026, 1, 6), "out", 2.25),
    ]


def test_months_as_dates_in_xlsx_and_parquet(new_warehouse: Any, files: Any) -> None:
    from datetime import date

    xlsx = write_xlsx(files.folder / "rev.xlsx", ["customer_id", "period", "revenue"],
                      [["u1", date(2026, 3, 1), 10], ["u2", datetime(2026, 4, 1), 12.5], ["u3", "2026-05", 1]])
    pq.write_table(pa.table({"customer_id": ["u1", "u2", "u3"],
                             "period": pa.array([date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)], pa.date32()),
                             "revenue": [10.0, 12.5, 1.0]}), files.folder / "rev.parquet")
    for path in (xlsx, files.folder / "rev.parquet"):
        w = new_warehouse(path.suffix[1:])
        report = w.import_("customer_revenue", path)
        assert report.rejected == 0, w.rejects()
        assert w.all("SELECT customer_id, period, revenue FROM customer_revenue ORDER BY 1") == [
            ("u1", date(2026, 3, 1), 10.0), ("u2", date(2026, 4, 1), 12.5), ("u3", date(2026, 5, 1), 1.0),
        ]


# --------------------------------------------------------------------------- Parquet


def write_parquet(path: Path) -> Path:
    paris = timezone(timedelta(hours=1))
    table = pa.table({
        "contact_id": ["c1", "c2", "c3"],
        "channel": ["phone", "chat", "email"],
        # tz-aware: absolute whatever the source zone
        "created_at": pa.array([datetime(2026, 3, 5, 10, 0), datetime(2026, 3, 5, 11, 0), datetime(2026, 3, 6, 8, 30, 15)],
                               pa.timestamp("us", tz="UTC")),
        # naive: read in the source zone
        "answered_at": pa.array([datetime(2026, 3, 5, 11, 0, 20), None, datetime(2026, 3, 6, 10, 0)], pa.timestamp("ms")),
        # tz-aware in another zone
        "ended_at": pa.array([datetime(2026, 3, 5, 11, 5, tzinfo=paris), datetime(2026, 3, 5, 12, 1, tzinfo=paris), None],
                             pa.timestamp("s", tz="+01:00")),
        "hold_seconds": pa.array([12.5, None, 0.25], pa.float64()),
        "wrap_seconds": pa.array([30, 0, None], pa.int64()),
        "transferred": pa.array([True, False, None], pa.bool_()),
        "resolved": pa.array([False, None, True], pa.bool_()),
        "reason": ["carte bloquée", "prêt", None],
        "note": ["« très » bien, dit-il", "a;b\tc \"quoted\"", "€ ’ é"],
    })
    pq.write_table(table, path)
    return path


def test_parquet_with_typed_columns(wh: Any, files: Any) -> None:
    path = write_parquet(files.folder / "c.parquet")
    report = wh.import_("contacts", path, source_tz=TZ)
    assert (report.format, report.read, report.accepted, report.rejected) == ("parquet", 3, 3, 0), wh.rejects()
    check_content(wh)


def test_parquet_row_numbers_in_rejects(wh: Any, files: Any) -> None:
    table = pa.table({"contact_id": ["a", "b", "c"], "channel": ["phone", "fax", "chat"],
                      "created_at": pa.array([datetime(2026, 1, 1)] * 3, pa.timestamp("us")),
                      "hold_seconds": pa.array([1, 2, -3], pa.int32())})
    path = files.folder / "p.parquet"
    pq.write_table(table, path)
    report = wh.import_("contacts", path)
    assert (report.accepted, report.rejected) == (1, 2)
    assert [(r["line"], r["column"]) for r in wh.rejects()] == [(2, "channel"), (3, "hold_seconds")]


def test_not_a_parquet_file(wh: Any, files: Any) -> None:
    path = files.bytes("x.parquet", b"PAR1 this is not parquet")
    with pytest.raises(UserError, match="not a readable Parquet file"):
        wh.import_("contacts", path)


# --------------------------------------------------------------------------- JSON Lines


JSON_ROWS: list[dict[str, Any]] = [
    {"contact_id": "c1", "channel": "phone", "created_at": "2026-03-05 11:00:00", "answered_at": "2026-03-05 11:00:20",
     "ended_at": "2026-03-05T10:05:00Z", "hold_seconds": 12.5, "wrap_seconds": 30, "transferred": True, "resolved": False,
     "reason": "carte bloquée", "note": "« très » bien, dit-il"},
    {"contact_id": "c2", "channel": "chat", "created_at": "2026-03-05 12:00:00", "answered_at": None,
     "ended_at": "2026-03-05 12:01:00", "wrap_seconds": 0, "transferred": False, "reason": "prêt", "note": "a;b\tc \"quoted\""},
    {"contact_id": "c3", "channel": "email", "created_at": "2026-03-06T09:30:15+01:00", "answered_at": "2026-03-06 10:00:00",
     "hold_seconds": 0.25, "resolved": "yes", "note": "€ ’ é"},
]


def test_jsonl_with_blank_and_non_object_lines(wh: Any, files: Any) -> None:
    lines: list[Any] = [JSON_ROWS[0], "", [1, 2, 3], JSON_ROWS[1], "\"just a string\"", "42", JSON_ROWS[2]]
    path = files.jsonl("c.jsonl", lines)
    report = wh.import_("contacts", path, source_tz=TZ)
    assert report.format == "jsonl"
    assert (report.read, report.accepted, report.rejected) == (6, 3, 3)
    rejects = wh.rejects()
    assert [(r["line"], r["column"]) for r in rejects] == [(3, None), (5, None), (6, None)]
    assert all("not a JSON object" in r["reason"] for r in rejects)
    assert rejects[0]["raw"] == "[1, 2, 3]"
    check_content(wh)



def test_jsonl_malformed_line_is_rejected_with_its_line(wh: Any, files: Any) -> None:
    lines: list[Any] = [JSON_ROWS[0], '{"contact_id": "c9", "channel": ', JSON_ROWS[1], "{bad json}", JSON_ROWS[2]]
    path = files.jsonl("c.jsonl", lines)
    report = wh.import_("contacts", path, source_tz=TZ)
    assert (report.read, report.accepted, report.rejected) == (5, 3, 2)
    assert [r["line"] for r in wh.rejects()] == [2, 4]
    check_content(wh)


def test_jsonl_line_numbers_after_blank_lines(wh: Any, files: Any) -> None:
    bad = {**JSON_ROWS[1], "contact_id": "c9", "channel": "fax"}
    path = files.jsonl("c.jsonl", [JSON_ROWS[0], "", "", bad, JSON_ROWS[1]])
    report = wh.import_("contacts", path, source_tz=TZ)
    assert (report.read, report.accepted, report.rejected) == (3, 2, 1)
    [r] = wh.rejects()
    assert (r["line"], r["column"]) == (4, "channel")


def test_jsonl_nested_values_are_kept_as_json_text(wh: Any, files: Any) -> None:
    path = files.jsonl("c.jsonl", [{"contact_id": "c1", "channel": "phone", "created_at": "2026-03-05 10:00",
                                    "ivr": {"path": ["1", "3"]}, "tags": ["a", "b"]}])
    wh.import_("contacts", path)
    ivr, tags = wh.all("SELECT ivr, tags FROM contacts")[0]
    assert json.loads(ivr) == {"path": ["1", "3"]}
    assert json.loads(tags) == ["a", "b"]


# --------------------------------------------------------------------------- all formats agree


def test_every_format_gives_the_same_content(files: Any, new_warehouse: Any) -> None:
    sources = {
        "csv": files.csv("c.csv", COLUMNS, TEXT_ROWS),
        "csv-fr": files.csv("fr.csv", COLUMNS, [decimal_comma(r) for r in TEXT_ROWS], delimiter=";", encoding="cp1252"),
        "xlsx": write_xlsx(files.folder / "c.xlsx", COLUMNS, XLSX_ROWS),
        "parquet": write_parquet(files.folder / "c.parquet"),
        "jsonl": files.jsonl("c.jsonl", JSON_ROWS),
    }
    contents = {}
    for name, path in sources.items():
        w = new_warehouse(name)
        report = w.import_("contacts", path, source_tz=TZ)
        assert report.rejected == 0, (name, w.rejects())
        contents[name] = w.dicts("SELECT * EXCLUDE (_import_id) FROM contacts ORDER BY contact_id")
    first = contents["csv"]
    for name, content in contents.items():
        assert content == first, name
    # and one warehouse fed by all formats in turn holds them once, unchanged after the first
    w = new_warehouse("all")
    reports = [w.import_("contacts", p, source_tz=TZ) for p in sources.values()]
    assert [(r.new, r.changed, r.unchanged) for r in reports] == [(3, 0, 0)] + [(0, 0, 3)] * 4
    assert w.count("contacts") == 3


def test_import_arrow_uses_the_same_checks(wh: Any) -> None:
    data = pa.table({"contact_id": ["c1", "c2"], "channel": ["phone", "fax"],
                     "created_at": pa.array([datetime(2026, 3, 5, 10, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC"))})
    report = import_arrow(wh.con, "contacts", data, "in-memory")
    assert (report.read, report.accepted, report.rejected) == (2, 1, 1)
    [r] = wh.rejects()
    assert (r["line"], r["column"], r["file"]) == (2, "channel", "in-memory")


# --------------------------------------------------------------------------- structural CSV errors

H = "contact_id,channel,created_at"


def test_rows_with_too_few_or_too_many_cells(wh: Any, files: Any) -> None:
    text = "\n".join([
        H,
        "c1,phone,2026-03-05 10:00",           # 2
        "c2,phone",                             # 3 too few
        "c3,phone,2026-03-05 10:00",           # 4
        "c4,phone,2026-03-05 10:00,extra",     # 5 too many
        "c5,fax,2026-03-05 10:00",             # 6 invalid
        "c6,phone,2026-03-05 10:00",           # 7
        "c7,phone,2026-03-05 10:00",           # 8 duplicate id below
        "c7,chat,2026-03-05 10:00",            # 9
    ]) + "\n"
    path = files.text("c.csv", text)
    report = wh.import_("contacts", path)
    assert (report.read, report.accepted, report.rejected) == (8, 4, 4)
    rejects = wh.rejects()
    assert [(r["line"], r["column"]) for r in rejects] == [(3, None), (5, None), (6, "channel"), (9, "contact_id")]
    assert "fewer cells than the header" in rejects[0]["reason"]
    assert "more cells than the header" in rejects[1]["reason"]
    assert rejects[0]["raw"] == "c2,phone"
    assert rejects[3]["reason"].endswith("(first at line 8)")
    assert sorted(r[0] for r in wh.all("SELECT contact_id FROM contacts")) == ["c1", "c3", "c6", "c7"]


def test_consecutive_structural_errors_keep_later_lines_right(wh: Any, files: Any) -> None:
    text = "\n".join([H, "x1", "x2,a", "c1,fax,2026-03-05", "x3,a,b,c,d", "c2,fax,2026-03-05", "c3,phone,2026-03-05"]) + "\n"
    report = wh.import_("contacts", files.text("c.csv", text))
    assert (report.read, report.accepted, report.rejected) == (6, 1, 5)
    assert [r["line"] for r in wh.rejects()] == [2, 3, 4, 5, 6]


def test_crlf_line_ends(wh: Any, files: Any) -> None:
    text = "\r\n".join([H, "c1,phone,2026-03-05 10:00", "c2,phone", "c3,fax,2026-03-05 10:00", "c4,phone,2026-03-05 10:00"]) + "\r\n"
    report = wh.import_("contacts", files.text("c.csv", text))
    assert (report.read, report.accepted, report.rejected) == (4, 2, 2)
    assert [(r["line"], r["column"]) for r in wh.rejects()] == [(3, None), (4, "channel")]



def test_crlf_structural_raw_is_the_line_as_read(wh: Any, files: Any) -> None:
    text = "\r\n".join([H, "c1,phone,2026-03-05 10:00", "c2,phone"]) + "\r\n"
    wh.import_("contacts", files.text("c.csv", text))
    [r] = wh.rejects()
    assert r["raw"] == "c2,phone"



def test_blank_lines_do_not_shift_line_numbers(wh: Any, files: Any) -> None:
    text = "\n".join([H, "c1,phone,2026-03-05 10:00", "", "", "c2,fax,2026-03-05 10:00", "c3", "c4,fax,2026-03-05"]) + "\n"
    report = wh.import_("contacts", files.text("c.csv", text))
    assert (report.read, report.accepted, report.rejected) == (4, 1, 3)
    assert [r["line"] for r in wh.rejects()] == [5, 6, 7]


def test_trailing_blank_lines_are_not_records(wh: Any, files: Any) -> None:
    text = H + "\nc1,phone,2026-03-05 10:00\nc2,fax,2026-03-05 10:00\n\n\n"
    report = wh.import_("contacts", files.text("c.csv", text))
    assert (report.read, report.accepted, report.rejected) == (2, 1, 1)
    assert [r["line"] for r in wh.rejects()] == [3]


def test_no_final_newline(wh: Any, files: Any) -> None:
    report = wh.import_("contacts", files.text("c.csv", H + "\nc1,phone,2026-03-05 10:00\nc2,fax,2026-03-05 10:00"))
    assert (report.read, report.accepted, report.rejected) == (2, 1, 1)


def test_unclosed_quote_is_a_structural_reject(wh: Any, files: Any) -> None:
    text = H + ',reason\nc1,phone,2026-03-05 10:00,ok\nc2,phone,2026-03-05 10:00,"ab"c\nc3,phone,2026-03-05 10:00,fine\n'
    report = wh.import_("contacts", files.text("c.csv", text))
    assert report.read == report.accepted + report.rejected
    assert report.rejected >= 1
    assert 3 in [r["line"] for r in wh.rejects()]
    assert {"c1", "c3"} <= {r[0] for r in wh.all("SELECT contact_id FROM contacts")}


def test_quoted_cells_with_delimiters_and_quotes(wh: Any, files: Any) -> None:
    reason = 'he said "stop", then; left'
    path = files.csv("c.csv", ["contact_id", "channel", "created_at", "reason"], [["c1", "phone", "2026-03-05 10:00", reason]])
    wh.import_("contacts", path)
    assert wh.scalar("SELECT reason FROM contacts") == reason


def test_bytes_invalid_in_utf8_make_the_file_read_as_cp1252(wh: Any, files: Any) -> None:
    data = (H + ",note\nc1,phone,2026-03-05 10:00,caf\xe9\n").encode("latin-1")
    report = wh.import_("contacts", files.bytes("c.csv", data))
    assert report.accepted == 1
    assert wh.scalar("SELECT note FROM contacts") == "café"


# --------------------------------------------------------------------------- unreadable inputs


@pytest.mark.parametrize(("name", "data", "fragment"), [
    ("empty.csv", b"", "empty"),
    ("blank.csv", b"\n\n  \n", "empty"),
    ("binary.csv", b"\x00\x01\x02\x03PK\x00\x00", "binary"),
    ("bad.xlsx", b"not a zip", "not a readable XLSX"),
    ("c.dat", b"a,b\n1,2\n", "cannot tell the format"),
])
def test_unreadable_files_are_user_errors(wh: Any, files: Any, name: str, data: bytes, fragment: str) -> None:
    path = files.bytes(name, data)
    with pytest.raises(UserError, match=fragment):
        wh.import_("contacts", path)
    assert wh.count("contacts") == 0
    assert wh.scalar("SELECT count(*) FROM import_log") == 0


def test_header_naming_a_column_twice(wh: Any, files: Any) -> None:
    path = files.text("c.csv", "contact_id,channel,created_at,channel\nc1,phone,2026-03-05,chat\n")
    with pytest.raises(UserError, match="twice"):
        wh.import_("contacts", path)


def test_forced_file_format(wh: Any, files: Any) -> None:
    path = files.text("c.dat", H + "\nc1,phone,2026-03-05 10:00\n")
    report = wh.import_("contacts", path, options=ReadOptions(format="csv"))
    assert report.accepted == 1
    with pytest.raises(UserError, match="unknown file format"):
        wh.import_("contacts", path, options=ReadOptions(format="dbf"))



def test_cp1252_file_with_late_accents(wh: Any, files: Any) -> None:
    rows = [[f"c{i}", "phone", "2026-03-05 10:00", f"plain ascii note number {i:06d}"] for i in range(25_000)]
    rows.append(["c-last", "phone", "2026-03-05 10:00", "crème brûlée à 5 €"])
    path = files.csv("late.csv", ["contact_id", "channel", "created_at", "note"], rows, encoding="cp1252")
    assert path.stat().st_size > 1 << 20
    report = wh.import_("contacts", path)
    assert report.rejected == 0
    assert wh.scalar("SELECT note FROM contacts WHERE contact_id = 'c-last'") == "crème brûlée à 5 €"



@pytest.mark.parametrize("name", ["rowid", "RowID"])
def test_a_source_column_named_like_a_pseudo_column(wh: Any, files: Any, name: str) -> None:
    text = f"contact_id,channel,created_at,{name}\nc1,phone,2026-03-05 10:00,7\nc2,fax,2026-03-05 10:00,8\nc1,chat,2026-03-05 10:00,9\n"
    report = wh.import_("contacts", files.text("c.csv", text))
    assert (report.read, report.accepted, report.rejected) == (3, 1, 2)
    assert [(r["line"], r["column"]) for r in wh.rejects()] == [(3, "channel"), (4, "contact_id")]
    [row] = wh.dicts("SELECT * FROM contacts")
    assert (row["contact_id"], row["channel"]) == ("c1", "phone")
    assert "7" in row.values()  # the source's column is kept


def _both_kept_or_clearly_refused(wh: Any, path: Any, a: str = "A", b: str = "B") -> None:
    try:
        report = wh.import_("contacts", path)
    except UserError as exc:  # refusing the file with one clear line is acceptable...
        message = str(exc)
        assert "\n" not in message
        assert "team" in message.lower()
        assert "Binder Error" not in message and "struct_pack" not in message  # ...in the user's terms
        return
    # loading it is acceptable too, but never silently dropping one of the two columns
    assert report.rejected == 0
    values = {v for row in wh.dicts("SELECT * FROM contacts") for v in row.values()}
    assert {a, b} <= values


def test_two_header_names_that_differ_only_by_case(wh: Any, files: Any) -> None:
    _both_kept_or_clearly_refused(wh, files.text("c.csv", "contact_id,channel,created_at,Team,team\nc1,phone,2026-03-05 10:00,A,B\n"))


def test_json_keys_that_differ_only_by_case(wh: Any, files: Any) -> None:
    path = files.jsonl("c.jsonl", [
        {"contact_id": "c1", "channel": "phone", "created_at": "2026-03-05 10:00", "Team": "A"},
        {"contact_id": "c2", "channel": "phone", "created_at": "2026-03-05 10:00", "team": "B"},
    ])
    _both_kept_or_clearly_refused(wh, path)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_names_with_surrounding_spaces(wh: Any, files: Any, fmt: str) -> None:
    data = {"contact_id": "c1", "channel": "phone", "created_at": "2026-03-05 10:00", " note ": "kept"}
    if fmt == "jsonl":
        path = files.jsonl("c.jsonl", [data])
    else:
        path = files.folder / "c.parquet"
        pq.write_table(pa.table({k: [v] for k, v in data.items()}), path)
    report = wh.import_("contacts", path)
    assert report.accepted == 1
    assert wh.scalar("SELECT note FROM contacts") == "kept"


def test_progress_callback(wh: Any, files: Any) -> None:
    calls: list[tuple[str, float]] = []
    path = files.csv("c.csv", ["contact_id", "channel", "created_at"], [[f"c{i}", "phone", "2026-03-05 10:00"] for i in range(500)])
    report = wh.import_("contacts", path, progress=lambda step, fraction: calls.append((step, fraction)))
    assert report.accepted == 500
    assert calls and all(0.0 <= f <= 1.0 for _, f in calls)
    assert "read and check" in {s for s, _ in calls}
    assert wh.count("contacts") == 500
