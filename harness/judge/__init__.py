"""The LLM judge: rubric prompts, pointwise scores, pairwise verdicts, reliability."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'JudgeScores': ('_prompts', 'JudgeScores'),
    'PairwiseTally': ('_judging', 'PairwiseTally'),
    'compare': ('_judging', 'compare'),
    'judge_outputs': ('_judging', 'judge_outputs'),
    'load_rubric': ('_prompts', 'load_rubric'),
    'model_pairs': ('_judging', 'model_pairs'),
    'parse_pointwise': ('_prompts', 'parse_pointwise'),
    'pointwise_request': ('_prompts', 'pointwise_request'),
    'position_row': ('_judging', 'position_row'),
    'reliability_rows': ('_judging', 'reliability_rows'),
    'scorer_for': ('_judging', 'scorer_for'),
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
