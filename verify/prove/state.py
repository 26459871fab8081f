"""The symbolic machine state of the prover: registers, memory, guard.

One state stands for every path that reached a program point (the engine
merges all of them there, see explore.py).  Everything is a claripy term.

Memory model (each rule is a claim; the fixtures named in
tests/fixtures/adversarial.py try to break it):
- Memory is a map from concrete byte address to an 8-bit term, over a
  *background*: what nothing on the path wrote reads as a symbol named by
  (generation, address).  A havoc starts a new generation of the public
  memory, so two reads of an unwritten byte agree until something may have
  changed it, and never after.
- Private memory is the part of the stack below pt_regs (frames made during
  this syscall), the entry trampoline stack and alloca regions.  A havoc keeps
  it, except the ranges whose address escaped (a stack address held in a
  register at an unknown call, or stored to public memory): there the callee
  may write (DESIGN.md: "an address-taken local is the callee's to write").
  pt_regs and everything above it are public: `task_pt_regs(current)` reaches
  them from the task struct.
- Addresses are concrete in the machine's frame (machine.py: the regions are
  distinct, their numeric values never matter).  A symbolic address is
  resolved to its few possible values by the solver, or else it is an
  unknown pointer: a read gives a fresh value (recorded as an over-
  approximation) and a write havocs all public memory, pt_regs and every
  escaped range, or the whole stack if the address is built from a stack
  address (then returns read fresh return addresses and the path stops).
"""
from __future__ import annotations

import itertools

import archinfo
import claripy

from .. import machine

GUEST_GPRS = machine.USER_REGS
_gen_ids = itertools.count(1)
_fresh_ids = itertools.count(1)


# A guest-state offset no VEX register has: set (MState.clobber_vector) once
# the vector state was left unknown, so that a register read after it is a
# new value (MState.get_slot)
VECTOR_CLOBBER = 1 << 20
# the guest-state words of the x87/SSE/AVX state: unknown after xrstor or an
# unknown callee, "old or new" after an interrupt window (MState.window_vector)
_ARCH = archinfo.ArchAMD64()
VECTOR_SLOTS = frozenset(off & ~7 for name, (off, size) in _ARCH.registers.items()
                         if name.startswith(("ymm", "xmm", "fpreg", "fpu", "mm", "ftop", "fptag", "fpround",
                                             "sseround", "fc3210", "st")) and off > _ARCH.registers["rip"][0]
                         for off in range(off, off + size, 8))


def fresh(name: str, bits: int = 64):
    return claripy.BVS(f"{name}#{next(_fresh_ids)}", bits, explicit_name=True)


def fresh_bool(name: str):
    return claripy.BoolS(f"{name}#{next(_fresh_ids)}", explicit_name=True)


def new_generation():
    return ("gen", next(_gen_ids))


_background: dict = {}  # (id(gen), addr) -> (gen, byte): generations are immutable


def background_byte(gen, addr: int):
    hit = _background.get((id(gen), addr))
    if hit is not None and hit[0] is gen:
        return hit[1]
    if gen[0] == "gen":
        v = claripy.BVS(f"mem{gen[1]}_{addr:x}", 8, explicit_name=True)
    else:
        _, g, a, b = gen
        va, vb = background_byte(a, addr), background_byte(b, addr)
        v = va if va is vb else claripy.If(g, va, vb)
    _background[(id(gen), addr)] = (gen, v)
    return v


def gen_key(gen):
    """A hashable identity for a memory generation (ITE nodes hold terms)."""
    if gen[0] == "gen":
        return gen
    return ("ite", gen[1].hash(), gen_key(gen[2]), gen_key(gen[3]))


def same(a, b) -> bool:
    """Structural identity of two terms (claripy hash-conses its ASTs).  Never
    claripy's `identical()`: it is VSA-based and calls unconstrained symbols
    equal."""
    if a is b:
        return True
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and gen_key(a) == gen_key(b)
    return a.hash() == b.hash()


class MState:
    """regs: VEX guest-state offset (8-aligned) -> 64-bit term.
    mem: byte address -> 8-bit term.  gen: the public memory's background.
    guard: the condition under which some path is in this state.
    exposed: (lo, hi) stack ranges whose address escaped.
    gs_kernel: the GS base is the kernel's (SYSCALL leaves the user's; each
    SWAPGS toggles it).  gs_bad, irq_bad: sticky; a %gs-relative access ran,
    or IF was set, while the GS base was the user's (obligations user-gs and
    irqs-off)."""

    __slots__ = ("regs", "mem", "gen", "guard", "IF", "exposed", "cr3", "gs_kernel", "gs_bad", "irq_bad", "cr3_bad", "tf",
                 "sysfl", "kstore", "kpend", "redzone", "irq_epoch", "settled")

    def __init__(self):
        self.regs: dict[int, object] = {}
        self.mem: dict[int, object] = {}
        self.gen = new_generation()
        self.guard = claripy.BoolV(True)
        self.IF = claripy.BVV(0, 1)
        self.exposed: frozenset = frozenset()
        self.cr3 = None
        self.gs_kernel = claripy.BoolV(False)  # True after an odd number of SWAPGS since entry
        self.gs_bad = claripy.BoolV(False)
        # sticky: a CR3 write on the path changed more than the PTI and PCID
        # selection bits (user-cr3)
        self.cr3_bad = claripy.BoolV(False)
        self.irq_bad = claripy.BoolV(False)
        # RFLAGS bits VEX does not keep (Explorer.rflags/set_rflags): TF
        # (1 bit: set for the instruction after a popf/iret that loaded it)
        # and NT|IOPL (bits 12-14 of a 64-bit word, the rest zero)
        self.tf = claripy.BVV(0, 1)
        self.sysfl = claripy.BVV(0, 64)
        # pt_regs slot -> Bool: the slot may hold a value the explored code
        # stored that is not user data (a kernel address, kernel memory):
        # sticky until a store of user data fills the whole slot (absent:
        # false).  no-kernel-data and user-rsp do not accept such a slot as
        # "the saved user value" (Explorer.note_ptregs_store)
        self.kstore: dict = {}
        # the branches on kernel data this path took and has not yet
        # rejoined: (call depth, function, the branch block's immediate
        # post-dominator or None for the function's return).  While any is
        # pending, what explored code writes carries machine.ImplicitFlow
        # (Explorer._branch_regions)
        self.kpend: frozenset = frozenset()
        # stack bytes that have been below RSP since they were written (a
        # store below RSP, or RSP moved up past them: Explorer.rsp_moved):
        # an interrupt's or a callee's frame may have overwritten them, so a
        # read is the path's value or any value (Explorer._below_rsp)
        self.redzone: frozenset = frozenset()
        # interrupts in explored code (Explorer._concurrent_read): the
        # number of blocks this path entered with IF set since memory was
        # last havocked, and for each shared byte (per-CPU data, globals)
        # the count at which the path last wrote or read it; a byte read at
        # a higher count may have been changed by an interrupt in between
        self.irq_epoch = 0
        self.settled: dict = {}

    def copy(self) -> "MState":
        s = MState.__new__(MState)
        s.regs = dict(self.regs)
        s.mem = dict(self.mem)
        s.gen = self.gen
        s.guard = self.guard
        s.IF = self.IF
        s.exposed = self.exposed
        s.cr3 = self.cr3
        s.gs_kernel = self.gs_kernel
        s.gs_bad = self.gs_bad
        s.cr3_bad = self.cr3_bad
        s.irq_bad = self.irq_bad
        s.tf = self.tf
        s.sysfl = self.sysfl
        s.kstore = dict(self.kstore)
        s.kpend = self.kpend
        s.redzone = self.redzone
        s.irq_epoch = self.irq_epoch
        s.settled = dict(self.settled) if self.settled else {}
        return s

    # -- registers -------------------------------------------------------------
    def get_slot(self, off: int):
        v = self.regs.get(off)
        if v is None:
            mark = self.regs.get(VECTOR_CLOBBER)
            if mark is None:
                # a guest register nothing set (vector/x87 state): unknown,
                # the value it had at entry
                v = claripy.BVS(f"reg{off}_init", 64, explicit_name=True)
            else:
                # one a callee or an xrstor left unknown (clobber_vector):
                # a value of its own, not the entry's (the same symbol on
                # both sides of the call said the register had not changed:
                # adv_r181_xmm_stale_symbol), named after the clobber (a
                # summarised call's `ret_<label>_vec...`: a value it
                # returned, _computed_call, adv_r181_icall_retip_xmm)
                names = sorted(n for n in mark.variables if n.startswith("ret_")) or sorted(mark.variables)
                v = claripy.BVS(f"{names[0] if names else 'vec_clobbered'}_{off}", 64, explicit_name=True)
            self.regs[off] = v
        return v

    def clobber_vector(self, slots, name: str) -> None:
        """The vector/x87 registers (slots: their guest offsets) are unknown
        from here on: each reads as a new value named after `name`."""
        for off in [k for k in self.regs if k in slots]:
            del self.regs[off]
        self.regs[VECTOR_CLOBBER] = fresh(name)

    def window_vector(self, slots, name: str) -> None:
        """An interrupt may have changed the vector/x87 registers (slots):
        each value the path holds becomes that value or a new one (a fresh
        boolean says which, so the path's own value stays a real execution,
        no interrupt); the registers it does not hold yet read as new values
        named after `name`, unless an earlier clobber already made them
        unknown (its marker, and its names, stay: a value a summarised callee
        left is still one after the interrupt)."""
        took = fresh_bool(name)
        for off in [k for k in self.regs if k in slots]:
            self.regs[off] = claripy.If(took, fresh(f"{name}_{off}"), self.regs[off])
        if VECTOR_CLOBBER not in self.regs:
            self.regs[VECTOR_CLOBBER] = fresh(name)

    def get_reg(self, off: int, bits: int):
        base = off & ~7
        lo = (off - base) * 8
        if lo + bits <= 64:
            v = self.get_slot(base)
            return v if (lo == 0 and bits == 64) else v[lo + bits - 1:lo]
        parts = []
        o = off
        while bits > 0:
            b = off_bits = min(bits, 64 - ((o & 7) * 8))
            parts.append(self.get_reg(o, off_bits))
            o += b // 8
            bits -= b
        return claripy.Concat(*reversed(parts))

    def put_reg(self, off: int, value):
        bits = value.size()
        base = off & ~7
        lo = (off - base) * 8
        if lo == 0 and bits == 64:
            self.regs[base] = value
            return
        if lo + bits > 64:
            first = 64 - lo
            self.put_reg(off, value[first - 1:0])
            self.put_reg(base + 8, value[bits - 1:first])
            return
        old = self.get_slot(base)
        parts = []
        if lo + bits < 64:
            parts.append(old[63:lo + bits])
        parts.append(value)
        if lo > 0:
            parts.append(old[lo - 1:0])
        self.regs[base] = claripy.Concat(*parts) if len(parts) > 1 else parts[0]

    # -- memory (concrete addresses) ----------------------------------------------
    def byte_terms(self, addr: int, n: int) -> list:
        """The n byte terms at a concrete address, lowest first (what
        load_bytes concatenates)."""
        out = []
        for i in range(n):
            a = (addr + i) & 0xFFFFFFFFFFFFFFFF
            v = self.mem.get(a)
            if v is None:
                v = background_byte(self.gen, a)
            out.append(v)
        return out

    def load_bytes(self, addr: int, n: int):
        """Little-endian n-byte load at a concrete address."""
        out = self.byte_terms(addr, n)
        return claripy.Concat(*reversed(out)) if n > 1 else out[0]

    def store_bytes(self, addr: int, value, cond=None):
        n = value.size() // 8
        for i in range(n):
            a = (addr + i) & 0xFFFFFFFFFFFFFFFF
            b = value[i * 8 + 7:i * 8]
            if cond is not None:
                old = self.mem.get(a)
                if old is None:
                    old = background_byte(self.gen, a)
                b = claripy.If(cond, b, old)
            self.mem[a] = b


def merge(states: list[MState], chosen: bool = False) -> MState:
    """One state for several paths at the same point: values that differ become
    If(guard_a, a, b); the guard is the disjunction.  Guards of different
    paths into one point are disjoint (they differ in a branch condition or a
    choice symbol); where they are not, either value is a real execution.
    chosen: the paths are the outcomes of a branch on kernel data rejoining
    (Explorer._branch_regions): a register or memory byte that differs
    between them gets machine.ImplicitFlow on its If's condition."""
    if len(states) == 1:
        return states[0]
    acc = states[0]
    for s in states[1:]:
        acc = _merge_two(acc, s, chosen)
    return acc


def _ite(g, a, b):
    return a if same(a, b) else claripy.If(g, a, b)


def _chosen(g, a, b):
    """_ite for outcomes of a branch on kernel data: a value that differs is
    marked on its If's condition and on the If itself (which claripy may
    fold into an arm when the condition is constant)."""
    return a if same(a, b) else machine.implicit_flow(claripy.If(g, a, b))


def _merge_two(a: MState, b: MState, chosen: bool = False) -> MState:
    g = machine.implicit_flow(a.guard) if chosen else a.guard
    ite = _chosen if chosen else _ite
    out = MState.__new__(MState)
    out.regs = {}
    for k in a.regs.keys() | b.regs.keys():
        out.regs[k] = ite(g, a.get_slot(k), b.get_slot(k))
    out.mem = {}
    for k in a.mem.keys() | b.mem.keys():
        va = a.mem.get(k)
        vb = b.mem.get(k)
        if va is None:
            va = background_byte(a.gen, k)
        if vb is None:
            vb = background_byte(b.gen, k)
        out.mem[k] = ite(g, va, vb)
    out.gen = a.gen if gen_key(a.gen) == gen_key(b.gen) else ("ite", g, a.gen, b.gen)
    out.guard = claripy.Or(a.guard, b.guard)
    out.IF = _ite(g, a.IF, b.IF)
    out.exposed = a.exposed | b.exposed
    out.cr3 = a.cr3 if (a.cr3 is None or b.cr3 is None or same(a.cr3, b.cr3)) else claripy.If(g, a.cr3, b.cr3)
    out.gs_kernel = _ite(g, a.gs_kernel, b.gs_kernel)
    out.gs_bad = _ite(g, a.gs_bad, b.gs_bad)
    out.cr3_bad = _ite(g, a.cr3_bad, b.cr3_bad)
    out.irq_bad = _ite(g, a.irq_bad, b.irq_bad)
    out.tf = _ite(g, a.tf, b.tf)
    out.sysfl = _ite(g, a.sysfl, b.sysfl)
    f = claripy.BoolV(False)
    out.kstore = {k: _ite(g, a.kstore.get(k, f), b.kstore.get(k, f)) for k in a.kstore.keys() | b.kstore.keys()}
    out.kpend = a.kpend | b.kpend
    out.redzone = a.redzone | b.redzone
    # (a byte counts as changed on the merge if it may be on either side)
    out.irq_epoch = max(a.irq_epoch, b.irq_epoch)
    # A byte keeps the larger distance (windows since it was settled) of
    # the two sides: a byte a side wrote but never settled counts from 0,
    # as Explorer._concurrent_read reads it (settled.get(a, 0)); one a side
    # never touched is left to the other (its first read there is the
    # background, adv_r86_merge_double_fetch).  One only a side without it
    # reads again gets an unsure event more, never fewer.
    out.settled = {}
    for k in a.settled.keys() | b.settled.keys():
        d = [x.irq_epoch - x.settled.get(k, 0) for x in (a, b) if k in x.settled or k in x.mem]
        out.settled[k] = out.irq_epoch - max(d)
    return out
