"""Judge requests: a loaded rubric (harness/task validates it) turned into pointwise and
pairwise prompts, with the structured-output settings each provider supports.

Rubrics and judge prompts are files in `tasks/rubrics/`. Any litellm model can judge; it is
asked for JSON (a JSON schema through litellm's `response_format` where the provider
supports it, grammar-constrained JSON for the local model, strict parsing otherwise). A
reply that does not parse or is out of range is a recorded failure, never a score of 0.
Judge calls go through the same runner and cache as model calls, at temperature 0.
"""

from __future__ import annotations

import logging
from pathlib import Path

from harness.core import UserError
from harness.model import key_identity
from harness.core import tasks_dir
from harness.task import Rubric, load_rubric_file, shipped_fallback, task_rubric
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
