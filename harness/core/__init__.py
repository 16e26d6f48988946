"""The bottom floor: user errors, project paths, atomic file writes, secret redaction."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'ITEMS_SCHEMA_VERSION': ('_schema', 'ITEMS_SCHEMA_VERSION'),
    'ITEM_COLUMNS': ('_schema', 'ITEM_COLUMNS'),
    'LEADERBOARD_SCHEMA_VERSION': ('_schema', 'LEADERBOARD_SCHEMA_VERSION'),
    'ROOT': ('_paths', 'ROOT'),
    'schema': ('_schema', None),
    'TASKS': ('_paths', 'TASKS'),
    'UserError': ('_errors', 'UserError'),
    'atomic_write_csv': ('_io', 'atomic_write_csv'),
    'atomic_write_text': ('_io', 'atomic_write_text'),
    'check_writable': ('_io', 'check_writable'),
    'locked': ('_io', 'locked'),
    'offline_environment': ('_paths', 'offline_environment'),
    'redact': ('_secrets', 'redact'),
    'results_dir': ('_paths', 'results_dir'),
    'tasks_dir': ('_paths', 'tasks_dir'),
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
