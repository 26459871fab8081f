"""SYSRET and IRET as the SDM defines them, reduced to what the user sees.

`UserView` is the user-visible result of one return to user mode: how it
ended (`outcome`), the registers the first user instruction sees, and when
the single-step trap fires if TF ends up set.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import z3

from verify.obligations import EFLAGS_TF, SYSRET_RFLAGS_FIXED, SYSRET_RFLAGS_MASK, is_canonical

from .state import USER_CS, USER_DS, const

# outcome
OK, USER_FAULT, RING0_FAULT = 0, 1, 2
OUTCOME_NAMES = {OK: "returns to user mode", USER_FAULT: "#GP delivered to user mode (SIGSEGV)",
                 RING0_FAULT: "#GP in ring 0 on the user's stack and GS (exploitable)"}
# trap: when the single-step #DB fires after the return
NO_TRAP, TRAP_BEFORE_FIRST, TRAP_AFTER_FIRST = 0, 1, 2
TRAP_NAMES = {NO_TRAP: "no single-step trap",
              TRAP_BEFORE_FIRST: "single-step trap before the first user instruction",
              TRAP_AFTER_FIRST: "single-step trap after the first user instruction"}

INTEL, AMD = "intel", "amd"


@dataclass(frozen=True)
class UserView:
    outcome: z3.BitVecRef  # 2 bits
    rip: z3.BitVecRef
    rsp: z3.BitVecRef
    rflags: z3.BitVecRef
    cs: z3.BitVecRef
    ss: z3.BitVecRef
    rcx: z3.BitVecRef
    r11: z3.BitVecRef
    trap: z3.BitVecRef     # 2 bits


VIEW_REGS = ("rip", "rsp", "rflags", "cs", "ss", "rcx", "r11")


def _canon(x):
    return is_canonical(x, False)


def iret(ip, sp, flags, cs, ss, cx, r11) -> UserView:
    """IRET to CPL 3 restores RIP, CS, RFLAGS, RSP, SS from the frame; the
    other registers were popped from pt_regs before it.  RFLAGS bit 1 always
    reads 1.  IRET #GPs on a non-canonical RIP (SDM Vol. 2A, IRET, IA-32e
    mode); Linux turns that fault into a user-mode fault at the frame's RIP
    (`fixup_bad_iret`, entry_64.S), so the user sees SIGSEGV, the kernel is
    safe.  A TF restored by IRET traps after the first user instruction:
    the single-step trap is taken after an instruction that *started* with
    TF set (SDM Vol. 3A 18.3.1.4)."""
    rflags = flags | SYSRET_RFLAGS_FIXED
    trap = z3.If((flags & EFLAGS_TF) != 0, const(TRAP_AFTER_FIRST, 2), const(NO_TRAP, 2))
    outcome = z3.If(_canon(ip), const(OK, 2), const(USER_FAULT, 2))
    trap = z3.If(_canon(ip), trap, const(NO_TRAP, 2))
    return UserView(outcome, ip, sp, rflags, cs, ss, cx, r11, trap)


def sysret(rcx, r11, sp, cpu: str) -> UserView:
    """64-bit SYSRET (SDM Vol. 2B): #GP(0) if RCX is non-canonical; then
    RIP := RCX, RFLAGS := (R11 & 0x3C7FD7) | 2, CS/SS := the fixed user
    selectors (__USER_CS/__USER_DS on Linux), RSP untouched (the kernel
    restored the user's RSP before it).

    Intel raises the #GP *before* the switch to ring 3: the handler runs in
    ring 0 with the user's RSP and GS (CVE-2012-0217).  AMD raises it after
    the switch: a user-mode fault at RIP = RCX.

    A TF restored by SYSRET traps immediately, before the first user
    instruction (the entry_64.S comment on the RF/TF test: "unlike IRET,
    restoring TF results in a trap from userspace immediately after SYSRET").
    """
    rflags = (r11 & SYSRET_RFLAGS_MASK) | SYSRET_RFLAGS_FIXED
    canon = _canon(rcx)
    fault = const(RING0_FAULT if cpu == INTEL else USER_FAULT, 2)
    outcome = z3.If(canon, const(OK, 2), fault)
    trap = z3.If(z3.And(canon, (r11 & EFLAGS_TF) != 0), const(TRAP_BEFORE_FIRST, 2), const(NO_TRAP, 2))
    return UserView(outcome, rcx, sp, rflags, const(USER_CS), const(USER_DS), rcx, r11, trap)


def view_ite(c, a: UserView, b: UserView) -> UserView:
    return UserView(*(z3.If(c, getattr(a, f.name), getattr(b, f.name)) for f in fields(UserView)))


def views_equal(a: UserView, b: UserView) -> z3.BoolRef:
    """Same outcome, and, unless the kernel itself faulted (then nothing the
    user sees matters), the same registers and the same trap timing."""
    regs = z3.And(*(getattr(a, n) == getattr(b, n) for n in VIEW_REGS + ("trap",)))
    return z3.And(a.outcome == b.outcome, z3.Or(a.outcome == RING0_FAULT, regs))
