"""Result files: the leaderboard, pairwise comparisons, items, typed readers."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'leaderboard': ('_readers', 'leaderboard'),
    'history': ('_readers', 'history'),
    'wide': ('_readers', 'wide'),
    'pairwise': ('_readers', 'pairwise'),
    'judge_pairwise': ('_readers', 'judge_pairwise'),
    'items': ('_readers', 'items'),
    'ACCOUNTING_SIGNATURE': ('_leaderboard', 'ACCOUNTING_SIGNATURE'),
    'SCHEMA_VERSION': ('_leaderboard', 'SCHEMA_VERSION'),
    'Scored': ('_leaderboard', 'Scored'),
    'cost_basis': ('_leaderboard', 'cost_basis'),
    'current': ('_leaderboard', 'current'),
    'latest_outputs': ('_runs', 'latest_outputs'),
    'runs_of': ('_diff', 'runs_of'),
    'choose': ('_diff', 'choose'),
    'diff_task': ('_diff', 'diff_task'),
    'record_run': ('_runs', 'record'),
    'as_read': ('_runs', 'as_read'),
    'merge': ('_leaderboard', 'merge'),
    'merge_judge_pairwise': ('_pairwise', 'merge_judge_pairwise'),
    'metric_fn': ('_leaderboard', 'metric_fn'),
    'now': ('_leaderboard', 'now'),
    'read': ('_leaderboard', 'read'),
    'refresh': ('_pairwise', 'refresh'),
    'rows_for': ('_leaderboard', 'rows_for'),
    'stored_stats': ('_pairwise', 'stored_stats'),
    'version_note': ('_leaderboard', 'version_note'),
    'versions': ('_leaderboard', 'versions'),
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
