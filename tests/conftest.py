import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HOME", str(ROOT / ".cache" / "huggingface"))


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A private results folder and response store for one test."""
    out = tmp_path / "results"
    monkeypatch.setenv("HARNESS_RESULTS", str(out))
    monkeypatch.delenv("HARNESS_STORE", raising=False)
    return out


@pytest.fixture
def server():
    from fakeserver import FakeServer

    with FakeServer() as srv:
        yield srv


@pytest.fixture
def openai_env(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-1234567890")
    return server


def run_cli(*args, env=None, cwd=ROOT, timeout=600):
    """Run the harness CLI in a subprocess, as a user would."""
    import subprocess

    full_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


DOC_PAGES = sorted((ROOT / "docs").glob("*.md"))


def docs_text() -> str:
    """README.md and every docs/ page, one text: each page's title becomes a `## ` section,
    so a claim is found wherever the README's sections moved."""
    import re

    pages = [re.sub(r"\A# ", "## ", p.read_text(encoding="utf-8")) for p in DOC_PAGES]
    return "\n\n".join([(ROOT / "README.md").read_text(encoding="utf-8"), *pages])


def cli(*args, env=None, cwd=ROOT, timeout=None):
    """Run the harness CLI in this process (same result fields as run_cli: returncode, stdout,
    stderr). For tests about what the CLI says and exits with, not about the process itself
    (signals, fresh imports, file modes): it saves the ~3 s each subprocess spends importing
    litellm and pandas. `timeout` is accepted so call sites can swap freely; it is not enforced."""
    import subprocess

    from click.testing import CliRunner

    from harness.cli import main

    before = os.getcwd()
    os.chdir(cwd)
    try:
        got = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(["harness", *args], got.exit_code, got.stdout, got.stderr)
