"""Rubric-based LLM judge: pointwise rubric scores and both-order pairwise verdicts.

Rubrics and judge prompts are files in `tasks/rubrics/`. Any litellm model can judge; it is
asked for JSON (a JSON schema through litellm's `response_format` where the provider
supports it, grammar-constrained JSON for the local model, strict parsing otherwise). A
reply that does not parse or is out of range is a recorded failure, never a score of 0.
Judge calls go through the same runner and cache as model calls, at temperature 0.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import numpy as np

from harness.core import UserError
from harness.model import key_identity
from harness.core import tasks_dir
from harness.task import Rubric, load_rubric_file, shipped_fallback, task_rubric  # noqa: F401 - Rubric is part of this module's interface
from harness.run import Request
from harness.run import request_key

log = logging.getLogger(__name__)
JUDGE_SETTINGS = {"temperature": 0.0, "max_tokens": 700}
REPEAT_ITEMS = 10  # items per (task, model) judged twice to measure self-agreement


def load_rubric(kind, folder: Path | None = None) -> Rubric:
    """A task's rubric (its `rubric:` file, else the default for its kind), naming the task's
    languages in the prompts; or, given a kind, that kind's default rubric (zh→en)."""
    if hasattr(kind, "spec"):
        return task_rubric(kind)
    name = "translation.yaml" if kind == "translate" else "summary.yaml"
    path = folder / name if folder else shipped_fallback(tasks_dir() / "rubrics" / name)
    return load_rubric_file(path, kind)


def _template(name: str):
    from jinja2 import StrictUndefined, Template

    path = shipped_fallback(tasks_dir() / "rubrics" / name)
    try:
        return Template(path.read_text(encoding="utf-8"), undefined=StrictUndefined)
    except FileNotFoundError:
        raise UserError(f"{path}: judge prompt template not found") from None


def schema(rubric: Rubric) -> dict:
    if rubric.mode == "scores":
        scores = {n: {"type": "integer", "minimum": 1, "maximum": 5} for n in rubric.dimensions}
        return {"type": "object", "required": ["scores", "rationale"],
                "properties": {"scores": {"type": "object", "properties": scores, "required": list(scores)},
                               "rationale": {"type": "string"}}}
    error = {"type": "object", "required": ["category", "severity"],
             "properties": {"category": {"type": "string", "enum": list(rubric.dimensions)},
                            "severity": {"type": "string", "enum": list(rubric.severity_weights)},
                            "span": {"type": "string"}, "explanation": {"type": "string"}}}
    return {"type": "object", "required": ["errors", "rationale"],
            "properties": {"errors": {"type": "array", "items": error}, "rationale": {"type": "string"}}}


PAIRWISE_SCHEMA = {"type": "object", "required": ["winner", "rationale"],
                   "properties": {"winner": {"type": "string", "enum": ["A", "B", "tie"]},
                                  "rationale": {"type": "string"}}}


def response_format(model: str, json_schema: dict) -> dict | None:
    """Structured output where the provider can do it; None means: parse strictly."""
    if model.startswith("local/"):
        return {"type": "json_object", "schema": json_schema}  # llama.cpp grammar
    if model.startswith("baseline/"):
        return None
    try:
        import litellm

        if litellm.supports_response_schema(model=model):
            return {"type": "json_schema", "json_schema": {"name": "judgement", "schema": json_schema}}
    except Exception as exc:  # noqa: BLE001 - unknown to litellm's model map: ask in the prompt only
        log.info("%s: no JSON-schema support known (%s: %s); the prompt asks for JSON", model,
                 type(exc).__name__, exc)
    return None


def _settings(model: str, json_schema: dict) -> dict:
    fmt = response_format(model, json_schema)
    return {**JUDGE_SETTINGS, **({"response_format": fmt} if fmt else {})}


def pointwise_request(judge: str, rubric: Rubric, item, output: str, tag, repeat: int = 0) -> Request:
    text = _template("judge_pointwise.j2").render(rubric=rubric.__dict__, source=item.source,
                                                  reference=item.references[0] if item.references else "",
                                                  output=output)
    messages = [{"role": "user", "content": text}]
    settings = _settings(judge, schema(rubric))
    ident = key_identity(judge)
    key = request_key(judge, messages, {**settings, **({"repeat": repeat} if repeat else {})}, ident)
    return Request(judge, messages, settings, key, tag=tag, identity=ident)


def pairwise_request(judge: str, rubric: Rubric, item, first: str, second: str, tag) -> Request:
    text = _template("judge_pairwise.j2").render(rubric=rubric.__dict__, source=item.source,
                                                 output_a=first, output_b=second)
    messages = [{"role": "user", "content": text}]
    settings = _settings(judge, PAIRWISE_SCHEMA)
    ident = key_identity(judge)
    return Request(judge, messages, settings, request_key(judge, messages, settings, ident), tag=tag, identity=ident)


class _NotJSON(ValueError):
    """The reply holds no complete JSON object (as opposed to a JSON object with bad content)."""


def _json(text: str) -> dict:
    text = text.strip()
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.S)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise _NotJSON("no JSON object in the reply") from None
        try:
            data = json.loads(text[start:end + 1])
        except json.JSONDecodeError as exc:
            raise _NotJSON(f"malformed JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    return data


CUT_OFF = ("parse failure: the reply was cut off at max_tokens (finish_reason length) before its JSON "
           "was complete")


def _failure(exc: ValueError, finish_reason: str | None) -> str:
    """The reason a reply did not parse; a reply cut at max_tokens says so (a judge looping
    inside a JSON string never closes it, which is not 'no JSON object')."""
    return CUT_OFF if finish_reason == "length" and isinstance(exc, _NotJSON) else f"parse failure: {exc}"


def parse_pointwise(rubric: Rubric, text: str, finish_reason: str | None = None
                    ) -> tuple[dict[str, float] | None, str, str | None]:
    """(scores per dimension + overall, rationale, failure) from a judge reply."""
    try:
        data = _json(text)
        rationale = str(data.get("rationale", ""))
        if rubric.mode == "scores":
            raw = data.get("scores")
            if not isinstance(raw, dict):
                raise ValueError("missing 'scores' object")
            scores = {}
            for name in rubric.dimensions:
                v = raw.get(name)
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 1 <= v <= 5:
                    raise ValueError(f"score {name}={v!r} is not a number from 1 to 5")
                scores[name] = float(v)
        else:
            errors = data.get("errors")
            if not isinstance(errors, list):
                raise ValueError("missing 'errors' list")
            penalty = {n: 0.0 for n in rubric.dimensions}
            for e in errors:
                if not isinstance(e, dict) or e.get("category") not in penalty \
                        or e.get("severity") not in rubric.severity_weights:
                    raise ValueError(f"error entry {json.dumps(e, ensure_ascii=False)[:80]} has an unknown "
                                     "category or severity")
                penalty[e["category"]] += rubric.severity_weights[e["severity"]]
            scores = {n: max(1.0, 5.0 - p) for n, p in penalty.items()}
        scores["overall"] = float(np.mean([scores[n] for n in rubric.dimensions]))
        return scores, rationale, None
    except ValueError as exc:
        return None, "", _failure(exc, finish_reason)


def parse_pairwise(text: str, finish_reason: str | None = None) -> tuple[str | None, str | None]:
    try:
        winner = _json(text).get("winner")
    except ValueError as exc:
        return None, _failure(exc, finish_reason)
    if winner not in ("A", "B", "tie"):
        return None, f"parse failure: winner {winner!r} is not A, B or tie"
    return winner, None


def combine_orders(first: str | None, swapped: str | None) -> tuple[str | None, bool]:
    """Verdict for (x, y) from 'x shown as A' and 'y shown as A'; a flip counts as a tie.
    Returns (x|y|tie or None when either order failed, consistent)."""
    if first is None or swapped is None:
        return None, False
    as_x = {"A": "x", "B": "y", "tie": "tie"}[first]
    as_x_swapped = {"A": "y", "B": "x", "tie": "tie"}[swapped]
    return (as_x, True) if as_x == as_x_swapped else ("tie", False)


class JudgeScores:
    """The scorer interface over judge scores that were already obtained: per item the
    dimension scores and a validity flag (failures are excluded, and counted)."""

    def __init__(self, judge: str, rubric: Rubric, per_item: dict[str, dict | None]):
        self.judge, self.rubric, self.per_item = judge, rubric, per_item
        self.family = f"judge:{judge}"
        self.names = tuple(f"judge:{judge}:{n}" for n in rubric.names)

    def signature(self) -> str:
        return (f"judge|model:{self.judge}|rubric:{self.rubric.id}@{self.rubric.text_hash}|mode:{self.rubric.mode}"
                f"|temp:0|scale:1-5")

    def stats(self, hyps, items) -> np.ndarray:
        out = np.zeros((len(items), len(self.names) + 1))
        for i, it in enumerate(items):
            s = self.per_item.get(it.id)
            if s is not None:
                out[i, :-1] = [s[n] for n in self.rubric.names]
                out[i, -1] = 1
        return out

    def score(self, stats: np.ndarray) -> dict[str, float]:
        return self.score_sums(stats.sum(axis=0), len(stats))

    def n_scored(self, stats: np.ndarray) -> int:
        """Items of `stats` the judge scored (its failures are in the view but not in n)."""
        return int(stats[:, -1].sum()) if len(stats) else 0

    def score_sums(self, total: np.ndarray, n: float) -> dict[str, float]:
        valid = total[-1]
        return {name: float(total[k] / valid) if valid else math.nan for k, name in enumerate(self.names)}

    def score_matrix(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        valid = np.where(sums[:, -1] > 0, sums[:, -1], np.nan)
        return {name: sums[:, k] / valid for k, name in enumerate(self.names)}
