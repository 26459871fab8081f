"""Layer 2, program order: where an address stands in its function.

The engine merges paths that meet at the same point (verify.engine).  For
that, every path that can reach a join point must get there before any of
them goes past it, so the work list is ordered by program position.  Raw
addresses are a poor order: GCC lays unlikely branches out after the
function's hot path and jumps back from them (exit_to_user_mode_prepare calls
schedule(), signal delivery ... from blocks at its end).  The order used here
is the reverse postorder of the function's static control-flow graph, in
which every forward edge goes from a lower rank to a higher one; only loop
back edges go down.

Only scheduling depends on this; soundness never does (every path is still
explored, merges are exact), so a static CFG that misses an edge (an
indirect jump, a patched-in jump) only costs a missed merge.
"""
from __future__ import annotations

import bisect

import capstone

from .image.encoding import is_jump

MAX_FUNCTION_BYTES = 1 << 16
_NO_FALLTHROUGH = ("ret", "retq", "ud2", "int3", "hlt", "sysretq", "sysret", "iretq", "iret", "jmp", "ljmp")


class ProgramOrder:
    def __init__(self, symbols, fetch_code, site_variants=lambda addr: ()):
        self.symbols = symbols
        self.fetch = fetch_code  # (addr, n) -> bytes; raises for non-code
        # addr -> the bytes each boot-time variant of a patch site there may
        # hold: their jumps are edges too (a static key's on-disk NOP hides
        # the jump it becomes)
        self.site_variants = site_variants
        self.md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        self.md.detail = True
        self._functions: dict[int, tuple[list, list]] = {}  # start -> (insn addrs sorted, rank per insn)
        self._heads: dict[int, set] = {}  # start -> targets of back edges
        self._insns: dict[int, dict] = {}  # start -> insn address -> successors
        self._small: dict[int, bool] = {}
        self._cache: dict[int, tuple] = {}

    def rank(self, addr: int) -> tuple:
        """(function start, rank in its reverse postorder) - comparable across
        functions only by start, which is all the work list needs."""
        hit = self._cache.get(addr)
        if hit is not None:
            return hit
        start, base = self._function_of(addr)
        if start is None:
            out = (addr, 0.0)
        else:
            addrs, ranks = self._functions.get(start) or self._build(start, base)
            i = bisect.bisect_right(addrs, addr) - 1
            if i < 0:
                out = (start, -1.0)
            else:
                # inside a patch site's replacement, or not an instruction the
                # sweep saw: just after the instruction before it
                out = (start, ranks[i] + (0.0 if addrs[i] == addr else 0.25))
        self._cache[addr] = out
        return out

    def _function_of(self, addr: int):
        name = self.symbols.symbolize(addr).split("+")[0]
        base = name.split(".cold")[0]  # foo.cold is part of foo's graph
        start = self.symbols.get(base)
        if start is None:
            start, base = self.symbols.get(name), name
        return start, base

    def _sweep(self, lo: int, hi: int, insns: dict):
        try:
            code = self.fetch(lo, min(hi - lo, MAX_FUNCTION_BYTES))
        except Exception:
            return
        for ins in self.md.disasm(code, lo):
            succ = []
            m = ins.mnemonic
            target = None
            if is_jump(ins) and ins.operands and ins.operands[0].type == capstone.x86.X86_OP_IMM:
                target = ins.operands[0].imm & 0xFFFFFFFFFFFFFFFF
            if target is not None:
                succ.append(target)
            if m not in _NO_FALLTHROUGH:
                succ.append(ins.address + ins.size)
            for code in self.site_variants(ins.address):
                for v in self.md.disasm(code, ins.address):
                    if is_jump(v) and v.operands and v.operands[0].type == capstone.x86.X86_OP_IMM:
                        succ.append(v.operands[0].imm & 0xFFFFFFFFFFFFFFFF)
            insns[ins.address] = succ

    def _build(self, start: int, base: str):
        insns: dict[int, list] = {}
        end = self.symbols.function_end(base) or start + 1
        self._sweep(start, end, insns)
        # the function's .cold parts, reached by jumps out of it
        for t in {t for succ in list(insns.values()) for t in succ if t not in insns}:
            name = self.symbols.symbolize(t).split("+")[0]
            if name.startswith(base + ".cold") and self.symbols.get(name) is not None:
                lo = self.symbols.get(name)
                if lo not in insns:
                    self._sweep(lo, self.symbols.function_end(name) or lo + 1, insns)
        # reverse postorder by an iterative depth-first search from the start
        post, seen, stack = [], {start}, [(start, iter(insns.get(start, ())))]
        while stack:
            node, it = stack[-1]
            nxt = next((s for s in it if s in insns and s not in seen), None)
            if nxt is None:
                post.append(node)
                stack.pop()
            else:
                seen.add(nxt)
                stack.append((nxt, iter(insns[nxt])))
        order = {a: i for i, a in enumerate(reversed(post))}
        self._heads[start] = {s for a in order for s in insns[a] if s in order and order[s] <= order[a]}
        self._insns[start] = insns
        addrs = sorted(insns)
        ranks, last = [], -1.0
        for a in addrs:
            # instructions the search did not reach sit just after the one before them
            last = float(order[a]) if a in order else last + 1e-3
            ranks.append(last)
        self._functions[start] = (addrs, ranks)
        return addrs, ranks

    def is_loop_head(self, addr: int) -> bool:
        """True for the target of a back edge of its function's static CFG, and
        for any address that graph does not know (so no loop goes unnoticed:
        the engine widens and cuts loops only where this says True)."""
        start, base = self._function_of(addr)
        if start is None:
            return True
        if start not in self._functions:
            self._build(start, base)
        return addr in self._heads[start] or addr not in self._insns[start]

    def is_small(self, start: int, name: str, max_bytes: int = 64) -> bool:
        """A function of a few instructions (`cli; ret`, a static-call
        trampoline, a register-saving thunk around one call): following it
        costs a step or two, far less than a refinement round to find out
        that its havoc was too coarse."""
        hit = self._small.get(start)
        if hit is None:
            end = self.symbols.function_end(name)
            hit = end is not None and 0 < end - start <= max_bytes
            self._small[start] = hit
        return hit

    def written_registers(self, start: int, name: str, returns=(), max_functions: int = 16):
        """The general registers (64-bit names) a routine and the routines it
        calls or jumps to directly may write, read off their instructions; None
        if one of them jumps or calls through a register or memory (then
        anything may be written).  RSP is left out: the routine returns.
        Jumps to `returns` (the return thunks) count as `ret`."""
        written: set = set()
        todo, seen = [(start, name)], set()
        while todo:
            lo, nm = todo.pop()
            if lo in seen:
                continue
            seen.add(lo)
            if len(seen) > max_functions:
                return None
            end = self.symbols.function_end(nm)
            if end is None or not 0 < end - lo <= MAX_FUNCTION_BYTES:
                return None
            try:
                code = self.fetch(lo, end - lo)
            except Exception:
                return None
            insns = list(self.md.disasm(code, lo))
            for ins in list(insns):
                for alt in self.site_variants(ins.address):  # what boot-time patching may put here
                    insns.extend(self.md.disasm(alt, ins.address))
            for ins in insns:
                if is_jump(ins) or ins.group(capstone.CS_GRP_CALL):
                    op = ins.operands[0] if ins.operands else None
                    if op is None or op.type != capstone.x86.X86_OP_IMM:
                        return None
                    t = op.imm & 0xFFFFFFFFFFFFFFFF
                    tn = self.symbols.symbolize(t)
                    if not lo <= t < end and tn.split("+")[0] != nm:  # (a replacement may be longer than its site)
                        if tn in returns:
                            continue
                        if "+" in tn:
                            return None
                        todo.append((t, tn))
                try:
                    _read, regs_written = ins.regs_access()
                except capstone.CsError:
                    return None
                for r in regs_written:
                    full = _GPR64.get(ins.reg_name(r))
                    if full is not None:
                        written.add(full)
        written.discard("rsp")
        return frozenset(written)


def _gpr_names() -> dict:
    out = {}
    for r in ("ax", "bx", "cx", "dx"):
        for n in (r, "e" + r, "r" + r, r[0] + "l", r[0] + "h"):
            out[n] = "r" + r
    for r in ("si", "di", "bp", "sp"):
        for n in (r, "e" + r, "r" + r, r + "l"):
            out[n] = "r" + r
    for i in range(8, 16):
        for suffix in ("", "d", "w", "b"):
            out[f"r{i}{suffix}"] = f"r{i}"
    return out


_GPR64 = _gpr_names()
