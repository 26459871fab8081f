"""BMC for minimal counterexamples, (k-)induction for unbounded proofs, and
reachability witnesses against vacuity.

Pass order for one property:
  0. the machine's invariants (models.invariants.task_invariants, and
     frames_agree on a product) are proven inductive: Init => Inv,
     Inv /\\ T => Inv'.  A failure is a model bug (inconclusive).
  1. Houdini over the candidate lemma(s): each is kept only if it holds
     initially and is inductive relative to the invariants and the other
     kept lemmas.
  2. for n = 0, 1, 2, ...:
       BMC(n):  Init(s0) /\\ T(s0,s1) /\\ ... /\\ Bad(sn).
                sat -> counterexample of n events plus the exit; minimal,
                because BMC(0..n-1) were unsat.
       STEP(k=n+1): Inv(t0..tk) /\\ ~Bad(t0..t(k-1)) /\\ T(t0..tk) /\\ Bad(tk).
                unsat -> proven for every depth.
  3. a proof is reported only with reachability witnesses: from Init, every
     event of the machine fires, and the design returns both by SYSRET and by
     IRET (and by SYSRETL on Linux), within `WITNESS_DEPTH` events.  A missing
     witness turns "proven" into "vacuous" (not proven: the proof may hold
     only because the guards exclude the case it is about).
  4. neither proof nor counterexample by `max_depth`: inconclusive.
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
from .designs import _EXIT_MEMO, Design
from .events import events_for
from .state import Inputs, TaskState

PROVEN, VIOLATED, INCONCLUSIVE, VACUOUS = "proven", "violated", "inconclusive", "vacuous"
WITNESS_DEPTH = 4
# k-induction is tried for k <= MAX_K only: with the lemmas every proof in the
# table closes at k = 1; past MAX_K the search is BMC only (then inconclusive).
MAX_K = 1
SEL_BITS = 4


@dataclass(frozen=True)
class Machine:
    """One design; `designs` is a tuple so that a product of several designs
    stepped by the same events on the same inputs can be built (tests do)."""

    property_id: str
    designs: tuple            # (Design,) or (Design, reference)
    bad_fn: Callable          # states -> z3 bool
    lemma_fns: tuple = ()     # ((name, states -> z3 bool), ...): candidates
    events: tuple = ()        # models.events.Event, `exit` last

    def fresh(self, prefix: str) -> tuple:
        return tuple(TaskState.fresh(f"{prefix}m{j}_") for j in range(len(self.designs)))

    def init(self, ss) -> z3.BoolRef:
        c = [inv.initial(d, s) for d, s in zip(self.designs, ss)]
        if len(ss) == 2:
            c.append(inv.frames_agree(ss[0], ss[1]))
        return z3.And(*c)

    def invariants(self, ss) -> list:
        out = [(f"{f.__name__}[{j}]", f(d, s)) for j, (d, s) in enumerate(zip(self.designs, ss))
               for f in inv.task_invariants(d)]
        if len(ss) == 2:
            out.append(("frames_agree", inv.frames_agree(ss[0], ss[1])))
        return out

    def inv(self, ss, lemmas=()) -> z3.BoolRef:
        names = set(lemmas)
        return z3.And(*(e for _, e in self.invariants(ss)),
                      *(fn(ss) for n, fn in self.lemma_fns if n in names))

    def trans(self, ss, ss2, inp: Inputs, sel: z3.BitVecRef) -> z3.BoolRef:
        """sel picks the event; every machine takes that event on `inp`.
        Built once per machine as a template over placeholder variables and
        instantiated by substitution (building the terms in Python dominated
        the run time)."""
        tmpl = self.__dict__.get("_tmpl")
        if tmpl is None:
            a, b = self.fresh("_ta_"), self.fresh("_tb_")
            ti, tsel = Inputs("_ti_"), _sel("_tsel")
            body = self._trans(a, b, ti, tsel)
            tmpl = (a, b, ti, tsel, body)
            object.__setattr__(self, "_tmpl", tmpl)
        a, b, ti, tsel, body = tmpl
        pairs = [(tsel, sel)]
        for x, y in ((a, ss), (b, ss2)):
            for s0, s1 in zip(x, y):
                pairs += [(getattr(s0, f), getattr(s1, f)) for f in s0.__dataclass_fields__]
        for name, v in ti.vars.items():
            w = inp.bool(name) if z3.is_bool(v) else inp.bv(name, v.size())
            pairs.append((v, w))
        return z3.substitute(body, *pairs)

    def _trans(self, ss, ss2, inp: Inputs, sel: z3.BitVecRef) -> z3.BoolRef:
        """Per field: next = If(sel == 0, new_0, If(sel == 1, new_1, ...));
        the guard of the chosen event holds."""
        out = [z3.ULT(sel, len(self.events))]
        for d, s, s2 in zip(self.designs, ss, ss2):
            steps = [ev.step(d, s, inp) for ev in self.events]
            guard = steps[-1][0]
            for k in range(len(steps) - 2, -1, -1):
                guard = z3.If(sel == k, steps[k][0], guard)
            out.append(guard)
            for f in s.__dataclass_fields__:
                val = getattr(steps[-1][1], f)
                for k in range(len(steps) - 2, -1, -1):
                    val = z3.If(sel == k, getattr(steps[k][1], f), val)
                out.append(getattr(s2, f) == val)
        return z3.And(*out)

    def bad(self, ss) -> z3.BoolRef:
        return self.bad_fn(ss)

    @property
    def event_names(self) -> tuple:
        return tuple(e.name for e in self.events)


def safety_machine(d: Design) -> Machine:
    return Machine("safety", (d,), lambda ss: inv.unsafe_exit(d, ss[0]),
                   (("safe_if_exit_now", lambda ss: inv.safe_if_exit_now(d, ss[0])),),
                   events_for(d.os))


def equivalence_machine(d: Design) -> Machine:
    """The reference (IRET, Design.reference) returns from the same frame.
    It has no state of its own that the user can see (IRET reads only the
    pt_regs slots the design's machine holds), so it is evaluated on the
    design's own state: there is no second machine whose guards could make
    a state of the design unreachable."""
    ref = d.reference()
    return Machine("equivalence", (d,), lambda ss: inv.divergent_exit(d, ss[0], ref, ss[0]),
                   (("equal_if_exit_now", lambda ss: inv.equal_if_exit_now(d, ss[0], ref, ss[0])),),
                   events_for(d.os))


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
    bmc_depth: int = 0
    steps: list = field(default_factory=list)   # counterexample (events before the final exit)
    final: tuple = ()                      # per machine: state values at the final exit
    reason: str = ""
    seconds: float = 0.0
    invariants: list = field(default_factory=list)
    lemmas: list = field(default_factory=list)
    witnesses: dict = field(default_factory=dict)   # kind -> bool (reachable within WITNESS_DEPTH)
    event_names: tuple = ()

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


def _sel(name: str) -> z3.BitVecRef:
    return z3.BitVec(name, SEL_BITS)


def check_invariants(mc: Machine, timeout_ms: int) -> tuple:
    """(why, lemmas): `why` is None if the invariants are inductive, else why
    not (a model bug, or z3 unknown); `lemmas` are the candidate lemmas that
    hold initially and are inductive relative to the invariants and each
    other (Houdini: drop a failing candidate, retry).  The common case costs
    two queries: the conjunction of everything is checked first."""
    fns = dict(mc.lemma_fns)
    keep = list(fns)
    s0, s1 = mc.fresh("inv0_"), mc.fresh("inv1_")
    inp, sel = Inputs("inv_i_"), _sel("inv_sel")
    init = z3.Solver()
    init.set("timeout", timeout_ms)
    init.add(mc.init(s0))
    r = check([z3.Not(mc.inv(s0))], solver=_scoped(init))
    init.pop()
    if r.unknown:
        return f"could not decide whether the initial states meet the invariants: z3 unknown ({r.reason})", []
    if r.sat:
        return "initial states violate the invariants (model bug)", []
    for n in list(keep):
        r = check([z3.Not(fns[n](s0))], solver=_scoped(init))
        init.pop()
        if not r.unsat:
            keep.remove(n)
    step = z3.Solver()
    step.set("timeout", timeout_ms)
    step.add(mc.inv(s0), mc.trans(s0, s1, inp, sel))
    while True:
        goals = mc.invariants(s1) + [(n, fns[n](s1)) for n in keep]
        r = check([mc.inv(s0, keep), z3.Not(z3.And(*(e for _, e in goals)))], solver=_scoped(step))
        if r.unsat:
            step.pop()
            return None, keep
        if r.unknown:
            step.pop()
            return f"could not decide whether the invariants are inductive: z3 unknown ({r.reason})", []
        m = r.model
        step.pop()
        broken = [n for n, e in goals if not z3.is_true(m.eval(e, model_completion=True))]
        ev = mc.event_names[m.eval(sel, model_completion=True).as_long()]
        bad_inv = [n for n in broken if n not in fns]
        if bad_inv:
            return f"invariant {bad_inv[0]} is not inductive: event {ev} breaks it (model bug)", []
        keep = [n for n in keep if n not in broken]


def _scoped(solver: z3.Solver) -> z3.Solver:
    solver.push()
    return solver


def prove(mc: Machine, max_depth: int = 8, timeout_ms: int = 60000, witnesses: bool = True) -> PropertyResult:
    t0 = time.perf_counter()
    _EXIT_MEMO.clear()   # terms of earlier proofs: keeping them alive slows z3 and the GC
    res = PropertyResult(mc.property_id, INCONCLUSIVE, event_names=mc.event_names)
    res.invariants = [n for n, _ in mc.invariants(mc.fresh("names_"))]
    why, lemmas = check_invariants(mc, timeout_ms)
    if why:
        res.reason = why
        res.seconds = time.perf_counter() - t0
        return res
    res.lemmas = lemmas

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
            _extract(res, mc, _prettify(mc, bmc, r.model, S, inps, sels), S, inps, sels)
            res.status, res.method = VIOLATED, "bmc"
            bmc.pop()
            break
        bmc.pop()
        if r.unknown:
            res.reason = f"BMC depth {n}: z3 unknown ({r.reason})"
            break
        k = n + 1
        if k > MAX_K:
            inp, sel = Inputs(f"b{n}_i_"), _sel(f"b{n}_sel")
            S.append(mc.fresh(f"b{n + 1}_"))
            bmc.add(mc.trans(S[n], S[n + 1], inp, sel))
            inps.append(inp)
            sels.append(sel)
            continue
        T = [mc.fresh(f"k{k}_{j}_") for j in range(k + 1)]
        cons = [mc.inv(t, lemmas) for t in T]
        for j in range(k):
            cons.append(mc.trans(T[j], T[j + 1], Inputs(f"k{k}_i{j}_"), _sel(f"k{k}_sel{j}")))
            cons.append(z3.Not(mc.bad(T[j])))
        cons.append(mc.bad(T[k]))
        r = check(cons, timeout_ms)
        if r.unsat:
            res.status, res.k = PROVEN, k
            res.method = "induction" if k == 1 else "k-induction"
            break
        if r.unknown:
            step_unknown = f"induction step k={k}: z3 unknown ({r.reason})"
        inp, sel = Inputs(f"b{n}_i_"), _sel(f"b{n}_sel")
        S.append(mc.fresh(f"b{n + 1}_"))
        bmc.add(mc.trans(S[n], S[n + 1], inp, sel))
        inps.append(inp)
        sels.append(sel)
    else:
        res.reason = step_unknown or (f"no counterexample of up to {max_depth + 1} events (exit included) and no "
                                      f"inductive proof up to k={min(MAX_K, max_depth + 1)}: bounded result only")
        res.method = "bmc"
    if res.status == PROVEN and witnesses:
        res.witnesses = witness(mc, timeout_ms=timeout_ms)
        missing = [w for w, ok in res.witnesses.items() if not ok]
        if missing:
            res.status = VACUOUS
            res.reason = (f"proof holds, but no run of up to {WITNESS_DEPTH} events reaches: "
                          + ", ".join(missing) + " (vacuous: not a proof)")
    res.seconds = time.perf_counter() - t0
    return res


def witness_kinds(mc: Machine) -> list:
    d = mc.designs[0]
    kinds = [f"event:{n}" for n in mc.event_names] + ["exit:SYSRET", "exit:IRET"]
    if d.os == "linux":
        kinds.append("exit:SYSRETL")
    return kinds


# Scripted runs tried first by `witness` (each a fixed event sequence, with
# the exit kind it should show); whatever they miss is searched for.
SCRIPTS = {
    "linux": ((("syscall", "stop", "poke", "resume", "sigreturn", "exec", "uprobe-syscall", "exit-work",
                "signal", "restart", "rseq", "exit"), None),
              (("syscall", "exit-work", "exit"), "exit:SYSRET"), (("int80", "exit-work", "exit"), "exit:IRET"),
              (("fast32", "exit-work", "exit"), "exit:SYSRETL")),
    "freebsd": ((("syscall", "stop", "setregs", "resume", "sigreturn", "exec", "restart", "exit-work", "signal",
                  "exit"), "exit:IRET"),
                (("syscall", "exit-work", "exit"), "exit:SYSRET")),
}


def _scripted(mc: Machine, timeout_ms: int) -> dict:
    d = mc.designs[0]
    seen = {k: False for k in witness_kinds(mc)}
    names = mc.event_names
    for seq, exit_kind in SCRIPTS.get(d.os, ()):
        if any(e not in names for e in seq):
            continue
        S = [mc.fresh("ws0_")]
        cons = [mc.init(S[0])]
        for n, e in enumerate(seq):
            S.append(mc.fresh(f"ws{n + 1}_"))
            cons.append(mc.trans(S[n], S[n + 1], Inputs(f"ws{n}_i_"), z3.BitVecVal(names.index(e), SEL_BITS)))
        if exit_kind:
            info = d.exit(S[len(seq) - 1][0])
            cons.append({"exit:SYSRET": info.use_sysret, "exit:SYSRETL": info.use_sysretl,
                         "exit:IRET": z3.And(z3.Not(info.use_sysret), z3.Not(info.use_sysretl))}[exit_kind])
        if check(cons, timeout_ms).sat:
            for e in seq:
                seen[f"event:{e}"] = True
            if exit_kind:
                seen[exit_kind] = True
    return seen


def witness(mc: Machine, depth: int = WITNESS_DEPTH, timeout_ms: int = 60000) -> dict:
    """Which event kinds and exits of design 0 a run from Init reaches within
    `depth` events.  Greedy cover, deepening from 3 events: ask for a run
    with any kind not yet seen, mark everything that run shows, repeat until
    unsat; then add a step for what is still missing."""
    d = mc.designs[0]
    seen = _scripted(mc, timeout_ms)
    if all(seen.values()):
        return seen
    S = [mc.fresh("w0_")]
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(mc.init(S[0]))
    exit_k = mc.event_names.index("exit")
    parts = {k: [] for k in witness_kinds(mc)}
    for n in range(depth):
        sel = _sel(f"w{n}_sel")
        S.append(mc.fresh(f"w{n + 1}_"))
        solver.add(mc.trans(S[n], S[n + 1], Inputs(f"w{n}_i_"), sel))
        for k, name in enumerate(mc.event_names):
            parts[f"event:{name}"].append(sel == k)
        info = d.exit(S[n][0])
        parts["exit:SYSRET"].append(z3.And(sel == exit_k, info.use_sysret))
        parts["exit:IRET"].append(z3.And(sel == exit_k, z3.Not(info.use_sysret), z3.Not(info.use_sysretl)))
        if "exit:SYSRETL" in parts:
            parts["exit:SYSRETL"].append(z3.And(sel == exit_k, info.use_sysretl))
        if n < 2:
            continue
        while True:
            todo = [k for k, v in seen.items() if not v]
            if not todo:
                return seen
            conds = {k: z3.Or(*parts[k]) for k in todo}
            solver.push()
            r = check([z3.Or(*conds.values())], solver=solver)
            solver.pop()
            if not r.sat:
                break
            for k in todo:
                if z3.is_true(r.model.eval(conds[k], model_completion=True)):
                    seen[k] = True
    return seen


def _prettify(mc: Machine, solver: z3.Solver, first: z3.ModelRef, S, inps, sels) -> z3.ModelRef:
    """Among the counterexamples of this (minimal) length and these events,
    prefer one a reader can follow: writers change only the registers they
    must, flags carry no incidental bits, addresses are round.  Greedy: each
    preference is kept if the trace stays a counterexample; a preference z3
    cannot decide quickly is dropped.  Only cosmetic: the length and the
    events were fixed by the BMC query."""
    from .state import REGS, USER_FIXED_FLAGS
    from verify.obligations import EFLAGS_TF

    names = mc.event_names
    solver.add(*(sel == first.eval(sel) for sel in sels))   # keep the events (true in `first`)
    prefs = []
    for j, (inp, sel) in enumerate(zip(inps, sels)):
        ev = names[first.eval(sel).as_long()]
        a, b = S[j][0], S[j + 1][0]
        v = inp.vars
        if ev in ("poke", "setregs", "sigreturn", "uprobe-syscall"):
            prefs += [z3.And(*(getattr(b, r) == getattr(a, r) for r in REGS))]
            prefs += [getattr(b, r) == getattr(a, r) for r in REGS]
            prefs += [b.ip == (1 << 47), b.cx == (1 << 47), b.r11 == 0x3202]
        if ev in ("syscall", "int80", "fast32"):
            prefs += [v["uip"] == 0x400FFE] if "uip" in v else []
            prefs += [v["uip"] == (1 << 47) - 2] if "uip" in v else []
            prefs += [v["uflags"] & EFLAGS_TF == 0, b.flags == USER_FIXED_FLAGS,
                      z3.Or(b.flags == USER_FIXED_FLAGS, b.flags == USER_FIXED_FLAGS | EFLAGS_TF),
                      v["usp"] == 0x7FFFFFFFE000]
            prefs += [z3.Not(v["from32"])] if "from32" in v else []
        if ev == "exec":
            prefs += [z3.Not(v["is32"])] if "is32" in v else []
            prefs += [v["entry"] == 0x401000]
        if ev == "signal":
            prefs += [z3.Not(v["ia32"])] if "ia32" in v else []
            prefs += [v["handler"] == 0x401100] if "handler" in v else []
            prefs += [v["handler"] == (1 << 47)] if "handler" in v else []
        if ev == "uprobe-syscall":
            prefs += [z3.Not(v["sys_uprobe"])]
        if ev == "rseq":
            prefs += [v["abort_ip"] == 0x401200]
        if ev == "resume":
            prefs += [z3.Not(v["step"])]
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
        ev = mc.event_names[m.eval(sel).as_long()]
        res.steps.append(Step(ev, {n: _val(m, v) for n, v in inp.vars.items()},
                              tuple(_state_vals(m, s) for s in S[j]),
                              tuple(_state_vals(m, s) for s in S[j + 1])))
    res.final = tuple(_state_vals(m, s) for s in S[len(inps)])


def find_trace(mc: Machine, depth: int, require: Callable, timeout_ms: int = 60000) -> Optional[PropertyResult]:
    """A counterexample of exactly `depth` events before the exit that also
    meets `require(states, sels, inputs)` (a z3 bool), or None.  Used to ask
    for traces of a given shape (e.g. a check passed at a writer, then a
    later change), which the minimal trace need not have."""
    S = [mc.fresh("f0_")]
    inps, sels = [], []
    cons = [mc.init(S[0])]
    for n in range(depth):
        inp, sel = Inputs(f"f{n}_i_"), _sel(f"f{n}_sel")
        S.append(mc.fresh(f"f{n + 1}_"))
        cons.append(mc.trans(S[n], S[n + 1], inp, sel))
        inps.append(inp)
        sels.append(sel)
    cons += [mc.bad(S[depth]), require(S, sels, inps)]
    r = check(cons, timeout_ms)
    if not r.sat:
        return None
    res = PropertyResult(mc.property_id, VIOLATED, "bmc", event_names=mc.event_names)
    _extract(res, mc, r.model, S, inps, sels)
    return res


def bmc_only(mc: Machine, depth: int, timeout_ms: int = 60000) -> str:
    """The naive baseline for the benchmark: one BMC query per depth up to
    `depth`, no invariants, no induction.  Returns VIOLATED or "bounded"."""
    S = [mc.fresh("n0_")]
    base = [mc.init(S[0])]
    for n in range(depth + 1):
        r = check(base + [mc.bad(S[n])], timeout_ms)
        if r.sat:
            return VIOLATED
        inp, sel = Inputs(f"n{n}_i_"), _sel(f"n{n}_sel")
        S.append(mc.fresh(f"n{n + 1}_"))
        base.append(mc.trans(S[n], S[n + 1], inp, sel))
    return "bounded"
