"""Judge counts and failure reporting, with deliberately bad judges on a local scripted
server: an always-"A" judge on two identical systems (every verdict flips: all ties), a
translation judge that lists no errors (overall exactly 5.0), a summary judge that gives 4
everywhere (overall exactly 4.0, constant: no correlation), a garbage judge (never JSON) and
a judge cut off at max_tokens. The expected figures are worked out by hand in each test."""

import json
import re

import pandas as pd
from click.testing import CliRunner

from fakeserver import FakeServer
from harness.cli import main
from harness.judge import load_rubric
from helpers import make_task

N = 6  # items; each its own block
A, B = "openai/twin-a", "openai/twin-b"
SAME = "The weather is nice today."


def biased(messages, body):
    """Models give the same answer; the judge always prefers the first candidate shown and
    reports no error / a 4 on every dimension."""
    prompt = messages[-1]["content"]
    if body["model"] != "judge":
        return SAME
    if "CANDIDATE A" in prompt:
        return json.dumps({"winner": "A", "rationale": "the first one"})
    if "faithfulness" in prompt:  # the summary rubric
        return json.dumps({"scores": {d: 4 for d in load_rubric("summarize").dimensions}, "rationale": "fine"})
    return json.dumps({"errors": [], "rationale": "no errors"})


def garbage(messages, body):
    return SAME if body["model"] != "judge" else "Both are lovely, I would say 4/5!"


def cut_off(messages, body):
    """The judge loops inside a JSON string until max_tokens: finish_reason length."""
    if body["model"] != "judge":
        return SAME
    return (200, {}, {"id": "x", "object": "chat.completion", "created": 0, "model": "judge",
                      "choices": [{"index": 0, "finish_reason": "length",
                                   "message": {"role": "assistant", "content": '{"errors": [], "rationale": "aaaa'}}],
                      "usage": {"prompt_tokens": 10, "completion_tokens": 700, "total_tokens": 710}})


def _task(tmp_path, kind="translate"):
    items = [{"id": f"i{k}", "source": f"第{k}条:今天天气很好。", "meta": {"block": f"b{k}"}} for k in range(N)]
    refs = [{"id": f"i{k}", "references": [SAME]} for k in range(N)]
    return make_task(tmp_path / kind, items, refs, task_id=f"mini-{kind}", kind=kind, metrics=("chrf",))


def _eval(monkeypatch, srv, task, *extra):
    monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-counts-0000000000")
    return CliRunner().invoke(main, ["eval", "--model", A, "--model", B, *extra, "--task", str(task)])


def _board(results):
    return pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""])


def test_position_biased_judge_on_identical_systems(tmp_path, results, monkeypatch):
    task = _task(tmp_path)
    with FakeServer(biased) as srv:
        out = _eval(monkeypatch, srv, task, "--judge", "openai/judge")
        assert out.exit_code == 0, out.output
        compared = CliRunner().invoke(main, ["compare", "--models", A, B, "--judge", "openai/judge",
                                             "--task", str(task)])
    board = _board(results)
    # a judge listing no errors: 5 on every dimension, overall 5.0; n = items scored, no failure
    for model in (A, B):
        row = board[(board.model == model) & (board.metric == "judge:openai/judge:overall")
                    & (board.condition == "all")].iloc[0]
        assert (row.value, row.n, row.n_errors) == (5.0, N, 0)
    rel = board[board.model == "judge:openai/judge"].set_index("metric")
    pc = rel.loc["judge_position_consistency"]
    # every item: "A" in both orders = a flip = a tie; none of the N pairs survives the swap
    assert (pc.value, pc.n, pc.n_errors) == (0.0, N, 0) and pd.isna(pc.note)
    assert (rel.loc["judge_parse_failure_rate", "value"], rel.loc["judge_parse_failure_rate", "n"]) == (0.0, 2 * N)
    pw = pd.read_csv(results / "judge_pairwise.csv").iloc[0]
    assert (pw.value_a, pw.value_b, pw.n) == (0.0, 0.0, N)  # all ties
    assert pw.p_value >= 0.5 and not pw.significant and "ties:6" in pw.method
    # `compare` says the same
    assert compared.exit_code == 0, compared.output
    m = re.search(r"wins ([\d.]+)%, .* wins ([\d.]+)%, .*\(p = ([\d.]+), n = (\d+)\); position consistency "
                  r"([\d.]+)%", compared.output)
    assert m, compared.output
    assert (float(m[1]), float(m[2]), int(m[4]), float(m[5])) == (0.0, 0.0, N, 0.0) and float(m[3]) >= 0.5


def test_summary_judge_giving_four_everywhere(tmp_path, results, monkeypatch):
    task = _task(tmp_path, kind="summarize")
    with FakeServer(biased) as srv:
        out = _eval(monkeypatch, srv, task, "--judge", "openai/judge")
        assert out.exit_code == 0, out.output
    board = _board(results)
    dims = list(load_rubric("summarize").dimensions)
    for model in (A, B):
        mine = board[(board.model == model) & (board.condition == "all")].set_index("metric")
        assert mine.loc["judge:openai/judge:overall", "value"] == 4.0
        assert all(mine.loc[f"judge:openai/judge:{d}", "value"] == 4.0 for d in dims)
    rho = board[(board.model == "judge:openai/judge") & (board.metric == "judge_spearman_chrf")].iloc[0]
    assert pd.isna(rho.value) and "constant judge scores" in rho.note and rho.n == 2 * N


def test_garbage_judge_counts_every_failure(tmp_path, results, monkeypatch):
    task = _task(tmp_path)
    with FakeServer(garbage) as srv:
        out = _eval(monkeypatch, srv, task, "--judge", "openai/judge")
        assert out.exit_code == 1 and "error: judge openai/judge: reply not JSON" in out.stderr, out.output
        before = _board(results)
        compared = CliRunner().invoke(main, ["compare", "--models", A, B, "--judge", "openai/judge",
                                             "--task", str(task)])
    for model in (A, B):
        row = before[(before.model == model) & (before.metric == "judge:openai/judge:overall")
                     & (before.condition == "all")].iloc[0]
        assert pd.isna(row.value) and (row.n, row.n_errors) == (0, N)
    rel = before[before.model == "judge:openai/judge"].set_index("metric")
    assert rel.loc["judge_parse_failure_rate", "value"] == 100.0
    assert (rel.loc["judge_parse_failure_rate", "n"], rel.loc["judge_parse_failure_rate", "n_errors"]) == (2 * N, 2 * N)
    pc = rel.loc["judge_position_consistency"]  # present although no verdict parsed
    assert pd.isna(pc.value) and (pc.n, pc.n_errors) == (0, N)
    assert pc.note == (f"no pair compared: {2 * N} of {2 * N} verdicts failed "
                       "(first: parse failure: no JSON object in the reply)")
    assert "no judgement parsed" in rel.loc["judge_spearman_chrf", "note"]
    # compare: says how many failed and why, no nan%, exit 1 after writing the rows
    assert compared.exit_code == 1, compared.output
    assert "nan" not in compared.output.lower()
    assert f"{2 * N} of {2 * N} judge verdicts failed (first: parse failure: no JSON object in the reply)" \
        in compared.output
    assert "error: mini-translate: no pair of outputs could be compared" in compared.output
    after = _board(results)
    pc = after[(after.model == "judge:openai/judge") & (after.metric == "judge_position_consistency")]
    assert len(pc) == 1 and pc.iloc[0].n == 0 and "no pair compared" in pc.iloc[0].note
    # the report shows the empty figure with its reason, and the verdict cell says none parsed
    assert CliRunner().invoke(main, ["report"]).exit_code == 0
    html = (results / "report.html").read_text(encoding="utf-8")
    assert "no verdict parsed" in html and "note: no pair compared: 12 of 12 verdicts failed" in html


def test_cut_off_reply_says_so(tmp_path, results, monkeypatch):
    task = _task(tmp_path)
    with FakeServer(cut_off) as srv:
        out = _eval(monkeypatch, srv, task, "--judge", "openai/judge")
        assert out.exit_code == 1 and "judge openai/judge: reply cut off at max_tokens for" in out.stderr, out.output
    items = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False)
    fails = set(items["judge:openai/judge:failure"])
    assert fails == {"parse failure: the reply was cut off at max_tokens (finish_reason length) before its JSON "
                     "was complete"}
    note = _board(results).set_index("metric").loc["judge_position_consistency", "note"]
    assert "cut off at max_tokens" in note and "no JSON object" not in note
