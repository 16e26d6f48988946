"""A fully cached re-run of a hosted model (issue 15, "fast as items are added"): it needs no
API key and never imports litellm (the provider check runs only for a model that will be
asked), and it takes the per-item statistics `comparisons.refresh` cached for exactly
these outputs instead of scoring every item again — with the same results as scoring."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from conftest import cli, run_cli  # run_cli where the process itself is tested (no litellm import)
from fakeserver import FakeServer
from helpers import make_task, simple_items


def answer(messages, body):
    text = messages[-1]["content"]
    return f"Sentence {len(text) % 7}. The weather is {'nice' if len(text) % 2 else 'fine'} today."


@pytest.fixture
def setup(tmp_path):
    items, refs = simple_items(12, blocks=4)
    make_task(tmp_path / "tasks", items, refs, metrics=("chrf", "bleu", "rouge", "length_ratio"))
    with FakeServer(answer) as srv:
        env = {"HARNESS_TASKS": str(tmp_path / "tasks"), "HARNESS_RESULTS": str(tmp_path / "results"),
               "HARNESS_STORE": None, "OPENAI_API_BASE": srv.base_url, "OPENAI_BASE_URL": srv.base_url,
               "OPENAI_API_KEY": "sk-test-cached-rerun-000000"}
        yield tmp_path, srv, env


def latest_items(results):
    return pd.read_csv(sorted((results / "runs").glob("*/items.csv"))[-1])


def test_cached_rerun_needs_no_key_and_no_litellm(setup):
    tmp_path, srv, env = setup
    out = cli("eval", "--model", "openai/m", "--task", "mini", env=env)
    assert out.returncode == 0, out.stderr
    asked = len(srv.requests)
    assert asked == 12
    poison = tmp_path / "poison" / "litellm"
    poison.mkdir(parents=True)
    (poison / "__init__.py").write_text("raise ImportError('litellm imported by a fully cached run')\n")
    no_key = {**env, "OPENAI_API_KEY": None,
              "PYTHONPATH": f"{poison.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = run_cli("eval", "--model", "openai/m", "--task", "mini", env=no_key)
    assert out.returncode == 0, out.stderr
    assert len(srv.requests) == asked
    run = json.loads(sorted((tmp_path / "results" / "runs").glob("*/run.json"))[-1].read_text())
    assert run["n_cached"] == run["n_requests"] == 12

    # one item not cached: that model will be asked, so its key is checked first (exit 2, one line)
    with (tmp_path / "tasks" / "items.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "new", "source": "新的一句话。", "meta": {"condition": "c0", "block": "b0"}},
                            ensure_ascii=False) + "\n")
    with (tmp_path / "tasks" / "refs.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "new", "references": ["A new sentence."]}) + "\n")
    out = cli("eval", "--model", "openai/m", "--task", "mini", env={**env, "OPENAI_API_KEY": None})
    assert out.returncode == 2 and "OPENAI_API_KEY" in out.stderr and "Traceback" not in out.stderr
    assert len(srv.requests) == asked
    # --refresh asks every item again: the key is checked even with every answer cached
    out = cli("eval", "--model", "openai/m", "--task", "mini", "--refresh", "--limit", "3",
              env={**env, "OPENAI_API_KEY": None})
    assert out.returncode == 2 and "OPENAI_API_KEY" in out.stderr


def test_rerun_takes_stored_statistics_and_matches_scoring(setup):
    tmp_path, srv, env = setup
    results = tmp_path / "results"
    assert cli("eval", "--model", "openai/m", "--task", "mini", env=env).returncode == 0
    stored = sorted((results / "cache" / "item-stats").glob("*.npz"))
    assert len(stored) == 1
    first_items, first_board = latest_items(results), pd.read_csv(results / "leaderboard.csv")

    # a re-run whose scorers cannot run: it must take the stored statistics (and say nothing new)
    code = ("import sys\n"
            "import harness.score._lexical as lexical, harness.score._checks as checks\n"
            "def boom(self, hyps, items): raise AssertionError('scored again: ' + type(self).__name__)\n"
            "for cls in (lexical.Bleu, lexical.Chrf, lexical.Rouge, checks.LengthRatio): cls.stats = boom\n"
            "from harness.cli import main\n"
            "main(['eval', '--model', 'openai/m', '--task', 'mini'])\n")
    import subprocess
    import sys

    full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    again, board = latest_items(results), pd.read_csv(results / "leaderboard.csv")
    scores = ["item_id", "output", *[c for c in first_items.columns if c.startswith("score_")]]
    assert len(scores) > 6 and again[scores].equals(first_items[scores]) and again.cached.all()
    keep = [c for c in board.columns if c not in ("run_id", "created_at")]
    assert board[keep].equals(first_board[keep])

    # a stored file that does not match (other item ids) is not trusted: the items are scored again
    with np.load(stored[0]) as z:
        bad = {k: z[k] for k in z.files}
    bad["ids"] = np.array([f"x{k}" for k in range(len(bad["ids"]))], dtype=str)
    np.savez(stored[0], **bad)
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "scored again" in out.stderr
    out = cli("eval", "--model", "openai/m", "--task", "mini", env=env)
    assert out.returncode == 0, out.stderr
    assert pd.read_csv(results / "leaderboard.csv")[keep].equals(first_board[keep])
