"""The one classifier of SYSRET (and IRET) encodings: which bytes are a
SYSRET, and of which width.  Every place that finds or classifies SYSRET
sites asks here (image.entry's walk, prove.cfg.decode, the catch-all of
prove/rounds.py), so the walks, the CFG and the obligations agree on
every encoding, not just the two the assembler emits (`48 0f 07`, `0f 07`).

Intel SDM Vol. 2B, SYSRET:
- "REX.W + 0F 07  SYSRET  Return to 64-bit mode from fast system call" and
  "0F 07  SYSRET  Return to compatibility mode from fast system call"; the
  pseudocode branches only on "IF (operand size is 64-bit) THEN (* Return to
  64-Bit Mode *) ... RIP := RCX ... CS.Selector := IA32_STAR[63:48]+16 ...
  ELSE (* Return to Compatibility Mode *) RIP := ECX ... CS.Selector :=
  IA32_STAR[63:48]".  There is no third, 16-bit, form: an operand size
  of 16 (a 0x66 prefix without REX.W) is "not 64-bit" and takes the
  compatibility-mode branch, exactly as the 32-bit default does.  So the
  width is 64-bit (sysretq) iff the effective operand size is 64, i.e. iff
  the effective REX.W is 1 (REX.W takes precedence over 0x66: SDM Vol. 1
  3.6.1 / Table 3-4, "Effective Operand- and Address-Size Attributes in
  64-Bit Mode"), else 32-bit (sysretl, the compat return).
- "#UD If the LOCK prefix is used": F0 0F 07 is no SYSRET (it faults);
  capstone does not decode it either, so the CFG stops there as
  undecodable (inconclusive), never falls through.
- SDM Vol. 2A 2.2.1 (REX prefixes): "the REX prefix byte must immediately
  precede the opcode byte or the escape opcode byte (0FH) ... Other
  placements are ignored."  So only a REX that is the last prefix before
  `0f` counts: `48 66 0f 07` is a 32-bit SYSRET (the REX is followed by a
  legacy prefix, ignored), `48 40 0f 07` too (the last REX, 0x40, has W=0),
  `66 48 0f 07` and `40 48 0f 07` are 64-bit.  REX.R/X/B do not change
  SYSRET (it has no operand): `49 0f 07` (REX.WB) and `4f 0f 07` are
  sysretq, `40 0f 07` is sysretl.
- Vol. 2A 2.3.11: an instruction longer than 15 bytes raises #GP: no SYSRET.
Capstone 5 agrees with all of this (tests/test_encoding.py checks both).
"""
from __future__ import annotations

import re

# Vol. 2A 2.1.1: lock, repne, rep, the six segment overrides (ignored in
# 64-bit mode for CS/SS/DS/ES), operand size, address size
LEGACY_PREFIXES = frozenset({0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67})
LOCK = 0xF0
MAX_INSN = 15  # Vol. 2A 2.3.11
SYSRETQ, SYSRETL = "sysretq", "sysretl"


def _prefixes(data: bytes) -> tuple[int, int | None, bool]:
    """-> (index of the first byte after the prefixes, the effective REX or
    None, whether a LOCK prefix was seen).  A REX counts only when nothing
    but the opcode follows it (a legacy prefix or another REX after it
    makes it ignored)."""
    i, rex, lock = 0, None, False
    while i < len(data) and i < MAX_INSN:
        b = data[i]
        if b in LEGACY_PREFIXES:
            lock |= b == LOCK
            rex = None  # a REX before a legacy prefix is ignored
        elif 0x40 <= b <= 0x4F:
            rex = b  # a later REX replaces an earlier one (which is then not last)
        else:
            break
        i += 1
    return i, rex, lock


def operand_size_prefixed(data: bytes) -> bool:
    """Whether the instruction at the start of `data` carries a 0x66
    (operand-size) prefix.  On a near branch (jcc, jmp, call, ret, loop) the
    two vendors part ways in 64-bit mode: Intel ignores the prefix, AMD
    honours it (APM Vol. 3, "Near Branches in 64-Bit Mode": a 16-bit operand
    size, a rel16 displacement, IP truncated to 16 bits), so the
    instruction's length and target are the CPU's choice.  No compiler emits
    one; a branch with it has no model (cfg.decode, summary.py) and the
    SYSRET search decodes it both ways (entry._boundaries)."""
    return 0x66 in data[:prefix_length(data)]


def address_size_prefixed(data: bytes) -> bool:
    """Whether the instruction at the start of `data` carries a 0x67
    (address-size) prefix: in 64-bit mode its memory operand's address is
    computed in 32 bits from the 32-bit registers and zero-extended
    (`andl $~TS_COMPAT, 0x10(%eax)` writes at (u32)%rax + 0x10, a user
    address where %rax holds a kernel pointer; `lea 8(%esp)` is not a stack
    address).  Compilers for x86-64 Linux emit it only on instructions with
    no memory operand (`addr32 call` padding).  (adv_r75_addr32_ts_clear,
    _irq_test)"""
    return 0x67 in data[:prefix_length(data)]


def ignored_rex(data: bytes) -> bool:
    """Whether the instruction at the start of `data` carries a REX prefix
    the CPU ignores: one followed by a legacy prefix or by another REX
    (Vol. 2A 2.2.1, above).  Capstone reads such bytes as the CPU does; VEX
    applies the ignored REX anyway (its W, R and B change the operand size
    and the registers: `48 3e 39 43 58` is a 32-bit `cmp %eax,0x58(%rbx)` on
    the CPU and a 64-bit one in VEX; adv_r39_rex_ignored_cmp).  No compiler
    or assembler emits one."""
    seen_rex = False
    for b in data[:prefix_length(data)]:
        if seen_rex:
            return True  # something follows a REX inside the prefixes
        seen_rex = 0x40 <= b <= 0x4F
    return False


def prefix_length(data: bytes) -> int:
    """How many prefix bytes (legacy and REX) open the instruction at the
    start of `data`."""
    return _prefixes(data)[0]


def sysret_at(data: bytes) -> tuple[str, int] | None:
    """The SYSRET at the start of `data` (a window of code bytes): ->
    (SYSRETQ | SYSRETL, its length), or None when the instruction there is
    not a SYSRET the CPU executes."""
    i, rex, lock = _prefixes(data)
    if data[i:i + 2] != b"\x0f\x07" or lock or i + 2 > MAX_INSN:
        return None
    return (SYSRETQ if rex is not None and rex & 0x08 else SYSRETL), i + 2


def sysret_width(raw: bytes) -> str | None:
    """SYSRETQ | SYSRETL when `raw` is exactly one SYSRET instruction
    (prefixes and `0f 07`, nothing after), else None."""
    r = sysret_at(raw)
    return r[0] if r is not None and r[1] == len(raw) else None


def is_iretq(raw: bytes) -> bool:
    """`raw` is exactly one 64-bit IRET (REX.W + CF, any legacy prefixes but
    LOCK before the REX): the IRET that pops a 64-bit frame (SDM "REX.W + CF
    IRETQ")."""
    i, rex, lock = _prefixes(raw)
    return raw[i:] == b"\xcf" and not lock and i + 1 <= MAX_INSN and rex is not None and bool(rex & 0x08)


def modrm_length(data: bytes, at: int) -> int | None:
    """How many bytes the ModRM at data[at] takes with its SIB and
    displacement, in 64-bit mode (SDM Vol. 2A 2.1.5, Tables 2-2 and 2-3;
    2.2.1.6 for RIP-relative): mod 3 is the byte alone; rm 4 adds a SIB,
    whose base 5 under mod 0 adds a disp32; mod 0 with rm 5 is a disp32
    (RIP-relative); mod 1 adds a disp8, mod 2 a disp32.  A 0x67 prefix
    gives 32-bit addressing, which has the same forms (there is no 16-bit
    addressing in 64-bit mode).  None: data ends first."""
    if at >= len(data):
        return None
    mod, rm = data[at] >> 6, data[at] & 7
    n = 1
    if mod != 3:
        if rm == 4:
            if at + 1 >= len(data):
                return None
            n += 1 + (4 if mod == 0 and data[at + 1] & 7 == 5 else 0)
        elif mod == 0 and rm == 5:
            n += 4
        n += (0, 1, 4)[mod]
    return n if at + n <= len(data) else None


def ud1_length(data: bytes) -> int | None:
    """The length of the UD1 at the start of data: `0f b9 /r` takes a ModRM
    (and its SIB and displacement) on Intel and AMD (SDM Vol. 2B UD; APM
    Vol. 3), which capstone 5 leaves out: it reads `0f b9 40 10` as a
    2-byte ud1, so where a kernel resumes after one (6.12's UBSAN trap:
    handle_bug() adds the decoded length to regs->ip) a reader went on at
    the ModRM byte and the CPU elsewhere.  None: not a UD1, or cut short
    (or longer than an instruction may be)."""
    n = prefix_length(data)
    if data[n:n + 2] != b"\x0f\xb9":
        return None
    m = modrm_length(data, n + 2)
    return None if m is None or n + 2 + m > MAX_INSN else n + 2 + m


# the prefixes the kernel's decoder skips before a call's opcode byte
# (insn_get_prefixes: the legacy ones but LOCK)
CALL_DEST_PREFIXES = frozenset({0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF2, 0xF3})


def call_rel32_target(addr: int, raw: bytes) -> int | None:
    """The target of the `call rel32` at addr in raw, legacy prefixes
    skipped as the kernel's decoder does (callthunks.c call_get_dest,
    alternative.c patch_retpoline check the opcode byte only), or None."""
    j = 0
    while j < len(raw) and raw[j] in CALL_DEST_PREFIXES and j < 14:
        j += 1
    if j < len(raw) and 0x40 <= raw[j] <= 0x4F:
        j += 1  # a REX prefix (insn_get_prefixes takes one after the legacy ones: adv_r153_callthunk_rex_call)
    if j + 5 > len(raw) or raw[j] != 0xE8:
        return None
    rel = int.from_bytes(raw[j + 1:j + 5], "little", signed=True)
    return (addr + j + 5 + rel) & 0xFFFFFFFFFFFFFFFF


def prefixed_system_insn(raw: bytes) -> bool:
    """A group-6/7 system instruction (`0f 00 /r`, `0f 01 /r`) with a 66, F2
    or F3 prefix.  Newer ISA extensions put other instructions there
    (FRED's ERETS `f2 0f 01 ca` and ERETU `f3 0f 01 ca`, LKGS `f2 0f 00 /6`,
    RDMSRLIST/WRMSRLIST `f2/f3 0f 01 c6`) that capstone 5 decodes as the
    unprefixed one (ERETS as `clac`): such bytes have no model."""
    i = 0
    while i < len(raw) and (raw[i] in LEGACY_PREFIXES or 0x40 <= raw[i] <= 0x4F):
        i += 1
    if raw[i:i + 1] != b"\x0f" or raw[i + 1:i + 2] not in (b"\x00", b"\x01"):
        return False
    return any(b in (0x66, 0xF2, 0xF3) for b in raw[:i])


# AMD's VMGEXIT (`rep vmmcall`, the SEV-ES GHCB protocol's exit; VMMCALL
# without SEV-ES: AMD APM Vol. 3): an exit to the hypervisor that resumes at
# the next instruction, as capstone's `vmmcall` reads it; the only prefixed
# group-7 instruction of the Debian kernels' code (18 in 6.12's
# sev_es_*/snp_* code, reached from the exit path's closure), which
# lite_decode therefore decodes on
VMGEXIT = b"\xf3\x0f\x01\xd9"

# bytes that may hold one (a 66/F2/F3 prefix, more prefixes or a REX, then
# `0f 00` or `0f 01`): where lite_decode must look at each instruction
_MAYBE_PREFIXED_SYSTEM = re.compile(rb"[\x66\xf2\xf3][\x26\x2e\x36\x3e\x40-\x4f\x64-\x67\xf0\xf2\xf3]*\x0f[\x00\x01]")


def lite_decode(md, data: bytes, base: int, count: int = 0):
    """capstone's md.disasm_lite(data, base, count) -> (address, size,
    mnemonic, operands), with the lengths the CPU gives: a UD1 has its
    ModRM (ud1_length) and the decode goes on after it; a UD0 (Intel reads
    a ModRM after `0f ff`, AMD does not) or a UD1 cut short ends the decode,
    as bytes capstone cannot decode do.  Every linear reader of code bytes
    decodes through here, so none goes on at a UD1's ModRM byte where the
    CPU goes on after it (adv_r82_ud1_hides_ts_set: capstone's 2-byte ud1
    hid a TS_COMPAT store under what it read as a `cmp`).  A prefixed
    group-6/7 system instruction (prefixed_system_insn: FRED's ERETS, which
    capstone reads as `clac`, returns through a frame on the stack) ends it
    too (adv_r161_erets_lite_label, _erets_noreturn_ts)."""
    if md._detail:
        md = _without_detail(md)
    if b"\x0f\xb9" not in data and b"\x0f\xff" not in data and not _MAYBE_PREFIXED_SYSTEM.search(data):
        return md.disasm_lite(data, base, count)  # (the common case: capstone's own lengths hold)
    return _lite_decode_ud(md, data, base, count)


_PLAIN: dict = {}  # (arch, mode, syntax) -> a capstone handle without operand details


def _without_detail(md):
    """A handle like md (same architecture, mode and syntax) with operand
    details off: disasm_lite gives the same tuples either way, and capstone
    fills the details it then throws away for every instruction otherwise
    (a quarter of the decode's time, measured on 6.12's code)."""
    key = (md.arch, md.mode, md.syntax)
    plain = _PLAIN.get(key)
    if plain is None:
        import capstone

        plain = capstone.Cs(md.arch, md.mode)
        if md.syntax is not None:
            plain.syntax = md.syntax
        _PLAIN[key] = plain
    return plain


def _lite_decode_ud(md, data: bytes, base: int, count: int):
    pos = done = 0
    while pos < len(data):
        restart = False
        for a, size, m, ops in md.disasm_lite(data[pos:], base + pos, count - done if count else 0):
            word = m.split(" ")[-1]
            if word == "ud0" or (prefixed_system_insn(data[a - base:a - base + size])
                                 and data[a - base:a - base + size] != VMGEXIT):
                return
            if word == "ud1":
                size = ud1_length(data[a - base:])
                if size is None:
                    return
                restart = True
            yield a, size, m, ops
            done += 1
            pos = a - base + size
            if count and done >= count:
                return
            if restart:
                break
        if not restart:
            return


# Instructions after which the CPU goes on where machine state says, not at
# the next instruction nor at a target in the bytes: VMLAUNCH/VMRESUME (a
# VM entry; the VM exit lands at the VMCS's HOST_RIP, with HOST_RSP: SDM
# Vol. 3C 27.5.3 "Loading Host RIP, RSP ..."), GETSEC (EXITAC jumps to RBX,
# SENTER/ENTERACCS into an authenticated code module: SDM Vol. 2D 7.3),
# RSM (the state SMM saved), UIRET (pops RIP like an IRET), ENCLU (#UD
# outside CPL 3; EEXIT jumps to RBX).  A reader of code that takes one of
# them to fall through (the static SYSRET walk: adv_r126_la57_vmresume_exit)
# misses where control really goes: every reader treats them as an
# indirect jump.  (VMRUN is not one: its #VMEXIT resumes after it.)
NEXT_FROM_STATE = frozenset({"vmlaunch", "vmresume", "getsec", "rsm", "uiret", "enclu"})

# capstone files LOOP, LOOPE and LOOPNE under "branch_relative" only, not its
# jump group (jrcxz, jecxz and xbegin are in both): every reader of branches
# asks is_jump (a `loop` read as a plain instruction hid its taken side from
# the IF and summary walks, adv_r117_loop_hides_sti)
_LOOP_MNEMONICS = ("loop", "loope", "loopne")


def is_jump(ci) -> bool:
    """A capstone instruction that jumps: its jump group, or a LOOP*."""
    import capstone

    return ci.group(capstone.CS_GRP_JUMP) or ci.mnemonic in _LOOP_MNEMONICS


# Instructions the prover models itself (cfg.decode's kind "special": never
# handed to VEX, whose lifting of them is wrong or missing, FACTS.md).
SPECIAL = {
    "swapgs", "sysret", "sysretq", "sysretl", "iretq", "iret", "iretd",
    "cli", "sti", "pushfq", "popfq", "pushf", "popf",
    "wrmsr", "rdmsr", "verw", "stac", "clac", "rdtsc", "rdtscp", "rdpid",
    "hlt", "int3", "ud2", "ud1", "ud0", "int", "syscall", "sysenter", "sysexit", "sysexitq",
    "invlpg", "invpcid", "wbinvd", "lgdt", "lidt", "ltr", "lldt", "clts",
    "wrfsbase", "wrgsbase", "rdfsbase", "rdgsbase", "xsetbv", "xrstor", "xrstors",
    "xsave", "xsaves", "xsaveopt", "fxsave", "fxrstor", "fxsave64", "fxrstor64",
    "xrstor64", "xsave64", "xsaves64", "xrstors64", "xsaveopt64", "lsl", "lar",
    "serialize", "mwait", "monitor", "encls", "vmcall", "vmmcall", "tpause",
    # VEX lifts these the way one CPU runs them only: on a CPU without LZCNT
    # (BMI1), `f3 0f bd` (`f3 0f bc`) runs as BSR (BSF) -- SDM Vol. 2A,
    # LZCNT/TZCNT -- and VEX always lifts Clz/Ctz (adv_r39_lzcnt_canonical);
    # RDSSP writes the shadow-stack pointer where shadow stacks are on and is
    # a NOP elsewhere, and VEX lifts it as a NOP (adv_r39_rdssp_leak)
    "lzcnt", "tzcnt", "rdsspd", "rdsspq",
    # VEX lifts XGETBV as the constants EAX = 7, EDX = 0 (adv_r172_xgetbv_xcr0)
    "xgetbv",
}
