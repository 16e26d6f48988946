"""Scoring outputs (below tasks: it knows texts and languages, not task files): text
normalisation, lexical metrics, number and other checks, the Metric record and Scorer
base, and the registry that holds every metric."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'script_of': ('_languages', 'script_of'),
    'JUDGE_PREFIX': ('_names', 'JUDGE_PREFIX'),
    'judge_metric': ('_names', 'judge_metric'),
    'judge_of': ('_names', 'judge_of'),
    'Bleu': ('_lexical', 'Bleu'),
    'Chrf': ('_lexical', 'Chrf'),
    'KeyFacts': ('_checks', 'KeyFacts'),
    'Metric': ('_metric', 'Metric'),
    'Scorer': ('_metric', 'Scorer'),
    'Script': ('_checks', 'Script'),
    'LengthRatio': ('_checks', 'LengthRatio'),
    'Numbers': ('_checks', 'Numbers'),
    'Rouge': ('_lexical', 'Rouge'),
    'Ter': ('_ter', 'Ter'),
    'reference_count': ('_metric', 'reference_count'),
    'registry': ('_registry', None),
    'reported_names': ('_registry', 'reported_names'),
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
