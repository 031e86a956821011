"""KPI results as plain records and JSON (SPEC §4: one object per group, numbers as numbers)."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts; missing values become None, numpy scalars plain Python numbers."""
    out = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if hasattr(value, "item"):
                value = value.item()
            if isinstance(value, float) and math.isnan(value):
                value = None
            clean[str(key)] = value
        out.append(clean)
    return out


def frame_to_json(frame: pd.DataFrame) -> str:
    return json.dumps(records(frame), indent=2, ensure_ascii=False, default=str)
