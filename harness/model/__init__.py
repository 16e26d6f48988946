"""Models: the litellm call, model identity and names, the offline baselines, and the
embedded llama.cpp models (local/)."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'DEFAULT_MODELS': ('_providers', 'DEFAULT_MODELS'),
    'OFFLINE_MODELS': ('_providers', 'OFFLINE_MODELS'),
    'call': ('_providers', 'call'),
    'identity': ('_providers', 'identity'),
    'key_identity': ('_providers', 'key_identity'),
    'local_model': ('local._catalog', 'get'),
    'preflight': ('_providers', 'preflight'),
    'prompt_kind': ('_providers', 'prompt_kind'),
    'provider_of': ('_providers', 'provider_of'),
    'register': ('_providers', 'register'),
    'serve_local': ('local._server', 'main'),
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _WHERE[name]
    found = import_module(f"{__name__}.{module}")
    return found if attr is None else getattr(found, attr)


def __dir__() -> list[str]:
    return __all__
