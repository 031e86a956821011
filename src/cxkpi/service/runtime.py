"""The server's hold on the warehouse: one writer, many readers, imports while serving.

DuckDB lets one process write a file. ``cxkpi serve`` is that process for as long as it
runs: it keeps the read-write connection, gives every request its own cursor (its own
transaction, so a reader sees the warehouse before or after an import, never half of
one), and runs imports itself, one at a time. An import started from the command line
while the server runs is handed to the server through a local control file (``<db>.serve``,
readable by its owner only) that carries the port and a secret.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from cxkpi.kpi.calendar import Calendar
from cxkpi.service.settings import Settings
from cxkpi.warehouse.connection import open_warehouse
from cxkpi.warehouse.control import control_file
from cxkpi.warehouse.engines import Engine, duckdb_engine

CACHE_SIZE = 512


class Warehouse:
    """The served warehouse: readers, the single writer, and a cache of results per data version."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.con = open_warehouse(path)
        self._write = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._facts: dict[Any, Any] = {}
        self._flights: dict[tuple[Any, ...], threading.Lock] = {}  # results being computed
        # the data version: even when stable, odd while a write is under way (nothing is
        # cached then); bumped before and after every write
        self.version = 0
        self.control_secret = secrets.token_urlsafe(32)

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def reader(self) -> Iterator[tuple[Engine, duckdb.DuckDBPyConnection]]:
        """A cursor of its own in a read transaction (one consistent snapshot) and an engine on it.

        The snapshot is taken while the data version stays put, so the facts the engine
        remembers (shared by the requests of that version) always describe that version.
        """
        cur = self.con.cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            while True:
                version = self.version
                cur.execute("BEGIN TRANSACTION")
                if self.version == version:
                    break
                cur.execute("ROLLBACK")
            facts = self._facts if version % 2 == 0 else {}
            try:
                yield duckdb_engine(cur, facts), cur
            finally:
                cur.execute("ROLLBACK")
        finally:
            cur.close()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The one writer at a time; readers keep reading their snapshot meanwhile."""
        with self._write:
            self._bump()
            cur = self.con.cursor()
            try:
                cur.execute("SET TimeZone = 'UTC'")
                yield cur
            finally:
                cur.close()
                self._bump()

    def _bump(self) -> None:
        with self._cache_lock:
            self.version += 1
            self._cache.clear()
            self._facts = {}

    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()`` once per data version and key (results are immutable frames).

        Requests asking for the same uncached result at once wait for the first one's
        computation instead of repeating it. A result is kept only if no write began or
        ended while it was computed.
        """
        version = self.version
        full = (version, *key)
        with self._cache_lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]
            flight = self._flights.setdefault(full, threading.Lock())
        with flight:
            with self._cache_lock:
                if full in self._cache:  # computed by the request we waited for
                    return self._cache[full]
            try:
                value = compute()
                with self._cache_lock:
                    if version % 2 == 0 and self.version == version:
                        self._cache[full] = value
                        while len(self._cache) > CACHE_SIZE:
                            self._cache.popitem(last=False)
            finally:
                with self._cache_lock:
                    self._flights.pop(full, None)
        return value

    def settings(self) -> Settings:
        """The warehouse's reporting settings, read once per data version."""
        def load() -> Settings:
            with self.reader() as (_, cur):
                return Settings.read(cur)

        found: Settings = self.cached(("settings",), load)
        return found

    def reporting_tz(self) -> str:
        return self.settings().tz

    def calendar(self, zone: str) -> Calendar | None:
        """The warehouse's business-hours calendar, parsed once per data version (one object: a cache key)."""
        cal: Calendar | None = self.cached(("calendar", zone), lambda: self.settings().calendar(zone))
        return cal

    def publish(self, url: str) -> None:
        """Write the control file (owner-only) so that ``cxkpi import`` can find this server."""
        path = control_file(self.path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"url": url, "secret": self.control_secret, "pid": os.getpid()}, f)

    def unpublish(self) -> None:
        path = control_file(self.path)
        try:
            data = json.loads(path.read_text())
            if int(data.get("pid", -1)) == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass
