"""Normalisation and tokenisation that are right for Chinese.

One token per Han character; Latin words and numbers stay whole (lower-cased);
punctuation is dropped. For Chinese targets both sides are first NFKC-normalised and
converted to Simplified with OpenCC (Taiwan phrases included), so script is scored by the
`script` check rather than by every lexical metric.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN = re.compile(rf"[{HAN}]|[a-z0-9]+")
SPACE_BETWEEN = re.compile(rf"(?<=[{HAN}])\s+(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])\s+(?=[{HAN}])|(?<=[{HAN}])\s+(?=[{HAN}])")
TOKENIZER_NAME = "cjkchar+latinword"
# Japanese and Korean targets also keep kana (one token per character, like Han) and
# Hangul words, which the Chinese tokenizer drops
KANA = r"\u3040-\u30ff\u31f0-\u31ff"
HANGUL = r"\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
TOKEN_JAKO = re.compile(rf"[{HAN}{KANA}]|[{HANGUL}]+|[a-z0-9]+")


def tokenizer_name(lang: str) -> str:
    return "cjkchar+kana+hangulword+latinword" if lang.split("-")[0].lower() in ("ja", "ko") else TOKENIZER_NAME


@lru_cache(maxsize=4)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    return _converter("tw2sp").convert(text)


def normalize(text: str, lang: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    if lang.startswith("zh"):
        text = to_simplified(text)
        text = SPACE_BETWEEN.sub("", text)
    return text


def tokenize(text: str, lang: str = "") -> list[str]:
    """Han characters one by one, Latin words and numbers whole, lower-cased (for Japanese
    and Korean also kana characters and Hangul words)."""
    if lang.split("-")[0].lower() in ("ja", "ko"):
        return TOKEN_JAKO.findall(text.lower())
    return TOKEN.findall(text.lower())


class Tokenizer:
    """The `tokenizer=` object rouge-score expects (it calls `.tokenize(text)`)."""

    def __init__(self, lang: str):
        self.lang = lang

    def tokenize(self, text: str) -> list[str]:
        return tokenize(normalize(text, self.lang), self.lang)
