"""The six SYSRET obligations as named z3 predicates.

One module, used by both halves of the product: the binary verifier
(`verify.engine`) evaluates them over the symbolic machine state at each
`sysretq`, and the design models (`models/`) evaluate them over the abstract
task state at each return to user mode.  Keeping a single definition is what
lets us say that the models and the binary check prove *the same* thing.

Every predicate takes a `SysretInputs` (z3 bit-vector terms for the values
SYSRET consumes and the saved frame it should reproduce) and returns a z3
boolean that is true exactly when the obligation holds.  Facts come from the
Intel SDM, Vol. 2B, SYSRET, and from arch/x86/include/asm/segment.h,
asm/processor-flags.h and asm/thread_info.h (see shared/FACTS.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import z3

# --- architectural facts (SDM) -------------------------------------------------
EFLAGS_TF = 0x100
EFLAGS_IF = 0x200
EFLAGS_RF = 0x10000
# SYSRET loads RFLAGS := (R11 & 0x3C7FD7) | 2: RF, VM and the reserved bits are dropped.
SYSRET_RFLAGS_MASK = 0x3C7FD7
SYSRET_RFLAGS_FIXED = 0x2


def canonical_bits(la57: bool) -> int:
    """Number of significant virtual-address bits: 48 (4-level) or 57 (LA57)."""
    return 57 if la57 else 48


def is_canonical(addr: z3.BitVecRef, la57: bool) -> z3.BoolRef:
    """Bits 63..(n-1) of `addr` all equal bit n-1, where n is 48 or 57."""
    n = canonical_bits(la57)
    return z3.SignExt(64 - n, z3.Extract(n - 1, 0, addr)) == addr


def is_canonical_int(addr: int, la57: bool) -> bool:
    n = canonical_bits(la57)
    top = addr >> (n - 1)
    return top == 0 or top == (1 << (65 - n)) - 1


@dataclass(frozen=True)
class SysretInputs:
    """What SYSRET consumes, and the saved user frame it must reproduce.

    rcx, r11: the registers at the `sysretq` instruction (64-bit terms).
    regs_ip, regs_flags, regs_cs, regs_ss: the saved `pt_regs` slots at that
    moment (the state the user would get from IRET).
    ti_status: `current->thread_info.status` (32-bit term).
    la57: the paging mode of the code variant (decides canonical width).
    user_cs, user_ds, ts_compat: the kernel's constants, as read from the image.
    """

    rcx: z3.BitVecRef
    r11: z3.BitVecRef
    regs_ip: z3.BitVecRef
    regs_flags: z3.BitVecRef
    regs_cs: z3.BitVecRef
    regs_ss: z3.BitVecRef
    ti_status: z3.BitVecRef
    la57: bool
    user_cs: int = 0x33
    user_ds: int = 0x2B
    ts_compat: int = 0x2
    user32_cs: int = 0x23  # __USER32_CS: the compat (sysretl) site's code selector


def rcx_is_rip(s: SysretInputs) -> z3.BoolRef:
    return s.rcx == s.regs_ip


def canonical_rip(s: SysretInputs) -> z3.BoolRef:
    return is_canonical(s.rcx, s.la57)


def r11_is_rflags(s: SysretInputs) -> z3.BoolRef:
    return s.r11 == s.regs_flags


def rflags_no_rf_tf(s: SysretInputs) -> z3.BoolRef:
    return s.r11 & (EFLAGS_RF | EFLAGS_TF) == 0


def user_cs_ss(s: SysretInputs) -> z3.BoolRef:
    return z3.And(s.regs_cs == s.user_cs, s.regs_ss == s.user_ds)


def ts_compat_clear(s: SysretInputs) -> z3.BoolRef:
    return s.ti_status & s.ts_compat == 0


def compat_user_cs(s: SysretInputs) -> z3.BoolRef:
    """SYSRETL (compat) loads CS := (STAR[63:48] | 3) = __USER32_CS and
    SS := STAR[63:48] + 8 = __USER_DS (SDM SYSRET, operand size 32;
    asm/segment.h "sysret hardcodes gdt offsets"): IRET-equivalent only when
    the saved frame holds those (6.1/6.12 common.c do_fast_syscall_32:
    `regs->cs == __USER32_CS && regs->ss == __USER_DS`)."""
    return z3.And(s.regs_cs == s.user32_cs, s.regs_ss == s.user_ds)


def compat_landing_pad(s: SysretInputs) -> z3.BoolRef:
    """SYSRETL loads EIP := ECX (zero-extended: always canonical).  The user
    resumes where IRET would send it only when ECX is the low half of the
    saved ip.  (That the saved ip is the vDSO landing pad, where
    `int80_landing_pad` reloads ECX/EDX/EBP from the user stack, is the
    kernel's own test `regs->ip == landing_pad` in do_fast_syscall_32; see
    the catalogue entry for what this predicate does and does not state.)"""
    return z3.Extract(31, 0, s.rcx) == z3.Extract(31, 0, s.regs_ip)


@dataclass(frozen=True)
class Obligation:
    id: str
    summary: str
    predicate: Callable[[SysretInputs], z3.BoolRef]
    # the catalogue (SARIF rule text, docs/CATALOGUE.md), for obligations
    # whose rule is data here rather than in verify/formats.py RULES
    catalogue: dict | None = None


# Order is the report order; ids are stable (SARIF rule ids, JSON, baselines).
OBLIGATIONS: tuple[Obligation, ...] = (
    Obligation("rcx-is-rip", "RCX equals the saved pt_regs->ip the user resumes at", rcx_is_rip),
    Obligation("canonical-rip", "RCX is canonical for the variant's paging mode", canonical_rip),
    Obligation("r11-is-rflags", "R11 equals the saved pt_regs->flags", r11_is_rflags),
    Obligation("rflags-no-rf-tf", "R11 has RF (bit 16) and TF (bit 8) clear", rflags_no_rf_tf),
    Obligation("user-cs-ss", "saved cs is __USER_CS and saved ss is __USER_DS", user_cs_ss),
    Obligation("ts-compat-clear", "TS_COMPAT is clear in current->thread_info.status", ts_compat_clear),
)
OBLIGATION_IDS = tuple(o.id for o in OBLIGATIONS)

# The compat return (issue 12): `sysretl` in sysret32_from_system_call,
# reached from entry_SYSCALL_compat and entry_SYSENTER_compat.  Not part of
# sysret_safe(): the models are of the 64-bit return.
COMPAT_OBLIGATIONS: tuple[Obligation, ...] = (
    Obligation(
        "compat-user-cs", "saved cs is __USER32_CS and saved ss is __USER_DS at the compat sysretl", compat_user_cs,
        {"cves": [], "severity": "8.8",
         "short": "Saved cs is __USER32_CS and saved ss is __USER_DS at SYSRETL",
         "full": "SYSRETL loads fixed selectors (STAR: __USER32_CS 0x23, __USER_DS 0x2b) whatever the saved frame "
                 "holds. A 32-bit task whose saved cs/ss were changed (sigreturn to a 64-bit or LDT segment, ptrace "
                 "SETREGS) would silently resume with the wrong code segment and the wrong bitness.",
         "help": "do_fast_syscall_32() must return true (SYSRETL) only when `regs->cs == __USER32_CS && "
                 "regs->ss == __USER_DS` (arch/x86/entry/common.c, 6.1 and 6.12), and false (IRET) otherwise. "
                 "See docs/CATALOGUE.md#compat-user-cs."}),
    Obligation(
        "compat-landing-pad", "ECX equals the saved pt_regs->ip (the vDSO landing pad) at the compat sysretl",
        compat_landing_pad,
        {"cves": [], "severity": "7.8",
         "short": "ECX equals the saved pt_regs->ip at SYSRETL",
         "full": "SYSRETL loads EIP from ECX (zero-extended, so never non-canonical). Unless ECX is the saved "
                 "instruction pointer, the 32-bit task resumes somewhere other than where the kernel, ptrace or "
                 "sigreturn left it. The kernel sets regs->ip to the vDSO's int80 landing pad on entry "
                 "(do_fast_syscall_32) and returns by SYSRETL only while regs->ip is still that pad, whose code "
                 "reloads ECX/EDX/EBP from the user stack (SYSRETL destroys the user's ECX).",
         "help": "Load RCX from RIP(%rsp) in sysret32_from_system_call (`movq RIP(%rsp), %rcx`) and keep "
                 "`regs->ip == landing_pad` in do_fast_syscall_32's SYSRETL test. "
                 "See docs/CATALOGUE.md#compat-landing-pad."}),
)
# what each SYSRET width must satisfy: the 64-bit six at sysretq; at sysretl
# the selectors and return EIP of the compat ABI, and the flags rules, which
# SYSRETL applies exactly as SYSRETQ does (RFLAGS := R11 & 0x3C7FD7 | 2).
# canonical-rip has no meaning there (EIP is zero-extended ECX) and
# ts-compat-clear is a 64-bit-syscall rule (a compat return leaves with the
# 32-bit ABI it entered with; arch_exit_to_user_mode_prepare clears the bit on
# both, but only a 64-bit return relies on it).
SITE_OBLIGATIONS = {
    "sysretq": OBLIGATION_IDS,
    "sysretl": ("compat-user-cs", "compat-landing-pad", "r11-is-rflags", "rflags-no-rf-tf"),
}
ALL_OBLIGATIONS = OBLIGATIONS + COMPAT_OBLIGATIONS
ALL_OBLIGATION_IDS = tuple(o.id for o in ALL_OBLIGATIONS)
BY_ID = {o.id: o for o in ALL_OBLIGATIONS}


def catalogue_rules() -> tuple[dict, ...]:
    """SARIF rules (verify/formats.py RULES shape) of the obligations whose
    catalogue is data here."""
    return tuple({"id": o.id, **{k: v for k, v in o.catalogue.items() if k != "severity"}}
                 for o in ALL_OBLIGATIONS if o.catalogue)


def catalogue_severity() -> dict:
    return {o.id: o.catalogue["severity"] for o in ALL_OBLIGATIONS if o.catalogue}


def sysret_safe(s: SysretInputs) -> z3.BoolRef:
    """All six at once: SYSRET is then indistinguishable from IRET for the user
    and cannot fault in ring 0."""
    return z3.And(*(o.predicate(s) for o in OBLIGATIONS))
