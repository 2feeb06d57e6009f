"""An ordered, bounded map over worker processes, for the audit's long passes.

Exporting and verifying millions of events are CPU-bound loops of JSON and hashing;
:func:`ordered_map` spreads the chunks over ``workers`` processes (``forkserver``: the
workers start from a clean process, not from one holding database connections and
threads), keeps at most ``2 * workers`` chunks in flight so memory stays bounded however
long the input, and hands back the results in input order. With ``workers`` 0 it is a
plain loop in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["ordered_map", "default_workers"]

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """One worker per CPU this process may use, none on a single CPU."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return cpus if cpus > 1 else 0


def ordered_map(function: Callable[[T], R], chunks: Iterable[T], *, workers: int,
                initializer: Callable[..., Any] | None = None,
                initargs: tuple[Any, ...] = ()) -> Iterator[tuple[T, R]]:
    """(chunk, ``function(chunk)``) for every chunk, in order; ``function`` and
    ``initializer`` are module-level functions (the workers run them by name)."""
    if workers <= 0:
        if initializer is not None:
            initializer(*initargs)
        for chunk in chunks:
            yield chunk, function(chunk)
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer,
                             initargs=initargs) as pool:
        pending: deque[tuple[T, Future[R]]] = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(function, chunk)))
            if len(pending) >= 2 * workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
