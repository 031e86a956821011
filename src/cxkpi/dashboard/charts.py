"""Plotly figures as plain JSON (drawn by the plotly.js that ships inside the plotly package)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cxkpi.kpi.model import Unit

COLORS = ("#1f4e79", "#2e86c1", "#48c9b0", "#f5b041", "#af7ac5", "#ec7063", "#5d6d7e", "#58d68d")


def _hover(unit: Unit) -> str:
    if unit is Unit.RATE:
        return "%{x}: %{y:.1%}<extra></extra>"
    return "%{x}: %{y:,.1f}<extra></extra>"


def _yaxis(unit: Unit) -> dict[str, Any]:
    return {"tickformat": ".0%"} if unit is Unit.RATE else {}


def sparkline(labels: Sequence[str], values: Sequence[float | None], unit: Unit) -> str:
    """A tiny trend line without axes."""
    fig = {
        "data": [{"x": list(labels), "y": list(values), "type": "scatter", "mode": "lines", "line": {"width": 2, "color": COLORS[1]},
                  "hovertemplate": _hover(unit), "connectgaps": False}],
        "layout": {"height": 46, "margin": {"l": 0, "r": 0, "t": 2, "b": 2}, "xaxis": {"visible": False},
                   "yaxis": {"visible": False}, "showlegend": False, "paper_bgcolor": "rgba(0,0,0,0)",
                   "plot_bgcolor": "rgba(0,0,0,0)"},
    }
    return json.dumps(fig, default=_clean)


def lines(title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], unit: Unit,
          target: float | None = None) -> str:
    """One line per series over the periods, with the target as a dashed line."""
    data: list[dict[str, Any]] = [
        {"x": list(labels), "y": list(ys), "type": "scatter", "mode": "lines+markers", "name": name,
         "line": {"color": COLORS[i % len(COLORS)]}, "hovertemplate": f"{name} " + _hover(unit)}
        for i, (name, ys) in enumerate(series.items())
    ]
    if target is not None and labels:
        data.append({"x": [labels[0], labels[-1]], "y": [target, target], "type": "scatter", "mode": "lines",
                     "name": "target", "line": {"dash": "dash", "color": "#999"}, "hoverinfo": "skip"})
    fig = {"data": data, "layout": {"title": {"text": title, "font": {"size": 14}}, "height": 260,
                                     "margin": {"l": 50, "r": 10, "t": 36, "b": 40}, "yaxis": _yaxis(unit),
                                     "showlegend": len(series) > 1, "legend": {"orientation": "h"}}}
    return json.dumps(fig, default=_clean)


def bars(title: str, labels: Sequence[str], values: Sequence[float | None], unit: Unit) -> str:
    """A comparison across the members of a dimension."""
    fig = {
        "data": [{"x": list(labels), "y": list(values), "type": "bar", "marker": {"color": COLORS[0]},
                  "hovertemplate": _hover(unit)}],
        "layout": {"title": {"text": title, "font": {"size": 14}}, "height": 260,
                   "margin": {"l": 50, "r": 10, "t": 36, "b": 60}, "yaxis": _yaxis(unit)},
    }
    return json.dumps(fig, default=_clean)


def _clean(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
