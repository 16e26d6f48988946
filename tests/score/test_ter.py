"""TER equals sacrebleu's own corpus TER: through the pipeline's scoring on the shipped
translation task, for Chinese targets (asian_support, normalized), with a missing second
reference, and in the vectorised form the intervals use."""

from __future__ import annotations

import unicodedata
from types import SimpleNamespace

import numpy as np
import pytest
from sacrebleu.metrics import TER

import harness.results._leaderboard as lb
from harness.pipeline._eval import score
from harness.score import registry
from harness.score._ter import Ter
from harness.task._spec import load_tasks


class _Outcome:
    def __init__(self, text):
        self.response = {"text": text, "finish_reason": "stop", "cost_usd": None, "completion_tokens": 3,
                         "input_truncated": False}
        self.error = None


def _items(refs):
    return [SimpleNamespace(references=r) for r in refs]


def _streams(refs):
    """sacrebleu's multi-reference input: a missing reference is None (an "" would count)."""
    width = max(len(r) for r in refs)
    return [[r[k] if k < len(r) else None for r in refs] for k in range(width)]


@pytest.fixture(scope="module")
def translate():
    return load_tasks(["translate_zh_en"], via_datasets=False)[0]


def test_translation_task_ships_ter(translate):
    assert "ter" in translate.spec.metrics
    assert "ter" in registry.reported_names() and registry.lower_is_better("ter")


def _sample(items, per_condition: int = 6):
    """Of every condition, its first items with one reference and with two (sacrebleu's TER
    is pure Python: 38 s for all 300 passages, twice here, with nothing more to check)."""
    out = []
    for cond in sorted({it.condition for it in items}):
        mine = [it for it in items if it.condition == cond]
        out += [it for it in mine if len(it.references) == 1][:per_condition // 2]
        out += [it for it in mine if len(it.references) == 2][:per_condition // 2]
    return out


def test_leaderboard_ter_equals_sacrebleu_corpus_ter(translate):
    items = _sample(translate.items)
    assert {len(it.references) for it in items} == {1, 2}
    # outputs: every third reference cut short, every fifth replaced by a wrong sentence
    outs = []
    for k, it in enumerate(items):
        ref = it.references[0]
        outs.append("The weather is nice today." if k % 5 == 0 else ref[: len(ref) // 2] if k % 3 == 0 else ref)
    sc = score(translate, "m", [(it, _Outcome(o)) for it, o in zip(items, outs)])
    rows = lb.rows_for(sc, "run", "now")
    conditions = {it.condition for it in translate.items}
    checked = 0
    for cond in sorted(conditions):
        keep = [k for k, it in enumerate(items) if it.condition == cond]
        # the harness NFKC-normalises both sides of an English target first; so does this
        hyps = [unicodedata.normalize("NFKC", outs[k]) for k in keep]
        refs = [[unicodedata.normalize("NFKC", r) for r in items[k].references] for k in keep]
        want = TER().corpus_score(hyps, _streams(refs)).score
        row = next(r for r in rows if r["condition"] == cond and r["metric"] == "ter")
        assert row["value"] == pytest.approx(want, abs=1e-4), cond
        assert row["n"] == len(keep)
        checked += 1
    assert checked == len(conditions) >= 2
    pooled = next(r for r in rows if r["condition"] == "all" and r["metric"] == "ter")
    # `all` pools every condition but the cleaned control of the noisy passages
    keep = [k for k, it in enumerate(items) if it.condition != "noisy-script-cleaned"]
    want = TER().corpus_score([unicodedata.normalize("NFKC", outs[k]) for k in keep],
                              _streams([[unicodedata.normalize("NFKC", r) for r in items[k].references]
                                        for k in keep])).score
    assert pooled["value"] == pytest.approx(want, abs=1e-4) and 0 < pooled["value"] < 100


ZH_HYPS = ["今天天气很好，我们去公园散步。", "人工智能正在改变世界。", "他昨天买了三本书。"]
ZH_REFS = [["今天天气不错，我们去公园走走。"], ["人工智能改变了世界。", "人工智能正在改变这个世界。"],
           ["他昨天买了两本书。"]]


def test_chinese_target_ter_uses_asian_support():
    ours = Ter("zh")
    got = ours.score(ours.stats(ZH_HYPS, _items(ZH_REFS)))["ter"]
    want = TER(asian_support=True, normalized=True).corpus_score(ZH_HYPS, _streams(ZH_REFS)).score
    assert got == pytest.approx(want, abs=1e-9)
    # without asian support each unspaced sentence is one word: a different (coarser) number
    plain = TER().corpus_score(ZH_HYPS, _streams(ZH_REFS)).score
    assert abs(plain - want) > 1
    assert "asian:yes" in ours.signature() and "asian:no" in Ter("en").signature()


def test_missing_second_reference_matches_sacrebleu_none():
    hyps = ["The cat sat.", "A dog ran in the park today.", "x"]
    refs = [["The cat is sitting on the mat."],
            ["The dog was running in the park.", "A dog ran through the park today."],
            ["Nothing here matches at all."]]
    ours = Ter("en", num_refs=-1)
    got = ours.score(ours.stats(hyps, _items(refs)))["ter"]
    assert got == pytest.approx(TER().corpus_score(hyps, _streams(refs)).score, abs=1e-9)
    # an empty string instead of None would be a real reference and change the number
    padded = [r + [""] * (2 - len(r)) for r in refs]
    assert TER().corpus_score(hyps, _streams(padded)).score != pytest.approx(got)


def test_vectorised_ter_equals_sacrebleu_on_random_statistics():
    rng = np.random.default_rng(0)
    hyps = ["".join(rng.choice(list("abcde  "), size=rng.integers(0, 30))) for _ in range(60)]
    refs = [["".join(rng.choice(list("abcdef  "), size=rng.integers(0, 30)))] for _ in range(60)]
    scorer = Ter("en")
    stats = scorer.stats(hyps, _items(refs))
    weights = rng.integers(0, 3, size=(200, len(hyps))).astype(float)
    weights[0] = 0  # an empty resample: no score
    sums = weights @ stats
    fast = scorer.score_matrix(sums, weights.sum(axis=1))["ter"]
    assert np.isnan(fast[0])
    slow = [scorer.metric._compute_score_from_stats(list(row)).score for row in sums[1:]]
    assert fast[1:] == pytest.approx(slow, abs=1e-9)
