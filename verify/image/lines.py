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
        try:
            self._open(elf)
        except Exception:  # noqa: BLE001
            self.ok = False

    def _open(self, elf) -> None:
        secs = DebugSections(elf)
        if not all(secs.has(n) for n in ("debug_info", "debug_abbrev", "debug_line", "debug_aranges")):
            self.why = secs.why
            return
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
