"""The refinement rounds of verify.prove.check_image (its docstring):
explorations, queries, the witness, the compat entries and the second
entries, over a Program whose TS_COMPAT process is already running.

Importing this module imports the engine (explore.py, semantics.py:
claripy, pyvex, angr's VEX helpers; about half a second): verify.prove
starts the TS_COMPAT process first.
"""
from __future__ import annotations

import sys
import contextlib
import signal
import threading
import time

from ..finding import INCONCLUSIVE, PROVEN, VIOLATED, CheckResult, Finding
from ..obligations import EXIT_OBLIGATION_IDS
from . import compat
from . import decide as dec
from . import entries, tseffects
from .assumptions import ASSUMPTIONS
from ..image.encoding import MAX_INSN, sysret_at
from ..image.entry import sysret_instructions
from .cfg import CfgError, static_sysret_sites
from .explore import Explorer, Inconclusive, refutes
from .parallel import rss_mib
from .program import Program
from .summary import Summaries

MAX_ROUNDS = 12
# Refinement follows more callees each round; the rounds after the first
# share one window of REFINE_WINDOW seconds from the start of the first: a
# round still running when it closes ends refinement, and what is still open
# stays inconclusive with the reason found so far (never a verdict by
# timeout).  The first round has only the overall --timeout.
REFINE_WINDOW = 8.0
# The window and the witness budget count the main thread's CPU time
# (time.thread_time): on a loaded machine (a CI runner building other
# kernels) the wall clock would close them early and change the verdict.
# A wall-clock alarm at this multiple of the budget still ends a round stuck
# in one long step.  The TS_COMPAT process's CPU time (tseffects.py) is
# not in the window: a round waits for its answers under the wall alarm.
_WALL_BACKSTOP = 4.0
# Refinement rounds and the witness stop at this resident size (the first
# round, the one the register proofs need, has no such limit): issue 9's
# 500 MiB per check.  On 6.12 the first round and the TS_COMPAT call graph
# (tscompat.py) leave ~400 MiB resident; the witness then peaks at ~470 MiB.
REFINE_MEMORY_MIB = 440
REFINE_CEILING_MIB = 495
# Both are for a check in a process of its own (the CLI; batch runs one
# process per kernel), which is resident at about 60 MiB when the check
# starts.  What a longer-lived process (a test run, a library caller) holds
# beyond FRESH_PROCESS_MIB when the check starts is added to both: without
# that, a check after a real kernel's in the same process found its
# refinement rounds over budget at once and ended inconclusive where a
# fresh process proves (tests/test_parallel.py's early-pass test in CI).
FRESH_PROCESS_MIB = 100
WITNESS_BUDGET = 6.0  # seconds for the witness path


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt a round that outlives its budget even inside one long step
    (a flag helper or simplification over a huge term): SIGALRM raises
    Inconclusive between Python bytecodes.  Only in the main thread; z3
    calls have their own timeouts."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    active = [True]

    def fire(_sig, frame):
        if not active[0]:
            return  # delivered while the limit was being lifted
        # never raise inside a finaliser or a weakref callback (z3's
        # AstRef.__del__, WeakValueDictionary's remove): Python would print
        # and swallow the exception; try again a moment later instead
        f = frame
        while f is not None:
            if f.f_code.co_name in ("__del__", "remove", "_remove_dead_weakref"):
                signal.setitimer(signal.ITIMER_REAL, 0.005)
                return
            f = f.f_back
        raise Inconclusive("timeout: the round's time budget ran out")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))
    try:
        yield
    finally:
        # Order matters: a re-armed timer firing after the default handler
        # is back would kill the process (SIGALRM's default action).
        active[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        signal.setitimer(signal.ITIMER_REAL, 0)


def variants(prog: Program) -> list[dict]:
    feats = {e.feature for es in prog.sites.values() for e in es if e.kind == "alternative"}
    la, xen = prog.feature_la57, prog.feature_xenpv
    has_la57 = (la is not None and la in feats) or "__pgtable_l5_enabled" in prog.symbols or \
        "pgtable_l5_enabled" in prog.symbols
    has_xenpv = xen is not None and (xen in feats or any(e.kind == "paravirt" for es in prog.sites.values()
                                                           for e in es))
    out = [{"name": "4-level", "la57": False, "fixed": {la: False, xen: False}}]
    if has_la57:
        out.append({"name": "la57", "la57": True, "fixed": {la: True, xen: False}})
    if has_xenpv:
        out.append({"name": "xenpv", "la57": False, "fixed": {la: False, xen: True}})
    for v in out:
        v["fixed"] = {k: b for k, b in v["fixed"].items() if k is not None}
        v["detail"] = {"name": v["name"], "paging": "5-level (LA57)" if v["la57"] else "4-level",
                       "features": {"X86_FEATURE_LA57": v["la57"], "X86_FEATURE_XENPV": v["name"] == "xenpv"}}
    return out


def _refine_memory_limit(explorer) -> int:
    """REFINE_MEMORY_MIB, or a little above what is resident when a round or
    the witness starts (the page cache's share of the mapped image varies
    from run to run), never above REFINE_CEILING_MIB; both raised by what the
    process held before the check (explorer.prior_mib, FRESH_PROCESS_MIB)."""
    prior = explorer.prior_mib
    # (+96 over the resident size: with +40, Debian's generic 6.1 ended its
    # compat SYSENTER exploration at the budget in one run of about fifteen
    # on one day, twenty-ninth session, the rest at 449-461 MiB max RSS;
    # with +56 once more, thirty-fourth session, on a machine loaded by a
    # test suite, from 393 MiB resident; with +72 the uniprocessor kernel's
    # compat SYSENTER refinement, from 403 MiB, in two fresh-clone runs of
    # the suite; the ceiling keeps every process under issue 9's 500 MiB)
    return int(min(REFINE_CEILING_MIB + prior, max(REFINE_MEMORY_MIB + prior, rss_mib() + 96)))


def _confirm(explorer, wvs, todo, follow, finding, deadline, stats, prog, width_of=None, via_dispatch=False):
    """Decide the open (site, obligation) pairs `todo[variant]` of the
    variants `wvs` on one witness exploration (Explorer.run, witness=True):
    only a violation counts, as the witness leaves paths out.  via_dispatch:
    the path runs the syscall where it can, and every path of the functions
    round 1 followed (as compat.py's witness does): a register the exit
    leaves as the syscall and the exit work left it (no-kernel-data) shows
    only there."""
    t1 = time.monotonic()
    explorer.deadline = deadline
    explorer.cpu_deadline = time.thread_time() + WITNESS_BUDGET
    explorer.memory_limit_mib = _refine_memory_limit(explorer)
    fixed = {f: b for f, b in wvs[0]["fixed"].items() if all(v["fixed"].get(f) == b for v in wvs)}
    try:
        with _time_limit(min(deadline - t1, _WALL_BACKSTOP * WITNESS_BUDGET)):
            split = frozenset(f for v in wvs for f in v["fixed"])
            if prog.has_pti and prog.feature_pti is not None:
                # both sides of the PTI sites: the witness of a user-cr3
                # violation runs SWITCH_TO_USER_CR3 (PTI is free in the
                # queries, decide.Query, not a variant)
                split |= {prog.feature_pti}
            # ... and keeps every path of the functions round 1 followed
            # (6.12's do_syscall_64 decides SYSRET in C: the path nearest
            # its return may be the IRET one)
            explorer.witness_via_dispatch = explorer.witness_keep_followed = via_dispatch
            ex = explorer.run(frozenset(follow), fixed, witness=True, split=split)
            tseffects.settle(explorer, ex)
    except Inconclusive as e:
        # (not marked as a refutation: the witness also refutes the
        # balanced inner calls of clear_bhb_loop's idiom, which round 1
        # rightly summarised as returning home (summary_stack_shapes turned
        # inconclusive), so a witness's refutation is not yet evidence;
        # adv_r197_witness_refuted is a known gap)
        stats.append({"witness": "error", "error": str(e), "seconds": round(time.monotonic() - t1, 3)})
        return
    finally:
        explorer.cpu_deadline = None
        explorer.witness_via_dispatch = explorer.witness_keep_followed = False
    stats.append({"witness": "path", "blocks": ex.blocks, "seconds": round(time.monotonic() - t1, 3)})
    widths = width_of or {}
    for v, site, oid, why, cex in dec.witness_violations(explorer, ex, wvs, todo, prog.constants, deadline,
                                                         lambda site: {"width": widths.get(site, "sysretq")}):
        finding(v, site, oid, VIOLATED, why, cex)


class _Phased:
    """A piece of work in phases (a generator that pauses between them and
    returns its value), started when first asked."""

    def __init__(self, make):
        self._make, self._gen, self._done, self._value = make, None, False, None
        self._raised = None

    def step(self):
        """Run the next phase (nothing once done).  A phase that raised
        raises again at every later step: the generator is dead, and its
        value is not None."""
        if self._raised is not None:
            raise self._raised
        if self._done:
            return
        if self._gen is None:
            self._gen = self._make()
        try:
            next(self._gen)
        except StopIteration as stop:
            self._done, self._value = True, stop.value
        except BaseException as e:
            self._raised = e
            raise

    def result(self):
        while not self._done:
            self.step()
        return self._value


def _compat_job(prog, summaries, vs, deadline, prior_mib, ts_effects, ahead: dict):
    """The compat sysretl sites (compat.py) on an explorer of their own,
    with the TS_COMPAT answers of the same process (ts_effects; before it
    waits for them, the image-only work in `ahead` is taken back).  A
    generator (check_compat's): it pauses once, every entry explored, before
    anything waits for the answers.  -> (findings as (variant name, site,
    oid, status, reason, cex, seconds), round stats, assumptions used)."""
    records, stats = [], []

    def finding(v, site, oid, status, reason, cex=None, dt=0.0):
        records.append((v["name"], site, oid, status, reason, cex, dt))

    def before_ts_wait(ready):
        _take_back(ts_effects, ahead, ready)

    explorer = Explorer(prog, summaries, deadline=deadline)
    explorer.prior_mib = prior_mib
    explorer.ts_effects = ts_effects
    explorer.before_ts_wait = before_ts_wait
    used = yield from compat.check_compat(prog, summaries, explorer, vs, deadline, finding, stats, _time_limit)
    return records, stats, used


def _second_entries(prog, vs, final, finding, width_of=None, search=None, returns_elsewhere=None) -> dict:
    """A SYSRET site that other code jumps into the exit path to reach
    (entries.py) is not proven by an exploration from entry_SYSCALL_64:
    its "proven" findings become inconclusive, per variant in which the
    site is reachable from that jump.  -> assumptions used (id -> where).
    search: entries.search's answer, when computed ahead.
    returns_elsewhere: Summaries.may_return_elsewhere; a target's static
    walk that stopped at an IRET, a `ret` or an indirect call, or took a
    callee that may return elsewhere to come back, may reach any site.

    Once per width the 64-bit walk reached: W for sysretq as always (its
    rule applies to every proven finding whose site the jump reaches, or to
    all of them when the search fails), and, when entry_SYSCALL_64 reaches
    a sysretl (adv_r6_sysretl_from_64), W for sysretl, applied to those
    sysretl sites only (compat.py looks after the compat entries' own: a
    compat entry is a second entry here, which only costs precision at a
    sysretl both reach)."""
    used: dict = {"sysret-path-direct-entries": {prog.symbolize(prog.entry.syscall_entry)},
                  "syscall-entry-msrs": {prog.symbolize(prog.entry.syscall_entry)}}
    mine_l = {s for s, w in (width_of or {}).items() if w == "sysretl"}
    searched = search or entries.search(prog, vs, width_of)
    for kinds, (found, why, xen, reaches, trapped) in searched.items():
        for int3, _entry in trapped:
            used.setdefault("int3-traps", set()).add(prog.symbolize(int3))
        for v in vs:
            for src, tgt in (found if found is not None else [(None, None)]):
                if (src, tgt) in xen and v["name"] != "xenpv":
                    used.setdefault("xen-pv-entries", set()).add(prog.symbolize(src))
                    continue
                reach = reaches.get((v["name"], tgt)) if src is not None else None
                if reach is not None:
                    sites, stopped, calls = reach
                    reach = None if stopped or returns_elsewhere is None or returns_elsewhere(calls) else sites
                for (vname, site, oid), f in list(final.items()):
                    if vname != v["name"] or f.status != PROVEN or (reach is not None and site not in reach):
                        continue
                    if kinds == ("sysretl",) and site not in mine_l:
                        continue
                    how = (f"this SYSRET is also reached from {prog.symbolize(src)}, a direct jump into the exit "
                           f"path at {prog.symbolize(tgt)}, from a state the analysis does not build"
                           if src is not None else f"the search for other jumps into the exit path failed: {why}")
                    finding(v, site, oid, INCONCLUSIVE, how)
    # W is searched inside the entry text only: a SYSRET the exploration
    # reached elsewhere (in a callee it ran) may be jumped to from anywhere
    # (a ret_from_fork in .text jumping past a callee's checks:
    # adv_r169_callee_exit_2nd_entry); every real kernel's SYSRETs are in
    # the entry text
    lo, hi = prog.entry.entry_text
    for (vname, site, oid), f in list(final.items()):
        if f.status == PROVEN and not lo <= site < hi:
            v = next(x for x in vs if x["name"] == vname)
            finding(v, site, oid, INCONCLUSIVE, "this SYSRET lies outside the entry text, where the search for other "
                    "jumps into the exit path does not look")
    return used


def _hold_without_ts_pins(explorer, ex, prog, live, all_sites, oids_of, final, width_of, deadline,
                          frame: str = "pt_regs", default_width: str = "sysretq") -> dict:
    """What the first round can decide before the TS_COMPAT answers arrive
    (tseffects.settle; on two cores that process is the critical path):
    (variant, site) -> (its Query, the obligations that hold there with the
    TS_COMPAT kinds free, the seconds that took), one holding query per
    site for every obligation but ts-compat-clear.  `final`: the (variant,
    site, oid) already decided; frame and default_width: the entry's
    (decide.Query; the compat entries use this too, compat._explore_entry).

    Soundness: the answers only pin the fresh 2-bit kinds each summarised
    call got (tseffects.py), so the states with the pins are a subset of
    those without, and an obligation that holds on every path without them
    holds with them.  Nothing else carries over: a model without the pins
    may not exist with them (a violation is decided after them, as
    before), and the site's feasibility is still checked with them (a
    SYSRET no path reaches under the pins keeps the no-path rule)."""
    by_site: dict = {}
    for h in ex.hits:
        by_site.setdefault(h.site, []).append(h)
    out = {}
    for v in live:
        extra = dec.variant_constraint(explorer, ex, v["fixed"], ts_pins=False)
        for site, hits in by_site.items():
            if site not in all_sites:
                continue
            todo = [o for o in oids_of(site) if (v["name"], site, o) not in final and
                    o not in dec.READS_TS_COMPAT]
            q = dec.Query(explorer, hits, v["la57"], prog.constants, width=width_of.get(site, default_width),
                          frame=frame)
            t2 = time.monotonic()
            ms = int(max(1.0, min(120.0, deadline - time.monotonic())) * 1000)
            held = dec.holding(q, todo, extra, ms)
            out[(v["name"], site)] = (q, held, time.monotonic() - t2)
    return out


def _work_ahead(explorer, prog, vs, width_of, ahead: dict) -> None:
    """Start the end of a check's work that reads only the image, as two
    jobs (the byte scan for every SYSRET instruction, entries.sysret_scan,
    ~1.2 s on 6.12; the second-entry search, entries.second_entry_search,
    ~0.3 s) in the TS_COMPAT process, queued behind the answers the first
    rounds asked for (submitted after the compat entries' asks, so none of
    those answers waits behind them).  Whichever process is free first runs
    them: when this one would only wait for the answers it takes jobs back
    (_take_back), the larger first, one at a time while the answers are
    still not in; that process runs the rest once its answers are done.
    Both processes are busy to the end on two cores, so the split moves
    work to whichever finishes first.  Without that process they run here
    when _ahead_search asks for them (parallel.Server)."""
    if explorer.ts_effects is not None:
        ahead["tickets"] = [explorer.ts_effects.submit(entries.sysret_scan),
                            explorer.ts_effects.submit(entries.second_entry_search, vs, width_of)]


def _take_back(ts_effects, ahead: dict, ready) -> None:
    """This process would wait for the TS_COMPAT answers (ready() false):
    it runs _work_ahead's jobs that process has not started, in the order
    submitted, until the answers are in."""
    for ticket in ahead.get("tickets", ()):
        if ready():
            return
        ts_effects.take_back(ticket)


def _ahead_search(explorer, prog, ahead: dict):
    """_work_ahead's answers: the second-entry search (None when it was not
    started: a first round that ended inconclusive), its SYSRET scan
    memoised on the image as if computed here."""
    if "tickets" not in ahead:
        return None
    scan, search = ahead.pop("tickets")
    prog.image.__dict__.setdefault("_sysret_instructions", explorer.ts_effects.result(scan))
    return explorer.ts_effects.result(search)


def _site_widths(prog, width_of: dict, hit_sites) -> dict:
    """Every SYSRET instruction of the image reachable from any entry:
    site -> the obligations it must meet (the union over the entries that
    reach it: SITE_OBLIGATIONS of its width; at an ignore stub's sysretl the
    two that apply there, compat._site_oids).  From the image's own walk
    from every SYSRET entry (image.entry.all_sysret_sites, what `inspect`
    lists), the 64-bit static walk (width_of) and every site the exploration
    reached (hit_sites; width from its bytes, both sets when they are not a
    SYSRET encoding)."""
    sob = dec.obligations.SITE_OBLIGATIONS
    out: dict = {}

    def add(site, oids):
        out[site] = tuple(dict.fromkeys(out.get(site, ()) + tuple(oids)))

    for d in getattr(prog.entry, "all_sysret_sites", ()):
        for name in d["entries"] or (None,):
            if d["width"] == "sysretl" and name in compat.IGNORE_ENTRIES:
                add(d["address"], compat._site_oids("registers"))
            else:
                add(d["address"], sob[d["width"]])
    for site in prog.entry.sysret_sites:
        add(site, sob["sysretq"])
    for site, w in width_of.items():
        add(site, sob[w])
    for site in hit_sites:
        if site in width_of:
            continue
        w = hit_width(prog, site)
        for x in (w,) if w is not None else ("sysretq", "sysretl"):
            add(site, sob[x])
    return out


def hit_width(prog, site: int) -> str | None:
    """The width of the SYSRET at a site an exploration reached, from its
    bytes (image/encoding.py's one classifier: any prefixes, any REX), or
    None when they are not readable as one (inside a patch site: the
    callers then owe both widths' obligations)."""
    try:
        found = sysret_at(prog.fetch(site, MAX_INSN))
    except CfgError:
        return None
    return found[0] if found is not None else None


def _add_hit_sites(prog, ex, width_of: dict, all_sites: list) -> None:
    """A SYSRET instruction the exploration reached that the static walks
    did not list (through a callee they take to return, a resolved
    indirect call: adv_r91_icall_compat_tail) is decided like any other
    site: its width from its bytes (hit_width).  One whose bytes do not say
    is closed as inconclusive before the compat answers are merged
    (_check)."""
    for site in sorted({h.site for h in ex.hits} - set(width_of)):
        w = hit_width(prog, site)
        if w is not None:
            width_of[site] = w
            all_sites.append(site)
    all_sites.sort()


def _recheck_proven(explorer, ex, q, v, site, oids, extra, remaining_ms, finding) -> None:
    """Decide again, on a later round's exploration, obligations an earlier
    round proved at this site: a violation this round confirms (a replayed
    counterexample through no over-approximation) replaces the proof; any
    other answer leaves it (rounds._check)."""
    t = time.monotonic()
    for oid, cex in dec.confirmed_violations(explorer, ex, q, oids, extra, remaining_ms):
        finding(v, site, oid, VIOLATED, dec.explain(oid, cex, v["detail"]["paging"]), cex, time.monotonic() - t)


def _release_caches(explorer) -> None:
    """Between explorations: the solver backend's conversion caches and the
    explorer's term memo only serve the exploration that filled them (each
    round makes fresh symbols); dropping them keeps the peak RSS to one
    round's working set."""
    import claripy

    claripy.backends.z3.downsize()
    explorer._stack_const_memo.clear()
    explorer._kconst_memo.clear()


def _dispatch_callers(prog, summaries) -> list[int]:
    try:
        cfg = prog.cfg(prog.entry.syscall_entry)
    except CfgError:
        return []
    out = []
    for b in cfg.blocks.values():
        t = b.last.target if b.kind in ("call", "tail") else None
        if t is not None and summaries.readable(t, prog.start_name(t)) and \
                summaries.writes_of(t, prog.start_name(t)).reaches_dispatch:
            out.append(t)
    return sorted(set(out))


def check_image(image, prog: Program, summaries: Summaries, ts_effects, t0: float, timeout: float,
                progress: bool = False, rss0: float = 0.0) -> CheckResult:
    """The rounds (module docstring of verify.prove) over a Program whose
    TS_COMPAT process (tseffects.TsEffects) is already running."""
    deadline = t0 + timeout
    vs = variants(prog)
    # Two processes share the work (parallel.py): the TS_COMPAT effects of
    # the summarised callees are computed in the TS_COMPAT process
    # (tseffects.py), forked before the engine was imported; this one
    # explores from entry_SYSCALL_64, then, while those answers are computed,
    # decides what it can without them, does the image-only end of the
    # check and runs the compat entries (round 1, before tseffects.settle).  A third
    # process for the compat entries was measured: about 0.7 s faster on
    # 6.12, but their copy-on-write and exploration pages took the summed
    # memory from 485 to about 600 MiB (issue 9's limit is 500).
    prior_mib = max(0.0, rss0 - FRESH_PROCESS_MIB)  # _refine_memory_limit
    ahead: dict = {}  # _work_ahead's ticket, then answers
    compat_job = _Phased(lambda: _compat_job(prog, summaries, vs, deadline, prior_mib, ts_effects, ahead))
    explorer = Explorer(prog, summaries, deadline=deadline)
    explorer.prior_mib = prior_mib
    explorer.ts_effects = ts_effects
    return _check(image, prog, summaries, explorer, vs, compat_job, t0, deadline, progress, ahead)


def _check(image, prog, summaries, explorer, vs, compat_job, t0, deadline, progress, ahead) -> CheckResult:
    # the image hash (a background thread since open()) is read at the end:
    # it overlaps the proof instead of delaying it
    result = CheckResult(image.path, image.name, "", image.build_id, image.version)
    sym = prog.symbolize
    final: dict = {}  # (variant, site, oid) -> Finding
    pending_reason: dict = {}
    # The first exploration follows the entry code's callees that reach the
    # syscall dispatch (do_syscall_64): their summary is "anything", so every
    # obligation reading state written after the syscall would blame them in
    # a first round that followed nothing.  Only an ordering of refinement:
    # every verdict still comes from the queries.
    follow: set = set(_dispatch_callers(prog, summaries))
    entry = prog.entry.syscall_entry
    static_sites = {}
    # Every SYSRET instruction the 64-bit entry reaches, of either width,
    # gets every obligation of its width (obligations.SITE_OBLIGATIONS):
    # a `sysretl` reached from entry_SYSCALL_64 (a 64-bit task that exec'd a
    # 32-bit program, adv_r6_sysretl_from_64) is a return to user mode like
    # any other, and compat.py explores only the compat entries.  Soundness:
    # the site set is the union of the static walk of every patch-site
    # choice (both widths) and the image's own walk from the entry; the
    # obligations at a sysretl are decided on the same merged state with
    # the sysretl query (decide.Query width), and anything not decided ends
    # inconclusive (the catch-all after _second_entries).
    width_of: dict = {}  # site -> "sysretq" | "sysretl"
    static_irets: dict = {}  # variant -> the IRETs its static walk stopped at
    static_calls: dict = {}  # variant -> the callees it took to return
    for v in vs:
        try:
            static_sites[v["name"]] = static_sysret_sites(prog, entry, v["fixed"], kinds=("sysret", "sysretl"),
                                                          widths=width_of,
                                                          irets=static_irets.setdefault(v["name"], set()),
                                                          calls=static_calls.setdefault(v["name"], set()))
        except CfgError as e:
            static_sites[v["name"]] = None
            pending_reason[v["name"]] = f"static SYSRET walk failed: {e}"
    for site in prog.entry.sysret_sites:
        width_of.setdefault(site, "sysretq")
    for d in getattr(prog.entry, "all_sysret_sites", ()):
        if "entry_SYSCALL_64" in d["entries"]:
            width_of.setdefault(d["address"], d["width"])
    all_sites = sorted(width_of)
    site_oids = dec.obligations.SITE_OBLIGATIONS

    def oids_of(site):
        return site_oids[width_of.get(site, "sysretq")]

    hit_sites: set = set()

    def finding(v, site, oid, status, reason, cex=None, dt=0.0):
        final[(v["name"], site, oid)] = Finding(oid, site, sym(site), v["name"], v["detail"], status, reason, cex, dt)

    # a variant the static walk shows has no SYSRET: proven without exploring
    # (not when the walk stopped at an IRET: one to CPL 0 goes on in the
    # kernel, where the walk does not follow; the exploration decides it
    # from the frame, adv_r65_la57_iret_bypass; nor when a callee it took to
    # return may return elsewhere, adv_r66_la57_call_skips_walk)
    live = []
    for v in vs:
        ss = static_sites[v["name"]]
        if ss is not None and not ss and not static_irets.get(v["name"]) and \
                not summaries.may_return_elsewhere(static_calls.get(v["name"], ())):
            for site in all_sites:
                for oid in oids_of(site):
                    finding(v, site, oid, PROVEN, f"no SYSRET is reachable under {v['name']} (static walk of "
                            "every patch-site choice)")
        else:
            live.append(v)
    rounds, stats = 0, []
    blocks_total = hits_total = 0
    # every round's: an obligation decided in round 1 (ts-compat-clear,
    # often) rests on what round 1 assumed, though later rounds follow the
    # callees it summarised and need less (adv_r29_mid_insn: the report
    # had dropped ts-compat-writers)
    used: dict = {}
    blamed: dict = {}  # open (variant, site, oid) -> summarised callees its counterexample went through
    witnessed = False

    def is_open(k):
        return k not in final and k in pending_reason

    def witness():
        # obligations whose counterexamples all passed through summaries: one
        # witness path (every readable callee run, not summarised) may confirm
        # them as violated before any further refinement
        todo = {v["name"]: [(site, oid) for site in all_sites for oid in oids_of(site)
                            if is_open((v["name"], site, oid))] for v in vs}
        todo = {k: t for k, t in todo.items() if t}
        if todo and time.monotonic() < deadline:
            # ... and the obligations round 1 proved at the same variants:
            # the witness runs callees round 1 summarised, and a violation
            # it confirms of one of them means that summary was wrong (a
            # helper that left AC set, which its summary did not say:
            # adv_r182_summary_popf_ac's five proofs stood beside the
            # violation the witness confirmed)
            for vname in todo:
                todo[vname] += [(site, oid) for site in all_sites for oid in oids_of(site)
                                if final.get((vname, site, oid)) is not None
                                and final[(vname, site, oid)].status == PROVEN]
            _confirm(explorer, [v for v in vs if v["name"] in todo], todo, follow, finding, deadline, stats, prog,
                     width_of)
        # an exit-family obligation still open: a second witness through the
        # syscall (the first takes the path nearest to SYSRET, which may skip it)
        todo = {v["name"]: [(site, oid) for site in all_sites for oid in oids_of(site)
                            if oid in EXIT_OBLIGATION_IDS and is_open((v["name"], site, oid))] for v in vs}
        todo = {k: t for k, t in todo.items() if t}
        if todo and time.monotonic() < deadline:
            _confirm(explorer, [v for v in vs if v["name"] in todo], todo, follow, finding, deadline, stats, prog,
                     width_of, via_dispatch=True)

    def pend_all(why):
        for v in live:
            for site in all_sites:
                for oid in oids_of(site):
                    k = (v["name"], site, oid)
                    if k not in final:
                        pending_reason[k] = f"{pending_reason[k]} ({why})" if k in pending_reason else why

    last_round_seconds = 0.0  # (CPU seconds of the last round: a refinement round is not shorter)
    while live and rounds < MAX_ROUNDS:
        rounds += 1
        if progress:
            names = ", ".join(sorted(sym(a) for a in follow)) or "no calls"
            print(f"sysret-verify: round {rounds}: following {names}", file=sys.stderr)
        t1 = time.monotonic()
        c1 = time.thread_time()
        explorer.deadline = deadline
        if rounds == 1:
            c_first = c1
            explorer.cpu_deadline = None
            explorer.memory_limit_mib = 0
            backstop = deadline - t1
        else:
            explorer.memory_limit_mib = _refine_memory_limit(explorer)
            # refinement rounds share one window of CPU time from the start
            # of the first round: what is still open when it closes stays
            # inconclusive with its reason (never a verdict by timeout)
            explorer.cpu_deadline = c_first + REFINE_WINDOW
            backstop = min(deadline - t1, _WALL_BACKSTOP * REFINE_WINDOW)
            # a refinement round follows more than the last one, so it takes
            # at least as long: one that cannot fit is not started
            if explorer.cpu_deadline - c1 < last_round_seconds:
                stats.append({"round": rounds, "error": f"refinement window ({REFINE_WINDOW:.0f} s) too short for "
                              f"another round (the last took {last_round_seconds:.1f} s)"})
                result.budget_cut = True
                break
        try:
            fixed = {f: b for f, b in live[0]["fixed"].items() if all(v["fixed"].get(f) == b for v in live)}
            with _time_limit(backstop):
                ex = explorer.run(frozenset(follow), fixed)
            _add_hit_sites(prog, ex, width_of, all_sites)
            # while the TS_COMPAT process works: here the compat entries
            # are explored, the image-only end of the check is queued
            # there (behind their asks)
            # and, if the answers are still not in, the obligations that
            # hold without them are decided, theirs and then this
            # exploration's (with the answers in, the queries after the
            # settle decide everything at once); only then does anything
            # wait for the answers (the compat entries' decisions first)
            if rounds == 1:
                compat_job.step()
                _work_ahead(explorer, prog, vs, width_of, ahead)
            held_early = {} if explorer.ts_effects is None or explorer.ts_effects.ready(ex) else \
                _hold_without_ts_pins(explorer, ex, prog, live, all_sites, oids_of, final, width_of, deadline)
            if rounds == 1:
                compat_job.result()
            if explorer.ts_effects is not None:
                # nothing left here but to wait for the answers: the
                # image-only work not started there runs here
                _take_back(explorer.ts_effects, ahead, lambda: explorer.ts_effects.ready(ex))
            with _time_limit(max(0.01, min(backstop, deadline - time.monotonic()))):
                tseffects.settle(explorer, ex)
        except Inconclusive as e:
            if "timeout" in str(e) or "budget" in str(e):
                result.budget_cut = True
            following = ", ".join(sorted(sym(a) for a in follow)) or "no calls"
            pend_all(f"following {following}: {e}" if rounds > 1 else str(e))
            stats.append({"round": rounds, "error": str(e), "seconds": round(time.monotonic() - t1, 3),
                          **refutes(e)})
            break
        by_site: dict = {}
        for h in ex.hits:
            by_site.setdefault(h.site, []).append(h)
        hit_sites.update(by_site)
        remaining_ms = lambda: int(max(1.0, min(120.0, deadline - time.monotonic())) * 1000)  # noqa: E731
        for v in live:
            extra = dec.variant_constraint(explorer, ex, v["fixed"])
            reached_any = False
            for site in all_sites:
                hits = by_site.get(site)
                todo = [o for o in oids_of(site) if (v["name"], site, o) not in final]
                # what an earlier round proved, on summaries of callees this
                # round follows: a violation this round confirms replaces
                # the proof (the summary was wrong: a helper's popf toggling
                # ID, adv_r183_idflag_popf, proven in round 1 and violated
                # once round 2 ran the helper; anything but a confirmed
                # violation leaves the proof)
                recheck = [o for o in oids_of(site) if rounds > 1 and (v["name"], site, o) in final
                           and final[(v["name"], site, o)].status == PROVEN] if hits else []
                if not todo and not recheck:
                    continue
                if not hits:
                    continue
                q, early, dt_early = held_early.get((v["name"], site)) or \
                    (dec.Query(explorer, hits, v["la57"], prog.constants, width=width_of.get(site, "sysretq")),
                     frozenset(), 0.0)
                feasible = dec.solver.check([q.guard, *extra], timeout_ms=remaining_ms())
                if feasible.unsat:
                    continue
                reached_any = True
                mixed = dec.other_width(q, extra, remaining_ms())
                if mixed:
                    for oid in todo:
                        finding(v, site, oid, INCONCLUSIVE, mixed)
                    continue
                if recheck:
                    _recheck_proven(explorer, ex, q, v, site, recheck, extra, remaining_ms, finding)
                if not todo:
                    continue
                t2 = time.monotonic()
                rest = [o for o in todo if o not in early]
                together = dec.holding(q, rest, extra, remaining_ms())
                dt_together = time.monotonic() - t2
                for oid in todo:
                    t2 = time.monotonic()
                    status, model, blame = ("proven", None, []) if oid in together or oid in early else \
                        dec.decide(q, oid, extra, ex.events, remaining_ms())
                    dt = dt_early if oid in early else dt_together if oid in together else time.monotonic() - t2
                    k = (v["name"], site, oid)
                    if status == "proven":
                        finding(v, site, oid, PROVEN, f"holds on every path reaching this SYSRET "
                                f"({ex.blocks} blocks explored, round {rounds})", None, dt)
                    elif status == "violated":
                        cex, why = dec.counterexample(explorer, ex, q, oid, model, extra)
                        if cex is None:
                            finding(v, site, oid, INCONCLUSIVE, f"a model was found but did not replay: {why}")
                        else:
                            finding(v, site, oid, VIOLATED, dec.explain(oid, cex, v["detail"]["paging"]), cex, dt)
                    elif status == "unknown":
                        finding(v, site, oid, INCONCLUSIVE, f"z3 returned unknown ({blame})")
                    else:
                        names = sorted({e.name for e in blame})
                        pending_reason[k] = "a counterexample exists only through over-approximations: " + \
                            "; ".join(names[:6])
                        blamed[k] = {e.target for e in blame if e.kind == "summary" and e.target is not None}
            if not reached_any:
                ss = static_sites.get(v["name"])
                for site in all_sites:
                    for oid in oids_of(site):
                        if (v["name"], site, oid) in final:
                            continue
                        if ss is None or site in ss:
                            finding(v, site, oid, INCONCLUSIVE,
                                    f"SYSRET is statically reachable under {v['name']} but no explored path "
                                    "reaches it" if ss else pending_reason.get(v["name"], "static walk failed"))
                        else:
                            finding(v, site, oid, PROVEN, f"no SYSRET reachable under {v['name']}")
        last_round_seconds = time.thread_time() - c1  # CPU time, like the window
        stats.append({"round": rounds, "blocks": ex.blocks, "followed": len(follow),
                      "seconds": round(time.monotonic() - t1, 3), "cpu_seconds": round(last_round_seconds, 3)})
        for aid, where in ex.assumptions.items():
            used.setdefault(aid, set()).update(where)
        blocks_total += ex.blocks
        hits_total = len(ex.hits)
        if not witnessed:
            witnessed = True
            witness()
        live = [v for v in live if any((v["name"], s, o) not in final for s in all_sites for o in oids_of(s))]
        refine = set()
        for k, targets in blamed.items():
            if is_open(k):
                refine |= targets - follow
        if not refine:
            break
        follow |= refine
        # the next exploration replaces this one: only one lives at a time
        ex = by_site = q = None
        _release_caches(explorer)
    if not witnessed:
        witness()
    # anything still open: inconclusive with its reason.  Before the compat
    # entries' answers are merged: a sysretl both reach keeps the worse of
    # the two, and one this exploration left open is no better than
    # inconclusive (a compat "proven" is about the compat entries' paths
    # only: adv_r91_icall_compat_tail)
    for v in vs:
        for site in all_sites:
            for oid in oids_of(site):
                if (v["name"], site, oid) not in final:
                    finding(v, site, oid, INCONCLUSIVE, pending_reason.get(
                        (v["name"], site, oid), "refinement budget exhausted" if rounds >= MAX_ROUNDS else
                        "not decided"))
        for site in sorted(hit_sites - set(width_of)):
            for oid in dict.fromkeys(dec.obligations.SITE_OBLIGATIONS["sysretq"] +
                                     dec.obligations.SITE_OBLIGATIONS["sysretl"]):
                if (v["name"], site, oid) not in final:
                    finding(v, site, oid, INCONCLUSIVE, "an exploration reached this SYSRET, whose width its "
                            "bytes do not give (inside a patch site): not decided")
    # the compat sysretl sites (compat.py): their own entries, explorations
    # and obligations (decided after the first round's exploration)
    records, compat_stats, compat_assumptions = compat_job.result()
    by_name = {v["name"]: v for v in vs}
    rank = {PROVEN: 0, INCONCLUSIVE: 1, VIOLATED: 2}
    for vname, site, oid, status, reason, cex, dt in records:
        old = final.get((vname, site, oid))
        if old is not None and rank[old.status] > rank[status]:
            continue  # a sysretl the 64-bit entry reaches too: the worst answer of the two stands
        if old is not None and old.status == status == PROVEN:
            reason = f"from entry_SYSCALL_64: {old.reason}; {reason}"
        finding(by_name[vname], site, oid, status, reason, cex, dt)
    stats.extend(compat_stats)
    if any(k in s.get("error", "") for s in compat_stats for k in ("timeout", "budget", "window")):
        result.budget_cut = True  # an answer cut by the budget is never cached
    refuted = next((s["error"] for s in stats if s.get("refutes")), None)
    if refuted is not None:
        # An exploration that ran a callee (a refinement round, the compat
        # witness, a compat entry's round, which follows do_fast_syscall_32's
        # callees from the first; not the 64-bit witness, _confirm) found it
        # returning elsewhere than to its caller.
        # Any proof may have summarised that callee as returning home
        # (abi-callee-saved): every one is taken back, in every variant and
        # entry, as which summaries a proof used is not recorded.  Only
        # taking back the proofs of the round's own entry after its first
        # round let a witness's refutation stand beside round 1's proofs
        # (adv_r197_witness_refuted).
        for (vname, site, oid), f in list(final.items()):
            if f.status == PROVEN:
                finding(by_name[vname], site, oid, INCONCLUSIVE, "proven on summaries of callees, one of which, "
                        f"followed, refutes abi-callee-saved ({refuted})")
    entry_assumptions = _second_entries(prog, vs, final, finding, width_of, _ahead_search(explorer, prog, ahead),
                                        summaries.may_return_elsewhere)
    # The catch-all: every sysret/sysretl instruction reachable from any
    # entry gets every obligation of its width, decided above or
    # inconclusive here, never silently skipped (a site that no exploration
    # decided: a sysretq only a compat entry reaches, a Hit the static walks
    # did not list).  On a kernel where every such site was decided this
    # adds nothing.
    for site, oids in _site_widths(prog, width_of, hit_sites).items():
        for v in vs:
            for oid in oids:
                if (v["name"], site, oid) not in final:
                    finding(v, site, oid, INCONCLUSIVE, "this SYSRET instruction is reachable from an entry but no "
                            "exploration decided this obligation at it")
    # ... and every other SYSRET instruction the image's code holds: one no
    # walk from a SYSRET entry reaches (an IDT entry's own sysretl,
    # adv_r17_int80_sysretl; an entry point loaded into MSR_LSTAR other
    # than entry_SYSCALL_64) is a return to user mode from a state this
    # analysis does not build
    walked: dict = {}  # site -> the widths the walks and explorations took it for
    for site, w in width_of.items():
        walked.setdefault(site, set()).add(w)
    for x in getattr(prog.entry, "all_sysret_sites", ()):
        walked.setdefault(x["address"], set()).add(x["width"])
    for site in prog.entry.sysret_sites:
        walked.setdefault(site, set()).add("sysretq")
    for site in hit_sites:
        walked.setdefault(site, set())
    for d in sysret_instructions(image):
        if d["address"] not in walked:
            why = ("no SYSRET entry reaches this SYSRET instruction: the entry it returns from (an interrupt or "
                   "exception vector, another MSR_LSTAR target) and the state it sees are not analysed")
        elif walked[d["address"]] and d["width"] not in walked[d["address"]]:
            # the byte scan reads the code boot may put in place; the walks
            # read one decode of the address (adv_r55_sysret_prefix_before_site:
            # a prefix on disk before a site's bytes): that width's
            # obligations are owed too
            why = (f"the image's bytes, as boot may patch them, hold a {d['width']} here, which no exploration "
                   "decided")
        else:
            continue
        for v in vs:
            for oid in dec.obligations.SITE_OBLIGATIONS[d["width"]]:
                if (v["name"], d["address"], oid) not in final:
                    finding(v, d["address"], oid, INCONCLUSIVE, why)
    dec.spread_unestablished(final, prog.iret_user_flags())
    all_ids = dec.obligations.ALL_OBLIGATION_IDS
    result.findings = [final[k] for k in sorted(final, key=lambda k: ([x["name"] for x in vs].index(k[0]), k[1],
                                                                       all_ids.index(k[2])))]
    for aid, where in compat_assumptions.items():
        used.setdefault(aid, set()).update(where)
    for aid, where in entry_assumptions.items():
        used.setdefault(aid, set()).update(where)
    for aid in sorted(set(used) | {"abi-callee-saved", "abi-frames", "private-regions", "instruction-boundaries"}):
        result.assumptions.append({"id": aid, "text": ASSUMPTIONS.get(aid, aid),
                                   "where": sorted(used.get(aid, ()))})
    for v in vs:
        result.variants.append({**v["detail"], "rounds": rounds, "blocks": blocks_total, "paths": blocks_total,
                                "sysret_paths": hits_total, "seconds": round(time.monotonic() - t0, 3),
                                "solver_seconds": 0.0, "followed": sorted(sym(a) for a in follow),
                                "static_sysret_sites": [hex(s) for s in sorted(static_sites.get(v["name"]) or ())]})
    result.notes.append("rounds: " + "; ".join(f"{s}" for s in stats))
    result.sha256 = image.sha256
    result.seconds = time.monotonic() - t0
    return result
