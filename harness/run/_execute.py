"""Answering requests: cached ones from the store, the rest through the runner (in this
process or spread over worker processes), in request order."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from harness.core import UserError
from harness.run._runner import Limits, Outcome, Request
from harness.run._store import Store


def store_path(results: Path) -> Path:
    return Path(os.environ.get("HARNESS_STORE", results / "cache" / "responses.sqlite"))


class _PlainProgress:
    """Progress for a log (stderr is not a terminal: CI): one line every `every` seconds and
    one at the end, instead of minutes of silence or a bar's control characters."""

    disable = False

    def __init__(self, total: int, every: float = 10.0):
        self.total, self.every, self.done = total, every, 0
        self.start = self.last = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.done and time.monotonic() - self.start >= self.every:  # a short run says nothing
            self._line()
        return False

    def advance(self, _bar=None, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line()

    def _line(self) -> None:
        elapsed = int(time.monotonic() - self.start)
        print(f"asking models: {self.done}/{self.total} answered, {elapsed // 60}:{elapsed % 60:02d} elapsed",
              file=sys.stderr, flush=True)


def _progress(total: int):
    if not sys.stderr.isatty():
        return _PlainProgress(total), None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("[bold]asking models"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        transient=True)
    return progress, progress.add_task("ask", total=total)


def execute(requests: list[Request], store: Store, limits: Limits, workers: int | None = None,
            refresh: bool = False) -> list[Outcome]:
    """Answer every request, cached ones from the store, in request order. `workers` > 1
    spreads the uncached hosted/baseline requests over that many processes (see
    harness/workers.py for when that pays); None means the `--workers` setting (default 1).
    `refresh` asks every request again and replaces the stored answers."""
    cached = {} if refresh else store.get_many([r.key for r in requests])
    if len(cached) == len({r.key for r in requests}):  # everything cached: no litellm import, no event loop
        if store.readonly and requests:
            print(f"note: {store.path} is read-only: every answer came from it, none could be added",
                  file=sys.stderr)
        return [Outcome(r, cached[r.key], cached=True) for r in requests]
    if store.readonly:
        n = len({r.key for r in requests} - set(cached))
        why = "--refresh needs to store new answers" if refresh else f"{n} request(s) have no stored answer"
        raise UserError(f"{store.path}: read-only, and {why}; make it writable "
                        "(chmod u+w on the file and its folder) or set HARNESS_STORE to a writable copy")
    from harness.run._workers import default_workers, prestart, run_split

    missing = [r for r in requests if r.key not in cached]
    workers = default_workers() if workers is None else workers
    if workers > 1:
        prestart(missing, limits, workers)  # the workers import litellm while this process does
    from harness import model as models
    from harness.run._runner import run
    from harness.run._workers import freeze_heap

    models.register()
    freeze_heap()

    async def call(req: Request, timeout: float) -> dict:
        return await models.call(req.model, req.messages, req.settings, req.extra, timeout)

    def lane(model: str) -> Limits:
        if model.startswith("local/"):  # one llama.cpp context: more concurrency only queues
            return Limits(**{**limits.__dict__, "concurrency": 1, "timeout": max(limits.timeout, 600)})
        return limits

    progress, bar = _progress(len(missing))
    with progress:
        if workers <= 1:
            return asyncio.run(run(requests, call, store, limits, lane_limits=lane,
                                   on_done=lambda o: progress.advance(bar), refresh=refresh))
        shown = not getattr(progress, "disable", False)  # workers report each answer only when shown
        answered = asyncio.run(run_split(missing, call, store, limits, workers, lane_limits=lane,
                                         on_done=(lambda: progress.advance(bar)) if shown else None,
                                         refresh=refresh))
    by_id = {id(o.request): o for o in answered}
    return [by_id[id(r)] if id(r) in by_id else Outcome(r, cached[r.key], cached=True) for r in requests]
