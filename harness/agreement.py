"""Inter-reference agreement: the second reference scored against the first, per condition.

Where an item has two references, reference 2 is treated as a system output and scored
against reference 1 alone, with the same BLEU and chrF (sacrebleu, same normalisation and
tokenisation) that score the models. The figure is the ceiling a system can be expected to
reach against one reference: a model above it tells you about the references, not the model.

Items of the 003 noisy/clean pairs share one reference row, so their two conditions show the
same pairs; `all` counts each reference row once.

Run: ``python -m harness.agreement`` (markdown table) or ``python -m harness.agreement --json``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from types import SimpleNamespace

from .scorers.lexical import Bleu, Chrf

TASKS = ("translate_zh_en", "summarize_zh_en", "summarize_zh_zh")


@dataclass
class Agreement:
    task: str
    condition: str
    n: int  # reference pairs
    chrf: float
    bleu: float


def reference_pairs(task) -> dict[str, list[tuple[str, str, str]]]:
    """condition -> [(reference row key, reference 1, reference 2)] for items with two references."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for item in task.items:
        if len(item.references) >= 2:
            key = item.meta.get("pair", item.id)
            out.setdefault(item.condition, []).append((key, item.references[0], item.references[1]))
    return out


def score_pairs(lang: str, pairs: list[tuple[str, str, str]]) -> tuple[float, float]:
    hyps = [p[2] for p in pairs]
    refs = [SimpleNamespace(references=[p[1]]) for p in pairs]
    bleu, chrf = Bleu(lang), Chrf(lang)
    return (chrf.score(chrf.stats(hyps, refs))["chrf"], bleu.score(bleu.stats(hyps, refs))["bleu"])


def agreement(tasks) -> list[Agreement]:
    rows = []
    for task in tasks:
        by_cond = reference_pairs(task)
        if not by_cond:
            continue
        lang = task.spec.target_lang
        distinct = {key: (key, r1, r2) for pairs in by_cond.values() for key, r1, r2 in pairs}
        for cond in sorted(by_cond) + ["all"]:
            pairs = list(distinct.values()) if cond == "all" else by_cond[cond]
            chrf, bleu = score_pairs(lang, pairs)
            rows.append(Agreement(task.id, cond, len(pairs), round(chrf, 1), round(bleu, 1)))
    return rows


def markdown(rows: list[Agreement]) -> str:
    lines = ["| task | condition | pairs | chrF | BLEU |", "|---|---|---|---|---|"]
    lines += [f"| `{r.task}` | {r.condition} | {r.n} | {r.chrf:.1f} | {r.bleu:.1f} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from .task import load_tasks

    argv = sys.argv[1:] if argv is None else argv
    rows = agreement(load_tasks(list(TASKS)))
    print(json.dumps([asdict(r) for r in rows], indent=1) if "--json" in argv else markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
