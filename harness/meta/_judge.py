"""The LLM judge on the meta-evaluation set: every system output scored with the translation
rubric, reference-free and with the chosen reference, so its agreement with MQM sits next
to BLEU's and chrF's. Calls go through the runner and the response cache."""

from __future__ import annotations

from harness.judge import load_rubric, parse_pointwise, pointwise_request
from harness.task import Item


def judge_scores(data, reference: str, judge: str, ask) -> dict[str, dict[tuple[str, str], float]]:
    """metric name -> {(system, segment): overall judge score}; failures are left out (the
    correlation then fails loudly rather than inventing a score)."""
    rubric = load_rubric("translate")
    systems = [s for s in data.systems if s != reference]
    reqs = []
    for variant in ("ref-free", "with-ref"):
        for k, seg in enumerate(data.seg_ids):
            refs = [data.targets[reference][k]] if variant == "with-ref" else []
            item = Item(seg, data.sources[k], refs)
            for system in systems:
                reqs.append(pointwise_request(judge, rubric, item, data.targets[system][k], (variant, system, seg)))
    out: dict[str, dict] = {f"judge:{judge}:ref-free": {}, f"judge:{judge}:with-ref": {}}
    for o in ask(reqs):
        variant, system, seg = o.request.tag
        scores = parse_pointwise(rubric, o.response["text"], o.response.get("finish_reason"))[0] if o.response else None
        if scores is not None:
            out[f"judge:{judge}:{variant}"][(system, seg)] = scores["overall"]
    return out
