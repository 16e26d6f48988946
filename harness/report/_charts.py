"""Inline SVG for the HTML report: the small CI whisker of a table cell, and charts with
labelled axes (`class="chart"`, axis titles `class="axis-label"`). Every string that enters
the SVG is escaped (names come from users' files); charts scale down to the page width
through their viewBox."""

from __future__ import annotations

import math
from html import escape

PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]
FONT = 'font-family="system-ui, sans-serif"'


def esc(text) -> str:
    return escape(str(text), quote=True)


def num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not hi > lo:
        hi = lo + 1
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks = [round(start, 10)]
    while ticks[-1] < hi - 1e-9 and len(ticks) < 40:  # the last tick covers hi (a CI's upper end too)
        ticks.append(round(start + len(ticks) * step, 10))
    return ticks


def _fmt_tick(t: float) -> str:
    return f"{t:g}"


def _open(width: int, height: int, title: str) -> str:
    """The chart's <svg>: as wide as the page allows, up to its drawn size."""
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" style="width: 100%; max-width: {width}px" '
            f'role="img" aria-label="{esc(title)}" {FONT}><title>{esc(title)}</title>')


def whisker(value, lo, hi, scale_lo: float, scale_hi: float, width: int = 110) -> str:
    """A bar for the value from the scale's start, a line with end caps for its 95% CI."""
    v, lo, hi = num(value), num(lo), num(hi)
    if math.isnan(v) or not scale_hi > scale_lo:
        return ""
    x = lambda t: max(0.0, min(width, width * (t - scale_lo) / (scale_hi - scale_lo)))  # noqa: E731
    parts = [f'<rect x="0" y="4" width="{x(v):.1f}" height="8" fill="#9ecae1"/>']
    if not (math.isnan(lo) or math.isnan(hi)):
        parts.append(f'<line x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="8" y2="8" stroke="#08306b" stroke-width="1.5"/>')
        parts += [f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="4" y2="12" stroke="#08306b"/>' for t in (lo, hi)]
    return (f'<svg class="whisker" width="{width}" height="16" role="img" aria-label="value {v:.2f} with its '
            f'95% CI">{"".join(parts)}</svg>')


def bar_chart(groups: list[str], series: list[str], cell: dict, x_label: str, y_label: str,
              title: str, colors: dict[str, str], compact: bool = False) -> str:
    """Horizontal grouped bars: one group per `groups` entry, one bar per series, CI
    whiskers, an x axis with ticks starting at 0 (or below, for negative values), both
    axes titled. cell: (group, series) -> (value, ci_low, ci_high). `compact` (for phones)
    puts each group's name above its bars instead of beside them."""
    values = [x for g in groups for s in series if (g, s) in cell for x in cell[g, s] if not math.isnan(num(x))]
    if not values:
        return ""
    ticks = nice_ticks(min(0.0, min(values)), max(values))
    lo, hi = ticks[0], ticks[-1]
    bar_h, gap = 14, 12
    label_w = 0 if compact else min(200, 16 + 8 * max(len(str(g)) for g in groups))
    left, plot_w, right = 30 + label_w, 330 if compact else 400, 24
    head = 20 if compact else 0  # the group's name above its bars
    top = 8
    group_h = len(series) * bar_h + head
    height = top + len(groups) * (group_h + gap) + 52
    width = left + plot_w + right
    x = lambda t: left + plot_w * (t - lo) / (hi - lo)  # noqa: E731
    out = [_open(width, height, title)]
    axis_y = top + len(groups) * (group_h + gap)
    for t in ticks:  # grid and tick labels
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{axis_y}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x(t):.1f}" y="{axis_y + 18}" font-size="14" text-anchor="middle" fill="#444">'
                   f'{_fmt_tick(t)}</text>')
    if lo < 0 < hi:
        out.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{axis_y}" stroke="#888"/>')
    y = top
    for g in groups:
        if compact:
            out.append(f'<text x="{left + 4}" y="{y + 15}" font-size="15">{esc(g)}</text>')
            y += head
        else:
            out.append(f'<text x="{left - 8}" y="{y + group_h / 2 + 4:.0f}" font-size="15" text-anchor="end">'
                       f'{esc(g)}</text>')
        for s in series:
            v, c_lo, c_hi = (num(t) for t in cell.get((g, s), (math.nan,) * 3))
            if not math.isnan(v):
                x0, x1 = sorted((x(max(lo, 0.0) if lo < 0 < hi or lo >= 0 else hi), x(v)))
                out.append(f'<rect x="{x0:.1f}" y="{y + 1}" width="{max(x1 - x0, 1):.1f}" height="{bar_h - 3}" '
                           f'fill="{colors[s]}"><title>{esc(s)} · {esc(g)}: {v:.3g}'
                           + (f' [{c_lo:.3g}, {c_hi:.3g}]' if not math.isnan(c_lo) else "") + '</title></rect>')
                if not (math.isnan(c_lo) or math.isnan(c_hi)):
                    cy = y + bar_h / 2 - 0.5
                    out.append(f'<line x1="{x(c_lo):.1f}" x2="{x(c_hi):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
                               f'stroke="#222" stroke-width="1.4"/>')
                    out += [f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{cy - 4:.1f}" y2="{cy + 4:.1f}" '
                            f'stroke="#222" stroke-width="1.4"/>' for t in (c_lo, c_hi)]
            y += bar_h
        y += gap
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{axis_y}" y2="{axis_y}" stroke="#444"/>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{axis_y}" stroke="#444"/>')
    out.append(f'<text class="axis-label" x="{left + plot_w / 2:.0f}" y="{axis_y + 42}" font-size="15" '
               f'text-anchor="middle">{esc(x_label)}</text>')
    out.append(f'<text class="axis-label" x="16" y="{(top + axis_y) / 2:.0f}" font-size="15" text-anchor="middle" '
               f'transform="rotate(-90 16 {(top + axis_y) / 2:.0f})">{esc(y_label)}</text>')
    return "".join(out) + "</svg>"


def dot_chart(rows: list[str], cell: dict, x_label: str, y_label: str, title: str,
              lo: float = -1.0, hi: float = 1.0, highlight=lambda name: False, compact: bool = False) -> str:
    """One dot per row with its 95% CI on a fixed [lo, hi] axis (a correlation), a line at 0.
    cell: row -> (value, ci_low, ci_high); rows without a value are named 'undefined'.
    `compact` (for phones) puts each row's name above its dot instead of beside it."""
    if not rows:
        return ""
    row_h = 40 if compact else 24
    label_w = 0 if compact else min(230, 16 + 8 * max(len(r) for r in rows))
    left, plot_w, right, top = 30 + label_w, 330 if compact else 320, 24, 8
    axis_y = top + len(rows) * row_h + 4
    width, height = left + plot_w + right, axis_y + 52
    x = lambda t: left + plot_w * (min(hi, max(lo, t)) - lo) / (hi - lo)  # noqa: E731
    out = [_open(width, height, title)]
    for t in nice_ticks(lo, hi, 4):
        if lo - 1e-9 <= t <= hi + 1e-9:
            out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{axis_y}" '
                       f'stroke="{"#888" if t == 0 else "#e5e5e5"}"/>')
            out.append(f'<text x="{x(t):.1f}" y="{axis_y + 18}" font-size="14" text-anchor="middle" fill="#444">'
                       f'{_fmt_tick(t)}</text>')
    for k, name in enumerate(rows):
        cy = top + k * row_h + (row_h - 14 if compact else row_h / 2)
        color = "#C44E52" if highlight(name) else "#4C72B0"
        if compact:
            out.append(f'<text x="{left + 4}" y="{cy - 10:.0f}" font-size="15">{esc(name)}</text>')
        else:
            out.append(f'<text x="{left - 8}" y="{cy + 4:.0f}" font-size="15" text-anchor="end">{esc(name)}</text>')
        v, c_lo, c_hi = (num(t) for t in cell.get(name, (math.nan,) * 3))
        if math.isnan(v):
            out.append(f'<text x="{left + plot_w / 2:.0f}" y="{cy + 5:.0f}" font-size="14" fill="#888" '
                       f'text-anchor="middle">undefined</text>')
            continue
        if not (math.isnan(c_lo) or math.isnan(c_hi)):
            out.append(f'<line x1="{x(c_lo):.1f}" x2="{x(c_hi):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{color}" '
                       f'stroke-width="2"/>')
            out += [f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{cy - 5:.1f}" y2="{cy + 5:.1f}" stroke="{color}" '
                    f'stroke-width="1.5"/>' for t in (c_lo, c_hi)]
        out.append(f'<circle cx="{x(v):.1f}" cy="{cy:.1f}" r="4.5" fill="{color}"><title>{esc(name)}: {v:+.3f}'
                   + (f' [{c_lo:+.3f}, {c_hi:+.3f}]' if not math.isnan(c_lo) else "") + '</title></circle>')
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{axis_y}" y2="{axis_y}" stroke="#444"/>')
    out.append(f'<text class="axis-label" x="{left + plot_w / 2:.0f}" y="{axis_y + 42}" font-size="15" '
               f'text-anchor="middle">{esc(x_label)}</text>')
    out.append(f'<text class="axis-label" x="16" y="{(top + axis_y) / 2:.0f}" font-size="15" text-anchor="middle" '
               f'transform="rotate(-90 16 {(top + axis_y) / 2:.0f})">{esc(y_label)}</text>')
    return "".join(out) + "</svg>"
