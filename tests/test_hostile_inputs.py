"""Hostile but plausible input: a clear 4xx, never a 5xx, never a hint about the server's files.

Each case here once made the server answer 500: XLSX exports of rows with zoned timestamps,
KPI parameters out of range (``1e300``, ``inf``, ``nan``, negative), dates near the limits
of the calendar (``9999-12-31``, ``0001-01-01``), uploads named ``..`` or 300 characters
long, and an upload's ``mapping`` field read as a path on the server (a binary file, a
folder; and whether the answer differed told a manager which files exist). A mapping file
given on the command line that is not a mapping is a user error there too.

Read-only cases share the session's served warehouse (``web_app``); uploads go to an empty
warehouse of this module's own.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cxkpi.access.users import Role, add_user
from cxkpi.config import UserError
from cxkpi.dashboard.widgets import export_response
from cxkpi.ingest import available_mappings, load_mapping
from cxkpi.kpi.model import Grain
from cxkpi.kpi.params import parse_assignments, resolve
from cxkpi.kpi.periods import (
    local_midnight_utc,
    next_start,
    parse_date,
    period_start,
    periods,
)
from cxkpi.warehouse.connection import open_warehouse
from cxkpi.warehouse.control import ServerInfo, forward_import
from web_support import bearer, one_line_error

RANGE = ("1900-01-01", "2199-12-31")  # the dates accepted, as the messages say


def one_line(resp: Any, *fragments: str) -> str:
    """A 400 with a one-line ``detail`` holding every fragment."""
    return one_line_error(resp, 400, *fragments)


@pytest.fixture(scope="module")
def manager(web_app: Any) -> TestClient:
    """A manager's bearer client of the shared served warehouse (read-only use)."""
    client = TestClient(web_app, raise_server_exceptions=False)
    client.headers.update(bearer(web_app, "manager"))
    return client


# --- XLSX exports: Excel has no time zones -----------------------------------------------------


def test_xlsx_export_writes_wall_times_of_the_zone_it_names() -> None:
    instant = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 in Paris: the spring-forward night
    frame = pd.DataFrame({
        "contact_id": ["C1", "C2"],
        "created_at": pd.Series([instant, None], dtype="datetime64[us, UTC]"),
        "mixed": pd.Series([instant, "text"], dtype=object),  # a zoned cell among others
        "arrow": pd.Series([instant, instant]).astype("timestamp[us, tz=UTC][pyarrow]"),
        "edge": pd.Series([datetime(1, 1, 1, tzinfo=UTC), instant], dtype=object),  # Excel has no year 1
        "day": [date(2026, 3, 29), date(1899, 12, 31)],
        "naive": pd.Series([datetime(1800, 1, 1), datetime(2026, 1, 1)], dtype="datetime64[s]"),
    })
    resp = export_response(frame, "xlsx", "rows", tz="Europe/Paris")
    sheet = load_workbook(io.BytesIO(resp.body)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header == ["contact_id", "created_at (Europe/Paris)", "mixed (Europe/Paris)", "arrow (Europe/Paris)",
                      "edge (Europe/Paris)", "day", "naive"]
    row = [c.value for c in sheet[2]]
    assert row[1] == row[2] == row[3] == datetime(2026, 3, 29, 3, 30)
    assert row[4:] == ["0001-01-01T00:09:21", datetime(2026, 3, 29), "1800-01-01T00:00:00"]  # before Excel's calendar: text
    assert [c.value for c in sheet[3]][1:3] == [None, "text"]
    assert [c.value for c in sheet[3]][5:] == ["1899-12-31", datetime(2026, 1, 1)]


def test_xlsx_export_without_a_zone_keeps_each_column_s_own() -> None:
    frame = pd.DataFrame({
        "at": pd.Series([datetime(2026, 1, 1, 12, tzinfo=ZoneInfo("Asia/Kolkata"))]).astype("datetime64[us, Asia/Kolkata]"),
        "cell": pd.Series([datetime(9999, 12, 31, 23, tzinfo=ZoneInfo("Pacific/Kiritimati"))], dtype=object),
    })
    sheet = load_workbook(io.BytesIO(export_response(frame, "xlsx", "rows").body)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == ["at (Asia/Kolkata)", "cell (UTC)"]
    at, cell = (c.value for c in sheet[2])
    assert at == datetime(2026, 1, 1, 12)
    assert cell == datetime(9999, 12, 31, 9)


@pytest.mark.parametrize("kpi", ["aht", "backlog_open", "occupancy", "csat", "quality_score", "churn_rate"])
def test_xlsx_export_of_drill_rows(kpi: str, client_as: Any) -> None:
    client = client_as("manager")
    query = {"grain": "day", "date": "2026-03-02", "table": "rows"}
    resp = client.get(f"/drill/{kpi}", params={**query, "export": "xlsx"})
    assert resp.status_code == 200, resp.text[:300]
    sheet = load_workbook(io.BytesIO(resp.content)).active
    assert sheet is not None
    header = [str(c.value) for c in sheet[1]]
    zoned = [i for i, h in enumerate(header) if h.endswith(")") and " (" in h]
    assert zoned, header  # every KPI here reads timestamps
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    for i in zoned:
        assert all(not isinstance(r[i], datetime) or r[i].tzinfo is None for r in rows)
    # the same instants as the CSV export (which keeps offsets), in the zone the header names
    csv = pd.read_csv(io.StringIO(client.get(f"/drill/{kpi}", params={**query, "export": "csv"}).text), dtype=str)
    first = zoned[0]
    name, zone = header[first][:-1].split(" (")
    expected = sorted(pd.Timestamp(v).tz_convert(zone).tz_localize(None).floor("s") for v in csv[name].dropna())
    got = sorted(pd.Timestamp(r[first]).floor("s") for r in rows if r[first] is not None)
    assert got == expected


# --- KPI parameters: finite, within their declared bounds ----------------------------------------

OUT_OF_BOUNDS = [
    ("fcr", "fcr_window_days=1e300", "fcr_window_days", "from 0 to 366"),
    ("fcr", "fcr_window_days=inf", "fcr_window_days", "from 0 to 366"),
    ("fcr", "fcr_window_days=-inf", "fcr_window_days", "from 0 to 366"),
    ("fcr", "fcr_window_days=nan", "fcr_window_days", "from 0 to 366"),
    ("fcr", "fcr_window_days=-1", "fcr_window_days", "from 0 to 366"),
    ("delinquency_rate", "delinquency_days=1e30", "delinquency_days", "whole number from 1 to 3650"),
    ("delinquency_rate", "delinquency_days=-3", "delinquency_days", "from 1 to 3650"),
    ("delinquency_rate", "delinquency_days=2.5", "delinquency_days", "whole number"),
    ("csat", "csat_top_box=1e30", "csat_top_box", "from 1 to 5"),
    ("csat", "csat_top_box=0", "csat_top_box", "from 1 to 5"),
    ("short_abandons", "short_abandon_s=-1", "short_abandon_s", "from 0 to 3600"),
    ("short_abandons", "short_abandon_s=1e300", "short_abandon_s", "from 0 to 3600"),
    ("service_level", "answer_threshold_s.phone=inf", "answer_threshold_s.phone", "from 0 to 2592000"),
    ("service_level", "answer_threshold_s.chat=-5", "answer_threshold_s.chat", "from 0 to 2592000"),
    ("service_level", "answer_threshold_s=30", "answer_threshold_s.CHANNEL", ""),
    ("service_level", "service_level_abandons=sometimes", "service_level_abandons", "against, ignored, met_within_t"),
    ("negative_verbatim_rate", "negative_sentiment_below=nan", "negative_sentiment_below", "from -1 to 1"),
    ("negative_verbatim_rate", "negative_sentiment_below=-1e300", "negative_sentiment_below", "from -1 to 1"),
    ("fcr", "fcr_same_reason=maybe", "fcr_same_reason", "true or false"),
    ("fcr", "fcr_window_days=" + "9" * 150, "fcr_window_days", "from 0 to 366"),
]


@pytest.mark.parametrize(("kpi", "param", "name", "accepted"), OUT_OF_BOUNDS, ids=[p[:40] for _, p, _, _ in OUT_OF_BOUNDS])
def test_out_of_range_kpi_parameter_is_a_400_naming_it_and_its_range(
        manager: TestClient, kpi: str, param: str, name: str, accepted: str) -> None:
    detail = one_line(manager.get("/api/kpis", params={"kpi": kpi, "param": param}), name, accepted)
    assert len(detail) < 300, detail


@pytest.mark.parametrize("param", ["fcr_window_days=0", "fcr_window_days=366", "csat_top_box=5", "delinquency_days=3650",
                                   "delinquency_days=30.0", "negative_sentiment_below=-1", "answer_threshold_s.email=2592000"])
def test_parameters_at_their_bounds_are_accepted(manager: TestClient, param: str) -> None:
    kpi = {"fcr": "fcr", "csa": "csat", "del": "delinquency_rate", "neg": "negative_verbatim_rate", "ans": "service_level"}
    resp = manager.get("/api/kpis", params={"kpi": kpi[param[:3]], "param": param})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("overrides", [
    {"fcr_window_days": float("inf")}, {"fcr_window_days": float("nan")}, {"delinquency_days": 10**400},
    {"csat_top_box": True}, {"short_abandon_s": None}, {"answer_threshold_s": {"phone": float("-inf")}},
    {"answer_threshold_s": 20}, {"service_level_abandons": ["against"]},
])
def test_resolve_checks_python_callers_too(overrides: dict[str, Any]) -> None:
    """The Python API (``KpiQuery(params=...)``) goes through the same bounds."""
    with pytest.raises(UserError, match=f"KPI parameter {next(iter(overrides))}"):
        resolve(overrides)


def test_parsed_parameters_are_typed_and_keep_other_channels() -> None:
    parsed = parse_assignments(["answer_threshold_s.chat=30", "delinquency_days=30.0", "fcr_same_reason=yes"])
    assert parsed["answer_threshold_s"]["chat"] == 30.0 and parsed["answer_threshold_s"]["phone"] == 20
    assert parsed["delinquency_days"] == 30 and isinstance(parsed["delinquency_days"], int)
    assert parsed["fcr_same_reason"] is True
    assert resolve(parsed)["answer_threshold_s"] == parsed["answer_threshold_s"]


# --- dates: within 1900-01-01..2199-12-31, so period arithmetic cannot overflow -------------------

EXTREME = ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"]


@pytest.mark.parametrize("day", EXTREME)
@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_overview_of_an_extreme_day_is_a_400(manager: TestClient, day: str, grain: str) -> None:
    one_line(manager.get("/api/overview", params={"date": day, "grain": grain}), day, *RANGE)


@pytest.mark.parametrize(("start", "end"), [("9999-12-30", "9999-12-31"), ("0001-01-01", "0001-01-02")])
def test_overview_of_an_extreme_custom_range_is_a_400(manager: TestClient, start: str, end: str) -> None:
    one_line(manager.get("/api/overview", params={"grain": "custom", "from": start, "to": end}), *RANGE)


@pytest.mark.parametrize("day", EXTREME)
@pytest.mark.parametrize("kpis", [["aht"], ["asa_business", "backlog_open"]])
@pytest.mark.parametrize("which", ["from", "to"])
def test_kpis_with_an_extreme_date_is_a_400(manager: TestClient, day: str, kpis: list[str], which: str) -> None:
    one_line(manager.get("/api/kpis", params={"kpi": kpis, which: day, "grain": "week"}), day, *RANGE)


@pytest.mark.parametrize("day", EXTREME)
def test_drill_with_an_extreme_date_is_a_400(manager: TestClient, day: str) -> None:
    one_line(manager.get("/api/drill/asa_business", params={"from": day, "to": day}), day, *RANGE)


def test_dates_at_the_bounds_are_accepted(manager: TestClient) -> None:
    for query in ({"from": "1900-01-01", "to": "1900-01-31", "grain": "week"}, {"from": "2199-12-01", "to": "2199-12-31"}):
        assert manager.get("/api/kpis", params={"kpi": ["aht", "backlog_open"], **query}).status_code == 200
    for day, grain in (("1900-01-01", "day"), ("2199-12-31", "week"), ("2199-12-31", "year")):
        resp = manager.get("/api/overview", params={"date": day, "grain": grain})
        assert resp.status_code == 200, resp.text[:300]


PAGES = ["/", "/channels", "/dimension/flow", "/agents", "/customers", "/finance", "/drill/aht", "/kpi/aht"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("query", [{"date": "9999-12-31", "grain": "month"}, {"date": "0001-01-01", "grain": "week"},
                                   {"grain": "custom", "from": "9999-12-30", "to": "9999-12-31"},
                                   {"grain": "custom", "from": "0001-01-01", "to": "0001-01-01", "export": "xlsx", "table": "rows"}],
                         ids=["max", "min", "custom-max", "custom-min-export"])
def test_pages_never_fail_on_extreme_dates(client_as: Any, page: str, query: dict[str, str]) -> None:
    resp = client_as("manager").get(page, params=query)
    assert resp.status_code < 500, resp.text[:300]


def test_period_functions_refuse_what_would_overflow() -> None:
    with pytest.raises(UserError, match="from 1900-01-01 to 2199-12-31"):
        parse_date("9999-12-31", "--to")
    with pytest.raises(UserError, match="--from must be a date from 1900-01-01 to 2199-12-31, got 0001-01-01"):
        parse_date("0001-01-01", "--from")
    assert parse_date("1900-01-01", "--from") == date(1900, 1, 1) and parse_date("2199-12-31", "--to") == date(2199, 12, 31)
    for call in (lambda: period_start(date.max, Grain.WEEK), lambda: next_start(date(9999, 12, 1), Grain.MONTH),
                 lambda: local_midnight_utc(date.min, "Pacific/Kiritimati"),
                 lambda: periods(date(2026, 1, 1), date.max, Grain.YEAR, "UTC"),
                 lambda: period_start(date.min + timedelta(days=3), Grain.WEEK)):
        with pytest.raises(UserError, match="out of range"):
            call()


# --- uploads: a safe name, a shipped mapping ------------------------------------------------------

CSV = b"contact_id,channel,created_at\nHX1,phone,2026-03-02T10:00:00Z\nHX2,pigeon,2026-03-02T10:00:00Z\n"


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, TestClient]]:
    """An app over an empty warehouse of this module's own, and a manager's bearer client of it."""
    from cxkpi.server.app import create_app

    os.environ["CXKPI_ARGON2_FAST"] = "1"
    path = tmp_path_factory.mktemp("hostile") / "uploads.duckdb"
    con = open_warehouse(path)
    try:
        add_user(con, "manager", "correct-horse-battery", Role.MANAGER)
    finally:
        con.close()
    app = create_app(path, secure_cookies=False)
    client = TestClient(app, raise_server_exceptions=False)
    client.headers.update(bearer(app, "manager"))
    try:
        yield app, client
    finally:
        client.close()
        app.state.server.warehouse.close()


def upload(client: TestClient, filename: bytes, data: bytes = CSV, **fields: str) -> Any:
    """A multipart upload written by hand: the file name goes out byte for byte, as a hostile client sends it."""
    boundary = b"hostile-boundary-7f3a"
    parts = [b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (boundary, k.encode(), v.encode())
             for k, v in {"table": "contacts", **fields}.items()]
    parts.append(b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                 b"Content-Type: text/csv\r\n\r\n%s\r\n" % (boundary, filename, data))
    body = b"".join(parts) + b"--%s--\r\n" % boundary
    return client.post("/api/imports", content=body,
                       headers={"content-type": f"multipart/form-data; boundary={boundary.decode()}"})


@pytest.mark.parametrize(("filename", "shown"), [
    (b"..", "upload.csv"),
    (b".", "upload.csv"),
    (b"", "upload.csv"),
    (b"../../etc/cron.d/x.csv", "x.csv"),
    (b"..\\..\\Windows\\ev\x01il\x1b[31m.csv", "evil[31m.csv"),
    (b"tab\there\x7f.csv", "tabhere.csv"),
    (b"a" * 300 + b".csv", "a" * 96 + ".csv"),
    ("é".encode() * 300 + b".csv", "é" * 96 + ".csv"),
    (b"\xff\xfe.csv", "ÿþ.csv"),
], ids=["dotdot", "dot", "empty", "slashes", "backslashes-control", "tab-del", "300-chars", "300-accents", "latin-1"])
def test_an_upload_is_known_by_a_safe_base_name(writable: tuple[Any, TestClient], filename: bytes, shown: str) -> None:
    _, client = writable
    resp = upload(client, filename)
    assert resp.status_code == 200, resp.text[:500]
    report = resp.json()
    assert (report["file"], report["accepted"], report["rejected"]) == (shown, 1, 1)
    log = client.get("/api/imports", params={"limit": 1}).json()["rows"][0]
    assert (log["import_id"], log["file"]) == (report["import_id"], shown)
    rejects = client.get("/api/rejects", params={"import_id": report["import_id"]}).json()["rows"]
    assert [r["file"] for r in rejects] == [shown]


def test_an_upload_s_name_in_an_error_is_the_safe_one(writable: tuple[Any, TestClient]) -> None:
    _, client = writable
    detail = one_line(upload(client, b"../" + b"b" * 300 + b".csv", data=b"contact_id\n1\n"), "b" * 96 + ".csv", "channel")
    assert "cxkpi-upload" not in detail and "/tmp" not in detail and "b" * 97 not in detail


def hostile_mappings(tmp: Path) -> list[str]:
    binary = tmp / "binary.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    (tmp / "folder.yaml").mkdir(exist_ok=True)
    return [str(binary), str(tmp / "folder.yaml"), str(tmp / "missing.yaml"), "/etc/passwd", "/etc", "/dev/zero",
            "../../../../etc/hostname", "phonenow.yaml", "./phonenow", "C:\\Windows\\win.ini", "..", "x" * 100]


def anonymous(detail: str, mapping: str) -> str:
    """An answer with the name it echoes taken out (the client's own input, not the server's)."""
    return detail.replace(repr(mapping[:100]), "NAME")


def test_an_upload_s_mapping_is_a_name_never_a_path(writable: tuple[Any, TestClient], tmp_path: Path) -> None:
    _, client = writable
    answers = set()
    for mapping in hostile_mappings(tmp_path):
        resp = upload(client, b"calls.csv", mapping=mapping)
        detail = one_line(resp, "name a shipped or stored mapping", *available_mappings())
        answers.add((resp.status_code, anonymous(detail, mapping)))
    assert len(answers) == 1, answers  # an existing file, a folder, a missing one: the same answer


def test_an_existing_and_a_missing_path_get_the_same_answer(writable: tuple[Any, TestClient], tmp_path: Path) -> None:
    _, client = writable
    (tmp_path / "exists.yaml").write_text("table: contacts\ncolumns: {contact_id: id}\n")
    answers = []
    for mapping in (str(tmp_path / "exists.yaml"), str(tmp_path / "absent.yaml")):
        resp = upload(client, b"calls.csv", mapping=mapping)
        answers.append((resp.status_code, anonymous(resp.json()["detail"], mapping)))
    assert answers[0] == answers[1] and answers[0][0] == 400, answers


def test_a_shipped_or_stored_mapping_or_none_is_accepted(writable: tuple[Any, TestClient]) -> None:
    from cxkpi.service import mappings

    app, client = writable
    detail = one_line(upload(client, b"calls.csv", mapping="phonenow"), "mapping phonenow")  # read, then checked against the file
    assert "stored mapping" not in detail
    assert upload(client, b"calls.csv", mapping="").status_code == 200  # a form's empty field: no mapping
    with app.state.server.warehouse.writer() as con:
        mappings.add(con, "hostile-calls", "table: contacts\ncolumns: {contact_id: id, channel: {value: phone}, created_at: at}\n")
    resp = upload(client, b"calls.csv", data=b"id,at\nHS1,2026-03-02T10:00:00Z\n", mapping="hostile-calls")
    assert resp.status_code == 200 and resp.json()["accepted"] == 1, resp.text


# --- mapping files: whatever they hold, a user error ---------------------------------------------

BAD_MAPPINGS: list[tuple[str, bytes, str]] = [
    ("binary.yaml", bytes(range(256)) * 4, "not UTF-8"),
    ("latin1.yaml", "table: contacts\ncolumns: {contact_id: numéro}\n".encode("latin-1"), "not UTF-8"),
    ("nul.yaml", b"table: contacts\x00\n", "not valid YAML"),
    ("list.yaml", b"- table: contacts\n", "expected a YAML mapping"),
    ("scalar.yaml", b"just text\n", "expected a YAML mapping"),
    ("empty.yaml", b"", "expected a YAML mapping"),
    ("table-list.yaml", b"table: [contacts]\ncolumns: {contact_id: id}\n", "'table' must be one of"),
    ("keys.yaml", b"table: contacts\ncolumns: {contact_id: {column: id, 1: x, zz: y}}\n", "unknown key(s) 1, zz"),
    ("when.yaml", b"table: contacts\ncolumns: {contact_id: {column: id, when: {column: a, in: 5}}}\n", "'when'"),
    ("add.yaml", b"table: contacts\ncolumns: {created_at: {column: d, format: '%Y', add: 5}}\n", "'add'"),
    ("loop.yaml", b"table: contacts\ncolumns: {contact_id: &a {coalesce: [*a]}}\n", "nested too deep"),
    ("deep.yaml", b"[" * 5000 + b"]" * 5000, "mapping"),
    ("huge.yaml", b"# " + b"x" * (1 << 20) + b"\n", "larger than"),
]


@pytest.mark.parametrize(("name", "data", "fragment"), BAD_MAPPINGS, ids=[n for n, _, _ in BAD_MAPPINGS])
def test_a_mapping_file_that_is_not_a_mapping_is_a_user_error(tmp_path: Path, name: str, data: bytes, fragment: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UserError, match="mapping") as caught:
        load_mapping(str(path))
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("target", ["folder", "/dev/zero", "x" * 5000 + ".yaml", "nul\x00.yaml"])
def test_a_mapping_path_that_is_not_a_file_is_a_user_error(tmp_path: Path, target: str) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(UserError, match="mapping"):
        load_mapping(str(tmp_path / target) if target == "folder" else target)


def test_a_shipped_name_never_reads_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "phonenow").write_bytes(b"\xff\xfe not a mapping")
    assert load_mapping("phonenow").table == "contacts"


def test_the_command_line_says_a_binary_mapping_is_not_one(cli_fast: Any, files: Any, user_error: Any) -> None:
    data = files.bytes("calls.csv", CSV)
    mapping = files.bytes("binary.yaml", bytes(range(256)) * 4)
    user_error(cli_fast("import", "contacts", str(data), "--mapping", str(mapping)), "binary.yaml", "not UTF-8")


def test_the_control_route_reads_a_local_mapping_safely(writable: tuple[Any, TestClient], tmp_path: Path) -> None:
    """``cxkpi import`` hands a path to the running server: a mapping file keeps working, a bad one is a 400."""
    app, client = writable
    secret = {"x-cxkpi-control": app.state.server.warehouse.control_secret}
    data = tmp_path / "calls.csv"
    data.write_text("id,when\nHC1,2026-03-02T10:00:00Z\n")
    good = tmp_path / "calls.yaml"
    good.write_text("table: contacts\ncolumns: {contact_id: id, channel: {value: phone}, created_at: when}\n")
    resp = client.post("/api/control/import", json={"table": "contacts", "path": str(data), "mapping": str(good)}, headers=secret)
    assert resp.status_code == 200 and resp.json()["accepted"] == 1, resp.text
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    for mapping, fragment in ((binary, "not UTF-8"), (tmp_path, "not a file"), (tmp_path / "gone.yaml", "does not exist")):
        one_line(client.post("/api/control/import", json={"table": "contacts", "path": str(data), "mapping": str(mapping)},
                             headers=secret), fragment)


def test_the_command_line_reports_any_error_answer_of_the_server() -> None:
    """An answer whose body is not ``{"detail": ...}`` (a proxy's page, a JSON list) is still one clear line."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            body = json.dumps(["not", "a", "mapping"]).encode()
            self.send_response(400)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        info = ServerInfo(url=f"http://127.0.0.1:{server.server_address[1]}", secret="s", pid=os.getpid())
        with pytest.raises(UserError, match="answered 400"):
            forward_import(info, {"table": "contacts"}, timeout_s=10)
    finally:
        server.shutdown()
        server.server_close()
