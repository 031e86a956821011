"""The demo's targets: what the bank's customer-service director committed to for the year.

Global targets plus a few per channel (phone answers faster than e-mail), so that the
overview shows actual against target with red, amber and green from the first run.
"""

from __future__ import annotations

import duckdb

from cxkpi.kpi.targets import Target, set_target

DEMO_TARGETS: tuple[Target, ...] = (
    Target("service_level", 0.80, amber=0.05),
    Target("service_level", 0.80, dimension="channel", value="phone", amber=0.05),
    Target("service_level", 0.90, dimension="channel", value="email", amber=0.05),
    Target("answer_rate", 0.95, amber=0.02),
    Target("abandon_rate", 0.05, amber=0.02),
    Target("asa", 7200.0, amber=1800.0),
    Target("asa", 30.0, dimension="channel", value="phone", amber=15.0),
    Target("aht", 420.0, amber=30.0),
    Target("fcr", 0.75, amber=0.03),
    Target("csat", 0.80, amber=0.03),
    Target("nps", 35.0, amber=5.0),
    Target("ces", 2.5, amber=0.3),
    Target("occupancy", 0.80, amber=0.05),
    Target("shrinkage", 0.15, amber=0.03),
    Target("backlog_open", 1500.0, amber=200.0),
    Target("backlog_aged_gt_7d", 300.0, amber=100.0),
    Target("resolution_time", 129600.0, amber=21600.0),
    Target("quality_score", 75.0, amber=3.0),
    Target("survey_response_rate", 0.25, amber=0.03),
    Target("repeat_contact_rate", 0.50, amber=0.10),
    Target("cost_per_contact", 12.0, amber=3.0),
    Target("delinquency_rate", 0.03, amber=0.01),
)


def set_demo_targets(con: duckdb.DuckDBPyConnection) -> int:
    """Store the demo targets (replacing those of the same scope); how many."""
    for t in DEMO_TARGETS:
        set_target(con, t)
    return len(DEMO_TARGETS)
