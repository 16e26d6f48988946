"""Project locations and the process environment every command runs in."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("HARNESS_ROOT", Path(__file__).resolve().parents[2]))
TASKS = ROOT / "tasks"
REFERENCES = ROOT / "references"


def tasks_dir() -> Path:
    return Path(os.environ.get("HARNESS_TASKS", TASKS))


def results_dir() -> Path:
    return Path(os.environ.get("HARNESS_RESULTS", ROOT / "results"))


def offline_environment() -> None:
    """Settings that keep litellm and datasets from touching the network or the home cache."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HOME", str(ROOT / ".cache" / "huggingface"))
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
