"""Following the event log in a background thread, for a :class:`ProjectionRunner`.

On PostgreSQL the library's LISTEN/NOTIFY subscription (``recorder.subscribe``),
restarted from the tracked positions whenever it fails (a dropped connection); on
SQLite, which has no subscription, ``select_notifications`` is polled in batches.
"""

from __future__ import annotations

import logging
import threading
from queue import Empty, Full, Queue
from typing import Any

from projections.runner import Gap, ProjectionRunner

__all__ = ["Follower"]

log = logging.getLogger("certledger.projections")
_END = object()  # the subscription ended


class Follower:
    """Runs ``runner`` over new events as they arrive, until stopped."""

    def __init__(self, runner: ProjectionRunner) -> None:
        self.runner = runner
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribes: bool | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="certledger-projections",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                if self._can_subscribe():
                    self._follow()
                else:
                    self._poll()
                backoff = 0.5
            except Exception:
                log.exception("projection runner failed; starting again in %.1f s", backoff)
                self.runner.database.reset()  # a dropped connection is made again
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        self.runner.database.reset()

    def _can_subscribe(self) -> bool:
        """PostgreSQL's recorder has a LISTEN/NOTIFY subscription; SQLite's has none."""
        if self._subscribes is None:
            from eventsourcing.postgres import PostgresApplicationRecorder

            self._subscribes = isinstance(self.runner.app.recorder, PostgresApplicationRecorder)
        return self._subscribes

    def _poll(self) -> None:
        while not self._stop.is_set():
            if not self.runner.run_once():
                self._stop.wait(self.runner.poll_interval)

    def _follow(self) -> None:
        """Follow the subscription until it fails or a gap shows (then the caller starts
        again from the tracked positions); batches are whatever has arrived, up to size."""
        after = min(self.runner.positions().values())
        queue: Queue[Any] = Queue(maxsize=self.runner.batch_size * 4)
        with self.runner.app.recorder.subscribe(gt=after) as subscription:
            feeder = threading.Thread(target=_feed, args=(subscription, queue, self._stop),
                                      name="certledger-subscription", daemon=True)
            feeder.start()
            try:
                while not self._stop.is_set():
                    try:
                        item = queue.get(timeout=0.25)
                    except Empty:
                        # The library's subscription reads once before it LISTENs: an
                        # event committed in between is only seen at the next NOTIFY.
                        # When idle, ask for the head; if it moved past us, start again.
                        if self.runner.head() > after:
                            return
                        continue
                    batch, end = [], None
                    while True:
                        if item is _END or isinstance(item, BaseException):
                            end = item
                            break
                        batch.append(item)
                        if len(batch) >= self.runner.batch_size:
                            break
                        try:
                            item = queue.get_nowait()
                        except Empty:
                            break
                    if batch:
                        try:
                            self.runner.apply(after, batch)
                        except Gap:
                            return
                        after = batch[-1].id
                    if isinstance(end, BaseException):
                        raise end
                    if end is _END:
                        if self._stop.is_set():
                            return
                        raise ConnectionError("the event subscription ended")
            finally:
                subscription.stop()
                feeder.join(5)


def _feed(subscription: Any, queue: Queue[Any], stop: threading.Event) -> None:
    """Move notifications from the subscription to ``queue`` (so the runner can take
    whatever has arrived as one batch), then _END or the error that ended it."""
    try:
        for notification in subscription:
            while not stop.is_set():
                try:
                    queue.put(notification, timeout=0.25)
                    break
                except Full:
                    continue
            if stop.is_set():
                break
        final: Any = _END
    except BaseException as exc:
        final = exc
    try:
        queue.put(final, timeout=1)
    except Full:
        pass
