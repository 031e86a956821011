"""Naive timestamps are read in the source zone, DST included; offsets and Z are absolute.

Europe/Paris 2026: clocks go 02:00 -> 03:00 on 2026-03-29 (CET -> CEST) and
03:00 -> 02:00 on 2026-10-25 (CEST -> CET).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cxkpi.config import UserError

PARIS = "Europe/Paris"


def import_times(wh: Any, files: Any, values: list[str], source_tz: str | None = PARIS, table: str = "contacts") -> dict[str, Any]:
    """Import one row per value; return id -> UTC datetime, or the reject reason."""
    if table == "contacts":
        header = ["contact_id", "channel", "created_at"]
        rows = [[f"r{i}", "phone", v] for i, v in enumerate(values)]
    else:
        header = ["case_id", "opened_at"]
        rows = [[f"r{i}", v] for i, v in enumerate(values)]
    path = files.csv(f"{table}.csv", header, rows)
    kwargs = {"source_tz": source_tz} if source_tz else {}
    report = wh.import_(table, path, **kwargs)
    assert report.read == len(values)
    key, ts = header[0], header[-1]
    out: dict[str, Any] = {k: v for k, v in wh.all(f'SELECT {key}, {ts} FROM "{table}"')}
    for r in wh.rejects(report.import_id):
        out[f"r{r['line'] - 2}"] = r["reason"]
    return {values[int(k[1:])]: v for k, v in out.items()}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --------------------------------------------------------------------------- spring forward


def test_spring_forward_existing_times(wh: Any, files: Any) -> None:
    got = import_times(wh, files, [
        "2026-03-29 00:30:00", "2026-03-29 01:59:59", "2026-03-29 03:00:00", "2026-03-29 03:00:01",
        "2026-03-29 12:00:00", "2026-03-29 01:59:59.999",
    ])
    assert got == {
        "2026-03-29 00:30:00": utc(2026, 3, 28, 23, 30),
        "2026-03-29 01:59:59": utc(2026, 3, 29, 0, 59, 59),
        "2026-03-29 03:00:00": utc(2026, 3, 29, 1, 0),
        "2026-03-29 03:00:01": utc(2026, 3, 29, 1, 0, 1),
        "2026-03-29 12:00:00": utc(2026, 3, 29, 10, 0),
        "2026-03-29 01:59:59.999": datetime(2026, 3, 29, 0, 59, 59, 999000, tzinfo=UTC),
    }


@pytest.mark.parametrize("local", ["2026-03-29 02:00:00", "2026-03-29 02:30:00", "2026-03-29 02:59:59", "2026-03-29T02:15"])
def test_spring_forward_nonexistent_time_is_rejected(wh: Any, files: Any, local: str) -> None:
    got = import_times(wh, files, ["2026-03-29 01:00:00", local])
    assert got["2026-03-29 01:00:00"] == utc(2026, 3, 29, 0, 0)
    reason = got[local]
    assert isinstance(reason, str)
    assert reason == f"created_at: '{local}' does not exist in Europe/Paris (clocks skip it)"
    [r] = wh.rejects()
    assert (r["line"], r["column"]) == (3, "created_at")
    assert json.loads(r["raw"])["created_at"] == local


def test_nonexistent_time_in_another_table_and_zone(wh: Any, files: Any) -> None:
    got = import_times(wh, files, ["2026-03-08 02:30:00", "2026-03-08 03:30:00"], source_tz="America/New_York", table="cases")
    assert got["2026-03-08 03:30:00"] == utc(2026, 3, 8, 7, 30)  # EDT, UTC-4
    assert "does not exist in America/New_York" in got["2026-03-08 02:30:00"]


def test_nonexistent_local_time_is_fine_in_utc(wh: Any, files: Any) -> None:
    got = import_times(wh, files, ["2026-03-29 02:30:00"], source_tz="UTC")
    assert got == {"2026-03-29 02:30:00": utc(2026, 3, 29, 2, 30)}


def test_default_source_zone_is_utc(wh: Any, files: Any) -> None:
    got = import_times(wh, files, ["2026-03-29 02:30:00", "2026-07-01 12:00:00"], source_tz=None)
    assert got == {"2026-03-29 02:30:00": utc(2026, 3, 29, 2, 30), "2026-07-01 12:00:00": utc(2026, 7, 1, 12, 0)}


# --------------------------------------------------------------------------- fall back


def test_fall_back(wh: Any, files: Any) -> None:
    got = import_times(wh, files, [
        "2026-10-25 01:59:59", "2026-10-25 02:00:00", "2026-10-25 02:30:00", "2026-10-25 02:59:59", "2026-10-25 03:00:00",
    ])
    assert got == {
        "2026-10-25 01:59:59": utc(2026, 10, 24, 23, 59, 59),  # CEST, UTC+2
        # ambiguous hour (it happens twice): read as standard time, CET = UTC+1, i.e. the second pass
        "2026-10-25 02:00:00": utc(2026, 10, 25, 1, 0),
        "2026-10-25 02:30:00": utc(2026, 10, 25, 1, 30),
        "2026-10-25 02:59:59": utc(2026, 10, 25, 1, 59, 59),
        "2026-10-25 03:00:00": utc(2026, 10, 25, 2, 0),  # CET
    }
    assert wh.rejects() == []


def test_both_passes_of_the_ambiguous_hour_can_be_written_with_offsets(wh: Any, files: Any) -> None:
    got = import_times(wh, files, ["2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"])
    assert got == {"2026-10-25T02:30:00+02:00": utc(2026, 10, 25, 0, 30), "2026-10-25T02:30:00+01:00": utc(2026, 10, 25, 1, 30)}


# --------------------------------------------------------------------------- offsets and Z


@pytest.mark.parametrize("source_tz", ["Europe/Paris", "UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_explicit_offsets_are_absolute(wh: Any, files: Any, source_tz: str) -> None:
    values = {
        "2026-03-29T02:30:00Z": utc(2026, 3, 29, 2, 30),  # would not exist in Paris, but it is UTC
        "2026-03-29T02:30:00+01:00": utc(2026, 3, 29, 1, 30),
        "2026-01-15 10:00:00+05:30": utc(2026, 1, 15, 4, 30),
        "2026-01-15 10:00:00-0500": utc(2026, 1, 15, 15, 0),
        "2026-01-15 10:00:00+02": utc(2026, 1, 15, 8, 0),
        "2026-01-15T10:00:00.250Z": datetime(2026, 1, 15, 10, 0, 0, 250000, tzinfo=UTC),
        "2026-07-01T00:00Z": utc(2026, 7, 1, 0, 0),
    }
    got = import_times(wh, files, list(values), source_tz=source_tz)
    assert got == values


@pytest.mark.parametrize(("local", "expected"), [
    ("2026-01-31 23:30:00", utc(2026, 1, 31, 22, 30)),   # stays in January in UTC
    ("2026-02-01 00:30:00", utc(2026, 1, 31, 23, 30)),   # February in Paris, January in UTC
    ("2026-01-01 00:30:00", utc(2025, 12, 31, 23, 30)),  # new year in Paris, old year in UTC
    ("2026-07-01 01:00:00", utc(2026, 6, 30, 23, 0)),    # summer: UTC+2
    ("2026-03-01", utc(2026, 2, 28, 23, 0)),             # a date alone is local midnight
])
def test_month_and_year_boundaries(wh: Any, files: Any, local: str, expected: datetime) -> None:
    assert import_times(wh, files, [local]) == {local: expected}


def test_order_rules_compare_instants_across_the_dst_change(wh: Any, files: Any) -> None:
    # 01:59:59 CET then 03:00:00 CEST: one second later, not an hour
    path = files.csv("c.csv", ["contact_id", "channel", "created_at", "answered_at", "ended_at"], [
        ["c1", "phone", "2026-03-29 01:59:59", "2026-03-29 03:00:00", "2026-03-29 03:00:10"],
    ])
    report = wh.import_("contacts", path, source_tz=PARIS)
    assert report.accepted == 1
    wait = wh.scalar("SELECT epoch(answered_at) - epoch(created_at) FROM contacts")
    assert wait == 1



def test_zone_names_are_not_silently_ignored(wh: Any, files: Any) -> None:
    got = import_times(wh, files, ["2026-01-15 10:00:00 EST"], source_tz=PARIS)
    value = got["2026-01-15 10:00:00 EST"]
    # either rejected as not ISO 8601, or read as EST (15:00Z); never as Paris time (09:00Z)
    assert isinstance(value, str) or value == utc(2026, 1, 15, 15, 0)


# --------------------------------------------------------------------------- where the zone comes from


MAPPING = """\
name: ny-contacts
table: contacts
source_tz: America/New_York
columns:
  contact_id: id
  channel: {value: phone}
  created_at: when
"""


def test_source_zone_precedence(wh: Any, files: Any) -> None:
    mapping = files.text("ny.yaml", MAPPING)
    path = files.csv("m.csv", ["id", "when"], [["m1", "2026-01-15 10:00:00"]])
    # the mapping's zone
    wh.import_("contacts", path, mapping=str(mapping))
    assert wh.scalar("SELECT created_at FROM contacts") == utc(2026, 1, 15, 15, 0)
    # the option beats the mapping
    wh.import_("contacts", path, mapping=str(mapping), source_tz="Asia/Tokyo")
    assert wh.scalar("SELECT created_at FROM contacts") == utc(2026, 1, 15, 1, 0)
    # without option nor mapping: the warehouse setting, else UTC
    plain = files.csv("p.csv", ["contact_id", "channel", "created_at"], [["p1", "chat", "2026-01-15 10:00:00"]])
    wh.import_("contacts", plain)
    assert wh.scalar("SELECT created_at FROM contacts WHERE contact_id = 'p1'") == utc(2026, 1, 15, 10, 0)
    wh.con.execute("INSERT INTO warehouse_config VALUES ('source_tz', 'Europe/Paris')")
    wh.import_("contacts", plain)
    assert wh.scalar("SELECT created_at FROM contacts WHERE contact_id = 'p1'") == utc(2026, 1, 15, 9, 0)
    log = [r[0] for r in wh.all("SELECT source_tz FROM import_log ORDER BY import_id")]
    assert log == ["America/New_York", "Asia/Tokyo", "UTC", "Europe/Paris"]


def test_unknown_zone_is_a_user_error(wh: Any, files: Any) -> None:
    path = files.csv("c.csv", ["contact_id", "channel", "created_at"], [["c1", "phone", "2026-01-01"]])
    with pytest.raises(UserError, match="unknown time zone 'Mars/Olympus'"):
        wh.import_("contacts", path, source_tz="Mars/Olympus")
    assert wh.count("contacts") == 0


# --------------------------------------------------------------------------- CLI


def test_cli_source_tz(cli: Any, files: Any, wh: Any) -> None:
    wh.close()
    path = files.csv("c.csv", ["contact_id", "channel", "created_at"], [
        ["c1", "phone", "2026-03-29 01:59:59"], ["c2", "phone", "2026-03-29 02:30:00"], ["c3", "phone", "2026-10-25 02:30:00"],
        ["c4", "phone", "2026-01-31 23:30:00"], ["c5", "phone", "2026-03-29T02:30:00Z"],
    ])
    proc = cli("import", "contacts", str(path), "--source-tz", PARIS, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["read"], doc["accepted"], doc["rejected"]) == (5, 4, 1)
    from cxkpi.warehouse import open_warehouse

    con = open_warehouse(wh.path, read_only=True)
    try:
        got = dict(con.execute("SELECT contact_id, created_at FROM contacts").fetchall())
        rejects = con.execute("SELECT line, reason FROM rejects").fetchall()
    finally:
        con.close()
    assert got == {
        "c1": utc(2026, 3, 29, 0, 59, 59), "c3": utc(2026, 10, 25, 1, 30), "c4": utc(2026, 1, 31, 22, 30),
        "c5": utc(2026, 3, 29, 2, 30),
    }
    assert rejects == [(3, "created_at: '2026-03-29 02:30:00' does not exist in Europe/Paris (clocks skip it)")]


def test_cli_unknown_source_tz(cli: Any, files: Any, user_error: Any) -> None:
    path = files.csv("c.csv", ["contact_id", "channel", "created_at"], [["c1", "phone", "2026-01-01"]])
    user_error(cli("import", "contacts", str(path), "--source-tz", "Europe/Atlantis"), "unknown time zone")
