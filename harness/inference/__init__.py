"""Statistics over blocks of items: intervals, paired tests, Holm, the gate's power.
Knows numbers, not metrics: it imports nothing else from harness."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'CI_METHOD': ('_stats', 'CI_METHOD'),
    'EXACT_MAX_BLOCKS': ('_stats', 'EXACT_MAX_BLOCKS'),
    'MIN_BLOCKS': ('_stats', 'MIN_BLOCKS'),
    'RESAMPLES': ('_stats', 'RESAMPLES'),
    'SCORE_CI_METHOD': ('_stats', 'SCORE_CI_METHOD'),
    'SEED': ('_stats', 'SEED'),
    'diff_se': ('_power', 'diff_se'),
    'holm': ('_stats', 'holm'),
    'min_detectable_drop': ('_power', 'min_detectable_drop'),
    'paired_test': ('_stats', 'paired_test'),
    'percentile_ci': ('_stats', 'percentile_ci'),
    'resample_weights': ('_stats', 'resample_weights'),
    'resampled_scores': ('_stats', 'resampled_scores'),
    'score_ci': ('_stats', 'score_ci'),
    'score_se': ('_power', 'score_se'),
    'significant': ('_stats', 'significant'),
    'stratified_mean_ci': ('_stats', 'stratified_mean_ci'),
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
