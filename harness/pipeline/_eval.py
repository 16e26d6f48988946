"""`harness eval`: tasks → requests → runner (cached) → scorers → run files + leaderboard."""

from __future__ import annotations

import json
import math
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.core import UserError
from harness.core import ITEM_COLUMNS, ITEMS_SCHEMA_VERSION, atomic_write_csv, atomic_write_text, check_writable
from harness.run import Limits, Outcome, Request, Store, build_requests, execute, prompt_kind, store_path
from harness.score import JUDGE_PREFIX, judge_metric
from harness.task import Item, Task


def costs_nothing(model: str) -> bool:
    """Baselines and embedded models run here: their cost is 0, not unknown."""
    from harness.model import OFFLINE_MODELS, provider_of

    return provider_of(model) in OFFLINE_MODELS


DEFAULT_LIMIT = 2  # items per task for the default offline run (make eval without MODEL)


@dataclass
class RunOptions:
    models: list[str]
    limit: int | None = None
    retry_errors: bool = False
    limits: Limits = field(default_factory=Limits)
    with_ci: bool = True
    judges: list[str] = field(default_factory=list)
    refresh: bool = False  # ask again even when an answer is cached (the new answer replaces it)


def score(task: Task, model: str, outcomes: list[tuple[Item, Outcome]], extra_scorers: dict | None = None,
          stats_cache: Path | None = None):
    """`stats_cache`: the folder `comparisons.refresh` keeps per-item statistics in; the
    task's metrics are taken from it when it holds them for exactly these outputs."""
    from harness.results import Scored
    from harness.score import registry

    answered = [(it, o) for it, o in outcomes if o.response is not None]
    errored = [(it, o) for it, o in outcomes if o.response is None]
    scorers = {m: registry.make(m, task) for m in task.spec.metrics}
    hyps = [o.response["text"] for _, o in answered]
    items = [it for it, _ in answered]
    stats = _stored_stats(task, outcomes, items, scorers, stats_cache) if stats_cache and answered else {}
    scorers.update(extra_scorers or {})
    stats.update({m: s.stats(hyps, items) if answered else np.zeros((0, 1))
                  for m, s in scorers.items() if m not in stats})
    meta = lambda it: {"id": it.id, "condition": it.condition, "block": it.block,  # noqa: E731
                       **{k: it.meta.get(k) for k in ("origin", "script", "genre", "pair")}}
    acc = {k: [o.response.get(k) for _, o in answered] for k in
           ("finish_reason", "cost_usd", "prompt_tokens", "completion_tokens", "input_truncated")}
    acc["free"] = costs_nothing(model)
    return Scored(model, task.id, task.prompt_hash_for(prompt_kind(model)), [it.id for it in items], [meta(it) for it in items], stats,
                  scorers, [meta(it) for it, _ in errored], acc)


def _stored_stats(task: Task, outcomes: list[tuple[Item, Outcome]], items: list[Item], scorers: dict,
                  cache: Path) -> dict:
    """The cached statistics of `comparisons.stored_stats`, in the order of `items`, or {}.
    The key is what items.csv records (output text; error or not), as refresh reads it."""
    from harness.results import stored_stats

    ids = [it.id for it, _ in outcomes]
    outputs = [(o.response or {}).get("text", "") for _, o in outcomes]
    errors = ["" if o.response is not None else (o.error or "error") for _, o in outcomes]
    got = stored_stats(task, ids, outputs, errors, scorers, cache)
    if got is None:
        return {}
    where = {i: k for k, i in enumerate(got[0])}
    order = np.array([where[it.id] for it in items], dtype=int)
    return {f: v[order] for f, v in got[1].items()}


def item_rows(run_id: str, task: Task, model: str, outcomes: list[tuple[Item, Outcome]], scored,
              judged: dict | None = None) -> list[dict]:
    per_item: dict[str, dict] = {}
    for family, scorer in scored.scorers.items():
        stats = scored.stats[family]
        if not len(stats):
            continue
        # every item in one call (per-item score ± 1e-13 of scoring it alone)
        cols = {f"score_{k}": np.asarray(v, dtype=float).tolist()
                for k, v in scorer.score_matrix(stats, np.ones(len(stats))).items()}
        for i, iid in enumerate(scored.item_ids):
            per_item.setdefault(iid, {}).update({k: round(v[i], 4) for k, v in cols.items()})
    from harness.results import cost_basis

    rows, endpoint, free = [], answered_by(model), costs_nothing(model)
    for it, o in outcomes:
        r = o.response or {}
        cost = r.get("cost_usd")
        basis = cost_basis(free, [cost]) if o.response is not None else ""
        tag = lambda k: "" if it.meta.get(k) is None else str(it.meta[k])  # noqa: E731
        rows.append({"schema_version": ITEMS_SCHEMA_VERSION, "run_id": run_id, "model": model, "task": task.id,
                     "item_id": it.id, "ref_key": it.ref_key or it.id,
                     "condition": it.condition, "block": it.block, "pair": tag("pair"), "origin": tag("origin"),
                     "script": tag("script"), "genre": tag("genre"),
                     "meta": json.dumps(it.meta, ensure_ascii=False, sort_keys=True, default=str),
                     "prompt_hash": task.prompt_hash_for(prompt_kind(model)), "source": it.source,
                     "reference": it.references[0] if it.references else "",
                     "references": json.dumps(it.references, ensure_ascii=False),
                     "output": r.get("text", ""), "error": o.error or "", "attempts": o.attempts,
                     "finish_reason": r.get("finish_reason", ""), "input_truncated": r.get("input_truncated", ""),
                     "latency_s": r.get("latency_s", ""), "prompt_tokens": r.get("prompt_tokens", ""),
                     "completion_tokens": r.get("completion_tokens", ""),
                     "cost_usd": 0.0 if basis == "free" else ("" if cost is None else cost), "cost_basis": basis,
                     "cached": o.cached, "endpoint": endpoint, "model_version": r.get("model_version", ""),
                     **per_item.get(it.id, {})})
        for judge, j in (judged or {}).items():
            rows[-1][judge_metric(judge, "rationale")] = j.rationale.get(it.id, "")
            rows[-1][judge_metric(judge, "failure")] = j.failure.get(it.id, "")
    return rows


def answered_by(model: str) -> str:
    """What the run record names as having answered: the endpoint URL, `sha256:<hex>` of a
    local model file, or '' (the provider's default endpoint; a baseline)."""
    from harness.model import identity

    ident = identity(model)
    return f"sha256:{ident}" if ident and model.startswith("local/") else ident


def new_run_id() -> str:
    from datetime import datetime, timezone

    # millisecond timestamps sort run folders in the order they ran
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")[:-3] + "Z-" + uuid.uuid4().hex[:6]


def run_eval(tasks: list[Task], opts: RunOptions, results: Path) -> "RunSummary":  # noqa: F821
    import pandas as pd

    from harness.results import merge, now, rows_for
    from harness.model import preflight

    check_writable(results)
    for m in [*opts.models, *opts.judges]:
        preflight(m, asked=m in opts.judges)  # names now; a model's provider and key once it will be asked
    requests = build_requests(tasks, opts.models, opts.limit)
    store = Store(store_path(results))
    run_id, created = new_run_id(), now()
    try:
        stored = set() if opts.refresh else store.present([r.key for r in requests])
        for m in dict.fromkeys(r.model for r in requests if r.key not in stored):  # as harness check does
            preflight(m)
        if opts.retry_errors:
            _report_retry(results, store, requests)
        outcomes = execute(requests, store, opts.limits, refresh=opts.refresh)
        by_key = {(o.request.model, o.request.tag): o for o in outcomes}
        answers = {(o.request.model, *o.request.tag): o.response["text"] for o in outcomes if o.response}
        judged, judge_rows = {}, []
        if opts.judges:
            from harness.judge import judge_outputs

            judged = judge_outputs(tasks, answers, opts.judges,
                                   lambda reqs: execute(reqs, store, opts.limits, refresh=opts.refresh), store.reject)
            judge_rows = _judge_comparisons(tasks, answers, opts, store, created)
            from harness.judge import judge_counts

            per_judge = judge_counts(judged, judge_rows)
    finally:
        store.close()
    all_items, board_rows, scored_all = [], [], {}
    for task in tasks:
        picked = {r.tag[1] for r in requests if r.tag[0] == task.id}
        items = [it for it in task.items if it.id in picked]
        chrf_by_model: dict[str, dict] = {}
        for model in opts.models:
            pairs = [(it, by_key[(model, (task.id, it.id))]) for it in items]
            if not pairs:
                continue
            mine = {j: judged[(j, task.id, model)] for j in opts.judges if (j, task.id, model) in judged}
            from harness.judge import scorer_for

            extra = {judge_metric(j): scorer_for(j, task, jd) for j, jd in mine.items()}
            scored = score(task, model, pairs, extra, stats_cache=results / "cache" / "item-stats")
            scored_all[(model, task.id)] = scored  # its statistics are reused by the pairwise tests
            rows = item_rows(run_id, task, model, pairs, scored, mine)
            all_items.extend(rows)
            chrf_by_model[model] = {r["item_id"]: r.get("score_chrf", math.nan) for r in rows}
            board_rows.extend(_judge_notes(rows_for(scored, run_id, created, with_ci=opts.with_ci), mine))
        for j in opts.judges:
            from harness.judge import reliability_rows

            by_model = {m: judged[(j, task.id, m)] for m in opts.models if (j, task.id, m) in judged}
            from harness.judge import PairwiseTally

            tallies = [r["tally"] for r in judge_rows if r["judge"] == j and r["row"]["task"] == task.id]
            pooled_tally = sum(tallies, PairwiseTally()) if tallies else None  # every model pair of the task
            board_rows.extend(reliability_rows(j, task, by_model, chrf_by_model, run_id, created, pooled_tally))
    run_dir = results / "runs" / run_id
    metric_cols = sorted({k for r in all_items for k in r if k.startswith(("score_", JUDGE_PREFIX))})
    frame = pd.DataFrame(all_items, columns=ITEM_COLUMNS + metric_cols)
    atomic_write_csv(frame, run_dir / "items.csv", ITEM_COLUMNS + metric_cols)
    atomic_write_text(run_dir / "run.json", json.dumps(
        {"run_id": run_id, "created_at": created, "models": opts.models, "judges": opts.judges,
         "tasks": [t.id for t in tasks], "limit": opts.limit, "prompt_hashes": {t.id: t.prompt_hash for t in tasks},
         "completion_prompt_hashes": {t.id: t.prompt_hash_for("completion") for t in tasks},
         "task_files": {t.id: str(t.path.resolve()) for t in tasks},
         "n_requests": len(requests), "n_cached": sum(o.cached for o in outcomes),
         "n_errors": sum(o.response is None for o in outcomes), "per_model": per_model(outcomes),
         **({"per_judge": per_judge} if opts.judges else {}),
         "endpoints": {m: answered_by(m) for m in opts.models},
         "model_versions": {m: sorted({o.response.get("model_version") or "" for o in outcomes
                                       if o.request.model == m and o.response} - {""}) for m in opts.models}},
        indent=2))
    board = merge(results / "leaderboard.csv", board_rows)
    if judge_rows:
        from harness.results import merge_judge_pairwise

        merge_judge_pairwise(results, [r["row"] for r in judge_rows])
    from harness.results import as_read, record_run, refresh

    written = as_read(frame)  # the rows as items.csv reads back
    record_run(results, run_id, written)  # before the refresh: it reads the index
    fresh = dict(iter(written.groupby(["model", "task"], sort=False))) if len(written) else {}
    pairwise, wide = refresh(results, tasks, scored_all, fresh)
    from harness.pipeline._summary import RunSummary

    return RunSummary(run_id, run_dir, results / "leaderboard.csv", [t.id for t in tasks], opts.models, opts.judges,
                      board_rows, board, wide, pairwise, per_model(outcomes), per_judge if opts.judges else {},
                      len(requests), sum(o.cached for o in outcomes))


def _judge_notes(rows: list[dict], judged: dict) -> list[dict]:
    """A judge's score rows left empty say why (e.g. 'judge reply not JSON for 4 of 4 items;
    first: …'); rows with a value are left as they were."""
    from harness.judge import failure_note

    for judge, j in judged.items():
        if not j.failure:
            continue
        for r in rows:
            if r["metric"].startswith(judge_metric(judge) + ":") and isinstance(r["value"], float) \
                    and math.isnan(r["value"]):
                r["note"] = failure_note(j.failure, len(j.scores))
    return rows


def per_model(outcomes: list[Outcome]) -> dict[str, dict]:
    """Per model: requests, failures and the first failure's message (for the exit code)."""
    out: dict[str, dict] = {}
    for o in outcomes:
        c = out.setdefault(o.request.model, {"n_requests": 0, "n_errors": 0, "first_error": ""})
        c["n_requests"] += 1
        if o.response is None:
            c["n_errors"] += 1
            c["first_error"] = c["first_error"] or (o.error or "")
    return out


def _judge_comparisons(tasks, answers: dict, opts: RunOptions, store: Store, created: str) -> list[dict]:
    """Both-order pairwise verdicts of every judge on every pair of models of this run."""
    from harness.judge import compare, model_pairs

    out = []
    for judge in opts.judges:
        for task in tasks:
            for a, b in model_pairs(opts.models):
                oa = {i: t for (m, tid, i), t in answers.items() if m == a and tid == task.id}
                ob = {i: t for (m, tid, i), t in answers.items() if m == b and tid == task.id}
                row, tally = compare(task, oa, ob, a, b, judge,
                                     lambda reqs: execute(reqs, store, opts.limits, refresh=opts.refresh), created,
                                     store.reject)
                out.append({"judge": judge, "row": row, "tally": tally})
    return out


def _report_retry(results: Path, store: Store, requests: list[Request]) -> None:
    """--retry-errors: answers are cached and errors never are, so a run re-asks exactly the
    items without an answer; this only checks there is something to retry and says how much."""
    if not (results / "runs").exists():
        raise UserError(f"{results / 'runs'}: no earlier run to retry errors from")
    todo = sum(1 for r in requests if store.get(r.key) is None)
    print(f"retrying {todo} request(s) without a stored answer; every other answer comes from the cache",
          file=sys.stderr)
