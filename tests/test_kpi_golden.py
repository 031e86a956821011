"""Every golden case on every engine: hand-made data, hand-computed numbers, DuckDB and Spark.

The cases (data sets, queries, expected rows with the reasoning beside each number) live in
``kpi_golden.py`` (contact KPIs) and ``kpi_golden_more.py`` (the others). Each case's
data set is imported once per module into a DuckDB warehouse through the real importer, then runs:

- on DuckDB, over the warehouse itself (daily rollups included, as in production);
- on Spark, over Parquet files of the case's data set: every canonical table, without the
  columns the warehouse derives at import that the KPI layer can derive on any engine
  (``PORTABLE_DERIVED``: FCR's next inbound contact, contacts per case), so Spark runs
  those derivations. Its result must also equal DuckDB's, counts included.

An engine that cannot answer a case says so in ``CANNOT`` (case -> reason) and the case
carries a strict xfail there; every other case must pass on every engine, so a formula
changed on either engine fails here.
One local Spark session per test worker (``spark_local`` in conftest.py); each data set is
written as Parquet once per module and its views registered when a case needs another one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cxkpi.kpi.catalogue import KPIS
from cxkpi.kpi.sources import with_next_inbound
from cxkpi.schema import TABLES
from cxkpi.warehouse.ddl import quote
from cxkpi.warehouse.engines import Engine, duckdb_engine, spark_engine
from kpi_golden import CASES, SPARK_MARKS, GoldenCase, Q, Warehouses, assert_rows, assert_same_frames, run
from kpi_golden_more import CASES_MORE, UK, UK_MAPPING, Loaded, import_uk

pytestmark = SPARK_MARKS

ENGINES = ("duckdb", "spark")

# derived columns the KPI layer recomputes when a table lacks them (kpi.sources); sentiment is
# scored in Python at import and has no portable derivation, so Spark reads it as exported
PORTABLE_DERIVED: dict[str, tuple[str, ...]] = {
    "contacts": ("next_inbound_at", "next_same_reason_at"),
    "cases": ("contact_count",),
}

# what each engine cannot answer: golden case id -> why; the case is a strict xfail on that engine
# (it fails the day the engine learns it). Both engines answer every case today.
CANNOT: dict[str, dict[str, str]] = {
    "duckdb": {},
    "spark": {},
}

GOLDEN: list[tuple[str, GoldenCase]] = [*(("contacts", c) for c in CASES), *(("more", c) for c in CASES_MORE)]
assert len({c.id for _, c in GOLDEN}) == len(GOLDEN), "duplicate golden case id"

# KPIs without a golden case, and why (test_engines_agree.py still runs them on every engine)
NO_GOLDEN = {
    "sentiment": "scores come from a lexicon at import (test_sentiment.py), not from a hand count",
    "negative_verbatim_rate": "the same scores",
}


def _params() -> Iterator[Any]:
    for family, case in GOLDEN:
        for engine in ENGINES:
            why = CANNOT[engine].get(case.id)
            marks = [pytest.mark.xfail(reason=f"{engine}: {why}", strict=True)] if why else []
            yield pytest.param(family, case, engine, id=f"{case.id}-{engine}", marks=marks)


class Golden:
    """The golden warehouses of a module, by family (``contacts``: kpi_golden's data sets,
    ``more``: kpi_golden_more's): one per data set, imported on first use, read only."""

    def __init__(self, folder: Path) -> None:
        self.families = {"contacts": Loaded(folder / "contacts", Warehouses.load), "more": Loaded(folder / "more")}
        self.warehouses = self.families["more"].warehouses  # for tests that build their own

    def __call__(self, family: str, dataset: str) -> duckdb.DuckDBPyConnection:
        return self.families[family](dataset)

    def close(self) -> None:
        for loaded in self.families.values():
            loaded.warehouses.close()


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Golden]:
    shared = Golden(tmp_path_factory.mktemp("golden"))
    try:
        yield shared
    finally:
        shared.close()


def write_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> Path:
    """Every canonical table of the warehouse as ``NAME.parquet`` (empty ones too, so no view of
    another data set survives), without the derived columns of ``PORTABLE_DERIVED``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        drop = PORTABLE_DERIVED.get(name)
        exclude = f"EXCLUDE ({', '.join(quote(c) for c in drop)})" if drop else ""
        path = str(folder / f"{name}.parquet").replace("'", "''")
        con.execute(f"COPY (SELECT * {exclude} FROM {quote(name)}) TO '{path}' (FORMAT parquet)")
    return folder


class SparkData:
    """Golden data on Spark: each data set written once as Parquet under the module's folder,
    its views registered again only when they show another data set (registering reads
    every file's footer: the larger part of a tiny case's time)."""

    def __init__(self, session: Any, folder: Path) -> None:
        self.session, self.folder = session, folder

    def engine(self, key: str, con: duckdb.DuckDBPyConnection) -> Engine:
        folder = self.folder / key
        if not folder.exists():
            write_parquet(con, folder)
        return spark_engine("local[1]", None if self._shown(folder) else folder)

    def _shown(self, folder: Path) -> bool:
        """Do the session's views read exactly this folder's files?"""
        from pyspark.errors import AnalysisException

        try:
            return all(self.session.table(name).inputFiles() == [(folder / f"{name}.parquet").resolve().as_uri()]
                       for name in TABLES)
        except AnalysisException:  # a view missing
            return False


@pytest.fixture(scope="module")
def spark_data(spark_local: Any, tmp_path_factory: pytest.TempPathFactory) -> SparkData:
    return SparkData(spark_local, tmp_path_factory.mktemp("parquet"))


def on_engine(engine: str, key: str, con: duckdb.DuckDBPyConnection, request: pytest.FixtureRequest) -> Engine:
    """The engine ``engine`` over the data of ``con`` (Spark: through its Parquet files, ``key``)."""
    if engine == "duckdb":
        return duckdb_engine(con)
    data: SparkData = request.getfixturevalue("spark_data")
    return data.engine(key, con)


@pytest.mark.parametrize(("family", "case", "engine"), list(_params()))
def test_golden_case(family: str, case: GoldenCase, engine: str, golden: Golden, request: pytest.FixtureRequest) -> None:
    con = golden(family, case.dataset)
    query = replace(case.query, with_counts=True)  # the counts shown must agree across engines too
    got = run(on_engine(engine, f"{family}_{case.dataset}", con, request), query)
    assert_rows(got, case.expected)
    if engine != "duckdb":
        assert_same_frames(got, run(duckdb_engine(con), query))


def test_every_kpi_of_the_catalogue_has_a_golden_case() -> None:
    covered = {k for _, c in GOLDEN for k in c.query.kpis}
    assert covered == set(KPIS) - set(NO_GOLDEN)


def test_every_engine_declares_what_it_cannot_answer() -> None:
    assert set(CANNOT) == set(ENGINES)
    known = {c.id for _, c in GOLDEN}
    for engine, cases in CANNOT.items():
        assert set(cases) <= known, (engine, set(cases) - known)


def utc(ts: datetime | None) -> datetime | None:
    """Spark (session zone UTC) hands timestamps back naive: they are UTC wall-clock times."""
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def test_portable_next_inbound_on_spark_equals_materialized(golden: Golden, request: pytest.FixtureRequest) -> None:
    con = golden("contacts", "fcr")
    spark = on_engine("spark", "contacts_fcr", con, request)
    derived = PORTABLE_DERIVED["contacts"]
    t = spark.table("contacts")
    assert not set(derived) & set(t.columns)
    out = with_next_inbound(spark, t).select("contact_id", *derived).order_by("contact_id").to_pyarrow().to_pylist()
    got: list[tuple[Any, ...]] = [(r["contact_id"], utc(r["next_inbound_at"]), utc(r["next_same_reason_at"])) for r in out]
    want = con.execute(f"SELECT contact_id, {', '.join(derived)} FROM contacts ORDER BY contact_id").fetchall()
    assert got == want


@pytest.mark.skipif(not UK.exists(), reason=f"{UK} not available")
@pytest.mark.parametrize("engine", ENGINES)
def test_uk_telecom_nps(engine: str, golden: Golden, request: pytest.FixtureRequest) -> None:
    """Real data with an extra column kept at import (``nps_rating``) as a dimension."""
    con, report = import_uk(golden.warehouses, UK_MAPPING, f"uk_{engine}")
    assert report.accepted == 2385
    eng = on_engine(engine, f"uk_{engine}", con, request)
    if engine != "duckdb":
        by_rating = Q(["nps"], by=("nps_rating",), with_counts=True)
        assert_same_frames(run(eng, by_rating), run(duckdb_engine(con), by_rating))
    total = run(eng, Q(["nps"], with_counts=True)).to_dict("records")[0]
    assert (total["nps_n"], total["promoters"], total["detractors"]) == (2353, 690, 1271)
    assert round(total["nps"], 2) == -24.69  # SOURCE.md
