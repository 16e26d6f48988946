"""TER (translation edit rate), sacrebleu's own: edits / average reference length, x100.

Per-item sufficient statistics are sacrebleu's segment statistics (best number of edits
over the references, average reference length), so summing any subset and dividing gives
sacrebleu's corpus TER of that subset. Lower is better. Chinese and other CJK targets
need `asian_support=True, normalized=True` (sacrebleu splits CJK characters then), or a
whole unspaced sentence would be one "word".
"""

from __future__ import annotations

import numpy as np

from harness.score._lexical import _Sacre


def _cjk(lang: str) -> bool:
    return lang.split("-")[0].lower() in ("zh", "ja", "ko")


class Ter(_Sacre):
    family = "ter"
    names = ("ter",)

    def _make(self):
        from sacrebleu.metrics import TER

        return TER(asian_support=True, normalized=True) if _cjk(self.lang) else TER()

    def signature(self) -> str:
        # sacrebleu's TER signature has its own norm: key; ours (what both sides get first)
        # is stated as prep: so the two do not collide
        return super().signature().replace("|norm:nfkc", "|prep:nfkc")

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        """sacrebleu's TER._compute_score_from_stats for many resamples at once."""
        edits, ref_len = sums[:, 0], sums[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(ref_len > 0, edits / np.where(ref_len > 0, ref_len, 1),
                            np.where(edits > 0, 1.0, 0.0))
        return {"ter": np.where(counts > 0, 100 * rate, np.nan)}
