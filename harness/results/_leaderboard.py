"""Aggregation into the leaderboard: the CSV schema, per-condition rows with block-level (jackknife-t)
CIs, and merging a run into `results/leaderboard.csv` (latest result per key wins).

The leaderboard is long format: one row per (model, task, condition, metric). `condition`
is `all` for the pooled row, a condition name (e.g. `asr-punctuated`), `macro` for the mean
over conditions weighted equally, or `tag=value` for a tag view (e.g.
`origin=zh-original`, `script=traditional`). Pooled views (`all`, `macro`, tags) leave out
the cleaned control condition when its noisy twin is there (see `pooled`). Every row
records the item set it was computed on (`item_set`: a short hash of the sorted item ids
asked, answered or not), so runs on different samples are never compared.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from harness import inference as st
from harness.score import registry
from harness.core import atomic_write_csv, locked, schema

SCHEMA_VERSION = schema.LEADERBOARD.version
LEADERBOARD_COLUMNS = list(schema.LEADERBOARD.columns)
# A run replaces only rows of the same prompt and items: other prompt versions and samples stay.
KEY = ["model", "task", "condition", "metric", "prompt_hash", "item_set"]
VERSION = ["prompt_hash", "sample"]  # what one version of a (model, task) is
TEXT_COLUMNS = schema.LEADERBOARD.raw_text
TAGS = ("origin", "script", "genre")
ACCOUNTING_SIGNATURE = "accounting|harness"
NOISY, CLEANED = "noisy-script", "noisy-script-cleaned"


@dataclass
class Scored:
    """One (model, task): the items that got an answer, their metric stats, and the errors."""

    model: str
    task: str
    prompt_hash: str
    item_ids: list[str]
    metas: list[dict]  # per answered item: id, condition, block, pair and tags
    stats: dict[str, np.ndarray]  # metric family -> (n_items, k)
    scorers: dict[str, object]  # metric family -> scorer
    error_metas: list[dict]  # per errored item, same keys as `metas`
    accounting: dict[str, list]

    # computed once: rows_for reads them per view and item (a property made that O(n²))
    @cached_property
    def conditions(self) -> list[str]:
        return [m["condition"] for m in self.metas]

    @cached_property
    def blocks(self) -> list[str]:
        return [m["block"] for m in self.metas]

    @cached_property
    def sample(self) -> str:
        """The item set of the `all` view (every item asked, answered or not): which sample
        of the task every row of this (model, task) belongs to."""
        everything = self.metas + self.error_metas
        inside = pooled_rule(everything)
        return item_set_id(m.get("id", k) for k, m in enumerate(everything) if inside(m))


def item_set_id(ids) -> str:
    """Short, order-free fingerprint of a set of item ids: "<count>:<10 hex digits of SHA-1>"
    (the colon also keeps CSV readers from taking it for a number)."""
    unique = sorted(set(map(str, ids)))
    return f"{len(unique)}:" + hashlib.sha1("\n".join(unique).encode("utf-8")).hexdigest()[:10]



def pooled(metas: list[dict]) -> list[bool]:
    """Which items a pooled view (`all`, `macro`, tag views) counts: all but the cleaned
    control when its noisy twin is present. The cleaned passages are the noisy ones with
    the noise removed; pooling both would count those passages twice (translation's doc 003
    would be 100 of 300 items). They keep their own row and the `delta` row."""
    inside = pooled_rule(metas)
    return [inside(m) for m in metas]


def pooled_rule(metas: list[dict]):
    """The predicate behind `pooled` for this set of items."""
    twins = any(m["condition"] == NOISY for m in metas)
    return lambda m: not (twins and m["condition"] == CLEANED)


def views(metas: list[dict]) -> dict[str, callable]:
    """Every condition view of a (model, task): name -> predicate on an item's meta. The
    pooled views (`all` and tags) leave the cleaned control out (see `pooled`)."""
    inside = pooled_rule(metas)
    out = {"all": inside}
    conds = sorted({m["condition"] for m in metas})
    if len(conds) > 1:
        for c in conds:
            out[c] = lambda m, _c=c: m["condition"] == _c
    for tag in TAGS:
        values = sorted({str(m[tag]) for m in metas if m.get(tag) is not None and inside(m)})
        if len(values) > 1:
            for v in values:
                out[f"{tag}={v}"] = lambda m, _t=tag, _v=v: inside(m) and str(m.get(_t)) == _v
    return out


def rows_for(sc: Scored, run_id: str, created_at: str, with_ci: bool = True) -> list[dict]:
    rows = []
    everything = sc.metas + sc.error_metas
    n_ok = len(sc.metas)
    selections = {}
    for name, pred in views(everything).items():
        chosen = [k for k, m in enumerate(everything) if pred(m)]
        sel = np.array([k for k in chosen if k < n_ok], dtype=int)
        selections[name] = (sel, len(chosen) - len(sel), item_set_id(everything[k].get("id", k) for k in chosen))
    errors_all = len(sc.error_metas)
    blocks = sc.blocks
    for family, scorer in sc.scorers.items():
        stats = sc.stats[family]
        for cond, (sel, n_err, item_set) in selections.items():
            sel_blocks = [blocks[i] for i in sel]
            values = scorer.score(stats[sel]) if len(sel) else {n: math.nan for n in scorer.names}
            n_scored = _n_scored(scorer, stats[sel])
            for name in scorer.names:
                fn = metric_fn(scorer, name)
                lo, hi, method = (st.score_ci(stats[sel], sel_blocks, fn, bounds=registry.metric(name).bounds)
                                  if with_ci and len(sel) > 1 else (math.nan, math.nan, st.SCORE_CI_METHOD))
                rows.append(_row(sc, cond, name, values[name], lo, hi, n_scored, n_err + len(sel) - n_scored, item_set,
                                 scorer.signature() + f"|ci:{method}", run_id, created_at))
        if len(set(sc.conditions)) > 1:
            rows.extend(_macro_rows(sc, family, run_id, created_at, with_ci))
    rows.extend(_pair_delta_rows(sc, run_id, created_at, with_ci))
    # what the run cost: `all` counts every item asked, the cleaned control too (unlike the scores)
    accounted = {**selections, "all": (np.arange(n_ok), errors_all, item_set_id(m.get("id", k)
                                                                            for k, m in enumerate(everything)))}
    for cond, (sel, n_err, item_set) in accounted.items():
        rows.extend(_accounting_rows(sc, cond, sel, run_id, created_at, n_err, item_set))
    return rows


def _pair_delta_rows(sc: Scored, run_id: str, created_at: str, with_ci: bool) -> list[dict]:
    """Noisy minus cleaned text of the same passages (items paired by `pair`), tested and
    with a CI over the pairs' blocks: the cost of the conversion noise with content held fixed."""
    where = {(m.get("pair"), m["condition"]): i for i, m in enumerate(sc.metas) if m.get("pair")}
    pairs = sorted({p for p, c in where if c == NOISY and (p, CLEANED) in where})
    if len(pairs) < 2:
        return []
    noisy = np.array([where[p, NOISY] for p in pairs])
    clean = np.array([where[p, CLEANED] for p in pairs])
    blocks = [sc.blocks[i] for i in noisy]
    item_set = item_set_id(sc.metas[i].get("id", i) for i in [*noisy, *clean])
    out = []
    for family, scorer in sc.scorers.items():
        stats = sc.stats[family]
        for name in scorer.names:
            fn = metric_fn(scorer, name)
            if with_ci:
                res = st.paired_test(stats[noisy], stats[clean], blocks, fn)
                how = f"|paired:noisy-minus-cleaned|{res['method']}"
            else:
                res = {"diff": scorer.score(stats[noisy])[name] - scorer.score(stats[clean])[name],
                       "diff_ci_low": math.nan, "diff_ci_high": math.nan}
                how = "|paired:noisy-minus-cleaned"
            out.append(_row(sc, f"delta={NOISY}-minus-cleaned", name, res["diff"], res["diff_ci_low"],
                            res["diff_ci_high"], len(pairs), 0, item_set, scorer.signature() + how,
                            run_id, created_at))
    return out


def _n_scored(scorer, stats: np.ndarray) -> int:
    """Answered items the scorer could score: all of them, except where a scorer (the judge)
    failed on some; those count in n_errors."""
    return scorer.n_scored(stats)


def metric_fn(scorer, name: str):
    """(summed stats, count) -> value of one metric name; vectorised where the scorer can be."""
    fn = lambda sums, counts: scorer.score_matrix(sums, counts)[name]  # noqa: E731
    fn.vectorised = True
    return fn


def _macro_rows(sc: Scored, family: str, run_id: str, created_at: str, with_ci: bool) -> list[dict]:
    """Mean over conditions, each weighted equally (the cleaned control left out, as in
    `all`); the CI is stratified: blocks are left out within each condition."""
    scorer, stats = sc.scorers[family], sc.stats[family]
    inside = pooled_rule(sc.metas + sc.error_metas)
    names = sorted({m["condition"] for m in sc.metas if inside(m)})
    cols = [np.array([i for i, m in enumerate(sc.metas) if m["condition"] == c], dtype=int) for c in names]
    errs = sum(1 for m in sc.error_metas if m["condition"] in names)
    asked = [m.get("id", i) for i, m in enumerate(sc.metas + sc.error_metas) if m["condition"] in names]
    blocks = sc.blocks
    out = []
    for name in scorer.names:
        parts = [(stats[c], [blocks[i] for i in c]) for c in cols]
        value, lo, hi, used = st.stratified_mean_ci(parts, metric_fn(scorer, name), with_ci=with_ci)
        n_ok = sum(_n_scored(scorer, stats[cols[i]]) for i in used)
        errs_all = errs + sum(len(cols[i]) - _n_scored(scorer, stats[cols[i]]) for i in used)
        out.append(_row(sc, "macro", name, value, lo, hi, n_ok, errs_all, item_set_id(asked),
                        # how many conditions the mean is over: those where the metric is undefined
                        # (no numbers, no key facts) are left out of the value and the CI alike
                        scorer.signature() + f"|macro:conditions-equal|conditions:{len(used)}of{len(names)}"
                        f"|ci:stratified-{st.CI_METHOD}",
                        run_id, created_at))
    return out


def _known(values) -> list:
    return [v for v in values if v is not None and v != "" and not (isinstance(v, float) and math.isnan(v))]


def cost_basis(free: bool, costs: list) -> str:
    """What `cost_usd_total` rests on: `free` (a baseline or embedded model: 0 by definition),
    `priced` (litellm priced every answer), `unknown` (some answer has no price: no total)."""
    if free:
        return "free"
    return "priced" if len(_known(costs)) == len(costs) else "unknown"


def _accounting_rows(sc: Scored, cond: str, sel, run_id: str, created_at: str, n_err: int,
                     item_set: str) -> list[dict]:
    """Answers cut off, inputs truncated, tokens (mean and total) and cost of one view's answers."""
    acc, n = sc.accounting, len(sel)
    pick = lambda key: [acc.get(key, [None] * len(sc.metas))[i] for i in sel]  # noqa: E731
    finish, truncated, costs = pick("finish_reason"), pick("input_truncated"), pick("cost_usd")
    basis = cost_basis(bool(acc.get("free")), costs)
    values = {
        "finish_length_rate": 100.0 * sum(1 for f in finish if f == "length") / n if n else math.nan,
        "input_truncated_rate": 100.0 * sum(bool(t) for t in truncated) / n if n else math.nan,
    }
    for kind in ("prompt", "completion"):
        toks = pick(f"{kind}_tokens")
        known = [float(t) for t in _known(toks)]
        values[f"{kind}_tokens_mean"] = float(np.mean(known)) if known else math.nan
        values[f"{kind}_tokens_total"] = float(sum(known)) if known and len(known) == n else math.nan
    values["cost_usd_total"] = (0.0 if basis == "free" else
                                float(sum(map(float, costs))) if basis == "priced" else math.nan)
    rows = [_row(sc, cond, k, v, math.nan, math.nan, n, n_err, item_set, ACCOUNTING_SIGNATURE, run_id, created_at)
            for k, v in values.items()]
    rows[-1]["cost_basis"] = basis
    if not math.isnan(values["cost_usd_total"]):  # dollars per item can be 1e-5: 4 decimals would say 0
        rows[-1]["value"] = round(values["cost_usd_total"], 10)
    return rows


def _row(sc: Scored, cond: str, metric: str, value: float, lo: float, hi: float, n: int, n_err: int,
         item_set: str, signature: str, run_id: str, created_at: str) -> dict:
    return {"schema_version": SCHEMA_VERSION, "model": sc.model, "task": sc.task, "condition": cond,
            "metric": metric, "value": _r(value), "ci_low": _r(lo), "ci_high": _r(hi), "n": n,
            "n_errors": n_err, "item_set": item_set, "sample": sc.sample, "signature": signature,
            "prompt_hash": sc.prompt_hash, "cost_basis": "", "run_id": run_id, "created_at": created_at}


def _r(x: float) -> float:
    return round(float(x), 4) if x is not None and not math.isnan(float(x)) else math.nan


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read(path: Path) -> "pd.DataFrame":  # noqa: F821
    """The leaderboard file as written: text columns as str ('' when empty), numbers as float."""
    import pandas as pd

    df = pd.read_csv(path, keep_default_na=False, na_values=[""],
                     dtype={c: str for c in TEXT_COLUMNS})
    for c in TEXT_COLUMNS:
        df[c] = df[c].fillna("").astype(str) if c in df else ""
    return df


def _keys(df: "pd.DataFrame", cols=KEY) -> list[tuple]:  # noqa: F821
    return list(map(tuple, df[cols].fillna("").astype(str).values))


# A metric re-run on one version replaces every row of it there, whatever its condition, so a
# view the new run no longer has (a renamed condition) does not linger beside the new rows.
RERUN = ["model", "task", "prompt_hash", "sample", "metric"]


def merge(path: Path, new_rows: list[dict]) -> "pd.DataFrame":  # noqa: F821
    """Replace the rows with this run's keys (same model, task, condition, metric, prompt and
    items), and every row of a metric this run wrote for the same version (model, task,
    prompt, sample); keep every other row: other prompt versions, samples and metrics not
    recomputed (judge scores of an earlier `--judge` run) stay (atomic, locked)."""
    import pandas as pd

    new = pd.DataFrame(new_rows, columns=LEADERBOARD_COLUMNS)
    for c in TEXT_COLUMNS:
        new[c] = new[c].fillna("").astype(str)
    with locked(path):
        if path.exists():
            old = read(path)
            if not old.empty:
                mine, rerun = set(_keys(new)), set(_keys(new, RERUN))
                keep = [k not in mine and r not in rerun for k, r in zip(_keys(old), _keys(old, RERUN))]
                new = pd.concat([old[keep], new], ignore_index=True)
        new = new.sort_values(["task", "condition", "metric", "model"], kind="stable").reset_index(drop=True)
        atomic_write_csv(new, path, LEADERBOARD_COLUMNS)
    return new


# --- versions: one (model, task) may have rows from several prompts and samples -------------

def sample_size(sample: str) -> int:
    """Items in a sample (`<count>:<hash>`); 0 when it says none."""
    head = str(sample).partition(":")[0]
    return int(head) if head.isdigit() else 0


def _latest_version(df: "pd.DataFrame") -> dict[tuple, tuple]:  # noqa: F821
    """(model, task) -> (prompt_hash, sample) of the version shown: the prompt of its most
    recently written row, on the largest sample run with that prompt (the latest of equal
    ones), so that a `--limit` check after a full run never hides the full result."""
    cols = [c for c in VERSION if c in df]
    order = [c for c in ("created_at", "run_id") if c in df]
    latest = df.fillna({c: "" for c in cols})
    latest = latest.sort_values(order, kind="stable", na_position="first") if order else latest
    out = {}
    for k, g in latest.groupby(["model", "task"], sort=False):
        last = g[cols].iloc[-1].astype(str)
        if "sample" in cols and "prompt_hash" in cols:
            mine = g[g.prompt_hash.astype(str) == last["prompt_hash"]]
            sizes = [sample_size(s) for s in mine["sample"]]
            best = max(sizes)
            last = mine[cols].iloc[max(i for i, s in enumerate(sizes) if s == best)].astype(str)
        out[k] = tuple(last)
    return out


def current(df: "pd.DataFrame") -> "pd.DataFrame":  # noqa: F821
    """Each (model, task)'s latest version only: its latest prompt on the largest sample run
    with it (older prompts and other `--limit` samples are kept in the file and listed by
    `versions`). A frame without version columns is returned as is."""
    cols = [c for c in VERSION if c in df]
    if df.empty or not cols:
        return df
    latest = _latest_version(df)
    mine = [latest[(m, t)] == tuple(str(v) for v in vs)
            for m, t, *vs in df[["model", "task", *cols]].fillna("").itertuples(index=False)]
    return df[mine]


def versions(df: "pd.DataFrame", model: str | None = None) -> "pd.DataFrame":  # noqa: F821
    """One row per (model, task, prompt_hash, sample): when it last ran, its `all` scores (one
    column per metric), and whether it is the version shown by default (`latest`)."""
    import pandas as pd

    if model is not None:
        df = df[df.model == model]
    if df.empty:
        return pd.DataFrame(columns=["model", "task", "prompt_hash", "sample", "run_id", "created_at", "n",
                                     "latest"])
    latest = _latest_version(df)
    out = []
    for (m, t, ph, smp), g in df.fillna({"sample": ""}).groupby(["model", "task", "prompt_hash", "sample"], sort=False):
        g = g.sort_values(["created_at", "run_id"], kind="stable")
        alls = g[(g.condition == "all") & (g.signature != ACCOUNTING_SIGNATURE)]  # scores: n of the pooled view
        row = {"model": m, "task": t, "prompt_hash": ph, "sample": smp, "run_id": g.run_id.iloc[-1],
               "created_at": g.created_at.iloc[-1],
               "n": int(alls.n.max()) if len(alls) and pd.notna(alls.n.max()) else 0,
               "latest": latest[(m, t)] == (str(ph), str(smp))}
        row.update({r.metric: r.value for r in alls.itertuples()})
        out.append(row)
    return pd.DataFrame(out).sort_values(["model", "task", "created_at"], kind="stable").reset_index(drop=True)


def version_note(shown: "pd.DataFrame", everything: "pd.DataFrame") -> str:  # noqa: F821
    """Says which version of each model a table shows, and where the older ones are: what
    the models share is said once (one run, one item sample), so the line stays short."""
    if shown.empty or "prompt_hash" not in shown:
        return ""
    prompts: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    runs: dict[str, list[str]] = {}
    older = []
    for (m, t), g in shown.groupby(["model", "task"], sort=True):
        if str(m).startswith("judge:"):  # the judge's reliability rows: no prompt or sample of their own
            continue
        prompts.setdefault(g.prompt_hash.iloc[0] or "–", []).append(m)
        samples.setdefault((g["sample"].iloc[0] if "sample" in g else "") or "–", []).append(m)
        runs.setdefault(g.run_id.iloc[-1], []).append(m)
        mine = everything[(everything.model == m) & (everything.task == t)]
        n_old = len(mine.drop_duplicates([c for c in VERSION if c in mine])) - 1
        if n_old > 0:
            older.append(f"{m}: {n_old} older version(s), `harness leaderboard --history {m}`")
    if not runs:
        return ""

    def said(label: str, groups: dict[str, list[str]]) -> str:
        if len(groups) == 1:
            return f"{label} {next(iter(groups))}"
        return "; ".join(f"{label} {k} ({', '.join(ms)})" for k, ms in groups.items())

    text = "latest version of each model: " + ", ".join(said(lbl, g) for lbl, g in
                                                        (("prompt", prompts), ("items", samples), ("run", runs)))
    return text + ("; " + "; ".join(older) if older else "")
