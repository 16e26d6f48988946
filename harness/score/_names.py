"""How a judge's scores are named in result files: `judge:<model>` (and `judge:<model>:<what>`
for its reliability rows and per-item columns). Spelled here once; everyone asks these."""

from __future__ import annotations

JUDGE_PREFIX = "judge:"


def judge_metric(model: str, what: str | None = None) -> str:
    """`judge:<model>`, or `judge:<model>:<what>` (e.g. `rationale`, `pairwise`)."""
    return f"{JUDGE_PREFIX}{model}" + (f":{what}" if what else "")


def judge_of(name: str) -> str | None:
    """The judge model a metric or column name belongs to, or None for any other name.
    Model names may hold ':' themselves, so only a known trailing part is split off."""
    if not isinstance(name, str) or not name.startswith(JUDGE_PREFIX):
        return None
    return name[len(JUDGE_PREFIX):]
