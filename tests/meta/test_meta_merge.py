"""The meta-evaluation CSV is merged, never clobbered: a `--segments` sample writes its own
file, a full run keeps the judge rows it did not recompute, `--reference X` keeps the other
reference's rows; a constant judge's undefined correlations say why; the printed table at 80
columns in a pipe keeps every number whole. Figures checked: the full set's system-level
Pearson (13 MT systems) of chrF and BLEU, ref.B 0.340 and 0.332, ref.A −0.305 and −0.367
(the values tests/test_meta_reference.py recomputes with scipy on sacrebleu)."""

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from fakeserver import FakeServer
import harness.meta._mqm as meta
from harness.cli import main

FULL = {("ref.B", "chrf"): 0.340, ("ref.B", "bleu"): 0.332, ("ref.A", "chrf"): -0.305, ("ref.A", "bleu"): -0.367}
CONSTANT = "judge:constant"


def _system_r(df) -> dict:
    sel = df[(df.level == "system") & (df.variant == "without_human") & (df.statistic == "pearson")]
    return {(r.reference, r.metric): r.value for r in sel.itertuples()}


def _constant_judge(data, ref):
    """A judge that gives 3 to every output (no ranking at all)."""
    return {CONSTANT: {(s, g): 3.0 for s in data.systems if s != ref for g in data.seg_ids}}


def _scripted(messages, body):
    cand = messages[-1]["content"].split("CANDIDATE:")[1]
    return json.dumps({"errors": [{"category": "accuracy", "severity": "minor", "span": "x"}]
                       * (len(cand.split()) % 4), "rationale": "scripted"})


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    """A sampled judge run, a full run of ref.B with a constant judge, then a plain full run."""
    root = tmp_path_factory.mktemp("merge") / "results"
    out = {}
    with pytest.MonkeyPatch.context() as mp, FakeServer(_scripted) as srv:
        mp.setenv("HARNESS_RESULTS", str(root))
        mp.setenv("OPENAI_API_KEY", "sk-test-merge-000000000")
        mp.setenv("OPENAI_API_BASE", srv.base_url)
        mp.setenv("OPENAI_BASE_URL", srv.base_url)
        sample = CliRunner().invoke(main, ["meta-eval", "--judge", "openai/j", "--segments", "20"],
                                    catch_exceptions=False)
        assert sample.exit_code == 0, sample.output
        out["sample_text"] = (root / "meta" / "mqm_ted_zhen.first-20.csv").read_text()
        meta.run(("refB",), _constant_judge)  # the full set, ref.B only, with a (constant) judge
        out["after_judge"] = pd.read_csv(root / "meta" / "mqm_ted_zhen.csv", keep_default_na=False, na_values=[""])
        full = CliRunner().invoke(main, ["meta-eval"], catch_exceptions=False)  # no judge this time
        assert full.exit_code == 0, full.output
        out["full_output"] = full.output
        out["full"] = pd.read_csv(root / "meta" / "mqm_ted_zhen.csv", keep_default_na=False, na_values=[""])
        out["sample_after"] = (root / "meta" / "mqm_ted_zhen.first-20.csv").read_text()
        ref_only = CliRunner().invoke(main, ["meta-eval", "--reference", "ref"], catch_exceptions=False)
        assert ref_only.exit_code == 0, ref_only.output
        out["ref_only"] = pd.read_csv(root / "meta" / "mqm_ted_zhen.csv", keep_default_na=False, na_values=[""])
    out["sample"] = pd.read_csv(root / "meta" / "mqm_ted_zhen.first-20.csv")
    return out


def test_sample_writes_its_own_file(sequence):
    sample = sequence["sample"]
    assert (sample.segments == 20).all() and set(sample.reference) == {"ref.A", "ref.B"}
    assert {"judge:openai/j:ref-free", "judge:openai/j:with-ref"} <= set(sample.metric)
    # the sample's figures differ from the full set's (that is why they must not replace them)
    assert _system_r(sample)["ref.A", "chrf"] != pytest.approx(FULL["ref.A", "chrf"], abs=0.01)
    assert sequence["sample_after"] == sequence["sample_text"]  # the full runs left it alone


def test_full_run_keeps_full_figures_and_judge_rows(sequence):
    full = sequence["full"]
    assert (full.segments == 529).all()
    got = _system_r(full)
    for key, expected in FULL.items():
        assert got[key] == pytest.approx(expected, abs=5.1e-4), key
    assert not full.metric.str.startswith("judge:openai/j").any()  # the sample's judge rows stayed in the sample
    kept = full[full.metric == CONSTANT]
    before = sequence["after_judge"]
    assert len(kept) == 6 and set(kept.reference) == {"ref.B"}  # not recomputed, kept
    cols = ["metric", "level", "variant", "statistic", "n", "note"]
    assert kept[cols].reset_index(drop=True).equals(before[before.metric == CONSTANT][cols].reset_index(drop=True))
    assert not full.duplicated(meta.KEY).any() and len(full) == 2 * 7 * 6 + 6


def test_constant_judge_says_why_correlation_is_undefined(sequence):
    rows = sequence["full"][sequence["full"].metric == CONSTANT]
    assert rows.value.isna().all()
    system = rows[rows.level == "system"]
    assert (system.note == "constant scores (3 for every system): correlation undefined").all()
    segment = rows[rows.level == "segment"]
    assert (segment.note == "constant scores (3 on every segment): correlation undefined").all()
    assert "ref.B judge:constant: constant scores (3 for every system): correlation undefined" \
        in sequence["full_output"]


def test_reference_run_merges(sequence):
    after = sequence["ref_only"]
    assert set(after.reference) == {"ref.A", "ref.B"} and len(after) == len(sequence["full"])
    assert (after[after.metric == CONSTANT].reference == "ref.B").all()
    got = _system_r(after)
    for key, expected in FULL.items():
        assert got[key] == pytest.approx(expected, abs=5.1e-4), key


def test_table_at_80_columns_in_a_pipe_keeps_numbers_whole(sequence):
    text = sequence["full_output"]  # CliRunner: not a tty, so rich uses 80 columns
    table = text.split("\n– undefined")[0].splitlines()
    assert max(len(line) for line in table) <= 80
    assert "…" not in text
    row = next(line for line in table if re.match(r"\s*ref\.B\s+chrf\s", line))
    numbers = re.findall(r"[+-]\d\.\d{3}", row)
    assert numbers[0] == "+0.340" and len(numbers) == 6, row  # all six columns fit at 80
    full = sequence["full"]
    expected = full[(full.reference == "ref.B") & (full.metric == "chrf")]
    cell = {(r.level, r.variant, r.statistic): r.value for r in expected.itertuples()}
    order = [("system", "without_human", "pearson"), ("system", "without_human", "kendall"),
             ("system", "with_human", "pearson"), ("system", "with_human", "kendall"),
             ("segment", "pooled", "kendall"), ("segment", "item_avg", "kendall")]
    assert numbers == [f"{cell[k]:+.3f}" for k in order]


def test_narrow_terminal_drops_columns_and_says_so():
    from rich.console import Console

    from harness.cli._tables import print_meta

    rows = [{"reference": "ref.B", "metric": "judge:openai/gpt-4o-mini:with-ref", "level": lvl, "variant": var,
             "statistic": stat, "value": v, "note": ""}
            for (lvl, var, stat), v in zip([("system", "without_human", "pearson"), ("system", "without_human", "kendall"),
                                            ("system", "with_human", "pearson"), ("system", "with_human", "kendall"),
                                            ("segment", "pooled", "kendall"), ("segment", "item_avg", "kendall")],
                                           [0.123, -0.456, 0.789, -0.012, 0.345, -0.678])]
    console = Console(width=50, record=True, force_terminal=False)
    print_meta(rows, console)
    text = console.export_text()
    lines = text.split("\nleft out")[0].splitlines()
    assert max(len(line) for line in lines) <= 50
    assert "+0.123" in text and "-0.456" in text and "…" not in text
    assert "left out at this width (50 columns): " in text
    shown = len(re.findall(r"[+-]\d\.\d{3}", "\n".join(lines)))
    assert 1 <= shown < 6 and text.count("left out") == 1
