"""Call summaries computed from the code: what a callee may write.

A callee not followed is replaced by its may-write set, read off its code and
the code of every function it can reach by direct calls and jumps, through
every patch-site candidate (never from its name):
- registers: the caller-saved ones its code may write (every explicit and
  implicit destination capstone reports, through the whole closure; all of
  them when the closure has an unknown call or jump), so an assembly helper
  such as entry_untrain_ret or clear_bhb_loop keeps the RDI/RSI the entry
  code set before calling it; the arithmetic flags are always unknown;
  callee-saved registers and RSP are kept (assumption abi-callee-saved;
  for RSP and the return checked on the code read: StackWalk);
- memory: the exact %gs-relative and absolute addresses its stores name when
  every store names one, else "any" (all public memory, pt_regs,
  thread_info and every escaped stack range).  A store through a register
  that holds the current task pointer on every path to it (loaded from the
  per-CPU current_task slot and not written since: _holds_current) names
  its bytes in the task_struct when its offset lies within
  sizeof(struct task_struct): the task_struct is not the stack that holds
  pt_regs (assumption private-regions; the machine's TASK).  A store through a register,
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
from ..image.encoding import NEXT_FROM_STATE, is_jump, operand_size_prefixed
from .cfg import (_UNKNOWN_TO_CAPSTONE, RETURN_THUNKS, RTM_INSNS, CfgError, _md, addr32_memory, disasm_one,
                  prefixed_system_insn, target_node)
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
_ALL_GPRS = frozenset(_GPR64.values())
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
    "scasb": ("rdi",), "scasw": ("rdi",), "scasd": ("rdi",), "scasq": ("rdi",), "cmpsb": ("rsi", "rdi"),
    "cmpsw": ("rsi", "rdi"), "cmpsd": ("rsi", "rdi"), "cmpsq": ("rsi", "rdi"),
    "insb": ("rdi",), "insw": ("rdi",), "insd": ("rdi",), "outsb": ("rsi",), "outsw": ("rsi",), "outsd": ("rsi",), "syscall": ("rcx", "r11"), "loop": ("rcx",),
    "loope": ("rcx",), "loopne": ("rcx",), "rdrand": (), "rdseed": (), "xchg": (), "xadd": (),
}
# instructions after which no register can be trusted
_UNKNOWN_REGS = {"vmcall", "vmmcall", "vmlaunch", "vmresume", "int", "into", "syscall", "sysenter", "sysexit", "sysexitq",
                 "rsm", "tdcall", "enclu", "encls", "getsec", "uiret",
                 # AMD SVM (review 33b): VMRUN returns on #VMEXIT with every
                 # register but RAX/RSP the guest's and the GS base, KernelGsBase
                 # and SYSCALL MSRs not restored by the CPU (adv_r33b_vmrun_regs);
                 # VMLOAD loads those from the VMCB (adv_r33b_vmload_gs); VMSAVE
                 # stores to the address in RAX; capstone reports none of it
                 "vmrun", "vmload", "vmsave", "stgi", "clgi", "skinit", "invlpga",
                 # the rest of the 0f 01 system group with effects capstone does
                 # not report: SGX's ENCLV, PCONFIG (write RAX), VMFUNC (EPTP),
                 # VMXOFF, CLZERO (zeroes the 64 bytes at RAX)
                 "enclv", "pconfig", "vmfunc", "vmxoff", "clzero"}
# Privileged and virtualisation instructions (capstone's "privilege" and "vm"
# groups) a summary reads with the rules it has for them (IF, SWAPGS, CR3,
# MSRs, implicit registers, traps) or that leave registers and memory alone;
# every other one of those groups is taken like _UNKNOWN_REGS, so an
# instruction nobody listed (review 33b found vmrun and vmload) is never read
# as having no effect.  The list is what Debian's 6.1 and 6.12 kernels hold.
_SYSTEM_MODELLED = {"sti", "cli", "mov", "clac", "stac", "wrmsr", "wrmsrns", "rdmsr", "wbinvd", "wbnoinvd",
                    "swapgs", "rdtscp", "rdtsc", "iretq", "iret", "iretd", "hlt", "xrstors", "xrstors64", "xsaves",
                    "xsaves64", "lgdt", "lidt", "invlpg", "invpcid", "xsetbv", "ltr", "lldt", "str", "sldt", "sgdt",
                    "sidt", "rdpmc", "sysret", "sysretq", "sysretl", "clts", "in", "out", "insb", "insw",
                    "insd", "outsb", "outsw", "outsd", "lmsw", "smsw", "monitor", "mwait", "rdpid",
                    "wrgsbase", "wrfsbase", "rdgsbase", "rdfsbase"}
# (Not INVD: it discards modified cache lines, so memory may go back to
# older values, a TS_COMPAT set before the exit's clear among them:
# adv_r143_invd_status.  Read as an instruction nobody listed.)
# of those, the ones that load the GS bases or the SYSCALL MSRs from memory:
# the code is run, not summarised (syscall_msr), so no SYSRET follows
# unchecked (the explorer has no model of them: inconclusive)
_MSR_LOADERS = {"vmrun", "vmload", "skinit", "rsm"}


# instruction groups that read or write the vector, MMX or x87 registers
# (capstone's groups; some, as emms or fnsave, name none of them)
_VECTOR_GROUPS = frozenset(getattr(capstone.x86, f"X86_GRP_{g}") for g in (
    "SSE1", "SSE2", "SSE3", "SSSE3", "SSE41", "SSE42", "SSE4A", "AVX", "AVX2", "AVX512", "MMX", "FPU", "3DNOW",
    "AES", "SHA", "PCLMUL", "FMA", "FMA4", "F16C", "XOP", "CDI", "DQI", "BWI", "ERI", "PFI", "VLX"))
_VECTOR_REGS = ("xmm", "ymm", "zmm", "mm", "st", "k", "fp", "mxcsr")


def _touches_vector(ci) -> bool:
    """Whether the instruction may change a vector, MMX or x87 register (any
    one in those groups, or naming such a register: conservative)."""
    if any(g in _VECTOR_GROUPS for g in ci.groups):
        return True
    read, written = ci.regs_access()
    return any(ci.reg_name(r).startswith(_VECTOR_REGS) for r in (*read, *written))


@dataclass
class Summary:
    event_kind: str  # "summary" | "unknown-call" | "dispatch"
    writes: str = "some"  # "some": exactly write_addrs; "any"
    write_addrs: list = field(default_factory=list)  # (address, size)
    clobbers: tuple = CALLER_SAVED
    may_change_if: bool = False
    may_clear_if: bool = False  # a `cli` in its code (IF may become clear, never set)
    vector: bool = False
    # a `std`, popf or iret in its code: DF after it is unknown (code the
    # summary does not read returns with DF as it found it: the SysV ABI's
    # "DF clear on entry and return", assumption abi-callee-saved;
    # adv_r65_summary_std_df)
    may_write_df: bool = False
    # EFLAGS.AC: a `stac`, `popf` or IRET in the code read may leave it set
    # (user_access_begin() without its end; smap_restore() of a saved word);
    # a `clac` only clears it.  Code the summary does not read returns with
    # AC as it found it (objtool's uaccess validation: no function returns
    # with AC set; assumption abi-callee-saved; adv_r182_summary_stac_ac)
    may_set_ac: bool = False
    may_clear_ac: bool = False
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
    # its code may store at or above its own return address, or return
    # other than to it (a `ret` with RSP not at the entry value, `push
    # $addr; ret`, a popped return address): the summary's frame model does
    # not hold, so the explorer follows the callee or gives up (StackWalk)
    frame_unsafe: str = ""
    # registers one of its returns may leave holding a stack address it
    # made from its own RSP (`lea 8(%rsp),%rcx; ret`: StackWalk.returned):
    # the explorer gives them an address in the caller's stack at an
    # offset it does not know (adv_r76_ret_rcx_copy)
    returns_stack: frozenset = frozenset()
    # a `mov %r, %cr3` in the code read: a callee read whole is run, not
    # summarised (its CR3 write is checked as explored code's is)
    cr3_write_read: bool = False
    # a wrmsr in the code read whose ECX may be MSR_STAR, LSTAR, CSTAR,
    # SYSCALL_MASK or EFER (machine.SYSCALL_MSRS; not known counts): run, not
    # summarised, so the explorer sees ECX (adv_r17_star_msr).  The GS-base
    # MSRs are may_swapgs.
    syscall_msr: bool = False
    # a write to CR0 or CR4 in the code read (CR4: PCIDE changes what a CR3
    # value means, as the explorer's refusal says); CR0.WP may be
    # cleared, and then a store may change kernel text, which the explorer
    # always reads from the image (adv_r42_cr0_wp_text_patch_callee): run,
    # not summarised, so the explorer sees the value written
    cr0_write: bool = False
    # part of the code it may run was not read (the dispatch, an indirect or
    # static call, a retpoline, too large or undecodable code); an exception
    # fixup or far transfer makes it opaque (registers unknown) but not this:
    # the pt_regs stores of code read whole are marked (Explorer._ptregs_writer:
    # adv_r16_fixup_ptregs_kptr)
    unread: bool = True
    # its code read calls through a register or a retpoline thunk: a code
    # address a caller hands it in a register may be where that goes
    # (Explorer._call refuses it)
    indirect_call: bool = False
    # its code read makes a constant that may be a code address
    # (Program.may_be_code): what it returns or stores may be one
    # (Explorer.apply_summary marks those values, adv_r175_icall_ret_label)
    makes_code: bool = False
    # its code returns through a return thunk (assumption return-thunk: the
    # thunk's registers and memory are a `ret`'s)
    via_return_thunk: bool = False
    # its code read calls the ftrace hook (assumption ftrace-callbacks: with
    # tracing on, callbacks the image does not fix run there)
    via_ftrace: bool = False
    # why writes is "any": read_any when the code read may itself store
    # where the summary cannot name (a store through a pointer, a string
    # store, RSP loaded from data, ...); fault_havoc when a fault of one of
    # its instructions runs an exception handler of a modelled type
    # (Program.fixup_paths): that handler is kernel code the walk does not
    # read (assumption exception-fixup-handlers).  A summary whose writes
    # are "any" only through fault_havoc gets no pt_regs marks
    # (Explorer._ptregs_writer); one whose code read stores through a
    # pointer still does (adv_r16_fixup_ptregs_kptr)
    read_any: bool = False
    fault_havoc: bool = False
    # some of write_addrs are the current task's bytes, reached through the
    # current task pointer its code loads (_holds_current): true only where
    # the current_task slot holds the task when it is called (the explorer
    # checks)
    via_current: bool = False

    def describe(self, name, target) -> str:
        who = name or (f"{target:#x}" if target is not None else "an unknown function")
        if self.event_kind == "dispatch":
            return f"{who} (the syscall: everything it may write is arbitrary)"
        if self.event_kind == "unknown-call":
            return f"{who} (target unknown: {self.why})"
        return f"{who} (summarised: {self.why})"


# MSR_GS_BASE, MSR_KERNEL_GS_BASE (SDM vol. 4; msr-index.h)
GS_BASE_MSRS = (0xC0000101, 0xC0000102)
# the other MSRs SYSRET or the next SYSCALL consume
OTHER_SYSCALL_MSRS = tuple(m for m in machine.SYSCALL_MSRS if m not in GS_BASE_MSRS)


class Summaries:
    def __init__(self, program):
        self.program = program
        self._cache: dict = {}
        self.ts = TsCompatEffects(program)
        self._irq = None

    def if_effect(self, target, name, off: bool = False):
        """IF at the callee's return (irqflag.py): a set over 0, 1, "E" and
        the argument registers' bit 9, or None (unknown); the call sites
        in its closure where assumption irq-flag-preserved was used; and
        whether the call itself keeps IF under irqs-off-callees.  off: the
        call is made with IF exactly 0 (IrqFlagEffects.effect_off).  Only
        for a callee the image fixes (readable, not the dispatch)."""
        if not self.readable(target, name):
            return None, frozenset(), False
        if self._irq is None:
            from .irqflag import IrqFlagEffects  # noqa: PLC0415
            self._irq = IrqFlagEffects(self.program, _md, _GPR64)
        if off:
            return self._irq.effect_off(target)
        return (*self._irq.effect(target), False)

    def readable(self, target, name) -> bool:
        """Whether the callee is fixed by the image (its summary is read
        from its code), as opposed to unknown at analysis time."""
        return not (target is None or target in self.program.dispatch or self.program.runtime_target(target))

    def may_return_elsewhere(self, callees) -> bool:
        """Whether a callee the static SYSRET walk took to return to the next
        instruction (cfg.static_sysret_sites' `calls`) may return elsewhere:
        its stack walk finds a store at or above its return address or a
        `ret` at another RSP (Summary.frame_unsafe: `addq $1,(%rsp); ret`,
        adv_r66_la57_call_skips_walk).  One the summary cannot read returns
        home under abi-callee-saved."""
        return any(self.writes_of(t, self.program.start_name(t)).frame_unsafe for t in sorted(callees))

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
        if prog.static_call_tramp(target):
            # static calls are retargeted at run time: the on-disk target is
            # not the callee (a trampoline by its bytes too: other code under
            # the name is read, Program.static_call_tramp)
            if any(n.startswith("__SCT__tp_func_") for n in prog.symbols.names_at(target)) and \
                    all(n.startswith("__SCT__tp_func_") for n in prog.symbols.names_at(target) if n.startswith("__SCT__")):
                return Summary("unknown-call", "any", keeps_user_state=True, vector=True,
                               assumption="tracepoint-probes-preserve-user-state", why="a tracepoint static call")
            return Summary("unknown-call", "any", vector=True, assumption="irq-flag-preserved",
                           why="a static call, retargeted at run time")
        if prog.thunk_register(target) is not None:
            return Summary("unknown-call", "any", vector=True, assumption="irq-flag-preserved",
                           why="an indirect call through a retpoline thunk")
        hit = self._cache.get(target)
        if hit is None:
            hit = self._compute(target)
            self._cache[target] = hit
        return hit

    def _compute(self, start: int) -> Summary:
        prog = self.program
        task_size = prog.layout.task_size.value if prog.layout.task_size is not None else None
        s = Summary("summary", "some", [], why="its code writes only named per-CPU/global addresses",
                    gs_access=False, opaque=False, unread=False)
        writes = set()
        regs_written: set[str] = set()
        regs_unknown = False
        funcs, work, seen = {start}, [(start, None, start)], set()
        # wrmsr nodes; node -> [(predecessor, its ECX effect)] over
        # fall-through edges; nodes entered otherwise (the start: ECX is the
        # caller's; jump and call targets)
        wrmsrs: list = []
        fall_pred: dict = {}
        work_targets: set = {(start, None)}
        # for stores through the current task pointer (current_writes):
        # node -> [(predecessor, the GPRs written on that edge, the GPR it
        # loads `current` into or None)] over the edges read within a frame;
        # the nodes a frame starts at (call targets); the stores deferred
        frame_preds: dict = {}
        frame_entries: set = {(start, None)}
        task_stores: list = []
        n = 0
        md = _md()
        stack = StackWalk(prog, start)
        stk = {(start, None, start): stack.ENTRY}

        def go(node, frame, state, lift=True):
            """Queue node, in frame, with the stack state it is reached with
            (met with two states, it is read again with their merge)."""
            if lift:
                for n2, f2, st2 in stack.lift(node, frame, state):
                    go(n2, f2, st2, lift=False)
                return
            key = (*node, frame)
            old = stk.get(key)
            if old is None:
                stk[key] = state
            elif old != state:
                new = stack.merge(old, state)
                if new == old:
                    return
                stk[key] = new
                seen.discard(key)
            work.append(key)

        def go_all(succs):
            for n2, f2, st2 in succs:
                go(n2, f2, st2)

        def anyw(why, regs=False, unread=False):
            nonlocal regs_unknown
            s.writes = "any"
            s.why = why
            s.read_any = True
            regs_unknown = regs_unknown or regs
            s.unread = s.unread or unread

        def thunk_effects():
            """The return thunks' GS base and CR3 effects (their memory and
            registers are a `ret`'s: assumption return-thunk)."""
            s.via_return_thunk = True
            if self._cache.get("return-thunks-active"):
                return  # (reading the thunks themselves)
            te = self.return_thunks()
            s.gs_access = s.gs_access or te.gs_access
            s.may_swapgs = s.may_swapgs or te.may_swapgs
            s.may_write_cr3 = s.may_write_cr3 or te.may_write_cr3

        def msrs_written() -> set:
            """The MSR number at each wrmsr read (None: not known)."""
            return {self._msr_of(w, fall_pred, work_targets) for w in wrmsrs}

        def partial(sub):
            """The closure reaches code fixed only at run time (the
            dispatch, a static call, a retpoline thunk): its summary is
            sub's, with what the code read so far showed kept (a SWAPGS, a
            CR3 write, a stack-discipline breach: adv_r15_swapgs_tracepoint;
            not its stores: known gap adv_r15_kptr_tracepoint)."""
            msrs = msrs_written()
            sub.may_swapgs = sub.may_swapgs or s.may_swapgs or bool(msrs & {None, *GS_BASE_MSRS})
            sub.may_write_cr3 = sub.may_write_cr3 or s.may_write_cr3
            sub.cr3_write_read = s.cr3_write_read
            sub.syscall_msr = sub.syscall_msr or bool(msrs & {None, *OTHER_SYSCALL_MSRS})
            sub.cr0_write = sub.cr0_write or s.cr0_write
            sub.frame_unsafe = stack.why
            sub.indirect_call = sub.indirect_call or bool(icalls)
            sub.makes_code = sub.makes_code or bool(code_made)
            sub.gs_access = sub.gs_access or s.gs_access
            sub.via_return_thunk = s.via_return_thunk
            sub.via_ftrace = sub.via_ftrace or s.via_ftrace
            # a `std` read before the run-time call: DF may be set at the
            # return whatever the unknown callee does (`std; call
            # __SCT__tp_func_x; ret`, adv_r140_std_before_sct)
            sub.may_write_df = sub.may_write_df or s.may_write_df
            sub.may_set_ac = sub.may_set_ac or s.may_set_ac
            sub.may_clear_ac = sub.may_clear_ac or s.may_clear_ac
            sub.may_clear_if = sub.may_clear_if or s.may_clear_if
            return sub

        # An indirect call goes where a register says: a function the image
        # cannot name (a pointer from data: assumption abi-callee-saved), or
        # code the walk read making the address itself (`lea 1f(%rip),%rax;
        # cmovnz ...; call *%rax` into a label of its own that rewrites its
        # return slot, adv_r171_icall_own_label_skip, through a retpoline
        # thunk adv_r171_icall_thunk_own_label_skip).  The second is image
        # code no frame rule was checked on: a closure that both makes a
        # code address (a RIP-relative `lea` or an immediate into an
        # executable section, _makes_code_address) and calls through a
        # register is run, not summarised (the explorer sees the address;
        # Explorer._computed_call).  Not caught: an address handed in by a
        # caller or through memory (abi-callee-saved names those).
        code_made: list = []
        icalls: list = []

        def computed_call():
            if code_made and icalls:
                stack.bad(f"an indirect call at {prog.symbolize(icalls[0])} in code that makes a code address "
                          f"({prog.symbolize(code_made[0])}): where it goes is not read")

        while work:
            key = work.pop()
            if key in seen:
                continue
            seen.add(key)
            addr, vk, frame = key
            here = stk[key]
            n += 1
            if n > MAX_INSNS or len(funcs) > MAX_FUNCTIONS:
                anyw("too large to summarise", regs=True, unread=True)
                # code the image fixes but this walk did not finish reading:
                # no assumption covers it, so what it does to the GS base
                # and CR3 is unknown (assumption kernel-calls-keep-gs-cr3 is
                # for code the image does not fix)
                s.may_change_if = s.vector = s.may_swapgs = s.may_write_cr3 = True
                break
            try:
                if vk is None and addr in prog.sites:
                    for i, (code, label, cond) in enumerate(prog.site_choices(addr)):
                        go((addr, (addr, i)), frame, here, lift=False)
                        frame_preds.setdefault((addr, (addr, i)), []).append(((addr, vk), frozenset(), None))
                    continue
                if vk is None:
                    data = prog.fetch(addr, 16)
                else:
                    data = prog.site_choices(vk[0])[vk[1]][0][addr - vk[0]:]
            except CfgError as e:
                anyw(str(e), regs=True, unread=True)
                s.may_change_if = s.may_swapgs = s.may_write_cr3 = True
                stack.bad(f"{e}: the rest of its code is not read")  # (as for unreadable code below)
                break
            ci = disasm_one(md, data, addr)
            if prog.has_fixup(addr):
                # A fault here runs the entry's handler, then resumes at its
                # fixup.  The table names run-time addresses, so this holds
                # inside a patch site's code too (an alternative's XRSTOR
                # with EX_TYPE_FPU_RESTORE at its site: this check once
                # skipped every instruction of a site's code, which left 49
                # such instructions of Debian 6.12 not faulting).  Where the
                # handler is modelled (Program.fixup_paths) the fault path
                # is read like a branch to the fixup, with the stack as
                # before the instruction and the handler's registers
                # written; the handler's other stores are unknown.
                # Otherwise its writes and registers are unknown.  (Before
                # any instruction-specific rule: SERIALIZE's skip below
                # once came first, adv_r25_serialize_fixup.)
                paths = prog.fixup_paths(addr)
                if paths and all(fregs is not None and not moved for _f, fregs, moved in paths):
                    # every entry's handler is of a type whose effect on
                    # the faulting context Program.fixup_paths models (RIP
                    # := the fixup, the listed registers; RSP and every
                    # other register restored by the exception exit's
                    # IRET): the handler and the trap code around it are
                    # kernel code this walk does not read, so their
                    # stores are unknown ("any"), but they are not the
                    # code read storing through a pointer: assumption
                    # exception-fixup-handlers (they write no pt_regs slot
                    # of the syscall's frame with kernel data and keep the
                    # GS base and CR3), recorded where the summary is used
                    s.writes = "any"
                    s.fault_havoc = True
                    if not s.read_any:
                        s.why = f"an exception-table fixup at {prog.symbolize(addr)}"
                else:
                    anyw(f"an exception-table fixup at {prog.symbolize(addr)}",
                         regs=any(fregs is None for _f, fregs, _m in paths))
                s.may_change_if = s.vector = True
                for fixup, fregs, moved in paths:
                    regs_written.update(fregs or ())
                    frame_preds.setdefault((fixup, None), []).append(
                        ((addr, vk), frozenset(_ALL_GPRS if fregs is None else fregs), None))
                    if moved:
                        stack.bad(f"the exception-table fixup of {prog.symbolize(addr)} moves RSP")
                    # the stack walk's state as before the instruction, less
                    # the callee-saved registers the handler may write (a
                    # type not modelled: every one) and, if RBP is one, the
                    # frame pointer
                    at_d, at_bp, at_kept, at_saved, at_copies = here
                    lost = KEPT_AT_ENTRY if fregs is None else KEPT_AT_ENTRY & fregs
                    # (the fixup's code is read even where the handler is
                    # not modelled: its SWAPGS or CR3 write is the image's,
                    # adv_r25_fixup_target_swapgs)
                    go((fixup, None), frame, (at_d, None if "rbp" in lost else at_bp, at_kept - lost, at_saved,
                                              frozenset((r, None if r in lost else o) for r, o in at_copies)))
                    # a branch target: no straight line of fall-throughs
                    # runs through it (_msr_of: the fault skips the `mov
                    # $MSR, %ecx` before a wrmsr at the fixup,
                    # adv_r25_fixup_wrmsr_ecx)
                    work_targets.add((fixup, None))
            if ci is None and any(data.startswith(raw) for raw in _UNKNOWN_TO_CAPSTONE):
                # SERIALIZE (cfg._UNKNOWN_TO_CAPSTONE): no operands, no effect
                # on registers, memory, IF, GS or CR3
                after_serialize = (addr + 3, vk) if vk is None or addr + 3 < vk[0] + len(
                    prog.site_choices(vk[0])[vk[1]][0]) else (addr + 3, None)
                go(after_serialize, frame, here, lift=False)
                frame_preds.setdefault(after_serialize, []).append(((addr, vk), frozenset(), None))
                continue
            if ci is None or (prog.site_inside(addr, ci.size) if vk is None else
                              prog.rewritten_inside(addr, ci.size)) is not None or \
                    prefixed_system_insn(bytes(ci.bytes)) or ci.mnemonic in RTM_INSNS or addr32_memory(ci) or (
                    operand_size_prefixed(bytes(ci.bytes)) and (
                        is_jump(ci) or ci.group(capstone.CS_GRP_CALL)
                        or ci.group(capstone.CS_GRP_RET))):
                # code the walk cannot read: nothing about it is known (the
                # GS base and CR3 included: the image fixes these bytes, so
                # no assumption covers them).  An on-disk instruction that
                # runs into a patch site is one: its bytes past the site's
                # start are boot's choice (Program.site_inside).  A 0x66-prefixed near branch
                # is one: its length and target differ between Intel and AMD
                # (encoding.operand_size_prefixed).  So is a 32-bit memory
                # address (cfg.addr32_memory)
                anyw("undecodable code" if ci is None else
                     f"`{bytes(ci.bytes).hex()}` at {prog.symbolize(addr)} has no model", regs=True, unread=True)
                s.may_change_if = s.vector = s.may_swapgs = s.may_write_cr3 = True
                # where code the image fixes but the walk cannot read goes
                # on is not known: no frame rule is checked there (an
                # `xbegin` whose abort path rewrites the return address,
                # adv_r168_xbegin_callee_skip); abi-callee-saved names only
                # unknown callees, the size limit and run-time code
                stack.bad(f"{prog.symbolize(addr)}: the rest of its code is not read")
                break
            if vk is None and prog.is_return_thunk(addr):
                # a return thunk's code reached by a jcc or a call (a `jmp` to
                # one is a `ret`, below): boot may have put any thunk there
                # (adv_r16_jcc_return_thunk)
                thunk_effects()
            nxt = addr + ci.size
            fall = (nxt, vk)
            if vk is not None and nxt >= vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
                fall = (nxt, None)
            if vk is None and prog._thunk_size and 0x90 in ci.bytes:
                # padding call-depth tracking may fill (Program.pad_entry):
                # boot's thunk is one instruction from the padding's start
                # (a %gs counter's `sarq`); code entering it elsewhere runs
                # the thunk's bytes from the middle, which this walk does not
                # read (adv_r160_callthunk_pad_mid_jump, in explored code)
                run = prog.pad_entry(addr, ci.size)
                if run < 0:
                    anyw(f"{prog.symbolize(addr)} enters padding call-depth tracking may fill other than at its "
                         "start", regs=True, unread=True)
                    s.may_change_if = s.vector = s.may_swapgs = s.may_write_cr3 = True
                    stack.bad(f"{prog.symbolize(addr)}: the rest of its code is not read")
                    break
                if run:
                    s.gs_access = True
                    fall = (addr + run, None)
            m = ci.mnemonic
            ops = ci.operands
            insn_writes = set(_IMPLICIT_WRITES.get(m.split(" ")[-1], ()))
            for r in ci.regs_access()[1]:
                name = ci.reg_name(r)
                full = _GPR64.get(name, name)
                regs_written.add(full)
                insn_writes.add(full)
            if "rsp" in {_GPR64.get(ci.reg_name(r), ci.reg_name(r)) for r in ci.regs_access()[1]} and not (
                    (m in ("push", "pop", "call", "ret", "leave", "pushfq", "popfq", "pushf", "popf") and not (
                        m == "pop" and ops and ops[0].type == capstone.x86.X86_OP_REG
                        and _reg_key(ci.reg_name(ops[0].reg)) == "rsp"))
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
            if m in ("rdsspd", "rdsspq"):
                # capstone 5 reports no write for RDSSP's register operand
                # (the shadow-stack pointer: adv_r39_rdssp_leak)
                regs_written.update(_GPR64.get(ci.reg_name(op.reg), ci.reg_name(op.reg)) for op in ops
                                    if op.type == capstone.x86.X86_OP_REG)
                insn_writes |= _ALL_GPRS
            system = ci.group(capstone.CS_GRP_PRIVILEGE) or ci.group(capstone.x86.X86_GRP_VM)
            if m.split(" ")[-1] in _UNKNOWN_REGS or m.startswith(("retf", "lret", "ljmp", "lcall", "iret")) \
                    or (system and m.split(" ")[-1] not in _SYSTEM_MODELLED) \
                    or (m in ("jmp", "call") and ci.op_str.startswith(("far", "ptr"))):
                # a far transfer, a hypercall: control or registers leave the
                # code the summary reads
                anyw(f"`{m}` at {prog.symbolize(addr)}", regs=True)
                # the code it goes on in is fixed by the image but not read
                # (a far return to a pushed address: adv_r16_lret_body_swapgs):
                # its GS base and CR3 effects are unknown, as too large code's
                s.may_change_if = s.vector = s.may_swapgs = s.may_write_cr3 = True
                if m.startswith(("retf", "lret", "ljmp", "lcall", "uiret", "iret", "syscall", "sysenter",
                                 "sysexit")) or m in ("int", "into") or m.split(" ")[-1] in NEXT_FROM_STATE \
                        or (m in ("jmp", "call") and ci.op_str.startswith(("far", "ptr"))):
                    # where control goes on is a frame's, a far pointer's or
                    # an entry point's, not read: nothing this walk checks of
                    # the frames holds there (a continuation that writes the
                    # caller's saved registers, adv_r165_iret_cont_flags,
                    # _lret_cont_flags; a ring-0 SYSCALL into
                    # entry_SYSCALL_64, adv_r166_callee_syscall_insn); the
                    # explorer runs such a callee.  Every IRET: the
                    # iret-to-self idiom's `pushq $1f` before it says nothing
                    # of how control reaches it (a jump onto it with a user
                    # frame built, adv_r166_iret_jmp_past_self), and the walk
                    # does not pop its frame (sync_core()'s callees fail the
                    # walk's return check anyway).  A VM entry (VMLAUNCH,
                    # VMRESUME: encoding.NEXT_FROM_STATE) too: its VM exit, or
                    # its failure, goes on at the VMCS's HOST_RIP with its
                    # HOST_RSP (adv_r171_vmresume_callee_skip)
                    stack.bad(f"`{m}` at {prog.symbolize(addr)} goes on where its frame says")
                if m.split(" ")[-1] in _MSR_LOADERS:
                    s.syscall_msr = True
                if any(w.startswith(("xmm", "ymm", "zmm", "st(", "mm", "k")) for w in insn_writes):
                    # (a register it writes, not the last one the loop
                    # above named: an instruction that writes none, `invd`
                    # first in a helper, left that name unset,
                    # adv_r146_invd_after_checks)
                    s.vector = True
            tgt = None
            if (is_jump(ci) or ci.group(capstone.CS_GRP_CALL)) and len(ops) == 1 \
                    and ops[0].type == capstone.x86.X86_OP_IMM:
                tgt = ops[0].imm & 0xFFFFFFFFFFFFFFFF
            elif not (is_jump(ci) or m.startswith("loop")) and self._makes_code_address(ci, nxt):
                code_made.append(addr)
            if any(op.type == capstone.x86.X86_OP_MEM and op.mem.segment == capstone.x86.X86_REG_GS for op in ops) \
                    or 0x65 in ci.prefix:
                # (the prefix too: an implicit memory operand has no operand
                # in capstone, `gs xlatb` reads GS base + RBX + AL,
                # adv_r33b_gs_xlat)
                s.gs_access = True
            if m in ("rdgsbase", "int3", "ud2", "ud1"):
                # the GS base read, or a trap whose handler (entered from
                # CPL 0: no SWAPGS) uses %gs: a %gs access where the GS base
                # may be the user's (Explorer._trap_on_gs; adv_r77_*)
                s.gs_access = True
            if m in ("swapgs", "wrgsbase") or m == "lgs" or any(ci.reg_name(r) == "gs"
                                                             for r in ci.regs_access()[1]):
                # (a %gs selector load reloads the GS base from a descriptor)
                s.may_swapgs = True
            if m in ("wrmsr", "wrmsrns"):
                wrmsrs.append((addr, vk))
            # what the instruction does to ECX on its fall-through (the
            # wrmsr check below reads it back)
            if is_jump(ci) or ci.group(capstone.CS_GRP_CALL) or m.startswith(("ret", "loop")):
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
                s.may_write_cr3 = s.cr3_write_read = True
            if m == "mov" and ci.op_str.startswith(("cr0", "cr4")):
                s.cr0_write = True  # (CR4: adv_r44_cr4_pcide_callee)
            for k, op in enumerate(ops):
                if op.type == capstone.x86.X86_OP_MEM and machine.memory_written(
                        m, k, bool(op.access & capstone.CS_AC_WRITE)):
                    mem = op.mem
                    extent = machine.store_extent(m, op.size)
                    if extent is None:
                        anyw(f"a store of no fixed size at {prog.symbolize(addr)}")
                    elif m.split(" ")[-1] in ("bts", "btr", "btc") and len(ops) == 2 and \
                            ops[1].type == capstone.x86.X86_OP_REG:
                        # a register bit offset addresses the whole bit string
                        # around the operand (SDM BT: a signed offset), not 8 bytes
                        anyw(f"a bit-string store with a register offset at {prog.symbolize(addr)}")
                    elif mem.index != 0:
                        anyw(f"a store through an indexed address at {prog.symbolize(addr)}")
                    elif mem.segment == capstone.x86.X86_REG_GS and mem.base in (0, capstone.x86.X86_REG_RIP):
                        off = mem.disp + (nxt if mem.base else 0)
                        writes.add(((machine.PERCPU_BASE + off) & 0xFFFFFFFFFFFFFFFF, extent))
                    elif mem.segment == 0 and mem.base == capstone.x86.X86_REG_RIP:
                        writes.add(((nxt + mem.disp) & 0xFFFFFFFFFFFFFFFF, extent))
                    elif mem.segment == 0 and mem.base == 0:
                        writes.add((mem.disp & 0xFFFFFFFFFFFFFFFF, extent))
                    elif mem.segment == 0 and task_size is not None and 0 <= mem.disp and \
                            mem.disp + extent <= task_size:
                        # through a register: the current task's own bytes
                        # where the register holds `current` (decided once
                        # the walk is over: current_writes)
                        task_stores.append(((addr, vk), _reg64(ci, mem.base), mem.disp, extent))
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
            if m.startswith("xrstor") or m.startswith("fxrstor") or _touches_vector(ci):
                # (any SSE/AVX/MMX/x87 instruction, or one naming a vector
                # register: a plain `movq %gs:x,%xmm15` in a helper changes
                # what the caller keeps there, adv_r65_summary_xmm_clobber)
                s.vector = True
            if m in ("std", "popf", "popfq", "popfd") or m.startswith("iret"):
                s.may_write_df = True
            if m in ("stac", "popf", "popfq", "popfd") or m.startswith("iret"):
                s.may_set_ac = True
            if m == "clac":
                s.may_clear_ac = True
            if m.startswith("sysret") or m == "swapgs" or m.startswith("iret") or m in ("wrgsbase", "syscall",
                                                                                          "sysenter"):
                anyw(f"`{m}` at {prog.symbolize(addr)}")
                s.may_change_if = True
            if m.split(" ")[-1] in ("sysret", "sysretq", "sysretl", "sysexit", "sysexitq"):
                # a return to user mode in a callee: a SYSRET site with
                # obligations of its own, which only running it decides
                # (adv_r15_called_sysret: a noreturn stub that SYSRETs)
                stack.bad(f"`{m}` at {prog.symbolize(addr)} returns to user mode")
            # the stack: where this instruction's stores through RSP land
            # and what RSP is after it, relative to the frame's entry
            after = stack.step(ci, here, addr)
            if _reads_return_slot(ci, here):
                # a return address read back: the one a call to a local
                # label pushed (`call 772f; ...; 772: movq (%rsp),%rax`, or
                # `call 1f; 1: pop %rax`, adv_r179_icall_pushed_retaddr), or a
                # function's own (`_RET_IP_`, a get-PC helper's `movq
                # (%rsp),%rax; ret`, adv_r181_icall_retip_global,
                # _summary_getpc_icall): a code address, as a lea of a label
                # makes, in a register or wherever the closure stores it
                code_made.append(addr)
            # the edges out of it within the frame (current_writes): its
            # fall-through (after a call: the callee may write the
            # caller-saved registers) and a direct jump's target unless that
            # starts a frame (a tail call: its entry is every caller's)
            loads = self._loads_current(ci, nxt)
            if m == "call":
                insn_writes |= set(CALLER_SAVED)
                if tgt is not None:
                    frame_entries.add(target_node(prog, tgt, vk))
            edge = ((addr, vk), frozenset(insn_writes), loads)
            if not (m == "jmp" or m.startswith(("ret", "sysret", "iret", "ljmp"))):
                frame_preds.setdefault(fall, []).append(edge)
            if tgt is not None and m != "call":
                frame_preds.setdefault(target_node(prog, tgt, vk), []).append(edge)
            if m == "call":
                if tgt is None:
                    anyw(f"an indirect call at {prog.symbolize(addr)}", regs=True, unread=True)
                    s.may_change_if = s.vector = True
                    icalls.append(addr)
                    go(fall, frame, after)  # (assumption abi-callee-saved)
                else:
                    if prog.is_trace_hook(tgt):
                        s.via_ftrace = True
                    sub = self._direct(tgt)
                    if sub is not None:
                        if prog.thunk_register(tgt) is not None:
                            icalls.append(addr)  # (`call __x86_indirect_thunk_rax`: `call *%rax`)
                            computed_call()
                        return partial(sub)
                    funcs.add(tgt)
                    # its fall-through is read once the callee returns
                    # (StackWalk.call): RSB stuffing's `call 1f; int3` never does
                    go_all(stack.call(tgt, target_node(prog, tgt, vk), frame, here, fall, addr))
                    work_targets.add(target_node(prog, tgt, vk))
                continue
            if m == "jmp":
                if tgt is None:
                    anyw(f"an indirect jump at {prog.symbolize(addr)}", regs=True, unread=True)
                    s.may_change_if = s.vector = True
                    # code the walk does not read (a tail call through a
                    # pointer) returns for this frame: it is left as a `ret`
                    # leaves it (RSP at the entry, the callee-saved registers
                    # kept: adv_r16_tail_jump_rbx), and the callers'
                    # fall-throughs are read.  But where it goes may be this
                    # function's own code (a switch's jump table in .rodata,
                    # a computed target: adv_r170_jumptable_callee_skip,
                    # _computed_jmp_callee_skip), which is not read: the frame
                    # rules are not checked there, so the callee is run
                    # (abi-callee-saved names unknown callees, not image
                    # code the walk skipped)
                    stack.bad(f"an indirect jump at {prog.symbolize(addr)}: where it goes on is not read")
                    go_all(stack.ret(frame, here, addr, "an indirect jump"))
                elif prog.is_return_thunk(tgt, jump=True):
                    go_all(stack.ret(frame, here, addr))  # a `ret` (assumption return-thunk)
                    # ... through the thunk the kernel picks at boot, whose
                    # code runs too (adv_r15_call_depth_thunk)
                    thunk_effects()
                else:
                    sub = self._direct(tgt)
                    if sub is not None:
                        if prog.thunk_register(tgt) is not None:
                            # JMP_NOSPEC: a tail call through a register
                            # (adv_r173_ijmp_thunk_own_label_skip)
                            icalls.append(addr)
                            computed_call()
                        return partial(sub)
                    funcs.add(tgt)
                    go(target_node(prog, tgt, vk), frame, after)
                    work_targets.add(target_node(prog, tgt, vk))
                continue
            if tgt is not None:  # jcc, loop*
                if target_node(prog, tgt, vk)[1] is None and prog.runtime_target(tgt):
                    # a conditional tail call to a trampoline or thunk: its
                    # bytes are not what runs (adv_r131_sct_jcc_tail_summary;
                    # a patch-site variant's branch out of its site too,
                    # adv_r132_sct_jcc_in_altrepl)
                    return partial(self._direct(tgt))
                go(target_node(prog, tgt, vk), frame, after)
                work_targets.add(target_node(prog, tgt, vk))
            if m.split(" ")[-1] == "ret":
                if ops:
                    stack.bad(f"`{ci.mnemonic} {ci.op_str}` at {prog.symbolize(addr)} pops its caller's stack")
                go_all(stack.ret(frame, here, addr))
                continue
            if m.startswith(("ret", "sysret")):
                continue  # no fall-through (a ud2 may resume: its fall-through is read)
            if fall[1] is None and prog.runtime_target(fall[0]):
                # running on into a trampoline's or thunk's bytes
                # (adv_r131_sct_fallthrough_summary): as a tail call to it
                return partial(self._direct(fall[0]))
            go(fall, frame, after)
        computed_call()
        s.indirect_call = bool(icalls)
        s.makes_code = bool(code_made)
        if stack.why:
            s.frame_unsafe = stack.why
        made = stack.ret_copies.get(start, set())
        s.returns_stack = frozenset(r for r in made if r in _GPR_NAMES)
        if _ESCAPED in made and not s.frame_unsafe:
            # (its own stack address stored where the walk cannot place it,
            # and it returns: the caller, which the explorer runs, may load
            # it back from there, a value the explorer would not know for a
            # stack address; so the explorer runs this callee too and sees
            # the store, adv_r76_sp_via_global's shape one call up)
            s.frame_unsafe = "stores a stack address where the stack walk cannot place it"
        elif made - s.returns_stack - {_ESCAPED} and not s.frame_unsafe:
            # (one in a vector or debug register: the explorer runs the
            # callee instead, adv_r36_xmm_sp, adv_r65_summary_xmm_clobber)
            s.frame_unsafe = f"returns a stack address it made in {', '.join(sorted(made - s.returns_stack))}"
        # (a closure that writes the current_task slot itself may load
        # another pointer from it: adv_r57_current_slot_redirect)
        lay = prog.layout
        slot = ((machine.PERCPU_BASE if lay.percpu_gs.value else 0) + lay.current_task.value) & 0xFFFFFFFFFFFFFFFF
        slot_written = any(a < slot + 8 and slot < a + n for a, n in writes)
        for node, reg, disp, size in task_stores:
            if not slot_written and _holds_current(node, reg, frame_preds, frame_entries):
                writes.add((machine.TASK + disp, size))
                s.via_current = True
            else:
                anyw(f"a store through a pointer at {prog.symbolize(node[0])}")
        msrs = msrs_written()
        if msrs & {None, *GS_BASE_MSRS}:
            # ECX may be MSR_GS_BASE or MSR_KERNEL_GS_BASE: the GS base at
            # the return, or the one the exit SWAPGS will load, is unknown
            s.may_swapgs = True
        if msrs & {None, *OTHER_SYSCALL_MSRS}:
            s.syscall_msr = True
        if s.writes == "some":
            s.write_addrs = sorted(writes)
        if not regs_unknown:
            s.clobbers = tuple(r for r in CALLER_SAVED if r in regs_written)
        else:
            s.opaque = s.gs_access = True
        return s

    def _makes_code_address(self, ci, nxt: int) -> bool:
        """Whether the instruction (no branch) makes a constant that may be a
        code address or one arithmetic takes there (Program.may_be_code): an
        immediate, or the address a `lea` of a RIP-relative or absolute
        operand computes (`leaq .Lcase1,%rdx`, adv_r173_icall_abs_lea_label;
        `lea .Lcase1+0x40000000(%rip),%rdx; sub $0x40000000,%rdx`, in no
        section, adv_r173_icall_lea_offset_label).  A data address made
        code by arithmetic is not seen (assumption abi-callee-saved)."""
        prog = self.program
        for op in ci.operands:
            if op.type == capstone.x86.X86_OP_IMM and op.size >= 4 and prog.may_be_code(op.imm & 0xFFFFFFFFFFFFFFFF):
                return True
            if ci.mnemonic == "lea" and op.type == capstone.x86.X86_OP_MEM and (
                    prog.may_be_code(((nxt if op.mem.base == capstone.x86.X86_REG_RIP else 0) + op.mem.disp)
                                     & 0xFFFFFFFFFFFFFFFF)):
                # (with a base or index register too: `lea exit_stubs(%rax),
                # %rax` indexes a table of code, adv_r176_icall_stub_index_lea)
                return True
        return False

    def _loads_current(self, ci, nxt: int) -> str | None:
        """The 64-bit register an 8-byte `mov` loads the current task
        pointer into (from the per-CPU current_task slot: %gs-relative
        under SMP, a plain global on a uniprocessor kernel), else None."""
        ops = ci.operands
        if ci.mnemonic != "mov" or len(ops) != 2 or ops[0].type != capstone.x86.X86_OP_REG or \
                ops[0].size != 8 or ops[1].type != capstone.x86.X86_OP_MEM:
            return None
        mem = ops[1].mem
        if mem.index != 0 or mem.base not in (0, capstone.x86.X86_REG_RIP):
            return None
        at = (mem.disp + (nxt if mem.base else 0)) & 0xFFFFFFFFFFFFFFFF
        layout = self.program.layout
        want = capstone.x86.X86_REG_GS if layout.percpu_gs.value else 0
        if mem.segment != want or at != layout.current_task.value:
            return None
        return _reg64(ci, ops[0].reg)

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

    def return_thunks(self) -> Summary:
        """What the return thunks the image holds may do, together: a
        `jmp __x86_return_thunk` site is patched at boot (apply_returns) to
        a plain `ret` or a jump to the thunk the mitigation chose
        (retbleed_return_thunk, srso_return_thunk, call_depth_return_thunk,
        ...): any of them runs.  Their returns are the caller's (assumption
        return-thunk); their own effects are read here: call depth
        tracking's %gs counter, the untraining sequences."""
        hit = self._cache.get("return-thunks")
        if hit is not None:
            return hit
        out = self._cache["return-thunks"] = Summary("summary", "some", [], why="the return thunks",
                                                      gs_access=False, opaque=False)
        addrs = set()
        self._cache["return-thunks-active"] = True
        try:
            self._read_return_thunks(out, addrs)
        except BaseException:
            # (the round's SIGALRM stops any line: the half-filled summary
            # and the flag that skips the thunks' effects must not outlive
            # it, as the compat entries and later rounds share this cache;
            # review 199, as review 194's for the IF memo)
            del self._cache["return-thunks"]
            self._cache["return-thunks-active"] = False
            raise
        out.write_addrs = sorted(addrs)
        self._cache["return-thunks-active"] = False
        return out

    def _read_return_thunks(self, out: Summary, addrs: set) -> None:
        for name in RETURN_THUNKS:
            a = self.program.symbols.get(name)
            if a is None:
                continue
            t = self._compute(a)
            out.gs_access |= t.gs_access
            out.may_swapgs |= t.may_swapgs
            out.may_write_cr3 |= t.may_write_cr3
            out.may_change_if |= t.may_change_if
            out.vector |= t.vector
            out.may_write_df |= t.may_write_df
            out.may_set_ac |= t.may_set_ac
            out.may_clear_ac |= t.may_clear_ac
            out.via_current |= t.via_current
            if t.writes == "any":
                out.writes, out.why = "any", f"{name}: {t.why}"
            addrs.update(t.write_addrs)

    def _direct(self, tgt):
        """A direct call inside the closure whose target is itself unknown at run
        time: the whole summary is that of an unknown call."""
        name = self.program.start_name(tgt)
        if tgt in self.program.dispatch:
            return Summary("summary", "any", may_change_if=True, vector=True, reaches_dispatch=True,
                           why="reaches the syscall dispatch")
        if self.program.runtime_target(tgt):
            return Summary("summary", "any", may_change_if=True, vector=True,
                           why=f"reaches {name}, retargeted at run time")
        if name in RETURN_THUNKS:
            return None
        return None


_X86 = capstone.x86
_RSP, _RBP = _X86.X86_REG_RSP, _X86.X86_REG_RBP


def _reads_return_slot(ci, state) -> bool:
    """Whether the instruction reads the 8 bytes at its frame's entry RSP
    (the return address its call pushed): a `pop` there, or a load through
    RSP (or the frame pointer, where it is a known copy) that overlaps them."""
    d, bp = state[0], state[1]
    m = ci.mnemonic.split(" ")[-1]
    if m == "pop":
        return d == 0
    if m in ("lea", "nop") or m.startswith("prefetch"):
        return False  # (an address, not a read; `pushq (%rsp)` and `call *(%rsp)` do read it)
    for op in ci.operands:
        if op.type != _X86.X86_OP_MEM or op.mem.index != 0 or op.mem.segment not in _FLAT_SEGMENTS:
            continue
        base = d if op.mem.base == _RSP else bp if op.mem.base == _RBP and isinstance(bp, int) else None
        if base is None:
            continue
        lo = base + op.mem.disp
        if lo < 8 and lo + (op.size or 8) > 0 and op.access & capstone.CS_AC_READ:
            return True
    return False


class StackWalk:
    """Where a summarised closure's stores through RSP land, and whether every
    return in it is to the return address its call pushed (assumption
    abi-callee-saved, checked on the code the walk reads instead of assumed).

    The walk runs each instruction in a frame: the summarised start's, or
    that of a call's target (a function, or a label: RSB stuffing's `call
    772f`, clear_bhb_loop's `call 1f`; a call is a call whatever it calls).
    A state is (delta, rbp): RSP relative to the frame's entry RSP (where
    the call's return address is), and RBP likewise when it holds a copy of
    RSP ("in": the value it had at the frame's entry); None where two paths
    disagree or an offset is not constant.  Rules:
    - every store through RSP (push, call, an explicit `off(%rsp)`, or
      `off(%rbp)` with RBP a known copy) lands below the frame's entry RSP;
    - a `ret` (or return thunk) runs with RSP at the frame's entry: it
      returns to each caller of the frame, whose call's fall-through is then
      read in the caller's state (a call's fall-through is read only once
      its callee returns: `call 1f; int3` never does);
    - RSP above a frame's entry (the frame has dropped its return address:
      FILL_RETURN_BUFFER's `add $16,%rsp` after two `call 772f`,
      srso_safe_ret's `lea 8(%rsp),%rsp; ret`) is the same RSP in each
      calling frame: the walk goes on there.  Above the summarised start's
      entry there is no frame of its own: stores and returns there are
      refused.
    - the callee-saved registers (RBX, RBP, R12-R15) hold their values of
      the frame's entry at every `ret`: a register is kept until written,
      and a push (or a store to a known slot) of a kept register saves it,
      which a pop (or load) from that slot restores (GCC's prologues and
      epilogues, `leave`); a callee returns them kept (its own frame is
      checked the same way); a frame left by RSP above its entry keeps in
      its caller only what it kept (adv_r15_cpuid_rbx: `cpuid` in an asm
      helper writes RBX, the C checks' pt_regs pointer).
    Anything else makes the summary frame-unsafe (adv_r13_summary_stack_arg:
    the return address and the stack argument popped, a new argument pushed
    over the caller's local; adv_r13_summary_push_ret: `pushq $body; ret`):
    the explorer then runs the callee exactly or gives up.  Stores through
    other registers holding stack addresses are covered by assumption
    abi-frames, as everywhere; code past the walk's size limit by
    abi-callee-saved."""

    MAX_LIFT = 64

    def __init__(self, prog, start):
        self.prog = prog
        self.start = start
        self.ENTRY = (0, "in", KEPT_AT_ENTRY, frozenset(), frozenset())
        self.why = ""
        # frame -> [(calling frame, its state at the call, the call's fall-through node)]
        self.contexts: dict = {}
        self.returns: set = set()
        # frame -> [(node, state)] reached with RSP above the frame's entry
        self.above: dict = {}
        # frame -> RAX/RDX where one of its returns left a stack address (returned)
        self.ret_copies: dict = {}

    def bad(self, why: str):
        if not self.why:
            self.why = why

    @staticmethod
    def merge(a, b):
        """(offsets equal or unknown; registers kept and slots saved on both;
        a register that holds a stack address on either side may hold one,
        at the offset both agree on, else at one not known)"""
        ca, cb = dict(a[4]), dict(b[4])
        copies = frozenset((r, ca.get(r) if ca.get(r) == cb.get(r) else None) for r in ca.keys() | cb.keys())
        return (a[0] if a[0] == b[0] else None, a[1] if a[1] == b[1] else None, a[2] & b[2], a[3] & b[3], copies)

    def _store(self, d, lo, size, addr, how):
        """A store of size bytes at frame offset lo (None: unknown)."""
        if d is None or lo is None:
            self.bad(f"{how} at {self.prog.symbolize(addr)} stores where the stack walk cannot place it")
        elif lo + size > 0:
            self.bad(f"{how} at {self.prog.symbolize(addr)} stores at or above its return address")

    def _pushed(self, state, size, addr, how="a push", reg=None):
        """The state after size bytes are pushed (reg: a register pushed, saved
        if kept)."""
        d, bp, kept, saved, copies = state
        self._store(d, None if d is None else d - size, size, addr, how)
        nd = None if d is None else d - size
        saved = _overwritten(saved, nd, size)
        if reg in kept and nd is not None and size == 8:
            saved = saved | {(nd, reg)}
        return (nd, bp, kept, saved, copies)

    def call(self, tgt, entry_node, frame, state, fall, addr) -> list:
        """A direct call: the target's entry in its own frame, and the
        fall-through in this one if the target returns."""
        self._pushed(state, 8, addr, "a call")
        # (the callee's frame is below RSP: no slot there survives the call)
        d = state[0]
        entry = self.ENTRY
        if self.prog.start_name(tgt) is None:
            # a call to a local label (RSB stuffing's `call 1f`, a retpoline):
            # the same code goes on with the same registers, and the stack
            # addresses in them come back to this frame when RSP is lifted
            # above the label's (adv_r45_lift_drops_copy)
            base = None if d is None else d - 8
            entry = (*self.ENTRY[:4], frozenset((r, None if o is None or base is None else o - base)
                                                for r, o in state[4] if isinstance(r, str)))
        # (a caller-saved register may still hold its stack address after
        # the call, though the ABI lets the callee clobber it: the paravirt
        # callee-save ABI keeps RDI; offset kept unknown,
        # adv_r44_calleesave_abi_copy)
        copies = {x if x[0] in KEPT_AT_ENTRY or isinstance(x[0], tuple) else (x[0], None) for x in state[4]
                  if not isinstance(x[0], tuple) or d is not None and x[0][1] >= d}
        if any(isinstance(x[0], str) or d is None or x[0][1] >= d for x in state[4]):
            # a callee that can see a stack address in any register (an
            # argument, or the frame pointer) or in a slot at or above RSP
            # (a stack argument: adv_r45_stackarg_ret_copy) may return it
            # (memset's RAX, adv_r43_memset_ret_copy): somewhere in the frame.  A stack
            # address the callee made itself comes back through returned()
            # (adv_r44_callee_frame_addr)
            copies |= {("rax", None), ("rdx", None)}
        state = (*state[:3], frozenset(x for x in state[3] if d is not None and x[0] >= d), frozenset(copies))
        out = [(entry_node, tgt, entry)]
        ctx = (frame, state, fall)
        ctxs = self.contexts.setdefault(tgt, [])
        if ctx not in ctxs:
            ctxs.append(ctx)
            if tgt in self.returns:
                out.append((fall, frame, self._with_returned(state, tgt)))
            for node, st in self.above.get(tgt, ()):
                out += self._into(node, st, ctx, 0)
        return out

    def ret(self, frame, state, addr, what="a return") -> list:
        d = state[0]
        if d != 0:
            self.bad(f"{what} at {self.prog.symbolize(addr)} with RSP "
                     f"{'unknown' if d is None else f'{d:+#x}'} from its frame's entry: not to its return address")
            return []
        lost = [r for r in KEPT_AT_ENTRY if r not in state[2]]
        if lost:
            self.bad(f"{what} at {self.prog.symbolize(addr)} may leave callee-saved "
                     f"{', '.join(r.upper() for r in sorted(lost))} changed")
            return []
        return self.returned(frame, state)

    def returned(self, frame, state=None) -> list:
        """The frame returns: each of its calls' fall-through, in its caller.
        A stack address the frame leaves in a register at a return (one it
        made itself, `lea 8(%rsp),%rax; ret`, the shape of a
        current_stack_pointer helper: adv_r44_callee_frame_addr) is one in
        the caller too, somewhere in its frame: the returned copies of every
        return so far go with each fall-through."""
        self.returns.add(frame)
        made = self.ret_copies.setdefault(frame, set())
        if state is not None:
            # (any register but the callee-saved ones, which the walk checks
            # hold their entry values: `lea 8(%rsp),%rcx; ret` hands one
            # back in RCX, adv_r76_ret_rcx_copy)
            made |= {r for r, _o in state[4] if isinstance(r, str) and r not in KEPT_AT_ENTRY and r != "rsp"}
        return [(fall, f, self._with_returned(st, frame)) for f, st, fall in self.contexts.get(frame, ())]

    def _with_returned(self, state, frame):
        made = self.ret_copies.get(frame)
        if not made:
            return state
        return (*state[:4], frozenset({x for x in state[4] if x[0] not in made} | {(r, None) for r in made}))

    def lift(self, node, frame, state, depth=0) -> list:
        """(node, frame, state) as the walk goes on with it: in the calling
        frames when RSP is above this frame's entry."""
        d = state[0]
        if d is None or d <= 0 or frame == self.start:
            return [(node, frame, state)]
        if depth > self.MAX_LIFT:
            self.bad(f"RSP above its frame at {self.prog.symbolize(node[0])} through too many frames")
            return []
        self.above.setdefault(frame, []).append((node, state))
        out = []
        for ctx in self.contexts.get(frame, ()):
            out += self._into(node, state, ctx, depth)
        return out

    def _into(self, node, state, ctx, depth) -> list:
        d, bp, kept, _saved, copies = state
        g, (dg, bpg, kept_g, saved_g, copies_g), _ = ctx
        # the frame's entry RSP is the caller's RSP at the call minus 8
        nd = None if dg is None else dg - 8 + d
        nbp = bpg if bp == "in" else None if bp is None or dg is None else dg - 8 + bp
        # what the frame kept is the caller's; its slots at and above the
        # call's RSP stay (no store lands above a frame's entry)
        nsaved = frozenset(x for x in saved_g if dg is not None and x[0] >= dg)
        # stack addresses: the callee's copies, moved to the caller's
        # offsets, and the caller's in registers the callee kept
        ncopies = {r: None if o is None or dg is None else dg - 8 + o for r, o in copies if isinstance(r, str)}
        for r, o in copies_g:
            if (r in kept and r not in ncopies) or isinstance(r, tuple) and dg is not None and r[1] >= dg:
                ncopies[r] = o
        return self.lift(node, g, (nd, nbp, kept_g & kept, nsaved, frozenset(ncopies.items())), depth + 1)

    def step(self, ci, state, addr):
        """The state after ci (for its fall-through and branch targets),
        checking its stores through RSP or a frame pointer."""
        d, bp, kept, saved, copies = state
        m = ci.mnemonic.split(" ")[-1]
        ops = ci.operands
        # (a 66 prefix makes a push or pop 2 bytes, unless REX.W overrides
        # it: `66 48 50` pushes 8, review 34)
        size = 2 if 0x66 in ci.prefix and not (ci.rex & 0x8) else 8
        written = set(ci.regs_access()[1])
        # by 64-bit register: `xor $8,%spl` moves RSP, `xor $8,%bpl` the
        # frame pointer (capstone's ids of SPL and BPL are not RSP's and
        # RBP's: adv_r34_spl_xor, _bpl_xor)
        written_64 = {_reg_key(ci.reg_name(r)) for r in written}
        restored = None  # a callee-saved register loaded back from its slot
        laundered = None  # a register loaded from another one's save slot
        if m in ("push", "pushf", "pushfq", "pushfw"):
            reg = _reg64(ci, ops[0].reg) if m == "push" and ops and \
                ops[0].type == _X86.X86_OP_REG else None
            d, bp, kept, saved, copies = self._pushed(state, size, addr, reg=reg)
        elif m == "call":
            if not (ops and ops[0].type == _X86.X86_OP_IMM):
                self._pushed(state, 8, addr, "an indirect call")
            # the callee's frame is below RSP: slots there are its
            saved = frozenset(x for x in saved if d is not None and x[0] >= d)
        elif m in ("pop", "popf", "popfq", "popfw"):
            if m == "pop" and ops and ops[0].type == _X86.X86_OP_REG and d is not None and size == 8:
                r = _reg64(ci, ops[0].reg)
                if (d, r) in saved:
                    restored = r
                elif any(o == d for o, _x in saved):
                    laundered = r
            d = None if d is None else d + size
        elif m == "enter":
            self._pushed(state, 8, addr, "an enter")
            d = bp = None
        # explicit memory destinations based on RSP or the frame pointer
        for k, op in enumerate(ops):
            if op.type != _X86.X86_OP_MEM or not machine.memory_written(
                    ci.mnemonic, k, bool(op.access & capstone.CS_AC_WRITE)):
                continue
            mem = op.mem
            # (capstone gives fnsave 4 bytes and fxsave/xsave 8: their
            # images are larger, an XSAVE one of no fixed size,
            # adv_r45_fnsave_extent)
            size = machine.STATE_SAVE_BYTES.get(m, op.size or 8)
            if mem.segment not in _FLAT_SEGMENTS and (mem.base in (_RSP, _RBP) or mem.index in (_RSP, _RBP)):
                # `movq %rbx,%fs:(%rsp)`: FS base + RSP, where the user's FS
                # base (possibly 0) puts it: no save, and it may land
                # anywhere in the frame (adv_r76_segsave_rbx)
                self._store(None, None, size or 8, addr, f"`{ci.mnemonic} {ci.op_str}`")
                saved = frozenset()
            elif mem.base == _RSP or (mem.base == _RBP and isinstance(bp, int)):
                # (a pop to memory computes its address with RSP already
                # incremented: d is the state after the pop, SDM POP)
                base = d if mem.base == _RSP else bp
                lo = None if base is None or mem.index != 0 or size is None else base + mem.disp
                self._store(base, lo, size or 8, addr, f"`{ci.mnemonic} {ci.op_str}`")
                saved = _overwritten(saved, lo, size or 8)
                if m == "mov" and lo is not None and op.size == 8 and ops[1].type == _X86.X86_OP_REG and \
                        _reg64(ci, ops[1].reg) in kept:
                    saved = saved | {(lo, _reg64(ci, ops[1].reg))}
            elif (mem.base == _RBP or mem.index == _RBP) and bp == "in" and "rbp" in kept:
                # through RBP's entry value: the caller's frame pointer when
                # it keeps one (8(%rbp) its return address:
                # adv_r95_entry_rbp_retslot_sti); compiled code never
                # stores through a callee-saved register's entry value
                self.bad(f"`{ci.mnemonic} {ci.op_str}` at {self.prog.symbolize(addr)} stores through RBP's entry "
                         "value (the caller's frame)")
                saved = frozenset()
            elif any(r != 0 and r not in (_RSP, _RBP) and _reg64(ci, r) in kept for r in (mem.base, mem.index)):
                # through another callee-saved register's entry value (RBX,
                # R12-R15): whatever the caller keeps there, maybe an
                # address in its frame (adv_r110_plant_own_ret_rbx: its
                # return slot); compiled code never stores through one
                self.bad(f"`{ci.mnemonic} {ci.op_str}` at {self.prog.symbolize(addr)} stores through a "
                         "callee-saved register's entry value (the caller's)")
                saved = frozenset()
            elif mem.index == _RBP and isinstance(bp, int):
                # the frame pointer as the index (`mov %rax,8(%rcx,%rbp,1)`
                # with RCX = 0, adv_r35_ret_index_rbp): somewhere in the frame
                self._store(bp, None, op.size or 8, addr, f"`{ci.mnemonic} {ci.op_str}`")
                saved = frozenset()
            elif mem.base != 0 and _reg64(ci, mem.base) in dict(copies) or \
                    mem.index != 0 and _reg64(ci, mem.index) in dict(copies):
                # through a register that holds a stack address (`mov
                # %rsp,%rax; mov %rdx,16(%rax)`, a local array's address):
                # placed like a store through RSP where its offset is known,
                # else it may hit any slot of the frame
                # (adv_r42_saved_rbx_overflow)
                off = dict(copies).get(_reg64(ci, mem.base)) if mem.base != 0 else None
                if m in _STRING_STORES and any(p in (0xF2, 0xF3) for p in ci.prefix):
                    # `rep stos` into a local (`struct ksignal ksig = {}`):
                    # its extent is RCX, which the walk does not follow;
                    # clearing the saved slots here made every such
                    # function (send_signal_locked, arch_do_signal_or_restart)
                    # frame-unsafe, so a string store through a stack
                    # address stays within its object: assumption abi-frames
                    pass
                elif off is not None and mem.index == 0 and size is not None:
                    # (a single `stosq` too: it writes at RDI whatever DF
                    # says, adv_r45_stosq_saved_slot)
                    lo = off + mem.disp
                    self._store(off, lo, size, addr, f"`{ci.mnemonic} {ci.op_str}`")
                    saved = _overwritten(saved, lo, size)
                else:
                    # at an offset not known: it may land at or above the
                    # return address, in a caller's saved slot
                    # (adv_r48_ptr_align_iv: PTR_ALIGN of a local buffer)
                    self._store(None, None, size or 8, addr, f"`{ci.mnemonic} {ci.op_str}`")
                    saved = frozenset()
        if m in machine.IMPLICIT_MEMORY_STORES:
            saved = self._implicit_store(ci, m, ops, d, bp, copies, saved, addr)
        if m == "mov" and len(ops) == 2 and ops[0].type == _X86.X86_OP_REG and ops[1].type == _X86.X86_OP_MEM \
                and ops[0].size == 8 and ops[1].mem.index == 0:
            mem = ops[1].mem
            base = d if mem.base == _RSP else bp if mem.base == _RBP and isinstance(bp, int) else None
            r = _reg64(ci, ops[0].reg)
            # (through the stack segment only: `movq %fs:(%rsp),%rbx` reads
            # the user's FS base plus RSP, no save: adv_r66_summary_fs_restore)
            if base is not None and mem.segment in _FLAT_SEGMENTS and (base + mem.disp, r) in saved:
                restored = r
            elif base is not None and any(o == base + mem.disp for o, _x in saved):
                laundered = r
        if "rsp" in written_64 and m not in ("push", "pushf", "pushfq", "pushfw", "pop", "popf", "popfq", "popfw",
                                             "call", "ret", "enter"):
            d = self._rsp_after(m, ops, state)
        if m == "leave":
            # RSP = RBP, then pop RBP from that slot
            if size == 2:
                # (`66 c9`: a 16-bit pop of BP, RSP = RBP + 2, RBP's upper
                # bits kept: no restore, and the frame offset is not the
                # one _rsp_after gives; review 75)
                d = None
            elif isinstance(bp, int) and (bp, "rbp") in saved:
                restored = "rbp"
            bp = None
        elif "rbp" in written_64:
            bp = d if (m == "mov" and len(ops) == 2 and ops[0].type == _X86.X86_OP_REG and ops[0].reg == _RBP
                       and ops[1].type == _X86.X86_OP_REG and ops[1].reg == _RSP) \
                else (d + ops[1].mem.disp if d is not None and m == "lea" and ops[1].mem.base == _RSP
                      and ops[1].mem.index == 0 else None)
        if m == "pop" and ops and ops[0].type == _X86.X86_OP_REG and _reg_key(ci.reg_name(ops[0].reg)) == "rsp":
            # (`popw %sp` loads RSP's low 16 bits: the frame offset is lost
            # as with `pop %rsp`, adv_r75_popw_sp_rbx)
            d = None
        # callee-saved registers written (capstone's list and the implicit
        # ones it omits: cpuid's EBX) lose their entry value, unless loaded
        # back from where it was saved
        # a slot below RSP is no save: an interrupt taken in kernel mode
        # pushes its frame there (no red zone in the kernel)
        saved = frozenset(x for x in saved if d is not None and x[0] >= d)
        # (with the implicit destinations capstone omits: a failed cmpxchg
        # loads RAX, adv_r48_cmpxchg_fail_copy)
        top = self._loads_stack_top(ci, addr + ci.size)
        copies = self._copies_after(ci, m, ops, state[0], d, bp, copies,
                                    written_64 | set(_IMPLICIT_WRITES.get(m, ())))
        if m not in ("push", "call") and written_64:
            # a value read from a callee-saved register's entry value (the
            # caller's RBX, R12-R15, or its frame pointer in RBP) into
            # another register (`mov %rbp,%rax`, `lea -8(%rbx),%rdx`, a load
            # through one): maybe an address in a caller's frame, offset not
            # known, so a store through it is one the walk cannot place
            # (adv_r110_plant_own_ret: `mov %rbp,%rax; mov %rdx,-0x28(%rax)`
            # over its own return slot).  Compiled code reads a callee-saved
            # register's entry value only to save it (push, a store to a slot)
            read_64 = {_reg_key(ci.reg_name(r)) for r in ci.regs_access()[0]}
            entry = {r for r in read_64 & kept & KEPT_AT_ENTRY if r != "rbp" or bp == "in"}
            if entry:
                more = {r for r in written_64 if r in _ALL_GPRS and r != "rsp" and r not in entry}
                if more:
                    copies = frozenset({**dict(copies), **{r: None for r in more}}.items())
        if laundered is not None and laundered in _ALL_GPRS and laundered != "rsp":
            # another register's entry value through its save slot (`push
            # %rbx; pop %rax`, a spill reloaded elsewhere:
            # adv_r111_pushpop_rbx_ret_slot): the same as a copy of it
            copies = frozenset({**dict(copies), laundered: None}.items())
        if top == "(pushed)":
            # (onto the stack, where the walk does not follow it as a stack
            # address: the frame's own slots may be written through it later)
            self.bad(f"`{ci.mnemonic} {ci.op_str}` pushes the task stack's top")
            top = None
        if top is not None:
            # the task stack's top, from its per-CPU slot: an address in this
            # stack, at an offset the walk does not know (its frames lie
            # below it: adv_r66_summary_saved_slot_alias stores the user's
            # r12 into its own saved-RBX slot at top - 208)
            copies = frozenset({**dict(copies), top: None}.items())
        if m != "call":
            hit = {_GPR64.get(ci.reg_name(r), ci.reg_name(r)) for r in written} | set(_IMPLICIT_WRITES.get(m, ()))
            hit &= KEPT_AT_ENTRY
            if hit:
                kept = kept - hit
            if restored is not None:
                kept = kept | {restored}
        return (d, bp, kept, saved, copies)

    # the address register and extent of the stores no memory operand names
    # (machine.IMPLICIT_MEMORY_STORES; "op0": the first register operand;
    # None: not placeable, clzero's line is RAX rounded down to 64)
    _IMPLICIT_STORE_AT = {"maskmovq": ("rdi", 8), "maskmovdqu": ("rdi", 16), "vmaskmovdqu": ("rdi", 16),
                          "movdir64b": ("op0", 64), "enqcmd": ("op0", 64), "enqcmds": ("op0", 64),
                          "clzero": ("rax", None)}

    def _implicit_store(self, ci, m, ops, d, bp, copies, saved, addr):
        """A store through an address in a register (`maskmovdqu`'s [RDI]:
        adv_r45_maskmov_implicit): placed like an explicit one where the
        register holds a known stack address, else it may hit any slot when
        any register it may use holds one.  -> saved after it."""
        cp = dict(copies)

        def stack_off(r):
            if r == "rsp":
                return True, d
            if r == "rbp" and isinstance(bp, int):
                return True, bp
            return (r in cp), cp.get(r)

        reg, size = self._IMPLICIT_STORE_AT.get(m, (None, None))
        if reg == "op0":
            reg = _reg64(ci, ops[0].reg) if ops and ops[0].type == _X86.X86_OP_REG else None
        if reg is not None:
            is_copy, off = stack_off(reg)
            if not is_copy:
                return saved
            if off is not None and size is not None:
                self._store(off, off, size, addr, f"`{ci.mnemonic} {ci.op_str}`")
                return _overwritten(saved, off, size)
            return frozenset()
        # (the SGX and PCONFIG leaves: addresses in RBX/RCX/RDX by leaf)
        regs = {"rax", "rbx", "rcx", "rdx"} | {_reg64(ci, op.reg) for op in ops if op.type == _X86.X86_OP_REG}
        return frozenset() if any(stack_off(r)[0] for r in regs) else saved

    @staticmethod
    def _copies_after(ci, m, ops, d0, d, bp, copies, written_64):
        """The registers other than RSP, and the frame slots, that hold a
        stack address after ci, each with its offset from the frame's entry
        RSP (None: not known).  Exact offsets come from `mov %rsp`/`lea
        off(%rsp)` (or RBP as a frame pointer, or another copy), add/sub of a
        constant, and a load of a slot holding one (`push %rsp; pop %rax`, a
        spill and reload: adv_r43_pushpop_rsp_copy, _spill_reload_copy).
        Beyond those, a value derived from a stack address is one, offset
        not known: every register an instruction writes, when a register it
        reads as a value (any width: `movl %esp,%eax`, adv_r45_split32_copy;
        `cmovnz %rsp,%rax`, adv_r43_cmov_copy; an xmm register) or a memory
        operand it reads (`add (%rsp),%rcx` of a slot holding one,
        adv_r45_addload_copy) may hold one; every slot a store may write,
        when what it stores may be one (any width, `xchg`/`xadd`/`cmpxchg`
        too: adv_r45_xchg_spill_copy); a slot partly overwritten keeps what
        is left of one (its other half may be completed by a constant).
        d0/d: RSP's offset before/after ci."""
        cp = dict(copies)
        dst = _reg64(ci, ops[0].reg) if ops and ops[0].type == _X86.X86_OP_REG and ops[0].size == 8 and \
            m not in ("push",) else None

        def base_off(reg_id, rsp=d):
            """(whether, offset) the register holds a stack address (a
            narrower part of one: offset not known)."""
            r = _reg64(ci, reg_id) if reg_id else None
            if r == "rsp":
                return True, rsp if reg_id == _RSP else None
            if r == "rbp" and isinstance(bp, int):
                return True, bp if reg_id == _RBP else None
            if r in cp:
                return True, cp[r] if ci.reg_name(reg_id) == r else None
            return False, None

        def placed(mem, rsp=d):
            """The frame offset a memory operand addresses, or None."""
            if mem.index != 0 or mem.segment not in _FLAT_SEGMENTS:
                return None
            is_copy, off = base_off(mem.base, rsp)
            return off + mem.disp if is_copy and off is not None else None

        def slots_over(lo, size):
            return [k for k in cp if isinstance(k, tuple) and (lo is None or (k[1] < lo + size and lo < k[1] + 8))]

        def forget_slots(lo, size):
            for k in slots_over(lo, size):
                if lo is not None and lo <= k[1] and k[1] + 8 <= lo + size:
                    del cp[k]
                else:
                    cp[k] = None  # (partly overwritten: the rest is still one)

        def loaded(mem, rsp=d, size=8):
            """(whether, offset) a load from mem may give a stack address: a
            placed slot holding one (exactly, or a slot overlapping it), or
            any frame address the walk cannot place while some slot holds one
            (`mov 16(%rsp,%rcx,8),%rax`, adv_r44_indexed_reload_copy)"""
            lo = placed(mem, rsp)
            if lo is not None:
                if ("slot", lo) in cp and size <= 8:
                    return True, cp[("slot", lo)]
                return bool(slots_over(lo, max(size, 8))), None
            in_frame = base_off(mem.base, rsp)[0] or (mem.index != 0 and base_off(mem.index, rsp)[0])
            if _ESCAPED in cp:
                return True, None  # (a stack address stored where the walk cannot place it may come back)
            return (in_frame and any(isinstance(k, tuple) for k in cp)), None

        def writes_mem(k, op):
            return op.type == _X86.X86_OP_MEM and machine.memory_written(ci.mnemonic, k,
                                                                         bool(op.access & capstone.CS_AC_WRITE))

        # what the instruction reads as values: its register operands (not
        # the registers of an address), and its memory operands' contents
        # (as they were before it)
        # (the implicit ones too: mulx's RDX, mul's RAX, cmpxchg's RAX,
        # adv_r48_mulx_implicit_copy; not RSP's implicit use by push, pop
        # and call, nor the registers of an address)
        addr_regs = {r for op in ops if op.type == _X86.X86_OP_MEM for r in (op.mem.base, op.mem.index) if r}
        value_regs = [op.reg for op in ops if op.type == _X86.X86_OP_REG and op.access & capstone.CS_AC_READ] + \
            [r for r in ci.regs_access()[0] if r not in addr_regs and _reg64(ci, r) not in ("rsp", "rip", "rflags")
             and not any(op.type == _X86.X86_OP_REG and op.reg == r for op in ops)]
        reads_copy = any(base_off(r, d0)[0] for r in value_regs)
        if m not in ("lea", "nop", "push", "pop") and not m.startswith(("prefetch", "clflush", "clwb", "invlpg")):
            reads_copy = reads_copy or any(op.type == _X86.X86_OP_MEM and op.access & capstone.CS_AC_READ
                                           and loaded(op.mem, d0, op.size or 8)[0] for op in ops)
        new = None
        if m == "push" and ops:
            forget_slots(d, 8)
            if ops[0].type == _X86.X86_OP_REG:
                is_copy, off = base_off(ops[0].reg, d0)  # (`push %rsp` pushes RSP as before it)
            elif ops[0].type == _X86.X86_OP_MEM:
                is_copy, off = loaded(ops[0].mem, d0)  # (`pushq 16(%rsp)`: adv_r44_pushmem_reload_copy)
            else:
                is_copy, off = False, None
            if is_copy and d is not None:
                cp[("slot", d)] = off
        elif m == "pop" and ops and ops[0].type == _X86.X86_OP_MEM:
            # `popq 40(%rsp)`: the popped word moves to a slot addressed
            # with RSP already incremented (SDM POP; adv_r48_popmem_copy)
            was = (("slot", d0) in cp, cp.get(("slot", d0))) if d0 is not None else (False, None)
            if not was[0] and d0 is not None and slots_over(d0, 8):
                was = (True, None)
            lo = placed(ops[0].mem)
            if lo is not None:
                forget_slots(lo, 8)
                if was[0]:
                    cp[("slot", lo)] = was[1]
        elif m == "pop" and ops and ops[0].type == _X86.X86_OP_REG:
            dst = _reg64(ci, ops[0].reg)
            new = loaded_slot = (("slot", d0) in cp, cp.get(("slot", d0)))
            if not loaded_slot[0] and d0 is not None and slots_over(d0, 8):
                new = (True, None)
        # stores: a slot written loses what it held; a stack address stored
        # into a placed slot is one there (at its offset for a 64-bit `mov`)
        for k, op in enumerate(ops):
            if writes_mem(k, op) and m not in ("push", "pop"):
                lo = placed(op.mem)
                exact = None
                if m == "mov" and lo is not None and op.size == 8 and len(ops) == 2 and \
                        ops[1].type == _X86.X86_OP_REG:
                    exact = base_off(ops[1].reg)
                forget_slots(lo, op.size or 8) if lo is not None else None
                if lo is None and (reads_copy or (m == "mov" and len(ops) == 2 and ops[1].type == _X86.X86_OP_REG
                                                  and base_off(ops[1].reg, d0)[0])):
                    # a stack address stored where the walk cannot place it
                    # (a global, a per-CPU slot, an object): a later load
                    # from anywhere may give it back, which the walk would
                    # not take for one (`mov %rsp,g(%rip)`, then `mov
                    # g(%rip),%rax` and a store through RAX into a caller's
                    # frame: adv_r76_sp_via_global)
                    cp[_ESCAPED] = None
                if exact is not None and exact[0]:
                    cp[("slot", lo)] = exact[1]
                elif reads_copy and lo is not None:
                    # (every word of a wide store: a stack address in a
                    # vector's upper lane, adv_r48_wide_store_lane)
                    for w in range(lo, lo + max(op.size or 8, 8), 8):
                        cp[("slot", w)] = None
        if dst is not None and dst != "rsp" and new is None:
            src = ops[1] if len(ops) == 2 else None
            if m == "mov" and src is not None and src.type == _X86.X86_OP_REG:
                new = base_off(src.reg)
            elif m == "mov" and src is not None and src.type == _X86.X86_OP_MEM and src.size == 8:
                new = loaded(src.mem)
            elif m == "lea" and src is not None:  # (LEA ignores any segment: adv_r45_lea_ss_copy)
                is_copy, off = base_off(src.mem.base)
                ix_copy, _ = base_off(src.mem.index) if src.mem.index else (False, None)
                if is_copy or ix_copy:
                    new = (True, off + src.mem.disp if is_copy and off is not None and src.mem.index == 0 else None)
            elif m in ("add", "sub") and dst in cp and src is not None and src.type == _X86.X86_OP_IMM:
                o = cp[dst]
                new = (True, None if o is None else o + src.imm if m == "add" else o - src.imm)
            elif reads_copy:
                # a stack address among the values read (or kept in the
                # destination: `and`, `cmov` not taken): still one, somewhere
                new = (True, None)
        for r in written_64:
            if r in ("rsp", "rflags", "rip") or r == dst:
                continue
            if r in cp or reads_copy:
                # (xchg's other operand, a cmpxchg's RAX, a narrower write
                # of a derived value...): may be one, offset not known
                cp[r] = None
        if m == "xchg" and len(ops) == 2 and all(op.type == _X86.X86_OP_REG for op in ops):
            a, b = (base_off(op.reg, d0) for op in ops)
            if a[0] or b[0]:
                for op in ops:
                    cp[_reg64(ci, op.reg)] = None
        if dst is not None and dst in written_64 and m != "xchg":
            if new is not None and new[0]:
                cp[dst] = new[1]
            else:
                cp.pop(dst, None)
        # (a slot below RSP stays: an interrupt may overwrite it, but it may
        # also still hold the address, adv_r44_redzone_copy)
        return frozenset(cp.items())

    def _loads_stack_top(self, ci, nxt: int) -> str | None:
        """The 64-bit register an 8-byte `mov` loads the task stack's top
        into (cpu_current_top_of_stack: %gs-relative under SMP, a plain
        global on a uniprocessor kernel), else None."""
        # (any instruction reading the slot into a register: a mov, an add
        # of it, an xchg: adv_r69_summary_add_top_alias)
        ops = ci.operands
        layout = self.prog.layout
        want = _X86.X86_REG_GS if layout.percpu_gs.value else 0
        for op in ops:
            if op.type != _X86.X86_OP_MEM:
                continue
            mem = op.mem
            if mem.segment != want or (want == 0 and (mem.index != 0 or mem.base not in (0, _X86.X86_REG_RIP))):
                continue
            at = (mem.disp + (nxt if mem.base else 0)) & 0xFFFFFFFFFFFFFFFF
            # (a %gs: operand with a register in its address may name the
            # slot too: GCC's this_cpu_read(*p) is `mov $slot,%ecx; mov
            # %gs:(%rcx),%rax`, adv_r76_top_regbase)
            if at == layout.top_of_stack.value or (want and (mem.index != 0 or mem.base not in (0, _X86.X86_REG_RIP))):
                # (the last word: capstone folds `lock`, `xacquire` and
                # `xrelease` into the name, adv_r202_lock_cmpxchg_top)
                base = ci.mnemonic.split(" ")[-1]
                if base.startswith("cmpxchg"):
                    return "rax"  # (a failed cmpxchg loads the slot into RAX)
                reg = next((x for x in ops if x.type == _X86.X86_OP_REG), None)
                if reg is not None:
                    return _reg64(ci, reg.reg)
                if base.startswith("push"):
                    return "(pushed)"
        return None

    @staticmethod
    def _rsp_after(m, ops, state):
        """RSP's frame offset after an explicit write to it (None: unknown)."""
        d, bp = state[0], state[1]
        if m == "leave":
            return bp + 8 if isinstance(bp, int) else None
        if len(ops) != 2 or ops[0].type != _X86.X86_OP_REG or ops[0].reg != _RSP:
            return None
        src = ops[1]
        if m in ("add", "sub") and src.type == _X86.X86_OP_IMM and d is not None:
            return d + src.imm if m == "add" else d - src.imm
        if m == "lea" and src.mem.index == 0:  # (LEA ignores any segment)
            base = d if src.mem.base == _RSP else bp if src.mem.base == _RBP else None
            return base + src.mem.disp if isinstance(base, int) else None
        if m == "mov" and src.type == _X86.X86_OP_REG and src.reg == _RBP:
            return bp if isinstance(bp, int) else None
        return None


KEPT_AT_ENTRY = frozenset({"rbx", "rbp", "r12", "r13", "r14", "r15"})
# a key of StackWalk's copies: a stack address was stored where the walk
# cannot place it, so any load it cannot place may give one back
_ESCAPED = "(escaped)"
_GPR_NAMES = frozenset({"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13",
                        "r14", "r15"})
# segments whose base is 0 in 64-bit mode (SDM Vol. 1 3.4.2.1): an override
# with one addresses what no override does (FS and GS have bases)
_FLAT_SEGMENTS = (0, _X86.X86_REG_SS, _X86.X86_REG_DS, _X86.X86_REG_ES, _X86.X86_REG_CS)
# stores whose extent RCX decides (`rep stos`, `rep movs`)
_STRING_STORES = {"stosb", "stosw", "stosd", "stosq", "movsb", "movsw", "movsd", "movsq", "insb", "insw", "insd"}


def _holds_current(node, reg: str, preds: dict, entries: set) -> bool:
    """Whether every path to node within its frame loads the current task
    pointer into reg (Summaries._loads_current) and writes reg no more
    after it: a backward search from node over the frame's edges that
    meets no frame start, no node without a known predecessor and no edge
    writing reg before an edge loading it.  (A callee-saved register keeps
    it across a call: assumption abi-callee-saved, and StackWalk's check
    of the code read.)"""
    todo, seen = [node], {node}
    while todo:
        n = todo.pop()
        if n in entries or n not in preds:
            return False
        for p, written, loads in preds[n]:
            if loads == reg:
                continue
            if reg in written:
                return False
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return True


def _overwritten(saved: frozenset, lo, size: int) -> frozenset:
    """saved without the slots a store of size bytes at lo may overwrite
    (lo None: every slot)."""
    if lo is None:
        return frozenset()
    return frozenset(x for x in saved if x[0] + 8 <= lo or x[0] >= lo + size)


def _reg64(ci, reg) -> str:
    """The 64-bit register capstone's register id is part of (its own name
    for one that is no part of a GPR; xmmN for ymmN and zmmN, which share
    its low lanes: adv_r48_ymm_alias_copy)."""
    return _reg_key(ci.reg_name(reg))


def _reg_key(name: str) -> str:
    if name[:3] in ("ymm", "zmm"):
        return "xmm" + name[3:]
    return _GPR64.get(name, name)
