"""What every route receives: the served warehouse, its security, and the caller."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from cxkpi.analytics.sentiment import score_surveys
from cxkpi.api.runtime import Warehouse
from cxkpi.api.security import Principal, Security
from cxkpi.ingest import ReadOptions, import_file


class LoginRequired(Exception):
    """A page asked for without a session: the browser is sent to the login form."""


@dataclass
class Server:
    warehouse: Warehouse
    security: Security

    def run_import(self, table: str, path: Path, mapping: str | None, source_tz: str | None,
                   rejects_dir: Path | None = None, options: ReadOptions | None = None) -> dict[str, Any]:
        """One import at a time, on the server's connection; readers keep their snapshot."""
        with self.warehouse.writer() as con:
            report = import_file(con, table, path, mapping=mapping, source_tz=source_tz, options=options,
                                 rejects_dir=rejects_dir)
            if table == "surveys":
                score_surveys(con)
        return report.as_dict()


def server(request: Request) -> Server:
    srv: Server = request.app.state.server
    return srv


def caller(request: Request) -> Principal:
    """The authenticated caller of an API route (401 otherwise)."""
    who = server(request).security.identify(request)
    if who is None:
        raise HTTPException(status_code=401, detail="log in or send a bearer token", headers={"WWW-Authenticate": "Bearer"})
    return who


def writer(request: Request) -> Principal:
    """An admin or manager (403 for other roles)."""
    who = caller(request)
    if not who.can_write:
        raise HTTPException(status_code=403, detail="admins and managers only")
    return who


def page_caller(request: Request) -> Principal:
    """The logged-in user of a page; others are sent to the login form."""
    who = server(request).security.identify(request)
    if who is None:
        raise LoginRequired()
    return who
