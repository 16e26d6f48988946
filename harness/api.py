"""The public Python API: what `harness eval` does, as a function a notebook can call.

    import harness
    run = harness.evaluate(models=["baseline/lead", "baseline/copy"], tasks=["translate_zh_en"], limit=4)
    run.table()
"""

from __future__ import annotations

from pathlib import Path


def evaluate(models: list[str] | None = None, tasks: list | None = None, limit: int | None = None, *,
             judges: list[str] = (), full: bool = False, retry_errors: bool = False, refresh: bool = False,
             concurrency: int = 8, rpm: float | None = None, tpm: float | None = None, timeout: float = 120.0,
             max_retries: int = 4, with_ci: bool = True, workers: int = 1, results: str | Path | None = None):
    """Ask every model every item of `tasks`, score, update the result files, and return
    the run's `RunSummary`. `tasks`: task ids or loaded tasks (default: every task in the
    tasks folder; a broken file raises `UserError` naming it). `models` default: the offline
    models on `limit` items per task (2 unless `full`). `results` default: $HARNESS_RESULTS,
    else results/. Bad input raises `harness.core.UserError` before any model is asked."""
    from harness.core import UserError, results_dir
    from harness.model import DEFAULT_MODELS
    from harness.pipeline import DEFAULT_LIMIT, RunOptions, run_eval
    from harness.run import Limits, configured
    from harness.task import Task, load_tasks

    if isinstance(models, str) or isinstance(tasks, str) or isinstance(judges, str):
        raise UserError("models, tasks and judges are lists (e.g. models=['openai/gpt-4o-mini'])")
    if not models:
        models = DEFAULT_MODELS
        if limit is None and not full:
            limit = DEFAULT_LIMIT
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise UserError(f"limit must be a whole number >= 1, got {limit!r}")
    names = [t for t in (tasks or []) if not isinstance(t, Task)]
    loaded = [t for t in (tasks or []) if isinstance(t, Task)]
    if names or not tasks:
        loaded += load_tasks(names or None)
    if judges:  # a rubric the judge cannot use fails here, before any model is asked
        from harness.judge import load_rubric

        for t in loaded:
            load_rubric(t)
    opts = RunOptions(list(dict.fromkeys(models)), None if full else limit, retry_errors,
                      Limits(concurrency=concurrency, timeout=timeout, max_retries=max_retries, rpm=rpm, tpm=tpm),
                      with_ci=with_ci, judges=list(dict.fromkeys(judges)), refresh=refresh)
    with configured(workers):
        return run_eval(loaded, opts, Path(results) if results else results_dir())
