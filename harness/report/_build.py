"""`harness report`: one static HTML file (inline CSS and SVG, no script, no network).

Per task: the leaderboard (models as rows, the model column frozen while the metrics
scroll), the pairwise win matrix, a per-condition chart, the judge section (its rubric
scores per model, its both-order verdicts, how far to trust it) and items side by side.
Then the meta-evaluation: each metric's and judge's system-level correlation with expert
MQM per reference. Judge pseudo-models (`judge:<name>` rows of the leaderboard) appear only
in the judge section; models run on different item samples are marked, never ranked
together."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.core import atomic_write_text
from harness.report._charts import PALETTE, bar_chart, dot_chart, num, whisker

from harness.score import JUDGE_PREFIX, registry

ITEMS_PER_TASK = 20
GOOD_VALUES = {  # what each judge reliability figure means, and what a good value is
    "judge_parse_failure_rate": ("parse failures", "% of the judge's replies that did not parse or had a score "
                                 "out of range (left out of its scores). Good: 0%; more than a few % and its "
                                 "scores rest on a subset."),
    "judge_position_consistency": ("position consistency", "% of compared pairs whose verdict survives swapping "
                                   "the order (a flip counts as a tie). Good: near 100%; 50% or less means "
                                   "the order of presentation decides."),
    "judge_self_agreement": ("self-agreement", "% of repeated items given the identical score when asked again "
                             "at temperature 0. Good: near 100%."),
    "judge_spearman_chrf": ("agreement with chrF", "Spearman correlation of the judge's overall score with "
                            "per-item chrF. Good: clearly positive (0.3 or more); near 0 means it ignores what "
                            "chrF sees, negative is suspicious."),
}
META_COLUMNS = [("system", "without_human", "pearson", "sys r [95% CI]"), ("system", "without_human", "kendall", "sys τ"),
                ("segment", "item_avg", "kendall", "seg τ")]


@dataclass
class ReportData:
    """Everything the report shows, read once from the results folder."""

    board: "pd.DataFrame"  # noqa: F821 - leaderboard.csv
    pairwise: "pd.DataFrame"  # noqa: F821 - pairwise.csv without judge rows
    judge_pairwise: "pd.DataFrame"  # noqa: F821 - judges' both-order verdicts
    wide: "pd.DataFrame"  # noqa: F821
    tasks: dict
    outputs: dict
    meta: list[tuple[str, "pd.DataFrame"]] = field(default_factory=list)  # noqa: F821
    generated: str = ""
    every_version: "pd.DataFrame | None" = None  # noqa: F821 - leaderboard.csv, older versions too
    results: Path | None = None  # the folder, for what is read per task (the prompt diffs)


def load_data(results: Path) -> ReportData:
    """Read the results folder. The one place rows are chosen: a filter of the leaderboard
    (e.g. each model's latest prompt version) belongs here, before anything is drawn."""
    import pandas as pd

    from harness.results import latest_outputs
    from harness.core import UserError
    from harness.results import current
    from harness.task import load_task, load_valid_tasks

    def read(path: Path, **kw) -> pd.DataFrame:
        return pd.read_csv(path, keep_default_na=False, na_values=[""], **kw) if path.exists() else pd.DataFrame()

    board_path = results / "leaderboard.csv"
    if not board_path.exists():
        raise UserError(f"{board_path}: no leaderboard yet; run `make eval` first")
    every_version = read(board_path, dtype={"prompt_hash": str})
    board = current(every_version)  # each model's latest version; the section says which
    for col in ("item_set", "note"):
        if col not in board:
            board[col] = math.nan
    pairwise = read(results / "pairwise.csv")
    judged = pairwise.metric.astype(str).str.startswith(JUDGE_PREFIX) if len(pairwise) else []
    judge_pw = read(results / "judge_pairwise.csv")
    if not len(judge_pw) and len(pairwise):
        judge_pw = pairwise[judged]
    if len(pairwise):
        pairwise = pairwise[~judged]
    tasks = {t.id: t for t in load_valid_tasks()[0]}  # a broken task file never blocks the report
    for run in sorted((results / "runs").glob("*/run.json")):  # tasks evaluated from files elsewhere
        for tid, path in json.loads(run.read_text(encoding="utf-8")).get("task_files", {}).items():
            if tid not in tasks and Path(path).is_file():
                try:
                    tasks[tid] = load_task(Path(path))
                except UserError as exc:  # since broken: its section is drawn from the leaderboard alone
                    import logging

                    logging.getLogger(__name__).warning("report: task %s left out of the item views (%s)", tid, exc)
    meta = []
    if (results / "meta").exists():
        for path in sorted((results / "meta").glob("*.csv")):
            meta.append((path.name, read(path)))
    return ReportData(board, pairwise, judge_pw, read(results / "leaderboard_wide.csv", dtype=str), tasks,
                      latest_outputs(results), meta, str(board.created_at.max()), every_version, results)


def _ci_text(r) -> str:
    v, lo, hi = num(r["value"]), num(r["ci_low"]), num(r["ci_high"])
    if math.isnan(v):
        return "–"
    return f"{v:.2f}" + ("" if math.isnan(lo) else f" [{lo:.1f}, {hi:.1f}]")


def _samples(rows, models: list[str]) -> dict[str, dict]:
    """model -> {label, n} of the item set its `all` rows were computed on; labels only
    when the models of a task were run on more than one sample."""
    seen: dict[str, tuple[str, object]] = {}
    for r in rows:
        s = r.get("item_set")
        if r["model"] in models and isinstance(s, str) and s and r["model"] not in seen:
            seen[r["model"]] = (s, r.get("n"))
    sets = list(dict.fromkeys(s for s, _ in (seen[m] for m in models if m in seen)))
    if len(sets) < 2:
        return {}
    count = {x: sum(1 for m in models if m in seen and seen[m][0] == x) for x in sets}
    main = max(sets, key=lambda x: (count[x], int(x.split(":")[0]) if x.split(":")[0].isdigit() else 0))
    return {m: {"label": "ABCDEFGHIJ"[sets.index(seen[m][0]) % 10], "size": seen[m][0].split(":")[0],
                "odd": seen[m][0] != main}  # odd: not the sample most models ran on
            for m in models if m in seen}


def _sample_groups(samples: dict) -> list[dict]:
    """[{label, size, models}] per item sample, for the note above the leaderboard."""
    groups: dict[str, dict] = {}
    for m, x in samples.items():
        groups.setdefault(x["label"], {"label": x["label"], "size": x["size"], "models": []})["models"].append(m)
    return [groups[k] for k in sorted(groups)]


def _leaderboard(task_id: str, rows, models: list[str], data: ReportData, samples: dict, primary: str) -> dict:
    from harness.results import ACCOUNTING_SIGNATURE

    accounting = {r["metric"] for r in rows if r.get("signature") == ACCOUNTING_SIGNATURE}
    metrics = sorted(dict.fromkeys(r["metric"] for r in rows),
                     key=lambda m: (m in accounting, m != primary))  # the primary first, tokens and cost last
    by = {(r["model"], r["metric"]): r for r in rows}
    ranks = {}
    wide = data.wide
    if len(wide):
        w = wide[(wide.task == task_id) & (wide.condition == "all")]
        for rec in w.to_dict("records"):
            for m in metrics:
                rank = rec.get(f"rank_{m}")
                if isinstance(rank, str) and rank:  # blank: not ranked (e.g. alone on its sample)
                    ranks[rec["model"], m] = rank
    scale = {}
    for m in metrics:
        vals = [num(by[mod, m][k]) for mod in models if (mod, m) in by for k in ("value", "ci_high", "ci_low")]
        vals = [v for v in vals if not math.isnan(v)]
        scale[m] = (min([0.0] + vals), max(vals + [0.0]))
    table = []
    for mod in models:
        cells = []
        for m in metrics:
            r = by.get((mod, m))
            if r is None:
                cells.append({"text": "–", "svg": ""})
                continue
            cells.append({"text": _ci_text(r), "svg": whisker(r["value"], r["ci_low"], r["ci_high"], *scale[m]),
                          "rank": ranks.get((mod, m), "")})  # ranks join only models on one sample
        first = next((by[mod, m] for m in metrics if (mod, m) in by), None)
        n = f"{int(first['n'])}" + (f" ({int(first['n_errors'])} failed)" if first is not None
                                    and num(first["n_errors"]) else "") if first is not None else ""
        table.append({"model": mod, "cells": cells, "n": n, "sample": samples.get(mod)})
    return {"metrics": metrics, "rows": table}


def _matrix(task_id: str, models: list[str], data: ReportData, primary: str, samples: dict) -> list[dict]:
    pw = data.pairwise
    if not len(pw):
        return []
    pw = pw[(pw.task == task_id) & (pw.condition == "all") & (pw.metric == primary)]
    out = []
    for a in models:
        row = []
        for b in models:
            hit, sign = pw[(pw.model_a == a) & (pw.model_b == b)], 1
            if hit.empty:
                hit, sign = pw[(pw.model_a == b) & (pw.model_b == a)], -1
            if a == b:
                row.append({"text": "", "cls": "self"})
            elif hit.empty:
                diff_sample = samples and samples.get(a, {}).get("label") != samples.get(b, {}).get("label")
                row.append({"text": "other items" if diff_sample else "", "cls": "self",
                            "p": "run on different item samples: not compared" if diff_sample else ""})
            else:
                h = hit.iloc[0]
                d = sign * h["diff"]
                cls = "ns" if not h.significant else ("win" if d > 0 else "loss")
                row.append({"text": f"{d:+.2f}", "cls": cls, "p": f"p = {h.p_value:.3f}"})
        out.append({"model": a, "cells": row})
    return out if any(c["text"] for r in out for c in r["cells"]) else []


def _condition_chart(rows, models: list[str], metric: str, samples: dict) -> dict:
    conds = [c for c in dict.fromkeys(r["condition"] for r in rows) if "=" not in c]
    if len(conds) < 2:
        return {}
    cell = {(r["condition"], r["model"]): (r["value"], r["ci_low"], r["ci_high"]) for r in rows if r["model"] in models}
    colors = {m: PALETTE[k % len(PALETTE)] for k, m in enumerate(models)}
    args = (conds, models, cell, f"{metric} (bar: value; line: 95% CI)", "condition", f"{metric} by condition", colors)
    svg, narrow = bar_chart(*args), bar_chart(*args, compact=True)
    legend = [{"model": m, "color": colors[m], "sample": samples.get(m)} for m in models]
    return {"svg": svg, "narrow": narrow, "legend": legend} if svg else {}


def _judges(task_id: str, grp, models: list[str], data: ReportData) -> list[dict]:
    """One entry per judge of this task: rubric scores per model, verdicts, reliability."""
    names = sorted({m[len(JUDGE_PREFIX):] for m in grp.model if m.startswith(JUDGE_PREFIX)}
                   | {re.sub(r":[^:]+$", "", m)[len(JUDGE_PREFIX):] for m in grp.metric
                      if m.startswith(JUDGE_PREFIX) and not m.endswith(":pairwise")})
    jp = data.judge_pairwise
    if len(jp):
        jp = jp[jp.task == task_id]
        names = sorted(set(names) | {m[len(JUDGE_PREFIX):-len(":pairwise")] for m in jp.metric})
    out = []
    for judge in names:
        prefix = f"{JUDGE_PREFIX}{judge}:"
        rows = grp[(grp.condition == "all") & grp.metric.str.startswith(prefix) & ~grp.model.str.startswith(JUDGE_PREFIX)]
        dims = list(dict.fromkeys(m[len(prefix):] for m in rows.metric))
        dims = [d for d in dims if d != "overall"] + [d for d in dims if d == "overall"]  # the mean last
        by = {(r["model"], r["metric"][len(prefix):]): r for r in rows.to_dict("records")}
        scores = []
        for mod in models:
            if not any((mod, d) in by for d in dims):
                continue
            cells = []
            for d in dims:
                r = by.get((mod, d))
                if r is None:
                    cells.append({"text": "–", "svg": ""})
                    continue
                failed = int(num(r["n_errors"])) if not math.isnan(num(r["n_errors"])) else 0
                cells.append({"text": _ci_text(r), "svg": whisker(r["value"], r["ci_low"], r["ci_high"], 1, 5, 90),
                              "n": f"n = {int(num(r['n']))}" + (f", {failed} failed" if failed else "")})
            scores.append({"model": mod, "cells": cells})
        verdicts = []
        pw = jp[jp.metric == f"{JUDGE_PREFIX}{judge}:pairwise"] if len(jp) else jp
        pair_models = [m for m in models if len(pw) and ((pw.model_a == m) | (pw.model_b == m)).any()]
        for a in pair_models:
            row = []
            for b in pair_models:
                hit, swap = pw[(pw.model_a == a) & (pw.model_b == b)], False
                if hit.empty:
                    hit, swap = pw[(pw.model_a == b) & (pw.model_b == a)], True
                if a == b or hit.empty:
                    row.append({"text": "", "cls": "self"})
                    continue
                h = hit.iloc[0]
                n = int(num(h["n"])) if not math.isnan(num(h["n"])) else 0
                if not n:
                    row.append({"text": "no verdict parsed", "cls": "ns"})
                    continue
                win, loss = (num(h.value_b), num(h.value_a)) if swap else (num(h.value_a), num(h.value_b))
                tie = max(0.0, 100 - win - loss)
                cls = "win" if win > loss and h.significant else ("loss" if loss > win and h.significant else "ns")
                row.append({"text": f"{win:.0f} / {tie:.0f} / {loss:.0f}", "cls": cls,
                            "p": f"n = {n} pairs, p = {num(h.p_value):.3f}"})
            verdicts.append({"model": a, "cells": row})
        rel = grp[grp.model == f"{JUDGE_PREFIX}{judge}"]
        reliability = []
        for metric, (label, good) in GOOD_VALUES.items():
            r = rel[rel.metric == metric]
            if r.empty:
                continue
            r = r.iloc[0]
            v = num(r.value)
            unit = "" if metric == "judge_spearman_chrf" else "%"
            note = r["note"] if isinstance(r["note"], str) else ""
            reliability.append({"label": label, "metric": metric, "good": good, "note": note,
                                "value": "–" if math.isnan(v) else f"{v:+.2f}" if not unit else f"{v:.1f}{unit}",
                                "n": int(num(r.n)) if not math.isnan(num(r.n)) else "",
                                "failed": int(num(r.n_errors)) if not math.isnan(num(r.n_errors)) else ""})
        out.append({"judge": judge, "dims": dims, "scores": scores, "verdicts": verdicts, "models": pair_models,
                    "reliability": reliability})
    return out


def _examples(task, task_id: str, models: list[str], data: ReportData) -> list[dict]:
    if not task:
        return []
    per_model = {m: data.outputs[(m, task_id)].set_index("item_id") for m in models if (m, task_id) in data.outputs}
    ids = [it for it in task.items if all(it.id in df.index for df in per_model.values())][:ITEMS_PER_TASK]
    items = []
    for it in ids:
        outs = []
        for m, df in per_model.items():
            r = df.loc[it.id]
            scores = ", ".join(f"{c[6:]} {num(r[c]):.1f}" for c in df.columns
                               if c.startswith("score_") and not math.isnan(num(r[c])))
            outs.append({"model": m, "text": r["output"] or f"[error] {r['error']}", "scores": scores,
                         "finish": r["finish_reason"]})
        items.append({"id": it.id, "condition": it.condition, "source": it.source,
                      "reference": it.references[0] if it.references else "", "outputs": outs})
    return items


DIFF_ITEMS = 3  # items shown per prompt diff


def _prompt_diffs(task, models: list[str], data: ReportData) -> list[dict]:
    """Per model run with two prompts or more: its latest run against the latest run of the
    prompt before it (what `harness diff` prints), with the items that moved most."""
    from harness.core import UserError
    from harness.results import choose, diff_task, runs_of

    if task is None or data.results is None:
        return []
    out = []
    for model in models:
        runs = runs_of(data.results, model, task.id)
        if len({r.prompt_hash for r in runs}) < 2:
            continue
        try:
            d = diff_task(task, model, *choose(runs, model, task.id, None, None), top=DIFF_ITEMS)
        except UserError:  # e.g. the two prompts share fewer than 2 answered items: nothing to pair
            continue
        rows = [{"metric": m.metric, "before": format(m.before, m.fmt), "after": format(m.after, m.fmt),
                 "diff": f"{format(m.diff, '+' + m.fmt)} [{format(m.ci_low, '+' + m.fmt)}, "
                         f"{format(m.ci_high, '+' + m.fmt)}]", "p": f"{m.p_value:.3f}", "verdict": m.verdict,
                 "cls": {"better": "win", "worse": "loss"}.get(m.verdict, "")} for m in d.metrics]
        moved = [{"id": it.item_id, "deltas": ", ".join(f"{k} {v:+.1f}" for k, v in it.deltas.items()),
                  "source": it.source, "reference": it.reference, "before": it.before, "after": it.after}
                 for it in d.moved]
        out.append({"model": model, "before": d.before.prompt_hash, "after": d.after.prompt_hash,
                    "before_run": d.before.run_id, "after_run": d.after.run_id, "n": d.n, "blocks": d.blocks,
                    "sort": d.sort_metric, "rows": rows, "moved": moved})
    return out


def _version_note(task_id: str, models: list[str], grp, data: ReportData) -> str:
    """Which prompt version and item sample of each model the section shows (the latest),
    and how many older ones the leaderboard keeps."""
    from harness.results import version_note

    everything = data.every_version if data.every_version is not None else grp
    shown = grp[grp.model.isin(models)]
    return version_note(shown, everything[everything.task == task_id])


def _task_section(task_id: str, grp, data: ReportData) -> dict:
    models = sorted(m for m in grp.model.unique() if not str(m).startswith(JUDGE_PREFIX))
    task = data.tasks.get(task_id)
    plain = grp[~grp.model.str.startswith(JUDGE_PREFIX) & ~grp.metric.str.startswith(JUDGE_PREFIX)]
    primary = task.spec.metrics[0] if task else (plain.metric.iloc[0] if len(plain) else "")
    primary = registry.headline(primary)
    allrows = plain[plain.condition == "all"].to_dict("records")
    samples = _samples([r for r in allrows if r["metric"] == primary] + allrows, models)
    return {"task": task_id, "models": models, "primary": primary, "samples": samples,
            "sample_groups": _sample_groups(samples),
            "versions": _version_note(task_id, models, grp, data),
            "description": task.spec.description if task else "",
            "leaderboard": _leaderboard(task_id, allrows, models, data, samples, primary),
            "matrix": _matrix(task_id, models, data, primary, samples),
            "chart": _condition_chart(plain[plain.metric == primary].to_dict("records"), models, primary, samples),
            "judges": _judges(task_id, grp, models, data),
            "examples": _examples(task, task_id, models, data),
            "diffs": _prompt_diffs(task, models, data)}


def _meta_section(name: str, df) -> dict:
    """Charts of each metric's system-level Pearson with −MQM per reference, and a table."""
    for col in ("segments", "note"):
        if col not in df:
            df[col] = math.nan
    cell = {(r["reference"], r["metric"], r["level"], r["variant"], r["statistic"]): r for r in df.to_dict("records")}
    refs = list(dict.fromkeys(df.reference))
    metrics = list(dict.fromkeys(df.metric))
    segments = sorted({int(num(s)) for s in df.segments if not math.isnan(num(s))})
    charts = []
    for ref in refs:
        values = {}
        for m in metrics:
            r = cell.get((ref, m, "system", "without_human", "pearson"))
            if r is not None:
                values[m] = (r["value"], r["ci_low"], r["ci_high"])
        args = (list(values), values, "Pearson r with −MQM (13 MT systems)", "metric",
                f"System-level agreement with MQM, reference {ref}")
        judge = lambda m: m.startswith(JUDGE_PREFIX)  # noqa: E731
        charts.append((dot_chart(*args, highlight=judge), dot_chart(*args, highlight=judge, compact=True)))
    rows = []
    for m in metrics:  # one row per metric, the references side by side
        cells, notes = [], []
        for ref in refs:
            for key in META_COLUMNS:
                r = cell.get((ref, m, *key[:3]))
                v = num(r["value"]) if r is not None else math.nan
                lo, hi = (num(r["ci_low"]), num(r["ci_high"])) if r is not None else (math.nan, math.nan)
                text = "" if r is None else "–" if math.isnan(v) else f"{v:+.3f}"
                if key[3].endswith("[95% CI]") and not math.isnan(lo):
                    text += f" [{lo:+.2f}, {hi:+.2f}]"
                cells.append(text)
                if r is not None and isinstance(r["note"], str) and r["note"]:
                    notes.append(f"{ref} {key[3].replace(' [95% CI]', '')}: {r['note']}")
        rows.append({"metric": m, "cells": cells, "notes": notes})
    sample = re.search(r"\.first-(\d+)\.csv$", name)
    return {"name": name, "refs": refs, "charts": list(zip(refs, charts)), "rows": rows,
            "columns": [c[3] for c in META_COLUMNS], "segments": ", ".join(map(str, segments)),
            "sample": sample.group(1) if sample else ""}


def build(results: Path, out: Path) -> Path:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    data = load_data(results)
    sections = [_task_section(task_id, grp, data) for task_id, grp in data.board.groupby("task", sort=True)]
    meta = sorted((_meta_section(name, df) for name, df in data.meta if len(df) and "reference" in df),
                  key=lambda m: (bool(m["sample"]), m["name"]))  # the full set first
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(sections=sections, meta=meta, generated=data.generated,
                                                     good=GOOD_VALUES)
    atomic_write_text(out, html)
    return out
