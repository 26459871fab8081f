#!/usr/bin/env python3
"""Benchmark `sysret-verify check` on the real Debian kernels (issue 9).

Measures in one run, per kernel (default: both, 6.1 and 6.12 cloud), so that
the numbers share the machine's load:
- `nm` and `python -c "import angr"` (the yardstick: check <= 4x their sum,
  <= 10 s, <= 500 MiB);
- `sysret-verify check --no-cache` end to end (the default engine);
- `check` of a copy with one check removed (a seeded bug: it must be found
  within the same limits);
- a second `check` answered from the result cache (not stored when a time
  budget cut the answer short; then it re-proves);
- the naive baseline on the same code: plain angr path exploration from
  entry_SYSCALL_64 with calls havocked (benchmarks/naive_angr.py), under
  --angr-timeout.

Time: nm, the import and the check run --repeat times in turn (3), without
the memory sampler; each row is the median run, the note lists every run.
Memory: `peak MiB` is the largest sum, sampled every --sample-ms (100 ms),
of the proportional set sizes (/proc/PID/smaps_rollup Pss) of the process
and every process it forked: `check` runs its compat sites and TS_COMPAT
effects in forked children (verify/prove/parallel.py), whose shared
copy-on-write pages PSS counts once.  `max RSS` is the largest resident
size of any one of them (os.wait4: exact, not sampled).  Reading
smaps_rollup walks the process's page tables: ~8 ms for a 400 MB process
here, so sampling every 20 ms (this script's interval until 2026-12-04) took
~40% of one of the two cores away from the check it measured.

    python benchmarks/bench_check.py [--release R ...] [--angr-timeout 120] [--skip-naive] [--repeat 3]
                                     [--sample-ms 100]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
import debian_kernel  # noqa: E402

# One removed check per kernel: (function, bytes found once in it, offset into
# them, replacement): the same seeded bugs as tests/test_real_kernels.py.
SEEDS = {
    debian_kernel.KERNEL_61: ("entry_SYSCALL_64", "48c1f9104939cb0f85", 7, b"\x90" * 6, "canonical-rip"),
    debian_kernel.KERNEL_612: ("do_syscall_64", "48b900f0ffffff7f00004839c873", 13, b"\x90" * 2, "canonical-rip"),
}


class Run:
    def __init__(self, returncode, stdout_text, stderr_text):
        self.returncode, self.stdout_text, self.stderr_text = returncode, stdout_text, stderr_text


def _tree(pid: int) -> list[int]:
    """pid and its descendants (from /proc/*/stat)."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c, pp in parent.items() if pp == p]
    return out


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory:
    """The peak, over samples every `every` seconds, of the summed PSS of
    a process tree."""

    every = 0.1

    def __init__(self, pid: int):
        import threading

        self.pid, self.peak_kib = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.every):
            self.peak_kib = max(self.peak_kib, sum(_pss_kib(p) for p in _tree(self.pid)))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024


def timed(cmd, env=None, sample: bool = True):
    """(Run, wall s, cpu s, peak MiB (summed PSS of the tree; 0 unsampled),
    max RSS MiB of one process) of one command; cpu counts the children it
    waited for."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        mem = TreeMemory(p.pid) if sample else None
        _pid, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        peak = mem.stop() if mem else 0.0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(p.returncode, out.read(), err.read())
    return run, dt, ru.ru_utime + ru.ru_stime, peak, ru.ru_maxrss / 1024


def seeded_copy(vmlinux: str, release: str, tmp: str) -> tuple[str, str] | None:
    sys.path.insert(0, os.path.join(HERE, ".."))
    from verify.image import KernelImage

    if release not in SEEDS:
        return None
    func, pattern, skip, new, oid = SEEDS[release]
    img = KernelImage.open(vmlinux, hash_image=False)
    start, end = img.symbols.lookup(func), img.symbols.function_end(func)
    code = img.read(start, end - start)
    off = code.find(bytes.fromhex(pattern))
    sec = img.elf.section_at(start)
    dst = os.path.join(tmp, os.path.basename(vmlinux) + "-seeded")
    shutil.copyfile(vmlinux, dst)
    with open(dst, "r+b") as f:
        f.seek(sec.offset + (start - sec.addr) + off + skip)
        f.write(new)
    return dst, oid


def bench(release: str, a, tmp: str) -> list:
    vmlinux, _ = debian_kernel.fetch(release)
    cache = os.path.join(tmp, "cache-" + release)
    env = dict(os.environ, SYSRET_VERIFY_CACHE=cache)
    rows = []
    out = os.path.join(tmp, f"{release}.json")
    cmd = [sys.executable, "-m", "verify.cli", "check", vmlinux, "--format", "json", "-o", out, "--quiet"]
    # The yardstick and the check, --repeat times in turn, unsampled (the
    # PSS sampler takes CPU from a check that uses both cores); each row
    # is the median run by wall time.  The check's memory: one more run,
    # sampled.
    runs: dict = {"nm": [], "angr": [], "check": []}
    for _ in range(a.repeat):
        runs["nm"].append(timed(["nm", vmlinux], sample=False))
        runs["angr"].append(timed([sys.executable, "-c", "import angr"], sample=False))
        runs["check"].append(timed(cmd + ["--no-cache"], env, sample=False))
    med = {k: sorted(v, key=lambda x: x[1])[len(v) // 2] for k, v in runs.items()}
    spread = {k: "/".join(f"{x[1]:.2f}" for x in v) for k, v in runs.items()}
    _r, nm_t, cpu, rss, maxrss = med["nm"]
    rows.append(("nm", nm_t, cpu, rss, maxrss, f"runs {spread['nm']} s"))
    _r, angr_t, cpu, rss, maxrss = med["angr"]
    rows.append(("python -c 'import angr'", angr_t, cpu, rss, maxrss, f"runs {spread['angr']} s"))
    r, check_t, cpu, rss, maxrss = med["check"]
    doc = json.load(open(out)) if os.path.exists(out) else {}
    counts = {s: sum(1 for o in doc.get("obligations", []) if o["status"] == s) for s in
              ("proven", "violated", "inconclusive")}
    rows.append(("check --no-cache", check_t, cpu, rss, maxrss,
                 f"exit {r.returncode}, {doc.get('verdict', 'error')}: {counts}; "
                 f"{check_t / (nm_t + angr_t):.1f}x (nm + import angr); runs {spread['check']} s"))
    r, dt, cpu, rss, maxrss = timed(cmd + ["--no-cache"], env)
    rows.append(("check --no-cache, PSS sampled", dt, cpu, rss, maxrss, f"exit {r.returncode}"))
    # the same proof in one process (verify/prove/parallel.py off)
    r, dt, cpu, rss, maxrss = timed(cmd + ["--no-cache"], dict(env, SYSRET_VERIFY_PARALLEL="0"))
    rows.append(("check --no-cache, one process", dt, cpu, rss, maxrss, f"exit {r.returncode}"))
    seeded = seeded_copy(vmlinux, release, tmp)
    if seeded:
        path, oid = seeded
        sout = out + ".seeded"
        r, dt, cpu, rss, maxrss = timed([sys.executable, "-m", "verify.cli", "check", path, "--format", "json",
                                         "-o", sout, "--quiet", "--no-cache"], env)
        sdoc = json.load(open(sout)) if os.path.exists(sout) else {}
        viol = sorted({(o["id"], o["variant"]["name"]) for o in sdoc.get("obligations", [])
                       if o["status"] == "violated"})
        rows.append((f"check, seeded {oid} bug", dt, cpu, rss, maxrss, f"exit {r.returncode}, violated: {viol}"))
        os.unlink(path)
    timed(cmd, env)  # fills the cache when the answer is complete
    # (without --quiet: the cache hit is said on stderr)
    r, dt, cpu, rss, maxrss = timed([c for c in cmd if c != "--quiet"], env)
    rows.append(("check (second run, cache)", dt, cpu, rss, maxrss,
                 "answered from the cache" if "cache" in r.stderr_text else "re-proved (a budget-cut answer is "
                 "never cached)"))
    if not a.skip_naive:
        r, dt, cpu, rss, maxrss = timed([sys.executable, os.path.join(HERE, "naive_angr.py"), vmlinux,
                                         "--timeout", str(a.angr_timeout)])
        rows.append(("naive angr exploration", dt, cpu, rss, maxrss,
                     (r.stdout_text.strip() or r.stderr_text.strip())[-160:]))
    return [(release, *row) for row in rows]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--release", action="append",
                    help="Debian kernel release (repeatable; default: both test kernels)")
    ap.add_argument("--angr-timeout", type=float, default=120.0,
                    help="budget for the naive angr exploration (benchmarks/naive_angr.py)")
    ap.add_argument("--skip-naive", action="store_true", help="skip the naive angr exploration")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of nm, the angr import and the check (unsampled), in turn; medians reported")
    ap.add_argument("--sample-ms", type=float, default=100.0,
                    help="PSS sampling interval (each sample costs ~8 ms of CPU per 400 MB process)")
    a = ap.parse_args()
    TreeMemory.every = a.sample_ms / 1000.0
    releases = a.release or [debian_kernel.KERNEL_61, debian_kernel.KERNEL_612]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rel in releases:
            rows += bench(rel, a, tmp)
    print(f"{'kernel':28} {'what':30} {'wall s':>7} {'cpu s':>7} {'peak MiB':>9} {'max RSS':>8}  note")
    for rel, name, wall, cpu, rss, maxrss, note in rows:
        print(f"{rel:28} {name:30} {wall:7.2f} {cpu:7.2f} {rss:9.0f} {maxrss:8.0f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
