"""`harness tasks list|check|build`."""

from __future__ import annotations

import json
import sys

import click

from harness.cli._main import main
from harness.core import TASKS


@main.group()
def tasks() -> None:
    """List or build the task items."""


@tasks.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def tasks_list(as_json: bool) -> None:
    """Every task with its item counts, languages and conditions; a broken task file is
    listed as BROKEN with its first problem (`harness tasks check` lists them all)."""
    from harness.task import load_valid_tasks

    rows = []
    valid, broken = load_valid_tasks(via_datasets=False)
    for t in valid:
        conds: dict[str, int] = {}
        for it in t.items:
            conds[it.condition] = conds.get(it.condition, 0) + 1
        rows.append({"id": t.id, "kind": t.spec.kind, "source_lang": t.spec.source_lang,
                     "target_lang": t.spec.target_lang, "n_items": len(t.items), "conditions": conds,
                     "metrics": t.spec.metrics, "prompt_hash": t.prompt_hash})
    if as_json:
        rows += [{"file": str(p), "broken": True, "error": e} for p, e in broken.items()]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        conds = ", ".join(f"{k} {v}" for k, v in r["conditions"].items())
        click.echo(f"{r['id']:<22} {r['kind']:<10} {r['source_lang']}→{r['target_lang']}  "
                   f"{r['n_items']:>4} items  [{conds}]")
    for p, e in broken.items():
        click.echo(f"{p.stem:<22} BROKEN     {' '.join(e.split())}")


@tasks.command("check")
def tasks_check() -> None:
    """Check every task file in the tasks folder ($HARNESS_TASKS) and the prompt, reference,
    item and rubric files they name, plus every rubric in rubrics/: one `error:` line per
    problem, exit 2 if there is any."""
    from harness.core import tasks_dir
    from harness.task import rubric_problems
    from harness.task import task_files, task_problems

    problems, ids = [], {}
    files = task_files()
    for p in files:
        found = task_problems(p)
        problems += found
        if not found:
            from harness.task import load_task

            tid = load_task(p).id
            if tid in ids:
                problems.append(f"{p}: declares the id {tid!r} of {ids[tid].name}; give each task its own id")
            ids.setdefault(tid, p)
        click.echo(f"{'ok' if not found else 'BROKEN':<7}{p}")
    for rubric in sorted((tasks_dir() / "rubrics").glob("*.yaml")):
        found = rubric_problems(rubric.resolve())[2]  # the name the tasks' own checks use: counted once
        problems += [x for x in found if x not in problems]
        click.echo(f"{'ok' if not found else 'BROKEN':<7}{rubric}")
    for line in problems:
        click.echo("error: " + " ".join(line.split()), err=True)
    if not files:
        click.echo(f"error: no task files (*.yaml) in {tasks_dir()}", err=True)
        sys.exit(2)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(files)} task file(s)", err=True)
        sys.exit(2)
    click.echo(f"{len(files)} task file(s): no problem")


@tasks.command("build")
def tasks_build() -> None:
    """Rebuild tasks/items/*.jsonl and the normalised sources from tasks/sources/raw/."""
    from harness.task import write_all

    for name, n in write_all(TASKS).items():
        click.echo(f"{name}: {n} items")
