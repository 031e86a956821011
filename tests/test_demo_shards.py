"""A demo built in shards: determinism, distinct identifiers, and the chunked build.

The chunk scale is forced low (0.02, about 10k contacts a shard) so that a demo of three
shards builds in seconds; the mechanism is the one ``cxkpi demo --scale 200`` runs with
200 shards of scale 1.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cxkpi.demo import generate
from cxkpi.demo.load import build_demo
from cxkpi.demo.shards import ID_COLUMNS, TEAM_COLUMNS, ShardPlan, generate_shard, plan
from cxkpi.kpi import Grain, KpiQuery, compute
from cxkpi.kpi.rollup_meta import declared, stored
from cxkpi.schema import TABLES
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.engines import duckdb_engine
from cxkpi.warehouse.rollup_store import read_meta

SEED = 11
SCALE = 0.06
CHUNK = 0.02
PARIS = "Europe/Paris"
#: KPIs over every rolled-up source, compared with and without the rollups
KPIS = ("contacts_offered", "answer_rate", "aht", "backlog_open", "occupancy", "csat", "sentiment",
        "repeat_contact_rate")


@pytest.fixture(scope="module")
def shards() -> list[dict[str, pa.Table]]:
    p = plan(SEED, SCALE, CHUNK)
    return [generate_shard(p, i) for i in range(p.count)]


@dataclass(frozen=True)
class Built:
    path: Path
    progress: list[tuple[str, float]]
    summary: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    path = tmp_path_factory.mktemp("shards") / "demo.duckdb"
    seen: list[tuple[str, float]] = []
    summary = build_demo(path, seed=SEED, scale=SCALE, reporting_tz=PARIS,
                         progress=lambda step, f: seen.append((step, f)), chunk_scale=CHUNK)
    return Built(path, seen, summary)


@pytest.fixture
def warehouse(built: Built) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_warehouse(built.path, read_only=True)
    yield con
    con.close()


def kpis(con: duckdb.DuckDBPyConnection, use_rollups: bool) -> Any:
    q = KpiQuery(kpis=KPIS, grain=Grain.MONTH, tz=PARIS, with_counts=True, use_rollups=use_rollups)
    return compute(duckdb_engine(con), q)


# --- the plan ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "chunk", "count", "tag"),
    [(0.5, 1.0, 1, "01"), (1.0, 1.0, 1, "01"), (1.5, 1.0, 2, "02"), (20, 1.0, 20, "20"), (0.3, 0.1, 3, "03"),
     (200, 1.0, 200, "200")],
)
def test_fewest_shards_of_at_most_the_chunk(scale: float, chunk: float, count: int, tag: str) -> None:
    p = plan(SEED, scale, chunk)
    assert p.count == count and p.shard_scale <= chunk
    assert p.tag(count - 1) == tag
    with pytest.raises(ValueError):
        p.tag(count)


# --- generation --------------------------------------------------------------------------


def test_a_demo_of_one_shard_is_the_generator_s(shards: list[dict[str, pa.Table]]) -> None:
    one = generate_shard(plan(SEED, CHUNK, CHUNK), 0)
    whole = generate(SEED, CHUNK)
    for name, t in whole.items():
        assert one[name].equals(t), name


def test_same_seed_and_scale_same_shards(shards: list[dict[str, pa.Table]]) -> None:
    p = plan(SEED, SCALE, CHUNK)
    again = generate_shard(p, 2)  # alone: a shard does not depend on the ones before
    for name, t in shards[2].items():
        assert again[name].equals(t), name
    compact = generate_shard(p, 1, compact_text=True)
    for name, t in shards[1].items():
        for field in t.schema:
            assert compact[name].column(field.name).cast(field.type).equals(t.column(field.name)), (name, field.name)


def test_shards_draw_other_years(shards: list[dict[str, pa.Table]]) -> None:
    """Each shard has its own random streams: the same scale gives other volumes and times."""
    created = [t["contacts"].column("created_at") for t in shards]
    assert not created[0].equals(created[1]) and not created[1].equals(created[2])
    sizes = [t["contacts"].num_rows for t in shards]
    assert max(sizes) < 1.3 * min(sizes)


@pytest.mark.parametrize("name", list(TABLES))
def test_shard_keys_never_collide(shards: list[dict[str, pa.Table]], name: str) -> None:
    keys = list(TABLES[name].key)
    whole = pa.concat_tables([t[name] for t in shards])
    assert whole.group_by(keys).aggregate([]).num_rows == whole.num_rows
    for column in ID_COLUMNS[name]:  # every identifier of a shard carries its tag
        for i, t in enumerate(shards):
            values = t[name].column(column).drop_null()
            assert pc.all(pc.match_substring_regex(values, f"^[A-Z]+0{i + 1}-[0-9]+$")).as_py() is not False


def test_ids_teams_and_references_stay_within_a_shard(shards: list[dict[str, pa.Table]]) -> None:
    seen: dict[str, set[str]] = {}
    for t in shards:
        for column in ("customer_id", "agent_id", "contact_id", "case_id"):
            here = {v for name, cols in ID_COLUMNS.items() if column in cols
                    for v in t[name].column(column).drop_null().to_pylist()}
            assert not here & seen.get(column, set()), column
            seen.setdefault(column, set()).update(here)
        assert set(t["contacts"].column("customer_id").to_pylist()) <= set(t["customers"].column("customer_id").to_pylist())
        agents = set(t["agent_states"].column("agent_id").to_pylist())
        assert set(t["contacts"].column("agent_id").drop_null().to_pylist()) <= agents
    teams = [{v for name, cols in TEAM_COLUMNS.items() for c in cols for v in t[name].column(c).drop_null().to_pylist()}
             for t in shards]
    assert all(len(x) == 6 for x in teams) and not teams[0] & teams[1] and not teams[1] & teams[2]
    assert "Lyon Digital (R02)" in teams[1]
    sites = [set(t["contacts"].column("site").drop_null().to_pylist()) for t in shards]
    assert sites[0] == sites[1] == sites[2] == {"Lyon", "Rabat (prestataire)"}  # sites are shared


# --- the chunked build -------------------------------------------------------------------


def test_rows_add_up_across_shards(built: Built, warehouse: duckdb.DuckDBPyConnection,
                                   shards: list[dict[str, pa.Table]]) -> None:
    for name in TABLES:
        stored_rows = warehouse.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
        assert stored_rows == sum(t[name].num_rows for t in shards), name
    contacts = sum(t["contacts"].num_rows for t in shards)
    assert f"{contacts:,} contacts" in built.summary and "3 regions" in built.summary


def test_no_row_is_rejected_and_each_shard_is_its_own_import(warehouse: duckdb.DuckDBPyConnection) -> None:
    log = warehouse.execute("SELECT table_name, file, rows_rejected FROM import_log").fetchall()
    assert len(log) == 3 * len(TABLES) and all(r[2] == 0 for r in log)
    assert {r[1] for r in log if r[0] == "contacts"} == {
        f"demo:contacts?seed={SEED}&scale={SCALE:g}&region={i}/3" for i in (1, 2, 3)
    }
    assert warehouse.execute("SELECT count(*) FROM rejects").fetchall()[0][0] == 0
    # every verbatim was scored by its shard's import
    assert warehouse.execute(
        "SELECT count(*) FROM surveys WHERE sentiment IS NULL AND trim(coalesce(verbatim, '')) <> ''"
    ).fetchall()[0][0] == 0


def test_rollups_are_current_after_the_build(warehouse: duckdb.DuckDBPyConnection) -> None:
    meta = stored(duckdb_engine(warehouse))
    assert meta is not None and meta["tz"] == PARIS and set(meta["rollups"]) == set(declared())
    with_rollups, raw = kpis(warehouse, True), kpis(warehouse, False)
    assert list(with_rollups.columns) == list(raw.columns) and len(with_rollups) == len(raw)
    for a, b in zip(with_rollups.to_dict("records"), raw.to_dict("records")):
        for column, value in a.items():
            other = b[column]
            if isinstance(value, float) and isinstance(other, float):
                assert math.isclose(value, other, rel_tol=1e-9) or (math.isnan(value) and math.isnan(other)), column
            else:
                assert value == other, column


def test_progress_follows_the_whole_build(built: Built) -> None:
    fractions = [f for _, f in built.progress]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    steps = [s for s, _ in built.progress]
    for region in ("region 1/3: queue", "region 2/3: import contacts", "region 3/3: import loans"):
        assert region in steps
    assert steps.index("region 2/3: customers") > steps.index("region 1/3: import loans")
    assert "rollups" in steps


def test_a_build_stopped_between_shards_leaves_no_stale_rollup(built: Built, tmp_path: Path) -> None:
    """A rebuild with another seed, stopped once its first shard is in: the warehouse holds
    that shard's rows, no rollup answers, and every query reads the rows."""
    path = tmp_path / "stopped.duckdb"
    shutil.copy(built.path, path)
    con = open_warehouse(path, read_only=True)
    before = kpis(con, True)  # answered by the complete build's rollups
    con.close()

    class Stop(Exception):
        pass

    def stop(step: str, fraction: float) -> None:
        if step.startswith("region 2/3"):
            raise Stop

    with pytest.raises(Stop):
        build_demo(path, seed=SEED + 1, scale=SCALE, reporting_tz=PARIS, progress=stop, chunk_scale=CHUNK)
    first = generate_shard(ShardPlan(SEED + 1, SCALE, 3), 0)["contacts"]
    con = open_warehouse(path, read_only=True)
    try:
        assert read_meta(con) is None
        # the new first shard's rows replaced the old ones
        row = first.filter(pc.equal(first.column("contact_id"), "CT01-00000001"))
        stored_at = con.execute("SELECT created_at FROM contacts WHERE contact_id = 'CT01-00000001'").fetchall()[0][0]
        assert stored_at == row.column("created_at")[0].as_py()
        # queries answer from the rows: the rollup tables left on disk are not read
        after = kpis(con, True)
        assert after.equals(kpis(con, False)) and len(after) == len(before) and not after.equals(before)
    finally:
        con.close()


def test_an_import_leaves_no_arrow_data_registered(tmp_path: Path, shards: list[dict[str, pa.Table]]) -> None:
    """The connection lives through every shard: it must not keep each shard's tables alive."""
    from cxkpi.demo.load import _import

    con = open_warehouse(tmp_path / "w.duckdb")
    try:
        report = _import(con, "customers", shards[0]["customers"], "demo:customers")
        assert report.rejected == 0 and report.new == shards[0]["customers"].num_rows
        views = con.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()
        assert views == []
    finally:
        con.close()
