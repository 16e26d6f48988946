"""Metric names in task files → scorer objects (the one place a new metric is added)."""

from __future__ import annotations

from harness.score._checks import KeyFacts, LengthRatio, Numbers, Script
from harness.score._lexical import Bleu, Chrf, Rouge

# Direction of every reported metric name, for rankings and the CI gate.
# script_trad_share: the name of wrong_script_share before it also served Traditional targets
LOWER_IS_BETTER = {"wrong_script_share", "script_trad_share", "finish_length_rate", "input_truncated_rate"}
TARGET_ONE = {"length_ratio"}  # best at 1.0
SCORER_CLASSES = (Rouge, Bleu, Chrf, LengthRatio, Numbers, Script, KeyFacts)


def reported_names() -> list[str]:
    """Every metric name a task's scorers can report (for validating names in config files)."""
    return sorted({n for cls in SCORER_CLASSES for n in cls.names})


def make(metric: str, task):
    lang = task.spec.target_lang
    if metric == "rouge":
        return Rouge(lang)
    if metric in ("bleu", "chrf"):
        counts = {len(it.references) for it in getattr(task, "items", [])}
        refs = counts.pop() if len(counts) == 1 else (-1 if counts else 1)
        return (Bleu if metric == "bleu" else Chrf)(lang, refs)
    if metric == "length_ratio":
        return LengthRatio(lang)
    if metric == "numbers":
        return Numbers(task.spec.source_lang, task.spec.target_lang)
    if metric == "script":
        return Script(task.spec.target_script or task.spec.target_lang)
    if metric == "key_facts":
        return KeyFacts(lang)
    raise KeyError(metric)
