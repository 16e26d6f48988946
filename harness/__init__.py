"""harness: evaluate LLM summaries and zh→en translations, Chinese handled right."""

__version__ = "0.1.0"
