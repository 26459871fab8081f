"""The events: each a pure `step(design, old, inputs) -> (guard, new)`.

`inputs` hands out fresh symbolic values by name (models.state.Inputs), so
every value a user, tracer or signal handler could choose is left to the
solver.  The design enters only where it decides whether a writer sets the
force-IRET flag; the pt_regs effects are the kernel's and the same in every
design.  Order of events inside one syscall is not constrained beyond what
each guard says: an over-approximation, so proofs cover the real orders;
every counterexample below was checked to be a realisable order.
"""
from __future__ import annotations

import z3

from verify.obligations import EFLAGS_IF, EFLAGS_RF, EFLAGS_TF

from .designs import Design
from .state import (EFLAGS_DF, STOP_NONE, STOP_PTRACE_EVENT, TASK_SIZE_MAX, TS_COMPAT, USER32_CS,
                    USER_CS, USER_DS, USER_FIXED_FLAGS, USER_VA_END, USER_WRITABLE_FLAGS,
                    WRITER_FLAG_MASK, Inputs, TaskState, const)

T, F = z3.BoolVal(True), z3.BoolVal(False)


def _flag(d: Design, s: TaskState, site: str) -> z3.BoolRef:
    return z3.Or(s.flag, z3.BoolVal(d.sets_flag(site)))


def _user_code_end(d: Design) -> int:
    # With the top-page guard the last page below the canonical boundary is
    # never mapped (TASK_SIZE_MAX, page_64_types.h), so a 2-byte SYSCALL ends
    # at or below TASK_SIZE_MAX and RCX = its end stays canonical.  Without
    # it, user code may sit in the last bytes below 1<<47 (sysret_rip.c).
    return TASK_SIZE_MAX if d.top_page_guard else USER_VA_END


def syscall(d: Design, s: TaskState, i: Inputs):
    """64-bit SYSCALL from user code at `uip` (any address the address space
    allows: user code can jump anywhere mapped).  The CPU sets RCX := next
    RIP, R11 := RFLAGS (SDM Vol. 2B, SYSCALL); entry_SYSCALL_64 saves RCX in
    both the ip and cx slots and R11 in both the flags and r11 slots, and
    fixed __USER_CS/__USER_DS.  The user's own RFLAGS may have TF set (POPF)."""
    uip, uflags, usp = i.bv("uip"), i.bv("uflags"), i.bv("usp")
    end = _user_code_end(d)
    guard = z3.And(z3.Not(s.in_kernel), z3.ULE(uip, const(end - 2)))
    nip = uip + 2
    fl = (uflags & USER_WRITABLE_FLAGS) | USER_FIXED_FLAGS
    flag = z3.Or(s.flag, z3.And(z3.BoolVal(d.sets_flag("entry-tf")), (fl & EFLAGS_TF) != 0))
    new = s.set(in_kernel=T, compat=F, ip=nip, cx=nip, r11=fl, flags=fl, cs=const(USER_CS),
                ss=const(USER_DS), sp=usp, stopped=const(STOP_NONE, 3), flag=flag)
    return guard, new


def compat_syscall(d: Design, s: TaskState, i: Inputs):
    """`int $0x80` from a 64-bit task: a compat syscall.  Sets TS_COMPAT
    (do_int80_syscall_32); RCX/R11 are not clobbered by INT, so the user's
    values are saved; the return is always by IRET (entry_INT80_compat)."""
    uip, uflags, usp = i.bv("uip"), i.bv("uflags"), i.bv("usp")
    ucx, ur11 = i.bv("ucx"), i.bv("ur11")
    guard = z3.And(z3.Not(s.in_kernel), z3.ULE(uip, const(_user_code_end(d) - 2)))
    fl = (uflags & USER_WRITABLE_FLAGS) | USER_FIXED_FLAGS
    new = s.set(in_kernel=T, compat=T, ip=uip + 2, cx=ucx, r11=ur11, flags=fl, cs=const(USER_CS),
                ss=const(USER_DS), sp=usp, status=s.status | TS_COMPAT, stopped=const(STOP_NONE, 3))
    return guard, new


def stop(d: Design, s: TaskState, i: Inputs):
    """A traced task enters a ptrace stop of kind `kind` (signal-delivery,
    syscall-entry/exit, or a ptrace_event() stop such as PTRACE_EVENT_FORK
    inside the fork/clone/exec syscall body).  Nothing in pt_regs changes."""
    kind = i.bv("kind", 3)
    guard = z3.And(s.in_kernel, s.traced, s.stopped == STOP_NONE,
                   z3.UGE(kind, 1), z3.ULE(kind, STOP_PTRACE_EVENT))
    return guard, s.set(stopped=kind)


def ptrace(d: Design, s: TaskState, i: Inputs):
    """The tracer writes registers of the stopped task (PTRACE_SETREGS /
    POKEUSER / SETREGSET), any values: putreg() takes ip, cx, r11, sp as
    given, masks flags with FLAG_MASK (which includes TF and RF) and refuses
    cs/ss without RPL 3 (-EIO), keeping 16 bits."""
    v = {r: i.bv("w_" + r) for r in ("ip", "cx", "r11", "flags", "cs", "ss", "sp")}
    guard = z3.And(s.stopped != STOP_NONE, (v["cs"] & 3) == 3, (v["ss"] & 3) == 3)
    flags = (v["flags"] & WRITER_FLAG_MASK) | (s.flags & ~WRITER_FLAG_MASK)
    new = s.set(ip=v["ip"], cx=v["cx"], r11=v["r11"], flags=flags, cs=v["cs"] & 0xFFFF,
                ss=v["ss"] & 0xFFFF, sp=v["sp"], flag=z3.Or(s.flag, d.ptrace_flag(s.stopped)))
    return guard, new


def sigreturn(d: Design, s: TaskState, i: Inputs):
    """rt_sigreturn: every register from the user's signal frame
    (restore_sigcontext): flags masked with FIX_EFLAGS (includes TF, RF),
    cs and ss forced to RPL 3."""
    v = {r: i.bv("sc_" + r) for r in ("ip", "cx", "r11", "flags", "cs", "ss", "sp")}
    flags = (v["flags"] & WRITER_FLAG_MASK) | (s.flags & ~WRITER_FLAG_MASK)
    new = s.set(ip=v["ip"], cx=v["cx"], r11=v["r11"], flags=flags, cs=(v["cs"] & 0xFFFF) | 3,
                ss=(v["ss"] & 0xFFFF) | 3, sp=v["sp"], stopped=const(STOP_NONE, 3),
                flag=_flag(d, s, "sigreturn"))
    return z3.And(s.in_kernel, z3.Not(s.compat)), new


def exec_(d: Design, s: TaskState, i: Inputs):
    """execve: load_elf_binary rejects e_entry >= TASK_SIZE (BAD_ADDR);
    ELF_PLAT_INIT zeroes the general registers, cx and r11 included;
    start_thread_common sets ip, sp, cs, ss and flags = X86_EFLAGS_IF.  A
    32-bit binary gets __USER32_CS and TS_COMPAT (set_personality_ia32)."""
    entry, usp, is32 = i.bv("entry"), i.bv("esp"), i.bool("is32")
    guard = z3.And(s.in_kernel, z3.ULT(entry, const(TASK_SIZE_MAX)))
    new = s.set(ip=entry, sp=usp, cx=const(0), r11=const(0), flags=const(EFLAGS_IF),
                cs=z3.If(is32, const(USER32_CS), const(USER_CS)), ss=const(USER_DS),
                status=z3.If(is32, s.status | TS_COMPAT, s.status), stopped=const(STOP_NONE, 3),
                flag=_flag(d, s, "exec"))
    return guard, new


def signal(d: Design, s: TaskState, i: Inputs):
    """Signal delivery (setup_rt_frame): ip := the handler the user registered
    (sigaction does not validate it: any 64-bit value), sp := the frame,
    flags &= ~(TF|DF|RF), cs := __USER_CS, ss := __USER_DS; cx untouched."""
    handler, fsp = i.bv("handler"), i.bv("frame_sp")
    new = s.set(ip=handler, sp=fsp, flags=s.flags & ~(EFLAGS_TF | EFLAGS_DF | EFLAGS_RF),
                cs=const(USER_CS), ss=const(USER_DS), stopped=const(STOP_NONE, 3),
                flag=_flag(d, s, "signal"))
    return s.in_kernel, new


def restart(d: Design, s: TaskState, i: Inputs):
    """Syscall restart (-ERESTARTSYS etc., handle_signal / arch_do_signal_or_restart):
    ip -= 2 so the SYSCALL instruction runs again; cx still holds the old ip."""
    return s.in_kernel, s.set(ip=s.ip - 2, flag=_flag(d, s, "restart"))


def singlestep(d: Design, s: TaskState, i: Inputs):
    """PTRACE_SINGLESTEP resumes a stopped task with TF set in pt_regs->flags
    (user_enable_single_step, TIF_SINGLESTEP)."""
    guard = s.stopped != STOP_NONE
    return guard, s.set(flags=s.flags | EFLAGS_TF, stopped=const(STOP_NONE, 3),
                        flag=_flag(d, s, "singlestep"))


def uprobe(d: Design, s: TaskState, i: Inputs):
    """Uprobes rewrite ip and sp and may set TF (single-stepping the
    out-of-line copy).  The 6.11+ uretprobe syscall (`uret`) restores ip to
    the hijacked return address -- read from the user stack at function
    entry, so any value -- and sets cx = ip, r11 = flags *on purpose* so that
    the exit may use SYSRET, relying on the exit checks."""
    ip, sp, tf, uret = i.bv("probe_ip"), i.bv("probe_sp"), i.bool("probe_tf"), i.bool("uret")
    flags = z3.If(tf, s.flags | EFLAGS_TF, s.flags)
    new = s.set(ip=ip, sp=sp, flags=flags, cx=z3.If(uret, ip, s.cx), r11=z3.If(uret, flags, s.r11),
                stopped=const(STOP_NONE, 3), flag=_flag(d, s, "uprobe"))
    return z3.And(s.in_kernel, z3.BoolVal(d.has_uprobes())), new


def exit_(d: Design, s: TaskState, i: Inputs):
    """Return to user mode by the design's rule (Design.exit).  The tracer,
    if the task was stopped, has resumed it.  TS_COMPAT is cleared, the
    flag is consumed."""
    new = s.set(in_kernel=F, compat=F, status=s.status & ~TS_COMPAT, flag=F,
                stopped=const(STOP_NONE, 3))
    return s.in_kernel, new


# Order fixes the selector encoding; `exit` is last.
EVENTS = (("syscall", syscall), ("compat-syscall", compat_syscall), ("stop", stop),
          ("ptrace", ptrace), ("sigreturn", sigreturn), ("exec", exec_), ("signal", signal),
          ("restart", restart), ("singlestep", singlestep), ("uprobe", uprobe), ("exit", exit_))
EVENT_NAMES = tuple(n for n, _ in EVENTS)
EXIT = EVENT_NAMES.index("exit")
