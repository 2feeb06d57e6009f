"""Where processes run: APScheduler jobs in this process, woken early by new events.

A *process* reacts to the log by issuing commands (publish a CRL, sign OCSP responses,
rotate a responder, send a notice). What it must do next is always derived from the
log and stored state (its ``run`` looks, decides, acts), never from memory, so a
process killed at any point does the missed work on its next run after a start.

Each process runs every ``every`` seconds, and :meth:`ProcessHost.wake` runs it
sooner (after ``after`` seconds), e.g. when the projection runner has committed
events the process follows. Runs of one process never overlap: a wake that arrives
while it runs makes it run once more right after.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

__all__ = ["Process", "ProcessHost"]

log = logging.getLogger("certledger.processes")


class Process(Protocol):
    """Something that looks at the log and stored state and does what is due."""

    name: str
    every: float  # seconds between runs when nothing wakes it

    def run(self) -> Any: ...


@dataclass
class _Slot:
    process: Process
    guard: threading.Lock
    busy: bool = False
    again: bool = False


class ProcessHost:
    """Runs processes on APScheduler's background scheduler."""

    def __init__(self, processes: list[Process], *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 gate: Callable[[], bool] = lambda: True) -> None:
        """``gate``: whether processes may run now (they sign: not while the log's
        integrity check has failed)."""
        names = [process.name for process in processes]
        if len(set(names)) != len(names):
            raise ValueError(f"process names must be unique: {names}")
        self._slots = {p.name: _Slot(p, threading.Lock()) for p in processes}
        self._clock = clock
        self._gate = gate
        self._scheduler: Any = None

    @property
    def processes(self) -> dict[str, Process]:
        return {name: slot.process for name, slot in self._slots.items()}

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        if self.running:
            return
        scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(max(2, len(self._slots)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
        soon = datetime.now(UTC) + timedelta(seconds=0.5)
        for name, slot in self._slots.items():
            scheduler.add_job(self.run, "interval", args=[name], id=name,
                              seconds=slot.process.every, next_run_time=soon)
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None

    def wake(self, name: str, after: float = 0.0) -> None:
        """Run process ``name`` ``after`` seconds from now (once, however often woken
        before then). Only saves waiting for its next round: nothing depends on it."""
        from apscheduler.jobstores.base import ConflictingIdError

        scheduler = self._scheduler
        if scheduler is None:
            return
        when = datetime.now(UTC) + timedelta(seconds=after)
        try:
            scheduler.add_job(self.run, "date", run_date=when, args=[name], id=f"{name}:wake")
        except ConflictingIdError:
            pass  # a wake-up is arranged: it will see this too

    def run(self, name: str) -> None:
        """Run process ``name`` now, in this thread; if it is running, make it run again
        when it is done instead. Failures are logged; the next run tries again. Nothing
        runs while the gate is shut."""
        if not self._gate():
            return
        slot = self._slots[name]
        with slot.guard:
            if slot.busy:
                slot.again = True
                return
            slot.busy = True
        while True:
            try:
                slot.process.run()
            except Exception:
                log.exception("process %s failed; it runs again at its next time", name)
            with slot.guard:
                if not slot.again:
                    slot.busy = False
                    return
                slot.again = False
