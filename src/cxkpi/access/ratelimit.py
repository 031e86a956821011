"""Login throttling: after too many failures in a sliding window, a key must wait.

Keys are chosen by the caller, e.g. ``"203.0.113.7|alice"``: one address guessing one
account is slowed down without locking the account out for everyone else.
Memory stays bounded: each key keeps at most ``max_failures`` timestamps, expired keys are
swept once per window, and beyond ``max_keys`` the least recently failed keys are dropped
(a flood of distinct keys can then reset old counters; it cannot exhaust memory).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class LoginLimiter:
    """Counts failed logins per key; thread-safe (one lock, O(1) per call, amortised)."""

    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if max_failures < 1 or window_s <= 0 or max_keys < 1:
            raise ValueError("max_failures and max_keys must be >= 1 and window_s > 0")
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()  # least recently failed first
        self._last_sweep = clock()

    def _live(self, key: str, now: float) -> deque[float] | None:
        """The key's failures still inside the window (the key is dropped when none are)."""
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < self.window_s:
            return
        self._last_sweep = now
        for key in [k for k, t in self._failures.items() if t[-1] <= now - self.window_s]:
            del self._failures[key]

    def allowed(self, key: str) -> bool:
        """False while ``max_failures`` failures of ``key`` lie within the window."""
        with self._lock:
            times = self._live(key, self._clock())
            return times is None or len(times) < self.max_failures

    def failure(self, key: str) -> None:
        """Count a failed attempt."""
        with self._lock:
            now = self._clock()
            self._sweep(now)
            times = self._live(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.max_failures)
            else:
                self._failures.move_to_end(key)
            times.append(now)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def success(self, key: str) -> None:
        """Forget the key's failures (a correct password ends the suspicion)."""
        with self._lock:
            self._failures.pop(key, None)

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` is allowed again; 0.0 when it already is."""
        with self._lock:
            now = self._clock()
            times = self._live(key, now)
            if times is None or len(times) < self.max_failures:
                return 0.0
            return max(0.0, times[0] + self.window_s - now)

    def __len__(self) -> int:
        """How many keys are tracked (for tests and monitoring)."""
        with self._lock:
            return len(self._failures)
