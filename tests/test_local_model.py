"""The real offline model (SmolLM2-135M through llama-cpp-python) end to end through
litellm, no mocks; and the baselines."""

import asyncio

import pandas as pd
import pytest
from click.testing import CliRunner

from harness import models
from harness.cli import main
from harness.models.baselines import lead
from harness.runner import Limits, Request, run
from harness.store import Store
from helpers import make_task


def test_local_model_answers_through_litellm():
    models.register()
    msgs = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    out = asyncio.run(models.call("local/smollm2-135m", msgs, {"temperature": 0, "max_tokens": 8}, {}, 120))
    assert "paris" in out["text"].lower()
    assert out["finish_reason"] in {"stop", "length"} and out["completion_tokens"] >= 1
    assert out["prompt_tokens"] > 5 and out["input_truncated"] is False


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
    models.register()
    msgs = [{"role": "user", "content": "word " * 6000 + "\nSummarize in one word."}]
    out = asyncio.run(models.call("local/smollm2-135m", msgs, {"temperature": 0, "max_tokens": 4}, {}, 300))
    from harness.models.local_llama import N_CTX

    assert out["input_truncated"] is True and out["prompt_tokens"] <= N_CTX


def test_lead_baseline():
    assert lead("第一句。第二句!第三句?", "sentences", 2) == "第一句。第二句!"
    assert lead("abcdef", "chars", 3) == "abc"


def test_baselines_and_local_model_on_a_task(tmp_path, results):
    items = [{"id": "a", "source": "今天天气很好。我们去公园散步。", "meta": {"condition": "c"}},
             {"id": "b", "source": "模型越来越大。数据越来越多。", "meta": {"condition": "c"}}]
    refs = [{"id": "a", "references": ["The weather is nice today. Let's walk in the park."]},
            {"id": "b", "references": ["Models keep growing. Data keeps growing."]}]
    task = make_task(tmp_path / "t", items, refs, max_tokens=24, extra={"lead": {"unit": "sentences", "n": 1}})
    out = CliRunner().invoke(main, ["eval", "--model", "baseline/lead", "--model", "baseline/copy",
                                    "--model", "local/smollm2-135m", "--task", str(task), "--no-ci"])
    assert out.exit_code == 0, out.output
    df = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False)
    by = {(r.model, r.item_id): r for r in df.itertuples()}
    assert by["baseline/lead", "a"].output == "今天天气很好。"
    assert by["baseline/copy", "b"].output == "模型越来越大。数据越来越多。"
    assert by["local/smollm2-135m", "a"].output.strip()
    assert by["local/smollm2-135m", "a"].finish_reason in {"stop", "length"}


def test_local_model_can_judge_offline(tmp_path, results):
    """The embedded model as judge: grammar-constrained JSON, so its replies parse; its
    weakness shows in the reliability rows rather than being hidden."""
    items = [{"id": "a", "source": "今天天气很好。", "meta": {"condition": "c"}}]
    refs = [{"id": "a", "references": ["The weather is nice today."]}]
    task = make_task(tmp_path / "t", items, refs, max_tokens=16)
    out = CliRunner().invoke(main, ["eval", "--model", "baseline/copy", "--judge", "local/smollm2-135m",
                                    "--task", str(task), "--no-ci"])
    assert out.exit_code == 0, out.output
    board = pd.read_csv(results / "leaderboard.csv")
    rel = board[board.model == "judge:local/smollm2-135m"].set_index("metric").value
    assert "judge_parse_failure_rate" in rel and "judge_self_agreement" in rel
    items_csv = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False)
    score = items_csv["score_judge:local/smollm2-135m:overall"].iloc[0]
    failure = items_csv["judge:local/smollm2-135m:failure"].iloc[0]
    assert (score != "" and 1 <= float(score) <= 5) or failure.startswith(("parse failure", "judge call failed"))
