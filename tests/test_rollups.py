"""Daily rollups (``kpi.rollups``): the numbers of the raw scan, read from pre-aggregated days.

Every comparison runs one query twice, rollups on (the default) and off, with the
measures shown, and requires the same frame: same groups, same order, counts equal, nulls
where nulls are. Float sums are compared to 1e-12 relative: a sum of fractional seconds
(or sentiments) depends on the order DuckDB adds the rows in, on the raw path too (its
plan decides the order); sums of whole seconds, as in the demo, come out identical.
Each comparison also checks that a rollup really answered, or that it rightly did not.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cxkpi import __version__
from cxkpi.service.imports import score_surveys
from cxkpi.demo.load import build_demo
from cxkpi.service.imports import import_file
from cxkpi.kpi import KPIS, MEASURES, Grain, KpiQuery, compute
from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.catalogue import measures_of
from cxkpi.kpi.inspect import explain
from cxkpi.kpi.rollup_build import refresh_rollups
from cxkpi.kpi.rollup_meta import CUSTOMER_ROLLUPS, ROLLUPS, SNAPSHOT_MEASURES, answered_weeks, rollable, stored
from cxkpi.kpi.rollups import rollup_expression
from cxkpi.warehouse.rollup_store import CONFIG_KEY
from cxkpi.kpi.sources import SOURCES, Shape
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.engines import duckdb_engine
from kpi_golden import CONTACT_KPIS, DATASETS, THIRD_PARTY_WARNINGS, Warehouses, contact, is_na, write_csv
from kpi_golden_more import AGENT_KPIS, BACKLOG, DATASETS_MORE, RESOLUTION, SURVEY_KPIS, load_more

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

PARIS = "Europe/Paris"
GRAINS = list(Grain)
ROLLED_SOURCES = {r.source for r in ROLLUPS}
# KPIs whose measures all come from rollups, and two that mix a rollup's counts with a raw
# quantile in one answer (business-time KPIs mix too: test_dimensions_outside_the_rollups...)
ROLLUP_KPIS = (
    *(k.name for k in KPIS.values() if all(MEASURES[m].additive and MEASURES[m].source in ROLLED_SOURCES
                                          and not MEASURES[m].business for m in k.measures)),
    "wait_p90", "resolution_time_median",
)


# --------------------------------------------------------------------------- helpers


def rolled(con: Any, q: KpiQuery) -> set[str]:
    """The sources whose additive measures a rollup answers for ``q``."""
    engine = duckdb_engine(con)
    p = kpi_params.resolve(q.params)
    by_source: dict[str, list[Any]] = {}
    for m in measures_of(list(q.kpis)):
        if rollable(m):
            by_source.setdefault(m.source, []).append(m)
    return {s for s, ms in by_source.items() if rollup_expression(engine, SOURCES[s], ms, q, p) is not None}


def assert_equal_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert list(a.dtypes) == list(b.dtypes), f"\n{a.dtypes}\n---\n{b.dtypes}"
    assert len(a) == len(b), f"\n{a.to_string()}\n---\n{b.to_string()}"
    for i, (x, y) in enumerate(zip(a.to_dict("records"), b.to_dict("records"))):
        for col in a.columns:
            u, v = x[col], y[col]
            if is_na(u) or is_na(v):
                assert is_na(u) and is_na(v), f"row {i} {col}: {u!r} vs {v!r}"
            elif isinstance(u, float) or isinstance(v, float):
                assert math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-12), f"row {i} {col}: {u!r} vs {v!r}"
            else:
                assert u == v, f"row {i} {col}: {u!r} vs {v!r}"


def same(con: Any, q: KpiQuery, uses: bool | set[str] = True) -> pd.DataFrame:
    """``q`` with rollups equals ``q`` without; ``uses``: the rollups answer (True: for every
    source they could; a set: exactly those sources; False: none)."""
    engine = duckdb_engine(con)
    q = replace(q, with_counts=True)
    got = compute(engine, q)
    assert_equal_frames(got, compute(engine, replace(q, use_rollups=False)))
    sources = {m.source for m in measures_of(list(q.kpis)) if rollable(m)}
    expected = (sources & ROLLED_SOURCES) if uses is True else (set() if uses is False else uses)
    assert rolled(con, q) == expected
    return got


def kpis_for(by: Sequence[str], among: Sequence[str] = ROLLUP_KPIS) -> tuple[str, ...]:
    return tuple(k for k in among if all(d in KPIS[k].dimensions for d in by))


# --------------------------------------------------------------------------- declarations


def test_additive_measures_are_sums_of_event_rows() -> None:
    for m in MEASURES.values():
        source = SOURCES[m.source]
        if m.additive:
            assert source.shape is Shape.EVENTS and not source.latest_only and source.base is None, m.name
        if "median" in m.name or "p90" in m.name:
            assert not m.additive, m.name


def test_rollups_are_declared_on_their_sources_dimensions() -> None:
    assert len({r.name for r in ROLLUPS}) == len(ROLLUPS)
    for r in ROLLUPS:
        assert set(r.dims) <= set(SOURCES[r.source].dimensions), r
        assert r.measures() and all(rollable(m) and not m.business for m in r.measures()), r
        if SOURCES[r.source].shape is Shape.SNAPSHOT:
            assert {m.name for m in r.measures()} == SNAPSHOT_MEASURES[r.source], r
    assert len(ROLLUP_KPIS) == 30


# --------------------------------------------------------------------------- golden data (UTC)


class Golden:
    """The golden data sets, each imported on first use by the real importer (which builds
    the rollups, in UTC: these warehouses have no reporting zone)."""

    def __init__(self, folder: Path) -> None:
        self.warehouses = Warehouses(folder)
        self.cons: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self.cons:
            if name in DATASETS_MORE:
                self.cons[name] = load_more(self.warehouses, name)
            else:
                con = self.cons[name] = self.warehouses.new(name)
                report = import_file(con, "contacts", write_csv(self.warehouses.folder / "in" / f"{name}.csv", DATASETS[name]))
                assert report.rejected == 0
        return self.cons[name]


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Golden]:
    g = Golden(tmp_path_factory.mktemp("golden"))
    yield g
    g.warehouses.close()


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("dataset", ["basics", "p90", "ratio", "fcr", "tz"])
def test_golden_contacts(golden: Golden, dataset: str, grain: Grain) -> None:
    same(golden[dataset], KpiQuery(kpis=CONTACT_KPIS, by=("channel",), grain=grain))


@pytest.mark.parametrize(
    ("by", "grain"), [((), Grain.ALL), (("agent_id", "direction"), Grain.DAY), (("team", "site"), Grain.MONTH)], ids=str
)
def test_golden_contacts_by(golden: Golden, by: tuple[str, ...], grain: Grain) -> None:
    same(golden["fcr"], KpiQuery(kpis=CONTACT_KPIS, by=by, grain=grain))


@pytest.mark.parametrize(
    ("dataset", "kpis", "by", "grain"),
    [
        ("cases", RESOLUTION, (), Grain.ALL),
        ("cases", RESOLUTION, ("channel",), Grain.DAY),
        ("cases", RESOLUTION, ("priority", "team"), Grain.WEEK),
        ("cases", RESOLUTION, ("agent_id",), Grain.MONTH),
        ("agents", AGENT_KPIS, (), Grain.DAY),
        ("agents", AGENT_KPIS, ("agent_id",), Grain.ALL),
        ("surveys", SURVEY_KPIS, (), Grain.DAY),
        ("surveys", SURVEY_KPIS, ("mode",), Grain.WEEK),
        ("surveys", SURVEY_KPIS, ("agent_id", "channel"), Grain.ALL),
    ],
    ids=str,
)
def test_golden_cases_agents_surveys(golden: Golden, dataset: str, kpis: tuple[str, ...], by: tuple[str, ...], grain: Grain) -> None:
    df = same(golden[dataset], KpiQuery(kpis=kpis, by=by, grain=grain))
    assert len(df)


@pytest.mark.parametrize(
    "filters",
    [{"channel": ("phone",)}, {"channel": ("phone", "chat")}, {"team": ("",)}, {"agent_id": ("", "nobody")}, {"channel": ()}],
    ids=str,
)
def test_golden_filters(golden: Golden, filters: dict[str, tuple[str, ...]]) -> None:
    same(golden["basics"], KpiQuery(kpis=CONTACT_KPIS, by=("channel",), grain=Grain.DAY, filters=filters))


def test_a_group_with_no_answered_contact_keeps_null_sums(tmp_path: Path) -> None:
    """SUM over no value is null, and so is a sum of daily nulls: wait_sum_s stays null, wait_n 0."""
    con = open_warehouse(tmp_path / "null.duckdb")
    rows = [
        contact("a1", "sms", "2026-03-02T08:00:00Z", end_after=60, outcome="abandoned"),
        contact("a2", "sms", "2026-03-03T08:00:00Z", end_after=60, outcome="abandoned"),
        contact("b1", "phone", "2026-03-02T08:00:00Z", wait=10, talk=20),
    ]
    import_file(con, "contacts", write_csv(tmp_path / "null.csv", rows))
    df = same(con, KpiQuery(kpis=("asa", "aht", "contacts_offered"), by=("channel",)))
    sms = df[df.channel == "sms"].iloc[0]
    assert is_na(sms["wait_sum_s"]) and sms["wait_n"] == 0 and is_na(sms["asa"]) and sms["contacts_offered"] == 2
    # the quantile reads only answered rows: the group with none still shows, with a null p90
    for kpis in (("wait_p90", "asa"), ("wait_p90",)):
        df = same(con, KpiQuery(kpis=kpis, by=("channel",), grain=Grain.DAY))
        assert df[df.channel == "sms"]["wait_p90"].isna().all() and len(df) == 3
        assert df[df.channel == "phone"]["wait_p90"].tolist() == [10.0]
    con.close()


def test_dimensions_outside_the_rollups_read_the_raw_rows(golden: Golden) -> None:
    con = golden["basics"]
    same(con, KpiQuery(kpis=CONTACT_KPIS, by=("reason",)), uses=False)
    same(con, KpiQuery(kpis=CONTACT_KPIS, filters={"queue": ("",)}), uses=False)
    # business time needs the calendar: raw rows, beside the rollup's wait_n
    same(con, KpiQuery(kpis=("asa_business",), by=("channel",)))
    # parameters other than those the rollups were built with
    same(con, KpiQuery(kpis=CONTACT_KPIS, params={"answer_threshold_s": {"phone": 30}}), uses=False)


# --------------------------------------------------------------------------- a small demo (Europe/Paris)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo at scale 0.05 (26k contacts): its verbatims are scored by the import pipeline."""
    db = tmp_path_factory.mktemp("rollups") / "demo.duckdb"
    build_demo(db, seed=1, scale=0.05, reporting_tz=PARIS)
    con = open_warehouse(db)
    try:
        assert con.execute("SELECT count(sentiment) FROM surveys").fetchall()[0][0] > 0
        assert score_surveys(con) == 0  # nothing left for a separate pass
    finally:
        con.close()
    return db


@pytest.fixture(scope="module")
def demo(demo_db: Path) -> Iterator[Any]:
    con = open_warehouse(demo_db, read_only=True)
    yield con
    con.close()


def test_demo_rollups_are_built_in_the_reporting_zone(demo: Any) -> None:
    meta = stored(duckdb_engine(demo))
    assert meta is not None and meta["tz"] == PARIS
    assert set(meta["rollups"]) == {r.name for r in (*ROLLUPS, *CUSTOMER_ROLLUPS)}
    assert all(meta["rollups"][r.name]["rows"] > 0 for r in (*ROLLUPS, *CUSTOMER_ROLLUPS))


@pytest.mark.parametrize(
    ("by", "grain"),
    [
        ((), Grain.DAY), ((), Grain.WEEK), ((), Grain.ALL),
        (("channel",), Grain.DAY), (("channel",), Grain.QUARTER),
        (("agent_id",), Grain.MONTH), (("agent_id",), Grain.YEAR),
        (("team", "site"), Grain.WEEK), (("channel", "direction"), Grain.MONTH),
        (("priority",), Grain.QUARTER), (("mode", "language"), Grain.YEAR),
    ],
    ids=str,
)
def test_demo_every_grain_and_dimension(demo: Any, by: tuple[str, ...], grain: Grain) -> None:
    same(demo, KpiQuery(kpis=kpis_for(by), by=by, grain=grain, tz=PARIS))


@pytest.mark.parametrize(
    ("start", "end", "grain", "by"),
    [
        (date(2026, 1, 15), date(2026, 3, 10), Grain.MONTH, ("channel",)),  # months cut at both ends
        (date(2026, 1, 15), date(2026, 3, 10), Grain.WEEK, ()),
        (date(2026, 1, 15), date(2026, 3, 10), Grain.ALL, ("agent_id",)),
        (date(2026, 3, 25), date(2026, 4, 2), Grain.DAY, ("channel",)),  # the spring-forward day (23 h) inside
        (date(2025, 10, 20), date(2025, 11, 5), Grain.DAY, ()),  # before the first contact
        (date(2026, 2, 1), None, Grain.QUARTER, ("agent_id",)),
        (None, date(2026, 5, 31), Grain.YEAR, ()),
    ],
    ids=str,
)
def test_demo_date_ranges(demo: Any, by: tuple[str, ...], start: date | None, end: date | None, grain: Grain) -> None:
    same(demo, KpiQuery(kpis=kpis_for(by), by=by, grain=grain, start=start, end=end, tz=PARIS))


def _some(demo: Any, column: str) -> str:
    return str(demo.execute(f"SELECT min({column}) FROM contacts WHERE {column} IS NOT NULL").fetchall()[0][0])


@pytest.mark.parametrize(
    ("filters", "by"),
    [
        ({"channel": ("phone", "chat")}, ("agent_id",)),
        ({"team": ("",)}, ("channel",)),  # null teams (unassigned contacts)
        ({"team": ("",)}, ()),
        ({"agent_id": ("AGENT", "")}, ("channel",)),
        ({"channel": ("phone",), "site": ("SITE",)}, ()),
    ],
    ids=str,
)
def test_demo_filters(demo: Any, by: tuple[str, ...], filters: dict[str, tuple[str, ...]]) -> None:
    values = {"AGENT": _some(demo, "agent_id"), "SITE": _some(demo, "site")}
    filters = {d: tuple(values.get(v, v) for v in vs) for d, vs in filters.items()}
    kpis = tuple(k for k in kpis_for(by) if all(d in KPIS[k].dimensions for d in filters))
    df = same(demo, KpiQuery(kpis=kpis, by=by, grain=Grain.MONTH, tz=PARIS, filters=filters))
    assert len(df)


def test_demo_access_scope(demo: Any) -> None:
    team, agent = _some(demo, "team"), _some(demo, "agent_id")
    scope = (("team", (team,)), ("agent_id", (agent,)))
    df = same(demo, KpiQuery(kpis=kpis_for(()), by=("agent_id",), grain=Grain.MONTH, tz=PARIS, scope=scope))
    assert len(df)


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_another_zone_reads_the_raw_rows(demo: Any, tz: str) -> None:
    same(demo, KpiQuery(kpis=kpis_for(("channel",)), by=("channel",), grain=Grain.MONTH, tz=tz), uses=False)


def test_other_parameters_read_the_raw_rows(demo: Any) -> None:
    q = KpiQuery(kpis=("fcr", "csat", "occupancy"), grain=Grain.MONTH, tz=PARIS, params={"fcr_window_days": 3})
    same(demo, q, uses=False)


@pytest.mark.parametrize("grain", [Grain.WEEK, Grain.MONTH, Grain.ALL], ids=str)
def test_evaluation_coverage_reads_the_weeks_agents_worked_from_the_agent_rollup(demo: Any, grain: Grain) -> None:
    engine = duckdb_engine(demo)
    p = kpi_params.resolve(None)
    weeks = answered_weeks(engine, PARIS, p)
    assert weeks is not None and weeks.count().execute() > 0
    assert answered_weeks(engine, "UTC", p) is None  # built in Paris time: the raw rows answer
    q = KpiQuery(kpis=("evaluation_coverage",), by=("agent_id",), grain=grain, tz=PARIS, with_counts=True)
    got = compute(engine, q)
    assert_equal_frames(got, compute(engine, replace(q, use_rollups=False)))
    assert got["agent_weeks"].sum() > got["agent_weeks_covered"].sum() > 0


def test_explain_shows_the_raw_query(demo: Any) -> None:
    sql = explain(duckdb_engine(demo), "asa", KpiQuery(kpis=("asa",), tz=PARIS)).sql["contacts"]
    assert "rollup_" not in sql and "contacts" in sql


def test_sentiment_scoring_refreshes_the_survey_rollups(demo: Any) -> None:
    df = same(demo, KpiQuery(kpis=("sentiment", "negative_verbatim_rate"), by=("channel",), tz=PARIS))
    assert df["sentiment_n"].sum() > 0


# --------------------------------------------------------------------------- refresh points


def test_an_import_refreshes_the_rollups(tmp_path: Path) -> None:
    """New contacts change the counts, and the end of data moves, so more contacts are old
    enough for FCR: the rollups follow, in the import's transaction."""
    con = open_warehouse(tmp_path / "w.duckdb")
    first = [contact(f"c{i}", "phone", f"2026-03-0{i}T09:00:00Z", wait=10, talk=60, customer="K") for i in range(1, 4)]
    import_file(con, "contacts", write_csv(tmp_path / "a.csv", first))
    q = KpiQuery(kpis=("contacts_answered", "fcr"), by=("channel",))
    before = same(con, q)
    later = [contact("d1", "chat", "2026-03-20T09:00:00Z", wait=5, talk=30, customer="L")]
    import_file(con, "contacts", write_csv(tmp_path / "b.csv", later))
    after = same(con, q)
    assert before["fcr_base"].tolist() == [0] and after["fcr_base"].tolist() == [0, 3]
    assert after["contacts_answered"].tolist() == [1, 3]
    con.close()


def test_a_contact_import_refreshes_the_case_rollups(tmp_path: Path) -> None:
    """contacts_per_case counts the contacts of each case (cases.contact_count, kept by the
    importer): a contact import changes it, so the case rollups are rebuilt too."""
    w = Warehouses(tmp_path)
    con = load_more(w, "cases")
    q = KpiQuery(kpis=("contacts_per_case", "once_and_done_rate"), by=("channel",))
    before = same(con, q)
    case_id = con.execute("SELECT case_id FROM cases WHERE closed_at IS NOT NULL ORDER BY case_id LIMIT 1").fetchall()[0][0]
    extra = [contact("zz1", "phone", "2026-03-02T07:00:00Z", wait=5, talk=30, case_id=case_id)]
    import_file(con, "contacts", write_csv(tmp_path / "extra.csv", extra))
    after = same(con, q)
    assert after["case_contacts"].sum() == before["case_contacts"].sum() + 1
    w.close()


def test_a_warehouse_without_rollups_still_answers(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "bare.duckdb"
    shutil.copyfile(demo_db, db)
    con = open_warehouse(db)
    con.execute("DELETE FROM warehouse_config WHERE key = ?", [CONFIG_KEY])
    for r in ROLLUPS:
        con.execute(f"DROP TABLE {r.table}")
    q = KpiQuery(kpis=kpis_for(("channel",)), by=("channel",), grain=Grain.MONTH, tz=PARIS)
    raw = same(con, q, uses=False)
    assert refresh_rollups(con, PARIS) and rolled(con, q)
    assert_equal_frames(compute(duckdb_engine(con), replace(q, with_counts=True)), raw)
    con.close()


def test_rollups_of_another_release_are_ignored(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    shutil.copyfile(demo_db, db)
    con = open_warehouse(db)
    meta = json.loads(con.execute("SELECT value FROM warehouse_config WHERE key = ?", [CONFIG_KEY]).fetchall()[0][0])
    assert meta["version"] == __version__
    meta["version"] = "0.0.0"
    con.execute("UPDATE warehouse_config SET value = ? WHERE key = ?", [json.dumps(meta), CONFIG_KEY])
    same(con, KpiQuery(kpis=("asa", "csat"), tz=PARIS), uses=False)
    # the next refresh of any table rebuilds them all, for this release
    assert set(refresh_rollups(con, PARIS, tables=())) == {r.name for r in (*ROLLUPS, *CUSTOMER_ROLLUPS)}
    same(con, KpiQuery(kpis=("asa", "csat"), tz=PARIS))
    con.close()


def test_a_refresh_follows_the_callers_transaction(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "tx.duckdb"
    shutil.copyfile(demo_db, db)
    con = open_warehouse(db)
    con.execute("BEGIN TRANSACTION")
    refresh_rollups(con, "UTC")
    assert stored(duckdb_engine(con))["tz"] == "UTC"  # type: ignore[index]
    con.execute("ROLLBACK")
    assert stored(duckdb_engine(con))["tz"] == PARIS  # type: ignore[index]
    same(con, KpiQuery(kpis=("asa",), by=("channel",), tz=PARIS))
    con.close()


def test_a_partial_refresh_rebuilds_only_the_rollups_reading_the_table(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "partial.duckdb"
    shutil.copyfile(demo_db, db)
    con = open_warehouse(db)
    assert set(refresh_rollups(con, PARIS, tables=("agent_states",))) == {"agent_states"}
    assert set(refresh_rollups(con, PARIS, tables=("surveys",))) == {
        "responses", "responses_agent", "surveys_sent", "surveys_sent_agent"
    }
    assert set(refresh_rollups(con, PARIS, tables=("loans",))) == set()
    assert set(refresh_rollups(con, PARIS, tables=("contact_links",))) == {r.name for r in CUSTOMER_ROLLUPS}
    every = {r.name for r in (*ROLLUPS, *CUSTOMER_ROLLUPS)}
    assert set(refresh_rollups(con, "UTC", tables=("loans",))) == every  # another zone: all
    con.close()


# --------------------------------------------------------------------------- the backlog snapshot rollup

BACKLOG_BUSINESS = tuple(k for k in KPIS if k.startswith("backlog_age_mean") and k != "backlog_age_mean")


def test_backlog_snapshot_measures_are_the_counts_and_sums() -> None:
    assert SNAPSHOT_MEASURES["backlog"] == {m.name for m in MEASURES.values() if m.source == "backlog" and not m.business}
    assert BACKLOG_BUSINESS and all(not rollable(m) for m in MEASURES.values() if m.business)


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("by", [(), ("channel",), ("team",), ("priority", "team"), ("agent_id",), ("agent_id", "site")], ids=str)
def test_golden_backlog(golden: Golden, by: tuple[str, ...], grain: Grain) -> None:
    df = same(golden["cases"], KpiQuery(kpis=BACKLOG, by=by, grain=grain))
    assert len(df)


@pytest.mark.parametrize(
    ("start", "end", "grain"),
    [
        (date(2026, 3, 10), date(2026, 3, 10), Grain.DAY),
        (date(2026, 3, 9), date(2026, 3, 11), Grain.DAY),
        (date(2026, 3, 4), date(2026, 3, 10), Grain.WEEK),  # weeks cut at both ends
        (date(2026, 3, 5), None, Grain.MONTH),
        (None, date(2026, 3, 7), Grain.ALL),
        (date(2026, 3, 3), date(2026, 3, 8), Grain.ALL),
        (date(2026, 3, 12), date(2026, 3, 12), Grain.DAY),  # the span's last day
        (date(2026, 3, 5), date(2026, 3, 5), Grain.YEAR),
    ],
    ids=str,
)
def test_golden_backlog_ranges(golden: Golden, start: date | None, end: date | None, grain: Grain) -> None:
    same(golden["cases"], KpiQuery(kpis=BACKLOG, by=("team",), grain=grain, start=start, end=end))


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2026, 2, 20), date(2026, 3, 10)), (date(2026, 3, 5), date(2026, 3, 20)), (date(2026, 4, 1), None),
     (date(2026, 1, 1), date(2026, 1, 31))],
    ids=str,
)
def test_golden_backlog_outside_the_span_reads_the_raw_rows(golden: Golden, start: date, end: date | None) -> None:
    for grain in (Grain.DAY, Grain.MONTH, Grain.ALL):
        same(golden["cases"], KpiQuery(kpis=BACKLOG, by=("channel",), grain=grain, start=start, end=end), uses=False)


@pytest.mark.parametrize(
    "filters",
    [{"channel": ("phone",)}, {"team": ("",)}, {"team": ("A", "")}, {"agent_id": ("", "nobody")}, {"channel": ()},
     {"priority": ("high",), "site": ("",)}],
    ids=str,
)
def test_golden_backlog_filters(golden: Golden, filters: dict[str, tuple[str, ...]]) -> None:
    for grain in (Grain.DAY, Grain.ALL):
        same(golden["cases"], KpiQuery(kpis=BACKLOG, by=("channel",), grain=grain, filters=filters))


def test_golden_backlog_raw_dimensions_and_business_time(golden: Golden) -> None:
    con = golden["cases"]
    same(con, KpiQuery(kpis=BACKLOG, by=("reason",), grain=Grain.DAY), uses=False)
    same(con, KpiQuery(kpis=BACKLOG, by=("priority", "agent_id"), grain=Grain.DAY), uses=False)  # in no one rollup
    same(con, KpiQuery(kpis=BACKLOG, filters={"status": ("open",)}), uses=False)
    same(con, KpiQuery(kpis=BACKLOG, grain=Grain.DAY, tz=PARIS), uses=False)  # built in UTC
    # the business mean age needs the calendar: raw rows, beside the rollup's counts
    same(con, KpiQuery(kpis=(*BACKLOG_BUSINESS, "backlog_open"), by=("channel",), grain=Grain.DAY))
    # backlog and resolution together: two sources, two rollups
    same(con, KpiQuery(kpis=(*BACKLOG, "resolution_time"), by=("channel",), grain=Grain.WEEK))


def test_backlog_across_dst_in_paris(tmp_path: Path) -> None:
    """Days of 23 and 25 hours: each day's snapshot is taken at Paris midnight."""
    w = Warehouses(tmp_path)
    con = load_more(w, "cases_tz")
    assert set(refresh_rollups(con, PARIS)) >= {"backlog", "backlog_agent"}
    meta = stored(duckdb_engine(con))
    assert meta is not None and meta["rollups"]["backlog"]["span"]
    for grain in GRAINS:
        same(con, KpiQuery(kpis=BACKLOG, by=("channel",), grain=grain, tz=PARIS))
    first, last = (date.fromisoformat(d) for d in meta["rollups"]["backlog"]["span"])
    for grain in (Grain.DAY, Grain.WEEK, Grain.MONTH, Grain.ALL):
        same(con, KpiQuery(kpis=BACKLOG, grain=grain, start=first, end=last, tz=PARIS))
        same(con, KpiQuery(kpis=BACKLOG, grain=grain, end=last, tz="UTC"), uses=False)
    w.close()


def test_an_import_of_cases_refreshes_the_backlog_rollup(tmp_path: Path) -> None:
    w = Warehouses(tmp_path)
    con = load_more(w, "cases")
    span = stored(duckdb_engine(con))["rollups"]["backlog"]["span"]  # type: ignore[index]
    assert set(refresh_rollups(con, "UTC", tables=("cases",))) == {"cases_closed", "cases_closed_agent", "backlog", "backlog_agent"}
    assert stored(duckdb_engine(con))["rollups"]["backlog"]["span"] == span  # type: ignore[index]
    raw = KpiQuery(kpis=BACKLOG, grain=Grain.DAY, use_rollups=False)
    before = compute(duckdb_engine(con), raw)
    con.execute("DELETE FROM cases WHERE case_id = 'k8'")  # never closed: open from 03-10 on
    refresh_rollups(con, "UTC", tables=("cases",))
    after = same(con, KpiQuery(kpis=BACKLOG, grain=Grain.DAY))
    assert after["backlog_open"].sum() < before["backlog_open"].sum()
    w.close()


@pytest.mark.parametrize(
    ("by", "grain", "start", "end"),
    [
        ((), Grain.DAY, None, None),
        (("channel",), Grain.DAY, date(2026, 3, 20), date(2026, 4, 5)),  # spring forward (23 h) inside
        (("channel",), Grain.DAY, date(2026, 10, 20), date(2026, 10, 31)),  # fall back (25 h) inside
        (("channel", "priority"), Grain.WEEK, date(2026, 1, 15), date(2026, 3, 10)),  # weeks cut at both ends
        (("team", "site"), Grain.MONTH, date(2026, 1, 15), date(2026, 3, 10)),  # months cut at both ends
        (("agent_id",), Grain.MONTH, None, None),
        (("agent_id", "channel"), Grain.QUARTER, date(2026, 2, 1), None),
        ((), Grain.YEAR, None, date(2026, 5, 31)),
        (("channel",), Grain.ALL, None, None),
        (("priority",), Grain.ALL, date(2026, 1, 15), date(2026, 3, 10)),
    ],
    ids=str,
)
def test_demo_backlog(demo: Any, by: tuple[str, ...], grain: Grain, start: date | None, end: date | None) -> None:
    df = same(demo, KpiQuery(kpis=BACKLOG, by=by, grain=grain, start=start, end=end, tz=PARIS))
    assert len(df)


def test_demo_backlog_filters_scope_and_fallbacks(demo: Any) -> None:
    agent, team = _some(demo, "agent_id"), _some(demo, "team")
    q = KpiQuery(kpis=BACKLOG, by=("channel",), grain=Grain.MONTH, tz=PARIS)
    assert len(same(demo, replace(q, filters={"agent_id": (agent, "")})))
    same(demo, replace(q, filters={"team": ("",)}, grain=Grain.DAY))  # no case without a team: no row either way
    assert len(same(demo, replace(q, scope=(("team", (team,)), ("agent_id", (agent,))))))
    same(demo, replace(q, tz="UTC"), uses=False)
    same(demo, replace(q, start=date(2025, 10, 1), end=date(2025, 11, 30)), uses=False)  # before the span
    same(demo, replace(q, params={"fcr_window_days": 3}), uses=False)  # other parameters: another digest
