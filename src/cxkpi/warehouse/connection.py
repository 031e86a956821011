"""Open the embedded DuckDB warehouse, migrated to the current schema, in UTC.

DuckDB lets one process write a warehouse file (or several read it); an open that finds the
file locked by another process can wait for it, bounded, so that scheduled imports and
reports that collide run one after the other instead of failing.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cxkpi.config import UserError
from cxkpi.warehouse.migrations import LATEST, current_version, migrate

MEMORY_ENV = "CXKPI_MEMORY_LIMIT"

FIRST_RETRY_S = 0.2  # a short import often releases the file within a second
LONGEST_RETRY_S = 2.0  # a long one is polled without spinning
QUIET_BELOW_S = 1.0  # a shorter bound is no wait anyone notices: only its failure is worth a line
CMDLINE_CHARS = 60


@dataclass(frozen=True)
class LockWait:
    """How long an open waits for another process's lock on the file, and whom it tells.

    ``seconds`` 0 fails at once. ``notice`` receives one line, once, when the wait starts
    (the command line prints it on stderr), unless ``seconds`` is under ``QUIET_BELOW_S``;
    ``None`` waits silently.
    """

    seconds: float = 0.0
    notice: Callable[[str], None] | None = None


_default_wait = LockWait()


def set_default_lock_wait(wait: LockWait) -> LockWait:
    """Make ``wait`` what every open of this process does unless told otherwise; the previous one.

    The ``cxkpi`` command sets it from ``--wait`` once, so that the opens it does not make
    itself (the demo builder, the query engine, the server) wait the same way.
    """
    global _default_wait
    previous, _default_wait = _default_wait, wait
    return previous


def open_warehouse(
    path: str | Path,
    read_only: bool = False,
    wait_s: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Connect to (and create or migrate) the warehouse at ``path``.

    Sessions run in UTC so that TIMESTAMPTZ values never depend on the machine's zone;
    reporting zones are applied explicitly by the queries that need them.

    When another process holds the file (any writer; or readers, for a writer), the open is
    retried with a growing pause for up to ``wait_s`` seconds, after telling ``on_wait``
    once what it waits for (not for a bound under ``QUIET_BELOW_S``); both default to the
    process's ``LockWait`` (``set_default_lock_wait``). Only lock conflicts wait: a file
    held by ``cxkpi serve`` (which keeps it while it runs) and every other error fail at
    once. The messages name ``--wait``, the command line's option for the bound.
    """
    path = Path(path)
    if wait_s is None:
        wait_s, on_wait = _default_wait.seconds, on_wait or _default_wait.notice
    if read_only and not path.exists():
        raise UserError(f"no warehouse at {path} (run 'cxkpi demo' or 'cxkpi import' first)")
    if path.parent and not path.parent.exists():
        raise UserError(f"folder {path.parent} does not exist")
    config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": True}
    if os.environ.get(MEMORY_ENV):
        config["memory_limit"] = os.environ[MEMORY_ENV]
    con = _connect(path, read_only, config, wait_s, on_wait)
    try:
        con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            migrate(con)
        elif current_version(con) < LATEST:
            # made by an older release: migrate it once in write mode, then read
            con.close()
            open_warehouse(path, wait_s=wait_s, on_wait=on_wait).close()
            return open_warehouse(path, read_only=True, wait_s=wait_s, on_wait=on_wait)
    except BaseException:
        con.close()
        raise
    return con


def _connect(
    path: Path,
    read_only: bool,
    config: dict[str, str | bool | int | float | list[str]],
    wait_s: float,
    on_wait: Callable[[str], None] | None,
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, retried while another process holds the file, for up to ``wait_s``.

    The pause grows from ``FIRST_RETRY_S`` to ``LONGEST_RETRY_S``. A holder that is gone
    (its PID no longer exists) is retried too: its lock goes away with it.
    """
    deadline = time.monotonic() + wait_s
    pause = FIRST_RETRY_S
    told = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            from cxkpi.warehouse.control import read_control

            served = read_control(path)
            if served is not None:
                raise UserError(
                    f"warehouse {path} is held by cxkpi serve (pid {served.pid}, {served.url}): "
                    "imports go through it; stop it for other changes"
                ) from None
            first_line = str(exc).splitlines()[0]
            if wait_s <= 0 or not _is_lock_conflict(first_line):
                raise UserError(f"cannot open warehouse {path}: {first_line}") from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise UserError(
                    f"warehouse {path} is still held by {_holder(first_line)} after {wait_s:g} s: "
                    "try again later or raise --wait"
                ) from None
            if not told and on_wait is not None and wait_s >= QUIET_BELOW_S:
                on_wait(f"waiting for warehouse {path}: held by {_holder(first_line)} — up to {wait_s:g} s (--wait)")
            told = True
            time.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_RETRY_S)
        except duckdb.Error as exc:
            raise UserError(f"{path} is not a cxkpi warehouse: {str(exc).splitlines()[0]}") from None


def _is_lock_conflict(message: str) -> bool:
    """DuckDB's words for a file locked by another process (the only error worth waiting on)."""
    return "Could not set lock" in message or "Conflicting lock" in message


def _holder(message: str) -> str:
    """The process DuckDB's lock message names, with its command line when /proc shows it."""
    found = re.search(r"\(PID (\d+)\)", message)
    if found is None:
        return "another process"
    pid = int(found.group(1))
    command = _command_line(pid)
    return f"process {pid} ({command})" if command else f"process {pid}"


def _command_line(pid: int) -> str:
    """``/proc/PID/cmdline`` shortened for one line ('' when unreadable or the process is gone).

    The interpreter and script are named without their folders: ``python cxkpi import ...``.
    """
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    words = raw.decode(errors="replace").split("\0")
    words = [w for w in words if w]
    for i in range(min(2, len(words))):
        if words[i].startswith("/"):
            words[i] = os.path.basename(words[i])
    text = " ".join(" ".join(words).split())
    return text if len(text) <= CMDLINE_CHARS else text[: CMDLINE_CHARS - 3] + "..."


# what one import may hold in DuckDB's buffers before it spills to disk (the temporary files
# beside the warehouse): a whole import then stays under 4 GB of memory at any file size
IMPORT_MEMORY = "2GB"


@contextmanager
def memory_bounded(con: duckdb.DuckDBPyConnection, limit: str = IMPORT_MEMORY) -> Iterator[None]:
    """Run a bulk write with DuckDB's memory capped at ``limit``, then back to DuckDB's
    default. A limit the user chose (``$CXKPI_MEMORY_LIMIT``) or a lower one already set
    (the demo's) is left as it is."""
    now = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    if os.environ.get(MEMORY_ENV) or _bytes(now) <= _bytes(limit):
        yield
        return
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute("RESET memory_limit")  # exact: a limit read back as text is rounded


_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _bytes(text: str) -> float:
    """Bytes of a DuckDB memory setting ("18.8 GiB", "2GB"); unreadable: no limit."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", text)
    if match is None or match.group(2).lower() not in _UNITS:
        return float("inf")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]
