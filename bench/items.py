"""How a fully cached re-run grows with the number of items: one model over a throwaway task
of N short passages (default N = 1,000 and 10,000), answered by bench/fastserver.py (a local
OpenAI-compatible server on 127.0.0.1, no delay).

For each N, in a throwaway folder (HARNESS_TASKS and HARNESS_RESULTS point there; the
project's tasks/ and results/ are never read or written):
  fill      `harness eval --model openai/bench-items --task bench_items` once, empty cache
            (every item asked; its wall time and peak RSS are reported for context)
  re-run    the same command, fully cached, in a fresh process, with and without --no-ci;
            each timed run starts from a copy of the filled folder (one earlier run in it).
            Every timed run must report n_cached == n_requests (zero model calls).
Wall time, CPU time and peak RSS (getrusage of the harness process) per run; the largest N also gets
the phase split of bench/cached.py (where the time goes, in-process). Reported: the
largest ÷ smallest N's time and memory against the ideal ratio (linear: N ratio), and the
goal at 10,000 items (≤ 10 s, ≤ 1 GB).

The items: short Chinese passages (30-90 characters) cut from tasks/sources/, English
references cut from references/translate_zh_en.jsonl, in 4 conditions, 2 origins and blocks
of 25 items, scored with the translation task's metrics.

    python bench/items.py --json --counts 1000,10000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from common import PY, ROOT, emit, median, offline_env, row, run_measured

HARNESS = str(Path(PY).parent / "harness")
MODEL = "openai/bench-items"
TASK = "bench_items"
CONDITIONS = ("clean-simplified", "clean-traditional", "asr-punctuated", "asr-unpunctuated")
BLOCK = 25
GOAL_S, GOAL_MB, GOAL_N = 10.0, 1024.0, 10_000
TASK_YAML = """id: bench_items
description: benchmark task (bench/items.py), short passages
kind: translate
source_lang: zh
target_lang: en
prompt: prompt.j2
items: items.jsonl
references: refs.jsonl
generation:
  temperature: 0
  max_tokens: 64
metrics: [chrf, bleu, rouge, length_ratio, numbers]
"""
PROMPT = "Translate the following Chinese text into English.\n\nChinese text:\n{{ source }}\n"


def write_task(folder: Path, n: int) -> None:
    """A task of `n` items, deterministic in n (item k is the same for every n ≥ k)."""
    zh = "".join((ROOT / "tasks" / "sources" / f"{d}.txt").read_text(encoding="utf-8") for d in ("000", "001", "002"))
    zh = " ".join(zh.split())
    en = [json.loads(line)["references"][0] for line in
          (ROOT / "references" / "translate_zh_en.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    en_words = " ".join(en).split()
    folder.mkdir(parents=True, exist_ok=True)
    items, refs = [], []
    for k in range(n):
        length = 30 + (k * 37) % 61
        start = (k * 131) % (len(zh) - length)
        wstart, wlen = (k * 17) % (len(en_words) - 40), 8 + (k * 7) % 23
        cond = CONDITIONS[(k // BLOCK) % len(CONDITIONS)]
        iid = f"b{k // BLOCK:04d}:{k:06d}"
        items.append({"id": iid, "source": zh[start:start + length],
                      "meta": {"condition": cond, "block": f"{cond}:{k // BLOCK:04d}",
                               "origin": "zh-original" if (k // BLOCK) % 3 else "en-translated"}})
        refs.append({"id": iid, "references": [" ".join(en_words[wstart:wstart + wlen])]})
    dump = lambda rows: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)  # noqa: E731
    (folder / "items.jsonl").write_text(dump(items), encoding="utf-8")
    (folder / "refs.jsonl").write_text(dump(refs), encoding="utf-8")
    (folder / "bench_items.yaml").write_text(TASK_YAML, encoding="utf-8")
    (folder / "prompt.j2").write_text(PROMPT, encoding="utf-8")


def env_for(tasks: Path, results: Path, base_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_STORE"}
    env.update({"HARNESS_TASKS": str(tasks), "HARNESS_RESULTS": str(results), "OPENAI_API_BASE": base_url,
                "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-bench-not-a-real-key",
                "PYTHONPATH": str(ROOT)})
    return env


def last_run(results: Path) -> dict:
    return json.loads(sorted((results / "runs").glob("*/run.json"))[-1].read_text(encoding="utf-8"))


def measure(n: int, tmp: Path, base_url: str, runs: int, split: bool, timeout: float) -> list[dict]:
    b = "items_rerun"
    tasks, snap, work = tmp / f"tasks{n}", tmp / f"snap{n}", tmp / f"work{n}"
    write_task(tasks, n)
    args = ["eval", "--model", MODEL, "--task", TASK]
    fill = run_measured([HARNESS, *args, "--concurrency", "64"], env_for(tasks, snap, base_url), timeout=timeout)
    info = last_run(snap)
    if info["n_requests"] != n or info["n_errors"]:
        raise AssertionError(f"fill run at n={n}: {info['n_requests']} requests, {info['n_errors']} errors")
    rows = [row(b, f"n={n} first run (fills the cache)", "wall", fill["wall_s"], "s"),
            row(b, f"n={n} first run (fills the cache)", "cpu", fill["cpu_s"], "s user+system"),
            row(b, f"n={n} first run (fills the cache)", "peak_rss", fill["maxrss_mb"], "MB")]
    print(f"n={n:6d} fill: {fill['wall_s']:.1f} s, {fill['maxrss_mb']:.0f} MB", file=sys.stderr, flush=True)
    for flags in ([], ["--no-ci"]):
        label = f"n={n} cached re-run" + (" --no-ci" if flags else "")
        got = []
        for _ in range(runs):
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(snap, work)
            got.append(run_measured([HARNESS, *args, *flags], env_for(tasks, work, base_url), timeout=timeout))
            info = last_run(work)
            if info["n_cached"] != info["n_requests"] or info["n_requests"] != n:
                raise AssertionError(f"{label}: {info['n_requests'] - info['n_cached']} of {info['n_requests']} "
                                     "requests were not cached")
        wall, rss = median([g["wall_s"] for g in got]), max(g["maxrss_mb"] for g in got)
        cpu = median([g["cpu_s"] for g in got])
        print(f"n={n:6d} {label}: {wall:.2f} s, CPU {cpu:.2f} s, {rss:.0f} MB ({runs} run(s))", file=sys.stderr,
              flush=True)
        rows += [row(b, label, "wall_median", wall, f"s (median of {runs})", n=n),
                 row(b, label, "cpu_median", cpu, f"s user+system (median of {runs}; less disturbed by other load)",
                     n=n),
                 row(b, label, "peak_rss", rss, f"MB (max of {runs})", n=n)]
    if split:
        from cached import phase_rows, split as phase_split

        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env_for(tasks, work, base_url))  # cached.split runs its children with os.environ
        try:
            rows += phase_rows(b, f"n={n} cached re-run", phase_split(snap, work, args))
        except Exception as exc:  # noqa: BLE001 - the split is context: keep the measured rows
            rows.append(row(b, f"n={n} phase split", "failed", 1, f"{type(exc).__name__}: {str(exc)[:200]}"))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return rows


def growth_rows(rows: list[dict], counts: list[int]) -> list[dict]:
    """Largest ÷ smallest N per variant and metric, against the ideal (linear) ratio."""
    lo, hi = counts[0], counts[-1]
    out = []
    for suffix in ("", " --no-ci"):
        for metric in ("wall_median", "cpu_median", "peak_rss"):
            pick = {r["n"]: r["value"] for r in rows if r.get("n") in (lo, hi) and r["metric"] == metric
                    and r["variant"] == f"n={r['n']} cached re-run{suffix}"}
            if len(pick) == 2 and pick[lo] > 0:
                ratio = pick[hi] / pick[lo]
                out.append(row("items_rerun", f"cached re-run{suffix}: n={hi} ÷ n={lo}", f"{metric}_growth", ratio,
                               f"x (linear = {hi / lo:g})", "linear", ratio / (hi / lo)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", default="1000,10000", help="items per task, comma-separated (default 1000,10000)")
    ap.add_argument("--runs", type=int, default=3, help="timed cached re-runs per count and variant")
    ap.add_argument("--no-split", action="store_true", help="skip the in-process phase split at the largest count")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per harness run")
    ap.add_argument("--json", action="store_true", help="print the rows for bench/run.py")
    args = ap.parse_args()
    offline_env()
    counts = sorted(int(c) for c in args.counts.split(","))
    from fastserver import ServerProcess

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="harness-bench-items-") as tmp, ServerProcess(0.0) as srv:
        for n in counts:
            rows += measure(n, Path(tmp), srv.base_url, args.runs, not args.no_split and n == counts[-1],
                            args.timeout)
    rows += growth_rows(rows, counts)
    if args.json:
        emit(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
