"""Command line: parse, call, print. Heavy imports (litellm, pandas, metrics) happen inside
the commands so `harness --help` and `harness tasks list` start instantly."""

from __future__ import annotations

import json
import sys

import click

from .errors import UserError
from .paths import TASKS, offline_environment, results_dir


class Harness(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=Harness, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Evaluate LLM summaries and zh→en translations: tasks → models → scores → leaderboard."""
    offline_environment()


@main.group()
def tasks() -> None:
    """List or build the task items."""


@tasks.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def tasks_list(as_json: bool) -> None:
    """Every task with its item counts, languages and conditions."""
    from .task import load_tasks

    rows = []
    for t in load_tasks():
        conds: dict[str, int] = {}
        for it in t.items:
            conds[it.condition] = conds.get(it.condition, 0) + 1
        rows.append({"id": t.id, "kind": t.spec.kind, "source_lang": t.spec.source_lang,
                     "target_lang": t.spec.target_lang, "n_items": len(t.items), "conditions": conds,
                     "metrics": t.spec.metrics, "prompt_hash": t.prompt_hash})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        conds = ", ".join(f"{k} {v}" for k, v in r["conditions"].items())
        click.echo(f"{r['id']:<22} {r['kind']:<10} {r['source_lang']}→{r['target_lang']}  "
                   f"{r['n_items']:>4} items  [{conds}]")


@tasks.command("build")
def tasks_build() -> None:
    """Rebuild tasks/items/*.jsonl and the normalised sources from tasks/sources/raw/."""
    from .corpus import write_all

    for name, n in write_all(TASKS).items():
        click.echo(f"{name}: {n} items")


@main.command("eval")
@click.option("--model", "models", multiple=True, help="litellm model name; repeat for several. "
              "Default: baseline/lead, baseline/copy, local/smollm2-135m on a fixed sample.")
@click.option("--task", "task_names", multiple=True, help="Task id (default: every task in tasks/).")
@click.option("--limit", type=int, default=None, help="Items per task (a fixed, condition-balanced sample).")
@click.option("--full", is_flag=True, help="Run every item even for the default models.")
@click.option("--retry-errors", is_flag=True, help="Re-ask only the items that have no stored answer.")
@click.option("--concurrency", type=int, default=8, show_default=True, help="Requests in flight per model.")
@click.option("--rpm", type=float, default=None, help="Requests per minute per model.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds per request.")
@click.option("--max-retries", type=int, default=4, show_default=True)
@click.option("--no-ci", is_flag=True, help="Skip bootstrap confidence intervals (faster).")
def eval_cmd(models, task_names, limit, full, retry_errors, concurrency, rpm, timeout, max_retries, no_ci) -> None:
    """Ask every model every item, score, and update results/leaderboard.csv."""
    from .models import DEFAULT_MODELS
    from .pipeline import DEFAULT_LIMIT, RunOptions, run_eval
    from .runner import Limits
    from .task import load_tasks
    from .table import print_board

    if not models:
        models = DEFAULT_MODELS
        if limit is None and not full:
            limit = DEFAULT_LIMIT
    if limit is not None and limit <= 0:
        raise UserError("--limit must be a positive number of items per task")
    loaded = load_tasks(list(task_names) or None)
    opts = RunOptions(list(dict.fromkeys(models)), None if full else limit, retry_errors,
                      Limits(concurrency=concurrency, timeout=timeout, max_retries=max_retries, rpm=rpm),
                      with_ci=not no_ci)
    run_id, board, rows = run_eval(loaded, opts, results_dir())
    print_board(rows)
    n_err = sum(r["n_errors"] for r in rows if r["condition"] == "all" and r["metric"] == "finish_length_rate")
    click.echo(f"run {run_id}: results/runs/{run_id}/items.csv, leaderboard results/leaderboard.csv"
               + (f"; {n_err} item(s) failed (see the error column; re-run to retry them)" if n_err else ""))


@main.command()
@click.option("--task", "task_names", multiple=True)
@click.option("--condition", "conditions", multiple=True, help="e.g. all, asr-punctuated, origin=zh-original")
@click.option("--metric", "metrics", multiple=True)
def leaderboard(task_names, conditions, metrics) -> None:
    """Print results/leaderboard.csv as tables (one per task and condition)."""
    from .table import print_board_file

    print_board_file(results_dir() / "leaderboard.csv", task_names, conditions or ("all",), metrics)


if __name__ == "__main__":
    main()
