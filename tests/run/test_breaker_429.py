"""429s are backoff's business, not the circuit breaker's: a lane that sees more than `breaker`
rate limits in a row (then success) stays closed; the same run of 500s opens it."""

import asyncio

import pytest

from harness.run._runner import Limits, Request, run
from harness.run._store import Store

BREAKER = 3
FAILURES = 5  # more than BREAKER consecutive failures, then success


def _scripted(status: int):
    class ProviderError(Exception):
        status_code = status

    calls = {"n": 0}

    async def call(req, timeout):
        calls["n"] += 1
        if calls["n"] <= FAILURES:
            raise ProviderError(f"HTTP {status}")
        return {"text": f"ok {calls['n']}"}

    return call, calls


def _run(tmp_path, status: int):
    call, calls = _scripted(status)
    store = Store(tmp_path / f"s{status}.sqlite")
    reqs = [Request("m", [], {}, f"k{i}") for i in range(3)]
    # one request in flight at a time, so the failures are consecutive on one lane; no backoff wait
    limits = Limits(concurrency=1, max_retries=FAILURES + 1, backoff_base=0.0, breaker=BREAKER)
    outs = asyncio.run(run(reqs, call, store, limits))
    store.close()
    return outs, calls["n"]


def test_many_429s_never_open_the_circuit(tmp_path):
    outs, n = _run(tmp_path, 429)
    assert [o.error for o in outs] == [None, None, None]
    assert all(o.response is not None for o in outs)
    # the lane saw five rate limits in a row (spread over the queued requests), then successes
    assert n == FAILURES + 3 and sum(o.attempts for o in outs) == n


def test_same_number_of_500s_opens_the_circuit(tmp_path):
    outs, n = _run(tmp_path, 500)
    assert n == BREAKER  # the third failure in a row opens the circuit; no call after it
    assert all(o.response is None for o in outs)
    assert all(o.error.startswith("circuit open") for o in outs)
    assert f"after {BREAKER} consecutive" in outs[0].error


@pytest.mark.parametrize("status", [429, 500])
def test_breaker_threshold_is_what_separates_them(tmp_path, status):
    # control: with a breaker above the failure run, 500s also end in success, so the
    # difference above is the 429 exemption and not the retry budget
    call, calls = _scripted(status)
    store = Store(tmp_path / "c.sqlite")
    limits = Limits(concurrency=1, max_retries=FAILURES + 1, backoff_base=0.0, breaker=FAILURES + 1)
    outs = asyncio.run(run([Request("m", [], {}, "k")], call, store, limits))
    store.close()
    assert outs[0].error is None and outs[0].attempts == FAILURES + 1
