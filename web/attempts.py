"""Wrong tokens per client address. Past ``WRONG_TOKEN_LIMIT`` wrong tokens within ``WRONG_TOKEN_WINDOW_S``, the
gateway checks no token from that address, the right one included, until the oldest of them leaves the window: a
token cannot be guessed by trying many, and a lockout does not tell a guess that was right.

Counted by the address the connection comes from: behind a reverse proxy every client shares the proxy's.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

WRONG_TOKEN_LIMIT = 10
WRONG_TOKEN_WINDOW_S = 60.0
MAX_ADDRESSES = 10_000
"""Addresses remembered at most; past it the one whose last wrong token is oldest is forgotten."""


class WrongTokens:
    def __init__(
        self,
        limit: int = WRONG_TOKEN_LIMIT,
        window_s: float = WRONG_TOKEN_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait_s(self, address: str) -> float | None:
        """Seconds until ``address`` may present a token again; None when it may now."""
        failures = self._failures.get(address)
        if failures is None:
            return None
        now = self._clock()
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures[0] + self.window_s - now if len(failures) >= self.limit else None

    def failed(self, address: str) -> None:
        """Count a wrong token from ``address``."""
        failures = self._failures.setdefault(address, deque(maxlen=self.limit))
        failures.append(self._clock())
        self._failures.move_to_end(address)
        if len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)
