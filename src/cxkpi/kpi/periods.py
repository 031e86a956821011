"""Reporting periods: cut in the reporting time zone, DST-correct, labelled as SPEC §3 says.

Labels: day ``2026-03-05``, week ``2026-W10`` (ISO week, Monday first), month ``2026-03``,
quarter ``2026-Q1``, year ``2026``. Boundaries are local midnights converted to UTC with
zoneinfo, so a spring-forward day lasts 23 hours and an autumn one 25.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cxkpi.config import UserError
from cxkpi.kpi.model import Grain

IBIS_UNITS = {Grain.DAY: "D", Grain.WEEK: "W", Grain.MONTH: "M", Grain.QUARTER: "Q", Grain.YEAR: "Y"}

# The dates a user may ask for (a query's range, the overview's day). Customer-service data
# lives well inside it, and it keeps every date a period computation derives from it (a
# trend of years before, the day after, a local midnight in any zone) far from the limits
# of ``datetime.date`` (years 1 to 9999), so that arithmetic cannot overflow.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)
DATE_RANGE = f"from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
# What the period functions below accept: the dates above and whatever their callers derive
# from them, with a century to spare on each side (dates read from the data, too).
_REACH = (date(100, 1, 1), date(9899, 12, 31))


def parse_grain(text: str) -> Grain:
    try:
        return Grain(text)
    except ValueError:
        raise UserError(f"unknown grain {text!r} (use {', '.join(g.value for g in Grain)})") from None


def parse_date(text: str | None, option: str) -> date | None:
    """A date a user wrote (``YYYY-MM-DD``), within the dates accepted (``FIRST_DAY``..``LAST_DAY``)."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} expects a date YYYY-MM-DD, got {text[:40]!r}") from None
    return check_date(day, option)


def check_date(day: date, option: str = "a date") -> date:
    """``day`` if a user may ask for it; a user error naming the accepted range otherwise.

    For dates that do not come through ``parse_date`` (the Python API, a page's picker).
    """
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UserError(f"{option} must be a date {DATE_RANGE}, got {day.isoformat()}")
    return day


def within_reach(*days: date) -> None:
    """Refuse, as a user error, a day whose period arithmetic could leave ``datetime``'s years."""
    for day in days:
        if not _REACH[0] <= day <= _REACH[1]:
            raise UserError(f"date {day.isoformat()} is out of range (dates are accepted {DATE_RANGE})")


def local_midnight_utc(day: date, tz: str) -> datetime:
    """The UTC instant of local midnight starting ``day`` in ``tz``."""
    within_reach(day)
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def period_start(day: date, grain: Grain) -> date:
    """First day of the period of ``grain`` containing ``day``."""
    within_reach(day)
    if grain is Grain.DAY:
        return day
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    if grain is Grain.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if grain is Grain.YEAR:
        return date(day.year, 1, 1)
    raise ValueError(grain)


def next_start(start: date, grain: Grain) -> date:
    """First day of the period after the one starting on ``start``."""
    within_reach(start)
    if grain is Grain.DAY:
        return start + timedelta(days=1)
    if grain is Grain.WEEK:
        return start + timedelta(days=7)
    months = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}[grain]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def label(start: date, grain: Grain) -> str:
    """The period's label, from its first day."""
    if grain is Grain.DAY:
        return start.isoformat()
    if grain is Grain.WEEK:
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if grain is Grain.MONTH:
        return f"{start.year}-{start.month:02d}"
    if grain is Grain.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if grain is Grain.YEAR:
        return str(start.year)
    raise ValueError(grain)


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def periods(first: date, last: date, grain: Grain, tz: str) -> list[Period]:
    """The periods of ``grain`` covering the local days ``first``..``last`` (inclusive)."""
    within_reach(first, last)
    if grain is Grain.ALL:
        return [Period("all", local_midnight_utc(first, tz), local_midnight_utc(last + timedelta(days=1), tz))]
    out = []
    start = period_start(first, grain)
    while start <= last:
        nxt = next_start(start, grain)
        out.append(Period(label(start, grain), local_midnight_utc(start, tz), local_midnight_utc(nxt, tz)))
        start = nxt
    return out


def parse_label(text: str, grain: Grain) -> date:
    """First day of the period labelled ``text`` (the inverse of ``label``)."""
    try:
        if grain is Grain.DAY:
            return date.fromisoformat(text)
        if grain is Grain.WEEK:
            year, week = text.split("-W")
            return date.fromisocalendar(int(year), int(week), 1)
        if grain is Grain.MONTH:
            year, month = text.split("-")
            return date(int(year), int(month), 1)
        if grain is Grain.QUARTER:
            year, quarter = text.split("-Q")
            return date(int(year), 3 * (int(quarter) - 1) + 1, 1)
        if grain is Grain.YEAR:
            return date(int(text), 1, 1)
    except ValueError:
        pass
    raise UserError(f"{text!r} is not a {grain.value} period label (e.g. {label(date(2026, 3, 5), grain)})")
