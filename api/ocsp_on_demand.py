"""On-demand OCSP signing, off the event loop: requests with a nonce, several CertIDs, or
no pre-signed answer yet.

A front end's event loop answers pre-signed responses from memory and hands everything
else here. :meth:`OnDemandSigning.answer` plans the response in a small thread pool (the
status from memory; the responder's credentials may need a database read) and signs it
in a pool of signing processes (``processes`` > 0), each holding the responders itself,
so a slow signer (SM2 on pure-Python gmssl holds the GIL for milliseconds a signature)
slows nothing on the loop; with ``processes`` = 0 it signs in the threads. At most
``limit`` requests are in here at once per front-end process; the next ones get
``tryLater`` at once, so a nonce flood costs the pre-signed answers nothing.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any

from api.ocsp_answers import Answer, OcspAnswers
from api.settings import Settings
from ca.encoding.ocsp_responses import ResponseStatus, error_response

__all__ = ["OnDemandSigning"]

log = logging.getLogger("certledger.ocsp")

_TRY_LATER = Answer(error_response(ResponseStatus.TRY_LATER), None, ResponseStatus.TRY_LATER)
_responders: Any = None  # in a signing process: its CertLedger's Responders


class OnDemandSigning:
    def __init__(self, answers: OcspAnswers, *, limit: int = 8, processes: int = 0,
                 settings: Settings | None = None, threads: int = 2) -> None:
        self.answers = answers
        self.limit = limit
        self.pending = 0
        self._processes = processes if settings is not None else 0
        self._settings = settings
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="ocsp-on-demand")
        self._pool: Executor | None = None

    @property
    def full(self) -> bool:
        """As many requests in progress as allowed: the next gets tryLater."""
        return self.pending >= self.limit

    try_later = _TRY_LATER

    def start(self) -> None:
        """Start the signing processes (the first request that needs one does: each opens
        a ledger of its own, so a server that gets no such request holds no more
        database connections)."""
        if self._processes and self._pool is None and self._settings is not None:
            self._pool = ProcessPoolExecutor(
                self._processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_signer, initargs=(self._settings,))  # type: ignore[arg-type]
            self._pool.submit(_ready)  # each process opens its ledger in the background

    async def answer(self, request_der: bytes) -> Answer:
        if self.pending >= self.limit:
            return _TRY_LATER
        self.pending += 1
        try:
            return await self._answer(request_der)
        finally:
            self.pending -= 1

    async def _answer(self, request_der: bytes) -> Answer:
        loop = asyncio.get_running_loop()
        if not self._processes:
            return await loop.run_in_executor(self._threads, self.answers.answer, request_der)
        plan = self.answers.plan(request_der, held_only=True)  # here, if nothing to read
        if plan is None:
            plan = await loop.run_in_executor(self._threads, self.answers.plan, request_der)
        if plan is None or isinstance(plan, Answer):
            return plan or _TRY_LATER
        self.start()
        assert self._pool is not None
        credentials = plan.credentials
        try:
            body = await loop.run_in_executor(
                self._pool, _sign, credentials.issuer, credentials.serial_number,
                plan.singles, plan.produced_at, plan.nonce)
        except BrokenProcessPool:
            log.error("OCSP: a signing process died; starting new ones")
            self._pool = None
            return _TRY_LATER
        except Exception as exc:
            log.warning("OCSP: on-demand signing failed (%s): tryLater", exc)
            return _TRY_LATER
        return self.answers.complete(plan, body)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _start_signer(settings: Settings) -> None:
    """In a signing process: the responders of a CertLedger of its own (the key store and
    the event log; nothing runs)."""
    global _responders
    from api.bootstrap import bootstrap

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the front end stops us
    _end_with_parent()
    _yield_to_answers()
    _responders = bootstrap(settings).responders


def _end_with_parent() -> None:
    """Linux: SIGTERM when the front-end process ends, however it ends (kill -9 too)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _yield_to_answers() -> None:
    """Pre-signed answers (the front end's loop) come first on a busy machine: the
    signing process runs only on CPU time nothing else wants (Linux SCHED_IDLE; else a
    lower priority)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        os.nice(10)


def _ready() -> bool:
    return _responders is not None


def _sign(issuer: str, serial_number: int, singles: list[bytes], produced_at: datetime,
          nonce: bytes | None) -> bytes:
    """Sign with the responder the plan was made for (after a rotation, read it again)."""
    credentials = _responders.get(issuer)
    if credentials is None or credentials.serial_number != serial_number:
        _responders.forget()
        credentials = _responders.get(issuer)
    if credentials is None or credentials.serial_number != serial_number:
        raise LookupError(f"the responder of {issuer} changed while signing")
    return credentials.sign(singles, produced_at, nonce)  # type: ignore[no-any-return]
