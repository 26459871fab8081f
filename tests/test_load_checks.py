"""What the prover reads must be what a loader loads (review 148): images
whose program headers, patch tables or System.map disagree with the code
are refused (exit 2, one line), never proven.  Each builds a review-148
fixture (tests/fixtures/adv_r148_*.S: the header says what real build or
post-link step it stands for) and edits the linked image as the fixture's
header describes: a segment's physical address, a segment laid over the
exit's SWAPGS, .altinstructions' header moved to a stale copy, a System.map
with two per-CPU names swapped beside a vmlinuz whose kallsyms list text
only."""
from __future__ import annotations

import os
import re
import struct
import subprocess

from clirun import run_cli
from fixtures.build import build_fixture

KERNEL_MAP = 0xFFFFFFFF80000000  # __START_KERNEL_map
PT_LOAD, PT_NOTE = 1, 4


def _symbols(path: str) -> dict:
    """name -> (address, size) from nm (size 0 where nm gives none)."""
    out = {}
    for line in subprocess.run(["nm", "-S", path], capture_output=True, text=True, check=True).stdout.splitlines():
        f = line.split()
        if len(f) == 4:
            out[f[3]] = (int(f[0], 16), int(f[1], 16))
        elif len(f) == 3:
            out.setdefault(f[2], (int(f[0], 16), 0))
    return out


def _file_offset(data: bytes, addr: int) -> int:
    """The file offset of a linked address, through the section headers."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shent, shnum = struct.unpack_from("<HH", data, 0x3A)
    for i in range(shnum):
        a, off, size = struct.unpack_from("<QQQ", data, shoff + i * shent + 0x10)
        if a and a <= addr < a + size:
            return off + addr - a
    raise AssertionError(f"{addr:#x} is in no section")


def _note_as_load(src: str, dst: str, blob: str, target: str, same_address: bool) -> None:
    """The image with its PT_NOTE header turned into a PT_LOAD of symbol
    `blob`'s bytes, loaded at `target`'s physical address: at blob's own
    virtual address (a wrong physical address) or at target's (a segment
    over code another segment loads)."""
    data = bytearray(open(src, "rb").read())
    syms = _symbols(src)
    (b, n), t = syms[blob], syms[target][0]
    off = _file_offset(data, b)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phent, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        h = phoff + i * phent
        if struct.unpack_from("<I", data, h)[0] == PT_NOTE:
            vaddr, flags = (t, 5) if same_address else (b, 4)
            struct.pack_into("<IIQQQQQQ", data, h, PT_LOAD, flags, off, vaddr, t - KERNEL_MAP, n, n, 0x200000)
            break
    else:
        raise AssertionError("no PT_NOTE to turn into a PT_LOAD")
    open(dst, "wb").write(data)


def _check(path: str, *extra: str):
    r = run_cli(["check", path, "--no-cache", *extra])
    assert "Traceback" not in r.stderr, r.stderr
    return r


def _refused(r, words: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_segment_with_another_physical_address_is_refused(tmp_path):
    """adv_r148_paddr_overlay: a 2-byte segment of a NOP in .rodata whose
    physical address is the `jne` of the exit's CS check: the decompressor
    (parse_elf) loads by physical address, so the check is gone at run
    time.  The unedited image is proven; the edited one is refused."""
    src = build_fixture("adv_r148_paddr_overlay", str(tmp_path / "build"))
    assert _check(src).returncode == 0
    bad = str(tmp_path / "paddr.vmlinux")
    _note_as_load(src, bad, "adv_r148_nop2", "adv_r148_cs_jne", same_address=False)
    _refused(_check(bad), "physical address")


def test_overlapping_segments_are_refused(tmp_path):
    """adv_r148_phdr_overlap_swapgs: a later 3-byte segment over the exit's
    SWAPGS (a NOP): loaded last, it wins."""
    src = build_fixture("adv_r148_phdr_overlap_swapgs", str(tmp_path / "build"))
    assert _check(src).returncode == 0
    bad = str(tmp_path / "overlap.vmlinux")
    _note_as_load(src, bad, "adv_r148_nop3", "entry_SYSRETQ_unsafe_stack", same_address=True)
    _refused(_check(bad), "overlap")


def test_patch_table_not_loaded_from_its_bytes_is_refused(tmp_path):
    """adv_r148_stale_alt_table: .altinstructions' header moved to a copy
    appended to the file, whose record points at dead code; boot applies
    the loaded table, which turns the exit's SWAPGS into a NOP.  The
    unedited image is violated (user-gs); the edited one is refused."""
    src = build_fixture("adv_r148_stale_alt_table", str(tmp_path / "build"))
    assert _check(src).returncode == 1
    data = bytearray(open(src, "rb").read())
    syms = _symbols(src)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shent, shnum, shstr = struct.unpack_from("<HHH", data, 0x3A)
    names, = struct.unpack_from("<Q", data, shoff + shstr * shent + 0x18)
    for i in range(shnum):
        h = shoff + i * shent
        name, = struct.unpack_from("<I", data, h)
        if data[names + name:names + name + 17] == b".altinstructions\0":
            addr, off, size = struct.unpack_from("<QQQ", data, h + 0x10)
            table = bytearray(data[off:off + size])
            rec = syms["adv_r148_alt_rec"][0]
            struct.pack_into("<i", table, rec - addr, syms["adv_r148_unused_nop3"][0] - rec)
            data += b"\0" * (-len(data) % 16)
            struct.pack_into("<Q", data, h + 0x18, len(data))
            data += table
            break
    else:
        raise AssertionError("no .altinstructions")
    bad = str(tmp_path / "stale_alt.vmlinux")
    open(bad, "wb").write(data)
    _refused(_check(bad), ".altinstructions")


def test_system_map_names_kallsyms_cannot_confirm_are_refused(tmp_path):
    """adv_r148_bz_kallsyms_map: a bzImage whose kallsyms list text only
    (CONFIG_KALLSYMS_ALL=n) and a System.map beside it with current_task
    and another per-CPU task pointer swapped: the map's per-CPU names are
    ones kallsyms cannot confirm, so the map is refused (it was taken, and
    the TS_COMPAT clear through the wrong pointer proven)."""
    import bzimage_util as bz

    src = build_fixture("adv_r148_bz_kallsyms_map", str(tmp_path / "build"))
    nm = [line.split() for line in
          subprocess.run(["nm", "-n", src], capture_output=True, text=True, check=True).stdout.splitlines()]
    text = [(int(a, 16), t, n) for a, t, n in nm if t in "Tt" and int(a, 16) >= KERNEL_MAP]
    elf = open(src, "rb").read()
    release = re.search(rb"Linux version (\S+)", elf).group(1).decode()
    out = tmp_path / "boot"
    os.makedirs(out)
    payload = bz.strip_with_kallsyms(elf, sorted(text), str(tmp_path))
    (out / f"vmlinuz-{release}").write_bytes(bz.make_bzimage(bz.compress(payload, "gzip")))
    swap = {"current_task": "shadow_task", "shadow_task": "current_task"}
    (out / f"System.map-{release}").write_text("".join(f"{a} {t} {swap.get(n, n)}\n" for a, t, n in nm))
    r = _check(str(out / f"vmlinuz-{release}"), "--format", "json", "-o", str(tmp_path / "r.json"))
    _refused(r, "cannot be checked")


def test_system_map_missing_a_kallsyms_name_is_refused(tmp_path):
    """adv_r150_map_no_init_end: a stripped vmlinux whose kallsyms list every
    symbol, checked with a System.map that lacks __init_end (the end of the
    init range boot frees): every name the map has agrees with kallsyms, but
    the prover would no longer know the range.  A map lacking a name
    kallsyms list is refused (a real map names everything kallsyms does)."""
    import bzimage_util as bz

    src = build_fixture("adv_r150_map_no_init_end", str(tmp_path / "build"))
    nm = [line.split() for line in
          subprocess.run(["nm", "-n", src], capture_output=True, text=True, check=True).stdout.splitlines()]
    every = [(int(a, 16), t, n) for a, t, n in nm if t not in "aA"]
    stripped = tmp_path / "vmlinux-stripped"
    stripped.write_bytes(bz.strip_with_kallsyms(open(src, "rb").read(), sorted(every), str(tmp_path)))
    short = tmp_path / "System.map-short"
    short.write_text("".join(f"{a} {t} {n}\n" for a, t, n in nm if n != "__init_end"))
    _refused(_check(str(stripped), "--system-map", str(short)), "__init_end")


def test_system_map_of_an_unstripped_vmlinux_does_not_hide_its_symbols(tmp_path):
    """adv_r153_map_symtab_no_init_end: adv_r150's load from freed
    __initdata after the exit SWAPGS, checked as the unstripped vmlinux with
    a map lacking __init_end (every name it has agrees with the symtab):
    the image's own table is used, so the freed range is still known and
    user-gs is violated at the fixture's sysretq, as without the map."""
    import json

    src = build_fixture("adv_r153_map_symtab_no_init_end", str(tmp_path / "build"))
    nm = subprocess.run(["nm", "-n", src], capture_output=True, text=True, check=True).stdout.splitlines()
    short = tmp_path / "System.map-short"
    short.write_text("".join(line + "\n" for line in nm if not line.endswith(" __init_end")))
    out = tmp_path / "r.json"
    r = _check(src, "--system-map", str(short), "--format", "json", "-o", str(out))
    assert r.returncode == 1, (r.returncode, r.stderr)
    bad = {(o["id"], o["site"]["symbol"]) for o in json.loads(out.read_text())["obligations"] if o["status"] == "violated"}
    assert any(oid == "user-gs" and sym.startswith("entry_SYSRETQ") for oid, sym in bad), bad


def test_unchecked_system_map_is_a_listed_assumption(tmp_path):
    """A stripped vmlinux with neither a symbol table nor kallsyms (a
    fixture stripped with --strip-all) and its own System.map: the map's
    names cannot be checked beyond linux_banner, so the report lists
    assumption system-map-names at the map (a map with a name swapped would
    otherwise change what is proven unseen: adv_r49_map_current_alias)."""
    import json

    src = build_fixture("linux61_exit_checks", str(tmp_path / "build"))
    stripped = str(tmp_path / "vmlinux-stripped")
    subprocess.run(["objcopy", "--strip-all", src, stripped], check=True)
    smap = tmp_path / "System.map"
    smap.write_text(subprocess.run(["nm", "-n", src], capture_output=True, text=True, check=True).stdout)
    out = tmp_path / "r.json"
    r = _check(stripped, "--system-map", str(smap), "--format", "json", "-o", str(out))
    assert r.returncode == 0, r.stderr
    used = {a["id"]: a["where"] for a in json.loads(out.read_text())["assumptions"]}
    assert used.get("system-map-names") == [str(smap)], used
    # with the symbol table kept, the map is checked against it: no such assumption
    r = _check(src, "--system-map", str(smap), "--format", "json", "-o", str(out))
    assert r.returncode == 0 and "system-map-names" not in {a["id"] for a in json.loads(out.read_text())["assumptions"]}
