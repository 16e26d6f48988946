"""The gate's statistics, proved by simulation on block-structured data: Holm keeps the
family-wise false-alarm rate at alpha where uncorrected tests do not; at the reported
minimum detectable drop the one-sided randomization test has about 80% power; with too
few blocks the reported drop is infinite because no p-value can reach alpha."""

import math

import numpy as np
import pytest

import harness.inference._stats as st
from harness.inference._power import diff_se, min_detectable_drop, smallest_p, t_quantile
from harness.inference._stats import holm

ALPHA = 0.05


def mean_score(total, n):
    return total[0] / n


def mean_matrix(sums, counts):
    return sums[:, 0] / counts


mean_matrix.vectorised = True


def dataset(rng, n_blocks=16, per_block=3, drop=0.0):
    """Per-item scores with a block effect; the change adds its own block and item noise."""
    blocks = [f"b{b}" for b in range(n_blocks) for _ in range(per_block)]
    block_of = np.repeat(np.arange(n_blocks), per_block)
    before = 50 + rng.normal(0, 10, n_blocks)[block_of] + rng.normal(0, 8, len(blocks))
    after = before - drop + rng.normal(0, 2, n_blocks)[block_of] + rng.normal(0, 3, len(blocks))
    return before[:, None], after[:, None], blocks


def test_holm_matches_a_hand_worked_example():
    # sorted p: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 -> max(0.06, 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = holm([0.2, math.nan, 0.01])  # NaN (no test) is not part of the family
    assert adjusted[0] == pytest.approx(0.2) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 0.8·2 capped at 1, then max(1, 0.9)


def test_holm_keeps_the_family_wise_error_rate():
    rng = np.random.default_rng(7)
    sims, family = 200, 5
    any_holm = any_raw = 0
    for s in range(sims):
        ps = []
        for _ in range(family):
            before, after, blocks = dataset(rng, drop=0.0)
            ps.append(st.paired_test(after, before, blocks, mean_matrix, seed=s, alternative="less")["p_value"])
        any_raw += min(ps) < ALPHA
        any_holm += min(holm(ps)) < ALPHA
    tolerance = 3 * math.sqrt(ALPHA * (1 - ALPHA) / sims)
    assert any_holm / sims <= ALPHA + tolerance
    assert any_raw / sims > ALPHA + tolerance  # without the correction a harmless change fails too often


def test_power_at_the_reported_minimum_detectable_drop_is_about_80_percent():
    rng = np.random.default_rng(11)
    weights_for = {}

    def reported(before, after, blocks):
        w = weights_for.setdefault(tuple(blocks), st.resample_weights(blocks))
        return min_detectable_drop(diff_se(after, before, blocks, mean_matrix, w), len(set(blocks)), ALPHA,
                                   st.MIN_BLOCKS)

    mdd = float(np.mean([reported(*dataset(rng)) for _ in range(40)]))
    assert 0 < mdd < 20
    sims, hits, again = 200, 0, []
    for s in range(sims):
        before, after, blocks = dataset(rng, drop=mdd)
        hits += st.paired_test(after, before, blocks, mean_matrix, seed=s, alternative="less")["p_value"] < ALPHA
        if s < 40:
            again.append(reported(before, after, blocks))
    power = hits / sims
    assert 0.70 <= power <= 0.90, power
    # the figure does not grow with the drop itself (a bootstrap spread is centred on the observed difference)
    assert np.mean(again) == pytest.approx(mdd, rel=0.15)


@pytest.mark.parametrize("df", [4, 5, 6, 9, 12, 15, 39, 200])
@pytest.mark.parametrize("p", [0.8, 0.95, 0.99, 0.999, 0.9999])
def test_t_quantile_matches_scipy(p, df):
    """Within 0.5% wherever it is used: B = df + 1 blocks reach the level 1 − p only when
    2**-B < 1 − p (otherwise the detectable drop is infinite and no quantile is needed)."""
    from scipy.special import stdtrit

    if 2.0 ** -(df + 1) >= 1 - p:
        assert min_detectable_drop(1.0, df + 1, 1 - p, st.MIN_BLOCKS) == math.inf
        return
    assert t_quantile(p, df) == pytest.approx(stdtrit(df, p), rel=0.005)


def test_too_few_blocks_cannot_detect_anything():
    assert min_detectable_drop(1.0, 4, ALPHA, st.MIN_BLOCKS) == math.inf  # 2**-4 = 0.0625 >= alpha
    assert min_detectable_drop(1.0, 5, 0.01, st.MIN_BLOCKS) == math.inf  # 2**-5 = 0.031 >= 0.01
    assert math.isfinite(min_detectable_drop(1.0, 8, ALPHA, st.MIN_BLOCKS))
    # the randomization test agrees: 4 blocks, every item much worse, and still p >= alpha
    rng = np.random.default_rng(3)
    before, after, blocks = dataset(rng, n_blocks=4, drop=40.0)
    res = st.paired_test(after, before, blocks, mean_matrix, alternative="less")
    assert res["p_value"] >= smallest_p(4) - 0.01 and res["p_value"] >= ALPHA * 0.9


def test_the_test_is_one_sided():
    rng = np.random.default_rng(5)
    before, after, blocks = dataset(rng, drop=-15.0)  # a large improvement
    assert st.paired_test(after, before, blocks, mean_matrix, alternative="less")["p_value"] > 0.5
    before, after, blocks = dataset(rng, drop=15.0)
    assert st.paired_test(after, before, blocks, mean_matrix, alternative="less")["p_value"] < ALPHA


def test_readme_figures_for_the_committed_baseline():
    """README: the committed baseline has 36 tests over 11 blocks per task, enough for a drop
    to be significant ("at least 10" blocks for 36 tests); 8 blocks cannot support 13 or more
    tests at alpha = 0.05."""
    from harness.gate._baseline import read_baseline
    from harness.core._paths import ROOT
    from harness.score import registry
    from harness.task._spec import load_tasks

    base = read_baseline(ROOT / "results" / "baseline.csv")
    tasks = {t.id: t for t in load_tasks(base.tasks, root=ROOT / "tasks", via_datasets=False)}
    m, most_blocks = 0, 0
    for tid in base.tasks:
        names = {n for f in tasks[tid].spec.metrics for n in registry.make(f, tasks[tid]).names
                 if registry.metric(n).gated}
        m += len(names) * len(base.models)
        most_blocks = max(most_blocks, len({r.block for r in base.rows if r.task == tid}))
    fewest_blocks = min(len({r.block for r in base.rows if r.task == tid}) for tid in base.tasks)
    assert m == 36 and most_blocks == fewest_blocks == 11
    assert smallest_p(fewest_blocks) < ALPHA / m  # Holm's first level is within reach
    assert smallest_p(8) >= ALPHA / 13 and smallest_p(8) < ALPHA / 12
    assert smallest_p(9) >= ALPHA / 36 > smallest_p(10)  # "36 tests at alpha = 0.05: at least 10" blocks


def test_the_bound_for_an_unrelated_change():
    """With no output changed the gate states the detectable drop for a change unrelated to
    the baseline item by item: sqrt(2) x one side's standard error. On data where "after" is
    drawn independently of "before", that is what the paired difference's spread is."""
    from harness.inference._power import score_se

    rng = np.random.default_rng(21)
    ratios = []
    for _ in range(40):
        before, _, blocks = dataset(rng)
        after, _, _ = dataset(rng)  # same distribution, independent of "before"
        w = st.resample_weights(blocks)
        ratios.append(diff_se(after, before, blocks, mean_matrix, w) / (math.sqrt(2) * score_se(before, w, mean_matrix)))
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.1)


def test_no_spread_is_not_measurable_rather_than_perfect():
    """Constant scores (a judge giving 4 everywhere) have no spread: the detectable drop is
    NaN, shown as "—" (not measurable), never 0.00 (which would read as perfect sensitivity)."""
    import math

    from harness.inference._power import min_detectable_drop

    assert math.isnan(min_detectable_drop(0.0, 12, 0.05, 5))
    assert 0 < min_detectable_drop(1.0, 12, 0.05, 5) < math.inf
    assert min_detectable_drop(1.0, 3, 0.05, 5) == math.inf  # too few blocks stays ∞
