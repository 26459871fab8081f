"""What the analysis does at a call it meets: the named, documented choices.

Every call is one of
- FOLLOW: executed symbolically, like the rest of the path;
- HAVOC_WRITER: not followed, and *known* to be able to write the user's
  registers or thread state (the syscall itself, ptrace stops, signal
  delivery, scheduling, rseq, uprobes...).  Everything it may write becomes
  arbitrary.  A counterexample through it is a real counterexample: the
  kernel really can arrive here with any such value;
- HAVOC_UNFOLLOWED: not followed because it is too large, too deep or its
  target is unknown.  Treated exactly like a writer (sound), but a
  counterexample that passes through it is reported inconclusive, not
  violated: nobody showed that the function really writes user state;
- PRESERVES_USER_STATE: not followed, and summarised by a named assumption
  (ASSUMPTIONS below): it may write anything except pt_regs and
  thread_info flags/status;
- NOP: the call site is patched to a NOP at boot (ftrace's __fentry__);
- RETURN: a return thunk; behaves as `ret`.

This module is the one place these choices live; every report lists the
assumptions a result used.
"""
from __future__ import annotations

import fnmatch

FOLLOW = "follow"
HAVOC_WRITER = "havoc-writer"
HAVOC_UNFOLLOWED = "havoc-unfollowed"
PRESERVES_USER_STATE = "preserves-user-state"
NOP = "nop"
RETURN = "return"
CLOBBER = "clobber"  # speculation-mitigation sequences: caller-saved registers and flags only
NORETURN = "noreturn"  # the path ends (panic, stack-protector failure, BUG)

# Functions that can legitimately change what the user resumes with, or set
# TS_COMPAT / thread flags.  Sources: kernel/entry/common.c (exit work),
# arch/x86/kernel/signal.c, kernel/ptrace.c, kernel/sched/core.c (a context
# switch lets a tracer run and write our registers), kernel/rseq.c
# (rseq_ip_fixup writes regs->ip), kernel/events/uprobes.c.
USER_STATE_WRITERS = (
    "x64_sys_call", "x32_sys_call", "ia32_sys_call", "sys_call_table", "__x64_sys_*",
    "syscall_enter_from_user_mode*", "syscall_trace_enter", "syscall_exit_work",
    "syscall_exit_to_user_mode_prepare", "exit_to_user_mode_loop", "syscall_exit_to_user_mode_work",
    "arch_do_signal_or_restart", "do_signal", "handle_signal", "get_signal",
    "ptrace_notify", "ptrace_stop", "ptrace_report_syscall*", "ptrace_do_notify",
    "schedule", "__schedule", "schedule_user", "preempt_schedule", "preempt_schedule_irq",
    "preempt_schedule_common", "__rseq_handle_notify_resume", "rseq_handle_notify_resume",
    "uprobe_notify_resume", "task_work_run", "resume_user_mode_work",
    "tracehook_notify_resume", "do_notify_resume",
    # these may sleep, and a sleep is a context switch
    "mem_cgroup_handle_over_high", "blkcg_maybe_throttle_current",
    "do_exit", "do_group_exit", "force_sig*",
)

# Named assumptions: summaries of code we do not follow.  id -> (patterns, text)
ASSUMPTIONS = {
    "tracepoint-probes-preserve-user-state": (
        ("__traceiter_*", "__SCT__tp_func_*", "trace_*", "perf_trace_*", "__bpf_trace_*"),
        "Tracepoint probes (ftrace, perf, BPF) attached to the exit path do not write the "
        "current task's pt_regs or thread_info flags/status.",
    ),
    "rcu-context-tracking-preserve-user-state": (
        ("rcu_*", "ct_kernel_exit*", "ct_kernel_enter*", "context_tracking_*", "vtime_user_enter",
         "vtime_user_exit", "__context_tracking_*", "rcu_dynticks_*", "rcu_eqs_*",
         "account_*_time", "vtime_account_*", "lockdep_*", "trace_hardirqs_*", "instrumentation_*",
         "kcsan_*", "kasan_*", "__kasan_*", "__asan_*", "__tsan_*", "__ubsan_*", "__sanitizer_*",
         "warn_*", "__warn*", "printk*", "_printk"),
        "RCU, context-tracking, vtime accounting, lockdep and sanitizer hooks do not write the "
        "current task's pt_regs or thread_info flags/status.",
    ),
}

ALWAYS_ASSUMED = {
    "private-regions": "The task stack, the entry trampoline stack, the per-CPU area and the "
    "current task_struct are distinct regions; no callee writes the caller's stack frames "
    "(the ABI), except pt_regs, which is havocked as user state.",
    "fentry-nop": "`call __fentry__` sites are NOPs after boot, or ftrace callbacks preserve "
    "the user state of the current task.",
    "return-thunk": "`jmp __x86_return_thunk` (and the other return thunks) behaves as `ret`.",
    "warn-continues": "`ud2` is a BUG (the path ends) or a WARN (execution resumes after it with "
    "the user state unchanged); both are explored.",
    "paravirt-native": "Outside XENPV, paravirt call sites on the path run their native "
    "replacement (cli, sti, pushf/pop).",
    "kernel-no-sse": "Kernel code does not use SSE/AVX registers (built with -mno-sse); they "
    "are not compared when cutting loops.",
    "kstack-offset": "The per-syscall random kernel stack offset (add_random_kstack_offset) "
    "only moves private stack frames; it is analysed at one value.",
}

ALWAYS_ASSUMED["irq-flag-preserved"] = (
    "A function the analysis does not follow returns with the interrupt flag as it found it "
    "(kernel functions that disable interrupts restore them; the paravirt irq operations that "
    "change IF are followed).  This decides, e.g., that preempt_schedule_notrace() returns at "
    "once on the exit path, where interrupts are off.")

# Functions on every kernel's SYSCALL exit path that hold the checks or the
# TS_COMPAT clear: followed from the first round instead of being found one
# refinement round (a whole exploration) at a time.  Following is never less
# sound than a havoc; refinement still adds whatever else a counterexample needs.
EXIT_PATH_SEED = ("do_syscall_64", "syscall_exit_to_user_mode", "syscall_exit_to_user_mode_work",
                  "exit_to_user_mode_prepare", "exit_to_user_mode", "__ct_user_enter", "user_enter_irqoff",
                  "arch_exit_to_user_mode_prepare", "arch_exit_to_user_mode",
                  # called by the context-tracking exit with interrupts off, where it returns at once
                  "preempt_schedule_notrace")

# Speculation-mitigation sequences called from the entry code (BHB clearing,
# IBPB, untraining the return predictor).  They change no memory and no
# architectural state beyond caller-saved registers and flags; following them
# costs time (clear_bhb_loop is a nest of unbalanced calls) and proves nothing.
MITIGATIONS = ("clear_bhb_loop", "entry_ibpb", "write_ibpb", "srso_untrain_ret", "srso_alias_untrain_ret",
               "entry_untrain_ret", "retbleed_untrain_ret", "zen_untrain_ret", "its_return_thunk_untrain",
               "mds_clear_cpu_buffers", "clear_cpu_buffers", "x86_clear_cpu_buffers")
ALWAYS_ASSUMED["mitigation-routines"] = (
    "Speculation-mitigation routines (" + ", ".join(MITIGATIONS[:4]) + ", ...) change only caller-saved "
    "registers and flags.")

RETURN_THUNKS = ("__x86_return_thunk", "retbleed_return_thunk", "srso_return_thunk",
                 "srso_alias_return_thunk", "__x86_return_skl", "its_return_thunk",
                 "zen_untrain_ret", "entry_untrain_ret")

NORETURN_FUNCTIONS = ("__stack_chk_fail", "panic", "nmi_panic", "make_task_dead", "rewind_stack_and_make_dead",
                      "do_exit", "do_group_exit", "__fortify_panic", "fortify_panic", "__ubsan_handle_builtin_unreachable",
                      "kthread_exit", "machine_real_restart", "BUG_func")

# Which functions to follow: EXIT_PATH_SEED, every function of at most 64 bytes
# (verify.order.ProgramOrder.is_small), and refinement (verify.engine.check_image):
# any other call starts out HAVOC_UNFOLLOWED; when a counterexample exists only
# through such havocs, the last one on its path is followed in the next round.
MAX_FOLLOW_DEPTH = 8


def _match(name: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def call_policy(name: str | None, depth: int, follow=frozenset(), dispatch_names=()) -> tuple[str, str]:
    """(policy, why) for a call to `name` at follow depth `depth`; `follow` is
    the set of functions refinement chose to follow."""
    if name is None:
        return HAVOC_UNFOLLOWED, "indirect call to an unknown target"
    base = name.split(".")[0]
    if name in dispatch_names or base in dispatch_names:
        return HAVOC_WRITER, "the syscall dispatch: the syscall may set any user state"
    if base == "__fentry__":
        return NOP, "fentry-nop"
    if name in RETURN_THUNKS:
        return RETURN, "return-thunk"
    if name in MITIGATIONS:
        return CLOBBER, "mitigation-routines"
    if base in NORETURN_FUNCTIONS:
        return NORETURN, f"{name} does not return"
    if _match(base, USER_STATE_WRITERS):
        return HAVOC_WRITER, f"{name} can write the user's registers or thread state"
    for aid, (patterns, _text) in ASSUMPTIONS.items():
        if _match(base, patterns):
            return PRESERVES_USER_STATE, aid
    if name in follow or base in follow:
        if depth >= MAX_FOLLOW_DEPTH:
            return HAVOC_UNFOLLOWED, f"call depth {depth} reached the follow limit {MAX_FOLLOW_DEPTH}"
        return FOLLOW, ""
    return HAVOC_UNFOLLOWED, f"{name} is not followed"
