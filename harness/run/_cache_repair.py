"""`harness cache check|recover|clear`: look after a damaged or stale response cache.

`recover` never deletes anything: it copies every row that can still be read (and whose
answer is valid JSON) into a new file, then moves the damaged file (and its -wal/-shm
files) aside as `<name>.corrupt-<timestamp>` and puts the new file in its place.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from harness.core import UserError
from harness.run._store import SCHEMA, Store

log = logging.getLogger(__name__)
FIELDS = "key, model, request, response, created_at"


def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect("file:" + quote(str(path.resolve())) + "?mode=ro", uri=True, isolation_level=None)


def check(path: Path) -> tuple[bool, list[str], int | None]:
    """(healthy, problems, answers): SQLite's integrity_check plus a full read of every row."""
    if not path.is_file():
        raise UserError(f"{path}: no response cache there (nothing to check)")
    try:
        db = _connect_ro(path)
    except sqlite3.Error as exc:
        return False, [f"cannot open ({exc})"], None
    problems: list[str] = []
    try:
        problems += [r[0] for r in db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        n, bad_json = 0, 0
        for (resp,) in db.execute("SELECT response FROM responses"):
            n += 1
            bad_json += not _valid(resp)
        if bad_json:
            problems.append(f"{bad_json} stored answer(s) are not valid JSON")
        return not problems, problems, n
    except sqlite3.Error as exc:
        return False, [*problems, f"cannot read ({exc})"], None
    finally:
        db.close()


def _valid(resp) -> bool:
    try:
        return isinstance(json.loads(resp), dict)
    except (TypeError, ValueError):
        return False


def _salvage(path: Path) -> tuple[list[tuple], list[str]]:
    """Every readable row: a scan in rowid order until it fails, the same backwards, and
    a look-up of each rowid in between (a damaged page costs only the rows on it)."""
    rows: dict[int, tuple] = {}
    notes: list[str] = []
    try:
        db = _connect_ro(path)
        # a cut-short file fails SQLite's schema check (a root page past the end); reading
        # the schema as it is still reaches every table page that survived
        db.execute("PRAGMA writable_schema=ON")
    except sqlite3.Error as exc:
        return [], [f"cannot open ({exc})"]
    try:
        for order in ("ASC", "DESC"):
            try:
                for r in db.execute(f"SELECT rowid, {FIELDS} FROM responses ORDER BY rowid {order}"):
                    rows[r[0]] = r[1:]
            except sqlite3.Error as exc:
                notes.append(f"scan {order.lower()} stopped ({exc})")
        if notes and rows:
            low, high = min(rows), max(rows)
            unreadable = 0
            for rowid in range(low + 1, high):
                if rowid in rows:
                    continue
                try:
                    r = db.execute(f"SELECT {FIELDS} FROM responses WHERE rowid = ?", (rowid,)).fetchone()
                except sqlite3.Error:  # this row's page is damaged
                    unreadable += 1
                    continue
                if r is not None:
                    rows[rowid] = r
            if unreadable:
                notes.append(f"{unreadable} row id(s) between the two scans unreadable")
    finally:
        db.close()
    good = [r for _, r in sorted(rows.items()) if isinstance(r[0], str) and _valid(r[3])]
    if len(good) < len(rows):
        notes.append(f"{len(rows) - len(good)} row(s) with an unreadable answer left out")
    return good, notes


def recover(path: Path) -> tuple[int, Path, list[str]]:
    """Salvage `path` into a fresh file at `path`; the old one is kept beside it."""
    if not path.is_file():
        raise UserError(f"{path}: no response cache there (nothing to recover)")
    rows, notes = _salvage(path)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    fresh = path.with_name(f".{path.name}.recovering-{stamp}")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        db = sqlite3.connect(fresh, isolation_level=None)
        try:
            db.executescript(SCHEMA)
            db.execute("BEGIN")
            db.executemany(f"INSERT OR REPLACE INTO responses ({FIELDS}) VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        finally:
            db.close()
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            extra = Path(str(path) + suffix)
            if extra.exists():
                os.replace(extra, Path(str(aside) + suffix))
        os.replace(fresh, path)
    except (OSError, sqlite3.Error) as exc:
        if fresh.exists() and path.exists():
            fresh.unlink()  # the original is still in place: nothing else was moved
        raise UserError(f"{path}: cannot write the recovered cache beside it ({exc}); make its folder "
                        "writable and run `harness cache recover` again") from None
    Store(path).close()  # bring the new file to the current layout (WAL, extra columns)
    return len(rows), aside, notes


def clear(store: Store, model: str, task_keys: set[str] | None, task: str | None) -> int:
    """Delete `model`'s answers (for one task: rows recorded with that task, and older rows
    without a task whose key is one the task asks today)."""
    if task is None:
        return store.delete("model = ?", (model,))
    n = store.delete("model = ? AND task = ?", (model, task))
    keys = sorted(task_keys or ())
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        n += store.delete(f"model = ? AND task IS NULL AND key IN ({','.join('?' * len(chunk))})", (model, *chunk))
    return n
