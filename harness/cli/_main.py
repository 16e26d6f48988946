"""Command line: parse, call, print. Heavy imports (litellm, pandas, metrics) happen inside
the commands so `harness --help` and `harness tasks list` start instantly."""

from __future__ import annotations

import json
import sys

import click

from harness.cli._types import FiniteFloat, model_names
from harness.core._errors import UserError
from harness.core._paths import TASKS, offline_environment, results_dir


class Harness(click.Group):
    """Every failure a user can cause ends in one `error:` line: click's usage errors (exit 2),
    UserError (exit 2), an interrupt (exit 130, after the store kept every answer received).
    Anything else is a bug: its traceback is printed redacted, exit 1."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `harness` or `harness cache` alone: the help
                click.echo(exc.ctx.get_help())
                sys.exit(0)
            cmd = exc.ctx.command_path if exc.ctx is not None else "harness"
            _fail(f"{exc.format_message()} (see `{cmd} --help`)", 2)
        except UserError as exc:
            _fail(str(exc), exc.exit_code)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            _fail("interrupted; every answer received so far is stored in the response cache: "
                  "run the same command again to continue", 130)
        except Exception:  # noqa: BLE001 - a bug: show it, but never with a secret in it
            import traceback

            from harness.core._secrets import redact

            click.echo(redact(traceback.format_exc()).rstrip(), err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    from harness.core._secrets import redact

    click.echo("error: " + redact(" ".join(message.split())), err=True)
    sys.exit(code)


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
    """Every task with its item counts, languages and conditions; a broken task file is
    listed as BROKEN with its first problem (`harness tasks check` lists them all)."""
    from harness.task._spec import load_valid_tasks

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
    from harness.core._paths import tasks_dir
    from harness.task._rubric import rubric_problems
    from harness.task._spec import task_files, task_problems

    problems, ids = [], {}
    files = task_files()
    for p in files:
        found = task_problems(p)
        problems += found
        if not found:
            from harness.task._spec import load_task

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
    from harness.task._corpus import write_all

    for name, n in write_all(TASKS).items():
        click.echo(f"{name}: {n} items")


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
              help="Exit 1 (after writing every result) when a model's share of failed items is above this.")
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
    --max-error-rate (results are written first); 2: bad input or set-up; 130: interrupted."""
    from harness.model._providers import DEFAULT_MODELS
    from harness.pipeline._eval import DEFAULT_LIMIT, RunOptions, run_eval
    from harness.run._runner import Limits
    from harness.task._spec import load_tasks, load_valid_tasks
    from harness.run._workers import configured

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
        from harness.judge._prompts import load_rubric

        for t in loaded:
            load_rubric(t)
    opts = RunOptions(list(dict.fromkeys(models)), None if full else limit, retry_errors,
                      Limits(concurrency=concurrency, timeout=timeout, max_retries=max_retries, rpm=rpm, tpm=tpm),
                      with_ci=not no_ci, judges=list(dict.fromkeys(judges)), refresh=refresh)
    with configured(workers):
        run_id, board, rows = run_eval(loaded, opts, results_dir())
    from harness.cli._tables import print_board_file

    print_board_file(results_dir() / "leaderboard.csv", [t.id for t in loaded])
    counts = json.loads((results_dir() / "runs" / run_id / "run.json").read_text(encoding="utf-8"))["per_model"]
    n_err = sum(c["n_errors"] for c in counts.values())
    run_dir = results_dir() / "runs" / run_id  # printed where they are: $HARNESS_RESULTS, else results/
    click.echo(f"run {run_id}: {run_dir / 'items.csv'}, leaderboard {results_dir() / 'leaderboard.csv'}"
               + (f"; {n_err} item(s) failed (see the error column; re-run to retry them)" if n_err else ""))
    failing = failed_models(counts, max_error_rate)
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
    from harness.meta._mqm import run

    extra_for = None
    if judges:
        from harness.meta._judge import judge_scores
        from harness.model._providers import preflight
        from harness.pipeline._eval import execute, store_path
        from harness.run._runner import Limits
        from harness.run._store import Store

        for j in judges:
            preflight(j)
        store = Store(store_path(results_dir()))

        def extra_for(data, ref):
            found = {}
            for j in judges:
                found.update(judge_scores(data, ref, j, lambda reqs: execute(reqs, store, Limits())))
            return found
    refs = ("ref", "refB") if reference == "both" else (reference,)
    rows, path = run(refs, extra_for, segments)
    from harness.meta._mqm import HUMAN
    from harness.cli._tables import print_meta

    print_meta([r for r in rows if r["reference"] in {HUMAN[x] for x in refs}])
    if ".first-" in path.name:
        click.echo(f"a sample of the first {segments} segments: written to its own file, never mixed with "
                   "the full set's figures")
    click.echo(f"95% bootstrap CIs and n in {path}")


@main.command()
@click.option("--models", nargs=2, required=True, callback=model_names,
              help="The two models to compare (already evaluated).")
@click.option("--judge", required=True, callback=model_names, help="litellm model that judges.")
@click.option("--task", "task_names", multiple=True, help="Default: every task both models were evaluated on.")
def compare(models, judge, task_names) -> None:
    """Ask a judge which of two models' outputs is better, in both orders (a flip is a tie).
    Exit 1 (after writing every row) when no pair of outputs could be compared."""
    from harness.results._pairwise import latest_outputs, merge_judge_pairwise, refresh
    from harness.judge._judging import compare as judge_pair
    from harness.judge._judging import position_row
    from harness.results._leaderboard import merge, now
    from harness.model._providers import preflight
    from harness.pipeline._eval import execute, store_path
    from harness.run._runner import Limits
    from harness.run._store import Store
    from harness.task._spec import load_tasks

    preflight(judge)
    a, b = models
    latest = latest_outputs(results_dir())
    from harness.task._spec import load_valid_tasks

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
                                    lambda reqs: execute(reqs, store, Limits()), created)
            rows.append(row)
            board.append(position_row(judge, t.id, tally, created))
            if tally.failed:
                from harness.core._secrets import redact

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
        from harness.core._secrets import redact

        click.echo("error: " + redact(failed[0]), err=True)
        sys.exit(1)


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

    from harness.gate._check import check as run_check
    from harness.gate._baseline import read_baseline
    from harness.gate._config import default_thresholds_path, load_thresholds
    from harness.gate._summary import md, render
    from harness.task._spec import load_tasks

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
    click.echo(comment)
    for f in result.failures:
        click.echo(f"error: {f.model} {f.task}: {f.n_errors} of {f.n_items} item(s) without an answer "
                   f"({f.what}); first {f.first_item}: {f.first_error}", err=True)
    _write_summary(full_path, full)
    _write_summary(summary, comment)
    sys.exit(result.exit_code)


def _write_summary(path, text: str) -> None:
    from harness.core._io import atomic_write_text

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

    from harness.gate._check import judge_names, update_baseline
    from harness.gate._baseline import read_baseline
    from harness.pipeline._eval import DEFAULT_LIMIT, sample
    from harness.task._spec import load_tasks

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


@main.command("serve-local")
@click.option("--model", "name", default="gemma3-270m", show_default=True,
              help="Embedded model: gemma3-270m or smollm2-135m.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
def serve_local(name, host, port) -> None:
    """Serve an embedded model as an OpenAI-compatible server (llama-cpp-python's), for other
    tools: OPENAI_API_BASE=http://HOST:PORT/v1, model name = the --model value."""
    from harness.model.local._catalog import get
    from harness.model.local._server import main as serve

    get(name)  # an unknown name is one line, before anything loads
    sys.exit(serve(["--model", name, "--host", host, "--port", str(port)]))


@main.group()
def cache() -> None:
    """Check, repair or clear the response cache (results/cache/responses.sqlite)."""


def _store_file():
    from harness.pipeline._eval import store_path

    return store_path(results_dir())


@cache.command("check")
def cache_check() -> None:
    """SQLite's integrity check and a read of every answer; exit 1 if the file is damaged."""
    from harness.run._cache_repair import check as run_check

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
    from harness.run._cache_repair import recover

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
    from harness.run._cache_repair import clear
    from harness.run._store import Store

    keys = None
    if task_name:
        from harness.pipeline._eval import build_requests
        from harness.task._spec import load_tasks

        loaded = load_tasks([task_name])
        keys = {r.key for r in build_requests(loaded, [model], None)}
        task_name = loaded[0].id
    store = Store(_store_file())
    try:
        n = clear(store, model, keys, task_name)
    finally:
        store.close()
    click.echo(f"deleted {n} stored answer(s) of {model}" + (f" for task {task_name}" if task_name else ""))


@main.command()
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Default: results/report.html")
def report(out) -> None:
    """Write a static HTML report (opens from the file system, no server, no network)."""
    from pathlib import Path

    from harness.report._build import build

    path = build(results_dir(), Path(out) if out else results_dir() / "report.html")
    click.echo(f"report: {path}")


if __name__ == "__main__":
    main()
