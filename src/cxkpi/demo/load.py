"""Build the demo warehouse: generate a year of a bank's customer service and import it.

The generated tables go through the same importer as any file, so the demo also proves
that its data obeys every rule (a rejected demo row is a bug, reported as such).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from cxkpi.config import UserError
from cxkpi.service.imports import import_arrow
from cxkpi.kpi.rollup_build import refresh_rollups
from cxkpi.schema import TABLES
from cxkpi.warehouse import open_warehouse

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


def build_demo(
    path: str | Path,
    seed: int = 42,
    scale: float = 1.0,
    reporting_tz: str = "Europe/Paris",
    progress: Callable[[str, float], None] | None = None,
) -> str:
    """Generate and import the demo data into the warehouse at ``path``; return a summary line.

    Refuses a warehouse that holds imports of real files, so demo rows never mix with them.
    Building twice with the same seed changes nothing (the import is idempotent).
    """
    from cxkpi.demo import generate

    started = time.perf_counter()
    con = open_warehouse(path)
    try:
        foreign = con.execute(
            "SELECT count(*) FROM import_log WHERE file NOT LIKE ?", [DEMO_PREFIX + "%"]
        ).fetchall()[0][0]
        if foreign:
            raise UserError(f"{path} holds imported data: build the demo in another file (--db demo.duckdb)")
        tables = generate(seed=seed, scale=scale, progress=progress)
        # the zone first: each import rebuilds the rollups of its tables in the reporting zone
        con.execute(
            "INSERT OR REPLACE INTO warehouse_config VALUES ('reporting_tz', ?), ('demo_seed', ?), ('demo_scale', ?), "
            "('calendar', ?)",
            [reporting_tz, str(seed), f"{scale:g}", demo_calendar_yaml()],
        )
        rejected = 0
        for name in TABLES:
            report = import_arrow(con, name, tables[name], f"{DEMO_PREFIX}{name}?seed={seed}&scale={scale:g}", progress=progress)
            rejected += report.rejected
        refresh_rollups(con, reporting_tz, tables=())  # a rebuild with nothing new: only if made for another zone
        contacts = tables["contacts"].num_rows
    finally:
        con.close()
    if rejected:
        raise RuntimeError(f"the demo generator produced {rejected} rows that break the import rules")
    return f"demo warehouse {path}: {contacts:,} contacts and 8 more tables in {time.perf_counter() - started:.1f} s"
