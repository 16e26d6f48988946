"""Reading a judge's reply: strict JSON, scores within the rubric's range, a verdict of A, B
or tie. A reply that does not parse is a `Failure` (a str naming what went wrong, with its
`cause` for the counts), never a score of 0."""

from __future__ import annotations

import json
import re

import numpy as np

# the causes a failure is counted under (row notes, the eval warning and its error line)
NOT_JSON = "reply not JSON"
CUT_OFF_CAUSE = "reply cut off at max_tokens"
OUT_OF_RANGE = "reply out of range"
CALL_FAILED = "call failed"


class Failure(str):
    """Why one judge request gave no judgement. A str (the text items.csv records) that also
    knows its cause, one of the constants above."""

    cause: str

    def __new__(cls, text: str, cause: str) -> "Failure":
        made = super().__new__(cls, text)
        made.cause = cause
        return made


def call_failed(error: str | None) -> Failure:
    return Failure(f"judge call failed: {error}", CALL_FAILED)


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
        raise _NotJSON("the reply is not a JSON object")
    return data


CUT_OFF = ("parse failure: the reply was cut off at max_tokens (finish_reason length) before its JSON "
           "was complete")


def _failure(exc: ValueError, finish_reason: str | None) -> Failure:
    """The reason a reply did not parse; a reply cut at max_tokens says so (a judge looping
    inside a JSON string never closes it, which is not 'no JSON object')."""
    if isinstance(exc, _NotJSON):
        if finish_reason == "length":
            return Failure(CUT_OFF, CUT_OFF_CAUSE)
        return Failure(f"parse failure: {exc}", NOT_JSON)
    return Failure(f"parse failure: {exc}", OUT_OF_RANGE)


def parse_pointwise(rubric, text: str, finish_reason: str | None = None
                    ) -> tuple[dict[str, float] | None, str, Failure | None]:
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


def parse_pairwise(text: str, finish_reason: str | None = None) -> tuple[str | None, Failure | None]:
    try:
        winner = _json(text).get("winner")
    except ValueError as exc:
        return None, _failure(exc, finish_reason)
    if winner not in ("A", "B", "tie"):
        return None, Failure(f"parse failure: winner {winner!r} is not A, B or tie", OUT_OF_RANGE)
    return winner, None


def failure_note(failures: dict, n: int, what: str = "items") -> str:
    """'' when nothing failed; else 'judge reply not JSON for 4 of 4 items; first: i0: …'
    (the cause named when every failure shares it)."""
    if not failures:
        return ""
    first_id, first = next(iter(failures.items()))
    return f"judge {cause_of(failures.values())} for {len(failures)} of {n} {what}; first: {first_id}: {first}"


def cause_of(failures) -> str:
    """The cause every one of `failures` shares, else 'failed'."""
    causes = {getattr(f, "cause", "") for f in failures}
    return causes.pop() if len(causes) == 1 and "" not in causes else "failed"
