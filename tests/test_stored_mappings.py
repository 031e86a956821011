"""Mappings stored by an administrator: named by imports and uploads, never a server path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cxkpi.config import UserError
from cxkpi.service import mappings
from cxkpi.service.imports import import_file
from cxkpi.warehouse import open_warehouse

MAPPING = """\
name: crm-calls
table: contacts
description: the CRM's call list
unmapped: drop
columns:
  contact_id: {column: Ref}
  channel: {value: phone}
  direction: {value: inbound}
  created_at: {column: Start}
  outcome: {column: Result, values: {OK: answered, KO: abandoned}}
  answered_at: {column: Answered}
  ended_at: {column: End}
"""
EXPORT = """\
Ref,Start,Answered,End,Result,Note
c1,2026-03-02T09:00:00Z,2026-03-02T09:00:20Z,2026-03-02T09:05:00Z,OK,x
c2,2026-03-02T09:01:00Z,,2026-03-02T09:02:00Z,KO,y
"""


@pytest.fixture
def con(tmp_path: Path) -> Any:
    c = open_warehouse(tmp_path / "w.duckdb")
    yield c
    c.close()


def test_a_stored_mapping_is_named_by_an_import(con: Any, tmp_path: Path) -> None:
    mappings.add(con, "crm-calls", MAPPING)
    assert mappings.names(con)["stored"] == ["crm-calls"]
    src = tmp_path / "calls.csv"
    src.write_text(EXPORT, encoding="utf-8")
    report = import_file(con, "contacts", src, mapping="crm-calls", mapping_files=False)
    assert (report.read, report.accepted, report.rejected) == (2, 2, 0)
    outcomes = dict(con.execute("SELECT contact_id, outcome FROM contacts").fetchall())
    assert outcomes == {"c1": "answered", "c2": "abandoned"}


def test_a_server_import_never_opens_a_path(con: Any, tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(MAPPING, encoding="utf-8")
    src = tmp_path / "calls.csv"
    src.write_text(EXPORT, encoding="utf-8")
    answers = []
    for name in (str(tmp_path / "mine.yaml"), str(tmp_path / "missing.yaml"), "/etc/passwd"):
        with pytest.raises(UserError) as caught:
            import_file(con, "contacts", src, mapping=name, mapping_files=False)
        answers.append(str(caught.value).replace(repr(name), "NAME"))
    assert len(set(answers)) == 1, answers  # an existing and a missing path get the same answer
    assert "name a shipped or stored mapping (anonymous-bank, phonenow" in answers[0]
    # the command line may name the user's own file
    assert import_file(con, "contacts", src, mapping=str(tmp_path / "mine.yaml")).accepted == 2


@pytest.mark.parametrize(("name", "text", "message"), [
    ("Bad Name", MAPPING, "a mapping name"),
    ("phonenow", MAPPING, "shipped mapping"),
    ("broken", "table: [", "not valid YAML"),
    ("wrong", "table: nowhere\ncolumns: {}\n", "'table' must be one of"),
])
def test_a_bad_mapping_is_not_stored(con: Any, name: str, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        mappings.add(con, name, text)
    assert mappings.names(con)["stored"] == []


def test_the_command_line_stores_lists_and_removes(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "crm.yaml").write_text(MAPPING, encoding="utf-8")
    added = cli("mapping", "add", "crm-calls", str(tmp_path / "crm.yaml"))
    assert added.returncode == 0 and "stored mapping crm-calls for table contacts" in added.stdout
    listed = cli("mappings")
    assert "crm-calls  (contacts)  the CRM's call list [stored]" in listed.stdout
    (tmp_path / "calls.csv").write_text(EXPORT, encoding="utf-8")
    imported = cli("import", "contacts", str(tmp_path / "calls.csv"), "--mapping", "crm-calls")
    assert "accepted 2" in imported.stdout, imported
    assert cli("mapping", "remove", "crm-calls").returncode == 0
    gone = cli("mapping", "remove", "crm-calls")
    assert gone.returncode == 2 and gone.stderr.strip() == "error: no stored mapping 'crm-calls'"
