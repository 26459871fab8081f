"""The events: each a pure `step(design, old, inputs) -> (guard, new)`.

Every event is modelled from the source it cites (`Src`: file, function,
lines, the kernel versions the lines were read in).  The citations are data
(`Event.sources`), so `model table` prints them next to the rows whose
answers rest on them.

The guards depend on the task state and on the environment the design runs
in (OS, paging mode, top-page guard), never on the design's flag rule: in
the product machine of an equivalence proof the reference design therefore
cannot make a state of the design unreachable.  The design only decides how
each writer changes its force-IRET flag (Design.after_write).

`inputs` hands out fresh symbolic values by name (models.state.Inputs), so
every value a user, tracer, signal handler or uprobe consumer could choose is
left to the solver.  Event order inside one phase is constrained only by the
guards: an over-approximation (proofs cover every real order); every
counterexample in models/README.md was checked to be a realisable order.

Linux sources: the Debian linux-source-6.12 tree (6.12.117), read for this
model, and linux-source-6.1 (6.1.192), whose line numbers follow "6.1:" in
each citation; sys_uprobe (6.18+) from torvalds/linux.  FreeBSD sources:
freebsd/freebsd-src (sys/amd64), read through the code index; where no line
numbers are given below, the stored copy had none to quote reliably.
"""
from __future__ import annotations

from dataclasses import dataclass

import z3

from verify.obligations import EFLAGS_IF, EFLAGS_RF, EFLAGS_TF

from .state import (BODY, EFLAGS_DF, EFLAGS_FIXED, ENTRY_FAST32, ENTRY_INT80, ENTRY_SYSCALL64, EXITWORK,
                    FB_PSL_USERCHANGE, FB_UCODE, FB_UDATA, FIX_EFLAGS, IA32_PAGE_OFFSET,
                    PTRACE_FLAG_MASK, STOP_NONE, STOP_PTRACE_EVENT, STOP_SIGNAL, STOP_SYSCALL_ENTRY,
                    STOP_SYSCALL_EXIT, TS_COMPAT, USER, USER32_CS, USER_CS, USER_DS,
                    USER_FIXED_FLAGS, USER_WRITABLE_FLAGS, Inputs, TaskState, const, task_size_max,
                    user_va_end)

T, F = z3.BoolVal(True), z3.BoolVal(False)


@dataclass(frozen=True)
class Src:
    file: str
    function: str
    lines: str
    versions: str
    what: str

    def __str__(self) -> str:
        at = f" lines {self.lines}" if self.lines else ""
        return f"{self.file} {self.function}(){at} [{self.versions}]: {self.what}"


@dataclass(frozen=True)
class Event:
    name: str
    step: object
    sources: tuple
    site: str = ""      # the flag-site name a design may attach to this writer


L612 = "Linux 6.12 (read)"


def _stopped_none():
    return const(STOP_NONE, 3)


def _code_end(d, s) -> int:
    # With the top-page guard the last page below the canonical boundary is
    # never mapped (TASK_SIZE_MAX, page_64_types.h), so a 2-byte SYSCALL ends
    # at or below TASK_SIZE_MAX and RCX = its end stays canonical.  Without
    # it, user code may sit in the last bytes below the boundary (sysret_rip.c).
    return task_size_max(d.la57) if d.top_page_guard else user_va_end(d.la57)


def _valid_user_data_sel(ss):
    from .cpu import user_table_selector
    return z3.Or(ss == USER_DS, user_table_selector(ss))


# ===================================================================== Linux =====
def syscall(d, s: TaskState, i: Inputs):
    """64-bit SYSCALL from user code at `uip`.  The CPU sets RCX := next RIP,
    R11 := RFLAGS (SDM Vol. 2B, SYSCALL); entry_SYSCALL_64 pushes __USER_DS,
    R11 (flags), __USER_CS, RCX (ip) and later RCX/R11 again into the cx/r11
    slots.  The user's own RFLAGS may have TF, NT or AC set (POPF)."""
    uip, uflags, usp = i.bv("uip"), i.bv("uflags"), i.bv("usp")
    guard = z3.And(s.phase == USER, z3.ULE(uip, const(_code_end(d, s) - 2)))
    nip = uip + 2
    fl = (uflags & USER_WRITABLE_FLAGS) | USER_FIXED_FLAGS
    new = s.set(phase=const(BODY, 2), entry=const(ENTRY_SYSCALL64, 2), ip=nip, cx=nip, r11=fl,
                flags=fl, cs=const(USER_CS), ss=const(USER_DS), sp=usp, stopped=_stopped_none(),
                flag=F, latched=F, sigtrap=F)
    return guard, new.set(flag=d.entry_flag(new))


SRC_SYSCALL = (Src("arch/x86/entry/entry_64.S", "entry_SYSCALL_64", "87-121", L612 + "; 6.1: same lines 87-121",
                   "pushes __USER_DS, %r11 (flags), __USER_CS, %rcx (ip); calls do_syscall_64"),)


def int80(d, s: TaskState, i: Inputs):
    """`int $0x80` (from 64- or 32-bit code): a compat syscall.  INT does not
    clobber RCX/R11, so the user's values are saved; TS_COMPAT is set; the
    return is always by IRET (entry_INT80_compat)."""
    uip, uflags, usp, ucx, ur11 = i.bv("uip"), i.bv("uflags"), i.bv("usp"), i.bv("ucx"), i.bv("ur11")
    from32 = i.bool("from32")
    end = z3.If(from32, const((1 << 32) - 2), const(_code_end(d, s) - 2))
    guard = z3.And(s.phase == USER, z3.ULE(uip, end))
    fl = (uflags & USER_WRITABLE_FLAGS) | USER_FIXED_FLAGS
    new = s.set(phase=const(BODY, 2), entry=const(ENTRY_INT80, 2), ip=uip + 2, cx=ucx, r11=ur11,
                flags=fl, cs=z3.If(from32, const(USER32_CS), const(USER_CS)), ss=const(USER_DS),
                sp=usp, status=s.status | TS_COMPAT, stopped=_stopped_none(), flag=F, latched=F,
                sigtrap=F)
    return guard, new.set(flag=d.entry_flag(new))


SRC_INT80 = (Src("arch/x86/entry/common.c", "do_int80_syscall_32 / syscall_32_enter", "129-132, 321-323",
                 L612 + "; 6.1: common.c 87-90, 208-210", "status |= TS_COMPAT; returns through the IRET path"),)


def fast32(d, s: TaskState, i: Inputs):
    """SYSENTER or 32-bit SYSCALL from 32-bit code, through the vDSO
    (entry_SYSENTER_compat / entry_SYSCALL_compat): cs := __USER32_CS,
    ip := the vDSO int80 landing pad (do_fast_syscall_32), TS_COMPAT set,
    SYSENTER forces IF in the saved flags (do_SYSENTER_32).  The exit is by
    SYSRETL when do_fast_syscall_32's checks pass, else IRET."""
    uflags, usp, ucx, ur11 = i.bv("uflags"), i.bv("usp"), i.bv("ucx"), i.bv("ur11")
    fl = (uflags & USER_WRITABLE_FLAGS) | USER_FIXED_FLAGS
    new = s.set(phase=const(BODY, 2), entry=const(ENTRY_FAST32, 2), ip=s.pad, cx=ucx, r11=ur11,
                flags=fl, cs=const(USER32_CS), ss=const(USER_DS), sp=usp & 0xFFFFFFFF,
                status=s.status | TS_COMPAT, stopped=_stopped_none(), flag=F, latched=F, sigtrap=F)
    return s.phase == USER, new.set(flag=d.entry_flag(new))


SRC_FAST32 = (Src("arch/x86/entry/entry_64_compat.S", "entry_SYSENTER_compat / entry_SYSCALL_compat",
                  "50-127, 183-218", L612 + "; 6.1: 51-74, 188-210",
                  "pushq $__USER32_CS; call do_SYSENTER_32 / do_fast_syscall_32"),
              Src("arch/x86/entry/common.c", "do_fast_syscall_32 / do_SYSENTER_32", "389-403, 436-443",
                  L612 + "; 6.1: 276-290, 328-336", "regs->ip = landing_pad; SYSENTER: regs->flags |= X86_EFLAGS_IF"))


def stop(d, s: TaskState, i: Inputs):
    """A traced task enters a ptrace stop.  In the syscall body: the
    syscall-entry stop (syscall_trace_enter), a ptrace_event() stop (fork,
    clone, exec, ...), the syscall-exit stop (syscall_exit_work, which runs
    before the exit-work loop).  In the exit-work loop: the signal-delivery
    stop (get_signal -> ptrace_signal, also after a signal frame is set up
    while single-stepping).  Nothing in pt_regs changes."""
    kind = i.bv("kind", 3)
    body_kind = z3.Or(kind == STOP_SYSCALL_ENTRY, kind == STOP_SYSCALL_EXIT, kind == STOP_PTRACE_EVENT)
    kind_ok = z3.Or(z3.And(s.phase == BODY, body_kind), z3.And(s.phase == EXITWORK, kind == STOP_SIGNAL))
    guard = z3.And(s.traced, s.stopped == STOP_NONE, kind_ok)
    return guard, s.set(stopped=kind)


SRC_STOP = (Src("kernel/entry/common.c", "syscall_exit_work", "152-176", L612 + "; 6.1: 237-266",
                "ptrace_report_syscall_exit before exit_to_user_mode_loop"),
            Src("kernel/entry/common.c", "exit_to_user_mode_loop", "100-132", L612 + "; 6.1: 156-200",
                "arch_do_signal_or_restart -> get_signal (signal-delivery stop)"))


def _sel_ok(v):
    """set_segment_reg (ptrace.c, 64-bit): cs/ss must not be 0 and, through
    invalid_selector(), must have RPL 3; 16 bits are kept."""
    v16 = v & 0xFFFF
    return v16, z3.And(v16 != 0, v16 & 3 == 3)


def poke(d, s: TaskState, i: Inputs):
    """The tracer writes registers of the stopped task: PTRACE_POKEUSER of
    one field or PTRACE_SETREGS/SETREGSET of all (genregs_set -> putreg).
    Modelled as SETREGS with every value free: writing a field's old value
    back is allowed, so each POKEUSER is covered.  putreg() stores ip, cx,
    r11, sp as given; set_flags() merges FLAG_MASK (CF PF AF ZF SF TF DF OF
    RF AC, and NT on x86-64); cs/ss go through set_segment_reg (not 0, RPL 3)."""
    v = {r: i.bv("w_" + r) for r in ("ip", "cx", "r11", "flags", "cs", "ss", "sp")}
    cs, cs_ok = _sel_ok(v["cs"])
    ss, ss_ok = _sel_ok(v["ss"])
    guard = z3.And(s.stopped != STOP_NONE, cs_ok, ss_ok)
    flags = (s.flags & ~PTRACE_FLAG_MASK) | (v["flags"] & PTRACE_FLAG_MASK)
    new = s.set(ip=v["ip"], cx=v["cx"], r11=v["r11"], flags=flags, cs=cs, ss=ss, sp=v["sp"])
    return guard, new.set(flag=d.after_write("ptrace", s, new))


SRC_POKE = (Src("arch/x86/kernel/ptrace.c", "putreg / set_flags / set_segment_reg",
                "158-175, 241, 299-335, 355-405",
                L612 + "; 6.1: 138-155, 221, 270-315, 335-385",
                "ip/cx/r11/sp any; flags via FLAG_MASK (incl. TF, RF, NT); cs/ss != 0 and RPL 3"),
            Src("arch/x86/kernel/ptrace.c", "arch_ptrace (PTRACE_POKEUSR, PTRACE_SETREGS)", "765-790",
                L612 + "; 6.1: 745-770", "one field, or all through genregs_set"))


def resume(d, s: TaskState, i: Inputs):
    """The tracer resumes the stopped task: PTRACE_CONT/SYSCALL, or
    PTRACE_SINGLESTEP, which sets TF in pt_regs->flags (enable_single_step)."""
    step = i.bool("step")
    new = s.set(flags=z3.If(step, s.flags | EFLAGS_TF, s.flags), stopped=_stopped_none())
    return s.stopped != STOP_NONE, new.set(flag=z3.If(step, d.after_write("singlestep", s, new), s.flag))


SRC_RESUME = (Src("arch/x86/kernel/step.c", "enable_single_step / user_enable_single_step",
                  "113-146, 219", L612 + "; 6.1: 111-144, 217", "regs->flags |= X86_EFLAGS_TF"),)


def sigreturn(d, s: TaskState, i: Inputs):
    """rt_sigreturn.  Through SYSCALL: restore_sigcontext (signal_64.c):
    ip, sp, cx, r11 any; cs = sc.cs | 3, ss = sc.ss | 3; flags merge
    FIX_EFLAGS (TF and RF included, not IF/IOPL/NT); without
    UC_STRICT_RESTORE_SS an invalid ss becomes __USER_DS (force_valid_ss).
    Through a compat entry: ia32_restore_sigcontext (signal_32.c): ip, sp, cx
    32-bit, cs/ss | 3, FIX_EFLAGS, r11 untouched."""
    sc = {r: i.bv("sc_" + r) for r in ("ip", "cx", "r11", "flags", "cs", "ss", "sp")}
    strict = i.bool("strict_ss")
    flags = (s.flags & ~FIX_EFLAGS) | (sc["flags"] & FIX_EFLAGS)
    cs = (sc["cs"] & 0xFFFF) | 3
    ss = (sc["ss"] & 0xFFFF) | 3
    ss64 = z3.If(z3.Or(strict, cs != USER_CS, _valid_user_data_sel(ss)), ss, const(USER_DS))
    lo = lambda x: x & 0xFFFFFFFF  # noqa: E731
    native = s.entry == ENTRY_SYSCALL64
    new = s.set(ip=z3.If(native, sc["ip"], lo(sc["ip"])), sp=z3.If(native, sc["sp"], lo(sc["sp"])),
                cx=z3.If(native, sc["cx"], lo(sc["cx"])), r11=z3.If(native, sc["r11"], s.r11),
                flags=flags, cs=cs, ss=z3.If(native, ss64, ss))
    return s.phase == BODY, new.set(flag=d.after_write("sigreturn", s, new))


SRC_SIGRETURN = (Src("arch/x86/kernel/signal_64.c", "restore_sigcontext / force_valid_ss", "28-93",
                     L612 + "; 6.1: arch/x86/kernel/signal.c 57-137",
                     "regs->cx/sp/ip/r11 = sc.*; cs/ss |= 3; flags via FIX_EFLAGS; SS fix-up"),
                 Src("arch/x86/include/asm/sighandling.h", "FIX_EFLAGS", "11-14", L612 + "; 6.1: same",
                     "AC OF DF TF SF ZF AF PF CF RF"),
                 Src("arch/x86/kernel/signal_32.c", "ia32_restore_sigcontext", "120-133",
                     L612 + "; 6.1: arch/x86/ia32/ia32_signal.c 59-90",
                     "32-bit ip/sp/cx; cs/ss |= 3"))


def exec_(d, s: TaskState, i: Inputs):
    """execve (load_elf_binary): the entry must be below TASK_SIZE of the new
    personality (BAD_ADDR); ELF_PLAT_INIT/elf_common_init zero the general
    registers, cx and r11 included; start_thread_common sets ip, sp, cs, ss
    and flags = IF | FIXED (0x202).  A 32-bit binary gets __USER32_CS
    (compat_start_thread) and TS_COMPAT (__set_personality_ia32); a 64-bit
    one clears TS_COMPAT (set_personality_64bit)."""
    entry, usp, is32 = i.bv("entry"), i.bv("esp"), i.bool("is32")
    limit = z3.If(is32, const(IA32_PAGE_OFFSET), const(task_size_max(d.la57)))
    new = s.set(ip=entry, sp=z3.If(is32, usp & 0xFFFFFFFF, usp), cx=const(0), r11=const(0),
                flags=const(EFLAGS_IF | EFLAGS_FIXED),
                cs=z3.If(is32, const(USER32_CS), const(USER_CS)), ss=const(USER_DS),
                status=z3.If(is32, s.status | TS_COMPAT, s.status & ~TS_COMPAT))
    guard = z3.And(s.phase == BODY, z3.ULT(entry, limit))
    return guard, new.set(flag=d.after_write("exec", s, new))


SRC_EXEC = (Src("fs/binfmt_elf.c", "load_elf_binary", "111, 1253-1267, 1349-1364",
                L612 + "; 6.1: 110, 1284-1298, 1386-1390",
                "BAD_ADDR(elf_entry) >= TASK_SIZE; ELF_PLAT_INIT; START_THREAD"),
            Src("arch/x86/include/asm/elf.h", "elf_common_init / ELF_PLAT_INIT", "160-177", L612 + "; 6.1: 163-177",
                "regs->cx = 0, regs->r11 = 0"),
            Src("arch/x86/kernel/process_64.c", "start_thread_common / compat_start_thread",
                "530-595", L612 + "; 6.1: 505-545", "ip, sp, cs, ss; regs->flags = X86_EFLAGS_IF | X86_EFLAGS_FIXED"),
            Src("arch/x86/kernel/process_64.c", "set_personality_64bit / __set_personality_ia32",
                "715-768", L612 + "; 6.1: 664-717", "TS_COMPAT cleared (64-bit) or set (ia32)"))


def uprobe_syscall(d, s: TaskState, i: Inputs):
    """sys_uretprobe (6.11+) and sys_uprobe (6.18+), arch/x86/kernel/uprobes.c.
    Only callable from the trampoline (regs->ip is checked, SIGILL
    otherwise), so the saved ip is the trampoline's.  r11, cx (and ax) are
    read from the user stack and the consumers run (uprobe_handle_trampoline
    / handle_syscall_uprobe), which set ip to the hijacked return address --
    read from the user stack when the return was hijacked: any value.

    Early return (a consumer changed sp, or, for sys_uretprobe, shadow stacks
    are on): ip := that address, cx/r11 := the user-stack values, sp any.
    Otherwise ("ensure sysret"): the real return address goes to the user
    stack for the trampoline's `ret`, ip := the trampoline address again,
    sp back to its value, r11 := flags, cx := ip."""
    is_uprobe, early = i.bool("sys_uprobe"), i.bool("early")
    ret, ucx, ur11, nsp = i.bv("ret_addr"), i.bv("stack_cx"), i.bv("stack_r11"), i.bv("new_sp")
    guard = z3.And(s.phase == BODY, s.entry == ENTRY_SYSCALL64,
                   z3.ULT(s.ip, const(task_size_max(d.la57))))
    new = s.set(ip=z3.If(early, ret, s.ip), cx=z3.If(early, ucx, s.ip),
                r11=z3.If(early, ur11, s.flags), sp=z3.If(early, nsp, s.sp))
    del is_uprobe  # same effect on the modelled fields; reported in the trace
    return guard, new.set(flag=d.after_write("uprobe-syscall", s, new))


SRC_UPROBE = (Src("arch/x86/kernel/uprobes.c", "SYSCALL_DEFINE0(uretprobe)", "364-428", "Linux 6.11-6.12 (read 6.12)",
                  "early return if regs->sp != sp || shstk_is_enabled() (401); else regs->ip = ip (415), "
                  "r11 = flags, cx = ip (421-423)"),
              Src("arch/x86/kernel/uprobes.c", "arch_uretprobe_hijack_return_addr", "1187-1213",
                  L612 + "; 6.1: 1066- (no uretprobe syscall in 6.1)",
                  "orig_ret_vaddr read from the user stack"),
              Src("arch/x86/kernel/uprobes.c", "SYSCALL_DEFINE0(uprobe)", "",
                  "Linux 6.18+ as far as known (torvalds/linux, posted series; release, lines not checked)",
                  "regs->ip = retaddr - 5, r11/cx from the user stack; early return if a consumer moved sp"))


def exit_work(d, s: TaskState, i: Inputs):
    """The syscall body is done: syscall_exit_to_user_mode_prepare has run
    (incl. the syscall-exit stop) and exit_to_user_mode_loop begins.  A
    design whose flag test sits before the loop decides here (`latched`)."""
    guard = z3.And(s.phase == BODY, s.stopped == STOP_NONE)
    pre = s.set(flag=d.exit_work_flag(s))
    return guard, pre.set(phase=const(EXITWORK, 2), latched=pre.flag)


SRC_EXIT_WORK = (Src("kernel/entry/common.c", "syscall_exit_to_user_mode_prepare", "183-205", L612 + "; 6.1: 268-290",
                     "rseq_syscall, syscall_exit_work, then exit_to_user_mode_prepare"),
                 Src("include/linux/entry-common.h", "exit_to_user_mode_prepare", "317-330",
                     L612 + "; 6.1: kernel/entry/common.c exit_to_user_mode_prepare 202-215",
                     "exit_to_user_mode_loop, then arch_exit_to_user_mode_prepare"))


def signal(d, s: TaskState, i: Inputs):
    """Signal delivery in the exit-work loop (arch_do_signal_or_restart ->
    handle_signal -> setup_rt_frame).  64-bit frame (x64_setup_rt_frame):
    ip := sa_handler, which sigaction never validates (any value); sp := the
    frame; cs := __USER_CS; ss kept if valid else __USER_DS; cx untouched.
    ia32 frame (SA_IA32_ABI handlers, ia32_setup_rt_frame): 32-bit handler,
    cx := &frame->uc, cs := __USER32_CS, ss := __USER_DS.  Then
    handle_signal clears DF, RF, TF."""
    handler, fsp, ia32, ucx = i.bv("handler"), i.bv("frame_sp"), i.bool("ia32"), i.bv("uc_ptr")
    flags = s.flags & ~(EFLAGS_TF | EFLAGS_DF | EFLAGS_RF)
    ss64 = z3.If(_valid_user_data_sel(s.ss), s.ss, const(USER_DS))
    new = s.set(ip=z3.If(ia32, handler & 0xFFFFFFFF, handler), sp=z3.If(ia32, fsp & 0xFFFFFFFF, fsp),
                cx=z3.If(ia32, ucx & 0xFFFFFFFF, s.cx), flags=flags,
                cs=z3.If(ia32, const(USER32_CS), const(USER_CS)), ss=z3.If(ia32, const(USER_DS), ss64))
    guard = z3.And(s.phase == EXITWORK, s.stopped == STOP_NONE)
    return guard, new.set(flag=d.after_write("signal", s, new))


SRC_SIGNAL = (Src("arch/x86/kernel/signal_64.c", "x64_setup_rt_frame", "164-234",
                  L612 + "; 6.1: arch/x86/kernel/signal.c 504-528",
                  "regs->ip = sa_handler (210); regs->cs = __USER_CS (231); force_valid_ss (233-234)"),
              Src("arch/x86/kernel/signal_32.c", "ia32_setup_rt_frame", "387-404",
                  L612 + "; 6.1: arch/x86/ia32/ia32_signal.c 299-367",
                  "32-bit handler; regs->cx = &frame->uc; __USER32_CS/__USER_DS"),
              Src("arch/x86/kernel/signal.c", "handle_signal", "254-312", L612 + "; 6.1: signal.c 773-840",
                  "regs->flags &= ~(DF|RF|TF) (306); rseq_signal_deliver (239)"))


def restart(d, s: TaskState, i: Inputs):
    """Syscall restart in the exit-work loop (-ERESTARTSYS etc.): ip -= 2 so
    the syscall instruction runs again; cx still holds the old ip."""
    guard = z3.And(s.phase == EXITWORK, s.stopped == STOP_NONE)
    new = s.set(ip=s.ip - 2)
    return guard, new.set(flag=d.after_write("restart", s, new))


SRC_RESTART = (Src("arch/x86/kernel/signal.c", "handle_signal / arch_do_signal_or_restart", "280, 351, 356",
                   L612 + "; 6.1: signal.c 814, 885, 890", "regs->ip -= 2"),)


def rseq(d, s: TaskState, i: Inputs):
    """rseq_ip_fixup on the way out (TIF_NOTIFY_RESUME ->
    resume_user_mode_work -> rseq_handle_notify_resume, inside the exit-work
    loop): if ip lies in the registered critical section, ip := abort_ip.
    rseq_get_rseq_cs rejects start/end/abort >= TASK_SIZE, so the new ip is a
    user address; cx is not touched."""
    abort = i.bv("abort_ip")
    tsm = const(task_size_max(d.la57))
    guard = z3.And(s.phase == EXITWORK, s.stopped == STOP_NONE, z3.ULT(s.ip, tsm), z3.ULT(abort, tsm))
    new = s.set(ip=abort)
    return guard, new.set(flag=d.after_write("rseq", s, new))


SRC_RSEQ = (Src("kernel/rseq.c", "rseq_get_rseq_cs / rseq_ip_fixup", "175-203, 291-323", L612 + "; 6.1: 146-174, 267-293",
                "abort_ip < TASK_SIZE; instruction_pointer_set(regs, abort_ip) (322)"),
            Src("include/linux/resume_user_mode.h", "resume_user_mode_work", "41-62", L612 + "; 6.1: 40-61",
                "rseq_handle_notify_resume in the exit-work loop"))


def exit_(d, s: TaskState, i: Inputs):
    """Return to user mode by the design's rule (Design.exit).
    arch_exit_to_user_mode_prepare clears TS_COMPAT after the loop (unless the
    design under test leaves it), the flag is consumed."""
    guard = z3.And(s.phase == EXITWORK, s.stopped == STOP_NONE, z3.Not(s.sigtrap))
    new = s.set(phase=const(USER, 2), status=d.status_after_exit(s.status), flag=F, latched=F)
    return guard, new


SRC_EXIT_LINUX = (Src("arch/x86/include/asm/entry-common.h", "arch_exit_to_user_mode_prepare", "71-81",
                      L612 + "; 6.1: 62-72", "status &= ~(TS_COMPAT | TS_I386_REGS_POKED)"),
                  Src("arch/x86/entry/common.c", "do_syscall_64", "71-124",
                      L612 + " (6.7+ in C); 6.1: the same tests in entry_64.S 125-180, canonical by shl/sar "
                      "instead of ip < TASK_SIZE_MAX",
                      "SYSRET only if cx == ip, r11 == flags, cs/ss user, ip < TASK_SIZE_MAX, no RF/TF"),
                  Src("arch/x86/entry/common.c", "do_fast_syscall_32", "405-432", L612 + "; 6.1: 293-323",
                      "SYSRETL only if ip == landing pad, cs/ss = __USER32_CS/__USER_DS, no RF/TF/VM"),
                  Src("arch/x86/entry/entry_64_compat.S", "sysret32_from_system_call", "220-281",
                      L612 + "; 6.1: 229-284",
                      "R11 := flags, RCX := ip, sysretl"))

# =================================================================== FreeBSD =====
FB = "FreeBSD main (freebsd/freebsd-src, read via the code index)"


def fb_syscall(d, s: TaskState, i: Inputs):
    """fast_syscall (exception.S): tf_rip := RCX, tf_rflags := R11, tf_cs/ss :=
    KUCSEL/KUDSEL, tf_rcx := r10 (arg 4), PCB_FULL_IRET cleared.  A
    syscall entered with PSL_T set ("Traced syscall", amd64_syscall) has
    PSL_T cleared and a SIGTRAP posted (trapsignal); modelled at entry."""
    uip, uflags, usp, r10 = i.bv("uip"), i.bv("uflags"), i.bv("usp"), i.bv("r10")
    guard = z3.And(s.phase == USER, z3.ULE(uip, const(_code_end(d, s) - 2)))
    fl = (uflags & USER_WRITABLE_FLAGS) | USER_FIXED_FLAGS
    tf = (fl & EFLAGS_TF) != 0
    new = s.set(phase=const(BODY, 2), entry=const(ENTRY_SYSCALL64, 2), ip=uip + 2, cx=r10,
                r11=i.bv("stale_r11"), flags=fl & ~EFLAGS_TF, cs=const(FB_UCODE), ss=const(FB_UDATA),
                sp=usp, stopped=_stopped_none(), flag=F, latched=F, sigtrap=tf)
    return guard, new


SRC_FB_SYSCALL = (Src("sys/amd64/amd64/exception.S", "fast_syscall_common", "", FB,
                      "movq %r11,TF_RFLAGS; movq %rcx,TF_RIP; andl $~PCB_FULL_IRET; movq %r10,TF_RCX"),
                  Src("sys/amd64/amd64/trap.c", "amd64_syscall", "", FB,
                      "Traced syscall: tf_rflags &= ~PSL_T; trapsignal(SIGTRAP)"))


def fb_setregs(d, s: TaskState, i: Inputs):
    """PT_SETREGS -> set_regs (machdep.c): EINVAL unless EFL_SECURE (only
    PSL_USERCHANGE bits differ from the current rflags) and CS_SECURE (RPL
    3); rip, rsp, rcx, r11, ss taken as given; PCB_FULL_IRET set."""
    v = {r: i.bv("w_" + r) for r in ("ip", "cx", "r11", "flags", "cs", "ss", "sp")}
    flags = (s.flags & ~FB_PSL_USERCHANGE) | (v["flags"] & FB_PSL_USERCHANGE)
    guard = z3.And(s.stopped != STOP_NONE, v["cs"] & 3 == 3)
    new = s.set(ip=v["ip"], cx=v["cx"], r11=v["r11"], flags=flags, cs=v["cs"] & 0xFFFF,
                ss=v["ss"] & 0xFFFF, sp=v["sp"])
    return guard, new.set(flag=d.after_write("ptrace", s, new))


SRC_FB_SETREGS = (Src("sys/amd64/amd64/machdep.c", "set_regs", "", FB,
                      "EFL_SECURE/CS_SECURE, tf_* = regs->r_*, set_pcb_flags(PCB_FULL_IRET)"),)


def fb_resume(d, s: TaskState, i: Inputs):
    """PT_CONTINUE / PT_STEP (kern/sys_process.c): with an address other than
    1, ptrace_set_pc sets tf_rip and PCB_FULL_IRET; PT_STEP calls
    ptrace_single_step, which only sets PSL_T.  The tracer may discard a
    pending signal (the SIGTRAP of a traced syscall)."""
    step, setpc, addr, discard = i.bool("step"), i.bool("setpc"), i.bv("addr"), i.bool("discard")
    new = s.set(flags=z3.If(step, s.flags | EFLAGS_TF, s.flags), ip=z3.If(setpc, addr, s.ip),
                stopped=_stopped_none(),
                sigtrap=z3.And(s.sigtrap, z3.Not(z3.And(discard, s.stopped == STOP_SIGNAL))))
    f1 = z3.If(setpc, d.after_write("ptrace", s, new), s.flag)
    mid = new.set(flag=f1)
    return s.stopped != STOP_NONE, mid.set(flag=z3.If(step, d.after_write("singlestep", mid, mid), f1))


SRC_FB_RESUME = (Src("sys/amd64/amd64/machdep.c", "ptrace_set_pc / ptrace_single_step", "", FB,
                     "set_pc: tf_rip = addr, PCB_FULL_IRET; single_step: tf_rflags |= PSL_T only"),)


def fb_sigreturn(d, s: TaskState, i: Inputs):
    """sys_sigreturn (exec_machdep.c): EINVAL unless EFL_SECURE and
    CS_SECURE; every register from the ucontext; PCB_FULL_IRET set."""
    sc = {r: i.bv("sc_" + r) for r in ("ip", "cx", "r11", "flags", "cs", "ss", "sp")}
    secure = (sc["flags"] ^ s.flags) & ~FB_PSL_USERCHANGE == 0
    guard = z3.And(s.phase == BODY, secure, sc["cs"] & 3 == 3)
    new = s.set(ip=sc["ip"], cx=sc["cx"], r11=sc["r11"], flags=sc["flags"], cs=sc["cs"] & 0xFFFF,
                ss=sc["ss"] & 0xFFFF, sp=sc["sp"])
    return guard, new.set(flag=d.after_write("sigreturn", s, new))


SRC_FB_SIGRETURN = (Src("sys/amd64/amd64/exec_machdep.c", "sys_sigreturn", "", FB,
                        "EFL_SECURE, CS_SECURE; tf from ucontext; set_pcb_flags(PCB_FULL_IRET)"),)


def fb_exec(d, s: TaskState, i: Inputs):
    """exec_setregs (exec_machdep.c): the trapframe is zeroed (tf_rcx = tf_r11
    = 0), tf_rip = entry, tf_rflags = PSL_USER (0x202), _ucodesel/_udatasel,
    PCB_FULL_IRET set.  No bound on the entry address is assumed."""
    entry, usp = i.bv("entry"), i.bv("esp")
    new = s.set(ip=entry, sp=usp, cx=const(0), r11=const(0), flags=const(EFLAGS_IF | EFLAGS_FIXED),
                cs=const(FB_UCODE), ss=const(FB_UDATA))
    return s.phase == BODY, new.set(flag=d.after_write("exec", s, new))


SRC_FB_EXEC = (Src("sys/amd64/amd64/exec_machdep.c", "exec_setregs", "", FB,
                   "bzero(regs); tf_rip = entry; tf_rflags = PSL_USER; set_pcb_flags(PCB_FULL_IRET)"),)


def fb_restart(d, s: TaskState, i: Inputs):
    """cpu_set_syscall_retval, ERESTART (vm_machdep.c): tf_rip -= tf_err (2
    for SYSCALL), PCB_FULL_IRET set.  Runs in the syscall body."""
    new = s.set(ip=s.ip - 2)
    return s.phase == BODY, new.set(flag=d.after_write("restart", s, new))


SRC_FB_RESTART = (Src("sys/amd64/amd64/vm_machdep.c", "cpu_set_syscall_retval", "", FB,
                      "ERESTART: tf_rip -= tf_err; set_pcb_flags(PCB_FULL_IRET)"),)


def fb_signal(d, s: TaskState, i: Inputs):
    """sendsig (exec_machdep.c), from ast -> postsig: tf_rip := the sigcode
    trampoline (kernel-chosen, in the user address space), tf_rcx := the
    fault address (any), rflags &= ~(PSL_T|PSL_D), _ucodesel/_udatasel,
    PCB_FULL_IRET set.  Delivers the pending SIGTRAP, if any."""
    code, addr, fsp = i.bv("sigcode"), i.bv("ksi_addr"), i.bv("frame_sp")
    guard = z3.And(s.phase == EXITWORK, s.stopped == STOP_NONE, z3.ULT(code, const(task_size_max(d.la57))))
    new = s.set(ip=code, cx=addr, sp=fsp, flags=s.flags & ~(EFLAGS_TF | EFLAGS_DF), cs=const(FB_UCODE),
                ss=const(FB_UDATA), sigtrap=F)
    return guard, new.set(flag=d.after_write("signal", s, new))


SRC_FB_SIGNAL = (Src("sys/amd64/amd64/exec_machdep.c", "sendsig", "", FB,
                     "tf_rip = sv_sigcode_base; tf_rflags &= ~(PSL_T|PSL_D); set_pcb_flags(PCB_FULL_IRET)"),)

SRC_FB_STOP = (Src("sys/kern/subr_syscall.c", "syscallenter / syscallret", "", FB,
                   "ptracestop(SIGTRAP) at syscall entry (PTRACE_SCE) and exit (PTRACE_SCX, TDB_FORK/TDB_EXEC)"),
               Src("sys/kern/kern_sig.c", "issignal", "", FB,
                   "ptracestop for a signal, from ast -> postsig (the exit-work phase)"))

SRC_EXIT_FB = (Src("sys/amd64/amd64/exception.S", "fast_syscall_common, labels 1-4", "", FB,
                   "cli; testl $PCB_FULL_IRET -> doreti (IRET); AST -> call ast; jmp 1b (re-test); "
                   "else RCX := TF_RIP, R11 := TF_RFLAGS, sysretq"),
               Src("sys/amd64/amd64/trap.c", "amd64_syscall", "", FB,
                   "tf_rip >= VM_MAXUSER_ADDRESS (LA48/LA57) -> set_pcb_flags(PCB_FULL_IRET)"))

# Order fixes the selector encoding; `exit` is last in each list.
LINUX_EVENTS = (
    Event("syscall", syscall, SRC_SYSCALL, "entry-tf"),
    Event("int80", int80, SRC_INT80),
    Event("fast32", fast32, SRC_FAST32),
    Event("stop", stop, SRC_STOP),
    Event("poke", poke, SRC_POKE, "ptrace"),
    Event("resume", resume, SRC_RESUME, "singlestep"),
    Event("sigreturn", sigreturn, SRC_SIGRETURN, "sigreturn"),
    Event("exec", exec_, SRC_EXEC, "exec"),
    Event("uprobe-syscall", uprobe_syscall, SRC_UPROBE, "uprobe-syscall"),
    Event("exit-work", exit_work, SRC_EXIT_WORK),
    Event("signal", signal, SRC_SIGNAL, "signal"),
    Event("restart", restart, SRC_RESTART, "restart"),
    Event("rseq", rseq, SRC_RSEQ, "rseq"),
    Event("exit", exit_, SRC_EXIT_LINUX),
)
FREEBSD_EVENTS = (
    Event("syscall", fb_syscall, SRC_FB_SYSCALL),
    Event("stop", stop, SRC_FB_STOP),
    Event("setregs", fb_setregs, SRC_FB_SETREGS, "ptrace"),
    Event("resume", fb_resume, SRC_FB_RESUME, "singlestep"),
    Event("sigreturn", fb_sigreturn, SRC_FB_SIGRETURN, "sigreturn"),
    Event("exec", fb_exec, SRC_FB_EXEC, "exec"),
    Event("restart", fb_restart, SRC_FB_RESTART, "restart"),
    Event("exit-work", exit_work, SRC_EXIT_FB),
    Event("signal", fb_signal, SRC_FB_SIGNAL, "signal"),
    Event("exit", exit_, SRC_EXIT_FB),
)


def events_for(os: str) -> tuple:
    return FREEBSD_EVENTS if os == "freebsd" else LINUX_EVENTS
