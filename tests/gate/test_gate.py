"""The CI gate on a scripted local server, in process: every exit code and error line,
failures that must fail, models outside the baseline, paths, keys and the baseline's
row order. The README workflow as a user runs it (subprocesses) is in test_gate_e2e.py."""

import hashlib
import json
import re
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from fakeserver import FakeServer
from harness.cli import main
from helpers import make_task

SOURCES = [f"第{k}个观点:大模型的进步来自{k % 7 + 2}个方面,包括数据和算力。" for k in range(40)]
REFS = [f"Point {k}: progress in large models comes from {k % 7 + 2} areas, including data and compute."
        for k in range(40)]


def scripted(messages, body):
    prompt = messages[-1]["content"]
    k = next(i for i, s in enumerate(SOURCES) if s in prompt)
    if body["model"] == "judge":  # MQM-like: a Chinese "translation" is a major accuracy error
        cand = prompt.split("CANDIDATE:")[1]
        errors = [{"category": "accuracy", "severity": "major", "span": "x"}] if "观点" in cand else []
        return json.dumps({"errors": errors, "rationale": "scripted"})
    if "Chinese" in prompt:  # a prompt asking for Chinese output gets Chinese back
        return SOURCES[k]
    words = REFS[k].split()
    # wording-dependent noise: some prompts drop one word on a few items
    if int(hashlib.sha1((prompt[:12] + str(k)).encode()).hexdigest(), 16) % 10 == 0:
        words = words[:-1]
    return " ".join(words)


def failing(messages, body):
    return 500, {"Retry-After": "0"}, json.dumps({"error": {"message": "upstream exploded"}})


@pytest.fixture
def project(tmp_path, monkeypatch, results):
    tasks = tmp_path / "tasks"
    items = [{"id": f"p{k}", "source": s, "meta": {"block": f"b{k % 8}"}} for k, s in enumerate(SOURCES)]
    refs = [{"id": f"p{k}", "references": [r]} for k, r in enumerate(REFS)]
    make_task(tasks, items, refs, task_id="mt", metrics=("chrf", "bleu", "rouge"),
              prompt="Translate to English: {{ source }}")
    monkeypatch.setenv("HARNESS_TASKS", str(tasks))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-gate-000000000")
    with FakeServer(scripted) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        yield tasks, results, srv


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def error_lines(out) -> list[str]:
    assert "Traceback" not in out.output
    return [line for line in out.output.splitlines() if line.startswith("error:")]


@pytest.fixture
def based(project):
    tasks, results, srv = project
    base = results / "baseline.csv"
    out = invoke("baseline", "update", "--model", "openai/mt", "--limit", "40", "--out", str(base))
    assert out.exit_code == 0, out.output
    return tasks, results, srv, base


def test_gate_exit_codes(project, tmp_path):
    tasks, results, srv = project
    base = str(results / "baseline.csv")
    out = invoke("baseline", "update", "--model", "openai/mt", "--out", base)
    assert out.exit_code == 0, out.output
    from harness.pipeline._eval import DEFAULT_LIMIT

    assert len(pd.read_csv(base)) == DEFAULT_LIMIT  # the default sample
    out = invoke("baseline", "update", "--model", "openai/mt", "--limit", "40", "--out", base)
    assert out.exit_code == 0 and len(pd.read_csv(base)) == 40
    summary = tmp_path / "check.md"

    asked = srv.count()
    out = invoke("check", "--baseline", base, "--summary", str(summary))
    assert out.exit_code == 0, out.output
    assert srv.count() == asked  # unchanged prompt: zero model calls
    assert "no regression" in summary.read_text()

    (tasks / "prompt.j2").write_text("Please render this in English: {{ source }}")
    out = invoke("check", "--baseline", base, "--summary", str(summary))
    assert out.exit_code == 0, out.output  # neutral rewording: small differences, within the noise
    assert srv.count() == asked + 40
    text = summary.read_text()
    assert "Prompts changed" in text and "mt" in text

    (tasks / "prompt.j2").write_text("Translate into Chinese: {{ source }}")
    out = invoke("check", "--baseline", base, "--summary", str(summary))
    assert out.exit_code == 1, out.output
    text = summary.read_text()
    assert "regression" in text and "❌ regressed" in text
    row = next(line for line in text.splitlines() if line.startswith("| openai/mt | mt | chrf |"))
    assert "❌ regressed" in row
    assert "Worst items" in text and "before:" in text and "after:" in text
    # worst items: each item once, with every regressed metric it is among the worst for
    heads = [line for line in text.splitlines() if line.startswith("**openai/mt · mt · p")]
    assert len(heads) == len(set(heads)) >= 3
    assert any("chrf" in h and "rouge1" in h for h in heads)
    assert (summary.with_name("check.full.md")).exists()


def test_every_call_failing_fails_and_names_the_cause(based, tmp_path):
    tasks, results, srv, base = based
    (tasks / "prompt.j2").write_text("Translate, carefully, to English: {{ source }}")
    srv.responder = failing
    summary = tmp_path / "check.md"
    out = invoke("check", "--baseline", str(base), "--summary", str(summary))
    assert out.exit_code == 1, out.output
    text = summary.read_text()
    assert "no regression" not in text and "no regression" not in out.output
    assert "40 of 40 item(s) failed" in text and "without an answer" in text
    assert "upstream exploded" in text or "500" in text  # the first error's cause
    lines = error_lines(out)
    assert len(lines) == 1 and "openai/mt mt: 40 of 40" in lines[0]


def test_some_items_failing_fail_the_gate(based, tmp_path):
    tasks, results, srv, base = based
    (tasks / "prompt.j2").write_text("Please render this in English: {{ source }}")
    bad = [SOURCES[k] for k in range(0, 36, 3)]  # 12 items, spread out (10 failures in a row open the circuit)

    def partly(messages, body):
        if any(s in messages[-1]["content"] for s in bad):
            return 400, {}, json.dumps({"error": {"message": "content filter"}})
        return scripted(messages, body)
    srv.responder = partly
    summary = tmp_path / "check.md"
    out = invoke("check", "--baseline", str(base), "--summary", str(summary))
    assert out.exit_code == 1, out.output
    text = summary.read_text()
    assert "12 of 40 item(s) failed" in text and "no regression" not in text
    # the answered items are still compared, on 28 items
    assert re.search(r"\| openai/mt \| mt \| chrf \|.*\| 28 \|", text)


def test_model_outside_the_baseline_is_an_error_before_any_call(based):
    tasks, results, srv, base = based
    asked = srv.count()
    out = invoke("check", "--baseline", str(base), "--model", "openai/c")
    assert out.exit_code == 2
    lines = error_lines(out)
    assert len(lines) == 1 and "openai/c" in lines[0] and "not in the baseline" in lines[0]
    assert srv.count() == asked


def _rewrite(path, fn):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df)
    df.to_csv(path, index=False)


@pytest.mark.parametrize("case, expect", [
    ("empty", "empty file"),
    ("header", "only a header"),
    ("unmatched", "item not in task"),
    ("unknown_task", "is not in the tasks folder"),
    ("non_numeric", "is not a finite number"),
    ("not_json", "not a JSON object"),
    ("duplicate", "listed twice"),
    ("missing_column", "missing column"),
    ("directory", "not a readable CSV"),
    ("not_utf8", "not UTF-8"),
    ("missing", "no baseline"),
])
def test_bad_baselines_are_one_error_line_and_exit_2(based, tmp_path, case, expect):
    tasks, results, srv, base = based
    bad = tmp_path / "bad.csv"
    bad.write_bytes(base.read_bytes())
    if case == "empty":
        bad.write_text("")
    elif case == "header":
        bad.write_text(base.read_text().splitlines()[0] + "\n")
    elif case == "unmatched":
        _rewrite(bad, lambda df: df.__setitem__("item_id", "zz" + df["item_id"]))
    elif case == "unknown_task":
        _rewrite(bad, lambda df: df.__setitem__("task", "nope"))
    elif case == "non_numeric":
        _rewrite(bad, lambda df: df.__setitem__("scores", df["scores"].str.replace(
            r'"chrf": [0-9.]+', '"chrf": "abc"', regex=True)))
    elif case == "not_json":
        _rewrite(bad, lambda df: df.__setitem__("scores", "chrf=3"))
    elif case == "duplicate":
        bad.write_text(base.read_text() + base.read_text().splitlines(keepends=True)[1])
    elif case == "missing_column":
        bad.write_text("schema_version,model\n1,x\n")
    elif case == "directory":
        bad.unlink()
        bad.mkdir()
    elif case == "not_utf8":
        bad.write_bytes(base.read_bytes().replace(b"Point", b"\xff\xfeoint"))
    elif case == "missing":
        bad.unlink()
    asked = srv.count()
    out = invoke("check", "--baseline", str(bad), "--summary", str(tmp_path / "check.md"))
    assert out.exit_code == 2, out.output
    lines = error_lines(out)
    assert len(lines) == 1 and expect in lines[0], out.output
    assert str(bad) in lines[0]
    assert srv.count() == asked  # nothing was asked
    # an earlier summary can never be posted as this run's result
    assert "could not run" in (tmp_path / "check.md").read_text()


def test_error_line_numbers_count_multiline_outputs(based, tmp_path):
    tasks, results, srv, base = based

    def edit(df):
        df.loc[0, "output"] = "first line\nsecond line\nthird"
        df.loc[2, "scores"] = '{"chrf": "x"}'
    bad = tmp_path / "bad.csv"
    bad.write_bytes(base.read_bytes())
    _rewrite(bad, edit)
    out = invoke("check", "--baseline", str(bad))
    assert out.exit_code == 2
    # header line 1, row 0 on lines 2-4, row 1 on 5, row 2 on 6
    assert error_lines(out)[0].startswith(f"error: {bad}:6: openai/mt mt/")


BAD_THRESHOLDS = [
    ("alpah: 0.1\n", "alpah: unknown key"),
    ("metrics:\n  chrf: abc\n", "metrics.chrf: must be a number"),
    ("default: abc\n", "default: must be a number"),
    ("alpha: abc\n", "alpha: must be a number"),
    ("metrics:\n  chrf: null\n", "metrics.chrf: must be a number"),
    ("metrics: [chrf]\n", "metrics: must be a mapping"),
    ("alpha: 0\n", "alpha: must be a number in (0, 0.5]"),
    ("alpha: -1\n", "alpha: must be a number in (0, 0.5]"),
    ("alpha: 2\n", "alpha: must be a number in (0, 0.5]"),
    ("alpha: .nan\n", "alpha: must be a number in (0, 0.5]"),
    ("metrics:\n  chrf: -5\n", "metrics.chrf: must be a finite number >= 0"),
    ("metrics:\n  bleu: .inf\n", "metrics.bleu: must be a finite number >= 0"),
    ("default: .nan\n", "default: must be a finite number >= 0"),
    ("alpha: 0.05\nmetrics:\n  chrF: 1.0\n", "metrics.chrF: unknown metric; valid names: bleu, chrf"),
    ("metrics:\n  chrf: 1\n  rogueL: 1.0\n", "metrics.rogueL: unknown metric"),
    ("metrics:\n  length_ratio: 1\n", "not gated"),
    ("metrics:\n  chrf: '1.0'\n", "metrics.chrf: must be a number"),
    ("alpha: 1e-3\n", "write 0.001"),
    ("metrics:\n  chrf: true\n", "metrics.chrf: must be a number"),
    ("- 1\n- 2\n", "must be a mapping"),
    ("alpha: [0.05\n", "malformed YAML"),
]


@pytest.mark.parametrize("text, expect", BAD_THRESHOLDS)
def test_bad_thresholds_are_one_error_line_and_exit_2(based, tmp_path, text, expect):
    tasks, results, srv, base = based
    bad = tmp_path / "gate.yaml"
    bad.write_text(text)
    out = invoke("check", "--baseline", str(base), "--thresholds", str(bad))
    assert out.exit_code == 2, out.output
    lines = error_lines(out)
    assert len(lines) == 1 and expect in lines[0], lines
    assert lines[0].startswith(f"error: {bad}:")


def test_threshold_errors_name_the_line():
    from harness.core._errors import UserError
    from harness.gate._config import load_thresholds

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "gate.yaml"
        p.write_text("alpha: 0.05\ndefault: 1\nmetrics:\n  chrf: 1\n  rogueL: 2\n")
        with pytest.raises(UserError, match=r"gate.yaml:5: metrics.rogueL"):
            load_thresholds(p)
        p.write_text("alpha: 0.05\ndefault: 1\nmetrics:\n  chrf: 1\n  rougeL: 2\n  judge: 0.2\n")
        th = load_thresholds(p)
        assert th.of("rougeL") == 2 and th.of("bleu") == 1 and th.of("judge:openai/j:overall") == 0.2
        # no `default` in the file: a metric it does not name uses its record's threshold
        from harness.score import registry

        p.write_text("alpha: 0.05\nmetrics:\n  chrf: 1\n")
        th = load_thresholds(p)
        assert th.of("bleu") == registry.metric("bleu").threshold == 1.5 and th.of("chrf") == 1
        assert th.of("some_unregistered_metric") == 1.0


def test_the_committed_gate_yaml_is_valid():
    from harness.gate._config import default_thresholds_path, load_thresholds

    th = load_thresholds(default_thresholds_path())
    assert th.alpha == 0.05 and th.of("chrf") == 1.0 and th.of("judge:x:overall") == 0.2


def test_a_threshold_is_applied(based, tmp_path):
    """The same regression passes with a threshold above the drop and fails below it."""
    tasks, results, srv, base = based
    (tasks / "prompt.j2").write_text("Translate into Chinese: {{ source }}")
    loose = tmp_path / "loose.yaml"
    loose.write_text("default: 100\n")
    out = invoke("check", "--baseline", str(base), "--thresholds", str(loose), "--summary", str(tmp_path / "c.md"))
    assert out.exit_code == 0, out.output
    text = (tmp_path / "c.md").read_text()
    assert "within threshold" in text  # significant and worse, but smaller than 100 points
    strict = tmp_path / "strict.yaml"
    strict.write_text("default: 100\nmetrics:\n  chrf: 1.0\n")
    out = invoke("check", "--baseline", str(base), "--thresholds", str(strict), "--summary", str(tmp_path / "c.md"))
    assert out.exit_code == 1
    regressed = [line for line in (tmp_path / "c.md").read_text().splitlines() if "❌ regressed" in line]
    assert len(regressed) == 1 and "| chrf |" in regressed[0]


def test_defaults_follow_harness_results(based, tmp_path, monkeypatch):
    tasks, results, srv, base = based
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = invoke("check")  # baseline and summary from HARNESS_RESULTS, whatever the current folder
    assert out.exit_code == 0, out.output
    assert (results / "check.md").exists() and (results / "check.full.md").exists()
    assert not (elsewhere / "results").exists()
    out = invoke("baseline", "update")  # --out too
    assert out.exit_code == 0, out.output
    assert str(results / "baseline.csv") in out.output and not (elsewhere / "results").exists()


def test_baseline_update_needs_models(project, tmp_path):
    tasks, results, srv = project
    out = invoke("baseline", "update", "--out", str(tmp_path / "new.csv"))
    assert out.exit_code == 2
    assert "--model" in error_lines(out)[0]
    assert not (tmp_path / "new.csv").exists()


def test_baseline_update_keeps_models_and_row_order(project):
    tasks, results, srv = project
    base = results / "baseline.csv"
    assert invoke("baseline", "update", "--model", "openai/mt", "--limit", "6", "--out", str(base)).exit_code == 0
    items = pd.read_csv(base, dtype=str).item_id.tolist()
    assert items == sorted(items, key=lambda i: int(i[1:]))  # item order in the task
    # a new model: rows in canonical order (task, item, model), old rows unchanged
    out = invoke("baseline", "update", "--model", "openai/mt", "--model", "openai/another")
    assert out.exit_code == 0, out.output
    df = pd.read_csv(base, dtype=str)
    assert list(zip(df.item_id, df.model)) == [(i, m) for i in items for m in ("openai/another", "openai/mt")]
    # a reviewer's file in another order: an update with nothing changed keeps it byte for byte
    lines = base.read_text().splitlines(keepends=True)
    shuffled = "".join(lines[:1] + lines[1:][::-1])
    base.write_text(shuffled)
    out = invoke("baseline", "update")  # models, tasks and items from the existing baseline
    assert out.exit_code == 0, out.output
    assert "openai/another, openai/mt" in out.output
    assert base.read_text() == shuffled


def test_gate_catches_a_change_in_the_scorers(project, tmp_path, monkeypatch):
    _, results, _ = project
    base = str(results / "baseline.csv")
    assert invoke("baseline", "update", "--model", "openai/mt", "--limit", "10", "--out", base).exit_code == 0
    import harness.score._lexical as lexical

    monkeypatch.setattr(lexical, "rouge_l", lambda t, p: 0.5)  # a scorer broken by a code change
    summary = tmp_path / "check.md"
    out = invoke("check", "--baseline", base, "--summary", str(summary))
    assert out.exit_code == 1
    text = summary.read_text()
    assert "Scoring changed" in text and "rougeL" in text and "no regression" not in text


def test_judge_scores_in_the_baseline_are_gated(project, tmp_path):
    tasks, results, srv = project
    shutil.copytree(ROOT / "tasks" / "rubrics", tasks / "rubrics")
    base = results / "baseline.csv"
    out = invoke("baseline", "update", "--model", "openai/mt", "--limit", "40", "--judge", "openai/judge",
                 "--out", str(base))
    assert out.exit_code == 0, out.output
    scores = json.loads(pd.read_csv(base).scores[0])
    assert scores["judge:openai/judge:accuracy"] == 5.0
    summary = tmp_path / "check.md"
    asked = srv.count()
    out = invoke("check", "--baseline", str(base), "--summary", str(summary))
    assert out.exit_code == 0 and srv.count() == asked
    # a worse prompt: the judge is asked about the changed outputs only, and its threshold applies
    (tasks / "prompt.j2").write_text("Translate into Chinese: {{ source }}")
    only_judge = tmp_path / "judge_only.yaml"
    only_judge.write_text("default: 1000\nmetrics:\n  judge: 0.2\n")
    out = invoke("check", "--baseline", str(base), "--thresholds", str(only_judge), "--summary", str(summary))
    assert out.exit_code == 1, out.output
    assert srv.count() == asked + 80  # 40 answers + 40 judgements
    regressed = [line for line in summary.read_text().splitlines() if "❌ regressed" in line]
    assert regressed and all("judge:openai/judge:" in line for line in regressed)
    assert any("| 0.20 |" in line for line in regressed)
    # worst items come from whichever metric regressed, not only the task's first metric
    heads = [line for line in summary.read_text().splitlines() if line.startswith("**openai/mt · mt · p")]
    assert heads and all("judge:openai/judge:accuracy -2.0" in h for h in heads)
    # a judge that cannot score the changed outputs: the gate cannot see the judge metrics
    # (this wording changes a few outputs by one word; only those are judged again)
    (tasks / "prompt.j2").write_text("Render in English: {{ source }}")
    srv.responder = lambda m, b: "I think it is fine, 4/5" if b["model"] == "judge" else scripted(m, b)
    before = srv.count()
    out = invoke("check", "--baseline", str(base), "--summary", str(summary))
    assert out.exit_code == 1, out.output
    lines = error_lines(out)
    assert len(lines) == 1 and "(judge openai/judge)" in lines[0] and "parse failure" in lines[0]
    n_changed = int(re.search(r": (\d+) of 40 item", lines[0]).group(1))
    assert 0 < n_changed < 40 and srv.count() == before + 40 + n_changed


def test_make_check_reads_the_baseline_of_the_results_folder():
    """`make check` leaves the baseline to `harness check` (the results folder's, so
    HARNESS_RESULTS is followed); BASELINE=path names another file (make's dry run shows the command)."""
    import subprocess

    from conftest import ROOT

    def command(*args):
        out = subprocess.run(["make", "-n", "check", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return next(line for line in out.stdout.splitlines() if "harness check" in line)

    assert "--baseline" not in command()
    assert command("BASELINE=other/base.csv").endswith("harness check --baseline other/base.csv")
