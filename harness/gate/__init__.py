"""The CI regression gate: baseline file, thresholds, the check and its summary."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'check': ('_check', 'check'),
    'default_thresholds_path': ('_config', 'default_thresholds_path'),
    'judge_names': ('_check', 'judge_names'),
    'load_thresholds': ('_config', 'load_thresholds'),
    'md': ('_summary', 'md'),
    'one_line': ('_summary', 'one_line'),
    'plain': ('_summary', 'plain'),
    'read_baseline': ('_baseline', 'read_baseline'),
    'render': ('_summary', 'render'),
    'update_baseline': ('_check', 'update_baseline'),
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
