"""Boot-time patch sites: every place where the bytes on disk are not
necessarily the bytes that run.

One table-driven module, in the manner of objtool's special.c: each special
section has a list of candidate record layouts (with the kernel source that
defines them); the layout is *detected* from the data (record size divides the
section, every decoded address lands where it must), never assumed from the
version string.  A section that fits no layout is an input error: silently
misreading it would hide code variants from the prover.

Pass order follows the kernel's alternative_instructions() (arch/x86/kernel/
alternative.c, 6.1 and 6.12): paravirt (6.1 only), retpolines, returns,
alternatives; static keys (jump labels) are patched by jump_label_init().
Every variant here is reported per table entry; several entries may share one
address (ALTERNATIVE_2, a paravirt site with an ALT_NOT(XENPV) alternative on
top): the bytes that can run at such an address are the union of the variants
of all entries at it (`variants_at`).

Decoding is lazy: the raw tables are read with one struct.iter_unpack per
section; PatchSite objects (and their capstone work) are built only for the
address range asked for.
"""
from __future__ import annotations

import bisect
import re
import struct
from dataclasses import dataclass, field
from functools import cached_property

from ..errors import InputError

# The return thunks: where a return site's `jmp` goes on disk
# (__x86_return_thunk) and every thunk boot may point it at instead
# (x86_return_thunk, set by arch/x86/kernel/cpu/bugs.c in 6.1 and 6.12:
# retbleed=unret, SRSO, call-depth stuffing, ITS), with the names older
# kernels gave them; the prover reads a `jmp` to any of them as a return.
RETURN_THUNKS = ("__x86_return_thunk", "retbleed_return_thunk", "srso_return_thunk", "srso_alias_return_thunk",
                 "call_depth_return_thunk", "its_return_thunk", "__x86_return_skl", "__ret", "srso_safe_ret",
                 "zen_untrain_ret", "entry_untrain_ret")

# Return-thunk code only ever entered by a `call` (6.1/6.12
# arch/x86/lib/retpoline.S: srso_return_thunk and srso_untrain_ret do `call
# srso_safe_ret`, whose `lea 8(%rsp),%rsp; ret` drops that call's return
# address): boot writes no `jmp` to it, and a `jmp` to it returns to the
# jumper's caller's caller, past the caller's code after its call
# (adv_r110_jmp_srso_safe_ret), so a `jmp` there is no return.
CALLED_ONLY_THUNKS = ("srso_safe_ret",)

# The ftrace hook every traced function calls first (`call __fentry__`, or
# mcount before -mfentry; listed in __mcount_loc): boot makes each a NOP, and
# turning tracing on (the function tracer, kprobes on ftrace, BPF
# trampolines, livepatch) makes it a call into callbacks registered at run
# time, which the image does not fix (assumption ftrace-callbacks).
TRACE_HOOKS = ("__fentry__", "mcount", "__mcount")

# -- feature numbers --------------------------------------------------------
# arch/x86/include/asm/cpufeatures.h, identical in 6.1 and 6.12 for these.
FEATURE_NAMES = {
    3 * 32 + 21: "X86_FEATURE_ALWAYS",
    4 * 32 + 17: "X86_FEATURE_PCID",
    7 * 32 + 11: "X86_FEATURE_PTI",
    8 * 32 + 16: "X86_FEATURE_XENPV",
    9 * 32 + 20: "X86_FEATURE_SMAP",
    16 * 32 + 16: "X86_FEATURE_LA57",
}
X86_FEATURE_ALWAYS = 3 * 32 + 21
X86_FEATURE_XENPV = 8 * 32 + 16
X86_FEATURE_LA57 = 16 * 32 + 16
X86_FEATURE_PTI = 7 * 32 + 11
X86_FEATURE_PCID = 4 * 32 + 17


def feature_name(num: int | None) -> str | None:
    if num is None:
        return None
    return FEATURE_NAMES.get(num, f"({num // 32}*32+{num % 32})")


# alt_instr flags.  6.12 arch/x86/include/asm/alternative.h: ft_flags is
# u32, feature in bits 0-15, flags in 16-31 (ALT_FLAGS_SHIFT 16);
# ALT_FLAG_NOT = 1<<0, ALT_FLAG_DIRECT_CALL = 1<<1.  6.1 (same file): cpuid
# is u16 and ALT_NOT(feat) sets ALTINSTR_FLAG_INV = 1<<15 in it.
ALT_FLAG_NOT = 1 << 0
ALT_FLAG_DIRECT_CALL = 1 << 1
ALTINSTR_FLAG_INV_61 = 1 << 15

# Optimal NOPs, arch/x86/include/asm/nops.h (BYTES_NOP1..8, 6.1 and 6.12).
NOPS = {
    1: b"\x90", 2: b"\x66\x90", 3: b"\x0f\x1f\x00", 4: b"\x0f\x1f\x40\x00", 5: b"\x0f\x1f\x44\x00\x00",
    6: b"\x66\x0f\x1f\x44\x00\x00", 7: b"\x0f\x1f\x80\x00\x00\x00\x00", 8: b"\x0f\x1f\x84\x00\x00\x00\x00\x00",
}


def nops(n: int) -> bytes:
    out = b""
    while n > 0:
        k = min(n, 8)
        out += NOPS[k]
        n -= k
    return out


# Native code the kernel puts at a paravirt site on bare metal (6.1
# arch/x86/include/asm/paravirt.h: PVOP_ALT_*CALL*(..., "insn",
# ALT_NOT(X86_FEATURE_XENPV))).
PV_NATIVE = {
    "irq.irq_disable": ("cli", b"\xfa"),
    "irq.irq_enable": ("sti", b"\xfb"),
    "irq.save_fl": ("pushf; pop %rax", b"\x9c\x58"),
    "irq.restore_fl": ("push %rdi; popf", b"\x57\x9d"),
    "mmu.read_cr2": ("mov %cr2,%rax", b"\x0f\x20\xd0"),
    "mmu.read_cr3": ("mov %cr3,%rax", b"\x0f\x20\xd8"),
    "mmu.write_cr3": ("mov %rdi,%cr3", b"\x0f\x22\xdf"),
    "cpu.wbinvd": ("wbinvd", b"\x0f\x09"),
}


@dataclass(frozen=True)
class Variant:
    label: str
    code: bytes | None  # exactly PatchSite.length bytes, or None if not resolvable statically


@dataclass(frozen=True)
class PatchSite:
    kind: str  # "alternative" | "jump_label" | "paravirt" | "return_thunk" | "retpoline"
    addr: int
    length: int
    feature: int | None = None
    feature_name: str | None = None
    flags: int = 0
    target: int | None = None  # jump label: where the jmp goes; thunk sites: the thunk
    key: int | None = None  # jump label: address of the static key
    detail: str = ""  # pv_ops member, static key name, "ALT_NOT", ...
    variants: tuple[Variant, ...] = field(default=())
    source: str = ""  # section and entry index, e.g. ".altinstructions[12]"
    writes: int = 0  # bytes boot may write from addr when more than length (a replacement longer than its site)


def variants_at(sites: list[PatchSite], addr: int) -> list[Variant]:
    """Union of the variants of every table entry patching `addr`."""
    out, seen = [], set()
    for s in sites:
        if s.addr != addr:
            continue
        for v in s.variants:
            k = (v.label, v.code)
            if k not in seen:
                seen.add(k)
                out.append(v)
    return out


# -- relocation of replacement code ------------------------------------------
_CS = None


def _capstone():
    global _CS
    if _CS is None:
        import capstone

        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        md.detail = True
        _CS = md
    return _CS


def relocate(code: bytes, src: int, dst: int, full: bool = True) -> bytes | None:
    """Move `code` linked at `src` to `dst` the way apply_alternatives() does.
    None where the kernel's result is not modelled (a rel8 pushed out of
    reach, code that does not decode): the variant is then refused.

    full=True (6.12 alternative.c __apply_relocation(), since ~6.4): the
    operands of Jcc (70-7f, 0f 80-8f), JMP (eb, e9) and CALL (e8), and
    RIP-relative displacements, are moved by (src - dst) where need_reloc()
    says so: a target before the code or *past its end*; a target in
    [src, src + len] (its end included: a label after the last instruction)
    stays relative to the code.  `loop`/`jrcxz` (e0-e3) are not relocated.
    A JMP32 whose moved displacement fits 8 bits becomes `eb disp8` and
    int3s, the displacement computed as the kernel does whether the target
    was relocated or not.
    full=False (6.1 alternative.c): a replacement of exactly 5 bytes that is
    one `e8` call gets its displacement moved, and one of exactly 5 bytes
    that starts with a jmp (e9 or eb) is re-encoded by recompute_jump() to
    the same absolute target, reading the s32 at byte 1 as its displacement
    whatever the opcode; anything else, a jmp in a longer replacement
    included, is copied verbatim and so branches relative to the site."""
    from capstone import x86 as cx

    if src == dst or not code:
        return code
    if not full:
        return _relocate_61(code, src, dst)
    md = _capstone()
    buf = bytearray(code)
    pos = 0
    diff = src - dst

    def need_reloc(tgt: int) -> bool:  # 6.12 need_reloc()
        return tgt < src or tgt > src + len(code)

    for insn in md.disasm(code, src):
        off = insn.address - src
        pos = off + insn.size
        nxt_src = insn.address + insn.size
        opc = insn.opcode
        if opc[0] in (0xE8, 0xE9, 0xEB) or 0x70 <= opc[0] <= 0x7F or (opc[0] == 0x0F and 0x80 <= opc[1] <= 0x8F):
            n = insn.imm_size
            if n not in (1, 4):
                return None  # (a 16-bit displacement: the CPUs differ on it)
            at = off + insn.size - n
            imm = struct.unpack_from("<b" if n == 1 else "<i", code, at)[0]
            if need_reloc(nxt_src + imm):
                # apply_reloc(): an s32 sum, BUG_ON where it does not fit n
                # bytes (no boot: refused here); 4 bytes wrap silently
                moved = _wrap32(imm + diff)
                if n == 1 and not -128 <= moved < 128:
                    return None
                struct.pack_into("<b" if n == 1 else "<i", buf, at, moved)
            if opc[0] == 0xE9:
                # "Where possible, convert JMP.d32 into JMP.d8", from the
                # decoded (unmoved) immediate, whether it was moved or not
                short = _wrap32(imm + diff + 3)
                if -128 <= short < 128:
                    buf[off:off + insn.size] = bytes([0xEB, short & 0xFF]) + b"\xcc" * (insn.size - 2)
        if insn.disp_size == 4 and insn.disp_offset:
            for op in insn.operands:
                if op.type == cx.X86_OP_MEM and op.mem.base == cx.X86_REG_RIP:
                    tgt = (nxt_src + op.mem.disp) & 0xFFFFFFFFFFFFFFFF
                    if not need_reloc(tgt):
                        break
                    disp = tgt - (dst + off + insn.size)
                    disp = ((disp + (1 << 63)) % (1 << 64)) - (1 << 63)
                    if not -(1 << 31) <= disp < (1 << 31):
                        # %gs:rip-relative per-CPU offsets wrap modulo 2^64 (6.12).
                        disp = ((disp + (1 << 31)) % (1 << 32)) - (1 << 31)
                    struct.pack_into("<i", buf, off + insn.disp_offset, disp)
                    break
    if pos != len(code):
        return None  # did not decode to the end
    return bytes(buf)


_REX_B = re.compile(rb"[\x41\x43\x45\x47\x49\x4b\x4d\x4f]")


def nops_rewrite(code: bytes) -> bool:
    """Whether boot's optimize_nops() may replace an instruction of `code`
    that is no NOP on the CPU: 6.12 alternative.c insn_is_nop() takes any
    opcode 0x90 but `pause` for a NOP, the REX prefix not counted, so
    `xchg %r8,%rax` (49 90) is one to it.  The pass (6.12 optimize_nops,
    skip_nops), over the site's code as written (on disk, or a replacement
    padded with 0x90): from each NOP-like instruction, unless it ends the
    code ("already optimized": the pass stops), the run of NOP-like
    instructions after it is rewritten as NOPs; so an xchg is erased when
    it is in such a run, the last instruction included (`90 49 90`,
    adv_r80_alt_nop_xchg_last).  6.1's pass merges 1-byte 0x90s only and
    erases nothing; a site the 6.12 reading changes is refused (its code
    None: inconclusive where reached) rather than modelled both ways (review
    47).  Where the `pause` test reads only the first prefix (6.12:
    prefixes.bytes[0]), any F3 makes the reading unsure: refused too.
    (Without a 0x90 byte and an odd REX byte somewhere no instruction
    qualifies, and the decode, a tenth of a second over a kernel's sites,
    is skipped.)"""
    if b"\x90" not in code or not _REX_B.search(code):
        return False
    md = _capstone()
    insns = list(md.disasm(code, 0))

    def nop_like(insn) -> bool:
        return (insn.opcode[0] == 0x90 and 0xF3 not in insn.prefix) or list(insn.opcode[:2]) == [0x0F, 0x1F]

    def fake(insn) -> bool:  # a NOP to insn_is_nop, an xchg to the CPU (or unsure)
        return insn.opcode[0] == 0x90 and bool(insn.rex & 1)

    if any(fake(i) and 0xF3 in i.prefix for i in insns):
        return True
    k = 0
    while k < len(insns):
        if not nop_like(insns[k]):
            k += 1
            continue
        if k == len(insns) - 1:
            return False  # the last instruction: "Has the NOP already been optimized?"
        j = k + 1
        while j < len(insns) and nop_like(insns[j]):
            j += 1
        if any(fake(insns[m]) for m in range(k, j)):
            return True
        k = j
    return False


def _wrap32(v: int) -> int:
    return ((v + (1 << 31)) % (1 << 32)) - (1 << 31)


def _relocate_61(code: bytes, src: int, dst: int) -> bytes | None:
    """6.1 apply_alternatives() and recompute_jump() (arch/x86/kernel/
    alternative.c): see relocate()."""
    if len(code) != 5 or code[0] not in (0xE8, 0xE9, 0xEB):
        return code
    disp = struct.unpack_from("<i", code, 1)[0]
    if code[0] == 0xE8:  # "0xe8 is a relative jump; fix the offset" (an s32 sum)
        return code[:1] + struct.pack("<i", _wrap32(disp + src - dst))
    # recompute_jump(): n_dspl (an s32) = target - site; the sign test is
    # on the pointer difference, the rest on the s32
    ptrdiff = src + 5 + disp - dst
    n = _wrap32(ptrdiff)
    if (ptrdiff >= 0 and n - 2 <= 127) or (ptrdiff < 0 and ((n - 2) & 0xFF) == n - 2):
        return bytes([0xEB, (n - 2) & 0xFF]) + NOPS[3]
    return b"\xe9" + struct.pack("<i", _wrap32(n - 5))


def _rel32(op: bytes, at: int, size: int, target: int) -> bytes:
    return op + struct.pack("<i", target - (at + size))


# -- table layouts -----------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    name: str
    size: int
    fmt: str  # struct format of one record
    cite: str


# struct alt_instr
ALT_LAYOUTS = (
    # 6.1 arch/x86/include/asm/alternative.h
    Layout("alt_instr/6.1", 12, "<iiHBB", "{s32 instr_offset; s32 repl_offset; u16 cpuid; u8 instrlen; u8 replacementlen} (6.1)"),
    # 6.12 arch/x86/include/asm/alternative.h (ft_flags union since 6.3)
    Layout("alt_instr/6.3+", 14, "<iiIBB", "{s32 instr_offset; s32 repl_offset; u32 ft_flags; u8 instrlen; u8 replacementlen} (6.3+)"),
)
# struct jump_entry, arch/x86/include/asm/jump_label.h + include/linux/jump_label.h
# (CONFIG_HAVE_ARCH_JUMP_LABEL_RELATIVE, 5.3+): {s32 code; s32 target; long key}
JUMP_LAYOUTS = (Layout("jump_entry/rel", 16, "<iiq", "{s32 code; s32 target; long key} (5.3+)"),)
# struct paravirt_patch_site, arch/x86/include/asm/paravirt_types.h
PV_LAYOUTS = (
    Layout("paravirt_patch_site/abs", 16, "<QBB6x", "{u8 *instr; u8 type; u8 len} (<= 6.1)"),
    Layout("paravirt_patch_site/rel", 8, "<iBB2x", "{s32 instr_offset; u8 type; u8 len} (6.2-6.7)"),
)
# .return_sites / .retpoline_sites: s32 offsets relative to the entry (objtool
# create_return_sites_sections(), 5.19+/6.0+)
REL32_LAYOUTS = (Layout("s32", 4, "<i", "s32 relative (objtool)"),)
# __bug_table: include/asm-generic/bug.h struct bug_entry with
# CONFIG_GENERIC_BUG_RELATIVE_POINTERS (x86-64), with and without
# CONFIG_DEBUG_BUGVERBOSE (6.1 and 6.12 alike); bug_addr is the ud2 itself
# (arch/x86/include/asm/bug.h _BUG_FLAGS: "1:" ASM_UD2, then the entry).
BUGFLAG_WARNING = 1 << 0
BUG_LAYOUTS = (
    Layout("bug_entry/verbose", 12, "<iiHH", "{s32 bug_addr_disp; s32 file_disp; u16 line; u16 flags}"),
    Layout("bug_entry/short", 8, "<iH2x", "{s32 bug_addr_disp; u16 flags}"),
)
# __ex_table: arch/x86/include/asm/extable.h {s32 insn, fixup, data} (5.x-6.12).
EXTABLE_LAYOUTS = (Layout("exception_table_entry", 12, "<iii", "{s32 insn; s32 fixup; s32 data}"),)


class PatchTables:
    """Raw special-section tables of one image, decoded on first use."""

    def __init__(self, image):
        self.image = image
        self.elf = image.elf
        self.symbols = image.symbols

    # -- where a table is ----------------------------------------------------
    def _table(self, section: str, start_sym: str, stop_sym: str) -> tuple[int, bytes] | None:
        s = self.elf.section(section)
        if s is not None and s.has_bits and s.size:
            return s.addr, self.elf.section_bytes(section)
        lo, hi = self.symbols.get(start_sym), self.symbols.get(stop_sym)
        if lo is None or hi is None or hi <= lo:
            return None
        try:
            return lo, self.elf.read(lo, hi - lo)
        except InputError:
            return None

    @cached_property
    def _exec_ranges(self) -> tuple[list[int], list[int]]:
        secs = sorted((s.addr, s.end) for s in self.elf.sections if s.flags & 0x4 and s.addr and s.size)
        return [a for a, _ in secs], [b for _, b in secs]

    def _is_text(self, addr: int) -> bool:
        # Called once per table entry (~70k): a bisect over the executable
        # sections, not section_at().
        starts, ends = self._exec_ranges
        i = bisect.bisect_right(starts, addr) - 1
        return i >= 0 and addr < ends[i]

    def _detect(self, what: str, base: int, data: bytes, layouts, check) -> tuple[Layout, list]:
        tried = []
        for lay in layouts:
            if len(data) % lay.size:
                tried.append(f"{lay.name}: size {len(data)} not a multiple of {lay.size}")
                continue
            recs = list(struct.iter_unpack(lay.fmt, data))
            bad = next((i for i, r in enumerate(recs) if not check(lay, base + i * lay.size, r)), None)
            if bad is None:
                return lay, recs
            tried.append(f"{lay.name}: entry {bad} does not decode")
        raise InputError(f"{self.elf.path}: {what}: no known record layout fits ({'; '.join(tried)})")

    # -- the tables ------------------------------------------------------------
    @cached_property
    def alternatives(self):
        t = self._table(".altinstructions", "__alt_instructions", "__alt_instructions_end")
        if t is None:
            return None, []
        base, data = t
        repl_secs = [self.elf.section(n) for n in (".altinstr_replacement", ".altinstr_aux")]
        repl_secs = [s for s in repl_secs if s is not None]

        def in_repl(a, n):
            return any(s.addr <= a and a + n <= s.end for s in repl_secs) or self._is_text(a)

        def check(_lay, at, r):
            instr, repl = at + r[0], at + 4 + r[1]
            ilen, rlen = r[3], r[4]
            return self._is_text(instr) and (rlen == 0 or in_repl(repl, rlen)) and rlen <= max(ilen, 16)

        lay, recs = self._detect(".altinstructions", base, data, ALT_LAYOUTS, check)
        out = []
        for i, r in enumerate(recs):
            at = base + i * lay.size
            out.append((at + r[0], i, at + 4 + r[1], r[2], r[3], r[4]))
        out.sort()
        return lay, out

    @cached_property
    def jump_labels(self):
        t = self._table("__jump_table", "__start___jump_table", "__stop___jump_table")
        if t is None:
            return None, []
        base, data = t

        def check(_lay, at, r):
            return r[0] == 0 and r[1] == 0 or (self._is_text(at + r[0]) and self._is_text(at + 4 + r[1]))

        lay, recs = self._detect("__jump_table", base, data, JUMP_LAYOUTS, check)
        out = []
        for i, r in enumerate(recs):
            at = base + i * lay.size
            if r[0] == 0 and r[1] == 0:
                continue  # entries of freed init code are zeroed (jump_label_invalidate_initmem)
            key = (at + 8 + r[2]) & 0xFFFFFFFFFFFFFFFF
            out.append((at + r[0], i, at + 4 + r[1], key & ~3, key & 3))
        out.sort()
        return lay, out

    @cached_property
    def static_call_targets(self) -> list[tuple[int, int]]:
        """(call site, function) of every inline static call: the function
        its key holds in the image.  At boot static_call_init
        (kernel/static_call_inline.c __static_call_init ->
        arch_static_call_transform) rewrites each site listed in
        .static_call_sites (struct static_call_site { s32 addr; s32 key; },
        the key's low two bits flags: STATIC_CALL_SITE_TAIL, _INIT) into a
        call or jump to key->func, the first word of struct static_call_key,
        so that word is a branch target the on-disk bytes do not show
        (adv_r20_sysret_static_call).  A NULL function (0) is kept: boot
        then writes a NOP, or for a tail call a `jmp x86_return_thunk`
        (boot_branches).  Later static_call_update()s are run time:
        assumption instruction-boundaries.  An out-of-line static call's
        trampoline holds its jump on disk (a byte pattern)."""
        t = self._table(".static_call_sites", "__start_static_call_sites", "__stop_static_call_sites")
        if t is None:
            return []
        base, data = t
        out = []
        for i, (site, key) in enumerate(struct.iter_unpack("<ii", data[:len(data) - len(data) % 8])):
            at = base + 8 * i
            func = self._read_ptr(((at + 4 + key) & 0xFFFFFFFFFFFFFFFF) & ~3)
            if func is not None:
                out.append(((at + site) & 0xFFFFFFFFFFFFFFFF, func))
        return sorted(set(out))

    @cached_property
    def static_call_sites(self) -> list[int]:
        """Every site .static_call_sites lists (static_call_targets has the
        ones whose key holds a function)."""
        t = self._table(".static_call_sites", "__start_static_call_sites", "__stop_static_call_sites")
        if t is None:
            return []
        base, data = t
        return sorted({(base + 8 * i + site) & 0xFFFFFFFFFFFFFFFF
                       for i, (site, _key) in enumerate(struct.iter_unpack("<ii", data[:len(data) - len(data) % 8]))})

    @cached_property
    def boot_branches(self) -> list[tuple[int, int, bytes, tuple[int, ...]]]:
        """(site, length, head, targets) of the rel32 branches boot may point
        at another target than the on-disk bytes show, in address order:
        `head` is the bytes before the rel32 boot writes (e8/e9, 0f 8x, a 2e
        prefix), `targets` every target the image lets it choose.  The new
        rel32 is bytes no on-disk scan sees (a `0f 07` in it:
        adv_r22_sysret_sc_rel32, adv_r22_sysret_rethunk_rel32).

        - static call sites: boot's call or jump to their key's function
          (static_call_targets);
        - return sites (`jmp __x86_return_thunk`): alternative.c
          patch_return() writes `jmp x86_return_thunk`, any of
          return_thunks (its `ret; int3` form is a variant of the site,
          read_patch_sites; branches._BootPairs reads these ~60,000 sites
          whole, not here);
        - direct calls (.call_sites) under call-depth tracking: 6.12
          callthunks_patch_builtin_calls() points each at its callee's
          address minus call_thunk_size (boot_branch_codes computes these
          from the on-disk rel32: too many for a list here);
        - retpoline sites (a call, jmp or jcc to __x86_indirect_thunk_REG):
          6.12 __emit_trampoline() under call-depth tracking or ITS points
          them at __x86_indirect_call_thunk_REG / _jump_thunk_REG /
          __x86_indirect_its_thunk_REG (6.12 may instead allocate an ITS
          thunk page at run time: bytes the image does not decide,
          assumption instruction-boundaries)."""
        syms = self.symbols
        out = []
        calls = {site: f for site, f in self.static_call_targets}
        skl = self.call_thunk_size
        for site, func in calls.items():
            head = self._branch_head(site)
            if head is not None:
                # (under call-depth tracking a static call goes to the
                # accounting thunk before the function: 6.12
                # __static_call_transform, x86_call_depth_emit_accounting;
                # a tail call with a NULL function returns through the
                # return thunk: static_call.c RET, adv_r24_sysret_sc_null_tail)
                ts = {func} - {0} | ({func - skl} - {-skl} if skl else set())
                if head[-1:] != b"\xe8":
                    ts |= set(self.return_thunks)
                if ts:
                    out.append((site, len(head) + 4, head, tuple(sorted(ts))))
        regs = {a: r for r in self._REGS if (a := syms.get(f"__x86_indirect_thunk_{r}")) is not None}
        for site, _i in self.retpoline_sites[1]:
            head = self._branch_head(site)
            if head is None:
                continue
            length = len(head) + 4
            disp = self._peek(site + len(head), 4)
            reg = regs.get(site + length + struct.unpack("<i", disp)[0]) if len(disp) == 4 else None
            if reg is None:
                continue
            kinds = ("call", "its") if head[-1:] == b"\xe8" else ("jump", "its")
            ts = tuple(a for a in (syms.get(f"__x86_indirect_{k}_thunk_{reg}") for k in kinds) if a is not None)
            if ts:
                out.append((site, length, head, ts))
        out.sort()
        return out

    @cached_property
    def smp_locks(self) -> frozenset[int]:
        """The LOCK prefixes listed in .smp_locks (asm/alternative.h
        LOCK_PREFIX: s32 offsets), which alternatives_smp_unlock() turns
        into a DS override (0x3e) when the kernel runs on one CPU."""
        t = self._table(".smp_locks", "__smp_locks", "__smp_locks_end")
        if t is None:
            return frozenset()
        base, data = t
        return frozenset(base + 4 * i + r for i, (r,) in enumerate(struct.iter_unpack("<i", data[:len(data) // 4 * 4])))

    @cached_property
    def mcount_locs(self):
        """The fentry call sites of __mcount_loc (absolute u64s,
        scripts/recordmcount or objtool --mcount): NOPs ftrace turns into
        `call ftrace_caller` / `call ftrace_regs_caller` when tracing is
        switched on (a numpy array)."""
        import numpy as np

        t = self._table("__mcount_loc", "__start_mcount_loc", "__stop_mcount_loc")
        if t is None:
            return np.zeros(0, np.uint64)
        _base, data = t
        return np.frombuffer(bytes(data[:len(data) // 8 * 8]), "<u8").astype(np.uint64)

    @cached_property
    def return_thunks(self) -> tuple[int, ...]:
        """The addresses of the RETURN_THUNKS the image has."""
        return tuple(sorted({a for a in (self.symbols.get(n) for n in RETURN_THUNKS) if a is not None}))

    def _branch_head(self, site: int) -> bytes | None:
        """The opcode bytes of a rel32 call/jmp/jcc at site (with a 2e
        prefix), or None."""
        try:
            b = self._peek(site, 2)
        except InputError:
            return None
        if b[:1] in (b"\xe8", b"\xe9"):
            return b[:1]
        if b[:1] == b"\x0f" and len(b) > 1 and 0x80 <= b[1] <= 0x8F:
            return b[:2]
        if b[:1] == b"\x2e" and b[1:2] in (b"\xe8", b"\xe9"):
            return b[:2]
        return None

    @cached_property
    def paravirt(self):
        t = self._table(".parainstructions", "__parainstructions", "__parainstructions_end")
        if t is None:
            return None, []
        base, data = t
        abs_layout = PV_LAYOUTS[0]

        def check(lay, at, r):
            addr = r[0] if lay is abs_layout else at + r[0]
            return self._is_text(addr) and 0 < r[2] <= 16

        lay, recs = self._detect(".parainstructions", base, data, PV_LAYOUTS, check)
        out = []
        for i, r in enumerate(recs):
            at = base + i * lay.size
            addr = r[0] if lay is abs_layout else at + r[0]
            out.append((addr, i, r[1], r[2]))
        out.sort()
        return lay, out

    def _rel32_table(self, section, start, stop):
        t = self._table(section, start, stop)
        if t is None:
            return None, []
        base, data = t
        lay, recs = self._detect(section, base, data, REL32_LAYOUTS, lambda _lay, at, r: self._is_text(at + r[0]))
        out = sorted((base + i * 4 + r[0], i) for i, r in enumerate(recs))
        return lay, out

    @cached_property
    def call_sites(self):
        """6.12's .call_sites (objtool: s32 offsets to every direct call,
        which call-depth tracking, callthunks.c
        callthunks_patch_builtin_calls, points at the accounting thunk it
        writes into the callee's padding): their addresses, a numpy array
        (~230,000 on 6.12: read whole, not record by record)."""
        return self._s32_addresses(".call_sites", "__call_sites", "__call_sites_end")

    def _s32_addresses(self, section: str, start: str, stop: str):
        """A table of s32 offsets, each relative to its own entry (objtool's
        .call_sites, .ibt_endbr_seal): the addresses, a numpy array."""
        import numpy as np

        t = self._table(section, start, stop)
        if t is None:
            return np.zeros(0, np.uint64)
        base, data = t
        rel = np.frombuffer(bytes(data[:len(data) - len(data) % 4]), "<i4").astype(np.int64)
        return (np.uint64(base) + (np.arange(len(rel), dtype=np.int64) * 4 + rel).astype(np.uint64))

    @cached_property
    def call_thunk_size(self) -> int | None:
        """The bytes of the call-depth accounting thunk boot writes before a
        callee (callthunks.c SKL_TMPL_SIZE: skl_call_thunk_tail -
        skl_call_thunk_template), or None without call-depth tracking."""
        lo, hi = self.symbols.get("skl_call_thunk_template"), self.symbols.get("skl_call_thunk_tail")
        return hi - lo if lo is not None and hi is not None and 0 < hi - lo <= 64 else None

    @cached_property
    def ibt_endbr_seal(self):
        """.ibt_endbr_seal (objtool: s32 offsets to the ENDBR64s no indirect
        branch targets), which apply_seal_endbr() overwrites at boot on an
        IBT CPU: their addresses (a numpy array)."""
        return self._s32_addresses(".ibt_endbr_seal", "__ibt_endbr_seal", "__ibt_endbr_seal_end")

    @cached_property
    def rewritten_starts(self):
        """Every address at which boot or run time may rewrite the bytes
        that start there, beside the patch sites (read_patch_sites): the
        LOCK prefixes of .smp_locks, the return and retpoline sites, the
        static call sites, the direct calls of .call_sites under call-depth
        tracking, the fentry calls of __mcount_loc, the sealed ENDBR64s.
        Each names an instruction's first byte; one strictly inside an
        instruction (Program.site_inside) means the bytes decoded are not
        what runs (a rel8 listed as a LOCK prefix, an imm64 listed as a
        return site: adv_r146_smp_unlock_jmp_disp, adv_r147_retsite_in_movabs).
        A sorted numpy array of unique addresses."""
        import numpy as np

        parts = [np.array(sorted(self.smp_locks), np.uint64),
                 np.array([a for a, _i in self.return_sites[1]], np.uint64),
                 np.array([a for a, _i in self.retpoline_sites[1]], np.uint64),
                 np.array(self.static_call_sites, np.uint64),
                 self.call_sites if self.call_thunk_size else np.zeros(0, np.uint64),
                 self.mcount_locs, self.ibt_endbr_seal]
        return np.unique(np.concatenate([p.astype(np.uint64) for p in parts]))

    @cached_property
    def return_sites(self):
        return self._rel32_table(".return_sites", "__return_sites", "__return_sites_end")

    @cached_property
    def retpoline_sites(self):
        return self._rel32_table(".retpoline_sites", "__retpoline_sites", "__retpoline_sites_end")

    @cached_property
    def kcfi_traps(self) -> frozenset[int] | None:
        """Addresses of every kCFI trap `ud2` in .kcfi_traps (s32 offsets
        relative to the entry: kernel/cfi.c trap_address(), 6.1 and 6.12);
        None when the image has no such table."""
        t = self._table(".kcfi_traps", "__start___kcfi_traps", "__stop___kcfi_traps")
        if t is None:
            return None
        _lay, out = self._rel32_table(".kcfi_traps", "__start___kcfi_traps", "__stop___kcfi_traps")
        return frozenset(a for a, _i in out)

    @cached_property
    def bug_addrs(self) -> frozenset[int] | None:
        """Addresses of every BUG/WARN `ud2` in __bug_table; None when the
        image has no such table (then nothing is known about any ud2)."""
        t = self._table("__bug_table", "__start___bug_table", "__stop___bug_table")
        if t is None:
            return None
        base, data = t

        def check(_lay, at, r):
            # the entry must point at a ud2 (or the ud1 some WARNs use): a
            # misread layout would misplace every entry
            a = at + r[0]
            return self._is_text(a) and self._peek(a, 2) in (b"\x0f\x0b", b"\x0f\xb9")

        lay, recs = self._detect("__bug_table", base, data, BUG_LAYOUTS, check)
        # the first entry of an address counts: find_bug() (lib/bug.c)
        # scans the table from its start and returns the first match, so a
        # `ud2` listed as a WARN and then as a BUG is a WARN that resumes
        # (adv_r87_bug_dup_entry_warn_first: a dict kept the last one)
        self._bug_flags = {}
        for i, r in enumerate(recs):
            self._bug_flags.setdefault(base + i * lay.size + r[0], r[-1])
        return frozenset(self._bug_flags)

    @cached_property
    def warn_addrs(self) -> frozenset[int] | None:
        """The __bug_table entries that are WARNs (BUGFLAG_WARNING, bit 0 of
        flags in include/asm-generic/bug.h, 6.1-6.12): the only ones
        handle_bug() resumes after; None without a bug table."""
        if self.bug_addrs is None:
            return None
        return frozenset(a for a, f in self._bug_flags.items() if f & BUGFLAG_WARNING)

    @cached_property
    def extable_entries(self) -> dict[int, tuple]:
        """Instruction address -> every (fixup address, `data` word) the
        table gives it, in table order (two entries for one instruction: the
        kernel's bsearch may find either).  The `data` word: the handler
        type in bits 0-7 (EX_DATA_TYPE_MASK), a register in 8-11
        (EX_DATA_REG_MASK), flags in 12-15 (EX_DATA_FLAG_MASK: EX_FLAG_CLEAR_AX
        0x1000, EX_FLAG_CLEAR_DX 0x2000), an immediate in 16-31
        (arch/x86/include/asm/extable_fixup_types.h, 6.1 and 6.12)."""
        t = self._table("__ex_table", "__start___ex_table", "__stop___ex_table")
        if t is None:
            return {}
        base, data = t
        lay, recs = self._detect("__ex_table", base, data, EXTABLE_LAYOUTS, lambda _lay, at, r: self._is_text(at + r[0]))
        out: dict = {}
        for i, r in enumerate(recs):
            at = base + i * lay.size
            out.setdefault(at + r[0], []).append((at + 4 + r[1], r[2] & 0xFFFFFFFF))
        return {a: tuple(v) for a, v in out.items()}

    @cached_property
    def extable_insns(self) -> frozenset[int]:
        """Addresses of every instruction with an exception-table fixup."""
        return frozenset(self.extable_entries)

    @cached_property
    def extable_fixups(self) -> dict[int, int]:
        """Instruction address -> its fixup address (where a fault resumes;
        the table's last entry for it)."""
        return {a: es[-1][0] for a, es in self.extable_entries.items()}

    @cached_property
    def extable_fixup_targets(self) -> frozenset[int]:
        """Every entry's fixup address: extable_fixups keeps one per
        instruction, and a table with two entries for one instruction (the
        kernel's bsearch may find either) resumes at both."""
        return frozenset(f for es in self.extable_entries.values() for f, _d in es)

    @cached_property
    def extable_data(self) -> dict[int, int]:
        """Instruction address -> the `data` word of its (last) entry
        (extable_entries)."""
        return {a: es[-1][1] for a, es in self.extable_entries.items()}

    # -- building PatchSites -------------------------------------------------
    def sites(self, lo: int = 0, hi: int = 1 << 64, thunks: bool = True) -> list[PatchSite]:
        """thunks=False leaves out the retpoline and return-thunk sites (tens
        of thousands in a whole image; the prover models them at the thunk)."""
        out: list[PatchSite] = []
        tables = [(self.paravirt, self._pv_site), (self.alternatives, self._alt_site),
                  (self.jump_labels, self._jump_site)]
        if thunks:
            tables += [(self.retpoline_sites, self._retpoline_site), (self.return_sites, self._return_site)]
        for table, build in tables:
            _lay, recs = table
            i = bisect.bisect_left(recs, (lo,))
            while i < len(recs) and recs[i][0] < hi:
                site = build(recs[i])
                if site is not None:
                    out.append(site)
                i += 1
        out.sort(key=lambda s: (s.addr, s.kind))
        return out

    def _alt_site(self, rec) -> PatchSite | None:
        addr, idx, repl, ft, ilen, rlen = rec
        lay = self.alternatives[0]
        if lay is ALT_LAYOUTS[0]:
            feature, flags = ft & ~ALTINSTR_FLAG_INV_61 & 0xFFFF, (ALT_FLAG_NOT if ft & ALTINSTR_FLAG_INV_61 else 0)
        else:
            feature, flags = ft & 0xFFFF, ft >> 16
        if ilen == 0:
            return None
        orig = self.elf.read(addr, ilen)
        fname = feature_name(feature)
        cond = ("!" if flags & ALT_FLAG_NOT else "") + fname
        variants = [Variant("on-disk", orig)]
        if flags & ALT_FLAG_DIRECT_CALL:
            # 6.12 alt_replace_call(): the site's `call *disp32(%rip)` (ff 15)
            # becomes a direct call to whatever the pointer holds at boot.
            if orig[:2] == b"\xff\x15" and ilen == 6:
                slot = addr + 6 + struct.unpack_from("<i", orig, 2)[0]
                variants.append(Variant(f"{cond}: direct-call (target is data: {self._data_name(slot)})", None))
                linked = self._read_ptr(slot)
                if linked:
                    name = self.symbols.symbolize(linked)
                    if name in ("nop_func",):
                        variants.append(Variant(f"{cond}: nops ({self._data_name(slot)} = nop_func as linked)", nops(ilen)))
                    else:
                        variants.append(
                            Variant(f"{cond}: direct-call {name} ({self._data_name(slot)} as linked)",
                                    _rel32(b"\xe8", addr, 5, linked) + nops(ilen - 5))
                        )
            else:
                variants.append(Variant(f"{cond}: direct-call (site is not call *disp32(%rip))", None))
        elif rlen > ilen:
            # 6.12 apply_alternatives() writes all replacementlen bytes
            # (insn_buff_sz), past the site into the code after it; the
            # kernel's macros pad the original to at least the replacement's
            # length, so no compiled kernel has this (adv_r80_alt_repl_longer)
            variants.append(Variant(f"{cond}: replacement longer than the site ({rlen} > {ilen} bytes)", None))
        else:
            code = self.elf.read(repl, rlen) if rlen else b""
            moved, why = self._relocated(code, repl, addr, lay)
            if moved is None:
                variants.append(Variant(f"{cond}: replacement ({why})", None))
            elif nops_rewrite(moved + b"\x90" * (ilen - rlen)):
                # (boot pads the replacement with 0x90 bytes, then runs
                # optimize_nops() over the whole buffer)
                variants.append(Variant(f"{cond}: replacement (boot's optimize_nops() rewrites an xchg with REX.B "
                                        "as a NOP)", None))
            else:
                variants.append(Variant(f"{cond}: replacement" if rlen else f"{cond}: nops", moved + nops(ilen - rlen)))
        if nops_rewrite(orig):
            variants[0] = Variant("on-disk (boot's optimize_nops() rewrites an xchg with REX.B as a NOP)", None)
        return PatchSite(
            "alternative", addr, ilen, feature, fname, flags,
            target=repl if rlen else None, detail=("ALT_NOT " if flags & ALT_FLAG_NOT else "") + fname,
            variants=tuple(variants), source=f".altinstructions[{idx}]", writes=max(rlen, ilen),
        )

    def _relocated(self, code: bytes, repl: int, addr: int, lay) -> tuple:
        """(the replacement as apply_alternatives() leaves it at addr, or None;
        why not).  Pre-6.3 records (u16 cpuid) come with the 6.1 rules.  The
        6.3 record layout came before the relocation of replacements (6.3
        and 6.4 still had recompute_jump()): under that layout the 6.12
        rules are taken only where the image has the relocation code
        (text_poke_apply_relocation, __apply_relocation, apply_relocation),
        unless both rules give the same bytes.  A replacement holding a
        runtime constant (runtime_consts) is refused: its boot value is
        copied to the site when the constant's init runs before the
        alternatives (adv_r47_rtconst_in_altrepl)."""
        rcs = self._runtime_const_addrs
        i = bisect.bisect_left(rcs, repl - 7)  # the first constant at or after repl - 7
        if i < len(rcs) and rcs[i] < repl + len(code):
            return None, "holds a runtime constant rewritten at boot"
        if lay is ALT_LAYOUTS[0]:
            moved = relocate(code, repl, addr, full=False)
        else:
            moved = relocate(code, repl, addr, full=True)
            if not self._relocates_replacements and moved != relocate(code, repl, addr, full=False):
                return None, "this kernel's relocation rules are not known: no relocation code in the image"
        return moved, "not relocatable"

    @cached_property
    def _runtime_const_addrs(self) -> list[int]:
        return sorted(runtime_consts(self.image))

    @cached_property
    def _relocates_replacements(self) -> bool:
        return any(self.symbols.get(n) is not None for n in
                   ("text_poke_apply_relocation", "__apply_relocation", "apply_relocation"))

    def _jump_site(self, rec) -> PatchSite:
        addr, idx, target, key, kflags = rec
        first = self._peek(addr, 5)
        # arch/x86/kernel/jump_label.c: 2-byte (jmp rel8 / nop2) or 5-byte sites.
        length = 2 if first[0] == 0xEB or first[:2] == NOPS[2] else 5
        orig = self.elf.read(addr, length)
        if length == 2:
            jmp = bytes([0xEB, (target - (addr + 2)) & 0xFF])
        else:
            jmp = _rel32(b"\xe9", addr, 5, target)
        kname = self.symbols.symbolize(key)
        variants = (
            Variant("on-disk", orig),
            Variant("nop (branch not taken)", NOPS[length]),
            Variant(f"jmp {self.symbols.symbolize(target)} (branch taken)", jmp),
        )
        state = "likely/true" if kflags & 1 else "unlikely/false"
        return PatchSite("jump_label", addr, length, None, None, kflags, target=target, key=key,
                         detail=f"{kname} ({state})", variants=variants, source=f"__jump_table[{idx}]")

    def _pv_site(self, rec) -> PatchSite:
        addr, idx, ptype, length = rec
        orig = self.elf.read(addr, length)
        # PARAVIRT_PATCH(x) = offsetof(struct paravirt_patch_template, x) / sizeof(void *)
        off = ptype * 8
        member = self._pv_member(off)
        slot_name = f"pv_ops+{off:#x}"
        label = f"{slot_name} ({member})" if member else slot_name
        variants = [Variant("on-disk", orig),
                    Variant(f"direct-call (target is data: {slot_name})", None)]
        pv_ops = self.symbols.get("pv_ops")
        linked = self._read_ptr(pv_ops + off) if pv_ops is not None else None
        if linked:
            name = self.symbols.symbolize(linked)
            if name == "_paravirt_nop":
                variants.append(Variant(f"nops ({slot_name} = _paravirt_nop as linked)", nops(length)))
            elif name == "_paravirt_ident_64" and length >= 3:
                variants.append(Variant(f"mov %rdi,%rax ({slot_name} = _paravirt_ident_64 as linked)",
                                        b"\x48\x89\xf8" + nops(length - 3)))
            elif length >= 5:
                variants.append(Variant(f"direct-call {name} ({slot_name} as linked)",
                                        _rel32(b"\xe8", addr, 5, linked) + nops(length - 5)))
        if member in PV_NATIVE:
            text, code = PV_NATIVE[member]
            if len(code) <= length:
                variants.append(Variant(f"native: {text} (ALT_NOT(X86_FEATURE_XENPV))", code + nops(length - len(code))))
        return PatchSite("paravirt", addr, length, None, None, 0, detail=label, variants=tuple(variants),
                         source=f".parainstructions[{idx}]")

    def _return_site(self, rec) -> PatchSite:
        addr, idx = rec
        first = self._peek(addr, 6)
        if first[0] == 0xE9:
            length = 5
            target = addr + 5 + struct.unpack_from("<i", first, 1)[0]
            # 6.1 alternative.c patch_return(): "ret; int3; int3; int3; int3"
            variants = (Variant("on-disk", first[:5]), Variant("ret", b"\xc3\xcc\xcc\xcc\xcc"))
        elif first[0] == 0x0F and 0x80 <= first[1] <= 0x8F:
            length = 6
            target = addr + 6 + struct.unpack_from("<i", first, 2)[0]
            variants = (Variant("on-disk", first[:6]),)  # jcc to the thunk: left alone by patch_return
        else:
            length = 1 if first[0] == 0xC3 else 5
            target = None
            variants = (Variant("on-disk", first[:length]),)
        return PatchSite("return_thunk", addr, length, None, None, 0, target=target,
                         detail=self.symbols.symbolize(target) if target else "", variants=variants,
                         source=f".return_sites[{idx}]")

    _REGS = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")

    def _retpoline_site(self, rec) -> PatchSite:
        addr, idx = rec
        first = self._peek(addr, 6)
        if first[0] in (0xE8, 0xE9):
            length, target, op = 5, addr + 5 + struct.unpack_from("<i", first, 1)[0], first[0]
        elif first[0] == 0x0F and 0x80 <= first[1] <= 0x8F:
            length, target, op = 6, addr + 6 + struct.unpack_from("<i", first, 2)[0], None
        else:
            return PatchSite("retpoline", addr, 1, None, None, 0, detail="undecodable",
                             variants=(Variant("on-disk", first[:1]),), source=f".retpoline_sites[{idx}]")
        thunk = self.symbols.symbolize(target)
        variants = [Variant("on-disk", first[:length])]
        reg = thunk.rsplit("_", 1)[-1] if thunk.startswith("__x86_indirect_thunk_") else None
        if op is not None and reg in self._REGS:
            # 6.1 alternative.c emit_indirect(): `call/jmp *%reg`, optionally after lfence.
            r = self._REGS.index(reg)
            rex = b"\x41" if r >= 8 else b""
            ind = rex + bytes([0xFF, (0xD0 if op == 0xE8 else 0xE0) | (r & 7)])
            verb = "call" if op == 0xE8 else "jmp"
            variants.append(Variant(f"{verb} *%{reg}", ind + nops(length - len(ind))))
            lf = b"\x0f\xae\xe8" + ind
            if len(lf) <= length:
                variants.append(Variant(f"lfence; {verb} *%{reg}", lf + nops(length - len(lf))))
        return PatchSite("retpoline", addr, length, None, None, 0, target=target, detail=thunk,
                         variants=tuple(variants), source=f".retpoline_sites[{idx}]")

    # -- helpers -------------------------------------------------------------
    def _peek(self, addr: int, n: int) -> bytes:
        """Up to `n` bytes at addr, fewer at the end of a section."""
        s = self.elf.section_at(addr)
        if s is None:
            raise InputError(f"{self.elf.path}: patch site {addr:#x} is not in any loaded section")
        return self.elf.read(addr, min(n, s.end - addr))

    def _read_ptr(self, addr: int) -> int | None:
        try:
            return self.elf.read_u64(addr)
        except InputError:
            return None

    def _data_name(self, addr: int) -> str:
        pv = self.symbols.get("pv_ops")
        if pv is not None and pv <= addr < pv + 0x1000:
            member = self._pv_member(addr - pv)
            return f"pv_ops+{addr - pv:#x}" + (f" {member}" if member else "")
        return self.symbols.symbolize(addr)

    def _pv_member(self, off: int) -> str | None:
        memo = self.__dict__.setdefault("_pv_members", {})
        if off not in memo:
            memo[off] = self._pv_member_uncached(off)
        return memo[off]

    def _pv_member_uncached(self, off: int) -> str | None:
        btf = getattr(self.image, "btf", None)
        if btf is None:
            return None
        try:
            name = btf.member_at("paravirt_patch_template", off)
        except InputError:
            return None
        if name and name.endswith(".func"):
            name = name[: -len(".func")]  # struct paravirt_callee_save { void *func; }
        return name


def tables(image) -> PatchTables:
    t = getattr(image, "_patch_tables", None)
    if t is None:
        t = PatchTables(image)
        try:
            image._patch_tables = t
        except AttributeError:
            pass
    return t


def read_patch_sites(image, lo: int = 0, hi: int = 1 << 64, thunks: bool = True) -> list[PatchSite]:
    """Every patch site in [lo, hi), sorted by address (thunks: PatchTables.sites).
    The whole image's list is built once (the Program and the SYSRET search
    both read it)."""
    t = tables(image)
    if (lo, hi) == (0, 1 << 64):
        memo = t.__dict__.setdefault("_all_sites", {})
        if thunks not in memo:
            memo[thunks] = t.sites(lo, hi, thunks)
        return memo[thunks]
    return t.sites(lo, hi, thunks)


# -- runtime constants ---------------------------------------------------------
@dataclass(frozen=True)
class RuntimeConst:
    """An immediate the kernel rewrites at boot (6.11+ asm/runtime-const.h:
    runtime_const_init() stores the variable's value over it): `movq
    $0x0123456789abcdef, %reg` (kind "ptr", the 8-byte immediate) or `shrl
    $12, %reg32` (kind "shift", the 1-byte count).  The bytes on disk are a
    placeholder: the value at run time is whatever the variable held at boot
    (USER_PTR_MAX, dentry_hashtable, d_hash_shift), which the image does
    not fix."""
    addr: int  # of the immediate
    size: int
    kind: str  # "ptr" | "shift"
    name: str  # the variable


def runtime_consts(image) -> dict[int, RuntimeConst]:
    """Every runtime-constant immediate of the image, by address: the
    entries of each `runtime_ptr_<sym>` / `runtime_shift_<sym>` table (an
    s32 each, relative to itself: `.long 1b - 8 - .`), found as a section
    of that name or between __start_runtime_*/__stop_runtime_* symbols
    (include/asm-generic/vmlinux.lds.h RUNTIME_CONST(); what
    runtime_const_fixup() walks)."""
    t = tables(image)
    memo = t.__dict__.get("_runtime_consts")
    if memo is not None:
        return memo
    found: dict[str, tuple[int, bytes]] = {}
    for s in image.elf.sections:
        if s.name.startswith(("runtime_ptr_", "runtime_shift_")) and s.has_bits and s.size:
            found[s.name] = (s.addr, image.elf.section_bytes(s.name))
    for name in list(image.symbols.names()):
        if name.startswith(("__start_runtime_ptr_", "__start_runtime_shift_")):
            sec = name[len("__start_"):]
            if sec not in found:
                hit = t._table(sec, name, "__stop_" + sec)
                if hit is not None:
                    found[sec] = hit
    out: dict[int, RuntimeConst] = {}
    for sec, (base, data) in found.items():
        kind = "ptr" if sec.startswith("runtime_ptr_") else "shift"
        for i in range(0, len(data), 4):
            # (the kernel reads whole s32s while start < end: a last partial
            # one runs past the table)
            raw = data[i:i + 4] if i + 4 <= len(data) else image.read(base + i, 4)
            at = (base + i + struct.unpack("<i", raw)[0]) & 0xFFFFFFFFFFFFFFFF
            out[at] = RuntimeConst(at, 8 if kind == "ptr" else 1, kind, sec.split("_", 2)[2])
    t.__dict__["_runtime_consts"] = out
    return out
