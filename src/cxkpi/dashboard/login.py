"""Logging in and out, and the user's language: the only forms of the dashboard.

The login form carries a double-submit CSRF token (a cookie and a field) since no session
exists yet; the others carry the session's own token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxkpi.access.users import set_lang
from cxkpi.web.deps import Server, page_caller, server
from cxkpi.service.principal import Principal
from cxkpi.web.security import LOGIN_COOKIE, SESSION_COOKIE
from cxkpi.dashboard.i18n import LANGS, words
from cxkpi.dashboard.templates_env import templates

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_form(request: Request, next: str = "/", lang: str = "en", error: int = 0) -> Response:
    w = words(lang if lang in LANGS else "en")
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
