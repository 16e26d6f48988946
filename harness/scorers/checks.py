"""Reference-based checks where lexical metrics are blind: length, numbers, script, key facts.

Each has the scorer interface (`stats` per item, `score` over any subset), so they get
bootstrap CIs and paired tests like every other metric.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from .text import HAN, normalize, tokenize

CN_SCALE = {"千": 1e3, "万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8, "兆": 1e12}
EN_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9,
            "b": 1e9, "trillion": 1e12, "t": 1e12, "tn": 1e12}
CN_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)\s*(千|万|萬|亿|億|兆)?\s*(千|万|萬|亿|億)?")
EN_NUMBER = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*(thousand|million|billion|trillion|mn|bn|tn|[kmbt])?\b", re.I)


def _value(digits: str) -> float | None:
    try:
        return float(digits.replace(",", ""))
    except ValueError:
        return None


def numbers_zh(text: str) -> list[float]:
    """Arabic numbers in Chinese text with 千/万/亿/兆 applied (3.2万 → 32000, 29兆 → 2.9e13)."""
    out = []
    for m in CN_NUMBER.finditer(unicodedata_nfkc(text)):
        v = _value(m.group(1))
        if v is None:
            continue
        for unit in (m.group(2), m.group(3)):
            if unit:
                v *= CN_SCALE[unit]
        out.append(v)
    return out


def numbers_en(text: str) -> list[float]:
    out = []
    for m in EN_NUMBER.finditer(unicodedata_nfkc(text)):
        v = _value(m.group(1))
        if v is None:
            continue
        if m.group(2):
            v *= EN_SCALE[m.group(2).lower()]
        out.append(v)
    return out


def unicodedata_nfkc(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", text)


class _Ratio:
    """Checks whose per-item statistics are (hits, total): the corpus value is
    scale × Σhits / Σtotal, undefined when nothing was counted."""

    names: tuple[str, ...] = ()
    scale = 100.0

    def score(self, stats: np.ndarray) -> dict[str, float]:
        return self.score_sums(stats.sum(axis=0), len(stats))

    def score_sums(self, total: np.ndarray, n: float) -> dict[str, float]:
        return {self.names[0]: float(self.scale * total[0] / total[1]) if n and total[1] else float("nan")}

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return {self.names[0]: self.scale * sums[:, 0] / np.where(sums[:, 1] > 0, sums[:, 1], np.nan)}


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1.0)


class Numbers(_Ratio):
    """Share of the source's numbers (with Chinese scale characters applied) that appear in
    the output with the same value, in any notation the output language uses."""

    family = "numbers"
    names = ("number_recall",)

    def signature(self) -> str:
        return "numbers|src:arabic+千万亿兆|out:arabic+thousand/million/billion/trillion/k/m/b/t|match:value"

    def stats(self, hyps: list[str], items) -> np.ndarray:
        out = np.zeros((len(hyps), 2))
        for i, (hyp, it) in enumerate(zip(hyps, items)):
            src = numbers_zh(it.source)
            got = numbers_zh(hyp) + numbers_en(hyp)
            out[i] = [sum(1 for v in src if any(_same(v, g) for g in got)), len(src)]
        return out


@lru_cache(maxsize=65536)
def _is_traditional_only(ch: str) -> bool:
    from .text import _converter

    return _converter("t2s").convert(ch) != ch


HAN_CHAR = re.compile(f"[{HAN}]")


class Script(_Ratio):
    """Share of Han characters in the output that exist only in Traditional script, where
    Simplified was asked (lower is better)."""

    family = "script"
    names = ("script_trad_share",)

    def __init__(self, target: str = "simplified"):
        self.target = target

    def signature(self) -> str:
        return f"script|want:{self.target}|trad-only:opencc-t2s-changes-char"

    def stats(self, hyps: list[str], items) -> np.ndarray:
        out = np.zeros((len(hyps), 2))
        for i, hyp in enumerate(hyps):
            han = HAN_CHAR.findall(hyp)
            out[i] = [sum(_is_traditional_only(c) for c in han), len(han)]
        return out


class LengthRatio(_Ratio):
    """Output length / reference length in tokens (Han characters or words), corpus-level."""

    family = "length_ratio"
    names = ("length_ratio",)
    scale = 1.0

    def __init__(self, lang: str):
        self.lang = lang

    def signature(self) -> str:
        return "length_ratio|tok:cjkchar+latinword|corpus:sum(out)/sum(ref)|ref:shortest"

    def stats(self, hyps: list[str], items) -> np.ndarray:
        out = np.zeros((len(hyps), 2))
        for i, (hyp, it) in enumerate(zip(hyps, items)):
            ref = min(len(tokenize(normalize(r, self.lang))) for r in it.references)
            out[i] = [len(tokenize(normalize(hyp, self.lang))), ref]
        return out


STOPWORDS = frozenset("""a an the of to in on for and or but is are was were be been by with as at from that this
these those it its he she they his her their has have had not no than then so such which who whom what when where
will would can could should may might also into about over more most very just""".split())


def content_tokens(text: str, lang: str) -> set[str]:
    return {t for t in tokenize(normalize(text, lang)) if t not in STOPWORDS}


class KeyFacts(_Ratio):
    """Lexical key-fact recall: a fact counts as covered when at least 60% of its content
    tokens appear in the output. A proxy (a paraphrase can be missed); the judge's coverage
    dimension is the semantic counterpart."""

    family = "key_facts"
    names = ("key_fact_recall",)
    THRESHOLD = 0.6

    def __init__(self, lang: str):
        self.lang = lang

    def signature(self) -> str:
        return f"key_facts|match:content-token-recall>={self.THRESHOLD}|tok:cjkchar+latinword|stop:en-basic"

    def stats(self, hyps: list[str], items) -> np.ndarray:
        out = np.zeros((len(hyps), 2))
        for i, (hyp, it) in enumerate(zip(hyps, items)):
            have = content_tokens(hyp, self.lang)
            covered = 0
            for fact in it.key_facts:
                need = content_tokens(fact, self.lang)
                if need and len(need & have) / len(need) >= self.THRESHOLD:
                    covered += 1
            out[i] = [covered, len(it.key_facts)]
        return out
