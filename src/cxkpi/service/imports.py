"""The one import pipeline: validated rows, then every piece of data derived from them.

The command line, the API's uploads, the server's hand-over from the command line and the
demo all import through here. An import (``cxkpi.ingest``) validates and upserts the rows
and keeps the per-row derived columns (next contact, customer links, case contacts);
then, in the same transaction, the registered after-write steps run in order: text
scoring of new verbatims, then the rollups of every table changed (so a reader never sees
new rows with old rollups). Callers that cache results (the server) are told after the
commit. A new kind of derived data registers a step here instead of being called by each
front end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from cxkpi.analytics.sentiment import score_pending
from cxkpi.ingest import ImportReport, ReadOptions
from cxkpi.ingest import importer
from cxkpi.ingest.importer import Progress
from cxkpi.ingest.mapping import Mapping
from cxkpi.kpi.rollup_build import refresh_after_change
from cxkpi.service.mappings import resolve as resolve_mapping
from cxkpi.warehouse.changes import Change
from cxkpi.warehouse.connection import memory_bounded

__all__ = ["STEPS", "Step", "import_arrow", "import_file", "score_surveys"]


@dataclass(frozen=True)
class Step:
    """An after-write step: ``run(con, change)`` updates derived data inside the import's
    transaction, in proportion to ``change`` (what the import changed), and records there
    what it changes in turn. ``tables``: the imported tables it applies to (None: every one)."""

    name: str
    run: Callable[[duckdb.DuckDBPyConnection, Change], None]
    tables: frozenset[str] | None = None


def _score_text(con: duckdb.DuckDBPyConnection, change: Change) -> None:
    # only rows this import wrote lack a sentiment (an upsert resets a changed row's): they
    # are in the change already
    score_pending(con)


def _rollups(con: duckdb.DuckDBPyConnection, change: Change) -> None:
    refresh_after_change(con, change)


STEPS: tuple[Step, ...] = (
    Step("text scoring", _score_text, frozenset({"surveys"})),
    Step("rollups", _rollups),
)


def _runner(steps: Sequence[Step]) -> importer.AfterWrite:
    def run(con: duckdb.DuckDBPyConnection, table: str, change: Change) -> None:
        for step in steps:
            if step.tables is None or table in step.tables:
                step.run(con, change)

    return run


def import_file(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: str | Path,
    mapping: str | Mapping | None = None,
    source_tz: str | None = None,
    options: ReadOptions | None = None,
    rejects_dir: str | Path | None = None,
    progress: Progress | None = None,
    steps: Sequence[Step] = STEPS,
    mapping_files: bool = True,
) -> ImportReport:
    """Import one file into ``table`` and bring every derived table up to date, atomically.

    ``mapping``: a shipped or stored mapping's name, or (``mapping_files``: the command line)
    a YAML file of the user's; a server passes ``mapping_files=False`` for uploads.
    """
    m = resolve_mapping(con, mapping, files=mapping_files) if isinstance(mapping, str) else mapping
    with memory_bounded(con):
        return importer.import_file(con, table, path, mapping=m, source_tz=source_tz, options=options,
                                    rejects_dir=rejects_dir, progress=progress, after_write=_runner(steps))


def import_arrow(
    con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, label: str, progress: Progress | None = None,
    steps: Sequence[Step] = STEPS,
) -> ImportReport:
    """Import an in-memory Arrow table (the demo's) through the same checks and steps."""
    with memory_bounded(con):
        return importer.import_arrow(con, table, data, label, progress=progress, after_write=_runner(steps))


def score_surveys(con: duckdb.DuckDBPyConnection) -> int:
    """Score the verbatims that have no sentiment yet and refresh the rollups reading them,
    in one transaction; how many were scored."""
    con.execute("BEGIN TRANSACTION")
    try:
        scored = score_pending(con)
        if scored:
            refresh_after_change(con, ("surveys",))  # rows written outside an import: all their days
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return scored
