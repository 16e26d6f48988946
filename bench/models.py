"""What a cached re-run of 2 models costs after the answers are in, with 2, 4, 8, 16 models
stored: scoring the 2 re-run models, their leaderboard rows, and `comparisons.refresh`
(every stored model's statistics once, every pair's tests) — the part that used to grow
with the square of the stored models (448 scorer calls for 8 models).

Every model answers every item of every shipped task with a fake output (its reference
with every k-th word or character dropped, k depending on the model), written as one
earlier run per model in a throwaway results folder; the re-run writes a new run folder
with the same answers for 2 of them, as a cached re-run does. Timed from reading the runs
to the end of `refresh`, in a fresh process per count: with the earlier runs' refresh
kept (the usual case: cached statistics, unchanged pairs reused) and without it (first
refresh after an upgrade), and once with OpenBLAS's default threads (the paired tests are
thousands of small matrix products; one thread is faster on 2 busy cores).

    python bench/models.py --json --counts 2,4,8,16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PY, ROOT, emit, row

CHILD = r'''
import json, shutil, sys, time
from pathlib import Path
results, rerun, warm = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3] == "1"
import harness.results._pairwise as comparisons
import harness.results._leaderboard as leaderboard
import harness.pipeline._eval as pipeline
from harness.task._spec import load_tasks
tasks = load_tasks(via_datasets=False)
if warm:  # the earlier runs already refreshed once: statistics cached, pairs in pairwise.csv
    comparisons.refresh(results, tasks)
for model in rerun:  # the re-run writes a new run folder with the same (cached) answers
    src = next(p for p in sorted((results / "runs").iterdir()) if (p / "model.txt").read_text() == model)
    shutil.copytree(src, results / "runs" / ("20270101T000000000Z-" + src.name[-12:]))
t0 = time.perf_counter()
latest = comparisons.latest_outputs(results)
t1 = time.perf_counter()

class Answer:
    def __init__(self, text):
        self.response = {"text": text, "finish_reason": "stop", "cost_usd": None, "completion_tokens": 1,
                         "input_truncated": False}
        self.error = None

scored, rows = {}, []
for task in tasks:
    items = {it.id: it for it in task.items}
    for model in rerun:
        df = latest[(model, task.id)]
        outcomes = [(items[i], Answer(o)) for i, o in zip(df.item_id, df.output)]
        sc = pipeline.score(task, model, outcomes, stats_cache=results / "cache" / "item-stats")  # as run_eval
        scored[(model, task.id)] = sc
        rows += leaderboard.rows_for(sc, "bench", "now")
leaderboard.merge(results / "leaderboard.csv", rows)
t2 = time.perf_counter()
pairwise, _ = comparisons.refresh(results, tasks, scored)
t3 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "score_rows": t2 - t1, "refresh": t3 - t2, "total": t3 - t0,
                  "pairwise_rows": len(pairwise)}))
'''


def fake_output(ref: str, k: int) -> str:
    words = ref.split()
    if len(words) > 3:
        return " ".join(w for j, w in enumerate(words) if (j + 1) % k)
    return "".join(c for j, c in enumerate(ref) if (j + 1) % k)  # Chinese: characters


def build(results: Path, n_models: int) -> list[str]:
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from harness.task._spec import load_tasks

    tasks = load_tasks(via_datasets=False)
    models = [f"fake/m{k:02d}" for k in range(n_models)]
    for k, model in enumerate(models):
        rows = [{"model": model, "task": t.id, "item_id": it.id, "output": fake_output(it.references[0], 3 + k),
                 "error": ""} for t in tasks for it in t.items]
        run = results / "runs" / f"20260101T0000{k:02d}000Z-bench{k:02d}"
        run.mkdir(parents=True)
        pd.DataFrame(rows).to_csv(run / "items.csv", index=False)
        (run / "model.txt").write_text(model)
    return models


def measure(n_models: int, one_thread: bool, warm: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        results = Path(tmp) / "results"
        models = build(results, n_models)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if one_thread:
            env["OPENBLAS_NUM_THREADS"] = "1"
        else:
            env.pop("OPENBLAS_NUM_THREADS", None)
        out = subprocess.run([PY, "-c", CHILD, str(results), json.dumps(models[:2]), "1" if warm else "0"],
                             cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=1800, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", default="2,4,8,16", help="stored models (default 2,4,8,16)")
    ap.add_argument("--json", action="store_true", help="print the rows for bench/run.py")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    rows, base = [], {}
    plan = [(True, True), (True, False), (False, True)]  # (warm, one BLAS thread)
    for warm, one in plan:
        label = ("previous refresh kept" if warm else "first refresh (nothing cached)") + ", " + \
            ("OPENBLAS_NUM_THREADS=1" if one else "OpenBLAS default threads")
        for n in counts:
            t = time.perf_counter()
            got = measure(n, one, warm)
            print(f"models={n:2d} {label}: score+rows {got['score_rows']:.1f} s, refresh {got['refresh']:.1f} s "
                  f"({got['pairwise_rows']} pairwise rows; {time.perf_counter() - t:.0f} s with setup)",
                  file=sys.stderr, flush=True)
            base.setdefault((warm, one), got["total"])
            variant = f"re-run 2 of {n} stored models, every item, {label}"
            rows.append(row("models_rerun", variant, "wall", got["total"], "s", f"re-run 2 of {counts[0]} stored",
                            got["total"] / base[warm, one]))
            rows.append(row("models_rerun", variant, "refresh", got["refresh"], "s"))
            rows.append(row("models_rerun", variant, "pairwise_rows", got["pairwise_rows"], "rows"))
    if args.json:
        emit(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
