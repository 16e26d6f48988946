"""Redaction: API keys and Authorization headers never reach results, logs or messages."""

from __future__ import annotations

import os
import re

SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$|API_KEY", re.I)
PATTERNS = [
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer\s+)?[^\s\"',}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)((?:api[_-]?key|x-api-key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
    re.compile(r"\b(sk-[A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]{8,}"),
]


def _secret_values() -> list[str]:
    return sorted((v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= 6),
                  key=len, reverse=True)


def redact(text: str) -> str:
    for value in _secret_values():
        text = text.replace(value, "[REDACTED]")
    for pat in PATTERNS:
        text = pat.sub(lambda m: (m.group(1) or "") + "[REDACTED]", text)
    return text
