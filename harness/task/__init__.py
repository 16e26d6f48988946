"""Tasks: the spec in tasks/*.yaml, its items and their sources, validation, rubrics,
languages, and the corpus build."""

from importlib import import_module

# public name -> (private module, its name there); loaded on first use so that a
# door never pulls in a heavy dependency its caller does not need
_WHERE = {
    'Item': ('_spec', 'Item'),
    'Rubric': ('_rubric', 'Rubric'),
    'Task': ('_spec', 'Task'),
    'load_rubric_file': ('_rubric', 'load_rubric_file'),
    'load_task': ('_spec', 'load_task'),
    'load_tasks': ('_spec', 'load_tasks'),
    'load_valid_tasks': ('_spec', 'load_valid_tasks'),
    'rubric_problems': ('_rubric', 'rubric_problems'),
    'sample': ('_sampling', 'sample'),
    'shipped_fallback': ('_rubric', 'shipped_fallback'),
    'task_files': ('_spec', 'task_files'),
    'task_problems': ('_spec', 'task_problems'),
    'task_rubric': ('_rubric', 'task_rubric'),
    'write_all': ('_corpus', 'write_all'),
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _WHERE[name]
    found = import_module(f"{__name__}.{module}")
    return found if attr is None else getattr(found, attr)


def __dir__() -> list[str]:
    return __all__
