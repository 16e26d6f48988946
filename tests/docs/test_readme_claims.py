"""Every `--flag`, `make` target, repository path and test the README and the docs/ pages
name exists; the README fits one screen."""

import re

import click

from conftest import DOC_PAGES, ROOT, docs_text
from harness.cli import main

# flags the README names that belong to another program, with the program
NOT_OURS = {"--paired-ar": "sacrebleu", "--headless": "chromium", "--dump-dom": "chromium"}


def code_text(markdown: str) -> str:
    """Fenced blocks and inline code spans: where the README names commands."""
    fenced = re.findall(r"```[^\n]*\n(.*?)```", markdown, re.S)
    rest = re.sub(r"```[^\n]*\n.*?```", "", markdown, flags=re.S)
    return "\n".join(fenced + re.findall(r"`([^`]+)`", rest))


def cli_flags(cmd: click.Command, parent: click.Context | None = None) -> set[str]:
    ctx = click.Context(cmd, parent=parent, help_option_names=["-h", "--help"])
    flags = {o for p in cmd.get_params(ctx) for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}
    for sub in getattr(cmd, "commands", {}).values():
        flags |= cli_flags(sub, ctx)
    return flags


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {m for m in re.findall(r"^([A-Za-z][\w-]*):", text, re.M)}


def readme() -> str:
    """README.md and every docs/ page: a claim is checked wherever it is written."""
    return docs_text()


def test_every_flag_in_the_readme_exists():
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", readme()))
    assert {"--tpm", "--workers", "--max-error-rate", "--refresh"} <= named  # the parser sees them
    missing = sorted(named - cli_flags(main) - set(NOT_OURS))
    assert not missing, f"README names flags the CLI does not have: {missing}"


def test_every_make_target_in_the_readme_exists():
    named = set(re.findall(r"\bmake[ \t]+([a-z][\w-]*)\b(?!=)", code_text(readme())))
    assert {"eval", "test", "check", "report"} <= named
    missing = sorted(named - make_targets())
    assert not missing, f"README names make targets the Makefile does not have: {missing}"


def test_the_parsers_catch_a_missing_name():
    assert "--no-such-flag" not in cli_flags(main)
    assert "nosuchtarget" not in make_targets()
    assert re.findall(r"\bmake[ \t]+([a-z][\w-]*)\b(?!=)", code_text("run `make eval MODEL=x` or `make PY=p test`")) \
        == ["eval"]


def test_local_model_context_matches_the_code():
    from harness.model.local._catalog import MODELS

    text = readme()
    for name, entry in MODELS.items():  # the table row of each embedded model states its context
        row = next(line for line in text.splitlines() if line.startswith(f"| `local/{name}`"))
        stated = re.search(r"\| ([\d,]+) tokens \|$", row)
        assert stated and int(stated.group(1).replace(",", "")) == entry.n_ctx, row


def test_every_test_the_readme_names_exists():
    text = readme()
    files = set(re.findall(r"\b(test_\w+\.py)\b", text))
    names = set(re.findall(r"::(test_\w+)", text)) | set(re.findall(r"`(test_\w+)`", text))
    assert "test_hostile.py" in files and len(names) > 10
    sources = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py")}
    assert not sorted(files - set(sources)), "README names test files that do not exist"
    defined = set(re.findall(r"^def (test_\w+)", "\n".join(sources.values()), re.M))
    missing = sorted(n for n in names if n not in defined)
    assert not missing, f"README names tests that do not exist: {missing}"


def test_the_readme_fits_one_screen_and_links_every_page():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.split()) <= 800, len(text.split())
    assert "make eval" in text and "make test" in text
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", text))
    pages = {f"docs/{p.name}" for p in DOC_PAGES}
    assert len(pages) >= 10 and pages <= linked, sorted(pages - linked)
    assert not sorted(p for p in linked if not (ROOT / p).exists()), "README links pages that do not exist"


# paths a page names that are made by running something, not stored in the repository
MADE_BY_RUNS = ("results/", ".venv", ".cache", "runs/", "~/")


def test_every_repository_path_the_docs_name_exists():
    named = set()
    for span in re.findall(r"`([^`\s]+)`", readme()):
        if re.fullmatch(r"(harness|tasks|references|bench|tests|docs|\.ci)/[\w./-]*[\w/]", span) \
                or re.fullmatch(r"[\w-]+\.(toml|yaml)|Makefile", span):
            named.add(span.split("::")[0])
    assert "harness/inference/_stats.py" in named and len(named) > 20
    missing = sorted(p for p in named if not p.startswith(MADE_BY_RUNS) and not (ROOT / p).exists()
                     and "*" not in p and "<" not in p)
    assert not missing, f"README or docs/ name paths that do not exist: {missing}"
