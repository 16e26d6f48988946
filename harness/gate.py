"""The CI regression gate: compare current outputs with a committed baseline, item by item.

`results/baseline.csv` holds, per (model, task, item), the baseline's output and prompt
hash: a reviewed file in the repository. `harness check` asks the same models the same
items with the current prompts (unchanged prompts are answered from the cache, so they
cost nothing), re-scores both sides with the task's metrics and runs the paired block
bootstrap on each (model, task, metric). A metric regresses when it drops by more than
its threshold (gate.yaml) and the drop is significant. Exit 0: no regression; 1: a
regression; 2: usage or input error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import stats as st
from .errors import UserError
from .io import atomic_write_csv, atomic_write_text
from .paths import ROOT

BASELINE_COLUMNS = ["schema_version", "model", "task", "item_id", "condition", "block", "prompt_hash", "output",
                    "scores"]
GATED_SKIP = {"length_ratio"}  # best at 1.0, no direction to regress in


@dataclass
class Thresholds:
    alpha: float
    default: float
    metrics: dict[str, float]

    def of(self, metric: str) -> float:
        if metric.startswith("judge:"):
            return self.metrics.get("judge", self.default)
        return self.metrics.get(metric, self.default)


def load_thresholds(path: Path) -> Thresholds:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UserError(f"{path}: thresholds file not found") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: malformed YAML ({exc})") from None
    unknown = set(data) - {"alpha", "default", "metrics"}
    if unknown:
        raise UserError(f"{path}: unknown key {sorted(unknown)[0]!r} (allowed: alpha, default, metrics)")
    return Thresholds(float(data.get("alpha", 0.05)), float(data.get("default", 1.0)),
                      {str(k): float(v) for k, v in (data.get("metrics") or {}).items()})


def read_baseline(path: Path) -> "pd.DataFrame":  # noqa: F821
    import pandas as pd

    if not path.exists():
        raise UserError(f"{path}: no baseline; create one with `harness baseline update`")
    try:
        df = pd.read_csv(path, keep_default_na=False, dtype=str)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise UserError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in BASELINE_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"{path}: missing column {missing[0]!r}; regenerate it with `harness baseline update`")
    return df


def outputs_for(tasks, models: list[str], only: dict[str, set[str]] | None, limit: int | None, results: Path):
    """Ask (or read from the cache) every model every selected item; return outcomes by key."""
    from .models import preflight
    from .pipeline import build_requests, execute, store_path
    from .runner import Limits
    from .store import Store

    for m in models:
        preflight(m)
    reqs = build_requests(tasks, models, limit, only=only)
    store = Store(store_path(results))
    try:
        outcomes = execute(reqs, store, Limits())
    finally:
        store.close()
    return {(o.request.model, o.request.tag[0], o.request.tag[1]): o for o in outcomes}, len(reqs), \
        sum(not o.cached for o in outcomes)


def item_scores(task, item, output: str) -> dict[str, float]:
    """Every metric of the task on one item: recorded in the baseline so that a change in
    the scorers themselves is caught (the gate re-scores the baseline outputs and compares)."""
    from .scorers import registry

    out = {}
    for family in task.spec.metrics:
        scorer = registry.make(family, task)
        for name, v in scorer.score(scorer.stats([output], [item])).items():
            out[name] = None if math.isnan(v) else round(v, 6)
    return out


def update_baseline(tasks, models: list[str], limit: int | None, out: Path, results: Path) -> int:
    import json

    import pandas as pd

    got, _, _ = outputs_for(tasks, models, None, limit, results)
    rows = []
    for task in tasks:
        for it in task.items:
            for m in models:
                o = got.get((m, task.id, it.id))
                if o is None:
                    continue
                if o.response is None:
                    raise UserError(f"{m} failed on {task.id}/{it.id} ({o.error}); a baseline needs every answer")
                rows.append({"schema_version": 1, "model": m, "task": task.id, "item_id": it.id,
                             "condition": it.condition, "block": it.block, "prompt_hash": task.prompt_hash,
                             "output": o.response["text"],
                             "scores": json.dumps(item_scores(task, it, o.response["text"]), sort_keys=True)})
    atomic_write_csv(pd.DataFrame(rows), out, BASELINE_COLUMNS)
    return len(rows)


def check(tasks_by_id: dict, baseline: "pd.DataFrame", thresholds: Thresholds, results: Path,  # noqa: F821
          models: list[str] | None = None) -> tuple[int, str, list[dict]]:
    from .leaderboard import metric_fn
    from .scorers import registry
    from .scorers.registry import LOWER_IS_BETTER

    models = models or sorted(baseline.model.unique())
    unknown = sorted(set(baseline.task) - set(tasks_by_id))
    if unknown:
        raise UserError(f"baseline names task {unknown[0]!r}, which is not in tasks/")
    tasks = [tasks_by_id[t] for t in sorted(baseline.task.unique())]
    only = {t: set(baseline.item_id[baseline.task == t]) for t in baseline.task.unique()}
    got, n_req, n_called = outputs_for(tasks, models, only, None, results)
    rows, worst = [], []
    for task in tasks:
        items = {it.id: it for it in task.items}
        for model in models:
            base = baseline[(baseline.task == task.id) & (baseline.model == model)]
            pairs = [(items[r.item_id], r.output, got[(model, task.id, r.item_id)]) for r in base.itertuples()
                     if r.item_id in items and (model, task.id, r.item_id) in got]
            answered = [(it, old, o.response["text"]) for it, old, o in pairs if o.response is not None]
            n_err = len(pairs) - len(answered)
            if len(answered) < 2:
                continue
            its = [a[0] for a in answered]
            blocks = [it.block for it in its]
            old_hash = base.prompt_hash.iloc[0]
            for family in task.spec.metrics:
                scorer = registry.make(family, task)
                before = scorer.stats([a[1] for a in answered], its)
                after = scorer.stats([a[2] for a in answered], its)
                for name in scorer.names:
                    if name in GATED_SKIP:
                        continue
                    fn = metric_fn(scorer, name)
                    res = st.paired_test(after, before, blocks, fn)
                    vb, va = scorer.score(before)[name], scorer.score(after)[name]
                    if math.isnan(vb) or math.isnan(va):
                        continue
                    sign = -1 if name in LOWER_IS_BETTER else 1
                    drop = -sign * res["diff"]  # positive = worse
                    limit = thresholds.of(name)
                    regressed = drop > limit and st.significant(res, thresholds.alpha)
                    rows.append({"model": model, "task": task.id, "metric": name, "before": vb, "after": va,
                                 "diff": res["diff"], "ci_low": res["diff_ci_low"], "ci_high": res["diff_ci_high"],
                                 "p_value": res["p_value"], "threshold": limit, "regressed": regressed,
                                 "n": len(answered), "n_errors": n_err, "prompt_before": old_hash,
                                 "prompt_after": task.prompt_hash})
                    if regressed and family == task.spec.metrics[0]:
                        per = [sign * (scorer.score(after[k:k + 1])[name] - scorer.score(before[k:k + 1])[name])
                               for k in range(len(its))]
                        for k in np.argsort(per)[:3]:
                            worst.append({"model": model, "task": task.id, "metric": name, "item": its[k].id,
                                          "delta": per[k], "before": answered[k][1], "after": answered[k][2]})
    rows.extend(scoring_drift(tasks, baseline))
    regressed = [r for r in rows if r["regressed"]]
    md = summary_markdown(rows, worst, tasks, baseline, n_req, n_called, thresholds)
    return (1 if regressed else 0), md, rows


def scoring_drift(tasks, baseline) -> list[dict]:
    """Re-score the baseline outputs and compare with the scores recorded with them: any
    difference means the scorers changed, which fails the gate like a regression."""
    import json

    rows = []
    for task in tasks:
        items = {it.id: it for it in task.items}
        base = baseline[baseline.task == task.id]
        drift: dict[str, list[float]] = {}
        for r in base.itertuples():
            if r.item_id not in items or not r.scores:
                continue
            now_scores = item_scores(task, items[r.item_id], r.output)
            for name, old in json.loads(r.scores).items():
                new = now_scores.get(name)
                if (old is None) != (new is None) or (old is not None and abs(old - new) > 1e-4):
                    drift.setdefault(name, []).append((old, new))
        for name, changes in drift.items():
            rows.append({"model": "(scorer)", "task": task.id, "metric": f"{name} (scoring changed)",
                         "before": float(changes[0][0] or 0), "after": float(changes[0][1] or 0),
                         "diff": float((changes[0][1] or 0) - (changes[0][0] or 0)), "ci_low": math.nan,
                         "ci_high": math.nan, "p_value": 0.0, "threshold": 0.0, "regressed": True,
                         "n": len(changes), "n_errors": 0, "prompt_before": "", "prompt_after": ""})
    return rows


def _short(text: str, n: int = 220) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n] + "…"


def summary_markdown(rows, worst, tasks, baseline, n_req, n_called, th: Thresholds) -> str:
    regressed = [r for r in rows if r["regressed"]]
    lines = [f"## harness check: {'❌ ' + str(len(regressed)) + ' regression(s)' if regressed else '✅ no regression'}",
             "", f"{n_req} requests, {n_called} sent to a model (the rest from the cache). "
             f"A metric regresses when it drops by more than its threshold and p < {th.alpha} "
             "(paired bootstrap over the same items, resampling source sections).", ""]
    changed = []
    for t in tasks:
        old = set(baseline.prompt_hash[baseline.task == t.id])
        if old != {t.prompt_hash}:
            changed.append(f"- `{t.id}`: prompt `{', '.join(sorted(old))}` → `{t.prompt_hash}` "
                           f"({t.spec.prompt})")
    lines += ["### Prompts changed", *(changed or ["- none"]), ""]
    lines += ["### Deltas (after − before)", "",
              "| model | task | metric | before | after | Δ [95% CI] | p | threshold | |",
              "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in sorted(rows, key=lambda r: (not r["regressed"], r["task"], r["model"], r["metric"])):
        flag = "❌ regressed" if r["regressed"] else ""
        lines.append(f"| {r['model']} | {r['task']} | {r['metric']} | {r['before']:.2f} | {r['after']:.2f} | "
                     f"{r['diff']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}] | {r['p_value']:.3f} | "
                     f"{r['threshold']:.2f} | {flag} |")
    if worst:
        lines += ["", "### Worst items", ""]
        for w in worst:
            lines += [f"**{w['model']} · {w['task']} · {w['item']}** ({w['metric']} {w['delta']:+.1f})", "",
                      f"- before: {_short(w['before'])}", f"- after: {_short(w['after'])}", ""]
    return "\n".join(lines) + "\n"


def write_summary(md: str, path: Path) -> None:
    atomic_write_text(path, md)


def default_thresholds_path() -> Path:
    return ROOT / "gate.yaml"
