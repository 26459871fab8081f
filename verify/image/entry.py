"""Where the 64-bit syscall path is: entry_SYSCALL_64, the SYSRET/IRET sites it
can reach, the call to do_syscall_64 and the syscall dispatch inside it.

Pass order:
  1. entry text range (__entry_text_start/__entry_text_end, else the section);
  2. the patch sites inside it (every alternative's bytes count: a variant may
     add an edge, e.g. the XENPV `jmp swapgs_restore_regs_and_return_to_usermode`);
  3. a capstone-decoded CFG from entry_SYSCALL_64 over the entry text,
     following direct jmp/jcc/call targets inside the range and fall-through,
     at each patch site also the code of every variant;
  4. the SYSRETs (every encoding, of either width: encoding.sysret_width)
     and the 64-bit IRETs (encoding.is_iretq) among the reached instructions;
  5. do_syscall_64 decoded linearly for the call to the dispatch.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import InputError
from .encoding import (SYSRETQ, call_rel32_target, is_iretq, is_jump, lite_decode, operand_size_prefixed,
                       prefix_length, prefixed_system_insn, sysret_at, sysret_width, ud1_length)

# Every way user mode enters the kernel that can leave by SYSRET, in report
# order.  64-bit kernels never use SYSEXIT: both compat entries leave through
# sysret32_from_system_call (6.1/6.12 arch/x86/entry/entry_64_compat.S).
# entry_SYSCALL32_ignore (6.12, when ia32 emulation is off at boot,
# cpu/common.c syscall_init) and ignore_sysret (6.1 without
# CONFIG_IA32_EMULATION, entry_64.S) answer a 32-bit SYSCALL with -ENOSYS.
SYSRET_ENTRIES = ("entry_SYSCALL_64", "entry_SYSCALL_compat", "entry_SYSENTER_compat", "entry_SYSCALL32_ignore",
                  "ignore_sysret")
COMPAT_ENTRIES = ("entry_SYSCALL_compat", "entry_SYSENTER_compat")
IGNORE_ENTRIES = ("entry_SYSCALL32_ignore", "ignore_sysret")
# Bytes after which control does not fall through.
_STOPS = ("ret", "retq", "jmp", "ljmp", "ud2", "int3", "hlt", "sysretq", "sysret", "sysretl", "iretq", "iret", "sysexit")


@dataclass(frozen=True)
class EntrySites:
    syscall_entry: int  # entry_SYSCALL_64
    entry_text: tuple[int, int]  # [lo, hi)
    sysret_sites: list[int]
    iret_sites: list[int]
    do_syscall_64_call: int | None  # the `call do_syscall_64` in entry_SYSCALL_64
    do_syscall_64: int
    dispatch: dict  # {"name", "address", "call": address of the call/reference in do_syscall_64 or None}
    reached: frozenset = frozenset()  # on-disk instruction addresses reached by the CFG (any variant)
    # every SYSRET site of every entry in SYSRET_ENTRIES the image has:
    # ({"address", "width": "sysretq"|"sysretl", "entry": the first entry
    # reaching it, "entries": every entry reaching it}, ...), by address
    all_sysret_sites: tuple = ()
    entries: tuple = ()  # ((name, address), ...) of the SYSRET_ENTRIES present


def _md():
    from .patches import _capstone

    return _capstone()


def _branch_target(insn) -> int | None:
    from capstone import x86 as cx

    ops = insn.operands
    if len(ops) == 1 and ops[0].type == cx.X86_OP_IMM:
        return ops[0].imm & 0xFFFFFFFFFFFFFFFF
    return None


def _is_branch(insn) -> bool:
    import capstone

    return is_jump(insn) or insn.group(capstone.CS_GRP_CALL)


def find_entry_sites(image) -> EntrySites:
    syms = image.symbols
    entry = syms.get("entry_SYSCALL_64")
    if entry is None:
        raise InputError(f"{image.path}: symbol 'entry_SYSCALL_64' not found ({syms.source})")
    dsc = syms.get("do_syscall_64")
    if dsc is None:
        raise InputError(f"{image.path}: symbol 'do_syscall_64' not found ({syms.source}): "
                         "a kernel without the C syscall entry (before 4.15) is not supported")
    lo, hi = syms.get("__entry_text_start"), syms.get("__entry_text_end")
    if lo is None or hi is None or not lo <= entry < hi:
        sec = image.elf.section_at(entry)
        if sec is None:
            raise InputError(f"{image.path}: entry_SYSCALL_64 at {entry:#x} is not in any section")
        lo, hi = sec.addr, sec.end

    sites = image.patch_sites(lo, hi)
    by_addr: dict[int, list[bytes]] = {}
    for s in sites:
        for v in s.variants[1:]:
            if v.code is not None:
                by_addr.setdefault(s.addr, []).append(v.code)

    seen, sysrets, sysretls, irets, call_dsc = _walk(image, entry, lo, hi, by_addr, dsc)
    entries, all_sites = [], {}
    for name in SYSRET_ENTRIES:
        a = syms.get(name)
        if a is None:
            continue
        entries.append((name, a))
        if a == entry:
            q, l_ = sysrets, sysretls
        else:
            e_lo, e_hi = (lo, hi) if lo <= a < hi else _section_range(image, a)
            _s, q, l_, _i, _c = _walk(image, a, e_lo, e_hi, by_addr if (e_lo, e_hi) == (lo, hi) else {}, None)
        for width, found in (("sysretq", q), ("sysretl", l_)):
            for site in found:
                d = all_sites.setdefault(site, {"address": site, "width": width, "entry": name, "entries": []})
                d["entries"].append(name)
    dispatch = _find_dispatch(image, dsc)
    return EntrySites(
        syscall_entry=entry,
        entry_text=(lo, hi),
        sysret_sites=sorted(sysrets),
        iret_sites=sorted(irets),
        do_syscall_64_call=call_dsc,
        do_syscall_64=dsc,
        dispatch=dispatch,
        reached=frozenset(seen),
        all_sysret_sites=tuple(all_sites[a] for a in sorted(all_sites)),
        entries=tuple(entries),
    )


def other_sysret_sites(image, known) -> list[dict]:
    """Every SYSRET instruction of the image's executable sections that is
    not in `known` (the sites the entry walks reached): [{"address",
    "width"}] (sysret_instructions)."""
    return [d for d in sysret_instructions(image) if d["address"] not in known]


def sysret_instructions(image) -> list[dict]:
    """Every SYSRET instruction of the image's code: [{"address", "width"}],
    once per image.  A byte scan for `0f 07` over the code (executable
    sections and every allocated section below PFN_ALIGN(_etext);
    contiguous ones as one run: a pair across a section boundary counts),
    and over the code every patch-site variant puts at its site with the
    bytes around it (a replacement's `0f` before an on-disk `07`; the rel32
    boot writes at static call, return and retpoline sites).  Each hit is
    decoded in the code around it (_hit_range, _boundaries): from every
    symbol start in it, from every byte a fall-through from before it may
    cross into, from every direct branch target in there (a `jmp 1f` into
    the middle of what the linear decode took for one instruction,
    adv_r18_sysret_in_insn), and from every place code elsewhere may jump
    into that range (_entered_from_elsewhere: `jmp sym+1` from another
    symbol, adv_r19_sysret_xsym; a byte pattern whose source is no
    instruction is dropped, _confirmed).  A hit that starts a SYSRET at any
    of those instruction boundaries counts.  (Real kernels hold a few dozen
    hits and only their entries' SYSRETs.  Not found: one reached only by
    an indirect jump, a `ret` to a planted address or a static call
    retargeted at run time into the middle of an instruction: assumption
    instruction-boundaries.)"""
    memo = image.__dict__.get("_sysret_instructions")
    if memo is not None:
        return memo
    from .patches import tables

    md = _md()
    runs = _code_runs(image)
    hits = []  # (run base, run bytes, the 0f 07's address, [start, end) decoded for it)
    for base, data in runs:
        i = data.find(b"\x0f\x07")
        while i >= 0:
            hits.append((base, data, base + i, *_hit_range(image, base + i, base, len(data))))
            i = data.find(b"\x0f\x07", i + 1)
    hits += _patched_hits(image, md, runs, [a for _b, _d, a, *_r in hits])
    for sec in image.elf.sections:  # the scan's pages out of this process's resident size
        if sec.flags & 0x4 and hasattr(image.elf, "drop_section_pages"):
            image.elf.drop_section_pages(sec.name)
    entered = _entered_from_elsewhere(image, {(start, end) for *_x, start, end, _fall in hits})
    locks = tables(image).smp_locks
    out = {}
    for base, data, a, start, end, fall in hits:
        falls = range(start, min(end, start + 15)) if fall else ()  # (_hit_range)

        def found(pairs):
            return {b: w[0] for b in _boundaries(md, data, base, start, end, {t for _s, t in pairs},
                                                 image.symbols.addresses_in(start, end), falls)
                    if a - 14 <= b <= a and (w := _sysret_at(data, base, b, locks)) is not None
                    and b + w[1] == a + 2}

        pairs = entered[(start, end)]
        got = found(pairs)
        if got and got != found([p for p in pairs if p[0] is None]):
            # a SYSRET that byte patterns lead to: only the patterns whose
            # source is an instruction count (_confirmed; few ranges need it)
            got = found(_confirmed(image, md, runs, pairs))
        out.update(got)
    result = [{"address": b, "width": w} for b, w in sorted(out.items())]
    image.__dict__["_sysret_instructions"] = result
    # (the boot-written code's tables serve this search only, and its reads
    # of the image's bytes leave their pages out of the resident size)
    image.__dict__.pop("_boot_pairs", None)
    image.__dict__.pop("_boot_sources", None)
    for sec in image.elf.sections:
        if sec.flags & 0x2 and sec.has_bits and hasattr(image.elf, "drop_section_pages"):
            image.elf.drop_section_pages(sec.name)
    return result


def _sysret_at(data, base: int, b: int, locks) -> tuple | None:
    """encoding.sysret_at on the bytes at b, with every LOCK prefix that
    .smp_locks lists as the DS override it becomes on a uniprocessor boot
    (alternatives_smp_unlock: `f0 0f 07` is a #UD, `3e 0f 07` a sysretl:
    adv_r23_sysret_smp_unlock)."""
    raw = bytes(data[b - base:b - base + 15])
    if 0xF0 in raw:
        raw = bytes(0x3E if x == 0xF0 and b + i in locks else x for i, x in enumerate(raw))
    return sysret_at(raw)


class _FileBytes:
    """A section's bytes read in place from the mapped file (find, slices,
    len): no copy of a 20 MB text section on the heap."""

    def __init__(self, elf, sec):
        self._map, self._off, self._n = elf._map, sec.offset, sec.size

    def __len__(self) -> int:
        return self._n

    def find(self, sub: bytes, start: int = 0) -> int:
        i = self._map.find(sub, self._off + start, self._off + self._n)
        return i - self._off if i >= 0 else -1

    def __getitem__(self, k: slice) -> bytes:
        lo, hi, _ = k.indices(self._n)
        return self._map[self._off + lo:self._off + max(lo, hi)]


def _code_runs(image) -> list:
    """(address, bytes) of every run of contiguous executable sections: one
    section's read in place from the mapped file, a run of several copied."""
    from .branches import executable_runs, kernel_text

    elf = image.elf
    return [(g[0].addr, _FileBytes(elf, g[0]) if len(g) == 1 and hasattr(elf, "_map") else
             b"".join(elf.section_bytes(x.name) for x in g)) for g in executable_runs(elf, kernel_text(image))]


# How far before a hit its range starts (_hit_range): far enough that a
# decode falling through from before it has met the image's own decode by
# the hit (x86 decodes resynchronise within a few instructions), so the
# seeds at every one of the range's first 15 bytes make no false SYSRET of
# a real kernel's bytes (the `0f 07` inside a `48 0f 07`).
FALL_THROUGH_REACH = 256


def _hit_range(image, a: int, base: int, size: int) -> tuple[int, int, bool]:
    """[start, end) decoded for a hit at a in the run [base, base + size),
    and whether code may fall through into start from before it: from
    FALL_THROUGH_REACH bytes before the hit (the symbol that contains it,
    when that starts earlier; the run's start when that is later) to the
    next symbol.

    Soundness: the CPU reaches an instruction of [start, end) by a branch
    to it (a target of `entered`: _entered_from_elsewhere), from a symbol
    start in the range (assumption instruction-boundaries), or by falling
    through from before start.  An instruction that falls through crosses
    start at most 14 bytes before its end (an instruction has at most 15
    bytes), so the next one begins at one of start .. start + 14: the
    decodes from all fifteen (_boundaries) cover every fall-through, from
    however far back (adv_r21_sysret_fallback_deep: residues mod 3 that
    never meet; a symbol count to reach back over missed it).  Nothing
    falls through into a run's first byte (no code is mapped before it)."""
    syms = image.symbols
    start = syms.symbol_start(a)
    start = min(a - 14 - FALL_THROUGH_REACH, a if start is None else start)
    start = max(base, start)
    end = syms.next_symbol(a)
    end = base + size if end is None or end > base + size else end
    return start, end, start > base


def _patched_hits(image, md, runs, on_disk=()) -> list:
    """The hits of the code patch sites put in place: per site and code it
    may hold (every variant the site's reader resolves, and every
    alternative replacement also as copied without relocation: one the
    reader calls not relocatable has no variant code,
    adv_r20_sysret_alt_split), a `0f 07` that overlaps that code, with a
    byte of the code around it on either side, decoded on the range's bytes
    with the code in place."""
    from .branches import boot_branch_codes
    from .patches import nops, read_patch_sites, tables

    codes: dict = {}  # (site, length) -> the codes it may hold
    # every site but the tens of thousands of retpoline and return sites;
    # of those, the ones near an on-disk hit (every code they may hold), and
    # the rel32s boot writes that hold a `0f 07` (branches.boot_branch_codes)
    thunk_sites = [s for a in on_disk for s in read_patch_sites(image, a - 32, a + 8, thunks=True)]
    loose = set()  # the sites whose codes are the image's bytes (replacements): maybe incomplete
    for site in read_patch_sites(image, thunks=False) + thunk_sites:
        codes.setdefault((site.addr, site.length), set()).update(v.code for v in site.variants if v.code is not None)
        if site.kind in ("alternative", "paravirt"):
            loose.add((site.addr, site.length))
    for addr, length, code in boot_branch_codes(image, on_disk):
        codes.setdefault((addr, length), set()).add(code)
    alt_calls = [x for (addr, _length), cs in codes.items() for c in cs
                 if (x := call_rel32_target(addr, c[:15])) is not None]
    for addr, code in _thunk_pad_codes(image, alt_calls):
        codes.setdefault((addr, len(code)), set()).add(code)
    for addr, _i, repl, _ft, ilen, rlen in tables(image).alternatives[1]:
        if 0 < rlen <= ilen:
            try:
                codes.setdefault((addr, ilen), set()).add(image.elf.read(repl, rlen) + nops(ilen - rlen))
                loose.add((addr, ilen))
            except InputError:
                pass
    skl = tables(image).call_thunk_size
    if skl:
        # call-depth tracking redirects a call at an alternative site's
        # start, after the replacement is in, to its callee's accounting
        # thunk (6.12 callthunks.c patch_alt_call_sites -> patch_call):
        # adv_r24_sysret_alt_callthunk
        for key in loose:
            for c in list(codes.get(key, ())):
                if c[:1] == b"\xe8" and len(c) >= 5:
                    rel = (int.from_bytes(c[1:5], "little") - skl) & 0xFFFFFFFF
                    codes[key].add(c[:1] + rel.to_bytes(4, "little") + c[5:])
    out = []
    complete: dict = {}  # code -> whether it decodes to exactly its length (_drift_end)
    sites = sorted((addr, length, sorted(v)) for (addr, length), v in codes.items())
    for n, (addr, length, variants) in enumerate(sites):
        run = next(((b, d) for b, d in runs if b <= addr and addr + length <= b + len(d)), None)
        if run is None:
            continue
        base, data = run
        # every site within 15 bytes of this one takes its k-th code too (two
        # adjacent sites: adv_r21_sysret_alt_pair), and the search covers 15
        # bytes either side (a code whose last instruction runs past the site
        # moves the decode after it: adv_r21_sysret_alt_overhang)
        near = [x for x in sites[max(0, n - 8):n + 9] if abs(x[0] - addr) <= 15 + x[1] + length]
        lo = max(base, addr - 15)
        hi = addr + length
        # (the other sites' codes are instructions the readers build whole:
        # jumps, NOPs, `ret; int3`, calls)
        if (addr, length) in loose and not all(_decodes_whole(md, c, complete) for c in variants):
            hi = max(_drift_end(md, data, base, addr, c, complete) for c in variants)
        hi = min(base + len(data), hi + 15)
        if b"\x0f\x07" not in data[lo - base:hi - base] and not any(
                b"\x0f\x07" in c or c[-1:] == b"\x0f" or c[:1] == b"\x07" for _a, _l, codes in near for c in codes):
            # no `0f 07` here on disk, none inside a code, none across a
            # code's edge: none whatever the sites hold (most sites)
            continue
        for k in range(len(variants)):
            window = _spliced(data, base, lo, hi, near, k)
            if window == data[lo - base:hi - base]:
                continue
            i = window.find(b"\x0f\x07")
            while i >= 0:
                a = lo + i
                start, end, fall = _hit_range(image, a, base, len(data))
                local = _spliced(data, base, start, min(base + len(data), end + 15), near, k)
                out.append((start, local, a, start, end, fall))
                i = window.find(b"\x0f\x07", i + 1)
    return out


def _thunk_pad_codes(image, alt_calls=()) -> list:
    """[(padding start, the thunk boot writes there)] for the call-depth
    paddings whose thunk makes a `0f 07` with itself or the bytes around it
    (adv_r162_callthunk_pad_sysret_disp: a counter at per-CPU offset 0x70f
    puts `0f 07` in the thunk's displacement, and a jump into the padding
    runs it).  The paddings: the call_thunk_size NOPs before every symbol
    start, the target of every listed call (call_rel32_target: prefixes as
    the kernel's decoder skips them) and of every call patch-site code
    makes (alt_calls) (callthunks.c patch_dest copies
    skl_call_thunk_template there and relocates its RIP-relative operand:
    the displacement differs per padding.  A template with other relative
    operands, a branch's rel32, is refused by every reader of code
    (Program.thunk_template_ok), but its relocation is not followed here:
    a known limit, no fixture)."""
    import numpy as np

    from .branches import _windows
    from .patches import tables

    t = tables(image)
    skl = t.call_thunk_size
    tmpl = image.symbols.get("skl_call_thunk_template")
    if not skl or tmpl is None:
        return []
    try:
        raw = image.read(tmpl, skl)
    except InputError:
        return []
    import capstone

    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    rel = []  # (offset of a RIP-relative displacement, its value in the template)
    for ins in md.disasm(raw, tmpl):
        if ins.disp_offset and any(op.type == capstone.x86.X86_OP_MEM and op.mem.base == capstone.x86.X86_REG_RIP
                                   for op in ins.operands):
            rel.append((ins.address - tmpl + ins.disp_offset, ins.disp))
    calls = np.asarray(t.call_sites, np.uint64)
    dests = [np.array(sorted(set(alt_calls)), np.uint64)]
    if len(calls):
        win = _windows(image.elf, calls, 0, 15)
        e8 = (win[:, 0] == 0xE8) & (win[:, 1:5] >= 0).all(axis=1)
        r32 = sum(win[e8, 1 + k].astype(np.int64) << (8 * k) for k in range(4))
        r32 = np.where(r32 >= 1 << 31, r32 - (1 << 32), r32)
        # (modulo 2**64, as the addresses are)
        dests.append(calls[e8] + np.uint64(5) + r32.astype(np.uint64))
        # the others (prefixes, a REX) decoded one by one
        dests.append(np.array([d for k in np.flatnonzero(~e8).tolist() if (d := call_rel32_target(
            int(calls[k]), bytes(int(x) for x in win[k][:int(np.argmax(win[k] < 0)) if (win[k] < 0).any() else 15])))
            is not None], np.uint64))
    dests.append(np.asarray(image.symbols.addresses_in(0, 1 << 64), np.uint64))
    dest = np.unique(np.concatenate(dests))
    if not len(dest):
        return []
    pads = dest - np.uint64(skl)
    around = _windows(image.elf, pads, 1, skl + 1)  # (the byte before, the padding, the byte after)
    nops = (around[:, 1:skl + 1] == 0x90).all(axis=1)
    pads, around = pads[nops], around[nops]
    if not len(pads):
        return []
    code = np.tile(np.frombuffer(raw, np.uint8).astype(np.int16), (len(pads), 1))
    for off, disp in rel:
        # (modulo 2**64: the addresses do not fit an int64)
        d = ((np.uint64(tmpl) - pads + np.uint64(disp & 0xFFFFFFFFFFFFFFFF)) & np.uint64(0xFFFFFFFF)).astype(np.int64)
        for k in range(4):
            code[:, off + k] = (d >> (8 * k)) & 0xFF
    whole = np.concatenate((around[:, :1], code, around[:, skl + 1:]), axis=1)
    pair = ((whole[:, :-1] == 0x0F) & (whole[:, 1:] == 0x07)).any(axis=1)
    return [(int(p), bytes(int(x) for x in c)) for p, c in zip(pads[pair].tolist(), code[pair].tolist())]


def _drift_end(md, data, base: int, addr: int, code: bytes, complete: dict) -> int:
    """How far `code` put at addr may shift the decode after it: the site's
    end when the code decodes to exactly its own length (every code a real
    kernel patches in: complete instructions, padded with NOPs); otherwise
    (a last instruction that runs past the site, adv_r21_sysret_alt_overhang)
    where the decode from addr with the code in place first meets the
    on-disk decode from the site's end, or where either stops (26 bytes of
    `b8` kept them apart past a 15-byte window: adv_r22_sysret_alt_drift)."""
    end = addr + len(code)
    if _decodes_whole(md, code, complete):
        return end
    stop = base + len(data)
    # the first instruction start at or after the site's end of the decode
    # with the code in place; from there on it reads on-disk bytes only
    shifted = next((a for a, _s, _m, _o in lite_decode(
        md, bytes(code) + bytes(data[end - base:min(stop, end + 15) - base]), addr) if a >= end), None)
    if shifted is None:
        return min(stop, end + 15)  # (it stops in bytes capstone cannot decode)
    return _meet(md, data, base, shifted, end, stop)


def _decodes_whole(md, code: bytes, memo: dict) -> bool:
    """Whether `code` decodes to instructions that end exactly at its end."""
    if code not in memo:
        n = 0
        for _a, size, _m, _o in lite_decode(md, code, 0):
            n += size
        memo[code] = n == len(code)
    return memo[code]


def _meet(md, data, base: int, shifted: int, end: int, stop: int) -> int:
    """Where a decode from `shifted` (on-disk bytes) first meets the decode
    from `end`, or where either stops."""
    disk = (a for a, _s, _m, _o in lite_decode(md, data[end - base:stop - base], end))
    other = (a for a, _s, _m, _o in lite_decode(md, data[shifted - base:stop - base], shifted))
    d, h = next(disk, None), next(other, None)
    while d is not None and h is not None and d != h:
        if h < d:
            h = next(other, None)
        else:
            d = next(disk, None)
    return d if d is not None and d == h else max(x for x in (d, h, shifted) if x is not None)


def _spliced(data, base: int, lo: int, hi: int, sites, k: int) -> bytes:
    """The bytes of [lo, hi) with every site of `sites` ((address, length,
    codes)) inside it holding its k-th code (its last when it has fewer)."""
    buf = bytearray(data[lo - base:hi - base])
    for addr, length, codes in sites:
        if codes and lo <= addr and addr + length <= hi:
            buf[addr - lo:addr - lo + length] = codes[min(k, len(codes) - 1)]
    return bytes(buf)


def _entered_from_elsewhere(image, ranges: set) -> dict:
    """[start, end) -> (source, target) of where code outside it may jump
    into it (source None where no on-disk byte pattern is the branch): direct-branch
    byte patterns (branches.py: the text and the alternative replacements),
    jump labels' taken targets (the on-disk NOP becomes that jump at run
    time), static call keys' functions (patches.static_call_targets) and
    exception-table fixups, every entry's (entered after a fault anywhere;
    two entries for one instruction count both: adv_r20_sysret_extable_dup)."""
    from .branches import _sorted_into_ranges, alternative_branches, boot_branch_patterns, kernel_text, \
        targets_into_ranges
    from .patches import tables

    out = {r: set(ts) for r, ts in targets_into_ranges(image.elf, ranges, alternative_branches(image),
                                                                kernel_text(image)).items()}
    if not out:
        return {}
    tabs = tables(image)
    extra = [r[2] for r in tabs.jump_labels[1]] + list(tabs.extable_fixup_targets) + [
        f for _site, f in tabs.static_call_targets if f]
    for r, ts in _sorted_into_ranges(extra, list(out)).items():
        out[r].update((None, t) for t in ts)
    # the patterns in the rel32s boot writes (_confirmed decodes their
    # source's range with that rel32 in place: boot_sources)
    boot = image.__dict__.setdefault("_boot_sources", {})
    for r, found in boot_branch_patterns(image, list(out)).items():
        for s, t, row in found:
            out[r].add((s, t))
            boot.setdefault(s, set()).add(row)
    return out


def _confirmed(image, md, runs, pairs, inner: bool = True) -> list:
    """`pairs` ((source, target): _entered_from_elsewhere) without the byte
    patterns whose source is no instruction.  A pattern's branch runs only
    if the CPU executes its source as an instruction, so a source that is no
    instruction start of its own range's decode (_hit_range and _boundaries,
    with every pattern into that range taken, unconfirmed) is none under
    assumption instruction-boundaries, and its target is dropped.  Kept:
    every target boot's tables name (source None), a source outside the
    runs, and one whose range holds an alternative or paravirt site (a
    replacement may shift the decode before it).  Needed for precision: a
    rel8 pattern inside 6.12 generic's `call __fentry__` of xsk_net_init
    lands mid-instruction in xsk_net_exit, where a return site's
    boot-written rel32 holds a `0f 07`."""
    import bisect

    from .patches import tables

    tabs = tables(image)
    shifting = sorted([r[0] for r in tabs.alternatives[1]] + [r[0] for r in tabs.paravirt[1]])
    where = {}  # source -> (run base, run bytes, its range)
    for src in {s for s, _t in pairs if s is not None}:
        run = next(((b, d) for b, d in runs if b <= src < b + len(d)), None)
        if run is not None:
            where[src] = (*run, _hit_range(image, src, run[0], len(run[1])))
    around = _entered_from_elsewhere(image, {r[:2] for *_x, r in where.values()})
    boot = image.__dict__.get("_boot_sources", {})

    def instruction(s, base, data, start, end, fall):
        shifted = bisect.bisect_left(shifting, start - 16) < bisect.bisect_left(shifting, end)
        args = ({t for _s, t in around[(start, end)]}, image.symbols.addresses_in(start, end),
                range(start, min(end, start + 15)) if fall else ())
        if s not in boot:
            return shifted or s in _boundaries(md, data, base, start, end, *args)
        # a pattern in bytes boot writes: the rewritten branch itself runs;
        # one that starts inside its rel32 runs only after a branch into
        # that rel32 whose own source is an instruction (an on-disk decode
        # cannot say where decodes run through bytes boot wrote, and the
        # fall-through ones of the range would keep every such pattern);
        # one that starts before the site, decoded with the rewrite in place
        from .branches import _boot_pairs

        bp = _boot_pairs(image)
        hi = min(base + len(data), end + 15)
        for row in boot[s]:
            site, code = bp.site(row), bp.code(row)
            if s == site:
                return True
            if site < s:
                if not inner:
                    return True  # (one level: the branch into the rel32 is taken unconfirmed)
                into = [(x, t) for x, t in around[(start, end)] if site < t <= s]
                if _confirmed(image, md, runs, into, inner=False):
                    return True
                continue
            if shifted or not (start <= site and site + len(code) <= hi):
                return True  # (a rewrite the range cannot hold, or a replacement before it: kept)
            local = _spliced(data, base, start, hi, [(site, len(code), [code])], 0)
            if s in _boundaries(md, local, start, start, end, *args):
                return True
        return False

    ok = {s for s, (base, data, (start, end, fall)) in where.items() if instruction(s, base, data, start, end, fall)}
    return [(s, t) for s, t in pairs if s is None or s not in where or s in ok]


_PATTERN, _TRUSTED, _FALL = 0, 1, 2  # _boundaries' kinds of decode
# instructions after which the CPU never executes the next byte (a `ud2`, an
# `int3` or a `hlt` may resume: not these)
_NO_FALL_THROUGH = ("jmp", "ljmp", "ret", "retq", "retf", "retfq", "lret", "lretq", "iret", "iretd", "iretq",
                    "sysret", "sysretq", "sysretl", "sysexit")


def _boundaries(md, data: bytes, base: int, start: int, end: int, entered=(), symbols=(), falls=()) -> set:
    """Instruction starts in [start, end) (the last may run past end): the
    linear decode from start (when `falls` is empty), from every symbol start in `symbols` and from
    every address of `entered`, and the decodes from every direct branch
    target in the range (to a fixed point; a decode stops where it meets one
    already made).  Bytes that do not decode (capstone 5 lacks SERIALIZE,
    WRMSRNS, TDCALL, ...) in a decode from a symbol start (or a branch it
    takes) are skipped over as an instruction of any length up to 15: that
    decode resumes at every byte after them (adv_r20_sysret_serialize).  A
    decode from `entered` (byte patterns, confirmed or not) stops there: its
    garbage would otherwise make false SYSRETs of real kernels' bytes.

    A decode from `falls` (where code falling through from before the range
    may go on: _hit_range) is the CPU's own path: it ends where the CPU
    cannot fall through (a jmp, a return, a SYSRET; what follows is
    reached otherwise or not at all) and where it meets any decode made,
    while the others, which read on past a jmp (code after it may be
    entered by an indirect jump, assumption instruction-boundaries), end
    only where they meet one of their own kind (a periodic run of stubs
    keeps a misaligned decode misaligned for ever, each stub's `jmp` then
    read as other bytes: 6.1's __ia32_compat_sys_* stubs)."""
    out: set = set()
    full: set = set()  # the starts made by decodes that read on past a jmp
    work = [(a, _FALL) for a in sorted(falls, reverse=True)] + \
        [(a, _PATTERN) for a in sorted(entered, reverse=True)] + \
        [(a, _TRUSTED) for a in sorted({*symbols, *(() if falls else (start,))}, reverse=True)]
    stuck: set = set()
    limit = base + len(data)
    begun: set = set()  # where decodes began: instruction starts even where capstone cannot decode
    while work:
        a, kind = work.pop()
        met = out if kind == _FALL else full
        if not start <= a < end or a in met:
            continue
        begun.add(a)
        last, done = a, False
        for at, size, m, ops in lite_decode(md, data[a - base:min(limit, end + 15) - base], a):
            if at >= end or at in met:
                done = True  # past the range, or the same decode from here on
                break
            out.add(at)
            if kind != _FALL:
                full.add(at)
            last = at + size
            m = m.split(" ")[-1] if m.startswith(("bnd ", "notrack ", "rep ", "repz ")) else m
            if (m.startswith(("j", "loop")) or m in ("call", "xbegin")) and ops.startswith("0x"):
                t = int(ops, 16)
                if start <= t < end and t not in out:
                    work.append((t, kind))
                k = at - base
                if m != "xbegin" and operand_size_prefixed(data[k:k + size]):
                    # AMD honours the operand-size prefix on a near branch
                    # (rel16, Intel ignores it): the instruction ends two
                    # bytes after its opcode there (adv_r21_sysret_amd_jcc16)
                    # (the rel8 forms keep their length)
                    p = prefix_length(data[k:k + size])
                    op = 2 if data[k + p:k + p + 1] == b"\x0f" else 1
                    if size == p + op + 4 and at + p + op + 2 < end and at + p + op + 2 not in out:
                        work.append((at + p + op + 2, kind))
            if kind == _FALL and m in _NO_FALL_THROUGH:
                done = True
                break
        if not done and last < min(end, limit) and last not in stuck:
            known = _undecoded_length(data[last - base:last - base + 15])
            if not known and prefixed_system_insn(data[last - base:last - base + 15]):
                # lite_decode ends at one (its control flow is not capstone's
                # reading, encoding.prefixed_system_insn); where instructions
                # may start goes on after it at capstone's length, the CPU's
                # (`data16 verw`, then a sysretq: adv_r164_prefixed_verw_sysret)
                one = next(iter(md.disasm_lite(bytes(data[last - base:last - base + 15]), last, 1)), None)
                if one is not None:
                    known = one[1]
                    out.add(last)
                    if kind != _FALL:
                        full.add(last)
            if known:
                work.append((last + known, kind))  # an instruction capstone 5 lacks
            elif kind == _TRUSTED:
                # undecodable bytes at `last`: every next byte may start one
                # (a decode from `falls` ends there instead: misaligned
                # reads of real code meet such bytes often, and spreading
                # from each made false SYSRETs of 6.1's stubs; assumption
                # instruction-boundaries)
                stuck.add(last)
                work.extend((x, kind) for x in range(min(end, last + 15), last, -1) if x not in out)
    # (a branch to bytes capstone cannot decode still starts an instruction
    # there: `f0 0f 07`, which a uniprocessor boot makes a SYSRET)
    return out | begun


# Instructions capstone 5 does not decode, by their bytes (after legacy
# prefixes): their lengths, so a decode goes on after them
# (adv_r21_sysret_entered_serialize): SERIALIZE, WRMSRNS, UIRET, TDCALL,
# PVALIDATE, RMPADJUST, SEAMCALL/SEAMRET/SEAMOPS
_UNDECODED = {b"\x0f\x01\xe8": 3, b"\x0f\x01\xc6": 3, b"\xf3\x0f\x01\xec": 4, b"\x66\x0f\x01\xcc": 4,
              b"\xf2\x0f\x01\xff": 4, b"\xf3\x0f\x01\xfe": 4, b"\x66\x0f\x01\xcf": 4, b"\x66\x0f\x01\xcd": 4,
              b"\x66\x0f\x01\xce": 4}


def _undecoded_length(code: bytes) -> int | None:
    for enc, n in _UNDECODED.items():
        if code.startswith(enc):
            return n
    return None


def _section_range(image, a: int) -> tuple[int, int]:
    sec = image.elf.section_at(a)
    return (sec.addr, sec.end) if sec is not None else (a, a + 1)


def _walk(image, entry: int, lo: int, hi: int, by_addr: dict, dsc):
    """The capstone walk of pass 3 from `entry` over [lo, hi): -> (reached
    on-disk addresses, sysretq sites, sysretl sites, iretq sites, the first
    `call dsc`).  A site is counted for the first entry (SYSRET_ENTRIES
    order) that reaches it: entry_SYSENTER_compat jumps into
    entry_SYSCALL_compat's sysret32_from_system_call."""
    md = _md()
    text = image.read(lo, hi - lo)
    seen: set[int] = set()
    sysrets: set[int] = set()
    sysretls: set[int] = set()
    irets: set[int] = set()
    call_dsc = None
    # Work list of (address, bytes source): None = the image, else a variant's code at its site.
    work: list[tuple[int, bytes | None, int]] = [(entry, None, 0)]
    visited_variant: set[tuple[int, bytes]] = set()
    while work:
        addr, vcode, vbase = work.pop()
        while True:
            if vcode is None:
                if not lo <= addr < hi or addr in seen:
                    break
                if addr in by_addr:
                    for code in by_addr[addr]:
                        if (addr, code) not in visited_variant:
                            visited_variant.add((addr, code))
                            work.append((addr, code, addr))
                seen.add(addr)
                chunk = text[addr - lo : addr - lo + 16]
            else:
                if addr >= vbase + len(vcode):
                    vcode = None  # variant ends: continue in the image after the site
                    continue
                chunk = vcode[addr - vbase :]
            insn = next(md.disasm(chunk, addr, 1), None)
            if insn is None or insn.mnemonic == "ud0":
                break  # (UD0's length is the vendor's: lite_decode)
            size = insn.size if insn.mnemonic != "ud1" else ud1_length(chunk)  # (the CPU's length: lite_decode)
            if size is None:
                break
            raw = bytes(insn.bytes)
            # any prefixes, any REX: width from the effective REX.W (encoding.py)
            width = sysret_width(raw)
            if width is not None:
                (sysrets if width == SYSRETQ else sysretls).add(addr)
            elif is_iretq(raw):
                irets.add(addr)
            mnem = insn.mnemonic
            if _is_branch(insn):
                tgt = _branch_target(insn)
                if mnem == "call" and tgt == dsc and call_dsc is None and vcode is None:
                    call_dsc = addr
                if tgt is not None and lo <= tgt < hi:
                    work.append((tgt, None, 0))
            if mnem in _STOPS:
                break
            addr += size
    return seen, sysrets, sysretls, irets, call_dsc


def function_range(image, name_or_addr) -> tuple[int, int] | None:
    """[start, end) of a function: ELF size, else up to the next symbol
    (System.map has no sizes), capped at 64 KiB."""
    syms = image.symbols
    if isinstance(name_or_addr, str):
        start = syms.get(name_or_addr)
        if start is None:
            return None
        end = syms.function_end(name_or_addr)
    else:
        start = name_or_addr
        end = None
        name = syms.symbolize(start)
        if "+" not in name:
            end = syms.function_end(name)
    if end is None or end <= start or end - start > 0x10000:
        end = start + 0x1000
    sec = image.elf.section_at(start)
    if sec is None:
        return None
    return start, min(end, sec.end)


def decode_calls(image, start: int, end: int) -> list[tuple[int, int | None, str]]:
    """(insn address, direct target or None, op_str) of every call in [start, end)."""
    md = _md()
    out = []
    code = image.read(start, end - start)
    for insn in md.disasm(code, start):
        if insn.mnemonic == "call":
            out.append((insn.address, _branch_target(insn), insn.op_str))
    return out


def _find_dispatch(image, dsc: int) -> dict:
    syms = image.symbols
    x64 = syms.get("x64_sys_call")
    table = syms.get("sys_call_table")
    name, target = ("x64_sys_call", x64) if x64 is not None else ("sys_call_table", table)
    if target is None:
        return {"name": None, "address": None, "call": None}
    rng = function_range(image, "do_syscall_64")
    call = None
    if rng is not None:
        md = _md()
        code = image.read(rng[0], rng[1] - rng[0])
        for insn in md.disasm(code, rng[0]):
            if name == "x64_sys_call":
                if insn.mnemonic == "call" and _branch_target(insn) == target:
                    call = insn.address
                    break
            else:
                # `call *sys_call_table(,%rax,8)` or `mov sys_call_table(,%rax,8),%rax`:
                # the table address is the 32-bit sign-extended displacement.
                if insn.disp_size == 4:
                    disp = struct.unpack_from("<i", bytes(insn.bytes), insn.disp_offset)[0]
                    if disp & 0xFFFFFFFFFFFFFFFF == target:
                        call = insn.address
                        break
    return {"name": name, "address": target, "call": call}
