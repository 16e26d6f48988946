"""THE pointwise judge loop, used by eval, the gate and meta-eval: build one request per
(output, rubric) → ask them all through the passed-in `ask` → parse each reply, recording a
failure per item (a reply that does not parse is rejected from the cache: see `_asking`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from harness.judge._asking import ask_parsed
from harness.judge._parse import parse_pointwise
from harness.judge._prompts import REPEAT_ITEMS, load_rubric, pointwise_request
from harness.judge._scores import JudgeScores


@dataclass
class Job:
    """One output to score: `tag` comes back with its judgement; `repeat` > 0 asks the same
    question again under its own cache key (self-agreement)."""

    judge: str
    rubric: object
    item: object
    output: str
    tag: object
    repeat: int = 0


@dataclass
class Judgement:
    scores: dict[str, float] | None  # None = failure
    rationale: str
    failure: str  # '' when it parsed (a `Failure` otherwise)


def judge_pointwise(jobs: list[Job], ask: Callable, reject: Callable | None = None) -> dict:
    """tag -> Judgement for every job. `ask(requests)` returns outcomes (the runner through
    the response cache); `reject(key, why)` takes each reply that did not parse out of it."""
    rubric_of = {}
    reqs = []
    for job in jobs:
        req = pointwise_request(job.judge, job.rubric, job.item, job.output, job.tag, repeat=job.repeat)
        rubric_of[id(req)] = job.rubric
        reqs.append(req)

    def parse(request, response):
        scores, rationale, failure = parse_pointwise(rubric_of[id(request)], response["text"],
                                                     response.get("finish_reason"))
        return (scores, rationale), failure

    out = {}
    for o, parsed, failure in ask_parsed(reqs, parse, ask, reject):
        scores, rationale = parsed or (None, "")
        out[o.request.tag] = Judgement(scores, rationale, failure or "")
    return out


@dataclass
class Judged:
    """Everything one judge said about one (task, model)."""

    scores: dict[str, dict | None] = field(default_factory=dict)  # item id -> scores (None = failure)
    rationale: dict[str, str] = field(default_factory=dict)
    failure: dict[str, str] = field(default_factory=dict)
    repeat: dict[str, dict | None] = field(default_factory=dict)
    repeat_failure: dict[str, str] = field(default_factory=dict)


def judge_outputs(tasks, answers: dict, judges: list[str], ask: Callable, reject: Callable | None = None) -> dict:
    """answers: (model, task id, item id) -> output text; the first REPEAT_ITEMS items of
    every (task, model) are asked twice. Returns (judge, task id, model) -> Judged."""
    jobs = []
    for judge in judges:
        for task in tasks:
            rubric = load_rubric(task)
            items = {it.id: it for it in task.items}
            for (model, tid, iid), text in answers.items():
                if tid == task.id:
                    jobs.append(Job(judge, rubric, items[iid], text, ("p", judge, tid, model, iid)))
            for model in sorted({m for (m, t, _) in answers if t == task.id}):
                ids = sorted(i for (m, t, i) in answers if t == task.id and m == model)[:REPEAT_ITEMS]
                jobs += [Job(judge, rubric, items[iid], answers[(model, task.id, iid)],
                             ("r", judge, task.id, model, iid), repeat=1) for iid in ids]
    out: dict = {}
    for (kind, judge, tid, model, iid), j in judge_pointwise(jobs, ask, reject).items():
        got = out.setdefault((judge, tid, model), Judged())
        if kind == "r":
            got.repeat[iid] = j.scores
            if j.failure:
                got.repeat_failure[iid] = j.failure
            continue
        got.scores[iid] = j.scores
        got.rationale[iid] = j.rationale
        if j.failure:
            got.failure[iid] = j.failure
    return out


def scorer_for(judge: str, task, judged: Judged) -> JudgeScores:
    return JudgeScores(judge, load_rubric(task), judged.scores)
