"""The dashboard in a real browser (Debian's chromium, driven by Playwright), checked against the engine.

One served demo warehouse and one browser for the module. Every figure read on a page is
compared with the text of ``format_value`` applied to the engine's own answer, computed by
``kpi.engine.compute`` on a read-only DuckDB connection (of a byte copy of the served file:
DuckDB refuses a read-only and a read-write connection to one file in the same process) and,
for some, with the REST API ``/api/kpis`` called with the browser's session.

The browser is ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it):
when it is missing the tests fail, unless ``CXKPI_SKIP_BROWSER=1`` is set. The last test
takes a screenshot of the overview into its ``tmp_path``: the tests never write into the
source tree. With ``CXKPI_UPDATE_SCREENSHOTS=1`` it also replaces ``docs/img/overview.png``,
the screenshot the README shows (``CXKPI_UPDATE_SCREENSHOTS=1 pytest tests/test_web_e2e.py
-k screenshot``).
"""

from __future__ import annotations

import calendar as months
import csv
import io
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

from cxkpi.kpi.calendar import parse_calendar
from cxkpi.kpi.catalogue import KPIS
from cxkpi.kpi.engine import PERIOD, KpiQuery, compute
from cxkpi.kpi.format import format_value
from cxkpi.kpi.model import Grain, Unit
from cxkpi.warehouse.engines import duckdb_engine
from cxkpi.warehouse.inspect import config_value
from web_support import PASSWORD, LiveServer, WebWarehouse, build_web_warehouse

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
README_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "img" / "overview.png"
UPDATE_SCREENSHOTS = os.environ.get("CXKPI_UPDATE_SCREENSHOTS") == "1"  # opt-in: rewrite README_SCREENSHOT
TIMEOUT_MS = 20_000
FRENCH_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                 "novembre", "décembre")


# --- the engine's answers ------------------------------------------------------------------------


class Oracle:
    """The engine on a read-only connection, with the warehouse's reporting time zone and calendar."""

    def __init__(self, path: Path) -> None:
        self.con = duckdb.connect(str(path), read_only=True)
        self.con.execute("SET TimeZone = 'UTC'")
        self.tz = config_value(self.con, "reporting_tz") or "UTC"
        cal = config_value(self.con, "calendar")
        self.calendar = parse_calendar(cal, self.tz, "warehouse calendar") if cal else None
        self.engine = duckdb_engine(self.con)

    def close(self) -> None:
        self.con.close()

    def latest_day(self) -> date:
        """The local day of the latest contact: the dashboard's default period contains it."""
        latest = self.con.execute("SELECT max(created_at) FROM contacts").fetchall()[0][0]
        day: date = latest.astimezone(ZoneInfo(self.tz)).date()
        return day

    def frame(self, kpis: tuple[str, ...], start: date, end: date, *, grain: Grain = Grain.ALL,
              filters: dict[str, tuple[str, ...]] | None = None,
              scope: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> pd.DataFrame:
        q = KpiQuery(kpis=kpis, grain=grain, start=start, end=end, tz=self.tz, calendar=self.calendar,
                     filters=filters or None, scope=scope)
        return compute(self.engine, q)

    def values(self, kpis: tuple[str, ...], start: date, end: date, **kw: Any) -> dict[str, float | None]:
        frame = self.frame(kpis, start, end, **kw)
        assert len(frame) <= 1, frame
        row = frame.iloc[0].to_dict() if len(frame) else {}
        return {k: number(row.get(k)) for k in kpis}

    def value(self, kpi: str, start: date, end: date, **kw: Any) -> float | None:
        return self.values((kpi,), start, end, **kw)[kpi]


def number(v: Any) -> float | None:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    return float(v)


def shown(kpi: str, value: float | None, lang: str = "en") -> str:
    """The text a card shows for ``value`` (an em dash for no value)."""
    return "—" if value is None else format_value(value, KPIS[kpi].unit, lang)


def month_of(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=months.monthrange(day.year, day.month)[1])


def week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def months_back(day: date, n: int) -> date:
    m = day.year * 12 + day.month - 1 - n
    return date(m // 12, m % 12 + 1, 15)


# --- the served warehouse and the browser -------------------------------------------------------


@dataclass(frozen=True)
class Site:
    url: str
    web: WebWarehouse
    oracle: Oracle
    latest: date  # the local day of the latest contact

    def default_period(self) -> tuple[date, date]:
        return month_of(self.latest)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CXKPI_SKIP_BROWSER") == "1":
            pytest.skip(f"{CHROMIUM} is missing and CXKPI_SKIP_BROWSER=1")
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}: run `apt-get install -y chromium` "
                    "(as root), or set CXKPI_SKIP_BROWSER=1 to skip them", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web_e2e")
    web = build_web_warehouse(folder / "web.duckdb")
    shutil.copyfile(web.path, folder / "oracle.duckdb")  # closed and checkpointed: the same bytes
    oracle = Oracle(folder / "oracle.duckdb")
    try:
        with LiveServer(web.path) as server:
            yield Site(server.url, web, oracle, oracle.latest_day())
    finally:
        oracle.close()


def _login(context: BrowserContext, site: Site, username: str) -> None:
    page = context.new_page()
    try:
        page.goto(site.url + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_url(site.url + "/")
    finally:
        page.close()


@pytest.fixture(scope="module")
def manager_context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    _login(context, site, "manager")
    yield context
    context.close()


def watch(page: Page) -> list[str]:
    """The script errors of ``page``, as they come (none is expected on any page)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def overview_page(context: BrowserContext, site: Site) -> Iterator[Page]:
    """A new page on the overview; closing it fails the test if the browser reported errors."""
    page = context.new_page()
    errors = watch(page)
    page.goto(site.url + "/")
    yield page
    page.close()
    assert not errors, f"errors in the browser: {errors}"


@pytest.fixture(scope="module")
def overview(manager_context: BrowserContext, site: Site) -> Iterator[Page]:
    """The manager's overview (default period, no filter, English), loaded once; tests must not navigate it."""
    yield from overview_page(manager_context, site)


@pytest.fixture
def manager(manager_context: BrowserContext, site: Site) -> Iterator[Page]:
    """A fresh page of the manager on the overview, to navigate from."""
    yield from overview_page(manager_context, site)


def card(page: Page, kpi: str) -> str:
    return page.locator(f'.card[data-kpi="{kpi}"] a.figure').inner_text().strip()


def cards(page: Page) -> dict[str, str]:
    """Every card of the page: KPI name -> the figure's text (an em dash when there is none)."""
    found: list[list[str]] = page.eval_on_selector_all(
        ".card[data-kpi]", "cs => cs.map(c => [c.dataset.kpi, c.querySelector('.value').textContent.trim()])")
    return {k: v for k, v in found}


def apply(page: Page, in_url: Callable[[str], bool]) -> None:
    """Submit the period picker and wait for the page it asks for."""
    page.click("#apply")
    page.wait_for_url(in_url)


def api_values(page: Page, site: Site, kpis: tuple[str, ...], start: date, end: date,
               where: str | None = None) -> dict[str, Any]:
    """``/api/kpis`` called with the page's session (so within the user's scope)."""
    params: list[tuple[str, str]] = [("kpi", k) for k in kpis] + [("from", start.isoformat()), ("to", end.isoformat())]
    if where:
        params.append(("where", where))
    answer = page.request.get(f"{site.url}/api/kpis?{urlencode(params)}")
    assert answer.status == 200, answer.text()
    rows = answer.json()["rows"]
    assert len(rows) == 1, rows
    return dict(rows[0])


def download_text(page: Page, selector: str) -> tuple[str, str]:
    """(file name, text) of the download a click on ``selector`` starts."""
    with page.expect_download() as info:
        page.click(selector)
    download = info.value
    path = download.path()
    assert path is not None and download.failure() is None, download.failure()
    return download.suggested_filename, Path(path).read_text(encoding="utf-8")


# --- scenarios -----------------------------------------------------------------------------------


def test_overview_figures_are_the_engines(overview: Page, site: Site) -> None:
    manager = overview
    start, end = site.default_period()
    assert manager.inner_text("#period-title") == f"{months.month_name[start.month]} {start.year}"
    assert manager.input_value("#grain") == "month" and manager.input_value("#date") == site.latest.isoformat()
    shown_cards = cards(manager)
    assert "service_level" in shown_cards and len(shown_cards) >= 15, shown_cards
    assert manager.locator("#dim-handling .card[data-kpi=service_level]").count() == 1
    expected = site.oracle.values(tuple(shown_cards), start, end)
    assert card(manager, "service_level") == shown("service_level", expected["service_level"])
    assert expected["service_level"] is not None and "%" in card(manager, "service_level")
    assert shown_cards == {k: shown(k, v) for k, v in expected.items()}
    api = api_values(manager, site, ("service_level", "contacts_offered", "aht"), start, end)
    for k in ("service_level", "contacts_offered", "aht"):
        assert api[k] == pytest.approx(expected[k], rel=1e-12)


def test_period_picker_changes_the_figures(manager: Page, site: Site) -> None:
    default = card(manager, "service_level")
    # another month, one whose service level reads differently from the default month's
    for back in range(1, 12):
        day = months_back(site.latest, back)
        start, end = month_of(day)
        value = site.oracle.value("service_level", start, end)
        if shown("service_level", value) != default:
            break
    else:
        pytest.fail("every month shows the same service level")
    manager.select_option("#grain", "month")
    manager.fill("#date", day.isoformat())
    apply(manager, lambda url: f"date={day.isoformat()}" in url)
    assert manager.inner_text("#period-title") == f"{months.month_name[start.month]} {start.year}"
    assert card(manager, "service_level") == shown("service_level", value) != default
    assert card(manager, "contacts_offered") == shown("contacts_offered", site.oracle.value("contacts_offered", start, end))

    # a week (ISO, Monday to Sunday)
    day = site.latest - timedelta(days=10)
    start, end = week_of(day)
    manager.select_option("#grain", "week")
    manager.fill("#date", day.isoformat())
    apply(manager, lambda url: "grain=week" in url and f"date={day.isoformat()}" in url)
    iso = start.isocalendar()
    assert manager.inner_text("#period-title") == f"W{iso.week:02d} {iso.year}"
    expected = site.oracle.values(("service_level", "contacts_offered", "aht"), start, end)
    for k, v in expected.items():
        assert card(manager, k) == shown(k, v), k


def test_channel_filter(manager: Page, site: Site) -> None:
    start, end = site.default_period()
    options = manager.eval_on_selector_all("#filter-channel option", "os => os.map(o => o.value)")
    assert "phone" in options and "" in options, options
    manager.select_option("#filter-channel", "phone")
    apply(manager, lambda url: "channel=phone" in url)
    assert manager.input_value("#filter-channel") == "phone"
    phone = {"channel": ("phone",)}
    names = ("service_level", "contacts_offered", "abandon_rate", "asa")
    expected = site.oracle.values(names, start, end, filters=phone)
    for k in names:
        assert card(manager, k) == shown(k, expected[k]), k
    assert expected["contacts_offered"] != site.oracle.value("contacts_offered", start, end)  # the filter bites
    api = api_values(manager, site, ("service_level",), start, end, where="channel=phone")
    assert api["service_level"] == pytest.approx(expected["service_level"], rel=1e-12)


def _drill_day(site: Site) -> tuple[date, dict[str, float]]:
    """A busy day of the default month whose phone contacts still fit on one drill page (50 rows),
    preferably one with unanswered contacts (so that the rows and the figure differ)."""
    start, end = site.default_period()
    frame = site.oracle.frame(("contacts_offered", "contacts_answered"), start, end, grain=Grain.DAY,
                              filters={"channel": ("phone",)})
    days: list[tuple[tuple[bool, float], date, dict[str, float]]] = []
    for rec in frame.to_dict("records"):
        offered, answered = number(rec["contacts_offered"]), number(rec["contacts_answered"])
        if offered is not None and answered is not None and 5 <= offered <= 40:  # room left for outbound rows
            days.append(((answered < offered, offered), date.fromisoformat(str(rec[PERIOD])[:10]),
                         {"offered": offered, "answered": answered}))
    assert days, frame
    _, day, counts = max(days, key=lambda d: d[0])
    return day, counts


def test_drill_rows_and_csv_export(manager: Page, site: Site) -> None:
    day, counts = _drill_day(site)
    manager.select_option("#grain", "custom")
    assert manager.is_enabled("#from") and manager.is_disabled("#date")  # app.js keeps the fields consistent
    manager.fill("#from", day.isoformat())
    manager.fill("#to", day.isoformat())
    manager.select_option("#filter-channel", "phone")
    apply(manager, lambda url: "grain=custom" in url and f"from={day.isoformat()}" in url and "channel=phone" in url)
    answered = site.oracle.value("contacts_answered", day, day, filters={"channel": ("phone",)})
    assert answered == counts["answered"]
    assert card(manager, "contacts_answered") == shown("contacts_answered", answered)
    assert card(manager, "contacts_offered") == shown("contacts_offered", counts["offered"])

    manager.click('.card[data-kpi="contacts_answered"] a.figure')
    manager.wait_for_url(lambda url: "/drill/contacts_answered?" in url)
    assert manager.inner_text("h1") == KPIS["contacts_answered"].label("en")
    table: list[list[str]] = manager.eval_on_selector(
        "#drill-rows", "t => [...t.rows].map(r => [...r.cells].map(c => c.textContent))")
    head, rows = table[0], table[1:]
    assert manager.locator(".pager a").count() == 0  # one page
    # the drill lists the source rows behind the figure (every phone contact of the day) with
    # the flags saying how each counts: those answered make the figure
    col = {name: i for i, name in enumerate(head)}
    assert {"contact_id", "channel", "created_at", "_answered", "_offered"} <= col.keys(), head
    assert {r[col["channel"]] for r in rows} == {"phone"}
    zone = ZoneInfo(site.oracle.tz)
    assert {pd.Timestamp(r[col["created_at"]]).tz_convert(zone).date() for r in rows} == {day}
    assert sum(r[col["_answered"]] == "True" for r in rows) == answered
    assert sum(r[col["_offered"]] == "True" for r in rows) == counts["offered"]

    # the drill's CSV: the same rows, all of them
    name, text = download_text(manager, "#export-csv")
    assert name == "cxkpi-drill-contacts_answered-rows.csv"
    exported = list(csv.DictReader(io.StringIO(text)))
    assert len(exported) == len(rows)
    assert sorted(r["contact_id"] for r in exported) == sorted(r[col["contact_id"]] for r in rows)
    assert sum(r["_answered"] == "True" for r in exported) == answered


def test_overview_exports(overview: Page, site: Site) -> None:
    manager = overview
    start, end = site.default_period()
    name, text = download_text(manager, "#export-csv")
    assert name == "cxkpi-overview-overview.csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1, text
    names = tuple(k for k in cards(manager) if k in rows[0])
    assert {"service_level", "contacts_offered", "aht", "fcr"} <= set(names), rows[0].keys()
    expected = site.oracle.values(names, start, end)
    for k in names:
        got = rows[0][k]
        if expected[k] is None:
            assert got == "", k
        else:
            assert float(got) == pytest.approx(expected[k], rel=1e-9), k

    import openpyxl

    with manager.expect_download() as info:
        manager.click("#export-xlsx")
    path = info.value.path()
    assert path is not None and info.value.suggested_filename == "cxkpi-overview-overview.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True)
    try:
        sheet = [list(r) for r in book["cxkpi"].iter_rows(values_only=True)]
    finally:
        book.close()
    assert len(sheet) == 2
    xl = dict(zip(sheet[0], sheet[1]))
    assert xl["service_level"] == pytest.approx(expected["service_level"], rel=1e-9)
    assert xl["contacts_offered"] == expected["contacts_offered"]


def test_agent_sees_own_figures_in_french(browser: Browser, site: Site) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale="fr-FR")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        _login(context, site, "agent")
        page = context.new_page()
        page.goto(site.url + "/")
        assert page.get_attribute("html", "lang") == "fr"
        assert page.inner_text("#logout") == "Se déconnecter"
        assert page.inner_text("#apply") == "Appliquer"
        start, end = site.default_period()
        assert page.inner_text("#period-title") == f"{FRENCH_MONTHS[start.month - 1]} {start.year}"
        shown_cards = cards(page)
        scope = (("agent_id", (site.web.agent_id,)),)
        expected = site.oracle.values(tuple(shown_cards), start, end, scope=scope)
        assert shown_cards == {k: shown(k, v, "fr") for k, v in expected.items()}
        # French numbers: a decimal comma and a space before the percent sign
        rates = [k for k, v in expected.items() if v is not None and KPIS[k].unit is Unit.RATE]
        assert rates
        for k in rates:
            assert re.fullmatch(r"\d{1,3},\d[\u00a0\u202f]%", shown_cards[k]), (k, shown_cards[k])
        assert shown_cards["contacts_answered"] == shown("contacts_answered", expected["contacts_answered"], "fr")
        # the agent's API answers are the engine's within the same scope
        api = api_values(page, site, ("contacts_answered", "aht"), start, end)
        assert api["contacts_answered"] == expected["contacts_answered"]
        assert api["aht"] == pytest.approx(expected["aht"], rel=1e-12)
        # their own scorecard opens; another agent's does not
        own = page.goto(f"{site.url}/agents/{site.web.agent_id}")
        assert own is not None and own.status == 200
        assert site.web.agent_id in page.inner_text("h1")
        other = page.goto(f"{site.url}/agents/{site.web.other_agent}")
        assert other is not None and other.status == 403
    finally:
        context.close()


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, from its IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", head
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_overview_screenshot(overview: Page, site: Site, tmp_path: Path) -> None:
    """The manager's overview drawn in full (sparklines included), as the README shows it:
    taken into ``tmp_path``, copied over ``docs/img/overview.png`` only when asked to
    (``CXKPI_UPDATE_SCREENSHOTS=1``)."""
    manager = overview
    assert manager.url == site.url + "/"
    manager.set_viewport_size(VIEWPORT)
    sparks = manager.locator(".card .chart.spark")
    assert sparks.count() >= 15
    manager.wait_for_function(
        "() => [...document.querySelectorAll('.chart.spark')].every(e => e.querySelector('svg.main-svg .scatterlayer .trace'))")
    boxes = manager.eval_on_selector_all(".chart.spark", "es => es.map(e => e.getBoundingClientRect().height)")
    assert all(h > 20 for h in boxes), boxes
    width = manager.evaluate("() => document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"the page is wider than the window: {width}px"
    assert manager.locator("#export-csv").count() == 1
    manager.mouse.move(VIEWPORT["width"] // 2, 150)  # off the links the other tests clicked (no hover style)
    height = manager.evaluate("() => document.documentElement.scrollHeight")
    shot = tmp_path / "overview.png"
    manager.screenshot(path=str(shot), full_page=True)
    assert png_size(shot) == (VIEWPORT["width"], height)  # the whole page, no wider than the window
    if UPDATE_SCREENSHOTS:
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        partial = README_SCREENSHOT.with_name(README_SCREENSHOT.stem + ".part.png")  # the file appears whole
        shutil.copyfile(shot, partial)
        os.replace(partial, README_SCREENSHOT)
