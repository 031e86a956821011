"""Shared fixtures for the importer tests: a fresh warehouse, file writers, the CLI.

Every test gets its own warehouse file under ``tmp_path``; nothing touches the
current directory or the user's ``cxkpi.duckdb``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import tempfile
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from cxkpi.ingest import ImportReport
from cxkpi.service.imports import import_file
from cxkpi.warehouse import open_warehouse

# Hypothesis keeps its example database outside the source tree
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "cxkpi-tests-hypothesis")

# The console script is ``cxkpi.cli.main:run``; run it the same way, without relying on
# a ``__main__`` block or on the venv's bin folder being on PATH.
CLI = [sys.executable, "-c", "import sys; sys.argv[0] = 'cxkpi'; from cxkpi.cli.main import run; run()"]


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]], delimiter: str = ",") -> str:
    """CSV text with ``\\n`` line ends; ``None`` cells are written empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def dict_rows_csv(rows: Sequence[dict[str, Any]], delimiter: str = ",") -> str:
    """CSV text of dict rows; the header is the union of the keys in first-seen order."""
    header: list[str] = []
    for r in rows:
        for k in r:
            if k not in header:
                header.append(k)
    return csv_text(header, [[r.get(k) for k in header] for r in rows], delimiter)


class Files:
    """Writes test inputs under one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def bytes(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        return path

    def text(self, name: str, text: str, encoding: str = "utf-8", bom: bool = False) -> Path:
        data = text.encode(encoding)
        if bom:
            data = b"\xef\xbb\xbf" + data
        return self.bytes(name, data)

    def csv(
        self,
        name: str,
        header: Sequence[str],
        rows: Sequence[Sequence[Any]],
        delimiter: str = ",",
        encoding: str = "utf-8",
        bom: bool = False,
    ) -> Path:
        return self.text(name, csv_text(header, rows, delimiter), encoding=encoding, bom=bom)

    def dict_csv(self, name: str, rows: Sequence[dict[str, Any]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
        return self.text(name, dict_rows_csv(rows, delimiter), encoding=encoding)

    def jsonl(self, name: str, lines: Sequence[Any]) -> Path:
        """One line per item: dicts/lists are dumped as JSON, strings written as they are."""
        out = [x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines]
        return self.text(name, "\n".join(out) + "\n")


class Warehouse:
    """A fresh warehouse and small query helpers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.con: duckdb.DuckDBPyConnection = open_warehouse(path)

    def import_(self, table: str, path: Path | str, **kwargs: Any) -> ImportReport:
        return import_file(self.con, table, path, **kwargs)

    def all(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params or [])).fetchall()

    def dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, list(params or []))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.con.execute(sql, list(params or [])).fetchone()
        assert row is not None
        return row[0]

    def count(self, table: str) -> int:
        return int(self.scalar(f'SELECT count(*) FROM "{table}"'))

    def rejects(self, import_id: int | None = None) -> list[dict[str, Any]]:
        where = "" if import_id is None else f"WHERE import_id = {int(import_id)}"
        return self.dicts(f'SELECT import_id, table_name, file, line, "column", reason, raw FROM rejects {where} ORDER BY import_id, line')

    def columns(self, table: str) -> dict[str, str]:
        rows = self.all(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        )
        return {name: typ for name, typ in rows}

    def close(self) -> None:
        self.con.close()


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path / "in")


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "wh.duckdb"


@pytest.fixture
def wh(db_file: Path) -> Iterator[Warehouse]:
    w = Warehouse(db_file)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def new_warehouse(tmp_path: Path) -> Iterator[Any]:
    """Factory of extra fresh warehouses (to compare several imports side by side)."""
    made: list[Warehouse] = []

    def make(name: str) -> Warehouse:
        w = Warehouse(tmp_path / f"{name}.duckdb")
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


class Cli:
    """Runs ``cxkpi`` in a subprocess with ``CXKPI_DB`` pointing at a test warehouse."""

    def __init__(self, cwd: Path, db: Path) -> None:
        self.cwd = cwd
        self.db = db

    def __call__(self, *args: str, env: dict[str, str] | None = None, db: Path | None | bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if k != "CXKPI_DB"}
        full_env["COLUMNS"] = "200"  # keep Rich output on one line per row
        full_env["PYTHONIOENCODING"] = "utf-8"
        if db is True:
            full_env["CXKPI_DB"] = str(self.db)
        elif isinstance(db, Path):
            full_env["CXKPI_DB"] = str(db)
        full_env.update(env or {})
        return subprocess.run(
            [*CLI, *args], cwd=self.cwd, env=full_env, capture_output=True, text=True, encoding="utf-8", timeout=timeout
        )


@pytest.fixture
def cli(tmp_path: Path, db_file: Path) -> Cli:
    return Cli(tmp_path, db_file)


class InProcessCli:
    """Calls ``cxkpi.cli.main.run`` in the test process (same exit codes and streams, no start-up cost).

    An exception that ``run`` lets through fails the test with its traceback, which is what a
    user would have seen; the subprocess ``cli`` fixture covers the real process boundary.
    """

    def __init__(self, cwd: Path, db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.cwd, self.db, self.monkeypatch, self.capsys = cwd, db, monkeypatch, capsys

    def __call__(self, *args: str, db: Path | None | bool = True) -> subprocess.CompletedProcess[str]:
        from cxkpi.cli import main

        mp = self.monkeypatch
        mp.chdir(self.cwd)
        mp.setenv("COLUMNS", "200")
        if db is True:
            mp.setenv("CXKPI_DB", str(self.db))
        elif isinstance(db, Path):
            mp.setenv("CXKPI_DB", str(db))
        else:
            mp.delenv("CXKPI_DB", raising=False)
        mp.setattr(sys, "argv", ["cxkpi", *args])
        self.capsys.readouterr()
        code: int = 0
        try:
            main.run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = self.capsys.readouterr()
        return subprocess.CompletedProcess(["cxkpi", *args], code, captured.out, captured.err)


@pytest.fixture
def cli_fast(tmp_path: Path, db_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcessCli:
    return InProcessCli(tmp_path, db_file, monkeypatch, capsys)


def assert_user_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """One clear line on stderr, a non-zero exit, no traceback."""
    assert proc.returncode != 0, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.fixture
def user_error() -> Any:
    return assert_user_error


@pytest.fixture(scope="session")
def web_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small demo warehouse with one user per role (tests/web_support.py), built once per worker."""
    from web_support import build_web_warehouse

    return build_web_warehouse(tmp_path_factory.mktemp("web") / "web.duckdb")


@pytest.fixture(scope="session")
def web_app(web_warehouse: Any) -> Iterator[Any]:
    """The served application over ``web_warehouse`` (one per worker; its cache is per data version)."""
    from cxkpi.server.app import create_app

    app = create_app(web_warehouse.path, secure_cookies=False)
    yield app
    app.state.server.warehouse.close()


@pytest.fixture
def client_as(web_app: Any) -> Iterator[Any]:
    """``client_as(username)``: a TestClient logged in as that user (``None``: anonymous)."""
    from fastapi.testclient import TestClient
    from web_support import login

    opened: list[Any] = []

    def make(username: str | None) -> Any:
        client = TestClient(web_app, raise_server_exceptions=False)
        opened.append(client)
        if username:
            login(client, username)
        return client

    yield make
    for c in opened:
        c.close()


@pytest.fixture(scope="session")
def spark_local() -> Iterator[Any]:
    """The worker's one local Spark session (``local[1]``, one shuffle partition, no UI), started
    once; the views registered by the tests (one per canonical table) are dropped at the end.

    Its JVM compiles with the quick JIT tier only (``-XX:TieredStopAtLevel=1``): tests run many
    small queries once, where full optimisation costs more CPU than it saves (about 40 %).
    """
    from cxkpi.schema import TABLES
    from cxkpi.warehouse.engines import spark_session

    key = "PYSPARK_SUBMIT_ARGS"
    before = os.environ.get(key)
    if before is None:
        os.environ[key] = "--driver-java-options -XX:TieredStopAtLevel=1 pyspark-shell"
    try:
        session = spark_session("local[1]")
    finally:
        if before is None:
            os.environ.pop(key, None)
    yield session
    for name in TABLES:
        session.catalog.dropTempView(name)
