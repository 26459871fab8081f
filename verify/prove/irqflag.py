"""RFLAGS.IF at the return of a summarised callee, from its code (irqs-off).

A forward abstract interpretation over the callee and, composed through
per-function summaries, its closure.  The abstract IF (and the IF bit,
bit 9, of a value a register or a tracked stack slot holds) is a set of
atoms, or None (unknown):

  0, 1   the constant
  "E"    IF at the function's entry
  "rdi", "rsi", "rdx", "rcx", "r8", "r9"
         bit 9 of that argument register at entry (a saved `flags` handed to
         `*_irqrestore`)
  ("*", a, d)  bit 9 of the word at argument a + d as the function found it
  ("?", a)     any bit if atom a is 1, no value at all if a is 0 (a callee
         read in context 0 though IF was 0 at the call only if a was)

Entry contexts (pass order: the context decides which callees are read).
A summary is per (function, argument registers handed a frame address,
context): context "E" (IF at entry is the atom "E") or 0 (IF clear at
entry: "E" never appears).  At a direct call:
- IF is 0 on the path (every element 0, or an atom known 0 by a branch):
  the callee is read in context 0.
- IF is 0 if some argument atoms are 0 (`_raw_spin_unlock_irqrestore(lock,
  flags)` then a call): read in context 0; IF, RAX and the caller-saved
  registers it keeps get ("?", a) joined in, every caller-saved register
  counts as written and every pointer handed over leaks (when a is 1
  nothing is known).  The caller resolves ("?", a) through its own tag of
  a: nothing when 0, TOP when it may be 1.
- Otherwise (IF may be 1, or unknown): read in context "E" only when the
  IF-clean pre-scan (_clean: a stateless walk of the callee's closure finds
  no instruction that may change IF) says it keeps IF; else not read at all:
  TOP, every caller-saved register written, its pointers leaked.  Sound:
  TOP is the lattice's top; a later `cli` kills it (the exit-work loop's
  calls with interrupts on are never read).

A function's summary is the join over its returns of (IF, bit 9 of RAX,
caller-saved registers written, out-parameter stores per argument);
at a call it is composed with the caller's state (E -> the caller's IF,
an argument atom -> the caller's tag of that register).

Transfer (one path, pass order as in the walk):
- `cli` -> {0}, `sti` -> {1}; `pushf` pushes the current IF into the slot
  at the tracked RSP offset, `popf` restores IF from the slot it pops (None
  when the slot or the offset is not known); `pop`/`push`/`mov` between a
  register and a slot at a known RSP offset carry the tag (local_irq_save's
  `pushf; pop %reg`, its spill and reload); `and`/`or` with an immediate
  keep or fix bit 9; any other write to a register or a slot forgets it.
- `test $0x200,%reg` (or `test $0x2,%Xh`, `bt $9,%reg`) before `je`/`jne`
  (`jb`/`jae`) refines the branch: on the side where bit 9 is b, an
  atom the tag is reduced to is known to be b, and the constant b on that
  path is that atom (arch_local_irq_restore in 6.1/6.12:
  `if (flags & X86_EFLAGS_IF) sti`); a side no element allows is dropped.
  So does `cmp $0` of a register or frame slot known to hold bit 9 only
  (after `and $0x200`, kept through an 8-byte spill and reload: the b9 and
  b9s marks).  Only the jcc of the flag the test sets refines: je/jne after
  test/and/cmp (ZF), jb/jae after bt (CF); CF is 0 after test and cmp $0.
- A direct call composes the callee's summary as above (memoised;
  recursion: a least fixpoint; an exhausted budget -> unknown).  The syscall dispatch, `iret`, `sysret`, an
  indirect jump, code that cannot be decoded -> unknown.  A callee the
  image does not fix (indirect call, retpoline thunk, static call) keeps IF
  under assumption irq-flag-preserved, the one explore.py already names for
  the same calls (recorded in `assumptions`); it writes every caller-saved
  register, except a `call *pv_ops+N` whose slot BTF types as struct
  paravirt_callee_save, which writes only RAX (assumption pv-callee-save,
  _pv_callee_save: 6.12 `_raw_spin_unlock_irqrestore` under PVUNLOCK keeps
  the flags in RSI across `call *pv_ops.lock.queued_spin_unlock`).
- A faulting instruction with an exception-table entry continues at its
  fixup with IF as at the fault (the #PF/#GP handler returns by IRET with
  the saved flags; the extable handlers move RIP/registers, not flags).
  A `ud2` that may resume (a WARN) continues with IF unchanged (handle_bug
  restores it by IRET); one that dies ends the path.
- Patch sites: every candidate except those only Xen PV runs (the caller
  makes the result unknown under XENPV, where SYSRET is never taken).
- Stack slots survive a call and stores through other registers only
  while no stack address of the function escaped: otherwise they are
  forgotten there (assumption abi-frames).
- Out-parameters (`lock_timer_base(timer, &flags)`).  `lea off(%rsp),%reg`
  / `mov %rsp,%reg` make reg a tracked pointer ("sp", off) rather than an
  escape; each argument register at entry is a pointer ("arg", a, 0) too.
  Pointers are copied by 64-bit `mov` and offset by `lea disp(%ptr)`; a
  pointer as the index-free base of a memory operand is a load (harmless)
  or a store (followed: into the slot, or recorded as the function's store
  at arg + disp); `test`/`cmp` read it harmlessly.  Every other use leaks
  it: a push, arithmetic, a truncated copy, an implicit operand, a store of
  the pointer itself, RAX at a return, RAX/R10/R11 at a call, an argument
  register at a call whose callee is not summarised or whose summary says
  the argument leaked.  A leaked frame pointer is the old escape (the
  function is walked again with escaped); a leaked argument makes that
  argument's out-parameter effect unknown (None) in the summary, so every
  caller that hands it a frame address treats its frame as escaped.
  Sound because a frame word changes only through a pointer to it
  (abi-frames), and every way a pointer can reach code that is not followed
  is a leak.  A pointer in RBX/RBP/R12-R15 at a call is kept: compiled C
  reads a callee-saved register only to save and restore it (named
  assumption callee-saved-not-read, recorded at the call that hands the
  frame address over).  At a join a register that may hold a pointer on
  one side only holds "maybe" (None in its set): a store through it is a
  weak update (the old value joined in), and its leaks still count;
  caller-saved registers a callee may write become "maybe" after the call.
  The summary per argument is the join over returns of what was stored
  at arg + disp, ("*", a, d) standing for the word as the callee found it;
  at a call it is composed with the caller's state like the IF atoms.
  Only the registers a caller hands a frame address in are tracked
  (`want`, over the argument registers and RAX/R10/R11); a pointer
  stepped through a loop (more than MAX_PTRS targets, or an offset past
  MAX_PTR_DISP) is followed at an unknown offset, which keeps the walk
  finite.  Refinements (wip-irq2), each argued where it is implemented:
  the frame escape is flow-sensitive (_escape: at the leak every slot is
  forgotten and the path is escaped from there on; a slot read before it
  is exact); arithmetic on a pointer keeps it followed at an unknown offset
  (_ptr_uses: a store through it forgets every word of the object, the
  caller's whole frame, and it leaks only where it may outlive the call:
  stored to memory, pushed, copied to a register not followed); a pointer
  spilled to the function's own slot and reloaded is followed (_spill),
  and leaks where anything may load that slot other than the reload (a
  summary says what each argument's object it loads, "ld"); a pointer into
  the object an argument points to returned in RAX is handed back (RET);
  a pointer left at a return in another caller-saved register that does
  not hold its entry value leaks; a callee that followed a pointer and
  wrote its register over no longer leaves it there; a pointer past the
  prototype of a BTF-described callee is not handed to it (assumption
  c-prototype-args, recorded); an address in an escaped frame is not
  followed into a callee.
- Context "A" and assumption irqrestore-pairs (wip-irq4).  A callee called
  with IF exactly 0 (or 0 under argument atoms, as above) from a function
  not itself in context 0 is read in context "A": context 0 where a flags
  word an irq-restore restores, when the analysis lost it through memory,
  is taken as saved by a pushf of the region (the outermost context-"A"
  call), i.e. with bit 9 = 0.  Lost words are the tag LOST ("L"): a frame
  slot with no tag (forgotten by an escape or a store at an unknown
  offset, or never written), a word loaded from memory not followed
  (_miss, _step).  _forget keeps LOST only for slots whose tag was only 0
  and LOST (and their "bit 9 only" mark); a slot holding a known word that
  may have bit 9 set (1, an argument atom, "E", "*", "?") becomes TOP,
  never LOST.  Restores (_lost_restore): popf of a LOST slot, the idiom's
  `sti` first on the bit-9-set side of a bit-9 test of a LOST word
  (_refine drops that side), a callee whose IF is an argument's bit 9 (or
  a conditional atom on it) handed a LOST word (_compose(restore=True)).
  Each use marks the summary (_af[0]); a pushf, or a call, where IF may be
  other than 0 marks it bad (_af[1], _save_check).  Where a region starts
  (_call, a caller not in context "A") _region_ok walks the context-"A"
  summaries the region read (edges) and refuses it when the assumption was
  used while a save may see IF != 0: the callee is then read in context 0
  (no assumption anywhere in it); else the assumption is recorded at that
  call.  Soundness: by induction over the region's execution (see
  _lost_restore).  Cost: inside a region a callee's own summary is taken
  only if it needs at most A_CAP instructions; else _quiet, a stateless
  pre-scan of its closure (allowed beyond IF-clean code: `cli`, pushf,
  wrmsr/xrstor; no `sti`, no popf; calls that never return are not walked)
  gives IF 0 at return, every caller-saved register written, every pointer
  handed over leaked.  (It accepted the restore idiom's `sti` on a word it
  took for lost until review 135: it tracks no words.)
- Assumption no-sleep-irqs-off (wip-irq5): a direct call of one of the
  scheduler's sleeping entry points (SLEEPERS, by name) where IF is exactly
  0 is a path that does not exist (code with interrupts off does not call
  a function that may sleep: might_sleep()'s rule): dropped, in _call and
  in _quiet, recorded at the call; under argument atoms ("?", a) only
  (_sleeper).  SERIALIZE, which capstone 5 does not decode, is a
  no-operand instruction (_NoOperands); _quiet follows sync_core()'s
  iret-to-self, checked byte for byte and entered only at its start
  (_iret_self, _iret_self_entered): the IRET pops the frame it built.
- Assumption no-warn (wip-irq6): no WARN fires on the way to user mode
  (WARN*() marks a must-never-happen condition; syzbot files each one,
  panic_on_warn panics).  A direct call (or tail call) of a WARN reporter
  (WARNERS, by name: __warn_printk, which x86's WARN(cond, fmt) calls
  right before its __bug_table `ud2`; warn_slowpath_fmt; __warn) where IF
  is exactly 0 is dropped like a sleeper's (_call, _quiet, recorded at the
  call; under argument atoms only the conditional atoms, _absent), and a
  WARN `ud2` (BUGFLAG_WARNING in __bug_table, _warn_ud2) reached with IF
  exactly 0 ends the path instead of resuming (_step, _quiet, recorded at
  the ud2).  With IF possibly 1, or 0 only under argument atoms, a WARN
  `ud2` resumes as before; the register obligations' engine is unchanged.
- Registers a callee writes (what its caller may no longer assume about
  them) are flow-sensitive: a caller-saved register is handed back only
  if at every return it holds its entry value: untouched, or popped from
  the slot its own `push` filled while it was untouched (a callee-save
  thunk's push/call/pop), the mark dropped by any store to that slot.  A
  `pop` of anything else is a write (`pushf; pop %rax`).
- A `ret` is the return (review 92).  Every walk here ends a path at a
  `ret` (a `jmp` to a return thunk, a tail call) as the function's return,
  and goes on after a call at its fall-through.  That holds only where the
  `ret` pops the return address the caller's call pushed: `push $1f; ret`
  or `movq $1f,(%rsp); ret` jump to 1f, a callee that pops its own return
  address returns into its caller's caller.  So each function a walk reads
  must pass a frame walk (_frame_ok / _frame_walk: an intra-procedural
  walk of RSP's and RBP's distance below the entry RSP; every exit at the
  entry RSP with RBP's entry value, no store through RSP or the frame
  pointer at or above the return address, an alloca only down by a bounded
  amount): a summary's result is kept only if its function passes, and a
  `ret` at a known RSP other than the entry gives up at once (_ret_home);
  _clean and _quiet ask it of every function of the closure they walked;
  a callee gone past without a summary must not be one a reading found may
  not return home (_home_bad, _frame_bad, transitively over the callers).
  Code no walk reads returns home under assumption abi-callee-saved;
  stores into a frame through registers other than RSP and RBP are
  assumption abi-frames'.  FRED's ERETS/ERETU (capstone's `clac`) and the
  other prefixed system instructions (cfg.prefixed_system_insn) are
  undecodable to every walk here.
"""

from __future__ import annotations

import heapq
import os as _os

import capstone

from ..image.patches import tables
from ..image.encoding import NEXT_FROM_STATE, is_jump, lite_decode, operand_size_prefixed
from ..machine import IMPLICIT_MEMORY_STORES, memory_written, store_extent
from .cfg import CfgError, addr32_memory, disasm_one, prefixed_system_insn, target_node, transfer_mnemonic

TOP = None
ARGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
# registers a pointer handed to a callee may be in: the argument registers
# and the other caller-saved ones a callee's code could read at entry (a
# callee read with want including RAX/R10/R11 is checked as for an argument)
PTR_ARGS = ARGS + ("rax", "r10", "r11")
CALLER_SAVED = ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11")
MAX_INSNS = 400_000  # over all functions one Summaries holds
MAX_DEPTH = 60
# instructions one IF-clean pre-scan (_clean) may visit before it gives up
MAX_CLEAN = 20_000
# instructions one function's frame walk (_frame_walk) may visit before it
# gives up (the function is then not frame-safe)
MAX_FRAME = 20_000
# instructions one context-"A" pre-scan (_quiet) may visit before it gives up
MAX_QUIET = int(_os.environ.get("IRQFLAG_MAX_QUIET", "20000"))
# instructions a context-"A" callee's own summary may take inside a region
# before _quiet is asked instead (_call)
# A callee called with IF exactly 0 is read with at most OFF_CAPS[0]
# instructions (its closure with it), a callee it calls with IF exactly 0
# with at most OFF_CAPS[1] of its own, and so on; one more level down is
# not read.  Where a reading runs out of its cap, or the call is below the
# last level, the call keeps IF 0 under assumption irqs-off-callees,
# recorded at the call (_undecided_off).  OFF_TOTAL bounds the
# instructions all those readings take together; past it every such call
# is assumed.  Measured on the Debian kernels: 6.12
# syscall_exit_to_user_mode's IF summary takes 0.1-0.3 s; a third level
# (6.1: exit_to_user_mode_prepare -> rcu_nocb_flush_deferred_wakeup ->
# _raw_spin_unlock_irqrestore, whose paravirt `sti` then shows) leaves 6.1
# unknown; without any cap the closure (WARN -> printk -> the allocators)
# used the whole MAX_INSNS and stayed unknown.
OFF_CAPS = (1000, 500)
OFF_TOTAL = 20_000
# A callee called while IF may be 1 whose closure may change IF is read in
# context "E" with at most E_CAP instructions, at most E_LEVELS such readings
# deep (_read_capped_e); undecided, it stays unknown.
E_CAP = 1000
E_LEVELS = 2
A_CAP = int(_os.environ.get("IRQFLAG_A_CAP", "3000"))
# the scheduler's sleeping entry points (kernel/sched/core.c, 6.1/6.12):
# __schedule, the core every context switch runs (its finish_task_switch
# enables interrupts unconditionally), and the entries that sleep through
# it: schedule() and the wrappers that call it for a voluntary sleep.  A
# direct call to one of them with IF exactly 0 is not made (assumption
# no-sleep-irqs-off, IrqFlagEffects._sleeper).  Deliberately not here: the
# functions that may schedule only after checking irqs_disabled() or
# preemptible() themselves (__cond_resched, preempt_schedule,
# preempt_schedule_notrace, preempt_schedule_irq: the last enables
# interrupts before __schedule), whose code the analysis reads
SLEEPERS = ("__schedule", "schedule", "schedule_preempt_disabled", "schedule_timeout", "io_schedule",
            "io_schedule_timeout", "schedule_idle", "schedule_user", "__schedule_loop")
# the WARN reporters (kernel/panic.c, 6.1/6.12): __warn_printk, which
# WARN(cond, fmt...) / WARN_ONCE() call right before their __bug_table
# `ud2` on x86 (include/asm-generic/bug.h __WARN_printf under __WARN_FLAGS),
# warn_slowpath_fmt, the same for an arch without __WARN_FLAGS (not in the
# x86 images), and __warn, which prints the report (report_bug's WARN
# side, warn_slowpath_fmt, the kCFI and CET trap handlers).  Each is
# called only when a WARN fires.  A direct call to one of them with IF
# exactly 0 is not made (assumption no-warn, IrqFlagEffects._warner); so
# is the WARN `ud2` itself (BUGFLAG_WARNING in __bug_table).  Deliberately
# not here: report_bug (BUG() reports go through it too; it is called only
# from the #UD handler, which the analysis never enters), printk and the
# other pr_*() / printk_deferred paths (they print what is not a bug)
WARNERS = ("__warn_printk", "warn_slowpath_fmt", "__warn")
# what may change IF or leave the function in a way the pre-scan does not
# follow (an instruction here makes a closure not IF-clean)
_UNCLEAN = ("cli", "sti", "popf", "popfq", "popfd", "iret", "iretq", "iretd", "sysret", "sysretq", "sysexit", "sysexitq",
            "swapgs", "syscall", "sysenter", "int", "int1", "int3", "into", "retf", "retfq", "lret", "ljmp",
            "lcall", "vmcall", "vmmcall", "vmlaunch", "vmresume", "getsec", "rsm", "uiret", "enclu", "wrmsr",
            "xrstor", "xrstors")
# what _quiet allows of _UNCLEAN: `cli` (IF 0), MSR and extended-state
# writes (they do not change RFLAGS.IF); popf and sti are its own rules
_QUIET_OK = ("cli", "wrmsr", "xrstor", "xrstors")
# a pointer with more possible targets, or offset further, is not followed
# (it leaks): keeps the walk finite where a loop steps a pointer
MAX_PTRS = 3
MAX_PTR_DISP = 4096
# partitions (value classes) kept apart per node while out-parameters are
# tracked (_analyse_once); more are joined into one
MAX_PARTS = 4
# IRQFLAG_DEBUG=1: why a summary is unknown (where precision is lost);
# IRQFLAG_TRACE=<hex start>,...: the state at every node of those functions
_DEBUG = bool(_os.environ.get("IRQFLAG_DEBUG"))
_TRACE = {int(x, 16) for x in _os.environ.get("IRQFLAG_TRACE", "").split(",") if x}
_STRING = ("rep", "stos", "movs", "scas", "cmps", "lods")
_BYTE_HI = {"ah": "rax", "bh": "rbx", "ch": "rcx", "dh": "rdx"}


# the tag atom of a word the analysis lost through memory (context "A"
# only: a frame slot forgotten or never written, a load from memory not
# tracked): bit 9 unknown, except where an irq-restore restores it
# (assumption irqrestore-pairs, see IrqFlagEffects._lost_restore)
LOST = "L"
LOSTSET = frozenset({LOST})


# the disp of an out-parameter entry (a, ANY): the callee may have written
# any word of the object argument a points into (a store through a pointer
# derived from it at an offset not known); TOP
ANY = "any"
# the disp of an out-parameter entry (a, RET): the callee may return (in
# RAX) a pointer into the object argument a points into (`return buf;`)
RET = "ret"


# what _frame_walk must decode fully (_frame_relevant): an instruction
# whose mnemonic (its last word: `rep stosq`, `notrack jmp`) starts with one
# of these (a stack or control transfer, `and`: an alloca's bound), an
# implicit store, an instruction capstone lists no writes of, or one whose
# operands name RSP or RBP (any width: rsp esp sp spl, rbp ebp bp bpl)
_FRAME_MNEMONICS = ("push", "pop", "call", "ret", "j", "loop", "xbegin", "iret", "int", "sys", "ud", "hlt", "lret",
                    "retf", "lcall", "ljmp", "enter", "leave", "vm", "rsm", "and")


_FRAME_UNKNOWN: list = []  # (summary._UNKNOWN_REGS, read once)


def _frame_relevant(mnemonic: str, op_str: str) -> bool:
    w = mnemonic.split(" ")[-1]
    if w.startswith(_FRAME_MNEMONICS) or "sp" in op_str or "bp" in op_str or w in IMPLICIT_MEMORY_STORES:
        return True
    if not _FRAME_UNKNOWN:
        from .tscompat import _summary_tables  # noqa: PLC0415
        _FRAME_UNKNOWN.append(frozenset(_summary_tables()[2]))
    return w in _FRAME_UNKNOWN[0]


def _out_word(outs: dict, a, d):
    """What the word at (argument a at entry) + d holds: what was stored
    there, TOP after a store at an unknown offset, else its entry value."""
    hit = outs.get((a, d))
    if hit is not None or (a, d) in outs:
        return hit
    if (a, ANY) in outs:
        return TOP
    return frozenset({("*", a, d)})


def _join(a, b):
    if a is TOP or b is TOP:
        return TOP
    return a | b


_BOTTOM = (frozenset(), frozenset(), frozenset(), {})


def _join_outs(a: dict, b: dict) -> dict:
    """Out-parameter effects (argument -> None when the pointer leaked, else
    {(disp, tag)} stored at arg + disp); absent: nothing stored, not leaked."""
    out = {}
    for k in set(a) | set(b):
        x, y = a.get(k, frozenset()), b.get(k, frozenset())
        if x is None or y is None:
            out[k] = None
            continue
        dx, dy = {(k, d): t for d, t in x}, {(k, d): t for d, t in y}
        out[k] = frozenset((d, _join(_out_word(dx, k, d), _out_word(dy, k, d))) for _k, d in set(dx) | set(dy))
    return out


def _join_out_map(a, b):
    """Join the out-parameter stores ((a, d) -> tag) of two returns (a None:
    no return yet)."""
    if a is None:
        return dict(b)
    return {k: _join(_out_word(a, *k), _out_word(b, *k)) for k in set(a) | set(b)}


def _join_summary(a, b):
    if a is None or b is None:
        return None
    w = None if a[2] is None or b[2] is None else a[2] | b[2]
    return (a[0] | b[0], _join(a[1], b[1]), w, _join_outs(a[3], b[3]))


def _cond(x) -> bool:
    """A conditional atom ("?", a): any bit when atom a (an argument
    register's bit 9, or "E") is 1, no value at all when a is 0 (the
    result of a callee read in context 0 though IF was 0 at the call only
    if a was)."""
    return isinstance(x, tuple) and x[0] == "?"


def _key(start, want, ctx):
    """The memo key of one summary (function, arguments handed a frame
    address, entry context)."""
    return (start, want, ctx)


# sync_core()'s iret-to-self (arch/x86/include/asm/sync_core.h
# iret_to_self, 6.1/6.12), the bytes before its `push $1f` (imm32) and
# `iretq`: mov %ss,%eax; push %rax; push %rsp; addq $8,(%rsp); pushfq;
# mov %cs,%eax; push %rax; and the offsets of its instructions from the
# first one (the push $1f at 13, the iretq at 18)
_IRET_SELF = bytes.fromhex("8cd050544883042408" "9c" "8cc8" "50")
_IRET_SELF_OFFS = (0, 2, 3, 4, 9, 10, 12, 13, 18)


class _NoOperands:
    """An instruction capstone 5 does not decode that has no operands and
    writes no register, no memory and no RFLAGS bit (SERIALIZE, `0f 01 e8`,
    SDM; cfg._UNKNOWN_TO_CAPSTONE: sync_core() on CPUs that have it)."""

    def __init__(self, mnemonic, addr, size):
        self.mnemonic, self.op_str, self.address, self.size = mnemonic, "", addr, size
        self.operands = []

    def regs_access(self):
        return [], []

    def group(self, _g):
        return False

    def reg_name(self, _r):
        return None


def _pad_insn(program, ci, addr):
    """ci, or what runs there when it meets call-depth padding
    (Program.pad_entry): from the padding's start boot's thunk, one
    instruction that leaves IF and every register and stack slot alone (a
    `sarq` of a %gs counter; its flags end a bit-9 test's reach as any
    instruction's do); entered elsewhere, nothing known (None)."""
    run = program.pad_entry(addr, ci.size)
    if run < 0:
        return None
    return _NoOperands("nop", addr, run) if run else ci


class _St:
    __slots__ = ("IF", "sp", "slots", "regs", "known", "test", "ptrs", "outs", "orig", "saved", "esc", "b9", "sptr",
                 "b9s", "bv", "setcc")

    def __init__(self, IF, sp, slots, regs, known, ptrs=None, outs=None):
        self.IF, self.sp, self.slots, self.regs, self.known = IF, sp, slots, regs, known
        self.test = None  # (register tag, branch-bit polarity) of a bit-9 test just before
        # register -> frozenset of the pointers it may hold: ("sp", off) an
        # address in this function's frame (off from the entry RSP, as the
        # slots), ("arg", a, d) argument register a's value at entry plus d;
        # None in the set: it may also hold something else (a write
        # through it is then a weak update)
        self.ptrs = ptrs if ptrs is not None else {}
        # (a, d) -> tag: what this function stored at (argument a at entry)
        # + d; absent: unchanged, the atom ("*", a, d)
        self.outs = outs if outs is not None else {}
        # caller-saved registers still holding their entry value, and the
        # slots a `push` of such a register filled (offset -> (register,
        # the slot's tag object: the mark holds only while the slot keeps
        # that very object)): a callee-save thunk's push/call/pop does not
        # write the registers it restores
        self.orig = frozenset(CALLER_SAVED)
        self.saved = {}
        # a pointer into this function's frame has leaked on the way here
        # (flow-sensitive escape; see _escape)
        self.esc = False
        # registers whose value has every bit but bit 9 clear (after
        # `and $0x200,%reg`): `test %reg,%reg` then tests bit 9
        self.b9 = frozenset()
        # frame slot offset -> the tag object an 8-byte `mov` of a b9
        # register stored there (a word with every bit but bit 9 clear):
        # the mark holds only while the slot keeps that very object, and
        # every store, push or pushf at the slot drops it (_b9s_valid)
        self.b9s = {}
        # register -> what is known of its value (_BV_*): "z" the whole
        # register is 0, "bz" its low byte is 0 (the rest unknown), "nz" its
        # low byte is not 0 (so no wider part is 0 either); a bool result
        # (`xor %r14d,%r14d`, `sete %r14b` before a `jne`, `mov $1,%eax`):
        # decides `test %al,%al; je` and splits the out-parameter stores by
        # the returned AL (_call_split)
        self.bv = {}
        # a `sete`/`setne` of a byte register just before: (register, True
        # when it sets the byte on ZF=1), consumed by a je/jne that follows
        self.setcc = None
        # frame slot offset -> the pointers a 64-bit `mov` spilled there
        # (reloaded into a register they are followed again)
        self.sptr = {}

    def copy(self):
        s = _St(self.IF, self.sp, dict(self.slots), dict(self.regs), dict(self.known), dict(self.ptrs),
                dict(self.outs))
        s.test = self.test
        s.orig, s.saved = self.orig, dict(self.saved)
        s.esc, s.b9, s.sptr = self.esc, self.b9, dict(self.sptr)
        s.b9s = dict(self.b9s)
        s.bv, s.setcc = dict(self.bv), self.setcc
        return s

    def norm(self, t):
        """The constant b on a path where an atom is known to be b is that
        atom (exact on the path)."""
        if t is TOP or not self.known:
            return t
        out = set()
        for x in t:
            if x in (0, 1):
                at = next((k for k, v in self.known.items() if v == x), None)
                out.add(at if at is not None else x)
            else:
                out.add(x)
        return frozenset(out)


def _same(a: _St, b: _St) -> bool:
    """a and b are the same abstract state (what key() compares, without
    building sorted tuples: dicts and sets compare by value)."""
    return (a.IF == b.IF and a.sp == b.sp and a.esc == b.esc and a.test == b.test and a.orig == b.orig
            and a.b9 == b.b9 and a.slots == b.slots and a.regs == b.regs and a.known == b.known
            and a.ptrs == b.ptrs and a.outs == b.outs and a.sptr == b.sptr and a.b9s.keys() == b.b9s.keys()
            and a.bv == b.bv and a.setcc == b.setcc
            and {k: v[0] for k, v in a.saved.items()} == {k: v[0] for k, v in b.saved.items()})


def _b9s_valid(s: _St, off) -> bool:
    """Whether the frame slot at off holds a word with every bit but bit 9
    clear (stored from a b9 register by an 8-byte `mov`, not written since)."""
    obj = s.b9s.get(off)
    return obj is not None and s.slots.get(off) is obj


def _join_states(a: _St, b: _St, lost: bool = False) -> _St:
    if a.sp != b.sp:
        sp, slots = None, {}
    elif lost:
        # context "A": a slot absent on one side holds a lost word there
        # (LOST), not nothing at all
        sp = a.sp
        slots = {k: _join(a.slots.get(k, LOSTSET), b.slots.get(k, LOSTSET)) for k in set(a.slots) | set(b.slots)}
    else:
        sp = a.sp
        slots = {k: _join(v, b.slots[k]) for k, v in a.slots.items() if k in b.slots}
    regs = {k: _join(v, b.regs[k]) for k, v in a.regs.items() if k in b.regs}
    known = {k: v for k, v in a.known.items() if b.known.get(k) == v}
    # a pointer on one side only: "maybe" (None) joins it
    ptrs = {k: a.ptrs.get(k, frozenset({None})) | b.ptrs.get(k, frozenset({None})) for k in set(a.ptrs) | set(b.ptrs)}
    outs = {k: _join(_out_word(a.outs, *k), _out_word(b.outs, *k)) for k in set(a.outs) | set(b.outs)}
    out = _St(_join(a.IF, b.IF), sp, slots, regs, known, ptrs, outs)
    out.orig = a.orig & b.orig
    out.esc = a.esc or b.esc
    out.b9 = a.b9 & b.b9
    # a slot holding only bit 9 on both sides holds only bit 9 after the
    # join (the mark moves to the joined tag object)
    out.b9s = {k: slots[k] for k in a.b9s if _b9s_valid(a, k) and _b9s_valid(b, k) and slots.get(k) is not None}
    out.bv = {k: v for k, v in a.bv.items() if b.bv.get(k) == v}
    if a.setcc == b.setcc:
        out.setcc = a.setcc
    if sp is not None:
        # (a slot that may hold a pointer on one side only: "maybe")
        out.sptr = {k: a.sptr.get(k, frozenset({None})) | b.sptr.get(k, frozenset({None}))
                    for k in set(a.sptr) | set(b.sptr)}
    out.saved = {k: v for k, v in a.saved.items() if b.saved.get(k) == v and slots.get(k) is v[1]}
    # a bit-9 test just before survives a join of the same test (its tag
    # joined, as the registers are)
    if a.test is not None and b.test is not None and a.test[1] == b.test[1]:
        out.test = (_join(a.test[0], b.test[0]), a.test[1])
    return out


class IrqFlagEffects:
    """IF-at-return summaries of the functions of one image, memoised."""

    def __init__(self, program, md_factory, gpr64: dict):
        self.program = program
        self.md = md_factory()
        self.gpr64 = gpr64
        self.memo: dict = {}
        self.active: set = set()
        self.budget = MAX_INSNS
        self.capped_spent = 0
        self._off_level = 0
        self._e_level = 0
        self._e_on = True  # (_twice)
        self._off_enable = False  # (an instruction that may set IF met in the running capped reading)
        self._cap_failed: dict = {}  # summary key -> the largest cap its reading ran out of
        # (review 195) recursion results used provisionally, and calls
        # assumed for being below OFF_CAPS' last level, counted; and the
        # summaries that rest on such an assumption -> the shallowest
        # capped-reading level they hold at (_undecided_off)
        self._provisional_uses = 0
        self._deep_assumes = 0
        self._deep_level: dict = {}
        self.used: set = set()  # functions in analysis whose provisional result was used
        self.provisional: dict = {}
        self._noret: dict = {}
        self._sites = None
        self.log: list = []  # functions memoised, in order
        self._dec: dict = {}
        self._regname: dict = {}
        self._acc: dict = {}
        self._wn: dict = {}
        self._pvcs_memo: dict = {}
        self._clean_memo: dict = {}
        self._arity_memo: dict = {}
        self._dups = None
        self._clean_assumed: dict = {}
        self._quiet_memo: dict = {}
        # frame safety (_frame_ok): function -> bool (with its tail calls'),
        # function -> (bool, tail-call targets) of its own code, the
        # functions whose reading met a callee that may not return home
        # (_home_bad), and the function being summarised (_analyse_once)
        self._frame_memo: dict = {}
        self._frame_local_memo: dict = {}
        self._frame_bad: set = set()
        self._cur = None
        self._sleepers = None
        self._warners = None
        # the entry context of the analysis running, and its context-"A"
        # flags and edges (summary, _region_ok)
        self._ctx, self._af, self._aedges = "E", [False, False], set()

    # -- the result the engine uses -------------------------------------------------
    def _twice(self, read):
        """read() without the capped context-"E" readings of calls made
        while IF may be 1 (_read_capped_e), and again with them when that
        left the result unknown, the unknown summaries of the first pass
        dropped from the memo (its decided ones hold either way).  The
        exit work reads cheaply (its final `cli` decides it); a caller of
        it made while IF may be 1 (do_fast_syscall_32) needs the second."""
        self._e_on = False
        try:
            r = read()
        finally:
            self._e_on = True
        if r is None or r[0] is TOP:
            self._drop_unknown([k for k, v in self.memo.items()
                                if v is None and not (k and k[0] in ("assumed", "aflags", "split"))])
            r = read()
        return r

    def _drop_unknown(self, keys):
        """Forget the memoised summaries of keys (unknown ones a capped or
        first-pass reading left) with their side entries, so that a later
        reading computes them again instead of taking them as unknown."""
        for k in keys:
            for m in (k, ("assumed", k), ("aflags", k), ("split", k)):
                self.memo.pop(m, None)
            self._deep_level.pop(k, None)

    def effect(self, start: int, ctx="E"):
        """(IF set at return or None, the call sites of the closure where
        assumption irq-flag-preserved was used).  ctx: "E" (IF at entry
        unknown: the atom "E") or 0 (entered with IF clear)."""
        r = self._twice(lambda: self.summary(start, 0, frozenset(), ctx))
        return (r[0] if r is not None else TOP), frozenset(self.memo.get(("assumed", _key(start, frozenset(), ctx)),
                                                                         set()))

    def effect_off(self, start: int):
        """effect() for a call the engine's path makes with IF exactly 0
        (explore.Explorer._if_after, after the exit path's final `cli`):
        the reading a call made with IF 0 gets inside a summary
        (_undecided_off, then the context-0 summary).  (IF set at return
        or None, the assumption sites of its closure, whether the call
        itself keeps IF 0 under irqs-off-callees)."""
        off = self._undecided_off(start, -1, frozenset(), 0)
        if off == "assume":
            return frozenset({0}), frozenset(), True
        if off:
            return TOP, frozenset(), False
        key = _key(start, frozenset(), 0)
        r = self._twice(lambda: self.summary(start, 0, frozenset(), 0))
        return (r[0] if r is not None else TOP), frozenset(self.memo.get(("assumed", key), set())), False

    # -- per-function summary ---------------------------------------------------------
    def _forget_memoised(self, mark: int) -> None:
        """Drop the summaries memoised since len(self.log) was `mark`."""
        self._drop_unknown(self.log[mark:])
        del self.log[mark:]

    def summary(self, start: int, depth: int, want: frozenset = frozenset(), ctx="E"):
        """(IF set, RAX bit-9 tag, caller-saved registers written or None,
        out-parameter stores) at the function's returns, or None (unknown).
        `want`: the argument registers a caller hands a pointer into its
        frame in; only their out-parameter stores and leaks are computed:
        a summary per (function, want, ctx).  ctx: the entry context, "E"
        (IF at entry is the atom "E") or 0 (IF is 0 at entry: the summary
        of the function specialised to that context, see _call).
        Recursion: a call back into a function being analysed gets its
        provisional result (first bottom: no return), and the function is
        analysed again until its result is stable, the entries memoised
        meanwhile dropped (a least fixpoint over a finite lattice: sound
        once stable)."""
        key = _key(start, want, ctx)
        if key in self.memo and self._deep_level.get(key, -1) > self._off_level:
            self._drop_unknown([key])  # (computed where a callee below it was assumed: review 195)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            self.used.add(key)
            self._provisional_uses += 1
            return self.provisional.get(key, _BOTTOM)
        if depth > MAX_DEPTH or self.budget <= 0:
            return self._why(f"depth {depth} / budget {self.budget}", start)
        self.active.add(key)
        outer_used, outer_written = self.used, getattr(self, "_written", None)
        outer_leaked = getattr(self, "_leaked", set())
        outer_retptr = getattr(self, "_retptr", set())
        outer_regptr = getattr(self, "_regptr", set())
        outer_loads = getattr(self, "_loads", set())
        outer_want = getattr(self, "_want", frozenset())
        outer_a = (getattr(self, "_ctx", "E"), getattr(self, "_af", None), getattr(self, "_aedges", None))
        outer_cur = self._cur
        mark = len(self.log)
        stable = False
        try:
            while True:
                self.used = set()
                assumed: set = set()
                self._want = want
                self._split = None
                # context "A": [a lost word was restored (assumption
                # irqrestore-pairs used), a save (pushf) or a call may see
                # IF != 0], and the context-"A" summaries read (_region_ok)
                self._ctx, self._af, self._aedges = ctx, [False, False], set()
                r = self._analyse_once(start, depth, assumed, ctx)
                split = self._split if r is not None else None
                # stable once the result is below the provisional one the
                # recursive calls used (a post-fixpoint: the least fixpoint
                # is below it, so r is sound); `!=` alone need not end
                prov = self.provisional.get(key, _BOTTOM)
                if key in self.used and _join_summary(prov, r) != prov:
                    self.provisional[key] = _join_summary(prov, r)
                    self._forget_memoised(mark)
                    if self.budget <= 0:
                        r = None
                        break
                    continue
                break
            stable = True
        finally:
            if not stable:
                # left by an exception (the round's SIGALRM stops any
                # line): what was memoised since `mark` may rest on a
                # provisional result not yet stable (review 194); the
                # next question asks again
                self._forget_memoised(mark)
            self.active.discard(key)
            self._written = outer_written
            self._leaked = outer_leaked
            self._retptr = outer_retptr
            self._regptr = outer_regptr
            self._loads = outer_loads
            self._want = outer_want
            af, aedges = self._af, self._aedges
            self._ctx, self._af, self._aedges = outer_a
            self._cur = outer_cur
        self.used = outer_used | (self.used - {key})
        self.memo[key] = r
        self.memo[("assumed", key)] = assumed
        if ctx == "A":
            self.memo[("aflags", key)] = (af[0], af[1], frozenset(aedges))
        if r is not None and split is not None:
            self.memo[("split", key)] = split
        self.log.append(key)
        return r

    def _decode(self, node):
        hit = self._dec.get(node)
        if hit is not None:
            return hit
        prog = self.program
        addr, vk = node
        if vk is None and addr in prog.sites:
            out = ("site", [i for i, (_c, _l, cond) in enumerate(prog.site_choices(addr)) if not self._xen_only(cond)])
        else:
            data = prog.fetch(addr, 16) if vk is None else prog.site_choices(vk[0])[vk[1]][0][addr - vk[0]:]
            ci = disasm_one(self.md, data, addr)
            if ci is None and data[:3] == b"\x0f\x01\xe8":
                ci = _NoOperands("serialize", addr, 3)
            if ci is not None and prefixed_system_insn(data):
                # FRED's ERETS/ERETU (`f2/f3 0f 01 ca`, which capstone reads
                # as `clac`) pop RIP, RFLAGS and RSP; LKGS, WRMSRLIST: no
                # model here either (cfg.prefixed_system_insn), so no walk
                # takes them for what capstone says: undecodable
                ci = None
            if ci is not None and vk is None and prog._thunk_size and 0x90 in data[:ci.size]:
                ci = _pad_insn(prog, ci, addr)
            out = ("insn", ci)
        self._dec[node] = out
        return out

    def _xen_only(self, cond) -> bool:
        f = self.program.feature_xenpv
        return cond[0] == "features" and all(a.get(f) is True for a in cond[1])

    def _analyse_once(self, start: int, depth: int, assumed: set, ctx):
        prog = self.program
        self._cur = start  # (the function whose returns _ret_home checks; summary() restores the caller's)
        entry = _St(frozenset({0 if ctx == "A" else ctx}), 0, {}, {r: frozenset({r}) for r in ARGS}, {},
                    {r: frozenset({("arg", r, 0)}) for r in self._want})
        # States per (node, partition).  While a caller hands this function
        # a frame address (want), the states at a node are kept apart by
        # their value classes (bv, at most MAX_PARTS per node, the rest
        # joined in one partition "*"): a bool result set on one path and
        # returned after a join (6.1 prb_reserve's `xor %r14d,%r14d` /
        # `sete %r14b`, then `mov %r14d,%eax`) keeps, per returned AL, the
        # out-parameter stores of the paths that return it (_call_split).
        # Sound: a partition is a subset of the paths the joined state
        # covers, and every path reaches some partition.
        part0 = frozenset() if self._want else None
        states = {((start, None), part0): entry}
        parts: dict = {}
        part_ids: dict = {}  # a partition's rank in the worklist order
        # the worklist in address order (a min-heap; a node once in it):
        # forward code is then mostly walked once before its joins, where
        # a LIFO order walks a join's successors again for every
        # predecessor reaching it
        work = [(start, 0, (), 0, ((start, None), part0))]
        queued = {((start, None), part0)}
        ret_if, ret_rax, returned = frozenset(), frozenset(), False
        ret_outs = None
        # the out-parameter stores of the returns where AL may be 0 / not 0
        ret_split = [None, None]
        not_intact: set = set()
        self._written = set()
        self._leaked = set()
        self._retptr = set()
        self._regptr = set()
        self._loads = set()
        while work:
            pk = heapq.heappop(work)[4]
            queued.discard(pk)
            st = states[pk]
            node = pk[0]
            self.budget -= 1
            if self.budget <= 0:
                return self._why("budget", start)
            addr, vk = node
            if _TRACE and start in _TRACE:
                print("trace", self.program.symbolize(addr), "IF", st.IF, "sp", st.sp, "esc", st.esc,
                      "slots", st.slots, "ptrs", st.ptrs, "sptr", st.sptr)
            try:
                kind, val = self._decode(node)
            except CfgError as e:
                return self._why(f"cfg error {e}", addr)
            succ: list = []  # (node, state)
            if kind == "site":
                for i in val:
                    succ.append(((addr, (addr, i)), st))
                if not val:
                    continue
            else:
                ci = val
                if ci is None:
                    return self._why("undecodable", addr)
                out = self._step(ci, node, st, depth, assumed, st.esc)
                if out == "escape":
                    if _DEBUG:
                        self._why(f"frame escapes: {ci.mnemonic} {ci.op_str}", addr)
                    out = self._step(ci, node, self._escape(st), depth, assumed, True)
                if out is None:
                    return self._why(f"step {ci.mnemonic} {ci.op_str}", addr)
                if vk is None and prog.has_fixup(addr):
                    fx = self._fixup(addr)
                    if fx is None:
                        return self._why("fixup unknown", addr)
                    succ.append(((fx, None), st))
                for item in out:
                    if item[0] == "ret":
                        returned = True
                        not_intact |= set(CALLER_SAVED) - item[4]
                        ret_if = _join(ret_if, item[1])
                        ret_rax = _join(ret_rax, item[2]) if ret_rax is not TOP else TOP
                        ret_outs = _join_out_map(ret_outs, item[3])
                        # AL may be 0 unless "nz"; may be non-zero unless
                        # "z"/"bz" (the class of RAX at this return)
                        if item[5] != "nz":
                            ret_split[0] = _join_out_map(ret_split[0], item[3])
                        if item[5] not in ("z", "bz"):
                            ret_split[1] = _join_out_map(ret_split[1], item[3])
                        if ret_if is TOP:
                            return self._why("ret with unknown IF", addr)
                    else:
                        succ.append(item)
            for n2, s2 in succ:
                s2 = s2.copy() if s2 is st else s2
                s2.IF = s2.norm(s2.IF)
                part = None
                if part0 is not None:
                    part = frozenset(s2.bv.items())
                    seen = parts.setdefault(n2, set())
                    if part not in seen:
                        if len(seen) >= MAX_PARTS:
                            part = "*"
                        seen.add(part)
                k2 = (n2, part)
                old = states.get(k2)
                new = s2 if old is None else _join_states(old, s2, self._ctx == "A")
                if old is None or not _same(new, old):
                    states[k2] = new
                    if k2 not in queued:
                        queued.add(k2)
                        heapq.heappush(work, (n2[0], n2[1] is not None, n2[1] or (),
                                              0 if part is None else part_ids.setdefault(part, len(part_ids)), k2))
        # the caller-saved registers some return does not hand back with
        # their entry value (flow-sensitive: a lazy or unknown call takes
        # them all, a pop restores only the register's own pushed value)
        written = frozenset(not_intact)
        # out-parameters: per argument, None when its value leaked anywhere
        # (even on a path that does not return), else what each return
        # path stored through it (joined; an unchanged word is ("*", a, d))
        def out_summary(rets):
            outs: dict = {a: None for a in self._leaked}
            for (a, d), t in (rets or {}).items():
                if a not in self._leaked:
                    outs[a] = (outs.get(a) or frozenset()) | {(d, t)}
            for a in self._retptr - self._leaked:
                outs[a] = (outs.get(a) or frozenset()) | {(RET, TOP)}
            for a, r in self._regptr:
                if a not in self._leaked:
                    outs[a] = (outs.get(a) or frozenset()) | {(("reg", r), TOP)}
            for a, d in self._loads:
                if a not in self._leaked:
                    outs[a] = (outs.get(a) or frozenset()) | {(("ld", d), TOP)}
            return outs

        outs = out_summary(ret_outs)
        # per returned AL (0, not 0): the same summary over the returns
        # that may return it; None for a side no return takes (the caller
        # drops that branch)
        self._split = tuple(None if r is None else out_summary(r) for r in ret_split) \
            if part0 is not None and returned else None
        if not returned:
            # no return: the caller never continues (a noreturn function)
            return (frozenset(), frozenset(), written, outs)
        if not self._frame_ok(start):
            # a `ret` (return thunk, tail call) the walk took for the return
            # may pop another word than the return address its caller
            # pushed (_ret_home): the result does not hold, and the
            # function may not return home (_frame_bad, _call).  Asked
            # here, once the reading has a result, rather than at each
            # return: a reading that gives up does not pay for the walk
            # (6.12's capped readings of get_signal, __schedule)
            self._frame_bad.add(start)
            return self._why("frame", start)
        return (ret_if, ret_rax, written, outs)

    def _escape(self, st: _St) -> _St:
        """The state at an instruction that leaks a pointer into this
        function's frame (flow-sensitive escape).  Every slot is forgotten
        here and the state is marked escaped for the rest of every path
        through it (a join keeps the mark): from here on the slots are read
        only as the escaped walk reads them (forgotten at every call and at
        every store not known to target the frame, assumption abi-frames).
        Sound: before the leak no code but this function's own holds an
        address in its frame (every way one is made or passed on is a
        tracked pointer use, _ptr_uses/_call_ptrs, and an untracked one is
        this very leak), so a slot read before it is exact; a loop that
        brings the leak back to earlier code joins the escaped state into
        it, so no instruction reachable after the leak is read unescaped."""
        s = st.copy()
        s.esc = True
        self._forget(s)
        return s

    def _arity(self, t: int):
        """How many argument registers t's BTF prototype declares, when it
        describes compiled C (btf.function_described: not pahole's `void
        f(void)` placeholder for an assembly function) under a name no other
        function has; else None.  Under assumption c-prototype-args such a
        function never reads, stores or passes on (to its own callees, a
        static call's target included: static_call_update() type-checks it
        against the key's C type) the argument registers past those."""
        hit = self._arity_memo.get(t, -1)
        if hit != -1:
            return hit
        out = None
        name = self.program.start_name(t)
        btf = getattr(self.program.image, "btf", None)
        if name and btf is not None:
            if self._dups is None:
                import collections  # noqa: PLC0415

                counts = collections.Counter(n for _a, _s, n in self.program.symbols._sorted)
                self._dups = {n for n, c in counts.items() if c > 1}
            if name not in self._dups:
                try:
                    if btf.function_described(name):
                        out = btf.function_arguments(name)
                except Exception:  # noqa: BLE001 (an unreadable BTF type: not described)
                    out = None
        self._arity_memo[t] = out
        return out

    def _clean(self, t: int, assumed: set) -> bool:
        """Whether no instruction reachable from t, through its branches
        and direct calls (every patch-site candidate but Xen PV's), may
        change IF: then t returns with IF as it found it.  A stateless walk
        (each instruction once).  Unclean: an instruction of _UNCLEAN, an
        indirect jump, a call into the syscall dispatch, code that cannot
        be decoded, or more than MAX_CLEAN instructions.  A call the image
        does not fix (indirect, retpoline thunk, static call) keeps IF
        under assumption irq-flag-preserved (its sites go to `assumed`).
        A `ud2` resumes with IF unchanged or dies; a fault with a fixup
        continues with IF unchanged (see the module docstring), and the
        fixup is walked too.  Memo: a root whose walk found nothing makes
        every function it reached clean (their closures are inside its);
        a root found unclean is unclean (others stay unknown)."""
        memo = self._clean_memo
        hit = memo.get(t)
        if hit is not None:
            if hit:
                assumed |= self._clean_assumed.get(t, set())
            return hit
        prog = self.program
        seen: set = set()
        funcs = {t}
        sites: set = set()
        work = [(t, None)]
        ok = True
        while work and ok:
            node = work.pop()
            if node in seen:
                continue
            seen.add(node)
            if len(seen) > MAX_CLEAN:
                ok = False
                break
            addr, vk = node
            try:
                kind, val = self._decode(node)
            except CfgError:
                ok = False
                break
            if kind == "site":
                work += [(addr, (addr, i)) for i in val]
                continue
            ci = val
            if ci is None:
                ok = False
                break
            m = ci.mnemonic
            if m in _UNCLEAN or m.startswith(("iret", "sysret")):
                ok = False
                break
            if vk is None and prog.has_fixup(addr):
                fx = self._fixup(addr)
                if fx is None:
                    ok = False
                    break
                work.append((fx, None))
            fall = self._fall(ci, node)
            ops = ci.operands
            tgt = ops[0].imm & 0xFFFFFFFFFFFFFFFF if len(ops) == 1 and ops[0].type == capstone.x86.X86_OP_IMM \
                else None
            if m.startswith("ret"):
                continue
            if m == "ud2":
                if not (vk is None and prog.after_ud2(addr) == "dies"):
                    work.append(fall)
                continue
            if m == "hlt":
                work.append(fall)
                continue
            if m == "call":
                if tgt is not None and vk is not None and vk[0] <= tgt < vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
                    work.append(target_node(prog, tgt, vk))
                    continue
                if tgt is not None and tgt in prog.dispatch:
                    ok = False
                    break
                if tgt is None or prog.runtime_target(tgt):
                    sites.add(addr)
                else:
                    hit = memo.get(tgt)
                    if hit is False:
                        ok = False
                        break
                    if hit is None:
                        funcs.add(tgt)
                        work.append((tgt, None))
                    else:
                        sites |= self._clean_assumed.get(tgt, set())
                work.append(fall)
                continue
            if m == "jmp":
                if tgt is None:
                    ok = False
                    break
                if prog.is_return_thunk(tgt, jump=True):
                    continue
                if prog.runtime_target(tgt):
                    sites.add(addr)
                    continue
                if tgt in prog.dispatch:
                    ok = False
                    break
                work.append(target_node(prog, tgt, vk))
                continue
            if is_jump(ci):
                if tgt is None:
                    ok = False
                    break
                work += [target_node(prog, tgt, vk), fall]
                continue
            work.append(fall)
        # every function the walk entered (the root, the targets of its
        # calls; its tail calls with it) returns to its caller: a `ret`
        # the walk ended a path at is a return (_frame_ok)
        if ok and not all(self._frame_ok(f) for f in funcs):
            ok = False
            self._frame_bad.add(t)  # (a function of its closure may not return home)
        if ok:
            for f in funcs:
                memo[f] = True
                self._clean_assumed[f] = sites
            assumed |= sites
        else:
            memo[t] = False
        return ok

    # -- frame safety: a `ret` is the function's return ------------------------------
    def _frame_ok(self, t: int) -> bool:
        """Whether every way t leaves its code is a return to the address
        its caller pushed, with RSP back at t's entry and RBP as t found it
        (so its caller goes on at the call's fall-through, in its own
        frame): t's own code passes _frame_walk, and so does the code of
        every function it tail-calls (a jump at RSP = entry to another
        function's start, which returns to t's caller).  Calls t makes are
        not followed here: every user of the answer checks each function
        it reads on its own (_clean, _quiet: every function of the closure
        they walked; a summary: its function, when the reading has a
        result, and a callee gone past without one is not known bad,
        _home_bad).

        Why: the IF walks take a `ret` (a `jmp` to a return thunk, a tail
        call) for the function's return, and a call for a call that comes
        back to its fall-through.  `push $1f; ret` (adv_r90_sct_pushret_sti),
        `movq $1f,(%rsp); ret` (adv_r92_retslot_store_sti) or a callee that
        pops its own return address run other code instead, which a walk
        that ends the path there never reads.  Memoised per function."""
        memo = self._frame_memo
        hit = memo.get(t)
        if hit is not None:
            return hit
        seen, todo = {t}, [t]
        while todo:
            f = todo.pop()
            if memo.get(f) is True:
                continue  # (its tail calls checked with it)
            ok, tails = self._frame_local(f)
            if not ok:
                memo[t] = False
                return False
            for u in tails - seen:
                seen.add(u)
                todo.append(u)
        for f in seen:
            memo[f] = True
        return True

    def _frame_local(self, t: int):
        """(_frame_walk(t), memoised): whether t's own code keeps its frame,
        and the functions it tail-calls."""
        hit = self._frame_local_memo.get(t)
        if hit is None:
            hit = self._frame_local_memo[t] = self._frame_walk(t)
        return hit

    def _home_bad(self, t: int) -> bool:
        """Whether a direct callee t is known not to come back to its
        call's fall-through: its frame walk failed (_frame_ok, asked by a
        reading of it: a summary's return, _clean, _quiet), or a reading of
        it met a callee that may not (_frame_bad: a summary's call, a
        _clean or _quiet closure).  Nothing is walked for the question: a
        callee no walk read returns home under assumption abi-callee-saved
        (as a summarised callee's unread code does, summary.py), and
        walking every such callee's code took ~0.4 s on Debian 6.1."""
        return t in self._frame_bad or self._frame_memo.get(t) is False

    def _ret_home(self, s: _St) -> bool:
        """At a return of the function being summarised (a `ret`, a `jmp` to
        a return thunk, a tail call): False when RSP is known and not at
        the entry (the word it pops is not the return address: `push $1f;
        ret`), the function then remembered as one that may not return
        home (_frame_bad: a caller whose reading of it gives up does not go
        on past the call, _call).  Otherwise the return is taken, and the
        summary is kept only if the function's frame walk passes
        (_analyse_once, once per reading that returns a result: _frame_ok
        covers RSP unknown here, an alloca restored from the frame pointer
        as in Debian 6.1's __do_fast_syscall_32, and a return address
        overwritten in place, `movq $1f,(%rsp); ret`)."""
        if s.sp is not None and s.sp != 0:
            if self._cur is not None:
                self._frame_bad.add(self._cur)
            return False
        return True

    def _frame_walk(self, t: int):
        """(whether t's own code keeps its frame, the functions it
        tail-calls): an intra-procedural walk from t (branches, every
        patch-site candidate but Xen PV's as the other walks, exception
        fixups) with one state per instruction (_frame_step), two paths'
        states joined where they meet (go).

        Sound for what it claims (every exit of t's code is a return to
        the address t's caller pushed, RSP at t's entry, RBP as found), by
        induction over t's execution, given that each callee comes back to
        its call's fall-through with RSP and RBP as it found them (each is
        checked by the walk's users; a callee the image does not fix, and
        code no analysis reads, by assumption abi-callee-saved) and
        assumption abi-frames for stores through registers other than RSP
        and RBP (the return address is never handed out: no pointer to it
        is tracked here, and a compiled C function stores into its own
        frame only through RSP, RBP or pointers to its locals):
        - RSP: its distance d below the entry RSP is exact or a lower bound
          (after an alloca or a realignment, which move RSP down only:
          see _frame_step); it never goes above the entry (d < 0: the
          return address popped or skipped), and the stack below RSP is
          never the frame's (an interrupt frame may overwrite it);
        - every store through RSP, or through RBP while it is a known copy
          of RSP, lands below the entry RSP (the return address is at the
          entry RSP, the caller's frame above it): the word a `ret` at
          d = 0 pops is the one the call pushed;
        - RBP: a copy of RSP at a known d, or not a stack address the
          walk knows; `leave` and a restore of RSP from it need the copy;
          whether it holds its entry value (a `push %rbp` of it, not
          overwritten, popped or loaded back from that slot);
        - an exit (`ret`, a return thunk, a tail call to a function start,
          an indirect tail call: a callee that returns to t's caller)
          needs d = 0 exactly and RBP's entry value; `ret imm`, a far
          return, an IRET other than sync_core()'s iret-to-self, SYSRET
          and the like fail it."""
        states: dict = {}
        work: list = []
        tails: set = set()
        why = None

        def go(n2, s2):
            old = states.get(n2)
            if old == s2:
                return
            if old is not None:
                # RSP's d: the lower of the two, a lower bound unless both
                # are the same exact one (6.1 __do_fast_syscall_32: the
                # static key that skips the alloca joins the path through
                # it); RBP as a frame copy: the same on both ways, else it
                # may be one at an offset not known ("?": nothing may use
                # it as the frame's); what is known of RBP's entry value and
                # of the alloca's register: only what both ways know.  Each
                # part only ever weakens (d is at least 0), so the walk ends
                d = min(old[0], s2[0])
                ex = old[1] and s2[1] and old[0] == s2[0]
                bp = old[2] if old[2] == s2[2] else "?"
                # (a saved slot stays one while it is at or above RSP)
                rsave = old[4] if old[4] == s2[4] and (old[4] is None or old[4] <= d) else None
                # copies of RSP: a register that may be one on either way
                # stays one, its offset kept only where both ways agree
                cp = dict(old[6])
                for r, off in s2[6]:
                    cp[r] = off if cp.get(r, off) == off else None
                for r in cp.keys() - {x for x, _o in s2[6]}:
                    cp[r] = None
                s2 = (d, ex, bp, old[3] and s2[3], rsave, old[5] if old[5] == s2[5] else None,
                      frozenset(cp.items()))
                if s2 == old:
                    return
            states[n2] = s2
            work.append(n2)

        # (d, d exact, RBP's d (None: not a stack address the walk knows,
        # "?": one at an offset not known), RBP holds its entry value, the d
        # of the slot holding RBP's entry value or None, (register, bound)
        # of a register holding an unsigned value at most bound, or None,
        # the registers but RSP and RBP that may hold a copy of RSP as
        # (register, its offset from the entry RSP or None: not known))
        go((t, None), (0, True, None, True, None, None, frozenset()))
        prog = self.program
        steps = 0
        while work:
            node = work.pop()
            st = states[node]
            steps += 1
            if steps > MAX_FRAME:
                why = "size"
                break
            addr, vk = node
            try:
                kind, val = self._frame_decode(node, st[5] is not None or bool(st[6]))
            except CfgError:
                why = "cfg error"
                break
            if kind == "site":
                for i in val:
                    go((addr, (addr, i)), st)
                continue
            if kind == "insn" and val is None:
                why = "undecodable"
                break
            out = []
            if vk is None and prog.has_fixup(addr):
                # a fault goes on at each fixup with the registers as before
                # it, but those the handler writes (program.fixup_paths)
                for fx, regs, moved in prog.fixup_paths(addr):
                    if moved or regs is None or "rsp" in regs:
                        why = "a fixup that may move RSP"
                        break
                    s2 = st if "rbp" not in regs else (st[0], st[1], None, False) + st[4:]
                    if s2[5] is not None and s2[5][0] in regs:
                        s2 = s2[:5] + (None,) + s2[6:]
                    s2 = s2[:6] + (frozenset(c for c in s2[6] if c[0] not in regs),)
                    out.append(((fx, None), s2))
                if why is not None:
                    break
            if kind == "lite":
                # (neither RSP nor RBP, no store through them, no branch:
                # the state goes on as it is)
                nxt = addr + val
                out.append(((nxt, None) if vk is not None and nxt >= vk[0] + len(
                    prog.site_choices(vk[0])[vk[1]][0]) else (nxt, vk), st))
            else:
                more = self._frame_step(val, node, st, tails)
                if isinstance(more, str):
                    why = f"{val.mnemonic} {val.op_str}: {more}"
                    break
                out += more
            for n2, s2 in out:
                go(n2, s2)
        if why is not None:
            if _DEBUG:
                self._why(f"frame: {why} (in {self.program.symbolize(t)})", node[0])
            return False, frozenset()
        return True, frozenset(tails)

    def _frame_decode(self, node, full: bool):
        """_decode(node) for _frame_walk, keeping nothing new: the
        instruction the IF walks decoded there if any; else a lite decode,
        ("lite", its size) when it is nothing the frame walk looks into
        (_frame_relevant: no stack or control-transfer mnemonic, no RSP or
        RBP named, and no alloca register followed: `full`), else a full
        decode not kept.  (Keeping them was ~6000 more decoded instructions
        on Debian 6.1 generic, whose memory pushed a refinement round over
        its budget.)"""
        hit = self._dec.get(node)
        if hit is not None:
            return hit
        prog = self.program
        addr, vk = node
        if vk is None and addr in prog.sites:
            return self._decode(node)
        data = prog.fetch(addr, 16) if vk is None else prog.site_choices(vk[0])[vk[1]][0][addr - vk[0]:]
        if prefixed_system_insn(data):
            return "insn", None  # (ERETS read as `clac`: as _decode)
        if vk is None and prog._thunk_size and 0x90 in data:
            ci = disasm_one(self.md, data, addr)
            if ci is not None and 0x90 in data[:ci.size] and prog.pad_entry(addr, ci.size):
                return "insn", _pad_insn(prog, ci, addr)
        if not full:
            lite = next(iter(lite_decode(self.md, data, addr, 1)), None)
            if lite is not None and not _frame_relevant(lite[2], lite[3]):
                return "lite", lite[1]
        ci = disasm_one(self.md, data, addr)
        if ci is None and data[:3] == b"\x0f\x01\xe8":
            ci = _NoOperands("serialize", addr, 3)
        return "insn", ci

    def _frame_writes(self, ci):
        """_wnames(ci), without caching an instruction _frame_decode did
        not keep."""
        hit = self._wn.get(id(ci))
        if hit is not None and hit[0] is ci:
            return hit[1]
        from .tscompat import _IMPLICIT_WRITES_OF, _summary_tables  # noqa: PLC0415
        gpr64, _iw, unknown = _summary_tables()
        names = {self._reg(ci, r) for r in ci.regs_access()[1]} | set(_IMPLICIT_WRITES_OF(ci.mnemonic))
        if ci.mnemonic.split(" ")[-1] in unknown:
            names |= set(gpr64.values())
        return frozenset(names)

    def _frame_step(self, ci, node, st, tails):
        """[(successor, state)] after ci in _frame_walk, or why it fails."""
        prog = self.program
        X = capstone.x86
        d, exact, bp, rin, rsave, amt, cp = st
        copies = dict(cp)
        d_before, exact0, bp0 = d, exact, bp  # (RSP and RBP as the instruction reads them)
        addr, vk = node
        m = ci.mnemonic
        mb = m.split(" ")[-1]
        ops = ci.operands
        fall = self._fall(ci, node)
        rsp, rbp = X.X86_REG_RSP, X.X86_REG_RBP
        out = []
        if mb in ("push", "pop", "pushf", "popf", "pushfq", "popfq", "ret", "call", "leave", "enter", "iretq") \
                and operand_size_prefixed(bytes(ci.bytes)):
            return "an operand-size prefix"  # (a 2-byte push, or a branch the CPU decides)
        if mb.startswith(("iret", "sysret", "sysexit", "retf", "lret", "ljmp", "lcall", "syscall", "sysenter")) \
                or mb in ("enter", "int", "int1", "into", "vmlaunch", "vmresume", "vmrun"):
            if mb == "iretq" and vk is None and self._iret_self(addr):
                # sync_core()'s iret-to-self pops the five words it pushed
                # (RSP as before them): on at the next instruction
                out.append((fall, (d - 40, exact, bp, rin, rsave, amt, cp)))
                return out
            return "leaves other than by a return"
        if mb == "int3":
            return out  # (a trap: the path ends)
        if mb == "ud2":
            if not (vk is None and prog.after_ud2(addr) == "dies"):
                out.append((fall, st))
            return out
        w = self._frame_writes(ci)

        # stores: through RSP, or RBP while it is a known copy of RSP, below
        # the entry RSP only; the slot holding RBP's entry value is lost by
        # a store that may reach it
        d_mem = d - 8 if mb == "pop" else d  # (a pop's address uses RSP after it, SDM POP)
        flat = (0, X.X86_REG_SS, X.X86_REG_DS, X.X86_REG_ES, X.X86_REG_CS)
        stack_regs = {X.X86_REG_RSP, X.X86_REG_ESP, X.X86_REG_RBP, X.X86_REG_EBP}
        save = None
        for k, op in enumerate(ops):
            if op.type != X.X86_OP_MEM or not memory_written(m, k, bool(op.access & capstone.CS_AC_WRITE)):
                continue
            mem = op.mem
            frame_ptr = (X.X86_REG_RSP, X.X86_REG_ESP) + ((X.X86_REG_RBP, X.X86_REG_EBP) if bp is not None else ())
            if mem.base in (X.X86_REG_RBP, X.X86_REG_EBP) and bp == "?":
                return "a store through RBP, which may be a stack address"
            if mem.base in (X.X86_REG_RBP, X.X86_REG_EBP) and bp is None and rin:
                # RBP's entry value: the caller's frame pointer, if it keeps
                # one (8(%rbp) its return address: adv_r95_entry_rbp_retslot_sti);
                # compiled code never stores through a callee-saved
                # register's entry value
                return "a store through RBP's entry value (the caller's frame)"
            named = {self._reg(ci, r) for r in (mem.base, mem.index) if r}
            if named & copies.keys():
                # through a copy of RSP (`mov %rsp,%rsi; mov %rcx,(%rsi)`:
                # adv_r95_retslot_rspcopy_sti): below the entry RSP only
                off = copies.get(self._reg(ci, mem.base)) if mem.base else None
                extent = store_extent(m, op.size)
                if mem.index != 0 or mem.segment not in flat or extent is None or off is None or \
                        addr32_memory(ci):
                    return "a store through a copy of RSP at an offset not known"
                if off + mem.disp + extent > 0:
                    return "a store through a copy of RSP at or above the return address"
                if rsave is not None and off + mem.disp + extent > -rsave and off + mem.disp < -rsave + 8:
                    rsave = None  # (it may overwrite RBP's saved entry value)
                continue

            if not (mem.base in frame_ptr or mem.index in frame_ptr or (mem.segment not in flat and (
                    mem.base in stack_regs or mem.index in stack_regs))):
                continue  # (through another register: assumption abi-frames)
            extent = store_extent(m, op.size)
            if mem.index != 0 or mem.segment not in flat or extent is None or addr32_memory(ci) \
                    or mem.base not in (rsp, rbp):
                # (indexed, a segment base added, a 32-bit address, no
                # fixed size: anywhere in the frame, the return address too)
                return "a store into the frame at an offset not known"
            # the store's offset from the entry RSP: exact, or (RSP-relative
            # with d a lower bound) the highest it may be
            lo = mem.disp - (d_mem if mem.base == rsp else bp)
            if lo + extent > 0:
                return "a store at or above the return address"
            if rsave is not None and lo + extent > -rsave and (lo < -rsave + 8 or (mem.base == rsp and not exact)):
                rsave = None  # (it may overwrite RBP's saved entry value)
            if m == "mov" and op.size == 8 and len(ops) == 2 and ops[1].type == X.X86_OP_REG \
                    and ops[1].reg == rbp and rin and (mem.base == rbp or exact):
                save = -lo  # RBP's entry value spilled to a slot
        if save is not None:
            rsave = save
        if mb in IMPLICIT_MEMORY_STORES and any(
                op.type == X.X86_OP_REG and op.reg in stack_regs for op in ops):
            return "a store into the frame at an offset not known"
        if (mb in IMPLICIT_MEMORY_STORES or mb.startswith("stos") or mb in ("movsb", "movsw", "movsd", "movsq")) \
                and "rdi" in copies:
            return "a string store through a copy of RSP"

        # control flow
        t = ops[0].imm & 0xFFFFFFFFFFFFFFFF if len(ops) == 1 and ops[0].type == X.X86_OP_IMM else None
        home = exact and d == 0 and rin
        if mb in ("ret", "retq"):
            if ops and not (ops[0].type == X.X86_OP_IMM and ops[0].imm == 0):
                return "`ret imm`"
            return out if home else "a return not at the entry RSP"
        if mb == "call":
            if t is not None and vk is not None and vk[0] <= t < vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
                # RSB stuffing's `call 1f` inside a replacement: a push and
                # a jump (its int3 never runs)
                out.append((target_node(prog, t, vk), (d + 8, exact, bp, rin, rsave, None, cp)))
                return out
            if t is not None and t == fall[0]:
                return "a call that pushes its own next instruction"
            if t is not None and prog.start_name(t) is not None and self._noreturn(t):
                return out
            # the callee comes back here with RSP and RBP as it found them
            # (its own check), every caller-saved register possibly written
            # (a copy of RSP in a caller-saved register is gone: what the
            # callee leaves there is no copy, abi-frames)
            out.append((fall, (d, exact, bp, rin, rsave, None,
                               frozenset(c for c in cp if c[0] not in CALLER_SAVED))))
            return out
        if mb == "jmp":
            if t is None:
                # an indirect tail call (a callee the image does not fix)
                return out if home else "an indirect jump not at the entry RSP"
            if vk is not None and vk[0] <= t < vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
                out.append((target_node(prog, t, vk), st))
                return out
            if prog.is_return_thunk(t, jump=True):
                return out if home else "a return thunk not at the entry RSP"
            name = prog.start_name(t)
            unfixed = t in prog.dispatch or prog.runtime_target(t)
            if name is not None and t != addr and home:
                # a tail call: the target returns to this function's caller
                # (checked with it, unless the image does not fix it)
                if not unfixed:
                    tails.add(t)
                return out
            if unfixed:
                return "a tail call not at the entry RSP"
            # a jump within the frame (a `.cold` part, an inner label): the
            # code there runs in it
            out.append(((t, None), (d, exact, bp, rin, rsave, amt, cp)))
            return out
        if is_jump(ci) or mb == "xbegin":
            # (a jcc, loop, jrcxz; xbegin's abort goes on at its target with
            # RSP as at the xbegin)
            if t is None:
                return "an indirect branch"
            tn = target_node(prog, t, vk)
            out += [(tn, (d, exact, bp, rin, rsave, amt, cp)), (fall, (d, exact, bp, rin, rsave, amt, cp))]
            return out

        # RBP
        reg0 = ops[0].reg if ops and ops[0].type == X.X86_OP_REG else None
        if mb == "leave":
            if not isinstance(bp, int):
                return "`leave` with RBP not a known copy of RSP"
            rin = rsave == bp
            d, exact, bp = bp - 8, True, None
        elif mb == "pop" and reg0 == rbp:
            rin = exact and rsave == d
            bp = None
        elif "rbp" in w:
            rin = False
            if m == "mov" and reg0 == rbp and ops[1].type == X.X86_OP_REG and ops[1].reg == rsp:
                if not exact:
                    return "`mov %rsp,%rbp` at an RSP not known"
                bp = d
            elif m == "lea" and reg0 == rbp and ops[1].mem.base == rsp and ops[1].mem.index == 0 \
                    and ops[1].mem.segment in flat:
                if not exact:
                    return "`lea (%rsp),%rbp` at an RSP not known"
                bp = d - ops[1].mem.disp
            else:
                if m == "mov" and reg0 == rbp and ops[1].type == X.X86_OP_MEM and ops[1].size == 8 \
                        and ops[1].mem.index == 0 and ops[1].mem.segment in flat and rsave is not None and (
                            (ops[1].mem.base == rsp and exact and d - ops[1].mem.disp == rsave)
                            or (ops[1].mem.base == rbp and isinstance(bp, int) and bp - ops[1].mem.disp == rsave)):
                    rin = True  # its entry value loaded back from its slot
                bp = None
        # RSP
        if mb in ("push", "pushf", "pushfq"):
            if mb == "push" and reg0 == rbp and rin and exact:
                rsave = d + 8
            d += 8
        elif mb in ("pop", "popf", "popfq"):
            if reg0 == rsp or (reg0 is not None and self._reg(ci, reg0) == "rsp"):
                return "`pop %rsp`"
            d -= 8
        elif mb == "leave":
            pass
        elif "rsp" in w:
            src = ops[1] if len(ops) == 2 else None
            if reg0 != rsp or src is None:
                return "RSP written"
            if m in ("add", "sub") and src.type == X.X86_OP_IMM:
                d += -src.imm if m == "add" else src.imm
            elif m == "lea" and src.mem.base == rsp and src.mem.index == 0 and src.mem.segment in flat:
                d -= src.mem.disp
            elif m == "lea" and src.mem.base == rbp and src.mem.index == 0 and src.mem.segment in flat \
                    and isinstance(bp, int):
                d, exact = bp - src.mem.disp, True
            elif m == "mov" and src.type == X.X86_OP_REG and src.reg == rbp and isinstance(bp, int):
                d, exact = bp, True
            elif m == "sub" and src.type == X.X86_OP_REG and src.size == 8 and amt is not None \
                    and self._reg(ci, src.reg) == amt[0]:
                # an alloca (add_random_kstack_offset()'s: `and $0x3ff,%eax;
                # add $0xf,%rax; and $0x7f8,%eax; sub %rax,%rsp`): RSP moves
                # down by an amount in [0, bound], the register's bound
                # checked (amt), so d is a lower bound from here on
                exact = False
            elif m == "and" and src.type == X.X86_OP_IMM and src.imm < 0:
                # a realignment (`and $-64,%rsp`): RSP moves down, by less
                # than the alignment
                exact = False
            else:
                return "RSP written"
        # (d < 0: the return address popped or skipped, with d a lower bound
        # possibly; a slot above RSP only holds RBP's entry value while RSP
        # is known to be below it)
        if d < 0:
            return "RSP above the entry RSP"
        if rsave is not None and (rsave > d):
            rsave = None
        # a register known to hold an unsigned value at most a bound (the
        # alloca's size: `and $imm`, then `add $imm`)
        if amt is not None and amt[0] in w:
            a0 = amt
            amt = None
            if m == "add" and reg0 is not None and self._reg(ci, reg0) == a0[0] and ops[0].size == 8 \
                    and ops[1].type == X.X86_OP_IMM and 0 <= ops[1].imm and a0[1] + ops[1].imm < 1 << 31:
                amt = (a0[0], a0[1] + ops[1].imm)
        if m == "and" and reg0 is not None and ops[0].size in (4, 8) and ops[1].type == X.X86_OP_IMM \
                and 0 <= ops[1].imm < 1 << 31:
            amt = (self._reg(ci, reg0), ops[1].imm)
        out.append((fall, (d, exact, bp, rin, rsave, amt, self._frame_copies(ci, w, copies, d_before, exact0, bp0))))
        return out

    _GPRS = frozenset(("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
                       "r15"))

    def _frame_copies(self, ci, w, copies: dict, d: int, exact: bool, bp) -> frozenset:
        """The copies of RSP after ci (_frame_walk's state): `mov %rsp,%r`
        and `lea k(%rsp),%r` at an exact d, the same through RBP while it is
        a known copy, a register copy of a copy, a constant added to or
        subtracted from one give the offset; any other write of a register
        by an instruction that reads RSP, RBP or a copy (arithmetic, xchg,
        an indexed lea) makes it a copy at an offset not known; every other
        write ends it.  (A copy spilled to memory and loaded back is not
        followed: abi-frames.)"""
        X = capstone.x86
        ops = ci.operands
        m = ci.mnemonic.split(" ")[-1]
        out = {r: o for r, o in copies.items() if r not in w}
        dst = self._reg(ci, ops[0].reg) if ops and ops[0].type == X.X86_OP_REG else None
        if dst in (None, "rsp", "rbp") or dst not in w:
            dst = None
        read = set()
        for op in ops[1:] if dst is not None else ops:
            if op.type == X.X86_OP_REG:
                read.add(self._reg(ci, op.reg))
            elif op.type == X.X86_OP_MEM and m == "lea":
                read |= {self._reg(ci, r) for r in (op.mem.base, op.mem.index) if r}
        stackish = read & ({"rsp"} | ({"rbp"} if bp is not None else set()) | copies.keys())
        if dst is not None and stackish:
            src = ops[1] if len(ops) == 2 else None
            off = None
            if src is not None and ops[0].size == 8:
                if m == "mov" and src.type == X.X86_OP_REG:
                    r = self._reg(ci, src.reg)
                    off = -d if r == "rsp" and exact else -bp if r == "rbp" and isinstance(bp, int) else \
                        copies.get(r)
                elif m == "lea" and src.mem.index == 0 and src.mem.segment == 0:
                    r = self._reg(ci, src.mem.base) if src.mem.base else None
                    base = -d if r == "rsp" and exact else -bp if r == "rbp" and isinstance(bp, int) else \
                        copies.get(r)
                    off = None if base is None else base + src.mem.disp
                elif m in ("add", "sub") and src.type == X.X86_OP_IMM and copies.get(dst) is not None:
                    off = copies[dst] + (src.imm if m == "add" else -src.imm)
            out[dst] = off
        # (an xchg's other register, any other register the instruction
        # writes while reading a copy: a copy at an offset not known)
        if stackish or (read & copies.keys()):
            for r in w - {"rsp", "rbp", "rflags"}:
                if r != dst and r in self._GPRS and (m.startswith(("xchg", "xadd", "cmpxchg")) or dst is None):
                    out[r] = None
        return frozenset(out.items())

    # -- assumption irqrestore-pairs (context "A") ---------------------------------
    def _quiet(self, t: int, assumed: set):
        """A stateless walk of t's closure for a call in context "A" with IF
        exactly 0 (as _clean, each instruction once): None when it may
        leave IF set, else (False, the call sites of irq-flag-preserved).
        Allowed beyond _clean: `cli` and `pushf`.  The caller (_call) then
        takes the callee's IF at return as 0, every caller-saved register
        written, every pointer handed over leaked.

        Sound without any assumption on flags words: entered with IF 0, no
        instruction the walk reads sets IF (an unread callee keeps IF:
        irq-flag-preserved), so t returns with IF 0 and every pushf in the
        closure saves 0 (the region's flags stay clean).  Until the
        thirtieth session an `sti` right after a bit-9 test (the restore
        idiom) was allowed too, its word taken for one lost through memory
        (irqrestore-pairs); the walk tracks no words, and review 135 built
        six ways to hand it a computed one (a callee's RAX, a spilled and
        reloaded word, a partial load, a caller's stack argument...).  None
        of the four real kernels' closures read here has an idiom
        (measured), so `sti` is refused.
        Memo per function: a closure found quiet makes every function it
        reached quiet; a failure makes the function where it was found
        and every function on the call path to it from the root not
        quiet."""
        memo = self._quiet_memo
        hit = memo.get(t, -1)
        if hit != -1:
            if hit is not None:
                assumed |= hit[1]
            return hit
        prog = self.program
        X = capstone.x86
        seen: set = set()
        parent = {t: None}
        owner = {(t, None): t}
        sites: set = set()
        # every edge walked (node -> its predecessors): an iret-to-self is
        # checked at the end to be entered only at its first instruction
        preds: dict = {}
        irets: list = []
        work = [((t, None), None)]
        bad_at = None
        why = "?"
        steps = 0
        while work:
            node, frm = work.pop()[:2]
            if frm is not None:
                preds.setdefault(node, set()).add(frm)
            if node in seen:
                continue
            seen.add(node)
            f = owner.get(node, t)
            steps += 1
            if steps > MAX_QUIET:
                bad_at, why = t, "size"
                break
            addr, vk = node
            try:
                kind, val = self._decode(node)
            except CfgError:
                bad_at = f
                break
            if kind == "site":
                for i in val:
                    n2 = (addr, (addr, i))
                    owner.setdefault(n2, f)
                    work.append((n2, node, None))
                continue
            ci = val
            if ci is None:
                bad_at = f
                break
            m = ci.mnemonic
            if m == "sti":
                bad_at, why = f, m
                break
            elif m in ("popf", "popfq"):
                # loads IF from a word this walk does not track: one built
                # or changed in front of it (`pushf; cli; ...; orq
                # $0x200,(%rsp); popf`, adv_r117_quiet_popf_or_if; `orb
                # $2,%ah; push %rax; popf`, adv_r118_quiet_popf_reg_or_if)
                # may set it.  Not quiet (neither Debian kernel's exit
                # closure needs one to be: measured)
                bad_at, why = f, m
                break
            elif m == "iretq" and vk is None and self._iret_self(addr):
                # sync_core()'s iret-to-self: the IRET pops the frame the
                # sequence before it built (its own SS, RSP, the RFLAGS of
                # its pushfq, CS, the next instruction): IF as it was,
                # control at the next instruction.  Checked at the end
                # that the sequence is entered only at its first
                # instruction (_iret_self_entered)
                irets.append(addr)
            elif m not in _QUIET_OK and (m in _UNCLEAN or m.startswith(("iret", "sysret"))):
                bad_at, why = f, m
                break
            fall = self._fall(ci, node)
            if vk is None and prog.has_fixup(addr):
                fx = self._fixup(addr)
                if fx is None:
                    bad_at = f
                    break
                owner.setdefault((fx, None), f)
                work.append(((fx, None), node, None))
            ops = ci.operands
            tgt = ops[0].imm & 0xFFFFFFFFFFFFFFFF if len(ops) == 1 and ops[0].type == X.X86_OP_IMM else None

            def go(n2, fn=f, frm=node):
                owner.setdefault(n2, fn)
                work.append((n2, frm, None))
            if m.startswith("ret"):
                continue
            if m == "ud2":
                if vk is None and self._warn_ud2(node):
                    # a WARN: IF is 0 here (the induction), so under
                    # assumption no-warn it is not reached: the path ends,
                    # recorded at the ud2 (as a sleeper call below)
                    sites.add(("no-warn", addr))
                    continue
                if not (vk is None and prog.after_ud2(addr) == "dies"):
                    go(fall)
                continue
            if m == "hlt":
                go(fall)
                continue
            if m == "call":
                if tgt is not None and vk is not None and vk[0] <= tgt < vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
                    go(target_node(prog, tgt, vk))
                    continue
                if tgt is not None and tgt in prog.dispatch:
                    bad_at = f
                    break
                if tgt is None or prog.runtime_target(tgt):
                    sites.add(addr)
                elif self._noreturn(tgt):
                    # a callee that never returns ends the path, read no
                    # further (as _step): nothing it does reaches a return
                    continue
                elif self._absent(tgt) is not None:
                    # a scheduler entry (a WARN reporter): IF is 0 at
                    # every instruction this walk reaches (the induction
                    # in the docstring), so under assumption
                    # no-sleep-irqs-off (no-warn) this call is not made:
                    # the path ends here, recorded at the call (in the
                    # memo's sites, so every caller reusing it records it
                    # too)
                    sites.add((self._absent(tgt), addr))
                    continue
                else:
                    h = memo.get(tgt, -1)
                    if h is None:
                        bad_at, why = f, "callee " + prog.symbolize(tgt)
                        break
                    if h == -1:
                        if tgt not in parent:
                            parent[tgt] = f
                        # (an entry: not an edge an `sti` may be checked by)
                        go((tgt, None), tgt, ("call", node))
                    else:
                        sites |= h[1]
                go(fall)
                continue
            if m == "jmp":
                if tgt is None:
                    bad_at = f
                    break
                if prog.is_return_thunk(tgt, jump=True):
                    continue
                if prog.runtime_target(tgt):
                    sites.add(addr)
                    continue
                if tgt in prog.dispatch:
                    bad_at = f
                    break
                if tgt != addr and prog.start_name(tgt) is not None and self._absent(tgt) is not None:
                    # a tail call of a scheduler entry / WARN reporter: as
                    # the call above
                    sites.add((self._absent(tgt), addr))
                    continue
                go(target_node(prog, tgt, vk))
                continue
            if is_jump(ci):
                if tgt is None:
                    bad_at = f
                    break
                tn = target_node(prog, tgt, vk)
                go(tn, frm=("jcc", node, m, "taken"))
                go(fall, frm=("jcc", node, m, "fall"))
                continue
            go(fall)
        if bad_at is None:
            for a in irets:
                if not self._iret_self_entered(a, preds):
                    bad_at, why = owner.get((a, None), t), "iretq " + prog.symbolize(a)
                    break
        if bad_at is None:
            # every function the walk entered returns to its caller (the
            # walk ended paths at their `ret`s and went on after each call):
            # _frame_ok, its tail calls with it
            for fn in parent:
                if not self._frame_ok(fn):
                    bad_at, why = fn, "frame " + prog.symbolize(fn)
                    break
        if bad_at is None:
            out = (False, frozenset(sites))
            for fn in parent:
                memo[fn] = out
            assumed |= sites
            return out
        if _DEBUG:
            chain, fn = [], bad_at
            while fn is not None:
                chain.append(prog.symbolize(fn))
                fn = parent.get(fn)
            self._why(f"quiet: not quiet at {prog.symbolize(node[0])}: {why} ({steps} steps) {' <- '.join(chain)}", t)
        fn = bad_at
        while fn is not None:
            memo[fn] = None
            if why.startswith("frame "):
                # (it calls, on some path, a function that may not return
                # home: it may not either, _home_bad)
                self._frame_bad.add(fn)
            fn = parent.get(fn)
        memo[t] = None
        if why.startswith("frame "):
            self._frame_bad.add(t)
        return None

    def _iret_self(self, addr) -> bool:
        """The `iretq` at addr ends sync_core()'s iret-to-self sequence
        (_IRET_SELF, its `push $1f` pushing addr + 2, the next
        instruction)."""
        start = addr - _IRET_SELF_OFFS[-1]
        try:
            b = self.program.fetch_raw(start, _IRET_SELF_OFFS[-1] + 2)
        except CfgError:
            return False
        return (b[:13] == _IRET_SELF and b[13] == 0x68 and b[18:20] == b"\x48\xcf"
                and int.from_bytes(b[14:18], "little", signed=True) & 0xFFFFFFFFFFFFFFFF == addr + 2)

    @staticmethod
    def _iret_self_entered(addr, preds) -> bool:
        """Every way into the instructions of the iret-to-self ending at
        addr (but its first) is the fall-through from the one before it:
        the frame the IRET pops is the one the sequence built.  (A way in
        from a patch site's candidate or a call would be another node:
        refused.)"""
        start = addr - _IRET_SELF_OFFS[-1]
        for prev, off in zip(_IRET_SELF_OFFS, _IRET_SELF_OFFS[1:]):
            if preds.get((start + off, None), set()) != {(start + prev, None)}:
                return False
        return True

    @staticmethod
    def _ptrs_maybe(s: _St, reg) -> bool:
        """Whether reg may hold a pointer the state tracks (into this
        frame or an argument's object), even only on some paths."""
        p = s.ptrs.get(reg)
        return bool(p) and any(x is not None for x in p)

    @staticmethod
    def _aliased(summ, regs) -> bool:
        """Whether a callee's summary uses the objects of two or more of
        regs (registers handed over that may point into one object): a
        store, load or copy through one (its out-parameter effect, summ[3]),
        a leak (None), or a "*" atom on it in its IF or RAX result."""
        sif, srax, _clob, outs = summ

        def used(r) -> bool:
            if outs is None or outs.get(r, frozenset()) is None or outs.get(r):
                return True
            return any(v is not TOP and any(isinstance(x, tuple) and x[0] == "*" and x[1] == r for x in v)
                       for v in (sif, srax))
        return sum(1 for r in regs if used(r)) > 1

    def _slot(self, s: _St, at):
        """The tag of the 8-byte frame word at `at`: the slot's, unknown
        (TOP) when no slot starts there but one overlaps it (a word read
        across two slots, or a byte test one byte off the saved flags
        word: adv_r73_byte_test_offset; never a lost word), else what a
        word the state has no tag for holds (_miss)."""
        if at in s.slots:
            return s.slots[at]
        if any(k is not None and k < at + 8 and k + 8 > at for k in s.slots):
            return TOP
        if at is not None and at + 8 > 0:
            # at or above the entry RSP: the return address, the caller's
            # frame, a stack argument (`pushq $0x200; call f`, where f
            # restores 8(%rsp): adv_r135_stack_arg_flags_lost) -- words
            # the caller wrote and this reading never saw, not words lost
            # through memory
            return TOP
        return self._miss()

    def _miss(self):
        """What a frame slot the state has no tag for holds: in context
        "A" a word lost through memory (LOST), else unknown (TOP)."""
        return LOSTSET if self._ctx == "A" else TOP

    def _lost_restore(self, tag):
        """An irq-restore (popf, the restore idiom's `sti`, a callee whose
        IF at return is the bit 9 of an argument) of a word whose tag is
        `tag`: in context "A" the lost part (LOST) restores 0, under
        assumption irqrestore-pairs (recorded as used: _region_ok decides
        whether the result may be kept).  Other elements keep their value.

        irqrestore-pairs: a flags word an irq-restore restores, when the
        analysis lost it through memory (a forgotten or never-written frame
        slot, an out-parameter or a load from memory it does not follow),
        was saved by a pushf executed on this CPU during the context-0 call
        being summarised (the region: the outermost context-"A" summary,
        entered with IF clear); the kernel's irqsave/irqrestore nesting
        discipline (which lockdep's irq-flags tracing checks at run time)
        guarantees it.  Its bit 9 is then the IF at that save.  Soundness,
        by induction over the region's execution: _region_ok keeps an
        "A" result only when every pushf (and every call, whose callee may
        save) the analysis reads in the region's closure runs with IF
        exactly 0 under this very rule; up to the first lost-word restore
        that would restore 1, the abstract run covers the real one, so
        every save before it saw IF = 0 and the restored word (saved in the
        region, by the assumption) has bit 9 = 0: there is no first one."""
        if tag is TOP or self._ctx != "A" or LOST not in tag:
            return tag
        self._af[0] = True
        return (tag - LOSTSET) | {0}

    def _save_check(self, s: _St):
        """A pushf, or a call (its callee may save), in context "A": the
        region's saves must all see IF exactly 0 (_lost_restore)."""
        if self._ctx == "A" and self._if_cond(s) != frozenset():
            self._af[1] = True

    def _unread_in_region(self):
        """A call in context "A" whose code the analysis does not read (an
        indirect or static call under irq-flag-preserved, a callee kept
        under irqs-off-callees): that its IF at return is as found says
        nothing of the pushfs inside it, which may run with IF set (`sti;
        pushf; pop; cli`, adv_r74_region_hook_save), so the region's
        induction (every save sees IF 0, _lost_restore) does not cover
        it: the region is bad and keeps no lost-word restore."""
        if self._ctx == "A":
            self._af[1] = True

    def _region_ok(self, key):
        """(whether the context-"A" summary `key` may be used as a region,
        whether its closure used irqrestore-pairs): not when some summary
        of its closure restored a lost word while some other save of the
        closure may see IF != 0 (_lost_restore).  Checked where a caller
        not in context "A" reads it: then no summary of its closure is
        still being analysed (a context-"A" closure reads only context-"A"
        summaries and IF-clean ones, which read none)."""
        used = bad = False
        seen, todo = {key}, [key]
        while todo:
            k = todo.pop()
            f = self.memo.get(("aflags", k))
            if f is None:
                return False, True  # (not complete: refused)
            used, bad = used or f[0], bad or f[1]
            for e in f[2] - seen:
                seen.add(e)
                todo.append(e)
        return not (used and bad), used

    def _forget(self, s: _St):
        """Every frame slot forgotten (the frame escaped, or a store through
        a pointer into it at an offset not known).  In context "A" a slot
        whose tag is only 0 and LOST becomes LOST (absent) and keeps its
        "bit 9 only" mark (b9s: the word the code stored there is a masked
        flags word; whatever it holds now is what the restore idiom
        restores); a slot holding a word known to the analysis that may
        have bit 9 set becomes TOP, never LOST (the assumption covers only
        lost words)."""
        if self._ctx != "A":
            s.slots, s.saved, s.sptr = {}, {}, {}
            return
        slots, b9s = {}, {}
        for k, v in s.slots.items():
            if v is not TOP and v <= {0, LOST}:
                if _b9s_valid(s, k):
                    slots[k] = b9s[k] = frozenset(LOSTSET)
            else:
                slots[k] = TOP
        s.slots, s.b9s, s.saved, s.sptr = slots, b9s, {}, {}

    def _is_sti(self, node) -> bool:
        """The instruction at node is `sti` (every candidate of a patch site)."""
        try:
            kind, val = self._decode(node)
            if kind == "site":
                return bool(val) and all(self._is_sti((node[0], (node[0], i))) for i in val)
            return val is not None and val.mnemonic == "sti"
        except CfgError:
            return False

    def _why(self, what, addr):
        if _DEBUG:
            print(f"irqflag: {self.program.symbolize(addr)}: {what}")
        return None

    def _fixup(self, addr):
        from ..image.patches import tables  # noqa: PLC0415 (image layer, read lazily)
        try:
            return tables(self.program.image).extable_fixups.get(addr)
        except Exception:  # noqa: BLE001 (no table: the fault's continuation is unknown)
            return None

    def _fall(self, ci, node):
        prog = self.program
        addr, vk = node
        nxt = addr + ci.size
        if vk is not None and nxt >= vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
            return (nxt, None)
        return (nxt, vk)

    def _reg(self, ci, r):
        hit = self._regname.get(r)
        if hit is None:
            n = ci.reg_name(r)
            hit = self._regname[r] = self.gpr64.get(n, n)
        return hit

    def _wnames(self, ci):
        """The 64-bit names of the registers ci writes (cached): capstone's
        regs_access() and the implicit destinations it omits (the
        summaries' table: cmpxchg's RAX, rdpkru's EAX/EDX, xlatb's AL, a
        rep prefix's RCX; adv_r70_cmpxchg_old_zero, adv_r70_rdpkru_flags);
        every general register for an instruction whose writes nobody
        lists (summary._UNKNOWN_REGS: vmrun, syscall, ...)."""
        hit = self._wn.get(id(ci))
        if hit is None or hit[0] is not ci:
            from .tscompat import _IMPLICIT_WRITES_OF, _summary_tables  # noqa: PLC0415
            gpr64, _iw, unknown = _summary_tables()
            names = {self._reg(ci, r) for r in self._access(ci)[1]} | set(_IMPLICIT_WRITES_OF(ci.mnemonic))
            if ci.mnemonic.split(" ")[-1] in unknown:
                names |= set(gpr64.values())
            hit = self._wn[id(ci)] = (ci, frozenset(names))
        return hit[1]

    def _access(self, ci):
        """ci.regs_access(), once per decoded instruction (capstone
        recomputes it at every call)."""
        hit = self._acc.get(id(ci))
        if hit is None or hit[0] is not ci:
            hit = self._acc[id(ci)] = (ci, ci.regs_access())
        return hit[1]

    def _step(self, ci, node, st: _St, depth, assumed, escaped):
        """[(successor node, state)] and ("ret", IF, RAX tag) items, None
        when the function's effect is unknown, "escape" when this
        instruction takes a stack address (re-run with escaped)."""
        prog = self.program
        X = capstone.x86
        m = ci.mnemonic
        ops = ci.operands
        fall = self._fall(ci, node)
        if m in ("push", "pop", "pushf", "popf", "pushfq", "popfq") and operand_size_prefixed(bytes(ci.bytes)):
            # a 0x66 prefix makes the push or pop 2 bytes (8 with REX.W):
            # the slots below are 8-byte ones, so the function's effect is
            # not known (review 41's popfw/pushfw)
            return None
        if addr32_memory(ci):
            return None  # (a 32-bit memory address: no model, cfg.addr32_memory; adv_r75_addr32_irq_test)
        s = st.copy()
        test, s.test = st.test, None
        flagsrc, s.setcc = st.setcc, None
        if s.b9 or s.bv:
            wr = CALLER_SAVED if m == "call" else self._wnames(ci)
            # a register written is no longer known to hold bit 9 only,
            # nor its value class (a call: every caller-saved register;
            # _call sets RAX's where a summary splits it)
            if s.b9:
                s.b9 = s.b9 - set(wr)
            if s.bv:
                s.bv = {k: v for k, v in s.bv.items() if k not in wr}
        rsp = X.X86_REG_RSP

        def tgt_of():
            if len(ops) == 1 and ops[0].type == X.X86_OP_IMM:
                return ops[0].imm & 0xFFFFFFFFFFFFFFFF
            return None

        # a stack address taken into a register: a tracked pointer
        # ("sp", offset from the entry RSP); its uses are checked below
        # (_ptr_uses) and at calls (_call), and only a use the analysis does
        # not follow makes the frame escape
        if not escaped and s.sp is not None and len(ops) == 2 and ops[0].type == X.X86_OP_REG \
                and ops[0].size == 8 and ops[0].reg != rsp and (
                    (m == "lea" and ops[1].mem.base == rsp and ops[1].mem.index == 0 and ops[1].mem.segment == 0)
                    or (m == "mov" and ops[1].type == X.X86_OP_REG and ops[1].reg == rsp)):
            dst = self._reg(ci, ops[0].reg)
            s.regs[dst] = TOP
            s.orig = s.orig - {dst}
            s.ptrs[dst] = frozenset({("sp", s.sp + (ops[1].mem.disp if m == "lea" else 0))})
            if self._written is not None:
                self._written.add(dst)
            return [(fall, s)]
        if not escaped and s.sp is not None and m == "lea" and ops[0].size == 8 and ops[1].mem.base == rsp \
                and ops[1].mem.index not in (0, rsp) and ops[1].mem.segment == 0 \
                and not s.ptrs.get(self._reg(ci, ops[1].mem.index)):
            # `lea 0x18(%rsp,%r9),%rax` (an array in the frame, indexed):
            # a pointer into the frame at an offset not known
            dst = self._reg(ci, ops[0].reg)
            s.regs[dst] = TOP
            s.orig = s.orig - {dst}
            s.ptrs[dst] = frozenset({("sp", None)})
            if self._written is not None:
                self._written.add(dst)
            return [(fall, s)]
        # a stack address taken
        if not escaped and m == "push" and ops and ops[0].type == X.X86_OP_REG and ops[0].reg == rsp:
            return "escape"  # `push %rsp`: a stack address in a slot, then anywhere
        if not escaped and m not in ("push", "pop", "call", "ret", "pushfq", "popfq", "pushf", "popf") and not (
                m in ("add", "sub") and ops and ops[0].type == X.X86_OP_REG and ops[0].reg == rsp):
            for op in ops[1:] if m != "lea" else ops[1:]:
                if op.type == X.X86_OP_REG and op.reg in (rsp, X.X86_REG_ESP):
                    return "escape"
            if m == "lea" and ops[1].mem.base == rsp and not (ops[0].type == X.X86_OP_REG and ops[0].reg == rsp):
                return "escape"

        def slot_write(off, tag, size=8):
            if s.sp is None:
                return
            lo, hi = s.sp + off, s.sp + off + max(size, 1)
            # every slot the store overlaps, whatever its width (a 16-byte
            # `movups` covers two: adv_r70_wide_store_slot); one it covers
            # only in part holds an unknown word now, not a lost one (a
            # byte `or` into a saved flags word: adv_r70_byte_or_slot)
            for k in [k for k in s.slots if k is not None and k < hi and k + 8 > lo]:
                if k == lo and size >= 8:
                    del s.slots[k]
                else:
                    s.slots[k] = TOP
            # (a store may put the very tag object a push marked back in the
            # slot with another value: the mark goes with any store)
            for k in [k for k in s.saved if abs(k - (s.sp + off)) < 8]:
                del s.saved[k]
            for k in [k for k in s.b9s if abs(k - (s.sp + off)) < 8]:
                del s.b9s[k]
            for k in [k for k in s.sptr if abs(k - (s.sp + off)) < 8]:
                if k == s.sp + off and size == 8:
                    del s.sptr[k]
                else:
                    # partly overwritten: what is left may still be used
                    s.sptr[k] = s.sptr[k] | {None}
            if off < 0:
                # below RSP: the next push, call or exception frame (a
                # fault with IF 0 still pushes one) may overwrite it, so it
                # holds an unknown word (TOP), never a lost one: a word this
                # code wrote is not one the irqrestore-pairs assumption
                # speaks of (`movq $0x202,-8(%rsp); sub $8,%rsp; popfq`,
                # adv_r133_below_rsp_popf_lost)
                s.slots[lo] = TOP
                return
            s.slots[lo] = tag if size >= 8 or tag is TOP else TOP

        def forget_slots():
            self._forget(s)

        if m in ("cli",):
            s.IF = frozenset({0})
            return [(fall, s)]
        if m in ("sti",):
            self._off_enable = True
            s.IF = s.norm(frozenset({1}))
            return [(fall, s)]
        if m in ("pushf", "pushfq"):
            self._save_check(s)
            if s.sp is not None:
                s.sp -= 8
                s.slots[s.sp] = s.IF
                s.b9s.pop(s.sp, None)
                s.sptr.pop(s.sp, None)
            return [(fall, s)]
        if m in ("popf", "popfq"):
            self._off_enable = True
            if s.sp is None:
                return None
            s.IF = s.norm(self._lost_restore(self._slot(s, s.sp)))
            s.sp += 8
            self._drop_below(s)
            return [(fall, s)]
        if m.startswith(("iret", "sysret", "retf", "lret", "ljmp", "lcall")) or m in ("swapgs", "syscall", "int3",
                                                                                     "int", "into", "vmcall",
                                                                                     "vmmcall", "hlt"):
            if m == "hlt":
                return [(fall, s)]  # an interrupt resumes it with IF as it was
            self._off_enable = True
            return None
        if m == "ud2":
            if node[1] is None and prog.after_ud2(node[0]) == "dies":
                return []
            if self._if_cond(s) == frozenset() and self._warn_ud2(node):
                # a WARN reached with IF exactly 0: under assumption
                # no-warn this path does not exist (_warn_ud2); recorded
                # here.  IF 0 only under argument atoms, or possibly 1:
                # it resumes with IF unchanged, as before
                assumed.add(("no-warn", node[0]))
                return []
            return [(fall, s)]
        if m.startswith("ret"):
            if not self._ret_home(s):
                # RSP known, not at the frame's entry: this `ret` pops
                # something other than the return address (`push $1f; ret`
                # jumps to 1f, adv_r90_sct_pushret_sti).  (RSP unknown here,
                # or a return address overwritten in place, `movq
                # $1f,(%rsp); ret`: the frame walk the result waits for,
                # _analyse_once)
                return None
            return self._ret(s, escaped)
        if m == "call":
            t = tgt_of()
            vk = node[1]
            if t is not None and vk is not None and vk[0] <= t < vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
                # RSB stuffing's `call 1f` inside a replacement: a push and a jump
                if s.sp is not None:
                    s.sp -= 8
                    s.slots[s.sp] = TOP
                return [(target_node(prog, t, vk), s)]
            return self._call(s, t, node, fall, depth, assumed, escaped)
        if m == "jmp":
            t = tgt_of()
            if t is None:
                return None
            if prog.is_return_thunk(t, jump=True):
                return self._ret(s, escaped) if self._ret_home(s) else None  # (a `ret`: as above)
            if self._is_function(t, node):
                if s.sp is not None and s.sp != 0:
                    # a tail call whose return does not come back to this
                    # frame's caller (or a jump into a `.cold` part: not
                    # followed; the frame walk, _frame_step, follows it)
                    return None
                out = self._call(s, t, node, None, depth, assumed, escaped)
                if out is None or out == "escape":
                    return out
                res = []
                for _n, o in out:
                    r = self._ret(o, escaped)
                    if r == "escape":
                        return r
                    res += r
                return res
            return [(target_node(prog, t, node[1]), s)]
        if is_jump(ci):
            t = tgt_of()
            if t is None:
                return None
            if m.startswith("loop"):
                # `loop` steps RCX: its bit 9 is unknown, a pointer there is
                # not followed
                s.regs["rcx"] = TOP
                s.orig = s.orig - {"rcx"}
                if s.ptrs.get("rcx") and self._leak(s, s.ptrs.pop("rcx"), escaped) == "escape":
                    return "escape"
            taken, nott = s, s.copy()
            if flagsrc is not None and m in ("je", "jne"):
                # ZF from `test %r,%r` of a register whose value class is
                # known, or after `sete/setne %r8` (_bv_sides): a side the
                # class rules out is dropped, the byte set is known per side
                sides = self._bv_sides(flagsrc, st, m == "je")
                if sides is None:
                    return []
                taken.bv.update(sides[0][1]) if sides[0] is not None else None
                nott.bv.update(sides[1][1]) if sides[1] is not None else None
                if sides[0] is None or sides[1] is None:
                    keep = (target_node(prog, t, node[1]), taken) if sides[0] is not None else (fall, nott)
                    if test is not None and test[1] == "zf":
                        bit_taken = 0 if m == "je" else 1
                        r = self._refine(keep[1], test[0], bit_taken if sides[0] is not None else bit_taken ^ 1,
                                         keep[0])
                        return [] if r is None else [(keep[0], r)]
                    return [keep]
            if test is not None and m in (("je", "jne") if test[1] == "zf" else ("jb", "jae")):
                tag, _flag = test
                # je after a ZF test (test/and/cmp $0: ZF set exactly when
                # bit 9 is clear) / jae after bt (CF = bit 9): taken when
                # bit 9 is 0.  Only the jcc of the flag the test sets: CF
                # after test/and/cmp $0 is 0 whatever bit 9 (jae always
                # taken), ZF after bt is not bit 9
                bit_taken = 0 if m in ("je", "jae") else 1
                res = []
                tnode = target_node(prog, t, node[1])
                for ss, bit, n in ((taken, bit_taken, tnode), (nott, bit_taken ^ 1, fall)):
                    r = self._refine(ss, tag, bit, n)
                    res.append(r)
                return [(n, x) for n, x in ((tnode, res[0]), (fall, res[1])) if x is not None]
            return [(target_node(prog, t, node[1]), taken), (fall, nott)]

        # pointer uses (a use not followed leaks the pointer)
        spill = self._spill(ci, s, escaped)
        uses = ({}, set()) if spill is not None else self._ptr_uses(ci, s, escaped)
        if uses == "escape":
            return uses
        derived, anywhere = uses
        if s.sptr and m not in ("test", "cmp", "bt", "lea", "pop"):
            # a read of a slot holding a spilled pointer, other than the
            # 64-bit `mov` reload below, copies it where it is not
            # followed: it leaks
            for op in ops:
                if op.type == X.X86_OP_MEM and op.access & capstone.CS_AC_READ and op.mem.base == rsp:
                    exact = op.mem.index == 0 and op.mem.segment == 0 and s.sp is not None \
                        and not m.startswith(_STRING)
                    if exact and m == "mov" and ops[0].type == X.X86_OP_REG and op.size == 8:
                        continue
                    if self._spill_read(s, s.sp + op.mem.disp if exact else None, escaped, op.size):
                        return "escape"
        # data movement and the bit-9 tests
        writes = list(self._wnames(ci))
        if m == "test" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_IMM:
            name = ci.reg_name(ops[0].reg)
            imm = ops[1].imm
            if name in _BYTE_HI and imm == 0x2:
                s.test = (s.regs.get(_BYTE_HI[name], TOP), "zf")
            elif imm == 0x200 and ops[0].size >= 2:
                s.test = (s.regs.get(self.gpr64.get(name, name), TOP), "zf")
        elif m == "test" and len(ops) == 2 and ops[0].type == X.X86_OP_MEM and ops[1].type == X.X86_OP_IMM \
                and ((ops[0].size == 1 and ops[1].imm == 0x2) or (ops[0].size >= 2 and ops[1].imm == 0x200)) \
                and ops[0].mem.index == 0 and ops[0].mem.segment == 0 and ops[0].mem.base:
            # bit 9 of a word in memory: `testb $0x2,0x9(%rdx)` (6.1
            # _prb_commit's `if (e->irqflags & X86_EFLAGS_IF)`); only a
            # frame slot or a word through a tracked pointer has a tag
            s.test = (self._mem_tag(ci, s, ops[0], 1 if ops[0].size == 1 else 0), "zf")
        elif m == "test" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_REG \
                and ops[0].reg == ops[1].reg and self._reg(ci, ops[0].reg) in s.b9 and ops[0].size >= 2 \
                and ci.reg_name(ops[0].reg) not in _BYTE_HI:
            # (at least the low 16 bits, where bit 9 is: `testb %dil,%dil`
            # is always 0 after the mask, adv_r71_b9_byte_test)
            # `and $0x200,%r12d; ...; test %r12,%r12; jne` (6.1
            # printk_safe_exit_irqrestore): the register is its bit 9
            s.test = (s.regs.get(self._reg(ci, ops[0].reg), TOP), "zf")
        elif m == "and" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_IMM \
                and ci.reg_name(ops[0].reg) in _BYTE_HI and ops[1].imm == 0x2:
            # `and $0x2,%bh; je` (6.1 generic_exec_single's
            # local_irq_restore): ZF set when bit 9 is clear
            s.test = (s.regs.get(_BYTE_HI[ci.reg_name(ops[0].reg)], TOP), "zf")
        elif m == "and" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_IMM \
                and ops[1].imm == 0x200 and ops[0].size >= 4:
            # ZF of the result: set when bit 9 is clear; a 32- or 64-bit
            # `and` clears every other bit (a 32-bit write zero-extends)
            s.test = (s.regs.get(self._reg(ci, ops[0].reg), TOP), "zf")
            s.b9 = s.b9 | {self._reg(ci, ops[0].reg)}
        elif m == "cmp" and len(ops) == 2 and ops[1].type == X.X86_OP_IMM and ops[1].imm == 0 \
                and ops[0].size >= 2 and (
                    (ops[0].type == X.X86_OP_REG and self._reg(ci, ops[0].reg) in s.b9)
                    or (ops[0].type == X.X86_OP_MEM and ops[0].mem.base == rsp and ops[0].mem.index == 0
                        and ops[0].mem.segment == 0 and s.sp is not None
                        and _b9s_valid(s, s.sp + ops[0].mem.disp))):
            # `cmp $0` of a word whose every bit but bit 9 is clear (at
            # least its low 16 bits compared): ZF set exactly when bit 9 is
            # clear (6.12 vprintk_store's printk_exit_irqrestore: `and
            # $0x200,%ecx; mov %rcx,0x10(%rsp); ...; cmpq $0x0,0x10(%rsp); je`)
            if ops[0].type == X.X86_OP_REG:
                s.test = (s.regs.get(self._reg(ci, ops[0].reg), TOP), "zf")
            else:
                s.test = (self._slot(s, s.sp + ops[0].mem.disp), "zf")
        elif m == "bt" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_IMM \
                and ops[1].imm == 9:
            # CF = bit 9: jb taken when set, jae when clear
            s.test = (s.regs.get(self._reg(ci, ops[0].reg), TOP), "cf")
        if m == "push":
            if s.sp is not None:
                s.sp -= 8
                s.sptr.pop(s.sp, None)
                s.b9s.pop(s.sp, None)
                op = ops[0]
                if op.type == X.X86_OP_REG:
                    r = self._reg(ci, op.reg)
                    s.slots[s.sp] = s.regs.get(r, TOP)
                    if r in s.orig and s.slots[s.sp] is not TOP:
                        s.saved[s.sp] = (r, s.slots[s.sp])
                    else:
                        s.saved.pop(s.sp, None)
                elif op.type == X.X86_OP_IMM:
                    s.slots[s.sp] = frozenset({(op.imm >> 9) & 1})
                    s.saved.pop(s.sp, None)
                else:
                    s.slots[s.sp] = TOP
                    s.saved.pop(s.sp, None)
            return [(fall, s)]
        if m == "pop":
            op = ops[0]
            v = self._slot(s, s.sp) if s.sp is not None else TOP
            mark = s.saved.pop(s.sp, None) if s.sp is not None else None
            if op.type == X.X86_OP_REG:
                r = self._reg(ci, op.reg)
                s.regs[r] = v
                s.ptrs.pop(r, None)
                if s.sp is not None and s.sp in s.sptr:
                    s.ptrs[r] = s.sptr[s.sp]  # a spilled pointer popped: followed again
                if mark is not None and mark[0] == r and v is mark[1] and v is not TOP:
                    s.orig = s.orig | {r}  # its own entry value back
                else:
                    s.orig = s.orig - {r}
                # a register written (`pushf; pop %rax` returns the flags in
                # a caller-saved register the caller must not keep)
                if self._written is not None:
                    self._written.add(self._reg(ci, op.reg))
            elif s.sp is not None and s.sp in s.sptr and self._spill_read(s, s.sp, escaped):
                return "escape"
            if s.sp is not None:
                s.sp += 8
                self._drop_below(s)
            if op.type == X.X86_OP_MEM:
                # `popq (%rsp)` stores the popped word (the address computed
                # after RSP moved, SDM POP): through RSP into the slot it
                # names, through anything else as any other store
                # (adv_r71_pop_to_slot)
                if op.mem.base == rsp and op.mem.index == 0 and op.mem.segment == 0 and s.sp is not None:
                    slot_write(op.mem.disp, TOP, 8)
                elif op.mem.base and self._ptrset(s, self._reg(ci, op.mem.base)) and op.mem.index == 0 \
                        and op.mem.segment == 0:
                    if self._store_through(s, self._reg(ci, op.mem.base), op.mem.disp, TOP, 8, escaped):
                        forget_slots()
                elif escaped or op.mem.base == rsp or op.mem.index == rsp:
                    forget_slots()
            if op.type == X.X86_OP_REG and op.reg == rsp:
                s.sp, s.slots, s.sptr = None, {}, {}
            return [(fall, s)]
        new = {}
        if m == "mov" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[0].size >= 4:
            src = ops[1]
            if src.type == X.X86_OP_REG and src.size >= 4:
                new[self._reg(ci, ops[0].reg)] = s.regs.get(self._reg(ci, src.reg), TOP)
            elif src.type == X.X86_OP_IMM:
                new[self._reg(ci, ops[0].reg)] = frozenset({(src.imm >> 9) & 1})
            elif src.type == X.X86_OP_MEM and src.mem.base == rsp and src.mem.index == 0 and s.sp is not None \
                    and src.size >= 4 and src.mem.segment == 0:
                new[self._reg(ci, ops[0].reg)] = self._slot(s, s.sp + src.mem.disp)
                if src.size == 8 and src.mem.segment == 0 and s.sp + src.mem.disp in s.sptr:
                    # a spilled pointer reloaded: followed again
                    derived[self._reg(ci, ops[0].reg)] = s.sptr[s.sp + src.mem.disp]
            elif src.type == X.X86_OP_MEM and src.size == 8 and src.mem.base and src.mem.index == 0 \
                    and src.mem.segment == 0 and self._ptrset(s, self._reg(ci, src.mem.base)):
                # a word through a tracked pointer (6.12 lock_timer_base's
                # `raw_spin_unlock_irqrestore(&base->lock, *flags)`): its tag
                # as for a bit-9 test of it (_mem_tag)
                new[self._reg(ci, ops[0].reg)] = self._mem_tag(ci, s, src, 0)
            elif src.type == X.X86_OP_MEM and src.size >= 4 and self._ctx == "A" and src.mem.base != rsp \
                    and not (src.mem.base and self._ptrs_maybe(s, self._reg(ci, src.mem.base))) \
                    and not (src.mem.index and self._ptrs_maybe(s, self._reg(ci, src.mem.index))):
                # context "A": a word loaded from memory the analysis does
                # not follow is a lost word; not one through a register that
                # may hold a pointer it tracks (a 4-byte load through the
                # frame pointer of a word this function stored with bit 9
                # set: adv_r137_fp_load32_lost), which stays unknown
                new[self._reg(ci, ops[0].reg)] = LOSTSET
        elif m in ("and", "or") and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_IMM \
                and ops[0].size >= 2:
            r = self._reg(ci, ops[0].reg)
            bit = (ops[1].imm >> 9) & 1
            if m == "and":
                new[r] = s.regs.get(r, TOP) if bit else frozenset({0})
            else:
                new[r] = frozenset({1}) if bit else s.regs.get(r, TOP)
        elif m in ("bts", "btr") and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_IMM \
                and ops[0].size >= 2:
            # a bit set or cleared: bit 9's value when it is the bit, else
            # the word's tag (the bit index is taken modulo the operand
            # size, SDM Vol. 2A BT; `bts $9,%rsi` is `flags | X86_EFLAGS_IF`,
            # adv_r133_quiet_idiom_bts_if)
            r = self._reg(ci, ops[0].reg)
            if ops[1].imm % (ops[0].size * 8) == 9:
                new[r] = frozenset({1 if m == "bts" else 0})
            else:
                new[r] = s.regs.get(r, TOP)
        elif m == "xor" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_REG \
                and ops[0].reg == ops[1].reg and ops[0].size >= 2:
            # (bit 9 is in the low 16 bits: `xorb %al,%al` leaves it,
            # adv_r71_xor_low_byte)
            new[self._reg(ci, ops[0].reg)] = frozenset({0})
        # RSP arithmetic
        if "rsp" in writes:
            if m in ("add", "sub") and ops[1].type == X.X86_OP_IMM and s.sp is not None:
                s.sp += ops[1].imm if m == "add" else -ops[1].imm
            elif m == "lea" and ops[1].mem.base == rsp and ops[1].mem.index == 0 and s.sp is not None:
                s.sp += ops[1].mem.disp
            else:
                s.sp, s.slots, s.sptr = None, {}, {}
            if s.sp is None:
                s.slots, s.sptr = {}, {}
            else:
                self._drop_below(s)
        # memory stores
        for k, op in enumerate(ops):
            # (capstone marks some destinations read only: `movups
            # %xmm0,(%rsp)`, adv_r70_wide_store_slot; machine.memory_written)
            if op.type == X.X86_OP_MEM and memory_written(m, k, bool(op.access & capstone.CS_AC_WRITE)):
                extent = store_extent(m, op.size)
                if extent is None or (m.split(" ")[-1] in ("bts", "btr", "btc") and len(ops) == 2
                                      and ops[1].type == X.X86_OP_REG):
                    # a store of no fixed size (xsave), or a bit string
                    # addressed by a register offset (SDM BT: a signed
                    # offset from the operand, adv_r71_bts_reg_slot): any
                    # word of the frame, and through a tracked pointer any
                    # word of its object.  Every word of the frame the
                    # analysis knows becomes unknown (TOP), not lost: a
                    # store the analysis sees is no word the irqrestore-
                    # pairs assumption may take for a saved one
                    if s.sp is None or escaped or op.mem.base != rsp:
                        forget_slots()
                    s.slots = {k: TOP for k in s.slots}
                    s.b9s, s.saved = {}, {}
                    s.sptr = {k: v | {None} for k, v in s.sptr.items()}
                    if op.mem.base and self._ptrset(s, self._reg(ci, op.mem.base)) and \
                            self._store_through(s, self._reg(ci, op.mem.base), ANY, TOP, 8, escaped):
                        forget_slots()
                    continue
                if op.mem.base == rsp and op.mem.index == 0 and op.mem.segment == 0:
                    tag = TOP
                    if m == "mov" and ops[1].type == X.X86_OP_REG and op.size >= 4:
                        tag = s.regs.get(self._reg(ci, ops[1].reg), TOP)
                    if s.sp is not None:
                        # (the bytes it writes: fxsave's 512 at an 8-byte
                        # operand, adv_r71_fxsave_slot; machine.store_extent)
                        slot_write(op.mem.disp, tag, extent)
                        if spill is not None:
                            s.sptr[s.sp + op.mem.disp] = spill
                        if m == "mov" and op.size == 8 and ops[1].type == X.X86_OP_REG and tag is not TOP \
                                and self._reg(ci, ops[1].reg) in s.b9:
                            # only bit 9 of the stored register may be set
                            # (s.b9 already lost the registers this
                            # instruction writes: none, a store)
                            s.b9s[s.sp + op.mem.disp] = s.slots[s.sp + op.mem.disp]
                    else:
                        forget_slots()
                elif op.mem.base and self._ptrset(s, self._reg(ci, op.mem.base)) and op.mem.index == 0 \
                        and op.mem.segment == 0:
                    # through a tracked pointer at a known offset: an
                    # 8-byte `mov` from a register carries its tag,
                    # anything else stores an unknown value
                    tag = TOP
                    if m == "mov" and ops[1].type == X.X86_OP_REG and op.size == 8:
                        tag = s.regs.get(self._reg(ci, ops[1].reg), TOP)
                    if self._store_through(s, self._reg(ci, op.mem.base), op.mem.disp, tag, extent, escaped):
                        forget_slots()
                elif escaped or op.mem.base == rsp:
                    # (through any other register: not into this frame
                    # while it has not escaped, every address in it being
                    # a tracked pointer, RBP's `mov %rsp,%rbp` included)
                    forget_slots()
        for r in anywhere:
            # a store through a pointer at an offset not known (_ptr_uses)
            if self._store_through(s, r, ANY, TOP, 8, escaped):
                forget_slots()
        if m.startswith(("rep", "stos", "movs")) and escaped:
            forget_slots()
        for r in writes:
            if r != "rsp":
                s.regs[r] = TOP
                s.ptrs.pop(r, None)
                s.orig = s.orig - {r}
                if self._written is not None:
                    self._written.add(r)
        s.regs.update(new)
        s.ptrs.update(derived)
        cls = self._bv_source(ci, st)
        if cls is not None:
            s.bv[cls[0]] = cls[1]
        # (the value classes describe a register's low byte: `sete %ah` or
        # `test %ch,%ch` is about bits 8-15, which no class says anything
        # of: adv_r74_bv_high_byte)
        elif m in ("sete", "setne") and ops and ops[0].type == X.X86_OP_REG and ops[0].size == 1 \
                and ci.reg_name(ops[0].reg) not in _BYTE_HI:
            s.setcc = ("set", self._reg(ci, ops[0].reg), m == "sete")
        elif m == "test" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_REG \
                and ops[0].reg == ops[1].reg and self._reg(ci, ops[0].reg) in st.bv \
                and ci.reg_name(ops[0].reg) not in _BYTE_HI:
            s.setcc = ("test", self._reg(ci, ops[0].reg), ops[0].size)
        if m == "mov" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[0].size == 8 \
                and ops[1].type == X.X86_OP_MEM and ops[1].size == 8 and ops[1].mem.base == rsp \
                and ops[1].mem.index == 0 and ops[1].mem.segment == 0 and st.sp is not None \
                and _b9s_valid(st, st.sp + ops[1].mem.disp):
            # a b9 slot reloaded whole: the register holds only bit 9
            s.b9 = s.b9 | {self._reg(ci, ops[0].reg)}
        return [(fall, s)]

    @staticmethod
    def _drop_below(s: _St):
        """Forget the frame words below RSP once RSP moved up past them:
        the next push, call (its return address and the callee's frame)
        or exception frame overwrites them (adv_r70_stale_pop_slot: a
        popped slot the next callee's frame reused kept its old tag).  They
        hold unknown words (TOP), not lost ones: in context "A" a word with
        no slot reads as lost through memory (_miss), which irqrestore-pairs
        restores as 0, but these were written here (`pushq $0x202; add
        $8,%rsp; sub $8,%rsp; popfq`, adv_r133_popped_slot_popf_lost)."""
        s.slots = {k: (v if k is None or k >= s.sp else TOP) for k, v in s.slots.items()}
        s.sptr = {k: v for k, v in s.sptr.items() if k >= s.sp}
        s.b9s = {k: v for k, v in s.b9s.items() if k is None or k >= s.sp}
        s.saved = {k: v for k, v in s.saved.items() if k is None or k >= s.sp}

    def _bv_source(self, ci, st: _St):
        """(register, value class) an instruction gives the register it
        writes, from the state before it (st), or None (unknown: the
        class was dropped at the top of _step).  "z": the whole register
        is 0; "bz": its low byte is 0; "nz": its low byte is not 0.
        `xor`/`sub` of a register with itself and `mov $0` give "z" (a
        32-bit write zero-extends); `mov $imm` the class of imm; a 32- or
        64-bit `mov` between registers copies the class (a 32-bit copy of
        a "z" register is 0 and zero-extended); an 8-bit `mov` gives the
        low byte's class; `movzx` from a byte: "z" when the byte is 0."""
        m = ci.mnemonic
        if m not in ("xor", "sub", "mov", "movzx"):
            return None
        X = capstone.x86
        ops = ci.operands
        if len(ops) != 2 or ops[0].type != X.X86_OP_REG:
            return None
        dst = self._reg(ci, ops[0].reg)
        d = ops[0].size
        src = ops[1]
        if m in ("xor", "sub") and src.type == X.X86_OP_REG and src.reg == ops[0].reg and d >= 4:
            return dst, "z"
        if m == "mov" and src.type == X.X86_OP_IMM:
            imm = src.imm & ((1 << (8 * d)) - 1)
            if d >= 4:
                return dst, "z" if imm == 0 else ("nz" if imm & 0xFF else "bz")
            if d == 1 and ci.reg_name(ops[0].reg) not in _BYTE_HI:
                return dst, "nz" if imm & 0xFF else "bz"
            return None
        if src.type != X.X86_OP_REG:
            return None
        c = st.bv.get(self._reg(ci, src.reg))
        if c is None or ci.reg_name(src.reg) in _BYTE_HI or ci.reg_name(ops[0].reg) in _BYTE_HI:
            return None
        if m == "mov" and d == src.size and d >= 4:
            return dst, c
        if m == "mov" and d == src.size == 1:
            return dst, "nz" if c == "nz" else "bz"
        if m == "movzx" and src.size == 1:
            return dst, "nz" if c == "nz" else "z"
        return None

    @staticmethod
    def _bv_sides(flagsrc, st: _St, is_je: bool):
        """The two sides of a je/jne after a flag source (_step's setcc):
        ((bv updates on the taken side) or None when it cannot be taken,
        likewise the fall-through), or None when neither can run.  After
        `test %r,%r` ZF is set exactly when the register (at the tested
        width) is 0: known 0 for "z" (any width) or "bz" (byte width), not
        0 for "nz" (a non-zero low byte makes every width non-zero).  After
        `sete %r8` (`setne`) the byte is 1 exactly when ZF was set (clear)."""
        if flagsrc[0] == "test":
            _k, reg, width = flagsrc
            c = st.bv.get(reg)
            zero = c == "z" or (c == "bz" and width == 1)
            nonzero = c == "nz"
            zf_side = (True, {})  # the side where ZF=1 (the register is 0)
            nz_side = (True, {})
            if width == 1:
                zf_side, nz_side = (True, {reg: "bz"}), (True, {reg: "nz"})
            zf_ok, nz_ok = not nonzero, not zero
        else:
            _k, reg, on_zf = flagsrc
            zf_side = (True, {reg: "nz" if on_zf else "bz"})
            nz_side = (True, {reg: "bz" if on_zf else "nz"})
            zf_ok = nz_ok = True
        # je is taken when ZF=1, jne when ZF=0
        taken = (zf_side if zf_ok else None) if is_je else (nz_side if nz_ok else None)
        fall = (nz_side if nz_ok else None) if is_je else (zf_side if zf_ok else None)
        if taken is None and fall is None:
            return None
        return taken, fall

    def _note_load(self, s: _St, p, d, escaped, size=8) -> bool:
        """A word loaded through pointer p at disp d (ANY: unknown).  Into
        an argument's object: recorded (the summary's (a, ("ld", d))), so
        that a caller whose frame holds a spilled pointer there sees the
        callee may have read it.  Into this frame: a load of a slot holding
        a spilled pointer other than _step's 64-bit reload leaks it (True:
        the frame escapes)."""
        if p[0] == "arg":
            self._loads.add((p[1], ANY if d == ANY or p[2] is None else p[2] + d))
            return False
        off = None if d == ANY or p[1] is None else p[1] + d
        return self._spill_read(s, off, escaped, size)

    def _spill_read(self, s: _St, off, escaped, size=8) -> bool:
        """Slots holding spilled pointers that a read of `size` bytes at off
        (None: anywhere in the frame) may see, other than the reload that
        follows them: those pointers leak.  -> True when the frame escapes."""
        hit = [k for k in s.sptr if off is None or (k < off + max(size, 8) and k + 8 > off)]
        for k in hit:
            if self._leak(s, s.sptr[k], escaped) == "escape":
                return True
        return False

    def _spill(self, ci, s: _St, escaped):
        """`mov %reg,disp(%rsp)` of a register holding tracked pointers
        into a slot of this function's frame: the pointers it spills (kept
        with the slot, _step), or None.  Not a leak: the slot is read only
        by this function (a reload follows the pointers again) while the
        frame has not escaped; a callee handed an address in the frame that
        may load the slot (its summary's loads, _call_ptrs), and any read
        of it but the reload, leak the pointers (_spill_read); any store
        over the slot drops or weakens the entry."""
        X = capstone.x86
        ops = ci.operands
        if escaped or s.sp is None or ci.mnemonic != "mov" or len(ops) != 2 or ops[0].type != X.X86_OP_MEM \
                or ops[1].type != X.X86_OP_REG or ops[0].size != 8:
            return None
        mem = ops[0].mem
        if mem.base != X.X86_REG_RSP or mem.index != 0 or mem.segment != 0:
            return None
        return s.ptrs.get(self._reg(ci, ops[1].reg)) or None

    def _mem_tag(self, ci, s: _St, op, back: int):
        """The tag of the 8-byte word at op's address - back: a frame slot
        (RSP-based, or through a pointer with one target into the frame),
        or an out-parameter word through an argument pointer (what this
        function stored there, else its value at entry ("*", a, d)); TOP
        otherwise."""
        base = self._reg(ci, op.mem.base)
        disp = op.mem.disp - back
        if base == "rsp":
            return self._slot(s, s.sp + disp) if s.sp is not None else TOP
        ps = s.ptrs.get(base)
        if not ps or None in ps or len(ps) != 1:
            return TOP
        [p] = ps
        if p[0] == "sp":
            return self._slot(s, p[1] + disp) if s.sp is not None and p[1] is not None else TOP
        return _out_word(s.outs, p[1], p[2] + disp) if p[2] is not None else TOP

    # -- pointers into a caller's frame (out-parameters) -------------------------------
    @staticmethod
    def _ptrset(s: _St, reg):
        """The pointers reg may hold (None excluded), or an empty set."""
        p = s.ptrs.get(reg)
        return frozenset(x for x in p if x is not None) if p else frozenset()

    def _leak(self, s: _St, ps, escaped):
        """A pointer used in a way not followed: an argument's value leaked
        (its out-parameter effect is unknown to every caller), a frame
        address escaped (the function is analysed again with escaped)."""
        for p in ps:
            if p is None:
                continue
            if p[0] == "sp":
                if not escaped:
                    return "escape"
            else:
                if _DEBUG and p[1] not in self._leaked:
                    print(f"irqflag: arg {p[1]} leaks ({p})")
                self._leaked.add(p[1])
        return None

    def _ptr_uses(self, ci, s: _St, escaped):
        """Check the uses of the tracked pointers one instruction makes; ->
        ({register: pointers} it derives, {registers a store went through
        at an offset not known}), or "escape".

        A pointer is followed while only this function holds it, and
        leaks (_leak) where it may outlive what the analysis follows.
        Followed: a pointer as the base of a memory operand without index
        or segment (a load, or a store _store_through follows); as any
        part of another memory operand (a load is harmless; a store
        writes some word of the object: "anywhere", see _store_through);
        a `test`/`cmp`/`bt` (flags only); a 64-bit `mov` between registers
        and `lea disp(%ptr)` (the same object at a known offset); and any
        other instruction that writes no memory: every register it writes
        becomes a pointer into the same objects at an unknown offset (the
        pointer's value flowed only there: `add $1,%rdi`, `sub %rdi,%rcx`,
        `rep stos`'s RDI).  Leaks: a pointer stored to memory or pushed (a
        copy the analysis does not track) and an implicit operand of an
        instruction that writes memory other than through it.  Sound: a
        pointer's value can reach other code only through memory, a
        register at a call or return (_call_ptrs, _ret), or a register it
        was computed into (followed here); a store at an unknown offset
        forgets every word of the object (the caller: every slot of its
        frame), and nothing after the call can write through it unless the
        pointer leaked."""
        X = capstone.x86
        reads = {self._reg(ci, r) for r in self._access(ci)[0]}
        live = {r for r in reads if s.ptrs.get(r)}
        if not live:
            return {}, set()
        m, ops = ci.mnemonic, ci.operands
        derived: dict = {}
        anywhere: set = set()

        def unknown_offset(regs):
            out = set()
            for r in regs:
                for p in self._ptrset(s, r):
                    out.add(("sp", None) if p[0] == "sp" else ("arg", p[1], None))
            return frozenset(out)

        written_all = list(self._wnames(ci))
        written = [r for r in written_all if r in CALLER_SAVED or r in ("rbx", "rbp", "r12", "r13", "r14", "r15")]
        # a register the pointer could flow into that is not followed (an
        # SSE/x87 register, a segment base): a value use there leaks
        untracked = any(r not in written and r not in ("rsp", "rflags", "eflags", "flags", "rip") for r in written_all)
        if m == "lea":
            b = self._reg(ci, ops[1].mem.base) if ops[1].mem.base else None
            d = ops[1].mem.disp
            dst = self._reg(ci, ops[0].reg)
            if b in live and not ops[1].mem.index and ops[0].size == 8 and len(s.ptrs[b]) <= MAX_PTRS \
                    and abs(d) <= MAX_PTR_DISP:
                derived[dst] = frozenset(
                    None if p is None else (
                        ("sp", None if p[1] is None else p[1] + d) if p[0] == "sp"
                        else ("arg", p[1], None if p[2] is None else p[2] + d))
                    for p in s.ptrs[b])
            else:
                # an index, a truncated address, or a pointer stepped
                # through a loop (its offsets would grow without bound):
                # the same objects, offset unknown
                derived[dst] = unknown_offset(live)
            return derived, anywhere
        bases, value, mem_regs = set(), set(), set()
        mem_write = False
        for k, op in enumerate(ops):
            if op.type == X.X86_OP_MEM:
                w = memory_written(m, k, bool(op.access & capstone.CS_AC_WRITE))
                mem_write |= w
                b = self._reg(ci, op.mem.base) if op.mem.base else None
                i = self._reg(ci, op.mem.index) if op.mem.index else None
                mem_regs |= {x for x in (b, i) if x in live}
                if op.access & capstone.CS_AC_READ and m not in ("test", "cmp", "bt", "lea"):
                    exact = i is None and op.mem.segment == 0 and not m.startswith(_STRING)
                    for x in (b, i):
                        if x in live:
                            for p in self._ptrset(s, x):
                                if self._note_load(s, p, op.mem.disp if exact and x == b else ANY, escaped,
                                                   op.size):
                                    return "escape"
                if b in live and i is None and op.mem.segment == 0:
                    bases.add(b)
                elif w:
                    anywhere |= {x for x in (b, i) if x in live}
            elif op.type == X.X86_OP_REG and self._reg(ci, op.reg) in live:
                value.add(self._reg(ci, op.reg))
        value |= live - mem_regs - {self._reg(ci, op.reg) for op in ops if op.type == X.X86_OP_REG}
        if m.startswith(("rep", "stos", "movs", "scas", "cmps", "lods")):
            # string instructions: RDI/RSI the addresses (their memory
            # operands above), RCX the count, all stepped
            strs = {r for r in live if r in ("rdi", "rsi", "rcx")}
            value -= strs
            if mem_write and "rdi" in live:
                anywhere.add("rdi")
            for r in written:
                derived[r] = unknown_offset(strs)
            if not value:
                return derived, anywhere
        if not value:
            return derived, anywhere
        if m in ("xor", "sub", "sbb", "pxor") and len(ops) == 2 and ops[0].type == X.X86_OP_REG \
                and ops[1].type == X.X86_OP_REG and ops[0].reg == ops[1].reg:
            return derived, anywhere  # `xor %edx,%edx`: zero, whatever it held
        if m in ("test", "cmp", "bt") and not mem_write:
            return derived, anywhere
        if m == "mov" and len(ops) == 2 and ops[0].type == X.X86_OP_REG and ops[1].type == X.X86_OP_REG \
                and ops[0].size == 8 and ops[1].size == 8:
            derived[self._reg(ci, ops[0].reg)] = s.ptrs[self._reg(ci, ops[1].reg)]
            return derived, anywhere
        if not mem_write and not untracked and m not in ("push", "pop", "xchg", "cmpxchg", "xadd", "cmpxchg16b",
                                                         "cmpxchg8b"):
            # computed from the pointer into registers only
            src = unknown_offset(value)
            for r in written:
                derived[r] = derived.get(r, frozenset()) | src
            return derived, anywhere
        for r in value:
            if self._leak(s, s.ptrs[r], escaped) == "escape":
                return "escape"
        return derived, anywhere

    def _store_through(self, s: _St, reg, disp, tag, size, escaped) -> bool:
        """A store of `size` bytes at reg + disp, reg a tracked pointer:
        into a frame slot, or an out-parameter word.  A strong update when
        reg holds exactly one pointer, else weak (joined with the old
        value).  -> True when the function's slots must be forgotten (its
        frame escaped, or RSP is not tracked)."""
        ps = s.ptrs[reg]
        weak = None in ps or len(ps) > 1
        if size != 8:
            tag = TOP
        forget = False
        for p in ps:
            if p is None:
                continue
            if p[0] == "sp":
                if escaped or s.sp is None or p[1] is None or disp == ANY:
                    # (an unknown offset: any slot)
                    forget = True
                    continue
                at = p[1] + disp
                end = at + max(size, 1)

                def hit(k):
                    # the words the store overlaps, whatever its width
                    # (adv_r70_wide_store_slot, adv_r71_fxsave_slot)
                    return k is not None and k < end and k + 8 > at
                old = s.slots.get(at, TOP)
                for k in [k for k in s.saved if hit(k)]:
                    del s.saved[k]
                for k in [k for k in s.b9s if hit(k)]:
                    del s.b9s[k]
                for k in [k for k in s.sptr if hit(k)]:
                    if k == at and not weak and size == 8:
                        del s.sptr[k]
                    else:
                        s.sptr[k] = s.sptr[k] | {None}
                for k in [k for k in s.slots if hit(k) and k != at]:
                    s.slots[k] = TOP  # (partly or wholly overwritten: unknown, not lost)
                s.slots[at] = _join(old, tag) if weak else tag
            else:
                if p[2] is None or disp == ANY:
                    self._clobber_arg(s, p[1])
                    continue
                a, at = p[1], p[2] + disp
                old = _out_word(s.outs, a, at)
                for k in [k for k in s.outs if k[0] == a and k[1] != ANY and k[1] < at + max(size, 1)
                          and k[1] + 8 > at and k[1] != at]:
                    s.outs[k] = TOP
                s.outs[(a, at)] = _join(old, tag) if weak else tag
        return forget

    @staticmethod
    def _clobber_arg(s: _St, a):
        """A store at an unknown offset of the object argument a points
        into: every word of it unknown, those tracked and the rest (ANY)."""
        for k in [k for k in s.outs if k[0] == a]:
            s.outs[k] = TOP
        s.outs[(a, ANY)] = TOP

    def _ret(self, s: _St, escaped):
        """A return: ("ret", IF, RAX tag, out-parameter stores).  A pointer
        into an argument's object returned in RAX is handed back (the
        summary's (a, RET): the caller follows RAX as a pointer into the
        object it passed, offset unknown); one into this frame leaks."""
        for p in self._ptrset(s, "rax"):
            if p[0] == "sp":
                if self._leak(s, {p}, escaped) == "escape":
                    return "escape"
            else:
                self._retptr.add(p[1])
        # a pointer left in another caller-saved register that does not
        # hold its entry value: the caller would not know it holds it
        # (it keeps only its own pointers in registers handed back intact)
        # A pointer into an argument's object is handed back instead (the
        # summary's (a, ("reg", r)): the caller follows register r as a
        # pointer into the object it passed, offset unknown; 6.1
        # _prb_commit's `mov %rdi,%rdx` leaves e in RDX)
        for r in CALLER_SAVED:
            if r != "rax" and r not in s.orig and self._ptrset(s, r):
                frame = frozenset(p for p in self._ptrset(s, r) if p[0] == "sp")
                for p in self._ptrset(s, r) - frame:
                    self._regptr.add((p[1], r))
                if frame and self._leak(s, frame, escaped) == "escape":
                    return "escape"
        return [("ret", s.IF, s.regs.get("rax", TOP), dict(s.outs), s.orig, s.bv.get("rax"))]

    def _call_ptrs(self, s: _St, after: _St, node, summ, clob, escaped, assumed, unpassed=frozenset(),
                   want=None):
        """Pointers at a call.  In an argument register: the callee's
        out-parameter effect (summ[3]) is applied through it (composed with
        the caller's state), or, for a callee not summarised or whose copy
        of the argument leaked, the pointer leaks.  In RAX, R10, R11: leaks.
        In RBX, RBP, R12-R15: kept, under assumption callee-saved-not-read
        (recorded).  Caller-saved registers the callee may write may no
        longer hold their pointer ("maybe", None added).  -> "escape" or None."""
        ret_ptrs: set = set()
        reg_ptrs: dict = {}
        for r, ps in list(s.ptrs.items()):
            if not self._ptrset(s, r):
                continue
            if r in unpassed:
                # past the callee's BTF prototype (_arity): not an argument
                # of the call; only clobbered (below)
                assumed.add(("c-prototype-args", node[0]))
                continue
            if r in PTR_ARGS:
                outs = summ[3] if summ is not None and (want is None or r in want) else None
                o = None if outs is None else outs.get(r, frozenset())
                if o is None:
                    if _DEBUG and not escaped and any(p and p[0] == "sp" for p in ps):
                        self._why(f"leak {r}={ps} to a callee (summary {'none' if summ is None else 'leaks it'})",
                                  node[0])
                    if self._leak(s, ps, escaped) == "escape":
                        return "escape"
                    continue
                if any(p[0] == "sp" for p in self._ptrset(s, r)):
                    # the callee's out-parameter summary reads its callees
                    # under callee-saved-not-read: recorded where this
                    # frame's address is handed over
                    assumed.add(("callee-saved-not-read", node[0]))
                # what the callee may load through it: a spilled pointer
                # there leaks; through an argument pointer, this
                # function's own load
                for d, _tag in o:
                    if isinstance(d, tuple) and d[0] == "ld":
                        for p in self._ptrset(s, r):
                            if self._note_load(s, p, d[1], escaped):
                                return "escape"
                # a store at an unknown offset first: the words the callee
                # stored at known offsets hold their tags after it
                for d, tag in sorted(o, key=lambda dt: dt[0] != ANY):
                    if isinstance(d, tuple) and d[0] == "reg":
                        # the callee leaves a pointer into this object in
                        # register d[1] (_ret): followed there
                        reg_ptrs.setdefault(d[1], set()).update(
                            ("sp", None) if p[0] == "sp" else ("arg", p[1], None) for p in self._ptrset(s, r))
                        continue
                    if isinstance(d, tuple):
                        continue  # a load (above)
                    if d == RET:
                        ret_ptrs |= {("sp", None) if p[0] == "sp" else ("arg", p[1], None)
                                     for p in self._ptrset(s, r)}
                        continue
                    v = self._compose(tag, s)
                    if self._store_through(after, r, d, v, 8, escaped):
                        self._forget(after)
            elif r in CALLER_SAVED:
                if self._leak(s, ps, escaped) == "escape":
                    return "escape"
            elif any(p[0] == "sp" for p in self._ptrset(s, r)):
                assumed.add(("callee-saved-not-read", node[0]))
        for r in CALLER_SAVED if clob is None else [r for r in CALLER_SAVED if r in clob]:
            if r in after.ptrs:
                if summ is not None and want is not None and r in want:
                    # the callee followed this pointer: written over, it is
                    # gone (where it went is its summary's: a leak, or RAX)
                    del after.ptrs[r]
                else:
                    after.ptrs[r] = after.ptrs[r] | {None}
        if ret_ptrs:
            after.ptrs["rax"] = after.ptrs.get("rax", frozenset()) | ret_ptrs | {None}
        for r, ps in reg_ptrs.items():
            after.ptrs[r] = after.ptrs.get(r, frozenset()) | frozenset(ps) | {None}
        return None

    def _refine(self, s: _St, tag, bit, node=None):
        if tag is TOP:
            return s
        if bit == 1 and LOST in tag and self._ctx == "A" and node is not None and self._is_sti(node):
            # the restore idiom (arch_local_irq_restore: `test $0x200; je
            # 1f; sti; 1:`, the `sti` first on the side where bit 9 is set)
            # of a lost word: its bit 9 is 0 (_lost_restore, assumption
            # irqrestore-pairs), so the lost word does not take this side
            tag = self._lost_restore(tag) - {0} | ({0} & tag)
        keep = frozenset(x for x in tag if (x == bit) if x in (0, 1)) | frozenset(
            x for x in tag if x not in (0, 1) and s.known.get(x, bit) == bit)
        if not keep:
            return None  # no element allows this side
        s = s.copy()
        atoms = [x for x in keep if x not in (0, 1)]
        # (a lost word is not one value: nothing is learnt of it)
        if len(keep) == 1 and atoms and not _cond(atoms[0]) and atoms[0] != LOST:
            # (a conditional atom is any bit when its atom is 1: the
            # test tells nothing about that atom)
            s.known[atoms[0]] = bit
        s.IF = s.norm(s.IF)
        s.regs = {k: s.norm(v) for k, v in s.regs.items()}
        s.slots = {k: s.norm(v) for k, v in s.slots.items()}
        s.outs = {k: s.norm(v) for k, v in s.outs.items()}
        return s

    def _noreturn(self, t: int) -> bool:
        """A function that never returns to its caller: its extent (at
        most 4 KiB) has no return, no indirect jump and no branch out of
        it, and nothing after its last instruction (tscompat.MaySet._noreturn)."""
        hit = self._noret.get(t)
        if hit is not None:
            return hit
        self._noret[t] = False
        syms = self.program.symbols
        import bisect  # noqa: PLC0415
        i = bisect.bisect_right(syms._sorted, (t, float("inf"), "")) - 1
        if i < 0 or syms._sorted[i][0] != t:
            return False
        size, j = 0, i
        while j >= 0 and syms._sorted[j][0] == t:
            size = max(size, syms._sorted[j][1])
            j -= 1
        if not size:
            # no ELF size (kallsyms, a System.map): up to the next symbol.
            # Code past the function's end there can only add a return or
            # a fall-through, which make it "may return" (6.1's vmlinuz:
            # __stack_chk_fail taken to return let the frame walk run on
            # from try_to_wake_up's last call into wake_up_process)
            nxt = syms.next_symbol(t)
            size = (nxt - t) if nxt is not None else 0
        if not size or size > 4096:
            return False
        try:
            data = self.program.fetch_raw(t, size)
        except CfgError:
            return False
        got = self._noreturn_walk(t, t + size, data)
        self._noret[t] = got
        return got

    def _noreturn_walk(self, t: int, end: int, data: bytes) -> bool:
        """Whether no path from t returns: the code walked from its entry,
        each instruction decoded where control reaches it (a branch into the
        middle of an instruction runs the bytes from there:
        adv_r198_noret_midinsn_ret's `jmp 1f+1` onto a `mov $0xc3`), every
        patch site's candidates too, each going on where the CPU goes on
        after it (the site's end: adv_r200_noret_alt_short_site), with
        transfer prefixes read through (`bnd ret`, `repz ret`, `notrack jmp`:
        adv_r200_noret_bnd_ret, _repz_ret).  Not noreturn: a return, an
        indirect or far jump, a state-restoring instruction, an exception
        fixup or `xbegin` (a fault or abort goes on elsewhere:
        adv_r73_fixup_noreturn), a branch out of [t, end), a path that runs
        to `end` (into whatever follows: adv_r70_falloff_noreturn,
        adv_r200_noret_trailing_nop), a direct call into [t, end) (a return
        hidden in its own bytes: adv_r200_noret_call_midinsn).  A path ends
        at `int3`, a `ud2` that dies, and a call of a function that never
        returns; any other call comes back (a callee that drops its return
        address: abi-callee-saved, adv_r133_noreturn_callee_unwinds)."""
        import bisect  # noqa: PLC0415
        if self._sites is None:
            self._sites = sorted(self.program.sites)
        sites = set(self._sites[bisect.bisect_left(self._sites, t):bisect.bisect_left(self._sites, end)])
        seen: set = set()
        work = [t]
        while work:
            a = work.pop()
            while a not in seen:
                if not t <= a < end:
                    return False
                seen.add(a)
                if self._fixup(a) is not None:
                    return False
                if a in sites:
                    more = self._noreturn_site(a, t, end)
                    if more is None:
                        return False
                    work.extend(more)  # (and the on-disk bytes go on below)
                raw = data[a - t:a - t + 16]
                ins = next(iter(lite_decode(self.md, raw, a, 1)), None)
                if ins is None or prefixed_system_insn(raw):
                    return False
                _a, size, m, ops = ins
                nxt = self._noreturn_step(a, size, transfer_mnemonic(m), ops, t, end)
                if nxt is None:
                    return False
                if nxt == ():
                    break
                a = nxt[0]
                work.extend(nxt[1:])
        return True

    def _noreturn_step(self, a: int, size: int, m: str, ops: str, t: int, end: int):
        """Where control goes on after one instruction of a _noreturn_walk:
        a tuple of addresses (the first followed at once), () when the path
        ends, None when the function may return."""
        if m.startswith(("ret", "iret", "sysret")) or m in ("ljmp", "lcall", "xbegin") or \
                m.split(" ")[-1] in NEXT_FROM_STATE:
            return None
        direct = ops.startswith("0x")
        if m == "call":
            if not direct:
                return (a + size,)  # (an indirect call returns home: abi-callee-saved)
            c = int(ops, 16)
            if t <= c < end:
                return None
            return () if self._noreturn(c) else (a + size,)
        if m == "jmp" or m.startswith(("j", "loop")):
            if not direct:
                return None
            tgt = int(ops, 16)
            if not t <= tgt < end:
                return None
            return (tgt,) if m == "jmp" else (a + size, tgt)
        if m == "int3" or (m == "ud2" and self.program.after_ud2(a) == "dies"):
            return ()
        return (a + size,)

    def _noreturn_site(self, a: int, t: int, end: int):
        """The addresses a _noreturn_walk goes on at after the candidates of
        the patch site at a (its end, where each falls through, and their
        branches' targets), or None when one may return or is not known."""
        try:
            choices = self.program.site_choices(a)
        except CfgError:
            return None
        site_end = a + max(e.length for e in self.program.sites[a])
        out = [site_end]
        for code, _label, _cond in choices:
            if code is None:
                return None
            n, starts, inside = 0, set(), set()
            for x, size, m, ops in lite_decode(self.md, code, a):
                n += size
                if prefixed_system_insn(code[x - a:x - a + 16]):
                    return None
                nxt = self._noreturn_step(x, size, transfer_mnemonic(m), ops, t, end)
                if nxt is None:
                    return None
                out.extend(y for y in nxt if not a <= y < a + len(code))
                starts.add(x)
                inside.update(y for y in nxt if a <= y < a + len(code) and y != x + size)
            if n != len(code) or a + len(code) > site_end or not inside <= starts:
                return None  # (not decoded whole, longer than the site, a branch into an instruction)
        return out

    def _sleeper(self, t) -> bool:
        """Whether t is one of the scheduler's sleeping entry points
        (SLEEPERS, by symbol name in the image).

        Assumption no-sleep-irqs-off: code running with interrupts disabled
        does not call a function that may sleep (might_sleep()'s rule,
        kernel/sched/core.c __might_sleep/__might_resched; with
        CONFIG_DEBUG_ATOMIC_SLEEP every violation is reported as "BUG:
        sleeping function called from invalid context").  So a call of one
        of these with IF exactly 0 is not made, and the path through it
        does not exist (_call, _quiet): the path is dropped, not given a
        result.  Sound modulo the assumption: the analysis' IF is an
        over-approximation, so IF exactly 0 on the path means IF is 0 at
        run time there, where the assumption rules the call out.  Only
        direct calls (t fixed by the image) and only these names: a
        function that schedules only after testing irqs_disabled() (e.g.
        __cond_resched, preempt_schedule) is read, not assumed."""
        if self._sleepers is None:
            syms = self.program.symbols
            self._sleepers = frozenset(a for a in (syms.get(n) for n in SLEEPERS) if a is not None)
        return t is not None and t in self._sleepers

    def _warner(self, t) -> bool:
        """Whether t is one of the WARN reporters (WARNERS, by symbol name
        in the image).

        Assumption no-warn: no WARN fires on the way to user mode.  WARN*()
        marks a condition that must never happen (include/asm-generic/bug.h:
        "significant kernel issues that need prompt attention";
        Documentation/process/coding-style.rst "Do not WARN lightly":
        "WARN*() is intended for unexpected, this-should-never-happen
        situations"); syzbot files every one it sees as a bug and
        panic_on_warn turns it into a panic.  So a call of one of these
        with IF exactly 0 is not made, and the path through it does not
        exist (_call, _quiet): the path is dropped, not given a result,
        as _sleeper's.  Sound modulo the assumption: the analysis' IF is an
        over-approximation, so IF exactly 0 there means the call is on a
        path that runs with interrupts off, which the assumption rules
        out.  Only direct calls (t fixed by the image) and only these
        names: printk and pr_*() calls outside a WARN are read."""
        if self._warners is None:
            syms = self.program.symbols
            self._warners = frozenset(a for a in (syms.get(n) for n in WARNERS) if a is not None)
        return t is not None and t in self._warners

    def _absent(self, t):
        """The assumption under which a direct call of t made with IF
        exactly 0 does not happen (no-sleep-irqs-off for a scheduler
        entry, no-warn for a WARN reporter), or None."""
        if self._sleeper(t):
            return "no-sleep-irqs-off"
        if self._warner(t):
            return "no-warn"
        return None

    def _warn_ud2(self, node) -> bool:
        """Whether the `ud2` at node (on-disk bytes, not a patch-site
        candidate) is a WARN: listed in __bug_table with BUGFLAG_WARNING
        (the handler reports it and resumes after it, program.after_ud2).
        Under assumption no-warn it is not reached with interrupts off:
        a path that reaches it with IF exactly 0 does not exist.  (A kCFI
        trap, which after_ud2 also resumes, is not one of these: it
        continues as before.)"""
        if node[1] is not None:
            return False
        w = tables(self.program.image).warn_addrs
        return w is not None and node[0] in w

    def _is_function(self, t, node) -> bool:
        name = self.program.start_name(t)
        return name is not None and t != node[0]

    def _call(self, s: _St, t, node, fall, depth, assumed, escaped):
        prog = self.program
        # (context "A": the callee may save the flags; IF must be 0 here)
        self._save_check(s)
        after = s.copy()
        summ = None
        ptr_args = frozenset(r for r in PTR_ARGS if self._ptrset(s, r))
        cond_regs: dict = {}
        unpassed = frozenset()
        skey = None
        if ptr_args and t is not None and t not in prog.dispatch:
            n = self._arity(t)
            if n is not None:
                # registers past the described prototype: not handed over
                unpassed = frozenset(r for r in ptr_args if r not in ARGS[:n])
                ptr_args = ptr_args - unpassed
        if escaped:
            # an address in an escaped frame is not followed into a callee
            # (its words may change under it): it leaks (_call_ptrs)
            ptr_args = frozenset(r for r in ptr_args if not any(p[0] == "sp" for p in self._ptrset(s, r)))
        # registers handed over that may point into one object (this
        # frame, or one argument's object): checked against the callee's
        # summary below (_aliased)
        objs: dict = {}
        for r in sorted(ptr_args):
            for p in self._ptrset(s, r):
                objs.setdefault(("sp",) if p[0] == "sp" else ("arg", p[1]), set()).add(r)
        shared = [regs for regs in objs.values() if len(regs) > 1]
        if t is not None and t in prog.dispatch:
            res_if, rax, clob = TOP, TOP, None
        elif t is None or prog.runtime_target(t):
            # a callee the image does not fix: IF as it found it
            assumed.add(node[0])
            res_if, rax, clob = s.IF, TOP, None
            self._unread_in_region()
            if t is None and self._pv_callee_save(node):
                # `call *pv_ops+N` of a struct paravirt_callee_save slot
                # (6.12 _raw_spin_unlock_irqrestore's PVUNLOCK
                # `call *pv_ops.lock.queued_spin_unlock`): every target
                # the kernel installs there is a PV_CALLEE_SAVE thunk that
                # keeps every register but RAX (assumption pv-callee-save)
                assumed.add(("pv-callee-save", node[0]))
                clob = frozenset({"rax"})
        elif self._noreturn(t):
            return []
        elif self._if_cond(s) is not None and self._absent(t) is not None:
            # a scheduler entry (a WARN reporter) called while IF is 0
            # (when the atoms of cond are 0): under assumption
            # no-sleep-irqs-off (no-warn) that call is not made, so this
            # path (with those atoms 0) does not exist.  With cond empty
            # the path ends here; else, when an atom of cond is 1, IF may
            # be 1 at the call and the callee may do anything: IF and RAX
            # unknown then ("?", a), nothing when all are 0; every
            # caller-saved register written, every pointer handed over
            # leaked (summ None).  Recorded at this call
            cond = self._if_cond(s)
            aid = self._absent(t)
            assumed.add((aid, node[0]))
            if _DEBUG:
                self._why(f"{aid}: {prog.symbolize(t)} (cond {set(cond)})", node[0])
            if not cond:
                return []
            res_if = frozenset(("?", a) for a in cond)
            rax, clob = res_if, None
        elif self._if_cond(s) == frozenset() and (off := self._undecided_off(t, depth, ptr_args)):
            if off == "assume":
                assumed.add(("irqs-off-callees", node[0]))
                res_if, rax, clob = s.IF, TOP, None
                self._unread_in_region()
            else:
                res_if, rax, clob = TOP, TOP, None  # (past OFF_TOTAL: not read, unknown)
        elif self._if_cond(s) is None and not self._clean(t, set()) and not self._read_capped_e(t, depth, ptr_args):
            # IF may be 1 (or is unknown) at the call and the callee's
            # closure may change IF: the callee is not read, its result is
            # unknown (TOP), it may write every caller-saved register, and
            # a pointer handed to it leaks.  Sound: TOP is the top of the
            # lattice; a caller that needs IF here has none, one whose
            # later `cli` kills it loses nothing.
            if _DEBUG:
                self._why(f"not read (IF {s.IF}): {prog.symbolize(t)}", node[0])
            res_if, rax, clob = TOP, TOP, None
        elif self._if_cond(s) is None:
            # an IF-clean closure (_clean: nothing in it may change IF), or
            # one whose context-"E" summary a capped reading decided
            # (_read_capped_e): read in context "E", its IF the caller's
            summ = self.summary(t, depth + 1, ptr_args, "E")
            skey = _key(t, ptr_args, "E")
            if summ is None:
                res_if, rax, clob = TOP, TOP, None
            else:
                assumed |= self.memo.get(("assumed", _key(t, ptr_args, "E")), set())
                sif, srax, clob, _outs = summ
                if not sif and fall is not None:
                    return []  # never returns
                res_if = self._compose(sif, s, True)
                rax = self._compose(srax, s)
        else:
            cond = self._if_cond(s)
            # IF is 0 at the call (when the atoms of cond are): the callee
            # is read in context "A" (IF clear, assumption irqrestore-pairs
            # allowed), except inside a context-0 summary (the fallback of
            # a region _region_ok refused: no assumption anywhere in it).
            # A caller in context "A" uses it as part of its own region
            # (checked where that region starts); any other caller starts a
            # region here: it keeps the "A" result only if _region_ok, else
            # reads the callee in context 0, and records the assumption at
            # this call when the region used it
            ctx = 0 if self._ctx == 0 else "A"
            quiet = None
            if self._ctx == "A" and not cond:
                # inside a region: the callee's own summary if it takes at
                # most A_CAP instructions (its closure with it), else the
                # _quiet pre-scan (the cost of the analysis: a region's
                # closure reaches printk, the allocators, the scheduler)
                saved = self.budget
                cap = min(saved, A_CAP)
                self.budget = cap
                summ = self.summary(t, depth + 1, ptr_args, ctx)
                self.budget = saved - (cap - self.budget)
                if summ is None:
                    quiet = self._quiet(t, assumed)
                else:
                    pass
            else:
                summ = self.summary(t, depth + 1, ptr_args, ctx)
            if quiet is not None:
                # a closure with no instruction that sets IF (_quiet): IF 0
                # at its return, nothing else known of it
                if any(isinstance(site, int) for site in quiet[1]):
                    self._unread_in_region()  # (irq-flag-preserved inside it)
                summ = None
            if quiet is not None:
                pass
            elif ctx == "A":
                if self._ctx == "A":
                    self._aedges.add(_key(t, ptr_args, ctx))
                elif summ is not None:
                    ok, used = self._region_ok(_key(t, ptr_args, ctx))
                    if _DEBUG:
                        self._why(f"region {prog.symbolize(t)}: IF {summ[0]} ok {ok} used {used}", node[0])
                    if not ok:
                        if _DEBUG:
                            self._why(f"region refused: {prog.symbolize(t)}", node[0])
                        ctx = 0
                        summ = self.summary(t, depth + 1, ptr_args, ctx)
                    elif used:
                        assumed.add(("irqrestore-pairs", node[0]))
            skey = _key(t, ptr_args, ctx)
            if quiet is not None:
                res_if, rax, clob = frozenset({0}), TOP, None
                skey = None
            elif summ is None:
                res_if, rax, clob = TOP, TOP, None
            else:
                assumed |= self.memo.get(("assumed", _key(t, ptr_args, ctx)), set())
                sif, srax, clob, _outs = summ
                if not sif and fall is not None and not cond:
                    return []  # never returns
                res_if = self._compose(sif, s, True)
                if _DEBUG and (res_if is TOP or 1 in res_if):
                    self._why(f"compose: {sif} -> {res_if} from {prog.symbolize(t)}", node[0])
                rax = self._compose(srax, s)
                if cond:
                    # IF is 0 at the call only when the atoms of cond are:
                    # the context-0 summary holds then; when one of them
                    # is 1 nothing is known.  So IF, RAX and every
                    # caller-saved register the summary keeps get the
                    # conditional atoms ("?", a) (any bit if a is 1,
                    # nothing if 0) joined in; the registers it writes are
                    # unknown, every caller-saved register may be written
                    # (clob None) and every pointer handed over leaks
                    # (summ None)
                    q = frozenset(("?", a) for a in cond)
                    if res_if is not TOP:
                        res_if = res_if | q
                    if rax is not TOP:
                        rax = rax | q
                    cond_regs = {r: (s.regs.get(r, TOP) | q if s.regs.get(r, TOP) is not TOP else TOP)
                                 for r in CALLER_SAVED if r != "rax" and clob is not None and r not in clob}
                    clob, summ = None, None
        if summ is not None and any(self._aliased(summ, regs) for regs in shared):
            # Two registers handed over may point into one object, and the
            # callee's summary uses both: it took each argument pointer for
            # an object of its own, so a word it read through one as found
            # at entry (a "*" atom, composed with this frame's word before
            # the call) may be one it stored through the other first
            # (`f(&flags, &flags)` with `*b = 0x200; if (*a & 0x200) sti`:
            # adv_r133_alias_outparam_restore).  Its summary does not hold:
            # nothing is known of the call, every pointer handed over leaks
            res_if, rax, clob, summ = TOP, TOP, None, None
        if summ is None and t is not None and t not in prog.dispatch \
                and not prog.runtime_target(t) and self._home_bad(t):
            # a direct callee with no summary (not read, read without a
            # result, assumed, _quiet) is gone past to the fall-through
            # only when no reading of it found that it may not come back
            # there (_home_bad: a `ret` of it that pops something else, a
            # callee of it that may not come back).  One that may not
            # (`sti; push $1f; ret`, adv_r90_sct_pushret_sti's helper; `add
            # $16,%rsp; ret` into its caller's caller) leaves this
            # function's effect unknown, and this function may not come
            # back either.  (One with a summary had each of its returns and
            # callees checked; code no reading reads: assumption
            # abi-callee-saved)
            self._frame_bad.add(self._cur)
            return None
        if res_if is TOP or any(x != 0 for x in res_if):
            # IF may be set after this call: the running capped reading
            # saw it, whether the callee was walked now or its summary
            # came from the memo (adv_r72_memo_enable, _twice_enable)
            self._off_enable = True
        # the callee's value classes: none known of what it writes
        after.bv = {k: v for k, v in after.bv.items() if k not in (CALLER_SAVED if clob is None else clob)}
        split = self._split_branch(summ, skey, fall)
        if split is not None:
            # `call f; test %al,%al; je/jne` where f's summary splits its
            # out-parameter stores by the returned AL: each branch gets the
            # stores of the returns that take it (a side no return takes
            # is dropped)
            res = []
            for (n2, side, cls) in split:
                a2 = after.copy()
                a2.bv["rax"] = cls
                if self._call_ptrs(s, a2, node, summ[:3] + (side,), clob, escaped, assumed, unpassed,
                                   ptr_args) == "escape":
                    return "escape"
                res.append((n2, a2))
        else:
            if self._call_ptrs(s, after, node, summ, clob, escaped, assumed, unpassed, ptr_args) == "escape":
                return "escape"
            res = [(fall, after)]
        for _n2, a2 in res:
            a2.orig = a2.orig - set(CALLER_SAVED if clob is None else clob)
            a2.IF = a2.norm(res_if)
            # the caller-saved registers the callee's closure writes (all
            # when it is not known); RAX its returned tag
            for r in CALLER_SAVED if clob is None else [r for r in CALLER_SAVED if r in clob]:
                a2.regs[r] = TOP
            if clob is None or "rax" in clob:
                a2.regs["rax"] = a2.norm(rax) if rax is not TOP else TOP
            for r, v in cond_regs.items():
                a2.regs[r] = v
            if escaped:
                self._forget(a2)
        if self._written is not None:
            if clob is None:
                self._written = None
            else:
                self._written |= clob
        return res if fall is not None else [(None, res[0][1])]

    def _undecided_off(self, t, depth, ptr_args, ctx=None) -> bool:
        """"assume" when the call of t, made with IF exactly 0, keeps IF 0
        under the named assumption irqs-off-callees: t is below the last
        level OFF_CAPS reads, or its reading ran out of the level's cap
        with its IF at return unknown and IF nowhere in it possibly set.
        False when t's summary is known (read before, or now within the
        cap): the caller uses it.  "unknown" past OFF_TOTAL: not read, not
        assumed.

        The assumption is the kernel's own rule for code that runs with
        interrupts disabled: a function that may be entered with them off
        saves and restores the flags (local_irq_save/restore,
        spin_lock_irqsave) instead of enabling them, and the exit path
        asserts it: lockdep_assert_irqs_disabled() at both ends of
        exit_to_user_mode_prepare (6.12 include/linux/entry-common.h:321
        and :334) and in the context-tracking and RCU code it calls (6.12
        kernel/context_tracking.c:139, :367, :392, :471; kernel/rcu/
        tree_nocb.h:95-132), which CONFIG_PROVE_LOCKING checks at run time.
        A callee whose reading finished is never assumed: one that may
        return with IF 1 (a `sti` the analysis sees, or an IF it cannot
        model, such as an IRET it cannot follow) is taken as such.  What it
        cannot see: an enable more than len(OFF_CAPS) calls below the first
        call made with IF 0, or inside a closure too large for the cap (on
        the Debian kernels rcu_nocb_flush_deferred_wakeup ->
        try_to_wake_up -> WARN -> printk, 6.12's __ct_user_enter).  A
        reading that runs out is not charged to its caller's budget; the
        summaries it left unknown are dropped from the memo, and t is
        remembered with its cap (_cap_failed): a call read with a larger
        cap reads it again.  The report lists every call that used
        the assumption."""
        if OFF_CAPS is None:
            return False  # (the rule switched off: tests of the other rules alone)
        if ctx is None:
            ctx = 0 if self._ctx == 0 else "A"
        key = _key(t, ptr_args, ctx)
        if key in self.memo and self._deep_level.get(key, -1) > self._off_level:
            # read before from a deeper level, where a callee below it was
            # assumed for its depth alone: from here that callee is owed a
            # reading (adv_r195_offlevel_memo)
            self._drop_unknown([key])
        if key in self.memo or key in self.active:
            return False  # read already (or being read): its summary answers
        if self._off_level >= len(OFF_CAPS):
            self._deep_assumes += 1
            return "assume"
        cap = OFF_CAPS[self._off_level]
        if self._cap_failed.get(key, 0) >= cap:
            # (ran out of this cap or a larger one before; a smaller
            # cap's failure is read again with this one: a callee first
            # met one call deeper is owed the first level's reading where
            # it is called directly, adv_r74_capfail_level)
            return "assume"
        if self.capped_spent >= OFF_TOTAL:
            # (no more capped readings: the call is not read, and nothing
            # read says it keeps IF, so it is unknown, never assumed:
            # adv_r72_total_spent)
            return "unknown"
        saved = self.budget
        self.budget = cap
        mark = len(self.log)
        level = self._off_level
        provisional0, deep0 = self._provisional_uses, self._deep_assumes
        self._off_level += 1
        outer_enable, self._off_enable = self._off_enable, False
        try:
            r = self.summary(t, depth + 1, ptr_args, ctx)
        finally:
            self._off_level -= 1
            saw_enable = self._off_enable
            self._off_enable = outer_enable or saw_enable
        used = cap - self.budget
        self.capped_spent += used
        # (a reading in which IF may have been set, by an instruction it
        # walked or a callee's result, before it ran out is not assumed:
        # adv_r70_sti_then_cap, adv_r72_memo_enable)
        ran_out = self.budget <= 0 and (r is None or r[0] is TOP) and not saw_enable
        self.budget = saved - (0 if ran_out else used)
        if self._deep_assumes != deep0:
            # what this reading memoised rests on a callee assumed for its
            # depth: t's summary holds where a call is read from this
            # level, what it summarised directly from the level it ran at
            # (level + 1), and a nested reading's entries from its own
            # (recorded first); none from a shallower one
            for k in self.log[mark:]:
                self._deep_level.setdefault(k, level if k == key else level + 1)
        if ran_out and self._provisional_uses != provisional0:
            # a recursion's fixpoint walked the code more than once within
            # the cap, so running out says nothing about the closure's size
            # (adv_r195_recur_iter_sti: the `sti` after the recursive call
            # lay past the cap in the second pass): not assumed, and read
            # again when asked again
            self._drop_unknown([k for k in self.log[mark:] if self.memo.get(k) is None])
            return "unknown"
        if not ran_out:
            return False  # decided, or unknown for a reason other than its size: not assumed
        # the summaries the cap left unknown are not memoised as unknown
        self._cap_failed[key] = cap
        self._drop_unknown([k for k in self.log[mark:] if self.memo.get(k) is None])
        return "assume"

    def _read_capped_e(self, t, depth, ptr_args) -> bool:
        """Whether t's context-"E" summary is known: read before, or now
        within E_CAP instructions, at most E_LEVELS such readings deep.
        For a call made while IF may be 1, which is otherwise not read:
        a summary in context "E" holds whatever IF the call is made with
        (its atom "E" is composed with the caller's IF), so using it is
        sound; a reading that does not decide leaves the call unknown
        (TOP), never assumed.  It decides a function that ends with its
        own `cli` (do_fast_syscall_32 -> __do_fast_syscall_32 ->
        syscall_exit_to_user_mode) without following it in the engine.
        A reading that runs out is not charged to its caller and its
        unknown summaries are dropped from the memo (as _undecided_off)."""
        key = _key(t, ptr_args, "E")
        if key in self.memo:
            return self.memo[key] is not None
        if not self._e_on or key in self.active or key in self._cap_failed:
            return False
        if self._e_level >= E_LEVELS or self.capped_spent >= OFF_TOTAL or self.budget <= 0:
            return False
        saved = self.budget
        self.budget = E_CAP
        mark = len(self.log)
        self._e_level += 1
        try:
            r = self.summary(t, depth + 1, ptr_args, "E")
        finally:
            self._e_level -= 1
        used = E_CAP - self.budget
        self.capped_spent += used
        if r is not None:
            self.budget = saved - used
            return True
        self.budget = saved
        self._cap_failed[key] = E_CAP
        self._drop_unknown([k for k in self.log[mark:] if self.memo.get(k) is None])
        return False

    def _split_branch(self, summ, skey, fall):
        """[(node, out-parameter stores, RAX class)] for the two branches
        of `test %al,%al; je/jne` right after a call (at fall) whose
        summary splits its out-parameter stores by the returned AL
        (_analyse_once, memo ("split", key)): the taken and fall-through
        nodes of the jcc, each with the stores of the returns whose AL
        takes it; a branch no return takes is left out.  None when the
        call is not followed by that test or its summary has no split.
        Sound: between the call and the jcc only the flags change (the
        test writes nothing else), and ZF is set exactly when AL is 0."""
        if summ is None or skey is None or fall is None or fall[1] is not None:
            return None
        split = self.memo.get(("split", skey))
        if split is None:
            return None
        X = capstone.x86
        try:
            k1, t1 = self._decode(fall)
            if k1 != "insn" or t1 is None:
                return None
            nxt = self._fall(t1, fall)
            k2, j = self._decode(nxt)
        except CfgError:
            return None
        if k2 != "insn" or j is None or nxt[1] is not None:
            return None
        o = t1.operands
        if not (t1.mnemonic == "test" and len(o) == 2 and o[0].type == X.X86_OP_REG and o[1].type == X.X86_OP_REG
                and o[0].reg == o[1].reg == X.X86_REG_AL):
            return None
        jo = j.operands
        if j.mnemonic not in ("je", "jne") or len(jo) != 1 or jo[0].type != X.X86_OP_IMM:
            return None
        target = target_node(self.program, jo[0].imm & 0xFFFFFFFFFFFFFFFF, None)
        after_j = self._fall(j, nxt)
        zero, nonzero = split
        # je: taken when AL is 0
        sides = ((target, zero, "bz"), (after_j, nonzero, "nz")) if j.mnemonic == "je" else \
            ((target, nonzero, "nz"), (after_j, zero, "bz"))
        return [x for x in sides if x[1] is not None]

    def _pv_callee_save(self, node) -> bool:
        """Whether the instruction at node is `call *pv_ops+N` (RIP-relative
        or absolute, no base/index register) where member N of struct
        paravirt_patch_template is, by the image's BTF, a `struct
        paravirt_callee_save` (6.1/6.12 arch/x86/include/asm/paravirt_types.h:
        "Wrapper type for pointers to code which uses the non-standard
        calling convention").  Every writer of such a slot stores
        PV_CALLEE_SAVE(func) (__raw_callee_save_func, a
        PV_CALLEE_SAVE_REGS_THUNK that pushes and pops every caller-saved
        register but RAX around the C function, paravirt.h), or a function
        promised to keep that convention (__PV_IS_CALLEE_SAVE): the
        compiled call sites (PVOP_CALLEE*) declare only RAX clobbered and
        keep live values in the other registers across the call.  The
        image fixes only the linked value, not what kvm_spinlock_init /
        xen_init_spinlocks / hv_init_spinlocks install at boot: named
        assumption pv-callee-save, recorded at the call."""
        hit = self._pvcs_memo.get(node)
        if hit is not None:
            return hit
        out = False
        try:
            kind, ci = self._decode(node)
        except CfgError:
            kind, ci = None, None
        X = capstone.x86
        pv = self.program.symbols.get("pv_ops")
        btf = getattr(self.program.image, "btf", None)
        if kind == "insn" and ci is not None and ci.mnemonic == "call" and len(ci.operands) == 1 \
                and pv is not None and btf is not None:
            op = ci.operands[0]
            if op.type == X.X86_OP_MEM and op.mem.index == 0 and op.mem.segment == 0 and op.size == 8:
                a = None
                if op.mem.base == X.X86_REG_RIP:
                    a = (ci.address + ci.size + op.mem.disp) & 0xFFFFFFFFFFFFFFFF
                elif op.mem.base == 0:
                    a = op.mem.disp & 0xFFFFFFFFFFFFFFFF
                if a is not None and 0 <= a - pv < 0x1000 and (a - pv) % 8 == 0:
                    try:
                        member = btf.member_at("paravirt_patch_template", a - pv)
                        out = bool(member and member.endswith(".func") and btf.member_type_name(
                            "paravirt_patch_template", member[:-len(".func")]) == "paravirt_callee_save"
                            and btf.offsetof("paravirt_callee_save", "func") == 0)
                    except Exception:  # noqa: BLE001 (unreadable BTF: not known to be callee-save)
                        out = False
        self._pvcs_memo[node] = out
        return out

    @staticmethod
    def _if_cond(s: _St):
        """The argument atoms IF is 0 under on this path: a set A such that
        IF is 0 whenever every atom of A is 0 (the empty set: IF is 0), or
        None (IF may be 1, or is unknown, whatever the arguments).  An
        element is 0, an atom known to be 0 here (a branch on its bit 9),
        or an argument atom or conditional atom on one (in A)."""
        if s.IF is TOP:
            return None
        out = set()
        for x in s.IF:
            a = x[1] if _cond(x) else x
            if x == 0 or (a != 1 and s.known.get(a) == 0):
                continue
            if a in ARGS:
                out.add(a)
                continue
            return None
        return frozenset(out)

    def _compose(self, t, s: _St, restore=False):
        """A callee's tag t in the caller's state s.  restore: t is the
        callee's IF at return, so an argument atom in it is the bit 9 of a
        word the callee restored (the only way IF becomes an argument's bit
        9): a lost word there restores 0 (_lost_restore)."""
        if t is TOP:
            return TOP
        out: set = set()
        for x in t:
            if x in (0, 1) or x == LOST:
                out.add(x)
            elif _cond(x):
                # unknown when the callee's atom x[1] is 1: unknown when
                # the caller's value of it may be 1
                v = s.IF if x[1] == "E" else LOSTSET if x[1] == LOST else s.regs.get(x[1], TOP)
                if v is TOP:
                    return TOP
                if restore:
                    v = self._lost_restore(v)
                for y in v:
                    if y == 0 or (not _cond(y) and y != 1 and s.known.get(y) == 0):
                        continue
                    if _cond(y):
                        out.add(y)
                    elif y == 1 or s.known.get(y) == 1 or not isinstance(y, str):
                        return TOP
                    else:
                        out.add(("?", y))
            elif isinstance(x, tuple) and x[0] == "*":
                # the word at (callee's argument a) + d as the callee found
                # it: where the caller's register a points, now
                ps = s.ptrs.get(x[1])
                if not ps or None in ps or len(ps) != 1:
                    return TOP
                [p] = ps
                if x[2] == ANY:
                    return TOP
                if p[0] == "sp":
                    v = self._slot(s, p[1] + x[2]) if s.sp is not None and p[1] is not None else TOP
                else:
                    v = _out_word(s.outs, p[1], p[2] + x[2]) if p[2] is not None else TOP
                if v is TOP:
                    return TOP
                out |= self._lost_restore(v) if restore else v
            else:
                v = s.IF if x == "E" else s.regs.get(x, TOP)
                if v is TOP:
                    return TOP
                out |= self._lost_restore(v) if restore and x != "E" else v
        return frozenset(out)
