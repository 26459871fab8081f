"""Test-side writers for what a bzImage holds: the boot header around a
compressed payload (every method Linux supports for x86, compressed the way
scripts/Makefile.lib does, with the size appended) and kallsyms tables laid
out as scripts/kallsyms.c writes them (Debian 6.1's order, 6.12's order, and
the pre-6.4 one with 8-byte markers and no seqs_of_names)."""
from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import struct
import subprocess

METHODS = ("gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd")
PM_OFFSET = 5 * 512  # setup_sects = 4
PAYLOAD_OFFSET = 0x100


def compress(data: bytes, method: str, fast: bool = False) -> bytes:
    """The payload as arch/x86/boot/compressed/Makefile builds it (`fast`:
    a lower level of the same method, for 50 MB real payloads)."""
    if method == "gzip":
        return gzip.compress(data, 9, mtime=0)  # gzip's trailer is the size
    if method == "bzip2":
        out = bz2.compress(data, 9)
    elif method == "lzma":
        out = lzma.compress(data, format=lzma.FORMAT_ALONE)
    elif method == "xz":
        out = lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    elif method == "lz4":  # lz4 -l: the legacy frame, 8 MiB blocks
        import lz4.block

        out = struct.pack("<I", 0x184C2102)
        for i in range(0, len(data), 8 << 20):
            blk = lz4.block.compress(data[i:i + (8 << 20)], mode="default" if fast else "high_compression",
                                     store_size=False)
            out += struct.pack("<I", len(blk)) + blk
    elif method == "zstd":
        import zstandard

        out = zstandard.ZstdCompressor(level=3 if fast else 19).compress(data)
    elif method == "lzo":
        if shutil.which("lzop") is None:
            raise RuntimeError("lzop is not installed (apt-get install lzop; .ci/run does)")
        out = subprocess.run(["lzop", "-9", "-c"], input=data, capture_output=True, check=True).stdout
    else:
        raise ValueError(method)
    return out + struct.pack("<I", len(data) & 0xFFFFFFFF)  # size_append


def make_bzimage(payload: bytes, init_size: int = 0) -> bytes:
    """A bzImage around an already compressed payload: boot sector with the
    header (protocol 2.15), 4 setup sectors, then the protected-mode code
    with the payload PAYLOAD_OFFSET bytes in."""
    setup = bytearray(PM_OFFSET)
    setup[0x1F1] = 4
    setup[0x1FE:0x200] = b"\x55\xaa"
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, 0x020F)
    struct.pack_into("<II", setup, 0x248, PAYLOAD_OFFSET, len(payload))
    struct.pack_into("<I", setup, 0x260, init_size)
    pm = bytearray(b"\xcc" * PAYLOAD_OFFSET)
    return bytes(setup) + bytes(pm) + payload + b"\x00" * 64


def payload_of(bz: bytes) -> tuple[int, int]:
    """(file offset, length) of a bzImage's payload."""
    setup_sects = bz[0x1F1] or 4
    off, length = struct.unpack_from("<II", bz, 0x248)
    return (setup_sects + 1) * 512 + off, length


def replace_payload(bz: bytes, payload: bytes) -> bytes:
    """The bzImage with another payload (its length updated in the header)."""
    start, length = payload_of(bz)
    out = bytearray(bz[:start] + payload + bz[start + length:])
    struct.pack_into("<I", out, 0x24C, len(payload))
    return bytes(out)


# -- kallsyms ---------------------------------------------------------------------------

_MULTI = ["entry_", "SYSCALL", "_64", "xen_", "func_", "per_cpu", "__", "do_", "sys", "ret"]


def _tokens() -> list[str]:
    toks = []
    spare = iter(_MULTI)
    for i in range(256):
        if 0x21 <= i <= 0x7E:
            toks.append(chr(i))
        else:
            toks.append(next(spare, None) or f"~{i:02x}")
    return toks


def _encode(text: str, toks: list[str]) -> bytes:
    multi = sorted(((t, i) for i, t in enumerate(toks) if len(t) > 1), key=lambda x: -len(x[0]))
    out = bytearray()
    p = 0
    while p < len(text):
        for t, i in multi:
            if text.startswith(t, p):
                out.append(i)
                p += len(t)
                break
        else:
            out.append(ord(text[p]))
            p += 1
    return bytes(out)


def _pad8(b: bytearray) -> None:
    b.extend(b"\0" * (-len(b) % 8))


def kallsyms_blob(symbols, layout: str = "6.12", absolute_percpu: bool = True, lead: bytes = b"") -> bytes:
    """.rodata holding kallsyms tables for symbols [(addr, type, name)]
    sorted by address.  layout: "6.12", "6.1" (Debian's, with
    seqs_of_names) or "old" (8-byte num_syms and markers, no seqs)."""
    toks = _tokens()
    names = bytearray()
    markers = []
    for i, (_a, t, n) in enumerate(symbols):
        if i % 256 == 0:
            markers.append(len(names))
        enc = _encode(t + n, toks)
        if len(enc) > 0x7F:
            names += bytes([(len(enc) & 0x7F) | 0x80, len(enc) >> 7])
        else:
            names.append(len(enc))
        names += enc
    table = bytearray()
    index = []
    for t in toks:
        index.append(len(table))
        table += t.encode("latin-1") + b"\0"
    addrs = [a for a, _t, _n in symbols]
    text = [a for a in addrs if a >= 0xFFFFFFFF80000000]
    rel_base = min(text)
    if absolute_percpu:
        offs = [a if a < 0x80000000 else rel_base - a - 1 for a in addrs]
    else:
        offs = [a - rel_base for a in addrs]
    wide = layout == "old"
    num = struct.pack("<Q" if wide else "<I", len(symbols))
    mk = b"".join(struct.pack("<Q" if wide else "<I", m) for m in markers)
    order = sorted(range(len(symbols)), key=lambda i: symbols[i][2])
    seqs = b"".join(i.to_bytes(3, "big") for i in order)
    offsets = b"".join(struct.pack("<i" if absolute_percpu else "<I", o) for o in offs)
    base = struct.pack("<Q", rel_base)
    parts = {"num": num, "names": bytes(names), "markers": mk, "table": bytes(table),
             "index": b"".join(struct.pack("<H", x) for x in index), "offsets": offsets, "base": base,
             "seqs": seqs}
    seq = {"6.12": ["num", "names", "markers", "table", "index", "offsets", "base", "seqs"],
           "6.1": ["offsets", "base", "num", "names", "markers", "seqs", "table", "index"],
           "old": ["offsets", "base", "num", "names", "markers", "table", "index"]}[layout]
    out = bytearray(lead)
    for label in seq:
        _pad8(out)
        out += parts[label]
    _pad8(out)
    return bytes(out)


def sample_symbols(n: int = 700) -> list[tuple[int, str, str]]:
    """Per-CPU symbols at small addresses, text symbols, one 'big' name."""
    syms = [(0, "A", "fixed_percpu_data"), (0, "A", "__per_cpu_start"), (0x1000, "A", "per_cpu_area_x")]
    a = 0xFFFFFFFF81000000
    for i in range(n):
        name = f"func_{i}_helper" if i % 7 else f"xen_entry_SYSCALL_64_{i}"
        if i == 333:
            name = "long_" + "x" * 200  # two-byte (ULEB128) length
        syms.append((a, "T" if i % 3 else "t", name))
        a += 16 * (1 + i % 5)
    syms.append((a, "T", "entry_SYSCALL_64"))
    syms.append((a + 0x40, "t", "entry_SYSCALL_64_safe_stack"))
    return syms


def strip_with_kallsyms(elf: bytes, symbols, tmpdir: str, layout: str = "6.12") -> bytes:
    """The ELF without .symtab (objcopy --strip-all) whose .rodata also
    holds kallsyms tables for `symbols` [(addr, type, name)]: the old .rodata
    bytes, then the tables, appended to the file (the section header's
    offset and size are rewritten; its address stays, so the old contents
    keep theirs)."""
    import os

    src = os.path.join(tmpdir, "with-symtab.elf")
    dst = os.path.join(tmpdir, "stripped.elf")
    with open(src, "wb") as f:
        f.write(elf)
    subprocess.run(["objcopy", "--strip-all", src, dst], check=True)
    with open(dst, "rb") as f:
        b = bytearray(f.read())
    shoff, = struct.unpack_from("<Q", b, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", b, 0x3A)
    str_off, = struct.unpack_from("<Q", b, shoff + shstrndx * shentsize + 0x18)
    for i in range(shnum):
        h = shoff + i * shentsize
        name_off, = struct.unpack_from("<I", b, h)
        if b[str_off + name_off:str_off + name_off + 8] == b".rodata\0":
            off, size = struct.unpack_from("<QQ", b, h + 0x18)
            old = bytes(b[off:off + size])
            old += b"\0" * (-len(old) % 8)
            data = old + kallsyms_blob(sorted(symbols), layout)
            b += b"\0" * (-len(b) % 8)
            struct.pack_into("<QQ", b, h + 0x18, len(b), len(data))
            b += data
            return bytes(b)
    raise ValueError("no .rodata")
