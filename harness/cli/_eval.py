"""`harness eval`: parse the run's options, call the public API, print the summary."""

from __future__ import annotations

import sys

import click

from harness.cli._types import FiniteFloat, model_names
from harness.cli._main import main
from harness.core import UserError, results_dir


POSITIVE_INT = click.IntRange(min=1)


POSITIVE = FiniteFloat(min=0, min_open=True)


@main.command("eval")
@click.option("--model", "models", multiple=True, callback=model_names,
              help="litellm model name; repeat for several. "
              "Default: baseline/lead, baseline/copy, local/gemma3-270m on a fixed sample.")
@click.option("--task", "task_names", multiple=True, help="Task id (default: every task in tasks/).")
@click.option("--limit", type=POSITIVE_INT, default=None, help="Items per task (a fixed, condition-balanced sample).")
@click.option("--full", is_flag=True, help="Run every item even for the default models.")
@click.option("--retry-errors", is_flag=True, help="Re-ask only the items that have no stored answer.")
@click.option("--refresh", is_flag=True, help="Ask again even when an answer is cached, and store the new one.")
@click.option("--concurrency", type=POSITIVE_INT, default=8, show_default=True, help="Requests in flight per model.")
@click.option("--rpm", type=POSITIVE, default=None, help="Requests per minute per model.")
@click.option("--tpm", type=POSITIVE, default=None,
              help="Tokens per minute per model (prompt characters / 3 + max_tokens per request).")
@click.option("--timeout", type=POSITIVE, default=120.0, show_default=True, help="Seconds per request.")
@click.option("--max-retries", type=click.IntRange(min=0), default=4, show_default=True)
@click.option("--max-error-rate", type=FiniteFloat(min=0, max=1), default=0.05, show_default=True,
              help="Exit 1 (after writing every result) when a model's share of failed items, or a judge's share "
              "of failed or unparseable replies, is above this.")
@click.option("--no-ci", is_flag=True, help="Skip the confidence intervals (block jackknife; faster).")
@click.option("--judge", "judges", multiple=True, callback=model_names,
              help="litellm model that scores outputs with the task's rubric "
              "(tasks/rubrics/) and compares every two models in both orders.")
@click.option("--workers", type=POSITIVE_INT, default=1, show_default=True,
              help="Processes that ask hosted models (concurrency and rpm are shared between them). "
              "Worth it only for hundreds of requests/s: each costs ~2-3 s to start; local/ stays in one.")
def eval_cmd(models, task_names, limit, full, retry_errors, refresh, concurrency, rpm, tpm, timeout, max_retries,
             max_error_rate, no_ci, judges, workers) -> None:
    """Ask every model every item, score, and update results/leaderboard.csv.

    Exit 0: every item answered; 1: a model answered nothing or failed more than
    --max-error-rate, or a judge's replies did (results are written first); 2: bad input or set-up; 130: interrupted."""
    from harness.api import evaluate
    from harness.pipeline import judge_failures
    from harness.task import load_tasks, load_valid_tasks

    broken: dict = {}
    if task_names:  # only the files asked for: another task's broken file does not matter
        loaded = load_tasks(list(task_names))
    else:
        loaded, broken = load_valid_tasks()
        for problem in broken.values():
            click.echo(f"warning: skipped a broken task: {' '.join(problem.split())}", err=True)
        if not loaded:
            raise UserError(next(iter(broken.values()), "no task files in the tasks folder"))
    run = evaluate(list(models), loaded, limit, judges=list(judges), full=full, retry_errors=retry_errors,
                   refresh=refresh, concurrency=concurrency, rpm=rpm, tpm=tpm, timeout=timeout,
                   max_retries=max_retries, with_ci=not no_ci, workers=workers, results=results_dir())
    from harness.cli._tables import print_run

    print_run(run)
    click.echo(f"run {run.run_id}: {run.items_path}, leaderboard {run.leaderboard_path}"
               + (f"; {run.n_errors} item(s) failed (see the error column; re-run to retry them)" if run.n_errors else ""))
    failing = run.failures(max_error_rate)
    for judge, c in run.per_judge.items():
        if c["n_errors"] and not any(f.startswith(f"judge {judge}:") for f in failing):
            click.echo(f"warning: judge {judge}: {judge_failures(c)}; those items have no judge score "
                       "(see the judge:*:failure columns) and are asked again on the next run", err=True)
    if failing:
        click.echo(f"error: {failing[0]}; every result is written ({run.run_dir}/); "
                   "re-run the same command to retry the failed items", err=True)
        sys.exit(1)
    if broken:
        click.echo(f"error: {len(broken)} broken task file(s) skipped (the other tasks' results are written); "
                   "run `harness tasks check` for every problem", err=True)
        sys.exit(2)
