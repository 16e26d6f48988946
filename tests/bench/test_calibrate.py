"""bench/calibrate.py (`make calibrate`) on the smallest shipped task: the files it writes,
their columns, and the checks the README's table is made of."""

import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_calibrate_target_runs_the_benchmark():
    text = (ROOT / "Makefile").read_text()
    assert re.search(r"^calibrate: \$\(STAMP\)\n\t\$\(BIN\)/python bench/calibrate.py$", text, re.M)


def test_calibration_writes_rates_with_errors_and_goals(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    import calibrate

    out = tmp_path / "calibration.csv"
    calibrate.main(["--sims", "200", "--power-sims", "40", "--percentile-sims", "50", "--tasks", "longdoc_zh_en",
                    "--jobs", "1", "--out", str(out)])
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == calibrate.COLUMNS
    checks = {(r["metric"], r["check"], r["alternative"]) for r in rows}
    for metric in ("chrf", "rouge1", "rouge2", "rougeL"):
        assert {(metric, "false_positive_rate", "two-sided"), (metric, "false_positive_rate", "greater"),
                (metric, "power", "two-sided"), (metric, "coverage_ci", ""), (metric, "coverage_diff_ci", "")} <= checks
    for r in rows:
        assert r["blocks"] == "5" and r["n"] == "5" and r["task"] == "longdoc_zh_en"
        rate, se, sims = float(r["rate"]), float(r["mc_se"]), int(r["sims"])
        assert abs(se - (rate * (1 - rate) / sims) ** 0.5) < 1e-3
        if r["check"] == "false_positive_rate" and r["alternative"] == "two-sided":
            assert rate == 0.0  # 5 documents: the exact two-sided p is never below 2/32
            assert r["method"].startswith("paired-ar|blocks|exact:2^5")
        if r["check"] == "power" and r["alternative"] == "two-sided":
            assert rate == 0.0
    table = out.with_suffix(".md").read_text()
    assert table.count("\n") == 2 + 4 and "longdoc_zh_en · all" in table
    assert (tmp_path / "calibration_percentile.csv").exists()
