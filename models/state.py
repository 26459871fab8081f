"""The abstract task state (a frozen dataclass of z3 terms) and the constants.

Only what decides SYSRET vs IRET, or what the user sees after it, is kept:
the SYSRET-relevant `pt_regs` slots (ip, cx, r11, flags, cs, ss, sp), the
`thread_info.status` word (TS_COMPAT), the design's force-IRET flag, the
ptrace stop the task sits in, and where the task is on its way through a
syscall (`phase`): user mode, the syscall body, or the exit-work loop.

Constants: shared/FACTS.md (arch/x86/include/asm/segment.h,
processor-flags.h, page_64_types.h) and the sources cited where used.  The
architectural ones (TF, IF, RF, the SYSRET RFLAGS mask) come from
verify.obligations so that the models and the binary verifier share them.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import z3

from verify.obligations import EFLAGS_IF, EFLAGS_RF, EFLAGS_TF, SYSRET_RFLAGS_MASK

# --- Linux constants (x86-64) ---------------------------------------------------
USER_CS = 0x33      # __USER_CS: SYSRET hard-codes (STAR[63:48]+16)|3
USER_DS = 0x2B      # __USER_DS: (STAR[63:48]+8)|3, also SYSRETL's SS
USER32_CS = 0x23    # __USER32_CS: SYSRETL's CS (STAR[63:48]|3), exec of a 32-bit binary
TS_COMPAT = 0x2     # thread_info.status: "32-bit syscall active"
# GDT TLS slots (GDT_ENTRY_TLS_MIN 12 .. 14 on x86-64, asm/segment.h): their
# descriptors are the user's (set_thread_area), like every LDT entry.
TLS_SELECTORS = (12 * 8 + 3, 13 * 8 + 3, 14 * 8 + 3)
IA32_PAGE_OFFSET = 0xFFFFE000  # TASK_SIZE of a 32-bit task (asm/page_64_types.h)

# FreeBSD amd64 (sys/amd64/include/segments.h: GUCODE32_SEL 6, GUDATA_SEL 7,
# GUCODE_SEL 8; _ucodesel = GSEL(GUCODE_SEL, SEL_UPL)).  Assumed from the
# header's slot numbers, not read from a built kernel.
FB_UCODE = 0x43
FB_UDATA = 0x3B
FB_UCODE32 = 0x33

EFLAGS_DF = 0x400
EFLAGS_NT = 0x4000
EFLAGS_AC = 0x40000
EFLAGS_VM = 0x20000
EFLAGS_IOPL = 0x3000
EFLAGS_FIXED = 0x2
# Bits a CPL-3, IOPL-0 program changes with POPF: CF PF AF ZF SF TF DF OF NT
# AC ID (SDM Vol. 1 3.4.3; IF and IOPL are silently kept at CPL 3 / IOPL 0).
# RF cannot be set by user code at SYSCALL time (SDM Vol. 3A 18.3.1.1: RF is
# cleared after every successfully completed instruction).
USER_WRITABLE_FLAGS = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | EFLAGS_NT | EFLAGS_AC | 0x200000
USER_FIXED_FLAGS = EFLAGS_IF | EFLAGS_FIXED
# arch/x86/kernel/ptrace.c FLAG_MASK_32 (lines 158-163, 6.12): CF PF AF ZF SF
# TF DF OF RF AC; on x86-64 FLAG_MASK = FLAG_MASK_32 | NT (line 241).
FLAG_MASK_32 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | EFLAGS_TF | EFLAGS_DF | 0x800 | EFLAGS_RF | EFLAGS_AC
PTRACE_FLAG_MASK = FLAG_MASK_32 | EFLAGS_NT
# arch/x86/include/asm/sighandling.h FIX_EFLAGS (lines 11-14, 6.12): the
# same ten bits as FLAG_MASK_32 (no NT, IF or IOPL).
FIX_EFLAGS = FLAG_MASK_32
# FreeBSD PSL_USERCHANGE (sys/x86/include/psl.h): C PF AF Z N T D V NT AC ID.
FB_PSL_USERCHANGE = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | EFLAGS_TF | EFLAGS_DF | 0x800 | EFLAGS_NT | EFLAGS_AC | 0x200000
# A saved flags word never holds VM, IOPL, reserved bits or bits 22+, and
# always holds IF and bit 1 (invariants.flags_valid).
VALID_FLAGS = (SYSRET_RFLAGS_MASK | EFLAGS_RF) & ~EFLAGS_IOPL

# phases of one task
USER, BODY, EXITWORK = 0, 1, 2
PHASE_NAMES = {USER: "user mode", BODY: "syscall body", EXITWORK: "exit-work loop"}
# how the task entered the kernel
ENTRY_SYSCALL64, ENTRY_INT80, ENTRY_FAST32 = 0, 1, 2
ENTRY_NAMES = {ENTRY_SYSCALL64: "SYSCALL", ENTRY_INT80: "int $0x80",
               ENTRY_FAST32: "SYSENTER/32-bit SYSCALL"}

# ptrace stop kinds (bit-vector encoding of `stopped`).
STOP_NONE, STOP_SIGNAL, STOP_SYSCALL_ENTRY, STOP_SYSCALL_EXIT, STOP_PTRACE_EVENT = range(5)
STOP_NAMES = {STOP_NONE: "running", STOP_SIGNAL: "signal-delivery stop",
              STOP_SYSCALL_ENTRY: "syscall-entry stop", STOP_SYSCALL_EXIT: "syscall-exit stop",
              STOP_PTRACE_EVENT: "ptrace-event stop (fork/clone/exec event)"}
STOP_KINDS = {"signal": (STOP_SIGNAL,), "syscall": (STOP_SYSCALL_ENTRY, STOP_SYSCALL_EXIT),
              "ptrace-event": (STOP_PTRACE_EVENT,)}

W = 64


def task_size_max(la57: bool) -> int:
    """TASK_SIZE_MAX (asm/page_64_types.h): the top user page is never mapped."""
    return (1 << (56 if la57 else 47)) - 4096


def user_va_end(la57: bool) -> int:
    """End of the lower canonical half."""
    return 1 << (56 if la57 else 47)


def bv(name: str, width: int = W) -> z3.BitVecRef:
    return z3.BitVec(name, width)


def const(v: int, width: int = W) -> z3.BitVecRef:
    return z3.BitVecVal(v, width)


# The pt_regs slots the models track, in report order.
REGS = ("ip", "cx", "r11", "flags", "cs", "ss", "sp")


@dataclass(frozen=True)
class TaskState:
    """One task, as the syscall exit path sees it.

    phase:    USER, BODY (inside the syscall) or EXITWORK (in the exit-work
              loop: signals, rseq, the signal-delivery ptrace stop).
    entry:    how the current syscall entered (ENTRY_*).
    ip..sp:   the saved user registers in pt_regs (FreeBSD: the trapframe).
    status:   thread_info.status (32 bits).
    flag:     the design's force-IRET flag (TIF_NOTIFY_RESUME / PCB_FULL_IRET).
    latched:  the flag as tested before the exit-work loop (designs whose
              test sits before the loop use this, not `flag`).
    traced:   a tracer is attached.
    stopped:  the ptrace stop the task sits in (STOP_*), STOP_NONE if running.
    sigtrap:  FreeBSD: a SIGTRAP posted by the "traced syscall" rule, still
              to be delivered (the AST runs before the return).
    pad:      the compat vDSO landing pad of this mm (fixed per task).
    """

    phase: z3.BitVecRef
    entry: z3.BitVecRef
    ip: z3.BitVecRef
    cx: z3.BitVecRef
    r11: z3.BitVecRef
    flags: z3.BitVecRef
    cs: z3.BitVecRef
    ss: z3.BitVecRef
    sp: z3.BitVecRef
    status: z3.BitVecRef
    flag: z3.BoolRef
    latched: z3.BoolRef
    traced: z3.BoolRef
    stopped: z3.BitVecRef
    sigtrap: z3.BoolRef
    pad: z3.BitVecRef

    @staticmethod
    def fresh(prefix: str) -> "TaskState":
        return TaskState(
            phase=bv(f"{prefix}phase", 2), entry=bv(f"{prefix}entry", 2),
            ip=bv(f"{prefix}ip"), cx=bv(f"{prefix}cx"), r11=bv(f"{prefix}r11"),
            flags=bv(f"{prefix}flags"), cs=bv(f"{prefix}cs"), ss=bv(f"{prefix}ss"),
            sp=bv(f"{prefix}sp"), status=bv(f"{prefix}status", 32), flag=z3.Bool(f"{prefix}flag"),
            latched=z3.Bool(f"{prefix}latched"), traced=z3.Bool(f"{prefix}traced"),
            stopped=bv(f"{prefix}stopped", 3), sigtrap=z3.Bool(f"{prefix}sigtrap"),
            pad=bv(f"{prefix}pad"))

    def set(self, **kw) -> "TaskState":
        return replace(self, **kw)

    @property
    def in_kernel(self) -> z3.BoolRef:
        return self.phase != USER


FIELDS = tuple(f.name for f in fields(TaskState))
WIDTHS = {"phase": 2, "entry": 2, "status": 32, "stopped": 3}
# What two designs running the same events must agree on (the product
# machine's "frames agree" invariant): everything but the design's own flag,
# its latch and thread_info.status (a design may or may not clear TS_COMPAT).
SHARED_FIELDS = tuple(f for f in FIELDS if f not in ("flag", "latched", "status"))


def state_eq(a: TaskState, b: TaskState, names=FIELDS) -> z3.BoolRef:
    return z3.And(*(getattr(a, n) == getattr(b, n) for n in names))


class Inputs:
    """The symbolic inputs of one step, created on demand by name.  Two
    machines stepping with the same Inputs object see the same values: that
    is what makes the product machine run both designs on one history."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.vars: dict[str, z3.ExprRef] = {}

    def bv(self, name: str, width: int = W) -> z3.BitVecRef:
        if name not in self.vars:
            self.vars[name] = z3.BitVec(f"{self.prefix}{name}", width)
        return self.vars[name]

    def bool(self, name: str) -> z3.BoolRef:
        if name not in self.vars:
            self.vars[name] = z3.Bool(f"{self.prefix}{name}")
        return self.vars[name]
