"""Every registered metric is an `evaluate` module that loads offline by path and returns
the harness's own value on the same pairs; chrF and TER also equal sacrebleu's."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sacrebleu.metrics import CHRF, TER

from harness.core._paths import ROOT
from harness.score import registry

HERE = ROOT / "harness" / "score" / "evaluate"
ZH_HYPS = ["今天天气很好，我们去公园散步。", "人工智能正在改变世界。", "他昨天买了三本书。"]
ZH_REFS = [["今天天气不错，我们去公园走走。"], ["人工智能改变了世界。", "人工智能正在改变这个世界。"], ["他昨天买了两本书。"]]
EN_SRCS = ["2023年有3个模型。", "成本下降了50%。", "今天天气很好。"]
EN_HYPS = ["In 2023 there were 3 models.", "Costs fell by half.", "The weather is nice today!"]
EN_REFS = [["There were 3 models in 2023."], ["Costs fell by 50%.", "The cost dropped 50%."], ["Nice weather today."]]
FACTS = [["three models in 2023"], ["costs fell 50%"], ["weather nice"]]

# per family: the compute() arguments, and the language settings a task file would give
CASES = {
    "rouge": dict(predictions=ZH_HYPS, references=ZH_REFS, target_lang="zh"),
    "bleu": dict(predictions=ZH_HYPS, references=ZH_REFS, target_lang="zh"),
    "chrf": dict(predictions=ZH_HYPS, references=ZH_REFS, target_lang="zh"),
    "ter": dict(predictions=ZH_HYPS, references=ZH_REFS, target_lang="zh"),
    "script": dict(predictions=["這是繁體字。", "这是简体字。", "混合的體字"], references=ZH_REFS, target_lang="zh"),
    "length_ratio": dict(predictions=EN_HYPS, references=EN_REFS),
    "numbers": dict(predictions=EN_HYPS, references=EN_REFS, sources=EN_SRCS),
    "key_facts": dict(predictions=EN_HYPS, references=EN_REFS, key_facts=FACTS),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("HF_EVALUATE_OFFLINE", "1")
    import evaluate

    mp.setattr(evaluate.config, "HF_MODULES_CACHE", tmp_path_factory.mktemp("hf-modules"))
    yield {f: evaluate.load(str(HERE / f)) for f in registry.families()}
    mp.undo()


def direct(family: str, case: dict) -> dict:
    """The harness's value, computed the way the leaderboard does (no evaluate involved)."""
    n = len(case["predictions"])
    items = [SimpleNamespace(id=str(k), source=case.get("sources", [""] * n)[k], references=case["references"][k],
                             key_facts=case.get("key_facts", [[]] * n)[k], meta={}) for k in range(n)]
    task = SimpleNamespace(spec=SimpleNamespace(source_lang="zh", target_lang=case.get("target_lang", "en"),
                                                target_script=None), items=items)
    scorer = registry.make(family, task)
    return scorer.score(scorer.stats(case["predictions"], items))


def test_every_registered_family_has_its_module_folder():
    folders = {p.name for p in HERE.iterdir() if p.is_dir() and (p / f"{p.name}.py").exists()}
    assert folders == set(registry.families())
    assert set(CASES) == set(registry.families())  # a new family needs a case here too


@pytest.mark.parametrize("family", sorted(CASES))
def test_each_module_returns_the_harness_value(loaded, family):
    got = loaded[family].compute(**CASES[family])
    want = direct(family, CASES[family])
    assert set(got) == set(want) == {m.name for m in registry.entry(family).metrics}
    assert all(v == v for v in want.values()), want  # every case is scoreable (no NaN compared with NaN)
    assert got == pytest.approx(want, abs=1e-9)


def test_chrf_and_ter_equal_sacrebleu(loaded):
    en = loaded["chrf"].compute(predictions=EN_HYPS, references=EN_REFS)["chrf"]
    streams = [[r[k] if k < len(r) else None for r in EN_REFS] for k in range(2)]
    assert en == pytest.approx(CHRF().corpus_score(EN_HYPS, streams).score, abs=1e-9)
    zh = loaded["ter"].compute(**CASES["ter"])["ter"]
    zstreams = [[r[k] if k < len(r) else None for r in ZH_REFS] for k in range(2)]
    assert zh == pytest.approx(TER(asian_support=True, normalized=True).corpus_score(ZH_HYPS, zstreams).score,
                               abs=1e-9)
