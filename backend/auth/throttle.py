"""A small in-process limiter for failed logins, per key (client address, unknown name).

The per-account counter and lockout live in the database (user_account), so
they hold across workers. This limiter adds what the database cannot see
cheaply: many names tried from one address, and names that have no account
(so a locked-out and an unknown name behave the same and reveal nothing).
It is per process: with N workers an address gets at most N times the limit.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict, deque


class LoginThrottle:
    """At most `failures_max` failures per key within `window`; then blocked
    until the oldest of them leaves the window."""

    def __init__(self, *, failures_max: int, window: dt.timedelta, keys_max: int = 10_000) -> None:
        assert failures_max > 0 and window > dt.timedelta(0) and keys_max > 0
        self.failures_max = failures_max
        self.window = window
        self.keys_max = keys_max
        self._failures: OrderedDict[str, deque[dt.datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked_for(self, key: str, now: dt.datetime) -> dt.timedelta | None:
        """How long this key must wait, or None when it may try."""
        with self._lock:
            failures = self._failures.get(key)
            if failures is None:
                return None
            self._forget_old(failures, now)
            if len(failures) < self.failures_max:
                return None
            return failures[0] + self.window - now

    def record_failure(self, key: str, now: dt.datetime) -> None:
        with self._lock:
            failures = self._failures.get(key)
            if failures is None:
                failures = deque(maxlen=self.failures_max)
                self._failures[key] = failures
                while len(self._failures) > self.keys_max:
                    self._failures.popitem(last=False)
            else:
                self._failures.move_to_end(key)
            self._forget_old(failures, now)
            failures.append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _forget_old(self, failures: deque[dt.datetime], now: dt.datetime) -> None:
        while failures and failures[0] <= now - self.window:
            failures.popleft()
