"""`harness eval`'s flow: tasks → requests → answers → scores → judge → result files."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'DEFAULT_LIMIT': ('_eval', 'DEFAULT_LIMIT'),
    'RunOptions': ('_eval', 'RunOptions'),
    'RunSummary': ('_summary', 'RunSummary'),
    'judge_failures': ('_summary', 'judge_failures'),
    'run_eval': ('_eval', 'run_eval'),
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
