"""Tasks and items: YAML + JSONL loading, validation with one clear line per problem,
and prompt rendering (Jinja2 templates versioned by the hash of their content)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.core import UserError
from harness.core import tasks_dir

# the languages the scorers know how to read (tokenizer, numbers, script); region codes
# of Chinese imply a script (zh-TW/zh-HK: Traditional, zh-CN: Simplified)
KNOWN_LANGS = ("zh", "zh-Hans", "zh-Hant", "zh-CN", "zh-TW", "zh-HK", "en", "ja", "ko")
SCRIPTS = ("simplified", "traditional")
TEMPLATE_VARIABLES = {"source", "meta", "task"}


UNLABELLED = "unlabelled"  # the condition of an item whose meta names none
RESERVED_CONDITIONS = ("all", "macro", "delta")  # leaderboard views; tag views contain "="

class Generation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float = 0.0
    max_tokens: int = Field(512, gt=0)
    top_p: float | None = None
    seed: int | None = None


class Lead(BaseModel):
    """What `baseline/lead` returns for this task: the first `n` units of the source."""

    model_config = ConfigDict(extra="forbid")
    unit: Literal["chars", "sentences"] = "chars"
    n: int = Field(200, gt=0)


class Completion(BaseModel):
    """A few-shot completion prompt for base models (which have no chat template): its
    examples are written for the task, never taken from its items."""

    model_config = ConfigDict(extra="forbid")
    prompt: str
    stop: list[str] = Field(default_factory=lambda: ["\n\n"], min_length=1)


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    kind: Literal["summarize", "translate"]
    source_lang: str
    target_lang: str
    prompt: str
    completion: Completion | None = None
    items: str
    references: str
    generation: Generation = Generation()
    metrics: list[str]
    lead: Lead = Lead()
    description: str = ""
    target_script: str | None = None
    rubric: str | None = None  # judge rubric file, relative to the task file (default: by kind)
    split: str | None = None  # which split of a dataset folder / hub dataset holds the items

    @field_validator("source_lang", "target_lang")
    @classmethod
    def _known_lang(cls, value: str) -> str:
        known = {k.lower(): k for k in KNOWN_LANGS}
        if value.lower() not in known:
            raise ValueError(f"unknown language {value!r} (known: {', '.join(KNOWN_LANGS)})")
        return known[value.lower()]

    @field_validator("target_script")
    @classmethod
    def _known_script(cls, value: str | None) -> str | None:
        from harness.score import script_of

        if value is None:
            return None
        try:
            return script_of(value)
        except ValueError:
            raise ValueError(f"unknown script {value!r} (known: {', '.join(SCRIPTS)}, or a region code: "
                             "zh-TW, zh-HK (Traditional), zh-CN (Simplified))") from None

    @model_validator(mode="after")
    def _script_fits_target(self) -> "TaskSpec":
        from harness.score import script_of

        implied = script_of(self.target_lang) if self.target_lang in ("zh-Hans", "zh-Hant", "zh-CN", "zh-TW",
                                                                       "zh-HK") else None
        if self.target_script and implied and self.target_script != implied:
            raise ValueError(f"target_script: {self.target_script} contradicts target_lang {self.target_lang} "
                             f"({implied}); drop one of them")
        if "script" in self.metrics and not self.target_lang.startswith("zh"):
            raise ValueError(f"metrics: metric 'script' needs a Chinese target_lang (this task's is {self.target_lang})")
        return self

    @property
    def script(self) -> str | None:
        """The script the output must be written in (None: not a Chinese target)."""
        from harness.score import script_of

        if not self.target_lang.startswith("zh"):
            return None
        return self.target_script or script_of(self.target_lang)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        from harness.score import registry

        known = registry.families()
        unknown = [m for m in value if m not in known]
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r} (known: {', '.join(known)})")
        return value


@dataclass
class Item:
    id: str
    source: str
    references: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    key_facts: list[str] = field(default_factory=list)
    ref_key: str = ""  # the reference id the item points at ('' = its own id)

    @property
    def condition(self) -> str:
        # an item without a condition is in its own view, never in one named like a pooled view
        return str(self.meta.get("condition", UNLABELLED))

    @property
    def block(self) -> str:
        """Unit of the block-level statistics (CIs, paired tests) (source section or document)."""
        return str(self.meta.get("block", self.id))


@dataclass
class Task:
    spec: TaskSpec
    path: Path
    template_text: str
    items: list[Item]
    completion_text: str | None = None  # the completion template, when the task has one

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def prompt_hash(self) -> str:
        """Hash of the chat prompt template (what chat models are asked with)."""
        return hashlib.sha256(self.template_text.encode("utf-8")).hexdigest()[:12]

    def template_for(self, kind: str) -> str:
        """The template a model of this prompt kind is asked with: a completion model gets the
        completion prompt when the task has one, else the chat prompt's text as it is."""
        if kind == "completion" and self.completion_text is not None:
            return self.completion_text
        return self.template_text

    def prompt_hash_for(self, kind: str) -> str:
        return hashlib.sha256(self.template_for(kind).encode("utf-8")).hexdigest()[:12]

    def stop_for(self, kind: str) -> list[str] | None:
        if kind == "completion":
            return list(self.spec.completion.stop) if self.spec.completion else ["\n\n"]
        return None

    def render(self, item: Item, kind: str = "chat") -> list[dict[str, str]]:
        compiled = self.__dict__.setdefault("_compiled", {})
        if kind not in compiled:  # compiled once per task and kind (load_task checked it renders)
            compiled[kind] = _compile(self.template_for(kind))
            self._task_vars = self.spec.model_dump()
        text = compiled[kind].render(source=item.source, meta=item.meta, task=self._task_vars)
        return [{"role": "user", "content": text}]


def _compile(text: str):
    from jinja2 import Environment, StrictUndefined

    return Environment(undefined=StrictUndefined, keep_trailing_newline=False).from_string(text)


def _read_text(path: Path, what: str, encoding: str = "utf-8") -> str:
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise UserError(f"{path}: {what} not found") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read {what} ({exc.strerror})") from None


def _jsonl(path: Path, what: str) -> list[tuple[int, dict]]:
    rows = []
    for n, line in enumerate(_read_text(path, what, "utf-8-sig").splitlines(), start=1):  # a BOM is fine
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{n}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
        rows.append((n, row))
    return rows


def _load_spec(path: Path) -> TaskSpec:
    spec, problems = _spec_or_problems(path)
    if problems:
        raise UserError(problems[0])
    return spec


def _spec_or_problems(path: Path) -> tuple[TaskSpec | None, list[str]]:
    """The task file's spec, or every problem in it (one line each)."""
    try:
        data = yaml.safe_load(_read_text(path, "task file"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        return None, [f"{path}{where}: malformed YAML ({getattr(exc, 'problem', exc)})"]
    except UserError as exc:
        return None, [str(exc)]
    if not isinstance(data, dict):
        return None, [f"{path}: a task file must be a YAML mapping (id, kind, prompt, items, ...)"]
    try:
        return TaskSpec.model_validate(data), []
    except ValidationError as exc:
        return None, _spec_problems(path, exc)


def _spec_problems(path: Path, exc: ValidationError) -> list[str]:
    """One line per problem of a task file, each with the line of the key at fault."""
    out = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        where = list(err["loc"])
        key, sep, rest = msg.partition(": ")
        if not where and sep and key in TaskSpec.model_fields:  # a check across keys names its key
            where, msg = [key], rest
        loc = ".".join(str(p) for p in where) or "task"
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see README 'Add your own task')"
        line = yaml_line(path, where)
        out.append(f"{path}{f':{line}' if line else ''}: {loc}: {msg}")
    return out


def yaml_line(path: Path, loc: list) -> int | None:
    """1-based line of the key at `loc` in a YAML file (the deepest key found), or None."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    if line is None and isinstance(node, yaml.Node):
        line = node.start_mark.line + 1
    return line


def _check_template(path: Path, text: str) -> None:
    from jinja2 import Environment, TemplateSyntaxError, meta

    try:
        ast = Environment().parse(text)
        _compile(text)  # compiling resolves filters and tests: an unknown one fails here
    except TemplateSyntaxError as exc:  # TemplateAssertionError (unknown filter) is a subclass
        raise UserError(f"{path}:{exc.lineno}: template error ({exc.message})") from None
    unknown = sorted(meta.find_undeclared_variables(ast) - TEMPLATE_VARIABLES)
    if unknown:
        raise UserError(f"{path}: template uses unknown variable {unknown[0]!r} "
                        f"(available: {', '.join(sorted(TEMPLATE_VARIABLES))})")


def _check_renders(task: "Task", template_path: Path, kind: str = "chat") -> None:
    """Render the template once for every item (StrictUndefined): a missing attribute such
    as `meta.domain`, or any other failure, names the template line and the item, before
    any model is asked."""
    import traceback

    from jinja2 import TemplateError, UndefinedError

    for item in task.items:
        try:
            task.render(item, kind)
        except Exception as exc:  # noqa: BLE001 - whatever a template does wrong is the user's to fix
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
            line = f":{frames[-1].lineno}" if frames else ""
            what = exc.message if isinstance(exc, (UndefinedError, TemplateError)) and exc.message else \
                f"{type(exc).__name__}: {exc}"
            raise UserError(f"{template_path}{line}: item {item.id}: template cannot be rendered ({what}); "
                            "fix the template or give every item the fields it uses") from None


def _dataset_rows(path: Path) -> list[dict]:
    """The items file through Hugging Face `datasets` (the same loader serves hub datasets)."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        ds = datasets.load_dataset("json", data_files=str(path), split="train")
    except Exception as exc:  # noqa: BLE001 - a file our line check accepted but datasets cannot type
        raise UserError(f"{path}: datasets could not load it ({_first_line(exc)}); "
                        "give every item's fields the same types") from None
    return [_drop_none(dict(r)) for r in ds]


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _drop_none(row: dict) -> dict:
    # datasets gives every row every column of the file's schema; absent fields come back None
    out = {k: v for k, v in row.items() if v is not None}
    if isinstance(out.get("meta"), dict):
        out["meta"] = {k: v for k, v in out["meta"].items() if v is not None}
    return out


def _item_rows(spec: TaskSpec, base: Path, via_datasets: bool, task_path: Path | None = None
               ) -> list[tuple[str, dict]]:
    """(where, row) for every item: `where` names the file and line (or the row). A problem
    of the source as a whole names the task file and the line of its `items:` key."""
    import harness.task._sources as src

    try:
        return _source_rows(spec, base, via_datasets, task_path)
    except src.SourceError as exc:
        line = yaml_line(task_path, ["items"]) if task_path else None
        raise UserError(f"{task_path}{f':{line}' if line else ''}: items: {exc}" if task_path else str(exc)) from None


def _source_rows(spec: TaskSpec, base: Path, via_datasets: bool, task_path: Path | None) -> list[tuple[str, dict]]:
    import harness.task._sources as src

    if spec.items.startswith("hf:"):
        name, _, inline = spec.items[3:].partition(":")
        local = (base / name).resolve() if name else None
        if local is not None and local.is_dir():  # hf:<folder>: a local folder, relative to the task file
            return _folder_rows(local, inline or spec.split)
        return src.hub_rows(spec.items, spec.split)
    path = (base / spec.items).resolve()
    if path.is_dir():
        return _folder_rows(path, spec.split)
    suffix = path.suffix.lower()
    if suffix not in src.FILE_SUFFIXES:
        raise src.SourceError(f"{path.name}: this item format is not supported (supported: {src.SUPPORTED})")
    if not path.exists():
        raise src.SourceError(f"{path}: items file not found; fix the path (relative to the task file)")
    if suffix in (".csv", ".tsv"):
        return src.csv_rows(path, _read_text)
    if suffix == ".parquet":
        return src.parquet_rows(path)
    checked = _jsonl(path, "items file")  # line by line first: errors can name the line
    if via_datasets and checked:
        return [(f"{path}:{n}", row) for (n, _), row in zip(checked, _through_datasets(path, checked))]
    return [(f"{path}:{n}", row) for n, row in checked]


def _folder_rows(folder: Path, split: str | None) -> list[tuple[str, dict]]:
    import harness.task._sources as src

    if src.is_saved_dataset(folder):
        return src.saved_dataset_rows(folder, split)
    return src.folder_rows(folder, split, _read_text)


def _through_datasets(path: Path, checked: list[tuple[int, dict]]) -> list[dict]:
    """Rows as `datasets` loads them. Importing datasets costs ~1.5 s, so a file whose exact
    bytes were already loaded once and gave the same rows as the line reader is not loaded
    again: a stamp named by the file's sha256 records that equality."""
    from harness.core import ROOT

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    stamp = ROOT / ".cache" / "harness" / "datasets-verified" / digest
    plain = [_drop_none(r) for _, r in checked]
    if stamp.exists():
        return plain
    rows = _dataset_rows(path)
    if rows == plain:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(str(path), encoding="utf-8")
    return rows


def _missing_references(refs_path: Path, task_path: Path | None) -> str:
    line = yaml_line(task_path, ["references"]) if task_path else None
    where = f"{task_path}{f':{line}' if line else ''}: references: " if task_path else ""
    return f"{where}{refs_path}: references file not found; fix the path (relative to the task file)"


def _references(refs_path: Path, task_path: Path | None = None) -> dict[str, dict]:
    """The references file by id, each row checked."""
    if not refs_path.exists():
        raise UserError(_missing_references(refs_path, task_path))
    refs: dict[str, dict] = {}
    for n, row in _jsonl(refs_path, "references file"):
        rid = row.get("id")
        if not isinstance(rid, str) or not rid:
            raise UserError(f"{refs_path}:{n}: reference row without an 'id'")
        got = row.get("references")
        if not isinstance(got, list) or not got or not all(isinstance(r, str) and r.strip() for r in got):
            raise UserError(f"{refs_path}:{n}: id {rid}: 'references' must be a non-empty list of non-empty strings")
        if rid in refs:
            raise UserError(f"{refs_path}:{n}: duplicate reference id {rid!r}")
        refs[rid] = row
    return refs


def _items(spec: TaskSpec, base: Path, via_datasets: bool = True, task_path: Path | None = None) -> list[Item]:
    refs_path = (base / spec.references).resolve()
    refs = _references(refs_path, task_path)
    rows = _item_rows(spec, base, via_datasets, task_path)
    items, seen = [], {}
    for where, row in rows:
        extra = set(row) - {"id", "source", "ref_key", "meta"}
        iid = row.get("id")
        if isinstance(iid, int) and not isinstance(iid, bool):  # a parquet/datasets id column of numbers
            iid = str(iid)
        if not isinstance(iid, str) or not iid:
            raise UserError(f"{where}: item without an 'id'")
        if extra:
            raise UserError(f"{where}: item {iid}: unknown key {sorted(extra)[0]!r} (allowed: id, source, ref_key, meta)")
        if iid in seen:
            raise UserError(f"{where}: duplicate id {iid!r} (first on line {seen[iid].rsplit(':', 1)[-1]})")
        seen[iid] = where
        source = row.get("source")
        if not isinstance(source, str) or not source.strip():
            raise UserError(f"{where}: item {iid}: empty or missing 'source'")
        meta = row.get("meta", {})
        if not isinstance(meta, dict):
            raise UserError(f"{where}: item {iid}: 'meta' must be a JSON object")
        cond = meta.get("condition")
        if cond is not None and (str(cond) in RESERVED_CONDITIONS or "=" in str(cond) or not str(cond).strip()):
            raise UserError(f"{where}: item {iid}: condition {cond!r} is a name the leaderboard uses for its own views "
                            f"({', '.join(RESERVED_CONDITIONS)} and tag=value); rename the condition")
        key = row.get("ref_key", iid)
        ref = refs.get(key)
        if ref is None:
            raise UserError(f"{where}: item {iid}: no reference with id {key!r} in {refs_path.name}")
        facts = ref.get("key_facts", [])
        if "key_facts" in spec.metrics and not facts:
            raise UserError(f"{refs_path}: id {key}: task {spec.id} scores key_facts but the reference has none")
        items.append(Item(iid, source, list(ref["references"]), meta, list(facts), str(key)))
    if not items:
        raise UserError(f"{spec.items}: no items")
    return items


def load_task(path: Path, via_datasets: bool = True) -> Task:
    """A task with its items. `via_datasets=False` reads the JSONL directly (same rows, no
    `datasets` import: for commands that must start instantly, such as `tasks list`)."""
    spec = _load_spec(path)
    from harness.task._rubric import task_rubric_problems

    rubric_problems = task_rubric_problems(spec, path)  # before any call, not after every answer is in
    if rubric_problems:
        raise UserError(rubric_problems[0])
    base = path.parent
    template_path = base / spec.prompt
    template_text = _read_text(template_path, "prompt template")
    _check_template(template_path, template_text)
    completion_text = None
    completion_path = None
    if spec.completion is not None:
        completion_path = base / spec.completion.prompt
        completion_text = _read_text(completion_path, "completion prompt template")
        _check_template(completion_path, completion_text)
    task = Task(spec, path, template_text, _items(spec, base, via_datasets, path), completion_text)
    _check_renders(task, template_path)
    if completion_path is not None:
        _check_renders(task, completion_path, "completion")
    return task


def task_files(root: Path | None = None) -> list[Path]:
    return sorted((root or tasks_dir()).glob("*.yaml"))


def load_tasks(names: list[str] | None = None, root: Path | None = None, via_datasets: bool = True) -> list[Task]:
    root = root or tasks_dir()
    files = {p.stem: p for p in task_files(root)}
    if names:
        missing = [n for n in names if n not in files and not Path(n).is_file()]
        if missing:
            raise UserError(f"unknown task {missing[0]!r} (tasks in {root}: {', '.join(files) or 'none'})")
        paths = [files[n] if n in files else Path(n) for n in names]
    else:
        paths = list(files.values())
    tasks = [load_task(p, via_datasets) for p in paths]
    ids = [t.id for t in tasks]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise UserError(f"two task files declare the same id {dup!r}")
    return tasks


def task_problems(path: Path, via_datasets: bool = True) -> list[str]:
    """Every problem of one task file and of the files it names (prompt templates, rubric,
    references, items), one line each: [] when the task loads. A file that cannot be read
    stops the checks that need it; the others still run."""
    from harness.task._rubric import task_rubric_problems

    spec, problems = _spec_or_problems(path)
    if spec is None:
        return problems + [p for p in _named_file_problems(path) if p not in problems]
    problems += task_rubric_problems(spec, path)
    base = path.parent
    templates: dict[str, tuple[Path, str]] = {}
    named = [("chat", spec.prompt, "prompt template")]
    if spec.completion is not None:
        named.append(("completion", spec.completion.prompt, "completion prompt template"))
    for kind, rel, what in named:
        try:
            text = _read_text(base / rel, what)
            _check_template(base / rel, text)
            templates[kind] = (base / rel, text)
        except UserError as exc:
            problems.append(str(exc))
    try:
        items = _items(spec, base, via_datasets, path)
    except UserError as exc:
        problems.append(str(exc))
        items = None
    if items is not None and len(templates) == len(named):
        task = Task(spec, path, templates["chat"][1], items, templates.get("completion", (None, None))[1])
        for kind, (template_path, _) in templates.items():
            try:
                _check_renders(task, template_path, kind)
            except UserError as exc:
                problems.append(str(exc))
    return problems


def _named_file_problems(path: Path) -> list[str]:
    """Problems of the files a task file names that can be found without a valid spec (the
    task file has errors of its own): prompt templates, the references file, a missing
    items file. So `tasks check` lists them beside the task file's own problems."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    if not isinstance(data, dict):
        return []
    base, out = path.parent, []
    completion = data.get("completion")
    named = [(data.get("prompt"), "prompt template")]
    if isinstance(completion, dict):
        named.append((completion.get("prompt"), "completion prompt template"))
    for rel, what in named:
        if isinstance(rel, str) and rel:
            try:
                _check_template(base / rel, _read_text(base / rel, what))
            except UserError as exc:
                out.append(str(exc))
    refs = data.get("references")
    if isinstance(refs, str) and refs:
        try:
            _references((base / refs).resolve(), path)
        except UserError as exc:
            out.append(str(exc))
    rubric = data.get("rubric")
    if isinstance(rubric, str) and rubric and not (base / rubric).exists():
        line = yaml_line(path, ["rubric"])
        out.append(f"{path}{f':{line}' if line else ''}: rubric: {(base / rubric).resolve()} not found (the path is "
                   "relative to the task file)")
    items = data.get("items")
    if isinstance(items, str) and items and not items.startswith("hf:") and not (base / items).exists():
        line = yaml_line(path, ["items"])
        out.append(f"{path}{f':{line}' if line else ''}: items: {(base / items).resolve()}: items file not found; "
                   "fix the path (relative to the task file)")
    return out


def load_valid_tasks(root: Path | None = None, via_datasets: bool = True) -> tuple[list[Task], dict[Path, str]]:
    """Every task in the folder that loads, and for each file that does not, its first
    problem: one broken file never hides the others (`harness tasks check` lists them all)."""
    tasks, broken = [], {}
    for p in task_files(root):
        try:
            tasks.append(load_task(p, via_datasets))
        except UserError as exc:
            broken[p] = str(exc)
    first = {}
    for t in list(tasks):
        if t.id in first:
            broken[t.path] = f"{t.path}: declares the id {t.id!r} of {first[t.id].name}; give each task its own id"
            tasks.remove(t)
        else:
            first[t.id] = t.path
    return tasks, broken
