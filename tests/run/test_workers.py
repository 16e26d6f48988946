"""`harness eval --workers N`: the same results as one process, every request asked once."""

import asyncio
import os
import sqlite3
from collections import Counter

import pandas as pd
import pytest
from click.testing import CliRunner

from fakeserver import FakeServer
import harness.run._workers as workers
from harness.cli import main
from harness.run._runner import Limits, Request
from harness.run._store import Store, request_key
from helpers import make_task

BOARD_KEYS = ["model", "task", "condition", "metric"]
BOARD_VALUES = ["value", "ci_low", "ci_high", "n", "n_errors", "signature", "prompt_hash"]
ITEM_SAME = ["model", "task", "item_id", "condition", "block", "prompt_hash", "output", "error", "attempts",
             "finish_reason", "input_truncated", "prompt_tokens", "completion_tokens", "cost_usd", "cached"]


def fails_some(messages, body):
    """Deterministic: items whose number ends in 7 get a non-retryable 400, the rest an echo."""
    text = messages[-1]["content"]
    if "号7" in text:
        return (400, {}, {"error": {"message": "bad request for this item", "type": "invalid_request_error"}})
    return text[-60:].upper()


def task_file(tmp_path, n=60):
    items = [{"id": f"i{k:03d}", "source": f"第{k}号{k % 10}:模型在第{k}天回答了问题。",
              "meta": {"condition": f"c{k % 3}", "block": f"b{k % 12}"}} for k in range(n)]
    refs = [{"id": f"i{k:03d}", "references": [f"Item {k}: the model answered on day {k}."]} for k in range(n)]
    return make_task(tmp_path / "task", items, refs)


def run_once(tmp_path, monkeypatch, name, task, n_workers):
    results = tmp_path / name
    monkeypatch.setenv("HARNESS_RESULTS", str(results))
    monkeypatch.delenv("HARNESS_STORE", raising=False)
    # the same port for both runs: the endpoint is part of the cache key
    with FakeServer(fails_some, port=getattr(run_once, "port", 0)) as server:
        run_once.port = server.port
        for var in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
            monkeypatch.setenv(var, server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-workers-000000000000")
        out = CliRunner().invoke(main, ["eval", "--model", "openai/a", "--model", "openai/b", "--model",
                                        "baseline/copy", "--task", str(task), "--max-retries", "0",
                                        "--concurrency", "8", "--workers", str(n_workers), "--max-error-rate", "0.2"],
                                 catch_exceptions=False)
        assert out.exit_code == 0, out.output  # 10% of the items fail on purpose
        asked = [(r["model"], r["messages"][-1]["content"]) for r in server.requests]
    items = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False)
    board = pd.read_csv(results / "leaderboard.csv", keep_default_na=False)
    with sqlite3.connect(results / "cache" / "responses.sqlite") as db:
        stored = db.execute("SELECT key, model FROM responses").fetchall()
    return asked, items, board, stored


def test_two_workers_give_the_same_results_and_ask_each_request_once(tmp_path, monkeypatch):
    task = task_file(tmp_path)
    asked1, items1, board1, stored1 = run_once(tmp_path, monkeypatch, "one", task, 1)
    asked2, items2, board2, stored2 = run_once(tmp_path, monkeypatch, "two", task, 2)
    try:
        # a second process really answered part of the run
        assert workers._pool is not None and len(workers._pool[1].procs) == 1
        assert workers._pool[1].procs[0].pid != os.getpid()
    finally:
        workers.shutdown()

    # every hosted request asked exactly once, and the same set as one process asks
    assert max(Counter(asked2).values()) == 1
    assert sorted(asked2) == sorted(asked1) and len(asked2) == 2 * 60

    # every answer stored once under the same cache keys; errors are not stored
    assert sorted(stored2) == sorted(stored1)
    assert len(stored2) == len({k for k, _ in stored2}) == 3 * 60 - 2 * 6

    # identical per-item records (order included) and leaderboard
    assert list(items2.columns) == list(items1.columns)
    assert items2[ITEM_SAME].equals(items1[ITEM_SAME])
    assert (items2.error != "").sum() == 2 * 6 and items2.error.str.contains("bad request").sum() == 12
    score_cols = [c for c in items1.columns if c.startswith("score_")]
    assert items2[score_cols].equals(items1[score_cols])
    b1 = board1.sort_values(BOARD_KEYS).reset_index(drop=True)
    b2 = board2.sort_values(BOARD_KEYS).reset_index(drop=True)
    assert b2[BOARD_KEYS + BOARD_VALUES].equals(b1[BOARD_KEYS + BOARD_VALUES])


def req(model, text, extra=None):
    messages = [{"role": "user", "content": text}]
    settings = {"temperature": 0, "max_tokens": 16}
    return Request(model, messages, settings, request_key(model, messages, settings), tag=text, extra=extra or {})


def test_split_is_deterministic_balanced_and_keeps_equal_keys_together():
    reqs = [req(m, f"t{k}") for k in range(10) for m in ("openai/a", "openai/b")] + [req("openai/a", "t3")]
    shares = workers.split(reqs, 3)
    assert shares == workers.split(reqs, 3)
    assert sorted(id(r) for s in shares for r in s) == sorted(id(r) for r in reqs)
    for model in ("openai/a", "openai/b"):
        sizes = [len({r.key for r in s if r.model == model}) for s in shares]
        assert max(sizes) - min(sizes) <= 1
    where = {r.key: k for k, s in enumerate(shares) for r in s}
    assert all(r in shares[where[r.key]] for r in reqs)  # both copies of t3 in one share
    for n in (1, 2, 3, 5):
        parts = [workers.share_limits(Limits(concurrency=32, rpm=600), n, k) for k in range(n)]
        assert sum(p.concurrency for p in parts) == 32 and sum(p.rpm for p in parts) == pytest.approx(600)


def test_local_model_stays_in_this_process(tmp_path, monkeypatch):
    with FakeServer() as server:
        for var in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
            monkeypatch.setenv(var, server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-workers-000000000000")
        here = []

        async def call(r, timeout):  # this process's share; the local model is faked here
            here.append(r.model)
            if r.model.startswith("local/"):
                return {"text": "local answer " + r.tag}
            import harness.model._providers as models

            return await models.call(r.model, r.messages, r.settings, r.extra, timeout)

        reqs = [req("local/smollm2-135m", f"l{k}") for k in range(5)] + [req("openai/a", f"r{k}") for k in range(20)]
        store = Store(tmp_path / "s.sqlite")
        try:
            outs = asyncio.run(workers.run_split(reqs, call, store, Limits(concurrency=4), workers=2))
            assert [o.request for o in outs] == reqs
            assert all(o.response and o.error is None for o in outs)
            assert here.count("local/smollm2-135m") == 5  # every local request answered here
            assert here.count("openai/a") == 10 and server.count() == 20  # half of the rest went to the worker
            assert [o.response["text"] for o in outs[:5]] == [f"local answer l{k}" for k in range(5)]
            assert len(store.get_many([r.key for r in reqs])) == 25
        finally:
            store.close()
            workers.shutdown()


def test_a_worker_killed_mid_run_loses_nothing_and_a_rerun_asks_only_the_rest(tmp_path, monkeypatch):
    import signal
    import threading

    from harness.run._execute import execute

    state = {"n": 0, "pid": None}
    lock = threading.Lock()

    def respond(messages, body):
        with lock:
            state["n"] += 1
            if state["n"] == 12 and state["pid"]:
                os.kill(state["pid"], signal.SIGKILL)
        return messages[-1]["content"].upper()

    with FakeServer(respond, delay=0.2) as server:
        for var in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
            monkeypatch.setenv(var, server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-workers-000000000000")
        reqs = [req("openai/a", f"k{k}") for k in range(40)]
        store = Store(tmp_path / "s.sqlite")
        try:
            pool = workers.pool(1)
            pool.wait_ready()
            state["pid"] = pool.procs[0].pid
            outs = execute(reqs, store, Limits(concurrency=4, max_retries=0), workers=2)
            assert [o.request for o in outs] == reqs
            lost = [o for o in outs if o.response is None]
            assert lost and all("worker process exited" in o.error for o in lost)
            assert all(o.response["text"] == o.request.messages[-1]["content"].upper() for o in outs if o.response)
            assert len(store.get_many([r.key for r in reqs])) == 40 - len(lost)
            asked = server.count()
            again = execute(reqs, store, Limits(concurrency=4, max_retries=0), workers=1)
            assert all(o.response for o in again)
            assert server.count() - asked == len(lost)  # only what had no stored answer
            # answers the worker stored before it died are kept, not asked again
            assert sum(o.cached for o in again) == 40 - len(lost)
        finally:
            store.close()
            workers.shutdown()
