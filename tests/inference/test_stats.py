"""The paired test and intervals of harness/stats.py against hand-worked cases, a brute-force
re-implementation on sacrebleu's own scores, and a small simulation (false-positive rate
under the null, power under an effect, coverage with a known truth). The full calibration
on the tasks' real block structure is bench/calibrate.py (`make calibrate`)."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sp

import harness.inference._stats as st


def mean_score(total, n):
    return total[0] / n


def ratio_score(sums, counts):
    """Σ matches / Σ length, the shape of chrF/BLEU precisions (not an average of items)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100 * sums[:, 0] / sums[:, 1]


ratio_score.vectorised = True


# --- the randomization test by hand ----------------------------------------------------------

def test_exact_randomization_p_values_on_three_blocks_by_hand():
    # a − b per block: 3, 1, 2 (one item each); d = (3+1+2)/3 = 2. The 8 sign patterns give
    # Σ ±x = 6, 0, 4, 2, -2, -4, 0, -6 → d* = 2, 0, 4/3, 2/3, -2/3, -4/3, 0, -2.
    a = np.array([[3.0], [1.0], [2.0]])
    b = np.zeros((3, 1))
    res = st.paired_test(a, b, ["x", "y", "z"], mean_score)
    assert res["diff"] == pytest.approx(2.0)
    assert res["p_value"] == pytest.approx(2 / 8)  # |d*| ≥ 2: the identity and the full swap
    assert st.paired_test(a, b, ["x", "y", "z"], mean_score, alternative="greater")["p_value"] == pytest.approx(1 / 8)
    assert st.paired_test(a, b, ["x", "y", "z"], mean_score, alternative="less")["p_value"] == pytest.approx(1.0)
    assert st.paired_test(b, a, ["x", "y", "z"], mean_score, alternative="less")["p_value"] == pytest.approx(1 / 8)
    assert res["blocks"] == 3 and res["method"].startswith("paired-ar|blocks|exact:2^3")
    assert not st.significant(res, 0.5)  # 3 blocks: below MIN_BLOCKS, never a claim


def test_exact_test_swaps_whole_blocks_with_a_ratio_score_by_hand():
    # Blocks A (2 items), B, C; stats (matches, length). The lengths are equal across systems,
    # so every swap keeps Σ length = 14 and d* = Σ ±(matches_a − matches_b) / 14 · 100 with
    # per-block differences A: (2+3)−(1+1) = 3, B: 1−2 = −1, C: 4−1 = 3.
    # Signs over (A, B, C): +++ 5, −++ −1, +−+ 7, ++− −1, −−+ 1, −+− −7, +−− 1, −−− −5.
    a = np.array([[2, 4], [3, 4], [1, 2], [4, 4]], dtype=float)
    b = np.array([[1, 4], [1, 4], [2, 2], [1, 4]], dtype=float)
    blocks = ["A", "A", "B", "C"]
    res = st.paired_test(a, b, blocks, ratio_score)
    assert res["diff"] == pytest.approx(500 / 14)
    assert res["p_value"] == pytest.approx(4 / 8)  # |d*| ≥ 5: 5, 7, −7, −5
    assert st.paired_test(a, b, blocks, ratio_score, alternative="greater")["p_value"] == pytest.approx(2 / 8)
    # items of a block move together: treating the two A items as separate blocks changes p
    split = st.paired_test(a, b, ["A1", "A2", "B", "C"], ratio_score)
    # per item: A1 1, A2 2, B −1, C 3 → |Σ ±| ≥ 5 for 7, 5, 5 and their negatives: 6 of 16
    assert split["blocks"] == 4 and split["p_value"] == pytest.approx(6 / 16)


def brute_force_p(a, b, blocks, score, patterns):
    """Swap item rows block by block in plain Python and score each corpus from scratch."""
    names = list(dict.fromkeys(blocks))
    d = score(a.sum(0), len(a)) - score(b.sum(0), len(b))
    hits = 0
    for pattern in patterns:
        swapped = {n for n, s in zip(names, pattern) if s}
        ra = np.array([b[i] if blocks[i] in swapped else a[i] for i in range(len(a))])
        rb = np.array([a[i] if blocks[i] in swapped else b[i] for i in range(len(a))])
        hits += abs(score(ra.sum(0), len(ra)) - score(rb.sum(0), len(rb))) >= abs(d) - 1e-9
    return d, hits


def test_exact_test_equals_brute_force_enumeration_on_sacrebleu_bleu():
    from harness.score._lexical import Bleu

    bleu = Bleu("en")
    items = [type("I", (), {"references": [r]})() for r in REFS]
    a, b = bleu.stats(SYS_A, items), bleu.stats(SYS_B, items)
    blocks = [str(i % 6) for i in range(len(REFS))]  # 6 blocks of 5 passages
    fn = lambda t, n: bleu.score_sums(t, n)["bleu"]  # noqa: E731  sacrebleu's own corpus BLEU
    d, hits = brute_force_p(a, b, blocks, fn, itertools.product((0, 1), repeat=6))
    ours = st.paired_test(a, b, blocks, fn)
    vectorised = st.paired_test(a, b, blocks, _vectorised_bleu(bleu))
    assert ours["diff"] == pytest.approx(d) and vectorised["diff"] == pytest.approx(d)
    assert ours["p_value"] == pytest.approx(hits / 64) and vectorised["p_value"] == pytest.approx(hits / 64)


def _vectorised_bleu(bleu):
    fn = lambda sums, counts: bleu.score_matrix(sums, counts)["bleu"]  # noqa: E731
    fn.vectorised = True
    return fn


def test_sampled_randomization_equals_brute_force_with_the_same_draws():
    # 30 blocks: 2^30 swaps are too many, so R random patterns from the seeded generator;
    # p = (#hits + 1) / (R + 1), the +1 being the observed assignment.
    from harness.score._lexical import Chrf

    chrf = Chrf("en")
    items = [type("I", (), {"references": [r]})() for r in REFS]
    a, b = chrf.stats(SYS_A, items), chrf.stats(SYS_B, items)
    blocks = [str(i) for i in range(len(REFS))]
    fn = lambda t, n: chrf.score_sums(t, n)["chrf"]  # noqa: E731
    patterns = np.random.default_rng(7).integers(2, size=(200, 30), dtype=bool)
    d, hits = brute_force_p(a, b, blocks, fn, patterns)
    res = st.paired_test(a, b, blocks, fn, resamples=200, seed=7)
    assert res["diff"] == pytest.approx(d)
    assert res["p_value"] == pytest.approx((hits + 1) / 201)
    assert res["method"].startswith("paired-ar|blocks|R:200|seed:7")


def test_randomization_matches_sacrebleu_paired_ar_with_one_item_per_block():
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.significance import PairedTest

    from harness.score._lexical import Bleu, Chrf

    items = [type("I", (), {"references": [r]})() for r in REFS]
    blocks = [str(i) for i in range(len(REFS))]
    _, scores = PairedTest([("A", SYS_A), ("B", SYS_B)], {"BLEU": BLEU(), "chrF": CHRF()}, [REFS], test_type="ar",
                           n_samples=1000)()
    for ours, name in ((Bleu("en"), "BLEU"), (Chrf("en"), "chrF")):
        fn = lambda t, n, s=ours: s.score_sums(t, n)[s.names[0]]  # noqa: E731
        res = st.paired_test(ours.stats(SYS_B, items), ours.stats(SYS_A, items), blocks, fn)
        base, sys_b = scores[next(k for k in scores if k.lower().startswith(name.lower()))]
        assert res["diff"] == pytest.approx(sys_b.score - base.score, abs=1e-6)
        assert res["p_value"] == pytest.approx(sys_b.p_value, abs=1e-9)


def test_identical_systems_get_p_one_and_reference_beats_copy():
    from harness.score._lexical import Bleu

    bleu = Bleu("en")
    items = [type("I", (), {"references": [r]})() for r in REFS]
    a = bleu.stats(SYS_A, items)
    fn = lambda t, n: bleu.score_sums(t, n)["bleu"]  # noqa: E731
    blocks = [str(i % 10) for i in range(len(REFS))]
    same = st.paired_test(a, a.copy(), blocks, fn)
    assert same["diff"] == 0 and same["p_value"] == 1.0 and not st.significant(same)
    ref = bleu.stats(REFS, items)
    better = st.paired_test(ref, a, blocks, fn)
    # 10 blocks, exact: the identity and the full swap reach |d|, and in blocks 7 and 9 the copy
    # equals the reference ("numbers must be exact", "keep it short"), so swapping them changes
    # nothing: 2 × 2² = 8 of the 1024 patterns
    assert better["diff"] > 0 and better["p_value"] == pytest.approx(8 / 1024) and better["diff_ci_low"] > 0
    assert st.significant(better)


def test_bad_alternative_and_mismatched_systems_are_refused():
    a = np.ones((4, 1))
    with pytest.raises(ValueError, match="alternative must be one of"):
        st.paired_test(a, a, list("abcd"), mean_score, alternative="bigger")
    with pytest.raises(ValueError, match="same items"):
        st.paired_test(a, np.ones((3, 1)), list("abcd"), mean_score)


# --- intervals ---------------------------------------------------------------------------------

def test_ci_collapses_on_constant_items():
    s = np.full((6, 1), 0.7)
    assert st.bootstrap_ci(s, list("aabbcc"), mean_score) == pytest.approx((0.7, 0.7))


def test_jackknife_t_of_a_mean_is_the_one_sample_t_interval():
    # equal blocks of one item each: the jackknife SE of a mean is s/√B and (Σz)²/Σz² = 2 = B − 1
    # for the values 1, 2, 3 (leave-one-out means 2.5, 2, 1.5), so the interval is scipy's t
    # interval on 2 degrees of freedom
    lo, hi = st.jackknife_t_interval(2.0, np.array([2.5, 2.0, 1.5]))
    want = sp.t.interval(0.95, 2, loc=2.0, scale=sp.sem([1.0, 2.0, 3.0]))
    assert (lo, hi) == pytest.approx(want)
    assert (lo, hi) == pytest.approx((2 - 4.302653 / math.sqrt(3), 2 + 4.302653 / math.sqrt(3)), abs=1e-5)


def test_score_ci_is_the_t_interval_on_the_logit_scale_by_hand():
    # scores 20, 40, 60 (one item per block): estimate 40, leave-one-out 50, 40, 30.
    s = np.array([[20.0], [40.0], [60.0]])
    lo, hi = st.bootstrap_ci(s, list("xyz"), mean_score)
    g = lambda x: math.log(x / (100 - x))  # noqa: E731
    loo = np.array([g(50), g(40), g(30)])
    z = 2 / 3 * (loo - loo.mean()) ** 2
    half = sp.t.ppf(0.975, min(2, z.sum() ** 2 / (z ** 2).sum())) * math.sqrt(z.sum())
    back = lambda y: 100 / (1 + math.exp(-y))  # noqa: E731
    assert (lo, hi) == pytest.approx((back(g(40) - half), back(g(40) + half)))
    assert 0 < lo < 40 < hi < 100  # asymmetric, inside the scale (the raw t would reach below 0)
    raw = st.jackknife_t_interval(40.0, np.array([50.0, 40.0, 30.0]))
    assert raw[0] < 0


def test_block_ci_is_wider_than_item_ci_for_correlated_items():
    # block A holds five 0s, block B five 100s: as 2 blocks there is 1 degree of freedom
    # (t = 12.7, SE 50; a leave-one-out score of 0 keeps the raw scale); as 10 independent
    # items the interval is far narrower
    s = np.array([[0.0]] * 5 + [[100.0]] * 5)
    lo, hi = st.bootstrap_ci(s, ["A"] * 5 + ["B"] * 5, mean_score)
    assert (lo, hi) == pytest.approx((50 - 12.7062 * 50, 50 + 12.7062 * 50), abs=1e-2)
    lo_i, hi_i = st.bootstrap_ci(s, [str(i) for i in range(10)], mean_score)
    assert 0 < lo_i < 50 < hi_i < 100 and hi - lo > 10 * (hi_i - lo_i)


def test_ci_is_nan_with_one_block():
    s = np.array([[0.2], [0.4]])
    assert all(math.isnan(x) for x in st.bootstrap_ci(s, ["a", "a"], mean_score))


def test_block_sums_of_interleaved_blocks():
    stats = np.arange(10, dtype=float).reshape(5, 2)
    idx, nb = st.block_index(["x", "y", "x", "z", "y"])
    assert nb == 3 and idx.tolist() == [0, 1, 0, 2, 1]
    want = np.array([stats[0] + stats[2], stats[1] + stats[4], stats[3]])
    assert np.array_equal(st.block_sums(stats, idx, nb), want)


def test_weights_count_whole_blocks():
    w = st.resample_weights(["x", "x", "y"], resamples=50, seed=1)
    assert w.shape == (50, 3)
    assert np.all(w[:, 0] == w[:, 1])  # items of one block are always drawn together
    assert np.all(w[:, :2].sum(axis=1) / 2 + w[:, 2] == 2)  # 2 blocks drawn per resample


# --- a small simulation: calibration, power and coverage ----------------------------------------

def _simulate(sizes, sims, effect, seed):
    """Two systems on one block structure: matches ~ Binomial(length, q) with q on the logit
    scale = effect (system a only) + block effect + item effect + system-by-block and
    system-by-item noise. Yields (a, b, blocks, true a − b, true score of a)."""
    rng = np.random.default_rng(seed)
    nb = len(sizes)
    idx = np.repeat(np.arange(nb), sizes)
    length = rng.integers(40, 300, size=len(idx))
    blocks = [str(i) for i in idx]
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    # truth: Σ length·E[q] / Σ length = E[q], by quadrature over the summed normal effects
    x, w = np.polynomial.hermite_e.hermegauss(80)
    sd = math.sqrt(0.5 ** 2 + 0.6 ** 2 + 0.2 ** 2 + 0.3 ** 2)
    truth = lambda mu: 100 * float(np.sum(w * expit(mu + sd * x)) / np.sum(w))  # noqa: E731
    for _ in range(sims):
        shared = rng.normal(0, 0.5, nb)[idx] + rng.normal(0, 0.6, len(idx))

        def system(mu):
            q = expit(mu + shared + rng.normal(0, 0.2, nb)[idx] + rng.normal(0, 0.3, len(idx)))
            return np.c_[rng.binomial(length, q), length].astype(float)
        yield system(effect), system(0.0), blocks, truth(effect) - truth(0.0), truth(effect)


SECTIONS = [1] * 23 + [2] * 8 + [9]  # summarize_*'s 32 blocks


@pytest.mark.parametrize("sizes", [SECTIONS, [3, 4, 5, 6, 7] * 4 + [12, 18, 34, 36]], ids=["32-blocks", "24-blocks"])
def test_null_false_positive_rate_is_alpha_and_ci_covers(sizes):
    sims = 400
    rejections = cover = cover_diff = 0
    for a, b, blocks, true_diff, true_a in _simulate(sizes, sims, 0.0, seed=11):
        res = st.paired_test(a, b, blocks, ratio_score, resamples=400)
        rejections += st.significant(res, 0.05)
        lo, hi = st.bootstrap_ci(a, blocks, ratio_score)
        cover += lo <= true_a <= hi
        cover_diff += res["diff_ci_low"] <= true_diff <= res["diff_ci_high"]
    rate, se = rejections / sims, math.sqrt(0.05 * 0.95 / sims)
    assert rate <= 0.05 + 3 * se  # ≈ 0.083: a 13% rate (Koehn's p) fails
    assert rate >= 0.05 - 3 * se  # ≈ 0.017: a test that never rejects fails too
    assert cover / sims >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / sims)
    assert cover_diff / sims >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / sims)


def test_power_is_high_under_a_large_effect_and_diff_ci_covers_it():
    sims, hits, cover = 200, 0, 0
    for a, b, blocks, true_diff, _ in _simulate(SECTIONS, sims, 0.35, seed=5):
        res = st.paired_test(a, b, blocks, ratio_score, resamples=400)
        hits += st.significant(res) and res["diff"] > 0
        cover += res["diff_ci_low"] <= true_diff <= res["diff_ci_high"]
    assert true_diff > 5  # about 7 points on the 0-100 scale
    assert hits / sims >= 0.9
    assert cover / sims >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / sims)


def test_five_blocks_can_never_be_significant_two_sided_but_can_one_sided():
    # 5 documents: the exact two-sided p is at least 2/32 > 0.05, whatever the effect
    a = np.array([[9.0], [8.0], [9.5], [8.5], [9.9]])
    b = np.zeros((5, 1))
    blocks = list("abcde")
    assert st.paired_test(a, b, blocks, mean_score)["p_value"] == pytest.approx(2 / 32)
    one = st.paired_test(a, b, blocks, mean_score, alternative="greater")
    assert one["p_value"] == pytest.approx(1 / 32) and st.significant(one)


# --- multiple comparisons and ranks -------------------------------------------------------------

def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04 → ×3, ×2, ×1 = 0.03, 0.04, 0.04 (monotone), back in input order
    assert st.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert st.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    out = st.holm([float("nan"), 0.01])
    assert math.isnan(out[0]) and out[1] == pytest.approx(0.01)


def test_rank_ranges_group_insignificant_differences():
    sig = {("a", "c"), ("c", "a"), ("b", "c"), ("c", "b")}
    ranks = st.rank_ranges(["a", "b", "c"], [30.0, 29.5, 10.0], lambda x, y: (x, y) in sig)
    assert ranks == {"a": "1–2", "b": "1–2", "c": "3"}


def test_rank_ranges_lower_is_better():
    always = lambda x, y: True  # noqa: E731
    ranks = st.rank_ranges(["a", "b", "c"], [0.2, 0.5, 0.1], always, higher_is_better=False)
    assert ranks == {"c": "1", "a": "2", "b": "3"}


REFS = ["the cat sat on the mat", "a quick brown fox jumps", "we evaluate machine translation",
        "scaling laws are slowing down", "agents will take a decade", "data is the new oil",
        "the model answers in english", "numbers must be exact", "speech has many errors", "keep it short"] * 3
SYS_A = ["the cat sat on a mat", "a quick brown fox jumped", "we evaluate translation", "scaling laws slow down",
         "agents take a decade", "data is new oil", "model answers in english", "numbers must be exact",
         "speech has errors", "keep it short"] * 3
SYS_B = ["a cat is on the mat", "the fox is quick", "evaluation of machine translation", "laws of scaling",
         "a decade for agents", "oil is data", "the model speaks english", "exact numbers", "errors in speech",
         "short"] * 3


def test_a_score_whose_logit_is_undefined_gets_the_raw_interval_cut_to_0_100_and_says_so():
    # blocks a, b score 100 and c scores 20: without c the score is 100, so no logit; by hand
    # the raw jackknife-t interval is 73.33 ± 4.303 × 26.67 = [-41.4, 188.1] (t on 2 df)
    s = np.array([[100.0], [100.0], [100.0], [100.0], [20.0], [20.0]])
    blocks = list("aabbcc")
    lo, hi = st.bootstrap_ci(s, blocks, mean_score)
    assert lo == pytest.approx(73.333 - 4.3027 * 26.667, abs=0.05) and hi == pytest.approx(73.333 + 4.3027 * 26.667, abs=0.05)
    assert st.score_ci(s, blocks, mean_score) == (0.0, 100.0, "jackknife-t-satterthwaite-clipped")
    # a ratio (length_ratio) is not a 0-100 score: raw interval, named as such, not cut
    assert st.score_ci(s, blocks, mean_score, bounds=(None, None)) == (lo, hi, st.CI_METHOD)
    # open above, closed at 0 (length_ratio, TER): only the impossible part below 0 is cut
    assert st.score_ci(s, blocks, mean_score, bounds=(0.0, None)) == (0.0, hi, st.RAW_SCORE_CI_METHOD)
    # inside (0, 100) everywhere: the logit interval, unchanged, named as before
    inner = np.array([[60.0], [70.0], [50.0], [65.0], [20.0], [30.0]])
    assert st.score_ci(inner, blocks, mean_score) == (*st.bootstrap_ci(inner, blocks, mean_score), st.SCORE_CI_METHOD)


def test_an_open_ended_ratio_gets_its_raw_interval_around_its_value():
    """length_ratio 0.36 (the issue's case): a ratio near 0 was put through the 0-100 logit
    and came out as [0.003, 30.17]; on its own raw scale the interval is the jackknife-t's,
    by hand: blocks score 0.3, 0.4, 0.38 (sums 3/10, 4/10, 3.8/10) → estimate 0.36."""
    s = np.array([[1.5, 5.0], [1.5, 5.0], [2.0, 5.0], [2.0, 5.0], [1.9, 5.0], [1.9, 5.0]])
    blocks = list("aabbcc")
    ratio = lambda total, n: total[0] / total[1] if total[1] else math.nan  # noqa: E731
    lo, hi, method = st.score_ci(s, blocks, ratio, bounds=(0.0, None))
    # leave-one-block-out: 7.8/20 = 0.39, 6.8/20 = 0.34, 7/20 = 0.35; mean 0.36
    loo = np.array([0.39, 0.34, 0.35])
    half = _satterthwaite_half_width(loo)
    assert lo == pytest.approx(0.36 - half, abs=1e-9) and hi == pytest.approx(0.36 + half, abs=1e-9)
    assert lo < 0.36 < hi and hi < 1 and method == st.CI_METHOD
    # the same statistics read as a 0-100 score would be put on the logit scale instead
    assert st.score_ci(s, blocks, ratio)[2] == st.SCORE_CI_METHOD


def test_a_one_to_five_judge_score_gets_the_logit_scale_of_its_own_range():
    """Judge scores live on 1-5: the logit of (x-1)/4, so the interval stays inside 1-5."""
    s = np.array([[4.8, 1], [5.0, 1], [4.9, 1], [4.7, 1], [1.2, 1], [2.0, 1]])
    blocks = list("aabbcc")
    mean = lambda total, n: total[0] / total[1] if total[1] else math.nan  # noqa: E731
    lo, hi, method = st.score_ci(s, blocks, mean, bounds=(1.0, 5.0))
    assert method == st.SCORE_CI_METHOD and 1.0 < lo < hi < 5.0
    # by hand: logit((x-1)/4) of the estimate and of each leave-one-block-out score
    est, loo = s[:, 0].mean(), np.array([(9.6 + 3.2) / 4, (9.8 + 3.2) / 4, (9.8 + 9.6) / 4])
    lg = lambda x: np.log((x - 1) / (5 - x))  # noqa: E731
    half = _satterthwaite_half_width(lg(loo))
    back = lambda y: 1 + 4 / (1 + math.exp(-y))  # noqa: E731
    assert lo == pytest.approx(back(lg(est) - half), abs=1e-9)
    assert hi == pytest.approx(back(lg(est) + half), abs=1e-9)


def _satterthwaite_half_width(loo: np.ndarray) -> float:
    """t(df) × jackknife SE, df = (Σz)²/Σz² capped at B-1, with scipy's t quantile."""
    from scipy.stats import t

    b = len(loo)
    z = (b - 1) / b * (loo - loo.mean()) ** 2
    df = min(b - 1.0, max(1.0, z.sum() ** 2 / (z ** 2).sum()))
    return float(t.ppf(0.975, df) * math.sqrt(z.sum()))
