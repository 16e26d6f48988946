"""A metric added the way docs/extending.md says (one module, one `register` line, the
task file lists it) appears in the leaderboard, the gate and the report, with the
direction, scale and threshold its record declares."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from fakeserver import FakeServer
from harness.cli import main
from harness.score import Metric, registry
from helpers import make_task

SOURCES = [f"第{k}个观点:大模型的进步来自{k % 7 + 2}个方面。" for k in range(24)]
REFS = [f"Point {k}: progress in large models comes from {k % 7 + 2} areas." for k in range(24)]

MODULE = '''
import numpy as np

from harness.score import Scorer


class Calm(Scorer):
    """Share of outputs without an exclamation mark."""

    family = "calm"
    names = ("calm_share",)

    def __init__(self, lang):
        self.lang = lang

    def signature(self):
        return "calm|no-exclamation-mark"

    def stats(self, hyps, items):
        return np.array([[0.0 if "!" in h else 1.0, 1.0] for h in hyps])

    def score_sums(self, total, n):
        return {"calm_share": 100 * total[0] / total[1] if n else float("nan")}
'''


def answer(messages, body):
    prompt = messages[-1]["content"]
    k = next(i for i, s in enumerate(SOURCES) if s in prompt)
    return REFS[k] + ("!" if "Excitedly" in prompt else "")


@pytest.fixture
def calm(tmp_path, monkeypatch):
    (tmp_path / "my_metrics.py").write_text(MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.register("calm", "my_metrics:Calm", Metric("calm_share", threshold=5.0))  # the one line
    yield
    registry._FAMILIES.pop("calm")
    registry._METRICS.pop("calm_share")
    sys.modules.pop("my_metrics", None)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_metric_added_as_the_docs_say_reaches_leaderboard_gate_and_report(calm, tmp_path, monkeypatch, results):
    tasks = tmp_path / "tasks"
    items = [{"id": f"p{k}", "source": s, "meta": {"block": f"b{k % 8}"}} for k, s in enumerate(SOURCES)]
    refs = [{"id": f"p{k}", "references": [r]} for k, r in enumerate(REFS)]
    make_task(tasks, items, refs, task_id="mt", metrics=("chrf", "calm"), prompt="Translate: {{ source }}")
    monkeypatch.setenv("HARNESS_TASKS", str(tasks))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-calm-000000000")
    with FakeServer(answer) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        out = invoke("eval", "--model", "openai/mt", "--task", "mt", "--limit", "24")
        assert out.exit_code == 0, out.output
        board = pd.read_csv(results / "leaderboard.csv")
        row = board[(board.metric == "calm_share") & (board.condition == "all")].iloc[0]
        assert row.value == 100.0 and row.n == 24 and row.signature.startswith("calm|no-exclamation-mark|ci:")

        base = results / "baseline.csv"
        out = invoke("baseline", "update", "--model", "openai/mt", "--task", "mt", "--limit", "24", "--out", base)
        assert out.exit_code == 0, out.output
        summary = tmp_path / "check.md"
        out = invoke("check", "--baseline", base, "--summary", summary)
        assert out.exit_code == 0, out.output
        assert "| openai/mt | mt | calm\\_share |" in summary.read_text()

        # the edit that makes every answer shout: calm_share drops 100 points, past its own
        # threshold of 5.00 (a thresholds file naming neither it nor a default), and the gate fails on it
        (tasks / "prompt.j2").write_text("Excitedly translate: {{ source }}", encoding="utf-8")
        own = tmp_path / "gate.yaml"
        own.write_text("alpha: 0.05\n", encoding="utf-8")
        out = invoke("check", "--baseline", base, "--thresholds", own, "--summary", summary)
        assert out.exit_code == 1, out.output
        line = next(x for x in summary.read_text().splitlines() if x.startswith("| openai/mt | mt | calm\\_share |"))
        assert "regressed" in line and "| 5.00 |" in line

        html = tmp_path / "report.html"
        out = invoke("report", "--out", html)
        assert out.exit_code == 0, out.output
        assert "calm_share" in html.read_text(encoding="utf-8")


def test_a_task_file_may_list_a_registered_metric_only(calm, tmp_path, monkeypatch):
    tasks = tmp_path / "tasks"
    make_task(tasks, [{"id": "a", "source": "今天。"}], [{"id": "a", "references": ["Today."]}],
              task_id="mt", metrics=("calm", "shout"))
    monkeypatch.setenv("HARNESS_TASKS", str(tasks))
    out = invoke("tasks", "check")
    assert out.exit_code == 2
    assert "unknown metric 'shout'" in out.output and "calm" in out.output  # the known list names it
