"""The dashboard's pages: server-rendered, every figure from the engine, within the user's scope.

Each page reads its KPI names from ``dashboard.pages`` and their labels, units and
directions from the catalogue; numbers go through the same query layer as the API
(``api.queries``), so a page, its export and ``/api/kpis`` agree.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import pandas as pd
import plotly
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from cxkpi.access.scope import OutOfScope
from cxkpi.access.users import Role, set_lang
from cxkpi.api.deps import Server, caller, page_caller, server
from cxkpi.api.queries import QueryArgs, build_query, drill_frame, kpi_frame, period_range
from cxkpi.api.security import LOGIN_COOKIE, SESSION_COOKIE, Principal
from cxkpi.config import UserError
from cxkpi.dashboard import charts
from cxkpi.dashboard.i18n import LANGS, date_text, period_from_date, period_text, words
from cxkpi.dashboard.pages import (
    AGENT_CARD, AGENT_LIST, COMPARISON, CUSTOMER, DIMENSION_PAGES, DIMENSIONS, FILTERS, FINANCE, NAV,
)
from cxkpi.kpi.catalogue import KPIS
from cxkpi.kpi.engine import PERIOD, KpiQuery
from cxkpi.kpi.format import format_value
from cxkpi.kpi.inspect import explain
from cxkpi.kpi.model import Grain, Kpi
from cxkpi.kpi.output import records

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
TREND = {Grain.DAY: 14, Grain.WEEK: 12, Grain.MONTH: 12, Grain.QUARTER: 8, Grain.YEAR: 5}
GRAINS = ("day", "week", "month", "quarter", "year", "custom")
DRILL_PAGE = 50
EXPORT_ROWS = 10_000

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"])


@dataclass(frozen=True)
class View:
    """What the user picked: the period, the filters and the language."""

    grain: str
    anchor: date
    start: date
    end: date
    trend_start: date
    filters: dict[str, tuple[str, ...]]
    lang: str
    custom: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def trend_grain(self) -> Grain:
        if not self.custom:
            return Grain(self.grain)
        return Grain.DAY if (self.end - self.start).days <= 62 else Grain.MONTH

    def params(self, **changes: Any) -> str:
        base: dict[str, Any] = {"grain": self.grain, "lang": self.lang}
        if self.custom:
            base |= {"from": self.start.isoformat(), "to": self.end.isoformat()}
        else:
            base["date"] = self.anchor.isoformat()
        for dim, values in self.filters.items():
            base[dim] = values[0]
        base |= self.extra
        base |= {k: v for k, v in changes.items() if v is not None}
        return urlencode(base)

    def title(self) -> str:
        if self.custom:
            return f"{date_text(self.start, self.lang)} – {date_text(self.end, self.lang)}"
        return period_from_date(self.start, Grain(self.grain), self.lang)


def _latest_day(srv: Server) -> date:
    """The last local day with contacts (the default period is the one containing it)."""
    def load() -> date:
        tz = srv.warehouse.reporting_tz()
        with srv.warehouse.reader() as (_, cur):
            rows = cur.execute(
                "SELECT max(created_at) FROM contacts"
            ).fetchall()
        if not rows or rows[0][0] is None:
            return date.today()
        from zoneinfo import ZoneInfo

        value: date = rows[0][0].astimezone(ZoneInfo(tz)).date()
        return value

    result: date = srv.warehouse.cached(("latest_day",), load)
    return result


def _view(request: Request, who: Principal, srv: Server) -> View:
    qp = request.query_params
    lang = qp.get("lang") or who.user.lang
    if lang not in LANGS:
        lang = "en"
    grain = qp.get("grain") or "month"
    if grain not in GRAINS:
        raise UserError(f"unknown grain {grain!r}")
    filters: dict[str, tuple[str, ...]] = {dim: (qp[dim],) for dim in FILTERS if qp.get(dim)}
    try:
        if grain == "custom":
            latest = _latest_day(srv)
            start = date.fromisoformat(qp.get("from") or (latest - timedelta(days=27)).isoformat())
            end = date.fromisoformat(qp.get("to") or latest.isoformat())
            if start > end:
                raise UserError("the range starts after it ends")
            if (end - start).days > 3 * 366:
                raise UserError("a custom range spans three years at most")
            return View(grain, end, start, end, start, filters, lang, custom=True)
        anchor = date.fromisoformat(qp["date"]) if qp.get("date") else _latest_day(srv)
    except ValueError:
        raise UserError("dates are written YYYY-MM-DD") from None
    g = Grain(grain)
    first, start, end = period_range(g, anchor, TREND[g])
    return View(grain, anchor, start, end, first, filters, lang)


def warm_overview(srv: Server, grains: tuple[str, ...] = ("month", "week", "day")) -> None:
    """Compute the default overviews of an unrestricted user ahead of the first request.

    Run in the background at start and after every import: the director's first page of
    the morning is then read from the cache (the results are per data version).
    """
    from cxkpi.access.scope import Scope
    from cxkpi.access.users import User

    who = Principal(User("(warm-up)", Role.MANAGER, None, None, "en", datetime.now(UTC)), Scope(Role.MANAGER), None)
    names = tuple(n for s in DIMENSIONS for n in s.kpis)
    latest = _latest_day(srv)
    for grain in grains:
        g = Grain(grain)
        first, start, end = period_range(g, latest, TREND[g])
        _figures(srv, who, View(grain, latest, start, end, first, {}, "en"), names)


def _accepts(k: Kpi, dims: tuple[str, ...]) -> bool:
    return all(d in k.dimensions for d in dims)


def _figures(srv: Server, who: Principal, view: View, names: tuple[str, ...], by: tuple[str, ...] = (),
             trend: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(current period, trend) frames for the KPIs of ``names`` the user and filters allow.

    KPIs that cannot be split by the filters or computed at the trend's grain are left out
    of the frame that cannot have them (the page shows them as not available).
    """
    allowed = [KPIS[n] for n in names if n in KPIS and who.scope.kpi_allowed(KPIS[n])]
    usable = [k for k in allowed if _accepts(k, (*by, *view.filters))]
    current = _run(srv, who, view, usable, by, Grain.ALL, view.start, view.end, targets=True)
    series = pd.DataFrame()
    if trend:
        g = view.trend_grain
        fine = [k for k in usable if list(Grain).index(k.min_grain) <= list(Grain).index(g)]
        start = view.start if view.custom else view.trend_start
        series = _run(srv, who, view, fine, by, g, start, view.end, targets=False)
    return current, series


def _run(srv: Server, who: Principal, view: View, kpis: list[Kpi], by: tuple[str, ...], grain: Grain,
         start: date, end: date, targets: bool) -> pd.DataFrame:
    if not kpis:
        return pd.DataFrame()
    q = build_query(srv.warehouse, QueryArgs(kpis=tuple(k.name for k in kpis), grain=grain.value))
    q = KpiQuery(kpis=q.kpis, by=by, grain=grain, start=start, end=end, tz=q.tz, calendar=q.calendar,
                 filters=dict(view.filters) or None)
    return kpi_frame(srv.warehouse, who, q, targets=targets)


def _num(v: Any) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _card(k: Kpi, view: View, current: pd.DataFrame, series: pd.DataFrame) -> dict[str, Any]:
    w = words(view.lang)
    row = current.iloc[0].to_dict() if len(current) and k.name in current.columns else {}
    value = _num(row.get(k.name))
    target = _num(row.get(f"{k.name}_target"))
    status = row.get(f"{k.name}_status")
    spark = None
    if len(series) and k.name in series.columns:
        labels = [period_text(str(p), view.trend_grain, view.lang) for p in series[PERIOD]]
        spark = charts.sparkline(labels, [_num(v) for v in series[k.name]], k.unit)
    return {
        "kpi": k, "label": k.label(view.lang), "value": format_value(value, k.unit, view.lang) if value is not None else "—",
        "available": k.name in current.columns, "target": format_value(target, k.unit, view.lang) if target is not None else "",
        "status": status if isinstance(status, str) else None, "status_text": w.get(str(status), ""),
        "spark": spark, "drill": f"/drill/{k.name}?" + view.params(),
    }


def _table(key: str, title: str, frame: pd.DataFrame, kpis: list[Kpi], dims: tuple[str, ...], view: View,
           grain: Grain | None = None, link_agents: bool = False) -> dict[str, Any]:
    """A table for the template: formatted cells, links to definitions and to the rows behind."""
    cols = [k for k in kpis if k.name in frame.columns]
    rows = []
    for rec in records(frame):
        cells = []
        for k in cols:
            v = _num(rec.get(k.name))
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


def _render(request: Request, who: Principal, view: View, template: str, nav_key: str, title: str,
            srv: Server, **context: Any) -> Response:
    w = words(view.lang)
    nav = [
        {"href": p.path + "?" + view.params(), "title": p.title(view.lang), "active": p.key == nav_key}
        for p in NAV if _page_allowed(p.key, who)
    ]
    session = srv.security.sessions.get(request.cookies.get(SESSION_COOKIE))
    html = templates.get_template(template).render(
        w=w, view=view, nav=nav, title=title, who=who, csrf=session.csrf if session else "",
        grains=GRAINS, filter_dims=FILTERS, filter_values=_filter_values(srv, who), lang_links={
            lang: "?" + view.params(lang=lang) for lang in LANGS}, request_path=request.url.path, **context)
    return HTMLResponse(html)


def _page_allowed(key: str, who: Principal) -> bool:
    if who.user.role is Role.AGENT:
        return key in ("overview", "agents", "flow", "handling", "productivity", "satisfaction")
    return True


def _filter_values(srv: Server, who: Principal) -> dict[str, list[str]]:
    """The values offered by the channel, team and site pickers (within the user's scope)."""
    def load() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        with srv.warehouse.reader() as (_, cur):
            for dim in FILTERS:
                out[dim] = [str(r[0]) for r in cur.execute(
                    f'SELECT DISTINCT "{dim}" FROM contacts WHERE "{dim}" IS NOT NULL ORDER BY 1').fetchall()]
        return out

    values: dict[str, list[str]] = srv.warehouse.cached(("filter_values",), load)
    if who.user.role is Role.TEAM_LEAD and who.user.team:
        values = {**values, "team": [who.user.team]}
    return values


def _export(who: Principal, srv: Server, view: View, tables: list[dict[str, Any]], frames: dict[str, pd.DataFrame],
            fmt: str, key: str, name: str) -> Response:
    if key not in frames:
        raise HTTPException(status_code=404, detail="no such table")
    frame = frames[key]
    srv.security.audit("export", who.user.username, f"{name}:{key}.{fmt} ({len(frame)} rows)", None)
    return export_response(frame, fmt, f"cxkpi-{name}-{key}")


def export_response(frame: pd.DataFrame, fmt: str, stem: str) -> Response:
    """A table as a CSV or XLSX download."""
    if fmt == "csv":
        return Response(frame.to_csv(index=False), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'})
    if fmt == "xlsx":
        buf = io.BytesIO()
        out = frame.copy()
        for col in out.columns:
            if str(out[col].dtype) in ("Float64", "Int64"):
                out[col] = out[col].astype("float64")
        with pd.ExcelWriter(buf, engine="xlsxwriter") as xl:
            out.to_excel(xl, index=False, sheet_name="cxkpi")
        return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'})
    raise UserError("export formats: csv or xlsx")


def _maybe_export(request: Request, who: Principal, srv: Server, view: View, frames: dict[str, pd.DataFrame],
                  name: str) -> Response | None:
    fmt = request.query_params.get("export")
    if not fmt:
        return None
    return _export(who, srv, view, [], frames, fmt, request.query_params.get("table", ""), name)


# --- pages -----------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/", lang: str = "en", error: int = 0) -> Response:
    w = words(lang if lang in LANGS else "en")
    import secrets

    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    html = templates.get_template("login.html").render(w=w, next=_safe_next(next), token=token, error=bool(error),
                                                        lang=lang if lang in LANGS else "en")
    resp = HTMLResponse(html)
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=server(request).security.secure_cookies)
    return resp


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=2000)] = "/",
    srv: Server = Depends(server),
) -> Response:
    import hmac

    expected = request.cookies.get(LOGIN_COOKIE) or ""
    if not expected or not hmac.compare_digest(expected.encode(), csrf.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    opened = srv.security.login(request, username, password)
    if opened is None:
        return RedirectResponse(f"/login?error=1&next={_safe_next(next)}", status_code=303)
    sid, _ = opened
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax", secure=srv.security.secure_cookies,
                    max_age=8 * 3600)
    resp.delete_cookie(LOGIN_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)], who: Principal = Depends(page_caller),
           srv: Server = Depends(server)) -> Response:
    srv.security.check_csrf(request, who, csrf)
    srv.security.sessions.close(request.cookies.get(SESSION_COOKIE))
    srv.security.audit("logout", who.user.username, None, None)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.post("/settings/lang")
def settings_lang(request: Request, lang: Annotated[str, Form(pattern="^(en|fr)$")],
                  csrf: Annotated[str, Form(max_length=100)], who: Principal = Depends(page_caller),
                  srv: Server = Depends(server)) -> Response:
    """Store the user's language (the ``lang`` of the URL still wins for one page)."""
    srv.security.check_csrf(request, who, csrf)
    con = srv.warehouse.con.cursor()
    try:
        set_lang(con, who.user.username, lang)
    finally:
        con.close()
    return RedirectResponse(f"/?lang={lang}", status_code=303)


def _safe_next(target: str) -> str:
    """Only local paths after login (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.get("/")
def overview(request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    view = _view(request, who, srv)
    names = tuple(n for s in DIMENSIONS for n in s.kpis)
    if request.query_params.get("export"):
        current, _ = _figures(srv, who, view, names)
        return _maybe_export(request, who, srv, view, {"overview": current}, "overview") or HTMLResponse("")

    def build() -> list[dict[str, Any]]:
        current, series = _figures(srv, who, view, names)
        out = []
        for s in DIMENSIONS:
            cards = [_card(KPIS[n], view, current, series) for n in s.kpis if who.scope.kpi_allowed(KPIS[n])]
            if cards:
                out.append({"key": s.key, "title": s.title(view.lang), "cards": cards,
                            "href": f"/dimension/{s.key}?" + view.params()})
        return out

    sections = srv.warehouse.cached(("overview-cards", who.scope.rule, who.scope.tables, view.params()), build)
    return _render(request, who, view, "overview.html", "overview", NAV[0].title(view.lang), srv, sections=sections,
                   export={fmt: "?" + view.params(export=fmt, table="overview") for fmt in ("csv", "xlsx")})


@api_router.get("/overview", response_class=JSONResponse)
def overview_api(
    request: Request,
    grain: Annotated[str, Query(pattern="^(day|week|month|quarter|year|custom)$")] = "month",
    date_: Annotated[str | None, Query(alias="date", max_length=10, description="A day of the period (default: the latest data).")] = None,
    start: Annotated[str | None, Query(alias="from", max_length=10, description="First day of a custom range.")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10, description="Last day of a custom range.")] = None,
    channel: Annotated[str | None, Query(max_length=100)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    site: Annotated[str | None, Query(max_length=100)] = None,
    lang: Annotated[str, Query(pattern="^(en|fr)$")] = "en",
    who: Principal = Depends(caller),
    srv: Server = Depends(server),
) -> Response:
    """The overview page's figures: the five dimensions, each KPI's value, target, status and trend."""
    view = _view(request, who, srv)
    key = ("overview-json", who.scope.rule, who.scope.tables, view.params())
    body: bytes = srv.warehouse.cached(key, lambda: json.dumps(_overview(srv, who, view), default=str).encode())
    return Response(body, media_type="application/json")


def _overview(srv: Server, who: Principal, view: View) -> dict[str, Any]:
    names = tuple(n for s in DIMENSIONS for n in s.kpis)
    current, series = _figures(srv, who, view, names)
    row = records(current)[0] if len(current) else {}
    trend = records(series) if len(series) else []
    sections = []
    for s in DIMENSIONS:
        items = []
        for n in s.kpis:
            k = KPIS[n]
            if not who.scope.kpi_allowed(k):
                continue
            items.append({
                "name": n, "label": k.label(view.lang), "unit": k.unit.value, "direction": k.direction.value,
                "value": row.get(n), "target": row.get(f"{n}_target"), "status": row.get(f"{n}_status"),
                "available": n in current.columns,
                "trend": [{"period": r[PERIOD], "value": r.get(n)} for r in trend] if n in series.columns else [],
            })
        if items:
            sections.append({"key": s.key, "title": s.title(view.lang), "kpis": items})
    return {"period": {"grain": view.grain, "from": view.start.isoformat(), "to": view.end.isoformat(), "label": view.title(),
                       "trend_grain": view.trend_grain.value},
            "filters": {d: v[0] for d, v in view.filters.items()}, "sections": sections}


@router.get("/dimension/{key}")
def dimension(key: str, request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    if key not in DIMENSION_PAGES:
        raise HTTPException(status_code=404, detail="no such page")
    section = next(s for s in DIMENSIONS if s.key == key)
    view = _view(request, who, srv)
    return _trend_page(request, who, srv, view, key, section.title(view.lang), DIMENSION_PAGES[key])


def _trend_page(request: Request, who: Principal, srv: Server, view: View, key: str, title: str,
                names: tuple[str, ...], by_tables: tuple[str, ...] = ()) -> Response:
    current, series = _figures(srv, who, view, names)
    kpis = [KPIS[n] for n in names if who.scope.kpi_allowed(KPIS[n])]
    cards = [_card(k, view, current, series) for k in kpis]
    g = view.trend_grain
    chart_list = []
    if len(series):
        labels = [period_text(str(p), g, view.lang) for p in series[PERIOD]]
        for k in kpis:
            if k.name in series.columns:
                chart_list.append(charts.lines(k.label(view.lang), labels, {k.label(view.lang): [_num(v) for v in series[k.name]]},
                                               k.unit))
    tables = [_table("trend", words(view.lang)["trend"], series, kpis, (), view, grain=g)] if len(series) else []
    frames = {"trend": series, "period": current}
    for dim in by_tables:
        by_frame, _ = _figures(srv, who, view, names, by=(dim,), trend=False)
        frames[dim] = by_frame
        tables.append(_table(dim, words(view.lang).get(f"by_{dim}", dim), by_frame, kpis, (dim,), view))
    if (resp := _maybe_export(request, who, srv, view, frames, key)) is not None:
        return resp
    return _render(request, who, view, "page.html", key, title, srv, cards=cards, charts=chart_list, tables=tables)


def _comparison(request: Request, who: Principal, srv: Server, key: str, title_key: str, dims: tuple[str, ...],
                names: tuple[str, ...]) -> Response:
    view = _view(request, who, srv)
    kpis = [KPIS[n] for n in names if who.scope.kpi_allowed(KPIS[n])]
    tables, chart_list, frames = [], [], {}
    for dim in dims:
        frame, _ = _figures(srv, who, view, names, by=(dim,), trend=False)
        frames[dim] = frame
        tables.append(_table(dim, words(view.lang).get(f"by_{dim}", dim), frame, kpis, (dim,), view))
        if len(frame):
            labels = ["—" if v is None else str(v) for v in records(frame[[dim]]) and [r[dim] for r in records(frame[[dim]])]]
            for k in kpis[:4]:
                if k.name in frame.columns:
                    chart_list.append(charts.bars(f"{k.label(view.lang)} — {words(view.lang).get(dim, dim)}", labels,
                                                  [_num(v) for v in frame[k.name]], k.unit))
    if (resp := _maybe_export(request, who, srv, view, frames, key)) is not None:
        return resp
    return _render(request, who, view, "page.html", key, title_key, srv, cards=[], charts=chart_list, tables=tables)


@router.get("/channels")
def channels(request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    lang = request.query_params.get("lang") or who.user.lang
    return _comparison(request, who, srv, "channels", "Canaux" if lang == "fr" else "Channels", ("channel",), COMPARISON)


@router.get("/teams")
def teams(request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    lang = request.query_params.get("lang") or who.user.lang
    return _comparison(request, who, srv, "teams", "Équipes et sites" if lang == "fr" else "Teams & sites",
                       ("team", "site"), COMPARISON)


@router.get("/agents")
def agents(request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    if who.user.role is Role.AGENT:
        return RedirectResponse(f"/agents/{who.user.agent_id}?" + request.url.query, status_code=303)
    view = _view(request, who, srv)
    kpis = [KPIS[n] for n in AGENT_LIST if who.scope.kpi_allowed(KPIS[n])]
    frame, _ = _figures(srv, who, view, AGENT_LIST, by=("agent_id",), trend=False)
    frames = {"agents": frame}
    if (resp := _maybe_export(request, who, srv, view, frames, "agents")) is not None:
        return resp
    table = _table("agents", words(view.lang)["agents"], frame, kpis, ("agent_id",), view, link_agents=True)
    return _render(request, who, view, "page.html", "agents", words(view.lang)["agents"], srv, cards=[], charts=[],
                   tables=[table])


@router.get("/agents/{agent_id}")
def agent(agent_id: str, request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    if who.user.role is Role.AGENT and agent_id != who.user.agent_id:
        raise OutOfScope("another agent's figures are outside your scope")
    view = _view(request, who, srv)
    view = View(view.grain, view.anchor, view.start, view.end, view.trend_start, {**view.filters, "agent_id": (agent_id,)},
                view.lang, view.custom)
    title = f"{words(view.lang)['scorecard']} — {agent_id}"
    return _trend_page(request, who, srv, view, "agents", title, AGENT_CARD)


@router.get("/customers")
def customers(request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    view = _view(request, who, srv)
    return _trend_page(request, who, srv, view, "customers", "Expérience client" if view.lang == "fr" else "Customer experience",
                       CUSTOMER)


@router.get("/finance")
def finance(request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    view = _view(request, who, srv)
    return _trend_page(request, who, srv, view, "finance", "Finance", FINANCE)


@router.get("/kpi/{name}")
def definition(name: str, request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    if name not in KPIS:
        raise HTTPException(status_code=404, detail="no such KPI")
    k = KPIS[name]
    if not who.scope.kpi_allowed(k):
        raise OutOfScope(f"KPI {name} is outside your scope")
    view = _view(request, who, srv)
    with srv.warehouse.reader() as (engine, _):
        ex = explain(engine, name, KpiQuery(kpis=(name,), tz=srv.warehouse.reporting_tz()))
    return _render(request, who, view, "kpi.html", "", k.label(view.lang), srv, k=k, sql=ex.sql, params=ex.params)


@router.get("/drill/{name}")
def drill_page(
    name: str,
    request: Request,
    where: Annotated[list[str] | None, Query(max_length=20)] = None,
    period: Annotated[str | None, Query(max_length=20)] = None,
    drill_grain: Annotated[str | None, Query(pattern="^(day|week|month|quarter|year)$")] = None,
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
    who: Principal = Depends(page_caller),
    srv: Server = Depends(server),
) -> Response:
    """The rows behind a figure: the view's period (or one period of a trend) and group."""
    if name not in KPIS:
        raise HTTPException(status_code=404, detail="no such KPI")
    view = _view(request, who, srv)
    k = KPIS[name]
    from cxkpi.kpi.inspect import parse_where

    group = parse_where(list(where or []))
    filters = {d: v for d, v in view.filters.items() if d not in group}
    grain = Grain(drill_grain) if drill_grain and period else Grain.ALL
    q = KpiQuery(kpis=(name,), grain=grain, start=view.trend_start if grain is not Grain.ALL else view.start, end=view.end,
                 tz=srv.warehouse.reporting_tz(), filters={d: v for d, v in filters.items() if d in k.dimensions} or None)
    limit = EXPORT_ROWS if request.query_params.get("export") else DRILL_PAGE + 1  # one more: is there a next page
    offset = 0 if request.query_params.get("export") else page * DRILL_PAGE
    frame = drill_frame(srv.warehouse, who, name, group, period if grain is not Grain.ALL else None, q, limit, offset)
    if (resp := _maybe_export(request, who, srv, view, {"rows": frame}, f"drill-{name}")) is not None:
        return resp
    has_next = len(frame) > DRILL_PAGE and not request.query_params.get("export")
    frame = frame.iloc[:DRILL_PAGE] if has_next else frame
    cols = [c for c in frame.columns]
    rows = [[("" if v is None else str(v)) for v in r.values()] for r in records(frame)]
    base = {"where": list(where or []), "period": period, "drill_grain": drill_grain}
    def link(**extra: Any) -> str:
        qs = view.params() + "&" + urlencode({k2: v for k2, v in {**base, **extra}.items() if v is not None}, doseq=True)
        return f"/drill/{name}?{qs}"
    return _render(request, who, view, "drill.html", "", k.label(view.lang), srv, k=k, cols=cols, rows=rows,
                   group=group, period=period, page=page, has_next=has_next,
                   prev_link=link(page=page - 1) if page > 0 else None, next_link=link(page=page + 1),
                   export={fmt: link(export=fmt, table="rows") for fmt in ("csv", "xlsx")})
