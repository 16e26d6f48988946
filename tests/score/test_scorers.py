"""Scorers against independent computations: hand-worked ROUGE on Chinese, rouge-score
itself on random inputs, and sacrebleu's own command line on the same files."""

import json
import subprocess
import sys
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from harness.score._lexical import Bleu, Chrf, Rouge
from harness.score._text import Tokenizer, normalize, tokenize


def items(refs):
    return [SimpleNamespace(references=r if isinstance(r, list) else [r], source="", key_facts=[]) for r in refs]


def test_default_rouge_score_tokenizer_drops_chinese_and_ours_does_not():
    ref, hyp = "猫坐在垫子上", "猫在垫子上坐"
    default = rouge_scorer.RougeScorer(["rouge1"]).score(ref, hyp)["rouge1"].fmeasure
    assert default == 0.0  # the pitfall: every Han character is dropped
    stats = Rouge("zh").stats([hyp], items([ref]))
    assert stats[0, 0] == pytest.approx(1.0)


def test_rouge_hand_worked_chinese_example():
    # ref tokens 猫 坐 在 垫 子 上; hyp tokens 猫 在 垫 子 上 坐
    # R1: 6/6 overlap -> 1.0. R2: ref bigrams {猫坐 坐在 在垫 垫子 子上}, hyp {猫在 在垫 垫子 子上 上坐},
    # overlap 3 of 5 -> P = R = 0.6 -> F = 0.6. RL: LCS 猫在垫子上 = 5 -> P = R = 5/6 -> F = 0.8333.
    r1, r2, rl = Rouge("zh").stats(["猫在垫子上坐"], items(["猫坐在垫子上"]))[0]
    assert (r1, r2) == (pytest.approx(1.0), pytest.approx(0.6))
    assert rl == pytest.approx(5 / 6)


def test_rouge_mixed_script_and_latin_tokens():
    # Traditional Taiwan wording is scored as its Simplified equivalent; Latin words stay whole.
    assert tokenize(normalize("AI 軟體 model", "zh")) == ["ai", "软", "件", "model"]
    assert tokenize(normalize("AI智能体", "zh")) == tokenize(normalize("AI 智能体", "zh"))
    r1 = Rouge("zh").stats(["輝達的GPU"], items(["英伟达的 GPU"]))[0, 0]
    assert r1 == pytest.approx(1.0)


han = st.sampled_from(list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"))
word = st.sampled_from(["ai", "gpu", "model", "2025", "rl", "scaling", "law"])
text = st.lists(st.one_of(han, word), min_size=0, max_size=40).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(text, text)
def test_rouge_equals_rouge_score_with_our_tokenizer(ref, hyp):
    ours = Rouge("zh").stats([hyp], items([ref]))[0]
    theirs = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=Tokenizer("zh")).score(ref, hyp)
    assert ours == pytest.approx([theirs["rouge1"].fmeasure, theirs["rouge2"].fmeasure, theirs["rougeL"].fmeasure])


def _sacrebleu_cli(tmp_path: Path, hyps, refs, tok):
    (tmp_path / "hyp.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    (tmp_path / "ref.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
    exe = Path(sys.executable).parent / "sacrebleu"
    out = subprocess.run([str(exe), str(tmp_path / "ref.txt"), "-i", str(tmp_path / "hyp.txt"),
                          "-m", "bleu", "chrf", "-b", "-w", "4", "-tok", tok], capture_output=True, text=True, check=True)
    bleu, chrf = json.loads(out.stdout)
    return bleu, chrf


@pytest.mark.parametrize("lang,tok,hyps,refs", [
    ("en", "13a", ["The cat sat on the mat.", "AI agents need a decade, he says."],
     ["The cat is sitting on the mat.", "He says AI agents will take a decade."]),
    ("zh", "zh", ["今天天气很好,我们去公园。", "模型的规模定律正在放缓。"],
     ["今天天气不错,我们去公园吧。", "预训练的规模定律在放缓。"]),
])
def test_bleu_chrf_match_sacrebleu_command_line(tmp_path, lang, tok, hyps, refs):
    hyps = [unicodedata.normalize("NFKC", h) for h in hyps]
    refs = [unicodedata.normalize("NFKC", r) for r in refs]
    cli_bleu, cli_chrf = _sacrebleu_cli(tmp_path, hyps, refs, tok)
    its = items(refs)
    assert Bleu(lang).score(Bleu(lang).stats(hyps, its))["bleu"] == pytest.approx(cli_bleu, abs=1e-4)
    assert Chrf(lang).score(Chrf(lang).stats(hyps, its))["chrf"] == pytest.approx(cli_chrf, abs=1e-4)


def test_bleu_on_chinese_is_not_zero_with_zh_tokenizer():
    hyp, ref = ["模型的规模定律正在放缓"], items(["预训练的规模定律正在放缓"])
    assert Bleu("zh").score(Bleu("zh").stats(hyp, ref))["bleu"] > 20


def test_signatures_pin_settings():
    assert "tok:zh" in Bleu("zh").signature() and "tok:13a" in Bleu("en").signature()
    assert "chrF2" in Chrf("en").signature() or "nc:6" in Chrf("en").signature()
    assert "tok:cjkchar+latinword" in Rouge("zh").signature() and "tw2sp" in Rouge("zh").signature()


def test_corpus_stats_sum_to_corpus_score():
    hyps = ["a b c d", "e f g", "h i"]
    refs = items(["a b c x", "e f y", "h i"])
    s = Bleu("en").stats(hyps, refs)
    from sacrebleu.metrics import BLEU
    assert Bleu("en").score(s)["bleu"] == pytest.approx(BLEU().corpus_score(hyps, [[r.references[0] for r in refs]]).score)
    assert np.all(s >= 0)


def test_vectorised_bleu_chrf_equal_sacrebleu_on_random_statistics():
    rng = np.random.default_rng(0)
    hyps = ["".join(rng.choice(list("abcde "), size=rng.integers(0, 30))) for _ in range(60)]
    refs = items(["".join(rng.choice(list("abcdef "), size=rng.integers(1, 30))) for _ in range(60)])
    for scorer in (Bleu("en"), Chrf("en"), Bleu("zh")):
        stats = scorer.stats(hyps, refs)
        weights = rng.integers(0, 3, size=(200, len(hyps))).astype(float)
        sums = weights @ stats
        fast = scorer.score_matrix(sums, weights.sum(axis=1))[scorer.names[0]]
        slow = [scorer.metric._compute_score_from_stats(list(row)).score for row in sums]
        assert fast == pytest.approx(slow, abs=1e-9)


# Items with one reference next to items with two (references/ holds second references for
# some items only). sacrebleu drops a missing reference only when it is None, not "".
VAR_HYPS = ["The cat sat.", "A dog ran in the park today.", "Scaling laws slow down.", "x"]
VAR_REFS = [["The cat is sitting on the mat."],
            ["The dog was running in the park.", "A dog ran through the park today."],
            ["Scaling laws are slowing."],
            ["Nothing here matches at all.", "Still no match."]]


@pytest.mark.parametrize("scorer_cls,metric", [(Bleu, "BLEU"), (Chrf, "CHRF")])
def test_variable_reference_counts_match_sacrebleu_multi_reference(scorer_cls, metric):
    import sacrebleu.metrics as sm

    ours = scorer_cls("en")
    got = ours.score(ours.stats(VAR_HYPS, items(VAR_REFS)))[ours.names[0]]
    width = max(len(r) for r in VAR_REFS)
    streams = [[r[k] if k < len(r) else None for r in VAR_REFS] for k in range(width)]
    want = getattr(sm, metric)().corpus_score(VAR_HYPS, streams).score
    assert got == pytest.approx(want, abs=1e-9)
    # and per item: a one-reference item scores as it would in a corpus of one-reference items
    alone = ours.stats([VAR_HYPS[0], VAR_HYPS[2]], items([VAR_REFS[0], VAR_REFS[2]]))
    mixed = ours.stats(VAR_HYPS, items(VAR_REFS))[[0, 2]]
    assert np.array_equal(alone, mixed)


def test_second_reference_can_only_raise_sentence_chrf_and_rouge():
    hyp = ["A dog ran through the park today."]
    one, two = items([["The dog was running in the park."]]), items([["The dog was running in the park.",
                                                                      "A dog ran through the park today."]])
    for scorer in (Chrf("en"), Rouge("en")):
        s1, s2 = scorer.score(scorer.stats(hyp, one)), scorer.score(scorer.stats(hyp, two))
        assert all(s2[k] >= s1[k] for k in s1) and any(s2[k] > s1[k] for k in s1)
    rl = Rouge("en").stats(hyp, two)[0]
    assert rl[0] == pytest.approx(1.0)  # max over references: the second is identical to the output
