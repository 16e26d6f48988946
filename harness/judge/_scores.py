"""Judge scores as a scorer: the interface eval, the gate and the leaderboard use for any
metric, over scores the judge already gave."""

from __future__ import annotations

import math

import numpy as np

from harness.score import Scorer, judge_metric


class JudgeScores(Scorer):
    """The scorer interface over judge scores that were already obtained: per item the
    dimension scores and a validity flag (failures are excluded, and counted)."""

    def __init__(self, judge: str, rubric, per_item: dict[str, dict | None]):
        self.judge, self.rubric, self.per_item = judge, rubric, per_item
        self.family = judge_metric(judge)
        self.names = tuple(judge_metric(judge, n) for n in rubric.names)

    def signature(self) -> str:
        return (f"judge|model:{self.judge}|rubric:{self.rubric.id}@{self.rubric.text_hash}|mode:{self.rubric.mode}"
                f"|temp:0|scale:1-5")

    def stats(self, hyps, items) -> np.ndarray:
        out = np.zeros((len(items), len(self.names) + 1))
        for i, it in enumerate(items):
            s = self.per_item.get(it.id)
            if s is not None:
                out[i, :-1] = [s[n] for n in self.rubric.names]
                out[i, -1] = 1
        return out

    def n_scored(self, stats: np.ndarray) -> int:
        """Items of `stats` the judge scored (its failures are in the view but not in n)."""
        return int(stats[:, -1].sum()) if len(stats) else 0

    def score_sums(self, total: np.ndarray, n: float) -> dict[str, float]:
        valid = total[-1]
        return {name: float(total[k] / valid) if valid else math.nan for k, name in enumerate(self.names)}

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        valid = np.where(sums[:, -1] > 0, sums[:, -1], np.nan)
        return {name: sums[:, k] / valid for k, name in enumerate(self.names)}
