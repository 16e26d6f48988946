"""references/: second references, the edit log, and the inter-reference agreement figures of
the datasheet, recomputed here with sacrebleu's public API straight from the JSONL files."""

import json
import re
import unicodedata
from collections import Counter, defaultdict

import pytest
import sacrebleu

import harness.results._agreement as agreement
from harness.core._paths import REFERENCES, TASKS
from harness.task._spec import load_tasks

REF_FILES = ("translate_zh_en", "summarize_zh_en", "summarize_zh_zh", "longdoc_zh_en")


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def rows():
    return {name: {r["id"]: r for r in _jsonl(REFERENCES / f"{name}.jsonl")} for name in REF_FILES}


@pytest.fixture(scope="module")
def tasks():
    return {t.id: t for t in load_tasks(list(agreement.TASKS))}


def test_second_reference_counts(rows):
    items = _jsonl(TASKS / "items" / "translate.jsonl")
    cond = defaultdict(set)
    for it in items:
        cond[it["ref_key"]].add(it["meta"]["condition"])
    two = [k for k, r in rows["translate_zh_en"].items() if len(r["references"]) == 2]
    assert len(two) >= 60
    per = Counter(c for k in two for c in cond[k])
    assert set(per) == {"clean-simplified", "clean-traditional", "asr-punctuated", "asr-unpunctuated",
                        "noisy-script", "noisy-script-cleaned"} and min(per.values()) >= 10
    zh = {k for k, r in rows["summarize_zh_zh"].items() if len(r["references"]) == 2}
    en = {k for k, r in rows["summarize_zh_en"].items() if len(r["references"]) == 2}
    assert len(zh) >= 20 and zh == en
    assert all(len(r["references"]) <= 2 for f in rows.values() for r in f.values())


def test_second_references_follow_the_length_rules(rows):
    for r in rows["summarize_zh_zh"].values():
        for ref in r["references"]:
            assert 150 <= len("".join(ref.split())) <= 250, r["id"]
    for r in rows["summarize_zh_en"].values():
        for ref in r["references"]:
            assert 80 <= len(ref.split()) <= 120, r["id"]


def test_chinese_summaries_use_full_width_commas(rows):
    for r in rows["summarize_zh_zh"].values():
        for ref in r["references"]:
            assert not re.search(r"(?<!\d),|,(?!\d)|[;:()?!]", ref), r["id"]


def test_cut_off_rule_no_reference_ends_on_a_bare_comma_or_colon(rows):
    for r in rows["translate_zh_en"].values():
        for ref in r["references"]:
            assert ref[-1] not in ",;:", r["id"]


def test_edit_log_is_a_consistent_history_ending_in_the_current_files(rows):
    log = _jsonl(REFERENCES / "edits.jsonl")
    assert log and all({"task", "item", "field", "before", "after", "reason"} <= set(e) for e in log)
    assert all(e["reason"].strip() and e["before"] != e["after"] for e in log)
    last, renamed = {}, {}
    for e in log:  # each edit starts from what the previous edit of the same field left
        if e["field"] == "id":  # an item re-cut in harness/corpus.py: its row moved to a new id
            renamed[(e["task"], e["before"])] = e["after"]
            assert e["item"] == e["before"]
            continue
        key = (e["task"], e["item"], e["field"])
        if key in last:
            assert e["before"] == last[key], key
        last[key] = e["after"]
    for (task, old), new in renamed.items():
        assert old not in rows[task] and new in rows[task]
    for (task, item, field), value in last.items():
        if (task, item) in renamed:  # edits logged before the re-cut apply to the renamed row
            continue
        name, idx = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", field).groups()
        current = rows[task][item][name]
        assert (current[int(idx)] if idx is not None else current) == value, (item, field)


def _normalise(text, lang):
    text = unicodedata.normalize("NFKC", text)
    if lang == "zh":
        import opencc

        text = opencc.OpenCC("tw2sp").convert(text)
    return text


def _independent_agreement():
    """Straight from the JSONL files: reference 2 as hypothesis, reference 1 as the only reference."""
    spec = {"translate_zh_en": ("translate.jsonl", "en"), "summarize_zh_en": ("sections.jsonl", "en"),
            "summarize_zh_zh": ("sections.jsonl", "zh")}
    out = {}
    for task, (items_file, lang) in spec.items():
        refs = {r["id"]: r["references"] for r in _jsonl(REFERENCES / f"{task}.jsonl")}
        groups = defaultdict(dict)
        for it in _jsonl(TASKS / "items" / items_file):
            pair = refs[it.get("ref_key", it["id"])]
            if len(pair) == 2:
                groups[it["meta"]["condition"]][it.get("ref_key", it["id"])] = pair
                groups["all"][it.get("ref_key", it["id"])] = pair
        for cond, pairs in groups.items():
            hyp = [_normalise(p[1], lang) for p in pairs.values()]
            ref = [_normalise(p[0], lang) for p in pairs.values()]
            bleu = sacrebleu.corpus_bleu(hyp, [ref], tokenize="zh" if lang == "zh" else "13a").score
            chrf = sacrebleu.corpus_chrf(hyp, [ref]).score
            out[(task, cond)] = (len(pairs), chrf, bleu)
    return out


def test_agreement_figures_recomputed_with_sacrebleu(tasks):
    rows = agreement.agreement(list(tasks.values()))
    want = _independent_agreement()
    assert {(r.task, r.condition) for r in rows} == set(want)
    for r in rows:
        n, chrf, bleu = want[(r.task, r.condition)]
        assert r.n == n and r.chrf == pytest.approx(chrf, abs=0.05) and r.bleu == pytest.approx(bleu, abs=0.05)


def test_datasheet_prints_the_current_agreement_table(tasks):
    table = agreement.markdown(agreement.agreement(list(tasks.values())))
    assert table in (REFERENCES / "README.md").read_text(encoding="utf-8")


def test_datasheet_opening_does_not_claim_hand_written_and_names_the_model():
    text = (REFERENCES / "README.md").read_text(encoding="utf-8")
    opening = text.split("\n\n")[1].lower()  # the paragraph under the title
    assert "hand-written" not in opening and "hand written" not in opening
    assert "claude" in opening and "llm" in opening


def test_datasheet_file_table_figures(rows):
    import statistics

    text = (REFERENCES / "README.md").read_text(encoding="utf-8")
    tr = rows["translate_zh_en"].values()
    notes = sum(1 for r in tr if r["notes"])
    median = statistics.median(len(r["references"][0].split()) for r in tr)
    zh = [len("".join(x.split())) for r in rows["summarize_zh_zh"].values() for x in r["references"]]
    en = [len(x.split()) for r in rows["summarize_zh_en"].values() for x in r["references"]]
    ld = [len(r["references"][0].split()) for r in rows["longdoc_zh_en"].values()]
    facts = sum(len(r["key_facts"]) for r in rows["longdoc_zh_en"].values())
    unclear = [r for r in tr if "[unclear]" in r["references"][0]]
    for claim in (f"({notes} rows have one)", f"median {median:.0f} words", f"{min(zh)}–{max(zh)} characters",
                  f"{min(en)}–{max(en)} words", f"{min(ld)}–{max(ld)} words", f"{facts} in all",
                  f"{len(unclear)} first references now contain `[unclear]` "
                  f"({sum(r['references'][0].count('[unclear]') for r in unclear)} spans"):
        assert claim in text.replace("\n  ", " "), claim


def test_pseudo_ref2_rows_are_marked_match_the_agreement_figures_and_are_not_ranked(tasks, tmp_path):
    import pandas as pd

    n = agreement.add_to_leaderboard([tasks["translate_zh_en"]], tmp_path)
    board = pd.read_csv(tmp_path / "leaderboard.csv", keep_default_na=False, na_values=[""])
    assert n == len(board) and set(board.model) == {"pseudo/ref2"}
    assert board.signature.str.endswith(agreement.PSEUDO_SIGNATURE).all()
    assert not board.signature.str.startswith("accounting").any()
    figures = {(r.condition, r.n): (r.chrf, r.bleu) for r in agreement.agreement([tasks["translate_zh_en"]])}
    for (cond, n_pairs), (chrf, bleu) in figures.items():
        if cond == "all":  # the table counts each shared 003 reference row once, the board each item
            continue
        got = board[(board.condition == cond)].set_index("metric")
        assert got.loc["chrf", "n"] == n_pairs
        assert got.loc["chrf", "value"] == pytest.approx(chrf, abs=0.05)
        assert got.loc["bleu", "value"] == pytest.approx(bleu, abs=0.05)
        assert got.loc["chrf", "ci_low"] <= got.loc["chrf", "value"] <= got.loc["chrf", "ci_high"]
    wide = pd.read_csv(tmp_path / "leaderboard_wide.csv", keep_default_na=False, dtype=str)
    assert not any(c.startswith("rank_") and (wide[c] != "").any() for c in wide.columns)


def test_agreement_command_prints_the_datasheet_table(capsys):
    assert agreement.main([]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("| task | condition | pairs | chrF | BLEU |")
    assert printed in (REFERENCES / "README.md").read_text(encoding="utf-8")
