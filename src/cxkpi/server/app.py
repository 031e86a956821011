"""The one process of ``cxkpi serve``: the REST API and the dashboard over one warehouse.

Errors never leak internals: a user mistake is a 400 with its one-line message, a scope
violation a 403, anything unexpected a bare 500 (the details go to the server's log).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from cxkpi import __version__
from cxkpi.access.scope import OutOfScope
from cxkpi.web.deps import LoginRequired, Server
from cxkpi.api.routes import router
from cxkpi.service.runtime import Warehouse
from cxkpi.web.security import Security
from cxkpi.config import UserError
from cxkpi.ingest import ReadOptions

log = logging.getLogger("cxkpi.serve")
CONTROL_HEADER = "x-cxkpi-control"


class LocalImport(BaseModel):
    table: str
    path: str
    mapping: str | None = None
    source_tz: str | None = None
    rejects_dir: str | None = None
    options: dict[str, str] = {}


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def create_app(db: Path, secure_cookies: bool = True, warehouse: Warehouse | None = None, warm: bool = False) -> FastAPI:
    """The ASGI application serving ``db`` (opened now, closed at shutdown).

    ``warm``: compute the default overviews in the background at start and after imports.
    """
    from cxkpi.dashboard.login import router as login_pages
    from cxkpi.dashboard.views import PLOTLY_JS, STATIC_DIR, api_router as overview_api, router as pages, warm_overview

    wh = warehouse or Warehouse(db)
    srv = Server(warehouse=wh, security=Security(wh, secure_cookies=secure_cookies))
    if warm:
        srv.after_change.append(lambda: warm_overview(srv))
        srv.changed()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        wh.unpublish()  # here: uvicorn ends the process by re-raising the stop signal after shutdown
        wh.close()

    app = FastAPI(
        title="cxkpi",
        version=__version__,
        description="Customer-service KPIs: the catalogue, figures by dimension and period, targets, imports, rejects.",
        lifespan=lifespan,
    )
    app.state.server = srv
    app.include_router(router)
    app.include_router(overview_api)
    app.include_router(login_pages)
    app.include_router(pages)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return Response(PLOTLY_JS.read_bytes(), media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        path = STATIC_DIR / name
        if "/" in name or not path.is_file():
            raise HTTPException(status_code=404, detail="not found")
        media = "text/css" if name.endswith(".css") else "application/javascript"
        return Response(path.read_bytes(), media_type=media, headers={"Cache-Control": "public, max-age=3600"})

    @app.post("/api/control/import", include_in_schema=False)
    def control_import(body: LocalImport, request: Request) -> dict[str, Any]:
        """An import handed over by ``cxkpi import`` on this machine (the control file's secret)."""
        given = request.headers.get(CONTROL_HEADER, "")
        if not hmac.compare_digest(given.encode(), wh.control_secret.encode()):
            raise HTTPException(status_code=403, detail="forbidden")
        report = srv.run_import(body.table, Path(body.path), body.mapping, body.source_tz,
                                Path(body.rejects_dir) if body.rejects_dir else None, ReadOptions(**body.options),
                                mapping_files=True)
        srv.security.audit("import", None, f"{body.table} {body.path} (command line)", "local")
        return report

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        return error_response(request, 400, str(exc))

    @app.exception_handler(OutOfScope)
    async def out_of_scope(request: Request, exc: OutOfScope) -> Response:
        return error_response(request, 403, str(exc))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()[:5])
        return JSONResponse({"detail": f"invalid request: {problems}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal error")

    return app


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """JSON ``{"detail": ...}`` for the API; a small page in the reader's language for browsers."""
    if request.url.path.startswith("/api") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    from cxkpi.dashboard.i18n import words
    from cxkpi.dashboard.templates_env import templates

    lang = request.query_params.get("lang", "en")
    w = words(lang)
    title = {403: w["out_of_scope"], 404: w["not_found"]}.get(status, w["error"] if status >= 500 else "")
    html = templates.get_template("error.html").render(lang=lang, status=status, title=title,
                                                       message=message if status < 500 else "")
    return HTMLResponse(html, status_code=status, headers=headers)


def serve(db: Path, host: str, port: int) -> None:
    """Run the server until interrupted; publish the control file while it runs."""
    import uvicorn

    wh = Warehouse(db)
    app = create_app(db, secure_cookies=not is_loopback(host), warehouse=wh, warm=True)
    wh.publish(f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        wh.unpublish()
