"""The static control-flow graph of one function, with every boot-time and
run-time code variant, its loops, and a static SYSRET-reachability walk.

A node is (address, variant): variant None for the bytes on disk, or
(site address, index) for the index-th candidate bytes of a patch site.  At a
patch site the node (site, None) is a *choice*: its successors are the
candidates, each decoded from its own bytes and falling through to the end of
the site.  Pass order per function: decode every reachable instruction
(through every variant), group straight-line runs into blocks, find back
edges by depth-first search, order the rest topologically.

Control never ends at `hlt` or `int3` here or in the engine: the CPU resumes
after `hlt`, an `int3` may be a kprobe that resumes (DESIGN.md: a rule that
ends a path must be true of the CPU).  A `ud2` resumes when it may be a WARN;
one the image lists in neither __bug_table nor __ex_table is a "dead" end
(Program.after_ud2 has the argument), here, in the static walk and in the
engine alike.  `iretq` has successors decided by the engine from the frame it
pops.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import capstone

from ..image.encoding import (NEXT_FROM_STATE, SPECIAL, SYSRETQ, address_size_prefixed, ignored_rex, is_jump,
                              operand_size_prefixed, prefix_length, prefixed_system_insn, sysret_width,
                              ud1_length)
from ..image.patches import ALT_FLAG_DIRECT_CALL, ALT_FLAG_NOT, RETURN_THUNKS, TRACE_HOOKS, nops, nops_rewrite

_JCC_PREFIXES = ("j", "loop")
# kinds VEX lifts (a block may end with one); every other kind is modelled by the engine
LIFTED = ("plain", "jcc", "jmp", "call", "icall", "ret", "tail", "lcall")
# The most instructions one function's graph may hold.  A larger graph is
# refused (CfgError: whatever needs it is inconclusive, never proven), so the
# cap costs no soundness.  The largest graph a Debian kernel's check builds
# holds under 300 instructions; without a cap a jump into megabytes of int3
# padding (each int3 falls through: see above) was decoded one Insn at a time
# until the machine ran out of memory (18 GB, review 21).
MAX_FUNCTION_INSNS = 50_000


class CfgError(Exception):
    """The code cannot be laid out as a graph (undecodable, irreducible, ...)."""


@dataclass
class Insn:
    addr: int
    size: int
    mnemonic: str
    op_str: str
    raw: bytes
    target: int | None  # direct branch/call target
    kind: str  # "plain" | "jcc" | "jmp" | "ijmp" | "call" | "icall" | "ret" | "sysret" | "sysretl" | "iret" | "special" | "tail" | "dead" | "far"


MAX_BLOCK_INSNS = 64  # instructions in one lifted block (VEX's own limit is 99)

# instructions that change privilege level through MSRs, never falling
# through: a ring-0 SYSCALL/SYSENTER enters the kernel's own entry point,
# SYSEXIT returns to user mode (static_sysret_sites, entries.sysret_reaching)
MODE_SWITCHES = frozenset({"syscall", "sysenter", "sysexit", "sysexitq", "sysexitl"})


class Digraph:
    """The few directed-graph operations a function's CFG needs, in
    insertion order like networkx.DiGraph, whose import took ~90 ms in each
    of the check's two processes (and whose graph building was slower).
    tests/test_engine_units.py compares every operation with networkx on
    random graphs."""

    def __init__(self):
        self._succ: dict = {}
        self._pred: dict = {}

    def add_node(self, n) -> None:
        if n not in self._succ:
            self._succ[n] = {}
            self._pred[n] = {}

    def add_edge(self, u, v) -> None:
        self.add_node(u)
        self.add_node(v)
        self._succ[u][v] = None
        self._pred[v][u] = None

    @property
    def nodes(self) -> list:
        return list(self._succ)

    @property
    def edges(self) -> list:
        return [(u, v) for u, out in self._succ.items() for v in out]

    def successors(self, n):
        return iter(self._succ[n])

    def predecessors(self, n):
        return iter(self._pred[n])

    def out_degree(self, n) -> int:
        return len(self._succ[n])

    def topological_order(self) -> list:
        """Kahn's algorithm generation by generation, each in insertion
        order: networkx.topological_sort's order (the explorer's block
        order, which decides nothing but is kept as it was).  A cycle is a
        CfgError (the caller passes a graph without its back edges)."""
        indegree = {v: len(p) for v, p in self._pred.items() if p}
        zero = [v for v, p in self._pred.items() if not p]
        order = []
        while zero:
            generation, zero = zero, []
            for u in generation:
                for v in self._succ[u]:
                    indegree[v] -= 1
                    if not indegree[v]:
                        zero.append(v)
                        del indegree[v]
            order += generation
        if indegree:
            raise CfgError("a cycle left after removing the back edges")
        return order

    def ancestors(self, n) -> set:
        """Every node from which n is reachable (not n itself unless on a cycle
        through it: networkx.ancestors leaves n out either way)."""
        seen, work = set(), [n]
        while work:
            for p in self._pred[work.pop()]:
                if p not in seen:
                    seen.add(p)
                    work.append(p)
        seen.discard(n)
        return seen

    def immediate_dominators(self, root) -> dict:
        """node -> its immediate dominator, for every node but root reachable
        from root (root itself absent, as in the pinned networkx), by Cooper, Harvey and Kennedy's iteration over
        a reverse postorder ("A Simple, Fast Dominance Algorithm", 2001)."""
        post, seen, stack = [], {root}, [(root, iter(self._succ[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                post.append(node)
                stack.pop()
            elif nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(self._succ[nxt])))
        index = {n: i for i, n in enumerate(post)}  # postorder number
        idom = {root: root}
        rpo = post[::-1]
        changed = True
        while changed:
            changed = False
            for n in rpo[1:]:
                new = None
                for p in self._pred[n]:
                    if p not in idom:
                        continue  # (unprocessed yet, or unreachable from root)
                    if new is None:
                        new = p
                        continue
                    a, b = p, new
                    while a != b:
                        while index[a] < index[b]:
                            a = idom[a]
                        while index[b] < index[a]:
                            b = idom[b]
                    new = a
                if new is not None and idom.get(n) != new:
                    idom[n] = new
                    changed = True
        del idom[root]
        return idom


@dataclass
class Block:
    node: tuple
    insns: list
    code: bytes  # bytes to lift (plain instructions only)
    kind: str  # kind of the last instruction (see Insn.kind), or "choice" / "fall"
    succs: list = field(default_factory=list)  # successor nodes in order
    choices: list = field(default_factory=list)  # at a patch site: (node, label, cond)

    @property
    def addr(self) -> int:
        return self.node[0]

    @property
    def last(self) -> Insn:
        return self.insns[-1]


_MD = None


def _pushes_return_to(prog, iret_addr: int, nxt: int) -> bool:
    """The 5 bytes before the IRET at iret_addr are `pushq $nxt` (68 imm32,
    sign-extended): the iret-to-self idiom."""
    try:
        b = prog.fetch_raw(iret_addr - 5, 5)
    except CfgError:
        return False
    return len(b) == 5 and b[0] == 0x68 and \
        int.from_bytes(b[1:], "little", signed=True) & 0xFFFFFFFFFFFFFFFF == nxt


def _md():
    global _MD
    if _MD is None:
        _MD = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        _MD.detail = True
    return _MD


# Encodings capstone 5 does not know, with no operands (SDM): SERIALIZE
# (sync_core() on CPUs that have it, finish_task_switch in 6.1).
_UNKNOWN_TO_CAPSTONE = {b"\x0f\x01\xe8": "serialize"}


# Intel TSX/RTM: VEX lifts xbegin as an immediate abort (the transaction
# never starts), so the path where it does would be lost
RTM_INSNS = frozenset({"xbegin", "xend", "xabort", "xtest"})
# Instructions after which the CPU leaves some arithmetic flags undefined
# (Intel SDM Vol. 2 / AMD APM Vol. 3, each instruction's "Flags Affected") or
# which VEX's model gets wrong: VEX (with angr's flag helpers) computes one
# definite value for each, but CPUs differ (review 40: an AMD EPYC keeps
# SF/ZF/AF/PF across mul/imul and clears them after div; VEX's `bt` clears
# ZF, which the SDM says is unaffected; angr's unsigned-multiply helper
# derives CF/OF from the low half's sign).  Each is its own block
# (kind "special"), run by VEX and then given the flags the CPU defines
# (Explorer._cpu_flags); the undefined ones are fresh.
FLAG_UNDEFINED_INSNS = frozenset({
    "bt", "bts", "btr", "btc", "mul", "imul", "div", "idiv", "bsf", "bsr",
    "shl", "sal", "shr", "sar", "rol", "ror", "rcl", "rcr", "shld", "shrd", "lahf",
    # BMI1/BMI2: PF and AF undefined (BEXTR: SF too), where angr's helpers
    # fix PF = AF = 0 and an AMD EPYC computes the parity (review 41)
    "andn", "bextr", "blsi", "blsmsk", "blsr", "bzhi"})


# Prefixes that leave a control transfer what it is, which capstone writes
# into the mnemonic: BND (F2, MPX: "bnd call", "bnd jne"), NOTRACK (3E on an
# indirect branch under CET: "notrack jmp", GCC's jump tables with
# -fcf-protection), REP/REPZ before RET (AMD's `repz ret`), and their
# combinations ("bnd notrack call").  A rule that asks "is this a call?"
# must see `call` (adv_r74_bnd_call, _rep_ret, _notrack_jmp: the IF
# analysis and the summaries once stepped over them as plain instructions).
_TRANSFER_PREFIXES = frozenset({"bnd", "notrack", "rep", "repz", "repe", "repne", "repnz"})


def transfer_mnemonic(m: str) -> str:
    """`bnd call` -> `call`, `repz ret` -> `ret`, `notrack jmp` -> `jmp`;
    any other mnemonic unchanged (`rep stosb` keeps its prefix)."""
    words = m.split(" ")
    if len(words) > 1 and all(w in _TRANSFER_PREFIXES for w in words[:-1]) \
            and words[-1].startswith(("call", "jmp", "ret", "j", "loop")):
        return words[-1]
    return m


class _Reread:
    """A capstone instruction seen with its transfer_mnemonic, or with the
    length the CPU gives it (ud1_length); every other attribute is the
    instruction's own."""
    __slots__ = ("_ci", "mnemonic", "size", "bytes", "_writes")

    def __init__(self, ci, mnemonic: str, size: int, raw, writes=()):
        self._ci = ci
        self.mnemonic = mnemonic
        self.size = size
        self.bytes = raw
        self._writes = tuple(writes)

    def regs_access(self):
        read, written = self._ci.regs_access()
        return read, list(written) + [r for r in self._writes if r not in written]

    def __getattr__(self, name):
        return getattr(self._ci, name)


def disasm_one(md, data: bytes, addr: int):
    """The instruction at addr (capstone's, through md), or None; a
    prefixed control transfer reads as its plain form (transfer_mnemonic),
    a UD1 has its ModRM (ud1_length), and a UD0 is None: its length is the
    vendor's (Intel `0f ff /r`, AMD `0f ff` alone), so no reading of what
    follows it is sure."""
    ci = next(md.disasm(data, addr, 1), None)
    if ci is None or ci.mnemonic == "ud0":
        return None
    if ci.mnemonic == "ud1":
        n = ud1_length(data)
        return None if n is None else _Reread(ci, "ud1", n, bytearray(data[:n]))
    if ci.mnemonic == "bswap" and ci.operands and ci.operands[0].size == 2:
        # `66 0f c8+r`: capstone lists no register written; the SDM leaves
        # the result undefined (adv_r76_bswap16_rbx: `bswap %bx` read as
        # keeping RBX)
        return _Reread(ci, "bswap", ci.size, ci.bytes, writes=(ci.operands[0].reg,))
    m = transfer_mnemonic(ci.mnemonic)
    if m != ci.mnemonic:
        return _Reread(ci, m, ci.size, ci.bytes)
    return ci


def addr32_memory(ci) -> bool:
    """Whether a capstone instruction addresses memory in 32 bits (a 0x67
    prefix and a memory operand, `lea` included: encoding.
    address_size_prefixed).  The summaries, the IF analysis and the
    TS_COMPAT pass name a memory operand by its base register widened to
    64 bits, which would take (u32)%rax for %rax: none of them models such
    an instruction (VEX, in the engine, computes its address exactly)."""
    raw = getattr(ci, "bytes", None)  # (the no-operand stand-ins for SERIALIZE have none)
    return raw is not None and address_size_prefixed(bytes(raw)) and any(
        op.type == capstone.x86.X86_OP_MEM for op in ci.operands)


def decode(addr: int, data: bytes) -> Insn | None:
    ci = next(_md().disasm(data, addr, 1), None)
    if ci is None:
        for raw, m in _UNKNOWN_TO_CAPSTONE.items():
            if data.startswith(raw):
                return Insn(addr, len(raw), m, "", raw, None, "special")
        return None
    m = transfer_mnemonic(ci.mnemonic)
    raw = bytes(ci.bytes)
    size = ci.size
    if m == "ud1":
        size = ud1_length(data)  # (the CPU's length, with its ModRM)
        if size is None:
            return None
        raw = bytes(data[:size])
    target = None
    ops = ci.operands
    if (is_jump(ci) or ci.group(capstone.CS_GRP_CALL)) \
            and len(ops) == 1 and ops[0].type == capstone.x86.X86_OP_IMM:
        target = ops[0].imm & 0xFFFFFFFFFFFFFFFF
    is_cr = any(op.type == capstone.x86.X86_OP_REG and ci.reg_name(op.reg).startswith("cr") for op in ops)
    sw = sysret_width(raw)
    if prefixed_system_insn(raw) or m in RTM_INSNS or m == "ud0" or (m == "bswap" and ops and ops[0].size == 2):
        # an instruction capstone misreads, or a transaction (xbegin's abort
        # edge, xend's #GP outside one: VEX's models always abort): no
        # model, the explorer refuses it.  So is UD0: Intel reads a ModRM
        # after `0f ff`, AMD does not (disasm_one); and a 16-bit BSWAP,
        # whose result the SDM leaves undefined
        kind = "far"
    elif sw is not None:
        # any prefixes and REX: sysretq iff the effective REX.W is 1, else the
        # 32-bit sysretl (compat return); image/encoding.py has the argument
        kind = "sysret" if sw == SYSRETQ else "sysretl"
    elif m.startswith("sysret"):
        raise CfgError(f"{addr:#x}: `{raw.hex()}` decodes as {m} but is no SYSRET encoding known to the classifier")
    elif m.startswith("iret"):
        kind = "iret"
    elif m.startswith(("retf", "lret", "ljmp", "lcall")) or (m in ("jmp", "call") and ci.op_str.startswith("ptr")):
        kind = "far"  # a far transfer (CS:RIP from memory or the stack): no model
    elif m.split(" ")[-1] in NEXT_FROM_STATE:
        kind = "far"  # control goes on where machine state says (encoding.NEXT_FROM_STATE): no model
    elif m == "jmp":
        kind = "jmp" if target is not None else "ijmp"
    elif m.startswith(_JCC_PREFIXES):
        if target is None:
            raise CfgError(f"{addr:#x}: conditional branch without a direct target")
        kind = "jcc"
    elif m == "call":
        kind = "call" if target is not None else "icall"
    elif m.startswith("ret"):
        kind = "ret"
    elif m in SPECIAL or m.split(" ")[-1] in SPECIAL or is_cr or ignored_rex(raw) or \
            m.split(" ")[-1] in FLAG_UNDEFINED_INSNS:
        # (an ignored REX: VEX would apply it; Explorer._special refuses it)
        kind = "special"
    else:
        kind = "plain"
    if kind in ("jmp", "ijmp", "jcc", "call", "icall", "ret") and operand_size_prefixed(raw):
        # a 0x66-prefixed near branch: AMD reads a rel16 and truncates IP,
        # Intel ignores the prefix (encoding.operand_size_prefixed); capstone
        # decodes Intel's reading only, so no model (adv_r21_amd_jcc16_skip)
        kind = "far"
    return Insn(ci.address, size, m, ci.op_str, raw, target, kind)


def target_node(program, target: int, vk) -> tuple:
    """The node a direct branch goes to: inside the patch-site candidate it
    was decoded from (RSB stuffing's `call 1f` in a replacement), that
    candidate's bytes; elsewhere the bytes on disk."""
    if vk is not None:
        site, i = vk
        if site <= target < site + len(program.site_choices(site)[i][0]):
            return (target, vk)
    return (target, None)


def _mark_dead(program, ins: Insn, in_variant: bool) -> None:
    """A `ud2` after which the task dies ends control (kind "dead").  Only
    bytes on disk: bug-table entries name on-disk addresses."""
    if ins.mnemonic == "ud2" and not in_variant and program.after_ud2(ins.addr) == "dies":
        ins.kind = "dead"


class FunctionCfg:
    """CFG of the code reachable from `entry` without entering other functions."""

    def __init__(self, program, entry: int):
        self.program = program
        self.entry = entry
        self.blocks: dict[tuple, Block] = {}
        self.graph = Digraph()
        self._build()
        self._loops()

    def _check_pads(self, insns: dict, nexts: dict) -> None:
        """Call-depth padding (Program.pad_entry) is entered only at its
        start: boot's thunk there is one instruction, and code that enters
        it elsewhere (a branch into it, the function's entry, an instruction
        that runs into it) runs its bytes from the middle, which nothing
        models (adv_r160_callthunk_pad_mid_jump).  The NOPs after the
        padding's start are reached by falling through from it only."""
        prog = self.program
        skl = prog._thunk_size
        if not skl:
            return
        on_disk = sorted(n[0] for n in insns if n[1] is None)
        pads: set = set()
        i = 0
        while i < len(on_disk):  # (contiguous runs: a .cold part is another)
            j = i
            while j + 1 < len(on_disk) and on_disk[j + 1] - on_disk[j] <= 16:
                j += 1
            pads.update(prog.thunk_pads_in(on_disk[i], on_disk[j] + 16 - on_disk[i]))
            i = j + 1
        if not pads:
            return
        for n, ins in insns.items():
            if n[1] is None and prog.pad_entry(n[0], max(ins.size, 1)) < 0 and \
                    not any(p < n[0] < p + skl for p in pads):
                raise CfgError(f"{n[0]:#x}: an instruction runs into call-depth padding")
        inner = {p + k for p in pads for k in range(1, skl)}
        if self.entry in inner:
            raise CfgError(f"{self.entry:#x}: the function starts inside call-depth padding")
        for n, ss in nexts.items():
            src = insns.get(n)
            for s2 in ss:
                if s2[1] is None and s2[0] in inner and not (
                        src is not None and n[1] is None and src.kind == "plain" and n[0] + src.size == s2[0]
                        and (n[0] in inner or n[0] in pads)):
                    raise CfgError(f"{n[0]:#x}: control enters call-depth padding other than at its start")

    # -- pass 1: instructions --------------------------------------------------
    def _build(self):
        prog = self.program
        insns: dict[tuple, Insn] = {}
        nexts: dict[tuple, list] = {}
        choice_nodes: dict[tuple, list] = {}
        work = [(self.entry, None)]
        seen = set()
        while work:
            node = work.pop()
            if node in seen:
                continue
            seen.add(node)
            addr, vk = node
            if vk is None and addr in prog.sites and node != ("__no_site__",):
                cands = prog.site_choices(addr)
                choice_nodes[node] = cands
                succ = []
                for i, (code, label, cond) in enumerate(cands):
                    n2 = (addr, (addr, i))
                    succ.append(n2)
                    work.append(n2)
                nexts[node] = succ
                continue
            if vk is None:
                try:
                    data = prog.fetch(addr, 16)
                except CfgError:
                    # not code: a block that makes any path reaching it inconclusive
                    insns[node] = Insn(addr, 0, "(not code)", "", b"", None, "void")
                    nexts[node] = []
                    continue
            else:
                site, i = vk
                code = prog.site_choices(site)[i][0]
                off = addr - site
                if off >= len(code):
                    raise CfgError(f"{addr:#x}: variant decoding ran past its site")
                data = code[off:]
            ins = decode(addr, data)
            if ins is None:
                raise CfgError(f"{addr:#x}: undecodable instruction")
            if (prog.site_inside(addr, ins.size) if vk is None else prog.rewritten_inside(addr, ins.size)) \
                    is not None:
                # an on-disk instruction that runs into a patch site, or any
                # instruction with an address boot rewrites from strictly
                # inside it: what runs is not in the bytes
                # (Program.site_inside); any path reaching it is inconclusive
                insns[node] = Insn(addr, 0, "(not code)", "", b"", None, "void")
                nexts[node] = []
                continue
            if prog.runtime_consts_in(addr, ins.size):
                # an immediate rewritten at boot: its own block, whose
                # meaning Explorer._runtime_const gives (or refuses)
                ins.kind = "special"
            insns[node] = ins
            if len(insns) > MAX_FUNCTION_INSNS:
                raise CfgError(f"{self.entry:#x}: the function's graph exceeds {MAX_FUNCTION_INSNS} instructions")
            nxt_addr = addr + ins.size
            if vk is not None and nxt_addr >= vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
                if nxt_addr != vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
                    raise CfgError(f"{addr:#x}: variant instruction crosses the end of its site")
                fall = (nxt_addr, None)
            else:
                fall = (nxt_addr, vk)
            succ = []
            _mark_dead(prog, ins, vk is not None)
            k = ins.kind
            if k == "jmp" and prog.is_return_thunk(ins.target, jump=True):
                ins.kind = k = "ret"
            elif k == "jmp" and prog.is_tail_call(ins.target, self.entry):
                ins.kind = k = "tail"
            if k == "call" and prog.start_name(ins.target) is None:
                # a call to a local label (return-stack stuffing, retpolines):
                # a push and a jump inside this function, never a callee
                ins.kind = k = "lcall"
            if k in ("jmp", "lcall"):
                succ = [target_node(prog, ins.target, vk)]
            elif k == "jcc":
                succ = [fall, target_node(prog, ins.target, vk)]
            elif k in ("call", "icall", "plain", "special"):
                succ = [fall]
            elif k == "iret":
                # an IRET to the kernel goes on at the popped RIP; the engine
                # follows it only to the next instruction, the iret-to-self
                # of sync_core() (`pushq $1f; iretq; 1:`), so only an iretq
                # right after that push has the edge.  Without it an IRET
                # that may return to the kernel is inconclusive
                # (Explorer._iret_frame), so leaving it out is always sound;
                # with it, native_irq_return_iret (whose next instruction
                # starts native_irq_return_ldt, the ESPFIX path that jumps
                # back to the iretq) would be a loop through an IRET
                succ = [fall] if _pushes_return_to(prog, addr, fall[0]) else []
            elif k in ("ret", "ijmp", "sysret", "sysretl", "tail", "dead", "far"):
                succ = []
            for s2 in succ:
                if s2[1] is None and s2[0] != self.entry and prog.runtime_target(s2[0]):
                    # a static call trampoline or a thunk entered by a jcc, a
                    # jmp that is no tail call or a fall-through: its bytes
                    # are not what runs (static_call_update() retargets a
                    # trampoline), and only a call or tail call models that
                    # (adv_r131_sct_jcc_tail_followed)
                    raise CfgError(f"{addr:#x}: control enters {prog.symbolize(s2[0])}, retargeted at run time, "
                                   "otherwise than by a call or a tail call")
            nexts[node] = succ
            work.extend(succ)
        self._check_pads(insns, nexts)
        # -- pass 2: blocks ---------------------------------------------------------
        preds: dict[tuple, int] = {}
        for n, ss in nexts.items():
            for s in ss:
                preds[s] = preds.get(s, 0) + 1
        preds[(self.entry, None)] = preds.get((self.entry, None), 0) + 1
        starts = [n for n in nexts if n in choice_nodes or preds.get(n, 0) != 1 or n == (self.entry, None)]
        for n, ss in nexts.items():
            ins = insns.get(n)
            if ins is None or ins.kind != "plain" or len(ss) != 1:
                starts.extend(ss)
            if ins is not None and ins.kind not in LIFTED:
                starts.append(n)  # a modelled instruction is a block of its own
        for n in choice_nodes:
            for s in nexts[n]:
                starts.append(s)
        starts = set(starts)
        pending = list(starts)
        while pending:
            n = pending.pop()
            if n in self.blocks:
                continue
            if n in choice_nodes:
                b = Block(n, [], b"", "choice", list(nexts[n]), [
                    (s, label, cond) for s, (code, label, cond) in zip(nexts[n], choice_nodes[n])])
                self.blocks[n] = b
                continue
            if n not in insns:
                continue
            run = [insns[n]]
            cur = n
            while insns[cur].kind == "plain" and len(nexts[cur]) == 1:
                nx_ = nexts[cur][0]
                if nx_ in starts or nx_ not in insns or insns[nx_].kind not in LIFTED:
                    break
                if len(run) >= MAX_BLOCK_INSNS:
                    # (VEX lifts at most 99 instructions into one IRSB: a
                    # longer straight run, 700 `add`s in
                    # adv_r74_capfail_level, was "VEX cannot lift"; it is
                    # cut into blocks joined by their fall-through edge)
                    pending.append(nx_)
                    break
                cur = nx_
                run.append(insns[cur])
            last = insns[cur]
            code = b"".join(i.raw for i in run) if last.kind in LIFTED else b""
            b = Block(n, run, code, last.kind if last.kind != "plain" else "fall", list(nexts[cur]))
            self.blocks[n] = b
        for n, b in self.blocks.items():
            self.graph.add_node(n)
            for s in b.succs:
                if s not in self.blocks:
                    raise CfgError(f"{s[0]:#x}: successor is not a block start")
                self.graph.add_edge(n, s)

    # -- pass 3: loops and order -----------------------------------------------------
    def _loops(self):
        """Retreating edges of a depth-first search from the entry cut every
        cycle (reducible or not).  The engine's loop rule needs no more: a
        state arriving over a retreating edge must be covered by its target's
        widened state, whichever way it entered the cycle (explore.py)."""
        g = self.graph
        root = (self.entry, None)
        back, color = set(), {root: 1}
        stack = [(root, iter(sorted(g.successors(root), key=repr)))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                color[node] = 2
                stack.pop()
                continue
            c = color.get(nxt, 0)
            if c == 1:
                back.add((node, nxt))
            elif c == 0:
                color[nxt] = 1
                stack.append((nxt, iter(sorted(g.successors(nxt), key=repr))))
        self.back_edges = back
        dag = Digraph()
        for n in g.nodes:
            dag.add_node(n)
        for u, v in g.edges:
            if (u, v) not in back:
                dag.add_edge(u, v)
        self.order = dag.topological_order()
        self.loop_heads = {v for _, v in back}
        self._distances: dict = {}
        # retreating edges whose target does not dominate their source: a
        # cycle entered other than through that head (an irreducible loop).
        # The engine's loop rule widens the head's state by what a latch
        # state changes, but keeps the head's path condition, which a path
        # that entered the cycle elsewhere need not meet
        # (adv_r65_irreducible_skip_checks: `if (nr & 1) goto B`, around the
        # checks): Explorer.function refuses such a function
        self.irreducible = set()
        if back:
            dom = g.immediate_dominators(root)

            def dominates(h, n):
                while n != h:
                    up = dom.get(n)
                    if up is None or up == n:
                        return False
                    n = up
                return True

            self.irreducible = {(u, v) for u, v in back if not dominates(v, u)}

    def ipdom(self, node):
        """The immediate post-dominator of `node` in this function's CFG (the
        first block every path from it reaches), or None when that is only
        the function's end (a return, a tail call, a SYSRET, code that never
        comes back: every block without a successor here leads to one
        virtual exit; a block that reaches no such end has none either).
        Explorer._branch_regions: a branch's region ends there."""
        pd = self.__dict__.get("_ipdom")
        if pd is None:
            exit_ = ("exit",)
            rev = Digraph()
            for n in self.graph.nodes:
                rev.add_node(n)
            for u, v in self.graph.edges:
                rev.add_edge(v, u)
            for n in self.graph.nodes:
                if self.graph.out_degree(n) == 0:
                    rev.add_edge(exit_, n)
            pd = rev.immediate_dominators(exit_)
            self._ipdom = pd
        d = pd.get(node)
        return None if d is None or d == ("exit",) else d

    def reaching_calls(self, targets: frozenset) -> frozenset:
        """Nodes from which a call to one of `targets` is reachable along
        forward edges.  Only a preference for the witness search."""
        key = ("calls", targets)
        r = self._distances.get(key)
        if r is None:
            out = {n for n, b in self.blocks.items() if b.kind in ("call", "tail") and b.last.target in targets}
            for n in reversed(self.order):
                if n not in out and any(s in out and (n, s) not in self.back_edges for s in self.blocks[n].succs):
                    out.add(n)
            r = self._distances[key] = frozenset(out)
        return r

    def reaching(self, kinds: frozenset) -> frozenset:
        """Nodes from which a block of one of `kinds` is reachable over any
        edges (loops included)."""
        key = ("reaching", kinds)
        r = self._distances.get(key)
        if r is None:
            out = set()
            for n, b in self.blocks.items():
                if b.kind in kinds and n not in out:
                    out.add(n)
                    out |= self.graph.ancestors(n)
            r = self._distances[key] = frozenset(out)
        return r

    def distance_to(self, kinds: frozenset) -> dict:
        """node -> the fewest blocks from it to a block of one of `kinds`
        along forward (non-retreating) edges; nodes that reach none are
        absent.  Only a preference for the witness search (explore.py)."""
        d = self._distances.get(kinds)
        if d is None:
            d = {n: 0 for n, b in self.blocks.items() if b.kind in kinds}
            for n in reversed(self.order):
                if n in d:
                    continue
                best = [d[s] for s in self.blocks[n].succs if s in d and (n, s) not in self.back_edges]
                if best:
                    d[n] = 1 + min(best)
            self._distances[kinds] = d
        return d


def static_sysret_sites(program, entry: int, fixed: dict, max_nodes: int = 20000,
                        kinds: tuple = ("sysret",), widths: dict | None = None, irets: set | None = None,
                        calls: set | None = None) -> set:
    """Every SYSRET instruction a walk from `entry` can reach when the features
    in `fixed` (feature number -> bool) are set that way and every other
    choice is open: jumps and fall-through (after hlt, int3 and listed ud2s too),
    direct calls assumed to return (and followed too where they go to a local
    label or into the entry text), and each candidate of each patch site.
    The engine must have explained every site found here; a variant where it
    reached none of them is not proven by that (DESIGN.md).
    widths: if given, filled with site -> "sysretq" | "sysretl".
    irets: if given, filled with the IRETs the walk stopped at, and the
    `ret`s outside every call it followed: where an IRET goes is the
    frame's, and such a `ret` the stack's, which the walk does not know, so
    an empty answer with one on the way does not show that no SYSRET is
    reachable (an IRET to CPL 0 goes on in the kernel:
    adv_r65_la57_iret_bypass; `pushq $label; ret`: adv_r68_la57_pushret_walk).
    calls: if given, filled with the direct calls' targets the walk took to
    return to the next instruction without walking them (functions outside
    the entry text): an empty answer shows no SYSRET only where each of them
    does return there (a callee that moves its return address goes on
    elsewhere: adv_r66_la57_call_skips_walk; the caller checks their
    summaries, which read their stack use)."""
    found = set()
    seen = set()
    # (node, inside a call the walk followed): a `ret` outside every one
    # returns to an address the entry's own code planted (`pushq $label;
    # ret`: adv_r68_la57_pushret_walk), which the walk does not follow
    work = [((entry, None), False)]
    n = 0
    while work:
        item = work.pop()
        if item in seen:
            continue
        seen.add(item)
        node, in_call = item
        n += 1
        if n > max_nodes:
            raise CfgError("static SYSRET walk too large")
        addr, vk = node
        if vk is None and addr in program.sites:
            for i, (code, label, cond) in enumerate(program.site_choices(addr)):
                if cond_allows(cond, fixed):
                    work.append(((addr, (addr, i)), in_call))
            continue
        if vk is None:
            data = program.fetch(addr, 16)
        else:
            data = program.site_choices(vk[0])[vk[1]][0][addr - vk[0]:]
        ins = decode(addr, data)
        if ins is None:
            raise CfgError(f"{addr:#x}: undecodable instruction in the static walk")
        inside = program.site_inside(addr, ins.size) if vk is None else program.rewritten_inside(addr, ins.size)
        if inside is not None:
            raise CfgError(f"{addr:#x}: an instruction that runs into the patch site (or boot-rewritten byte) at "
                           f"{inside:#x} in the static walk")
        if ins.target is not None and program.runtime_consts_in(addr, ins.size):
            raise CfgError(f"{addr:#x}: a branch whose displacement is rewritten at boot (runtime constant)")
        nxt = addr + ins.size
        fall = (nxt, vk)
        if vk is not None and nxt >= vk[0] + len(program.site_choices(vk[0])[vk[1]][0]):
            fall = (nxt, None)
        if program.has_fixup(addr):
            # a fault here continues at an exception-table fixup the walk
            # does not follow: it cannot show that no SYSRET is reachable.
            # (The table names run-time addresses: an instruction of a patch
            # site's code has the entry of its address too, as the XRSTOR
            # an alternative puts at its site has EX_TYPE_FPU_RESTORE's.)
            raise CfgError(f"{addr:#x}: instruction with an exception-table fixup in the static walk")
        _mark_dead(program, ins, vk is not None)
        k = ins.kind
        if k in kinds:
            found.add(addr)
            if widths is not None:
                widths[addr] = "sysretq" if k == "sysret" else "sysretl"
            continue
        if k in ("jmp", "jcc", "tail") and ins.target is not None and (
                program.start_name(ins.target) or "").startswith(INDIRECT_THUNK_PREFIXES):
            # JMP_NOSPEC: an indirect jump (adv_r120_int80_jmp_nospec_exit)
            raise CfgError(f"{addr:#x}: indirect jump (a retpoline thunk) in the static walk")
        if k == "jmp" and not program.is_return_thunk(ins.target, jump=True):
            if program.in_entry_text(ins.target) or not program.is_tail_call(ins.target, entry):
                work.append((target_node(program, ins.target, vk), in_call))
            continue
        if k == "jcc":
            work.append((target_node(program, ins.target, vk), in_call))
        if k == "call" and ins.target is not None and calls is not None and not (
                program.start_name(ins.target) is None or program.in_entry_text(ins.target)):
            calls.add(ins.target)
        if k == "call" and ins.target is not None and (
                program.start_name(ins.target) is None or program.in_entry_text(ins.target)):
            # a call to a local label or into the entry text may be a jump
            # (`call 2f; ...; 2: add $8, %rsp; jmp ...` of return stack
            # stuffing drops its return address: adv_r23_entry2_call_island);
            # its fall-through is walked too
            work.append((target_node(program, ins.target, vk), True))
        if k in ("ijmp", "far"):
            # where it goes is not in the bytes: the walk cannot show that no
            # SYSRET is reachable
            raise CfgError(f"{addr:#x}: {'indirect jump' if k == 'ijmp' else 'far transfer'} in the static walk")
        if ins.mnemonic in MODE_SWITCHES and not fixed.get(program.feature_xenpv):
            # `syscall`/`sysenter` in ring 0 go to MSR_LSTAR / SYSENTER_EIP
            # (an entry, on the kernel's GS base: adv_r112_la57_compat_
            # syscall_insn), `sysexit` returns to user mode: none falls
            # through, and where they go is in MSRs the walk does not read.
            # A Xen PV guest's kernel runs at CPL 3, where `syscall` is a
            # hypercall into Xen (xen_iret's HYPERVISOR_iret, the hypercall
            # page's stubs), which returns or, for iret, leaves to the frame
            # Xen pops: read as before under the xenpv variant
            raise CfgError(f"{addr:#x}: `{ins.mnemonic}` in the static walk")
        if irets is not None and not in_call and (k == "ret" or (k in ("jmp", "tail") and ins.target is not None
                                                                 and program.is_return_thunk(ins.target, jump=True))):
            irets.add(addr)
        if irets is not None and (k == "icall" or (k == "call" and ins.target is not None and (
                program.start_name(ins.target) or "").startswith(INDIRECT_THUNK_PREFIXES))):
            # (an indirect call goes where the walk does not know, and may
            # not return to the next instruction: adv_r69_la57_icall_entry;
            # so does CALL_NOSPEC's `call __x86_indirect_thunk_rax`, which
            # boot may turn into `call *%rax`: adv_r115_la57_retpoline_call_walk)
            irets.add(addr)
        if k in ("jmp", "ret", "tail", "sysret", "sysretl", "dead"):
            continue
        if k == "iret":
            # an IRET may return to the kernel: the walk does not know where
            # (the engine decides from the frame); its fall-through is not code
            if irets is not None:
                irets.add(addr)
            continue
        work.append((fall, in_call))
    return found


# the retpoline thunks an indirect call or jump is compiled into (the call
# or jump to one is an indirect branch on the register its name gives)
INDIRECT_THUNK_PREFIXES = ("__x86_indirect_thunk_", "__x86_indirect_call_thunk_", "__x86_indirect_jump_thunk_",
                           "__x86_indirect_its_thunk_")


def cond_allows(cond, fixed: dict) -> bool:
    """cond: ("features", [assignment dict, ...]) or ("key", site) or ("always",)."""
    if cond[0] != "features":
        return True
    for assign in cond[1]:
        if all(fixed.get(f, v) == v for f, v in assign.items()):
            return True
    return False


def _table_index(e) -> int | None:
    try:
        return int(e.source.rsplit("[", 1)[1].rstrip("]"))
    except (IndexError, ValueError):
        return None


def _padded_lengths(entries) -> dict | None:
    """The length each entry writes under 6.10+'s apply_alternatives(),
    which gives every run of consecutive .altinstructions entries at one
    address the longest instrlen of the run ("nested ALTERNATIVE()s ... find
    the max padding for all alt_instr entries for this site"), so a shorter
    entry's replacement is padded with NOPs over the whole site
    (adv_r80_nested_alt_pad); None when entries of differing lengths at
    this address are not all consecutive in the table (a reading this
    model does not make: refused)."""
    lengths = {e.length for e in entries}
    if len(lengths) == 1:
        return {id(e): e.length for e in entries}
    idx = sorted(_table_index(e) for e in entries if _table_index(e) is not None)
    if len(idx) != len(entries) or idx != list(range(idx[0], idx[0] + len(idx))):
        return None
    longest = max(lengths)
    return {id(e): longest for e in entries}


def alternative_choices(entries, orig: bytes, feature_always: int | None):
    """Candidates of an alternative site: apply_alternatives() patches in table
    order, each entry replacing the bytes when its feature (inverted under
    ALT_FLAG_NOT) is set at boot.  Returns [(code, label, cond)], cond a list
    of feature assignments under which that code runs.  Entries at one
    address may differ in length (nested ALTERNATIVE_2): up to 6.9 an entry
    writes its own instrlen bytes and the bytes past it stay as they were;
    from 6.10 the run's entries write the longest length, padded with NOPs
    (_padded_lengths).  The image does not say which rule its kernel has:
    both readings are candidates."""
    feats = sorted({e.feature for e in entries if e.feature != feature_always})
    padded = _padded_lengths(entries)
    readings = [None] if padded is None or all(padded[id(e)] == e.length for e in entries) else [None, padded]
    results: dict[bytes | None, tuple] = {}
    for reading in readings:
        for bits in range(1 << len(feats)):
            assign = {f: bool(bits >> i & 1) for i, f in enumerate(feats)}
            code, label = orig, "on-disk"
            for e in entries:
                on = True if e.feature == feature_always else assign[e.feature]
                if e.flags & ALT_FLAG_NOT:
                    on = not on
                if not on:
                    continue
                if e.flags & ALT_FLAG_DIRECT_CALL:
                    # 6.12 alt_replace_call: a direct call to what the pv_ops slot
                    # holds at boot, which the image does not fix: exactly what the
                    # on-disk `call *slot(%rip)` does when run (an unknown call)
                    code = None if code is None else orig[:e.length] + code[e.length:]
                    label = f"{e.detail}: direct call through data, run as the on-disk indirect call"
                    if reading is not None and code is not None and reading[id(e)] > e.length:
                        code = None  # (a direct call padded over bytes it does not own: no model)
                        label = f"{e.detail}: direct call padded to the site's longest entry"
                else:
                    # an entry patches its own instrlen bytes (or, 6.10+, the
                    # run's longest); the bytes past it stay as they were
                    v = e.variants[1] if len(e.variants) > 1 else None
                    if v is None or v.code is None:
                        code, label = None, f"{e.detail}: replacement not relocatable"
                    else:
                        new = bytes(v.code)
                        if reading is not None and reading[id(e)] > len(new):
                            pad = reading[id(e)] - len(new)
                            if nops_rewrite(new + b"\x90" * pad):
                                code, label = None, f"{e.detail}: padded replacement rewritten by optimize_nops()"
                                continue
                            new = new + nops(pad)
                        if len(new) < len(orig):
                            new = None if code is None else new + code[len(new):]
                        code, label = new, v.label
            key = code
            if key in results:
                results[key][2].append(assign)
            else:
                results[key] = (code, label, [assign])
    if padded is None and len({e.length for e in entries}) > 1:
        results[None] = (None, "entries of different lengths at one address, not consecutive in the table", [{}])
    return [(c, lab, ("features", conds)) for c, lab, conds in results.values()]
