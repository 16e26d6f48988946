"""The embedded offline models (local_catalog.py) as the litellm provider `local`, so
`local/gemma3-270m` and `local/smollm2-135m` go through the same litellm path as any hosted
model.

Each model runs in its own supervised process (local_server.py, llama-cpp-python's
OpenAI-compatible server on 127.0.0.1): a native crash there becomes an error on the items
in flight, not the end of the run (local_process.py). Chat models get their messages through
the model's own chat template (/v1/chat/completions); completion models (base models such
as Gemma 3 270M) get the task's few-shot completion prompt as raw text (/v1/completions).

Context policy: a prompt that does not fit `n_ctx - max_tokens` is cut in the middle (its
head and its last 64 tokens are kept) and the answer is flagged `input_truncated`.
"""

from __future__ import annotations

import asyncio
import threading

from litellm import CustomLLM, ModelResponse

from harness.model.local._catalog import get
from harness.model.local._process import LocalProcess

_processes: dict[str, LocalProcess] = {}
_lock = threading.Lock()


def process_for(name: str) -> LocalProcess:
    with _lock:
        if name not in _processes:
            get(name)  # unknown names fail here, in one line
            _processes[name] = LocalProcess(name)
        return _processes[name]


def stop_all() -> None:
    with _lock:
        for proc in _processes.values():
            proc.stop()
        _processes.clear()


class LocalProvider(CustomLLM):
    def _complete(self, model: str, messages: list[dict], params: dict, timeout: float) -> ModelResponse:
        entry = get(model)
        proc = process_for(model)
        max_tokens = int(params.get("max_tokens") or 512)
        # llama-cpp-python's own sampling defaults, stated: the server's differ (repeat_penalty
        # 1.1), and answers must not depend on which path asked
        sampling = {"max_tokens": max_tokens, "temperature": float(params.get("temperature", 0.0)),
                    "top_p": float(params.get("top_p") or 1.0), "seed": int(params.get("seed") or 0),
                    "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0, "presence_penalty": 0.0,
                    "frequency_penalty": 0.0}
        if entry.prompt == "completion":
            prompt = "".join(m["content"] for m in messages)
            fitted = proc.post("/harness/fit", {"prompt": prompt, "max_tokens": max_tokens}, timeout)
            out = proc.post("/v1/completions", {"model": model, "prompt": fitted["prompt"], **sampling,
                                                "stop": params.get("stop") or None}, timeout)
            text = out["choices"][0].get("text") or ""
        else:
            fitted = proc.post("/harness/fit", {"messages": messages, "max_tokens": max_tokens}, timeout)
            body = {"model": model, "messages": fitted["messages"], **sampling}
            if params.get("response_format"):
                body["response_format"] = params["response_format"]
            if params.get("stop"):
                body["stop"] = params["stop"]
            out = proc.post("/v1/chat/completions", body, timeout)
            text = out["choices"][0]["message"].get("content") or ""
        choice = out["choices"][0]
        resp = ModelResponse(model=f"local/{model}",
                             choices=[{"index": 0, "finish_reason": choice.get("finish_reason") or "stop",
                                       "message": {"role": "assistant", "content": text}}],
                             usage=out.get("usage"))
        resp._hidden_params["input_truncated"] = bool(fitted["input_truncated"])
        resp._hidden_params["model_version"] = f"{entry.file} sha256:{entry.sha256[:12]}"
        return resp

    def completion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose,
                   encoding, api_key, logging_obj, optional_params, *args, timeout=None, **kwargs):
        return self._complete(model, messages, optional_params, float(timeout or 600))

    async def acompletion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose,
                          encoding, api_key, logging_obj, optional_params, *args, timeout=None, **kwargs):
        return await asyncio.to_thread(self._complete, model, messages, optional_params, float(timeout or 600))
