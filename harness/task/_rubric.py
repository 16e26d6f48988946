"""Judge rubrics: which file a task uses, and every problem in one, found when tasks load
(before any model is asked). The judge (judge.py) turns a loaded rubric into prompts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from harness.core import UserError
from harness.core import TASKS, tasks_dir

DEFAULT_RUBRIC = {"translate": "translation.yaml", "summarize": "summary.yaml"}
ANCHORS = [1, 2, 3, 4, 5]
LANGUAGE_NAMES = {"zh": "Chinese", "zh-Hans": "Chinese (Simplified)", "zh-Hant": "Chinese (Traditional)",
                  "zh-CN": "Chinese (Simplified)", "zh-TW": "Chinese (Traditional, Taiwan)",
                  "zh-HK": "Chinese (Traditional, Hong Kong)", "en": "English", "ja": "Japanese", "ko": "Korean"}


@dataclass
class Rubric:
    id: str
    kind: str
    mode: str  # "scores" (1-5 per dimension) or "errors" (MQM-like error list)
    dimensions: dict[str, dict]
    severity_weights: dict[str, float]
    text_hash: str
    # the task's direction, named in the judge prompts (a rubric loaded by kind: zh→en)
    source_language: str = "Chinese"
    target_language: str = "English"
    path: str = field(default="", repr=False)

    @property
    def names(self) -> list[str]:
        return [*self.dimensions, "overall"]


def language_name(code: str, script: str | None = None) -> str:
    name = LANGUAGE_NAMES.get(code, code)
    if code == "zh" and script:  # a bare zh with target_script: say which script
        name = f"Chinese ({script.capitalize()})"
    return name


def shipped_fallback(path: Path) -> Path:
    """A file of the tasks folder's rubrics/ ($HARNESS_TASKS), else the shipped one of the
    same name: a folder of your own tasks needs no copy of the judge prompts and rubrics."""
    if path.exists():
        return path
    shipped = TASKS / "rubrics" / path.name
    return shipped if shipped.exists() else path


def rubric_path(task) -> Path:
    """The task's `rubric:` file (relative to the task file), else the default for its kind."""
    if getattr(task.spec, "rubric", None):
        return (task.path.parent / task.spec.rubric).resolve()
    return shipped_fallback(tasks_dir() / "rubrics" / DEFAULT_RUBRIC[task.spec.kind])


def _line(text: str, loc: list) -> int | None:
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if str(k.value) == str(key)), None)
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
    return line


def rubric_problems(path: Path) -> tuple[dict | None, str, list[str]]:
    """(data, raw text, every problem as one line `file:line: what to fix`)."""
    import yaml

    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, "", [f"{path}: rubric not found"]
    except (OSError, UnicodeDecodeError) as exc:
        return None, "", [f"{path}: cannot read the rubric ({exc})"]
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, raw, [f"{path}{f':{mark.line + 1}' if mark else ''}: malformed YAML "
                           f"({getattr(exc, 'problem', exc)})"]
    if not isinstance(data, dict):
        return None, raw, [f"{path}: a rubric must be a YAML mapping (id, mode, dimensions)"]

    def at(*loc) -> str:
        line = _line(raw, list(loc))
        return f"{path}:{line}" if line else str(path)

    problems = []
    if data.get("mode") not in ("scores", "errors"):
        problems.append(f"{at('mode')}: mode must be scores or errors (got {data.get('mode')!r})")
    dims = data.get("dimensions")
    if not isinstance(dims, dict) or not dims:
        problems.append(f"{at('dimensions')}: a rubric needs dimensions (a mapping of name: "
                        "{question, anchors})")
        dims = {}
    for name, d in dims.items():
        if not isinstance(d, dict):
            problems.append(f"{at('dimensions', name)}: dimension {name!r} must be a mapping with question and anchors")
            continue
        if not isinstance(d.get("question"), str) or not d["question"].strip():
            problems.append(f"{at('dimensions', name)}: dimension {name!r} needs a question:")
        anchors = d.get("anchors")
        keys = list(anchors) if isinstance(anchors, dict) else []
        if sorted(k for k in keys if isinstance(k, int) and not isinstance(k, bool)) != ANCHORS or len(keys) != 5:
            bad = [k for k in keys if k not in ANCHORS]
            hint = f" (not {', '.join(map(repr, bad))})" if bad else ""
            problems.append(f"{at('dimensions', name, 'anchors')}: dimension {name!r} needs anchors with "
                            f"the keys 1, 2, 3, 4 and 5{hint}")
    if data.get("mode") == "errors":
        weights = data.get("severity_weights")
        if not isinstance(weights, dict) or not weights or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in weights.values()):
            problems.append(f"{at('severity_weights')}: mode errors needs severity_weights "
                            "(severity: number, e.g. {minor: 1, major: 2, critical: 4})")
    return data, raw, problems


def load_rubric_file(path: Path, kind: str, source_lang: str = "zh", target_lang: str = "en",
                     script: str | None = None) -> Rubric:
    data, raw, problems = rubric_problems(path)
    if problems:
        raise UserError(problems[0])
    return Rubric(str(data.get("id", path.stem)), str(data.get("kind", kind)), data["mode"], data["dimensions"],
                  {k: float(v) for k, v in (data.get("severity_weights") or {}).items()},
                  hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12],
                  language_name(source_lang), language_name(target_lang, script), str(path))


def task_rubric(task) -> Rubric:
    """The rubric a task is judged with, naming the task's own languages."""
    spec = task.spec
    rubric = load_rubric_file(rubric_path(task), spec.kind, spec.source_lang, spec.target_lang, spec.target_script)
    rubric.kind = spec.kind  # the prompt speaks of the task's kind (task loading checked they agree)
    return rubric


def task_rubric_problems(spec, task_path: Path) -> list[str]:
    """Problems of the rubric a task names (a missing file included), or of the default
    rubric of its kind when that file exists (a tasks folder without rubrics/ is fine until
    a judge is asked)."""
    if spec.rubric:
        path = (task_path.parent / spec.rubric).resolve()
    else:
        # resolved like a named rubric, so `tasks check` meets each rubric's problems under one name
        path = shipped_fallback(tasks_dir() / "rubrics" / DEFAULT_RUBRIC[spec.kind]).resolve()
        if not path.exists():
            return []
    data, _, problems = rubric_problems(path)
    if spec.rubric and not path.exists():
        line = _line(task_path.read_text(encoding="utf-8"), ["rubric"])
        return [f"{task_path}{f':{line}' if line else ''}: rubric: {path} not found (the path is relative "
                "to the task file)"]
    if data is not None and not problems and data.get("kind") not in (None, spec.kind):
        problems.append(f"{path}: rubric kind {data['kind']!r} does not fit task {spec.id!r} of kind {spec.kind!r}")
    return problems
