"""Pairwise CSV, the wide pivot and the HTML report (rendered in headless Chromium)."""

import os
import shutil
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.leaderboard import SCHEMA_VERSION
from helpers import make_task


def _items(n=24):
    items = [{"id": f"i{k}", "source": f"第{k}段:模型回答了问题。数据很好。",
              "meta": {"condition": "clean" if k % 2 else "asr", "block": f"b{k % 12}", "origin": "zh-original"}}
             for k in range(n)]
    refs = [{"id": f"i{k}", "references": [f"Part {k}: the model answered the question. The data is good."]}
            for k in range(n)]
    return items, refs


@pytest.fixture
def evaluated(tmp_path, results, monkeypatch):
    """Three systems on one task: a perfect one (answers the reference), a weaker one, copy."""
    from fakeserver import FakeServer

    items, refs = _items()
    task = make_task(tmp_path / "t", items, refs, prompt="{{ source }}")
    ref_of = {i["source"]: r["references"][0] for i, r in zip(items, refs)}

    def respond(messages, body):
        src = messages[-1]["content"]
        if body["model"] == "perfect":
            return ref_of[src]
        return ref_of[src].split(":")[0] + " answered."

    with FakeServer(respond) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-report-000000000")
        for model in ("openai/perfect", "openai/weak", "baseline/copy"):
            out = CliRunner().invoke(main, ["eval", "--model", model, "--task", str(task)])
            assert out.exit_code == 0, out.output
    return results, task


def test_pairwise_csv_contract_and_significance(evaluated):
    results, task = evaluated
    pw = pd.read_csv(results / "pairwise.csv")
    assert list(pw.columns[:6]) == ["schema_version", "task", "condition", "metric", "model_a", "model_b"]
    assert (pw.schema_version == SCHEMA_VERSION).all()
    chrf = pw[(pw.metric == "chrf") & (pw.condition == "all")]
    pair = chrf[(chrf.model_a == "baseline/copy") & (chrf.model_b == "openai/perfect")].iloc[0]
    assert pair["diff"] < 0 and pair.significant and pair.p_value < 0.05  # the reference beats copy
    assert set(pw.condition) >= {"all", "asr", "clean"}


def test_wide_pivot_has_rank_ranges(evaluated):
    results, _ = evaluated
    wide = pd.read_csv(results / "leaderboard_wide.csv", dtype=str)
    row = wide[(wide.condition == "all") & (wide.model == "openai/perfect")].iloc[0]
    assert row["rank_chrf"] == "1" and float(row["chrf"]) == pytest.approx(100.0)
    copy = wide[(wide.condition == "all") & (wide.model == "baseline/copy")].iloc[0]
    assert copy["rank_chrf"] == "3"


def test_leaderboard_csv_schema_is_pinned(evaluated):
    results, _ = evaluated
    board = pd.read_csv(results / "leaderboard.csv")
    assert list(board.columns) == ["schema_version", "model", "task", "condition", "metric", "value", "ci_low",
                                   "ci_high", "n", "n_errors", "item_set", "signature", "prompt_hash", "run_id",
                                   "created_at", "note"]
    assert {"all", "macro", "asr", "clean"} <= set(board.condition)
    ok = board[board.metric == "chrf"].dropna(subset=["ci_low"])
    assert ((ok.ci_low <= ok.value + 1e-9) & (ok.value <= ok.ci_high + 1e-9)).all()


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(evaluated, tmp_path):
    results, _ = evaluated
    out = CliRunner().invoke(main, ["report"])
    assert out.exit_code == 0, out.output
    html = results / "report.html"
    text = html.read_text(encoding="utf-8")
    assert "<script" not in text and "http://" not in text and "https://" not in text  # opens offline
    exe = chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: `make test` installs it (Debian package chromium)")
        pytest.skip("chromium not installed (make test installs it as root)")
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", html.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert 'class="leaderboard"' in dom and "openai/perfect" in dom and "chrf" in dom
    assert 'class="matrix"' in dom and "<svg" in dom and "<details>" in dom
