"""Compare two results folders written by the same run on two versions of the harness (the
layout check of issue 27): leaderboard.csv, pairwise.csv, leaderboard_wide.csv and the
items.csv of each folder's single run, cell by cell, ignoring run ids, timestamps, latencies
and `inputs` (a cache fingerprint), and leaving out the TER rows and columns that are new.

    python bench/compare_results.py BEFORE_RESULTS AFTER_RESULTS

Prints one line per file and each differing column with its count and a first example;
exits 1 when anything other than those differs."""

import sys
from pathlib import Path

import pandas as pd

IGNORED = {"run_id", "created_at", "run_id_a", "run_id_b", "latency_s", "inputs"}
NEW = ("ter", "score_ter", "rank_ter", "rank_ter_best", "rank_ter_worst", "ter_ci_low", "ter_ci_high", "ter_n")
FILES = {"leaderboard.csv": ["model", "task", "condition", "metric"],
         "pairwise.csv": ["task", "condition", "metric", "model_a", "model_b"],
         "leaderboard_wide.csv": ["task", "condition", "model"],
         "items.csv": ["model", "task", "item_id"]}


def load(folder: Path, name: str) -> pd.DataFrame:
    path = next((folder / "runs").glob("*/items.csv")) if name == "items.csv" else folder / name
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "metric" in df:
        df = df[df.metric != "ter"]
    return df[[c for c in df.columns if c not in NEW and c not in IGNORED]]


def compare(before: Path, after: Path) -> int:
    differs = 0
    for name, key in FILES.items():
        a, b = load(before, name), load(after, name)
        cols = sorted(set(a.columns) & set(b.columns))
        only = sorted(set(a.columns) ^ set(b.columns))
        a = a[cols].sort_values(key).reset_index(drop=True)
        b = b[cols].sort_values(key).reset_index(drop=True)
        same = a.shape == b.shape and a.equals(b) and not only
        print(f"{name}: {len(a)} vs {len(b)} rows, {'identical' if same else 'DIFFERENT'}"
              + (f"; columns in one only: {only}" if only else ""))
        if a.shape == b.shape:
            for c in cols:
                bad = a[c] != b[c]
                if bad.any():
                    k = bad.idxmax()
                    print(f"  {c}: {bad.sum()} rows, e.g. {dict(a.loc[k, key])}: {a[c][k]!r} -> {b[c][k]!r}")
        differs += not same
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(compare(Path(sys.argv[1]), Path(sys.argv[2])))
