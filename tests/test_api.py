"""The REST API of ``cxkpi serve``: the engine's figures, pagination and limits, targets,
imports, rejects, the audit log, and errors that never leak internals.

Read-only tests share the session's served warehouse (``web_app``); tests that write
(targets, imports) get a fresh copy of the same demo warehouse and an app of their own.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_support import PASSWORD, WebWarehouse, bearer, build_web_warehouse, csrf_of, login, one_line_error

from cxkpi.kpi.calendar import parse_calendar
from cxkpi.kpi.catalogue import KPIS
from cxkpi.kpi.engine import PERIOD, KpiQuery, compute
from cxkpi.kpi.model import Grain
from cxkpi.kpi.output import records
from cxkpi.kpi.targets import Target, status
from cxkpi.warehouse.inspect import config_value

# --- helpers ---------------------------------------------------------------------------------


def engine_rows(app: Any, q: KpiQuery) -> list[dict[str, Any]]:
    """What the engine computes for ``q`` on the app's warehouse, as the API's JSON would carry it."""
    wh = app.state.server.warehouse
    with wh.reader() as (_, cur):
        tz = config_value(cur, "reporting_tz") or "UTC"
        calendar_yaml = config_value(cur, "calendar")
    calendar = parse_calendar(calendar_yaml, tz, "warehouse calendar") if calendar_yaml else None
    full = KpiQuery(kpis=q.kpis, by=q.by, grain=q.grain, start=q.start, end=q.end, tz=tz, params=q.params,
                    with_counts=q.with_counts, calendar=calendar, filters=q.filters, scope=q.scope)
    with wh.reader() as (engine, _):
        frame = compute(engine, full)
    rows: list[dict[str, Any]] = json.loads(json.dumps(records(frame)))
    return rows


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> WebWarehouse:
    """A demo warehouse built once for this module's writing tests, copied for each of them."""
    return build_web_warehouse(tmp_path_factory.mktemp("api-template") / "web.duckdb")


class Fresh:
    """An app over a private copy of the demo warehouse, with a manager's session client."""

    def __init__(self, template: WebWarehouse, folder: Path) -> None:
        from cxkpi.server.app import create_app

        self.path = folder / "fresh.duckdb"
        shutil.copy(template.path, self.path)
        self.web = template
        self.app = create_app(self.path, secure_cookies=False)
        self.clients: list[TestClient] = []

    def client(self, username: str | None = None) -> TestClient:
        c = TestClient(self.app, raise_server_exceptions=False)
        self.clients.append(c)
        if username:
            login(c, username, PASSWORD)
        return c

    def close(self) -> None:
        for c in self.clients:
            c.close()
        self.app.state.server.warehouse.close()


@pytest.fixture
def fresh(template: WebWarehouse, tmp_path: Path) -> Iterator[Fresh]:
    f = Fresh(template, tmp_path)
    try:
        yield f
    finally:
        f.close()


@pytest.fixture
def manager(client_as: Any) -> TestClient:
    client: TestClient = client_as("manager")
    return client


# --- /api/kpis: the engine's figures ---------------------------------------------------------


def test_kpis_by_channel_and_month_equal_the_engine(manager: TestClient, web_app: Any) -> None:
    resp = manager.get("/api/kpis", params=[
        ("kpi", "service_level"), ("kpi", "aht"), ("kpi", "csat"), ("by", "channel"), ("grain", "month"),
        ("from", "2026-01-01"), ("to", "2026-03-31"), ("with_counts", "true"),
        ("where", "channel=phone"), ("where", "channel=chat"),
    ])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    expected = engine_rows(web_app, KpiQuery(
        kpis=("service_level", "aht", "csat"), by=("channel",), grain=Grain.MONTH, start=date(2026, 1, 1),
        end=date(2026, 3, 31), with_counts=True, filters={"channel": ("phone", "chat")}))
    assert body["rows"] == expected
    assert body["total"] == len(expected) == 6  # two channels x three months
    assert {r["channel"] for r in body["rows"]} == {"phone", "chat"}
    assert {r[PERIOD] for r in body["rows"]} == {"2026-01", "2026-02", "2026-03"}
    assert "answered_in_t" in body["rows"][0]  # the counts the figures come from
    assert body["query"] == {"kpis": ["service_level", "aht", "csat"], "by": ["channel"], "grain": "month",
                             "from": "2026-01-01", "to": "2026-03-31", "tz": "Europe/Paris",
                             "where": ["channel=phone", "channel=chat"], "with_counts": True, "targets": False}


def test_kpis_default_is_one_row_over_all_data(manager: TestClient, web_app: Any) -> None:
    body = manager.get("/api/kpis?kpi=contacts_offered&kpi=fcr").json()
    assert body["rows"] == engine_rows(web_app, KpiQuery(kpis=("contacts_offered", "fcr")))
    assert body["total"] == 1 and body["rows"][0]["contacts_offered"] > 0


def test_kpis_by_team_and_week_with_a_date_range(manager: TestClient, web_app: Any) -> None:
    resp = manager.get("/api/kpis?kpi=abandon_rate&by=team&grain=week&from=2026-02-02&to=2026-02-15")
    expected = engine_rows(web_app, KpiQuery(kpis=("abandon_rate",), by=("team",), grain=Grain.WEEK,
                                             start=date(2026, 2, 2), end=date(2026, 2, 15)))
    assert resp.json()["rows"] == expected and len({r[PERIOD] for r in expected}) == 2


def test_kpis_are_paginated(manager: TestClient) -> None:
    full = manager.get("/api/kpis?kpi=aht&by=agent_id").json()
    assert full["total"] == len(full["rows"]) > 20 and full["limit"] == 1000 and full["offset"] == 0
    page = manager.get("/api/kpis?kpi=aht&by=agent_id&limit=7&offset=5").json()
    assert page["rows"] == full["rows"][5:12]
    assert (page["limit"], page["offset"], page["total"]) == (7, 5, full["total"])
    beyond = manager.get(f"/api/kpis?kpi=aht&by=agent_id&offset={full['total'] + 3}").json()
    assert beyond["rows"] == [] and beyond["total"] == full["total"]


@pytest.mark.parametrize("query", ["limit=1001", "limit=0", "offset=-1", "limit=abc", "offset=10000001"])
def test_kpis_limits_are_enforced(manager: TestClient, query: str) -> None:
    resp = manager.get(f"/api/kpis?kpi=aht&{query}")
    assert resp.status_code == 422
    assert resp.json()["detail"].startswith("invalid request:")


def test_unknown_kpi_is_a_one_line_400(manager: TestClient) -> None:
    detail = one_line_error(manager.get("/api/kpis?kpi=ahtt"), 400, "unknown KPI 'ahtt'")
    assert "aht" in detail.split("did you mean", 1)[1]


@pytest.mark.parametrize(("query", "fragment"), [
    ("kpi=aht&by=colour", "does not accept dimension 'colour'"),
    ("kpi=aht&from=2026-03-01&to=2026-02-01", "after"),
    ("kpi=aht&from=2026-13-01", "2026-13-01"),
    ("kpi=aht&where=nonsense", "dim=value"),
    ("kpi=aht&where=colour=red", "cannot be filtered by 'colour'"),
    ("kpi=aht&tz=Mars/Olympus", "Mars/Olympus"),
    ("kpi=evaluation_coverage&grain=day", "week or coarser"),
    ("kpi=aht&by=channel,channel", "twice"),
])
def test_user_mistakes_are_one_line_400s(manager: TestClient, query: str, fragment: str) -> None:
    one_line_error(manager.get(f"/api/kpis?{query}"), 400, fragment)


@pytest.mark.parametrize("query", ["kpi=aht&grain=hourly", "kpi=aht&grain=", "", "kpi=aht&with_counts=maybe"])
def test_malformed_parameters_are_422(manager: TestClient, query: str) -> None:
    resp = manager.get(f"/api/kpis?{query}")
    assert resp.status_code == 422, resp.text
    assert "\n" not in resp.json()["detail"]


def test_kpis_of_two_sources_with_no_rows_by_dimension_and_period(manager: TestClient) -> None:
    resp = manager.get("/api/kpis?kpi=aht&kpi=csat&by=channel&grain=month&where=channel=nowhere")
    assert resp.status_code == 200, resp.text
    assert resp.json()["rows"] == []


# --- /api/catalogue, /api/me, /api/drill ------------------------------------------------------


def test_catalogue_in_french(manager: TestClient) -> None:
    entries = manager.get("/api/catalogue?lang=fr").json()
    assert [e["name"] for e in entries] == list(KPIS)
    by_name = {e["name"]: e for e in entries}
    assert by_name["aht"]["label"] == KPIS["aht"].label("fr") == "Durée moyenne de traitement (DMT)"
    assert by_name["fcr"]["definition"] == KPIS["fcr"].definition("fr")
    english = {e["name"]: e["label"] for e in manager.get("/api/catalogue").json()}
    assert english["aht"] == KPIS["aht"].label("en") != by_name["aht"]["label"]
    assert manager.get("/api/catalogue?lang=de").status_code == 422


def test_me(manager: TestClient) -> None:
    assert manager.get("/api/me").json() == {"username": "manager", "role": "manager", "team": None, "agent_id": None,
                                             "lang": "en"}


def test_drill_pages_the_rows_behind_a_figure(manager: TestClient) -> None:
    first = manager.get("/api/drill/aht?where=channel=phone&limit=5").json()
    assert len(first["rows"]) == 5 and all(r["channel"] == "phone" for r in first["rows"])
    second = manager.get("/api/drill/aht?where=channel=phone&limit=5&offset=5").json()
    both = manager.get("/api/drill/aht?where=channel=phone&limit=10").json()
    assert first["rows"] + second["rows"] == both["rows"]
    assert manager.get("/api/drill/aht?limit=1001").status_code == 422
    one_line_error(manager.get("/api/drill/nope"), 400, "unknown KPI 'nope'")


# --- targets ---------------------------------------------------------------------------------


def test_targets_need_csrf_with_a_session_and_show_in_kpis(fresh: Fresh) -> None:
    with fresh.app.state.server.warehouse.writer() as con:
        con.execute("DELETE FROM targets")  # the demo's own targets: start from none
    client = fresh.client("manager")
    target = {"kpi": "service_level", "target": 0.8, "amber": 0.05}
    assert client.put("/api/targets", json=target).status_code == 403
    assert client.put("/api/targets", json=target, headers={"x-csrf-token": "forged"}).status_code == 403
    csrf = {"x-csrf-token": csrf_of(client)}
    assert client.put("/api/targets", json=target, headers=csrf).json() == {"ok": True}
    phone = {"kpi": "service_level", "target": 0.95, "dimension": "channel", "value": "phone"}
    assert client.put("/api/targets", json=phone, headers=csrf).status_code == 200
    assert client.get("/api/targets").json() == [
        {"kpi": "service_level", "target": 0.8, "dimension": None, "value": None, "amber": 0.05},
        {"kpi": "service_level", "target": 0.95, "dimension": "channel", "value": "phone", "amber": None},
    ]

    rows = client.get("/api/kpis?kpi=service_level&by=channel&targets=true").json()["rows"]
    assert len(rows) > 2
    for row in rows:
        t = Target("service_level", 0.95, "channel", "phone") if row["channel"] == "phone" else Target(
            "service_level", 0.8, amber=0.05)
        assert row["service_level_target"] == t.target
        expected = status(row["service_level"], t)
        assert row["service_level_status"] == (expected.value if expected else None)
    assert {r["service_level_status"] for r in rows} - {None} <= {"green", "amber", "red"}
    assert list(rows[0])[:4] == ["channel", "service_level", "service_level_target", "service_level_status"]

    params = {"kpi": "service_level", "dimension": "channel", "value": "phone"}
    assert client.delete("/api/targets", params=params).status_code == 403
    assert client.delete("/api/targets", params=params, headers=csrf).json() == {"removed": 1}
    assert client.delete("/api/targets", params=params, headers=csrf).status_code == 404
    rows = client.get("/api/kpis?kpi=service_level&by=channel&targets=true").json()["rows"]
    assert {r["service_level_target"] for r in rows} == {0.8}


def test_targets_with_a_bearer_token_need_no_csrf(fresh: Fresh) -> None:
    client = fresh.client()
    auth = bearer(fresh.app, "manager")
    assert client.put("/api/targets", json={"kpi": "aht", "target": 300}, headers=auth).status_code == 200
    row = client.get("/api/kpis?kpi=aht&targets=true", headers=auth).json()["rows"][0]
    assert row["aht_target"] == 300 and row["aht_status"] in ("green", "amber", "red")
    assert client.delete("/api/targets?kpi=aht", headers=auth).json() == {"removed": 1}
    # user mistakes
    one_line_error(client.put("/api/targets", json={"kpi": "aht", "target": 1, "dimension": "channel"}, headers=auth),
                   400, "both dimension and value")
    one_line_error(client.put("/api/targets", json={"kpi": "nope", "target": 1}, headers=auth), 400, "unknown KPI")
    one_line_error(client.put("/api/targets", json={"kpi": "aht", "target": 1, "dimension": "colour", "value": "x"},
                              headers=auth), 400, "no dimension 'colour'")
    assert client.put("/api/targets", json={"kpi": "aht"}, headers=auth).status_code == 422
    # only admins and managers
    lead = bearer(fresh.app, "lead")
    assert client.put("/api/targets", json={"kpi": "aht", "target": 300}, headers=lead).status_code == 403
    assert client.delete("/api/targets?kpi=aht", headers=lead).status_code == 403
    assert not [t for t in client.get("/api/targets", headers=lead).json() if t["kpi"] == "aht"]  # removed above


# --- imports and rejects ---------------------------------------------------------------------

CONTACTS_CSV = (
    "contact_id,channel,created_at,direction,customer_id,team,agent_id,answered_at,ended_at\n"
    "UP0001,phone,2027-03-02T09:00:00+01:00,inbound,CU0000001,Lyon Digital,AG0031,2027-03-02T09:00:20+01:00,2027-03-02T09:05:00+01:00\n"
    "UP0002,phone,2027-03-02T10:00:00+01:00,inbound,CU0000002,Lyon Digital,AG0031,2027-03-02T10:01:00+01:00,2027-03-02T10:04:00+01:00\n"
    "UP0003,pigeon,2027-03-02T11:00:00+01:00,inbound,CU0000003,Lyon Digital,AG0031,2027-03-02T11:00:10+01:00,2027-03-02T11:02:00+01:00\n"
    "UP0004,chat,2027-03-02T12:00:00+01:00,inbound,CU0000004,Lyon Digital,AG0032,2027-03-02T12:00:30+01:00,2027-03-02T12:10:00+01:00\n"
)


def test_upload_contacts_then_see_them_in_kpis_and_rejects(fresh: Fresh) -> None:
    client = fresh.client("manager")
    query = "/api/kpis?kpi=contacts_offered&kpi=contacts_answered&by=channel&from=2027-03-01&to=2027-03-31"
    before = client.get(query)
    assert before.status_code == 200 and before.json()["rows"] == []  # cached for this data version
    upload = {"file": ("march.csv", CONTACTS_CSV.encode(), "text/csv")}
    assert client.post("/api/imports", data={"table": "contacts"}, files=upload).status_code == 403  # no CSRF
    csrf = {"x-csrf-token": csrf_of(client)}
    one_line_error(client.post("/api/imports", data={"table": "nope"}, files=upload, headers=csrf), 400, "unknown table")

    resp = client.post("/api/imports", data={"table": "contacts"}, files=upload, headers=csrf)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert (report["table"], report["file"], report["read"], report["accepted"], report["rejected"], report["new"]) == (
        "contacts", "march.csv", 4, 3, 1, 3)
    assert report["rejects_file"] is None

    after = client.get(query).json()  # a new data version: new figures without a restart
    assert {r["channel"]: (r["contacts_offered"], r["contacts_answered"]) for r in after["rows"]} == {
        "phone": (2, 2), "chat": (1, 1)}

    rejects = client.get(f"/api/rejects?import_id={report['import_id']}").json()
    assert rejects["total"] == 1
    (bad,) = rejects["rows"]
    assert (bad["table"], bad["line"], bad["column"]) == ("contacts", 4, "channel")
    assert "pigeon" in bad["raw"] and bad["reason"]
    assert client.get("/api/rejects?table=contacts").json()["total"] == 1
    assert client.get("/api/rejects?table=cases").json() == {"rows": [], "limit": 100, "offset": 0, "total": 0}

    assert bad["file"] == "march.csv"  # the uploaded file, never the server's temporary copy

    log = client.get("/api/imports?limit=1").json()
    assert log["rows"][0]["import_id"] == report["import_id"]
    assert (log["rows"][0]["file"], log["rows"][0]["rejects_file"]) == ("march.csv", None)
    assert (log["rows"][0]["rows_accepted"], log["rows"][0]["rows_rejected"]) == (3, 1)

    fixed = {"file": ("march.csv", CONTACTS_CSV.replace("pigeon", "phone").encode(), "text/csv")}
    again = client.post("/api/imports", data={"table": "contacts"}, files=fixed, headers=csrf).json()
    assert (again["accepted"], again["rejected"], again["new"], again["unchanged"]) == (4, 0, 1, 3)
    assert client.get("/api/rejects?table=contacts").json()["total"] == 0  # the latest import's rejects
    assert client.get(query).json()["rows"][1] == {"channel": "phone", "contacts_offered": 3, "contacts_answered": 3}

    admin = fresh.client("admin")
    audit = admin.get("/api/audit?limit=5").json()["rows"]
    imports = [e for e in audit if e["action"] == "import"]
    assert [(e["username"], e["detail"]) for e in imports] == [
        ("manager", "contacts march.csv: 4 accepted, 0 rejected"), ("manager", "contacts march.csv: 3 accepted, 1 rejected")]


@pytest.mark.parametrize(("name", "data", "fragment"), [
    ("a.csv", b"contact_id,created_at\nX,2026-01-01\n", "a.csv: no column 'channel'"),
    ("b.xlsx", b"not a workbook", "b.xlsx: not a readable XLSX workbook"),
    ("c.csv", b"", "c.csv: the file is empty"),
])
def test_a_bad_upload_is_a_one_line_400_naming_the_upload(fresh: Fresh, name: str, data: bytes, fragment: str) -> None:
    client = fresh.client()
    resp = client.post("/api/imports", data={"table": "contacts"}, files={"file": (name, data, "text/csv")},
                       headers=bearer(fresh.app, "manager"))
    detail = one_line_error(resp, 400, fragment)
    assert "cxkpi-upload" not in detail and "/tmp" not in detail


def test_import_log_is_paginated(manager: TestClient, web_app: Any) -> None:
    with web_app.state.server.warehouse.reader() as (_, cur):
        ids = [r[0] for r in cur.execute("SELECT import_id FROM import_log ORDER BY import_id DESC").fetchall()]
    assert len(ids) >= 4
    full = manager.get("/api/imports").json()
    assert [r["import_id"] for r in full["rows"]] == ids and full["total"] == len(ids)
    page = manager.get("/api/imports?limit=2&offset=1").json()
    assert [r["import_id"] for r in page["rows"]] == ids[1:3]
    assert (page["limit"], page["offset"], page["total"]) == (2, 1, len(ids))
    assert {"table_name", "file", "rows_read", "rows_accepted", "rows_rejected", "started_at"} <= set(page["rows"][0])
    assert manager.get("/api/imports?limit=1001").status_code == 422
    assert manager.get("/api/rejects?limit=0").status_code == 422


# --- audit -----------------------------------------------------------------------------------


def test_audit_is_for_admins_only(client_as: Any) -> None:
    admin = client_as("admin")
    body = admin.get("/api/audit?limit=3").json()
    assert body["limit"] == 3 and 1 <= len(body["rows"]) <= 3
    assert {"audit_id", "logged_at", "username", "action", "detail", "client"} <= set(body["rows"][0])
    ids = [e["audit_id"] for e in body["rows"]]
    assert ids == sorted(ids, reverse=True)
    assert any(e["action"] == "login" and e["username"] == "admin" for e in admin.get("/api/audit").json()["rows"])
    for user in ("manager", "lead", "quality", "agent"):
        resp = client_as(user).get("/api/audit")
        assert resp.status_code == 403, user


# --- errors ----------------------------------------------------------------------------------


def test_an_unexpected_error_is_a_bare_500(manager: TestClient, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    import cxkpi.api.routes as routes

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail in /srv/cxkpi/warehouse.duckdb")

    monkeypatch.setattr(routes, "kpi_frame", boom)
    with caplog.at_level(logging.ERROR, logger="cxkpi.serve"):
        resp = manager.get("/api/kpis?kpi=aht")
    assert resp.status_code == 500
    assert resp.json() == {"detail": "internal error"}
    assert resp.content == b'{"detail":"internal error"}'
    for leak in ("Traceback", "secret", "/srv", "RuntimeError", ".py"):
        assert leak not in resp.text
    assert any(r.exc_info and "secret detail" in str(r.exc_info[1]) for r in caplog.records)  # the log has it


def test_an_unknown_route_is_a_plain_404(manager: TestClient) -> None:
    resp = manager.get("/api/nowhere")
    assert resp.status_code == 404 and resp.json() == {"detail": "Not Found"}
