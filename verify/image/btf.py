"""A small reader for BTF, the kernel's compact type format (`.BTF` section).

Only what the image layer asks: "offset of member X of struct S", following
typedef/const/volatile/restrict/type_tag and descending into anonymous struct
and union members (6.12's `pt_regs.cs` sits in an anonymous union with `__csh`).

Format: Documentation/bpf/btf.rst and include/uapi/linux/btf.h (stable since
5.x; ENUM64 and the kind numbers 17-19 added in 5.16-6.0):

    struct btf_header { u16 magic=0xeB9F; u8 version; u8 flags; u32 hdr_len;
                        u32 type_off; u32 type_len; u32 str_off; u32 str_len; }
    struct btf_type   { u32 name_off; u32 info; u32 size_or_type; }  + kind data
    info: vlen = bits 0-15, kind = bits 24-28, kind_flag = bit 31
    struct btf_member { u32 name_off; u32 type; u32 offset; }
      offset is in bits; with kind_flag set, bits 0-23 are the bit offset and
      bits 24-31 the bitfield size.

pahole writes one blob into vmlinux.  gcc 12 `-gbtf` writes one blob per object
file; `ld` concatenates the `.BTF` sections of a linked fixture, so a section
may hold several blobs, each with its own type ids and strings: each blob is
searched in turn.

Parsing is lazy: one pass records the offset of every type (ids are the
position, 1-based), and a type's members are decoded only when asked for.  The
6.1 Debian vmlinux has ~110k types in 4 MB; the pass takes ~0.1 s.
"""
from __future__ import annotations

import struct

from ..errors import InputError

BTF_MAGIC = 0xEB9F

KIND_INT, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_FWD = 1, 2, 3, 4, 5, 6, 7
KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_FUNC, KIND_FUNC_PROTO = 8, 9, 10, 11, 12, 13
KIND_VAR, KIND_DATASEC, KIND_FLOAT, KIND_DECL_TAG, KIND_TYPE_TAG, KIND_ENUM64 = 14, 15, 16, 17, 18, 19

# Bytes that follow the 12-byte btf_type, as (fixed, per vlen item).
_EXTRA = {
    KIND_INT: (4, 0), KIND_PTR: (0, 0), KIND_ARRAY: (12, 0), KIND_STRUCT: (0, 12), KIND_UNION: (0, 12),
    KIND_ENUM: (0, 8), KIND_FWD: (0, 0), KIND_TYPEDEF: (0, 0), KIND_VOLATILE: (0, 0), KIND_CONST: (0, 0),
    KIND_RESTRICT: (0, 0), KIND_FUNC: (0, 0), KIND_FUNC_PROTO: (0, 8), KIND_VAR: (4, 0),
    KIND_DATASEC: (0, 12), KIND_FLOAT: (0, 0), KIND_DECL_TAG: (4, 0), KIND_TYPE_TAG: (0, 0),
    KIND_ENUM64: (0, 12),
}
_MODIFIERS = (KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG)


class BtfError(InputError):
    pass


class _Blob:
    """One BTF blob: header, type offsets, strings."""

    def __init__(self, data: bytes, base: int):
        if len(data) - base < 24:
            raise BtfError("BTF: truncated header")
        magic, version, _flags, hdr_len = struct.unpack_from("<HBBI", data, base)
        if magic != BTF_MAGIC:
            raise BtfError(f"BTF: bad magic {magic:#x} (big-endian BTF is not supported)")
        type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", data, base + 8)
        self.data = data
        self.types_start = base + hdr_len + type_off
        self.types_end = self.types_start + type_len
        self.strs_start = base + hdr_len + str_off
        self.strs_end = self.strs_start + str_len
        self.end = max(self.types_end, self.strs_end)
        if self.end > len(data):
            raise BtfError("BTF: section truncated")
        self._offsets: list[int] | None = None
        self._by_name: dict[tuple[int, int], list[int]] | None = None
        self._found: dict[tuple[int, str], int | None] = {}

    def string(self, off: int) -> str:
        start = self.strs_start + off
        end = self.data.find(b"\0", start, self.strs_end)
        return self.data[start:end].decode("utf-8", "replace")

    def string_offsets(self, name: str) -> set[int]:
        """Offsets of `name` in the string section: pahole deduplicates
        strings, gcc may not, so every occurrence counts."""
        needle = b"\0" + name.encode() + b"\0"
        out = set()
        if self.data[self.strs_start : self.strs_start + len(needle) - 1] == needle[1:]:
            out.add(0)
        i = self.data.find(needle, self.strs_start, self.strs_end)
        while i >= 0:
            out.add(i + 1 - self.strs_start)
            i = self.data.find(needle, i + 1, self.strs_end)
        return out

    @property
    def offsets(self) -> list[int]:
        if self._offsets is None:
            offs = [0]  # id 0 is void
            data, pos, end = self.data, self.types_start, self.types_end
            unpack = struct.Struct("<I").unpack_from
            extra = _EXTRA
            try:
                while pos < end:
                    offs.append(pos)
                    info = unpack(data, pos + 4)[0]
                    fixed, per = extra[(info >> 24) & 0x1F]
                    pos += 12 + fixed + per * (info & 0xFFFF)
            except KeyError:
                raise BtfError(f"BTF: unknown type kind at offset {pos - self.types_start:#x}") from None
            self._offsets = offs
        return self._offsets

    def header(self, tid: int) -> tuple[int, int, int, bool, int]:
        """(name_off, kind, vlen, kind_flag, size_or_type)"""
        offs = self.offsets
        if not 0 <= tid < len(offs):
            # a member or modifier naming a type the blob does not have
            raise BtfError(f"BTF: type id {tid} out of range (the blob has {len(offs)} types)")
        try:
            name_off, info, st = struct.unpack_from("<III", self.data, offs[tid])
        except struct.error:
            raise BtfError(f"BTF: type {tid} runs past the end of the section") from None
        return name_off, (info >> 24) & 0x1F, info & 0xFFFF, bool(info >> 31), st

    def _aggregates(self) -> dict[int, list[int]]:
        """name_off -> ids of structs and unions with that name (one pass)."""
        if self._by_name is None:
            idx: dict[int, list[int]] = {}
            data = self.data
            unpack = struct.Struct("<II").unpack_from
            for tid, off in enumerate(self.offsets):
                if tid == 0:
                    continue
                name_off, info = unpack(data, off)
                if name_off and (info >> 24) & 0x1F in (KIND_STRUCT, KIND_UNION):
                    idx.setdefault(name_off, []).append(tid)
            self._by_name = idx
        return self._by_name

    def find(self, kind: int, name: str) -> int | None:
        """Type id of the first struct/union called `name` that has members
        (memoised: each lookup scans the string section)."""
        key = (kind, name)
        if key not in self._found:
            self._found[key] = self._find(kind, name)
        return self._found[key]

    def _find(self, kind: int, name: str) -> int | None:
        idx = self._aggregates()
        hits = sorted(t for soff in self.string_offsets(name) for t in idx.get(soff, ()))
        for tid in hits:
            _n, k, vlen, _kf, _s = self.header(tid)
            if k == kind and vlen:
                return tid
        return None

    def resolve(self, tid: int) -> int:
        for _ in range(64):
            if tid == 0:
                return 0
            _n, kind, _v, _kf, st = self.header(tid)
            if kind not in _MODIFIERS:
                return tid
            tid = st
        raise BtfError("BTF: modifier chain too long")

    def members(self, tid: int):
        """[(name, type_id, bit_offset)] of a struct or union."""
        name_off, kind, vlen, kflag, _size = self.header(tid)
        if kind not in (KIND_STRUCT, KIND_UNION):
            raise BtfError(f"BTF: type {tid} is not a struct or union")
        base = self.offsets[tid] + 12
        out = []
        for i in range(vlen):
            m_name, m_type, m_off = struct.unpack_from("<III", self.data, base + 12 * i)
            if kflag:
                m_off &= 0xFFFFFF
            out.append((self.string(m_name) if m_name else "", m_type, m_off))
        return out


class Btf:
    """All the blobs of one `.BTF` section."""

    def __init__(self, data: bytes):
        self.blobs: list[_Blob] = []
        pos = 0
        while pos + 24 <= len(data):
            if struct.unpack_from("<H", data, pos)[0] != BTF_MAGIC:
                # ld may align concatenated input sections: skip zero padding.
                if data[pos] == 0:
                    pos += 1
                    continue
                break
            blob = _Blob(data, pos)
            self.blobs.append(blob)
            pos = blob.end
        if not self.blobs:
            raise BtfError("BTF: no BTF data in .BTF section")

    def function_arguments(self, name: str) -> int | None:
        """How many of the six integer argument registers (rdi, rsi, rdx,
        rcx, r8, r9) function `name`'s prototype uses, when it takes integers
        and pointers only, all in registers (System V AMD64 ABI 3.2.3: each
        such argument is one register, in order); None when BTF does not
        describe it so (no FUNC of that name; a struct, union, float or
        128-bit argument; variadic; more than six).  pahole describes a
        function only when every compiled copy keeps the declared prototype
        (a clone whose arguments the compiler changed is renamed: .constprop,
        .isra, .part)."""
        return self._function(name)[0]

    def function_returns_word(self, name: str) -> bool | None:
        """Whether function `name` returns a 64-bit value in RAX (a pointer
        or a 64-bit integer), per its BTF prototype; None when not described.
        A function returning void or a narrower value leaves nothing its
        compiled callers read as a pointer in RAX."""
        return self._function(name)[1]

    def function_return_registers(self, name: str) -> tuple | None:
        """The integer registers function `name` returns its value in, per
        its BTF prototype (System V AMD64 ABI 3.2.3: a pointer or integer of
        up to 8 bytes, or a struct/union of up to 8, in RAX; one of 9 to 16
        bytes in RAX:RDX; void, or a struct returned in memory: none); None
        when not described (no FUNC, `void f(void)`, an unreadable type).
        Narrower than 8 bytes counts as none: no pointer fits."""
        head = self._prototype_header(name)
        if head is None:
            return None
        blob, pk, vlen, ret = head
        try:
            if pk != KIND_FUNC_PROTO:
                return None
            if ret == 0:
                return None if vlen == 0 else ()
            t = blob.resolve(ret)
            _tn, tk, _tv, _tkf, tsize = blob.header(t)
            if tk == KIND_PTR:
                return ("rax",)
            if tk in (KIND_INT, KIND_ENUM, KIND_ENUM64, KIND_STRUCT, KIND_UNION):
                if tsize < 8 or tsize > 16:
                    return ()
                return ("rax",) if tsize == 8 else ("rax", "rdx")
            return ()  # float: SSE registers
        except (BtfError, struct.error, IndexError):
            return None

    def function_described(self, name: str) -> bool:
        """Whether BTF has a prototype for function `name` that describes
        compiled C code: a FUNC of that name whose FUNC_PROTO is not `void
        f(void)` (pahole's placeholder for an assembly function, whose DWARF
        has no prototype).  A described function reads the argument
        registers its prototype declares (a variadic one: those its fixed
        arguments tell it of)."""
        head = self._prototype_header(name)
        if head is None:
            return False
        _blob, pk, vlen, ret = head
        return pk == KIND_FUNC_PROTO and not (vlen == 0 and ret == 0)

    def _prototype_header(self, name: str) -> tuple | None:
        """(blob, kind, vlen, return type) of the type the first FUNC called
        `name` points at (its FUNC_PROTO), or None (no such FUNC, or an
        unreadable type)."""
        self._function(name)
        hit = self._funcs.get(name)
        if hit is None:
            return None
        blob, off = hit
        try:
            proto = struct.unpack_from("<I", blob.data, off + 8)[0]
            _pn, pk, vlen, _kf, ret = blob.header(proto)
        except (BtfError, struct.error, IndexError):
            return None
        return blob, pk, vlen, ret

    def _function(self, name: str) -> tuple:
        """(argument registers, returns a word) of the first FUNC called
        `name` (every FUNC's name read once, on the first call)."""
        if getattr(self, "_funcs", None) is None:
            funcs: dict[str, tuple] = {}
            unpack = struct.Struct("<II").unpack_from
            for blob in self.blobs:
                data = blob.data
                for off in blob.offsets[1:]:
                    name_off, info = unpack(data, off)
                    if (info >> 24) & 0x1F == KIND_FUNC and name_off:
                        funcs.setdefault(blob.string(name_off), (blob, off))
            self._funcs = funcs
            self._func_names: dict[str, tuple] = {}
        if name in self._func_names:
            return self._func_names[name]
        out = (None, None)
        hit = self._funcs.get(name)
        if hit is not None:
            blob, off = hit
            proto = struct.unpack_from("<I", blob.data, off + 8)[0]
            # (`void f(void)` is also what pahole writes for an assembly
            # function, whose DWARF has no prototype: 6.1's memcpy; the
            # prover checks a prototype against the code)
            out = (_register_arguments(blob, proto), _returns_word(blob, proto))
        self._func_names[name] = out
        return out

    def struct_size(self, name: str, kind: int = KIND_STRUCT) -> int | None:
        for blob in self.blobs:
            tid = blob.find(kind, name)
            if tid is not None:
                return blob.header(tid)[4]
        return None

    def offsetof(self, struct_name: str, path: str, kind: int = KIND_STRUCT) -> int | None:
        """Byte offset of member `path` ("a.b.c") in `struct struct_name`,
        or None if the struct or member is not described."""
        for blob in self.blobs:
            tid = blob.find(kind, struct_name)
            if tid is None:
                continue
            bits = _member_path(blob, tid, path.split("."))
            if bits is not None:
                return bits // 8
        return None

    def member_type_name(self, struct_name: str, path: str, kind: int = KIND_STRUCT) -> str | None:
        """Name of the (modifier-resolved) type of member `path` ("a.b") of
        `struct struct_name` (for `paravirt_patch_template`, "lock.queued_spin_unlock"
        -> "paravirt_callee_save"), or None if not described."""
        for blob in self.blobs:
            tid = blob.find(kind, struct_name)
            if tid is None:
                continue
            try:
                for part in path.split("."):
                    tid = blob.resolve(tid)
                    hit = [m for m in blob.members(tid) if m[0] == part]
                    if len(hit) != 1:
                        return None
                    tid = hit[0][1]
                tid = blob.resolve(tid)
                name_off = blob.header(tid)[0]
                return blob.string(name_off) if name_off else None
            except (BtfError, struct.error, IndexError):
                return None
        return None

    def member_at(self, struct_name: str, byte_offset: int, kind: int = KIND_STRUCT) -> str | None:
        """Dotted name of the innermost named member at `byte_offset`
        (for `struct paravirt_patch_template`: 0x100 -> 'irq.save_fl')."""
        for blob in self.blobs:
            tid = blob.find(kind, struct_name)
            if tid is None:
                continue
            return _name_at(blob, tid, byte_offset * 8)
        return None


def _register_arguments(blob: _Blob, proto: int) -> int | None:
    """Argument registers a FUNC_PROTO uses (see Btf.function_arguments)."""
    try:
        _pn, pk, vlen, _kf, _ret = blob.header(proto)
        if pk != KIND_FUNC_PROTO or vlen > 6:
            return None
        base = blob.offsets[proto] + 12
        for i in range(vlen):
            _an, atype = struct.unpack_from("<II", blob.data, base + 8 * i)
            if atype == 0:  # `...`
                return None
            t = blob.resolve(atype)
            _tn, tk, _tv, _tkf, tsize = blob.header(t)
            if not (tk == KIND_PTR or (tk in (KIND_INT, KIND_ENUM, KIND_ENUM64) and tsize <= 8)):
                return None
    except (BtfError, struct.error, IndexError):
        return None
    return vlen


def _returns_word(blob: _Blob, proto: int) -> bool | None:
    try:
        _pn, pk, vlen, _kf, ret = blob.header(proto)
        if pk != KIND_FUNC_PROTO:
            return None
        if ret == 0:
            # void; but `void f(void)` is also pahole's placeholder for an
            # assembly function (6.1's memcpy, which returns its
            # destination): not a description of what it returns
            return None if vlen == 0 else False
        t = blob.resolve(ret)
        _tn, tk, _tv, _tkf, tsize = blob.header(t)
        return tk == KIND_PTR or (tk in (KIND_INT, KIND_ENUM, KIND_ENUM64) and tsize == 8)
    except (BtfError, struct.error, IndexError):
        return None


def _member_path(blob: _Blob, tid: int, parts: list[str]) -> int | None:
    tid = blob.resolve(tid)
    if not parts:
        return 0
    want = parts[0]
    for name, m_type, m_off in blob.members(tid):
        if name == want:
            rest = _member_path(blob, m_type, parts[1:]) if len(parts) > 1 else 0
            return None if rest is None else m_off + rest
        if not name:
            # Anonymous struct/union: its members belong to the enclosing scope (C11).
            inner = blob.resolve(m_type)
            if blob.header(inner)[1] in (KIND_STRUCT, KIND_UNION):
                hit = _member_path(blob, inner, parts)
                if hit is not None:
                    return m_off + hit
    return None


def _name_at(blob: _Blob, tid: int, bit: int) -> str | None:
    tid = blob.resolve(tid)
    _n, kind, _v, _kf, _s = blob.header(tid)
    if kind not in (KIND_STRUCT, KIND_UNION):
        return None
    members = blob.members(tid)
    best = None
    for i, (name, m_type, m_off) in enumerate(members):
        inner = blob.resolve(m_type)
        size = blob.header(inner)[4] * 8 if blob.header(inner)[1] in (KIND_STRUCT, KIND_UNION, KIND_INT, KIND_PTR, KIND_ENUM, KIND_ENUM64) else 64
        if blob.header(inner)[1] == KIND_PTR:
            size = 64
        if m_off <= bit < m_off + size:
            sub = _name_at(blob, m_type, bit - m_off)
            if name:
                best = f"{name}.{sub}" if sub else name
            else:
                best = sub
            break
    return best
