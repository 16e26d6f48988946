"""Language codes and the Chinese script they imply (zh-TW → traditional)."""

from __future__ import annotations


def script_of(target: str | None) -> str | None:
    """`target_script` or a region code → simplified | traditional (None: no Chinese script)."""
    if target is None:
        return None
    key = target.lower()
    if key in ("traditional", "zh-hant", "zh-tw", "zh-hk", "zh-mo"):
        return "traditional"
    if key in ("simplified", "zh-hans", "zh-cn", "zh-sg", "zh"):
        return "simplified"
    raise ValueError(f"unknown script {target!r}")
