"""Which run holds each (model, task)'s latest outputs: `cache/run-index.json`, kept up to date
by every run, so that a refresh reads the runs that changed instead of every items.csv ever
written. Per (model, task) it records the run, the prompt hash, the items asked and answered
and a digest of the outputs: with the per-item statistics cached under that digest, a model
that did not run again is compared without opening its items.csv at all.

The index is a cache of runs/: a run folder it does not know is read and added; a run folder
removed, or an index that does not parse, rebuilds it from every items.csv."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.core import UserError, atomic_write_text, locked, schema

# items.csv columns read as text whatever they hold ("000" stays "000")
TEXT = ("item_id", "output", "error", "prompt_hash", "run_id", "block")


@dataclass(frozen=True)
class Latest:
    """One (model, task)'s latest outputs, as the index records them."""

    run_id: str
    prompt_hash: str
    asked: tuple[str, ...]  # every item asked, in the order asked
    answered: tuple[str, ...]  # those with an output
    digest: str  # of (item, error or not, output) over every row asked


def outputs_digest(item_ids, outputs, errors) -> str:
    h = hashlib.sha1()
    for i, o, e in zip(item_ids, outputs, errors):
        h.update(f"\x1e{i}\x1f{bool(e)}\x1f{o if not e else ''}".encode())
    return h.hexdigest()[:20]


def latest_of(run_id: str, rows) -> Latest:
    """The index entry of one (model, task)'s rows (a DataFrame of items.csv's columns) in
    the run folder `run_id`."""
    ids, outs, errs = list(rows["item_id"]), list(rows["output"]), list(rows["error"])
    first = lambda col: str(rows[col].iloc[0]) if col in rows and len(rows) else ""  # noqa: E731
    return Latest(run_id, first("prompt_hash"), tuple(ids), tuple(i for i, e in zip(ids, errs) if not e),
                  outputs_digest(ids, outs, errs))


def as_read(frame):
    """In-memory item rows as read_items would return them from the file written of them."""
    return frame.assign(**{c: frame[c].fillna("").astype(str) for c in TEXT if c in frame})


def read_items(path: Path):
    import pandas as pd

    return pd.read_csv(path, keep_default_na=False, dtype={c: str for c in TEXT})


def _index_path(results: Path) -> Path:
    return results / schema.RUN_INDEX


def _load(results: Path) -> tuple[list[str], dict[tuple[str, str], Latest]] | None:
    try:
        data = json.loads(_index_path(results).read_text(encoding="utf-8"))
        entries = {(e["model"], e["task"]): Latest(e["run_id"], e["prompt_hash"], tuple(e["asked"]),
                                                  tuple(e["answered"]), e["digest"]) for e in data["latest"]}
        return list(data["runs"]), entries
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: rebuilt from runs/


def _save(results: Path, runs, entries: dict[tuple[str, str], Latest]) -> None:
    """Best effort: the index is a cache, so a folder that cannot be written (a read-only
    cache shared by a team) only costs the next refresh a scan of runs/."""
    latest = [{"model": m, "task": t, "run_id": e.run_id, "prompt_hash": e.prompt_hash, "asked": list(e.asked),
               "answered": list(e.answered), "digest": e.digest} for (m, t), e in sorted(entries.items())]
    try:
        atomic_write_text(_index_path(results), json.dumps({"runs": sorted(runs), "latest": latest}))
    except (OSError, UserError):
        pass


@contextmanager
def _index_lock(results: Path):
    """The index's lock, or none when its folder cannot be written (then nothing is saved)."""
    try:
        _index_path(results).parent.mkdir(parents=True, exist_ok=True)
        lock = locked(_index_path(results))
        lock.__enter__()
    except OSError:
        yield
        return
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _add(entries: dict, run_id: str, frame) -> None:
    """The (model, task)s of one run's rows become latest unless a later run has them, or
    an earlier run of the same prompt asked more items (a `--limit` check after a full run
    never hides the full run, as in the leaderboard's current version)."""
    for (model, task), rows in frame.groupby(["model", "task"], sort=False):
        old, new = entries.get((model, task)), latest_of(run_id, rows)
        if old is None:
            entries[(model, task)] = new
            continue
        first, second = (old, new) if old.run_id <= run_id else (new, old)  # in the order they ran
        smaller = second.prompt_hash == first.prompt_hash and len(second.asked) < len(first.asked)
        entries[(model, task)] = first if smaller else second


def record(results: Path, run_id: str, frame) -> None:
    """After a run wrote runs/<run_id>/items.csv (`frame`, its rows): index them."""
    frame = as_read(frame)
    with _index_lock(results):
        loaded = _load(results)
        if loaded is None:
            _rebuild(results)
            return
        runs, entries = loaded
        _add(entries, run_id, frame)
        _save(results, {*runs, run_id}, entries)


def _rebuild(results: Path, frames: dict | None = None) -> tuple[list[str], dict[tuple[str, str], Latest]]:
    runs, entries = [], {}
    for path in sorted((results / "runs").glob("*/items.csv")):
        _add(entries, path.parent.name, _read(path, frames))
        runs.append(path.parent.name)
    if runs:
        _save(results, runs, entries)
    return runs, entries


def _read(path: Path, frames: dict | None):
    frame = read_items(path)
    if frames is not None:
        frames[path.parent.name] = frame
    return frame


def latest_runs(results: Path, frames: dict | None = None) -> dict[tuple[str, str], Latest]:
    """(model, task) -> its latest outputs' entry, the index brought up to date with runs/
    (reading only the run folders it did not know). `frames`: run id -> items.csv, filled
    with the files read, so that a caller needing them reads none twice."""
    present = sorted(p.parent.name for p in (results / "runs").glob("*/items.csv"))
    loaded = _load(results)
    if loaded is not None and set(loaded[0]) == set(present):
        return loaded[1]
    with _index_lock(results):
        loaded = _load(results)
        if loaded is None or not set(loaded[0]) <= set(present):  # damaged, or a run folder removed
            return _rebuild(results, frames)[1]
        runs, entries = loaded
        for run_id in sorted(set(present) - set(runs)):
            _add(entries, run_id, _read(results / "runs" / run_id / "items.csv", frames))
        _save(results, present, entries)
        return entries


def latest_outputs(results: Path) -> dict[tuple[str, str], "pd.DataFrame"]:  # noqa: F821
    """(model, task) -> the item rows of the latest run that evaluated it; each run's
    items.csv is read once, superseded runs not at all."""
    frames: dict = {}
    entries = latest_runs(results, frames)
    by_run: dict[str, list[tuple[str, str]]] = {}
    for key, e in entries.items():
        by_run.setdefault(e.run_id, []).append(key)
    out = {}
    for run_id, keys in sorted(by_run.items()):
        frame = frames[run_id] if run_id in frames else read_items(results / "runs" / run_id / "items.csv")
        for (model, task), rows in frame.groupby(["model", "task"], sort=False):
            if (model, task) in keys:
                out[(model, task)] = rows
    return out
