"""Byte patterns that would be direct branches: where code may jump.

A direct jmp/jcc/call encodes its target relative to its own end, so every
offset of an executable section that holds such an opcode names a possible
target, whether or not a decode takes those bytes for an instruction.  The
searches built on this (prove/entries.py: jumps into the SYSRET path from
outside the entry; image/entry.py sysret_instructions: jumps into the middle
of an instruction that hides a SYSRET) take every pattern, confirmed or not:
a false one costs precision only, a missed one would cost soundness.

Patterns: e8/e9 + rel32 (call, jmp), 0f 80-8f + rel32 (jcc), c7 f8 + rel32
(xbegin: its abort path is a branch), and the rel8 forms (jmp, jcc, loop*,
jrcxz) near a range.

Alternative replacements (alternative_branches) count both ways: as
relocated to the site (their target at their own address: apply_alternatives
keeps it for what it relocates) and as copied without relocation (the same
displacement from the site: 6.1 recompute_jump relocates only a leading
5-byte jmp and a leading call, 6.12 apply_relocation only the branches of its
own linear decode), whatever the section's flags (the copy runs at the site).
"""
from __future__ import annotations

import re
import struct

import numpy as np

from ..errors import InputError

# the first byte of a rel8 branch: jmp, jcc, loop/loope/loopne, jrcxz
_REL8 = re.compile(rb"[\xeb\x70-\x7f\xe0-\xe3]", re.S)
# how far before or after a range a rel8 branch may sit and reach into it
REL8_REACH = 130


def kernel_text(image) -> tuple[int, int] | None:
    """[_text, PFN_ALIGN(_etext)) of the image, when its symbols say: the
    range the kernel leaves executable whatever its sections' flags
    (mark_rodata_ro, arch/x86/mm/init_64.c, makes memory NX only from
    PFN_ALIGN(_etext) on: the rest of _etext's page runs too,
    adv_r22_sysret_etext_page)."""
    lo, hi = image.symbols.get("_text"), image.symbols.get("_etext")
    if lo is None or hi is None or lo >= hi:
        return None
    return lo, (hi + 0xFFF) & ~0xFFF


def executable_runs(elf, text: tuple[int, int] | None = None) -> list:
    """The executable sections grouped into runs of contiguous ones, by
    address: code runs on from one into the next.  Executable: flagged
    SHF_EXECINSTR, or allocated inside `text` (kernel_text: on Debian's
    kernels that is .text alone; a section without the flag linked below
    _etext still runs, adv_r21_sysret_noexec_text)."""
    def runs_code(s):
        if s.flags & 4:
            return True
        return text is not None and s.flags & 2 and s.addr < text[1] and s.addr + s.size > text[0]

    secs = sorted((s for s in elf.sections if runs_code(s) and s.has_bits and s.size), key=lambda s: s.addr)
    runs: list = []
    for sec in secs:
        if runs and runs[-1][-1].addr + runs[-1][-1].size == sec.addr:
            runs[-1].append(sec)
        else:
            runs.append([sec])
    return runs


def _executable(elf, text=None):
    """(a section, the bytes of the run of contiguous executable sections it
    starts) of every such run: a view of the mapped file for a run of one
    section (no 20 MB copy per scan), the run's bytes joined for several (a
    branch whose opcode ends one section and whose displacement starts the
    next: adv_r21_sysret_brsplit)."""
    view = getattr(elf, "section_view", elf.section_bytes)
    for g in executable_runs(elf, text):
        yield g[0], (view(g[0].name) if len(g) == 1 else b"".join(bytes(elf.section_bytes(x.name)) for x in g))
        if hasattr(elf, "drop_section_pages"):
            for x in g:
                elf.drop_section_pages(x.name)


# bytes per numpy step: a few MiB of temporaries rather than ~20 bytes per
# byte of a 20 MB text section (the scan runs beside the exploration)
_CHUNK = 1 << 20


def rel32_targets(data: bytes, base: int):
    """Yield (offsets, targets) of every e8/e9 + rel32 and 0f 80-8f + rel32
    at any offset of `data` loaded at `base` (overlapping patterns
    included), a chunk of offsets at a time, as numpy arrays: int64
    offsets, uint64 targets mod 2**64 as the CPU computes them."""
    whole = np.frombuffer(data, np.uint8)
    base_s = base - (1 << 64) if base >= 1 << 63 else base  # two's complement: the same sums mod 2**64
    for s in range(0, len(whole), _CHUNK):
        d = whole[s:s + _CHUNK + 5]  # the patterns that start in the chunk, with their last bytes
        n = len(d)
        if n < 5:
            break
        calls = np.flatnonzero((d[:n - 4] == 0xE8) | (d[:n - 4] == 0xE9))  # rel32 at +1, ends by n
        jccs = np.flatnonzero((d[:n - 5] == 0x0F) & ((d[1:n - 4] & 0xF0) == 0x80))  # rel32 at +2
        xbegins = np.flatnonzero((d[:n - 5] == 0xC7) & (d[1:n - 4] == 0xF8))  # rel32 at +2
        pos_all, tgt_all = [], []
        for pos, k in ((calls, 1), (jccs, 2), (xbegins, 2)):
            pos = pos[pos < _CHUNK]  # (the next chunk's own)
            r = pos + k
            rel = d[r].astype(np.int64) | (d[r + 1].astype(np.int64) << 8) | \
                (d[r + 2].astype(np.int64) << 16) | (d[r + 3].astype(np.int64) << 24)
            rel -= (rel & 0x80000000) << 1  # sign-extend the 32 bits
            pos_all.append(pos.astype(np.int64) + s)
            tgt_all.append((base_s + s + r + 4 + rel).view(np.uint64))
        # 66 c7 f8 + rel16: xbegin with a 16-bit operand size, its target
        # not truncated in 64-bit mode (SDM XBEGIN; adv_r21_sysret_xbegin16)
        x16 = np.flatnonzero((d[:n - 4] == 0x66) & (d[1:n - 3] == 0xC7) & (d[2:n - 2] == 0xF8))
        x16 = x16[x16 < _CHUNK]
        r = x16 + 3
        rel = d[r].astype(np.int64) | (d[r + 1].astype(np.int64) << 8)
        rel -= (rel & 0x8000) << 1
        pos_all.append(x16.astype(np.int64) + s)
        tgt_all.append((base_s + s + r + 2 + rel).view(np.uint64))
        yield np.concatenate(pos_all), np.concatenate(tgt_all)


def rel32_into(data: bytes, base: int, lo: int, hi: int) -> list:
    """Every offset of `data` (loaded at `base`) holding e8/e9 + rel32 or
    0f 80-8f + rel32 whose target lies in [lo, hi): (address, target), in
    address order.  Every position is computed (numpy over the whole
    section, overlapping patterns included), none skipped by a filter."""
    lo, hi = max(lo, 0), min(hi, 1 << 64)  # a range may end at 2**64 (entries._candidates' top window)
    if lo >= hi:
        return []
    out = []
    for pos, tgt in rel32_targets(data, base):
        keep = tgt >= np.uint64(lo)
        if hi < 1 << 64:  # (2**64 is no uint64: every target is below it)
            keep &= tgt < np.uint64(hi)
        pos, tgt = pos[keep], tgt[keep]
        order = np.argsort(pos, kind="stable")
        out.extend((base + int(p), int(t)) for p, t in zip(pos[order].tolist(), tgt[order].tolist()))
    return out


def rel8_into(data: bytes, base: int, lo: int, hi: int) -> list:
    """(address, target) of every rel8 branch pattern of `data` (at `base`)
    within REL8_REACH bytes of [lo, hi) whose target lies in [lo, hi)."""
    out = []
    a, b = max(base, lo - REL8_REACH), min(base + len(data), hi + REL8_REACH)
    if a < b:
        chunk = bytes(data[a - base:b - base])
        for m in _REL8.finditer(chunk):
            i = m.start()
            if i + 2 > len(chunk):
                continue
            tgt = a + i + 2 + struct.unpack_from("<b", chunk, i + 1)[0]
            if lo <= tgt < hi:
                out.append((a + i, tgt))
    return out


def scan_candidates(elf, lo: int, hi: int, extra=(), text=None) -> list:
    """(source address, target) of every byte pattern that would be a direct
    branch or call into [lo, hi), in address order per executable section:
    rel32 (call, jmp, jcc, xbegin) from anywhere, then rel8 (jmp, jcc,
    loop*, jrcxz) from code next to the range; then those of `extra`
    ((source, target) pairs: alternative_branches) into it.  text:
    kernel_text (executable_runs)."""
    out = []
    for sec, data in _executable(elf, text):
        out.extend(rel32_into(data, sec.addr, lo, hi))
        out.extend(rel8_into(data, sec.addr, lo, hi))
    out.extend((s, t) for s, t in extra if lo <= t < hi)
    return out


def _branch_form(code: bytes, k: int):
    """(opcode bytes, displacement bytes) of a branch pattern at code[k], or
    None: the patterns rel32_targets and rel8_into count."""
    b0, b1 = code[k], (code[k + 1] if k + 1 < len(code) else None)
    if b0 in (0xE8, 0xE9):
        return 1, 4
    if (b0 == 0x0F and b1 is not None and b1 & 0xF0 == 0x80) or (b0 == 0xC7 and b1 == 0xF8):
        return 2, 4
    if b0 == 0x66 and code[k + 1:k + 3] == b"\xc7\xf8":
        return 3, 2  # xbegin rel16
    if b0 == 0xEB or 0x70 <= b0 <= 0x7F or 0xE0 <= b0 <= 0xE3:
        return 1, 1
    return None


def alternative_branches(image) -> list:
    """(site address + offset, target) of every branch pattern in every
    alternative replacement, each with the target it has relocated (at the
    replacement's address) and copied as it is (at the site's): see the
    module docstring.  Once per image."""
    memo = image.__dict__.get("_alternative_branches")
    if memo is not None:
        return memo
    from .patches import tables

    out = set()
    _lay, recs = tables(image).alternatives
    for site, _i, repl, _ft, _ilen, rlen in recs:
        if not rlen:
            continue
        try:
            code = image.elf.read(repl, rlen)
        except InputError:  # a record into no section: the site's own reader refuses it
            continue
        for k in range(len(code)):
            form = _branch_form(code, k)
            if form is None or k + form[0] + form[1] > len(code):
                continue
            op_len, size = form
            rel = int.from_bytes(code[k + op_len:k + op_len + size], "little", signed=True)
            after = k + op_len + size
            for base in (repl, site):
                out.add((site + k, (base + after + rel) & 0xFFFFFFFFFFFFFFFF))
    image.__dict__["_alternative_branches"] = sorted(out)
    return image.__dict__["_alternative_branches"]


def targets_into_ranges(elf, ranges, extra=(), text=None) -> dict:
    """For each [lo, hi) of `ranges`, (source, target) of every
    direct-branch pattern of the image's sections whose source lies outside
    it and whose target inside, and (None, target) of every one of `extra`
    (alternative_branches: code boot writes, no on-disk pattern), by target:
    scan_candidates for many ranges in one pass over the image."""
    ranges = sorted(set(ranges))
    out: dict = {r: set() for r in ranges}
    if not ranges:
        return {}
    # (`extra`'s sources count inside a range too: code patched in at boot
    # is not the on-disk bytes a decode of the range reads)
    for _s, t in extra:
        for lo, hi in ranges:
            if lo <= t < hi:
                out[(lo, hi)].add((None, t))
    # the targets go to the union of the ranges (disjoint intervals, for
    # searchsorted), then to every range of that union that holds them:
    # ranges may overlap (adv_r21_sysret_range_overlap)
    merged: list = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    los = np.array([lo for lo, _ in merged], np.uint64)
    lasts = np.array([hi - 1 for _, hi in merged], np.uint64)  # (a range may end at 2**64)
    for sec, data in _executable(elf, text):
        found = []
        for pos, tgt in rel32_targets(data, sec.addr):
            i = np.searchsorted(los, tgt, side="right").astype(np.int64) - 1
            ok = i >= 0
            ok[ok] &= tgt[ok] <= lasts[i[ok]]
            found += [(sec.addr + int(pos[k]), int(tgt[k])) for k in np.flatnonzero(ok).tolist()]
        for lo, hi in ranges:
            out[(lo, hi)].update((src, t) for src, t in found if lo <= t < hi and not lo <= src < hi)
            out[(lo, hi)].update((src, t) for src, t in rel8_into(data, sec.addr, lo, hi) if not lo <= src < hi)
    return {r: sorted(v, key=lambda st: (st[1], st[0] or 0)) for r, v in out.items()}


def _bytes_at(elf, addrs: np.ndarray) -> np.ndarray:
    """The image's byte at each address (uint64 array), -1 where no
    allocated section holds one."""
    out = np.full(len(addrs), -1, np.int16)
    view = getattr(elf, "section_view", elf.section_bytes)
    for sec in elf.sections:
        if not (sec.flags & 2 and sec.has_bits and sec.size):
            continue
        m = (addrs >= np.uint64(sec.addr)) & (addrs < np.uint64(sec.addr + sec.size))
        if m.any():
            d = np.frombuffer(view(sec.name), np.uint8)
            out[m] = d[(addrs[m] - np.uint64(sec.addr)).astype(np.int64)]
    return out


def boot_branch_codes(image, near=()) -> list[tuple[int, int, bytes]]:
    """(site, length, code) of the rel32 branches boot writes with a target
    the on-disk bytes do not show (patches.boot_branches): every code that
    holds a `0f 07` or ends in a `0f` the on-disk byte after the site makes
    one, and every code of a site that ends within 32 bytes before an
    address of `near` or overlaps it (an on-disk `0f 07` a shifted decode
    may reach).  One
    numpy pass over all (site, target) pairs: a 6.12 image has ~60,000
    return sites, each with seven thunks boot may choose."""
    from .patches import tables

    bb = tables(image).boot_branches
    if not bb:
        return []
    n = [len(ts) for _s, _l, _h, ts in bb]
    sites = np.repeat(np.array([s for s, _l, _h, _t in bb], np.uint64), n)
    lens = np.repeat(np.array([ln for _s, ln, _h, _t in bb], np.uint64), n)
    which = np.repeat(np.arange(len(bb)), n)
    targets = np.array([t for *_x, ts in bb for t in ts], np.uint64)
    rel = (targets - sites - lens) & np.uint64(0xFFFFFFFF)
    r = [((rel >> np.uint64(8 * k)) & np.uint64(0xFF)).astype(np.int16) for k in range(4)]
    after = _bytes_at(image.elf, sites + lens)
    hit = ((r[0] == 0x0F) & (r[1] == 7)) | ((r[1] == 0x0F) & (r[2] == 7)) | ((r[2] == 0x0F) & (r[3] == 7)) | (
        (r[3] == 0x0F) & (after == 7))
    keep = set(np.flatnonzero(hit).tolist())
    if near:
        # (a site's code may shift a decode that runs on into the bytes after it)
        ends = sites + lens
        for a in near:
            lo, hi = np.searchsorted(ends, [a - 32, a + 8])  # ends ascend with sites
            keep.update(range(int(lo), int(hi)))
    out = []
    first = _bytes_at(image.elf, sites[sorted(keep)]) if keep else []
    for k, b0 in zip(sorted(keep), first):
        site, length, head, _ts = bb[which[k]]
        if b0 != head[0]:
            continue  # (a return site whose on-disk instruction is no `jmp rel32`: boot leaves it)
        out.append((site, length, head + int(rel[k]).to_bytes(4, "little")))
    return out
