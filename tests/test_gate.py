"""The CI gate on a scripted local server: a worse prompt fails, an unchanged one is free,
a neutral rewording stays within the noise."""

import hashlib

import pandas as pd
import pytest
from click.testing import CliRunner

from fakeserver import FakeServer
from harness.cli import main
from helpers import make_task

SOURCES = [f"第{k}个观点:大模型的进步来自{k % 7 + 2}个方面,包括数据和算力。" for k in range(40)]
REFS = [f"Point {k}: progress in large models comes from {k % 7 + 2} areas, including data and compute."
        for k in range(40)]


def scripted(messages, body):
    prompt = messages[-1]["content"]
    k = next(i for i, s in enumerate(SOURCES) if s in prompt)
    if "Chinese" in prompt:  # a prompt asking for Chinese output gets Chinese back
        return SOURCES[k]
    words = REFS[k].split()
    # wording-dependent noise: some prompts drop one word on a few items
    if int(hashlib.sha1((prompt[:12] + str(k)).encode()).hexdigest(), 16) % 10 == 0:
        words = words[:-1]
    return " ".join(words)


@pytest.fixture
def project(tmp_path, monkeypatch, results):
    tasks = tmp_path / "tasks"
    items = [{"id": f"p{k}", "source": s, "meta": {"block": f"b{k % 8}"}} for k, s in enumerate(SOURCES)]
    refs = [{"id": f"p{k}", "references": [r]} for k, r in enumerate(REFS)]
    make_task(tasks, items, refs, task_id="mt", metrics=("chrf", "bleu", "rouge"), prompt="Translate to English: {{ source }}")
    monkeypatch.setenv("HARNESS_TASKS", str(tasks))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-gate-000000000")
    with FakeServer(scripted) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        yield tasks, results, srv


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_gate_exit_codes(project, tmp_path):
    tasks, results, srv = project
    base = str(results / "baseline.csv")
    out = invoke("baseline", "update", "--model", "openai/mt", "--out", base)
    assert out.exit_code == 0, out.output
    from harness.pipeline import DEFAULT_LIMIT

    assert len(pd.read_csv(base)) == DEFAULT_LIMIT  # the default sample
    out = invoke("baseline", "update", "--model", "openai/mt", "--limit", "40", "--out", base)
    assert out.exit_code == 0 and len(pd.read_csv(base)) == 40
    summary = tmp_path / "check.md"

    asked = srv.count()
    out = invoke("check", "--baseline", base, "--summary", str(summary))
    assert out.exit_code == 0, out.output
    assert srv.count() == asked  # unchanged prompt: zero model calls
    assert "no regression" in summary.read_text()

    (tasks / "prompt.j2").write_text("Please render this in English: {{ source }}")
    out = invoke("check", "--baseline", base, "--summary", str(summary))
    assert out.exit_code == 0, out.output  # neutral rewording: small differences, within the noise
    assert srv.count() == asked + 40
    text = summary.read_text()
    assert "Prompts changed" in text and "`mt`" in text

    (tasks / "prompt.j2").write_text("Translate into Chinese: {{ source }}")
    out = invoke("check", "--baseline", base, "--summary", str(summary))
    assert out.exit_code == 1, out.output
    text = summary.read_text()
    assert "regression" in text and "| openai/mt | mt | chrf |" in text and "❌ regressed" in text
    assert "Worst items" in text and "before:" in text and "after:" in text


def test_gate_usage_errors(project, tmp_path):
    _, results, _ = project
    out = invoke("check", "--baseline", str(tmp_path / "missing.csv"))
    assert out.exit_code == 2 and "no baseline" in out.output
    bad = tmp_path / "gate.yaml"
    bad.write_text("alpah: 0.1\n")
    (tmp_path / "b.csv").write_text("schema_version,model\n1,x\n")
    out = invoke("check", "--baseline", str(tmp_path / "b.csv"))
    assert out.exit_code == 2 and "missing column" in out.output


def test_gate_catches_a_change_in_the_scorers(project, tmp_path, monkeypatch):
    _, results, _ = project
    base = str(results / "baseline.csv")
    assert invoke("baseline", "update", "--model", "openai/mt", "--limit", "10", "--out", base).exit_code == 0
    from harness.scorers import lexical

    monkeypatch.setattr(lexical, "rouge_l", lambda t, p: 0.5)  # a scorer broken by a code change
    summary = tmp_path / "check.md"
    out = invoke("check", "--baseline", base, "--summary", str(summary))
    assert out.exit_code == 1
    assert "rougeL (scoring changed)" in summary.read_text()
