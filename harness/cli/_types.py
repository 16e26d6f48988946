"""Click parameter types that reject bad values at the edge (one `error:` line, exit 2)."""

from __future__ import annotations

import math

import click


class FiniteFloat(click.ParamType):
    """A float that is not nan or ±inf, within optional bounds (`min_open`: strictly above)."""

    name = "number"

    def __init__(self, min: float | None = None, max: float | None = None, min_open: bool = False):
        self.min, self.max, self.min_open = min, max, min_open

    def _range(self) -> str:
        low = "" if self.min is None else (f"> {self.min:g}" if self.min_open else f">= {self.min:g}")
        high = "" if self.max is None else f"<= {self.max:g}"
        return " and ".join(p for p in (low, high) if p) or "finite"

    def convert(self, value, param, ctx):
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number", param, ctx)
            if not math.isfinite(number):
                self.fail(f"{value!r} is not a finite number (allowed: {self._range()})", param, ctx)
        too_low = self.min is not None and (number <= self.min if self.min_open else number < self.min)
        too_high = self.max is not None and number > self.max
        if too_low or too_high:
            self.fail(f"{value!r} is out of range (allowed: {self._range()})", param, ctx)
        return number


def model_names(ctx, param, value):
    """Callback for --model/--judge options: `provider/name` needs a non-empty name."""
    names = value if isinstance(value, (tuple, list)) else (value,)
    for name in names:
        if name is None:
            continue
        check_model_name(name, param, ctx)
    return value


def check_model_name(name: str, param=None, ctx=None) -> None:
    provider, slash, rest = name.partition("/")
    if not name.strip() or (slash and (not provider.strip() or not rest.strip())):
        raise click.BadParameter(f"{name!r}: a model name is provider/name with both parts non-empty "
                                 "(e.g. openai/gpt-4o-mini)", ctx=ctx, param=param)
