"""The persistent response cache (one SQLite file in WAL mode).

Only successful answers are stored; errors are never cached, so a re-run asks again for
exactly what is missing. A reply its reader cannot use (a judge reply that does not parse)
is moved by `reject` to the `rejected` table: kept there for inspection, never served as an
answer, so a re-run (or `--retry-errors`) asks again. Every answer is committed as it arrives: a run killed at any
point loses nothing it already received. Keys hash the model name, what answered it (the
endpoint, or the local model file's hash; see `harness.model._providers.identity`), the rendered
messages and every generation setting; secrets are never part of a key or a stored row.

Every process opens the store through `Store(path)`: a damaged, unreadable or misplaced
file is one `error:` line naming the file and the fix (exit 2), never a traceback and never
silently replaced; a read-only file still serves answers (opened with `mode=ro`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from harness.core import UserError

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
  key TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  request TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
  key TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  request TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at REAL NOT NULL,
  task TEXT,
  endpoint TEXT,
  reason TEXT NOT NULL,
  rejected_at REAL NOT NULL
);
"""
# added later (older files are migrated on open): which task asked, and what answered
EXTRA_COLUMNS = {"task": "TEXT", "endpoint": "TEXT"}
COLUMNS = ["key", "model", "request", "response", "created_at", *EXTRA_COLUMNS]


def request_key(model: str, messages: list[dict], settings: dict, identity: str = "") -> str:
    """`identity` names what answers (`harness.model._providers.identity`); empty for the provider's
    default endpoint, which keeps the keys of caches written before it existed."""
    body = {"model": model, "messages": messages, "settings": settings}
    if identity:
        body["identity"] = identity
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class StoreError(UserError):
    """The response cache cannot be used as it is: one line, exit 2."""


def repair_hint(path: Path) -> str:
    return (f"run `harness cache check` to see what is wrong and `harness cache recover` to keep every "
            f"readable answer (or set HARNESS_STORE to another file); {path.name} is left as it is")


class Store:
    def __init__(self, path: Path, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        _check_kind(self.path)
        if not readonly and self.path.exists() and not _writable(self.path):
            self.readonly = True
        if self.readonly:
            self.db = _open_readonly(self.path)
        else:
            try:
                self.db = _open_readwrite(self.path)
            except StoreError as exc:
                if "readonly" not in str(exc) and "read-only" not in str(exc):
                    raise
                self.readonly = True
                self.db = _open_readonly(self.path)

    @contextmanager
    def _guard(self, what: str):
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot {what} the response cache ({exc}); {repair_hint(self.path)}") \
                from None

    def get(self, key: str) -> dict | None:
        with self._guard("read"):
            row = self.db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return self._decode(key, row[0]) if row else None

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        with self._guard("read"):
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for key, resp in self.db.execute(f"SELECT key, response FROM responses WHERE key IN ({marks})",
                                                 chunk):
                    found[key] = self._decode(key, resp)
        return found

    def present(self, keys: list[str]) -> set[str]:
        """Which of `keys` have a stored answer (no answer is read or decoded)."""
        found: set[str] = set()
        with self._guard("read"):
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(f"SELECT key FROM responses WHERE key IN ({marks})", chunk)
                found.update(k for (k,) in rows)
        return found

    def _decode(self, key: str, text: str) -> dict:
        try:
            return json.loads(text)
        except (TypeError, ValueError):
            raise StoreError(f"{self.path}: the stored answer {key[:12]}… is not valid JSON; "
                             f"{repair_hint(self.path)}") from None

    def put(self, key: str, model: str, request: dict, response: dict, task: str | None = None,
            endpoint: str | None = None) -> None:
        if self.readonly:
            raise StoreError(f"{self.path}: read-only, cannot store a new answer; make it writable "
                             "(chmod u+w) or set HARNESS_STORE to a writable copy")
        with self._guard("write to"):
            self.db.execute(
                "INSERT OR REPLACE INTO responses (key, model, request, response, created_at, task, endpoint) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, model, json.dumps(request, ensure_ascii=False), json.dumps(response, ensure_ascii=False),
                 time.time(), task, endpoint))

    def reject(self, key: str, reason: str) -> None:
        """Move a stored reply out of the answers into `rejected` (with why): get, get_many and
        present no longer see it. A read-only file keeps it (said once in the log)."""
        if self.readonly:
            log.warning("%s: read-only, cannot set aside the unusable reply %s… (%s)", self.path, key[:12], reason)
            return
        with self._guard("write to"):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "INSERT OR REPLACE INTO rejected (key, model, request, response, created_at, task, endpoint, "
                    "reason, rejected_at) SELECT key, model, request, response, created_at, task, endpoint, ?, ? "
                    "FROM responses WHERE key = ?", (reason, time.time(), key))
                self.db.execute("DELETE FROM responses WHERE key = ?", (key,))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def rejected(self) -> list[dict]:
        """The replies set aside by `reject`, oldest first (for inspection and tests)."""
        with self._guard("read"):
            rows = self.db.execute("SELECT key, model, response, reason FROM rejected ORDER BY rejected_at").fetchall()
        return [{"key": k, "model": m, "response": self._decode(k, r), "reason": why} for k, m, r, why in rows]

    def delete(self, where: str, params: tuple) -> int:
        if self.readonly:
            raise StoreError(f"{self.path}: read-only, cannot delete answers; make it writable (chmod u+w)")
        with self._guard("write to"):
            return self.db.execute(f"DELETE FROM responses WHERE {where}", params).rowcount

    def close(self) -> None:
        self.db.close()


def _check_kind(path: Path) -> None:
    """A file where the cache folder belongs (or a folder where the file belongs) is the
    user's to move, and is never deleted for them."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            raise StoreError(f"{parent}: exists but is not a folder (the response cache {path.name} goes inside "
                             "it); move it away or set HARNESS_STORE")
    if path.is_dir():
        raise StoreError(f"{path}: is a folder where the response cache file belongs; move it away "
                         "or set HARNESS_STORE")


def _writable(path: Path) -> bool:
    # WAL mode also needs to create the -wal and -shm files beside the database
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _open_readwrite(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path.parent}: cannot create the cache folder ({exc.strerror}); "
                         "fix its permissions or set HARNESS_STORE") from None
    db = None
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        have = {r[1] for r in db.execute("PRAGMA table_info(responses)")}
        for name, kind in EXTRA_COLUMNS.items():
            if name not in have:
                try:
                    db.execute(f"ALTER TABLE responses ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise
                    log.debug("%s: column %s added by another process", path, name)
        return db
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        raise StoreError(f"{path}: cannot open the response cache ({exc}); {repair_hint(path)}") from None


def _open_readonly(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise StoreError(f"{path}: no response cache, and its folder is read-only; set HARNESS_STORE to a "
                         "writable file")
    uri = "file:" + quote(str(path.resolve()))
    last = None
    # mode=ro reads a WAL database when its -shm file exists or can be created; otherwise
    # (a read-only folder) immutable=1 reads the file as it is
    for params in ("?mode=ro", "?mode=ro&immutable=1"):
        db = None
        try:
            db = sqlite3.connect(uri + params, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("SELECT count(*) FROM responses").fetchone()
            return db
        except sqlite3.Error as exc:
            last = exc
            if db is not None:
                db.close()
    raise StoreError(f"{path}: cannot read the response cache ({last}); {repair_hint(path)}")
