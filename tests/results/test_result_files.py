"""Result files an analyst can use without reading the code (issue 21): every row the README
promises exists, nothing is silently replaced, items side by side, typed loaders."""

import re

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT, docs_text
from harness.cli import main
from helpers import make_task

BASELINES = ("baseline/lead", "baseline/copy")


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Both baselines on every item of every shipped task, with CIs (about 30 s)."""
    out = tmp_path_factory.mktemp("full") / "results"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_RESULTS", str(out))
        mp.delenv("HARNESS_STORE", raising=False)
        args = ["eval", "--full"] + [a for m in BASELINES for a in ("--model", m)]
        res = invoke(*args)
        assert res.exit_code == 0, res.output
    return out, res.output


def readme_condition_forms() -> list[str]:
    """The `condition` forms the README's leaderboard column table names, in backticks."""
    text = docs_text()
    row = next(line for line in text.splitlines() if line.startswith("| `condition` |"))
    return re.findall(r"`([^`]+)`", row.split("|")[2])


def test_every_condition_form_the_readme_names_is_in_a_full_run(full_run):
    results, _ = full_run
    board = pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""])
    forms = readme_condition_forms()
    assert {"all", "macro", "origin=zh-original", "delta=noisy-script-minus-cleaned"} <= set(forms)
    present = set(board.condition)
    missing = [f for f in forms if f not in present]
    assert not missing, f"README names conditions no full run writes: {missing}"


def test_delta_rows_are_paired_noisy_minus_cleaned_with_a_ci(full_run):
    results, _ = full_run
    board = pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""])
    tr = board[(board.task == "translate_zh_en")]
    for model in BASELINES:
        mine = tr[tr.model == model]
        delta = mine[mine.condition == "delta=noisy-script-minus-cleaned"].set_index("metric")
        assert {"chrf", "bleu", "rouge1"} <= set(delta.index)
        assert (delta.n == 50).all()  # the 50 passages of doc 003, each noisy and cleaned
        assert delta.ci_low.notna().all() and delta.ci_high.notna().all()
        assert (delta.ci_low <= delta.value).all() and (delta.value <= delta.ci_high).all()
        assert delta.signature.str.contains("paired:noisy-minus-cleaned").all()
        # the point estimate is the difference of the two condition rows (same items, same scorer)
        noisy = mine[mine.condition == "noisy-script"].set_index("metric").value
        clean = mine[mine.condition == "noisy-script-cleaned"].set_index("metric").value
        for m in ("chrf", "bleu", "rouge1"):
            assert delta.value[m] == pytest.approx(noisy[m] - clean[m], abs=2e-4)


# --- nothing silently replaced ----------------------------------------------------------------

def _items(n=8, blocks=4):
    items = [{"id": f"i{k}", "source": f"第{k}句话。今天天气很好,气温{k}度。",
              "meta": {"condition": "c" + str(k % 2), "block": f"{k % blocks:03d}"}} for k in range(n)]
    refs = [{"id": f"i{k}", "references": [f"Sentence {k}. The weather is nice today, {k} degrees."]}
            for k in range(n)]
    return items, refs


def _board(results):
    return pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""], dtype=str)


def test_a_changed_prompt_or_a_sample_adds_a_version_and_keeps_the_old_rows(openai_env, results, tmp_path):
    import harness.results._leaderboard as lb

    items, refs = _items()
    task = make_task(tmp_path / "t", items, refs, prompt="Translate: {{ source }}")
    assert invoke("eval", "--model", "openai/a", "--task", str(task)).exit_code == 0
    first = _board(results)
    (tmp_path / "t" / "prompt.j2").write_text("Please translate into English: {{ source }}", encoding="utf-8")
    out = invoke("eval", "--model", "openai/a", "--task", str(task))
    assert out.exit_code == 0, out.output
    second = _board(results)
    hashes = list(dict.fromkeys(second.prompt_hash))
    assert len(hashes) == 2
    # the first prompt's rows are still there, value for value
    kept = second[second.prompt_hash == first.prompt_hash.iloc[0]]
    cols = ["condition", "metric", "value", "ci_low", "ci_high", "n", "item_set", "run_id"]
    pd.testing.assert_frame_equal(kept[cols].sort_values(cols[:2]).reset_index(drop=True),
                                  first[cols].sort_values(cols[:2]).reset_index(drop=True))
    assert second.groupby(lb.KEY).size().max() == 1
    # a --limit sample is one more version, not a replacement of the full one
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--limit", "4").exit_code == 0
    third = _board(results)
    alls = third[(third.condition == "all") & (third.metric == "chrf")]
    assert sorted(alls.n.astype(int)) == [4, 8, 8] and alls["sample"].nunique() == 2
    # the default views show the latest prompt on its largest sample (a --limit check after a
    # full run never hides the full result), and say which
    now = lb.current(lb.read(results / "leaderboard.csv"))
    full = alls[(alls.n == "8") & (alls.prompt_hash == hashes[1])]["sample"].iloc[0]
    assert set(now["sample"]) == {full} and set(now.prompt_hash) == {hashes[1]}
    wide = pd.read_csv(results / "leaderboard_wide.csv", keep_default_na=False, dtype=str)
    assert set(wide.prompt_hash) == {hashes[1]} and set(wide.n[wide.condition == "all"]) == {"8"}
    shown = invoke("leaderboard")
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    assert f"prompt {hashes[1]}" in text and "2 older version(s)" in text and "--history openai/a" in text
    # --history lists every version with its scores
    hist = invoke("leaderboard", "--history", "openai/a")
    assert hist.exit_code == 0, hist.output
    for ph, chrf in zip(alls.prompt_hash, alls.value):
        assert ph in hist.output and f"{float(chrf):.2f}" in hist.output
    versions = lb.versions(lb.read(results / "leaderboard.csv"), "openai/a")
    assert len(versions) == 3 and versions.latest.sum() == 1 and versions[versions.latest].n.iloc[0] == 8
    # the report shows the same latest version and says which, pointing at the older ones
    import html as html_lib

    out_html = results / "report.html"
    assert invoke("report", "--out", str(out_html)).exit_code == 0
    page = html_lib.unescape(out_html.read_text(encoding="utf-8"))
    note = page.split('class="note version-note">', 1)[1].split("</p>", 1)[0]
    assert f"prompt {hashes[1]}" in note and "2 older version(s)" in note and "--history openai/a" in note
    # the first prompt's scores are not drawn beside the latest; only the diff names it as "before"
    board_part, diff_part = page.split("What the last prompt edit did", 1)
    assert hashes[0] not in board_part and f"prompt {hashes[0]} → {hashes[1]}" in diff_part
    assert "8 items" in diff_part  # the second prompt's full run, not its --limit 4 check


def test_history_of_an_unknown_model_is_one_line_exit_2(openai_env, results, tmp_path):
    items, refs = _items(4)
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("leaderboard", "--history", "openai/a").exit_code == 2  # no leaderboard yet
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--no-ci").exit_code == 0
    res = CliRunner().invoke(main, ["leaderboard", "--history", "openai/zzz"])
    assert res.exit_code == 2 and "no rows for model 'openai/zzz'" in res.output and "openai/a" in res.output


def test_pairwise_rows_carry_both_sides_and_their_blocks(openai_env, results, tmp_path):
    items, refs = _items(12, blocks=6)
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "openai/a", "--model", "baseline/copy", "--task", str(task)).exit_code == 0
    pw = pd.read_csv(results / "pairwise.csv", keep_default_na=False, dtype=str)
    board = _board(results)
    run = pd.read_csv(next((results / "runs").glob("*/items.csv")), keep_default_na=False, dtype=str)
    assert len(pw) and set(pw.condition) == {"all", "c0", "c1"}
    for r in pw.to_dict("records"):
        for side in ("a", "b"):
            model = r[f"model_{side}"]
            mine = board[(board.model == model) & (board.condition == r["condition"]) & (board.metric == r["metric"])]
            assert r[f"item_set_{side}"] == mine.item_set.iloc[0]
            assert r[f"prompt_hash_{side}"] == mine.prompt_hash.iloc[0] == run[run.model == model].prompt_hash.iloc[0]
            assert r[f"run_id_{side}"] == mine.run_id.iloc[0]
        cond = run[(run.model == r["model_a"]) & ((run.condition == r["condition"]) | (r["condition"] == "all"))]
        assert int(r["blocks"]) == cond.block.nunique()


# --- items side by side -------------------------------------------------------------------------

def _jsonl(path):
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_items_carry_source_references_tags_and_a_score_per_metric(full_run):
    import sacrebleu
    import unicodedata

    from harness import results as hr

    results, _ = full_run
    items = hr.items(results)
    tr = items[items.task == "translate_zh_en"]
    assert len(tr) == 2 * 300
    raw = {r["id"]: r for r in _jsonl(ROOT / "tasks" / "items" / "translate.jsonl")}
    refs = {r["id"]: r for r in _jsonl(ROOT / "references" / "translate.jsonl")} \
        if (ROOT / "references" / "translate.jsonl").exists() else None
    for r in tr.to_dict("records"):
        want = raw[r["item_id"]]
        assert r["source"] == want["source"]
        assert r["ref_key"] == want.get("ref_key", want["id"])
        for tag in ("condition", "block", "pair", "origin", "script", "genre"):
            assert r[tag] == str(want["meta"].get(tag, "")), tag
        if refs is not None:
            assert r["references"] == refs[r["ref_key"]]["references"]
        assert r["reference"] == r["references"][0] and len(r["prompt_hash"]) == 12
    # every metric of the leaderboard has its per-item score, and a score is the item scored alone
    board = hr.leaderboard(results)
    metrics = set(board[(board.task == "translate_zh_en") & (board.signature != "accounting|harness")].metric)
    assert {f"score_{m}" for m in metrics} <= set(tr.columns)
    nfkc = lambda s: unicodedata.normalize("NFKC", s)  # noqa: E731
    lead = tr[(tr.model == "baseline/lead") & (tr.references.map(len) == 1)].head(5)
    for r in lead.to_dict("records"):
        ours = sacrebleu.corpus_chrf([nfkc(r["output"])], [[nfkc(r["reference"])]]).score
        assert r["score_chrf"] == pytest.approx(ours, abs=1e-3)
    # the accounting `all` row counts every item asked (what the run cost), the cleaned control too
    acc = board[(board.task == "translate_zh_en") & (board.condition == "all") & (board.metric == "cost_usd_total")]
    assert set(acc.n) == {300} and set(acc.value) == {0.0} and set(acc.cost_basis) == {"free"}
    # the pair tag joins each noisy passage to its cleaned twin, scored on the same reference
    noisy = tr[(tr.model == "baseline/lead") & (tr.condition == "noisy-script")].set_index("pair")
    clean = tr[(tr.model == "baseline/lead") & (tr.condition == "noisy-script-cleaned")].set_index("pair")
    assert len(noisy) == len(clean) == 50 and set(noisy.index) == set(clean.index)
    assert (noisy.ref_key == clean.ref_key[noisy.index]).all()


def test_item_dtypes_do_not_depend_on_the_rows(openai_env, results):
    """Only long documents (blocks 000…004) in a run: read_csv guesses int, the loader keeps str."""
    from harness import results as hr

    assert invoke("eval", "--model", "baseline/copy", "--task", "longdoc_zh_en", "--full", "--no-ci").exit_code == 0
    path = next((results / "runs").glob("*/items.csv"))
    assert pd.read_csv(path).block.dtype.kind == "i"  # what a plain read_csv makes of "000"
    items = hr.items(results)
    assert items.block.dtype == object and set(items.block) == {"000", "001", "002", "003", "004"}
    assert items.error.dtype == object and (items.error == "").all()
    assert str(items.prompt_tokens.dtype) == "Int64" and items.cost_usd.dtype == "float64"
    assert str(items.cached.dtype) == "boolean" and items.score_chrf.dtype == "float64"
    board = hr.leaderboard(results)
    assert str(board.n.dtype) == "Int64" and board.value.dtype == "float64" and board.prompt_hash.dtype == object
    assert str(board.created_at.dtype).startswith("datetime64") and board.created_at.dt.tz is not None


# --- the wide file ------------------------------------------------------------------------------

def _bounds(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("–")
    return int(lo), int(hi or lo)


def test_wide_file_has_ci_n_and_integer_rank_bounds_matching_the_leaderboard(full_run):
    from harness import results as hr

    results, _ = full_run
    wide = hr.wide(results).set_index(["task", "condition", "model"])
    board = hr.leaderboard(results)
    checked = 0
    for r in board[board.metric.isin(["chrf", "bleu", "rougeL"])].to_dict("records"):
        w = wide.loc[(r["task"], r["condition"], r["model"])]
        m = r["metric"]
        for col, mine in ((m, "value"), (f"{m}_ci_low", "ci_low"), (f"{m}_ci_high", "ci_high")):
            assert (pd.isna(w[col]) and pd.isna(r[mine])) or w[col] == pytest.approx(r[mine]), (col, r)
        assert w[f"{m}_n"] == r["n"] and w.prompt_hash == r["prompt_hash"] and w.run_id == r["run_id"]
        checked += 1
    assert checked > 100
    ranked = wide[wide.rank_chrf != ""]
    assert len(ranked) and str(ranked.rank_chrf_best.dtype) == "Int64"
    for text, lo, hi in zip(ranked.rank_chrf, ranked.rank_chrf_best, ranked.rank_chrf_worst):
        assert _bounds(text) == (lo, hi) and 1 <= lo <= hi
    unranked = wide[wide.rank_chrf == ""]
    assert unranked.rank_chrf_best.isna().all()
    assert set(unranked.index.get_level_values("condition")) >= {"macro", "delta=noisy-script-minus-cleaned"}
    raw = pd.read_csv(results / "leaderboard_wide.csv")
    assert raw.rank_chrf_best.dropna().map(float.is_integer).all()  # whole numbers in a spreadsheet too


# --- cost and tokens that add up -----------------------------------------------------------------

def test_cost_is_zero_for_free_systems_and_empty_only_when_unknown(openai_env, results, tmp_path):
    from harness import results as hr

    items, refs = _items(6)
    task = make_task(tmp_path / "t", items, refs)
    for model in ("baseline/copy", "openai/no-such-price-model", "openai/gpt-4o-mini"):
        out = invoke("eval", "--model", model, "--task", str(task), "--no-ci")
        assert out.exit_code == 0, out.output
    board = hr.leaderboard(results)
    per_item = hr.items(results)
    cost = board[board.metric == "cost_usd_total"].set_index(["model", "condition"])
    assert cost.loc[("baseline/copy", "all"), "value"] == 0.0 and cost.loc[("baseline/copy", "all"), "cost_basis"] == "free"
    assert (per_item[per_item.model == "baseline/copy"].cost_usd == 0.0).all()
    unknown = cost.loc[("openai/no-such-price-model", "all")]
    assert pd.isna(unknown.value) and unknown.cost_basis == "unknown"
    priced = cost.loc[("openai/gpt-4o-mini", "all")]
    mine = per_item[per_item.model == "openai/gpt-4o-mini"]
    assert priced.cost_basis == "priced" and priced.value > 0
    assert priced.value == pytest.approx(mine.cost_usd.sum(), rel=1e-3)  # the total is the items' sum
    # tokens, mean and total, per model, task and condition, from the items
    for model in ("openai/gpt-4o-mini", "openai/no-such-price-model"):
        rows = board[board.model == model].set_index(["condition", "metric"]).value
        its = per_item[per_item.model == model]
        for cond, sel in [("all", its), *((c, its[its.condition == c]) for c in ("c0", "c1"))]:
            for kind in ("prompt", "completion"):
                assert rows[(cond, f"{kind}_tokens_total")] == sel[f"{kind}_tokens"].sum() > 0
                assert rows[(cond, f"{kind}_tokens_mean")] == pytest.approx(sel[f"{kind}_tokens"].mean())


# --- the README's analysis examples -------------------------------------------------------------

def readme_blocks() -> list[tuple[str, str]]:
    text = docs_text()
    return re.findall(r"^```([^\n]*)\n(.*?)^```", text, re.S | re.M)


def test_every_readme_code_block_says_its_language():
    blocks = readme_blocks()
    assert blocks and all(lang.strip() for lang, _ in blocks), [b[:60] for lang, b in blocks if not lang.strip()]
    assert sum(lang.strip() == "python" for lang, _ in blocks) >= 5


def test_every_python_example_in_the_readme_runs_on_a_fresh_run(full_run, monkeypatch, capsys, tmp_path):
    results, _ = full_run
    monkeypatch.setenv("HARNESS_RESULTS", str(results))
    monkeypatch.chdir(tmp_path)  # the README's notebook example writes its own results folder here
    scope: dict = {}
    for k, (lang, code) in enumerate(b for b in readme_blocks() if b[0].strip() == "python"):
        exec(compile(code, f"README.md python block {k + 1}", "exec"), scope)  # noqa: S102
        printed = capsys.readouterr().out
        assert printed.strip() and "Empty DataFrame" not in printed, (k + 1, printed)
    assert "baseline/lead" in scope["worst"].model.tolist() + scope["chrf"].model.tolist()
    # the notebook example: its own results folder, a summary read without opening a file
    assert (tmp_path / "my-results" / "leaderboard.csv").exists() and scope["run"].n_errors == 0
    assert set(scope["run"].table().columns) == {"baseline/lead", "baseline/copy"}


def test_printed_paths_follow_harness_results(full_run):
    results, output = full_run
    assert f"{results}/runs/" in output and f"leaderboard {results}/leaderboard.csv" in output


def test_history_of_a_full_run_gives_the_pooled_n_and_scores(full_run):
    from harness import results as hr

    results, _ = full_run
    hist = hr.history("baseline/lead", results).set_index("task")
    board = hr.leaderboard(results)
    chrf = board[(board.model == "baseline/lead") & (board.condition == "all") & (board.metric == "chrf")]
    assert hist.loc["translate_zh_en", "n"] == 250  # the scores' pooled view, not the 300 items accounted
    assert hist.latest.all() and str(hist.n.dtype) == "Int64"
    for r in chrf.itertuples():
        assert hist.loc[r.task, "chrf"] == pytest.approx(r.value)


def test_loaders_name_the_missing_file(tmp_path, monkeypatch):
    from harness import results as hr

    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "nothing"))
    for load in (hr.leaderboard, hr.wide, hr.pairwise, hr.judge_pairwise, hr.items):
        with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing")):
            load()


def test_items_of_one_run_and_of_every_run(openai_env, results, tmp_path):
    from harness import results as hr

    items, refs = _items(4)
    task = make_task(tmp_path / "t", items, refs)
    for _ in range(2):
        assert invoke("eval", "--model", "openai/a", "--task", str(task), "--no-ci").exit_code == 0
    runs = sorted(p.name for p in (results / "runs").iterdir())
    assert len(hr.items(results)) == 4 and set(hr.items(results).run_id) == {runs[-1]}
    assert len(hr.items(results, latest=False)) == 8
    assert set(hr.items(results, run=runs[0]).run_id) == {runs[0]}
    with pytest.raises(FileNotFoundError, match="no such run"):
        hr.items(results, run="no-such-run")


def test_an_item_without_a_condition_is_its_own_view_and_never_replaces_the_pooled_all(results, tmp_path):
    from helpers import simple_items

    items, refs = simple_items(6)
    del items[0]["meta"]["condition"]
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "baseline/copy", "--task", str(task), "--no-ci").exit_code == 0
    board = _board(results)
    chrf = board[board.metric == "chrf"].set_index("condition")
    assert chrf.loc["all", "n"] == "6"  # every item pooled, not the one without a condition
    assert chrf.loc["unlabelled", "n"] == "1" and chrf.loc["c0", "n"] == "2" and chrf.loc["c1", "n"] == "3"


@pytest.mark.parametrize("name", ["all", "macro", "delta", "origin=x"])
def test_a_condition_named_like_a_pooled_view_is_one_line_exit_2(results, tmp_path, name):
    from helpers import simple_items

    items, refs = simple_items(4)
    items[2]["meta"]["condition"] = name
    task = make_task(tmp_path / "t", items, refs)
    res = CliRunner().invoke(main, ["eval", "--model", "baseline/copy", "--task", str(task)])
    assert res.exit_code == 2, res.output
    line = res.output.strip().splitlines()[-1]
    assert f"items.jsonl:3: item i2: condition {name!r} is a name the leaderboard uses" in line
    assert "rename the condition" in line and not (results / "leaderboard.csv").exists()


def test_a_rerun_of_the_same_version_drops_the_views_it_no_longer_has(results, tmp_path):
    from helpers import simple_items

    items, refs = simple_items(6)
    items[1]["meta"]["condition"] = "c1-typo"
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "baseline/copy", "--task", str(task), "--no-ci").exit_code == 0
    assert "c1-typo" in set(_board(results).condition)
    items[1]["meta"]["condition"] = "c1"  # the typo fixed: same prompt, same items
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "baseline/copy", "--task", str(task), "--no-ci").exit_code == 0
    board = _board(results)
    assert "c1-typo" not in set(board.condition)
    assert board.groupby(["condition", "metric"]).size().max() == 1  # one row per view and metric
    assert board[(board.metric == "chrf") & (board.condition == "c1")].n.tolist() == ["3"]


@pytest.mark.parametrize("option,value", [("--condition", "nosuch"), ("--metric", "nosuch")])
def test_an_unknown_leaderboard_filter_is_one_line_exit_2_naming_what_there_is(results, tmp_path, option, value):
    from helpers import simple_items

    items, refs = simple_items(4)
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "baseline/copy", "--task", str(task), "--no-ci").exit_code == 0
    res = CliRunner().invoke(main, ["leaderboard", option, value])
    assert res.exit_code == 2
    line = res.output.strip()
    assert "\n" not in line and f"{option} 'nosuch': no such" in line
    assert ("c0, c1" in line) if option == "--condition" else ("chrf" in line)
    assert CliRunner().invoke(main, ["leaderboard", option, "c0" if option == "--condition" else "chrf"]).exit_code == 0


def test_a_run_reads_no_items_csv_back_and_the_files_follow_the_schema(openai_env, results, tmp_path, monkeypatch):
    """The second model's run compares it with the first from the run index and the
    statistics cache: no items.csv is read, its own rows come from memory. Every file
    written has the columns and schema version of harness.core.schema, in that order."""
    import harness.results._runs as runs
    from harness.core import schema

    items, refs = _items(6)
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--no-ci").exit_code == 0
    read = []
    real = runs.read_items
    monkeypatch.setattr(runs, "read_items", lambda p: read.append(p) or real(p))
    import harness.results._pairwise as comparisons

    monkeypatch.setattr(comparisons, "read_items", runs.read_items)
    assert invoke("eval", "--model", "openai/b", "--task", str(task), "--no-ci").exit_code == 0
    assert read == []
    pw = pd.read_csv(results / "pairwise.csv", dtype=str, keep_default_na=False)
    assert set(zip(pw.model_a, pw.model_b)) == {("openai/a", "openai/b")}
    for file in (schema.LEADERBOARD, schema.PAIRWISE):
        df = pd.read_csv(results / file.path, dtype=str, keep_default_na=False)
        assert list(df.columns) == list(file.columns) and set(df.schema_version) == {str(file.version)}
    for path in (results / "runs").glob("*/items.csv"):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert list(df.columns[:len(schema.ITEMS.columns)]) == list(schema.ITEMS.columns)
        assert set(df.schema_version) == {str(schema.ITEMS.version)}
        assert all(c.startswith(("score_", "judge:")) for c in df.columns[len(schema.ITEMS.columns):])
    wide = pd.read_csv(results / schema.WIDE.path, dtype=str, keep_default_na=False)
    assert set(schema.WIDE.columns) - {"n", "n_errors"} <= set(wide.columns)
    baseline = pd.read_csv(ROOT / "results" / schema.BASELINE.path, dtype=str, keep_default_na=False)
    assert list(baseline.columns) == list(schema.BASELINE.columns)
    assert set(baseline.schema_version) == {str(schema.BASELINE.version)}


def test_a_limit_run_after_a_full_run_hides_neither_the_full_result_nor_its_comparisons(openai_env, results,
                                                                                       tmp_path):
    from harness import results as hr

    items, refs = _items()
    task = make_task(tmp_path / "t", items, refs)
    assert invoke("eval", "--model", "openai/a", "--model", "openai/b", "--task", str(task)).exit_code == 0
    before = hr.pairwise(results)
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--limit", "3").exit_code == 0
    after = hr.pairwise(results)
    assert len(after) == len(before) > 0 and set(after.n) == set(before.n)  # still compared on every item
    board = hr.leaderboard(results)
    alls = board[(board.condition == "all") & (board.metric == "chrf")]
    assert sorted(alls.n) == [len(items), len(items)]  # both on the full sample
    assert len(hr.leaderboard(results, all_versions=True).query("condition == 'all' and metric == 'chrf'")) == 3
    # a new prompt is the new version even on fewer items: the edit is what the user wants to see
    (tmp_path / "t" / "prompt.j2").write_text("Please translate: {{ source }}", encoding="utf-8")
    assert invoke("eval", "--model", "openai/a", "--task", str(task), "--limit", "3").exit_code == 0
    board = hr.leaderboard(results)
    a = board[(board.model == "openai/a") & (board.condition == "all") & (board.metric == "chrf")]
    assert list(a.n) == [3]
