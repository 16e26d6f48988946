"""Runner throughput against a local OpenAI-compatible server that answers after a fixed delay.

One variant per process (a fresh interpreter, its own litellm import), the server in another
process (bench/fastserver.py, asyncio: it shares no GIL with the client):

  bare          litellm.acompletion under an asyncio.Semaphore (what the harness is compared to)
  runner        harness.run._runner.run + harness.model._providers.call, throwaway Store (one process)
  execute1      harness.run._execute.execute(..., workers=1): the same, as `harness eval` runs it
                (store look-up first, import-time heap frozen)
  workers       harness.run._execute.execute(..., workers=2): this process + one spawned worker,
                warm pool (their start-up is measured separately: --e2e-workers)
  bare_wait_for attribution: the bare loop with each call under asyncio.wait_for, as
                harness.run._runner does (an extra Task per call)
  bare_timeout  attribution: the same guard as the asyncio.timeout() context manager
  runner_bare, cost_hidden, bare_frozen   further attribution variants (not in the default
                plan): runner.run with the bare call; models.call reading litellm's own
                `_hidden_params["response_cost"]` instead of a second completion_cost();
                the bare loop with the heap frozen
  micro         CPU per operation: completion_cost(), Store.put, wait_for's extra Task, a
                full garbage collection of the unfrozen heap
  bare_2proc    reference for `workers`: two independent warm bare loops (no harness), each
                with half the requests and half the concurrency, started together

Efficiency = ideal time (requests × delay ÷ concurrency) ÷ measured wall time. Each process
warms up (connection pool, litellm caches) before the timed batches; every prompt is distinct,
so nothing is answered from a cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from common import Timer, emit, offline_env, proc_cpu

MODEL = "openai/bench-model"
SETTINGS = {"temperature": 0, "max_tokens": 64}


def prompts(tag: str, n: int) -> list[list[dict]]:
    return [[{"role": "user", "content": f"Translate into English ({tag} #{i}): 今天天气很好,我们去公园散步。"}]
            for i in range(n)]


def litellm_configured():
    import litellm

    litellm.suppress_debug_info = True  # the settings harness.model._providers applies
    litellm.drop_params = True
    return litellm


async def bare_batch(messages: list[list[dict]], conc: int, guard: str = "") -> int:
    """guard: "" (none), "wait_for" (asyncio.wait_for, as harness.run._runner does), "timeout"
    (the asyncio.timeout() context manager)."""
    litellm = litellm_configured()
    sem = asyncio.Semaphore(conc)

    async def one(m):
        async with sem:
            try:
                call = litellm.acompletion(model=MODEL, messages=m, timeout=120, num_retries=0, **SETTINGS)
                if guard == "wait_for":
                    await asyncio.wait_for(call, timeout=125)
                elif guard == "timeout":
                    async with asyncio.timeout(125):
                        await call
                else:
                    await call
                return 0
            except Exception:  # noqa: BLE001
                return 1

    return sum(await asyncio.gather(*(one(m) for m in messages)))


def make_call(kind: str):
    import harness.model._providers as models

    models.register()
    if kind == "harness":
        async def call(req, timeout):
            return await models.call(req.model, req.messages, req.settings, req.extra, timeout)
        return call
    litellm = litellm_configured()
    if kind == "runner_bare":
        async def call(req, timeout):
            resp = await litellm.acompletion(model=req.model, messages=req.messages, timeout=timeout, num_retries=0,
                                             **req.settings)
            return {"text": resp.choices[0].message.content or ""}
        return call
    if kind == "cost_hidden":  # models.call, minus its second completion_cost() (see the module doc)
        async def call(req, timeout):
            started = time.perf_counter()
            resp = await litellm.acompletion(model=req.model, messages=req.messages, timeout=timeout, num_retries=0,
                                             **req.settings, **req.extra)
            latency = time.perf_counter() - started
            choice, usage = resp.choices[0], getattr(resp, "usage", None)
            hidden = getattr(resp, "_hidden_params", {}) or {}
            cost = hidden.get("response_cost")
            return {"text": choice.message.content or "", "finish_reason": choice.finish_reason,
                    "prompt_tokens": getattr(usage, "prompt_tokens", None),
                    "completion_tokens": getattr(usage, "completion_tokens", None),
                    "cost_usd": float(cost) if cost is not None else None, "latency_s": round(latency, 4),
                    "input_truncated": bool(hidden.get("input_truncated", False))}
        return call
    raise ValueError(kind)


def requests_for(messages):
    from harness.run._runner import Request
    from harness.run._store import request_key

    return [Request(MODEL, m, dict(SETTINGS), request_key(MODEL, m, SETTINGS)) for m in messages]


def server_stats(base_url: str) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(base_url.rsplit("/v1", 1)[0] + "/stats", timeout=10) as resp:
        return json.loads(resp.read())


class BarePair:
    """Reference for the worker variant: two independent processes, each a warm bare litellm
    loop (heap frozen, like the harness workers), started at the same instant on half the
    requests and half the concurrency. What two cores give with no harness at all."""

    def __init__(self, k: int = 2):
        import subprocess
        import sys

        self.procs = [subprocess.Popen([sys.executable, __file__, "--bare-child", "--base-url", "x"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ)
                      for _ in range(k)]
        for p in self.procs:
            assert p.stdout.readline().strip() == "ready"
        self.pids = [p.pid for p in self.procs]

    def batch(self, msgs, c):
        k = len(self.procs)
        for i, p in enumerate(self.procs):
            part = msgs[i::k]
            p.stdin.write(f"{len(part)} {c // k} {part[0][0]['content'][:40].replace(' ', '_')}-{i}\n")
            p.stdin.flush()
        return sum(int(p.stdout.readline().split()[0]) for p in self.procs)

    def close(self):
        for p in self.procs:
            p.stdin.close()
            p.wait(timeout=10)


def bare_child() -> None:
    import gc
    import sys

    asyncio.run(bare_batch(prompts("pair-warm", 64), 16))
    gc.freeze()
    print("ready", flush=True)
    for line in sys.stdin:
        n, c, tag = line.split()
        errors = asyncio.run(bare_batch(prompts(tag, int(n)), int(c)))
        print(errors, flush=True)


FROZEN = {"execute1", "workers", "workers3", "bare_frozen"}  # noqa: E501  # variants whose process heap is gc.freeze()d


def batch_fn(variant: str, store):
    """variant -> fn(messages, concurrency) -> number of failed requests."""
    from harness.run._runner import Limits, run

    if variant in ("bare", "bare_frozen", "bare_wait_for", "bare_timeout"):
        guard = {"bare_wait_for": "wait_for", "bare_timeout": "timeout"}.get(variant, "")
        return lambda msgs, c: asyncio.run(bare_batch(msgs, c, guard))
    if variant in ("execute1", "workers", "workers3"):
        from harness.run._execute import execute

        k = {"execute1": 1, "workers": 2, "workers3": 3}[variant]

        def batch(msgs, c):
            outs = execute(requests_for(msgs), store, Limits(concurrency=c), workers=k)
            return sum(o.response is None for o in outs)
        return batch
    call = make_call("harness" if variant == "runner" else variant)

    def batch(msgs, c):
        outs = asyncio.run(run(requests_for(msgs), call, store, Limits(concurrency=c)))
        return sum(o.response is None for o in outs)
    return batch


def measure(plan: list[tuple[int, int, list[str]]], n: int, base_url: str, store_dir: Path) -> list[dict]:
    """plan: (concurrency, rounds, variants). Variants are interleaved within each round, so
    drift in the machine's speed hits them alike; bench/run.py reports the median round.
    The harness's execute() freezes the import-time heap (gc.freeze); variants that do not
    are measured with it unfrozen, as in a process that never called execute()."""
    import gc

    import harness.run._workers as workers
    from harness.run._store import Store

    store = Store(store_dir / "throwaway.sqlite")
    variants = list(dict.fromkeys(v for _, _, vs in plan for v in vs))
    pair = BarePair() if "bare_2proc" in variants else None
    batches = {v: pair.batch if v == "bare_2proc" else batch_fn(v, store) for v in variants}

    def heap(v):
        gc.freeze() if v in FROZEN else gc.unfreeze()

    for v in variants:  # warm: connections, litellm's lazy imports and caches, the worker pool
        heap(v)
        batches[v](prompts(f"{v}-warm", 64), 16)
    children = [p.pid for p in workers._pool[1].procs] if workers._pool else []
    out = []
    for c, rounds, vs in plan:
        for r in range(rounds):
            for v in vs:
                msgs = prompts(f"{v}-c{c}-r{r}", n)
                kids = children if v.startswith("workers") else pair.pids if v == "bare_2proc" else []
                heap(v)
                gc.collect()  # every batch starts with empty young generations: no collection is inherited
                s0, k0 = server_stats(base_url), sum(proc_cpu(p) for p in kids)
                with Timer() as t:
                    errors = batches[v](msgs, c)
                s1, k1 = server_stats(base_url), sum(proc_cpu(p) for p in kids)
                out.append({"variant": v, "concurrency": c, "round": r, "n": n, "wall_s": t.wall,
                            "client_cpu_s": t.cpu + (k1 - k0), "server_cpu_s": s1["cpu_s"] - s0["cpu_s"],
                            "server_requests": s1["requests"] - s0["requests"], "errors": errors,
                            "processes": len(kids) if v == "bare_2proc" else 1 + len(kids)})
    store.close()
    if pair:
        pair.close()
    return out


def e2e(n: int, conc: int, n_workers: int, store_dir: Path) -> list[dict]:
    """From a fresh interpreter (nothing imported but the runner): one execute() call,
    litellm import and worker start-up included."""
    from harness.run._runner import Limits
    from harness.run._store import Store

    store = Store(store_dir / f"e2e{n_workers}.sqlite")
    reqs = requests_for(prompts(f"e2e-w{n_workers}", n))
    with Timer() as t:
        from harness.run._execute import execute

        outs = execute(reqs, store, Limits(concurrency=conc), workers=n_workers)
    store.close()
    return [{"variant": f"e2e_workers{n_workers}", "concurrency": conc, "n": n, "wall_s": t.wall,
             "errors": sum(o.response is None for o in outs), "processes": n_workers}]


DEFAULT_PLAN = ("8:1:bare,runner,workers;"
                "32:3:bare,runner,execute1,workers,bare_2proc,bare_wait_for,bare_timeout;"
                "64:1:bare,runner,workers")


def micro(base_url: str, store_dir: Path) -> dict:
    """CPU per operation of what the harness adds around a litellm call (median of repeats)."""
    import gc
    import statistics

    from harness.run._store import Store

    litellm = litellm_configured()
    resp = asyncio.run(litellm.acompletion(model=MODEL, messages=prompts("micro", 1)[0], timeout=120,
                                           num_retries=0, **SETTINGS))

    def cpu_per(fn, n):
        runs = []
        for _ in range(5):
            t = time.process_time()
            for _ in range(n):
                fn()
            runs.append((time.process_time() - t) / n * 1000)
        return statistics.median(runs)

    def cost():
        try:
            litellm.completion_cost(completion_response=resp)
        except Exception:  # noqa: BLE001 - unknown price: models.call records cost None the same way
            return None

    store = Store(store_dir / "micro.sqlite")
    msg = prompts("micro", 1)[0]
    answer = {"text": "x" * 40, "finish_reason": "stop", "prompt_tokens": 10, "completion_tokens": 8,
              "cost_usd": None, "latency_s": 0.1, "input_truncated": False}
    k = iter(range(10**9))
    put = lambda: store.put(f"k{next(k)}", MODEL, {"model": MODEL, "messages": msg, "settings": SETTINGS}, answer)  # noqa

    async def nothing():
        return None

    async def loop_wait_for(n):
        for _ in range(n):
            await asyncio.wait_for(nothing(), 125)

    async def loop_plain(n):
        for _ in range(n):
            await nothing()

    def async_cpu(coro_fn, n):
        t = time.process_time()
        asyncio.run(coro_fn(n))
        return (time.process_time() - t) / n * 1000

    out = {"completion_cost": cpu_per(cost, 200), "store_put": cpu_per(put, 400),
           "wait_for_extra": async_cpu(loop_wait_for, 20000) - async_cpu(loop_plain, 20000)}
    gc.unfreeze()
    t = time.perf_counter()
    gc.collect()
    out["full_gc_unfrozen"] = (time.perf_counter() - t) * 1000
    out["tracked_objects"] = len(gc.get_objects())
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--plan", default=DEFAULT_PLAN, help="conc:rounds:variant,variant;...")
    ap.add_argument("--e2e-workers", type=int, default=0, help="instead: one cold execute() at --e2e-conc")
    ap.add_argument("--e2e-conc", type=int, default=32)
    ap.add_argument("--bare-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    offline_env()
    if args.bare_child:
        return bare_child()
    for var in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
        os.environ[var] = args.base_url
    os.environ["OPENAI_API_KEY"] = "sk-bench-not-a-real-key"
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        if args.e2e_workers:
            rows = e2e(args.n, args.e2e_conc, args.e2e_workers, Path(tmp))
        else:
            plan = []
            for part in args.plan.split(";"):
                c, rounds, vs = part.split(":")
                plan.append((int(c), int(rounds), vs.split(",")))
            rows = measure(plan, args.n, args.base_url, Path(tmp))
            rows.append({"variant": "micro", **micro(args.base_url, Path(tmp))})
        import harness.run._workers as workers

        workers.shutdown()
    emit(rows)


if __name__ == "__main__":
    main()
