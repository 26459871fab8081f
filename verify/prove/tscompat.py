"""What a summarised callee does to TS_COMPAT in the current task's
thread_info.status, read off its code.

`ts-compat-clear` asks whether the bit is clear at SYSRET.  The exit path
clears it (6.1 and 6.12: arch_exit_to_user_mode_prepare(),
arch/x86/include/asm/entry-common.h, `current_thread_info()->status &=
~(TS_COMPAT | TS_I386_REGS_POKED)`) in the middle of a long C function whose
exit-work loop comes first, and the code after the clear stores through
pointers and reaches static calls (preempt_schedule) and so havocs all
memory in a call summary.  Following it exactly costs minutes; a havoc loses
the bit.  This module computes, per function, the one thing the obligation
needs, by a data-flow pass over the function's CFG (callees by their own
effect, recursively):

    KEEP      the bit at every return is the bit at entry
    CLEAR     the bit is 0 at every return
    MAYCLEAR  the bit at every return is at most the bit at entry
    ANY       unknown

Instruction rules (P = byte offset of the bit in task_struct, i.e.
thread_info.status, TS_COMPAT = 0x2; "covers P" = the bytes written, at the
displacement plus any offset the base register may hold from the current
task, include P):
- a store of an immediate that covers P with the bit set (or, mov, xor, add,
  adc, sub, sbb, bts, btc, xchg...) through ANY base may set the bit: ANY.  An
  immediate `and`/`btr`/`mov` without the bit, through a register that holds
  the current task pointer on every path here (a must-analysis: loaded from
  the per-CPU current_task slot, copied, offset by constants), clears it:
  CLEAR; through another base it may clear it: at most MAYCLEAR;
- a store of a non-immediate value (register, cmpxchg, string store, pop)
  covering P through a register that may hold the current task pointer
  anywhere in the function (a flow-insensitive may-analysis) may set it: ANY;
  the pointer is read from the per-CPU slot through an operand naming it,
  or through a register holding the slot's address (this_cpu_ptr: any
  load, a string load or move, a push; MaySet._cpa_step), and followed
  through registers and the function's own stack slots;
- while RSP may point into the current task (loaded from, or computed
  with, such a pointer; `leave` with RBP one), every instruction may store
  over the bit -- a push, a call, `enter`, an interrupt's frame: ANY
  (MaySet._lite_rsp, TsCompatEffects._track_rsp);
- an exception-table fixup, an indirect jump, iret/sysret/a far transfer,
  code that is not code, the syscall dispatch, recursion or a function too
  large to read: ANY;
- a `ud2` the image lists as dying ends the path (assumption
  ud2-not-listed-dies, as in the engine); int3 and hlt fall through.
What this cannot see is named, not guessed: assumption `ts-compat-writers`.
TS_COMPAT is thread-synchronous (arch/x86/include/asm/thread_info.h, 6.1
and 6.12: "nobody else ever touches our thread-synchronous status") and the
kernel sets it only with `current_thread_info()->status |= TS_COMPAT` (compat
syscall entry, arch/x86/entry/common.c; a 32-bit exec, __set_personality_ia32
in arch/x86/kernel/process_64.c; arch_uprobe_get_xol_area in
arch/x86/kernel/uprobes.c, cleared again before it returns).  So (1) a callee
whose target the image does not fix (indirect or static call) does not set
it in the current task, and (2) a store through a pointer that does not come
from current_task (read by the function, handed to it in an argument by a
direct caller, or returned by a direct callee: all three are followed) does
not write it; a pointer loaded from memory other than the function's own
stack is not the current task.  Every summarised call site whose bit
survives a havoc because of this records the assumption.
"""
from __future__ import annotations

import bisect
import functools
import itertools
import re
import struct
import types
from dataclasses import dataclass

import capstone

from .. import machine
from ..image.btf import BtfError
from ..image.encoding import NEXT_FROM_STATE, ignored_rex, lite_decode, operand_size_prefixed
from ..image.patches import TRACE_HOOKS
from .cfg import CfgError, FunctionCfg, addr32_memory

KEEP, CLEAR, MAYCLEAR, ANY = "keep", "clear", "mayclear", "any"
MAX_DEPTH = 40
MAX_UNIT = 16  # functions one pass reads as one (a hot part and the .cold parts it jumps into)
# The reading of the functions summarised callees can reach stops after
# this many data-flow passes (a pass per function that reads current_task,
# calls one whose return may carry it, or is handed the pointer; 6.12's exit
# path: ~5,700 functions in the closure, ~2,000 passes since every caller of
# __rcu_read_lock, which leaves current in RDX, is read; 6.1: ~2,000; the
# uniprocessor 6.12 kernel, without BTF, reaches any budget: with no
# prototype every callee is handed the caller's stack slots, and each
# frame's layout is another context), so that a kernel whose exit path
# reaches further keeps its check time: the rest is then inconclusive, as
# without this analysis (its callees are then followed by the refinement
# rounds).  Measured (twenty-eighth session): the three Debian kernels
# need 1,570-1,610 passes; the uniprocessor kernel and its two seeded
# variants give the same verdicts at 3,000 as at 6,000, 5-8 s sooner
# (12,000 gave them 30 s later).  A count, so the machine's load cannot
# change it.
READ_LIMIT_PASSES = 3000
MAX_CTX_DEPTH = 12  # callees handed the pointer, nested
_ARG_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
# An argument register beyond a callee's BTF prototype that holds the
# pointer is passed as a "ghost": an offset no store can reach the field
# from.  Compiled code never reads such a register; a callee that uses a
# ghost (a store through it or of it, passing it on, returning it) refutes
# its prototype and is flagged (_ghostly).
_GHOST = 1 << 60
# the ftrace hook (patches.TRACE_HOOKS): patched to a NOP or to a trampoline
# that saves and restores every register around the tracers (indirect:
# assumptions ts-compat-writers and ftrace-callbacks), never a callee with
# arguments
_TRACE_HOOKS = TRACE_HOOKS
_GHOST_TAG = frozenset({(_GHOST, False)})


_GHOST_WHY = "uses an argument register its BTF prototype does not have"


def _ghostly(tags) -> bool:
    return tags is not None and tags is not _NO_TAG and any(k >= _GHOST // 2 for k, _o in tags)
_COLD = re.compile(r"(.+)\.cold(?:\.\d+)?$")
_STACK_OPS = ("push", "pop", "enter", "leave", "ret", "call")
# bytes above RSP the engine's state is searched for a task pointer passed as
# a stack argument to a callee without a BTF prototype (the task stack's
# frames above a syscall's callee: well under this)
_ENGINE_STACK_ARGS = 4096
SYSCALL_TABLES = ("sys_call_table", "ia32_sys_call_table", "x32_sys_call_table", "x64_sys_call", "ia32_sys_call",
                  "x32_sys_call")

_X = capstone.x86
_MOV_LIKE = {"mov", "movabs"}
# (INS too: `rep insb` writes RCX bytes from a port at RDI, adv_r141_rep_insb_status)
# instructions that may set DF (EFLAGS.DF: a string instruction then runs
# downwards)
_DF_SETTERS = ("std", "popf", "popfq", "iretq", "iret", "iretd")
_STRING_STORES = ("stosb", "stosw", "stosd", "stosq", "movsb", "movsw", "movsd", "movsq", "insb", "insw", "insd")
# functions MaySet._df_reach reads at most from one function before it
# answers "may set DF"
DF_REACH_LIMIT = 400


def _pads_whole(prog, f: int, end: int, insns: list):
    """insns (an extent's linear decode, [f, end)) with every call-depth
    padding in it (Program.pad_entry) as the one instruction boot's thunk
    is there, so that no branch lands inside it (the pass then finds no
    instruction at the target: unreadable); or a string when an
    instruction runs into one (adv_r160_callthunk_pad_mid_jump)."""
    pads = prog.thunk_pads_in(f, end - f) if prog._thunk_size else ()
    if not pads:
        return insns
    if not prog.thunk_template_ok:
        # (boot's thunk is not the one `sarq` this takes it for: Program.pad_entry)
        return f"call-depth padding at {prog.symbolize(pads[0])} holds a thunk this pass does not model"
    skl = prog._thunk_size
    out = []
    for x in insns:
        a = x[0]
        p = next((p for p in pads if p <= a < p + skl or a < p < a + x[1]), None)
        if p is None:
            out.append(x)
        elif a == p:
            out.append((p, skl, "nop", ""))
        elif not (out and out[-1][0] == p and p < a and a + x[1] <= p + skl):
            return f"code at {prog.symbolize(a)} runs into call-depth padding at {prog.symbolize(p)}"
    return out


def _sets_df(insns: list, sites: dict) -> bool:
    """Whether lite-decoded code (and its patch sites' candidates) has an
    instruction that may set DF."""
    return any(_base_mnemonic(x[2]) in _DF_SETTERS for x in insns) or any(
        _base_mnemonic(y[2]) in _DF_SETTERS for _length, cands in sites.values() for cand in cands for y in cand)


def _direct_targets(insns: list, sites: dict) -> set:
    """The targets of the direct calls and jumps of lite-decoded code."""
    out = set()
    for x in itertools.chain(insns, (y for _length, cands in sites.values() for cand in cands for y in cand)):
        m = _base_mnemonic(x[2])
        if (m == "call" or m == "jmp" or m.startswith(("j", "loop"))) and x[3].startswith("0x"):
            out.add(int(x[3], 16))
    return out


@dataclass(frozen=True)
class Effect:
    kind: str
    why: str = ""
    assumed: bool = False  # relies on assumption ts-compat-writers


def join(a: str | None, b: str | None) -> str | None:
    if b is None:
        return a
    if a is None or a == b:
        return b
    if ANY in (a, b):
        return ANY
    return MAYCLEAR  # any two of KEEP, CLEAR, MAYCLEAR


def then(state: str, callee: str) -> str:
    """The bit's relation to function entry after a callee with this effect
    (None: the callee never returns)."""
    if state is None or callee is None:
        return None
    if callee == KEEP:
        return state
    if callee == CLEAR:
        return CLEAR
    if callee == MAYCLEAR:
        return CLEAR if state == CLEAR else (ANY if state == ANY else MAYCLEAR)
    return ANY


def _reg64(md, r) -> str | None:
    from .summary import _GPR64

    if r == 0:
        return None
    n = md.reg_name(r)
    return _GPR64.get(n, n)


class TsCompatEffects:
    def __init__(self, program):
        self.program = program
        lay = program.layout
        base = machine.PERCPU_BASE if lay.percpu_gs.value else 0
        self.current_slot = base + lay.current_task.value
        self.bit = program.constants.get("TS_COMPAT", 0x2)
        low = (self.bit & -self.bit).bit_length() - 1  # the bit's index
        self.byte = lay.ti_status.value + low // 8  # P: its byte in task_struct
        self.bit_in_byte = low % 8
        self._memo: dict[int, Effect] = {}
        self._active: set[int] = set()
        self.may_set = MaySet(self)
        # every symbol through which a syscall runs: a function that names one
        # may set TS_COMPAT (a 32-bit exec)
        self.syscall_tables = {a for n in SYSCALL_TABLES if (a := program.symbols.get(n)) is not None}
        self._ci: dict = {}
        self._read_addrs: dict[int, set] = {}  # function -> instructions its backward pass read

    # -- public ------------------------------------------------------------------
    def of(self, target: int | None, name: str | None = None, top: bool = True) -> Effect:
        prog = self.program
        if target is None:
            return Effect(KEEP, "an indirect call", assumed=True)
        if target in prog.dispatch:
            return Effect(ANY, "the syscall dispatch")
        if name is None:
            name = prog.start_name(target)
        if prog.runtime_target(target):
            return Effect(KEEP, f"{name}, retargeted at run time", assumed=True)
        hit = self._memo.get(target)
        if hit is not None:
            return hit
        if target in self._active:
            return Effect(ANY, f"recursion through {prog.symbolize(target)}")
        if not top:
            # a callee inside a summary: read precisely only when something
            # in its closure may set the bit (a cheap whole-closure scan)
            why = self.may_set.of(target)
            if why is None:
                # nothing it reaches sets the bit: it keeps it, or clears it
                # where it (or a function it calls) clears it through current
                if not self.may_set.clears_in_closure(target):
                    hit = Effect(KEEP, "nothing it can reach writes TS_COMPAT", assumed=True)
                elif not self.may_set.clears_near(target) or len(self._active) >= MAX_DEPTH:
                    hit = Effect(MAYCLEAR, "nothing it can reach sets TS_COMPAT", assumed=True)
                else:
                    self._active.add(target)
                    try:
                        hit = self._compute(target)
                    except CfgError:
                        hit = Effect(ANY, "")
                    finally:
                        self._active.discard(target)
                    if hit.kind in (ANY, KEEP):
                        hit = Effect(MAYCLEAR, "nothing it can reach sets TS_COMPAT", assumed=True)
                self._memo[target] = hit
                return hit
            if len(self._active) >= MAX_DEPTH or self.may_set.over_budget:
                return Effect(ANY, why)
        if top:
            # the closure's returns carrying the pointer found first (the
            # walk goes on past setters): the passes the precise one reads
            # are then made knowing them
            why = self.may_set.of(target)
            if self.may_set.over_budget:
                # a walk cut by the budget stopped before that fixpoint:
                # passes made before a return was known would stand
                # (review 100)
                return Effect(ANY, why)
        self._active.add(target)
        try:
            hit = self._compute(target)
        except CfgError as e:
            hit = Effect(ANY, str(e))
        finally:
            self._active.discard(target)
        self._memo[target] = hit
        if top:
            # decoded instructions with operand details are large: a
            # summary's effect is computed once, then they go
            self._ci.clear()
            _release_freed_memory()
        return hit

    # -- one function --------------------------------------------------------------
    def _decode(self, ins):
        key = (ins.addr, ins.raw)
        ci = self._ci.get(key)
        if ci is None:
            from .cfg import _md, disasm_one

            ci = disasm_one(_md(), ins.raw, ins.addr) or _NoOperands(ins)
            self._ci[key] = ci
        return ci

    def _mem_addr_is_current(self, ci, op) -> bool:
        m = op.mem
        if m.index != 0:
            return False
        nxt = ci.address + ci.size
        # (es/cs/ss/ds overrides: base 0 in 64-bit mode)
        flat = m.segment in (0, _X.X86_REG_ES, _X.X86_REG_CS, _X.X86_REG_SS, _X.X86_REG_DS)
        if m.segment == _X.X86_REG_GS and m.base in (0, _X.X86_REG_RIP):
            if not self.program.layout.percpu_gs.value:
                return False
            a = machine.PERCPU_BASE + m.disp + (nxt if m.base else 0)
        elif self.program.layout.percpu_gs.value:
            # (with per-CPU data %gs-relative, only a %gs: operand names the
            # slot: a flat absolute or RIP-relative one at the model's
            # PERCPU_BASE + current_task reads other memory,
            # adv_r79_abs_percpu_alias)
            return False
        elif flat and m.base == _X.X86_REG_RIP:
            a = nxt + m.disp
        elif flat and m.base == 0:
            a = m.disp
        else:
            return False
        return (a & 0xFFFFFFFFFFFFFFFF) == self.current_slot

    def _gs_store_may_hit_slot(self, ci, op) -> bool:
        """A %gs-relative store that may write any byte of the current_task
        slot: one with a base or index register (an index reaches any
        offset: `this_cpu_write(arr[i], v)`, adv_r193_slot_indexed_disp_redirect),
        or an absolute one whose bytes overlap the slot's eight (a 16-byte
        store from the word below, adv_r193_slot_wide_store_redirect)."""
        m = op.mem
        if m.segment != _X.X86_REG_GS or not self.program.layout.percpu_gs.value:
            return False
        if m.index != 0 or m.base not in (0, _X.X86_REG_RIP):
            return True
        a = machine.PERCPU_BASE + m.disp + ((ci.address + ci.size) if m.base else 0)
        a &= 0xFFFFFFFFFFFFFFFF
        return a < self.current_slot + 8 and self.current_slot < a + max(op.size, 1)

    def _mem_indexed_current(self, op) -> bool:
        """A register added to the slot's address (`current_task(%rax)`
        with RAX a CPU's per-CPU offset, adv_r29_percpu_offset_cmp): may
        read the slot, so only `may` learns from it, at any offset."""
        m = op.mem
        return (m.base not in (0, _X.X86_REG_RIP) or m.index != 0) and \
            (m.disp & 0xFFFFFFFF) == (self.program.layout.current_task.value & 0xFFFFFFFF)

    def _compute(self, start: int) -> Effect:
        """Two passes over the function's CFG.  Forward: which registers hold
        the current task pointer (+ a constant) on every path (`must`, a dict
        reg -> offset, intersected at joins) and on some path (`may`, reg ->
        set of offsets or None for any, united).  Backward: for each point,
        the effect of the rest of the function on the bit (KEEP at a return);
        an instruction's effect is composed in front of it.  A callee's effect
        is computed only when the rest is KEEP or MAYCLEAR: in front of CLEAR
        (or ANY) every effect gives CLEAR (or ANY), so the exit-work loop
        before the clear is never read."""
        prog = self.program
        # the engine's CFG if it built one; else a CFG for this pass alone
        # (not kept: the refinement's memory limit counts every byte)
        cfg = prog._cfgs.get(start) or FunctionCfg(prog, start)
        blocks = cfg.blocks
        self._read_addrs[start] = {i.addr for b in blocks.values() for i in b.insns}
        dec = {n: [self._decode(i) for i in b.insns] for n, b in blocks.items()}
        before = self._forward(cfg, dec)
        # what the whole-image pass sees in this function's own code: a
        # syscall table named, code it cannot read, stores over the bit
        ms = self.may_set
        if ms._graph is None:
            ms._build()
        known = ms._spreads
        eff = self._compute_once(start, cfg, blocks, dec, before)
        if ms._spreads != known:
            # a callee turned out to return the current task pointer after
            # this function's own pass was read: read it again
            ms._lite_done.pop(start, None)
            ms._flagged.pop(start, None)
            return self._compute(start)
        return eff

    def _compute_once(self, start, cfg, blocks, dec, before) -> Effect:
        prog, ms = self.program, self.may_set
        why0 = ms._names_syscall_table(start)
        if why0 is not None:
            return Effect(ANY, why0)
        if ms._needs_pass(start):
            why0 = ms._lite(start)
            if why0 is not None and why0 not in ms._flagged.get(start, {}).values():
                return Effect(ANY, why0)
        flagged = ms._flagged.get(start, {})
        # code of other functions this CFG holds (FunctionCfg follows a
        # conditional jump to another function's start as its own code,
        # adv_r97_jcc_tailcall_precise): the stores their passes flagged
        # there count here too (what a callee returns is known only to
        # the passes; this one drops tags at calls)
        unit = ms._unit(start)
        mine = unit if not isinstance(unit, str) else [(start, start + 1)]
        read = self._read_addrs.get(start, set())
        others = {ms._primary(g) for g in {ms.function_of(a) for a in read
                                             if not any(lo <= a < hi for lo, hi in mine)} if g is not None}
        for g in sorted(others - {start}):
            why_g = ms._names_syscall_table(g)
            if why_g is not None:
                return Effect(ANY, why_g)
            if ms._needs_pass(g):
                why_g = ms._lite(g)
                if why_g is not None and why_g not in ms._flagged.get(g, {}).values():
                    return Effect(ANY, why_g)
                extra = {a: w for a, w in ms._flagged.get(g, {}).items() if a in read}
                if extra:
                    flagged = {**flagged, **extra}
        unread = [a for a in flagged if a not in self._read_addrs.get(start, ())]
        if unread:
            # a store the data-flow pass flagged in code this CFG does not
            # hold: a .cold part entered by `jmp foo.cold` (FunctionCfg takes a
            # jump to a symbol start for a tail call, whose own summary reads
            # it with nothing known), code entered from elsewhere.  Composing
            # without it would drop the store (adv_r6_cold_jmp): the effect is
            # not known here
            return Effect(ANY, flagged[min(unread)])
        for n, b in blocks.items():
            for ins, ci in zip(b.insns, dec[n]):
                # a `ret` here must return to the caller: a call to a local
                # label, a pushed code address or a store over the return
                # address makes some `ret` a jump the backward pass would
                # take for the function's return
                if ins.kind == "lcall" or (ci.mnemonic == "push" and ci.operands and
                                           ci.operands[0].type == _X.X86_OP_IMM and
                                           prog.image.elf.section_at(ci.operands[0].imm & 0xFFFFFFFFFFFFFFFF)
                                           is not None):
                    return Effect(ANY, f"`{ci.mnemonic} {ci.op_str}` at {prog.symbolize(ins.addr)}: a return "
                                  "that may not be one")
        S: dict = {}
        why: list[str] = []
        assumed = False
        for _ in range(50):
            changed = False
            for n in reversed(cfg.order):
                b = blocks[n]
                last = b.insns[-1] if b.insns else None
                k = last.kind if last is not None else None
                if k in ("ret",):
                    s = KEEP
                elif k == "dead":
                    s = None  # the task dies here: no return through this block
                elif k == "iret" and self._iret_to_next(cfg, n, dec):
                    s = None  # the sync_core() idiom: IRET to the next instruction, at CPL 0
                    for succ in b.succs:
                        s = join(s, S.get(succ))
                elif k in ("ijmp", "iret", "sysret", "sysretl", "far", "void"):
                    s = ANY
                    if not why:
                        why.append(f"`{last.mnemonic}` at {prog.symbolize(last.addr)}")
                elif k == "tail":
                    s = KEEP  # composed below with the tail callee's effect
                else:
                    s = None
                    for succ in b.succs:
                        if S.get(succ) is not None:
                            s = join(s, S[succ])
                if s is not None:
                    for ins, ci, (must, may) in reversed(list(zip(b.insns, dec[n], before[n]))):
                        if s in (CLEAR, ANY) and not prog.has_fixup(ins.addr):
                            if s == ANY:
                                break
                            continue
                        e, a = self._effect(ins, ci, must, may, why)
                        if ins.addr in flagged:
                            e = ANY
                            if not why:
                                why.append(flagged[ins.addr])
                        assumed = assumed or a
                        s = ANY if prog.has_fixup(ins.addr) else then(e, s)
                        if s is None:
                            break
                if s != S.get(n):
                    S[n] = s
                    changed = True
            if not changed:
                break
        else:
            return Effect(ANY, "no fixpoint")
        out = S.get((start, None))
        if out is None:
            return Effect(KEEP, "never returns", assumed)
        return Effect(out, (why[0] if why else "its code") if out == ANY else "its code", assumed)

    @staticmethod
    def _iret_to_next(cfg, n, dec) -> bool:
        """The IRET ends sync_core()'s exact sequence (6.1 and 6.12,
        arch/x86/include/asm/sync_core.h iret_to_self): `mov %ss,%eax; push
        %rax; push %rsp; addq $8,(%rsp); pushfq; mov %cs,%eax; push %rax;
        push $1f; iretq; 1:`, as the last instructions of every block before
        it: the frame it pops is the one it built, so control continues at
        the next instruction, in the kernel."""
        nxt = n[0] + cfg.blocks[n].insns[-1].size
        preds = list(cfg.graph.predecessors(n))
        if not preds:
            return False
        for p in preds:
            if not _is_sync_core([(ci.mnemonic, ci.op_str) for ci in dec[p]], nxt) or cfg.blocks[p].succs != [n]:
                return False
        return True

    def _forward(self, cfg, dec) -> dict:
        """node -> [(must, may) before each instruction of the block]."""
        IN: dict = {(cfg.entry, None): ({}, {})}
        for _ in range(50):
            changed = False
            for n in cfg.order:
                if n not in IN:
                    continue
                must, may = IN[n]
                for ci in dec[n]:
                    must, may = self._track(ci, must, may)
                for succ in cfg.blocks[n].succs:
                    old = IN.get(succ)
                    if old is None:
                        new = (must, may)
                    else:
                        new = ({r: v for r, v in old[0].items() if must.get(r) == v}, _union(old[1], may))
                    if old is None or new != old:
                        IN[succ] = new
                        changed = True
            if not changed:
                break
        else:
            raise CfgError("current-task tracking found no fixpoint")
        out = {}
        for n in cfg.blocks:
            must, may = IN.get(n, ({}, {}))
            seq = []
            for ci in dec[n]:
                seq.append((must, may))
                must, may = self._track(ci, must, may)
            out[n] = seq
        return out

    def _effect(self, ins, ci, must: dict, may: dict, why: list) -> tuple[str, bool]:
        """(effect of one instruction on the bit, whether it rests on
        assumption ts-compat-writers)."""
        prog = self.program
        k = ins.kind
        m = ci.mnemonic

        def anyw(reason):
            if not why:
                why.append(reason)
            return ANY

        if (ins.target in self.syscall_tables) or any(
                o.type == _X.X86_OP_MEM and (o.mem.disp & 0xFFFFFFFFFFFFFFFF) in self.syscall_tables for o in ci.operands):
            return anyw(f"{prog.symbolize(ins.addr)} runs a syscall"), False
        if "rsp" in may or "rsp" in (may.get(_CPA) or ()):
            # RSP may point into the current task (or at its per-CPU slot):
            # a push, a call (its return address, the callee's frame),
            # `enter`, a store through RSP, an interrupt's or exception's
            # frame may write the status here (_track_rsp; the data-flow
            # pass flags the same, MaySet._lite_rsp)
            return anyw(f"`{m} {ci.op_str}` at {prog.symbolize(ins.addr)}: RSP may point into the current task"), \
                False
        if k in ("call", "icall", "tail"):
            eff = self.of(ins.target if k != "icall" else None, top=False)
            if eff.kind == ANY and not why:
                why.append(f"{prog.symbolize(ins.addr)} calls {prog.symbolize(ins.target)}: {eff.why}"
                           if k != "icall" else eff.why)
            return eff.kind, eff.assumed
        ops = ci.operands
        imm = next((o.imm for o in ops if o.type == _X.X86_OP_IMM), None)
        where = f"`{m} {ci.op_str}` at {prog.symbolize(ins.addr)}"
        e, assumed = KEEP, False
        if m.split(" ")[-1] in machine.IMPLICIT_MEMORY_STORES:
            # a store at an address held in a register (machine.py): the
            # register may hold the current task
            return anyw(f"{where}: a store at an address in a register"), False
        if addr32_memory(ci) and any(op.type == _X.X86_OP_MEM and machine.memory_written(
                m, k_op, bool(op.access & capstone.CS_AC_WRITE)) for k_op, op in enumerate(ops)):
            # (a 32-bit address: not the 64-bit base register's object, no
            # model, cfg.addr32_memory; adv_r75_addr32_ts_clear)
            return anyw(f"{where}: a store at a 32-bit address"), False
        for k_op, op in enumerate(ops):
            if op.type != _X.X86_OP_MEM or not machine.memory_written(m, k_op, bool(op.access & capstone.CS_AC_WRITE)):
                continue
            mem = op.mem
            if mem.segment == _X.X86_REG_FS:
                # FS base + address: in the kernel the FS base is the user's
                # (possibly 0, then the task itself): neither a store
                # through current nor one that misses it
                # (adv_r79_fs_clear: a "clear" at fsbase + current + 16)
                return anyw(f"{where}: a store through the FS base, which the user sets"), False
            if mem.segment == _X.X86_REG_GS and any(
                    r != 0 and _reg64(ci, r) in may for r in (mem.base, mem.index)):
                # GS base + a register that may hold the current task
                # pointer: with `current - this_cpu_off` in it (kernel GS
                # base = this_cpu_off) that is the task itself, at an offset
                # the pass does not follow (adv_r145_gs_rebased_hook)
                return anyw(f"{where}: a %gs-relative store through a register that may hold the current "
                            "task pointer"), False
            if mem.segment == _X.X86_REG_GS or mem.base in (_X.X86_REG_RIP, _X.X86_REG_RSP) or \
                    (mem.base == 0 and mem.index == 0):
                continue  # per-CPU, global or own stack: not the task (assumption private-regions)
            size = machine.store_extent(m, op.size)
            if size is None:
                return anyw(f"{where}: a store of no fixed size"), False
            base = _reg64(ci, mem.base)
            tagged = may.get(base, frozenset()) if base else frozenset()  # offsets from current it may hold
            if mem.index != 0 or tagged is None:
                # an offset the code computes: through the current task
                # pointer it may hit the bit; through another pointer it does
                # not name the field (assumption ts-compat-writers)
                if _reg64(ci, mem.index) in may or tagged is None:
                    return anyw(f"{where}: a store at an unknown offset from the current task"), False
                if base in may and any(mem.disp + k <= self.byte for k in tagged):
                    # an array member of the task at or below the status field;
                    # one above it is not reached by an in-bounds index
                    # (assumption ts-compat-writers)
                    return anyw(f"{where}: an indexed store at or below the current task's status"), False
                assumed = True
                continue
            else:
                through_cur = self._hits(m, mem.disp, size, imm, tagged) if tagged else "miss"
            named = self._hits(m, mem.disp, size, imm, {0})
            if through_cur in ("sets", "other"):
                return anyw(f"{where} may set TS_COMPAT in the current task"), False
            if "clears" in (through_cur, named):
                kc = must.get(base)
                if kc is not None and self._hits(m, mem.disp, size, imm, {kc}) == "clears":
                    e = CLEAR  # through the current task on every path here
                else:
                    e = then(e, MAYCLEAR)
            elif named in ("sets", "other"):
                assumed = True  # not through current_task, not `|= imm`
        if m.split(" ")[-1] in _STRING_STORES and "[rdi]" in ci.op_str:
            if "rdi" in may:
                return anyw(f"a string store from the current task at {prog.symbolize(ins.addr)}"), False
            assumed = True
        return e, assumed

    def _hits(self, m: str, disp: int, size: int, imm, offsets) -> str:
        """What a store of `size` bytes at disp (+ each offset the base may
        hold from the current task) does to TS_COMPAT's bit: "miss" (never
        covers it), "sets" (an immediate with the bit set, or an operation
        that can set it), "clears" (an immediate that can only clear it),
        "other" (a computed value: may set it)."""
        m = m.split(" ")[-1]  # `lock bts`: the operation
        if m in ("bts", "btr", "btc") and imm is None:
            # a register bit offset: a signed index into the bit string
            # around the operand (SDM BT/BTS), anywhere near it
            return "other"
        out = "miss"
        positions = [self.byte - (disp + k) for k in offsets] if offsets is not None else \
            [p for p in range(size)] if m not in ("bts", "btr", "btc") else None
        if positions is None:  # a bit instruction at an unknown offset
            if m == "btr":
                return "clears"
            # an immediate bit offset names one bit of one byte: it can be
            # the status bit only if its place in its byte is the bit's
            n = imm % (8 * size)
            return "sets" if n % 8 == self.bit_in_byte else "miss"
        for pos in positions:
            if m in ("bts", "btr", "btc"):
                if imm is None:
                    return "other"
                n = imm % (8 * size)
                if pos != n // 8 or n % 8 != self.bit_in_byte:
                    continue
                r = {"bts": "sets", "btr": "clears", "btc": "sets"}[m]
            elif not 0 <= pos < size:
                continue
            elif imm is None:
                return "other"
            else:
                one = (imm >> (8 * pos + self.bit_in_byte)) & 1
                if m in ("or", "mov", "movabs"):
                    r = "sets" if one else ("clears" if m != "or" else "miss")
                elif m == "and":
                    r = "miss" if one else "clears"
                elif m in ("test", "cmp"):
                    r = "miss"
                else:  # add, sub, xor, adc, sbb, ...: may set it
                    r = "sets"
            if r == "sets":
                return "sets"
            if r == "clears":
                out = "clears"
        return out

    def _track(self, ci, must: dict, may: dict) -> tuple[dict, dict]:
        """Registers holding the current task pointer after one instruction
        (_track0), with two rules the data-flow pass (MaySet) shares:
        registers that may hold the address of the current_task slot
        (this_cpu_ptr(&current_task): may[_CPA], a set of names; a load
        through one, a string load too, is the pointer: MaySet._cpa_step),
        and RSP as a pointer into the current task (may["rsp"]: _track_rsp,
        and _effect takes every instruction there for a store over the
        status).  What goes through memory (a `movs` or `push` of the
        pointer into the frame, a spill) is the data-flow pass's: its flags
        are stores this pass takes as setting the bit (_compute_once)."""
        must2, may2 = self._track0(ci, must, may)
        ms = self.may_set
        cpa = may.get(_CPA)
        if cpa or ms._cur_hex in ci.op_str or (ci.mnemonic == "lea" and not ms._gs_current):
            marks, loads, _copied = ms._cpa_step(ci.address, ci.size, _base_mnemonic(ci.mnemonic), ci.op_str,
                                                 cpa or frozenset())
            may2 = dict(may2)
            for r, kind in loads.items():
                may2[r] = frozenset({0}) if kind == "exact" and _SLOTW not in may else None
            if cpa and any(o.type == _X.X86_OP_MEM and o.access & capstone.CS_AC_WRITE and
                           (_reg64(ci, o.mem.base) in cpa or _reg64(ci, o.mem.index) in cpa)
                           for o in ci.operands if o.mem.base or o.mem.index):
                # a store through this_cpu_ptr(&current_task) (`*p = next`):
                # the slot written (_SLOTW; adv_r189_slot_ptr_redirect_clear)
                may2[_SLOTW] = frozenset({0})
            if marks:
                may2[_CPA] = marks
            else:
                may2.pop(_CPA, None)
        if "rsp" in may or ((may or "gs" in ci.op_str or not ms._gs_current) and
                            ("sp" in ci.op_str or ci.mnemonic == "leave")):
            may2 = self._track_rsp(ci, may, may2)
        return must2, may2

    def _track_rsp(self, ci, may: dict, may2: dict) -> dict:
        """may2 with "rsp" (RSP may point into the current task: None, any
        offset, or _track0's offsets) as MaySet._lite_rsp decides it, over
        registers and the current_task slot (the frame is the data-flow
        pass's); RBP made from such an RSP (`mov %rsp,%rbp`, `enter`) too."""
        ms = self.may_set
        m = _base_mnemonic(ci.mnemonic)
        ops = ci.op_str
        kind = _rsp_write(m, ops)
        old = "rsp" in may
        cpa = may.get(_CPA) or ()

        def tagged(text, address=False):
            if "[" not in text:
                return ms._reg_of(text)[0] in may
            mm = _parse_mem(text)
            if mm is None:
                return False
            if address:
                return ms._reg_of(mm[2])[0] in may or ms._reg_of(mm[3])[0] in may
            return ms._is_current_operand(ci.address, ci.size, text) or ms._reg_of(mm[2])[0] in cpa or \
                ms._reg_of(mm[3])[0] in cpa

        if kind is None:
            new = old
        elif kind == "leave":
            new = "rbp" in may
        elif kind == "combine":
            new = old or any(tagged(t.strip()) for t in ops.split(", "))
        else:
            src = kind[1]
            new = False if src in ("", "(pop)") else tagged(src, address=m == "lea")
        may2 = dict(may2) if may2 is may else may2
        if new:
            # (_track0's offsets where it follows the write, or RSP not
            # written; moved by a push, leave, an add of a register: None)
            if "rsp" not in may2 or kind in ("leave", "combine"):
                may2["rsp"] = None
        else:
            may2.pop("rsp", None)
        if old and (m == "enter" or (m == "mov" and ops == "rbp, rsp")):
            may2["rbp"] = None
        return may2

    def _track0(self, ci, must: dict, may: dict) -> tuple[dict, dict]:
        """Registers holding the current task pointer after one instruction."""
        ops = ci.operands
        m = ci.mnemonic
        if m in ("swapgs", "wrgsbase", "wrmsr"):
            return {}, may  # %gs:current_task names another slot now
        if ci.group(capstone.CS_GRP_CALL):
            # a callee returns the callee-saved registers as it found them
            # (assumption abi-callee-saved), and the caller-saved ones a
            # leaf never writes (MaySet._keeps); it hands back nothing else
            # (what it returns: the closure query's return facts, whose
            # flagged stores this pass counts as setting the bit)
            kept = ()
            if ops and ops[0].type == _X.X86_OP_IMM and (set(must) | set(may)) & set(machine.CALLER_SAVED):
                kept = self.may_set._keeps(ops[0].imm & 0xFFFFFFFFFFFFFFFF)
            keep = lambda d: {r: v for r, v in d.items() if r not in machine.CALLER_SAVED or r in kept}  # noqa: E731
            return keep(must), keep(may)

        written = set(_IMPLICIT_WRITES_OF(m))
        if m.split(" ")[-1] in ("enter", "leave"):
            written.add("rbp")
        try:
            for r in ci.regs_access()[1]:
                w = _reg64(ci, r)
                if w:
                    written.add(w)
        except capstone.CsError:
            # (RSP keeps its own tag: _track_rsp)
            return {}, {r: None for r in machine.CALLER_SAVED + machine.CALLEE_SAVED if r != "rsp"}
        if any(o.type == _X.X86_OP_MEM and o.access & capstone.CS_AC_WRITE and (
                self._mem_addr_is_current(ci, o) or self._mem_indexed_current(o) or addr32_memory(ci) or
                self._gs_store_may_hit_slot(ci, o))
               for o in ops):
            # a store to the slot itself: `%gs:current_task`, one through a
            # CPU's per-CPU offset (`per_cpu(current_task, cpu) = p`,
            # adv_r191_percpu_offset_slot_redirect), or any store with a
            # 32-bit address (addr32 truncates, then %gs adds its base:
            # adv_r191_addr32_slot_redirect)
            may = dict(may)
            may[_SLOTW] = frozenset({0})
        if addr32_memory(ci):
            # (a 32-bit address, cfg.addr32_memory: `lea (%eax)` truncates,
            # a load reads elsewhere than the base register's object; what
            # it writes holds nothing tracked)
            return ({r: v for r, v in must.items() if r not in written},
                    {r: v for r, v in may.items() if r not in written})
        src, dst, k = None, None, 0  # dst := src + k (src "cur": the slot itself)
        if m in _MOV_LIKE and len(ops) == 2 and ops[0].type == _X.X86_OP_REG and ops[0].size == 8:
            dst = _reg64(ci, ops[0].reg)
            if ops[1].type == _X.X86_OP_MEM and self._mem_addr_is_current(ci, ops[1]):
                src = "cur"
            elif ops[1].type == _X.X86_OP_REG:
                src = _reg64(ci, ops[1].reg)
        elif m == "lea" and ops[0].size == 8 and ops[1].mem.segment == 0 and ops[1].mem.base not in (
                0, _X.X86_REG_RIP):
            dst, src, k = _reg64(ci, ops[0].reg), _reg64(ci, ops[1].mem.base), ops[1].mem.disp
            if ops[1].mem.index != 0:
                k = None
        elif m in ("add", "sub") and len(ops) == 2 and ops[0].type == _X.X86_OP_REG and ops[0].size == 8:
            dst = src = _reg64(ci, ops[0].reg)
            k = (ops[1].imm if m == "add" else -ops[1].imm) if ops[1].type == _X.X86_OP_IMM else None
        must2 = {r: v for r, v in must.items() if r not in written}
        may2 = {r: v for r, v in may.items() if r not in written}
        if src != "cur" and m != "lea" and any(
                o.type == _X.X86_OP_MEM and (self._mem_addr_is_current(ci, o) or self._mem_indexed_current(o))
                for o in ops):
            # any other instruction that reads the current_task slot (a cmov,
            # an ALU source, xchg/cmpxchg with it): every register it writes
            # may hold the pointer or a value computed from it, at an offset
            # not known here (None; MaySet._lite_transfer has the same rule).
            # A cmov from the slot into a register that holds the pointer
            # already keeps it on every path (must).
            for w in written:
                if w != "rsp":
                    may2[w] = None
            if m.startswith("cmov") and len(ops) == 2 and ops[0].type == _X.X86_OP_REG and ops[0].size == 8:
                d = _reg64(ci, ops[0].reg)
                if must.get(d) == 0:
                    must2[d] = 0
                old = may.get(d, frozenset())
                may2[d] = None if old is None or len(old) > 16 else old | {0}
            return must2, may2
        if dst is not None:
            if src == "cur" and _SLOTW in may:
                may2[dst] = None  # (whatever the slot was set to: _SLOTW)
            elif src == "cur":
                must2[dst], may2[dst] = 0, frozenset({0})
            elif src is not None:
                if src in must and k is not None:
                    must2[dst] = must[src] + k
                if src in may:
                    s = may[src]
                    may2[dst] = None if (s is None or k is None or len(s) > 16) else frozenset(x + k for x in s)
        return must2, may2


def _release_freed_memory() -> None:
    """Hand the scan's freed temporaries back to the OS (glibc keeps freed
    heap pages, which would count against the refinement's memory limit)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _Where:
    """`mnemonic operands` at symbol+offset, formatted only when shown."""

    def __init__(self, m, ops, prog, a):
        self.m, self.ops, self.prog, self.a = m, ops, prog, a

    def __str__(self):
        return f"`{self.m} {self.ops}` at {self.prog.symbolize(self.a)}"

    def __format__(self, spec):
        return format(str(self), spec)


class _NoOperands:
    """An instruction cfg.decode knows and capstone does not (serialize): no
    operands, no register or memory written."""

    def __init__(self, ins):
        self.mnemonic, self.op_str, self.address, self.size = ins.mnemonic, "", ins.addr, ins.size
        self.operands = []

    def regs_access(self):
        return [], []

    def group(self, _g):
        return False


_RIPREL = re.compile(rb"(?=[\x40-\x4f]?[\x8b\x8d][\x05\x0d\x15\x1d\x25\x2d\x35\x3d](....))", re.S)
_STACK = "(stack)"  # a state key: tags of values spilled where the slot is not known
_SP = "(rsp)"  # a state key: RSP minus RSP at the function's entry, when known
_BP = "(rbp)"  # a state key: RBP as a frame pointer (its offset like _SP; None: not known)
_SLOT = "(slot)"  # (_SLOT, offset from entry RSP): tags of the value in that stack slot
_NO_TAG = object()
# a state key: the registers that may hold an address in the function's own
# frame (a frozenset of names: MaySet._stack_copies)
_SPC = "(rsp copies)"
_UNTAGGED = frozenset({"(rsp)", "(rbp)", _SPC})  # a state with only these keys holds no pointer (_SP, _BP, _SPC)
# a state key: the registers that may hold the ADDRESS of the current_task
# per-CPU slot (`mov $current_task,%r`, then `add %gs:this_cpu_off,%r` or
# __per_cpu_offset[cpu]: this_cpu_ptr()); a load through one is current
_CPA = "(&current)"
# a state key (in `may`): the current_task slot may have been written on the
# way here (this_cpu_write(current_task, ...), as __switch_to does): a load
# from it may be another task, never the current one for sure
# (TsCompatEffects._track0, adv_r188_slot_redirect_clear)
_SLOTW = "(slot written)"
# a state with only these keys has no register, slot or stack tag: _lite_net
# has nothing to follow (its own test, sooner)
_NO_NET_SOURCE = frozenset({_SP, _BP, _SPC, _CPA})
_REALIGNED = -(1 << 40)
_NUM = re.compile(r"^(-?0x[0-9a-f]+|-?\d+)$")  # RSP's offset after `and $-N,%rsp`: a base of its own


@functools.lru_cache(maxsize=None)
def _system_modelled() -> frozenset:
    """summary.py's privileged and virtualisation instructions whose effects
    it models or that leave registers alone (their register writes are
    capstone's and the implicit-writes table's)."""
    from .summary import _SYSTEM_MODELLED
    return frozenset(_SYSTEM_MODELLED)


@functools.lru_cache(maxsize=None)
def _summary_tables() -> tuple:
    """summary.py's register and instruction tables (_GPR64,
    _IMPLICIT_WRITES, _UNKNOWN_REGS), imported once on first use (summary
    imports this module; an import statement in the passes' per-instruction
    functions cost a few tenths of a second per check)."""
    from .summary import _GPR64, _IMPLICIT_WRITES, _UNKNOWN_REGS
    return _GPR64, _IMPLICIT_WRITES, _UNKNOWN_REGS


@functools.lru_cache(maxsize=None)
def _IMPLICIT_WRITES_OF(m: str):
    """The registers an instruction writes that no operand names: the
    summary's table, and RCX under a rep/repe/repne prefix (`repne scasb`
    stops after a data-dependent count: adv_r38_repne_rcx).  (Memoised: a
    function of the mnemonic text, a tuple.)"""
    _IMPLICIT_WRITES = _summary_tables()[1]
    out = _IMPLICIT_WRITES.get(m.split(" ")[-1], ())
    if m.startswith(_REP_PREFIXES):
        out = tuple(out) + ("rcx",)
    return out


_REP_PREFIXES = ("rep ", "repe ", "repne ", "repz ", "repnz ")


def _join_tags(a, b):
    return None if a is None or b is None else a | b


def _join_ret(a, b):
    """Tags of a value that is a or b (_NO_TAG: not the pointer)."""
    if a is _NO_TAG:
        return b
    if b is _NO_TAG:
        return a
    return _join_tags(a, b)


_SYNC_CORE = [("mov", "eax, ss"), ("push", "rax"), ("push", "rsp"), ("add", "qword ptr [rsp], 8"), ("pushfq", ""),
              ("mov", "eax, cs"), ("push", "rax")]


def _is_sync_core(tail: list, nxt: int) -> bool:
    """The (mnemonic, operands) before an iretq are sync_core()'s frame
    for a return to `nxt` (arch/x86/include/asm/sync_core.h, 6.1/6.12)."""
    if len(tail) < 8 or tail[-8:-1] != _SYNC_CORE or tail[-1][0] != "push":
        return False
    try:
        return int(tail[-1][1], 0) & 0xFFFFFFFFFFFFFFFF == nxt
    except ValueError:
        return False


@functools.lru_cache(maxsize=None)
def _base_mnemonic(m: str) -> str:
    """`repz ret` -> `ret`, `bnd jmp` -> `jmp`, `notrack jmp` -> `jmp`: the
    prefix does not change the transfer; `lock cmpxchg` -> `cmpxchg`:
    atomicity changes nothing a single CPU's pass follows (the rules of the
    unlocked form apply, adv_r33_lock_cmpxchg_store, _load)."""
    if m.startswith(("repz ret", "rep ret", "bnd ", "notrack ", "lock ", "xacquire ", "xrelease ")):
        return m.split(" ")[-1]
    return m


@functools.lru_cache(maxsize=None)
def _direct_branch(m: str) -> bool:
    """A call, jump, jcc or loop (capstone's mnemonic, any prefix): with an
    immediate operand, a direct branch (memoised: a function of the text)."""
    m = _base_mnemonic(m)
    return m in ("call", "jmp") or m.startswith(("j", "loop"))


_NOTHING = types.MappingProxyType({})  # the state of an instruction not reached yet
_WORD_REGS = frozenset(("ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "r8w", "r9w", "r10w", "r11w", "r12w",
                        "r13w", "r14w", "r15w"))


# text every name of a general register's parts contains (a filter: a
# register whose text is not in an instruction is not written by it,
# unless implicitly)
_FAMILY_TEXT = {"rax": ("ax", "al", "ah"), "rbx": ("bx", "bl", "bh"), "rcx": ("cx", "cl", "ch"),
                "rdx": ("dx", "dl", "dh"), "rsi": ("si",), "rdi": ("di",), "rbp": ("bp",), "rsp": ("sp",),
                **{f"r{i}": (f"r{i}",) for i in range(8, 16)}}


def _is_int(text: str) -> bool:
    try:
        int(text, 0)
        return True
    except ValueError:
        return False


def _push_is_8_bytes(size: int, operand: str) -> bool:
    """Whether a `push` (capstone's text) stores 8 bytes: not with a 16-bit
    register or word operand, and an immediate only in its plain encodings
    (`6a ib`, 2 bytes; `68 id`, 5): `66 6a ib` and `66 68 iw` push 2 bytes,
    and any other length (a redundant prefix) is not taken for either."""
    if operand in _WORD_REGS or operand.startswith("word ptr"):
        return False
    if "[" in operand or operand in _GPR64_NAMES:
        return True
    if operand in ("fs", "gs"):
        return size == 2  # (`0f a0`; with a 66 prefix, 2 bytes)
    return size in (2, 5)


def _union(a: dict, b: dict) -> dict:
    # (the rules below give b itself when a is empty, an instruction's first
    # state, and a when the two are equal: 3 in 4 of the ~150,000 joins of
    # 6.12's exit path, here without the loop; a copy either way, as below)
    if not a:
        return dict(b)
    if a == b:
        return dict(a)
    out = dict(a)
    if (_BP in a) != (_BP in b) and _SP in a and _SP in b:
        # one side's RBP is no frame pointer (never set, or given up), the
        # other's is: RBP may be either, so an access through it is a slot
        # at an offset not known, its stores weak (adv_r36_bp_join).  (A
        # side without _SP was entered from outside: it says nothing.)
        out[_BP] = None
    for r, v in b.items():
        if r in (_SP, _BP) and r in out and out[r] is None:
            continue
        if r in (_SP, _BP):
            # a state without it (code entered from outside) says nothing
            if r in out and out[r] != v:
                out[r] = None
            elif r not in out:
                out[r] = v
            continue
        if r not in out:
            out[r] = v
        elif out[r] is None or v is None:
            out[r] = None
        else:
            out[r] = out[r] | v
    return out


_LITE = None
_MEM = re.compile(r"(?:(byte|word|dword|qword|xmmword|ymmword|zmmword|tbyte|xword) ptr )?(?:(\w+):)?\[([^\]]*)\]")
# (capstone prints an 80-bit x87 operand as "xword": `fstpt`, adv_r141_fstpt_status)
_SIZES = {"byte": 1, "word": 2, "dword": 4, "qword": 8, "tbyte": 10, "xword": 10, "xmmword": 16, "ymmword": 32,
          "zmmword": 64}
# mnemonics whose operands are read, not written (exact names: a prefix
# "cmp" took cmpxchg and "bt" took bts/btr/btc, adv_r33_cmpxchg_dword,
# adv_r33_bts_reg); and prefixes of mnemonic families that only read
_READS_ONLY_EXACT = frozenset(("cmp", "test", "bt", "push", "call", "jmp", "clflush", "clflushopt", "clwb", "lea",
                               "invlpg", "verw", "ucomiss", "ucomisd", "comiss", "comisd", "lgdt", "lidt"))
_READS_ONLY_FAMILIES = ("nop", "prefetch")


def _reads_only(m: str) -> bool:
    return m in _READS_ONLY_EXACT or m.startswith(_READS_ONLY_FAMILIES)

# write their destination register with a value not derived from its old one
_REPLACES = ("mov", "movzx", "movsx", "movsxd", "movabs", "pop", "movq", "movd", "rdrand", "rdseed", "bsf", "bsr",
             "tzcnt", "lzcnt", "popcnt", "cvttsd2si", "cvtsd2si", "pext", "pdep", "bextr", "bzhi", "mulx", "shlx",
             "shrx", "sarx", "andn", "rorx", "crc32", "lsl", "lar", "rdpid", "rdfsbase", "rdgsbase")
_GPR64_NAMES = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
                "r14", "r15")
_GPR64_SET = frozenset(_GPR64_NAMES)


_FLAT_SEGMENTS = ("es", "cs", "ss", "ds")
# _lite_net: results ts-compat-writers says are no pointer (shifts,
# products, xor, a difference of two pointers: _lite_transfer0 decides), and
# instructions that write no general register
_LITE_KILLS = frozenset(("shl", "shr", "sar", "sal", "imul", "mul", "xor", "sub"))
# (prefixes of families whose every member only reads or branches; cmp, test
# and bt by exact name, not as prefixes: cmpxchg, bts, adv_r33_*)
_LITE_READS = ("nop", "prefetch", "j", "ret", "loop")
_LITE_READS_EXACT = frozenset(("bt", "cmp", "test"))
# registers read that no operand names (_lite_net's tag sources: cmpxchg8b
# stores ECX:EBX, adv_r33_cmpxchg8b)
_IMPLICIT_READS = {"cmpxchg": ("rax",), "cmpxchg8b": ("rax", "rdx", "rbx", "rcx"),
                   "cmpxchg16b": ("rax", "rdx", "rbx", "rcx"), "xlatb": ("rax", "rbx"), "mul": ("rax",),
                   "imul": ("rax",), "div": ("rax", "rdx"), "idiv": ("rax", "rdx"), "cwd": ("rax",),
                   "cdq": ("rax",), "cqo": ("rax",), "cbw": ("rax",), "cwde": ("rax",), "cdqe": ("rax",)}
# write their first two operands (`mulx %rsp,%rbp,%rax`: RBP too, adv_r35_mulx_rbp)
_TWO_DESTS = frozenset(("mulx",))
# write their first operand without reading it (_lite_net)
# leave their destination as it was in some cases: bsf/bsr (and lzcnt/tzcnt,
# which run as bsr/bsf on CPUs without them) with a zero source, lar/lsl with
# a selector they refuse (adv_r37_bsf_keep, _bsf_copy)
_MAY_KEEP = frozenset(("bsf", "bsr", "lzcnt", "tzcnt", "lar", "lsl"))
_WRITE_ONLY = (frozenset(_REPLACES) - _MAY_KEEP) | {"lea", "pop"}
_LITE_EXACT_MOVES = frozenset(("mov", "movabs", "movzx", "movsx", "movsxd", "lea", "pop"))
# write only their first operand (and RFLAGS)
_ALU_FIRST_WRITTEN = frozenset(("add", "sub", "and", "or", "adc", "sbb", "xor", "inc", "dec", "neg", "not", "bts",
                                "btr", "btc", "rol", "ror", "rcl", "rcr", "shl", "shr", "sar", "sal", "shld", "shrd",
                                "adcx", "adox", "bswap"))
_STRING_OPS = frozenset(("stosb", "stosw", "stosd", "stosq", "lodsb", "lodsw", "lodsd", "lodsq", "movsb", "movsw",
                         "movsd", "movsq", "scasb", "scasw", "scasd", "scasq", "cmpsb", "cmpsw", "cmpsd", "cmpsq"))
# registers that are not general ones, as capstone names them
_OTHER_REG = re.compile(r"^(?:[xyz]mm\d+|mm\d|st\(\d\)|st\d?|k[0-7]|[c-gs]s|cr\d+|dr\d+|bnd\d)$")


@functools.lru_cache(maxsize=4096)
def _other_register(operand: str) -> bool:
    """_OTHER_REG matches the operand (memoised: a function of the text, a
    first operand that is no memory, nearly always a register name; the
    passes test every instruction's)."""
    return _OTHER_REG.match(operand) is not None


_RSP_NAMES = frozenset(("rsp", "esp", "sp", "spl"))


@functools.lru_cache(maxsize=4096)
def _rsp_write(m: str, ops: str):
    """How an instruction (capstone's text, the mnemonic without lock/bnd
    prefixes) writes RSP as a value, for the rule that RSP may point into
    the current task (MaySet._lite_rsp, TsCompatEffects._track_rsp):
    None: it does not, or it only moves RSP by itself (push, pop to another
    place, call, ret, enter, pushf, popf: RSP stays what it pointed into);
    "leave": RSP := RBP + 8; ("replace", source): RSP := the source's value
    whatever RSP held (a register or memory operand text, an lea's address,
    "(pop)" for `pop %rsp`, "" for a 32-bit write, which no kernel address
    survives: ts-compat-writers); "combine": RSP computed from itself and
    its other operands (add, sub, and, cmov, a 16- or 8-bit write that keeps
    the upper bits, xadd, anything else naming RSP as a destination).
    (Memoised: a function of the text.)"""
    base = m.split(" ")[-1]
    if base == "leave":
        return "leave"
    operands = [t.strip() for t in ops.split(", ")] if ops else []
    if not operands:
        return None
    dst_t = operands[0]
    second = operands[1] if len(operands) > 1 else ""
    if base == "xchg" and (dst_t in _RSP_NAMES or second in _RSP_NAMES):
        if "rsp" in (dst_t, second):
            return "replace", (second if dst_t == "rsp" else dst_t)
        return ("replace", "") if "esp" in (dst_t, second) else "combine"
    if dst_t == "rsp" and base in ("mov", "movabs", "lea", "pop"):
        return "replace", ("(pop)" if base == "pop" else second)
    if dst_t == "esp" and base in ("mov", "lea", "movzx", "movsx", "movsxd"):
        return "replace", ""
    if dst_t in _RSP_NAMES and not (_reads_only(base) or base.startswith(("j", "loop", "ret", "push", "out"))):
        return "combine"
    if second in _RSP_NAMES and (base in ("xadd", "cmpxchg") or base in _TWO_DESTS):
        return "combine"
    return None


@functools.lru_cache(maxsize=1 << 16)
def _parse_mem(text: str):
    """'dword ptr gs:[rax + rbx*8 - 0x10]' -> (size, segment, base, index, disp)
    (memoised: the passes parse the same operand texts again and again)."""
    m = _MEM.search(text)
    if m is None:
        return None
    base = index = None
    disp = 0
    for sign, term in re.findall(r"([+-]?)\s*([\w*]+)", m.group(3)):
        if "*" in term:
            index = term.split("*")[0]
        elif term[0].isdigit():
            v = int(term, 0)
            disp += -v if sign == "-" else v
        elif base is None:
            base = term
        else:
            index = term
    # (es, cs, ss, ds overrides change nothing in 64-bit mode: their bases
    # are 0, so `ss mov %rax,(%rsp)` is a stack slot, adv_r30_ss_spill)
    seg = m.group(2)
    return _SIZES.get(m.group(1), 8), (None if seg in _FLAT_SEGMENTS else seg), base, index, disp


def _decoded_starts(data: bytes, base: int) -> set:
    """Instruction starts of data decoded linearly from base, going on
    after an instruction capstone 5 does not know (SERIALIZE in 6.12's
    sync_core, image.entry._UNDECODED); stopping at other bytes that do not
    decode (what follows them counts as no start)."""
    from ..image.entry import _undecoded_length

    out, pos = {base}, 0
    while pos < len(data):
        for a, size, _m, _o in lite_decode(_lite(), data[pos:], base + pos):
            out.add(a)
            pos += size
        if pos >= len(data):
            break
        n = _undecoded_length(data[pos:])
        if n is None:
            break
        out.add(base + pos)
        pos += n
        out.add(base + pos)
    return out


def _enclosing(starts: list, ends: list) -> list:
    """For each extent [starts[i], ends[i]) (starts sorted), the index of the
    nearest earlier extent that holds starts[i], or -1.  A sweep with the
    chain of open extents: every extent holding starts[i] is on the chain
    from i's entry (one is dropped only when a later start lies at or past
    its end), so function_of's walk up it misses none."""
    out = [-1] * len(starts)
    chain: list = []
    for i, a in enumerate(starts):
        while chain and ends[chain[-1]] <= a:
            chain.pop()
        out[i] = chain[-1] if chain else -1
        chain.append(i)
    return out


def _padding(data: bytes, memo: dict) -> bool:
    """Whether bytes no symbol covers are only alignment padding: NOPs
    and int3s, decoded to their end (memo: by the bytes, which a NOP's
    decoding does not depend on the address of; the ~100,000 stretches
    between a 6.12 image's functions hold a few hundred patterns)."""
    hit = memo.get(data)
    if hit is None:
        n = 0
        hit = True
        if data.strip(b"\x90\xcc"):
            for _a, size, m, _ops in lite_decode(_lite(), data, 0):
                if not (m.startswith("nop") or m == "int3"):
                    hit = False
                    break
                n += size
            hit = hit and n == len(data)
        memo[data] = hit
    return hit


def _branch_patterns(b):
    """(offsets, instruction length, whether rel32) of every branch byte
    pattern in b (the text as numpy uint8), its displacement inside b: e8/e9
    (call/jmp rel32), 0f 80-8f (jcc rel32), eb/70-7f/e0-e3 (rel8 branches).
    (Bit masks and compares over the text, the rare 0f bytes' successors
    only where a 0f is: a third of the time of 256-entry table lookups over
    every byte on 6.12's .text, the same offsets.)"""
    import numpy as np

    yield np.flatnonzero((b[:-4] & 0xFE) == 0xE8), 5, True
    escape = np.flatnonzero(b[:-5] == 0x0F)
    yield escape[(b[escape + 1] & 0xF0) == 0x80], 6, True
    x = b[:-1]
    yield np.flatnonzero(((x & 0xF0) == 0x70) | (x == 0xEB) | ((x & 0xFC) == 0xE0)), 2, False


def _lite():
    global _LITE
    if _LITE is None:
        _LITE = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    return _LITE


def _decode_lazily(data: bytes, base: int, chunk: int = 16):
    """The instructions lite_decode(_lite(), data, base) yields, decoded
    `chunk` at a time: capstone decodes its whole buffer before it yields
    the first one, and the loops that stop at the first jump, int3 or
    non-nop read only a few (_aux_walk's buffer runs to the end of
    .altinstr_aux, ~6 KB, for every entry).  The same instructions in the
    same order: decoding at an address reads only the bytes from there on,
    and a chunk that comes back short ended where the whole decode ends (the
    data's end, or bytes capstone does not decode)."""
    pos = 0
    while pos < len(data):
        n = 0
        for x in lite_decode(_lite(), data[pos:], base + pos, chunk):
            yield x
            pos += x[1]
            n += 1
        if n < chunk:
            return


class MaySet:
    """Whether anything a function can reach may set TS_COMPAT in the current
    task, decided once per image for the whole text:

    1. the direct control-flow graph between functions, from the bytes of
       every executable section (a vectorised scan: every e8/e9/0f 8x rel32
       and eb/7x rel8 whose target is a symbol start, from inside another
       symbol), patch-site replacement code (counted for the function of
       its site), jump-label targets and exception fixups; a byte pattern
       that is not really an instruction only adds an edge (imprecision,
       never a missed one).  Indirect and static calls add none (assumption
       ts-compat-writers).  When the search reaches a function, its code is
       decoded for what the scan misses (_decoded_succ): branches into the
       middle of other functions, into .altinstr_aux (the functions the aux
       code branches to), running off its end, inner labels;
    2. setters: functions that name a syscall table, and functions that may
       store over the bit through a register that may hold the current task
       pointer: the data-flow pass (_lite_store_through_current) reads every
       function that reads current_task, every callee a reader hands the
       pointer in an argument (read with it), and every caller of a function
       that returns it (MaySet.of reads the closure again when one appears);
    3. may_set(f) = a setter is reachable from f.
    Return thunks are no nodes: `jmp __x86_return_thunk` is a `ret`
    (assumption return-thunk).
    A symbol's extent is its size, or up to the next symbol."""

    def __init__(self, effects: "TsCompatEffects"):
        self.fx = effects
        self.prog = effects.program
        self._graph: dict | None = None
        self._setter: dict[int, str | None] = {}
        self._clean: set[int] = set()
        self._clean_epoch = 0  # times _clean was emptied (MaySet.of walks again)
        self.over_budget = False  # a walk was cut by READ_LIMIT_PASSES (of)
        # a clock of facts and memos (_set_ret_free, _made_before)
        self._tick = 0
        self._spreads = 0  # facts spread so far (TsCompatEffects._compute reads again after one)
        self._fact_time: dict = {}  # function -> when its return fact last changed
        self._spread_time: dict = {}  # function -> when that fact was last spread to its callers (of)
        self._pass_time: dict = {}  # function -> when its ctx-free pass started
        self._setter_time: dict = {}  # function -> when its setter answer started
        self._closed: set[int] = set()  # functions of a closure walked to its fixpoint with a setter in it (of)
        self._dirty: dict[int, str] = {}  # function -> why something it reaches may set the bit
        self._succ_memo: dict[int, list] = {}
        self._targets_memo: dict[int, list] = {}
        self._unit_memo: dict = {}
        self._aux_memo: dict[int, set] = {}
        self._site_addrs = sorted(self.prog.sites)
        self._noret: dict[int, bool] = {}
        self._noret_active: set = set()
        self._noret_cycle = False
        self._flagged: dict[int, dict] = {}  # function -> {address: why} of stores over the bit
        self._lite_done: dict[int, str | None] = {}
        self._lite_active: set = set()
        # what a function returns in RAX: tags (offsets from the current
        # task), None (any offset), absent/_NO_TAG (not the pointer)
        self._ret_free: dict = {}
        self._ctx_memo: dict = {}  # (function, entry context) -> (why, return tags)
        # what each memoised pass read that a later fact can change: the
        # return facts (_ret_free) it, or a pass with a context it used, read,
        # as {(function, the fact read)} (_read_ret; MaySet.of reads again
        # only the passes that read a fact that has changed since)
        self._ctx_deps: dict = {}  # (function, entry context) -> {(function, fact)}
        self._lite_deps: dict = {}  # function -> {(function, fact)} (its pass with nothing known)
        self._dep_stack: list = []  # the sets of the passes running now, innermost last
        self._ctx_active: set = set()
        self._passes = 0  # data-flow passes run (READ_LIMIT_PASSES)
        self._dup_names: set | None = None
        self._proto_memo: dict[int, bool] = {}
        self._redecided: dict = {}  # function -> times _setter_why decided it again
        self._table_memo: dict = {}  # function -> _names_syscall_table's answer
        self._proto_ghosts: dict = {}  # function -> the context of its ghost pass (_prototype_holds)
        self._args_memo: dict = {}
        self._retregs_memo: dict = {}
        self._hands_back_memo: dict = {}
        self._keeps_memo: dict = {}
        self._decoded_units: dict = {}  # function -> (sites, insns, index), the last 256 read with a context
        self._df_memo: dict = {}  # function -> whether code it reaches may set DF (_df_reach)
        self._gs_current = bool(self.prog.layout.percpu_gs.value)
        # the slot's address's low 32 bits as capstone prints an immediate
        # or a displacement (_cur_hex_text; an attribute: the passes test
        # every instruction's operands for it)
        self._cur_hex = format(self._cur_addr() & 0xFFFFFFFF, "x")
        self._clears: dict[int, bool] = {}  # a reader whose code clears the bit through current
        self._starts_memo: dict = {}  # node -> its instruction starts (_insn_start)
        self._gap_kinds: dict = {}  # bytes after an extent -> what runs through them (_after_gap)
        self._recent_decodes: list = []  # [(function, its bytes, their linear decode)] (_linear_decode)
        self._reader_decodes: dict = {}  # function -> (its bytes, their linear decode), until its pass
        self._walk_depth = 0  # MaySet.of calls running (one inside another: _setter_why's effects)
        self._saw_clear = False

    # -- the graph ------------------------------------------------------------
    def _build(self):
        import numpy as np

        prog = self.prog
        img = prog.image
        sizes: dict[int, int] = {}
        starts_set: set = set()
        runtime: set = set()
        thunks: set = set()
        colds: set = set()
        from .cfg import RETURN_THUNKS

        # (one test for the few names the three tests below are about: a
        # loop over every symbol, ~137,000 on 6.12)
        named = frozenset(RETURN_THUNKS) | frozenset(_TRACE_HOOKS)
        for a, sz, n in prog.symbols._sorted:
            if n.startswith("."):
                continue
            starts_set.add(a)
            if sz and sizes.get(a, 0) < sz:
                sizes[a] = sz  # (the largest size at a)
            if not (n in named or ".cold" in n or n.startswith(("__SCT__", "__x86_indirect_"))):
                continue
            if n in RETURN_THUNKS:
                thunks.add(a)
            if ".cold" in n and _COLD.match(n):
                colds.add(a)
            if (n.startswith(("__SCT__", "__x86_indirect_")) and prog.runtime_target(a)) or \
                    n in _TRACE_HOOKS or n in RETURN_THUNKS:
                # retargeted at run time (assumption ts-compat-writers), or a
                # return thunk: `jmp __x86_return_thunk` is a `ret`
                # (assumption return-thunk, as in the engine; 6.12's
                # unpatched-thunk warning, `jmp warn_thunk_thunk`, would
                # otherwise put printk's closure behind every function)
                runtime.add(a)
        starts = sorted(starts_set)
        del starts_set
        ends = [a + sizes[a] if a in sizes else (starts[i + 1] if i + 1 < len(starts) else a + 1)
                for i, a in enumerate(starts)]
        # no extent runs past the end of its executable section (a marker
        # such as _einittext at the end of .init.text is no code)
        # code: what the SYSRET search counts as code (branches.
        # executable_runs): every section flagged executable and every
        # allocated one below PFN_ALIGN(_etext), which the kernel leaves
        # executable whatever its flags (adv_r21_sysret_noexec_text)
        from ..image.branches import executable_runs, kernel_text

        code_secs = [sec for run in executable_runs(img.elf, kernel_text(img)) for sec in run]
        self._code_secs = [(sec.addr, sec.addr + sec.size) for sec in code_secs]
        secs = sorted(self._code_secs)
        sec_lo = [lo for lo, _hi in secs]
        # .altinstr_aux and .altinstr_replacement code is no function's (a
        # marker such as 6.12's _einittext or 6.1's __alt_instructions_end
        # sits at their starts): aux code counts for the function that
        # branches into it, replacement code for the function of its site
        foreign = [(x.addr, x.addr + x.size) for x in map(img.elf.section, (".altinstr_aux", ".altinstr_replacement"))
                   if x is not None]
        for i, a in enumerate(starts):
            k = bisect.bisect_right(sec_lo, a) - 1
            ends[i] = min(ends[i], secs[k][1]) if k >= 0 and a < secs[k][1] else a
        for lo, hi in foreign:
            for i in range(bisect.bisect_left(starts, lo), bisect.bisect_left(starts, hi)):
                ends[i] = starts[i]
        self.starts, self.ends, self.runtime = starts, ends, runtime
        self.thunks, self.colds = thunks, colds  # return thunks; GCC cold parts
        # Every stretch of an executable section that no symbol's extent
        # covers and that holds more than padding (an out-of-line fixup stub
        # after a sized symbol, 6.1 getuser.S's .Lbad_get_user_clac; code
        # after a `.size` a function branches or calls into) is a node of
        # its own, from the stretch's start to the next symbol or the
        # section's end: read like a function, so every edge into it
        # (a table's, a direct branch's, a fall-through's) is one
        # (adv_r26_fixup_gap_sets_compat, adv_r27_*).
        from ..image.patches import tables

        t = tables(img)
        # (a stretch a table enters is code even when its bytes on disk
        # are NOPs: 6.1's .Lbad_get_user_clac starts with ASM_CLAC's site)
        entered = sorted({x for es in t.extable_entries.values() for x, _d in es} |
                         {rec[2] for rec in t.jump_labels[1]} | set(prog.sites))
        gap = set()
        pads: dict = {}
        entered_np = np.array(entered, dtype=np.uint64)
        starts_np, ends_np = np.array(starts, dtype=np.uint64), np.array(ends, dtype=np.uint64)
        for lo, hi in secs:
            if any(f_lo <= lo < f_hi for f_lo, f_hi in foreign):
                continue
            i0, i1 = bisect.bisect_left(starts, lo), bisect.bisect_left(starts, hi)
            # the stretches between extents, as one sweep in numpy: the k-th
            # runs from the furthest end of the extents before it (cur, a
            # running maximum from the section's start) to the k-th start (or
            # the section's end); one holds code when a table enters it or
            # its bytes are not padding
            nxt = np.append(starts_np[i0:i1], np.uint64(hi))
            cur = np.maximum.accumulate(np.concatenate(([np.uint64(lo)], ends_np[i0:i1])))
            k = np.flatnonzero(cur < nxt)
            if not len(k):
                continue
            cur, nxt = cur[k], nxt[k]
            tabled = np.searchsorted(entered_np, cur) < np.searchsorted(entered_np, nxt)
            data = img.read(lo, hi - lo)
            for c, x, by_table in zip(cur.tolist(), nxt.tolist(), tabled.tolist()):
                if by_table or not _padding(data[c - lo:x - lo], pads):
                    gap.add(c)
            del data
        if gap:
            starts = sorted(set(starts) | gap)
            old_end = dict(zip(self.starts, self.ends))
            ends = []
            for i, a in enumerate(starts):
                if a in old_end:
                    ends.append(old_end[a])
                    continue
                k = bisect.bisect_right(sec_lo, a) - 1
                ends.append(min(starts[i + 1] if i + 1 < len(starts) else secs[k][1], secs[k][1]))
            self.starts, self.ends = starts, ends
        self._enclosing = _enclosing(starts, ends)
        np_starts = np.array(starts, dtype=np.uint64)
        aux = img.elf.section(".altinstr_aux")
        # .altinstr_aux code has no symbols: a branch into it counts for the
        # function that branched there, with the functions the aux code
        # branches to (_aux_targets); its bytes are not scanned as a node
        self.aux = (aux.addr, aux.end) if aux is not None and aux.size else None
        pairs = []  # arrays of (source function index, target function index)
        readers: set = set()
        for sec in code_secs:
            if sec.size < 8:
                continue
            if (self.aux and sec.addr == self.aux[0]) or sec.name == ".altinstr_replacement":
                continue  # (replacements: read below, for the function of their site)
            data = img.read(sec.addr, sec.size)
            b = np.frombuffer(data, dtype=np.uint8)
            for idx, length, wide in _branch_patterns(b):
                idx = idx.astype(np.int64)
                if wide:
                    o = idx + (length - 4)
                    disp = (b[o].astype(np.int64) | (b[o + 1].astype(np.int64) << 8) |
                            (b[o + 2].astype(np.int64) << 16) | (b[o + 3].astype(np.int64) << 24))
                    disp = np.where(disp >= 1 << 31, disp - (1 << 32), disp)
                else:
                    disp = b[idx + 1].astype(np.int64)
                    disp = np.where(disp >= 128, disp - 256, disp)
                tgt = (idx + length + disp).astype(np.uint64) + np.uint64(sec.addr)
                ti = np.minimum(np.searchsorted(np_starts, tgt), len(starts) - 1)
                hit = np_starts[ti] == tgt  # only branches to a symbol start
                si = np.searchsorted(np_starts, idx[hit].astype(np.uint64) + np.uint64(sec.addr), side="right") - 1
                ti = ti[hit]
                keep = (si >= 0) & (si != ti)
                pairs.append(np.stack([si[keep], ti[keep]]).astype(np.int64))
            readers |= self._current_readers(data, sec.addr)
            del b, data
        # patch-site replacement code belongs to the function of its site;
        # jump-label targets and exception fixups are edges too
        extra: list = []
        raw: list = []  # (source, target, from a table) of the edges below, by address
        _lay, recs = t.alternatives
        for rec in recs:
            addr, _i, repl, _ft, _ilen, rlen = rec
            f = self.function_of(addr)
            if f is None or not rlen or img.elf.section_at(repl) is None:
                continue
            code = img.read(repl, rlen)
            for _a, _size, m, ops in lite_decode(_lite(), code, repl):
                if (m in ("call", "jmp") or m.startswith(("j", "loop"))) and ops.startswith("0x") and \
                        not repl <= int(ops, 16) < repl + rlen:  # (a branch inside the replacement stays in the site)
                    raw.append((addr, int(ops, 16), False))
            readers |= self._current_readers(code, repl, owner=f)
        _lay, jrecs = t.jump_labels
        # (every entry's fixup: two entries for one instruction resume at either)
        raw += [(rec[0], rec[2], True) for rec in jrecs] + [
            (i, x, True) for i, es in t.extable_entries.items() for x, _d in es]
        for src, tgt, by_table in raw:
            f, g = self.function_of(src), self.function_of(tgt)
            into_aux = self.aux is not None and self.aux[0] <= tgt < self.aux[1]
            if f is not None and g is None and (by_table or not into_aux):
                # code in no node (another replacement's bytes, .altinstr_aux
                # reached through a table: _succ follows only a replacement's
                # branch there): no pass reads it, so the function that goes
                # there may set the bit (adv_r27_fixup_into_aux)
                self._dirty.setdefault(f, f"control goes to {self.prog.symbolize(tgt)}, outside every symbol, "
                                          f"from {self.prog.symbolize(src)}")
            extra.append((f, g))
        index = {a: k for k, a in enumerate(starts)} if extra else {}
        ex = [(index[f], index[g]) for f, g in extra if f is not None and g is not None and f != g]
        if ex:
            pairs.append(np.array(ex, dtype=np.int64).T)
        allp = np.concatenate(pairs, axis=1) if pairs else np.zeros((2, 0), dtype=np.int64)
        # deduplicated by sorting: numpy 2.3's np.unique takes ~70x longer
        # here (a hash table over ~10^6 keys, 0.4 s on 6.12), same result
        key = np.sort(allp[0] * len(starts) + allp[1])
        key = key[np.concatenate(([True], key[1:] != key[:-1]))] if len(key) else key
        src = key // len(starts)
        self._dst = (key % len(starts)).astype(np.int64)
        self._graph = True
        self.readers = readers
        del pairs, allp, key, np_starts
        # node i's successors are _dst[_src_at[i]:_src_at[i + 1]] (the edges
        # sorted by source: where each source's run starts, one search for
        # all of them here rather than two per _succ; after the dels, for
        # the peak memory)
        self._src_at = np.searchsorted(src, np.arange(len(starts) + 1))
        del src
        _release_freed_memory()

    def _succ(self, f: int) -> list[int]:
        """The functions control can pass to from f: its branches to symbol
        starts (the byte scan), and what decoding f shows (_decoded_succ)."""
        hit = self._succ_memo.get(f)
        if hit is not None:
            return hit
        if self.aux and self.aux[0] <= f < self.aux[1]:
            # .altinstr_aux code (entered by a jump from a function's patch
            # site, with or without a symbol at that address): the functions
            # it branches to
            hit = self._succ_memo[f] = sorted(self._aux_targets(f))
            return hit
        i = bisect.bisect_left(self.starts, f)
        if i >= len(self.starts) or self.starts[i] != f:
            return []
        out = [self.starts[j] for j in self._dst[int(self._src_at[i]):int(self._src_at[i + 1])].tolist()]
        seen = set(out)
        out += [g for g in self._decoded_succ(f, i) if g not in seen]
        self._succ_memo[f] = out
        return out

    def _decoded_succ(self, f: int, i: int) -> list[int]:
        """What the byte scan of branches to symbol starts misses, from f's
        decoded code (the functions control reaches from f's code, not only
        at their starts):
        - a direct branch or call into the middle of another function (a
          shared tail, a jump into a .cold part at a label);
        - a branch into .altinstr_aux: the functions its code branches to;
        - control running off the end of f's extent (a last instruction that
          is not a jump, return or trap, or a branch into the padding after
          it) into the symbol there;
        - the symbols inside f's extent (global labels f runs into).
        Code that cannot be decoded to the end gives every symbol a branch
        byte pattern in f's extent points into, and the next symbol."""
        end = self.ends[i]
        out: set = set()
        j = i + 1
        while j < len(self.starts) and self.starts[j] < end:
            out.add(self.starts[j])  # an inner label
            j += 1
        # (no symbol starts inside f's extent: function_of is f all over it,
        # where most targets are)
        alone = j == i + 1
        nxt = self.function_of(end)
        gap_targets: set = set()
        if nxt is None:
            # a sized symbol: the alignment padding after it belongs to no
            # extent (adv_r6_fallthrough_gap); control runs through it into
            # the next symbol unless an int3 there stops it
            nxt, gap_targets = self._after_gap(end)
        data, n, targets, last, pad_from = self._decode_for_edges(f)
        linear = self._linear_starts  # (f's own instruction starts, in that decode)
        if n != len(data):
            # not code to the end: every candidate the byte scan saw
            out |= self._scan_targets(f, end)
            if nxt is not None:
                out.add(nxt)
                out |= gap_targets
        for t in targets:
            if self.aux and self.aux[0] <= t < self.aux[1]:
                out |= self._aux_targets(t)
                continue
            g = f if alone and f <= t < end else self.function_of(t)
            if g is not None and g != t and not (g == f and t in linear) and not self._insn_start(g, t):
                # a branch into the middle of an instruction (of f or of
                # another function): the bytes from there decode to code no
                # pass reads (a `movabs` immediate hiding `jmp` to a setter,
                # adv_r29_mid_insn).  Compiled code branches only to
                # instruction starts; this one is not read, so f may set
                # the bit
                self._dirty.setdefault(f, f"a branch at {self.prog.symbolize(f)} into the middle of an "
                                          f"instruction ({self.prog.symbolize(t)})")
            if g is not None and g != f and g != t:
                out.add(g)
            elif g is None and self._in_code(t):
                # a branch into code in no node (padding, which _build
                # does not make one: its bytes may hide a jump at another
                # offset, adv_r28_hidden_in_nop, or run into the next
                # symbol, adv_r28_jmp_into_pad): not read, so f may set
                # the bit (of() looks at _dirty after _succ)
                self._dirty.setdefault(f, f"a branch at {self.prog.symbolize(f)} into code in no function "
                                          f"({self.prog.symbolize(t)})")
        pad = end if pad_from is None else pad_from
        into_pad = any(pad <= t < end for t in targets)
        ends_open = not self._terminates(last)
        if nxt is not None and nxt != f and (ends_open or into_pad):
            # (an int3 in the padding stops the run: #BP on an address no
            # kprobe owns dies, like an unlisted ud2)
            if not self._int3_stops(data, pad - f):
                out.add(nxt)
                out |= gap_targets
        out.discard(f)
        return sorted(out)

    def _terminates(self, last) -> bool:
        """Whether control cannot go on past the last decoded instruction
        (mnemonic, operands, address) of an extent: a jump, return, trap or
        dying ud2, or a call that never returns (None: nothing decoded)."""
        return last is not None and (
            last[0] in ("jmp", "int3", "iretq", "iret", "sysretq", "sysretl", "ljmp") or
            last[0].startswith("ret") or
            (last[0] == "ud2" and self.prog.after_ud2(last[2]) == "dies") or
            (last[0] == "call" and last[1].startswith("0x") and self._noreturn(int(last[1], 16))))

    def _after_gap(self, end: int) -> tuple:
        """(the symbol control running off an extent at `end` into bytes no
        symbol owns reaches, the functions code in those bytes branches to).
        Alignment padding (`.p2align 4, 0x90`: nops) runs into the next
        symbol of the same section; an int3 before any other instruction
        stops it (#BP on an address no kprobe owns dies: None).  Soundness:
        other code in the gap is not followed instruction by instruction,
        so it adds the next symbol and every function a branch byte pattern
        in it points to."""
        j = bisect.bisect_left(self.starts, end)
        if j >= len(self.starts):
            return None, set()
        nxt = self.starts[j]
        sec = self.prog.image.elf.section_at(end)
        if sec is None or not sec.addr <= nxt < sec.addr + sec.size:
            return None, set()  # the section (and its code) ends here
        try:
            data = self.prog.fetch_raw(end, nxt - end)
        except CfgError:
            return nxt, set()
        # (memoised by the bytes, as _padding: what they are is a function
        # of the bytes alone, a nop's or int3's mnemonic not depending on
        # its address; 6.12's ~4,900 gaps in the exit path's closure are a
        # few hundred patterns of alignment nops)
        kind = self._gap_kinds.get(data)
        if kind is None:
            kind, n = "nops", 0
            for _a, size, m, _ops in _decode_lazily(data, end):
                if m == "int3":
                    kind = "int3"
                    break
                if not m.startswith("nop"):
                    kind = "other"
                    break
                n += size
            else:
                if n != len(data):
                    kind = "other"
            self._gap_kinds[data] = kind
        if kind == "int3":
            return None, set()
        if kind == "other":
            return nxt, self._scan_targets(end, nxt)
        return nxt, set()

    def _decode_for_edges(self, f: int) -> tuple:
        """f's extent decoded linearly: (bytes, how many decoded, direct
        branch and call targets, (mnemonic, operands, address) of the last
        instruction before the trailing nop/int3 padding, where that padding
        starts or None)."""
        i = bisect.bisect_right(self.starts, f) - 1
        try:
            data = self.prog.fetch_raw(f, self.ends[i] - f)
        except CfgError:
            data = b""
        insns = self._linear_decode(f, data)
        n = insns[-1][0] + insns[-1][1] - f if insns else 0  # (bytes decoded: the instructions follow each other)
        self._linear_starts = {x[0] for x in insns}
        targets = [int(ops, 16) for _a, _size, m, ops in insns if ops.startswith("0x") and _direct_branch(m)]
        # the trailing nop/int3 padding and the last instruction before it,
        # found from the end
        last = pad_from = None
        for a, _size, m, ops in reversed(insns):
            m = _base_mnemonic(m)
            if m.startswith("nop") or m == "int3":
                pad_from = a
            else:
                last = (m, ops, a)
                break
        # and the code patch sites may put there (a jump label's jump, an
        # alternative's branch), decoded at the site
        j = bisect.bisect_left(self._site_addrs, f)
        while j < len(self._site_addrs) and self._site_addrs[j] < f + len(data):
            a0 = self._site_addrs[j]
            for c, _l, _k in self.prog.site_choices(a0):
                for _a, _size, m, ops in lite_decode(_lite(), c or b"", a0):
                    m = _base_mnemonic(m)
                    if (m in ("call", "jmp") or m.startswith(("j", "loop"))) and ops.startswith("0x"):
                        targets.append(int(ops, 16))
            j += 1
        self._targets_memo[f] = targets
        return data, n, targets, last, pad_from

    def _linear_decode(self, f: int, data: bytes) -> list:
        """data, f's extent, decoded linearly from f (a list the caller
        must not change).  The last few are kept, and those of the
        functions that read current_task until their pass takes them: the
        pass decodes an extent (_decode_extent) after the graph search
        decoded it for its edges (_decode_for_edges), ~930 of 6.12's exit
        path, and the closure walk reads a function after its callees (a few
        lists, and ~640 until read: the memory limit)."""
        kept = self._reader_decodes.pop(f, None)
        if kept is not None and kept[0] == data:
            return kept[1]
        for g, d, insns in self._recent_decodes:
            if g == f and d == data:
                return insns
        insns = list(lite_decode(_lite(), data, f))
        if f in self.readers and f not in self._lite_done:
            if len(self._reader_decodes) >= 2000:  # (those whose pass did not come: a setter by name, ...)
                self._reader_decodes.pop(next(iter(self._reader_decodes)))
            self._reader_decodes[f] = (data, insns)
        self._recent_decodes.append((f, data, insns))
        if len(self._recent_decodes) > 4:
            self._recent_decodes.pop(0)
        return insns

    def _insn_start(self, g: int, t: int) -> bool:
        """Whether t is where an instruction starts in node g's code: in
        its linear decode from g's start, restarted at every patch site's
        end, or inside a site, in the decode of every code it may hold.  Bytes that
        do not decode up to t give False (memoised per node: the starts up
        to its end)."""
        starts = self._starts_memo.get(g)
        if starts is None:
            i = bisect.bisect_right(self.starts, g) - 1
            end = self.ends[i]
            try:
                data = self.prog.fetch_raw(g, end - g)
            except CfgError:
                data = b""
            starts = set()
            j = bisect.bisect_left(self._site_addrs, g)
            cut = [a for a in self._site_addrs[j:bisect.bisect_left(self._site_addrs, end)]]
            pieces, cur = [], g
            for a0 in cut:
                length = max(e.length for e in self.prog.sites[a0])
                pieces.append((cur, a0))
                starts.add(a0)
                # inside a site, a start of every code it may hold: a branch
                # to where one candidate's instruction starts lands in the
                # middle of another's when that one is in place
                inner = None
                for c, _l, _k in self.prog.site_choices(a0):
                    here = _decoded_starts(c or b"", a0) if c is not None else set()
                    inner = here if inner is None else inner & here
                starts |= inner or set()
                cur = max(cur, a0 + length)
            pieces.append((cur, end))
            for lo, hi in pieces:
                if lo < hi:
                    starts |= _decoded_starts(data[lo - g:hi - g], lo)
            self._starts_memo[g] = starts
        return t in starts

    @staticmethod
    def _int3_stops(data: bytes, pad: int) -> bool:
        """The padding from `pad` is nops up to an int3 (a run off the end
        traps there)."""
        for a, size, m, _ops in _decode_lazily(data[pad:], 0):
            if m == "int3":
                return True
            if not m.startswith("nop"):
                return False
        return False

    def _scan_targets(self, f: int, end: int) -> set:
        """Functions a rel32/rel8 branch byte pattern anywhere in [f, end)
        points into (no decoding: every byte offset)."""
        data = self.prog.fetch_raw(f, end - f)
        out = set()
        for k in range(len(data)):
            b = data[k]
            t = None
            if b in (0xE8, 0xE9) and k + 5 <= len(data):
                t = f + k + 5 + struct.unpack_from("<i", data, k + 1)[0]
            elif b == 0x0F and k + 6 <= len(data) and 0x80 <= data[k + 1] <= 0x8F:
                t = f + k + 6 + struct.unpack_from("<i", data, k + 2)[0]
            elif (b == 0xEB or 0x70 <= b <= 0x7F or 0xE0 <= b <= 0xE3) and k + 2 <= len(data):
                t = f + k + 2 + struct.unpack_from("<b", data, k + 1)[0]
            if t is not None:
                g = self.function_of(t & 0xFFFFFFFFFFFFFFFF)
                if g is not None:
                    out.add(g)
        return out

    def _aux_targets(self, t: int) -> set:
        """Functions the .altinstr_aux code entered at t branches into (its
        tests branch back into the function that jumped there, or anywhere)."""
        targets, _tests_only = self._aux_walk(t)
        return {g for g in map(self.function_of, targets) if g is not None}

    def _aux_walk(self, t: int) -> tuple:
        """(addresses outside .altinstr_aux its code entered at t branches
        to, whether it only tests and branches: test/cmp/bt, jumps, nops)."""
        hit = self._aux_memo.get(t)
        if hit is not None:
            return hit
        out: set = set()
        tests_only = True
        lo, hi = self.aux
        work, done = [t], set()
        while work:
            a0 = work.pop()
            if a0 in done or not lo <= a0 < hi:
                continue
            done.add(a0)
            try:
                code = self.prog.fetch_raw(a0, hi - a0)
            except CfgError:
                continue
            for a, size, m, ops in _decode_lazily(code, a0):
                m = _base_mnemonic(m)
                if (m in ("jmp",) or m.startswith(("j", "loop"))) and ops.startswith("0x"):
                    x = int(ops, 16)
                    if lo <= x < hi:
                        work.append(x)
                    else:
                        out.add(x)
                elif not (m.startswith(("test", "cmp", "bt", "nop")) and "bts" not in m and "btr" not in m
                          and "btc" not in m):
                    tests_only = False
                    if m == "call" and ops.startswith("0x"):
                        out.add(int(ops, 16))
                if m in ("jmp", "ud2", "int3") or m.startswith("ret"):
                    break
        self._aux_memo[t] = (out, tests_only)
        return out, tests_only

    def _current_readers(self, data: bytes, base: int, owner: int | None = None) -> set:
        """Functions with an instruction that reads the current task pointer
        from its per-CPU slot: any opcode with a %gs prefix (the REX or 0f
        bytes between) and a memory operand naming current_task, %gs-absolute
        (ModRM+SIB disp32) or RIP-relative (`mov`, `push`, `cmov`, an ALU
        source, ...), or the moffs `mov`; on a uniprocessor kernel the same
        without the prefix.  owner: the function every hit counts for
        (replacement code, which is its site's function's; function_of
        knows no node there, adv_s6_alt_reader).  A byte pattern: a match makes the data-flow pass
        read the function; a miss would lose one, so the pattern is wide."""
        if getattr(self, "_reader_res", None) is None:
            lay, fx = self.prog.layout, self.fx
            if lay.percpu_gs.value:
                want = lay.current_task.value & 0xFFFFFFFF
                pre, full = rb"\x65", lay.current_task.value
            else:
                want = fx.current_slot & 0xFFFFFFFF
                pre, full = rb"", fx.current_slot
            # (ModRM mod 00 r/m 100 and a SIB whose base is 101: disp32 with
            # no base, any index and scale -- the usual 0x25 and the three
            # other no-index SIB bytes an assembler never emits but the CPU
            # runs alike, adv_r29_sib_reader; an indexed slot.  ModRM mod 10,
            # disp32 plus a base (and a SIB), is _current_readers' scan of
            # the 4 bytes below.)
            sib_disp32 = re.escape(bytes(b for b in range(256) if b & 7 == 5))
            self._reader_res = (
                re.compile(pre + rb".{0,3}?[\x04\x0c\x14\x1c\x24\x2c\x34\x3c][" + sib_disp32 + rb"]" +
                           re.escape(struct.pack("<I", want)) + rb"|" + pre + rb"[\x40-\x4f]?\xa1" +
                           re.escape(struct.pack("<Q", full & 0xFFFFFFFFFFFFFFFF)), re.S),
                (b"\x65" if pre else b"", (1, 2, 3) if pre else (1, 2)),  # _riprel_hits: the prefix byte, gaps
                want,
                # the slot's ADDRESS as an immediate or absolute operand,
                # with no %gs: `mov $current_task,%r32/%r64`, `add
                # $current_task,%r64`, `lea current_task,%r` -- this_cpu_ptr
                # (_lite_transfer's _CPA).  (A RIP-relative lea of it, on a
                # uniprocessor kernel, is in the riprel patterns above, which
                # take any opcode there; a zero-based per-CPU slot is out of
                # a rel32's reach.)  Found by the 4 bytes, then the opcode
                # bytes before them are checked (a scan of every offset with
                # the alternation is several times slower).
                struct.pack("<I", (lay.current_task.value if lay.percpu_gs.value else fx.current_slot) & 0xFFFFFFFF))

        absolute, riprels, want, addr_imm = self._reader_res
        out = set()
        # every occurrence of the slot's address (low 32 bits) anywhere in
        # a function's bytes: an immediate of any form (`push $current_task`,
        # adv_r30_push_imm; mov, add, lea, ...), a displacement with or
        # without a register.  Rare outside real readers (3 in Debian
        # 6.12's text, where current is read RIP-relative), so the pass
        # reads a few functions more instead of trusting a list of encodings
        at = data.find(addr_imm)
        while at >= 0:
            f = self._owner(base + at, owner)
            if f is not None:
                out.add(f)
            at = data.find(addr_imm, at + 1)
        for m in absolute.finditer(data):
            f = self._owner(base + m.start(), owner)
            if f is not None:
                out.add(f)
        for start in self._riprel_hits(data, base, riprels, want):
            f = self._owner(base + start, owner)
            if f is not None:
                out.add(f)
        return out

    @staticmethod
    def _riprel_hits(data: bytes, base: int, gaps, want: int):
        """The offsets p in data where the prefix (%gs: 0x65; none on a
        uniprocessor kernel), any `gap` bytes, a RIP-relative ModRM (mod 00,
        r/m 101) and its disp32 make an operand whose address's low 32 bits
        are `want` (the address is that of the next byte after the disp32:
        no immediate follows in a load).  Vectorised (numpy): the same
        offsets as a regular expression `(?=PRE.{gap}[modrm](....))` per gap,
        without a Python step for each of the ~10^5 candidates."""
        pre, gap_list = gaps
        if len(data) <= 64:
            # (a patch site's replacement, a few bytes: ~8,500 of them on
            # 6.12, where numpy's cost per call, not per byte, is most of
            # _build's time for them) the same offsets, in the same order,
            # by a loop
            if pre and pre[0] not in data:
                return []
            modrm = [p for p in range(len(data) - 4) if data[p] & 0xC7 == 0x05 and (
                (base & 0xFFFFFFFF) + p + 5 + int.from_bytes(data[p + 1:p + 5], "little", signed=True))
                & 0xFFFFFFFF == want]
            return [p - len(pre) - gap for gap in gap_list for p in modrm
                    if p - len(pre) - gap >= 0 and (not pre or data[p - len(pre) - gap] == pre[0])]
        import numpy as np

        b = np.frombuffer(data, dtype=np.uint8)
        # every RIP-relative ModRM with its disp32 inside the data
        modrm = np.nonzero((b[:max(0, len(b) - 4)] & 0xC7) == 0x05)[0]
        d = modrm + 1
        disp = (b[d].astype(np.int64) | (b[d + 1].astype(np.int64) << 8) | (b[d + 2].astype(np.int64) << 16) |
                (b[d + 3].astype(np.int64) << 24))
        disp = np.where(disp >= 1 << 31, disp - (1 << 32), disp)
        modrm = modrm[(((base & 0xFFFFFFFF) + d + 4 + disp) & 0xFFFFFFFF) == want]
        out = []
        for gap in gap_list:
            start = modrm - len(pre) - gap
            start = start[start >= 0]
            if pre:
                start = start[b[start] == pre[0]]
            out.extend(start.tolist())
        return out

    def _fixup_table(self) -> dict:
        if getattr(self, "_fixups", None) is None:
            from ..image.patches import tables

            # instruction -> every fixup its entries give (the kernel's
            # bsearch may find either of two entries for one instruction)
            self._fixups = {a: tuple(f for f, _d in es) for a, es in tables(self.prog.image).extable_entries.items()}
        return self._fixups

    def _owner(self, addr: int, owner: int | None) -> int | None:
        return owner if owner is not None else self.function_of(addr)

    def _in_code(self, addr: int) -> bool:
        """Whether addr is in code (_build's code sections; not
        .altinstr_aux, whose code _aux_targets reads)."""
        return any(lo <= addr < hi for lo, hi in self._code_secs) and not (self.aux and self.aux[0] <= addr < self.aux[1])

    def function_of(self, addr: int) -> int | None:
        """The innermost node whose extent holds addr: the last symbol
        starting at or before it, or, past that one's end, the symbol whose
        extent encloses both (a sized symbol nested in another: 6.1's
        `__x86_return_thunk` inside `zen_untrain_ret`; the bytes after the
        inner one's end are the outer one's code, adv_r29_straddle_inner).
        None where no extent holds addr."""
        i = bisect.bisect_right(self.starts, addr) - 1
        while i >= 0 and addr >= self.ends[i]:
            i = self._enclosing[i]
        return self.starts[i] if i >= 0 else None

    # -- queries ------------------------------------------------------------------
    def of(self, start: int) -> str | None:
        """None when nothing start can reach may set the bit, else why."""
        self._walk_depth += 1
        try:
            return self._of(start)
        finally:
            self._walk_depth -= 1
            if not self._walk_depth:
                self._reader_decodes.clear()  # (kept for passes that did not come: a setter by name, ...)

    def _of(self, start: int) -> str | None:
        if self._graph is None:
            self._build()
        if start in self._clean:
            return None
        if start in self._closed and start in self._dirty:
            return self._dirty[start]  # (its closure walked to the fixpoint, a setter found in it)
        # (depth first, each function read after the functions it calls:
        # a callee's return fact is then known when its callers are read,
        # which spares most of the passes read again below; the answer does
        # not depend on the order, the loop below reads to the fixpoint)
        seen, work, parent = {start}, [(start, False)], {start: None}
        order: list = []  # the functions in the order they were read (callees first)
        expanded: set = set()  # those whose callees were pushed
        ordered: set = set()  # those in order
        first = None  # why start may set the bit (the first setter found)
        epoch = self._clean_epoch
        while True:
            if not work:
                # a function whose return carries the current task pointer
                # (found while reading) makes the passes of its callers, read
                # before that was known, out of date: read the closure again
                # until no new one appears (the returns only grow).  Checked
                # whenever the work runs out, however the last step ended (a
                # `continue` there once skipped it: a closure was taken for
                # clean with 14 such returns unread on Debian 6.12)
                # (a fact is new when it changed since it was last spread: a
                # function read again may return more than it did)
                new = {g for g in seen if self._ret_free.get(g, _NO_TAG) is not _NO_TAG and
                       self._fact_time.get(g, 0) > self._spread_time.get(g, -1)}
                if not new:
                    # ... and the facts a walk nested in this one spread (the
                    # closure walk of an effect _setter_why computes): they
                    # are not new here, but what they made stale was dropped
                    # wherever it was, in this walk too
                    # (adv_r101_nested_spread): read those again (below)
                    if all(g in self._setter or g in self._clean for g in order) and self._clean_epoch == epoch:
                        break
                else:
                    self._spreads += 1
                    self._tick += 1
                    for g in new:
                        self._spread_time[g] = self._tick
                    # (passes with a pointer passed in, and the ghost passes that
                    # confirmed prototypes, read those returns too: those that
                    # read one, or used a pass that did, are read again)
                    for key in [k for k in self._ctx_memo if self._outdated(self._ctx_deps[k])]:
                        del self._ctx_memo[key]
                        del self._ctx_deps[key]
                    for t in [t for t in self._proto_memo if (t, self._proto_ghosts.get(t)) not in self._ctx_memo]:
                        del self._proto_memo[t]  # (its ghost pass is read again, or was never memoised)
                    # what a return carrying the pointer changes: the passes of
                    # the functions that call one (_call_out tags what they find
                    # in RAX/RDX; _needs_pass reads their callees' returns),
                    # wherever they were read, in this query or an earlier one
                    # that stopped at a setter.  Their own returns may change in
                    # turn: the next round of this loop.  (A clean function
                    # calling one cannot be stale: the query that made it clean
                    # read its closure to this fixpoint.)
                    stale = {f for f, succ in self._succ_memo.items()
                             if any(g in new and self._made_before(f, g) for g in succ)}
                    # ... and those that used a pass with a context that read one
                    # (f passes the pointer to a callee whose callee returns it)
                    stale |= {f for f, deps in self._lite_deps.items() if f in self._lite_done and self._outdated(deps)}
                    # ... and the functions that decided whether to read at all
                    # from the facts of their unit's other code's callees
                    # (_needs_pass; adv_r103_shared_tail_order)
                    stale |= {p for p, unit in self._unit_memo.items()
                              if not isinstance(unit, str) and len(unit) > 1 and p in self._setter and any(
                                  g in new and self._made_before(p, g)
                                  for h, _e in unit if h != p for g in self._succ_memo.get(h, ()))}
                    # ... and the passes that read their code: a cold part's
                    # call is read by its function's pass (_primary, _unit:
                    # adv_r97_cold_stale_primary)
                    stale |= {self._primary(f) for f in stale}
                    stale |= {p for p, unit in self._unit_memo.items()
                              if not isinstance(unit, str) and any(g in stale for g, _e in unit)}
                    # the precise effects (TsCompatEffects.of) composed from
                    # passes made before: _setter_why takes a flagged function
                    # for no setter on its effect (adv_r97_xol_stale_effect)
                    self.fx._memo.clear()
                    for g in stale:
                        for memo in (self._setter, self._lite_done, self._flagged, self._pass_time, self._setter_time):
                            memo.pop(g, None)
                    if stale & (self._clean | self._closed):
                        # (not expected: then nothing is taken for clean)
                        self._clean.clear()
                        self._closed.clear()
                        self._clean_epoch += 1
                if self._clean_epoch != epoch:
                    # the clean set was emptied, here or in a walk nested in
                    # this one: the closure is walked again from the start,
                    # into the functions this walk skipped as clean (review
                    # 102)
                    epoch = self._clean_epoch
                    seen, parent, expanded, order, ordered = {start}, {start: None}, set(), [], set()
                    work = [(start, False)]
                    continue
                # (read again in the order of the walk: callees first)
                work = [(g, True) for g in reversed(order) if g not in self._clean]
                continue
            if self._passes > READ_LIMIT_PASSES:
                # a bound on the cost, not a claim: what is not read is taken
                # as a possible setter (a count, so the answer does not
                # depend on the machine's load)
                self.over_budget = True  # (every walk from now on is cut: TsCompatEffects.of)
                return f"more than {READ_LIMIT_PASSES} functions to read"
            f, callees_done = work.pop()
            if f in self._clean:
                continue
            if not callees_done:
                if f in expanded:
                    continue  # (pushed again by another caller)
                expanded.add(f)
                work.append((f, True))
                # not into what is retargeted at run time (assumption
                # ts-compat-writers) nor into the syscalls a dispatch
                # reaches (a setter already: _setter_why, which decides
                # those without a pass)
                if f not in self.runtime and not (self._runs_syscalls(f) and self._setter_why(f)):
                    for g in self._succ(f):
                        if g not in seen:
                            seen.add(g)
                            parent[g] = f
                        if g not in expanded:
                            # (pushed again when pushed before and not read
                            # yet: a true depth-first order, each read after
                            # every callee not already on its call path)
                            work.append((g, False))
                continue
            if f not in ordered:
                ordered.add(f)
                order.append(f)
            if f not in self.runtime:
                self._succ(f)  # (first: it may find f dirty, _decoded_succ)
            # (its own pass even when a setter it calls made it dirty: its
            # return fact is read by its callers)
            own = self._setter_why(f)
            why = self._dirty.get(f) or own
            if why is not None:
                chain = [f]
                while parent[chain[-1]] is not None:
                    chain.append(parent[chain[-1]])
                # every function on the chain reaches the setter: a later
                # query stops there
                base = why.split(" (reached: ")[0]
                for k, x in enumerate(chain):
                    if x not in self._dirty:
                        path = " <- ".join(self.prog.symbolize(y) for y in chain[:min(k + 1, 6)])
                        self._dirty[x] = f"{base} (reached: {path})"
                if first is None:
                    first = self._dirty[start]
                # (the walk went on past a setter, into its callees: the
                # returns carrying the pointer anywhere in the closure are
                # found and their callers read again before any pass of it
                # is used; a walk that stopped there left them "not read:
                # returns nothing" for the precise pass,
                # adv_r98_top_clear_hides_ret)
        if first is not None:
            self._closed |= seen
            return first
        self._clean |= seen
        return None

    def _runs_syscalls(self, f: int) -> bool:
        """f is a syscall dispatch or table, or names one (its closure is
        every syscall's: a setter already, never walked)."""
        return f in self.prog.dispatch or f in self.fx.syscall_tables or self._names_syscall_table(f) is not None

    def clears_in_closure(self, start: int) -> bool:
        """Whether a function start can reach clears the bit through the
        current task pointer (after of(start) found no setter)."""
        seen, work = {start}, [start]
        while work:
            f = work.pop()
            self._setter_why(f)
            if self._clears.get(f):
                return True
            if f in self.runtime:
                continue
            for g in self._succ(f):
                if g not in seen:
                    seen.add(g)
                    work.append(g)
        return False

    def clears_near(self, f: int) -> bool:
        """Whether f or a function it calls directly clears the bit through
        the current task pointer (where a must-clear may be found)."""
        return any(self._setter_why(g) is None and self._clears.get(g)
                   for g in [f, *self._succ(f)])

    def _setter_why(self, f: int) -> str | None:
        if f in self._setter:
            return self._setter[f]
        self._tick += 1
        self._setter_time[f] = self._tick
        prog, fx = self.prog, self.fx
        why = None
        name = prog.start_name(f) or ""
        if self.aux and self.aux[0] <= f < self.aux[1]:
            if not self._aux_walk(f)[1]:
                why = f".altinstr_aux code at {prog.symbolize(f)} does more than test a CPU feature and branch"
        elif f in prog.dispatch or f in fx.syscall_tables:
            why = f"{name} runs a syscall"
        elif prog.runtime_target(f):
            why = None  # run-time targets: assumption ts-compat-writers
        else:
            why = self._names_syscall_table(f) or self._invd_why(f)
            if why is not None and f not in self._lite_done and f not in self._ret_free:
                # a setter by what it names, its pass never run: what it
                # returns is not known, so a caller's store through its
                # return is one through "some offset" of current (review
                # 201: `audit_task` naming x64_sys_call and returning
                # current, which the hook then sets TS_COMPAT through:
                # adv_r201_table_named_ret); the new fact makes the spread
                # read its callers again
                self._set_ret_free(f, None)
            if why is None and self._needs_pass(f):
                why = self._lite(f)
                if why is not None and why in self._flagged.get(f, {}).values():
                    # only stores over the bit (no part of the code it could
                    # not read): what does the function leave at its returns,
                    # each of those stores taken as setting the bit?
                    # (arch_uprobe_get_xol_area sets the bit around
                    # get_unmapped_area() and clears it again)
                    self._setter[f] = why  # while the effect is computed
                    read_at = self._pass_time.get(f)
                    eff = fx.of(f)
                    if f not in self._lite_done or self._pass_time.get(f) != read_at:
                        # a round of that effect's closure walk dropped f's
                        # pass (a return fact it read has changed) or read
                        # it again: the flags and the answer above are of
                        # the old one.  Decided again on the new pass (the
                        # facts only grow), a few times; then a setter
                        self._setter.pop(f, None)
                        self._redecided[f] = self._redecided.get(f, 0) + 1
                        if self._redecided[f] <= 3:
                            return self._setter_why(f)
                    # only if the backward pass read every flagged store: it
                    # reads what the entry reaches, the sweep also code
                    # entered from elsewhere (a fixup, a jump from outside)
                    elif eff.kind in (KEEP, CLEAR, MAYCLEAR) and \
                            set(self._flagged.get(f, {})) <= fx._read_addrs.get(f, set()):
                        # (and the mark the closure walk of that effect
                        # (TsCompatEffects.of, top) left on f from the
                        # answer above, which held only meanwhile, goes)
                        if (self._dirty.get(f) or "").split(" (reached: ")[0] == why:
                            del self._dirty[f]
                        why = None
        self._setter[f] = why
        return why

    def prepare(self) -> None:
        """Build the whole-image graph now (tseffects: in the answering
        process, before the first question)."""
        if self._graph is None:
            self._build()

    def task_context(self, t: int, reg_tags, stack_tags) -> tuple:
        """The entry context of a call to t from the engine's state:
        reg_tags(r) / stack_tags(k) give the offsets from the current task a
        register / the stack word at RSP + k (before the call pushes its
        return address) may hold: a frozenset, None (some offset) or ()
        (not a pointer into it).  Same ABI rule as _call_out."""
        ctx = []
        nargs = self._arguments_of(t)
        tags_of = {r: reg_tags(r) for r in _ARG_REGS}
        if nargs is not None and any(tags_of[r] != () for r in _ARG_REGS[nargs:]):
            if self._graph is None:
                self._build()
            if not self._prototype_holds(t, nargs):
                nargs = None
        for k, r in enumerate(_ARG_REGS):
            if tags_of[r] != () and (nargs is None or k < nargs):
                ctx.append((r, tags_of[r]))
        rax = reg_tags("rax")
        if rax != () and self._hands_back(t):
            ctx.append(("rax", rax))  # (as _call_out: adv_r106_entry_rax_hook)
        if nargs is None:
            # stack_tags(k): the word at RSP + k when the call has pushed its
            # return address (at RSP + 0): the callee's slot k
            for k in range(8, _ENGINE_STACK_ARGS + 8, 8):
                tags = stack_tags(k)
                if tags != ():
                    ctx.append(((_SLOT, k), tags))
        return tuple(sorted(ctx, key=lambda kv: str(kv[0])))

    def in_context(self, t: int, ctx: tuple) -> str | None:
        """Why t, entered with ctx (task_context's), may set the bit (its own
        code and what it passes the pointer to), or None."""
        if self._graph is None:
            self._build()
        return self._lite_in(t, ctx)[0]

    def _prototype_holds(self, t: int, nargs: int) -> bool:
        """Whether t's code leaves alone the argument registers beyond its
        BTF prototype (checked once per function: a pass with each of them
        a ghost; one the code stores through or of, passes on or returns
        refutes the prototype: an assembly function pahole described as
        `void f(void)`, 6.1's memcpy, or a prototype of another function of
        the same name)."""
        ghosts = tuple(sorted(((r, _GHOST_TAG) for r in _ARG_REGS[nargs:]), key=lambda kv: str(kv[0])))
        hit = self._proto_memo.get(t)
        if hit is not None and self._dep_stack:
            # (what the ghost pass read, the pass asking now depends on)
            self._dep_stack[-1] |= self._ctx_deps.get((t, ghosts), frozenset())
        if hit is None:
            self._proto_ghosts[t] = ghosts
            self._proto_memo[t] = False  # (recursion: not confirmed)
            why = self._lite_in(t, ghosts)[0]
            # Any flag of the ghost pass refutes it, not only a ghost use the
            # pass recognised as one: a ghost combined into a value the pass
            # only knows as "some offset from the current task"
            # (adv_r6_ghost_alu), code the pass could not read or follow (an
            # indirect jump, recursion), a callee it could not decide.  The
            # only cost is precision: with the prototype refuted the callee
            # is read with every argument register its caller holds the
            # pointer in.
            hit = self._proto_memo[t] = not why
        return hit

    def _keeps(self, t: int) -> frozenset:
        """The caller-saved registers a call to t returns with as the caller
        left them: t is a leaf whose code (every patch-site candidate, every
        path of its FunctionCfg) writes none of them.  Soundness: the CPU
        changes a register only by an instruction that writes it, and an
        interrupt or exception returns to the code with the registers it
        interrupted; so a leaf (no call, no tail jump but to a return thunk,
        no indirect jump, no exception fixup, no trap, no instruction whose
        register effect is not known: capstone's writes plus summary.py's
        implicit-writes table) that never writes r returns with r unchanged.
        A caller may then read r after the call: compiled C does so across
        a callee it knows leaves r alone (GCC's -fipa-ra, in a unit built
        without -pg), inline asm across a helper its clobber list says keeps
        r.  Anything else (a callee that calls, a retargeted one): none (what
        is kept there is ts-compat-writers')."""
        hit = self._keeps_memo.get(t)
        if hit is None:
            hit = self._keeps_memo[t] = self._keeps_uncached(t)
        return hit

    def _keeps_uncached(self, t: int) -> frozenset:
        none = frozenset()
        if t in self.runtime:
            # retargeted at run time: assumption ts-compat-writers (a NULL
            # static call, which leaves every register as it was, is not
            # followed: keeping RAX/RDX across the static calls made Debian
            # 6.1's closure query "may set" through the dead RAX of void
            # callers; adv_r106_sct_ret_keeps_rax)
            return none
        if self.function_of(t) != t or not self._lite_leaf(t):
            # (no leaf by the pass's own decode: no CFG built)
            return none
        try:
            cfg = self.prog._cfgs.get(t) or FunctionCfg(self.prog, t)
        except CfgError:
            return none
        gpr64, _implicit, unknown = _summary_tables()
        fixups = self._fixup_table()
        written: set = set()
        for b in cfg.blocks.values():
            for ins in b.insns:
                if ins.kind in ("tail", "jmp", "jcc") and ins.target in self.thunks:
                    continue  # `jmp __x86_return_thunk`: a ret (assumption return-thunk)
                # (special: an instruction whose flags the CPU leaves
                # undefined, a shift; a system one; a trap.  dead: a BUG()
                # that ends the task.  An exception-table entry: the
                # handler may write a register, ex_handler_imm_reg and the
                # like: not a leaf here)
                if ins.kind not in ("plain", "jcc", "jmp", "ret", "special", "dead") or ins.addr in fixups or \
                        ignored_rex(ins.raw):
                    return none
                ci = self.fx._decode(ins)
                if isinstance(ci, _NoOperands):
                    if ins.mnemonic == "serialize":
                        continue  # (cfg._UNKNOWN_TO_CAPSTONE: writes no register)
                    return none
                m = ci.mnemonic.split(" ")[-1]
                if m in ("ud1", "ud2", "hlt"):
                    # a trap that dies or returns with the registers it
                    # interrupted (a WARN's report_bug), or a halt an
                    # interrupt resumes: no register written
                    continue
                if m in unknown or m in ("ud0", "int3", "int1", "rdsspd", "rdsspq", "slwpcb") or (
                        (ci.group(capstone.CS_GRP_PRIVILEGE) or ci.group(_X.X86_GRP_VM)) and
                        m not in _system_modelled()):
                    # (int3: a kprobe's handler may change the registers;
                    # RDSSP's and SLWPCB's register write capstone does not
                    # report, review 107)
                    return none
                try:
                    for r in ci.regs_access()[1]:
                        name = ci.reg_name(r)
                        written.add(gpr64.get(name, name))
                except capstone.CsError:
                    return none
                written.update(_IMPLICIT_WRITES_OF(ci.mnemonic))
        return frozenset(r for r in machine.CALLER_SAVED if r not in written)

    def _lite_leaf(self, t: int) -> bool:
        """t's unit, as the pass decodes it (every patch-site candidate), has
        no call, no branch out of it but to a return thunk and no indirect
        jump: a quick test before _keeps_uncached builds the CFG.  (Not the
        whole-image graph: its byte scan reads branches inside immediates,
        `movl $0xdeb,%eax`, review 108.)"""
        unit = self._unit(t)
        if isinstance(unit, str):
            return False
        sites: dict = {}
        insns: list = []
        for g, gend in unit:
            part = self._decode_extent(g, gend, sites)
            if isinstance(part, str):
                return False
            insns += part
        for _length, cands in sites.values():
            for cand in cands:
                insns += cand
        for _a, _size, m, ops in insns:
            m = _base_mnemonic(m)
            if m == "call":
                return False
            if m == "jmp" or m.startswith(("j", "loop")):
                if not ops.startswith("0x"):
                    return False
                x = int(ops, 16)
                if x not in self.thunks and not any(g <= x < gend for g, gend in unit):
                    return False
        return True

    def _hands_back(self, t: int) -> bool:
        """t may return with RAX holding what its caller left there, or a
        value computed from it: t is code that BTF does not describe as
        compiled C (btf.function_described), i.e. assembly, which keeps to
        no ABI (a thunk that saves and restores RAX: 6.12's
        warn_thunk_thunk, the PV_CALLEE_SAVE thunks; inline asm calling one
        keeps values in the registers its clobber list leaves out:
        adv_r103_rax_kept_by_callee, adv_r103_rax_tail_thunk).  Compiled C
        sets RAX to its return value or leaves it dead to its caller.  A
        callee retargeted at run time (a static call's trampoline, a
        retpoline) is unknown code: ts-compat-writers."""
        hit = self._hands_back_memo.get(t)
        if hit is None:
            hit = self._hands_back_memo[t] = t not in self.runtime and not self._described(t)
        return hit

    def _described(self, t: int) -> bool:
        """t's BTF prototype describes compiled C code (btf.function_described:
        not pahole's `void f(void)` placeholder for an assembly function, not
        a name two functions share), so t reads only the argument registers
        it declares (a variadic one, those its fixed arguments tell it of)."""
        name = self.prog.start_name(t)
        btf = self.prog.image.btf
        if not name or btf is None:
            return False
        self._arguments_of(t)  # (fills _dup_names)
        if name in (self._dup_names or ()):
            return False
        try:
            return btf.function_described(name)
        except BtfError:
            return False

    def _arguments_of(self, t: int) -> int | None:
        hit = self._args_memo.get(t, _NO_TAG)
        if hit is _NO_TAG:
            hit = self._args_memo[t] = self._arguments_of_uncached(t)
        return hit

    def _arguments_of_uncached(self, t: int) -> int | None:
        """How many argument registers t's BTF prototype uses (integers and
        pointers only, none on the stack), or None (not described: every
        argument register and the stack arguments count).  A compiled C
        function reads no other caller register before writing it
        (assumption abi-callee-saved: the ABI's argument registers)."""
        name = self.prog.start_name(t)
        btf = self.prog.image.btf
        if not name or btf is None:
            return None
        if self._dup_names is None:
            import collections

            counts = collections.Counter(n for _a, _s, n in self.prog.symbols._sorted)
            self._dup_names = {n for n, c in counts.items() if c > 1}
        if name in self._dup_names:
            # two functions of one name (static functions in two files, or
            # an asm function beside a C one): pahole (before 1.25) kept one
            # prototype for the name, which may be the other's
            return None
        try:
            return btf.function_arguments(name)
        except BtfError:  # a BTF the layout reader accepted but this walk cannot read
            return None

    def _needs_pass(self, f: int) -> bool:
        """Whether f can hold the current task pointer with nothing passed in:
        it reads current_task, or a function it calls returns the pointer,
        or other code its pass reads (its unit) does either."""
        if f in self.readers or any(self._ret_free.get(g, _NO_TAG) is not _NO_TAG for g in self._succ(f)):
            return True
        # ... or other code its pass reads does (a cold part, another
        # function's middle: _unit; a call to one makes every register any
        # offset, adv_r102_cold_orphan_call)
        unit = self._unit(f)
        if isinstance(unit, str):
            return True
        return any(g != f and (g in self.readers or any(
            self._ret_free.get(h, _NO_TAG) is not _NO_TAG for h in self._succ(g))) for g, _e in unit)

    def _names_syscall_table(self, f: int) -> str | None:
        """A reference to a syscall table or dispatcher in f's bytes: a 32-bit
        absolute (sign-extended) or 64-bit immediate, or a RIP-relative
        displacement (lea/mov) that resolves to one."""
        tabs = self.fx.syscall_tables
        if not tabs:
            return None
        memo = self._table_memo
        if f in memo:
            return memo[f]
        memo[f] = why = self._names_syscall_table_uncached(f, tabs)
        return why

    def _names_syscall_table_uncached(self, f: int, tabs) -> str | None:
        i = bisect.bisect_right(self.starts, f) - 1
        try:
            data = self.prog.fetch_raw(f, self.ends[i] - f)
        except CfgError:
            return None
        needles = self.__dict__.get("_table_needles")
        if needles is None:
            # (packed once, in the set's order: the first table found is named)
            needles = self._table_needles = [(a, struct.pack("<I", a & 0xFFFFFFFF), struct.pack("<Q", a))
                                             for a in tabs]
        for a, low, full in needles:
            if low in data or full in data:
                return f"{self.prog.symbolize(f)} names {self.prog.symbolize(a)}"
        for m in _RIPREL.finditer(data):
            ea = (f + m.start(1) + 4 + struct.unpack("<i", m.group(1))[0]) & 0xFFFFFFFFFFFFFFFF
            if ea in tabs:
                return f"{self.prog.symbolize(f)} names {self.prog.symbolize(ea)}"
        return None

    def _primary(self, f: int) -> int:
        """The function whose pass reads f: f itself, or for a GCC cold part
        (`foo.cold`, entered only by jumps from foo's frame, with foo's stack)
        foo, whose unit holds it."""
        name = self.prog.start_name(f) or ""
        m = _COLD.match(name)
        if m:
            p = self.prog.symbols.get(m.group(1))
            if p is not None and p != f and f in {g for g, _e in (self._unit(p) if not isinstance(
                    self._unit(p), str) else [])}:
                return p
        return f

    def _lite(self, f: int) -> str | None:
        """_lite_store_through_current with nothing known at entry, once per
        function (until a callee's return turns out to carry the pointer)."""
        p = self._primary(f)
        if p != f:
            why = self._lite(p)
            self._flagged[f] = {}
            self._clears[f] = False
            # (its return fact: _lite sets it with its function's, which a
            # call to the cold part's start may also get back)
            return why
        if f not in self._lite_done:
            self._tick += 1
            self._pass_time[f] = self._tick  # (what the pass knows: the facts set before now)
            if f in self._lite_active:
                # recursion (not reached today: a pass reads no other
                # function's ctx-free pass): nothing is known yet, so a
                # possible setter, not memoised
                return f"{self.prog.symbolize(f)} is being read (recursion)"
            self._lite_active.add(f)
            outer, self._dep_stack = self._dep_stack, [set()]  # (its own: a ctx-free pass is no one's part)
            try:
                self._saw_clear = False
                res = self._lite_store_through_current(f, ())
                flagged, ret = (res, None) if isinstance(res, str) else res
            finally:
                self._lite_active.discard(f)
                self._lite_deps[f] = self._dep_stack.pop()
                self._dep_stack = outer
            if isinstance(flagged, str):  # could not read it
                self._lite_done[f] = flagged
                self._set_ret_free(f, None)
            else:
                self._flagged[f] = flagged
                self._lite_done[f] = next(iter(flagged.values())) if flagged else None
                self._set_ret_free(f, self._returned(f, ret))
            # a cold part of f's unit (_primary) returns what f's pass found
            # at every return of the unit, the cold part's among them: a
            # call to its start gets that back (adv_r101_cold_call_ret; its
            # own "not read" fact let a caller storing through it go unread)
            unit = self._unit(f)
            for g, _e in (unit if not isinstance(unit, str) else ()):
                if g != f and g in self.colds and self._primary(g) == f:
                    self._set_ret_free(g, None if isinstance(flagged, str) else self._returned(g, ret))
            self._clears[f] = self._saw_clear
        return self._lite_done[f]

    def _set_ret_free(self, f: int, tags) -> None:
        """Record what f's return carries; a change is a new fact (its time:
        MaySet.of re-reads the passes made before it)."""
        if self._ret_free.get(f, _NO_TAG) != tags or f not in self._ret_free:
            self._tick += 1
            self._fact_time[f] = self._tick
        self._ret_free[f] = tags

    def _made_before(self, f: int, g: int) -> bool:
        """A memo of f (its pass, or its setter answer) was made before g's
        latest return fact."""
        t = self._fact_time.get(g, 0)
        return self._pass_time.get(f, t) < t or self._setter_time.get(f, t) < t

    def _read_ret(self, t: int):
        """t's return fact, as a pass reads it: noted as what the running
        pass depends on."""
        fact = self._ret_free.get(t, _NO_TAG)
        if self._dep_stack:
            self._dep_stack[-1].add((t, fact))
        return fact

    def _outdated(self, deps) -> bool:
        """A pass that read these facts read one that has changed since."""
        return any(self._ret_free.get(g, _NO_TAG) != fact for g, fact in deps)

    def _lite_in(self, t: int, ctx: tuple) -> tuple:
        """(why t may write the current task's status, tags of what it
        returns in RAX) when it is entered with ctx (registers and stack
        arguments holding the current task pointer, from a direct caller)."""
        key = (t, ctx)
        hit = self._ctx_memo.get(key)
        if hit is not None:
            if self._dep_stack:
                self._dep_stack[-1] |= self._ctx_deps[key]
            return hit
        if key in self._ctx_active or len(self._ctx_active) >= MAX_CTX_DEPTH:
            return (f"{self.prog.symbolize(t)} passes the current task pointer on and on (recursion)", None)
        if self._passes > READ_LIMIT_PASSES:
            return (f"more than {READ_LIMIT_PASSES} functions to read", None)
        self._ctx_active.add(key)
        self._dep_stack.append(set())
        try:
            res = self._lite_store_through_current(t, ctx)
            flagged, ret = (res, None) if isinstance(res, str) else res
        finally:
            self._ctx_active.discard(key)
            deps = self._dep_stack.pop()
            if self._dep_stack:
                self._dep_stack[-1] |= deps
        if isinstance(flagged, str):
            hit = (flagged, None)
        else:
            hit = (next(iter(flagged.values())) if flagged else None, ret)
        self._ctx_memo[key] = hit
        self._ctx_deps[key] = frozenset(deps)
        return hit

    def _branch_in(self, inside, a: int, t: int, st: dict, flagged: dict) -> list:
        """The addresses in f a branch at a to t continues at, for the pass
        over f.  A branch into .altinstr_aux continues where the aux code
        branches back into f.  Where control goes on outside f (the middle of
        another function, aux code that leaves f or does more than test) with
        the current task pointer live, the branch is flagged: the pointer is
        not followed there (a branch to another function's start is a tail
        call: _call_out)."""
        if inside(t):
            return [t]
        live = not st.keys() <= _UNTAGGED
        if self.aux and self.aux[0] <= t < self.aux[1]:
            targets, tests_only = self._aux_walk(t)
            back = [x for x in targets if inside(x)]
            if live and (not tests_only or len(back) != len(targets)):
                flagged.setdefault(a, f"a branch at {self.prog.symbolize(a)} into .altinstr_aux code that "
                                      "leaves the function with the current task pointer live")
            return back
        if live and self.function_of(t) != t:
            flagged.setdefault(a, f"a branch at {self.prog.symbolize(a)} into the middle of "
                                  f"{self.prog.symbolize(t)} with the current task pointer live")
        return []

    def _call_out(self, t: int, m: str, st: dict) -> tuple:
        """(why, tags of RAX after it returns) for a direct call or jump from
        state st to the start of another function t.  What t can see of the
        caller's current task pointer is what the ABI hands it: the argument
        registers and the stack arguments at and above RSP (a compiled
        callee saves a callee-saved register before it uses it: assumption
        abi-callee-saved).  With nothing passed, t's return carries the
        pointer only if its own pass (t reads current_task) says so."""
        if t in self.runtime:
            return None, _NO_TAG  # (retargeted at run time: assumption ts-compat-writers)
        if self.aux and self.aux[0] <= t < self.aux[1]:
            return None, _NO_TAG  # (aux code: _branch_in)
        if self.function_of(t) != t:
            if not st.keys() <= _UNTAGGED:
                return (f"a branch into the middle of {self.prog.symbolize(t)} with the current task pointer "
                        "live", _NO_TAG)
            return None, _NO_TAG
        sp = st.get(_SP)
        # (an RSP moved by an unknown amount is None, which counts as "not
        # popped": only a known offset of 0 is a tail call's)
        if m != "call" and _SP in st and sp != 0 and \
                any(x not in (_SP, _BP, _SPC) and x not in _ARG_REGS for x in st):
            # a jump out with this frame still on the stack (or a frame of
            # unknown depth) is no tail call: the code there may use every
            # register and slot of it.  (Code the pass enters with nothing
            # known, no RSP offset at all, is read with its real state in
            # the unit of the function that jumps there.)
            return (f"a jump to {self.prog.symbolize(t)} with the frame not popped and the current task "
                    "pointer live", _NO_TAG)
        ctx = []
        nargs = self._arguments_of(t)
        if nargs is not None and any(r in st and not _ghostly(st[r]) for r in _ARG_REGS[nargs:]) and \
                not self._prototype_holds(t, nargs):
            nargs = None
        for k, r in enumerate(_ARG_REGS):
            if r in st:
                if _ghostly(st[r]):
                    # a register this function was not given: compiled code
                    # sets every argument of a callee with a prototype, so
                    # one left in place for t's prototype is a use of it.  A
                    # callee BTF does not describe (assembly, a name two
                    # functions share) may read every argument register: a
                    # ghost left for it is a use too (adv_r6_ghost_unprototyped:
                    # dropping it let an assembly helper's `void f(void)`
                    # stand while its tail callee stored through RDI); so is
                    # one left for a callee whose prototype was refuted
                    # (nargs None here, a prototype in BTF).  A described
                    # callee does not read it beyond its prototype (a
                    # variadic one reads what its fixed arguments tell it
                    # of); pahole's `void f(void)` placeholder is checked like
                    # a prototype the pointer is passed beyond.
                    nargs0 = self._arguments_of(t)
                    if (nargs is not None and k < nargs) or (nargs is None and nargs0 is not None) or (
                            not self._described(t) and (nargs0 is None or not self._prototype_holds(t, nargs0))):
                        return (f"{_GHOST_WHY}: passes it on to {self.prog.symbolize(t)}", _NO_TAG)
                    continue
                if nargs is None or k < nargs:
                    ctx.append((r, st[r]))
        if "rax" in st and self._hands_back(t):
            # RAX too, for code that keeps to no ABI (whatever prototype
            # pahole gave it: `void f(void)` is its placeholder for every
            # assembly function, adv_r106_void_placeholder_keeps_rax): what
            # comes back in its return registers is then what its pass finds
            # there, a value it saved and restored included (_hands_back).
            # A ghost there is a use, as in an argument register above.
            if _ghostly(st["rax"]):
                return (f"{_GHOST_WHY}: passes it on to {self.prog.symbolize(t)} in RAX", _NO_TAG)
            ctx.append(("rax", st["rax"]))
        into = 8 if m == "call" else 0  # the return address a call pushes
        stack = []
        if sp is None:
            if _STACK in st or any(isinstance(k, tuple) and k[0] == _SLOT for k in st):
                stack.append((_STACK, self._slot_load(st, None)))
        else:
            if _STACK in st:
                stack.append((_STACK, st[_STACK]))
            for k, v in st.items():
                # every slot at or above RSP: stack arguments of any size
                if isinstance(k, tuple) and k[0] == _SLOT and sp <= k[1]:
                    stack.append(((_SLOT, k[1] - sp + into), v))
        if nargs is None:
            ctx += stack  # (with a prototype, all its arguments are in registers)
        if ctx:
            ctx = tuple(sorted(ctx, key=lambda kv: str(kv[0])))
            why, ret = self._lite_in(t, ctx)
            if why:
                why = f"passes the current task pointer to {self.prog.symbolize(t)}: {why}"
            return why, (None if ret is None else self._returned(t, ret))  # (None: any offset)
        # (a callee not read yet counts as not returning it: MaySet.of and
        # _compute read again when a function turns out to return it)
        return None, self._returned(t, self._read_ret(t))

    def _returned(self, t: int, tags):
        """What a caller finds in RAX after t returns: tags, unless t's BTF
        prototype returns void or a value narrower than a pointer.  (A
        `void f(void)` counts as not described: pahole gives an assembly
        function that prototype, and even a C one leaves what it leaves in
        RAX/RDX for an assembly caller, a tail-jumping C wrapper's caller or
        inline asm to read: adv_r97_c_void_ret_rax, adv_r99_c_void_*.)"""
        if tags is _NO_TAG:
            return tags
        if not self._return_registers(t):
            return _NO_TAG
        return tags

    def _return_registers(self, t: int) -> tuple:
        """The registers t's return value is in (btf.function_return_registers):
        RAX, or RAX:RDX for a two-word struct (adv_r6_ret_rdx: `struct {
        flags; task; }` returns current in RDX); both when BTF does not
        describe t (assembly, a name two functions share)."""
        hit = self._retregs_memo.get(t)
        if hit is None:
            # (an assembly callee too: one C calls follows the C ABI, and
            # ts-compat-writers says a callee returns the pointer only in
            # RAX or RDX; adv_r31_ret_rcx, RCX, is a known gap)
            hit = ("rax", "rdx")
            name = self.prog.start_name(t)
            btf = self.prog.image.btf
            self._arguments_of(t)  # (fills _dup_names)
            if name and btf is not None and name not in (self._dup_names or ()):
                try:
                    r = btf.function_return_registers(name)
                    if r is not None:
                        hit = r
                except BtfError:
                    pass
            self._retregs_memo[t] = hit
        return hit

    def _ret_value(self, f: int, st: dict):
        """Tags of what f returns from state st (RAX, and RDX where f's
        return may be in it), joined: a caller finds them in its return
        registers (_set_ret)."""
        out = st.get("rax", _NO_TAG)
        for r in self._return_registers(f):
            if r != "rax":
                out = _join_ret(out, st.get(r, _NO_TAG))
        return out

    def _set_ret(self, t: int, out: dict, tags) -> None:
        """After a call to t: its return registers hold tags (a value t
        returns, RAX:RDX joined; over-approximate for a two-word return)."""
        if tags is _NO_TAG:
            return
        for r in self._return_registers(t):
            # (a return register the callee never writes comes back as the
            # caller left it: _keeps)
            out[r] = _join_ret(out[r], tags) if r in out and r in self._keeps(t) else tags

    def _unit(self, f: int):
        """The extents [(start, end)] one pass over f reads: f's, and those
        of the functions f's code branches or calls into the middle of
        (GCC's hot/cold split: `foo` jumps to labels inside `foo.cold` and
        back; a shared tail), transitively: one control-flow graph, as the
        CPU runs it.  A string when it grows past MAX_UNIT extents."""
        hit = self._unit_memo.get(f)
        if hit is not None:
            return hit
        i = bisect.bisect_right(self.starts, f) - 1
        extents = [(f, self.ends[i])]
        pending = [f]
        while pending:
            g = pending.pop()
            for t in self._branch_targets(g):
                if any(s <= t < e for s, e in extents) or (self.aux and self.aux[0] <= t < self.aux[1]):
                    continue
                h = self.function_of(t)
                if h is None or h in self.runtime or (h == t and h not in self.colds):
                    continue  # a symbol start: a call or tail call (_call_out); a cold part's is foo's code
                if len(extents) >= MAX_UNIT:
                    hit = f"{self.prog.symbolize(f)} branches into the middle of more than {MAX_UNIT} functions"
                    self._unit_memo[f] = hit
                    return hit
                extents.append((h, self.ends[bisect.bisect_right(self.starts, h) - 1]))
                pending.append(h)
        hit = sorted(extents)
        self._unit_memo[f] = hit
        return hit

    def _branch_targets(self, f: int) -> list:
        """Targets of the direct branches and calls in f's decoded extent."""
        hit = self._targets_memo.get(f)
        if hit is None:
            hit = self._decode_for_edges(f)[2]
        return hit

    def _invd_why(self, f: int) -> str | None:
        """An `invd` in f's unit (its patch sites' candidates too), whether
        or not f reads current: the cache's modified lines are discarded,
        so memory may go back to older values, the status byte's bit before
        the exit's clear among them (adv_r143_invd_status; one in a
        function that never reads current_task, adv_r145_invd_no_current).
        The bytes 0f 08 are looked for first; only a unit holding them is
        decoded."""
        unit = self._unit(f)
        if isinstance(unit, str):
            return None  # (the pass, or _needs_pass, refuses such a unit)
        prog = self.prog
        hit = False
        for g, gend in unit:
            try:
                hit = hit or b"\x0f\x08" in prog.fetch_raw(g, gend - g)
            except CfgError:
                return None
            j = bisect.bisect_left(self._site_addrs, g)
            while not hit and j < len(self._site_addrs) and self._site_addrs[j] < gend:
                a = self._site_addrs[j]
                length = max(e.length for e in prog.sites[a])
                try:
                    before, after = prog.fetch_raw(a - 1, 1), prog.fetch_raw(a + length, 1)
                except CfgError:
                    before = after = b""
                # (a candidate with the on-disk bytes around the site: `0f`
                # as the replacement and `08` after it is an invd at run
                # time, adv_r146_invd_split_alt)
                hit = any(c is not None and b"\x0f\x08" in before + c + (after if len(c) <= length else b"")
                          for c, _l, _k in prog.site_choices(a))
                j += 1
        if not hit:
            return None
        for g, gend in unit:
            sites: dict = {}
            part = self._decode_extent(g, gend, sites)
            if isinstance(part, str):
                return f"{prog.symbolize(g)}: {part} (bytes of an `invd` in it)"
            for x in itertools.chain(part, (y for _length, cands in sites.values() for cand in cands for y in cand)):
                if _base_mnemonic(x[2]) == "invd":
                    return f"`invd` at {prog.symbolize(x[0])} may bring back an older status"
        return None

    def _df_reach(self, f: int) -> bool:
        """Whether code f calls or jumps to, f included, may set DF: a
        std/popf/iret in the functions its direct calls and jumps reach
        (each function's unit, _unit), or code that cannot be read.  Calls
        the image does not fix (run-time targets, indirect calls) are the
        ABI's: DF clear at their return (assumption ts-compat-writers).  A
        walk past DF_REACH_LIMIT functions answers True."""
        memo = self._df_memo
        if f in memo:
            return memo[f]
        seen, work, found = {f}, [f], False
        while work and not found:
            g = work.pop()
            if memo.get(g) or len(seen) > DF_REACH_LIMIT:
                found = True
                break
            if g in memo or g in self.runtime or (self.aux and self.aux[0] <= g < self.aux[1]):
                continue
            unit = self._unit(g)
            if isinstance(unit, str):
                found = True
                break
            sites: dict = {}
            insns: list = []
            for h, hend in unit:
                part = self._decode_extent(h, hend, sites)
                if isinstance(part, str):
                    found = True
                    break
                insns += part
            if found or _sets_df(insns, sites):
                found = True
                break
            for t in _direct_targets(insns, sites):
                h = self.function_of(t)
                if h is not None and h not in seen and not any(a <= t < b for a, b in unit):
                    seen.add(h)
                    work.append(h)
        if found:
            memo[f] = True
        else:
            for g in seen:  # (each one's reach is inside f's, all read)
                memo[g] = False
        return found

    def _decode_extent(self, f: int, end: int, sites: dict):
        """f's extent decoded for the pass: [(address, size, mnemonic,
        operands)], a patch site as one ("(site)") entry whose candidates go
        into `sites`; or a string: why it cannot be read."""
        prog = self.prog
        try:
            data = prog.fetch_raw(f, end - f)
        except CfgError as e:
            return str(e)
        j = bisect.bisect_left(self._site_addrs, f)
        here = []
        while j < len(self._site_addrs) and self._site_addrs[j] < end:
            a = self._site_addrs[j]
            choices = prog.site_choices(a)
            if any(c is None for c, _l, _k in choices):
                return f"a patch site without static bytes at {prog.symbolize(a)}"
            length = max(e.length for e in prog.sites[a])
            cand = []
            for c, _l, _k in choices:
                ins = list(lite_decode(_lite(), c, a))
                if sum(x[1] for x in ins) != len(c) or any(
                        (x[2] == "jmp" or x[2].startswith(("j", "loop"))) and not x[3].startswith("0x")
                        for x in ins):
                    return f"a patch-site candidate at {prog.symbolize(a)} this pass cannot follow"
                cand.append(ins)
            sites[a] = (length, cand)
            here.append(a)
            j += 1
        insns = []
        pos = 0
        while pos < len(data):
            a = f + pos
            if a in sites:
                insns.append((a, sites[a][0], "(site)", ""))
                pos += sites[a][0]
                continue
            # decode a run up to the next patch site in one call (with no
            # site, the whole extent: the decode _decode_for_edges made)
            j = bisect.bisect_right(here, a)
            stop = (here[j] - f) if j < len(here) else len(data)
            run = self._linear_decode(f, data) if pos == 0 and stop == len(data) else \
                lite_decode(_lite(), data[pos:stop], a)
            for x in run:
                insns.append(x)
                pos += x[1]
            if pos > stop:
                return f"an instruction across the patch site at {prog.symbolize(f + stop)}"
            if pos < stop:
                if data[pos:pos + 3] == b"\x0f\x01\xe8":
                    insns.append((f + pos, 3, "serialize", ""))
                    pos += 3
                    continue
                if not data[pos:stop].strip(b"\xcc\x90\x00"):
                    pos = stop
                    continue
                return f"undecodable code at {prog.symbolize(f + pos)}"
        return _pads_whole(prog, f, end, insns)

    def _lite_store_through_current(self, f: int, ctx: tuple = ()):
        """A data-flow pass over the function's instructions, decoded without
        operand details (fast enough for the hundreds of functions that read
        current_task in an exit path's closure).  State: register -> offsets
        from the current task it may hold (None: any), united at joins; a
        write to a register replaces its offsets (an ALU operation on a
        tagged register makes them "any"; a partial write keeps it tagged
        as "any").  A store through a tagged register that may cover the bit
        (an indexed one, at or below it) makes the function a setter.  A
        patch site applies every candidate's straight-line code.  Anything
        this pass cannot follow (an indirect jump, a branch into the middle
        of an instruction, a candidate that branches) gives up: a setter.
        The code read is f's unit (_unit: with the parts of other functions
        f branches into the middle of).  A direct call or jump to another
        function's start hands it what the ABI passes (_call_out): a callee
        given the pointer is read with it, and what a callee returns in RAX
        is tagged as its own pass found.

        ctx: what is known at entry (from a caller that passes the pointer).
        Returns ({address: why} of stores that may set the bit, tags of RAX
        at the returns), or a string: why the function cannot be read."""
        prog = self.prog
        unit = self._unit(f)
        if isinstance(unit, str):
            return unit
        hit = self._decoded_units.get(f)
        if hit is None:
            sites: dict = {}
            insns: list = []
            for g, gend in unit:
                part = self._decode_extent(g, gend, sites)
                if isinstance(part, str):
                    return part
                insns += part
            index = {x[0]: k for k, x in enumerate(insns)}
            if ctx:  # (a function read with the pointer passed in is often read again)
                if len(self._decoded_units) >= 256:
                    self._decoded_units.pop(next(iter(self._decoded_units)))
                self._decoded_units[f] = (sites, insns, index)
        else:
            sites, insns, index = hit
        # whether the code read may set DF (a string store then may write
        # downwards from RDI: _lite_store), asked only at such a store: its
        # own std/popf/iret, or a function it calls whose code may (DF is
        # unknown after such a callee, as in the summaries, abi-callee-saved:
        # `call fill_prepare` = `std; ret`, adv_r145_callee_std_stosb)
        def df(insns=insns, sites=sites) -> bool:
            return _sets_df(insns, sites) or any(self._df_reach(t) for t in _direct_targets(insns, sites))

        if len(unit) == 1:
            lo, hi = unit[0]

            def inside(t):  # (the usual one-extent unit, without the loop)
                return lo <= t < hi
        else:
            def inside(t):
                return any(g <= t < gend for g, gend in unit)

        # (states are never changed in place: one immutable empty one for
        # every instruction not reached yet)
        state: list = [_NOTHING] * len(insns)
        flagged: dict = {}
        ret_tag = _NO_TAG
        self._passes += 1
        if f not in index:
            return f"no instruction at the start of {prog.symbolize(f)}"
        state[index[f]] = {_SP: 0, **dict(ctx)}
        # from the start first; then, with nothing passed in, every
        # instruction not visited yet, in address order, as an entry with
        # nothing known (code entered from outside: a local call's target, a
        # fixup, code after a `ret` reached by a jump from elsewhere).  A
        # pass with the pointer passed in reads only what its entry reaches:
        # with nothing known the rest is what the pass without it reads.
        work = [index[f]]
        visited = bytearray(len(insns))
        unvisited = 0 if not ctx else len(insns)
        fixups = self._fixup_table()
        while True:
            if not work:
                while unvisited < len(insns) and visited[unvisited]:
                    unvisited += 1
                if unvisited >= len(insns):
                    break
                work.append(unvisited)
            k = work.pop()
            visited[k] = 1
            a, size, m, ops = insns[k]
            m = _base_mnemonic(m)
            st = state[k]
            nxt = index.get(a + size)  # the instruction after, by address
            if m == "iretq" and not self._lite_sync_core(insns, k):
                return f"an IRET at {prog.symbolize(a)} that may return anywhere in the kernel"
            if m in NEXT_FROM_STATE or m in ("ljmp", "lcall"):
                # where control goes on is data (a VM exit's HOST_RIP, a far
                # pointer): not followed, as an indirect jump is not
                return f"`{m}` at {prog.symbolize(a)} goes on where data says"
            for t in fixups.get(a, ()):
                if inside(t):
                    if t not in index:
                        return f"a fixup into an instruction at {prog.symbolize(a)}"
                    old = state[index[t]]
                    new = _union(old, st)
                    if new != old:
                        state[index[t]] = new
                        work.append(index[t])
            # nothing tagged here (only RSP/RBP offsets): no store or call
            # can involve the pointer
            live = not st.keys() <= _UNTAGGED
            why = (self._lite_store(a, m, ops, st, sites, df) or self._lite_unfollowed(a, ops, st)) if live else None
            if m == "invd":
                # the cache's modified lines are discarded: memory may go
                # back to older values, the status byte's bit before the
                # exit's clear among them (adv_r143_invd_status)
                why = f"`invd` at {prog.symbolize(a)} may bring back an older status"
            if why is None and self._cur_hex in ops:
                why = self._lite_slot_address_use(a, size, m, ops)
            if why is None:
                why = self._frame_address_unfollowed(a, m, ops, st)
            if why:
                # a store over the bit: every one is collected, for the
                # net-effect pass (_compute treats each as setting it)
                flagged.setdefault(a, why)
            out_ret = _NO_TAG
            if m != "call" and ops.startswith("0x") and (m == "jmp" or m.startswith(("j", "loop"))) and \
                    int(ops, 16) in self.thunks:
                # `jmp __x86_return_thunk` is a `ret` (assumption return-thunk)
                ret_tag = _join_ret(ret_tag, self._ret_value(f, st))
            elif (m in ("call", "jmp") or m.startswith(("j", "loop"))) and ops.startswith("0x") and \
                    not inside(int(ops, 16)):
                why, out_ret = self._call_out(int(ops, 16), m, st) if live else \
                    (None, self._read_ret(int(ops, 16)))
                if why:
                    flagged.setdefault(a, why)
                if m != "call":  # a tail call: its return is this function's
                    ret_tag = _join_ret(ret_tag, out_ret)
            elif m.startswith("ret"):
                if _ghostly(self._ret_value(f, st)):
                    flagged.setdefault(a, f"{_GHOST_WHY}: returns it at {prog.symbolize(a)}")
                ret_tag = _join_ret(ret_tag, self._ret_value(f, st))
            succ = []
            if m == "(site)":
                out, branches, whys, r = self._lite_site(a, st, sites, inside, f, ctx, df)
                for x, why in whys.items():
                    flagged.setdefault(x, why)
                ret_tag = _join_ret(ret_tag, r)
                for t0, s2 in branches:
                    for t in self._branch_in(inside, a, t0, s2, flagged):
                        if t not in index:
                            return f"a patch-site branch into an instruction at {prog.symbolize(a)}"
                        old = state[index[t]]
                        new = s2 if old is None else _union(old, s2)
                        if old is None or new != old:
                            state[index[t]] = new
                            work.append(index[t])
                if out is not None:
                    succ.append(nxt)
            else:
                out = self._lite_transfer(a, size, m, ops, st, sites)
                if m == "call" and out_ret is not _NO_TAG:
                    self._set_ret(int(ops, 16), out, out_ret)  # (a direct call: only one has a return)
            if m == "(site)":
                pass
            elif m == "jmp" or m.startswith(("j", "loop")):
                if not ops.startswith("0x"):
                    return f"an indirect jump at {prog.symbolize(a)}"
                for t in self._branch_in(inside, a, int(ops, 16), st, flagged):
                    if t not in index:
                        return f"a branch into an instruction at {prog.symbolize(a)}"
                    succ.append(index[t])
                if m != "jmp":
                    succ.append(nxt)
            elif m == "call" and ops.startswith("0x") and inside(int(ops, 16)):
                # a call to a label in the unit: its target (with the return
                # address pushed) and the return
                t = int(ops, 16)
                if t not in index:
                    return f"a call into an instruction at {prog.symbolize(a)}"
                into = dict(st)
                if st.get(_SP) is not None:
                    into[_SP] = st[_SP] - 8
                old = state[index[t]]
                new = _union(old, into)
                if new != old:
                    state[index[t]] = new
                    work.append(index[t])
                out = self._after_local_call(t, f, out, ctx)
                succ.append(nxt)
            elif m == "call" and ops.startswith("0x") and self._noreturn(int(ops, 16)):
                pass  # (__stack_chk_fail and the like: the bytes after are another block)
            elif m.startswith("ret") or m in ("ud2", "sysretq"):
                pass
            else:
                succ.append(nxt)
            if m == "ud2" and prog.after_ud2(a) != "dies":
                succ.append(nxt)  # a WARN (or an unlisted ud2 the image cannot rule out) resumes
            for n2 in succ:
                if n2 is None:
                    if out and not out.keys() <= _UNTAGGED:
                        # control runs off the extent (into the next symbol,
                        # or padding) with the pointer in hand: not followed
                        # there (MaySet._decoded_succ adds the edge)
                        flagged.setdefault(a, f"{_Where(m, ops, prog, a)}: runs off the end of "
                                              f"{prog.symbolize(a)} with the current task pointer live")
                    continue
                old = state[n2]
                new = _union(old, out)
                if new != old:
                    state[n2] = new
                    work.append(n2)
        return flagged, ret_tag

    @staticmethod
    def _lite_sync_core(insns, k) -> bool:
        """insns[k] (an iretq) ends sync_core()'s exact sequence
        (TsCompatEffects._iret_to_next): it returns to the next instruction."""
        return _is_sync_core([(x[2], x[3]) for x in insns[max(0, k - 8):k]], insns[k][0] + insns[k][1])

    def _returns_home(self, t: int) -> bool:
        """Whether the function at t, by its own code, returns to its own
        return address: a stack-depth walk of its extent (push/pop, pushf/
        popf, sub/add/lea of RSP by constants, RBP frames, leave) finds RSP
        back at the entry's value at every `ret`, return thunk and tail jump,
        and no other write to RSP, no `call` to the next instruction (a
        pushed code address), no indirect jump.  Its callees are taken to
        return home (assumption ts-compat-writers).  False when unsure."""
        memo = self.__dict__.setdefault("_home", {})
        hit = memo.get(t)
        if hit is None:
            hit = memo[t] = self._returns_home_walk(t)
        return hit

    def _extent_bytes(self, t: int, limit: int) -> tuple | None:
        """(end, bytes) of the function starting at t, or None when t is no
        symbol start, its extent is longer than `limit` or unreadable."""
        i = bisect.bisect_right(self.starts, t) - 1
        if i < 0 or self.starts[i] != t or self.ends[i] - t > limit:
            return None
        try:
            return self.ends[i], self.prog.fetch_raw(t, self.ends[i] - t)
        except CfgError:
            return None

    def _returns_home_walk(self, t: int) -> bool:
        got = self._extent_bytes(t, 16384)
        if got is None:
            return False
        end, data = got
        insns = {}
        order = []
        for a, size, m, ops in lite_decode(_lite(), data, t):
            insns[a] = (size, _base_mnemonic(m), ops)
            order.append(a)
        if not insns:
            return False
        def imm(x):
            x = x.strip()
            return int(x, 0) if _NUM.match(x) else None

        # state: (rsp depth in bytes below the entry RSP, rbp depth or None)
        seen: dict[int, tuple] = {}
        work = [(t, (0, None))]
        while work:
            a, (d, bp) = work.pop()
            if a in seen:
                if seen[a] != (d, bp):
                    return False  # two depths at one address
                continue
            if a >= end:
                # off the end (after a call to a function whose noreturn is
                # being computed, or into the padding): no return of this
                # function (control never runs off a symbol's end: assumption
                # ts-compat-writers)
                continue
            if a not in insns:
                return False  # into the middle of an instruction
            seen[a] = (d, bp)
            if a in self.prog.sites:
                # a patch site's candidates: jumps (a jump label's branch)
                # and no-ops are read, at the depth here; anything else may
                # move RSP (unsure)
                more = self._home_site(a, t, end, d)
                if more is None:
                    return False
                work.extend((x, (d, bp)) for x in more)
            size, m, ops = insns[a]
            nxt = a + size
            dst = ops.split(",")[0].strip() if ops else ""
            src = ops.split(",", 1)[1].strip() if "," in ops else ""
            if m.startswith("ret"):
                if d != 0 or (ops and imm(ops) not in (None, 0)):
                    return False
                continue
            if m in ("int3", "hlt") or (m == "ud2" and self.prog.after_ud2(a) == "dies"):
                continue
            if m == "jmp":
                if not ops.startswith("0x"):
                    return False
                tg = int(ops, 16)
                if t <= tg < end:
                    work.append((tg, (d, bp)))
                    continue
                if d != 0:
                    return False
                continue  # a tail call: the target returns home (assumed) or never
            if (m.startswith(("j", "loop")) and m != "jmp") or m == "xbegin":
                if not ops.startswith("0x") or not t <= int(ops, 16) < end:
                    return False
                work.append((int(ops, 16), (d, bp)))
                work.append((nxt, (d, bp)))
                continue
            if m == "call":
                if ops.startswith("0x"):
                    tg = int(ops, 16)
                    if tg == nxt:
                        return False  # call 1f: pushes a code address (RSB stuffing)
                    if tg != t and self._noreturn(tg):
                        continue
                work.append((nxt, (d, bp)))  # the callee returns home (assumed)
                continue
            if m in ("push", "pop", "pushf", "popf", "pushfq", "popfq") and \
                    operand_size_prefixed(data[a - t:a - t + size]):
                return False  # a 2-byte push or pop (8 with REX.W): unsure
            if m == "push" or m in ("pushfq", "pushf"):
                work.append((nxt, (None if d is None else d + 8, bp)))
                continue
            if m == "pop" or m in ("popfq", "popf"):
                if dst == "rsp" or (dst == "rbp" and d is None):
                    return False
                work.append((nxt, (None if d is None else d - 8, None if dst == "rbp" else bp)))
                continue
            if m == "leave":
                if bp is None:
                    return False
                work.append((nxt, (bp - 8, None)))
                continue
            if dst == "rsp" or dst.endswith(" rsp"):
                if m == "and" and imm(src) is not None and imm(src) < 0 and bp is not None:
                    d = None  # aligned down by an unknown amount: restored from RBP below
                elif d is None and m != "mov" and m != "lea":
                    return False
                elif m == "sub" and imm(src) is not None:
                    d += imm(src)
                elif m == "add" and imm(src) is not None:
                    d -= imm(src)
                elif m == "mov" and src == "rbp" and bp is not None:
                    d = bp
                elif m == "lea" and re.fullmatch(r"\[rbp( [-+] (0x[0-9a-f]+|\d+))?\]", src) and bp is not None:
                    k = re.search(r"([-+]) (0x[0-9a-f]+|\d+)", src)
                    d = bp - (int(k.group(2), 0) * (1 if k.group(1) == "+" else -1) if k else 0)
                elif m == "lea" and d is not None and re.fullmatch(r"\[rsp( [-+] (0x[0-9a-f]+|\d+))?\]", src):
                    k = re.search(r"([-+]) (0x[0-9a-f]+|\d+)", src)
                    d = d - (int(k.group(2), 0) * (1 if k.group(1) == "+" else -1) if k else 0)
                else:
                    return False  # and, xchg, mov from memory, ...: RSP not known
                work.append((nxt, (d, bp)))
                continue
            if "[" in dst and re.search(r"\[rsp\b", dst) and machine.memory_written(m, 0, False):
                # a store through RSP at or above the return address (`addq
                # $2,(%rsp); ret`: it returns past its caller's next
                # instruction, adv_r118_retaddr_skip_noreturn)
                k = re.search(r"\[rsp(?: ([-+]) (0x[0-9a-f]+|\d+))?", dst)
                off = (int(k.group(2), 0) * (-1 if k.group(1) == "-" else 1)) if k.group(2) else 0
                if d is None or off + 8 > d:
                    return False
            if dst == "rbp" or dst.endswith(" rbp"):
                bp = d if (m == "mov" and src == "rsp") else None
            elif m in ("xchg", "cmpxchg", "xadd") and {o.strip() for o in ops.split(",")} & {"rsp", "rbp"}:
                return False
            work.append((nxt, (d, bp)))
        return True

    def _noreturn(self, t: int) -> bool:
        """A function that never returns to its caller: no instruction
        reachable from its entry is a return (ret, a return thunk) or an
        indirect jump, none branches out of its extent, control does not run
        off the end of it into code that returns (objtool refuses a function
        that falls through into the next; an alternate entry that does,
        SYM_FUNC_START_NOALIGN's shape, returns if what it runs into does:
        adv_r6_noreturn_falls), and every callee it comes back from returns
        to its own return address.  Only what is reachable from the entry
        counts: an extent without an ELF size (kallsyms) runs to the next
        symbol and may hold code the linker left there with no symbol (an
        overridden __weak body after 6.12's panic_smp_self_stop), which a
        call to the function never runs."""
        hit = self._noret.get(t)
        if hit is not None:
            return hit
        if t in self._noret_active:
            # recursion (panic -> __stack_chk_fail -> panic): taken as "may
            # return" here, the sound side; a result that used this is not
            # kept, so it is read again once t's own answer is known
            self._noret_cycle = True
            return False
        outer_cycle, self._noret_cycle = self._noret_cycle, False
        self._noret_active.add(t)
        try:
            got = self._noreturn_walk(t)
        finally:
            self._noret_active.discard(t)
        if not self._noret_cycle or not self._noret_active:
            self._noret[t] = got
        self._noret_cycle = outer_cycle or self._noret_cycle
        return got

    def _noreturn_walk(self, t: int) -> bool:
        got = self._extent_bytes(t, 4096)
        if got is None:
            return False
        end, data = got
        # the code decoded a run at a time where the walk goes (one capstone
        # call per run: a tenth of the cost of one call per instruction;
        # the walk reads about half of an extent, mostly straight on, and
        # finds a return in all but a few), at the walk's address: the
        # instructions after it come with it, each the decoding at its own
        # address (decoding at an address reads only the bytes from there
        # on), for the walk to find when it gets there
        decoded: dict = {}
        returning_calls = []
        seen: set = set()
        work = [t]
        fixups = self._fixup_table()
        while work:
            a = work.pop()
            while a not in seen:
                if a >= end:
                    # ran off the end (no int3 on the way: that stops a run)
                    if self.function_of(end) is not None or self._after_gap(end)[0] is not None:
                        return False
                    break
                seen.add(a)
                # an instruction that may fault goes on at its exception
                # fixup too (a probe returning only through its fixup,
                # adv_r116_fixup_only_return); a fixup outside the extent:
                # may return
                for fx in fixups.get(a, ()):
                    if not t <= fx < end:
                        return False
                    work.append(fx)
                if a in self.prog.sites:
                    # a patch site runs any of its candidates (a jump label's
                    # branch once its key flips, adv_r116_jl_noreturn): each
                    # read here; the on-disk bytes go on below
                    more = self._noreturn_site(a, t, end, returning_calls)
                    if more is None:
                        return False
                    work.extend(more)
                ins = decoded.get(a)
                if ins is None:
                    for x in lite_decode(_lite(), data[a - t:], a, 32):
                        decoded[x[0]] = x
                    ins = decoded.get(a)
                    if ins is None:
                        return False
                _a, size, m, ops = ins
                m = _base_mnemonic(m)
                if m.startswith(("ret", "iret", "sysret")) or (m == "jmp" and not ops.startswith("0x")) or \
                        m in ("ljmp", "lcall") or m in NEXT_FROM_STATE:
                    return False
                if (m.startswith("j") or m.startswith("loop") or m == "xbegin") and ops.startswith("0x"):
                    # (xbegin: an abort goes on at its target,
                    # adv_r118_xbegin_noreturn)
                    tgt = int(ops, 16)
                    if not t <= tgt < end:
                        return False
                    if m == "jmp":
                        a = tgt
                        continue
                    work.append(tgt)
                elif m == "int3" or (m == "ud2" and self.prog.after_ud2(a) == "dies"):
                    break
                elif m == "call" and ops.startswith("0x"):
                    c = int(ops, 16)
                    if c != t and self._noreturn(c):
                        break
                    returning_calls.append(c)
                a += size
        if any(not self._returns_home(c) for c in returning_calls):
            # A call to a function that may return comes back to the next
            # instruction only if that function returns to its own return
            # address.  One whose own code drops its return address (`add
            # $8,%rsp; ret`: an unwind / RSB-stuffing stub) returns to THIS
            # function's caller, a return no `ret` of its own shows
            # (adv_r7_noreturn_popret): then this function is no noreturn.
            # The callee's own stack is checked (_returns_home); what its
            # callees, and an indirect callee, do is assumption
            # ts-compat-writers's "a function returns only to its return
            # address" (the SysV ABI; objtool's stack validation).
            return False
        return True

    def _site_candidates(self, a: int) -> list | None:
        """[(bytes, their instructions decoded whole)] of each candidate of
        the patch site at a, or None when one has no bytes or does not
        decode whole."""
        try:
            choices = self.prog.site_choices(a)
        except CfgError:
            return None
        out = []
        for code, _l, _k in choices:
            if code is None:
                return None
            ins = list(lite_decode(_lite(), code, a))
            if sum(x[1] for x in ins) != len(code):
                return None
            out.append((code, ins))
        return out

    def _home_site(self, a: int, t: int, end: int, depth) -> list | None:
        """For _returns_home_walk: where the candidates of the patch site at
        a go on (their fall-through and their direct branches inside the
        extent), when none moves RSP or RBP or names them (a `ret` and a
        tail jump out of the extent at depth 0 are returns home, a call
        returns home as in the walk); else None."""
        out = [a + max(e.length for e in self.prog.sites[a])]
        if self.prog.thunk_register(t) is not None:
            # a retpoline thunk: every form boot picks (`jmp *%reg`, `lfence;
            # jmp *%reg`, the retpoline's call/ret pair) is a tail call to
            # the register's target, which returns home (assumed, as for a
            # tail jump in the walk)
            return out
        cands = self._site_candidates(a)
        if cands is None:
            return None
        for code, ins in cands:
            k = 0  # RSP below the site's (pushf; pop %rax: save_fl's)
            for _x, _size, m, ops in ins:
                m = _base_mnemonic(m)
                if m in ("push", "pushfq", "pop", "popfq") and not operand_size_prefixed(
                        code[_x - a:_x - a + _size]) and not re.search(r"\b[re]?(sp|bp)l?\b", ops):
                    k += 8 if m.startswith("push") else -8
                    continue
                if m == "call" and not (ops.startswith("0x") and int(ops, 16) == _x + _size):
                    continue  # (returns home: assumed, as in _returns_home_walk)
                if not m.startswith(("j", "loop", "ret")):
                    if m.startswith(("push", "pop", "leave", "enter", "call", "iret", "sysret")) or \
                            re.search(r"\b[re]?(sp|bp)l?\b", ops):
                        return None
                    continue  # (neither moves RSP nor names it)
                if k != 0:
                    return None
                if m.startswith("ret"):
                    if depth != 0 or ops:
                        return None
                    break
                if not ops.startswith("0x"):
                    return None
                tgt = int(ops, 16)
                if t <= tgt < end:
                    out.append(tgt)
                elif m != "jmp" or depth != 0:
                    return None
            else:
                if k != 0:
                    return None
        return out

    def _noreturn_site(self, a: int, t: int, end: int, returning_calls: list) -> list | None:
        """The addresses the candidates of the patch site at a go on at, in
        the extent [t, end) of a function _noreturn_walk reads (where each
        falls through, and every direct branch they take), the calls they
        make added to returning_calls; None when a candidate may return
        (a return, an indirect or far branch, a branch out of the extent,
        bytes not known or not decoded whole)."""
        cands = self._site_candidates(a)
        if cands is None:
            return None
        out = [a + max(e.length for e in self.prog.sites[a])]
        for _code, ins in cands:
            for _x, _size, m, ops in ins:
                m = _base_mnemonic(m)
                if m.startswith(("ret", "iret", "sysret")) or m in ("ljmp", "lcall") or m in NEXT_FROM_STATE or \
                        ((m.startswith("j") or m.startswith("loop")) and not ops.startswith("0x")):
                    return None
                if m == "call" and not ops.startswith("0x"):
                    continue  # (an indirect call returns home, as on disk: assumption ts-compat-writers)
                if m.startswith("j") or m.startswith("loop") or m == "xbegin":
                    tgt = int(ops, 16)
                    if not t <= tgt < end:
                        return None
                    out.append(tgt)
                elif m == "call":
                    returning_calls.append(int(ops, 16))  # (taken as returning: the sound side here)
        return out

    def _lite_net(self, m: str, ops: str, st: dict, out: dict) -> dict:
        """Default deny under _lite_transfer0's rules, where a tag is
        involved.  A tag source is a tagged register the instruction names
        (any width) or a stack slot it reads that overlaps a tagged one (any
        width, through RSP or the frame pointer).  With one:
        - every general register it names or writes implicitly that
          _lite_transfer0 left untagged becomes "any offset" (adcx, andn,
          `add (%rsp),%rdx`, a 32-bit load of half a tagged slot, `mul
          %rcx`'s operand: adv_r31_adcx, _andn, adv_r32_add_mem_slot,
          _split_copy, _mul_src), except where ts-compat-writers says the
          result is no pointer (_LITE_KILLS: shifts, products, xor, a
          difference of two pointers) -- its register operand is only read
          by a one-operand mul/imul/div/idiv, and keeps its tag;
        - a write into the frame other than a whole 8-byte move of a 64-bit
          register makes the slots it overlaps "any offset" if they were
          tagged or the value is (`add %rax,(%rsp)`, `movb $0x10,(%rsp)`
          over a tagged slot, `mov %eax,(%rsp)`: adv_r31_add_slot,
          adv_r32_byte_slot, _split_copy);
        - string instructions move tags through memory as the CPU does
          (adv_r31_stosq_slot, _movsq_slot, _lodsq_slot).
        Stack slots addressed through a copy of RSP are not followed
        (ts-compat-writers: a function addresses its own slots through RSP
        or its frame pointer)."""
        base = m.split(" ")[-1]
        if st.keys() <= _NO_NET_SOURCE:
            return out  # (no register, slot or stack tag: the test below, sooner)
        # (over the state's few keys rather than the 16 register names)
        tagged = {r for r in st if r in _GPR64_SET}
        slots = [k[1] for k in st if isinstance(k, tuple) and k[0] == _SLOT]
        anywhere = _STACK in st
        if not tagged and not slots and not anywhere:
            return out
        dst_t, _, src = ops.partition(", ")
        if base in _STRING_OPS and (base != "movsd" or "rsi" in ops):
            out = dict(out)
            if base.startswith("stos") and "rax" in tagged:
                out[_STACK] = _join_tags(out.get(_STACK, frozenset()), st["rax"])
            if base.startswith("stos") and (slots or anywhere) and not m.startswith(_REP_PREFIXES):
                # one element stored through a copy of RSP changes what a
                # tagged slot it overlaps holds, as a `movb` does (a byte of
                # the pointer: p with another low byte, adv_r93_stosb_slot):
                # its offset is not known any more (every slot where RDI's
                # is not known).  A rep-prefixed one fills an array in the
                # frame (memset of a local): as an indexed store there
                # (below), it stays inside its object and changes no slot
                # that holds the pointer unless it stores the pointer
                # (ts-compat-writers; then the union above).  (RDI not a
                # frame address: the frame is not written, ts-compat-writers;
                # a movs's destination: its rule below makes every slot any
                # offset already.)
                mm = _parse_mem(dst_t)
                copy, at = self._copy_slot(st, mm)
                if copy:
                    for x in slots:
                        if at is None or (at < x + 8 and x < at + mm[0]):
                            out[(_SLOT, x)] = None
                    if anywhere:
                        out[_STACK] = None
            if base.startswith("movs") and (slots or anywhere):
                out[_STACK] = None
            if base.startswith("lods") and (slots or anywhere):
                out["rax"] = None
            return out  # (RSI/RDI moving on: _lite_transfer0's implicit writes)

        def frame(text):
            """(address offset or None, width, overlaps a tagged slot) of a
            frame operand, or None when text is no frame operand."""
            mm = _parse_mem(text)
            if not mm or mm[1] is not None:
                return None
            copy, at = self._copy_slot(st, mm)
            if copy:  # (through a copy of RSP: _stack_copies)
                return at, mm[0], anywhere or (bool(slots) if at is None else any(
                    at < x + 8 and x < at + mm[0] for x in slots)), mm[3] is not None
            if mm[3] == "rbp" and _BP in st:
                # (the frame pointer as the index: somewhere in the frame,
                # adv_r35_index_rbp)
                return None, mm[0], anywhere or bool(slots), True
            if not (mm[2] == "rsp" or (mm[2] == "rbp" and _BP in st)):
                return None
            k = st.get(_SP) if mm[2] == "rsp" else st[_BP]
            # (an index register: somewhere in the frame, adv_r33_index_load)
            at = None if k is None or mm[3] is not None else k + mm[4]
            hit = anywhere or (bool(slots) if at is None else any(at < x + 8 and x < at + mm[0] for x in slots))
            return at, mm[0], hit, mm[3] is not None

        operands = [t.strip() for t in ops.split(", ")] if ops else []
        # a write-only first operand (a move, a load, lea, pop, setcc) is not
        # read; a memory operand's base and index are an address, and what
        # is loaded from memory other than the frame is no pointer
        # (ts-compat-writers): the sources are register operands and frame
        # slots read that overlap a tagged one
        write_only = base in _WRITE_ONLY or base.startswith("set")
        read_ops = operands[1:] if write_only else operands
        read_regs = ({self._reg_of(t)[0] for t in read_ops if "[" not in t} | set(_IMPLICIT_READS.get(base, ()))) \
            - {None}
        mem_read = [frame(t) for t in read_ops if "[" in t] if base != "lea" else []  # (lea reads no memory)
        source = bool(read_regs & tagged) or any(f is not None and f[2] for f in mem_read)
        out = dict(out)
        # writes into the frame, tag or no tag in the value: a partial or
        # computed write changes a tagged slot's bytes
        if "[" in dst_t and base not in _LITE_READS_EXACT and not base.startswith(_LITE_READS) and \
                base not in ("push", "pop", "call"):
            f = frame(dst_t)
            if f is not None:
                at, width, _hit, indexed = f
                src_tagged = self._reg_of(src)[0] in tagged
                overwrite = base in ("mov", "movabs") and not src_tagged
                whole_move = base in ("mov", "movabs") and src in _GPR64_NAMES and width == 8 and at is not None
                if indexed and not src_tagged:
                    # an element of an array in the frame (`subl $1,
                    # 0xa8(%rsp,%rax,4)`, 6.1's unmap_page_range): compiled
                    # code indexes only arrays, and a value with no tag
                    # written into one changes no pointer slot
                    # (ts-compat-writers); a tagged one may land in any slot
                    pass
                elif whole_move:
                    # (_lite_transfer0: the slot gets the register's tags);
                    # a tagged slot it overlaps at another offset has bytes
                    # of both now (adv_r33_overlap)
                    for x in slots:
                        if x != at and at < x + 8 and x < at + 8:
                            out[(_SLOT, x)] = None
                elif at is None:
                    if src_tagged or (not overwrite and (slots or anywhere)):
                        out[_STACK] = None
                else:
                    for x in slots:
                        if at < x + 8 and x < at + width and not (overwrite and x == at and width >= 8):
                            out[(_SLOT, x)] = None
                    if src_tagged or (not overwrite and (source or any(at < x + 8 and x < at + width
                                                                       for x in slots))):
                        out[(_SLOT, at)] = None
        if base == "push" and st.get(_SP) is not None:
            at = st[_SP] - 8
            for x in slots:
                if x != at and at < x + 8 and x < at + 8:
                    out[(_SLOT, x)] = None  # (as a whole move's, above)
        if not source:
            return out
        if base == "xadd":
            # dst := dst + src, src := the old dst (not a swap: adv_r32_xadd_*)
            d, s_ = self._reg_of(dst_t)[0], self._reg_of(src)[0]
            if d is not None:
                out[d] = None
            if s_ is not None:
                old = st.get(d, _NO_TAG) if d is not None else _NO_TAG
                fd = frame(dst_t) if d is None else None
                if old is _NO_TAG and not (fd is not None and fd[2]):
                    out.pop(s_, None)
                else:
                    out[s_] = None if old is _NO_TAG else old
            return out
        if base in ("sub", "sbb") and dst_t == src:
            return out  # (r - r [- CF]: no pointer, _lite_transfer0)
        if base in ("sub", "sbb") and "[" not in dst_t:
            # k - p, a tagged register or slot subtracted from a value with
            # no tag (`sub (%rsp),%rdx; neg %rdx` is p again,
            # adv_r35_sub_mem): any offset; only a difference of two exact
            # pointers is none (_lite_transfer1)
            d = self._reg_of(dst_t)[0]
            if d is not None and d not in st:
                out[d] = None
        if base in ("mul", "imul", "div", "idiv") and len(operands) == 1:
            r = self._reg_of(operands[0])[0]
            if r in st:
                out[r] = st[r]  # (only read)
            if base in ("div", "idiv"):
                # a quotient or remainder of the pointer is not ruled out
                # a pointer (RDX:RAX = p * 2^64 divided by 2^64 - 1 is p,
                # adv_r34_div_high; ts-compat-writers names products only)
                out["rax"] = out["rdx"] = None
            return out
        if base in _LITE_KILLS or base.startswith(("cmov", "set")) or base in _LITE_READS_EXACT or \
                base.startswith(_LITE_READS) or base in _LITE_EXACT_MOVES or base in ("push", "call", "(site)"):
            # (moves, loads, lea, pop: _lite_transfer0 follows them exactly
            # at 64 bits; a narrower one makes no pointer, ts-compat-writers)
            return out

        if base in ("xchg", "cmpxchg") and src in _GPR64_NAMES:
            # (_lite_transfer0 models the 64-bit forms: a swap, and
            # cmpxchg's "equal: dst := src, else RAX := dst")
            return out
        if write_only or base in _ALU_FIRST_WRITTEN or base in _MAY_KEEP:
            written = {self._reg_of(dst_t)[0]} - {None} if "[" not in dst_t else set()
            if base in _TWO_DESTS:
                written |= {self._reg_of(operands[1])[0]} - {None}
        elif "[" in dst_t and base in ("cmpxchg", "xchg"):
            # a narrower form into memory: cmpxchg writes only RAX (below),
            # xchg its register
            written = {self._reg_of(src)[0]} - {None} if base == "xchg" else set()
        else:
            written = {self._reg_of(t)[0] for t in operands if "[" not in t} - {None}
        for r in written | set(_IMPLICIT_WRITES_OF(m)):
            # absent, or the tag it had before: _lite_transfer0 did not model
            # this write (a tag it left in place is stale: bts kept its
            # exact one, adv_r33_bts_reg); a ghost stays one
            if r != "rsp" and (r not in out or (out[r] is not None and out[r] == st.get(r)
                                                and not _ghostly(out[r]))):
                out[r] = None
        return out

    def _lite_slot_address_use(self, a: int, size: int, m: str, ops: str) -> str | None:
        """Why an instruction that names the slot's address (low 32 bits, as
        an immediate or displacement) may make the pointer in a way this pass
        does not follow: every use but a read of the slot through a memory
        operand, the this_cpu_ptr forms _lite_transfer marks (mov, movabs,
        add, lea into a register) and a compare (`push $current_task; pop
        %rcx; mov %gs:(%rcx),%rdx`, adv_r30_push_imm)."""
        want = self._cur_addr() & 0xFFFFFFFF
        named = False
        for sign, tok in re.findall(r"([-+]?)\s*(0x[0-9a-f]+|\d+)", ops):
            v = int(tok, 0)
            if ((-v if sign == "-" else v) & 0xFFFFFFFF) == want:
                named = True
        if not named:
            return None
        dst_t, _, src = ops.partition(", ")
        if m.startswith(("cmp", "test", "nop", "prefetch")):
            return None
        if "[" not in dst_t and m in ("mov", "movabs", "add", "lea") and self._reg_of(dst_t)[0] is not None and \
                self._names_current_addr(a, size, m, ops):
            return None
        if "[" in src and self._is_current_operand(a, size, src) and "[" not in dst_t and \
                self._reg_of(dst_t)[0] is not None:
            return None  # (into a general register, which the pass follows; not an xmm one, adv_r116_xmm_current_slot)
        if "[" in dst_t and self._is_current_operand(a, size, dst_t) and ("[" not in src):
            return None  # (a write to the slot itself: _lite_transfer0's xchg/cmpxchg rule, or a store)
        return f"the address of the current_task slot used at {self.prog.symbolize(a)} in a way not followed"

    def _frame_address_unfollowed(self, a: int, m: str, ops: str, st: dict) -> str | None:
        """Why a stack address may go where _stack_copies does not follow it:
        a register that is not a general one written from RSP, a copy or
        the frame pointer (`movq %rsp,%xmm0; movq %xmm0,%rcx`,
        adv_r36_xmm_sp).  Compiled kernel C never does; in assembly the
        function is then a possible setter."""
        dst_t, _, rest = ops.partition(", ")
        if m in ("wrfsbase", "wrgsbase"):
            # (the FS/GS base read back by rdfsbase: adv_r37_fsbase_sp)
            dst_t, rest = m, dst_t
        elif not rest or "[" in dst_t or not _other_register(dst_t):
            return None
        frame = {r for r, _o in st.get(_SPC, ())} | {"rsp"} | ({"rbp"} if _BP in st else set())
        for tok in rest.split(", "):
            if "[" not in tok and self._reg_of(tok.strip())[0] in frame:
                return f"a stack address goes into {dst_t} at {self.prog.symbolize(a)}: not followed"
        return None

    def _lite_unfollowed(self, a: int, ops: str, st: dict) -> str | None:
        """Why an instruction may put the pointer where this pass does not
        follow it: a register that is not a general one (xmm/ymm/zmm, mm,
        x87, mask, segment, control, debug) written from a tagged register
        or a tagged stack slot (`movq %rax,%xmm0; ...; movq %xmm0,%rdx`,
        adv_r30_xmm).  Compiled kernel C never does (-mno-sse -mno-mmx
        -mno-80387, arch/x86/Makefile), so this costs nothing there; in
        assembly the function is then a possible setter."""
        dst_t, _, rest = ops.partition(", ")
        if not rest or "[" in dst_t or not _other_register(dst_t):
            return None
        for tok in re.split(r"[^\w]+", rest):
            r = self._reg_of(tok)[0]
            if r is not None and r in st and st[r] is not _NO_TAG:
                return f"the current task pointer goes into {dst_t} at {self.prog.symbolize(a)}: not followed"
        if "[" in rest and ("sp" in rest or "bp" in rest) and any(
                k == _STACK or (isinstance(k, tuple) and k[0] == _SLOT) for k in st):
            return f"a stack slot that may hold the current task pointer goes into {dst_t} at " \
                   f"{self.prog.symbolize(a)}: not followed"
        cpa = st.get(_CPA)
        if cpa and "[" in rest:
            # a load through this_cpu_ptr(&current_task) (_cpa_step: `movq
            # (%rsi),%xmm0` with RSI marked)
            for tok in rest.split(", "):
                mm = _parse_mem(tok) if "[" in tok else None
                if mm and (self._reg_of(mm[2])[0] in cpa or self._reg_of(mm[3])[0] in cpa):
                    return f"the current task pointer, loaded through the address of its per-CPU slot, goes " \
                           f"into {dst_t} at {self.prog.symbolize(a)}: not followed"
        return None

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def _reg_of(name: str) -> tuple[str | None, bool]:
        """(64-bit register, whether the write replaces all of it).
        (Memoised: a function of the register's name.)"""
        _GPR64 = _summary_tables()[0]

        if name in _GPR64_NAMES:
            return name, True
        full = _GPR64.get(name)
        if full is None:
            return None, False
        return full, name.startswith("e") or (name.startswith("r") and name.endswith("d"))

    def _after_local_call(self, t: int, f: int, out: dict, ctx: tuple) -> dict:
        """The state after a `call` to t inside the unit of f's pass (the
        call's state was sent into t's code as a branch), from out, the
        state _lite_transfer gives after it; ctx: the pass's context.  (The
        pass's own instructions and a patch site's candidates: _lite_site,
        adv_r104_site_local_call.)"""
        if t != f:
            # a label, a cold part's start (adv_r101_cold_call_reader:
            # `call foo.cold` whose `ret` hands back current), any
            # other code of the unit: an assembly routine, not a
            # function under the ABI.  What it leaves in any
            # register is not carried to here (adv_r36_local_call,
            # adv_r102_cold_callee_saved: a callee-saved one too),
            # nor in the caller's slots (adv_r37_local_slot): every
            # register and slot any offset.  (_needs_pass reads a
            # function whose unit holds code that may make the
            # pointer.)
            out = {**out, **{r: None for r in _GPR64_NAMES if r != "rsp"}, _STACK: None}
            if _BP in out:
                out[_BP] = None
            # (a register that held a stack address is no longer
            # known to: a store through it is one through the
            # pointer; any may hold current_task's slot address)
            out.pop(_SPC, None)
            out[_CPA] = frozenset(r for r in _GPR64_NAMES if r != "rsp")
        else:
            # the function calling itself (skb_copy_bits): the
            # call's state went into its code above, so every return
            # was read with it, and the function's return fact is
            # what comes back (callee-saved registers kept: the
            # ABI).  A fact this pass helps make: read again when it
            # changes (_read_ret, MaySet.of).  With a context, what
            # comes back is this pass's own return, no fact: any
            # offset
            out = dict(out)
            out.pop("rax", None)
            out.pop("rdx", None)
            if ctx:
                out["rax"] = out["rdx"] = None
            else:
                self._set_ret(t, out, self._returned(t, self._read_ret(t)))
        return out

    def _lite_site(self, a, st: dict, sites, inside, f_pass: int, ctx: tuple, df=lambda: False):
        """(state at the end of the site or None, [(branch target, state)],
        {address: why} of calls and jumps out that pass the pointer to a
        setter, tags of RAX where a candidate leaves the function) over every
        candidate's code."""
        out, branches, whys, ret_tag = None, [], {}, _NO_TAG
        f = self.function_of(a)
        for cand in sites[a][1]:
            s2 = dict(st)
            falls = True
            for x in cand:
                xm = _base_mnemonic(x[2])
                # (the checks the pass makes at each instruction of its own)
                why = self._lite_store(x[0], xm, x[3], s2, sites, df) or self._lite_unfollowed(x[0], x[3], s2) or \
                    (self._lite_slot_address_use(x[0], x[1], xm, x[3]) if self._cur_hex in x[3] else None) or \
                    self._frame_address_unfollowed(x[0], xm, x[3], s2)
                if why:
                    whys.setdefault(x[0], why)
                if xm != "call" and (xm == "jmp" or xm.startswith(("j", "loop"))) and x[3].startswith("0x") and \
                        int(x[3], 16) in self.thunks:
                    ret_tag = _join_ret(ret_tag, self._ret_value(f, s2))  # a `ret` (assumption return-thunk)
                    if xm == "jmp":
                        falls = False
                        break
                    continue
                if (xm in ("call", "jmp") or xm.startswith(("j", "loop"))) and x[3].startswith("0x") and \
                        not inside(int(x[3], 16)):
                    why, r = self._call_out(int(x[3], 16), xm, s2)
                    if why:
                        whys.setdefault(x[0], why)
                    if xm == "call":
                        s2 = self._lite_transfer(x[0], x[1], xm, x[3], s2, sites)
                        self._set_ret(int(x[3], 16), s2, r)
                        continue
                    ret_tag = _join_ret(ret_tag, r)
                    if xm == "jmp":
                        falls = False
                        break
                    continue
                if xm == "jmp" or xm.startswith(("j", "loop")):
                    branches.append((int(x[3], 16), s2))
                    if xm == "jmp":
                        falls = False
                        break
                    continue
                if xm == "call" and x[3].startswith("0x"):
                    # a call to code of the unit: its target entered with the
                    # return address pushed, and what comes back as the pass's
                    # own local calls give it
                    t = int(x[3], 16)
                    into = dict(s2)
                    if s2.get(_SP) is not None:
                        into[_SP] = s2[_SP] - 8
                    branches.append((t, into))
                    s2 = self._after_local_call(t, f_pass, self._lite_transfer(x[0], x[1], xm, x[3], s2, sites), ctx)
                    continue
                if xm.startswith("ret"):
                    ret_tag = _join_ret(ret_tag, self._ret_value(f, s2))
                    falls = False
                    break
                s2 = self._lite_transfer(x[0], x[1], xm, x[3], s2, sites)
            if falls:
                out = s2 if out is None else _union(out, s2)
        return out, branches, whys, ret_tag

    def _is_current_operand(self, a: int, size: int, text: str) -> bool:
        """The memory operand names the per-CPU current_task slot (%gs-
        absolute or RIP-relative; a plain global on a uniprocessor kernel)."""
        mm = _parse_mem(text)
        if not mm:
            return False
        if mm[3] is not None or mm[2] not in (None, "rip"):
            # a register added to the slot's address (any segment): the
            # slot when it holds a CPU's per-CPU offset or 0
            # (adv_r29_percpu_offset_cmp): may be the pointer, which is
            # what a tag means in these passes (they ask what may be set)
            return mm[2] != "rip" and (mm[4] & 0xFFFFFFFF) == (self._cur_addr() & 0xFFFFFFFF)
        ea = ((a + size + mm[4]) if mm[2] == "rip" else mm[4]) & 0xFFFFFFFFFFFFFFFF
        lay = self.prog.layout
        return (mm[1] == "gs" and bool(lay.percpu_gs.value) and ea == lay.current_task.value) or \
            (mm[1] is None and not lay.percpu_gs.value and ea == self.fx.current_slot)

    @staticmethod
    def _slot_load(st: dict, slot):
        """Tags of a value loaded from a stack slot (None slot: not known)."""
        tags = [st[_STACK]] if _STACK in st else []
        if slot is not None and any(isinstance(k, tuple) and k[0] == _SLOT and k[1] != slot and
                                    slot < k[1] + 8 and k[1] < slot + 8 for k in st):
            return None  # (bytes of a tagged slot at another offset: adv_r33_overlap)
        if slot is not None and (_SLOT, slot) in st:
            tags.append(st[(_SLOT, slot)])
        elif slot is None:
            tags += [v for k, v in st.items() if isinstance(k, tuple) and k[0] == _SLOT]
        if not tags:
            return _NO_TAG
        out = frozenset()
        for t in tags:
            out = _join_tags(out, t)
        return _NO_TAG if out == frozenset() else out

    def _lite_transfer(self, a, size, m, ops, st: dict, sites) -> dict:
        """_lite_transfer0, plus the registers that may hold the address of
        current_task's per-CPU slot (_CPA), plus RSP as a pointer derived
        from the current task (_lite_rsp).  x86's this_cpu_ptr(&current_task)
        is `mov $current_task,%r; add %gs:this_cpu_off,%r` (or the two the
        other way round, or __per_cpu_offset[cpu] added: another CPU's slot,
        counted too), then a plain load: that load reads the current task
        pointer as a %gs:current_task operand does (adv_r7_this_cpu_ptr_current).
        Soundness (_cpa_step): a register gets the mark from an immediate (or
        absolute lea) naming the slot, and from any instruction that reads a
        marked register (an add of the per-CPU base, a copy, an exchange, a
        cmov, an lea through it); it loses it on any other write; a load
        through a marked base or index is the pointer (exact for a 64-bit
        `mov`/`lodsq` at displacement 0, else at any offset), wherever it
        goes: a general register, the stack slot a `movs` or `push` writes,
        or a register that is not a general one (not followed: flagged,
        _lite_unfollowed).  (A marked address spilled to memory is not
        followed: the byte scan (_current_readers) still makes such a
        function a reader, and assumption ts-compat-writers names pointers
        through memory and slot addresses computed otherwise.)"""
        if len(st) <= 3 and self._gs_current and _SPC not in st and st.keys() <= _UNTAGGED and \
                "sp" not in ops and "bp" not in ops and "gs" not in ops and self._cur_hex not in ops and \
                not m.startswith(_STACK_OPS) and m != "enter":
            # nothing tagged, no copy of RSP, and the instruction neither
            # loads the pointer nor names the slot, RSP or the frame pointer:
            # the state stays (the tests of the three passes below, which
            # give st back here, at once: half of a reader's instructions)
            return st
        cpa = st.get(_CPA)
        if cpa is None:
            hx = self._cur_hex
            # (the immediate or absolute address as capstone prints it; a
            # RIP-relative lea only on a uniprocessor kernel)
            if (hx not in ops and not (m == "lea" and "rip" in ops and not self.prog.layout.percpu_gs.value)) or \
                    not (m in ("mov", "movabs", "add", "lea") and self._names_current_addr(a, size, m, ops)):
                out = self._lite_transfer0(a, size, m, ops, st, sites)
                if not (out is st and st.keys() <= _UNTAGGED):
                    out = self._lite_net(m, ops, st, out)
                # (RSP written from a value that may be the pointer, or RSP
                # there already: _lite_rsp; the `in` tests first, no calls)
                if "rsp" in st or (("sp" in ops or m == "leave") and
                                   (m == "leave" or ops.startswith(("rsp", "esp", "sp")) or ", rsp" in ops or
                                    ", esp" in ops or ", sp" in ops) and
                                   (not st.keys() <= _UNTAGGED or "gs" in ops or not self._gs_current)):
                    out = self._lite_rsp(a, size, m, ops, st, out)
                return out
        out = self._lite_transfer0(a, size, m, ops, st, sites)
        if out is st:
            out = dict(st)
        out = self._lite_net(m, ops, st, out)
        marks, loads, copied = self._cpa_step(a, size, m, ops, cpa or frozenset())
        for r, kind in loads.items():
            out[r] = frozenset({(0, False)}) if kind == "exact" else None
        if copied is not None and copied[0] != "other":
            tag = frozenset({(0, False)}) if copied[1] else None
            if copied[0] == "movs":
                # the string move's destination: the frame slot at RDI when
                # RDI is a copy of RSP at one known offset (joined: the copy
                # may hold other memory on another path, _copy_slot), else
                # any slot ("somewhere in the frame": RDI may be a stack
                # address at an offset not known, or -- ts-compat-writers --
                # other memory, from which no load is the pointer)
                mm = _parse_mem(ops.partition(", ")[0])
                copy, at = self._copy_slot(st, mm)
                if copy and at is not None and tag is not None:
                    for x in [k[1] for k in st if isinstance(k, tuple) and k[0] == _SLOT]:
                        if x != at and at < x + 8 and x < at + 8:
                            out[(_SLOT, x)] = None  # (bytes of both now: adv_r33_overlap)
                    out[(_SLOT, at)] = _join_ret(tag, st.get((_SLOT, at), _NO_TAG))
                else:
                    out[_STACK] = None
            else:  # push: the slot below RSP (_lite_transfer1 made it untagged)
                sp = st.get(_SP)
                if sp is not None and tag is not None:
                    out[(_SLOT, sp - 8)] = tag
                else:
                    out[_STACK] = None
        if marks:
            out[_CPA] = marks
        else:
            out.pop(_CPA, None)
        if "rsp" in st or m == "leave" or "sp" in ops:
            out = self._lite_rsp(a, size, m, ops, st, out)
        return out

    def _cpa_step(self, a, size, m, ops, cpa: frozenset) -> tuple:
        """this_cpu_ptr(&current_task) over one instruction, for both passes
        (MaySet._lite_transfer, TsCompatEffects._track): (the registers that
        may hold the slot's address after it, {register: "exact" | None}
        loaded through a marked one (the pointer at offset 0, or at an offset
        not known), where else the loaded pointer goes: None, ("movs" |
        "push", exact) -- the memory a string move or a push writes -- or
        ("other", False): a register that is not a general one).  cpa: the
        marks before.  Default deny: every general register an instruction
        writes while it reads a marked one (as a register, or as an lea's
        base or index) is marked (an add of the per-CPU base, `add %rsi,%rdx`
        the other way round, mov, xchg either way, cmov, lea); only a write
        that reads none, or a zeroing `xor %esi,%esi`, drops a mark; a string
        instruction's own RSI/RDI step (an add) keeps theirs.  A load is any
        memory operand that is read (not an lea, not a write-only
        destination) based or indexed on a marked register, any segment, a
        32-bit address too (`[esi]`: the slot's address fits in 32 bits);
        every general register the instruction writes then holds the
        pointer (or a value computed from it)."""
        base = m.split(" ")[-1]
        operands = [t.strip() for t in ops.split(", ")] if ops else []
        dst_t = operands[0] if operands else ""
        marks = set(cpa)
        if base == "call":
            kept = self._keeps(int(ops, 16)) if ops.startswith("0x") and marks & set(machine.CALLER_SAVED) else ()
            return frozenset(x for x in marks if x not in machine.CALLER_SAVED or x in kept), {}, None
        # a string instruction (not SSE's movsd/cmpsd, which name xmm registers)
        string = base in _STRING_OPS and not any(_other_register(t) for t in operands)
        write_only = base in _WRITE_ONLY or base.startswith("set")
        named = [self._reg_of(t)[0] for t in operands if "[" not in t]
        if string or (_reads_only(base) and base != "lea") or base in _LITE_READS_EXACT or \
                base.startswith(_LITE_READS):
            written = set()  # (lea writes its register: _reads_only is about memory)
        elif write_only or base in _ALU_FIRST_WRITTEN or base in _MAY_KEEP or base.startswith("cmov"):
            written = {named[0]} if operands and "[" not in dst_t else set()
            if base in _TWO_DESTS and len(operands) > 1 and "[" not in operands[1]:
                written.add(self._reg_of(operands[1])[0])
        else:  # (xchg, xadd, cmpxchg, anything else: every register named)
            written = set(named)
        written.discard(None)
        implicit = set(_IMPLICIT_WRITES_OF(m))
        if base in _STRING_OPS:
            # (a string op's RSI/RDI step: an add, the mark stays; SSE's
            # movsd/cmpsd, which share the names, step neither)
            implicit -= {"rsi", "rdi"}
        if string:
            reads = set()
        else:
            reads = {self._reg_of(t)[0] for t in (operands[1:] if write_only else operands) if "[" not in t}
            reads |= set(_IMPLICIT_READS.get(base, ()))
            if base == "lea" and len(operands) > 1:
                mm = _parse_mem(operands[1])
                if mm:
                    reads |= {self._reg_of(mm[2])[0], self._reg_of(mm[3])[0]}
        reads.discard(None)
        zeroing = base in ("xor", "sub", "sbb") and len(operands) == 2 and operands[0] == operands[1]
        if base in ("mov", "movabs", "add", "lea") and "[" not in dst_t and written and \
                self._names_current_addr(a, size, base, ops):
            marks |= written
        elif reads & marks and not zeroing:
            marks |= written | implicit
        else:
            marks -= written | implicit
        loads: dict = {}
        copied = None
        if cpa and base != "lea" and not base.startswith(("nop", "prefetch", "clflush", "clwb", "invlpg")):
            hit = None
            for k, t in enumerate(operands):
                if "[" not in t or (k == 0 and write_only) or (string and not t.endswith(("[rsi]", "[esi]"))):
                    continue  # (a write-only destination is not read; a string op reads through RSI)
                mm = _parse_mem(t)
                if mm and (self._reg_of(mm[2])[0] in cpa or self._reg_of(mm[3])[0] in cpa):
                    hit = (k, t, mm)
                    break
            if hit is not None:
                k, t, mm = hit
                exact = mm[3] is None and mm[4] == 0 and mm[1] in (None, "gs") and mm[2] in cpa
                rep = m.startswith(_REP_PREFIXES)
                if string and base.startswith("movs"):
                    copied = ("movs", exact and base == "movsq" and not rep)
                elif base == "push":
                    copied = ("push", exact and t.startswith("qword ptr"))
                elif k > 0 and dst_t and "[" not in dst_t and _other_register(dst_t):
                    copied = ("other", False)
                elif base in ("mov", "movabs") and exact and k == 1 and dst_t in _GPR64_NAMES:
                    loads[dst_t] = "exact"
                elif string and base == "lodsq" and exact and not rep:
                    loads["rax"] = "exact"
                else:
                    for w in (written | implicit) - {"rsp"}:
                        loads[w] = None
        return frozenset(marks), loads, copied

    @staticmethod
    def _frame_slot(st: dict, mm):
        """(is a stack slot, its offset or None) for a parsed memory operand
        (_lite_transfer1's frame_slot)."""
        if mm is None or mm[1] is not None:
            return False, None
        copy, at = MaySet._copy_slot(st, mm)
        if copy:
            return True, at
        bp, sp = st.get(_BP, _NO_TAG), st.get(_SP)
        if mm[3] == "rbp" and bp is not _NO_TAG:
            return True, None
        if mm[2] == "rsp":
            return True, (sp + mm[4] if sp is not None and mm[3] is None else None)
        if mm[2] == "rbp" and bp is not _NO_TAG:
            return True, (bp + mm[4] if bp is not None and mm[3] is None else None)
        return False, None

    def _operand_tagged(self, a, size, text: str, st: dict, address: bool = False) -> bool:
        """Whether an operand's value may be the current task pointer (any
        offset): a tagged register (any width); a memory operand read from a
        frame slot that may hold it, from the current_task slot, or through
        a register marked with the slot's address; with address (an lea),
        a memory operand whose base or index is tagged."""
        if "[" not in text:
            return self._reg_of(text)[0] in st
        mm = _parse_mem(text)
        if mm is None:
            return False
        if address:
            return self._reg_of(mm[2])[0] in st or self._reg_of(mm[3])[0] in st
        is_slot, slot = self._frame_slot(st, mm)
        if is_slot:
            return self._slot_load(st, slot) is not _NO_TAG
        cpa = st.get(_CPA) or ()
        return self._is_current_operand(a, size, text) or self._reg_of(mm[2])[0] in cpa or \
            self._reg_of(mm[3])[0] in cpa

    def _lite_rsp(self, a, size, m, ops, st: dict, out: dict) -> dict:
        """RSP as a pointer derived from the current task: the state key
        "rsp" (tags None, any offset), which _lite_store flags at every
        instruction while it is there: a push, a call (its return address,
        and the callee's whole frame), `enter`, an explicit store through
        RSP, and an interrupt's or exception's frame (pushed at RSP wherever
        it points) may each store over the status (adv_r90_sct_rsp_into_task:
        `lea 24(%rax),%rsp; push $TS_COMPAT`).  Soundness: RSP gets the tag
        when an instruction writes it from a value that may be the pointer
        (a copy, an lea, `pop %rsp` or a load of a slot that may hold it,
        `leave` with RBP holding one, any computation with a tagged operand:
        _rsp_write's "combine"), and keeps it through every write but a
        replacement by a value with no tag (`mov %rcx,%rsp` restoring a
        saved RSP, `leave` with RBP a frame address); what is copied from RSP
        while it is there is tagged (the generic rules, and here the two
        that make RBP a frame address instead: `mov %rsp,%rbp`, `enter`), so
        a store through the copy after RSP is restored is one through the
        pointer.  A function that returns with RSP there is flagged at its
        `ret` (its caller's pass assumes RSP comes back as the ABI says:
        abi-callee-saved)."""
        kind = _rsp_write(m, ops)
        old = "rsp" in st
        if kind is None:
            new = old
        elif kind == "leave":
            new = "rbp" in st  # (a frame-pointer RBP is a stack address: restored)
        elif kind == "combine":
            new = old or any(self._operand_tagged(a, size, t.strip(), st) for t in ops.split(", "))
        else:
            src = kind[1]
            if src == "":
                new = False
            elif src == "(pop)":
                new = self._slot_load(st, st.get(_SP)) is not _NO_TAG
            else:
                new = self._operand_tagged(a, size, src, st, address=m == "lea")
        if old and ((m == "mov" and ops == "rbp, rsp") or m == "enter"):
            if out is st:
                out = dict(out)
            out["rbp"] = None  # (a copy of RSP, not a frame address)
        if new:
            if out.get("rsp", _NO_TAG) is not None:
                out = dict(out) if out is st else out
                out["rsp"] = None
        elif "rsp" in out:
            out = dict(out) if out is st else out
            out.pop("rsp")
        return out

    def _names_current_addr(self, a, size, m, ops) -> bool:
        """The source names the address of current_task's slot: an immediate
        (the per-CPU offset; the global on a uniprocessor kernel) or an
        absolute / RIP-relative lea of it."""
        _d, _, src = ops.partition(", ")
        want = self._cur_addr()
        if m == "lea":
            mm = _parse_mem(src)
            if not mm or mm[3] is not None or mm[1] is not None or mm[2] not in (None, "rip"):
                return False
            ea = (a + size + mm[4]) if mm[2] == "rip" else mm[4]
            return (ea & 0xFFFFFFFFFFFFFFFF) == want
        try:
            v = int(src, 0)
        except ValueError:
            return False
        return (v & 0xFFFFFFFFFFFFFFFF) == want or (v & 0xFFFFFFFF) == want

    def _cur_hex_text(self) -> str:
        """The slot's address's low 32 bits as capstone prints an immediate
        or a displacement ("0x35000" contains it)."""
        return self._cur_hex

    def _cur_addr(self) -> int:
        lay = self.prog.layout
        return (lay.current_task.value if lay.percpu_gs.value else self.fx.current_slot) & 0xFFFFFFFFFFFFFFFF

    def _lite_transfer0(self, a, size, m, ops, st: dict, sites) -> dict:
        """_lite_transfer1, and RSP's offset unknown / the frame pointer
        dropped where the instruction writes RSP or RBP in a form that pass
        does not model (`xor $8,%spl`, `xchg %rax,%rsp`, `xor $8,%bpl`, `pop
        %rbp`: adv_r34_spl_xor, _xchg_rsp, _bpl_xor, _pop_rbp)."""
        out = self._lite_transfer1(a, size, m, ops, st, sites)
        spc = st.get(_SPC)
        if spc or "sp" in ops or ("bp" in ops and _BP in st) or m == "enter":
            out = self._stack_copies(m, ops, st, out, spc or frozenset())
        if ("sp" not in ops and "bp" not in ops) or m in ("call", "push", "pushfq", "popfq", "leave", "enter",
                                                          "ret") or m.startswith(_READS_ONLY_FAMILIES):
            return out  # (RSP/RBP named nowhere, or moved as modelled)
        dst_t, _, src = ops.partition(", ")
        writes = set()
        if m == "lea" or (not _reads_only(m) and not m.startswith(("j", "loop", "ret", "out"))):
            writes.add(self._reg_of(dst_t)[0])
        if m in ("xchg", "xadd") or m.startswith("cmpxchg") or m in _TWO_DESTS:
            writes.add(self._reg_of(src.split(", ")[0])[0])
        if not (_reads_only(m) or m in _WRITE_ONLY or m in _ALU_FIRST_WRITTEN or m.startswith(("cmov", "set", "j"))):
            # (mulx writes two: every register named, adv_r35_mulx_rbp)
            writes |= {self._reg_of(t.strip())[0] for t in ops.split(", ") if "[" not in t}
        if "rsp" in writes and not (dst_t == "rsp" and (m in ("add", "sub", "lea", "and") or
                                                         (m == "mov" and src == "rbp"))):
            # (_lite_transfer1 follows those writes of RSP; `pop %rsp`, a
            # load into it and every other form: unknown)
            out = dict(out) if out is st else out
            out[_SP] = None
        if "rbp" in writes and _BP in st and not (m == "mov" and dst_t == "rbp" and src == "rsp"):
            # RBP was the frame pointer: it may still point into the frame
            # (or the caller's, after `pop %rbp`), at an offset not known
            # (None: its slots are the union, never "other memory")
            out = dict(out) if out is st else out
            out[_BP] = None
        return out

    def _stack_copies(self, m: str, ops: str, st: dict, out: dict, old: frozenset) -> dict:
        """out with _SPC updated: the registers that may hold an address in
        the function's own frame, with its offset from the entry RSP where
        known (`mov %rsp,%rcx`, `lea 8(%rsp),%rcx`, `lea -8(%rbp),%rbx`,
        copies and constant offsets of those; None: somewhere in the frame).
        A memory operand based on or indexed by one is a stack slot
        (_copy_slot): a load through it reads that slot (every slot where
        the offset is not one known value), a store of a tagged value joins
        the slot's tags and an untagged one removes none (weak: the register
        may hold other memory on another path), so a slot written or read
        through a copy of RSP is followed (adv_r32_rsp_copy_store, _load).
        Soundness: a mark is only ever dropped on a write the rules here
        model as making no stack address (every register an instruction
        names outside its memory operands, its implicit destinations, a
        call's caller-saved registers, unless it reads RSP or a copy as a
        register: then every register it names may hold one at an offset
        not known, a cmov or mulx from RSP: adv_r35_cmov_fp, _mulx_rbp); at
        a join the offsets of both paths count (_union), and a mark means
        "may": other memory too."""
        _IMPLICIT_WRITES, _UNKNOWN_REGS = _summary_tables()[1:]

        base = m.split(" ")[-1]
        sp, bp = st.get(_SP), st.get(_BP, _NO_TAG)
        fp = bp is not _NO_TAG  # RBP is the frame pointer (_BP)
        if old and base != "call" and base not in _IMPLICIT_WRITES and base not in _UNKNOWN_REGS and \
                not m.startswith(_REP_PREFIXES) and \
                not base.startswith(("iret", "sysret")) and "sp" not in ops and not (fp and "bp" in ops) and \
                not any(t in ops for r, _o in old for t in _FAMILY_TEXT[r]):
            return out  # (no marked register named, none written implicitly, none made)
        offs: dict = {}
        for r, o in old:
            offs.setdefault(r, set()).add(o)
        marks = {r: set(v) for r, v in offs.items()}
        # where a stack address may come from: RSP, the copies, and the
        # frame pointer (adv_r36_mov_fp_copy, _add_fp)
        srcs = {**offs, "rsp": {sp}}
        if fp and "rbp" not in srcs:
            srcs["rbp"] = {bp}
        dst_t, _, src = ops.partition(", ")

        def shifted(os_, k):
            return {None if o is None or k is None else o + k for o in os_}

        if base == "enter":
            marks["rbp"] = {None}  # (RBP := a stack address, adv_r37_enter_load)
        if base == "call":
            kept = self._keeps(int(ops, 16)) if ops.startswith("0x") and any(r in marks for r in machine.CALLER_SAVED) \
                else ()
            for r in machine.CALLER_SAVED:
                if r not in kept:
                    marks.pop(r, None)
            # (a stack address a callee returns, one it was handed as
            # memcpy returns its dest or its own frame, is not followed:
            # marking the return registers after every call handed one made
            # 6.12's gup_fast_fallback a possible setter; ts-compat-writers
            # names it; adv_r36_callee_sp)
        elif base in _UNKNOWN_REGS or base.startswith(("iret", "sysret")):
            marks = {}
        elif base == "lea" or not (_reads_only(base) or base.startswith(("j", "loop", "ret", "nop", "prefetch",
                                                                             "push"))):
            named = {self._reg_of(t.strip())[0] for t in ops.split(", ") if "[" not in t} - {None}
            d, whole = self._reg_of(dst_t) if "[" not in dst_t else (None, False)
            if base in _TWO_DESTS:
                d2 = self._reg_of(src.split(", ")[0].strip())[0]
                reads, writes = named - {d, d2}, {d, d2}
            elif base in _WRITE_ONLY or base.startswith("set"):
                reads, writes = named - {d}, {d}
            elif base in _ALU_FIRST_WRITTEN or base in _MAY_KEEP or base.startswith("cmov"):
                reads, writes = named, {d}
            else:  # (xchg, xadd, cmpxchg, anything else: every register named)
                reads, writes = named, set(named)
            writes |= set(_IMPLICIT_WRITES_OF(m))
            # (a segment override on lea is ignored by the CPU: adv_r36_lea_gs)
            mm = _parse_mem(src) if base == "lea" else None
            if mm:
                reads |= {mm[2], mm[3]} - {None}
            if base == "mov" and whole and d != "rsp" and d not in (None, "rbp") and src in srcs and \
                    dst_t in _GPR64_NAMES:
                marks[d] = set(srcs[src])
            elif base == "mov" and dst_t == "rbp" and src == "rsp":
                marks.pop("rbp", None)  # (the frame pointer: _BP)
            elif base == "lea" and mm and dst_t in _GPR64_NAMES and dst_t != "rsp" and (
                    mm[2] in srcs or mm[3] in srcs):
                marks[d] = shifted(srcs[mm[2]], mm[4] if mm[3] is None else None) if mm[2] in srcs and \
                    mm[3] not in srcs else {None}
            elif base in ("add", "sub") and dst_t in offs and _is_int(src):
                k = int(src, 0)
                marks[d] = shifted(offs[d], k if base == "add" else -k)
            else:
                frame_read = bool(reads & srcs.keys())
                for w in writes - {"rsp", None}:
                    if frame_read:
                        # what an instruction computes from a stack address
                        # (cmov, mulx, an add of RBP: adv_r35_cmov_fp,
                        # _mulx_rbp, adv_r36_add_fp) may be one
                        marks[w] = {None}
                    elif w in marks:
                        # replaced whole (64 or 32 bits: a kernel address
                        # needs all 64) by a value from no stack address:
                        # no copy; a narrower or combined write keeps the
                        # upper bits (`movw %cx,%cx`, adv_r36_movw_self)
                        if w == d and whole and (base in _WRITE_ONLY or base.startswith("set") or
                                                 (base == "xor" and src == dst_t)):
                            marks.pop(w)
                        else:
                            marks[w] = {None}
        # (a widening: a copy stepped through the frame in a loop, `add
        # $8,%rcx`, would name a new offset every time round; past four,
        # or with None among them, it is somewhere in the frame)
        new = frozenset((r, o) for r, os_ in marks.items()
                        for o in (os_ if len(os_) <= 4 and None not in os_ else (None,)))
        if new == old:
            return out
        out = dict(out) if out is st else out
        if new:
            out[_SPC] = new
        else:
            out.pop(_SPC, None)
        return out

    @staticmethod
    def _copy_slot(st: dict, mm):
        """(whether a memory operand is based on or indexed by a register
        that may hold a frame address (_stack_copies), its slot's offset
        when that is one known value)."""
        spc = st.get(_SPC)
        if not spc or mm is None:
            return False, None
        on = {o for r, o in spc if r == mm[2]}
        if not on and not any(r == mm[3] for r, _o in spc):
            return False, None
        if mm[3] is None and len(on) == 1 and None not in on:
            return True, next(iter(on)) + mm[4]
        return True, None

    def _lite_transfer1(self, a, size, m, ops, st: dict, sites) -> dict:
        if m == "call":
            out = {r: v for r, v in st.items() if r not in machine.CALLER_SAVED}
            if len(out) != len(st) and ops.startswith("0x"):
                # (a caller-saved register tagged: what the callee keeps)
                for r in self._keeps(int(ops, 16)):
                    if r in st:
                        out[r] = st[r]
            return out
        if len(st) <= 3 and self._gs_current and "gs" not in ops and "sp" not in ops and "bp" not in ops and \
                not m.startswith(_STACK_OPS) and st.keys() <= _UNTAGGED and self._cur_hex not in ops:
            # nothing tagged, and the instruction neither loads the pointer
            # (a per-CPU load names %gs) nor moves RSP or the frame pointer:
            # the state stays (most of a reader's instructions)
            return st
        dst_t, _, src = ops.partition(", ")
        out = dict(st)
        # the stack: RSP's offset from the function's entry (_SP) names the
        # slots a tagged register is pushed or spilled to; a pop or a load
        # from a slot gets its tags.  Where the offset is not known (after
        # `and $-16,%rsp`, through RBP) the slots are one union (_STACK).
        sp = st.get(_SP)
        bp = st.get(_BP, _NO_TAG)  # RBP as a frame pointer: its offset, None (unknown) or absent

        def frame_slot(mm):
            """(is a stack slot, its offset or None) for a memory operand
            (with an index register: a slot at an offset not known,
            adv_r33_index_load)."""
            if mm[1] is not None:
                return False, None
            copy, at = self._copy_slot(st, mm)
            if copy:
                return True, at  # (through a copy of RSP: _stack_copies)
            if mm[3] == "rbp" and bp is not _NO_TAG:
                return True, None  # (the frame pointer as the index: some slot, adv_r35_index_rbp)
            if mm[2] == "rsp":
                return True, (sp + mm[4] if sp is not None and mm[3] is None else None)
            if mm[2] == "rbp" and bp is not _NO_TAG:
                return True, (bp + mm[4] if bp is not None and mm[3] is None else None)
            return False, None

        if m == "mov" and dst_t == "rbp" and src == "rsp":
            out[_BP] = sp
            out.pop("rbp", None)
            return out
        if m == "push" and not _push_is_8_bytes(size, dst_t):
            # pushw (`66 6a`, `push %ax`, `pushw mem`): RSP moves by 2, which
            # would misname every slot after it (adv_r33_pushw); the offset
            # is not known from here on (None, as an alloca's); a tagged
            # slot its 2 bytes overlap holds a changed value
            if sp is not None:
                for k in [k for k in st if isinstance(k, tuple) and k[0] == _SLOT and sp - 2 < k[1] + 8 and k[1] < sp]:
                    out[k] = None
            elif any(isinstance(k, tuple) and k[0] == _SLOT for k in st) or _STACK in st:
                out[_STACK] = None
            out[_SP] = None
            return out
        if m == "push":
            tag = st[dst_t] if dst_t in st else _NO_TAG
            if "[" in dst_t:
                # pushq mem: a frame slot's tags, or the current task pointer
                # itself (`pushq %gs:current_task`)
                mm = _parse_mem(dst_t)
                is_slot, slot = frame_slot(mm) if mm else (False, None)
                if is_slot:
                    tag = self._slot_load(st, slot)
                elif self._is_current_operand(a, size, dst_t):
                    tag = frozenset({(0, False)})
            if tag is not _NO_TAG:
                if sp is not None:
                    out[(_SLOT, sp - 8)] = tag
                else:
                    out[_STACK] = _join_tags(st.get(_STACK, frozenset()), tag)
            elif sp is not None:
                out.pop((_SLOT, sp - 8), None)
            if sp is not None:
                out[_SP] = sp - 8
            return out
        if m in ("pushfq", "popfq"):
            # 8 bytes each in 64-bit mode (paravirt save_fl/restore_fl sites:
            # `pushfq; pop %rax`): RSP moves, no tagged value is pushed
            if sp is not None:
                out.pop((_SLOT, sp - 8), None)
                out[_SP] = sp - 8 if m == "pushfq" else sp + 8
            return out
        if m == "pop" and dst_t.startswith("qword ptr"):
            # pop to memory: the slot at RSP goes where the operand says,
            # its address computed with RSP already moved up (SDM POP):
            # a frame slot gets the tags (adv_r38_pop_mem, _pop_copy)
            tag = self._slot_load(st, sp)
            mm = _parse_mem(dst_t)
            if mm and mm[1] is None:
                weak = self._copy_slot(st, mm)[0]
                if mm[2] == "rsp" and not weak:
                    is_slot, slot = True, (None if sp is None or mm[3] is not None else sp + 8 + mm[4])
                else:
                    is_slot, slot = frame_slot(mm)
                if is_slot:
                    if slot is not None:
                        for k in [k for k in st if isinstance(k, tuple) and k[0] == _SLOT and k[1] != slot
                                  and slot < k[1] + 8 and k[1] < slot + 8]:
                            out[k] = None
                    if tag is not _NO_TAG:
                        if slot is not None:
                            out[(_SLOT, slot)] = _join_ret(tag, st.get((_SLOT, slot), _NO_TAG)) if weak else tag
                        else:
                            out[_STACK] = _join_tags(st.get(_STACK, frozenset()), tag)
                    elif slot is not None and not weak:
                        out.pop((_SLOT, slot), None)
            out[_SP] = None if sp is None else sp + 8
            return out
        if m.startswith(("push", "pop")) and not (m == "pop" and dst_t in _GPR64_NAMES):
            # another form (pushfw, a pop to memory or to a 16-bit register):
            # RSP moves by an amount this pass does not follow.  Unknown is
            # None, never "absent": an absent _SP means "entered from outside,
            # nothing known" and _call_out takes a jump from such a state for
            # a tail call (adv_r6_alloca_jmp)
            out[_SP] = None
            r, _whole = self._reg_of(dst_t) if m.startswith("pop") else (None, False)
            if r in out:
                out[r] = None
            return out
        if m == "pop" and dst_t in _GPR64_NAMES:
            tag = self._slot_load(st, None if sp is None else sp)
            if tag is _NO_TAG:
                out.pop(dst_t, None)
            else:
                out[dst_t] = tag
            if sp is not None:
                out[_SP] = sp + 8
            return out
        if "[" in dst_t and m in ("mov", "movabs"):
            mm = _parse_mem(dst_t)
            is_slot, slot = frame_slot(mm) if mm else (False, None)
            if is_slot:
                # (through a copy of RSP the store is weak: the copy may
                # hold other memory on another path)
                weak = self._copy_slot(st, mm)[0]
                if src in st:
                    if slot is not None:
                        out[(_SLOT, slot)] = _join_ret(st[src], st.get((_SLOT, slot), _NO_TAG)) if weak else st[src]
                    else:
                        out[_STACK] = _join_tags(st.get(_STACK, frozenset()), st[src])
                elif slot is not None and mm[0] == 8 and not weak:
                    out.pop((_SLOT, slot), None)
        if m in ("mov", "movabs") and dst_t in _GPR64_NAMES and "[" in src:
            mm = _parse_mem(src)
            is_slot, slot = frame_slot(mm) if mm else (False, None)
            if is_slot:
                tag = self._slot_load(st, slot)
                if tag is _NO_TAG:
                    out.pop(dst_t, None)
                else:
                    out[dst_t] = tag
                return out
        if dst_t == "rsp":
            if m in ("add", "sub") and sp is not None:
                try:
                    k = int(src, 0)
                    out[_SP] = sp + (k if m == "add" else -k)
                    return out
                except ValueError:
                    pass
            if m == "lea":
                mm = _parse_mem(src)
                if mm and mm[2] == "rsp" and mm[3] is None and sp is not None:
                    out[_SP] = sp + mm[4]
                    return out
                if mm and mm[2] == "rbp" and mm[3] is None and bp is not _NO_TAG and bp is not None:
                    out[_SP] = bp + mm[4]  # `lea -0x28(%rbp),%rsp` before the pops of an epilogue
                    return out
            if m == "mov" and src == "rbp" and bp is not _NO_TAG and bp is not None:
                out[_SP] = bp
                return out
            if m == "and":
                # `and $-16,%rsp` (a realigned frame): later RSP-relative
                # slots are named from a new base; what was pushed before
                # joins the union every slot load reads
                pushed = [v for k, v in st.items() if isinstance(k, tuple) and k[0] == _SLOT]
                if pushed or _STACK in st:
                    tags = st.get(_STACK, frozenset())
                    for v in pushed:
                        tags = _join_tags(tags, v)
                    out[_STACK] = tags
                out[_SP] = _REALIGNED
                return out
            # RSP moved by a run-time amount (`sub %rax,%rsp`: alloca, the
            # kstack offset randomisation): its offset is unknown (None), so
            # a later jump out is not taken for a tail call with this frame
            # still live (_call_out); dropping the key would say "nothing
            # known, entered from outside" (adv_r6_alloca_jmp)
            out[_SP] = None
            return out
        if m == "leave" and bp is not _NO_TAG and bp is not None:
            # mov %rbp,%rsp; pop %rbp: the caller's frame pointer comes back
            out[_SP] = bp + 8
            out.pop(_BP, None)
            tag = self._slot_load(st, bp)
            if tag is _NO_TAG:
                out.pop("rbp", None)
            else:
                out["rbp"] = tag
            return out
        if m in ("leave", "enter"):
            out[_SP] = None  # (unknown, not absent: see above)
            out.pop(_BP, None)
            if m == "leave":
                # RBP comes from a slot not known: any of them
                tag = self._slot_load(st, None)
                if tag is _NO_TAG:
                    out.pop("rbp", None)
                else:
                    out["rbp"] = tag
            else:
                out.pop("rbp", None)  # (enter: RBP := a stack address)
        if dst_t in ("rbp", "ebp") or m == "pop" and dst_t == "rbp":
            out.pop(_BP, None)
        # implicit register writes: the summary's table (any tag becomes "any")

        for r in _IMPLICIT_WRITES_OF(m):
            if r in out:
                # (a ghost stays one: the string ops that also read it are
                # checked as stores, the rest only overwrite it)
                out[r] = _GHOST_TAG if _ghostly(out[r]) else None
        if m.startswith(("xchg", "xadd", "cmpxchg")) and src in _GPR64_NAMES:
            if dst_t in _GPR64_NAMES and m.startswith("cmpxchg"):
                # equal: dst := src; else RAX := dst (adv_r31_cmpxchg_rax)
                for r, v in (("rax", _join_ret(st.get("rax", _NO_TAG), st.get(dst_t, _NO_TAG))),
                             (dst_t, _join_ret(st.get(dst_t, _NO_TAG), st.get(src, _NO_TAG)))):
                    if v is _NO_TAG:
                        out.pop(r, None)
                    else:
                        out[r] = v
                return out
            if dst_t in _GPR64_NAMES:
                # a swap (by _NO_TAG, not None: None is "any offset", and a
                # register handed one keeps it: adv_r93_xchg_anyoff)
                for r, v in ((src, st.get(dst_t, _NO_TAG)), (dst_t, st.get(src, _NO_TAG))):
                    if v is _NO_TAG:
                        out.pop(r, None)
                    else:
                        out[r] = v
                return out
            mm = _parse_mem(dst_t)
            is_slot, slot = frame_slot(mm) if mm else (False, None)
            # other memory is not the pointer, except the per-CPU current_task
            # slot itself (`xchg %rax,%gs:current_task`, a cmpxchg on it)
            loaded = self._slot_load(st, slot) if is_slot else (
                frozenset({(0, False)}) if self._is_current_operand(a, size, dst_t) else _NO_TAG)
            if is_slot and src in st:  # the register goes to the slot (xchg, xadd; cmpxchg may)
                if slot is not None:
                    out[(_SLOT, slot)] = _join_ret(st[src], st.get((_SLOT, slot), _NO_TAG)) \
                        if m.startswith("cmpxchg") or self._copy_slot(st, mm)[0] else st[src]
                else:
                    out[_STACK] = _join_tags(st.get(_STACK, frozenset()), st[src])
            if m.startswith("cmpxchg"):
                # RAX keeps its value or gets the memory's; the source is only read
                joined = _join_ret(st.get("rax", _NO_TAG), loaded)
                if joined is _NO_TAG:
                    out.pop("rax", None)
                else:
                    out["rax"] = joined
            elif loaded is _NO_TAG:
                out.pop(src, None)  # the old memory value
            else:
                out[src] = loaded
            return out
        dst, whole = self._reg_of(dst_t)
        if dst is None or (_reads_only(m) and m != "lea") or m.startswith(("push", "out")):
            return out
        val: object = "kill"
        if "[" in src and m not in ("mov", "movabs", "lea") and self._is_current_operand(a, size, src):
            # Any instruction whose memory source is the current_task slot
            # puts the task pointer, or a value computed from it, in its
            # destination (6.8+ __seg_gs: GCC folds `current` into cmov, add,
            # or, xor, adc, ... like any memory operand).  Soundness: a cmov
            # gives one of the two values (the union of their offsets, or any
            # offset for a partial write); every other form gives the pointer
            # combined with the destination's old value: "any offset from the
            # current task" (None), never "not the pointer".  A product, shift
            # or narrowing of it stays None here too: a pointer is what is
            # not ruled out.  (_track, the precise pass, has the same rule.)
            cur = frozenset({(0, False)})
            if m.startswith("cmov") and whole:
                old_tag = st[dst] if dst in st else _NO_TAG
                val = cur if old_tag is _NO_TAG else _join_tags(old_tag, cur)
            else:
                val = None
        elif m in ("mov", "movabs") and "[" in src:
            if self._is_current_operand(a, size, src):
                val = frozenset({(0, False)})
        elif m == "mov" and src in _GPR64_NAMES:
            val = st.get(src, "kill")
        elif m == "lea":
            mm = _parse_mem(src)
            if mm and (mm[2] in st or mm[3] in st):
                b = st.get(mm[2]) if mm[2] in st else None
                # an index register makes the offset "this or above" (an
                # in-bounds index into an array member: assumption ts-compat-writers)
                val = None if b is None else frozenset((x + mm[4], o or mm[3] is not None) for x, o in b)
        elif m == "xor" and src == dst_t:
            val = "kill"  # a zeroing xor
        elif m in ("sub", "sbb") and src == dst_t:
            # r - r, r - r - CF: 0 or -1 whatever r held (array_index_nospec's
            # `cmp; sbb %rdx,%rdx` mask, 6.12's fdget_raw): no pointer
            val = "kill"
        elif m == "sub" and dst in st and self._reg_of(src)[0] in st:
            # a difference of two pointers (strnlen's length): no pointer;
            # but p - (p & 15) is p aligned down (adv_r32_align_down): only
            # two exact pointers make no pointer
            both = st[dst] is not None and st[self._reg_of(src)[0]] is not None
            val = "kill" if both else None
        elif m in ("sub", "sbb") and self._reg_of(src)[0] in st:
            # k - p (`xor %edx,%edx; sub %rax,%rdx; neg %rdx` is p again,
            # adv_r34_neg): only a difference of two exact pointers is none
            val = None
        elif m in ("add", "sub") and dst in st:
            try:
                k = int(src, 0)
                b = st[dst]
                val = None if b is None else frozenset((x + (k if m == "add" else -k), o) for x, o in b)
            except ValueError:
                val = None
        elif self._reg_of(src)[0] in st and m in ("add", "or", "xor", "adc", "and"):
            # the pointer combined into another value (an index added to it,
            # flag bits or'ed in, a mask): somewhere in or near the task.  A
            # difference or product with it is no pointer (assumption
            # ts-compat-writers)
            val = None
        elif m in _MAY_KEEP:
            # the old value, or a bit index / segment limit (no pointer)
            val = "keep" if whole or dst not in st else None
        elif m in _REPLACES or (m == "xor" and src == dst_t):
            val = "kill"  # a value unrelated to the old one (a load, a zeroing xor)
        elif m.startswith("cmov"):
            # one of the two values: the union of their offsets (an untagged
            # one adds none; a 32-bit cmov writes all 64 bits either way)
            if "[" in src:
                mm = _parse_mem(src)
                is_slot, slot = frame_slot(mm) if mm else (False, None)
                src_tag = self._slot_load(st, slot) if is_slot else _NO_TAG
            else:
                r, _w = self._reg_of(src)
                src_tag = st[r] if r in st else _NO_TAG
            dst_tag = st[dst] if dst in st else _NO_TAG
            if src_tag is _NO_TAG and dst_tag is _NO_TAG:
                val = "kill" if whole else "keep"
            elif src_tag is _NO_TAG or dst_tag is _NO_TAG:
                val = dst_tag if src_tag is _NO_TAG else src_tag
            else:
                val = _join_tags(src_tag, dst_tag)
            if val is not None and not isinstance(val, str) and not whole:
                val = None
        elif dst in st and m in ("and", "or", "adc", "sbb", "inc", "dec", "btr", "bts", "btc"):
            val = None  # pointer arithmetic (alignment, +-1): somewhere in or near the task
        elif dst in st:
            # shifts, multiplication, negation, xor with a value: not a pointer
            # to the task any more (assumption ts-compat-writers)
            val = "kill"
        if val == "kill":
            if whole:
                out.pop(dst, None)
            elif dst in out:
                out[dst] = None
        elif val != "keep":
            if val is not None and len(val) > 32:
                val = None
            out[dst] = val if whole or val is None else None
        if out.get(dst, _NO_TAG) is None:
            # a ghost (an argument register beyond the prototype) combined
            # into a value (`add %rsi,%rdi`, a mask, a partial write) is still
            # a use of the ghost: it stays one, so a store through the result
            # refutes the prototype (adv_r6_ghost_alu; _prototype_holds also
            # refutes on any flag of the ghost pass)
            mm = _parse_mem(src) if "[" in src else None
            ins_regs = {dst, self._reg_of(src)[0]} | ({mm[2], mm[3]} if mm else set())
            if any(_ghostly(st.get(r, _NO_TAG)) for r in ins_regs if r):
                out[dst] = _GHOST_TAG
        return out

    def _lite_store(self, a, m, ops, st: dict, sites, df=lambda: False) -> str | None:
        fx = self.fx
        if "rsp" in st or (_CPA in st and "rsp" in st[_CPA]):
            # RSP may point into the current task (_lite_rsp), or at its
            # per-CPU slot: every instruction here may store through it, at
            # an offset not followed -- a push, a call, `enter`, an explicit
            # store through RSP, an interrupt's or exception's frame
            return f"{_Where(m, ops, self.prog, a)}: RSP may point into the current task (a push, a call or " \
                   "an interrupt's frame may store over its status)"
        if m == "(site)":
            return None  # each candidate's stores: _lite_site
        where = _Where(m, ops, self.prog, a)
        if m.split(" ")[-1] in _STRING_STORES and any(_ghostly(st.get(r, _NO_TAG)) for r in ("rdi", "rsi")):
            return f"{_GHOST_WHY}: {where}"
        if m.split(" ")[-1] in _STRING_STORES and "rdi" in st and (
                st["rdi"] is None or any(k <= fx.byte for k, _above in st["rdi"]) or df()):
            # a string store writes from RDI upwards while DF is clear (the
            # ABI at every call and return, and entry's CLD): from above the
            # status byte it cannot reach it -- unless the code read here
            # may set DF (`std; rep stosb` writes downwards,
            # adv_r141_std_stosb_down; memmove's backward copy)
            return f"{where}: a string store through the current task pointer"
        if m.split(" ")[-1] in machine.IMPLICIT_MEMORY_STORES:
            return f"{where}: a store at an address in a register"
        first = ops.partition(", ")[0]
        if "[" not in first or not machine.memory_written(m, 0, False):
            return None
        mm = _parse_mem(first)
        if mm is None:
            return None
        if mm[1] == "gs":
            # per-CPU (assumption private-regions), unless a register of the
            # address may hold the current task pointer: GS base +
            # (current - this_cpu_off) is the task (adv_r145_gs_rebased_status)
            if mm[2] in st or mm[3] in st:
                return f"{where}: a %gs-relative store through a register that may hold the current task pointer"
            return None
        msize, _seg, base, index, disp = mm
        if " ptr " not in first:
            # no size in the text (`sgdt [rax + 7]` writes 10 bytes,
            # adv_r141_sgdt_status): the state-save table's extent, else
            # none fixed (below), not _parse_mem's 8
            msize = None
        value = self._reg_of(ops.partition(", ")[2])[0]
        if any(_ghostly(st.get(r, _NO_TAG)) for r in (base, index, value) if r):
            return f"{_GHOST_WHY}: {where}"
        if index in st:
            return f"{where}: indexed by the current task pointer"
        op = m.split(" ")[-1]
        if op in ("bts", "btr", "btc") and base in st and not ops.partition(", ")[2].startswith(("0x", "-")) and \
                not ops.partition(", ")[2].isdigit():
            # a register bit offset addresses the whole bit string around the
            # operand, below it too (SDM BT/BTS: a signed bit index)
            return f"{where}: a bit-string store through the current task pointer"
        try:
            imm = int(ops.partition(", ")[2], 0)
        except ValueError:
            imm = None
        if imm is not None and msize is not None and index is None and base in st and st[base] is not None and \
                not any(o for _k, o in st[base]) and \
                fx._hits(m, disp, msize, imm, {k for k, _o in st[base]}) in ("miss", "clears"):
            if fx._hits(m, disp, msize, imm, {k for k, _o in st[base]}) == "clears":
                self._saw_clear = True
            return None  # an immediate that can only clear the bit (the exit's own clear)
        if base not in st:
            return None
        # (the bytes written: a state save's image, not its operand's size
        # text: `fnsave` prints "dword ptr" and writes 108 bytes, its FTW over
        # the status, adv_r116_fnsave_lite_extent; xsave's is not fixed)
        msize = machine.store_extent(m, msize)
        if msize is None:
            return f"{where}: a store of no fixed extent through the current task pointer"
        offs = st[base]
        if offs is None:
            # at an unknown offset, an immediate can set the bit only if the
            # bit's place in some byte of it is set (`lock orb $4` = set_bit(2):
            # the operand can be any byte, the status byte included, and sets
            # bit 2 of it, never bit 1)
            if imm is not None and fx._hits(m, disp, msize, imm, None) in ("miss", "clears"):
                return None
            return f"{where}: a store at an unknown offset from the current task"
        for k, above in offs:
            lo = disp + k
            if ((index is not None or above) and lo <= fx.byte) or lo <= fx.byte < lo + msize:
                return f"{where} may write the current task's status"
        return None

    def _through_current(self, f: int) -> str | None:
        """The data-flow check: a store covering the bit through a register
        that may hold the current task pointer."""
        fx, prog = self.fx, self.prog
        try:
            cfg = prog.cfg(f)
            dec = {n: [fx._decode(i) for i in b.insns] for n, b in cfg.blocks.items()}
            before = fx._forward(cfg, dec)
        except CfgError as e:
            return f"{prog.symbolize(f)}: {e}"
        for n, b in cfg.blocks.items():
            for ins, ci, (must, may) in zip(b.insns, dec[n], before[n]):
                if ins.kind in ("call", "icall", "tail"):
                    continue
                e, _a = fx._effect(ins, ci, must, may, [])
                if e == ANY:
                    return f"`{ci.mnemonic} {ci.op_str}` at {prog.symbolize(ins.addr)} may write the current task's status"
        return None
