"""The KPI commands of the CLI on a small demo warehouse: output contracts and user errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import InProcessCli, assert_user_error
from cxkpi.demo.load import build_demo
from cxkpi.kpi import KPIS, KpiQuery, compute
from cxkpi.kpi.docs import catalogue_markdown
from cxkpi.kpi.output import records
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.engines import duckdb_engine

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(db, seed=7, scale=0.02)
    return db


def test_kpi_json_contract(cli_fast: InProcessCli, demo_db: Path) -> None:
    proc = cli_fast("kpi", "service_level", "asa", "aht", "fcr", "--by", "channel", "--grain", "month", "--format", "json", db=demo_db)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows and all(set(r) == {"channel", "period", "service_level", "asa", "aht", "fcr"} for r in rows)
    assert all(isinstance(r["period"], str) and len(r["period"]) == 7 for r in rows)
    assert all(r["service_level"] is None or 0 <= r["service_level"] <= 1 for r in rows)
    # the same figures as the library
    con = open_warehouse(demo_db, read_only=True)
    try:
        df = compute(duckdb_engine(con), KpiQuery(kpis=("service_level",), by=("channel",), tz="Europe/Paris"))
    finally:
        con.close()
    proc = cli_fast("kpi", "service_level", "--by", "channel", "--format", "json", db=demo_db)
    got = {r["channel"]: r["service_level"] for r in json.loads(proc.stdout)}
    want = {r["channel"]: r["service_level"] for r in records(df)}
    assert got.keys() == want.keys()
    for channel, value in want.items():
        assert got[channel] == (None if value is None else pytest.approx(value))


def test_kpi_grain_all_has_no_period_and_counts_rederive(cli_fast: InProcessCli, demo_db: Path) -> None:
    proc = cli_fast("kpi", "answer_rate", "--with-counts", "--format", "json", db=demo_db)
    [row] = json.loads(proc.stdout)
    assert "period" not in row
    assert row["answer_rate"] == pytest.approx(row["answered"] / row["offered"])


def test_kpi_csv_and_table(cli_fast: InProcessCli, demo_db: Path) -> None:
    proc = cli_fast("kpi", "nps", "csat", "--by", "channel", "--format", "csv", db=demo_db)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert rows and set(rows[0]) == {"channel", "nps", "csat"}
    proc = cli_fast("kpi", "csat", "--lang", "fr", db=demo_db)
    assert proc.returncode == 0 and "Satisfaction" in proc.stdout and "%" in proc.stdout


def test_targets_give_a_status(cli_fast: InProcessCli, demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    db.write_bytes(demo_db.read_bytes())
    assert cli_fast("target", "set", "answer_rate", "0.99", db=db).returncode == 0
    assert cli_fast("target", "set", "answer_rate", "0.5", "--where", "channel=phone", db=db).returncode == 0
    proc = cli_fast("kpi", "answer_rate", "--by", "channel", "--targets", "--format", "json", db=db)
    rows = {r["channel"]: r for r in json.loads(proc.stdout)}
    assert rows["phone"]["answer_rate_target"] == 0.5 and rows["phone"]["answer_rate_status"] == "green"
    assert rows["chat"]["answer_rate_target"] == 0.99
    assert rows["chat"]["answer_rate_status"] in ("amber", "red")
    listed = json.loads(cli_fast("target", "list", "--format", "json", db=db).stdout)
    assert {(t["kpi"], t["dimension"]) for t in listed} == {("answer_rate", None), ("answer_rate", "channel")}
    assert cli_fast("target", "remove", "answer_rate", "--where", "channel=phone", db=db).returncode == 0
    assert_user_error(cli_fast("target", "remove", "answer_rate", "--where", "channel=phone", db=db), "no target")
    assert_user_error(cli_fast("target", "set", "shrinkage", "0.2", "--where", "channel=phone", db=db), "no dimension")


def test_kpis_catalogue_and_generated_docs(cli_fast: InProcessCli, demo_db: Path) -> None:
    rows = json.loads(cli_fast("kpis", "--format", "json", db=demo_db).stdout)
    assert [r["name"] for r in rows] == list(KPIS)
    fr = json.loads(cli_fast("kpis", "--format", "json", "--lang", "fr", db=demo_db).stdout)
    assert fr[0]["label"] == "Contacts présentés"
    for lang, name in (("en", "kpis.md"), ("fr", "kpis.fr.md")):
        assert (DOCS / name).read_text(encoding="utf-8") == catalogue_markdown(lang), f"docs/{name} is stale: run make docs"


def test_explain_shows_definition_parameters_and_sql(cli_fast: InProcessCli, demo_db: Path) -> None:
    proc = cli_fast("explain", "fcr", db=demo_db)
    assert proc.returncode == 0, proc.stderr
    assert "fcr_window_days = 7.0" in proc.stdout
    assert "SELECT" in proc.stdout and "next_inbound_at" in proc.stdout


def test_drill_lists_the_rows_behind_a_figure(cli_fast: InProcessCli, demo_db: Path) -> None:
    summary = json.loads(cli_fast("kpi", "contacts_abandoned", "--by", "channel", "--grain", "month", "--format", "json", db=demo_db).stdout)
    target = next(r for r in summary if r["channel"] == "phone" and r["contacts_abandoned"])
    proc = cli_fast("drill", "contacts_abandoned", "--where", "channel=phone", "--period", target["period"], "--limit", "100000", "--format", "json", db=demo_db)
    rows = json.loads(proc.stdout)
    assert rows and all(r["channel"] == "phone" for r in rows)
    assert sum(1 for r in rows if r["_abandoned"]) == target["contacts_abandoned"]


def test_calendar_commands(cli_fast: InProcessCli, demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    db.write_bytes(demo_db.read_bytes())
    assert "demo-bank" in cli_fast("calendar", "show", db=db).stdout
    cal = tmp_path / "cal.yaml"
    cal.write_text("name: night\ncountry: null\nhours:\n  mon-sun: ['00:00-24:00']\n", encoding="utf-8")  # no holidays
    assert cli_fast("calendar", "set", str(cal), db=db).returncode == 0
    rows = json.loads(cli_fast("kpi", "asa", "asa_business", "--by", "channel", "--format", "json", db=db).stdout)
    for r in rows:  # open around the clock: business time is calendar time
        assert r["asa_business"] == pytest.approx(r["asa"], nan_ok=True) if r["asa"] is not None else r["asa_business"] is None
    cal.write_text("hours: {mon: ['8-12']}\n", encoding="utf-8")
    assert_user_error(cli_fast("calendar", "set", str(cal), db=db), "bad opening range")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("kpi", "servce_level"), "did you mean service_level"),
        (("kpi", "shrinkage", "--by", "channel"), "does not accept dimension 'channel'"),
        (("kpi", "asa", "--grain", "fortnight"), "unknown grain"),
        (("kpi", "asa", "--from", "2026-13-01"), "--from expects a date"),
        (("kpi", "asa", "--from", "2026-03-02", "--to", "2026-03-01"), "--from is after --to"),
        (("kpi", "asa", "--tz", "Mars/Olympus"), "unknown time zone"),
        (("kpi", "asa", "--param", "fcr_window=3"), "unknown KPI parameter"),
        (("kpi", "asa", "--format", "xml"), "unknown --format"),
        (("kpi", "evaluation_coverage", "--grain", "day"), "needs a grain of week"),
        (("kpi", "asa", "--engine", "oracle"), "unknown --engine"),
        (("drill", "asa", "--where", "channel"), "--where expects dim=value"),
        (("explain", "nope"), "unknown KPI"),
    ],
)
def test_kpi_user_errors_are_one_line(cli_fast: InProcessCli, demo_db: Path, args: tuple[str, ...], fragment: str) -> None:
    assert_user_error(cli_fast(*args, db=demo_db), fragment)


def test_kpi_on_a_missing_warehouse(cli_fast: InProcessCli, tmp_path: Path) -> None:
    assert_user_error(cli_fast("kpi", "asa", db=tmp_path / "none.duckdb"), "no warehouse")
