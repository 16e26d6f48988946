"""Meta-evaluation against the WMT21 TED zh→en MQM judgments: the MQM convention against the
published table, the correlations against scipy on sacrebleu's own scores, the CSV, the CLI."""

import csv
import re
import time
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from click.testing import CliRunner
from sacrebleu.metrics import BLEU, CHRF

import harness.meta._mqm as meta
from harness.cli import main

FOLDER = meta.DATA.parent
NAMES = {"ref": "ref.A", "refB": "ref.B"}


def published_table() -> dict[str, str]:
    """The system table printed in the data set's README, values kept as printed."""
    text = (FOLDER / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| (\S+) \| (\d+\.\d+) \|$", text, flags=re.M))


@pytest.fixture(scope="module")
def data():
    return meta.load_mqm()


@pytest.fixture(scope="module")
def raw():
    """The TSV read independently of harness.meta._mqm (pandas, spans stripped)."""
    df = pd.read_csv(meta.DATA, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    df["weight"] = [meta.error_weight(c, s) for c, s in zip(df["category"], df["severity"])]
    df["plain"] = df["target"].str.replace(r"</?v>", "", regex=True)
    return df


def independent_system_mqm(df) -> dict[str, float]:
    """Mean over (segment, rater) pairs of the rater's weighted error sum."""
    per_pair = df.groupby(["system", "seg_id", "rater"])["weight"].sum()
    return per_pair.groupby("system").mean().to_dict()


# (a) the published MQM table -------------------------------------------------------------

def test_readme_table_is_parsed():
    assert len(published_table()) == 15 and published_table()["SMU"] == "2.202"


# Borderline: the stated convention gives 2.40529 (1272.4 / 529), printed "2.41", not "2.40".
# No principled variant (source errors, punctuation majors, caps at 25, rater or document
# averaging, de-duplication) fixes it without breaking other rows; see harness/meta.py.
@pytest.mark.parametrize("system", [
    pytest.param(s, marks=pytest.mark.xfail(strict=True, reason="published 2.40; the TSV gives 2.4053"))
    if s == "Borderline" else s
    for s in ["ref.B", "DIDI-NLP", "metricsystem2", "metricsystem1", "MiSS", "IIE-MT", "metricsystem4",
              "metricsystem5", "SMU", "Borderline", "NiuTrans", "Facebook-AI", "Online-W", "metricsystem3", "ref.A"]])
def test_system_mqm_reproduces_published_table(data, system):
    printed = published_table()[system]
    ours = {NAMES.get(s, s): v for s, v in data.system_mqm().items()}
    places = Decimal(printed).as_tuple().exponent  # printed precision: -2 or -3
    assert Decimal(repr(ours[system])).quantize(Decimal(1).scaleb(places)) == Decimal(printed)


def test_borderline_value_is_pinned(data):
    assert data.system_mqm()["Borderline"] == pytest.approx(1272.4 / 529, abs=1e-9)


def test_segment_and_pair_averages_agree(data, raw):
    # one rater per (system, segment) here, so averaging over (segment, rater) pairs and over
    # segments of the per-segment rater mean are the same
    assert raw.groupby(["system", "seg_id"])["rater"].nunique().max() == 1
    independent = independent_system_mqm(raw)
    for s, v in data.system_mqm().items():
        assert v == pytest.approx(independent[s], abs=1e-12)


def test_items_are_plain_text(data):
    items = data.items("refB")
    assert len(items) == 529 and len(data.systems) == 15 and len(data.mt_systems) == 13
    assert items[0].id == "84" and items[0].meta == {"doc": "talk.2"}
    assert not any("<v>" in t for ts in data.targets.values() for t in ts)
    assert not any("<v>" in it.source or "<v>" in it.references[0] for it in items)


# (b) correlations against scipy on sacrebleu's own corpus scores ---------------------------

@pytest.mark.parametrize("reference", ["ref", "refB"])
def test_system_level_matches_scipy_on_sacrebleu(raw, data, reference):
    targets = raw.drop_duplicates(["system", "seg_id"]).pivot(index="seg_id", columns="system", values="plain")
    targets = targets.loc[sorted(targets.index, key=int)]
    refs = [list(targets[reference])]
    mqm = independent_system_mqm(raw)
    from harness.score._lexical import Bleu, Chrf

    rows = meta.evaluate(data, (reference,), scorers={"bleu": Bleu("en"), "chrf": Chrf("en")}, resamples=0)
    got = {(r["metric"], r["variant"], r["statistic"]): r["value"] for r in rows if r["level"] == "system"}
    others = [s for s in targets.columns if s != reference]
    sacre = {name: {s: metric.corpus_score(list(targets[s]), refs).score for s in others}
             for name, metric in (("bleu", BLEU()), ("chrf", CHRF()))}
    for variant, systems in (("with_human", others), ("without_human", [s for s in others if s not in NAMES])):
        human = -np.array([mqm[s] for s in systems])
        for name in ("bleu", "chrf"):
            scores = [sacre[name][s] for s in systems]
            assert got[name, variant, "pearson"] == pytest.approx(scipy.stats.pearsonr(scores, human)[0], abs=1e-9)
            assert got[name, variant, "kendall"] == pytest.approx(scipy.stats.kendalltau(scores, human)[0], abs=1e-9)


def test_segment_level_matches_scipy(data):
    # random scores with ties and gaps: pooled τ-b, per-segment τ-b averaged, one resample
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=(13, len(data.seg_ids))).astype(float)
    x[:, :40] = np.nan  # e.g. number_recall on segments without numbers
    scores = {(s, g): x[i, k] for i, s in enumerate(data.mt_systems) for k, g in enumerate(data.seg_ids)}
    given = meta.GivenScores("random", scores)
    ms = meta.MetricScores("random", "", {}, {}, {s: x[i] for i, s in enumerate(data.mt_systems)})
    pairs = meta.SegmentPairs(data, data.mt_systems)
    weights = meta.st.resample_weights(data.seg_ids, 3, 1)
    pooled, item_avg = meta.segment_level(ms, pairs, weights)
    y = -data.mqm[[data.systems.index(s) for s in data.mt_systems]]
    ok = ~np.isnan(x)
    assert pooled.value == pytest.approx(scipy.stats.kendalltau(x[ok], y[ok])[0], abs=1e-12)
    assert pooled.n == ok.sum()
    per_seg = [scipy.stats.kendalltau(x[:, k], y[:, k])[0] for k in range(40, x.shape[1])]
    per_seg = [t for t in per_seg if not np.isnan(t)]
    assert item_avg.value == pytest.approx(np.mean(per_seg), abs=1e-12) and item_avg.n == len(per_seg)
    idx = np.repeat(np.arange(x.shape[1]), weights[0].astype(int))
    xe, ye = x[:, idx], y[:, idx]
    s_mat, tx, ty = pairs.sums(x)
    w = weights[0]
    boot = (w @ s_mat @ w) / np.sqrt((w @ tx @ w) * (w @ ty @ w))
    assert boot == pytest.approx(scipy.stats.kendalltau(xe[~np.isnan(xe)], ye[~np.isnan(xe)])[0], abs=1e-12)
    assert given.score_sums(np.array([3.0, 2.0]), 2) == {"random": 1.5}


def test_vectorised_correlations_match_scipy():
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 5, size=(4, 14)).astype(float), rng.normal(size=(4, 14))
    for row in range(4):
        assert meta.kendall_b(x, y)[row] == pytest.approx(scipy.stats.kendalltau(x[row], y[row])[0])
        assert meta.pearson(x, y)[row] == pytest.approx(scipy.stats.pearsonr(x[row], y[row])[0])


def test_judge_hook_takes_external_scores(data):
    # an oracle "judge" that returns −MQM agrees perfectly at every level
    oracle = {(s, g): -data.mqm[i, k] for i, s in enumerate(data.systems) for k, g in enumerate(data.seg_ids)}
    rows = meta.evaluate(data, ("refB",), extra={"oracle": oracle}, scorers={}, resamples=20)
    assert {r["metric"] for r in rows} == {"oracle"}
    for r in rows:
        assert r["value"] == pytest.approx(1.0) and r["ci_low"] == pytest.approx(1.0), r
    with pytest.raises(meta.UserError, match="no score"):
        meta.evaluate(data, ("refB",), extra={"partial": dict(list(oracle.items())[:10])}, scorers={}, resamples=0)


# (c) + (d) the command on the real data ----------------------------------------------------

@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("meta") / "results"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_RESULTS", str(out))
        start = time.perf_counter()
        result = CliRunner().invoke(main, ["meta-eval"], catch_exceptions=False)
        elapsed = time.perf_counter() - start
    return result, elapsed, out / "meta" / "mqm_ted_zhen.csv"


def test_cli_writes_its_file_and_names_both_references(cli_run):
    # no wall-time assertion here: speed targets live in `make bench`, never in a test
    result, _, path = cli_run
    assert result.exit_code == 0, result.output
    assert path.is_file() and str(path) in result.output
    assert "ref.A" in result.output and "ref.B" in result.output and "chrf" in result.output


def test_csv_has_promised_columns_and_rows(cli_run):
    df = pd.read_csv(cli_run[2])
    assert list(df.columns) == meta.COLUMNS
    assert set(df["reference"]) == {"ref.A", "ref.B"} and set(df["level"]) == {"system", "segment"}
    assert set(df["metric"]) == {"bleu", "chrf", "rouge1", "rouge2", "rougeL", "length_ratio", "number_recall"}
    keys = set(zip(df["level"], df["variant"], df["statistic"]))
    assert keys == {("system", v, s) for v in ("with_human", "without_human") for s in ("pearson", "kendall")} | {
        ("segment", "pooled", "kendall"), ("segment", "item_avg", "kendall")}
    assert len(df) == 2 * 7 * 6 and not df.duplicated(["reference", "metric", "level", "variant", "statistic"]).any()
    assert (df["schema_version"] == meta.SCHEMA_VERSION).all() and (df["dataset"] == "mqm_ted_zhen").all()
    assert (df["segments"] == 529).all() and df["note"].isna().all()  # every correlation defined
    lex = df[df["metric"].isin(["bleu", "chrf"])]
    assert lex[["value", "ci_low", "ci_high"]].notna().all().all() and (lex["ci_low"] <= lex["ci_high"]).all()
    system = df[df["level"] == "system"]
    assert set(system.loc[system["variant"] == "with_human", "n"]) == {14}
    assert set(system.loc[system["variant"] == "without_human", "n"]) == {13}
    assert set(df.loc[(df["variant"] == "pooled") & (df["metric"] == "bleu"), "n"]) == {13 * 529}
    assert df["signature"].str.contains("ref:ref.").all()


def test_cli_judge_on_a_sample_is_scored_and_cached(tmp_path, monkeypatch):
    import json as _json

    from fakeserver import FakeServer

    def judge(messages, body):  # a scripted judge: more errors for longer candidates
        cand = messages[-1]["content"].split("CANDIDATE:")[1]
        n = len(cand.split()) % 4
        return _json.dumps({"errors": [{"category": "accuracy", "severity": "minor", "span": "x"}] * n,
                            "rationale": "scripted"})

    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "r"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-meta-000000000")
    with FakeServer(judge) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        args = ["meta-eval", "--judge", "openai/j", "--segments", "20"]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        asked = srv.count()
        # with reference: 20 segments x 14 systems x 2 references; reference-free: every one of the
        # 15 systems once (the same question for either reference is answered from the cache)
        assert asked == 20 * 14 * 2 + 20 * 15
        assert CliRunner().invoke(main, args).exit_code == 0 and srv.count() == asked  # cached
    assert not (tmp_path / "r" / "meta" / "mqm_ted_zhen.csv").exists()  # a sample never writes the full set's file
    df = pd.read_csv(tmp_path / "r" / "meta" / "mqm_ted_zhen.first-20.csv")
    assert (df["segments"] == 20).all()
    for ref in ("ref.A", "ref.B"):
        got = set(df.loc[df.reference == ref, "metric"])
        assert {"judge:openai/j:ref-free", "judge:openai/j:with-ref", "chrf"} <= got
