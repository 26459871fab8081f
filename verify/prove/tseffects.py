"""The TS_COMPAT effects of summarised callees, answered beside the
exploration (parallel.Server) and pinned in the queries.

What a havocking callee does to TS_COMPAT (tscompat.py: keep, clear, at most
its old value, or anything) costs seconds to read on 6.12 (the exit path's
closure), and the exploration needs it only in the queries: nothing else
reads the bit but code after the call, through the state.  So the explorer
writes the bit after each such call as a function of a fresh 2-bit symbol,
the kind (explore.Explorer._ts_compat_effect), asks for the kind here, and
goes on; a second process computes the answers meanwhile, and every query
of that exploration gets `kind == answer` for every call it asked about
(constraints()).  With the constraints, the state is exactly the one an
in-process answer would have built; so every verdict is as before.  A
query without them is only weaker (the kinds free): it is used only for
"holds on every path", which carries over to the pinned states
(rounds._hold_without_ts_pins, while the answers are still being computed).

The answer for a call is the callee's effect read from its code
(TsCompatEffects.of) unless the callee is handed a pointer into the current
task (an argument register or stack argument holding current + k) through
which it may set the bit (MaySet.task_context / in_context): then "any".
"""
from __future__ import annotations

import mmap
import time

from . import parallel
from .tscompat import _ARG_REGS, _ENGINE_STACK_ARGS, ANY, CLEAR, KEEP, MAYCLEAR

KIND_CODES = {KEEP: 0, CLEAR: 1, MAYCLEAR: 2, ANY: 3}
ARG_REGS = _ARG_REGS
# the stack arguments a callee without a prototype may read: RSP + k after
# its return address is pushed (tscompat.MaySet.task_context)
STACK_ARG_OFFSETS = range(8, _ENGINE_STACK_ARGS + 8, 8)


def effect(ts, target, name, readable: bool, regs: dict, stack: dict) -> tuple[str, bool]:
    """(kind, rests on assumption ts-compat-writers) of one call: what the
    engine's in-process reading gave before this module (Summaries.of plus
    Explorer._with_task_arguments)."""
    eff = ts.of(target, name)
    if eff.kind == ANY:
        return ANY, False
    if readable:
        ctx = ts.may_set.task_context(target, lambda r: regs.get(r, ()), lambda k: stack.get(k, ()))
        if ctx and ts.may_set.in_context(target, ctx) is not None:
            return ANY, False
    return eff.kind, eff.assumed


_JOB = "job"  # a request that is not an effect() call (whose first item is an address)
# a job's claim byte (TsEffects._claims, shared by both processes): who runs it
_FREE, _PARENT, _CHILD = 0, 1, 2
MAX_JOBS = 16


def _serve(ts, claims, req):
    if req[0] == _JOB:
        _tag, slot, fn, args = req
        if claims[slot] == _PARENT:
            return None  # taken back (TsEffects.take_back): the parent runs it
        claims[slot] = _CHILD
        return fn(ts.program, *args)
    return effect(ts, *req)


class TsEffects:
    """The parent's handle: ask() per summarised call, constraints() per
    exploration."""

    def __init__(self, ts, fork: bool = True):
        self.ts = ts
        # one byte per job, in memory both processes share (an anonymous
        # mapping made before the fork)
        self._claims = mmap.mmap(-1, MAX_JOBS)
        self._jobs: dict = {}  # ticket -> (its claim byte, fn, args)
        # the whole-image graph every answer needs is built first
        self._server = parallel.Server(lambda req: _serve(ts, self._claims, req), warm=ts.may_set.prepare,
                                       fork=fork)

    def submit(self, fn, *args) -> int:
        """Run fn(program, *args) in the answering process, after the
        answers asked for so far (image-only work: rounds._work_ahead), or
        here if take_back() comes first.  fn must be a module-level function
        (it crosses the pipe by name), deterministic, and its answer plain
        values."""
        slot = len(self._jobs)
        if slot >= MAX_JOBS:
            raise ValueError("too many jobs")
        ticket = self._server.ask((_JOB, slot, fn, args))
        self._jobs[ticket] = (slot, fn, args)
        return ticket

    def take_back(self, ticket: int) -> None:
        """The parent has nothing else to do until the answers come (it
        would wait): it runs the job itself unless the answering process
        has started it already.  Both may run it when the two claims cross;
        the answer is the same either way (result() takes the parent's)."""
        if len(self._jobs[ticket]) == 4:
            return  # (taken back already)
        slot, fn, args = self._jobs[ticket]
        if self._claims[slot] == _FREE:
            self._claims[slot] = _PARENT
            self._jobs[ticket] = (slot, fn, args, fn(self.ts.program, *args))

    def result(self, ticket: int):
        job = self._jobs[ticket]
        return job[3] if len(job) == 4 else self._server.answer(ticket)

    def ask(self, target, name, readable, regs: dict, stack: dict) -> int:
        regs = {r: t for r, t in regs.items() if t != ()}
        stack = {k: t for k, t in stack.items() if t != ()}
        return self._server.ask((target, name, readable, regs, stack))

    def ready(self, ex) -> bool:
        """Whether every answer the exploration asked for is in (no wait)."""
        return self._server.ready([ticket for ticket, _kind, _site in ex.ts_asks])

    def constraints(self, explorer, ex) -> list:
        """z3 constraints pinning every kind the exploration asked for; the
        call sites whose answer rests on ts-compat-writers join the
        exploration's assumptions."""
        import claripy
        import z3

        conv = claripy.backends.z3.convert
        out = []
        for ticket, kind, site in ex.ts_asks:
            k, assumed = self._server.answer(ticket)
            out.append(conv(kind == KIND_CODES[k]))
            if assumed and site is not None:
                ex.assumptions.setdefault("ts-compat-writers", set()).add(explorer.program.symbolize(site))
        return [z3.And(*out)] if out else []

    def close(self):
        self._server.close()



def settle(explorer, ex) -> float:
    """The TS_COMPAT effects the exploration asked for, as constraints every
    query of it gets (ex.ts_pins, decide.variant_constraint); none without a
    TS_COMPAT process.  Before waiting for them, explorer.before_ts_wait (the
    compat explorations: the check's image-only work taken back from that
    process, rounds._compat_job) lets this process work meanwhile.  -> the
    seconds this took: the wait, not the exploration's own cost."""
    effects = explorer.ts_effects
    if effects is None:
        ex.ts_pins = []
        return 0.0
    t = time.monotonic()
    if not effects.ready(ex) and explorer.before_ts_wait is not None:
        explorer.before_ts_wait(lambda: effects.ready(ex))
    ex.ts_pins = effects.constraints(explorer, ex)
    return time.monotonic() - t
