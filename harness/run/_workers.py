"""Worker processes for `harness eval --workers N`: more client CPU for many cheap requests.

Why: one event loop spends about 5-7 ms of CPU inside litellm per request (building the
request, the OpenAI SDK, response parsing, cost look-up, logging), so a single process
tops out near 150-200 requests/s whatever `--concurrency` says (bench/throughput.py). With a fast provider and
high concurrency the client, not the provider, sets the pace; more processes, each with
its own event loop and its own litellm, use more cores.

How: the uncached requests to hosted (and baseline) models are dealt into N fixed shares
(each model's distinct cache keys round-robin, so every model is spread evenly and
requests with the same key stay together). This process answers share 0 — plus every
`local/...` request, because the embedded model is one llama.cpp context — and N−1
spawned processes answer the others. `--concurrency` and `--rpm` stay totals per model:
they are divided between the shares. Every worker writes each answer to the same SQLite
store (WAL) the moment it arrives, exactly as a single process does; the parent then reads
the answers back from the store and gets errors and attempt counts from the workers, and
returns the outcomes in request order with the same cache keys, so results are identical
to `--workers 1`.

The trade-off: a worker costs ~2-3 s of CPU to start (spawn + importing litellm) and
~150-250 MB of memory, and its share is fixed when the run starts, so it pays off only
for many requests at high concurrency against a fast provider (hundreds of requests/s);
for a handful of requests or a slow model it is pure overhead. The worker pool lives
until the process exits, so later calls in the same run (the judge) reuse it. The circuit
breaker counts failures per process (a dead model costs up to N × 10 failed calls).
The default is 1: everything in this process, nothing spawned.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable

from harness.core import UserError
from harness.run._runner import Limits, Outcome, Request
from harness.core import redact

log = logging.getLogger(__name__)
_default = 1
_frozen = False


@contextmanager
def configured(workers: int):
    """Within the block, `pipeline.execute` uses `workers` processes when not told otherwise
    (`harness eval --workers N`); the previous setting is restored afterwards."""
    global _default
    if workers < 1:
        raise ValueError("workers must be at least 1")
    before, _default = _default, int(workers)
    try:
        yield
    finally:
        _default = before


def default_workers() -> int:
    return _default


def freeze_heap() -> None:
    """Once per process, after litellm is imported: move the ~300k objects alive then (mostly
    the imported modules, which live until exit anyway) out of the collector's sight
    (gc.freeze). Otherwise every full collection rescans them: ~0.2 s each, about one per
    500 requests, ~0.4 ms of CPU per request."""
    global _frozen
    if not _frozen:
        import gc

        gc.freeze()
        _frozen = True


def stays_here(req: Request) -> bool:
    """Requests that must be answered in this process: the embedded model (one context)."""
    return req.model.startswith("local/")


def split(requests: list[Request], n: int) -> list[list[Request]]:
    """Deal requests into `n` shares: per model, distinct keys round-robin in order of first
    appearance (so each model is spread evenly); requests with the same key stay together."""
    shares: list[list[Request]] = [[] for _ in range(n)]
    where: dict[str, int] = {}
    per_model: dict[str, int] = {}
    for req in requests:
        if req.key not in where:
            k = per_model.get(req.model, 0)
            where[req.key] = k % n
            per_model[req.model] = k + 1
        shares[where[req.key]].append(req)
    return shares


def share_limits(limits: Limits, n: int, k: int) -> Limits:
    """Share k of n of a per-model total: concurrency, requests and tokens per minute. `processes`
    never uses more shares than the concurrency, so every share gets at least 1."""
    conc = limits.concurrency // n + (1 if k < limits.concurrency % n else 0)
    return replace(limits, concurrency=max(1, conc), rpm=limits.rpm / n if limits.rpm else limits.rpm,
                   tpm=limits.tpm / n if limits.tpm else limits.tpm)


# --- the worker process -------------------------------------------------------------------

def _serve(conn) -> None:
    """Worker main loop: import litellm once, then answer jobs until told to stop."""
    try:
        from harness import model as models
        from harness.run._runner import run
        from harness.run._store import Store

        models.register()
        freeze_heap()

        async def call(req: Request, timeout: float) -> dict:
            return await models.call(req.model, req.messages, req.settings, req.extra, timeout)

        conn.send(("ready", os.getpid()))
        while True:
            job = conn.recv()
            if job is None:
                return
            try:
                store = Store(Path(job["store"]))
                try:
                    index = {id(r): i for i, r in enumerate(job["requests"])}

                    def done(o: Outcome) -> None:
                        conn.send(("done", index[id(o.request)]))

                    outs = asyncio.run(run(job["requests"], call, store, job["limits"],
                                           on_done=done if job["progress"] else None,
                                           refresh=job.get("refresh", False)))
                finally:
                    store.close()
                conn.send(("result", [(o.response is not None, o.error, o.attempts) for o in outs]))
            except UserError as exc:  # the user's to fix (a damaged store): the parent says it in one line
                conn.send(("user_error", redact(str(exc))))
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
                import traceback

                # the same redaction as the main process: a key in an exception never leaves here
                conn.send(("failed", redact(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return


class Pool:
    """N−1 spawned worker processes (the caller's process is worker 0)."""

    def __init__(self, children: int):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.conns, self.procs, self.ready = [], [], []
        for _ in range(children):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="harness-worker")
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
            self.ready.append(False)

    def _recv(self, k: int):
        msg = self.conns[k].recv()
        if msg[0] == "ready":
            self.ready[k] = True
            return self._recv(k)
        return msg

    def wait_ready(self) -> None:
        """Block until every worker has imported litellm (benchmarks time the warm pool)."""
        for k, conn in enumerate(self.conns):
            if not self.ready[k]:
                msg = conn.recv()
                assert msg[0] == "ready", msg
                self.ready[k] = True

    def run_share(self, k: int, store: str, requests: list[Request], limits: Limits,
                  on_done: Callable[[int], None] | None,
                  refresh: bool = False) -> list[tuple[bool, str | None, int]] | None:
        """Blocking: worker k answers `requests`; None if the worker died."""
        try:
            self.conns[k].send({"store": store, "requests": requests, "limits": limits, "progress": bool(on_done),
                                "refresh": refresh})
            while True:
                msg = self._recv(k)
                if msg[0] == "done":
                    if on_done:
                        on_done(msg[1])
                elif msg[0] == "result":
                    return msg[1]
                elif msg[0] == "user_error":
                    raise UserError(msg[1])
                elif msg[0] == "failed":
                    raise RuntimeError(f"worker process failed: {msg[1]}")
        except (EOFError, BrokenPipeError, ConnectionResetError):
            return None

    def alive(self) -> bool:
        return all(p.is_alive() for p in self.procs)

    def close(self, force: bool = False) -> None:
        for conn, proc in zip(self.conns, self.procs):
            try:
                conn.send(None)
            except (OSError, BrokenPipeError) as exc:  # it already exited: the join below reaps it
                log.debug("worker %s: stop message not delivered (%s)", proc.pid, exc)
        for conn, proc in zip(self.conns, self.procs):
            proc.join(timeout=0 if force else 5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            conn.close()
        self.conns, self.procs = [], []


_pool: tuple[tuple, Pool] | None = None


def pool(children: int) -> Pool:
    """The process-wide pool of `children` workers, started on first use and reused while
    the environment is unchanged (workers read API keys and base URLs from it at spawn)."""
    global _pool
    key = (children, tuple(sorted(os.environ.items())), tuple(sys.path))
    if _pool is not None and (_pool[0] != key or not _pool[1].alive()):
        _pool[1].close()
        _pool = None
    if _pool is None:
        if not hasattr(pool, "_registered"):
            atexit.register(shutdown)
            pool._registered = True
        _pool = (key, Pool(children))
    return _pool[1]


def shutdown(force: bool = False) -> None:
    """Stop the worker pool (at exit; `force` terminates workers busy with a share)."""
    global _pool
    if _pool is not None:
        _pool[1].close(force)
        _pool = None


def processes(requests: list[Request], limits: Limits, workers: int) -> int:
    """How many processes `run_split` uses: no more than asked, than the concurrency (each
    share needs at least one request in flight per model) or than distinct movable requests."""
    return max(1, min(workers, limits.concurrency, len({r.key for r in requests if not stays_here(r)})))


def prestart(requests: list[Request], limits: Limits, workers: int) -> None:
    """Start the workers now, so their start-up overlaps this process's own imports."""
    n = processes(requests, limits, workers)
    if n > 1:
        pool(n - 1)


async def run_split(requests: list[Request], call, store, limits: Limits, workers: int,
                    lane_limits: Callable[[str], Limits] | None = None,
                    on_done: Callable[[], None] | None = None, refresh: bool = False) -> list[Outcome]:
    """Answer `requests` (all uncached) with up to `workers` processes; order is kept.

    `lane_limits` gives this process's limits for the models it keeps (local/...)."""
    from harness.run._runner import run

    movable = [r for r in requests if not stays_here(r)]
    n = processes(requests, limits, workers)
    shares = split(movable, n) if n > 1 else [movable]
    here = [r for r in requests if stays_here(r)] + shares[0]

    def lane(model: str) -> Limits:
        if lane_limits and model.startswith("local/"):
            return lane_limits(model)
        return share_limits(limits, n, 0)

    tick = (lambda *_: on_done()) if on_done else None
    jobs = []
    if n > 1:
        workers_pool = pool(n - 1)
        for k in range(1, n):
            jobs.append(_in_thread(workers_pool.run_share, k - 1, str(store.path), shares[k],
                                   share_limits(limits, n, k), tick, refresh))
    try:
        mine, *theirs = await asyncio.gather(run(here, call, store, limits, lane_limits=lane, on_done=tick,
                                                 refresh=refresh), *jobs)
    except BaseException:
        shutdown(force=True)  # stop the workers' shares too; whatever they stored stays stored
        raise

    outcome: dict[int, Outcome] = {id(o.request): o for o in mine}
    for share, result in zip(shares[1:], theirs):
        answers = store.get_many([r.key for r in share])
        for i, req in enumerate(share):
            if result is None:  # the worker died: what it stored counts, the rest is an error
                got = answers.get(req.key)
                outcome[id(req)] = Outcome(req, got, None if got else
                                           "worker process exited before answering (re-run to ask again)",
                                           attempts=1 if got else 0)
                continue
            answered, error, attempts = result[i]
            got = answers.get(req.key) if answered else None
            if answered and got is None:
                error = "worker reported an answer the store does not hold"
            outcome[id(req)] = Outcome(req, got, error, attempts)
    return [outcome[id(r)] for r in requests]


def _in_thread(fn, *args) -> asyncio.Future:
    """Run a blocking call in a daemon thread (a stuck worker pipe never blocks exit)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def settle(exc, result):
        if not fut.done():
            fut.set_exception(exc) if exc is not None else fut.set_result(result)

    def target():
        exc = result = None
        try:
            result = fn(*args)
        except BaseException as err:  # noqa: BLE001 - handed to the awaiting coroutine
            exc = err
        try:
            loop.call_soon_threadsafe(settle, exc, result)
        except RuntimeError as err:  # the loop is gone (the run was interrupted): nobody awaits this
            log.debug("worker result dropped after the run ended (%s)", err)

    threading.Thread(target=target, daemon=True, name="harness-worker-pipe").start()
    return fut
