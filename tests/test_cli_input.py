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
def test_system_map_garbage(kernel61, tmp_path):
    p = tmp_path / "System.map"
    p.write_text("hello\n")
    assert_input_error(run_cli("inspect", kernel61[0], "--system-map", str(p)))
