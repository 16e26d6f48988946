"""How far to trust a judge: its parse failures, self-agreement on a repeat, correlation with
chrF, position consistency (the `judge:<model>` rows of the leaderboard), and the counts
that decide whether a run with this judge failed."""

from __future__ import annotations

import math

import numpy as np

from harness.core import schema
from harness.judge._pairwise import PairwiseTally
from harness.judge._parse import cause_of, failure_note
from harness.judge._pointwise import Judged
from harness.judge._prompts import REPEAT_ITEMS
from harness.score import judge_metric


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
    failed = {f"{model}/{i}": f for model, j in judged_by_model.items() for i, f in j.failure.items()}
    found = {"judge_parse_failure_rate": (100.0 * fails / total if total else math.nan, total, fails,
                                          failure_note(failed, total) if total else "nothing was judged"),
             "judge_self_agreement": (agree, len(pairs), repeat_fails,
                                      "" if pairs else parsed_note or "no repeated item was scored twice"),
             "judge_spearman_chrf": (rho, len(xs), fails, parsed_note or rho_note)}
    if pairwise is not None:
        found["judge_position_consistency"] = (pairwise.consistency, pairwise.compared,
                                               pairwise.asked - pairwise.compared, pairwise.failure_note())
    sig = f"judge-reliability|{judge_metric(judge)}|repeat:{REPEAT_ITEMS}-items|spearman:item-chrf"
    return [{"schema_version": schema.LEADERBOARD.version, "model": judge_metric(judge), "task": task.id, "condition": "all",
             "metric": k, "value": round(v, 4) if not math.isnan(v) else math.nan, "ci_low": math.nan,
             "ci_high": math.nan, "n": n, "n_errors": n_err, "signature": sig, "prompt_hash": "", "run_id": run_id,
             "created_at": created, "note": note} for k, (v, n, n_err, note) in found.items()]


def position_row(judge: str, task_id: str, tally: PairwiseTally, created: str) -> dict:
    """The judge_position_consistency row `harness compare` writes (n = pairs compared)."""
    note = tally.failure_note()
    value = tally.consistency
    return {"schema_version": schema.LEADERBOARD.version, "model": judge_metric(judge), "task": task_id, "condition": "all",
            "metric": "judge_position_consistency", "value": round(value, 4) if not math.isnan(value) else math.nan,
            "ci_low": math.nan, "ci_high": math.nan, "n": tally.compared, "n_errors": tally.asked - tally.compared,
            "signature": f"judge-reliability|{judge_metric(judge)}|pairwise-both-orders", "prompt_hash": "",
            "run_id": "compare", "created_at": created, "note": note}


def judge_counts(judged: dict, tallies: list[dict]) -> dict[str, dict]:
    """Per judge, like a run's per-model counts: requests (pointwise, repeats, both orders
    of every pair), how many failed (call error or a reply that did not parse), the note
    naming the cause and the first one. `judged`: (judge, task, model) -> Judged;
    `tallies`: {"judge", "tally"} per compared pair of models."""
    out: dict[str, dict] = {}
    for (judge, tid, model), j in judged.items():
        c = out.setdefault(judge, {"n_requests": 0, "n_errors": 0, "failures": {}})
        c["n_requests"] += len(j.scores) + len(j.repeat)
        for iid, f in [*j.failure.items(), *j.repeat_failure.items()]:
            c["n_errors"] += 1
            c["failures"].setdefault(f"{tid}/{model}/{iid}", f)
    for t in tallies:
        c = out.setdefault(t["judge"], {"n_requests": 0, "n_errors": 0, "failures": {}})
        tally = t["tally"]
        c["n_requests"] += 2 * tally.asked
        c["n_errors"] += tally.failed
        if tally.failed:
            c["failures"].setdefault(f"{t['row']['task']}/{t['row']['model_a']} vs {t['row']['model_b']}",
                                     tally.first_failure)
    for c in out.values():
        failures = c.pop("failures")
        c["first_error"] = next(iter(failures.values()), "")
        c["cause"] = cause_of(failures.values()) if failures else ""
    return out
