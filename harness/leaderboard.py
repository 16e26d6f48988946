"""Aggregation into the leaderboard: the CSV schema, per-condition rows with block-bootstrap
CIs, and merging a run into `results/leaderboard.csv` (latest result per key wins).

The leaderboard is long format: one row per (model, task, condition, metric). `condition`
is `all` for the pooled row, a condition name (e.g. `asr-punctuated`), `macro` for the mean
over conditions weighted equally, or `tag=value` for a tag view (e.g.
`origin=zh-original`, `script=traditional`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import stats as st
from .io import atomic_write_csv, locked

SCHEMA_VERSION = 1
LEADERBOARD_COLUMNS = ["schema_version", "model", "task", "condition", "metric", "value", "ci_low", "ci_high",
                       "n", "n_errors", "signature", "prompt_hash", "run_id", "created_at"]
KEY = ["model", "task", "condition", "metric"]
TAGS = ("origin", "script", "genre")
ACCOUNTING_SIGNATURE = "accounting|harness"


@dataclass
class Scored:
    """One (model, task): the items that got an answer, their metric stats, and the errors."""

    model: str
    task: str
    prompt_hash: str
    item_ids: list[str]
    metas: list[dict]  # per answered item: condition, block and tags
    stats: dict[str, np.ndarray]  # metric family -> (n_items, k)
    scorers: dict[str, object]  # metric family -> scorer
    error_metas: list[dict]  # per errored item, same keys as `metas`
    accounting: dict[str, list]

    @property
    def conditions(self) -> list[str]:
        return [m["condition"] for m in self.metas]

    @property
    def blocks(self) -> list[str]:
        return [m["block"] for m in self.metas]


def views(metas: list[dict]) -> dict[str, callable]:
    """Every condition view of a (model, task): name -> predicate on an item's meta."""
    out = {"all": lambda m: True}
    conds = sorted({m["condition"] for m in metas})
    if len(conds) > 1:
        for c in conds:
            out[c] = lambda m, _c=c: m["condition"] == _c
    for tag in TAGS:
        values = sorted({str(m[tag]) for m in metas if m.get(tag) is not None})
        if len(values) > 1:
            for v in values:
                out[f"{tag}={v}"] = lambda m, _t=tag, _v=v: str(m.get(_t)) == _v
    return out


def rows_for(sc: Scored, run_id: str, created_at: str, with_ci: bool = True) -> list[dict]:
    rows = []
    selections = {name: (np.array([i for i, m in enumerate(sc.metas) if pred(m)], dtype=int),
                         sum(1 for m in sc.error_metas if pred(m)))
                  for name, pred in views(sc.metas + sc.error_metas).items()}
    errors_all = len(sc.error_metas)
    for family, scorer in sc.scorers.items():
        stats = sc.stats[family]
        for cond, (sel, n_err) in selections.items():
            blocks = [sc.blocks[i] for i in sel]
            values = scorer.score(stats[sel]) if len(sel) else {n: math.nan for n in scorer.names}
            for name in scorer.names:
                fn = metric_fn(scorer, name)
                lo, hi = st.bootstrap_ci(stats[sel], blocks, fn) if with_ci and len(sel) > 1 else (math.nan, math.nan)
                rows.append(_row(sc, cond, name, values[name], lo, hi, len(sel), n_err, scorer.signature(),
                                 run_id, created_at))
        if len(set(sc.conditions)) > 1:
            rows.extend(_macro_rows(sc, family, run_id, created_at, errors_all, with_ci))
    rows.extend(_pair_delta_rows(sc, run_id, created_at, with_ci))
    rows.extend(_accounting_rows(sc, run_id, created_at, errors_all))
    return rows


NOISY, CLEANED = "noisy-script", "noisy-script-cleaned"


def _pair_delta_rows(sc: Scored, run_id: str, created_at: str, with_ci: bool) -> list[dict]:
    """Noisy minus cleaned text of the same passages (items paired by `pair`), with a paired
    bootstrap CI over the pairs: the cost of the conversion noise with content held fixed."""
    where = {(m.get("pair"), m["condition"]): i for i, m in enumerate(sc.metas) if m.get("pair")}
    pairs = sorted({p for p, c in where if c == NOISY and (p, CLEANED) in where})
    if len(pairs) < 2:
        return []
    noisy = np.array([where[p, NOISY] for p in pairs])
    clean = np.array([where[p, CLEANED] for p in pairs])
    blocks = [sc.blocks[i] for i in noisy]
    out = []
    for family, scorer in sc.scorers.items():
        stats = sc.stats[family]
        for name in scorer.names:
            fn = metric_fn(scorer, name)
            if with_ci:
                res = st.paired_test(stats[noisy], stats[clean], blocks, fn)
            else:
                res = {"diff": scorer.score(stats[noisy])[name] - scorer.score(stats[clean])[name],
                       "diff_ci_low": math.nan, "diff_ci_high": math.nan}
            out.append(_row(sc, f"delta={NOISY}-minus-cleaned", name, res["diff"], res["diff_ci_low"],
                            res["diff_ci_high"], len(pairs), 0, scorer.signature() + "|paired:noisy-minus-cleaned",
                            run_id, created_at))
    return out


def metric_fn(scorer, name: str):
    """(summed stats, count) -> value of one metric name; vectorised where the scorer can be."""
    if hasattr(scorer, "score_matrix"):
        fn = lambda sums, counts: scorer.score_matrix(sums, counts)[name]  # noqa: E731
        fn.vectorised = True
        return fn
    return lambda total, n: scorer.score_sums(total, n)[name]


def _macro_rows(sc: Scored, family: str, run_id: str, created_at: str, n_err: int, with_ci: bool) -> list[dict]:
    """Mean over conditions, each weighted equally; CI from resampling blocks."""
    scorer, stats = sc.scorers[family], sc.stats[family]
    conds = np.array(sc.conditions)
    cols = [np.where(conds == c)[0] for c in sorted(set(sc.conditions))]
    weights = st.resample_weights(sc.blocks) if with_ci else np.zeros((0, len(conds)))
    out = []
    for name in scorer.names:
        value = float(np.mean([scorer.score(stats[c])[name] for c in cols]))
        per_cond = [st.resampled_scores(stats[c], weights[:, c], metric_fn(scorer, name)) for c in cols]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample may miss a condition entirely
            mean = np.nanmean(np.array(per_cond, dtype=float), axis=0) if with_ci else None
        lo, hi = st.percentile_ci(mean) if with_ci else (math.nan, math.nan)
        out.append(_row(sc, "macro", name, value, lo, hi, len(sc.item_ids), n_err,
                        scorer.signature() + "|macro:conditions-equal", run_id, created_at))
    return out


def _accounting_rows(sc: Scored, run_id: str, created_at: str, n_err: int) -> list[dict]:
    acc = sc.accounting
    n = len(acc["finish_reason"])
    length = sum(1 for f in acc["finish_reason"] if f == "length")
    cost = [c for c in acc["cost_usd"] if c is not None and not (isinstance(c, float) and math.isnan(c))]
    toks = [t for t in acc["completion_tokens"] if t is not None]
    values = {
        "finish_length_rate": 100.0 * length / n if n else math.nan,
        "input_truncated_rate": 100.0 * sum(bool(t) for t in acc["input_truncated"]) / n if n else math.nan,
        "completion_tokens_mean": float(np.mean(toks)) if toks else math.nan,
        "cost_usd_total": float(sum(cost)) if cost else math.nan,
    }
    return [_row(sc, "all", k, v, math.nan, math.nan, n, n_err, ACCOUNTING_SIGNATURE, run_id, created_at)
            for k, v in values.items()]


def _row(sc: Scored, cond: str, metric: str, value: float, lo: float, hi: float, n: int, n_err: int,
         signature: str, run_id: str, created_at: str) -> dict:
    return {"schema_version": SCHEMA_VERSION, "model": sc.model, "task": sc.task, "condition": cond,
            "metric": metric, "value": _r(value), "ci_low": _r(lo), "ci_high": _r(hi), "n": n,
            "n_errors": n_err, "signature": signature, "prompt_hash": sc.prompt_hash, "run_id": run_id,
            "created_at": created_at}


def _r(x: float) -> float:
    return round(float(x), 4) if x is not None and not math.isnan(float(x)) else math.nan


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(path: Path, new_rows: list[dict]) -> "pd.DataFrame":  # noqa: F821
    """Replace this run's keys in the leaderboard and keep every other row (atomic, locked)."""
    import pandas as pd

    new = pd.DataFrame(new_rows, columns=LEADERBOARD_COLUMNS)
    with locked(path):
        if path.exists():
            old = pd.read_csv(path, keep_default_na=False, na_values=[""])
            if not old.empty:
                keys = set(map(tuple, new[KEY].astype(str).values))
                keep = ~old[KEY].astype(str).apply(tuple, axis=1).isin(keys)
                new = pd.concat([old[keep], new], ignore_index=True)
        new = new.sort_values(["task", "condition", "metric", "model"], kind="stable").reset_index(drop=True)
        atomic_write_csv(new, path, LEADERBOARD_COLUMNS)
    return new
