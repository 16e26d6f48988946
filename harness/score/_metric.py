"""What a reported metric is (the Metric record) and what a scorer does (the Scorer base).

Every consumer (task validation, intervals, rankings, the gate, the report, meta-evaluation,
agreement) reads a metric's direction, bounds and display from its record, never from a
list of names of its own; `harness.score.registry` holds the records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    """One reported metric name (a `metric` value of leaderboard.csv)."""

    name: str
    # "higher", "lower", or the value that is best (length_ratio: 1.0, no direction to rank by)
    better: str | float = "higher"
    # the scale, for the interval: both ends finite → the logit scale inside them; an open
    # end (None) → the raw scale, cut at the finite end
    bounds: tuple[float | None, float | None] = (0.0, 100.0)
    gated: bool = True  # does `harness check` test it
    threshold: float | None = None  # the gate's drop in points when gate.yaml names none
    why_ungated: str = ""  # shown when gate.yaml names an ungated metric
    fmt: str = ".2f"  # how tables print a value
    aliases: tuple[str, ...] = ()  # older names of the same metric, read in old result files

    def __post_init__(self):
        if not (self.better in ("higher", "lower") or isinstance(self.better, (int, float))):
            raise ValueError(f"{self.name}: better must be 'higher', 'lower' or a target value")

    @property
    def lower_is_better(self) -> bool:
        return self.better == "lower"

    @property
    def has_direction(self) -> bool:
        """False for a target value: nothing to rank by or regress in."""
        return self.better in ("higher", "lower")

    def display(self, value: float) -> str:
        return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, self.fmt)


class Scorer:
    """The scorer protocol, with the parts every scorer shares.

    A scorer turns outputs into per-item sufficient statistics (`stats`: one row per item)
    and any subset of rows into corpus scores (`score_sums` of their column sums), so the
    same statistics serve the leaderboard, the intervals and the paired tests. `names` are
    the metric names it reports, each with a `Metric` record in the registry.
    """

    family = ""  # the name in a task file's `metrics:` list
    names: tuple[str, ...] = ()

    @classmethod
    def for_task(cls, task) -> "Scorer":
        """The scorer configured for a task (its languages, script, reference count)."""
        return cls(task.spec.target_lang)

    def signature(self) -> str:
        raise NotImplementedError

    def stats(self, hyps: list[str], items) -> np.ndarray:
        raise NotImplementedError

    def score_sums(self, total: np.ndarray, n: float) -> dict[str, float]:
        raise NotImplementedError

    def score(self, stats: np.ndarray) -> dict[str, float]:
        return self.score_sums(stats.sum(axis=0), len(stats))

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        """`score_sums` for many resamples at once (rows of `sums`); scorers override it
        with a vectorised form where speed matters."""
        rows = [self.score_sums(s, c) for s, c in zip(sums, counts)]
        return {name: np.array([r[name] for r in rows], dtype=float) for name in self.names}

    def n_scored(self, stats: np.ndarray) -> int:
        """Items the scorer could score (the judge leaves unparsed ones out)."""
        return len(stats)


def reference_count(task) -> int:
    """References per item (-1: varies), pinned in sacrebleu's signature."""
    counts = {len(it.references) for it in getattr(task, "items", [])}
    return counts.pop() if len(counts) == 1 else (-1 if counts else 1)
