"""The package's shape: one folder per step of the flow, imports pointing only down it,
and every cross-package import going through the other package's door (its __init__)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "harness"
# the flow, bottom first: a package may import only those before it (and itself)
LAYERS = ["core", "inference", "score", "task", "model", "run", "judge", "results", "pipeline",
          "gate", "meta", "report", "api", "cli"]


def _package(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, names) of every harness import, lazy ones inside functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = ["harness", *path.relative_to(PKG).with_suffix("").parts]
    here = own[:-1] if path.name != "__init__.py" else own[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module == "harness" or module.startswith("harness."):
                found.append((node.lineno, module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("harness")]
    return found


def _targets(module: str, names: list[str]) -> list[tuple[str, str]]:
    """(package, the module path used) per import: `from harness import run` names run."""
    parts = module.split(".")
    if len(parts) == 1:
        return [(n, f"harness.{n}") for n in names if n in LAYERS]
    return [(parts[1], module)]


MODULES = sorted(p for p in PKG.rglob("*.py"))


def test_every_package_is_a_layer():
    folders = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(LAYERS), folders - set(LAYERS)
    assert not [p.name for p in PKG.glob("*.py") if p.name not in ("__init__.py", "api.py")]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_point_down_the_flow_through_doors(path):
    mine = _package(path)
    if mine == "__init__":
        mine = "api"
    problems = []
    for line, module, names in _imports(path):
        for pkg, used in _targets(module, names):
            if pkg == mine:
                continue
            if pkg not in LAYERS:
                problems.append(f"{line}: {module} is in no layer")
            elif LAYERS.index(pkg) > LAYERS.index(mine):
                problems.append(f"{line}: {mine}/ imports {used}, a layer above it")
            elif used != f"harness.{pkg}":
                problems.append(f"{line}: {used} is private to {pkg}/; import it from harness.{pkg}")
    assert not problems, f"{path.relative_to(PKG)}: " + "; ".join(problems)


def test_score_and_inference_import_nothing_above_them():
    for pkg, allowed in (("score", {"core", "inference", "score"}), ("inference", {"inference"})):
        for path in (PKG / pkg).rglob("*.py"):
            for _, module, names in _imports(path):
                assert {p for p, _ in _targets(module, names)} <= allowed, (path, module)


@pytest.mark.parametrize("pkg", [p for p in LAYERS if (PKG / p / "__init__.py").exists()])
def test_every_door_name_resolves(pkg):
    door = importlib.import_module(f"harness.{pkg}")
    assert door.__all__, f"harness.{pkg} exports nothing"
    for name in door.__all__:
        assert getattr(door, name) is not None, f"harness.{pkg}.{name}"
    with pytest.raises(AttributeError):
        door.no_such_name  # noqa: B018


def test_the_old_judge_modules_are_gone():
    assert not (PKG / "judge.py").exists() and not (PKG / "judging.py").exists()
