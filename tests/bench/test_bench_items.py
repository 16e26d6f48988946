"""bench/items.py runs end to end at a tiny size and writes its rows (not a timed test: the
figures themselves are `make bench`'s), and bench/run.py puts them in the goals table."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


def test_generated_task_loads_with_its_conditions_and_blocks(tmp_path):
    from items import BLOCK, CONDITIONS, write_task

    from harness.task._spec import load_tasks

    write_task(tmp_path, 120)
    (task,) = load_tasks(root=tmp_path, via_datasets=False)
    assert task.id == "bench_items" and len(task.items) == 120
    assert {it.condition for it in task.items} == set(CONDITIONS)
    assert len({it.block for it in task.items}) == 120 // BLOCK + (120 % BLOCK > 0)
    assert all(30 <= len(it.source) <= 90 and it.references[0].strip() for it in task.items)
    write_task(tmp_path / "small", 50)  # item k is the same whatever the count
    small = load_tasks(root=tmp_path / "small", via_datasets=False)[0].items
    assert [(i.id, i.source, i.references) for i in small] == [(i.id, i.source, i.references)
                                                               for i in task.items[:50]]


def test_items_bench_writes_its_rows_at_a_tiny_size():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "items.py"), "--json", "--counts", "20,40",
                          "--runs", "1", "--no-split"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    got = {(r["variant"], r["metric"]): r for r in rows}
    for n in (20, 40):
        for v in (f"n={n} cached re-run", f"n={n} cached re-run --no-ci"):
            assert got[v, "wall_median"]["value"] > 0 and got[v, "peak_rss"]["value"] > 20
        assert got[f"n={n} first run (fills the cache)", "wall"]["value"] > 0
    for v in ("cached re-run: n=40 ÷ n=20", "cached re-run --no-ci: n=40 ÷ n=20"):
        for metric in ("wall_median_growth", "cpu_median_growth", "peak_rss_growth"):
            r = got[v, metric]
            lo, hi = (got[f"n={n} {v.split(':')[0]}", metric.removesuffix("_growth")]["value"] for n in (20, 40))
            assert abs(r["value"] - hi / lo) < 1e-9 and abs(r["ratio"] - hi / lo / 2) < 1e-9

    # the goals table names them, with the 10,000-item goal only at 10,000 items
    from run import markdown, with_cores

    md = markdown(with_cores(rows, "now"), {"created": "now", "cores": 2, "wall": 1.0, "others": {"items": 0.0}})
    assert "| n=40 cached re-run (s) |" in md and "| n=40 cached re-run --no-ci: peak RSS (MB) |" in md
    assert "| n=20 cached re-run: CPU user+system (s) |" in md
    assert "| cached re-run: n=40 ÷ n=20: wall_growth |" in md and "≤ 10 s at 10,000" not in md
