"""Layer 3, the symbolic machine.

The concrete frame the proof runs in, and what each modelled event does to a
state.  Addresses below are arbitrary but fixed: the proof never depends on
their values, only on the regions being distinct (assumption
`private-regions`).

- user registers at SYSCALL are fresh symbols (`user_rax` ... `user_rsp`); the
  CPU has put the user RIP in RCX and the user RFLAGS in R11 (SDM SYSCALL);
- %gs base is PERCPU_BASE; the per-CPU slots that give the current task, its
  stack top, the TSS sp0 and `this_cpu_off` hold concrete pointers (identity of
  the current task and CPU); every other per-CPU byte is a fresh symbol;
- the current task_struct is at TASK; thread_info flags/status are fresh;
- memory nothing wrote reads as a fresh symbol (the image's .data is never
  loaded: runtime state is not the image's initial value).
"""
from __future__ import annotations

import logging
import os
from hashlib import blake2b
from itertools import chain

import claripy
import z3
from claripy.backends.backend_z3 import BackendZ3
from claripy.ast.base import Base


# The parent packages of angr's VEX helpers, loaded empty (their __init__s
# import all of angr), and the one module of theirs the helpers import only
# to unwrap SimActionObjects (angr's action-tracking wrappers, which exist
# only inside angr states: never in the prover's terms).
_HELPER_PACKAGES = ("angr", "angr.engines", "angr.engines.vex", "angr.engines.vex.claripy", "angr.state_plugins")
_vex_helpers = None


def vex_helpers():
    """(ccall, irop): angr's claripy translations of VEX's flag helpers
    (amd64g_calculate_condition, ...) and IR operations, the modules
    angr.engines.vex.claripy.{ccall,irop}, for the prover (verify/prove).

    Unless angr is already imported, they are loaded without angr's package
    __init__s, which import all of angr (about 1-2 s of one core; the two
    modules and what they import: 0.1 s).  The code that runs is angr's own,
    unchanged; only the package shells around it are empty, and the
    SimActionObject they test arguments against is a class nothing is an
    instance of (in angr too, the prover's claripy terms never are one).
    Afterwards every `angr.*` entry this load made is taken out of
    sys.modules again, so a later `import angr` (benchmarks/naive_angr.py) gets the
    whole of angr, its own copies of these modules included."""
    global _vex_helpers
    if _vex_helpers is not None:
        return _vex_helpers
    import importlib
    import sys
    import types

    if "angr" in sys.modules:
        from angr.engines.vex.claripy import ccall, irop

        _vex_helpers = (ccall, irop)
        return _vex_helpers
    import importlib.util

    root = importlib.util.find_spec("angr").submodule_search_locations[0]
    before = set(sys.modules)
    try:
        for name in _HELPER_PACKAGES:
            pkg = types.ModuleType(name)
            pkg.__path__ = [os.path.join(root, *name.split(".")[1:])]
            sys.modules[name] = pkg
        actions = types.ModuleType("angr.state_plugins.sim_action_object")

        class SimActionObject:
            """Nothing is one (see above)."""

        actions.SimActionObject = SimActionObject
        actions._raw_ast = lambda a: a.ast if isinstance(a, SimActionObject) else a
        sys.modules[actions.__name__] = actions
        ccall = importlib.import_module("angr.engines.vex.claripy.ccall")
        irop = importlib.import_module("angr.engines.vex.claripy.irop")
    finally:
        for name in set(sys.modules) - before:
            if name == "angr" or name.startswith("angr."):
                del sys.modules[name]
    _vex_helpers = (ccall, irop)
    return _vex_helpers


def _z3_solver(self, timeout=None, max_memory=None):
    """claripy's BackendZ3.solver, without its per-call `str(param_descrs())`
    (it asks z3 to print every solver parameter to see whether one exists,
    each time angr checks a branch: a quarter of the run time on 6.1)."""
    if self.reuse_z3_solver:
        return _CLARIPY_SOLVER(self, timeout, max_memory)
    s = z3.Solver(ctx=self._context)
    if timeout is not None:
        if _SOFT_TIMEOUT[0] is None:
            _SOFT_TIMEOUT[0] = "soft_timeout" in str(s.param_descrs())
        if _SOFT_TIMEOUT[0]:
            s.set("soft_timeout", timeout)
            s.set("solver2_timeout", timeout)
        else:
            s.set("timeout", timeout)
    if max_memory is not None:
        s.set("max_memory", max_memory)
    return s


_SOFT_TIMEOUT = [None]
_CLARIPY_SOLVER = BackendZ3.solver
BackendZ3.solver = _z3_solver


def _shared_variables_new(cls, op, args, add_variables=None, hash=None, symbolic=None, variables=None, *rest, **kw):
    """claripy's Base.__new__, with an AST's `variables` set shared with its
    child's when that child's set already holds every other child's (the
    usual case: If(guard, a, b) under a guard that names the path's
    symbols).  claripy builds a new frozenset for every AST; on Debian's
    generic 6.12 the PTI exit's `btr %rdi, %gs:cpu_tlbstate.user_pcid_flush_mask`
    (a 256-byte bit-string store, Explorer.store) and the merges after it
    made ~3,000 ASTs whose sets each named the guard's ~600 symbols, 32 KiB
    apiece: ~160 MiB, and the compat entries then stopped at the memory
    budget.  Only memory changes: the set is equal by value (a subset of the
    shared one's union is that union), frozensets are immutable, and the
    hash-consing key (Base._calc_hash: op, args, annotations, length) does
    not read it."""
    if variables is None and hash is None:
        args = args if type(args) is tuple else tuple(args)
        big = None
        for a in args:
            if isinstance(a, Base) and (big is None or len(a.variables) > len(big)):
                big = a.variables
        if big is not None:
            variables = big if all(a.variables is big or a.variables <= big for a in args if isinstance(a, Base)) \
                else frozenset(chain.from_iterable(a.variables for a in args if isinstance(a, Base)))
    return _CLARIPY_BASE_NEW(cls, op, args, add_variables, hash, symbolic, variables, *rest, **kw)


_CLARIPY_BASE_NEW = Base.__new__
Base.__new__ = _shared_variables_new


def _calc_hash_128(op, args, annotations, length) -> int:
    """claripy's Base._calc_hash with a 128-bit digest instead of 64 bits.
    An AST's hash is its identity: claripy hash-conses on it (two terms
    with one hash are one object) and the prover's memos key on it
    (state.same, the explorer's).  64 bits fall to a birthday search (about
    2^32 hashes, an hour of one core) over the masks and displacements of
    a kernel an attacker writes, as z3's 32-bit hash did in seconds
    (adv_r196_memo_hash): two different addresses would then be one term.
    The serialisation is claripy's, a child by its (now 16-byte) hash."""
    return int.from_bytes(blake2b(Base._ast_serialize(op, args, annotations, length), digest_size=16).digest(),
                          "little")


def _arg_serialize_128(arg) -> bytes:
    if isinstance(arg, Base):
        return arg._hash.to_bytes(16, "little")
    return _CLARIPY_ARG_SERIALIZE(arg)


# Terms made before the patch (`import angr` first makes a few) keep their
# 64-bit hashes, and the same term made after it would be a second object:
# the prover refuses to run then (prove.check_image).  benchmarks/naive_angr.py
# imports angr first and never runs it.
TERMS_BEFORE_128_BIT_HASH = len(Base._hash_cache)
_CLARIPY_ARG_SERIALIZE = Base._arg_serialize
Base._calc_hash = staticmethod(_calc_hash_128)
Base._arg_serialize = staticmethod(_arg_serialize_128)
logging.getLogger("claripy").setLevel(logging.CRITICAL)
logging.getLogger("pyvex").setLevel(logging.CRITICAL)
logging.getLogger("cle").setLevel(logging.CRITICAL)

class _Provenance(claripy.Annotation):
    """An annotation claripy keeps on every term computed from the one it
    is on, through folding too (relocatable, not eliminatable); one
    instance per kind, equal to every other of its kind."""

    @property
    def eliminatable(self) -> bool:
        return False

    @property
    def relocatable(self) -> bool:
        return True

    def __eq__(self, other) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self).__name__)


class KernelAddress(_Provenance):
    """On a constant that is a kernel address (the image's link addresses,
    the machine's regions below), and on every term computed from one:
    claripy keeps it through folding, so `(ret_ip >> 21) & 511` (a small
    constant, the KASLR text slot: adv_r16_kaslr_slot_cookie) still says
    where it came from.  Explorer.kernel_taint counts a value with a
    constant leaf carrying it as kernel data."""


KERNEL_ADDRESS = KernelAddress()


class ImplicitFlow(_Provenance):
    """On a value explored code wrote to a register or memory while a branch
    on kernel data had not yet rejoined (Explorer._branch_regions: between
    the branch and its immediate post-dominator), and on every term
    computed from one: `if (secret & 1) r12 = 0` after POP_REGS leaves R12
    the user's value or zero, each harmless alone, but which of the two is
    the secret's bit (adv_r43_reg_zero_after_pop).  no-kernel-data does not
    accept a register whose value may carry it (decide.implicit_mark)."""


IMPLICIT_FLOW = ImplicitFlow()


def implicit_flow(value):
    """value, marked as written under a branch on kernel data (ImplicitFlow)."""
    return value if has_implicit_flow(value) else value.annotate(IMPLICIT_FLOW)


def has_implicit_flow(value) -> bool:
    return any(isinstance(a, ImplicitFlow) for a in value.annotations)


class ModelLiteral(_Provenance):
    """On a constant the image's code writes down (an immediate, or
    arithmetic on immediates alone) whose value lands in one of the
    machine's own regions (the task stack, the trampoline stack, the current
    task, the per-CPU area, the alloca regions: the model's stand-ins for
    places the kernel chooses at run time), and on every term computed from
    one.  At run time such a literal is some other memory: an access
    through it is one through an unknown pointer (Explorer.load/store,
    adv_r66_movabs_task_clear)."""


MODEL_LITERAL = ModelLiteral()


def is_model_literal(term) -> bool:
    return isinstance(term, Base) and any(isinstance(a, ModelLiteral) for a in term.annotations)


def kernel_address(value: int, bits: int = 64):
    """A kernel-address constant (KernelAddress)."""
    return claripy.BVV(value, bits).annotate(KERNEL_ADDRESS)


class Placed(claripy.Annotation):
    """On an address that is where the kernel put its region (a RIP value, a
    return or stack address, and those plus or minus a plain offset:
    Explorer.const, placed_op), and on nothing computed from it: claripy
    drops it from every operation's result (eliminatable, not
    relocatable), so `p & mask`, whose value may equal a placed address,
    is no placed address (adv_r60_rip_mask_diff), and a literal equal to
    one is not either (adv_r60_start_kernel_literal)."""

    @property
    def eliminatable(self) -> bool:
        return True

    @property
    def relocatable(self) -> bool:
        return False

    def __eq__(self, other) -> bool:
        return isinstance(other, Placed)

    def __hash__(self) -> int:
        return hash("Placed")


PLACED = Placed()


def is_placed(term) -> bool:
    return isinstance(term, Base) and PLACED in term.annotations


def from_kernel_address(term) -> bool:
    """Whether a term was computed from a kernel-address constant."""
    return isinstance(term, Base) and any(isinstance(a, KernelAddress) for a in term.annotations)


PERCPU_BASE = 0xFFFF888100000000
STACK_TOP = 0xFFFFC90000008000  # task stack top (cpu_current_top_of_stack)
TRAMPOLINE_TOP = 0xFFFFFE0000003000  # entry trampoline stack (TSS sp0)
TASK = 0xFFFF888200000000  # current task_struct
SCRATCH = 0xFFFFFFFFFF000000  # where reads/writes through unknown pointers are sent
# the kernel image's mapping (__START_KERNEL_map) and the modules above it, up to the fixmap
KERNEL_TEXT_SPAN = (0xFFFFFFFF80000000, 0xFFFFFFFFFF000000)
STACK_LIMIT = STACK_TOP - 0x4000
# MSRs whose values SYSRET or the next SYSCALL consume (SDM vol. 2 SYSCALL,
# SYSRET; vol. 4; msr-index.h): EFER (SCE: SYSRET is #UD without it), STAR
# (SYSRET's CS/SS), LSTAR/CSTAR (the entry points), SYSCALL_MASK (the RFLAGS
# bits SYSCALL clears: IF, TF, AC, DF), GS_BASE and KERNEL_GS_BASE (the GS
# base the exit SWAPGS loads).  None of them is modelled: a write that may
# reach one is no verdict.
SYSCALL_MSRS = {0xC0000080: "MSR_EFER", 0xC0000081: "MSR_STAR", 0xC0000082: "MSR_LSTAR",
                0xC0000083: "MSR_CSTAR", 0xC0000084: "MSR_SYSCALL_MASK", 0xC0000101: "MSR_GS_BASE",
                0xC0000102: "MSR_KERNEL_GS_BASE"}
MSR_GS_BASE, MSR_KERNEL_GS_BASE = 0xC0000101, 0xC0000102
# The analysis' own record of user-ASID flushes owed (a private region, no
# kernel address): bit i set = user_pcid_flush_mask's bit i was cleared on
# this path and no CR3 write to ASID i's user tables has flushed it since
# (Explorer._dropped_user_flush; adv_r18_pti_btr_noflush)
PCID_FLUSH_OWED = 0xFFFF888400000000
# sizeof(tlb_state.user_pcid_flush_mask): `unsigned short` (6.1 and 6.12
# arch/x86/include/asm/tlbflush.h); `bt` with a larger ASID reads the bytes
# after it, which are other per-CPU data, not flush bits
PCID_FLUSH_MASK_BYTES = 2
# CONFIG_X86_ESPFIX64 (arch/x86/kernel/espfix_64.c, init_espfix_ap): this
# CPU's ESPFIX stack is written at espfix_waddr (the page's direct-map
# address) and read at espfix_stack | (X & 0xffff0000) for any X, 65536
# read-only aliases of that page (bits 31:16 of espfix_stack are zero).
# Our stand-ins: a direct-map page of its own, and an alias base in the ESPFIX
# area (ESPFIX_BASE_ADDR, P4D slot -2) with bits 31:16 and 15:0 clear.
ESPFIX_WADDR = 0xFFFF888300000000
ESPFIX_STACK = 0xFFFFFF0000000000
ESPFIX_ALIAS_MASK = 0xFFFFFFFF0000FFFF  # the bits every alias shares with espfix_stack

USER_REGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
CALLER_SAVED = ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11")
CALLEE_SAVED = ("rbx", "rbp", "r12", "r13", "r14", "r15", "rsp")



class Frame:
    """Kernel-specific addresses of the machine, derived from the image layout."""

    def __init__(self, layout, this_cpu_off: int | None):
        self.layout = layout
        self.pt_regs = STACK_TOP - layout.pt_regs_size.value
        # per-CPU variables: %gs-relative under SMP, plain globals on a
        # uniprocessor kernel (layout.percpu_gs)
        base = PERCPU_BASE if layout.percpu_gs.value else 0
        self.percpu_identity = {
            "current_task": (base + layout.current_task.value, TASK),
            "top_of_stack": (base + layout.top_of_stack.value, STACK_TOP),
            "tss_sp0": (base + layout.tss_sp0.value, TRAMPOLINE_TOP),
        }
        if layout.espfix_waddr is not None:
            self.percpu_identity["espfix_waddr"] = (base + layout.espfix_waddr.value, ESPFIX_WADDR)
            self.percpu_identity["espfix_stack"] = (base + layout.espfix_stack.value, ESPFIX_STACK)
        if this_cpu_off is not None and layout.percpu_gs.value:
            self.percpu_identity["this_cpu_off"] = (PERCPU_BASE + this_cpu_off, PERCPU_BASE)
        # the per-CPU entry stack page: the trampoline stack's memory under
        # its per-CPU address (the model keeps the trampoline at
        # TRAMPOLINE_TOP, so stores there are refused: Explorer.store)
        self.entry_stack_page = None if layout.entry_stack is None else (
            base + layout.entry_stack[0].value, layout.entry_stack[1].value)
        self.pcid_flush_mask = None if layout.pcid_flush_mask is None else base + layout.pcid_flush_mask.value
        self.ti_flags = TASK + layout.ti_flags.value
        self.ti_status = TASK + layout.ti_status.value


_fresh_counter = [0]


def fresh(name: str, bits: int = 64, unique: bool = True):
    """A new symbol.  With unique=False the caller guarantees the name is
    fresh on its own path (engine names havocs by call site and per-path
    count), so that two paths with the same history get the *same* symbols
    and can be joined."""
    if not unique:
        return claripy.BVS(name, bits, explicit_name=True)
    _fresh_counter[0] += 1
    return claripy.BVS(f"{name}#{_fresh_counter[0]}", bits, explicit_name=True)


# Mnemonics whose first (memory) operand is only read.  Capstone's access
# flags miss some writes (cmpxchg's destination is marked read-only, and
# movnti, movq/movd/movss from a vector register, pextr*, fstp, stmxcsr,
# fnstcw, rol/rcl m,1 are not reliably marked): a memory first operand is
# taken as written unless the mnemonic is one of these.
FIRST_OPERAND_READ_ONLY = {
    "cmp", "test", "bt", "push", "call", "jmp", "lea", "invlpg", "invlpga", "verw", "verr", "lgdt", "lidt", "lldt",
    "ltr", "lmsw", "ldmxcsr", "vldmxcsr", "ptest", "vptest", "monitor", "umonitor", "cldemote", "lsl",
    "lar", "bound", "fldcw", "fldenv", "frstor", "fxrstor", "fxrstor64", "xrstor", "xrstors", "xrstor64",
    "xrstors64", "incsspq", "ucomiss", "ucomisd", "comiss", "comisd", "vucomiss", "vucomisd", "vcomiss",
    "vcomisd", "ljmp", "lcall"}
# (not `kmov*`: with a memory first operand it is the store form, `kmovw
# m16, k`, which capstone marks read-only; the load form has the memory
# second.  Not `clzero`: it zeroes the cache line at [RAX].)
FIRST_OPERAND_READ_ONLY_PREFIXES = ("nop", "prefetch", "clflush", "clwb", "fld", "fild", "fbld", "fcom", "fucom",
                                    "ficom", "fadd", "fsub", "fmul", "fdiv", "fiadd", "fisub", "fimul", "fidiv",
                                    "bnd", "cmps", "scas", "lods", "outs", "j")


# Instructions that store to memory through an address no memory operand
# names (capstone gives them none, or a register operand): clzero ([RAX]'s
# cache line), maskmovq/maskmovdqu ([RDI]), movdir64b/enqcmd(s) (the address
# in their register operand), the SGX and PCONFIG leaves (addresses in
# RBX/RCX/RDX by leaf).  A reader of stores treats each as a store through
# an unknown pointer.
IMPLICIT_MEMORY_STORES = frozenset({
    "clzero", "maskmovq", "maskmovdqu", "vmaskmovdqu", "movdir64b", "enqcmd", "enqcmds", "encls", "enclu", "enclv",
    "pconfig"})


# the bytes an x87/SSE/XSAVE state save stores (SDM Vol. 1 8.1.10, 10.5;
# None: XSAVE's image size depends on XCR0 and the features); capstone
# gives fnsave's operand 4 bytes and fxsave/xsave's 8 (adv_r45_fnsave_extent,
# adv_r57_fnsave_current_ts)
# (SGDT/SIDT store a 10-byte pseudo-descriptor in 64-bit mode, SDM Vol. 2B:
# capstone prints no size, adv_r141_sgdt_status)
STATE_SAVE_BYTES = {"sgdt": 10, "sidt": 10,
                    "fnsave": 108, "fsave": 108, "fnstenv": 28, "fstenv": 28, "fxsave": 512, "fxsave64": 512,
                    **{m: None for m in ("xsave", "xsave64", "xsaveopt", "xsaveopt64", "xsavec", "xsavec64",
                                         "xsaves", "xsaves64")}}


def store_extent(mnemonic: str, operand_size: int) -> int | None:
    """The bytes a store through a memory operand writes: the operand's
    size, or a state save's image (STATE_SAVE_BYTES); None when not fixed."""
    return STATE_SAVE_BYTES.get(mnemonic.split(" ")[-1], operand_size or None)


def memory_written(mnemonic: str, operand_index: int, capstone_says_written: bool) -> bool:
    """Whether an instruction's memory operand is written: capstone's flag,
    or a first operand of any mnemonic not known to only read it."""
    if capstone_says_written:
        return True
    op = mnemonic.split(" ")[-1]
    return operand_index == 0 and op not in FIRST_OPERAND_READ_ONLY and \
        not op.startswith(FIRST_OPERAND_READ_ONLY_PREFIXES)
