"""The ``cxkpi`` command line (SPEC §4): output contract, exit codes, one-line errors.

``cli`` runs the real command in a subprocess (the process boundary: exit code, stderr, no
traceback); ``cli_fast`` calls the same entry point in-process for the bulk of the cases.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from cxkpi.schema import TABLES

H = ["contact_id", "channel", "created_at"]
ROWS = [["c1", "phone", "2026-03-05 10:00"], ["c2", "fax", "2026-03-05 10:00"], ["c3", "chat", "2026-03-05 10:05"]]
REPORT_KEYS = {"read", "accepted", "rejected", "new", "changed", "unchanged", "rejects_file"}


def test_import_text_output(cli: Any, files: Any) -> None:
    path = files.csv("c.csv", H, ROWS)
    proc = cli("import", "contacts", str(path))
    assert proc.returncode == 0, proc.stderr  # rejected rows are not an error
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert "read 3" in out and "accepted 2" in out and "rejected 1" in out
    assert "new 2" in out and "changed 0" in out and "unchanged 0" in out
    assert f"{path}.rejects.csv" in out


def test_import_json_output_and_rejects_file(cli: Any, files: Any) -> None:
    path = files.csv("c.csv", H, ROWS)
    proc = cli("import", "contacts", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert REPORT_KEYS <= set(doc)
    assert (doc["read"], doc["accepted"], doc["rejected"], doc["new"], doc["changed"], doc["unchanged"]) == (3, 2, 1, 2, 0, 0)
    for k in ("read", "accepted", "rejected", "new", "changed", "unchanged"):
        assert isinstance(doc[k], int)
    rejects_file = Path(doc["rejects_file"])
    assert rejects_file == Path(f"{path}.rejects.csv")
    assert rejects_file.parent == path.parent  # beside the input
    with rejects_file.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["line", "column", "reason", "raw"]
    assert rows[1][:2] == ["3", "channel"]
    assert "fax" in rows[1][2]
    assert json.loads(rows[1][3])["contact_id"] == "c2"
    # again: everything unchanged, same rejects
    doc2 = json.loads(cli("import", "contacts", str(path), "--format", "json").stdout)
    assert (doc2["new"], doc2["changed"], doc2["unchanged"], doc2["rejected"]) == (0, 0, 2, 1)


def test_import_json_without_rejects(cli_fast: Any, files: Any) -> None:
    path = files.csv("c.csv", H, [ROWS[0]])
    doc = json.loads(cli_fast("import", "contacts", str(path), "--format", "json").stdout)
    assert doc["rejected"] == 0
    assert doc["rejects_file"] is None
    assert not Path(f"{path}.rejects.csv").exists()


def test_import_several_files_json_is_a_list(cli_fast: Any, files: Any) -> None:
    a = files.csv("a.csv", H, ROWS[:1])
    b = files.csv("b.csv", H, ROWS[1:])
    proc = cli_fast("import", "contacts", str(a), str(b), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert isinstance(docs, list) and len(docs) == 2
    assert [d["read"] for d in docs] == [1, 2]
    assert all(REPORT_KEYS <= set(d) for d in docs)


def test_import_with_a_relative_path_writes_rejects_beside_it(cli_fast: Any, files: Any, tmp_path: Path) -> None:
    files.csv("c.csv", H, ROWS)
    proc = cli_fast("import", "contacts", "in/c.csv", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "in" / "c.csv.rejects.csv").exists()


def test_import_options(cli_fast: Any, files: Any) -> None:
    path = files.text("c.dat", "contact_id|channel|created_at|hold_seconds\nc1|phone|2026-03-05 10:00|12,5\n", encoding="cp1252")
    proc = cli_fast("import", "contacts", str(path), "--file-format", "csv", "--delimiter", "|", "--decimal", ",",
               "--encoding", "cp1252", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["accepted"] == 1


def test_mappings_command(cli_fast: Any) -> None:
    proc = cli_fast("mappings")
    assert proc.returncode == 0, proc.stderr
    assert "anonymous-bank" in proc.stdout
    assert "(contacts)" in proc.stdout


# --------------------------------------------------------------------------- errors


@pytest.fixture
def good_csv(files: Any) -> Path:
    return files.csv("c.csv", H, ROWS)  # type: ignore[no-any-return]


def test_error_missing_file(cli: Any, user_error: Any) -> None:
    user_error(cli("import", "contacts", "nowhere.csv"), "nowhere.csv", "no such file")


def test_error_unknown_table(cli: Any, good_csv: Path, user_error: Any) -> None:
    user_error(cli("import", "tickets", str(good_csv)), "unknown table 'tickets'")


def test_error_unknown_mapping(cli_fast: Any, good_csv: Path, user_error: Any) -> None:
    user_error(cli_fast("import", "contacts", str(good_csv), "--mapping", "no-such-mapping"), "unknown mapping 'no-such-mapping'")


def test_error_missing_mapping_file(cli_fast: Any, good_csv: Path, user_error: Any) -> None:
    user_error(cli_fast("import", "contacts", str(good_csv), "--mapping", "absent.yaml"), "does not exist")


def test_error_mapping_names_a_column_the_file_lacks(cli_fast: Any, files: Any, good_csv: Path, user_error: Any) -> None:
    m = files.text("m.yaml", "table: contacts\ncolumns:\n  contact_id: call_ref\n  channel: channel\n  created_at: created_at\n")
    user_error(cli_fast("import", "contacts", str(good_csv), "--mapping", str(m)), "'call_ref'", "does not have")


def test_error_mapping_for_another_table(cli_fast: Any, files: Any, good_csv: Path, user_error: Any) -> None:
    m = files.text("m.yaml", "table: cases\ncolumns:\n  case_id: contact_id\n  opened_at: created_at\n")
    user_error(cli_fast("import", "contacts", str(good_csv), "--mapping", str(m)), "is for table cases")


def test_error_invalid_yaml_mapping(cli_fast: Any, files: Any, good_csv: Path, user_error: Any) -> None:
    m = files.text("m.yaml", "table: contacts\ncolumns: [unclosed\n")
    user_error(cli_fast("import", "contacts", str(good_csv), "--mapping", str(m)), "not valid YAML")


def test_error_unknown_encoding(cli_fast: Any, good_csv: Path, user_error: Any) -> None:
    user_error(cli_fast("import", "contacts", str(good_csv), "--encoding", "klingon"), "unknown encoding 'klingon'")


def test_error_binary_file_as_csv(cli: Any, files: Any, user_error: Any) -> None:
    path = files.bytes("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    user_error(cli("import", "contacts", str(path)), "binary")


def test_error_unknown_time_zone(cli_fast: Any, good_csv: Path, user_error: Any) -> None:
    user_error(cli_fast("import", "contacts", str(good_csv), "--source-tz", "Paris"), "unknown time zone 'Paris'")


def test_error_file_lacking_a_required_column(cli_fast: Any, files: Any, user_error: Any) -> None:
    path = files.csv("c.csv", ["contact_id", "channel"], [["c1", "phone"]])
    user_error(cli_fast("import", "contacts", str(path)), "no column 'created_at'", "required for contacts")


def test_error_empty_file(cli_fast: Any, files: Any, user_error: Any) -> None:
    user_error(cli_fast("import", "contacts", str(files.bytes("e.csv", b""))), "empty")


def test_error_unknown_report_format(cli_fast: Any, good_csv: Path, user_error: Any) -> None:
    user_error(cli_fast("import", "contacts", str(good_csv), "--format", "xml"), "--format")


def test_error_bad_decimal_option(cli_fast: Any, good_csv: Path, user_error: Any) -> None:
    user_error(cli_fast("import", "contacts", str(good_csv), "--decimal", "x"), "--decimal")



def test_error_folder_instead_of_file(cli: Any, files: Any, user_error: Any) -> None:
    user_error(cli("import", "contacts", str(files.folder)), "folder")


def test_error_missing_argument(cli_fast: Any, user_error: Any) -> None:
    user_error(cli_fast("import"), "Missing argument")


def test_error_unknown_option(cli_fast: Any, good_csv: Path, user_error: Any) -> None:
    user_error(cli_fast("import", "contacts", str(good_csv), "--colour"), "--colour")


def test_error_warehouse_that_is_not_a_warehouse(cli_fast: Any, files: Any, good_csv: Path, user_error: Any) -> None:
    junk = files.text("junk.duckdb", "this is not a database\n" * 100)
    user_error(cli_fast("import", "contacts", str(good_csv), db=junk))


def test_error_warehouse_in_a_missing_folder(cli_fast: Any, good_csv: Path, tmp_path: Path, user_error: Any) -> None:
    user_error(cli_fast("import", "contacts", str(good_csv), db=tmp_path / "no" / "such" / "wh.duckdb"), "does not exist")



def test_error_free_malformed_jsonl(cli: Any, files: Any) -> None:
    path = files.text("c.jsonl", '{"contact_id": "c1", "channel": "phone", "created_at": "2026-03-05"}\n{oops\n')
    proc = cli("import", "contacts", str(path), "--format", "json")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["rejected"] == 1


def test_failed_file_keeps_the_warehouse_unchanged(cli_fast: Any, files: Any, good_csv: Path) -> None:
    assert cli_fast("import", "contacts", str(good_csv)).returncode == 0
    bad = files.csv("bad.csv", ["contact_id"], [["x"]])
    proc = cli_fast("import", "contacts", str(bad))
    assert proc.returncode != 0
    doc = json.loads(cli_fast("tables", "--format", "json").stdout)
    assert {d["table"]: d["rows"] for d in doc}["contacts"] == 2


# --------------------------------------------------------------------------- tables, rejects


def test_tables_lists_all_nine_tables(cli_fast: Any, good_csv: Path) -> None:
    assert cli_fast("import", "contacts", str(good_csv)).returncode == 0
    proc = cli_fast("tables")
    assert proc.returncode == 0, proc.stderr
    for name in TABLES:
        assert name in proc.stdout
    assert len(TABLES) == 9
    doc = json.loads(cli_fast("tables", "--format", "json").stdout)
    assert [d["table"] for d in doc] == list(TABLES)
    contacts = doc[0]
    assert (contacts["rows"], contacts["rejected"]) == (2, 1)
    assert contacts["from"].startswith("2026-03-05 10:00:00")
    assert all(d["rows"] == 0 for d in doc[1:])


def test_tables_without_a_warehouse(cli_fast: Any, tmp_path: Path, user_error: Any) -> None:
    user_error(cli_fast("tables", db=tmp_path / "none.duckdb"), "no warehouse")


def test_rejects_listing_and_summary(cli_fast: Any, files: Any) -> None:
    path = files.csv("c.csv", H, ROWS + [["c4", "fax", "2026-03-05"], ["c5", "phone", "later"]])
    assert cli_fast("import", "contacts", str(path)).returncode == 0
    proc = cli_fast("rejects", "--summary", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert {(s["table"], s["rows"]) for s in summary} == {("contacts", 2), ("contacts", 1)}
    assert summary[0]["rows"] == 2 and "fax" in summary[0]["reason"]
    rows = json.loads(cli_fast("rejects", "--format", "json").stdout)
    assert [(r["line"], r["column"]) for r in rows] == [(3, "channel"), (5, "channel"), (6, "created_at")]
    assert all(r["file"] == str(path) and r["table"] == "contacts" for r in rows)
    assert json.loads(cli_fast("rejects", "--table", "cases", "--format", "json").stdout) == []
    assert len(json.loads(cli_fast("rejects", "--limit", "1", "--format", "json").stdout)) == 1
    as_csv = cli_fast("rejects", "--format", "csv").stdout.splitlines()
    assert as_csv[0].startswith("import_id,table,file,line,column,reason,raw")
    assert "Rejected rows" in cli_fast("rejects").stdout


def test_rejects_errors(cli_fast: Any, good_csv: Path, user_error: Any) -> None:
    assert cli_fast("import", "contacts", str(good_csv)).returncode == 0
    user_error(cli_fast("rejects", "--table", "nope"), "unknown table 'nope'")
    user_error(cli_fast("rejects", "--format", "xml"), "--format")
    user_error(cli_fast("rejects", "--limit", "-1"), "--limit")


# --------------------------------------------------------------------------- warehouse choice


def test_cxkpi_db_env_var_chooses_the_warehouse(cli: Any, good_csv: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    assert cli("import", "contacts", str(good_csv), db=a).returncode == 0
    assert a.exists() and not b.exists()
    assert not (tmp_path / "cxkpi.duckdb").exists()
    rows = {d["table"]: d["rows"] for d in json.loads(cli("tables", "--format", "json", db=a).stdout)}
    assert rows["contacts"] == 2
    # --db beats the environment
    proc = cli("--db", str(b), "import", "contacts", str(good_csv), db=a)
    assert proc.returncode == 0, proc.stderr
    assert b.exists()


def test_default_warehouse_is_in_the_current_folder(cli_fast: Any, good_csv: Path, tmp_path: Path) -> None:
    assert cli_fast("import", "contacts", str(good_csv), db=False).returncode == 0
    assert (tmp_path / "cxkpi.duckdb").exists()


# --------------------------------------------------------------------------- help


def test_top_level_help(cli: Any) -> None:
    proc = cli("--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("import", "tables", "rejects", "mappings"):
        assert command in proc.stdout


def test_no_arguments_shows_help(cli_fast: Any) -> None:
    proc = cli_fast()
    assert "Traceback" not in proc.stderr
    assert "import" in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", ["import", "tables", "rejects", "mappings", "demo"])
def test_command_help(cli_fast: Any, command: str) -> None:
    proc = cli_fast(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_import_help_names_the_options(cli_fast: Any) -> None:
    out = cli_fast("import", "--help").stdout
    for option in ("--mapping", "--source-tz", "--format"):
        assert option in out



def test_version(cli_fast: Any) -> None:
    proc = cli_fast("--version")
    assert proc.returncode == 0
    assert "cxkpi" in proc.stdout


def test_rejects_dir_and_import_id_options(cli_fast: Any, files: Any, tmp_path: Path) -> None:
    path = files.csv("c.csv", H, ROWS)
    out_dir = tmp_path / "rejected"
    doc = json.loads(cli_fast("import", "contacts", str(path), "--rejects-dir", str(out_dir), "--format", "json").stdout)
    assert Path(doc["rejects_file"]) == out_dir / "c.csv.rejects.csv"
    assert (out_dir / "c.csv.rejects.csv").exists()
    assert not Path(f"{path}.rejects.csv").exists()
    other = files.csv("d.csv", H, [["d1", "pigeon", "2026-03-05 10:00"]])
    doc2 = json.loads(cli_fast("import", "contacts", str(other), "--format", "json").stdout)
    rows = json.loads(cli_fast("rejects", "--import-id", str(doc2["import_id"]), "--format", "json").stdout)
    assert [(r["file"], r["line"]) for r in rows] == [(str(other), 2)]
    all_rows = json.loads(cli_fast("rejects", "--limit", "0", "--format", "json").stdout)
    assert len(all_rows) == 2


def test_sheet_option(cli_fast: Any, files: Any) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    first.append(["readme"])
    data = wb.create_sheet("Calls")
    data.append(H)
    data.append(["c1", "phone", "2026-03-05 10:00"])
    path = files.folder / "book.xlsx"
    files.folder.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    proc = cli_fast("import", "contacts", str(path), "--sheet", "Calls", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["accepted"] == 1
    proc = cli_fast("import", "contacts", str(path), "--sheet", "Nope")
    assert proc.returncode != 0 and "no sheet 'Nope'" in proc.stderr
