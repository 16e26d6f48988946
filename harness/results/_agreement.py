"""Inter-reference agreement: the second reference scored against the first, per condition.

Where an item has two references, reference 2 is treated as a system output and scored
against reference 1 alone, with the same BLEU and chrF (sacrebleu, same normalisation and
tokenisation) that score the models. The figure is the ceiling a system can be expected to
reach against one reference: a model above it tells you about the references, not the model.

Items of the 003 noisy/clean pairs share one reference row, so their two conditions show the
same pairs; `all` counts each reference row once.

Run: ``python -m harness.results._agreement`` (markdown table), ``--json``, or ``--leaderboard`` to add
the ``pseudo/ref2`` rows (clearly marked: model ``pseudo/ref2``, signature suffix
``|pseudo:reference-2-vs-reference-1``) to results/leaderboard.csv beside the models.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from types import SimpleNamespace

from harness.score import Bleu, Chrf

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


PSEUDO_MODEL = "pseudo/ref2"  # not a system: reference 2 scored against reference 1
PSEUDO_SIGNATURE = "|pseudo:reference-2-vs-reference-1|items:with-two-references"


def pseudo_rows(tasks, run_id: str, created_at: str, with_ci: bool = True) -> list[dict]:
    """Leaderboard rows for `pseudo/ref2`: reference 2 as the output, reference 1 as the only
    reference, on the items that have both, with the task's own metrics and block-level (jackknife-t)
    CIs. The ceiling beside the models; its `n` is the number of such items, and its
    signature says what it is."""
    from harness.results._leaderboard import ACCOUNTING_SIGNATURE, Scored, rows_for
    from harness.score import registry
    from harness.task import Item

    out = []
    for task in tasks:
        items = [it for it in task.items if len(it.references) >= 2]
        if not items:
            continue
        against = [Item(it.id, it.source, it.references[:1], it.meta, it.key_facts) for it in items]
        hyps = [it.references[1] for it in items]
        scorers = {m: registry.make(m, task) for m in task.spec.metrics if m != "key_facts"}
        stats = {m: s.stats(hyps, against) for m, s in scorers.items()}
        metas = [{"condition": it.condition, "block": it.block,
                  **{k: it.meta.get(k) for k in ("origin", "script", "genre")}} for it in items]
        acc = {}  # no answers were asked for: no accounting (its rows are dropped below)
        scored = Scored(PSEUDO_MODEL, task.id, "", [it.id for it in items], metas, stats, scorers, [], acc)
        for row in rows_for(scored, run_id, created_at, with_ci=with_ci):
            if row["signature"] != ACCOUNTING_SIGNATURE:
                out.append({**row, "signature": row["signature"] + PSEUDO_SIGNATURE})
    return out


def add_to_leaderboard(tasks, results) -> int:
    """Merge the `pseudo/ref2` rows into results/leaderboard.csv and refresh the wide table."""
    from harness.results._pairwise import refresh
    from harness.results._leaderboard import merge, now

    created = now()
    rows = pseudo_rows(tasks, f"pseudo-ref2-{created}", created)
    merge(results / "leaderboard.csv", rows)
    refresh(results, tasks)
    return len(rows)


def markdown(rows: list[Agreement]) -> str:
    lines = ["| task | condition | pairs | chrF | BLEU |", "|---|---|---|---|---|"]
    lines += [f"| `{r.task}` | {r.condition} | {r.n} | {r.chrf:.1f} | {r.bleu:.1f} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from harness.task import load_tasks

    argv = sys.argv[1:] if argv is None else argv
    tasks = load_tasks(list(TASKS))
    if "--leaderboard" in argv:
        from harness.core import results_dir

        n = add_to_leaderboard(tasks, results_dir())
        print(f"{n} rows of {PSEUDO_MODEL} (reference 2 vs reference 1) merged into {results_dir() / 'leaderboard.csv'}")
        return 0
    rows = agreement(tasks)
    print(json.dumps([asdict(r) for r in rows], indent=1) if "--json" in argv else markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
