"""The six SYSRET obligations as named z3 predicates.

One module, used by both halves of the product: the binary verifier
(`verify.prove`) evaluates them over the symbolic machine state at each
SYSRET, and the design models (`models/`) evaluate them over the abstract
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
EFLAGS_IOPL = 0x3000
# SYSRET loads RFLAGS := (R11 & 0x3C7FD7) | 2: RF, VM and the reserved bits are dropped.
SYSRET_RFLAGS_MASK = 0x3C7FD7
# the RFLAGS bits a CPU defines in 64-bit mode (CF, 1, PF, AF, ZF, SF, TF,
# IF, DF, OF, IOPL, NT, RF, VM, AC, VIF, VIP, ID; SDM Vol. 1 3.4.3): the
# others (3, 5, 15, 22-63) are reserved, zero in any image the CPU saves
RFLAGS_IMAGE = 0x3F7FD7
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
    user_cs, user_ds: the selectors SYSRETQ loads (Linux's MSR_STAR: 0x33, 0x2b);
    ts_compat: the kernel's constant.
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
    # the return-to-user contract beyond RCX/R11/CS/SS (issue 12); None where
    # a caller (models/) does not evaluate those obligations
    rsp: z3.BitVecRef | None = None  # RSP at SYSRET
    regs_sp: z3.BitVecRef | None = None  # saved pt_regs->sp
    # the explored code stored into pt_regs->sp a value that is not user data
    regs_sp_kstore: z3.BoolRef | None = None
    gs_kernel: z3.BoolRef | None = None  # the GS base is the kernel's (odd number of SWAPGS since entry)
    gs_bad: z3.BoolRef | None = None  # a %gs-relative access ran while the GS base was the user's
    IF: z3.BitVecRef | None = None  # RFLAGS.IF at SYSRET (1 bit)
    irq_bad: z3.BoolRef | None = None  # IF was set at some point while the GS base was the user's
    cr3: z3.BitVecRef | None = None  # CR3 at SYSRET
    entry_cr3: z3.BitVecRef | None = None  # CR3 at the SYSCALL
    cr3_bad: z3.BoolRef | None = None  # a CR3 write changed more than the PTI/PCID selection bits
    pti: z3.BoolRef | None = None  # X86_FEATURE_PTI (boot-time, symbolic in the query)
    pcid: z3.BoolRef | None = None  # X86_FEATURE_PCID
    pti_user_pgtable_bit: int = 12
    pti_user_pcid_bit: int = 11
    # (name, value at SYSRET, saved value, extra allowed values as z3
    # booleans[, the slot may hold a kernel value the exit code stored])
    gprs: tuple = ()


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


def user_rsp(s: SysretInputs) -> z3.BoolRef:
    """SYSRET does not load RSP (SDM): the kernel must, from the saved frame."""
    ok = s.rsp == s.regs_sp
    return ok if s.regs_sp_kstore is None else z3.And(ok, z3.Not(s.regs_sp_kstore))


def user_gs(s: SysretInputs) -> z3.BoolRef:
    """The GS base is the user's at SYSRET (SWAPGS ran an even number of
    times since the entry, whose first was the entry's own), and no
    %gs-relative access ran while it was the user's (one after the exit
    SWAPGS reads or writes user-chosen memory as per-CPU data)."""
    return z3.And(z3.Not(s.gs_kernel), z3.Not(s.gs_bad))


def user_cr3(s: SysretInputs) -> z3.BoolRef:
    """Under PTI, CR3 selects the user page tables (PTI_USER_PGTABLE_BIT)
    and, with PCID, the user PCID (PTI_USER_PCID_BIT): calling.h
    SWITCH_TO_USER_CR3, on the task's own tables.  Without PTI, CR3 is what
    it was at the SYSCALL."""
    def user_tables(cr3):
        pg = z3.Extract(s.pti_user_pgtable_bit, s.pti_user_pgtable_bit, cr3) == 1
        pc = z3.Extract(s.pti_user_pcid_bit, s.pti_user_pcid_bit, cr3) == 1
        return z3.And(pg, z3.Implies(s.pcid, pc))
    # under PTI, user mode runs on the user tables: the SYSCALL came from a
    # CR3 that selects them (the previous exit's switch), so only entries
    # from such a CR3 are considered (a stub that never switches, such as
    # entry_SYSCALL32_ignore, returns with that same CR3)
    # and the tables are the task's: every CR3 write on the path kept the
    # page-table base and ASID of the CR3 it replaced (cr3_bad)
    # CR3 never holds bit 63 (with PCIDE a MOV to CR3 takes it as NOFLUSH
    # and does not store it; reads give 0: SDM vol. 3 4.10.4.1), so the
    # SYSCALL's CR3 has it clear (Explorer: a CR3 write stores it cleared;
    # cr3_bad covers a NOFLUSH switch that drops a pending user-ASID flush)
    bad = s.cr3_bad if s.cr3_bad is not None else z3.BoolVal(False)
    # and, with PCID, user mode's PCID is a small number: kern_pcid(asid) =
    # asid + 1 with asid < TLB_NR_DYN_ASIDS = 6, plus the user bit 11
    # (6.1/6.12 arch/x86/include/asm/tlbflush.h, arch/x86/mm/tlb.c); under 16
    # is what the NOFLUSH rule reads exactly (Explorer._dropped_user_flush)
    small_pcid = z3.Implies(s.pcid, z3.ULT(z3.Extract(10, 0, s.entry_cr3), 16))
    return z3.Implies(z3.And(z3.Extract(63, 63, s.entry_cr3) == 0, small_pcid), z3.If(
        s.pti, z3.Implies(user_tables(s.entry_cr3), z3.And(user_tables(s.cr3), z3.Not(bad))),
        s.cr3 == s.entry_cr3))


def irqs_off(s: SysretInputs) -> z3.BoolRef:
    """IF is clear at SYSRET and was never set while the GS base was the
    user's (from the exit SWAPGS on; also from the SYSCALL to the entry
    SWAPGS): an interrupt there would enter from kernel mode, skip SWAPGS and
    run on the user's GS base."""
    return z3.And(s.IF == 0, z3.Not(s.irq_bad))


def rflags_if_iopl(s: SysretInputs) -> z3.BoolRef:
    """SYSRET loads IF and IOPL from R11 like the other flags (RFLAGS :=
    R11 & 0x3C7FD7 | 2, SDM SYSRET; FACTS.md): user mode must get IF set
    and IOPL 0, which it cannot change itself (POPF at CPL 3 with IOPL 0
    leaves both alone, SDM POPF).  IOPL 3 lets it run cli/sti/in/out; IF
    clear keeps every interrupt out of that CPU while it runs."""
    return s.r11 & (EFLAGS_IF | EFLAGS_IOPL) == EFLAGS_IF


def gpr_ok(value, saved, extra=(), kstore=None) -> z3.BoolRef:
    """kstore: the slot may hold a value the exit code stored that is not
    user data (then the slot is no "saved user value").  Nor is zero, or
    another accepted value, when the register was restored from such a
    slot: which value the slot got may itself be the kernel data (`if
    (secret & 1) regs->r12 = 0`, adv_r43_slot_zero_under_secret)."""
    if kstore is None:
        return z3.Or(value == saved, value == 0, *extra)
    from_marked = z3.And(value == saved, kstore)
    return z3.Or(z3.And(value == saved, z3.Not(kstore)), z3.And(z3.Or(value == 0, *extra), z3.Not(from_marked)))


def no_kernel_data(s: SysretInputs) -> z3.BoolRef:
    """Every general register but RSP, RCX and R11 holds its saved user
    value (the pt_regs slot), zero, or (listed per register by the caller)
    another value that is not kernel data: the register as the user left it
    at the SYSCALL; at the -ENOSYS stubs an errno in RAX.  s.gprs: (name,
    value, saved, extra, kstore mark[, (implicit, restored)]); implicit: the
    value may have been chosen by kernel data (`if (secret & 1) r12 = 0`:
    zero and the user's value are each accepted, the choice between them
    is the secret's bit); then only `restored` is: the value is the slot
    the register is restored from, unmarked (what every outcome of such a
    choice restores alike, e.g. POP_REGS after the exit's own choice
    between SYSRET and IRET)."""
    return z3.And(*(z3.If(implicit[0][0], implicit[0][1], gpr_ok(v, saved, extra, dirty)) if implicit else
                    gpr_ok(v, saved, extra, dirty) for _n, v, saved, extra, dirty, *implicit in s.gprs)) \
        if s.gprs else z3.BoolVal(True)


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
# The rest of the return-to-user contract (issue 12), at every SYSRET of
# either width.  Their terms come from the exploration's state (state.py:
# gs_kernel, gs_bad, IF, irq_bad, cr3) and decide.Query.
EXIT_OBLIGATIONS: tuple[Obligation, ...] = (
    Obligation(
        "user-rsp", "RSP equals the saved pt_regs->sp", user_rsp,
        {"cves": [], "severity": "8.8",
         "short": "RSP equals the saved user stack pointer at SYSRET",
         "full": "SYSRET loads RIP, RFLAGS, CS and SS but not RSP (Intel SDM SYSRET): the kernel restores it "
                 "itself, from pt_regs->sp (6.1 `popq %rsp` in syscall_return_via_sysret, 6.12 the same; compat: "
                 "`movq RSP-ORIG_RAX(%rsp), %rsp`). Any other value hands user mode a kernel stack address "
                 "(a KASLR leak) or resumes it on a stack it did not choose, and a ptrace or sigreturn change of "
                 "sp is lost. At the -ENOSYS stubs (entry_SYSCALL32_ignore, ignore_sysret) the saved value is the "
                 "RSP of the SYSCALL itself: they must not touch it.",
         "help": "Restore RSP from the saved frame as the last stack operation before SWAPGS/SYSRET "
                 "(`pushq RSP-RDI(%rdi)` onto the trampoline stack, then `popq %rsp`). "
                 "See docs/CATALOGUE.md#user-rsp."}),
    Obligation(
        "user-gs", "the GS base is the user's at SYSRET and no %gs access ran while it was", user_gs,
        {"cves": ["CVE-2018-8897", "CVE-2014-9322"], "severity": "9.0",
         "short": "Exactly one SWAPGS on the way out; no %gs access after it",
         "full": "SWAPGS exchanges the GS base with MSR_KERNEL_GS_BASE. The exit must execute it exactly once "
                 "after the last per-CPU access: none leaves the kernel's GS base (the per-CPU area) to user mode "
                 "(it can read and write it with RDGSBASE/WRGSBASE or %gs: accesses), two return with the "
                 "kernel's and leave the user's in the MSR, where the next entry's SWAPGS loads it as the "
                 "kernel's. A %gs-relative access after the exit SWAPGS reads or writes memory the user chose "
                 "as per-CPU data. The same class: CVE-2018-8897 (a #DB in the kernel before SWAPGS ran on the "
                 "user's GS base), CVE-2014-9322 (a fault on the exit path with the user's GS base).",
         "help": "One `swapgs` immediately before `sysretq`/`sysretl` (6.1/6.12 entry_64.S "
                 "syscall_return_via_sysret, entry_64_compat.S sysret32_from_system_call), after every per-CPU "
                 "access; no per-CPU access (PER_CPU_VAR, this_cpu_*) after it. "
                 "See docs/CATALOGUE.md#user-gs."}),
    Obligation(
        "irqs-off", "IF is clear from the exit SWAPGS to SYSRET", irqs_off,
        {"cves": ["CVE-2018-8897"], "severity": "8.1",
         "short": "Interrupts are off while the GS base is the user's",
         "full": "Between the exit SWAPGS and SYSRET the CPU is in ring 0 with the user's GS base. An interrupt "
                 "taken there enters from kernel mode, so the entry code does not SWAPGS, and its per-CPU "
                 "accesses go through the user's GS base: the user controls the kernel's per-CPU data. IF must "
                 "be clear from the exit SWAPGS to SYSRET (and from the SYSCALL to the entry SWAPGS, which FMASK "
                 "guarantees); SYSRET itself loads IF from R11. Same class as CVE-2018-8897 (an exception "
                 "delivered before SWAPGS).",
         "help": "Disable interrupts before the exit work's last check (local_irq_disable_exit_to_user in "
                 "syscall_exit_to_user_mode) and never enable them again on the way out: no sti, no popf of a "
                 "saved IF, no call that may enable them after SWAPGS. See docs/CATALOGUE.md#irqs-off."}),
    Obligation(
        "user-cr3", "under PTI CR3 selects the user page tables (and PCID); without PTI CR3 is unchanged",
        user_cr3,
        {"cves": ["CVE-2017-5754"], "severity": "7.5",
         "short": "Under PTI, CR3 selects the user page tables at SYSRET",
         "full": "With page-table isolation (X86_FEATURE_PTI, the Meltdown mitigation, CVE-2017-5754) user "
                 "mode must run on the user copy of the page tables: CR3 with PTI_USER_PGTABLE_BIT (bit 12) set, "
                 "and with X86_FEATURE_PCID also the user PCID (PTI_USER_PCID_BIT, bit 11) "
                 "(arch/x86/entry/calling.h SWITCH_TO_USER_CR3, 6.1 and 6.12). A return with the kernel CR3 "
                 "maps the whole kernel to user mode again. Without PTI, CR3 must be the value it had at the "
                 "SYSCALL (the entry code does not switch it). PTI and PCID are boot-time features: the query "
                 "leaves them free, so one answer covers PTI on and off, PCID on and off, in every variant.",
         "help": "Keep SWITCH_TO_USER_CR3_STACK / SWITCH_TO_USER_CR3_NOSTACK on every SYSRET path after the "
                 "last access to the kernel stack, with `orq $(PTI_USER_PGTABLE_MASK)` and, under PCID, "
                 "`orq $(PTI_USER_PCID_MASK)`. See docs/CATALOGUE.md#user-cr3."}),
    Obligation(
        "no-kernel-data", "every GPR but RSP/RCX/R11 holds its saved user value or zero", no_kernel_data,
        {"cves": ["CVE-2009-2910"], "severity": "6.5",
         "short": "No kernel value left in a general register at SYSRET",
         "full": "Every general register other than RSP (user-rsp), RCX and R11 (rcx-is-rip, r11-is-rflags, "
                 "compat-landing-pad) must hold at SYSRET its saved pt_regs value, zero, or the value the user "
                 "itself had in it at the SYSCALL (4.14's fast path returned RBX/RBP/R12-R15 as the ABI preserved "
                 "them, never saving them); anything else may be "
                 "kernel data handed to user mode (pointers that defeat KASLR, stack contents). CVE-2009-2910: "
                 "the 32-bit syscall path returned with the upper halves of R8-R11 holding kernel values, "
                 "readable by a compat task that far-jumps to 64-bit code (\"x86: Don't leak 64-bit kernel "
                 "register values to 32-bit processes\"). At the compat sysretl R12-R15 are zero (cleared by "
                 "PUSH_AND_CLEAR_REGS at entry, callee-saved since) and R8-R10 are zeroed (6.1 and 6.12 "
                 "entry_64_compat.S); at the -ENOSYS stubs the saved value is the register at the SYSCALL and "
                 "RAX may also be an errno (-4095..-1), the stub's answer.",
         "help": "Restore every register from pt_regs on the way out (POP_REGS), or zero it (the compat path's "
                 "`xorl %r8d,%r8d` ...). The message names the register, its value and what it was computed "
                 "from. See docs/CATALOGUE.md#no-kernel-data."}),
    Obligation(
        "rflags-if-iopl", "R11 has IF (bit 9) set and IOPL (bits 12-13) zero", rflags_if_iopl,
        {"cves": [], "severity": "8.4",
         "short": "R11 has IF set and IOPL 0 at SYSRET",
         "full": "SYSRET(L) loads RFLAGS from R11 (R11 & 0x3C7FD7 | 2): IF and IOPL come from whatever R11 holds "
                 "(Intel SDM SYSRET, on Intel and AMD alike). User mode cannot change either itself (POPF at CPL 3 "
                 "with IOPL 0 leaves them as they are), so the kernel decides them at every return. IOPL 3 hands "
                 "user mode cli/sti/in/out: the I/O ports of every device and the power to keep interrupts off, a "
                 "privilege escalation (Linux 5.5+ emulates iopl(3) with the I/O bitmap and never sets IOPL: "
                 "arch/x86/kernel/ioport.c). IF clear leaves the CPU to that task with no timer interrupt, "
                 "a lock-up. The 64-bit SYSCALL saves the user's RFLAGS and returns them; the SYSENTER entry "
                 "saves the flags after SYSENTER cleared IF and must set it in pt_regs->flags again "
                 "(do_SYSENTER_32: `regs->flags |= X86_EFLAGS_IF`).",
         "help": "Return by SYSRET only with R11 = pt_regs->flags as the entry saved it and ptrace/sigreturn "
                 "changed it (FLAG_MASK, FIX_EFLAGS: neither holds IF or IOPL); keep do_SYSENTER_32's "
                 "`regs->flags |= X86_EFLAGS_IF`. See docs/CATALOGUE.md#rflags-if-iopl."}),
)
EXIT_OBLIGATION_IDS = tuple(o.id for o in EXIT_OBLIGATIONS)

# what each SYSRET width must satisfy: the 64-bit six at sysretq; at sysretl
# the selectors and return EIP of the compat ABI, and the flags rules, which
# SYSRETL applies exactly as SYSRETQ does (RFLAGS := R11 & 0x3C7FD7 | 2).
# canonical-rip has no meaning there (EIP is zero-extended ECX).
# ts-compat-clear applies at both: arch_exit_to_user_mode_prepare
# (arch/x86/include/asm/entry-common.h, 6.1 and 6.12) clears TS_COMPAT on
# every return to user mode, because a 32-bit task that leaves with it set
# and far-jumps to 64-bit code makes its next 64-bit syscall look like a
# compat one (in_compat_syscall(): seccomp's AUDIT_ARCH_I386, compat argument
# layouts); review 46's adv_r46_compat_ts_fastpath returned by sysretl with it set.
# The exit families (EXIT_OBLIGATIONS) apply at both widths.
SITE_OBLIGATIONS = {
    "sysretq": OBLIGATION_IDS + EXIT_OBLIGATION_IDS,
    "sysretl": ("compat-user-cs", "compat-landing-pad", "r11-is-rflags", "rflags-no-rf-tf",
                "ts-compat-clear") + EXIT_OBLIGATION_IDS,
}
# the sysretq set first (a prefix), then the compat-only ones
ALL_OBLIGATIONS = OBLIGATIONS + EXIT_OBLIGATIONS + COMPAT_OBLIGATIONS
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
