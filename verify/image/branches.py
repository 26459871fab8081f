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


def _sorted_into_ranges(targets, ranges) -> dict:
    """{[lo, hi): the targets inside it} for every range: one sort and two
    bisections per range, not a test per (target, range) pair (tens of
    thousands of targets: jump labels, fixups, alternative branches)."""
    import bisect

    ts = sorted(targets)
    return {(lo, hi): ts[bisect.bisect_left(ts, lo):bisect.bisect_left(ts, hi)] for lo, hi in ranges}


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
    for r, ts in _sorted_into_ranges({t for _s, t in extra}, ranges).items():
        out[r].update((None, t) for t in ts)
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


def _windows(elf, addrs: np.ndarray, before: int, after: int) -> np.ndarray:
    """(len(addrs), before + after) int16: the image's bytes from addr -
    before to addr + after of each address, -1 where no section holds
    them."""
    width = before + after
    out = np.full((len(addrs), width), -1, np.int16)
    secs = sorted((x for x in elf.sections if x.flags & 2 and x.has_bits and x.size), key=lambda x: x.addr)
    if not secs or not len(addrs):
        return out
    view = getattr(elf, "section_view", elf.section_bytes)
    starts = np.array([x.addr for x in secs], np.uint64)
    ends = np.array([x.addr + x.size for x in secs], np.uint64)
    i = np.searchsorted(starts, addrs, side="right").astype(np.int64) - 1
    ok = i >= 0
    ok[ok] &= addrs[ok] < ends[i[ok]]
    span = np.arange(-before, after, dtype=np.int32)[None, :]
    for k in np.unique(i[ok]).tolist():
        d = np.frombuffer(view(secs[k].name), np.uint8)
        every = np.flatnonzero(ok & (i == k))
        for c in range(0, len(every), 1 << 15):  # (a few MiB of index temporaries at a time)
            rows = every[c:c + (1 << 15)]
            off = (addrs[rows] - starts[k]).astype(np.int32)[:, None] + span
            inside = (off >= 0) & (off < len(d))
            # (the bytes as int16 first: numpy 2 casts the -1 to the bytes'
            # uint8, 255, which a window's test for "outside" never sees)
            out[rows] = np.where(inside, d[np.clip(off, 0, len(d) - 1)].astype(np.int16), -1)
    # a window's bytes past its own section come from the section that holds
    # them, as memory has them (a padding or a call across two output
    # sections: adv_r162_callthunk_pad_section_edge, adv_r164_*_straddle);
    # -1 stays only where no section holds the byte
    rows, cols = np.nonzero(out < 0)
    if len(rows):
        at = addrs[rows].astype(np.uint64) + (cols.astype(np.int64) - before).astype(np.uint64)
        j = np.searchsorted(starts, at, side="right").astype(np.int64) - 1
        held = j >= 0
        held[held] &= at[held] < ends[j[held]]
        for k in np.unique(j[held]).tolist():
            d = np.frombuffer(view(secs[k].name), np.uint8)
            sel = np.flatnonzero(held & (j == k))
            out[rows[sel], cols[sel]] = d[(at[sel] - starts[k]).astype(np.int64)]
    return out


class _BootPairs:
    """Every (site, rel32) boot may write at a rel32 branch whose target the
    on-disk bytes do not show, as numpy arrays: patches.boot_branches' sites
    with each of their targets, and the direct calls call-depth tracking
    points at their callee's thunk.  Per site (sorted): its address, length,
    head bytes (h1 -1 for a one-byte head) and the on-disk bytes from 4
    before it to 4 after it (`win`; `ok`: the on-disk instruction is the
    branch the rewrite expects); per row (a choice): its site's index and
    the rel32."""

    def __init__(self, image):
        from .patches import tables

        tabs = tables(image)
        bb = tabs.boot_branches
        sites = [x for x, _l, _h, _t in bb]
        lens = [ln for _x, ln, _h, _t in bb]
        heads = [h for _x, _l, h, _t in bb]
        row_site = [np.array([k for k, (*_y, ts) in enumerate(bb) for _t in ts], np.int32)]
        row_target = [t for *_y, ts in bb for t in ts]
        # return sites (`jmp __x86_return_thunk`, 5 bytes) with every thunk
        # boot may point them at (not the static call sites among them)
        ret = np.array([a for a, _i in tabs.return_sites[1]], np.uint64)
        ret = ret[~np.isin(ret, np.array(sites, np.uint64))]
        thunks = np.array(tabs.return_thunks, np.uint64)
        n0 = len(sites)
        row_site.append(np.repeat(np.arange(n0, n0 + len(ret), dtype=np.int32), len(thunks)))
        row_target = np.concatenate([np.array(row_target, np.uint64), np.tile(thunks, len(ret))])
        # sites whose on-disk bytes may be a NOP5 the rewrite turns into its
        # branch: 5-byte jump labels (`jmp` to the taken target:
        # adv_r24_sysret_jl_rel8_inner) and ftrace's fentry sites (`call
        # ftrace_caller` / `ftrace_regs_caller` when tracing is switched on:
        # adv_r24_sysret_ftrace_rel32; a trampoline ftrace allocates at run
        # time is assumption instruction-boundaries)
        jl = [(r[0], r[2]) for r in tabs.jump_labels[1]]
        mc = tabs.mcount_locs
        tracers = [a for a in (image.symbols.get(n) for n in ("ftrace_caller", "ftrace_regs_caller")) if a is not None]
        mc = mc if tracers else np.zeros(0, np.uint64)
        n1 = n0 + len(ret)
        row_site.append(np.arange(n1, n1 + len(jl), dtype=np.int32))
        row_target = np.concatenate([row_target, np.array([t for _a, t in jl], np.uint64)])
        n2 = n1 + len(jl)
        row_site.append(np.repeat(np.arange(n2, n2 + len(mc), dtype=np.int32), len(tracers)))
        row_target = np.concatenate([row_target, np.tile(np.array(tracers, np.uint64), len(mc))])
        skl = tabs.call_thunk_size
        cs = tabs.call_sites if skl else np.zeros(0, np.uint64)
        one = len(ret) + len(jl) + len(mc) + len(cs)
        self.sites = np.concatenate([np.array(sites, np.uint64), ret, np.array([a for a, _t in jl], np.uint64), mc, cs])
        self.lens = np.concatenate([np.array(lens, np.int8), np.full(one, 5, np.int8)])
        self.h0 = np.concatenate([np.array([h[0] for h in heads], np.int16), np.full(len(ret) + len(jl), 0xE9, np.int16),
                                  np.full(len(mc) + len(cs), 0xE8, np.int16)])
        self.h1 = np.concatenate([np.array([h[1] if len(h) > 1 else -1 for h in heads], np.int16),
                                  np.full(one, -1, np.int16)])
        # on-disk bytes site-4 .. site+10 (a 6-byte site and 4 bytes after)
        self.win = _windows(image.elf, self.sites, 4, 10)
        nop5 = (self.win[:, 4:9] == np.array([0x0F, 0x1F, 0x44, 0x00, 0x00], np.int16)).all(axis=1)
        may_nop = np.zeros(len(self.sites), bool)
        may_nop[n1:n2 + len(mc)] = True
        self.ok = (self.win[:, 4] == self.h0) | (nop5 & may_nop)
        # a return site at a `ret` with a static call trampoline's signature
        # (0f b9 cc) 5 bytes on: __static_call_fixup writes the 5-byte jump
        # to the return thunk there (adv_r149_sysret_retsite_ret_tramp)
        tramp_ret = (self.win[:, 4] == 0xC3) & (self.win[:, 9:12] == np.array([0x0F, 0xB9, 0xCC], np.int16)).all(axis=1)
        self.ok[n0:n1] |= tramp_ret[n0:n1]
        rs = np.concatenate(row_site)
        # rel32 = target - (site + length) mod 2^32, in place in row_target
        # (~800,000 rows on 6.12: each uint64 temporary is 6.5 MB, and the
        # one-expression form held four at once)
        row_target -= self.sites[rs]
        row_target -= self.lens[rs].astype(np.uint64)
        row_target &= np.uint64(0xFFFFFFFF)
        rel = row_target.astype(np.uint32)
        del row_target
        # call-depth rows: the on-disk rel32 less the thunk's size
        ci = np.arange(n2 + len(mc), len(self.sites), dtype=np.int32)
        old = sum(np.where(self.win[ci, 5 + k] >= 0, self.win[ci, 5 + k], 0).astype(np.uint64) << np.uint64(8 * k)
                  for k in range(4))
        self.row_site = np.concatenate([rs, ci])
        self.rel = np.concatenate([rel, (old - np.uint64(skl or 0)) & np.uint64(0xFFFFFFFF)]).astype(np.uint32)

    def code(self, row: int) -> bytes:
        k = self.row_site[row]
        head = bytes([int(self.h0[k])] + ([int(self.h1[k])] if self.h1[k] >= 0 else []))
        return head + int(self.rel[row]).to_bytes(4, "little")

    def site(self, row: int) -> int:
        return int(self.sites[self.row_site[row]])


def _boot_pairs(image) -> _BootPairs:
    memo = image.__dict__.get("_boot_pairs")
    if memo is None:
        memo = image.__dict__["_boot_pairs"] = _BootPairs(image)
    return memo


def boot_branch_codes(image, near=()) -> list[tuple[int, int, bytes]]:
    """(site, length, code) of the rel32 branches boot writes with a target
    the on-disk bytes do not show (_BootPairs): every code that holds a
    `0f 07` or ends in a `0f` the on-disk byte after the site makes one, and
    every code of a site that ends within 32 bytes before an address of
    `near` or overlaps it (an on-disk `0f 07` a shifted decode may reach).
    One numpy pass over all (site, rel32) pairs: a 6.12 image has ~60,000
    return sites, each with seven thunks boot may choose, and ~230,000
    direct calls call-depth tracking may point elsewhere."""
    bp = _boot_pairs(image)
    if not len(bp.rel):
        return []
    k = bp.row_site
    r = [((bp.rel >> np.uint32(8 * j)) & np.uint32(0xFF)).astype(np.int16) for j in range(4)]
    after = bp.win[k, 4 + bp.lens[k]]
    hit = ((r[0] == 0x0F) & (r[1] == 7)) | ((r[1] == 0x0F) & (r[2] == 7)) | ((r[2] == 0x0F) & (r[3] == 7)) | (
        (r[3] == 0x0F) & (after == 7))
    keep = set(np.flatnonzero(hit & bp.ok[k]).tolist())
    if near:
        # (a site's code may shift a decode that runs on into the bytes after it)
        order = np.argsort(bp.sites)
        ends = (bp.sites + bp.lens.astype(np.uint64))[order]
        for a in near:
            lo, hi = np.searchsorted(ends, [a - 32, a + 8])
            close = set(order[int(lo):int(hi)].tolist())
            keep.update(np.flatnonzero(np.isin(k, list(close)) & bp.ok[k]).tolist() if close else ())
    return [(bp.site(x), int(bp.lens[k[x]]), bp.code(x)) for x in sorted(keep)]


def boot_branch_patterns(image, ranges) -> dict:
    """For each [lo, hi) of `ranges`, (source, target, row) of every
    direct-branch pattern whose bytes boot writes, in part or whole, at a
    rel32 rewrite (_BootPairs) and whose target lies in it: the rewritten
    branch itself, and any pattern that starts in its rel32 or runs into it
    from the 4 bytes before (a rel32 of `eb 40 ..` is a `jmp .+0x42` to a
    jump into site+1: adv_r23_sysret_sc_rel8_inner); row: the rewrite's
    (_boot_pairs(image).code(row)).  The byte scans read on-disk bytes
    only.  In chunks of rows: a few MiB of temporaries."""
    out: dict = {r: set() for r in ranges}
    bp = _boot_pairs(image)
    if not ranges or not len(bp.rel):
        return out
    merged: list = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    los = np.array([lo for lo, _ in merged], np.uint64)
    lasts = np.array([hi - 1 for _, hi in merged], np.uint64)

    def inside(t):
        i = np.searchsorted(los, t, side="right").astype(np.int64) - 1
        ok = i >= 0
        ok[ok] &= t[ok] <= lasts[i[ok]]
        return ok

    found = []
    rows_all = np.flatnonzero(bp.ok[bp.row_site])
    for c in range(0, len(rows_all), 1 << 16):
        rows = rows_all[c:c + (1 << 16)]
        k = bp.row_site[rows]
        two = bp.h1[k] >= 0
        rb = [((bp.rel[rows] >> np.uint32(8 * j)) & np.uint32(0xFF)).astype(np.int16) for j in range(4)]
        # q[i]: the byte at site - 4 + i with the rewrite in place: 4 on-disk
        # bytes, the head, the rel32, then 4 on-disk bytes after the site
        w = bp.win[k]
        q = [w[:, j] for j in range(4)] + [bp.h0[k]]
        q += [np.where(two, bp.h1[k], rb[0])] + [np.where(two, rb[j - 1], rb[j]) for j in range(1, 4)]
        q += [np.where(two, rb[3], w[:, 9])] + [np.where(two, w[:, 10 + j], w[:, 9 + j + 1]) for j in range(4)]
        boot_to = np.where(two, 10, 9)  # q index after the last byte boot writes (the first is 4)
        base = bp.sites[k] - np.uint64(4)
        for i in range(10):
            b0, b1 = q[i], q[i + 1]
            rel8 = (b0 == 0xEB) | ((b0 >= 0x70) & (b0 <= 0x7F)) | ((b0 >= 0xE0) & (b0 <= 0xE3))
            forms = [(rel8 & (i + 2 > 4), i + 1, 1, i + 2)]
            if i + 4 < len(q):
                forms.append((((b0 == 0xE8) | (b0 == 0xE9)) & (i + 5 > 4), i + 1, 4, i + 5))
            if i + 5 < len(q):
                jcc = ((b0 == 0x0F) & (b1 >= 0x80) & (b1 <= 0x8F)) | ((b0 == 0xC7) & (b1 == 0xF8))
                forms.append((jcc & (i + 6 > 4), i + 2, 4, i + 6))
            for m, at, n, end in forms:
                idx = np.flatnonzero(m & (i < boot_to))
                if not len(idx):
                    continue
                v = np.zeros(len(idx), np.int64)
                readable = np.ones(len(idx), bool)
                for j in range(n):
                    b = q[at + j][idx]
                    readable &= b >= 0
                    v |= np.where(b >= 0, b, 0).astype(np.int64) << (8 * j)
                v = np.where(v >= 1 << (8 * n - 1), v - (1 << (8 * n)), v)
                idx, v = idx[readable], v[readable]
                tgt = base[idx] + np.uint64(end) + v.astype(np.uint64)
                hit = inside(tgt)
                if hit.any():
                    found.append((base[idx][hit] + np.uint64(i), tgt[hit], rows[idx][hit]))
    for src, tgt, row in found:
        for lo, hi in ranges:
            m = (tgt >= np.uint64(lo)) & (tgt < np.uint64(hi))
            out[(lo, hi)].update(zip(src[m].tolist(), tgt[m].tolist(), row[m].tolist()))
    return out
