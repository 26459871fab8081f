"""The prover against the assembled fixture kernels (tests/fixtures/).

Each fixture is built at test time (gcc + ld, cached per session) and checked
with the real command line, `sysret-verify check VMLINUX --format json`.  The
expected verdicts and violated obligation sets are `fixtures.EXPECTED`
(reasons in tests/fixtures/EXPECTED.md and at the top of each .S).

What is asserted for every fixture:
- exit status 0 (proven) or 1 (violated), and the JSON verdict;
- the set of violated obligation ids is exactly the expected set, every other
  obligation entry is "proven" (not inconclusive), and all six ids appear;
- each violated entry sits at the fixture's sysretq (found independently with
  objdump) and names entry_SYSRETQ_unsafe_stack;
- each counterexample was replayed and its concrete values really falsify the
  obligation (recomputed here from registers / pt_regs / ti_status);
- each counterexample path runs from entry_SYSCALL_64 to the sysretq;
- the text format prints `<image>: error: <symbol>+0x..: <id>: ...` per violation.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys

import pytest
from clirun import run_cli
from elftools.elf.elffile import ELFFile

from fixtures import ALL_OBLIGATIONS, EXPECTED, fixture_kernels, fixture_names  # noqa: F401 (pytest fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = sorted(EXPECTED)
BUGGY = [n for n in NAMES if EXPECTED[n]]
CHECK_TIMEOUT = 900  # seconds for one `sysret-verify check` subprocess

USER_CS, USER_DS, TS_COMPAT, RF_TF = 0x33, 0x2B, 0x2, 0x10100
REQUIRED_SYMBOLS = ("entry_SYSCALL_64", "do_syscall_64", "x64_sys_call", "syscall_exit_to_user_mode",
                    "exit_to_user_mode_prepare", "swapgs_restore_regs_and_return_to_usermode",
                    "entry_SYSRETQ_unsafe_stack", "current_task", "cpu_current_top_of_stack", "cpu_tss_rw",
                    "linux_banner", "__entry_text_start", "__entry_text_end")
PERCPU_SYMBOLS = ("current_task", "cpu_current_top_of_stack", "cpu_tss_rw")


def _cli() -> list[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "sysret-verify")
    if os.path.exists(exe):
        return [exe]
    found = shutil.which("sysret-verify")
    return [found] if found else [sys.executable, "-m", "verify.cli"]


def _run(args: list[str], timeout: float = CHECK_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(_cli() + args, capture_output=True, text=True, timeout=timeout)


def _symbols(path: str) -> dict[str, int]:
    with open(path, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in symtab.iter_symbols() if s.name}


def _sysretq_sites(path: str) -> list[int]:
    """Addresses of every sysretq, from objdump (independent of the verifier)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True, text=True,
                         check=True).stdout
    return [int(m.group(1), 16) for m in re.finditer(r"^\s*([0-9a-f]+):\s+sysretq?\b", out, re.M)]


def _int(v) -> int:
    return int(v, 16) if isinstance(v, str) else int(v)


def _canonical48(v: int) -> bool:
    top = v >> 47
    return top == 0 or top == (1 << 17) - 1


def _falsified(oid: str, cex: dict) -> bool:
    """Do the counterexample's concrete values make obligation `oid` false?"""
    regs, frame = cex["registers"], cex["pt_regs"]
    if oid == "rcx-is-rip":
        return _int(regs["rcx"]) != _int(frame["ip"])
    if oid == "canonical-rip":
        return not _canonical48(_int(regs["rcx"]))
    if oid == "r11-is-rflags":
        return _int(regs["r11"]) != _int(frame["flags"])
    if oid == "rflags-no-rf-tf":
        return _int(regs["r11"]) & RF_TF != 0
    if oid == "rflags-if-iopl":
        return _int(regs["r11"]) & 0x3200 != 0x200  # IF clear or IOPL != 0
    if oid == "user-cs-ss":
        return _int(frame["cs"]) != USER_CS or _int(frame["ss"]) != USER_DS
    if oid == "ts-compat-clear":
        return _int(cex["ti_status"]) & TS_COMPAT != 0
    if oid == "user-rsp":
        return _int(regs["rsp"]) != _int(frame["sp"])
    if oid == "no-kernel-data":
        slots = {"rax": "ax", "rbx": "bx", "rdx": "dx", "rsi": "si", "rdi": "di", "rbp": "bp"}
        user = cex.get("user_entry") or {}
        return any(_int(regs[r]) not in (0, _int(frame[slots.get(r, r)]), _int(user.get(r, "0x0")))
                   for r in ("rax", "rbx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r12", "r13", "r14", "r15")
                   if r in regs)
    if oid in ("user-gs", "user-cr3", "irqs-off"):
        # state the registers do not show (GS base, CR3, IF): the replay
        # (re-decided with every input pinned) is the check
        return cex.get("replayed") is True
    raise AssertionError(f"unknown obligation id {oid}")


# --- results, computed once per session ------------------------------------------

@pytest.fixture(scope="session")
def check_json(fixture_kernels):  # noqa: F811
    cache: dict[str, tuple[subprocess.CompletedProcess, dict | None]] = {}

    def get(name: str):
        if name not in cache:
            r = run_cli(["check", fixture_kernels(name), "--format", "json", "--quiet"], timeout=CHECK_TIMEOUT)
            try:
                doc = json.loads(r.stdout)
            except ValueError:
                doc = None
            cache[name] = (r, doc)
        return cache[name]

    return get


# --- the fixture set itself --------------------------------------------------------

def test_every_fixture_has_an_expectation():
    assert set(fixture_names()) == set(EXPECTED)


def test_expected_md_agrees_with_expected():
    rows = {}
    with open(os.path.join(HERE, "fixtures", "EXPECTED.md")) as f:
        for line in f:
            m = re.match(r"^\| `(\w+)` \|[^|]*\| (proven|violated) \| ([^|]*) \|", line)
            if m:
                ids = m.group(3).strip()
                rows[m.group(1)] = (m.group(2), frozenset() if ids == "(none)" else
                                    frozenset(i.strip() for i in ids.split(",")))
    assert rows == {n: ("violated" if e else "proven", e) for n, e in EXPECTED.items()}


def test_expected_ids_are_obligation_ids():
    from verify.obligations import SITE_OBLIGATIONS

    assert set(ALL_OBLIGATIONS) == set(SITE_OBLIGATIONS["sysretq"])
    for name, ids in EXPECTED.items():
        assert ids <= set(SITE_OBLIGATIONS["sysretq"]), name


@pytest.mark.parametrize("name", NAMES)
def test_fixture_layout(fixture_kernels, name):  # noqa: F811
    """The built image looks like a vmlinux: what the image reader relies on."""
    path = fixture_kernels(name)
    with open(path, "rb") as f:
        elf = ELFFile(f)
        assert elf["e_type"] == "ET_EXEC" and elf["e_machine"] == "EM_X86_64"
        text = elf.get_section_by_name(".text")
        assert text["sh_addr"] == 0xFFFFFFFF81000000
        percpu = elf.get_section_by_name(".data..percpu")
        assert percpu is not None and percpu["sh_addr"] == 0 and percpu["sh_size"] > 0
        btf = elf.get_section_by_name(".BTF")
        assert btf is not None
        data = btf.data()
        assert struct.unpack_from("<H", data)[0] == 0xEB9F
        # one blob: the header's type + string lengths cover the whole section
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<IIIII", data, 4)
        assert hdr_len + str_off + str_len == len(data)
        for word in (b"pt_regs", b"thread_info", b"task_struct", b"x86_hw_tss", b"tss_struct", b"current_task"):
            assert word + b"\0" in data, word
        notes = elf.get_section_by_name(".notes")
        assert notes is not None and any(n["n_type"] == "NT_GNU_BUILD_ID" for n in notes.iter_notes())
        rodata = elf.get_section_by_name(".rodata")
        syms = _symbols(path)
        for s in REQUIRED_SYMBOLS:
            assert s in syms, s
        for s in PERCPU_SYMBOLS:
            assert 0 <= syms[s] < percpu["sh_size"], s
        off = syms["linux_banner"] - rodata["sh_addr"]
        banner = rodata.data()[off:off + 200].split(b"\0")[0].decode()
        assert banner.startswith(f"Linux version 0.0.0-fixture-{name} ") and banner.endswith("\n")
    lo, hi = syms["__entry_text_start"], syms["__entry_text_end"]
    assert lo <= syms["entry_SYSCALL_64"] < hi
    sites = _sysretq_sites(path)
    assert len(sites) == 1 and lo <= sites[0] < hi
    assert sites[0] == syms["entry_SYSRETQ_unsafe_stack"] + 3  # swapgs; sysretq


@pytest.mark.parametrize("name", NAMES)
def test_inspect(fixture_kernels, name):  # noqa: F811
    path = fixture_kernels(name)
    r = _run(["inspect", path, "--format", "json"], timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    text = json.dumps(doc)
    assert f"0.0.0-fixture-{name}" in text
    assert f"{_sysretq_sites(path)[0]:#x}" in text


# --- the prover ------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_check_verdict_and_violated_set(check_json, fixture_kernels, name):  # noqa: F811
    r, doc = check_json(name)
    expected = EXPECTED[name]
    assert r.returncode == (1 if expected else 0), f"exit {r.returncode}\n{r.stderr}"
    assert doc is not None, f"not JSON:\n{r.stdout[:2000]}"
    assert doc["verdict"] == ("violated" if expected else "proven")
    obligations = doc["obligations"]
    assert {o["id"] for o in obligations} == set(ALL_OBLIGATIONS)
    violated = {o["id"] for o in obligations if o["status"] == "violated"}
    assert violated == expected
    for o in obligations:
        if o["id"] not in expected:
            assert o["status"] == "proven", o
    assert doc["image"]["build_id"]
    assert f"0.0.0-fixture-{name}" in (doc["image"].get("version") or "")


@pytest.mark.parametrize("name", BUGGY)
def test_check_counterexamples(check_json, fixture_kernels, name):  # noqa: F811
    r, doc = check_json(name)
    assert doc is not None, r.stderr
    path = fixture_kernels(name)
    syms = _symbols(path)
    [sysretq] = _sysretq_sites(path)
    entry = syms["entry_SYSCALL_64"]
    violated = [o for o in doc["obligations"] if o["status"] == "violated"]
    assert violated
    for o in violated:
        assert _int(o["site"]["address"]) == sysretq, o["site"]
        assert o["site"]["symbol"].startswith("entry_SYSRETQ_unsafe_stack"), o["site"]
        cex = o["counterexample"]
        assert cex["replayed"] is True, o
        assert _falsified(o["id"], cex), (o["id"], cex)
        steps = cex["path"]
        assert steps, o
        assert _int(steps[0]["address"]) == entry and steps[0]["symbol"].startswith("entry_SYSCALL_64")
        assert _int(steps[-1]["address"]) == sysretq
        assert steps[-1]["symbol"].startswith("entry_SYSRETQ_unsafe_stack")


@pytest.mark.parametrize("name", BUGGY)
def test_check_text_lines(fixture_kernels, name):  # noqa: F811
    path = fixture_kernels(name)
    r = run_cli(["check", path, "--format", "text", "--quiet"], timeout=CHECK_TIMEOUT)
    assert r.returncode == 1, r.stderr
    image = re.escape(os.path.basename(path)) + "|" + re.escape(path)
    for oid in EXPECTED[name]:
        pat = rf"^(?:{image}): error: entry_SYSRETQ_unsafe_stack\+0x[0-9a-f]+: {re.escape(oid)}: \S"
        assert re.search(pat, r.stdout, re.M), f"no line for {oid}:\n{r.stdout}"
    for oid in set(ALL_OBLIGATIONS) - EXPECTED[name]:
        assert not re.search(rf": error: [^:]+: {re.escape(oid)}:", r.stdout), oid
