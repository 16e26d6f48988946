"""`harness report`: one static HTML file (inline CSS and SVG, no script, no network) with the
leaderboard and its CI whiskers, the pairwise win matrix, a per-condition chart and a
side-by-side view of items."""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path

from .io import atomic_write_text

PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]
ITEMS_PER_TASK = 20


def _esc(text) -> str:
    """Any string that enters the SVG (condition, model, metric names come from users'
    files) is text, never markup: the chart is inserted into the page unescaped."""
    return escape(str(text), quote=True)


def _num(x) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _whisker(value, lo, hi, scale: float) -> str:
    """A small SVG: a bar for the value and a line for its 95% CI."""
    v, lo, hi = _num(value), _num(lo), _num(hi)
    if math.isnan(v) or not scale:
        return ""
    w = 120
    x = lambda t: max(0.0, min(w, w * t / scale))  # noqa: E731
    parts = [f'<rect x="0" y="4" width="{x(v):.1f}" height="8" fill="#9ecae1"/>']
    if not (math.isnan(lo) or math.isnan(hi)):
        parts.append(f'<line x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="8" y2="8" stroke="#08306b" stroke-width="1.5"/>')
        parts += [f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="4" y2="12" stroke="#08306b"/>' for t in (lo, hi)]
    return f'<svg width="{w}" height="16" role="img" aria-label="CI">{"".join(parts)}</svg>'


def _condition_chart(rows, models: list[str], metric: str) -> str:
    conds = [c for c in dict.fromkeys(r["condition"] for r in rows) if "=" not in c]
    if len(conds) < 2:
        return ""
    cell = {(r["condition"], r["model"]): r for r in rows}
    scale = max([_num(r["ci_high"]) if not math.isnan(_num(r["ci_high"])) else _num(r["value"]) for r in rows] + [1])
    bar_h, gap, left, width = 10, 8, 190, 420
    height = len(conds) * (len(models) * bar_h + gap) + 30
    out = [f'<svg width="{left + width + 60}" height="{height}" role="img" aria-label="{_esc(metric)} by condition">']
    y = 10
    for c in conds:
        out.append(f'<text x="0" y="{y + len(models) * bar_h / 2 + 4:.0f}" font-size="12">{_esc(c)}</text>')
        for k, m in enumerate(models):
            r = cell.get((c, m))
            if r is not None and not math.isnan(_num(r["value"])):
                w = width * _num(r["value"]) / scale
                out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 1}" fill="{PALETTE[k % 8]}">'
                           f'<title>{_esc(m)}: {_num(r["value"]):.2f}</title></rect>')
                lo, hi = _num(r["ci_low"]), _num(r["ci_high"])
                if not (math.isnan(lo) or math.isnan(hi)):
                    out.append(f'<line x1="{left + width * lo / scale:.1f}" x2="{left + width * hi / scale:.1f}" '
                               f'y1="{y + bar_h / 2:.1f}" y2="{y + bar_h / 2:.1f}" stroke="#222"/>')
            y += bar_h
        y += gap
    legend = "".join(f'<rect x="{left + 130 * k}" y="{y + 4}" width="10" height="10" fill="{PALETTE[k % 8]}"/>'
                     f'<text x="{left + 14 + 130 * k}" y="{y + 13}" font-size="11">{_esc(m)}</text>'
                     for k, m in enumerate(models))
    return "".join(out) + legend + "</svg>"


def build(results: Path, out: Path) -> Path:
    import pandas as pd
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from .comparisons import latest_outputs
    from .errors import UserError
    from .task import load_task, load_valid_tasks

    board_path = results / "leaderboard.csv"
    if not board_path.exists():
        raise UserError(f"{board_path}: no leaderboard yet; run `make eval` first")
    from .leaderboard import current  # each model's latest version (issue 21)

    board = current(pd.read_csv(board_path, keep_default_na=False, na_values=[""], dtype={"prompt_hash": str}))
    pair_path = results / "pairwise.csv"
    pairwise = pd.read_csv(pair_path, keep_default_na=False, na_values=[""]) if pair_path.exists() else pd.DataFrame()
    wide_path = results / "leaderboard_wide.csv"
    wide = pd.read_csv(wide_path, keep_default_na=False, dtype=str) if wide_path.exists() else pd.DataFrame()
    tasks = {t.id: t for t in load_valid_tasks()[0]}  # a broken task file never blocks the report
    for run in sorted((results / "runs").glob("*/run.json")):  # tasks evaluated from files elsewhere
        for tid, path in json.loads(run.read_text(encoding="utf-8")).get("task_files", {}).items():
            if tid not in tasks and Path(path).is_file():
                try:
                    tasks[tid] = load_task(Path(path))
                except UserError as exc:  # since broken: its section is drawn from the leaderboard alone
                    import logging

                    logging.getLogger(__name__).warning("report: task %s left out of the item views (%s)", tid, exc)
    outputs = latest_outputs(results)

    sections = []
    for task_id, grp in board.groupby("task", sort=True):
        models = sorted(grp.model.unique())
        task = tasks.get(task_id)
        primary = task.spec.metrics[0] if task else grp.metric.iloc[0]
        primary = {"rouge": "rougeL", "numbers": "number_recall", "script": "wrong_script_share",
                   "key_facts": "key_fact_recall"}.get(primary, primary)
        allrows = grp[grp.condition == "all"]
        metrics = list(dict.fromkeys(allrows.metric))
        table = []
        for metric in metrics:
            rows = allrows[allrows.metric == metric]
            scale = max([_num(v) for v in rows.ci_high.tolist() + rows.value.tolist() if not math.isnan(_num(v))] + [0])
            cells = []
            for m in models:
                r = rows[rows.model == m]
                if r.empty:
                    cells.append({"text": "–", "svg": ""})
                    continue
                r = r.iloc[0]
                rank = ""
                if len(wide):
                    w = wide[(wide.task == task_id) & (wide.condition == "all") & (wide.model == m)]
                    if len(w) and f"rank_{metric}" in w and w[f"rank_{metric}"].iloc[0]:
                        rank = w[f"rank_{metric}"].iloc[0]
                ci = "" if math.isnan(_num(r.ci_low)) else f" [{r.ci_low:.1f}, {r.ci_high:.1f}]"
                cells.append({"text": f"{r.value:.2f}{ci}" if not math.isnan(_num(r.value)) else "–",
                              "svg": _whisker(r.value, r.ci_low, r.ci_high, scale), "rank": rank})
            table.append({"metric": metric, "cells": cells})
        matrix = []
        if len(pairwise):
            pw = pairwise[(pairwise.task == task_id) & (pairwise.condition == "all") & (pairwise.metric == primary)]
            for a in models:
                row = []
                for b in models:
                    hit = pw[(pw.model_a == a) & (pw.model_b == b)]
                    sign = 1
                    if hit.empty:
                        hit, sign = pw[(pw.model_a == b) & (pw.model_b == a)], -1
                    if a == b or hit.empty:
                        row.append({"text": "", "cls": "self"})
                        continue
                    h = hit.iloc[0]
                    d = sign * h["diff"]
                    cls = "ns" if not h.significant else ("win" if d > 0 else "loss")
                    row.append({"text": f"{d:+.2f}", "cls": cls, "p": f"{h.p_value:.3f}"})
                matrix.append({"model": a, "cells": row})
        chart = _condition_chart(grp[grp.metric == primary].to_dict("records"), models, primary)
        items = []
        if task:
            per_model = {m: outputs[(m, task_id)].set_index("item_id") for m in models if (m, task_id) in outputs}
            ids = [it for it in task.items if all(it.id in df.index for df in per_model.values())][:ITEMS_PER_TASK]
            for it in ids:
                outs = []
                for m, df in per_model.items():
                    r = df.loc[it.id]
                    scores = ", ".join(f"{c[6:]} {_num(r[c]):.1f}" for c in df.columns
                                       if c.startswith("score_") and not math.isnan(_num(r[c])))
                    outs.append({"model": m, "text": r["output"] or f"[error] {r['error']}", "scores": scores,
                                 "finish": r["finish_reason"]})
                items.append({"id": it.id, "condition": it.condition, "source": it.source,
                              "reference": it.references[0], "outputs": outs})
        sections.append({"task": task_id, "models": models, "table": table, "primary": primary, "matrix": matrix,
                         "chart": chart, "examples": items,
                         "description": task.spec.description if task else ""})
    meta = []
    for path in sorted((results / "meta").glob("*.csv")) if (results / "meta").exists() else []:
        df = pd.read_csv(path, keep_default_na=False, na_values=[""])
        meta.append({"name": path.stem, "columns": list(df.columns), "rows": df.head(200).to_dict("records")})
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(sections=sections, meta=meta,
                                                     generated=board.created_at.max(), palette=PALETTE)
    atomic_write_text(out, html)
    return out
