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

Following the log in a thread is projections/following.py's job.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ca.applications.event_log import EventLog
from projections.base import ReadModel, Stored
from projections.db import ReadModelDatabase, Transaction

__all__ = ["ProjectionRunner", "Progress"]

log = logging.getLogger("certledger.projections")

Progress = Callable[[int, int], None]
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class Gap(Exception):
    """A model's tracked position is behind the batch: what lies between was not read here."""


class ProjectionRunner:
    """Runs read models over the event log ``app``."""

    def __init__(self, app: EventLog, database: ReadModelDatabase, models: Sequence[ReadModel], *,
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
        self._apply_lock = threading.Lock()  # one batch at a time in this process
        self._progress = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[str], None]] = []
        self._ensure_tracking()

    def on_commit(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(model name)`` after a batch that model processed events of has
        committed (processes are woken so; they derive what to do from stored state)."""
        self._listeners.append(listener)

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
                except Gap as exc:
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
                    raise Gap(f"{model.name} is at {current}, the batch starts after {after}")
                wanted = [n for n in notifications if n.id > current
                          and (model.every_topic or n.topic in model.topics)]
                process = model.process
                if model.stored:
                    for notification in wanted:
                        process(tx, Stored(notification, event), notification.id)
                else:
                    for notification in wanted:
                        process(tx, event(notification), notification.id)
                processed = bool(wanted)
                model.before_commit(tx)
                moved = tx.query("UPDATE rm_tracking SET position = ? WHERE name = ?"
                                 " AND position = ? RETURNING position",
                                 (last, model.name, current))
                if not moved:  # cannot happen under the lock; never commit rows without it
                    raise Gap(f"{model.name} moved from {current} under this batch")
        except BaseException:
            model.after_rollback()
            raise
        try:
            model.after_commit()
        except Exception:
            log.exception("read model %s: after_commit failed", model.name)
        if processed:
            self._committed(model.name)
        return True

    def _committed(self, name: str) -> None:
        for listener in self._listeners:
            try:
                listener(name)
            except Exception:
                log.exception("a listener of read model %s failed", name)

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
        except Gap:
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
                            if model.wants(notification.topic):
                                model.process(tx, _input(model, notification,
                                                         self.app.mapper.to_domain_event),
                                              notification.id)
                        model.before_commit(tx)
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
        self._committed(name)
        return position


def _input(model: ReadModel, notification: Any, decode: Callable[[Any], Any]) -> Any:
    """What ``model.process`` takes: the decoded event, or the event as stored."""
    if model.stored:
        return Stored(notification, decode)
    return decode(notification)
