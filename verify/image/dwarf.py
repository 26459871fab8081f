"""DWARF sections of a vmlinux, for the image layer's two DWARF readers
(struct layouts in `layout.py`, source lines in `lines.py`).

    dwarf_info(elf, sections) -> DWARFInfo over just those sections, or None

Sections are read through the ElfImage's mmap without copying (pyelftools'
ELFFile.get_dwarf_info copies every debug section into a BytesIO: ~900 MB
for the Debian 6.1 image).  No relocation: vmlinux is ET_EXEC, its
`.rela.debug_*` (from --emit-relocs) are already applied.  SHF_COMPRESSED
sections (ld/gas `--compress-debug-sections`: zlib, or zstd when the
`zstandard` module is installed) are decompressed in memory; one that cannot
be is reported through `DebugSections.why`.
"""
from __future__ import annotations

import io
import struct

SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD = 1, 2

# every DWARFInfo section argument, by the name pyelftools gives it
_ALL = ("debug_info", "debug_aranges", "debug_abbrev", "debug_frame", "eh_frame", "debug_str", "debug_loc",
        "debug_ranges", "debug_line", "debug_pubtypes", "debug_pubnames", "debug_addr", "debug_str_offsets",
        "debug_line_str", "debug_loclists", "debug_rnglists", "debug_sup", "gnu_debugaltlink", "debug_types")


class MapSlice:
    """A read-only file-like view of [start, start+size) of a mmap: all that
    pyelftools asks of a stream is read/seek/tell."""

    def __init__(self, mm, start: int, size: int):
        self.mm, self.start, self.size, self.pos = mm, start, size, 0

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        if self.pos >= end:
            return b""
        data = self.mm[self.start + self.pos : self.start + end]
        self.pos = end
        return data

    def seek(self, off: int, whence: int = 0) -> int:
        self.pos = off if whence == 0 else (self.pos + off if whence == 1 else self.size + off)
        return self.pos

    def tell(self) -> int:
        return self.pos


def decompress_section(raw: bytes) -> bytes | None:
    """An SHF_COMPRESSED section's contents: Elf64_Chdr {u32 ch_type, u32
    reserved, u64 ch_size, u64 ch_addralign} then the stream (gABI, "Section
    Compression").  None when the method is unknown, zstd without the
    `zstandard` module, or the stream is corrupt or of the wrong size."""
    if len(raw) < 24:
        return None
    ch_type, _res, ch_size, _align = struct.unpack_from("<IIQQ", raw, 0)
    body = raw[24:]
    try:
        if ch_type == ELFCOMPRESS_ZLIB:
            import zlib

            out = zlib.decompress(body)
        elif ch_type == ELFCOMPRESS_ZSTD:
            try:
                import zstandard
            except ImportError:
                return None
            out = zstandard.ZstdDecompressor().decompress(body, max_output_size=ch_size)
        else:
            return None
    except Exception:  # noqa: BLE001 - a corrupt stream: no data
        return None
    return out if len(out) == ch_size else None


class DebugSections:
    """The `.debug_*` sections of an ElfImage by name (without the dot):
    `data(name)` gives the bytes, `descriptor(name)` the pyelftools
    DebugSectionDescriptor (a MapSlice over the mmap, or the decompressed
    bytes).  `why` says why a section present in the file is unusable."""

    def __init__(self, elf):
        self.elf = elf
        self.why = ""
        self._decompressed: dict[str, bytes | None] = {}

    def _section(self, name: str):
        s = self.elf.section("." + name)
        if s is None or not s.size or not s.has_bits:
            return None
        return s

    def _read(self, name: str):
        """(section, decompressed bytes or None to read through the mmap), or
        None when the section is absent or cannot be decompressed."""
        s = self._section(name)
        if s is None:
            return None
        if not s.flags & SHF_COMPRESSED:
            return s, None
        if name not in self._decompressed:
            data = decompress_section(self.elf._map[s.offset : s.offset + s.size])
            if data is None:
                self.why = f".{name} is compressed in a format this build cannot read"
            self._decompressed[name] = data
        data = self._decompressed[name]
        return None if data is None else (s, data)

    def has(self, name: str) -> bool:
        return self._read(name) is not None

    def data(self, name: str) -> bytes | None:
        hit = self._read(name)
        if hit is None:
            return None
        s, data = hit
        return data if data is not None else self.elf._map[s.offset : s.offset + s.size]

    def descriptor(self, name: str):
        from elftools.dwarf.dwarfinfo import DebugSectionDescriptor

        hit = self._read(name)
        if hit is None:
            return None
        s, data = hit
        if data is not None:
            return DebugSectionDescriptor(io.BytesIO(data), "." + name, 0, len(data), 0)
        return DebugSectionDescriptor(MapSlice(self.elf._map, s.offset, s.size), "." + name, s.offset, s.size,
                                      s.addr)


def dwarf_info(sections: DebugSections, names: tuple[str, ...]):
    """A pyelftools DWARFInfo that sees only `names` (the others are absent)."""
    from elftools.dwarf.dwarfinfo import DwarfConfig, DWARFInfo

    return DWARFInfo(config=DwarfConfig(little_endian=True, default_address_size=8, machine_arch="x64"),
                     **{n + "_sec": (sections.descriptor(n) if n in names else None) for n in _ALL})
