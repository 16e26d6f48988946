"""Both-order pairwise verdicts: each pair of outputs is shown as (A, B) and as (B, A); a
verdict that flips with the order counts as a tie, and a pair counts only when both orders
parse (a reply that does not is rejected from the cache, like a pointwise one)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from harness import inference as st
from harness.core import schema
from harness.judge._asking import ask_parsed
from harness.judge._parse import parse_pairwise
from harness.judge._prompts import load_rubric, pairwise_request
from harness.score import judge_metric


def combine_orders(first: str | None, swapped: str | None) -> tuple[str | None, bool]:
    """Verdict for (x, y) from 'x shown as A' and 'y shown as A'; a flip counts as a tie.
    Returns (x|y|tie or None when either order failed, consistent)."""
    if first is None or swapped is None:
        return None, False
    as_x = {"A": "x", "B": "y", "tie": "tie"}[first]
    as_x_swapped = {"A": "y", "B": "x", "tie": "tie"}[swapped]
    return (as_x, True) if as_x == as_x_swapped else ("tie", False)


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


def compare(task, outputs_a: dict[str, str], outputs_b: dict[str, str], model_a: str, model_b: str,
            judge: str, ask: Callable, created: str, reject: Callable | None = None) -> tuple[dict, PairwiseTally]:
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
    parse = lambda request, response: parse_pairwise(response["text"], response.get("finish_reason"))  # noqa: E731
    for o, verdict, failure in ask_parsed(reqs, parse, ask, reject):
        order, iid = o.request.tag
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
    row = {"schema_version": schema.JUDGE_PAIRWISE.version, "task": task.id, "condition": "all", "metric": judge_metric(judge, "pairwise"),
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
