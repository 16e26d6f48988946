"""User-facing errors: one line, naming the file/item and what to fix; exit code 2."""


class UserError(Exception):
    """A mistake in the user's input or set-up (not a bug): printed as one line, exit 2."""

    exit_code = 2
