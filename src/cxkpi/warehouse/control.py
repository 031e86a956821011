"""The control file of a running ``cxkpi serve``: how the command line finds the server
that holds the warehouse (DuckDB allows one writing process per file)."""

from __future__ import annotations

import json
import os
import urllib.error
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def control_file(db: Path) -> Path:
    """Where a running server tells the command line how to reach it."""
    return db.with_name(db.name + ".serve")


@dataclass(frozen=True)
class ServerInfo:
    url: str
    secret: str
    pid: int


def read_control(db: Path) -> ServerInfo | None:
    """The server serving ``db``, if its control file names a live process."""
    path = control_file(db)
    try:
        data = json.loads(path.read_text())
        pid = int(data["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return ServerInfo(url=str(data["url"]), secret=str(data["secret"]), pid=pid)


def forward_import(server: ServerInfo, body: Mapping[str, Any], timeout_s: float = 3600.0) -> dict[str, Any]:
    """Ask the running server to import a file of this machine; its import report back."""
    import urllib.error
    import urllib.request

    from cxkpi.config import UserError

    request = urllib.request.Request(
        server.url.rstrip("/") + "/api/control/import",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-cxkpi-control": server.secret},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            report: dict[str, Any] = json.loads(answer.read())
            return report
    except urllib.error.HTTPError as exc:  # the server's one-line message (a bad mapping file is a 400)
        raise UserError(_detail(exc)) from None
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(f"cxkpi serve (pid {server.pid}) holds the warehouse but does not answer: {exc}") from None


def _detail(exc: urllib.error.HTTPError) -> str:
    """The ``detail`` of an error answer, else its status line (a proxy's page, an empty body)."""
    try:
        body = json.loads(exc.read())
    except (OSError, ValueError):
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else f"cxkpi serve answered {exc.code} {exc.reason}"
