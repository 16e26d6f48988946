"""The README's gate workflow as a user runs it (subprocesses), against local
OpenAI-compatible servers: baseline, unchanged check (no call, no key, no litellm import),
a ruined prompt (exit 1), the same edit with every call failing or the server down (exit 1,
errors named), and an empty API key (never exit 0)."""

import os
import socket

import pytest

from conftest import cli, run_cli  # run_cli where the process itself is tested (no litellm import)
from fakeserver import FakeServer
from helpers import make_task
from test_gate import REFS, SOURCES, failing, scripted


def other_model(messages, body):
    out = scripted(messages, body)
    return out if body["model"] != "other" else " ".join(out.split()[:-2])  # a weaker but stable model


@pytest.fixture
def workflow(tmp_path):
    tasks = tmp_path / "tasks"
    # 20 blocks: with 18 tests Holm's first level is 0.05/18, which a randomization test over
    # 8 blocks (smallest p 1/256) could never reach
    items = [{"id": f"p{k}", "source": s, "meta": {"block": f"b{k % 20}"}} for k, s in enumerate(SOURCES)]
    refs = [{"id": f"p{k}", "references": [r]} for k, r in enumerate(REFS)]
    make_task(tasks / "mt", items, refs, task_id="mt", metrics=("chrf", "bleu", "rouge"),
              prompt="Translate to English: {{ source }}")
    make_task(tasks / "gist", items, refs, task_id="gist", kind="summarize", metrics=("rouge", "numbers"),
              prompt="Summarise in English: {{ source }}")
    for name in ("mt", "gist"):  # one folder of task files, each with its own prompt and items
        (tasks / f"{name}.yaml").write_text((tasks / name / f"{name}.yaml").read_text()
                                            .replace("prompt.j2", f"{name}/prompt.j2")
                                            .replace("items.jsonl", f"{name}/items.jsonl")
                                            .replace("refs.jsonl", f"{name}/refs.jsonl"))
        (tasks / name / f"{name}.yaml").unlink()
    poison = tmp_path / "poison" / "litellm"  # a litellm that cannot be imported
    poison.mkdir(parents=True)
    (poison / "__init__.py").write_text("raise ImportError('litellm imported by a check that needs no call')\n")
    results = tmp_path / "results"
    with FakeServer(other_model) as srv, FakeServer(failing) as down:
        env = {"HARNESS_TASKS": str(tasks), "HARNESS_RESULTS": str(results), "HARNESS_STORE": None,
               "OPENAI_API_BASE": srv.base_url, "OPENAI_BASE_URL": srv.base_url,
               "OPENAI_API_KEY": "sk-test-e2e-gate-0000000"}
        yield tasks, results, srv, down, env, tmp_path / "poison"


def test_readme_gate_workflow(workflow, tmp_path):
    tasks, results, srv, down, env, poison = workflow
    out = cli("baseline", "update", "--model", "openai/good", "--model", "openai/other", "--limit", "20",
                  env=env)
    assert out.returncode == 0, out.stderr
    assert (results / "baseline.csv").exists() and "review and commit it" in out.stdout

    # unchanged prompts: every answer from the cache; no key needed, litellm never imported
    asked = srv.count()
    no_key = {**env, "OPENAI_API_KEY": "", "PYTHONPATH": f"{poison}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = run_cli("check", env=no_key)
    assert out.returncode == 0, out.stdout + out.stderr
    assert srv.count() == asked
    assert "✅ no regression" in out.stdout and "0 sent to a model" in out.stdout
    assert "✅ no regression" in (results / "check.md").read_text()

    # a ruined prompt on one task: exit 1, the task's metrics regressed
    (tasks / "mt" / "prompt.j2").write_text("Translate into Chinese: {{ source }}")
    out = cli("check", env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    regressed = [line for line in (results / "check.md").read_text().splitlines() if "❌ regressed" in line]
    assert regressed and all("| mt |" in line for line in regressed)
    assert {"openai/good", "openai/other"} <= {line.split("|")[1].strip() for line in regressed}
    # the terminal gets plain text within 80 columns; the Markdown table is the file's
    lines = out.stdout.splitlines()
    assert "| mt |" not in out.stdout and all(len(line) <= 80 for line in lines[:-1]), out.stdout
    assert {"  openai/good · mt", "  openai/other · mt"} <= set(lines)
    assert any(line.startswith("    REGRESSED: ") for line in lines)
    assert lines[-2:] == ["Markdown for the pull request:", str(results / "check.md")]
    assert srv.count() == asked + 40  # only the edited task's items, for both models

    # the same edit with every call failing: exit 1, the errors named per model and task
    failing_env = {**env, "OPENAI_API_BASE": down.base_url, "OPENAI_BASE_URL": down.base_url,
                   "HARNESS_STORE": str(tmp_path / "fresh-1.sqlite")}
    out = cli("check", env=failing_env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "no regression" not in out.stdout
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4  # 2 models × 2 tasks, all unanswered in a fresh store
    assert all("20 of 20 item(s) without an answer" in e and "500" in e for e in errors)
    assert "without an answer" in (results / "check.md").read_text()

    # the server down: the same
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    down_env = {**failing_env, "OPENAI_API_BASE": f"http://127.0.0.1:{port}/v1",
                "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "HARNESS_STORE": str(tmp_path / "fresh-2.sqlite")}
    out = cli("check", env=down_env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "no regression" not in out.stdout and "without an answer" in out.stdout

    # an empty key where calls are needed (a pull request from a fork): never exit 0
    out = cli("check", env={**env, "OPENAI_API_KEY": "", "HARNESS_STORE": str(tmp_path / "fresh-3.sqlite")})
    assert out.returncode in (1, 2), out.stdout + out.stderr
    assert "OPENAI_API_KEY" in out.stderr and "Traceback" not in out.stderr
    assert "no regression" not in (results / "check.md").read_text()

    # the edit accepted: a new baseline, then a clean check without calls
    out = cli("baseline", "update", env=env)
    assert out.returncode == 0, out.stderr
    asked = srv.count()
    out = cli("check", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert srv.count() == asked
    rows = (results / "baseline.csv").read_text().count("\n1,openai/")
    assert rows == 80
    # the key never reaches a file the gate writes (summaries, baseline, cache)
    for path in results.rglob("*"):
        if path.is_file():
            assert b"sk-test-e2e-gate" not in path.read_bytes(), path


def test_model_not_in_baseline_makes_no_call(workflow):
    tasks, results, srv, down, env, poison = workflow
    assert cli("baseline", "update", "--model", "openai/good", "--limit", "4", env=env).returncode == 0
    asked = srv.count()
    out = cli("check", "--model", "openai/c", env=env)
    assert out.returncode == 2
    assert out.stderr.count("error:") == 1 and "openai/c" in out.stderr
    assert srv.count() == asked
