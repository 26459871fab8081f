"""Layer 5, the engine: explore every path from entry_SYSCALL_64 to each
`sysretq`, per code variant, and decide each obligation there.

Pass order, per variant:
1. start from the machine's initial state at entry_SYSCALL_64;
2. take paths from a work list ordered by program position (the call sites
   being followed, then the rank of the address in the reverse postorder of
   its function's static CFG, verify.order), so that every path reaching a
   join point is there before any goes past it; paths at the same point, on
   the same stack and call stack, are merged exactly (`_merge_two`: values
   that differ become If(g, a, b), the path conditions become a disjunction);
3. at each address, in this order:
   sysretq -> record the SYSRET state; iretq -> path is safe, stop;
   a call target -> the policy (follow / havoc / summary / nop / return);
   a patch site -> fork one path per boot-time variant of its bytes;
   a special instruction -> its model (verify.machine);
   otherwise -> lift a block with pyvex and step it with angr;
4. loops: at a loop head (a back-edge target) revisited on the same stack the
   second visit widens the state (what changed becomes fresh), the third is
   cut only when it is subsumed by the widened state (so no state is lost);
5. at each SYSRET state, for each obligation: path condition AND NOT
   obligation, decided by z3 through verify.solver (three outcomes); a model
   that passes through a call not followed or an over-approximation (a
   widened loop, a read through an unknown pointer) is retried avoiding them
   (their merge guards false); only a model that avoids them is a violation;
6. a satisfying model is re-evaluated against the recorded path before it is
   reported (a model that does not replay is reported inconclusive).

Any state angr drops, errors on, or cannot constrain, any instruction without
a model, any z3 `unknown` and any exhausted budget makes the variant
inconclusive.
"""
from __future__ import annotations

import heapq
import os
import sys
import time
from dataclasses import dataclass, field, replace

import claripy
import networkx as nx
import z3

from . import machine, obligations, policy, solver
from .errors import InputError
from .finding import INCONCLUSIVE, PROVEN, VIOLATED, CheckResult, Counterexample, Finding, PathStep
from .lift import CodeReader
from .image.encoding import is_jump
from .image.patches import Variant as PatchVariant
from .order import ProgramOrder

MAX_STEPS_PER_VARIANT = 60000
MAX_REFINEMENTS = 16
MAX_TRAIL = 20000
LOOP_REWIDEN_LIMIT = 4
GPRS = machine.USER_REGS
# registers a merge compares (RSP and RIP are equal by construction; the
# flags thunk is merged as computed flags)
MERGED_REGS = tuple(r for r in GPRS if r != "rsp") + ("dflag", "acflag", "idflag", "gs", "fs")
LOOP_COMPARED_REGS = tuple(r for r in GPRS if r != "rsp") + ("cc_op", "cc_dep1", "cc_dep2", "cc_ndep", "dflag", "acflag", "idflag", "gs", "fs")


@dataclass(frozen=True)
class Variant:
    name: str
    features: dict  # feature name -> bool (the global features this variant fixes)
    la57: bool
    xenpv: bool

    def describe(self) -> dict:
        return {"name": self.name, "paging": "5-level (LA57)" if self.la57 else "4-level",
                "features": {k: v for k, v in self.features.items()}}


class Path:
    """One path being explored: an angr state plus the bookkeeping the proof needs.

    After a merge a Path stands for several paths at once: the merged values
    are `If(guard, a, b)` and everything that differs between the merged
    paths (the trail, the havocs met, the patch-site choices) carries the
    guard that selects it, so a counterexample model says which real path it
    took."""

    __slots__ = ("state", "trail", "patches", "depth", "loops", "havocs", "steps", "callstack", "via", "guard_vars")

    def __init__(self, state):
        self.state = state
        # the addresses visited, newest first, as a persistent list (forks
        # share it): None or ((addr, note), rest); a merge is the entry
        # (MERGED, g, trail_if_g, trail_otherwise) with g the merge's claripy Bool
        self.trail = None
        # site address -> the bytes chosen for it on this path, or a list of
        # (guard, bytes or None) after a merge of paths that chose differently.
        # Boot-time patching is global, so a site keeps its choice for the whole path.
        self.patches: dict = {}
        self.depth = 0
        self.callstack: tuple = ()  # return addresses of the calls being followed
        self.via = "start"  # how control reached state.addr: "call", "jump" or "fall"(through)
        self.loops: dict = {}
        # calls not followed, mitigation sequences and over-approximations met
        # on the path: Event tuples
        self.havocs: tuple = ()
        self.steps = 0
        self.guard_vars = frozenset()  # names of the merge guards the events and patch choices use

    def fork(self, state) -> "Path":
        p = Path(state)
        p.trail = self.trail
        p.patches = dict(self.patches)
        p.depth = self.depth
        p.callstack = self.callstack
        p.via = self.via
        p.loops = dict(self.loops)
        p.havocs = self.havocs
        p.steps = self.steps
        p.guard_vars = self.guard_vars
        return p


MERGED = "merged"


@dataclass(frozen=True, eq=False)
class Event:
    """Something on a path that decides whether a counterexample through it is
    real: a call not followed (policy.HAVOC_*), a mitigation sequence, or an
    over-approximation (WIDENED: a loop widened).  `guard` is None when the
    event is on every path the Path stands for; else a guard tree
    (see _guard_expr) over the merges that select it."""

    name: str
    policy: str
    reason: str
    where: int
    seq: int  # the path's step count when it happened: orders events on one path
    guard: object = None


WIDENED = "widened"  # an over-approximation: a counterexample through it is not confirmed


def _flatten_trail(trail, pick) -> list:
    """The trail as a list, oldest first; `pick(guard)` says which side of a
    merge the model took (each side holds its whole history)."""
    out = []
    while trail is not None:
        entry, trail = trail
        if entry[0] == MERGED:
            _m, guard, ta, tb = entry
            trail = ta if pick(guard) else tb
            continue
        out.append(entry)
    out.reverse()
    return out


class Inconclusive(Exception):
    pass


@dataclass
class SysretHit:
    site: int
    path: Path


@dataclass
class VariantRun:
    variant: Variant
    hits: list = field(default_factory=list)
    inconclusive: list = field(default_factory=list)  # reasons
    paths_done: int = 0
    steps: int = 0
    seconds: float = 0.0
    solver_seconds: float = 0.0
    assumptions: set = field(default_factory=set)
    rounds: int = 1
    merges: int = 0


class Explorer:
    def __init__(self, image, progress=False, deadline=None):
        self.image = image
        self.progress = progress
        self.deadline = deadline
        self.layout = image.layout
        self.entry = image.entry
        syms = image.symbols
        self.symbols = syms
        self.frame = machine.Frame(self.layout, syms.get("this_cpu_off"))
        self.constants = {k: v.value for k, v in self.layout.constants.items()}
        self.feature_la57 = self.constants.get("X86_FEATURE_LA57")
        self.feature_xenpv = self.constants.get("X86_FEATURE_XENPV")
        self.feature_always = self.constants.get("X86_FEATURE_ALWAYS")
        self.dispatch_names = {"x64_sys_call", "sys_call_table"}
        d = getattr(self.entry, "dispatch", None)  # {"name", "address", "call"} from the image layer
        if d and d.get("name"):
            self.dispatch_names.add(d["name"])
        self.sysret_sites = set(self.entry.sysret_sites)
        self.iret_sites = set(self.entry.iret_sites)
        # function starts: address -> name, for the call policy (built lazily per address)
        self._func_cache: dict[int, tuple] = {}
        # address -> every table entry patching it, in table order (the kernel
        # applies them in that order; ALTERNATIVE_2 gives two entries at one site)
        self.sites: dict[int, list] = {}
        from .image.patches import read_patch_sites

        for s in read_patch_sites(image):
            if s.kind in ("return_thunk", "retpoline"):
                continue  # modelled at the thunk itself
            self.sites.setdefault(s.addr, []).append(s)
        self.code = CodeReader(self._fetch_code, self._barrier)
        self.order = ProgramOrder(syms, self._fetch_code, lambda a: [
            bytes(v.code) for s in self.sites.get(a, ()) for v in s.variants if v.code is not None])
        self.project = machine.new_project()
        self.cfg = nx.DiGraph()
        self.follow: set[str] = set(policy.EXIT_PATH_SEED)
        self._merges = 0
        # SYSRET_VERIFY_NO_MERGE=1: explore path by path (the naive baseline
        # benchmarks/bench_check.py compares against)
        self.merging = os.environ.get("SYSRET_VERIFY_NO_MERGE") != "1"
        self.iret_exits = self._iret_exits()

    def _iret_exits(self) -> frozenset:
        """Labels of the IRET exit (where the failed SYSRET checks jump).

        A label counts only if a static walk from it over the entry text,
        through every patch-site variant, meets an `iretq` on every branch and
        never a `sysretq`, a `ret`, an indirect jump or a jump outside the
        entry text; paths reaching it are then ended (they return with IRET)."""
        import capstone

        lo, hi = self.entry.entry_text
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        md.detail = True
        out = set()
        for name in ("swapgs_restore_regs_and_return_to_usermode", "common_interrupt_return"):
            start = self.symbols.get(name)
            if start is None or not lo <= start < hi:
                continue
            ok, work, seen = True, [(start, None, start)], set()
            while work and ok:
                a, code, base = work.pop()
                if (a, code) in seen:
                    continue
                seen.add((a, code))
                if code is None and a in self.sites:
                    for e in self.sites[a]:
                        for v in e.variants:
                            if v.code is None:
                                ok = False
                            else:
                                work.append((a, bytes(v.code), a))
                    continue
                if code is not None and a >= base + len(code):
                    work.append((a, None, a))
                    continue
                try:
                    chunk = code[a - base:] if code is not None else self._fetch_code(a, 16)
                except Inconclusive:
                    ok = False
                    break
                insn = next(md.disasm(chunk, a, 1), None)
                if insn is None:
                    ok = False
                    break
                m = insn.mnemonic
                if m.startswith("iret"):
                    continue
                if m.startswith("sysret") or m.startswith("ret") or m == "call":
                    ok = False
                    break
                if is_jump(insn):
                    # (jcc, jmp, LOOP*: adv_r118_iret_exit_loop_sysret)
                    op = insn.operands[0]
                    tgt = op.imm & 0xFFFFFFFFFFFFFFFF
                    if op.type != capstone.x86.X86_OP_IMM:
                        ok = False
                        break
                    # Xen PV returns to user mode with the iret hypercall.
                    if self.symbols.symbolize(tgt) not in ("xen_iret", "xen_iret_crit_fixup"):
                        work.append((tgt, None, tgt))
                    if m == "jmp":
                        continue
                if m in ("int3", "ud2", "hlt"):
                    continue
                work.append((a + insn.size, code, base))
            if ok:
                out.add(start)
        return frozenset(out)

    # -- code access -------------------------------------------------------------
    def _fetch_code(self, addr: int, n: int) -> bytes:
        sec = self.image.elf.section_at(addr)
        if sec is None or not (sec.flags & 0x4):  # SHF_EXECINSTR
            raise Inconclusive(f"control reaches {addr:#x}, outside executable code")
        n = min(n, sec.end - addr)
        return self.image.read(addr, n)

    def _barrier(self, addr: int) -> bool:
        return addr in self.sites or addr in self.sysret_sites or addr in self.iret_sites or \
            self._function_at(addr) is not None

    def _function_at(self, addr: int):
        """(name, size) if addr is the start of a function symbol."""
        hit = self._func_cache.get(addr, False)
        if hit is not False:
            return hit
        name = self.symbols.symbolize(addr)
        result = None
        if "+" not in name and not name.startswith("0x"):
            end = self.symbols.function_end(name)
            result = (name, (end - addr) if end else None)
        self._func_cache[addr] = result
        return result

    # -- variants ------------------------------------------------------------------
    def variants(self) -> list[Variant]:
        feats = {s.feature for ss in self.sites.values() for s in ss if s.kind == "alternative"}
        has_la57 = self.feature_la57 in feats or "__pgtable_l5_enabled" in self.symbols or \
            "pgtable_l5_enabled" in self.symbols
        has_xenpv = self.feature_xenpv in feats
        out = [Variant("4-level", {"X86_FEATURE_LA57": False, "X86_FEATURE_XENPV": False}, False, False)]
        if has_la57:
            out.append(Variant("la57", {"X86_FEATURE_LA57": True, "X86_FEATURE_XENPV": False}, True, False))
        if has_xenpv:
            out.append(Variant("xenpv", {"X86_FEATURE_LA57": False, "X86_FEATURE_XENPV": True}, False, True))
        return out

    def _site_choices(self, entries, variant: Variant):
        """The bytes this code variant may run at a patch site: a list of Variant.

        Entries are applied in table order, as apply_alternatives() does: an
        entry whose feature this variant fixes replaces the candidates (or
        leaves them); any other feature may be on or off at boot, so its
        replacement joins the candidates (a nondeterministic choice)."""
        cands = [entries[0].variants[0]]
        for site in entries:
            vs = list(site.variants)
            repl = vs[1:]
            if site.kind == "alternative":
                if site.feature in (self.feature_la57, self.feature_xenpv):
                    on = variant.la57 if site.feature == self.feature_la57 else variant.xenpv
                    if _alt_not(site):
                        on = not on
                    if on and repl:
                        cands = repl[:1]
                elif site.feature == self.feature_always and not _alt_not(site) and repl:
                    cands = repl[:1]
                else:
                    cands += [v for v in repl if v not in cands]
            elif site.kind == "paravirt":
                # apply_paravirt() always rewrites the indirect call: the on-disk bytes never run.
                native = [v for v in repl if v.code is not None]
                cands = native or vs
            else:
                cands += [v for v in repl if v not in cands]
        # ALT_FLAG_DIRECT_CALL (6.12+): the replacement calls whatever the
        # pv_ops slot holds at boot, which the image does not fix; that is
        # exactly what the on-disk `call *pv_ops+X(%rip)` does when run (a
        # read of the slot, which is arbitrary here, then a call to an unknown
        # function: a havoc).
        on_disk = entries[0].variants[0]
        return [PatchVariant(f"{v.label}, run as the on-disk indirect call", on_disk.code)
                if v.code is None and "direct-call (target is data" in v.label and on_disk.code is not None
                else v for v in cands]

    # -- the exploration -----------------------------------------------------------------
    def run_variant(self, variant: Variant) -> VariantRun:
        """Explore in program order, merging paths where they meet.

        The work list is ordered by program position (the call sites being
        followed, then the address), so that the paths that reach a point
        along forward code are all there before any of them goes on: they
        are merged into one exact path (`_merge`) and the code after the
        join is explored once, not once per way of getting there."""
        run = VariantRun(variant)
        t0 = time.monotonic()
        init = machine.initial_state(self.project, self.frame, self.entry.syscall_entry)
        self._install_pointer_guards(init)
        work: list = []
        tick = [0]

        def push(q: Path):
            tick[0] += 1
            heapq.heappush(work, (self._position(q), tick[0], q))

        push(Path(init))
        while work:
            if self.deadline and time.monotonic() > self.deadline:
                run.inconclusive.append("timeout: the time budget ran out before every path was explored")
                break
            pos, _t, p = heapq.heappop(work)
            group, others = [p], []
            while work and work[0][0] == pos:
                q = heapq.heappop(work)[2]
                (group if self.merging and self._mergeable_safe(p, q) else others).append(q)
            for q in others:
                push(q)
            run.steps += 1
            if run.steps > MAX_STEPS_PER_VARIANT:
                run.inconclusive.append(f"step budget ({MAX_STEPS_PER_VARIANT}) exhausted before every path was explored")
                break
            try:
                if len(group) > 1:
                    p = self._merge(group, run)
                nxt = self.step(p, variant, run)
            except Inconclusive as e:
                run.inconclusive.append(f"{self._where(p)}: {e}")
                continue
            except (claripy.errors.ClaripyError, z3.Z3Exception) as e:
                run.inconclusive.append(f"{self._where(p)}: solver error: {e}")
                continue
            except Exception as e:  # an angr failure must never pass as proven
                run.inconclusive.append(f"{self._where(p)}: analysis error: {type(e).__name__}: {e}")
                continue
            if not nxt:
                run.paths_done += 1
            for q in nxt:
                push(q)
            if self.progress and run.steps % 500 == 0:
                print(f"\r  {variant.name}: {run.steps} steps, {len(work)} open paths, "
                      f"{len(run.hits)} at SYSRET", end="", file=sys.stderr, flush=True)
        if self.progress:
            print(file=sys.stderr)
        run.seconds = time.monotonic() - t0
        return run

    def _position(self, p: Path) -> tuple:
        """Program order for the work list: the call sites being followed, then
        the place in the current function (a path inside a call comes before
        one that returned from it)."""
        st = p.state
        if st.regs.rip.symbolic:
            return ((-1, -1.0),)
        rank = self.order.rank
        out = []
        for r in p.callstack:
            if r is None:
                out.append((-1, -1.0))
            else:
                f, k = rank(r)
                out.append((f, k - 0.5))  # the call itself: just before its return address
        return tuple(out) + (rank(st.addr),)

    def _where(self, p: Path) -> str:
        try:
            return self.image.symbolize(p.state.addr)
        except Exception:
            return "?"

    def _install_pointer_guards(self, state):
        """Reads and writes through addresses that are not a single known value.

        A read through an unknown pointer returns a fresh value (it is sent to
        an address nothing ever wrote) - sound, it only loses precision.  A
        write through an unknown pointer is sent there too, and then
        everything it might alias is havocked after the instruction: all
        non-private memory, and the user state too unless the solver shows the
        pointer cannot reach pt_regs or thread_info."""
        frame = self.frame

        def may_hit_user(st, a, size) -> bool:
            for lo, n in frame.user_state_regions() + [(machine.STACK_LIMIT, machine.STACK_TOP - machine.STACK_LIMIT)]:
                if st.solver.satisfiable(extra_constraints=[claripy.And(a + size > lo, a < lo + n)]):
                    return True
            return False

        def on_read(st):
            a = st.inspect.mem_read_address
            if a is not None and not isinstance(a, int) and a.symbolic:
                size = st.inspect.mem_read_length
                if may_hit_user(st, a, size if isinstance(size, int) else 8):
                    # a fresh value where the real read may see user state
                    # (pt_regs, the stack): an over-approximation
                    st.globals["unsure_read"] = True
                st.inspect.mem_read_address = claripy.BVV(_scratch(st), 64)
                st.globals["scratch_read"] = True

        def after_read(st):
            if not st.globals.get("scratch_read"):
                # remember which words this path read since memory was last made
                # fresh: a merge compares them (a read fixes a fresh value)
                _track_words(st, "read", st.inspect.mem_read_address, st.inspect.mem_read_length)
                return
            # Name the value by where it was read and how often on this path.
            st.globals["scratch_read"] = False
            ins = st.scratch.ins_addr or 0
            n = st.globals.get("scratch_n", 0)
            st.globals["scratch_n"] = n + 1
            e = st.inspect.mem_read_expr
            st.inspect.mem_read_expr = claripy.BVS(f"unknown_ptr_read_{ins:x}_{n}", e.size(), explicit_name=True)

        def on_write(st):
            a = st.inspect.mem_write_address
            if a is not None and (isinstance(a, int) or not a.symbolic):
                # remember what this path wrote since memory was last made fresh:
                # merges and loop cuts compare (and keep) exactly these words
                _track_words(st, "written", a, st.inspect.mem_write_length)
                return
            if a is not None and a.symbolic:
                size = st.inspect.mem_write_length
                size = size if isinstance(size, int) else 8
                hits_user = may_hit_user(st, a, size)
                st.inspect.mem_write_address = claripy.BVV(_scratch(st), 64)
                st.globals["pending_havoc"] = (st.globals.get("pending_havoc") or False) or (
                    "user" if hits_user else "non-user")

        state.inspect.b("mem_read", when="before", action=on_read)
        state.inspect.b("mem_read", when="after", action=after_read)
        state.inspect.b("mem_write", when="before", action=on_write)

    def step(self, p: Path, variant: Variant, run: VariantRun) -> list:
        st = p.state
        if st.regs.rip.symbolic:
            raise Inconclusive("jump to a computed address the analysis cannot resolve")
        addr = st.addr
        p.steps += 1
        if p.steps > MAX_TRAIL:
            raise Inconclusive("path too long")
        patch = self._patch_at(p, addr)
        if addr in self.iret_sites and patch is None:
            self._trail(p, addr, "iretq: returns with IRET")
            return []
        if patch is None and addr in self.iret_exits:
            self._trail(p, addr, "IRET exit: no SYSRET is reachable from here")
            return []

        # a call or jump to a function start outside the entry text: the call
        # policy decides first (a return thunk whose first bytes are a patch
        # site, as 6.12's __x86_return_thunk, is still a return)
        lo, hi = self.entry.entry_text
        if patch is None and (p.via == "call" or (p.via == "jump" and not lo <= addr < hi)):
            fn = self._function_at(addr)
            if fn is not None:
                handled = self._enter_function(p, fn, addr, run)
                if handled is not None:
                    return handled

        # patch site met for the first time on this path: fork per variant
        if patch is None and addr in self.sites:
            entries = self.sites[addr]
            site = entries[0]
            choices = self._site_choices(entries, variant)
            for v in choices:
                if v.code is None:
                    # a variant whose bytes depend on data (e.g. a direct call to a pv_ops target)
                    raise Inconclusive(f"patch-site variant '{v.label}' cannot be resolved from the image")
            # (guard, variant): a path merged from paths that chose differently
            # here runs each earlier choice under the guard of the paths that made it
            earlier = p.patches.get(addr)
            if isinstance(earlier, dict):
                options, memo = [], {}
                for code, guard in earlier.items():
                    for v in choices:
                        if code is None or bytes(v.code) == code:
                            options.append((_guard_expr(guard, memo), v))
            else:
                options = [(None, v) for v in choices]
            out = []
            for g, v in options:
                q = p.fork(st.copy()) if len(options) > 1 else p
                if g is not None:
                    q.state.add_constraints(g)
                    if not q.state.solver.satisfiable():
                        continue
                q.patches[addr] = bytes(v.code)
                self._trail(q, addr, f"{site.kind} variant: {v.label}")
                out.append(q)
            return out

        code = None
        if patch is not None:
            code = patch[1][addr - patch[0]:]
        insn = self.code.insn_at(addr, code)
        if insn is None:
            raise Inconclusive("undecodable instruction")
        if insn.special:
            return self._special(p, insn, variant, run)
        try:
            irsb, insns = self.code.block(addr, code)
        except ValueError as e:
            raise Inconclusive(str(e)) from None
        self._trail(p, addr, "")
        succ = self.project.factory.successors(st, irsb=irsb)
        if getattr(succ, "errored", None):
            raise Inconclusive("angr error while stepping")
        out = []
        flat = list(succ.flat_successors)
        for ns in succ.unconstrained_successors:
            # An indirect call or jump through a pointer we do not know (a
            # function pointer from data, a retpoline thunk): a call to an
            # unknown function.  It returns to the innermost followed call site.
            q = p.fork(ns) if len(flat) + len(succ.unconstrained_successors) > 1 else p
            q.state = ns
            out.extend(self._unknown_call(q, ns.history.jumpkind, run))
        for i, ns in enumerate(flat):
            q = p.fork(ns) if len(flat) > 1 else p
            q.state = ns
            jk = ns.history.jumpkind
            if ns.globals.get("unsure_read"):
                ns.globals["unsure_read"] = False
                q.havocs = q.havocs + (Event(f"read-through-unknown-pointer@{self.image.symbolize(insns[-1].addr)}",
                                             WIDENED, "a read that may see user state, through a pointer "
                                             "the analysis does not know", addr, q.steps),)
            pend = ns.globals.get("pending_havoc")
            if pend:
                ns.globals["pending_havoc"] = False
                self._havoc(q, f"store-through-unknown-pointer@{insns[-1].addr:#x}",
                            policy.HAVOC_UNFOLLOWED if pend == "user" else policy.PRESERVES_USER_STATE, run,
                            registers=False, reason="a store through an unknown pointer")
            if not ns.regs.rip.symbolic:
                tgt = ns.addr
                q.via = "call" if jk == "Ijk_Call" else ("fall" if tgt == addr + irsb.size else "jump")
            if jk == "Ijk_Call":
                q.depth += 1
                ra = machine.load(ns, ns.regs.rsp, 8) if not ns.regs.rsp.symbolic else None
                q.callstack = q.callstack + ((ra.concrete_value if ra is not None and not ra.symbolic else None),)
            elif jk == "Ijk_Ret":
                q.depth -= 1
                q.callstack = q.callstack[:-1]
            elif jk in ("Ijk_Boring",):
                pass
            elif jk in ("Ijk_SigTRAP",):
                continue  # int3: the path ends in a trap
            elif jk in ("Ijk_NoDecode", "Ijk_SigILL"):
                raise Inconclusive(f"instruction VEX cannot model ({jk})")
            else:
                raise Inconclusive(f"unmodelled control transfer {jk}")
            if not ns.regs.rip.symbolic:
                tgt = ns.addr
                self.cfg.add_edge(addr, tgt)
            if ns.regs.rsp.symbolic and not st.regs.rsp.symbolic:
                self._concretize_rsp(q, run)
            if self._loop_check(q, run) is None:
                continue
            out.append(q)
        return out

    def _patch_at(self, p: Path, addr: int):
        """(site, code) if addr lies inside a patch site whose variant this path chose."""
        for site, code in p.patches.items():
            if isinstance(code, dict):
                # merged paths that chose differently: decided again at the site start
                longest = max(len(c) if c is not None else 0 for c in code)
                if site < addr < site + longest:
                    raise Inconclusive("a merged path enters a patch site in the middle")
                continue
            if site <= addr < site + len(code):
                return site, code
        return None

    def _trail(self, p: Path, addr: int, note: str):
        p.trail = ((addr, note), p.trail)
        if addr not in self.cfg:
            self.cfg.add_node(addr)

    def _concretize_rsp(self, p: Path, run: VariantRun):
        """The random kernel stack offset makes RSP symbolic inside do_syscall_64;
        frames below pt_regs are private, so one value stands for all."""
        st = p.state
        rsp = st.regs.rsp
        if not any(v.startswith("user_rsp") for v in rsp.variables):
            # the same value on every path, whatever else it constrained, so
            # that paths can still be merged after it
            lo = claripy.Solver().max(rsp)  # offset 0: where the path without the offset is
            if not st.solver.satisfiable(extra_constraints=[rsp == lo]):
                lo = st.solver.min(rsp)
            if machine.STACK_LIMIT <= lo <= machine.STACK_TOP:
                st.regs.rsp = claripy.BVV(lo, 64)
            # else: RSP now holds a user value (`pop %rsp` before SYSRET)
        run.assumptions.add("kstack-offset")

    # -- calls ---------------------------------------------------------------------------
    def _enter_function(self, p: Path, fn, addr: int, run: VariantRun):
        name, size = fn
        follow = self.follow
        if name not in follow and self.order.is_small(addr, name):
            follow = follow | {name}
        pol, why = policy.call_policy(name, p.depth, follow, self.dispatch_names)
        st = p.state
        if pol == policy.FOLLOW:
            return None
        if pol == policy.NORETURN:
            self._trail(p, addr, f"{name}: does not return")
            return []
        if name.startswith("__x86_indirect_thunk_") or name.startswith("__x86_indirect_call_thunk_") or \
                name.startswith("__x86_indirect_jump_thunk_"):
            reg = name.rsplit("_", 1)[-1]
            tgt = getattr(st.regs, reg)
            if tgt.symbolic:
                return self._return_from(p, addr, name, policy.HAVOC_UNFOLLOWED,
                                         f"indirect call through {reg} (retpoline) to an unknown target", run)
            st.regs.rip = tgt
            self._trail(p, addr, f"retpoline to {reg}")
            return [p]
        if pol == policy.NOP:
            run.assumptions.add("fentry-nop")
            return self._pop_return(p, addr, f"{name}: NOP after boot")
        if pol == policy.RETURN:
            run.assumptions.add("return-thunk")
            return self._pop_return(p, addr, f"{name}: return")
        if pol == policy.CLOBBER:
            run.assumptions.add("mitigation-routines")
            k = sum(1 for h in p.havocs if h.name == name and h.where == addr)
            tag = f"{name}@{addr:x}#{k}"
            p.havocs = p.havocs + (Event(name, policy.CLOBBER, "mitigation-routines", addr, p.steps),)
            # the registers its instructions write (the entry code keeps the
            # arguments of do_syscall_64 in rdi/rsi across these calls)
            regs = self.order.written_registers(addr, name, policy.RETURN_THUNKS)
            for r in (machine.USER_REGS if regs is None else sorted(regs)):
                if r != "rsp":
                    setattr(st.regs, r, machine.fresh(f"clobber_{tag}_{r}", unique=False))
            st.regs.cc_op = 0
            st.regs.cc_dep1 = machine.fresh(f"clobber_{tag}_rflags", unique=False)
            st.regs.cc_dep2 = 0
            st.regs.cc_ndep = 0
            return self._pop_return(p, addr, f"{name}: mitigation sequence (clobbers the registers it writes)")
        return self._return_from(p, addr, name, pol, why, run)

    def _unknown_call(self, p: Path, jk: str, run: VariantRun) -> list:
        """Control goes to an address we cannot know: a call (or tail jump)
        into an unknown function.  Havoc, and return where that function
        returns: the address on top of the stack."""
        st = p.state
        if st.regs.rsp.symbolic:
            raise Inconclusive("indirect jump to an unknown target with an unknown stack pointer")
        ret = machine.load(st, st.regs.rsp, 8)
        if ret.symbolic:
            raise Inconclusive("indirect call to an unknown target: return address unknown")
        if jk != "Ijk_Call":
            # jmp *reg or a thunk's ret: only a tail jump if the stack top is
            # the return address of the innermost followed call
            if not p.callstack or ret.concrete_value != p.callstack[-1]:
                raise Inconclusive("indirect jump to an unknown target")
            p.depth -= 1
            p.callstack = p.callstack[:-1]
        st.regs.rsp = st.regs.rsp + 8
        self._havoc(p, "indirect-call", policy.HAVOC_UNFOLLOWED, run, reason="indirect call to an unknown target")
        self._trail(p, st.history.addr if st.history.addr else 0, "havoc-unfollowed: indirect call to an unknown target")
        st.regs.rip = ret
        p.via = "return"
        return [p]

    def _pop_return(self, p: Path, addr: int, note: str):
        st = p.state
        ret = machine.load(st, st.regs.rsp, 8)
        if ret.symbolic:
            raise Inconclusive("return address is not known")
        self._trail(p, addr, note)
        st.regs.rsp = st.regs.rsp + 8
        st.regs.rip = ret
        p.depth -= 1
        p.callstack = p.callstack[:-1]
        p.via = "return"
        return [p]

    def _return_from(self, p: Path, addr: int, name: str, pol: str, why: str, run: VariantRun):
        st = p.state
        ret = machine.load(st, st.regs.rsp, 8)
        if ret.symbolic:
            raise Inconclusive(f"call to {name}: return address is not known")
        st.regs.rsp = st.regs.rsp + 8
        self._havoc(p, name, pol, run, reason=why)
        self._trail(p, addr, f"{pol}: {name} ({why})" if why else f"{pol}: {name}")
        st.regs.rip = ret
        p.depth -= 1
        p.callstack = p.callstack[:-1]
        p.via = "return"
        return [p]

    def _havoc(self, p: Path, name: str, pol: str, run: VariantRun, registers=True, reason=""):
        keep_user = pol == policy.PRESERVES_USER_STATE
        if keep_user and reason in policy.ASSUMPTIONS:
            run.assumptions.add(reason)
        try:
            # Named by what and where, and how often on this path: unique on
            # the path, and equal on two paths that reached the same call
            # differently (so that they can be joined after it).
            where = p.state.addr if not p.state.regs.rip.symbolic else 0
            k = sum(1 for h in p.havocs if h.name == name and h.where == where)
            label = f"{name.replace(' ', '_')}@{where:x}#{k}"
            machine.havoc(p.state, self.frame, label, keep_user_state=keep_user, registers=registers)
        except ValueError as e:
            raise Inconclusive(str(e)) from None
        p.havocs = p.havocs + (Event(name, pol, reason, where, p.steps),)

    # -- special instructions -----------------------------------------------------------
    def _special(self, p: Path, insn, variant: Variant, run: VariantRun) -> list:
        st = p.state
        m = insn.mnemonic
        addr = insn.addr
        nxt = insn.next

        def go(note=""):
            p.via = "fall"
            self._trail(p, addr, note or insn.text())
            st.regs.rip = nxt
            self.cfg.add_edge(addr, nxt)
            return [p]

        if insn.ignored_rex or m in ("lzcnt", "tzcnt", "rdsspd", "rdsspq"):
            # (lift.SPECIAL: VEX's reading is not the CPU's; the summary
            # engine models these, this one does not)
            raise Inconclusive(f"no model for `{insn.text()}`")

        if m == "sysretq":  # 48 0f 07
            self._trail(p, addr, "sysretq")
            run.hits.append(SysretHit(addr, p))
            return []
        if m in ("sysret", "sysretl"):  # capstone prints the 32-bit form (0f 07) as plain "sysret"
            raise Inconclusive("sysretl (compat SYSRET) has no model")
        if m in ("iretq", "iret", "iretd"):
            self._trail(p, addr, "iretq: returns with IRET")
            return []
        if m == "swapgs":
            # GS base stays the kernel per-CPU base in this model; swapgs parity
            # is a later obligation family.
            return go()
        if m == "cli":
            st.globals["IF"] = claripy.BVV(0, 1)
            return go()
        if m == "sti":
            st.globals["IF"] = claripy.BVV(1, 1)
            return go()
        if m in ("pushfq", "pushf"):
            st.regs.rsp = st.regs.rsp - 8
            st.memory.store(st.regs.rsp, machine.rflags_value(st), endness="Iend_LE")
            return go()
        if m in ("popfq", "popf"):
            v = machine.load(st, st.regs.rsp, 8)
            st.regs.rsp = st.regs.rsp + 8
            st.globals["IF"] = v[9:9]
            st.regs.cc_op = 0
            st.regs.cc_dep1 = v & 0x8D5
            st.regs.cc_dep2 = 0
            st.regs.cc_ndep = 0
            st.regs.dflag = claripy.If(v[10:10] == 1, claripy.BVV(-1, 64), claripy.BVV(1, 64))
            return go()
        if m in ("wrmsr", "stac", "clac", "invlpg", "invpcid", "wbinvd", "serialize", "clts"):
            # No modelled state depends on MSRs, AC, TLBs or caches.
            return go()
        if m == "verw":
            # VERW (MDS buffer clearing) only sets ZF.
            st.regs.cc_op = 0
            st.regs.cc_dep1 = machine.fresh("verw_flags")
            st.regs.cc_dep2 = 0
            st.regs.cc_ndep = 0
            return go()
        if m in ("rdmsr", "rdtsc", "rdtscp"):
            st.regs.rax = claripy.ZeroExt(32, machine.fresh(f"{m}_eax", 32))
            st.regs.rdx = claripy.ZeroExt(32, machine.fresh(f"{m}_edx", 32))
            if m == "rdtscp":
                st.regs.rcx = claripy.ZeroExt(32, machine.fresh("rdtscp_ecx", 32))
            return go()
        if m == "rdpid":  # writes IA32_TSC_AUX into its register operand
            setattr(st.regs, insn.op_str.strip(), machine.fresh("rdpid_value"))
            return go()
        if insn.is_mov_cr and m == "mov":
            dst, src = [x.strip() for x in insn.op_str.split(",")]
            if src.startswith("cr"):
                val = st.globals["cr3"] if src == "cr3" else machine.fresh(f"{src}_value")
                setattr(st.regs, dst, val)
            else:
                if dst == "cr3":
                    st.globals["cr3"] = getattr(st.regs, src)
            return go()
        if m == "ud2":
            # BUG() ends the path; WARN() resumes after the ud2 (assumption warn-continues).
            run.assumptions.add("warn-continues")
            return go("ud2 (WARN resumes here)")
        if m in ("int3", "hlt", "ud1", "ud0"):
            self._trail(p, addr, m)
            return []  # a trap: this path does not reach SYSRET
        raise Inconclusive(f"no model for privileged instruction `{insn.text()}`")

    # -- merges -----------------------------------------------------------------------------
    def _mergeable(self, p: Path, q: Path) -> bool:
        """Two paths at the same position that one Path can stand for."""
        sp, sq = p.state, q.state
        if sp.regs.rip.symbolic or sq.regs.rip.symbolic or sp.regs.rsp.symbolic or sq.regs.rsp.symbolic:
            return False
        if sp.addr != sq.addr or p.callstack != q.callstack or p.depth != q.depth:
            return False
        if sp.solver.eval_one(sp.regs.rsp) != sq.solver.eval_one(sq.regs.rsp):
            return False
        if self._patch_at(p, sp.addr) != self._patch_at(q, sq.addr):
            return False
        if self._function_at(sp.addr) is not None and (p.via == "call") != (q.via == "call"):
            return False  # a call into a function and a jump inside it are handled differently
        return True

    def _mergeable_safe(self, p: Path, q: Path) -> bool:
        try:
            return self._mergeable(p, q)
        except Inconclusive:
            return False  # not merged; stepping the path reports the reason

    def _merge(self, group: list, run: VariantRun) -> Path:
        out = group[0]
        for q in group[1:]:
            out = self._merge_two(out, q)
        run.merges += len(group) - 1
        return out

    def _merge_two(self, a: Path, b: Path) -> Path:
        """One path that is exactly a or b: every value that differs becomes
        `If(g, value_in_a, value_in_b)` for a fresh boolean g, the constraints
        both share are kept, and the rest becomes `(g and a's) or (not g and
        b's)`.  Exact, not an over-approximation: the words compared are every
        word either path wrote or read (all other memory is still fresh in
        both), so no state of either path is lost and a counterexample model
        is a real path of one of them (g says which)."""
        self._merges += 1
        sa, sb = a.state, b.state
        g = claripy.BoolS(f"merge_{sa.addr:x}_{self._merges}", explicit_name=True)
        # flags: VEX keeps them as a lazy thunk whose cc_op angr needs
        # concretely; when the thunks differ, merge the flags they compute
        if any(not _same(getattr(sa.regs, r), getattr(sb.regs, r)) for r in ("cc_op", "cc_dep1", "cc_dep2", "cc_ndep")):
            fa, fb = sa.regs.rflags, sb.regs.rflags
            sa.regs.cc_op = 0  # AMD64G_CC_OP_COPY: flags = cc_dep1
            sa.regs.cc_dep1 = claripy.If(g, fa, fb)
            sa.regs.cc_dep2 = 0
            sa.regs.cc_ndep = 0
        for r in MERGED_REGS:
            va, vb = getattr(sa.regs, r), getattr(sb.regs, r)
            if not _same(va, vb):
                setattr(sa.regs, r, claripy.If(g, va, vb))
        for k in ("IF", "cr3"):
            va, vb = sa.globals[k], sb.globals[k]
            if not _same(va, vb):
                sa.globals[k] = claripy.If(g, va, vb)
        words = set(_compared_words(sa, self.frame)) | set(_compared_words(sb, self.frame)) | \
            sa.globals.get("read", frozenset()) | sb.globals.get("read", frozenset())
        word_vars = set()
        for w in sorted(words):
            va = machine.load(sa, w, 8)
            vb = machine.load(sb, w, 8)
            if not _same(va, vb):
                va = _merge_bytes(g, va, vb)
                sa.memory.store(w, va, endness="Iend_LE")
            word_vars |= va.variables
        for k in ("written", "read"):
            sa.globals[k] = sa.globals.get(k, frozenset()) | sb.globals.get(k, frozenset())
        sa.globals["scratch_n"] = max(sa.globals.get("scratch_n", 0), sb.globals.get("scratch_n", 0))
        # the path condition: what both share, and (g and a's rest) or (not g
        # and b's rest) - leaving out constraints over symbols nothing in the
        # merged state can reach any more (values, guards, the user's entry
        # registers, through other kept constraints): both paths were feasible,
        # so such constraints only say "some value existed", and keeping them
        # would make every later solver call carry the whole history.
        live = set()
        for r in MERGED_REGS + ("cc_dep1", "cc_dep2", "cc_ndep"):
            live |= getattr(sa.regs, r).variables
        live |= word_vars
        for k in ("IF", "cr3"):
            live |= sa.globals[k].variables
        for v in sa.globals["user"].values():
            live |= v.variables
        a.guard_vars = a.guard_vars | b.guard_vars | {g.args[0]}
        live |= a.guard_vars
        ca = {c.hash(): c for c in sa.solver.constraints}
        cb = {c.hash(): c for c in sb.solver.constraints}
        tagged = [(0, c) for h, c in ca.items() if h in cb] + [(1, c) for h, c in ca.items() if h not in cb] + \
            [(2, c) for h, c in cb.items() if h not in ca]
        kept = _live_closure(tagged, live)
        common = [c for t, c in kept if t == 0]
        only_a = [c for t, c in kept if t == 1]
        only_b = [c for t, c in kept if t == 2]
        if only_a or only_b or len(kept) != len(ca):
            machine.set_constraints(sa, common + ([claripy.Or(claripy.And(g, *only_a), claripy.And(claripy.Not(g), *only_b))]
                                                  if only_a or only_b else []))
        a.trail = ((MERGED, g, a.trail, b.trail), None)
        lit_a, lit_b = ("lit", g), ("lit", claripy.Not(g))
        ids_a, ids_b = {id(e) for e in a.havocs}, {id(e) for e in b.havocs}
        a.havocs = tuple(e for e in a.havocs if id(e) in ids_b) + \
            tuple(_guarded_event(e, lit_a) for e in a.havocs if id(e) not in ids_b) + \
            tuple(_guarded_event(e, lit_b) for e in b.havocs if id(e) not in ids_a)
        a.patches = {site: _merge_choices(a.patches.get(site), b.patches.get(site), lit_a, lit_b)
                     for site in set(a.patches) | set(b.patches)}
        # Loop records: both sides' (a's where both have one).  Sound when the
        # sides inherited the record from the same visit; a record only one
        # side made may not cover the other side's states.  Keeping only the
        # shared records is the sound choice but made the 6.1 proof run past
        # 14 minutes instead of 5: open, see the README's next steps.
        loops = dict(b.loops)
        loops.update(a.loops)
        a.loops = loops
        a.steps = max(a.steps, b.steps)
        return a

    # -- loops ------------------------------------------------------------------------------
    def _loop_check(self, p: Path, run: VariantRun):
        """Widen at loop heads; cut only subsumed states.  Returns None to cut."""
        st = p.state
        if st.regs.rip.symbolic or st.regs.rsp.symbolic:
            return p
        if not self.order.is_loop_head(st.addr):
            return p  # every loop passes through a head of its function's graph
        # a loop: the same address, at the same stack depth, under the same calls
        key = (st.addr, st.solver.eval_one(st.regs.rsp), p.callstack)
        info = p.loops.get(key)
        if info is None:
            p.loops[key] = (1, _snapshot(st, self.frame), frozenset())
            return p
        count, snap, widened = info
        # compare every word either visit tracks: a word the widened state
        # keeps but this arrival no longer tracks (a havoc made memory fresh)
        # may differ too
        cur = _snapshot(st, self.frame, extra=[k[1] for k in snap if k[0] == "mem"])
        diff = {k for k in cur if k not in snap or not _same(cur[k], snap[k])}
        if count >= 2 and diff <= widened:
            return None  # subsumed by the widened state: nothing is lost by cutting
        if count > LOOP_REWIDEN_LIMIT:
            raise Inconclusive("a loop whose state keeps growing could not be cut")
        widened = widened | diff
        _widen(st, self.frame, widened, tag=f"loop{count}_{st.addr:x}_{p.steps}")
        # the widened state over-approximates: a counterexample through it is
        # confirmed only on a path that did not take it
        p.havocs = p.havocs + (Event(f"loop@{self.image.symbolize(st.addr)}", WIDENED, "a loop head widened",
                                     st.addr, p.steps),)
        p.loops[key] = (count + 1, _snapshot(st, self.frame), widened)
        return p




def _live_closure(tagged: list, live: set) -> list:
    """The (tag, constraint) pairs that share a symbol with `live`, directly or
    through other kept constraints."""
    live = set(live)
    kept, rest = [], list(tagged)
    changed = True
    while changed and rest:
        changed, left = False, []
        for t, c in rest:
            if c.variables & live:
                kept.append((t, c))
                live |= c.variables
                changed = True
            else:
                left.append((t, c))
        rest = left
    return kept


def _track_words(st, key: str, addr, length):
    """Add the aligned words a concrete access touches to st.globals[key]."""
    if addr is None or (not isinstance(addr, int) and addr.symbolic):
        return
    av = addr if isinstance(addr, int) else addr.concrete_value
    n = length if isinstance(length, int) else 8
    seen = st.globals.get(key, frozenset())
    new = frozenset(range(av & ~7, av + n, 8))
    if not new <= seen:
        st.globals[key] = seen | new


def _merge_bytes(g, va, vb):
    """If(g, va, vb) for a little-endian memory word, but only over the bytes
    that differ: a word half of which holds a pointer both paths agree on
    (a 4-byte-aligned per-CPU slot) must keep that half concrete."""
    parts, i, n = [], 0, va.size() // 8
    while i < n:
        same = _same(va[8 * i + 7:8 * i], vb[8 * i + 7:8 * i])
        j = i + 1
        while j < n and _same(va[8 * j + 7:8 * j], vb[8 * j + 7:8 * j]) == same:
            j += 1
        hi, lo = 8 * j - 1, 8 * i
        parts.append(va[hi:lo] if same else claripy.If(g, va[hi:lo], vb[hi:lo]))
        i = j
    return parts[0] if len(parts) == 1 else claripy.Concat(*reversed(parts))


# Guards (which side of each merge a path took) are kept as small trees -
# None (always), ("lit", claripy Bool), ("and", x, y), ("or", x, y) - and
# become claripy expressions only when needed: building them with claripy at
# every merge simplifies ever longer conjunctions.
def _guard_and(lit, guard):
    return lit if guard is None else ("and", lit, guard)


def _guard_expr(guard, memo: dict):
    """The claripy Bool of a guard tree (None: True)."""
    if guard is None:
        return claripy.true()
    stack = [guard]
    while stack:
        t = stack[-1]
        if id(t) in memo:
            stack.pop()
            continue
        if t[0] == "lit":
            memo[id(t)] = t[1]
            stack.pop()
            continue
        pending = [x for x in t[1:] if id(x) not in memo]
        if pending:
            stack.extend(pending)
            continue
        x, y = memo[id(t[1])], memo[id(t[2])]
        memo[id(t)] = claripy.And(x, y) if t[0] == "and" else claripy.Or(x, y)
        stack.pop()
    return memo[id(guard)]


def _guarded_event(e: Event, lit) -> Event:
    return replace(e, guard=_guard_and(lit, e.guard))


def _merge_choices(ca, cb, lit_a, lit_b):
    """A patch site's choice after a merge: the bytes if both sides chose the
    same, else {bytes or None (not yet chosen): guard tree}."""
    if isinstance(ca, bytes) and ca == cb:
        return ca
    out: dict = {}
    for side, lit in ((ca, lit_a), (cb, lit_b)):
        items = side.items() if isinstance(side, dict) else [(side, None)]
        for code, guard in items:
            gg = _guard_and(lit, guard)
            out[code] = gg if code not in out else ("or", out[code], gg)
    return out


def _alt_not(site) -> bool:
    # ALT_FLAG_NOT: the replacement applies when the feature is absent (6.1+: bit 0 of flags).
    return bool(getattr(site, "flags", 0) & 1)


_scratch_counter = [0]


def _scratch(st) -> int:
    _scratch_counter[0] += 1
    return machine.SCRATCH + (_scratch_counter[0] % 0x7FFF) * 0x100


def _compared_words(st, frame):
    # pt_regs always (it is user state, wherever RSP is), the live part of
    # whichever stack RSP is on, the identity slots and thread_info.
    words = list(range(frame.pt_regs, machine.STACK_TOP, 8))
    if not st.regs.rsp.symbolic:
        rsp = st.solver.eval_one(st.regs.rsp)
        if machine.STACK_LIMIT <= rsp < frame.pt_regs:
            words.extend(range(rsp & ~7, frame.pt_regs, 8))
        elif machine.TRAMPOLINE_TOP - 0x1000 <= rsp <= machine.TRAMPOLINE_TOP:
            words.extend(range(rsp & ~7, machine.TRAMPOLINE_TOP, 8))
    for a, _ in frame.percpu_identity.values():
        words.append(a)
    words.extend(st.globals.get("written", ()))
    words.append(frame.ti_flags)
    words.append(frame.ti_status & ~7)
    return words


def _snapshot(st, frame, extra=()) -> dict:
    snap = {}
    for r in LOOP_COMPARED_REGS:
        snap[("reg", r)] = getattr(st.regs, r)
    snap[("g", "IF")] = st.globals["IF"]
    snap[("g", "cr3")] = st.globals["cr3"]
    for a in set(_compared_words(st, frame)) | set(extra):
        snap[("mem", a)] = machine.load(st, a, 8)
    return snap


def _same(a, b) -> bool:
    """Structurally the same expression.  Not claripy's `identical()`: for
    bitvectors that asks the VSA backend, where any two unconstrained symbols
    are the same interval (TOP), so `user_r11` is "identical" to a havoc value."""
    if a is b:
        return True
    if a.size() != b.size():
        return False
    if not a.symbolic and not b.symbolic:
        return a.concrete_value == b.concrete_value
    return a.hash() == b.hash()


def _widen(st, frame, keys, tag=""):
    """Make every compared item in `keys` fresh, and all other memory fresh."""
    keep = {}
    for a in _compared_words(st, frame):
        if ("mem", a) not in keys:
            keep[a] = machine.load(st, a, 8)
    st.register_plugin("memory", type(st.memory)(memory_id="mem"))
    st.globals["written"] = frozenset(keep) | frozenset(
        k[1] for k in keys if k[0] == "mem")
    st.globals["read"] = frozenset()
    flags_widened = any(k in keys for k in (("reg", "cc_op"), ("reg", "cc_dep1"), ("reg", "cc_dep2"), ("reg", "cc_ndep")))
    if flags_widened:
        # VEX keeps RFLAGS as a lazy thunk whose cc_op angr must know
        # concretely: "any flags" is cc_op = COPY (0) with a fresh cc_dep1.
        st.regs.cc_op = 0
        st.regs.cc_dep1 = machine.fresh(f"widen_{tag}_rflags", unique=False)
        st.regs.cc_dep2 = 0
        st.regs.cc_ndep = 0
    for k in keys:
        kind, what = k
        if kind == "reg" and what.startswith("cc_"):
            continue
        if kind == "reg" and what == "dflag":  # DF is kept by VEX as +1/-1
            bit = machine.fresh(f"widen_{tag}_df", 1, unique=False)
            st.regs.dflag = claripy.If(bit == 1, claripy.BVV(-1, 64), claripy.BVV(1, 64))
            continue
        if kind == "reg":
            setattr(st.regs, what, machine.fresh(f"widen_{tag}_{what}", getattr(st.regs, what).size(), unique=False))
        elif kind == "g":
            st.globals[what] = machine.fresh(f"widen_{tag}_{what}", st.globals[what].size(), unique=False)
        else:
            st.memory.store(what, machine.fresh(f"widen_{tag}_mem_{what:x}", unique=False), endness="Iend_LE")
    # Kept words last: where a kept word overlaps a widened one (a per-CPU
    # pointer at a 4-byte offset inside two aligned words) its bytes did not
    # change, and its own key guards them when cutting.
    for a, v in keep.items():
        st.memory.store(a, v, endness="Iend_LE")


# ---------------------------------------------------------------------------------------------
# Deciding the obligations


def _sysret_inputs(st, frame, variant: Variant, consts) -> tuple:
    """claripy terms for SYSRET's inputs, and the same converted to z3."""
    terms = {
        "rcx": st.regs.rcx, "r11": st.regs.r11,
        "regs_ip": frame.ptreg(st, "ip"), "regs_flags": frame.ptreg(st, "flags"),
        # the saved selectors: the low 16 bits of the cs/ss slots.  The CPU
        # reads only those; 6.9+ pt_regs (FRED layout) keeps other fields above
        # a u16 cs/ss, which the kernel's own check (`cmpw`) rightly ignores.
        "regs_cs": claripy.ZeroExt(48, frame.ptreg(st, "cs")[15:0]),
        "regs_ss": claripy.ZeroExt(48, frame.ptreg(st, "ss")[15:0]),
        "ti_status": frame.ti_status_value(st),
    }
    conv = claripy.backends.z3.convert
    z = {k: conv(v) for k, v in terms.items()}
    inputs = obligations.SysretInputs(
        la57=variant.la57, user_cs=consts.get("__USER_CS", 0x33), user_ds=consts.get("__USER_DS", 0x2B),
        ts_compat=consts.get("TS_COMPAT", 0x2), **z)
    return terms, inputs


def decide(explorer: Explorer, run: VariantRun, timeout_ms: int, refine: set | None = None) -> list[Finding]:
    """Findings per site x obligation.  Adds to `refine` the function to follow
    next for every counterexample that passes through an unfollowed call (the
    last such call on its path)."""
    if refine is None:
        refine = set()
    variant = run.variant
    consts = explorer.constants
    frame = explorer.frame
    sym = explorer.image.symbolize
    by_site: dict[int, list] = {}
    for h in run.hits:
        by_site.setdefault(h.site, []).append(h)
    sites = sorted(set(explorer.sysret_sites) | set(by_site))
    findings = []
    conv = claripy.backends.z3.convert
    for site in sites:
        hits = by_site.get(site, [])
        # per obligation: the worst over paths
        status = {o.id: (PROVEN, "", None, 0.0) for o in obligations.OBLIGATIONS}
        for h in hits:
            st = h.path.state
            terms, inputs = _sysret_inputs(st, frame, variant, consts)
            path_cond = [conv(c) for c in st.solver.constraints]
            # events on the path that make a counterexample unconfirmed: calls
            # not followed and widened loops.  A counterexample that avoids all
            # of them (their guards false) is a real one.
            unsure = [e for e in h.path.havocs if e.policy in (policy.HAVOC_UNFOLLOWED, WIDENED)]
            avoid = None
            memo: dict = {}
            guards = {id(e): conv(_guard_expr(e.guard, memo)) for e in unsure if e.guard is not None}
            if unsure and all(e.guard is not None for e in unsure):
                avoid = z3.And(*[z3.Not(guards[id(e)]) for e in unsure])
            s = z3.Solver()
            s.set("timeout", timeout_ms)
            s.add(*path_cond)
            for o in obligations.OBLIGATIONS:
                cur = status[o.id]
                if cur[0] == VIOLATED:
                    continue
                t0 = time.monotonic()
                s.push()
                r = solver.check([z3.Not(o.predicate(inputs))], solver=s)
                model, blame = (r.model if r.sat else None), []
                if r.sat and unsure:
                    blame = [e for e in unsure if e.guard is None or _true_in(r.model, guards[id(e)])]
                    if blame and avoid is not None:
                        r2 = solver.check([avoid], solver=s)  # a counterexample on a path through none of them
                        if r2.sat:
                            model, blame = r2.model, []
                dt = time.monotonic() - t0
                run.solver_seconds += dt
                if r.unknown:
                    status[o.id] = (INCONCLUSIVE, f"z3 returned unknown ({r.reason})", None, cur[3] + dt)
                elif r.sat:
                    cex, why = _counterexample(explorer, h, terms, inputs, path_cond, o, model)
                    if cex is None:
                        status[o.id] = (INCONCLUSIVE, f"a model was found but did not replay: {why}", None, cur[3] + dt)
                    elif blame:
                        calls = sorted({e.name for e in blame if e.policy == policy.HAVOC_UNFOLLOWED})
                        loops = sorted({e.name for e in blame if e.policy == WIDENED})
                        what = "; ".join(x for x in (
                            f"calls the analysis did not follow ({', '.join(calls)})" if calls else "",
                            f"over-approximations ({', '.join(loops)})" if loops else "") if x)
                        status[o.id] = (INCONCLUSIVE, f"a counterexample exists only through {what}; "
                                        "not confirmed", cex, cur[3] + dt)
                        followable = [e for e in blame if e.policy == policy.HAVOC_UNFOLLOWED]
                        if followable:
                            refine.add(max(followable, key=lambda e: e.seq).name)
                    else:
                        status[o.id] = (VIOLATED, _explain(o.id, cex, variant), cex, cur[3] + dt)
                else:
                    if cur[0] == PROVEN:
                        status[o.id] = (PROVEN, "", None, cur[3] + dt)
                s.pop()
        for o in obligations.OBLIGATIONS:
            st_, reason, cex, dt = status[o.id]
            if st_ == PROVEN:
                if run.inconclusive:
                    st_, reason = INCONCLUSIVE, "; ".join(sorted(set(run.inconclusive))[:3])
                elif not hits:
                    reason = (f"no path reaches this SYSRET under {variant.name}"
                              if variant.xenpv else "no path reaches this SYSRET")
                else:
                    reason = f"holds on all {len(hits)} path(s) reaching this SYSRET"
            findings.append(Finding(o.id, site, sym(site), variant.name, variant.describe(), st_, reason, cex, dt))
    return findings


def _true_in(model, term) -> bool:
    return z3.is_true(model.eval(term, model_completion=True))


def _counterexample(explorer, hit, terms, inputs, path_cond, obligation, model):
    """Concrete values from the model, re-evaluated along the recorded path:
    every branch condition of the path must hold and the obligation must be
    false under the same assignment, checked by a fresh solver."""
    ev = lambda t: model.eval(t, model_completion=True)  # noqa: E731
    vals = {k: ev(claripy.backends.z3.convert(v)).as_long() for k, v in terms.items()}
    user = {}
    for r, v in hit.path.state.globals["user"].items():
        user[r] = ev(claripy.backends.z3.convert(v)).as_long()
    # replay: fix every free symbol to its model value and re-decide independently
    pinned = [d() == model[d] for d in model.decls() if d.arity() == 0]
    r = solver.check(pinned + list(path_cond) + [z3.Not(obligation.predicate(inputs))], timeout_ms=60_000)
    if not r.sat:
        return None, f"re-evaluation gave {r.status}"
    ptregs = {}
    for fld in explorer.layout.pt_regs:
        ptregs[fld] = ev(claripy.backends.z3.convert(explorer.frame.ptreg(hit.path.state, fld))).as_long()
    regs = {"rcx": vals["rcx"], "r11": vals["r11"]}
    st = hit.path.state
    for r in ("rax", "rdx", "rsi", "rdi", "rsp", "r8", "r9", "r10"):
        regs[r] = ev(claripy.backends.z3.convert(getattr(st.regs, r))).as_long()
    sym = explorer.image.symbolize
    trail = _flatten_trail(hit.path.trail, lambda g: _true_in(model, claripy.backends.z3.convert(g)))
    path = tuple(PathStep(a, sym(a), note) for a, note in trail)
    return Counterexample(regs, ptregs, vals["ti_status"], user, path, True,
                          "model re-checked by an independent solver along the recorded path"), ""


def _explain(oid: str, cex: Counterexample, variant: Variant) -> str:
    from .prove.decide import explain  # one wording for both engines

    return explain(oid, cex, variant.describe()["paging"])


# ---------------------------------------------------------------------------------------------


def check_image(image, timeout: float = 600.0, progress: bool = False) -> CheckResult:
    t0 = time.monotonic()
    deadline = t0 + timeout
    if not image.entry.sysret_sites:
        raise InputError(f"{image.path}: no sysretq reachable from entry_SYSCALL_64")
    ex = Explorer(image, progress=progress, deadline=deadline)
    result = CheckResult(image.path, image.name, image.sha256, image.build_id, image.version)
    used = set()
    for variant in ex.variants():
        # Refinement: every call starts unfollowed (a havoc); a counterexample
        # that exists only through unfollowed calls makes the analysis follow
        # the last of them and explore again.  Each round is sound; following
        # only adds precision.  The follow set carries over to later variants.
        for rnd in range(1, MAX_REFINEMENTS + 1):
            if progress:
                print(f"sysret-verify: variant {variant.name}, round {rnd}: following "
                      f"{', '.join(sorted(ex.follow)) or 'no calls'}", file=sys.stderr)
            run = ex.run_variant(variant)
            remaining = max(1.0, deadline - time.monotonic())
            refine: set = set()
            findings = decide(ex, run, timeout_ms=int(min(remaining, 120) * 1000), refine=refine)
            refine = {n for n in refine if n not in ex.follow and n != "indirect-call"
                      and not n.startswith("store-through")}
            if not refine or time.monotonic() > deadline:
                break
            ex.follow |= refine
        run.rounds = rnd
        result.findings.extend(findings)
        used |= run.assumptions
        result.variants.append({**variant.describe(), "paths": run.paths_done, "sysret_paths": len(run.hits),
                                "steps": run.steps, "seconds": round(run.seconds, 3), "rounds": run.rounds,
                                "followed": sorted(ex.follow),
                                "solver_seconds": round(run.solver_seconds, 3),
                                "inconclusive": sorted(set(run.inconclusive))[:20]})
    for aid in sorted(used):
        text = policy.ASSUMPTIONS[aid][1] if aid in policy.ASSUMPTIONS else policy.ALWAYS_ASSUMED.get(aid, aid)
        result.assumptions.append({"id": aid, "text": text})
    for aid in ("private-regions", "paravirt-native", "kernel-no-sse", "irq-flag-preserved"):
        if aid not in used:
            result.assumptions.append({"id": aid, "text": policy.ALWAYS_ASSUMED[aid]})
    # the compat sysretl sites (issue 12) are decided by the default engine
    # only (verify/prove/compat.py): here they are inconclusive, never
    # proven by omission
    from .obligations import SITE_OBLIGATIONS
    for site in getattr(image.entry, "all_sysret_sites", ()):
        if site["width"] != "sysretl":
            continue
        for v in result.variants:
            for oid in SITE_OBLIGATIONS["sysretl"]:
                result.findings.append(Finding(oid, site["address"], image.symbolize(site["address"]), v["name"],
                                               {k: v[k] for k in ("name", "paging", "features") if k in v}, INCONCLUSIVE, "the merging engine does not explore the compat entries "
                                               "(use the default engine)", None, 0.0))
    result.cfg = ex.cfg
    result.seconds = time.monotonic() - t0
    return result
