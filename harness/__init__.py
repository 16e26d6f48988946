"""harness: evaluate LLM summaries and zh→en translations, Chinese handled right.

`harness.evaluate(...)` runs an evaluation from Python (harness/api.py); the sub-packages
are the steps of the flow (docs/extending.md)."""

__version__ = "0.1.0"
__all__ = ["evaluate"]


def __getattr__(name: str):
    if name == "evaluate":  # loaded on first use: `import harness` stays instant
        from harness.api import evaluate

        return evaluate
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
