"""Symbols from the kallsyms tables inside a kernel image that has no symbol
table (the vmlinux inside a bzImage is stripped).

The tables are written by scripts/kallsyms.c into .rodata, each label
8-aligned (`ALGN`), and read by kernel/kallsyms.c:

- `kallsyms_num_syms`   the symbol count (a u32, or an 8-byte PTR before 6.4;
                        either way 8 bytes before the names)
- `kallsyms_names`      per symbol: its length (ULEB128, one byte, two for
                        "big" symbols since 6.1) and that many token indices;
                        the expanded name's first character is its type letter
- `kallsyms_markers`    the offset in `kallsyms_names` of every 256th symbol
                        (u32 since 6.4 and in Debian's 6.1 backports; PTR before)
- `kallsyms_token_table` 256 NUL-terminated strings, `kallsyms_token_index`
                        256 u16 offsets into it
- `kallsyms_offsets`    one s32 per symbol, with `kallsyms_relative_base`
                        (KALLSYMS_BASE_RELATIVE): address = base + (u32)off, or
                        with KALLSYMS_ABSOLUTE_PERCPU (x86-64 SMP before 6.15):
                        off >= 0 is the absolute (per-CPU) value, off < 0 means
                        base - 1 - off
- `kallsyms_seqs_of_names` (6.2+, backported to Debian's 6.1): not needed here.

The order differs: Debian 6.1 has offsets, relative_base, num_syms, names,
markers, seqs_of_names, token_table, token_index; 6.12 has num_syms, names,
markers, token_table, token_index, offsets, relative_base, seqs_of_names.
Nothing here knows a label's address (the image is stripped): the token table
is found by its structure (the single-digit tokens "0".."9" at indices
48..57, every string where the index after it says), the markers by being an
8-aligned run of increasing offsets before it, the names by a count 8 bytes
before them whose stream parses to exactly those markers, and the offsets in
whichever of the two places holds a kernel-address base and sorted addresses.
Every step is validated; anything else is an InputError.

kallsyms has no symbol sizes: the SymbolTable built here has size 0 (unknown)
for every symbol, like a System.map's.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import InputError

KERNEL_MIN = 0xFFFFFFFF80000000
_DIGITS = b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00"
_MAX_SYMS = 1 << 23
# KSYM_NAME_LEN is 512 (6.1+; 128 before): a name compresses to at most that
# many tokens, plus a two-byte length
_MAX_ENTRY = 2 + 512
# how far before the token table the markers may lie (seqs_of_names, 3 bytes
# per symbol, may sit between them)
_MARKER_WINDOW = 3 * _MAX_SYMS + (1 << 20)


@dataclass
class Kallsyms:
    entries: list  # (addr, name, type letter), in kallsyms (address) order
    layout: str  # "6.12" (tables after the token index) or "6.1" (before num_syms)
    absolute_percpu: bool
    tables: dict  # label -> virtual address, for inspect and tests


def _align8(x: int) -> int:
    return (x + 7) & ~7


def read_kallsyms(elf, name: str | None = None) -> Kallsyms:
    """Parse the kallsyms tables of an ElfImage."""
    name = name or elf.path
    ro = elf.section(".rodata")
    if ro is None or not ro.has_bits:
        raise InputError(f"{name}: no .rodata: cannot look for kallsyms")
    return parse_rodata(elf.section_bytes(".rodata"), ro.addr, name)


def parse_rodata(data: bytes, base_addr: int, name: str) -> Kallsyms:
    """The kallsyms tables in `data`, a section loaded at base_addr."""
    try:
        return _parse(data, base_addr, name)
    except (struct.error, IndexError, ValueError, OverflowError) as e:
        raise InputError(f"{name}: malformed kallsyms tables: {e}") from None


def _parse(data: bytes, base_addr: int, name: str) -> Kallsyms:
    if base_addr % 8:
        raise InputError(f"{name}: .rodata is not 8-aligned: cannot find kallsyms")
    tried = tables = 0
    pos = data.find(_DIGITS)
    # bounded work on any input: a few hundred digit runs, a few token tables
    while pos >= 0 and tried < 256 and tables < 4:
        tried += 1
        tok = _token_table_at(data, pos)
        if tok is not None:
            tables += 1
            t, i, tokens = tok
            found = _names_before(data, t)
            if found is not None:
                n, names_at, markers_at, mwidth, names = found
                offs = _offsets(data, t, i, n, names_at)
                if offs is not None:
                    layout, offsets_at, rel_base, addrs, absolute = offs
                    entries = _expand(names, tokens, addrs)
                    tables = {"kallsyms_num_syms": names_at - 8, "kallsyms_names": names_at,
                              "kallsyms_markers": markers_at, "kallsyms_token_table": t,
                              "kallsyms_token_index": i, "kallsyms_offsets": offsets_at,
                              "kallsyms_relative_base": rel_base}
                    return Kallsyms(entries, layout, absolute, {k: base_addr + v for k, v in tables.items()})
        pos = data.find(_DIGITS, pos + 1)
    raise InputError(f"{name}: no kallsyms tables found (a kernel built without CONFIG_KALLSYMS?): "
                     "pass --system-map FILE")


def _token_table_at(data: bytes, d: int):
    """(token_table, token_index, tokens) if the digit run at d is tokens
    48..57 of a token table followed by its index."""
    p = d
    for _ in range(48, 256):
        z = data.find(b"\0", p)
        if z < 0 or z - p > 64:
            return None
        p = z + 1
    i = _align8(p)
    if i + 512 > len(data):
        return None
    idx = struct.unpack_from("<256H", data, i)
    t = d - idx[48]
    if idx[0] != 0 or t < 0 or t % 8 or t + idx[255] >= p:
        return None
    tokens = []
    for k in range(256):
        a = t + idx[k]
        b = t + idx[k + 1] - 1 if k < 255 else p - 1
        if b < a or data[b] != 0 or data.find(b"\0", a, b) >= 0:
            return None
        tokens.append(data[a:b].decode("latin-1"))
    if "".join(tokens[48:58]) != "0123456789":
        return None
    return t, i, tokens


def _names_before(data: bytes, t: int):
    """Find the markers (an 8-aligned run of increasing offsets starting at
    0) before the token table at t, then the names whose count 8 bytes before
    them and whose stream parse to exactly those markers."""
    lo = max(0, t - _MARKER_WINDOW) & ~7
    for width, fmt in ((4, "<I"), (8, "<Q")):
        count = (t - lo) // width
        vals = struct.unpack_from(f"<{count}{fmt[1]}", data, lo)
        step = 8 // width
        candidates = 0
        # candidates nearest the token table first (on Debian's kernels the
        # first one is right); at most 64 are tried
        for k in range(len(vals) - 2 - (len(vals) - 2) % step, -1, -step):
            if vals[k] != 0:
                continue
            run = [0]
            j = k + 1
            while j < len(vals) and 256 <= vals[j] - run[-1] <= 256 * _MAX_ENTRY:
                run.append(vals[j])
                j += 1
            ms = lo + k * width
            # a single marker (at most 256 symbols) is just a zero: only
            # where the token table (or seqs_of_names, 3 bytes a symbol) is next
            if len(run) == 1 and t - ms > 8 + 3 * 256 + 16:
                continue
            candidates += 1
            if candidates > 64:
                break
            for c in (len(run), len(run) - 1):
                if c < 1:
                    continue
                hit = _names_for_markers(data, ms, run[:c])
                if hit is not None:
                    n, names_at, names = hit
                    return n, names_at, ms, width, names
    return None


def _names_for_markers(data: bytes, ms: int, markers: list):
    c = len(markers)
    last = markers[-1]
    top = (ms - last) & ~7
    for nat in range(top, max(7, top - 256 * _MAX_ENTRY - 8), -8):
        n = struct.unpack_from("<Q", data, nat - 8)[0]
        if not 256 * (c - 1) < n <= 256 * c:
            continue
        names = _parse_names(data, nat, n, markers, ms)
        if names is not None:
            return n, nat, names
    return None


def _parse_names(data: bytes, start: int, n: int, markers: list, ms: int):
    """[(bytes of token indices)] for n names from start, or None unless every
    256th name starts at its marker and the stream ends just before ms."""
    out = []
    p = start
    end = ms
    for k in range(n):
        if not k & 0xFF and p - start != markers[k >> 8]:
            return None
        if p >= end:
            return None
        ln = data[p]
        if ln & 0x80:
            ln = (ln & 0x7F) | (data[p + 1] << 7)
            p += 2
        else:
            p += 1
        if ln == 0 or p + ln > end:
            return None
        out.append(data[p:p + ln])
        p += ln
    if _align8(p) != ms:
        return None
    return out


def _offsets(data: bytes, t: int, i: int, n: int, names_at: int):
    """(layout, offsets_at, relative_base_at, addresses, absolute_percpu)."""
    for layout, off_at, base_at in (("6.12", _align8(i + 512), _align8(i + 512) + _align8(4 * n)),
                                    ("6.1", names_at - 16 - _align8(4 * n), names_at - 16)):
        if off_at < 0 or base_at + 8 > len(data):
            continue
        (base,) = struct.unpack_from("<Q", data, base_at)
        if base < KERNEL_MIN:
            continue
        offs = struct.unpack_from(f"<{n}i", data, off_at)
        absolute = min(offs) < 0
        if absolute:
            addrs = [o if o >= 0 else base - 1 - o for o in offs]
        else:
            addrs = [base + (o & 0xFFFFFFFF) for o in offs]
        if all(a <= b for a, b in zip(addrs, addrs[1:])) and addrs[-1] >= KERNEL_MIN:
            return layout, off_at, base_at, addrs, absolute
    return None


def _expand(names: list, tokens: list, addrs: list) -> list:
    tok = tokens.__getitem__
    out = []
    for raw, addr in zip(names, addrs):
        s = "".join(map(tok, raw))
        out.append((addr, s[1:], s[:1]))
    return out


def symbol_table(k: Kallsyms, source: str):
    """A SymbolTable (sizes unknown: 0) from parsed kallsyms."""
    from .elf import SymbolTable

    return SymbolTable([(a, 0, n, t.upper()) for a, n, t in k.entries if n], source)
