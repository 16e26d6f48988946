"""`harness eval`: parse the run's options, call the public API, print the summary."""

from __future__ import annotations

import json
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
@click.option("--no-ci", is_flag=True, help="Skip bootstrap confidence intervals (faster).")
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
    from harness.model import DEFAULT_MODELS
    from harness.pipeline import DEFAULT_LIMIT, RunOptions, run_eval
    from harness.run import Limits
    from harness.task import load_tasks, load_valid_tasks
    from harness.run import configured

    if not models:
        models = DEFAULT_MODELS
        if limit is None and not full:
            limit = DEFAULT_LIMIT
    broken: dict = {}
    if task_names:  # only the files asked for: another task's broken file does not matter
        loaded = load_tasks(list(task_names))
    else:
        loaded, broken = load_valid_tasks()
        for problem in broken.values():
            click.echo(f"warning: skipped a broken task: {' '.join(problem.split())}", err=True)
        if not loaded:
            raise UserError(next(iter(broken.values()), "no task files in the tasks folder"))
    if judges:  # a rubric the judge cannot use fails here, before any model is asked
        from harness.judge import load_rubric

        for t in loaded:
            load_rubric(t)
    opts = RunOptions(list(dict.fromkeys(models)), None if full else limit, retry_errors,
                      Limits(concurrency=concurrency, timeout=timeout, max_retries=max_retries, rpm=rpm, tpm=tpm),
                      with_ci=not no_ci, judges=list(dict.fromkeys(judges)), refresh=refresh)
    with configured(workers):
        run_id, board, rows = run_eval(loaded, opts, results_dir())
    from harness.cli._tables import print_board_file

    print_board_file(results_dir() / "leaderboard.csv", [t.id for t in loaded])
    recorded = json.loads((results_dir() / "runs" / run_id / "run.json").read_text(encoding="utf-8"))
    counts, judge_counts = recorded["per_model"], recorded.get("per_judge", {})
    n_err = sum(c["n_errors"] for c in counts.values())
    run_dir = results_dir() / "runs" / run_id  # printed where they are: $HARNESS_RESULTS, else results/
    click.echo(f"run {run_id}: {run_dir / 'items.csv'}, leaderboard {results_dir() / 'leaderboard.csv'}"
               + (f"; {n_err} item(s) failed (see the error column; re-run to retry them)" if n_err else ""))
    failing = failed_models(counts, max_error_rate) + failed_judges(judge_counts, max_error_rate)
    for judge, c in judge_counts.items():
        if c["n_errors"] and not any(f.startswith(f"judge {judge}:") for f in failing):
            click.echo(f"warning: judge {judge}: {_judge_failures(c)}; those items have no judge score "
                       "(see the judge:*:failure columns) and are asked again on the next run", err=True)
    if failing:
        click.echo(f"error: {failing[0]}; every result is written ({run_dir}/); "
                   "re-run the same command to retry the failed items", err=True)
        sys.exit(1)
    if broken:
        click.echo(f"error: {len(broken)} broken task file(s) skipped (the other tasks' results are written); "
                   "run `harness tasks check` for every problem", err=True)
        sys.exit(2)


def failed_models(counts: dict[str, dict], max_error_rate: float) -> list[str]:
    """Why the run counts as failed: a model that answered nothing, or failed too often."""
    out = []
    for model, c in counts.items():
        n, bad = c["n_requests"], c["n_errors"]
        if n and bad == n:
            out.append(f"{model} answered none of its {n} item(s) (first error: {c.get('first_error') or '?'})")
        elif n and bad / n > max_error_rate:
            out.append(f"{model}: {bad} of {n} item(s) failed ({bad / n:.1%} > --max-error-rate {max_error_rate:g})")
    return out


def _judge_failures(c: dict) -> str:
    return f"{c['cause']} for {c['n_errors']} of {c['n_requests']} request(s) (first: {c['first_error']})"


def failed_judges(counts: dict[str, dict], max_error_rate: float) -> list[str]:
    """A judge fails the run like a model: when its share of replies that failed (a call
    error or a reply that did not parse) is above --max-error-rate."""
    return [f"judge {judge}: {_judge_failures(c)}, {c['n_errors'] / c['n_requests']:.1%} > --max-error-rate "
            f"{max_error_rate:g}" for judge, c in counts.items()
            if c["n_requests"] and c["n_errors"] / c["n_requests"] > max_error_rate]
