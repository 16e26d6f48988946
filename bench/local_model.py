"""The embedded model through the harness vs llama-cpp-python called directly.

Same GGUF file, same Llama settings as harness/models/local_llama.py (n_ctx, n_threads =
n_threads_batch = every core, seed 0, flash attention), the same 3 short English prompts,
max_tokens 64, temperature 0. Each path runs in its own process (two llama.cpp contexts in
one process would share cores while idle), both load and warm up on a fourth prompt, then
they take turns, round by round, so drift in the machine's speed hits both alike:

  direct    Llama.create_chat_completion(...)
  harness   harness.pipeline.execute(): runner → litellm → the `local` custom provider
            (context fitting, chat completion, response conversion), throwaway store per round

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

PROMPTS = ["Write one sentence about the sea.", "Name three colours and one thing of each colour.",
           "Explain in two sentences why the sky is blue."]
WARM = "Say hello."
MAX_TOKENS = 64
MODEL = "local/smollm2-135m"


def direct_worker() -> None:
    from llama_cpp import Llama

    from harness.models.local_llama import N_CTX, gguf_path

    cores = os.cpu_count() or 1
    llm = Llama(model_path=str(gguf_path()), n_ctx=N_CTX, n_threads=cores, n_threads_batch=cores, seed=0,
                flash_attn=True, verbose=False)

    def ask_all(prompts, _prepared):
        texts, tokens = [], 0
        for prompt in prompts:
            out = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}], max_tokens=MAX_TOKENS,
                                             temperature=0.0, top_p=1.0, seed=0, response_format=None)
            texts.append(out["choices"][0]["message"]["content"])
            tokens += out["usage"]["completion_tokens"]
        return texts, tokens

    serve(ask_all, lambda: None)


def harness_worker() -> None:
    from harness.pipeline import execute
    from harness.runner import Limits, Request
    from harness.store import Store, request_key

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
        self.proc = subprocess.Popen([PY, __file__, "--worker", kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--worker", choices=["direct", "harness"])
    args = ap.parse_args()
    offline_env()
    if args.worker == "direct":
        return direct_worker()
    if args.worker == "harness":
        return harness_worker()
    b = "local_model"
    direct = Worker("direct")
    harness = Worker("harness")
    got = {"direct": [], "harness": []}
    try:
        for r in range(args.rounds):
            for name, w in (("direct", direct), ("harness", harness)) if r % 2 == 0 else \
                    (("harness", harness), ("direct", direct)):
                got[name].append(w.round())
    finally:
        direct.close()
        harness.close()
    tps = {k: [g["tokens"] / g["wall_s"] for g in v] for k, v in got.items()}
    ratios = [h / d for h, d in zip(tps["harness"], tps["direct"])]
    cpu_ratios = [d["cpu_s"] / h["cpu_s"] for h, d in zip(got["harness"], got["direct"])]
    same = all(g["texts"] == d["texts"] for g, d in zip(got["harness"], got["direct"]))
    rows = [row(b, "llama-cpp-python direct", "tokens_per_s", median(tps["direct"]), "tok/s",
                rounds=args.rounds, tokens=got["direct"][0]["tokens"], threads=os.cpu_count()),
            row(b, "harness (runner + litellm + local provider)", "tokens_per_s", median(tps["harness"]), "tok/s",
                "llama-cpp-python direct", median(ratios), rounds=args.rounds, tokens=got["harness"][0]["tokens"],
                threads=os.cpu_count(), round_ratios=" ".join(f"{x:.3f}" for x in ratios),
                direct_tps=" ".join(f"{x:.0f}" for x in tps["direct"]),
                harness_tps=" ".join(f"{x:.0f}" for x in tps["harness"]),
                direct_cpu_s=" ".join(f"{g['cpu_s']:.2f}" for g in got["direct"]),
                harness_cpu_s=" ".join(f"{g['cpu_s']:.2f}" for g in got["harness"])),
            row(b, "harness (runner + litellm + local provider)", "cpu_ratio", median(cpu_ratios), "direct CPU ÷ harness CPU",
                "llama-cpp-python direct", median(cpu_ratios)),
            row(b, "harness (runner + litellm + local provider)", "outputs_identical", int(same), "bool",
                "llama-cpp-python direct")]
    emit(rows)


if __name__ == "__main__":
    sys.exit(main())
