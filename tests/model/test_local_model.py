"""The embedded models (Gemma 3 270M base and SmolLM2-135M-Instruct through llama-cpp-python's
server in a supervised child process) end to end through litellm, no mocks; their crash
handling with a real child process; and the baselines."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT, run_cli
import harness.model._providers as models
from harness.cli import main
import harness.model.local._catalog as local_catalog
from harness.model._baselines import lead
from harness.model.local._llama import process_for, stop_all
from harness.model.local._process import LocalProcess, LocalProcessDied
from harness.run._runner import Limits, Request, is_retryable, run
from harness.run._store import Store
from helpers import make_task

TRANSLATE_ITEMS = [
    {"id": "a", "source": "今天天气很好，我们下午去公园散步。", "meta": {"condition": "c", "block": "b1"}},
    {"id": "b", "source": "这个模型的参数越来越多，训练数据也越来越多。", "meta": {"condition": "c", "block": "b2"}},
    {"id": "c", "source": "我觉得人工智能会改变很多行业。", "meta": {"condition": "c", "block": "b3"}},
    {"id": "d", "source": "他们去年卖出了三百万台手机。", "meta": {"condition": "c", "block": "b4"}},
]
TRANSLATE_REFS = [
    {"id": "a", "references": ["The weather is nice today; we are going for a walk in the park this afternoon."]},
    {"id": "b", "references": ["This model has more and more parameters, and more and more training data."]},
    {"id": "c", "references": ["I think artificial intelligence will change many industries."]},
    {"id": "d", "references": ["Last year they sold three million phones."]},
]


@pytest.fixture(autouse=True)
def _stop_children():
    yield
    stop_all()


def test_child_loads_without_extra_buffer_types():
    """The AMX crash lives in the weight repacking that extra buffer types enable: the loaded
    model in the child must report use_extra_bufts = False (read back from llama.cpp's own
    model parameters), and the file loaded must be the pinned one. Logits are kept for the
    last token only (not an n_ctx x n_vocab array per prompt)."""
    for name in ("gemma3-270m", "smollm2-135m"):
        proc = process_for(name)
        proc.ensure()
        assert proc.info["use_extra_bufts"] is False and proc.info["logits_all"] is False
        assert proc.info["sha256"] == local_catalog.get(name).sha256
        assert proc.info["n_ctx"] == local_catalog.get(name).n_ctx == 4096


def test_extra_buffer_types_off_for_every_load_in_the_process():
    code = ("import llama_cpp.llama_cpp as n; from harness.model.local._server import avoid_extra_buffer_types; "
            "before = n.llama_model_default_params().use_extra_bufts; avoid_extra_buffer_types(); "
            "avoid_extra_buffer_types(); print(before, n.llama_model_default_params().use_extra_bufts)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.split() == ["True", "False"], out.stderr  # llama.cpp's default is on; ours is off


def test_tampered_model_file_is_refused(tmp_path, monkeypatch):
    bad = local_catalog.LocalModel("x", "p", "m", "f.gguf", "0" * 64, 4096, "chat", "test")
    path = tmp_path / "f.gguf"
    path.write_bytes(b"not a model")
    monkeypatch.setattr(local_catalog.LocalModel, "path", lambda self: path)
    with pytest.raises(models.UserError, match="does not match the pinned"):
        local_catalog.verified_path(bad)


def test_chat_model_answers_through_litellm():
    msgs = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    out = asyncio.run(models.call("local/smollm2-135m", msgs, {"temperature": 0, "max_tokens": 8}, {}, 120))
    assert "paris" in out["text"].lower()
    assert out["finish_reason"] in {"stop", "length"} and out["completion_tokens"] >= 1
    assert out["prompt_tokens"] > 5 and out["input_truncated"] is False
    assert out["model_version"].startswith("SmolLM2-135M-Instruct.Q4_1.gguf sha256:b179c952")


def test_completion_model_translates_with_the_few_shot_prompt():
    prompt = ("Chinese: 我喜欢猫。\nEnglish: I like cats.\n\nChinese: 他每天早上喝咖啡。\n"
              "English: He drinks coffee every morning.\n\nChinese: 今天天气很好。\nEnglish:")
    out = asyncio.run(models.call("local/gemma3-270m", [{"role": "user", "content": prompt}],
                                  {"temperature": 0, "max_tokens": 24, "stop": ["\n\n", "\nChinese:"]}, {}, 120))
    text = out["text"].lower()
    assert "weather" in text and "\n\n" not in text, out
    assert out["prompt_tokens"] > 20


def test_local_model_under_runner_concurrency(tmp_path):
    models.register()
    prompts = ["Say hello.", "Name a colour.", "Count to three."]
    reqs = [Request("local/smollm2-135m", [{"role": "user", "content": p}], {"temperature": 0, "max_tokens": 6},
                    key=f"k{i}") for i, p in enumerate(prompts)]

    async def call(req, timeout):
        return await models.call(req.model, req.messages, req.settings, req.extra, timeout)

    store = Store(tmp_path / "s.sqlite")
    outs = asyncio.run(run(reqs, call, store, Limits(concurrency=3, timeout=120)))
    assert all(o.response and o.response["text"].strip() for o in outs)
    # deterministic at temperature 0: the same prompt alone gives the same answer
    alone = asyncio.run(models.call("local/smollm2-135m", reqs[0].messages, reqs[0].settings, {}, 120))
    assert alone["text"] == outs[0].response["text"]


def test_local_model_long_input_is_truncated_not_crashing():
    msgs = [{"role": "user", "content": "word " * 6000 + "\nSummarize in one word."}]
    out = asyncio.run(models.call("local/smollm2-135m", msgs, {"temperature": 0, "max_tokens": 4}, {}, 300))
    assert out["input_truncated"] is True and out["prompt_tokens"] <= local_catalog.get("smollm2-135m").n_ctx
    prompt = "Chinese: " + "模型" * 5000 + "\nEnglish:"
    out = asyncio.run(models.call("local/gemma3-270m", [{"role": "user", "content": prompt}],
                                  {"temperature": 0, "max_tokens": 4}, {}, 300))
    assert out["input_truncated"] is True and out["prompt_tokens"] <= 4096


def test_killed_process_is_an_error_then_restarted_up_to_the_limit():
    """kill -9 (what the OOM killer does) and SIGSEGV: the request in flight or the next one
    fails with the cause, is not retryable, and the next request gets a fresh process; after
    MAX_RESTARTS deaths the model is given up for the run."""
    proc = LocalProcess("smollm2-135m", max_restarts=1)
    body = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    try:
        assert proc.post("/v1/chat/completions", body, 60)["choices"]
        first = proc.pid()
        os.kill(first, signal.SIGKILL)
        time.sleep(0.5)
        assert proc.post("/v1/chat/completions", body, 60)["choices"]  # restarted
        second = proc.pid()
        assert second and second != first and proc.deaths == ["signal 9 (SIGKILL)"]
        os.kill(second, signal.SIGSEGV)
        time.sleep(0.5)
        with pytest.raises(LocalProcessDied, match=r"died 2 times \(last: signal 11 \(SIGSEGV\)\)") as exc:
            proc.post("/v1/chat/completions", body, 60)
        assert not is_retryable(exc.value)
    finally:
        proc.stop()


def test_child_exits_when_its_parent_is_killed(tmp_path):
    """A supervisor killed with -9 must not leave the model's process running (it would hold
    a core and ~300 MB)."""
    script = ("import sys, time; from harness.model.local._process import LocalProcess; "
              "p = LocalProcess('smollm2-135m'); p.ensure(); print(p.pid(), flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    gone = False
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            gone = True
            break
        time.sleep(0.1)
    if not gone:
        os.kill(child, signal.SIGKILL)
    assert gone, "the model process outlived its supervisor"


def test_native_crash_mid_run_keeps_the_run(tmp_path, results):
    """The child crashes (SIGSEGV) on its 2nd generation: the run completes, the other model's
    rows are intact, the crashed item is an error naming the signal, and the next run (no
    fault) asks exactly the crashed items again."""
    task = make_task(tmp_path / "t", TRANSLATE_ITEMS, TRANSLATE_REFS, max_tokens=24)
    env = {"HARNESS_RESULTS": str(results), "HARNESS_LOCAL_FAULT": "crash-at:2"}
    args = ["eval", "--model", "baseline/copy", "--model", "local/smollm2-135m", "--task", str(task), "--no-ci"]
    first = run_cli(*args, env=env)
    assert "Traceback" not in first.stderr, first.stderr
    items = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False)
    local = items[items.model == "local/smollm2-135m"].set_index("item_id")
    died = local[local.error != ""]
    assert len(died) == 2, local[["error"]]  # the 2nd request of each of the two processes that ran
    assert all("local model process died: signal 11 (SIGSEGV)" in e for e in died.error)
    assert (local.output[local.error == ""].str.strip() != "").all()
    copy = items[items.model == "baseline/copy"]
    assert len(copy) == 4 and (copy.error == "").all()
    board = pd.read_csv(results / "leaderboard.csv")
    row = board[(board.model == "baseline/copy") & (board.condition == "all") & (board.metric == "chrf")].iloc[0]
    assert row.n == 4 and row.n_errors == 0
    assert (results / "pairwise.csv").exists() and (results / "leaderboard_wide.csv").exists()

    second = run_cli(*args, env={"HARNESS_RESULTS": str(results), "HARNESS_LOCAL_FAULT": ""})
    assert second.returncode == 0, second.stderr
    runs = sorted((results / "runs").glob("*/items.csv"))
    again = pd.read_csv(runs[-1], keep_default_na=False)
    again_local = again[again.model == "local/smollm2-135m"].set_index("item_id")
    assert (again_local.error == "").all()
    asked = set(again_local.index[again_local.cached.astype(str) == "False"])
    assert asked == set(died.index)


def test_serve_local_is_an_openai_compatible_server(tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "harness.cli", "serve-local", "--model", "smollm2-135m",
                               "--port", str(port)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        monkeypatch.setenv("OPENAI_API_BASE", f"http://127.0.0.1:{port}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "anything")
        msgs = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
        out = asyncio.run(models.call("openai/smollm2-135m", msgs, {"temperature": 0, "max_tokens": 8}, {}, 120))
        assert "paris" in out["text"].lower()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_lead_baseline():
    assert lead("第一句。第二句!第三句?", "sentences", 2) == "第一句。第二句!"
    assert lead("abcdef", "chars", 3) == "abc"


def test_gemma_beats_the_copy_baseline_on_translation(tmp_path, results):
    """The point of the default offline model: real English, so chrF above copying the source.
    The completion prompt (few-shot, stop at a blank line) is the one this task declares."""
    prompt = ("Chinese: 我喜欢猫。\nEnglish: I like cats.\n\nChinese: 他每天早上喝咖啡。\n"
              "English: He drinks coffee every morning.\n\nChinese: {{ source }}\nEnglish:")
    task = make_task(tmp_path / "t", TRANSLATE_ITEMS, TRANSLATE_REFS, max_tokens=40,
                     extra={"completion": {"prompt": "completion.j2", "stop": ["\n\n", "\nChinese:"]}})
    (tmp_path / "t" / "completion.j2").write_text(prompt, encoding="utf-8")
    out = CliRunner().invoke(main, ["eval", "--model", "baseline/copy", "--model", "local/gemma3-270m",
                                    "--task", str(task), "--no-ci"])
    assert out.exit_code == 0, out.output
    board = pd.read_csv(results / "leaderboard.csv")
    chrf = board[(board.condition == "all") & (board.metric == "chrf")].set_index("model").value
    assert chrf["local/gemma3-270m"] > chrf["baseline/copy"] + 10, chrf
    items = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False)
    gemma = items[items.model == "local/gemma3-270m"]
    assert gemma.prompt_hash.nunique() == 1
    import hashlib

    assert gemma.prompt_hash.iloc[0] == hashlib.sha256(prompt.encode()).hexdigest()[:12]  # the template used
    run = json.loads(next((results / "runs").glob("*/run.json")).read_text())
    assert run["n_errors"] == 0


def test_local_model_can_judge_offline(tmp_path, results):
    """The embedded chat model as judge: grammar-constrained JSON. A 135M model may still
    loop inside a string until max_tokens; then the item must carry that parse failure, no
    score, and the reliability row must count it (never a silent 0 or a made-up score), and eval exits 1
    because that judge failed on more than --max-error-rate of its requests."""
    items = [{"id": "a", "source": "今天天气很好。", "meta": {"condition": "c"}}]
    refs = [{"id": "a", "references": ["The weather is nice today."]}]
    task = make_task(tmp_path / "t", items, refs, max_tokens=16)
    out = CliRunner().invoke(main, ["eval", "--model", "baseline/copy", "--judge", "local/smollm2-135m",
                                    "--task", str(task), "--no-ci"])
    assert out.exit_code in (0, 1), out.output
    board = pd.read_csv(results / "leaderboard.csv")
    rel = board[board.model == "judge:local/smollm2-135m"].set_index("metric").value
    assert "judge_self_agreement" in rel
    items_csv = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False)
    failure = items_csv["judge:local/smollm2-135m:failure"].iloc[0]
    score = items_csv["score_judge:local/smollm2-135m:overall"].iloc[0]
    if failure:  # every reply failed: above --max-error-rate, so eval says so and exits 1
        assert failure.startswith("parse failure") and score == "", (failure, score)
        assert rel["judge_parse_failure_rate"] == 100.0
        assert out.exit_code == 1 and "judge local/smollm2-135m" in out.output, out.output
    else:
        assert 1 <= float(score) <= 5 and rel["judge_parse_failure_rate"] == 0.0
        assert out.exit_code == 0, out.output
