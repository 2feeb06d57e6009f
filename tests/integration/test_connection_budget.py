"""The connection budget is measured, and the measure can fail (tests/connection_budget.py)."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.conftest import POSTGRES_URL
from tests.connection_budget import ConnectionSampler, over_budget


@pytest.mark.postgres
def test_the_sampler_sees_connections_held_at_once_and_an_excess_fails() -> None:
    sampler = ConnectionSampler(POSTGRES_URL, app_name="certledger-budget-probe",
                                every=0.005).start()
    try:
        connections = [psycopg.connect(POSTGRES_URL, application_name="certledger-budget-probe")
                       for _ in range(3)]
        try:
            deadline = time.monotonic() + 5
            while sampler.peak < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            for connection in connections:
                connection.close()
    finally:
        sampler.stop()
    assert sampler.peak == 3
    assert over_budget(sampler, 3) is None
    message = over_budget(sampler, 2)
    assert message is not None and "held 3" in message and "budget is 2" in message
