"""SYSRETQ, SYSRETL and IRET as the SDM (and AMD) define them, reduced to what
the user sees.

`UserView` is the user-visible result of one return to user mode: how it
ended (`outcome`), the registers the first user instruction sees, and when
the single-step trap fires if TF ends up set.  `compat` marks a view of a
return to 32-bit code (CS = __USER32_CS), where only the low 32 bits of RSP
matter and R11 is not visible (and ECX is reloaded by the vDSO landing pad).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import z3

from verify.obligations import EFLAGS_TF, SYSRET_RFLAGS_FIXED, SYSRET_RFLAGS_MASK, is_canonical

from .state import TLS_SELECTORS, USER32_CS, const

# outcome
OK, USER_FAULT, RING0_FAULT = 0, 1, 2
OUTCOME_NAMES = {OK: "returns to user mode", USER_FAULT: "#GP delivered to user mode (SIGSEGV)",
                 RING0_FAULT: "#GP in ring 0 on the user's stack and GS (exploitable)"}
# trap: when the single-step #DB fires after the return
NO_TRAP, TRAP_BEFORE_FIRST, TRAP_AFTER_FIRST = 0, 1, 2

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
    compat: z3.BoolRef


VIEW_REGS = ("rip", "rsp", "rflags", "cs", "ss", "rcx", "r11")


def user_table_selector(sel) -> z3.BoolRef:
    """An RPL-3 selector whose descriptor the user writes itself: any LDT
    selector (TI = 1; modify_ldt) or a GDT TLS slot (set_thread_area).  IRET
    to such a selector is modelled as succeeding (the worst case for the
    properties: the user then runs with it)."""
    return z3.And(sel & 3 == 3, z3.Or(sel & 4 == 4, *(sel == s for s in TLS_SELECTORS)))


def iret(ip, sp, flags, cs, ss, cx, r11, la57: bool, code_sels, data_sels) -> UserView:
    """IRETQ to CPL 3 restores RIP, CS, RFLAGS, RSP, SS from the frame; the
    other registers were popped from pt_regs before it.  RFLAGS bit 1 always
    reads 1.  IRET #GPs on a non-canonical RIP, on a RIP beyond a 32-bit CS
    limit, and on a CS or SS that is not a valid user segment (SDM Vol. 2A,
    IRET, IA-32e mode).  The kernel turns each such fault into a user-mode
    signal (Linux fixup_bad_iret / the exception-table entry on the iretq;
    FreeBSD doreti_iret_fault), so the user sees a fault, the kernel is safe.
    A TF restored by IRET traps after the first user instruction (the trap
    follows an instruction that *started* with TF set, SDM Vol. 3A 18.3.1.4)."""
    rflags = flags | SYSRET_RFLAGS_FIXED
    is32 = cs == USER32_CS
    ip_ok = z3.If(is32, z3.ULT(ip, const(1 << 32)), is_canonical(ip, la57))
    sel_ok = z3.And(z3.Or(*(cs == c for c in code_sels), user_table_selector(cs)),
                    z3.Or(*(ss == s for s in data_sels), user_table_selector(ss)))
    good = z3.And(ip_ok, sel_ok)
    trap = z3.If(z3.And(good, (flags & EFLAGS_TF) != 0), const(TRAP_AFTER_FIRST, 2), const(NO_TRAP, 2))
    outcome = z3.If(good, const(OK, 2), const(USER_FAULT, 2))
    return UserView(outcome, ip, sp, rflags, cs, ss, cx, r11, trap, is32)


def sysretq(rcx, r11, sp, cpu: str, la57: bool, user_cs: int, user_ss: int) -> UserView:
    """64-bit SYSRET (SDM Vol. 2B): #GP(0) if RCX is non-canonical; then
    RIP := RCX, RFLAGS := (R11 & 0x3C7FD7) | 2 (IOPL, IF, NT, AC, TF come
    from R11 on both vendors: FACTS.md "SYSRET takes RFLAGS from R11"),
    CS/SS := the STAR selectors, RSP untouched (the kernel restored it).

    Intel raises the #GP *before* the switch to ring 3: the handler runs in
    ring 0 with the user's RSP and GS (CVE-2012-0217).  AMD raises it after
    the switch (FACTS.md): a ring-3 #GP at RIP = RCX, with RFLAGS already
    loaded from R11 (so a bad R11 still reaches user mode, through the
    fault's frame).  Assumption (FACTS.md is silent on it): the AMD ring-3
    fault leaves RCX/R11 as loaded and CS/SS as the STAR selectors.

    A TF restored by SYSRET traps immediately, before the first user
    instruction (entry_64.S comment on the RF/TF test: "restoring TF results
    in a trap from userspace immediately after SYSRET")."""
    rflags = (r11 & SYSRET_RFLAGS_MASK) | SYSRET_RFLAGS_FIXED
    canon = is_canonical(rcx, la57)
    fault = const(RING0_FAULT if cpu == INTEL else USER_FAULT, 2)
    outcome = z3.If(canon, const(OK, 2), fault)
    trap = z3.If(z3.And(canon, (r11 & EFLAGS_TF) != 0), const(TRAP_BEFORE_FIRST, 2), const(NO_TRAP, 2))
    return UserView(outcome, rcx, sp, rflags, const(user_cs), const(user_ss), rcx, r11, trap,
                    z3.BoolVal(False))


def sysretl(rcx, r11, sp, user32_cs: int, user_ss: int) -> UserView:
    """32-bit-operand SYSRET back to compat mode (entry_64_compat.S
    sysret32_from_system_call): EIP := ECX, zero-extended, so never
    non-canonical; RFLAGS := (R11 & 0x3C7FD7) | 2; CS := STAR[63:48]
    (__USER32_CS), SS := STAR[63:48]+8 (__USER_DS).  Same on both vendors
    (FACTS.md: "sysretl loads EIP from ECX: zero-extended, always canonical")."""
    rip = rcx & 0xFFFFFFFF
    rflags = (r11 & SYSRET_RFLAGS_MASK) | SYSRET_RFLAGS_FIXED
    trap = z3.If((r11 & EFLAGS_TF) != 0, const(TRAP_BEFORE_FIRST, 2), const(NO_TRAP, 2))
    return UserView(const(OK, 2), rip, sp, rflags, const(user32_cs), const(user_ss), rip, r11, trap,
                    z3.BoolVal(True))


def view_ite(c, a: UserView, b: UserView) -> UserView:
    return UserView(*(z3.If(c, getattr(a, f.name), getattr(b, f.name)) for f in fields(UserView)))


def views_equal(a: UserView, b: UserView, abi_rcx_r11: bool = True, pad=None) -> z3.BoolRef:
    """Same outcome, and, unless the kernel itself faulted (then nothing the
    user sees matters), the same registers and the same trap timing.  In a
    return to 32-bit code only ESP and ECX count (R11 is not visible there),
    and ECX not at the vDSO landing pad `pad`, whose code reloads it
    (__kernel_vsyscall pops ecx after int80_landing_pad).
    `abi_rcx_r11=False` (FreeBSD, whose syscall ABI clobbers them) drops
    RCX/R11 everywhere."""
    low = lambda x: x & 0xFFFFFFFF  # noqa: E731
    c = z3.Or(a.compat, b.compat)
    regs = [a.rip == b.rip, a.rflags == b.rflags, a.cs == b.cs, a.ss == b.ss, a.trap == b.trap,
            z3.If(c, low(a.rsp) == low(b.rsp), a.rsp == b.rsp)]
    if abi_rcx_r11:
        at_pad = z3.BoolVal(False) if pad is None else a.rip == pad
        regs.append(z3.If(c, z3.Or(at_pad, low(a.rcx) == low(b.rcx)), z3.And(a.rcx == b.rcx, a.r11 == b.r11)))
    return z3.And(a.outcome == b.outcome, z3.Or(a.outcome == RING0_FAULT, z3.And(*regs)))
