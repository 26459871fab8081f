"""How much does reading a kernel cost?  `nm` vs `sysret-verify inspect` vs a
naive whole-image angr load, on the Debian 6.1 cloud vmlinux (588 MB).

    python benchmarks/bench_inspect.py [--skip-naive] [--repeat N] [VMLINUX]

Targets (DESIGN.md, "reading only what the proof needs"): inspect <= 6x the
time of nm, peak RSS <= 400 MiB.  Each measured command runs in a child
process; peak RSS is that child's ru_maxrss (wait4), so the numbers do not
include this script.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))

TIME_RATIO_TARGET = 6.0
RSS_TARGET_MIB = 400


def measure(argv: list[str], timeout: float = 900) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MiB, exit status, CPU seconds) of one child process.
    CPU time is reported because wall time on a shared 2-CPU machine is noisy,
    and inspect hashes the image in a second thread (CPU may exceed wall)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode:
        print(f"  {' '.join(argv[:3])}...: exit {proc.returncode}: {err.strip()[:300]}", file=sys.stderr)
    return wall, usage.ru_maxrss / 1024.0, proc.returncode, usage.ru_utime + usage.ru_stime


def best_of(argv, repeat):
    runs = [measure(argv) for _ in range(repeat)]
    best = min(runs, key=lambda r: r[0])
    return best[0], max(r[1] for r in runs), max(r[2] for r in runs), best[3]


NAIVE = "import angr, sys; p = angr.Project(sys.argv[1], auto_load_libs=False); print(len(p.loader.main_object.symbols))"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vmlinux", nargs="?", help="default: the cached Debian 6.1 cloud vmlinux")
    ap.add_argument("--skip-naive", action="store_true", help="skip the ~2 minute whole-image angr load")
    ap.add_argument("--repeat", type=int, default=3, help="runs of nm and inspect (best time is kept)")
    args = ap.parse_args(argv)
    vmlinux = args.vmlinux
    if vmlinux is None:
        import debian_kernel

        vmlinux = debian_kernel.fetch(debian_kernel.KERNEL_61, quiet=True)[0]
    rows = []
    if shutil.which("nm"):
        rows.append(("nm", *best_of(["nm", vmlinux], args.repeat)))
    cli = [sys.executable, "-m", "verify.cli"]
    rows.append(("inspect (text)", *best_of(cli + ["inspect", vmlinux], args.repeat)))
    rows.append(("inspect (json)", *best_of(cli + ["inspect", "--format", "json", vmlinux], args.repeat)))
    if not args.skip_naive:
        rows.append(("naive angr.Project", *measure([sys.executable, "-c", NAIVE, vmlinux], timeout=1800)))

    print(f"image: {vmlinux} ({os.path.getsize(vmlinux) / 2**20:.0f} MiB)")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'command':<22} {'wall s':>8} {'CPU s':>7} {'peak RSS MiB':>13} {'exit':>5}")
    for name, wall, rss, rc, cpu in rows:
        print(f"{name:<22} {wall:8.2f} {cpu:7.2f} {rss:13.0f} {rc:5d}")
    by = {r[0]: r for r in rows}
    ok = True
    if "nm" in by:
        ratio = by["inspect (text)"][1] / by["nm"][1]
        ok &= ratio <= TIME_RATIO_TARGET
        print(f"inspect/nm time ratio: {ratio:.1f}x (target <= {TIME_RATIO_TARGET:.0f}x)")
    rss = max(by["inspect (text)"][2], by["inspect (json)"][2])
    ok &= rss <= RSS_TARGET_MIB
    print(f"inspect peak RSS: {rss:.0f} MiB (target <= {RSS_TARGET_MIB} MiB)")
    if "naive angr.Project" in by:
        print(f"naive/inspect time ratio: {by['naive angr.Project'][1] / by['inspect (text)'][1]:.0f}x")
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
