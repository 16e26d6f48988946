"""What the scoring benchmark relies on and tests/test_scorers.py does not already pin:
on random input, the harness's summed per-item BLEU/chrF statistics give exactly
sacrebleu's corpus_score (English and Chinese, one or two references, any subset of items,
as the bootstrap uses them), and ROUGE equals rouge-score on long texts (> 64 tokens,
where rapidfuzz switches to its multi-word LCS)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF

from harness.score._lexical import Bleu, Chrf, Rouge
from harness.score._text import Tokenizer, normalize


class Item:
    def __init__(self, refs):
        self.references = list(refs)


EN = st.sampled_from("the a model data scaling law agents said will more than its 2025 3.5 GPU AI , . ! ?".split())
ZH = st.sampled_from(list("的一是在不了有和人这中大为上个国我以要他时来模型训练数据算力芯片軟體輝達,。、!?") + ["AI", "2025", " "])


def sentence(token, joiner):
    return st.lists(token, min_size=0, max_size=25).map(joiner.join)


def corpus(lang):
    token, joiner = (EN, " ") if lang == "en" else (ZH, "")
    line = sentence(token, joiner)
    return st.integers(1, 12).flatmap(lambda n: st.tuples(
        st.lists(line, min_size=n, max_size=n), st.lists(line, min_size=n, max_size=n),
        st.lists(line, min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)))


def sacre(metric, lang):
    return BLEU(tokenize="zh" if lang == "zh" else "13a") if metric == "bleu" else CHRF()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("metric,cls", [("bleu", Bleu), ("chrf", Chrf)])
@pytest.mark.parametrize("n_refs", [1, 2])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_summed_stats_equal_sacrebleu_corpus_score(lang, metric, cls, n_refs, data):
    hyps, refs_a, refs_b, keep = data.draw(corpus(lang))
    refs = [refs_a] if n_refs == 1 else [refs_a, refs_b]
    items = [Item([r[i] for r in refs]) for i in range(len(hyps))]
    scorer = cls(lang)
    stats = scorer.stats(hyps, items)
    # the harness normalises both sides (NFKC; Simplified script for Chinese) before sacrebleu sees them
    norm_h = [normalize(h, lang) for h in hyps]
    norm_r = [[normalize(x, lang) for x in r] for r in refs]
    assert scorer.score(stats)[metric] == pytest.approx(sacre(metric, lang).corpus_score(norm_h, norm_r).score,
                                                        abs=1e-9)
    # any subset, as a bootstrap resample or a condition uses it, is the corpus score of that subset
    sel = np.array([i for i, k in enumerate(keep) if k], dtype=int)
    if len(sel):
        sub = sacre(metric, lang).corpus_score([norm_h[i] for i in sel], [[r[i] for i in sel] for r in norm_r])
        assert scorer.score(stats[sel])[metric] == pytest.approx(sub.score, abs=1e-9)
        assert scorer.score_sums(stats[sel].sum(axis=0), len(sel))[metric] == pytest.approx(sub.score, abs=1e-9)


han = st.sampled_from(list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"))
long_text = st.lists(st.one_of(han, han, han, st.sampled_from(["ai", "gpu", "2025", ","])),
                     min_size=65, max_size=320).map("".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_text, long_text)
def test_rouge_equals_rouge_score_on_long_chinese(ref, hyp):
    ours = Rouge("zh").stats([hyp], [Item([ref])])[0]
    theirs = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=Tokenizer("zh")).score(ref, hyp)
    assert list(ours) == [theirs["rouge1"].fmeasure, theirs["rouge2"].fmeasure, theirs["rougeL"].fmeasure]
