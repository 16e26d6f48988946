"""One adapter over the registry: a registered metric family as an `evaluate.Metric`.

`compute(predictions=[...], references=[[...], ...])` returns the harness's own corpus
values, exactly as the leaderboard computes them on the same pairs (Chinese-aware
tokenisation and normalisation included); `target_lang`, `source_lang`, `target_script`,
`sources` (for numbers) and `key_facts` (for key_facts) say what a task file would.
"""

from __future__ import annotations

from types import SimpleNamespace

import datasets
import evaluate

from harness.score import registry

_CITATION = "harness (this repository): Chinese-correct ROUGE, sacrebleu BLEU/chrF/TER and targeted checks."


def module_class(family: str) -> type:
    """The `evaluate.Metric` subclass of one registered family."""
    entry = registry.entry(family)
    names = ", ".join(m.name for m in entry.metrics)

    class HarnessMetric(evaluate.Metric):
        def _info(self):
            return evaluate.MetricInfo(
                description=f"harness's {family} ({names}), the same number its leaderboard reports; "
                            "Chinese targets are tokenised and normalised as the harness does.",
                citation=_CITATION,
                inputs_description="predictions: list of str; references: list of lists of str "
                                   "(one or more per prediction); target_lang (default en), source_lang "
                                   "(default zh), target_script, sources, key_facts: as in a task file.",
                features=datasets.Features({"predictions": datasets.Value("string"),
                                            "references": datasets.Sequence(datasets.Value("string"))}),
            )

        def _compute(self, predictions, references, target_lang="en", source_lang="zh", target_script=None,
                     sources=None, key_facts=None):
            n = len(predictions)
            items = [SimpleNamespace(id=str(k), source=(sources or [""] * n)[k], references=list(references[k]),
                                     key_facts=list((key_facts or [[]] * n)[k]), meta={}) for k in range(n)]
            task = SimpleNamespace(spec=SimpleNamespace(source_lang=source_lang, target_lang=target_lang,
                                                        target_script=target_script), items=items)
            scorer = registry.make(family, task)
            return scorer.score(scorer.stats(list(predictions), items))

    HarnessMetric.__name__ = HarnessMetric.__qualname__ = f"Harness_{family}"
    return HarnessMetric
