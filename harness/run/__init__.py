"""Asking models: requests and their cache key, the async runner (retries, limits),
worker processes and the SQLite response store."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'Limits': ('_runner', 'Limits'),
    'Outcome': ('_runner', 'Outcome'),
    'Request': ('_runner', 'Request'),
    'Store': ('_store', 'Store'),
    'build_requests': ('_requests', 'build_requests'),
    'check': ('_cache_repair', 'check'),
    'clear': ('_cache_repair', 'clear'),
    'configured': ('_workers', 'configured'),
    'default_workers': ('_workers', 'default_workers'),
    'execute': ('_execute', 'execute'),
    'extra_params': ('_requests', 'extra_params'),
    'freeze_heap': ('_workers', 'freeze_heap'),
    'prestart': ('_workers', 'prestart'),
    'prompt_kind': ('_requests', 'prompt_kind'),
    'recover': ('_cache_repair', 'recover'),
    'request_key': ('_store', 'request_key'),
    'run': ('_runner', 'run'),
    'run_split': ('_workers', 'run_split'),
    'store_path': ('_execute', 'store_path'),
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
