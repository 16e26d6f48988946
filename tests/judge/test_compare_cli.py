"""`harness compare --models A B --judge J` on outputs evaluated before: the exit code, the
printed line, and the rows it writes (judge_pairwise.csv, pairwise.csv, the judge's position
consistency in leaderboard.csv), with hand-worked numbers from a scripted judge."""

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from fakeserver import FakeServer
from harness.cli import main
from harness.results._leaderboard import SCHEMA_VERSION
from helpers import make_task

N = 8
A, B, JUDGE = "openai/good", "openai/bad", "openai/judge"


def script(messages, body):
    prompt = messages[-1]["content"]
    if body["model"] == "good":
        return "The weather is nice today."
    if body["model"] == "bad":
        return "Weather."
    assert "CANDIDATE A" in prompt, "compare asks pairwise questions only"
    if "第1条" in prompt:  # position bias on item 1: A wins in both orders -> a flip, counted as a tie
        return json.dumps({"winner": "A", "rationale": "first"})
    first = prompt.split("CANDIDATE A:")[1].split("CANDIDATE B:")[0]
    return json.dumps({"winner": "A" if "nice" in first else "B", "rationale": "fuller"})


@pytest.fixture
def evaluated(tmp_path, results, monkeypatch):
    items = [{"id": f"i{k}", "source": f"第{k}条:今天天气很好。", "meta": {"block": f"b{k}"}} for k in range(N)]
    refs = [{"id": f"i{k}", "references": ["The weather is nice today."]} for k in range(N)]
    task = make_task(tmp_path / "t", items, refs, task_id="mini", metrics=("chrf",))
    with FakeServer(script) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-compare-0000000000")
        out = CliRunner().invoke(main, ["eval", "--model", A, "--model", B, "--task", str(task)])
        assert out.exit_code == 0, out.output
        yield results, srv, task


def test_compare_prints_and_writes_the_verdict(evaluated):
    results, srv, task = evaluated
    before = srv.count()
    out = CliRunner().invoke(main, ["compare", "--models", A, B, "--judge", JUDGE, "--task", str(task)])
    assert out.exit_code == 0, out.output
    asked = [b for b in srv.requests[before:]]
    assert len(asked) == 2 * N and {b["model"] for b in asked} == {"judge"}  # both orders, every item
    # good wins 7 of 8 (item 1 flips: a tie), bad wins none; 7 of 8 verdicts survive the swap
    m = re.search(r"^mini: openai/good wins ([\d.]+)%, openai/bad wins ([\d.]+)%, difference ([+-][\d.]+) "
                  r"\[([+-][\d.]+), ([+-][\d.]+)\] \(p = ([\d.]+), n = (\d+)\); position consistency ([\d.]+)%$",
                  out.output, re.M)
    assert m, out.output
    wins_a, wins_b, diff, lo, hi, p, n, consistency = m.groups()
    assert (float(wins_a), float(wins_b), float(diff), int(n), float(consistency)) == (87.5, 0.0, 87.5, N, 87.5)
    assert float(lo) <= 87.5 <= float(hi) and 0 <= float(p) <= 1
    jp = pd.read_csv(results / "judge_pairwise.csv")
    assert len(jp) == 1
    row = jp.iloc[0]
    assert (row.task, row.metric, row.model_a, row.model_b) == ("mini", f"judge:{JUDGE}:pairwise", A, B)
    assert (row.value_a, row.value_b, row["diff"], row.n) == (87.5, 0.0, 87.5, N)
    assert (row.diff_ci_low, row.diff_ci_high, row.p_value) == pytest.approx((float(lo), float(hi), float(p)),
                                                                              abs=0.051)
    assert "ties:1" in row.method and "position_consistency:87.5" in row.method
    pw = pd.read_csv(results / "pairwise.csv")
    judged = pw[pw.metric == f"judge:{JUDGE}:pairwise"]
    assert len(judged) == 1 and judged.iloc[0].value_a == 87.5
    assert (pw.metric == "chrf").any()  # the lexical comparison of the eval is kept beside it
    board = pd.read_csv(results / "leaderboard.csv")
    pc = board[(board.model == f"judge:{JUDGE}") & (board.metric == "judge_position_consistency")]
    assert len(pc) == 1 and pc.iloc[0].value == 87.5 and pc.iloc[0].n == N
    # written under the leaderboard's current schema, like every other row (it said 1 while the board is 2)
    assert pc.iloc[0].schema_version == SCHEMA_VERSION == row.schema_version
    # a second compare is answered from the cache and replaces, not duplicates, its row
    again = srv.count()
    out = CliRunner().invoke(main, ["compare", "--models", A, B, "--judge", JUDGE, "--task", str(task)])
    assert out.exit_code == 0 and srv.count() == again
    assert len(pd.read_csv(results / "judge_pairwise.csv")) == 1
    assert (pd.read_csv(results / "pairwise.csv").metric == f"judge:{JUDGE}:pairwise").sum() == 1


def test_compare_without_outputs_is_a_user_error(evaluated):
    results, srv, task = evaluated
    before = srv.count()
    out = CliRunner().invoke(main, ["compare", "--models", A, "openai/never", "--judge", JUDGE, "--task", str(task)])
    assert out.exit_code == 2, out.output
    assert "no task has outputs of both openai/good and openai/never" in out.output
    assert "Traceback" not in out.output and srv.count() == before
    assert not (results / "judge_pairwise.csv").exists()
