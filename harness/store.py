"""The persistent response cache (one SQLite file in WAL mode).

Only successful answers are stored; errors are never cached, so a re-run asks again for
exactly what is missing. Every answer is committed as it arrives: a run killed at any
point loses nothing it already received. Keys hash the model name, the rendered messages
and every generation setting; secrets are never part of a key or a stored row.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
  key TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  request TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at REAL NOT NULL
);
"""


def request_key(model: str, messages: list[dict], settings: dict) -> str:
    blob = json.dumps({"model": model, "messages": messages, "settings": settings},
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def get(self, key: str) -> dict | None:
        row = self.db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for key, resp in self.db.execute(f"SELECT key, response FROM responses WHERE key IN ({marks})", chunk):
                found[key] = json.loads(resp)
        return found

    def put(self, key: str, model: str, request: dict, response: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO responses (key, model, request, response, created_at) VALUES (?, ?, ?, ?, ?)",
            (key, model, json.dumps(request, ensure_ascii=False), json.dumps(response, ensure_ascii=False), time.time()))

    def close(self) -> None:
        self.db.close()
