"""The seed task suite: reproducible items, complete references, lengths and counts."""

import json
from collections import Counter
from pathlib import Path

import pytest

import harness.task._corpus as corpus
from harness.core._paths import REFERENCES, TASKS
from harness.task._spec import load_tasks


@pytest.fixture(scope="module")
def tasks():
    return {t.id: t for t in load_tasks()}


def test_rebuild_reproduces_committed_items(tmp_path):
    import shutil

    shutil.copytree(TASKS / "sources", tmp_path / "sources")
    counts = corpus.write_all(tmp_path)
    assert counts == {"translate.jsonl": 300, "sections.jsonl": 48, "longdoc.jsonl": 5}
    for name in counts:
        assert (tmp_path / "items" / name).read_bytes() == (TASKS / "items" / name).read_bytes(), name
    for doc in ("000", "001", "002", "003", "003r", "004"):
        assert (tmp_path / "sources" / f"{doc}.txt").read_bytes() == (TASKS / "sources" / f"{doc}.txt").read_bytes()


def test_ids_unique_and_stable_shape(tasks):
    for t in tasks.values():
        ids = [i.id for i in t.items]
        assert len(ids) == len(set(ids)), t.id
        for iid in ids:
            doc, unit, idx, sha = iid.split(":")
            assert len(sha) == 8 and doc[:3] in {"000", "001", "002", "003", "004"}


def test_translation_counts_and_lengths(tasks):
    t = tasks["translate_zh_en"]
    conds = Counter(i.condition for i in t.items)
    assert set(conds) == {"clean-simplified", "clean-traditional", "asr-punctuated", "asr-unpunctuated",
                          "noisy-script", "noisy-script-cleaned"}
    assert min(conds.values()) >= 40
    distinct_refs = {i.references[0] for i in t.items}
    assert len(distinct_refs) >= 250
    for i in t.items:
        assert 150 <= len(i.source) <= 400, i.id
        assert i.meta["origin"] in {"zh-original", "translated-from-en"}
    # noisy/clean pairs share one reference
    pairs = Counter(i.meta["pair"] for i in t.items if "pair" in i.meta)
    assert len(pairs) >= 40 and set(pairs.values()) == {2}


def test_sources_are_substrings_of_normalised_documents(tasks):
    docs = {p.stem: p.read_text(encoding="utf-8") for p in (TASKS / "sources").glob("*.txt")}
    for t in tasks.values():
        for i in t.items:
            doc = "003r" if i.id.startswith("003r:") else i.meta["doc"]
            assert i.source in docs[doc], i.id


def _han_len(text):
    return len("".join(text.split()))


def test_summary_references_in_range(tasks):
    zh, en = tasks["summarize_zh_zh"], tasks["summarize_zh_en"]
    assert len(zh.items) >= 40 and {i.meta["doc"] for i in zh.items} == {"000", "001", "002", "003", "004"}
    for i in zh.items:
        assert 1500 <= len(i.source) <= 4000
        assert 150 <= _han_len(i.references[0]) <= 250, i.id
    for i in en.items:
        assert 80 <= len(i.references[0].split()) <= 120, i.id


def test_summary_zh_references_are_simplified(tasks):
    from harness.score._checks import Script

    refs = [i.references[0] for i in tasks["summarize_zh_zh"].items]
    s = Script()
    assert s.score(s.stats(refs, [None] * len(refs)))["wrong_script_share"] < 0.5


def test_longdoc_references_and_key_facts(tasks):
    t = tasks["longdoc_zh_en"]
    assert len(t.items) == 5
    for i in t.items:
        assert 250 <= len(i.references[0].split()) <= 400, i.id
        assert 15 <= len(i.key_facts) <= 25 and all(f.strip() for f in i.key_facts)
        assert len(set(i.key_facts)) == len(i.key_facts)


def test_reference_files_have_no_orphans(tasks):
    for t in tasks.values():
        path = (t.path.parent / t.spec.references).resolve()
        ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        keys = {i.meta.get("pair", i.id) if "pair" in i.meta else i.id for i in t.items}
        assert set(ids) == keys, path.name


def test_tasks_list_json(tasks):
    from click.testing import CliRunner

    from harness.cli import main

    out = CliRunner().invoke(main, ["tasks", "list", "--json"])
    rows = json.loads(out.output)
    by = {r["id"]: r for r in rows}
    assert by["translate_zh_en"]["n_items"] == 300
    assert by["translate_zh_en"]["conditions"]["asr-punctuated"] == 50
    assert {"id", "kind", "source_lang", "target_lang", "n_items", "conditions"} <= set(rows[0])


def test_no_003_passage_ends_on_the_heading_of_an_item_whose_body_it_leaves_out():
    import yaml

    sources = TASKS / "sources"
    blocks = {b.unit: b for b in corpus.load_blocks(sources, yaml.safe_load(
        (sources / "provenance.yaml").read_text(encoding="utf-8")))["003"]}
    items = [json.loads(x) for x in (TASKS / "items" / "translate.jsonl").read_text(encoding="utf-8").splitlines()]
    checked = 0
    for it in items:
        if not it["id"].startswith("003:"):
            continue
        block = blocks[it["meta"]["unit"]]
        a = block.text.index(it["source"])
        b = a + len(it["source"])
        starts = [o for o in block.line_offsets if a < o < b]
        following = [o for o in block.line_offsets if o > b]
        if starts and corpus.HEADING_003.match(block.text[starts[-1]:b]) and following:
            nxt = block.text[following[0]:].split(" ")[0]
            assert corpus.HEADING_003.match(nxt), it["id"]  # only a heading-only item may end a passage
        checked += 1
    assert checked == 50
    # the five passages that used to end on the next item's heading, re-cut
    ids = {it["id"] for it in items}
    assert {"003:part1:p05:cb676d01", "003:part1:p06:da2b8a20", "003:part1:p15:3c70fb4c",
            "003:part2:p16:edf754d9", "003:part3:p09:59ee207b"} <= ids
