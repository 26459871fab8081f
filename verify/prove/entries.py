"""Other ways into the SYSRET path than entry_SYSCALL_64.

The engine explores from entry_SYSCALL_64 only.  A SYSRET site is also
reached by any code that jumps (or calls) into the part of the entry code
from which that site is reachable: 4.15-6.1's ret_from_fork-style exits,
Xen PV's syscall entry jumping to entry_SYSCALL_64_after_hwframe, or a
patched kernel.  Such a path starts from a state the exploration never
built, so a "proven" at a site it reaches means nothing for it.

Found here from the image, not from names: every direct `jmp`, `jcc` and
`call` (rel32 in every executable section, rel8 near the region) whose
target lies in the SYSRET region and whose source is outside the entry
function's own CFG, confirmed by decoding the source's function up to the
instruction (a byte pattern inside another instruction is not a jump).

Not covered (assumption `sysret-path-direct-entries`): entering the region
through an indirect branch, an exception-table fixup or a return address
planted in memory.

Xen PV's entries (`xen_*` code symbols) are installed by the Xen setup code
as hypercall callbacks and run only in a Xen PV guest: they count for the
xenpv variant only (assumption `xen-pv-entries`).
"""
from __future__ import annotations

import re
import struct

from .cfg import CfgError, decode

_REL8 = re.compile(rb"[\xeb\x70-\x7f\xe0-\xe3]", re.S)
_I32 = struct.Struct("<i").unpack_from


def sysret_region(prog, cfg) -> set[int]:
    """Addresses of the on-disk instructions of the entry CFG from which a
    SYSRET block is reachable (every patch-site choice counted)."""
    g = cfg.graph
    todo = [n for n, b in cfg.blocks.items() if b.kind in ("sysret", "sysretl")]
    seen = set(todo)
    while todo:
        n = todo.pop()
        for p in g.predecessors(n):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    out = set()
    for n in seen:
        for ins in cfg.blocks[n].insns:
            if n[1] is None:
                out.add(ins.addr)
    return out


CHUNK = 1 << 16


def _candidates(elf, lo: int, hi: int):
    """(source address, target) of every byte pattern that would be a direct
    branch or call into [lo, hi).  Per 64 KiB chunk of code the rel32 of
    such a branch lies in a range whose upper 16 bits take at most three
    values, so a regular expression over (opcode, any, any, those bytes)
    finds the candidates in C; each is then computed exactly."""
    for sec in elf.sections:
        if not (sec.flags & 4) or not sec.has_bits or not sec.size:  # SHF_EXECINSTR
            continue
        data = elf.section_bytes(sec.name)
        base = sec.addr
        for c in range(0, len(data), CHUNK):
            a = base + c
            # a source in [a, a + CHUNK + 2) branches by rel = target - (source + len)
            r_lo, r_hi = lo - (a + CHUNK + 6), hi - (a + 5)
            if r_hi < -(1 << 31) or r_lo >= (1 << 31):
                continue
            tops = {(r >> 16) & 0xFFFF for r in range(max(r_lo, -(1 << 31)), min(r_hi, (1 << 31) - 1) + 1, 1 << 15)}
            tops |= {(r_lo >> 16) & 0xFFFF, (r_hi >> 16) & 0xFFFF}
            alts = b"|".join(re.escape(struct.pack("<H", t)) for t in sorted(tops))
            pat = re.compile(rb"[\xe8\xe9]..(?:" + alts + rb")|\x0f[\x80-\x8f]..(?:" + alts + rb")", re.S)
            seg = data[c:c + CHUNK + 6]
            m = pat.search(seg)
            while m is not None:
                i = m.start()
                m = pat.search(seg, i + 1)  # overlapping candidates too
                if i >= CHUNK:
                    break
                k = 1 if seg[i] in (0xE8, 0xE9) else 2
                if i + k + 4 > len(seg):
                    continue
                tgt = (a + i + k + 4 + _I32(seg, i + k)[0]) & 0xFFFFFFFFFFFFFFFF
                if lo <= tgt < hi:
                    yield a + i, tgt
        # short branches reach 128 bytes: only code next to the region
        a, b = max(base, lo - 130), min(base + len(data), hi + 130)
        if a < b:
            chunk = data[a - base:b - base]
            for m in _REL8.finditer(chunk):
                i = m.start()
                if i + 2 > len(chunk):
                    continue
                tgt = a + i + 2 + struct.unpack_from("<b", chunk, i + 1)[0]
                if lo <= tgt < hi:
                    yield a + i, tgt


def _is_branch_at(prog, src: int, tgt: int) -> bool:
    """Whether a real instruction starts at `src` and branches to `tgt`,
    decoding linearly from the start of its function.  When the function
    cannot be decoded up to there, it counts as real (conservative)."""
    start = prog.symbols.symbolize(src)
    name = start.split("+")[0]
    fn = prog.symbols.get(name)
    if fn is None or fn > src or src - fn > 0x40000:
        return True
    a = fn
    while a < src:
        try:
            ins = decode(a, prog.fetch_raw(a, 16))
        except CfgError:
            return True
        if ins is None:
            return True
        a += ins.size
    if a != src:
        return False
    ins = decode(src, prog.fetch_raw(src, 16))
    return ins is not None and ins.target == tgt


def second_entries(prog, cfg) -> list[tuple[int, int]]:
    """(source, target) of every direct branch or call into the SYSRET
    region from code outside the entry function's CFG."""
    region = sysret_region(prog, cfg)
    if not region:
        return []
    # the entry CFG's own instructions, in every patch-site candidate (the
    # bytes a candidate runs at an address are explored there), and the
    # whole span of every site it forks at (its on-disk bytes are one of the
    # explored candidates, or never run)
    own = {ins.addr for b in cfg.blocks.values() for ins in b.insns}
    sites = [(b.addr, b.addr + max(len(c[0]) for c in prog.site_choices(b.addr))) for b in cfg.blocks.values()
             if b.kind == "choice" and b.addr in prog.sites]
    lo, hi = min(region), max(region) + 16
    out = []
    for src, tgt in _candidates(prog.image.elf, lo, hi):
        if tgt not in region or src in own or any(a <= src < b for a, b in sites):
            continue
        if _is_branch_at(prog, src, tgt):
            out.append((src, tgt))
    return sorted(set(out))


def is_xen_pv_entry(prog, src: int) -> bool:
    return prog.symbols.symbolize(src).startswith("xen_")
