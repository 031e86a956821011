"""Build the demo warehouse: generate a year of a bank's customer service and import it.

The generated tables go through the same importer as any file, so the demo also proves
that its data obeys every rule (a rejected demo row is a bug, reported as such).

Memory is bounded whatever the scale: the demo is generated in shards of at most
``CHUNK_SCALE`` (``cxkpi.demo.shards``), each imported table by table (one transaction
each) and released before the next shard is generated, and DuckDB works within
``DEMO_MEMORY_LIMIT``, spilling to disk beyond. Imports skip the rollups step (rebuilding
every rollup after each shard would make the build quadratic); the rollups are built once,
whole, at the end. Their metadata is deleted before the first row is written, so a build
that stops halfway leaves a warehouse whose queries read the raw rows, never rollups that
miss the rows imported since.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from cxkpi.config import UserError
from cxkpi.demo.shards import CHUNK_SCALE, ShardPlan, generate_shard, plan
from cxkpi.ingest import ImportReport
from cxkpi.kpi.rollup_build import refresh_rollups
from cxkpi.schema import TABLES
from cxkpi.service.imports import STEPS, import_arrow
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.connection import MEMORY_ENV
from cxkpi.warehouse.rollup_store import CONFIG_KEY

DEMO_PREFIX = "demo:"


def demo_calendar_yaml() -> str:
    """The demo bank's opening hours per channel, as a calendar (French public holidays)."""
    from cxkpi.demo.reference import HOURS
    from cxkpi.schema.tables import CHANNELS

    def span(hours: tuple[float, float] | None) -> str:
        if hours is None:
            return "[]"
        a, b = hours
        return f'["{int(a):02d}:{int(a % 1 * 60):02d}-{int(b) % 24 if b < 24 else 0:02d}:{int(b % 1 * 60):02d}"]'

    lines = ["name: demo-bank", "timezone: Europe/Paris", "country: FR", "channels:"]
    for code, (week, saturday, sunday) in HOURS.items():
        if week == (0.0, 24.0):
            lines.append(f"  {CHANNELS[code]}: {{mon-sun: [\"00:00-24:00\"]}}")
            continue
        lines.append(f"  {CHANNELS[code]}: {{mon-fri: {span(week)}, sat: {span(saturday)}, sun: {span(sunday)}}}")
    return "\n".join(lines) + "\n"


#: DuckDB's memory for the build, unless ``$CXKPI_MEMORY_LIMIT`` says otherwise: beyond it
#: DuckDB spills to a temporary folder beside the warehouse instead of growing.
DEMO_MEMORY_LIMIT = "1GB"
#: DuckDB's memory while a shard is generated (it is idle then).
IDLE_MEMORY_LIMIT = "64MB"
#: The import pipeline's steps for one shard: text scoring, not the rollups (built once at the end).
SHARD_STEPS = tuple(step for step in STEPS if step.name != "rollups")
#: Share of a shard's time spent generating it, the rest importing it; share of the whole
#: build spent building the rollups at the end (measured at scales 1 and 4, for the progress bar).
GENERATE_SHARE = 0.2
ROLLUPS_SHARE = 0.12
#: Share of a shard's import time per table (measured at scale 1).
IMPORT_WEIGHTS = {
    "contacts": 0.47,
    "cases": 0.12,
    "surveys": 0.07,
    "evaluations": 0.05,
    "agent_states": 0.15,
    "customers": 0.01,
    "customer_revenue": 0.08,
    "cashflows": 0.01,
    "loans": 0.04,
}


class _Overall:
    """Progress of the whole build as one fraction, with a description naming the shard
    and its stage ("region 3/10: queue"), from the generator's and the loader's reports."""

    def __init__(self, callback: Callable[[str, float], None] | None, shards: int) -> None:
        self.callback = callback
        self.shards = shards
        self.per_shard = (1.0 - ROLLUPS_SHARE) / shards

    def _say(self, index: int, what: str, fraction: float) -> None:
        if self.callback is not None:
            where = f"region {index + 1}/{self.shards}: " if self.shards > 1 else ""
            self.callback(where + what, min(1.0, fraction))

    def generating(self, index: int) -> Callable[[str, float], None]:
        start = index * self.per_shard

        def report(stage: str, fraction: float) -> None:
            self._say(index, stage if stage != "done" else "generated", start + self.per_shard * GENERATE_SHARE * fraction)

        return report

    def importing(self, index: int, table: str) -> None:
        done = sum(w for name, w in IMPORT_WEIGHTS.items() if list(TABLES).index(name) < list(TABLES).index(table))
        start = index * self.per_shard + self.per_shard * GENERATE_SHARE
        self._say(index, f"import {table}", start + self.per_shard * (1.0 - GENERATE_SHARE) * done)

    def rollups(self) -> None:
        if self.callback is not None:
            self.callback("rollups", 1.0 - ROLLUPS_SHARE)

    def done(self) -> None:
        if self.callback is not None:
            self.callback("done", 1.0)


def build_demo(
    path: str | Path,
    seed: int = 42,
    scale: float = 1.0,
    reporting_tz: str = "Europe/Paris",
    progress: Callable[[str, float], None] | None = None,
    *,
    chunk_scale: float = CHUNK_SCALE,
) -> str:
    """Generate and import the demo data into the warehouse at ``path``; return a summary line.

    Refuses a warehouse that holds imports of real files, so demo rows never mix with them.
    Building twice with the same seed changes nothing (the import is idempotent).
    ``progress(description, fraction)`` follows the whole build (fraction from 0 to 1).
    ``chunk_scale``: the largest scale generated in one piece (tests make it small).
    """
    started = time.perf_counter()
    shards = plan(seed, scale, chunk_scale)
    overall = _Overall(progress, shards.count)
    con = open_warehouse(path)
    try:
        limit = os.environ.get(MEMORY_ENV) or DEMO_MEMORY_LIMIT  # the user's own limit wins
        con.execute("SET memory_limit = ?", [limit])
        foreign = con.execute(
            "SELECT count(*) FROM import_log WHERE file NOT LIKE ?", [DEMO_PREFIX + "%"]
        ).fetchall()[0][0]
        if foreign:
            raise UserError(f"{path} holds imported data: build the demo in another file (--db demo.duckdb)")
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT OR REPLACE INTO warehouse_config VALUES ('reporting_tz', ?), ('demo_seed', ?), ('demo_scale', ?), "
            "('calendar', ?)",
            [reporting_tz, str(seed), f"{scale:g}", demo_calendar_yaml()],
        )
        # no rollups until they are built over every shard: until then queries read the rows
        con.execute("DELETE FROM warehouse_config WHERE key = ?", [CONFIG_KEY])
        con.execute("COMMIT")
        rejected = contacts = 0
        for index in range(shards.count):
            with _memory_released(con, limit):
                tables = generate_shard(shards, index, overall.generating(index), compact_text=True)
            for name in TABLES:
                overall.importing(index, name)
                report = _import(con, name, tables.pop(name), _label(shards, index, name))
                rejected += report.rejected
                contacts += report.read if name == "contacts" else 0
        overall.rollups()
        # a full build: the stored rollups' metadata is gone. Each rollup table is written
        # before the metadata that declares it, so a build stopped here leaves none in use.
        refresh_rollups(con, reporting_tz)
        overall.done()
    finally:
        con.close()
    if rejected:
        raise RuntimeError(f"the demo generator produced {rejected} rows that break the import rules")
    parts = f" (generated in {shards.count} regions)" if shards.count > 1 else ""
    return (f"demo warehouse {path}: {contacts:,} contacts and 8 more tables{parts} "
            f"in {time.perf_counter() - started:.1f} s")


@contextmanager
def _memory_released(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """DuckDB's cache shrunk while a shard is generated, its ``limit`` restored after.

    DuckDB keeps the blocks it read up to its memory limit; generation needs that memory
    while DuckDB is idle. Lowering the limit makes DuckDB evict its cached blocks and give
    the memory back (measured: 230 MB to 100 MB of resident memory).
    """
    try:
        con.execute(f"SET memory_limit = '{IDLE_MEMORY_LIMIT}'")
    except duckdb.Error:  # something DuckDB cannot evict: it keeps it, the build goes on
        pass
    try:
        yield
    finally:
        con.execute("SET memory_limit = ?", [limit])


def _label(shards: ShardPlan, index: int, table: str) -> str:
    """The import's name in the log: the demo, its seed and scale, and the shard."""
    part = f"&region={index + 1}/{shards.count}" if shards.count > 1 else ""
    return f"{DEMO_PREFIX}{table}?seed={shards.seed}&scale={shards.scale:g}{part}"


def _import(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, label: str) -> ImportReport:
    """Import one table of a shard without the rollups step (built once at the end); the
    importer unregisters the Arrow data after, so a shard's memory goes with it."""
    return import_arrow(con, table, data, label, steps=SHARD_STEPS)
