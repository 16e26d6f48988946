"""`harness meta-eval`: the metrics (and judges) against expert MQM judgments."""

from __future__ import annotations

import click

from harness.cli._types import model_names
from harness.cli._main import main
from harness.core import results_dir


@main.command("meta-eval")
@click.option("--reference", type=click.Choice(["ref", "refB", "both"]), default="both", show_default=True,
              help="Human translation used as the reference (ref = ref.A, refB = ref.B).")
@click.option("--judge", "judges", multiple=True, callback=model_names,
              help="LLM judge model to meta-evaluate as well (repeatable).")
@click.option("--segments", type=click.IntRange(min=1), default=None,
              help="Use only the first N segments (a cheaper sample when a judge is asked); written to "
              "results/meta/mqm_ted_zhen.first-N.csv, never merged with the full set's rows.")
def meta_eval(reference, judges, segments) -> None:
    """Agreement of the metrics with expert MQM judgments (WMT21 TED zh→en): system- and
    segment-level correlations with bootstrap CIs → results/meta/mqm_ted_zhen.csv (merged:
    rows of another reference or judge not recomputed this time are kept)."""
    from harness.meta import run

    extra_for = None
    if judges:
        from harness.meta import judge_scores
        from harness.model import preflight
        from harness.run import execute, store_path
        from harness.run import Limits
        from harness.run import Store

        for j in judges:
            preflight(j)
        store = Store(store_path(results_dir()))

        def extra_for(data, ref):
            found = {}
            for j in judges:
                found.update(judge_scores(data, ref, j, lambda reqs: execute(reqs, store, Limits()), store.reject))
            return found
    refs = ("ref", "refB") if reference == "both" else (reference,)
    rows, path = run(refs, extra_for, segments)
    from harness.meta import HUMAN
    from harness.cli._tables import print_meta

    print_meta([r for r in rows if r["reference"] in {HUMAN[x] for x in refs}])
    if ".first-" in path.name:
        click.echo(f"a sample of the first {segments} segments: written to its own file, never mixed with "
                   "the full set's figures")
    click.echo(f"95% bootstrap CIs and n in {path}")
