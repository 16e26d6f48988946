"""The LLM judge on the meta-evaluation set: every system output scored with the translation
rubric, reference-free and with the chosen reference, so its agreement with MQM sits next
to BLEU's and chrF's. Calls go through the one judge loop, the runner and the response cache."""

from __future__ import annotations

import sys
from typing import Callable

from harness.core import UserError
from harness.judge import Job, failure_note, judge_pointwise, load_rubric
from harness.score import judge_metric
from harness.task import Item

MAX_FAILED = 0.05  # share of failed judge replies above which the judge's correlation is not reported


def judge_scores(data, reference: str, judge: str, ask: Callable,
                 reject: Callable | None = None) -> dict[str, dict[tuple[str, str], float]]:
    """metric name -> {(system, segment): overall judge score}. Failed items are left out
    (never a score of 0) and said on stderr; above MAX_FAILED of them the run stops with
    an `error:` naming the judge and the cause (a correlation over what happened to parse
    is not the judge's agreement with MQM)."""
    rubric = load_rubric("translate")
    systems = [s for s in data.systems if s != reference]
    jobs = []
    for variant in ("ref-free", "with-ref"):
        for k, seg in enumerate(data.seg_ids):
            refs = [data.targets[reference][k]] if variant == "with-ref" else []
            item = Item(seg, data.sources[k], refs)
            jobs += [Job(judge, rubric, item, data.targets[system][k], (variant, system, seg)) for system in systems]
    out: dict[str, dict] = {judge_metric(judge, "ref-free"): {}, judge_metric(judge, "with-ref"): {}}
    failed = {}
    for (variant, system, seg), j in judge_pointwise(jobs, ask, reject).items():
        if j.scores is None:
            failed[f"{variant}/{system}/{seg}"] = j.failure
        else:
            out[judge_metric(judge, variant)][(system, seg)] = j.scores["overall"]
    note = failure_note(failed, len(jobs), "segments")
    if failed and len(failed) / len(jobs) > MAX_FAILED:
        raise UserError(f"meta-eval judge {judge}: {note}; those replies are asked again on the next run "
                        "(fix the judge or drop --judge)")
    if failed:
        print(f"warning: meta-eval judge {judge}: {note}; left out of its correlations", file=sys.stderr)
    return out
