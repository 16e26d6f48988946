"""Small builders for throwaway tasks in a temp folder."""

import json
from pathlib import Path

import yaml


def make_task(folder: Path, items: list[dict], refs: list[dict], *, task_id="mini", kind="translate",
              target_lang="en", metrics=("chrf", "bleu", "rouge"), prompt="Translate: {{ source }}",
              max_tokens=32, extra: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompt.j2").write_text(prompt, encoding="utf-8")
    (folder / "items.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items),
                                        encoding="utf-8")
    (folder / "refs.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in refs),
                                       encoding="utf-8")
    spec = {"id": task_id, "kind": kind, "source_lang": "zh", "target_lang": target_lang, "prompt": "prompt.j2",
            "items": "items.jsonl", "references": "refs.jsonl",
            "generation": {"temperature": 0, "max_tokens": max_tokens}, "metrics": list(metrics), **(extra or {})}
    path = folder / f"{task_id}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def simple_items(n: int, blocks: int = 3):
    items = [{"id": f"i{k}", "source": f"第{k}句话。今天天气很好。", "meta": {"condition": "c" + str(k % 2),
                                                                  "block": f"b{k % blocks}"}} for k in range(n)]
    refs = [{"id": f"i{k}", "references": [f"Sentence {k}. The weather is nice today."]} for k in range(n)]
    return items, refs
