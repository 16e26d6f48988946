"""The result files' schema, in one place (as lm-evaluation-harness keeps its result_schema.py):
each file's path under the results folder, its columns in order, the dtype of every column
that is not text, and its schema version. Every writer stamps and orders its rows from here
and `harness.results` types what it reads from here. It sits on the bottom floor because the
judge's reliability rows, the pipeline's items and the gate's baseline are written above and
below results/."""

from __future__ import annotations

from dataclasses import dataclass, field

TEXT, FLOAT, INT, BOOL, TIME = "str", "float64", "Int64", "boolean", "time"


@dataclass(frozen=True)
class FileSchema:
    path: str  # under the results folder; `*` stands for a run id or a dataset
    version: int  # the `schema_version` column's value (0: the file has none)
    columns: tuple[str, ...]
    dtypes: dict[str, str] = field(default_factory=dict)  # a column not named here is text
    changes: str = ""  # what each version added

    def dtype(self, column: str) -> str:
        return self.dtypes.get(column, TEXT)

    @property
    def raw_text(self) -> list[str]:
        """Columns read as written (text and timestamps) by writers that merge into the file."""
        return [c for c in self.columns if self.dtype(c) in (TEXT, TIME)]


LEADERBOARD = FileSchema(
    "leaderboard.csv", 3,
    ("schema_version", "model", "task", "condition", "metric", "value", "ci_low", "ci_high", "n", "n_errors",
     "item_set", "sample", "signature", "prompt_hash", "cost_basis", "run_id", "created_at", "note"),
    {"schema_version": INT, "value": FLOAT, "ci_low": FLOAT, "ci_high": FLOAT, "n": INT, "n_errors": INT,
     "created_at": TIME},
    "3: keyed by prompt_hash and item_set too; `sample`, `cost_basis`, `note`; judge n = judged")

PAIRWISE = FileSchema(
    "pairwise.csv", 3,
    ("schema_version", "task", "condition", "metric", "model_a", "model_b", "value_a", "value_b", "diff",
     "diff_ci_low", "diff_ci_high", "p_value", "significant", "n", "blocks", "item_set", "method", "signature",
     "inputs", "prompt_hash_a", "prompt_hash_b", "item_set_a", "item_set_b", "run_id_a", "run_id_b", "created_at"),
    {"schema_version": INT, "value_a": FLOAT, "value_b": FLOAT, "diff": FLOAT, "diff_ci_low": FLOAT,
     "diff_ci_high": FLOAT, "p_value": FLOAT, "significant": BOOL, "n": INT, "blocks": INT, "created_at": TIME},
    "3: the versions compared (prompt_hash_*, item_set_*, run_id_*) and `inputs`")

# the judges' both-order verdicts: pairwise.csv's columns (value_a/value_b are win rates in %)
JUDGE_PAIRWISE = FileSchema("judge_pairwise.csv", PAIRWISE.version, PAIRWISE.columns, PAIRWISE.dtypes)

# one row per (task, condition, model) of the latest versions; the per-metric columns
# (<metric>, <metric>_ci_low/_ci_high/_n, rank_<metric>[_best|_worst]) follow these
WIDE = FileSchema("leaderboard_wide.csv", 0,
                  ("task", "condition", "model", "prompt_hash", "sample", "item_set", "run_id", "n", "n_errors"),
                  {"n": INT, "n_errors": INT})

# per-metric columns (`score_<metric>`, float64) and judge columns follow these
ITEMS = FileSchema(
    "runs/*/items.csv", 3,
    ("schema_version", "run_id", "model", "task", "item_id", "ref_key", "condition", "block", "pair", "origin",
     "script", "genre", "meta", "prompt_hash", "source", "reference", "references", "output", "error", "attempts",
     "finish_reason", "input_truncated", "latency_s", "prompt_tokens", "completion_tokens", "cost_usd",
     "cost_basis", "cached", "endpoint", "model_version"),
    {"schema_version": INT, "attempts": INT, "input_truncated": BOOL, "latency_s": FLOAT, "prompt_tokens": INT,
     "completion_tokens": INT, "cost_usd": FLOAT, "cached": BOOL},
    "3: source, reference(s), ref_key, every tag, meta, cost_basis (0 cost for free systems); "
    "2: endpoint, model_version")

BASELINE = FileSchema(
    "baseline.csv", 1,
    ("schema_version", "model", "task", "item_id", "condition", "block", "prompt_hash", "output", "scores"),
    {"schema_version": INT})

META = FileSchema(
    "meta/*.csv", 2,
    ("schema_version", "dataset", "reference", "metric", "level", "variant", "statistic", "value", "ci_low",
     "ci_high", "n", "segments", "signature", "note"),
    {"schema_version": INT, "value": FLOAT, "ci_low": FLOAT, "ci_high": FLOAT, "n": INT, "segments": INT},
    "2: `segments` and `note` columns")

# (model, task) -> the run whose items.csv holds its latest outputs, so that the pairwise
# refresh reads those files only (rebuilt from runs/ when missing or stale)
RUN_INDEX = "cache/run-index.json"

FILES = (LEADERBOARD, PAIRWISE, JUDGE_PAIRWISE, WIDE, ITEMS, BASELINE, META)

# the names older modules and tests know
LEADERBOARD_SCHEMA_VERSION = LEADERBOARD.version
ITEMS_SCHEMA_VERSION = ITEMS.version
ITEM_COLUMNS = list(ITEMS.columns)
