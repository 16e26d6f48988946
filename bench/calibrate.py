"""`make calibrate`: is the shipped paired test calibrated and do the shipped 95% CIs cover,
on each task's real block structure? Writes results/calibration.csv, its table as
results/calibration.md (the README's), and, for comparison,
results/calibration_percentile.csv (the percentile bootstrap the harness used before).

For every task, pooled view (`all`, as the leaderboard pools it) and — for translation —
every condition view, and every lexical metric the task uses:

- the items are the task's real items in their real blocks, and the reference side of every
  per-item statistic is real (each item's reference n-gram counts from the harness's own
  scorer); the hypothesis side is simulated. A latent quality on the logit scale,
      η = μ + effect(system a) + block + item + system×block + system×item,
  sets each item's n-gram precisions (q^γ_k, γ_k growing with the n-gram order) and matches
  are Binomial draws; the hypothesis length is the reference's times a lognormal ratio.
  ROUGE items get F = q, q^2.2, q^1.2 (ROUGE-1/2/L). Two systems share block and item
  effects (paired data) and differ by their own block and item noise.
- the truth is the corpus score of the expected summed statistics (E over 4,000 extra draws
  of the same structure, using the matches' expectations), so coverage is measured against a known value.
- `false_positive_rate`: μ_a = μ_b; share of the simulations where the shipped
  `stats.paired_test` gives p < α (two-sided, and one-sided `greater`).
- `power`: system a better by a logit effect (true difference in score points recorded).
- `coverage`: the shipped `stats.bootstrap_ci` of system a, and the difference CI of
  `paired_test`, contain the truth.

Every rate comes with its Monte-Carlo standard error sqrt(r(1−r)/sims).

    python bench/calibrate.py                # 10,000 null simulations per row group, 2 processes
    python bench/calibrate.py --sims 400 --tasks longdoc_zh_en --jobs 1
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# many small matrix products: OpenBLAS threads only add overhead (7× slower on 2 busy cores)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ALPHA = 0.05
FPR_GOAL, COVERAGE_GOAL = 0.055, 0.94
COLUMNS = ["task", "view", "metric", "blocks", "n", "check", "alternative", "effect_logit", "true_diff", "sims",
           "rate", "mc_se", "goal", "decision", "ok", "method", "signature"]
# variance components on the logit scale (block, item, system×block, system×item, log length ratio)
SD = {"block": 0.5, "item": 0.6, "sys_block": 0.25, "sys_item": 0.35, "length": 0.15}
LEVEL = {"chrf": 0.4, "bleu": 0.2, "rouge": -0.2}  # μ: chrF ≈ 45-55, BLEU ≈ 15-30, ROUGE-1 ≈ 45
EFFECTS = (0.1, 0.25)  # small and clear improvements (≈ 1-2 and 3-5 points)
TRUTH_DRAWS = 1000  # expected matches, not draws: truth's own MC error ≈ 0.1 point (250 items) to 0.5 (5)
SIM_MODEL = ("sim:logit(block=0.5,item=0.6,sysxblock=0.25,sysxitem=0.35)|len:lognormal(0.15)"
             "|ref-side:real")


@dataclass
class Structure:
    task: str
    view: str
    items: list
    blocks: list[str]


def structures(task_ids: list[str] | None) -> list[Structure]:
    from harness.results._leaderboard import pooled
    from harness.task._spec import load_tasks

    out = []
    for task in load_tasks(task_ids or None, via_datasets=False):
        metas = [it.meta for it in task.items]
        keep = pooled(metas)
        items = [it for it, k in zip(task.items, keep) if k]
        out.append(Structure(task.id, "all", items, [it.block for it in items]))
        conds = sorted({it.condition for it in task.items})
        if task.spec.kind == "translate" and len(conds) > 1:
            for c in conds:
                sel = [it for it in task.items if it.condition == c]
                out.append(Structure(task.id, c, sel, [it.block for it in sel]))
    return out


class Simulator:
    """Per-item statistics of two systems for one metric family on one structure."""

    def __init__(self, family: str, scorer, items: list, rng: np.random.Generator):
        self.family, self.scorer, self.rng = family, scorer, rng
        self.n = len(items)
        if family == "rouge":
            self.ref = None
        else:  # the reference against itself: its own n-gram counts on the reference side
            self.ref = scorer.stats([it.references[0] for it in items], items)
        self.idx = None

    def set_blocks(self, idx: np.ndarray, n_blocks: int) -> None:
        self.idx, self.nb = idx, n_blocks

    def shared(self, reps: int) -> np.ndarray:
        r = self.rng
        return r.normal(0, SD["block"], (reps, self.nb))[:, self.idx] + r.normal(0, SD["item"], (reps, self.n))

    def system(self, shared: np.ndarray, mu: float, expected: bool = False) -> np.ndarray:
        """(reps × items × k) statistics of one system given the shared effects; `expected`:
        the matches' expectation n·p instead of a Binomial draw (for the truth)."""
        r = self.rng
        reps = len(shared)
        eta = (mu + shared + r.normal(0, SD["sys_block"], (reps, self.nb))[:, self.idx]
               + r.normal(0, SD["sys_item"], (reps, self.n)))
        q = 1 / (1 + np.exp(-eta))
        if self.family == "rouge":
            return np.stack([q, q ** 2.2, q ** 1.2], axis=2)
        ratio = np.exp(r.normal(0, SD["length"], (reps, self.n)))
        ref = self.ref
        if self.family == "chrf":  # per char order k: hyp count, ref count, matches
            out = np.empty((reps, self.n, ref.shape[1]))
            for k in range(ref.shape[1] // 3):
                ref_k = ref[:, 3 * k + 1]
                hyp_k = np.round(ratio * ref_k)
                out[:, :, 3 * k] = hyp_k
                out[:, :, 3 * k + 1] = ref_k
                out[:, :, 3 * k + 2] = self._matches(np.minimum(hyp_k, ref_k), q ** ((k + 1) ** 0.8), expected)
            return out
        # bleu: sys_len, ref_len, correct_1..4, total_1..4
        ref_len = ref[:, 1]
        sys_len = np.round(ratio * ref_len)
        out = np.empty((reps, self.n, 10))
        out[:, :, 0], out[:, :, 1] = sys_len, ref_len
        for k in range(4):
            total = np.maximum(sys_len - k, 0)
            possible = np.minimum(total, np.maximum(ref_len - k, 0))
            out[:, :, 6 + k] = total
            out[:, :, 2 + k] = self._matches(possible, q ** ((k + 1) ** 0.9), expected)
        return out

    def _matches(self, n: np.ndarray, p: np.ndarray, expected: bool) -> np.ndarray:
        return n * p if expected else self.rng.binomial(n.astype(np.int64), p)


def truth(sim: Simulator, mu: float, fns: dict) -> dict[str, float]:
    """Corpus score of the expected summed statistics (the estimand of every interval)."""
    total, done = None, 0
    while done < TRUTH_DRAWS:
        reps = min(500, TRUTH_DRAWS - done)
        s = sim.system(sim.shared(reps), mu, expected=True).sum(axis=1).sum(axis=0)
        total = s if total is None else total + s
        done += reps
    mean = total / TRUTH_DRAWS
    return {name: float(fn(mean[None, :], np.array([float(sim.n)]))[0]) for name, fn in fns.items()}


MC_Z = 2.576  # a row misses its goal only when the goal is outside the rate's 99% Monte Carlo interval


def mc_interval(hits: int, sims: int, z: float = MC_Z) -> tuple[float, float]:
    """Wilson score interval of a simulated rate: unlike rate ± z·se it stays honest at a
    rate of 0 or 1, where the plug-in standard error is 0."""
    if not sims:
        return math.nan, math.nan
    p = hits / sims
    centre = (p + z * z / (2 * sims)) / (1 + z * z / sims)
    half = z * math.sqrt(p * (1 - p) / sims + z * z / (4 * sims * sims)) / (1 + z * z / sims)
    return max(0.0, centre - half), min(1.0, centre + half)


def decide(hits: int, sims: int, goal: str) -> str:
    """met | met within MC error | missed | '' (no goal). `>=g`: met when the rate reaches g;
    within MC error when it falls short but g is inside its 99% Monte Carlo interval; missed
    when even the interval's top is below g. `<=g` mirrors it. So a row is failed for a
    shortfall its simulations cannot tell from noise only about 0.5% of the time."""
    if not goal or not sims:
        return ""
    rate, (lo, hi), g = hits / sims, mc_interval(hits, sims), float(goal[2:])
    if goal.startswith(">="):
        return "met" if rate >= g else ("met within MC error" if hi >= g else "missed")
    if goal.startswith("<="):
        return "met" if rate <= g else ("met within MC error" if lo <= g else "missed")
    raise ValueError(f"goal {goal!r}: expected <=x or >=x")


def rate_row(task, view, metric, nb, n, check, alternative, effect, true_diff, hits, sims, goal, method,
             signature) -> dict:
    rate = hits / sims
    se = math.sqrt(rate * (1 - rate) / sims) if sims else math.nan
    decision = decide(hits, sims, goal)
    ok = (decision != "missed") if decision else ""
    return {"task": task, "view": view, "metric": metric, "blocks": nb, "n": n, "check": check,
            "alternative": alternative, "effect_logit": effect, "true_diff": round(true_diff, 3), "sims": sims,
            "rate": round(rate, 4), "mc_se": round(se, 4), "goal": goal, "decision": decision, "ok": ok,
            "method": method, "signature": signature}


def calibrate(s: Structure, family: str, sims: int, power_sims: int, seed: int, percentile: int):
    """Rows of one (structure, metric family); `percentile`: how many of the null simulations
    also score the old percentile bootstrap (0: none)."""
    import harness.inference._stats as st
    from harness.results._leaderboard import metric_fn
    from harness.task._spec import Task  # noqa: F401  (structures() loaded the tasks)
    from harness.score import registry

    task_obj = _task(s.task)
    scorer = registry.make(family, task_obj)
    names = list(scorer.names)
    fns = {nm: metric_fn(scorer, nm) for nm in names}
    rng = np.random.default_rng(seed)
    sim = Simulator(family, scorer, s.items, rng)
    idx, nb = st.block_index(s.blocks)
    sim.set_blocks(idx, nb)
    mu = LEVEL[family]
    base_truth = truth(sim, mu, fns)
    rows, pct_rows = [], []
    sig = scorer.signature() + "|" + SIM_MODEL
    ci_method = st.CI_METHOD
    counts = {nm: {"fp2": 0, "fp1": 0, "cov": 0, "covd": 0, "pct": 0} for nm in names}
    method = ""
    done = 0
    while done < sims:  # the null: both systems at μ
        reps = min(250, sims - done)
        shared = sim.shared(reps)
        a, b = sim.system(shared, mu), sim.system(shared, mu)
        for r in range(reps):
            for nm in names:
                c, fn = counts[nm], fns[nm]
                res = st.paired_test(a[r], b[r], s.blocks, fn)  # the shipped test, its default seed
                method = res["method"]
                c["fp2"] += res["p_two_sided"] < ALPHA
                c["fp1"] += res["p_greater"] < ALPHA
                c["covd"] += res["diff_ci_low"] <= 0.0 <= res["diff_ci_high"]
                lo, hi = st.bootstrap_ci(a[r], s.blocks, fn)
                c["cov"] += lo <= base_truth[nm] <= hi
                if done + r < percentile:
                    lo, hi = st.percentile_bootstrap_ci(a[r], s.blocks, fn)
                    c["pct"] += lo <= base_truth[nm] <= hi
        done += reps
    n = len(s.items)
    for nm in names:
        c = counts[nm]
        common = (s.task, s.view, nm, nb, n)
        rows.append(rate_row(*common, "false_positive_rate", "two-sided", 0.0, 0.0, c["fp2"], sims,
                             f"<={FPR_GOAL}", method, sig))
        rows.append(rate_row(*common, "false_positive_rate", "greater", 0.0, 0.0, c["fp1"], sims,
                             f"<={FPR_GOAL}", method.replace("paired-ar", "paired-ar-greater"), sig))
        rows.append(rate_row(*common, "coverage_ci", "", 0.0, 0.0, c["cov"], sims, f">={COVERAGE_GOAL}",
                             f"stats.bootstrap_ci|{st.SCORE_CI_METHOD}", sig))
        rows.append(rate_row(*common, "coverage_diff_ci", "", 0.0, 0.0, c["covd"], sims,
                             f">={COVERAGE_GOAL}", f"paired_test.diff_ci|{ci_method}", sig))
        if percentile:
            pct_rows.append(rate_row(*common, "coverage_ci", "", 0.0, 0.0, c["pct"], min(sims, percentile), "",
                                     "percentile-block-bootstrap|R:1000 (not shipped: for comparison)", sig))
    for effect in EFFECTS:  # a better by `effect` on the logit scale
        eff_truth = truth(sim, mu + effect, fns)
        counts = {nm: {"p2": 0, "p1": 0, "covd": 0} for nm in names}
        done = 0
        while done < power_sims:
            reps = min(250, power_sims - done)
            shared = sim.shared(reps)
            a, b = sim.system(shared, mu + effect), sim.system(shared, mu)
            for r in range(reps):
                for nm in names:
                    c, fn = counts[nm], fns[nm]
                    true_diff = eff_truth[nm] - base_truth[nm]
                    res = st.paired_test(a[r], b[r], s.blocks, fn)
                    c["p2"] += res["p_two_sided"] < ALPHA and res["diff"] > 0
                    c["p1"] += res["p_greater"] < ALPHA
                    c["covd"] += res["diff_ci_low"] <= true_diff <= res["diff_ci_high"]
            done += reps
        for nm in names:
            c, true_diff = counts[nm], eff_truth[nm] - base_truth[nm]
            common = (s.task, s.view, nm, nb, n)
            rows.append(rate_row(*common, "power", "two-sided", effect, true_diff, c["p2"], power_sims, "",
                                 method, sig))
            rows.append(rate_row(*common, "power", "greater", effect, true_diff, c["p1"], power_sims, "",
                                 method.replace("paired-ar", "paired-ar-greater"), sig))
            rows.append(rate_row(*common, "coverage_diff_ci", "", effect, true_diff, c["covd"], power_sims,
                                 f">={COVERAGE_GOAL}", f"paired_test.diff_ci|{ci_method}", sig))
    return rows, pct_rows


_TASKS: dict = {}


def _task(task_id: str):
    if task_id not in _TASKS:
        from harness.task._spec import load_tasks

        _TASKS[task_id] = load_tasks([task_id], via_datasets=False)[0]
    return _TASKS[task_id]


LEXICAL = ("chrf", "bleu", "rouge")


def plan(task_ids: list[str], views: set[str], base_seed: int = 20261201) -> list[tuple[Structure, str, int]]:
    """(structure, metric family, seed) of every row group: each lexical metric of each task
    on its pooled view; translation's condition views (4-11 blocks each) with chrF, its
    primary metric. Seeds differ per group: no two groups share simulations."""
    out = []
    for k, s in enumerate(structures(task_ids)):
        if views and s.view not in views:
            continue
        for family in [f for f in _task(s.task).spec.metrics if f in LEXICAL]:
            if s.view != "all" and family != "chrf":
                continue
            out.append((s, family, base_seed + 7919 * k + 104729 * LEXICAL.index(family)))
    return out


def _run(job):
    s, family, seed, sims, power_sims, percentile = job
    t0 = time.perf_counter()
    rows, pct = calibrate(s, family, sims, power_sims, seed, percentile if s.view == "all" else 0)
    print(f"{s.task:18s} {s.view:22s} {family:5s} blocks={len(set(s.blocks)):3d} n={len(s.items):3d} "
          f"{time.perf_counter() - t0:5.1f}s", file=sys.stderr, flush=True)
    return rows, pct


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=10000, help="null simulations per row group (default 10000)")
    ap.add_argument("--power-sims", type=int, default=500, help="simulations per effect size (default 500)")
    ap.add_argument("--percentile-sims", type=int, default=1000,
                    help="null simulations that also score the old percentile bootstrap (pooled views; 0: none)")
    ap.add_argument("--tasks", default="", help="comma-separated task ids (default: every shipped task)")
    ap.add_argument("--views", default="", help="comma-separated views to keep (default: all and conditions)")
    ap.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--seed", type=int, default=20261201, help="base seed of the simulations")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "calibration.csv")
    args = ap.parse_args(argv)
    from harness.core._paths import offline_environment

    offline_environment()
    jobs = [(s, f, seed, args.sims, args.power_sims, args.percentile_sims)
            for s, f, seed in plan([t for t in args.tasks.split(",") if t], {v for v in args.views.split(",") if v},
                                   args.seed)]
    start = time.perf_counter()
    if args.jobs > 1 and len(jobs) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(args.jobs) as pool:
            done = pool.map(_run, jobs, chunksize=1)
    else:
        done = [_run(j) for j in jobs]
    rows = [r for rs, _ in done for r in rs]
    pct_rows = [r for _, ps in done for r in ps]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _write(args.out, rows)
    if pct_rows:
        _write(args.out.with_name(args.out.stem + "_percentile.csv"), pct_rows)
    args.out.with_suffix(".md").write_text(markdown(rows, pct_rows), encoding="utf-8")
    bad = [r for r in rows if r["decision"] == "missed"]
    close = [r for r in rows if r["decision"] == "met within MC error"]
    print(f"{len(rows)} rows in {time.perf_counter() - start:.0f}s -> {args.out}; {len(bad)} missed their goal, "
          f"{len(close)} met it within Monte Carlo error (99% interval)", file=sys.stderr)
    for r in close:
        print(f"  within MC error: {r['task']} {r['view']} {r['metric']} {r['check']} {r['alternative']}: "
              f"{r['rate']} ± {r['mc_se']} (goal {r['goal']})", file=sys.stderr)
    for r in bad:
        print(f"  {r['task']} {r['view']} {r['metric']} {r['check']} {r['alternative']} effect={r['effect_logit']}: "
              f"{r['rate']} ± {r['mc_se']} (goal {r['goal']})", file=sys.stderr)
    return 1 if bad else 0


def markdown(rows: list[dict], pct_rows: list[dict]) -> str:
    """The README's table: one line per (task, view, metric)."""
    def get(key, check, alt="", effect=0.0):
        return next((r for r in rows if (r["task"], r["view"], r["metric"]) == key and r["check"] == check
                     and r["alternative"] == alt and float(r["effect_logit"]) == effect), None)

    keys = list(dict.fromkeys((r["task"], r["view"], r["metric"]) for r in rows))
    out = ["| task · view | metric | blocks | false positives, two-sided / one-sided (± MC s.e.) | power at "
           f"+{EFFECTS[0]} / +{EFFECTS[1]} logit (true Δ in points) | CI coverage (percentile before) | "
           "difference-CI coverage, null / effects |", "|---|---|---|---|---|---|---|"]
    for key in keys:
        two, one = get(key, "false_positive_rate", "two-sided"), get(key, "false_positive_rate", "greater")
        p1, p2 = get(key, "power", "two-sided", EFFECTS[0]), get(key, "power", "two-sided", EFFECTS[1])
        cov = get(key, "coverage_ci")
        d0 = get(key, "coverage_diff_ci")
        d1, d2 = get(key, "coverage_diff_ci", "", EFFECTS[0]), get(key, "coverage_diff_ci", "", EFFECTS[1])
        pct = next((r for r in pct_rows if (r["task"], r["view"], r["metric"]) == key), None)
        out.append(f"| {key[0]} · {key[1]} | {key[2]} | {two['blocks']} | {two['rate']:.3f} ± {two['mc_se']:.3f} / "
                   f"{one['rate']:.3f} | {p1['rate']:.2f} ({p1['true_diff']:.1f}) / {p2['rate']:.2f} "
                   f"({p2['true_diff']:.1f}) | {cov['rate']:.3f}" + (f" ({pct['rate']:.3f})" if pct else "")
                   + f" | {d0['rate']:.3f} / {d1['rate']:.3f}, {d2['rate']:.3f} |")
    by = {d: [r for r in rows if r["decision"] == d] for d in ("met within MC error", "missed")}
    out.append("")
    out.append(f"Goals (a row misses only when its goal is outside the rate's 99% Monte Carlo interval): "
               f"{sum(r['decision'] == 'met' for r in rows)} met, {len(by['met within MC error'])} met within "
               f"Monte Carlo error, {len(by['missed'])} missed.")
    for d, rs in by.items():
        out += [f"- {d}: {r['task']} · {r['view']} · {r['metric']} · {r['check']} {r['alternative']}".rstrip()
                + f" = {r['rate']:.3f} ± {r['mc_se']:.3f} (goal {r['goal']})" for r in rs]
    return "\n".join(out) + "\n"


def _write(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
