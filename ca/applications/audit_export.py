"""The export: every stored event, in log order, as one JSON line each.

Lines are made by ``ca.audit.records.render_line`` from the event as stored and as the
application's mapper decodes it (docs/audit.md, "The export"). An export covers the log
up to its head when it starts. A long one is spread over worker processes
(``ca.audit.parallel``), each reading its own stretch of positions from the store and
decoding it; the stretches come back, and are written, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import islice
from typing import Any

from ca.applications.event_log import MEMORY, EventLog, StoreSettings
from ca.audit.parallel import ordered_map
from ca.audit.records import render_line

__all__ = ["export_lines", "export_page", "PARALLEL_FROM"]

PARALLEL_FROM = 50_000  # events: fewer are exported in this process
_log: EventLog | None = None  # a worker's own connection to the store


def export_lines(log: EventLog, after: int = 0, *, workers: int = 0, page: int = 2000
                 ) -> Iterator[str]:
    """The export of the events after position ``after`` up to the log's head now, as
    text chunks of whole lines; ``workers`` processes read and decode a long one."""
    head = log.head()
    if workers and head - after >= PARALLEL_FROM and log.store.database_url != MEMORY:
        stretches = ((start, min(start + page, head)) for start in range(after, head, page))
        for _, text in ordered_map(_render_stretch, stretches, workers=workers,
                                   initializer=_start_worker, initargs=(log.store,)):
            yield text
        return
    decode = log.decode
    for rows in _batches(log.stored(after=after, stop=head, page=page), page):
        yield "".join(render_line(n.id, n.topic, n.state, decode(n)) + "\n" for n in rows)


def export_page(log: EventLog, after: int, limit: int) -> tuple[str, int, int]:
    """One page of the export: (its lines, the last position in it, how many lines)."""
    rows = list(islice(log.stored(after=after, page=min(limit, 2000)), limit))
    decode = log.decode
    text = "".join(render_line(n.id, n.topic, n.state, decode(n)) + "\n" for n in rows)
    return text, rows[-1].id if rows else after, len(rows)


def _batches(stored: Iterator[Any], page: int) -> Iterator[list[Any]]:
    while batch := list(islice(stored, page)):
        yield batch


def _start_worker(store: StoreSettings) -> None:
    global _log
    import domain  # noqa: F401 - registers every event topic

    _log = EventLog(replace(store, pool_size=1, max_overflow=0))


def _render_stretch(stretch: tuple[int, int]) -> str:
    """The lines of the events after position ``stretch[0]`` up to ``stretch[1]``."""
    assert _log is not None
    after, stop = stretch
    decode = _log.decode
    return "".join(render_line(n.id, n.topic, n.state, decode(n)) + "\n"
                   for n in _log.stored_page(after, stop, stop - after))
