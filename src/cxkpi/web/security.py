"""Who is asking: login sessions (cookies, CSRF), API tokens, the login rate limit, audit.

Browsers log in with a form and get an opaque session id in an HttpOnly, SameSite=Lax
cookie (Secure unless the server listens on loopback over plain HTTP); every form and
every state-changing call made with that cookie must carry the session's CSRF token.
Programs send ``Authorization: Bearer cxk_...`` (``cxkpi token add``) and need no CSRF
token since no browser sends it on its own. Sessions live in the server's memory: a
restart logs everyone out, which is the safe failure.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from cxkpi.access.audit import record
from cxkpi.access.ratelimit import LoginLimiter
from cxkpi.access.scope import scope_of
from cxkpi.access.tokens import user_for_token
from cxkpi.access.users import User, authenticate, get_user
from cxkpi.service.principal import Principal
from cxkpi.service.runtime import Warehouse
from cxkpi.warehouse.inspect import agents_of_team

SESSION_COOKIE = "cxkpi_session"
LOGIN_COOKIE = "cxkpi_login"  # double-submit token of the login form (no session yet)
CSRF_HEADER = "x-csrf-token"
IDLE_S = 8 * 3600.0


@dataclass
class Session:
    username: str
    csrf: str
    seen: float


class Sessions:
    """Opaque session ids to users, expiring after ``IDLE_S`` of inactivity."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Session] = {}
        self._clock = clock

    def open(self, username: str) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        s = Session(username=username, csrf=secrets.token_urlsafe(32), seen=self._clock())
        with self._lock:
            now = self._clock()
            for key in [k for k, v in self._items.items() if now - v.seen > IDLE_S]:
                del self._items[key]
            self._items[sid] = s
        return sid, s

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            s = self._items.get(sid)
            if s is None:
                return None
            now = self._clock()
            if now - s.seen > IDLE_S:
                del self._items[sid]
                return None
            s.seen = now
            return s

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._items.pop(sid or "", None)

    def close_user(self, username: str) -> None:
        with self._lock:
            for key in [k for k, v in self._items.items() if v.username == username]:
                del self._items[key]


class Security:
    """Authentication and scoping for one served warehouse."""

    def __init__(self, warehouse: Warehouse, secure_cookies: bool) -> None:
        self.warehouse = warehouse
        self.sessions = Sessions()
        self.limiter = LoginLimiter()  # per client and user name
        self.client_limiter = LoginLimiter(max_failures=20)  # per client, whatever the name
        self.secure_cookies = secure_cookies

    def team_agents(self, team: str) -> list[str]:
        def load() -> list[str]:
            with self.warehouse.reader() as (_, cur):
                return agents_of_team(cur, team)

        result: list[str] = self.warehouse.cached(("team_agents", team), load)
        return result

    def principal_of(self, user: User, csrf: str | None) -> Principal:
        return Principal(user=user, scope=scope_of(user, self.team_agents), csrf=csrf)

    def identify(self, request: Request) -> Principal | None:
        """The caller from a bearer token, else from the session cookie; None if neither."""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
            with self.warehouse.reader() as (_, cur):
                user = user_for_token(cur, token)
            return self.principal_of(user, None) if user else None
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        with self.warehouse.reader() as (_, cur):
            user = get_user(cur, session.username)
        return self.principal_of(user, session.csrf) if user else None

    def check_csrf(self, request: Request, principal: Principal, form_token: str | None = None) -> None:
        """Refuse a state change made with a session cookie but without its CSRF token."""
        if principal.csrf is None:
            return  # bearer token: not sent by browsers on their own
        given = form_token or request.headers.get(CSRF_HEADER) or ""
        if not hmac.compare_digest(given.encode(), principal.csrf.encode()):
            raise HTTPException(status_code=403, detail="missing or wrong CSRF token")

    def login(self, request: Request, username: str, password: str) -> tuple[str, Session] | None:
        """Open a session for good credentials; None for bad ones; 429 when rate-limited."""
        client = client_of(request)
        key = f"{client}|{username.lower()}"
        if not self.limiter.allowed(key) or not self.client_limiter.allowed(client):
            wait = max(self.limiter.retry_after(key), self.client_limiter.retry_after(client))
            raise HTTPException(status_code=429, detail="too many failed logins, try again later",
                                headers={"Retry-After": str(int(wait) + 1)})
        with self.warehouse.reader() as (_, cur):
            user = authenticate(cur, username, password)
        if user is None:
            self.limiter.failure(key)
            self.client_limiter.failure(client)
            self.audit("login_failed", username[:64], None, client)
            return None
        self.limiter.success(key)
        self.audit("login", user.username, None, client)
        return self.sessions.open(user.username)

    def audit(self, action: str, username: str | None, detail: str | None, client: str | None) -> None:
        """Append to the audit log on a cursor of its own (appends never wait for an import)."""
        cur = self.warehouse.con.cursor()
        try:
            record(cur, action, username=username, detail=detail, client=client)
        finally:
            cur.close()


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"
