"""The LLM judge: rubric prompts, THE pointwise loop, pairwise verdicts, reliability.

Eval, the gate, meta-eval and `harness compare` all judge through `judge_pointwise` /
`compare`: a reply that does not parse is that item's failure and is rejected from the
response cache (never served as an answer; the next run asks again)."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'Failure': ('_parse', 'Failure'),
    'Job': ('_pointwise', 'Job'),
    'JudgeScores': ('_scores', 'JudgeScores'),
    'Judged': ('_pointwise', 'Judged'),
    'Judgement': ('_pointwise', 'Judgement'),
    'PairwiseTally': ('_pairwise', 'PairwiseTally'),
    'combine_orders': ('_pairwise', 'combine_orders'),
    'compare': ('_pairwise', 'compare'),
    'failure_note': ('_parse', 'failure_note'),
    'judge_counts': ('_reliability', 'judge_counts'),
    'judge_outputs': ('_pointwise', 'judge_outputs'),
    'judge_pointwise': ('_pointwise', 'judge_pointwise'),
    'load_rubric': ('_prompts', 'load_rubric'),
    'model_pairs': ('_pairwise', 'model_pairs'),
    'pairwise_request': ('_prompts', 'pairwise_request'),
    'parse_pairwise': ('_parse', 'parse_pairwise'),
    'parse_pointwise': ('_parse', 'parse_pointwise'),
    'pointwise_request': ('_prompts', 'pointwise_request'),
    'position_row': ('_reliability', 'position_row'),
    'reliability_rows': ('_reliability', 'reliability_rows'),
    'scorer_for': ('_pointwise', 'scorer_for'),
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
