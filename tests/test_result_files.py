"""Result files an analyst can use without reading the code (issue 21): every row the README
promises exists, nothing is silently replaced, items side by side, typed loaders."""

import re

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from harness.cli import main

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
