"""Hostile input and broken state, tried as a user would: every case runs the CLI in a
subprocess (against a local OpenAI-compatible server where it needs one) and checks the
exit code, that stderr is one `error:` line with no traceback, and that no stored answer
is lost."""

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import ROOT, cli, run_cli
from fakeserver import FakeServer
from helpers import make_task, simple_items

KEY = "sk-test-hostile-0000000000000000"


def one_error_line(out, code: int, *needles: str) -> str:
    """The run exited with `code` and said why in exactly one `error:` line."""
    assert out.returncode == code, (out.returncode, out.stdout[-2000:], out.stderr[-2000:])
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, lines
    assert len(lines) == 1 or code != 2, lines  # usage/input errors: that line and nothing else
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


@pytest.fixture
def task(tmp_path):
    items, refs = simple_items(6)
    return make_task(tmp_path / "t", items, refs)


@pytest.fixture
def srv():
    with FakeServer() as s:
        yield s


def env_for(results, srv=None, **extra):
    env = {"HARNESS_RESULTS": str(results), "OPENAI_API_KEY": KEY, "HARNESS_STORE": None,
           "OPENAI_API_BASE": srv.base_url if srv else None, "OPENAI_BASE_URL": srv.base_url if srv else None}
    env.update(extra)
    return env


def stored_keys(results) -> set[str]:
    db = sqlite3.connect(results / "cache" / "responses.sqlite")
    try:
        return {k for (k,) in db.execute("SELECT key FROM responses")}
    finally:
        db.close()


# --- 1. CLI values --------------------------------------------------------------------------

BAD_VALUES = [
    (["--concurrency", "0"], "--concurrency"), (["--concurrency", "-2"], "--concurrency"),
    (["--concurrency", "0", "--workers", "2"], "--concurrency"), (["--workers", "0"], "--workers"),
    (["--max-retries", "-3"], "--max-retries"), (["--timeout", "-5"], "--timeout"), (["--timeout", "0"], "--timeout"),
    (["--timeout", "nan"], "--timeout"), (["--timeout", "inf"], "--timeout"), (["--rpm", "0"], "--rpm"),
    (["--rpm", "-10"], "--rpm"), (["--rpm", "nan"], "--rpm"), (["--tpm", "0"], "--tpm"), (["--tpm", "nan"], "--tpm"),
    (["--limit", "0"], "--limit"), (["--limit", "-1"], "--limit"), (["--max-error-rate", "1.5"], "--max-error-rate"),
    (["--max-error-rate", "nan"], "--max-error-rate"), (["--concurrency", "two"], "--concurrency"),
    (["--model", "openai/"], "openai/"), (["--model", "/x"], "/x"), (["--judge", "openai/ "], "openai/"),
    (["--no-such-flag"], "--no-such-flag"),
]


@pytest.mark.parametrize("args,needle", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_cli_value_is_one_line_exit_2(task, tmp_path, srv, args, needle):
    started = time.monotonic()
    out = cli("eval", "--model", "openai/m", "--task", str(task), *args, env=env_for(tmp_path / "r", srv),
                  timeout=60)
    one_error_line(out, 2, needle)
    assert srv.count() == 0 and time.monotonic() - started < 30  # rejected before any call, at once
    assert not (tmp_path / "r" / "runs").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_tpm_spaces_the_requests(tmp_path, workers):
    from harness.run._runner import Request, estimated_tokens
    from harness.task._spec import load_task

    items, refs = simple_items(4)
    path = make_task(tmp_path / "t", items, refs, max_tokens=32)
    task = load_task(path)
    tokens = [estimated_tokens(Request("m", task.render(i), {"max_tokens": 32}, "k")) for i in task.items]
    assert max(tokens) - min(tokens) < 1  # every request weighs about the same
    tpm = 60 * tokens[0]  # one request's tokens per second: the four starts span >= 3 s
    arrived = []
    with FakeServer(lambda m, b: arrived.append(time.monotonic()) or "ok") as srv:
        out = run_cli("eval", "--model", "openai/m", "--task", str(path), "--no-ci", "--tpm", f"{tpm:.3f}",
                      "--workers", workers, env=env_for(tmp_path / "r", srv))
    assert out.returncode == 0, out.stderr
    t = sorted(arrived)
    assert len(t) == 4
    if workers == "1":  # starts 1 s apart (the first call's own set-up may eat into the first gap)
        assert t[2] - t[1] >= 0.85 and t[3] - t[2] >= 0.85
    else:  # each of the two shares gets half the budget: its two requests start 2 s apart
        assert t[3] - t[0] >= 1.8


def test_other_commands_validate_their_numbers(tmp_path):
    env = {"HARNESS_RESULTS": str(tmp_path / "r")}
    one_error_line(cli("meta-eval", "--segments", "0", env=env, timeout=60), 2, "--segments")
    one_error_line(cli("baseline", "update", "--limit", "-4", env=env, timeout=60), 2, "--limit")
    one_error_line(cli("compare", "--models", "a/x", "b/", "--judge", "j/k", env=env, timeout=60), 2, "b/")
    one_error_line(cli("cache", "clear", "--model", "openai/", env=env, timeout=60), 2, "openai/")
    one_error_line(cli("evl", env=env, timeout=60), 2, "No such command 'evl'")
    bare = cli(env=env, timeout=60)  # no command at all: the help, not an error
    assert bare.returncode == 0 and "Usage:" in bare.stdout and "eval" in bare.stdout


# --- 2. templates ---------------------------------------------------------------------------

@pytest.mark.parametrize("template,line,needle", [
    ("Translate: {{ meta.domain }}", 1, "domain"),
    ("Translate:\n{{ source }}\n{{ meta.condition }} {{ meta.domain.name }}", 3, "domain"),
    ("Translate: {{ source | shout }}", 1, "shout"),
    ("Translate: {{ source is palindrome }}", 1, "palindrome"),
    ("{{ source }} {{ meta.block / 0 }}", 1, "unsupported operand"),
])
def test_bad_template_is_one_line_before_any_call(tmp_path, srv, template, line, needle):
    items, refs = simple_items(4)
    task = make_task(tmp_path / "t", items, refs, prompt=template)
    out = cli("eval", "--model", "openai/m", "--task", str(task), env=env_for(tmp_path / "r", srv), timeout=120)
    msg = one_error_line(out, 2, f"prompt.j2:{line}:", needle)
    assert "item i" in msg or "template error" in msg
    assert srv.count() == 0


# --- 3. exit codes --------------------------------------------------------------------------

def _eval(task, results, srv, *args, timeout=300):
    return cli("eval", "--model", "openai/m", "--task", str(task), "--no-ci", *args,
                   env=env_for(results, srv), timeout=timeout)


def test_exit_0_when_every_item_is_answered(task, tmp_path, srv):
    out = _eval(task, tmp_path / "r", srv)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and "error:" not in out.stderr
    items = pd.read_csv(next((tmp_path / "r").glob("runs/*/items.csv")), keep_default_na=False)
    assert len(items) == 6 and (items.error == "").all()


def test_exit_1_when_a_model_answers_nothing_after_writing_results(task, tmp_path):
    with FakeServer(lambda m, b: (500, {}, {"error": {"message": "down", "type": "server_error"}})) as srv:
        out = _eval(task, tmp_path / "r", srv, "--max-retries", "0")
    one_error_line(out, 1, "openai/m answered none of its 6", "InternalServer")
    items = pd.read_csv(next((tmp_path / "r").glob("runs/*/items.csv")), keep_default_na=False)
    assert len(items) == 6 and (items.error != "").all() and (items.output == "").all()
    board = pd.read_csv(tmp_path / "r" / "leaderboard.csv")
    assert (board.n_errors[board.condition == "all"] == 6).all()


def test_exit_1_when_the_error_rate_passes_the_limit(task, tmp_path):
    def respond(messages, body):
        if "第3句" in messages[-1]["content"]:
            return (400, {}, {"error": {"message": "bad request", "type": "invalid_request_error"}})
        return "fine"

    with FakeServer(respond) as srv:
        out = _eval(task, tmp_path / "r", srv)
        one_error_line(out, 1, "1 of 6 item(s) failed", "--max-error-rate 0.05")
        assert len(pd.read_csv(next((tmp_path / "r").glob("runs/*/items.csv")))) == 6
        again = _eval(task, tmp_path / "r", srv, "--max-error-rate", "0.2")
    assert again.returncode == 0, again.stderr


def test_exit_130_on_interrupt_keeps_every_answer(tmp_path):
    items, refs = simple_items(40)
    task = make_task(tmp_path / "t", items, refs)
    results = tmp_path / "r"
    with FakeServer(delay=0.2) as srv:
        env = {**os.environ, **{k: v for k, v in env_for(results, srv).items() if v is not None},
               "PYTHONPATH": str(ROOT)}
        env.pop("HARNESS_STORE", None)
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "eval", "--model", "openai/m", "--task",
                                 str(task), "--concurrency", "1", "--no-ci"], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while srv.count() < 4 and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(2)  # SIGINT, as Ctrl-C
        stdout, stderr = proc.communicate(timeout=60)
        out = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        one_error_line(out, 130, "interrupted", "run the same command again")
        kept = stored_keys(results)
        assert len(kept) >= 3
        before = srv.count()
        done = _eval(task, results, srv)
        assert done.returncode == 0, done.stderr
        assert srv.count() - before == 40 - len(kept)  # nothing that arrived is asked again


# --- 4. a damaged, read-only or misplaced cache ---------------------------------------------

def long_task(tmp_path, n=60):
    items = [{"id": f"i{k:03d}", "source": f"第{k}段。" + "今天天气很好,我们去公园散步。" * 40,
              "meta": {"block": f"b{k % 6}"}} for k in range(n)]
    refs = [{"id": f"i{k:03d}", "references": [f"Part {k}. The weather is nice."]} for k in range(n)]
    return make_task(tmp_path / "t", items, refs, prompt="{{ source }}")


def cache_file(results):
    return results / "cache" / "responses.sqlite"


def corrupt_files(path):
    """The damaged files kept aside (their -wal/-shm companions move with them)."""
    return [p for p in path.parent.glob(path.name + ".corrupt-*") if not p.name.endswith(("-wal", "-shm"))]


def test_random_bytes_cache_is_one_line_and_left_alone(task, tmp_path, srv):
    results = tmp_path / "r"
    cache_file(results).parent.mkdir(parents=True)
    junk = os.urandom(8192)
    cache_file(results).write_bytes(junk)
    out = _eval(task, results, srv)
    one_error_line(out, 2, str(cache_file(results)), "harness cache recover")
    assert cache_file(results).read_bytes() == junk and srv.count() == 0
    check = cli("cache", "check", env=env_for(results), timeout=60)
    one_error_line(check, 1, "damaged", "harness cache recover")
    rec = cli("cache", "recover", env=env_for(results), timeout=60)
    assert rec.returncode == 0 and "kept 0 answer(s)" in rec.stdout, rec.stderr
    aside = corrupt_files(cache_file(results))
    assert len(aside) == 1 and aside[0].read_bytes() == junk  # the damaged file is kept, untouched
    assert _eval(task, results, srv).returncode == 0


def test_truncated_cache_recover_keeps_what_can_be_read(tmp_path, srv):
    task = long_task(tmp_path)
    results = tmp_path / "r"
    assert _eval(task, results, srv).returncode == 0
    healthy = cli("cache", "check", env=env_for(results), timeout=60)
    assert healthy.returncode == 0 and "ok, 60 answer(s)" in healthy.stdout, healthy.stderr
    path = cache_file(results)
    data = path.read_bytes()
    assert len(data) > 100_000
    path.write_bytes(data[:len(data) // 2])
    half = path.read_bytes()
    before = srv.count()
    out = _eval(task, results, srv)
    one_error_line(out, 2, str(path), "harness cache check", "harness cache recover")
    assert srv.count() == before and path.read_bytes() == half  # nothing asked, nothing replaced
    one_error_line(cli("cache", "check", env=env_for(results), timeout=60), 1, "damaged")
    rec = cli("cache", "recover", env=env_for(results), timeout=60)
    assert rec.returncode == 0, rec.stderr
    kept = int(rec.stdout.split("kept ")[1].split()[0])
    assert 0 < kept < 60
    assert [p.read_bytes() for p in corrupt_files(path)] == [half]
    assert len(stored_keys(results)) == kept
    done = _eval(task, results, srv)
    assert done.returncode == 0, done.stderr
    assert srv.count() - before == 60 - kept  # every answer recovered is used, only the lost asked again


def _without_root_override() -> list[str]:
    """Root ignores file permissions: run the read-only case without that capability."""
    if os.geteuid() != 0:
        return []
    import shutil

    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot make a file read-only for the harness")
    return ["setpriv", "--inh-caps=-dac_override,-fowner", "--bounding-set=-dac_override,-fowner"]


def test_read_only_cache_serves_a_cached_rerun_and_says_so(task, tmp_path, srv):
    results = tmp_path / "r"
    assert _eval(task, results, srv).returncode == 0
    folder = cache_file(results).parent
    try:
        for p in folder.iterdir():
            os.chmod(p, 0o444)
        os.chmod(folder, 0o555)  # not even a -shm file can be created beside it
        cache_before = cache_file(results).read_bytes()
        env = {**os.environ, **{k: v for k, v in env_for(results, srv).items() if v is not None},
               "PYTHONPATH": str(ROOT)}
        env.pop("HARNESS_STORE", None)
        cmd = [*_without_root_override(), sys.executable, "-m", "harness.cli", "eval", "--model", "openai/m",
               "--task", str(task), "--no-ci"]
        before = srv.count()
        out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert "read-only" in out.stderr and "Traceback" not in out.stderr and srv.count() == before
        items = pd.read_csv(sorted(results.glob("runs/*/items.csv"))[-1])
        assert len(items) == 6 and items.cached.all()
        more = subprocess.run(cmd + ["--model", "openai/other"], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        one_error_line(more, 2, "read-only", "6 request(s) have no stored answer")
        assert srv.count() == before and cache_file(results).read_bytes() == cache_before
    finally:
        os.chmod(folder, 0o755)


@pytest.mark.parametrize("make_wrong,needle", [
    (lambda r: (r / "cache").write_text("x"), "cache: exists but is not a folder"),
    (lambda r: (r / "runs").write_text("x"), "runs: exists but is not a folder"),
    (lambda r: (r / "leaderboard.csv").mkdir(), "leaderboard.csv: is a folder"),
    (lambda r: (r / "pairwise.csv").mkdir(), "pairwise.csv: is a folder"),
])
def test_results_sub_path_of_the_wrong_kind(task, tmp_path, srv, make_wrong, needle):
    results = tmp_path / "r"
    results.mkdir()
    make_wrong(results)
    one_error_line(_eval(task, results, srv), 2, needle)
    assert srv.count() == 0


# --- 5. the cache knows what answered -------------------------------------------------------

def test_two_servers_under_one_model_name_each_answer_for_themselves(task, tmp_path):
    results = tmp_path / "r"
    with FakeServer(lambda m, b: "server A says " + m[-1]["content"][-8:]) as a, \
            FakeServer(lambda m, b: "server B says " + m[-1]["content"][-8:]) as b:
        assert _eval(task, results, a).returncode == 0
        out = _eval(task, results, b)
        assert out.returncode == 0, out.stderr
        assert b.count() == 6  # the second server is asked, not answered from the first one's cache
        again = _eval(task, results, a)
        assert again.returncode == 0 and a.count() == 6  # and each server's answers stay cached
    runs = sorted(results.glob("runs/*/"))
    outputs = [pd.read_csv(r / "items.csv", keep_default_na=False) for r in runs]
    assert outputs[0].output.str.startswith("server A").all()
    assert outputs[1].output.str.startswith("server B").all()
    assert outputs[2].output.str.startswith("server A").all() and outputs[2].cached.all()
    assert set(outputs[0].endpoint) == {a.base_url} and set(outputs[1].endpoint) == {b.base_url}
    assert set(outputs[1].model_version) == {"m"}  # what the server reported
    run = json.loads((runs[1] / "run.json").read_text())
    assert run["endpoints"] == {"openai/m": b.base_url} and run["model_versions"] == {"openai/m": ["m"]}
    board = pd.read_csv(results / "leaderboard.csv")
    assert len(board)  # the leaderboard is the last run's (server A's) scores


def test_refresh_asks_again_and_replaces_the_stored_answer(task, tmp_path):
    results = tmp_path / "r"
    answer = {"text": "first"}
    with FakeServer(lambda m, b: answer["text"]) as srv:
        assert _eval(task, results, srv).returncode == 0
        answer["text"] = "second"
        assert _eval(task, results, srv).returncode == 0 and srv.count() == 6  # cached
        assert _eval(task, results, srv, "--refresh").returncode == 0 and srv.count() == 12
        assert _eval(task, results, srv).returncode == 0 and srv.count() == 12
    last = pd.read_csv(sorted(results.glob("runs/*/items.csv"))[-1], keep_default_na=False)
    assert (last.output == "second").all() and last.cached.all()


def test_cache_clear_by_model_and_task(tmp_path):
    items, refs = simple_items(4)
    t1 = make_task(tmp_path / "t1", items, refs, task_id="one")
    t2 = make_task(tmp_path / "t2", items, refs, task_id="two", prompt="Please translate: {{ source }}")
    results = tmp_path / "r"
    with FakeServer() as srv:
        env = env_for(results, srv)
        for model in ("openai/m", "openai/n"):
            out = cli("eval", "--model", model, "--task", str(t1), "--task", str(t2), "--no-ci", env=env)
            assert out.returncode == 0, out.stderr
        assert srv.count() == 16
        cleared = cli("cache", "clear", "--model", "openai/m", "--task", str(t1), env=env, timeout=120)
        assert cleared.returncode == 0 and "deleted 4 stored answer(s) of openai/m for task one" in cleared.stdout
        out = cli("eval", "--model", "openai/m", "--model", "openai/n", "--task", str(t1), "--task", str(t2),
                      "--no-ci", env=env)
        assert out.returncode == 0 and srv.count() == 20  # only openai/m on task one was asked again
        cleared = cli("cache", "clear", "--model", "openai/n", env=env, timeout=120)
        assert "deleted 8 stored answer(s) of openai/n" in cleared.stdout
    assert len(stored_keys(results)) == 8


def test_default_endpoint_keys_are_the_old_keys_and_endpoints_are_normalised(monkeypatch):
    import hashlib

    from harness.model._providers import identity, key_identity, normalise_endpoint
    from harness.run._store import request_key

    msgs, settings = [{"role": "user", "content": "你好"}], {"temperature": 0.0, "max_tokens": 8}
    old = hashlib.sha256(json.dumps({"model": "openai/m", "messages": msgs, "settings": settings},
                                    sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    for var in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    assert identity("openai/m") == "" and request_key("openai/m", msgs, settings, key_identity("openai/m")) == old
    monkeypatch.setenv("OPENAI_API_BASE", "https://api.openai.com/v1/")
    assert identity("openai/m") == ""  # the default endpoint written out is still the default
    monkeypatch.setenv("OPENAI_API_BASE", "HTTP://user:sk-secret-123456@Box.Example:8000/V1/?api_key=sk-9#x")
    assert identity("openai/m") == "http://box.example:8000/v1"  # no credentials, query or fragment
    assert request_key("openai/m", msgs, settings, identity("openai/m")) != old
    monkeypatch.setenv("DEEPSEEK_API_BASE", "http://10.0.0.2:9000")
    assert identity("deepseek/deepseek-chat") == "http://10.0.0.2:9000"
    assert identity("baseline/lead") == "" and normalise_endpoint("") == ""


def test_local_model_identity_is_the_pinned_file_hash():
    import sys

    from harness.model._providers import identity, key_identity

    smol = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    gemma = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    assert identity("local/smollm2-135m") == smol and identity("local/gemma3-270m") == gemma
    # answers cached before the hash joined the key were made with this same pinned file
    assert key_identity("local/smollm2-135m") == "" and key_identity("local/gemma3-270m") == gemma
    import subprocess

    code = ("import sys; from harness.model._providers import identity; identity('local/gemma3-270m'); "
            "print('litellm' in sys.modules, 'llama_cpp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"], out.stderr


# --- 6. smaller ------------------------------------------------------------------------------

def test_utf8_bom_in_jsonl_files_is_accepted(tmp_path):
    from harness.task._spec import load_task

    items, refs = simple_items(3)
    path = make_task(tmp_path / "t", items, refs)
    for name in ("items.jsonl", "refs.jsonl"):
        f = path.parent / name
        f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    task = load_task(path)
    assert [i.id for i in task.items] == ["i0", "i1", "i2"]


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_result_files_honour_the_umask(tmp_path, mask, mode):
    from harness.core._io import atomic_write_text

    old = os.umask(mask)
    try:
        atomic_write_text(tmp_path / "x.csv", "a\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.csv").stat().st_mode) == mode


def test_eval_results_are_readable_by_the_group(task, tmp_path, srv):
    results = tmp_path / "r"
    old = os.umask(0o022)  # the default umask, inherited by the run
    try:
        assert _eval(task, results, srv).returncode == 0
    finally:
        os.umask(old)
    files = [p for p in results.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    assert {"items.csv", "run.json", "leaderboard.csv", "responses.sqlite"} <= {p.name for p in files}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) & 0o044 == 0o044, p


def test_retry_after_http_date_is_honoured_over_http(tmp_path, results, monkeypatch, caplog):
    from email.utils import formatdate

    from harness.pipeline._eval import RunOptions, run_eval
    from harness.run._runner import Limits
    from harness.task._spec import load_task

    items, refs = simple_items(1)
    task = load_task(make_task(tmp_path / "t", items, refs))
    seen = []

    def respond(messages, body):
        seen.append(time.time())
        if len(seen) == 1:
            return (429, {"Retry-After": formatdate(time.time() + 3, usegmt=True)},
                    {"error": {"message": "slow down", "type": "rate_limit"}})
        if len(seen) == 2:
            return (429, {"Retry-After": "120"}, {"error": {"message": "slow down", "type": "rate_limit"}})
        return "ok"

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeServer(respond) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        limits = Limits(max_retries=3, backoff_base=0.01, backoff_max=4.0)
        with caplog.at_level("WARNING", logger="harness.run._runner"):
            run_eval([task], RunOptions(["openai/m"], limits=limits, with_ci=False), results)
    assert len(seen) == 3
    assert 1.5 <= seen[1] - seen[0] <= 4.5  # the HTTP date, 2-3 s ahead at 1 s resolution
    assert 3.5 <= seen[2] - seen[1] <= 6.0  # 120 s asked, the 4 s cap waited
    assert any("Retry-After" in r.message and "cap" in r.message for r in caplog.records)


def test_a_secret_in_a_worker_exception_is_redacted(tmp_path, monkeypatch):
    from harness.core._errors import UserError
    from harness.run._runner import Limits, Request
    from harness.run._workers import Pool

    secret = "sk-test-WORKER-SECRET-5151515151"
    monkeypatch.setenv("OPENAI_API_KEY", secret)  # the worker inherits it at spawn
    blocker = tmp_path / "file"
    blocker.write_text("x")
    pool = Pool(1)
    try:
        with pytest.raises(UserError) as exc:  # the store path carries the key: the worker's error names it
            pool.run_share(0, str(blocker / f"{secret}.sqlite"),
                           [Request("openai/m", [{"role": "user", "content": "x"}], {}, "k")], Limits(), None)
        assert secret not in str(exc.value) and "[REDACTED]" in str(exc.value)
        assert "exists but is not a folder" in str(exc.value)
    finally:
        pool.close()


# --- 7. a report that cannot run anyone's code ----------------------------------------------

def payload(tag: str, kind: str = "script") -> str:
    # executed, it appends PWNED<tag> to the page; shown as text, "PWNED" and tag stay apart
    js = f"document.body.append('PWNED'+'{tag}')"
    return f"<script>{js}</script>" if kind == "script" else f"<img src=x onerror=\"{js}\">"


PAYLOADS = {"C1": payload("C1"), "C2": payload("C2"), "T": payload("T"), "S": payload("S", "img"),
            "R": payload("R"), "O": payload("O", "img"), "M": payload("M", "img"), "X": payload("X")}


def quotes_plain(page: str) -> str:
    """Quotes as characters, whichever entity wrote them (< > & stay escaped)."""
    for entity, char in (("&#39;", "'"), ("&#x27;", "'"), ("&#34;", '"'), ("&quot;", '"')):
        page = page.replace(entity, char)
    return page


def _chromium_dom(html_path, profile):
    import shutil

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        return None
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={profile}", "--dump-dom", html_path.as_uri()],
                          capture_output=True, text=True, timeout=120).stdout


def test_report_shows_script_payloads_as_text_and_runs_none(tmp_path):
    import html

    items = [{"id": f"i{k}", "source": f"第{k}段:模型回答了问题。" + (PAYLOADS["S"] if k == 0 else ""),
              "meta": {"condition": PAYLOADS["C1"] if k % 2 else PAYLOADS["C2"], "block": f"b{k % 6}"}}
             for k in range(12)]
    refs = [{"id": f"i{k}", "references": [f"Part {k}: the model answered." + (PAYLOADS["R"] if k == 0 else "")]}
            for k in range(12)]
    import yaml

    task = make_task(tmp_path / "t", items, refs, task_id="evil", prompt="{{ source }}")
    spec = yaml.safe_load(task.read_text(encoding="utf-8"))
    task.write_text(yaml.safe_dump({**spec, "id": PAYLOADS["T"]}, allow_unicode=True), encoding="utf-8")
    results = tmp_path / "r"
    model = "openai/" + PAYLOADS["M"]
    with FakeServer(lambda m, b: "the model answered " + PAYLOADS["O"]) as srv:
        env = env_for(results, srv)
        for m in (model, "baseline/copy"):
            out = cli("eval", "--model", m, "--task", str(task), env=env)
            assert out.returncode == 0, out.stderr
    board_path = results / "leaderboard.csv"
    board = pd.read_csv(board_path, keep_default_na=False)
    extra = board[board.metric == "chrf"].copy()
    extra["metric"] = PAYLOADS["X"]  # a metric name from someone else's leaderboard file
    pd.concat([board, extra]).to_csv(board_path, index=False)
    out = cli("report", env=env)
    assert out.returncode == 0, out.stderr
    page = (results / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page  # every payload escaped, wherever it went
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    shown = quotes_plain(page)
    for tag, p in PAYLOADS.items():
        assert html.escape(p, quote=False) in shown, tag  # there, as text (< and > escaped)
    assert "<svg" in page and html.escape(PAYLOADS["C1"], quote=False) in shown.split("by condition</h3>")[1]

    dom = _chromium_dom(results / "report.html", tmp_path / "profile")
    if dom is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: `make test` installs it (Debian package chromium)")
        pytest.skip("chromium not installed (make test installs it as root); the static checks above passed")
    assert 'class="leaderboard"' in dom
    for tag, p in PAYLOADS.items():
        assert f"PWNED{tag}" not in dom, f"payload {tag} ran"
        assert html.escape(p, quote=False) in quotes_plain(dom), f"payload {tag} not shown as text"
    # the detector works, and the policy alone stops a script that escaping missed
    live = results / "live.html"
    live.write_text(page.replace("</body>", payload("L") + "</body>"), encoding="utf-8")
    assert "PWNEDL" not in _chromium_dom(live, tmp_path / "p2")
    bare = results / "bare.html"
    bare.write_text(live.read_text().replace("Content-Security-Policy", "x-no-policy"), encoding="utf-8")
    assert "PWNEDL" in _chromium_dom(bare, tmp_path / "p3")


class _LimitsThatLeak:
    """Stands in for Limits inside a worker and fails with the key in its message."""

    breaker = 10

    @property
    def concurrency(self):
        raise ValueError("provider said: bad key " + os.environ["OPENAI_API_KEY"])


def test_a_worker_bug_carrying_the_key_is_reported_redacted(tmp_path, monkeypatch):
    import multiprocessing as mp
    import threading

    from harness.run._runner import Request
    from harness.run._workers import _serve

    secret = "sk-test-WORKER-BUG-SECRET-6262626262"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    parent, child = mp.Pipe()
    worker = threading.Thread(target=_serve, args=(child,), daemon=True)  # the worker's own loop, in a thread
    worker.start()
    assert parent.recv()[0] == "ready"
    parent.send({"store": str(tmp_path / "s.sqlite"), "limits": _LimitsThatLeak(), "progress": False,
                 "requests": [Request("openai/m", [{"role": "user", "content": "x"}], {}, "k")]})
    kind, message = parent.recv()
    parent.send(None)
    worker.join(timeout=30)
    assert kind == "failed" and "ValueError" in message and "Traceback" in message
    assert secret not in message and "[REDACTED]" in message
