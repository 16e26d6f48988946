"""What one `harness eval` run did, returned to its caller (the CLI prints it, a notebook
reads it): nothing in it needs the result files to be read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunSummary:
    run_id: str
    run_dir: Path  # runs/<run_id>/: items.csv and run.json
    leaderboard_path: Path
    tasks: list[str]
    models: list[str]
    judges: list[str]
    rows: list[dict]  # this run's leaderboard rows
    board: "pd.DataFrame"  # noqa: F821 - the whole leaderboard after the merge (every version)
    wide: "pd.DataFrame"  # noqa: F821 - leaderboard_wide.csv: latest versions, ranks
    pairwise: "pd.DataFrame"  # noqa: F821 - pairwise.csv
    per_model: dict[str, dict]  # n_requests, n_errors, first_error per model
    per_judge: dict[str, dict] = field(default_factory=dict)  # the same per judge, with the cause
    n_requests: int = 0
    n_cached: int = 0

    @property
    def items_path(self) -> Path:
        return self.run_dir / "items.csv"

    @property
    def n_errors(self) -> int:
        return sum(c["n_errors"] for c in self.per_model.values())

    def table(self, task: str | None = None, condition: str = "all") -> "pd.DataFrame":  # noqa: F821
        """The latest version of every model on this run's tasks: metrics down, models
        across (the values of the leaderboard's rows)."""
        from harness.results import current

        df = current(self.board)
        df = df[df.task.isin([task] if task else self.tasks) & (df.condition == condition)]
        return df.pivot_table(index=["task", "metric"], columns="model", values="value", aggfunc="first")

    def failures(self, max_error_rate: float) -> list[str]:
        """Why the run counts as failed: a model that answered nothing or failed more than
        `max_error_rate` of its items, or a judge whose failed or unparseable replies did."""
        out = []
        for model, c in self.per_model.items():
            n, bad = c["n_requests"], c["n_errors"]
            if n and bad == n:
                out.append(f"{model} answered none of its {n} item(s) (first error: {c.get('first_error') or '?'})")
            elif n and bad / n > max_error_rate:
                out.append(f"{model}: {bad} of {n} item(s) failed ({bad / n:.1%} > --max-error-rate {max_error_rate:g})")
        for judge, c in self.per_judge.items():
            if c["n_requests"] and c["n_errors"] / c["n_requests"] > max_error_rate:
                out.append(f"judge {judge}: {judge_failures(c)}, {c['n_errors'] / c['n_requests']:.1%} "
                           f"> --max-error-rate {max_error_rate:g}")
        return out


def judge_failures(c: dict) -> str:
    return f"{c['cause']} for {c['n_errors']} of {c['n_requests']} request(s) (first: {c['first_error']})"
