"""The demo year on a half-hour grid: UTC time axis, local (Europe/Paris) attributes, opening hours.

The simulation clock is absolute: seconds since the period start, 2025-11-01 00:00
Europe/Paris (2025-10-31 23:00 UTC). The year is cut into UTC half hours; each carries
its local date, weekday and hour, so business rules (opening hours, intraday profile,
holidays) are written in local time while every timestamp stays unambiguous. Because
Paris offsets are whole hours, a UTC half hour is also a local half hour: the spring
forward day has 46 of them, the fall back day 50 (the 02:00-03:00 hour occurs twice),
which is exactly what a DST-correct contact centre sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np

from cxkpi.demo.reference import HOURS, SHORT_DAY_CLOSE

PARIS = ZoneInfo("Europe/Paris")
PERIOD_START = datetime(2025, 11, 1, tzinfo=PARIS)
PERIOD_END = datetime(2026, 11, 1, tzinfo=PARIS)  # exclusive
SLOT = 1800
#: Days simulated after the period so that the last messages of the year get answered.
TAIL_DAYS = 3


@dataclass(frozen=True)
class Calendar:
    """Half-hour grid of the period plus a short tail, with local attributes.

    Times are seconds since ``t0`` (UTC epoch seconds of the period start). Arrays named
    ``slot_*`` have one value per half hour, ``day_*`` one per local day.
    """

    t0: int
    end: float  # seconds from t0 to the period end
    n_slots: int
    n_period_slots: int
    n_days: int
    n_period_days: int
    slot_day: np.ndarray  # local day index
    slot_hour: np.ndarray  # local hour of the slot start, e.g. 10.5
    day_dates: tuple[date, ...]
    day_dow: np.ndarray  # 0 = Monday
    day_month: np.ndarray  # month of the period, 0 = November 2025
    day_dom: np.ndarray  # day of month
    day_holiday: np.ndarray  # French public holiday
    day_short: np.ndarray  # 24 and 31 December: early closing
    day_first_slot: np.ndarray
    day_n_slots: np.ndarray
    day_iso_week: np.ndarray  # running ISO week number from the start (0..)

    def hours_mask(self, channel: int) -> np.ndarray:
        """Half hours when ``channel`` is open (agent channels close on public holidays)."""
        spec = HOURS[channel]
        always = spec[2] == (0.0, 24.0)
        dow = self.day_dow[self.slot_day]
        opening = np.full(self.n_slots, np.inf)
        closing = np.full(self.n_slots, -np.inf)
        for kind, rng in enumerate(spec):
            if rng is None:
                continue
            sel = (dow < 5) if kind == 0 else (dow == kind + 4)
            opening[sel] = rng[0]
            closing[sel] = rng[1]
        if not always:
            short = self.day_short[self.slot_day]
            closing[short] = np.minimum(closing[short], SHORT_DAY_CLOSE)
            holiday = self.day_holiday[self.slot_day]
            opening[holiday] = np.inf
        mask: np.ndarray = (self.slot_hour >= opening) & (self.slot_hour + 0.5 <= closing)
        return mask


def build_calendar() -> Calendar:
    """The calendar of the demo year (deterministic: it depends on no clock)."""
    t0 = int(PERIOD_START.timestamp())
    end = int(PERIOD_END.timestamp()) - t0
    tail_end = datetime.combine(PERIOD_END.date() + timedelta(days=TAIL_DAYS), datetime.min.time(), PARIS)
    n_slots = (int(tail_end.timestamp()) - t0) // SLOT
    n_period_slots = end // SLOT
    start_date = PERIOD_START.date()

    # Local = UTC + offset; the offset is read from zoneinfo at every UTC hour (cheap,
    # and exact since Paris changes offset on the hour).
    utc = ZoneInfo("UTC")
    hours = np.arange(0, n_slots * SLOT, 3600, dtype=np.int64)
    def utc_offset(epoch: int) -> int:
        off = datetime.fromtimestamp(epoch, utc).astimezone(PARIS).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    offset_h = np.array([utc_offset(t0 + int(h)) for h in hours[::24]], dtype=np.int64)
    offset = np.repeat(offset_h, 24)[: hours.size]
    for i in np.flatnonzero(np.diff(offset_h)).tolist():  # a DST change happens inside that day
        for j in range(i * 24, min((i + 1) * 24 + 1, int(hours.size))):
            offset[j] = utc_offset(t0 + int(hours[j]))
    slot_offset = np.repeat(offset, 2)[:n_slots]
    local = t0 + np.arange(n_slots, dtype=np.int64) * SLOT + slot_offset  # local wall clock as epoch
    epoch_day = (local // 86400).astype(np.int64)
    start_epoch_day = (start_date - date(1970, 1, 1)).days
    slot_day = (epoch_day - start_epoch_day).astype(np.int32)
    slot_hour = (local % 86400) / 3600.0

    n_days = int(slot_day[-1]) + 1
    n_period_days = (PERIOD_END.date() - start_date).days
    dates = tuple(start_date + timedelta(days=d) for d in range(n_days))
    fr = holidays.country_holidays("FR", years=sorted({d.year for d in dates}))
    day_first = np.searchsorted(slot_day, np.arange(n_days)).astype(np.int32)
    day_n = np.bincount(slot_day, minlength=n_days).astype(np.int32)
    first_monday = start_date - timedelta(days=start_date.weekday())
    return Calendar(
        t0=t0,
        end=float(end),
        n_slots=n_slots,
        n_period_slots=n_period_slots,
        n_days=n_days,
        n_period_days=n_period_days,
        slot_day=slot_day,
        slot_hour=slot_hour,
        day_dates=dates,
        day_dow=np.array([d.weekday() for d in dates], dtype=np.int8),
        day_month=np.array([(d.year - 2025) * 12 + d.month - 11 for d in dates], dtype=np.int8).clip(0, 11),
        day_dom=np.array([d.day for d in dates], dtype=np.int8),
        day_holiday=np.array([d in fr for d in dates], dtype=bool),
        day_short=np.array([d.month == 12 and d.day in (24, 31) for d in dates], dtype=bool),
        day_first_slot=day_first,
        day_n_slots=day_n,
        day_iso_week=np.array([(d - first_monday).days // 7 for d in dates], dtype=np.int32),
    )


def next_open_slot(mask: np.ndarray) -> np.ndarray:
    """For each slot, the first slot at or after it where ``mask`` is true (-1: none)."""
    n = mask.size
    idx = np.where(mask, np.arange(n), n)
    nxt = np.minimum.accumulate(idx[::-1])[::-1]
    out: np.ndarray = np.where(nxt >= n, -1, nxt).astype(np.int64)
    return out
