"""Call summaries computed from the code: what a callee may write.

A callee not followed is replaced by its may-write set, read off its code and
the code of every function it can reach by direct calls and jumps, through
every patch-site candidate (never from its name):
- registers: the caller-saved ones its code may write (every explicit and
  implicit destination capstone reports, through the whole closure; all of
  them when the closure has an unknown call or jump), so an assembly helper
  such as entry_untrain_ret or clear_bhb_loop keeps the RDI/RSI the entry
  code set before calling it; the arithmetic flags are always unknown;
  callee-saved registers and RSP are kept (assumption abi-callee-saved);
- memory: the exact %gs-relative and absolute addresses its stores name when
  every store names one, else "any" (all public memory, pt_regs,
  thread_info and every escaped stack range).  A store through a register,
  a string store, an indirect call or a call to the syscall dispatch makes it
  "any"; so does a store relative to RSP (it could reach the caller's frames);
- IF: may change if the code contains sti, popf or iret, or an unknown call;
- vector registers: unknown after xrstor/fxrstor.
Only calls whose target the image does not fix use a named assumption:
`irq-flag-preserved` for unknown callees, `tracepoint-probes-preserve-user-state`
for tracepoint static calls.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import capstone

from .. import machine
from .cfg import _UNKNOWN_TO_CAPSTONE, RETURN_THUNKS, RTM_INSNS, CfgError, _md, prefixed_system_insn, target_node
from .tscompat import TsCompatEffects

MAX_FUNCTIONS = 48
MAX_INSNS = 6000
CALLER_SAVED = machine.CALLER_SAVED


def _gpr64_names() -> dict:
    """capstone's sub-register names -> the 64-bit register they are part of."""
    out = {}
    for a, (d, w, b, h) in {"a": ("eax", "ax", "al", "ah"), "b": ("ebx", "bx", "bl", "bh"),
                            "c": ("ecx", "cx", "cl", "ch"), "d": ("edx", "dx", "dl", "dh")}.items():
        for n in (d, w, b, h):
            out[n] = f"r{a}x"
    for r in ("si", "di", "bp", "sp"):
        for n in (f"e{r}", r, f"{r}l"):
            out[n] = f"r{r}"
    for i in range(8, 16):
        for suf in ("d", "w", "b"):
            out[f"r{i}{suf}"] = f"r{i}"
    return out


_GPR64 = _gpr64_names()
# implicit GPR destinations, whether or not capstone reports them (Intel SDM)
_IMPLICIT_WRITES = {
    "cmpxchg": ("rax",), "cmpxchg8b": ("rax", "rdx"), "cmpxchg16b": ("rax", "rdx"), "xlatb": ("rax",),
    "rdpkru": ("rax", "rdx"), "rdmsr": ("rax", "rdx"), "rdtsc": ("rax", "rdx"), "rdtscp": ("rax", "rcx", "rdx"),
    "cpuid": ("rax", "rbx", "rcx", "rdx"), "xgetbv": ("rax", "rdx"), "rdpmc": ("rax", "rdx"),
    "mul": ("rax", "rdx"), "imul": ("rax", "rdx"), "div": ("rax", "rdx"), "idiv": ("rax", "rdx"),
    "cwd": ("rdx",), "cdq": ("rdx",), "cqo": ("rdx",), "cbw": ("rax",), "cwde": ("rax",), "cdqe": ("rax",),
    "lodsb": ("rax", "rsi"), "lodsw": ("rax", "rsi"), "lodsd": ("rax", "rsi"), "lodsq": ("rax", "rsi"),
    "stosb": ("rdi",), "stosw": ("rdi",), "stosd": ("rdi",), "stosq": ("rdi",),
    "movsb": ("rsi", "rdi"), "movsw": ("rsi", "rdi"), "movsd": ("rsi", "rdi"), "movsq": ("rsi", "rdi"),
    "scasb": ("rdi",), "cmpsb": ("rsi", "rdi"), "syscall": ("rcx", "r11"), "loop": ("rcx",),
    "loope": ("rcx",), "loopne": ("rcx",), "rdrand": (), "rdseed": (), "xchg": (), "xadd": (),
}
# instructions after which no register can be trusted
_UNKNOWN_REGS = {"vmcall", "vmmcall", "vmlaunch", "vmresume", "int", "into", "syscall", "sysenter", "sysexit",
                 "rsm", "tdcall", "enclu", "encls"}


@dataclass
class Summary:
    event_kind: str  # "summary" | "unknown-call" | "dispatch"
    writes: str = "some"  # "some": exactly write_addrs; "any"
    write_addrs: list = field(default_factory=list)  # (address, size)
    clobbers: tuple = CALLER_SAVED
    may_change_if: bool = False
    may_clear_if: bool = False  # a `cli` in its code (IF may become clear, never set)
    vector: bool = False
    keeps_user_state: bool = False
    reaches_dispatch: bool = False  # its code calls the syscall dispatch
    assumption: str | None = None
    why: str = ""
    # what it does to TS_COMPAT in the current task's thread_info.status
    # (tscompat.py): keep / clear / mayclear / any, and whether that rests on
    # assumption ts-compat-writers
    ts_compat: str = "any"
    ts_assumed: bool = False
    # GS base, CR3 (user-gs, user-cr3): a %gs-relative access in its code;
    # a SWAPGS/WRGSBASE, a write to CR3; opaque: code the summary cannot read
    # (the dispatch, an indirect or static call, an unknown closure), whose
    # GS base and CR3 effect is assumption kernel-calls-keep-gs-cr3
    gs_access: bool = True
    may_swapgs: bool = False
    may_write_cr3: bool = False
    opaque: bool = True

    def describe(self, name, target) -> str:
        who = name or (f"{target:#x}" if target is not None else "an unknown function")
        if self.event_kind == "dispatch":
            return f"{who} (the syscall: everything it may write is arbitrary)"
        if self.event_kind == "unknown-call":
            return f"{who} (target unknown: {self.why})"
        return f"{who} (summarised: {self.why})"


# MSR_GS_BASE, MSR_KERNEL_GS_BASE (SDM vol. 4; msr-index.h)
GS_BASE_MSRS = (0xC0000101, 0xC0000102)


class Summaries:
    def __init__(self, program):
        self.program = program
        self._cache: dict = {}
        self.ts = TsCompatEffects(program)
        self._irq = None

    def if_effect(self, target, name):
        """IF at the callee's return (irqflag.py): a set over 0, 1, "E" and
        the argument registers' bit 9, or None (unknown); and the call sites
        in its closure where assumption irq-flag-preserved was used.  Only
        for a callee the image fixes (readable, not the dispatch)."""
        if not self.readable(target, name):
            return None, frozenset()
        if self._irq is None:
            from .irqflag import IrqFlagEffects  # noqa: PLC0415
            self._irq = IrqFlagEffects(self.program, _md, _GPR64)
        return self._irq.effect(target)

    def readable(self, target, name) -> bool:
        """Whether the callee is fixed by the image (its summary is read
        from its code), as opposed to unknown at analysis time."""
        return not (target is None or target in self.program.dispatch or (name and (
            name.startswith("__SCT__") or name.startswith("__x86_indirect_thunk_")
            or name.startswith("__x86_indirect_call_thunk_") or name.startswith("__x86_indirect_jump_thunk_"))))

    def writes_of(self, target, name) -> Summary:
        """What the callee may write (its TS_COMPAT effect is asked of
        tseffects.py separately: it reads the callee's closure)."""
        key = ("writes", target, name)
        s = self._cache.get(key)
        if s is None:
            s = self._cache[key] = self._of(target, name)
        return s

    def _of(self, target, name) -> Summary:
        prog = self.program
        if target is None:
            return Summary("unknown-call", "any", assumption="irq-flag-preserved", why="an indirect call")
        if target in prog.dispatch:
            return Summary("dispatch", "any", may_change_if=True, vector=True, why="the syscall dispatch")
        if name and name.startswith("__SCT__"):
            # static calls are retargeted at run time: the on-disk target is not the callee
            if name.startswith("__SCT__tp_func_"):
                return Summary("unknown-call", "any", keeps_user_state=True, vector=True,
                               assumption="tracepoint-probes-preserve-user-state", why="a tracepoint static call")
            return Summary("unknown-call", "any", vector=True, assumption="irq-flag-preserved",
                           why="a static call, retargeted at run time")
        if name and (name.startswith("__x86_indirect_thunk_") or name.startswith("__x86_indirect_call_thunk_")
                     or name.startswith("__x86_indirect_jump_thunk_")):
            return Summary("unknown-call", "any", vector=True, assumption="irq-flag-preserved",
                           why="an indirect call through a retpoline thunk")
        hit = self._cache.get(target)
        if hit is None:
            hit = self._compute(target)
            self._cache[target] = hit
        return hit

    def _compute(self, start: int) -> Summary:
        prog = self.program
        s = Summary("summary", "some", [], why="its code writes only named per-CPU/global addresses",
                    gs_access=False, opaque=False)
        writes = set()
        regs_written: set[str] = set()
        regs_unknown = False
        funcs, work, seen = {start}, [(start, None)], set()
        # wrmsr nodes; node -> [(predecessor, its ECX effect)] over
        # fall-through edges; nodes entered otherwise (the start: ECX is the
        # caller's; jump and call targets)
        wrmsrs: list = []
        fall_pred: dict = {}
        work_targets: set = {(start, None)}
        n = 0
        md = _md()

        def anyw(why, regs=False):
            nonlocal regs_unknown
            s.writes = "any"
            s.why = why
            regs_unknown = regs_unknown or regs

        while work:
            addr, vk = work.pop()
            if (addr, vk) in seen:
                continue
            seen.add((addr, vk))
            n += 1
            if n > MAX_INSNS or len(funcs) > MAX_FUNCTIONS:
                anyw("too large to summarise", regs=True)
                # code the image fixes but this walk did not finish reading:
                # no assumption covers it, so what it does to the GS base
                # and CR3 is unknown (assumption kernel-calls-keep-gs-cr3 is
                # for code the image does not fix)
                s.may_change_if = s.vector = s.may_swapgs = s.may_write_cr3 = True
                break
            try:
                if vk is None and addr in prog.sites:
                    for i, (code, label, cond) in enumerate(prog.site_choices(addr)):
                        work.append((addr, (addr, i)))
                    continue
                if vk is None:
                    data = prog.fetch(addr, 16)
                else:
                    data = prog.site_choices(vk[0])[vk[1]][0][addr - vk[0]:]
            except CfgError as e:
                anyw(str(e), regs=True)
                s.may_change_if = s.may_swapgs = s.may_write_cr3 = True
                break
            ci = next(md.disasm(data, addr, 1), None)
            if ci is None and any(data.startswith(raw) for raw in _UNKNOWN_TO_CAPSTONE):
                # SERIALIZE (cfg._UNKNOWN_TO_CAPSTONE): no operands, no effect
                # on registers, memory, IF, GS or CR3
                work.append((addr + 3, vk) if vk is None or addr + 3 < vk[0] + len(
                    prog.site_choices(vk[0])[vk[1]][0]) else (addr + 3, None))
                continue
            if ci is None or prefixed_system_insn(bytes(ci.bytes)) or ci.mnemonic in RTM_INSNS:
                # code the walk cannot read: nothing about it is known (the
                # GS base and CR3 included: the image fixes these bytes, so
                # no assumption covers them)
                anyw("undecodable code" if ci is None else
                     f"`{bytes(ci.bytes).hex()}` at {prog.symbolize(addr)} has no model", regs=True)
                s.may_change_if = s.vector = s.may_swapgs = s.may_write_cr3 = True
                break
            nxt = addr + ci.size
            fall = (nxt, vk)
            if vk is not None and nxt >= vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
                fall = (nxt, None)
            m = ci.mnemonic
            ops = ci.operands
            if vk is None and prog.has_fixup(addr):
                # a fault here runs its fixup (code and a handler the walk
                # does not read): its writes and registers are unknown
                anyw(f"an exception-table fixup at {prog.symbolize(addr)}", regs=True)
                s.may_change_if = s.vector = True
            for r in ci.regs_access()[1]:
                name = ci.reg_name(r)
                full = _GPR64.get(name, name)
                regs_written.add(full)
            if "rsp" in {_GPR64.get(ci.reg_name(r), ci.reg_name(r)) for r in ci.regs_access()[1]} and not (
                    (m in ("push", "pop", "call", "ret", "leave", "pushfq", "popfq", "pushf", "popf") and not (
                        m == "pop" and ops and ops[0].type == capstone.x86.X86_OP_REG
                        and ops[0].reg == capstone.x86.X86_REG_RSP))
                    or (m in ("add", "sub", "and") and len(ops) == 2 and ops[1].type == capstone.x86.X86_OP_IMM)
                    or (m == "lea" and ops[1].mem.base == capstone.x86.X86_REG_RSP)):
                # RSP loaded from data (a stack switch, `mov %rbp,%rsp`):
                # the pushes and calls after it store where the summary does
                # not know, pt_regs included (ENTER_IRQ_STACK's `mov %rdi,
                # %rsp; push %rax`)
                anyw(f"RSP loaded from data at {prog.symbolize(addr)}")
            # capstone omits some implicit destinations (cmpxchg's RAX,
            # xlatb's AL, rdpkru's EAX/EDX): a table adds them
            regs_written.update(_IMPLICIT_WRITES.get(m.split(" ")[-1], ()))
            if m.split(" ")[-1] in _UNKNOWN_REGS or m.startswith(("retf", "lret", "ljmp", "lcall", "iret")) \
                    or (m in ("jmp", "call") and ci.op_str.startswith(("far", "ptr"))):
                # a far transfer, a hypercall: control or registers leave the
                # code the summary reads
                anyw(f"`{m}` at {prog.symbolize(addr)}", regs=True)
                s.may_change_if = s.vector = True
                if full.startswith(("xmm", "ymm", "zmm", "st(", "mm", "k")):
                    s.vector = True
            tgt = None
            if (ci.group(capstone.CS_GRP_JUMP) or ci.group(capstone.CS_GRP_CALL)) and len(ops) == 1 \
                    and ops[0].type == capstone.x86.X86_OP_IMM:
                tgt = ops[0].imm & 0xFFFFFFFFFFFFFFFF
            if any(op.type == capstone.x86.X86_OP_MEM and op.mem.segment == capstone.x86.X86_REG_GS for op in ops):
                s.gs_access = True
            if m in ("swapgs", "wrgsbase") or m == "lgs" or any(ci.reg_name(r) == "gs"
                                                             for r in ci.regs_access()[1]):
                # (a %gs selector load reloads the GS base from a descriptor)
                s.may_swapgs = True
            if m == "wrmsr":
                wrmsrs.append((addr, vk))
            # what the instruction does to ECX on its fall-through (the
            # wrmsr check below reads it back)
            if ci.group(capstone.CS_GRP_JUMP) or ci.group(capstone.CS_GRP_CALL) or m.startswith(("ret", "loop")):
                ecx_eff = ("clobber",)  # (a call's callee may write RCX)
            elif m == "mov" and len(ops) == 2 and ops[0].type == capstone.x86.X86_OP_REG and \
                    ops[0].reg in (capstone.x86.X86_REG_ECX, capstone.x86.X86_REG_RCX) and \
                    ops[1].type == capstone.x86.X86_OP_IMM:
                ecx_eff = ("imm", ops[1].imm & 0xFFFFFFFF)
            elif "rcx" in {_GPR64.get(ci.reg_name(r), ci.reg_name(r)) for r in ci.regs_access()[1]}:
                ecx_eff = ("clobber",)
            else:
                ecx_eff = ("keep",)
            fall_pred.setdefault(fall, []).append(((addr, vk), ecx_eff))
            if m == "mov" and ci.op_str.startswith("cr3"):
                s.may_write_cr3 = True
            for k, op in enumerate(ops):
                if op.type == capstone.x86.X86_OP_MEM and machine.memory_written(
                        m, k, bool(op.access & capstone.CS_AC_WRITE)):
                    mem = op.mem
                    if mem.index != 0:
                        anyw(f"a store through an indexed address at {prog.symbolize(addr)}")
                    elif mem.segment == capstone.x86.X86_REG_GS and mem.base in (0, capstone.x86.X86_REG_RIP):
                        off = mem.disp + (nxt if mem.base else 0)
                        writes.add(((machine.PERCPU_BASE + off) & 0xFFFFFFFFFFFFFFFF, op.size))
                    elif mem.segment == 0 and mem.base == capstone.x86.X86_REG_RIP:
                        writes.add(((nxt + mem.disp) & 0xFFFFFFFFFFFFFFFF, op.size))
                    elif mem.segment == 0 and mem.base == 0:
                        writes.add((mem.disp & 0xFFFFFFFFFFFFFFFF, op.size))
                    else:
                        anyw(f"a store through a pointer at {prog.symbolize(addr)}")
            if m.split(" ")[-1] in machine.IMPLICIT_MEMORY_STORES:
                anyw(f"`{m}` stores at an address in a register at {prog.symbolize(addr)}")
            if m.startswith("rep") or m in ("stosb", "stosw", "stosd", "stosq", "movsb", "movsw", "movsd", "movsq") \
                    or m.startswith("xsave") or m.startswith("fxsave"):
                anyw(f"a string or state store at {prog.symbolize(addr)}")
            if m in ("sti", "popf", "popfq") or m.startswith("iret"):
                s.may_change_if = True
            if m == "cli":
                s.may_clear_if = True
            if m.startswith("xrstor") or m.startswith("fxrstor"):
                s.vector = True
            if m.startswith("sysret") or m == "swapgs" or m.startswith("iret") or m in ("wrgsbase", "syscall"):
                anyw(f"`{m}` at {prog.symbolize(addr)}")
                s.may_change_if = True
            if m == "call":
                if tgt is None:
                    anyw(f"an indirect call at {prog.symbolize(addr)}", regs=True)
                    s.may_change_if = s.vector = True
                else:
                    sub = self._direct(tgt)
                    if sub is not None:
                        return sub
                    funcs.add(tgt)
                    work.append(target_node(prog, tgt, vk))
                    work_targets.add(target_node(prog, tgt, vk))
                work.append(fall)
                continue
            if m == "jmp":
                if tgt is None:
                    anyw(f"an indirect jump at {prog.symbolize(addr)}", regs=True)
                    s.may_change_if = s.vector = True
                elif prog.is_return_thunk(tgt):
                    pass
                else:
                    sub = self._direct(tgt)
                    if sub is not None:
                        return sub
                    funcs.add(tgt)
                    work.append(target_node(prog, tgt, vk))
                    work_targets.add(target_node(prog, tgt, vk))
                continue
            if tgt is not None:  # jcc, loop*
                work.append(target_node(prog, tgt, vk))
                work_targets.add(target_node(prog, tgt, vk))
            if m.startswith(("ret", "sysret")):
                continue  # no fall-through (a ud2 may resume: its fall-through is read)
            work.append(fall)
        if any(self._msr_of(w, fall_pred, work_targets) in (None, *GS_BASE_MSRS) for w in wrmsrs):
            # ECX may be MSR_GS_BASE or MSR_KERNEL_GS_BASE: the GS base at
            # the return, or the one the exit SWAPGS will load, is unknown
            s.may_swapgs = True
        if s.writes == "some":
            s.write_addrs = sorted(writes)
        if not regs_unknown:
            s.clobbers = tuple(r for r in CALLER_SAVED if r in regs_written)
        else:
            s.opaque = s.gs_access = True
        return s

    @staticmethod
    def _msr_of(node, fall_pred, targets, limit=16):
        """The MSR number in ECX at a wrmsr, when a straight line of
        fall-throughs leads to it from a `mov $imm, %ecx` with nothing
        writing RCX in between (native_write_msr's inlined `mov $MSR,%ecx;
        mov lo,%eax; mov hi,%edx; wrmsr`); None otherwise.  Sound: every node
        on the line has exactly one predecessor and is no jump's target, so
        every path to the wrmsr runs the whole line."""
        cur = node
        for _ in range(limit):
            preds = fall_pred.get(cur, [])
            if cur in targets or len(preds) != 1:
                return None
            cur, eff = preds[0]
            if eff[0] == "imm":
                return eff[1]
            if eff[0] == "clobber":
                return None
        return None

    def _direct(self, tgt):
        """A direct call inside the closure whose target is itself unknown at run
        time: the whole summary is that of an unknown call."""
        name = self.program.start_name(tgt)
        if tgt in self.program.dispatch:
            return Summary("summary", "any", may_change_if=True, vector=True, reaches_dispatch=True,
                           why="reaches the syscall dispatch")
        if name and (name.startswith("__SCT__") or name.startswith("__x86_indirect_")):
            return Summary("summary", "any", may_change_if=True, vector=True,
                           why=f"reaches {name}, retargeted at run time")
        if name in RETURN_THUNKS:
            return None
        return None
