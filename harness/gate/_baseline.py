"""The gate's baseline file: reading it with a line number for every problem, and writing
a new one whose row order a reviewer can diff.

`results/baseline.csv` holds, per (model, task, item), a reviewed output, the prompt hash
it was produced with and its per-metric scores (a JSON object). A baseline the gate cannot
use (empty, unreadable, a score that is not a number, items no task has) is a user error
(exit 2): checking against it would say "no regression" without having looked.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from harness.core import UserError, schema

BASELINE_COLUMNS = list(schema.BASELINE.columns)
SCHEMA_VERSION = schema.BASELINE.version


@dataclass
class Row:
    line: int  # first physical line of the record in the file (outputs may span lines)
    model: str
    task: str
    item_id: str
    condition: str
    block: str
    prompt_hash: str
    output: str
    scores: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Baseline:
    path: Path
    rows: list[Row]

    @property
    def models(self) -> list[str]:
        return sorted({r.model for r in self.rows})

    @property
    def tasks(self) -> list[str]:
        return sorted({r.task for r in self.rows})

    def of(self, model: str, task: str) -> list[Row]:
        return [r for r in self.rows if r.model == model and r.task == task]

    def items_of(self, task: str) -> list[str]:
        return list(dict.fromkeys(r.item_id for r in self.rows if r.task == task))


def _scores(path: Path, line: int, item: str, text: str) -> dict[str, float | None]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise UserError(f"{path}:{line}: {item}: scores is not a JSON object; "
                        "regenerate the baseline with `harness baseline update`") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}:{line}: {item}: scores must be a JSON object of metric name to number")
    for name, v in data.items():
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise UserError(f"{path}:{line}: {item}: score {name} = {v!r} is not a finite number "
                            "(null for a metric with nothing to score)")
    return data


def read_baseline(path: Path) -> Baseline:
    if not path.exists():
        raise UserError(f"{path}: no baseline; create one with `harness baseline update --model MODEL`")
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            records = []
            start = reader.line_num + 1
            for rec in reader:
                records.append((start, rec))
                start = reader.line_num + 1
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; regenerate it with `harness baseline update`") from None
    except (OSError, csv.Error) as exc:
        raise UserError(f"{path}: not a readable CSV ({getattr(exc, 'strerror', None) or exc})") from None
    if header is None:
        raise UserError(f"{path}:1: empty file; create the baseline with `harness baseline update --model MODEL`")
    missing = [c for c in BASELINE_COLUMNS if c not in header]
    if missing:
        raise UserError(f"{path}:1: missing column {missing[0]!r}; regenerate it with `harness baseline update`")
    col = {c: header.index(c) for c in BASELINE_COLUMNS}
    rows, seen = [], {}
    for line, rec in records:
        if not any(v.strip() for v in rec):
            continue  # a blank line
        if len(rec) != len(header):
            raise UserError(f"{path}:{line}: {len(rec)} fields where the header has {len(header)}; "
                            "a quote or comma was lost in editing; regenerate with `harness baseline update`")
        get = {c: rec[i] for c, i in col.items()}
        item = f"{get['model']} {get['task']}/{get['item_id']}"
        if get["schema_version"] != str(SCHEMA_VERSION):
            raise UserError(f"{path}:{line}: {item}: schema_version {get['schema_version']!r} "
                            f"(this harness reads {SCHEMA_VERSION}); regenerate with `harness baseline update`")
        for c in ("model", "task", "item_id"):
            if not get[c].strip():
                raise UserError(f"{path}:{line}: {item}: empty {c}")
        key = (get["model"], get["task"], get["item_id"])
        if key in seen:
            raise UserError(f"{path}:{line}: {item}: listed twice (also on line {seen[key]}); keep one row")
        seen[key] = line
        rows.append(Row(line, get["model"], get["task"], get["item_id"], get["condition"], get["block"],
                        get["prompt_hash"], get["output"], _scores(path, line, item, get["scores"])))
    if not rows:
        raise UserError(f"{path}: no rows, only a header; a gate with nothing to compare cannot pass. "
                        "Create the baseline with `harness baseline update --model MODEL`")
    return Baseline(path, rows)


def match_tasks(baseline: Baseline, tasks_by_id: dict) -> None:
    """Every baseline row must name a task and an item that exist: an item the gate cannot
    ask again is a blind spot, not a pass."""
    for r in baseline.rows:
        task = tasks_by_id.get(r.task)
        if task is None:
            raise UserError(f"{baseline.path}:{r.line}: {r.task}/{r.item_id}: task {r.task!r} is not in the tasks "
                            f"folder (tasks: {', '.join(sorted(tasks_by_id)) or 'none'}); "
                            "restore it or run `harness baseline update`")
    ids = {t: {it.id for it in task.items} for t, task in tasks_by_id.items()}
    unmatched = [r for r in baseline.rows if r.item_id not in ids[r.task]]
    if unmatched:
        r = unmatched[0]
        raise UserError(f"{baseline.path}:{r.line}: {r.task}/{r.item_id}: item not in task {r.task!r} "
                        f"({len(unmatched)} of {len(baseline.rows)} rows have no such item); "
                        "run `harness baseline update` after changing the items")


def check_models(baseline: Baseline, models: list[str]) -> None:
    outside = [m for m in models if m not in baseline.models]
    if outside:
        raise UserError(f"{baseline.path}: --model {outside[0]}: not in the baseline (its models: "
                        f"{', '.join(baseline.models)}); add it with `harness baseline update --model ...`")


def ordered(new: list[dict], old: Baseline | None, task_order: list[str], item_order: dict[str, list[str]]) \
        -> list[dict]:
    """Rows in a stable order: rows already in the old baseline keep their place; new rows
    go where the canonical order (task, item order in the task, model) puts them."""
    def canon(r):
        return (task_order.index(r["task"]), item_order[r["task"]].index(r["item_id"]), r["model"])

    new = sorted(new, key=canon)
    if old is None:
        return new
    place = {(r.model, r.task, r.item_id): k for k, r in enumerate(old.rows)}
    keyed, anchor = [], -1.0
    for k, r in enumerate(new):
        pos = place.get((r["model"], r["task"], r["item_id"]))
        if pos is not None:
            anchor = pos
            keyed.append(((pos, 0, k), r))
        else:  # right after the last kept row that precedes it canonically
            keyed.append(((anchor, 1, k), r))
    return [r for _, r in sorted(keyed, key=lambda x: x[0])]
