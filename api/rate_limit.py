"""A per-client-address rate limit for public services (the public query): at most
``per_minute`` requests in any sliding minute, per address, in this process (each worker
process counts for itself: the limit a client meets is per worker). Over it: 429 with
Retry-After."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

__all__ = ["RateLimiter"]

_MAX_CLIENTS = 100_000


class RateLimiter:
    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, address: str, now: float | None = None) -> int | None:
        """Count a request from ``address``; None if allowed, else the seconds to wait."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) > _MAX_CLIENTS:
                self._forget(moment)
            hits = self._hits.setdefault(address, deque())
            while hits and hits[0] <= moment - self.window:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(1, math.ceil(hits[0] + self.window - moment))
            hits.append(moment)
            return None

    def _forget(self, moment: float) -> None:
        for address in [a for a, h in self._hits.items() if not h or h[-1] <= moment - self.window]:
            del self._hits[address]
