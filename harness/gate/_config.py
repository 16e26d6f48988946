"""The gate's thresholds file (gate.yaml): a schema, and one error line per mistake.

A threshold the gate silently ignores or misreads (a misspelt metric, `alpha: 0`, `.nan`)
would let a regression pass, so every value is checked: numbers finite and >= 0, alpha in
(0, 0.5], metric names against the scorers' registry.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.core import UserError

JUDGE_KEY = "judge"  # one threshold for every judge:<model>:<dimension> score

# strict: a quoted "1.0", a bool or null is a mistake, not a number (ints are fine)
Number = Annotated[float, Field(strict=True)]


def gated_metric_names() -> list[str]:
    """Every metric name the gate can test, plus the judge key."""
    from harness.score import registry

    return registry.gated_names() + [JUDGE_KEY]


class Thresholds(BaseModel):
    """Types come from the schema; ranges and names are checked by `problems()`."""

    model_config = ConfigDict(extra="forbid")
    alpha: Number = 0.05
    default: Number = 1.0
    metrics: dict[str, Number] = Field(default_factory=dict)

    def problems(self) -> list[tuple[tuple[str, ...], str]]:
        """(location, what to fix) for every value the gate cannot use."""
        out = []
        if not (math.isfinite(self.alpha) and 0 < self.alpha <= 0.5):
            out.append((("alpha",), f"must be a number in (0, 0.5], got {self.alpha}"))
        if not _points_ok(self.default):
            out.append((("default",), f"must be a finite number >= 0 (points of the metric), got {self.default}"))
        from harness.score import registry

        valid = gated_metric_names()
        for name, value in self.metrics.items():
            if name not in valid:
                why = registry.metric(name).why_ungated if name in registry.reported_names() else ""
                hint = f" ({why})" if why else ""
                out.append((("metrics", name), f"unknown metric{hint}; valid names: {', '.join(valid)}"))
            elif not _points_ok(value):
                out.append((("metrics", name), f"must be a finite number >= 0 (points of the metric), got {value}"))
        return out

    def of(self, metric: str) -> float:
        """Threshold in points for a reported metric name: gate.yaml's for that name, else
        gate.yaml's `default` when the file sets one, else the metric's own (its record in
        the registry), else 1.0."""
        from harness.score import registry

        if metric.startswith(JUDGE_KEY + ":"):
            return self.metrics.get(JUDGE_KEY, self.default)
        if metric in self.metrics:
            return self.metrics[metric]
        own = registry.metric(metric).threshold
        return self.default if "default" in self.model_fields_set or own is None else own


def _parses(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _points_ok(v: float) -> bool:
    return math.isfinite(v) and v >= 0


def _key_lines(text: str) -> dict[tuple, int]:
    """Line number of every mapping key, by path (for `file:line:` in errors)."""
    import yaml

    lines: dict[tuple, int] = {}

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = (*path, k.value)
                lines[key] = k.start_mark.line + 1
                walk(v, key)

    try:
        walk(yaml.compose(text), ())
    except yaml.YAMLError:
        # line numbers only decorate messages; the caller's safe_load reports the YAML error itself
        return {}
    return lines


def load_thresholds(path: Path) -> Thresholds:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: thresholds file not found") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save the thresholds file as UTF-8") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the thresholds file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{path}{where}: malformed YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{path}:1: thresholds: must be a mapping with alpha, default and metrics")
    lines = _key_lines(text)
    try:
        th = Thresholds.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            msg = "unknown key (allowed: alpha, default, metrics)"
        elif err["type"] == "dict_type":
            msg = "must be a mapping of metric name to threshold in points, e.g. `chrf: 1.0`"
        elif err["type"].startswith("float"):
            msg = f"must be a number, got {err.get('input')!r}"
            if isinstance(err.get("input"), str) and _parses(err["input"]):
                msg += " (text: YAML reads 1e-3 or a quoted number as a string; write 0.001)"
        else:
            msg = err["msg"]
        raise UserError(f"{path}:{lines.get(loc, 1)}: {'.'.join(loc) or 'thresholds'}: {msg}") from None
    problems = th.problems()
    if problems:
        loc, msg = problems[0]
        raise UserError(f"{path}:{lines.get(loc, 1)}: {'.'.join(loc)}: {msg}")
    return th


def default_thresholds_path() -> Path:
    from harness.core import ROOT

    return ROOT / "gate.yaml"
