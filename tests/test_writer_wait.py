"""Writers wait their turn: an open that finds the warehouse locked by another process
(DuckDB allows one writing process per file) waits for it, bounded by ``--wait``, says once
on stderr what it waits for, then proceeds or fails with one line.

The holder is a real second process that keeps the file open in write mode until the test
closes its stdin, so each case releases it at a known moment instead of racing a sleep.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CLI

from cxkpi.config import UserError
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.connection import LockWait, set_default_lock_wait

HOLDER = (
    "import duckdb, sys; c = duckdb.connect(sys.argv[1]); c.execute('create table if not exists t(x int)'); "
    "print('ready', flush=True); sys.stdin.readline()"
)
H = ["contact_id", "channel", "created_at"]
ROWS = [["w1", "phone", "2026-03-05 10:00"], ["w2", "chat", "2026-03-05 10:05"]]


class Holder:
    """A process holding the warehouse's write lock until ``release``."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.pid = self.proc.pid

    def release(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()  # its readline returns: it exits and the lock goes with it
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def hold(db_file: Path) -> Iterator[Callable[[], Holder]]:
    """Start a holder of ``db_file`` (a valid warehouse first); released after the test in any case."""
    open_warehouse(db_file).close()
    holders: list[Holder] = []

    def start() -> Holder:
        holders.append(Holder(db_file))
        return holders[-1]

    yield start
    for h in holders:
        h.release()


def _cxkpi(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", env={**_env(), "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"})


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("CXKPI_DB", "CXKPI_WAIT")}


def test_an_import_waits_for_the_holder_then_succeeds(hold: Any, db_file: Path, files: Any, tmp_path: Path) -> None:
    holder = hold()
    path = files.csv("c.csv", H, ROWS)
    proc = _cxkpi("--db", str(db_file), "--wait", "10", "import", "contacts", str(path), cwd=tmp_path)
    assert proc.stderr is not None
    waiting = proc.stderr.readline()  # said before the holder goes away
    holder.release()
    out, rest = proc.communicate(timeout=30)
    assert proc.returncode == 0, waiting + rest
    assert waiting.startswith(f"waiting for warehouse {db_file}: held by process {holder.pid} (python")
    assert waiting.rstrip().endswith("up to 10 s (--wait)")
    assert "Traceback" not in rest and "waiting" not in rest  # said once
    assert "accepted 2" in out


def test_past_the_bound_one_line_names_the_holder_and_the_option(hold: Any, db_file: Path, files: Any, tmp_path: Path,
                                                                  user_error: Any) -> None:
    """A bound under a second is not announced: the error is the only line."""
    holder = hold()
    path = files.csv("c.csv", H, ROWS)
    proc = _cxkpi("--db", str(db_file), "--wait", "0.5", "import", "contacts", str(path), cwd=tmp_path)
    out, err = proc.communicate(timeout=30)
    user_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err),
               f"warehouse {db_file} is still held by process {holder.pid} (python", "after 0.5 s",
               "try again later or raise --wait")


def test_wait_zero_fails_at_once_as_before(hold: Any, db_file: Path, files: Any, cli_fast: Any, user_error: Any) -> None:
    holder = hold()
    path = files.csv("c.csv", H, ROWS)
    user_error(cli_fast("--wait", "0", "import", "contacts", str(path)), "cannot open warehouse", f"(PID {holder.pid})")


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
def test_open_waits_and_tells_once(hold: Any, db_file: Path, read_only: bool) -> None:
    holder = hold()
    told: list[str] = []

    def on_wait(message: str) -> None:
        told.append(message)
        threading.Thread(target=holder.release).start()  # the holder leaves once we wait

    con = open_warehouse(db_file, read_only=read_only, wait_s=10, on_wait=on_wait)
    try:
        assert con.execute("select count(*) from t").fetchall() == [(0,)]
    finally:
        con.close()
    assert len(told) == 1
    assert f"held by process {holder.pid} (python" in told[0] and "up to 10 s (--wait)" in told[0]


@pytest.mark.parametrize(("wait_s", "told_lines"), [(0.3, 0), (1.0, 1)], ids=["short-quiet", "announced"])
def test_open_gives_up_after_the_bound(hold: Any, db_file: Path, wait_s: float, told_lines: int) -> None:
    holder = hold()
    told: list[str] = []
    with pytest.raises(UserError) as caught:
        open_warehouse(db_file, wait_s=wait_s, on_wait=told.append)
    assert len(told) == told_lines
    assert f"still held by process {holder.pid}" in str(caught.value) and f"after {wait_s:g} s" in str(caught.value)


def test_the_process_default_applies_to_opens_not_told(hold: Any, db_file: Path) -> None:
    """The demo builder, the query engine and the server call ``open_warehouse(path)``."""
    holder = hold()
    told: list[str] = []
    previous = set_default_lock_wait(LockWait(1.0, told.append))
    try:
        with pytest.raises(UserError, match="after 1 s"):
            open_warehouse(db_file)
    finally:
        set_default_lock_wait(previous)
    assert len(told) == 1 and str(holder.pid) in told[0]


def test_other_errors_do_not_wait(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-warehouse.duckdb"
    bad.write_text("plain text, not a database\n")
    told: list[str] = []
    with pytest.raises(UserError, match="not a valid DuckDB database"):
        open_warehouse(bad, wait_s=10, on_wait=told.append)
    assert told == []
