"""The store of Idempotency-Key answers on SQLite and PostgreSQL: one attempt runs a key,
the others wait, replay or are refused; an attempt that stopped answering is taken over
by exactly one retry."""

from __future__ import annotations

import threading

from api.settings import Settings
from projections.idempotency_keys import KEEP_SECONDS, ClaimState, StoredAnswer
from tests.conftest import build_ledger

ANSWER = StoredAnswer(201, b'{"id": "x"}', {"Location": "/x"})


def test_one_attempt_runs_a_key_and_the_others_replay_its_answer(settings: Settings) -> None:
    store = build_ledger(settings).read.idempotency
    first = store.begin("portal|a|p", "k1", "f1", now=1000.0)
    assert first.state is ClaimState.RUN
    assert store.begin("portal|a|p", "k1", "f1", now=1001.0).state is ClaimState.IN_PROGRESS
    assert store.begin("portal|a|p", "k1", "f2", now=1001.0).state is ClaimState.MISMATCH
    assert store.begin("portal|b|p", "k1", "f2", now=1001.0).state is ClaimState.RUN  # scope
    store.finish("portal|a|p", "k1", first.owner, ANSWER)
    replay = store.begin("portal|a|p", "k1", "f1", now=1002.0)
    assert replay.state is ClaimState.REPLAY and replay.answer == ANSWER
    secret = store.begin("admin|*|x", "k2", "f", now=1000.0)
    store.finish("admin|*|x", "k2", secret.owner, ANSWER, keep_body=False)
    assert store.begin("admin|*|x", "k2", "f", now=1001.0).state is ClaimState.RUN_AGAIN


def test_a_released_key_runs_again(settings: Settings) -> None:
    store = build_ledger(settings).read.idempotency
    first = store.begin("s", "k", "f", now=1000.0)
    store.release("s", "k", first.owner)  # a 5xx: nothing kept
    assert store.begin("s", "k", "f", now=1001.0).state is ClaimState.RUN


def test_racing_attempts_one_runs_and_a_stale_one_is_taken_over_once(
        settings: Settings) -> None:
    store = build_ledger(settings).read.idempotency
    barrier, states, lock = threading.Barrier(6), [], threading.Lock()

    def attempt(now: float) -> None:
        barrier.wait()
        state = store.begin("s", "race", "f", now=now).state
        with lock:
            states.append(state)

    def race(now: float) -> list[ClaimState]:
        states.clear()
        threads = [threading.Thread(target=attempt, args=(now,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sorted(states, key=lambda s: s.value)

    assert race(1000.0) == [ClaimState.IN_PROGRESS] * 5 + [ClaimState.RUN]
    # the runner died (no answer within the lease): one retry takes it over, once
    assert race(1000.0 + store.lease + 1) == [ClaimState.IN_PROGRESS] * 5 + [ClaimState.RUN]


def test_answers_are_purged_after_a_day(settings: Settings) -> None:
    store = build_ledger(settings).read.idempotency
    old = store.begin("s", "old", "f", now=1000.0)
    store.finish("s", "old", old.owner, ANSWER)
    store.begin("s", "new", "f", now=1000.0 + KEEP_SECONDS + 3600)  # purges on its way
    assert store.begin("s", "old", "other", now=1000.0 + KEEP_SECONDS + 3601).state is \
        ClaimState.RUN
