"""Typed loaders of the result files, for analysis in pandas (as inspect_ai's `evals_df` and
`samples_df` are for its logs): each returns a DataFrame whose columns always have the same
dtypes, whatever the rows hold.

- text columns are `str`, never NaN: an empty cell is "" (`block` "000" stays "000", an
  `error` column without errors is all "");
- scores, CIs, costs and latencies are float64 (NaN where empty);
- counts and ranks are pandas' nullable Int64; flags are nullable boolean;
- `created_at` is a UTC timestamp.

Every function reads the results folder: `results` if given, else `HARNESS_RESULTS`, else
`results/`. A file that does not exist yet raises FileNotFoundError naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.core import results_dir, schema
from harness.score import JUDGE_PREFIX

_TEXT, _FLOAT, _INT, _BOOL, _TIME = schema.TEXT, schema.FLOAT, schema.INT, schema.BOOL, schema.TIME


def _folder(results) -> Path:
    return Path(results) if results is not None else results_dir()


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path}: not written yet (run `harness eval` first)")
    return pd.read_csv(path, dtype=str, keep_default_na=False)  # every cell as written; typed below


def _file(results, file: schema.FileSchema) -> pd.DataFrame:
    """A file with one fixed set of columns, typed by its schema."""
    return _typed(_read(_folder(results) / file.path), file.dtypes, columns=file.columns)


def _typed(df: pd.DataFrame, dtypes: dict[str, str], default: str = _TEXT, columns=()) -> pd.DataFrame:
    """Cast every column: those named in `dtypes` to their type, the rest to `default`.
    `columns`: the current schema's columns, added empty when an older file lacks them."""
    df = df.assign(**{c: "" for c in columns if c not in df})
    out = {}
    for col in df.columns:
        kind = dtypes.get(col, default)
        out[col] = _cast(df[col], kind)
    return pd.DataFrame(out, index=df.index)


def _cast(col: pd.Series, kind: str) -> pd.Series:
    text = col.fillna("").astype(str)
    if kind == _TEXT:
        return text.astype(object)
    if kind == _FLOAT:
        return pd.to_numeric(text.replace("", None), errors="coerce").astype("float64")
    if kind == _INT:
        return pd.to_numeric(text.replace("", None), errors="coerce").round().astype("Int64")
    if kind == _BOOL:
        flags = text.str.lower().map({"true": True, "false": False, "1": True, "0": False})
        return flags.astype("boolean")
    if kind == _TIME:
        return pd.to_datetime(text.replace("", None), utc=True, errors="coerce")
    raise ValueError(kind)


def leaderboard(results=None, *, all_versions: bool = False) -> pd.DataFrame:
    """results/leaderboard.csv, one row per (model, task, condition, metric, prompt_hash,
    item_set). By default each (model, task)'s latest version only (as the tables show it);
    `all_versions=True` returns every row of the file."""
    from harness.results._leaderboard import current

    df = _file(results, schema.LEADERBOARD)
    return df if all_versions else current(df)


def history(model: str | None = None, results=None) -> pd.DataFrame:
    """Every version (prompt_hash, sample) of each model, or of one, with its `all` scores as
    columns and `latest` marking the version shown by default (`harness leaderboard --history`)."""
    from harness.results._leaderboard import versions

    out = versions(leaderboard(results, all_versions=True), model)
    fixed = {"model": _TEXT, "task": _TEXT, "prompt_hash": _TEXT, "sample": _TEXT, "run_id": _TEXT,
             "created_at": _TIME, "n": _INT, "latest": _BOOL}
    return _typed(out.astype(object), fixed, _FLOAT)


def wide(results=None) -> pd.DataFrame:
    """results/leaderboard_wide.csv: one row per (task, condition, model) of the latest
    versions; per metric the value, `<metric>_ci_low`, `<metric>_ci_high`, `<metric>_n`, and
    where ranked `rank_<metric>` (display, "1–2"), `rank_<metric>_best`, `rank_<metric>_worst`."""
    df = _read(_folder(results) / schema.WIDE.path)
    dtypes = {}
    for col in df.columns:
        if col in schema.WIDE.columns:
            dtypes[col] = schema.WIDE.dtype(col)
        elif col.startswith("rank_"):
            dtypes[col] = _INT if col.endswith(("_best", "_worst")) else _TEXT
        elif col.endswith("_n") and col[:-2] in df.columns:
            dtypes[col] = _INT
        else:
            dtypes[col] = _FLOAT
    return _typed(df, dtypes)


def pairwise(results=None, *, both_directions: bool = False, judge: bool = True) -> pd.DataFrame:
    """results/pairwise.csv: one row per (task, condition, metric, model pair), stored once
    with model_a < model_b. `both_directions=True` adds each row seen from the other side
    (a and b swapped, diff and its CI negated; `mirrored` is True on those), so filtering on
    `model_a == M` finds every comparison of M. `judge=False` leaves out the judges' verdicts."""
    df = _file(results, schema.PAIRWISE)
    if not judge:
        df = df[~df.metric.str.startswith(JUDGE_PREFIX)]
    if not both_directions:
        return df.reset_index(drop=True)
    return _both_directions(df)


def judge_pairwise(results=None, *, both_directions: bool = False) -> pd.DataFrame:
    """results/judge_pairwise.csv: the judges' both-order verdicts (the same columns as
    pairwise.csv; `value_a`/`value_b` are win rates in %, ties are the rest)."""
    df = _file(results, schema.JUDGE_PAIRWISE)
    return _both_directions(df) if both_directions else df


def _both_directions(df: pd.DataFrame) -> pd.DataFrame:
    flipped = df.copy()
    for a, b in (("model_a", "model_b"), ("value_a", "value_b"), ("prompt_hash_a", "prompt_hash_b"),
                 ("item_set_a", "item_set_b"), ("run_id_a", "run_id_b")):
        if a in df and b in df:
            flipped[a], flipped[b] = df[b], df[a]
    flipped["diff"] = -df["diff"]
    flipped["diff_ci_low"], flipped["diff_ci_high"] = -df["diff_ci_high"], -df["diff_ci_low"]
    out = pd.concat([df.assign(mirrored=False), flipped.assign(mirrored=True)], ignore_index=True)
    out["mirrored"] = out["mirrored"].astype("boolean")
    return out


def items(results=None, *, run: str | None = None, latest: bool = True) -> pd.DataFrame:
    """Per-item rows of results/runs/*/items.csv: output beside source, reference(s),
    ref_key, every tag, prompt hash and the `score_<metric>` of every metric (float64).
    Default: each (model, task)'s current version (its latest prompt on the largest sample),
    the outputs the leaderboard's default views and the pairwise tests were scored on;
    `latest=False`: every run; `run="<run id>"`: that run only.
    `references` is a list of str (every reference of the item)."""
    runs = _folder(results) / "runs"
    paths = sorted(runs.glob("*/items.csv"))
    if run is not None:
        paths = [p for p in paths if p.parent.name == run]
        if not paths:
            raise FileNotFoundError(f"{runs / run / 'items.csv'}: no such run")
    if not paths:
        raise FileNotFoundError(f"{runs}: no run yet (run `harness eval` first)")
    frames = []
    if latest and run is None:  # each (model, task) from the run of its current version (run index)
        from harness.results._runs import latest_runs

        shown = latest_runs(_folder(results))
        wanted = {e.run_id for e in shown.values()}
        for path in paths:
            if path.parent.name in wanted:
                df = _read(path)
                frames.append(df[[shown.get((m, t)) is not None and shown[(m, t)].run_id == path.parent.name
                                  for m, t in zip(df.model, df.task)]])
    else:
        frames = [_read(path) for path in paths]
    df = pd.concat(frames, ignore_index=True).fillna("")
    dtypes = {**schema.ITEMS.dtypes, **{c: _FLOAT for c in df.columns if c.startswith("score_")}}
    out = _typed(df, dtypes, columns=schema.ITEMS.columns)
    if "references" in out:
        out["references"] = [json.loads(r) if r else [] for r in out["references"]]
    return out
