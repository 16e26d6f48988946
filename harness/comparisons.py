"""Pairwise significance between every two models, rank ranges, and the wide pivot.

Comparisons are paired: two models are compared on the items both answered, re-scored
from the outputs stored in the latest run of each (model, task), with the same block
bootstrap as the leaderboard's CIs. Writes `results/pairwise.csv` and
`results/leaderboard_wide.csv`.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from . import stats as st
from .io import atomic_write_csv, locked
from .leaderboard import SCHEMA_VERSION, metric_fn, now

PAIRWISE_COLUMNS = ["schema_version", "task", "condition", "metric", "model_a", "model_b", "value_a", "value_b",
                    "diff", "diff_ci_low", "diff_ci_high", "p_value", "significant", "n", "method", "signature",
                    "created_at"]
ALPHA = 0.05


def latest_outputs(results: Path) -> dict[tuple[str, str], "pd.DataFrame"]:  # noqa: F821
    """(model, task) -> the item rows of the latest run that evaluated it."""
    import pandas as pd

    latest: dict[tuple[str, str], pd.DataFrame] = {}
    for path in sorted((results / "runs").glob("*/items.csv")):
        df = pd.read_csv(path, keep_default_na=False, dtype={"item_id": str, "output": str, "error": str})
        for (model, task), rows in df.groupby(["model", "task"], sort=False):
            latest[(model, task)] = rows
    return latest


def pairwise_rows(task, outputs: dict[str, "pd.DataFrame"], created: str) -> list[dict]:  # noqa: F821
    from .scorers import registry

    items = {it.id: it for it in task.items}
    rows = []
    scorers = {m: registry.make(m, task) for m in task.spec.metrics}
    for a, b in itertools.combinations(sorted(outputs), 2):
        da = outputs[a][outputs[a].error == ""].set_index("item_id")
        db = outputs[b][outputs[b].error == ""].set_index("item_id")
        common = [i for i in da.index if i in db.index and i in items]
        if len(common) < 2:
            continue
        its = [items[i] for i in common]
        views = {"all": np.arange(len(its))}
        conds = sorted({it.condition for it in its})
        if len(conds) > 1:
            views.update({c: np.array([k for k, it in enumerate(its) if it.condition == c]) for c in conds})
        for family, scorer in scorers.items():
            sa = scorer.stats(list(da.loc[common, "output"]), its)
            sb = scorer.stats(list(db.loc[common, "output"]), its)
            for cond, sel in views.items():
                if len(sel) < 2:
                    continue
                blocks = [its[k].block for k in sel]
                for name in scorer.names:
                    fn = metric_fn(scorer, name)
                    res = st.paired_test(sa[sel], sb[sel], blocks, fn)
                    va = scorer.score(sa[sel])[name]
                    vb = scorer.score(sb[sel])[name]
                    if math.isnan(va) or math.isnan(vb):
                        continue
                    rows.append({"schema_version": SCHEMA_VERSION, "task": task.id, "condition": cond,
                                 "metric": name, "model_a": a, "model_b": b, "value_a": round(va, 4),
                                 "value_b": round(vb, 4), "diff": round(res["diff"], 4),
                                 "diff_ci_low": round(res["diff_ci_low"], 4),
                                 "diff_ci_high": round(res["diff_ci_high"], 4),
                                 "p_value": round(res["p_value"], 4), "significant": st.significant(res, ALPHA),
                                 "n": len(sel), "method": res["method"],
                                 "signature": scorer.signature(), "created_at": created})
    return rows


def rank_table(board: "pd.DataFrame", pairwise: "pd.DataFrame") -> "pd.DataFrame":  # noqa: F821
    """Wide pivot: one row per (task, condition, model), one column per metric, plus a rank
    range per metric grouping models whose difference is not significant."""
    import pandas as pd

    from .scorers.registry import LOWER_IS_BETTER, TARGET_ONE

    sig = {}
    if len(pairwise):
        cols = [pairwise[c].astype(str) for c in ("task", "condition", "metric", "model_a", "model_b")]
        for t, c, m, a, b, s_ in zip(*cols, pairwise["significant"]):
            sig[t, c, m, a, b] = sig[t, c, m, b, a] = str(s_) == "True"
    wide: dict[tuple, dict] = {}
    by_metric: dict[tuple, dict[str, float]] = {}
    skip = set()
    for r in board.to_dict("records"):
        key = (r["task"], r["condition"], r["model"])
        row = wide.setdefault(key, {"task": r["task"], "condition": r["condition"], "model": r["model"]})
        row[r["metric"]], row["n"], row["n_errors"] = r["value"], r["n"], r["n_errors"]
        if r["metric"] in TARGET_ONE or str(r["signature"]).startswith(("accounting", "judge-reliability")):
            skip.add(r["metric"])
        by_metric.setdefault((r["task"], r["condition"], r["metric"]), {})[r["model"]] = r["value"]
    for (task, cond, metric), values in by_metric.items():
        if metric in skip:
            continue
        names = sorted(m for m, v in values.items() if not pd.isna(v))
        ranks = st.rank_ranges(names, [values[m] for m in names],
                               lambda x, y: sig.get((task, cond, metric, x, y), False),
                               higher_is_better=metric not in LOWER_IS_BETTER)
        for m, rank in ranks.items():
            wide[task, cond, m][f"rank_{metric}"] = rank
    return pd.DataFrame(sorted(wide.values(), key=lambda r: (r["task"], r["condition"], r["model"])))


def merge_judge_pairwise(results: Path, rows: list[dict]) -> None:
    """Keep the latest judge verdict row per (task, condition, metric, model pair)."""
    import pandas as pd

    path = results / "judge_pairwise.csv"
    new = pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)
    with locked(path):
        if path.exists():
            old = pd.read_csv(path, keep_default_na=False, na_values=[""])
            key = ["task", "condition", "metric", "model_a", "model_b"]
            keys = set(map(tuple, new[key].astype(str).values))
            old = old[~old[key].astype(str).apply(tuple, axis=1).isin(keys)]
            new = pd.concat([old, new], ignore_index=True)
        atomic_write_csv(new, path, PAIRWISE_COLUMNS)


def refresh(results: Path, tasks) -> tuple["pd.DataFrame", "pd.DataFrame"]:  # noqa: F821
    """Recompute pairwise.csv and leaderboard_wide.csv from every model's latest outputs."""
    import pandas as pd

    latest = latest_outputs(results)
    created = now()
    rows = []
    for task in tasks:
        outputs = {m: df for (m, t), df in latest.items() if t == task.id}
        rows.extend(pairwise_rows(task, outputs, created))
    pairwise = pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)
    board_path = results / "leaderboard.csv"
    board = pd.read_csv(board_path, keep_default_na=False, na_values=[""]) if board_path.exists() else pd.DataFrame()
    with locked(results / "pairwise.csv"):
        # keep comparisons of tasks not loaded this time
        old_path = results / "pairwise.csv"
        if old_path.exists():
            old = pd.read_csv(old_path, keep_default_na=False, na_values=[""])
            old = old[~old.task.isin([t.id for t in tasks]) & ~old.metric.astype(str).str.startswith("judge:")]
            pairwise = pd.concat([old, pairwise], ignore_index=True) if len(old) else pairwise
        judge_path = results / "judge_pairwise.csv"
        if judge_path.exists():  # the judges' both-order verdicts share the file and its schema
            pairwise = pd.concat([pairwise, pd.read_csv(judge_path, keep_default_na=False, na_values=[""])],
                                 ignore_index=True)
        atomic_write_csv(pairwise, results / "pairwise.csv", PAIRWISE_COLUMNS)
        wide = rank_table(board, pairwise) if len(board) else pd.DataFrame()
        atomic_write_csv(wide, results / "leaderboard_wide.csv")
    return pairwise, wide
