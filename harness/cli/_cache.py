"""`harness cache check|recover|clear`: look after the response cache."""

from __future__ import annotations

import sys

import click

from harness.cli._types import model_names
from harness.cli._main import main
from harness.core import results_dir


@main.group()
def cache() -> None:
    """Check, repair or clear the response cache (results/cache/responses.sqlite)."""


def _store_file():
    from harness.run import store_path

    return store_path(results_dir())


@cache.command("check")
def cache_check() -> None:
    """SQLite's integrity check and a read of every answer; exit 1 if the file is damaged."""
    from harness.run import check as run_check

    path = _store_file()
    ok, problems, n = run_check(path)
    if ok:
        click.echo(f"{path}: ok, {n} answer(s)")
        return
    click.echo(f"error: {path}: damaged ({'; '.join(problems)[:500]}); run `harness cache recover` to keep "
               "every readable answer", err=True)
    sys.exit(1)


@cache.command("recover")
def cache_recover() -> None:
    """Copy every readable answer into a new cache file; the old file is kept beside it."""
    from harness.run import recover

    path = _store_file()
    kept, aside, notes = recover(path)
    click.echo(f"{path}: kept {kept} answer(s); the old file is {aside}"
               + (f" ({'; '.join(notes)[:300]})" if notes else ""))


@cache.command("clear")
@click.option("--model", required=True, callback=model_names, help="Delete this model's stored answers.")
@click.option("--task", "task_name", default=None,
              help="Only the answers it gave for this task (a judge's answers: clear the judge model).")
def cache_clear(model, task_name) -> None:
    """Delete stored answers so the next run asks again (see also `harness eval --refresh`)."""
    from harness.run import clear
    from harness.run import Store

    keys = None
    if task_name:
        from harness.run import build_requests
        from harness.task import load_tasks

        loaded = load_tasks([task_name])
        keys = {r.key for r in build_requests(loaded, [model], None)}
        task_name = loaded[0].id
    store = Store(_store_file())
    try:
        n = clear(store, model, keys, task_name)
    finally:
        store.close()
    click.echo(f"deleted {n} stored answer(s) of {model}" + (f" for task {task_name}" if task_name else ""))
