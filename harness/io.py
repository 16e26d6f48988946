"""Atomic file writes (temp file + rename) and a lock for files several runs share."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import UserError


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_csv(df, path: Path, columns: list[str] | None = None) -> None:
    atomic_write_text(path, df.to_csv(index=False, columns=columns))


@contextmanager
def locked(path: Path, timeout: float = 600):
    from filelock import FileLock, Timeout

    try:
        with FileLock(str(path) + ".lock", timeout=timeout):
            yield
    except Timeout:
        raise UserError(f"{path}: another run holds its lock for more than {timeout:.0f} s; "
                        f"if no run is active, delete {path}.lock") from None


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".write-test.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise UserError(f"{folder}: results folder is not writable ({exc.strerror}); "
                        "fix its permissions or set HARNESS_RESULTS to another folder") from None
