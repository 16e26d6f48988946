"""The result files' schema: names, columns and versions that writers on every floor stamp
and `harness.results` reads back. It sits on the bottom floor because the judge's reliability
rows, the pipeline's items and the gate's baseline are written above and below results/."""

LEADERBOARD_SCHEMA_VERSION = 3  # 3: keyed by prompt_hash and item_set too; `sample`, `cost_basis`, `note`; judge n = judged

ITEM_COLUMNS = ["schema_version", "run_id", "model", "task", "item_id", "ref_key", "condition", "block", "pair",
                "origin", "script", "genre", "meta", "prompt_hash", "source", "reference", "references", "output",
                "error", "attempts", "finish_reason", "input_truncated", "latency_s", "prompt_tokens",
                "completion_tokens", "cost_usd", "cost_basis", "cached", "endpoint", "model_version"]
# 3: source, reference(s), ref_key, every tag, meta, cost_basis (0 cost for free systems); 2: endpoint, model_version
ITEMS_SCHEMA_VERSION = 3
