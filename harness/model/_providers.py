"""Everything that answers a prompt, reached through litellm by model name.

Hosted models use litellm's own names (`openai/gpt-4o-mini`, `anthropic/...`,
`openai/<name>` with OPENAI_API_BASE for any OpenAI-compatible server). The project's
offline systems are litellm custom providers registered in this process:
`baseline/lead`, `baseline/copy`, and the embedded models `local/gemma3-270m` and
`local/smollm2-135m` (each in its own supervised process; see local_llama.py).
"""

from __future__ import annotations

import os
import time

from harness.core import UserError

from harness.model.local._catalog import MODELS as LOCAL_MODELS

OFFLINE_MODELS = {"baseline": ("lead", "copy"), "local": tuple(LOCAL_MODELS)}
DEFAULT_MODELS = ("baseline/lead", "baseline/copy", "local/gemma3-270m")
_registered = False


def prompt_kind(model: str) -> str:
    """"completion" for base models asked with a raw few-shot prompt, "chat" for the rest."""
    if model.startswith("local/") and model[6:] in LOCAL_MODELS:
        return LOCAL_MODELS[model[6:]].prompt
    return "chat"


def _litellm():
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True  # a provider that lacks a setting (e.g. seed) gets the rest
    return litellm


def register() -> None:
    global _registered
    if _registered:
        return
    from harness.model._baselines import BaselineProvider
    from harness.model.local._llama import LocalProvider

    litellm = _litellm()
    litellm.custom_provider_map = [
        {"provider": "baseline", "custom_handler": BaselineProvider()},
        {"provider": "local", "custom_handler": LocalProvider()},
    ]
    _registered = True


# where litellm looks for a provider's base URL, in its order; the generic names
# <PROVIDER>_API_BASE / <PROVIDER>_BASE_URL cover the others (deepseek, anthropic, ...)
ENDPOINT_VARIABLES = {"openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE"), "azure": ("AZURE_API_BASE",),
                      "hosted_vllm": ("HOSTED_VLLM_API_BASE",), "ollama": ("OLLAMA_API_BASE",)}
DEFAULT_ENDPOINTS = {"openai": "https://api.openai.com/v1"}  # the same server as no variable at all


def identity(model: str) -> str:
    """What answers `model`, for the cache key and the run record: '' for the baselines and
    for a hosted model at its provider's default endpoint (so caches written before this
    existed keep their keys), the pinned sha256 of the model file for `local/...`, and the
    normalised endpoint URL otherwise (scheme, host, port and path; never a key or query)."""
    provider = provider_of(model) or "openai"  # a bare name (gpt-4o-mini) is litellm's openai
    if provider == "baseline":
        return ""
    if provider == "local":
        return local_sha256(model)
    names = ENDPOINT_VARIABLES.get(provider) or (f"{provider.upper()}_API_BASE", f"{provider.upper()}_BASE_URL")
    url = next((os.environ[n] for n in names if os.environ.get(n)), "")
    endpoint = normalise_endpoint(url)
    return "" if endpoint == DEFAULT_ENDPOINTS.get(provider) else endpoint


def normalise_endpoint(url: str) -> str:
    from urllib.parse import urlsplit

    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = (parts.hostname or "").lower()
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a malformed port: keep what was written, minus any credentials
        port = ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/').lower()}"


def local_sha256(model: str) -> str:
    """The pinned GGUF sha256 of a local model (the catalog imports nothing heavy: a fully
    cached run must not pay for llama.cpp or litellm)."""
    entry = LOCAL_MODELS.get(model.split("/", 1)[1])
    return entry.sha256 if entry else ""


# the file every local/smollm2-135m answer was made with before the hash joined the key:
# those keys stay as they were, so existing caches keep working
LEGACY_IDENTITIES = {"local/smollm2-135m": LOCAL_MODELS["smollm2-135m"].sha256}  # the catalog's pin, not a copy


def key_identity(model: str) -> str:
    """`identity(model)` as it enters the cache key ('' where the old keys were right)."""
    ident = identity(model)
    return "" if LEGACY_IDENTITIES.get(model) == ident else ident


def provider_of(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else ""


def preflight(model: str, asked: bool = True) -> None:
    """Fail early, in one line, on an unknown provider or a missing API key. `asked=False`
    (every answer of this model is cached, so it is never called) checks only the name:
    the provider check imports litellm (3 s) and a key is needed only for a call."""
    provider, slash, name = model.partition("/")
    if not model.strip() or (slash and not (provider.strip() and name.strip())):
        raise UserError(f"model {model!r}: a model name is provider/name with both parts non-empty "
                        "(e.g. openai/gpt-4o-mini)")
    provider = provider_of(model)
    if provider in OFFLINE_MODELS:
        if model.split("/", 1)[1] not in OFFLINE_MODELS[provider]:
            raise UserError(f"unknown model {model!r} (offline models: "
                            + ", ".join(f"{p}/{m}" for p, ms in OFFLINE_MODELS.items() for m in ms) + ")")
        return
    if not asked:
        return
    litellm = _litellm()
    try:
        litellm.get_llm_provider(model)
    except Exception:  # noqa: BLE001 - litellm raises BadRequestError for unknown providers
        raise UserError(f"unknown provider in model name {model!r}: use litellm's names, e.g. "
                        "openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, deepseek/deepseek-chat") from None
    env = litellm.validate_environment(model)
    if not env.get("keys_in_environment", True):
        missing = ", ".join(env.get("missing_keys") or [])
        raise UserError(f"model {model!r} needs {missing} in the environment "
                        "(for a local OpenAI-compatible server set OPENAI_API_BASE and any OPENAI_API_KEY)")


async def call(model: str, messages: list[dict], settings: dict, extra: dict, timeout: float) -> dict:
    """One chat completion through litellm, reduced to what the harness records."""
    litellm = _litellm()
    register()
    started = time.perf_counter()
    resp = await litellm.acompletion(model=model, messages=messages, timeout=timeout, num_retries=0,
                                     **settings, **extra)
    latency = time.perf_counter() - started
    choice = resp.choices[0]
    usage = getattr(resp, "usage", None)
    try:
        cost = float(litellm.completion_cost(completion_response=resp))
    except Exception:  # noqa: BLE001 - no price known for this model
        cost = None
    hidden = getattr(resp, "_hidden_params", {}) or {}
    return {
        "text": choice.message.content or "",
        "finish_reason": choice.finish_reason,
        "prompt_tokens": getattr(usage, "prompt_tokens", None),
        "completion_tokens": getattr(usage, "completion_tokens", None),
        "cost_usd": cost,
        "latency_s": round(latency, 4),
        "input_truncated": bool(hidden.get("input_truncated", False)),
        "model_version": hidden.get("model_version") or getattr(resp, "model", None) or "",
    }
