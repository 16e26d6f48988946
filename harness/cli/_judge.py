"""`harness compare`: a judge's both-order verdicts between two evaluated models."""

from __future__ import annotations

import sys

import click

from harness.cli._types import model_names
from harness.cli._main import main
from harness.core import UserError, results_dir


@main.command()
@click.option("--models", nargs=2, required=True, callback=model_names,
              help="The two models to compare (already evaluated).")
@click.option("--judge", required=True, callback=model_names, help="litellm model that judges.")
@click.option("--task", "task_names", multiple=True, help="Default: every task both models were evaluated on.")
def compare(models, judge, task_names) -> None:
    """Ask a judge which of two models' outputs is better, in both orders (a flip is a tie).
    Exit 1 (after writing every row) when no pair of outputs could be compared."""
    from harness.results import latest_outputs, merge_judge_pairwise, refresh
    from harness.judge import compare as judge_pair
    from harness.judge import position_row
    from harness.results import merge, now
    from harness.model import preflight
    from harness.run import execute, store_path
    from harness.run import Limits
    from harness.run import Store
    from harness.task import load_tasks

    preflight(judge)
    a, b = models
    latest = latest_outputs(results_dir())
    from harness.task import load_valid_tasks

    candidates = load_tasks(list(task_names)) if task_names else load_valid_tasks()[0]  # a broken file blocks nothing
    tasks = [t for t in candidates if (a, t.id) in latest and (b, t.id) in latest]
    if not tasks:
        raise UserError(f"no task has outputs of both {a} and {b}; run `harness eval --model {a} --model {b}` first")
    store = Store(store_path(results_dir()))
    created, rows, board, failed = now(), [], [], []
    try:
        for t in tasks:
            outs = [{r.item_id: r.output for r in latest[(m, t.id)].itertuples() if not r.error} for m in (a, b)]
            row, tally = judge_pair(t, outs[0], outs[1], a, b, judge,
                                    lambda reqs: execute(reqs, store, Limits()), created, store.reject)
            rows.append(row)
            board.append(position_row(judge, t.id, tally, created))
            if tally.failed:
                from harness.core import redact

                click.echo(redact(f"{t.id}: {tally.failed} of {2 * tally.asked} judge verdicts failed "
                           f"(first: {tally.first_failure}); a pair counts only when both orders parse"), err=True)
            if not tally.compared:
                failed.append(f"{t.id}: no pair of outputs could be compared: " + (
                    f"{tally.failed} of {2 * tally.asked} judge verdicts failed (first: {tally.first_failure})"
                    if tally.failed else "the two models share no answered item"))
                continue
            click.echo(f"{t.id}: {a} wins {row['value_a']:.1f}%, {b} wins {row['value_b']:.1f}%, "
                       f"difference {row['diff']:+.1f} [{row['diff_ci_low']:+.1f}, {row['diff_ci_high']:+.1f}] "
                       f"(p = {row['p_value']:.3f}, n = {row['n']}); position consistency {tally.consistency:.1f}%")
    finally:
        store.close()
    merge_judge_pairwise(results_dir(), rows)
    merge(results_dir() / "leaderboard.csv", board)
    refresh(results_dir(), tasks)
    if failed:
        from harness.core import redact

        click.echo("error: " + redact(failed[0]), err=True)
        sys.exit(1)
