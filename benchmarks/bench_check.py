#!/usr/bin/env python3
"""Benchmark `sysret-verify check` on a real Debian kernel (default 6.1 cloud).

Measures in one run, so that the numbers share the machine's load:
- `nm` and `python -c "import angr"` (issue 9's yardstick: check <= 4x their sum);
- `sysret-verify check --no-cache` end to end (the default engine), with its
  peak RSS and the per-variant rounds from its JSON;
- a second `check` answered from the result cache;
- the naive baseline: plain angr path exploration of the entry code with
  CALLLESS havocs for calls, under a time limit (benchmarks/naive_angr.py);
- the older engines: `--engine merged`, and the same path by path (no merging,
  SYSRET_VERIFY_NO_MERGE=1, bounded by --naive-timeout), and
  `angr.Project(vmlinux)` just to load the image (skip with --skip-naive; it
  takes ~2 minutes and 1.3 GB).

    python benchmarks/bench_check.py [--release 6.1.0-50-cloud-amd64] [--skip-naive] [--skip-merged]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
import debian_kernel  # noqa: E402


def timed(cmd, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r, dt, after.ru_maxrss / 1024, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--release", default=debian_kernel.KERNEL_61)
    ap.add_argument("--skip-naive", action="store_true", help="skip the angr.Project load")
    ap.add_argument("--angr-timeout", type=float, default=120.0,
                    help="budget for the naive angr exploration (benchmarks/naive_angr.py)")
    ap.add_argument("--skip-merged", action="store_true",
                    help="skip the merging engine and its path-by-path run (minutes each)")
    ap.add_argument("--naive-timeout", type=float, default=600.0,
                    help="budget for the path-by-path check (SYSRET_VERIFY_NO_MERGE=1)")
    a = ap.parse_args()
    vmlinux, _ = debian_kernel.fetch(a.release)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SYSRET_VERIFY_CACHE=cache)
        rows = []
        r, dt, rss, cpu = timed(["nm", vmlinux])
        nm_t = dt
        rows.append(("nm", dt, cpu, rss, ""))
        out = os.path.join(cache, "r.json")
        r, dt, rss, cpu = timed([sys.executable, "-c", "import angr"])
        rows.append(("python -c 'import angr'", dt, cpu, rss, ""))
        angr_t = dt
        # the default engine (verify/prove/): one merged state per program point
        r, dt, rss, cpu = timed([sys.executable, "-m", "verify.cli", "check", vmlinux, "--format", "json",
                                 "-o", out, "--no-cache", "--quiet"], env)
        check_t = dt
        verdict = json.load(open(out))["verdict"] if os.path.exists(out) else f"error: {r.stderr.strip()[:200]}"
        rows.append(("check --no-cache", dt, cpu, rss, f"exit {r.returncode}, {verdict}"))
        r2, dt2, rss2, cpu2 = timed([sys.executable, "-m", "verify.cli", "check", vmlinux, "--format", "json",
                                     "-o", out + "2", "--quiet"], env)
        r2, dt2, rss2, cpu2 = timed([sys.executable, "-m", "verify.cli", "check", vmlinux, "--format", "json",
                                     "-o", out + "2", "--quiet"], env)
        rows.append(("check (cached)", dt2, cpu2, rss2, f"exit {r2.returncode}"))
        # the naive baseline: plain angr path exploration of the entry text
        r, dt, rss, cpu = timed([sys.executable, os.path.join(HERE, "naive_angr.py"), vmlinux,
                                 "--timeout", str(a.angr_timeout)])
        rows.append(("naive angr exploration", dt, cpu, rss, (r.stdout.strip() or r.stderr.strip())[-160:]))
        if not a.skip_merged:
            # the older merging engine, and the same path by path (no merging)
            r, dt, rss, cpu = timed([sys.executable, "-m", "verify.cli", "check", vmlinux, "--engine", "merged",
                                     "--format", "json", "-o", out + "m", "--no-cache", "--quiet"], env)
            v_m = json.load(open(out + "m"))["verdict"] if os.path.exists(out + "m") else "error"
            rows.append(("check --engine merged", dt, cpu, rss, f"exit {r.returncode}, {v_m}"))
            env_naive = dict(env, SYSRET_VERIFY_NO_MERGE="1")
            r, dt, rss, cpu = timed([sys.executable, "-m", "verify.cli", "check", vmlinux, "--engine", "merged",
                                     "--format", "json", "-o", out + "3", "--no-cache", "--quiet",
                                     "--timeout", str(a.naive_timeout)], env_naive)
            naive = json.load(open(out + "3"))["verdict"] if os.path.exists(out + "3") else "error"
            rows.append(("merged, path by path (naive)", dt, cpu, rss, f"exit {r.returncode}, {naive} "
                         f"(--timeout {a.naive_timeout:g})"))
        result = json.load(open(out)) if os.path.exists(out) else {}
        if not a.skip_naive:
            code = ("import angr,logging;logging.disable(logging.CRITICAL);"
                    f"angr.Project({vmlinux!r}, auto_load_libs=False)")
            r, dt, rss, cpu = timed([sys.executable, "-c", code])
            rows.append(("naive angr.Project load", dt, cpu, rss, "load only, no analysis"))
    print(f"image: {vmlinux}")
    print(f"{'what':28} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}  note")
    for name, wall, cpu, rss, note in rows:
        print(f"{name:28} {wall:8.2f} {cpu:8.2f} {rss:9.0f}  {note}")
    print(f"check / (nm + import angr) = {check_t / (nm_t + angr_t):.1f}x (target <= 4x); "
          f"cached / first = {dt2 / check_t:.1%}")
    # (peak MiB is the largest child so far: getrusage cannot tell the children apart)
    for v in result.get("variants", []):
        print(f"  variant {v['name']}: {v.get('rounds')} rounds, {v.get('blocks')} blocks, {v['sysret_paths']} SYSRET "
              f"arrivals, {v['seconds']:.2f}s, following {', '.join(v.get('followed') or []) or 'no calls'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
