"""One request per (task, sampled item, model), keyed for the response cache."""

from __future__ import annotations

from harness.run._runner import Request
from harness.run._store import request_key
from harness.task import Item, Task, sample


def prompt_kind(model: str) -> str:
    from harness.model import prompt_kind as kind

    return kind(model)


def extra_params(model: str, task: Task, item: Item) -> dict:
    """What the baseline systems need besides the prompt (never sent to a hosted provider)."""
    if not model.startswith("baseline/"):
        return {}
    return {"harness_source": item.source, "harness_lead_unit": task.spec.lead.unit,
            "harness_lead_n": task.spec.lead.n}


def build_requests(tasks: list[Task], models: list[str], limit: int | None,
                   only: dict[str, set[str]] | None = None) -> list[Request]:
    """One request per (task, sampled item, model); `only` restricts items by id per task."""
    from harness.model import key_identity

    reqs = []
    idents = {m: key_identity(m) for m in models}
    for task in tasks:
        settings = task.spec.generation.model_dump(exclude_none=True)
        chosen = [i for i in task.items if i.id in only.get(task.id, set())] if only is not None else task.items
        kinds = {m: prompt_kind(m) for m in models}
        for item in sample(chosen, limit):
            rendered = {k: task.render(item, k) for k in set(kinds.values())}
            for model in models:
                messages, extra = rendered[kinds[model]], extra_params(model, task, item)
                stop = task.stop_for(kinds[model])
                mine = {**settings, "stop": stop} if stop else settings
                key = request_key(model, messages, {**mine, **extra}, idents[model])
                reqs.append(Request(model, messages, mine, key, tag=(task.id, item.id), extra=extra,
                                    identity=idents[model], task=task.id))
    return reqs
