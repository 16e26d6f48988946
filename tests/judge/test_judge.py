"""The judge against a scripted local server: malformed JSON, out-of-range scores and
order-dependent verdicts are each handled as documented."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from fakeserver import FakeServer
from harness.cli import main
from harness.judge import combine_orders, load_rubric, parse_pairwise, parse_pointwise
from helpers import make_task

SUMMARY = load_rubric("summarize")
TRANSLATION = load_rubric("translate")


def test_parse_scores_and_failures():
    good = json.dumps({"scores": {d: 4 for d in SUMMARY.dimensions}, "rationale": "ok"})
    scores, why, fail = parse_pointwise(SUMMARY, good)
    assert fail is None and scores["overall"] == 4.0 and why == "ok"
    scores, _, fail = parse_pointwise(SUMMARY, "```json\n" + good + "\n```")
    assert fail is None and scores["faithfulness"] == 4.0
    out_of_range = json.dumps({"scores": {**{d: 4 for d in SUMMARY.dimensions}, "fluency": 7}, "rationale": ""})
    scores, _, fail = parse_pointwise(SUMMARY, out_of_range)
    assert scores is None and "fluency=7" in fail
    scores, _, fail = parse_pointwise(SUMMARY, "{'scores': broken")
    assert scores is None and fail.startswith("parse failure")


def test_translation_score_derives_from_errors():
    reply = {"errors": [{"category": "accuracy", "severity": "major", "span": "x"},
                        {"category": "numbers", "severity": "critical", "span": "29 million"},
                        {"category": "accuracy", "severity": "minor", "span": "y"}], "rationale": "r"}
    scores, _, fail = parse_pointwise(TRANSLATION, json.dumps(reply))
    assert fail is None
    assert scores == {"accuracy": 2.0, "fluency": 5.0, "terminology": 5.0, "numbers": 1.0, "overall": 3.25}
    bad = {"errors": [{"category": "style", "severity": "major"}], "rationale": ""}
    assert parse_pointwise(TRANSLATION, json.dumps(bad))[2] is not None


def test_order_flip_is_a_tie():
    assert combine_orders("A", "B") == ("x", True)   # x wins in both orders
    assert combine_orders("A", "A") == ("tie", False)  # the first position wins whatever it shows
    assert combine_orders("tie", "tie") == ("tie", True)
    assert combine_orders(None, "A") == (None, False)
    assert parse_pairwise('{"winner": "C"}')[1].startswith("parse failure")


def scripted_judge(messages, body):
    prompt = messages[-1]["content"]
    if body["model"] != "judge":
        return "The weather is nice today." if body["model"] == "good" else "Weather."
    if "CANDIDATE A" in prompt:  # pairwise: a position-biased judge on items mentioning 1
        first = prompt.split("CANDIDATE A:")[1].split("CANDIDATE B:")[0]
        if "第1" in prompt:
            return json.dumps({"winner": "A", "rationale": "first looks fine"})
        return json.dumps({"winner": "A" if "nice" in first else "B", "rationale": "fuller"})
    if "第2" in prompt:
        return "I think it is good, 4/5"  # malformed: no JSON
    if "第3" in prompt:
        return json.dumps({"scores": {"faithfulness": 9}, "rationale": "?"})  # out of range and incomplete
    good = "nice" in prompt.split("CANDIDATE:")[1]
    errors = [] if good else [{"category": "accuracy", "severity": "major", "span": "Weather."}]
    return json.dumps({"errors": errors, "rationale": "scripted"})


@pytest.fixture
def judged(tmp_path, results, monkeypatch):
    items = [{"id": f"i{k}", "source": f"第{k}条:今天天气很好。", "meta": {"block": f"b{k}"}} for k in range(8)]
    refs = [{"id": f"i{k}", "references": ["The weather is nice today."]} for k in range(8)]
    task = make_task(tmp_path / "t", items, refs, task_id="mini")
    with FakeServer(scripted_judge) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-judge-0000000000")
        out = CliRunner().invoke(main, ["eval", "--model", "openai/good", "--model", "openai/bad",
                                        "--judge", "openai/judge", "--task", str(task), "--max-error-rate", "0.5"])
        # below the rate: exit 0, with a warning naming the judge and how many replies failed
        # (i2, i3 of 2 models, scored and repeated: 8 of 16 + 16 + 16 pairwise verdicts)
        assert out.exit_code == 0, out.output
        assert "warning: judge openai/judge: failed for 8 of 48 request(s)" in out.stderr
        yield results, srv, task


def test_judge_rows_failures_and_pairwise(judged):
    results, srv, task = judged
    board = pd.read_csv(results / "leaderboard.csv")
    j = board[board.metric.str.startswith("judge:openai/judge:") & (board.condition == "all")]
    assert {"judge:openai/judge:accuracy", "judge:openai/judge:overall"} <= set(j.metric)
    good = j[(j.model == "openai/good") & (j.metric == "judge:openai/judge:accuracy")].iloc[0]
    bad = j[(j.model == "openai/bad") & (j.metric == "judge:openai/judge:accuracy")].iloc[0]
    assert good.value == 5.0 and bad.value == 3.0
    # n counts the items the judge scored; its failures (i2, i3) are excluded from the mean, counted in n_errors
    assert (good.n, good.n_errors) == (6, 2) and (bad.n, bad.n_errors) == (6, 2)
    items = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False)
    fails = items[items["judge:openai/judge:failure"] != ""]
    assert set(fails.item_id) == {"i2", "i3"}  # malformed JSON and out-of-range: recorded, not zero
    assert (items.loc[items.item_id.isin(["i2", "i3"]), "score_judge:openai/judge:overall"] == "").all()
    rel = board[(board.model == "judge:openai/judge")].set_index("metric").value
    assert rel["judge_parse_failure_rate"] == pytest.approx(25.0)
    assert rel["judge_self_agreement"] == pytest.approx(100.0)
    # position bias on item 1 only: 7 of 8 verdicts survive the swap
    assert rel["judge_position_consistency"] == pytest.approx(87.5)
    pc = board[(board.model == "judge:openai/judge") & (board.metric == "judge_position_consistency")].iloc[0]
    assert (pc.n, pc.n_errors) == (8, 0)  # n = item pairs compared, not verdicts (16)
    pw = pd.read_csv(results / "pairwise.csv")
    row = pw[pw.metric == "judge:openai/judge:pairwise"].iloc[0]
    assert {row.model_a, row.model_b} == {"openai/good", "openai/bad"}
    good_wins = row.value_a if row.model_a == "openai/good" else row.value_b
    assert good_wins == pytest.approx(7 / 8 * 100) and row.n == 8


def test_judge_calls_are_cached(judged):
    results, srv, task = judged
    before = srv.count()
    out = CliRunner().invoke(main, ["eval", "--model", "openai/good", "--model", "openai/bad",
                                    "--judge", "openai/judge", "--task", str(task), "--max-error-rate", "0.5"])
    # every answer that parsed comes from the cache; the 8 replies that did not are asked again
    assert out.exit_code == 0 and srv.count() == before + 8
