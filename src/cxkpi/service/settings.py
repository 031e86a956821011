"""What a warehouse says about reporting: its zone and its business-hours calendar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxkpi.kpi.calendar import Calendar, parse_calendar
from cxkpi.warehouse.inspect import config_value


@dataclass(frozen=True)
class Settings:
    """The reporting zone (UTC when none is set) and the calendar's YAML (None: the default)."""

    tz: str = "UTC"
    calendar_yaml: str | None = None

    @classmethod
    def read(cls, con: Any) -> Settings:
        return cls(tz=config_value(con, "reporting_tz") or "UTC", calendar_yaml=config_value(con, "calendar"))

    def calendar(self, zone: str) -> Calendar | None:
        """The business-hours calendar in ``zone`` (None: none stored, the default applies)."""
        return parse_calendar(self.calendar_yaml, zone, "warehouse calendar") if self.calendar_yaml else None
