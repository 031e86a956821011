"""The dashboard's pages: server-rendered, every figure from the engine, within the user's scope.

Each page reads its KPI names from ``dashboard.pages`` and their labels, units and
directions from the catalogue; numbers go through the same query layer as the API
(``api.queries``), so a page, its export and ``/api/kpis`` agree.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from cxkpi.access.scope import OutOfScope
from cxkpi.access.users import Role
from cxkpi.web.deps import Server, caller, page_caller, server
from cxkpi.service.queries import drill_frame
from cxkpi.service.principal import Principal
from cxkpi.web.security import SESSION_COOKIE
from cxkpi.dashboard import charts
from cxkpi.dashboard.i18n import LANGS, period_text, words
from cxkpi.dashboard.pages import (
    AGENT_CARD, AGENT_LIST, COMPARISON, CUSTOMER, DIMENSION_PAGES, DIMENSIONS, FILTERS, FINANCE, NAV,
)
from cxkpi.dashboard.templates_env import PLOTLY_JS, STATIC_DIR, templates
from cxkpi.dashboard.view import GRAINS, View, figures, view_of, warm_overview
from cxkpi.dashboard.widgets import card, export_response, number, table
from cxkpi.kpi.catalogue import KPIS
from cxkpi.kpi.query import PERIOD, KpiQuery
from cxkpi.kpi.inspect import explain, parse_where
from cxkpi.kpi.model import Grain
from cxkpi.kpi.output import records
from cxkpi.warehouse.inspect import distinct_values

DRILL_PAGE = 50
EXPORT_ROWS = 10_000
__all__ = ["PLOTLY_JS", "STATIC_DIR", "api_router", "router", "warm_overview"]  # what the app mounts

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"])






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
                out[dim] = distinct_values(cur, "contacts", dim)
        return out

    values: dict[str, list[str]] = srv.warehouse.cached(("filter_values",), load)
    if who.user.role is Role.TEAM_LEAD and who.user.team:
        values = {**values, "team": [who.user.team]}
    return values


def _maybe_export(request: Request, who: Principal, srv: Server, frames: dict[str, pd.DataFrame],
                  name: str) -> Response | None:
    """The page's table ``?table=`` as ``?export=csv|xlsx`` (audited); None when no export is asked."""
    fmt = request.query_params.get("export")
    if not fmt:
        return None
    key = request.query_params.get("table", "")
    if key not in frames:
        raise HTTPException(status_code=404, detail="no such table")
    frame = frames[key]
    srv.security.audit("export", who.user.username, f"{name}:{key}.{fmt} ({len(frame)} rows)", None)
    return export_response(frame, fmt, f"cxkpi-{name}-{key}", tz=srv.warehouse.reporting_tz())


@router.get("/")
def overview(request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    view = view_of(request, who, srv)
    names = tuple(n for s in DIMENSIONS for n in s.kpis)
    if request.query_params.get("export"):
        current, _ = figures(srv, who, view, names)
        exported = _maybe_export(request, who, srv, {"overview": current}, "overview")
        assert exported is not None  # an export was asked for
        return exported

    def build() -> list[dict[str, Any]]:
        current, series = figures(srv, who, view, names)
        out = []
        for s in DIMENSIONS:
            cards = [card(KPIS[n], view, current, series) for n in s.kpis if who.scope.kpi_allowed(KPIS[n])]
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
    view = view_of(request, who, srv)
    key = ("overview-json", who.scope.rule, who.scope.tables, view.params())
    body: bytes = srv.warehouse.cached(key, lambda: json.dumps(_overview(srv, who, view), default=str).encode())
    return Response(body, media_type="application/json")


def _overview(srv: Server, who: Principal, view: View) -> dict[str, Any]:
    names = tuple(n for s in DIMENSIONS for n in s.kpis)
    current, series = figures(srv, who, view, names)
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
    view = view_of(request, who, srv)
    return _trend_page(request, who, srv, view, key, section.title(view.lang), DIMENSION_PAGES[key])


def _trend_page(request: Request, who: Principal, srv: Server, view: View, key: str, title: str,
                names: tuple[str, ...], by_tables: tuple[str, ...] = ()) -> Response:
    current, series = figures(srv, who, view, names)
    kpis = [KPIS[n] for n in names if who.scope.kpi_allowed(KPIS[n])]
    cards = [card(k, view, current, series) for k in kpis]
    g = view.trend_grain
    chart_list = []
    if len(series):
        labels = [period_text(str(p), g, view.lang) for p in series[PERIOD]]
        for k in kpis:
            if k.name in series.columns:
                chart_list.append(charts.lines(k.label(view.lang), labels, {k.label(view.lang): [number(v) for v in series[k.name]]},
                                               k.unit))
    tables = [table("trend", words(view.lang)["trend"], series, kpis, (), view, grain=g)] if len(series) else []
    frames = {"trend": series, "period": current}
    for dim in by_tables:
        by_frame, _ = figures(srv, who, view, names, by=(dim,), trend=False)
        frames[dim] = by_frame
        tables.append(table(dim, words(view.lang).get(f"by_{dim}", dim), by_frame, kpis, (dim,), view))
    if (resp := _maybe_export(request, who, srv, frames, key)) is not None:
        return resp
    return _render(request, who, view, "page.html", key, title, srv, cards=cards, charts=chart_list, tables=tables)


def _comparison(request: Request, who: Principal, srv: Server, key: str, title_key: str, dims: tuple[str, ...],
                names: tuple[str, ...]) -> Response:
    view = view_of(request, who, srv)
    kpis = [KPIS[n] for n in names if who.scope.kpi_allowed(KPIS[n])]
    tables, chart_list, frames = [], [], {}
    for dim in dims:
        frame, _ = figures(srv, who, view, names, by=(dim,), trend=False)
        frames[dim] = frame
        tables.append(table(dim, words(view.lang).get(f"by_{dim}", dim), frame, kpis, (dim,), view))
        if len(frame):
            labels = ["—" if r[dim] is None else str(r[dim]) for r in records(frame[[dim]])]
            for k in kpis[:4]:
                if k.name in frame.columns:
                    chart_list.append(charts.bars(f"{k.label(view.lang)} — {words(view.lang).get(dim, dim)}", labels,
                                                  [number(v) for v in frame[k.name]], k.unit))
    if (resp := _maybe_export(request, who, srv, frames, key)) is not None:
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
    view = view_of(request, who, srv)
    kpis = [KPIS[n] for n in AGENT_LIST if who.scope.kpi_allowed(KPIS[n])]
    frame, _ = figures(srv, who, view, AGENT_LIST, by=("agent_id",), trend=False)
    frames = {"agents": frame}
    if (resp := _maybe_export(request, who, srv, frames, "agents")) is not None:
        return resp
    listing = table("agents", words(view.lang)["agents"], frame, kpis, ("agent_id",), view, link_agents=True)
    return _render(request, who, view, "page.html", "agents", words(view.lang)["agents"], srv, cards=[], charts=[],
                   tables=[listing])


@router.get("/agents/{agent_id}")
def agent(agent_id: str, request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    if who.user.role is Role.AGENT and agent_id != who.user.agent_id:
        raise OutOfScope("another agent's figures are outside your scope")
    view = view_of(request, who, srv)
    view = View(view.grain, view.anchor, view.start, view.end, view.trend_start, {**view.filters, "agent_id": (agent_id,)},
                view.lang, view.custom)
    title = f"{words(view.lang)['scorecard']} — {agent_id}"
    return _trend_page(request, who, srv, view, "agents", title, AGENT_CARD)


@router.get("/customers")
def customers(request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    view = view_of(request, who, srv)
    return _trend_page(request, who, srv, view, "customers", "Expérience client" if view.lang == "fr" else "Customer experience",
                       CUSTOMER)


@router.get("/finance")
def finance(request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    view = view_of(request, who, srv)
    return _trend_page(request, who, srv, view, "finance", "Finance", FINANCE)


@router.get("/kpi/{name}")
def definition(name: str, request: Request, who: Principal = Depends(page_caller), srv: Server = Depends(server)) -> Response:
    if name not in KPIS:
        raise HTTPException(status_code=404, detail="no such KPI")
    k = KPIS[name]
    if not who.scope.kpi_allowed(k):
        raise OutOfScope(f"KPI {name} is outside your scope")
    view = view_of(request, who, srv)
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
    view = view_of(request, who, srv)
    k = KPIS[name]
    group = parse_where(list(where or []))
    filters = {d: v for d, v in view.filters.items() if d not in group}
    grain = Grain(drill_grain) if drill_grain and period else Grain.ALL
    q = KpiQuery(kpis=(name,), grain=grain, start=view.trend_start if grain is not Grain.ALL else view.start, end=view.end,
                 tz=srv.warehouse.reporting_tz(), filters={d: v for d, v in filters.items() if d in k.dimensions} or None)
    limit = EXPORT_ROWS if request.query_params.get("export") else DRILL_PAGE + 1  # one more: is there a next page
    offset = 0 if request.query_params.get("export") else page * DRILL_PAGE
    frame = drill_frame(srv.warehouse, who, name, group, period if grain is not Grain.ALL else None, q, limit, offset)
    if (resp := _maybe_export(request, who, srv, {"rows": frame}, f"drill-{name}")) is not None:
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
