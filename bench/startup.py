"""CLI start-up: wall time of `harness --help` and `harness tasks list` (median of several
fresh processes) against `python -c pass` in the same run, and the modules they import
(`python -X importtime`): none of litellm or the metric libraries may appear.

Two bytecode settings: `warm` (a bytecode cache in a private PYTHONPYCACHEPREFIX, warmed
first: what an installed harness sees) and `as-is` (this environment: if PYTHONDONTWRITEBYTECODE
is set, the harness's own modules are compiled from source on every start).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PY, ROOT, emit, median, row

HEAVY = ("litellm", "openai", "sacrebleu", "rouge_score", "rapidfuzz", "opencc", "pandas", "numpy", "scipy",
         "llama_cpp", "datasets", "evaluate", "nltk", "aiohttp", "httpx", "rich")
COMMANDS = {"python -c pass": [PY, "-c", "pass"],
            "harness --help": [str(Path(PY).parent / "harness"), "--help"],
            "harness tasks list": [str(Path(PY).parent / "harness"), "tasks", "list"]}


def wall(cmd: list[str], env: dict, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append(time.perf_counter() - t)
    return out


def imports(args: list[str], env: dict) -> dict[str, tuple[int, int]]:
    """module -> (self µs, cumulative µs) from -X importtime."""
    proc = subprocess.run([PY, "-X", "importtime", "-m", "harness.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    found = {}
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            self_us, cum_us, name = line[len("import time:"):].split("|")
            found[name.strip()] = (int(self_us), int(cum_us))
    return found


BREAKDOWN = r"""
import json, time
t0 = time.perf_counter()
marks = {}
def mark(name):
    global t0
    t = time.perf_counter(); marks[name] = t - t0; t0 = t
import click; mark("import click")
import harness.cli; mark("import harness.cli (rest)")
import pydantic; mark("import pydantic")
import yaml; mark("import yaml")
import jinja2; mark("import jinja2")
import harness.task._spec; mark("import harness.task._spec (pydantic models built)")
tasks = harness.task._spec.load_tasks(); mark("load_tasks (YAML, JSONL, validation, templates)")
print(json.dumps(marks))
"""


def breakdown(env: dict, runs: int) -> dict[str, float]:
    import json

    got = [json.loads(subprocess.run([PY, "-c", BREAKDOWN], cwd=ROOT, env=env, capture_output=True, text=True,
                                     check=True).stdout) for _ in range(runs)]
    return {k: median([g[k] for g in got]) for k in got[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    rows, b = [], "startup"
    with tempfile.TemporaryDirectory(prefix="harness-pycache-") as cache:
        base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
        settings = {"warm": {**base, "PYTHONPYCACHEPREFIX": cache}, "as-is": dict(os.environ)}
        for name, env in settings.items():
            for cmd in COMMANDS.values():  # warm the bytecode cache and the page cache
                wall(cmd, env, 1)
            samples = {label: [] for label in COMMANDS}
            for _ in range(args.runs):  # interleaved, so a slow spell hits every command alike
                for label, cmd in COMMANDS.items():
                    samples[label] += wall(cmd, env, 1)
            times = {label: median(v) for label, v in samples.items()}
            base_t = times["python -c pass"]
            for label, t in times.items():
                rows.append(row(b, f"{label} ({name} bytecode)", "wall_median", t, "s", "python -c pass",
                                t / base_t, runs=args.runs))
                rows.append(row(b, f"{label} ({name} bytecode)", "wall_min", min(samples[label]), "s",
                                runs=args.runs))
                if label != "python -c pass":
                    rows.append(row(b, f"{label} ({name} bytecode)", "wall_minus_python", t - base_t, "s",
                                    runs=args.runs))
        env = settings["warm"]
        for step, t in breakdown(env, args.runs).items():
            rows.append(row(b, "harness tasks list (warm bytecode)", f"step:{step}", t, "s", runs=args.runs))
        for label, cli_args in (("harness --help", ["--help"]), ("harness tasks list", ["tasks", "list"])):
            found = imports(cli_args, env)
            heavy = sorted(m for m in found if m.split(".")[0] in HEAVY)
            rows.append(row(b, label, "heavy_modules_imported", len(heavy), "modules", note=" ".join(heavy[:20])))
            rows.append(row(b, label, "modules_imported", len(found), "modules"))
            tops = [m for m in ("click", "harness.task._spec", "pydantic", "yaml", "jinja2", "harness.cli")
                    if m in found]
            for m in tops:
                rows.append(row(b, label, f"import_ms:{m}", found[m][1] / 1000, "ms (cumulative, -X importtime)"))
    emit(rows)


if __name__ == "__main__":
    sys.exit(main())
