"""Asking a judge and reading its replies, shared by the pointwise and pairwise loops: a
reply that does not parse is that item's failure and is handed to `reject` (the response
cache moves it out of the answers), so it is never served again and the next run asks again."""

from __future__ import annotations

from typing import Callable

from harness.judge._parse import call_failed


def ask_parsed(requests: list, parse: Callable, ask: Callable, reject: Callable | None = None) -> list[tuple]:
    """(outcome, parsed, failure) per request, in the order `ask(requests)` returns them.
    `parse(request, response)` returns (parsed, failure); `reject(key, why)` is told of every
    reply that did not parse (None: nothing to tell, e.g. answers not from a cache)."""
    out = []
    for o in ask(requests) if requests else []:
        if o.response is None:
            out.append((o, None, call_failed(o.error)))
            continue
        parsed, failure = parse(o.request, o.response)
        if failure and reject is not None:
            reject(o.request.key, str(failure))
        out.append((o, parsed, failure))
    return out
