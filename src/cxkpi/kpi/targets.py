"""Targets per KPI (global, or for one value of a dimension) and red/amber/green status.

Status follows the KPI's direction: for "higher is better", green at or above the target,
amber within the amber band below it, red further; mirrored for "lower is better"; for a
neutral KPI, green within the band around the target, amber within twice the band. The
band defaults to 5 % of the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import duckdb
import pandas as pd

from cxkpi.config import UserError
from cxkpi.kpi.query import KpiQuery, kpi_named
from cxkpi.kpi.model import Direction

DEFAULT_BAND = 0.05


class Status(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True)
class Target:
    kpi: str
    target: float
    dimension: str | None = None
    value: str | None = None
    amber: float | None = None  # width of the amber band, in the KPI's unit

    @property
    def band(self) -> float:
        return self.amber if self.amber is not None else abs(self.target) * DEFAULT_BAND


def status(value: float | None, t: Target) -> Status | None:
    """The RAG status of ``value`` against ``t``; None when there is no value."""
    if value is None or pd.isna(value):
        return None
    direction = kpi_named(t.kpi).direction
    band = t.band
    if direction is Direction.HIGHER:
        gap = t.target - value
    elif direction is Direction.LOWER:
        gap = value - t.target
    else:
        gap = abs(value - t.target) - band
    if gap <= 0:
        return Status.GREEN
    return Status.AMBER if gap <= band else Status.RED


def load_targets(con: duckdb.DuckDBPyConnection) -> list[Target]:
    rows = con.execute("SELECT kpi, target, dimension, dim_value, amber FROM targets ORDER BY kpi, dimension NULLS FIRST").fetchall()
    return [Target(kpi=r[0], target=float(r[1]), dimension=r[2], value=r[3], amber=None if r[4] is None else float(r[4])) for r in rows]


def set_target(con: duckdb.DuckDBPyConnection, t: Target) -> None:
    """Create or replace the target of a KPI for a scope (global, or dimension = value)."""
    k = kpi_named(t.kpi)
    if t.dimension is not None and t.dimension not in k.dimensions:
        raise UserError(f"KPI {k.name} has no dimension {t.dimension!r} (accepts: {', '.join(k.dimensions) or 'none'})")
    if t.amber is not None and t.amber < 0:
        raise UserError("the amber band must be 0 or more")
    con.execute("BEGIN TRANSACTION")
    remove_target(con, t.kpi, t.dimension, t.value)
    con.execute(
        "INSERT INTO targets VALUES (?, ?, ?, ?, ?, ?)",
        [t.kpi, t.dimension, t.value, t.target, t.amber, datetime.now(UTC)],
    )
    con.execute("COMMIT")


def remove_target(con: duckdb.DuckDBPyConnection, kpi: str, dimension: str | None, value: str | None) -> int:
    kpi_named(kpi)
    before = con.execute("SELECT count(*) FROM targets").fetchall()[0]
    con.execute(
        "DELETE FROM targets WHERE kpi = ? AND dimension IS NOT DISTINCT FROM ? AND dim_value IS NOT DISTINCT FROM ?",
        [kpi, dimension, value],
    )
    after = con.execute("SELECT count(*) FROM targets").fetchall()[0]
    return int(before[0] - after[0]) if before and after else 0


def target_for(row: dict[str, Any], kpi: str, targets: list[Target]) -> Target | None:
    """The most specific target of ``kpi`` for a result row: a dimension's value, else global."""
    specific = [t for t in targets if t.kpi == kpi and t.dimension is not None and str(row.get(t.dimension)) == t.value]
    if specific:
        return specific[0]
    return next((t for t in targets if t.kpi == kpi and t.dimension is None), None)


def with_targets(frame: pd.DataFrame, q: KpiQuery, targets: list[Target]) -> pd.DataFrame:
    """Add ``KPI_target`` and ``KPI_status`` after each KPI column."""
    out = frame.copy()
    rows = out.astype(object).where(out.notna(), None).to_dict("records")
    for name in dict.fromkeys(q.kpis):
        found = [target_for(r, name, targets) for r in rows]
        out[f"{name}_target"] = pd.array([t.target if t else None for t in found], dtype="Float64")
        out[f"{name}_status"] = [
            (s.value if (s := status(r.get(name), t)) else None) if t else None for r, t in zip(rows, found)
        ]
    ordered: list[str] = []
    for col in frame.columns:
        ordered.append(col)
        if col in q.kpis:
            ordered += [f"{col}_target", f"{col}_status"]
    return out[ordered]
