"""A batch is one transaction: killing the importer mid-file leaves the warehouse as before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from cxkpi.service.imports import import_file
from cxkpi.warehouse import open_warehouse

ROWS = 3_000_000

GENERATE = """
COPY (SELECT 'K' || i AS contact_id, 'phone' AS channel,
             strftime(TIMESTAMP '2026-01-01' + to_seconds(i), '%Y-%m-%dT%H:%M:%SZ') AS created_at,
             'C' || (i % 1000) AS customer_id, 'q' || (i % 7) AS queue
      FROM range({rows}) t(i)) TO '{path}' (HEADER)
"""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "big.csv"
    duckdb.connect().execute(GENERATE.format(rows=ROWS, path=path))
    return path


def _snapshot(db: Path) -> tuple[int, int, int, list[tuple[str, ...]]]:
    con = open_warehouse(db, read_only=True)
    try:
        contacts = con.execute("SELECT count(*) FROM contacts").fetchone()
        log = con.execute("SELECT count(*) FROM import_log").fetchone()
        rejects = con.execute("SELECT count(*) FROM rejects").fetchone()
        cols = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'contacts' ORDER BY ordinal_position"
        ).fetchall()
    finally:
        con.close()
    assert contacts and log and rejects
    return contacts[0], log[0], rejects[0], cols


KILL_AFTER_S = (1.5, 4.0)  # an early and a later point of the import's run


@pytest.mark.slow
def test_killed_import_leaves_warehouse_unchanged(tmp_path: Path, big_csv: Path) -> None:
    """Killed at each point in turn, the import leaves the warehouse as it was each time; the
    warehouse then takes the same import whole (once, after all the kills: it is the costly part)."""
    db = tmp_path / "w.duckdb"
    small = tmp_path / "small.csv"
    small.write_text("contact_id,channel,created_at\nA1,phone,2026-01-01T10:00:00Z\nA2,email,2026-01-01T11:00:00Z\n")
    con = open_warehouse(db)
    import_file(con, "contacts", small)
    con.close()
    before = _snapshot(db)

    cli = [sys.executable, "-c", "from cxkpi.cli.main import run; run()"]
    for kill_after_s in KILL_AFTER_S:
        proc = subprocess.Popen(
            [*cli, "--db", str(db), "import", "contacts", str(big_csv), "--rejects-dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(kill_after_s)
        assert proc.poll() is None, f"the import finished within {kill_after_s} s, before it could be killed: use a bigger file"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        assert _snapshot(db) == before, f"killed after {kill_after_s} s"

    # and the warehouse still takes the same import afterwards
    con = open_warehouse(db)
    try:
        report = import_file(con, "contacts", big_csv, rejects_dir=tmp_path)
    finally:
        con.close()
    assert report.new == ROWS and report.rejected == 0
