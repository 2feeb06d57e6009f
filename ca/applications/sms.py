"""The SMS gateway of development and tests: messages kept in memory, never logged.

Production hands ``bootstrap`` a gateway of its operator's SMS provider (the
``SmsGateway`` port); this one only remembers the last messages per number.
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["SmsOutbox"]


class SmsOutbox:
    def __init__(self, keep: int = 100) -> None:
        self._sent: deque[tuple[str, str]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        with self._lock:
            self._sent.append((phone, text))

    def last(self, phone: str) -> str | None:
        """The last message sent to ``phone`` (None if none)."""
        with self._lock:
            for to, text in reversed(self._sent):
                if to == phone:
                    return text
        return None

    def __repr__(self) -> str:  # never the messages: they hold codes
        return f"SmsOutbox({len(self._sent)} kept)"
