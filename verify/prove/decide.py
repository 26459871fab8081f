"""Deciding the obligations on an exploration, and replaying counterexamples.

Per SYSRET site, per code variant, per obligation: one z3 query over the
merged state of every path reaching the site,

    guard(site) AND variant features AND NOT obligation.

unsat: proven.  sat: a counterexample, but it may pass through a summary or
another over-approximation (an Event whose guard the model makes true); the
query is asked again with every such guard false, and only a model of that is
a violation.  Otherwise the result is inconclusive and the summarised calls
the model went through are the ones to follow next (refinement).  A z3
`unknown` is inconclusive, never folded into either side (verify.solver).
"""
from __future__ import annotations

import time

import claripy
import z3

from .. import machine, obligations, solver
from ..finding import Counterexample, PathStep
from .explore import REG
from .state import merge

conv = claripy.backends.z3.convert


# no-kernel-data: the registers it reads and their pt_regs slots (RSP is
# user-rsp's; RCX and R11 the RCX/R11 obligations')
NKD_REGS = (("rax", "ax"), ("rbx", "bx"), ("rdx", "dx"), ("rsi", "si"), ("rdi", "di"), ("rbp", "bp"),
            ("r8", "r8"), ("r9", "r9"), ("r10", "r10"), ("r12", "r12"), ("r13", "r13"), ("r14", "r14"),
            ("r15", "r15"))
# ... and RCX and R11 too.  At a sysretl SYSRETL takes only ECX and R11D,
# and the registers keep their upper halves for a compat task that
# far-jumps to a 64-bit code segment (CVE-2009-2910).  At a sysretq
# rcx-is-rip / r11-is-rflags tie them to slots that may still carry kernel
# data above what SYSRET's RFLAGS mask takes (adv_r12_sysretq_flags_upper):
# Query._sysretq_rcx_r11.
NKD_REGS_RCX_R11 = (("rcx", "ip"), ("r11", "flags"))
# CR3 at the SYSCALL (explore.initial_state)
ENTRY_CR3 = claripy.BVS("user_cr3", 64, explicit_name=True)


class Query:
    """The SYSRET inputs of one site's merged state, as z3 terms."""

    def __init__(self, explorer, hits, la57: bool, consts: dict, width: str = "sysretq", frame: str = "pt_regs"):
        # (paths that reach the site with a branch region still open, whose
        # outcomes never met before it: what differs between them is marked,
        # state.merge chosen=True; adv_r64_bug_on_arm, adv_r64_rsp_restore)
        st = merge([h.state for h in hits], chosen=any(h.state.kpend for h in hits))
        self.state = st
        self._explorer = explorer
        self.site = hits[0].site
        self.width = width
        # (other_width: the paths that executed the other width here)
        self.other_width_guards = [h.state.guard for h in hits if getattr(h, "width", width) != width]
        fr = explorer.frame
        lay = fr.layout

        def ptreg(f):
            if frame == "registers" and f in ("ip", "flags"):
                # entry_SYSCALL32_ignore / ignore_sysret build no frame: what
                # the user must get back is what SYSCALL left in RCX (the
                # next EIP) and R11 (RFLAGS) (compat.py)
                return explorer.user["rcx" if f == "ip" else "r11"]
            return st.load_bytes(fr.pt_regs + lay.pt_regs[f].value, 8)

        self.terms = {
            "rcx": st.get_slot(REG["rcx"]), "r11": st.get_slot(REG["r11"]),
            "regs_ip": ptreg("ip"), "regs_flags": ptreg("flags"),
            # the selectors are the low 16 bits of the slots (6.9+ FRED pt_regs
            # keeps other fields above a u16 cs/ss; the CPU and the kernel's own
            # `cmpw` read only those)
            "regs_cs": ptreg("cs")[15:0].zero_extend(48), "regs_ss": ptreg("ss")[15:0].zero_extend(48),
            "ti_status": st.load_bytes(fr.ti_status, 4),
        }
        self.ptregs = {f: ptreg(f) for f in lay.pt_regs}
        z = {k: conv(v) for k, v in self.terms.items()}
        # the exit families (obligations.EXIT_OBLIGATIONS)
        regs = frame == "registers"
        self.exit_terms = {
            "rsp": st.get_slot(REG["rsp"]), "regs_sp": explorer.user["rsp"] if regs else ptreg("sp"),
            "regs_sp_kstore": st.kstore.get("sp", claripy.BoolV(False)) if not regs else claripy.BoolV(False),
            "gs_kernel": st.gs_kernel, "gs_bad": st.gs_bad, "IF": st.IF, "irq_bad": st.irq_bad,
            "cr3_bad": st.cr3_bad,
            "cr3": st.cr3 if st.cr3 is not None else ENTRY_CR3, "entry_cr3": ENTRY_CR3,
            "pti": explorer.feature(explorer.program.feature_pti) if explorer.program.has_pti else claripy.BoolV(False),
            "pcid": explorer.feature(consts.get("X86_FEATURE_PCID")),
        }
        self.gpr_terms = {}
        # register -> the z3 condition that it holds its clean restored slot
        # (no_kernel_data's answer for a register chosen by kernel data)
        self.restored: dict = {}
        gprs = []
        for r, slot in NKD_REGS + NKD_REGS_RCX_R11:
            if r in ("rcx", "r11") and width != "sysretl":
                if not regs:
                    gprs.append(self._sysretq_rcx_r11(explorer, st, r, ptreg))
                continue
            # R11: not its slot (pt_regs->flags may carry what the exit code
            # put there) but the user's own R11 or zero above bit 31
            # (saved-flags-upper-zero)
            v, saved = st.get_slot(REG[r]), ptreg(slot) if r == "rcx" else explorer.user[r] if r == "r11" else \
                (explorer.user[r] if regs else ptreg(slot))
            # the register as the user left it at the SYSCALL is no kernel
            # data either (4.14's fast path never saved RBX/RBP/R12-R15 and
            # returned them as the ABI preserved them)
            extra = () if regs else (conv(v) == conv(explorer.user[r]),)
            if regs and r == "rax":
                # the -ENOSYS stubs' answer: an errno, no kernel data
                extra = (z3.UGE(conv(v), z3.BitVecVal(-4095 % (1 << 64), 64)),
                         z3.And(z3.UGE(conv(v), z3.BitVecVal((1 << 32) - 4095, 64)),
                                z3.ULT(conv(v), z3.BitVecVal(1 << 32, 64))))
            # R11 is no RFLAGS image taken on trust: a kernel bit moved
            # into VM (SYSRET leaves it out of EFLAGS, not out of R11), AC,
            # the status flags or a reserved bit is kernel data
            # (adv_r114_compat_r11_vm_pgd, _vm_byte, _ac_pgd,
            # adv_r118_compat_status_cr3_entry,
            # adv_r42_compat_flags_low_reserved).  SYSENTER's pushfq of the
            # status flags SWITCH_TO_KERNEL_CR3 left is not, by assumption
            # sysenter-status-flags (Explorer._special, pushfq)
            if r in ("rcx", "r11"):
                # nor a value built only from user data (another pt_regs
                # slot, unmarked: rcx-is-rip's / r11-is-rflags' business)
                extra += (z3.Not(conv(explorer.kernel_taint(v, st))),)
            self.gpr_terms[r] = (v, saved)
            dirty = st.kstore.get(slot) if not regs and r != "r11" else None
            dz = conv(dirty) if dirty is not None else z3.BoolVal(False)
            self.restored[r] = self._restored(v, saved, dz)
            gprs.append((r, conv(v), conv(saved), extra, dz, (self._implicit(r, v), self.restored[r])))
            if dirty is not None:
                self.terms[f"kstore_{slot}"] = dirty
        ez = {k: conv(v) for k, v in self.exit_terms.items()}
        # (the selectors SYSRETQ loads, not the ones the entry pushes: with
        # Linux's MSR_STAR, assumption syscall-entry-msrs, CS = __USER32_CS
        # + 16 = 0x33 and SS = + 8 = 0x2b, the x86-64 GDT ABI.  Reading them
        # from the entry's `push $imm` checked the code against its own
        # constant: a kernel that pushes and checks 0x23 was proven,
        # adv_r148_user_cs_from_push)
        self.inputs = obligations.SysretInputs(
            la57=la57, ts_compat=consts.get("TS_COMPAT", 0x2), **z, **ez, gprs=tuple(gprs),
            pti_user_pgtable_bit=consts.get("PTI_USER_PGTABLE_BIT", 12),
            pti_user_pcid_bit=consts.get("PTI_USER_PCID_BIT", 11))
        self.terms.update(self.exit_terms)
        for r, (v, saved) in self.gpr_terms.items():
            self.terms[f"reg_{r}"], self.terms[f"saved_{r}"] = v, saved
        self.guard = conv(st.guard)


    def _sysretq_rcx_r11(self, explorer, st, r, ptreg):
        """RCX or R11 at a sysretq, for no-kernel-data: all 64 bits stay in
        the register for the 64-bit task (SYSRET takes RIP from RCX and
        RFLAGS from R11 & 0x3C7FD7, and leaves both registers as they are).
        No kernel data: its own saved slot (cx, r11) or the one SYSRET reads
        it for (ip, flags), each while unmarked (kstore: the exit code may
        have parked kernel data there, adv_r12_sysretq_flags_upper's
        `regs->flags |= (u64)regs << 32`); the user's own value at the
        SYSCALL; a value built only from user data; zero."""
        own, alt = {"rcx": ("cx", "ip"), "r11": ("r11", "flags")}[r]
        v = st.get_slot(REG[r])
        saved = ptreg(own)
        no = claripy.BoolV(False)
        extra = (conv(v) == conv(explorer.user[r]),
                 z3.And(conv(v) == conv(ptreg(alt)), z3.Not(conv(st.kstore.get(alt, no)))),
                 z3.Not(conv(explorer.kernel_taint(v, st))))
        self.gpr_terms[r] = (v, saved)
        dirty = st.kstore.get(own)
        if dirty is not None:
            self.terms[f"kstore_{own}"] = dirty
        for f in (own, alt):
            if st.kstore.get(f) is not None:
                self.terms[f"kstore_{f}"] = st.kstore[f]
        dz = conv(dirty) if dirty is not None else z3.BoolVal(False)
        self.restored[r] = z3.Or(self._restored(v, saved, dz), self._restored(v, ptreg(alt), conv(st.kstore.get(alt, no))))
        return (r, conv(v), conv(saved), extra, dz, (self._implicit(r, v), self.restored[r]))

    @staticmethod
    def _restored(v, slot, dirty):
        """The register holds the pt_regs slot it is restored from, and what
        the slot holds was neither marked by the exit code (kstore) nor
        written under a choice by kernel data (`if (secret & 1) regs->ax =
        -EAGAIN` in the entry code, adv_r45_ax_guard_secret)."""
        return z3.And(conv(v) == conv(slot), z3.Not(dirty), z3.Not(conv(implicit_mark(slot, {}))))

    def _implicit(self, r: str, v):
        """no-kernel-data: when the register's value was chosen by kernel data
        (implicit_mark: a branch, a cmov, flags of the entry code), or is
        computed from it (data_mark: `shl $63; sar $63; and` of a secret bit,
        adv_r62_shift_mask; a constant folded from a kernel address,
        adv_r62_kaddr_shift_mask), as a z3 Bool; the term is kept for the
        detail (terms["implicit_<r>"])."""
        m = implicit_mark(v, {})
        own = {"rcx": frozenset({"cx", "ip"}), "r11": frozenset({"r11", "flags"})}.get(r) or \
            frozenset({dict(NKD_REGS).get(r)})
        d = data_mark(self._explorer, v, self.state, {}, own)
        if not m.is_false():
            self.terms[f"implicit_{r}"] = m
        if not d.is_false():
            self.terms[f"computed_{r}"] = d
            m = d if m.is_false() else claripy.Or(m, d)
        return z3.BoolVal(False) if m.is_false() else conv(m)


def variant_constraint(explorer, ex, fixed: dict, ts_pins: bool = True):
    """The variant's features fixed, and (ts_pins) the TS_COMPAT effects the
    exploration asked for pinned (tseffects.py).  Without the pins the
    queries are over a superset of the states: only "holds on every path"
    carries over (rounds._hold_without_ts_pins)."""
    out = list(ex.ts_pins) if ts_pins else []
    for f, v in fixed.items():
        t = ex.features.get(f)
        if t is not None:
            out.append(conv(t) if v else z3.Not(conv(t)))
    return out


def other_width(q: Query, extra: list, timeout_ms: int) -> str | None:
    """Why q cannot decide its site under `extra`, or None: a path that
    reaches the site under it executed the other width of SYSRET there (a
    patch site whose choices are a sysretq and a sysretl at one address:
    adv_r53_compat_alt_width, adv_r54_compat_alt_width_unfixed).  The query
    decides one width's obligations with that width's semantics over every
    path it merged, which is right for neither width on such a path: a
    sysretq obligation "violated" by a sysretl path is no violation, and a
    shared obligation "holding" under the other width's reading proves
    nothing.  So such a (variant, site) is inconclusive, never decided;
    a path that cannot happen under the variant does not count."""
    for guard in q.other_width_guards:
        r = solver.check([conv(guard), *extra], timeout_ms=timeout_ms)
        if not r.unsat:
            other = "sysretl" if q.width == "sysretq" else "sysretq"
            return (f"a path reaching this address executes a {other} here (a patch-site choice), though it is "
                    f"decided as a {q.width}: one width per address is not modelled")
    return None


def holding(q: Query, oids, extra: list, timeout_ms: int) -> frozenset:
    """The obligations of `oids` that hold on every path of q: ask for a
    model of the disjunction of the remaining obligations' negations under
    the guard; unsat means each negation is unsatisfiable, so every remaining
    one is proven (as decide() would say); a model drops the obligations it
    violates (their negations true in it: decide() looks at them) and asks
    again.  Unknown, or a model that violates none (it cannot: the
    disjunction is true in it), proves nothing more.  On the real kernels
    every obligation holds at nearly every site, so this is one query; with
    a seeded bug, two, each about a third of the cost of the per-obligation
    queries (the guard is bit-blasted once per query).  Each query gets a
    fresh solver (solver.new_solver: bit-blasting and SAT; z3's default
    solver too answers a first check() that way, but falls back to its
    slower incremental core once push/pop is used: measured 0.35 s against
    0.05 s on 6.12)."""
    remaining = list(oids)
    negs = {o: z3.Not(obligations.BY_ID[o].predicate(q.inputs)) for o in remaining}
    stop = time.monotonic() + timeout_ms / 1000
    while remaining:
        ms = int((stop - time.monotonic()) * 1000)
        if ms < 1:
            return frozenset()
        s = solver.new_solver()
        s.add(q.guard, *extra)
        r = solver.check([z3.Or(*[negs[o] for o in remaining])], timeout_ms=ms, solver=s)
        if r.unsat:
            return frozenset(remaining)
        failed = [] if not r.sat else \
            [o for o in remaining if z3.is_true(r.model.eval(negs[o], model_completion=True))]
        if not failed:
            return frozenset()
        remaining = [o for o in remaining if o not in failed]
    return frozenset()


def decide(q: Query, oid: str, extra: list, events: list, timeout_ms: int):
    """-> (status, model, blame): status "proven" | "violated" | "unsure" |
    "unknown"; blame the unsure events the first model went through."""
    ob = obligations.BY_ID[oid]
    s = solver.new_solver()
    s.add(q.guard, *extra)
    # (the time limit passed to check(), not set on the solver: a query the
    # tactic cannot take is asked again within it)
    r = solver.check([z3.Not(ob.predicate(q.inputs))], timeout_ms=timeout_ms, solver=s)
    if r.unknown:
        return "unknown", None, r.reason
    if r.unsat:
        return "proven", None, []
    unsure = [e for e in events if e.unsure and not (e.value_only and oid == "no-kernel-data")]
    gz = [(e, conv(e.guard)) for e in unsure]
    blame = [e for e, g in gz if z3.is_true(r.model.eval(g, model_completion=True))]
    if not blame:
        return "violated", r.model, []
    s.push()
    r2 = solver.check([z3.Not(g) for _, g in gz], timeout_ms=timeout_ms, solver=s)
    s.pop()
    if r2.sat:
        return "violated", r2.model, []
    if r2.unknown:
        return "unknown", None, r2.reason
    # blame first the over-approximations the obligation's own values come
    # from (a summary's clobbered register or memory generation in them)
    terms = [q.terms[t] for t in OBLIGATION_TERMS.get(oid, q.terms) if t in q.terms]
    by_data = [e for e in blame if e.kind == "summary" and e.target is not None and any(e.made(t) for t in terms)]
    if by_data:
        marks = [e for e in by_data if any(m.startswith("kst_") for m in e.marks)]
        if marks and oid in ("no-kernel-data", "user-rsp"):
            # pt_regs marks (Explorer._ptregs_writer): every callee read to
            # its end that may have written pt_regs marked every slot, and
            # any of them may be the writer: follow them all in one round
            # (one per round would spend the refinement window on them)
            return "unsure", r.model, marks
        # the latest such summary is the last writer of those values: follow
        # it first (one callee per round keeps each round small)
        last = by_data[-1].target
        return "unsure", r.model, [e for e in by_data if e.target == last]
    return "unsure", r.model, _minimal_blame(s, gz, blame, timeout_ms)


UNESTABLISHED = "assumption user-mode-if-iopl not established"


def _iret_why(where: str) -> str:
    return (f"{UNESTABLISHED}: the IRET to user mode at {where} may return with IF clear or IOPL != 0, and a "
            "later SYSCALL saves those flags in R11")


def spread_unestablished(final: dict, iret_user_flags=()) -> None:
    """user-mode-if-iopl is one premise for the whole image, kept by every
    return to user mode: an IRET found on any entry's paths that may give
    user mode IF clear or IOPL != 0 (iret_user_flags: Program's record,
    whether or not that exploration reached a SYSRET,
    adv_r157_sysenter_only_iret), or rflags-if-iopl not proven at any SYSRET
    (an ignore stub's sysretl clearing R11 feeds a later 64-bit SYSCALL,
    adv_r157_ignore_r11_premise), leaves every proven rflags-if-iopl
    finding inconclusive (adv_r156_compat_iret_kernel_flags: the compat
    entry's IRET, the sysretq's finding).  A result-level rule: the
    findings come from both processes."""
    import dataclasses

    from ..finding import PROVEN, INCONCLUSIVE

    if iret_user_flags:
        why = _iret_why(iret_user_flags[0])
    else:
        bad = next((f for f in final.values() if f.obligation == "rflags-if-iopl" and f.status != PROVEN), None)
        if bad is None:
            return
        why = (f"{UNESTABLISHED}: rflags-if-iopl is {bad.status} at {bad.site_symbol} ({bad.variant}), and a "
               "SYSCALL after that return saves its flags in R11")
    for k, f in final.items():
        if f.obligation == "rflags-if-iopl" and f.status == PROVEN:
            final[k] = dataclasses.replace(f, status=INCONCLUSIVE, reason=why)


# the obligations whose predicate reads thread_info.status (the TS_COMPAT
# bit the pins decide): never decided without the pins
READS_TS_COMPAT = frozenset({"ts-compat-clear"})

# the SYSRET inputs each obligation reads (obligations.py, the predicates)
OBLIGATION_TERMS = {
    "rcx-is-rip": ("rcx", "regs_ip"), "canonical-rip": ("rcx",), "r11-is-rflags": ("r11", "regs_flags"),
    "rflags-no-rf-tf": ("r11",), "user-cs-ss": ("regs_cs", "regs_ss"), "ts-compat-clear": ("ti_status",),
    "compat-user-cs": ("regs_cs", "regs_ss"), "compat-landing-pad": ("rcx", "regs_ip"),
    "user-rsp": ("rsp", "regs_sp", "regs_sp_kstore"), "user-gs": ("gs_kernel", "gs_bad"), "user-cr3": ("cr3", "cr3_bad"),
    "irqs-off": ("IF", "irq_bad"), "rflags-if-iopl": ("r11",),
    "no-kernel-data": tuple(f"{p}_{r}" for r, _s in NKD_REGS + NKD_REGS_RCX_R11 for p in ("reg", "saved")) +
    tuple(f"kstore_{slot}" for _r, slot in NKD_REGS + NKD_REGS_RCX_R11) + ("kstore_cx", "kstore_r11"),
}


MAX_BLAME_CHECKS = 24


def _minimal_blame(s, gz, blame, timeout_ms: int):
    """The blamed summaries a counterexample needs: a summarised callee is
    dropped from the blame when the negated obligation stays satisfiable with
    every path through it cut (its events' guards false), earliest callee
    first.  Refinement then follows only what the violation depends on (the
    exit work, not the entry work before the syscall).  Only a heuristic of
    what to follow next: the verdict never depends on it."""
    targets = []
    for e in blame:
        if e.kind == "summary" and e.target is not None and e.target not in targets:
            targets.append(e.target)
    if len(targets) <= 1 or len(targets) > MAX_BLAME_CHECKS:
        return blame
    keep = set(targets)
    for t in targets:
        trial = keep - {t}
        cut = [z3.Not(g) for e, g in gz if not (e in blame and (e.target in trial or e.kind != "summary"
                                                                or e.target is None))]
        s.push()
        r = solver.check(cut, timeout_ms=timeout_ms, solver=s)  # s already holds the negated obligation
        s.pop()
        if r.sat:
            keep = trial
    return [e for e in blame if e.kind != "summary" or e.target is None or e.target in keep]


def counterexample(explorer, ex, q: Query, oid: str, model, extra: list):
    """Concrete values from the model, then a replay: every free symbol pinned
    to its model value, the path guard and the negated obligation re-decided
    by a fresh solver (sat is required)."""
    ev = lambda t: model.eval(conv(t), model_completion=True).as_long()  # noqa: E731
    pinned = [d() == model[d] for d in model.decls() if d.arity() == 0]
    ob = obligations.BY_ID[oid]
    r = solver.check(pinned + [q.guard, *extra, z3.Not(ob.predicate(q.inputs))], timeout_ms=60_000)
    if not r.sat:
        return None, f"replay gave {r.status}"
    st = q.state
    # what SYSRET consumes first (RCX -> RIP, R11 -> RFLAGS), then the rest
    regs = {r_: ev(st.get_slot(REG[r_])) for r_ in ("rcx", "r11", "rsp", "rax", "rdx", "rsi", "rdi", "r8", "r9",
                                                     "r10", "rbx", "rbp", "r12", "r13", "r14", "r15")}
    if oid in obligations.EXIT_OBLIGATION_IDS:
        regs["cr3"] = ev(q.exit_terms["cr3"])
    pt = {f: ev(v) for f, v in q.ptregs.items()}
    user = {r_: ev(v) for r_, v in explorer.user.items()}
    sym = explorer.program.symbolize
    path = []
    for addr, guard, note in ex.trail:
        if z3.is_true(model.eval(conv(guard), model_completion=True)):
            if not path or path[-1].address != addr or note:
                path.append(PathStep(addr, sym(addr), note))
    site = q.site
    width = getattr(q, "width", "sysretq")
    if path and path[-1].address == site:
        path[-1] = PathStep(site, path[-1].symbol, width)
    else:
        path.append(PathStep(site, sym(site), width))
    detail = _detail(explorer, ex, q, oid, model, ev) if oid in obligations.EXIT_OBLIGATION_IDS else ""
    return Counterexample(regs, pt, ev(q.terms["ti_status"]), user, tuple(path), True,
                          "model re-checked by an independent solver with every input pinned", detail), ""


def _is_true(model, t) -> bool:
    return z3.is_true(model.eval(conv(t), model_completion=True))


def _detail(explorer, ex, q: Query, oid: str, model, ev) -> str:
    """What the model says about the exit obligation's own state: where the
    %gs access or the IF window was, the PTI/PCID features, which register
    holds what and what it was computed from."""
    sym = explorer.program.symbolize
    t = q.exit_terms
    if oid == "user-gs":
        where = [a for a, c in ex.gs_events if _is_true(model, c)]
        k = _is_true(model, t["gs_kernel"])
        parts = []
        if k:
            parts.append("the GS base is still the kernel's at SYSRET (an even number of SWAPGS on the exit path: "
                         "none, or two)")
        if where:
            parts.append(f"%gs-relative access with the user's GS base at {sym(where[0])}")
        return "; ".join(parts) or "GS base not the user's"
    if oid == "irqs-off":
        where = [a for a, c in ex.irq_events if _is_true(model, c)]
        parts = []
        if where:
            parts.append(f"IF may be set with the user's GS base at {sym(where[0])}")
        if _is_true(model, t["IF"] == 1):
            parts.append("IF=1 at SYSRET")
        return "; ".join(parts) or "IF set"
    if oid == "user-cr3":
        pti, pcid = _is_true(model, t["pti"]), _is_true(model, t["pcid"])
        base = ("; a CR3 write on the path changed its page-table base or ASID, or switched to the user tables "
                "with NOFLUSH (bit 63) while user_pcid_flush_mask had the ASID's flush pending") if pti and \
            _is_true(model, t["cr3_bad"]) else ""
        return (f"X86_FEATURE_PTI={'on' if pti else 'off'}, X86_FEATURE_PCID={'on' if pcid else 'off'}; "
                f"CR3 at SYSCALL={ev(t['entry_cr3']):#x}, at SYSRET={ev(t['cr3']):#x}{base}")
    if oid == "no-kernel-data":
        bad = []
        slots = dict(NKD_REGS + NKD_REGS_RCX_R11)
        if q.width != "sysretl":
            slots.update(rcx="cx", r11="r11")  # (Query._sysretq_rcx_r11: their own slots)
        for r, (v, saved) in q.gpr_terms.items():
            vv, sv = ev(v), ev(saved)
            k = q.terms.get(f"kstore_{slots.get(r)}")
            # (the detail only names registers: what Query accepts at a
            # sysretl, and at a sysretq as before, a 32-bit RCX/R11)
            compat_ok = q.width != "sysretl" and r in ("rcx", "r11") and vv >> 32 == 0
            if k is not None and _is_true(model, k) and vv == sv and not compat_ok:
                # (zero or the user's own value too: obligations.gpr_ok)
                at = getattr(explorer, "implicit_stores", {}).get(slots[r])
                how = f"under a branch on kernel data (a store at {explorer.program.symbolize(at)})" if at else \
                    f"with a value that is not user data ({_provenance(explorer, v)})"
                bad.append(f"{r.upper()}={vv:#x}, restored from pt_regs->{slots[r]}, which the exit code filled {how}")
                continue
            im, cm = q.terms.get(f"implicit_{r}"), q.terms.get(f"computed_{r}")
            restored = r in q.restored and z3.is_true(model.eval(q.restored[r], model_completion=True))
            if cm is not None and _is_true(model, cm) and not restored:
                bad.append(f"{r.upper()}={vv:#x}, computed from kernel data ({_provenance(explorer, v)}): harmless "
                           "as a value, but what it is depends on that data")
                continue
            if im is not None and _is_true(model, im) and not restored:
                at = getattr(explorer, "implicit_writes", {}).get(r)
                where = f" (a write at {explorer.program.symbolize(at)})" if at else ""
                bad.append(f"{r.upper()}={vv:#x}, written after a branch on kernel data and before the paths "
                           f"rejoined{where}: which value it holds is that data")
                continue
            if vv == sv or vv == 0 or vv == ev(explorer.user[r]) or compat_ok:
                continue
            if r == "rax" and saved is explorer.user.get("rax") and (vv >= (1 << 64) - 4095 or
                                                                     (1 << 32) - 4095 <= vv < (1 << 32)):
                continue
            bad.append(f"{r.upper()}={vv:#x} (saved {sv:#x}; {_provenance(explorer, v)})")
        return "; ".join(bad)
    if oid == "user-rsp":
        parked = "; pt_regs->sp was filled by the exit code with a value that is not user data" \
            if _is_true(model, t["regs_sp_kstore"]) else ""
        return f"RSP={ev(t['rsp']):#x}, saved sp={ev(t['regs_sp']):#x} ({_provenance(explorer, t['rsp'])}){parked}"
    return ""


def _provenance(explorer, term) -> str:
    """Where a value came from, read off the names of the inputs of its term
    (explore.py and state.py name every fresh value by what made it)."""
    sym = explorer.program.symbolize
    fr = explorer.frame
    out = []
    for n in sorted(term.variables):
        base = n.split("#")[0]
        if base.startswith("user_"):
            out.append(f"the user's {base[5:]} at SYSCALL")
        elif base.startswith("ret_"):
            # ret_<site>_<reg>: a register a summarised call may clobber
            site, _, reg = base[4:].partition("_")
            try:
                out.append(f"{reg} as left by the call at {sym(int(site, 16))}")
            except ValueError:
                out.append(base)
        elif base.startswith("mem"):
            gen, _, addr = base[3:].partition("_")
            try:
                a = int(addr, 16)
            except ValueError:
                out.append(base)
                continue
            if fr.pt_regs <= a < fr.pt_regs + fr.layout.pt_regs_size.value:
                where = "pt_regs"
            elif explorer.is_stack(a):
                where = f"the kernel stack at {a:#x}"
            else:
                where = f"memory at {a:#x}"
            out.append(f"{where}")
        else:
            out.append(base)
        if len(out) >= 4:
            break
    if not out:
        return "a constant computed from a kernel address" if machine.from_kernel_address(term) else \
            "a constant of the code"
    return "from " + ", ".join(dict.fromkeys(out))


def implicit_mark(v, memo: dict):
    """When a value carries machine.ImplicitFlow (it was written, or computed
    from what was written, while a branch on kernel data had not rejoined:
    Explorer._branch_regions), as a claripy Bool over the path: an If picks
    the arm's mark by its condition (a merge of paths of which only some
    wrote it), a condition that carries it marks the whole If (which arm
    is the flow), any other term carrying it is marked outright
    (conservative: it may be computed from a marked value)."""
    if not machine.has_implicit_flow(v):
        return claripy.BoolV(False)
    key = v.hash()
    m = memo.get(key)
    if m is None:
        if v.op == "If":
            c, a, b = v.args
            if machine.has_implicit_flow(c) or not (machine.has_implicit_flow(a) or machine.has_implicit_flow(b)):
                # (a marked condition; or the If itself was marked, as
                # Explorer.load marks a word read through an address chosen
                # by kernel data, adv_r63_secret_index)
                m = claripy.BoolV(True)
            else:
                m = claripy.If(c, implicit_mark(a, memo), implicit_mark(b, memo))
        else:
            m = claripy.BoolV(True)
        memo[key] = m
    return m


_MOVES = ("Concat", "Extract", "ZeroExt", "SignExt")


def _moved(v) -> bool:
    """A value only moved, not computed: a variable (a loaded byte, a
    register's input), a plain constant, or bytes of such put together.
    no-kernel-data judges it by its value (gpr_ok; a havoc's bytes through
    its unsure event, compat_frame_pointer_dispatch), not by its name."""
    if v.op == "BVS":
        return True
    if v.op == "BVV":
        return not machine.from_kernel_address(v)
    return v.op in _MOVES and all(_moved(a) for a in v.args if isinstance(a, claripy.ast.Base))


def data_mark(explorer, v, st, memo: dict, own_slots=frozenset()):
    """When a value is computed from kernel data (Explorer.kernel_inputs),
    as a claripy Bool over the path: an If (a merge of paths) picks its
    arm's mark by its condition, whose own inputs (the path guard) do not
    count; a value only moved (_moved) is not marked; any other term counts
    by its inputs (a mask from a secret bit, a constant folded from a
    kernel address)."""
    key = v.hash()
    m = memo.get(key)
    if m is None:
        if v.op == "If":
            c, a, b = v.args
            ma, mb = data_mark(explorer, a, st, memo, own_slots), data_mark(explorer, b, st, memo, own_slots)
            m = ma if ma is mb or (ma.is_false() and mb.is_false()) else claripy.If(c, ma, mb)
        elif _moved(v):
            m = claripy.BoolV(False)
        else:
            # (a slot's kstore mark counts, but not that of the slots the
            # register is restored from, gpr_ok's business: SYSENTER's
            # pushfq leaves the entry's status flags in pt_regs->flags, R11's
            # slot; another slot's does: the entry's RSP parked in orig_ax
            # made into a mask, adv_r63_origax_shift_mask)
            m = claripy.BoolV(explorer.kernel_inputs(v, st, own_slots=own_slots))
        memo[key] = m
    return m


WITNESS_NOTE = " (on a witness path with every readable callee run)"


def witness_violations(explorer, ex, wvs, todo, consts, deadline, query_args):
    """The replayed violations, on a witness exploration `ex`, among the open
    (site, obligation) pairs todo[variant name] of the variants `wvs`:
    yields (variant, site, oid, message, counterexample).  A witness leaves
    paths out: only its violations count.  query_args(site): Query keywords
    (width, frame)."""
    for v in wvs:
        extra = variant_constraint(explorer, ex, v["fixed"])
        pairs = todo[v["name"]]
        for site in sorted({s for s, _ in pairs}):
            hits = [h for h in ex.hits if h.site == site]
            if not hits:
                continue
            q = Query(explorer, hits, v["la57"], consts, **query_args(site))
            if other_width(q, extra, int(max(1.0, min(60.0, deadline - time.monotonic())) * 1000)):
                continue  # (left open: inconclusive)
            oids = [o for s, o in pairs if s == site]
            for oid, cex in confirmed_violations(explorer, ex, q, oids, extra,
                                                 lambda: int(max(1.0, min(60.0, deadline - time.monotonic())) * 1000)):
                yield v, site, oid, explain(oid, cex, v["detail"]["paging"]) + WITNESS_NOTE, cex


def confirmed_violations(explorer, ex, q, oids, extra, ms):
    """(oid, counterexample) for each obligation of `oids` that the
    exploration `ex` violates at q's site with a replayed counterexample
    through no over-approximation (decide's "violated"); ms(): the solver
    budget now, in milliseconds.  Those that hold together are skipped
    first (holding: one query)."""
    if len(oids) > 1:
        held = holding(q, oids, extra, ms())
        oids = [o for o in oids if o not in held]
    for oid in oids:
        status, model, _blame = decide(q, oid, extra, ex.events, ms())
        if status != "violated":
            continue
        cex, _why = counterexample(explorer, ex, q, oid, model, extra)
        if cex is not None:
            yield oid, cex


def explain(oid: str, cex: Counterexample, paging: str) -> str:
    r, pt = cex.registers, cex.pt_regs
    if oid == "rcx-is-rip":
        return f"RCX={r['rcx']:#018x} but pt_regs->ip={pt['ip']:#018x}: the user resumes somewhere else"
    if oid == "canonical-rip":
        return (f"RCX={r['rcx']:#018x} is not canonical for {paging} paging: "
                "SYSRET raises #GP in ring 0 on the user stack (Intel)")
    if oid == "r11-is-rflags":
        return f"R11={r['r11']:#018x} but pt_regs->flags={pt['flags']:#018x}"
    if oid == "rflags-no-rf-tf":
        return f"R11={r['r11']:#018x} has RF/TF set (mask 0x10100): SYSRET cannot restore RF, TF traps at once"
    if oid == "rflags-if-iopl":
        bad = " and ".join(w for w, b in (("IF clear", not r["r11"] & 0x200),
                                          (f"IOPL {(r['r11'] >> 12) & 3}", r["r11"] & 0x3000)) if b)
        return f"R11={r['r11']:#018x} has {bad}: SYSRET loads both into the user's RFLAGS (IF=1, IOPL=0 needed)"
    if oid == "user-cs-ss":
        return f"pt_regs->cs={pt['cs']:#x}, ss={pt['ss']:#x}, but SYSRET loads 0x33/0x2b"
    if oid == "ts-compat-clear":
        return f"thread_info.status={cex.ti_status:#x} still has TS_COMPAT (0x2) at SYSRET"
    if oid == "compat-user-cs":
        return f"pt_regs->cs={pt['cs']:#x}, ss={pt['ss']:#x}, but SYSRETL loads 0x23/0x2b"
    if oid == "user-rsp":
        return f"RSP at SYSRET is not the saved user stack pointer: {cex.detail}"
    if oid == "user-gs":
        return f"the GS base is not the user's at SYSRET, or was used after the exit SWAPGS: {cex.detail}"
    if oid == "user-cr3":
        return f"CR3 at SYSRET does not select the task's user page tables: {cex.detail}"
    if oid == "irqs-off":
        return f"interrupts may be enabled while the GS base is the user's: {cex.detail}"
    if oid == "no-kernel-data":
        return f"a register may hold kernel data at SYSRET: {cex.detail}"
    if oid == "compat-landing-pad":
        return (f"ECX={r['rcx'] & 0xFFFFFFFF:#010x} but pt_regs->ip={pt['ip']:#018x}: the 32-bit task resumes "
                "somewhere else")
    return oid
