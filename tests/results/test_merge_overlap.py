"""Two leaderboard merges that really overlap: one process is inside `merge` (lock held,
the old board read, its write delayed) while another merge starts. The second must wait for
the lock, and both runs' rows must land (without the lock the first write drops the second's)."""

import os
import subprocess
import sys
import textwrap
import time

import pandas as pd

from conftest import ROOT
from harness.results._leaderboard import LEADERBOARD_COLUMNS, merge

HOLD = 2.0  # seconds the first merge keeps the lock after reading the board


def _row(model: str, value: float) -> dict:
    row = dict.fromkeys(LEADERBOARD_COLUMNS, "")
    row.update(schema_version=2, model=model, task="t", condition="all", metric="chrf", value=value,
               n=5, n_errors=0, run_id=model, created_at="2026-01-01T00:00:00Z")
    return row


SLOW_MERGE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import harness.results._leaderboard as lb

    path, marker, hold = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    real_write = lb.atomic_write_csv

    def slow_write(df, p, cols):  # called inside merge's lock, after the old board was read
        marker.write_text(str(time.time()))
        time.sleep(hold)
        real_write(df, p, cols)

    lb.atomic_write_csv = slow_write
    row = dict.fromkeys(lb.LEADERBOARD_COLUMNS, "")
    row.update(schema_version=2, model="first", task="t", condition="all", metric="chrf", value=1.0,
               n=5, n_errors=0, run_id="first", created_at="2026-01-01T00:00:00Z")
    lb.merge(path, [row])
    print(time.time())
""")


def test_second_merge_waits_for_the_first_and_both_rows_land(tmp_path):
    board = tmp_path / "leaderboard.csv"
    merge(board, [_row("seed", 0.5)])  # an existing board both merges read
    marker = tmp_path / "inside-lock"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    first = subprocess.Popen([sys.executable, "-c", SLOW_MERGE, str(board), str(marker), str(HOLD)],
                             env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not marker.exists():
        assert first.poll() is None, first.stderr.read()
        assert time.time() < deadline, "the first merge never reached its write"
        time.sleep(0.02)
    entered = float(marker.read_text())
    # the first merge holds the lock and has not written yet: the overlap is real
    assert set(pd.read_csv(board).model) == {"seed"}
    started = time.time()
    merge(board, [_row("second", 2.0)])
    finished = time.time()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    first_done = float(out.strip().splitlines()[-1])
    assert finished >= first_done - 0.05  # the second merge finished only after the first released
    assert finished - started >= HOLD - (started - entered) - 0.1  # and it waited for that
    final = pd.read_csv(board)
    assert sorted(final.model) == ["first", "second", "seed"]
    assert final.set_index("model").value.to_dict() == {"first": 1.0, "second": 2.0, "seed": 0.5}
