"""The kernel as shipped (issue 10, item 1): `check /boot/vmlinuz-RELEASE`.

Synthetic bzImages around a fixture kernel, one per payload compression;
kallsyms tables in every layout the reader knows; Debian's placeholder
System.map; and Debian's real unsigned images (linux-image-RELEASE-unsigned,
fetched once and cached): their kallsyms agree with the -dbg symtab, their
check gives the verdicts of the -dbg vmlinux read with the same symbol
information (no sizes), and a bug seeded into the payload (patched,
recompressed with the same compressor, the bzImage rebuilt) is violated at
the same obligation and site as in the vmlinux.
"""
import hashlib
import json
import os
import subprocess
import sys

import pytest

from bzimage_util import (METHODS, compress, kallsyms_blob, make_bzimage, payload_of, replace_payload,
                          sample_symbols)
from fixtures import build_fixture
from test_real_kernels import seed_kernels
from verify.errors import InputError
from verify.image import KernelImage
from verify.image.kallsyms import parse_rodata
from verify.image.vmlinuz import is_placeholder_map
from verify.obligations import SITE_OBLIGATIONS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLACEHOLDER = "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"


def run_cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def assert_input_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout[:300], r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture
def kernels_dir(tmp_path, monkeypatch):
    """Decompressed payloads go to a private kernel cache."""
    d = tmp_path / "kernels"
    monkeypatch.setenv("SYSRET_VERIFY_KERNELS", str(d))
    return d


@pytest.fixture(scope="module")
def fixture_elf(tmp_path_factory):
    outdir = os.environ.get("SYSRET_VERIFY_FIXTURE_DIR") or str(tmp_path_factory.mktemp("fx"))
    with open(build_fixture("linux61_exit_checks", outdir), "rb") as f:
        return f.read()


# -- synthetic bzImages --------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_every_compression(method, fixture_elf, tmp_path, kernels_dir):
    bz = make_bzimage(compress(fixture_elf, method))
    p = tmp_path / "vmlinuz-fixture"
    p.write_bytes(bz)
    img = KernelImage.open(str(p))
    assert (img.format, img.compression, img.symbol_source) == ("bzImage", method, "symtab")
    assert img.path == str(p) and img.sha256 == hashlib.sha256(bz).hexdigest()
    elf = tmp_path / "vmlinux"
    elf.write_bytes(fixture_elf)
    ref = KernelImage.open(str(elf))
    assert img.entry.sysret_sites == ref.entry.sysret_sites and img.entry.syscall_entry == ref.entry.syscall_entry
    # decompressed once: the cache holds it under the vmlinuz's sha256
    cached = kernels_dir / "vmlinuz" / f"{img.sha256}.elf"
    assert cached.read_bytes()[:len(fixture_elf)] == fixture_elf
    assert KernelImage.open(str(p)).sha256 == img.sha256


def test_an_edited_cached_payload_is_decompressed_again(fixture_elf, tmp_path, kernels_dir):
    """The decompressed payload is cached under the vmlinuz's sha256; a
    cached file whose bytes were changed since (or with no digest recorded)
    is not trusted by its name: it is decompressed again."""
    p = tmp_path / "vmlinuz-fixture"
    p.write_bytes(make_bzimage(compress(fixture_elf, "gzip")))
    img = KernelImage.open(str(p))
    cached = kernels_dir / "vmlinuz" / f"{img.sha256}.elf"
    digest = (kernels_dir / "vmlinuz" / f"{img.sha256}.elf.sha256").read_text().strip()
    assert digest == hashlib.sha256(cached.read_bytes()).hexdigest()
    edited = bytearray(cached.read_bytes())
    edited[-1] ^= 0xFF  # e.g. a check's bytes patched in the cache
    cached.write_bytes(bytes(edited))
    KernelImage.open(str(p))
    assert cached.read_bytes()[:len(fixture_elf)] == fixture_elf
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == digest
    (kernels_dir / "vmlinuz" / f"{img.sha256}.elf.sha256").unlink()
    cached.write_bytes(bytes(edited))
    KernelImage.open(str(p))
    assert cached.read_bytes()[:len(fixture_elf)] == fixture_elf


def test_cli_names_the_vmlinuz(fixture_elf, tmp_path, kernels_dir):
    p = tmp_path / "vmlinuz-fixture"
    p.write_bytes(make_bzimage(compress(fixture_elf, "zstd")))
    env = dict(os.environ, SYSRET_VERIFY_CACHE=str(tmp_path / "results"))
    r = run_cli("inspect", str(p), "--format", "json", env=env)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["image"]["path"] == str(p) and d["image"]["format"] == "bzImage"
    assert d["image"]["compression"] == "zstd"
    assert (d["layout_source"], d["symbol_source"]) == ("BTF", "symtab")
    r = run_cli("inspect", str(p), env=env)
    assert "layout source: BTF" in r.stdout and "symbol source: symtab" in r.stdout
    out = tmp_path / "r.json"
    r = run_cli("check", str(p), "--format", "json", "-o", str(out), env=env)
    assert r.returncode in (0, 3), r.stderr
    res = json.loads(out.read_text())
    assert res["image"]["path"] == str(p)
    assert res["image"]["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()


def test_bad_bzimages_are_one_line_input_errors(fixture_elf, tmp_path, kernels_dir):
    good = make_bzimage(compress(fixture_elf, "gzip"))
    start, length = payload_of(good)
    cases = {
        "truncated": (good[:start + 100], "outside the file"),
        "unknown-method": (replace_payload(good, b"\x00" * 64), "unknown payload compression"),
        "corrupt-gzip": (good[:start + 20] + b"\xff" * 40 + good[start + 60:], "gzip"),
        "not-an-elf": (replace_payload(good, compress(b"hello" * 1000, "xz")), "not an ELF"),
        "old-protocol": (good[:0x206] + b"\x00\x02" + good[0x208:], "boot protocol"),
    }
    for name, (data, word) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        assert_input_error(run_cli("inspect", str(p)), word)


def test_payload_without_symbols(fixture_elf, tmp_path, kernels_dir):
    """A stripped payload and no kallsyms: an input error naming the way out."""
    elf = tmp_path / "vmlinux"
    elf.write_bytes(fixture_elf)
    subprocess.run(["objcopy", "--strip-all", str(elf)], check=True)
    p = tmp_path / "vmlinuz"
    p.write_bytes(make_bzimage(compress(elf.read_bytes(), "lz4")))
    with pytest.raises(InputError, match="no kallsyms tables found"):
        KernelImage.open(str(p))


def test_placeholder_system_map(fixture_elf, tmp_path, kernels_dir):
    assert is_placeholder_map_text(PLACEHOLDER, tmp_path)
    assert not is_placeholder_map_text("ffffffff81000000 T _text\nffffffff81000000 T _stext\n", tmp_path)
    # beside the image, and given with --system-map: noted on stderr, ignored
    p = tmp_path / "vmlinuz-6.1.0-fixture"
    p.write_bytes(make_bzimage(compress(fixture_elf, "bzip2")))
    (tmp_path / "System.map-6.1.0-fixture").write_text(PLACEHOLDER)
    img = KernelImage.open(str(p))
    assert img.system_map is None and img.symbol_source == "symtab"
    assert any("placeholder" in n for n in img.notes)
    r = run_cli("inspect", str(p), "--system-map", str(tmp_path / "System.map-6.1.0-fixture"))
    assert r.returncode == 0 and "placeholder" in r.stderr and "Traceback" not in r.stderr


def is_placeholder_map_text(text, tmp_path):
    p = tmp_path / "map"
    p.write_text(text)
    return is_placeholder_map(str(p))


# -- kallsyms ------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["6.12", "6.1", "old"])
@pytest.mark.parametrize("absolute", [True, False])
def test_kallsyms_layouts(layout, absolute):
    syms = sample_symbols()
    if not absolute:
        syms = [s for s in syms if s[0] >= 0xFFFFFFFF80000000]
    lead = bytes(range(256)) * 3 + b"0\x001\x002\x00"  # noise, including a partial digit run
    base = 0xFFFFFFFF82000000
    k = parse_rodata(kallsyms_blob(syms, layout, absolute, lead), base, "x")
    assert k.entries == [(a, n, t) for a, t, n in syms]
    assert k.absolute_percpu == absolute
    assert k.layout == ("6.12" if layout == "6.12" else "6.1")
    with pytest.raises(InputError, match="no kallsyms"):
        parse_rodata(b"\0" * 4096, base, "x")


# -- Debian's images -----------------------------------------------------------------------


def _vmlinuz(release):
    from verify.fetch import debian_vmlinuz

    try:
        return debian_vmlinuz(release, quiet=True)
    except Exception as e:  # a missing kernel must fail loudly in CI, not skip
        pytest.fail(f"cannot fetch Debian's vmlinuz {release}: {e}")


@pytest.fixture(scope="module")
def vmlinuz61():
    import debian_kernel

    return _vmlinuz(debian_kernel.KERNEL_61)


@pytest.fixture(scope="module")
def vmlinuz612():
    import debian_kernel

    return _vmlinuz(debian_kernel.KERNEL_612)


def _pair(which, kernel61, kernel612, vmlinuz61, vmlinuz612):
    return (kernel61, vmlinuz61, "lz4") if which == "61" else (kernel612, vmlinuz612, "zstd")


@pytest.mark.realkernel
@pytest.mark.parametrize("which", ["61", "612"])
def test_debian_vmlinuz_reads_like_the_dbg_vmlinux(which, kernel61, kernel612, vmlinuz61, vmlinuz612):
    """kallsyms in the image agree with the -dbg symtab: every symbol kallsyms
    lists is at its symtab address; the placeholder map beside it is ignored."""
    (vmlinux, sysmap), (vmlinuz, placeholder), method = _pair(which, kernel61, kernel612, vmlinuz61, vmlinuz612)
    assert is_placeholder_map(placeholder)
    z = KernelImage.open(vmlinuz)
    v = KernelImage.open(vmlinux)
    assert (z.format, z.compression, z.symbol_source) == ("bzImage", method, "kallsyms")
    assert z.build_id == v.build_id and z.version == v.version
    assert any("placeholder" in n for n in z.notes)
    ref = v.symbols
    bad = [(s.name, s.addr, ref.get(s.name)) for s in z.symbols.items()
           if s.addr >= 0xFFFFFFFF80000000 and ref.get(s.name) is not None and ref.get(s.name) != s.addr
           and not s.name.startswith("__pfx_")]
    # a static name defined twice keeps its first definition in both tables
    assert len(bad) < 0.001 * len(z.symbols), bad[:10]
    for name in ("entry_SYSCALL_64", "do_syscall_64", "x64_sys_call", "xen_entry_SYSCALL_64"):
        assert z.symbols.get(name) == ref.get(name), name
        assert z.symbols.size_of(name) == 0  # kallsyms has no sizes: unknown, never guessed
    assert z.entry.sysret_sites == v.entry.sysret_sites
    assert z.layout.pt_regs["cs"].value == 136 and z.layout.type_source == "BTF"


def _check(image, tmpdir, *extra, kernels=None):
    out = os.path.join(tmpdir, f"r-{os.path.basename(image)}.json")
    env = dict(os.environ, SYSRET_VERIFY_CACHE=os.path.join(tmpdir, "cache"))
    env.pop("SYSRET_VERIFY_ENGINE", None)
    if kernels:
        env["SYSRET_VERIFY_KERNELS"] = kernels
    r = subprocess.run([sys.executable, "-m", "verify.cli", "check", image, "--format", "json", "-o", out,
                        "--no-cache", "--quiet", *extra], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=900)
    assert "Traceback" not in r.stderr, r.stderr
    with open(out) as f:
        return r.returncode, json.load(f)


def _statuses(result):
    """(obligation, variant, site) -> (status, site): every SYSRET site,
    sysretq and the compat sysretl ones (issue 12)."""
    return {(o["id"], o["variant"]["name"], o["site"]["address"]): (o["status"], o["site"]["address"])
            for o in result["obligations"]}


RANK = {"violated": 0, "inconclusive": 1, "proven": 2}


@pytest.mark.realkernel
@pytest.mark.slow
@pytest.mark.parametrize("which", seed_kernels("61"))
def test_debian_vmlinuz_verdicts(which, kernel61, kernel612, vmlinuz61, vmlinuz612, tmp_path):
    """The vmlinuz (kallsyms: no sizes) gives, per obligation, site and
    variant, exactly the verdict of its -dbg vmlinux read with its System.map
    (no sizes), and every one proven, as the vmlinux read with its symtab
    (ELF sizes) is in test_real_kernels.py: Xen PV's
    xen_entry_SYSCALL_64 is recognised from its control flow, not its size
    (entries.is_xen_pv_entry; README, "The kernel as shipped")."""
    (vmlinux, sysmap), (vmlinuz, _), _m = _pair(which, kernel61, kernel612, vmlinuz61, vmlinuz612)
    rc, z = _check(vmlinuz, str(tmp_path))
    # (the vmlinux read with its symtab is test_real_kernels.py's: every
    # obligation proven at every site and variant, as asserted of z below;
    # not run a third time here, for CI time)
    rcm, m = _check(vmlinux, str(tmp_path), "--system-map", sysmap)
    assert (rc, z["verdict"]) == (rcm, m["verdict"])
    assert _statuses(z) == _statuses(m)
    for r in (z, m):
        used = {a["id"]: a for a in r["assumptions"]}
        assert "xen_entry_SYSCALL_64+" in json.dumps(used["xen-pv-entries"]), used.get("xen-pv-entries")
    assert z["image"]["path"] == vmlinuz
    with open(vmlinuz, "rb") as f:
        assert z["image"]["sha256"] == hashlib.sha256(f.read()).hexdigest()
    for (oid, variant, _at), (status, _site) in _statuses(z).items():
        assert status != "violated", (oid, variant)
    # every obligation at every site in every variant proven (issue 12: the
    # sysretq's whole set, the compat sysretl's)
    assert rc == 0 and {s for s, _a in _statuses(z).values()} == {"proven"}
    by_site: dict = {}
    for o in z["obligations"]:
        by_site.setdefault((o["site"]["symbol"], o["variant"]["name"]), set()).add(o["id"])
    sysretq = {k: ids for k, ids in by_site.items() if k[0].startswith("entry_SYSRETQ")}
    assert {k[1] for k in sysretq} == {"4-level", "la57", "xenpv"}
    assert all(ids == set(SITE_OBLIGATIONS["sysretq"]) for ids in sysretq.values())


# kallsyms-only bzImages of the Xen PV fixtures (tests/fixtures/*.S): the
# exemption without any size, and every way of sneaking a native jump past it
XEN_FIXTURES = {"xen_pv_entry_sizeless": "proven", "adv_xen_after_ret": "inconclusive",
                "adv_xen_gap_label": "inconclusive", "adv_xen_mid_entry": "inconclusive",
                "adv_r5_xen_name": "inconclusive"}


@pytest.mark.parametrize("name", sorted(XEN_FIXTURES))
def test_xen_pv_exemption_through_kallsyms(name, tmp_path, kernels_dir):
    """Each fixture stripped, its symbols only in kallsyms, in a bzImage:
    the Xen PV stub's jump is exempt (proven, as with its symtab), the
    native jumps next to or into xen_* code stay second entries."""
    from bzimage_util import strip_with_kallsyms

    outdir = os.environ.get("SYSRET_VERIFY_FIXTURE_DIR") or str(tmp_path / "fx")
    with open(build_fixture(name, outdir), "rb") as f:
        elf = f.read()
    ref = KernelImage.open(build_fixture(name, outdir))
    syms = [(s.addr, s.kind, s.name) for s in ref.symbols.items()]
    p = tmp_path / f"vmlinuz-{name}"
    p.write_bytes(make_bzimage(compress(strip_with_kallsyms(elf, syms, str(tmp_path), "6.1"), "lz4")))
    assert KernelImage.open(str(p)).symbol_source == "kallsyms"
    rc, res = _check(str(p), str(tmp_path), kernels=str(kernels_dir))
    assert res["verdict"] == XEN_FIXTURES[name] and rc == (0 if XEN_FIXTURES[name] == "proven" else 3), res["verdict"]
    used = {a["id"] for a in res["assumptions"]}
    assert ("xen-pv-entries" in used) == (name == "xen_pv_entry_sizeless"), used


def _seed(vmlinuz, tmpdir, func, pattern, at, new):
    """Patch the decompressed payload like the vmlinux seeds of
    tests/test_real_kernels.py, recompress it with the image's own method and
    rebuild the bzImage."""
    img = KernelImage.open(vmlinuz)
    start = img.symbols.lookup(func)
    code = img.read(start, 0x1000)
    off = code.find(pattern)
    assert off >= 0 and code.find(pattern, off + 1) < 0
    sec = img.elf.section_at(start)
    fo = sec.offset + (start - sec.addr) + off + at
    with open(img.elf.file, "rb") as f:
        elf = bytearray(f.read())
    elf[fo:fo + len(new)] = new
    with open(vmlinuz, "rb") as f:
        bz = f.read()
    out = os.path.join(tmpdir, "vmlinuz-seeded")
    with open(out, "wb") as f:
        f.write(replace_payload(bz, compress(bytes(elf), img.compression, fast=True)))
    return out, start + off + at


@pytest.mark.realkernel
@pytest.mark.slow
@pytest.mark.parametrize("which", seed_kernels("612"))
def test_debian_vmlinuz_seeded_bug(which, kernel61, kernel612, vmlinuz61, vmlinuz612, tmp_path, monkeypatch):
    """6.1: NOP the `jne` after the canonical check; 6.12: NOP the `jae`
    after the TASK_SIZE_MAX compare; in the payload, recompressed (lz4 / zstd).
    canonical-rip is violated in both paging modes at the SYSRET, with a
    replayed counterexample, as for the vmlinux seeded the same way
    (tests/test_real_kernels.py; with its System.map the statuses are the
    same as here, measured); nothing else is violated."""
    (vmlinux, sysmap), (vmlinuz, _), method = _pair(which, kernel61, kernel612, vmlinuz61, vmlinuz612)
    if which == "61":
        seed = ("entry_SYSCALL_64", bytes.fromhex("48c1f9104939cb0f85"), 7, b"\x90" * 6)
    else:
        seed = ("do_syscall_64", bytes.fromhex("48b900f0ffffff7f00004839c873"), 13, b"\x90" * 2)
    bad, addr = _seed(vmlinuz, str(tmp_path), *seed)
    monkeypatch.setenv("SYSRET_VERIFY_KERNELS", str(tmp_path / "kernels"))  # the seeded payload's cache
    assert KernelImage.open(bad).compression == method
    rc, z = _check(bad, str(tmp_path), kernels=str(tmp_path / "kernels"))
    assert rc == 1, z["verdict"]
    st = _statuses(z)
    violated = {k[:2] for k, (s, _a) in st.items() if s == "violated"}
    assert violated == {("canonical-rip", "4-level"), ("canonical-rip", "la57")}, violated
    sysret = {a for s, a in st.values() if s == "violated"}
    assert len(sysret) == 1
    for o in z["obligations"]:
        if o["status"] == "violated":
            assert o["counterexample"]["replayed"] is True
    # the site and obligation of the same seed in the vmlinux (tests/test_real_kernels.py)
    assert sysret == {"0xffffffff81c00227" if which == "61" else "0xffffffff81e001c8"}


@pytest.mark.realkernel
def test_debian_vmlinuz_with_a_real_or_a_wrong_system_map(kernel61, kernel612, vmlinuz61, tmp_path):
    """A real System.map beside the vmlinuz is used (and agrees with
    kallsyms); one from another build is a one-line input error."""
    import shutil

    import debian_kernel

    rel = debian_kernel.KERNEL_61
    z = tmp_path / f"vmlinuz-{rel}"
    shutil.copyfile(vmlinuz61[0], z)
    shutil.copyfile(kernel61[1], tmp_path / f"System.map-{rel}")
    img = KernelImage.open(str(z))
    assert img.symbol_source == "System.map" and img.system_map == str(tmp_path / f"System.map-{rel}")
    assert not img.notes and img.symbols.get("entry_SYSCALL_64") == 0xFFFFFFFF81C00080
    r = run_cli("inspect", str(z), "--system-map", kernel612[1])
    assert_input_error(r, "does not match", "in the image's kallsyms")


@pytest.mark.parametrize("layout", ["6.12", "6.1"])
def test_stripped_payload_symbols_from_kallsyms(layout, fixture_elf, tmp_path, kernels_dir):
    """A stripped payload: the symbols come from kallsyms, at the symtab's
    addresses, sizes unknown; the entry sites are the same."""
    from bzimage_util import strip_with_kallsyms

    elf = tmp_path / "vmlinux"
    elf.write_bytes(fixture_elf)
    ref = KernelImage.open(str(elf))
    syms = [(s.addr, s.kind, s.name) for s in ref.symbols.items()]
    p = tmp_path / "vmlinuz"
    p.write_bytes(make_bzimage(compress(strip_with_kallsyms(fixture_elf, syms, str(tmp_path), layout), "lz4")))
    img = KernelImage.open(str(p))
    assert img.symbol_source == "kallsyms" and not img.elf.has_symtab
    assert {s.name: s.addr for s in img.symbols.items()} == {s.name: s.addr for s in ref.symbols.items()}
    assert img.symbols.size_of("entry_SYSCALL_64") == 0
    assert img.entry.sysret_sites == ref.entry.sysret_sites
    r = run_cli("inspect", str(p))
    assert r.returncode == 0 and "symbol source: kallsyms" in r.stdout, r.stderr


def test_placeholder_map_with_a_vmlinux(fixture_elf, tmp_path):
    """Given with --system-map for an ELF: ignored when the ELF has its
    symtab, a one-line input error when it has none."""
    elf = tmp_path / "vmlinux"
    elf.write_bytes(fixture_elf)
    m = tmp_path / "System.map"
    m.write_text(PLACEHOLDER)
    img = KernelImage.open(str(elf), str(m))
    assert img.symbol_source == "symtab" and img.system_map is None and img.notes
    subprocess.run(["objcopy", "--strip-all", str(elf)], check=True)
    assert_input_error(run_cli("inspect", str(elf), "--system-map", str(m)), "placeholder")


# -- decompression bombs (found in review, kept) -----------------------------------------------


def test_zstd_bomb_is_refused_early(monkeypatch, tmp_path):
    """A zstd frame of RLE blocks (4 bytes claim 128 KiB each): refused at
    MAX_OUTPUT, never materialised whole."""
    import io
    import struct

    from verify.image import bzimage

    blocks = b"".join(struct.pack("<I", (131072 << 3) | (1 << 1))[:3] + b"\x00" for _ in range(10000))
    frame = b"\x28\xb5\x2f\xfd\x00\x38" + blocks  # window 128 KiB, no content size
    monkeypatch.setattr(bzimage, "MAX_OUTPUT", 16 << 20)
    with pytest.raises(InputError, match="more than 16 MiB"):
        bzimage.decompress_to(frame, io.BytesIO(), "bomb")


def test_lzo_long_match_is_refused_before_copying():
    """An LZO block of 4 MB claiming 4.1 MB whose match says a thousand
    million bytes (the container only bounds the compressed size by the
    claimed one): refused before anything is copied."""
    import io
    import struct

    from verify.image.lzo import LZOP_MAGIC, lzop_decompress

    header = LZOP_MAGIC + struct.pack(">HHHBBI", 0x1040, 0x2080, 0x0940, 1, 5, 0) + b"\0" * 12 + b"\0" + b"\0" * 4
    block = bytes([21]) + b"AAAA" + b"\x20" + b"\x00" * 4000000 + b"\x01" + b"\x00\x00" + b"\x11\x00\x00"
    data = header + struct.pack(">II", 4100000, len(block)) + block + b"\0\0\0\0"
    with pytest.raises(InputError, match="output overrun"):
        lzop_decompress(data, io.BytesIO(), "bomb")


def test_kallsyms_search_is_bounded():
    """A token table after a megabyte of marker look-alikes (0, 300, 600,
    ...): the search gives up with an input error in bounded time."""
    import struct
    import time

    base = 0xFFFFFFFF82000000
    blob = kallsyms_blob(sample_symbols(300), "6.12")
    t = parse_rodata(blob, base, "x").tables["kallsyms_token_table"] - base
    fake = struct.pack("<4I", 0, 300, 600, 900) * (1 << 16)
    t0 = time.monotonic()
    with pytest.raises(InputError, match="no kallsyms"):
        parse_rodata(fake + blob[t:], base, "x")
    assert time.monotonic() - t0 < 30


def test_reports_read_dwarf_lines_through_the_payload(tmp_path, kernels_dir):
    """A payload with DWARF: the text report says file:line like for the
    vmlinux (the renderers read the decompressed ELF, not the vmlinuz)."""
    import re

    from test_reports import VIOLATED_FX, _dwarf_fixture

    with open(_dwarf_fixture(VIOLATED_FX, tmp_path), "rb") as f:
        elf = f.read()
    p = tmp_path / "vmlinuz-dwarf"
    p.write_bytes(make_bzimage(compress(elf, "gzip")))
    env = dict(os.environ, SYSRET_VERIFY_CACHE=str(tmp_path / "results"))
    r = run_cli("check", str(p), env=env)
    assert r.returncode == 1, r.stderr
    errors = [ln for ln in r.stdout.splitlines() if ": error: " in ln]
    assert errors and all(re.match(rf".*tests/fixtures/{VIOLATED_FX}\.S:\d+: error: ", ln) for ln in errors), errors


def test_fifo_system_map_with_a_vmlinuz(fixture_elf, tmp_path, kernels_dir):
    """Refused at once (never opened: a FIFO would wait for a writer)."""
    p = tmp_path / "vmlinuz"
    p.write_bytes(make_bzimage(compress(fixture_elf, "gzip")))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_input_error(run_cli("inspect", str(p), "--system-map", str(fifo), timeout=60), "FIFO")
    elf = tmp_path / "vmlinux"
    elf.write_bytes(fixture_elf)
    assert_input_error(run_cli("inspect", str(elf), "--system-map", str(fifo), timeout=60), "FIFO")
