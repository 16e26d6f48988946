"""Confidence intervals and paired significance tests over blocks of items.

Items come in blocks (source section or document): passages cut from one podcast are not
independent, so every procedure here treats a whole block as the unit. Corpus scores are
always recomputed from summed per-item statistics (as sacrebleu does), never averaged.

- `paired_test`: paired approximate randomization at the block level (Riezler & Maxwell
  2005; `sacrebleu --paired-ar` at the segment level). Under the null the two systems'
  outputs are exchangeable within each block, so each resample swaps the two systems'
  statistics of every block with probability 1/2. With few blocks all 2^B swaps are
  enumerated and the test is exact. `bench/calibrate.py` measures its false-positive rate
  on each task's real block structure.
- Intervals: a delete-one-block jackknife standard error with a Student t quantile on
  Satterthwaite's degrees of freedom (`jackknife-t-satterthwaite`; a score in (0, 100) on
  the logit scale). A percentile bootstrap
  of 5 long documents covers ~85% instead of 95% (5 values say little about their own
  spread); a t quantile on few degrees of freedom does. `bench/calibrate.py` measures both.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Callable

import numpy as np

RESAMPLES = 1000
MIN_BLOCKS = 5  # below this many independent blocks no significance claim is made
SEED = 12345  # sacrebleu's default seed
EXACT_MAX_BLOCKS = 12  # up to 2^12 = 4096 swaps: enumerate them all (an exact test)
CONFIDENCE = 0.95
CI_METHOD = "jackknife-t-satterthwaite"  # differences and macro means
SCORE_CI_METHOD = "logit-jackknife-t-satterthwaite"  # a score in (0, 100): see bootstrap_ci
ScoreSums = Callable[[np.ndarray, float], float]  # (summed stats, item count) -> score
ALTERNATIVES = ("two-sided", "greater", "less")


# --- block bookkeeping -------------------------------------------------------------------

def block_index(blocks: list[str]) -> tuple[np.ndarray, int]:
    """Each item's block number (in order of first appearance) and the number of blocks."""
    names: dict[str, int] = {}
    idx = np.fromiter((names.setdefault(b, len(names)) for b in blocks), dtype=int, count=len(blocks))
    return idx, len(names)


def block_sums(stats: np.ndarray, idx: np.ndarray, n_blocks: int) -> np.ndarray:
    """(blocks × k) summed statistics of each block (linear in items: sort, then reduceat)."""
    stats = np.asarray(stats, dtype=float)
    out = np.zeros((n_blocks, stats.shape[1] if stats.ndim == 2 else 1))
    if not len(idx):
        return out
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    out[sorted_idx[starts]] = np.add.reduceat(stats[order], starts, axis=0)
    return out


def score_rows(score: ScoreSums, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Score of every row of `sums` (one resample each); one call when `score` is vectorised."""
    if getattr(score, "vectorised", False):
        return np.asarray(score(sums, counts), dtype=float)
    return np.array([score(sums[r], counts[r]) for r in range(len(sums))], dtype=float)


def corpus_score(stats: np.ndarray, score: ScoreSums) -> float:
    return float(score_rows(score, stats.sum(axis=0)[None, :], np.array([float(len(stats))]))[0])


# --- bootstrap weights (kept for the meta-evaluation and the percentile comparison) -------

def resample_weights(blocks: list[str], resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples × items) counts: how often each item is drawn when whole blocks are drawn
    with replacement. Summed statistics of resample r are then `weights[r] @ stats`."""
    return _weights(tuple(blocks), resamples, seed)


@lru_cache(maxsize=64)
def _weights(blocks: tuple[str, ...], resamples: int, seed: int) -> np.ndarray:
    block_of, n_blocks = block_index(list(blocks))
    rng = np.random.default_rng(seed)
    draws = rng.choice(n_blocks, size=(resamples, n_blocks), replace=True)
    counts = np.zeros((resamples, n_blocks))
    np.add.at(counts, (np.repeat(np.arange(resamples), n_blocks), draws.ravel()), 1.0)
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
    return score_rows(score, weights @ stats, weights.sum(axis=1))


def percentile_bootstrap_ci(stats: np.ndarray, blocks: list[str], score: ScoreSums,
                            resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    """The block bootstrap's percentile interval: too narrow with few blocks (see the
    calibration benchmark); kept to show that, not used by the leaderboard."""
    if len(stats) < 2:
        return float("nan"), float("nan")
    return percentile_ci(resampled_scores(stats, resample_weights(blocks, resamples, seed), score))


# --- intervals -----------------------------------------------------------------------------

def _t_quantile(df: float, confidence: float = CONFIDENCE) -> float:
    from scipy.special import stdtrit  # scipy.special, not scipy.stats: 4× faster to import

    return float(stdtrit(df, 0.5 + confidence / 2))


def jackknife_t_interval(estimate: float, leave_one_out: np.ndarray,
                         confidence: float = CONFIDENCE) -> tuple[float, float]:
    """estimate ± t(df) · jackknife SE, from the B delete-one-block estimates.

    df is Satterthwaite's (Σz)² / Σz² over the squared deviations z of the delete-one
    estimates, at most B − 1: blocks of very unequal weight (one 36-passage post among
    3-passage ones, 5 documents of different length) carry fewer degrees of freedom than
    B − 1, and a t on B − 1 then covers only ~93% (bench/calibrate.py)."""
    loo = leave_one_out[~np.isnan(leave_one_out)]
    b = len(loo)
    if b < 2 or math.isnan(estimate):
        return float("nan"), float("nan")
    return _t_interval(estimate, (b - 1) / b * (loo - loo.mean()) ** 2, b - 1.0, confidence)


def _t_interval(estimate: float, z: np.ndarray, df_max: float, confidence: float) -> tuple[float, float]:
    """estimate ± t(df) · √Σz, df = (Σz)² / Σz² (Satterthwaite) capped at df_max."""
    total = float(z.sum())
    if total <= 1e-24 * max(1.0, estimate * estimate):  # every block agrees: no spread to show
        return float(estimate), float(estimate)
    df = min(df_max, max(1.0, total * total / float(np.sum(z * z))))
    half = _t_quantile(df, confidence) * math.sqrt(total)
    return float(estimate - half), float(estimate + half)


def stratified_mean_ci(parts: list[tuple[np.ndarray, list[str]]], score: ScoreSums, with_ci: bool = True,
                       confidence: float = CONFIDENCE) -> tuple[float, float, float, list[int]]:
    """Mean of per-stratum corpus scores, strata weighted equally (`macro` over conditions),
    and its CI: blocks are left out one at a time within their stratum (a stratified
    jackknife; each stratum's weight is fixed, as the mean claims), t on Satterthwaite's df.
    Strata whose score is NaN are left out of both the mean and the CI. NaN CI when a
    stratum has a single block (its spread cannot be estimated). Returns (mean, lo, hi,
    indices of the strata used)."""
    values = [corpus_score(s, score) if len(s) else math.nan for s, _ in parts]
    used = [i for i, v in enumerate(values) if not math.isnan(v)]
    if not used:
        return math.nan, math.nan, math.nan, used
    c = len(used)
    mean = float(sum(values[i] for i in used) / c)
    if not with_ci:
        return mean, math.nan, math.nan, used
    z, df_max = [], 0.0
    for i in used:
        stats, blocks = parts[i]
        idx, nb = block_index(blocks)
        sizes = np.bincount(idx, minlength=nb).astype(float)
        loo = _leave_one_block_out(block_sums(stats, idx, nb), sizes, score) if nb >= 2 else np.array([])
        loo = loo[~np.isnan(loo)]
        if len(loo) < 2:
            return mean, math.nan, math.nan, used
        z.append((len(loo) - 1) / len(loo) * ((loo - loo.mean()) / c) ** 2)
        df_max += len(loo) - 1
    lo, hi = _t_interval(mean, np.concatenate(z), df_max, confidence)
    return mean, lo, hi, used


def _leave_one_block_out(sums: np.ndarray, sizes: np.ndarray, score: ScoreSums) -> np.ndarray:
    """Score without each block in turn, from the (blocks × k) block sums and block sizes."""
    return score_rows(score, sums.sum(axis=0) - sums, sizes.sum() - sizes)


def bootstrap_ci(stats: np.ndarray, blocks: list[str], score: ScoreSums,
                 resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    """95% CI of the corpus score over blocks (`SCORE_CI_METHOD`; the name stays for
    callers). A score strictly inside (0, 100), as are all leave-one-block-out scores, gets
    its jackknife-t interval on the logit scale of score/100, mapped back: with 5 long
    documents the scores' skew otherwise costs coverage (0.93 for ROUGE-2), and the interval
    stays inside [0, 100]. Otherwise the raw scale. NaN with fewer than 2 blocks.
    `resamples`/`seed` are unused: the jackknife has no randomness."""
    return _score_interval(stats, blocks, score)[:2]


def _score_interval(stats: np.ndarray, blocks: list[str], score: ScoreSums,
                    bounds: tuple[float, float] | None = (0.0, 100.0)) -> tuple[float, float, bool]:
    """(low, high, on the logit scale?) of `bootstrap_ci`; `bounds` None: always raw."""
    if len(stats) < 2:
        return float("nan"), float("nan"), False
    idx, n_blocks = block_index(blocks)
    if n_blocks < 2:
        return float("nan"), float("nan"), False
    sizes = np.bincount(idx, minlength=n_blocks).astype(float)
    estimate = corpus_score(stats, score)
    loo = _leave_one_block_out(block_sums(stats, idx, n_blocks), sizes, score)
    inside = loo[~np.isnan(loo)]
    if bounds is not None:
        low, high = bounds
        if low < estimate < high and len(inside) and np.all((inside > low) & (inside < high)):
            lo, hi = jackknife_t_interval(_logit(estimate, low, high), _logit(loo, low, high))
            return _expit(lo, low, high), _expit(hi, low, high), True
    return *jackknife_t_interval(estimate, loo), False


RAW_SCORE_CI_METHOD = CI_METHOD + "-clipped"  # the raw-scale interval, cut at the scale's ends


def score_ci(stats: np.ndarray, blocks: list[str], score: ScoreSums,
             bounds: tuple[float | None, float | None] = (0.0, 100.0)) -> tuple[float, float, str]:
    """`bootstrap_ci` on the scale `bounds` give, and the method it used (for the row's
    signature). Both ends finite (0-100 scores, 1-5 judge scores): the logit scale inside
    them; a score at an end, or with a leave-one-block-out score at one, gets the raw-scale
    interval, which with few blocks can reach far past the scale ([-320, 470] on 2 blocks);
    it is cut to the scale and named so. An open end (length_ratio, TER: (0, None)): the raw
    scale, cut at the finite end only when it reaches past it. Cutting drops only impossible
    values, so coverage is unchanged."""
    low, high = bounds
    if low is not None and high is not None:
        lo, hi, logit = _score_interval(stats, blocks, score, (low, high))
        if logit or math.isnan(lo):
            return lo, hi, SCORE_CI_METHOD
        return max(lo, low), min(hi, high), RAW_SCORE_CI_METHOD
    lo, hi, _ = _score_interval(stats, blocks, score, None)
    if math.isnan(lo):
        return lo, hi, CI_METHOD
    cut_lo, cut_hi = (lo if low is None else max(lo, low)), (hi if high is None else min(hi, high))
    return cut_lo, cut_hi, CI_METHOD if (cut_lo, cut_hi) == (lo, hi) else RAW_SCORE_CI_METHOD


def _logit(x, low: float = 0.0, high: float = 100.0):
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.asarray(x, dtype=float)
        return np.log((x - low) / (high - x))[()]


def _expit(y: float, low: float = 0.0, high: float = 100.0) -> float:
    if math.isnan(y):
        return y
    return float(low + (high - low) / (1 + math.exp(-y))) if y > -700 else float(low)


# --- the paired test -----------------------------------------------------------------------

@lru_cache(maxsize=8)
def swap_patterns(n_blocks: int, resamples: int, seed: int) -> tuple[np.ndarray, bool]:
    """(patterns × blocks) 0/1 swaps and whether they are all 2^B of them (exact test).
    Random patterns never include the observed one on purpose: it is counted by the +1."""
    if n_blocks <= EXACT_MAX_BLOCKS:
        out = np.array(list(itertools.product((0.0, 1.0), repeat=n_blocks)))
        exact = True
    else:
        # sacrebleu's own draws (`_paired_ar_test`): with one item per block the p-values match
        out = np.random.default_rng(seed).integers(2, size=(resamples, n_blocks), dtype=bool).astype(float)
        exact = False
    out.flags.writeable = False
    return out, exact


def paired_test(stats_a: np.ndarray, stats_b: np.ndarray, blocks: list[str], score: ScoreSums,
                resamples: int = RESAMPLES, seed: int = SEED, alternative: str = "two-sided") -> dict:
    """Difference a − b of corpus scores on the same items, its 95% CI (`CI_METHOD` over
    blocks) and the p-value of block-level paired approximate randomization.

    Each resample swaps the two systems' statistics of every block with probability 1/2 and
    recomputes both corpus scores from the summed statistics; two-sided
    p = (#{|d*| ≥ |d|} + 1) / (R + 1) (`greater`: d* ≥ d, H1 a − b > 0; `less`: d* ≤ d).
    With at most EXACT_MAX_BLOCKS blocks every one of the 2^B swaps is scored and
    p = #{...} / 2^B, exactly. Identical systems get p = 1. `p_value` is the p of
    `alternative`; `p_two_sided`, `p_greater` and `p_less` come from the same resamples."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}, not {alternative!r}")
    stats_a, stats_b = np.asarray(stats_a, dtype=float), np.asarray(stats_b, dtype=float)
    if stats_a.shape != stats_b.shape or len(stats_a) != len(blocks):
        raise ValueError("paired_test needs both systems' statistics on the same items, one block per item")
    idx, n_blocks = block_index(blocks)
    n = float(len(stats_a))
    sums_a, sums_b = block_sums(stats_a, idx, n_blocks), block_sums(stats_b, idx, n_blocks)
    total_a, total_b = sums_a.sum(axis=0), sums_b.sum(axis=0)
    one = np.array([n])
    diff = (float(score_rows(score, total_a[None, :], one)[0] - score_rows(score, total_b[None, :], one)[0])
            if len(stats_a) else math.nan)
    patterns, exact = swap_patterns(n_blocks, resamples, seed)
    moved = patterns @ (sums_a - sums_b)  # what each swap pattern moves from a to b
    counts = np.full(len(patterns), n)
    d = score_rows(score, total_a - moved, counts) - score_rows(score, total_b + moved, counts)
    d = d[~np.isnan(d)]
    p = {alt: _p_value(diff, d, exact, alt) for alt in ALTERNATIVES}
    if n_blocks >= 2:
        sizes = np.bincount(idx, minlength=n_blocks).astype(float)
        loo = _leave_one_block_out(sums_a, sizes, score) - _leave_one_block_out(sums_b, sizes, score)
        lo, hi = jackknife_t_interval(diff, loo)
    else:
        lo, hi = math.nan, math.nan
    method = (f"paired-ar|blocks|exact:2^{n_blocks}" if exact else f"paired-ar|blocks|R:{resamples}|seed:{seed}")
    if alternative != "two-sided":
        method = method.replace("paired-ar", f"paired-ar-{alternative}", 1)
    return {"diff": float(diff), "diff_ci_low": lo, "diff_ci_high": hi, "p_value": p[alternative],
            "p_two_sided": p["two-sided"], "p_greater": p["greater"], "p_less": p["less"], "blocks": n_blocks,
            "alternative": alternative, "method": f"{method}|ci:{CI_METHOD}"}


def _p_value(diff: float, d: np.ndarray, exact: bool, alternative: str) -> float:
    if math.isnan(diff) or not len(d):
        return math.nan
    tol = 1e-9 * max(1.0, abs(diff))  # swaps of identical blocks reproduce d up to rounding
    if alternative == "two-sided":
        hits = int(np.sum(np.abs(d) >= abs(diff) - tol))
    elif alternative == "greater":
        hits = int(np.sum(d >= diff - tol))
    else:
        hits = int(np.sum(d <= diff + tol))
    return hits / len(d) if exact else (hits + 1) / (len(d) + 1)


def significant(result: dict, alpha: float = 0.05) -> bool:
    """p < alpha on at least MIN_BLOCKS blocks: with 2-4 documents the randomization
    distribution has at most 16 values, too coarse to support a claim."""
    p = result["p_value"]
    return p is not None and not math.isnan(p) and p < alpha and result.get("blocks", MIN_BLOCKS) >= MIN_BLOCKS


def holm(p_values: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given; NaN stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.where(~np.isnan(p))[0]
    order = ok[np.argsort(p[ok], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


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
