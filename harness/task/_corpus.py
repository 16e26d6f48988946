"""Build the task items from the five seed documents (``harness tasks build``).

Everything here is deterministic: furniture stripping, block and passage segmentation,
fixed-seed sampling and item ids (doc:unit:index:sha1 of the source text). References are
never produced here; they live in ``references/`` keyed by item id.

A document is a list of *blocks* (a post, an article, a topic section of a transcript).
Each block is one line of the normalised document ``tasks/sources/<doc>.txt``, so every
passage and section is an exact substring of that file.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20251123  # fixed sampling seed; changing it changes every sampled item
PASSAGE_MIN, PASSAGE_MAX, PASSAGE_TARGET = 150, 400, 180
SECTION_MIN, SECTION_MAX, SECTION_SPLIT = 1500, 4000, 3600
PASSAGES_PER_DOC = 50
SENTENCE_END = re.compile(r"[。!?!?;;]+[”」』\"']?")
DATE_LINE = re.compile(r"^[A-Z][a-z]+ \d{1,2}, \d{4}\s·\s\d+\smin\s·\s")
SOURCE_TAG = re.compile(r"\s*\([^()]{1,40}\)\s*$")

# Topic-section line ranges (1-based, inclusive) from the seed analysis (NOTES.md §2).
SECTIONS_002 = [(16, 178), (180, 238), (240, 362), (364, 518), (520, 666), (668, 790),
                (792, 908), (910, 1036), (1038, 1174), (1176, 1304), (1306, 1394)]
COLD_OPEN_002 = (16, 24)  # teaser clips repeated later in the episode
SECTIONS_004 = [(1, 180), (181, 392), (393, 600), (601, 890), (891, 1180), (1181, 1350),
                (1351, 1590), (1591, 1775), (1776, 2012), (2013, 2336)]
PARTS_003 = [("preface", 1, 7), ("part1", 8, 101), ("part2", 102, 178), ("part3", 179, 220),
             ("part4", 221, 241)]
FURNITURE_003 = {2, 3, 242}  # source tag, original title, image credit


@dataclass
class Block:
    doc: str
    unit: str
    text: str
    joiner: str  # what joined the physical lines (one line per block in the output file)
    origin: str  # zh-original | translated-from-en
    title: str = ""
    truncated: bool = False
    passage_start: int = 0  # offset before which no passage may start (cold open)
    raw_text: str | None = None  # 003: the noisy text, aligned line by line
    line_offsets: list[int] = field(default_factory=list)  # offsets where a physical line starts
    raw_line_offsets: list[int] = field(default_factory=list)


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _join(lines: list[str], joiner: str) -> tuple[str, list[int]]:
    offsets, parts, pos = [], [], 0
    for line in lines:
        offsets.append(pos)
        parts.append(line)
        pos += len(line) + len(joiner)
    return joiner.join(parts), offsets


def _origin(spec: dict, unit: str) -> str:
    zh = spec.get("zh_original", [])
    return "zh-original" if ("all" in zh or unit in zh) else "translated-from-en"


def load_blocks(sources: Path, provenance: dict) -> dict[str, list[Block]]:
    docs = provenance["documents"]
    out: dict[str, list[Block]] = {}

    lines = _lines(sources / docs["000"]["file"])
    blocks = []
    for n, body_at in enumerate(range(2, len(lines), 6), start=1):
        title, body = lines[body_at - 2].strip(), lines[body_at].strip()
        assert DATE_LINE.match(lines[body_at + 2]), f"000: expected a date line after line {body_at + 1}"
        unit = f"post{n:02d}"
        blocks.append(Block("000", unit, body, "", _origin(docs["000"], unit), title,
                            truncated=body.endswith("...")))
    out["000"] = blocks

    lines = _lines(sources / docs["001"]["file"])
    assert lines[0].startswith("#AI"), "001: expected the '#AI 發展' tag on line 1"
    blocks = []
    for n, title_at in enumerate(range(1, len(lines) - 1, 2), start=1):
        body = SOURCE_TAG.sub("", lines[title_at + 1].strip())
        unit = f"art{n:02d}"
        blocks.append(Block("001", unit, body, "", _origin(docs["001"], unit), lines[title_at].strip()))
    out["001"] = blocks

    lines = _lines(sources / docs["002"]["file"])
    blocks = []
    for n, (a, b) in enumerate(SECTIONS_002, start=1):
        kept = [(i, lines[i - 1].strip()) for i in range(a, b + 1) if lines[i - 1].strip()]
        text, offs = _join([t for _, t in kept], "")
        start = 0
        if a == COLD_OPEN_002[0]:
            start = next(o for (i, _), o in zip(kept, offs) if i > COLD_OPEN_002[1])
        unit = f"sec{n:02d}"
        blocks.append(Block("002", unit, text, "", _origin(docs["002"], unit), passage_start=start,
                            line_offsets=offs))
    out["002"] = blocks

    clean = _lines(sources / docs["003"]["clean_file"])
    raw = _lines(sources / docs["003"]["file"])
    assert len(clean) == len(raw), "003: raw and clean files must align line by line"
    blocks = []
    for unit, a, b in PARTS_003:
        idx = [i for i in range(a, b + 1) if i not in FURNITURE_003 and clean[i - 1].strip()]
        text, offs = _join([clean[i - 1].strip() for i in idx], " ")
        raw_text, raw_offs = _join([raw[i - 1].strip() for i in idx], " ")
        blocks.append(Block("003", unit, text, " ", _origin(docs["003"], unit), raw_text=raw_text,
                            line_offsets=offs, raw_line_offsets=raw_offs))
    out["003"] = blocks

    lines = _lines(sources / docs["004"]["file"])
    blocks = []
    for n, (a, b) in enumerate(SECTIONS_004, start=1):
        kept = [lines[i - 1].strip() for i in range(a, b + 1) if lines[i - 1].strip()]
        text, offs = _join(kept, ",")
        unit = f"sec{n:02d}"
        blocks.append(Block("004", unit, text, ",", _origin(docs["004"], unit), line_offsets=offs))
    out["004"] = blocks
    return out


def _boundaries(block: Block) -> list[int]:
    """Offsets where a passage may end: after a sentence terminator or at a line break."""
    # 003 passages must cover whole lines so the noisy text can be cut at the same lines
    ends = set() if block.raw_text is not None else {m.end() for m in SENTENCE_END.finditer(block.text)}
    ends.update(o - len(block.joiner) for o in block.line_offsets[1:] if block.joiner)
    ends.update(o for o in block.line_offsets[1:] if not block.joiner)
    ends.add(len(block.text))
    return sorted(e for e in ends if 0 < e <= len(block.text))


def _trim(text: str, a: int, b: int, strip: str) -> tuple[int, int]:
    while a < b and text[a] in strip:
        a += 1
    while b > a and text[b - 1] in strip:
        b -= 1
    return a, b


def passage_spans(block: Block) -> list[tuple[int, int]]:
    """Greedy packing of whole units into passages of PASSAGE_MIN..PASSAGE_MAX characters."""
    strip = " ," + block.joiner
    bounds = [e for e in _boundaries(block) if e > block.passage_start]
    if block.truncated and bounds:
        bounds = bounds[:-1]  # the cut-off final fragment never becomes a passage
    spans, start = [], block.passage_start
    for end in bounds:
        a, b = _trim(block.text, start, end, strip)
        if b - a > PASSAGE_MAX:  # a unit too long on its own: skip past it
            start = end
            continue
        if b - a >= PASSAGE_TARGET:
            spans.append((a, b))
            start = end
    return [(a, b) for a, b in spans if PASSAGE_MIN <= b - a <= PASSAGE_MAX]


HEADING_003 = re.compile(r"^\d{1,2}、")  # an item heading of 003 ("7、面向不同場景…") on its own line


def _line_at(block: Block, offset: int) -> str:
    nxt = [o for o in block.line_offsets if o > offset]
    return block.text[offset:(nxt[0] - len(block.joiner)) if nxt else len(block.text)]


def _drop_trailing_heading(block: Block, c: dict) -> dict:
    """A 003 passage that ends on the heading of the next item, whose body lies outside the
    passage, is re-cut at the sentence boundary before that heading. If that would leave the
    noisy text equal to the clean one (the pair would measure nothing) or the passage too
    short, it is extended through that item's body instead, when it still fits.

    Applied after sampling, so the candidate pools, the random draws and every other item
    stay as they were."""
    a, b = c["offset"], c["offset"] + len(c["source"])
    starts = [o for o in block.line_offsets if a < o < b]
    if not starts or not HEADING_003.match(block.text[starts[-1]:b]):
        return c
    after = [o for o in block.line_offsets if o >= b + len(block.joiner)]
    if not after or HEADING_003.match(_line_at(block, after[0])):
        return c  # a heading-only item (no body follows): the passage ends on a whole item
    end = starts[-1] - len(block.joiner)
    if end - a >= PASSAGE_MIN and _raw_span(block, a, end) != block.text[a:end]:
        return {**c, "source": block.text[a:end], "raw": _raw_span(block, a, end)}
    later = [o for o in after[1:] if HEADING_003.match(_line_at(block, o))]
    end = later[0] - len(block.joiner) if later else len(block.text)
    raw = _raw_span(block, a, end)
    if end - a <= PASSAGE_MAX and len(raw) <= PASSAGE_MAX:
        return {**c, "source": block.text[a:end], "raw": raw}
    return c


def _raw_span(block: Block, a: int, b: int) -> str:
    """The noisy 003 text covering the same physical lines as clean span [a, b)."""
    first = max(i for i, o in enumerate(block.line_offsets) if o <= a)
    last = max(i for i, o in enumerate(block.line_offsets) if o < b)
    assert block.line_offsets[first] == a, "003 passages must start at a line start"
    ro = block.raw_line_offsets
    end = ro[last + 1] - 1 if last + 1 < len(ro) else len(block.raw_text)
    return block.raw_text[ro[first]:end]


def section_spans(block: Block) -> list[tuple[int, int]]:
    """The block itself, or equal parts cut at sentence/line boundaries when it is too long."""
    n = len(block.text)
    if n < SECTION_MIN:
        return []
    parts = max(1, math.ceil(n / SECTION_SPLIT))
    bounds = _boundaries(block)
    cuts = [0]
    for k in range(1, parts):
        cuts.append(min(bounds, key=lambda e: abs(e - k * n / parts)))
    cuts.append(n)
    spans = [_trim(block.text, a, b, " ," + block.joiner) for a, b in zip(cuts, cuts[1:])]
    return [(a, b) for a, b in spans if SECTION_MIN <= b - a <= SECTION_MAX]


SCRIPT_BY_DOC = {"000": "simplified", "001": "traditional", "002": "simplified",
                 "003": "traditional", "004": "simplified"}
CONDITION_BY_DOC = {"000": "clean-simplified", "001": "clean-traditional", "002": "asr-punctuated",
                    "003": "noisy-script", "004": "asr-unpunctuated"}
GENRE_BY_DOC = {"000": "written", "001": "written", "002": "speech", "003": "written", "004": "speech"}


def _has_traditional(text: str, t2s) -> bool:
    return t2s.convert(text) != text


def _sample(per_block: list[list[dict]], k: int, rng: random.Random) -> list[dict]:
    """Round-robin over blocks (each shuffled) so every block contributes evenly."""
    pools = [rng.sample(p, len(p)) for p in per_block]
    chosen: list[dict] = []
    while len(chosen) < k and any(pools):
        for pool in pools:
            if pool and len(chosen) < k:
                chosen.append(pool.pop())
    return chosen


def build_items(sources: Path, provenance: dict) -> dict[str, list[dict]]:
    import opencc

    t2s = opencc.OpenCC("t2s")
    blocks = load_blocks(sources, provenance)
    rng = random.Random(SEED)
    translate: list[dict] = []
    for doc, doc_blocks in blocks.items():
        per_block = []
        for block in doc_blocks:
            if block.unit == "preface":
                continue
            cands = []
            for i, (a, b) in enumerate(passage_spans(block)):
                text = block.text[a:b]
                item = {"doc": doc, "unit": block.unit, "index": i, "source": text,
                        "condition": CONDITION_BY_DOC[doc], "script": SCRIPT_BY_DOC[doc],
                        "genre": GENRE_BY_DOC[doc], "origin": block.origin,
                        "offset": a}
                if doc == "003":
                    raw = _raw_span(block, a, b)
                    if len(raw) > PASSAGE_MAX or raw == text:
                        continue  # keep pairs whose noisy side differs and stays in range
                    item["raw"] = raw
                if doc == "004":
                    item["mixed_script"] = _has_traditional(text, t2s)
                cands.append(item)
            per_block.append(cands)
        if doc == "004":  # keep every mixed-script passage (script flips are the point of 004)
            mixed = [c for p in per_block for c in p if c["mixed_script"]]
            rest = [[c for c in p if not c["mixed_script"]] for p in per_block]
            chosen = mixed + _sample(rest, PASSAGES_PER_DOC - len(mixed), rng)
        else:
            chosen = _sample(per_block, PASSAGES_PER_DOC, rng)
        chosen.sort(key=lambda c: (c["unit"], c["offset"]))
        if doc == "003":
            by_unit = {b.unit: b for b in doc_blocks}
            chosen = [_drop_trailing_heading(by_unit[c["unit"]], c) for c in chosen]
        for c in chosen:
            translate.extend(_translation_items(c))

    sections: list[dict] = []
    for doc, doc_blocks in blocks.items():
        for block in doc_blocks:
            if block.unit == "preface":
                continue
            for i, (a, b) in enumerate(section_spans(block)):
                text = block.text[a:b]
                sections.append({
                    "id": f"{doc}:{block.unit}:s{i}:{_sha(text)}", "source": text,
                    "ref_key": f"{doc}:{block.unit}:s{i}:{_sha(text)}",
                    "meta": {"doc": doc, "unit": block.unit, "block": f"{doc}:{block.unit}",
                             "condition": CONDITION_BY_DOC[doc] if doc != "003" else "noisy-script-cleaned",
                             "script": SCRIPT_BY_DOC[doc], "genre": GENRE_BY_DOC[doc],
                             "origin": block.origin, "title": block.title, "chars": len(text)}})

    longdocs = []
    for doc in blocks:
        text = normalised_document(blocks[doc])
        longdocs.append({"id": f"{doc}:doc:d0:{_sha(text)}", "ref_key": f"{doc}:doc:d0:{_sha(text)}",
                         "source": text,
                         "meta": {"doc": doc, "unit": "doc", "block": doc, "condition": CONDITION_BY_DOC[doc]
                                  if doc != "003" else "noisy-script-cleaned",
                                  "script": SCRIPT_BY_DOC[doc], "genre": GENRE_BY_DOC[doc],
                                  "origin": "mixed" if doc in ("000", "001") else "zh-original",
                                  "chars": len(text)}})
    return {"translate": translate, "sections": sections, "longdoc": longdocs}


def _translation_items(c: dict) -> list[dict]:
    meta = {k: c[k] for k in ("doc", "unit", "condition", "script", "genre", "origin")}
    meta["block"] = f"{c['doc']}:{c['unit']}"
    if "mixed_script" in c:
        meta["mixed_script"] = c["mixed_script"]
    clean_id = f"{c['doc']}:{c['unit']}:p{c['index']:02d}:{_sha(c['source'])}"
    if c["doc"] != "003":
        return [{"id": clean_id, "ref_key": clean_id, "source": c["source"], "meta": meta}]
    # 003: the noisy text and its cleaned version share one reference (keyed by the clean id)
    noisy = {**meta, "condition": "noisy-script", "pair": clean_id}
    clean = {**meta, "condition": "noisy-script-cleaned", "pair": clean_id}
    raw_id = f"003r:{c['unit']}:p{c['index']:02d}:{_sha(c['raw'])}"
    return [{"id": raw_id, "ref_key": clean_id, "source": c["raw"], "meta": noisy},
            {"id": clean_id, "ref_key": clean_id, "source": c["source"], "meta": clean}]


def normalised_document(blocks: list[Block]) -> str:
    return "\n".join(b.text for b in blocks) + "\n"


def write_all(tasks_dir: Path) -> dict[str, int]:
    """Write normalised documents and item files; return item counts per file."""
    import yaml

    sources = tasks_dir / "sources"
    provenance = yaml.safe_load((sources / "provenance.yaml").read_text(encoding="utf-8"))
    blocks = load_blocks(sources, provenance)
    for doc, doc_blocks in blocks.items():
        (sources / f"{doc}.txt").write_text(normalised_document(doc_blocks), encoding="utf-8")
        if doc == "003":
            raw = "\n".join(b.raw_text for b in doc_blocks) + "\n"
            (sources / "003r.txt").write_text(raw, encoding="utf-8")
    items = build_items(sources, provenance)
    counts = {}
    for name, rows in items.items():
        path = tasks_dir / "items" / f"{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        counts[path.name] = len(rows)
    return counts
