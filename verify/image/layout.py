"""Struct offsets, per-CPU locations and constants the proof needs, each with
where it came from.

Sources, in order of preference:
  1. `.BTF` (pahole in vmlinux, or gcc `-gbtf` in assembled fixtures);
  2. DWARF (pyelftools), scanning compile units only until every struct asked
     for has been seen (never a full parse of a 160 MB .debug_info);
  3. for constants, the image's own code (the immediates entry_SYSCALL_64
     pushes), else the documented value with its header as the source.
Struct layouts that no source describes are an input error: offsets differ by
version and config and are never guessed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError

PT_REGS_FIELDS = ("r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx",
                  "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss")


@dataclass(frozen=True)
class Fact:
    value: int
    source: str


@dataclass(frozen=True)
class KernelLayout:
    pt_regs: dict[str, Fact]
    pt_regs_size: Fact
    ti_flags: Fact  # offset of thread_info.flags within task_struct
    ti_status: Fact  # offset of thread_info.status within task_struct
    current_task: Fact  # %gs: offset of the current task pointer
    top_of_stack: Fact  # %gs: offset of the kernel stack top (entry loads %rsp from it)
    tss_sp0: Fact  # %gs: offset of cpu_tss_rw.x86_tss.sp0 (trampoline stack)
    tss_sp2: Fact  # %gs: offset of cpu_tss_rw.x86_tss.sp2 (user RSP scratch)
    constants: dict[str, Fact]
    type_source: str = ""  # "BTF" or "DWARF"
    notes: tuple[str, ...] = field(default=())
    # 1: the per-CPU variables above are offsets from the %gs base (CONFIG_SMP:
    # .data..percpu is linked at 0); 0: they are plain global addresses
    # (a uniprocessor kernel)
    percpu_gs: Fact = Fact(1, "default")
    # CONFIG_X86_ESPFIX64 (arch/x86/kernel/espfix_64.c): the per-CPU writable
    # address of this CPU's ESPFIX stack and its read-only alias base, which
    # the IRET exit to a 16-bit (LDT) stack segment switches to
    # (native_irq_return_ldt); None when the kernel has no ESPFIX
    espfix_waddr: Fact | None = None
    espfix_stack: Fact | None = None
    # the per-CPU entry stack page (entry_stack_storage, arch/x86/kernel/cpu/
    # common.c): TSS.sp0, the trampoline stack's top, is the top of this
    # page through its cpu_entry_area alias (cpu_init_exception_handling:
    # load_sp0(cpu_entry_stack(cpu) + 1)); (address, size) or None
    entry_stack: tuple[Fact, Fact] | None = None
    # %gs: offset of cpu_tlbstate.user_pcid_flush_mask (CONFIG_PAGE_TABLE_
    # ISOLATION): bit kern_pcid(asid) set = that user ASID must be flushed
    # on the next switch to the user tables (invalidate_user_asid); None
    # when the kernel has none
    pcid_flush_mask: Fact | None = None
    # sizeof(struct task_struct): a store at current + d with 0 <= d and
    # d + size within it writes the current task (summary.py); None when
    # the types do not give it
    task_size: Fact | None = None
    # the per-CPU call-depth counter of call-depth tracking (6.1
    # __x86_call_depth, 6.12 pcpu_hot.call_depth; nospec-branch.h
    # INCREMENT_CALL_DEPTH: `sarq $5, %gs:<it>`), which the indirect-call
    # thunks update (Program.thunk_register); None when the kernel has none
    call_depth: Fact | None = None


# -- type sources ------------------------------------------------------------
class _BtfTypes:
    name = "BTF"

    def __init__(self, btf):
        self.btf = btf

    def offsetof(self, struct_name: str, member: str) -> int | None:
        return self.btf.offsetof(struct_name, member)

    def sizeof(self, struct_name: str) -> int | None:
        return self.btf.struct_size(struct_name)


# DWARF sections read to find struct types (verify/image/dwarf.py)
_TYPE_SECTIONS = ("debug_info", "debug_abbrev", "debug_str", "debug_str_offsets", "debug_line_str")


def _dwarf_info(elf):
    """A DWARFInfo over the sections needed to read struct types."""
    from .dwarf import DebugSections, dwarf_info

    return dwarf_info(DebugSections(elf), _TYPE_SECTIONS)



def _member_offset(loc) -> int | None:
    """A DW_TAG_member's byte offset from its DW_AT_data_member_location:
    absent, 0 (a union member, or one at the start: DWARF 5 section
    5.7.6); a constant (DWARF 4+); a location block DW_OP_plus_uconst N
    (DWARF 2/3's usual form); None for any other expression (not
    evaluated: the member then counts as not described, never as at 0)."""
    if loc is None:
        return 0
    if isinstance(loc.value, int):
        return loc.value
    block = list(loc.value) if isinstance(loc.value, (list, bytes, bytearray)) else []
    if block and block[0] == 0x23:  # DW_OP_plus_uconst, then a ULEB128
        val = shift = 0
        for k, byte in enumerate(block[1:]):
            val |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return val if k + 2 == len(block) else None
    return None

class _DwarfTypes:
    """Struct layouts from DWARF, reading compile units only until all the
    structs asked for are found.  The top-level DIEs of a CU are walked with
    DW_AT_sibling skips, so a CU costs its top level, not its whole tree.
    Measured on the Debian 6.1 image (588 MB, 163 MB .debug_info): the
    structs of the syscall path are all in the first C compile unit."""

    name = "DWARF"
    MAX_CUS = 400

    def __init__(self, elf):
        self.elf = elf
        self.structs: dict[str, list[tuple[str, int, object]]] = {}
        self.sizes: dict[str, int] = {}
        self._cus = None
        self._absent: set[str] = set()
        # Structs the layout will ask for next: collected in the same pass.
        self._pending: set[str] = {"pt_regs", "task_struct", "thread_info", "tss_struct", "x86_hw_tss"}

    def _scan(self, want: str):
        if want in self.structs or want in self._absent:
            return
        try:
            if self._cus is None:
                self._cus = _dwarf_info(self.elf).iter_CUs()
                self._n = 0
            for cu in self._cus:
                self._n += 1
                if self._n > self.MAX_CUS:
                    break
                top = cu.get_top_DIE()
                lang = top.attributes.get("DW_AT_language")
                if lang is not None and lang.value == 0x8001:  # DW_LANG_Mips_Assembler: no types
                    continue
                for die in top.iter_children():
                    if die.tag != "DW_TAG_structure_type" or "DW_AT_declaration" in die.attributes:
                        continue
                    a = die.attributes.get("DW_AT_name")
                    if a is None:
                        continue
                    name = a.value.decode() if isinstance(a.value, bytes) else a.value
                    if name == want or name in self._pending:
                        self.structs[name] = self._members(die)
                        self._pending.discard(name)
                        if "DW_AT_byte_size" in die.attributes:
                            self.sizes[name] = die.attributes["DW_AT_byte_size"].value
                if want in self.structs:
                    return
            self._absent.add(want)
        except Exception as e:  # pyelftools raises many types on malformed DWARF
            raise InputError(f"{self.elf.path}: unreadable DWARF: {e}") from None

    def _members(self, die):
        out = []
        for m in die.iter_children():
            if m.tag != "DW_TAG_member":
                continue
            a = m.attributes.get("DW_AT_name")
            name = (a.value.decode() if isinstance(a.value, bytes) else a.value) if a else ""
            loc = m.attributes.get("DW_AT_data_member_location")
            out.append((name, _member_offset(loc), m))
        return out

    def _find(self, members, want):
        for name, off, die in members:
            if name == want:
                return off  # (None: a location this reader does not evaluate)
            if not name:  # anonymous struct/union: look inside
                try:
                    t = die.get_DIE_from_attribute("DW_AT_type")
                except Exception:
                    continue
                hit = self._find(self._members(t), want)
                if hit is not None:
                    return None if off is None else off + hit
        return None

    def offsetof(self, struct_name: str, member: str) -> int | None:
        self._scan(struct_name)
        members = self.structs.get(struct_name)
        return None if members is None else self._find(members, member)

    def sizeof(self, struct_name: str) -> int | None:
        self._scan(struct_name)
        return self.sizes.get(struct_name)


def _type_source(image):
    btf = image.btf
    if btf is not None:
        return _BtfTypes(btf)
    if image.elf.section(".debug_info") is not None:
        return _DwarfTypes(image.elf)
    return None


# -- the layout ----------------------------------------------------------------
def read_layout(image) -> KernelLayout:
    types = _type_source(image)
    if types is None:
        raise InputError(f"{image.path}: no .BTF and no DWARF (.debug_info): cannot read struct pt_regs, "
                         "task_struct, tss_struct layouts (build with CONFIG_DEBUG_INFO_BTF or keep debug info)")
    src = types.name
    missing: list[str] = []

    def off(struct_name: str, member: str) -> Fact | None:
        v = types.offsetof(struct_name, member)
        if v is None:
            return None
        return Fact(v, f"{src} struct {struct_name}.{member}")

    def need(fact: Fact | None, what: str) -> Fact:
        if fact is None:
            missing.append(what)
            return Fact(-1, "missing")
        return fact

    pt = {f: need(off("pt_regs", f), f"struct pt_regs.{f}") for f in PT_REGS_FIELDS}
    size = types.sizeof("pt_regs")
    pt_size = need(Fact(size, f"{src} sizeof(struct pt_regs)") if size else None, "sizeof(struct pt_regs)")

    # CONFIG_THREAD_INFO_IN_TASK: thread_info is embedded in task_struct (its first member).
    ti = off("task_struct", "thread_info")
    ti_flags = ti_status = None
    if ti is not None:
        f, s = off("thread_info", "flags"), off("thread_info", "status")
        if f is not None:
            ti_flags = Fact(ti.value + f.value, f"{src} struct task_struct.thread_info ({ti.value}) + thread_info.flags ({f.value})")
        if s is not None:
            ti_status = Fact(ti.value + s.value, f"{src} struct task_struct.thread_info ({ti.value}) + thread_info.status ({s.value})")
    ti_flags = need(ti_flags, "task_struct.thread_info.flags")
    ti_status = need(ti_status, "task_struct.thread_info.status (not CONFIG_THREAD_INFO_IN_TASK?)")

    syms = image.symbols
    smap = syms.source

    def percpu(sym: str, hot_member: str) -> Fact | None:
        a = syms.get(sym)
        if a is not None:
            return Fact(a, f"symbol {sym} ({smap})")
        hot = syms.get("pcpu_hot")
        m = off("pcpu_hot", hot_member)
        if hot is not None and m is not None:
            return Fact(hot + m.value, f"symbol pcpu_hot ({smap}) {hot:#x} + {src} struct pcpu_hot.{hot_member} ({m.value})")
        return None

    current = need(percpu("current_task", "current_task"), "per-CPU current_task (or pcpu_hot.current_task)")
    top = need(percpu("cpu_current_top_of_stack", "top_of_stack"),
               "per-CPU cpu_current_top_of_stack (or pcpu_hot.top_of_stack)")
    tss = syms.get("cpu_tss_rw")
    x86_tss = off("tss_struct", "x86_tss")
    sp0, sp2 = off("x86_hw_tss", "sp0"), off("x86_hw_tss", "sp2")
    tss_sp0 = tss_sp2 = None
    if tss is not None and x86_tss is not None:
        if sp0 is not None:
            tss_sp0 = Fact(tss + x86_tss.value + sp0.value, f"symbol cpu_tss_rw {tss:#x} + {src} tss_struct.x86_tss ({x86_tss.value}) + x86_hw_tss.sp0 ({sp0.value})")
        if sp2 is not None:
            tss_sp2 = Fact(tss + x86_tss.value + sp2.value, f"symbol cpu_tss_rw {tss:#x} + {src} tss_struct.x86_tss ({x86_tss.value}) + x86_hw_tss.sp2 ({sp2.value})")
    tss_sp0 = need(tss_sp0, "cpu_tss_rw.x86_tss.sp0")
    tss_sp2 = need(tss_sp2, "cpu_tss_rw.x86_tss.sp2")
    if missing:
        raise InputError(f"{image.path}: {src} does not describe: {', '.join(missing)}")

    # SMP links .data..percpu at address 0, so per-CPU symbols are small
    # offsets used through %gs; a uniprocessor kernel (CONFIG_SMP=n) places
    # them among the other globals, at kernel addresses used directly.
    zero_based = current.value < (1 << 32)
    if not zero_based and syms.get("__per_cpu_offset") is not None:
        # __per_cpu_offset[] exists only with CONFIG_SMP (asm-generic/percpu.h):
        # an SMP kernel whose per-CPU symbols are not offsets from 0 (Linux
        # 6.15 dropped x86-64's zero-based per-CPU section) addresses them
        # through %gs at kernel addresses, which the model does not have;
        # read as a uniprocessor kernel's plain globals it would be wrong
        raise InputError(f"{image.path}: an SMP kernel (__per_cpu_offset) whose per-CPU data are not zero-based "
                         f"(current_task at {current.value:#x}; Linux 6.15 and later): not supported")
    percpu_gs = Fact(int(zero_based), f"current_task at {current.value:#x}: " + (
        "a .data..percpu offset, used through %gs (SMP)" if zero_based else
        "a plain global address (uniprocessor kernel: per-CPU data are ordinary globals)"))
    espfix = {k: (Fact(syms.get(k), f"symbol {k} ({smap})") if syms.get(k) is not None else None)
              for k in ("espfix_waddr", "espfix_stack")}
    if None in espfix.values():
        espfix = {k: None for k in espfix}  # (both or neither)
    tlb, fm = syms.get("cpu_tlbstate"), off("tlb_state", "user_pcid_flush_mask")
    pcid_flush_mask = None if tlb is None or fm is None else Fact(
        tlb + fm.value, f"symbol cpu_tlbstate {tlb:#x} + {src} struct tlb_state.user_pcid_flush_mask ({fm.value})")
    ts_size = types.sizeof("task_struct")
    task_size = Fact(ts_size, f"{src} sizeof(struct task_struct)") if ts_size else None
    es = syms.get("entry_stack_storage")
    es_size = types.sizeof("entry_stack_page")
    entry_stack = None if es is None else (
        Fact(es, f"symbol entry_stack_storage ({smap})"),
        Fact(es_size, f"{src} sizeof(struct entry_stack_page)") if es_size else
        Fact(4096, "PAGE_SIZE (struct entry_stack_page is page-sized; no type found)"))
    call_depth = percpu("__x86_call_depth", "call_depth")
    return KernelLayout(
        pt_regs=pt, pt_regs_size=pt_size, call_depth=call_depth, ti_flags=ti_flags, ti_status=ti_status,
        current_task=current, top_of_stack=top, tss_sp0=tss_sp0, tss_sp2=tss_sp2,
        constants=_constants(image), type_source=src, percpu_gs=percpu_gs, entry_stack=entry_stack,
        pcid_flush_mask=pcid_flush_mask, task_size=task_size, **espfix,
    )


def _constants(image) -> dict[str, Fact]:
    from .patches import X86_FEATURE_ALWAYS, X86_FEATURE_LA57, X86_FEATURE_PCID, X86_FEATURE_PTI, X86_FEATURE_XENPV

    consts = {
        "__USER_CS": Fact(0x33, "asm/segment.h (default: not found in entry_SYSCALL_64)"),
        "__USER_DS": Fact(0x2B, "asm/segment.h (default: not found in entry_SYSCALL_64)"),
    }
    consts.update(_user_selectors(image))
    consts["TS_COMPAT"] = Fact(0x2, "asm/thread_info.h (not in BTF)")
    consts["TASK_SIZE_MAX_4LEVEL"] = Fact((1 << 47) - 4096, "asm/page_64_types.h: (1 << 47) - PAGE_SIZE")
    consts["TASK_SIZE_MAX_5LEVEL"] = Fact((1 << 56) - 4096, "asm/page_64_types.h: (1 << 56) - PAGE_SIZE")
    consts["X86_FEATURE_LA57"] = Fact(X86_FEATURE_LA57, "asm/cpufeatures.h (16*32+16), 6.1 and 6.12")
    consts["X86_FEATURE_XENPV"] = Fact(X86_FEATURE_XENPV, "asm/cpufeatures.h (8*32+16), 6.1 and 6.12")
    consts["X86_FEATURE_ALWAYS"] = Fact(X86_FEATURE_ALWAYS, "asm/cpufeatures.h (3*32+21), 6.1 and 6.12")
    consts["X86_FEATURE_PTI"] = Fact(X86_FEATURE_PTI, "asm/cpufeatures.h (7*32+11), 6.1 and 6.12")
    consts["X86_FEATURE_PCID"] = Fact(X86_FEATURE_PCID, "asm/cpufeatures.h (4*32+17), 6.1 and 6.12")
    # calling.h: PTI_USER_PGTABLE_BIT = PAGE_SHIFT, PTI_USER_PCID_BIT = X86_CR3_PTI_PCID_USER_BIT
    consts["PTI_USER_PGTABLE_BIT"] = Fact(12, "arch/x86/entry/calling.h: PAGE_SHIFT, 6.1 and 6.12")
    consts["PTI_USER_PCID_BIT"] = Fact(11, "asm/processor-flags.h X86_CR3_PTI_PCID_USER_BIT, 6.1 and 6.12")
    return consts


def _user_selectors(image) -> dict[str, Fact]:
    """entry_SYSCALL_64 builds the IRET frame: `push $__USER_DS; push
    %gs:sp2; push %r11; push $__USER_CS; push %rcx` (entry_64.S).  Take the
    two immediates from the image itself."""
    from capstone import x86 as cx

    from .patches import _capstone

    entry = image.symbols.get("entry_SYSCALL_64")
    if entry is None:
        return {}
    sec = image.elf.section_at(entry)
    if sec is None:
        return {}
    code = image.read(entry, min(0x60, sec.end - entry))
    md = _capstone()
    insns = list(md.disasm(code, entry))
    out = {}
    for i in range(len(insns) - 3):
        a, b, c, d = insns[i : i + 4]
        if (a.mnemonic == "push" and a.operands[0].type == cx.X86_OP_IMM
                and b.mnemonic == "push" and b.operands[0].type == cx.X86_OP_MEM
                and c.mnemonic == "push" and c.op_str == "r11"
                and d.mnemonic == "push" and d.operands[0].type == cx.X86_OP_IMM):
            sym = image.symbols.symbolize
            out["__USER_DS"] = Fact(a.operands[0].imm, f"{sym(a.address)}: push ${a.operands[0].imm:#x}")
            out["__USER_CS"] = Fact(d.operands[0].imm, f"{sym(d.address)}: push ${d.operands[0].imm:#x}")
            break
    return out
