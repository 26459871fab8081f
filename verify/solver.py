"""The one z3 wrapper: three outcomes, and `unknown` is never folded into
`sat` or `unsat`.

A verifier that reads z3's `unknown` (timeout, resource limit, incomplete
theory) as "no counterexample" would report a proof it does not have; one that
reads it as "counterexample" would print a model that does not exist.  Every
caller in `verify/` and `models/` goes through `check()` and must handle the
three statuses separately.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Optional

import z3


def _context_del_guard():
    """A z3.Context whose __init__ was interrupted (prove/rounds.py's
    SIGALRM round budget can fire inside it) has no `owner`; z3's own
    __del__ then prints a traceback at exit.  Such a context holds nothing
    to free: skip it."""
    orig = z3.Context.__del__

    def __del__(self):
        if hasattr(self, "owner"):
            orig(self)

    z3.Context.__del__ = __del__


_context_del_guard()

SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"


@dataclass(frozen=True)
class Result:
    """status: "sat" | "unsat" | "unknown".  model: a z3 model iff sat.
    reason: z3's reason_unknown() iff unknown, else ""."""

    status: str
    model: Optional[z3.ModelRef] = None
    reason: str = ""

    @property
    def sat(self) -> bool:
        return self.status == SAT

    @property
    def unsat(self) -> bool:
        return self.status == UNSAT

    @property
    def unknown(self) -> bool:
        return self.status == UNKNOWN


def new_solver() -> z3.Solver:
    """A solver for the prover's queries (bit-vectors and booleans only):
    z3's `qfbv` tactic (simplify, bit-blast, SAT) as a solver.  z3's default
    solver answers a first check() the same way, but each assertion also
    goes to its incremental core, which rewrites it there and then: on 60
    adversarial fixtures that was a fifth of the whole check's time
    (measured, thirty-first session; the same statuses and reasons).  A
    push/pop or a check after more assertions solves again from the start
    (the queries here are one or two checks each).  A query the tactic
    cannot take (a term outside bit-vectors) is asked again of the default
    solver (check())."""
    s = z3.Tactic("qfbv").solver()
    s.bit_vectors_only = True  # (check(): asked again of the default solver)
    return s


# reason_unknown() of a query that ran out of time or was interrupted: not
# asked again (the default solver would run out the same way)
_OUT_OF_TIME = ("timeout", "canceled", "interrupted", "max. resource limit exceeded", "max. memory exceeded")


def check(constraints: Iterable[z3.BoolRef], timeout_ms: int | None = None,
          solver: z3.Solver | None = None) -> Result:
    """Decide the conjunction of `constraints`.

    `timeout_ms` bounds this query only (None: no bound).  A caller may pass
    its own `solver` (e.g. one from new_solver() with its assertions); the
    constraints are added to it.  An `unknown` of a tactic solver for any
    other reason than time is asked again of z3's default solver, over the
    same assertions, within what is left of the time.
    """
    s = solver if solver is not None else new_solver()
    t0 = time.monotonic()
    if timeout_ms is not None:
        s.set("timeout", int(timeout_ms))
    for c in constraints:
        s.add(c)
    r = s.check()
    if r == z3.unknown and getattr(s, "bit_vectors_only", False) and \
            not (s.reason_unknown() or "").startswith(_OUT_OF_TIME):
        left = None if timeout_ms is None else int(timeout_ms - (time.monotonic() - t0) * 1000)
        if left is None or left >= 1:
            return check(s.assertions(), timeout_ms=left, solver=z3.Solver())
    if r == z3.sat:
        return Result(SAT, s.model(), "")
    if r == z3.unsat:
        return Result(UNSAT, None, "")
    return Result(UNKNOWN, None, s.reason_unknown() or "unknown")


def _free_constants(term) -> list:
    """The uninterpreted constants of a term, each once (a walk of its DAG by
    node id: z3util.get_vars walks it as a tree, exponential in shared
    subterms)."""
    seen: set = set()
    out = []
    stack = [term]
    while stack:
        e = stack.pop()
        i = e.get_id()
        if i in seen:
            continue
        seen.add(i)
        if z3.is_const(e):
            if e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
                out.append(e)
        else:
            stack.extend(e.children())
    return out


def sampled_values(term: z3.BitVecRef, limit: int, tries: int = 3) -> set:
    """Values the unconstrained term takes at pseudo-random assignments of
    its variables (deterministic seed).  Each one is a value it really
    takes (no constraint rules an assignment out), so more than `limit` of
    them answers "more" exactly, without the limit + 1 solver queries that
    answer took (a fifth of a fixture's check; the explorer's addresses are
    mostly loaded pointers of 2^64 values).  Fewer: the solver decides."""
    import random

    rng = random.Random(0x5EED)
    variables = _free_constants(term)
    if not all(z3.is_bool(v) or z3.is_bv(v) for v in variables):
        return set()  # (an array or other sort: the solver decides)
    seen: set = set()
    for _ in range(limit + 1 + tries):
        sub = [(v, z3.BoolVal(rng.random() < 0.5) if z3.is_bool(v) else z3.BitVecVal(rng.getrandbits(v.size()),
                                                                                     v.size()))
               for v in variables]
        val = z3.simplify(z3.substitute(term, *sub) if sub else term)
        if not z3.is_bv_value(val):
            return seen  # (an uninterpreted part: leave it to the solver)
        seen.add(val.as_long())
        if len(seen) > limit:
            break
    return seen


def distinct_values(term: z3.BitVecRef, constraints: Iterable[z3.BoolRef], limit: int,
                    timeout_ms: int | None = None) -> tuple[str, list[int]]:
    """The values `term` takes under `constraints`, enumerated up to limit+1.
    -> ("all", values) when there are at most `limit` (none: unsatisfiable),
    ("more", first limit+1 values) when there are more, ("unknown", [])
    when a query was not decided."""
    constraints = list(constraints)
    if not constraints:
        seen = sampled_values(term, limit)
        if len(seen) > limit:
            return "more", sorted(seen)[:limit + 1]
    out: list[int] = []
    while len(out) <= limit:
        # (each value asked anew: new_solver's tactic solves from the start
        # after more assertions anyway; timeout_ms bounds each query)
        r = check([*constraints, *(term != v for v in out)], timeout_ms=timeout_ms)
        if r.unsat:
            return "all", out
        if not r.sat:
            return UNKNOWN, []
        out.append(r.model.eval(term, model_completion=True).as_long())
    return "more", out
