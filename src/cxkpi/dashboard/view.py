"""What the reader picked (period, filters, language) and the figures of a page for it.

The period picker gives a grain and a day (the period containing it, with a trend of the
periods before) or a custom range; KPIs that a filter cannot split or that need a coarser
grain are left out of the frame that cannot hold them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import Request

from cxkpi.access.scope import Scope
from cxkpi.access.users import Role, User
from cxkpi.web.deps import Server
from cxkpi.kpi.periods import parse_date
from cxkpi.service.queries import kpi_frame, latest_day, period_range
from cxkpi.service.principal import Principal
from cxkpi.config import UserError
from cxkpi.dashboard.i18n import LANGS, date_text, period_from_date
from cxkpi.dashboard.pages import DIMENSIONS, FILTERS
from cxkpi.kpi.catalogue import KPIS
from cxkpi.kpi.query import GRAIN_ORDER, KpiQuery
from cxkpi.kpi.model import Grain, Kpi

TREND = {Grain.DAY: 14, Grain.WEEK: 12, Grain.MONTH: 12, Grain.QUARTER: 8, Grain.YEAR: 5}
GRAINS = ("day", "week", "month", "quarter", "year", "custom")


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
        base |= {k: v for k, v in changes.items() if v is not None}
        return urlencode(base)

    def title(self) -> str:
        if self.custom:
            return f"{date_text(self.start, self.lang)} – {date_text(self.end, self.lang)}"
        return period_from_date(self.start, Grain(self.grain), self.lang)


def view_of(request: Request, who: Principal, srv: Server) -> View:
    qp = request.query_params
    lang = qp.get("lang") or who.user.lang
    if lang not in LANGS:
        lang = "en"
    grain = qp.get("grain") or "month"
    if grain not in GRAINS:
        raise UserError(f"unknown grain {grain!r}")
    filters: dict[str, tuple[str, ...]] = {dim: (qp[dim],) for dim in FILTERS if qp.get(dim)}
    if grain == "custom":
        latest = latest_day(srv.warehouse)
        start = parse_date(qp.get("from"), "from") or latest - timedelta(days=27)
        end = parse_date(qp.get("to"), "to") or latest
        if start > end:
            raise UserError("the range starts after it ends")
        if (end - start).days > 3 * 366:
            raise UserError("a custom range spans three years at most")
        return View(grain, end, start, end, start, filters, lang, custom=True)
    anchor = parse_date(qp.get("date"), "date") or latest_day(srv.warehouse)
    g = Grain(grain)
    first, start, end = period_range(g, anchor, TREND[g])
    return View(grain, anchor, start, end, first, filters, lang)


def warm_overview(srv: Server, grains: tuple[str, ...] = ("month", "week", "day")) -> None:
    """Compute the default overviews of an unrestricted user ahead of the first request.

    Run in the background at start and after every import: the director's first page of
    the morning is then read from the cache (the results are per data version).
    """
    who = Principal(User("(warm-up)", Role.MANAGER, None, None, "en", datetime.now(UTC)), Scope(Role.MANAGER), None)
    names = tuple(n for s in DIMENSIONS for n in s.kpis)
    latest = latest_day(srv.warehouse)
    for grain in grains:
        g = Grain(grain)
        first, start, end = period_range(g, latest, TREND[g])
        figures(srv, who, View(grain, latest, start, end, first, {}, "en"), names)


def accepts(k: Kpi, dims: tuple[str, ...]) -> bool:
    return all(d in k.dimensions for d in dims)


def figures(srv: Server, who: Principal, view: View, names: tuple[str, ...], by: tuple[str, ...] = (),
             trend: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(current period, trend) frames for the KPIs of ``names`` the user and filters allow.

    KPIs that cannot be split by the filters or computed at the trend's grain are left out
    of the frame that cannot have them (the page shows them as not available).
    """
    allowed = [KPIS[n] for n in names if n in KPIS and who.scope.kpi_allowed(KPIS[n])]
    usable = [k for k in allowed if accepts(k, (*by, *view.filters))]
    current = run_kpis(srv, who, view, usable, by, Grain.ALL, view.start, view.end, targets=True)
    series = pd.DataFrame()
    if trend:
        g = view.trend_grain
        fine = [k for k in usable if GRAIN_ORDER.index(k.min_grain) <= GRAIN_ORDER.index(g)]
        start = view.start if view.custom else view.trend_start
        series = run_kpis(srv, who, view, fine, by, g, start, view.end, targets=False)
    return current, series


def run_kpis(srv: Server, who: Principal, view: View, kpis: list[Kpi], by: tuple[str, ...], grain: Grain,
         start: date, end: date, targets: bool) -> pd.DataFrame:
    if not kpis:
        return pd.DataFrame()
    tz = srv.warehouse.reporting_tz()
    q = KpiQuery(kpis=tuple(k.name for k in kpis), by=by, grain=grain, start=start, end=end, tz=tz,
                 calendar=srv.warehouse.calendar(tz), filters=dict(view.filters) or None)
    return kpi_frame(srv.warehouse, who, q, targets=targets)
