"""The served warehouse's cache: one computation per data version and key, nothing kept
from a computation that overlapped a write, facts shared within a version only."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from cxkpi.service.runtime import Warehouse


def _warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "w.duckdb")


def test_concurrent_requests_for_one_result_compute_it_once(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.3)
        return 42

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(wh.cached(("k",), slow))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 5 and len(calls) == 1
    assert wh.cached(("k",), lambda: 0) == 42  # kept
    wh.close()


def test_a_write_forgets_every_result(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    assert wh.cached(("k",), lambda: 1) == 1
    with wh.writer() as con:
        con.execute("INSERT INTO warehouse_config VALUES ('x', 'y')")
    assert wh.cached(("k",), lambda: 2) == 2
    assert wh.version == 2
    wh.close()


def test_nothing_computed_during_a_write_is_kept(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    with wh.writer():
        assert wh.version % 2 == 1
        assert wh.cached(("k",), lambda: "during") == "during"
    assert wh.cached(("k",), lambda: "after") == "after"

    def overlapping() -> str:
        with wh.writer():  # a write begins and ends while the result is computed
            pass
        return "stale"

    assert wh.cached(("j",), overlapping) == "stale"
    assert wh.cached(("j",), lambda: "fresh") == "fresh"
    wh.close()


def test_readers_share_facts_within_a_version_only(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    with wh.reader() as (engine, _):
        assert engine.fact(("n",), lambda: 1) == 1
    with wh.reader() as (engine, _):
        assert engine.fact(("n",), lambda: 2) == 1  # same version: remembered
    with wh.writer():
        with wh.reader() as (engine, _):
            assert engine.fact(("n",), lambda: 3) == 3  # a write under way: nothing shared
    with wh.reader() as (engine, _):
        assert engine.fact(("n",), lambda: 4) == 4  # a new version
    wh.close()


def test_a_reader_sees_one_snapshot(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    with wh.reader() as (_, cur):
        before = cur.execute("SELECT count(*) FROM warehouse_config").fetchall()[0][0]
        with wh.writer() as con:
            con.execute("INSERT INTO warehouse_config VALUES ('new', 'row')")
        assert cur.execute("SELECT count(*) FROM warehouse_config").fetchall()[0][0] == before
    with wh.reader() as (_, cur):
        assert cur.execute("SELECT count(*) FROM warehouse_config").fetchall()[0][0] == before + 1
    wh.close()
