"""What every ``cxkpi`` command shares: the warehouse options, the consoles, listings, progress.

Kept free of heavy imports: ``cxkpi --help`` loads this and Typer only; a command loads
the engine, the importer or the server when it runs (and the warehouse layer as soon as
its options are read, to set ``--wait`` for every open).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxkpi.config import UserError, db_path

if TYPE_CHECKING:
    import duckdb
    from rich.console import Console

    from cxkpi.service.settings import Settings


WAIT_ENV = "CXKPI_WAIT"
DEFAULT_WAIT_S = 60.0  # long enough for a scheduled import to finish, short enough to notice a stuck one


class State:
    """Options of the ``cxkpi`` callback, shared by the sub-commands."""

    db: str | None = None
    wait_s: float = DEFAULT_WAIT_S


def db() -> Path:
    """The warehouse file: ``--db``, else ``$CXKPI_DB``, else ``./cxkpi.duckdb``."""
    return db_path(State.db)


def waiting(message: str) -> None:
    """Say on stderr, once, what a command waits for (another process holds the warehouse)."""
    err().print(message, markup=False, highlight=False, soft_wrap=True)  # one line, however long


def use_wait(seconds: float) -> None:
    """Wait up to ``seconds`` for another process's lock on the warehouse (``--wait``).

    Also the default of every open this process makes: the demo builder, the query engine
    and the server open the warehouse themselves, and must wait the same way.
    """
    from cxkpi.warehouse.connection import LockWait, set_default_lock_wait

    State.wait_s = seconds
    set_default_lock_wait(LockWait(seconds, waiting))


@cache
def out() -> Console:
    from rich.console import Console

    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console.width = 200  # piped or logged: tables need not fit a terminal
    return console


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def say(text: str) -> None:
    """A plain line on stdout (no markup, no highlighting)."""
    out().print(text, highlight=False, markup=False)


@contextmanager
def warehouse(read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, opened for the command and closed after it."""
    from cxkpi.warehouse import open_warehouse

    con = open_warehouse(db(), read_only=read_only, wait_s=State.wait_s, on_wait=waiting)
    try:
        yield con
    finally:
        con.close()


def settings(con: Any) -> Settings:
    """The reporting zone and calendar the warehouse stores."""
    from cxkpi.service.settings import Settings

    return Settings.read(con)


@contextmanager
def progress(enabled: bool) -> Iterator[Callable[[str, float], None] | None]:
    """A Rich progress bar on a terminal; nothing when output is piped."""
    if not enabled or not err().is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err(), transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(step: str, fraction: float) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=1.0)
            bar.update(tasks[step], completed=fraction)

        yield update


def check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise UserError(f"unknown --format {fmt!r} (use {', '.join(allowed[:-1])} or {allowed[-1]})")


def emit(rows: list[dict[str, Any]], fmt: str, title: str, empty: str = "nothing to show") -> None:
    """Rows as JSON, CSV or a Rich table."""
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2, default=str, ensure_ascii=False) + "\n")
        return
    if fmt == "csv":
        import csv

        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return
    if not rows:
        out().print(empty)
        return
    from rich.table import Table

    grid = Table(title=title)
    for name in rows[0]:
        grid.add_column(name, overflow="fold")
    for r in rows:
        grid.add_row(*("" if v is None else str(v) for v in r.values()))
    out().print(grid)
