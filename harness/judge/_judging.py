"""Running the judge over a run's outputs: pointwise scores, a repeat for self-agreement,
both-order pairwise verdicts, and the judge's reliability rows."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from harness import inference as st
from harness.judge._prompts import (REPEAT_ITEMS, JudgeScores, combine_orders, load_rubric, pairwise_request, parse_pairwise,
                    parse_pointwise, pointwise_request)
from harness.core import LEADERBOARD_SCHEMA_VERSION as SCHEMA_VERSION


@dataclass
class Judged:
    """Everything one judge said about one (task, model)."""

    scores: dict[str, dict | None] = field(default_factory=dict)  # item id -> scores (None = failure)
    rationale: dict[str, str] = field(default_factory=dict)
    failure: dict[str, str] = field(default_factory=dict)
    repeat: dict[str, dict | None] = field(default_factory=dict)


def judge_outputs(tasks, answers: dict, judges: list[str], ask) -> dict:
    """answers: (model, task id, item id) -> output text. `ask(requests)` returns outcomes.
    Returns (judge, task id, model) -> Judged."""
    reqs = []
    for judge in judges:
        for task in tasks:
            rubric = load_rubric(task)
            items = {it.id: it for it in task.items}
            for (model, tid, iid), text in answers.items():
                if tid != task.id:
                    continue
                reqs.append(pointwise_request(judge, rubric, items[iid], text, ("p", judge, tid, model, iid)))
            for model in sorted({m for (m, t, _) in answers if t == task.id}):
                ids = sorted(i for (m, t, i) in answers if t == task.id and m == model)[:REPEAT_ITEMS]
                for iid in ids:
                    reqs.append(pointwise_request(judge, rubric, items[iid], answers[(model, task.id, iid)],
                                                  ("r", judge, task.id, model, iid), repeat=1))
    out: dict = {}
    for o in ask(reqs):
        kind, judge, tid, model, iid = o.request.tag
        task = next(t for t in tasks if t.id == tid)
        j = out.setdefault((judge, tid, model), Judged())
        if o.response is None:
            scores, rationale, failure = None, "", f"judge call failed: {o.error}"
        else:
            scores, rationale, failure = parse_pointwise(load_rubric(task), o.response["text"],
                                                         o.response.get("finish_reason"))
        if kind == "r":
            j.repeat[iid] = scores
            continue
        j.scores[iid] = scores
        j.rationale[iid] = rationale
        if failure:
            j.failure[iid] = failure
    return out


def scorer_for(judge: str, task, judged: Judged) -> JudgeScores:
    return JudgeScores(judge, load_rubric(task), judged.scores)


@dataclass
class PairwiseTally:
    """What one judge's both-order pairwise judging produced: pairs asked, pairs compared
    (both orders parsed), how many of those survived the swap, and the failed verdicts."""

    asked: int = 0  # item pairs put to the judge (2 verdicts each)
    compared: int = 0
    consistent: int = 0
    failed: int = 0  # verdicts (one order of one pair) that failed
    first_failure: str = ""

    @property
    def consistency(self) -> float:
        return 100.0 * self.consistent / self.compared if self.compared else math.nan

    def __add__(self, other: "PairwiseTally") -> "PairwiseTally":
        return PairwiseTally(self.asked + other.asked, self.compared + other.compared,
                             self.consistent + other.consistent, self.failed + other.failed,
                             self.first_failure or other.first_failure)

    def failure_note(self) -> str:
        """Why pairs are missing: '' when every verdict parsed, else how many failed and the
        first reason (prefixed 'no pair compared' when none could be)."""
        note = f"{self.failed} of {2 * self.asked} verdicts failed (first: {self.first_failure})" if self.failed else ""
        if not self.compared:
            note = ("no pair compared: " + note) if note else "no pair to compare"
        return note


def reliability_rows(judge: str, task, judged_by_model: dict[str, Judged], chrf_by_model: dict[str, dict],
                     run_id: str, created: str, pairwise: PairwiseTally | None = None) -> list[dict]:
    """How far to trust this judge on this task: parse failures, self-agreement on a repeat,
    Spearman correlation of its overall score with per-item chrF on the same items, and
    (once pairwise judging ran) the share of compared pairs whose verdict survives the swap.
    `n` counts what each value is computed on, `n_errors` what failed, and `note` says why a
    value is empty."""
    from scipy.stats import spearmanr

    fails = sum(1 for j in judged_by_model.values() for s in j.scores.values() if s is None)
    total = sum(len(j.scores) for j in judged_by_model.values())
    first = next((f for j in judged_by_model.values() for f in j.failure.values()), "")
    pairs = [(j.scores[i]["overall"], r["overall"]) for j in judged_by_model.values() for i, r in j.repeat.items()
             if r is not None and j.scores.get(i) is not None]
    repeat_fails = sum(1 for j in judged_by_model.values() for i, r in j.repeat.items()
                       if r is None or j.scores.get(i) is None)
    agree = 100.0 * np.mean([abs(a - b) < 1e-9 for a, b in pairs]) if pairs else math.nan
    xs, ys = [], []
    for model, j in judged_by_model.items():
        for iid, s in j.scores.items():
            c = chrf_by_model.get(model, {}).get(iid)
            if s is not None and c is not None and not math.isnan(c):
                xs.append(s["overall"])
                ys.append(c)
    rho, rho_note = math.nan, ""
    if len(xs) < 3:
        rho_note = f"{len(xs)} item(s) with both a judge score and chrF: correlation needs 3"
    elif len(set(xs)) == 1:
        rho_note = f"constant judge scores ({xs[0]:g} on every item): correlation undefined"
    elif len(set(ys)) == 1:
        rho_note = "constant chrF: correlation undefined"
    else:
        rho = float(spearmanr(xs, ys).statistic)
    parsed_note = f"no judgement parsed (first failure: {first})" if total and not fails < total else ""
    found = {"judge_parse_failure_rate": (100.0 * fails / total if total else math.nan, total, fails,
                                          "" if total else "nothing was judged"),
             "judge_self_agreement": (agree, len(pairs), repeat_fails,
                                      "" if pairs else parsed_note or "no repeated item was scored twice"),
             "judge_spearman_chrf": (rho, len(xs), fails, parsed_note or rho_note)}
    if pairwise is not None:
        found["judge_position_consistency"] = (pairwise.consistency, pairwise.compared,
                                               pairwise.asked - pairwise.compared, pairwise.failure_note())
    sig = f"judge-reliability|judge:{judge}|repeat:{REPEAT_ITEMS}-items|spearman:item-chrf"
    return [{"schema_version": SCHEMA_VERSION, "model": f"judge:{judge}", "task": task.id, "condition": "all",
             "metric": k, "value": round(v, 4) if not math.isnan(v) else math.nan, "ci_low": math.nan,
             "ci_high": math.nan, "n": n, "n_errors": n_err, "signature": sig, "prompt_hash": "", "run_id": run_id,
             "created_at": created, "note": note} for k, (v, n, n_err, note) in found.items()]


def position_row(judge: str, task_id: str, tally: PairwiseTally, created: str) -> dict:
    """The judge_position_consistency row `harness compare` writes (n = pairs compared)."""
    note = tally.failure_note()
    value = tally.consistency
    return {"schema_version": SCHEMA_VERSION, "model": f"judge:{judge}", "task": task_id, "condition": "all",
            "metric": "judge_position_consistency", "value": round(value, 4) if not math.isnan(value) else math.nan,
            "ci_low": math.nan, "ci_high": math.nan, "n": tally.compared, "n_errors": tally.asked - tally.compared,
            "signature": f"judge-reliability|judge:{judge}|pairwise-both-orders", "prompt_hash": "",
            "run_id": "compare", "created_at": created, "note": note}


def compare(task, outputs_a: dict[str, str], outputs_b: dict[str, str], model_a: str, model_b: str,
            judge: str, ask, created: str) -> tuple[dict, PairwiseTally]:
    """Both-order pairwise judgement of two models' outputs on their common items.
    Returns (a pairwise.csv row, the tally: pairs compared, consistent, failed verdicts)."""
    rubric = load_rubric(task)
    items = {it.id: it for it in task.items}
    common = [i for i in outputs_a if i in outputs_b and i in items]
    reqs = []
    for iid in common:
        reqs.append(pairwise_request(judge, rubric, items[iid], outputs_a[iid], outputs_b[iid], ("ab", iid)))
        reqs.append(pairwise_request(judge, rubric, items[iid], outputs_b[iid], outputs_a[iid], ("ba", iid)))
    verdicts: dict[str, dict] = {}
    tally = PairwiseTally(asked=len(common))
    for o in ask(reqs):
        order, iid = o.request.tag
        if o.response is None:
            verdict, failure = None, f"judge call failed: {o.error}"
        else:
            verdict, failure = parse_pairwise(o.response["text"], o.response.get("finish_reason"))
        verdicts.setdefault(iid, {})[order] = verdict
        if failure:
            tally.failed += 1
            tally.first_failure = tally.first_failure or failure
    rows, blocks, consistent = [], [], []
    for iid in common:
        v, ok = combine_orders(verdicts[iid].get("ab"), verdicts[iid].get("ba"))
        if v is None:
            continue
        consistent.append(ok)
        rows.append([v == "x", v == "y", v == "tie"])
        blocks.append(items[iid].block)
    stats = np.array(rows, dtype=float).reshape(-1, 3)
    n = len(stats)

    def win_diff(total, count):
        return (total[0] - total[1]) / count * 100 if count else math.nan
    res = st.paired_test(stats, np.zeros_like(stats), blocks, win_diff) if n >= 2 else \
        {"diff": math.nan, "diff_ci_low": math.nan, "diff_ci_high": math.nan, "p_value": math.nan}
    wins, losses, ties = (stats.sum(axis=0) if n else np.zeros(3))
    tally.compared, tally.consistent = len(consistent), int(sum(consistent))
    consistency = tally.consistency
    row = {"schema_version": SCHEMA_VERSION, "task": task.id, "condition": "all", "metric": f"judge:{judge}:pairwise",
           "model_a": model_a, "model_b": model_b,
           "value_a": round(100 * wins / n, 4) if n else math.nan,
           "value_b": round(100 * losses / n, 4) if n else math.nan,
           "diff": round(res["diff"], 4), "diff_ci_low": round(res["diff_ci_low"], 4),
           "diff_ci_high": round(res["diff_ci_high"], 4), "p_value": round(res["p_value"], 4),
           "significant": st.significant(res) if n >= 2 else False, "n": n,
           "method": f"judge-both-orders|flip=tie|ties:{int(ties)}|position_consistency:{consistency:.1f}",
           "signature": f"judge|model:{judge}|rubric:{rubric.id}@{rubric.text_hash}|pairwise", "created_at": created}
    return row, tally


def model_pairs(models: list[str]) -> list[tuple[str, str]]:
    return list(itertools.combinations(models, 2))
