"""Scoring throughput on fixed synthetic data (seeded), with equality checks.

ROUGE on Chinese at character level: harness.score._lexical.Rouge("zh") against
rouge_score.RougeScorer given the harness tokenizer (harness.score._text.Tokenizer("zh")),
on 2,000 hypothesis/reference pairs of 300 characters:
  rougeL       the harness's tokens + rouge_l (rapidfuzz LCS) vs RougeScorer(["rougeL"])
               (the first 1,000 pairs, to keep `make bench` short)
  rouge12L     Rouge("zh").stats                               vs RougeScorer(["rouge1", "rouge2", "rougeL"])
  lcs_kernel   pre-tokenised input: rouge_l vs rouge_score's own _score_lcs (no tokenising;
               the first 200 pairs)
  tokenize     the tokenizer alone (NFKC + OpenCC tw2sp + regex), the part both sides share
Scores must be identical (max |difference| reported; the benchmark fails above 1e-12).

BLEU and chrF on 10,000 English pairs: harness Bleu/Chrf `stats` + `score` (sacrebleu's own
segment statistics, summed) vs sacrebleu's `corpus_score` called directly; equal scores.
Fast timings are the median of 3 runs; rouge_score's pure-Python runs are timed once.
"""

from __future__ import annotations

import argparse
import random
import time

from common import emit, offline_env, row

HAN = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
       "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去"
       "把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但"
       "质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式"
       "活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回"
       "模型训练数据算力芯片智能推理语言规模")
EXTRA = ["，", "。", "、", " AI ", "GPU", "2025", "3.5", "OpenAI", "軟體", "輝達"]
WORDS = ("the a of to and in model data training scaling law compute agents reasoning language large said "
         "will would could more than its this that with from for on by as be are was were has have new "
         "research results paper system systems performance benchmark chips cost years decade").split()


def zh_pairs(n: int, length: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    refs, hyps = [], []
    for _ in range(n):
        ref = "".join(rng.choice(HAN) if rng.random() > 0.06 else rng.choice(EXTRA) for _ in range(length))
        hyp = []
        for ch in ref:  # an imperfect system: substitutions, deletions, insertions
            r = rng.random()
            if r < 0.20:
                hyp.append(rng.choice(HAN))
            elif r < 0.25:
                continue
            else:
                hyp.append(ch)
            if rng.random() < 0.03:
                hyp.append(rng.choice(HAN))
        refs.append(ref)
        hyps.append("".join(hyp))
    return refs, hyps


def en_pairs(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    refs, hyps = [], []
    for _ in range(n):
        ref = [rng.choice(WORDS) for _ in range(rng.randint(8, 30))]
        hyp = [w if rng.random() > 0.3 else rng.choice(WORDS) for w in ref if rng.random() > 0.1]
        refs.append(" ".join(ref).capitalize() + ".")
        hyps.append(" ".join(hyp).capitalize() + ("." if rng.random() > 0.5 else ""))
    return refs, hyps


class Item:
    def __init__(self, ref: str):
        self.references = [ref]


def timed(fn, repeat: int = 1):
    """(median wall time over `repeat` calls, the result). The fast side of each comparison
    is repeated (a short timing is easily hit by a burst of other work); the slow pure-Python
    side runs once for long enough to average such bursts out."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2], out


REPEAT = 3
L_PAIRS = 1000  # ROUGE-L alone: the first 1,000 pairs (rouge_score needs ~35 ms a pair)
KERNEL_PAIRS = 200  # rouge_score's pure-Python LCS alone: a subset keeps the benchmark short


def rouge_rows(n: int, length: int) -> list[dict]:
    from rouge_score import rouge_scorer

    from harness.score._lexical import Rouge, rouge_l
    from harness.score._text import Tokenizer

    refs, hyps = zh_pairs(n, length, seed=20251123)
    items = [Item(r) for r in refs]
    rouge, tok = Rouge("zh"), Tokenizer("zh")
    rouge.tokens(refs[0]), tok.tokenize(refs[0])  # OpenCC converter loaded outside the timings
    rows, b = [], "scoring_rouge_zh"
    size = f"{n} pairs x {length} chars"

    t_tok, toks = timed(lambda: [(tok.tokenize(r), tok.tokenize(h)) for r, h in zip(refs, hyps)], REPEAT)

    # ROUGE-L alone (on the first half: rouge_score's pure-Python LCS is the slow part of the whole bench)
    half = list(zip(refs, hyps))[:L_PAIRS]
    t_l, ours_l = timed(lambda: [rouge_l(rouge.tokens(r), rouge.tokens(h)) for r, h in half], REPEAT)
    scorer_l = rouge_scorer.RougeScorer(["rougeL"], tokenizer=tok)
    t_l_ref, theirs_l = timed(lambda: [scorer_l.score(r, h)["rougeL"].fmeasure for r, h in half])
    diff_l = max(abs(a - c) for a, c in zip(ours_l, theirs_l))
    t_tok_half, _ = timed(lambda: [(tok.tokenize(r), tok.tokenize(h)) for r, h in half], REPEAT)

    # ROUGE-1/2/L together
    t_all, stats = timed(lambda: rouge.stats(hyps, items), REPEAT)
    scorer_all = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=tok)
    t_all_ref, theirs = timed(lambda: [scorer_all.score(r, h) for r, h in zip(refs, hyps)])
    diff_all = max(abs(stats[i][k] - theirs[i][name].fmeasure)
                   for i in range(n) for k, name in enumerate(("rouge1", "rouge2", "rougeL")))

    # the LCS kernel alone, on the same pre-tokenised input
    sub = toks[:KERNEL_PAIRS]
    t_k, _ = timed(lambda: [rouge_l(r, h) for r, h in sub], REPEAT)
    t_k_ref, _ = timed(lambda: [rouge_scorer._score_lcs(r, h).fmeasure for r, h in sub])

    l_size = f"first {len(half)} of the {n} pairs x {length} chars"
    for variant, ours, theirs_t, diff, where in (
            ("rougeL", t_l, t_l_ref, diff_l, l_size), ("rouge1+2+L", t_all, t_all_ref, diff_all, size),
            ("lcs_kernel (pre-tokenised)", t_k, t_k_ref, None, f"first {len(sub)} of the pairs, tokenised")):
        rows.append(row(b, f"harness {variant}", "time", ours, "s", size=where))
        rows.append(row(b, f"rouge_score {variant}", "time", theirs_t, "s", size=where))
        rows.append(row(b, f"harness {variant}", "speedup", theirs_t / ours, "x", f"rouge_score {variant}",
                        theirs_t / ours, size=where))
        if diff is not None:
            rows.append(row(b, f"harness {variant}", "max_abs_diff", diff, "F1", f"rouge_score {variant}", size=size))
            if diff > 1e-12:
                raise AssertionError(f"ROUGE {variant} differs from rouge_score by {diff}")
    rows.append(row(b, "tokenize (both sides, shared)", "time", t_tok, "s", size=size))
    # both sides tokenise every pair the same way: rouge_score's time ÷ tokenising time bounds any speed-up
    rows.append(row(b, "harness rougeL", "tokenize_share", t_tok_half / t_l, "fraction", "harness rougeL",
                    size=l_size))
    rows.append(row(b, "harness rougeL", "speedup_ceiling", t_l_ref / t_tok_half, "x", "rouge_score rougeL",
                    size=l_size))
    return rows


def sacre_rows(n: int) -> list[dict]:
    from sacrebleu.metrics import BLEU, CHRF

    from harness.score._lexical import Bleu, Chrf

    refs, hyps = en_pairs(n, seed=20251124)
    items = [Item(r) for r in refs]
    rows, b = [], "scoring_bleu_chrf_en"
    size = f"{n} pairs"
    for name, ours_cls, theirs in (("bleu", Bleu, lambda: BLEU(tokenize="13a")), ("chrf", Chrf, CHRF)):
        ours = ours_cls("en")
        t_ours, value = timed(lambda: ours.score(ours.stats(hyps, items))[name], REPEAT)
        metric = theirs()
        t_theirs, ref_value = timed(lambda: metric.corpus_score(hyps, [refs]).score, REPEAT)
        diff = abs(value - ref_value)
        if diff > 1e-9:
            raise AssertionError(f"{name}: harness {value} vs sacrebleu {ref_value}")
        rows.append(row(b, f"harness {name} stats+score", "time", t_ours, "s", size=size))
        rows.append(row(b, f"sacrebleu {name} corpus_score", "time", t_theirs, "s", size=size))
        rows.append(row(b, f"harness {name} stats+score", "speed_ratio", t_theirs / t_ours, "x",
                        f"sacrebleu {name} corpus_score", t_theirs / t_ours, size=size))
        rows.append(row(b, f"harness {name} stats+score", "abs_diff", diff, "points",
                        f"sacrebleu {name} corpus_score", size=size))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--chars", type=int, default=300)
    ap.add_argument("--sacre-pairs", type=int, default=10000)
    args = ap.parse_args()
    offline_env()
    emit(rouge_rows(args.pairs, args.chars) + sacre_rows(args.sacre_pairs))


if __name__ == "__main__":
    main()
