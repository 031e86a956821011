"""Business-hours calendars: weekly opening hours per channel, split shifts, hours past
midnight, public holidays (the ``holidays`` library; France by default, any country).

Business time between two instants is the open time between them. It is computed on any
engine from a small table of open days: for each (channel key, local date), the open
seconds of all earlier days (``cum_us``) and that day's open segments as UTC instants, so
that F(t) = cum_us(day of t) + Σ clamp(t − start, 0, end − start) and business(a, b) =
F(b) − F(a). Segments are built with zoneinfo, hence exact across DST changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holiday_lib
import yaml

from cxkpi.config import UserError, check_tz

DEFAULT_KEY = "*"
MAX_SEGMENTS = 4
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Segments = tuple[tuple[int, int], ...]  # (start, end) minutes after local midnight; end may pass 1440

DEFAULT_YAML = """\
name: default
country: FR
hours:
  mon-fri: ["08:00-20:00"]
  sat: ["09:00-17:00"]
"""


DEFAULT_WEEK: dict[int, Segments] = {**{d: ((480, 1200),) for d in range(5)}, 5: ((540, 1020),)}


@dataclass(frozen=True)
class Calendar:
    """Opening hours per key (a channel, or ``*`` for the others), in ``timezone``."""

    name: str
    timezone: str
    country: str | None = "FR"
    subdivision: str | None = None
    closed: tuple[date, ...] = ()
    hours: Mapping[str, Mapping[int, Segments]] = field(default_factory=dict)

    def week(self, key: str) -> Mapping[int, Segments]:
        """Hours of ``key``; else the calendar's default hours; else Mon-Fri 08-20, Sat 09-17."""
        return self.hours.get(key) or self.hours.get(DEFAULT_KEY) or DEFAULT_WEEK

    def keys(self) -> list[str]:
        return sorted({*self.hours, DEFAULT_KEY})

    def holidays(self, years: range) -> set[date]:
        days = set(self.closed)
        if self.country:
            try:
                days |= set(holiday_lib.country_holidays(self.country, subdiv=self.subdivision, years=list(years)))
            except NotImplementedError:
                raise UserError(f"calendar {self.name}: unknown holiday country {self.country!r}") from None
        return days


def parse_calendar(text: str, default_tz: str, origin: str = "calendar") -> Calendar:
    """A calendar from YAML (see docs/calendars.md); every mistake is one clear line."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{origin}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise UserError(f"{origin}: expected a YAML mapping")
    unknown = set(doc) - {"name", "timezone", "country", "subdivision", "closed", "hours", "channels"}
    if unknown:
        raise UserError(f"{origin}: unknown key(s) {', '.join(sorted(unknown))}")
    hours: dict[str, dict[int, Segments]] = {}
    if "hours" in doc:
        hours[DEFAULT_KEY] = _week(doc["hours"], origin, "hours")
    for channel, spec in (doc.get("channels") or {}).items():
        hours[str(channel)] = _week(spec, origin, f"channels.{channel}")
    try:
        closed = tuple(date.fromisoformat(str(d)) for d in doc.get("closed") or ())
    except ValueError:
        raise UserError(f"{origin}: 'closed' lists dates as YYYY-MM-DD") from None
    country = doc.get("country", "FR")
    return Calendar(
        name=str(doc.get("name") or origin),
        timezone=check_tz(str(doc.get("timezone") or default_tz)),
        country=str(country) if country else None,
        subdivision=str(doc["subdivision"]) if doc.get("subdivision") else None,
        closed=closed,
        hours=hours,
    )


def default_calendar(tz: str) -> Calendar:
    return parse_calendar(DEFAULT_YAML, tz, "default calendar")


def _week(spec: Any, origin: str, where: str) -> dict[int, Segments]:
    if not isinstance(spec, dict):
        raise UserError(f"{origin}: {where} maps days (mon, tue-fri, sat...) to lists of HH:MM-HH:MM")
    out: dict[int, Segments] = {}
    for days, ranges in spec.items():
        segments = tuple(_range(r, origin, where) for r in (ranges or []))
        for d in _days(str(days), origin, where):
            out[d] = segments
    return out


def _days(text: str, origin: str, where: str) -> list[int]:
    text = text.strip().lower()
    if "-" in text:
        a, b = text.split("-", 1)
        if a not in WEEKDAYS or b not in WEEKDAYS:
            raise UserError(f"{origin}: {where}: bad day range {text!r}")
        i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
        return [k % 7 for k in range(i, i + (j - i) % 7 + 1)]
    if text not in WEEKDAYS:
        raise UserError(f"{origin}: {where}: unknown day {text!r} (mon..sun)")
    return [WEEKDAYS.index(text)]


def _range(text: Any, origin: str, where: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not m:
        raise UserError(f"{origin}: {where}: bad opening range {text!r} (HH:MM-HH:MM)")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or start >= 1440:
        raise UserError(f"{origin}: {where}: bad opening range {text!r}")
    if end <= start:
        end += 1440  # open past midnight
    return start, end


@dataclass(frozen=True)
class OpenDay:
    key: str
    day: date
    cum_us: int
    segments: tuple[tuple[int, int], ...]  # UTC epoch microseconds


def open_days(cal: Calendar, first: date, last: date) -> list[OpenDay]:
    """Every (key, local day) from ``first`` to ``last`` with its open segments and the open
    time of the days before it."""
    zone = ZoneInfo(cal.timezone)
    closed = cal.holidays(range(first.year - 1, last.year + 2))
    out: list[OpenDay] = []
    for key in cal.keys():
        week = cal.week(key)
        cum = 0
        day = first - timedelta(days=1)
        carry: list[tuple[int, int]] = []  # minutes past midnight spilled from the day before
        while day <= last:
            own = [] if day in closed else list(week.get(day.weekday(), ()))
            today = [(s, min(e, 1440)) for s, e in own] + carry
            carry = [(0, e - 1440) for s, e in own if e > 1440]
            segments = tuple(sorted((_utc_us(day, s, zone), _utc_us(day, e, zone)) for s, e in today if e > s))
            if len(segments) > MAX_SEGMENTS:
                raise UserError(f"calendar {cal.name}: more than {MAX_SEGMENTS} opening ranges on {day}")
            if day >= first:
                out.append(OpenDay(key, day, cum, segments))
            cum += sum(e - s for s, e in segments)
            day += timedelta(days=1)
    return out


def _utc_us(day: date, minutes: int, zone: ZoneInfo) -> int:
    """UTC microseconds of the local wall-clock time ``minutes`` after the start of ``day``
    (08:00 is 08:00 local whatever the offset at midnight; 24:00 is the next midnight)."""
    wall = datetime.combine(day + timedelta(days=minutes // 1440), time((minutes % 1440) // 60, minutes % 60), tzinfo=zone)
    return int(wall.astimezone(UTC).timestamp()) * 1_000_000


def open_days_table(cal: Calendar, first: date, last: date) -> dict[str, list[Any]]:
    """The open days as columns (``_bk``, ``_day``, ``_cum_us``, ``_s0``/``_e0``...) for a memtable."""
    rows = open_days(cal, first, last)
    cols: dict[str, list[Any]] = {"_bk": [r.key for r in rows], "_day": [r.day for r in rows], "_cum_us": [r.cum_us for r in rows]}
    for i in range(MAX_SEGMENTS):
        cols[f"_s{i}"] = [r.segments[i][0] if i < len(r.segments) else None for r in rows]
        cols[f"_e{i}"] = [r.segments[i][1] if i < len(r.segments) else None for r in rows]
    return cols
