"""`harness meta-eval --reference ref|refB`: only that human translation's rows are written
and printed, and they are the right ones (system-level chrF correlations recomputed with
scipy on sacrebleu's corpus chrF against the other reference's TSV, read independently)."""

import csv

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from click.testing import CliRunner
from sacrebleu.metrics import CHRF

import harness.meta._mqm as meta
from harness.cli import main

HUMAN = {"ref": "ref.A", "refB": "ref.B"}


def independent_expectations(reference: str) -> dict:
    """reference: the TSV's system name of the human translation (ref or refB)."""
    df = pd.read_csv(meta.DATA, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    df["weight"] = [meta.error_weight(c, s) for c, s in zip(df["category"], df["severity"])]
    df["plain"] = df["target"].str.replace(r"</?v>", "", regex=True)
    mqm = df.groupby(["system", "seg_id", "rater"])["weight"].sum().groupby("system").mean()
    targets = df.drop_duplicates(["system", "seg_id"]).pivot(index="seg_id", columns="system", values="plain")
    targets = targets.loc[sorted(targets.index, key=int)]
    refs = [list(targets[reference])]
    others = [s for s in targets.columns if s != reference]
    chrf = {s: CHRF().corpus_score(list(targets[s]), refs).score for s in others}
    out = {}
    for variant, systems in (("with_human", others), ("without_human", [s for s in others if s not in HUMAN])):
        x, y = [chrf[s] for s in systems], -np.array([mqm[s] for s in systems])
        out[variant, "pearson"] = scipy.stats.pearsonr(x, y)[0]
        out[variant, "kendall"] = scipy.stats.kendalltau(x, y)[0]
    return out


@pytest.mark.parametrize("reference", ["ref", "refB"])
def test_reference_option_writes_only_that_reference(tmp_path, monkeypatch, reference):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))
    result = CliRunner().invoke(main, ["meta-eval", "--reference", reference], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    mine, other = HUMAN[reference], HUMAN["refB" if reference == "ref" else "ref"]
    assert mine in result.output and other not in result.output
    df = pd.read_csv(tmp_path / "results" / "meta" / "mqm_ted_zhen.csv")
    assert set(df.reference) == {mine}
    assert len(df) == 7 * 6  # 7 metrics x (4 system-level + 2 segment-level statistics)
    assert df.signature.str.contains(f"ref:{mine}", regex=False).all()
    system = df[(df.level == "system") & (df.metric == "chrf")].set_index(["variant", "statistic"]).value
    for key, expected in independent_expectations(reference).items():
        assert system[key] == pytest.approx(expected, abs=5.1e-5), key  # the CSV keeps 4 places
    # the scores used the chosen reference: its own translation is among the 14 systems scored
    assert set(df.loc[(df.level == "system") & (df.variant == "with_human"), "n"]) == {14}


def test_unknown_reference_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))
    result = CliRunner().invoke(main, ["meta-eval", "--reference", "refC"])
    assert result.exit_code == 2 and "refC" in result.output
    assert not (tmp_path / "results" / "meta").exists()
