"""Which run holds each (model, task)'s current outputs: `cache/run-index.json`, kept up to
date by every run, so that a refresh reads the runs that changed instead of every items.csv
ever written. Per (model, task) and prompt it records the run on the most items (the items
asked and answered, a digest of the outputs), and which prompt ran last: the current version
is that prompt's entry, as in the leaderboard. With the per-item statistics cached under the
digest, a model that did not run again is compared without opening its items.csv at all.

The index is a cache of runs/: a run folder it does not know is read and added; a run folder
removed, or an index that does not parse, rebuilds it from every items.csv."""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.core import UserError, atomic_write_text, locked, schema

log = logging.getLogger(__name__)

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


class Index:
    """Per (model, task): for each prompt it ran with, the run on the most items (the latest
    of equal ones), and the prompt of its latest run. Its current version is that prompt's
    entry: the leaderboard's rule, so that going back to an older prompt with a `--limit`
    check still finds that prompt's full run."""

    def __init__(self):
        self.versions: dict[tuple[str, str], dict[str, Latest]] = {}
        self.last: dict[tuple[str, str], tuple[str, str]] = {}  # (run id, prompt hash) of the latest run

    def keep(self, key: tuple[str, str], new: Latest) -> None:
        mine = self.versions.setdefault(key, {})
        old = mine.get(new.prompt_hash)
        if old is None or (len(new.asked), new.run_id) > (len(old.asked), old.run_id):
            mine[new.prompt_hash] = new

    def add(self, run_id: str, frame) -> None:
        for (model, task), rows in frame.groupby(["model", "task"], sort=False):
            new = latest_of(run_id, rows)
            self.keep((model, task), new)
            self.last[(model, task)] = max(self.last.get((model, task), ("", "")), (run_id, new.prompt_hash))

    def current(self) -> dict[tuple[str, str], Latest]:
        return {key: self.versions[key][ph] for key, (_, ph) in self.last.items()}


def _entry(e: Latest) -> dict:
    return {"run_id": e.run_id, "prompt_hash": e.prompt_hash, "asked": list(e.asked), "answered": list(e.answered),
            "digest": e.digest}


def _load(results: Path) -> tuple[list[str], Index] | None:
    try:
        data = json.loads(_index_path(results).read_text(encoding="utf-8"))
        index = Index()
        for e in data["versions"]:
            index.keep((e["model"], e["task"]), Latest(e["run_id"], e["prompt_hash"], tuple(e["asked"]),
                                                       tuple(e["answered"]), e["digest"]))
        for e in data["last"]:
            index.last[(e["model"], e["task"])] = (e["run_id"], e["prompt_hash"])
        index.current()  # every latest prompt has its entry, or the file is damaged
        return list(data["runs"]), index
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: rebuilt from runs/


def _save(results: Path, runs, index: Index) -> None:
    """Best effort: the index is a cache, so a folder that cannot be written (a read-only
    cache shared by a team) only costs the next refresh a scan of runs/."""
    versions = [{"model": m, "task": t, **_entry(e)} for (m, t), per in sorted(index.versions.items())
                for _, e in sorted(per.items())]
    last = [{"model": m, "task": t, "run_id": r, "prompt_hash": ph} for (m, t), (r, ph) in sorted(index.last.items())]
    try:
        atomic_write_text(_index_path(results), json.dumps({"runs": sorted(runs), "versions": versions,
                                                            "last": last}))
    except (OSError, UserError) as exc:  # not written: the next refresh scans runs/ again
        log.debug("run index not saved (%s): %s", _index_path(results), exc)


@contextmanager
def _index_lock(results: Path):
    """The index's lock, or none when its folder cannot be written (then nothing is saved)."""
    with ExitStack() as stack:
        try:
            _index_path(results).parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(locked(_index_path(results)))
        except OSError as exc:  # a read-only cache folder: read the index, save nothing
            log.debug("run index not locked (%s): %s", _index_path(results), exc)
        yield


def record(results: Path, run_id: str, frame) -> None:
    """After a run wrote runs/<run_id>/items.csv (`frame`, its rows): index them."""
    frame = as_read(frame)
    with _index_lock(results):
        loaded = _load(results)
        if loaded is None:
            _rebuild(results)
            return
        runs, index = loaded
        index.add(run_id, frame)
        _save(results, {*runs, run_id}, index)


def _rebuild(results: Path, frames: dict | None = None) -> tuple[list[str], Index]:
    runs, index = [], Index()
    for path in sorted((results / "runs").glob("*/items.csv")):
        index.add(path.parent.name, _read(path, frames))
        runs.append(path.parent.name)
    if runs:
        _save(results, runs, index)
    return runs, index


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
        return loaded[1].current()
    with _index_lock(results):
        loaded = _load(results)
        if loaded is None or not set(loaded[0]) <= set(present):  # damaged, or a run folder removed
            return _rebuild(results, frames)[1].current()
        runs, index = loaded
        for run_id in sorted(set(present) - set(runs)):
            index.add(run_id, _read(results / "runs" / run_id / "items.csv", frames))
        _save(results, present, index)
        return index.current()


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
