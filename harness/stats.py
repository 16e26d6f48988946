"""Block bootstrap confidence intervals and paired significance tests.

Items are resampled in blocks (source section or document): passages cut from one podcast
are not independent. Each resample draws as many blocks as there are, with replacement,
and recomputes the corpus score from the summed per-item statistics, exactly as
sacrebleu's bootstrap does per segment. With one item per block the index draws are
sacrebleu's own (`default_rng(seed).choice(n, (resamples, n))`), so the paired test
reproduces `sacrebleu --paired-bs` p-values; a test pins that.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

RESAMPLES = 1000
MIN_BLOCKS = 5  # below this many independent blocks a bootstrap cannot support a significance claim
SEED = 12345  # sacrebleu's default seed
ScoreSums = Callable[[np.ndarray, float], float]  # (summed stats, item count) -> score


def resample_weights(blocks: list[str], resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples × items) counts: how often each item is drawn when whole blocks are drawn
    with replacement. Summed statistics of resample r are then `weights[r] @ stats`."""
    return _weights(tuple(blocks), resamples, seed)


@lru_cache(maxsize=64)
def _weights(blocks: tuple[str, ...], resamples: int, seed: int) -> np.ndarray:
    names = {b: i for i, b in enumerate(dict.fromkeys(blocks))}
    block_of = np.array([names[b] for b in blocks], dtype=int)
    rng = np.random.default_rng(seed)
    draws = rng.choice(len(names), size=(resamples, len(names)), replace=True)
    counts = np.stack([np.bincount(row, minlength=len(names)) for row in draws]).astype(float)
    out = counts[:, block_of]
    out.flags.writeable = False
    return out


def percentile_ci(samples: np.ndarray) -> tuple[float, float]:
    samples = samples[~np.isnan(samples)]
    if not len(samples):
        return float("nan"), float("nan")
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def resampled_scores(stats: np.ndarray, weights: np.ndarray, score: ScoreSums) -> np.ndarray:
    """Score of every resample. `score` may be vectorised (2-D sums → 1-D scores)."""
    sums = weights @ stats
    counts = weights.sum(axis=1)
    if getattr(score, "vectorised", False):
        return np.asarray(score(sums, counts), dtype=float)
    return np.array([score(sums[r], counts[r]) for r in range(len(weights))])


def bootstrap_ci(stats: np.ndarray, blocks: list[str], score: ScoreSums,
                 resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    if len(stats) < 2:
        return float("nan"), float("nan")
    return percentile_ci(resampled_scores(stats, resample_weights(blocks, resamples, seed), score))


def paired_test(stats_a: np.ndarray, stats_b: np.ndarray, blocks: list[str], score: ScoreSums,
                resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, float]:
    """Paired bootstrap on the same items: difference a − b, its 95% CI and a two-sided
    p-value as in Koehn (2004) / sacrebleu, `(#{|d*| − mean|d*| ≥ |d|} + 1) / (R + 1)`. We count
    ties (≥ where sacrebleu has >): identical systems then get p = 1 instead of sacrebleu's
    1/(R+1); away from ties the two agree exactly (a test pins both)."""
    everything = np.ones((1, len(stats_a)))
    diff = resampled_scores(stats_a, everything, score)[0] - resampled_scores(stats_b, everything, score)[0]
    weights = resample_weights(blocks, resamples, seed)
    d = resampled_scores(stats_a, weights, score) - resampled_scores(stats_b, weights, score)
    centred = np.abs(d) - np.abs(d).mean()
    p = (np.sum(centred >= abs(diff) - 1e-12) + 1) / (resamples + 1)
    lo, hi = percentile_ci(d)
    return {"diff": float(diff), "diff_ci_low": lo, "diff_ci_high": hi, "p_value": float(p),
            "blocks": len(set(blocks))}


def significant(result: dict, alpha: float = 0.05) -> bool:
    """p < alpha on at least MIN_BLOCKS blocks: with 2-4 documents the resampling
    distribution is too coarse to trust a small p (3 documents give 10 distinct resamples)."""
    return result["p_value"] < alpha and result.get("blocks", MIN_BLOCKS) >= MIN_BLOCKS


def rank_ranges(names: list[str], values: list[float], significant: Callable[[str, str], bool],
                higher_is_better: bool = True) -> dict[str, str]:
    """Rank with ties for differences that are not significant: a model's range runs from
    1 + #models significantly better to #models not significantly worse ("1–2")."""
    out = {}
    for n, v in zip(names, values):
        better = sum(1 for m, w in zip(names, values) if m != n and ((w > v) == higher_is_better) and w != v
                     and significant(n, m))
        worse = sum(1 for m, w in zip(names, values) if m != n and ((w < v) == higher_is_better) and w != v
                    and significant(n, m))
        lo, hi = better + 1, len(names) - worse
        out[n] = str(lo) if lo == hi else f"{lo}–{hi}"
    return out
