"""Pairwise significance between every two models, rank ranges, and the wide pivot.

Comparisons are paired: two models are compared on the items both answered, with the
block-level paired randomization test of `stats.paired_test`, and only when both were
asked the same items (the same `--limit` sample or the full task): runs on different
samples are never compared. Each model's per-item statistics are computed once (or taken
from this run's scoring), kept in `results/cache/item-stats/` under a fingerprint of its
outputs and the scorers' signatures, and reused for every pair; a pair whose two
fingerprints are unchanged keeps its rows from the last `pairwise.csv` (`inputs` column).
So a re-run of 2 models beside 6 stored ones scores 2 models and tests 13 pairs, not 28.
Writes `results/pairwise.csv` and `results/leaderboard_wide.csv`.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import inference as st
from harness.core import atomic_write_csv, locked, schema
from harness.results._runs import Latest, latest_runs, outputs_digest, read_items
from harness.results._leaderboard import ACCOUNTING_SIGNATURE, SCHEMA_VERSION, item_set_id, metric_fn, now, pooled_rule
from harness.score import JUDGE_PREFIX

PAIRWISE_COLUMNS = list(schema.PAIRWISE.columns)
ALPHA = 0.05


@dataclass
class ModelStats:
    """One model on one task: the sample it was asked, the items it answered (in task
    order), their per-item statistics per metric family, and a fingerprint of all that."""

    sample: str  # item_set_id of every item asked
    ids: list[str]
    stats: dict[str, np.ndarray]
    fingerprint: str = ""
    asked: tuple[str, ...] = ()  # every item asked, answered or not
    prompt_hash: str = ""
    run_id: str = ""

    def item_set(self, items: dict, view: str) -> str:
        """The leaderboard's `item_set` of this model's row for a view (`all` or a condition)."""
        metas = [{"id": i, "condition": items[i].condition} for i in self.asked]
        inside = pooled_rule(metas)
        return item_set_id(m["id"] for m in metas if (inside(m) if view == "all" else m["condition"] == view))


def fingerprint(task, rows: "pd.DataFrame", scorers: dict) -> str:  # noqa: F821
    """What a model's statistics and tests depend on: its outputs and errors, the task's
    items and references, the scorers' signatures and the statistics' methods."""
    return _fingerprint(task, scorers, outputs_digest(rows.item_id, rows.output, rows.error))


def _fingerprint(task, scorers: dict, digest: str) -> str:
    h = hashlib.sha1()
    h.update(f"{task.id}|{SCHEMA_VERSION}|{st.CI_METHOD}|{st.SCORE_CI_METHOD}|{st.RESAMPLES}|{st.SEED}|"
             f"{st.EXACT_MAX_BLOCKS}".encode())
    for family in sorted(scorers):
        h.update(f"\x1d{family}:{scorers[family].signature()}".encode())
    for it in task.items:
        h.update(f"\x1d{it.id}\x1f{it.block}\x1f{it.condition}\x1f{chr(31).join(it.references)}".encode())
    h.update(f"\x1e{digest}".encode())
    return h.hexdigest()[:20]


def model_stats(task, rows: "pd.DataFrame", scorers: dict, scored=None,  # noqa: F821
                cache: Path | None = None) -> ModelStats:
    """Score a model's stored outputs once; `scored` (this run's `Scored`) is reused when it
    covers exactly the same answered items, else the statistics cached under the model's
    fingerprint in `cache`, else the scorers run (and the result is cached)."""
    known = {it.id for it in task.items}
    asked = [i for i in rows.item_id if i in known]
    answered = dict(zip(rows.item_id[rows.error == ""], rows.output[rows.error == ""]))
    ids = [it.id for it in task.items if it.id in answered]
    fp = fingerprint(task, rows, scorers)
    path = cache / f"{fp}.npz" if cache is not None else None
    stats = None
    if scored is not None and sorted(scored.item_ids) == sorted(ids) and all(f in scored.stats for f in scorers):
        where = {i: k for k, i in enumerate(scored.item_ids)}
        order = np.array([where[i] for i in ids], dtype=int)
        stats = {f: scored.stats[f][order] for f in scorers}
    elif path is not None:
        stats = _load_stats(path, ids, scorers)
    if stats is None:
        items = {it.id: it for it in task.items}
        its = [items[i] for i in ids]
        stats = {f: (sc.stats([answered[i] for i in ids], its) if ids else np.zeros((0, 1)))
                 for f, sc in scorers.items()}
    if path is not None and not path.exists():
        _save_stats(path, ids, stats)
    first = lambda col: str(rows[col].iloc[0]) if col in rows and len(rows) else ""  # noqa: E731
    return ModelStats(item_set_id(asked), ids, stats, fp, tuple(asked), first("prompt_hash"), first("run_id"))


def cached_model_stats(task, latest: Latest, scorers: dict, cache: Path | None) -> ModelStats | None:
    """A model's statistics from the run index and the statistics cache alone, without reading
    its items.csv; None when the cache does not hold exactly its outputs."""
    if cache is None:
        return None
    fp = _fingerprint(task, scorers, latest.digest)
    answered = set(latest.answered)
    ids = [it.id for it in task.items if it.id in answered]
    stats = _load_stats(cache / f"{fp}.npz", ids, scorers)
    if stats is None:
        return None
    known = {it.id for it in task.items}
    asked = [i for i in latest.asked if i in known]
    return ModelStats(item_set_id(asked), ids, stats, fp, tuple(asked), latest.prompt_hash, latest.run_id)


def _load_stats(path: Path, ids: list[str], scorers: dict) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            if all(f"stats:{f}" in z for f in scorers) and list(z["ids"]) == ids:
                return {f: z[f"stats:{f}"] for f in scorers}
    except (OSError, ValueError, KeyError):  # a damaged cache file (truncated, not an npz, a key gone)
        return None  # is recomputed by the caller, never trusted
    return None


class _Rows:
    """The three columns `fingerprint` reads, from a run's outcomes instead of items.csv."""

    def __init__(self, item_ids: list[str], outputs: list[str], errors: list[str]):
        self.item_id, self.output, self.error = item_ids, outputs, errors


def stored_stats(task, item_ids: list[str], outputs: list[str], errors: list[str], scorers: dict,
                 cache: Path) -> tuple[list[str], dict[str, np.ndarray]] | None:
    """(answered ids in task order, their statistics) that an earlier refresh cached for
    exactly these outputs (the same fingerprint as `model_stats`: outputs, errors, items,
    references, scorer signatures), or None. A fully cached re-run scores nothing again."""
    path = cache / f"{fingerprint(task, _Rows(item_ids, outputs, errors), scorers)}.npz"
    answered = {i for i, e in zip(item_ids, errors) if not e}
    ids = [it.id for it in task.items if it.id in answered]
    stats = _load_stats(path, ids, scorers)
    return None if stats is None else (ids, stats)


def _save_stats(path: Path, ids: list[str], stats: dict[str, np.ndarray]) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, ids=np.array(ids, dtype=str), **{f"stats:{f}": v for f, v in stats.items()})
    os.replace(tmp, path)


def _pair_inputs(ma: ModelStats, mb: ModelStats) -> str:
    return hashlib.sha1(f"{ma.fingerprint}|{mb.fingerprint}".encode()).hexdigest()[:12]


def task_scorers(task) -> dict:
    from harness.score import registry

    return {m: registry.make(m, task) for m in task.spec.metrics}


def pairwise_rows(task, outputs: dict[str, "pd.DataFrame"], created: str,  # noqa: F821
                  scored: dict | None = None, cache: Path | None = None, previous: dict | None = None,
                  known: dict[str, ModelStats] | None = None) -> list[dict]:
    """Every pair of models asked the same items: one row per view, metric and pair.
    `scored`: model -> this run's `Scored` for the task, reused instead of re-scoring;
    `cache`: folder of cached per-item statistics; `previous`: (model_a, model_b, inputs)
    -> rows of an earlier refresh, reused when neither model's fingerprint changed; `known`:
    model -> statistics already at hand (from the run index and the cache), in place of rows."""
    items = {it.id: it for it in task.items}
    scorers = task_scorers(task)
    per_model = {m: model_stats(task, df, scorers, (scored or {}).get(m), cache) for m, df in outputs.items()}
    per_model.update(known or {})
    rows = []
    for a, b in itertools.combinations(sorted(per_model), 2):
        ma, mb = per_model[a], per_model[b]
        if ma.sample != mb.sample:
            continue  # different samples: never compared (the table says so)
        inputs = _pair_inputs(ma, mb)
        memo: dict[str, dict] = {}

        def sides(view: str, ma=ma, mb=mb, memo=memo) -> dict:
            if view not in memo:
                memo[view] = {"prompt_hash_a": ma.prompt_hash, "prompt_hash_b": mb.prompt_hash,
                              "item_set_a": ma.item_set(items, view), "item_set_b": mb.item_set(items, view),
                              "run_id_a": ma.run_id, "run_id_b": mb.run_id}
            return memo[view]
        if previous and (a, b, inputs) in previous:  # same outputs: the tests stand, the sides are this run's
            rows.extend({**r, **sides(str(r["condition"]))} for r in previous[a, b, inputs])
            continue
        in_b = set(mb.ids)
        common = [i for i in ma.ids if i in in_b]
        if len(common) < 2:
            continue
        pos_a = {i: k for k, i in enumerate(ma.ids)}
        pos_b = {i: k for k, i in enumerate(mb.ids)}
        ia = np.array([pos_a[i] for i in common])
        ib = np.array([pos_b[i] for i in common])
        its = [items[i] for i in common]
        metas = [{"condition": it.condition} for it in its]
        inside = pooled_rule(metas)
        views = {"all": np.array([k for k, m in enumerate(metas) if inside(m)], dtype=int)}
        conds = sorted({it.condition for it in its})
        if len(conds) > 1:
            views.update({c: np.array([k for k, it in enumerate(its) if it.condition == c]) for c in conds})
        for family, scorer in scorers.items():
            sa, sb = ma.stats[family][ia], mb.stats[family][ib]
            for cond, sel in views.items():
                if len(sel) < 2:
                    continue
                blocks = [its[k].block for k in sel]
                va_all, vb_all = scorer.score(sa[sel]), scorer.score(sb[sel])
                for name in scorer.names:
                    va, vb = va_all[name], vb_all[name]
                    if math.isnan(va) or math.isnan(vb):
                        continue
                    res = st.paired_test(sa[sel], sb[sel], blocks, metric_fn(scorer, name))
                    rows.append({"schema_version": schema.PAIRWISE.version, "task": task.id, "condition": cond,
                                 "metric": name, "model_a": a, "model_b": b, "value_a": round(va, 4),
                                 "value_b": round(vb, 4), "diff": round(res["diff"], 4),
                                 "diff_ci_low": _r(res["diff_ci_low"]), "diff_ci_high": _r(res["diff_ci_high"]),
                                 "p_value": round(res["p_value"], 4), "significant": st.significant(res, ALPHA),
                                 "n": len(sel), "blocks": res["blocks"],
                                 "item_set": item_set_id(common[k] for k in sel), "method": res["method"],
                                 "signature": scorer.signature(), "inputs": inputs, **sides(cond),
                                 "created_at": created})
    return rows


def _r(x: float) -> float:
    return round(float(x), 4) if not math.isnan(float(x)) else math.nan


def rank_table(board: "pd.DataFrame", pairwise: "pd.DataFrame") -> "pd.DataFrame":  # noqa: F821
    """Wide pivot: one row per (task, condition, model), one column per metric, plus a rank
    range per metric for the rows whose pairwise tests were run (blank otherwise).

    A model's range counts the models significantly better and worse than it among those it
    was tested against (same items), with Holm's correction over those comparisons: the
    range is a joint claim about all of them. Rows never tested (macro, tag, delta, judge
    score rows, accounting, or a model alone on its sample) get no rank."""
    import pandas as pd

    from harness.score import registry

    tests: dict[tuple, list[tuple[str, float, float, bool]]] = {}  # (task, cond, metric, model) -> peers
    if len(pairwise):
        pw = pairwise[~pairwise.metric.astype(str).str.startswith(JUDGE_PREFIX)]
        blocks = pw["blocks"] if "blocks" in pw else pd.Series([st.MIN_BLOCKS] * len(pw), index=pw.index)
        for r, nb in zip(pw.to_dict("records"), blocks):
            if pd.isna(r["p_value"]):
                continue
            ok = pd.isna(nb) or int(nb) >= st.MIN_BLOCKS
            key = (str(r["task"]), str(r["condition"]), str(r["metric"]))
            tests.setdefault((*key, r["model_a"]), []).append((r["model_b"], float(r["diff"]), float(r["p_value"]), ok))
            tests.setdefault((*key, r["model_b"]), []).append((r["model_a"], -float(r["diff"]), float(r["p_value"]), ok))
    from harness.results._leaderboard import current

    wide: dict[tuple, dict] = {}
    metrics: list[str] = []
    for r in current(board).to_dict("records"):  # each model's latest version (the rows say which)
        key = (r["task"], r["condition"], r["model"])
        row = wide.setdefault(key, {"task": r["task"], "condition": r["condition"], "model": r["model"]})
        metric = r["metric"]
        metrics += [] if metric in metrics else [metric]
        row[metric] = r["value"]
        row.update({f"{metric}_ci_low": r.get("ci_low", math.nan), f"{metric}_ci_high": r.get("ci_high", math.nan),
                    f"{metric}_n": r["n"]})
        scored = r.get("signature") != ACCOUNTING_SIGNATURE  # `all` accounting also counts the cleaned control
        for col in ("n", "n_errors", "item_set", "sample", "prompt_hash", "run_id"):
            if col in r and (scored or col not in row):
                row[col] = r[col]
        peers = tests.get((str(r["task"]), str(r["condition"]), str(metric), r["model"]))
        record = registry.metric(str(metric))
        if peers and record.has_direction:  # a target value (length_ratio: 1) has no direction to rank by
            lo, hi = _rank_range(peers, higher_is_better=not record.lower_is_better)
            row[f"rank_{metric}"] = str(lo) if lo == hi else f"{lo}–{hi}"
            row[f"rank_{metric}_best"], row[f"rank_{metric}_worst"] = lo, hi
    out = pd.DataFrame(sorted(wide.values(), key=lambda r: (r["task"], r["condition"], r["model"])))
    if out.empty:
        return out
    order = [c for c in WIDE_FIXED if c in out]
    for m in metrics:
        order += [c for c in (m, f"{m}_ci_low", f"{m}_ci_high", f"{m}_n", f"rank_{m}", f"rank_{m}_best",
                              f"rank_{m}_worst") if c in out and c not in order]
    out = out[order + [c for c in out if c not in order]]
    for c in out:
        if (c.startswith("rank_") and c.endswith(("_best", "_worst"))) or (c.endswith("_n") and c[:-2] in metrics):
            out[c] = out[c].astype("Int64")  # whole numbers, blank where no rank
    return out


WIDE_FIXED = list(schema.WIDE.columns)


def _rank_range(peers: list[tuple[str, float, float, bool]], higher_is_better: bool) -> tuple[int, int]:
    """peers: (other model, this − other, p, enough blocks). Holm over these comparisons:
    (best rank, worst rank)."""
    adjusted = st.holm([p for _, _, p, _ in peers])
    better = worse = 0
    for (_, diff, _, ok), p in zip(peers, adjusted):
        if not ok or p >= ALPHA or diff == 0:
            continue
        if (diff > 0) == higher_is_better:
            worse += 1  # this model significantly beats that one
        else:
            better += 1
    return better + 1, len(peers) + 1 - worse


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


def _run_of(rows) -> str:
    return str(rows["run_id"].iloc[0]) if len(rows) else ""


def _previous_rows(path: Path) -> dict[str, dict[tuple, list[dict]]]:
    """task -> (model_a, model_b, inputs) -> rows of the last pairwise.csv (judge rows aside)."""
    import pandas as pd

    if not path.exists():
        return {}
    try:
        old = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"inputs": str, "item_set": str})
    except (OSError, ValueError, pd.errors.ParserError):
        return {}
    if "inputs" not in old or old.empty:
        return {}
    old = old[old.inputs.notna() & ~old.metric.astype(str).str.startswith(JUDGE_PREFIX)]
    out: dict[str, dict[tuple, list[dict]]] = {}
    for r in old.to_dict("records"):
        out.setdefault(str(r["task"]), {}).setdefault((r["model_a"], r["model_b"], r["inputs"]), []).append(r)
    return out


def refresh(results: Path, tasks, scored: dict | None = None,
            fresh: dict | None = None) -> tuple["pd.DataFrame", "pd.DataFrame"]:  # noqa: F821
    """Recompute pairwise.csv and leaderboard_wide.csv from every model's latest outputs.
    `scored`: (model, task id) -> this run's `Scored`, whose statistics are reused; `fresh`:
    (model, task id) -> the item rows this run just wrote. A model that did not run again
    is compared from the run index and the statistics cache; its items.csv is read only
    when the cache misses."""
    import pandas as pd

    files: dict[str, pd.DataFrame] = {}  # run id -> its items.csv, read at most once
    latest = latest_runs(results, files)
    fresh = fresh or {}
    cache = results / "cache" / "item-stats"
    created = now()
    previous = _previous_rows(results / "pairwise.csv")
    rows = []
    for task in tasks:
        scorers = task_scorers(task)
        outputs, known = {}, {}
        for (m, t), entry in sorted(latest.items()):
            if t != task.id:
                continue
            if (m, t) in fresh and entry.run_id == _run_of(fresh[(m, t)]):
                outputs[m] = fresh[(m, t)]
            elif (ms := cached_model_stats(task, entry, scorers, cache)) is not None:
                known[m] = ms
            else:
                if entry.run_id not in files:
                    files[entry.run_id] = read_items(results / "runs" / entry.run_id / "items.csv")
                frame = files[entry.run_id]
                outputs[m] = frame[(frame.model == m) & (frame.task == t)]
        mine = {m: sc for (m, t), sc in (scored or {}).items() if t == task.id}
        rows.extend(pairwise_rows(task, outputs, created, mine, cache, previous.get(task.id), known))
    pairwise = pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)
    board_path = results / "leaderboard.csv"
    from harness.results._leaderboard import read

    board = read(board_path) if board_path.exists() else pd.DataFrame()
    with locked(results / "pairwise.csv"):
        # keep comparisons of tasks not loaded this time
        old_path = results / "pairwise.csv"
        if old_path.exists():
            old = pd.read_csv(old_path, keep_default_na=False, na_values=[""])
            old = old[~old.task.isin([t.id for t in tasks]) & ~old.metric.astype(str).str.startswith(JUDGE_PREFIX)]
            pairwise = pd.concat([old, pairwise], ignore_index=True) if len(old) else pairwise
        judge_path = results / "judge_pairwise.csv"
        if judge_path.exists():  # the judges' both-order verdicts share the file and its schema
            pairwise = pd.concat([pairwise, pd.read_csv(judge_path, keep_default_na=False, na_values=[""])],
                                 ignore_index=True)
        atomic_write_csv(pairwise, results / "pairwise.csv", PAIRWISE_COLUMNS)
        wide = rank_table(board, pairwise) if len(board) else pd.DataFrame()
        atomic_write_csv(wide, results / "leaderboard_wide.csv")
    return pairwise, wide
