"""bzImage (`/boot/vmlinuz-*`): the boot header and the compressed payload.

Documentation/arch/x86/boot.rst ("THE REAL-MODE KERNEL HEADER"):

- 0x1f1 `setup_sects`: size of the real-mode setup code in 512-byte sectors
  (0 means 4); the protected-mode code starts at (setup_sects + 1) * 512.
- 0x1fe `boot_flag` 0xAA55; 0x202 `header` "HdrS"; 0x206 `version` (protocol).
- 0x248 `payload_offset`, 0x24c `payload_length` (protocol 2.08+): where the
  compressed kernel lies, relative to the start of the protected-mode code.

The payload is arch/x86/boot/compressed/vmlinux.bin.<method>: the vmlinux
stripped by `objcopy -R .comment -S` (plus, with RANDOMIZE_BASE, the
relocation list after it), compressed by scripts/Makefile.lib, which appends
the uncompressed size as a little-endian u32 (`size_append`; gzip's own
trailer carries the same).  The method is identified by its magic, as
lib/decompress.c does.  Every x86 method Linux supports is decompressed with a
library: gzip, bzip2, lzma (the "alone" format), xz (stdlib zlib/bz2/lzma),
lz4 (the legacy frame: `lz4 -l`), zstd (`zstandard`), lzo (the lzop container,
decoded by `lzo.py` here: python-lzo has no wheel and needs liblzo2 headers).

Decompression is bounded (MAX_OUTPUT in total; no library call may produce
more than ~32 MiB at once) and every malformed input is an InputError naming
the vmlinuz.
"""
from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from dataclasses import dataclass

from ..errors import InputError

HDRS_OFFSET = 0x202
# A real x86-64 vmlinux.bin is 40-80 MB; anything past this is not a kernel.
MAX_OUTPUT = 512 << 20
CHUNK = 16 << 20

LZ4_LEGACY_MAGIC = 0x184C2102
LZ4_LEGACY_BLOCK = 8 << 20
LZOP_MAGIC = b"\x89LZO\x00\r\n\x1a\n"

# (method, magic) as lib/decompress.c's compressed_formats[]
MAGICS = (
    ("gzip", b"\x1f\x8b"),
    ("gzip", b"\x1f\x9e"),
    ("bzip2", b"BZh"),
    ("lzma", b"\x5d\x00\x00"),
    ("xz", b"\xfd7zXZ\x00"),
    ("lzo", LZOP_MAGIC[:3]),
    ("lz4", struct.pack("<I", LZ4_LEGACY_MAGIC)),
    ("zstd", b"\x28\xb5\x2f\xfd"),
)
METHODS = ("gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd")


@dataclass(frozen=True)
class BootHeader:
    setup_sects: int
    protocol: int  # e.g. 0x020f
    pm_offset: int  # file offset of the protected-mode code
    payload_offset: int  # relative to pm_offset
    payload_length: int
    init_size: int

    @property
    def payload_start(self) -> int:
        return self.pm_offset + self.payload_offset

    @property
    def protocol_text(self) -> str:
        return f"{self.protocol >> 8}.{self.protocol & 0xff:02d}"


def is_bzimage(head: bytes) -> bool:
    return len(head) >= HDRS_OFFSET + 4 and head[HDRS_OFFSET:HDRS_OFFSET + 4] == b"HdrS"


def parse_header(data, name: str) -> BootHeader:
    """The boot header of a bzImage held in `data` (bytes or mmap)."""
    size = len(data)
    if size < 0x268 or data[HDRS_OFFSET:HDRS_OFFSET + 4] != b"HdrS":
        raise InputError(f"{name}: not a bzImage (no 'HdrS' boot header at {HDRS_OFFSET:#x})")
    setup_sects = data[0x1F1] or 4
    (protocol,) = struct.unpack_from("<H", data, 0x206)
    if protocol < 0x208:
        raise InputError(f"{name}: boot protocol {protocol >> 8}.{protocol & 0xff:02d} has no payload fields "
                         "(2.08+ is needed: kernels since 2.6.26)")
    payload_offset, payload_length = struct.unpack_from("<II", data, 0x248)
    (init_size,) = struct.unpack_from("<I", data, 0x260)
    pm = (setup_sects + 1) * 512
    h = BootHeader(setup_sects, protocol, pm, payload_offset, payload_length, init_size)
    if payload_length < 8 or h.payload_start + payload_length > size:
        raise InputError(f"{name}: payload ({payload_length} bytes at {h.payload_start:#x}) lies outside the "
                         f"file ({size} bytes): truncated or not a bzImage")
    return h


def compression(payload) -> str:
    for method, magic in MAGICS:
        if bytes(payload[:len(magic)]) == magic:
            return method
    raise InputError(f"unknown payload compression (magic {bytes(payload[:4]).hex()}): "
                     f"not one of {', '.join(METHODS)}")


class _Sink:
    """Collects output up to MAX_OUTPUT into a file object (or a list)."""

    def __init__(self, out, name: str):
        self.out, self.name, self.size = out, name, 0

    def write(self, b) -> None:
        self.size += len(b)
        if self.size > MAX_OUTPUT:
            raise InputError(f"{self.name}: payload decompresses to more than {MAX_OUTPUT >> 20} MiB: not a kernel")
        self.out.write(b)


def decompress_to(payload, out, name: str) -> tuple[str, int]:
    """Decompress a bzImage payload into the binary file object `out`.
    Returns (method, bytes written)."""
    try:
        method = compression(payload)
    except InputError as e:
        raise InputError(f"{name}: {e}") from None
    sink = _Sink(out, name)
    try:
        _DECODERS[method](memoryview(payload), sink, name)
    except _library_errors(method) as e:
        raise InputError(f"{name}: corrupt {method} payload: {type(e).__name__}: {str(e)[:120]}") from None
    if sink.size == 0:
        raise InputError(f"{name}: {method} payload decompresses to nothing")
    return method, sink.size


def _library_errors(method: str) -> tuple:
    """What the decompression libraries raise on corrupt input (bz2 raises
    OSError, the others their own types or ValueError/EOFError)."""
    errs = (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, struct.error)
    if method == "lz4":
        import lz4.block

        errs += (lz4.block.LZ4BlockError,)
    if method == "zstd":
        import zstandard

        errs += (zstandard.ZstdError,)
    return errs


def _stream(dec, data, sink, name, method) -> None:
    """Feed a bz2/lzma decompressor, taking its output in bounded steps."""
    sink.write(dec.decompress(data, CHUNK))
    while not dec.eof:
        if getattr(dec, "needs_input", False):
            raise InputError(f"{name}: {method} payload ends early (truncated)")
        out = dec.decompress(b"", CHUNK)
        if not out and not dec.eof:
            raise InputError(f"{name}: {method} payload ends early (truncated)")
        sink.write(out)


def _gzip(data, sink, name):
    dec = zlib.decompressobj(31)
    buf = bytes(data)
    out = dec.decompress(buf, CHUNK)
    sink.write(out)
    while not dec.eof:
        rest = dec.unconsumed_tail
        if not rest:
            raise InputError(f"{name}: gzip payload ends early (truncated)")
        out = dec.decompress(rest, CHUNK)
        sink.write(out)


def _bzip2(data, sink, name):
    _stream(bz2.BZ2Decompressor(), bytes(data), sink, name, "bzip2")


def _lzma(data, sink, name):
    _stream(lzma.LZMADecompressor(lzma.FORMAT_ALONE), bytes(data), sink, name, "lzma")


def _xz(data, sink, name):
    _stream(lzma.LZMADecompressor(lzma.FORMAT_XZ), bytes(data), sink, name, "xz")


def _lz4(data, sink, name):
    """The legacy frame (lib/decompress_unlz4.c): the magic, then blocks,
    each a u32 compressed size and an LZ4 block of at most 8 MiB output; the
    size_append u32 (or another magic) ends it."""
    import lz4.block

    pos, end = 4, len(data)
    while pos + 4 <= end:
        (n,) = struct.unpack_from("<I", data, pos)
        if n == LZ4_LEGACY_MAGIC:
            pos += 4
            continue
        if pos + 4 + n > end:
            if end - pos == 4:
                break  # the appended uncompressed size
            raise InputError(f"{name}: lz4 block of {n} bytes at payload offset {pos:#x} overruns the payload")
        if n == 0 or n > 2 * LZ4_LEGACY_BLOCK:
            raise InputError(f"{name}: lz4 block size {n} at payload offset {pos:#x} is invalid")
        sink.write(lz4.block.decompress(bytes(data[pos + 4:pos + 4 + n]), uncompressed_size=LZ4_LEGACY_BLOCK))
        pos += 4 + n


def _zstd(data, sink, name):
    import zstandard

    dec = zstandard.ZstdDecompressor(max_window_size=1 << 31).decompressobj()
    buf = bytes(data)
    # decompressobj has no output bound: feed 1 KiB at a time, so that one
    # call yields at most ~32 MiB (an RLE block: 4 bytes for 128 KiB);
    # MAX_OUTPUT is checked after every call
    step = 1024
    for i in range(0, len(buf), step):
        sink.write(dec.decompress(buf[i:i + step]))
        if dec.eof:
            return
    raise InputError(f"{name}: zstd payload ends early (truncated)")


def _lzo(data, sink, name):
    from .lzo import lzop_decompress

    lzop_decompress(data, sink, name)


_DECODERS = {"gzip": _gzip, "bzip2": _bzip2, "lzma": _lzma, "xz": _xz, "lz4": _lz4, "zstd": _zstd, "lzo": _lzo}
