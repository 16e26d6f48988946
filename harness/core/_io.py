"""Atomic file writes (temp file + rename) and a lock for files several runs share."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from harness.core._errors import UserError


def _umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def ensure_folder(folder: Path) -> None:
    """Create `folder`; a file where a folder belongs is the user's to move (one line, exit 2)."""
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise UserError(f"{parent}: exists but is not a folder, so {folder} is not writable; move it away "
                            "or set HARNESS_RESULTS to another folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{folder}: cannot create this folder ({exc.strerror}); fix its permissions or set "
                        "HARNESS_RESULTS to another folder") from None


def atomic_write_text(path: Path, text: str) -> None:
    ensure_folder(path.parent)
    if path.is_dir():
        raise UserError(f"{path}: is a folder where a result file belongs; move it away")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; result files are for the team to read
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


# what the results folder holds, and of which kind
RESULT_FOLDERS = ("cache", "runs", "meta")
RESULT_FILES = ("leaderboard.csv", "leaderboard_wide.csv", "pairwise.csv", "report.html", "baseline.csv", "check.md")


def check_layout(results: Path) -> None:
    """Before a run writes anything: every known sub-path of `results` is of the right kind."""
    for name in RESULT_FOLDERS:
        if (results / name).exists() and not (results / name).is_dir():
            raise UserError(f"{results / name}: exists but is not a folder (the harness keeps its {name} there); "
                            "move it away")
    for name in RESULT_FILES:
        if (results / name).is_dir():
            raise UserError(f"{results / name}: is a folder where the harness writes a file; move it away")


def check_writable(folder: Path) -> None:
    ensure_folder(folder)
    check_layout(folder)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".write-test.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise UserError(f"{folder}: results folder is not writable ({exc.strerror}); "
                        "fix its permissions or set HARNESS_RESULTS to another folder") from None
