"""Cached re-run of `harness eval` (zero model calls) and peak memory of eval runs.

Cached re-run, in a throwaway results folder (the project's results/ is never written):
  baselines   `harness eval --model baseline/lead --model baseline/copy --limit 3` on every
              task: one run fills the cache, then each timed run starts from a copy of that
              folder (so every timed run sees one earlier run, not a growing pile of them)
  default     `harness eval` with the offline defaults, only when results/cache already
              holds every answer of the default sample (copied with SQLite's backup API;
              a missing answer would mean minutes of local-model generation, so then it is
              skipped and the row says how many answers were missing)
Every timed run must report n_cached == n_requests and import no litellm (zero calls).
The split comes from one more run, in-process: the modules such a run imports are imported
first (start-up/import), then each phase of run_eval is timed by wrapping its function.

Memory: peak RSS (getrusage of the run's own process) of those cached runs, and of a run
that really loads and runs the embedded model (default models, translate_zh_en, 1 item,
empty cache).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PY, ROOT, emit, median, offline_env, row, run_measured

HARNESS = str(Path(PY).parent / "harness")
BASELINE_ARGS = ["eval", "--model", "baseline/lead", "--model", "baseline/copy", "--limit", "3"]


def env_for(results: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_STORE",)}
    env["HARNESS_RESULTS"] = str(results)
    return env


def last_run(results: Path) -> dict:
    runs = sorted((results / "runs").glob("*/run.json"))
    return json.loads(runs[-1].read_text())


def timed_reruns(snapshot: Path, work: Path, args: list[str], runs: int) -> list[dict]:
    out = []
    for _ in range(runs):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(snapshot, work)
        got = run_measured([HARNESS, *args], env_for(work))
        info = last_run(work)
        if info["n_cached"] != info["n_requests"]:
            raise AssertionError(f"cached re-run asked models: {info['n_requests'] - info['n_cached']} calls")
        got["n_requests"] = info["n_requests"]
        out.append(got)
    return out


SPLIT = r'''
import importlib, json, sys, time
t_start = time.perf_counter()
modules = json.loads(open(sys.argv[1], encoding="utf-8").read()); args = json.loads(sys.argv[2])  # a file: too long for argv
for m in modules:
    try:
        importlib.import_module(m)
    except Exception as exc:
        print(f"bench: warm-up import of {m} failed ({type(exc).__name__}: {exc})", file=sys.stderr)
t_imported = time.perf_counter()
import harness.results._pairwise, harness.core._io, harness.results._leaderboard, harness.pipeline._eval, harness.cli._tables, harness.task._spec
phases = {}
def wrap(mod, name, label):
    fn = getattr(mod, name)
    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            phases[label] = phases.get(label, 0.0) + time.perf_counter() - t
    setattr(mod, name, timed)
P = harness.pipeline._eval
wrap(harness.task._spec, "load_tasks", "load tasks")
wrap(P, "build_requests", "build requests (render, keys)")
wrap(P, "execute", "read answers from the cache")
wrap(P, "score", "score items (per-item statistics)")
wrap(harness.results._leaderboard, "rows_for", "leaderboard rows + bootstrap CIs")
wrap(P, "item_rows", "per-item rows")
wrap(P, "atomic_write_csv", "write run files")
wrap(P, "atomic_write_text", "write run files")
wrap(harness.results._leaderboard, "merge", "merge leaderboard.csv")
wrap(harness.results._pairwise, "refresh", "pairwise tests + rank table + wide CSV (refresh)")
wrap(harness.cli._tables, "print_board_file", "print tables")
from harness.cli import main
t_run = time.perf_counter()
try:
    main(args, standalone_mode=False)
except SystemExit as exc:  # the CLI always ends with sys.exit: only a failure stops the split
    if exc.code not in (0, None):
        raise
finally:
    t_end = time.perf_counter()
phases["other (run_eval glue, CLI)"] = (t_end - t_run) - sum(phases.values())
print(json.dumps({"imports": t_imported - t_start, "phases": phases, "in_process": t_end - t_start,
                  "litellm_imported": "litellm" in sys.modules}))
'''

DISCOVER = r'''
import json, sys
from harness.cli import main
try:
    main(json.loads(sys.argv[1]), standalone_mode=False)
finally:
    print(json.dumps(sorted(m for m in sys.modules if not m.startswith("__main__"))))
'''


def split(snapshot: Path, work: Path, args: list[str]) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(snapshot, work)
    disc = subprocess.run([PY, "-c", DISCOVER, json.dumps(args)], cwd=ROOT, env=env_for(work),
                          capture_output=True, text=True, check=True)
    modules = json.loads(disc.stdout.strip().splitlines()[-1])
    before = set(json.loads(subprocess.run([PY, "-c", "import sys, json; print(json.dumps(sorted(sys.modules)))"],
                                           capture_output=True, text=True, check=True).stdout))
    modules = [m for m in modules if m not in before]
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(snapshot, work)
    t = time.perf_counter()
    listing = work.parent / f".{work.name}-modules.json"  # with litellm imported, too long for an argument
    listing.write_text(json.dumps(modules), encoding="utf-8")
    proc = subprocess.run([PY, "-c", SPLIT, str(listing), json.dumps(args)], cwd=ROOT, env=env_for(work),
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    got["interpreter start + exit"] = wall - got["in_process"]
    got["wall"] = wall
    got["n_modules"] = len(modules)
    return got


def default_cache_status(tmp: Path) -> tuple[Path | None, int, int]:
    """Copy results/cache into tmp (SQLite backup: consistent while another run writes) and
    count how many answers of the default sample it holds."""
    from harness.model._providers import DEFAULT_MODELS
    from harness.pipeline._eval import DEFAULT_LIMIT
    from harness.run._requests import build_requests
    from harness.run._store import Store
    from harness.task._spec import load_tasks

    src = ROOT / "results" / "cache" / "responses.sqlite"
    if not src.exists():
        return None, 0, 0
    dst = tmp / "default" / "cache" / "responses.sqlite"
    dst.parent.mkdir(parents=True)
    with sqlite3.connect(src, timeout=30) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    reqs = build_requests(load_tasks(), list(DEFAULT_MODELS), DEFAULT_LIMIT)
    store = Store(dst)
    try:
        have = len(store.get_many([r.key for r in reqs]))
    finally:
        store.close()
    return dst.parent.parent, have, len({r.key for r in reqs})


def phase_rows(b: str, variant: str, sp: dict) -> list[dict]:
    rows = [row(b, variant, "split:interpreter start + exit", sp["interpreter start + exit"], "s"),
            row(b, variant, "split:imports", sp["imports"], "s", note=f"{sp['n_modules']} modules")]
    for name, t in sorted(sp["phases"].items(), key=lambda kv: -kv[1]):
        rows.append(row(b, variant, f"split:{name}", t, "s"))
    ph = sp["phases"]
    groups = {
        "start-up/import": sp["interpreter start + exit"] + sp["imports"],
        "load tasks + cache": ph.get("load tasks", 0) + ph.get("build requests (render, keys)", 0)
        + ph.get("read answers from the cache", 0),
        "scoring + bootstrap": ph.get("score items (per-item statistics)", 0)
        + ph.get("leaderboard rows + bootstrap CIs", 0) + ph.get("per-item rows", 0)
        + ph.get("pairwise tests + rank table + wide CSV (refresh)", 0),
        "writing + printing": ph.get("write run files", 0) + ph.get("merge leaderboard.csv", 0)
        + ph.get("print tables", 0),
        "other": ph.get("other (run_eval glue, CLI)", 0),
    }
    for name, t in groups.items():
        rows.append(row(b, variant, f"group:{name}", t, "s", "split wall", t / sp["wall"]))
    rows.append(row(b, variant, "litellm_imported", int(sp["litellm_imported"]), "bool"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-generate", action="store_true", help="skip the memory run with the local model")
    ap.add_argument("--generate-timeout", type=float, default=150)
    args = ap.parse_args()
    offline_env()
    rows, b, m = [], "cached_rerun", "memory"
    with tempfile.TemporaryDirectory(prefix="harness-bench-cached-") as tmp:
        tmp = Path(tmp)
        # --- baselines on every task, limit 3
        snap, work = tmp / "baselines", tmp / "work"
        fill = run_measured([HARNESS, *BASELINE_ARGS], env_for(snap))
        rows.append(row(b, "baselines first run (fills cache)", "wall", fill["wall_s"], "s"))
        runs = timed_reruns(snap, work, BASELINE_ARGS, args.runs)
        t = median([r["wall_s"] for r in runs])
        rows.append(row(b, "baselines re-run (all cached)", "wall_median", t, "s", "goal 3 s", t / 3.0,
                        runs=args.runs, n_requests=runs[0]["n_requests"], model_calls=0))
        rows.append(row(m, "baselines re-run (all cached)", "peak_rss", max(r["maxrss_mb"] for r in runs), "MB",
                        "goal 1024 MB", max(r["maxrss_mb"] for r in runs) / 1024))
        rows += phase_rows(b, "baselines re-run (all cached)", split(snap, work, BASELINE_ARGS))

        # --- the real default set, if its cache is complete
        dflt, have, need = default_cache_status(tmp)
        if dflt is None or have < need:
            rows.append(row(b, "default set re-run", "skipped", need - have, "answers missing from results/cache",
                            note="run `make eval` once to fill it"))
        else:
            prime = run_measured([HARNESS, "eval"], env_for(dflt))  # first run in this folder: cached already
            if last_run(dflt)["n_cached"] != last_run(dflt)["n_requests"]:
                raise AssertionError("default set was not fully cached")
            rows.append(row(b, "default set first run here (cached)", "wall", prime["wall_s"], "s"))
            runs = timed_reruns(dflt, work, ["eval"], args.runs)
            t = median([r["wall_s"] for r in runs])
            rows.append(row(b, "default set re-run (all cached)", "wall_median", t, "s", "goal 3 s", t / 3.0,
                            runs=args.runs, n_requests=runs[0]["n_requests"], model_calls=0))
            rows.append(row(m, "default set re-run (all cached)", "peak_rss", max(r["maxrss_mb"] for r in runs),
                            "MB", "goal 1024 MB", max(r["maxrss_mb"] for r in runs) / 1024))
            rows += phase_rows(b, "default set re-run (all cached)", split(dflt, work, ["eval"]))

        # --- memory with the embedded model loaded and generating
        if not args.no_generate:
            gen = tmp / "generate"
            got = run_measured([HARNESS, "eval", "--task", "translate_zh_en", "--limit", "1", "--no-ci"],
                               env_for(gen), timeout=args.generate_timeout, allow_timeout=True)
            extra = {"wall_s": round(got["wall_s"], 1)}
            if got["rc"] == "timeout":  # llama.cpp on every core is very slow when the machine is shared
                extra["note"] = f"stopped after {args.generate_timeout:.0f} s (peak so far)"
            else:
                info = last_run(gen)
                extra.update(n_requests=info["n_requests"], n_cached=info["n_cached"])
            rows.append(row(m, "default models generating (translate_zh_en, 1 item, local model loaded)",
                            "peak_rss", got["maxrss_mb"], "MB", "goal 1024 MB", got["maxrss_mb"] / 1024, **extra))
    emit(rows)


if __name__ == "__main__":
    sys.exit(main())
