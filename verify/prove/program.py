"""The image as the prover sees it: code bytes, patch-site candidates, the
function boundaries and names that decide what a jump or call is, and each
function's CFG (built once, cached).
"""
from __future__ import annotations

import bisect
from functools import cached_property
from array import array

import numpy as np

from .. import machine
from ..errors import InputError
from ..image.encoding import CALL_DEST_PREFIXES as _LEGACY_PREFIXES
from ..image.encoding import call_rel32_target as _decode_call
from ..image.encoding import lite_decode
from ..image.patches import CALLED_ONLY_THUNKS, PatchSite, Variant, read_patch_sites, runtime_consts, tables
from .cfg import INDIRECT_THUNK_PREFIXES, RETURN_THUNKS, TRACE_HOOKS, CfgError, FunctionCfg, _md, alternative_choices

# arch/x86/include/asm/extable_fixup_types.h (6.1, 6.12): the `data` word of
# an __ex_table entry whose handler is ex_handler_uaccess, no reg, no flags
EX_TYPE_UACCESS = 3

# What the handler of an exception-table entry does to the faulting
# context's registers, per type (the `data` word's bits 0-7), for the types
# whose handler changes nothing else there: arch/x86/mm/extable.c
# fixup_exception (6.1 and 6.12, the same numbers in extable_fixup_types.h):
# DEFAULT 1 and DEFAULT_MCE_SAFE 14 (ex_handler_default: RIP := the fixup,
# RAX/RDX := 0 under EX_FLAG_CLEAR_AX/DX, the flags in bits 12-13), FAULT 2
# and FAULT_MCE_SAFE 15 (ex_handler_fault: RAX := the trap number, then
# default), UACCESS 3 (a WARN, then default), FPU_RESTORE 6 (a WARN,
# fpu_reset_from_exception_fixup(), RIP := the fixup), WRMSR 8, RDMSR 9,
# WRMSR_SAFE 10 and RDMSR_SAFE 11 (ex_handler_msr: RAX, RDX := 0 for a read,
# the register in bits 8-11 := -EIO for the safe ones, then default) and
# IMM_REG 17 (ex_handler_imm_reg: that register := the immediate, then
# default).  The register number is pt_regs_offset()'s (arch/x86/lib/
# insn-eval.c pt_regoff: the instruction encoding's order); 4 (RSP) is not
# modelled.  Other types (CLEAR_FS's segment load, BPF, the MCE ones that
# panic, POP_REG's RSP change, SGX, UCOPY_LEN, ZEROPAD's emulated load,
# ERETU) and unknown numbers are not modelled.
_EX_REGS_BY_TYPE = {1: (), 14: (), 2: ("rax",), 15: ("rax",), 3: (), 6: (), 8: (), 9: ("rax", "rdx"),
                    10: (), 11: ("rax", "rdx"), 17: ()}
_EX_TYPES_WITH_REG = (10, 11, 17)
_EX_REG_NAMES = ("rax", "rcx", "rdx", "rbx", None, "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
                 "r14", "r15")

# the syscall dispatch: 64-bit, the compat one (6.12 ia32_sys_call,
# 6.1 an indirect call through ia32_sys_call_table: an unknown callee anyway)
# and x32's (CONFIG_X86_X32_ABI, Debian's generic kernels: do_syscall_64 ->
# do_syscall_x32 -> `regs->ax = x32_sys_call(regs, xnr)`, 6.12 and 6.1.85+
# arch/x86/entry/common.c, syscall_x32.c; older kernels call through
# x32_sys_call_table).  Each runs a system call chosen by the user's number
# and returns its result: read as code it is the union of every syscall,
# which is what the dispatch's havoc already stands for (and reading it cost
# the whole TS_COMPAT reading budget, tscompat.READ_LIMIT_PASSES, before the
# exit path's callees were read).
_THUNK_REGS = frozenset({"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13",
                         "r14", "r15"})

# the registers in x86 encoding order: __x86_indirect_thunk_array's slots
# (asm/GEN-for-each-reg.h)
_SLOT_REGS = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
              "r15")

DISPATCH = ("x64_sys_call", "sys_call_table", "ia32_sys_call", "ia32_sys_call_table", "x32_sys_call",
            "x32_sys_call_table")


class Program:
    def __init__(self, image):
        self.image = image
        self.symbols = image.symbols
        self.entry = image.entry
        self.layout = image.layout
        consts = {k: v.value for k, v in self.layout.constants.items()}
        self.constants = consts
        self.feature_la57 = consts.get("X86_FEATURE_LA57")
        self.feature_xenpv = consts.get("X86_FEATURE_XENPV")
        self.feature_always = consts.get("X86_FEATURE_ALWAYS")
        self.sites: dict[int, list] = {}
        for s in read_patch_sites(image, thunks=False):  # modelled at the thunk (a return / an unknown call)
            self.sites.setdefault(s.addr, []).append(s)
        # PTI is a boot-time choice only in an image with code patched on it
        # (SWITCH_TO_*_CR3's alternatives): without any, the kernel has no
        # page-table isolation (CONFIG_MITIGATION_PAGE_TABLE_ISOLATION off)
        # and user-cr3 is decided with X86_FEATURE_PTI false
        self.feature_pti = consts.get("X86_FEATURE_PTI")
        self.has_pti = any(getattr(e, "feature", None) == self.feature_pti for es in self.sites.values() for e in es)
        self._sct_memo: dict = {}  # target -> static_call_tramp's answer
        for s in self._odd_static_calls() + self._odd_table_sites() + self._unmodelled_call_thunks():
            self.sites.setdefault(s.addr, []).append(s)
        # [start, end) of every patch site, to refuse on-disk decoding inside one
        self._site_starts = sorted(self.sites)
        # the other addresses boot or run time rewrites from
        # (PatchTables.rewritten_starts: .smp_locks, return/retpoline/static
        # call sites, call-depth call sites, fentry calls, sealed ENDBRs).
        # At an instruction's first byte each is that instruction's rewrite
        # (a LOCK prefix becoming a DS override, a call retargeted), modelled
        # where the prover models it; strictly inside an instruction the
        # rewrite changes the instruction itself, which site_inside refuses
        # as it refuses a patch site there (adv_r146_smp_unlock_jmp_disp,
        # adv_r147_retsite_in_movabs).  (array 'Q': bisect without a
        # Python int per entry; ~300,000 on 6.12)
        t = tables(image)
        self._rewritten = _u64_array(t.rewritten_starts)
        # direct calls boot may send through a call-depth accounting thunk
        # (retbleed=stuff: callthunks_patch_builtin_calls), which does
        # `sarq $5, %gs:...` before the callee (call_depth_site)
        # ... and, under call-depth tracking, every retpoline site: with
        # X86_FEATURE_CALL_DEPTH patch_retpoline makes a call there one to
        # __x86_indirect_call_thunk_<reg>, whose CALL_DEPTH_ACCOUNT is the
        # same %gs access (6.12 alternative.c emit_call_track_retpoline,
        # lib/retpoline.S CALL_THUNK: adv_r153_retpoline_call_track)
        self._call_depth_calls = _u64_array(np.sort(np.concatenate((
            np.asarray(t.call_sites, np.uint64),
            np.array([a for a, _i in t.retpoline_sites[1]], np.uint64)))) if t.call_thunk_size else ())
        # the padding call-depth tracking fills with its accounting thunk
        # (callthunks.c patch_dest: the call_thunk_size bytes before each
        # listed call's target, when they are NOPs): at run time `sarq $5,
        # %gs:...` falling through into the target, straight-line code as
        # the NOPs are for every walk of control flow, a %gs access for the
        # explorer (thunk_pad_at, adv_r151_callthunk_pad_fallthrough)
        self._thunk_size = t.call_thunk_size or 0
        # IRETs to user mode an exploration found that may give user mode IF
        # clear or IOPL != 0 (Explorer._iret_frame): user-mode-if-iopl is one
        # premise for the whole image, whichever entry's exploration saw them
        # and whether or not it reached a SYSRET (decide.spread_unestablished)
        # (record_iret_user_flags: a later exploration replaces an earlier
        # one's only where it covers every variant that one did)
        self._iret_runs: dict = {}  # entry -> [(its fixed features or None, the IRETs it found)]
        # (an alternative whose replacement is longer than the site writes
        # past it: the bytes it may write are the site's, adv_r80_alt_repl_longer)
        self._site_ends = [a + max(max(e.length, e.writes) for e in self.sites[a]) for a in self._site_starts]
        # sites that start inside another: boot applies the tables in their
        # order, so one's bytes may overwrite the other's choice (a second
        # site 4 bytes into an alternative, adv_r80_alt_overlap); no model
        self._overlapping: set = set()
        self._site_reach: list = []  # the furthest end of the sites up to each (inside_site)
        reach, owner = 0, None  # the furthest end so far, and its site
        for a, end in zip(self._site_starts, self._site_ends):
            if a < reach:
                self._overlapping |= {owner, a}
            if end > reach:
                reach, owner = end, a
            self._site_reach.append(reach)
        # boot-rewritten immediates (asm/runtime-const.h): their on-disk
        # value is a placeholder (Explorer._runtime_const)
        self.runtime_consts = runtime_consts(image)
        self._choices: dict[int, list] = {}
        self._thunk_regs: dict = {}  # target -> thunk_register's answer
        self._thunk_fx: dict = {}  # thunk -> thunk_effects' answer
        self._cfgs: dict[int, FunctionCfg] = {}
        self._starts: dict[int, str | None] = {}
        self.dispatch = set()
        for n in DISPATCH:
            a = self.symbols.get(n)
            if a is not None:
                self.dispatch.add(a)
        d = getattr(self.entry, "dispatch", None) or {}
        if d.get("address"):
            self.dispatch.add(d["address"])

    def _slot_misnamed(self, dest: int, slot: int) -> bool:
        """Whether a thunk of __x86_indirect_thunk_array is named for another
        register than its slot's: patch_retpoline takes the register from
        the slot (`reg = target - __x86_indirect_thunk_array`), the model
        from the name (adv_r153_retpoline_slot_name)."""
        p = "__x86_indirect_thunk_"
        names = {n[len(p):] for n in self.symbols.names_at(dest) if n.startswith(p) and n[len(p):] in _THUNK_REGS}
        # (a slot with no register's name at all counts too: `call
        # __x86_indirect_thunk_array` is slot 0's, rax, whatever its code
        # does: adv_r155_retpoline_slot_unnamed)
        return names != {_SLOT_REGS[slot]}

    def thunk_register(self, target) -> str | None:
        """The register an indirect-branch thunk at target branches through
        (`__x86_indirect_thunk_rax` -> "rax"), or None for any other
        target.  A thunk is taken for `jmp *%reg` (its target unknown, or the
        register's value where the explorer knows it), so both the name
        (INDIRECT_THUNK_PREFIXES and a register) and the code must say so:
        a function under a thunk's name whose code does anything else is
        read as the function it is (review 127: a `__x86_indirect_thunk_rax`
        that sets TS_COMPAT, or stores a stack address into pt_regs, before
        its jump; `__x86_indirect_gs_fixup`, a `swapgs; ret`, under the bare
        prefix)."""
        if target is None:
            return None
        if target in self._thunk_regs:
            return self._thunk_regs[target]
        # (every name at target: 6.12's __x86_indirect_thunk_array starts
        # where __x86_indirect_thunk_rax does; names naming two registers
        # name no thunk)
        regs = {n[len(p):] for n in self.symbols.names_at(target) for p in INDIRECT_THUNK_PREFIXES
                if n.startswith(p) and n[len(p):] in _THUNK_REGS}
        reg = next(iter(regs)) if len(regs) == 1 else None
        if reg is not None and not self._thunk_shape(target, reg):
            reg = None
        if reg is not None and not self._boot_thunks_shaped(target, reg):
            reg = None
        self._thunk_regs[target] = reg
        return reg

    def _boot_thunks_shaped(self, target: int, reg: str) -> bool:
        """Under call-depth tracking, boot points a retpoline site at
        __x86_indirect_thunk_array[i] to the same slot of
        __x86_indirect_call_thunk_array (a call) or
        __x86_indirect_jump_thunk_array (a jmp or jcc) (6.12
        arch/x86/kernel/alternative.c patch_retpoline ->
        emit_call_track_retpoline): those slots must be thunks through reg
        too (_thunk_shape; their effects join the thunk's, thunk_effects),
        or the target is not taken for one (read as code:
        adv_r160_retpoline_call_thunk_unread, an `sti` in the call thunk; an
        array the image does not have makes the sites boot would point into
        it ones with no static bytes, _odd_table_sites).  True for any other
        target, or an image without call-depth tracking."""
        array = self.symbols.get("__x86_indirect_thunk_array")
        if not self._thunk_size or array is None or not array <= target < array + 32 * len(_SLOT_REGS) \
                or (target - array) % 32:
            return True
        fx = self._thunk_fx.get(target, (False, False, False))
        for name in ("__x86_indirect_call_thunk_array", "__x86_indirect_jump_thunk_array"):
            base = self.symbols.get(name)
            if base is None:
                continue  # (the retpoline sites boot would point there: _odd_table_sites)
            alt = base + (target - array)
            if not self._thunk_shape(alt, reg):
                return False
            fx = tuple(x or y for x, y in zip(fx, self._thunk_fx[alt]))
        self._thunk_fx[target] = fx
        return True

    def runtime_target(self, target) -> bool:
        """A callee the image does not fix, whose code is not read: a static
        call's trampoline (static_call_tramp: its name and its bytes,
        retargeted by static_call_update()) or an indirect-branch thunk
        (thunk_register: its name and its code).  Other code under those
        names is read as code."""
        return self.static_call_tramp(target) or self.thunk_register(target) is not None

    def static_call_tramp(self, target) -> bool:
        """target is a static call trampoline: a `__SCT__*` name there and
        the bytes static_call_update() accepts to patch: a 5-byte `jmp
        func` (e9 rel32; a NULL call's `jmp __x86_return_thunk` too) or
        `ret; int3; nop; nop; nop`, then the signature `0f b9 cc` (6.1 and
        6.12 asm/static_call.h __ARCH_DEFINE_STATIC_CALL_TRAMP; arch/x86/
        kernel/static_call.c __static_call_validate BUG()s on a trampoline
        without it, so only such a one is ever retargeted).  Every
        trampoline of the Debian kernels and the uniprocessor kernel has this
        shape (739 on 6.1, 3855 on 6.12, measured).  Under any other bytes
        the name retargets nothing: the code is what runs, and is read."""
        if target is None:
            return False
        hit = self._sct_memo.get(target)
        if hit is None:
            hit = False
            # (and a key: static_call_update(name, f) names __SCK__name and
            # __SCT__name; a trampoline no key names is never retargeted,
            # adv_r130_sct_nokey_sti)
            if any(n.startswith("__SCT__") and "__SCK__" + n[len("__SCT__"):] in self.symbols
                   for n in self.symbols.names_at(target)):
                try:
                    raw = self.image.read(target, 8)
                except InputError:
                    raw = b""
                # (a trampoline under a patch site too is an unknown callee:
                # whatever boot or static_call_update() puts there)
                hit = len(raw) == 8 and raw[5:] == b"\x0f\xb9\xcc" and (
                    raw[0] == 0xE9 or raw[:5] == b"\xc3\xcc\x90\x90\x90")
            self._sct_memo[target] = hit
        return hit

    def static_call_defaults(self, tramp: int, site: int | None) -> list:
        """What a call at `site` to the static call trampoline `tramp` runs
        before any static_call_update() retargets it, which the image fixes
        (adv_r130_sct_key_func_ptregs): the trampoline's own `jmp func`
        target, and for a site .static_call_sites lists the function its key
        holds (__static_call_init() writes a call to it there); None for
        "nothing runs" (a NULL trampoline's `ret` or jump to a return thunk,
        a NULL key: a NOP).  The run-time targets are the unknown callee
        the trampoline also stands for."""
        out: list = []
        try:
            raw = self.image.read(tramp, 5)
        except InputError:
            return out
        if raw[0] == 0xE9:
            f = (tramp + 5 + int.from_bytes(raw[1:5], "little", signed=True)) & 0xFFFFFFFFFFFFFFFF
            out.append(None if self.is_return_thunk(f, jump=True) else f)
        else:
            out.append(None)
        if site is not None and site in tables(self.image).static_call_sites:
            funcs = [f for s, f in tables(self.image).static_call_targets if s == site]
            out += [f or None for f in funcs] or [None]
        return list(dict.fromkeys(out))

    def _thunk_shape(self, start: int, reg: str) -> bool:
        """Whether the code at start, under every patch-site choice, is an
        indirect branch through reg and nothing else.  The walk follows
        every instruction reachable from start within THUNK_SPAN bytes,
        with the words the thunk pushed (depth: its own `call`, at most one)
        and whether the top one now holds reg:
        - at depth 0, `jmp reg` ends the path (ITS, LFENCE and the patched
          retpoline); a `ret` there would return to the caller without
          branching anywhere (adv_r128_thunk_ret_dispatch: RAX still the
          target's address), refused, as is `ret imm`;
        - `call L` (L inside the span, at depth 0) pushes: L goes on at
          depth 1; the fall-through is the retpoline's speculation trap,
          which may hold only `pause`, `lfence`, NOPs, `int3` and jumps
          inside the span (the CPU never returns there: the return address
          is overwritten below);
        - at depth 1, `mov qword ptr [rsp], reg` overwrites the pushed word;
          then `ret` (or a jump to a return thunk, a `ret` under assumption
          return-thunk) goes to reg with RSP as it was at entry;
        - NOPs, `lfence`, `pause`, jumps inside the span and call-depth
          tracking's `sar qword ptr <counter>, 5` (KernelLayout.call_depth,
          6.12 pcpu_hot.call_depth: only the return thunks' RSB refill
          reads it) go on; anything else refuses the name.
        So the thunk writes no memory but its own dead stack word and that
        counter, leaves IF, GS, CR3 and every register as they were, and
        goes where reg points: what its callers take it for.  The span
        bounds a thunk (6.1 and 6.12's are 21-32 bytes, padded to 32)."""
        THUNK_SPAN = 64
        lo, hi = start, start + THUNK_SPAN
        depth_slot = self.layout.call_depth
        gs_counter = via_return_thunk = flags = False  # (thunk_effects)
        # (address, (site, its chosen code) being decoded or None, words
        # pushed, top word holds reg, in the speculation trap)
        work = [(start, None, 0, False, False)]
        seen: set = set()
        while work:
            item = work.pop()
            a, over, depth, marked, trap = item
            if over is not None and a >= over[0] + len(over[1]):
                over = None
                item = (a, None, depth, marked, trap)
            if item in seen:
                continue
            seen.add(item)
            if not lo <= a < hi:
                return False
            if over is None and a in self.sites:
                try:
                    choices = self.site_choices(a)
                except CfgError:
                    return False
                work += [(a, (a, code), depth, marked, trap) for code, _label, _cond in choices]
                continue
            try:
                data = over[1][a - over[0]:] if over is not None else self.fetch(a, 16)
            except CfgError:
                return False
            ins = next(iter(lite_decode(_md(), data, a, 1)), None)
            if ins is None:
                return False
            _at, size, m, ops = ins
            m = m.split(" ")[-1] if m.startswith(("bnd ", "notrack ")) else m
            nxt = a + size
            if over is not None and nxt > over[0] + len(over[1]):
                return False  # (an instruction across the site's end)

            def to(t):  # a branch inside the span: in the chosen code when it lands there
                return t, (over if over is not None and over[0] <= t < over[0] + len(over[1]) else None)

            if m.startswith("nop") or m in ("lfence", "pause"):
                work.append((nxt, over, depth, marked, trap))
            elif m == "int3":
                continue  # (a trap: the path ends)
            elif m == "jmp" and ops.startswith("0x"):
                t = int(ops, 16)
                if self.is_return_thunk(t, jump=True):
                    if trap or depth != 1 or not marked:
                        return False
                    via_return_thunk = True
                    continue
                if not lo <= t < hi:
                    return False
                work.append((*to(t), depth, marked, trap))
            elif trap:
                return False  # (the speculation trap holds nothing else)
            elif m == "jmp" and ops == reg:
                if depth != 0:
                    return False
            elif m == "ret" and not ops:
                if depth != 1 or not marked:
                    return False
            elif m == "call" and ops.startswith("0x"):
                t = int(ops, 16)
                if depth != 0 or not lo <= t < hi:
                    return False
                work.append((*to(t), 1, False, False))
                work.append((nxt, over, depth, marked, True))
            elif m == "mov" and ops == f"qword ptr [rsp], {reg}":
                if depth != 1:
                    return False
                work.append((nxt, over, depth, True, trap))
            elif m == "sar" and ops.endswith("], 5") and depth_slot is not None and \
                    self._names_call_depth(ops, nxt, depth_slot.value):
                gs_counter = gs_counter or "gs:" in ops
                flags = True  # (a shift writes the status flags)
                work.append((nxt, over, depth, marked, trap))
            else:
                return False
        self._thunk_fx[start] = (gs_counter, via_return_thunk, flags or via_return_thunk)
        return True

    def thunk_effects(self, target) -> tuple:
        """(whether some patch choice of the thunk at target accesses %gs:
        call-depth tracking's counter; whether one leaves through a return
        thunk; whether one may change the status flags: the counter's `sar`,
        a return thunk's code) for a thunk thunk_register takes: what a
        caller owes beside the indirect branch (a %gs access while the GS
        base may be the user's, adv_r129_callthunk_sar_after_swapgs; the
        return thunk's own effects under assumption return-thunk,
        adv_r129_thunk_rethunk_after_swapgs; flags a caller tests after the
        call, adv_r130_thunk_sar_flags)."""
        none = (False, False, False)
        return self._thunk_fx.get(target, none) if self.thunk_register(target) is not None else none

    def _names_call_depth(self, ops: str, nxt: int, slot: int) -> bool:
        """`qword ptr [rip + d]` (uniprocessor: a global) or `qword ptr
        gs:[rip + d]` (a per-CPU offset, 32 bits) naming the call-depth
        counter at slot."""
        if self.layout.percpu_gs.value and ops.startswith("qword ptr gs:[") and ops.endswith("], 5") and \
                "rip" not in ops and "+" not in ops and "-" not in ops:
            # (an absolute per-CPU offset: PER_CPU_VAR without RIP, 6.1's
            # spelling and the fixtures')
            try:
                return int(ops[len("qword ptr gs:["):-len("], 5")], 16) == slot & 0xFFFFFFFF
            except ValueError:
                return False
        for prefix, mask, gs in (("qword ptr gs:[rip ", 0xFFFFFFFF, True), ("qword ptr [rip ", (1 << 64) - 1, False)):
            if ops.startswith(prefix) and gs == bool(self.layout.percpu_gs.value):
                body = ops[len(prefix):-len("], 5")]
                sign, _, num = body.partition(" ")
                try:
                    d = int(num, 16) * (-1 if sign == "-" else 1)
                except ValueError:
                    return False
                return sign in ("+", "-") and (nxt + d) & mask == slot & mask
        return False

    # -- bytes ----------------------------------------------------------------------
    def site_inside(self, addr: int, size: int) -> int | None:
        """The start of a patch site strictly inside the on-disk instruction
        [addr, addr + size), or None.  Such an instruction's bytes past that
        start are whatever boot puts at the site: decoded from disk, a
        prefix before the site would read the on-disk choice only (`66 40`
        then `0f 07` on disk, `48 0f` under a feature: a sysretl that is a
        sysretq at run time, adv_r55_sysret_prefix_before_site).  Compiled
        code and the kernel's asm macros put whole instructions in a site.
        An address boot or run time rewrites from (.smp_locks, a return,
        retpoline, static call, call-depth or fentry site, a sealed ENDBR)
        counts too: each names an instruction's first byte, and strictly
        inside one it is not that, and its rewrite changes this one
        (adv_r146_smp_unlock_jmp_disp, adv_r147_retsite_in_movabs)."""
        i = bisect.bisect_right(self._site_starts, addr)
        if i < len(self._site_starts) and self._site_starts[i] < addr + size:
            return self._site_starts[i]
        return self.rewritten_inside(addr, size)

    @cached_property
    def _thunk_pads(self) -> array:
        """_call_thunk_pads, computed on first use (after the patch sites)."""
        return _u64_array(self._call_thunk_pads(tables(self.image)) if self._thunk_size else ())

    def thunk_pad_at(self, addr: int, size: int = 1) -> int | None:
        """The start of the first call-depth thunk padding [addr, addr +
        size) overlaps (boot writes the thunk there: _thunk_pads), or None
        (thunk_pads_in)."""
        pads = self.thunk_pads_in(addr, size)
        return pads[0] if pads else None

    def pad_entry(self, addr: int, size: int) -> int:
        """How the instruction [addr, addr + size) meets call-depth padding
        (thunk_pads_in): 0 it overlaps none; the thunk's size when addr is
        a padding's start (boot's thunk there is one instruction of that
        size); -1 when it enters one other than at its start (starts inside
        it, or runs into it): the thunk's bytes run from the middle, which
        no reader models (adv_r160_callthunk_pad_mid_jump).  Linear readers
        that go on through the padding from its start take the whole
        padding as that one instruction."""
        pads = self.thunk_pads_in(addr, size)
        if not pads:
            return 0
        return self._thunk_size if pads == [addr] and self.thunk_template_ok else -1

    def thunk_pads_in(self, addr: int, size: int = 1) -> list[int]:
        """The starts of every call-depth thunk padding [addr, addr + size)
        overlaps, sorted: the listed calls' (_thunk_pads) and any NOP
        padding before a symbol start (calls the image does not list get a
        thunk at run time too: _call_thunk_pads)."""
        skl = self._thunk_size
        if not skl:
            return []
        out = set()
        pads = self._thunk_pads
        i = bisect.bisect_right(pads, addr - skl)
        while i < len(pads) and pads[i] < addr + size:
            out.add(pads[i])
            i += 1
        for f in self.image.symbols.addresses_in(addr + 1, addr + size + skl):
            if f - skl < addr + size and self._nops_at(f - skl, skl):
                out.add(f - skl)
        return sorted(out)

    def _nops_at(self, a: int, n: int) -> bool:
        """Whether the n bytes at a are NOPs (0x90), read across section
        boundaries (padding at the end of one output section before code
        that starts the next: adv_r162_callthunk_pad_section_edge)."""
        try:
            return self.image.read(a, n) == b"\x90" * n
        except Exception:  # noqa: BLE001 - across sections, or outside the image: byte by byte
            try:
                return all(self.image.read(a + i, 1) == b"\x90" for i in range(n))
            except Exception:  # noqa: BLE001 - bytes outside the image: no padding
                return False

    def _call_thunk_pads(self, t):
        """The padding starts (target - call_thunk_size) of every listed
        call's target whose padding holds NOPs (0x90), sorted.  A listed
        call is decoded as callthunks.c does (legacy prefixes skipped, then
        `e8`: adv_r152_callthunk_cs_call), in the bytes boot has written
        there by then (alternatives and the other patch sites are applied
        first: each choice of a site over the call gives a target,
        adv_r152_callthunk_alt_call; one whose target no choice fixes gives
        none: every function's NOP padding may be a pad anyway,
        thunk_pad_at)."""
        from ..image.branches import _windows

        skl = t.call_thunk_size
        calls = t.call_sites
        if not len(calls):
            return np.zeros(0, np.uint64)
        win = _windows(self.image.elf, calls, 0, 15)
        # the calls a patch site may overlap (a site starting before the
        # call's 15 bytes end and reaching past its start), decoded one by
        # one in every choice; the others here, in numpy
        starts = np.array(self._site_starts, np.uint64)
        reach = np.array(self._site_reach, np.uint64) if self._site_reach else np.zeros(0, np.uint64)
        idx = np.searchsorted(starts, calls + np.uint64(15), side="left").astype(np.int64) - 1
        near = np.zeros(len(calls), bool)
        has = idx >= 0
        near[has] = reach[idx[has]] > calls[has]
        dest_parts = []
        pre = np.isin(win, np.array(sorted(_LEGACY_PREFIXES), np.int16))
        lead = np.ones(len(calls), bool)
        # the rows the vector decode takes; the others (a REX prefix, more
        # than three legacy prefixes: adv_r153_callthunk_rex_call,
        # _4prefix_call) are decoded one by one as those near a site are
        done = np.zeros(len(calls), bool)
        for j in range(4):  # (up to three legacy prefixes before the `e8`)
            hit = lead & (win[:, j] == 0xE8) & (win[:, j + 1:j + 5] >= 0).all(axis=1)
            done |= hit
            take = hit & ~near
            rel = sum(win[take, j + 1 + k].astype(np.int64) << (8 * k) for k in range(4))
            rel = np.where(rel >= 1 << 31, rel - (1 << 32), rel)
            dest_parts.append((calls[take].astype(np.int64) + j + 5 + rel).astype(np.uint64))
            lead &= pre[:, j]
        dests = []
        near |= ~done
        for k in np.flatnonzero(near).tolist():
            row = win[k]
            raw = bytes(int(x) & 0xFF for x in row)
            if (row < 0).any():
                raw = raw[:int(np.argmax(row < 0))]
            dests.extend(self._listed_call_dests(int(calls[k]), raw) or ())
        # the calls at alternative and paravirt sites, in every choice over
        # the on-disk bytes (patch_alt_call_sites, patch_paravirt_call_sites:
        # an alternative that makes a call to a local label,
        # adv_r153_callthunk_alt_site_pad)
        for a, entries in self.sites.items():
            if any(e.kind in ("alternative", "paravirt") for e in entries):
                sec = self._code_section(a)
                got = self._listed_call_dests(a, self.image.read(a, min(15, sec.end - a))) if sec else None
                dests.extend(got or ())
        dest = np.unique(np.concatenate(dest_parts + [np.array(dests, np.uint64)]))
        # Calls the image does not list get the thunk too: a loaded module's
        # calls into built-in text (callthunks_patch_module_calls ->
        # patch_call -> patch_dest on a core-text target), static calls
        # retargeted at run time (static_call_update ->
        # callthunks_translate_call_dest), and the calls an alternative makes
        # after apply_alternatives (patch_alt_call_sites) (6.12
        # arch/x86/kernel/callthunks.c): so every function's NOP padding may
        # be a pad (adv_r153_callthunk_module_pad, _alt_site_pad; thunk_pad_at)
        if not len(dest):
            return np.zeros(0, np.uint64)
        # (_windows reads a padding across sections: adv_r162_callthunk_pad_section_edge)
        pad = _windows(self.image.elf, dest, skl, 0)
        dest = dest[(pad == 0x90).all(axis=1)]
        for sec in self.image.elf.sections:  # (the windows' pages out of the resident size)
            if sec.flags & 0x4 and hasattr(self.image.elf, "drop_section_pages"):
                self.image.elf.drop_section_pages(sec.name)
        return np.sort(dest - np.uint64(skl))

    def _listed_call_dests(self, addr: int, raw: bytes):
        """The targets a listed call at addr may have at run time (a set),
        or None when a patch site over it has a choice with no static
        bytes."""
        variants = [raw]
        # every site over [addr, addr + len(raw)): those starting inside it,
        # and those before it whose reach passes addr (_site_reach, as
        # inside_site walks: a fixed window missed a 72-byte alternative
        # starting 65 bytes before, adv_r153_callthunk_far_alt)
        over = []
        i = bisect.bisect_left(self._site_starts, addr + len(raw)) - 1
        while i >= 0 and (self._site_starts[i] >= addr or self._site_reach[i] > addr):
            if self._site_ends[i] > addr:
                over.append(i)
            i -= 1
        for i in sorted(over):
            s0 = self._site_starts[i]
            try:
                choices = self.site_choices(s0)
            except CfgError:
                return None
            out = []
            for v in variants:
                for code, _label, _cond in choices:
                    if code is None:
                        return None
                    b = bytearray(v)
                    for k, byte in enumerate(code):
                        if 0 <= s0 + k - addr < len(b):
                            b[s0 + k - addr] = byte
                    out.append(bytes(b))
            variants = out
        dests = set()
        for v in variants:
            d = _decode_call(addr, v)
            if d is not None:
                dests.add(d)
        return dests

    def rewritten_inside(self, addr: int, size: int) -> int | None:
        """An address boot or run time rewrites from (site_inside) strictly
        inside the instruction [addr, addr + size), or None: asked of a
        patch-site choice's instructions too (alternatives_smp_unlock runs
        after apply_alternatives and rewrites whatever byte 0xf0 is then at
        a listed address: adv_r147_smp_unlock_in_alt)."""
        i = bisect.bisect_right(self._rewritten, addr)
        if i < len(self._rewritten) and self._rewritten[i] < addr + size:
            return self._rewritten[i]
        return None

    def record_iret_user_flags(self, entry: int, fixed: dict | None, found: list, complete: bool) -> None:
        """The risky IRETs (Explorer._iret_frame) an exploration of `entry`
        with features `fixed` found (fixed None: a record no exploration
        replaces, compat.py's entry never explored).  A complete one
        replaces the records of earlier ones whose fixed features include
        its own: it explored every path of every variant they did, following
        more callees (a round that follows a callee drops the coarser round's
        IRET frame with flags unknown, which the safe fixture
        summary_stack_shapes needs).  A record of an exploration with more
        features fixed, or one cut short (Inconclusive), is kept: a later
        round for the LA57 variants alone says nothing of the 4-level paths
        (adv_r160_iret_flags_round2_la57)."""
        runs = self._iret_runs.setdefault(entry, [])
        key = None if fixed is None else frozenset(fixed.items())
        if complete and key is not None:
            runs[:] = [(k, f) for k, f in runs if k is None or not k >= key]
        runs.append((key, list(found)))

    def iret_user_flags(self) -> list[str]:
        """Every risky IRET the records hold (decide.spread_unestablished)."""
        return [a for runs in self._iret_runs.values() for _k, found in runs for a in found]

    def call_depth_site(self, addr: int) -> bool:
        """Whether the direct call at addr is one call-depth tracking may
        send through its accounting thunk (a %gs read-modify-write before
        the callee: adv_r147_callsite_thunk_after_swapgs): a call
        .call_sites lists, or one at the start of an alternative or
        paravirt site (callthunks.c patch_alt_call_sites,
        patch_paravirt_call_sites: adv_r149_alt_call_thunk_after_swapgs)."""
        if not len(self._call_depth_calls):
            return False
        i = bisect.bisect_left(self._call_depth_calls, addr)
        if i < len(self._call_depth_calls) and self._call_depth_calls[i] == addr:
            return True
        return any(e.kind in ("alternative", "paravirt") for e in self.sites.get(addr, ()))

    def instrumentable(self, addr: int) -> bool:
        """Whether code at addr may be instrumented at run time: anything
        outside the entry text and the noinstr text (the code the kernel
        keeps free of kprobes, ftrace and sanitizer calls: noinstr, which
        objtool checks; kprobes' blacklist also takes .kprobes.text).  Both
        are input sections merged into the vmlinux's .text output section,
        known by the linker script's range symbols (vmlinux.lds.h
        ENTRY_TEXT, NOINSTR_TEXT); an image with none of them is read by
        section name.  An instrumentation handler uses %gs."""
        ranges = self._noinstr_ranges
        if ranges is None:
            sec = self.image.elf.section_at(addr)
            return sec is None or sec.name not in NOINSTR_SECTIONS
        return not any(lo <= addr < hi for lo, hi in ranges)

    @cached_property
    def _noinstr_ranges(self):
        syms = self.image.symbols
        out = [(syms.get(f"__{n}_start"), syms.get(f"__{n}_end")) for n in NOINSTR_RANGES]
        out = [(lo, hi) for lo, hi in out if lo is not None and hi is not None and lo < hi]
        return out or None

    def inside_site(self, addr: int) -> int | None:
        """The start of a patch site addr lies strictly inside, or None
        (its bytes are boot's choice).  Every site starting before addr
        counts, not only the nearest: a site nested in a longer one ends
        before the outer one does (adv_r137_nested_site_label)."""
        i = bisect.bisect_right(self._site_starts, addr) - 1
        if i < 0 or self._site_reach[i] <= addr:
            return None
        while i >= 0 and self._site_reach[i] > addr:
            if self._site_starts[i] < addr < self._site_ends[i]:
                return self._site_starts[i]
            i -= 1
        return None

    def fetch(self, addr: int, n: int) -> bytes:
        """On-disk bytes at addr.  A jump into the middle of a patch site has
        no fixed bytes (which ones run depends on the boot-time patching), so
        decoding there is refused rather than read from disk."""
        site = self.inside_site(addr)
        if site is not None:
            raise CfgError(f"control reaches {addr:#x}, inside the patch site at {site:#x}")
        sec = self._code_section(addr)
        if sec is None:
            raise CfgError(f"control reaches {addr:#x}, outside executable code")
        return self.image.read(addr, min(n, sec.end - addr))

    def _code_section(self, addr: int):
        """The executable section holding addr, or None.  A section that is
        writable too is refused (CfgError): its bytes are no fixed code.
        With rodata on, mark_rodata_ro() leaves executable only the text
        (everything from _etext to the image's end is NX), so code there
        never runs; with it off the section is RWX, and a plain store may
        change the code the analysis would read from disk
        (adv_r89_rwx_hook_patched).  Neither is modelled."""
        sec = self.image.elf.section_at(addr)
        if sec is None or not (sec.flags & 0x4):  # SHF_EXECINSTR
            return None
        if sec.flags & 0x1:  # SHF_WRITE
            raise CfgError(f"control reaches {addr:#x}, in the writable and executable section {sec.name}")
        return sec

    def is_code_address(self, addr: int) -> bool:
        """Whether addr lies in an executable section of the image."""
        sec = self.image.elf.section_at(addr)
        return sec is not None and bool(sec.flags & 0x4)  # SHF_EXECINSTR

    def may_be_code(self, addr: int) -> bool:
        """Whether addr, a constant the code uses, may be or be near a code
        address: in the kernel image's or the modules' mapping
        (machine.KERNEL_TEXT_SPAN) and in no section of the image but an
        executable one (an address past every section, `label + 1 GiB`, is
        a code address away from a constant: adv_r173_icall_thunk_biased_arg;
        one inside a data section is data)."""
        if not machine.KERNEL_TEXT_SPAN[0] <= addr < machine.KERNEL_TEXT_SPAN[1]:
            return False
        sec = self.image.elf.section_at(addr)
        return sec is None or bool(sec.flags & 0x4)  # SHF_EXECINSTR

    def fetch_raw(self, addr: int, n: int) -> bytes:
        """On-disk bytes at addr, patch sites included (for locating
        instruction boundaries by a linear sweep, never for semantics)."""
        sec = self._code_section(addr)
        if sec is None:
            raise CfgError(f"{addr:#x} is outside executable code")
        return self.image.read(addr, min(n, sec.end - addr))

    def symbolize(self, addr: int) -> str:
        return self.image.symbolize(addr)

    def runtime_consts_in(self, addr: int, size: int) -> list:
        """The runtime-constant immediates (patches.RuntimeConst) that
        overlap the bytes [addr, addr + size)."""
        if not self.runtime_consts:
            return []
        out = []
        for a in range(addr - 7, addr + size):
            rc = self.runtime_consts.get(a)
            if rc is not None and a + rc.size > addr:
                out.append(rc)
        return out

    def start_name(self, addr: int) -> str | None:
        """The symbol that starts exactly at addr, if any."""
        if addr in self._starts:
            return self._starts[addr]
        name = self.symbols.symbolize(addr)
        r = None if ("+" in name or name.startswith("0x")) else name
        self._starts[addr] = r
        return r

    def in_entry_text(self, addr: int) -> bool:
        lo, hi = self.entry.entry_text
        return lo <= addr < hi

    def after_ud2(self, addr: int) -> str:
        """What follows the `ud2` at addr: "resume" (it may resume, and the
        image says so: a WARN, a kCFI trap), "resume?" (it may resume, but
        the image does not say so: the explorer goes on with an unsure
        "resume" event, so no violation through it is confirmed), "dies" or
        "fixup".  (`ud1`/`ud0` are the explorer's: "resume?".)

        The #UD handler (arch/x86/kernel/traps.c exc_invalid_op, 6.1 and
        6.12) resumes after a kernel `ud2` only when handle_bug() finds it in
        __bug_table as a WARN (report_bug), or handle_cfi_failure() finds
        it a CFI trap under cfi=warn (regs->ip += LEN_UD2); otherwise
        do_error_trap() -> do_trap_no_signal() jumps to an exception-table
        fixup if there is one, else die() kills the task: control never
        comes back to the next instruction.  handle_cfi_failure (6.1/6.12
        arch/x86/kernel/cfi.c) knows a kCFI trap only through is_cfi_trap()
        (kernel/cfi.c: the addresses listed in .kcfi_traps, s32 relative;
        module tables are not the image's code), and under FineIBT (6.2+)
        through decode_fineibt_insn() (arch/x86/kernel/alternative.c: an
        endbr64 fineibt_preamble_ud2 = 13 bytes before the ud2).  So a `ud2`
        listed in no table ends the path.  An image without a __bug_table
        says nothing about its ud2s: each may be a WARN ("resume?").  (A die
        notifier that rewrites regs->ip, i.e. a kernel debugger, is outside
        the model: assumption ud2-not-listed-dies.)
        """
        t = tables(self.image)
        if addr in t.extable_insns:
            return "fixup"
        bugs = t.bug_addrs
        if bugs is not None and addr in bugs:
            # report_bug() returns BUG_TRAP_TYPE_WARN only for an entry with
            # BUGFLAG_WARNING; a BUG() entry goes on to die() like an
            # unlisted ud2 (handle_bug, exc_invalid_op) -- unless it is a
            # kCFI trap too (handle_cfi_failure is asked next)
            if addr in t.warn_addrs:
                return "resume"
        kcfi = t.kcfi_traps
        if kcfi is None and self._has_kcfi_traps:
            return "resume?"  # a table the reader cannot find: nothing is known
        if kcfi is not None:
            if addr in kcfi:
                return "resume"  # cfi=warn: handle_cfi_failure -> WARN, ip += 2
            try:
                endbr = self.image.read(addr - 13, 4)
            except Exception:  # noqa: BLE001 -- before the section: no preamble
                endbr = b""
            if endbr == b"\xf3\x0f\x1e\xfa":
                # FineIBT's preamble shape (endbr64; subl; je; ud2): the
                    # handler decodes it as a CFI trap in FineIBT mode
                    return "resume?"
        if bugs is None:
            return "resume?"
        return "dies"

    def has_fixup(self, addr: int) -> bool:
        return addr in tables(self.image).extable_insns

    def fixup_paths(self, addr: int) -> list:
        """Where a fault of the instruction at `addr` (a run-time address:
        inside a patch site's code too) goes on, and which registers the
        handler writes on the way: [(fixup address, registers, RSP moved)],
        one per exception-table entry of the instruction; registers None
        when the entry's type is not modelled (_EX_REGS_BY_TYPE: any may
        change).  Apart from those registers and RIP the faulting context
        resumes as it was: the exception entry saved every register in the
        fault's pt_regs and its exit restores them with IRET (RSP and
        RFLAGS, so IF, included); the handler's own code runs below the
        faulting RSP and its other writes are not modelled here (the caller
        takes them as unknown).  RSP moved: EX_TYPE_POP_REG (16) adds 8 to
        it, and a register field of 4 names it."""
        out = []
        for fixup, data in tables(self.image).extable_entries.get(addr, ()):
            kind = data & 0xFF
            reg = _EX_REG_NAMES[(data >> 8) & 0xF] if kind in _EX_TYPES_WITH_REG else ""
            moved = kind == 16 or reg is None
            if kind not in _EX_REGS_BY_TYPE or reg is None:
                out.append((fixup, None, moved))
                continue
            regs = set(_EX_REGS_BY_TYPE[kind]) | ({reg} if reg else set())
            if data & 0x1000:
                regs.add("rax")
            if data & 0x2000:
                regs.add("rdx")
            out.append((fixup, frozenset(regs), moved))
        return out

    def uaccess_fixup(self, addr: int) -> bool:
        """Whether addr has an exception-table entry of type EX_TYPE_UACCESS
        (3, arch/x86/include/asm/extable_fixup_types.h in 6.1 and 6.12) with
        no flags and no register: `_ASM_EXTABLE_UA`, the user accesses of
        getuser.S/putuser.S and the uaccess macros, whose handler
        (ex_handler_uaccess -> ex_handler_default, arch/x86/mm/extable.c)
        only moves RIP to the fixup.  Explorer._witness_uaccess relies on
        the access being one that completes when the user page is mapped."""
        return tables(self.image).extable_data.get(addr) == EX_TYPE_UACCESS

    @property
    def _has_kcfi_traps(self) -> bool:
        return self.image.elf.section(".kcfi_traps") is not None or "__start___kcfi_traps" in self.symbols

    def is_return_thunk(self, addr, jump: bool = False) -> bool:
        """addr is a return thunk's start.  jump: as the target of a `jmp`,
        which is then a `ret` (assumption return-thunk): not a thunk only
        ever called (patches.CALLED_ONLY_THUNKS)."""
        name = self.start_name(addr) if addr is not None else None
        return name in RETURN_THUNKS and not (jump and name in CALLED_ONLY_THUNKS)

    def is_trace_hook(self, addr) -> bool:
        """`call addr` is an ftrace hook site (patches.TRACE_HOOKS)."""
        return addr is not None and self.start_name(addr) in TRACE_HOOKS

    def is_tail_call(self, target: int, fn_entry: int) -> bool:
        """A jmp to the start of another function outside the entry text."""
        if target == fn_entry or self.in_entry_text(target) or fn_entry == self.entry.syscall_entry or \
                fn_entry in {a for _n, a in getattr(self.entry, "entries", ())}:
            # the entry code has no return address: its jumps continue it
            return False
        name = self.start_name(target)
        if name is not None and name.endswith(".cold") or ".cold." in (name or ""):
            # GCC's cold part of this very function (`foo.cold`, `foo.cold.N`):
            # foo's own code, run on foo's frame and registers, which jumps
            # back into foo; a `jcc foo.cold` is already foo's code here, and
            # a `jmp foo.cold` must be too (as a tail call its summary would
            # read it with nothing known: adv_r6_cold_jmp)
            hot = name.split(".cold")[0]
            if hot and hot == self.start_name(fn_entry):
                return False
        return name is not None and not name.startswith(".")

    def cfg(self, entry: int) -> FunctionCfg:
        c = self._cfgs.get(entry)
        if c is None:
            c = FunctionCfg(self, entry)
            self._cfgs[entry] = c
        return c

    def _odd_static_calls(self) -> list:
        """A .static_call_sites entry whose on-disk bytes are not a call or
        jmp to a static call trampoline (`__SCT__*`): boot's
        __static_call_init() rewrites any listed `e8`/`e9` into a branch to
        the key's function, and static_call_update() retargets it at run
        time, so the on-disk target is not what runs
        (adv_r80_sc_site_ondisk_call).  Every compiled site calls its
        trampoline on disk (objtool lists the calls to `__SCT__*`; 6.1: 4275
        sites, 6.12: 7875, all so); a site that does not is a patch site
        with no static bytes (inconclusive where reached; a call to a
        trampoline is an unknown call already, summary.Summaries._of)."""
        out = []
        for a in tables(self.image).static_call_sites:
            try:
                raw = self.image.read(a, 5)
            except Exception:  # noqa: BLE001 - a site outside the image's bytes: refused below as well
                raw = b""
            if len(raw) == 5 and raw[0] in (0xE8, 0xE9):
                t = (a + 5 + int.from_bytes(raw[1:5], "little", signed=True)) & 0xFFFFFFFFFFFFFFFF
                if self.static_call_tramp(t):
                    continue  # (a trampoline: the call is an unknown one, runtime_target)
            out.append(PatchSite("static_call", a, 5, detail=f"static call site at {self.symbolize(a)}",
                                 variants=(Variant("on-disk", raw or None),
                                           Variant("retargeted at boot and run time", None)),
                                 source=".static_call_sites"))
        return out

    @cached_property
    def thunk_template_ok(self) -> bool:
        """Whether call-depth tracking's accounting thunk (the bytes
        callthunks.c patch_dest copies from skl_call_thunk_template before
        each callee, relocated) is what every reader takes it for: one
        `sarq $5` of the call-depth counter (_names_call_depth), no other
        instruction (adv_r162_callthunk_template_sti: an `sti` in front).
        True without call-depth tracking."""
        t = tables(self.image)
        skl = t.call_thunk_size
        if not skl:
            return True
        lo = self.symbols.get("skl_call_thunk_template")
        slot = self.layout.call_depth
        try:
            raw = self.image.read(lo, skl)
        except Exception:  # noqa: BLE001 - not in the image's bytes: no model
            return False
        ins = list(lite_decode(_md(), raw, lo))
        if len(ins) != 1 or ins[0][1] != skl or slot is None:
            return False
        _a, size, m, ops = ins[0]
        return m == "sar" and self._names_call_depth(ops, lo + size, slot.value)

    def _unmodelled_call_thunks(self) -> list:
        """Without thunk_template_ok, every listed call is a site with no
        static bytes (boot runs the template's code before the callee) and
        every padding is refused (pad_entry)."""
        t = tables(self.image)
        if self.thunk_template_ok:
            return []
        return [PatchSite("rewritten", a, 5, detail=f"call-depth call at {self.symbolize(a)}",
                          variants=(Variant("on-disk", self.image.read(a, 5)),
                                    Variant("through a call-depth thunk this analysis does not model", None)),
                          source="call site") for a in np.asarray(t.call_sites, np.uint64).tolist()]

    def _odd_table_sites(self) -> list:
        """Entries of the tables boot or run time rewrites from whose
        rewrite the model does not otherwise show, each a 5-byte patch site
        with no static bytes (inconclusive where reached):
        - a return site at a `ret` (c3) with a static call trampoline's
          signature (0f b9 cc) 5 bytes on: __static_call_fixup rewrites it
          5 bytes wide (6.1/6.12 alternative.c apply_returns;
          adv_r149_retsite_ret_tramp_sig);
        - an fentry site (__mcount_loc) holding the 5-byte NOP
          (-mnop-mcount): ftrace writes `call ftrace_caller` there when the
          function is traced (adv_r149_nop_fentry_after_swapgs);
        - a retpoline site whose branch goes inside
          __x86_indirect_thunk_array but not to a thunk's start:
          patch_retpoline truncates the offset to a register
          (adv_r151_retpoline_mid_thunk).
        The patchers leave other entries whose bytes they do not expect as
        they are (apply_returns WARNs and skips, apply_retpolines skips a
        branch outside the thunk array, ftrace's ftrace_verify_code
        refuses, callthunks' patch_call takes only a call): those run as on
        disk.  The Debian kernels have none of the
        two (measured: every return site an `e9`, every fentry site a call)."""
        from ..image.branches import _windows

        t = tables(self.image)
        elf = self.image.elf
        out = []
        groups = (("return site", np.array([a for a, _i in t.return_sites[1]], np.uint64)),
                  ("fentry site", t.mcount_locs[t.mcount_locs != 0]),
                  ("retpoline site", np.array([a for a, _i in t.retpoline_sites[1]], np.uint64)))
        array = self.image.symbols.get("__x86_indirect_thunk_array")
        for what, addrs in groups:
            if not len(addrs):
                continue
            win = _windows(elf, addrs, 0, 12)
            if what == "return site":
                odd = (win[:, 0] == 0xC3) & (win[:, 5:8] == np.array([0x0F, 0xB9, 0xCC], np.int16)).all(axis=1)
            elif what == "fentry site":
                odd = (win[:, :5] == np.array([0x0F, 0x1F, 0x44, 0x00, 0x00], np.int16)).all(axis=1)
            else:
                # patch_retpoline takes the register as (target -
                # __x86_indirect_thunk_array) in 32-byte thunks, truncated:
                # a target inside the array but not at a thunk's start is
                # patched as that thunk's `call *%reg` (adv_r151_retpoline_mid_thunk)
                if array is None:
                    continue
                odd = np.zeros(len(addrs), bool)
                for k, a in enumerate(addrs.tolist()):
                    head = [int(x) for x in win[k]]
                    j = 0
                    while j < 3 and head[j] in _LEGACY_PREFIXES:  # (adv_r152_retpoline_mid_thunk_ds)
                        j += 1
                    if 0x40 <= head[j] <= 0x4F:
                        j += 1  # (a REX, as _decode_call and the kernel's decoder take one)
                    if head[j] < 0:
                        continue
                    if head[j] in (0xE8, 0xE9):
                        n = j + 5
                    elif head[j] == 0x0F and 0x80 <= head[j + 1] <= 0x8F:
                        n = j + 6
                    else:
                        continue
                    if min(head[:n]) < 0:
                        continue
                    rel = int.from_bytes(bytes(head[n - 4:n]), "little", signed=True)
                    dest = (a + n + rel) & 0xFFFFFFFFFFFFFFFF
                    odd[k] = array <= dest < array + 16 * 32 and (
                        (dest - array) % 32 != 0 or self._slot_misnamed(dest, (dest - array) // 32)
                        # (under call-depth tracking boot points it into the
                        # call or jump thunk array: one the image does not
                        # show is a target not known, Program._boot_thunks_shaped)
                        or (t.call_thunk_size and self.image.symbols.get(
                            "__x86_indirect_call_thunk_array" if head[j] == 0xE8 else
                            "__x86_indirect_jump_thunk_array") is None))
            for a in addrs[odd].tolist():
                out.append(PatchSite("rewritten", a, 5, detail=f"{what} at {self.symbolize(a)}",
                                     variants=(Variant("on-disk", self.image.read(a, 5)),
                                               Variant("rewritten at boot or run time", None)),
                                     source=what))
        for sec in elf.sections:  # (the windows' pages out of the resident size)
            if sec.flags & 0x4 and hasattr(elf, "drop_section_pages"):
                elf.drop_section_pages(sec.name)
        return out

    # -- patch sites ----------------------------------------------------------------
    def site_choices(self, addr: int) -> list:
        """[(code, label, cond)] at a patch site; cond as in cfg.cond_allows.
        Code None: a candidate with no static bytes (explore: inconclusive)."""
        hit = self._choices.get(addr)
        if hit is not None:
            return hit
        entries = self.sites[addr]
        kinds = {e.kind for e in entries}
        if addr in self._overlapping:
            raise CfgError(f"{addr:#x}: patch sites overlap (one starts inside another's bytes)")
        if "static_call" in kinds:
            raise CfgError(f"{addr:#x}: a static call site whose on-disk bytes are not a branch to its trampoline "
                           "(boot and static_call_update() retarget it)")
        if "rewritten" in kinds:
            raise CfgError(f"{addr:#x}: {entries[0].detail}: boot or run time rewrites it")
        longest = max(entries, key=lambda e: e.length)
        # the on-disk bytes of the whole site (None: boot rewrites them,
        # patches.nops_rewrite)
        orig = None if longest.variants[0].code is None else bytes(longest.variants[0].code)
        if kinds == {"alternative"}:
            out = alternative_choices(entries, orig, self.feature_always)
        elif kinds == {"jump_label"}:
            # A static key flips at run time: any entry's branch, chosen
            # afresh at every visit (DESIGN.md), and the bytes on disk until
            # its key first flips (x86 leaves them as built: jump_label_init
            # rewrites nothing there, adv_r80_jl_ondisk_jmp).  One address
            # may be listed by several entries, keys and targets
            # (adv_r80_jl_two_entries, adv_r81_two_keys_one_site).
            if len({e.length for e in entries}) > 1:
                raise CfgError(f"{addr:#x}: jump-label entries of different lengths at one address")
            seen, out = set(), []
            for e in entries:
                for v in e.variants[1:]:
                    if v.code is not None and bytes(v.code) not in seen:
                        seen.add(bytes(v.code))
                        out.append((bytes(v.code), f"static key {e.detail}: {v.label}", ("key", addr)))
            if orig not in seen and not _all_nops(orig):
                out.append((orig, f"static key {entries[0].detail}: the bytes on disk (before the key first "
                           "flips)", ("key", addr)))
        elif kinds == {"paravirt", "alternative"}:
            # 6.1 PVOP_ALT_*: a paravirt site with an alternative on top.
            # alternative_instructions() runs apply_paravirt() before
            # apply_alternatives() (arch/x86/kernel/alternative.c, 6.1), so
            # each paravirt candidate is the original the alternatives patch.
            pv = self._paravirt_choices(addr, [e for e in entries if e.kind == "paravirt"], orig)
            alts = [e for e in entries if e.kind == "alternative"]
            merged: dict = {}
            for pv_code, pv_label, pv_cond in pv:
                pv_assigns = pv_cond[1] if pv_cond[0] == "features" else [{}]
                for code, label, cond in alternative_choices(alts, pv_code, self.feature_always):
                    for a in pv_assigns:
                        for b in cond[1]:
                            if any(a[f] != b[f] for f in a.keys() & b.keys()):
                                continue  # contradictory feature values
                            lab = label if code != pv_code else pv_label
                            merged.setdefault(code, [lab, []])[1].append({**a, **b})
            out = [(code, lab, ("features", conds)) for code, (lab, conds) in merged.items()]
        elif kinds == {"paravirt"}:
            out = self._paravirt_choices(addr, entries, orig)
        else:
            raise CfgError(f"{addr:#x}: patch site of mixed kinds {sorted(kinds)}")
        for code, label, _ in out:
            if code is None:
                raise CfgError(f"{addr:#x}: a patch-site variant has no static bytes ({label})")
        self._choices[addr] = out
        return out

    def _paravirt_choices(self, addr, entries, orig) -> list:
        """apply_paravirt() rewrites every site at boot.  Natively (not Xen
        PV) the pv_ops slots hold their linked functions (assumption
        paravirt-native); under Xen PV they hold functions the image does not
        fix: the on-disk indirect call, an unknown callee."""
        if len(entries) > 1:
            # apply_paravirt patches every entry in table order, each over
            # the bytes the last one left: the last wins (6.1
            # arch/x86/kernel/alternative.c); reading one of them would not
            # be the code boot leaves (adv_r190_pv_two_entries)
            raise CfgError(f"{addr:#x}: {len(entries)} paravirt patch-site entries at one address")
        vs = entries[0].variants
        native = [v for v in vs if v.code is not None and v.label.startswith("native")] or \
            [v for v in vs[2:] if v.code is not None]
        if not native:
            return [(orig, f"paravirt {entries[0].detail}: the indirect call", ("always",))]
        return [(bytes(native[0].code), f"paravirt {entries[0].detail}: {native[0].label}",
                 ("features", [{self.feature_xenpv: False}])),
                (orig, f"paravirt {entries[0].detail}: Xen PV, the indirect call",
                 ("features", [{self.feature_xenpv: True}]))]


def _all_nops(code: bytes) -> bool:
    """Whether code is NOPs only (a jump-label site's on-disk NOP, in
    whatever encoding the assembler chose: the same as the table's NOP)."""
    n = 0
    for _a, size, m, _ops in lite_decode(_md(), code, 0):
        if m != "nop":
            return False
        n += size
    return n == len(code)


# sections no run-time instrumentation enters (include/linux/compiler_types.h
# noinstr, arch/x86/kernel/vmlinux.lds.S; kprobes' within_kprobe_blacklist)
NOINSTR_SECTIONS = frozenset({".entry.text", ".noinstr.text"})
# their range symbols in a linked vmlinux (__<name>_start, __<name>_end)
NOINSTR_RANGES = ("entry_text", "noinstr_text", "kprobes_text")


# the legacy prefixes the kernel's instruction decoder skips before an opcode
def _u64_array(values) -> array:
    """A sorted numpy array of addresses as an array('Q') (bisect reads it
    without a Python int per entry held: ~300,000 on 6.12)."""
    out = array("Q")
    out.frombytes(np.asarray(values, dtype=np.uint64).tobytes())
    return out
