"""The `harness` command group and its one-line failures. Command modules add to it:
parse, call the public API, print. Heavy imports (litellm, pandas, metrics) happen inside
the commands so `harness --help` and `harness tasks list` start instantly."""

from __future__ import annotations

import sys

import click

from harness.core import UserError
from harness.core import offline_environment


class Harness(click.Group):
    """Every failure a user can cause ends in one `error:` line: click's usage errors (exit 2),
    UserError (exit 2), an interrupt (exit 130, after the store kept every answer received).
    Anything else is a bug: its traceback is printed redacted, exit 1."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `harness` or `harness cache` alone: the help
                click.echo(exc.ctx.get_help())
                sys.exit(0)
            cmd = exc.ctx.command_path if exc.ctx is not None else "harness"
            _fail(f"{exc.format_message()} (see `{cmd} --help`)", 2)
        except UserError as exc:
            _fail(str(exc), exc.exit_code)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            _fail("interrupted; every answer received so far is stored in the response cache: "
                  "run the same command again to continue", 130)
        except Exception:  # noqa: BLE001 - a bug: show it, but never with a secret in it
            import traceback

            from harness.core import redact

            click.echo(redact(traceback.format_exc()).rstrip(), err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    from harness.core import redact

    click.echo("error: " + redact(" ".join(message.split())), err=True)
    sys.exit(code)


@click.group(cls=Harness, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Evaluate LLM summaries and zh→en translations: tasks → models → scores → leaderboard."""
    offline_environment()
