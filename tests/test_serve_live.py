"""Imports while ``cxkpi serve`` runs: the command line hands them to the server, pages show
the new figures without a restart, and no reader ever sees half an import."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Cli
from kpi_golden import contact, write_csv
from web_support import LiveServer, build_web_warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    web = build_web_warehouse(tmp_path_factory.mktemp("live") / "live.duckdb")
    with LiveServer(web.path) as server:
        yield web, server


def _client(server: LiveServer) -> httpx.Client:
    from cxkpi.access.tokens import create_token

    cur = server.warehouse.con.cursor()
    try:
        token = create_token(cur, "manager", "live test")
    finally:
        cur.close()
    return httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {token}"}, timeout=60)


def _offered(client: httpx.Client, day: date, end: date | None = None) -> int:
    answer = client.get("/api/kpis", params={"kpi": "contacts_offered", "from": day.isoformat(),
                                               "to": (end or day).isoformat()})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    return int(rows[0]["contacts_offered"] or 0) if rows else 0


def _contacts_file(path: Path, n: int, day: date, prefix: str) -> Path:
    rows = [contact(f"{prefix}{i}", "phone", f"{day.isoformat()}T{8 + i % 10:02d}:{i % 60:02d}:00Z", wait=5, talk=60)
            for i in range(n)]
    return write_csv(path, rows)


def test_a_cli_import_goes_through_the_server_and_shows_at_once(served: Any, tmp_path: Path) -> None:
    web, server = served
    day = date(2030, 1, 7)  # after the demo data: only the imported rows fall on it
    with _client(server) as client:
        assert _offered(client, day) == 0
        cli = Cli(tmp_path, web.path)
        done = cli("import", "contacts", str(_contacts_file(tmp_path / "new.csv", 12, day, "live-a")))
        assert done.returncode == 0, done.stderr
        assert "through cxkpi serve" in done.stdout and "accepted 12" in done.stdout
        assert _offered(client, day) == 12  # same server, no restart: the cache follows the data version


def test_other_writes_are_refused_with_one_clear_line_while_serving(served: Any, tmp_path: Path) -> None:
    web, _ = served
    done = Cli(tmp_path, web.path)("target", "set", "service_level", "0.8")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "held by cxkpi serve" in done.stderr and "Traceback" not in done.stderr


def test_readers_see_an_import_whole_or_not_at_all(served: Any, tmp_path: Path) -> None:
    web, server = served
    day = date(2030, 2, 4)
    n = 30_000
    big = _contacts_file(tmp_path / "big.csv", n, day, "live-b")
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        with _client(server) as client:
            k = 0
            while not stop.is_set():
                k += 1  # a new range each time: no cached answer, a fresh snapshot read
                seen.append(_offered(client, day, day + timedelta(days=k)))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        with _client(server) as client:
            files = {"file": ("big.csv", big.read_bytes(), "text/csv")}
            answer = client.post("/api/imports", data={"table": "contacts"}, files=files)
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == n
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=60)
    assert seen, "the readers never got an answer"
    assert 0 in seen and set(seen) <= {0, n}, sorted(set(seen))
    with _client(server) as client:
        assert _offered(client, day) == n
