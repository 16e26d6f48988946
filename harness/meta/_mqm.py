"""Meta-evaluation: how well the harness's metrics agree with expert MQM judgments.

The data set is the WMT21 TED zh→en MQM annotation (tasks/meta/mqm_ted_zhen/): 15
translations of 529 segments (13 MT systems and two human translations, `ref` = ref.A and
`refB` = ref.B), each segment's errors marked by a professional translator. One human
translation serves as the reference; every other translation is scored with the harness's
own scorers (the `stats`/`score` interface the leaderboard uses) and the scores are
correlated with −MQM (MQM counts errors: lower is better):

- system level: Pearson and Kendall τ-b across systems, with the other human translation
  among the systems (`with_human`) and without it (`without_human`, the 13 MT systems);
- segment level, over the 13 MT systems: Kendall τ-b over all system×segment pairs
  (`pooled`) and τ-b across systems within each segment, averaged over segments whose
  metric and MQM both vary (`item_avg`, WMT style).

Every correlation gets a 95% bootstrap CI from resampling segments (harness.inference._stats weights):
corpus scores are recomputed from the summed per-item statistics of each resample, and the
segment-level τ from pair sums between segments (see `SegmentPairs`), so no resample re-scores
text. `evaluate(..., extra=...)` correlates scores from elsewhere (an LLM judge) the same way.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from harness import inference as st
from harness.core import UserError
from harness.core import TASKS, schema
from harness.task import Item
from harness.score import JUDGE_PREFIX, Scorer

SCHEMA_VERSION = schema.META.version
DATASET = "mqm_ted_zhen"
DATA = TASKS / "meta" / DATASET / f"{DATASET}.tsv"
COLUMNS = list(schema.META.columns)
KEY = ["reference", "metric", "level", "variant", "statistic"]
HUMAN = {"ref": "ref.A", "refB": "ref.B"}  # name in the file -> name in the published table
SPAN = re.compile(r"</?v>")
MQM_SIGNATURE = ("mqm(major=5,minor=1,minor-punct=0.1,non-translation=25,"
                 "seg=mean-over-raters,system=mean-over-segments)")


def error_weight(category: str, severity: str) -> float:
    """Weight of one annotated error in the convention of Freitag et al. (2021)."""
    if severity == "No-error":
        return 0.0
    if category == "Non-translation":
        return 25.0
    if severity == "Major":
        return 5.0
    if severity == "Minor":
        return 0.1 if category == "Fluency/Punctuation" else 1.0
    raise ValueError(f"unknown severity {severity!r}")


@dataclass
class MQMSet:
    """Every system's translation of every segment, and its MQM score (systems × segments)."""

    systems: list[str]  # names as in the file (`ref`, `refB`, MT systems)
    seg_ids: list[str]
    sources: list[str]
    docs: list[str]
    targets: dict[str, list[str]]  # system -> plain target text per segment
    mqm: np.ndarray  # (systems, segments): mean over the segment's raters of the weighted error sum

    @property
    def mt_systems(self) -> list[str]:
        return [s for s in self.systems if s not in HUMAN]

    def system_mqm(self) -> dict[str, float]:
        """Mean over the system's 529 rated segments of the per-segment score (the segment's
        rater average of the weighted error sum, weights as in `error_weight`, all categories
        including `Source error`, no cap). Each (system, segment) has exactly one rater in this
        file, so this equals the mean over (segment, rater) pairs.

        This reproduces the README's published table to its printed precision for 14 of the
        15 systems. Borderline is the exception: 1272.4 / 529 = 2.4053, which prints as
        2.41, not the published 2.40. Other conventions (no source errors, weight 0.1 for
        major punctuation, segment cap at 25, averaging by rater or by document, counting
        a doubly annotated span once) either leave Borderline unchanged or break other rows,
        so we keep the stated convention and the test marks Borderline as a known mismatch."""
        return {s: float(row.mean()) for s, row in zip(self.systems, self.mqm)}

    def head(self, n: int) -> "MQMSet":
        """The first n segments (a cheaper sample for expensive metrics such as a judge)."""
        return MQMSet(self.systems, self.seg_ids[:n], self.sources[:n], self.docs[:n],
                      {s: t[:n] for s, t in self.targets.items()}, self.mqm[:, :n])

    def items(self, reference: str) -> list[Item]:
        """The segments as harness items, with `reference`'s translation as the reference."""
        return [Item(seg, src, [ref], {"doc": doc})
                for seg, src, ref, doc in zip(self.seg_ids, self.sources, self.targets[reference], self.docs)]


def load_mqm(path: Path = DATA) -> MQMSet:
    """Read the TSV (one row per annotated error, or a `No-error` row) into an `MQMSet`."""
    try:
        fh = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the MQM file ({exc.strerror})") from None
    error_sum: dict[tuple[str, str, str], float] = {}  # (system, segment, rater) -> weighted errors
    target: dict[tuple[str, str], str] = {}
    source: dict[str, str] = {}
    doc: dict[str, str] = {}
    with fh:
        rows = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        for n, row in enumerate(rows, start=2):
            try:
                system, seg, rater = row["system"], row["seg_id"], row["rater"]
                weight = error_weight(row["category"], row["severity"])
                plain = SPAN.sub("", row["target"])  # error spans are marked <v>…</v>
            except (KeyError, TypeError, ValueError) as exc:
                raise UserError(f"{path}:{n}: malformed MQM row ({exc})") from None
            error_sum[system, seg, rater] = error_sum.get((system, seg, rater), 0.0) + weight
            if target.setdefault((system, seg), plain) != plain:
                raise UserError(f"{path}:{n}: system {system} segment {seg} has two different targets")
            source.setdefault(seg, SPAN.sub("", row["source"]))  # source errors are marked too
            doc.setdefault(seg, row["doc"])
    systems = sorted({s for s, _ in target})
    seg_ids = sorted(source, key=int)
    missing = [(s, g) for s in systems for g in seg_ids if (s, g) not in target]
    if missing:
        raise UserError(f"{path}: system {missing[0][0]} has no rated segment {missing[0][1]}")
    per_rater: dict[tuple[str, str], list[float]] = {}
    for (system, seg, _), value in error_sum.items():
        per_rater.setdefault((system, seg), []).append(value)
    mqm = np.array([[np.mean(per_rater[s, g]) for g in seg_ids] for s in systems])
    return MQMSet(systems, seg_ids, [source[g] for g in seg_ids], [doc[g] for g in seg_ids],
                  {s: [target[s, g] for g in seg_ids] for s in systems}, mqm)


# --- scores -----------------------------------------------------------------------------

def default_scorers() -> dict[str, object]:
    """Every registered metric that needs nothing but references, set up for the MQM data
    (zh→en, one reference at a time)."""
    from types import SimpleNamespace

    from harness.score import registry

    task = SimpleNamespace(spec=SimpleNamespace(source_lang="zh", target_lang="en", target_script=None), items=[])
    return {f: registry.make(f, task) for f in registry.families()
            if not registry.entry(f).needs and registry.entry(f).in_meta}


class GivenScores(Scorer):
    """Scores computed elsewhere (e.g. an LLM judge), one per (system, segment), as a scorer:
    per-item stats are (score, 1); the system score is their mean."""

    def __init__(self, name: str, scores: Mapping[tuple[str, str], float]):
        self.names = (name,)
        # keys may use the published names (ref.A) or the file's (ref), int or str segment ids
        back = {v: k for k, v in HUMAN.items()}
        self.scores = {(back.get(s, s), str(g)): float(v) for (s, g), v in scores.items()}

    def signature(self) -> str:
        return f"given:{self.names[0]}|system:mean-of-segments"

    def stats_for(self, system: str, items: list[Item]) -> np.ndarray:
        try:
            return np.array([[self.scores[system, it.id], 1.0] for it in items])
        except KeyError as exc:
            raise UserError(f"metric {self.names[0]}: no score for (system, segment) {exc.args[0]}") from None

    def score_sums(self, total: np.ndarray, n: float) -> dict[str, float]:
        return {self.names[0]: float(total[0] / total[1]) if n else math.nan}

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return {self.names[0]: sums[:, 0] / sums[:, 1]}


@dataclass
class MetricScores:
    name: str
    signature: str
    system: dict[str, float]  # corpus score per system
    resampled: dict[str, np.ndarray]  # corpus score per system and resample (R,)
    segment: dict[str, np.ndarray]  # score of each segment alone (NaN where undefined)


def score_systems(data: MQMSet, reference: str, systems: list[str], weights: np.ndarray,
                  scorers: Mapping[str, object]) -> list[MetricScores]:
    """Every metric name of every scorer, for `systems` against `reference`, exactly as the
    leaderboard computes it (per-item stats, corpus score from their sum)."""
    from harness.results import metric_fn
    from harness.score import registry

    items = data.items(reference)
    out = []
    for scorer in scorers.values():
        per_system = {s: (scorer.stats_for(s, items) if isinstance(scorer, GivenScores)
                          else scorer.stats(data.targets[s], items)) for s in systems}
        for name in scorer.names:
            fn = metric_fn(scorer, name)
            # correlations read every metric as higher-is-better: a lower-is-better one is negated
            sign, how = (-1.0, "|negated:lower-is-better") if registry.lower_is_better(name) else (1.0, "")
            out.append(MetricScores(
                name, scorer.signature() + how,
                {s: sign * scorer.score_sums(x.sum(axis=0), len(x))[name] for s, x in per_system.items()},
                {s: sign * st.resampled_scores(x, weights, fn) for s, x in per_system.items()},
                {s: sign * _per_item(x, fn) for s, x in per_system.items()}))
    return out


def _per_item(stats: np.ndarray, fn) -> np.ndarray:
    """Each item scored alone by the scorer (sentence-level score)."""
    if getattr(fn, "vectorised", False):
        return np.asarray(fn(stats, np.ones(len(stats))), dtype=float)
    return np.array([fn(row, 1) for row in stats], dtype=float)


# --- correlations (vectorised over resamples: the last axis is systems) -------------------

def pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * y).sum(-1) / np.sqrt((x * x).sum(-1) * (y * y).sum(-1))


def kendall_b(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall τ-b = Σ sgn(Δx)·sgn(Δy) / √(#pairs untied in x · #pairs untied in y)."""
    i, j = np.triu_indices(x.shape[-1], 1)
    sx, sy = np.sign(x[..., i] - x[..., j]), np.sign(y[..., i] - y[..., j])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sx * sy).sum(-1) / np.sqrt((sx * sx).sum(-1) * (sy * sy).sum(-1))


def _signs(v: np.ndarray, chunk: int = 32) -> np.ndarray:
    """v: (systems k, segments m) -> int8 (m, k, k, m): sgn(v[i, a] − v[j, b]) at [a, i, j, b]."""
    k, m = v.shape
    out = np.empty((m, k, k, m), dtype=np.int8)
    # integer ranks keep every comparison (ties included) and make the differences cheap
    v = np.unique(v, return_inverse=True)[1].reshape(v.shape).astype(np.int16 if v.size < 2**15 else np.int32)
    for a in range(0, m, chunk):
        b = slice(a, min(a + chunk, m))
        out[b] = np.sign(v.T[b, :, None, None] - v[None, None, :, :])
    return out


class SegmentPairs:
    """Every pair (system i in segment a, system j in segment b) of the segment-level data,
    summed by segment pair into (segments × segments) matrices: S = Σ sgn(Δmetric)·sgn(Δ−MQM),
    Tx = Σ sgn(Δmetric)², Ty = Σ sgn(Δ−MQM)² (pairs with a missing metric score count
    nowhere). Kendall τ-b over all pairs is ΣS / √(ΣTx·ΣTy); for a resample with segment
    counts w it is wᵀSw / √(wᵀTx·w · wᵀTy·w) (a segment drawn twice pairs with its copy like
    with any other segment: exactly τ-b on the duplicated data); the diagonal gives τ-b
    within each segment. The −MQM signs are computed once and shared by every metric."""

    def __init__(self, data: MQMSet, systems: list[str]):
        self.systems = systems
        self.sy = _signs(-data.mqm[[data.systems.index(s) for s in systems]])
        self.ty = np.abs(self.sy).sum(axis=(1, 2), dtype=np.int64).astype(float)

    def sums(self, x: np.ndarray, chunk: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        valid = ~np.isnan(x)
        sx = _signs(np.where(valid, x, 0.0), chunk=chunk)
        m = x.shape[1]
        s_mat, tx, ty = np.zeros((m, m)), np.zeros((m, m)), self.ty.copy()
        for a in range(0, m, chunk):
            b = slice(a, min(a + chunk, m))
            if not valid.all():
                pair_ok = valid.T[b, :, None, None] & valid[None, None, :, :]
                sx[b] *= pair_ok
                ty[b] = (np.abs(self.sy[b]) * pair_ok).sum(axis=(1, 2))
            s_mat[b] = (sx[b] * self.sy[b]).sum(axis=(1, 2), dtype=np.int64)
            tx[b] = np.abs(sx[b]).sum(axis=(1, 2), dtype=np.int64)
        return s_mat, tx, ty


def _quad(w: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """wᵀ·mat·w for every row of w."""
    return ((w @ mat) * w).sum(axis=1)


@dataclass
class Correlation:
    level: str
    variant: str
    statistic: str
    value: float
    ci: tuple[float, float]
    n: int


def system_level(metric: MetricScores, mqm: dict[str, float], mqm_resampled: dict[str, np.ndarray],
                 systems: list[str], variant: str) -> list[Correlation]:
    x = np.array([metric.system[s] for s in systems])
    y = -np.array([mqm[s] for s in systems])
    xr = np.stack([metric.resampled[s] for s in systems], axis=-1)
    yr = -np.stack([mqm_resampled[s] for s in systems], axis=-1)
    return [Correlation("system", variant, name, float(f(x, y)), st.percentile_ci(f(xr, yr)), len(systems))
            for name, f in (("pearson", pearson), ("kendall", kendall_b))]


def segment_level(metric: MetricScores, pairs: SegmentPairs, weights: np.ndarray) -> list[Correlation]:
    x = np.stack([metric.segment[s] for s in pairs.systems])
    s_mat, tx, ty = pairs.sums(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = s_mat.sum() / math.sqrt(tx.sum() * ty.sum()) if tx.sum() and ty.sum() else math.nan
        pooled_r = _quad(weights, s_mat) / np.sqrt(_quad(weights, tx) * _quad(weights, ty))
        ok = (np.diag(tx) > 0) & (np.diag(ty) > 0)  # segments where metric and MQM both vary
        per_seg = np.where(ok, np.diag(s_mat) / np.sqrt(np.diag(tx) * np.diag(ty)), 0.0)
        avg = float(per_seg[ok].mean()) if ok.any() else math.nan
        avg_r = (weights @ per_seg) / (weights @ ok)
    n_pairs = int((~np.isnan(x)).sum())
    return [Correlation("segment", "pooled", "kendall", float(pooled), st.percentile_ci(pooled_r), n_pairs),
            Correlation("segment", "item_avg", "kendall", avg, st.percentile_ci(avg_r), int(ok.sum()))]


def undefined_reason(metric: MetricScores, c: Correlation, systems: list[str]) -> str:
    """Why a correlation is NaN, in words (a constant judge gives one: nothing to rank)."""
    if not math.isnan(c.value):
        return ""
    if c.level == "system":
        values = [metric.system[s] for s in systems]
        if any(math.isnan(v) for v in values):
            return "no score for some systems: correlation undefined"
        if len(set(values)) == 1:
            return f"constant scores ({values[0]:g} for every system): correlation undefined"
        return "correlation undefined"
    seg = np.stack([metric.segment[s] for s in systems])
    finite = seg[~np.isnan(seg)]
    if not len(finite):
        return "no segment scored: correlation undefined"
    if len(np.unique(finite)) == 1:
        return f"constant scores ({finite[0]:g} on every segment): correlation undefined"
    return "no segment where both the metric and MQM vary: correlation undefined"


# --- the whole evaluation ---------------------------------------------------------------

def evaluate(data: MQMSet, references: tuple[str, ...] = ("ref", "refB"),
             extra: Mapping[str, Mapping[tuple[str, str], float]] | None = None,
             scorers: Mapping[str, object] | None = None,
             resamples: int = st.RESAMPLES, seed: int = st.SEED) -> list[dict]:
    """Rows of the meta-evaluation CSV (full precision) for each reference.

    `extra` is the hook for scores computed elsewhere, such as an LLM judge:
    metric name -> {(system, seg_id): score, higher is better}, covering every system
    except the reference; they are correlated exactly like the built-in metrics."""
    scorers = dict(default_scorers() if scorers is None else scorers)
    for name, scores in (extra or {}).items():
        scorers[f"given:{name}"] = GivenScores(name, scores)
    # resample segments (each segment its own block); 0 resamples -> no CIs
    weights = (st.resample_weights(data.seg_ids, resamples, seed) if resamples
               else np.zeros((0, len(data.seg_ids))))
    counts = weights.sum(axis=1)
    mqm = data.system_mqm()
    with np.errstate(invalid="ignore", divide="ignore"):
        mqm_r = {s: weights @ row / counts for s, row in zip(data.systems, data.mqm)}
    pairs = SegmentPairs(data, data.mt_systems)  # segment level: the 13 MT systems
    rows = []
    for ref in references:
        if ref not in HUMAN:
            raise UserError(f"reference must be one of {', '.join(HUMAN)}, not {ref!r}")
        others = [s for s in data.systems if s != ref]  # the other human translation included
        for metric in score_systems(data, ref, others, weights, scorers):
            found = [(c, others) for c in system_level(metric, mqm, mqm_r, others, "with_human")]
            found += [(c, data.mt_systems) for c in system_level(metric, mqm, mqm_r, data.mt_systems, "without_human")
                      + segment_level(metric, pairs, weights)]
            for c, systems in found:
                rows.append({"schema_version": SCHEMA_VERSION, "dataset": DATASET, "reference": HUMAN[ref],
                             "metric": metric.name, "level": c.level, "variant": c.variant,
                             "statistic": c.statistic, "value": c.value, "ci_low": c.ci[0], "ci_high": c.ci[1],
                             "n": c.n, "segments": len(data.seg_ids),
                             "signature": _signature(metric, ref, c, resamples, seed),
                             "note": undefined_reason(metric, c, systems)})
    return rows


def _signature(metric: MetricScores, ref: str, c: Correlation, resamples: int, seed: int) -> str:
    stat = "kendall-tau-b" if c.statistic == "kendall" else "pearson"
    return (f"{metric.signature}|ref:{HUMAN[ref]}|vs:-{MQM_SIGNATURE}|corr:{stat}"
            f"|ci:bootstrap-segments:{resamples}:seed{seed}")


def output_path(segments: int | None = None) -> Path:
    """results/meta/mqm_ted_zhen.csv for the full set; a sample of the first N segments
    writes mqm_ted_zhen.first-N.csv, so its figures never mix with the full set's."""
    from harness.core import results_dir

    suffix = f".first-{segments}" if segments else ""
    return results_dir() / "meta" / f"{DATASET}{suffix}.csv"


def merge_rows(path: Path, rows: list[dict]) -> "pd.DataFrame":  # noqa: F821
    """Replace the (reference, metric, level, variant, statistic) rows just computed and keep
    every other row of the file (another reference, a judge not asked this time)."""
    import pandas as pd

    from harness.core import atomic_write_csv, locked

    new = pd.DataFrame(rows, columns=COLUMNS)
    new[["value", "ci_low", "ci_high"]] = new[["value", "ci_low", "ci_high"]].astype(float).round(4)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        if path.exists():
            old = pd.read_csv(path, keep_default_na=False, na_values=[""])
            if len(old) and set(KEY) <= set(old.columns):
                old = old.reindex(columns=COLUMNS)
                done = set(map(tuple, new[KEY].astype(str).values))
                keep = ~old[KEY].astype(str).apply(tuple, axis=1).isin(done)
                new = pd.concat([old[keep], new], ignore_index=True)
        rank = {r: k for k, r in enumerate(HUMAN.values())}
        new["_order"] = new.reference.map(rank).fillna(len(rank)) * 2 + new.metric.astype(str).str.startswith(JUDGE_PREFIX)
        new = new.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
        atomic_write_csv(new, path, COLUMNS)
    return new


def run(references: tuple[str, ...] = ("ref", "refB"),
        extra_for=None, segments: int | None = None) -> tuple[list[dict], Path]:
    """Load the data, evaluate, merge into results/meta/mqm_ted_zhen.csv (a sample of the
    first N segments: mqm_ted_zhen.first-N.csv) atomically. `extra_for(data, ref)` may add
    scores computed elsewhere (a judge) for that reference. Returns every row of the file."""
    data = load_mqm()
    if segments and segments < len(data.seg_ids):
        data = data.head(segments)
    else:
        segments = None  # the whole set: the main file
    rows = []
    for ref in references:
        rows += evaluate(data, (ref,), extra_for(data, ref) if extra_for else None)
    path = output_path(segments)
    merged = merge_rows(path, rows)
    return merged.to_dict("records"), path
