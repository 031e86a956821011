"""Configurable KPI parameters (SPEC §3 defaults), overridable per call or per warehouse."""

from __future__ import annotations

from collections.abc import Mapping
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


def resolve(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults updated with ``overrides``; unknown names and bad values are user errors."""
    values = {name: p.default for name, p in PARAMS.items()}
    for name, value in (overrides or {}).items():
        if name not in PARAMS:
            raise UserError(f"unknown KPI parameter {name!r} (known: {', '.join(PARAMS)})")
        values[name] = _coerce(name, value, PARAMS[name].default)
    if values["service_level_abandons"] not in ("against", "ignored", "met_within_t"):
        raise UserError("service_level_abandons must be against, ignored or met_within_t")
    return values


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``name=value`` strings (CLI ``--param``); a per-channel threshold is ``answer_threshold_s.chat=30``."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--param expects name=value, got {item!r}")
        name, value = item.split("=", 1)
        if name.startswith("answer_threshold_s."):
            thresholds = dict(out.get("answer_threshold_s", ANSWER_THRESHOLDS_S))
            thresholds[name.split(".", 1)[1]] = value
            out["answer_threshold_s"] = thresholds
        else:
            out[name.strip()] = value.strip()
    return out


def _coerce(name: str, value: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return text in ("true", "1", "yes")
        if isinstance(default, dict):
            if not isinstance(value, Mapping):
                raise ValueError(value)
            merged = {**default, **{str(k): float(v) for k, v in value.items()}}  # unnamed channels keep theirs
            if any(v < 0 for v in merged.values()):
                raise ValueError(value)
            return merged
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            number = float(value)
            if number < 0 and default >= 0:
                raise ValueError(value)
            return type(default)(number) if isinstance(default, float) else int(number)
        return str(value)
    except (TypeError, ValueError):
        raise UserError(f"bad value {value!r} for KPI parameter {name}") from None
