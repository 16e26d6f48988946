"""Leaderboard views (all without the cleaned control, tags, macro, delta), the item set each
row was computed on, rank ranges with Holm's correction and only where tests ran, the
samples rule of the pairwise tests, and statistics computed once per model."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp

import harness.results._pairwise as comparisons

import harness.results._leaderboard as lb
import harness.inference._stats as st
from harness.pipeline._eval import score
from harness.score._lexical import Chrf
from harness.task._spec import load_tasks


class _Outcome:
    def __init__(self, text):
        self.response = {"text": text, "finish_reason": "stop", "cost_usd": None, "completion_tokens": 3,
                         "input_truncated": False}
        self.error = None


class _Failed:
    response = None
    error = "boom"


@pytest.fixture(scope="module")
def translate():
    return load_tasks(["translate_zh_en"], via_datasets=False)[0]


@pytest.fixture(scope="module")
def translate_rows(translate):
    """The shipped translation task answered by 'the reference, with every third item cut short',
    scored on every metric but TER: these tests read the views of chrF, and sacrebleu's
    pure-Python TER would add 38 s over the 300 passages (tests/score/test_ter.py checks it)."""
    import dataclasses

    outcomes = [(it, _Outcome(it.references[0] if k % 3 else it.references[0][: len(it.references[0]) // 2]))
                for k, it in enumerate(translate.items)]
    metrics = [m for m in translate.spec.metrics if m != "ter"]
    assert "chrf" in metrics and len(metrics) == len(translate.spec.metrics) - 1
    task = dataclasses.replace(translate, spec=translate.spec.model_copy(update={"metrics": metrics}))
    sc = score(task, "m", outcomes)
    return sc, lb.rows_for(sc, "run", "now")


def _row(rows, cond, metric):
    return next(r for r in rows if r["condition"] == cond and r["metric"] == metric)


def test_pooled_leaves_out_the_cleaned_control_only_beside_its_noisy_twin():
    metas = [{"condition": c} for c in ("clean", "noisy-script", "noisy-script-cleaned")]
    assert lb.pooled(metas) == [True, True, False]
    alone = [{"condition": c} for c in ("clean", "noisy-script-cleaned")]  # summaries: no twin, it counts
    assert lb.pooled(alone) == [True, True]


def test_translation_all_pools_250_items_and_keeps_the_cleaned_row(translate, translate_rows):
    sc, rows = translate_rows
    assert len(translate.items) == 300
    chrf_all = _row(rows, "all", "chrf")
    assert chrf_all["n"] == 250
    cleaned = _row(rows, "noisy-script-cleaned", "chrf")
    assert cleaned["n"] == 50
    # the value is the corpus chrF of exactly the 250 non-control items, computed independently
    keep = [k for k, it in enumerate(translate.items) if it.condition != "noisy-script-cleaned"]
    want = Chrf("en").score(sc.stats["chrf"][keep])["chrf"]
    assert chrf_all["value"] == pytest.approx(want, abs=1e-4)
    assert chrf_all["item_set"] == lb.item_set_id(translate.items[k].id for k in keep)
    assert chrf_all["item_set"].startswith("250:")
    assert cleaned["item_set"] != chrf_all["item_set"]


def test_delta_rows_exist_and_pair_noisy_with_cleaned(translate, translate_rows):
    sc, rows = translate_rows
    delta = _row(rows, "delta=noisy-script-minus-cleaned", "chrf")
    assert delta["n"] == 50
    noisy = [k for k, it in enumerate(translate.items) if it.condition == "noisy-script"]
    clean = {it.meta["pair"]: k for k, it in enumerate(translate.items) if it.condition == "noisy-script-cleaned"}
    pairs = sorted(translate.items[k].meta["pair"] for k in noisy)
    want = (Chrf("en").score(sc.stats["chrf"][[next(k for k in noisy if translate.items[k].meta["pair"] == p)
                                               for p in pairs]])["chrf"]
            - Chrf("en").score(sc.stats["chrf"][[clean[p] for p in pairs]])["chrf"])
    assert delta["value"] == pytest.approx(want, abs=1e-4)
    assert "paired-ar" in delta["signature"]  # 4 blocks: exact, never significant


def test_tag_views_count_the_right_items(translate, translate_rows):
    sc, rows = translate_rows
    trad = _row(rows, "script=traditional", "chrf")
    keep = [k for k, it in enumerate(translate.items)
            if it.meta.get("script") == "traditional" and it.condition != "noisy-script-cleaned"]
    assert trad["n"] == len(keep) > 0
    assert trad["value"] == pytest.approx(Chrf("en").score(sc.stats["chrf"][keep])["chrf"], abs=1e-4)
    assert not math.isnan(trad["ci_low"]) and trad["ci_low"] <= trad["value"] <= trad["ci_high"]


def test_macro_is_the_mean_of_condition_scores_without_the_control(translate, translate_rows):
    sc, rows = translate_rows
    macro = _row(rows, "macro", "chrf")
    conds = sorted({it.condition for it in translate.items} - {"noisy-script-cleaned"})
    per = [_row(rows, c, "chrf")["value"] for c in conds]
    assert macro["value"] == pytest.approx(np.mean(per), abs=1e-3)
    assert macro["n"] == 250 and "stratified" in macro["signature"]
    assert macro["ci_low"] < macro["value"] < macro["ci_high"]


def test_stratified_macro_ci_by_hand():
    # condition A: blocks with 1, 2, 3; condition B: blocks with 10, 20; mean score of a column.
    # macro = (2 + 15) / 2. Leave-one-block-out within A: 2.5, 2, 1.5; within B: 20, 10.
    # z = (B−1)/B · ((loo − mean) / 2)²: A → 1/24, 0, 1/24; B → 3.125, 3.125.
    mean_score = lambda t, n: t[0] / n  # noqa: E731
    parts = [(np.array([[1.0], [2.0], [3.0]]), ["a1", "a2", "a3"]), (np.array([[10.0], [20.0]]), ["b1", "b2"])]
    value, lo, hi, used = st.stratified_mean_ci(parts, mean_score)
    z = np.array([1 / 24, 0, 1 / 24, 3.125, 3.125])
    df = min(3, z.sum() ** 2 / (z ** 2).sum())
    half = sp.t.ppf(0.975, df) * math.sqrt(z.sum())
    assert value == pytest.approx(8.5) and used == [0, 1]
    assert (lo, hi) == pytest.approx((8.5 - half, 8.5 + half))


def test_macro_leaves_nan_conditions_out_of_value_and_ci():
    ratio = lambda t, n: t[0] / t[1] * 100 if t[1] else math.nan  # noqa: E731
    parts = [(np.array([[1.0, 2.0], [1.0, 4.0]]), ["a", "b"]), (np.array([[0.0, 0.0], [0.0, 0.0]]), ["c", "d"]),
             (np.array([[3.0, 4.0], [1.0, 4.0]]), ["e", "f"])]
    value, lo, hi, used = st.stratified_mean_ci(parts, ratio)
    assert used == [0, 2] and value == pytest.approx((2 / 6 * 100 + 4 / 8 * 100) / 2)
    alone, *_ = st.stratified_mean_ci([parts[0], parts[2]], ratio)
    assert alone == pytest.approx(value)
    assert not math.isnan(lo) and lo < value < hi


def test_stratified_ci_covers_with_unequal_strata():
    # strata of 4, 10 and 25 blocks with different spreads; truth = mean of the strata means
    rng = np.random.default_rng(3)
    mean_score = lambda t, n: t[0] / n  # noqa: E731
    sims, cover = 400, 0
    for _ in range(sims):
        parts = []
        for nb, mu, sd in ((4, 10.0, 3.0), (10, 20.0, 1.0), (25, 30.0, 2.0)):
            sizes = rng.integers(1, 5, nb)
            blocks = [f"{mu}:{b}" for b, s in enumerate(sizes) for _ in range(s)]
            x = np.repeat(rng.normal(mu, sd, nb), sizes) + rng.normal(0, 1, sizes.sum())
            parts.append((x[:, None], blocks))
        _, lo, hi, _ = st.stratified_mean_ci(parts, mean_score)
        cover += lo <= 20.0 <= hi
    assert cover / sims >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / sims)


def test_errored_items_count_in_the_item_set_not_in_n(translate):
    items = translate.items[:12]
    ok = score(translate, "m", [(it, _Outcome(it.references[0])) for it in items])
    some = score(translate, "m2", [(it, _Outcome(it.references[0]) if k else _Failed()) for k, it in enumerate(items)])
    a = _row(lb.rows_for(ok, "r", "t", with_ci=False), "all", "chrf")
    b = _row(lb.rows_for(some, "r", "t", with_ci=False), "all", "chrf")
    assert a["item_set"] == b["item_set"] and (a["n"], b["n"], b["n_errors"]) == (12, 11, 1)
    fewer = score(translate, "m3", [(it, _Outcome(it.references[0])) for it in items[:10]])
    assert _row(lb.rows_for(fewer, "r", "t", with_ci=False), "all", "chrf")["item_set"] != a["item_set"]


# --- rank ranges ---------------------------------------------------------------------------

def _board(values: dict, metric="chrf", cond="all"):
    return pd.DataFrame([{"task": "t", "condition": cond, "model": m, "metric": metric, "value": v, "n": 10,
                          "n_errors": 0, "item_set": "10:abc", "signature": "x"} for m, v in values.items()])


def _pw(rows, metric="chrf", cond="all", blocks=20):
    return pd.DataFrame([{"task": "t", "condition": cond, "metric": metric, "model_a": a, "model_b": b, "diff": d,
                          "p_value": p, "blocks": blocks} for a, b, d, p in rows])


def test_rank_ranges_use_holm_over_each_models_comparisons():
    # a vs b p = 0.03, a vs c p = 0.01, b vs c p = 0.04; a > b > c.
    # a: Holm over (0.01, 0.03) → 0.02, 0.03: beats both → "1".
    # b: Holm over (0.03, 0.04) → 0.06, 0.06: nothing significant → "1–3".
    # c: Holm over (0.01, 0.04) → 0.02, 0.04: both significantly better → "3".
    board = _board({"a": 30.0, "b": 20.0, "c": 10.0})
    pw = _pw([("a", "b", 10.0, 0.03), ("a", "c", 20.0, 0.01), ("b", "c", 10.0, 0.04)])
    wide = comparisons.rank_table(board, pw).set_index("model")
    assert wide.loc["a", "rank_chrf"] == "1" and wide.loc["b", "rank_chrf"] == "1–3"
    assert wide.loc["c", "rank_chrf"] == "3"
    # uncorrected, b would have been "2": 0.03 and 0.04 are each below 0.05
    assert st.rank_ranges(["a", "b", "c"], [30, 20, 10], lambda x, y: True) == {"a": "1", "b": "2", "c": "3"}


def test_lower_is_better_ranking():
    # script_trad_share: lower is better; a (0.1) beats b (0.5) significantly
    board = _board({"a": 0.1, "b": 0.5}, metric="script_trad_share")
    pw = _pw([("a", "b", -0.4, 0.001)], metric="script_trad_share")
    wide = comparisons.rank_table(board, pw).set_index("model")
    assert wide.loc["a", "rank_script_trad_share"] == "1" and wide.loc["b", "rank_script_trad_share"] == "2"
    # the same numbers read as higher-is-better would reverse the ranks
    wide = comparisons.rank_table(_board({"a": 0.1, "b": 0.5}), _pw([("a", "b", -0.4, 0.001)])).set_index("model")
    assert wide.loc["a", "rank_chrf"] == "2"


def test_untested_rows_get_no_rank():
    board = pd.concat([_board({"a": 30.0, "b": 20.0}, cond=c) for c in ("all", "macro", "origin=zh-original",
                                                                       "delta=noisy-script-minus-cleaned")])
    pw = _pw([("a", "b", 10.0, 0.001)])  # tests exist for `all` only
    wide = comparisons.rank_table(board, pw)
    ranked = wide[wide["rank_chrf"].notna()]
    assert set(ranked.condition) == {"all"}
    assert len(wide[wide.condition == "macro"]) == 2


def test_too_few_blocks_never_rank_apart():
    board = _board({"a": 30.0, "b": 20.0})
    wide = comparisons.rank_table(board, _pw([("a", "b", 10.0, 0.001)], blocks=4)).set_index("model")
    assert wide.loc["a", "rank_chrf"] == "1–2" and wide.loc["b", "rank_chrf"] == "1–2"


# --- samples and statistics computed once ------------------------------------------------------

def _outputs(task, model, items, errors=()):
    return pd.DataFrame([{"model": model, "task": task.id, "item_id": it.id, "output": it.references[0],
                          "error": "boom" if it.id in errors else ""} for it in items])


def test_models_on_different_samples_are_never_compared(translate):
    items = translate.items[:60]
    outputs = {"full": _outputs(translate, "full", items), "also": _outputs(translate, "also", items),
               "limited": _outputs(translate, "limited", items[:20])}
    rows = comparisons.pairwise_rows(translate, outputs, "now")
    pairs = {(r["model_a"], r["model_b"]) for r in rows}
    assert pairs == {("also", "full")}
    # errors do not change the sample: a model with a failed item is still compared
    outputs["also"] = _outputs(translate, "also", items, errors={items[0].id})
    rows = comparisons.pairwise_rows(translate, outputs, "now")
    assert {(r["model_a"], r["model_b"]) for r in rows} == {("also", "full")}
    assert {r["n"] for r in rows if r["condition"] == "all"} == {59}


def test_table_says_when_models_ran_on_different_samples():
    from harness.cli._tables import sample_note

    rows = [{"model": "a", "item_set": "250:aaaa", "n": 250}, {"model": "b", "item_set": "250:aaaa", "n": 249},
            {"model": "c", "item_set": "20:cccc", "n": 20}]
    note = sample_note(rows, ["a", "b", "c"])
    assert "different samples" in note and "a, b (items 250:aaaa" in note and "c (items 20:cccc, n=20)" in note
    assert sample_note(rows[:2], ["a", "b"]) == ""


def test_each_models_statistics_are_computed_once(translate, monkeypatch):
    from harness.score import registry

    calls = []
    real = registry.make

    def counting(metric, task):
        scorer = real(metric, task)
        inner = scorer.stats

        def stats(hyps, items):
            calls.append(metric)
            return inner(hyps, items)
        scorer.stats = stats
        return scorer

    monkeypatch.setattr(registry, "make", counting)
    items = translate.items[:30]
    outputs = {f"m{k}": _outputs(translate, f"m{k}", items) for k in range(5)}
    comparisons.pairwise_rows(translate, outputs, "now")
    families = len(translate.spec.metrics)
    assert len(calls) == 5 * families  # not 10 pairs × 2 × families


def test_length_ratio_is_never_ranked():
    # best at 1.0, neither higher nor lower: a significant difference says nothing about order
    board = _board({"a": 1.4, "b": 0.9}, metric="length_ratio")
    wide = comparisons.rank_table(board, _pw([("a", "b", 0.5, 0.001)], metric="length_ratio"))
    assert "rank_length_ratio" not in wide.columns


def test_refresh_reuses_cached_statistics_and_unchanged_pairs(translate, tmp_path, monkeypatch):
    from harness.score import registry

    results = tmp_path / "results"
    items = translate.items[:30]

    def write_run(name, model, cut):
        run = results / "runs" / name
        run.mkdir(parents=True)
        df = _outputs(translate, model, items)
        df["output"] = [o[: max(1, len(o) - cut)] for o in df.output]
        df.to_csv(run / "items.csv", index=False)

    for k, model in enumerate(("a", "b", "c")):
        write_run(f"2026010{k}T000000000Z-x", model, 3 * k)
    first, _ = comparisons.refresh(results, [translate])
    assert {(r.model_a, r.model_b) for r in first.itertuples()} == {("a", "b"), ("a", "c"), ("b", "c")}
    assert len(list((results / "cache" / "item-stats").glob("*.npz"))) == 3  # one per model

    stats_calls, tests = [], []
    real_make, real_test = registry.make, st.paired_test

    def counting(metric, task):
        scorer = real_make(metric, task)
        inner = scorer.stats
        scorer.stats = lambda hyps, its: stats_calls.append(metric) or inner(hyps, its)
        return scorer
    monkeypatch.setattr(registry, "make", counting)
    monkeypatch.setattr(st, "paired_test", lambda *a, **k: tests.append(1) or real_test(*a, **k))
    again, _ = comparisons.refresh(results, [translate])
    assert stats_calls == [] and tests == []  # nothing changed: cached statistics, rows reused
    cols = ["condition", "metric", "model_a", "model_b", "diff", "p_value", "diff_ci_low"]
    key = ["condition", "metric", "model_a", "model_b"]
    assert again[cols].sort_values(key).reset_index(drop=True).equals(first[cols].sort_values(key).reset_index(drop=True))

    write_run("20260109T000000000Z-x", "c", 10)  # c answers differently: only its pairs are re-tested
    third, _ = comparisons.refresh(results, [translate])
    assert len(stats_calls) == len(translate.spec.metrics)  # c scored once, a and b from the cache
    with_c = third[third.model_b == "c"]
    assert len(tests) == len(with_c) > 0  # one test per row of the pairs with c, none for (a, b)
    assert set(zip(with_c.model_a, with_c.model_b)) == {("a", "c"), ("b", "c")}


def test_terminal_table_prints_the_sample_note(capsys):
    from harness.cli._tables import print_board

    rows = [{"task": "t", "condition": "all", "metric": "chrf", "model": m, "value": v, "ci_low": math.nan,
             "ci_high": math.nan, "n": n, "n_errors": 0, "item_set": s}
            for m, v, n, s in (("full", 50.0, 250, "250:aaaa"), ("limited", 60.0, 20, "20:bbbb"))]
    print_board(rows)
    out = " ".join(capsys.readouterr().out.split())
    assert "note: models were run on different samples and are not compared" in out
    assert "full (items 250:aaaa, n=250); limited (items 20:bbbb, n=20)" in out


def _write_run(results, name, frame):
    run = results / "runs" / name
    run.mkdir(parents=True)
    frame.assign(run_id=name).to_csv(run / "items.csv", index=False)


def test_refresh_reads_only_the_runs_that_changed(translate, tmp_path, monkeypatch):
    """After one refresh, a new run of one model makes the next refresh read that run's
    items.csv only: the other models come from the run index and the statistics cache."""
    import harness.results._runs as runs

    results = tmp_path / "results"
    items = translate.items[:30]
    for k, model in enumerate(("a", "b", "c")):
        _write_run(results, f"2026010{k}T000000000Z-x", _outputs(translate, model, items))
    comparisons.refresh(results, [translate])
    read = []
    real = runs.read_items
    monkeypatch.setattr(runs, "read_items", lambda p: read.append(p.parent.name) or real(p))
    monkeypatch.setattr(comparisons, "read_items", runs.read_items)
    _write_run(results, "20260109T000000000Z-x", _outputs(translate, "c", items, errors={items[0].id}))
    pw, _ = comparisons.refresh(results, [translate])
    assert read == ["20260109T000000000Z-x"]
    c_rows = pw[(pw.model_b == "c") & (pw.metric == "chrf") & (pw.condition == "all")]
    assert set(c_rows.n) == {29} and set(c_rows.run_id_b) == {"20260109T000000000Z-x"}
    read.clear()
    comparisons.refresh(results, [translate])  # nothing changed: no items.csv read at all
    assert read == []


def test_the_run_index_follows_runs_removed_added_out_of_order_or_damaged(translate, tmp_path):
    import harness.results._runs as runs

    results = tmp_path / "results"
    items = translate.items[:10]
    _write_run(results, "20260101T000000000Z-x", _outputs(translate, "a", items))
    _write_run(results, "20260105T000000000Z-x", _outputs(translate, "a", items, errors={items[0].id}))
    assert runs.latest_runs(results)[("a", translate.id)].run_id == "20260105T000000000Z-x"
    # a run copied in from elsewhere, older than the latest: a's latest stays the newer one
    _write_run(results, "20260103T000000000Z-x", _outputs(translate, "a", items[:3]))
    assert runs.latest_runs(results)[("a", translate.id)].run_id == "20260105T000000000Z-x"
    import shutil

    # the latest removed: the largest of the others with the same prompt (the 3-item check
    # run after the full one does not hide it)
    shutil.rmtree(results / "runs" / "20260105T000000000Z-x")
    latest = runs.latest_runs(results)[("a", translate.id)]
    assert latest.run_id == "20260101T000000000Z-x" and len(latest.asked) == 10
    index = results / "cache" / "run-index.json"
    index.write_text("{not json")  # damaged: rebuilt from runs/, never trusted
    assert runs.latest_runs(results)[("a", translate.id)] == latest
    assert set(runs.latest_outputs(results)) == {("a", translate.id)}
    assert len(runs.latest_outputs(results)[("a", translate.id)]) == 10


def test_back_to_an_older_prompt_with_a_limit_check_finds_that_prompts_full_run(translate, tmp_path):
    """The index keeps, per prompt, its run on the most items: a full run of prompt P, a check
    of prompt Q, then a check of P again -> P's full run is current, as in the leaderboard."""
    import harness.results._runs as runs

    results = tmp_path / "results"
    items = translate.items[:10]
    _write_run(results, "20260101T000000000Z-x", _outputs(translate, "a", items).assign(prompt_hash="p"))
    _write_run(results, "20260102T000000000Z-x", _outputs(translate, "a", items[:3]).assign(prompt_hash="q"))
    assert runs.latest_runs(results)[("a", translate.id)].run_id == "20260102T000000000Z-x"  # a new prompt shows
    _write_run(results, "20260103T000000000Z-x", _outputs(translate, "a", items[:3]).assign(prompt_hash="p"))
    current = runs.latest_runs(results)[("a", translate.id)]
    assert current.run_id == "20260101T000000000Z-x" and len(current.asked) == 10
    (results / "cache" / "run-index.json").unlink()  # rebuilt from runs/: the same answer
    assert runs.latest_runs(results)[("a", translate.id)] == current
