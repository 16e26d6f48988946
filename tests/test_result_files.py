"""Result files an analyst can use without reading the code (issue 21): every row the README
promises exists, nothing is silently replaced, items side by side, typed loaders."""

import re

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from harness.cli import main
from helpers import make_task

BASELINES = ("baseline/lead", "baseline/copy")


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Both baselines on every item of every shipped task, with CIs (about 30 s)."""
    out = tmp_path_factory.mktemp("full") / "results"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_RESULTS", str(out))
        mp.delenv("HARNESS_STORE", raising=False)
        args = ["eval", "--full"] + [a for m in BASELINES for a in ("--model", m)]
        res = invoke(*args)
        assert res.exit_code == 0, res.output
    return out, res.output


def readme_condition_forms() -> list[str]:
    """The `condition` forms the README's leaderboard column table names, in backticks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `condition` |"))
    return re.findall(r"`([^`]+)`", row.split("|")[2])


def test_every_condition_form_the_readme_names_is_in_a_full_run(full_run):
    results, _ = full_run
    board = pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""])
    forms = readme_condition_forms()
    assert {"all", "macro", "origin=zh-original", "delta=noisy-script-minus-cleaned"} <= set(forms)
    present = set(board.condition)
    missing = [f for f in forms if f not in present]
    assert not missing, f"README names conditions no full run writes: {missing}"


def test_delta_rows_are_paired_noisy_minus_cleaned_with_a_ci(full_run):
    results, _ = full_run
    board = pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""])
    tr = board[(board.task == "translate_zh_en")]
    for model in BASELINES:
        mine = tr[tr.model == model]
        delta = mine[mine.condition == "delta=noisy-script-minus-cleaned"].set_index("metric")
        assert {"chrf", "bleu", "rouge1"} <= set(delta.index)
        assert (delta.n == 50).all()  # the 50 passages of doc 003, each noisy and cleaned
        assert delta.ci_low.notna().all() and delta.ci_high.notna().all()
        assert (delta.ci_low <= delta.value).all() and (delta.value <= delta.ci_high).all()
        assert delta.signature.str.contains("paired:noisy-minus-cleaned").all()
        # the point estimate is the difference of the two condition rows (same items, same scorer)
        noisy = mine[mine.condition == "noisy-script"].set_index("metric").value
        clean = mine[mine.condition == "noisy-script-cleaned"].set_index("metric").value
        for m in ("chrf", "bleu", "rouge1"):
            assert delta.value[m] == pytest.approx(noisy[m] - clean[m], abs=2e-4)


# --- nothing silently replaced ----------------------------------------------------------------

def _items(n=8, blocks=4):
    items = [{"id": f"i{k}", "source": f"第{k}句话。今天天气很好,气温{k}度。",
              "meta": {"condition": "c" + str(k % 2), "block": f"{k % blocks:03d}"}} for k in range(n)]
    refs = [{"id": f"i{k}", "references": [f"Sentence {k}. The weather is nice today, {k} degrees."]}
            for k in range(n)]
    return items, refs


def _board(results):
    return pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""], dtype=str)


def test_a_changed_prompt_or_a_sample_adds_a_version_and_keeps_the_old_rows(openai_env, results, tmp_path):
    from harness import leaderboard as lb

    items, refs = _items()
    task = make_task(tmp_path / "t", items, refs, prompt="Translate: {{ source }}")
    assert invoke("eval", "--model", "openai/a", "--task", str(task)).exit_code == 0
    first = _board(results)
    (tmp_path / "t" / "prompt.j2").write_text("Please translate into English: {{ source }}", encoding="utf-8")
    out = invoke("eval", "--model", "openai/a", "--task", str(task))
    assert out.exit_code == 0, out.output
    second = _board(results)
    hashes = list(dict.fromkeys(second.prompt_hash))
    assert len(hashes) == 2
    # the first prompt's rows are still there, value for value
    kept = second[second.prompt_hash == first.prompt_hash.iloc[0]]
    cols = ["condition", "metric", "value", "ci_low", "ci_high", "n", "item_set", "run_id"]
    pd.testing.assert_frame_equal(kept[cols].sort_values(cols[:2]).reset_index(drop=True),
                                  first[cols].sort_values(cols[:2]).reset_index(drop=True))
    assert second.groupby(lb.KEY).size().max() == 1
    # a --limit sample is one more version, not a replacement of the full one
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--limit", "4").exit_code == 0
    third = _board(results)
    alls = third[(third.condition == "all") & (third.metric == "chrf")]
    assert sorted(alls.n.astype(int)) == [4, 8, 8] and alls["sample"].nunique() == 2
    # the default views show the latest version only, and say which
    now = lb.current(lb.read(results / "leaderboard.csv"))
    assert set(now["sample"]) == {alls[alls.n == "4"]["sample"].iloc[0]} and set(now.prompt_hash) == {hashes[1]}
    wide = pd.read_csv(results / "leaderboard_wide.csv", keep_default_na=False, dtype=str)
    assert set(wide.prompt_hash) == {hashes[1]} and set(wide.n[wide.condition == "all"]) == {"4"}
    shown = invoke("leaderboard")
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    assert f"prompt {hashes[1]}" in text and "2 older version(s)" in text and "--history openai/a" in text
    # --history lists every version with its scores
    hist = invoke("leaderboard", "--history", "openai/a")
    assert hist.exit_code == 0, hist.output
    for ph, chrf in zip(alls.prompt_hash, alls.value):
        assert ph in hist.output and f"{float(chrf):.2f}" in hist.output
    versions = lb.versions(lb.read(results / "leaderboard.csv"), "openai/a")
    assert len(versions) == 3 and versions.latest.sum() == 1 and versions[versions.latest].n.iloc[0] == 4


def test_history_of_an_unknown_model_is_one_line_exit_2(openai_env, results, tmp_path):
    items, refs = _items(4)
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("leaderboard", "--history", "openai/a").exit_code == 2  # no leaderboard yet
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--no-ci").exit_code == 0
    res = CliRunner().invoke(main, ["leaderboard", "--history", "openai/zzz"])
    assert res.exit_code == 2 and "no rows for model 'openai/zzz'" in res.output and "openai/a" in res.output


def test_pairwise_rows_carry_both_sides_and_their_blocks(openai_env, results, tmp_path):
    items, refs = _items(12, blocks=6)
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "openai/a", "--model", "baseline/copy", "--task", str(task)).exit_code == 0
    pw = pd.read_csv(results / "pairwise.csv", keep_default_na=False, dtype=str)
    board = _board(results)
    run = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False, dtype=str)
    assert len(pw) and set(pw.condition) == {"all", "c0", "c1"}
    for r in pw.to_dict("records"):
        for side in ("a", "b"):
            model = r[f"model_{side}"]
            mine = board[(board.model == model) & (board.condition == r["condition"]) & (board.metric == r["metric"])]
            assert r[f"item_set_{side}"] == mine.item_set.iloc[0]
            assert r[f"prompt_hash_{side}"] == mine.prompt_hash.iloc[0] == run[run.model == model].prompt_hash.iloc[0]
            assert r[f"run_id_{side}"] == mine.run_id.iloc[0]
        cond = run[(run.model == r["model_a"]) & ((run.condition == r["condition"]) | (r["condition"] == "all"))]
        assert int(r["blocks"]) == cond.block.nunique()
