"""The command line: one module per command group; each parses, calls the public API, prints."""

from harness.cli._main import main

__all__ = ["main"]
