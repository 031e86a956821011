"""The KPI catalogue and engine: every KPI of SPEC §3, by any dimension and grain."""

from __future__ import annotations

from cxkpi.kpi.catalogue import KPIS, MEASURES
from cxkpi.kpi.engine import compute
from cxkpi.kpi.query import KpiQuery, kpi_named
from cxkpi.kpi.model import Direction, Grain, Kpi, Measure, Unit

__all__ = ["KPIS", "MEASURES", "Direction", "Grain", "Kpi", "KpiQuery", "Measure", "Unit", "compute", "kpi_named"]
