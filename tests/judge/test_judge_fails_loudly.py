"""A judge whose every reply is not JSON (issue 27, item 8): `eval` exits 1 naming the judge
and the cause, the judge rows' note says why their value is empty, the bad replies are kept
for inspection but never served from the cache, and `--retry-errors` re-asks every one."""

import sqlite3

import pandas as pd
from click.testing import CliRunner

from fakeserver import FakeServer
from harness.cli import main
from helpers import make_task

N = 4
MODEL, JUDGE = "openai/m", "openai/judge"


def replies(messages, body):
    return "The weather is nice today." if body["model"] != "judge" else "I'd say it is 4/5, lovely."


def _task(tmp_path):
    items = [{"id": f"i{k}", "source": f"第{k}条:今天天气很好。", "meta": {"block": f"b{k}"}} for k in range(N)]
    refs = [{"id": f"i{k}", "references": ["The weather is nice today."]} for k in range(N)]
    return make_task(tmp_path / "t", items, refs, task_id="mini", kind="translate", metrics=("chrf",))


def _judge_calls(srv) -> int:
    return sum(1 for r in srv.requests if r["model"] == "judge")


def test_never_json_judge_fails_the_run_and_is_asked_again(tmp_path, results, monkeypatch):
    task = _task(tmp_path)
    with FakeServer(replies) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-loud-0000000000")
        args = ["eval", "--model", MODEL, "--judge", JUDGE, "--task", str(task)]
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 1, out.output
        assert f"error: judge {JUDGE}: reply not JSON" in out.stderr
        first = _judge_calls(srv)
        assert first >= N  # every item scored (plus the self-agreement repeat)

        board = pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""])
        rows = board[(board.model == MODEL) & board.metric.str.startswith(f"judge:{JUDGE}:")]
        assert len(rows) and rows.value.isna().all()
        assert rows.note.str.contains("not JSON").all(), rows.note.tolist()

        # kept for inspection, never served: no stored answer of the judge, every reply rejected
        db = sqlite3.connect(results / "cache" / "responses.sqlite")
        try:
            assert db.execute("SELECT COUNT(*) FROM responses WHERE model = ?", (JUDGE,)).fetchone()[0] == 0
            assert db.execute("SELECT COUNT(*) FROM rejected WHERE model = ?", (JUDGE,)).fetchone()[0] == first
        finally:
            db.close()

        retry = CliRunner().invoke(main, [*args, "--retry-errors"])
        assert retry.exit_code == 1, retry.output
        assert _judge_calls(srv) == 2 * first  # every judge request asked again
        assert sum(1 for r in srv.requests if r["model"] != "judge") == N  # the model's answers came from the cache
