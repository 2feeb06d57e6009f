"""Order numbers people read and type: ``CL-<year>-<six digits or more>``, in sequence.

A number is taken by saving an ``OrderNumberClaim`` (its id derived from the number)
with the order: a number taken already fails the save, which is then tried again with
the next one. The numbers of a year are dense (a number is claimed only after every
lower one was), so the highest taken is found in the log itself by a galloping and then
binary search of which claims exist (about 2·log2(n) reads, once per process and year);
after that each process remembers where it is and steps over what other processes took.
No read model and no counter aggregate: a counter would be one aggregate every
application contends for, and loads as all its events.
"""

from __future__ import annotations

import threading
from datetime import datetime

from ca.applications.event_log import EventLog
from domain.ids import order_number_claim_id

__all__ = ["OrderNumbers", "format_order_number", "PREFIX"]

PREFIX = "CL"


def format_order_number(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:06d}"


class OrderNumbers:
    def __init__(self, log: EventLog) -> None:
        self._log = log
        self._last: dict[int, int] = {}   # year -> highest number known taken
        self._lock = threading.Lock()

    def _taken(self, year: int, number: int) -> bool:
        return self._log.has(order_number_claim_id(format_order_number(year, number)))

    def _highest(self, year: int) -> int:
        if not self._taken(year, 1):
            return 0
        low, high = 1, 2
        while self._taken(year, high):
            low, high = high, high * 2
        while high - low > 1:   # taken(low) and not taken(high)
            middle = (low + high) // 2
            if self._taken(year, middle):
                low = middle
            else:
                high = middle
        return low

    def next(self, at: datetime) -> str:
        """The lowest number of ``at``'s year not taken yet (as far as the log says now)."""
        year = at.year
        with self._lock:
            last = self._last.get(year)
            if last is None:
                last = self._highest(year)
            candidate = last + 1
            while self._taken(year, candidate):
                candidate += 1
            # not yet ours: the next call looks at it again (taken by then, or free if
            # the save failed, so no gap is left)
            self._last[year] = candidate - 1
            return format_order_number(year, candidate)
