"""The fixed, condition-balanced sample `--limit N` takes from a task."""

from __future__ import annotations

import hashlib

from harness.task._spec import Item


def _order_key(item_id: str) -> str:
    return hashlib.sha1(item_id.encode("utf-8")).hexdigest()


def sample(items: list[Item], limit: int | None) -> list[Item]:
    """A fixed sample: conditions in turn, items within a condition by the hash of their id."""
    if not limit or limit >= len(items):
        return items
    by_cond: dict[str, list[Item]] = {}
    for it in sorted(items, key=lambda i: _order_key(i.id)):
        by_cond.setdefault(it.condition, []).append(it)
    picked: list[Item] = []
    pools = [by_cond[c] for c in sorted(by_cond)]
    while len(picked) < limit:
        for pool in pools:
            if pool and len(picked) < limit:
                picked.append(pool.pop(0))
    chosen = {i.id for i in picked}
    return [i for i in items if i.id in chosen]
