"""Follows the event log for a list of read models, exactly once.

For each batch of notifications and each read model, one read-model transaction:
lock the model's row in ``rm_tracking``, call ``process`` for every event after the
tracked position whose topic the model wants, move the position to the batch's last
notification, commit. Rows and position commit together, so a crash anywhere loses
or doubles nothing, and the next start resumes from the tracked position.

Several runners may follow one log at once (every API worker may start one, and a
dedicated ``certledger projections run`` may run too): the tracked position is read
under a lock inside the transaction (``SELECT ... FOR UPDATE`` on PostgreSQL, the
write lock ``BEGIN IMMEDIATE`` takes on SQLite), so the second runner to get a batch
sees the first one's position and processes only what is still new; if the position
is behind the batch (a rebuild reset it) the batch is discarded and the runner starts
again from the tracked position.

Following: on PostgreSQL the library's LISTEN/NOTIFY subscription
(``recorder.subscribe``), restarted from the tracked positions whenever it fails (a
dropped connection); on SQLite, which has no subscription, ``select_notifications``
is polled in batches.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from queue import Empty, Full, Queue
from typing import Any

from projections.base import ReadModel
from projections.db import ReadModelDatabase, Transaction

__all__ = ["ProjectionRunner", "Progress"]

log = logging.getLogger("certledger.projections")

Progress = Callable[[int, int], None]
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_END = object()  # the subscription ended


class _Gap(Exception):
    """A model's tracked position is behind the batch: what lies between was not read here."""


class ProjectionRunner:
    """Runs read models over the log of ``app`` (an eventsourcing Application)."""

    def __init__(self, app: Any, database: ReadModelDatabase, models: Sequence[ReadModel], *,
                 batch_size: int = 500, poll_interval: float = 0.1) -> None:
        names = [model.name for model in models]
        if len(set(names)) != len(names):
            raise ValueError(f"read model names must be unique: {names}")
        for model in models:
            for table in model.tables:
                if not _IDENTIFIER.match(table):
                    raise ValueError(f"bad table name {table!r} in read model {model.name}")
        self.app = app
        self.database = database
        self.models = {model.name: model for model in models}
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._topics = frozenset().union(*(model.topics for model in models))
        self._apply_lock = threading.Lock()  # one batch at a time in this process
        self._progress = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribes: bool | None = None
        self._ensure_tracking()

    # ---- positions ------------------------------------------------------------------------

    def _ensure_tracking(self) -> None:
        with self.database.transaction() as tx:
            for name in self.models:
                tx.execute("INSERT INTO rm_tracking (name, position, epoch) VALUES (?, 0, 0)"
                           " ON CONFLICT (name) DO NOTHING", (name,))

    def positions(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """The committed position of each read model (of every model when ``names`` is None)."""
        tracked = {name: int(position) for name, position
                   in self.database.query("SELECT name, position FROM rm_tracking")}
        return {name: tracked.get(name, 0) for name in (names or self.models)}

    def head(self) -> int:
        """The position of the last event in the log (0 when it is empty)."""
        return int(self.app.recorder.max_notification_id() or 0)

    def _lock_position(self, tx: Transaction, name: str) -> int:
        lock = " FOR UPDATE" if self.database.dialect == "postgres" else ""
        rows = tx.query(f"SELECT position FROM rm_tracking WHERE name = ?{lock}", (name,))
        if not rows:
            tx.execute("INSERT INTO rm_tracking (name, position, epoch) VALUES (?, 0, 0)"
                       " ON CONFLICT (name) DO NOTHING", (name,))
            rows = tx.query(f"SELECT position FROM rm_tracking WHERE name = ?{lock}", (name,))
        return int(rows[0][0])

    # ---- one batch ------------------------------------------------------------------------

    def apply(self, after: int, notifications: Sequence[Any],
              names: Sequence[str] | None = None) -> int:
        """Process ``notifications`` (read from the log after position ``after``) for every
        model (or those ``names``) not past them yet; returns how many models advanced.
        Applying a batch a second time changes nothing: the tracked positions are past it."""
        if not notifications:
            return 0
        decoded: dict[int, Any] = {}

        def event(notification: Any) -> Any:  # decode once, only what some model wants
            if notification.id not in decoded:
                decoded[notification.id] = self.app.mapper.to_domain_event(notification)
            return decoded[notification.id]

        advanced, gap, error = 0, None, None
        with self._apply_lock:
            for model in self.models.values():
                if names is not None and model.name not in names:
                    continue
                try:
                    advanced += self._apply_model(model, after, notifications, event)
                except _Gap as exc:
                    gap = exc
                except Exception as exc:  # one broken model must not stop the others
                    log.exception("read model %s failed on events %d..%d", model.name,
                                  notifications[0].id, notifications[-1].id)
                    error = error or exc
        if advanced:
            with self._progress:
                self._progress.notify_all()
        if error is not None:
            raise error
        if gap is not None:
            raise gap
        return advanced

    def _apply_model(self, model: ReadModel, after: int, notifications: Sequence[Any],
                     event: Callable[[Any], Any]) -> bool:
        last = notifications[-1].id
        try:
            with self.database.transaction() as tx:
                current = self._lock_position(tx, model.name)
                if current >= last:
                    return False  # done already (by another runner, or a first try)
                if current < after:
                    raise _Gap(f"{model.name} is at {current}, the batch starts after {after}")
                for notification in notifications:
                    if notification.id > current and notification.topic in model.topics:
                        model.process(tx, event(notification), notification.id)
                moved = tx.query("UPDATE rm_tracking SET position = ? WHERE name = ?"
                                 " AND position = ? RETURNING position",
                                 (last, model.name, current))
                if not moved:  # cannot happen under the lock; never commit rows without it
                    raise _Gap(f"{model.name} moved from {current} under this batch")
        except BaseException:
            model.after_rollback()
            raise
        try:
            model.after_commit()
        except Exception:
            log.exception("read model %s: after_commit failed", model.name)
        return True

    # ---- driving it by hand (tests, publishers, the CLI) ----------------------------------

    def run_once(self, limit: int | None = None, names: Sequence[str] | None = None) -> int:
        """Read one batch after the lowest tracked position (of every model, or of those
        ``names``) and apply it; returns its size."""
        after = min(self.positions(names).values())
        notifications = self.app.recorder.select_notifications(
            start=after + 1, limit=limit or self.batch_size)
        if not notifications:
            return 0
        try:
            self.apply(after, notifications, names)
        except _Gap:
            pass  # a position went back (a rebuild): the next batch starts from it
        return len(notifications)

    def catch_up(self, names: Sequence[str] | None = None) -> int:
        """Apply batches until every model (or those ``names``) is at the head the log had
        when called."""
        target, total = self.head(), 0
        while min(self.positions(names).values()) < target:
            count = self.run_once(names=names)
            if not count:
                break
            total += count
        return total

    def wait_for(self, position: int, timeout: float = 10.0,
                 names: Sequence[str] | None = None) -> bool:
        """Wait until the models (all, or ``names``) have committed ``position``; False on
        timeout. Works whichever process runs them: it reads the tracked positions."""
        deadline = time.monotonic() + timeout
        while True:
            if min(self.positions(names).values(), default=position) >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._progress:
                self._progress.wait(min(remaining, 0.05))

    def rebuild(self, name: str, progress: Progress | None = None) -> int:
        """Empty model ``name``'s tables and replay the whole log into them, in one
        transaction: readers see the old content until the new one is complete, and a
        failed rebuild leaves the old one in place. Returns the position reached."""
        model = self.models[name]
        head = self.head()
        with self._apply_lock:
            try:
                with self.database.transaction() as tx:
                    self._lock_position(tx, name)
                    for table in model.tables:
                        tx.execute(f"DELETE FROM {table}")
                    position = 0
                    while notifications := self.app.recorder.select_notifications(
                            start=position + 1, limit=self.batch_size):
                        for notification in notifications:
                            if notification.topic in model.topics:
                                model.process(tx, self.app.mapper.to_domain_event(notification),
                                              notification.id)
                        position = notifications[-1].id
                        if progress:
                            progress(position, max(head, position))
                    tx.execute("UPDATE rm_tracking SET position = ?, epoch = epoch + 1"
                               " WHERE name = ?", (position, name))
            except BaseException:
                model.after_rollback()
                raise
        model.after_commit()
        with self._progress:
            self._progress.notify_all()
        return position

    # ---- the background thread ------------------------------------------------------------

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
                self.database.close()  # a dropped connection is made again
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        self.database.close()

    def _can_subscribe(self) -> bool:
        """PostgreSQL's recorder has a LISTEN/NOTIFY subscription; SQLite's has none."""
        if self._subscribes is None:
            from eventsourcing.postgres import PostgresApplicationRecorder

            self._subscribes = isinstance(self.app.recorder, PostgresApplicationRecorder)
        return self._subscribes

    def _poll(self) -> None:
        while not self._stop.is_set():
            if not self.run_once():
                self._stop.wait(self.poll_interval)

    def _follow(self) -> None:
        """Follow the subscription until it fails or a gap shows (then the caller starts
        again from the tracked positions); batches are whatever has arrived, up to size."""
        after = min(self.positions().values())
        queue: Queue[Any] = Queue(maxsize=self.batch_size * 4)
        with self.app.recorder.subscribe(gt=after) as subscription:
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
                        if self.head() > after:
                            return
                        continue
                    batch, end = [], None
                    while True:
                        if item is _END or isinstance(item, BaseException):
                            end = item
                            break
                        batch.append(item)
                        if len(batch) >= self.batch_size:
                            break
                        try:
                            item = queue.get_nowait()
                        except Empty:
                            break
                    if batch:
                        try:
                            self.apply(after, batch)
                        except _Gap:
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
