"""What every route receives: the served warehouse, its security, and the caller."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from cxkpi.service.runtime import Warehouse
from cxkpi.service.principal import Principal
from cxkpi.web.security import Security
from cxkpi.ingest import ReadOptions
from cxkpi.service.imports import import_file
from cxkpi.warehouse.import_log import relabel_import


log = logging.getLogger("cxkpi.serve")


class LoginRequired(Exception):
    """A page asked for without a session: the browser is sent to the login form."""


@dataclass
class Server:
    warehouse: Warehouse
    security: Security
    after_change: list[Callable[[], None]] = field(default_factory=list)  # run in the background after a write

    def changed(self) -> None:
        """Start the after-change work (cache warm-up) in a background thread."""
        for job in self.after_change:
            threading.Thread(target=_quietly, args=(job,), daemon=True, name="cxkpi-warm").start()

    def run_import(self, table: str, path: Path, mapping: str | None, source_tz: str | None,
                   rejects_dir: Path | None = None, options: ReadOptions | None = None,
                   shown_as: str | None = None, mapping_files: bool = False) -> dict[str, Any]:
        """One import at a time, on the server's connection; readers keep their snapshot.

        ``shown_as``: the name the log and the rejects give the file (an upload's own name,
        not the server's temporary copy); as for a file imported twice from the command line,
        the rejects of that name are those of its latest import. ``mapping_files``: the
        mapping may name a YAML file (imports handed over by the local command line only).
        """
        with self.warehouse.writer() as con:
            report = import_file(con, table, path, mapping=mapping, source_tz=source_tz, options=options,
                                 rejects_dir=rejects_dir, mapping_files=mapping_files)
            if shown_as is not None:
                relabel_import(con, table, report.import_id, shown_as)
        self.changed()
        out = report.as_dict()
        if shown_as is not None:
            out |= {"file": shown_as, "rejects_file": None}  # the upload's folder is gone: see the rejects table
        return out


def _quietly(job: Callable[[], None]) -> None:
    try:
        job()
    except Exception:  # a warm-up is an optimisation: a failure only leaves the cache cold
        log.exception("background job failed")


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
