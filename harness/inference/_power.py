"""The gate's power statement, and why it corrects for multiple tests.

A gate makes one test per (model, task, metric): with 3 models × 2 tasks × 6 metrics a
5% test per comparison would flag a harmless change most of the time. Holm's step-down
procedure (stats.holm) keeps the chance of any false alarm in the whole family at alpha.

The minimum detectable drop (MDD) answers "are 30 items enough?": the drop the one-sided
test finds with 80% power at a level (the gate uses alpha/m, Holm's first step: what a
lone regression among m tests must reach). It comes from the spread of the paired difference
over block-bootstrap resamples (its standard error `se`): MDD = (t_{1-alpha} + t_{0.8})·se
with B − 1 degrees of freedom for B blocks (the spread is estimated from B blocks) and the
factor sqrt(B / (B − 1)) that a bootstrap standard error lacks. A simulation in tests/test_gate_power.py runs the gate's randomization test at that
drop and checks the power is close to 80%. With too few blocks no p-value can reach alpha
at all, and the MDD is infinite.
"""

from __future__ import annotations

import math

import numpy as np

POWER = 0.8


def smallest_p(n_blocks: int) -> float:
    """The smallest one-sided p a block-level randomization test can give: the observed
    assignment is one of 2**B equally likely sign patterns."""
    return 2.0 ** -n_blocks


def min_detectable_drop(se: float, n_blocks: int, alpha: float, min_blocks: int, power: float = POWER) -> float:
    """Drop (in the metric's points) found with `power` by a one-sided test at `alpha`; NaN
    when the spread is 0 (e.g. a judge giving one score everywhere): a drop cannot be sized
    against no noise, and 0 would read as perfect sensitivity."""
    if se == 0:
        return math.nan
    if n_blocks < max(min_blocks, 2) or smallest_p(n_blocks) >= alpha or not math.isfinite(se):
        return math.inf
    df = n_blocks - 1
    return float((t_quantile(1 - alpha, df) + t_quantile(power, df)) * se * math.sqrt(n_blocks / df))


def t_quantile(p: float, df: int) -> float:
    """Student t quantile by the Cornish-Fisher expansion around the normal one: within 0.5%
    of the exact value wherever the gate needs it (2**-(df+1) < 1 - p; tested against scipy),
    without importing scipy.stats (seconds)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(p)
    return (z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3))


def diff_se(after: np.ndarray, before: np.ndarray, blocks: list[str], score, weights: np.ndarray) -> float:
    """Standard error of score(after) − score(before) over block-bootstrap resamples (`weights`
    from stats.resample_weights): both sides drawn with the same blocks, as a paired test does."""
    from harness.inference._stats import resampled_scores

    d = resampled_scores(after, weights, score) - resampled_scores(before, weights, score)
    d = d[np.isfinite(d)]
    return float(np.std(d, ddof=1)) if len(d) > 1 else math.nan


def score_se(stats: np.ndarray, weights: np.ndarray, score) -> float:
    """Standard error of one side's score over block-bootstrap resamples. For a change
    unrelated to the baseline item by item, the paired difference has about sqrt(2) times it."""
    from harness.inference._stats import resampled_scores

    s = resampled_scores(stats, weights, score)
    s = s[np.isfinite(s)]
    return float(np.std(s, ddof=1)) if len(s) > 1 else math.nan
