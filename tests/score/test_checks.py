"""The checks lexical metrics are blind to, on hand-worked examples."""

from types import SimpleNamespace

import pytest

from harness.score._checks import KeyFacts, LengthRatio, Numbers, Script, numbers_en, numbers_zh


def item(source="", refs=("",), facts=()):
    return SimpleNamespace(source=source, references=list(refs), key_facts=list(facts))


def test_chinese_scale_characters():
    assert numbers_zh("10 万卡") == [100000.0]
    assert numbers_zh("3.2 万张") == [32000.0]
    assert numbers_zh("29 兆 - 48 兆美元") == [29e12, 48e12]
    assert numbers_zh("1 亿美元") == [1e8]
    assert numbers_en("$29 trillion, 32,000 GPUs, 1.5 billion, 600B") == [29e12, 32000.0, 1.5e9, 600e9]


def test_number_recall():
    n = Numbers()
    src = item("去年花了 1 亿美元,买了 3.2 万张卡。")
    right = n.stats(["They spent $100 million last year and bought 32,000 cards."], [src])
    wrong = n.stats(["They spent $100 thousand last year and bought 32,000 cards."], [src])
    assert n.score(right)["number_recall"] == 100.0
    assert n.score(wrong)["number_recall"] == 50.0


def test_script_share_counts_traditional_only_characters():
    s = Script()
    # 這個軟體: all 4 characters are Traditional-only (这 个 软 体); 这个软件 has none; 台 is both
    stats = s.stats(["這個軟體", "这个软件", "台"], [item(), item(), item()])
    assert s.score(stats)["wrong_script_share"] == pytest.approx(100 * 4 / 9)


def test_length_ratio_and_key_facts():
    lr = LengthRatio("en")
    assert lr.score(lr.stats(["one two three"], [item(refs=["a b c d e f"])]))["length_ratio"] == 0.5
    kf = KeyFacts("en")
    it = item(facts=["Karpathy calls this the decade of agents.", "Reinforcement learning is terrible."])
    out = "Karpathy says this is the decade of agents, not the year."
    assert kf.score(kf.stats([out], [it]))["key_fact_recall"] == 50.0
