"""Terminal tables of the leaderboard: one table per (task, condition), metrics down, models
across, fitting 80 columns (plain text: Markdown goes to files)."""

from __future__ import annotations

import math
from pathlib import Path

from harness.core import UserError
from harness.score import JUDGE_PREFIX


WIDTH = 80  # a log or a narrow terminal: the tables fit it
VALUE_WIDTH = 22  # "100.00 [99.12, 100.00]  #1–2"


def _fmt(v, lo, hi, fmt: str = ".2f") -> str:
    """Value and interval rounded alike (a value to 2 places beside an interval to 1 read
    as `0.18 [0.2, 0.2]`)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    s = format(v, fmt)
    if lo is not None and not (isinstance(lo, float) and math.isnan(lo)):
        s += f" [{format(lo, fmt)}, {format(hi, fmt)}]"
    return s


def column_labels(models: list[str], metric_width: int, width: int = WIDTH) -> dict[str, str]:
    """Model -> its column heading: the name when every column fits `width`, else a short
    label (A, B, …; judges J1, J2, …) explained under the table, so that two long names
    are never cut into the same `baseline/…`."""
    need = metric_width + 3 + sum(max(len(m), VALUE_WIDTH) + 3 for m in models)
    if need <= width:
        return {m: m for m in models}
    out, plain, judges = {}, 0, 0
    for m in models:
        if m.startswith(JUDGE_PREFIX):
            judges += 1
            out[m] = f"J{judges}"
        else:
            out[m] = _letters(plain)
            plain += 1
    return out


def _letters(k: int) -> str:
    return chr(ord("A") + k) if k < 26 else _letters(k // 26 - 1) + chr(ord("A") + k % 26)


def metric_label(name: str, labels: dict[str, str]) -> str:
    """A judge score's name with its judge's label (judge:J1:accuracy) when labels are in use."""
    if name.startswith(JUDGE_PREFIX):
        for model, label in labels.items():
            judge = model if model.startswith(JUDGE_PREFIX) else JUDGE_PREFIX + model
            if name.startswith(judge + ":") and label != model:
                return f"{JUDGE_PREFIX}{label}:{name[len(judge) + 1:]}"
    return name


def print_run(run) -> None:
    """The tables of a run just made, from its summary (no result file is read back)."""
    from harness.results import current

    board = current(run.board)
    print_board(board[board.task.isin(run.tasks)].to_dict("records"), wide=run.wide, everything=run.board)


def print_board(rows: list[dict], conditions=("all",), metrics=(), wide=None, everything=None) -> None:
    """One table per (task, condition): metrics down, models across, value [95% CI].
    `everything`: the whole leaderboard, when `rows` are its latest versions (the note under
    each table says which version it shows and how many older ones there are)."""
    from rich.console import Console
    from rich.table import Table

    from harness.score import registry

    console = Console(width=max(WIDTH, Console().width) if Console().is_terminal else WIDTH)
    keys = sorted({(r["task"], r["condition"]) for r in rows if r["condition"] in conditions})
    for task, cond in keys:
        sel = [r for r in rows if r["task"] == task and r["condition"] == cond and (not metrics or r["metric"] in metrics)]
        names = list(dict.fromkeys(r["metric"] for r in sel))
        models = list(dict.fromkeys(r["model"] for r in sel))
        cell = {(r["model"], r["metric"]): r for r in sel}
        labels = column_labels(models, max(len(n) for n in ["n (errors)", *names]), console.width)
        shown = {n: metric_label(n, labels) for n in names}
        table = Table(title=f"{task} · {cond}", title_justify="left")
        table.add_column("metric", no_wrap=True)
        for model in models:
            table.add_column(labels[model], justify="right")
        first = {m: next(r for r in sel if r["model"] == m) for m in models}
        table.add_row("n (errors)", *[f"{first[m]['n']} ({first[m]['n_errors']})" for m in models])
        ranks = {}
        if wide is not None and len(wide):
            w = wide[(wide.task == task) & (wide.condition == cond)].set_index("model")
            ranks = {(m, c[5:]): w.loc[m, c] for m in models if m in w.index
                     for c in w.columns if c.startswith("rank_") and not c.endswith(("_best", "_worst"))
                     and isinstance(w.loc[m, c], str) and w.loc[m, c]}
        for name in names:
            fmt = registry.metric(name).fmt
            table.add_row(shown[name], *[(_fmt(cell[m, name]["value"], cell[m, name]["ci_low"], cell[m, name]["ci_high"], fmt)
                                          + (f"  #{ranks[m, name]}" if (m, name) in ranks else ""))
                                         if (m, name) in cell else "–" for m in models])
        console.print(table)
        if any(labels[m] != m for m in models):
            console.print("  " + "; ".join(f"{labels[m]} = {m}" for m in models), soft_wrap=True,
                          highlight=False, markup=False)
        note = sample_note(sel, models)
        if note:
            console.print(note, soft_wrap=True, highlight=False, markup=False)
        if everything is not None:
            import pandas as pd

            from harness.results import version_note

            note = version_note(pd.DataFrame(sel), everything[everything.task == task])
            if note:
                console.print(note, soft_wrap=True, highlight=False, markup=False)


def sample_note(rows: list[dict], models: list[str]) -> str:
    """Says which models of one table were run on different item samples (a `--limit` run
    beside a full one): their rows are not comparable and no test or rank joins them."""
    sets: dict[str, tuple[str, object]] = {}
    for r in rows:
        item_set = r.get("item_set")
        if r["model"] in models and isinstance(item_set, str) and item_set and r["model"] not in sets:
            sets[r["model"]] = (item_set, r.get("n"))
    if len({s for s, _ in sets.values()}) < 2:
        return ""
    groups: dict[str, list[str]] = {}
    for m in models:
        if m in sets:
            groups.setdefault(sets[m][0], []).append(m)
    parts = [f"{', '.join(ms)} (items {key}, n={sets[ms[0]][1]})" for key, ms in groups.items()]
    return "note: models were run on different samples and are not compared: " + "; ".join(parts)


def print_board_file(path: Path, tasks=(), conditions=("all",), metrics=()) -> None:
    import pandas as pd

    if not path.exists():
        raise UserError(f"{path}: no leaderboard yet; run `make eval` first")
    from harness.results import current, read

    everything = read(path)
    df = current(everything)
    if tasks:
        df = df[df["task"].isin(tasks)]
    if df.empty:
        raise UserError(f"{path}: no rows for task(s) {', '.join(tasks)}")
    for option, asked, column in (("--condition", conditions, "condition"), ("--metric", metrics, "metric")):
        unknown = [x for x in asked if x not in set(df[column])]
        if unknown:  # an empty table would read as "no results"; name what there is instead
            known = sorted(set(df[column]))
            raise UserError(f"{path}: {option} {unknown[0]!r}: no such {column} in these rows "
                            f"(there are: {', '.join(known[:30])}{', …' if len(known) > 30 else ''})")
    wide_path = path.parent / "leaderboard_wide.csv"
    wide = pd.read_csv(wide_path, keep_default_na=False, dtype=str) if wide_path.exists() else None
    print_board(df.to_dict("records"), conditions, metrics, wide, everything)


def print_history(path: Path, model: str) -> None:
    """Every version of one model on the leaderboard (prompt hash, sample, run) with its `all`
    scores; the latest, shown by default, is marked."""
    from rich.console import Console
    from rich.table import Table

    from harness.results import read, versions

    if not path.exists():
        raise UserError(f"{path}: no leaderboard yet; run `make eval` first")
    board = read(path)
    found = versions(board, model)
    if found.empty:
        known = ", ".join(sorted(m for m in set(board.model) if not m.startswith(JUDGE_PREFIX))) or "none"
        raise UserError(f"{path}: no rows for model {model!r} (models: {known})")
    fixed = ["task", "prompt_hash", "sample", "run_id", "created_at", "n", "latest"]
    scores = [c for c in found.columns if c not in fixed and c != "model"]
    table = Table(title=f"{model}: every version in {path}", title_justify="left")
    for c in fixed + scores:
        table.add_column(c, justify="right" if c in scores or c == "n" else "left")
    for r in found.to_dict("records"):
        table.add_row(*[("yes" if r[c] else "") if c == "latest" else str(r[c]) for c in fixed],
                      *[_fmt(r.get(c), None, None) for c in scores])
    Console(width=max(120, 14 * len(fixed + scores))).print(table)


META_COLUMNS = [("system", "without_human", "pearson", "sys r"),
                ("system", "without_human", "kendall", "sys τ"),
                ("system", "with_human", "pearson", "sys r +human"),
                ("system", "with_human", "kendall", "sys τ +human"),
                ("segment", "pooled", "kendall", "seg τ pooled"),
                ("segment", "item_avg", "kendall", "seg τ per item")]
META_DROP_ORDER = ("sys τ +human", "sys r +human", "seg τ per item", "seg τ pooled", "sys τ")  # least needed first


def print_meta(rows: list[dict], console=None) -> None:
    """The meta-evaluation correlations, one row per (reference, metric). Numbers are never
    cut: names wrap, and where even that does not fit the terminal (a pipe counts as 80
    columns), whole columns are left out and named below the table (the CSV has them all)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    cell = {(r["reference"], r["metric"], r["level"], r["variant"], r["statistic"]): r for r in rows}
    keys = list(dict.fromkeys((r["reference"], r["metric"]) for r in rows))
    shown = list(META_COLUMNS)

    def fmt(r) -> str:
        v = float("nan") if r is None else r["value"]
        return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:+.3f}"

    def overhead(n_numbers: int) -> int:  # a space each side of every column, a separator between, the edges
        return 3 * (2 + n_numbers) + 1

    def build(metric_width: int) -> Table:
        table = Table(title="correlation with −MQM (13 MT systems; +human: with the other human translation)",
                      title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("ref", width=5, overflow="fold")
        table.add_column("metric", width=metric_width, overflow="fold")
        for col in shown:  # fixed width 6: "+0.123" exactly fits; the header wraps
            table.add_column(col[3], justify="right", width=6, overflow="fold")
        for ref, metric in keys:
            table.add_row(ref, metric, *(fmt(cell.get((ref, metric, *c[:3]))) for c in shown))
        return table

    longest = max([len(m) for _, m in keys] + [6])
    dropped = []
    # the metric name folds down to 14 characters; below that, whole columns go
    while shown and 5 + 14 + 6 * len(shown) + overhead(len(shown)) > console.width and len(dropped) < len(META_DROP_ORDER):
        name = META_DROP_ORDER[len(dropped)]
        shown = [c for c in shown if c[3] != name]
        dropped.append(name)
    room = console.width - 5 - 6 * len(shown) - overhead(len(shown))
    table = build(max(6, min(longest, room)))
    console.print(table)
    notes = list(dict.fromkeys(f"{r['reference']} {r['metric']}: {r['note']}" for r in rows
                               if isinstance(r.get("note"), str) and r["note"]))
    for note in notes:
        console.print(f"– undefined: {note}", soft_wrap=True, highlight=False, markup=False)
    if dropped:
        console.print(f"left out at this width ({console.width} columns): {', '.join(reversed(dropped))}; "
                      "all columns are in the CSV", soft_wrap=True, highlight=False, markup=False)
