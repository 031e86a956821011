"""Locust users for bench/serve_load.py: the overview API's mix and the ``/api/me`` baseline.

Run by serve_load.py (``python -m locust -f bench/locustfile.py --headless ... OverviewUser``);
standalone against a running ``cxkpi serve``:

  CXKPI_BENCH_TOKEN=cxk_... CXKPI_BENCH_DAYS=2026-09-16,2026-08-02 \\
  CXKPI_BENCH_TEAMS='["Lyon Digital"]' locust -f bench/locustfile.py --host http://127.0.0.1:8000

Environment: CXKPI_BENCH_TOKEN (a bearer token, required), CXKPI_BENCH_DAYS (comma-separated
ISO dates within the data), CXKPI_BENCH_TEAMS (a JSON list of team names); CXKPI_BENCH_VIEWS
(a JSON list of [weight, parameters]) replaces the mix when set. The views and their
weights are ``serve_load.overview_views``: half the requests on the default view, the rest
spread over week/day grains, older dates, channel and team filters, so the load is not one
cached answer (each distinct view is computed once per data version, then cached).
Users have no think time: each sends its next request as soon as the previous one answers.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from locust import FastHttpUser, constant, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import overview_path, views_from_env  # noqa: E402  (stdlib only: no cxkpi import here)

TOKEN = os.environ.get("CXKPI_BENCH_TOKEN", "")
VIEWS = views_from_env()
PATHS = [overview_path(params) for _, params in VIEWS]
WEIGHTS = [weight for weight, _ in VIEWS]


class ApiUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    default_headers = {"Authorization": f"Bearer {TOKEN}"}
    network_timeout = 300.0
    connection_timeout = 60.0

    def fetch(self, path: str, name: str, starts: bytes) -> None:
        """GET ``path`` reported as ``name``; a failure unless a 200 whose JSON body starts with ``starts``."""
        with self.client.get(path, name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:200]}")
            elif not (resp.content or b"").startswith(starts):
                resp.failure(f"unexpected body: {(resp.content or b'')[:100]!r}")
            else:
                resp.success()


class OverviewUser(ApiUser):
    """The dashboard's overview API over the mix of views."""

    @task
    def overview(self) -> None:
        self.fetch(random.choices(PATHS, WEIGHTS)[0], "overview", b'{"period"')


class BaselineUser(ApiUser):
    """``GET /api/me``: the token check and the framework, no KPI."""

    @task
    def me(self) -> None:
        self.fetch("/api/me", "me", b'{"username"')
