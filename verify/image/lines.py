"""Address -> source file and line, from the image's DWARF line tables.

    lines = SourceLines(elf)          # an ElfImage, or a path (opened here)
    lines.lookup(addr) -> SourceLine(path, line, comp_dir) | None

Only what a lookup needs is parsed: `.debug_aranges` (160 KB on Debian 6.1)
to find the compilation unit covering the address, that CU's header and top
DIE, and that CU's line program (verify/image/dwarf.py reads the sections
through the mmap, decompressing SHF_COMPRESSED ones).  Measured on the 588 MB
Debian 6.1 image: 45 ms to open, 5 ms for the first lookup in entry_64.S,
30 MB RSS.  Line tables are cached per CU.  Any DWARF problem (none, an
unreadable compression, malformed) means "no source line", never an error:
lines help the reader, they are not part of the proof.

Paths are given as the build recorded them, resolved as far as the DWARF
allows (DWARF 5, 6.2.4 items 12-13): a file name relative to its directory
entry, a relative directory relative to the compilation directory
(DW_AT_comp_dir; in DWARF 5 also directory entry 0).  So an in-tree build
(comp_dir = the source tree, names relative) and an `O=` build (comp_dir =
the object tree, names `../arch/...` or absolute) both give absolute paths.
A build whose comp_dir is itself relative was made with
`-ffile-prefix-map` (Debian 6.12: comp_dir `debian/build/build_amd64_...`,
directories `arch/x86/entry`): its relative paths are relative to the mapped
root, not to the comp_dir, and are kept as they are.  Making a path relative
to a source tree is the report layer's business (verify/report/sources.py).
"""
from __future__ import annotations

import bisect
import os
import struct
from typing import NamedTuple

from .dwarf import DebugSections, dwarf_info

LINE_SECTIONS = ("debug_info", "debug_abbrev", "debug_line", "debug_str", "debug_line_str", "debug_str_offsets",
                 "debug_addr", "debug_rnglists", "debug_ranges")


class SourceLine(NamedTuple):
    path: str  # resolved as far as the DWARF allows (see the module docstring)
    line: int
    comp_dir: str  # the CU's DW_AT_comp_dir ("" when absent)


class SourceLines:
    def __init__(self, elf):
        self._own = None
        if isinstance(elf, (str, os.PathLike)):
            from .elf import ElfImage

            elf = self._own = ElfImage(os.fspath(elf))
        self.path = elf.file
        self.ok = False
        self.why = ""  # why lines are unavailable, when the image has DWARF we cannot read
        self._ranges: list[tuple[int, int, int]] = []
        self._starts: list[int] = []
        self._cu_rows: dict[int, tuple[list, list, str]] = {}
        self._cu_language: dict[int, int | None] = {}
        self._sec_memo: dict = {}
        try:
            self._open(elf)
        except Exception:  # noqa: BLE001
            self.ok = False

    def _open(self, elf) -> None:
        secs = DebugSections(elf)
        if not all(secs.has(n) for n in ("debug_info", "debug_abbrev", "debug_line", "debug_aranges")):
            self.why = secs.why
            return
        self._secs = secs
        self._read_aranges(secs.data("debug_aranges"))
        self._dwarf = dwarf_info(secs, LINE_SECTIONS)
        self.why = secs.why
        self.ok = bool(self._ranges)

    def _read_aranges(self, data: bytes) -> None:
        """.debug_aranges (DWARF 5, 6.1.2): per CU a header, then (address,
        length) pairs up to (0, 0); the pairs start at a multiple of twice the
        address size from the set's start."""
        pos, out = 0, []
        while pos + 4 <= len(data):
            start = pos
            (length,) = struct.unpack_from("<I", data, pos)
            pos += 4
            ofmt = "<I"
            if length == 0xFFFFFFFF:
                (length,) = struct.unpack_from("<Q", data, pos)
                pos += 8
                ofmt = "<Q"
            if length == 0:
                break
            end = pos + length
            pos += 2  # version
            (cu_off,) = struct.unpack_from(ofmt, data, pos)
            pos += struct.calcsize(ofmt)
            asz = data[pos]
            pos += 2  # address_size, segment_selector_size
            tsz = 2 * asz
            pos = start + -(-(pos - start) // tsz) * tsz
            fmt = "<QQ" if asz == 8 else "<II"
            while pos + tsz <= end:
                a, n = struct.unpack_from(fmt, data, pos)
                pos += tsz
                if a == 0 and n == 0:
                    break
                if n:
                    out.append((a, a + n, cu_off))
            pos = end
        out.sort()
        self._ranges = out
        self._starts = [r[0] for r in out]

    def _cu_offset(self, addr: int) -> int | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        for j in range(i, max(-1, i - 4), -1):
            s, e, cu = self._ranges[j]
            if s <= addr < e:
                return cu
        return None

    def _rows(self, cu_off: int):
        if cu_off in self._cu_rows:
            return self._cu_rows[cu_off]
        rows, comp_dir = [], ""
        try:
            cu = self._dwarf.get_CU_at(cu_off)
            at = cu.get_top_DIE().attributes.get("DW_AT_comp_dir")
            comp_dir = _s(at.value) if at is not None else ""
            lp = self._dwarf.line_program_for_CU(cu)
            if lp is not None:
                names: dict[int, str] = {}
                for e in lp.get_entries():
                    st = e.state
                    if st is None:
                        continue
                    if st.end_sequence:
                        rows.append((st.address, None))
                        continue
                    if st.file not in names:
                        names[st.file] = _file_name(lp.header, st.file, comp_dir)
                    rows.append((st.address, (names[st.file], st.line)))
                rows.sort(key=lambda r: r[0])
        except Exception:  # noqa: BLE001
            rows = []
        r = ([a for a, _ in rows], [loc for _, loc in rows], comp_dir)
        self._cu_rows[cu_off] = r
        return r

    def language(self, addr: int) -> int | None:
        """DW_AT_language of the compile unit whose ranges hold addr (29:
        C11, 0x8001: assembler, ...), or None (no DWARF, no unit there, an
        unreadable one)."""
        if not self.ok:
            return None
        cu = self._cu_offset(addr)
        if cu is None:
            return None
        hit = self._cu_language.get(cu, -1)
        if hit == -1:
            try:
                hit = self._unit_language(cu)
            except (IndexError, ValueError, struct.error):
                hit = None
            self._cu_language[cu] = hit
        return hit

    def _bytes(self, name: str, off: int, n: int) -> bytes:
        """n bytes of .debug_<name> from off (through the mmap: .debug_info
        is hundreds of MB, never copied whole)."""
        hit = self._sec_memo.get(name)
        if hit is None:
            hit = self._sec_memo[name] = self._secs._read(name)
        if hit is None:
            raise ValueError(name)
        sec, data = hit
        if data is not None:
            return data[off:off + n]
        return self._secs.elf._map[sec.offset + off:sec.offset + min(off + n, sec.size)]

    def _unit_language(self, cu: int) -> int | None:
        """DW_AT_language of the unit at .debug_info offset cu, read from its
        header, its first DIE's abbreviation and that DIE's attributes (a
        pyelftools DIE costs milliseconds a unit, and the TS_COMPAT pass asks
        about hundreds).  None when a form is not one read here."""
        head = self._bytes("debug_info", cu, 4096)
        (length,) = struct.unpack_from("<I", head, 0)
        wide = length == 0xFFFFFFFF
        pos = 12 if wide else 4
        osz = 8 if wide else 4
        (version,) = struct.unpack_from("<H", head, pos)
        pos += 2
        if version >= 5:
            asz = head[pos + 1]
            abbrev_off = int.from_bytes(head[pos + 2:pos + 2 + osz], "little")
            pos += 2 + osz
        else:
            abbrev_off = int.from_bytes(head[pos:pos + osz], "little")
            asz = head[pos + osz]
            pos += osz + 1
        code, pos = _uleb(head, pos)
        specs = self._abbrev_specs(abbrev_off, code)
        if specs is None:
            return None
        fixed = {0x0B: 1, 0x05: 2, 0x06: 4, 0x07: 8, 0x1E: 16, 0x0C: 1, 0x19: 0, 0x21: 0, 0x25: 1, 0x26: 2, 0x27: 3,
                 0x28: 4, 0x29: 1, 0x2A: 2, 0x2B: 3, 0x2C: 4, 0x13: 4, 0x11: 1, 0x12: 2, 0x14: 8,
                 0x01: asz, 0x0E: osz, 0x1F: osz, 0x17: osz, 0x10: osz}
        for attr, form, const in specs:
            if attr == 0x13:  # DW_AT_language
                if form == 0x21:
                    return const
                if form in (0x0B, 0x05, 0x06, 0x07):
                    return int.from_bytes(head[pos:pos + fixed[form]], "little")
                if form == 0x0F:
                    return _uleb(head, pos)[0]
                return None
            if form in fixed:
                pos += fixed[form]
            elif form in (0x0F, 0x0D, 0x1A, 0x1B, 0x15):  # udata, sdata, strx, addrx, ref_udata
                pos = _uleb(head, pos)[1]
            elif form == 0x08:  # string
                pos = head.index(b"\0", pos) + 1
            else:
                return None
            if pos >= len(head):
                return None
        return None

    def _abbrev_specs(self, off: int, code: int):
        """[(attribute, form, implicit constant)] of abbreviation `code` in
        the table at .debug_abbrev offset off, or None."""
        data = self._bytes("debug_abbrev", off, 1 << 16)
        pos = 0
        while pos < len(data):
            c, pos = _uleb(data, pos)
            if c == 0:
                return None
            _tag, pos = _uleb(data, pos)
            pos += 1  # DW_CHILDREN
            specs = []
            while True:
                attr, pos = _uleb(data, pos)
                form, pos = _uleb(data, pos)
                const = None
                if form == 0x21:
                    const, pos = _sleb(data, pos)
                if attr == 0 and form == 0:
                    break
                specs.append((attr, form, const))
            if c == code:
                return specs
        return None

    def lookup(self, addr: int) -> SourceLine | None:
        if not self.ok:
            return None
        cu = self._cu_offset(addr)
        if cu is None:
            return None
        addrs, locs, comp_dir = self._rows(cu)
        i = bisect.bisect_right(addrs, addr) - 1
        if i < 0 or locs[i] is None or not locs[i][1]:
            return None
        return SourceLine(locs[i][0], locs[i][1], comp_dir)

    def close(self) -> None:
        if self._own is not None:
            try:
                self._own.close()
            except BufferError:
                pass


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        b = data[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return out, pos


def _sleb(data: bytes, pos: int) -> tuple[int, int]:
    out, shift = 0, 0
    while True:
        b = data[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return (out - (1 << shift) if b & 0x40 else out), pos


def _file_name(header, idx: int, comp_dir: str) -> str:
    """File `idx` of a line program header, resolved (module docstring)."""
    ver = header["version"]
    files, dirs = header["file_entry"], header["include_directory"]
    # DWARF 5: file and directory indexes from 0, directory 0 is the
    # compilation directory; DWARF 2-4: files from 1, directory 0 means the
    # compilation directory and n means include_directory[n-1].
    i = idx if ver >= 5 else idx - 1
    if not 0 <= i < len(files):
        return "?"
    fe = files[i]
    name = _s(fe.name)
    di = fe.dir_index if ver >= 5 else fe.dir_index - 1
    if not os.path.isabs(name):
        d = _s(dirs[di]) if 0 <= di < len(dirs) else comp_dir
        name = os.path.join(d, name)
    if not os.path.isabs(name) and os.path.isabs(comp_dir):
        name = os.path.join(comp_dir, name)
    return os.path.normpath(name) if name else "?"


def _s(v) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
