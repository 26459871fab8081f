"""Layer 1, the image: everything the verifier knows about a built kernel.

`KernelImage.open(path, system_map=None)` validates the input and returns an
object whose properties are computed on first use:

- `symbols`        SymbolTable from .symtab, the System.map or kallsyms
                   (`symbol_source`: "symtab", "System.map", "kallsyms")
- `format`         "ELF" (a vmlinux) or "bzImage" (a vmlinuz: the payload is
                   decompressed once into the kernel cache, `bzimage.py`;
                   `compression` names the method)
- `version`, `release`, `build_id`, `sha256`
- `layout`         struct offsets and per-CPU locations (BTF, else DWARF)
- `entry`          entry_SYSCALL_64, the sysretq/iretq sites, the call to
                   do_syscall_64, the syscall dispatch
- `patch_sites(lo, hi)`  boot-time patch sites in an address range, each
                   decoded into its code variants

This package is the one place that knows kernel struct offsets and constants.
"""
from __future__ import annotations

import os
from functools import cached_property

from ..errors import InputError, require_regular_file
from .elf import ElfImage, Section, Symbol, SymbolTable, read_system_map

__all__ = ["KernelImage", "ElfImage", "Section", "Symbol", "SymbolTable"]

# Symbols whose presence makes an ELF a Linux x86-64 kernel for our purposes.
REQUIRED_SYMBOLS = ("entry_SYSCALL_64",)


class KernelImage:
    def __init__(self, elf: ElfImage, symbols: SymbolTable, system_map: str | None, symbol_source: str = "symtab",
                 fmt: str = "ELF", compression: str | None = None, notes: list | None = None):
        self.elf = elf
        self.path = elf.path
        self.symbols = symbols
        self.system_map = system_map  # the map the symbols came from (part of the result cache key), or None
        self.symbol_source = symbol_source
        self.format = fmt
        self.compression = compression
        self.notes = notes or []  # one-line remarks for stderr (e.g. a placeholder System.map ignored)
        # a System.map whose names nothing in the image could confirm (a
        # stripped vmlinux without kallsyms): the report lists assumption
        # system-map-names at it
        self.map_unchecked = False

    @classmethod
    def open(cls, path: str, system_map: str | None = None, hash_image: bool = True) -> "KernelImage":
        require_regular_file(path, "a kernel image")
        from .bzimage import is_bzimage

        try:
            with open(path, "rb") as f:
                head = f.read(0x270)
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}") from None
        if is_bzimage(head):
            from .vmlinuz import open_bzimage

            return open_bzimage(cls, path, system_map)
        elf = ElfImage(path)
        # Every check report names the image by its sha256: start hashing now,
        # in a thread, so that it overlaps symbol and table parsing.
        if hash_image:
            elf.prefetch_sha256()
        notes = []
        if system_map is not None:
            from .vmlinuz import is_placeholder_map

            if is_placeholder_map(system_map):
                if not elf.has_symtab:
                    raise InputError(f"{system_map}: Debian's placeholder, not a System.map (the real one is in "
                                     "linux-image-<release>-dbg, with a vmlinux that has its symbols)")
                notes.append(f"{system_map}: a placeholder, not a System.map: ignored, symbols from the symtab")
                system_map = None
        unchecked = False  # (a map nothing in the image can check: assumption system-map-names)
        if system_map is not None:
            symbols = read_system_map(system_map)
            if not elf.has_symtab:
                # (no symbol table to check the map against: the image's
                # kallsyms, where it has them, as for a vmlinuz; review 49's
                # stripped vmlinux with a map swapping two per-CPU names)
                from .kallsyms import read_kallsyms, symbol_table
                from .vmlinuz import confirm_map_by_kallsyms

                try:
                    kall = symbol_table(read_kallsyms(elf, path), f"{os.path.basename(path)} kallsyms")
                except InputError:
                    kall, unchecked = None, True
                    notes.append(f"{system_map}: no symbol table or kallsyms in the image to check it against: "
                                 "its names are taken as the build's (assumption system-map-names)")
                if kall is not None:
                    confirm_map_by_kallsyms(kall, symbols, system_map, path)
            check_system_map_matches(elf, symbols, system_map)
            if elf.has_symtab:
                # The image's own table, now that the map agrees with it: a
                # map is the symtab filtered (scripts/mksysmap), so one that
                # lacks a name the prover reads (__init_end: the freed init
                # range) would hide it (adv_r153_map_symtab_no_init_end)
                symbols = elf.elf_symbols()
                notes.append(f"{system_map}: agrees with the image's symbol table, which is used")
        else:
            symbols = elf.elf_symbols()
        for name in REQUIRED_SYMBOLS:
            if name not in symbols:
                raise InputError(
                    f"{path}: symbol '{name}' not found ({symbols.source}): not an x86-64 Linux kernel, "
                    "or its symbols were stripped (pass --system-map FILE)"
                )
        image = cls(elf, symbols, system_map, "System.map" if system_map is not None else "symtab", notes=notes)
        image.map_unchecked = unchecked
        return image

    # identity
    @property
    def sha256(self) -> str:
        return self.elf.sha256

    @property
    def build_id(self) -> str | None:
        return self.elf.build_id

    @property
    def version(self) -> str | None:
        return self.elf.version

    @property
    def release(self) -> str | None:
        return self.elf.release

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def read(self, addr: int, size: int) -> bytes:
        return self.elf.read(addr, size)

    def symbolize(self, addr: int) -> str:
        return self.symbols.symbolize(addr)

    # The richer readers live in their own modules and are imported lazily so
    # that `inspect` pays only for what it prints.
    @cached_property
    def layout(self):
        from .layout import read_layout

        return read_layout(self)

    @cached_property
    def entry(self):
        from .entry import find_entry_sites

        return find_entry_sites(self)

    @cached_property
    def btf(self):
        """The `.BTF` type reader, or None when the image has no BTF."""
        from .btf import Btf

        data = self.elf.section_bytes(".BTF")
        return Btf(data) if data else None

    def patch_sites(self, lo: int, hi: int):
        """Boot-time patch sites with lo <= addr < hi (see patches.py); the
        special-section tables are read once, sites built only for the range."""
        from .patches import read_patch_sites

        return read_patch_sites(self, lo, hi)


def check_system_map_matches(elf: ElfImage, symbols: SymbolTable, map_path: str) -> None:
    """Reject a System.map from another build.

    `linux_banner` must point at the banner string in this image, and when the
    image still has a .symtab, every name both define must agree."""
    banner = symbols.get("linux_banner")
    if banner is None:
        raise InputError(f"{map_path}: no linux_banner symbol: not a kernel System.map")
    try:
        text = elf.read(banner, 14)
    except InputError:
        text = b""
    if text != b"Linux version ":
        raise InputError(
            f"{map_path}: does not match {elf.path} (linux_banner at {banner:#x} is not the banner "
            "in this image): a System.map from another build?"
        )
    if elf.has_symtab:
        # every name both define (a repeated static name: any of its
        # addresses): the map's symbols replace the image's, and the
        # prover reads per-CPU slots, the dispatch and the thunks by name,
        # so a map swapping two names (current_task and another per-CPU
        # pointer) would change what is proven (review 49,
        # adv_r49_map_current_alias)
        differ = first_disagreement(elf.elf_symbols(), symbols)
        if differ is not None:
            name, a, b = differ
            raise InputError(f"{map_path}: does not match {elf.path}: {name} is {b:#x} in the map, {a:#x} in the image")


def first_disagreement(own: SymbolTable, symbols: SymbolTable):
    """(name, address in own, address in symbols) of a name both tables
    define at different addresses, or None.  A name defined more than once
    (a static function in two files) agrees when any of own's addresses for
    it is the other's; `__pfx_` padding labels are not compared."""
    for name in symbols.names():
        a, b = own.get(name), symbols.get(name)
        if a is not None and b is not None and a != b and not name.startswith("__pfx_") and \
                name not in own.names_at(b):
            return name, a, b
    return None
