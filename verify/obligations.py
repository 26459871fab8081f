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


@dataclass(frozen=True)
class Obligation:
    id: str
    summary: str
    predicate: Callable[[SysretInputs], z3.BoolRef]


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
BY_ID = {o.id: o for o in OBLIGATIONS}


def sysret_safe(s: SysretInputs) -> z3.BoolRef:
    """All six at once: SYSRET is then indistinguishable from IRET for the user
    and cannot fault in ring 0."""
    return z3.And(*(o.predicate(s) for o in OBLIGATIONS))
