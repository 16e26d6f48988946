"""Bootstrap CIs against hand-computed cases; the paired test against sacrebleu's own."""

import numpy as np
import pytest
from sacrebleu.metrics import BLEU
from sacrebleu.significance import PairedTest

from harness import stats as st
from harness.scorers.lexical import Bleu


def mean_score(total, n):
    return total[0] / n


def test_ci_collapses_on_constant_items():
    s = np.full((6, 1), 0.7)
    assert st.bootstrap_ci(s, list("aabbcc"), mean_score) == pytest.approx((0.7, 0.7))


def test_block_bootstrap_is_wider_than_item_bootstrap():
    # block A holds five 0s, block B five 1s. Drawing 2 blocks: mean 0 w.p. 1/4, 0.5 w.p. 1/2,
    # 1 w.p. 1/4 -> 95% CI [0, 1]. Drawing 10 items independently gives Binomial(10, 1/2)/10,
    # whose 2.5th percentile is 0.2 -> far narrower (and wrong for correlated passages).
    s = np.array([[0.0]] * 5 + [[1.0]] * 5)
    blocks = ["A"] * 5 + ["B"] * 5
    assert st.bootstrap_ci(s, blocks, mean_score) == pytest.approx((0.0, 1.0))
    lo, hi = st.bootstrap_ci(s, [str(i) for i in range(10)], mean_score)
    assert lo == pytest.approx(0.2, abs=0.05) and hi == pytest.approx(0.8, abs=0.05)


def test_weights_count_whole_blocks():
    w = st.resample_weights(["x", "x", "y"], resamples=50, seed=1)
    assert w.shape == (50, 3)
    assert np.all(w[:, 0] == w[:, 1])  # items of one block are always drawn together
    assert np.all(w[:, :2].sum(axis=1) / 2 + w[:, 2] == 2)  # 2 blocks drawn per resample


REFS = ["the cat sat on the mat", "a quick brown fox jumps", "we evaluate machine translation",
        "scaling laws are slowing down", "agents will take a decade", "data is the new oil",
        "the model answers in english", "numbers must be exact", "speech has many errors", "keep it short"] * 3
SYS_A = ["the cat sat on a mat", "a quick brown fox jumped", "we evaluate translation", "scaling laws slow down",
         "agents take a decade", "data is new oil", "model answers in english", "numbers must be exact",
         "speech has errors", "keep it short"] * 3
SYS_B = ["a cat is on the mat", "the fox is quick", "evaluation of machine translation", "laws of scaling",
         "a decade for agents", "oil is data", "the model speaks english", "exact numbers", "errors in speech",
         "short"] * 3


def test_paired_bootstrap_matches_sacrebleu():
    bleu = Bleu("en")
    items = [type("I", (), {"references": [r]})() for r in REFS]
    a, b = bleu.stats(SYS_A, items), bleu.stats(SYS_B, items)
    fn = lambda t, n: bleu.score_sums(t, n)["bleu"]  # noqa: E731
    ours = st.paired_test(b, a, [str(i) for i in range(len(REFS))], fn)
    _, scores = PairedTest([("A", SYS_A), ("B", SYS_B)], {"BLEU": BLEU()}, [REFS], test_type="bs",
                           n_samples=1000)()
    base, sys_b = scores["BLEU"]
    assert ours["diff"] == pytest.approx(sys_b.score - base.score, abs=1e-6)
    assert ours["p_value"] == pytest.approx(sys_b.p_value, abs=1e-9)


def test_identical_systems_are_never_significant_and_reference_beats_copy():
    bleu = Bleu("en")
    items = [type("I", (), {"references": [r]})() for r in REFS]
    a = bleu.stats(SYS_A, items)
    fn = lambda t, n: bleu.score_sums(t, n)["bleu"]  # noqa: E731
    blocks = [str(i % 10) for i in range(len(REFS))]
    same = st.paired_test(a, a.copy(), blocks, fn)
    assert same["diff"] == 0 and same["p_value"] > 0.5
    ref = bleu.stats(REFS, items)
    better = st.paired_test(ref, a, blocks, fn)
    assert better["diff"] > 0 and better["p_value"] < 0.05 and better["diff_ci_low"] > 0


def test_rank_ranges_group_insignificant_differences():
    sig = {("a", "c"), ("c", "a"), ("b", "c"), ("c", "b")}
    ranks = st.rank_ranges(["a", "b", "c"], [30.0, 29.5, 10.0], lambda x, y: (x, y) in sig)
    assert ranks == {"a": "1–2", "b": "1–2", "c": "3"}
