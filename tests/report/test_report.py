"""Pairwise CSV, the wide pivot and the HTML report (rendered in headless Chromium)."""

import os
import shutil
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.results._leaderboard import SCHEMA_VERSION
from helpers import make_task


def _items(n=24):
    items = [{"id": f"i{k}", "source": f"第{k}段:模型回答了问题。数据很好。",
              "meta": {"condition": "clean" if k % 2 else "asr", "block": f"b{k % 12}", "origin": "zh-original"}}
             for k in range(n)]
    refs = [{"id": f"i{k}", "references": [f"Part {k}: the model answered the question. The data is good."]}
            for k in range(n)]
    return items, refs


JUDGE = "openai/judge"


def populate(results, tmp_path, monkeypatch):
    """Three systems on one task: a perfect one (answers the reference), a weaker one, copy;
    a fourth on a 12-item sample; a judge (rubric scores and both-order verdicts) on the
    first two; a meta-evaluation on the first 40 MQM segments and a sample of 20."""
    import json

    from fakeserver import FakeServer
    import harness.meta._mqm as meta

    items, refs = _items()
    task = make_task(tmp_path / "t", items, refs, prompt="{{ source }}")
    ref_of = {i["source"]: r["references"][0] for i, r in zip(items, refs)}

    def respond(messages, body):
        prompt = messages[-1]["content"]
        if body["model"] == "judge":
            if "CANDIDATE A" in prompt:  # the fuller answer wins, whichever order
                first = prompt.split("CANDIDATE A:")[1].split("CANDIDATE B:")[0]
                return json.dumps({"winner": "A" if "data is good" in first else "B", "rationale": "fuller"})
            good = "data is good" in prompt.split("CANDIDATE:")[1]
            errors = [] if good else [{"category": "accuracy", "severity": "major", "span": "answered."}]
            return json.dumps({"errors": errors, "rationale": "scripted"})
        if body["model"] == "perfect":
            return ref_of[prompt]
        return ref_of[prompt].split(":")[0] + " answered."

    with FakeServer(respond) as srv:
        monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-report-000000000")
        for args in (["--model", "openai/perfect", "--model", "openai/weak", "--judge", JUDGE],
                     ["--model", "baseline/copy"], ["--model", "openai/sampled", "--limit", "12"]):
            out = CliRunner().invoke(main, ["eval", *args, "--task", str(task)])
            assert out.exit_code == 0, out.output
    data = meta.load_mqm()
    for n, path in ((40, meta.output_path()), (20, meta.output_path(20))):
        part = data.head(n)
        judge = {(s, g): float(len(part.targets[s][k]) % 5) for s in part.systems
                 for k, g in enumerate(part.seg_ids)}
        meta.merge_rows(path, meta.evaluate(part, extra={"judge:openai/judge:with-ref": judge}, resamples=100))
    return task


@pytest.fixture
def evaluated(tmp_path, results, monkeypatch):
    return results, populate(results, tmp_path, monkeypatch)


def test_pairwise_csv_contract_and_significance(evaluated):
    results, task = evaluated
    pw = pd.read_csv(results / "pairwise.csv")
    assert list(pw.columns[:6]) == ["schema_version", "task", "condition", "metric", "model_a", "model_b"]
    assert (pw.schema_version == 3).all()
    chrf = pw[(pw.metric == "chrf") & (pw.condition == "all")]
    pair = chrf[(chrf.model_a == "baseline/copy") & (chrf.model_b == "openai/perfect")].iloc[0]
    assert pair["diff"] < 0 and pair.significant and pair.p_value < 0.05  # the reference beats copy
    assert set(pw.condition) >= {"all", "asr", "clean"}


def test_wide_pivot_has_rank_ranges(evaluated):
    results, _ = evaluated
    wide = pd.read_csv(results / "leaderboard_wide.csv", dtype=str)
    row = wide[(wide.condition == "all") & (wide.model == "openai/perfect")].iloc[0]
    assert row["rank_chrf"] == "1" and float(row["chrf"]) == pytest.approx(100.0)
    copy = wide[(wide.condition == "all") & (wide.model == "baseline/copy")].iloc[0]
    assert copy["rank_chrf"] == "3"


def test_leaderboard_csv_schema_is_pinned(evaluated):
    results, _ = evaluated
    board = pd.read_csv(results / "leaderboard.csv")
    assert list(board.columns) == ["schema_version", "model", "task", "condition", "metric", "value", "ci_low",
                                   "ci_high", "n", "n_errors", "item_set", "sample", "signature", "prompt_hash",
                                   "cost_basis", "run_id", "created_at", "note"]
    assert {"all", "macro", "asr", "clean"} <= set(board.condition)
    ok = board[board.metric == "chrf"].dropna(subset=["ci_low"])
    assert ((ok.ci_low <= ok.value + 1e-9) & (ok.value <= ok.ci_high + 1e-9)).all()


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children, self.parts = tag, dict(attrs), parent, [], []

    @property
    def classes(self):
        return set((self.attrs.get("class") or "").split())

    def text(self):
        return "".join(p if isinstance(p, str) else p.text() for p in self.parts)

    def find(self, tag=None, cls=None):
        """Every descendant with this tag and/or class, in document order."""
        out = []
        for c in self.children:
            if (tag is None or c.tag == tag) and (cls is None or cls in c.classes):
                out.append(c)
            out += c.find(tag, cls)
        return out


def parse_dom(html: str) -> Node:
    """The DOM Chromium serialised, as a small tree (stdlib only)."""
    from html.parser import HTMLParser

    void = {"meta", "br", "img", "input", "link", "hr", "col", "wbr", "source"}

    class Builder(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.root = self.cur = Node("#root", {})

        def handle_starttag(self, tag, attrs):
            node = Node(tag, attrs, self.cur)
            self.cur.children.append(node)
            self.cur.parts.append(node)
            if tag not in void:
                self.cur = node

        def handle_endtag(self, tag):
            n = self.cur
            while n.parent is not None and n.tag != tag:
                n = n.parent
            if n.parent is not None:
                self.cur = n.parent

        def handle_data(self, data):
            self.cur.parts.append(data)

    b = Builder()
    b.feed(html)
    return b.root


def _chromium_args(exe, tmp_path):
    return [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}"]


def _cells(tr: Node) -> list[str]:
    return [" ".join(c.text().split()) for c in tr.children if c.tag in ("td", "th")]


def _rows(table: Node) -> list[list[str]]:
    return [_cells(tr) for tr in table.find("tr")]


def test_report_renders_in_headless_chromium(evaluated, tmp_path):
    from conftest import ROOT

    results, _ = evaluated
    out = CliRunner().invoke(main, ["report"])
    assert out.exit_code == 0, out.output
    html = results / "report.html"
    text = html.read_text(encoding="utf-8")
    assert "<script" not in text and "http://" not in text and "https://" not in text  # opens offline
    assert "Content-Security-Policy" in text and "position: sticky" in text
    exe = chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: `make test` installs it (Debian package chromium)")
        pytest.skip("chromium not installed (make test installs it as root)")
    dom_text = subprocess.run([*_chromium_args(exe, tmp_path), "--dump-dom", html.as_uri()],
                              capture_output=True, text=True, timeout=120).stdout
    dom = parse_dom(dom_text)
    assert 'class="leaderboard"' in dom_text and "<details>" in dom_text
    # the sections
    for cls in ("task", "judge", "meta"):
        assert dom.find("section", cls), cls
    for cls in ("leaderboard", "matrix", "judge-scores", "judge-verdicts", "judge-reliability", "meta-table"):
        assert dom.find("table", cls), cls
    # models only, no judge pseudo-model, in the leaderboard, the matrix and the legend
    board = dom.find("table", "leaderboard")[0]
    assert board.parent.tag == "div" and "scroll" in board.parent.classes  # scrolls in its own box
    rows = _rows(board)
    assert [r[0] for r in rows[1:]] == ["baseline/copy", "openai/perfect", "openai/sampled", "openai/weak"]
    assert not any("judge:" in c for r in rows for c in r)
    chrf = rows[0].index("chrf")
    assert "#1" in rows[2][chrf] and "#3" in rows[1][chrf]  # ranks from leaderboard_wide.csv
    assert "#" not in rows[3][chrf] and "nan" not in " ".join(map(" ".join, rows))  # alone on its sample: no rank
    assert all(td.classes == {"model"} for td in board.find("td") if td.text() in ("openai/perfect",))
    for table in dom.find("table", "matrix"):
        assert not any("judge:" in c for r in _rows(table) for c in r)
    legend = [li.text() for li in dom.find("ul", "legend")[0].find("li")]
    assert legend and not any("judge" in t for t in legend)
    # every chart has both axis titles
    charts = dom.find("svg", "chart")
    assert len(charts) == 2 + 2 * 2 * 2  # condition (wide, narrow); meta: 2 files x 2 references x 2 layouts
    for chart in charts:
        labels = [t.text().strip() for t in chart.find("text", "axis-label")]
        assert len(labels) == 2 and all(labels), labels
    # the judge: scores from the leaderboard, verdicts from judge_pairwise.csv, reliability explained
    board_csv = pd.read_csv(results / "leaderboard.csv")
    weak_acc = board_csv[(board_csv.model == "openai/weak") & (board_csv.metric == f"judge:{JUDGE}:accuracy")
                         & (board_csv.condition == "all")].iloc[0]
    assert weak_acc.value == 3.0  # one major accuracy error on every item: 5 - 2
    scores = _rows(dom.find("table", "judge-scores")[0])
    assert scores[0] == ["model", "accuracy", "fluency", "numbers", "terminology", "overall"]
    weak = next(r for r in scores if r[0] == "openai/weak")
    assert weak[1].startswith("3.00 [3.0, 3.0]") and "n = 24" in weak[1] and weak[5].startswith("4.50")
    verdicts = {r[0]: r[1:] for r in _rows(dom.find("table", "judge-verdicts")[0])}
    jp = pd.read_csv(results / "judge_pairwise.csv").iloc[0]
    assert (jp.model_a, jp.model_b, jp.value_a, jp.value_b) == ("openai/perfect", "openai/weak", 100.0, 0.0)
    assert verdicts["openai/perfect"] == ["", "100 / 0 / 0"] and verdicts["openai/weak"] == ["0 / 0 / 100", ""]
    table = dom.find("table", "judge-reliability")[0]
    figures = [_cells(tr) for tr in table.find("tr", "figure")]
    explained = [tr.text() for tr in table.find("tr", "explain")]
    assert [r[0] for r in figures] == ["parse failures", "position consistency", "self-agreement",
                                       "agreement with chrF"]
    assert len(explained) == 4 and all("Good:" in t for t in explained)  # each with what a good value is
    assert figures[1][1:4] == ["100.0%", "24", "0"]  # 24 pairs, each consistent
    # models on another item sample are marked
    sampled = [tr for tr in board.find("tr") if "sampled" in tr.classes]
    assert [tr.children[0].text() for tr in sampled] == ["openai/sampled"]  # the odd one out is highlighted
    note = dom.find("p", "sample-note")[0].text()
    assert "sample B (12 items): openai/sampled" in " ".join(note.split())
    # the meta-evaluation: how to read it, the sample marked
    meta_text = " ".join(dom.find("section", "meta")[0].text().split())
    assert "How to read it" in meta_text and "sample: first 20 segments" in meta_text
    # screenshots for people (results/ is git-ignored)
    shots = ROOT / "results" / "report-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for name, size in (("report-1400x900.png", "1400,900"), ("report-390x844.png", "390,844"),
                       ("report-390-long.png", "390,6000")):
        (shots / name).unlink(missing_ok=True)
        subprocess.run([*_chromium_args(exe, tmp_path), f"--window-size={size}", f"--screenshot={shots / name}",
                        html.as_uri()], capture_output=True, timeout=120)
        assert (shots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_chart_axis_reaches_every_ci_end():
    from harness.report._charts import bar_chart, nice_ticks

    assert nice_ticks(0, 6.4) == [0, 2, 4, 6, 8]  # 6.4 (a CI's upper end) is on the axis, not past it
    assert nice_ticks(-1, 1, 4) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    svg = bar_chart(["all"], ["m"], {("all", "m"): (2.5, 1.0, 6.4)}, "x title", "y title", "t", {"m": "#000"})
    assert svg.count('class="axis-label"') == 2 and ">8</text>" in svg
