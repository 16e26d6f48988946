"""`harness serve-local`: an embedded model as an OpenAI-compatible server."""

from __future__ import annotations

import sys

import click

from harness.cli._main import main


@main.command("serve-local")
@click.option("--model", "name", default="gemma3-270m", show_default=True,
              help="Embedded model: gemma3-270m or smollm2-135m.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
def serve_local(name, host, port) -> None:
    """Serve an embedded model as an OpenAI-compatible server (llama-cpp-python's), for other
    tools: OPENAI_API_BASE=http://HOST:PORT/v1, model name = the --model value."""
    from harness.model import local_model as get
    from harness.model import serve_local as serve

    get(name)  # an unknown name is one line, before anything loads
    sys.exit(serve(["--model", name, "--host", host, "--port", str(port)]))
