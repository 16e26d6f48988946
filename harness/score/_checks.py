"""Reference-based checks where lexical metrics are blind: length, numbers, script, key facts.

Each has the scorer interface (`stats` per item, `score` over any subset), so they get
bootstrap CIs and paired tests like every other metric.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from harness.score._metric import Scorer
from harness.score._text import HAN, normalize, tokenize

from harness.score._languages import script_of
from harness.score._numbers import numbers, numbers_en, numbers_zh, reader_name  # noqa: F401 - numbers_* re-exported


class _Ratio(Scorer):
    """Checks whose per-item statistics are (hits, total): the corpus value is
    scale × Σhits / Σtotal, undefined when nothing was counted."""

    scale = 100.0

    def score_sums(self, total: np.ndarray, n: float) -> dict[str, float]:
        return {self.names[0]: float(self.scale * total[0] / total[1]) if n and total[1] else float("nan")}

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return {self.names[0]: self.scale * sums[:, 0] / np.where(sums[:, 1] > 0, sums[:, 1], np.nan)}


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1.0)


class Numbers(_Ratio):
    """Share of the source's numbers, read as the source language writes them, that appear
    in the output with the same value, read as the target language writes them (so a copy
    of the source in the other language does not pass for a translation of its numbers)."""

    family = "numbers"
    names = ("number_recall",)

    def __init__(self, source_lang: str = "zh", target_lang: str = "en"):
        self.source_lang, self.target_lang = source_lang, target_lang

    @classmethod
    def for_task(cls, task) -> "Numbers":
        return cls(task.spec.source_lang, task.spec.target_lang)

    def signature(self) -> str:
        return (f"numbers|src:{self.source_lang}:{reader_name(self.source_lang)}:strict"
                f"|out:{self.target_lang}:{reader_name(self.target_lang)}:all|match:value")

    def stats(self, hyps: list[str], items) -> np.ndarray:
        out = np.zeros((len(hyps), 2))
        for i, (hyp, it) in enumerate(zip(hyps, items)):
            src = numbers(it.source, self.source_lang, strict=True)
            got = numbers(hyp, self.target_lang, strict=False)
            out[i] = [sum(1 for v in src if any(_same(v, g) for g in got)), len(src)]
        return out


@lru_cache(maxsize=65536)
def _is_traditional_only(ch: str) -> bool:
    from harness.score._text import _converter

    return _converter("t2s").convert(ch) != ch


HAN_CHAR = re.compile(f"[{HAN}]")
TRADITIONAL_STANDARDS = ("s2t", "s2tw", "s2hk")  # OpenCC's, Taiwan's and Hong Kong's


def wrong_for_traditional(text: str) -> int:
    """Han characters a Traditional text would not write: those that every Traditional
    standard (OpenCC s2t, Taiwan s2tw, Hong Kong s2hk) converts, read in context so that
    公里 or 台灣 stay right and 这 or 软件 do not."""
    from harness.score._text import _converter

    han = [i for i, c in enumerate(text) if HAN_CHAR.match(c)]
    converted = [_converter(cfg).convert(text) for cfg in TRADITIONAL_STANDARDS]
    if any(len(c) != len(text) for c in converted):  # a phrase changed length: go character by character
        return sum(all(_converter(cfg).convert(text[i]) != text[i] for cfg in TRADITIONAL_STANDARDS)
                   for i in han)
    return sum(all(c[i] != text[i] for c in converted) for i in han)


class Script(_Ratio):
    """Share of Han characters in the output written in the script the task did not ask for
    (lower is better): Traditional-only characters where Simplified was asked, characters no
    Traditional standard writes where Traditional was asked."""

    family = "script"
    names = ("wrong_script_share",)

    def __init__(self, target: str = "simplified"):
        self.target = script_of(target) or "simplified"

    @classmethod
    def for_task(cls, task) -> "Script":
        return cls(task.spec.target_script or task.spec.target_lang)

    def signature(self) -> str:
        if self.target == "traditional":
            return "script|want:traditional|wrong:changed-by-every-of-opencc-s2t/s2tw/s2hk-in-context"
        return f"script|want:{self.target}|trad-only:opencc-t2s-changes-char"

    def stats(self, hyps: list[str], items) -> np.ndarray:
        out = np.zeros((len(hyps), 2))
        for i, hyp in enumerate(hyps):
            han = HAN_CHAR.findall(hyp)
            wrong = wrong_for_traditional(hyp) if self.target == "traditional" else \
                sum(_is_traditional_only(c) for c in han)
            out[i] = [wrong, len(han)]
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
            ref = min(len(tokenize(normalize(r, self.lang), self.lang)) for r in it.references)
            out[i] = [len(tokenize(normalize(hyp, self.lang), self.lang)), ref]
        return out


STOPWORDS = frozenset("""a an the of to in on for and or but is are was were be been by with as at from that this
these those it its he she they his her their has have had not no than then so such which who whom what when where
will would can could should may might also into about over more most very just""".split())


def content_tokens(text: str, lang: str) -> set[str]:
    return {t for t in tokenize(normalize(text, lang), lang) if t not in STOPWORDS}


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
