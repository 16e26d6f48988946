"""The embedded model's own process: llama-cpp-python's OpenAI-compatible server
(`llama_cpp.server`) on 127.0.0.1, one model per process.

Why a separate process: llama.cpp is native code, and a crash there (a segfault in a CPU
backend, an OOM kill) must cost the items it was answering, not the whole run. The harness
starts and supervises it (local_process.py); a user can run it alone to serve the model to
other tools: `harness serve-local --model gemma3-270m --port 8080` (`make serve-local`).

Why `use_extra_bufts = False`: with extra buffer types llama.cpp repacks the weights for a
CPU-specific kernel, and on CPUs with AMX (Sapphire Rapids and later) that path crashes
(`ggml_backend_amx_mul_mat`, first decode after the repack). Without them every CPU,
x86 or arm64, runs the plain ggml CPU kernels; bench/README.md says what that costs.

Environment read only here: HARNESS_LOCAL_FAULT=crash-at:K makes the process kill itself
with SIGSEGV on its K-th generation request (the fault-injection switch of the tests).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading

FAULT_ENV = "HARNESS_LOCAL_FAULT"
GENERATION_PATHS = ("/v1/completions", "/v1/chat/completions")


def avoid_extra_buffer_types() -> None:
    """Make every model this process loads skip weight repacking into extra buffer types
    (AMX among them). llama-cpp-python's `Llama` takes its model parameters from
    `llama_model_default_params()` and has no argument for this field, so the defaults are
    wrapped."""
    import llama_cpp.llama_cpp as native

    if getattr(native.llama_model_default_params, "harness_safe", False):
        return
    original = native.llama_model_default_params

    def safe_defaults():
        params = original()
        params.use_extra_bufts = False
        return params

    safe_defaults.harness_safe = True
    native.llama_model_default_params = safe_defaults


def model_settings(name: str):
    """llama_cpp.server settings for one catalog model (file checked against its pin first)."""
    from llama_cpp.server.settings import ModelSettings

    from harness.model.local._catalog import get, verified_path

    m = get(name)
    threads = thread_count()
    # logits_all=False: the server's default (True) keeps the logits of every prompt token, an
    # n_ctx x n_vocab array (4.3 GB for Gemma's 262k vocabulary) computed on every long prompt;
    # generation needs the last token's only (the cost: no `logprobs` in answers)
    return ModelSettings(model=str(verified_path(m)), model_alias=name, n_ctx=m.n_ctx, n_threads=threads,
                         n_threads_batch=threads, seed=0, flash_attn=True, n_gpu_layers=0, verbose=False,
                         logits_all=False)


def thread_count() -> int:
    """Every core but one (HARNESS_LOCAL_THREADS overrides). llama.cpp's threads spin while
    they wait for each other, so one that shares its core with anything else stalls the
    rest: measured on 2 cores with another process busy, 1 thread gave 9.5 tokens/s and 2
    threads 1.5-3.6."""
    value = os.environ.get("HARNESS_LOCAL_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, (os.cpu_count() or 1) - 1)


def build_app(name: str):
    from llama_cpp.server import app as server_app
    from llama_cpp.server.settings import ServerSettings

    avoid_extra_buffer_types()
    app = server_app.create_app(server_settings=ServerSettings(host="127.0.0.1"), model_settings=[model_settings(name)])
    llama = server_app._llama_proxy(name)  # loaded by create_app

    @app.get("/harness/info")
    def info() -> dict:
        # what the supervisor and the tests check: which file is loaded, and how
        from harness.model.local._catalog import get

        return {"model": name, "sha256": get(name).sha256, "n_ctx": llama.n_ctx(), "pid": os.getpid(),
                "use_extra_bufts": bool(llama.model_params.use_extra_bufts),
                "logits_all": bool(getattr(llama, "_logits_all", True))}

    @app.post("/harness/fit")
    def fit(body: dict) -> dict:
        """Cut an over-long prompt to the context window (see fit_text); the harness asks this
        before each generation so that the generation itself never overflows."""
        tok = lambda text: llama.tokenize(text.encode("utf-8"), add_bos=False)  # noqa: E731
        detok = lambda toks: llama.detokenize(toks).decode("utf-8", errors="ignore")  # noqa: E731
        budget = llama.n_ctx() - int(body.get("max_tokens") or 512)
        if "prompt" in body:
            text, cut = fit_text(body["prompt"], budget - PROMPT_OVERHEAD, tok, detok)
            return {"prompt": text, "input_truncated": cut}
        messages = list(body["messages"])
        sizes = [len(tok(m["content"])) for m in messages]
        excess = sum(sizes) - (budget - TEMPLATE_OVERHEAD)
        if excess <= 0:
            return {"messages": messages, "input_truncated": False}
        i = max(range(len(messages)), key=lambda k: sizes[k] if messages[k]["role"] == "user" else -1)
        text, _ = fit_text(messages[i]["content"], sizes[i] - excess, tok, detok)
        messages[i] = {**messages[i], "content": text}
        return {"messages": messages, "input_truncated": True}

    _install_fault(app)
    return app


TAIL_TOKENS = 64  # the end of a prompt holds the instruction (or the open "English:" slot): keep it
TEMPLATE_OVERHEAD = 48  # tokens a chat template adds around the messages
PROMPT_OVERHEAD = 8  # BOS and a margin for a completion prompt


def fit_text(text: str, budget: int, tok, detok) -> tuple[str, bool]:
    """`text` within `budget` tokens: when too long, its head and its last TAIL_TOKENS tokens
    are kept and the middle is dropped (the answer is flagged input_truncated)."""
    toks = tok(text)
    if len(toks) <= budget:
        return text, False
    keep_head = max(0, budget - TAIL_TOKENS)
    return detok(toks[:keep_head] + toks[-TAIL_TOKENS:]), True


def _install_fault(app) -> None:
    spec = os.environ.get(FAULT_ENV, "")
    if not spec.startswith("crash-at:"):
        return
    crash_at = int(spec.split(":", 1)[1])
    seen = {"n": 0}

    @app.middleware("http")
    async def crash(request, call_next):
        if request.url.path in GENERATION_PATHS:
            seen["n"] += 1
            if seen["n"] == crash_at:
                os.kill(os.getpid(), signal.SIGSEGV)
        return await call_next(request)


def _exit_when_parent_goes(stream) -> None:
    """The supervisor holds our stdin open; EOF means it is gone (even after kill -9)."""
    def watch():
        while stream.read(1 << 16):
            pass
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="harness serve-local", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--fd", type=int, default=None, help="serve on this already-listening socket (supervised)")
    ap.add_argument("--watch-stdin", action="store_true", help="exit when standard input closes")
    args = ap.parse_args(argv)
    from harness.core import UserError
    from harness.core import offline_environment

    offline_environment()
    if args.watch_stdin:
        _exit_when_parent_goes(sys.stdin.buffer)
    try:
        app = build_app(args.model)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    import uvicorn

    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if args.fd is not None:
        server.run(sockets=[socket.socket(fileno=args.fd)])
    else:
        print(f"local/{args.model} at http://{args.host}:{args.port}/v1 (OpenAI-compatible; Ctrl-C stops it)",
              file=sys.stderr, flush=True)
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
