"""Numbers for people: each KPI value formatted by its unit, in French or English (Babel)."""

from __future__ import annotations

import math

from babel import Locale
from babel.numbers import format_currency, format_decimal, format_percent

from cxkpi.kpi.model import Unit

LOCALES = {"en": "en_GB", "fr": "fr_FR"}


def locale_of(lang: str) -> str:
    return LOCALES.get(lang, "en_GB")


def format_value(value: float | int | None, unit: Unit, lang: str = "en", currency: str = "EUR") -> str:
    """``value`` as shown in tables and reports; an empty string for a null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    loc = locale_of(lang)
    if unit is Unit.RATE:
        return format_percent(value, _one_decimal_percent(loc), locale=loc)
    if unit is Unit.COUNT:
        return format_decimal(round(value), "#,##0", locale=loc)
    if unit is Unit.POINTS:
        return format_decimal(value, "+#,##0.0;-#,##0.0", locale=loc)
    if unit is Unit.SECONDS:
        return format_duration(float(value), lang)
    if unit is Unit.CURRENCY:
        return format_currency(value, currency, locale=loc)
    if unit is Unit.PER_HOUR:
        return format_decimal(value, "#,##0.00", locale=loc) + " /h"
    return format_decimal(value, "#,##0.00", locale=loc)


def _one_decimal_percent(loc: str) -> str:
    """The locale's percent pattern (``#,##0 %`` in French) with one decimal."""
    pattern = str(Locale.parse(loc).percent_formats[None].pattern)
    return pattern.replace("0%", "0.0%").replace("0\u00a0%", "0.0\u00a0%").replace("0 %", "0.0 %")


def format_duration(seconds: float, lang: str = "en") -> str:
    """``42.5 s``, ``3 min 05 s``, ``2 h 10 min``, ``3 d 4 h`` (``j`` in French)."""
    loc = locale_of(lang)
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 60:
        return sign + format_decimal(s, "#,##0.0", locale=loc) + " s"
    if s < 3600:
        m, r = divmod(round(s), 60)
        return f"{sign}{m} min {r:02d} s"
    if s < 86400:
        h, r = divmod(round(s) // 60, 60)
        return f"{sign}{h} h {r:02d} min"
    d, r = divmod(round(s) // 3600, 24)
    day = "j" if lang == "fr" else "d"
    return f"{sign}{d} {day} {r} h"
