"""ROUGE, BLEU and chrF with signatures that pin every setting.

Every metric returns per-item sufficient statistics (`stats`) and turns any subset of them
into a corpus score (`score`), so the same code serves the leaderboard, bootstrap CIs and
paired tests. BLEU and chrF are sacrebleu's own (its segment statistics, as its paired
bootstrap uses them). ROUGE follows `rouge-score`'s definitions exactly, with our
Chinese-aware tokenizer and a C-backed LCS (rapidfuzz) instead of its pure-Python one;
a test checks equality with `rouge_score.RougeScorer` on random inputs.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from harness.score._metric import Scorer, reference_count
from harness.score._text import normalize, tokenize, tokenizer_name


def _f(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def rouge_n(target: list[str], pred: list[str], n: int) -> float:
    t, p = _ngrams(target, n), _ngrams(pred, n)
    overlap = sum((t & p).values())
    return _f(overlap / max(sum(p.values()), 1), overlap / max(sum(t.values()), 1))


def rouge_l(target: list[str], pred: list[str]) -> float:
    from rapidfuzz.distance import LCSseq

    if not target or not pred:
        return 0.0
    lcs = LCSseq.similarity(target, pred)
    return _f(lcs / len(pred), lcs / len(target))


class Rouge(Scorer):
    family = "rouge"
    names = ("rouge1", "rouge2", "rougeL")

    def __init__(self, lang: str):
        self.lang = lang

    def signature(self) -> str:
        norm = "nfkc+tw2sp+cjkspace" if self.lang.startswith("zh") else "nfkc"
        return f"rouge|impl:harness-rapidfuzz(=rouge-score 0.1.2)|tok:{tokenizer_name(self.lang)}|norm:{norm}|stem:no|f1|multiref:max"

    def tokens(self, text: str) -> list[str]:
        return tokenize(normalize(text, self.lang), self.lang)

    def stats(self, hyps: list[str], items) -> np.ndarray:
        refs = [it.references for it in items]
        out = np.zeros((len(hyps), 3))
        for i, (hyp, item_refs) in enumerate(zip(hyps, refs)):
            pred = self.tokens(hyp)
            targets = [self.tokens(r) for r in item_refs]
            out[i] = [max(rouge_n(t, pred, 1) for t in targets),
                      max(rouge_n(t, pred, 2) for t in targets),
                      max(rouge_l(t, pred) for t in targets)]
        return out

    def score_sums(self, total: np.ndarray, n: float) -> dict[str, float]:
        means = total / n * 100 if n else np.full(3, np.nan)
        return dict(zip(self.names, map(float, means)))

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Vectorised `score_sums` for many resamples at once (rows of `sums`)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts[:, None] * 100
        return {name: means[:, k] for k, name in enumerate(self.names)}


class _Sacre(Scorer):
    @classmethod
    def for_task(cls, task) -> "_Sacre":
        return cls(task.spec.target_lang, reference_count(task))

    def __init__(self, lang: str, num_refs: int = 1):
        self.lang = lang
        self.metric = self._make()
        # sacrebleu rewrites num_refs from whatever references it read last, so a signature
        # would depend on the last subset scored; the task's own count (-1: varies) is pinned
        self.num_refs = num_refs
        self.metric.num_refs = num_refs

    def _make(self):
        raise NotImplementedError

    def signature(self) -> str:
        norm = "nfkc+tw2sp+cjkspace" if self.lang.startswith("zh") else "nfkc"
        self.metric.num_refs = self.num_refs
        return f"{self.metric.get_signature()}|norm:{norm}"

    def stats(self, hyps: list[str], items) -> np.ndarray:
        refs = [it.references for it in items]
        width = max(len(r) for r in refs)
        # items may have different numbers of references: sacrebleu skips a missing one only
        # when it is None (an "" would count as a real, empty reference: length 0 for BLEU's
        # closest-length brevity penalty, zero n-grams for chrF's best-reference choice)
        streams = [[r[k] if k < len(r) else None for r in refs] for k in range(width)]
        # both sides get the same normalisation (NFKC; Simplified script for Chinese targets)
        hyps = [normalize(h, self.lang) for h in hyps]
        streams = [[None if x is None else normalize(x, self.lang) for x in s] for s in streams]
        return np.array(self.metric._extract_corpus_statistics(hyps, streams), dtype=float)

    def score_sums(self, total: np.ndarray, n: float) -> dict[str, float]:
        if not n:
            return {self.names[0]: float("nan")}
        return {self.names[0]: float(self.metric._compute_score_from_stats(list(total)).score)}


def bleu_tokenizer(lang: str) -> str:
    """sacrebleu's tokenizer for a target language (stated in BLEU's signature as tok:...)."""
    family = lang.split("-")[0].lower()
    if family == "zh":
        return "zh"
    if family in ("ja", "ko"):
        # MeCab segments words; without it, characters (13a would make a whole sentence one token)
        return f"{family}-mecab" if _mecab_available(family) else "char"
    return "13a"


def _mecab_available(family: str) -> bool:
    try:
        if family == "ja":
            from sacrebleu.tokenizers.tokenizer_ja_mecab import TokenizerJaMecab as Tok
        else:
            from sacrebleu.tokenizers.tokenizer_ko_mecab import TokenizerKoMecab as Tok
        Tok()
        return True
    except Exception:  # noqa: BLE001 - sacrebleu raises RuntimeError / ImportError when MeCab is absent
        return False


class Bleu(_Sacre):
    family = "bleu"
    names = ("bleu",)

    def _make(self):
        from sacrebleu.metrics import BLEU

        return BLEU(tokenize=bleu_tokenizer(self.lang))

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        """sacrebleu's compute_bleu (exp smoothing, order 4) for many resamples at once;
        a test checks equality with sacrebleu on random statistics."""
        m = self.metric
        assert m.smooth_method == "exp" and not m.effective_order and m.max_ngram_order == 4
        sys_len, ref_len = sums[:, 0], sums[:, 1]
        correct, total = sums[:, 2:6], sums[:, 6:10]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            bp = np.where(sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / sys_len), 0.0), 1.0)
            prec = np.zeros_like(correct)
            smooth = np.ones(len(sums))
            stopped = np.zeros(len(sums), dtype=bool)
            for n in range(4):
                stopped |= total[:, n] == 0
                zero = ~stopped & (correct[:, n] == 0)
                smooth = np.where(zero, smooth * 2, smooth)
                prec[:, n] = np.where(stopped, 0.0, np.where(zero, 100.0 / (smooth * total[:, n]),
                                                             100.0 * correct[:, n] / total[:, n]))
            logs = np.where(prec > 0, np.log(np.where(prec > 0, prec, 1.0)), -9999999999.0)
            score = bp * np.exp(logs.sum(axis=1) / 4)
        score = np.where((correct != 0).any(axis=1), score, 0.0)
        return {"bleu": np.where(counts > 0, score, np.nan)}


class Chrf(_Sacre):
    family = "chrf"
    names = ("chrf",)

    def _make(self):
        from sacrebleu.metrics import CHRF

        return CHRF()

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        """sacrebleu's chrF (char order 6, beta 2, effective-order averaging) vectorised."""
        m = self.metric
        assert m.word_order == 0 and m.char_order == 6 and not m.eps_smoothing
        factor = m.beta ** 2
        avg_prec = np.zeros(len(sums))
        avg_rec = np.zeros(len(sums))
        order = np.zeros(len(sums))
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in range(m.char_order):
                hyp, ref, match = sums[:, 3 * i], sums[:, 3 * i + 1], sums[:, 3 * i + 2]
                valid = (hyp > 0) & (ref > 0)
                avg_prec += np.where(valid, match / np.where(hyp > 0, hyp, 1), 0.0)
                avg_rec += np.where(valid, match / np.where(ref > 0, ref, 1), 0.0)
                order += valid
            avg_prec = np.where(order > 0, avg_prec / np.where(order > 0, order, 1), 0.0)
            avg_rec = np.where(order > 0, avg_rec / np.where(order > 0, order, 1), 0.0)
            denom = factor * avg_prec + avg_rec
            score = np.where(avg_prec + avg_rec > 0, 100 * (1 + factor) * avg_prec * avg_rec
                             / np.where(denom > 0, denom, 1), 0.0)
        return {"chrf": np.where(counts > 0, score, np.nan)}


LEXICAL = {"rouge": Rouge, "bleu": Bleu, "chrf": Chrf}
