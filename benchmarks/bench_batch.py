#!/usr/bin/env python3
"""Benchmark `sysret-verify batch` (issue 13): one batch of kernels, in one
run, three ways, so the numbers share the machine's load:

- serially (`--jobs 1`),
- on the local pool (`--jobs N`, default: the number of cores),
- through a Dask cluster started here on localhost (`dask scheduler` and
  `--workers` `dask worker` processes, one thread each).

The batch: the two Debian kernels by release name (fetched once and cached,
as `check --debian`) plus a seeded-bug copy of each (the same bugs as
tests/test_real_kernels.py and bench_check.py), i.e. four kernels; every run
with `--no-cache`, so every proof really runs.

Reported per mode: wall time of the batch command, speedup against serial,
the cores the proofs actually got (their CPU seconds / wall: on a shared
machine this, not the speedup, shows whether the pool used the cores it
had), the verdicts (which must agree), and peak memory: per proof (each kernel's
proof process, VmHWM) and per worker (for the cluster: the `dask worker`
process's own peak plus the largest proof it ran).

    python benchmarks/bench_batch.py [--jobs N] [--workers 2] [--no-cluster] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "examples"))
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
import debian_kernel  # noqa: E402
from bench_check import seeded_copy  # noqa: E402

BIN = os.path.dirname(sys.executable)


def _hwm_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def run_batch(args, out, env):
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "verify.cli", "batch", *args, "--no-cache", "-o", out],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode not in (0, 1, 3):
        sys.exit(f"bench_batch: batch failed (exit {r.returncode}): {r.stderr.strip()[-400:]}")
    with open(os.path.join(out, "summary.json")) as f:
        return wall, json.load(f)


class Cluster:
    def __init__(self, tmp, env, workers):
        self.procs, self.workers = [], []
        sched = os.path.join(tmp, "scheduler.json")
        t0 = time.perf_counter()
        self._start([os.path.join(BIN, "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", sched], tmp, "scheduler", env)
        while not os.path.exists(sched):
            time.sleep(0.1)
        time.sleep(0.2)
        with open(sched) as f:
            self.address = json.load(f)["address"]
        for i in range(workers):
            self.workers.append(self._start(
                [os.path.join(BIN, "dask"), "worker", "--scheduler-file", sched, "--host", "127.0.0.1",
                 "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--name", f"w{i}",
                 "--local-directory", os.path.join(tmp, f"w{i}")], tmp, f"w{i}", env))
        from distributed import Client

        with Client(self.address, timeout=30) as c:
            c.wait_for_workers(workers, timeout=120)
        self.startup = time.perf_counter() - t0

    def _start(self, cmd, tmp, name, env):
        log = open(os.path.join(tmp, name + ".log"), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.procs.append(p)
        return p

    def worker_pids(self):
        """{dask worker pid (the nanny's child): its own peak MiB}."""
        import psutil

        out = {}
        for n in self.workers:
            for k in psutil.Process(n.pid).children():
                out[k.pid] = _hwm_mib(k.pid)
        return out

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def verdicts(summary):
    return {os.path.basename(k["input"]): k["verdict"] for k in summary["kernels"]}


def per_worker(summary):
    w = {}
    for k in summary["kernels"]:
        w.setdefault(k["worker"], []).append(k)
    return w


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="local pool size (default: cores)")
    p.add_argument("--workers", type=int, default=2, help="dask workers started on localhost (default 2)")
    p.add_argument("--no-cluster", action="store_true")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    a = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-batch-")
    env = dict(os.environ, SYSRET_VERIFY_CACHE=os.path.join(tmp, "cache"))
    env.pop("SYSRET_VERIFY_ENGINE", None)
    kernels = []
    for rel in (debian_kernel.KERNEL_61, debian_kernel.KERNEL_612):
        vmlinux, _ = debian_kernel.fetch(rel)
        seeded, _oid = seeded_copy(vmlinux, rel, tmp)
        kernels += [rel, seeded]
    print(f"batch of {len(kernels)} kernels: {', '.join(os.path.basename(k) for k in kernels)}", file=sys.stderr)

    rows, figures = [], {"kernels": kernels, "cores": os.cpu_count(), "modes": {}, "load_before": os.getloadavg()[0]}
    wall1, s1 = run_batch(["--jobs", "1", *kernels], os.path.join(tmp, "serial"), env)
    rows.append(("serial (--jobs 1)", wall1, s1, None))
    wallp, sp = run_batch(["--jobs", str(a.jobs), *kernels], os.path.join(tmp, "pool"), env)
    rows.append((f"local pool (--jobs {a.jobs})", wallp, sp, None))
    if not a.no_cluster:
        c = Cluster(tmp, dict(env, DASK_TEMPORARY_DIRECTORY=tmp), a.workers)
        try:
            wallc, sc = run_batch(["--cluster", c.address, *kernels], os.path.join(tmp, "cluster"), env)
            own = c.worker_pids()
        finally:
            c.stop()
        rows.append((f"dask cluster ({a.workers} workers x 1 thread)", wallc, sc, own))
        figures["cluster_startup_seconds"] = round(c.startup, 2)

    print(f"{'mode':<40} {'wall':>7} {'speedup':>8}  {'cores':>5}  peak per proof / per worker "
          "(largest proof+worker process)")
    for name, wall, s, own in rows:
        if verdicts(s) != verdicts(s1):
            print(f"bench_batch: verdicts differ: {verdicts(s)} vs serial {verdicts(s1)}", file=sys.stderr)
            return 1
        proof_peak = max(k["peak_mib"] or 0 for k in s["kernels"])
        workers = []
        for wname, ks in sorted(per_worker(s).items()):
            pid = int(wname.rsplit(":", 1)[1])
            mine = (own or {}).get(pid)
            peak = max(k["peak_mib"] or 0 for k in ks)
            workers.append({"worker": wname, "kernels": len(ks), "largest_proof_mib": peak,
                            "worker_process_mib": round(mine, 1) if mine else None})
        per_w = "; ".join(f"{w['kernels']} kernels, {w['largest_proof_mib']:.0f}"
                          + (f"+{w['worker_process_mib']:.0f}" if w["worker_process_mib"] else "") + " MiB"
                          for w in workers) if own is not None else "a pool slot holds one proof at a time"
        cpu = sum(k.get("cpu_seconds") or 0 for k in s["kernels"])
        print(f"{name:<40} {wall:6.1f}s {wall1 / wall:7.2f}x  {cpu / wall:5.2f}  {proof_peak:.0f} MiB / {per_w}")
        figures["modes"][name] = {"wall": round(wall, 2), "speedup": round(wall1 / wall, 2),
                                  "cpu_seconds": round(cpu, 2), "cores_obtained": round(cpu / wall, 2),
                                  "proof_peak_mib": proof_peak, "workers": workers,
                                  "kernel_seconds": {os.path.basename(k["input"]): k["elapsed"] for k in s["kernels"]}}
    print("cores: the proofs' CPU seconds / wall, i.e. how many cores the mode actually got (at most "
          f"{os.cpu_count()} here; less when other work runs)")
    if "cluster_startup_seconds" in figures:
        print(f"cluster: scheduler and workers started on localhost in {figures['cluster_startup_seconds']:.1f} s "
              "(not counted above)")
    figures["load_after"] = os.getloadavg()[0]
    print(f"load average (1 min) before {figures['load_before']:.1f}, after {figures['load_after']:.1f} on "
          f"{os.cpu_count()} cores: other work on the machine slows the parallel runs most")
    print("verdicts: " + ", ".join(f"{k}: {v}" for k, v in verdicts(s1).items()))
    per = [k["elapsed"] for k in s1["kernels"]]
    print(f"serial: {sum(per) / len(per):.1f} s per kernel on average (process start, angr import, proof, report)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
