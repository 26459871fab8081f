"""Layer 6, reports: SARIF 2.1.0, JUnit XML and HTML.

    render(result, fmt, image=None, baseline=None) -> str

`result` is a CheckResult (fresh from the engine or rebuilt by verify.cache).
`image` gives the bytes for the HTML disassembly and the DWARF for source
lines: a KernelImage/ElfImage, a path, or None to reopen `result.image_path`
(used only when its build id matches the result's).  Without an image the
reports are complete except for disassembly and source lines.
`baseline` (verify.baseline.Baseline) marks accepted findings: SARIF
`suppressions`, JUnit `<skipped>`, an "accepted" badge in HTML.

Nothing here imports angr; capstone and networkx are imported only for HTML.
"""
from __future__ import annotations

import bisect
import html as _html
import io
import json
import mmap
import os
import re
import struct
import xml.etree.ElementTree as ET

from . import __version__
from .baseline import FINGERPRINT_KEY, fingerprints, site_function
from .finding import INCONCLUSIVE, PROVEN, VIOLATED, CheckResult, Finding

FORMATS = ("sarif", "junit", "html")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# SARIF addresses are JSON integers that consumers read as signed 64-bit:
# a kernel address (>= 2^63) does not fit.  Locations give the address
# relative to __START_KERNEL_map (x86-64's kernel text mapping base) and the
# full address as text in `name`.
KERNEL_MAP_BASE = 0xFFFFFFFF80000000
# GitHub code scanning's severity (CVSS-like, 0-10) per obligation: each
# violation lets a user run code in ring 0 (SYSRET faulting on the user's
# stack, or returning with kernel-chosen state), except a stale TS_COMPAT
# (wrong syscall ABI decisions for the task).
SECURITY_SEVERITY = {"rcx-is-rip": "8.8", "canonical-rip": "9.3", "r11-is-rflags": "7.8",
                     "rflags-no-rf-tf": "7.8", "user-cs-ss": "8.8", "ts-compat-clear": "5.5"}

# One SARIF rule per obligation (ids are verify.obligations.OBLIGATION_IDS, in
# that order; tests/test_reports.py checks they agree).  The longer story of
# each, with the fix, is docs/CATALOGUE.md.
RULES: tuple[dict, ...] = (
    {"id": "rcx-is-rip", "cves": ["CVE-2006-0744", "CVE-2014-4699"],
     "short": "RCX equals the saved pt_regs->ip at SYSRET",
     "full": "SYSRET loads RIP from RCX. Unless RCX equals the saved user instruction pointer "
             "(pt_regs->ip), the user resumes somewhere other than where ptrace, a signal or sigreturn "
             "said, and a value the kernel never checked becomes the new RIP.",
     "help": "Every path to SYSRET must compare the RCX it will use with pt_regs->ip and take the IRET "
             "path when they differ (Linux 4.15+: `cmp %rcx,%r11; jne swapgs_restore_regs_and_return_to_usermode`; "
             "6.7+: `regs->cx != regs->ip` in do_syscall_64). See docs/CATALOGUE.md#rcx-is-rip."},
    {"id": "canonical-rip", "cves": ["CVE-2012-0217", "CVE-2014-4699"],
     "short": "RCX is canonical for the paging mode at SYSRET",
     "full": "On Intel CPUs SYSRET with a non-canonical RCX raises #GP in ring 0 after the user's RSP and "
             "GS are already loaded: the fault handler runs on a user-controlled stack (CVE-2012-0217). "
             "RCX must be canonical for the variant's paging mode (48-bit, or 57-bit with LA57).",
     "help": "Check the saved RIP before choosing SYSRET (`shl/sar $16` or `$7` under LA57 and compare, or "
             "`ip >= TASK_SIZE_MAX`) and use IRET otherwise; a 5-level kernel must not accept 57-bit "
             "addresses while running 4-level. See docs/CATALOGUE.md#canonical-rip."},
    {"id": "r11-is-rflags", "cves": ["CVE-2014-4699"],
     "short": "R11 equals the saved pt_regs->flags at SYSRET",
     "full": "SYSRET loads RFLAGS from R11. Unless R11 equals the saved user flags (pt_regs->flags), the user "
             "gets flags the kernel did not intend (a ptrace or sigreturn change is lost or a stale one "
             "is applied).",
     "help": "Compare R11 with pt_regs->flags on every SYSRET path and use IRET when they differ "
             "(`cmp %r11,EFLAGS(%rsp); jne`; 6.7+: `regs->r11 != regs->flags`). See docs/CATALOGUE.md#r11-is-rflags."},
    {"id": "rflags-no-rf-tf", "cves": [],
     "short": "R11 has RF and TF clear at SYSRET",
     "full": "SYSRET cannot restore RF (it clears it), and returning with TF set traps at once after SYSRET "
             "(the single-step trap can loop forever). With RF or TF in the saved flags only IRET "
             "returns the user's exact state.",
     "help": "Test `$(X86_EFLAGS_RF|X86_EFLAGS_TF)` in R11 before SYSRET and take the IRET path when "
             "either is set. See docs/CATALOGUE.md#rflags-no-rf-tf."},
    {"id": "user-cs-ss", "cves": [],
     "short": "Saved cs is __USER_CS and saved ss is __USER_DS at SYSRET",
     "full": "SYSRET loads fixed selectors (from STAR: __USER_CS 0x33 and __USER_DS 0x2b) whatever the saved "
             "frame holds. A task whose saved cs/ss differ (a 32-bit segment set by sigreturn or ptrace) "
             "would silently run with the wrong segments.",
     "help": "Compare CS(%rsp) with $__USER_CS and SS(%rsp) with $__USER_DS and use IRET when either "
             "differs. See docs/CATALOGUE.md#user-cs-ss."},
    {"id": "ts-compat-clear", "cves": [],
     "short": "TS_COMPAT is clear in thread_info.status at SYSRET",
     "full": "TS_COMPAT marks a 32-bit syscall in progress; it must be cleared before returning to user "
             "mode, or the next 64-bit syscall, ptrace and signal code treat the task as compat "
             "(syscall-restart and register-width decisions go wrong).",
     "help": "Clear TS_COMPAT (and TS_I386_REGS_POKED) in arch_exit_to_user_mode_prepare() after signal "
             "handling, on every path that reaches SYSRET, and not before a call that can set it "
             "again. See docs/CATALOGUE.md#ts-compat-clear."},
)


def _hex(v: int) -> str:
    return f"{v:#018x}" if v >= 1 << 32 else f"{v:#x}"


def site_lines(result: CheckResult, image=None) -> dict:
    """SYSRET site address -> (source file, line) from the image's DWARF, for
    the sites with a non-proven finding (empty without DWARF)."""
    ctx = _Context(result, image, need_bytes=False)
    try:
        out = {}
        for f in result.findings:
            if f.status != PROVEN and f.site not in out:
                src = ctx.source_line(f.site)
                if src is not None:
                    out[f.site] = src
        return out
    finally:
        ctx.close()


def render(result: CheckResult, fmt: str, image=None, baseline=None) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    ctx = _Context(result, image, need_bytes=fmt == "html")
    try:
        if fmt == "sarif":
            return json.dumps(to_sarif(result, ctx, baseline), indent=2) + "\n"
        if fmt == "junit":
            return to_junit(result, baseline)
        return to_html(result, ctx, baseline)
    finally:
        ctx.close()


# ---------------------------------------------------------------------------------------------
# Image access: bytes for disassembly, DWARF for source lines (both optional)



def _elf_of(path: str):
    """The ElfImage of a vmlinux, or of a vmlinuz's payload (decompressed
    into the kernel cache the first time)."""
    from .image import ElfImage
    from .image.bzimage import is_bzimage

    with open(path, "rb") as f:
        head = f.read(0x270)
    if is_bzimage(head):
        from .image import KernelImage

        return KernelImage.open(path).elf
    return ElfImage(path)

class _Context:
    def __init__(self, result: CheckResult, image, need_bytes: bool):
        self.path = None
        self.image = None  # object with .read(addr, n) and maybe .symbolize(addr)
        self._lines = None
        self._own = None
        if image is None:
            p = result.image_path
            if p and os.path.isfile(p):
                try:
                    elf = _elf_of(p)
                    if result.build_id is None or elf.build_id == result.build_id:
                        self.path, self.image, self._own = elf.file, elf, elf
                    else:
                        elf.close()
                except Exception:  # noqa: BLE001 - a moved/changed image only loses extras
                    self.image = None
        elif isinstance(image, (str, os.PathLike)):
            from .image import ElfImage

            self.path = os.fspath(image)
            self.image = self._own = ElfImage(self.path)
        else:
            self.image = image
            # the file read (a vmlinuz's decompressed ELF), for DWARF lines
            self.path = getattr(getattr(image, "elf", None), "file", None) or getattr(image, "path", None)

    def source_line(self, addr: int):
        if self.path is None:
            return None
        if self._lines is None:
            self._lines = SourceLines(self.path)
        return self._lines.lookup(addr)

    def read(self, addr: int, n: int) -> bytes | None:
        if self.image is None:
            return None
        while n > 0:
            try:
                return bytes(self.image.read(addr, n))
            except Exception:  # noqa: BLE001 - end of section: read less
                n //= 2
        return None

    def symbolize(self, addr: int) -> str | None:
        f = getattr(self.image, "symbolize", None)
        if f is None:
            return None
        try:
            return f(addr)
        except Exception:  # noqa: BLE001
            return None

    def close(self):
        if self._lines is not None:
            self._lines.close()
        if self._own is not None:
            try:
                self._own.close()
            except BufferError:
                pass


class _SliceStream:
    """A read-only file-like view of [base, base+size) of a mmap."""

    def __init__(self, mm: mmap.mmap, base: int, size: int):
        self._mm, self._base, self._size, self._pos = mm, base, size, 0

    def seek(self, off: int, whence: int = 0) -> int:
        self._pos = off if whence == 0 else self._pos + off if whence == 1 else self._size + off
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = self._size if n is None or n < 0 else min(self._size, self._pos + n)
        if self._pos >= end:
            return b""
        data = self._mm[self._base + self._pos : self._base + end]
        self._pos = end
        return data


def _decompress_section(raw: bytes) -> bytes | None:
    """An SHF_COMPRESSED section's contents: Elf64_Chdr {u32 ch_type, u32
    reserved, u64 ch_size, u64 ch_addralign} then the stream.  zlib
    (ELFCOMPRESS_ZLIB = 1) with the standard library; zstd (2) when the
    `zstandard` module is installed; None otherwise."""
    if len(raw) < 24:
        return None
    ch_type, _res, ch_size, _align = struct.unpack_from("<IIQQ", raw, 0)
    body = raw[24:]
    try:
        if ch_type == 1:
            import zlib

            out = zlib.decompress(body)
        elif ch_type == 2:
            try:
                import zstandard
            except ImportError:
                return None
            out = zstandard.ZstdDecompressor().decompress(body, max_output_size=ch_size)
        else:
            return None
    except Exception:  # noqa: BLE001 - a corrupt stream: no lines
        return None
    return out if len(out) == ch_size else None


class SourceLines:
    """Address -> (source file, line) through DWARF, lazily.

    Only what a lookup needs is parsed: `.debug_aranges` (160 KB on Debian
    6.1) to find the compilation unit covering the address, that CU's header
    and top DIE, and that CU's line program, all read through the file's mmap
    (pyelftools' ELFFile.get_dwarf_info() would copy all 163 MB of
    `.debug_info`).  Measured on the 588 MB Debian 6.1 image: 45 ms to open,
    5 ms for the first lookup in entry_64.S, 30 MB RSS.  Line tables are
    cached per CU.  Compressed sections (SHF_COMPRESSED: zlib; zstd when the
    zstandard module is installed) are decompressed.  Any other DWARF problem
    (none, an unreadable compression, malformed) means "no source line",
    never an error: lines help the reader, they are not part of
    the proof.
    """

    NAMES = ("debug_info", "debug_abbrev", "debug_line", "debug_str", "debug_line_str", "debug_str_offsets",
             "debug_addr", "debug_rnglists", "debug_ranges")

    def __init__(self, path: str):
        self.path = path
        self.ok = False
        self.why = ""  # why lines are unavailable, when the image has DWARF we cannot read
        self._fh = self._mm = None
        self._ranges: list[tuple[int, int, int]] = []
        self._starts: list[int] = []
        self._cu_rows: dict[int, tuple[list, list]] = {}
        try:
            self._open()
        except Exception:  # noqa: BLE001
            self.ok = False

    def _open(self) -> None:
        from elftools.elf.elffile import ELFFile

        self._fh = open(self.path, "rb")
        self._mm = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
        elf = ELFFile(self._fh)
        secs = {}
        for s in elf.iter_sections():
            if s.name.startswith(".debug_"):
                off, size = s.header["sh_offset"], s.header["sh_size"]
                if s.header["sh_flags"] & 0x800:  # SHF_COMPRESSED (ld/gas --compress-debug-sections)
                    data = _decompress_section(self._mm[off:off + size])
                    if data is None:
                        self.why = f"{s.name} is compressed in a format this build cannot read"
                        return
                    secs[s.name[1:]] = data
                else:
                    secs[s.name[1:]] = (off, size)
        if not all(n in secs for n in ("debug_info", "debug_abbrev", "debug_line", "debug_aranges")):
            return
        ar = secs["debug_aranges"]
        self._read_aranges(ar if isinstance(ar, bytes) else self._mm[ar[0]:ar[0] + ar[1]])
        from elftools.dwarf.dwarfinfo import DebugSectionDescriptor, DWARFInfo, DwarfConfig

        def desc(name):
            if name not in secs:
                return None
            v = secs[name]
            if isinstance(v, bytes):  # decompressed
                return DebugSectionDescriptor(io.BytesIO(v), "." + name, 0, len(v), 0)
            off, size = v
            return DebugSectionDescriptor(_SliceStream(self._mm, off, size), "." + name, off, size, 0)

        d = {n: desc(n) for n in self.NAMES}
        self._dwarf = DWARFInfo(
            config=DwarfConfig(little_endian=elf.little_endian, default_address_size=elf.elfclass // 8,
                               machine_arch=elf.get_machine_arch()),
            debug_info_sec=d["debug_info"], debug_aranges_sec=None, debug_abbrev_sec=d["debug_abbrev"],
            debug_frame_sec=None, eh_frame_sec=None, debug_str_sec=d["debug_str"], debug_loc_sec=None,
            debug_ranges_sec=d["debug_ranges"], debug_line_sec=d["debug_line"], debug_pubtypes_sec=None,
            debug_pubnames_sec=None, debug_addr_sec=d["debug_addr"], debug_str_offsets_sec=d["debug_str_offsets"],
            debug_line_str_sec=d["debug_line_str"], debug_loclists_sec=None, debug_rnglists_sec=d["debug_rnglists"],
            debug_sup_sec=None, gnu_debugaltlink_sec=None, debug_types_sec=None)
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
        rows = []
        try:
            cu = self._dwarf.get_CU_at(cu_off)
            lp = self._dwarf.line_program_for_CU(cu)
            if lp is not None:
                ver = lp.header["version"]
                files, dirs = lp.header["file_entry"], lp.header["include_directory"]

                def fname(idx: int) -> str:
                    i = idx if ver >= 5 else idx - 1
                    if not 0 <= i < len(files):
                        return "?"
                    fe = files[i]
                    name = _s(fe.name)
                    # DWARF 5: directory 0 is the compilation directory; DWARF 2-4:
                    # index 0 means "the compilation directory", n means dirs[n-1].
                    di = fe.dir_index if ver >= 5 else fe.dir_index - 1
                    if not name.startswith("/") and fe.dir_index > 0 and 0 <= di < len(dirs):
                        name = f"{_s(dirs[di])}/{name}"
                    return name

                names: dict[int, str] = {}
                for e in lp.get_entries():
                    st = e.state
                    if st is None:
                        continue
                    if st.end_sequence:
                        rows.append((st.address, None))
                        continue
                    if st.file not in names:
                        names[st.file] = fname(st.file)
                    rows.append((st.address, (names[st.file], st.line)))
                rows.sort(key=lambda r: r[0])
        except Exception:  # noqa: BLE001
            rows = []
        r = ([a for a, _ in rows], [loc for _, loc in rows])
        self._cu_rows[cu_off] = r
        return r

    def lookup(self, addr: int) -> tuple[str, int] | None:
        if not self.ok:
            return None
        cu = self._cu_offset(addr)
        if cu is None:
            return None
        addrs, locs = self._rows(cu)
        i = bisect.bisect_right(addrs, addr) - 1
        if i < 0 or locs[i] is None or not locs[i][1]:
            return None
        return _relative(locs[i][0]), locs[i][1]

    def close(self) -> None:
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:
                pass
        if self._fh is not None:
            self._fh.close()


def _s(v) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


_TOP = ("arch", "kernel", "include", "mm", "fs", "drivers", "lib", "init", "net", "security", "tests")


def _relative(name: str) -> str:
    """Kernel builds record paths relative to the source tree
    (`arch/x86/entry/entry_64.S`); for absolute ones keep what is below a
    kernel top-level directory, so SARIF URIs resolve against the checkout."""
    name = os.path.normpath(name)
    if name.startswith("/"):
        parts = name.split("/")
        for i, p in enumerate(parts):
            if p in _TOP:
                return "/".join(parts[i:])
    return name


# ---------------------------------------------------------------------------------------------
# SARIF 2.1.0


def _sarif_rules() -> list[dict]:
    rules = []
    for r in RULES:
        rules.append({
            "id": r["id"],
            "name": "".join(w.capitalize() for w in re.split(r"[^a-zA-Z0-9]+", r["id"])),
            "shortDescription": {"text": r["short"]},
            "fullDescription": {"text": r["full"]},
            "help": {"text": r["help"], "markdown": r["help"]},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "kernel", "x86-64"], "precision": "very-high",
                           "security-severity": SECURITY_SEVERITY.get(r["id"], "7.0"), "cve": r["cves"]},
        })
    return rules


def _loc(ctx: _Context, addr: int, symbol: str, image_index: int, image_uri: str) -> dict:
    fn = site_function(symbol)
    addr_obj: dict = {"name": _hex(addr), "fullyQualifiedName": symbol, "kind": "instruction"}
    if KERNEL_MAP_BASE <= addr < KERNEL_MAP_BASE + (1 << 31):
        addr_obj["relativeAddress"] = addr - KERNEL_MAP_BASE  # from __START_KERNEL_map
    elif addr < (1 << 63):
        addr_obj["absoluteAddress"] = addr
    phys: dict = {"address": addr_obj}
    src = ctx.source_line(addr)
    if src is not None:
        phys["artifactLocation"] = {"uri": src[0], "uriBaseId": "SRCROOT"}
        phys["region"] = {"startLine": src[1]}
    else:
        phys["artifactLocation"] = {"uri": image_uri, "index": image_index}
    return {"physicalLocation": phys,
            "logicalLocations": [{"name": fn, "fullyQualifiedName": symbol, "kind": "function"}]}


def _values(f: Finding) -> dict:
    c = f.counterexample
    d = {"status": f.status, "variant": f.variant_detail, "site": {"address": _hex(f.site), "symbol": f.site_symbol},
         "solverSeconds": round(f.solver_seconds, 4)}
    if c is not None:
        d["counterexample"] = {
            "registersAtSysret": {k: _hex(v) for k, v in c.registers.items()},
            "ptRegs": {k: _hex(v) for k, v in c.pt_regs.items()},
            "tiStatus": _hex(c.ti_status),
            "userEntry": {k: _hex(v) for k, v in c.user_entry.items()},
            "replayed": c.replayed,
            "replay": c.replay_note,
        }
    return d


def to_sarif(r: CheckResult, ctx: _Context | None = None, baseline=None) -> dict:
    ctx = ctx or _Context(r, None, False)
    rules = _sarif_rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    image_uri = "file://" + os.path.abspath(r.image_path) if r.image_path else r.image_name
    artifacts = [{"location": {"uri": image_uri}, "description": {"text": r.version or r.image_name},
                  "roles": ["analysisTarget"], "hashes": {"sha-256": r.sha256}}]
    results = []
    for f, fp in zip(r.findings, fingerprints(r.findings)):
        if f.status not in (VIOLATED, INCONCLUSIVE):
            continue
        msg = (f"{f.obligation} violated at {f.site_symbol} [variant {f.variant}]: {f.reason}"
               if f.status == VIOLATED else
               f"{f.obligation} inconclusive at {f.site_symbol} [variant {f.variant}]: {f.reason}")
        res = {
            "ruleId": f.obligation,
            "level": "error" if f.status == VIOLATED else "warning",
            "kind": "fail" if f.status == VIOLATED else "open",
            "message": {"text": msg},
            "locations": [_loc(ctx, f.site, f.site_symbol, 0, image_uri)],
            "partialFingerprints": {FINGERPRINT_KEY: fp},
            "properties": _values(f),
        }
        if f.obligation in index:
            res["ruleIndex"] = index[f.obligation]
        c = f.counterexample
        if c is not None and c.path:
            steps = []
            for i, s in enumerate(c.path):
                steps.append({"location": {**_loc(ctx, s.address, s.symbol, 0, image_uri),
                                           "message": {"text": s.note or s.symbol}},
                              "executionOrder": i,
                              "importance": "essential" if s.note else "unimportant"})
            res["codeFlows"] = [{
                "message": {"text": f"path from entry_SYSCALL_64 to SYSRET at {f.site_symbol} "
                                    f"({'replayed' if c.replayed else 'not replayed'})"},
                "threadFlows": [{"locations": steps}]}]
        if baseline is not None and fp in baseline.entries:
            e = baseline.entries[fp]
            res["suppressions"] = [{"kind": "external", "status": "accepted",
                                    "justification": e.get("comment") or f"accepted in {baseline.path}"}]
            res["baselineState"] = "unchanged"
        elif baseline is not None:
            res["baselineState"] = "new"
        results.append(res)
    counts = {s: sum(1 for f in r.findings if f.status == s) for s in (PROVEN, VIOLATED, INCONCLUSIVE)}
    run = {
        "tool": {"driver": {"name": "sysret-verify", "version": __version__, "semanticVersion": __version__,
                            "rules": rules}},
        "invocations": [{"executionSuccessful": True,
                         "properties": {"seconds": round(r.seconds, 3)}}],
        "originalUriBaseIds": {"SRCROOT": {"description": {"text": "the kernel source tree the image was built from"}}},
        "artifacts": artifacts,
        "results": results,
        "properties": {"verdict": r.verdict, "counts": counts,
                       "image": {"path": r.image_path, "sha256": r.sha256, "buildId": r.build_id,
                                 "version": r.version},
                       "variants": r.variants, "assumptions": r.assumptions, "notes": r.notes},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


# ---------------------------------------------------------------------------------------------
# JUnit XML


def counterexample_text(f: Finding) -> str:
    c = f.counterexample
    if c is None:
        return f.reason
    lines = [f"{f.obligation} at {f.site_symbol} ({_hex(f.site)}), variant {f.variant}: {f.reason}",
             f"replayed: {'yes' if c.replayed else 'no'} ({c.replay_note})",
             "user registers at SYSCALL: " + " ".join(f"{k}={_hex(v)}" for k, v in c.user_entry.items()),
             "registers at SYSRET: " + " ".join(f"{k}={_hex(v)}" for k, v in c.registers.items()),
             "pt_regs at SYSRET: " + " ".join(f"{k}={_hex(v)}" for k, v in c.pt_regs.items()),
             f"thread_info.status: {_hex(c.ti_status)}",
             "path:"]
    for s in c.path:
        lines.append(f"  {_hex(s.address)} {s.symbol}" + (f"  ; {s.note}" if s.note else ""))
    return "\n".join(lines)


def to_junit(r: CheckResult, baseline=None) -> str:
    fps = fingerprints(r.findings)
    suites = ET.Element("testsuites", name="sysret-verify", time=f"{r.seconds:.3f}")
    by_variant: dict[str, list] = {}
    for f, fp in zip(r.findings, fps):
        by_variant.setdefault(f.variant, []).append((f, fp))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    # Test names must not change when code moves (issue 10): the function
    # holding the SYSRET, not its offset; several sites in one function are
    # numbered in address order.
    sites_in: dict[str, list[int]] = {}
    for f in r.findings:
        fn = site_function(f.site_symbol)
        if f.site not in sites_in.setdefault(fn, []):
            sites_in[fn].append(f.site)
    for fn in sites_in:
        sites_in[fn].sort()

    def case_name(f) -> str:
        fn = site_function(f.site_symbol)
        n = sites_in[fn]
        return f"{f.obligation} @ {fn}" + (f" (SYSRET {n.index(f.site) + 1} of {len(n)})" if len(n) > 1 else "")

    for variant, items in by_variant.items():
        suite = ET.SubElement(suites, "testsuite", name=f"{r.image_name} [variant {variant}]")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        props = ET.SubElement(suite, "properties")
        for k, v in (("image", r.image_path), ("sha256", r.sha256), ("build_id", r.build_id or ""),
                     ("version", r.version or ""), ("variant", variant), ("verdict", r.verdict)):
            ET.SubElement(props, "property", name=k, value=str(v))
        for f, fp in items:
            counts["tests"] += 1
            tc = ET.SubElement(suite, "testcase", classname=f"sysret.{variant}.{site_function(f.site_symbol)}",
                               name=case_name(f), time=f"{f.solver_seconds:.4f}")
            ET.SubElement(ET.SubElement(tc, "properties"), "property", name="fingerprint", value=fp)
            accepted = baseline is not None and fp in baseline.entries and f.status != PROVEN
            if accepted:
                counts["skipped"] += 1
                e = baseline.entries[fp]
                ET.SubElement(tc, "skipped", message=f"{f.status}, accepted in baseline: {e.get('comment') or fp}")
                ET.SubElement(tc, "system-out").text = counterexample_text(f)
            elif f.status == VIOLATED:
                counts["failures"] += 1
                el = ET.SubElement(tc, "failure", message=f.reason, type="violated")
                el.text = counterexample_text(f)
            elif f.status == INCONCLUSIVE:
                counts["errors"] += 1
                el = ET.SubElement(tc, "error", message=f.reason, type="inconclusive")
                el.text = f"{f.obligation} at {f.site_symbol}, variant {f.variant}: inconclusive: {f.reason}"
            else:
                ET.SubElement(tc, "system-out").text = f.reason
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", f"{sum(f.solver_seconds for f, _ in items):.3f}")
    for k, v in totals.items():
        suites.set(k, str(v))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------------
# HTML: one self-contained page (inline CSS and SVG, no scripts, no fetches)

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
code,pre,.mono{font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,monospace}
table{border-collapse:collapse;margin:6px 0} th,td{border:1px solid #d6dae3;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f9} .meta td:first-child{color:#5a6275;white-space:nowrap}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
.proven{background:#1f8a4c} .violated{background:#c62828} .inconclusive{background:#b26a00} .accepted{background:#6a5acd}
td.st{text-align:center;vertical-align:middle;font-weight:600;color:#fff} td.st a{color:#fff}
.big{font-size:18px;padding:4px 14px}
.regs td.hot{background:#ffe3e3;font-weight:600}
pre.dis{background:#f7f8fb;border:1px solid #e1e4ea;padding:6px 10px;margin:2px 0 10px;overflow-x:auto}
.dis .cur{background:#ffe3e3;display:inline-block;width:100%}
.blk{font-weight:600;margin-top:8px} .note{color:#5a6275} .svgwrap{overflow-x:auto;border:1px solid #e1e4ea;background:#fff}
.cx{border-left:4px solid #c62828;padding-left:14px;margin:18px 0} .cx.inc{border-color:#b26a00}
small{color:#5a6275}
"""

_HOT = {"rcx-is-rip": {"rcx", "ip"}, "canonical-rip": {"rcx", "ip"}, "r11-is-rflags": {"r11", "flags"},
        "rflags-no-rf-tf": {"r11"}, "user-cs-ss": {"cs", "ss"}, "ts-compat-clear": {"ti_status"}}


def _e(s) -> str:
    return _html.escape(str(s), quote=True)


def _anchor(f: Finding) -> str:
    return "cx-" + re.sub(r"[^a-zA-Z0-9]+", "-", f"{f.obligation}-{f.variant}-{f.site:x}")


def _succ(cfg, n) -> list:
    if cfg is None:
        return []
    try:
        return list(cfg.successors(n)) if n in cfg else []
    except Exception:  # noqa: BLE001
        return []


def _nodes(cfg) -> list[int]:
    if cfg is None:
        return []
    try:
        return sorted(cfg.nodes)
    except Exception:  # noqa: BLE001
        return []


MAX_SVG_ROWS = 300


def path_svg(cfg, path, site: int, ctx: _Context | None = None) -> str:
    """A layered picture of one counterexample path through the CFG.

    Layout: the path's blocks in first-visit order down one column (row =
    first visit); every CFG successor not on the path (a branch the path did
    not take: usually the IRET exit) goes to the right of the block that
    branches to it.  The path's own transitions are red: downward ones are
    straight, backward ones (loops) arc on the left.
    """
    order: list[int] = []
    notes: dict[int, str] = {}
    syms: dict[int, str] = {}
    for s in path:
        if s.address not in syms:
            order.append(s.address)
            syms[s.address] = s.symbol
        if s.note:
            notes.setdefault(s.address, s.note)
    truncated = max(0, len(order) - MAX_SVG_ROWS)
    order = order[:MAX_SVG_ROWS]
    row = {a: i for i, a in enumerate(order)}
    NW, NH, RH, LM, OW, GAP = 330, 26, 40, 70, 280, 40
    off: dict[int, tuple[int, int]] = {}  # address -> (row, col)
    per_row: dict[int, int] = {}
    for a in order:
        for s in sorted(_succ(cfg, a)):
            if s in row or s in off:
                continue
            k = per_row.get(row[a], 0)
            if k >= 3:
                continue
            per_row[row[a]] = k + 1
            off[s] = (row[a], k)
    width = max(LM + NW + GAP + max([c for _, c in off.values()] + [0]) * (OW + 14) + OW + 30,
                LM + NW + 8 + 62 * 7 if notes else 0)
    height = len(order) * RH + 30 + (24 if truncated else 0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="ui-monospace,DejaVu Sans Mono,monospace" font-size="11.5">',
           '<defs><marker id="ar" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">'
           '<path d="M0,0 L8,4 L0,8 z" fill="#c62828"/></marker>'
           '<marker id="ag" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">'
           '<path d="M0,0 L8,4 L0,8 z" fill="#8a93a6"/></marker></defs>']

    def top(a):
        return 12 + row[a] * RH

    # grey edges: CFG edges to off-path blocks and between path blocks the path did not take
    taken = set()
    for x, y in zip(path, list(path)[1:]):
        taken.add((x.address, y.address))
    for a in order:
        for s in _succ(cfg, a):
            if (a, s) in taken:
                continue
            if s in off:
                r, c = off[s]
                x2 = LM + NW + GAP + c * (OW + 14)
                y2 = 12 + r * RH + NH / 2
                out.append(f'<path d="M{LM + NW},{top(a) + NH / 2} C{LM + NW + 20},{top(a) + NH / 2} {x2 - 20},{y2} '
                           f'{x2},{y2}" fill="none" stroke="#8a93a6" stroke-dasharray="4 3" marker-end="url(#ag)"/>')
            elif s in row and s != a:
                x = LM + NW * 0.75
                out.append(f'<line x1="{x}" y1="{top(a) + NH}" x2="{x}" y2="{top(s)}" stroke="#c3c8d3" '
                           f'stroke-dasharray="3 3"/>' if row[s] > row[a] else "")
    # red edges: the path's transitions
    drawn = set()
    for a, b in taken:
        if a not in row or b not in row or (a, b) in drawn:
            continue
        drawn.add((a, b))
        if row[b] == row[a] + 1:
            x = LM + NW / 2
            out.append(f'<line x1="{x}" y1="{top(a) + NH}" x2="{x}" y2="{top(b) - 1}" stroke="#c62828" '
                       f'stroke-width="1.6" marker-end="url(#ar)"/>')
        else:
            bend = LM - 14 - min(50, 6 * abs(row[b] - row[a]) ** 0.5 * 3)
            y1, y2 = top(a) + NH / 2, top(b) + NH / 2
            out.append(f'<path d="M{LM},{y1} C{bend},{y1} {bend},{y2} {LM - 1},{y2}" fill="none" stroke="#c62828" '
                       f'stroke-width="1.4" marker-end="url(#ar)"/>')
    for a in order:
        y = top(a)
        is_site = a == site
        fill = "#ffe3e3" if is_site else ("#fff6e0" if a in notes else "#ffffff")
        label = syms[a] if len(syms[a]) <= 40 else syms[a][:39] + "…"
        tip = f"{_hex(a)} {syms[a]}" + (f" — {notes[a]}" if a in notes else "")
        out.append(f'<g><title>{_e(tip)}</title><rect x="{LM}" y="{y}" width="{NW}" height="{NH}" rx="4" fill="{fill}" '
                   f'stroke="#c62828" stroke-width="{2 if is_site else 1.2}"/>'
                   f'<text x="{LM + 8}" y="{y + 17}">{_e(label)}</text>'
                   f'<text x="{LM + NW - 6}" y="{y + 17}" text-anchor="end" fill="#8a93a6">{row[a] + 1}</text></g>')
        if a in notes:
            n = notes[a] if len(notes[a]) <= 60 else notes[a][:59] + "…"
            out.append(f'<text x="{LM + NW + 8}" y="{y + 17}" fill="#9a5b00" font-size="10.5">{_e(n)}</text>'
                       if not any(off_r == row[a] for off_r, _ in off.values()) else "")
    for s, (r, c) in off.items():
        x, y = LM + NW + GAP + c * (OW + 14), 12 + r * RH
        name = (ctx.symbolize(s) if ctx else None) or _hex(s)
        label = name if len(name) <= 36 else name[:35] + "…"
        out.append(f'<g><title>{_e(_hex(s) + " " + name)} (not on this path)</title><rect x="{x}" y="{y}" width="{OW}" '
                   f'height="{NH}" rx="4" fill="#f3f5f9" stroke="#8a93a6" stroke-dasharray="4 3"/>'
                   f'<text x="{x + 8}" y="{y + 17}" fill="#5a6275">{_e(label)}</text></g>')
    if truncated:
        out.append(f'<text x="{LM}" y="{height - 8}" fill="#5a6275">… {truncated} more blocks not drawn</text>')
    out.append("</svg>")
    return "".join(out)


class _Disassembler:
    def __init__(self, ctx: _Context, cfg, extra: list[int]):
        self.ctx = ctx
        self.bounds = sorted(set(_nodes(cfg)) | set(extra))
        self.cache: dict[int, list] = {}
        self.cs = None
        if ctx.image is not None:
            try:
                import capstone

                self.cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
                self.cs.syntax = capstone.CS_OPT_SYNTAX_ATT
            except Exception:  # noqa: BLE001
                self.cs = None

    def block(self, start: int) -> list[tuple[int, str, str]] | None:
        if self.cs is None:
            return None
        if start in self.cache:
            return self.cache[start]
        i = bisect.bisect_right(self.bounds, start)
        end = self.bounds[i] if i < len(self.bounds) else start + 256
        size = max(1, min(end - start, 256))
        data = self.ctx.read(start, size + 15)
        out = []
        if data:
            for insn in self.cs.disasm(data, start):
                if insn.address >= start + size and out:
                    break
                out.append((insn.address, insn.mnemonic, insn.op_str))
                m = insn.mnemonic
                if m.startswith("j") or m.startswith("ret") or m.startswith("call") or m in (
                        "sysretq", "sysret", "iretq", "ud2", "int3", "hlt") or len(out) >= 48:
                    break
        self.cache[start] = out
        return out


def _regs_table(title: str, values: dict, hot: set) -> str:
    cells = "".join(f'<tr><td class="mono">{_e(k)}</td><td class="mono{" hot" if k in hot else ""}">{_e(_hex(v))}</td></tr>'
                    .replace('class="mono hot"', 'class="mono hot"') for k, v in values.items())
    return f'<table class="regs"><tr><th colspan="2">{_e(title)}</th></tr>{cells}</table>'


def to_html(r: CheckResult, ctx: _Context | None = None, baseline=None) -> str:
    ctx = ctx or _Context(r, None, True)
    fps = fingerprints(r.findings)
    accepted = {i for i, (f, fp) in enumerate(zip(r.findings, fps))
                if baseline is not None and fp in baseline.entries and f.status != PROVEN}
    counts = {s: sum(1 for f in r.findings if f.status == s) for s in (PROVEN, VIOLATED, INCONCLUSIVE)}
    h = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
         '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">',
         f"<title>sysret-verify: {_e(r.image_name)}: {_e(r.verdict)}</title><style>{_CSS}</style></head><body>"]
    h.append(f'<h1>sysret-verify: {_e(r.image_name)} <span class="badge big {r.verdict}">{r.verdict.upper()}</span></h1>')
    h.append(f"<p>{counts[PROVEN]} proven, {counts[VIOLATED]} violated, {counts[INCONCLUSIVE]} inconclusive "
             f"(obligation × SYSRET site × code variant) in {r.seconds:.1f} s."
             + (f" {len(accepted)} accepted by the baseline." if baseline is not None else "") + "</p>")
    h.append('<table class="meta">')
    for k, v in (("image", r.image_path), ("version", r.version or "unknown"), ("sha256", r.sha256),
                 ("build id", r.build_id or "none"), ("tool", f"sysret-verify {__version__}")):
        h.append(f'<tr><td>{_e(k)}</td><td class="mono">{_e(v)}</td></tr>')
    h.append("</table>")

    # obligations x (variant, site)
    cols: list[tuple[str, int, str]] = []
    for f in r.findings:
        key = (f.variant, f.site, f.site_symbol)
        if key not in cols:
            cols.append(key)
    by = {(f.obligation, f.variant, f.site): (i, f) for i, f in enumerate(r.findings)}
    oids = [rule["id"] for rule in RULES] + sorted({f.obligation for f in r.findings} - {x["id"] for x in RULES})
    short = {rule["id"]: rule["short"] for rule in RULES}
    h.append("<h2>Obligations × variants</h2><table><tr><th>obligation</th>")
    for v, _site, sym in cols:
        h.append(f'<th>{_e(v)}<br><small class="mono">{_e(sym)}</small></th>')
    h.append("</tr>")
    for oid in oids:
        h.append(f'<tr><td><b class="mono">{_e(oid)}</b><br><small>{_e(short.get(oid, ""))}</small></td>')
        for v, site, _sym in cols:
            hit = by.get((oid, v, site))
            if hit is None:
                h.append("<td>—</td>")
                continue
            i, f = hit
            cls = "accepted" if i in accepted else f.status
            label = f.status + (" (accepted)" if i in accepted else "")
            if f.status != PROVEN:
                label = f'<a href="#{_anchor(f)}">{_e(label)}</a>'
            h.append(f'<td class="st {cls}" title="{_e(f.reason)}">{label}</td>')
        h.append("</tr>")
    h.append("</table>")

    if r.variants:
        h.append("<h2>Variants</h2><table><tr><th>variant</th><th>paging</th><th>features</th><th>paths</th>"
                 "<th>reach SYSRET</th><th>explore</th><th>solver</th></tr>")
        for v in r.variants:
            feats = ", ".join(f"{k}={'on' if val else 'off'}" for k, val in (v.get("features") or {}).items())
            h.append(f"<tr><td>{_e(v.get('name'))}</td><td>{_e(v.get('paging', ''))}</td><td class='mono'>{_e(feats)}</td>"
                     f"<td>{_e(v.get('paths', ''))}</td><td>{_e(v.get('sysret_paths', ''))}</td>"
                     f"<td>{float(v.get('seconds', 0)):.2f} s</td><td>{float(v.get('solver_seconds', 0)):.2f} s</td></tr>")
        h.append("</table>")

    sites = [f.site for f in r.findings]
    dis = _Disassembler(ctx, r.cfg, sites + [s.address for f in r.findings if f.counterexample
                                             for s in f.counterexample.path])
    bad = [(i, f) for i, f in enumerate(r.findings) if f.status != PROVEN]
    if bad:
        h.append("<h2>Counterexamples and open questions</h2>")
    for i, f in bad:
        c = f.counterexample
        inc = " inc" if f.status == INCONCLUSIVE else ""
        badge = f'<span class="badge {"accepted" if i in accepted else f.status}">{f.status}' \
                f'{" · accepted" if i in accepted else ""}</span>'
        h.append(f'<div class="cx{inc}" id="{_anchor(f)}"><h3>{badge} <span class="mono">{_e(f.obligation)}</span> at '
                 f'<span class="mono">{_e(f.site_symbol)}</span> ({_e(_hex(f.site))}), variant {_e(f.variant)}</h3>')
        h.append(f"<p>{_e(f.reason)}</p>")
        src = ctx.source_line(f.site)
        if src:
            h.append(f'<p class="note">source: <span class="mono">{_e(src[0])}:{src[1]}</span></p>')
        if i in accepted:
            e = baseline.entries[fps[i]]
            h.append(f'<p class="note">accepted by the baseline: {_e(e.get("comment") or baseline.path)}</p>')
        if c is None:
            h.append("</div>")
            continue
        hot = _HOT.get(f.obligation, set())
        h.append(f'<p class="note">replayed: {"yes" if c.replayed else "no"} — {_e(c.replay_note)}</p>')
        h.append('<div style="display:flex;gap:14px;flex-wrap:wrap;align-items:flex-start">')
        h.append(_regs_table("registers at SYSRET", c.registers, hot))
        h.append(_regs_table("saved pt_regs at SYSRET", c.pt_regs, hot))
        h.append(_regs_table("thread_info", {"ti_status": c.ti_status}, hot))
        h.append(_regs_table("user registers at SYSCALL", c.user_entry, set()))
        h.append("</div>")
        h.append(f'<h3 id="{_anchor(f)}-path">Path through the CFG ({len(c.path)} steps)</h3>')
        h.append(f'<div class="svgwrap">{path_svg(r.cfg, c.path, f.site, ctx)}</div>')
        h.append(f'<details open id="{_anchor(f)}-dis"><summary>disassembly of each block on the path</summary>'
                 '<p class="note">Bytes as they are in the image file. At a boot-time patch site the path runs the '
                 'variant named in its note (alternative replacement, static key, paravirt), not these bytes.</p>')
        seen = set()
        for n, s in enumerate(c.path):
            if s.address in seen:
                continue
            seen.add(s.address)
            where = ctx.source_line(s.address)
            h.append(f'<div class="blk mono">{n + 1}. {_e(_hex(s.address))} &lt;{_e(s.symbol)}&gt;'
                     + (f' <span class="note">{_e(where[0])}:{where[1]}</span>' if where else "")
                     + (f' <span class="note">; {_e(s.note)}</span>' if s.note else "") + "</div>")
            insns = dis.block(s.address)
            if insns is None:
                h.append('<pre class="dis">(no image bytes: pass the image to see disassembly)</pre>')
                continue
            lines = []
            for a, m, ops in insns:
                text = f"{a:x}:  {m:<8} {ops}"
                lines.append(f'<span class="cur">{_e(text)}</span>' if a == f.site else _e(text))
            h.append('<pre class="dis">' + "\n".join(lines) + "</pre>")
        h.append("</details></div>")

    if r.assumptions:
        h.append("<h2>Assumptions used</h2><ul>")
        for a in r.assumptions:
            h.append(f'<li><b class="mono">{_e(a.get("id"))}</b>: {_e(a.get("text", ""))}</li>')
        h.append("</ul>")
    if r.notes:
        h.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in r.notes) + "</ul>")
    h.append('<p><small>Exit status: 0 proven, 1 violated, 2 input error, 3 inconclusive. '
             'Only "proven" means safe.</small></p></body></html>')
    return "\n".join(h) + "\n"
