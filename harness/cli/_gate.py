"""`harness check` and `harness baseline update`: the CI regression gate."""

from __future__ import annotations

import sys

import click

from harness.cli._types import model_names
from harness.cli._main import main
from harness.core import UserError, results_dir


@main.command()
@click.option("--baseline", "baseline_path", default=None, metavar="PATH",
              help="Default: baseline.csv in the results folder ($HARNESS_RESULTS, else results/).")
@click.option("--thresholds", default=None, metavar="PATH", help="Default: gate.yaml")
@click.option("--model", "models", multiple=True, callback=model_names, help="Check these models (default: the baseline's); "
              "each must be in the baseline.")
@click.option("--summary", default=None, metavar="PATH",
              help="Markdown summary for a pull-request comment, capped below 60,000 characters "
              "(default: check.md in the results folder); the uncapped one goes beside it as *.full.md.")
def check(baseline_path, thresholds, models, summary) -> None:
    """CI gate. Exit 0: no regression and every item answered; 1: a significant regression
    beyond its threshold, a scorer change, or items without an answer; 2: bad input."""
    from pathlib import Path

    from harness.gate import check as run_check
    from harness.gate import read_baseline
    from harness.gate import default_thresholds_path, load_thresholds
    from harness.gate import md, plain, render
    from harness.task import load_tasks

    summary = Path(summary) if summary else results_dir() / "check.md"
    full_path = summary.with_name(summary.stem + ".full.md")
    try:
        th = load_thresholds(Path(thresholds) if thresholds else default_thresholds_path())
        baseline = read_baseline(Path(baseline_path) if baseline_path else results_dir() / "baseline.csv")
        tasks = {t.id: t for t in load_tasks()}
        result = run_check(tasks, baseline, th, results_dir(), list(models) or None)
    except UserError as exc:  # never leave an earlier run's "no regression" for CI to post
        _write_summary(summary, f"## harness check: ❌ could not run\n\nerror: {md(str(exc), 2000)}\n")
        raise
    comment, full = render(result, str(full_path))
    click.echo(plain(result, str(summary)))
    for f in result.failures:
        click.echo(f"error: {f.model} {f.task}: {f.n_errors} of {f.n_items} item(s) without an answer "
                   f"({f.what}); first {f.first_item}: {f.first_error}", err=True)
    _write_summary(full_path, full)
    _write_summary(summary, comment)
    sys.exit(result.exit_code)


def _write_summary(path, text: str) -> None:
    from harness.core import atomic_write_text

    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the summary ({exc.strerror}); choose another --summary") from None


@main.group()
def baseline() -> None:
    """Manage the CI gate's baseline (a reviewed file in the repository)."""


@baseline.command("update")
@click.option("--model", "models", multiple=True, callback=model_names, help="Models to record (repeatable). Default: the models of "
              "the existing baseline at --out; required when there is none.")
@click.option("--task", "task_names", multiple=True, help="Default: the current baseline's tasks, or every task.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Items per task (default: the current baseline's items; "
              "for a task new to the baseline, the default sample).")
@click.option("--judge", "judges", multiple=True, callback=model_names, help="Also record this judge's rubric scores (repeatable; "
              "default: the judges of the existing baseline); `check` then judges changed outputs.")
@click.option("--out", default=None, metavar="PATH",
              help="Default: baseline.csv in the results folder ($HARNESS_RESULTS, else results/).")
def baseline_update(models, task_names, limit, judges, out) -> None:
    """Record the current outputs as the new baseline (rows keep their order: a small diff to review)."""
    from pathlib import Path

    from harness.gate import judge_names, update_baseline
    from harness.gate import read_baseline
    from harness.pipeline import DEFAULT_LIMIT
    from harness.task import sample
    from harness.task import load_tasks

    out = Path(out) if out else results_dir() / "baseline.csv"
    if limit is not None and limit <= 0:
        raise UserError("--limit must be a positive number of items per task")
    old = read_baseline(out) if out.exists() else None
    if not models and old is None:
        raise UserError(f"{out}: no baseline to take the models from; name them with --model MODEL (repeatable)")
    models = list(dict.fromkeys(models)) or old.models
    judges = list(dict.fromkeys(judges)) or (sorted({j for t in old.tasks for j in judge_names(old, t)})
                                            if old is not None else [])
    tasks = load_tasks(list(task_names) or (old.tasks if old is not None else None))
    for t in tasks:
        keep = set(old.items_of(t.id)) if old is not None and limit is None else set()
        if keep:  # the same items as before
            t.items = [i for i in t.items if i.id in keep]
        else:
            t.items = sample(t.items, limit or DEFAULT_LIMIT)
    n = update_baseline(tasks, models, None, out, results_dir(), old, judges)
    click.echo(f"baseline: {out} ({n} outputs from {', '.join(models)}); review and commit it")
