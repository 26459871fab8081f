"""BMC for minimal counterexamples, then (k-)induction for unbounded proofs.

Pass order for one property:
  0. the named invariants (models.invariants) are proven inductive for the
     machine: Init => Inv, Inv /\\ T => Inv'.  Only then are they assumed.
  1. for n = 0, 1, 2, ...:
       BMC(n):  Init(s0) /\\ T(s0,s1) /\\ ... /\\ T(s(n-1),sn) /\\ Bad(sn).
                sat   -> counterexample of n events plus the exit; minimal,
                         because BMC(0..n-1) were unsat.
       STEP(k=n+1): Inv(t0..tk) /\\ ~Bad(t0..t(k-1)) /\\ T(t0..tk) /\\ Bad(tk).
                unsat -> proven for every depth (BMC(0..n) are the base cases);
                         method "induction" if k == 1 else "k-induction".
  2. if neither by `max_depth`: inconclusive (bounded), never proven.
Any z3 `unknown` makes the property inconclusive (verify.solver keeps the
three outcomes apart).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import z3

from verify.solver import check

from . import invariants as inv
from .designs import REFERENCE, Design
from .events import EVENT_NAMES, EVENTS
from .state import Inputs, TaskState, state_eq

PROVEN, VIOLATED, INCONCLUSIVE = "proven", "violated", "inconclusive"


@dataclass(frozen=True)
class Machine:
    """One design (safety) or the product of a design and exit-checks
    (equivalence): a tuple of task states stepped by the same events on the
    same inputs."""

    property_id: str
    designs: tuple            # (Design,) or (Design, REFERENCE)
    bad_fn: Callable          # states -> z3 bool

    def fresh(self, prefix: str) -> tuple:
        return tuple(TaskState.fresh(f"{prefix}m{j}_") for j in range(len(self.designs)))

    def init(self, ss) -> z3.BoolRef:
        c = [inv.initial(s) for s in ss]
        if len(ss) == 2:
            c.append(inv.frames_agree(ss[0], ss[1]))
        return z3.And(*c)

    def invariants(self, ss) -> list[tuple[str, z3.BoolRef]]:
        out = [(f"{f.__name__}[{j}]", f(s)) for j, s in enumerate(ss) for f in inv.TASK_INVARIANTS]
        if len(ss) == 2:
            out.append(("frames_agree", inv.frames_agree(ss[0], ss[1])))
        return out

    def inv(self, ss) -> z3.BoolRef:
        return z3.And(*(e for _, e in self.invariants(ss)))

    def trans(self, ss, ss2, inp: Inputs, sel: z3.BitVecRef) -> z3.BoolRef:
        """sel picks the event; every machine takes that event on `inp`."""
        cases = []
        for k, (_, fn) in enumerate(EVENTS):
            parts = []
            for d, s, s2 in zip(self.designs, ss, ss2):
                g, new = fn(d, s, inp)
                parts += [g, state_eq(s2, new)]
            cases.append(z3.Implies(sel == k, z3.And(*parts)))
        return z3.And(z3.ULT(sel, len(EVENTS)), *cases)

    def bad(self, ss) -> z3.BoolRef:
        return self.bad_fn(ss)


def safety_machine(d: Design) -> Machine:
    return Machine("safety", (d,), lambda ss: inv.unsafe_exit(d, ss[0]))


def equivalence_machine(d: Design) -> Machine:
    return Machine("equivalence", (d, REFERENCE),
                   lambda ss: inv.divergent_exit(d, ss[0], REFERENCE, ss[1]))


@dataclass
class Step:
    event: str
    inputs: dict            # name -> python value
    before: tuple           # per machine: dict field -> value
    after: tuple


@dataclass
class PropertyResult:
    id: str
    status: str
    method: str = ""
    k: int = 0
    bmc_depth: int = 0                     # deepest BMC bound checked
    steps: list = field(default_factory=list)   # counterexample (events before the final exit)
    final: tuple = ()                      # per machine: state values at the final exit
    reason: str = ""
    seconds: float = 0.0
    invariants: list = field(default_factory=list)

    @property
    def trace_length(self) -> int:
        return len(self.steps) + 1 if self.status == VIOLATED else 0


def _val(m: z3.ModelRef, e):
    v = m.eval(e, model_completion=True)
    if z3.is_bool(v):
        return z3.is_true(v)
    return v.as_long()


def _state_vals(m, s: TaskState) -> dict:
    return {n: _val(m, getattr(s, n)) for n in s.__dataclass_fields__}


def check_invariants(mc: Machine, timeout_ms: int) -> Optional[str]:
    """None if the invariants are inductive; else why not (a model bug or unknown)."""
    s0 = mc.fresh("inv0_")
    r = check([mc.init(s0), z3.Not(mc.inv(s0))], timeout_ms)
    if r.unknown:
        return f"could not decide whether the initial states meet the invariants: z3 unknown ({r.reason})"
    if r.sat:
        return "initial states violate the invariants (model bug)"
    s1 = mc.fresh("inv1_")
    inp, sel = Inputs("inv_i_"), z3.BitVec("inv_sel", 4)
    base = [mc.inv(s0), mc.trans(s0, s1, inp, sel)]
    for name, e in mc.invariants(s1):
        r = check(base + [z3.Not(e)], timeout_ms)
        if r.unknown:
            return f"could not decide whether invariant {name} is inductive: z3 unknown ({r.reason})"
        if r.sat:
            ev = EVENT_NAMES[r.model.eval(sel).as_long()]
            return f"invariant {name} is not inductive: event {ev} breaks it (model bug)"
    return None


def prove(mc: Machine, max_depth: int = 8, timeout_ms: int = 60000) -> PropertyResult:
    t0 = time.perf_counter()
    res = PropertyResult(mc.property_id, INCONCLUSIVE)
    why = check_invariants(mc, timeout_ms)
    res.invariants = [n for n, _ in mc.invariants(mc.fresh("names_"))]
    if why:
        res.reason = why
        res.seconds = time.perf_counter() - t0
        return res

    bmc = z3.Solver()
    bmc.set("timeout", timeout_ms)
    S = [mc.fresh("b0_")]
    bmc.add(mc.init(S[0]))
    inps, sels = [], []
    step_unknown = ""
    for n in range(max_depth + 1):
        res.bmc_depth = n
        bmc.push()
        r = check([mc.bad(S[n])], solver=bmc)
        if r.sat:
            _extract(res, mc, _prettify(bmc, r.model, S, inps, sels), S, inps, sels)
            res.status, res.method = VIOLATED, "bmc"
            bmc.pop()
            break
        bmc.pop()
        if r.unknown:
            res.reason = f"BMC depth {n}: z3 unknown ({r.reason})"
            break
        # k-induction step with k = n + 1
        k = n + 1
        T = [mc.fresh(f"k{k}_{j}_") for j in range(k + 1)]
        cons = [mc.inv(t) for t in T]
        for j in range(k):
            cons.append(mc.trans(T[j], T[j + 1], Inputs(f"k{k}_i{j}_"), z3.BitVec(f"k{k}_sel{j}", 4)))
            cons.append(z3.Not(mc.bad(T[j])))
        cons.append(mc.bad(T[k]))
        r = check(cons, timeout_ms)
        if r.unsat:
            res.status, res.k = PROVEN, k
            res.method = "induction" if k == 1 else "k-induction"
            break
        if r.unknown:
            step_unknown = f"induction step k={k}: z3 unknown ({r.reason})"
        # extend the BMC unrolling by one step
        inp, sel = Inputs(f"b{n}_i_"), z3.BitVec(f"b{n}_sel", 4)
        S.append(mc.fresh(f"b{n + 1}_"))
        bmc.add(mc.trans(S[n], S[n + 1], inp, sel))
        inps.append(inp)
        sels.append(sel)
    else:
        res.reason = step_unknown or (f"no counterexample of up to {max_depth + 1} events (exit included) and no "
                                      f"inductive proof up to k={max_depth + 1}: bounded result only")
        res.method = "bmc"
    res.seconds = time.perf_counter() - t0
    return res


def _prettify(solver: z3.Solver, first: z3.ModelRef, S, inps, sels) -> z3.ModelRef:
    """Among the counterexamples of this (minimal) length and these events,
    prefer one a reader can follow: writers change only the registers they
    must, flags carry no incidental bits, addresses are round.  Greedy: each
    preference is kept if the trace stays a counterexample; a preference z3
    cannot decide quickly is dropped.  Only cosmetic: the length and the
    events were fixed by the BMC query."""
    from .state import REGS, USER_FIXED_FLAGS
    from verify.obligations import EFLAGS_TF

    prefs = [sel == first.eval(sel) for sel in sels]      # keep the events
    for j, (inp, sel) in enumerate(zip(inps, sels)):
        ev = EVENT_NAMES[first.eval(sel).as_long()]
        a, b = S[j][0], S[j + 1][0]
        if ev in ("ptrace", "sigreturn", "uprobe"):
            prefs += [getattr(b, r) == getattr(a, r) for r in REGS]
            prefs += [b.ip == (1 << 47), b.ip == 0x401000]
        if ev in ("syscall", "compat-syscall"):
            prefs += [inp.vars["uip"] == 0x400FFE, inp.vars["uip"] == (1 << 47) - 2,
                      b.flags == USER_FIXED_FLAGS, b.flags & ~EFLAGS_TF == USER_FIXED_FLAGS, inp.vars["usp"] == 0x7FFFFFFFE000]
        if ev == "exec":
            prefs += [z3.Not(inp.vars["is32"]), inp.vars["entry"] == 0x401000]
        if ev == "signal":
            prefs += [inp.vars["handler"] == 0x401100, inp.vars["handler"] == (1 << 47)]
        if ev == "uprobe":
            prefs += [z3.Not(inp.vars["probe_tf"]), z3.Not(inp.vars["uret"])]
    model = first
    solver.set("timeout", 2000)
    for c in prefs:
        solver.push()
        solver.add(c)
        r = check([], solver=solver)
        solver.pop()
        if r.sat:
            model = r.model
            solver.add(c)  # keep it (inside the caller's push scope)
    return model


def _extract(res: PropertyResult, mc: Machine, m, S, inps, sels) -> None:
    for j, (inp, sel) in enumerate(zip(inps, sels)):
        ev = EVENT_NAMES[m.eval(sel).as_long()]
        res.steps.append(Step(ev, {n: _val(m, v) for n, v in inp.vars.items()},
                              tuple(_state_vals(m, s) for s in S[j]),
                              tuple(_state_vals(m, s) for s in S[j + 1])))
    res.final = tuple(_state_vals(m, s) for s in S[len(inps)])


def bmc_only(mc: Machine, depth: int, timeout_ms: int = 60000) -> str:
    """The naive baseline for the benchmark: one BMC query per depth up to
    `depth`, no invariants, no induction.  Returns VIOLATED or "bounded"."""
    S = [mc.fresh("n0_")]
    base = [mc.init(S[0])]
    for n in range(depth + 1):
        r = check(base + [mc.bad(S[n])], timeout_ms)
        if r.sat:
            return VIOLATED
        inp, sel = Inputs(f"n{n}_i_"), z3.BitVec(f"n{n}_sel", 4)
        S.append(mc.fresh(f"n{n + 1}_"))
        base.append(mc.trans(S[n], S[n + 1], inp, sel))
    return "bounded"


def reachable(d: Design, event: str, depth: int, extra=None, timeout_ms: int = 60000) -> bool:
    """Non-vacuity: can `event` be the last of `depth` events from Init (and
    `extra(state_before_it)` hold)?  Guards the models against guards so
    strong that proofs hold vacuously."""
    mc = safety_machine(d)
    S = [mc.fresh("r0_")]
    cons = [mc.init(S[0])]
    sel = None
    for n in range(depth):
        sel = z3.BitVec(f"r{n}_sel", 4)
        S.append(mc.fresh(f"r{n + 1}_"))
        cons.append(mc.trans(S[n], S[n + 1], Inputs(f"r{n}_i_"), sel))
    cons.append(sel == EVENT_NAMES.index(event))
    if extra is not None:
        cons.append(extra(S[depth - 1][0]))
    r = check(cons, timeout_ms)
    if r.unknown:
        raise RuntimeError(f"z3 unknown: {r.reason}")
    return r.sat
