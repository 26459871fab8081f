"""Layer 2, lifting: decode and lift just the code the proof walks.

No `angr.Project` over the image: angr gets a one-byte dummy object, and
every block is lifted here with pyvex from bytes we read out of the image (or
from a boot-time variant of a patch site), so that

- memory angr sees is empty: every data read is a fresh symbol, never the
  image's initial .data/.bss/per-CPU values (DESIGN.md: loaded data is not
  trusted as a constant);
- we decide where blocks end: before every instruction VEX gets wrong or does
  not know (FACTS.md: sysretq/iretq become returns, swapgs a no-op, CR3 moves
  are truncated, wrmsr/verw/stac/clac do not decode, cli/sti end blocks as
  privileged, pushf has no IF), before every patch site, and right after any
  store through a pointer register (so a havoc caused by a store to an
  unknown address applies before the next instruction reads memory).

Instructions are classified with capstone first, by mnemonic.
"""
from __future__ import annotations

from dataclasses import dataclass

import capstone

from .image.encoding import ignored_rex

# pyvex and archinfo are imported when a block is first lifted: the prover's
# TS_COMPAT process (forked before the engine is imported) reads code with
# capstone only and never lifts.
_ARCH = []


def _vex():
    """(pyvex, the AMD64 arch), imported once."""
    import archinfo
    import pyvex

    if not _ARCH:
        _ARCH.append(archinfo.ArchAMD64())
    return pyvex, _ARCH[0]

# Instructions the machine layer models itself (never handed to VEX).
SPECIAL = {
    "swapgs", "sysret", "sysretq", "sysretl", "iretq", "iret", "iretd",
    "cli", "sti", "pushfq", "popfq", "pushf", "popf",
    "wrmsr", "rdmsr", "verw", "stac", "clac", "rdtsc", "rdtscp", "rdpid",
    "hlt", "int3", "ud2", "ud1", "ud0", "int", "syscall", "sysenter", "sysexit", "sysexitq",
    "invlpg", "invpcid", "wbinvd", "lgdt", "lidt", "ltr", "lldt", "clts",
    "wrfsbase", "wrgsbase", "rdfsbase", "rdgsbase", "xsetbv", "xrstor", "xrstors",
    "xsave", "xsaves", "xsaveopt", "fxsave", "fxrstor", "fxsave64", "fxrstor64",
    "xrstor64", "xsave64", "xsaves64", "xrstors64", "xsaveopt64", "lsl", "lar",
    "serialize", "mwait", "monitor", "encls", "vmcall", "vmmcall", "tpause",
    # VEX lifts these the way one CPU runs them only: on a CPU without LZCNT
    # (BMI1), `f3 0f bd` (`f3 0f bc`) runs as BSR (BSF) -- SDM Vol. 2A,
    # LZCNT/TZCNT -- and VEX always lifts Clz/Ctz (adv_r39_lzcnt_canonical);
    # RDSSP writes the shadow-stack pointer where shadow stacks are on and is
    # a NOP elsewhere, and VEX lifts it as a NOP (adv_r39_rdssp_leak)
    "lzcnt", "tzcnt", "rdsspd", "rdsspq",
}

_STACK_BASES = {capstone.x86.X86_REG_RSP, capstone.x86.X86_REG_RIP, 0}


@dataclass(frozen=True)
class Insn:
    addr: int
    size: int
    mnemonic: str
    op_str: str
    special: bool
    writes_via_pointer: bool  # a memory write whose base is not rsp/rip/absolute
    is_mov_cr: bool
    ignored_rex: bool = False  # a REX prefix the CPU ignores: no model (encoding.ignored_rex)

    @property
    def next(self) -> int:
        return self.addr + self.size

    def text(self) -> str:
        return f"{self.mnemonic} {self.op_str}".strip()


class CodeReader:
    """Decodes and lifts code from the image, with caches.

    `fetch(addr, n)` returns the bytes at addr (raising for addresses outside
    executable sections).  `barrier(addr)` says whether a block must end
    before addr (a patch site, a modelled call target, an obligation site)."""

    def __init__(self, fetch, barrier):
        self._fetch = fetch
        self._barrier = barrier
        self._cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        self._cs.detail = True
        self._insns: dict[int, Insn | None] = {}
        self._blocks: dict[tuple, tuple] = {}

    def insn_at(self, addr: int, code: bytes | None = None) -> Insn | None:
        if code is None and addr in self._insns:
            return self._insns[addr]
        data = code if code is not None else self._fetch(addr, 16)
        insn = None
        for ci in self._cs.disasm(data, addr, 1):
            insn = self._classify(ci)
        if code is None:
            self._insns[addr] = insn
        return insn

    def _classify(self, ci) -> Insn:
        mnem = ci.mnemonic
        writes_ptr = False
        is_mov_cr = False
        try:
            ops = ci.operands
        except capstone.CsError:
            ops = []
        for op in ops:
            if op.type == capstone.x86.X86_OP_MEM and (op.access & capstone.CS_AC_WRITE):
                if op.mem.base not in _STACK_BASES or op.mem.index != 0:
                    if op.mem.segment == 0:
                        writes_ptr = True
            if op.type == capstone.x86.X86_OP_REG and ci.reg_name(op.reg).startswith("cr"):
                is_mov_cr = True
        if mnem.startswith("rep") or mnem in ("movsb", "movsq", "stosb", "stosq", "movsd", "stosd"):
            writes_ptr = True
        stray = ignored_rex(bytes(ci.bytes))
        special = mnem in SPECIAL or is_mov_cr or mnem.split(" ")[-1] in SPECIAL or stray
        return Insn(ci.address, ci.size, mnem, ci.op_str, special, writes_ptr, is_mov_cr, stray)

    def block(self, addr: int, code: bytes | None = None, max_insns: int = 60):
        """Lift a block at addr.  With `code`, lift exactly those bytes (a
        patch-site variant placed at addr).  Returns (irsb, insns) or raises
        ValueError when the first instruction is special (the caller models it)
        or undecodable."""
        key = (addr, code)
        hit = self._blocks.get(key)
        if hit is not None:
            return hit
        insns = []
        if code is not None:
            off = 0
            while off < len(code):
                insn = self.insn_at(addr + off, code[off:])
                if insn is None or insn.special:
                    break
                insns.append(insn)
                off += insn.size
                if insn.writes_via_pointer:
                    break
            data = code[:off]
        else:
            cur = addr
            while len(insns) < max_insns:
                if cur != addr and self._barrier(cur):
                    break
                insn = self.insn_at(cur)
                if insn is None or insn.special:
                    break
                insns.append(insn)
                cur = insn.next
                if insn.writes_via_pointer or _ends_block(insn):
                    break
            data = self._fetch(addr, cur - addr) if cur > addr else b""
        if not insns:
            raise ValueError(f"no liftable instruction at {addr:#x}")
        pyvex, arch = _vex()
        irsb = pyvex.lift(data, addr, arch, max_bytes=len(data), opt_level=1, strict_block_end=True)
        if irsb.jumpkind == "Ijk_NoDecode":
            raise ValueError(f"VEX cannot decode at {addr:#x}")
        result = (irsb, tuple(insns))
        self._blocks[key] = result
        return result


def _ends_block(insn: Insn) -> bool:
    m = insn.mnemonic
    if m.startswith("j") or m.startswith("call") or m.startswith("ret") or m.startswith("loop"):
        return True
    # RSP computed from a register (alloca, add_random_kstack_offset): end the
    # block so the engine can settle RSP before anything is pushed.
    ops = [o.strip() for o in insn.op_str.split(",")]
    return len(ops) == 2 and ops[0] == "rsp" and m in ("sub", "add", "and", "mov", "lea") and not ops[1].startswith("0x") \
        and not ops[1].lstrip("-").isdigit()
