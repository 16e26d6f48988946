"""`harness diff`: what a prompt edit did to one model, item by item.

Two versions of a model on a task — by prompt hash or run id; by default the latest prompt
against the prompt before it, each by its run on the most items — are compared on the items both answered:
per metric the paired difference (after − before) with its CI over blocks and the p-value
of the block-level randomization test (the same test as pairwise.csv), then the items that
moved most on the task's headline metric, with their source, reference and both outputs."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness import inference as st
from harness.core import UserError
from harness.results._leaderboard import metric_fn
from harness.results._pairwise import task_scorers
from harness.results._runs import read_items

MIN_PREFIX = 4  # characters of a prompt hash that name it


@dataclass
class Version:
    run_id: str
    prompt_hash: str
    outputs: dict[str, str]  # item id -> output, answered items only
    asked: int


@dataclass
class MetricDiff:
    metric: str
    before: float
    after: float
    diff: float  # after − before
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str  # better, worse, no significant change, or no direction (a target metric)
    fmt: str = ".2f"


@dataclass
class MovedItem:
    item_id: str
    source: str
    reference: str
    before: str
    after: str
    deltas: dict[str, float]  # metric -> after − before on this item alone


@dataclass
class TaskDiff:
    model: str
    task: str
    before: Version
    after: Version
    n: int  # items both answered
    blocks: int
    sort_metric: str
    top: int = 5  # items asked for (0: none listed, none said to be unmoved)
    metrics: list[MetricDiff] = field(default_factory=list)
    moved: list[MovedItem] = field(default_factory=list)


def runs_of(results: Path, model: str, task_id: str) -> list[Version]:
    """Every run of `model` on `task_id`, oldest first (from run.json, then its items.csv)."""
    out = []
    for meta_path in sorted((results / "runs").glob("*/run.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a damaged run.json: that run cannot be told apart, so it is not offered
        if model not in meta.get("models", []) or task_id not in meta.get("tasks", []):
            continue
        items_path = meta_path.parent / "items.csv"
        if not items_path.exists():
            continue
        rows = read_items(items_path)
        rows = rows[(rows.model == model) & (rows.task == task_id)]
        if not len(rows):
            continue
        ok = rows[rows.error == ""]
        out.append(Version(meta_path.parent.name, str(rows.prompt_hash.iloc[0]), dict(zip(ok.item_id, ok.output)),
                           len(rows)))
    return out


def _pick(runs: list[Version], ref: str, what: str, model: str, task_id: str) -> Version:
    """A run named by its id, or a prompt hash named by a prefix (its run on the most items)."""
    exact = [r for r in runs if r.run_id == ref]
    if exact:
        return exact[0]
    if len(ref) >= MIN_PREFIX:
        by_hash = [r for r in runs if r.prompt_hash.startswith(ref)]
        if len({r.prompt_hash for r in by_hash}) == 1:
            return _largest(by_hash)
        if by_hash:
            raise UserError(f"--{what} {ref}: names {len({r.prompt_hash for r in by_hash})} prompt hashes of "
                            f"{model} on {task_id}; give more characters")
    known = ", ".join(sorted({r.prompt_hash for r in runs})) or "none"
    raise UserError(f"--{what} {ref}: no run id or prompt hash of {model} on {task_id} (prompt hashes: {known})")


def _largest(runs: list[Version]) -> Version:
    """Of one prompt's runs, the one on the most items (the latest of equal ones): a `--limit`
    check after a full run does not stand for the prompt, as in the leaderboard."""
    return max(reversed(runs), key=lambda r: r.asked)


def choose(runs: list[Version], model: str, task_id: str, before: str | None, after: str | None
           ) -> tuple[Version, Version]:
    if not runs:
        raise UserError(f"{model} has no run on {task_id}; run `harness eval --model {model} --task {task_id}`")
    if after:
        new = _pick(runs, after, "after", model, task_id)
    else:
        new = _largest([r for r in runs if r.prompt_hash == runs[-1].prompt_hash])
    if before:
        return _pick(runs, before, "before", model, task_id), new
    older = [r for r in runs if r.prompt_hash != new.prompt_hash and r.run_id < new.run_id
             and len(set(r.outputs) & set(new.outputs)) >= 2]
    if older:
        older = [r for r in older if r.prompt_hash == older[-1].prompt_hash]
        older = [_largest(older)]
    if not older:
        raise UserError(f"{model} on {task_id}: no earlier prompt to compare with (every run has prompt "
                        f"{new.prompt_hash}, or shares fewer than 2 answered items with it); edit the prompt and "
                        "run again, or name --before RUN_ID")
    return older[-1], new


def _verdict(name: str, res: dict) -> str:
    from harness.score import registry

    if not registry.has_direction(name):
        return "no direction"
    if not st.significant(res, 0.05):
        return "no significant change"
    up = res["diff"] > 0
    return "worse" if up == registry.lower_is_better(name) else "better"


def diff_task(task, model: str, old: Version, new: Version, top: int = 5) -> TaskDiff:
    from harness.score import registry

    common = [it for it in task.items if it.id in old.outputs and it.id in new.outputs]
    if len(common) < 2:
        raise UserError(f"{model} on {task.id}: runs {old.run_id} and {new.run_id} share {len(common)} answered "
                        "item(s); a paired comparison needs at least 2")
    blocks = [it.block for it in common]
    scorers = task_scorers(task)
    sort_metric = registry.headline(task.spec.metrics[0])
    out = TaskDiff(model, task.id, old, new, len(common), len(set(blocks)), sort_metric, top)
    per_item: dict[str, np.ndarray] = {}
    for family, scorer in scorers.items():
        sa = scorer.stats([old.outputs[it.id] for it in common], common)
        sb = scorer.stats([new.outputs[it.id] for it in common], common)
        va, vb = scorer.score(sa), scorer.score(sb)
        for name in scorer.names:
            if math.isnan(va[name]) or math.isnan(vb[name]):
                continue
            fn = metric_fn(scorer, name)
            res = st.paired_test(sb, sa, blocks, fn)
            out.metrics.append(MetricDiff(name, va[name], vb[name], res["diff"], res["diff_ci_low"],
                                          res["diff_ci_high"], res["p_value"], _verdict(name, res),
                                          registry.metric(name).fmt))
            ones = np.ones(len(common))
            per_item[name] = fn(sb, ones) - fn(sa, ones)  # each item's own score, after − before
    key = per_item.get(sort_metric)
    if key is None and per_item:
        key = next(iter(per_item.values()))
    order = sorted(range(len(common)), key=lambda k: -abs(key[k]) if key is not None and np.isfinite(key[k]) else 0)
    for k in order[:top]:
        if key is None or not np.isfinite(key[k]) or key[k] == 0:
            break  # an item that did not move is not listed as moved
        it = common[k]
        out.moved.append(MovedItem(it.id, it.source, it.references[0] if it.references else "",
                                   old.outputs[it.id], new.outputs[it.id],
                                   {n: float(v[k]) for n, v in per_item.items() if np.isfinite(v[k])}))
    return out
