"""The gate's Markdown summary, written for a GitHub pull-request comment.

Everything that comes from outside the harness (model outputs, item and task ids, model
names, error messages) is escaped so that it renders as plain text: no HTML, no
@-mentions or #-references that notify people, no Markdown that folds, links or breaks
the table. The comment is capped below GitHub's 65,536-character limit; what does not fit
is counted in a closing line that points at the full summary.
"""

from __future__ import annotations

import math
import re
import unicodedata

MAX_CHARS = 60_000
FIELD_CHARS = 120  # ids, model names, error causes
TEXT_CHARS = 220  # model outputs in the worst-items list
# \u2060 (word joiner) is invisible; after @ or # it stops GitHub from linking a mention,
# team, issue or pull request; inside :// and www. it stops autolinks
_JOIN = "\u2060"
_PUNCT = re.compile(r"([\\`*_{}\[\]()#+!|~$^])")  # CommonMark/GFM inline syntax (and math)
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))


def md(text, limit: int = FIELD_CHARS) -> str:
    """One line of plain text, safe anywhere in GitHub Markdown, including a table cell."""
    text = one_line(text, limit)  # newlines (and U+2028/2029) would end the cell or the list item
    text = _PUNCT.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("@", "@" + _JOIN).replace("#", "#" + _JOIN)
    text = text.replace("://", ":" + _JOIN + "//")
    return re.sub(r"(?i)\b(www)\.", r"\1" + _JOIN + ".", text)


def _num(v: float, fmt: str = "{:.2f}") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if math.isinf(v):
        return "∞"
    return fmt.format(v)


def _headline(result) -> str:
    return "## " + headline(result)


def headline(result) -> str:
    """The verdict in one line of plain text."""
    parts = []
    if result.regressions:
        parts.append(f"{len(result.regressions)} regression(s)")
    if result.drift:
        parts.append(f"scoring changed for {len(result.drift)} metric(s)")
    if result.failures:
        n = sum(f.n_errors for f in result.failures)
        parts.append(f"{n} item(s) without an answer: the gate cannot see them")
    if parts:
        return "harness check: ❌ " + "; ".join(parts)
    if result.tests and not any(math.isfinite(t.mdd) for t in result.tests):
        return ("harness check: ✅ no regression, but this baseline cannot detect one: too few blocks "
                "for any test to reach significance (see *detectable drop*)")
    return "harness check: ✅ no regression"


def _requests(result) -> str:
    return (f"{result.n_requests} requests: {result.n_called} sent to a model, "
            f"{result.n_requests - result.n_called} answered from the cache")


def plain(result, summary_path: str | None = None, width: int = 80) -> str:
    """The check for a terminal or a CI log: plain text within `width` columns (the Markdown
    comment goes to a file). Outside text is cut to one line without control characters."""
    import textwrap

    def line(text: str, indent: str = "") -> list[str]:
        return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "    ",
                             break_on_hyphens=False) or [""]

    m = sum(1 for t in result.tests if not math.isnan(t.p_value))
    out = line(headline(result))
    out += line(f"{_requests(result)}. "
                f"Each metric: a one-sided paired randomization test over source blocks, Holm over {m} "
                f"test(s) at α = {result.alpha}; a regression is significant and larger than its threshold.")
    if result.failures:
        out += ["", "Items without an answer (the check fails until they are answered):"]
        for f in result.failures:
            out += line(f"{one_line(f.model)} · {one_line(f.task)} ({one_line(f.what)}): {f.n_errors} of {f.n_items} failed; "
                        f"first, {one_line(f.first_item)}: {one_line(f.first_error, 200)}", "  ")
    if result.drift:
        out += ["", "Scoring changed (review, then `harness baseline update`):"]
        for d in result.drift:
            out += line(f"{one_line(d.task)} · {one_line(d.metric)}: {d.n} item(s) differ (first: {_num(d.old)} → "
                        f"{_num(d.new)})", "  ")
    out += ["", "Prompts changed:" + ("" if result.prompts_changed else " none")]
    for task, old, new, prompt in result.prompts_changed:
        out += line(f"{one_line(task)}: {one_line(', '.join(old))} → {one_line(new)} ({one_line(prompt)})", "  ")
    groups: dict[tuple[str, str], list] = {}
    for t in sorted(result.tests, key=lambda t: (not t.regressed, not t.significant, t.task, t.model, t.metric)):
        groups.setdefault((t.model, t.task), []).append(t)
    out += ["", "after − before, per model and task:" if groups else "No test could be run."]
    for (model, task), tests in groups.items():
        out += line(f"{one_line(model)} · {one_line(task)}", "  ")
        for t in tests:
            ci = f" [{_num(t.ci_low, '{:+.2f}')}, {_num(t.ci_high, '{:+.2f}')}]" if not math.isnan(t.ci_low) else ""
            flag = "REGRESSED" if t.regressed else ("worse, within threshold" if t.significant else "ok")
            mdd = _num(t.mdd) + ("†" if t.mdd_basis == "unrelated" and math.isfinite(t.mdd) else "")
            out += line(f"{flag}: {one_line(t.metric)} {_num(t.before)} → {_num(t.after)}, Δ {_num(t.diff, '{:+.2f}')}"
                        f"{ci}, p {_num(t.p_value, '{:.3f}')} (Holm {_num(t.p_holm, '{:.3f}')}), threshold "
                        f"{_num(t.threshold)}, detectable drop {mdd}, n {t.n}", "    ")
    if result.worst:
        out += ["", "Worst items:"]
        for w in result.worst:
            deltas = ", ".join(f"{one_line(name)} {d:+.1f}" for name, d in w.deltas.items())
            out += line(f"{one_line(w.model)} · {one_line(w.task)} · {one_line(w.item)} ({deltas})", "  ")
            out += line(f"before: {one_line(w.before, TEXT_CHARS)}", "    ")
            out += line(f"after: {one_line(w.after, TEXT_CHARS)}", "    ")
    if summary_path:  # on a line of its own, unwrapped, so it can be copied
        out += ["", "Markdown for the pull request:", one_line(summary_path, 1000)]
    return "\n".join(out)


def one_line(text, limit: int = FIELD_CHARS) -> str:
    """Outside text on one terminal line: no control characters (no escape sequences), no
    bidirectional overrides, cut at `limit`."""
    text = " ".join(str(text).split())
    text = "".join(c for c in text if unicodedata.category(c) != "Cc").translate(_BIDI)
    return text[:limit] + "…" if len(text) > limit else text


def _test_row(t) -> str:
    flag = "❌ regressed" if t.regressed else ("worse, significant, within threshold" if t.significant else "")
    ci = f" [{_num(t.ci_low, '{:+.2f}')}, {_num(t.ci_high, '{:+.2f}')}]" if not math.isnan(t.ci_low) else ""
    mdd = _num(t.mdd) + ("†" if t.mdd_basis == "unrelated" and math.isfinite(t.mdd) else "")
    return (f"| {md(t.model)} | {md(t.task)} | {md(t.metric)} | {_num(t.before)} | {_num(t.after)} | "
            f"{_num(t.diff, '{:+.2f}')}{ci} | {_num(t.p_value, '{:.3f}')} / {_num(t.p_holm, '{:.3f}')} | "
            f"{_num(t.threshold)} | {mdd} | {t.n} | {flag} |")


def render(result, full_path: str | None = None, limit: int = MAX_CHARS) -> tuple[str, str]:
    """(comment capped at `limit` characters, the full summary)."""
    m = sum(1 for t in result.tests if not math.isnan(t.p_value))
    units: list[tuple[int, int, str, str]] = []  # (display order, priority, section, text)

    def add(order: int, priority: int, section: str, text: str) -> None:
        units.append((order, priority, section, text))

    add(0, 0, "", _headline(result) + "\n\n" + (
        f"{_requests(result)}. "
        f"Each (model, task, metric) asks whether *after is worse than before*: a one-sided paired "
        f"randomization test over source blocks, Holm-corrected over the {m} tests of this check at "
        f"α = {result.alpha}. A metric regresses when that test is significant **and** the drop is larger "
        f"than its threshold (gate.yaml).\n"))
    if result.failures:
        add(10, 0, "", "### Items without an answer\n\nThe gate compares only what it can see; these items "
                       "have a baseline answer and no current one, so the check fails until they are answered "
                       "(run it again: answers already received are cached).\n")
        for k, f in enumerate(result.failures):
            add(11 + k * 1e-6, 1, "failures", f"- **{md(f.model)} · {md(f.task)}** ({md(f.what)}): "
                f"{f.n_errors} of {f.n_items} item(s) failed; first, {md(f.first_item)}: {md(f.first_error, 300)}")
        add(12, 0, "", "")
    if result.drift:
        add(20, 0, "", "### Scoring changed\n\nThe baseline outputs, re-scored now, no longer get the scores "
                       "recorded with them: the scorers changed. Review the change and run "
                       "`harness baseline update`.\n")
        for k, d in enumerate(result.drift):
            add(21 + k * 1e-6, 1, "scoring changes",
                f"- {md(d.task)} · {md(d.metric)}: {d.n} item(s) differ (first: {_num(d.old)} → {_num(d.new)})")
        add(22, 0, "", "")
    add(30, 3, "", "### Prompts changed\n")
    for k, (task, old, new, prompt) in enumerate(result.prompts_changed):
        add(31 + k * 1e-6, 3, "changed prompts",
            f"- {md(task)}: prompt {md(', '.join(old))} → {md(new)} ({md(prompt)})")
    if not result.prompts_changed:
        add(31, 3, "", "- none")
    add(40, 0, "", "\n### Deltas (after − before)\n\n"
                   "| model | task | metric | before | after | Δ [95% CI] | p / Holm p | threshold | "
                   "detectable drop | n | |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    ordered = sorted(result.tests, key=lambda t: (not t.regressed, not t.significant, t.task, t.model, t.metric))
    for k, t in enumerate(ordered):
        add(41 + k * 1e-6, 2 if t.regressed else 5, "table rows", _test_row(t))
    if not result.tests:
        add(41, 0, "", "| — | — | — | — | — | — | — | — | — | 0 | no test could be run |")
    add(50, 0, "", f"\n*Detectable drop*: the smallest drop this baseline lets the gate flag with 80% power "
                   f"when it is the only regression: one-sided at α/m = {_num(result.level, '{:.4f}')} (Holm's first "
                   f"step over the {m} tests), from the block-bootstrap spread of the paired difference; ∞: too few "
                   "blocks for any p-value to reach that level; —: not measurable, the metric did not vary over the "
                   "baseline items (no spread to size a drop by). † no output changed, so the noise of a change cannot "
                   "be measured: the figure is for a change unrelated to the baseline item by item.")
    if result.worst:
        add(60, 2, "", "\n### Worst items\n")
        for k, w in enumerate(result.worst):
            deltas = ", ".join(f"{md(name)} {d:+.1f}" for name, d in w.deltas.items())
            add(61 + k * 1e-6, 4, "worst items",
                f"**{md(w.model)} · {md(w.task)} · {md(w.item)}** ({deltas})\n\n"
                f"- before: {md(w.before, TEXT_CHARS)}\n- after: {md(w.after, TEXT_CHARS)}\n")
    full = "\n".join(u[3] for u in sorted(units, key=lambda u: u[0])) + "\n"
    # a code span shows the path as it is (no Markdown, no HTML, no links inside it)
    where = f" The full summary is in `{' '.join(str(full_path).replace('`', '').split())}`." if full_path else ""
    budget = limit - 400 - len(where)  # room for the closing line
    kept, used, left = set(), 0, {}
    for i, u in sorted(enumerate(units), key=lambda x: (x[1][1], x[1][0])):
        if used + len(u[3]) + 1 <= budget:
            kept.add(i)
            used += len(u[3]) + 1
        else:
            left[u[2] or "other"] = left.get(u[2] or "other", 0) + 1
    text = "\n".join(u[3] for i, u in sorted(enumerate(units), key=lambda x: x[1][0]) if i in kept)
    if left:
        text += ("\n\n**Left out to stay under GitHub's comment limit:** "
                 + ", ".join(f"{n} {s}" for s, n in left.items()) + "." + where)
    return text + "\n", full
