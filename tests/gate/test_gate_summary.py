"""The gate's pull-request comment: hostile model outputs render as plain text, and the
comment stays under GitHub's size limit with a line saying what was left out.

The Markdown is checked by rendering it with markdown-it-py (CommonMark + GFM tables, raw
HTML allowed as on GitHub) and reading the HTML back: only the tags the summary itself
writes may appear, every table row keeps its cells, and the text holds no @-mention or
#-reference that GitHub would link."""

import math
import re
from html.parser import HTMLParser

import pytest

from harness.gate._check import CheckResult, Comparison, Drift, Failure, Worst
from harness.gate._summary import MAX_CHARS, md, plain, render

HOSTILE = [
    "<details><summary>click</summary>everything after this folds away",
    '<img src=x onerror="alert(1)">',
    "cc @octocat and @github/security-team, see #123 and other/repo#45",
    "```\ncode fence breaks the table\n```",
    "a | pipe | table | breaker |",
    "line one\nline two\r\n\n| fake | row |",
    "[click me](https://evil.example/phish) ![x](https://evil.example/x.png) www.evil.example",
    "**bold** _under_ ~~strike~~ `tick` $x^2$ <!-- comment --> &amp; &#64;octocat",
    "# Heading\n> quote\n- list\n1. numbered",
    "<script>alert(1)</script><b onmouseover=alert(1)>b</b>",
    "\u202eevil bidi override\u202c and a NUL\x00 and a bell\x07",
]
ALLOWED_TAGS = {"h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "strong", "em", "code"}


class Reader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.rows, self._row = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "tr":
            self._row = 0
        if tag in ("td", "th") and self._row is not None:
            self._row += 1

    def handle_endtag(self, tag):
        if tag == "tr":
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)


def rendered(markdown: str) -> Reader:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough").render(markdown)
    reader = Reader()
    reader.feed(html)
    return reader


def hostile_result(n_tests: int = 0, n_worst: int = 0, text_len: int = 0) -> CheckResult:
    tests, worst = [], []
    for k, h in enumerate(HOSTILE * max(1, n_tests // len(HOSTILE) + 1)):
        if k >= max(n_tests, len(HOSTILE)):
            break
        tests.append(Comparison(f"openai/{h}", f"task{k}{h}", f"chrf{h}", 50.0, 40.0, -10.0, -12.0, -8.0, 0.001, 12,
                          40, 1.0, 10.0, 3.2, "observed", p_holm=0.004, significant=True, regressed=k % 2 == 0))
    for k, h in enumerate(HOSTILE * max(1, n_worst // len(HOSTILE) + 1)):
        if k >= max(n_worst, len(HOSTILE)):
            break
        long = (h + " ") * (text_len // len(h) + 1) if text_len else h
        worst.append(Worst("openai/m", "mt", f"item{k}{h}", long, long[::-1], {"chrf": -30.0, f"rouge{h}": -10.0}))
    failures = [Failure("openai/m", "mt", 40, 12, f"id{h}", f"APIError: {h}") for h in HOSTILE]
    drift = [Drift(f"t{h}", "rougeL", 3, 1.0, 0.5)]
    return CheckResult(tests, failures, drift, worst, [("mt", [HOSTILE[2]], "abc", HOSTILE[0])], 100, 40, 0.05,
                       ["openai/m"])


def test_md_escapes_every_special_character():
    assert md("a|b") == "a\\|b"
    assert md("<details>") == "&lt;details&gt;"
    assert md("x\ny\r\nz") == "x y z"
    assert "@\u2060octocat" in md("@octocat") and "#\u2060123" in md("#123")
    assert md("`x`") == "\\`x\\`"
    assert md("a" * 500, limit=10) == "a" * 10 + "…"


def test_hostile_outputs_render_as_plain_text():
    comment, full = render(hostile_result(), "results/check.full.md")
    for markdown in (comment, full):
        html = rendered(markdown)
        tags = {t for t, _ in html.tags}
        assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
        assert all(not attrs for t, attrs in html.tags if t != "td" and t != "th")  # no src/onerror/href
        assert all(all(k == "style" for k, _ in attrs) for t, attrs in html.tags)  # GFM's alignment only
        header = html.rows[0]
        assert header == 11 and all(n == header for n in html.rows), html.rows  # pipes and newlines kept in cells
        text = "".join(html.text)
        visible = text.replace("\u2060", "")
        # every hostile output is there, as text
        assert "<details><summary>click</summary>" in visible and '<img src=x onerror="alert(1)">' in visible
        assert "```" in visible and "[click me](https://evil.example/phish)" in visible
        # GitHub links @user, @org/team, #123 and owner/repo#45 in text: none survive
        assert not re.search(r"(?<![\w`])@[A-Za-z0-9]", text)
        assert not re.search(r"#\d", text)
        assert "https://" not in text and "www.evil" not in text  # no autolinks
        assert "\u202e" not in text and "\x00" not in text
    assert "no regression" not in comment


def test_comment_is_capped_with_a_note_of_what_was_left_out():
    result = hostile_result(n_tests=3000, n_worst=400, text_len=400)
    comment, full = render(result, "results/check.full.md")
    assert len(full) > MAX_CHARS  # the uncapped summary would be rejected by GitHub
    assert len(comment) < MAX_CHARS
    assert "Left out to stay under GitHub's comment limit" in comment and "check.full.md" in comment
    left = re.search(r"Left out[^:]*:\*\* (.*?)\. The full", comment).group(1)
    counts = dict((s, int(n)) for n, s in re.findall(r"(\d+) ([a-z ]+)", left))
    shown_rows = sum(1 for line in comment.splitlines() if line.startswith("| openai/"))
    assert shown_rows + counts.get("table rows", 0) == 3000
    shown_worst = sum(1 for line in comment.splitlines() if line.startswith("**openai/m · mt · item"))
    assert shown_worst + counts.get("worst items", 0) == 400
    # what matters most is kept: the headline, every failure and the regressed rows first
    assert comment.startswith("## harness check: ❌")
    assert comment.count("item(s) failed") == len(HOSTILE)
    table = [line for line in comment.splitlines() if line.startswith("| openai/")]
    assert all("❌ regressed" in line for line in table[:100])
    html = rendered(comment)
    assert {t for t, _ in html.tags} <= ALLOWED_TAGS


def test_nothing_cut_when_it_fits():
    comment, full = render(hostile_result())
    assert comment == full and "Left out" not in comment


@pytest.mark.parametrize("value, shown", [(math.inf, "∞"), (math.nan, "—")])
def test_undetectable_and_missing_figures(value, shown):
    r = hostile_result()
    r.tests[0].mdd = value
    comment, _ = render(r)
    row = next(line for line in comment.splitlines() if line.startswith("| openai/"))
    assert shown in row


def test_a_blind_baseline_says_so():
    r = hostile_result()
    r.failures, r.drift, r.worst = [], [], []
    for t in r.tests:
        t.regressed = t.significant = False
        t.mdd = math.inf
    assert r.exit_code == 0
    comment, _ = render(r)
    assert comment.startswith("## harness check: ✅ no regression, but this baseline cannot detect one")
    r.tests[0].mdd = 2.0
    assert render(r)[0].startswith("## harness check: ✅ no regression\n")


def test_the_terminal_gets_plain_text_within_80_columns():
    """`harness check` prints this (the Markdown goes to check.md): no Markdown table, no
    control character or bidi override from outside text, every line within 80 columns
    except the path of the Markdown file, which stays whole on its own line."""
    r = hostile_result(n_tests=20, n_worst=3, text_len=300)
    text = plain(r, "results/check.md")
    lines = text.splitlines()
    head = render(r)[0].splitlines()[0].removeprefix("## ")
    assert " ".join(text.split())[:len(head)] == head and len(lines[0]) <= 80  # the verdict, wrapped
    assert all(len(line) <= 80 for line in lines[:-1]), max(lines, key=len)
    assert lines[-2:] == ["Markdown for the pull request:", "results/check.md"]
    assert not any(line.startswith(("|", "#", "**", "- ")) for line in lines)  # no Markdown of its own
    assert not any(c in text for c in "\x00\x07\x1b\u202e")
    assert sum(line.startswith("    REGRESSED: ") for line in lines) == sum(t.regressed for t in r.tests) > 0
    assert f"{r.n_requests} requests: {r.n_called} sent to a model, {r.n_requests - r.n_called} answered " \
           "from the cache" in " ".join(text.split())
    for f in r.failures:  # every failure named, its cause on one line
        assert f"{f.n_errors} of {f.n_items} failed" in text
