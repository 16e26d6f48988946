"""`harness diff`: what a prompt edit did, before opening a pull request."""

from __future__ import annotations

import math
import textwrap

import click

from harness.cli._main import main
from harness.cli._types import model_names
from harness.core import UserError, results_dir

TEXT_CHARS = 300  # of a source, reference or output shown in the terminal


@main.command()
@click.option("--model", "models", multiple=True, callback=model_names, required=True,
              help="The model whose two versions are compared (one).")
@click.option("--task", "task_names", multiple=True,
              help="Default: every task the model ran with an earlier prompt.")
@click.option("--before", default=None, metavar="RUN|HASH",
              help="A run id or a prompt hash (4+ characters). Default: the prompt before --after's.")
@click.option("--after", default=None, metavar="RUN|HASH", help="Default: the model's latest prompt on the task "
              "(a prompt by its run on the most items).")
@click.option("--top", type=click.IntRange(min=0), default=5, show_default=True,
              help="Items listed, those that moved most on the task's headline metric.")
@click.option("--out", default=None, metavar="PATH", help="Also write the diff as Markdown, escaped for a "
              "pull-request comment.")
def diff(models, task_names, before, after, top, out) -> None:
    """Two versions of one model, paired on the items both answered: per metric after − before
    with its 95% CI and p-value, then the items that moved most, side by side. Exit 0; 2 on
    bad input (unknown model or version, no common items)."""
    from harness.results import choose, diff_task, runs_of
    from harness.task import load_tasks

    if len(models) != 1:
        raise UserError(f"--model: give exactly one model (got {len(models)}); diff compares two versions of it")
    model = models[0]
    results = results_dir()
    tasks = load_tasks(list(task_names) or None)
    found = []
    for task in tasks:
        runs = runs_of(results, model, task.id)
        if not task_names and (not runs or len({r.prompt_hash for r in runs}) < 2) and not before:
            continue  # by default, only the tasks where the prompt changed
        old, new = choose(runs, model, task.id, before, after)
        found.append(diff_task(task, model, old, new, top))
    if not found:
        raise UserError(f"{model}: no task with two prompt versions in {results / 'runs'}; run `harness eval "
                        f"--model {model}` before and after a prompt edit, or name --task and --before")
    click.echo("\n\n".join(plain(d) for d in found))
    if out:
        from pathlib import Path

        from harness.core import atomic_write_text

        try:
            atomic_write_text(Path(out), "\n\n".join(markdown(d) for d in found) + "\n")
        except OSError as exc:
            raise UserError(f"{out}: cannot write the diff ({exc.strerror}); choose another --out") from None
        click.echo(f"\nMarkdown:\n{out}")  # the path on a line of its own, whole, to copy


def _one(text, limit: int = 120) -> str:
    """Outside text on one terminal line (the gate's: no control characters, no bidi overrides)."""
    from harness.gate import one_line

    return one_line(text, limit)


def _num(v: float, fmt: str, sign: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return format(v, ("+" if sign else "") + fmt)


def _head(d) -> str:
    return (f"{_one(d.model)} · {_one(d.task)}: prompt {d.before.prompt_hash} (run {d.before.run_id}) → prompt "
            f"{d.after.prompt_hash} (run {d.after.run_id}); {d.n} items both answered, {d.blocks} blocks")


def plain(d, width: int = 80) -> str:
    wrap = lambda text, indent="": textwrap.wrap(text, width, initial_indent=indent,  # noqa: E731
                                                 subsequent_indent=indent + "    ", break_on_hyphens=False)
    lines = wrap(_head(d))
    for m in d.metrics:
        lines += wrap(f"{m.metric}: {_num(m.before, m.fmt)} → {_num(m.after, m.fmt)}, Δ {_num(m.diff, m.fmt, True)} "
                      f"[{_num(m.ci_low, m.fmt, True)}, {_num(m.ci_high, m.fmt, True)}], p {m.p_value:.3f}: "
                      f"{m.verdict}", "  ")
    if d.top and not d.moved:
        lines += ["", f"No item moved on {d.sort_metric}."]
    elif d.moved:
        lines += ["", f"Items that moved most on {d.sort_metric}:"]
    for it in d.moved:
        deltas = ", ".join(f"{name} {v:+.1f}" for name, v in it.deltas.items())
        lines += wrap(f"{_one(it.item_id)} ({deltas})", "  ")
        for label, text in (("source", it.source), ("reference", it.reference), ("before", it.before),
                            ("after", it.after)):
            lines += wrap(f"{label}: {_one(text, TEXT_CHARS)}", "    ")
    return "\n".join(lines)


def markdown(d) -> str:
    from harness.gate import md

    lines = [f"## {md(_head(d), 400)}", "", "| metric | before | after | Δ [95% CI] | p | |", "|---|---:|---:|---:|---:|---|"]
    for m in d.metrics:
        lines.append(f"| {md(m.metric)} | {_num(m.before, m.fmt)} | {_num(m.after, m.fmt)} | "
                     f"{_num(m.diff, m.fmt, True)} [{_num(m.ci_low, m.fmt, True)}, {_num(m.ci_high, m.fmt, True)}] | "
                     f"{m.p_value:.3f} | {md(m.verdict)} |")
    if d.top:
        lines += ["", f"### Items that moved most on {md(d.sort_metric)}" if d.moved else
                  f"No item moved on {md(d.sort_metric)}."]
    for it in d.moved:
        deltas = ", ".join(f"{md(name)} {v:+.1f}" for name, v in it.deltas.items())
        lines += ["", f"**{md(it.item_id)}** ({deltas})", "",
                  *[f"- {label}: {md(text, 600)}" for label, text in (("source", it.source),
                    ("reference", it.reference), ("before", it.before), ("after", it.after))]]
    return "\n".join(lines)
