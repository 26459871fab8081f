"""Time `sysret-verify model table` against a naive approach.

ours:  models.table.run_table: per property, the invariants and Houdini
       lemmas, then BMC with increasing depth for a minimal counterexample,
       interleaved with 1-induction for an unbounded proof, and reachability
       witnesses for every proof; properties spread over --jobs processes.
naive: the same machines, plain BMC from scratch at each depth up to a fixed
       bound (no invariants, no induction, no incremental solving).  It proves
       nothing unbounded ("bounded" at best), and still costs more.

usage: python benchmarks/bench_models.py [--depth N] [--jobs J]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from models.designs import make_design  # noqa: E402
from models.prove import bmc_only, equivalence_machine, safety_machine  # noqa: E402
from models.table import ROWS, run_table  # noqa: E402


def naive(depth: int) -> tuple[float, dict]:
    t0 = time.perf_counter()
    out = {}
    for kw, *_ in ROWS:
        d = make_design(**kw)
        out[d.label()] = (bmc_only(safety_machine(d), depth), bmc_only(equivalence_machine(d), depth))
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=6, help="naive BMC bound (events before the exit)")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    rows, t_ours = run_table(jobs=a.jobs)
    _, t_ours1 = run_table(jobs=1)
    t_naive, res = naive(a.depth)
    n = len(rows)
    undecided = sum(1 for s, e in res.values() for x in (s, e) if x == "bounded")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print(f"model table ({n} designs x 2 properties), jobs={a.jobs}: {t_ours:.1f} s")
    print(f"model table, jobs=1:                                {t_ours1:.1f} s")
    print(f"naive BMC to depth {a.depth}, no induction, jobs=1:       {t_naive:.1f} s "
          f"({undecided} of {2 * n} cells only 'bounded', i.e. unproven)")


if __name__ == "__main__":
    main()
