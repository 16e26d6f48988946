"""Numbers in text, read by the text's language and returned as values.

`extract(text, lang, strict)`: every number the text states, as a float (3.2万 → 32000,
"70 billion" → 7e10, 两千三百万 → 2.3e7, 百分之五十 → 50, 三成 → 30, 第三 / "third" → 3,
"half a million" → 5e5, 三分之一 / "a third of" → 1/3, 十家 / "ten" → 10, 3만 2천 → 32000).

`strict` is for the source side, whose numbers are the ones a translation or summary must
keep: a word that is only sometimes a number ("one", "first", "second"; 一 or 两 on their
own, as in 一些 or 一样) is not counted there. The output side is read generously (every
number word counts): an extra value there can only let a source number be found, so the
looser reading costs little and keeps "the first quarter" matching 第一季度.

Each language reads its own notation only: an English output keeping "10 万亿" untranslated
does not state 1e13, and a Chinese output keeping "70 billion" does not state 7e10.
"""

from __future__ import annotations

import re
import unicodedata

# --- Chinese (and Japanese, which writes its numbers the same way) ----------------------

CN_UNIT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_SECTION = {"万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8, "兆": 1e12}
CN_DIGIT = {"〇": 0, "零": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2, "三": 3, "叁": 3,
            "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6, "七": 7, "柒": 7, "八": 8,
            "捌": 8, "九": 9, "玖": 9}
CN_SCALE = {"百": 1e2, "千": 1e3, **CN_SECTION}
_NUMC = "".join(CN_DIGIT) + "".join(CN_UNIT) + "".join(CN_SECTION)
# Arabic digits (thousands separators only in groups of three: "1,2" is a list) with up to
# two scale characters: 3.2万, 10 万亿, 3千万.
# Chinese tech writing also attaches Latin abbreviations: 30B 参数, 1-2M 收入, 10T tokens
CN_ARABIC = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s*([百千万萬亿億兆])([万萬亿億])?|([KkMmBbTt])(?![A-Za-z]))?")
LATIN_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
CN_PERCENT = re.compile(rf"百分之([{_NUMC}]+|\d+(?:\.\d+)?)")
# 三分之一 = 1/3, 三分之二 = 2/3: the denominator comes first (百分之 is read as a percent first)
CN_FRACTION = re.compile(rf"([{_NUMC}]+|\d+)分之([{_NUMC}]+|\d+(?:\.\d+)?)")
# a single numeral counts on the source side before a measure word (十家, 三个), as "ten" and
# "three" count in English; 分 and 点 are left out (十分 = "very", 一点 = "a little")
CN_MEASURE = ("个個家名位人年岁歲月天日周週次倍种種项項条條款台臺部件只隻张張篇本所座辆輛架颗顆首场場"
              "届屆轮輪枚份层層块塊元美吨噸米")
# not 一 / 两 / 二 on their own: 一样, 一些, 两下 are words, and a lone 二 ranks more often than
# it counts (老二, 二手, 二级市场 = the secondary market)
SINGLE_COUNTED = "三四五六七八九十"
CN_RUN = re.compile(rf"[{_NUMC}]+")
RANKED = "季名届屆代版期章节節轮輪阶階号號"
RANGE = re.compile(r"\s*[-‐‑–—~～至到]\s*")  # 500-600亿, 15–20T: the scale belongs to both ends
APPROXIMATE_BEFORE = "几幾数數上"  # 几十万 / 数百: "several hundred thousand" states no value
NOT_TENTHS_AFTER = "不为為功本员員立长長就果熟绩績交年人"  # 一成不变, 三成为...: 成 is not "tenths"


def parse_cn_numeral(run: str) -> float | None:
    """两千三百万 → 23000000, 十五 → 15, 一百零五 → 105, 二〇二四 → 2024; None if malformed."""
    if all(c in CN_DIGIT for c in run):
        if len(run) > 1 and not any(c in "〇零" for c in run):
            return None  # 五四, 一二: a list or a name, not a positional number
        return float("".join(str(CN_DIGIT[c]) for c in run))
    total, section, number = 0.0, 0.0, None
    last_unit, last_scale = None, float("inf")
    for k, c in enumerate(run):
        if c in CN_DIGIT:
            if number not in (None, 0) and CN_DIGIT[c] != 0:
                return None  # two digits without a unit between them
            number = CN_DIGIT[c]
        elif c in CN_UNIT:
            unit = CN_UNIT[c]
            if last_unit is not None and unit >= last_unit:
                return None  # 百千: units must fall
            section += (1 if number is None else number) * unit
            number, last_unit = None, unit
        else:  # 万 / 亿 / 兆 close a section
            scale = CN_SECTION[c]
            section += number or 0
            if scale > last_scale:  # 十万亿: a larger scale multiplies what came before
                total = (total + section) * scale
            else:
                total += (section or 1) * scale
            section, number, last_unit, last_scale = 0.0, None, None, scale
    if number is not None:
        prev = run[-2] if len(run) > 1 else ""
        if prev in CN_UNIT and CN_UNIT[prev] >= 100:  # 两千三 = 2300
            section += number * CN_UNIT[prev] / 10
        elif prev in CN_SECTION:  # 一万五 = 15000
            total += number * CN_SECTION[prev] / 10
        else:
            section += number
    return float(total + section)


def _cn_run_counts(run: str, before: str, after: str, strict: bool) -> float | None:
    value = parse_cn_numeral(run)
    if value is None:
        return None
    if before.endswith("第"):  # an ordinal: 第三季度 ↔ "the third quarter"
        # on the source side only where it ranks something (第三季度, 第二名): 第二天 is
        # "the next day" and 第一个…第二个 are "one… another" as often as "first… second"
        return value if not strict or after[:1] in RANKED else None
    if after.startswith("成") and len(run) == 1 and run in CN_DIGIT and not (after[1:2] and after[1:2] in NOT_TENTHS_AFTER):
        return value * 10  # 三成 = 30%
    if before and before[-1] in APPROXIMATE_BEFORE:
        return None
    if not strict:
        return value
    if run[0] in CN_SECTION or run[0] in "百佰千仟":
        return None  # 万一 (in case), 千万 (by all means), 百万 (as in 百万富翁) stay words
    if len(run) == 1 and run in SINGLE_COUNTED and after[:1] and after[:1] in CN_MEASURE:
        return value  # 十家 ↔ "ten companies"
    has_unit = any(c in CN_UNIT or c in CN_SECTION for c in run)
    if len(run) >= 2 and (has_unit or any(c in "〇零" for c in run)):
        return value
    return None


def _share_range_scale(found: list, previous, m: re.Match, text: str, scale: float) -> None:
    """500-600亿: the first end of a range takes the scale written after the second."""
    if previous is None or scale == 1.0:
        return
    pm, pscale = previous
    if pscale == 1.0 and RANGE.fullmatch(text[pm.end():m.start()]) and found and found[-1][0] == pm.start():
        found[-1] = (pm.start(), found[-1][1] * scale)


def numbers_zh(text: str, strict: bool = True) -> list[float]:
    """Numbers in Chinese text, in order of appearance: Arabic numbers with 百/千/万/亿/兆
    applied, 百分之X, X成, 第X, and Chinese numerals (see the module docstring for `strict`)."""
    text = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, float]] = []
    taken = [False] * len(text)

    def take(m: re.Match) -> None:
        for k in range(m.start(), m.end()):
            taken[k] = True

    for m in CN_PERCENT.finditer(text):
        got = m.group(1)
        value = float(got) if got[0].isdigit() else parse_cn_numeral(got)
        if value is not None:
            found.append((m.start(), value))
            take(m)
    for m in CN_FRACTION.finditer(text):
        if taken[m.start()]:
            continue  # 百分之五十 was read as a percent
        denominator, numerator = (float(g) if g[0].isdigit() else parse_cn_numeral(g) for g in m.groups())
        if denominator and numerator is not None:
            found.append((m.start(), numerator / denominator))
            take(m)
    previous = None  # (match, plain value, scale) of the last Arabic number
    for m in CN_ARABIC.finditer(text):
        if taken[m.start()]:
            continue
        value = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        scale = 1.0
        for unit in (m.group(3), m.group(4)):
            if unit:
                scale *= CN_SCALE[unit]
        if m.group(5):
            scale *= LATIN_SCALE[m.group(5).lower()]
        _share_range_scale(found, previous, m, text, scale)
        found.append((m.start(), value * scale))
        previous = (m, scale)
        take(m)
    for m in CN_RUN.finditer(text):
        if any(taken[m.start():m.end()]):
            continue
        value = _cn_run_counts(m.group(), text[max(0, m.start() - 3):m.start()], text[m.end():m.end() + 2],
                               strict)
        if value is not None:
            found.append((m.start(), value))
    return [v for _, v in sorted(found, key=lambda f: f[0])]


# --- Korean: Arabic numbers with 천/만/억/조 -------------------------------------------------

KO_SCALE = {"천": 1e3, "만": 1e4, "억": 1e8, "조": 1e12}
KO_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(천|만|억|조)?(만|억|조)?")


def numbers_ko(text: str, strict: bool = True) -> list[float]:
    """Arabic numbers with their scales; a number written in parts (3만 2천 = 32,000, 3억 2천만
    = 320,000,000, 3만 5000) is one value: a part joins the one before when only spaces
    separate them (or none: 3만2천), that one ends in 만/억/조, and the part is smaller than its scale."""
    out: list[float] = []
    open_scale, last_end = 0.0, -1  # the 만/억/조 scale of the last number, and where it ended
    text = unicodedata.normalize("NFKC", text)
    for m in KO_NUMBER.finditer(text):
        value = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        for unit in (m.group(3), m.group(4)):
            if unit:
                value *= KO_SCALE[unit]
        if out and open_scale and not text[last_end:m.start()].strip() and value < open_scale:
            out[-1] += value
        else:
            out.append(value)
        last = m.group(4) or m.group(3)
        open_scale = KO_SCALE[last] if last in ("만", "억", "조") else 0.0
        last_end = m.end()
    return out


# --- English ----------------------------------------------------------------------------

EN_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
            "mn": 1e6, "bn": 1e9, "tn": 1e12, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
# scale words may follow after a space; a single letter only attached ("1.5bn", "$3m", "600B")
EN_DIGITS = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
                       r"(?:\s*(thousand|million|billion|trillion|mn|bn|tn)\b|([kmbt])\b)?", re.I)
ONES = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                   "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i >= 2}
ORDINALS = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth".split())}
ORDINALS.update({"twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50, "sixtieth": 60,
                 "seventieth": 70, "eightieth": 80, "ninetieth": 90, "hundredth": 100, "thousandth": 1000})
WORD_SCALE = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
AMBIGUOUS = {"one", "first", "second"}  # "no one", "at first", "a second": not numbers when strict
NUMBER_WORDS = {*ONES, *TENS, *ORDINALS, *WORD_SCALE}
WORD = re.compile(r"[A-Za-z]+")
# Fractions: "a third of", "two thirds", "one-fifth" state 1/3, 2/3, 1/5 (三分之一, 三分之二,
# 五分之一), not the ordinal. After "a" only when "of" follows ("a third party" is 第三方, "a
# quarter" alone is as often three months); "quarter(s)" likewise only before "of" ("three
# quarters" of a year is 三个季度, read as 3).
DENOMINATORS = {"quarter": 4, "quarters": 4,  # "half" only in "half a million": "half of" is 一半
                **{w: v for w, v in ORDINALS.items() if 3 <= v <= 20},
                **{w + "s": v for w, v in ORDINALS.items() if 3 <= v <= 20}}
# no tens: "twenty-third" is 23rd, not 20/3
_NUMERATOR = "|".join(["an?", *(w for w in ONES if w != "zero")])
_DENOMINATOR = "|".join(sorted(DENOMINATORS, key=len, reverse=True))
DECADE = re.compile(r"\bdecade\b", re.I)
EN_FRACTION = re.compile(rf"\b({_NUMERATOR})[\s-]+({_DENOMINATOR})\b(\s+of\b)?", re.I)
# "half a million" = 500,000, "a quarter of a million", "two thirds of a billion"
EN_SCALED_FRACTION = re.compile(rf"\b(?:half|(?:({_NUMERATOR})[\s-]+({_DENOMINATOR})\s+of))\s+an?\s+"
                                r"(hundred|thousand|million|billion|trillion)\b", re.I)


def _fraction(numerator: str, denominator: str, of: bool) -> float | None:
    numerator, denominator = numerator.lower(), denominator.lower()
    if (numerator in ("a", "an") or denominator.startswith("quarter")) and not of:
        return None
    n = 1 if numerator in ("a", "an") else ONES[numerator]
    return n / DENOMINATORS[denominator]


def _word_groups(text: str) -> list[tuple[int, list[str]]]:
    """Runs of consecutive number words ("twenty-three", "two hundred and five", "a million"),
    joined by spaces or hyphens, with where each starts."""
    groups: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start, end = 0, 0
    tokens = list(WORD.finditer(text))
    for k, m in enumerate(tokens):
        w = m.group().lower()
        joined = current and re.fullmatch(r"[\s-]*", text[end:m.start()]) is not None
        nxt = tokens[k + 1].group().lower() if k + 1 < len(tokens) else ""
        if w in NUMBER_WORDS or (w == "and" and joined and current[-1] in WORD_SCALE and nxt in NUMBER_WORDS):
            if not joined and current:
                groups.append((start, current))
                current = []
            if not current:
                start = m.start()
                prev = tokens[k - 1] if k else None
                if prev is not None and prev.group().lower() == "a" and w in WORD_SCALE \
                        and re.fullmatch(r"\s+", text[prev.end():m.start()]):
                    current, start = ["a"], prev.start()  # "a million", "a hundred"
            current.append(w)
            end = m.end()
        elif current:
            groups.append((start, current))
            current = []
    if current:
        groups.append((start, current))
    return [(s, [w for w in g if w != "and"]) for s, g in groups]


def _words_value(words: list[str]) -> float | None:
    """["two", "hundred", "thousand"] → 200000; ["twenty", "third"] → 23; None if not a number."""
    total, current, seen = 0.0, 0.0, False
    for k, w in enumerate(words):
        if w in ORDINALS and k and words[k - 1] in ONES:
            return None  # one-third, two-fifths: a fraction
        if w == "a":
            current = current or 1
        elif w in ONES:
            current += ONES[w]
        elif w in TENS:
            current += TENS[w]
        elif w in ORDINALS:
            current += ORDINALS[w] if ORDINALS[w] < 100 else 0
            if ORDINALS[w] >= 100:
                current = (current or 1) * ORDINALS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        else:
            total += (current or 1) * WORD_SCALE[w]
            current = 0
        seen = True
    return total + current if seen else None


def numbers_en(text: str, strict: bool = True) -> list[float]:
    """Numbers in English text, in order: digits with thousands separators, scale words and
    abbreviations (3.2 million, 1.5bn, 600B), number words (ten, twenty-three, two hundred)
    and ordinals (third); `strict` leaves out one / first / second / a on their own."""
    text = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, float]] = []
    spans = []
    for m in EN_SCALED_FRACTION.finditer(text):
        share = 0.5 if m.group(1) is None else _fraction(m.group(1), m.group(2), True)
        if share is not None:
            found.append((m.start(), share * WORD_SCALE[m.group(3).lower()]))
            spans.append((m.start(), m.end()))
    for m in EN_FRACTION.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        share = _fraction(m.group(1), m.group(2), bool(m.group(3)))
        if share is not None:
            found.append((m.start(), share))
            spans.append((m.start(), m.end()))
        elif not strict:  # "cut to a quarter" ↔ 四分之一; the words are still read as well ("three quarters" = 3)
            found.append((m.start(), _fraction(m.group(1), m.group(2), True)))
        elif m.group(1).lower() in ("a", "an") and m.group(2).lower() in ORDINALS:
            spans.append((m.start(), m.end()))  # "a third party", "a fifth time": not a source number
    if not strict:  # 十年 is as often "a decade" as "ten years"
        found += [(m.start(), 10.0) for m in DECADE.finditer(text)]
    previous = None
    for m in EN_DIGITS.finditer(text):
        spans.append((m.start(), m.end()))
        value = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        word = m.group(3) or m.group(4)
        scale = EN_SCALE[word.lower()] if word else 1.0
        _share_range_scale(found, previous, m, text, scale)
        found.append((m.start(), value * scale))
        previous = (m, scale)
    for at, words in _word_groups(text):
        if any(a <= at < b for a, b in spans):
            continue  # the "million" of "3.2 million" was read with its digits
        if strict and len(words) == 1 and words[0] in AMBIGUOUS:
            continue
        value = _words_value(words)
        if value is not None:
            found.append((at, value))
    return [v for _, v in sorted(found, key=lambda f: f[0])]


def numbers(text: str, lang: str, strict: bool = True) -> list[float]:
    """The numbers `text` states, read as language `lang` writes them."""
    family = lang.split("-")[0].lower()
    if family in ("zh", "ja"):
        return numbers_zh(text, strict)
    if family == "ko":
        return numbers_ko(text, strict)
    return numbers_en(text, strict)


def reader_name(lang: str) -> str:
    """How numbers in `lang` are read, for the metric's signature."""
    family = lang.split("-")[0].lower()
    if family in ("zh", "ja"):
        return "cjk:arabic+百千万亿兆+KMBT+numerals+百分之+分之+成+第+X个"
    if family == "ko":
        return "ko:arabic+천만억조+parts"
    return "en:digits+scale-words+k/m/bn+number-words+ordinals+fractions"
