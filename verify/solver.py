"""The one z3 wrapper: three outcomes, and `unknown` is never folded into
`sat` or `unsat`.

A verifier that reads z3's `unknown` (timeout, resource limit, incomplete
theory) as "no counterexample" would report a proof it does not have; one that
reads it as "counterexample" would print a model that does not exist.  Every
caller in `verify/` and `models/` goes through `check()` and must handle the
three statuses separately.
"""
from __future__ import annotations

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


def check(constraints: Iterable[z3.BoolRef], timeout_ms: int | None = None,
          solver: z3.Solver | None = None) -> Result:
    """Decide the conjunction of `constraints`.

    `timeout_ms` bounds this query only (None: no bound).  A caller may pass
    its own `solver` (e.g. one built with a tactic); the constraints are
    added to it.
    """
    s = solver if solver is not None else z3.Solver()
    if timeout_ms is not None:
        s.set("timeout", int(timeout_ms))
    for c in constraints:
        s.add(c)
    r = s.check()
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
    s = z3.Solver()
    if timeout_ms is not None:
        s.set("timeout", int(timeout_ms))
    for c in constraints:
        s.add(c)
    out: list[int] = []
    while len(out) <= limit:
        r = s.check()
        if r == z3.unsat:
            return "all", out
        if r != z3.sat:
            return UNKNOWN, []
        v = s.model().eval(term, model_completion=True).as_long()
        out.append(v)
        s.add(term != v)
    return "more", out
