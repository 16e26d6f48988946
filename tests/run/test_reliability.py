"""Faults, crashes, bad input and secrets: injected, and checked to lose nothing."""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from fakeserver import FakeServer
from harness.core._errors import UserError
from harness.pipeline._eval import RunOptions, run_eval
from harness.run._runner import Limits, Request, run
from harness.run._store import Store
from harness.task._spec import load_task
from helpers import make_task


def many_items(n):
    items = [{"id": f"i{k:03d}", "source": f"第{k}条:模型在第{k}天回答了问题。", "meta": {"block": f"b{k % 10}"}}
             for k in range(n)]
    refs = [{"id": f"i{k:03d}", "references": [f"Item {k}: the model answered on day {k}."]} for k in range(n)]
    return items, refs


def flaky(fail_rate=0.2, hang_rate=0.02, hang_s=2.5, seed=7):
    rng = random.Random(seed)
    lock = threading.Lock()

    def respond(messages, body):
        with lock:
            r = rng.random()
        if r < hang_rate:
            return (-1, {}, hang_s)
        if r < hang_rate + fail_rate / 2:
            return (429, {"Retry-After": "0"}, {"error": {"message": "rate limited", "type": "rate_limit"}})
        if r < hang_rate + fail_rate:
            return (500, {}, {"error": {"message": "server exploded", "type": "server_error"}})
        return messages[-1]["content"][-40:].upper()
    return respond


@pytest.fixture
def env(monkeypatch, results):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-reliability-000000000000")
    return results


def test_faults_lose_nothing_and_second_run_completes_errors(tmp_path, env, monkeypatch):
    items, refs = many_items(200)
    task = load_task(make_task(tmp_path / "t", items, refs))
    with FakeServer(flaky()) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        limits = Limits(concurrency=16, timeout=1.0, max_retries=1, backoff_base=0.01, backoff_max=0.05,
                        breaker=1000)
        summary = run_eval([task], RunOptions(["openai/flaky"], limits=limits, with_ci=False), env)
        run_id, rows = summary.run_id, summary.rows
        first = pd.read_csv(env / "runs" / run_id / "items.csv", keep_default_na=False)
        assert len(first) == 200 and first.item_id.is_unique  # none lost, none duplicated
        answered, errored = first[first.error == ""], first[first.error != ""]
        assert len(answered) + len(errored) == 200
        assert len(errored) > 0 and (answered.output != "").all()
        assert errored.error.str.contains("RateLimit|InternalServer|Timeout|500|429", regex=True).all()
        assert (errored.output == "").all()  # an error is never an (empty) answer
        row = next(r for r in rows if r["metric"] == "chrf" and r["condition"] == "all")
        assert row["n"] == len(answered) and row["n_errors"] == len(errored)

        srv.responder = lambda m, b: m[-1]["content"][-40:].upper()
        before = srv.count()
        summary2 = run_eval([task], RunOptions(["openai/flaky"], retry_errors=True, limits=limits, with_ci=False), env)
        run_id2, rows2 = summary2.run_id, summary2.rows
        assert srv.count() - before == len(errored)  # only the errored items were asked again
        second = pd.read_csv(env / "runs" / run_id2 / "items.csv", keep_default_na=False)
        assert (second.error == "").all() and len(second) == 200
        assert next(r for r in rows2 if r["metric"] == "chrf" and r["condition"] == "all")["n_errors"] == 0


def test_retry_after_is_honoured_and_breaker_stops_a_dead_model(tmp_path, monkeypatch):
    waits = []
    real_sleep = asyncio.sleep

    async def fake_sleep(s):
        waits.append(s)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)

    class Limited(Exception):
        status_code = 429

        def __init__(self):
            super().__init__("slow down")
            self.litellm_response_headers = {"retry-after": "7"}

    calls = {"n": 0}

    async def call(req, timeout):
        calls["n"] += 1
        if calls["n"] == 1:
            raise Limited()
        return {"text": "ok"}

    store = Store(tmp_path / "s.sqlite")
    out = asyncio.run(run([Request("m", [], {}, "k1")], call, store, Limits(max_retries=2)))
    assert out[0].response == {"text": "ok"} and out[0].attempts == 2
    assert 7.0 in waits

    class Down(Exception):
        status_code = 503

    dead = {"n": 0}

    async def always_down(req, timeout):
        dead["n"] += 1
        raise Down("unavailable")

    reqs = [Request("dead", [], {}, f"d{i}") for i in range(50)]
    outs = asyncio.run(run(reqs, always_down, store, Limits(concurrency=1, max_retries=2, breaker=3)))
    assert all(o.response is None for o in outs)
    assert dead["n"] == 3  # three failed calls in a row, then the circuit opened
    assert all("circuit open" in o.error for o in outs[1:])
    assert store.get("d0") is None  # errors are never cached


def test_kill_9_then_resume_repeats_no_stored_call(tmp_path):
    items, refs = many_items(60)
    task = make_task(tmp_path / "t", items, refs)
    env = {"OPENAI_API_KEY": "sk-test-kill-0000000000", "HARNESS_RESULTS": str(tmp_path / "r1"),
           "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "harness.cli", "eval", "--model", "openai/slow", "--task", str(task),
           "--concurrency", "4", "--no-ci"]
    with FakeServer(lambda m, b: m[-1]["content"][-40:].upper(), delay=0.05) as srv:
        env["OPENAI_API_BASE"] = srv.base_url
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while srv.count() < 25 and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = Store(tmp_path / "r1" / "cache" / "responses.sqlite")
        stored = {json.loads(r[0])["messages"][0]["content"] for r in store.db.execute("SELECT request FROM responses")}
        store.close()
        assert 0 < len(stored) < 60
        asked_before = srv.count()
        done = subprocess.run(cmd, env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        resumed = [r["messages"][0]["content"] for r in srv.requests[asked_before:]]
        assert not set(resumed) & stored  # no stored answer was asked for again
        assert len(resumed) == 60 - len(stored)

        clean = subprocess.run(cmd, env={**os.environ, **env, "HARNESS_RESULTS": str(tmp_path / "r2")}, cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
        assert clean.returncode == 0, clean.stderr
    cols = ["model", "task", "condition", "metric", "value", "n", "n_errors"]
    a = pd.read_csv(tmp_path / "r1" / "leaderboard.csv")[cols]
    b = pd.read_csv(tmp_path / "r2" / "leaderboard.csv")[cols]
    pd.testing.assert_frame_equal(a, b)


def test_secrets_never_reach_any_file(tmp_path):
    secret = "sk-test-RECOGNISABLE-SECRET-4242424242"
    items, refs = many_items(6)
    task = make_task(tmp_path / "t", items, refs)

    def respond(messages, body):
        if "第3条" in messages[-1]["content"]:  # one item: the provider echoes the key in an error
            return (401, {}, {"error": {"message": f"Incorrect API key provided: {secret}", "type": "auth"}})
        return "fine"

    results = tmp_path / "r"
    with FakeServer(respond) as srv:
        env = {**os.environ, "OPENAI_API_KEY": secret, "OPENAI_API_BASE": srv.base_url,
               "HARNESS_RESULTS": str(results)}
        out = subprocess.run([sys.executable, "-m", "harness.cli", "eval", "--model", "openai/x", "--task", str(task)],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert out.returncode == 1 and "1 of 6 item(s) failed" in out.stderr, out.stderr  # 17% > --max-error-rate
        assert any(secret in v for h in srv.headers_seen for k, v in h.items() if k.lower() == "authorization")
    assert secret not in out.stdout + out.stderr
    files = [p for p in results.rglob("*") if p.is_file()]
    assert any(p.name == "items.csv" for p in files) and any(p.suffix == ".sqlite" for p in files)
    for p in files:
        assert secret.encode() not in p.read_bytes(), p
    items_csv = pd.read_csv(next(results.glob("runs/*/items.csv")), keep_default_na=False)
    assert items_csv.error.str.contains("REDACTED").any()


def test_concurrent_runs_share_the_leaderboard(tmp_path):
    items, refs = many_items(30)
    task = make_task(tmp_path / "t", items, refs)
    results = tmp_path / "r"
    with FakeServer(lambda m, b: "ok " + m[-1]["content"][-10:], delay=0.01) as srv:
        env = {**os.environ, "OPENAI_API_KEY": "sk-test-conc-00000000", "OPENAI_API_BASE": srv.base_url,
               "HARNESS_RESULTS": str(results)}
        procs = [subprocess.Popen([sys.executable, "-m", "harness.cli", "eval", "--model", f"openai/m{k}",
                                   "--task", str(task)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for k in range(3)]
        for p in procs:
            assert p.wait(timeout=300) == 0, p.stderr.read()
    board = pd.read_csv(results / "leaderboard.csv")
    assert set(board.model) == {"openai/m0", "openai/m1", "openai/m2"}
    assert board.groupby(["model", "task", "condition", "metric"]).size().max() == 1
    assert len(list(results.glob("runs/*/items.csv"))) == 3


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(json_values.map(json.dumps), st.text(max_size=40), st.binary(max_size=30).map(
    lambda b: b.decode("latin-1"))), max_size=6),
    spec=st.dictionaries(st.sampled_from(["id", "kind", "metrics", "prompt", "items", "references", "bogus",
                                          "generation", "source_lang", "target_lang"]), json_values, max_size=8))
def test_loader_fuzz_only_raises_user_errors(tmp_path_factory, lines, spec):
    folder = tmp_path_factory.mktemp("fuzz")
    items, refs = many_items(2)
    path = make_task(folder, items, refs)
    (folder / "items.jsonl").write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    base = yaml.safe_load(path.read_text())
    if spec:
        base.update(spec)
    path.write_text(yaml.safe_dump(base, allow_unicode=True))
    try:
        load_task(path)
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc)


def test_rate_limits_space_calls(monkeypatch, tmp_path):
    from harness.run._runner import RateLimiter, estimated_tokens

    clock = {"t": 100.0}
    waits = []
    monkeypatch.setattr("harness.run._runner.time.monotonic", lambda: clock["t"])

    async def fake_sleep(s):
        waits.append(s)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)

    async def go():
        rpm = RateLimiter(120)  # one start every 0.5 s
        for _ in range(3):
            await rpm.wait()
        tpm = RateLimiter(6000)  # 100 tokens per second
        await tpm.wait(300)
        await tpm.wait(300)

    asyncio.run(go())
    assert waits == [pytest.approx(0.5), pytest.approx(1.0), pytest.approx(3.0)]
    req = Request("m", [{"role": "user", "content": "x" * 300}], {"max_tokens": 50}, "k")
    assert estimated_tokens(req) == pytest.approx(150)
