"""Async scheduling of model calls: bounded concurrency per model, retries with
exponential backoff and jitter (honouring Retry-After), per-request timeouts, optional
requests-per-minute limits and a circuit breaker. Every answer is committed to the store
the moment it arrives; failures are returned as per-item errors, never cached."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.core import redact
from harness.run._store import Store

log = logging.getLogger(__name__)

@dataclass
class Request:
    model: str
    messages: list[dict]
    settings: dict  # generation settings; part of the cache key
    key: str
    tag: Any = None  # caller's handle (task id, item id)
    extra: dict = field(default_factory=dict)  # per-call kwargs that are not settings (baselines)
    identity: str = ""  # what answers (endpoint or model-file hash), as in the key; recorded in the store
    task: str | None = None  # the task a model request belongs to (judge requests: None); recorded too


@dataclass
class Outcome:
    request: Request
    response: dict | None = None
    error: str | None = None
    attempts: int = 0
    cached: bool = False


@dataclass
class Limits:
    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 4
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    rpm: float | None = None
    tpm: float | None = None  # tokens per minute (prompt estimate + max_tokens)
    breaker: int = 10  # consecutive failed calls (429s aside) before a model is stopped

    def __post_init__(self):
        # the CLI rejects these at the edge; this guards callers that build Limits in code
        # (a semaphore of 0 hangs forever, a negative timeout fails every call)
        problems = [name for name, ok in (
            ("concurrency", isinstance(self.concurrency, int) and self.concurrency >= 1),
            ("timeout", _positive(self.timeout)), ("max_retries", isinstance(self.max_retries, int)
                                                   and self.max_retries >= 0),
            ("backoff_base", _positive(self.backoff_base, zero_ok=True)), ("backoff_max", _positive(self.backoff_max)),
            ("rpm", self.rpm is None or _positive(self.rpm)), ("tpm", self.tpm is None or _positive(self.tpm)),
            ("breaker", isinstance(self.breaker, int) and self.breaker >= 1)) if not ok]
        if problems:
            raise ValueError(f"Limits: invalid {problems[0]} = {getattr(self, problems[0])!r}")


def _positive(x, zero_ok: bool = False) -> bool:
    import math

    try:
        x = float(x)
    except (TypeError, ValueError):
        return False
    return math.isfinite(x) and (x >= 0 if zero_ok else x > 0)


RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) else None


def _chain(exc: BaseException | None):
    """The exception and what it wraps (litellm keeps the provider's error as original_exception)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = getattr(exc, "original_exception", None) or exc.__cause__ or exc.__context__


def is_retryable(exc: BaseException) -> bool:
    if any(getattr(e, "retryable", None) is False for e in _chain(exc)):
        return False  # e.g. the local model's process died: the same input would crash it again
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, ConnectionError)):
        return True
    code = _status(exc)
    if code is not None:
        return code in RETRYABLE_STATUS
    name = type(exc).__name__
    return any(k in name for k in ("Timeout", "Connection", "RateLimit", "ServiceUnavailable", "InternalServer"))


def retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait, from a Retry-After header if there is one."""
    headers = getattr(exc, "litellm_response_headers", None) or getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):  # delay-seconds
        return float(text)
    from email.utils import parsedate_to_datetime

    try:  # the HTTP-date form: "Wed, 21 Oct 2026 07:28:00 GMT"
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        log.info("ignoring a Retry-After header that is neither seconds nor an HTTP date: %r", value)
        return None
    return max(0.0, when.timestamp() - time.time())


class RateLimiter:
    """Spaces request starts to stay under `per_minute` units per minute (requests, or tokens
    when each call weighs its estimated token count)."""

    def __init__(self, per_minute: float | None):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_at = 0.0
        self.lock = asyncio.Lock()

    async def wait(self, cost: float = 1.0) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval * cost
        if delay > 0:
            await asyncio.sleep(delay)


class ModelLane:
    """Per-model state: its semaphore, rate limiter and circuit breaker."""

    def __init__(self, limits: Limits):
        self.semaphore = asyncio.Semaphore(limits.concurrency)
        self.limiter = RateLimiter(limits.rpm)
        self.tokens = RateLimiter(limits.tpm)
        self.consecutive_failures = 0
        self.open_reason: str | None = None


def estimated_tokens(req: Request) -> float:
    """Prompt characters / 3 (generous for English, about right for Chinese) + max_tokens."""
    chars = sum(len(str(m.get("content", ""))) for m in req.messages)
    return chars / 3 + float(req.settings.get("max_tokens") or 0)


Call = Callable[[Request, float], Any]  # async (request, timeout) -> response dict


async def _attempt_all(req: Request, call: Call, lane: ModelLane, limits: Limits) -> Outcome:
    out = Outcome(req)
    for attempt in range(limits.max_retries + 1):
        if lane.open_reason:
            out.error = lane.open_reason
            return out
        await lane.limiter.wait()
        await lane.tokens.wait(estimated_tokens(req))
        out.attempts = attempt + 1
        try:
            async with lane.semaphore:
                if lane.open_reason:  # the circuit may have opened while this request queued
                    out.error = lane.open_reason
                    return out
                out.response = await asyncio.wait_for(call(req, limits.timeout), timeout=limits.timeout + 5)
            out.error = None
            lane.consecutive_failures = 0
            return out
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every provider failure becomes a recorded error
            code = _status(exc)
            kind = type(exc).__name__
            out.error = redact(f"{kind}{f' {code}' if code else ''}: {str(exc).splitlines()[0][:300] if str(exc) else kind}")
            if code != 429:  # rate limits are for backoff to absorb, not a sign the model is down
                lane.consecutive_failures += 1
                if lane.consecutive_failures >= limits.breaker and not lane.open_reason:
                    lane.open_reason = (f"circuit open: {req.model} stopped after {limits.breaker} consecutive "
                                        f"failed calls (last: {out.error})")
            if not is_retryable(exc) or attempt == limits.max_retries:
                return out
            wait = retry_after(exc)
            if wait is None:
                wait = min(limits.backoff_max, limits.backoff_base * 2 ** attempt) * (0.5 + random.random())
            elif wait > limits.backoff_max:
                log.warning("%s asked to wait %.0f s (Retry-After); waiting %.0f s, the cap on one wait",
                            req.model, wait, limits.backoff_max)
            await asyncio.sleep(min(wait, limits.backoff_max))
    return out


async def run(requests: list[Request], call: Call, store: Store, limits: Limits,
              lane_limits: Callable[[str], Limits] | None = None,
              on_done: Callable[[Outcome], None] | None = None, refresh: bool = False) -> list[Outcome]:
    """Answer every request: from the store when cached (unless `refresh`), else by `call`
    (the answer then replaces any stored one). Order is kept."""
    cached = {} if refresh else store.get_many([r.key for r in requests])
    lanes: dict[str, ModelLane] = {}

    async def one(req: Request) -> Outcome:
        if req.key in cached:
            return Outcome(req, cached[req.key], cached=True)
        lim = lane_limits(req.model) if lane_limits else limits
        lane = lanes.setdefault(req.model, ModelLane(lim))
        out = await _attempt_all(req, call, lane, lim)
        if out.response is not None:
            store.put(req.key, req.model, {"model": req.model, "messages": req.messages, "settings": req.settings},
                      out.response, task=req.task, endpoint=req.identity or None)
        if on_done:
            on_done(out)
        return out

    return await asyncio.gather(*(one(r) for r in requests))
