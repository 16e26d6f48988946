"""The command line: one module per command group; each parses, calls the public API, prints.
Heavy imports (litellm, pandas, metrics) happen inside the commands, so `harness --help` and
`harness tasks list` start at once."""

from harness.cli import _cache, _diff, _eval, _gate, _judge, _local, _meta, _results, _tasks  # noqa: F401 - they add the commands
from harness.cli._main import main

__all__ = ["main"]
