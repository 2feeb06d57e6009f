"""How many PostgreSQL connections the test suite holds at once, measured, not guessed.

Every connection the suite opens (tests, the applications they build, the servers they
start) carries the application name :data:`APP_NAME` (libpq's ``PGAPPNAME``, set before
anything connects). A sampler thread counts them in ``pg_stat_activity`` every few
milliseconds over its own, differently named connection and keeps the peak and the test
that was running at the time.
"""

from __future__ import annotations

import threading
import time

import psycopg

__all__ = ["APP_NAME", "ConnectionSampler", "over_budget"]

APP_NAME = "certledger-tests"


class ConnectionSampler:
    def __init__(self, url: str, *, app_name: str = APP_NAME, every: float = 0.02) -> None:
        self.url = url
        self.app_name = app_name
        self.every = every
        self.peak = 0
        self.peak_test = ""
        self.current_test = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: Exception | None = None

    def count(self, connection: psycopg.Connection) -> int:
        row = connection.execute("SELECT count(*) FROM pg_stat_activity"
                                 " WHERE application_name = %s", (self.app_name,)).fetchone()
        return int(row[0]) if row else 0

    def start(self) -> ConnectionSampler:
        connection = psycopg.connect(self.url, autocommit=True, connect_timeout=5,
                                     application_name=f"{self.app_name}-sampler")

        def run() -> None:
            with connection:
                while not self._stop.is_set():
                    try:
                        now = self.count(connection)
                    except psycopg.Error as exc:  # the server went away: stop measuring
                        self.error = exc
                        return
                    if now > self.peak:
                        self.peak, self.peak_test = now, self.current_test
                    time.sleep(self.every)

        self._thread = threading.Thread(target=run, name="pg-connection-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def over_budget(sampler: ConnectionSampler, budget: int) -> str | None:
    """A message when ``sampler`` saw more than ``budget`` connections at once, else None."""
    if sampler.peak <= budget:
        return None
    return (f"the test suite held {sampler.peak} PostgreSQL connections at once (during "
            f"{sampler.peak_test or 'set-up'}); the budget is {budget}: close what tests "
            "open, or use smaller pools")
