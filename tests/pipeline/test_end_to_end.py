"""End to end through real litellm and real HTTP against a local OpenAI-compatible server."""

import pandas as pd
from click.testing import CliRunner

from harness.cli import main
from helpers import make_task, simple_items


def invoke(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_eval_all_tasks_writes_leaderboard_and_rerun_is_free(openai_env, results):
    server = openai_env
    out = invoke("eval", "--model", "openai/fake-model", "--limit", "2", "--no-ci")
    assert out.exit_code == 0, out.output
    asked = server.count()
    assert asked == 8  # 4 tasks x 2 items
    board = pd.read_csv(results / "leaderboard.csv")
    for task in ("translate_zh_en", "summarize_zh_zh", "summarize_zh_en", "longdoc_zh_en"):
        mine = board[(board.task == task) & (board.model == "openai/fake-model") & (board.condition == "all")]
        assert {"rouge1", "rouge2", "rougeL", "chrf"} <= set(mine.metric), task
        assert mine.signature.str.len().min() > 10
    assert {"bleu"} <= set(board[board.task == "translate_zh_en"].metric)
    # the prompt really reached the server, rendered from the template
    assert any("Translate the following Chinese text" in r["messages"][0]["content"] for r in server.requests)
    assert all(r["temperature"] == 0 for r in server.requests)

    again = invoke("eval", "--model", "openai/fake-model", "--limit", "2", "--no-ci")
    assert again.exit_code == 0, again.output
    assert server.count() == asked  # every answer came from the cache
    runs = sorted((results / "runs").glob("*/items.csv"))
    assert len(runs) == 2
    first, second = (pd.read_csv(r, keep_default_na=False) for r in runs)
    assert list(first.output) == list(second.output)
    assert second.cached.all() and not first.cached.any()


def test_leaderboard_keeps_other_models(openai_env, results, tmp_path):
    items, refs = simple_items(4)
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--no-ci").exit_code == 0
    assert invoke("eval", "--model", "baseline/copy", "--task", str(task), "--no-ci").exit_code == 0
    board = pd.read_csv(results / "leaderboard.csv")
    assert set(board.model) == {"openai/a", "baseline/copy"}
    # a re-run of one model replaces its own rows only
    n_before = len(board)
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--no-ci").exit_code == 0
    board2 = pd.read_csv(results / "leaderboard.csv")
    assert len(board2) == n_before
    assert board2.groupby(["model", "task", "condition", "metric"]).size().max() == 1


def test_per_item_records(openai_env, results, tmp_path):
    items, refs = simple_items(3)
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--no-ci").exit_code == 0
    run = next((results / "runs").glob("*/items.csv"))
    df = pd.read_csv(run, keep_default_na=False)
    assert list(df.item_id) == ["i0", "i1", "i2"]
    assert (df.finish_reason == "stop").all() and (df.completion_tokens == 5).all()
    assert (df.prompt_hash.str.len() == 12).all()
    assert df.output[0] == "TRANSLATE: 第0句话。今天天气很好。".upper()
    assert {"score_chrf", "score_rouge1"} <= set(df.columns)
