"""Open a bzImage (`/boot/vmlinuz-<release>`) as a KernelImage.

Pass order:
1. read and hash the vmlinuz (its sha256 is the image's identity: reports and
   the result cache name the file the user gave, not the decompressed one);
2. parse the boot header, decompress the payload once into the kernel cache
   (`<kernels>/vmlinuz/<sha256>.elf`, written atomically, with the sha256 of
   the ELF written beside it: a cached file whose bytes no longer hash to
   that is decompressed again; a cache that cannot be written falls back to
   an unlinked temporary file) and open it as an ElfImage named after the
   vmlinuz;
3. symbols: kallsyms in the image; a System.map given with --system-map or
   lying beside the image (`System.map-<release>` in the same directory) is
   used when it is real and agrees with kallsyms; Debian's one-line
   placeholder ("The real System.map is in the linux-image-<version>-dbg
   package") is recognised and ignored with a note.

Sizes: kallsyms and System.map give none.  The distance to the next kallsyms
symbol is not the ELF size (on Debian 6.1 it is larger for 37k of 46k text
symbols: alignment padding, and smaller for 19, where kallsyms lists a label
inside the function, e.g. entry_SYSCALL_64 +0x29), so every size is 0
(unknown), as for a System.map: the prover then treats extents
conservatively.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile

from ..errors import InputError, untrusted_cache_entry
from . import bzimage
from .elf import ElfImage, SymbolTable, read_system_map

MAX_VMLINUZ = 256 << 20
_PLACEHOLDER = re.compile(rb"real System\.map is in", re.I)


def is_placeholder_map(path: str) -> bool:
    """Debian's /boot/System.map-<release>: one line, address all ones.
    Anything but a regular file is not (and is never opened here: a FIFO
    would wait for a writer); read_system_map refuses it."""
    if not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as f:
            data = f.read(4097)
    except OSError:
        return False
    if len(data) > 4096:
        return False
    lines = [ln for ln in data.splitlines() if ln.strip()]
    if not lines or len(lines) > 3:
        return False
    return bool(_PLACEHOLDER.search(data)) or all(ln.split()[0].lower() == b"f" * 16 for ln in lines)


def _cache_dir() -> str | None:
    from ..fetch import cache_dir

    try:
        d = os.path.join(cache_dir(), "vmlinuz")
        os.makedirs(d, exist_ok=True)
        return d if os.access(d, os.W_OK) else None
    except (OSError, InputError):
        return None


def _digest_file(path: str) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 22)
                if not b:
                    return h.hexdigest()
                h.update(b)
    except OSError:
        return None


def _recorded_digest(elf_path: str) -> str | None:
    """The sha256 of the decompressed ELF as written (`<name>.sha256` beside
    it): the cache file is reused only when its bytes still hash to it
    (~0.15 s for a 55 MB payload here, against seconds to decompress)."""
    try:
        with open(elf_path + ".sha256") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _record_digest(elf_path: str, digest: str | None) -> None:
    if digest is None:
        return
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".sha256", dir=os.path.dirname(elf_path))
    with os.fdopen(fd, "w") as f:
        f.write(digest + "\n")
    os.replace(tmp, elf_path + ".sha256")


def decompressed_elf(path: str, data: bytes, sha256: str) -> tuple[str, str, bool]:
    """(ELF file path, compression, is_temporary) for the vmlinuz bytes."""
    hdr = bzimage.parse_header(data, path)
    payload = memoryview(data)[hdr.payload_start:hdr.payload_start + hdr.payload_length]
    try:
        method = bzimage.compression(payload)
    except InputError as e:
        raise InputError(f"{path}: {e}") from None
    d = _cache_dir()
    if d is not None:
        final = os.path.join(d, f"{sha256}.elf")
        if os.path.exists(final) and not untrusted_cache_entry(os.stat(final), os.stat(d)) and \
                _digest_file(final) == _recorded_digest(final):
            return final, method, False
        # (missing, or not the bytes that were written: a truncated or
        # edited file is decompressed again, never trusted by its name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".elf", dir=d)
    except OSError as e:
        raise InputError(f"{path}: cannot write its decompressed payload in {d or tempfile.gettempdir()}: "
                         f"{e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            method, _n = bzimage.decompress_to(payload, out, path)
        with open(tmp, "rb") as f:
            if f.read(4) != b"\x7fELF":
                raise InputError(f"{path}: the {method} payload is not an ELF vmlinux")
        if d is None:
            return tmp, method, True
        _record_digest(final, _digest_file(tmp))
        os.replace(tmp, final)
        return final, method, False
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and not isinstance(e, InputError):  # e.g. the disk is full
            raise InputError(f"{path}: cannot write its decompressed payload to {tmp}: {e.strerror}") from None
        raise


def open_bzimage(cls, path: str, system_map: str | None):
    try:
        size = os.path.getsize(path)
        if size > MAX_VMLINUZ:
            raise InputError(f"{path}: {size >> 20} MiB is too large for a bzImage")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    sha = hashlib.sha256(data).hexdigest()
    elf_path, method, temporary = decompressed_elf(path, data, sha)
    del data
    try:
        elf = ElfImage(elf_path, name=path)
    finally:
        if temporary:
            os.unlink(elf_path)  # the mmap keeps it readable
    elf.__dict__["sha256"] = sha
    notes: list[str] = []
    symbols, used_map, source = choose_symbols(elf, path, system_map, notes)
    if "entry_SYSCALL_64" not in symbols:
        raise InputError(f"{path}: symbol 'entry_SYSCALL_64' not found ({symbols.source}): "
                         "not an x86-64 Linux kernel")
    return cls(elf, symbols, used_map, source, "bzImage", method, notes)


def _beside(path: str, elf: ElfImage) -> str | None:
    """System.map-<release> in the vmlinuz's directory (release from the file
    name vmlinuz-<release>, else from the image's banner)."""
    d = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    releases = []
    if base.startswith("vmlinuz-"):
        releases.append(base[len("vmlinuz-"):])
    if elf.release:
        releases.append(elf.release)
    for r in releases:
        p = os.path.join(d, f"System.map-{r}")
        if os.path.isfile(p):
            return p
    return None


# the data symbols verify/image/layout.py reads by name (a System.map
# supplies them only where the image's kallsyms confirms them)
LAYOUT_DATA_NAMES = ("current_task", "cpu_current_top_of_stack", "cpu_tss_rw", "pcpu_hot", "cpu_tlbstate",
                     "__x86_call_depth", "espfix_waddr", "espfix_stack", "entry_stack_storage",
                     "__per_cpu_offset")


def confirm_map_by_kallsyms(kall, symbols, candidate: str, path: str) -> None:
    """A System.map checked against the image's own kallsyms: every name
    both define agrees (the map's addresses replace kallsyms', and the
    prover reads per-CPU slots, the dispatch and the thunks by name; review
    49: five names were compared, so a map swapping two per-CPU names went
    through), and the data the layout reads by name (per-CPU slots, the
    TSS, the entry stack) are among them: without CONFIG_KALLSYMS_ALL
    kallsyms lists text only, and a stale map swapping two per-CPU names
    would go unchecked (adv_r148_bz_kallsyms_map: current_task swapped)."""
    from . import first_disagreement

    differ = first_disagreement(kall, symbols)
    if differ is not None:
        name, a, b = differ
        raise InputError(f"{candidate}: does not match {path}: {name} is {b:#x} in the map, {a:#x} in "
                         "the image's kallsyms (a System.map from another build?)")
    # ... and it names everything kallsyms does (a map is the build's whole
    # symbol table, kallsyms a part of it: every Debian kallsyms name is in
    # its System.map, measured); a name missing from the map would vanish
    # from what the prover reads by name (__init_end: the freed init range,
    # adv_r150_map_no_init_end)
    lost = next((n for n in kall.names() if symbols.get(n) is None), None)
    if lost is not None:
        raise InputError(f"{candidate}: does not match {path}: it has no {lost}, which the image's kallsyms list "
                         "(a System.map from another build, or cut short?)")
    unchecked = [n for n in LAYOUT_DATA_NAMES if symbols.get(n) is not None and kall.get(n) is None]
    if unchecked:
        raise InputError(f"{candidate}: its {', '.join(unchecked)} cannot be checked against {path}'s kallsyms "
                         "(built without CONFIG_KALLSYMS_ALL?): check the vmlinux with its symbol table instead")


def choose_symbols(elf: ElfImage, path: str, system_map: str | None, notes: list) -> tuple[SymbolTable, str | None, str]:
    from .kallsyms import read_kallsyms, symbol_table

    candidate = system_map if system_map is not None else _beside(path, elf)
    if candidate is not None and is_placeholder_map(candidate):
        notes.append(f"{candidate}: a placeholder, not a System.map (Debian ships the real one in "
                     "linux-image-<release>-dbg): ignored, symbols from kallsyms in the image")
        candidate = None
    kall = None
    kall_error = None
    if candidate is not None or not elf.has_symtab:
        try:
            kall = symbol_table(read_kallsyms(elf, path), f"{os.path.basename(path)} kallsyms")
        except InputError as e:
            kall_error = e
    if candidate is None:
        if elf.has_symtab:  # a payload that kept its symbol table (not Debian's): sizes too
            return elf.elf_symbols(), None, "symtab"
        if kall is None:
            raise kall_error
        return kall, None, "kallsyms"
    symbols = read_system_map(candidate)
    from . import check_system_map_matches

    if kall is not None:
        confirm_map_by_kallsyms(kall, symbols, candidate, path)

    check_system_map_matches(elf, symbols, candidate)
    return symbols, candidate, "System.map"
