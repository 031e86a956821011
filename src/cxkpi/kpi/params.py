"""Configurable KPI parameters (SPEC §3 defaults), overridable per call or per warehouse.

Every value is checked here, once, against its parameter's declared bounds: a value from a
URL or ``--param`` reaches SQL and interval arithmetic (``inf`` days, ``1e300`` seconds,
``nan``), so anything outside the bounds is a user error that names the accepted range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cxkpi.config import UserError
from cxkpi.kpi.model import Param

ANSWER_THRESHOLDS_S: dict[str, float] = {
    "phone": 20, "video": 20, "chat": 60, "sms": 3600, "social": 3600, "email": 86400, "web_form": 86400,
}

PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        Param("answer_threshold_s", ANSWER_THRESHOLDS_S,
              "answer threshold T per channel for service level, in seconds; an override names the channels it changes "
              "(other channels keep theirs; channels without a threshold never meet it)"),
        Param("short_abandon_s", 5.0, "abandons whose wait is under S seconds are short abandons, left out of offered"),
        Param("service_level_abandons", "against",
              "how abandons count in service level: against (in the base), ignored (base = answered), "
              "met_within_t (an abandon within T counts as met)"),
        Param("fcr_window_days", 7.0, "FCR/repeat window after a contact, in days"),
        Param("fcr_same_reason", False, "FCR: only a repeat contact for the same reason breaks first-contact resolution"),
        Param("csat_top_box", 4, "CSAT: responses at or above this score are satisfied"),
        Param("delinquency_days", 90, "loan delinquency: days past due at or above this"),
        Param("negative_sentiment_below", -0.05, "a verbatim whose sentiment is below this is negative"),
    )
}

DIGITAL_CHANNELS = ("email", "chat", "social", "web_form", "sms", "selfcare")


@dataclass(frozen=True)
class Bounds:
    """The finite values a numeric parameter accepts, both ends included."""

    low: float
    high: float
    unit: str = ""
    whole: bool = False  # a whole number (a score, a count of days)

    def text(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        return f"{kind} from {_num(self.low)} to {_num(self.high)}" + (f" ({self.unit})" if self.unit else "")


# Wide enough for any real setting, narrow enough that no arithmetic on them can overflow.
BOUNDS: dict[str, Bounds] = {
    "answer_threshold_s": Bounds(0, 30 * 86_400, "seconds, per channel"),
    "short_abandon_s": Bounds(0, 3_600, "seconds"),
    "fcr_window_days": Bounds(0, 366, "days"),
    "csat_top_box": Bounds(1, 5, "a CSAT score", whole=True),
    "delinquency_days": Bounds(1, 3_650, "days past due", whole=True),
    "negative_sentiment_below": Bounds(-1, 1, "a sentiment score"),
}
CHOICES: dict[str, tuple[str, ...]] = {"service_level_abandons": ("against", "ignored", "met_within_t")}
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


def resolve(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults updated with ``overrides``; unknown names and values out of bounds are user errors."""
    values = {name: p.default for name, p in PARAMS.items()}
    for name, value in (overrides or {}).items():
        values[name] = check(name, value)
    return values


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``name=value`` strings (CLI ``--param``, the API's ``param``), checked as ``resolve`` does;
    a per-channel threshold is ``answer_threshold_s.chat=30``."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--param expects name=value, got {_shown(item)}")
        name, value = (part.strip() for part in item.split("=", 1))
        if name.startswith("answer_threshold_s."):
            thresholds = dict(out.get("answer_threshold_s", ANSWER_THRESHOLDS_S))
            thresholds[name.split(".", 1)[1]] = value
            out["answer_threshold_s"] = check("answer_threshold_s", thresholds)
        else:
            out[name] = check(name, value)
    return out


def check(name: str, value: Any) -> Any:
    """``value`` of the parameter ``name`` as the KPIs use it (typed, within its bounds)."""
    if name not in PARAMS:
        raise UserError(f"unknown KPI parameter {_shown(name)} (known: {', '.join(PARAMS)})")
    default = PARAMS[name].default
    if isinstance(default, bool):
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in TRUE + FALSE:
            return value if isinstance(value, bool) else text in TRUE
        raise UserError(f"KPI parameter {name} must be true or false, got {_shown(value)}")
    if isinstance(default, dict):
        if not isinstance(value, Mapping):
            raise UserError(f"KPI parameter {name} names its channel: {name}.CHANNEL=VALUE, {BOUNDS[name].text()}")
        given = {str(k): _number(f"{name}.{str(k)[:40]}", v, BOUNDS[name]) for k, v in value.items()}
        return {**default, **given}  # channels not named keep their threshold
    if name in CHOICES:
        if value not in CHOICES[name]:
            raise UserError(f"KPI parameter {name} must be {', '.join(CHOICES[name])}, got {_shown(value)}")
        return str(value)
    if isinstance(default, (int, float)):
        number = _number(name, value, BOUNDS[name])
        return int(number) if isinstance(default, int) else number
    return str(value)


def _number(label: str, value: Any, bounds: Bounds) -> float:
    """A finite number within ``bounds`` (nan, inf and 1e300 are not)."""
    try:
        number = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not (math.isfinite(number) and bounds.low <= number <= bounds.high and (number.is_integer() or not bounds.whole)):
        raise UserError(f"KPI parameter {label} must be {bounds.text()}, got {_shown(value)}")
    return number


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _shown(value: Any) -> str:
    """A value as an error message quotes it: one short line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
