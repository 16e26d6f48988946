"""`harness diff` against a local OpenAI-compatible server whose answers depend on the prompt's
wording: an edit that ruins chosen items is significantly worse, and exactly those items are
listed first; an edit answered identically gives p = 1 and no item listed as moved; bad input
is one line and exit 2."""

import re

import pytest

from conftest import cli
from fakeserver import FakeServer
from helpers import make_task

N, BLOCKS = 24, 12
RUINED = {"i1", "i3", "i5", "i7", "i9", "i11"}  # one item in each of 6 of the 12 blocks


def _items():
    items = [{"id": f"i{k}", "source": f"第{k}段。今天天气很好，我们下午去公园散步，晚上回家做饭。",
              "meta": {"condition": "c", "block": f"b{k % BLOCKS}"}} for k in range(N)]
    refs = [{"id": f"i{k}", "references": [f"Passage {k}. The weather is nice today; we walk in the park in the "
                                           "afternoon and cook at home in the evening."]} for k in range(N)]
    return items, refs


def _answer(messages, body):
    """The reference, except under a prompt that says TERSE, where the RUINED items get noise."""
    text = messages[-1]["content"]
    k = int(re.search(r"第(\d+)段", text).group(1))
    if "TERSE" in text and f"i{k}" in RUINED:
        return "zzz qqq <script>alert(1)</script> @octocat"
    return (f"Passage {k}. The weather is nice today; we walk in the park in the afternoon and cook at home "
            "in the evening.")


def tmp_path_of(env):
    from pathlib import Path

    return Path(env["HARNESS_RESULTS"]).parent


def error_line(out) -> str:
    """The only line the command wrote to stderr (bad input: one line, no traceback)."""
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    return lines[0] if len(lines) == 1 and "Traceback" not in out.stderr else "\n".join(lines)


@pytest.fixture
def runs(tmp_path):
    items, refs = _items()
    path = make_task(tmp_path / "t", items, refs, metrics=("chrf", "bleu", "rouge", "ter"), max_tokens=64)
    with FakeServer(_answer) as srv:
        env = {"HARNESS_RESULTS": str(tmp_path / "r"), "HARNESS_STORE": None, "OPENAI_API_BASE": srv.base_url,
               "OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "sk-test-diff-0000000000"}

        def run(prompt: str):
            (tmp_path / "t" / "prompt.j2").write_text(prompt, encoding="utf-8")
            out = cli("eval", "--model", "openai/m", "--task", str(path), "--no-ci", env=env)
            assert out.returncode == 0, out.stderr

        yield run, path, env, tmp_path


def test_an_edit_that_ruins_chosen_items_is_worse_and_lists_exactly_them_first(runs):
    run, path, env, tmp_path = runs
    run("Translate: {{ source }}")
    run("TERSE. Translate: {{ source }}")
    md = tmp_path / "diff.md"
    out = cli("diff", "--model", "openai/m", "--task", str(path), "--top", str(len(RUINED)), "--out", str(md),
              env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[-2:] == ["Markdown:", str(md)]
    assert all(len(line) <= 80 for line in lines[:-1]), out.stdout
    chrf = next(line for line in lines if line.startswith("  chrf:"))
    assert chrf.endswith(": worse") and "Δ -" in chrf, chrf
    ter = " ".join(line for line in lines if line.startswith("  ter:"))
    assert "worse" in ter  # TER rose: lower is better, so worse
    moved = [m.group(1) for line in lines if (m := re.match(r"  (i\d+) \(", line))]
    assert set(moved) == RUINED and len(moved) == len(RUINED)
    # the Markdown escapes what came from the model
    text = md.read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text and "@\u2060octocat" in text
    assert text.count("**i") == len(RUINED)
    # the report draws the same diff: the verdicts, the 3 items that moved most, as text
    import html as html_lib

    page_path = tmp_path / "report.html"
    assert cli("report", "--out", str(page_path), env={**env, "HARNESS_TASKS": str(path.parent)}).returncode == 0
    page = page_path.read_text(encoding="utf-8")
    section = page.split("What the last prompt edit did", 1)[1].split("Items side by side", 1)[0]
    assert "<script>alert" not in section and "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    shown = set(re.findall(r"<summary>(i\d+) moved most on chrf", section))
    assert len(shown) == 3 and shown <= RUINED
    assert section.count(">worse<") == len([m for m in lines if re.match(r"  \w+: ", m)])
    assert "openai/m: prompt" in html_lib.unescape(section)


def test_an_edit_answered_identically_moves_nothing(runs):
    run, path, env, _ = runs
    run("TERSE. Translate: {{ source }}")
    run("TERSE! Translate this: {{ source }}")  # another prompt, the same answers
    out = cli("diff", "--model", "openai/m", env={**env, "HARNESS_TASKS": str(path.parent)})
    assert out.returncode == 0, out.stderr
    metric_lines = [line for line in out.stdout.splitlines() if re.match(r"  \w+: ", line)]
    assert metric_lines and all("p 1.000" in line and "no significant change" in line for line in metric_lines)
    assert "No item moved on chrf." in out.stdout
    quiet = cli("diff", "--model", "openai/m", "--top", "0", env={**env, "HARNESS_TASKS": str(path.parent)})
    assert quiet.returncode == 0 and "moved" not in quiet.stdout  # none asked for: nothing said of items
    page_path = tmp_path_of(env) / "report.html"
    assert cli("report", "--out", str(page_path), env={**env, "HARNESS_TASKS": str(path.parent)}).returncode == 0
    section = page_path.read_text(encoding="utf-8").split("What the last prompt edit did", 1)[1]
    assert "No item moved on chrf." in section and "<details>" not in section.split("Items side by side")[0]


def test_bad_input_is_one_line_exit_2(runs):
    run, path, env, _ = runs
    task = ("--task", str(path))
    out = cli("diff", "--model", "openai/nobody", *task, env=env)
    assert out.returncode == 2 and error_line(out).startswith("error: openai/nobody has no run on mini"), out.stderr
    run("Translate: {{ source }}")
    out = cli("diff", "--model", "openai/m", *task, env=env)
    assert out.returncode == 2 and "no earlier prompt to compare with" in error_line(out), out.stderr
    out = cli("diff", "--model", "openai/m", *task, "--before", "ffff0000", env=env)
    line = error_line(out)
    assert out.returncode == 2 and line.startswith("error: --before ffff0000: no run id or prompt hash"), line
    assert "prompt hashes: " in line and "\n" not in line
    out = cli("diff", "--model", "openai/m", "--model", "openai/n", *task, env=env)
    assert out.returncode == 2 and "give exactly one model (got 2)" in error_line(out), out.stderr
    out = cli("diff", "--model", "openai/m", env={**env, "HARNESS_TASKS": str(path.parent)})
    assert out.returncode == 2 and "no task with two prompt versions" in error_line(out), out.stderr


def test_the_other_bad_inputs_name_what_to_fix(runs):
    """An ambiguous prompt-hash prefix, two versions without 2 common answered items, and an
    --out that cannot be written: each one line naming the fix."""
    from harness.core import UserError
    from harness.results._diff import Version, _pick, diff_task
    from harness.task import load_task

    run, path, env, tmp_path = runs
    twins = [Version("r1", "abcd1111", {"i0": "x"}, 1), Version("r2", "abcd2222", {"i0": "y"}, 1)]
    with pytest.raises(UserError, match=r"--before abcd: names 2 prompt hashes of m on t; give more characters"):
        _pick(twins, "abcd", "before", "m", "t")
    assert _pick(twins, "abcd2", "before", "m", "t").run_id == "r2"
    task = load_task(path)
    with pytest.raises(UserError, match=r"share 1 answered item\(s\); a paired comparison needs at least 2"):
        diff_task(task, "m", Version("r1", "p", {"i0": "a", "i1": "b"}, 2), Version("r2", "q", {"i0": "c"}, 1))
    run("Translate: {{ source }}")
    run("TERSE. Translate: {{ source }}")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    out = cli("diff", "--model", "openai/m", "--task", str(path), "--out", str(folder), env=env)
    line = error_line(out)
    assert out.returncode == 2 and line.startswith(f"error: {folder}") and "\n" not in line, out.stderr
