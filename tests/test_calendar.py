"""Business-hours calendars and business-time KPIs, against hand-computed open times."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from cxkpi.config import UserError
from cxkpi.service.imports import import_arrow
from cxkpi.kpi import KpiQuery, compute
from cxkpi.kpi.calendar import DEFAULT_KEY, open_days, parse_calendar
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.engines import duckdb_engine

PARIS = "Europe/Paris"

CAL = parse_calendar(
    """
name: test
timezone: Europe/Paris
country: FR
closed: [2026-03-04]
hours:
  mon-fri: ["08:00-12:00", "14:00-18:00"]   # split shift: 8 h a day
channels:
  social: {fri: ["20:00-02:00"]}            # past midnight into Saturday
  selfcare: {mon-sun: ["00:00-24:00"]}
""",
    "UTC",
)


def _us(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp()) * 1_000_000


def test_split_shift_segments_in_utc() -> None:
    # Monday 2026-03-02, Paris is UTC+1: 08:00-12:00 and 14:00-18:00 local
    [day] = [d for d in open_days(CAL, date(2026, 3, 2), date(2026, 3, 2)) if d.key == DEFAULT_KEY]
    assert day.segments == ((_us(2026, 3, 2, 7), _us(2026, 3, 2, 11)), (_us(2026, 3, 2, 13), _us(2026, 3, 2, 17)))


def test_cumulative_open_time_skips_closed_days_and_holidays() -> None:
    days = {d.day: d for d in open_days(CAL, date(2026, 3, 2), date(2026, 3, 9)) if d.key == DEFAULT_KEY}
    hours = 3600 * 1_000_000
    # Mon 2, Tue 3 open (8 h each), Wed 4 closed by 'closed', Thu 5, Fri 6 open, Sat/Sun closed
    assert days[date(2026, 3, 3)].cum_us == 8 * hours
    assert days[date(2026, 3, 5)].cum_us == 16 * hours  # the closed Wednesday adds nothing
    assert days[date(2026, 3, 4)].segments == ()
    assert days[date(2026, 3, 9)].cum_us == 32 * hours  # Mon 9: four open days before it


def test_public_holiday_from_the_library() -> None:
    # 2026-05-01 (Friday) is Labour Day in France
    [day] = [d for d in open_days(CAL, date(2026, 5, 1), date(2026, 5, 1)) if d.key == DEFAULT_KEY]
    assert day.segments == ()


def test_hours_past_midnight_spill_into_the_next_day() -> None:
    days = {d.day: d for d in open_days(CAL, date(2026, 3, 6), date(2026, 3, 7)) if d.key == "social"}
    # Friday 20:00-24:00 local (19:00-23:00Z) then Saturday 00:00-02:00 local (23:00Z Fri - 01:00Z Sat)
    assert days[date(2026, 3, 6)].segments == ((_us(2026, 3, 6, 19), _us(2026, 3, 6, 23)),)
    assert days[date(2026, 3, 7)].segments == ((_us(2026, 3, 6, 23), _us(2026, 3, 7, 1)),)


def test_dst_days_have_their_real_length() -> None:
    days = {d.day: d for d in open_days(CAL, date(2026, 3, 28), date(2026, 3, 30)) if d.key == "selfcare"}
    hour = 3600 * 1_000_000
    spring = days[date(2026, 3, 29)].segments[0]
    assert spring[1] - spring[0] == 23 * hour  # the night clocks go forward
    assert days[date(2026, 3, 30)].cum_us - days[date(2026, 3, 29)].cum_us == 23 * hour


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hours: {mon: ['8-12']}", "bad opening range"),
        ("hours: {funday: ['08:00-12:00']}", "unknown day"),
        ("country: XX\nhours: {mon: ['08:00-12:00']}", "unknown holiday country"),
        ("timezone: Mars/Olympus", "unknown time zone"),
        ("colour: blue", "unknown key"),
    ],
)
def test_calendar_mistakes_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        cal = parse_calendar(text, "UTC")
        open_days(cal, date(2026, 1, 1), date(2026, 1, 2))


def _contacts(rows: list[tuple[str, str, str, str | None, str | None]]) -> pa.Table:
    ts = pa.timestamp("us", tz="UTC")

    def t(v: str | None) -> datetime | None:
        return None if v is None else datetime.fromisoformat(v).replace(tzinfo=UTC)

    return pa.table(
        {
            "contact_id": [r[0] for r in rows],
            "channel": [r[1] for r in rows],
            "created_at": pa.array([t(r[2]) for r in rows], ts),
            "answered_at": pa.array([t(r[3]) for r in rows], ts),
            "ended_at": pa.array([t(r[4]) for r in rows], ts),
        }
    )


def test_business_time_kpis(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "w.duckdb")
    # Times UTC; Paris = UTC+1 in March 2026 before the 29th.
    rows = [
        # e1: email Mon 17:30 local (16:30Z), answered Tue 09:00 local (08:00Z):
        #     open time = 17:30-18:00 Mon (30 min) + 08:00-09:00 Tue (60 min) = 5400 s; calendar 15.5 h
        ("e1", "email", "2026-03-02T16:30:00", "2026-03-03T08:00:00", "2026-03-03T08:10:00"),
        # e2: email Tue 11:00 local, answered Thu 08:30 local; Wed 4 is closed:
        #     Tue 11-12 (1 h) + 14-18 (4 h) + Thu 08:00-08:30 (0.5 h) = 5.5 h = 19800 s
        ("e2", "email", "2026-03-03T10:00:00", "2026-03-05T07:30:00", "2026-03-05T07:40:00"),
        # e3: email Sat 10:00 local, answered Mon 08:15 local: only Mon 08:00-08:15 = 900 s;
        #     it arrived while closed
        ("e3", "email", "2026-03-07T09:00:00", "2026-03-09T07:15:00", "2026-03-09T07:20:00"),
    ]
    import_arrow(con, "contacts", _contacts(rows), "calendar-test")
    engine = duckdb_engine(con)
    q = KpiQuery(
        kpis=("asa", "asa_business", "communication_time_business", "service_level", "service_level_open"),
        tz=PARIS,
        calendar=CAL,
        with_counts=True,
    )
    df = compute(engine, q)
    row = df.iloc[0]
    assert row["asa_business"] == pytest.approx((5400 + 19800 + 900) / 3)
    assert row["asa"] == pytest.approx((15.5 + 45.5 + 46.25) * 3600 / 3)  # calendar time
    # communication: created -> ended, + 10, 10 and 5 open minutes after the answers
    assert row["communication_time_business"] == pytest.approx((6000 + 20400 + 1200) / 3)
    # e1 55,800 s <= 86,400 met; e2 163,800 s not; e3 166,500 s not -> 1/3
    assert row["service_level"] == pytest.approx(1 / 3)
    # open hours only: e3 arrived on a Saturday (closed) and leaves the base -> 1/2
    assert row["offered_open"] == 2
    assert row["service_level_open"] == pytest.approx(1 / 2)
    con.close()


def test_business_time_on_a_dst_day(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "w.duckdb")
    # selfcare is open 24/7: Sat 28 March 23:00 local (22:00Z) to Sun 29 March 04:00 local (02:00Z)
    # lasts 4 h of real time (the clocks skip 02:00-03:00), so 14,400 s both ways
    rows = [("s1", "selfcare", "2026-03-28T22:00:00", "2026-03-29T02:00:00", "2026-03-29T02:00:00")]
    import_arrow(con, "contacts", _contacts(rows), "dst")
    df = compute(duckdb_engine(con), KpiQuery(kpis=("asa", "asa_business"), tz=PARIS, calendar=CAL))
    assert df.iloc[0]["asa"] == pytest.approx(14_400)
    assert df.iloc[0]["asa_business"] == pytest.approx(14_400)
    con.close()
