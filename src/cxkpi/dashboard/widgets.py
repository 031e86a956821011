"""Figures as the pages show them: KPI cards, tables with links, downloads.

Every cell links to the rows behind it (``/drill``) and every KPI name to its definition
(``/kpi``); values are formatted by their unit in the reader's language.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi.responses import Response

from cxkpi.config import UserError
from cxkpi.dashboard import charts
from cxkpi.dashboard.i18n import period_text, words
from cxkpi.dashboard.view import View
from cxkpi.kpi.query import PERIOD
from cxkpi.kpi.format import format_value
from cxkpi.kpi.model import Grain, Kpi
from cxkpi.kpi.output import records


def number(v: Any) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def card(k: Kpi, view: View, current: pd.DataFrame, series: pd.DataFrame) -> dict[str, Any]:
    w = words(view.lang)
    row = current.iloc[0].to_dict() if len(current) and k.name in current.columns else {}
    value = number(row.get(k.name))
    target = number(row.get(f"{k.name}_target"))
    status = row.get(f"{k.name}_status")
    spark = None
    if len(series) and k.name in series.columns:
        labels = [period_text(str(p), view.trend_grain, view.lang) for p in series[PERIOD]]
        spark = charts.sparkline(labels, [number(v) for v in series[k.name]], k.unit)
    return {
        "kpi": k, "label": k.label(view.lang), "value": format_value(value, k.unit, view.lang) if value is not None else "—",
        "available": k.name in current.columns, "target": format_value(target, k.unit, view.lang) if target is not None else "",
        "status": status if isinstance(status, str) else None, "status_text": w.get(str(status), ""),
        "spark": spark, "drill": f"/drill/{k.name}?" + view.params(),
    }


def table(key: str, title: str, frame: pd.DataFrame, kpis: list[Kpi], dims: tuple[str, ...], view: View,
           grain: Grain | None = None, link_agents: bool = False) -> dict[str, Any]:
    """A table for the template: formatted cells, links to definitions and to the rows behind."""
    cols = [k for k in kpis if k.name in frame.columns]
    rows = []
    for rec in records(frame):
        cells = []
        for k in cols:
            v = number(rec.get(k.name))
            where = {d: "" if rec.get(d) is None else str(rec.get(d)) for d in dims}
            extra: dict[str, Any] = {}
            if grain is not None and PERIOD in rec:
                extra = {"drill_grain": grain.value, "period": rec[PERIOD]}
            link = f"/drill/{k.name}?" + view.params(**extra) + "".join(
                "&" + urlencode({"where": f"{d}={val}"}) for d, val in where.items())
            cells.append({"text": format_value(v, k.unit, view.lang) if v is not None else "—", "link": link,
                          "status": rec.get(f"{k.name}_status")})
        head = []
        for d in dims:
            text = "—" if rec.get(d) is None else str(rec.get(d))
            href = f"/agents/{text}?" + view.params() if link_agents and d == "agent_id" and rec.get(d) else None
            head.append({"text": text, "link": href})
        if PERIOD in rec and grain is not None:
            head.append({"text": period_text(str(rec[PERIOD]), grain, view.lang), "link": None})
        rows.append({"head": head, "cells": cells})
    w = words(view.lang)
    headers = [w.get(d, d) for d in dims] + ([w["period"]] if grain is not None and PERIOD in frame.columns else [])
    return {"key": key, "title": title, "headers": headers, "kpis": cols, "rows": rows,
            "export": {fmt: "?" + view.params(export=fmt, table=key) for fmt in ("csv", "xlsx")}}


def export_response(frame: pd.DataFrame, fmt: str, stem: str, tz: str | None = None) -> Response:
    """A table as a CSV or XLSX download.

    Imported text (a team name, a verbatim) may start like a spreadsheet formula: it is
    written as text, never as a formula (a leading apostrophe in CSV, a string cell in XLSX).
    Excel has no time zones: an XLSX gets each instant as the wall time of ``tz`` (the
    reporting zone; else the column's own zone) and the zone in the column's header. A CSV
    keeps the offset in the text.
    """
    if fmt == "csv":
        return Response(_text_safe(frame).to_csv(index=False), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'})
    if fmt == "xlsx":
        buf = io.BytesIO()
        out = _excel_cells(frame, tz)
        for col in out.columns:
            if str(out[col].dtype) in ("Float64", "Int64"):
                out[col] = out[col].astype("float64")
        options = {"strings_to_formulas": False, "strings_to_urls": False}
        with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": options}) as xl:
            out.to_excel(xl, index=False, sheet_name="cxkpi")
        return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'})
    raise UserError("export formats: csv or xlsx")


def _excel_cells(frame: pd.DataFrame, tz: str | None) -> pd.DataFrame:
    """``frame`` as Excel can hold it: instants as naive wall times, each such column's header
    naming the zone; dates Excel cannot show (before 1900-03-01) as ISO text.

    Without ``tz`` a zoned column keeps its own zone (UTC for zoned cells of an object
    column). A cell too close to year 1 or 9999 to convert is written as ISO text too.
    """
    target = ZoneInfo(tz) if tz else None
    out = frame.copy()
    headers: dict[Any, str] = {}
    for col in out.columns:
        values = out[col]
        own = getattr(values.dtype, "tz", None) or getattr(getattr(values.dtype, "pyarrow_dtype", None), "tz", None)
        zoned = own is not None or (values.dtype == object and any(_zoned(v) for v in values))
        if zoned:
            headers[col] = f"{col} ({tz or own or 'UTC'})"
        if zoned and isinstance(values.dtype, pd.DatetimeTZDtype):
            try:
                values = (values.dt.tz_convert(target) if target else values).dt.tz_localize(None)
            except (OverflowError, ValueError):
                pass
        if pd.api.types.is_datetime64_dtype(values.dtype):
            if not ((values < EXCEL_FIRST) | (values > EXCEL_LAST)).any():
                out[col] = values
                continue
        elif values.dtype != object and not zoned:
            continue
        zone = target or (None if own is not None else UTC)  # None: each cell's own zone
        out[col] = pd.Series([_excel_cell(v, zone) for v in values.astype(object)], index=out.index, dtype=object)
    return out.rename(columns=headers)


EXCEL_FIRST, EXCEL_LAST = datetime(1900, 3, 1), datetime(9999, 12, 31, 23, 59, 59)  # Excel's 1900 has a 29 February


def _zoned(v: Any) -> bool:
    return isinstance(v, datetime) and v.tzinfo is not None


def _excel_cell(v: Any, zone: tzinfo | None) -> Any:
    """A zoned ``datetime`` as its naive wall time in ``zone`` (None: its own); a date Excel
    cannot show as ISO text; other values as they are."""
    if v is pd.NaT or not isinstance(v, date):
        return v
    wall: date = v
    if isinstance(v, datetime) and v.tzinfo is not None:
        try:
            wall = (v.astimezone(zone) if zone is not None else v).replace(tzinfo=None)
        except (OverflowError, ValueError):
            return v.isoformat()
    day = wall.date() if isinstance(wall, datetime) else wall
    return wall if EXCEL_FIRST.date() <= day else wall.isoformat()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would read as a formula, prefixed with an apostrophe."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = [("'" + v) if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in out[col]]
    return out
