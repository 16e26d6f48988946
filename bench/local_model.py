"""The embedded models through the harness vs llama-cpp-python called directly, and what
turning off llama.cpp's extra buffer types (the AMX crash fix) costs on this CPU.

Same GGUF file, same Llama settings as harness/models/local_server.py (n_ctx, n_threads =
n_threads_batch = every core but one, seed 0, flash attention), the same 3 short English prompts,
max_tokens 64, temperature 0. Each path runs in its own process (two llama.cpp contexts in
one process would share cores while idle), all load and warm up on a fourth prompt, then
they take turns, round by round, so drift in the machine's speed hits all alike:

  direct         Llama.create_chat_completion / create_completion, use_extra_bufts = False
                 (what the harness loads)
  direct-repack  the same with llama.cpp's default, use_extra_bufts = True (weights repacked
                 for this CPU's kernels; crashes on AMX CPUs — do not run it there)
  harness        harness.run._execute.execute(): runner → litellm → the `local` custom provider →
                 the supervised llama_cpp.server child (context fitting, HTTP, conversion),
                 throwaway store per round

Throughput = completion tokens ÷ wall time over the 3 prompts; the ratio is the median of the
per-round ratios; the outputs must be identical. llama.cpp on every core is very sensitive to
anything else running, so a round can come out far off: look at round_ratios in bench.csv.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PY, emit, median, offline_env, row

from harness.model.local._server import thread_count

PROMPTS = ["Write one sentence about the sea.", "Name three colours and one thing of each colour.",
           "Explain in two sentences why the sky is blue."]
WARM = "Say hello."
MAX_TOKENS = 64
MODEL = "local/smollm2-135m"  # set from --model


def direct_worker(repack: bool) -> None:
    from llama_cpp import Llama

    from harness.model.local._catalog import get, verified_path
    from harness.model.local._server import avoid_extra_buffer_types

    entry = get(MODEL.split("/", 1)[1])
    if not repack:
        avoid_extra_buffer_types()
    from harness.model.local._server import thread_count

    cores = thread_count()
    llm = Llama(model_path=str(verified_path(entry)), n_ctx=entry.n_ctx, n_threads=cores, n_threads_batch=cores,
                seed=0, flash_attn=True, verbose=False)
    assert bool(llm.model_params.use_extra_bufts) == repack

    def ask_all(prompts, _prepared):
        texts, tokens = [], 0
        for prompt in prompts:
            if entry.prompt == "completion":
                out = llm.create_completion(prompt=prompt, max_tokens=MAX_TOKENS, temperature=0.0, top_p=1.0, seed=0)
                texts.append(out["choices"][0]["text"])
            else:
                out = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}],
                                                 max_tokens=MAX_TOKENS, temperature=0.0, top_p=1.0, seed=0,
                                                 response_format=None)
                texts.append(out["choices"][0]["message"]["content"])
            tokens += out["usage"]["completion_tokens"]
        return texts, tokens

    serve(ask_all, lambda: None)


def harness_worker() -> None:
    from harness.run._execute import execute
    from harness.run._runner import Limits, Request
    from harness.run._store import Store, request_key

    settings = {"temperature": 0, "max_tokens": MAX_TOKENS}
    tmp = Path(tempfile.mkdtemp(prefix="harness-bench-local-"))
    rounds = iter(range(10**6))

    def prepare():  # outside the timing: a fresh throwaway store, so nothing is cached
        return Store(tmp / f"round{next(rounds)}.sqlite")

    def ask_all(prompts, store):
        reqs = []
        for prompt in prompts:
            messages = [{"role": "user", "content": prompt}]
            reqs.append(Request(MODEL, messages, settings, request_key(MODEL, messages, settings)))
        outs = execute(reqs, store, Limits(max_retries=0))
        store.close()
        if any(o.response is None for o in outs):
            raise RuntimeError([o.error for o in outs])
        return [o.response["text"] for o in outs], sum(o.response["completion_tokens"] for o in outs)

    serve(ask_all, prepare)


def serve(ask_all, prepare) -> None:
    ask_all([WARM], prepare())  # load + first-call costs, outside the timings
    print(json.dumps({"ready": True}), flush=True)
    for _ in sys.stdin:
        prepared = prepare()
        time.sleep(0.5)  # let the other process's llama.cpp threads stop spinning before the timing
        t, c = time.perf_counter(), time.process_time()
        texts, tokens = ask_all(PROMPTS, prepared)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        print(json.dumps({"wall_s": wall, "cpu_s": cpu, "tokens": tokens, "texts": texts}), flush=True)


class Worker:
    def __init__(self, kind: str):
        self.proc = subprocess.Popen([PY, __file__, "--worker", kind, "--model", MODEL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=os.environ)
        self.read()

    def read(self) -> dict:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("local model worker exited")
            if line.startswith("{"):
                return json.loads(line)

    def round(self) -> dict:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def has_amx() -> bool:
    try:
        return " amx_tile" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def main() -> None:
    global MODEL
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--model", default="local/smollm2-135m")
    ap.add_argument("--worker", choices=["direct", "direct-repack", "harness"])
    args = ap.parse_args()
    MODEL = args.model
    offline_env()
    if args.worker in ("direct", "direct-repack"):
        return direct_worker(args.worker == "direct-repack")
    if args.worker == "harness":
        return harness_worker()
    b = f"local_model {MODEL}"
    kinds = ["direct", "harness"] + ([] if has_amx() else ["direct-repack"])
    workers = {k: Worker(k) for k in kinds}
    got = {k: [] for k in kinds}
    try:
        for r in range(args.rounds):
            for k in (kinds if r % 2 == 0 else kinds[::-1]):
                got[k].append(workers[k].round())
    finally:
        for w in workers.values():
            w.close()
    tps = {k: [g["tokens"] / g["wall_s"] for g in v] for k, v in got.items()}
    ratios = [h / d for h, d in zip(tps["harness"], tps["direct"])]
    cpu_ratios = [d["cpu_s"] / h["cpu_s"] for h, d in zip(got["harness"], got["direct"])]
    same = all(g["texts"] == d["texts"] for g, d in zip(got["harness"], got["direct"]))
    rows = [row(b, "llama-cpp-python direct", "tokens_per_s", median(tps["direct"]), "tok/s",
                rounds=args.rounds, tokens=got["direct"][0]["tokens"], threads=thread_count()),
            row(b, "harness (runner + litellm + local provider)", "tokens_per_s", median(tps["harness"]), "tok/s",
                "llama-cpp-python direct", median(ratios), rounds=args.rounds, tokens=got["harness"][0]["tokens"],
                threads=thread_count(), round_ratios=" ".join(f"{x:.3f}" for x in ratios),
                direct_tps=" ".join(f"{x:.0f}" for x in tps["direct"]),
                harness_tps=" ".join(f"{x:.0f}" for x in tps["harness"]),
                direct_cpu_s=" ".join(f"{g['cpu_s']:.2f}" for g in got["direct"]),
                harness_cpu_s=" ".join(f"{g['cpu_s']:.2f}" for g in got["harness"])),
            row(b, "harness (runner + litellm + local provider)", "cpu_ratio", median(cpu_ratios), "direct CPU ÷ harness CPU",
                "llama-cpp-python direct", median(cpu_ratios)),
            row(b, "harness (runner + litellm + local provider)", "outputs_identical", int(same), "bool",
                "llama-cpp-python direct")]
    if "direct-repack" in got:  # the price of the AMX fix where repacking works
        fix = [d / r for d, r in zip(tps["direct"], tps["direct-repack"])]
        rows += [row(b, "llama-cpp-python, extra buffer types on (repack)", "tokens_per_s",
                     median(tps["direct-repack"]), "tok/s", rounds=args.rounds),
                 row(b, "llama-cpp-python direct (use_extra_bufts = False)", "tokens_per_s_vs_repack", median(fix),
                     "ratio", "llama-cpp-python, extra buffer types on (repack)", median(fix),
                     round_ratios=" ".join(f"{x:.3f}" for x in fix),
                     outputs_identical=int(all(a["texts"] == c["texts"]
                                               for a, c in zip(got["direct"], got["direct-repack"]))))]
    emit(rows)


if __name__ == "__main__":
    sys.exit(main())
