"""Bad inputs: exit status 2 and exactly one line on stderr, never a traceback."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def assert_input_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout[:500], r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    for w in words:
        assert w in lines[0], lines[0]


def test_text_file(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("this is not a kernel\n")
    assert_input_error(run_cli("inspect", str(p)), "not an ELF")


def test_empty_file(tmp_path):
    p = tmp_path / "empty"
    p.write_bytes(b"")
    assert_input_error(run_cli("inspect", str(p)), "empty")


def test_missing_file(tmp_path):
    assert_input_error(run_cli("inspect", str(tmp_path / "nope")), "no such file")


def test_directory(tmp_path):
    assert_input_error(run_cli("inspect", str(tmp_path)), "directory")


def test_userland_elf():
    assert_input_error(run_cli("inspect", "/bin/true"))


def test_i386_elf(tmp_path):
    if not (shutil.which("as") and shutil.which("ld")):
        pytest.skip("binutils not installed")
    (tmp_path / "a.s").write_text(".globl _start\n_start: ret\n")
    subprocess.run(["as", "--32", "a.s", "-o", "a.o"], cwd=tmp_path, check=True)
    subprocess.run(["ld", "-m", "elf_i386", "a.o", "-o", "a.out"], cwd=tmp_path, check=True)
    assert_input_error(run_cli("inspect", str(tmp_path / "a.out")), "not x86-64")


def test_unknown_format(tmp_path):
    p = tmp_path / "x"
    p.write_text("x")
    assert_input_error(run_cli("inspect", str(p), "--format", "yaml"), "--format")



def test_removed_merged_engine_is_refused(tmp_path):
    """The older path-merging engine gave wrong "proven" answers (issue 9)
    and was removed: asking for it, by option or by environment, is an input
    error naming the way out, never some other engine's answer; an unknown
    name likewise.  (The image is never opened: the name is checked first.)"""
    p = tmp_path / "x"
    p.write_text("x")
    assert_input_error(run_cli("check", str(p), "--engine", "merged"), "removed", "--engine summary")
    r = subprocess.run([sys.executable, "-m", "verify.cli", "check", str(p)], capture_output=True, text=True,
                       timeout=120, cwd=ROOT, env=dict(os.environ, SYSRET_VERIFY_ENGINE="merged"))
    assert_input_error(r, "removed")
    assert_input_error(run_cli("check", str(p), "--engine", "fast"), "unknown engine 'fast'")
    assert_input_error(run_cli("batch", str(p), "--engine", "merged", "-o", str(tmp_path / "out")), "removed")

@pytest.mark.realkernel
def test_truncated_vmlinux(kernel61, tmp_path):
    p = tmp_path / "vmlinux-truncated"
    with open(kernel61[0], "rb") as f:
        p.write_bytes(f.read(10 << 20))
    assert_input_error(run_cli("inspect", str(p)), "truncated")


@pytest.mark.realkernel
def test_other_machine(kernel61, tmp_path):
    """The real vmlinux with e_machine patched to AArch64 (183)."""
    p = tmp_path / "vmlinux-arm64"
    # Copy the headers only: the check happens before any section is read.
    with open(kernel61[0], "rb") as f:
        data = bytearray(f.read(64))
    data[18:20] = (183).to_bytes(2, "little")
    p.write_bytes(bytes(data) + b"\0" * 64)
    assert_input_error(run_cli("inspect", str(p)))


@pytest.mark.realkernel
def test_system_map_from_other_build(kernel61, kernel612):
    assert_input_error(run_cli("inspect", kernel61[0], "--system-map", kernel612[1]), "does not match")


@pytest.mark.realkernel
def test_system_map_missing(kernel61, tmp_path):
    assert_input_error(run_cli("inspect", kernel61[0], "--system-map", str(tmp_path / "nope")), "no such file")


@pytest.mark.realkernel
@pytest.mark.parametrize("addr", ["1ffffffff81000140", "-7efffec0"])
def test_system_map_address_out_of_range(kernel61, tmp_path, addr):
    """A map line whose address is no 64-bit address (review 56: it crashed
    the old reader, and the numpy one would have masked it into the kernel
    text): exit 2, naming the line."""
    p = tmp_path / "System.map"
    p.write_text(f"ffffffff81000000 T _text\n{addr} t bogus\n")
    assert_input_error(run_cli("inspect", kernel61[0], "--system-map", str(p)), "System.map:2", "64 bits")


@pytest.mark.realkernel
def test_system_map_type_not_one_letter(kernel61, tmp_path):
    """nm's type column is one letter; a longer one (a garbled line) would
    put the table's kind letters on other symbols: exit 2, naming the line."""
    p = tmp_path / "System.map"
    p.write_text("ffffffff81000000 T _text\nffffffff81000140 TT bogus\n")
    assert_input_error(run_cli("inspect", kernel61[0], "--system-map", str(p)), "System.map:2", "bad type")


@pytest.mark.realkernel
def test_system_map_garbage(kernel61, tmp_path):
    p = tmp_path / "System.map"
    p.write_text("hello\n")
    assert_input_error(run_cli("inspect", kernel61[0], "--system-map", str(p)))


# --- issue 10: a CI tool's manners ------------------------------------------------------


@pytest.mark.parametrize("cmd", ["check", "inspect"])
def test_fifo_is_refused_at_once(tmp_path, cmd):
    """Opening a FIFO would block until a writer comes: refused before open."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_input_error(run_cli(cmd, str(fifo)), "FIFO", "regular file")


def test_character_device_is_refused(tmp_path):
    assert_input_error(run_cli("check", "/dev/zero"), "character device")


def test_fifo_system_map_and_baseline_are_refused(kernel61, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_input_error(run_cli("inspect", kernel61[0], "--system-map", str(fifo)), "FIFO")
    assert_input_error(run_cli("check", kernel61[0], "--baseline", str(fifo)), "FIFO")


def test_internal_error_has_its_own_status(kernel61):
    """A crash inside the tool exits 4 with one line on stderr: never 0-3."""
    code = ("import sys, verify.prove as p\n"
            "def boom(*a, **k):\n    raise KeyError('simulated bug')\n"
            "p.check_image = boom\n"
            "from verify import cli\n"
            f"sys.exit(cli.main(['check', {kernel61[0]!r}, '--no-cache', '--quiet']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 4, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" in lines[0] and "KeyError" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_heartbeat_without_a_terminal(tmp_path):
    """Without a TTY, long work prints a heartbeat line (what, elapsed)."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from fixtures import build_fixture

    outdir = os.environ.get("SYSRET_VERIFY_FIXTURE_DIR") or str(tmp_path / "fx")
    image = build_fixture("linux61_exit_checks", outdir)
    env = dict(os.environ, SYSRET_VERIFY_HEARTBEAT="0.2", SYSRET_VERIFY_CACHE=str(tmp_path / "c"))
    r = subprocess.run([sys.executable, "-m", "verify.cli", "check", image, "--no-cache"], capture_output=True,
                       text=True, timeout=300, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    beats = [ln for ln in r.stderr.splitlines() if "still proving" in ln]
    assert beats and all("elapsed" in ln and "vmlinux-linux61_exit_checks" in ln for ln in beats), r.stderr


def test_debian_release_is_fetched_by_the_tool(kernel61, tmp_path):
    """`check --debian RELEASE` (issue 10): the tool fetches and caches the
    -dbg package itself; here the cache already holds it (conftest fetched
    it through the same code), so no network is needed.  What is asserted
    is which image was checked, so a 1 s budget (inconclusive, exit 3) does:
    the full check of that image is tests/test_real_kernels.py's."""
    release = os.path.basename(os.path.dirname(kernel61[0]))
    env = dict(os.environ, SYSRET_VERIFY_KERNELS=os.path.dirname(os.path.dirname(kernel61[0])),
               SYSRET_VERIFY_CACHE=str(tmp_path / "c"))
    out = tmp_path / "r.json"
    r = subprocess.run([sys.executable, "-m", "verify.cli", "check", "--debian", release, "--format", "json",
                        "-o", str(out), "--quiet", "--timeout", "1"], capture_output=True, text=True, timeout=600,
                       cwd=ROOT, env=env)
    assert r.returncode in (0, 3), r.stderr
    import json

    doc = json.loads(out.read_text())
    assert doc["image"]["path"] == kernel61[0] and doc["image"]["version"].startswith("Linux version 6.1")


def test_concurrent_fetches_of_one_release_download_once(tmp_path, monkeypatch):
    """verify.fetch: a second fetch of a release that another is downloading
    waits on the lock and takes the files it put in place (CI prefetches the
    kernels while the tests start): one download, both get the paths."""
    import threading
    import time

    from verify import fetch

    monkeypatch.setenv("SYSRET_VERIFY_KERNELS", str(tmp_path))
    release = "6.1.0-99-cloud-amd64"
    calls = []

    def fake_download(pkg, tmp, names, subdir, quiet, note):
        calls.append(pkg)
        time.sleep(0.5)  # the other fetch arrives meanwhile
        boot = os.path.join(tmp, subdir)
        os.makedirs(boot)
        for f in (f"System.map-{release}", f"vmlinux-{release}"):
            with open(os.path.join(boot, f), "w") as out:
                out.write(f)
        return boot

    monkeypatch.setattr(fetch, "_download_and_unpack", fake_download)
    got = []
    threads = [threading.Thread(target=lambda: got.append(fetch.debian_kernel(release, quiet=True)))
               for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.1)
    for t in threads:
        t.join(10)
    assert calls == [f"linux-image-{release}-dbg"]
    assert len(got) == 2 and got[0] == got[1] and all(os.path.exists(p) for p in got[0])


@pytest.mark.parametrize("args, words", [
    (["check"], ("IMAGE", "--debian")),
    (["check", "--debian", "x; rm -rf /"], ("not a Debian kernel release",)),
])
def test_debian_release_bad_usage(args, words):
    assert_input_error(run_cli(*args), *words)


@pytest.mark.parametrize("opt", ["-o", "--sarif", "--junit", "--write-baseline"])
def test_unwritable_report_path_is_refused_before_the_proof(tmp_path, opt):
    assert_input_error(run_cli("check", "/dev/null", opt, str(tmp_path / "no" / "such" / "dir" / "r")),
                       "cannot write a report there")
    assert_input_error(run_cli("check", "/dev/null", opt, str(tmp_path)), "cannot write a report there")


def test_symtab_of_a_partial_symbol(tmp_path):
    """A .symtab whose size is no whole number of 24-byte Elf64_Sym records
    (a corrupted or hand-edited image): exit 2 naming the table (pyelftools
    refuses it with the section headers), not a traceback from the numpy
    symbol reader."""
    if not (shutil.which("as") and shutil.which("ld")):
        pytest.skip("binutils not installed")
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from elftools.elf.elffile import ELFFile

    from fixtures.build import build_fixture

    src = build_fixture("linux61_exit_checks", tmp_path / "build")
    data = bytearray(open(src, "rb").read())
    with open(src, "rb") as f:
        elf = ELFFile(f)
        index = next(i for i, s in enumerate(elf.iter_sections()) if s.name == ".symtab")
        shoff, shentsize = elf.header["e_shoff"], elf.header["e_shentsize"]
    size_at = shoff + index * shentsize + 32  # Elf64_Shdr.sh_size
    size = int.from_bytes(data[size_at:size_at + 8], "little")
    data[size_at:size_at + 8] = (size - 1).to_bytes(8, "little")
    p = tmp_path / "vmlinux-partial-symtab"
    p.write_bytes(bytes(data))
    assert_input_error(run_cli("inspect", str(p)), ".symtab", "malformed ELF")


def test_unusable_kernel_cache_directory_is_an_input_error(tmp_path):
    """Review 174: a kernel cache directory that cannot be made is an input
    error (exit 2, one line), not an internal error."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = dict(os.environ, SYSRET_VERIFY_KERNELS=str(blocker / "kernels"))
    r = subprocess.run([sys.executable, "-m", "verify.cli", "check", "--debian", "6.1.0-50-cloud-amd64"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "kernel cache directory" in r.stderr, r.stderr
