"""Repeat reasons: what brought customers back within the FCR window (hand-built case)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxkpi.config import UserError
from cxkpi.service.imports import import_file
from cxkpi.kpi import KpiQuery
from cxkpi.kpi.output import records
from cxkpi.kpi.repeats import repeat_reasons
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.engines import duckdb_engine

ROWS = """contact_id,channel,created_at,answered_at,customer_id,reason
c1,phone,2026-03-02T09:00:00Z,2026-03-02T09:00:10Z,A,card
c2,chat,2026-03-03T09:00:00Z,2026-03-03T09:00:30Z,A,card
c3,phone,2026-03-02T10:00:00Z,2026-03-02T10:00:10Z,B,loan
c4,phone,2026-03-05T10:00:00Z,2026-03-05T10:00:10Z,B,fraud
c5,email,2026-03-02T11:00:00Z,2026-03-02T15:00:00Z,C,loan
c6,phone,2026-03-31T11:00:00Z,2026-03-31T11:00:05Z,D,card
"""


def test_repeat_reasons(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text(ROWS, encoding="utf-8")
    con = open_warehouse(tmp_path / "w.duckdb")
    import_file(con, "contacts", src)
    got = records(repeat_reasons(duckdb_engine(con), KpiQuery(kpis=("fcr",))))
    # FCR base: c1..c5 (c6's 7-day window passes the end of the data, 2026-03-31 11:00)
    # card: c1, c2 -> c1 came back the next day on chat for card; loan: c3, c5 -> c3 came
    # back after 3 days on the phone for fraud; fraud: c4 did not come back
    assert got == [
        {"reason": "card", "repeat_reason": "card", "repeat_channel": "chat", "first_contacts": 2, "came_back": 1, "share": 0.5},
        {"reason": "loan", "repeat_reason": "fraud", "repeat_channel": "phone", "first_contacts": 2, "came_back": 1, "share": 0.5},
    ]
    # a 2-day window: c3's repeat (3 days later) no longer counts
    got = records(repeat_reasons(duckdb_engine(con), KpiQuery(kpis=("fcr",), params={"fcr_window_days": 2})))
    assert [(r["reason"], r["repeat_reason"]) for r in got] == [("card", "card")]
    with pytest.raises(UserError, match="contact dimensions"):
        repeat_reasons(duckdb_engine(con), KpiQuery(kpis=("fcr",)), by=("segmentz",))
    con.close()
