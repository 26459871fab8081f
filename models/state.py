"""The abstract task state: a frozen dataclass of z3 terms.

Only what decides SYSRET vs IRET, or what the user sees after it, is kept:
the SYSRET-relevant `pt_regs` slots (ip, cx, r11, flags, cs, ss, sp), the
`thread_info.status` word (TS_COMPAT), the design's force-IRET flag, whether
a tracer is attached and at which kind of ptrace stop the task sits.

Constants come from shared/FACTS.md (arch/x86/include/asm/segment.h,
processor-flags.h, page_64_types.h, ptrace.c, signal.c); the architectural
ones (TF, RF, the SYSRET RFLAGS mask) are imported from verify.obligations so
that the models and the binary verifier share one definition.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import z3

from verify.obligations import EFLAGS_IF, EFLAGS_RF, EFLAGS_TF, SYSRET_RFLAGS_MASK

# --- Linux constants (x86-64) ---------------------------------------------------
USER_CS = 0x33      # __USER_CS: SYSRET hard-codes (STAR[63:48]+16)|3
USER_DS = 0x2B      # __USER_DS: (STAR[63:48]+8)|3
USER32_CS = 0x23    # __USER32_CS: what exec of a 32-bit binary installs
TS_COMPAT = 0x2     # thread_info.status: "32-bit syscall active"
TASK_SIZE_MAX = (1 << 47) - 4096   # top user page never mapped (page_64_types.h)
USER_VA_END = 1 << 47              # end of the lower canonical half (4-level)
VM_MAXUSER_ADDRESS = 1 << 47       # FreeBSD amd64 (LA48), vmparam.h

EFLAGS_DF = 0x400
# Bits a CPL-3, IOPL-0 program can change with POPF: CF PF AF ZF SF TF DF OF NT
# AC ID.  IF and bit 1 are always set in user mode; RF cannot be set by user
# code at SYSCALL time (SDM Vol. 3A 18.3.1.1: RF is cleared after every
# successfully completed instruction).
USER_WRITABLE_FLAGS = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4000 | 0x40000 | 0x200000
USER_FIXED_FLAGS = EFLAGS_IF | 0x2
# ptrace putreg(flags) (FLAG_MASK in arch/x86/kernel/ptrace.c) and
# restore_sigcontext (FIX_EFLAGS in signal.c) copy exactly these bits from the
# writer's value: CF PF AF ZF SF TF DF OF RF AC.  Note RF and TF are included.
WRITER_FLAG_MASK = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | EFLAGS_TF | EFLAGS_DF | 0x800 | EFLAGS_RF | 0x40000
# A saved flags word never holds bits outside these (VM, reserved, bits 22+):
VALID_FLAGS = SYSRET_RFLAGS_MASK | EFLAGS_RF

# ptrace stop kinds (bit-vector encoding of `stopped`).
STOP_NONE, STOP_SIGNAL, STOP_SYSCALL_ENTRY, STOP_SYSCALL_EXIT, STOP_PTRACE_EVENT = range(5)
STOP_NAMES = {STOP_NONE: "running", STOP_SIGNAL: "signal-delivery stop",
              STOP_SYSCALL_ENTRY: "syscall-entry stop", STOP_SYSCALL_EXIT: "syscall-exit stop",
              STOP_PTRACE_EVENT: "ptrace-event stop (fork/clone/exec event)"}
# --stops vocabulary -> stop codes
STOP_KINDS = {"signal": (STOP_SIGNAL,), "syscall": (STOP_SYSCALL_ENTRY, STOP_SYSCALL_EXIT),
              "ptrace-event": (STOP_PTRACE_EVENT,)}

W = 64


def bv(name: str, width: int = W) -> z3.BitVecRef:
    return z3.BitVec(name, width)


def const(v: int, width: int = W) -> z3.BitVecRef:
    return z3.BitVecVal(v, width)


# The pt_regs slots the models track, in report order.
REGS = ("ip", "cx", "r11", "flags", "cs", "ss", "sp")


@dataclass(frozen=True)
class TaskState:
    """One task, as the syscall exit path sees it.

    in_kernel: the task is inside a syscall (between entry and the return).
    compat:    that syscall entered through `int $0x80` (always returns by IRET).
    ip..sp:    the saved user registers in pt_regs.
    status:    thread_info.status (32 bits).
    flag:      the design's force-IRET flag (TIF_NOTIFY_RESUME / PCB_FULL_IRET).
    traced:    a tracer is attached.
    stopped:   the ptrace stop the task sits in (STOP_*), STOP_NONE if running.
    """

    in_kernel: z3.BoolRef
    compat: z3.BoolRef
    ip: z3.BitVecRef
    cx: z3.BitVecRef
    r11: z3.BitVecRef
    flags: z3.BitVecRef
    cs: z3.BitVecRef
    ss: z3.BitVecRef
    sp: z3.BitVecRef
    status: z3.BitVecRef
    flag: z3.BoolRef
    traced: z3.BoolRef
    stopped: z3.BitVecRef

    @staticmethod
    def fresh(prefix: str) -> "TaskState":
        return TaskState(
            in_kernel=z3.Bool(f"{prefix}in_kernel"), compat=z3.Bool(f"{prefix}compat"),
            ip=bv(f"{prefix}ip"), cx=bv(f"{prefix}cx"), r11=bv(f"{prefix}r11"),
            flags=bv(f"{prefix}flags"), cs=bv(f"{prefix}cs"), ss=bv(f"{prefix}ss"),
            sp=bv(f"{prefix}sp"), status=bv(f"{prefix}status", 32), flag=z3.Bool(f"{prefix}flag"),
            traced=z3.Bool(f"{prefix}traced"), stopped=bv(f"{prefix}stopped", 3))

    def set(self, **kw) -> "TaskState":
        return replace(self, **kw)


FIELDS = tuple(f.name for f in fields(TaskState))
# Everything but the design's own flag: what two designs running the same
# events must agree on (the product machine's "frames agree" invariant).
SHARED_FIELDS = tuple(f for f in FIELDS if f != "flag")


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
