"""An import caps DuckDB's memory (it spills to disk beyond), and gives the connection its
own limit back; a lower limit set by the user or the demo is kept."""

from __future__ import annotations

import duckdb
import pytest

from cxkpi.warehouse.connection import IMPORT_MEMORY, _bytes, memory_bounded


def limit(con: duckdb.DuckDBPyConnection) -> float:
    return _bytes(str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]))


def test_an_import_caps_memory_then_restores_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CXKPI_MEMORY_LIMIT", raising=False)
    con = duckdb.connect()
    before = limit(con)
    for _ in range(3):  # a server imports many times: the default comes back exactly
        with memory_bounded(con):
            assert limit(con) <= _bytes(IMPORT_MEMORY) < before
        assert limit(con) == before


def test_the_users_limit_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXKPI_MEMORY_LIMIT", "8GB")
    con = duckdb.connect(config={"memory_limit": "8GB"})
    before = limit(con)
    with memory_bounded(con):
        assert limit(con) == before
    assert limit(con) == before


def test_a_lower_limit_is_kept() -> None:
    con = duckdb.connect()
    con.execute("SET memory_limit = '500MB'")
    before = limit(con)
    with memory_bounded(con):
        assert limit(con) == before
    assert limit(con) == before


def test_sizes_read_as_duckdb_writes_them() -> None:
    assert _bytes("1.5 GiB") == 1.5 * 2**30
    assert _bytes("2GB") == 2e9
    assert _bytes("nonsense") == float("inf")
