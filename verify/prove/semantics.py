"""Instruction semantics: one VEX IR block over an MState.

VEX gives every instruction's effect as IR; the value semantics of each IR
operation and of the flag helpers (amd64g_calculate_condition, ...) are
angr's claripy translations, used as a library.  Registers and memory are
ours (state.py), so nothing is concretised behind our back: a symbolic
address goes through `Memory.load/store`, which either resolves it exactly or
records the over-approximation it makes.

Instructions VEX gets wrong or does not know never reach here (cfg.py ends a
block before each; explore.py models them).
"""
from __future__ import annotations

import archinfo
import claripy
import pyvex

from ..machine import IMPLICIT_FLOW, from_kernel_address, has_implicit_flow, implicit_flow, vex_helpers
from .state import VECTOR_SLOTS, MState, fresh, fresh_bool

_HELPERS, _IROPS = vex_helpers()
vexop_to_simop = _IROPS.vexop_to_simop


class Unsupported(Exception):
    """An instruction or IR construct without a model: the result is inconclusive."""


class _CcallState:
    options = frozenset()  # angr's flag helpers read only .options


_CC = _CcallState()
_CCALLS = {
    "amd64g_calculate_condition": _HELPERS.amd64g_calculate_condition,
    "amd64g_calculate_rflags_all": _HELPERS.amd64g_calculate_rflags_all,
    "amd64g_calculate_rflags_c": _HELPERS.amd64g_calculate_rflags_c,
}
_OPS: dict = {}


def _op(name):
    f = _OPS.get(name)
    if f is None:
        try:
            f = vexop_to_simop(name).calculate
        except Exception as e:
            raise Unsupported(f"IR operation {name} has no model ({e})") from None
        _OPS[name] = f
    return f


def _ty_bits(ty: str) -> int:
    return pyvex.const.get_type_size(ty)


class Succ:
    """A successor of a block: the state, the target term and VEX's jump kind."""

    __slots__ = ("state", "target", "kind", "insn", "cond")

    def __init__(self, state, target, kind, insn, cond=None):
        # cond: the exit's condition (a conditional exit; None: the block's end)
        self.state, self.target, self.kind, self.insn, self.cond = state, target, kind, insn, cond


MAX_CC_CASES = 4
# If nodes read over cc_op's spine (rebuilt recursively: _ccall)
MAX_CC_SPINE = 256


def _op_leaves(op, limit: int) -> set | None:
    """The concrete operations at the leaves of cc_op's If spine, or None
    when the spine has another node (then angr's helper decides) or more
    than `limit` distinct operations.  Read without rewriting the term:
    angr's own route, claripy.excavate_ite, rewrites the whole term and its
    conditions, which took 27-30 s a call on a 45-deep merge of patch-site
    feature conditions (a seeded 6.12 kernel's `decl` of the preempt count
    reading the carry of the flags merged before it)."""
    leaves: set = set()
    seen: set = set()
    work = [op]
    while work:
        e = work.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if len(seen) > MAX_CC_SPINE:
            return None
        if e.op == "BVV":
            leaves.add(e.args[0])
            if len(leaves) > limit:
                return None
        elif e.op == "If":
            work.append(e.args[1])
            work.append(e.args[2])
        else:
            return None
    return leaves


def _ccall(f, args, k: int = 0, same_region=None):
    """angr's flag helper; a merged cc_op (args[k], an If over concrete
    operations, one per merged path) is computed per case and joined with
    the same If.  k: 1 for amd64g_calculate_condition (its first argument
    is the condition code), else 0.  same_region(a, b): the two addresses
    move together (the flags of a `cmp`/`sub` of two addresses of one
    region are the same in every layout, as their difference is:
    adv_r61_kaddr_cmp_safe), decided per case."""
    CCallMultivaluedException = _HELPERS.CCallMultivaluedException
    op = args[k]

    def one(xs):
        # the helper on one case (xs[k] concrete), its Bool as 0/1
        try:
            v = f(_CC, *xs)
        except Exception as e:  # angr's SimError, a KeyError for an operation it has no entry for
            raise Unsupported(f"flag helper: {e}") from None
        if isinstance(v, claripy.ast.Bool):
            v = claripy.If(v, claripy.BVV(1, 64), claripy.BVV(0, 64))
        if same_region is not None and len(xs) > k + 2 and 5 <= xs[k].args[0] <= 8 and not v.symbolic and \
                same_region(xs[k + 1], xs[k + 2]):
            # (AMD64G_CC_OP_SUBB..SUBQ)
            v = claripy.BVV(v.concrete_value, v.size())
        return v

    if _op_leaves(op, MAX_CC_CASES) is not None:
        # f(If(c, o1, o2), If(c, a1, a2), b) = If(c, f(o1, a1, b), f(o2, a2, b)):
        # the spine is split with every argument merged under the same
        # condition (the flags' operands of one merge are), so each case
        # sees its own operands (the region rule above needs them); exact
        built: dict = {}
        budget = [MAX_CC_SPINE * 4]

        def split(xs):
            key = tuple(id(x) for x in xs)
            r = built.get(key)
            if r is None:
                o = xs[k]
                if o.op == "BVV":
                    r = one(xs)
                else:
                    budget[0] -= 1
                    if budget[0] < 0:
                        raise Unsupported("flag helper over a merge too large to split")
                    c = o.args[0].hash()
                    same = [x.op == "If" and x.args[0].hash() == c for x in xs]
                    r = claripy.If(o.args[0], split(tuple(x.args[1] if y else x for x, y in zip(xs, same))),
                                   split(tuple(x.args[2] if y else x for x, y in zip(xs, same))))
                built[key] = r
            return r

        return split(tuple(args))
    try:
        return f(_CC, *args)
    except CCallMultivaluedException as e:
        cases = e.args[0]
    except Exception as e:  # angr's SimError for a symbolic non-If cc_op
        raise Unsupported(f"flag helper: {e}") from None
    if len(cases) > MAX_CC_CASES:
        raise Unsupported(f"flag helper over {len(cases)} merged flag operations")
    out = None
    for cond, case_op in reversed(cases):
        v = one(tuple(args[:k]) + (case_op,) + tuple(args[k + 1:]))
        out = v if out is None else claripy.If(cond, v, out)
    return out


_GS_OFF = archinfo.ArchAMD64().registers["gs"][0]
# the segment selector slots VEX writes for `mov`/`pop` to %fs/%gs: in
# 64-bit mode such a load also loads the segment's base from the
# descriptor (SDM Vol. 3A 3.4.4; Linux's load_gs_index wraps it in SWAPGS for
# that reason), which the analysis does not model (adv_r8_gs_selector_load)
# what a write inside a branch on kernel data does not mark (Ist_Put): RIP,
# and RSP, which moves on every path alike (pushes, calls; a mark there
# would reach every stack access after the branch; outcomes that leave it
# different keep the region open, Explorer._function_once).  Every other
# register is marked, vector registers too (adv_r61_xmm_region)
_NOT_MARKED = frozenset(archinfo.ArchAMD64().registers[r][0] for r in ("rsp", "rip"))
_SEG_BASE_LOADS = {archinfo.ArchAMD64().registers[r][0]: r for r in ("fs_seg", "gs_seg")}
_RSP_OFF = archinfo.ArchAMD64().registers["rsp"][0]


def run_block(mem, st: MState, irsb) -> list[Succ]:
    """Execute `irsb` on `st` (modified in place; exits fork copies).

    `mem` is the memory interface (explore.Explorer): load(st, addr, bits,
    insn), store(st, addr, value, insn); ir_const(value, bits, insn, end)
    makes an IR constant of the instruction [insn, end) (a kernel address
    carries machine.KernelAddress); same_region(a, b) and placed_op(op,
    args, result) follow the addresses whose differences move with
    nothing."""
    tmps: dict[int, object] = {}
    insn = irsb.addr
    out: list[Succ] = []
    tyenv = irsb.tyenv

    def ev(e):
        tag = e.tag
        if tag == "Iex_RdTmp":
            return tmps[e.tmp]
        if tag == "Iex_Const":
            c = e.con
            if isinstance(c.value, float):
                raise Unsupported("floating-point constant")
            return mem.ir_const(c.value, c.size, *here)
        if tag == "Iex_Get":
            if e.offset == _GS_OFF:
                # VEX adds the GS base for a %gs segment override and reads
                # it for nothing else: a %gs-relative access (user-gs)
                mem.note_gs_operand(st, insn)
            elif (e.offset & ~7) in VECTOR_SLOTS and mem.interruptible(st):
                # an interrupt may have come at any instruction boundary
                # since the block began (Explorer.interruptible)
                st.window_vector(VECTOR_SLOTS, f"vecirq_{insn:x}")
            return st.get_reg(e.offset, _ty_bits(e.ty))
        if tag == "Iex_Load":
            if e.end != "Iend_LE":
                raise Unsupported("big-endian load")
            return mem.load(st, ev(e.addr), _ty_bits(e.ty), insn)
        if tag in ("Iex_Unop", "Iex_Binop", "Iex_Triop", "Iex_Qop"):
            args = [ev(a) for a in e.args]
            r = _op(e.op)(*args)
            if e.op.startswith(("Iop_Sub", "Iop_Cmp")) and len(args) == 2 and mem.same_region(*args):
                # two addresses of one region move together (KASLR, a task
                # stack's place): their difference, and their order, is no
                # kernel address (Explorer.same_region;
                # adv_r59_section_count_safe, adv_r61_kaddr_cmp_safe)
                r = claripy.BVV(r.concrete_value, r.size()) if not isinstance(r, claripy.ast.Bool) else \
                    claripy.BoolV(r.is_true())
            else:
                r = mem.placed_op(e.op, args, r)
            return r
        if tag == "Iex_ITE":
            c = ev(e.cond)
            c = c != 0 if not isinstance(c, claripy.ast.Bool) else c
            if not c.symbolic and from_kernel_address(c):
                # a selection only a kernel address decides (cmov on a bit of
                # _THIS_IP_, adv_r61_kaddr_cmov): both values, as for a
                # branch (Ist_Exit below)
                c = fresh_bool(f"kaddr_branch_{insn:x}")
            # a value the entry code selects by kernel data (cmovc after a bt
            # of a secret, adv_r61_cmov_secret): an implicit flow, marked on
            # the condition (decide.implicit_mark reads an If's condition;
            # the flags helpers' results are not marked themselves: a mark
            # inside a branch condition would reach the path guard and
            # every later merge, adv_r62_safe_merge_guard; values computed
            # from flags, setcc and sbb's mask, have the kernel inputs
            # decide.data_mark reads)
            if mem.implicit_input(c, st):
                c = implicit_flow(c)
            return claripy.If(c, ev(e.iftrue), ev(e.iffalse))
        if tag == "Iex_CCall":
            f = _CCALLS.get(e.callee.name)
            if f is None:
                raise Unsupported(f"VEX helper {e.callee.name} has no model")
            args = [ev(a) for a in e.args]
            op = 1 if e.callee.name == "amd64g_calculate_condition" else 0
            r = _ccall(f, args, op, mem.same_region)
            bits = _ty_bits(e.retty)
            if isinstance(r, claripy.ast.Bool):
                r = claripy.If(r, claripy.BVV(1, bits), claripy.BVV(0, bits))
            if r.size() != bits:
                r = r.zero_extend(bits - r.size()) if r.size() < bits else r[bits - 1:0]
            return r
        raise Unsupported(f"IR expression {tag} has no model")

    cas_insn = None
    here = (insn, insn)
    for s in irsb.statements:
        tag = s.tag
        if tag == "Ist_IMark":
            insn = s.addr
            here = (s.addr, s.addr + s.len)
        elif tag == "Ist_WrTmp":
            v = ev(s.data)
            if isinstance(v, claripy.ast.Bool):
                v = claripy.If(v, claripy.BVV(1, 1), claripy.BVV(0, 1))
            tmps[s.tmp] = v
        elif tag == "Ist_Put":
            if s.offset in _SEG_BASE_LOADS:
                raise Unsupported(f"a load of the %{_SEG_BASE_LOADS[s.offset][:2]} selector (it loads the "
                                  "segment base from a descriptor, which is not modelled)")
            v = ev(s.data)
            if v.size() % 8:
                raise Unsupported("sub-byte register write")
            if st.kpend and s.offset not in _NOT_MARKED:
                v = implicit_flow(v)  # (inside a branch on kernel data: Explorer._branch_regions)
                mem.note_implicit_write(s.offset, insn)
            if s.offset == _RSP_OFF:
                mem.rsp_moved(st, st.get_reg(s.offset, 64), v, insn)
            st.put_reg(s.offset, v)
        elif tag == "Ist_Store":
            if s.end != "Iend_LE":
                raise Unsupported("big-endian store")
            data = ev(s.data)
            mem.store(st, ev(s.addr), implicit_flow(data) if st.kpend else data, insn)
        elif tag == "Ist_Exit":
            if s.dst.value == insn and s.jumpkind == "Ijk_Boring" and cas_insn == insn:
                # VEX splits a locked read-modify-write into a load and a CAS
                # and re-runs the instruction when the CAS fails.  The CPU
                # does it atomically, once; a re-run would start from a state
                # this one already covers (what it reads is whatever the load
                # returned), so the retry exit adds no execution.
                continue
            c = ev(s.guard)
            cond = c != 0 if not isinstance(c, claripy.ast.Bool) else c
            if from_kernel_address(cond) and (not cond.symbolic or mem.user_vs_kernel_address(cond, st)):
                # A branch decided only by a kernel address: the model's
                # addresses are one layout, and KASLR (text by 2 MiB, the
                # direct map, vmalloc'ed stacks) may give the bit the other
                # value, so both ways are taken, under a condition that
                # counts as kernel data (its name is none of the user
                # inputs Explorer.kernel_taint knows): a store under it
                # carries the address's bit into pt_regs
                # (adv_r59_kaddr_branch_bit, `if (_THIS_IP_ & BIT(21))
                # regs->r12 = 1`).  Sound: it only adds a path.  No
                # conditional branch of the Debian 6.1/6.12 and UP
                # kernels' checks takes it (measured: none is decided by
                # a kernel address alone).  In the entry code the same for a
                # condition on a kernel address and user data only (`bt
                # $21` of `&label + r10` with R10 checked zero elsewhere,
                # adv_r64_kaddr_guarded_sym): the user's part does not fix
                # which way the address's bits go
                # (the sign bit of every kernel address too, which no layout
                # flips: a known false "violated",
                # adv_r177_safe_rdmsr_gsbase_swapgs; an unsure event on the
                # way the model's layout does not go made the bits KASLR
                # does move inconclusive, adv_r59_kaddr_branch_bit)
                cond = fresh_bool(f"kaddr_branch_{insn:x}")
            # (the path guard keeps no ImplicitFlow: the branch's region
            # carries it, Explorer._branch_regions reads Succ.cond; a mark
            # in the guard would mark every later merge of the path,
            # adv_r62_safe_merge_guard)
            g = cond.remove_annotation(IMPLICIT_FLOW) if has_implicit_flow(cond) else cond
            taken = st.copy()
            taken.guard = claripy.And(st.guard, g)
            if s.offsIP != 184:
                raise Unsupported("exit to a non-RIP target")
            out.append(Succ(taken, claripy.BVV(s.dst.value, 64), s.jumpkind, insn, cond))
            st.guard = claripy.And(st.guard, claripy.Not(g))
        elif tag == "Ist_CAS":
            # lock cmpxchg: old = [addr]; if old == expd: [addr] = new
            if s.expdHi is not None:
                raise Unsupported("double-width cmpxchg")
            addr = ev(s.addr)
            expd, new = ev(s.expdLo), ev(s.dataLo)
            old = mem.load(st, addr, expd.size(), insn)
            hit = old == expd
            if st.kpend or mem.implicit_input(hit, st):
                # (inside a region; or the exchange chosen by kernel data in
                # the entry code, adv_r63_lock_cmpxchg: marked on the If's
                # condition, which decide.implicit_mark reads)
                hit = implicit_flow(hit)
            mem.store(st, addr, claripy.If(hit, new, old), insn)
            tmps[s.oldLo] = old
            cas_insn = insn
        elif tag in ("Ist_LoadG", "Ist_StoreG", "Ist_LLSC"):
            raise Unsupported(f"IR statement {tag} has no model")
        elif tag == "Ist_Dirty":
            name = s.cee.name
            if name in ("amd64g_dirtyhelper_RDTSC", "amd64g_dirtyhelper_RDTSCP"):
                if s.tmp not in (None, 0xFFFFFFFF):
                    tmps[s.tmp] = fresh("rdtsc", _ty_bits(tyenv.lookup(s.tmp)))
                continue
            raise Unsupported(f"VEX dirty helper {name} has no model")
        elif tag in ("Ist_NoOp", "Ist_AbiHint"):
            continue
        elif tag == "Ist_MBE":
            continue  # fences: no effect on a single thread's values
        else:
            raise Unsupported(f"IR statement {tag} has no model")
    out.append(Succ(st, ev(irsb.next), irsb.jumpkind, insn))
    return out
