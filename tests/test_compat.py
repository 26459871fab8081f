"""The compat SYSRET sites (issue 12) on assembled fixture kernels
(tests/fixtures/compat_*.S, macros in tests/fixtures/compat.h).

Each fixture has the 6.1 64-bit exit (proven), both compat entries leaving
through sysret32_from_system_call's `sysretl`, and entry_SYSCALL32_ignore's
`sysretl`.  Asserted for each:
- exit status and verdict; `inspect` lists the three SYSRET sites with their
  widths and entries;
- the violated (obligation, site) pairs are exactly the expected ones, every
  other finding is proven (not inconclusive), and each site carries exactly
  its width's obligations (verify.obligations.SITE_OBLIGATIONS; the ignore
  site: compat-landing-pad and r11-is-rflags, see verify/prove/compat.py);
- each violated site is the `sysretl` objdump finds there; each
  counterexample was replayed and its concrete values falsify the
  obligation (recomputed here), and its path runs from a compat entry to that
  sysretl.
"""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from fixtures import fixture_kernels  # noqa: F401 (pytest fixture)
from fixtures.build import compat_names
from test_fixtures import _int, _run, _symbols

USER32_CS, USER_DS, RF_TF = 0x23, 0x2B, 0x10100
SYSRETQ_IDS = {"rcx-is-rip", "canonical-rip", "r11-is-rflags", "rflags-no-rf-tf", "user-cs-ss", "ts-compat-clear"}
COMPAT_IDS = {"compat-user-cs", "compat-landing-pad", "r11-is-rflags", "rflags-no-rf-tf", "ts-compat-clear"}
IGNORE_IDS = {"compat-landing-pad", "r11-is-rflags", "ts-compat-clear"}
# the exit families apply at every SYSRET of either width (issue 12)
_EXIT = {"user-rsp", "user-gs", "irqs-off", "user-cr3", "no-kernel-data", "rflags-if-iopl"}
SYSRETQ_IDS, COMPAT_IDS, IGNORE_IDS = SYSRETQ_IDS | _EXIT, COMPAT_IDS | _EXIT, IGNORE_IDS | _EXIT

# fixture -> {(obligation, site label)} violated; site labels: "compat"
# (sysret32_from_system_call's sysretl), "ignore" (entry_SYSCALL32_ignore's)
EXPECTED = {
    "compat_checks": set(),
    "compat_missing_cs_check": {("compat-user-cs", "compat")},
    "compat_rcx_wrong_slot": {("compat-landing-pad", "compat")},
    "compat_missing_rf_tf_check": {("rflags-no-rf-tf", "compat")},
    # (the clobbered R11 may have IF clear or IOPL 3 too: rflags-if-iopl,
    # since the thirty-second session)
    "compat_ignore_r11": {("r11-is-rflags", "ignore"), ("rflags-if-iopl", "ignore")},
    # the stub reads %gs without SWAPGS: the user's GS base (explore.py
    # initial_state "ignore"); with the kernel's per-CPU area it was "proven"
    # the per-CPU read with the user's GS base is also a user-gs violation
    # (R11 zeroed or kept by a branch on what the per-CPU read through the
    # user's GS base found, which may be any memory: no-kernel-data too,
    # since the fifteenth session's implicit-flow rule)
    "compat_ignore_gs": {("r11-is-rflags", "ignore"), ("user-gs", "ignore"), ("no-kernel-data", "ignore"),
                         ("rflags-if-iopl", "ignore")},
    # the shape of the seeded Debian bug: a __get_user (EX_TYPE_UACCESS)
    # before the syscall; only the witness path, taking the access as
    # completing at a user address, confirms it (verify/prove/compat.py)
    "compat_missing_cs_getuser": {("compat-user-cs", "compat")},
    "compat_getuser_always_faults": set(),
    # safe: 6.12's frame-pointer __do_fast_syscall_32 (inlined); the
    # dispatch's havoc of the frames whose address is in a register (RBP)
    # wiped the callee-saved spills, and the witness "replayed" R12-R14 as
    # kernel data (verify/prove/explore.py _havoc_memory, dispatch=True)
    "compat_frame_pointer_dispatch": set(),
}
# fixture -> {(obligation, site label)} inconclusive (every other finding
# not violated is proven)
INCONCLUSIVE: dict = {
    # user-mode-if-iopl is one premise for the image: a sysretl that may
    # return IF clear (the stub's R11) feeds a later SYSCALL, so the other
    # sites' rflags-if-iopl is not proven (decide.spread_unestablished)
    "compat_ignore_r11": {("rflags-if-iopl", "sysretq"), ("rflags-if-iopl", "compat")},
    "compat_ignore_gs": {("rflags-if-iopl", "sysretq"), ("rflags-if-iopl", "compat")},
    # the access is non-canonical: it always faults, no sysretl follows it;
    # the fault path is not modelled (never proven), and a witness must not
    # take the access as completing there (explore.py _witness_uaccess)
    "compat_getuser_always_faults": {("compat-user-cs", "compat")},
    # a counterexample only through the dispatch's havoc of the exposed
    # frame (an over-approximation: unsure unless every byte is kept)
    "compat_frame_pointer_dispatch": {("no-kernel-data", "compat")},
}
NAMES = sorted(EXPECTED)


def test_every_compat_fixture_has_an_expectation():
    assert set(compat_names()) == set(EXPECTED)


def _sysretl_sites(path: str) -> list[int]:
    """Addresses of every 32-bit sysret (0f 07 without REX.W), from objdump."""
    out = subprocess.run(["objdump", "-d", path], capture_output=True, text=True, check=True).stdout
    return [int(m.group(1), 16) for m in re.finditer(r"^\s*([0-9a-f]+):\s+0f 07\s+sysret", out, re.M)]


def _sites(path: str) -> dict:
    syms = _symbols(path)
    sites = {}
    for a in _sysretl_sites(path):
        sites["ignore" if syms["entry_SYSCALL32_ignore"] <= a < syms["entry_SYSCALL32_ignore"] + 64 else "compat"] = a
    assert set(sites) == {"compat", "ignore"}, sites
    return sites


def _falsified(oid: str, cex: dict, ignore: bool) -> bool:
    regs, frame, user = cex["registers"], cex["pt_regs"], cex.get("user_entry") or {}
    ip = _int(user["rcx"]) if ignore else _int(frame["ip"])
    flags = _int(user["r11"]) if ignore else _int(frame["flags"])
    if oid == "compat-user-cs":
        return _int(frame["cs"]) & 0xFFFF != USER32_CS or _int(frame["ss"]) & 0xFFFF != USER_DS
    if oid == "compat-landing-pad":
        return _int(regs["rcx"]) & 0xFFFFFFFF != ip & 0xFFFFFFFF
    if oid == "r11-is-rflags":
        return _int(regs["r11"]) != flags
    if oid == "rflags-no-rf-tf":
        return _int(regs["r11"]) & RF_TF != 0
    if oid == "rflags-if-iopl":
        return _int(regs["r11"]) & 0x3200 != 0x200  # IF clear or IOPL != 0
    if oid == "user-rsp":
        return _int(regs["rsp"]) != (_int(user["rsp"]) if ignore else _int(frame["sp"]))
    if oid == "no-kernel-data":
        slots = {"rax": "ax", "rbx": "bx", "rdx": "dx", "rsi": "si", "rdi": "di", "rbp": "bp"}
        user = cex.get("user_entry") or {}
        return any(_int(regs[r]) not in (0, (_int(user.get(r, "0x0")) if ignore else _int(frame[slots.get(r, r)])), _int(user.get(r, "0x0")))
                   for r in ("rax", "rbx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r12", "r13", "r14", "r15")
                   if r in regs)
    if oid in ("user-gs", "user-cr3", "irqs-off"):
        # state the registers do not show (GS base, CR3, IF): the replay
        # (re-decided with every input pinned) is the check
        return cex.get("replayed") is True
    raise AssertionError(oid)


@pytest.fixture(scope="module")
def results(fixture_kernels):  # noqa: F811
    cache: dict = {}

    def get(name):
        if name not in cache:
            r = _run(["check", fixture_kernels(name), "--format", "json", "--quiet", "--no-cache"])
            cache[name] = (r, json.loads(r.stdout) if r.stdout.startswith("{") else None)
        return cache[name]

    return get


@pytest.mark.parametrize("name", NAMES)
def test_inspect_lists_every_sysret_site(fixture_kernels, name):  # noqa: F811
    path = fixture_kernels(name)
    r = _run(["inspect", path, "--format", "json"], timeout=300)
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)["entry"]
    sites = _sites(path)
    syms = _symbols(path)
    got = {(_int(s["address"]), s["width"], tuple(s["entries"])) for s in e["all_sysret_sites"]}
    assert got == {(syms["entry_SYSRETQ_unsafe_stack"] + 3, "sysretq", ("entry_SYSCALL_64",)),
                   (sites["compat"], "sysretl", ("entry_SYSCALL_compat", "entry_SYSENTER_compat")),
                   (sites["ignore"], "sysretl", ("entry_SYSCALL32_ignore",))}
    r = _run(["inspect", path], timeout=300)
    assert re.search(r"sysretl\s+0x[0-9a-f]+\s+entry_SYSRETL_compat_unsafe_stack\+0x[0-9a-f]+\s+from "
                     r"entry_SYSCALL_compat, entry_SYSENTER_compat", r.stdout), r.stdout


@pytest.mark.parametrize("name", NAMES)
def test_check_compat_verdicts(results, fixture_kernels, name):  # noqa: F811
    r, doc = results(name)
    expected = EXPECTED[name]
    unsure = INCONCLUSIVE.get(name, set())
    assert r.returncode == (1 if expected else 3 if unsure else 0), r.stderr
    assert doc["verdict"] == ("violated" if expected else "inconclusive" if unsure else "proven")
    path = fixture_kernels(name)
    sites = _sites(path)
    label = {a: k for k, a in sites.items()}
    by_site: dict = {}
    for o in doc["obligations"]:
        by_site.setdefault(_int(o["site"]["address"]), set()).add(o["id"])
    sysretq = _symbols(path)["entry_SYSRETQ_unsafe_stack"] + 3
    assert by_site == {sysretq: SYSRETQ_IDS, sites["compat"]: COMPAT_IDS, sites["ignore"]: IGNORE_IDS}
    violated = {(o["id"], label.get(_int(o["site"]["address"]), "sysretq")) for o in doc["obligations"]
                if o["status"] == "violated"}
    assert violated == expected
    got_unsure = {(o["id"], label.get(_int(o["site"]["address"]), "sysretq")) for o in doc["obligations"]
                  if o["status"] == "inconclusive"}
    assert got_unsure == unsure
    for o in doc["obligations"]:
        if o["status"] == "inconclusive":
            assert o["reason"], o


@pytest.mark.parametrize("name", [n for n in NAMES if EXPECTED[n]])
def test_compat_counterexamples_replay(results, fixture_kernels, name):  # noqa: F811
    r, doc = results(name)
    path = fixture_kernels(name)
    syms = _symbols(path)
    sites = _sites(path)
    entries = {syms[n] for n in ("entry_SYSCALL_compat", "entry_SYSENTER_compat", "entry_SYSCALL32_ignore")}
    for o in doc["obligations"]:
        if o["status"] != "violated":
            continue
        site = _int(o["site"]["address"])
        ignore = site == sites["ignore"]
        cex = o["counterexample"]
        assert cex["replayed"] is True
        assert _falsified(o["id"], cex, ignore), (o["id"], cex)
        steps = cex["path"]
        assert _int(steps[0]["address"]) in entries, steps[0]
        assert _int(steps[-1]["address"]) == site and steps[-1].get("note") == "sysretl", steps[-1]


def test_reports_carry_the_compat_findings(results, fixture_kernels, tmp_path):  # noqa: F811
    """JSON (schema-valid), SARIF (the compat rules, a result at the sysretl),
    JUnit and HTML carry a compat violation keyed by obligation id and site,
    as for sysretq; a baseline written from it marks it known."""
    import os

    import jsonschema

    path = fixture_kernels("compat_missing_cs_check")
    r, doc = results("compat_missing_cs_check")
    schema = json.load(open(os.path.join(os.path.dirname(__file__), "..", "docs", "schema",
                                         "check-result.schema.json")))
    jsonschema.validate(doc, schema)
    site = f"{_sites(path)['compat']:#x}"
    out = {f: str(tmp_path / f"r.{f}") for f in ("sarif", "junit", "html")}
    base = str(tmp_path / "baseline.json")
    r = _run(["check", path, "--quiet", "--no-cache", "--sarif", out["sarif"], "--junit", out["junit"],
              "--html", out["html"]])
    assert r.returncode == 1, r.stderr
    sarif = json.load(open(out["sarif"]))
    rules = [x["id"] for x in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert "compat-user-cs" in rules and "compat-landing-pad" in rules
    res = [x for x in sarif["runs"][0]["results"] if x["ruleId"] == "compat-user-cs"]
    assert res and site in json.dumps(res[0]["locations"])
    junit = open(out["junit"]).read()
    assert "compat-user-cs" in junit and "<failure" in junit
    html = open(out["html"]).read()
    assert "compat-user-cs" in html and "entry_SYSRETL_compat_unsafe_stack" in html
    r = _run(["check", path, "--quiet", "--no-cache", "--write-baseline", base])
    assert r.returncode == 0, r.stderr  # exits as if the baseline it wrote were given
    assert "compat-user-cs" in open(base).read()
    r = _run(["check", path, "--quiet", "--no-cache", "--baseline", base])
    assert r.returncode == 0, r.stderr  # the compat violation is accepted by its fingerprint
    r = _run(["check", fixture_kernels("compat_rcx_wrong_slot"), "--quiet", "--no-cache", "--baseline", base])
    assert r.returncode == 1, r.stderr  # another obligation at the same site is not
