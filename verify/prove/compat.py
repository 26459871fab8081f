"""The compat SYSRET sites (issue 12): `sysretl`, from every entry that reaches it.

Sources (Debian's linux-source-6.1 6.1.192 and linux-source-6.12 6.12.x;
the images are 6.1.176 and 6.12.107, whose entry code is the same):

- arch/x86/entry/entry_64_compat.S (6.1: lines 51-139 entry_SYSENTER_compat,
  188-288 entry_SYSCALL_compat): both build a pt_regs frame with cs =
  __USER32_CS and ss = __USER32_DS (= __USER_DS), call do_SYSENTER_32 /
  do_fast_syscall_32, and with its result in EAX take
  `ALTERNATIVE "testl %eax,%eax; jz swapgs_restore_regs_and_return_to_usermode",
  "jmp swapgs_restore_regs_and_return_to_usermode", X86_FEATURE_XENPV`
  (6.1 lines 129-131 and 225-226) to IRET, else sysret32_from_system_call
  (6.1 lines 229-284): `movq EFLAGS(%rsp),%r11; movq RIP(%rsp),%rcx`, the
  register pops, the user RSP, the PTI CR3 switch, `swapgs; sysretl`.  No
  check in assembly: the whole decision is in C.
- arch/x86/entry/common.c do_fast_syscall_32 (6.1 lines 276-326; 6.12 the
  same body): `regs->ip = landing_pad` (the vDSO's int80 landing pad) before
  the syscall, and after it SYSRETL only when
  `regs->cs == __USER32_CS && regs->ss == __USER_DS && regs->ip == landing_pad
  && (regs->flags & (X86_EFLAGS_RF | X86_EFLAGS_TF)) == 0`.  It has no
  `cx == ip` or `r11 == flags` test: sysret32_from_system_call loads both from
  the frame.  VM is tested only on 32-bit kernels (SYSEXIT, the `#else`
  branch); a 64-bit kernel need not: SYSRETL's RFLAGS := R11 & 0x3C7FD7 | 2
  clears VM (and RF), and IRET in IA-32e mode cannot enter virtual-8086 mode,
  so `rflags-no-rf-tf` is RF|TF here as at sysretq.
  do_SYSENTER_32 (6.1 lines 328-337) sets `regs->sp = regs->bp` and
  `regs->flags |= X86_EFLAGS_IF` first.  6.1 and 6.12 do not differ in any of
  this (6.12 adds the `int80_emulation` BHI change elsewhere); the obligations
  below are the same for both.

What is proven at a sysretl reached from the compat entries
(obligations.SITE_OBLIGATIONS["sysretl"]): compat-user-cs, compat-landing-pad
(ECX is the low half of the saved ip), r11-is-rflags, rflags-no-rf-tf,
ts-compat-clear and the exit families, over the same exploration machinery
as entry_SYSCALL_64 (explore.py): the syscall dispatch and every unfollowed
callee are havocs of pt_regs, so the checks in do_fast_syscall_32 are what
proves them.  TS_COMPAT after a summarised callee is what its code does to
the bit (tseffects.py, answered by the same TS_COMPAT process as the 64-bit
exploration's asks, after them: tseffects.settle).

entry_SYSCALL32_ignore (6.12 entry_64.S lines 1479-1485, installed as
MSR_CSTAR when ia32 emulation is off at boot, cpu/common.c syscall_init)
and ignore_sysret (6.1 entry_64.S lines 1513-1519, only without
CONFIG_IA32_EMULATION): `mov $-ENOSYS,%eax; CLEAR_CPU_BUFFERS; sysretl`.
No SWAPGS, no stack, no frame: the user's RSP, GS base and CR3 are still
loaded.  What must hold there: the user gets back exactly what SYSCALL
saved, EIP = the RCX SYSCALL wrote (compat-landing-pad with the "saved ip"
being RCX at entry) and RFLAGS from the R11 SYSCALL wrote (r11-is-rflags,
likewise), and TS_COMPAT is still clear (ts-compat-clear, from a clear bit
at entry: explore.initial_state, assumption ts-compat-clear-in-user-mode).  rflags-no-rf-tf does not apply: R11 is the user's own RFLAGS,
RF already cleared by SYSCALL, and a TF the user set traps in user mode
right after SYSRETL (delivered as SIGTRAP through #DB, which returns by
IRET: no loop); compat-user-cs does not apply: there is no saved frame, and
SYSCALL from a compat segment other than __USER32_CS returns with
__USER32_CS by design.  Any stack access there is through the user's RSP:
the exploration refuses it (a symbolic stack pointer), so it cannot be
proven by accident; and its GS base is the user's (explore.py initial_state,
kind "ignore"), so a per-CPU read there is a read of user memory
(tests/fixtures/compat_ignore_gs.S was "proven" with the kernel's per-CPU
area and is violated now).

Soundness of what this module adds:
- a variant whose static walk from an entry reaches no sysretl (XENPV: the
  ALTERNATIVE above becomes an unconditional jump to the IRET exit) is
  proven for that entry without exploring, as for entry_SYSCALL_64;
- a site reached from two entries is proven only when proven from both
  (each entry explored and decided on its own; the finding is the worst);
- other ways into the code that reaches a sysretl (entries.py's W, computed
  for sysretl) from outside the extents of the entries explored make the
  affected findings inconclusive, as for sysretq; an entry without an ELF
  size has an extent of one byte, so on System.map-only input everything
  else counts as a second entry.
- every SYSRET a compat entry reaches is decided, of either width (the
  static walks ask for both kinds; adv_r9_compat_rex_sysretq: a `49 0f 07`,
  REX.W sysretq, in sysret32_from_system_call was in no list and never
  decided): a sysretq with SITE_OBLIGATIONS["sysretq"] on the same
  exploration and frame (user-cs-ss is what a SYSRETQ after a 32-bit
  SYSCALL breaks: pt_regs->cs is __USER32_CS, SYSRETQ loads __USER_CS and
  the 32-bit task runs on in 64-bit mode).  At an ignore stub (no frame)
  a sysretq has no model: its obligations are inconclusive.  The width is
  the one classifier's (image/encoding.py); W for the second-entry search
  is computed for each width the compat entries reach.
"""
from __future__ import annotations

import time

from ..finding import INCONCLUSIVE, PROVEN, VIOLATED
from ..image.entry import COMPAT_ENTRIES, IGNORE_ENTRIES
from ..obligations import EXIT_OBLIGATION_IDS, SITE_OBLIGATIONS
from . import decide as dec
from . import entries, tseffects
from .cfg import CfgError, static_sysret_sites
from .explore import Inconclusive, refutes

# what the static walks and the second-entry search look for: every SYSRET
# (cfg.decode kinds: "sysret" is the 64-bit sysretq, "sysretl" the 32-bit)
KINDS = ("sysret", "sysretl")
KIND_OF = {"sysretq": "sysret", "sysretl": "sysretl"}


def _cut(e: Exception) -> Inconclusive | None:
    """The round's SIGALRM (rounds._time_limit) raises Inconclusive between
    bytecodes; inside a z3 ctypes call ctypes reports it as an ArgumentError
    carrying that message.  Either is the budget running out."""
    if isinstance(e, Inconclusive):
        return e
    if type(e).__name__ == "ArgumentError" and "Inconclusive" in str(e):
        return Inconclusive("timeout: the round's time budget ran out")
    return None
MAX_ROUNDS = 6  # the exit families follow the exit work one level deeper than the compat four did
ORDER = {PROVEN: 0, INCONCLUSIVE: 1, VIOLATED: 2}


def compat_entries(prog) -> list[tuple[str, int, str, str]]:
    """(name, address, initial-state kind, frame kind) of every entry of the
    image that leaves by sysretl."""
    out = []
    # the ignore stubs first: five instructions, decided before refinement
    # of the compat entries can fill the memory budget
    for name in IGNORE_ENTRIES + COMPAT_ENTRIES:
        a = prog.symbols.get(name)
        if a is None:
            continue
        kind = "sysenter" if name == "entry_SYSENTER_compat" else "ignore" if name in IGNORE_ENTRIES else "syscall"
        out.append((name, a, kind, "registers" if name in IGNORE_ENTRIES else "pt_regs"))
    return out


def _first_follow(prog, summaries, entry: int) -> set:
    """The entry's callees that reach the syscall dispatch, and their tail
    calls that do (do_SYSENTER_32 ends in `jmp do_fast_syscall_32`): the
    checks are in them, after the dispatch.  Only an ordering of refinement
    (rounds._dispatch_callers); every verdict comes from the queries."""
    out: set = set()
    try:
        work = [prog.cfg(entry)]
    except CfgError:
        return out
    while work:
        cfg = work.pop()
        for b in cfg.blocks.values():
            t = b.last.target if b.kind in ("call", "tail") else None
            if t is None or t in out or not summaries.readable(t, prog.start_name(t)):
                continue
            if summaries.writes_of(t, prog.start_name(t)).reaches_dispatch and (cfg.entry == entry or b.kind == "tail"):
                out.add(t)
                try:
                    work.append(prog.cfg(t))
                except CfgError:
                    pass
    return out


def check_compat(prog, summaries, explorer, vs, deadline, finding, stats, time_limit):
    """Decide SITE_OBLIGATIONS["sysretl"] at every sysretl of every entry in
    compat_entries(), per variant; `finding(v, site, oid, status, reason,
    cex)` records each.  A generator: it pauses once, when every entry's
    first round is explored and what holds there without the TS_COMPAT
    answers is decided (rounds._check then decides the same for
    entry_SYSCALL_64 before anything waits for those answers); it returns
    the assumptions used (id -> where).  `explorer` is a template: each
    entry explores on an explorer of its own (Explorer.like), since its
    first exploration stays open while the next entry's runs."""
    used: dict = {}
    return (yield from _check(prog, summaries, explorer, vs, deadline, finding, stats, time_limit, used))


def _check(prog, summaries, explorer, vs, deadline, finding, stats, time_limit, used) -> dict:
    # (variant, site, oid) -> [(status, reason, cex, entry name)]
    per: dict = {}
    sites_of: dict = {}  # entry name -> SYSRET sites (either width) any variant reaches
    frames: dict = {}
    width_of: dict = {}  # site -> "sysretq" | "sysretl" (cfg.decode, image/encoding.py)
    rounds: list = []  # each entry's exploration, a generator: one step per round
    for name, entry, kind, frame in compat_entries(prog):
        frames[name] = frame
        static = {}
        irets: dict = {}  # variant -> the IRETs its static walk stopped at (cfg.static_sysret_sites)
        callees: dict = {}  # variant -> the callees it took to return
        for v in vs:
            try:
                static[v["name"]] = static_sysret_sites(prog, entry, v["fixed"], kinds=KINDS, widths=width_of,
                                                        irets=irets.setdefault(v["name"], set()),
                                                        calls=callees.setdefault(v["name"], set()))
            except CfgError as e:
                static[v["name"]] = e
        sites = sorted({s for ss in static.values() if isinstance(ss, set) for s in ss})
        sites_of[name] = sites
        if any(not isinstance(ss, set) for ss in static.values()) and not sites:
            for a, w in _image_sites(prog, name):
                width_of.setdefault(a, w)
            sites = sorted(a for a, _w in _image_sites(prog, name))
            if not sites:
                # nor did the image's walk find one: a walk that failed may
                # still reach any SYSRET of the image, so each is
                # inconclusive from this entry (below), and so is
                # user-mode-if-iopl (its returns were never read: an
                # entry's IRET with the kernel's flags behind an exception-
                # table entry the walk refuses, adv_r158_sysenter_extable_iret)
                every = [(d["address"], d["width"]) for d in getattr(prog.entry, "all_sysret_sites", ())]
                for a, w in every:
                    width_of.setdefault(a, w)
                sites = sorted(a for a, _w in every)
                prog.record_iret_user_flags(entry, None, [f"{name} (not explored: its static walk failed)"], True)
            sites_of[name] = sites
        oids_at = {site: _site_oids(frame, width_of.get(site, "sysretl")) for site in sites}
        live = []
        for v in vs:
            ss = static[v["name"]]
            if isinstance(ss, set) and not ss and not irets[v["name"]] and \
                    not summaries.may_return_elsewhere(callees[v["name"]]):
                # (not past an IRET: one to CPL 0 goes on in the kernel,
                # where the walk does not follow; explored, it is decided
                # from its frame: adv_r65_la57_iret_bypass)
                for site in sites:
                    for oid in oids_at[site]:
                        per.setdefault((v["name"], site, oid), []).append(
                            (PROVEN, f"no SYSRET is reachable from {name} under {v['name']} (static walk of "
                                     "every patch-site choice)", None, name))
            elif not isinstance(ss, set):
                for site in sites:
                    for oid in oids_at[site]:
                        per.setdefault((v["name"], site, oid), []).append(
                            (INCONCLUSIVE, f"static SYSRET walk from {name} failed: {ss}", None, name))
            else:
                live.append(v)
        if live and not sites:
            # every walk ended with no SYSRET, but one stopped at a `ret`, an
            # IRET or a callee that may return elsewhere (`pushq $sysret32_
            # from_system_call; ret`, adv_r112_compat_pushret): explored
            # against every SYSRET of the image (the image's own walk from
            # the entry stops there too)
            every = [(d["address"], d["width"]) for d in getattr(prog.entry, "all_sysret_sites", ())]
            for a, w in every:
                width_of.setdefault(a, w)
            sites = sorted(a for a, _w in every)
            sites_of[name] = sites
            oids_at = {site: _site_oids(frame, width_of.get(site, "sysretl")) for site in sites}
        if frame == "registers":
            # a 64-bit SYSRET after a 32-bit SYSCALL at a stub that saved no
            # frame: no query models it (decide.Query's "registers" frame has
            # no cs/ss), so it is never proven
            for site in [s_ for s_ in sites if width_of.get(s_) == "sysretq"]:
                for v in live:
                    for oid in oids_at[site]:
                        per.setdefault((v["name"], site, oid), []).append(
                            (INCONCLUSIVE, f"a 64-bit SYSRET (sysretq) reached from {name}, which saves no frame: "
                                           "no model (it returns the 32-bit caller in 64-bit mode)", None, name))
            sites = [s_ for s_ in sites if width_of.get(s_) != "sysretq"]
        if not live or not sites:
            continue
        # the widths as this entry's walks left them (an address whose
        # patch-site choices give both widths takes the last walk's width,
        # cfg.static_sysret_sites): its decisions come after the later
        # entries' walks, which may write the same address
        # (adv_r53_compat_alt_width)
        g = _explore_entry(prog, summaries, explorer.like(), name, entry, kind, frame, live, sites, static, deadline,
                           per, stats, time_limit, used, dict(width_of))
        next(g, None)  # round 1 of every entry explored before any waits for the TS_COMPAT answers
        rounds.append(g)
    # the second-entry search reads only the image: a job queued behind the
    # entries' TS_COMPAT asks (taken back below if that process has not
    # started it by then)
    effects = explorer.ts_effects
    search = effects.submit(second_entries_search, vs, sites_of, dict(width_of)) if effects is not None else None
    yield
    for g in rounds:
        next(g, None)  # then decided, before any refinement (which can fill the memory budget)
    for g in rounds:
        for _ in g:
            pass
    for (vname, site, oid), rs in per.items():
        worst = max(rs, key=lambda r: ORDER[r[0]])
        v = next(x for x in vs if x["name"] == vname)
        if len(rs) > 1 and worst[0] == PROVEN:
            reason = "; ".join(f"from {r[3]}: {r[1]}" for r in rs)
        else:
            reason = f"from {worst[3]}: {worst[1]}"
        finding(v, site, oid, worst[0], reason, worst[2])
    if search is None:
        searched = second_entries_search(prog, vs, sites_of, width_of)
    else:
        effects.take_back(search)
        searched = effects.result(search)
        if searched is None:
            # (a take-back interrupted by a round's SIGALRM left the claim
            # with this process and no answer: computed here)
            searched = second_entries_search(prog, vs, sites_of, width_of)
    _second_entries(prog, vs, per, finding, used, searched, summaries.may_return_elsewhere)
    return used


def _add_hit_sites(prog, ex, name, frame, live, sites: list, static: dict, width_of: dict, per: dict) -> None:
    """A SYSRET the exploration from `name` reached that its static walk did
    not list (through a callee the walk takes to return, a resolved indirect
    call: adv_r94_compat_icall_sysretq) is decided like the listed ones, and
    counts as statically reachable from then on (a later round that does not
    reach it leaves it inconclusive, not "unreachable").  Its width from its
    bytes; a SYSRET that is not one, or a sysretq after a stub that saved no
    frame (no query models it), is inconclusive."""
    from .rounds import hit_width  # noqa: PLC0415

    for site in sorted({h.site for h in ex.hits} - set(sites)):
        w = hit_width(prog, site)
        if w is None or (frame == "registers" and w == "sysretq"):
            why = (f"a SYSRET reached from {name} whose width its bytes do not give" if w is None else
                   f"a 64-bit SYSRET (sysretq) reached from {name}, which saves no frame: no model")
            for v in live:
                for oid in dict.fromkeys(_site_oids(frame, w or "sysretl") +
                                         (() if w else SITE_OBLIGATIONS["sysretq"])):
                    per.setdefault((v["name"], site, oid), []).append((INCONCLUSIVE, why, None, name))
            continue
        width_of[site] = w
        sites.append(site)
        for ss in static.values():
            if isinstance(ss, set):
                ss.add(site)
    sites.sort()


def _site_oids(frame: str, width: str = "sysretl") -> tuple:
    """What a SYSRET of `width` reached from an entry with `frame` must meet."""
    if width == "sysretq":
        return SITE_OBLIGATIONS["sysretq"]
    if frame == "registers":
        # no frame: the RCX/R11 SYSCALL wrote, and the exit families against
        # the registers at the SYSCALL (decide.Query, frame "registers");
        # ts-compat-clear from a clear bit at entry (explore.initial_state,
        # assumption ts-compat-clear-in-user-mode)
        return ("compat-landing-pad", "r11-is-rflags", "ts-compat-clear") + EXIT_OBLIGATION_IDS
    return SITE_OBLIGATIONS["sysretl"]


def _image_sites(prog, name):
    """(site, width) of every SYSRET the image's own walk (image.entry) finds
    from the entry `name`, of either width."""
    return [(s["address"], s["width"]) for s in getattr(prog.entry, "all_sysret_sites", ()) if name in s["entries"]]


def _explore_entry(prog, summaries, explorer, name, entry, kind, frame, live, sites, static, deadline, per, stats,
                   time_limit, used, width_of):
    """Explore from one entry, refine, decide into `per`: a generator that
    pauses when its first round is explored (and what holds without the
    TS_COMPAT answers is decided) and again when that round is decided
    (check_compat runs every entry's first exploration, then every entry's
    first decisions, then the refinements).  Each site with its width's
    obligations and query (width_of)."""
    from .rounds import _WALL_BACKSTOP, REFINE_WINDOW, _hold_without_ts_pins, _refine_memory_limit, _release_caches

    def oids_of(site):
        return _site_oids(frame, width_of.get(site, "sysretl"))

    follow = _first_follow(prog, summaries, entry)
    open_: dict = {}  # (variant, site, oid) -> reason, while undecided
    done: set = set()
    t_window = c_window = None  # when this entry's refinement began (wall, this thread's CPU)
    last = 0.0  # the CPU seconds of the last round
    for rnd in range(1, MAX_ROUNDS + 1):
        t1, c1 = time.monotonic(), time.thread_time()
        if rnd == 1:
            explorer.deadline = deadline
            # the 64-bit refinement's CPU window (check_image) is not this
            # entry's: its first round has only the overall deadline
            explorer.cpu_deadline = None
            # the 64-bit proof ran first; this exploration must not push the
            # peak past issue 9's 500 MiB either (inconclusive if it would)
            explorer.memory_limit_mib = _refine_memory_limit(explorer)
        else:
            # as check_image's refinement: later rounds share one window
            # and stop at a resident size; a round that cannot fit is not
            # started; what stays open is inconclusive with its reason (never
            # a verdict by timeout).  The window is this entry's, from its
            # first refinement round: the entries' first rounds, witnesses
            # and the other entries' refinements run in between (and the
            # first wait for the TS_COMPAT answers), and used it up for
            # entry_SYSENTER_compat on the uniprocessor kernel
            # (a window of CPU time, as the 64-bit refinement's: a wall
            # window ran out on a loaded machine, the uniprocessor kernel's
            # entry_SYSENTER_compat; the wall backstop is the same)
            if t_window is None:
                t_window, c_window = t1, c1
            explorer.cpu_deadline = c_window + REFINE_WINDOW
            explorer.deadline = min(deadline, t_window + _WALL_BACKSTOP * REFINE_WINDOW)
            explorer.memory_limit_mib = _refine_memory_limit(explorer)
            if explorer.cpu_deadline - c1 < last:
                stats.append({"entry": name, "round": rnd, "error": f"refinement window ({REFINE_WINDOW:.0f} s) "
                              f"too short for another round (the last took {last:.1f} s)"})
                break
        fixed = {f: b for f, b in live[0]["fixed"].items() if all(v["fixed"].get(f) == b for v in live)}
        early: dict = {}  # (variant, site) -> (Query, what holds without the TS_COMPAT answers, seconds)
        paused = paused_cpu = 0.0  # the other entries' work while this one waited at the pause
        try:
            with time_limit(explorer.deadline - t1):
                ex = explorer.run(frozenset(follow), fixed, entry=entry, entry_kind=kind)
            _add_hit_sites(prog, ex, name, frame, live, sites, static, width_of, per)
            if rnd == 1:
                # as entry_SYSCALL_64's first round (rounds._hold_without_ts_pins,
                # its soundness argument): while the answers are computed
                if explorer.ts_effects is not None and not explorer.ts_effects.ready(ex):
                    early = _hold_without_ts_pins(explorer, ex, prog, live, sites, oids_of, done, width_of,
                                                  deadline, frame=frame, default_width="sysretl")
                t_pause, c_pause = time.monotonic(), time.thread_time()
                yield
                paused, paused_cpu = time.monotonic() - t_pause, time.thread_time() - c_pause
            with time_limit(max(0.01, explorer.deadline - time.monotonic())):
                waited = tseffects.settle(explorer, ex)
        except Exception as e0:  # noqa: BLE001 (re-raised unless a budget cut)
            e = _cut(e0)
            if e is None:
                raise
            # (a ReturnRefuted: rounds._check takes back every proof)
            stats.append({"entry": name, "round": rnd, "error": str(e), "seconds": round(time.monotonic() - t1, 3),
                          **refutes(e)})
            for v in live:
                for site in sites:
                    for oid in oids_of(site):
                        k = (v["name"], site, oid)
                        if k not in done:
                            why = open_.get(k)
                            open_[k] = f"{why} ({e})" if why else str(e)
            break
        # (a round's cost, to see whether the next fits the window: not the
        # wait for the TS_COMPAT answers, behind the 64-bit exploration's)
        last = time.thread_time() - c1 - paused_cpu
        stats.append({"entry": name, "round": rnd, "blocks": ex.blocks, "followed": len(follow),
                      "seconds": round(time.monotonic() - t1 - waited - paused, 3), "cpu_seconds": round(last, 3),
                      "ts_wait_seconds": round(waited, 3)})
        for aid, where in ex.assumptions.items():
            used.setdefault(aid, set()).update(where)
        blamed: set = set()
        for v in live:
            extra = dec.variant_constraint(explorer, ex, v["fixed"])
            for site in sites:
                todo = [o for o in oids_of(site) if (v["name"], site, o) not in done]
                # (what an earlier round of this entry proved is not decided
                # again here, unlike rounds._recheck_proven: on the
                # uniprocessor kernel's round 2, whose exploration is four
                # times round 1's, that took 7 s and 100 MiB; the witness
                # does re-decide round 1's proofs, _witness)
                if not todo:
                    continue
                hits = [h for h in ex.hits if h.site == site]
                ss = static[v["name"]]
                if not hits:
                    for oid in todo:
                        k = (v["name"], site, oid)
                        done.add(k)
                        if site in ss:
                            per.setdefault(k, []).append((INCONCLUSIVE, f"SYSRET statically reachable from {name} "
                                                          f"under {v['name']} but no explored path reaches it",
                                                          None, name))
                        else:
                            per.setdefault(k, []).append((PROVEN, f"no SYSRET reachable from {name} under "
                                                          f"{v['name']}", None, name))
                    continue
                q, held, _dt = early.get((v["name"], site)) or (
                    dec.Query(explorer, hits, v["la57"], prog.constants, width=width_of.get(site, "sysretl"),
                              frame=frame), frozenset(), 0.0)
                ms = int(max(1.0, min(120.0, deadline - time.monotonic())) * 1000)
                mixed = dec.other_width(q, extra, ms)
                if mixed:
                    for oid in todo:
                        done.add((v["name"], site, oid))
                        per.setdefault((v["name"], site, oid), []).append((INCONCLUSIVE, mixed, None, name))
                    continue
                together = dec.holding(q, [o for o in todo if o not in held], extra, ms)
                for oid in todo:
                    k = (v["name"], site, oid)
                    ms = int(max(1.0, min(120.0, deadline - time.monotonic())) * 1000)
                    status, model, blame = ("proven", None, []) if oid in together or oid in held else \
                        dec.decide(q, oid, extra, ex.events, ms)
                    if status == "proven":
                        done.add(k)
                        per.setdefault(k, []).append((PROVEN, f"holds on every path from {name} reaching this "
                                                      f"{width_of.get(site, 'sysretl')} ({ex.blocks} blocks "
                                                      f"explored, round {rnd})",
                                                      None, name))
                    elif status == "violated":
                        done.add(k)
                        cex, why = dec.counterexample(explorer, ex, q, oid, model, extra)
                        if cex is None:
                            per.setdefault(k, []).append((INCONCLUSIVE, f"a model was found but did not replay: "
                                                          f"{why}", None, name))
                        else:
                            per.setdefault(k, []).append((VIOLATED, dec.explain(oid, cex, v["detail"]["paging"]),
                                                          cex, name))
                    elif status == "unknown":
                        done.add(k)
                        per.setdefault(k, []).append((INCONCLUSIVE, f"z3 returned unknown ({blame})", None, name))
                    else:
                        names = sorted({e.name for e in blame})
                        open_[k] = "a counterexample exists only through over-approximations: " + \
                            "; ".join(names[:6])
                        blamed |= {e.target for e in blame if e.kind == "summary" and e.target is not None}
        # (the explorer is this entry's: its exploration is not needed once
        # decided, and would stay in memory through the other entries' work)
        ex = q = early = explorer.ex = None
        refine = blamed - follow
        if not refine or all(k in done for k in open_):
            break
        yield  # the caller runs every entry's first round before refinement
        _release_caches(explorer)
        if rnd == 1:
            # a site already violated from another entry needs nothing more
            # from this one: the finding is the worst over the entries
            for k in open_:
                if any(r[0] == VIOLATED for r in per.get(k, ())):
                    done.add(k)
            _witness(prog, explorer, name, entry, kind, frame, live, sites, follow, open_, done, per, deadline, stats,
                     time_limit, width_of)
            if all(k in done for k in open_):
                break
        follow |= refine
    for k, why in open_.items():
        if k not in done:
            per.setdefault(k, []).append((INCONCLUSIVE, why, None, name))


def _proven_here(per: dict, k, name: str) -> bool:
    """Whether the entry `name` proved obligation k (and nothing else said
    otherwise of it there)."""
    mine = [r for r in per.get(k, ()) if r[3] == name]
    return bool(mine) and all(r[0] == PROVEN for r in mine)


def _witness(prog, explorer, name, entry, kind, frame, live, sites, follow, open_, done, per, deadline, stats,
             time_limit, width_of) -> None:
    """The open obligations of this entry on one witness exploration from it
    (Explorer.run witness=True, as rounds._confirm for entry_SYSCALL_64):
    every readable callee run, one path; only a violation counts (a model
    with no unsure event on it, replayed), since the witness leaves paths
    out.  Before refinement: when the compat checks' counterexample goes
    through __do_fast_syscall_32 (the syscall dispatch, then the exit work
    that a summary makes "anything"), following callees round by round runs
    out of the window before the exit work is followed, while one path
    through all of it is cheap."""
    from .rounds import WITNESS_BUDGET, _WALL_BACKSTOP, _refine_memory_limit

    todo = {v["name"]: [(site, oid) for (vn, site, oid) in open_ if vn == v["name"] and (vn, site, oid) not in done]
            for v in live}
    for v in live:
        if todo[v["name"]]:
            # ... and what round 1 proved at the same variant: the witness
            # runs callees round 1 summarised, and a violation it confirms
            # of one of them means that summary was wrong (as
            # rounds._check's witness; adv_r185_compat_ret_rcx_ts)
            todo[v["name"]] += [(site, oid) for site in sites for oid in _site_oids(frame, width_of.get(site, "sysretl"))
                                if _proven_here(per, (v["name"], site, oid), name)]
    wvs = [v for v in live if todo[v["name"]]]
    if not wvs or time.monotonic() >= deadline:
        return
    t1 = time.monotonic()
    explorer.deadline = deadline
    explorer.cpu_deadline = time.thread_time() + WITNESS_BUDGET
    explorer.memory_limit_mib = _refine_memory_limit(explorer)
    fixed = {f: b for f, b in wvs[0]["fixed"].items() if all(v["fixed"].get(f) == b for v in wvs)}
    try:
        with time_limit(min(deadline - t1, _WALL_BACKSTOP * WITNESS_BUDGET)):
            split = frozenset(f for v in wvs for f in v["fixed"])
            explorer.witness_via_dispatch = explorer.witness_keep_followed = True
            ex = explorer.run(frozenset(follow), fixed, witness=True, split=split, entry=entry, entry_kind=kind)
            tseffects.settle(explorer, ex)
    except Exception as e0:  # noqa: BLE001 (re-raised unless a budget cut or an unfinished path)
        e = _cut(e0)
        if e is None:
            raise
        stats.append({"entry": name, "witness": "error", "error": str(e), "seconds": round(time.monotonic() - t1, 3),
                      **refutes(e)})
        return
    finally:
        explorer.cpu_deadline = None
        explorer.witness_via_dispatch = explorer.witness_keep_followed = False
    stats.append({"entry": name, "witness": "path", "blocks": ex.blocks, "hits": len(ex.hits),
                  "seconds": round(time.monotonic() - t1, 3)})
    for v, site, oid, why, cex in dec.witness_violations(explorer, ex, wvs, todo, prog.constants, deadline,
                                                         lambda site: {"width": width_of.get(site, "sysretl"),
                                                                       "frame": frame}):
        k = (v["name"], site, oid)
        done.add(k)
        per.setdefault(k, []).append((VIOLATED, why, cex, name))


def second_entries_search(prog, vs, sites_of, width_of) -> list:
    """The image-only half of _second_entries, as plain values (a job for
    the TS_COMPAT process: tseffects.TsEffects.submit): per width the
    compat entries' sites have, (its sites, the explored entries, the ways
    in found or None, why not, the Xen PV ones, (variant, source, target) ->
    the sites that way reaches or None, the int3 fall-throughs into an
    entry left out: entries.sysret_reaching's `trapped`)."""
    explored = [(n, a) for n, a, _k, _f in compat_entries(prog)]
    if not explored:
        return []
    all_sites = {s for ss in sites_of.values() for s in ss}
    return [_second_entries_of(prog, vs, {s for s in all_sites if (KIND_OF[width_of.get(s, "sysretl")],) == kinds},
                               explored, kinds)
            for kinds in sorted({(KIND_OF[width_of.get(s, "sysretl")],) for s in all_sites})]


def _second_entries(prog, vs, per, finding, used, searched, returns_elsewhere) -> None:
    """Jumps into the code that reaches a SYSRET the compat entries reach
    from outside every explored compat entry (entries.py, with W for each
    width they reach: sysretl on every real kernel; `searched`:
    second_entries_search's answer): the proven findings at the sites of
    that width they reach become inconclusive."""
    for all_sites, explored, found, why, xen, reaches, trapped in searched:
        used.setdefault("sysret-path-direct-entries", set()).update(n for n, _a in explored)
        used.setdefault("syscall-entry-msrs", set()).update(n for n, _a in explored if n in COMPAT_ENTRIES)
        for int3, _entry in trapped:
            used.setdefault("int3-traps", set()).add(prog.symbolize(int3))
        for v in vs:
            for src, tgt in (sorted(found) if found is not None else [(None, None)]):
                if (src, tgt) in xen and v["name"] != "xenpv":
                    used.setdefault("xen-pv-entries", set()).add(prog.symbolize(src))
                    continue
                reach = reaches.get((v["name"], src, tgt)) if src is not None else None
                if reach is not None:
                    # (a walk that stopped where it cannot know where control
                    # goes on: every site, as rounds._second_entries)
                    sites, stopped, calls = reach
                    reach = None if stopped or returns_elsewhere(calls) else sites
                for (vname, site, oid), rs in per.items():
                    if vname != v["name"] or site not in all_sites or (reach is not None and site not in reach):
                        continue
                    if max(ORDER[r[0]] for r in rs) != ORDER[PROVEN]:
                        continue
                    how = (f"this SYSRET is also reached from {prog.symbolize(src)}, a direct jump into the exit "
                           f"path at {prog.symbolize(tgt)}, from a state the analysis does not build"
                           if src is not None else f"the search for other jumps into the compat exit path failed: {why}")
                    rs.append((INCONCLUSIVE, how, None, "elsewhere"))
                    finding(v, site, oid, INCONCLUSIVE, how)


def _second_entries_of(prog, vs, all_sites, explored, kinds) -> tuple:
    extents, own, cfgs = [], [], {}
    for _n, a in explored:
        # (its CFG's instructions, not its symbol's size: a size that also
        # covers another handler made that handler's jump into the exit
        # path "explored", adv_r119_compat_size_covers_int80; a symbol
        # start inside both, entries.symbol_extent)
        try:
            cfg = cfgs[a] = prog.cfg(a)
        except CfgError:
            extents.append((a, a + 1))
            own.append((a, a + 1))
            continue
        extents.extend(entries.cfg_extent(prog, a, cfg))
        own.append(entries.symbol_extent(prog, a, cfg))
    # the entry text, and the section of every checked site outside it (a
    # compat entry linked elsewhere: adv_r22_compat_entry2_section)
    ranges = {prog.entry.entry_text}
    for site in all_sites:
        lo, hi = prog.entry.entry_text
        if not lo <= site < hi:
            sec = prog.image.elf.section_at(site)
            ranges.add((sec.addr, sec.end) if sec is not None else (site, site + 1))
    found, why = None, None
    trapped: list = []
    try:
        for a, cfg in cfgs.items():
            out = entries.code_outside(cfg, ranges, kinds)
            if out is not None:
                raise CfgError(f"{prog.symbolize(a)}'s code runs on at {prog.symbolize(out)}, outside the code "
                               "searched for other ways into it")
        found = set()
        for lo, hi in sorted(ranges):
            w = entries.sysret_reaching(prog, lo, hi, {a for _n, a in explored}, kinds=kinds, trapped=trapped)
            in_cfg, in_own = entries.in_extents(extents), entries.in_extents(own)
            found |= entries.ways_in(prog, lo, hi, w, lambda x: in_cfg(x) or in_own(x),
                                     lambda x: in_cfg(x) and in_own(x), trapped)  # (as entries.second_entries)
    except CfgError as e:
        found, why = None, str(e)
    xen = {(s_, t) for s_, t in found or () if entries.is_xen_pv_entry(prog, s_, t)}
    reaches = {}
    for v in vs:
        for src, tgt in sorted(found or ()):
            if (src, tgt) in xen and v["name"] != "xenpv":
                continue
            irets, calls = set(), set()  # (as entries.search)
            try:
                sites = static_sysret_sites(prog, tgt, v["fixed"], kinds=kinds, irets=irets, calls=calls)
                reaches[(v["name"], src, tgt)] = (sites, entries.stops_beyond_iret(prog, irets), sorted(calls))
            except CfgError:
                reaches[(v["name"], src, tgt)] = None
    return all_sites, explored, found, why, xen, reaches, sorted(set(trapped))
