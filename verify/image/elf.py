"""Lazy reader for an x86-64 vmlinux ELF.

pyelftools parses the headers; everything else (symbol table, section bytes)
is read on demand, and only the parts a question needs.  The symbol table of a
Debian vmlinux has ~120k entries: pyelftools builds one Python object per
symbol (seconds), so the table is decoded here as numpy columns over the raw
section, with one Python string per name.

This is the one place that turns low-level parse errors (ELFError, struct
errors, OSError) into `InputError`.
"""
from __future__ import annotations

import array
import bisect
import hashlib
import itertools
import mmap
import os
import re
import struct
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from ..errors import InputError, require_regular_file

EM_X86_64 = 62
ET_EXEC = 2
STT_SECTION = 3
STT_FILE = 4
# Kernel text lives in the top 2 GiB ("kernel text mapping", Documentation/x86/x86_64/mm.rst).
KERNEL_TEXT_MIN = 0xFFFFFFFF80000000
# Elf64_Sym (the ELF specification's field order)
_ELF64_SYM = np.dtype([("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2"), ("value", "<u8"),
                       ("size", "<u8")])


@dataclass(frozen=True)
class Section:
    name: str
    addr: int
    offset: int
    size: int
    type: str
    flags: int
    index: int

    @property
    def end(self) -> int:
        return self.addr + self.size

    @property
    def has_bits(self) -> bool:
        return self.type != "SHT_NOBITS"


@dataclass(frozen=True)
class Symbol:
    name: str
    addr: int
    size: int
    kind: str  # 'T' text, 'D' data, '?' other (System.map letters where known; lower case: a local ELF symbol)


class _SortedSymbols:
    """The text symbols as (address, size, name), sorted: a read-only
    sequence over SymbolTable's columns (indexing, iteration, bisect)."""

    def __init__(self, table):
        self._t = table

    def __len__(self) -> int:
        return len(self._t._addrs)

    def __getitem__(self, i):
        t = self._t
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(t._addrs)
        return (t._addrs[i], t._sizes[i], t._name(i))

    def __iter__(self):
        t = self._t
        blob, ends = t._name_blob, t._name_end
        start = 0
        for i, a in enumerate(t._addrs):
            end = ends[i]
            yield a, t._sizes[i], blob[start:end]
            start = end


def _names_break_ties(order, addrs, sizes, names: list):
    """`order` (entry indices sorted by address, then size) with each run
    of equal (address, size) sorted by name: the order of sorting (address,
    size, name) tuples, with a Python sort only over the runs."""
    if len(order) < 2:
        return order
    a, s = addrs[order], sizes[order]
    same = (a[1:] == a[:-1]) & (s[1:] == s[:-1])  # entry k+1 ties with entry k
    if not same.any():
        return order
    out = order.copy()
    starts = np.flatnonzero(same & ~np.concatenate(([False], same[:-1])))  # first tie of each run
    for k in starts.tolist():
        end = k + 1
        while end < len(same) and same[end]:
            end += 1
        run = order[k:end + 1].tolist()
        out[k:end + 1] = sorted(run, key=names.__getitem__)
    return out


class SymbolTable:
    """Name -> address and address -> `name+0xoff`, built from parallel sorted
    arrays.  Filled either from the ELF .symtab or from a System.map."""

    def __init__(self, entries: list[tuple[int, int, str, str]], source: str):
        # entries: (addr, size, name, kind)
        self._fill(np.fromiter((e[0] & 0xFFFFFFFFFFFFFFFF for e in entries), np.uint64, len(entries)),
                   np.fromiter((e[1] for e in entries), np.uint64, len(entries)),
                   [e[2] for e in entries], [e[3] for e in entries], source)

    @classmethod
    def from_columns(cls, addrs, sizes, names: list, kinds, source: str) -> "SymbolTable":
        """The table of entries given as columns: addresses and sizes (numpy
        uint64 arrays), names, and one kind letter per entry (a string of
        them, or a list)."""
        table = cls.__new__(cls)
        table._fill(addrs, sizes, names, kinds, source)
        return table

    def _fill(self, addrs, sizes, names: list, kinds, source: str) -> None:
        self.source = source
        self.sha256 = None  # a System.map's: the sha256 of the bytes read (read_system_map)
        n = len(names)
        # A name defined more than once (static functions in different
        # files, a local label beside a global of the same name) is looked up
        # by its global definition, else its first: a file-local
        # `current_task` or `_etext` must not stand for the kernel's
        # (adv_r119_shadow_current_task, _shadow_etext_noexec).  Kinds are
        # letters, upper case for a global (System.map's are all upper case:
        # there the first wins).  (A dict built from the reversed entries
        # keeps each name's first index.)
        first = dict(zip(reversed(names), range(n - 1, -1, -1)))
        kstr = kinds if isinstance(kinds, str) else "".join(kinds)
        if kstr != kstr.upper():
            letters = np.frombuffer(kstr.encode("ascii", "replace"), np.uint8)
            glob = np.flatnonzero((letters >= 65) & (letters <= 90)).tolist()
            first.update(zip((names[i] for i in reversed(glob)), reversed(glob)))
        rows = np.sort(np.fromiter(first.values(), np.int64, len(first)))
        rows_list = rows.tolist()
        # name -> its row in the _n_* columns (not a tuple per name: see below)
        self._by_name: dict[str, int] = dict(zip((names[i] for i in rows_list), range(len(rows_list))))
        self._n_addr = array.array("Q", addrs[rows].tobytes())
        self._n_size = array.array("Q", sizes[rows].tobytes())
        self._n_kind = "".join(kinds[i] for i in rows_list)
        # The text symbols (no __pfx_ and no empty names), sorted by
        # (address, size, name).  Compact columns, not a list of tuples: the
        # check forks a process that reads every symbol (tscompat), and
        # touching a Python object copies its page (its reference count);
        # arrays and one string of names are read without a copy, and take a
        # fifth of the memory
        keep = (addrs >= np.uint64(KERNEL_TEXT_MIN)) & np.fromiter(
            (bool(name) and not name.startswith("__pfx_") for name in names), bool, n)
        idx = np.flatnonzero(keep)
        order = idx[np.lexsort((sizes[idx], addrs[idx]))]  # by address, then size
        order = _names_break_ties(order, addrs, sizes, names)
        text_names = [names[i] for i in order.tolist()]
        self._addrs = array.array("Q", addrs[order].tobytes())
        self._sizes = array.array("Q", sizes[order].tobytes())
        self._name_blob = "".join(text_names)
        self._name_end = array.array("Q", itertools.accumulate(map(len, text_names)))
        self._sorted = _SortedSymbols(self)
        # every symbol's address (any kind, __pfx_ and repeated names too):
        # where a function without a size may end at the latest
        self._bounds = array.array("Q", np.unique(addrs[addrs >= np.uint64(KERNEL_TEXT_MIN)]).tobytes())
        # (built here, before any fork: reading _by_name's tuples later would
        # copy their pages into the reading process).  Every definition's,
        # a static name defined twice included: symbol_start agrees with
        # next_symbol (_bounds) on where symbols start (adv_r20_sysret_dupname)
        self._every_addr = array.array("Q", np.sort(addrs).tobytes())

    def _row(self, name: str):
        """(addr, size, kind) of a name, or None."""
        i = self._by_name.get(name)
        return None if i is None else (self._n_addr[i], self._n_size[i], self._n_kind[i])

    def _name(self, i: int) -> str:
        return self._name_blob[self._name_end[i - 1] if i else 0:self._name_end[i]]

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def get(self, name: str) -> int | None:
        hit = self._row(name)
        return hit[0] if hit else None

    def size_of(self, name: str) -> int | None:
        hit = self._row(name)
        return hit[1] if hit else None

    def lookup(self, name: str) -> int:
        addr = self.get(name)
        if addr is None:
            raise InputError(f"symbol '{name}' not found ({self.source})")
        return addr

    def symbolize(self, addr: int) -> str:
        """`name+0xoff` for a kernel address (the nearest symbol at or below)."""
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0:
            return hex(addr)
        # Prefer a non-local-label name among equal addresses (the last sorts highest).
        base, _, name = self._sorted[i]
        j = i
        while j > 0 and self._sorted[j - 1][0] == base:
            j -= 1
            cand = self._sorted[j][2]
            if not cand.startswith(".") and (name.startswith(".") or name.startswith("__pfx_")):
                name = cand
        off = addr - base
        return f"{name}+{off:#x}" if off else name

    def function_end(self, name: str) -> int | None:
        """End of a function: its ELF size if known, else the next symbol."""
        hit = self._row(name)
        if not hit:
            return None
        addr, size, _ = hit
        if size:
            return addr + size
        i = bisect.bisect_right(self._addrs, addr)
        return self._addrs[i] if i < len(self._addrs) else None

    def names(self):
        return self._by_name.keys()

    def names_at(self, addr: int) -> list[str]:
        """Every name (but __pfx_) that starts exactly at addr, repeated static names included."""
        i = bisect.bisect_left(self._addrs, addr)
        out = []
        while i < len(self._addrs) and self._addrs[i] == addr:
            out.append(self._sorted[i][2])
            i += 1
        return out

    def symbol_start(self, addr: int) -> int | None:
        """The highest address at or below addr at which any symbol starts."""
        i = bisect.bisect_right(self._every_addr, addr) - 1
        return self._every_addr[i] if i >= 0 else None

    def next_symbol(self, addr: int) -> int | None:
        """The lowest address above addr at which any symbol starts."""
        i = bisect.bisect_right(self._bounds, addr)
        return self._bounds[i] if i < len(self._bounds) else None

    def addresses_in(self, lo: int, hi: int) -> list[int]:
        """The address of every symbol (any kind, local labels and __pfx_
        included) in [lo, hi), sorted, with repeats: what iterating items()
        and filtering gives, without building a Symbol per entry."""
        every = self._every_addr
        return list(every[bisect.bisect_left(every, lo):bisect.bisect_left(every, hi)])

    def items(self):
        for name, i in self._by_name.items():
            addr, size, kind = self._n_addr[i], self._n_size[i], self._n_kind[i]
            yield Symbol(name, addr, size, kind)


# the sections of tables that change what code runs (boot-time patching,
# exception fixups, BUG/WARN): read through their headers
# (image/patches.py), so checked like code against what the segments load.
# (.rodata is not: the kallsyms tables in it are symbols, which every input
# is trusted for, as a System.map is once it matches)
BOOT_TABLE_SECTIONS = frozenset({".altinstructions", ".altinstr_replacement", "__jump_table", ".parainstructions",
                                 ".static_call_sites", ".return_sites", ".retpoline_sites", ".call_sites",
                                 ".smp_locks", ".ibt_endbr_seal", "__mcount_loc", ".kcfi_traps", "__ex_table",
                                 "__bug_table", ".static_call.text", ".altinstr_aux"})


class ElfImage:
    """One vmlinux file, opened read-only and memory-mapped."""

    def __init__(self, path: str, name: str | None = None):
        # `name`: what messages and reports call the image when the file read
        # is not the one the user gave (the ELF decompressed from a bzImage)
        self.file = path
        self.path = name or path
        require_regular_file(path, "a kernel image")
        try:
            self._fh = open(path, "rb")
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory, not a kernel image") from None
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}") from None
        st = os.fstat(self._fh.fileno())
        size = st.st_size
        # what was opened: a change of the file while it is checked (written
        # in place: the mmap shows the new bytes) is refused (unchanged)
        self._opened_stat = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if size == 0:
            raise InputError(f"{path}: empty file, not a kernel image")
        self.file_size = size
        path = self.path
        self._map = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
        if self._map[:4] != b"\x7fELF":
            raise InputError(f"{path}: not an ELF file (a vmlinux or a bzImage is expected)")
        try:
            self._elf = ELFFile(self._fh)
            header = self._elf.header
            machine = header["e_machine"]
            elfclass = self._elf.elfclass
            etype = header["e_type"]
            sections = [self._section(i, s) for i, s in enumerate(self._elf.iter_sections())]
        except (ELFError, struct.error, ValueError, OSError) as e:
            raise InputError(f"{path}: malformed ELF: {e}") from None
        if machine != "EM_X86_64" or elfclass != 64:
            raise InputError(f"{path}: ELF for {machine} ({elfclass}-bit), not x86-64")
        if etype != "ET_EXEC":
            raise InputError(f"{path}: ELF type {etype}, not a kernel image (vmlinux is ET_EXEC)")
        for s in sections:
            if s.has_bits and s.type != "SHT_NULL" and s.offset + s.size > size:
                raise InputError(
                    f"{path}: truncated: section {s.name} ends at file offset {s.offset + s.size:#x}, "
                    f"file is {size:#x} bytes"
                )
        self._check_loaded_as_read(path, sections)
        self.sections = sections
        self._by_name = {s.name: s for s in sections}
        text = self._by_name.get(".text")
        if text is None or text.addr < KERNEL_TEXT_MIN:
            raise InputError(f"{path}: no kernel .text in the top 2 GiB: a user-space program, not a vmlinux")
        alloc_exec = sorted((s for s in sections if s.addr and s.has_bits and s.size), key=lambda s: s.addr)
        self._alloc = alloc_exec
        self._alloc_starts = [s.addr for s in alloc_exec]

    def _check_loaded_as_read(self, path, sections) -> None:
        """The analysis reads code and tables through the section headers;
        loaders (the bzImage decompressor's parse_elf, kexec, a PVH boot)
        load the PT_LOAD segments, in order, each at its physical address
        (parse_elf: `dest = output + (p_paddr - LOAD_PHYSICAL_ADDR)`), and the
        kernel runs them at physical + __START_KERNEL_map.  So:
        - every executable section's file bytes, and those of the tables
          boot patches code from or faults are fixed up by
          (BOOT_TABLE_SECTIONS), must be the ones a segment loads at its
          address (review 49: `.text`'s sh_offset
          pointed at an unmodified copy appended to the file;
          adv_r148_stale_alt_table: .altinstructions' header moved to a
          stale copy);
        - a segment in the kernel's map must have the physical address its
          virtual address has (adv_r148_paddr_overlay: a 2-byte segment of
          .rodata whose physical address was a `jne` of the checks);
        - no two segments' file bytes may overlap, physically or virtually
          (a later one overwrites an earlier one's: adv_r148_phdr_overlap_swapgs).
        Otherwise what is proven is not what runs."""
        kernel_map = 0xFFFFFFFF80000000  # __START_KERNEL_map (asm/page_64_types.h)
        try:
            loads = [(g["p_vaddr"], g["p_offset"], g["p_filesz"], g["p_paddr"], g["p_memsz"])
                     for g in self._elf.iter_segments() if g["p_type"] == "PT_LOAD"]
        except (ELFError, struct.error, ValueError, OSError) as e:
            raise InputError(f"{path}: malformed ELF program headers: {e}") from None
        if not loads:
            return  # (nothing a loader would load: no kernel boots from it)
        mapped = [(v, pa) for v, _o, _f, pa, _m in loads if v >= kernel_map]
        # (an image whose segments all have their virtual address as the
        # physical one was linked without a physical layout (no AT()): the
        # decompressor cannot load it, and the virtual overlap check below
        # is what applies)
        identity = all(v == pa for v, pa in mapped)
        for v, pa in mapped:
            if not identity and v - pa != kernel_map:
                raise InputError(f"{path}: the PT_LOAD segment at {v:#x} has physical address {pa:#x}, not "
                                 f"{v - kernel_map:#x}: the decompressor loads it elsewhere than the code read")
        for key in (0, 3):  # virtual, then physical ranges of the bytes copied (parse_elf copies p_filesz)
            spans = sorted((g[key], g[key] + g[2]) for g in loads if g[2])
            for (_a0, a1), (b0, _b1) in zip(spans, spans[1:]):
                if b0 < a1:
                    raise InputError(f"{path}: PT_LOAD segments overlap at {b0:#x} "
                                     f"({'virtual' if key == 0 else 'physical'}): a later one overwrites an "
                                     "earlier one's bytes")
        for s in sections:
            if not (s.has_bits and s.size and s.addr and (s.flags & 0x4 or s.name in BOOT_TABLE_SECTIONS)):
                continue
            seg = next((g for g in loads if g[0] <= s.addr and s.addr + s.size <= g[0] + g[2]), None)
            if seg is None or s.offset - seg[1] != s.addr - seg[0]:
                raise InputError(f"{path}: section {s.name} ({s.addr:#x}) is not loaded from its file bytes by any "
                                 "PT_LOAD segment: what is read would not be what runs")

    @staticmethod
    def _section(index, s) -> Section:
        h = s.header
        return Section(s.name, h["sh_addr"], h["sh_offset"], h["sh_size"], h["sh_type"], h["sh_flags"], index)

    def close(self) -> None:
        try:
            self._map.close()
        finally:
            self._fh.close()

    # -- sections and bytes --------------------------------------------------
    def section(self, name: str) -> Section | None:
        return self._by_name.get(name)

    def section_bytes(self, name: str) -> bytes:
        s = self._by_name.get(name)
        if s is None or not s.has_bits:
            return b""
        return self._map[s.offset : s.offset + s.size]

    def section_view(self, name: str) -> memoryview:
        """section_bytes without the copy: a view of the mapped file (for
        numpy scans of whole text sections, where a copy would add its
        size to the process's heap).  Drop it before close()."""
        s = self._by_name.get(name)
        if s is None or not s.has_bits:
            return memoryview(b"")
        return memoryview(self._map)[s.offset : s.offset + s.size]

    def drop_section_pages(self, name: str) -> None:
        """Unmap a section's pages from this process (MADV_DONTNEED on the
        read-only file mapping): they stay in the page cache, and a later
        read faults them back in.  After a whole-section scan, so that the
        scan's 20 MB do not stay in the resident size of the process that
        ran it (issue 9's memory limit counts every process of a check)."""
        s = self._by_name.get(name)
        if s is None or not s.has_bits or not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        lo, hi = -(-s.offset // page) * page, (s.offset + s.size) // page * page  # whole pages inside it
        if lo < hi:
            try:
                self._map.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
            except (OSError, ValueError):
                pass

    def section_at(self, addr: int) -> Section | None:
        i = bisect.bisect_right(self._alloc_starts, addr) - 1
        if i >= 0 and addr < self._alloc[i].end:
            return self._alloc[i]
        return None

    def read(self, addr: int, size: int) -> bytes:
        """Bytes at a (kernel virtual) address, from the file."""
        s = self.section_at(addr)
        if s is None or addr + size > s.end:
            raise InputError(f"{self.path}: address {addr:#x}+{size} is not in any loaded section")
        off = s.offset + (addr - s.addr)
        return self._map[off : off + size]

    def read_u64(self, addr: int) -> int:
        return struct.unpack("<Q", self.read(addr, 8))[0]

    # -- identity ------------------------------------------------------------
    def prefetch_sha256(self) -> None:
        """Start hashing in a thread: hashlib releases the GIL on large
        updates, so the ~0.5 s of hashing 600 MB overlaps the parsing."""
        if "sha256" in self.__dict__ or getattr(self, "_hash_thread", None) is not None:
            return
        import threading

        box: list = []
        hurry = threading.Event()

        def run():
            # The lowest scheduling priority, for this thread only (Linux:
            # a thread id is a process id to setpriority): a check's two
            # processes keep both cores busy, and the hash is read only when
            # the report is written, so it takes the time they leave idle
            # instead of slowing them.  On a machine whose cores other jobs
            # keep busy (a CI runner) that time may never come (a nice-19
            # thread gets ~1.5% of a core there: a 6.12 check once waited
            # 50 s for it), so a caller that needs the hash sets `hurry` and
            # finishes the hash itself, at its own priority, from where this
            # thread stopped (sha256 below).
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            except (AttributeError, OSError):
                pass
            box.append(self._hash(hurry))

        t = threading.Thread(target=run, name="sha256", daemon=True)
        self._hash_thread, self._hash_box, self._hash_hurry = t, box, hurry
        t.start()

    @cached_property
    def sha256(self) -> str:
        t = getattr(self, "_hash_thread", None)
        if t is None:
            return self._hash()[0]
        self._hash_hurry.set()
        t.join()
        if not self._hash_box:  # the thread died
            return self._hash()[0]
        h, offset = self._hash_box[0]
        # stopped early: finish here from where it stopped
        return h if offset is None else self._hash(resume=(h, offset))[0]

    def _hash(self, hurry=None, resume=None) -> tuple:
        """(hexdigest, None) when done; (hash object, offset) when `hurry`
        was set before the end (the caller goes on with resume=that)."""
        h, offset = resume if resume is not None else (hashlib.sha256(), 0)
        # Read through one 4 MiB buffer rather than the mmap: every mmap page
        # touched counts in the process's RSS (588 MB for the Debian image),
        # while pages read with readinto stay in the page cache only.
        # From the descriptor the analysis reads, never the path again (a
        # symlink swapped or a file renamed after the open would give the
        # hash, and the result cache's key, of other bytes: review 174).
        buf = bytearray(4 << 20)
        view = memoryview(buf)
        fd = self._fh.fileno()
        while True:
            if hurry is not None and hurry.is_set():
                return h, offset
            n = os.preadv(fd, [buf], offset)
            if not n:
                break
            h.update(view[:n])
            offset += n
        return h.hexdigest(), None

    def unchanged(self) -> bool:
        """Whether the file opened is as it was at the open (the same inode,
        size and modification and change times): a file written while it is
        checked is another image than the one hashed."""
        try:
            st = os.fstat(self._fh.fileno())
        except (OSError, ValueError):
            return False
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == self._opened_stat

    @cached_property
    def build_id(self) -> str | None:
        """GNU build id from the notes (NT_GNU_BUILD_ID = 3, owner "GNU")."""
        for s in self.sections:
            if s.type != "SHT_NOTE":
                continue
            data = self._map[s.offset : s.offset + s.size]
            off = 0
            while off + 12 <= len(data):
                namesz, descsz, ntype = struct.unpack_from("<III", data, off)
                off += 12
                name = data[off : off + namesz].rstrip(b"\0")
                off += (namesz + 3) & ~3
                desc = data[off : off + descsz]
                off += (descsz + 3) & ~3
                if name == b"GNU" and ntype == 3:
                    return desc.hex()
        return None

    # -- symbols -------------------------------------------------------------
    @cached_property
    def has_symtab(self) -> bool:
        s = self._by_name.get(".symtab")
        return bool(s and s.size)

    def elf_symbols(self) -> SymbolTable:
        symtab = self._by_name.get(".symtab")
        if symtab is None or not symtab.size:
            raise InputError(f"{self.path}: no symbol table; pass --system-map FILE")
        strtab = self.sections[self._elf.get_section(symtab.index).header["sh_link"]]
        raw = self._map[symtab.offset : symtab.offset + symtab.size]
        strs = self._map[strtab.offset : strtab.offset + strtab.size]
        # (a size that is no whole number of symbols was refused when
        # pyelftools read the section headers)
        # ~180k symbols: the columns in numpy; only the names are Python
        # strings (sliced from one latin-1 decode of .strtab, each up to
        # the first NUL at or after its offset)
        sym = np.frombuffer(raw, dtype=_ELF64_SYM)
        kind_of = np.zeros(1 << 16, np.uint8)  # section index -> kind letter (0: not kept)
        for s in self.sections:
            kind_of[s.index] = ord("T" if s.flags & 0x4 else "D")
        kind_of[0xFFF1] = ord("D")  # SHN_ABS symbols (e.g. _text) are kept
        # a local symbol's letter in lower case, as nm prints it: a name
        # defined twice is looked up by its global definition (SymbolTable)
        kinds = kind_of[sym["shndx"]] + np.where((sym["info"] >> 4) == 0, 32, 0).astype(np.uint8)
        kinds[kind_of[sym["shndx"]] == 0] = 0
        # every symbol that names a place in a section (not a section's or a
        # file's own): an STT_GNU_IFUNC or STT_TLS label starts code or data
        # too, and a way into the exit path from code under one is found
        # only if its start is listed (adv_r119_ifunc_sym_falls_into_tail)
        keep = (sym["name"] != 0) & ~np.isin(sym["info"] & 0xF, (STT_SECTION, STT_FILE)) & (kinds != 0)
        sym, kinds = sym[keep], kinds[keep]
        text = strs.decode("latin-1")
        nul = np.flatnonzero(np.frombuffer(strs, np.uint8) == 0)
        offs = sym["name"].astype(np.int64)
        at = np.searchsorted(nul, offs)
        # (no NUL after the offset: up to the last byte but one, as a slice
        # up to str.find's -1 would give)
        ends = np.full(len(offs), len(text) - 1, np.int64)
        if len(nul):
            ends = np.where(at < len(nul), nul[np.minimum(at, len(nul) - 1)], ends)
        names = [text[o:e] for o, e in zip(offs.tolist(), ends.tolist())]
        return SymbolTable.from_columns(sym["value"].copy(), sym["size"].copy(), names, kinds.tobytes().decode("ascii"),
                                        f"{os.path.basename(self.path)} .symtab")

    # -- version -------------------------------------------------------------
    @cached_property
    def version(self) -> str | None:
        """The `linux_banner` string ("Linux version 6.1.0-50-cloud-amd64 ...")."""
        ro = self._by_name.get(".rodata")
        if ro is None:
            return None
        data = self._map[ro.offset : ro.offset + ro.size]
        m = re.search(rb"Linux version [^\0\n]{1,400}", data)
        return m.group(0).decode("ascii", "replace") if m else None

    @property
    def release(self) -> str | None:
        v = self.version
        if not v:
            return None
        parts = v.split()
        return parts[2] if len(parts) > 2 else None


def read_system_map(path: str) -> SymbolTable:
    require_regular_file(path, "a System.map")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (System.map)") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read System.map: {e.strerror}") from None
    entries = []
    for lineno, line in enumerate(data.splitlines(), 1):
        parts = line.split()
        if len(parts) < 3:
            if not line.strip():
                continue
            raise InputError(f"{path}:{lineno}: not a System.map line")
        try:
            addr = int(parts[0], 16)
        except ValueError:
            raise InputError(f"{path}:{lineno}: not a System.map line (bad address)") from None
        if not 0 <= addr < 1 << 64:
            # (nm prints 16 hex digits; a longer or signed one is no address)
            raise InputError(f"{path}:{lineno}: not a System.map line (address out of 64 bits)")
        kind = parts[1].decode("ascii", "replace")
        if len(kind) != 1:
            # (nm's type is one letter: the table keeps one per symbol)
            raise InputError(f"{path}:{lineno}: not a System.map line (bad type {kind!r})")
        entries.append((addr, 0, parts[2].decode("ascii", "replace"), kind.upper()))
    if not entries:
        raise InputError(f"{path}: empty System.map")
    table = SymbolTable(entries, f"{os.path.basename(path)}")
    table.sha256 = hashlib.sha256(data).hexdigest()  # (of the bytes read: the result cache's key, run.prove)
    return table
