"""The exploration: every path from entry_SYSCALL_64 to each SYSRET, as one
merged state per program point.

Pass order, per function invocation (followed calls recurse):
1. take the blocks of the function's CFG (cfg.py) in topological order of its
   back-edge-free graph; a block runs once, on the merge of every state that
   reached it (so no path is ever enumerated and no branch is ever checked for
   feasibility: an infeasible path only carries a false guard);
2. at a loop head, the state is the entry state with every location the loop
   body may change replaced by `If(w, fresh, entry value)`, w a fresh
   "iterated" symbol; after the body, every back edge's state must agree with
   the head on every other location (structural identity), else those
   locations join the havoc set and the invocation is explored again.  This
   is an inductive invariant: no state of any iteration is lost, and the
   first entry (w false) stays exact;
3. a call is followed (the callee's CFG, the same procedure) or summarised
   (summary.py: the callee's computed may-write set) and every summary is
   recorded as an event with its guard, so that a counterexample through it
   is known to be unconfirmed.

Nothing is dropped: every construct without a model raises Inconclusive for
the whole exploration.
"""
from __future__ import annotations

import itertools
import re
import time
from functools import cached_property

import archinfo
import claripy
import z3

from .. import machine, solver
from ..image.encoding import NEXT_FROM_STATE, ignored_rex, operand_size_prefixed
from ..obligations import EFLAGS_IF, EFLAGS_IOPL, RFLAGS_IMAGE
from . import semantics, tseffects
from .parallel import rss_mib as _rss_mib
from .cfg import FLAG_UNDEFINED_INSNS, RTM_INSNS, CfgError, cond_allows, prefixed_system_insn
from .semantics import Unsupported, run_block
from .state import VECTOR_SLOTS, MState, background_byte, fresh, fresh_bool, gen_key, merge, new_generation, same

ARCH = archinfo.ArchAMD64()
REG = {r: ARCH.registers[r][0] for r in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9",
                                        "r10", "r11", "r12", "r13", "r14", "r15", "rip", "cc_op", "cc_dep1",
                                        "cc_dep2", "cc_ndep", "dflag", "acflag", "idflag", "gs", "fs")}
GPRS = machine.USER_REGS
_REG_NAMES = {REG[r]: r for r in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12",
                                  "r13", "r14", "r15")}
CALLER_SAVED = machine.CALLER_SAVED
# RFLAGS bits kept in MState.sysfl: NT and IOPL (POPF and IRET at CPL 0
# load them), VIF and VIP (IRET only)
SYSFL_POPF = 0x7000
SYSFL_VIRTUAL = 0x180000
SYSFL_IRET = SYSFL_POPF | SYSFL_VIRTUAL
# the guest-state words holding the segment selectors: CS (its low 16
# bits, kept across a call), DS, ES, FS; then GS and SS (apply_summary)
_SELECTOR_SLOTS = (ARCH.registers["cs_seg"][0] & ~7, ARCH.registers["gs_seg"][0] & ~7)
assert ARCH.registers["cs_seg"][0] % 8 == 0 and {ARCH.registers[r][0] & ~7 for r in (
    "ds_seg", "es_seg", "fs_seg")} == {_SELECTOR_SLOTS[0]} and ARCH.registers["ss_seg"][0] & ~7 == _SELECTOR_SLOTS[1]
MAX_DEPTH = 14
MAX_LOOP_ROUNDS = 6
ALLOCA_BASE = 0xFFFFC90100000000
ALLOCA_SPAN = 0x10000
MAX_ALLOCA = 0x2000


class Inconclusive(Exception):
    pass


class ReturnRefuted(Inconclusive):
    """A followed callee returned other than to its caller's return address.
    An earlier round that summarised it took it to return home (assumption
    abi-callee-saved, with the callee-saved registers kept): what that round
    proved rests on an assumption this callee's own code refutes
    (adv_r89_uptr_put_saved_rbx), so the rounds take it back."""


def refutes(e: Exception) -> dict:
    """The mark a round's or a witness's stats entry carries when it stopped
    on a callee that returns elsewhere (ReturnRefuted): rounds._check then
    takes back every proof."""
    return {"refutes": "abi-callee-saved"} if isinstance(e, ReturnRefuted) else {}


# the cpu_entry_area (arch/x86/include/asm/pgtable_64_types.h CPU_ENTRY_AREA_BASE,
# one P4D slot; our trampoline stack, machine.TRAMPOLINE_TOP, is in it):
# mapped in the user page tables as in the kernel's
_CPU_ENTRY_AREA = (0xFFFFFE0000000000, 0xFFFFFE8000000000)


def _possible(cond) -> bool:
    """Whether cond (a small term, no path guard) can hold: True when the
    solver cannot tell (the sound side for a flag that only grows)."""
    s = claripy.Solver(timeout=20000)
    s.add(cond)
    try:
        return s.satisfiable()
    except claripy.errors.ClaripyError:
        return True


def _is_linux_cr3(t) -> bool:
    """Whether t is a value _fresh_cr3 made with built_by_linux."""
    a = t.args
    return t.op == "Concat" and len(a) == 6 and a[0].op == "BVV" and a[0].size() == 1 and a[1].op == "BVS" and \
        a[1].size() == 50 and a[2].size() == 1 and a[3].op == "BVS" and a[3].size() == 1 and a[4].op == "BVV" and \
        a[4].size() == 7 and a[5].op == "BVS" and a[5].size() == 4


def _fresh_cr3(name: str, built_by_linux: bool = True, pti=None):
    """An unknown CR3, bit 63 clear (CR3 never holds it:
    obligations.user_cr3).  built_by_linux (after code the analysis does not
    read: a context switch away and back, assumption
    kernel-calls-keep-gs-cr3): any page-table base, bit 11 and a PCID field
    (bits 0-10) under 16, as every CR3 Linux builds has (6.1/6.12
    arch/x86/mm/tlb.c build_cr3: the tables' address | kern_pcid(asid),
    asid < TLB_NR_DYN_ASIDS = 6; without PCID at most PWT/PCD, bits 3-4),
    which the NOFLUSH rule reads exactly (_dropped_user_flush); and where
    `pti` holds, bit 12 clear: the kernel's tables (with PTI a PGD is an
    8 KB pair, 8 KB aligned, kernel half first: 6.1/6.12 pgd_alloc,
    PGD_ALLOCATION_ORDER 1, PTI_PGTABLE_SWITCH_BIT 12), the tables kernel
    code runs on (what an interrupt window reads: Explorer._user_context).
    Not for a loop's widening: its body is code that was read, and any
    value a body writes must stay possible at the head."""
    if not built_by_linux:
        return claripy.Concat(claripy.BVV(0, 1), fresh(name, 63))
    bit12 = fresh(f"{name}_pgt", 1)
    if pti is not None and not pti.is_false():
        bit12 = claripy.If(pti, claripy.BVV(0, 1), bit12)
    return claripy.Concat(claripy.BVV(0, 1), fresh(f"{name}_hi", 50), bit12, fresh(f"{name}_b11", 1),
                          claripy.BVV(0, 7), fresh(f"{name}_pcid", 4))


class Event:
    """Something on a path the proof had to over-approximate or assume.
    kind: "summary" (a call summarised by its may-write set), "unknown-call"
    (target unknown at analysis time), "unknown-read", "loop" (a widened
    loop head), "assumption"; "dispatch" (the syscall itself: exact by the
    havoc semantics, never unconfirmed)."""

    __slots__ = ("kind", "guard", "name", "target", "site", "assumption", "marks", "value_only")

    def __init__(self, kind, guard, name, target=None, site=0, assumption=None):
        self.kind, self.guard, self.name, self.target, self.site = kind, guard, name, target, site
        self.assumption = assumption
        # prefixes of the names of the values this event made up (a
        # summary's clobbered registers, written bytes, memory generation):
        # a term with such a name depends on the over-approximation
        self.marks: set = set()
        # a value made up or read from the image's writable data, unsure
        # where it is not the typical or the file's one: not for
        # no-kernel-data (decide.decide), whose counterexample is two runs
        # that differ in that very data (a secret kept in .data,
        # adv_r61_cmov_secret; a CPU number, adv_r39_rdpid_leak): any value
        self.value_only = False

    def made(self, term) -> bool:
        return any(n.startswith(m) for n in term.variables for m in self.marks)

    @property
    def unsure(self) -> bool:
        return self.kind in ("summary", "unknown-call", "unknown-read", "loop", "resume")


class Hit:
    """A path's state at a SYSRET, with the width the path executed there
    (the bytes of the patch-site choice it took: one address may be a
    sysretl under one choice and a sysretq under another)."""
    __slots__ = ("site", "state", "width")

    def __init__(self, site, state, width: str = "sysretq"):
        self.site, self.state, self.width = site, state, width


class Exploration:
    def __init__(self):
        self.hits: list[Hit] = []
        self.events: list[Event] = []
        self.trail: list = []  # (address, guard, note)
        self.blocks = 0
        self.assumptions: dict[str, set] = {}  # id -> symbols where used
        self.features: dict = {}  # feature number -> claripy Bool
        # (instruction, condition) where the sticky gs_bad / irq_bad flags of
        # the state were set: where a user-gs / irqs-off counterexample went
        self.gs_events: list = []
        self.irq_events: list = []
        self.ts_asks: list = []  # (tseffects ticket, kind symbol, call site)
        self.ts_pins: list = []  # z3 constraints on those kinds (check_image, tseffects.py)
        # "ret_<site>_" prefixes of the syscall dispatch's returned registers
        # (its result is user data: Explorer.kernel_taint)
        self.dispatch_rets: set = set()


# the argument registers an IF summary's atoms name (irqflag.ARGS)
_ARG_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")

# the exposed frame bytes whose change a model through the syscall
# dispatch is checked for (Explorer._frame_havoc_event); more: any such
# model is unsure
MAX_FRAME_HAVOC_BYTES = 4096
# kernel addresses (Explorer.const): the canonical upper half up to the
# kernel image's 2 GiB (direct map, vmalloc and stacks, the per-CPU and
# entry areas; the machine's regions are all there)
_KERNEL_HALF = 0xFFFF800000000000
_KERNEL_IMAGE_SPACE = 0xFFFFFFFF00000000
# above the fixmap and the vsyscall page (0xffffffffff600000): masks such
# as ~0x1800, no address (Documentation/arch/x86/x86_64/mm.rst)
_KERNEL_SPACE_TOP = 0xFFFFFFFFFF800000
GUARDED_VALUES_MS = 200  # per solver call when the path guard is used to narrow an address
MAX_EXACT_STORE_SPAN = 512  # bytes; a wider address range is an unknown read / a havocking store
# the user addresses a witness path may access without a fault
# (Explorer._witness_uaccess): mm/Kconfig DEFAULT_MMAP_MIN_ADDR (65536 on
# x86, Debian's value) up to IA32_PAGE_OFFSET (asm/page_64_types.h), the
# smallest TASK_SIZE (a compat task's; ADDR_LIMIT_3GB is the task's choice)
WITNESS_USER_LO = 0x10000
WITNESS_USER_HI = 0xFFFFE000


def _by_stack_pointer(states: list) -> list[list]:
    """States grouped by their concrete RSP (symbolic ones together).  States
    that reach one block on different stacks (the PTI exit switches to the
    trampoline stack and joins the direct exit) are run apart: merged, RSP
    would be an If of two stacks and no push or pop would have one address.
    Merging is an optimisation, so not merging is always sound; the groups
    are as many as the distinct stack depths at the block."""
    groups: dict = {}
    for s in states:
        v = s.get_slot(REG["rsp"])
        groups.setdefault(None if v.symbolic else v.concrete_value, []).append(s)
    return list(groups.values())


# Per-CPU identity slots (machine.Frame.percpu_identity) that hold the CPU's
# values, not the task's: another CPU's after a migration (_havoc_memory,
# _shared).  tss_sp0 and espfix's stack and alias (per CPU since
# init_espfix_ap) are the CPU's too: known gaps (adv_r84_sp0_before_window,
# adv_r180_espfix_migrate), since the exit's trampoline stack and the ESPFIX
# IRET's stacks are modelled at one address each (made up after the
# syscall, Debian's generic 6.1 lost its ESPFIX IRET path: "IRET on a stack
# pointer the analysis does not know")
CPU_IDENTITY_SLOTS = ("this_cpu_off",)


class Explorer:
    def __init__(self, program, summaries, deadline=None, progress=None):
        self.program = program
        self.summaries = summaries
        self.frame = machine.Frame(program.layout, program.symbols.get("this_cpu_off"))
        self.deadline = deadline
        # refinement budgets count this thread's CPU time (time.thread_time),
        # not the wall clock: a loaded machine must not change a verdict
        self.cpu_deadline = None
        self.progress = progress
        self.stack_lo = machine.STACK_LIMIT
        self.pt_regs = self.frame.pt_regs
        self.identity = [a for a, _ in self.frame.percpu_identity.values()]
        self._allocas = 0
        self._stack_const_memo: dict = {}
        self._kconst_memo: dict = {}
        self._task_const_memo: dict = {}
        self.witness = False
        self._data_read_events: set = set()
        self.memory_limit_mib = 0  # 0: none; check_image sets it for refinement rounds
        self.prior_mib = 0.0  # resident before the check, beyond a fresh process's (rounds._refine_memory_limit)
        self.witness_split: frozenset = frozenset()
        # tseffects.TsEffects: the TS_COMPAT effects of summarised callees
        # (None: not modelled, a havoc keeps nothing of the bit: compat.py)
        self.ts_effects = None
        self.before_ts_wait = None  # called with ready() before waiting for TS_COMPAT answers (tseffects.settle)
        # the witness prefers, at a branch, a successor from which the
        # syscall dispatch is still reachable (compat.py's witness)
        self.witness_via_dispatch = False
        # the witness explores every path of the functions refinement
        # follows (the checks, whose outcome the one path must not fix: a
        # path nearest to `ret` may well return "IRET"), one path only
        # through the callees it runs in place of their summaries
        self.witness_keep_followed = False

    def like(self) -> "Explorer":
        """A new explorer with this one's configuration (budgets, TS_COMPAT
        process, memory baseline) and nothing of its runs: an exploration's
        decisions read its explorer's per-run fields (user, ex), so two
        explorations alive at once need one explorer each (compat.py)."""
        other = Explorer(self.program, self.summaries, deadline=self.deadline, progress=self.progress)
        other.cpu_deadline = self.cpu_deadline
        other.memory_limit_mib = self.memory_limit_mib
        other.prior_mib = self.prior_mib
        other.ts_effects = self.ts_effects
        other.before_ts_wait = self.before_ts_wait
        return other

    def ir_const(self, value: int, bits: int, insn: int, end: int):
        """An IR constant of the instruction [insn, end) (semantics.run_block):
        the next instruction's address is a RIP value where the instruction
        addresses through RIP or EIP (VEX adds the displacement to it) or is
        a call (the return address it pushes); any other constant is an
        immediate, which may be a literal (adv_r60_start_kernel_literal: a
        `movabs` of its own address)."""
        ins = self._insns.get(insn) if self._insns else None
        rip = ins is not None and value == end and (ins.kind == "call" or "rip" in ins.op_str or
                                                     "eip" in ins.op_str)
        return self.const(value, bits, placed=rip)

    _insns = None

    def placed_op(self, op: str, args, result):
        """`result`, marked placed (machine.Placed) when it is a placed
        address plus or minus a plain constant (an offset into its region):
        VEX's address arithmetic.  Any other operation on one (an `and`
        with a mask, a shift) gives no placed address, even where its value
        lands in the region (adv_r60_rip_mask_diff)."""
        if result.symbolic:
            return result
        if op.startswith(("Iop_Add", "Iop_Sub")) and len(args) == 2:
            a, b = args
            base = a if machine.is_placed(a) and not b.symbolic and not b.annotations else \
                b if op.startswith("Iop_Add") and machine.is_placed(b) and not a.symbolic and not a.annotations \
                else None
            if base is not None and self._model_region(base.concrete_value) == self._model_region(
                    result.concrete_value):
                return result.annotate(machine.PLACED)
        region = self._model_region(result.concrete_value) if result.size() == 64 else None
        if region is None:
            return result
        if not any(isinstance(x, claripy.ast.Base) and not x.symbolic and x.size() == 64 and
                   self._model_region(x.concrete_value) == region for x in args):
            # a value in one of the machine's regions computed from no value
            # in that region (`mov $0xffff8882,%eax; shl $32,%rax`; a placed
            # address plus an offset into another region): a literal
            # (machine.ModelLiteral)
            return result.annotate(machine.MODEL_LITERAL)
        if not op.startswith(("Iop_Add", "Iop_Sub")) and not self._page_bits_only(op, args):
            # any other operation on a region address than an offset or a
            # change of its page-offset bits depends on where the machine put
            # the region, which the kernel chooses (`(rsp | 0x7fff) + 1` with
            # a THREAD_SIZE the stacks do not have: adv_r68_stack_or_mask)
            return result.annotate(machine.MODEL_LITERAL)
        return result

    @staticmethod
    def _page_bits_only(op: str, args) -> bool:
        """An and/or/xor of an address with a constant that changes only
        its low 12 bits (an alignment below a page: the machine's regions
        are page-aligned as the kernel's are)."""
        if len(args) != 2 or not op.startswith(("Iop_And", "Iop_Or", "Iop_Xor")):
            return False
        c = next((x for x in args if not x.symbolic and not x.annotations), None)
        if c is None:
            return False
        v, n = c.concrete_value, c.size()
        if op.startswith("Iop_And"):
            return v | 0xFFF == (1 << n) - 1
        return v < 0x1000

    def const(self, value: int, bits: int, placed: bool = True):
        """A constant the machine makes (an IR constant: ir_const; a stack
        pointer value): a 64-bit kernel address (the canonical upper half
        below the image's 2 GiB, or inside the image's sections or at their
        end: a return address a call pushes, a RIP-relative address, `_end`:
        adv_r58_end_symbol_slot) carries machine.KernelAddress, so what is
        computed from it stays kernel data (kernel_taint); other constants
        (errnos, masks, flags) are plain.  placed: the value is where the
        kernel put its region (a RIP value, a stack address), not an
        immediate that may be a literal (same_region)."""
        if bits == 64 and (_KERNEL_HALF <= value < _KERNEL_IMAGE_SPACE or
                           self._image_lo <= value <= self._image_hi):
            v = machine.kernel_address(value)
            if not placed and self._in_model_region(value):
                v = v.annotate(machine.MODEL_LITERAL)  # (an immediate naming a model region)
            return v.annotate(machine.PLACED) if placed else v
        return claripy.BVV(value, bits)

    def _in_model_region(self, v: int) -> bool:
        return self._model_region(v) is not None

    def _model_region(self, v: int):
        """Which of the machine's regions v lies in (an index), or None; each
        alloca region on its own."""
        for k, (lo, hi) in enumerate(self._tracked_ranges(None, model_only=True)):
            if lo <= v <= hi:  # (a stack's top is its region's: RSP before the first push)
                return (k, (v - ALLOCA_BASE) // ALLOCA_SPAN) if lo == ALLOCA_BASE else k
        return None

    def _stack_below(self, sp: int):
        """The [lo, sp) of the stack RSP=sp is on (the task stack, the
        trampoline stack, an alloca region, or the 32 KiB below any other)."""
        for lo, hi in ((self.stack_lo, machine.STACK_TOP), (machine.TRAMPOLINE_TOP - 0x1000, machine.TRAMPOLINE_TOP)):
            if lo <= sp <= hi:
                return lo, sp
        if ALLOCA_BASE <= sp < ALLOCA_BASE + 64 * ALLOCA_SPAN:
            return ALLOCA_BASE + (sp - ALLOCA_BASE) // ALLOCA_SPAN * ALLOCA_SPAN, sp
        # any other stack (a static scratch stack in the image's data,
        # adv_r68_image_stack_park): its bottom is not known; a kernel stack
        # is at most 32 KiB
        return sp - 0x8000, sp

    def same_region(self, a, b) -> bool:
        """Whether a and b are concrete kernel addresses (KernelAddress) of
        one region whose place the kernel chooses as a whole (placed
        addresses: RIP values, return and stack addresses, and those plus or
        minus an offset: machine.Placed, placed_op): the image (KASLR moves it by
        one offset), the task stack, one alloca region
        (add_random_kstack_offset moves each by its own offset), the
        trampoline stack.  The difference of two such addresses is the same
        wherever the region is (semantics.run_block drops the annotation
        from it)."""
        if a.symbolic or b.symbolic or not (machine.is_placed(a) and machine.is_placed(b)):
            return False  # (an immediate may be a literal: `sub $__START_KERNEL` is kaslr_offset())
        ra, rb = self._region(a.concrete_value), self._region(b.concrete_value)
        return ra is not None and ra == rb

    def _region(self, v: int):
        if self._image_lo <= v <= self._image_hi:
            return "image"
        if self.stack_lo <= v <= machine.STACK_TOP:
            return "stack"
        if ALLOCA_BASE <= v < ALLOCA_BASE + 64 * ALLOCA_SPAN:
            return ("alloca", (v - ALLOCA_BASE) // ALLOCA_SPAN)
        if machine.TRAMPOLINE_TOP - 0x1000 <= v <= machine.TRAMPOLINE_TOP:
            return "trampoline"
        return None

    @cached_property
    def _image_span(self) -> tuple:
        secs = [s for s in self.program.image.elf.sections if s.addr and s.size]
        return (min(s.addr for s in secs), max(s.addr + s.size for s in secs)) if secs else (0, 0)

    @property
    def _image_lo(self) -> int:
        return self._image_span[0]

    @property
    def _image_hi(self) -> int:
        return self._image_span[1]

    # -- the initial state ---------------------------------------------------------------
    def initial_state(self, entry_kind: str = "syscall") -> tuple[MState, dict]:
        """The machine at the first instruction of an entry.  SYSCALL (64-bit
        or from compat mode) leaves RSP the user's; SYSENTER loads RSP from
        MSR_IA32_SYSENTER_ESP, which Linux points at the top of the per-CPU
        entry (trampoline) stack (cpu/common.c enable_sep_cpu / 6.12
        syscall_init: `wrmsrl(MSR_IA32_SYSENTER_ESP, (unsigned long)
        (cpu_entry_stack(cpu) + 1))`), and clears IF, VM and RF but not TF
        (SDM SYSENTER).  RCX and R11 stay symbolic user values in every case:
        SYSCALL's RCX (the next EIP) and R11 (RFLAGS) are values the user
        chose, so leaving them unconstrained only adds behaviours.  "ignore":
        SYSCALL into a stub that never swaps GS."""
        st = MState()
        user = {}
        for r in GPRS:
            user[r] = claripy.BVS(f"user_{r}", 64, explicit_name=True)
            st.regs[REG[r]] = user[r]
        if entry_kind != "sysenter":
            # SYSCALL left the user's RFLAGS in R11: user mode runs with IF set
            # and IOPL 0 (assumption user-mode-if-iopl: at CPL 3 with IOPL 0
            # POPF changes neither, and every return to user mode gives those,
            # the SYSRETs by rflags-if-iopl).  Only a restriction of R11's two
            # privileged fields: every other bit stays the user's choice.  (Bit
            # slices, no mask constant: kernel_taint reads a wide constant
            # as a kernel address)
            r11 = user["r11"]
            user["r11"] = claripy.Concat(r11[63:14], claripy.BVV(0, 2), r11[11:10], claripy.BVV(1, 1), r11[8:0])
            st.regs[REG["r11"]] = user["r11"]
        # SYSCALL/SYSENTER leave the user's GS base loaded (gs_kernel false);
        # the entry's SWAPGS makes it the per-CPU area (_gs_base)
        self.user_gs_base = claripy.BVS("user_gs_base", 64, explicit_name=True)
        st.regs[REG["gs"]] = self.user_gs_base
        st.regs[REG["fs"]] = claripy.BVS("user_fs_base", 64, explicit_name=True)
        st.regs[REG["cc_op"]] = claripy.BVV(0, 64)  # COPY: flags = cc_dep1
        st.regs[REG["cc_dep1"]] = claripy.BVS("entry_rflags", 64, explicit_name=True)
        st.regs[REG["cc_dep2"]] = claripy.BVV(0, 64)
        st.regs[REG["cc_ndep"]] = claripy.BVV(0, 64)
        st.regs[REG["dflag"]] = claripy.BVV(1, 64)  # FMASK clears DF
        st.regs[REG["acflag"]] = claripy.BVV(0, 64)  # FMASK clears AC
        st.regs[REG["idflag"]] = claripy.BVS("entry_idflag", 64, explicit_name=True)
        for addr, value in self.frame.percpu_identity.values():
            st.store_bytes(addr, machine.kernel_address(value))
        if self.frame.pcid_flush_mask is not None:
            st.store_bytes(machine.PCID_FLUSH_OWED, claripy.BVV(0, 8 * machine.PCID_FLUSH_MASK_BYTES))  # none owed
        st.IF = claripy.BVV(0, 1)  # SYSCALL: FMASK clears IF (Linux sets X86_EFLAGS_IF in it)
        st.cr3 = claripy.BVS("user_cr3", 64, explicit_name=True)
        # TF, NT, IOPL: SYSCALL's FMASK clears them (MSR_SYSCALL_MASK, 6.1 and
        # 6.12 arch/x86/kernel/cpu/common.c syscall_init: TF|IOPL|NT among
        # others); SYSENTER clears only IF, VM and RF (SDM SYSENTER): the
        # user's, which entry_SYSENTER_compat's pushfq saves and its
        # .Lsysenter_fix_flags popfq clears
        st.tf = claripy.BVV(0, 1)
        # VIF and VIP: the user's (neither FMASK nor SYSENTER clears them)
        st.sysfl = claripy.BVS("entry_vif_vip", 64, explicit_name=True) & SYSFL_VIRTUAL
        if entry_kind == "sysenter":
            st.tf = claripy.BVS("entry_tf", 1, explicit_name=True)
            # (IOPL: the user's, 0 by assumption user-mode-if-iopl; NT the user's)
            st.sysfl = (claripy.BVS("entry_nt_iopl", 64, explicit_name=True) & 0x4000) | st.sysfl
            # DF and AC are the user's too (SYSENTER filters no flags but
            # IF, VM, RF): entry_SYSENTER_compat's `cld` and the
            # .Lsysenter_fix_flags popfq clear them (6.12
            # entry_64_compat.S), and a path without them runs string
            # instructions backwards (adv_r81_sysenter_df)
            st.regs[REG["dflag"]] = claripy.If(claripy.BVS("entry_df", 1, explicit_name=True) == 1,
                                               claripy.BVV(-1, 64), claripy.BVV(1, 64))
            st.regs[REG["acflag"]] = claripy.BVS("entry_ac", 1, explicit_name=True).zero_extend(63)
            st.regs[REG["rsp"]] = machine.kernel_address(machine.TRAMPOLINE_TOP)
        # entry_SYSCALL32_ignore / ignore_sysret ("ignore") run without
        # SWAPGS: the GS base stays the user's, so a %gs access reads user
        # memory, not the per-CPU area (an unknown pointer, never the concrete
        # current-task identity), and is a user-gs violation besides.
        # TS_COMPAT is clear there (assumption ts-compat-clear-in-user-mode:
        # every other return to user mode clears it), so ts-compat-clear at
        # the stub's sysretl asks only whether the stub sets it
        # (adv_r50_ignore_ts_set); the 64-bit and compat entries start with
        # any value, and their exit work must clear it
        if entry_kind == "ignore":
            ts_byte = self.frame.ti_status + (self.summaries.ts.byte - self.frame.layout.ti_status.value)
            i = self.summaries.ts.bit_in_byte
            old = st.load_bytes(ts_byte, 1)
            parts = ([old[7:i + 1]] if i < 7 else []) + [claripy.BVV(0, 1)] + ([old[i - 1:0]] if i > 0 else [])
            st.mem[ts_byte] = claripy.Concat(*parts) if len(parts) > 1 else parts[0]
        return st, user

    # -- GS base and IF (user-gs, irqs-off) ------------------------------------------
    def _gs_base(self, st: MState, kernel=None):
        """The GS base in effect (kernel: whether it is the kernel's; default
        the state's): the model's one per-CPU base, or the user's at entry."""
        g = st.gs_kernel if kernel is None else kernel
        if g.is_true():
            return machine.kernel_address(machine.PERCPU_BASE)
        if g.is_false():
            return self.user_gs_base
        return claripy.If(g, machine.kernel_address(machine.PERCPU_BASE), self.user_gs_base)

    def note_gs_operand(self, st: MState, insn: int) -> None:
        """The instruction at insn has a %gs-relative memory operand (VEX
        reads the GS base for it): note_gs, and remembered for its access
        (_other_cpu_slot)."""
        self._gs_operand_insn = insn
        self.note_gs(st, insn)

    def note_gs(self, st: MState, insn: int, cond=None):
        """A %gs-relative access (VEX reads the GS base): sticky gs_bad when
        the GS base may be the user's (and cond holds)."""
        if st.gs_kernel.is_true():
            return
        bad = claripy.Not(st.gs_kernel) if cond is None else claripy.And(claripy.Not(st.gs_kernel), cond)
        st.gs_bad = claripy.Or(st.gs_bad, bad) if not st.gs_bad.is_false() else bad
        self.ex.gs_events.append((insn, claripy.And(st.guard, bad)))

    def _trap_on_gs(self, st: MState, insn: int):
        """A trap taken here (a ud2/ud1/ud0 or int3 whose handler returns)
        runs the kernel's exception entry from CPL 0, which does no SWAPGS
        (6.1/6.12 entry_64.S error_entry: only a trap from user mode swaps),
        so its handler's %gs accesses use the GS base in effect: the user's
        after the exit SWAPGS (the CVE-2014-9322 class; adv_r77_warn_after_
        swapgs, _ignore_stub_warn).  As a %gs access (note_gs)."""
        self.note_gs(st, insn)

    def _access_on_gs(self, st: MState, addr, insn: int):
        """A memory access while the GS base may be the user's, at an
        address the path does not fix to the kernel half (a user-chosen
        pointer, a user or non-canonical address): it may fault (#PF under
        SMAP or where nothing is mapped, #GP where non-canonical), and the
        fault is taken from CPL 0 with no stack switch and no SWAPGS, so its
        handler runs on the user's GS base, as a trap does (_trap_on_gs;
        adv_r110_uload_after_swapgs).  A concrete kernel-half address is
        the model's (the stacks, the image, per-CPU data): mapped, but for
        the image's init sections, which free_initmem() unmaps after boot
        (adv_r113_initdata_after_swapgs), and, while CR3 may select the
        user page tables under PTI, for anything but the entry text, the
        cpu_entry_area (the trampoline stack, the TSS) and the ESPFIX area,
        all the user tables map (a `verw` of a selector outside the entry
        text: adv_r113_pti_verw_sel_rodata)."""
        if st.gs_kernel.is_true():
            return
        if addr.symbolic or addr.concrete_value < 0xFFFF800000000000:
            self.note_gs(st, insn)
            return
        a = addr.concrete_value
        lo, hi = self._init_range
        if lo <= a < hi:
            self.note_gs(st, insn)
            return
        if st.cr3 is not None and self.program.has_pti and not (
                self.program.in_entry_text(a) or _CPU_ENTRY_AREA[0] <= a < _CPU_ENTRY_AREA[1] or
                machine.ESPFIX_STACK <= a < machine.ESPFIX_STACK + (1 << 39)):
            user = claripy.And(self._pti_on(), st.cr3[self.program.constants.get("PTI_USER_PGTABLE_BIT", 12)] == 1)
            if not user.is_false() and _possible(user):
                self.note_gs(st, insn, cond=user)

    @cached_property
    def _init_range(self) -> tuple:
        """[__init_begin, __init_end): freed after boot (empty when the image
        does not say)."""
        syms = self.program.symbols
        lo, hi = syms.get("__init_begin"), syms.get("__init_end")
        return (lo, hi) if lo is not None and hi is not None and lo < hi else (0, 0)

    # instructions _special models whose #GP the image cannot rule out: an
    # MSR index or value the CPU refuses, XCR0 bits, an INVPCID type; and a
    # division's #DE, from a quotient too large as well as a zero divisor
    # (adv_r113_div0_overflow_after_swapgs)
    _MAY_GP = frozenset({"rdmsr", "wrmsr", "wrmsrns", "xsetbv", "invpcid", "rdpmc", "xrstor", "xrstors",
                         "xrstor64", "xrstors64", "fxrstor", "fxrstor64", "ldmxcsr", "vldmxcsr", "div", "idiv"})
    # instructions an x86-64 CPU may not have (a CPUID feature: #UD without
    # it), and MOV/POP to a data segment register (#GP on a bad selector):
    # a trap too, whichever the CPU (adv_r121_popcnt_after_swapgs,
    # _rdpid_, _serialize_, _es_load_after_swapgs).  The image does not say
    # which CPU runs it; an alternative gated on the feature is still read
    # for every CPU
    _MAY_UD = frozenset({"popcnt", "movbe", "adcx", "adox", "andn", "bextr", "blsi", "blsmsk", "blsr", "bzhi",
                         "mulx", "pdep", "pext", "rorx", "sarx", "shlx", "shrx", "crc32", "rdpid", "rdtscp",
                         "rdfsbase", "rdgsbase", "wrfsbase", "wrgsbase", "serialize", "stac", "clac", "xsave",
                         "xsave64", "xsaveopt", "xsaveopt64", "xsavec", "xsavec64", "xsaves", "xsaves64",
                         "cmpxchg16b", "lahf", "sahf", "clflushopt", "clwb", "rdrand", "rdseed", "wbnoinvd",
                         "pconfig", "tpause", "umonitor", "umwait", "movdiri", "movdir64b", "enqcmd", "enqcmds",
                         "rdpkru", "wrpkru", "ptwrite", "clzero", "monitorx", "mwaitx", "rdpru", "invlpgb",
                         "tlbsync", "xgetbv"})

    @classmethod
    def may_trap(cls, ins) -> bool:
        """An instruction that may trap whatever its operands' addresses:
        _MAY_GP, _MAY_UD, or a load of ES, DS or SS (a selector the GDT or
        LDT refuses; FS and GS: semantics' own refusal)."""
        m = ins.mnemonic.split(" ")[-1]
        if m in cls._MAY_GP or m in cls._MAY_UD:
            return True
        if m in ("wait", "fwait") or m.startswith("f") or _SIMD_OPERAND.search(ins.op_str) or \
                _vex_encoded(ins.raw):
            # x87 (#MF from an exception the user left pending, `fwait`:
            # adv_r122_fwait_after_swapgs), SSE/AVX (#XM from the user's
            # unmasked MXCSR, `ucomisd`: adv_r122_ucomisd_after_swapgs; #UD
            # without AVX or OSXSAVE, a VEX prefix: adv_r122_vptest_after_swapgs)
            return True
        op = ins.op_str.split(",")[0].strip()
        return m in ("mov", "pop") and op in ("es", "ds", "ss")

    def _special_faults_on_gs(self, st: MState, ins, m: str, ops: list) -> None:
        """An instruction _special models (VEX does not lift it) while the GS
        base may be the user's: one that may #GP whatever its operands
        (_MAY_GP: `rdmsr` of a user-chosen index, adv_r111_rdmsr_after_swapgs),
        and the memory operand of any other (`verw (%rsp)` at the user's RSP,
        adv_r111_verw_user_after_swapgs), trap on that base as an access
        does (_access_on_gs).  A memory operand is read as capstone prints
        it, `[base + index*scale + disp]`; one it cannot read counts."""
        if self.may_trap(ins):
            self._trap_on_gs(st, ins.addr)
            return
        for o in ops:
            if "[" not in o or m in ("lea", "nop") or m.startswith("prefetch"):
                continue
            addr = self._operand_address(st, ins, o)
            if addr is None:
                self.note_gs(st, ins.addr)
            else:
                self._access_on_gs(st, addr, ins.addr)

    def _operand_address(self, st: MState, ins, o: str):
        """The address of a memory operand as capstone prints it (`qword ptr
        [rax + rbx*8 + 0x10]`, `[rip + 0x1234]`), or None."""
        prefix, _, rest = o.partition("[")
        if "]" not in rest or ":" in prefix:
            return None  # (a segment override: an fs/gs base is not in the flat address)
        inner = rest[:rest.rindex("]")]
        total = claripy.BVV(0, 64)
        for term in inner.replace(" - ", " + -").split(" + "):
            term = term.strip()
            try:
                if "*" in term:
                    r, k = term.split("*")
                    total = total + self._gpr_value(st, ins, r.strip()) * int(k, 0)
                elif term.lstrip("-").startswith("0x") or term.lstrip("-").isdigit():
                    total = total + (int(term, 0) & 0xFFFFFFFFFFFFFFFF)
                else:
                    total = total + self._gpr_value(st, ins, term)
            except (ValueError, KeyError):
                return None
        return total

    def _gpr_value(self, st: MState, ins, r: str):
        if r == "rip":
            return claripy.BVV(ins.addr + ins.size, 64)
        if r not in REG:
            raise KeyError(r)
        v = self.reg(st, r)
        if v.size() != 64:
            raise KeyError(r)
        return v

    def _pti_on(self):
        """The PTI feature as the queries read it (False in a kernel without
        PTI)."""
        return self.feature(self.program.feature_pti) if self.program.has_pti else claripy.BoolV(False)

    def _user_context(self, st: MState, tables: bool):
        """Where an interrupt taken now, at CPL 0, would run the kernel on
        something of the user's:
        - the GS base (the interrupt entry skips SWAPGS from kernel mode:
          the CVE-2014-9322 class);
        - the stack: at CPL 0 the CPU switches no stack (ordinary vectors
          have no IST) and pushes the interrupt frame at RSP, so a
          user-chosen RSP is a kernel write at an address the user picks
          (adv_r109_irq_on_user_rsp, _irq_across_rsp_load).  RSP counts when
          it is symbolic, or a lower-half constant (_users_rsp): every
          stack the kernel switches to is a kernel-half constant of the
          model (the task and trampoline stacks, an alloca region once
          settled, ESPFIX's alias, a static stack in the image), and the
          user's RSP, after the SYSCALL or restored for SYSRET, is not
          (unless the path pins it to one user address:
          adv_r125_pinned_user_rsp_window);
        - under PTI, the user page tables (bit 12 of CR3), which do not map
          the handler: a #DF (adv_r109_irq_on_user_cr3).  A CR3 code the
          analysis does not read leaves is the kernel's tables (_fresh_cr3).
          Asked (tables) at sti, popf, IRET, a CR3 write and a window inside
          a summarised callee or return thunk (an entry-text helper runs on
          the user tables: adv_r111_entry_text_callee_window); not at a
          move of RSP or a SWAPGS, which change neither IF nor CR3."""
        if _users_rsp(self.reg(st, "rsp")):
            return claripy.BoolV(True)
        parts = [] if st.gs_kernel.is_true() else [claripy.Not(st.gs_kernel)]
        pti = self._pti_on()
        if tables and st.cr3 is not None and not pti.is_false():
            user = claripy.And(pti, st.cr3[self.program.constants.get("PTI_USER_PGTABLE_BIT", 12)] == 1)
            if not user.is_false():
                parts.append(user)
        return claripy.Or(*parts) if len(parts) > 1 else parts[0] if parts else claripy.BoolV(False)

    def _irq_check(self, st: MState, insn: int, may_set=None, user=None, tables: bool = False):
        """IF set (or, may_set, possibly set inside a callee) while the GS
        base, the stack or the page tables may be the user's
        (_user_context, or `user`: where the instruction makes one of them
        the user's): sticky irq_bad."""
        if user is None:
            user = self._user_context(st, tables)
        if user.is_false():
            return
        on = may_set if may_set is not None else (st.IF == 1)
        if isinstance(on, claripy.ast.Bool) and on.is_false():
            return
        # (false whatever the path: nothing to record.  A term that is
        # false only to the solver (PTI and bit 12 of a CR3 that has it
        # clear under PTI, _fresh_cr3) would otherwise count as a change of
        # irq_bad, and a loop around it would widen irq_bad to anything: the
        # UP kernel's exit-work loop, with its `sti`.  The term alone, not
        # the path guard: a solver call with the guard at each such point
        # took the UP kernel's check from 460 to 590 MiB.  The user context
        # is asked once per term (the same CR3 at every summarised call); a
        # callee's window (may_set, a fresh symbol) adds nothing to it)
        if not user.is_true():
            memo = self.__dict__.setdefault("_possible_memo", {})
            key = user.hash()
            if key not in memo:
                memo[key] = _possible(user)
            if not memo[key]:
                return
        bad = claripy.And(user, on)
        if may_set is None and not on.is_true() and not user.is_true() and not _possible(bad):
            return
        st.irq_bad = claripy.Or(st.irq_bad, bad) if not st.irq_bad.is_false() else bad
        self.ex.irq_events.append((insn, claripy.And(st.guard, bad)))

    # -- memory ---------------------------------------------------------------------
    def is_private(self, a: int) -> bool:
        """Frames built during this syscall (below pt_regs), the trampoline
        stack and alloca regions: reachable only through addresses the
        analysis saw escape."""
        return (self.stack_lo <= a < self.pt_regs or machine.TRAMPOLINE_TOP - 0x1000 <= a < machine.TRAMPOLINE_TOP
                or ALLOCA_BASE <= a < ALLOCA_BASE + 64 * ALLOCA_SPAN
                or machine.PCID_FLUSH_OWED <= a < machine.PCID_FLUSH_OWED + machine.PCID_FLUSH_MASK_BYTES)

    def is_stack(self, a: int) -> bool:
        return self.stack_lo <= a < machine.STACK_TOP or self.is_private(a)

    def _values(self, st: MState, addr, limit=8, by_guard: bool = True):
        """The concrete values a symbolic address can take under the guard, or
        None when there are more than `limit`.  by_guard=False: the values
        it takes whatever the guard says (a superset; None more often)."""
        if not addr.symbolic:
            return [addr.concrete_value]
        vals = _structural_values(addr, limit)
        if vals is not None:
            return sorted(vals)
        return self._values_solved(st, addr, limit, by_guard)

    def _distinct(self, term, guard, limit: int, ms: int):
        """solver.distinct_values, remembered: its answer is a function of
        (term, guard, limit) alone (a restored user RSP is asked about again
        at every block up to SYSRET).  An "unknown" is not remembered.
        z3's hash() is 32 bits and not unique: an attacker searched out two
        addresses of one kernel with equal hashes, and a store into
        pt_regs->cx was taken for one below it (adv_r196_memo_hash).  So the
        hash only picks the bucket; a hit is one whose term and guard are
        the same AST (eq(): z3's structural identity)."""
        key = (term.hash(), None if guard is None else guard.hash(), limit)
        memo = self.__dict__.setdefault("_values_memo", {})
        for t, g, answer in memo.get(key, ()):
            if t.eq(term) and (g is None if guard is None else g is not None and g.eq(guard)):
                return answer
        how, vals = solver.distinct_values(term, [] if guard is None else [guard], limit, ms)
        if how != "unknown":
            memo.setdefault(key, []).append((term, guard, (how, vals)))
        return how, vals

    def _values_solved(self, st: MState, addr, limit: int, by_guard: bool = True):
        # First without the path guard: a superset of the values, and every
        # access through them is conditional on addr == value, so exact; the
        # guard (large and slow) only when that superset is too big and the
        # guard mentions the address's inputs, under a short time limit.
        # None (too many values, or no answer in time) is always sound: the
        # caller over-approximates the access.
        term = _z3(addr)
        for guarded in (False, True) if by_guard else (False,):
            if not guarded and _surely_more_values(addr, limit):
                continue  # (the unguarded query would say "more")
            if guarded and not self._guard_may_list(st, addr, limit):
                return None
            how, vals = self._distinct(term, _z3(st.guard) if guarded else None, limit,
                                       GUARDED_VALUES_MS if guarded else 20000)
            if how == "all":
                return vals
            if how == "unknown":
                if guarded:
                    return None
                raise Inconclusive("solver gave no answer resolving an address")
        return None

    def _guard_may_list(self, st: MState, addr, limit: int) -> bool:
        """Whether the path guard is worth asking to list an address that
        takes more than `limit` values without it (_values_solved)."""
        hull = _interval(addr)
        if hull is not None and hull[1] - hull[0] < MAX_EXACT_STORE_SPAN:
            # the caller's bounded range is exact already; the guard
            # could only shorten the If over it, at a solver call per value
            return False
        return self._guard_may_narrow(st, addr, limit)

    MAX_SPLIT_BOOLS = 3

    def _guard_may_narrow(self, st: MState, addr, limit: int) -> bool:
        """False when the path guard provably cannot bring the address down
        to `limit` values: it shares no variable with the address, or it
        shares only boolean ones (features, static keys) and under every
        assignment of those the address alone still has more than `limit`
        values (the guard then constrains nothing else the address reads)."""
        shared = addr.variables & st.guard.variables
        if not shared:
            return False
        bools = [leaf for leaf in addr.leaf_asts() if leaf.op == "BoolS" and leaf.args[0] in shared]
        if len(bools) != len(shared) or len(bools) > self.MAX_SPLIT_BOOLS:
            return True
        import itertools
        term = _z3(addr)
        for values in itertools.product((False, True), repeat=len(bools)):
            fix = [_z3(b if v else claripy.Not(b)) for b, v in zip(bools, values)]
            if solver.distinct_values(term, fix, limit, 20000)[0] != "more":
                return True
        return False

    def _witness_uaccess(self, st: MState, addr, n: int, insn: int) -> None:
        """On the witness path (and only there), a user access with an
        exception-table fixup of type EX_TYPE_UACCESS (Program.uaccess_fixup)
        is taken as one that does not fault: the path guard gets `addr in
        [WITNESS_USER_LO, WITNESS_USER_HI - n]`.

        Why that is a real execution: the #PF/#GP handler runs the fixup
        (ex_handler_uaccess -> ex_handler_default, arch/x86/mm/extable.c)
        only when the access cannot complete; at an address in that range
        any task, 32- or 64-bit, can have a page mapped with any contents
        (mmap_min_addr's default 64 KiB below, IA32_PAGE_OFFSET 0xFFFFE000,
        the lowest TASK_SIZE a task has, above), so the access completes and
        reads what the user put there, which is what the exploration's load
        gives: a value the model chooses.  A kernel address, a non-canonical
        one (#GP, always the fixup) or one a process may be unable to map is
        outside the range: such a path is never a witness (the fault path is
        not modelled: an extable'd instruction outside the witness stays
        inconclusive).  Dropping the faulting path is an
        under-approximation, which is all a witness may be (run())."""
        ok = claripy.And(claripy.UGE(addr, claripy.BVV(WITNESS_USER_LO, addr.size())),
                         claripy.ULE(addr, claripy.BVV(WITNESS_USER_HI - n, addr.size())))
        st.guard = claripy.And(st.guard, ok)

    def load(self, st: MState, addr, bits: int, insn: int):
        n = bits // 8
        self._access_on_gs(st, addr, insn)
        if self.witness and self.program.uaccess_fixup(insn):
            self._witness_uaccess(st, addr, n, insn)
        vals = self._values(st, addr)
        if vals is None:
            span = self._bounds(st, addr)
            if span is not None and span[1] - span[0] < MAX_EXACT_STORE_SPAN:
                vals = range(span[0], span[1] + 1)  # bounded: exact, as for stores
        if vals is not None and self._literal_model_address(addr, vals):
            vals = None  # (read as through an unknown pointer, below: adv_r68_literal_wide_index)
        if vals is None:
            # an unknown pointer: any value.  Unconfirmed only where the read
            # may see tracked memory (the stack, the task, per-CPU data).
            ex = self.ex
            v = fresh(f"read_{insn:x}", bits)
            near = claripy.Or(*[claripy.And(addr + n > lo, addr < hi) for lo, hi in self._tracked_ranges(st)])
            event = Event("unknown-read", claripy.And(st.guard, near), "read through an unknown pointer", site=insn)
            event.marks.add(f"read_{insn:x}#")
            ex.events.append(event)
            return v
        if not vals:
            return claripy.BVV(0, bits)  # infeasible here
        out = None
        for a in vals:
            self._check_alloca_access(a, insn)
            v = st.load_bytes(a, n)
            self._image_data_read(st, addr, a, n, v, insn)
            v = self._below_rsp(st, addr, a, n, v, insn)
            v = self._concurrent_read(st, addr, a, n, v, insn, len(vals) == 1)
            other = self._other_cpu_slot(st, addr, a, n, insn, "read")
            if other is not None:
                v = claripy.If(other, fresh(f"other_cpu_{insn:x}", 8 * n), v)
            out = v if out is None else claripy.If(addr == a, v, out)
        if machine.has_implicit_flow(addr) or (len(vals) > 1 and self.implicit_input(addr, st)):
            # a pointer chosen under a branch on kernel data (`p = secret ?
            # &a : &b`), or computed from it in the entry code (`((u64
            # *)rsp)[secret & 8 ? 1 : 0]`, adv_r63_secret_index): which word
            # is read is that data
            out = machine.implicit_flow(out)
        if n == 8 and len(vals) == 1 and not out.symbolic and \
                self._stack_tops.get(vals[0]) == out.concrete_value:
            # the stack top the entry loads from its per-CPU slot, still
            # the value the machine put there: a placed address (a memory
            # round trip drops machine.Placed)
            out = out.annotate(machine.PLACED)
        return out

    def _other_cpu_slot(self, st: MState, addr, a: int, n: int, insn: int, what: str):
        """An access to per-CPU data (the model's per-CPU region, and the
        slots that name this task: current_task, its stack tops) through a
        plain pointer, not %gs, in an SMP kernel: the pointer may be one
        computed before a preemption or a migration (`this_cpu_ptr(&x)` kept
        in a callee-saved register across the syscall or a `sti; cli`
        window), so it may name another CPU's copy (another task, for
        current_task; a stash another task left: adv_r191_stale_percpu_ptr_store,
        _read_cli).  The model has one CPU's copy:
        -> a fresh boolean, "another CPU's", under an unsure event (None
        where the rule does not apply): a read is then any value
        (adv_r187_stale_cpu_ptr_current: TS_COMPAT cleared through it), a
        store leaves this CPU's slot alone (adv_r189_stale_cpu_ptr_store).
        A %gs-relative access is this CPU's, now."""
        ins = self._insns.get(insn) if self._insns else None
        gs = getattr(self, "_gs_operand_insn", None) == insn or (ins is not None and "gs:" in ins.op_str)
        if not self._smp or gs or not (self._model_region(a) == self._percpu_region or any(
                a + i in self.identity_bytes and a + i not in self._cpu_identity_bytes for i in range(n))):
            return None
        other = fresh_bool(f"other_cpu_{insn:x}")
        guard = claripy.And(st.guard, addr == a, other) if addr.symbolic else claripy.And(st.guard, other)
        self.ex.events.append(Event("unknown-read", guard, f"a {what} of per-CPU data through a pointer at "
                                    f"{self.program.symbolize(insn)} (not %gs): it may be another CPU's", site=insn))
        return other

    def _below_rsp(self, st: MState, addr, a: int, n: int, v, insn: int):
        """A read of stack bytes below RSP (on the stack RSP is on:
        _stack_below), or of bytes that have been below it since they were
        written (MState.redzone).  The kernel is built
        without a red zone because those bytes are not the code's to keep: a
        summarised callee's frame lies there (its bytes are made fresh at
        the call: _clobber_callee_frame), and so does the frame of an
        interrupt taken on this stack whenever IF was set since the bytes
        were written, which this model does not track (a `sti; cli` window
        between the spill and the reload: adv_r67_irq_window_redzone).  So
        the value is what the path left there or, through an unsure event,
        any value: a violation with the path's own bytes is a real execution
        (no interrupt came); a proof holds for every value.  A byte the path
        never wrote is garbage, fresh.  Refused when the path's value is
        computed from a kernel address (a stack pointer, whole or in halves):
        the "any" side would be taken for an unknown pointer, which never
        reaches this syscall's frames (adv_r44_redzone_copy).  Compiled
        kernel code never reads below RSP: the Debian kernels never take
        this (adv_r65_summary_below_rsp; the reviews' reads of a popped
        slot)."""
        rsp = self.reg(st, "rsp")
        span = None if rsp.symbolic else self._stack_below(rsp.concrete_value)
        below = span is not None and span[0] <= a < span[1]
        if not below and not (st.redzone and any(a + i in st.redzone for i in range(n))):
            return v
        missing = [a + i for i in range(n) if a + i not in st.mem] if below else []
        for b in missing:
            st.mem[b] = fresh(f"garbage_{b:x}", 8)
        if missing:
            v = st.load_bytes(a, n)
        if machine.from_kernel_address(v) or machine.is_placed(v):
            raise Inconclusive(f"{self.program.symbolize(insn)}: a read below RSP of a value computed from a kernel "
                               "address (an interrupt's or a callee's frame may have overwritten it)")
        changed = fresh_bool(f"below_rsp_{insn:x}")
        guard = claripy.And(st.guard, addr == a, changed) if addr.symbolic else claripy.And(st.guard, changed)
        self.ex.events.append(Event("unknown-read", guard, f"a read below RSP at {self.program.symbolize(insn)}: "
                                    "an interrupt's or a callee's frame may have changed it", site=insn))
        return claripy.If(changed, fresh(f"below_rsp_{insn:x}", 8 * n), v)

    def _redzone_store(self, st: MState, vals, n: int) -> None:
        """A store at the addresses `vals` (n bytes each): a byte written
        below RSP is in the red zone from the start, one written at or above
        it leaves it (MState.redzone)."""
        rsp = self.reg(st, "rsp")
        span = None if rsp.symbolic else self._stack_below(rsp.concrete_value)
        below = set()
        written = set()
        for a in vals:
            for b in range(a, a + n):
                written.add(b)
                if span is not None and span[0] <= b < span[1]:
                    below.add(b)
        if not below and not (st.redzone and written & st.redzone):
            return
        st.redzone = (st.redzone - (written - below)) | below if len(vals) == 1 else st.redzone | below

    def _clobber_callee_frame(self, st: MState, label: str) -> None:
        """A summarised call: the callee's frame is below its return address
        (RSP at the call), and what the path left there is gone (its pushes
        and locals: adv_r65_summary_below_rsp, a value parked at -16(%rsp)
        across a call).  Fresh bytes named for the call, so a model through
        them blames its summary."""
        rsp = self.reg(st, "rsp")
        if rsp.symbolic:
            return
        lo, sp = self._stack_below(rsp.concrete_value)
        for b in [b for b in st.mem if lo <= b < sp]:
            st.mem[b] = fresh(f"w_{label}_{b:x}", 8)

    def _literal_model_address(self, addr, vals) -> bool:
        """Whether an access lands in one of the machine's own regions (the
        task stack, the trampoline stack, the current task, the per-CPU
        area, the alloca regions) through an address computed from the
        image's literals alone (machine.ModelLiteral: `movabs $<the model's
        task>`, a constant shifted into one).  Those regions' addresses are
        the model's stand-ins for places the kernel chooses at run time
        (KASLR, the allocator, the per-CPU setup); a literal equal to one
        names some other memory there, so the access is one through an
        unknown pointer (adv_r66_movabs_task_clear, _ptregs_checks).  Code
        reaches the regions from RSP, the GS base and the slots holding
        them, whose values carry no such mark, and are kernel addresses."""
        if not any(self._in_model_region(v) for v in vals):
            return False
        # (every address the machine puts in a region is a kernel address,
        # machine.KernelAddress, which a memory or vector round trip keeps;
        # one built from plain constants, bytes joined in memory or a
        # vector's halves, has none: adv_r67_split_literal_task,
        # adv_r67_xmm_literal_ptregs)
        return machine.is_model_literal(addr) or not machine.from_kernel_address(addr)

    @cached_property
    def _stack_tops(self) -> dict:
        """Per-CPU slot address -> the stack top it holds (the task stack,
        the trampoline stack): machine.Frame.percpu_identity."""
        ids = self.frame.percpu_identity
        return {ids[k][0]: ids[k][1] for k in ("top_of_stack", "tss_sp0") if k in ids}

    def _shared(self, a: int, n: int) -> bool:
        """Whether [a, a + n) is memory an interrupt handler may write, or
        the task that runs after a preemption, or (under SMP) another CPU:
        per-CPU data and the image's writable data.  Not the task stack and
        pt_regs, the alloca regions, the model's own ghost bytes, the
        current task_struct (known gap: others set its TIF flags and wake
        it, __switch_to_asm saves RSP in thread.sp,
        adv_r86_task_field_stash; counting it, but its status word, turned
        two confirmed TS_COMPAT violations and the safe freebsd_full_iret
        inconclusive),
        the per-CPU trampoline stack (known gap: an interrupt
        from user mode on this CPU pushes its frame there,
        adv_r86_tramp_stash_window; counting it turned every obligation that
        reads the exit's trampoline words inconclusive, because the shared
        exploration's Xen PV side leaves IF maybe set there), the per-CPU
        slots that name this task (current_task, its stack tops; known gap:
        tss_sp0 and espfix's are the CPU's, adv_r84_sp0_before_window,
        adv_r180_espfix_migrate; this_cpu_off is shared and made up at each
        havoc, CPU_IDENTITY_SLOTS), nor what mark_rodata_ro()
        write-protects (_ro_after_boot)."""
        if any(a + i in self.identity_bytes and a + i not in self._cpu_identity_bytes for i in range(n)):
            # (the CPU's slots are shared: an interrupt window may end in a
            # preemption and a move to another CPU, adv_r180_cpu_off_irq_window,
            # _cpu_off_callee_window)
            return False
        region = self._model_region(a)
        if region is not None:
            return region == self._percpu_region
        if machine.PCID_FLUSH_OWED <= a < machine.PCID_FLUSH_OWED + machine.PCID_FLUSH_MASK_BYTES:
            return False
        return not self._ro_after_boot(a, n)

    def _ro_after_boot(self, a: int, n: int) -> bool:
        """[a, a + n) lies in what mark_rodata_ro() write-protects once
        boot is done: [__start_rodata, __end_rodata) (6.1/6.12
        arch/x86/mm/init_64.c mark_rodata_ro: .rodata and
        .data..ro_after_init, which the linker script puts inside it and
        vmlinux's section flags still call writable: vdso_image_32, read by
        do_fast_syscall_32 for the landing pad), or the kernel text.  Where
        the image has that span, nothing else counts: a section's name or
        its ELF flags do not make its pages read-only
        (adv_r86_ro_after_init_unprotected, adv_r86_noflag_section_stash);
        without it, a non-writable section or one named .rodata or
        .data..ro_after_init does.  No CPU writes it while a syscall runs."""
        lo, hi = self._rodata_span
        if lo is not None:
            if lo <= a and a + n <= hi:
                return True
            sec = self.program.image.elf.section_at(a)
            return sec is not None and bool(sec.flags & 0x4) and a + n <= sec.end  # (text)
        if self._ro_section(a, n) is not None:
            return True
        sec = self.program.image.elf.section_at(a)
        return sec is not None and sec.name in (".rodata", ".data..ro_after_init") and a + n <= sec.end

    @cached_property
    def _rodata_span(self) -> tuple:
        syms = self.program.symbols
        lo, hi = syms.get("__start_rodata"), syms.get("__end_rodata")
        return (lo, hi) if lo is not None and hi is not None and lo < hi else (None, None)

    @cached_property
    def _percpu_region(self) -> int:
        return next(k for k, (lo, _hi) in enumerate(self._tracked_ranges(None, model_only=True))
                    if lo == machine.PERCPU_BASE)

    @staticmethod
    def _irqs_off(st: MState) -> bool:
        """Whether IF is clear on this path for sure.  Where it only may be
        set (a `cond_local_irq_enable()` join, a popf of a saved word, a
        callee whose IF effect is undecided) an interrupt may come
        (adv_r84_cond_sti_sp2_stash).  (A first form that havocked all
        memory at such blocks turned the Debian kernels' user-cr3
        inconclusive; _concurrent_read's bytes-the-path-touched rule does
        not.)"""
        return st.IF.concrete and st.IF.concrete_value == 0

    @cached_property
    def _smp(self) -> bool:
        """Per-CPU data through %gs: an SMP kernel, whose other CPUs may
        write the image's writable data at any time."""
        return bool(self.frame.layout.percpu_gs.value)

    def _concurrent_read(self, st: MState, addr, a: int, n: int, v, insn: int, single: bool):
        """A read of per-CPU data or a global (_shared) while IF may be set, or
        after a block this path entered with IF maybe set (st.irq_epoch) since
        it last wrote or read the bytes: an interrupt may have come in
        between, written them, and ended in a preemption (another task runs
        the same code on this CPU, or this one moves to another CPU).  So
        the value is what the path has there or, through an unsure event,
        any value: a proof holds for every value, a violation that needs
        another one is not confirmed (adv_r81_percpu_stash_irq_window: the
        user RCX parked in a per-CPU slot across `sti; nop; cli`).  The
        value read is what memory holds from then on (a later read agrees
        with it).  A summarised call resets the count: its havoc makes all
        such memory fresh (_havoc_memory).  A witness path is one where no
        interrupt came (a real execution).  Under SMP a global may be
        written by another CPU between any two instructions: every read of
        one is the path's value or any (adv_r81_shared_rcx_stash: the user
        RCX parked in a plain global across the exit's checks).

        Only bytes this path wrote or read (since memory was last
        havocked) are read so: a byte's first read is its background, a
        value the model already leaves free, and a second read after a
        window may differ from it (adv_r84_double_fetch_sp2).  Reading
        every shared byte so, its first read included, took the
        uniprocessor kernel's compat exploration, whose exit work runs with
        IF set, past its memory budget."""
        if self.witness or not self._shared(a, n):
            return v
        if not any(a + i in st.mem or a + i in st.settled for i in range(n)):
            # a first read: a later one after a window may differ.  (An
            # indexed read, of several candidates, settles none: known gap
            # adv_r86_indexed_double_fetch; settling every candidate, or
            # taking every such read as changed, took the compat
            # explorations of the generic 6.1 and the uniprocessor kernels
            # past their memory budgets)
            if single:
                for i in range(n):
                    st.settled[a + i] = st.irq_epoch
            return v
        other_cpus = self._smp and self._model_region(a) is None
        if not other_cpus:
            if st.irq_epoch == 0 and self._irqs_off(st):
                return v
            if self._irqs_off(st) and all(st.settled.get(a + i, 0) >= st.irq_epoch for i in range(n)):
                return v
        changed = fresh_bool(f"mem_changed_{insn:x}_which")  # (named as memory: kernel_taint)
        guard = claripy.And(st.guard, addr == a, changed) if addr.symbolic else claripy.And(st.guard, changed)
        self.ex.events.append(Event("unknown-read", guard, f"a read of per-CPU data or a global at "
                                    f"{self.program.symbolize(insn)} after IF was set on the path: an interrupt "
                                    "may have changed it", site=insn))
        # (named as memory: a value another writer left is kernel memory)
        out = claripy.If(changed, fresh(f"mem_changed_{insn:x}", 8 * n), v)
        if single:
            st.store_bytes(a, out)
            for i in range(n):
                st.settled[a + i] = st.irq_epoch
        return out

    def _image_data_read(self, st: MState, addr, a: int, n: int, v, insn: int) -> None:
        """A read of the image's read-only data (an allocated section without
        SHF_WRITE: .rodata, which also holds __ro_after_init data) that this
        path never wrote: the value stays free (boot may have written it
        before mark_rodata_ro, so the file's bytes are no proof), but a model
        in which it differs from the file is not shown to be a real
        execution: an unsure event guarded by that difference.  A check
        against a limit kept in .rodata (adv_r51_rodata_limit) was
        "violated" by a model that made the limit up."""
        if any((a + i) & 0xFFFFFFFFFFFFFFFF in st.mem for i in range(n)):
            return
        # (read-only after boot as _ro_after_boot has it: the rodata span
        # where the image has one, whose ELF flags say writable in a real
        # vmlinux, .data..ro_after_init being linked inside .rodata:
        # adv_r167_safe_rodata_wa_cs; the text is code, read as the image has it)
        elf_sec = self.program.image.elf.section_at(a)
        if elf_sec is None or elf_sec.flags & 0x4 or not elf_sec.flags & 0x2 or a + n > elf_sec.end:
            return
        # Writable data (.data, .bss) the path has not written:
        # other code may have written it, but a model that makes up its
        # value is no more a real execution than one that makes up a
        # .rodata word's (a limit kept in .data that no code writes,
        # adv_r177_safe_data_task_size; a boot_cpu_data capability bit,
        # adv_r177_safe_bootcpu_la57_limit): the file's value (zero in
        # .bss) is the one a model may keep, after the syscall's havoc too
        # (a syscall does not write every global: that havoc is exact for
        # what a task can reach, pt_regs and the memory it was handed,
        # not for the image's variables; through the dispatch,
        # adv_r177_safe_data_task_size with a syscall number in range)
        writable = not self._ro_after_boot(a, n)
        sec = elf_sec.name
        try:
            raw = self.program.image.read(a, n) if elf_sec.has_bits else bytes(n)
        except Exception:  # noqa: BLE001 (unreadable: leave the value free, as before)
            return
        file_value = claripy.BVV(int.from_bytes(raw, "little"), 8 * n)
        if not writable:
            guard = claripy.And(st.guard, addr == a, v != file_value) if addr.symbolic else \
                claripy.And(st.guard, v != file_value)
        else:
            # (no path guard: a model that sets the value the file's way
            # where the path does not read it loses nothing.  One event per
            # value: every read of the same bytes makes the same one; the
            # uniprocessor kernel's per-CPU variables are such globals, and
            # one event per read with its path guard held 80 MiB more)
            seen = self._data_read_events
            key = (v.hash(), n, addr.hash() if addr.symbolic else a)
            if key in seen:
                return
            seen.add(key)
            guard = claripy.And(addr == a, v != file_value) if addr.symbolic else v != file_value
        event = Event("unknown-read", guard, f"a read of {sec} at {self.program.symbolize(a)}: its value at run "
                      "time is taken from the file only when a model keeps it", site=insn)
        event.value_only = writable
        self.ex.events.append(event)

    def _ro_section(self, a: int, n: int):
        """The name of the image's allocated, non-writable, non-executable
        section holding [a, a + n), or None."""
        memo = self.__dict__.setdefault("_ro_memo", {})
        key = (a, n)
        if key in memo:
            return memo[key]
        elf = self.program.image.elf
        sec = elf.section_at(a)
        name = None
        if sec is not None and sec.has_bits and a + n <= sec.end and sec.flags & 0x2 and not sec.flags & 0x1 \
                and not sec.flags & 0x4:
            name = sec.name
        memo[key] = name
        return name

    def _stack_regions(self) -> list:
        """[lo, hi) of every stack of the model: the task stack, the
        trampoline stack, the alloca regions."""
        return [(self.stack_lo, machine.STACK_TOP), (machine.TRAMPOLINE_TOP - 0x1000, machine.TRAMPOLINE_TOP),
                (ALLOCA_BASE, ALLOCA_BASE + 64 * ALLOCA_SPAN)]

    def _tracked_ranges(self, st, model_only: bool = False):
        task_stack, trampoline, allocas = self._stack_regions()
        # (the order is the regions' index: _model_region)
        model = [task_stack, trampoline, (machine.TASK, machine.TASK + 0x10000),
                 (machine.PERCPU_BASE, machine.PERCPU_BASE + 0x1000000), allocas]
        if model_only:
            return model
        return model + [(a, a + 1) for a in st.mem if not self.is_stack(a)]

    def store(self, st: MState, addr, value, insn: int):
        self._store_insn = insn
        self._access_on_gs(st, addr, insn)
        if self.witness and self.program.uaccess_fixup(insn):
            self._witness_uaccess(st, addr, value.size() // 8, insn)
        vals = self._values(st, addr)
        if vals is None:
            span = self._bounds(st, addr)
            if span is None or span[1] - span[0] >= MAX_EXACT_STORE_SPAN:
                self._unknown_store(st, addr, insn, value)
                return
            # a bounded address (a bit-string op's byte offset, an indexed
            # array slot): the store is exact, one conditional store per
            # address it may have; every other byte keeps its value
            vals = range(span[0], span[1] + 1)
        if self._literal_model_address(addr, vals):
            # (the values one by one, or a bounded range: adv_r68_literal_wide_task_clear)
            self._unknown_store(st, addr, insn, value)
            return
        self._redzone_store(st, vals, value.size() // 8)
        if st.irq_epoch and len(vals) == 1:
            for i in range(value.size() // 8):
                st.settled[vals[0] + i] = st.irq_epoch  # (_concurrent_read: written after the last window)
        mask = self.frame.pcid_flush_mask
        n = value.size() // 8
        self._check_code_store(vals, n, insn)
        for a in vals:
            self._check_alloca_access(a, insn)
            self._check_entry_stack_page(a, insn, n)
            if not self.is_stack(a):
                self._note_escape(st, value)
            self.note_ptregs_store(st, a, value, None if len(vals) == 1 else addr == a)
            mask_hit = mask is not None and a < mask + machine.PCID_FLUSH_MASK_BYTES and mask < a + n
            before = [st.load_bytes(a + i, 1) for i in range(n)] if mask_hit else None
            cond = None if len(vals) == 1 else addr == a
            other = self._other_cpu_slot(st, addr, a, n, insn, "store")
            if other is not None:
                cond = claripy.Not(other) if cond is None else claripy.And(cond, claripy.Not(other))
            st.store_bytes(a, value, cond)
            if mask_hit:
                self._owe_cleared_flushes(st, a, before)

    def _check_code_store(self, vals, n: int, insn: int) -> None:
        """A store the path makes into the image's code (an executable
        section): with rodata on the text is read-only and the store faults;
        with it off (or before mark_rodata_ro) it changes the code, which
        the analysis reads from the image (adv_r89_text_hook_patched).
        Neither is modelled: refused.  (Boot-time and run-time patching go
        through text_poke at the patch sites, which are modelled as such.
        A store through a pointer the analysis cannot bound is taken not to
        reach the code: rodata, assumption instruction-boundaries.)"""
        if not vals:
            return
        lo, hi = min(vals), max(vals) + n
        for sec in self._code_sections():
            if lo < sec.end and sec.addr < hi:
                raise Inconclusive(f"{self.program.symbolize(insn)}: a store into the kernel's code ({sec.name}): "
                                   "not modelled")

    def _code_sections(self) -> list:
        hit = self.__dict__.get("_code_secs")
        if hit is None:
            hit = self._code_secs = [x for x in self.program.image.elf.sections if x.flags & 0x4 and x.size]
        return hit

    def _check_entry_stack_page(self, a: int, insn: int, n: int = 1) -> None:
        """A store into the per-CPU entry stack page writes the trampoline
        stack (TSS.sp0 is that page's top, through the cpu_entry_area
        alias), which the machine keeps as a region of its own
        (TRAMPOLINE_TOP): such a store has no model (adv_r17_entry_stack_alias:
        it would overwrite the saved user RSP the exit pops)."""
        page = self.frame.entry_stack_page
        if page is not None and a < page[0] + page[1] and page[0] < a + n:
            raise Inconclusive(f"{self.program.symbolize(insn)}: a store into the per-CPU entry stack page "
                               f"(entry_stack_storage{a - page[0]:+#x}), which is the trampoline stack under "
                               "another address: not modelled")

    # pt_regs slots whose value may reach a register that no-kernel-data or
    # user-rsp takes as "the user's" (directly, or copied from one slot to
    # another: orig_ax; ip and flags: a sysretl's RCX and R11): all but the
    # selectors, which user-cs-ss / compat-user-cs fix
    UNTRACKED_SLOTS = ("cs", "ss")
    # the slots RCX and R11 come from hold what the kernel computes: the
    # vDSO landing pad (do_fast_syscall_32's `regs->ip = landing_pad`, from
    # current->mm), RFLAGS with the status flags of kernel arithmetic
    # (entry_SYSENTER_compat's `pushfq` saves SWITCH_TO_KERNEL_CR3's); only
    # the machine model's own kernel addresses (stack, per-CPU, task:
    # constants, shifted or not) taint them
    # (the compat entries only: a 64-bit exit has no landing pad, and a
    # kernel word stored into regs->ip there is a kernel pointer in RCX,
    # adv_r114_ip_kptr_rcx; nor does any exit take RFLAGS from kernel
    # memory: adv_r114_flags_kptr_r11)
    KERNEL_MEMORY_OK_SLOTS = ("ip",)
    # the slot whose value the syscall decides: its result (and the signal
    # code's -EINTR/restart rewrites) depends on kernel state by design, so
    # a branch on kernel data before a store there is no leak
    IMPLICIT_FLOW_OK_SLOTS = ("ax",)

    @property
    def tracked_slots(self):
        t = getattr(self, "_tracked_slots", None)
        if t is None:
            t = self._tracked_slots = tuple(f for f in self.frame.layout.pt_regs if f not in self.UNTRACKED_SLOTS)
        return t

    def slot_at(self, a: int):
        """The tracked pt_regs slot holding byte a, or None."""
        off = a - self.pt_regs
        lay = self.frame.layout
        if not 0 <= off < lay.pt_regs_size.value:
            return None
        return next((f for f in self.tracked_slots if lay.pt_regs[f].value <= off < lay.pt_regs[f].value + 8), None)

    def note_ptregs_store(self, st: MState, a: int, value, cond=None):
        """A store by explored code into a pt_regs register slot: unless the
        value is user data (kernel_taint), the slot is marked as holding a
        kernel value (st.kstore) until user data fills it again, so that
        the exit restoring it is not "the saved user value" (an exit that
        parks the kernel stack pointer in pt_regs->r10 and pops it).  A
        summarised call's havoc of pt_regs does not clear the mark: the
        callee may leave the slot as it was."""
        off = a - self.pt_regs
        lay = self.frame.layout
        if not 0 <= off < lay.pt_regs_size.value:
            return
        n = value.size() // 8
        for f in self.tracked_slots:
            lo = lay.pt_regs[f].value
            if off + n <= lo or off >= lo + 8:
                continue
            old = st.kstore.get(f, claripy.BoolV(False))
            self._credited = False
            if f == "flags" and getattr(self, "_pushf_frame", False):
                # a compat entry's pushfq building the frame: the user's
                # flags as SYSENTER/SYSCALL left them (the model's own masks
                # and flag constants in the term are none of the kernel's),
                # with the status flags of the last arithmetic,
                # SWITCH_TO_KERNEL_CR3's on CR3 in entry_SYSENTER_compat (the
                # PCID's parity in PF), which every SYSENTER return hands
                # back: no kernel data (assumption sysenter-status-flags).
                # Any kernel bit a later store puts in the slot is
                # (decide.Query, R11 at a sysretl)
                t = claripy.BoolV(False)
                self._assume("sysenter-status-flags", self._site or 0)
            else:
                t = self.kernel_taint(value, st, kernel_memory_ok=f in self.KERNEL_MEMORY_OK_SLOTS and
                                      getattr(self, "_compat_run", False))
            if f not in self.IMPLICIT_FLOW_OK_SLOTS:
                # a store made under a branch on kernel data carries that
                # data whatever it stores (`if (secret & 1) regs->r12 |= 1`,
                # adv_r42_ptregs_bit_leak): the path condition's inputs
                # count, but not its constants (the code's masks and
                # bounds), static keys (configuration, the same for every
                # task), the flags the CPU leaves undefined (its choice), nor
                # the marks of pt_regs slots it reads: SYSENTER's pushfq
                # leaves the entry's status flags in pt_regs->flags, whose
                # NT/AC/TF test every SYSENTER path takes (a marked slot is
                # still caught when it is restored)
                if not t.is_true() and (self._guard_taint(st) or (cond is not None and not self.kernel_taint(
                        cond, st, constants=False, skip=self._GUARD_NOT_KERNEL).is_false())):
                    # (also a store whose address kernel data chooses among
                    # slots: `regs_array[secret & 1] = 0`, the slot written
                    # is the secret, adv_r43_slot_index_secret)
                    t = claripy.BoolV(True)
                    # (for the report: where, decide._detail)
                    self.__dict__.setdefault("implicit_stores", {}).setdefault(
                        f, getattr(self, "_store_insn", 0) or 0)
            if self._credited:
                # a load from kernel memory taken for user data: the image
                # cannot tell mm->context.vdso (a user address) from a kernel
                # pointer beside it (adv_r15_compat_vdso_image): named
                self._assume("exit-ip-flags-user-data", getattr(self, "_store_insn", 0) or 0)
            if off == lo and n == 8:
                new = t if cond is None else claripy.If(cond, t, old)
            else:  # part of the slot: the rest is as it was
                new = claripy.Or(old, t if cond is None else claripy.And(cond, t))
            if not (new.is_false() and f not in st.kstore):
                st.kstore[f] = new

    _credited = False

    # inputs a path condition may depend on without leaking kernel data;
    # havoc_<site>_cs_hi, the selector bits of pt_regs->cs after a summarised
    # callee's havoc (user register state, as for _BRANCH_NOT_KERNEL below):
    # every exit checks cs, so counting them marked every pt_regs store made
    # after the check (adv_r65_safe_cs_check_store, a false "violated")
    # The flags the CPU leaves undefined (its choice), VERW's ZF and a
    # runtime constant's shift count (boot's choice) are no kernel data
    # here; the flags a summarised callee returns are (flags_call_*: what
    # it computed, adv_r85_callflags_ptregs_store: `call stack_bit14; jnc
    # 1f; movq $0,R12(regs)`), and so are lsl/lar/lzcnt/tzcnt's
    _GUARD_NOT_KERNEL = ("key_", "alt_", "af_", "havoc_", "flags_undefined_", "flags_verw", "flags_runtime_")

    # and for a branch region (_branch_regions, implicit_input): the static
    # keys and alternatives, and the upper bits of pt_regs->cs after a
    # summarised callee's havoc
    # (havoc_<site>_cs_hi): a slot of the saved frame, user register state
    # like the slot's others (the exit's checks of cs, _havoc).  Not the
    # flags a summarised callee returns (flags_call_*: what it computed,
    # adv_r61_call_flags), nor those the CPU leaves undefined
    # (flags_undefined_*: a CPU may keep the previous flags, which may be
    # kernel data: `testb $1,secret; div; jz`, adv_r62_div_flags)
    _BRANCH_NOT_KERNEL = ("key_", "alt_", "af_", "havoc_")

    def _guard_taint(self, st: MState) -> bool:
        """Whether the path condition depends on kernel data: some conjunct
        mentions an input kernel_taint takes as kernel data (pt_regs slots
        whatever their marks, no constants, not _GUARD_NOT_KERNEL) and can
        change its truth when only those inputs change (the solver decides:
        `(flags & 0x44100) != 0` with flags holding CR3-derived status bits
        does not depend on CR3)."""
        g = st.guard
        if g.is_true():
            return False
        memo = self.__dict__.setdefault("_guard_memo", {})
        for c in (g.args if g.op == "And" else (g,)):
            key = c.hash()
            hit = memo.get(key)
            if hit is None:
                hit = memo[key] = self._depends_on_kernel(c, st)
            if hit:
                return True
        return False

    def _depends_on_kernel(self, c, st: MState) -> bool:
        kernel = [leaf for leaf in c.leaf_asts() if leaf.op in ("BVS", "BoolS") and not self.kernel_taint(
            leaf, st, constants=False, marks=False, skip=self._GUARD_NOT_KERNEL).is_false()]
        if not kernel:
            return False
        alt = {leaf.hash(): (claripy.BVS(f"{leaf.args[0]}_alt", leaf.size(), explicit_name=True)
                             if leaf.op == "BVS" else claripy.BoolS(f"{leaf.args[0]}_alt", explicit_name=True))
               for leaf in kernel}
        s = claripy.Solver(timeout=5000)
        s.add(claripy.Not(c == claripy.replace_dict(c, alt)))
        try:
            return s.satisfiable()
        except claripy.errors.ClaripyError:
            return True  # not known: it may

    def kernel_taint(self, value, st: MState, kernel_memory_ok: bool = False, constants: bool = True,
                     marks: bool = True, skip: tuple = ()):
        """When a value may be kernel data (a claripy Bool: false for user
        data).  User data is built only from the registers and flags the
        user had at the SYSCALL, the saved frame (a pt_regs slot is as
        tainted as its mark in st.kstore), what the syscall dispatch
        returned, what a user access (an instruction with an EX_TYPE_UACCESS
        fixup) read, and small constants.  Anything else (kernel memory,
        another callee's result, CR3) is taken as kernel data.  Constants:
        the machine model's kernel addresses are concrete, so a constant
        derived from one (shifted, truncated) cannot be told from a literal;
        only values within 4 KiB of 0 or of 2^n (0, flags, an errno, -1)
        count as user data, which leaves of a kernel address at most its
        offset in a page.  Conservative: a wrong "kernel" only costs a
        proof.  constants=False: constant leaves do not count (a path
        condition's); marks=False: a pt_regs slot is user data whatever its
        mark; skip: name prefixes that do not count.
        kernel_memory_ok: loads from kernel memory count as user data
        (pt_regs->ip and ->flags, which the compat path fills from the
        task's mm: KERNEL_MEMORY_OK_SLOTS); CR3, a callee's result and
        kernel-address constants still do not (adv_r14_compat_ip_cr3)."""
        true = claripy.BoolV(True)
        conds = []
        for name in value.variables:
            base = name.split("#")[0]
            if skip and base.startswith(skip):
                continue
            if base in ("user_cr3",):
                return true
            if kernel_memory_ok and base.startswith(("mem", "read_")):
                self._credited = True
                continue  # kernel memory: the landing pad's source
            if base.startswith(("user_", "entry_", "feature_")):
                continue
            if base.startswith("ret_") and name in self.ex.dispatch_rets:
                continue
            if base.startswith("read_"):
                try:
                    if self.program.uaccess_fixup(int(base[5:], 16)):
                        continue
                except ValueError:
                    pass
                return true
            if base.startswith("mem"):
                try:
                    a = int(base.partition("_")[2], 16)
                except ValueError:
                    return true
                f = self.slot_at(a)
                if f is not None:
                    m = st.kstore.get(f, claripy.BoolV(False))
                    if marks and not m.is_false():
                        conds.append(m)
                    continue  # a slot of the saved frame: as tainted as its mark
                if self.pt_regs <= a < self.pt_regs + self.frame.layout.pt_regs_size.value:
                    continue  # cs, ss: the user's selectors
            return true
        if constants and not all(not k and (c < 0x1000 or c >= (1 << n) - 0x1000)
                                 for c, n, k in _bvv_leaves(value, self._kconst_memo)):
            return true
        return claripy.Or(*conds) if len(conds) > 1 else conds[0] if conds else claripy.BoolV(False)

    def _may_exceed(self, st: MState, term, bound: int) -> bool:
        """Whether term >u bound on some path st's guard allows (False when
        the solver cannot tell)."""
        try:
            r = solver.check([_z3(st.guard), _z3(claripy.UGT(term, bound))], timeout_ms=GUARDED_VALUES_MS)
        except claripy.errors.ClaripyError:
            return False  # (the caller lists the values as before)
        return r.sat

    def _feasible(self, st: MState) -> bool:
        """Whether st's path guard is satisfiable (True when the solver
        cannot tell: the callers keep such a path).  A model found for an
        earlier guard that satisfies this one answers without a query (a
        branch's guard is its parent's and a condition, which the parent's
        model decides one way: the witness asks about both outcomes)."""
        if st.guard.is_false():
            return False
        try:
            g = _z3(st.guard)
        except claripy.errors.ClaripyError:
            return True  # (as a solver failure: the path is kept)
        models = self.__dict__.setdefault("_feasible_models", [])
        for m in models:
            if z3.is_true(m.eval(g, model_completion=True)):
                return True
        r = solver.check([g], timeout_ms=20000)
        if r.sat:
            models.insert(0, r.model)
            del models[4:]
        return not r.unsat

    def _bounds(self, st: MState, addr):
        """(min, max) of a symbolic address over all its inputs when they lie
        within MAX_EXACT_STORE_SPAN bytes, else None (a wide address, or a
        solver failure: the callers then read or store through an unknown
        pointer, which is sound).  An unsigned interval read off the term
        first (a sound hull: 0x...350d6 + ((cr3 & 0x7ff) >> 3), the byte a
        bit-string op on a PCID bit touches, spans 256 bytes); else one value
        v from the solver and one query whether the address can leave the
        window of MAX_EXACT_STORE_SPAN - 1 bytes either side of v.  If it can,
        two of its values are at least that far apart: wide, in two queries
        where a plain binary min/max over 64 bits takes about 130.  If it
        cannot, min and max are searched inside the window (about 20)."""
        hull = _interval(addr)
        if hull is not None and hull[1] - hull[0] < MAX_EXACT_STORE_SPAN:
            return hull
        # What the queries below answer None to, known without them: the
        # window around any v holds 2*SPAN - 1 values, so an address that
        # takes 2*SPAN distinct values (by its shape, _values_lower_bound), or
        # two values at least 2*SPAN - 1 apart (at random assignments of its
        # variables, solver.sampled_values: each a value it really takes,
        # there being no constraint here), has one outside it, whatever v the
        # solver picks: the same None, without the two to three solver calls
        wide = 2 * MAX_EXACT_STORE_SPAN
        try:
            if _values_lower_bound(addr, wide) >= wide:
                return None
        except RecursionError:
            pass
        try:
            seen = solver.sampled_values(_z3(addr), 2)
        except claripy.errors.ClaripyError:
            return None  # (as the solver's failure below: an unknown pointer)
        if seen and max(seen) - min(seen) >= wide - 1:
            return None
        s = claripy.Solver(timeout=20000)  # no guard: wider bounds, still sound, much faster
        try:
            v = s.eval(addr, 1)[0]
            top = (1 << addr.size()) - 1
            lo, hi = max(0, v - MAX_EXACT_STORE_SPAN + 1), min(top, v + MAX_EXACT_STORE_SPAN - 1)
            if s.satisfiable(extra_constraints=[claripy.Or(claripy.ULT(addr, lo), claripy.UGT(addr, hi))]):
                return None
            return (_search_bound(s, addr, lo, v, lowest=True), _search_bound(s, addr, v, hi, lowest=False))
        except claripy.errors.ClaripyError:
            return None

    def _check_alloca_access(self, a: int, insn: int):
        # an access at or above an alloca'd RSP through the alloca region
        # would touch the gap the translation argument leaves out
        if ALLOCA_BASE <= a < ALLOCA_BASE + 64 * ALLOCA_SPAN and (a - ALLOCA_BASE) % ALLOCA_SPAN >= ALLOCA_SPAN // 2:
            raise Inconclusive(f"{self.program.symbolize(insn)}: access above a stack pointer moved by an "
                               "amount the analysis does not fix")

    def _note_escape(self, st: MState, value):
        self._expose_frames(st, _stack_constants(value, self))
        if value.op == "Concat" and len(value.args) == 8 and any(v.op == "If" for v in value.args) and \
                all(v.size() == 8 for v in value.args):
            # a word loaded from bytes that may be choices of constants
            # (_word_stack_constants; adv_r124_unknown_merge: a merged
            # slot's word stored through an unknown pointer)
            self._word_escape(st, list(reversed(value.args)))

    def _expose_frames(self, st: MState, pointers) -> None:
        for c in pointers:
            st.exposed = st.exposed | {self._frame_range(c, st)}

    def _note_word_escape(self, st: MState, a: int):
        """_note_escape of the 8 bytes at a, as st.load_bytes(a, 8) reads
        them, without building that load: the scans of exposed frames read
        every byte's word at every call, and the loads' concatenations were
        most of their cost (_word_stack_constants)."""
        self._word_escape(st, st.byte_terms(a, 8))

    def _word_escape(self, st: MState, parts: list) -> None:
        """The stack addresses a word of these 8 byte terms (lowest first)
        may hold escape: its constants (_word_stack_constants), and where
        there are too many choices to list, every stack region whole (the
        word may be an address in any of them: the task stack, the
        trampoline stack, the alloca regions; a havoc of them keeps the
        live return addresses, Explorer._havoc_memory)."""
        found = self._word_stack_constants(parts)
        if found is None:
            st.exposed = st.exposed | set(self._stack_regions())
            found = ()
        self._expose_frames(st, found)

    def _word_stack_constants(self, parts: list) -> tuple | None:
        """The stack addresses a word of these byte terms may hold, or None
        when there are more than _MAX_WORD_CHOICES words to try.

        Eight constant bytes make one 64-bit constant (is_stack is a function
        of the value).  Otherwise: the 64-bit stack constants in each
        symbolic byte's term (a byte term is a constant, with no 64-bit
        constant, or a term whose constants are its leaves; concatenating
        folds Extracts of one value back to it and makes no 64-bit constant
        of symbolic bytes), and every word the bytes' constant choices make.
        A byte may be a choice of constants: claripy folds the bytes of a
        stored If(c, &ok, 0) (a cmov) into If(c, k_i, 0), a merge of two
        stores makes If(g, a_i, b_i), a store through a two-valued address
        If(addr == a, k_i, old_i) (adv_r123_cmov_okp, _merge_okp,
        adv_r124_merge_mixed, _index_slot): no 64-bit constant is left in
        any byte.  Each byte's constant arms are taken (a symbolic arm's own
        constants count above), so each word of them is one the load may
        hold (or more: the choices are taken independently); each that is a
        stack address escapes."""
        if all(v.op == "BVV" for v in parts):
            word = int.from_bytes(bytes(v.args[0] for v in parts), "little")
            return (word,) if self.is_stack(word) else ()
        found: tuple = ()
        for v in parts:
            if v.op != "BVV":
                c = _stack_constants(v, self)
                if c:
                    found = tuple(dict.fromkeys(found + tuple(c)))
        choices = [self._byte_choices(v) for v in parts]
        if all(choices) and any(v.op == "If" for v in parts):
            n = 1
            for c in choices:
                n *= len(c)
            if n > _MAX_WORD_CHOICES:
                return None
            words = (int.from_bytes(bytes(w), "little") for w in itertools.product(*choices))
            found = tuple(dict.fromkeys(found + tuple(w for w in words if self.is_stack(w))))
        return found

    def _public_words_escape(self, st: MState) -> None:
        """_note_word_escape at every written byte of public memory, with the
        same answer for less: a symbolic byte's constants are its term's
        (the union part of every word it is in), and the rest of the rule
        (a word of constants, or of choices of constants) needs the word's
        top byte to be a constant or a choice that can be a stack address's
        (0xff: every stack region is in the kernel half)."""
        found: tuple = ()
        for a in sorted(a for a in st.mem if not self.is_stack(a)):
            v = st.mem[a]
            if v.op != "BVV":
                c = _stack_constants(v, self)
                if c:
                    found = tuple(dict.fromkeys(found + tuple(c)))
            top = st.mem.get((a + 7) & 0xFFFFFFFFFFFFFFFF)
            if top is not None and ((top.op == "BVV" and top.args[0] == 0xFF) or top.op == "If"):
                self._note_word_escape(st, a)
        self._expose_frames(st, found)

    def _byte_choices(self, v) -> tuple:
        """The constants a byte term may be through its If arms (nested):
        a constant's value, an If's arms' constants; a symbolic arm adds
        none (its own constants count in _word_stack_constants)."""
        if v.op == "BVV":
            return (v.args[0],)
        if v.op != "If":
            return ()
        key = ("byte-choices", v.hash())
        hit = self._stack_const_memo.get(key)
        if hit is None:
            hit = self._stack_const_memo[key] = tuple(dict.fromkeys(self._byte_choices(v.args[1]) +
                                                                    self._byte_choices(v.args[2])))
        return hit

    def _frame_range(self, p: int, st: MState) -> tuple:
        """An escaped stack pointer exposes its whole frame: from the return
        address slot below p (or RSP, in the innermost frame) to the next
        one above it (the callee may write the object and, with pointer
        arithmetic, container_of included, the rest of that frame; the
        frames above and below hold return addresses and are protected by
        assumption abi-frames).  adv_r15_ctx_okp: a local below the struct
        whose address was passed."""
        top = self._region_top(p)
        above = [s for s in self.ret_slots if p <= s < top]
        below = [s + 8 for s in self.ret_slots if s + 8 <= p]
        v = self.reg(st, "rsp")
        bottom = max(below) if below else p if v.symbolic else min(p, v.concrete_value)
        if self._region_top(bottom) != top:
            bottom = p  # (never across regions: the alloca region, the trampoline stack)
        return (bottom, min(above) if above else top)

    def _expose_reachable(self, st: MState):
        """A stack address stored inside an exposed range escapes too: the
        callee may read it there (&ok stored in the struct whose address was
        passed: adv_r15_ctx_okp).  To a fixpoint over the exposed ranges."""
        seen: set = set()
        while True:
            todo = [r for r in st.exposed if r not in seen]
            if not todo:
                return
            for lo, hi in todo:
                seen.add((lo, hi))
                # (at every written byte: a pointer in a packed struct need
                # not be aligned, adv_r16_packed_okp)
                for a in sorted(a for a in st.mem if lo <= a < hi):
                    self._note_word_escape(st, a)

    def _region_top(self, p: int) -> int:
        """The top of the stack region holding p: the task stack, the
        trampoline stack, or one alloca region (its frame grows down from
        the middle of its span).  An exposure never runs from one region
        into another."""
        if ALLOCA_BASE <= p < ALLOCA_BASE + 64 * ALLOCA_SPAN:
            return ALLOCA_BASE + (p - ALLOCA_BASE) // ALLOCA_SPAN * ALLOCA_SPAN + ALLOCA_SPAN // 2
        if machine.TRAMPOLINE_TOP - 0x1000 <= p < machine.TRAMPOLINE_TOP:
            return machine.TRAMPOLINE_TOP
        return machine.STACK_TOP

    _site = 0

    def _unknown_store(self, st: MState, addr, insn: int, value=None):
        """A store whose address the analysis cannot bound: it may hit any public
        byte, pt_regs, and every escaped frame; if the address is built from a
        stack address or a value the user may have chosen, any stack byte.  A
        value that may be kernel data marks each tracked pt_regs slot it may
        overlap (task_pt_regs(current) is such a pointer), under the
        condition that it does."""
        self._event = Event("summary", st.guard, "store through an unknown pointer", site=insn)
        self.ex.events.append(self._event)
        if value is not None:
            t = self.kernel_taint(value, st)
            if not t.is_false():
                n = value.size() // 8
                for f in self.tracked_slots:
                    lo = self.pt_regs + self.frame.layout.pt_regs[f].value
                    hit = claripy.And(addr + n > lo, addr < lo + 8)
                    st.kstore[f] = claripy.Or(st.kstore.get(f, claripy.BoolV(False)), claripy.And(hit, t))
        # A pointer loaded from kernel memory reaches a frame of this syscall
        # only if that frame's address escaped (assumption abi-frames); one
        # built from a stack address or from a value the user may have
        # chosen may reach any stack byte.  (Taking every such store as
        # reaching any stack byte, return addresses included, was tried: the
        # Debian kernels stay proven, but every fixture whose followed code
        # stores through a pointer a summarised callee returned ends
        # inconclusive, its return address "changed".  A pointer the user
        # set in an earlier syscall and the kernel kept, stored through
        # without access_ok(), adv_r94_task_uptr_ret, is abi-frames's: an
        # arbitrary kernel write)
        if value is not None:
            # the stored value escapes wherever the store lands: public
            # memory a callee reads (adv_r123_unknown_store_okp, the shape
            # of list_add(&wait.entry, head)), as a bounded store's does
            self._note_escape(st, value)
        whole_stack = bool(_stack_constants(addr, self)) or self._user_chosen(addr)
        # (the live return addresses stay, as for a summarised callee: an
        # exposed range never holds one when it is exposed, but a later
        # call's return address may land in a range exposed before it)
        self._havoc_memory(st, f"store_{insn:x}", whole_stack=whole_stack,
                           ret_slots=() if whole_stack else self.ret_slots)
        self._event = None

    def _user_chosen(self, value) -> bool:
        """Whether the user may have chosen part of the value: an input is a
        register or flag the user had at the SYSCALL, a byte of the saved
        frame (pt_regs: what the user passed, or what the dispatch left
        there), what the dispatch returned or a user access read.  A store
        through such an address may reach any stack byte, a saved register
        of a live frame or a return address included (adv_r89_uptr_put_
        saved_rbx: `*(u64 *)regs->dx = regs->si` with no access_ok())."""
        for name in value.variables:
            base = name.split("#")[0]
            if base.startswith(("user_", "entry_", "read_")) or (base.startswith("ret_") and
                                                                 name in self.ex.dispatch_rets):
                return True
            if base.startswith("mem"):
                try:
                    a = int(base.partition("_")[2], 16)
                except ValueError:
                    return True
                if self.pt_regs <= a < self.pt_regs + self.frame.layout.pt_regs_size.value:
                    return True
        return False

    def _havoc_memory(self, st: MState, label: str, whole_stack=False, keep_user_state=False, ret_slots=(),
                      dispatch=False, flags_credit=True):
        """ret_slots: return-address slots a summarised callee leaves alone
        (assumption abi-frames: exposure stops at a return address; the
        callee's own `ret` pops the innermost one).
        dispatch: the syscall dispatch's havoc, whose event is not unsure
        ("exact by the havoc semantics": any syscall may leave anything in
        public memory and pt_regs).  Its havoc of the exposed ranges of this
        syscall's own frames is not exact: exposure over-approximates (every
        stack address in any register at the call escapes, the frame pointer
        in RBP included, and with it the whole frame, the caller's
        callee-saved registers spilled there).  A syscall writes none of
        them; 6.12's __do_fast_syscall_32 (`push %rbp; mov %rsp,%rbp; ...;
        push %rbx`, do_fast_syscall_32's RBX = regs) calls ia32_sys_call
        with RBP = its frame, and a wiped spill popped an RBX that made
        do_fast_syscall_32's checks read anything: compat-user-cs
        "violated" on a witness path.  So a model in which that havoc
        changed a byte there goes through an unsure event
        (_frame_havoc_event); one that keeps them all is a real execution."""
        keep = {}
        kept_slots = {s + i for s in ret_slots for i in range(8)}
        frames = self._exposed_frames(st) if dispatch and not whole_stack else []
        before = [(a, st.load_bytes(a, n)) for a, n in frames] \
            if sum(n for _a, n in frames) <= MAX_FRAME_HAVOC_BYTES else [(a, None) for a, _n in frames]
        for a, v in st.mem.items():
            if a in self.identity_bytes or a in kept_slots:
                keep[a] = v
            elif self.is_private(a) and not whole_stack and not any(lo <= a < hi for lo, hi in st.exposed):
                keep[a] = v
            elif keep_user_state and (self.pt_regs <= a < machine.STACK_TOP or self._is_ti(a)):
                keep[a] = v
        dropped_code = self._code_in_words(st, [a for a in st.mem if a not in keep])
        old_gen = st.gen
        st.gen = new_generation()
        if self._event is not None:
            self._event.marks.add(f"mem{st.gen[1]}_")
        if dropped_code:
            # a code address (or a value of a callee that makes them) the
            # path had stored where the havoc leaves anything: a word loaded
            # from the new memory may still be it, so a call through one is
            # refused (_computed_call; the entry code's own hook set before
            # the dispatch, adv_r176_icall_own_store_havoc)
            self.code_gens.add(f"mem{st.gen[1]}_")
        if keep_user_state:
            # pt_regs and thread_info keep their values: copy the background in
            for a in list(range(self.pt_regs, self.pt_regs + self.frame.layout.pt_regs_size.value)) + self._ti_bytes:
                if a not in keep:
                    keep[a] = background_byte(old_gen, a)
        old_mem, st.mem = st.mem, keep
        st.irq_epoch, st.settled = 0, {}  # (shared memory is all fresh: _concurrent_read)
        for name in CPU_IDENTITY_SLOTS:
            slot = self.frame.percpu_identity.get(name)
            if slot is not None:
                # a slot that holds a value of this CPU's (this_cpu_off: its
                # per-CPU base): the task may move to another CPU in the
                # callee (it may schedule), where the slot holds that CPU's
                # (a kernel that sets TF in the saved R11 when two reads
                # around the syscall differ was proven,
                # adv_r179_this_cpu_off_migrate).
                # A kernel address, made up around the model's as
                # _gs_base_read's is
                v = fresh(f"{name}_{label}").annotate(machine.KERNEL_ADDRESS)
                st.store_bytes(slot[0], self._unsure_value(
                    st, v, slot[1], self._site or 0, f"{name} after a call that may move the task to another CPU"))
        if before:
            self._frame_havoc_event(st, before)
        if not keep_user_state:
            # Every writer of pt_regs->cs forces RPL 3 (ptrace's putreg refuses
            # other values, sigreturn ORs in 3, entry pushes __USER_CS):
            # assumption saved-cs-rpl3.  A havoc keeps that invariant.
            a = self.pt_regs + self.frame.layout.pt_regs["cs"].value
            st.mem[a] = claripy.Concat(fresh(f"havoc_{label}_cs_hi", 6), claripy.BVV(3, 2))
            self._assume("saved-cs-rpl3", self._site or 0)
            if not label.startswith("store_"):
                # Every kernel writer of pt_regs->flags keeps its upper half
                # zero (RFLAGS has no bits there; ptrace's set_flags masks
                # with FLAG_MASK, sigreturn takes only FIX_EFLAGS bits, the
                # entries push RFLAGS or SYSCALL's R11): assumption
                # saved-flags-upper-zero, for a summarised callee's havoc
                # (an explored store through an unknown pointer is the
                # code's own, and gets no such credit)
                # The same for RFLAGS' reserved bits 3, 5, 15 and 22-31:
                # zero in the images the entries save, and ptrace's
                # FLAG_MASK and sigreturn's FIX_EFLAGS hold none of them
                # (R11 at a sysretl: decide.Query)
                a = self.pt_regs + self.frame.layout.pt_regs["flags"].value
                for i in range(4):
                    keep_bits = (RFLAGS_IMAGE >> (8 * i)) & 0xFF
                    byte = st.mem[a + i] if a + i in st.mem else background_byte(st.gen, a + i)
                    st.mem[a + i] = byte & keep_bits
                # ... and every writer keeps IF and IOPL as they were, or sets
                # IF with IOPL 0: ptrace's FLAG_MASK and sigreturn's FIX_EFLAGS
                # hold neither, exec's start_thread_common stores
                # X86_EFLAGS_IF | X86_EFLAGS_FIXED (6.1/6.12
                # arch/x86/kernel/ptrace.c set_flags, signal_64.c
                # restore_sigcontext, process_64.c; Linux 5.5+ never sets
                # IOPL: ioport.c): assumption saved-flags-if-iopl.  Either
                # outcome, chosen by the havoc's own IF bit (the fresh slot's,
                # so user data as the rest of the slot is: kernel_taint)
                # Not for a summarised callee whose own code may store through
                # a pointer the summary cannot name (read_any: flags_credit
                # false): that code may be the writer, and a counterexample
                # through it follows it.  (A summary that reaches the syscall
                # dispatch is not read past it, read_any stays false: the
                # credit holds for its code too; following those cost both
                # Debian kernels twice the time and 6.1 generic its proof:
                # known gap adv_r142_compat_iopl_from_user)
                if flags_credit:
                    i, bits = 1, (EFLAGS_IF | EFLAGS_IOPL) >> 8
                    old = old_mem[a + i] if a + i in old_mem else background_byte(old_gen, a + i)
                    new = st.mem[a + i]
                    st.mem[a + i] = (new & ~bits & 0xFF) | claripy.If(
                        new[1] == 1, claripy.BVV(EFLAGS_IF >> 8, 8), old & bits)
                    self._assume("saved-flags-if-iopl", self._site or 0)
                for i in range(4, 8):
                    st.mem[a + i] = claripy.BVV(0, 8)
                self._assume("saved-flags-upper-zero", self._site or 0)

    def _exposed_frames(self, st: MState) -> list:
        """(address, bytes <= 8) chunks of the exposed ranges in this
        syscall's private frames (_havoc_memory, dispatch)."""
        out = []
        for lo, hi in sorted(st.exposed):
            a = lo
            while a < hi:
                if not self.is_private(a):
                    a += 1
                    continue
                n = 1
                while n < 8 and a + n < hi and self.is_private(a + n):
                    n += 1
                out.append((a, n))
                a += n
        return out

    def _frame_havoc_event(self, st: MState, before: list) -> None:
        """The unsure event of the dispatch's havoc of exposed frame bytes
        (_havoc_memory): on a path through it, a model in which any of
        those bytes changed (up to MAX_FRAME_HAVOC_BYTES of them compared;
        beyond, any model through the dispatch)."""
        if any(v is None for _a, v in before):
            changed = claripy.BoolV(True)
        else:
            changed = claripy.Or(*[st.load_bytes(a, v.size() // 8) != v for a, v in before])
        where = ", ".join(f"{a:#x}" for a, _v in before[:1]) + (f"..{before[-1][0]:#x}" if len(before) > 1 else "")
        self.ex.events.append(Event("summary", claripy.And(st.guard, changed),
                                    f"the syscall dispatch at {self.program.symbolize(self._site)} writing this "
                                    f"syscall's own stack frames whose address is in a register ({where}): an "
                                    "over-approximation", site=self._site))

    @cached_property
    def _cpu_identity_bytes(self) -> frozenset:
        """The bytes of the per-CPU slots that hold this CPU's values
        (CPU_IDENTITY_SLOTS), not the task's."""
        ids = self.frame.percpu_identity
        return frozenset(ids[k][0] + i for k in CPU_IDENTITY_SLOTS if k in ids for i in range(8))

    @property
    def identity_bytes(self):
        s = getattr(self, "_idb", None)
        if s is None:
            s = self._idb = {a + i for a in self.identity for i in range(8)}
        return s

    @property
    def _ti_bytes(self):
        f = self.frame
        return [f.ti_flags + i for i in range(8)] + [f.ti_status + i for i in range(4)]

    def _is_ti(self, a):
        f = self.frame
        return f.ti_flags <= a < f.ti_flags + 8 or f.ti_status <= a < f.ti_status + 4

    # -- registers helpers ---------------------------------------------------------------
    @staticmethod
    def reg(st, r):
        return st.get_slot(REG[r])

    @staticmethod
    def set_reg(st, r, v):
        if st.kpend and r not in ("rsp", "rip"):
            v = machine.implicit_flow(v)  # (a write inside a branch region: _branch_regions)
        st.regs[REG[r]] = v

    def rsp(self, st) -> int:
        v = self.reg(st, "rsp")
        if v.symbolic:
            where = getattr(self, "_block_addr", None)
            raise Inconclusive((f"{self.program.symbolize(where)}: " if where is not None else "") +
                               "symbolic stack pointer (a stack access whose RSP the analysis does not fix)")
        return v.concrete_value

    def push(self, st, v):
        sp = self.rsp(st) - 8
        self.set_reg(st, "rsp", self.const(sp, 64))
        self.store(st, self.const(sp, 64), v, 0)

    def pop(self, st):
        sp = self.rsp(st)
        v = st.load_bytes(sp, 8)
        new = self.const(sp + 8, 64)
        self.rsp_moved(st, self.reg(st, "rsp"), new)
        self.set_reg(st, "rsp", new)
        return v

    def rsp_moved(self, st: MState, old, new, insn: int = 0) -> None:
        """RSP goes from old to new: the bytes it moves up past, on one
        stack, are below it from now on (MState.redzone).  And a move to a
        user-chosen RSP with IF possibly set is an interrupt window on the
        user's stack (_user_context: `sti; popq %rsp; cli` is one, whatever
        RSP is at the `sti` and after the block, adv_r109_irq_across_rsp_load)."""
        if _users_rsp(new) and not self._irqs_off(st):
            self._irq_check(st, insn or getattr(self, "_site", None) or 0, user=claripy.BoolV(True))
        if old.symbolic:
            return
        lo = old.concrete_value
        if ALLOCA_BASE <= lo < ALLOCA_BASE + 64 * ALLOCA_SPAN:
            base = ALLOCA_BASE + (lo - ALLOCA_BASE) // ALLOCA_SPAN * ALLOCA_SPAN
            if new.symbolic or not base <= new.concrete_value < base + ALLOCA_SPAN:
                # RSP leaves an alloca region (_settle_rsp's translation of
                # add_random_kstack_offset's frame): that frame lies just
                # below the RSP the alloca was taken from, so once RSP is
                # back there (or anywhere else) every byte of it is below
                # RSP, an interrupt's to overwrite; one read back through a
                # pointer kept into it is any value (_below_rsp; review 125,
                # adv_r125_alloca_stale_read)
                hit = [b for b in st.mem if base <= b < base + ALLOCA_SPAN]
                if hit:
                    st.redzone = st.redzone | frozenset(hit)
        if new.symbolic:
            # (a cmov of RSP: every value it may take, adv_r69_cmov_rsp_redzone;
            # one the analysis cannot list is refused where RSP is used)
            vals = self._values(st, new, by_guard=False)
            if vals is None:
                # more than 8 values with no constraint (RSP back to a user
                # value at the exit): listed under the path guard only where
                # it may narrow them (_guard_may_list); and where a value
                # above lo + 0x8000 is possible the largest value is out of
                # the span below, so nothing is marked, as when the values
                # cannot be listed: one query instead of listing up to nine
                # values under the guard
                if not self._guard_may_list(st, new, 8) or \
                        (lo + 0x8000 < 1 << 64 and self._may_exceed(st, new, lo + 0x8000)):
                    return
                vals = self._values(st, new)
            if not vals:
                return
            hi = max(vals)
        else:
            hi = new.concrete_value
        if not 0 < hi - lo <= 0x8000:
            return
        span = self._stack_below(hi)
        if span is None or not span[0] <= lo:
            return
        hit = [b for b in range(lo, hi) if b in st.mem]
        if hit:
            st.redzone = st.redzone | frozenset(hit)

    # -- the run -------------------------------------------------------------------
    def run(self, follow: frozenset, fixed: dict | None = None, witness: bool = False,
            split: frozenset = frozenset(), entry: int | None = None, entry_kind: str = "syscall") -> Exploration:
        """fixed: features with one value in every variant still to decide; a
        patch-site candidate that needs the other value is not explored.
        split: features whose every candidate the witness keeps (the
        variants' own features); other choices are made like branches.

        witness: explore ONE path instead of all of them, to confirm a
        violation that the full exploration could only show through a
        summary.  Every direct call whose code the summaries can read is
        followed (callees are run, not summarised); at each branch the
        feasible successor nearest to the function's exit (to SYSRET in the
        entry code) is taken and the others are dropped; retreating edges are
        never taken.  Dropping paths makes the exploration an
        under-approximation: it can confirm a violation (a model of a real
        path with no unsure event on it), never prove anything, and
        check_image only ever uses it for the former."""
        self.follow = follow
        self.fixed = fixed or {}
        self._values_memo = {}
        self.witness = witness
        self.witness_split = split
        self.ex = Exploration()
        self._data_read_events: set = set()  # (_image_data_read: one event per value in this exploration)
        self.cr3_writes_read = 0  # CR3 writes run so far (_function_once)
        self.ret_slots: list[int] = []
        self.callstack: list[int] = []
        # name prefixes of the values a summarised callee that makes code
        # addresses returned or stored (Summary.makes_code): a call through
        # one is to image code not read (_computed_call)
        self.code_marks: set = set()
        # ... and of the memory its havoc left (a call through a value loaded
        # from there is refused; a value from there handed to a callee is
        # not: every load of the path's memory after such a havoc would be)
        self.code_gens: set = set()
        st, self.user = self.initial_state(entry_kind)
        self._compat_run = entry is not None and entry != self.program.entry.syscall_entry
        if entry is None:
            entry = self.program.entry.syscall_entry
        self.entry = entry
        self._risky_irets: list[str] = []  # (_iret_frame)
        if entry_kind == "ignore":
            self._assume("ts-compat-clear-in-user-mode", entry)
        self._assume("user-mode-if-iopl", entry)
        complete = False
        try:
            outs = self.function(entry, st, None, 0)
            complete = True
        finally:
            if not witness:
                self.program.record_iret_user_flags(entry, self.fixed, self._risky_irets, complete)
        if outs:
            raise Inconclusive(f"{self.program.symbolize(entry)} returned with `ret`")
        return self.ex

    def _tick(self):
        self.ex.blocks += 1
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Inconclusive("timeout: the time budget ran out before every path was explored")
        if self.cpu_deadline is not None and time.thread_time() > self.cpu_deadline:
            raise Inconclusive("budget: the refinement's CPU time ran out before every path was explored")
        if self.memory_limit_mib and self.ex.blocks % 4 == 0 and _rss_mib() > self.memory_limit_mib:
            raise Inconclusive(f"memory budget ({self.memory_limit_mib} MiB) reached before every path was explored")

    def function(self, entry: int, st: MState, ret_addr, depth: int) -> list[MState]:
        """Run the function at `entry` on `st`; return the states at its returns
        (each has popped `ret_addr`)."""
        try:
            cfg = self.program.cfg(entry)
        except CfgError as e:
            raise Inconclusive(f"{self.program.symbolize(entry)}: {e}") from None
        if cfg.irreducible:
            # (the loop rule keeps the head's path condition: cfg._loops)
            u, h = min(cfg.irreducible)
            raise Inconclusive(f"{self.program.symbolize(entry)}: a loop entered other than at its head "
                               f"{self.program.symbolize(h[0])} (irreducible: the edge from "
                               f"{self.program.symbolize(u[0])})")
        ex = self.ex
        mark = (len(ex.hits), len(ex.events), len(ex.trail), {k: set(v) for k, v in ex.assumptions.items()})
        havoc_sets: dict = {h: set() for h in cfg.loop_heads}
        self.callstack.append(entry)
        try:
            for _round in range(MAX_LOOP_ROUNDS):
                del ex.hits[mark[0]:], ex.events[mark[1]:], ex.trail[mark[2]:]
                ex.assumptions = {k: set(v) for k, v in mark[3].items()}
                outs, grown = self._function_once(cfg, st, ret_addr, depth, havoc_sets)
                if not grown:
                    return outs
            raise Inconclusive(f"{self.program.symbolize(entry)}: loop invariant not found in "
                               f"{MAX_LOOP_ROUNDS} rounds")
        finally:
            self.callstack.pop()

    def _function_once(self, cfg, entry_state: MState, ret_addr, depth, havoc_sets):
        writes_before = self.cr3_writes_read
        pending: dict = {(cfg.entry, None): [entry_state.copy()]}
        heads: dict = {}
        latch_states: dict = {}
        returns: list[MState] = []
        for node in cfg.order:
            ins = pending.pop(node, None)
            if not ins:
                continue
            if node in cfg.loop_heads:
                groups = [ins]
            else:
                groups = _by_stack_pointer(ins)
            block = cfg.blocks[node]
            for group in groups:
                self._tick()
                # (every merge of paths a region of this function is open on
                # marks what differs, not only the one where it closes: the
                # outcomes may meet first at a join the post-dominator does
                # not see, adv_r64_dead_bypass)
                chosen = any(r[:2] == (depth, cfg.entry) for s in group for r in s.kpend)
                # (a path whose guard is the constant False is no execution:
                # left out, it cannot hide a marked If behind a folded
                # condition; one such path alone is kept as it was)
                group = [s for s in group if not s.guard.is_false()] or group[:1]
                st = merge(group, chosen=chosen) if len(group) > 1 else group[0]
                if st.kpend and len(groups) == 1:
                    # the branch regions this block post-dominates end here
                    # (_branch_regions), unless the outcomes arrive with
                    # different stack pointers (then they are run apart, and
                    # `if (secret) rsp -= 8` has chosen what later stack
                    # accesses read: adv_r61_rsp_region).  What differs
                    # between the outcomes is marked there as chosen by the
                    # branch (state.merge chosen=True), what one outcome
                    # left unwritten included (`xor %r12d,%r12d; jc 1f; mov
                    # R12(regs),%r12; 1:`, adv_r63_restore_under_secret)
                    st.kpend = frozenset(r for r in st.kpend if r != (depth, cfg.entry, node))
                if node in cfg.loop_heads:
                    st = self._widen(st, havoc_sets[node], node)
                    # a copy: _step_block runs on st in place (run_block,
                    # _special), and a body with no join or fork in it would
                    # hand its latch the head's own object, which
                    # _differences then finds unchanged (adv_r84_loop_head_alias:
                    # a loop that moved the syscall's result into RCX was
                    # checked with the first round's values only)
                    heads[node] = st.copy()
                self.ex.trail.append((node[0], st.guard, ""))
                succs = self._step_block(cfg, block, st, ret_addr, depth, returns)
                if self.witness and not (self.witness_keep_followed and cfg.entry in self.follow):
                    succs = self._witness_choice(cfg, block, list(succs), ret_addr is None)
                for succ_node, s2 in succs:
                    if (node, succ_node) in cfg.back_edges:
                        latch_states.setdefault(succ_node, []).append(s2)
                    else:
                        pending.setdefault(succ_node, []).append(s2)
        grown = False
        pti = self.feature(self.program.feature_pti) if self.program.has_pti else None
        for h, sts in latch_states.items():
            diff = set()
            for s in sts:
                diff |= _differences(heads[h], s, pti, self.cr3_writes_read != writes_before)
                if self._flags_privileged_changed(heads[h], s):
                    diff.add(("flags_priv",))
            new = diff - havoc_sets[h]
            if new:
                havoc_sets[h] |= new
                grown = True
        for r in returns:
            if r.kpend:
                # its branch regions end with the function (_branch_regions)
                r.kpend = frozenset(x for x in r.kpend if x[:2] != (depth, cfg.entry))
        return returns, grown

    def _witness_choice(self, cfg, block, succs: list, entry_code: bool) -> list:
        """The witness path's one successor: forward edges only, nearest to
        the exit first, the first whose path guard is satisfiable.  At a
        patch site chosen by boot-time features every candidate is kept
        (they merge again after the site): one witness serves every code
        variant, each decided under its own features."""
        node = block.node
        dist = cfg.distance_to(frozenset({"sysret", "sysretl"}) if entry_code else frozenset({"ret", "tail"}))
        fwd = [(n, s2) for n, s2 in succs if (node, n) not in cfg.back_edges and n in dist]
        if block.kind == "choice" and any(c[2][0] == "features" and any(f in self.witness_split for a in c[2][1]
                                                                          for f in a) for c in block.choices):
            return fwd
        if self.witness_via_dispatch:
            # the syscall is where the attacker's values come from: a path
            # that skips it (nr out of range, a seccomp/ptrace abort) is
            # nearer the exit but shows less; taken first where feasible
            via = cfg.reaching_calls(frozenset(self.program.dispatch))
            fwd.sort(key=lambda x: (x[0] not in via, dist[x[0]]))
        else:
            fwd.sort(key=lambda x: dist[x[0]])
        if block.kind == "choice":
            # the candidates of one patch site meet again after it, so their
            # distances differ only by their own lengths: the code as built
            # (the on-disk bytes, every feature off) goes first where it is
            # feasible (a seeded `sti` in the on-disk bytes of 6.12's
            # X86_BUG_DIV0 site was skipped for the shorter `div`).  Only
            # which path the witness shows: it confirms, never proves
            on_disk = {c[0] for c in block.choices if c[1] == "on-disk"}
            fwd.sort(key=lambda x: x[0] not in on_disk)
        for n, s2 in fwd:
            if len(fwd) == 1 or self._feasible(s2):
                return [(n, s2)]
        return []

    def _follows(self, target, name, depth) -> bool:
        if target is None or depth >= MAX_DEPTH or target in self.callstack:
            return False
        if target in self.follow:
            return True
        if not self.summaries.readable(target, name):
            return False
        # the witness runs every callee whose code a summary would read; a
        # callee whose stack use leaves its own frame (summary.StackWalk)
        # has no summary to stand for it, and is run instead
        return self.witness or self._must_run(self.summaries.writes_of(target, name))

    @staticmethod
    def _must_run(summary) -> str:
        """Why a readable callee cannot be summarised, only run: its stack
        use leaves its own frame (summary.StackWalk), or it writes CR3 in
        code read whole (a summary's CR3 is unknown, but whether the page
        tables are still the task's (cr3_bad) is known only by running it:
        adv_r15_pti_cr3_callee).  "" when it can."""
        if summary.frame_unsafe:
            return summary.frame_unsafe
        if summary.cr3_write_read:
            # (opaque or not: the write was read; adv_r16_pti_cr3_tracepoint)
            return "it writes CR3"
        if summary.syscall_msr:
            return "it may write a SYSCALL/SYSRET MSR (wrmsr)"
        if summary.cr0_write:
            return "it writes CR0 or CR4 (WP may be cleared and code changed; PCIDE changes CR3's meaning)"
        return ""

    @property
    def _flags_byte1(self) -> int:
        """The pt_regs->flags byte that holds IF (bit 9) and IOPL (12-13)."""
        return self.pt_regs + self.frame.layout.pt_regs["flags"].value + 1

    def _flags_privileged_changed(self, head: MState, latch: MState) -> bool:
        """Whether a loop body may leave pt_regs->flags' IF/IOPL bits other
        than the head's or IF with IOPL 0 (what the havocs under
        saved-flags-if-iopl leave): an explored store there, a summary's
        exact write (True also when the solver cannot tell)."""
        a = self._flags_byte1
        hv, lv = head.load_bytes(a, 1), latch.load_bytes(a, 1)
        if same(hv, lv):
            return False
        bits = (EFLAGS_IF | EFLAGS_IOPL) >> 8
        try:
            r = solver.check([_z3(claripy.And(latch.guard, lv & bits != hv & bits, lv & bits != EFLAGS_IF >> 8))],
                             timeout_ms=5000)
        except claripy.errors.ClaripyError:
            return True
        return not r.unsat

    def _widen(self, st: MState, locs: set, node) -> MState:
        if not locs:
            return st
        w = fresh_bool(f"iterated_{node[0]:x}")
        out = st.copy()
        event = Event("loop", claripy.And(st.guard, w), f"loop at {self.program.symbolize(node[0])}", site=node[0])
        event.marks |= {f"loop_{node[0]:x}_", f"loop_if_{node[0]:x}", f"loop_cr3_{node[0]:x}", f"loop_gs_{node[0]:x}",
                        f"loop_gsbad_{node[0]:x}", f"loop_irqbad_{node[0]:x}", f"loop_cr3bad_{node[0]:x}",
                        f"loop_kstore_{node[0]:x}"}
        self.ex.events.append(event)
        self._event = event
        for loc in locs:
            kind = loc[0]
            if kind == "reg":
                out.regs[loc[1]] = claripy.If(w, fresh(f"loop_{node[0]:x}_r{loc[1]}"), st.get_slot(loc[1]))
            elif kind == "mem":
                a = loc[1]
                v = fresh(f"loop_{node[0]:x}_m{a:x}", 8)
                if a == self._flags_byte1 and ("flags_priv",) not in locs:
                    # pt_regs->flags' IF and IOPL: no iteration leaves them
                    # other than as the head had them or IF with IOPL 0
                    # (_flags_privileged_changed, asked of every latch in
                    # every run up to the fixpoint, the last from this
                    # widened head: so it holds by induction), where only
                    # havocs under saved-flags-if-iopl wrote them
                    bits = (EFLAGS_IF | EFLAGS_IOPL) >> 8
                    v = (v & ~bits & 0xFF) | claripy.If(fresh_bool(f"loop_{node[0]:x}_exec"),
                                                        claripy.BVV(EFLAGS_IF >> 8, 8), st.load_bytes(a, 1) & bits)
                if a == self.pt_regs + self.frame.layout.pt_regs["cs"].value:
                    # pt_regs->cs keeps RPL 3 through any write (saved-cs-rpl3)
                    v = claripy.Concat(fresh(f"loop_{node[0]:x}_cs_hi", 6), claripy.BVV(3, 2))
                    self._assume("saved-cs-rpl3", node[0])
                out.mem[a] = claripy.If(w, v, st.load_bytes(a, 1))
            elif kind == "gen":
                g = new_generation()
                event.marks.add(f"mem{g[1]}_")
                out.gen = ("ite", w, g, st.gen)
            elif kind == "IF":
                out.IF = claripy.If(w, fresh(f"loop_if_{node[0]:x}", 1), st.IF)
            elif kind == "irq":
                # the body opens an interrupt window: after any iteration
                # every shared byte may have changed (adv_r84_loop_window_stash)
                out.irq_epoch, out.settled = st.irq_epoch + 1, {}
            elif kind == "exposed":
                out.exposed = out.exposed | loc[1]
            elif kind == "cr3":
                if out.cr3 is not st.cr3:
                    continue  # (widened once, from every ("cr3", ...) in locs)
                # Any value the body leaves must stay possible at the head:
                # a fresh CR3 (bit 63 clear), only under PTI where every
                # latch state keeps the head's CR3 with PTI off, and of the
                # shape Linux builds, or the head's own, where the body
                # changes CR3 only through code it does not read
                # (_cr3_change; per latch state, the weakest counts;
                # adv_r57_loop_cr3_swap: a CR3 write read in the body, PTI
                # off; the uniprocessor kernel's exit-work loop, whose
                # opaque callees change CR3 only under PTI)
                changes = [x for x in locs if x[0] == "cr3"]
                on = claripy.And(w, self.feature(self.program.feature_pti)) if all(x[1] for x in changes) else w
                name = f"loop_cr3_{node[0]:x}"
                if all(x[2] for x in changes):
                    out.cr3 = claripy.If(claripy.And(on, fresh_bool(f"{name}_changed")),
                                             _fresh_cr3(name, pti=self._pti_on()), st.cr3)
                else:
                    out.cr3 = claripy.If(on, _fresh_cr3(name, built_by_linux=False), st.cr3)
            elif kind == "gs_kernel":
                out.gs_kernel = claripy.If(w, fresh_bool(f"loop_gs_{node[0]:x}"), st.gs_kernel)
                out.regs[REG["gs"]] = self._gs_base(out)
            elif kind == "gs_bad":
                out.gs_bad = claripy.If(w, fresh_bool(f"loop_gsbad_{node[0]:x}"), st.gs_bad)
            elif kind == "cr3_bad":
                out.cr3_bad = claripy.If(w, fresh_bool(f"loop_cr3bad_{node[0]:x}"), st.cr3_bad)
            elif kind == "irq_bad":
                out.irq_bad = claripy.If(w, fresh_bool(f"loop_irqbad_{node[0]:x}"), st.irq_bad)
            elif kind == "tf":
                out.tf = claripy.If(w, fresh(f"loop_tf_{node[0]:x}", 1), st.tf)
            elif kind == "sysfl":
                out.sysfl = claripy.If(w, fresh(f"loop_sysfl_{node[0]:x}") & SYSFL_IRET, st.sysfl)
            elif kind == "kstore":
                out.kstore[loc[1]] = claripy.If(w, fresh_bool(f"loop_kstore_{node[0]:x}"),
                                                st.kstore.get(loc[1], claripy.BoolV(False)))
        self._event = None
        return out

    # -- one block ----------------------------------------------------------------------
    def _in_sysenter_step_region(self, addr: int) -> bool:
        """Where exc_debug_kernel ignores a single-step trap
        (is_sysenter_singlestep, 6.1/6.12 arch/x86/kernel/traps.c): on a
        64-bit kernel (CONFIG_IA32_EMULATION) [entry_SYSENTER_compat,
        __end_entry_SYSENTER_compat); the 32-bit kernel's
        __end_SYSENTER_singlestep_region was read here before, which a
        64-bit image does not have, so the region was empty and a user's TF
        was dropped after the first block (review 81)."""
        r = getattr(self, "_sysenter_region", None)
        if r is None:
            syms = self.program.symbols
            lo = syms.get("entry_SYSENTER_compat")
            hi = syms.get("__end_entry_SYSENTER_compat")
            if hi is None:
                hi = syms.get("__end_SYSENTER_singlestep_region")
            r = self._sysenter_region = (lo, hi) if lo is not None and hi is not None else (0, 0)
        return r[0] <= addr < r[1]

    @staticmethod
    def _is_special_insn(ins) -> bool:
        return ins.kind not in ("plain", "jcc", "jmp", "call", "tail")

    def _step_block(self, cfg, block, st: MState, ret_addr, depth, returns):
        """Yield (successor node, state)."""
        self._block_addr = block.addr  # (where a refusal happened, for its reason)
        # (this block's own instructions and %gs operands only, for every
        # kind of block: a patch site's candidates share their first
        # address, adv_r192_alt_gs_sticky)
        self._gs_operand_insn = None
        self._insns = {ins.addr: ins for ins in block.insns}  # (also ir_const: which constants are RIP values)
        # (implicit_input; set before any kind runs: _special's flag-undefined
        # instructions go through run_block too)
        self._entry_code = depth == 0
        k = block.kind
        if k == "choice":
            yield from self._choice(block, st)
            return
        if self.interruptible(st):
            # an interrupt may come before this block (_concurrent_read; st
            # is this block's to change, as run_block changes it)
            self._interrupt_window(st, f"irqwin_{block.addr:x}")
        if self.program.is_return_thunk(block.addr):
            # a return thunk's code entered by a jcc or call: boot may have put
            # any thunk there (adv_r16_jcc_return_thunk; a `jmp` to one is a
            # `ret`: _step_block's return case)
            st = st.copy()
            self._return_thunk_gs(st, block.addr)
        pads = self.program.thunk_pads_in(block.addr, _block_span(block))
        pad = pads[0] if pads else None
        skl = self.program._thunk_size
        for p in pads:
            # boot's thunk is one 10-byte instruction from the padding's
            # start: code that enters the padding elsewhere (a jump into it,
            # an instruction that runs into it) runs the thunk's bytes from
            # the middle, which this model does not read
            # (adv_r160_callthunk_pad_mid_jump: `and`/`add` of the thunk's
            # displacement into EAX, then R11 := EAX)
            first = next((i for i in block.insns if i.addr < p + skl and i.addr + i.size > p), None)
            if first is not None and (first.addr != p or not self.program.thunk_template_ok):
                raise Inconclusive(f"{self.program.symbolize(first.addr)}: enters padding call-depth tracking may "
                                   f"fill (at {self.program.symbolize(p)}) other than at its start")
        if pad is not None and any(i.addr >= pad and _reads_flags(i) for i in block.insns):
            # boot may write call-depth tracking's `sarq $5, %gs:...` over the
            # padding: its flags, not the code's before it, reach an
            # instruction after it (a compare before the padding, the jcc
            # after it: adv_r155_callthunk_pad_flags); no model of those
            raise Inconclusive(f"{self.program.symbolize(block.addr)}: runs through padding call-depth tracking "
                               f"may fill (at {self.program.symbolize(pad)}) into an instruction that reads the "
                               "flags it sets")
        if not st.gs_kernel.is_true() and (
                self.program.instrumentable(block.addr) or any(self.program.instrumentable(i.addr) for i in block.insns)
                or pad is not None):
            # code run-time instrumentation may enter (a kprobe's int3, an
            # ftrace site: outside .entry.text and .noinstr.text), run while
            # the GS base may be the user's, however it was reached (a call,
            # a jump to a .cold part, a return after a callee's SWAPGS):
            # the handler uses %gs (adv_r150_noinstr_cold_in_text,
            # _swapgs_helper_text; a call's target is asked in _call too).
            # Every instruction of the block is asked: one may run on past a
            # range's end (adv_r151_entry_text_runs_on).  So is padding
            # call-depth tracking fills with its `sarq $5, %gs:...` thunk
            # (adv_r151_callthunk_pad_fallthrough)
            st = st.copy()
            self.note_gs(st, block.addr)
        last = block.last
        if not (st.tf.concrete and st.tf.concrete_value == 0) and not self._in_sysenter_step_region(block.addr):
            # TF set by a popf/iret (set_rflags) traps after the instruction
            # that follows it (SDM Vol. 3 17.3.1.4); the kernel's #DB handler
            # (exc_debug_kernel, 6.1/6.12 arch/x86/kernel/traps.c) then
            # clears TF in the interrupted kernel's flags (`if
            # (WARN_ON_ONCE(dr6 & DR_STEP)) regs->flags &= ~X86_EFLAGS_TF`,
            # the WARN resumes) and returns.  So TF is seen by this block's
            # first instruction only: a pushf that is that instruction pushes
            # it (_special reads st.tf before clearing); every other
            # instruction ignores TF.  Inside the SYSENTER single-step region
            # (is_sysenter_singlestep) the handler drops DR_STEP instead and
            # TF stays until entry_SYSENTER_compat's popfq.
            self._tf_now = st.tf
            st = st.copy()
            st.tf = claripy.BVV(0, 1)
        else:
            self._tf_now = st.tf
        # Before any kind is modelled (a special instruction -- rdmsr,
        # wrmsr, xrstor, verw, mov %crN --, an iret, or a lifted block): an
        # instruction with an exception-table fixup may fault and continue
        # at its fixup with a register or the stack changed by the handler
        # (EX_TYPE_RDMSR_SAFE writes -EIO to a register, EX_TYPE_FPU_RESTORE
        # resets the FPU state, ...).  That path is not modelled, and the
        # path without the fault is only part of the behaviour: inconclusive,
        # whatever the kind (adv_r7_rdmsr_fixup: a special block used to
        # skip this check).  The one exemption: on the witness path a real
        # user memory access (a plain lifted instruction with a memory
        # operand, whose load()/store() confines its address to mappable
        # user memory: _witness_uaccess) of type EX_TYPE_UACCESS is run as
        # one that does not fault -- an under-approximation, all a witness
        # may be.  A special instruction's memory access goes through no
        # load()/store(), so it never has that exemption.
        for ins in block.insns:
            if self.program.has_fixup(ins.addr):
                if self.witness and k != "special" and k != "iret" and not self._is_special_insn(ins) and \
                        "[" in ins.op_str and ins.mnemonic not in ("lea", "nop") and \
                        self.program.uaccess_fixup(ins.addr):
                    continue
                raise Inconclusive(f"{self.program.symbolize(ins.addr)}: `{ins.mnemonic} {ins.op_str}` has an "
                                   "exception-table fixup, which is not modelled")
        if k == "special":
            yield from self._special(cfg, block, st)
            return
        if k in ("sysret", "sysretl"):
            # the path ends: what SYSRET consumes is decided per site by
            # decide.py (sysretl: the compat obligations)
            self.ex.hits.append(Hit(last.addr, st, "sysretq" if k == "sysret" else "sysretl"))
            return
        if k == "dead":
            # a ud2 that is no BUG/WARN and has no fixup: #UD kills the task
            # (Program.after_ud2 has the argument)
            self._assume("ud2-not-listed-dies", last.addr)
            return
        if k == "iret":
            yield from self._iret(block, st)
            return
        if k == "void":
            raise Inconclusive(f"control reaches {last.addr:#x}, outside executable code")
        if k == "far":
            if prefixed_system_insn(last.raw):
                raise Inconclusive(f"{self.program.symbolize(last.addr)}: `{last.raw.hex()}` is a prefixed system "
                                   f"instruction (FRED's ERETS/ERETU, LKGS, ...; capstone reads `{last.mnemonic}`): "
                                   "no model")
            if last.mnemonic in RTM_INSNS:
                raise Inconclusive(f"{self.program.symbolize(last.addr)}: `{last.mnemonic}`: a TSX transaction has "
                                   "no model (VEX lifts xbegin as an abort)")
            if last.mnemonic in ("ud0", "bswap"):
                raise Inconclusive(f"{self.program.symbolize(last.addr)}: `{last.mnemonic} {last.op_str}` has no model "
                                   "(UD0's length is the vendor's; a 16-bit BSWAP's result is undefined)")
            if last.mnemonic.split(" ")[-1] in NEXT_FROM_STATE:
                raise Inconclusive(f"{self.program.symbolize(last.addr)}: `{last.mnemonic}` goes on where machine "
                                   "state says (a VM exit to HOST_RIP, an authenticated code module, ...): no model")
            if operand_size_prefixed(last.raw):
                raise Inconclusive(f"{self.program.symbolize(last.addr)}: `{last.mnemonic}` with an operand-size "
                                   "prefix: Intel and AMD differ on its length and target (no model)")
            raise Inconclusive(f"{self.program.symbolize(last.addr)}: far control transfer `{last.mnemonic}` has no "
                               "model")
        if k == "ijmp":
            raise Inconclusive(f"{self.program.symbolize(last.addr)}: indirect jump")
        # VEX's optimiser (opt_level=1) drops a load whose value is unused
        # together with the read of the GS base that run_block notes, but
        # the CPU still makes the access (and may fault on the user's GS
        # base, CVE-2014-9322's class): every %gs operand of the lifted
        # instructions counts, read off the decoded instruction
        end = block.addr + len(block.code)
        for ins in block.insns:
            if ins.addr < end and "gs:" in ins.op_str:
                self.note_gs(st, ins.addr)
            if ins.addr < end and self.may_trap(ins) and not st.gs_kernel.is_true():
                # a divide error from the quotient's size, not only a zero
                # divisor (VEX's SigFPE exit sees only that): a trap
                # (adv_r113_div0_overflow_after_swapgs); so is an
                # instruction the CPU may not have, or a segment load
                # (may_trap: adv_r121_popcnt_after_swapgs)
                self._trap_on_gs(st, ins.addr)
        # ... and so would any other load it drops (`cmpq $0,(%rsp); testl
        # %eax,%eax`: the flags the load set are dead, adv_r111_dead_load_
        # after_swapgs): while the GS base may be the user's, the block is
        # lifted unoptimised, every access a load or store of its own
        # (_access_on_gs)
        irsb = self._lift(block, exact=not st.gs_kernel.is_true())
        try:
            succs = run_block(self, st, irsb)
        except Unsupported as e:
            raise Inconclusive(f"{self.program.symbolize(last.addr)}: {e}") from None
        self._branch_regions(cfg, block, st, succs, depth)
        for sc in succs:
            s2 = sc.state
            if pad is not None:
                # (the flags the thunk may leave, where nothing after the
                # padding in the block set them again: any)
                self._fresh_flags(s2, f"pad_{block.addr:x}")
            self._settle_rsp(s2, sc.insn)
            jk = sc.kind
            if jk == "Ijk_Call" and k == "lcall":
                yield self._succ_node(block, sc.target.concrete_value), s2
                continue
            if jk == "Ijk_Call" or (k == "tail" and sc is succs[-1]):
                tgt = None if sc.target.symbolic else sc.target.concrete_value
                self._computed_call(s2, sc.target, last.addr, depth)
                reg = self.program.thunk_register(tgt)
                if reg is not None:
                    # CALL_NOSPEC / JMP_NOSPEC: a call to the retpoline thunk
                    # of a register is an indirect call through it (boot may
                    # write `call *%reg` there): the callee is the
                    # register's value, followed as that of `call *%reg`
                    # would be (adv_r115_la57_retpoline_call_walk)
                    gs_counter, via_return_thunk, flags = self.program.thunk_effects(tgt)
                    # (a retpoline site call-depth tracking sends through
                    # __x86_indirect_call_thunk_<reg>: call_depth_site)
                    if jk == "Ijk_Call" and self.program.call_depth_site(last.addr):
                        gs_counter = flags = True  # (CALL_DEPTH_ACCOUNT's `sarq`: adv_r155_retpoline_track_flags)
                    if gs_counter and not s2.gs_kernel.is_true():
                        self.note_gs(s2, last.addr)  # (call-depth tracking's %gs counter)
                    if flags:
                        self._fresh_flags(s2, f"thunk_{last.addr:x}")
                    if via_return_thunk:
                        self._assume("return-thunk", last.addr)
                        self._return_thunk_gs(s2, last.addr)
                    v = self.reg(s2, reg)
                    tgt = None if v.symbolic else v.concrete_value
                    self._computed_call(s2, v, last.addr, depth)
                elif jk == "Ijk_Call" and self.program.call_depth_site(last.addr):
                    # a direct call boot may send through its call-depth
                    # accounting thunk (.call_sites under retbleed=stuff):
                    # `sarq $5, %gs:...` before the callee, a %gs access
                    # (adv_r147_callsite_thunk_after_swapgs) that leaves the
                    # callee its flags (adv_r155_callthunk_call_flags)
                    self._fresh_flags(s2, f"cdthunk_{last.addr:x}")
                    if not s2.gs_kernel.is_true():
                        self.note_gs(s2, last.addr)
                if k == "tail":
                    # a tail call returns for us: its `ret` pops our return address
                    for r in self.call(s2, tgt, ret_addr, depth, last.addr, tail=True):
                        returns.append(r)
                    continue
                ret_node = block.succs[0]
                for r in self.call(s2, tgt, ret_node[0], depth, last.addr):
                    yield ret_node, r
                continue
            if jk == "Ijk_Ret" or k == "ret":
                if k == "ret" and jk != "Ijk_Ret":
                    # jmp __x86_return_thunk: the thunk is a return (assumption return-thunk),
                    # whose code (whichever thunk boot chose) may touch the GS base
                    self._assume("return-thunk", last.addr)
                    self._return_thunk_gs(s2, last.addr)
                    tgt_v = self.pop(s2)
                else:
                    tgt_v = sc.target
                if ret_addr is None:
                    raise Inconclusive(f"{self.program.symbolize(last.addr)}: return from the entry code")
                if tgt_v.symbolic or tgt_v.concrete_value != ret_addr:
                    raise ReturnRefuted(f"{self.program.symbolize(last.addr)}: returns to an address other than "
                                        "its caller's")
                returns.append(s2)
                continue
            if jk.startswith("Ijk_Sig") and not self._feasible(s2):
                continue  # a fault VEX checks for (a zero divisor) that cannot happen here
            if jk not in ("Ijk_Boring",):
                raise Inconclusive(f"{self.program.symbolize(sc.insn)}: VEX jump kind {jk}")
            if sc.target.symbolic:
                raise Inconclusive(f"{self.program.symbolize(sc.insn)}: jump to a computed address")
            t = sc.target.concrete_value
            node = self._succ_node(block, t)
            yield node, s2

    def _computed_call(self, st: MState, target, site: int, depth: int = 0) -> None:
        """An indirect call is a call to an unknown function (the unknown
        callee's assumptions, abi-callee-saved) only where its target is a
        pointer from data: a value loaded from memory or a register, or a
        choice between such values (_from_data).  A target the code computed
        with a constant in it is image code this exploration does not
        follow: inconclusive (`lea 1f(%rip),%rax; lea 2f(%rip),%rdx; cmovnz
        %rdx,%rax; call *%rax` into a label that rewrites its own return
        slot, adv_r171_icall_cmov_entry_skip; a stub table's address
        indexed and xored with a constant, adv_r173_icall_stub_table_xor).
        (A concrete target is followed as a direct call is.)  Inside a
        followed callee (depth > 0) the refusal refutes what an earlier
        round's summary of it took for granted, that its indirect calls go
        to functions keeping the ABI (abi-callee-saved): ReturnRefuted, so
        the rounds take back what that summary proved
        (adv_r67_task_stack_saved_slot came out proven when this was a plain
        inconclusive: round 2's error left round 1's proof standing)."""
        err = ReturnRefuted if depth > 0 else Inconclusive
        if target.symbolic and any(n.startswith(("below_rsp_", "garbage_")) for n in target.variables):
            # a value read below RSP (_below_rsp): a dead stack slot, which
            # may hold a return address a callee's own calls pushed there
            # (an RSB fill's `call 772f` in a summarised helper,
            # adv_r179_icall_stale_slot; the path's own, clobbered at a
            # summarised call, adv_r179_icall_clobbered_own_push).  Compiled
            # code never calls through one
            raise err(f"{self.program.symbolize(site)}: an indirect call through a value read below RSP (not "
                      "followed)")
        if target.symbolic and any(n.startswith("vecirq_") for n in target.variables):
            # a vector register read after an interrupt window
            # (_interrupt_window): what the interrupt's softirq left there,
            # or what the path put there before it (a get-PC value a
            # summarised callee handed back in %xmm0, adv_r181_icall_retip_xmm,
            # with a `sti; cli` helper called between)
            raise err(f"{self.program.symbolize(site)}: an indirect call through a vector register an interrupt "
                      "may have changed (not followed)")
        if target.symbolic and any(n.startswith("ret_") for n in target.variables):
            # a value a summarised callee returned in a register: computed by
            # image code (its own return address read back, a label plus an
            # offset: adv_r180_icall_get_pc_func, _nested_retslot,
            # _retslot_via_copy), not a pointer from data, and the summary
            # does not say which
            raise err(f"{self.program.symbolize(site)}: an indirect call to a value a summarised callee returned "
                      "(not followed)")
        if target.symbolic and not _from_data(target):
            raise err(f"{self.program.symbolize(site)}: an indirect call to an address the code computes "
                      "with constants (not followed)")
        if self._code_marked(target, gens=True):
            # a value a summarised callee that makes code addresses returned
            # or stored (adv_r175_icall_ret_label)
            raise err(f"{self.program.symbolize(site)}: an indirect call to a value a summarised callee "
                      "that makes code addresses left (not followed)")

    def _code_marked(self, v, gens: bool = False) -> bool:
        """Whether the value carries a value of a summarised callee that
        makes code addresses (code_marks; gens: or memory its havoc left)."""
        marks = (self.code_marks | self.code_gens) if gens else self.code_marks
        return bool(marks) and v.symbolic and any(n.startswith(m) for n in v.variables for m in marks)

    def _code_in_words(self, st: MState, byte_addrs) -> bool:
        """Whether an 8-byte word of st's memory holding one of these bytes
        is a code address or a code-marked value (with code_gens)."""
        for a in sorted({b & ~7 for b in byte_addrs}):
            v = st.load_bytes(a, 8)
            if self._code_leaf(v) or self._code_marked(v, gens=True):
                return True
        return False

    def _code_in_memory(self, st: MState) -> bool:
        """Whether a word the path wrote holds a code address (Explorer.
        _code_leaf), other than a return address a
        followed call pushed (or this call: its own) and the dead stack below
        RSP."""
        rsp = self.reg(st, "rsp")
        if rsp.symbolic:
            return True
        sp = rsp.concrete_value
        skip = {*self.ret_slots, sp}
        words = sorted({b & ~7 for b in st.mem})
        for a in words:
            if a in skip or self.stack_lo <= a < sp:
                continue
            v = st.load_bytes(a, 8)
            if self._code_leaf(v):
                return True
        return False

    def _made_up(self, st: MState, name: str, bits: int, insn: int, what: str, typical: int | None = None):
        """A fresh value for machine state the kernel or the CPU fixes (an
        MSR, XCR0, a control register, a CPU number): not every value the
        model may pick is one a real run can have, so a model in which it
        is other than `typical` (a value some real machine has: CPU 0, XCR0
        = x87|SSE|AVX) is unsure, and one through an MSR of no known
        value always is (an unknown-read event: inconclusive, never
        "violated" on a made-up value, adv_r177_safe_rdmsr_gsbase_swapgs's
        first form)."""
        return self._unsure_value(st, fresh(name, bits), typical, insn, what)

    def _unsure_value(self, st: MState, v, typical, insn: int, what: str):
        """v, with a value-only unsure event: a model in which v differs
        from `typical` (an int or a term; None: any model) is no
        counterexample (_made_up)."""
        guard = st.guard if typical is None else v != typical
        event = Event("unknown-read", guard, f"{what} read at {self.program.symbolize(insn)}: a value the "
                      "analysis makes up", site=insn)
        event.marks.update(v.variables)
        event.value_only = True
        self.ex.events.append(event)
        return v

    def _gs_base_read(self, st: MState, kernel, insn: int):
        """A GS base as `rdgsbase` or `rdmsr` of MSR_GS_BASE /
        MSR_KERNEL_GS_BASE reads it (kernel: whether it is the kernel's).
        The model's values (_gs_base: PERCPU_BASE, the user's base at
        entry) are one CPU's, at one time: the task may move to another CPU
        at any call the analysis does not follow (another per-CPU base), and
        the syscall may set the user's (arch_prctl(ARCH_SET_GS) writes
        MSR_KERNEL_GS_BASE), so two reads around such a call may differ
        (review 178: a kernel that sets TF in the saved R11 when they do was
        proven, adv_r178_gsbase_migrate, adv_r178_rdgsbase_migrate,
        adv_r178_kgsbase_across_syscall).  So each read is a fresh value, the
        kernel's a kernel address (no-kernel-data), and a model in which
        it is not the model's value is unsure, as a made-up MSR is
        (adv_r177_safe_rdmsr_gsbase_swapgs: no counterexample on a value
        the machine may never hold)."""
        model = self._gs_base(st, kernel)
        ours = fresh("gs_base_kernel").annotate(machine.KERNEL_ADDRESS)
        theirs = fresh("gs_base_user")
        v = ours if kernel.is_true() else theirs if kernel.is_false() else claripy.If(kernel, ours, theirs)
        return self._unsure_value(st, v, model, insn, "a GS base (another CPU's after a migration, or one the "
                                  "syscall set)")

    def _code_leaf(self, v) -> bool:
        """Whether the value is, or is built with, an address in the image's
        executable sections.  (Not Program.may_be_code's wider test, as the
        summaries use on the code they read: a register here holds many a
        mask and offset past every section, -0x40000000 on Debian's generic
        6.1; a code address handed over biased, adv_r173_icall_thunk_biased_arg,
        is abi-callee-saved's.)"""
        if not v.symbolic:
            return self.program.is_code_address(v.concrete_value)
        return any(leaf.op == "BVV" and leaf.size() == 64 and self.program.is_code_address(leaf.args[0])
                   for leaf in v.leaf_asts())

    def _branch_regions(self, cfg, block, st: MState, succs, depth: int):
        """Implicit flows (no-kernel-data), in the entry code (call depth 0):
        a conditional exit of the block whose condition has kernel inputs
        (implicit_input) opens a region on every successor path, (depth,
        function, the block's immediate post-dominator), closed where the
        path reaches that block with every outcome's stack pointer alike
        (_function_once: what differs between the outcomes there is marked,
        state.merge chosen=True) or where the function returns.  While one
        is open, run_block marks every register write but RSP/RIP and every
        store with machine.ImplicitFlow (set_reg too; a summarised call
        marks every pt_regs slot, apply_summary), and decide.py accepts a
        register at SYSRET whose value may carry it only as its own clean
        pt_regs slot.  Soundness: a write control-dependent on the branch
        (one only some of its outcomes execute) lies between the branch and
        its immediate post-dominator, on the paths that execute it (standard
        control dependence), so it is marked there; a value one outcome
        leaves unwritten differs where the outcomes rejoin, and is marked
        there; writes after the post-dominator run on every outcome alike.
        Calls inside the region run with it open.  Not followed: regions in
        called functions (depth 1 and below: tried, it marks every register
        of the Debian kernels' exits; their stores into pt_regs have
        note_ptregs_store's rule), and a value only the number of loop
        iterations decides (the loop head's widening havocs what the body
        writes)."""
        conds = [sc.cond for sc in succs if sc.cond is not None]
        if not conds or depth > 0 or not any(self.implicit_input(c, st) for c in conds):
            return
        end = cfg.ipdom(block.node)
        if end is None and not all(s in cfg.reaching(frozenset({"sysret", "sysretl"}))
                                   for s in cfg.blocks[block.node].succs):
            # The outcomes never rejoin here and one of them cannot reach a
            # SYSRET: the exit's choice between SYSRET and IRET (6.1's
            # compat `testl %eax,%eax; jz swapgs_restore_regs_...` on
            # do_fast_syscall_32's result, 6.12's `testb %al,%al`).  The
            # compat SYSRET path zeroes R8-R10 where the IRET restores them,
            # so a task can tell which exit it took: Linux does not count
            # the choice of exit as kernel data, nor does this rule
            # (adv_r61_iret_choice, a known gap of that kind).  Where every
            # outcome may reach a SYSRET (`jc 1f; xor %r12d,%r12d; sysretq;
            # 1: sysretq`, adv_implicit_two_sites) the region lasts until
            # the path ends.
            return
        region = (depth, cfg.entry, end)
        for sc in succs:
            sc.state.kpend = sc.state.kpend | {region}

    def implicit_input(self, term, st: MState) -> bool:
        """Whether, in the entry code (call depth 0, _branch_regions), a
        branch condition, a cmov's or cmpxchg's condition (run_block) or an
        address a load goes through (load) has kernel data among its
        inputs (kernel_inputs: a variable kernel_taint takes as kernel data,
        a pt_regs slot as far as its kstore mark goes, not the static keys,
        the alternatives or a havoc's cs bits: _BRANCH_NOT_KERNEL; a
        kernel-address constant, machine.KernelAddress: KASLR's layout,
        adv_r61_kaddr_user_cmp; or a value already marked with
        machine.ImplicitFlow).  By the inputs alone, not the solver's "can
        it change": a mark made for nothing costs at most a proof (a marked
        register is still accepted as its own saved pt_regs slot,
        decide.py); the solver's question cost 0.4-0.6 s on the Debian
        kernels' PTI flush-mask branches."""
        if not self._entry_code:
            return False
        return self.kernel_inputs(term, st)

    def kernel_inputs(self, term, st: MState, marks: bool = True, own_slots=frozenset()) -> bool:
        """implicit_input's test, anywhere: a kernel-data variable (a pt_regs
        slot counts as its kstore mark may, unless marks is false or it is
        own_slot: the entry's RSP parked in orig_ax, adv_r62_origax_branch,
        adv_r63_origax_shift_mask), a kernel-address constant, or the
        ImplicitFlow mark."""
        if machine.has_implicit_flow(term) or machine.from_kernel_address(term):
            return True
        if not term.symbolic:
            return False
        memo = self.__dict__.setdefault("_input_memo", {})
        key = term.hash()
        h = memo.get(key)
        if h is None:
            h = memo[key] = any(leaf.op in ("BVS", "BoolS") and not self.kernel_taint(
                leaf, st, constants=False, marks=False, skip=self._BRANCH_NOT_KERNEL).is_false()
                for leaf in term.leaf_asts())
        if not h and marks and st.kstore:
            # (not memoised: the marks are the path's)
            h = any(leaf.op == "BVS" and not self._own_slot_byte(leaf, own_slots) and not self.kernel_taint(
                leaf, st, constants=False, skip=self._BRANCH_NOT_KERNEL).is_false() for leaf in term.leaf_asts())
        return h

    def _own_slot_byte(self, leaf, slots) -> bool:
        """Whether a variable is a byte of one of the pt_regs slots `slots`
        (mem<gen>_<addr>)."""
        if not slots or not leaf.args[0].startswith("mem"):
            return False
        try:
            return self.slot_at(int(leaf.args[0].split("#")[0].partition("_")[2], 16)) in slots
        except ValueError:
            return False

    _entry_code = False  # (_step_block: the block is the entry code's own, call depth 0)

    def user_vs_kernel_address(self, cond, st: MState) -> bool:
        """(run_block) In the entry code, a symbolic condition whose every
        variable is user data, computed with a kernel-address constant: the
        user's part cannot fix which way the address's bits go."""
        if not self._entry_code:
            return False
        return not any(leaf.op in ("BVS", "BoolS") and not self.kernel_taint(
            leaf, st, constants=False, skip=self._BRANCH_NOT_KERNEL).is_false() for leaf in cond.leaf_asts())

    def note_implicit_write(self, offset: int, insn: int):
        """(run_block) a register write inside a branch region, for the
        report: the last one per register."""
        name = _REG_NAMES.get(offset)
        if name:
            self.__dict__.setdefault("implicit_writes", {})[name] = insn

    def _succ_node(self, block, t):
        for s in block.succs:
            if s[0] == t:
                return s
        raise Inconclusive(f"{self.program.symbolize(block.last.addr)}: jump to {t:#x} outside the static CFG")

    def _lift(self, block, exact: bool = False):
        import pyvex
        key = (block.node, block.code, exact)
        c = self.program._cfgs.get(("irsb",) + key)
        if c is None:
            # VEX's optimiser folds constants across a block's instructions:
            # `lea _text(%rip),%rax; sub $0xffffffff81000000,%rax` becomes
            # the constant 0 before any IR constant is read (const), so a
            # block that makes a kernel address (a RIP-relative lea, an
            # immediate in the kernel's space) is lifted unoptimised and the
            # address reaches the state as a constant of its own
            # (adv_r58_kaslr_offset_fold, adv_r58_lea32_slot)
            opt = 0 if exact or any(_makes_kernel_address(ins) for ins in block.insns) else 1
            c = pyvex.lift(block.code, block.node[0], ARCH, max_bytes=len(block.code), opt_level=opt,
                           strict_block_end=True)
            if c.jumpkind == "Ijk_NoDecode" or c.size != len(block.code):
                raise Inconclusive(f"{self.program.symbolize(block.node[0])}: VEX cannot lift this block")
            # ... and VEX's instructions must be capstone's, one for one: the
            # same total can hide a disagreement (`67 a2 imm32` read with an
            # 8-byte moffs swallowing the next instruction,
            # adv_r121_addr32_moffs_swallow; `f3 0f 1e` with a ModRM VEX
            # lifts one byte short, adv_r121_f30f1e_nop_length)
            marks = [(st.addr, st.len) for st in c.statements if st.tag == "Ist_IMark"]
            insns = [(ins.addr, ins.size) for ins in block.insns if ins.addr < block.node[0] + len(block.code)]
            if marks != insns:
                at = next((a for (a, n), m in zip(insns, marks) if (a, n) != m), block.node[0])
                raise Inconclusive(f"{self.program.symbolize(at)}: VEX and capstone disagree on the instructions "
                                   "here (their lengths)")
            self.program._cfgs[("irsb",) + key] = c
        return c

    def _settle_rsp(self, st: MState, insn: int):
        """RSP computed from data (add_random_kstack_offset's alloca).  If the
        solver shows it moved down by at most MAX_ALLOCA bytes, the frame
        below is translated to an alloca region of its own (assumption
        kstack-offset-translation: code below the new RSP behaves the same for
        every such offset, as it never reads or compares RSP's numeric value;
        accesses above the new RSP through it are refused).  Otherwise the
        path is inconclusive: a stack pointer is never concretised to one of
        its values."""
        v = self.reg(st, "rsp")
        if not v.symbolic:
            return
        # An RSP with no stack address in it (the user's RSP restored
        # before SYSRET) is one value only if the path guard pins it; that
        # query (the guard is large) timed out at its 200 ms on 6.12's
        # exit, so it is not asked: left symbolic, RSP stays exact (the
        # term under the guard), and what goes through it is what a
        # symbolic address gets (a push, an unknown store)
        vals = self._values(st, v, limit=1, by_guard=self.last_rsp_candidates(v) is not None)
        if vals is not None and len(vals) <= 1:
            if vals:
                self.set_reg(st, "rsp", self.const(vals[0], 64))
                self._below_pinned_rsp(st, vals[0])
            return
        k = self._espfix_alias(st, v)
        if k is not None:
            # native_irq_return_ldt (6.1/6.12 arch/x86/entry/entry_64.S):
            # `movq %rax,%rsp` with RAX = espfix_stack | (user RSP &
            # 0xffff0000), then `popq %rax; jmp native_irq_return_iret`: the
            # frame it pops is the one it wrote at espfix_waddr.  Every such
            # address is a read-only alias of espfix_waddr's page (assumption
            # espfix-alias), so RSP is that page's address: exact, not one
            # value picked out of many
            self.set_reg(st, "rsp", machine.kernel_address(machine.ESPFIX_WADDR + k))
            self._assume("espfix-alias", insn)
            return
        old = self.last_rsp_candidates(v)
        if old is None:
            # not derived from a stack address (the user's RSP restored before
            # SYSRET): left symbolic; any push through it is an unknown store
            return
        s = claripy.Solver(timeout=20000)
        s.add(st.guard)
        s.add(claripy.Or(claripy.UGT(v, claripy.BVV(old, 64)), claripy.ULT(v, claripy.BVV(old - MAX_ALLOCA, 64))))
        if s.satisfiable():
            raise Inconclusive(f"{self.program.symbolize(insn)}: stack pointer moved by an unbounded or upward "
                               "amount")
        self._allocas += 1
        base = ALLOCA_BASE + self._allocas * ALLOCA_SPAN + ALLOCA_SPAN // 2
        self.set_reg(st, "rsp", self.const(base, 64))
        self._assume("kstack-offset-translation", insn)

    def _below_pinned_rsp(self, st: MState, p: int) -> None:
        """RSP was a term with many values and the path guard pins it to p
        (`add %r12,%rsp` where a later check fixes r12): rsp_moved, when
        the term was made, could not say how far RSP moved (one of its
        values far off, or too many to list), so the bytes it moved up past
        were not marked.  Every byte the path holds below p on p's stack
        (within rsp_moved's 0x8000) is marked now: below RSP they are an
        interrupt's or a callee's to overwrite whatever RSP was before, and
        a byte below RSP that the code reads back is read as any value
        (_below_rsp).  Review 125: adv_r125_far_near_rsp (an interrupt
        window at pt_regs+0x38 with the checked RCX parked below it),
        adv_r125_guard_far_rsp."""
        lo, _p = self._stack_below(p)
        lo = max(lo, p - 0x8000)
        hit = [b for b in st.mem if lo <= b < p]
        if hit:
            st.redzone = st.redzone | frozenset(hit)

    def _espfix_alias(self, st: MState, v) -> int | None:
        """The offset k when v is, on every path (under the guard), k bytes
        into one of the ESPFIX stack's read-only aliases, espfix_stack |
        (X & 0xffff0000) + k, k within the 64-byte stack (ESPFIX_STACK_SIZE,
        arch/x86/include/asm/espfix.h): only in a kernel with ESPFIX (the
        per-CPU espfix_stack exists and holds our alias base).  None else."""
        if self.frame.layout.espfix_stack is None:
            return None
        memo = self.__dict__.setdefault("_espfix_memo", {})
        key = (v.hash(), st.guard.hash())
        if key in memo:
            return memo[key]
        memo[key] = None
        low = self._values(st, v & 0xFFFF, limit=1)
        if not low or len(low) != 1 or low[0] >= 0x40:
            return None
        s = claripy.Solver(timeout=20000)
        s.add(st.guard)
        s.add(v & machine.ESPFIX_ALIAS_MASK != machine.ESPFIX_STACK + low[0])
        try:
            if s.satisfiable():
                return None
        except claripy.errors.ClaripyError:
            return None  # (no answer: not translated, so inconclusive later)
        memo[key] = low[0]
        return low[0]

    @staticmethod
    def last_rsp_candidates(v):
        """The concrete stack pointer an alloca subtracts from: the one stack
        constant in the term (rsp - x)."""
        consts = [leaf.concrete_value for leaf in v.leaf_asts() if not leaf.symbolic
                  and machine.STACK_LIMIT <= leaf.concrete_value <= machine.STACK_TOP]
        return consts[0] if len(consts) == 1 else None

    def _assume(self, aid: str, where: int):
        self.ex.assumptions.setdefault(aid, set()).add(self.program.symbolize(where))

    # -- patch-site choices ---------------------------------------------------------------
    def _choice(self, block, st: MState):
        conds = []
        for node, label, cond in block.choices:
            conds.append(self._cond_term(cond, node))
        if block.choices and block.choices[0][2][0] == "key":
            # a static key: a fresh choice among all the site's candidates at
            # every visit (keys flip at run time; one address may hold more
            # than two: adv_r81_two_keys_one_site)
            conds = _exclusive_choices(f"key_{block.addr:x}", len(conds))
        elif _overlapping([cond for _n, _l, cond in block.choices if cond_allows(cond, self.fixed)]):
            # candidates whose feature conditions can hold together (two
            # readings of a nested ALTERNATIVE's padding give different bytes
            # under one assignment, adv_r190_nested_pad_overlap): the paths
            # are merged again after the site, and a merge takes its paths'
            # guards for disjoint (state.merge: If(guard_a, a, b)), so each
            # also gets a fresh exclusive choice; every candidate whose
            # condition holds stays possible
            conds = [claripy.And(c, x) for c, x in zip(conds, _exclusive_choices(f"alt_{block.addr:x}",
                                                                                  len(conds)))]
        for (node, label, cond), c in zip(block.choices, conds):
            if not cond_allows(cond, self.fixed):
                continue
            s2 = st.copy()
            s2.guard = claripy.And(st.guard, c)
            self.ex.trail.append((block.addr, s2.guard, label))
            yield node, s2

    def _cond_term(self, cond, node):
        if cond[0] != "features":
            return claripy.BoolV(True)
        ors = []
        for assign in cond[1]:
            ands = [self.feature(f) if v else claripy.Not(self.feature(f)) for f, v in assign.items()]
            ors.append(claripy.And(*ands) if ands else claripy.BoolV(True))
        return claripy.Or(*ors) if ors else claripy.BoolV(False)

    def feature(self, f):
        t = self.ex.features.get(f)
        if t is None:
            t = claripy.BoolS(f"feature_{f}", explicit_name=True) if f is not None else claripy.BoolS(
                "feature_unknown", explicit_name=True)
            self.ex.features[f] = t
        return t

    def _owe_cleared_flushes(self, st: MState, a: int, before: list, summarised: bool = False) -> None:
        """A store into user_pcid_flush_mask: every bit it cleared is a flush
        now owed (machine.PCID_FLUSH_OWED), until a CR3 write flushes that
        ASID: clearing the bit (SWITCH_TO_USER_CR3's `btr`) is the promise
        to flush, not the flush (adv_r18_pti_btr_noflush)."""
        mask = self.frame.pcid_flush_mask
        for i, old in enumerate(before):
            b = a + i
            if mask <= b < mask + machine.PCID_FLUSH_MASK_BYTES:
                owed = machine.PCID_FLUSH_OWED + (b - mask)
                cleared = old if summarised else old & ~st.load_bytes(b, 1)
                st.store_bytes(owed, st.load_bytes(owed, 1) | cleared)

    def _dropped_user_flush(self, st: MState, new, pgtable_bit: int, pcid_bit: int):
        """A CR3 write that selects the user page tables (PTI_USER_PGTABLE
        bit) with NOFLUSH (bit 63) set while the per-CPU flush bit of its
        ASID is set: the TLB keeps the user ASID's stale entries (6.1/6.12
        calling.h SWITCH_TO_USER_CR3: `bt %asid, user_pcid_flush_mask;
        jnc .Lnoflush; btr ...` sets NOFLUSH only where the bit was clear;
        invalidate_user_asid sets it, tlbflush.h).  The bit is read as `bt`
        reads it, bit ASID (CR3 & 0x7ff) of the mask, from the memory of
        this moment (a path that tested it clear carries that in its guard),
        or owed (machine.PCID_FLUSH_OWED: cleared on this path, by a `btr`
        before a NOFLUSH write, and not paid by a flushing write since).
        Where the image does not place PTI's mask (no cpu_tlbstate symbol)
        whether a flush is pending cannot be read: every NOFLUSH write to
        the user tables may drop one, through an unsure event, so a
        violation that needs it is not confirmed (the rule was once
        silently off then: adv_r77_pti_noflush_unnamed_mask)."""
        mask = self.frame.pcid_flush_mask
        if mask is None:
            may_drop = claripy.And(new[63] == 1, new[pgtable_bit] == 1)
            if may_drop.is_false():
                return None
            self.ex.events.append(Event("unknown-read", claripy.And(st.guard, may_drop),
                                        "a NOFLUSH CR3 write to the user page tables, with no user_pcid_flush_mask "
                                        "placed in the image (no cpu_tlbstate symbol)", site=self._cr3_insn))
            return may_drop
        # Only the mask's own 16 bits are read: an ASID (CR3 & 0x7ff) of 16
        # or more counts as pending, which is exact enough because user
        # mode's PCID is never that large (obligations.user_cr3: with PCID,
        # kern_pcid(asid) = asid + 1 <= TLB_NR_DYN_ASIDS = 6), and a write
        # with another ASID than the SYSCALL's is cr3_bad already.  (A
        # 2048-bit window as `bt` reads it cost ~0.6 s of solver time.)
        bits = 8 * machine.PCID_FLUSH_MASK_BYTES
        window = st.load_bytes(mask, machine.PCID_FLUSH_MASK_BYTES)
        owed = st.load_bytes(machine.PCID_FLUSH_OWED, machine.PCID_FLUSH_MASK_BYTES)
        low = (new & 0x7FF)
        small = claripy.ULT(low, bits)
        index = claripy.Extract(bits - 1, 0, low)  # (the ASID itself when small)
        pending = claripy.Or(claripy.Not(small), claripy.Extract(0, 0, claripy.LShR(window | owed, index)) == 1)
        to_user = new[pgtable_bit] == 1
        # a write without NOFLUSH to the user tables and the user PCID (bit
        # 11: PTI_USER_PCID_BIT) flushes that user ASID: what was owed for
        # it is paid.  One to the kernel PCID flushes the kernel ASID only
        # (adv_r19_pti_kpcid_flush)
        user_pcid = new[pcid_bit] == 1
        paid = claripy.If(claripy.And(to_user, user_pcid, new[63] == 0, small),
                          owed & ~(claripy.BVV(1, bits) << index), owed)
        st.store_bytes(machine.PCID_FLUSH_OWED, paid)
        # what clears the mask outside the code read here is named
        # (pcid-flush-mask-writers): recorded where a NOFLUSH switch relies on it
        self._assume("pcid-flush-mask-writers", self._cr3_insn)
        return claripy.And(new[63] == 1, to_user, pending)

    def _writes_syscall_msr(self, st: MState) -> str:
        """The SYSCALL/SYSRET MSRs (machine.SYSCALL_MSRS) a wrmsr here may
        write: ECX is one of them, or not known to be another MSR ("" when
        none)."""
        ecx = self.reg(st, "rcx")[31:0]
        vals = self._values(st, ecx.zero_extend(32), limit=16)
        if vals is None:
            return "ECX is not known"
        return ", ".join(machine.SYSCALL_MSRS[v] for v in vals if v in machine.SYSCALL_MSRS)

    # -- modelled instructions ----------------------------------------------------------------
    def _special(self, cfg, block, st: MState):
        ins = block.last
        m = ins.mnemonic
        nxt = block.succs[0]
        where = self.program.symbolize(ins.addr)
        ops = [o.strip() for o in ins.op_str.split(",")] if ins.op_str else []
        rcs = self.program.runtime_consts_in(ins.addr, ins.size)
        if rcs:
            self._runtime_const(st, ins, ops, rcs, where)
            yield nxt, st
            return
        if any(o.startswith("gs:") or " gs:" in o for o in ops):
            # a %gs-relative operand of an instruction VEX does not lift
            # (verw, lsl, xsave, ...) reads through the GS base like any
            # other (user-gs; adv_r8_verw_gs)
            self.note_gs(st, ins.addr)
        if not st.gs_kernel.is_true():
            self._special_faults_on_gs(st, ins, m, ops)
        if ignored_rex(ins.raw):
            # (cfg.decode: VEX would apply the REX the CPU ignores, changing
            # the operand size and registers; no compiler emits one.  Before
            # the flag-undefined instructions' VEX lift: `48 3e c1 e8 2f` is
            # `shrl $15` on the CPU, `shrq $47` in VEX,
            # adv_r172_rexignored_shr)
            raise Inconclusive(f"{where}: `{ins.raw.hex()}` ({m} {ins.op_str}) has a REX prefix the CPU ignores "
                               "(not right before the opcode): no model")
        if m.split(" ")[-1] in FLAG_UNDEFINED_INSNS:
            yield from self._cpu_flags(block, st, ins, m.split(" ")[-1], ops)
            return
        if m == "swapgs":
            st.gs_kernel = claripy.Not(st.gs_kernel)
            st.regs[REG["gs"]] = self._gs_base(st)
            self._irq_check(st, ins.addr)
            if self.program.instrumentable(ins.addr):
                # the rest of this block runs on the GS base it installed
                # (`swapgs; ret` in a .text helper: a kprobe on the `ret`,
                # adv_r150_swapgs_helper_text); the next blocks are asked
                # in _step_block
                self.note_gs(st, ins.addr)
        elif m == "cli":
            st.IF = claripy.BVV(0, 1)
        elif m == "sti":
            st.IF = claripy.BVV(1, 1)
            self._irq_check(st, ins.addr, tables=True)
        elif m in ("pushf", "popf") or (m in ("pushfq", "popfq") and operand_size_prefixed(ins.raw)):
            # a 0x66 prefix makes PUSHF/POPF move 2 bytes (SDM Vol. 2B POPF;
            # REX.W would override it, capstone reads that as `popf` too):
            # no model of a 16-bit RFLAGS image (adv_r41_popfw, _pushfw)
            raise Inconclusive(f"{where}: `{ins.raw.hex()}` ({m}) is a 16-bit PUSHF/POPF: no model")
        elif m == "pushfq":
            # this pushf is the first instruction after a TF-setting popf/iret
            # when _step_block's _tf_now has TF (the only instruction that
            # sees it): TF goes into the image.  AF is some value: and/or/
            # xor/test (lifted in blocks) leave it undefined, and only pushf
            # and lahf read it (_cpu_flags)
            # (PUSHF stores RF and VM, bits 16 and 17, cleared: SDM Vol. 2B
            # PUSHF)
            # a compat entry's pushfq building pt_regs->flags: its status
            # flags are the last arithmetic's, SWITCH_TO_KERNEL_CR3's on CR3
            # in entry_SYSENTER_compat (the PCID's parity in PF; AF
            # undefined), which every SYSENTER return hands back: some
            # value, no kernel data (assumption sysenter-status-flags,
            # note_ptregs_store)
            self._pushf_frame = getattr(self, "_compat_run", False) and \
                self.rsp(st) - 8 == self.pt_regs + self.frame.layout.pt_regs["flags"].value and \
                self._flags_from_cr3_only(st)
            if self._pushf_frame:
                v = self.rflags(st, status=fresh("entry_pushf_status") & 0x8D5) & ~0x30000
            else:
                v = (self.rflags(st) & ~0x30010) | (fresh("af_pushf") & 0x10)
            try:
                self.push(st, v | (getattr(self, "_tf_now", st.tf).zero_extend(63) << 8))
            finally:
                self._pushf_frame = False
        elif m == "popfq":
            self.set_rflags(st, self.pop(st), iret=False)
            self._irq_check(st, ins.addr, tables=True)
        elif m in ("stac", "clac"):
            self.set_reg(st, "acflag", claripy.BVV(1 if m == "stac" else 0, 64))
        elif m == "rdmsr":
            ecx = self.reg(st, "rcx")[31:0]
            g = st.gs_kernel
            if not ecx.symbolic and ecx.concrete_value in (machine.MSR_GS_BASE, machine.MSR_KERNEL_GS_BASE):
                # the GS base in effect, or the one SWAPGS would install (the
                # pre-FSGSBASE paranoid_entry's `rdmsr; testl %edx,%edx`:
                # a made-up value took a dead branch, adv_r177_safe_rdmsr_gsbase_swapgs)
                if ecx.concrete_value == machine.MSR_KERNEL_GS_BASE:
                    g = claripy.Not(g)
                v = self._gs_base_read(st, g, ins.addr)
                self.set_reg(st, "rax", v[31:0].zero_extend(32))
                self.set_reg(st, "rdx", v[63:32].zero_extend(32))
            else:
                # (0: a value many MSRs hold on some machine)
                self.set_reg(st, "rax", self._made_up(st, "rdmsr_lo", 32, ins.addr, "an MSR", 0).zero_extend(32))
                self.set_reg(st, "rdx", self._made_up(st, "rdmsr_hi", 32, ins.addr, "an MSR", 0).zero_extend(32))
        elif m == "xgetbv":
            # XCR0 (or XINUSE) as the CPU has it: VEX lifts the constants
            # EAX = 7, EDX = 0 (x87|SSE|AVX), one CPU's XCR0 of many
            # (AVX-512 ones have 0xe7 and more: adv_r172_xgetbv_xcr0), and
            # not every value is one (bit 0 is always set): made up
            self.set_reg(st, "rax", self._made_up(st, "xcr_lo", 32, ins.addr, "XCR0", 7).zero_extend(32))
            self.set_reg(st, "rdx", self._made_up(st, "xcr_hi", 32, ins.addr, "XCR0", 0).zero_extend(32))
        elif m in ("rdtsc", "rdtscp"):
            self.set_reg(st, "rax", fresh("tsc_lo", 32).zero_extend(32))
            self.set_reg(st, "rdx", fresh("tsc_hi", 32).zero_extend(32))
            if m == "rdtscp":
                self.set_reg(st, "rcx", fresh("tsc_aux", 32).zero_extend(32))
        elif m == "rdgsbase":
            # the GS base in effect: after the exit SWAPGS the user's, which
            # kernel code must not use (a `%gs:` access by other means:
            # adv_r77_rdgsbase_after_swapgs)
            self.note_gs(st, ins.addr)
            if ops and ops[0] in REG:
                self.set_reg(st, ops[0], self._gs_base_read(st, st.gs_kernel, ins.addr))
            elif ops and _reg64(ops[0]):
                self.set_reg(st, _reg64(ops[0]), self._gs_base_read(st, st.gs_kernel, ins.addr)[31:0].zero_extend(32))
            else:
                raise Inconclusive(f"{where}: {m} {ins.op_str} has no model")
        elif m in ("rdpid", "rdfsbase", "lsl", "lar", "rdpkru"):
            # (the user's FS base and PKRU: any value is one a task can
            # have; a CPU number, a descriptor's limit or rights are the
            # kernel's: made up)
            # (CPU 0 on node 0: RDPID's TSC_AUX, the vDSO GDT entry's limit)
            v = fresh(m) if m in ("rdfsbase", "rdpkru") else \
                self._made_up(st, m, 64, ins.addr, f"`{m}`'s result", 0 if m in ("rdpid", "lsl") else None)
            if ops and ops[0] in REG:
                self.set_reg(st, ops[0], v)
            elif ops and _reg64(ops[0]):
                self.set_reg(st, _reg64(ops[0]), v)
            else:
                raise Inconclusive(f"{where}: {m} {ins.op_str} has no model")
            if m in ("lsl", "lar"):
                self._fresh_flags(st, m)
        elif m in ("lzcnt", "tzcnt", "rdsspd", "rdsspq"):
            # lzcnt/tzcnt: LZCNT/TZCNT where the CPU has them, BSR/BSF (which
            # keep the destination on a zero source) where it does not (SDM
            # Vol. 2A); rdssp: the shadow-stack pointer, or a NOP where shadow
            # stacks are off.  Whichever CPU: some value, and the flags
            # (adv_r39_lzcnt_canonical, adv_r39_rdssp_leak)
            dst = _reg64(ops[0]) if ops else None
            if dst is None:  # (a 16-bit destination keeps its upper bits: not modelled)
                raise Inconclusive(f"{where}: {m} {ins.op_str} has no model")
            self.set_reg(st, dst, fresh(m))
            if m in ("lzcnt", "tzcnt"):
                self._fresh_flags(st, m)
        elif m == "verw":
            self._fresh_flags(st, "verw")  # VERW sets ZF; its only other effect is on buffers
        elif m == "mov" and any(o.startswith("cr") for o in ops):
            dst, src = ops
            if dst.startswith("cr"):
                if dst == "cr0":
                    # CR0.WP clear lets a store change kernel text, but code
                    # is always read from the image (and a PE/PG change is
                    # no kernel to verify): a write is followed only when it
                    # keeps WP set (adv_r42_cr0_wp_text_patch).  Other CR0
                    # bits (TS, MP, EM, CD, NW, AM) change no instruction
                    # the analysis lifts
                    wp_clear = st.copy()
                    wp_clear.guard = claripy.And(st.guard, (self.reg(st, _reg64(src)) & (1 << 16)) == 0)
                    if self._feasible(wp_clear):
                        raise Inconclusive(f"{where}: `mov %{src},%cr0` may clear CR0.WP: stores may then change "
                                           "kernel code, which the analysis reads from the image")
                elif dst == "cr4":
                    # CR4.PCIDE changes what a CR3 value means (user-cr3),
                    # SMEP/SMAP what kernel code may touch: not modelled
                    raise Inconclusive(f"{where}: `mov %{src},%cr4` has no model")
                if dst == "cr3":
                    if not self.program.has_pti:
                        # the PTI rules (user tables map only the entry
                        # text, the cpu_entry_area and ESPFIX; interrupts
                        # there fault) apply where PTI is a boot choice,
                        # known by its X86_FEATURE_PTI alternatives.  A CR3
                        # write in a kernel without them switches tables
                        # under some other scheme (4.4/4.9 KAISER's own
                        # feature bit, a restore of a saved CR3): what the
                        # new tables map is not modelled
                        # (adv_r138_kaiser_irq_on_user_cr3, _global_after_swapgs)
                        raise Inconclusive(f"{where}: `mov %{src},%cr3` in a kernel with no page-table isolation "
                                           "alternative (X86_FEATURE_PTI): what the tables it installs map is not "
                                           "modelled")
                    new = self.reg(st, _reg64(src))
                    # the PTI switches (calling.h SWITCH_TO_KERNEL_CR3 /
                    # SWITCH_TO_USER_CR3*) write back the CR3 they read with
                    # only the PTI page-table bit, the user-PCID bit and the
                    # no-flush bit (63) changed; a write that changes the
                    # page-table base or the ASID puts user mode on tables
                    # that are not the task's (adv_r8_pti_cr3_bits_only).
                    # The task's tables change only in code the analysis
                    # summarises (switch_mm: a fresh CR3, then derived from)
                    old = st.cr3 if st.cr3 is not None else claripy.BVS("user_cr3", 64, explicit_name=True)
                    consts = self.program.constants
                    selection = (1 << 63) | (1 << consts.get("PTI_USER_PGTABLE_BIT", 12)) | \
                        (1 << consts.get("PTI_USER_PCID_BIT", 11))
                    changed = ((new ^ old) & (~selection & 0xFFFFFFFFFFFFFFFF)) != 0
                    self._cr3_insn = ins.addr
                    dropped = self._dropped_user_flush(st, new, consts.get("PTI_USER_PGTABLE_BIT", 12),
                                                       consts.get("PTI_USER_PCID_BIT", 11))
                    if dropped is not None:
                        changed = claripy.Or(changed, dropped)
                    # with PCID, the user PCID (bit 11) on the kernel's
                    # tables or the kernel's PCID on the user tables (bit
                    # 12): Linux's switches set or clear both together.  The
                    # TLB entries are tagged by PCID, not by the tables, so
                    # the kernel's translations cached under the user PCID
                    # stay usable from user mode after a NOFLUSH switch
                    # (Meltdown through PTI: adv_r109_pti_user_pcid_kernel_tables)
                    pg_bit, pc_bit = consts.get("PTI_USER_PGTABLE_BIT", 12), consts.get("PTI_USER_PCID_BIT", 11)
                    mixed = claripy.And(self.feature(consts.get("X86_FEATURE_PCID")), new[pg_bit] != new[pc_bit])
                    if not mixed.is_false():
                        changed = claripy.Or(changed, mixed)
                    st.cr3_bad = changed if st.cr3_bad.is_false() else claripy.Or(st.cr3_bad, changed)
                    st.cr3 = new & ((1 << 63) - 1)  # (NOFLUSH is not stored: obligations.user_cr3)
                    self.cr3_writes_read += 1  # (a loop's CR3 widening reads it: _cr3_change)
                    if not self._irqs_off(st):
                        # (a switch to the user tables with IF maybe set:
                        # the user's own flags popped, adv_r111_cr3_if_symbolic)
                        self._irq_check(st, ins.addr, tables=True)
            else:
                # (a CR3 read never gives bit 63: obligations.user_cr3)
                # (CR0 as Linux sets it, PG|AM|WP|NE|ET|MP|PE; CR8 0)
                self.set_reg(st, _reg64(dst), (st.cr3 & ((1 << 63) - 1)) if src == "cr3" else
                             self._made_up(st, src, 64, ins.addr, f"%{src}",
                                           {"cr0": 0x80050033, "cr8": 0}.get(src)))
        elif m in ("ud2", "ud1", "ud0") and self.program.after_ud2(ins.addr) == "fixup":
            raise Inconclusive(f"{where}: `{m}` has an exception-table fixup, which is not modelled")
        elif m in ("ud1", "ud0") or (m == "ud2" and self.program.after_ud2(ins.addr) == "resume?"):
            # A trap the image does not say resumes (no __bug_table, a
            # FineIBT-shaped ud2, ud1/ud0: Program.after_ud2) may still
            # resume: the path goes on (the larger set, for proofs), but a
            # violation through it is not confirmed -- the task may die
            # there instead (adv_r7_kcfi_unlisted_ud2): an unsure event, as
            # for int3.
            self._trap_on_gs(st, ins.addr)
            self.ex.events.append(Event("resume", st.guard, f"`{m}` at {where} resumed", site=ins.addr))
        elif m == "ud2":
            # a WARN's ud2 (listed in __bug_table): the handler runs and the
            # path resumes
            self._trap_on_gs(st, ins.addr)
        elif m == "int3":
            # An int3 in the image's bytes is no kprobe (kprobes refuse int3
            # bytes) and no text_poke; exc_int3 then die()s unless a die
            # notifier (a kernel debugger, int3_selftest) handles it and
            # resumes.  For proofs the path goes on (the larger set); a
            # violation through the resumption is not confirmed by it: an
            # unsure event.
            self._trap_on_gs(st, ins.addr)
            self.ex.events.append(Event("resume", st.guard, f"int3 at {where} resumed", site=ins.addr))
        elif m in ("wrmsr", "wrmsrns") and self._writes_syscall_msr(st):
            # (the exit paths of 6.1/6.12 write only MSR_IA32_SPEC_CTRL,
            # IBRS_EXIT; adv_r17_star_msr: STAR rewritten from a KVM guest's
            # slot gives SYSRET the guest's selectors)
            raise Inconclusive(f"{where}: wrmsr that may write a SYSCALL/SYSRET MSR "
                               f"({self._writes_syscall_msr(st)}): its value is not modelled")
        elif m in ("wrmsr", "wrmsrns", "invlpg", "invpcid", "wbinvd", "serialize", "clts", "hlt", "ud2", "ud1", "ud0",
                   "lfence", "mfence", "sfence", "pause"):
            # MSR, TLB and cache state are not part of what SYSRET consumes;
            # hlt resumes at the next instruction, a ud2 that reaches here is a
            # WARN (or unknown; Program.after_ud2): the path goes on
            pass
        elif m in ("xrstor", "xrstors", "fxrstor", "fxrstor64", "xrstor64", "xrstors64"):
            # restores x87/SSE/AVX state only: every vector register is unknown after it
            st.clobber_vector(VECTOR_SLOTS, f"xrstor_{ins.addr:x}_vec")
        elif m in ("xsave", "xsaves", "xsaveopt", "fxsave", "fxsave64", "xsave64", "xsaves64", "xsaveopt64"):
            # a state image of hundreds of bytes at the operand: a store at
            # an unknown offset from the operand's registers (one of them
            # a stack address: any stack byte, adv_r71_fxsave_slot)
            area = claripy.BVS("xsave_area", 64)
            for r in _REG_NAMES.values():
                if re.search(rf"\b{r}\b", ins.op_str):
                    area = area + self.reg(st, r)
            if re.search(r"\brsp\b", ins.op_str):
                area = area + self.reg(st, "rsp")
            self._unknown_store(st, area, ins.addr)
        else:
            raise Inconclusive(f"{where}: `{m} {ins.op_str}` has no model")
        yield nxt, st

    # arithmetic flags (RFLAGS bits): CF PF AF ZF SF OF
    _CF, _PF, _AF, _ZF, _SF, _OF = 0x1, 0x4, 0x10, 0x40, 0x80, 0x800
    _ARITH = 0x8D5

    def _cpu_flags(self, block, st, ins, m, ops):
        """An instruction of cfg.FLAG_UNDEFINED_INSNS: VEX runs it, then the
        arithmetic flags are what the CPU defines (SDM Vol. 2, "Flags
        Affected"; the kept ones from before it) and fresh where it leaves
        them undefined, so no path is cut by a flag value only VEX chose
        (adv_r40_bt_zf, _mul_cf, _imul_zf, _div_sf)."""
        where = self.program.symbolize(ins.addr)
        CF, PF, AF, ZF, SF, OF, ALL = self._CF, self._PF, self._AF, self._ZF, self._SF, self._OF, self._ARITH
        before = self.rflags(st) & ALL
        if m == "lahf":
            # AH := SF:ZF:0:AF:0:PF:1:CF, AF as pushf reads it (some value)
            v = ((before & ~AF) | (fresh("af_lahf") & AF) | 2) & 0xFF
            rax = self.reg(st, "rax")
            self.set_reg(st, "rax", (rax & ~0xFF00) | (v << 8))
            yield block.succs[0], st
            return
        width = _operand_bits(ops[0]) if ops else None
        count = None
        if m in ("shl", "sal", "shr", "sar", "rol", "ror", "rcl", "rcr", "shld", "shrd"):
            if m in ("shld", "shrd") and width == 16:
                # a count above 16 leaves the 16-bit result undefined
                raise Inconclusive(f"{where}: 16-bit `{m}` has no model")
            src = ops[-1] if len(ops) >= 2 else "1"
            if src == "cl":
                count = self.reg(st, "rcx")[7:0].zero_extend(56)
            else:
                try:
                    count = claripy.BVV(int(src, 0), 64)
                except ValueError:
                    raise Inconclusive(f"{where}: `{m} {ins.op_str}` has no model") from None
            count = count & (0x3F if width == 64 else 0x1F)
        irsb = self._lift_one(ins)
        self._insns = {ins.addr: ins}
        try:
            succs = run_block(self, st, irsb)
        except Unsupported as e:
            raise Inconclusive(f"{where}: {e}") from None
        for sc in succs:
            s2 = sc.state
            if sc.kind.startswith("Ijk_Sig"):
                if self._feasible(s2):
                    raise Inconclusive(f"{where}: `{m}` may fault (VEX jump kind {sc.kind})")
                continue
            if sc.kind != "Ijk_Boring" or sc.target.symbolic or sc.target.concrete_value != ins.addr + ins.size:
                raise Inconclusive(f"{where}: `{m}`: VEX jump kind {sc.kind}")
            after = self.rflags(s2) & ALL
            undef = fresh(f"flags_undefined_{m}") & ALL
            if m in ("bt", "bts", "btr", "btc"):
                new = (after & CF) | (before & ZF) | (undef & (OF | SF | AF | PF))
            elif m in ("mul", "imul"):
                cfof = after & (CF | OF)
                if m == "mul" and len(ops) == 1:
                    # CF = OF = the upper half of the product is not zero
                    # (angr's unsigned-multiply helper takes the low half's
                    # sign instead)
                    hi = {8: (self.reg(s2, "rax") >> 8) & 0xFF, 16: self.reg(s2, "rdx") & 0xFFFF,
                          32: self.reg(s2, "rdx") & 0xFFFFFFFF, 64: self.reg(s2, "rdx")}.get(width)
                    if hi is None:
                        raise Inconclusive(f"{where}: `{m} {ins.op_str}` has no model")
                    cfof = claripy.If(hi != 0, claripy.BVV(CF | OF, 64), claripy.BVV(0, 64))
                new = cfof | (undef & (SF | ZF | AF | PF))
            elif m in ("div", "idiv"):
                new = undef
            elif m in ("bsf", "bsr"):
                new = (after & ZF) | (undef & (CF | OF | SF | AF | PF))
                # a zero source (ZF set) leaves the destination undefined
                # (Intel SDM) or unchanged, all 64 bits even in the 32-bit
                # form (AMD APM), where VEX zero-extends the old value
                # (adv_r41_bsf_dest, _bsfl_upper).  Intel's CPUs keep it too,
                # clearing bits 63:32 in the 32-bit form (Linux relies on
                # this: arch/x86/include/asm/bitops.h, fls64 and the comment
                # above ffs()), but only the SDM binds: some value.  A
                # witness may leave paths out (it only confirms a
                # violation), so there the destination is the kept one,
                # which a real CPU does (adv_r37_bsf_keep replays)
                dst = _reg64(ops[0]) if ops else None
                if dst is None or dst not in REG:
                    raise Inconclusive(f"{where}: `{m} {ins.op_str}` has no model")
                zero = self.reg(st, dst) if self.witness else fresh(f"{m}_zero_source")
                self.set_reg(s2, dst, claripy.If((after & ZF) != 0, zero, self.reg(s2, dst)))
            elif m in _BMI_FLAGS:
                # SDM Vol. 2A/2B, each one's "Flags Affected": ZF/SF (not
                # BEXTR's SF) from the result, CF as the table says, OF
                # cleared, the rest undefined.  ZF and SF are computed from
                # the destination here, not taken from angr's thunks (BEXTR
                # and BZHI are lifted with another instruction's)
                dst = _reg64(ops[0]) if ops else None
                if dst is None or dst not in REG or width not in (32, 64):
                    raise Inconclusive(f"{where}: `{m} {ins.op_str}` has no model")
                res = self.reg(s2, dst) & ((1 << width) - 1)
                zf = claripy.If(res == 0, claripy.BVV(ZF, 64), claripy.BVV(0, 64))
                sf = claripy.If(res[width - 1] == 1, claripy.BVV(SF, 64), claripy.BVV(0, 64))
                defined = _BMI_FLAGS[m]
                cf = {"zero": claripy.BVV(0, 64),
                      "nonzero": claripy.If(res != 0, claripy.BVV(CF, 64), claripy.BVV(0, 64)),
                      "undefined": undef & CF}[defined[1]]
                new = zf | (sf if defined[0] else undef & SF) | cf | (undef & (AF | PF))
            elif m in ("rol", "ror", "rcl", "rcr"):
                of = claripy.If(count == 1, after & OF, undef & OF)
                new = claripy.If(count == 0, before, (after & ~OF & ALL) | of)
            else:  # shl/sal/shr/sar/shld/shrd
                of = claripy.If(count == 1, after & OF, undef & OF)
                cf = after & CF
                if width in (8, 16) and m in ("shl", "sal", "shr", "sar"):
                    # a count of at least the operand width leaves CF
                    # undefined for SHL and SHR (SDM Vol. 2B SAL/SAR/SHL/SHR;
                    # SAR too, as VEX's reading there is not checked)
                    # (adv_r41_shlb_cf)
                    cf = claripy.If(count >= width, undef & CF, cf)
                new = claripy.If(count == 0, before, (after & (ZF | SF | PF)) | cf | (undef & AF) | of)
            self.set_reg(s2, "cc_op", claripy.BVV(0, 64))
            self.set_reg(s2, "cc_dep1", new)
            self.set_reg(s2, "cc_dep2", claripy.BVV(0, 64))
            self.set_reg(s2, "cc_ndep", claripy.BVV(0, 64))
            yield block.succs[0], s2

    def _lift_one(self, ins):
        """One instruction lifted by VEX (cached per address and bytes)."""
        import pyvex
        key = ("irsb1", ins.addr, ins.raw)
        c = self.program._cfgs.get(key)
        if c is None:
            if ignored_rex(ins.raw):  # (no VEX lift applies a REX the CPU ignores: _special)
                raise Inconclusive(f"{self.program.symbolize(ins.addr)}: `{ins.raw.hex()}` has a REX prefix the "
                                   "CPU ignores: no model")
            c = pyvex.lift(ins.raw, ins.addr, ARCH, max_bytes=len(ins.raw), opt_level=1, strict_block_end=True)
            if c.jumpkind == "Ijk_NoDecode" or c.size != len(ins.raw) or \
                    [st.len for st in c.statements if st.tag == "Ist_IMark"] != [len(ins.raw)]:
                raise Inconclusive(f"{self.program.symbolize(ins.addr)}: VEX cannot lift `{ins.mnemonic}`")
            self.program._cfgs[key] = c
        return c

    def _runtime_const(self, st, ins, ops, rcs, where):
        """An instruction with an immediate the kernel rewrites at boot
        (patches.RuntimeConst: asm/runtime-const.h, 6.11+): its on-disk value
        is a placeholder, so the value is some value.  The two forms the
        header emits are modelled: `movq $imm64, %reg` (the register gets
        some value: USER_PTR_MAX, dentry_hashtable) and `shrl $imm8, %reg32`
        (a shift by some count, masked to 5 bits as SHR does, with fresh
        flags: CF/OF depend on the count).  Anything else listed in a table
        (a fixture can list any byte) is refused
        (adv_r46_runtime_const_shift)."""
        rc, raw = rcs[0], ins.raw
        # (matched on the bytes: REX.W [+B], B8+r, imm64; [REX.B 41,] C1 /5
        # (ModRM E8+r), imm8; no other prefix)
        if len(rcs) == 1 and rc.kind == "ptr" and len(raw) == 10 and raw[0] in (0x48, 0x49) and \
                raw[1] & 0xF8 == 0xB8 and rc.addr == ins.addr + 2 and ops and _reg64(ops[0]):
            self.set_reg(st, _reg64(ops[0]), fresh(f"runtime_{rc.name}"))
            return
        body = raw[1:] if len(raw) == 4 and raw[0] == 0x41 else raw
        if len(rcs) == 1 and rc.kind == "shift" and len(body) == 3 and body[0] == 0xC1 and \
                body[1] & 0xF8 == 0xE8 and rc.addr == ins.addr + len(raw) - 1 and ops and _reg64(ops[0]):
            dst = _reg64(ops[0])
            count = fresh(f"runtime_{rc.name}", 32) & 0x1F
            self.set_reg(st, dst, claripy.LShR(self.reg(st, dst)[31:0], count).zero_extend(32))
            self._fresh_flags(st, f"runtime_{rc.name}")
            return
        raise Inconclusive(f"{where}: `{ins.mnemonic} {ins.op_str}` holds an immediate rewritten at boot "
                           f"(runtime_{rc.kind}_{rc.name}) in a form that is not modelled")

    def _fresh_flags(self, st, why):
        self.set_reg(st, "cc_op", claripy.BVV(0, 64))
        self.set_reg(st, "cc_dep1", fresh(f"flags_{why}"))
        self.set_reg(st, "cc_dep2", claripy.BVV(0, 64))
        self.set_reg(st, "cc_ndep", claripy.BVV(0, 64))

    def _flags_from_cr3_only(self, st) -> bool:
        """Whether the status flags are computed from the CR3 at the SYSCALL
        and user data alone (SWITCH_TO_KERNEL_CR3's `andq` on it): the one
        case assumption sysenter-status-flags covers.  Flags from anything
        else the kernel holds (`testl $0x3fc0` on current before the
        pushfq, adv_r120_compat_sysenter_test_task; a later pushfq onto the
        slot after kernel work, adv_r120_compat_exit_repushf) keep their
        taint.  The code's constants do not count (the PTI mask)."""
        for r in ("cc_op", "cc_dep1", "cc_dep2", "cc_ndep"):
            v = self.reg(st, r)
            if not self.kernel_taint(v, st, constants=False, skip=("user_cr3",)).is_false() or \
                    any(k for _c, _n, k in _bvv_leaves(v, self._kconst_memo)):
                return False  # (a kernel address among its constants: the model's task, stack, per-CPU)
        # (which CR3 bits the flags show is not checked: a `testl
        # $0x7ff00000` of CR3 before the pushfq, adv_r122_compat_sysenter_cr3_test,
        # is a known gap; an `andq $~mask`-only rule refused the Debian
        # kernels' merged flag thunks, measured)
        return True

    def rflags(self, st, status=None):
        """RFLAGS as PUSHF reads it; status: the status flags to use instead
        of the flag thunk's."""
        amd64g_calculate_rflags_all = machine.vex_helpers()[0].amd64g_calculate_rflags_all
        dep1, dep2, ndep = self.reg(st, "cc_dep1"), self.reg(st, "cc_dep2"), self.reg(st, "cc_ndep")

        def arith_of(op):
            # a merged state may hold If(c, op1, op2) as the flag thunk's
            # operation (e.g. SYSENTER's pushfq after the PTI CR3 switch, an
            # alternative that sets flags, merged with its NOP candidate):
            # per case, exactly; the operands are the merged terms, which
            # under c are the case's own
            if op.symbolic and op.op == "If":
                c, a, b = op.args
                return claripy.If(c, arith_of(a), arith_of(b))
            return amd64g_calculate_rflags_all(semantics._CC, op, dep1, dep2, ndep)

        arith = arith_of(self.reg(st, "cc_op")) & 0x8D5 if status is None else status
        df = claripy.If(self.reg(st, "dflag") == 1, claripy.BVV(0, 64), claripy.BVV(0x400, 64))
        ac = claripy.If(self.reg(st, "acflag") == 0, claripy.BVV(0, 64), claripy.BVV(1 << 18, 64))
        idf = claripy.If(self.reg(st, "idflag") == 0, claripy.BVV(0, 64), claripy.BVV(1 << 21, 64))
        # PUSHF stores RF (and VM) clear (SDM PUSHF); TF is added by the
        # pushf itself (_special: the trap's timing); NT and IOPL as the last
        # popf/iret (or the entry) left them
        return arith | df | ac | idf | (st.IF.zero_extend(63) << 9) | st.sysfl | 2

    def set_rflags(self, st, v, iret: bool):
        self.set_reg(st, "cc_op", claripy.BVV(0, 64))
        self.set_reg(st, "cc_dep1", v & 0x8D5)
        self.set_reg(st, "cc_dep2", claripy.BVV(0, 64))
        self.set_reg(st, "cc_ndep", claripy.BVV(0, 64))
        self.set_reg(st, "dflag", claripy.If(v[10] == 1, claripy.BVV(-1, 64), claripy.BVV(1, 64)))
        self.set_reg(st, "acflag", v[18].zero_extend(63))
        self.set_reg(st, "idflag", v[21].zero_extend(63))
        st.IF = v[9]
        # POPF/IRET at CPL 0 load TF, NT and IOPL too (SDM POPF: all
        # non-reserved flags except RF (cleared), VM, VIP, VIF at CPL 0):
        # kept, read back by pushf (adv_r7_popf_tf: dropping TF made R11 =
        # pushf after popf of the user's flags look TF-clear)
        st.tf = v[8]
        # ... and IRET at CPL 0 VIF and VIP too, which POPF leaves as they
        # were (SDM IRET, POPF); PUSHF stores both (adv_r184_iret_vif: an
        # IRET-to-self with VIF in its frame, then `pushfq; testl $VIF`)
        st.sysfl = v & SYSFL_IRET if iret else (v & SYSFL_POPF) | (st.sysfl & SYSFL_VIRTUAL)

    def _iret(self, block, st: MState):
        """IRETQ pops RIP, CS, RFLAGS, RSP, SS.  To user mode (RPL 3) the path
        ends: the user gets exactly the frame, whatever it holds.  To the
        kernel it goes on: at the next instruction when that is the popped
        RIP (the sync_core() idiom), else the path is not followed and the
        result is inconclusive.  A frame whose CS is the saved pt_regs->cs
        returns to user mode under assumption saved-frame-is-user (every
        writer of pt_regs->cs forces RPL 3)."""
        ins = block.last
        if ins.mnemonic != "iretq":
            # `iretd` (no REX.W) pops a frame of five 4-byte slots, `66 cf`
            # one of 2-byte slots (SDM Vol. 2A IRET): no model of those
            # (adv_r41_iretd); capstone says `iretq` exactly when REX.W is in
            # force
            raise Inconclusive(f"{self.program.symbolize(ins.addr)}: `{ins.raw.hex()}` ({ins.mnemonic}) is not "
                               "a 64-bit IRET: no model")
        sp0 = self.reg(st, "rsp")
        if sp0.symbolic:
            # frames on different stacks joined here (native_irq_return_iret
            # after the trampoline stack or the ESPFIX stack): one case per
            # stack, each under its own condition, so every value is covered
            # and none is picked
            vals = self._values(st, sp0, limit=4)
            if vals is None:
                raise Inconclusive(f"{self.program.symbolize(ins.addr)}: IRET on a stack pointer the analysis does "
                                   "not know")
            for v in vals:
                s1 = st.copy()
                s1.guard = claripy.And(st.guard, sp0 == v)
                self.set_reg(s1, "rsp", self.const(v, 64))
                yield from self._iret_frame(block, s1)
            return
        yield from self._iret_frame(block, st)

    def _iret_frame(self, block, st: MState):
        ins = block.last
        rip, cs, fl, sp, ss = (self.pop(st) for _ in range(5))
        to_user = (cs & 3) == 3
        # user-mode-if-iopl holds of this image only if its IRET exits give
        # user mode IF set and IOPL 0 as well (the SYSRETs: rflags-if-iopl):
        # one that may pop other flags (a `pushfq` of the kernel's own,
        # adv_r155_iret_exit_kernel_flags) is recorded, and rflags-if-iopl
        # is then not proven (decide.spread_unestablished)
        # (a witness replays a path the exploration recorded already)
        if not self.witness:
            bad = claripy.And(st.guard, to_user, fl & (EFLAGS_IF | EFLAGS_IOPL) != EFLAGS_IF)
            try:
                risky = not solver.check([_z3(bad)], timeout_ms=20000).unsat
            except claripy.errors.ClaripyError:
                risky = True
            if risky:
                self._risky_irets.append(self.program.symbolize(ins.addr))
        s = claripy.Solver(timeout=20000)
        s.add(st.guard)
        s.add(claripy.Not(to_user))
        if not s.satisfiable():
            return
        if not block.succs:
            raise Inconclusive(f"{self.program.symbolize(ins.addr)}: IRET may return to kernel code the "
                               "analysis does not know")
        nxt = block.succs[0]
        s2 = claripy.Solver(timeout=20000)
        s2.add([st.guard, claripy.Not(to_user), rip != nxt[0]])
        if s2.satisfiable():
            raise Inconclusive(f"{self.program.symbolize(ins.addr)}: IRET may return to kernel code the "
                               "analysis does not know")
        st.guard = claripy.And(st.guard, claripy.Not(to_user))
        self.set_rflags(st, fl, iret=True)
        # (the words between the frame and the RSP it loads are below RSP
        # from here on, an interrupt's to overwrite: IRET has no interrupt
        # shadow, adv_r187_iret_rsp_up_window)
        self.rsp_moved(st, self.reg(st, "rsp"), sp, ins.addr)
        self.set_reg(st, "rsp", sp)
        self._settle_rsp(st, ins.addr)
        self._irq_check(st, ins.addr, tables=True)  # (with the RSP and IF the IRET loaded together)
        yield nxt, st

    # -- calls ----------------------------------------------------------------------------
    def call(self, st: MState, target, ret_addr, depth, site, tail=False) -> list[MState]:
        """The states after the call returned (with its return address popped).
        A static call runs what the image fixes until static_call_update()
        retargets it (Program.static_call_defaults: each read as code, on a
        copy of the state) or, after that, any function (the unknown callee
        of the trampoline, under its named assumptions): both.  Soundness:
        every function the call can run at some time is one of these."""
        prog = self.program
        if target is not None and prog.static_call_tramp(target):
            # each path gets a choice of its own in its guard: the exact
            # merge after the call keeps a state only under its guard, so
            # paths with one guard would lose all but the first
            defaults = prog.static_call_defaults(target, site)
            choices = _exclusive_choices(f"sct_{site:x}", 1 + len(defaults))
            s1 = st.copy()
            s1.guard = claripy.And(st.guard, choices[0])
            self.ex.trail.append((site, s1.guard, f"static call {prog.symbolize(target)}: a run-time target"))
            out = self._call(s1, target, ret_addr, depth, site, tail)
            for f, c in zip(defaults, choices[1:]):
                s2 = st.copy()
                s2.guard = claripy.And(st.guard, c)
                self.ex.trail.append((site, s2.guard, f"static call {prog.symbolize(target)}: at boot, "
                                      + (prog.symbolize(f) if f is not None else "nothing")))
                if f is None:
                    # nothing runs: the trampoline's `ret` (or its jump to a
                    # return thunk: assumption return-thunk) pops the
                    # return address
                    if prog.image.read(target, 1) == b"\xe9":
                        self._assume("return-thunk", site)
                        self._return_thunk_gs(s2, site)
                    ret = self.pop(s2)
                    if ret.symbolic or (ret_addr is not None and ret.concrete_value != ret_addr):
                        raise ReturnRefuted(f"{prog.symbolize(site)}: the return address changed across a call")
                    out.append(s2)
                else:
                    out += self._call(s2, f, ret_addr, depth, site, tail)
            return out
        return self._call(st, target, ret_addr, depth, site, tail)

    def _call(self, st: MState, target, ret_addr, depth, site, tail=False) -> list[MState]:
        prog = self.program
        name = prog.start_name(target) if target is not None else None
        if target is not None and not st.gs_kernel.is_true() and prog.instrumentable(target):
            # a call, where the GS base may be the user's, to code run-time
            # instrumentation may enter (a kprobe's int3, an ftrace site,
            # a call-depth thunk in its padding: their handlers use %gs).
            # The kernel runs only noinstr code there (objtool checks it):
            # adv_r149_kprobe_helper_after_swapgs, _nop_fentry_after_swapgs,
            # _callthunk_pad_entry
            self.note_gs(st, site)
        if prog.is_trace_hook(target):
            # the hook's own bytes run (a return); with tracing on, callbacks
            # registered at run time run here instead (assumption
            # ftrace-callbacks, listed at this call).  Those read current
            # and per-CPU data through %gs: a %gs access where the GS base
            # may be the user's (adv_r147_fentry_after_swapgs)
            self._assume("ftrace-callbacks", site)
            if not st.gs_kernel.is_true():
                self.note_gs(st, site)
        if self._follows(target, name, depth):
            self.ret_slots.append(self.rsp(st))
            try:
                return self.function(target, st, ret_addr, depth + 1)
            finally:
                self.ret_slots.pop()
        summary = self.summaries.writes_of(target, name)
        if self.summaries.readable(target, name) and self._must_run(summary):
            # (not followed: too deep, or recursive)
            raise Inconclusive(f"{prog.symbolize(site)}: the callee {name or hex(target)} cannot be summarised: "
                               f"{self._must_run(summary)}")
        if summary.indirect_call and (any(self._code_leaf(self.reg(st, r)) for r in _HANDED_REGS) or
                                      self._code_in_memory(st)):
            # a callee that calls through a register, handed a code address
            # in one (`lea 1f(%rip),%rdi; call helper` with helper's `call
            # *%rdi`; any register but RSP, adv_r173_icall_thunk_label_in_rbx):
            # where that call goes is image
            # code the summary did not read, not a pointer from data
            # (abi-callee-saved): inconclusive, as the explorer's own
            # computed call (_computed_call; adv_r171_icall_label_in_arg)
            # (or one in memory it can read: a stack slot whose address it
            # is handed, adv_r175_icall_stack_slot_arg, a global hook)
            raise (ReturnRefuted if depth > 0 else Inconclusive)(
                f"{prog.symbolize(site)}: the callee {name or hex(target)} calls through a register and is handed a "
                "code address (not followed)")
        self._site = site
        self._exposures(st, site)
        ev_kind = summary.event_kind
        event = Event(ev_kind, st.guard, summary.describe(name, target), target=target, site=site,
                      assumption=summary.assumption)
        self.ex.events.append(event)
        self._event = event
        if summary.assumption:
            self._assume(summary.assumption, site)
        if summary.via_return_thunk:
            self._assume("return-thunk", site)
        if summary.via_ftrace:
            self._assume("ftrace-callbacks", site)
        ts_ask = None
        if (summary.writes == "any" or self._writes_ts_byte(summary)) and not summary.keeps_user_state and \
                self.ts_effects is not None:
            ts_ask = self._ask_ts_effect(st, target, name)
        self.apply_summary(st, summary, f"{site:x}", ret_slots=[*self.ret_slots, self.rsp(st)], ts_ask=ts_ask,
                           target=target, name=name)
        if summary.makes_code:
            # (its returned registers, the bytes it wrote and the memory
            # generation of its havoc: adv_r175_icall_ret_label,
            # _global_hook_label, _outparam_label)
            self.code_marks |= {m for m in event.marks if m.startswith(("ret_", "w_"))}
            self.code_gens |= {m for m in event.marks if m.startswith("mem")}
        if ev_kind == "dispatch":
            # The syscall's result is user data (RAX only: a syscall returns
            # a long; RDX is scratch it leaves).  Named by the exact value
            # this call made, not by its site: another callee summarised at
            # the same site (the dispatch's wrapper called once more with
            # another function, adv_r83_dispatch_label_alias) returns
            # kernel data under the same label
            self.ex.dispatch_rets |= {n for n in self.reg(st, "rax").variables if n.startswith(f"ret_{site:x}_rax")}
            # (the dispatch is known by its name or by the entry's table
            # call: a function under a dispatch name returning kernel data
            # is proven under this assumption, listed at this call,
            # adv_r127_x32_dispatch_name)
            self._assume("syscall-result-user-data", site)
        self._event = None
        ret = self.pop(st)
        if ret.symbolic or (ret_addr is not None and ret.concrete_value != ret_addr):
            raise ReturnRefuted(f"{prog.symbolize(site)}: the return address changed across a call")
        return [st]

    def _ts_byte(self) -> int:
        """The address of the byte of thread_info.status that holds TS_COMPAT."""
        return self.frame.ti_status + (self.summaries.ts.byte - self.frame.layout.ti_status.value)

    def _writes_ts_byte(self, summary) -> bool:
        """Whether a summary's named writes cover TS_COMPAT's byte (a store
        through `current` placed in the task: summary._holds_current)."""
        b = self._ts_byte()
        return summary.writes != "any" and any(a <= b < a + n for a, n in summary.write_addrs)

    def _ask_ts_effect(self, st: MState, target, name):
        """Ask (tseffects.py) what the summarised callee does to TS_COMPAT,
        with the offsets from the current task its argument registers and
        stack arguments hold (a callee handed a pointer into the task is read
        with that pointer known at entry, tscompat.MaySet.in_context).  The
        answer comes later; the state gets the effect as a symbolic kind that
        the answer pins in every query (tseffects.TsEffects.constraints)."""
        readable = target is not None and self.summaries.readable(target, name)
        regs = {r: self._task_tags(self.reg(st, r)) for r in (*tseffects.ARG_REGS, "rax")} if readable else {}
        stack = {k: self._task_tags(self._stack_word(st, k)) for k in tseffects.STACK_ARG_OFFSETS} if readable \
            else {}
        kind = fresh(f"tsclr_{self._site:x}_kind", 2)
        self.ex.ts_asks.append((self.ts_effects.ask(target, name, readable, regs, stack), kind, self._site))
        return kind

    def _task_tags(self, v):
        """Offsets from the current task a value may hold (frozenset of
        (offset, False)), None (some offset), or None-like absence: ()."""
        if v is None:
            return ()
        cs = _task_constants(v, self)
        if not cs:
            return ()
        if v.op == "BVV":
            return frozenset({(v.args[0] - machine.TASK, False)})
        return None  # a pointer into the task at an offset the term computes

    def _stack_word(self, st: MState, k: int):
        """The 8 bytes at RSP + k (a stack argument, k from 8 past the return
        address the call pushed), or None when none of them was written on
        this path (background bytes are no task pointer)."""
        a = self.rsp(st) + k
        if not any((a + i) & 0xFFFFFFFFFFFFFFFF in st.mem for i in range(8)):
            return None
        return st.load_bytes(a, 8)

    def _exposures(self, st: MState, site):
        """Every stack address in a register at a call escapes to the callee,
        and every one stored in the caller's frame from RSP up to its return
        address: the callee reads its stack arguments there (which slots
        are arguments the code does not say; adv_r45_stackarg_ret_copy, a
        7th argument returned)."""
        for r in GPRS:
            if r == "rsp":
                continue
            for c in _stack_constants(self.reg(st, r), self):
                st.exposed = st.exposed | {self._frame_range(c, st)}
        rsp = self.reg(st, "rsp")
        if not rsp.symbolic:
            lo = rsp.concrete_value
            if lo in self.ret_slots:
                # a tail call (`jmp f` with the frame popped): RSP is this
                # function's return address, the callee's, and its stack
                # arguments are above it (adv_r123_tail_stackarg)
                lo += 8
            top = self._region_top(lo)
            hi = min([s for s in self.ret_slots if lo <= s < top], default=top)
            for a in sorted(a for a in st.mem if lo <= a < hi):
                self._note_word_escape(st, a)
        # Every word of public memory written so far too: a stack address
        # stored there in parts (a packed struct copied as an 8-byte and a
        # 4-byte move, adv_r123_veto_rec_split) is whole only in memory, and
        # the callee may read it there (a store of a whole one is seen at
        # the store: Explorer.store)
        self._public_words_escape(st)
        if st.exposed:
            self._expose_reachable(st)

    _event = None  # the event whose effects are being applied

    def _ts_compat_effect(self, st: MState, kind, ts_byte: int, before, label: str, named: bool = False):
        """The TS_COMPAT bit after a havocking callee, from what its code does to
        it (tscompat.py, answered by tseffects.py): kept, cleared, at most its
        old value, or anything (the havoc's bit).  `kind` is the symbolic
        answer (tseffects.KIND_CODES), pinned in every query; the other bits
        of the byte stay havocked.  named: the summary itself places a store
        through `current` on that byte (summary._holds_current), which an
        answer of "kept" or "at most its old value" did not see (the
        pass's pointer following is ts-compat-writers', the summary's
        load is the slot's own: adv_r30_xor_slot): only "cleared" is taken
        then, else the bit is the store's (anything)."""
        i = self.summaries.ts.bit_in_byte
        after = st.load_bytes(ts_byte, 1)
        code = tseffects.KIND_CODES
        kept = after[i] if named else before[i]
        at_most = after[i] if named else before[i] & fresh(f"tsclr_{label}", 1)
        b = claripy.If(kind == code["keep"], kept,
                       claripy.If(kind == code["clear"], claripy.BVV(0, 1),
                                  claripy.If(kind == code["mayclear"], at_most, after[i])))
        parts = ([after[7:i + 1]] if i < 7 else []) + [b] + ([after[i - 1:0]] if i > 0 else [])
        st.mem[ts_byte] = claripy.Concat(*parts) if len(parts) > 1 else parts[0]
        if self._event is not None:
            self._event.marks.add(f"tsclr_{label}")

    def apply_summary(self, st: MState, summary, label: str, ret_slots=(), ts_ask=None, target=None, name=None):
        if st.kpend:
            # a call inside a branch region of the entry code (the dispatch
            # called or skipped by a secret, adv_r62_region_dispatch): what
            # it may leave in pt_regs is chosen by that branch; every slot
            # is marked as the kernel data it may be (the registers it
            # clobbers are marked by set_reg)
            for f in self.tracked_slots:
                st.kstore[f] = claripy.BoolV(True)
        if self._event is not None:
            self._event.marks |= {f"ret_{label}_", f"w_{label}_", f"if_{label}", f"flags_call_{label}"}
        # IF at the return, from the callee's code (irqflag.py), read with
        # the argument registers as the call passes them
        if_after = self._if_after(st, summary, target, name, label) \
            if summary.may_change_if else None
        if summary.via_current:
            # its stores through `current` were placed in the machine's task
            # (summary._holds_current), which is right only while the
            # current_task slot holds it (adv_r57_current_slot_redirect)
            slot, task = self.frame.percpu_identity["current_task"]
            v = st.load_bytes(slot, 8)
            if v.symbolic or v.concrete_value != task:
                raise Inconclusive(f"{self.program.symbolize(self._site or 0)}: a callee summarised with its stores "
                                   "through the current task pointer, called while the current_task slot may not "
                                   "hold the task")
        for r in summary.clobbers:
            self.set_reg(st, r, fresh(f"ret_{label}_{r}"))
        returns_stack = getattr(summary, "returns_stack", frozenset())
        if returns_stack:
            # a stack address the callee made from its own RSP and returned:
            # somewhere in this stack, at an offset not known (its frame is
            # below the caller's RSP, and it may have added anything): a
            # store through it is one the explorer cannot place
            # (adv_r76_ret_rcx_copy, adv_r44_callee_frame_addr)
            rsp = self.reg(st, "rsp")
            for r in sorted(returns_stack):
                self.set_reg(st, r, rsp + fresh(f"ret_{label}_{r}_stackoff"))
        self._fresh_flags(st, f"call_{label}")
        if getattr(summary, "fault_havoc", False):
            # (the handler's memory havoc, its GS base and CR3 and what it
            # leaves in pt_regs: summary.py's fixup rule)
            self._assume("exception-fixup-handlers", getattr(self, "_site", None) or 0)
        ts_byte = self._ts_byte()
        before = st.load_bytes(ts_byte, 1) if ts_ask is not None else None
        if summary.writes == "any":
            self._havoc_memory(st, label, keep_user_state=summary.keeps_user_state, ret_slots=ret_slots,
                               dispatch=summary.event_kind == "dispatch",
                               flags_credit=summary.event_kind != "summary" or not getattr(summary, "read_any", True))
            if not summary.keeps_user_state and summary.event_kind != "dispatch":
                self._ptregs_writer(st, summary, label)
            if ts_ask is not None:
                self._ts_compat_effect(st, ts_ask, ts_byte, before, label)
        else:
            mask = self.frame.pcid_flush_mask
            for a, n in summary.write_addrs:
                self._check_entry_stack_page(a, self._site, n)
                if mask is not None and a < mask + machine.PCID_FLUSH_MASK_BYTES and mask < a + n:
                    # a summarised callee that writes user_pcid_flush_mask
                    # may clear a bit without the flush: each bit pending
                    # before it is owed (adv_r19_pti_callee_clear)
                    self._owe_cleared_flushes(st, mask, [st.load_bytes(mask + k, 1) for k in
                                                         range(machine.PCID_FLUSH_MASK_BYTES)], summarised=True)
                for i in range(n):
                    st.mem[a + i] = fresh(f"w_{label}_{a + i:x}", 8)
            if ts_ask is not None:
                # TS_COMPAT's bit as the callee's code decides (tscompat.py),
                # as after a havoc; the byte's other bits stay written
                self._ts_compat_effect(st, ts_ask, ts_byte, before, label, named=True)
        if if_after is not None:
            st.IF = if_after
        elif summary.may_change_if:
            st.IF = fresh(f"if_{label}", 1)
        elif summary.may_clear_if:
            # only `cli` in its code: IF stays clear, or becomes clear
            st.IF = st.IF & fresh(f"if_{label}", 1)
        if summary.may_change_if or summary.unread:
            # a callee with popf/iret may leave NT/IOPL changed (TF: cleared
            # by the #DB after the instruction following the popf, at latest
            # the callee's ret); so may code the summary did not read (an
            # indirect call's notifier doing `popf` with IOPL 3, then an
            # IRET frame built by `pushfq`: adv_r159_icall_kernel_iopl_iret;
            # assumption irq-flag-preserved is about IF only)
            st.sysfl = fresh(f"nt_iopl_{label}") & SYSFL_IRET
        if summary.may_change_if and not self.witness:
            # a callee with popf/iret may have let interrupts in, however it
            # returns (_concurrent_read; adv_r84_callee_window_stash: `sti;
            # nop; cli; ret` writes no memory, so no havoc resets the count;
            # adv_r184_xmm_callee_window: the vector registers).  One entered
            # with IF set and changing nothing of it returns with IF still
            # maybe set (a `cli` in it leaves IF & fresh: may_clear_if), so
            # the block after the call is a window (_step_block)
            self._interrupt_window(st, f"irqwin_{label}")
        self._summary_gs_cr3(st, summary, label)
        self._clobber_callee_frame(st, label)
        if summary.may_write_df:
            self.set_reg(st, "dflag", claripy.If(fresh(f"df_{label}", 1) == 1, claripy.BVV(-1, 64),
                                                 claripy.BVV(1, 64)))
        if getattr(summary, "may_set_ac", False) or (getattr(summary, "unread", False) and summary.may_change_if):
            # a `stac`, popf or IRET in its code (or in code it did not read
            # that may popf: a callee with its IF unknown): AC as it leaves
            # it, which a pushf after the call reads (adv_r182_summary_stac_ac,
            # adv_r182_summary_popf_ac)
            self.set_reg(st, "acflag", fresh(f"ac_{label}", 1).zero_extend(63))
            # ... and ID, which only a popf or IRET writes (review 183:
            # `pushfq; xorl $X86_EFLAGS_ID,(%rsp); popfq` in a helper, the
            # exit comparing ID before and after, adv_r183_idflag_popf)
            self.set_reg(st, "idflag", fresh(f"id_{label}", 1).zero_extend(63))
        elif getattr(summary, "may_clear_ac", False):
            self.set_reg(st, "acflag", self.reg(st, "acflag") & fresh(f"ac_{label}", 1).zero_extend(63))
        if summary.vector:
            st.clobber_vector(VECTOR_SLOTS, f"ret_{label}_vec")
        # the data segment selectors (DS, ES, FS, GS, SS; not CS): a callee
        # may load one (`loadsegment(ds, ...)` in __switch_to), and one that
        # schedules comes back with the SS another task's interrupt left
        # (NULL after an interrupt from 64-bit user mode, the
        # X86_BUG_SYSRET_SS_ATTRS case); each read after the call is a new
        # value, not the one before it (adv_r183_ds_selector_helper,
        # adv_r183_ss_selector_dispatch)
        low = st.get_slot(_SELECTOR_SLOTS[0])
        st.regs[_SELECTOR_SLOTS[0]] = claripy.Concat(fresh(f"ret_{label}_sel", 48), low[15:0])
        st.regs[_SELECTOR_SLOTS[1]] = fresh(f"ret_{label}_sel")


    def _ptregs_writer(self, st: MState, summary, label: str):
        """A summarised callee (not the syscall) that may write pt_regs: a
        callee read to its end may have stored kernel data there, so each
        tracked slot may now hold it (a fresh mark: a counterexample through
        it follows the callee); one that reaches code the image does not
        fix writes user register state only (assumption
        ptregs-writers-user-data: signal frames, ptrace, restarts)."""
        if summary.unread or summary.event_kind != "summary":
            # (the code read before the unknown part is covered too: marking
            # for it, when it may store through a pointer, made the exit
            # work of both Debian kernels blamed and inconclusive; known gap
            # adv_r15_kptr_tracepoint)
            self._assume("ptregs-writers-user-data", getattr(self, "_site", None) or 0)
            return
        if not getattr(summary, "read_any", True):
            # its writes are "any" only because a fault in it runs an
            # exception handler (summary.Summary.fault_havoc): the code read
            # stores only where the summary names, and the handler writes
            # the fault's own pt_regs (below the faulting RSP), not the
            # syscall's (assumption exception-fixup-handlers, recorded by
            # apply_summary)
            return
        if self._event is not None:
            self._event.marks.add(f"kst_{label}_")
        for f in self.tracked_slots:
            st.kstore[f] = claripy.Or(st.kstore.get(f, claripy.BoolV(False)), fresh_bool(f"kst_{label}_{f}"))

    def _if_after(self, st: MState, summary, target, name, label: str):
        """The IF a callee whose code may change it returns with, as a term
        over the IF and argument registers at the call (irqflag.py), or
        None (unknown: a fresh bit).  Under XENPV the callee's paravirt
        sites are Xen's, which the analysis does not read: unknown there (no
        SYSRET is taken under XENPV: the exit's XENPV alternative goes to
        IRET)."""
        if summary.event_kind != "summary" or target is None:
            return None
        if_effect = getattr(self.summaries, "if_effect", None)
        if if_effect is None:
            return None
        # a call made with IF exactly 0 on this path (after the exit's
        # final `cli`) is read as irqflag reads such a call inside a summary
        off = not st.IF.symbolic and st.IF.concrete_value == 0
        eff, assumed, off_assumed = if_effect(target, name, off)
        if off_assumed:
            self._assume("irqs-off-callees", self._site)
        if eff is None or not eff:
            return None
        for a in sorted(assumed, key=str):
            # irqflag.py: a call site of irq-flag-preserved, or (id, site)
            if isinstance(a, tuple):
                self._assume(a[0], a[1])
            else:
                self._assume("irq-flag-preserved", a)
        vals, conds = [], []
        for x in sorted(eff, key=str):
            if x in (0, 1):
                vals.append(claripy.BVV(x, 1))
            elif x == "E":
                vals.append(st.IF)
            elif isinstance(x, tuple) and x[0] == "?" and (x[1] == "E" or x[1] in _ARG_REGS):
                # ("?", a): any value when a is 1 (irqflag.py's conditional atom)
                conds.append(st.IF if x[1] == "E" else self.reg(st, x[1])[9])
            elif isinstance(x, str) and x in _ARG_REGS:
                vals.append(self.reg(st, x)[9])
            else:
                return None  # an atom this composition does not know: unknown
        if not vals:
            vals = [fresh(f"if_{label}", 1)]
        v = vals[0]
        for k, w in enumerate(vals[1:]):
            v = claripy.If(fresh(f"if_{label}", 1) == 0, v, w)
        for c in conds:
            v = claripy.If(c == 1, fresh(f"if_{label}", 1), v)
        xen = self.program.feature_xenpv
        if xen is not None:
            v = claripy.If(self.feature(xen), fresh(f"if_{label}", 1), v)
        return v

    def _return_thunk_gs(self, st: MState, site: int):
        """The return thunks' %gs accesses and GS-base/CR3 writes
        (Summaries.return_thunks: call_depth_return_thunk's `sarq $5,
        %gs:...`) at a `jmp __x86_return_thunk`: adv_r15_call_depth_thunk."""
        # the arithmetic flags are the thunk's: call-depth tracking's
        # return thunk shifts its %gs counter (`shlq $5`: 6.12
        # arch/x86/lib/retpoline.S call_depth_return_thunk), the SRSO ones
        # `lea`/`ret` (adv_r155_return_thunk_flags: a compare in the callee
        # read by the caller's jcc)
        self._fresh_flags(st, f"rthunk_{site:x}")
        te = self.summaries.return_thunks() if hasattr(self.summaries, "return_thunks") else None
        if te is None or not (te.gs_access or te.may_swapgs or te.may_write_cr3):
            return
        if te.gs_access and not st.gs_kernel.is_true():
            self.note_gs(st, site)
        if te.may_swapgs:
            st.gs_kernel = fresh_bool(f"gsk_thunk_{site:x}")
            st.regs[REG["gs"]] = self._gs_base(st)
        if te.may_write_cr3:
            self._cr3_written_by_callee(st, f"cr3_thunk_{site:x}", site, "the return thunk")

    def _cr3_written_by_callee(self, st: MState, name: str, site: int, who: str):
        """A CR3 write in code the explorer does not step (a summary, a
        return thunk): CR3 is unknown after it.  Under PTI the exit derives
        the user CR3 from the CR3 it reads, and the user-tables rules apply
        to whatever it holds.  In a kernel with no X86_FEATURE_PTI
        alternative the write is refused, as one the explorer steps
        (`mov %reg,%cr3` in _special): the user-tables rules (interrupts
        and per-CPU accesses on the user tables) are known only where PTI is
        a boot choice, and a KAISER-style switch on another feature would
        escape them inside a callee too (adv_s31_kaiser_callee_cr3)."""
        if not self.program.has_pti:
            raise Inconclusive(f"{self.program.symbolize(site) if site else who}: {who} may write CR3 in a kernel "
                               "with no page-table isolation alternative (X86_FEATURE_PTI): what the tables it "
                               "installs map is not modelled")
        st.cr3 = _fresh_cr3(name, pti=self._pti_on())

    def interruptible(self, st: MState) -> bool:
        """Whether an interrupt may come on this path now (IF may be set; a
        witness path leaves interrupts out).  Inside a block too: semantics
        asks it at each read of a vector register, which a window at the
        block's start does not cover (`sti; movq %rcx,%xmm0; ...; movq
        %xmm0,%rcx` in one block, adv_r187_xmm_midblock_window)."""
        return not self.witness and not self._irqs_off(st)

    def _interrupt_window(self, st: MState, label: str) -> None:
        """An interrupt may come here (IF may be set).  It returns with the
        general registers and the GS base restored, but:
        - shared memory may have changed (irq_epoch: _concurrent_read);
        - the vector and x87 registers may hold anything: a softirq on the
          interrupt's way out may use the FPU (kernel_fpu_begin saves the
          task's registers and sets TIF_NEED_FPU_LOAD; kernel_fpu_end does
          not load them back: they are restored only on the way to user
          mode, 6.1/6.12 arch/x86/kernel/fpu/core.c), and a preemption on
          its way out leaves them to the next task
          (adv_r184_xmm_irq_window: RCX parked in %xmm0 across `sti; cli`).
        CR3 is kept, though under PTI a preemption and switch back reloads
        it with the ASID choose_new_asid picks then, maybe not the one
        before (6.1/6.12 arch/x86/mm/tlb.c switch_mm_irqs_off): a known gap
        (adv_r184_pti_cr3_across_window, a user CR3 built from a value read
        before a window).  A new CR3 after each window, tried, turned the
        Debian kernels' user-cr3 proofs inconclusive: the model does not
        know which user-ASID flushes a switch to a new ASID leaves pending
        (invalidate_user_asid), only the ones owed for the ASID it has."""
        st.irq_epoch += 1
        # (named vecirq_: a call through one is refused, _computed_call)
        st.window_vector(VECTOR_SLOTS, f"vecirq_{label}")

    def _summary_gs_cr3(self, st: MState, summary, label: str):
        """What a summarised call does to the GS base, IF-while-user-GS and
        CR3 (user-gs, irqs-off, user-cr3), from its code (summary.py): a
        %gs access in it while the GS base may be the user's is one; a
        callee that may change IF may have enabled interrupts inside (a
        window, irqwin_); a SWAPGS or CR3 write in it leaves them unknown.
        Code it cannot read (the dispatch, an indirect call) keeps the GS
        base, and CR3 without PTI (assumption kernel-calls-keep-gs-cr3);
        under PTI its CR3 is unknown (the exit derives the user CR3 from the
        CR3 it reads, so no assumption is needed there)."""
        site = getattr(self, "_site", None) or 0
        if self._event is not None:
            self._event.marks |= {f"irqwin_{label}", f"gsk_{label}", f"cr3_{label}"}
        if not st.gs_kernel.is_true():
            # any summarised call while the GS base may be the user's: its
            # %gs accesses (summary.gs_access), and any access through a
            # pointer, division, exception-table entry or trap in it, whose
            # handler would run on that base (_access_on_gs; the summary
            # does not say which accesses may fault:
            # adv_r110_uload_after_swapgs, _fixup_after_swapgs).  The kernel
            # calls nothing between its SWAPGSes and SYSRET/the entry's
            # stack switch
            self.note_gs(st, site)
        if summary.may_change_if:
            # (on the stack and tables of the call: what the callee does to
            # them is assumption kernel-calls-keep-gs-cr3's and abi-frames')
            self._irq_check(st, site, may_set=fresh_bool(f"irqwin_{label}"), tables=True)
        if summary.may_swapgs:
            st.gs_kernel = fresh_bool(f"gsk_{label}")
            st.regs[REG["gs"]] = self._gs_base(st)
        if summary.may_write_cr3:
            self._cr3_written_by_callee(st, f"cr3_{label}", site, "a summarised callee")
        elif summary.opaque and st.cr3 is not None and self.program.has_pti:
            pti = self._pti_on()
            st.cr3 = claripy.If(pti, _fresh_cr3(f"cr3_{label}", pti=pti), st.cr3)
        if summary.opaque and not summary.may_swapgs and site:
            self._assume("kernel-calls-keep-gs-cr3", site)


# mnemonics that read the arithmetic flags (besides the jcc kind)
_FLAG_READER_PREFIXES = ("set", "cmov", "adc", "sbb", "adox", "pushf", "lahf", "rcl", "rcr", "cmc", "loop", "salc",
                         "fcmov", "into")


def _reads_flags(insn) -> bool:
    """Whether an instruction may read the arithmetic flags (a jcc, setcc,
    cmovcc, adc/sbb, pushf, ...)."""
    # (the mnemonic's last word: capstone spells prefixes into it, `lock
    # adc`, adv_r156_callthunk_pad_lock_adc)
    return insn.kind == "jcc" or insn.mnemonic.split()[-1].startswith(_FLAG_READER_PREFIXES)


def _block_span(block) -> int:
    """The bytes a block's instructions cover from its address."""
    return max((i.addr + i.size for i in block.insns), default=block.addr + 1) - block.addr


def _overlapping(conds) -> bool:
    """Whether two of a patch site's candidate conditions (("features",
    [assignment, ...]) or another kind) may hold under one assignment of the
    features: two assignments without a feature they set differently."""
    alts = []
    for c in conds:
        if c[0] != "features":
            return len(conds) > 1  # ("always", ...): overlaps any other
        alts.append(c[1])
    for i in range(len(alts)):
        for j in range(i + 1, len(alts)):
            for a in alts[i]:
                for b in alts[j]:
                    if all(b.get(f, v) == v for f, v in a.items()):
                        return True
    return False


def _exclusive_choices(prefix: str, n: int) -> list:
    """n conditions on fresh booleans (`prefix`, `prefix_1`, ...), pairwise
    exclusive and together always true: the guards of an n-way fork whose
    paths are merged again later (a static key's candidates, a static
    call's targets)."""
    ks = [fresh_bool(prefix + (f"_{i}" if i else "")) for i in range(n - 1)]
    return [claripy.And(*[claripy.Not(k) for k in ks[:i]], *ks[i:i + 1]) if ks[:i] or ks[i:i + 1]
            else claripy.BoolV(True) for i in range(n)]


# BMI instructions of cfg.FLAG_UNDEFINED_INSNS: (SF defined, CF) with CF
# "zero" (cleared), "nonzero" (set iff the result is not zero: BLSI's
# source is not zero exactly then) or "undefined" for what this model does
# not compute (BLSMSK/BLSR: set iff the source is zero; BZHI: set iff the
# index is past the width); SDM Vol. 2A ANDN/BEXTR/BLSI/BLSMSK/BLSR/BZHI
_BMI_FLAGS = {"andn": (True, "zero"), "bextr": (False, "zero"), "blsi": (True, "nonzero"),
              "blsmsk": (True, "undefined"), "blsr": (True, "undefined"), "bzhi": (True, "undefined")}


def _operand_bits(op: str):
    """The width of a capstone operand: a register's, or a memory operand's
    `byte/word/dword/qword ptr`; None when not one of those."""
    for k, b in (("qword", 64), ("dword", 32), ("word", 16), ("byte", 8)):
        if op.startswith(k + " "):
            return b
    if op in REG or op.startswith("r") and op[1:].isdigit():
        return 64
    if op in ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp") or (op.startswith("r") and op.endswith("d")):
        return 32
    if op in ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp") or (op.startswith("r") and op.endswith("w")):
        return 16
    if op in ("al", "bl", "cl", "dl", "sil", "dil", "bpl", "spl", "ah", "bh", "ch", "dh") or \
            (op.startswith("r") and op.endswith("b")):
        return 8
    return None


def _reg64(name: str):
    table = {"eax": "rax", "ebx": "rbx", "ecx": "rcx", "edx": "rdx", "esi": "rsi", "edi": "rdi", "ebp": "rbp",
             "esp": "rsp"}
    if name in REG:
        return name
    if name in table:
        return table[name]
    if name.startswith("r") and name.rstrip("dwb") in REG:
        return name.rstrip("dwb")
    return None


def _structural_values(v, limit: int):
    """A superset of the values of a term built only from constants, If and
    a few arithmetic operations (a merged stack address: an If over two
    frames), read off the term without a solver; None when the term has a
    free symbol or more than `limit` values.  Sound as a superset: every
    access through these values is conditional on `addr == value`."""
    memo: dict = {}

    def go(n):
        h = n.hash()
        if h in memo:
            return memo[h]
        op = n.op
        if op == "BVV":
            out = {n.args[0]}
        elif op == "If":
            a, b = go(n.args[1]), go(n.args[2])
            out = None if a is None or b is None else a | b
        elif op in _FOLD and all(isinstance(a, claripy.ast.BV) for a in n.args):
            kids = [go(a) for a in n.args]
            if any(k is None for k in kids):
                out = None
            else:
                total = 1
                for k in kids:
                    total *= len(k)
                if total > limit * limit:
                    out = None
                else:
                    import itertools
                    out = set()
                    sizes = [a.size() for a in n.args]
                    for combo in itertools.product(*kids):
                        out.add(_FOLD[op](combo, sizes, n.size()) & ((1 << n.size()) - 1))
        else:
            out = None
        if out is not None and len(out) > limit:
            out = None
        memo[h] = out
        return out

    try:
        return go(v)
    except RecursionError:
        return None


# the registers a callee is handed (every general register but RSP)
_HANDED_REGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")


def _from_data(v) -> bool:
    """Whether a symbolic value is a value from data and nothing else: a
    symbol (a load the model answers with a fresh value, a register or
    pt_regs slot), parts or extensions of such, or an If choosing between
    such values (its condition is not part of the value).  A constant or
    any arithmetic in the value makes it False."""
    op = v.op
    if op == "BVS":
        return True
    if op == "If":
        return _from_data(v.args[1]) and _from_data(v.args[2])
    if op == "Concat":
        return all(_from_data(a) for a in v.args)
    if op in ("Extract", "ZeroExt", "SignExt"):
        return _from_data(v.args[-1])
    return False


def _values_lower_bound(n, cap: int) -> int:
    """A lower bound (at most cap) on the number of values the term takes
    over every assignment of its variables, with no constraint: read off
    its shape.  Why each rule holds:
    - a variable of s bits takes all 2^s values;
    - Concat: fixing every part but one, the term takes as many values as
      that part (any part's count bounds the whole's, shared variables or not);
    - ZeroExt/SignExt: injective;
    - +, -, ^ with one argument x whose variables no other argument reads:
      with the others fixed, the term is x plus (minus, xor) a constant, a
      bijection of x's values;
    - anything else: 1 (it takes some value)."""
    op = n.op
    if op == "BVS":
        return min(cap, 1 << n.size())
    if op == "Concat":
        return max(_values_lower_bound(a, cap) for a in n.args)
    if op in ("ZeroExt", "SignExt"):
        return _values_lower_bound(n.args[1], cap)
    if op in ("__add__", "__sub__", "__xor__") and len(n.args) >= 2:
        best = 1
        for i, a in enumerate(n.args):
            others = frozenset().union(*(b.variables for j, b in enumerate(n.args) if j != i))
            if not (a.variables & others):
                best = max(best, _values_lower_bound(a, cap))
        return best
    return 1


def _surely_more_values(addr, limit: int) -> bool:
    """Whether the address takes more than `limit` values with no
    constraint, by its shape alone (_values_lower_bound): what
    solver.distinct_values without the guard would answer "more" to, at a
    walk instead of sampling and queries (a loaded pointer plus an offset,
    most of a fixture's symbolic addresses)."""
    try:
        return _values_lower_bound(addr, limit + 1) > limit
    except RecursionError:
        return False


def _users_rsp(v) -> bool:
    """Whether an RSP of this value may be the user's (Explorer._user_context):
    a symbolic one, or a constant in the lower half or non-canonical: every
    stack of the model is a kernel-half address (the task and trampoline
    stacks, alloca regions, ESPFIX's alias, a static stack in the image), so
    a lower-half constant is a user address the path pinned RSP to (a check
    `regs->sp == K` before `add`ing the difference to RSP,
    adv_r125_pinned_user_rsp_window)."""
    return v.symbolic or v.concrete_value < 0xFFFF800000000000


def _z3(term):
    """claripy -> z3 (claripy memoises the conversion per AST)."""
    return claripy.backends.z3.convert(term)


def _search_bound(s, addr, lo: int, hi: int, lowest: bool) -> int:
    """The least (lowest) or greatest value addr can take in [lo, hi], given
    that it takes one there and none outside it: a binary search of
    satisfiability queries.  A solver failure raises (the caller's answer is
    then "unknown pointer")."""
    while lo < hi:
        if lowest:
            mid = (lo + hi) // 2
            if s.satisfiable(extra_constraints=[claripy.ULE(addr, mid)]):
                hi = mid
            else:
                lo = mid + 1
        else:
            mid = (lo + hi + 1) // 2
            if s.satisfiable(extra_constraints=[claripy.UGE(addr, mid)]):
                lo = mid
            else:
                hi = mid - 1
    return lo


def _interval(v):
    """A sound unsigned [lo, hi] for a bit-vector term, or None: constants,
    free symbols (their whole range), If (the hull), add/sub without
    wrap-around, and with a constant mask, shifts by a constant, zero
    extension, concatenation, extraction."""
    memo: dict = {}

    def go(n):
        h = n.hash()
        if h in memo:
            return memo[h]
        out = _interval_node(n, go)
        memo[h] = out
        return out

    try:
        return go(v)
    except RecursionError:
        return None


def _interval_node(n, go):
    op, bits = n.op, n.size()
    top = (1 << bits) - 1
    if op == "BVV":
        return (n.args[0], n.args[0])
    if op == "BVS":
        return (0, top)
    args = n.args
    if op == "If":
        a, b = go(args[1]), go(args[2])
        return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
    if op in ("__add__", "__sub__", "__and__", "__or__", "Concat") and not all(
            isinstance(a, claripy.ast.BV) for a in args):
        return None
    if op == "__add__":
        ivs = [go(a) for a in args]
        if any(i is None for i in ivs):
            return None
        lo, hi = sum(i[0] for i in ivs), sum(i[1] for i in ivs)
        return (lo, hi) if hi <= top else None
    if op == "__sub__" and len(args) == 2:
        a, b = go(args[0]), go(args[1])
        if a is None or b is None or a[0] - b[1] < 0:
            return None
        return (a[0] - b[1], a[1] - b[0])
    if op == "__and__":
        consts = [a.args[0] for a in args if a.op == "BVV"]
        if not consts:
            return None
        mask = top
        for c in consts:
            mask &= c
        return (0, mask)
    if op == "__or__":
        ivs = [go(a) for a in args]
        if any(i is None for i in ivs):
            return None
        hi = 0
        for i in ivs:
            hi |= (1 << i[1].bit_length()) - 1
        return (max(i[0] for i in ivs), min(hi, top))
    if op in ("__rshift__", "LShR") and args[1].op == "BVV":
        a, k = go(args[0]), args[1].args[0]
        if a is None:
            return None
        if op == "__rshift__" and a[1] >> (bits - 1):
            return None  # arithmetic shift of a value that may be negative
        return (a[0] >> k, a[1] >> k)
    if op == "__lshift__" and args[1].op == "BVV":
        a, k = go(args[0]), args[1].args[0]
        if a is None or (a[1] << k) > top:
            return None
        return (a[0] << k, a[1] << k)
    if op == "ZeroExt":
        return go(args[1])
    if op == "Extract":
        hi_bit, lo_bit, x = args
        a = go(x)
        width_top = (1 << (hi_bit - lo_bit + 1)) - 1
        if a is None or a[1] >> (hi_bit + 1):
            return (0, width_top)
        return (a[0] >> lo_bit, a[1] >> lo_bit)
    if op == "Concat":
        lo = hi = 0
        for a in args:
            i = go(a)
            if i is None:
                return None
            w = a.size()
            lo, hi = (lo << w) | i[0], (hi << w) | i[1]
        return (lo, hi)
    return None


def _concat(vals, sizes, _bits):
    out = 0
    for v, s in zip(vals, sizes):
        out = (out << s) | v
    return out


_FOLD = {
    "__add__": lambda vs, _s, _b: sum(vs),
    "__sub__": lambda vs, _s, _b: vs[0] - sum(vs[1:]),
    "__and__": lambda vs, _s, _b: __import__("functools").reduce(lambda x, y: x & y, vs),
    "__or__": lambda vs, _s, _b: __import__("functools").reduce(lambda x, y: x | y, vs),
    "__xor__": lambda vs, _s, _b: __import__("functools").reduce(lambda x, y: x ^ y, vs),
    "Concat": _concat,
}


# the words _word_stack_constants lists from bytes that are choices of
# constants (2 choices in each of 8 bytes: 256); more, and every stack region
# counts as exposed (_word_escape)
_MAX_WORD_CHOICES = 4096

# how far past machine.TASK a constant still points into the task_struct
# (6.1/6.12 cloud: under 16 KiB; a larger span only adds contexts)
TASK_SPAN = 0x10000


def _stack_constants(v, ex: Explorer) -> list[int]:
    """The 64-bit constants in a term that are stack addresses (a pointer to
    a frame the term may carry)."""
    return _constants_in(v, ex.is_stack, ex._stack_const_memo)


def _task_constants(v, ex: Explorer) -> list[int]:
    """The 64-bit constants in a term that point into the current task_struct
    (machine.TASK: the engine's address of the current task)."""
    return _constants_in(v, lambda c: machine.TASK <= c < machine.TASK + TASK_SPAN, ex._task_const_memo)


def _leaves(v, leaf, memo: dict) -> tuple:
    """What leaf(node) gives for each constant (BVV) node of a term, over
    the whole term, without repeats.  Memoised per AST node: terms are DAGs
    that share most of their nodes, and claripy's leaf walk revisits them
    (one memo per leaf function)."""
    if not isinstance(v, claripy.ast.Base):
        return ()
    todo = [v]
    while todo:
        node = todo[-1]
        h = node.hash()
        if h in memo:
            todo.pop()
            continue
        if node.op == "BVV":
            memo[h] = leaf(node)
            todo.pop()
            continue
        kids = [a for a in node.args if isinstance(a, claripy.ast.Base)]
        missing = [a for a in kids if a.hash() not in memo]
        if missing:
            todo.extend(missing)
            continue
        todo.pop()
        out: tuple = ()
        for a in kids:
            got = memo[a.hash()]
            if got:
                out = tuple(dict.fromkeys(out + got))
        memo[h] = out
    return memo[v.hash()]


def _constants_in(v, pred, memo: dict) -> list[int]:
    """The 64-bit constants c in a term with pred(c)."""
    return list(_leaves(v, lambda n: (n.args[0],) if n.size() == 64 and pred(n.args[0]) else (), memo))


def _makes_kernel_address(ins) -> bool:
    """A RIP- (or EIP-) relative `lea`, or an immediate or displacement in the
    kernel's address space (sign-extended: `mov $0xffffffff81000000,%rax`,
    `lea 0xffffffff81000000(,%rax,8),%rdx`; a 32-bit one cannot be a kernel
    address: the linker refuses R_X86_64_32 against one)."""
    if ins.mnemonic == "lea" and ("rip" in ins.op_str or "eip" in ins.op_str):
        return True  # (`eip`: a 0x67-prefixed lea, adv_r59_lea_eip_slot)
    if ins.kind != "plain" and ins.target is not None:
        return False  # (a direct branch's or call's target: no value of the state)
    for sign, digits in _HEX_NUMBER.findall(ins.op_str):
        v = int(digits, 16)
        if sign:  # (capstone shows a negative displacement as `- 0x7f000000`)
            v = (1 << 64) - v
        if _KERNEL_HALF <= v < _KERNEL_SPACE_TOP:
            return True
    return False


_HEX_NUMBER = re.compile(r"(-\s*)?0x([0-9a-f]+)")


_SIMD_OPERAND = re.compile(r"\b([xyz]mm\d+|st\(\d\)|st\b|mm\d\b|k[0-7]\b)")


def _vex_encoded(raw: bytes) -> bool:
    """A VEX (C4/C5) or EVEX (62) prefix after the legacy prefixes (in 64-bit
    mode these bytes are no other instruction's)."""
    i = 0
    while i < len(raw) and raw[i] in (0x66, 0x67, 0xF2, 0xF3, 0xF0, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65):
        i += 1
    return i < len(raw) and raw[i] in (0xC4, 0xC5, 0x62)


def _bvv_leaves(v, memo: dict) -> tuple:
    """The (value, bits, from a kernel address) of every constant leaf of a
    term (machine.KernelAddress on the leaf itself: claripy also moves an
    annotation onto what a simplification leaves, `(n + rsp) - rsp` giving
    the user's n, which is no constant; adv_r58_stack_ptrdiff_safe)."""
    return _leaves(v, lambda n: ((n.args[0], n.size(), machine.from_kernel_address(n)),), memo)


def _ite_leaves(t, memo: dict) -> list:
    """The values at the leaves of a term's If-tree (conditions aside)."""
    h = t.hash()
    if h not in memo:
        memo[h] = _ite_leaves(t.args[1], memo) + _ite_leaves(t.args[2], memo) if t.op == "If" else [t]
    return memo[h]


def _cr3_change(old, new, guard, pti, explored_write: bool) -> tuple:
    """How a loop body's CR3 (new, at a latch) differs from the head's (old):
    ("cr3", pti_only, linux_built).  pti_only: no model of the latch's path
    guard with PTI off has new != old (pti: the PTI feature's symbol, None
    without PTI in the image; a z3 query, unknown counting as no).
    linux_built: no CR3 write was read in the function's run
    (explored_write), so the body changes CR3 only through the CR3 it
    leaves after code it does not read (_fresh_cr3 with built_by_linux);
    then every value at the leaves of new's If-tree is a value at a leaf of
    old's (carried from the head) or one of those."""
    pti_only = pti is not None and solver.check(
        [claripy.backends.z3.convert(claripy.And(guard, claripy.Not(pti), new != old))], timeout_ms=5000).unsat
    carried = {t.hash() for t in _ite_leaves(old, {})}
    linux_built = not explored_write and all(t.hash() in carried or _is_linux_cr3(t) for t in _ite_leaves(new, {}))
    return ("cr3", pti_only, linux_built)


def _differences(head: MState, s: MState, pti=None, explored_write: bool = True) -> set:
    """Locations where a back edge's state is not structurally the head's
    (CR3: how, _cr3_change)."""
    out = set()
    for k in head.regs.keys() | s.regs.keys():
        if not same(head.get_slot(k), s.get_slot(k)):
            out.add(("reg", k))
    for a in head.mem.keys() | s.mem.keys():
        va = head.mem.get(a)
        vb = s.mem.get(a)
        if va is None or vb is None or not same(va, vb):
            if va is None and vb is None:
                continue
            out.add(("mem", a))
    if gen_key(head.gen) != gen_key(s.gen):
        out.add(("gen",))
    if not same(head.IF, s.IF):
        out.add(("IF",))
    if s.exposed - head.exposed:
        out.add(("exposed", frozenset(s.exposed)))
    if head.cr3 is not None and s.cr3 is not None and not same(head.cr3, s.cr3):
        out.add(_cr3_change(head.cr3, s.cr3, s.guard, pti, explored_write))
    for f in ("gs_kernel", "gs_bad", "irq_bad", "cr3_bad"):
        if not same(getattr(head, f), getattr(s, f)):
            out.add((f,))
    if not same(head.tf, s.tf):
        out.add(("tf",))
    if not same(head.sysfl, s.sysfl):
        out.add(("sysfl",))
    if s.irq_epoch > head.irq_epoch:
        out.add(("irq",))  # (a window in the body: Explorer._concurrent_read)
    for a in s.redzone - head.redzone:
        out.add(("mem", a))  # (below RSP in the body: any value at the head too)
    f = claripy.BoolV(False)
    for k in head.kstore.keys() | s.kstore.keys():
        if not same(head.kstore.get(k, f), s.kstore.get(k, f)):
            out.add(("kstore", k))
    return out
