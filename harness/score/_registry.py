"""Every metric, in one place: task-file names → scorers, reported names → Metric records.

Adding a metric is one module (a `Scorer` subclass) and one `register(...)` line below.
Scorer modules are imported on first use, so validating a task file stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from harness.score._metric import Metric
from harness.score._names import JUDGE_PREFIX


@dataclass(frozen=True)
class Entry:
    family: str  # the name in a task file's `metrics:` list
    where: str  # "_module:Class" inside harness.score, or any importable "package.module:Class"
    metrics: tuple[Metric, ...]
    headline: str  # the reported name a task's tables lead with when this family is listed first
    needs: tuple[str, ...]  # what items must carry beyond references ("key_facts"), or "chinese_target"
    in_meta: bool = True  # scored by default in meta-evaluation (`harness meta-eval`)

    def scorer_class(self):
        module, cls = self.where.split(":")
        return getattr(import_module(f"harness.score.{module}" if module.startswith("_") else module), cls)


_FAMILIES: dict[str, Entry] = {}
_METRICS: dict[str, Metric] = {}


def register(family: str, where: str, *metrics: Metric, headline: str | None = None,
             needs: tuple[str, ...] = (), in_meta: bool = True) -> None:
    """Make `family` usable in task files; its scorer reports `metrics` (one record each)."""
    if not metrics:
        raise ValueError(f"{family}: a scorer reports at least one metric")
    _FAMILIES[family] = Entry(family, where, metrics, headline or metrics[0].name, needs, in_meta)
    for m in metrics:
        reported(m)


def reported(metric: Metric) -> None:
    """A metric the run reports without a scorer (accounting), or an older name."""
    _METRICS[metric.name] = metric
    for alias in metric.aliases:
        _METRICS[alias] = metric


# --- the metrics ---------------------------------------------------------------------------------
register("rouge", "_lexical:Rouge", Metric("rouge1", threshold=1.0), Metric("rouge2", threshold=1.0),
         Metric("rougeL", threshold=1.0), headline="rougeL")
register("bleu", "_lexical:Bleu", Metric("bleu", threshold=1.5))
register("chrf", "_lexical:Chrf", Metric("chrf", threshold=1.0))
# in_meta=False: sacrebleu's TER is a pure-Python edit distance, and over the MQM set's
# systems × segments × references it would add ~25 s to every `harness meta-eval`
register("ter", "_ter:Ter", Metric("ter", better="lower", bounds=(0.0, None), gated=False,
                                   why_ungated="ter is reported, not gated: bleu and chrf gate the same outputs"),
         in_meta=False)
register("length_ratio", "_checks:LengthRatio",
         Metric("length_ratio", better=1.0, bounds=(0.0, None), gated=False,
                why_ungated="length_ratio is best at 1.0 and is not gated"))
register("numbers", "_checks:Numbers", Metric("number_recall", threshold=5.0))
# script_trad_share: the name of wrong_script_share before it also served Traditional targets
register("script", "_checks:Script", Metric("wrong_script_share", better="lower", threshold=2.0,
                                            aliases=("script_trad_share",)), needs=("chinese_target",))
register("key_facts", "_checks:KeyFacts", Metric("key_fact_recall", threshold=5.0), needs=("key_facts",))

# reported by every run, from the answers' accounting (no scorer, no gate)
for _name in ("finish_length_rate", "input_truncated_rate"):
    reported(Metric(_name, better="lower", gated=False))
for _name in ("prompt_tokens_mean", "prompt_tokens_total", "completion_tokens_mean",
              "completion_tokens_total", "cost_usd_total"):
    reported(Metric(_name, better="lower", bounds=(0.0, None), gated=False, fmt=".4g" if "cost" in _name else ".1f"))

JUDGE_SCORE = Metric(JUDGE_PREFIX + "*", bounds=(1.0, 5.0))  # every judge:<model>:<dimension>
UNKNOWN = Metric("?", gated=False)  # a name from an older or foreign file: 0-100, higher


# --- asking --------------------------------------------------------------------------------------
def families() -> list[str]:
    """The names a task file's `metrics:` may list, in registration order."""
    return list(_FAMILIES)


def entry(family: str) -> Entry:
    return _FAMILIES[family]


def make(family: str, task):
    """The scorer of a task-file metric name, configured for `task`."""
    if family not in _FAMILIES:
        raise KeyError(family)
    return _FAMILIES[family].scorer_class().for_task(task)


def metric(name: str) -> Metric:
    """The record of a reported name; judge scores share one; an unknown name gets a
    record that ranks it higher-is-better and never gates it."""
    if name in _METRICS:
        return _METRICS[name]
    if name.startswith(JUDGE_PREFIX):
        return JUDGE_SCORE
    return UNKNOWN


def metrics() -> list[Metric]:
    """Every registered record (once each, aliases not repeated)."""
    return list({id(m): m for m in _METRICS.values()}.values())


def reported_names() -> list[str]:
    """Every metric name a task's scorers can report (for validating names in config files)."""
    return sorted({m.name for e in _FAMILIES.values() for m in e.metrics})


def gated_names() -> list[str]:
    return sorted(m.name for e in _FAMILIES.values() for m in e.metrics if m.gated)


def headline(family: str) -> str:
    return _FAMILIES[family].headline if family in _FAMILIES else family


def lower_is_better(name: str) -> bool:
    return metric(name).lower_is_better


def has_direction(name: str) -> bool:
    return metric(name).has_direction
