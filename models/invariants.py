"""Named invariants, candidate lemmas, the initial state, and the two
properties' bad-state predicates.

Invariants (`task_invariants`) are generic facts of the kernel model (true
in every design); each is proven inductive before it is assumed
(models.prove), and a failure is reported as a model bug.  Lemmas
(`safe_if_exit_now`, `equal_if_exit_now`) are the properties generalised to
every in-kernel state ("if the task returned now, would it be safe /
equivalent?").  They are candidates: models.prove keeps them only if they are
inductive (Houdini), so a lemma never hides a counterexample; for a sound
design they make 1-induction close.

Safety, as a security reviewer means it (issue 11): user mode is never
entered with IOPL != 0, IF clear, VM set, NT set where the saved flags had it
clear (NT is user-writable by POPF and ptrace's FLAG_MASK, so only an NT the
kernel invented counts), or a CS/SS other than the user selectors; no SYSRET
faults in ring 0; and thread_info.status has TS_COMPAT clear in user mode
(the `ts-compat-clear` obligation).  Flags are checked on user-mode faults
too (an AMD SYSRET fault pushes the RFLAGS it loaded from R11, and the
signal return restores them).
"""
from __future__ import annotations

import z3

from verify.obligations import EFLAGS_IF

from .cpu import OK, RING0_FAULT, user_table_selector, views_equal
from .designs import Design
from .state import (EFLAGS_FIXED, EFLAGS_IOPL, EFLAGS_NT, EFLAGS_VM, EXITWORK, STOP_NONE, STOP_SIGNAL,
                    SHARED_FIELDS, TS_COMPAT, USER, VALID_FLAGS, TaskState, state_eq, const)


# --- invariants of one task ------------------------------------------------------
def shape_valid(d: Design, s: TaskState) -> z3.BoolRef:
    return z3.And(z3.ULE(s.phase, 2), z3.ULE(s.entry, 2), z3.ULE(s.stopped, 4))


def flags_valid(d: Design, s: TaskState) -> z3.BoolRef:
    """Saved flags never hold VM, IOPL, reserved bits or bits 22+, and always
    hold IF and bit 1: SYSCALL saves a user RFLAGS (IOPL 0, IF 1), every
    writer merges through a mask without IF/IOPL/VM (FLAG_MASK, FIX_EFLAGS,
    FreeBSD EFL_SECURE), exec writes IF | FIXED."""
    return z3.And(s.flags & ~VALID_FLAGS == 0, s.flags & EFLAGS_IF != 0, s.flags & EFLAGS_FIXED != 0)


def stops_consistent(d: Design, s: TaskState) -> z3.BoolRef:
    return z3.And(z3.Implies(s.stopped != STOP_NONE, z3.And(s.phase != USER, s.traced)),
                  z3.Implies(s.phase == EXITWORK, z3.Or(s.stopped == STOP_NONE, s.stopped == STOP_SIGNAL)))


def clean_in_user_mode(d: Design, s: TaskState) -> z3.BoolRef:
    """The exit consumes the flag and the latch; a SIGTRAP is delivered first."""
    return z3.Implies(s.phase == USER, z3.And(z3.Not(s.flag), z3.Not(s.latched), z3.Not(s.sigtrap)))


def ts_compat_clear_in_user_mode(d: Design, s: TaskState) -> z3.BoolRef:
    return z3.Implies(s.phase == USER, s.status & TS_COMPAT == 0)


def pad_below_4g(d: Design, s: TaskState) -> z3.BoolRef:
    """The compat vDSO landing pad: inside the 32-bit address space, and not
    in the first page (mmap_min_addr >= 4096 by default; the vDSO is mapped
    like any other mapping).  Assumed, not read from a kernel."""
    return z3.And(z3.ULT(s.pad, const(1 << 32)), z3.UGE(s.pad, const(0x1000)))


def task_invariants(d: Design) -> tuple:
    inv = [shape_valid, flags_valid, stops_consistent, clean_in_user_mode, pad_below_4g]
    if d.ts_compat_clear:
        inv.append(ts_compat_clear_in_user_mode)
    return tuple(inv)


def frames_agree(a: TaskState, b: TaskState) -> z3.BoolRef:
    """Two designs fed the same events hold the same pt_regs, phase, tracer
    and stop: only the flag, its latch and TS_COMPAT can differ."""
    return state_eq(a, b, SHARED_FIELDS)


def initial(d: Design, s: TaskState) -> z3.BoolRef:
    """The task runs in user mode, traced or not, no stop, no flag, TS_COMPAT
    clear.  Register values are arbitrary: the first entry overwrites them."""
    return z3.And(s.phase == USER, z3.Not(s.flag), z3.Not(s.latched), z3.Not(s.sigtrap),
                  s.stopped == STOP_NONE, s.status & TS_COMPAT == 0, flags_valid(d, s),
                  pad_below_4g(d, s), z3.ULE(s.entry, 2))


# --- properties ------------------------------------------------------------------------
def exit_enabled(s: TaskState) -> z3.BoolRef:
    return z3.And(s.phase == EXITWORK, s.stopped == STOP_NONE, z3.Not(s.sigtrap))


def _user_sel(sels, x):
    return z3.Or(*(x == c for c in sels), user_table_selector(x))


def unsafe_view(d: Design, s: TaskState) -> z3.BoolRef:
    """The return from `s` by `d`'s rule is unsafe (see the module doc)."""
    e = d.exit(s)
    v = e.view
    code, data = d.selectors()
    bad_flags = z3.Or(v.rflags & EFLAGS_IOPL != 0, v.rflags & EFLAGS_IF == 0, v.rflags & EFLAGS_VM != 0,
                      z3.And(v.rflags & EFLAGS_NT != 0, s.flags & EFLAGS_NT == 0))
    bad_sel = z3.Not(z3.And(_user_sel(code, v.cs), _user_sel(data, v.ss)))
    return z3.Or(v.outcome == RING0_FAULT, z3.And(v.outcome != RING0_FAULT, bad_flags),
                 z3.And(v.outcome == OK, bad_sel), e.status & TS_COMPAT != 0)


def unsafe_exit(d: Design, s: TaskState) -> z3.BoolRef:
    return z3.And(exit_enabled(s), unsafe_view(d, s))


def divergent_view(d: Design, a: TaskState, ref: Design, b: TaskState) -> z3.BoolRef:
    return z3.Not(views_equal(d.exit(a).view, ref.exit(b).view, abi_rcx_r11=d.os == "linux", pad=a.pad))


def divergent_exit(d: Design, a: TaskState, ref: Design, b: TaskState) -> z3.BoolRef:
    """`equivalence` fails: after `d`'s exit the user sees something other
    than what IRET from the same frame (the reference) gives."""
    return z3.And(exit_enabled(a), divergent_view(d, a, ref, b))


# --- candidate lemmas (kept only if inductive) -------------------------------------------
def safe_if_exit_now(d: Design, s: TaskState) -> z3.BoolRef:
    return z3.Implies(s.phase != USER, z3.Not(unsafe_view(d, s)))


def equal_if_exit_now(d: Design, a: TaskState, ref: Design, b: TaskState) -> z3.BoolRef:
    return z3.Implies(a.phase != USER, z3.Not(divergent_view(d, a, ref, b)))
