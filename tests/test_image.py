"""The image layer on the two real Debian kernels and on a gcc -gbtf fixture:
entry sites, layout facts (with sources), patch sites and `inspect` output."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from verify.errors import InputError
from verify.image import KernelImage
from verify.image.btf import Btf
from verify.image.patches import X86_FEATURE_LA57, X86_FEATURE_XENPV, relocate, variants_at

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Addresses checked by hand against objdump -d of the Debian images.
EXPECTED = {
    "61": dict(entry=0xFFFFFFFF81C00080, sysret=0xFFFFFFFF81C00227, call_dsc=0xFFFFFFFF81C00121,
               dsc=0xFFFFFFFF819F9CC0, current_task=0x1FB80, top=0x1FB50),
    "612": dict(entry=0xFFFFFFFF81E00080, sysret=0xFFFFFFFF81E001C8, call_dsc=0xFFFFFFFF81E0012A,
                dsc=0xFFFFFFFF81C81EA0, current_task=0x35000, top=0x35018),
}


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="session")
def img61(kernel61):
    return KernelImage.open(kernel61[0])


@pytest.fixture(scope="session")
def img612(kernel612):
    return KernelImage.open(kernel612[0])


@pytest.fixture(params=["61", "612"])
def image(request, img61, img612):
    return request.param, (img61 if request.param == "61" else img612)


# -- entry -----------------------------------------------------------------------
@pytest.mark.realkernel
def test_entry_sites(image):
    ver, k = image
    exp = EXPECTED[ver]
    e = k.entry
    assert e.syscall_entry == exp["entry"]
    assert e.sysret_sites == [exp["sysret"]]
    assert len(e.iret_sites) == 1 and k.symbolize(e.iret_sites[0]) == "native_irq_return_iret"
    assert e.do_syscall_64_call == exp["call_dsc"]
    assert e.do_syscall_64 == exp["dsc"]
    assert e.dispatch["name"] == "x64_sys_call"
    assert e.dispatch["address"] == k.symbols.get("x64_sys_call")
    assert k.symbolize(e.dispatch["call"]).startswith("do_syscall_64+")
    lo, hi = e.entry_text
    assert lo <= e.syscall_entry < hi and hi - lo < 0x10000


# -- layout ----------------------------------------------------------------------
@pytest.mark.realkernel
def test_layout(image):
    ver, k = image
    lay = k.layout
    pt = {n: f.value for n, f in lay.pt_regs.items()}
    assert pt["ip"] == 128 and pt["cs"] == 136 and pt["flags"] == 144 and pt["ss"] == 160
    assert pt["cx"] == 88 and pt["r11"] == 48 and pt["sp"] == 152 and pt["r15"] == 0
    assert lay.pt_regs_size.value == 168
    assert lay.ti_status.value == 16 and lay.ti_flags.value == 0
    assert lay.tss_sp0.value == 0x6004 and lay.tss_sp2.value == 0x6014
    assert lay.current_task.value == EXPECTED[ver]["current_task"]
    assert lay.top_of_stack.value == EXPECTED[ver]["top"]
    c = lay.constants
    assert c["__USER_CS"].value == 0x33 and "push $0x33" in c["__USER_CS"].source
    assert c["__USER_DS"].value == 0x2B and "push $0x2b" in c["__USER_DS"].source
    assert c["TS_COMPAT"].value == 2
    assert c["TASK_SIZE_MAX_4LEVEL"].value == 0x7FFFFFFFF000
    assert c["TASK_SIZE_MAX_5LEVEL"].value == (1 << 56) - 4096
    assert c["X86_FEATURE_LA57"].value == 16 * 32 + 16 and c["X86_FEATURE_XENPV"].value == 8 * 32 + 16
    assert lay.pt_regs["cs"].source == "BTF struct pt_regs.cs"
    if ver == "612":
        assert "pcpu_hot" in lay.current_task.source


@pytest.mark.realkernel
def test_percpu_offsets_match_entry_code(img61):
    """The per-CPU facts are the %gs offsets entry_SYSCALL_64 really uses (6.1)."""
    lay = img61.layout
    code = img61.read(img61.entry.syscall_entry, 0x30)
    assert (0x6014).to_bytes(4, "little") in code  # mov %rsp,%gs:0x6014 (tss sp2)
    assert lay.top_of_stack.value.to_bytes(4, "little") in code  # mov %gs:0x1fb50,%rsp
    sysret_path = img61.read(img61.symbols.get("syscall_return_via_sysret"), 0x40)
    assert lay.tss_sp0.value.to_bytes(4, "little") in sysret_path  # mov %gs:0x6004,%rsp


@pytest.mark.realkernel
def test_layout_from_dwarf_without_btf(kernel61):
    """Forced DWARF fallback: stops at the first compile units that define the structs."""
    k = KernelImage.open(kernel61[0])
    k.__dict__["btf"] = None  # as if the image had no .BTF
    lay = k.layout
    assert lay.type_source == "DWARF"
    assert lay.pt_regs["cs"].value == 136 and lay.ti_status.value == 16 and lay.tss_sp2.value == 0x6014


# -- patch sites -------------------------------------------------------------------
@pytest.mark.realkernel
def test_entry_alternatives_61(img61):
    e = img61.entry
    sites = img61.patch_sites(*e.entry_text)
    by_feature = {s.feature: s for s in sites if s.kind == "alternative"}
    la57 = by_feature[X86_FEATURE_LA57]
    assert la57.feature_name == "X86_FEATURE_LA57" and la57.length == 8
    assert [v.code for v in la57.variants] == [bytes.fromhex("48c1e11048c1f910"), bytes.fromhex("48c1e10748c1f907")]
    xen = [s for s in sites if s.feature == X86_FEATURE_XENPV and s.addr == 0xFFFFFFFF81C00126][0]
    code = xen.variants[1].code
    # the replacement's jmp was re-targeted: it still reaches swapgs_restore_regs_and_return_to_usermode
    tgt = xen.addr + 5 + int.from_bytes(code[1:5], "little", signed=True)
    assert tgt == img61.symbols.get("swapgs_restore_regs_and_return_to_usermode")
    for s in sites:
        assert s.variants[0].label == "on-disk" and s.variants[0].code == img61.read(s.addr, s.length)
        assert all(v.code is None or len(v.code) == s.length for v in s.variants)


@pytest.mark.realkernel
def test_exit_path_paravirt_and_jump_labels_61(img61):
    lo = img61.symbols.get("syscall_exit_to_user_mode")
    sites = img61.patch_sites(lo, img61.symbols.function_end("syscall_exit_to_user_mode"))
    pv = [s for s in sites if s.kind == "paravirt"]
    assert pv and pv[0].detail.endswith("(irq.irq_disable)")
    labels = [v.label for v in variants_at(sites, pv[0].addr)]
    assert any("native: cli" in lab for lab in labels)
    assert any("target is data: pv_ops+0xf8" in lab for lab in labels)
    jl = [s for s in sites if s.kind == "jump_label"]
    assert jl and jl[0].detail.startswith("context_tracking_key")
    assert jl[0].key == img61.symbols.get("context_tracking_key")


@pytest.mark.realkernel
def test_task_size_max_patched_612(img612):
    """6.12 do_syscall_64's `ip >= TASK_SIZE_MAX` constant is an LA57 alternative."""
    dsc = img612.entry.do_syscall_64
    sites = img612.patch_sites(dsc, dsc + 0x200)
    la57 = [s for s in sites if s.feature == X86_FEATURE_LA57]
    assert len(la57) == 1
    on_disk, five = la57[0].variants
    assert on_disk.code == bytes.fromhex("48b900f0ffffff7f0000")  # movabs $0x7ffffffff000,%rcx
    assert five.code == bytes.fromhex("48b900f0ffffffffff00")  # movabs $0xfffffffffff000,%rcx
    direct = [s for s in sites if s.kind == "alternative" and s.flags & 2]  # ALT_FLAG_DIRECT_CALL
    assert direct and any(v.code is None and "pv_ops+0x100" in v.label for v in direct[0].variants)


@pytest.mark.realkernel
def test_table_layouts_detected(img61, img612):
    from verify.image.patches import tables

    assert tables(img61).alternatives[0].size == 12
    assert tables(img612).alternatives[0].size == 14
    assert tables(img61).paravirt[0].size == 16
    assert tables(img612).paravirt[1] == []  # no .parainstructions in 6.12
    assert len(tables(img612).jump_labels[1]) > 1000


def test_sections_that_a_loader_would_not_load_are_refused(tmp_path):
    """Review 49: `.text`'s sh_offset pointed at a pristine copy appended to
    the file while its PT_LOAD segment still loads the edited bytes (check 1
    NOP'd): the verifier read the copy and proved it.  The image is refused:
    the code read must be what a loader (parse_elf, kexec, PVH) loads."""
    import struct as st
    import subprocess as sp

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from fixtures.build import build_fixture

    data = bytearray(open(build_fixture("linux61_exit_checks", str(tmp_path / "b")), "rb").read())
    shoff, = st.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = st.unpack_from("<HHH", data, 0x3A)

    def sh(i):
        o = shoff + i * shentsize
        return (o,) + st.unpack_from("<IIQQQQ", data, o)

    strtab = sh(shstrndx)[5]
    hdr, name, _typ, _flags, _addr, off, size = next(
        sh(i) for i in range(shnum) if data[strtab + sh(i)[1]:].startswith(b".text\0"))
    pristine = bytes(data[off:off + size])
    i = pristine.index(b"\x49\x39\xcb\x75") + 3  # cmp %rcx,%r11; jne: check 1
    data[off + i:off + i + 2] = b"\x66\x90"
    data += b"\0" * ((-len(data)) % 0x1000)
    st.pack_into("<Q", data, hdr + 0x18, len(data))
    data += pristine
    decoy = tmp_path / "vmlinux-decoy"
    decoy.write_bytes(bytes(data))
    r = sp.run([sys.executable, "-m", "verify.cli", "check", "--no-cache", "--quiet", str(decoy)],
               capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "PT_LOAD" in r.stderr, (r.returncode, r.stderr)


def test_a_system_map_that_swaps_names_is_refused(tmp_path):
    """Review 49: a map is checked against the image's own symbol table on
    every name both define, not on a sample: swapping two per-CPU names
    (current_task and another) would change what the prover reads."""
    import subprocess as sp

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from fixtures.build import build_fixture

    v = build_fixture("adv_r49_map_current_alias", str(tmp_path / "b"))
    lines = sp.run(["nm", "-n", v], capture_output=True, text=True, check=True).stdout.splitlines()
    swap = {"current_task": "shadow_task", "shadow_task": "current_task"}
    out = []
    for ln in lines:
        parts = ln.split()
        if len(parts) == 3 and parts[2] in swap:
            parts[2] = swap[parts[2]]
        out.append(" ".join(parts))
    good, bad = tmp_path / "good.map", tmp_path / "swapped.map"
    good.write_text("\n".join(lines) + "\n")
    bad.write_text("\n".join(out) + "\n")
    run = [sys.executable, "-m", "verify.cli", "inspect", "--system-map"]
    assert sp.run(run + [str(good), v], capture_output=True, cwd=ROOT).returncode == 0
    r = sp.run(run + [str(bad), v], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "does not match" in r.stderr and "_task" in r.stderr, r.stderr


def test_relocate_keeps_absolute_targets():
    # jmp rel32 to 0x2000 linked at 0x1000 -> moved to 0x1800 still reaches 0x2000
    code = b"\xe9" + (0x2000 - 0x1005).to_bytes(4, "little", signed=True)
    moved = relocate(code, 0x1000, 0x1800)
    assert 0x1805 + int.from_bytes(moved[1:5], "little", signed=True) == 0x2000
    # a jump inside the code is left alone
    assert relocate(b"\xeb\x00\x90", 0x1000, 0x1800) == b"\xeb\x00\x90"


# -- inspect ---------------------------------------------------------------------
@pytest.mark.realkernel
@pytest.mark.parametrize("which", ["61", "612"])
def test_inspect_json(which, kernel61, kernel612):
    vmlinux = (kernel61 if which == "61" else kernel612)[0]
    r = run_cli("inspect", vmlinux, "--format", "json", "--sha256")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) >= {"tool", "image", "symbols", "entry", "layout", "patch_sites", "path_functions"}
    assert d["image"]["build_id"] and d["image"]["version"].startswith("Linux version")
    assert len(d["image"]["sha256"]) == 64
    # without --sha256 the 600 MB hash is skipped (it alone costs ~3x nm)
    assert json.loads(run_cli("inspect", vmlinux, "--format", "json").stdout)["image"]["sha256"] is None
    exp = EXPECTED[which]
    assert d["entry"]["syscall_entry"] == {"address": hex(exp["entry"]), "symbol": "entry_SYSCALL_64"}
    assert d["entry"]["sysret_sites"][0]["address"] == hex(exp["sysret"])
    assert d["layout"]["pt_regs"]["ip"]["value"] == 128
    assert d["layout"]["constants"]["__USER_CS"]["hex"] == "0x33"
    names = [f["name"] for f in d["path_functions"]]
    assert names[0] == "do_syscall_64" and "syscall_exit_to_user_mode" in names
    kinds = {s["kind"] for s in d["patch_sites"]}
    assert {"alternative", "jump_label", "return_thunk"} <= kinds
    for s in d["patch_sites"]:
        assert s["address"].startswith("0xffffffff") and s["variants"][0]["label"] == "on-disk"
    assert any(s["feature_name"] == "X86_FEATURE_LA57" for s in d["patch_sites"])


@pytest.mark.realkernel
def test_inspect_text(kernel612):
    r = run_cli("inspect", kernel612[0])
    assert r.returncode == 0, r.stderr
    assert "sysretq               0xffffffff81e001c8" in r.stdout
    assert "X86_FEATURE_LA57" in r.stdout


# -- stripped copies -------------------------------------------------------------
@pytest.fixture(scope="session")
def stripped61(kernel61, tmp_path_factory):
    if not shutil.which("objcopy"):
        pytest.skip("objcopy not installed")
    d = tmp_path_factory.mktemp("stripped")
    nodebug, nosyms = str(d / "vmlinux-nodebug"), str(d / "vmlinux-nosyms")
    subprocess.run(["objcopy", "--strip-debug", kernel61[0], nodebug], check=True)
    subprocess.run(["objcopy", "--strip-all", kernel61[0], nosyms], check=True)
    return nodebug, nosyms, kernel61[1]


@pytest.mark.realkernel
def test_inspect_strip_debug(stripped61):
    r = run_cli("inspect", stripped61[0], "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["layout"]["type_source"] == "BTF"  # .BTF is allocated: strip --debug keeps it
    assert d["entry"]["sysret_sites"][0]["address"] == hex(EXPECTED["61"]["sysret"])


@pytest.mark.realkernel
def test_inspect_strip_all_with_system_map(stripped61):
    _, nosyms, sysmap = stripped61
    r = run_cli("inspect", nosyms)
    assert r.returncode == 2 and "system-map" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("inspect", nosyms, "--system-map", sysmap, "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["symbols"]["source"].startswith("System.map")
    assert d["entry"]["do_syscall_64_call"]["address"] == hex(EXPECTED["61"]["call_dsc"])
    assert d["layout"]["percpu"]["current_task"]["value"] == 0x1FB80


# -- gcc -gbtf fixture -------------------------------------------------------------
FIXTURE_TYPES = r"""
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip;
	union { unsigned short cs; struct { unsigned long __csh:16, fred:48; }; };
	unsigned long flags, sp;
	union { unsigned short ss; unsigned long __ssx; };
};
struct thread_info { unsigned long flags; unsigned long syscall_work; unsigned int status; };
struct task_struct { struct thread_info thread_info; unsigned int __state; };
struct pt_regs a; struct task_struct b;
"""
FIXTURE_TSS = r"""
typedef unsigned long u64;
struct x86_hw_tss { unsigned int reserved1; u64 sp0, sp1, sp2; } __attribute__((packed));
struct tss_struct { const struct x86_hw_tss x86_tss; };
struct tss_struct c;
"""
FIXTURE_ENTRY = r"""
	.text
	.globl entry_SYSCALL_64, do_syscall_64
entry_SYSCALL_64:
	swapgs
	movq %rsp, %gs:0x6014
	movq %gs:0x1fb50, %rsp
	pushq $0x2b
	pushq %gs:0x6014
	pushq %r11
	pushq $0x33
	pushq %rcx
	call do_syscall_64
	sysretq
do_syscall_64:
	ret
	.globl current_task, cpu_current_top_of_stack, cpu_tss_rw
	.set current_task, 0x1fb80
	.set cpu_current_top_of_stack, 0x1fb50
	.set cpu_tss_rw, 0x6000
"""


@pytest.fixture(scope="module")
def gbtf_fixture(tmp_path_factory):
    for tool in ("gcc", "as", "ld"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed")
    d = tmp_path_factory.mktemp("gbtf")
    (d / "types.c").write_text(FIXTURE_TYPES)
    (d / "tss.c").write_text(FIXTURE_TSS)
    (d / "entry.S").write_text(FIXTURE_ENTRY)
    r = subprocess.run(["gcc", "-gbtf", "-c", "types.c", "tss.c"], cwd=d, capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"gcc -gbtf unsupported: {r.stderr.strip()[:200]}")
    subprocess.run(["as", "entry.S", "-o", "entry.o"], cwd=d, check=True)
    subprocess.run(["ld", "-o", "vmlinux", "-Ttext=0xffffffff81000000", "-e", "entry_SYSCALL_64",
                    "entry.o", "types.o", "tss.o"], cwd=d, check=True, capture_output=True)
    return str(d / "vmlinux")


def test_gcc_btf_fixture(gbtf_fixture):
    k = KernelImage.open(gbtf_fixture)
    assert len(k.btf.blobs) == 2  # one blob per object file, concatenated by ld
    lay = k.layout
    assert lay.type_source == "BTF"
    assert lay.pt_regs["cs"].value == 136 and lay.pt_regs["ss"].value == 160 and lay.pt_regs_size.value == 168
    assert lay.ti_status.value == 16 and lay.tss_sp0.value == 0x6004 and lay.tss_sp2.value == 0x6014
    assert lay.constants["__USER_CS"].source.startswith("entry_SYSCALL_64+")
    e = k.entry
    assert e.sysret_sites == [e.syscall_entry + 0x29] and e.do_syscall_64_call == e.syscall_entry + 0x24


def test_missing_types_is_input_error(gbtf_fixture, tmp_path):
    bare = tmp_path / "vmlinux-nobtf"
    subprocess.run(["objcopy", "--remove-section", ".BTF", gbtf_fixture, str(bare)], check=True)
    k = KernelImage.open(str(bare))
    with pytest.raises(InputError, match="no .BTF and no DWARF"):
        k.layout
    r = run_cli("inspect", str(bare))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_btf_rejects_garbage():
    with pytest.raises(InputError):
        Btf(b"\x9f\xeb\x01\x00\x18\x00\x00\x00" + b"\xff" * 16)


def test_unknown_table_layout_is_input_error():
    """A special section that fits no known record layout is refused, not guessed."""
    from types import SimpleNamespace

    from verify.image.patches import ALT_LAYOUTS, PatchTables

    t = PatchTables.__new__(PatchTables)
    t.elf = SimpleNamespace(path="vmlinux")
    with pytest.raises(InputError, match="no known record layout fits"):
        t._detect(".altinstructions", 0, b"\0" * 13, ALT_LAYOUTS, lambda lay, at, r: True)
    with pytest.raises(InputError, match="entry 0 does not decode"):
        t._detect(".altinstructions", 0, b"\0" * 12, ALT_LAYOUTS, lambda lay, at, r: False)


@pytest.mark.realkernel
def test_inspect_does_not_import_angr(kernel61):
    code = ("import sys; from verify.cli import main; rc = main(['inspect', sys.argv[1], '-o', '/dev/null']); "
            "assert rc == 0 and 'angr' not in sys.modules and 'pyvex' not in sys.modules, sorted(sys.modules)")
    r = subprocess.run([sys.executable, "-c", code, kernel61[0]], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]


def test_relocate_61_rules_copy_other_branches_verbatim():
    # 6.1 only re-targets a leading jmp or a lone 5-byte call; a later jmp is copied as is
    code = b"\x90" + b"\xe9" + (0x2000 - 0x1006).to_bytes(4, "little", signed=True)
    assert relocate(code, 0x1000, 0x1800, full=False) == code
    moved = relocate(code, 0x1000, 0x1800, full=True)
    assert 0x1806 + int.from_bytes(moved[2:6], "little", signed=True) == 0x2000
    call = b"\xe8" + (0x3000 - 0x1005).to_bytes(4, "little", signed=True)
    moved = relocate(call, 0x1000, 0x1800, full=False)
    assert 0x1805 + int.from_bytes(moved[1:5], "little", signed=True) == 0x3000


def test_relocate_follows_the_kernels_rules_at_the_edges():
    """6.12 need_reloc(): a branch to the replacement's end (a label after
    its last instruction) is internal, so after patching it lands at the
    end of the patched site (adv_r46_alt_endlabel_reloc); `loop` is never
    relocated; a JMP32 whose moved displacement fits 8 bits is re-encoded.
    6.1 recompute_jump(): only a 5-byte replacement's leading jmp moves."""
    # jnc rel32 to the code's end (0x1000 + 8): left alone, as the kernel does
    code = b"\x0f\x83" + (2).to_bytes(4, "little", signed=True) + b"\x90\x90"
    assert relocate(code, 0x1000, 0x900000) == code
    # one byte further is outside: moved to keep its absolute target
    code = b"\x0f\x83" + (3).to_bytes(4, "little", signed=True) + b"\x90\x90"
    moved = relocate(code, 0x1000, 0x900000)
    assert 0x900006 + int.from_bytes(moved[2:6], "little", signed=True) == 0x1009
    # loop rel8 to outside: copied verbatim (relative to the site after patching)
    assert relocate(b"\xe2\x10\x90", 0x1000, 0x1800) == b"\xe2\x10\x90"
    # jmp rel32 to 0x15 bytes past the site: jmp rel8 (0x1802 + 0x13) and int3s
    code = b"\xe9" + (0x1815 - 0x1005).to_bytes(4, "little", signed=True)
    assert relocate(code, 0x1000, 0x1800) == b"\xeb\x13\xcc\xcc\xcc"
    # 6.1: a 5-byte jmp near the site becomes a 2-byte jmp and a nop
    code = b"\xe9" + (0x1810 - 0x1005).to_bytes(4, "little", signed=True)
    moved = relocate(code, 0x1000, 0x1800, full=False)
    assert moved[:2] == b"\xeb\x0e" and len(moved) == 5
    # 6.1: a jmp starting a longer replacement is copied verbatim
    code = b"\xe9" + (0x2000 - 0x1005).to_bytes(4, "little", signed=True) + b"\x90"
    assert relocate(code, 0x1000, 0x1800, full=False) == code


def test_sites_boot_would_rewrite_as_nops_are_refused():
    """6.12 optimize_nops() takes any opcode 0x90 but `pause` for a NOP (REX
    is no prefix to insn_is_nop): `xchg %r8,%rax` in a run of NOP-like
    instructions that does not start at the site's last instruction would
    be overwritten at boot (review 47; the run after a NOP takes a last
    xchg too, adv_r80_alt_nop_xchg_last)."""
    from verify.image.patches import nops_rewrite

    assert nops_rewrite(b"\x49\x90\x90")       # xchg %r8,%rax; nop
    assert nops_rewrite(b"\x41\x90\xc3")       # xchg %r8d,%eax; ret
    assert nops_rewrite(b"\x90\x49\x90")       # nop; xchg: skip_nops() runs over the last one
    assert not nops_rewrite(b"\xc3\x49\x90")   # a last instruction alone is left ("already optimized")
    assert not nops_rewrite(b"\x48\x90\x90")   # REX.W 90 is a NOP
    assert not nops_rewrite(b"\xf3\x90\x90")   # pause


def test_symbol_starts_count_every_definition_of_a_repeated_static_name():
    """adv_r20_sysret_dupname (review 20): two objects' static `dupname`
    (ld keeps both, the table keeps the first by name) made symbol_start see
    only the first while next_symbol saw both, so a SYSRET hit inside the
    second got a range from the first's start and lost the jump into it."""
    from verify.image.elf import SymbolTable

    base = 0xFFFFFFFF81000000
    syms = SymbolTable([(base, 0x40, "dupname", "T"), (base + 0x100, 0x20, "other", "T"),
                        (base + 0x200, 0x40, "dupname", "T")], "test")
    assert syms.symbol_start(base + 0x210) == base + 0x200
    assert syms.next_symbol(base + 0x110) == base + 0x200
    assert syms.addresses_in(base, base + 0x300) == [base, base + 0x100, base + 0x200]
    assert syms.get("dupname") == base  # the first definition by name, as before


def test_kernel_text_runs_to_the_page_end_after_etext():
    """branches.kernel_text: the kernel makes memory NX only from
    PFN_ALIGN(_etext) on (mark_rodata_ro), so the rest of _etext's page is
    code to the SYSRET search (adv_r22_sysret_etext_page); an aligned
    _etext (Debian's) is its own end, and no range without both symbols."""
    from types import SimpleNamespace

    from verify.image.branches import kernel_text

    def image(**syms):
        return SimpleNamespace(symbols=SimpleNamespace(get=syms.get))

    assert kernel_text(image(_text=0xffffffff81000000, _etext=0xffffffff81000413)) == \
        (0xffffffff81000000, 0xffffffff81001000)
    assert kernel_text(image(_text=0xffffffff81000000, _etext=0xffffffff82000000)) == \
        (0xffffffff81000000, 0xffffffff82000000)
    assert kernel_text(image(_text=0xffffffff81000000)) is None


def test_image_hash_finished_by_the_caller_when_the_thread_is_starved(tmp_path):
    """The background hash runs at nice 19: on a machine other jobs keep busy
    it may never get a core, so the caller that needs the hash finishes it
    from where the thread stopped.  Whether stopped before the first byte,
    part way or after the end, the digest is the file's."""
    import hashlib

    from verify.image.elf import ElfImage

    data = os.urandom((9 << 20) + 12345)  # more than two of the thread's 4 MiB reads
    p = tmp_path / "blob"
    p.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    elf = ElfImage.__new__(ElfImage)  # only the open file is needed to hash (its descriptor, review 174)
    elf.file = str(p)
    elf._fh = open(p, "rb")
    h, offset = elf._hash(hurry=_set_event())
    assert offset == 0
    h, offset = elf._hash(resume=(h, offset))
    assert offset is None and h == want
    part = hashlib.sha256(data[: 4 << 20])
    assert elf._hash(resume=(part, 4 << 20)) == (want, None)


def _set_event():
    import threading

    e = threading.Event()
    e.set()
    return e


def test_dwarf_member_offset_forms():
    """A DW_TAG_member's offset: absent is 0 (a union member), a constant
    (DWARF 4+), DW_OP_plus_uconst N (DWARF 2/3, ULEB128 N); any other
    location expression is not evaluated (None: the member counts as not
    described, never as at offset 0, which the fallback read before)."""
    from types import SimpleNamespace as A

    from verify.image.layout import _member_offset

    assert _member_offset(None) == 0
    assert _member_offset(A(value=136)) == 136
    assert _member_offset(A(value=[0x23, 0x90, 0x01])) == 144
    assert _member_offset(A(value=[0x23, 0x10, 0x06])) is None  # (trailing operation)
    assert _member_offset(A(value=[0x10, 0x05])) is None  # DW_OP_constu: not evaluated
