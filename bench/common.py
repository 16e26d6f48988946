"""Shared helpers for the benchmarks: result rows, environment, child-process plumbing.

Every benchmark module runs as its own process (`python bench/<name>.py --json ARGS`)
and prints one JSON list of rows as its last stdout line; bench/run.py collects them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


def offline_env() -> None:
    """What `make` exports and the CLI sets: no network for litellm's price map or HF."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HOME", str(ROOT / ".cache" / "huggingface"))
    from harness.core._paths import offline_environment

    offline_environment()


def row(benchmark: str, variant: str, metric: str, value: float, unit: str, ratio_to: str = "",
        ratio: float | None = None, **extra) -> dict:
    return {"benchmark": benchmark, "variant": variant, "metric": metric, "value": value, "unit": unit,
            "ratio_to": ratio_to, "ratio": ratio, **extra}


def emit(rows: list[dict]) -> None:
    """The child's answer to bench/run.py: one JSON line, last on stdout."""
    sys.stdout.write("\n" + json.dumps(rows) + "\n")
    sys.stdout.flush()


def child(module: str, *args: str, env: dict | None = None, timeout: float = 600) -> list[dict]:
    """Run bench/<module>.py in a fresh interpreter and return its rows."""
    full = {**os.environ, **(env or {})}
    proc = subprocess.run([PY, str(BENCH / f"{module}.py"), *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"bench/{module}.py {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timer:
    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._w
        self.cpu = time.process_time() - self._c


RUSAGE_WRAPPER = ("import json, resource, subprocess, sys, time\n"
                  "t = time.perf_counter()\n"
                  "try:\n"
                  "    r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,\n"
                  "                       timeout=float(sys.argv[1]))\n"
                  "    rc, err = r.returncode, r.stderr[-2000:]\n"
                  "except subprocess.TimeoutExpired:  # killed and reaped: its peak RSS still counts\n"
                  "    rc, err = 'timeout', ''\n"
                  "w = time.perf_counter() - t\n"
                  "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
                  "print(json.dumps({'rc': rc, 'wall_s': w, 'stderr': err, 'cpu_s': u.ru_utime + u.ru_stime,\n"
                  "                  'maxrss_mb': u.ru_maxrss / 1024}))\n")


def run_measured(cmd: list[str], env: dict, cwd: Path = ROOT, timeout: float = 900,
                 allow_timeout: bool = False) -> dict:
    """Run a command in a fresh wrapper process: its wall time, the CPU seconds (user +
    system) of what it started, and the peak RSS of the largest process it started
    (getrusage RUSAGE_CHILDREN, so nothing else is counted).
    The wrapper kills the command after `timeout` s (rc 'timeout')."""
    proc = subprocess.run([PY, "-c", RUSAGE_WRAPPER, str(timeout), *cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout + 60, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["rc"] != 0 and not (allow_timeout and out["rc"] == "timeout"):
        raise RuntimeError(f"{' '.join(cmd)} failed ({out['rc']}): {out['stderr']}")
    return out
