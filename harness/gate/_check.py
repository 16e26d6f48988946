"""The CI regression gate: compare current outputs with a committed baseline, item by item.

`harness check` asks the baseline's models the baseline's items with the current prompts
(an unchanged prompt is answered from the cache: no call, no API key needed), re-scores
both sides and, per (model, task, metric), asks one question: is "after" worse than
"before"? A one-sided paired randomization test over blocks answers it; Holm's procedure
corrects for the whole family of tests; a metric regresses only when its drop is
significant *and* larger than its threshold (gate.yaml).

Exit codes: 0 no regression and every baseline item answered; 1 a regression, a scorer
change, or any item that could not be answered (a gate that cannot see must not pass);
2 bad input (UserError).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from harness import inference as st
from harness.core import UserError
from harness.gate._baseline import BASELINE_COLUMNS, SCHEMA_VERSION, Baseline, check_models, match_tasks, ordered
from harness.gate._config import Thresholds
from harness.inference import diff_se, min_detectable_drop, score_se
from harness.score import judge_metric, judge_of

WORST_PER_METRIC = 3


@dataclass
class Comparison:
    """One (model, task, metric) comparison."""

    model: str
    task: str
    metric: str
    before: float
    after: float
    diff: float  # after − before
    ci_low: float
    ci_high: float
    p_value: float  # one-sided, "after is worse"
    blocks: int
    n: int
    threshold: float
    drop: float  # positive = worse, in the metric's points
    mdd: float  # minimum detectable drop at alpha, 80% power
    mdd_basis: str  # "observed" (spread of this change) or "unrelated" (no output changed: bound)
    p_holm: float = math.nan
    significant: bool = False
    regressed: bool = False


@dataclass
class Failure:
    """Items of a (model, task) with a baseline answer and no current one."""

    model: str
    task: str
    n_items: int
    n_errors: int
    first_item: str
    first_error: str
    what: str = "model"  # or "judge <name>"


@dataclass
class Worst:
    model: str
    task: str
    item: str
    before: str
    after: str
    deltas: dict[str, float] = field(default_factory=dict)  # regressed metric -> this item's change (worse < 0)


@dataclass
class Drift:
    task: str
    metric: str
    n: int
    old: float | None
    new: float | None


@dataclass
class CheckResult:
    tests: list[Comparison]
    failures: list[Failure]
    drift: list[Drift]
    worst: list[Worst]
    prompts_changed: list[tuple[str, list[str], str, str]]  # task, old hashes, new hash, prompt file
    n_requests: int
    n_called: int
    alpha: float
    models: list[str]
    level: float = math.nan  # alpha / family size: Holm's first step, where the detectable drop is stated

    @property
    def regressions(self) -> list[Comparison]:
        return [t for t in self.tests if t.regressed]

    @property
    def exit_code(self) -> int:
        return 1 if (self.regressions or self.failures or self.drift) else 0


# --- asking -----------------------------------------------------------------------------

def ask(requests, results: Path):
    """Answer requests from the store, calling only for what is missing. The API-key check
    (which imports litellm) runs only for models that will actually be called."""
    from harness.model import preflight
    from harness.run import execute, store_path
    from harness.run import Limits
    from harness.run import Store

    store = Store(store_path(results))
    try:
        cached = store.get_many([r.key for r in requests])
        for model in sorted({r.model for r in requests if r.key not in cached}):
            preflight(model)
        outcomes = execute(requests, store, Limits())
    finally:
        store.close()
    return outcomes, sum(not o.cached for o in outcomes)


def outputs_for(tasks, models: list[str], only: dict[str, set[str]] | None, limit: int | None, results: Path):
    """Every model's outcome on every selected item, by (model, task id, item id)."""
    from harness.run import build_requests

    reqs = build_requests(tasks, models, limit, only=only)
    outcomes, n_called = ask(reqs, results)
    return {(o.request.model, o.request.tag[0], o.request.tag[1]): o for o in outcomes}, len(reqs), n_called


# --- scores -----------------------------------------------------------------------------

def item_scores(task, item, output: str) -> dict[str, float | None]:
    """Every metric of the task on one item: recorded in the baseline so that a change in
    the scorers themselves is caught (the gate re-scores the baseline outputs and compares)."""
    from harness.score import registry

    out = {}
    for family in task.spec.metrics:
        scorer = registry.make(family, task)
        for name, v in scorer.score(scorer.stats([output], [item])).items():
            out[name] = None if math.isnan(v) else round(v, 6)
    return out


def judge_names(baseline: Baseline, task: str) -> list[str]:
    """Judges whose scores the baseline records for this task (keys judge:<judge>:<dimension>)."""
    found = {judge_of(k).rsplit(":", 1)[0] for r in baseline.rows if r.task == task
             for k in r.scores if judge_of(k)}
    return sorted(found)


def _recorded_judge_scores(rows, judge: str, rubric) -> dict[str, dict | None]:
    out = {}
    for r in rows:
        vals = {d: r.scores.get(judge_metric(judge, d)) for d in rubric.names}
        out[r.item_id] = None if any(v is None for v in vals.values()) else vals
    return out


def judge_scores(tasks, outputs: dict, judge: str, results: Path) -> dict:
    """Pointwise judge scores of outputs {(model, task id, item id): text}: key -> (scores
    or None, failure), through the one judge loop and the cache like any call (a reply that
    does not parse is set aside in the cache, so the next check asks again)."""
    from harness.judge import Job, judge_pointwise, load_rubric
    from harness.run import Store, store_path

    by_id = {t.id: t for t in tasks}
    jobs = []
    for (model, tid, iid), text in outputs.items():
        task = by_id[tid]
        item = next(it for it in task.items if it.id == iid)
        jobs.append(Job(judge, load_rubric(task), item, text, (model, tid, iid)))
    if not jobs:
        return {}
    unusable: list[tuple[str, str]] = []
    judged = judge_pointwise(jobs, lambda reqs: ask(reqs, results)[0], lambda key, why: unusable.append((key, why)))
    if unusable:
        store = Store(store_path(results))
        try:
            for key, why in unusable:
                store.reject(key, why)
        finally:
            store.close()
    return {tag: (j.scores, j.failure) for tag, j in judged.items()}


# --- the check --------------------------------------------------------------------------

def check(tasks_by_id: dict, baseline: Baseline, thresholds: Thresholds, results: Path,
          models: list[str] | None = None) -> CheckResult:
    from harness.results import metric_fn
    from harness.score import registry

    match_tasks(baseline, tasks_by_id)
    models = list(dict.fromkeys(models)) if models else baseline.models
    check_models(baseline, models)
    tasks = [tasks_by_id[t] for t in baseline.tasks]
    only = {t: set(baseline.items_of(t)) for t in baseline.tasks}
    got, n_req, n_called = outputs_for(tasks, models, only, None, results)
    tests, failures, per_item, pending = [], [], {}, []
    for task in tasks:
        items = {it.id: it for it in task.items}
        judges = judge_names(baseline, task.id)
        for model in models:
            base = baseline.of(model, task.id)
            if not base:
                continue
            outcomes = [(r, got[(model, task.id, r.item_id)]) for r in base]
            errors = [(r, o) for r, o in outcomes if o.response is None]
            if errors:
                failures.append(Failure(model, task.id, len(base), len(errors), errors[0][0].item_id,
                                        errors[0][1].error or "no answer"))
            answered = [(r, o.response["text"]) for r, o in outcomes if o.response is not None]
            if not answered:
                continue
            its = [items[r.item_id] for r, _ in answered]
            blocks = [it.block for it in its]
            olds, news = [r.output for r, _ in answered], [t for _, t in answered]
            unchanged = olds == news
            weights = st.resample_weights(blocks)
            scorers = [(family, registry.make(family, task)) for family in task.spec.metrics]
            sides = {family: (s.stats(olds, its), s.stats(news, its)) for family, s in scorers}
            for judge in judges:
                scorer, before_j, after_j, judge_failure = _judge_sides(
                    tasks, task, model, judge, [r for r, _ in answered], answered, results)
                if judge_failure:
                    failures.append(judge_failure)
                scorers.append((scorer.family, scorer))
                sides[scorer.family] = (before_j.stats(None, its), after_j.stats(None, its))
            for family, scorer in scorers:
                before, after = sides[family]
                vb_all, va_all = scorer.score(before), scorer.score(after)
                for name in scorer.names:
                    if not registry.metric(name).gated:
                        continue
                    vb, va = vb_all[name], va_all[name]
                    if math.isnan(vb) or math.isnan(va):
                        continue  # nothing to score on these items (e.g. no numbers in the sources)
                    pending.append((model, task.id, name, scorer, before, after, blocks, weights, answered,
                                    unchanged, vb, va))
    # the family is known only now: every test gets enough resamples for a p-value to reach
    # Holm's first level alpha/m, and the detectable drop is stated at that level
    m = sum(1 for p in pending if len(p[8]) >= 2)
    level = thresholds.alpha / max(m, 1)
    resamples = max(st.RESAMPLES, math.ceil(10 / level))
    for model, task_id, name, scorer, before, after, blocks, weights, answered, unchanged, vb, va in pending:
        fn = metric_fn(scorer, name)
        lower = registry.lower_is_better(name)
        sign = -1 if lower else 1
        if len(answered) >= 2:
            res = st.paired_test(after, before, blocks, fn, resamples=resamples,
                                 alternative="greater" if lower else "less")
        else:
            res = {"diff": va - vb, "diff_ci_low": math.nan, "diff_ci_high": math.nan,
                   "p_value": math.nan, "blocks": len(set(blocks))}
        if unchanged:  # no change to measure the noise of: bound for an unrelated one
            se = math.sqrt(2) * score_se(before, weights, fn)
        else:
            se = diff_se(after, before, blocks, fn, weights)
        mdd = min_detectable_drop(se, res["blocks"], level, st.MIN_BLOCKS)
        tests.append(Comparison(model, task_id, name, vb, va, res["diff"], res["diff_ci_low"],
                                res["diff_ci_high"], res["p_value"], res["blocks"], len(answered),
                                thresholds.of(name), -sign * res["diff"], mdd,
                                "unrelated" if unchanged else "observed"))
        per_item[(model, task_id, name)] = (scorer, before, after, sign, answered)
    _decide(tests, thresholds.alpha)
    worst = worst_items(tests, per_item)
    drift = scoring_drift(tasks, baseline)
    changed = []
    from harness.model import prompt_kind

    for t in tasks:
        # each model is asked with the template of its prompt kind (chat, or few-shot completion)
        for kind in sorted({prompt_kind(r.model) for r in baseline.rows if r.task == t.id}):
            old = sorted({r.prompt_hash for r in baseline.rows if r.task == t.id and prompt_kind(r.model) == kind})
            now = t.prompt_hash_for(kind)
            if old != [now]:
                changed.append((t.id, old, now, t.spec.completion.prompt if kind == "completion" and t.spec.completion
                                else t.spec.prompt))
    return CheckResult(tests, failures, drift, worst, changed, n_req, n_called, thresholds.alpha, models, level)


def _decide(tests: list[Comparison], alpha: float) -> None:
    """Holm over the family of every test with a p-value; regressed = significant and worse
    by more than the threshold."""
    for t, p in zip(tests, st.holm([t.p_value for t in tests])):
        t.p_holm = p
        t.significant = (not math.isnan(p)) and p < alpha and t.blocks >= st.MIN_BLOCKS
        t.regressed = t.significant and t.drop > t.threshold


def _judge_sides(tasks, task, model, judge, rows, answered, results):
    """Judge scores before (recorded in the baseline) and after (unchanged outputs keep the
    recorded score; changed ones are judged, cached like any call)."""
    from harness.judge import JudgeScores, load_rubric

    rubric = load_rubric(task)
    before = _recorded_judge_scores(rows, judge, rubric)
    after = dict(before)
    changed = {(model, task.id, r.item_id): text for r, text in answered if text != r.output}
    judged = judge_scores(tasks, changed, judge, results)
    failed = []
    for (m, tid, iid), (scores, failure) in judged.items():
        after[iid] = scores
        if scores is None and before.get(iid) is not None:
            failed.append((iid, failure or "no score"))
    failure = Failure(model, task.id, len(rows), len(failed), failed[0][0], failed[0][1],
                      f"judge {judge}") if failed else None
    return (JudgeScores(judge, rubric, before), JudgeScores(judge, rubric, before),
            JudgeScores(judge, rubric, after), failure)


def worst_items(tests: list[Comparison], per_item: dict) -> list[Worst]:
    """For every regressed metric its WORST_PER_METRIC most worsened items; an item that is
    among the worst for several metrics is listed once with all of them."""
    found: dict[tuple, Worst] = {}
    for t in tests:
        if not t.regressed:
            continue
        scorer, before, after, sign, answered = per_item[(t.model, t.task, t.metric)]
        deltas = []
        for k in range(len(answered)):
            b = scorer.score(before[k:k + 1])[t.metric]
            a = scorer.score(after[k:k + 1])[t.metric]
            if not (math.isnan(a) or math.isnan(b)):
                deltas.append((sign * (a - b), k))
        for delta, k in sorted(deltas)[:WORST_PER_METRIC]:
            row, text = answered[k]
            w = found.setdefault((t.model, t.task, row.item_id), Worst(t.model, t.task, row.item_id, row.output, text))
            w.deltas[t.metric] = delta
    return list(found.values())


def scoring_drift(tasks, baseline: Baseline) -> list[Drift]:
    """Re-score the baseline outputs and compare with the scores recorded with them: any
    difference means the scorers changed, which fails the gate like a regression."""
    out = []
    for task in tasks:
        items = {it.id: it for it in task.items}
        drift: dict[str, list] = {}
        for r in baseline.rows:
            if r.task != task.id or not r.scores:
                continue
            now = item_scores(task, items[r.item_id], r.output)
            for name, old in r.scores.items():
                if judge_of(name):
                    continue  # judge scores are not recomputed from the text
                new = now.get(name)
                if (old is None) != (new is None) or (old is not None and abs(old - new) > 1e-4):
                    drift.setdefault(name, []).append((old, new))
        for name, changes in drift.items():
            out.append(Drift(task.id, name, len(changes), changes[0][0], changes[0][1]))
    return out


# --- baseline update --------------------------------------------------------------------

def update_baseline(tasks, models: list[str], limit: int | None, out: Path, results: Path,
                    old: Baseline | None = None, judges: list[str] | None = None) -> int:
    """Record the current outputs (all must be answered) as the new baseline at `out`."""
    import pandas as pd

    from harness.core import atomic_write_csv
    from harness.model import prompt_kind

    got, _, _ = outputs_for(tasks, models, None, limit, results)
    failed = [(k, o) for k, o in got.items() if o.response is None]
    if failed:
        (m, tid, iid), o = failed[0]
        raise UserError(f"{m} failed on {tid}/{iid} ({o.error}) and {len(failed) - 1} more item(s); "
                        "a baseline needs every answer: fix the cause and run the same command again "
                        "(answers already received are cached)")
    judged = {}
    for j in judges or []:
        res = judge_scores(tasks, {k: o.response["text"] for k, o in got.items()}, j, results)
        bad = {f"{tid}/{m}/{iid}": why for (m, tid, iid), (s, why) in res.items() if s is None}
        if bad:  # a baseline without these scores would leave the judge unchecked, silently
            from harness.judge import failure_note

            raise UserError(f"{failure_note(bad, len(res))}; a baseline needs every judge score: fix the judge "
                            "(or drop --judge) and run the same command again (its failed replies are asked again)")
        judged[j] = res
    rows, item_order = [], {}
    for task in tasks:
        item_order[task.id] = [it.id for it in task.items]
        for it in task.items:
            for m in models:
                o = got.get((m, task.id, it.id))
                if o is None:
                    continue
                scores = item_scores(task, it, o.response["text"])
                for j, res in judged.items():
                    s, _ = res[(m, task.id, it.id)]
                    for dim, v in (s or {}).items():
                        scores[judge_metric(j, dim)] = v
                rows.append({"schema_version": SCHEMA_VERSION, "model": m, "task": task.id, "item_id": it.id,
                             "condition": it.condition, "block": it.block,
                             "prompt_hash": task.prompt_hash_for(prompt_kind(m)), "output": o.response["text"], "scores": json.dumps(scores, sort_keys=True)})
    rows = ordered(rows, old, sorted(t.id for t in tasks), item_order)
    atomic_write_csv(pd.DataFrame(rows, columns=BASELINE_COLUMNS), out, BASELINE_COLUMNS)
    return len(rows)
