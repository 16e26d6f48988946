"""Bad input gives one clear line naming the file and the item, and exit code 2."""

import json

import pytest
import yaml

from conftest import cli  # in-process: these tests are about what the CLI says and exits with
from harness.core._errors import UserError
from harness.task._spec import load_task
from helpers import make_task, simple_items


@pytest.fixture
def good(tmp_path):
    items, refs = simple_items(4)
    return make_task(tmp_path / "t", items, refs)


def _edit_yaml(path, **changes):
    spec = yaml.safe_load(path.read_text())
    spec.update(changes)
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))


def error_of(path) -> str:
    with pytest.raises(UserError) as exc:
        load_task(path)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_good_task_loads(good):
    task = load_task(good)
    assert [i.id for i in task.items] == ["i0", "i1", "i2", "i3"]
    assert task.items[0].references == ["Sentence 0. The weather is nice today."]
    assert len(task.prompt_hash) == 12


def test_missing_reference(good):
    refs = good.parent / "refs.jsonl"
    refs.write_text("".join(line + "\n" for line in refs.read_text().splitlines()[:-1]))
    msg = error_of(good)
    assert "items.jsonl:4" in msg and "i3" in msg and "no reference" in msg


def test_duplicate_id(good):
    items = good.parent / "items.jsonl"
    lines = items.read_text().splitlines()
    items.write_text("\n".join(lines + [lines[0]]) + "\n")
    msg = error_of(good)
    assert "items.jsonl:5" in msg and "duplicate id 'i0'" in msg and "line 1" in msg


def test_unknown_metric(good):
    _edit_yaml(good, metrics=["chrf", "bluer"])
    msg = error_of(good)
    assert "mini.yaml" in msg and "metrics" in msg and "'bluer'" in msg


def test_unknown_key(good):
    _edit_yaml(good, temprature=0.2)
    msg = error_of(good)
    assert "temprature" in msg and "unknown key" in msg


def test_bad_template_variable(good):
    (good.parent / "prompt.j2").write_text("Translate {{ sauce }}")
    msg = error_of(good)
    assert "prompt.j2" in msg and "'sauce'" in msg


def test_non_utf8_file(good):
    (good.parent / "items.jsonl").write_bytes("中文".encode("gbk"))
    msg = error_of(good)
    assert "items.jsonl" in msg and "UTF-8" in msg


def test_malformed_yaml(good):
    good.write_text("id: x\nkind: [translate\n")
    msg = error_of(good)
    assert "mini.yaml" in msg and "malformed YAML" in msg


def test_invalid_json_line(good):
    items = good.parent / "items.jsonl"
    items.write_text(items.read_text() + "{not json\n")
    assert "items.jsonl:5: invalid JSON" in error_of(good)


def test_empty_source(good):
    items = good.parent / "items.jsonl"
    items.write_text(json.dumps({"id": "x", "source": "  "}) + "\n")
    assert "items.jsonl:1: item x: empty or missing 'source'" in error_of(good)


def test_missing_file(good):
    _edit_yaml(good, items="nope.jsonl")
    line = next(n for n, t in enumerate(good.read_text().splitlines(), start=1) if t.startswith("items:"))
    msg = error_of(good)
    assert msg.startswith(f"{good}:{line}: items: ") and msg.endswith(
        "nope.jsonl: items file not found; fix the path (relative to the task file)")


def test_cli_prints_one_line_and_exits_2(good, results):
    (good.parent / "prompt.j2").write_text("Translate {{ sauce }}")
    out = cli("eval", "--model", "baseline/copy", "--task", str(good), env={"HARNESS_RESULTS": str(results)})
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "'sauce'" in lines[0]


def test_cli_unknown_model_and_missing_key(good, results, monkeypatch):
    env = {"HARNESS_RESULTS": str(results), "OPENAI_API_KEY": None}
    out = cli("eval", "--model", "nosuchprovider/x", "--task", str(good), env=env)
    assert out.returncode == 2 and "unknown provider" in out.stderr and "Traceback" not in out.stderr
    out = cli("eval", "--model", "openai/gpt-4o-mini", "--task", str(good), env=env)
    assert out.returncode == 2 and "OPENAI_API_KEY" in out.stderr and "Traceback" not in out.stderr
    out = cli("eval", "--model", "baseline/nope", "--task", str(good), env=env)
    assert out.returncode == 2 and "baseline/lead" in out.stderr


def test_cli_unwritable_results(good, tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    out = cli("eval", "--model", "baseline/copy", "--task", str(good), env={"HARNESS_RESULTS": str(blocked / "r")})
    assert out.returncode == 2 and "not writable" in out.stderr and "Traceback" not in out.stderr


def test_items_load_through_datasets(good):
    import hashlib

    import harness.task._spec as task_mod
    from harness.core._paths import ROOT

    items = good.parent / "items.jsonl"
    stamp = ROOT / ".cache" / "harness" / "datasets-verified" / hashlib.sha256(items.read_bytes()).hexdigest()
    stamp.unlink(missing_ok=True)
    loaded = load_task(good)  # first load goes through datasets and records that it agreed
    assert stamp.exists()
    rows = task_mod._dataset_rows(items)
    assert [r["id"] for r in rows] == [i.id for i in loaded.items]
    assert rows[0]["meta"] == loaded.items[0].meta


def test_hub_dataset_offline_is_one_clear_line(good, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _edit_yaml(good, items="hf:no-such-org/no-such-dataset:test")
    msg = error_of(good)
    line = next(n for n, t in enumerate(good.read_text().splitlines(), start=1) if t.startswith("items:"))
    assert msg.startswith(f"{good}:{line}: items: hf:no-such-org/no-such-dataset:test: cannot load this dataset")
    assert msg.endswith("check the name, or put the dataset in the local Hugging Face cache (HF_HOME), or go online")
