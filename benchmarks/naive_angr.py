#!/usr/bin/env python3
"""The naive baseline of issue 9: plain angr path exploration of the SYSCALL
entry, with the same havoc for calls (angr's CALLLESS: a call returns at once
with unconstrained caller-saved registers), and a time limit.

It loads only the entry text as a blob (loading the whole vmlinux with
angr.Project takes minutes), starts at entry_SYSCALL_64 with every register
and memory byte symbolic, runs the bytes on disk (no boot-time variants), and
explores path by path until every path ended or the time ran out.  At each
sysretq it asks the solver whether RCX can be non-canonical (one obligation,
enough to compare the cost).  Prints one JSON line: paths, sysret states,
seconds, whether the exploration finished.

    python benchmarks/naive_angr.py VMLINUX [--timeout 120]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vmlinux")
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    logging.disable(logging.CRITICAL)
    import angr
    import claripy

    from verify.image import KernelImage

    img = KernelImage.open(a.vmlinux, hash_image=False)
    lo, hi = img.entry.entry_text
    entry = img.entry.syscall_entry
    sysrets = set(img.entry.sysret_sites)
    blob = img.read(lo, hi - lo)
    t0 = time.monotonic()
    proj = angr.load_shellcode(blob, arch="amd64", load_address=lo, start_offset=entry - lo)
    state = proj.factory.blank_state(addr=entry, add_options={angr.options.CALLLESS,
                                                              angr.options.SYMBOL_FILL_UNCONSTRAINED_MEMORY,
                                                              angr.options.SYMBOL_FILL_UNCONSTRAINED_REGISTERS})
    simgr = proj.factory.simgr(state)
    found, noncanonical, steps = 0, 0, 0
    finished = False
    while time.monotonic() - t0 < a.timeout:
        if not simgr.active:
            finished = True
            break
        simgr.step()
        steps += 1
        for s in list(simgr.active):
            if s.addr in sysrets:
                found += 1
                rcx = s.regs.rcx
                if s.solver.satisfiable(extra_constraints=[claripy.Or(
                        claripy.And(rcx[63:47] != 0, rcx[63:47] != 0x1FFFF))]):
                    noncanonical += 1
                simgr.active.remove(s)
        simgr.drop(stash="deadended")
        simgr.drop(stash="unconstrained")
    print(json.dumps({"steps": steps, "sysret_states": found, "rcx_may_be_noncanonical": noncanonical,
                      "active_left": len(simgr.active), "errored": len(simgr.errored), "finished": finished,
                      "seconds": round(time.monotonic() - t0, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
