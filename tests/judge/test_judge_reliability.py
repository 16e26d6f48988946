"""The judge's reliability rows and the requests behind them, against the scripted server:
`judge_spearman_chrf` equals scipy's Spearman of per-item judge overall vs sacrebleu's per-item
chrF; self-agreement re-asks exactly REPEAT_ITEMS items per model (counted at the server) and
reports the share that agree; the JSON-schema `response_format` is sent where litellm says
the model supports it, and only there."""

import json
import re
import threading

import pandas as pd
import pytest
import scipy.stats
import yaml
from click.testing import CliRunner
from sacrebleu.metrics import CHRF

from conftest import ROOT
from fakeserver import FakeServer
from harness.cli import main
from helpers import make_task

N_ITEMS = 12
REPEATS = 10  # what the judge_self_agreement row claims: up to 10 items per (task, model) judged twice
MODELS = ("openai/alpha", "openai/beta")
REF_WORDS = "The weather is really nice today and the park is full of happy people".split()
FLIP = {1, 10, 11}  # items whose repeat gets a different verdict (of the repeated i0, i1, i10, i11, i2..i7)


def reference(k: int) -> str:
    return f"Sentence {k}. " + " ".join(REF_WORDS)


def errors_for(model: str, k: int) -> int:
    """Minor accuracy errors the scripted judge reports (deliberately not monotone in chrF)."""
    return (k * 3) % 4 if model == "alpha" else (k + 1) % 3


def output_for(model: str, k: int) -> str:
    words = REF_WORDS[: 3 + k % 6] if model == "alpha" else REF_WORDS[: 2 + (k * 5) % 9][::-1]
    return f"Sentence {k}. " + " ".join(words) + f" Q{errors_for(model, k)}"


class Script:
    """Models answer output_for; the judge reads the Q marker of the candidate. With
    `flip`, the second time an identical pointwise prompt of a FLIP item arrives the judge
    adds a major fluency error (a self-disagreement)."""

    def __init__(self, judge: str, flip: bool):
        self.judge, self.flip = judge, flip
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, messages, body):
        prompt = messages[-1]["content"]
        k = int(re.search(r"第(\d+)条", prompt).group(1))
        if body["model"] != self.judge:
            return output_for(body["model"], k)
        if "CANDIDATE A" in prompt:
            return json.dumps({"winner": "tie", "rationale": "same"})
        candidate = prompt.split("CANDIDATE:")[1]
        q = int(re.search(r"Q(\d)", candidate).group(1))
        errors = [{"category": "accuracy", "severity": "minor", "span": "x"}] * q
        with self.lock:
            key = json.dumps(messages)
            self.seen[key] = self.seen.get(key, 0) + 1
            second = self.seen[key] > 1
        if self.flip and second and k in FLIP:
            errors = errors + [{"category": "fluency", "severity": "major", "span": "y"}]
        return json.dumps({"errors": errors, "rationale": "scripted"})


def _eval(tmp, judge_model: str, flip: bool):
    items = [{"id": f"i{k}", "source": f"第{k}条:今天天气很好。", "meta": {"block": f"b{k % 4}"}}
             for k in range(N_ITEMS)]
    refs = [{"id": f"i{k}", "references": [reference(k)]} for k in range(N_ITEMS)]
    task = make_task(tmp / "t", items, refs, task_id="mini", metrics=("chrf",))
    script = Script(judge_model.split("/", 1)[1], flip)
    with FakeServer(script) as srv, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_RESULTS", str(tmp / "results"))
        mp.delenv("HARNESS_STORE", raising=False)
        mp.setenv("OPENAI_API_BASE", srv.base_url)
        mp.setenv("OPENAI_BASE_URL", srv.base_url)
        mp.setenv("OPENAI_API_KEY", "sk-test-reliab-0000000000")
        args = ["eval", *sum((["--model", m] for m in MODELS), []), "--judge", judge_model, "--task", str(task),
                "--concurrency", "1"]
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 0, out.output
    board = pd.read_csv(tmp / "results" / "leaderboard.csv")
    judge_bodies = [b for b in srv.requests if b["model"] == script.judge]
    return board, judge_bodies


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """A judge litellm knows nothing about (no JSON-schema support), self-consistent."""
    return _eval(tmp_path_factory.mktemp("plain"), "openai/judge", flip=False)


@pytest.fixture(scope="module")
def schema_judge(tmp_path_factory):
    """gpt-4o-mini (litellm: supports response schemas), disagreeing with itself on FLIP repeats."""
    return _eval(tmp_path_factory.mktemp("schema"), "openai/gpt-4o-mini", flip=True)


def _reliability(board, judge):
    return board[board.model == f"judge:{judge}"].set_index("metric")


def _pointwise(bodies):
    return [b for b in bodies if "CANDIDATE A" not in b["messages"][-1]["content"]]


def test_spearman_chrf_matches_scipy(plain):
    board, _ = plain
    weights = yaml.safe_load((ROOT / "tasks" / "rubrics" / "translation.yaml").read_text())["severity_weights"]
    chrf = CHRF()
    judge_overall, item_chrf = [], []
    for model in ("alpha", "beta"):
        for k in range(N_ITEMS):
            out = output_for(model, k)
            # four dimensions, only accuracy penalised: (max(1, 5 - q * minor) + 5 * 3) / 4
            judge_overall.append((max(1.0, 5 - errors_for(model, k) * weights["minor"]) + 15) / 4)
            item_chrf.append(chrf.sentence_score(out, [reference(k)]).score)
    expected = scipy.stats.spearmanr(judge_overall, item_chrf).statistic
    assert 0.05 < abs(expected) < 0.95  # a correlation the row cannot get right by accident
    row = _reliability(board, "openai/judge").loc["judge_spearman_chrf"]
    assert row.value == pytest.approx(expected, abs=1e-4)
    assert row.n == 2 * N_ITEMS


def test_self_agreement_counts_its_repeat_calls(schema_judge):
    board, bodies = schema_judge
    pointwise = _pointwise(bodies)
    sightings = pd.Series([json.dumps(b["messages"]) for b in pointwise]).value_counts()
    assert len(sightings) == len(MODELS) * N_ITEMS  # every output judged
    assert sightings.max() == 2
    repeats = int((sightings - 1).sum())
    assert repeats == len(MODELS) * min(REPEATS, N_ITEMS) == 20
    assert len(pointwise) == len(MODELS) * N_ITEMS + repeats
    # repeated: the first 10 item ids of each model, i.e. i0, i1, i10, i11, i2..i7 (not i8, i9)
    repeated_items = {re.search(r"第(\d+)条", json.loads(m)[-1]["content"]).group(1)
                      for m in sightings[sightings == 2].index}
    assert repeated_items == {"0", "1", "10", "11", "2", "3", "4", "5", "6", "7"}
    row = _reliability(board, "openai/gpt-4o-mini").loc["judge_self_agreement"]
    assert row.n == repeats
    assert row.value == pytest.approx(100 * (REPEATS - len(FLIP)) / REPEATS)  # 3 of 10 flip: 70%


def test_json_schema_response_format_sent_where_supported(schema_judge):
    _, bodies = schema_judge
    rubric = yaml.safe_load((ROOT / "tasks" / "rubrics" / "translation.yaml").read_text())
    pointwise = _pointwise(bodies)
    pairwise = [b for b in bodies if b not in pointwise]
    assert pointwise and pairwise
    for body in pointwise:
        fmt = body.get("response_format")
        assert fmt and fmt["type"] == "json_schema", body.keys()
        sch = fmt["json_schema"]["schema"]
        assert sch["required"] == ["errors", "rationale"]
        entry = sch["properties"]["errors"]["items"]["properties"]
        assert entry["category"]["enum"] == list(rubric["dimensions"])
        assert entry["severity"]["enum"] == list(rubric["severity_weights"])
    for body in pairwise:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert fmt["json_schema"]["schema"]["properties"]["winner"]["enum"] == ["A", "B", "tie"]


def test_no_response_format_where_unsupported(plain):
    _, bodies = plain
    assert bodies and all("response_format" not in b for b in bodies)
