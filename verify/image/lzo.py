"""LZO payloads of a bzImage (CONFIG_KERNEL_LZO): the lzop container with
LZO1X blocks.

python-lzo (the binding) has no wheel on PyPI and builds only with liblzo2's
headers installed, so the decoder is here, written from the format described
in Linux's Documentation/staging/lzo.rst (bitstream version 0, what `lzop -9`
writes; the zero-run extension of version 1 is used by zram only and is
refused).  The container is lzop's, as lib/decompress_unlzo.c reads it: a
header, then blocks of (uncompressed length, compressed length, checksums,
data), a zero length ending the stream; a block stored uncompressed has both
lengths equal.  Checksums present in the flags are verified.

Pure Python: about 1-2 s per 10 MB of output, which is why no distribution
kernel uses LZO and why this is fine.
"""
from __future__ import annotations

import re
import struct
import zlib

from ..errors import InputError

LZOP_MAGIC = b"\x89LZO\x00\r\n\x1a\n"
F_ADLER32_D, F_ADLER32_C, F_H_FILTER, F_CRC32_D, F_CRC32_C = 0x1, 0x2, 0x800, 0x100, 0x200
BLOCK_MAX = 64 << 20  # lzop writes 256 KiB blocks; -9 at most a few MiB
_NONZERO = re.compile(rb"[^\x00]")


class LzoError(ValueError):
    pass


def lzop_decompress(data, sink, name: str) -> None:
    data = bytes(data)
    try:
        _lzop(data, sink)
    except LzoError as e:
        raise InputError(f"{name}: corrupt lzo payload: {e}") from None
    except (IndexError, struct.error):
        raise InputError(f"{name}: corrupt lzo payload: truncated") from None


def _lzop(data: bytes, sink) -> None:
    if data[:9] != LZOP_MAGIC:
        raise LzoError("no lzop magic")
    p = 9
    version, _lib = struct.unpack_from(">HH", data, p)
    p += 4
    if version >= 0x0940:
        p += 2  # version needed to extract
    method = data[p]
    p += 1
    if version >= 0x0940:
        p += 1  # level
    if method not in (1, 2, 3):  # M_LZO1X_1, M_LZO1X_1_15, M_LZO1X_999
        raise LzoError(f"method {method} is not LZO1X")
    (flags,) = struct.unpack_from(">I", data, p)
    p += 4
    if flags & F_H_FILTER:
        p += 4
    p += 8  # mode, mtime_low
    if version >= 0x0940:
        p += 4  # mtime_high
    p += 1 + data[p] + 4  # file name, header checksum
    nd = bool(flags & F_ADLER32_D) + bool(flags & F_CRC32_D)
    nc = bool(flags & F_ADLER32_C) + bool(flags & F_CRC32_C)
    while True:
        (dst_len,) = struct.unpack_from(">I", data, p)
        p += 4
        if dst_len == 0:
            return
        (src_len,) = struct.unpack_from(">I", data, p)
        p += 4
        if dst_len > BLOCK_MAX or not 0 < src_len <= dst_len:
            raise LzoError(f"block lengths {src_len}/{dst_len} are invalid")
        sums_d = struct.unpack_from(f">{nd}I", data, p)
        p += 4 * nd
        if src_len < dst_len:
            p += 4 * nc
        block = data[p:p + src_len]
        if len(block) != src_len:
            raise LzoError("truncated")
        p += src_len
        out = block if src_len == dst_len else lzo1x_decompress(block, dst_len)
        i = 0
        if flags & F_ADLER32_D:
            if zlib.adler32(out) != sums_d[i]:
                raise LzoError("block checksum (adler32) mismatch")
            i += 1
        if flags & F_CRC32_D and zlib.crc32(out) != sums_d[i]:
            raise LzoError("block checksum (crc32) mismatch")
        sink.write(out)


def lzo1x_decompress(src: bytes, dst_len: int) -> bytes:
    """One LZO1X block (bitstream version 0) of exactly dst_len bytes."""
    out = bytearray()
    n = len(src)
    if n < 3:
        raise LzoError("block too short")

    def run_length(ip: int, base: int) -> tuple[int, int]:
        # "length = base + 255 * (number of zero bytes) + first non-zero byte"
        m = _NONZERO.search(src, ip)
        if m is None:
            raise LzoError("length runs past the block")
        z = m.start()
        return base + 255 * (z - ip) + src[z], z + 1

    def literals(ip: int, k: int) -> int:
        if ip + k > n:
            raise LzoError("literal run overruns the block")
        out.extend(src[ip:ip + k])
        return ip + k

    ip = 0
    state = 0
    t = src[0]
    if t == 17 and n >= 5:
        raise LzoError("LZO-RLE bitstream (version 1) is not a kernel payload format")
    if t > 17:
        ip = literals(1, t - 17)
        state = t - 17 if t - 17 < 4 else 4
    while True:
        t = src[ip]
        ip += 1
        if t < 16:
            if state == 0:  # 0000LLLL: a literal run of 4 or more
                length = t
                if not length:
                    length, ip = run_length(ip, 15)
                ip = literals(ip, length + 3)
                state = 4
                if len(out) > dst_len:
                    raise LzoError("output overrun")
                continue
            h = src[ip]
            ip += 1
            if state < 4:  # 0000DDSS HHHHHHHH: 2 bytes, distance <= 1 KiB
                dist, length = (h << 2) + (t >> 2) + 1, 2
            else:  # 3 bytes at 2..3 KiB
                dist, length = (h << 2) + (t >> 2) + 2049, 3
            s = t & 3
        elif t >= 64:  # 01LDDDSS / 1LLDDDSS HHHHHHHH
            h = src[ip]
            ip += 1
            dist, length, s = (h << 3) + ((t >> 2) & 7) + 1, (t >> 5) + 1, t & 3
        elif t >= 32:  # 001LLLLL, LE16 DDDDDDDDDDDDDDSS
            length = t & 31
            if not length:
                length, ip = run_length(ip, 31)
            length += 2
            (v,) = struct.unpack_from("<H", src, ip)
            ip += 2
            dist, s = (v >> 2) + 1, v & 3
        else:  # 0001HLLL, LE16: 16..48 KiB, or the end of the stream
            length = t & 7
            if not length:
                length, ip = run_length(ip, 7)
            length += 2
            (v,) = struct.unpack_from("<H", src, ip)
            ip += 2
            dist, s = 16384 + ((t & 8) << 11) + (v >> 2), v & 3
            if dist == 16384:
                if length != 3:
                    raise LzoError("malformed end of stream")
                if ip != n:
                    raise LzoError("data after the end of the stream")
                if len(out) != dst_len:
                    raise LzoError(f"block decodes to {len(out)} bytes, not {dst_len}")
                return bytes(out)
        start = len(out) - dist
        if start < 0:
            raise LzoError("match before the start of the output")
        if len(out) + length > dst_len:  # before copying: a length can claim gigabytes
            raise LzoError("output overrun")
        if dist >= length:
            out.extend(out[start:start + length])
        else:  # overlapping: the last `dist` bytes repeat
            pattern = out[start:]
            out.extend((pattern * (length // dist + 1))[:length])
        if s:
            ip = literals(ip, s)
        state = s
        if len(out) > dst_len:
            raise LzoError("output overrun")
