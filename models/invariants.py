"""Named invariants, the initial state, and the two properties' bad-state
predicates.

The invariants are generic (true in every design) and are themselves proven
inductive before they are assumed (models.prove.check_invariants); they only
rule out states no history reaches, which is what lets the one-step induction
of the properties go through.  The properties are stated with the obligation
predicates of verify/obligations.py.
"""
from __future__ import annotations

import z3

from verify.obligations import canonical_rip

from .cpu import INTEL, views_equal
from .designs import Design
from .state import SHARED_FIELDS, STOP_NONE, TS_COMPAT, VALID_FLAGS, TaskState, state_eq


# --- invariants of one task ------------------------------------------------------
def flags_valid(s: TaskState) -> z3.BoolRef:
    """Saved flags never hold VM, reserved bits or bits 22+: SYSCALL saves a
    user RFLAGS, every writer masks (FLAG_MASK / FIX_EFLAGS), exec writes IF."""
    return s.flags & ~VALID_FLAGS == 0


def stopped_only_when_traced_in_kernel(s: TaskState) -> z3.BoolRef:
    return z3.Implies(s.stopped != STOP_NONE, z3.And(s.in_kernel, s.traced))


def stop_kind_valid(s: TaskState) -> z3.BoolRef:
    return z3.ULE(s.stopped, 4)


def no_flag_in_user_mode(s: TaskState) -> z3.BoolRef:
    """The exit consumes the flag."""
    return z3.Implies(z3.Not(s.in_kernel), z3.Not(s.flag))


def ts_compat_clear_in_user_mode(s: TaskState) -> z3.BoolRef:
    return z3.Implies(z3.Not(s.in_kernel), s.status & TS_COMPAT == 0)


def compat_only_in_kernel(s: TaskState) -> z3.BoolRef:
    return z3.Implies(s.compat, s.in_kernel)


TASK_INVARIANTS = (flags_valid, stopped_only_when_traced_in_kernel, stop_kind_valid,
                   no_flag_in_user_mode, ts_compat_clear_in_user_mode, compat_only_in_kernel)


# --- invariant of the product machine -----------------------------------------------
def frames_agree(a: TaskState, b: TaskState) -> z3.BoolRef:
    """Two designs fed the same events hold the same pt_regs, status, tracer
    and stop: only the force-IRET flag (and so the exit) can differ."""
    return state_eq(a, b, SHARED_FIELDS)


def initial(s: TaskState) -> z3.BoolRef:
    """The task runs in user mode, untraced or traced (either), no stop, no
    flag, TS_COMPAT clear.  Register values are arbitrary: the first SYSCALL
    overwrites them."""
    return z3.And(z3.Not(s.in_kernel), z3.Not(s.compat), z3.Not(s.flag), s.stopped == STOP_NONE,
                  s.status & TS_COMPAT == 0, flags_valid(s))


# --- properties: the bad states ---------------------------------------------------------
def unsafe_exit(d: Design, s: TaskState) -> z3.BoolRef:
    """`safety` fails in `s`: the exit would run SYSRET with RCX failing the
    canonical-rip obligation on a CPU that faults in ring 0 (Intel)."""
    if d.cpu != INTEL:
        return z3.BoolVal(False)  # AMD raises the #GP after the switch to ring 3
    e = d.exit(s)
    return z3.And(s.in_kernel, e.use_sysret, z3.Not(canonical_rip(e.inputs)))


def divergent_exit(d: Design, a: TaskState, ref: Design, b: TaskState) -> z3.BoolRef:
    """`equivalence` fails: the user sees something after design `d`'s exit
    other than what the reference (exit-checks) exit gives from the same history."""
    return z3.And(a.in_kernel, z3.Not(views_equal(d.exit(a).view, ref.exit(b).view)))
