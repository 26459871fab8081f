"""The uniprocessor kernel (CONFIG_SMP=n: per-CPU data are plain globals, no
%gs) built from Debian's linux-source-6.12 by examples/build_up_kernel.py: it
is proven, and bugs seeded into its C source are found as exactly the
expected obligation, with a replayed counterexample.

The base kernel takes minutes to build once (cached, tests/conftest.py); each
seeded variant is an incremental rebuild of seconds (build_up_kernel.SEEDED).
"""
import json
import os
import subprocess
import sys

import pytest

import build_up_kernel
from clirun import run_cli
from verify.obligations import OBLIGATION_IDS, SITE_OBLIGATIONS, is_canonical_int

pytestmark = [pytest.mark.realkernel, pytest.mark.slow]

TIMEOUT = os.environ.get("SYSRET_VERIFY_TEST_TIMEOUT", "1500")
REGISTER_OBLIGATIONS = ["rcx-is-rip", "canonical-rip", "r11-is-rflags", "rflags-no-rf-tf", "user-cs-ss"]
assert set(REGISTER_OBLIGATIONS) | {"ts-compat-clear"} == set(OBLIGATION_IDS)


def check(image, tmpdir, *extra):
    out = os.path.join(tmpdir, "result.json")
    env = dict(os.environ, SYSRET_VERIFY_CACHE=os.path.join(tmpdir, "cache"))
    env.pop("SYSRET_VERIFY_ENGINE", None)
    r = run_cli(["check", image, "--format", "json", "-o", out, "--timeout", TIMEOUT, "--no-cache", *extra], env=env)
    assert "Traceback" not in r.stderr, r.stderr
    with open(out) as f:
        return r.returncode, json.load(f)


def inspect(image, tmpdir):
    out = os.path.join(tmpdir, "inspect.json")
    r = subprocess.run([sys.executable, "-m", "verify.cli", "inspect", image, "--format", "json", "-o", out],
                       capture_output=True, text=True)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        return json.load(f)


def statuses(result):
    """(obligation, variant) -> status at the sysretq site."""
    return {(o["id"], o["variant"]["name"]): o["status"] for o in result["obligations"]
            if o["site"]["symbol"].startswith("entry_SYSRETQ")}


def _seeded(tag):
    try:
        return build_up_kernel.build(edits=build_up_kernel.SEEDED[tag], tag=tag, quiet=True)
    except Exception as e:  # must fail loudly in CI, not skip
        pytest.fail(f"cannot build the seeded kernel {tag}: {e}")


@pytest.fixture(scope="session")
def result_up(kernel_up, tmp_path_factory):
    return check(kernel_up[0], str(tmp_path_factory.mktemp("rup")))


@pytest.fixture(scope="session")
def result_up_nocanon(kernel_up, tmp_path_factory):
    return check(_seeded("up-6.12-nocanon"), str(tmp_path_factory.mktemp("rup-nocanon")))


@pytest.fixture(scope="session")
def result_up_tscompat(kernel_up, tmp_path_factory):
    return check(_seeded("up-6.12-tscompat"), str(tmp_path_factory.mktemp("rup-tscompat")))


def _site(result):
    """The one sysretq site (the compat sysretl sites, issue 12, are checked
    by test_up_kernel_compat_sites)."""
    sites = {o["site"]["address"] for o in result["obligations"] if o["site"]["symbol"].startswith("entry_SYSRETQ")}
    assert len(sites) == 1, sites
    return sites.pop()


def _at_sysretq(result):
    return [o for o in result["obligations"] if o["site"]["symbol"].startswith("entry_SYSRETQ")]


def test_up_kernel_proven(result_up):
    """Every obligation of every SYSRET site proven in every variant (exit
    0): the sysretq with its ten, the compat sysretl sites with theirs.  The
    exit work's switch_fpu_return stores through `current`, loaded from the
    plain global pcpu_hot (summary.Summaries._loads_current), and its
    restore_fpregs_from_fpstate's XRSTOR has an EX_TYPE_FPU_RESTORE fixup
    (assumption exception-fixup-handlers); the exit-work loop's CR3 is
    widened only under PTI (explore._cr3_change)."""
    rc, result = result_up
    _site(result)
    variants = {o["variant"]["name"] for o in result["obligations"]}
    assert {"4-level", "la57", "xenpv"} <= variants
    for v in variants:
        assert {o["id"] for o in _at_sysretq(result) if o["variant"]["name"] == v} == set(SITE_OBLIGATIONS["sysretq"])
    bad = [(o["id"], o["site"]["symbol"], o["variant"]["name"], o["status"], o["reason"])
           for o in result["obligations"] if o["status"] != "proven"]
    assert not bad, bad
    assert (rc, result["verdict"]) == (0, "proven")
    assert "exception-fixup-handlers" in {a["id"] for a in result["assumptions"]}


def test_up_kernel_compat_sites(result_up):
    """Issue 12: the uniprocessor kernel's sysretl sites (sysret32_from_system_call
    from both compat entries, entry_SYSCALL32_ignore) are proven: per-CPU
    data are plain globals here, the compat exploration is the same."""
    rc, result = result_up
    compat = [o for o in result["obligations"] if not o["site"]["symbol"].startswith("entry_SYSRETQ")]
    assert {o["site"]["symbol"].split("+")[0] for o in compat} == {"entry_SYSRETL_compat_unsafe_stack",
                                                                   "entry_SYSCALL32_ignore"}
    for o in compat:
        assert o["status"] == "proven", o


def test_up_kernel_percpu_as_globals(kernel_up, kernel61, tmp_path):
    """inspect: the uniprocessor kernel's per-CPU data are plain globals
    (percpu_gs 0); Debian's SMP 6.1 kernel reaches them through %gs (1)."""
    up = inspect(kernel_up[0], str(tmp_path))
    assert up["layout"]["percpu"]["percpu_gs"]["value"] == 0, up["layout"]["percpu"]
    assert len(up["entry"]["sysret_sites"]) == 1
    smp = inspect(kernel61[0], str(tmp_path))
    assert smp["layout"]["percpu"]["percpu_gs"]["value"] == 1, smp["layout"]["percpu"]


def test_smp_kernel_with_percpu_not_zero_based_is_refused(kernel_up, tmp_path):
    """An SMP kernel (it has __per_cpu_offset[], CONFIG_SMP only) whose
    per-CPU symbols are kernel addresses, not offsets from 0 (Linux 6.15
    dropped x86-64's zero-based per-CPU section), is not taken for a
    uniprocessor kernel's plain globals: a one-line input error, exit 2.
    The uniprocessor kernel with that one symbol added stands for it."""
    bad = str(tmp_path / "vmlinux-smp-not-zero-based")
    subprocess.run(["objcopy", "--add-symbol", "__per_cpu_offset=0xffffffff81000000,global,object",
                    kernel_up[0], bad], check=True)
    r = run_cli(["check", bad, "--no-cache"])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "not zero-based" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def _assert_seeded(rc, result, oid):
    """`oid` violated in the 4-level variant with a replayed counterexample from
    entry_SYSCALL_64 to the SYSRET site; every other register obligation
    proven in every variant."""
    site = _site(result)
    st = statuses(result)
    assert rc == 1 and result["verdict"] == "violated", (rc, result["verdict"])
    o = next(o for o in _at_sysretq(result) if o["id"] == oid and o["variant"]["name"] == "4-level")
    assert o["status"] == "violated", (o["status"], o["reason"])
    c = o["counterexample"]
    assert c["replayed"] is True, c
    assert c["path"][0]["symbol"] == "entry_SYSCALL_64"
    assert c["path"][-1]["address"] == site
    bad = [(k, s) for k, s in st.items() if k[0] in REGISTER_OBLIGATIONS and k[0] != oid and s != "proven"]
    assert not bad, bad
    assert all(s == "proven" for (_, v), s in st.items() if v == "xenpv")
    return c


def test_up_seeded_no_canonical_check(result_up_nocanon):
    """do_syscall_64 without `if (unlikely(regs->ip >= TASK_SIZE_MAX)) return
    false;` (CVE-2012-0217): canonical-rip violated, RCX non-canonical."""
    c = _assert_seeded(*result_up_nocanon, "canonical-rip")
    rcx = int(c["registers"]["rcx"], 16)
    assert rcx >> 47 not in (0, 0x1ffff), c["registers"]["rcx"]  # bits 63..47 not all equal
    assert not is_canonical_int(rcx, False)
    st = statuses(result_up_nocanon[1])
    assert st[("ts-compat-clear", "4-level")] != "violated"


def test_up_seeded_ts_compat_kept(result_up_tscompat):
    """arch_exit_to_user_mode_prepare without the TS_COMPAT clear:
    ts-compat-clear violated with TS_COMPAT (0x2) set at SYSRET."""
    c = _assert_seeded(*result_up_tscompat, "ts-compat-clear")
    assert int(c["ti_status"], 16) & 0x2, c["ti_status"]


def test_up_seeded_edits_undone(result_up_nocanon, result_up_tscompat):
    """After the seeded builds the shared tree holds the original text again
    and no backup is left behind."""
    src = build_up_kernel.fetch_source(quiet=True)
    for tag, edits in build_up_kernel.SEEDED.items():
        assert not os.path.exists(os.path.join(build_up_kernel.cache_dir(), tag, "orig"))
        for rel, old, new in edits:
            with open(os.path.join(src, rel)) as f:
                assert f.read().count(old) == 1, (tag, rel)


def test_up_seeded_edit_must_match_once(kernel_up):
    """An edit whose text is absent, or not unique, is refused before the tree
    is touched, naming the file."""
    rel = "arch/x86/entry/common.c"
    for old in ("no such text in this file", "return false;"):
        with pytest.raises(RuntimeError, match=rel):
            build_up_kernel.build(edits=[(rel, old, "")], tag="up-6.12-test-bad-edit", quiet=True)
    assert not os.path.exists(os.path.join(build_up_kernel.cache_dir(), "up-6.12-test-bad-edit"))
