"""`harness leaderboard` and `harness report`: the result files, read back for people."""

from __future__ import annotations

import click

from harness.cli._main import main
from harness.core import results_dir


@main.command()
@click.option("--task", "task_names", multiple=True)
@click.option("--condition", "conditions", multiple=True, help="e.g. all, asr-punctuated, origin=zh-original")
@click.option("--metric", "metrics", multiple=True)
@click.option("--history", "history", default=None, metavar="MODEL",
              help="List every version of MODEL (prompt hash, item sample, run) with its scores.")
def leaderboard(task_names, conditions, metrics, history) -> None:
    """Print results/leaderboard.csv as tables (one per task and condition): each model's
    latest version; --history MODEL lists them all."""
    from harness.cli._tables import print_board_file, print_history

    if history:
        print_history(results_dir() / "leaderboard.csv", history)
        return
    print_board_file(results_dir() / "leaderboard.csv", task_names, conditions or ("all",), metrics)


@main.command()
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Default: results/report.html")
def report(out) -> None:
    """Write a static HTML report (opens from the file system, no server, no network)."""
    from pathlib import Path

    from harness.report import build

    path = build(results_dir(), Path(out) if out else results_dir() / "report.html")
    click.echo(f"report: {path}")


if __name__ == "__main__":
    main()
