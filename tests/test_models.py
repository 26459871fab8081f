"""The table of models/README.md, one test per row, plus non-vacuity and CLI.

Each counterexample test asserts the key events of the trace and that it is
minimal (BMC at every shorter depth was unsat, re-checked here with the
independent naive BMC).
"""
import json
import os
import subprocess
import sys
from functools import lru_cache

import pytest
import z3

import verify.obligations as ob
from models import invariants
from models.designs import REFERENCE, SITES, make_design
from models.prove import bmc_only, equivalence_machine, reachable, safety_machine
from models.report import design_json
from models.table import ALL_BUT_EXEC, run_design

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@lru_cache(maxsize=None)
def _run(**kw):
    d, (saf, eqv) = run_design(kw)
    j = design_json(d, [saf, eqv])
    return d, {p["id"]: p for p in j["properties"]}, (saf, eqv)


def run(**kw):
    return _run(**kw)[1]


def events(p):
    return [e["event"] for e in p["counterexample"]["trace"]]


def assert_proven(p, method="induction"):
    assert p["status"] == "proven", p.get("counterexample") or p.get("reason")
    assert p["method"] == method


def assert_minimal(kw, prop, length):
    """Nothing shorter exists: the naive BMC (no invariants) finds no
    counterexample with length-1 events."""
    d = make_design(**kw)
    mc = safety_machine(d) if prop == "safety" else equivalence_machine(d)
    assert bmc_only(mc, length - 2) == "bounded"
    assert bmc_only(mc, length - 1) == "violated"


def final(p):
    return p["counterexample"]["trace"][-1]


def assert_user_tf_trace(p):
    """syscall with a user-set TF, then SYSRET restoring TF: the trap comes
    before the first user instruction, where exit-checks' IRET traps after it."""
    assert p["status"] == "violated" and p["method"] == "bmc"
    assert p["trace_length"] == 2
    tr = p["counterexample"]["trace"]
    assert tr[0]["event"] == "syscall" and tr[0]["tf"] is True
    assert tr[1]["event"] == "exit" and tr[1]["return"] == "SYSRET"
    assert tr[1]["trap"] == "before-first-insn"
    assert tr[1]["reference"]["return"] == "IRET" and tr[1]["reference"]["trap"] == "after-first-insn"
    assert "rflags-no-rf-tf" in tr[1]["obligations_failed"]


# --- the table ------------------------------------------------------------------------
def test_exit_checks_proven():
    r = run(name="exit-checks")
    assert_proven(r["safety"])
    assert_proven(r["equivalence"])


def test_force_iret_all_user_tf_diverges():
    r = run(name="force-iret", flag_sites="all")
    assert_proven(r["safety"])
    assert_user_tf_trace(r["equivalence"])
    assert_minimal(dict(name="force-iret", flag_sites="all"), "equivalence", 2)


def test_force_iret_all_plus_entry_tf_proven():
    r = run(name="force-iret", flag_sites="all,entry-tf")
    assert_proven(r["safety"])
    assert_proven(r["equivalence"])


def test_force_iret_three_sites():
    r = run(name="force-iret", flag_sites="ptrace,sigreturn,exec")
    assert_user_tf_trace(r["equivalence"])
    # unsafe too: the 6.11+ uretprobe syscall sets cx = ip (any user-chosen return address)
    s = r["safety"]
    assert s["status"] == "violated" and s["trace_length"] == 3
    tr = s["counterexample"]["trace"]
    assert events(s) == ["syscall", "uprobe", "exit"]
    assert tr[1]["uretprobe"] is True
    assert final(s)["return"] == "SYSRET" and final(s)["outcome"] == "ring0-#GP"
    assert "canonical-rip" in final(s)["obligations_failed"]
    assert_minimal(dict(name="force-iret", flag_sites="ptrace,sigreturn,exec"), "safety", 3)


def test_force_iret_three_sites_plus_entry_tf_uses_outside_writer():
    kw = dict(name="force-iret", flag_sites="ptrace,sigreturn,exec,entry-tf")
    e = run(**kw)["equivalence"]
    assert e["status"] == "violated" and e["trace_length"] == 3
    ev = events(e)
    assert ev[0] == "syscall" and ev[-1] == "exit"
    assert ev[1] in ("signal", "restart", "singlestep", "uprobe")
    assert final(e)["return"] == "SYSRET" and final(e)["reference"]["return"] == "IRET"
    assert_minimal(kw, "equivalence", 3)


def test_force_iret_all_without_top_page_guard_unsafe():
    kw = dict(name="force-iret", flag_sites="all", top_page_guard=False)
    s = run(**kw)["safety"]
    assert s["status"] == "violated" and s["trace_length"] == 2
    tr = s["counterexample"]["trace"]
    assert tr[0]["event"] == "syscall"
    assert int(tr[0]["user_ip"], 16) == (1 << 47) - 2           # last 2 bytes of the user half
    assert int(tr[0]["saved_ip"], 16) == 1 << 47                 # RCX non-canonical
    assert final(s)["return"] == "SYSRET" and final(s)["outcome"] == "ring0-#GP"
    assert final(s)["obligations_failed"] == ["canonical-rip"]
    assert_minimal(kw, "safety", 2)


def test_force_iret_all_but_exec():
    kw = dict(name="force-iret", flag_sites=ALL_BUT_EXEC)
    r = run(**kw)
    assert_proven(r["safety"])            # exec zeroes cx: wrong, but canonical
    assert_user_tf_trace(r["equivalence"])
    kw2 = dict(name="force-iret", flag_sites=ALL_BUT_EXEC + ",entry-tf")
    e = run(**kw2)["equivalence"]
    assert events(e) == ["syscall", "exec", "exit"]
    assert final(e)["return"] == "SYSRET" and final(e)["reference"]["return"] == "IRET"
    assert final(e)["user_sees"]["rip"] == "0x0"                  # RCX = the zeroed cx
    assert_minimal(kw2, "equivalence", 3)


def test_at_stops_without_ptrace_event_is_cve_2014_4699():
    kw = dict(name="force-iret-at-stops", stops="signal,syscall")
    s = run(**kw)["safety"]
    assert s["status"] == "violated" and s["trace_length"] == 4
    tr = s["counterexample"]["trace"]
    assert events(s) == ["syscall", "stop", "ptrace", "exit"]
    assert tr[1]["kind"] == "ptrace-event"
    assert tr[2]["stop"] == "ptrace-event" and not ob.is_canonical_int(int(tr[2]["writes"]["ip"], 16), False)
    assert final(s)["return"] == "SYSRET" and final(s)["outcome"] == "ring0-#GP"
    assert_minimal(kw, "safety", 4)


def test_at_stops_all_stops():
    r = run(name="force-iret-at-stops", stops="signal,syscall,ptrace-event")
    assert_proven(r["safety"])
    assert_user_tf_trace(r["equivalence"])   # 3.x SYSRETed with a user-set TF
    r2 = run(name="force-iret-at-stops", stops="signal,syscall,ptrace-event", flag_sites="entry-tf")
    assert_proven(r2["safety"])
    assert_proven(r2["equivalence"])


def test_freebsd_proven_even_without_top_page_guard():
    for guard in (True, False):
        r = run(name="freebsd", top_page_guard=guard)
        assert_proven(r["safety"])
        assert_proven(r["equivalence"])


# --- AMD ------------------------------------------------------------------------------------
def test_amd_never_faults_in_ring0():
    for kw in (dict(name="exit-checks"), dict(name="force-iret", flag_sites="all"),
               dict(name="force-iret-at-stops", stops="signal,syscall"), dict(name="freebsd")):
        assert_proven(run(**kw, cpu="amd")["safety"])


def test_amd_equivalence():
    assert_proven(run(name="exit-checks", cpu="amd")["equivalence"])
    assert_proven(run(name="freebsd", cpu="amd")["equivalence"])
    assert_user_tf_trace(run(name="force-iret", flag_sites="all", cpu="amd")["equivalence"])
    # SYSRET's ring-3 #GP at RIP=RCX looks like IRET's fixed-up user #GP: no guard needed
    assert_proven(run(name="force-iret", flag_sites="all,entry-tf", top_page_guard=False,
                      cpu="amd")["equivalence"])
    # CVE-2014-4699 on AMD: not exploitable, still not equivalent
    e = run(name="force-iret-at-stops", stops="signal,syscall", flag_sites="entry-tf", cpu="amd")["equivalence"]
    assert events(e) == ["syscall", "stop", "ptrace", "exit"]
    assert e["counterexample"]["trace"][1]["kind"] == "ptrace-event"
    assert final(e)["return"] == "SYSRET"


# --- the models are not vacuous -------------------------------------------------------------
@pytest.mark.parametrize("event,depth", [("syscall", 1), ("compat-syscall", 1), ("stop", 2), ("ptrace", 3),
                                         ("sigreturn", 2), ("exec", 2), ("signal", 2), ("restart", 2),
                                         ("singlestep", 3), ("uprobe", 2), ("exit", 2)])
def test_every_event_can_fire(event, depth):
    assert reachable(make_design("force-iret", flag_sites="all"), event, depth)


def test_exit_checks_does_take_sysret():
    ref = REFERENCE
    assert reachable(ref, "exit", 2, extra=lambda s: ref.exit(s).use_sysret)
    assert reachable(ref, "exit", 2, extra=lambda s: z3.Not(ref.exit(s).use_sysret))


def test_models_use_the_verifier_obligations():
    assert invariants.canonical_rip is ob.canonical_rip
    import models.designs as md
    assert md.sysret_safe is ob.sysret_safe and md.SysretInputs is ob.SysretInputs


def test_sites_vocabulary():
    assert SITES == ("ptrace", "sigreturn", "exec", "signal", "restart", "singlestep", "uprobe")


# --- CLI ------------------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "models.cli", "model", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes_and_json():
    p = _cli("prove", "--design", "exit-checks")
    assert p.returncode == 0 and "proven" in p.stdout
    p = _cli("prove", "--design", "force-iret-at-stops", "--stops", "signal,syscall", "--format", "json")
    assert p.returncode == 1
    j = json.loads(p.stdout)
    assert j["verdict"] == "violated" and j["design"] == "force-iret-at-stops"
    assert j["stops"] == ["signal", "syscall"] and j["cpu"] == "intel" and j["top_page_guard"] is True
    assert "flag_sites" in j
    saf = {x["id"]: x for x in j["properties"]}["safety"]
    assert [e["event"] for e in saf["counterexample"]["trace"]] == ["syscall", "stop", "ptrace", "exit"]


def test_cli_text_story():
    p = _cli("prove", "--design", "force-iret-at-stops", "--stops", "signal,syscall")
    assert "ptrace-event stop" in p.stdout and "ring-0 #GP on Intel" in p.stdout


@pytest.mark.parametrize("args", [
    ("prove", "--design", "nope"),
    ("prove", "--design", "force-iret"),
    ("prove", "--design", "force-iret", "--flag-sites", "ptrace,bogus"),
    ("prove", "--design", "force-iret-at-stops", "--stops", "fork"),
    ("prove", "--design", "exit-checks", "--cpu", "arm"),
    ("prove", "--design", "exit-checks", "--format", "xml"),
    ("prove", "--design", "exit-checks", "--stops", "signal"),
])
def test_cli_usage_errors(args):
    p = _cli(*args)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and p.stdout == ""


def test_cli_output_file(tmp_path):
    out = tmp_path / "r.json"
    p = _cli("prove", "--design", "freebsd", "--format", "json", "-o", str(out))
    assert p.returncode == 0 and p.stdout == ""
    assert json.loads(out.read_text())["verdict"] == "proven"


def test_top_level_cli_integration():
    vcli = pytest.importorskip("verify.cli")
    assert vcli.main(["model", "prove", "--design", "exit-checks", "-o", os.devnull]) == 0


def test_unknown_is_inconclusive_never_proven():
    p = _cli("prove", "--design", "force-iret", "--flag-sites", "all,entry-tf", "--timeout", "0.001",
             "--format", "json")
    assert p.returncode == 3
    j = json.loads(p.stdout)
    assert j["verdict"] == "inconclusive"
    assert all(x["status"] == "inconclusive" and "unknown" in x["reason"] for x in j["properties"])


def test_bounded_is_inconclusive():
    """--max-depth 0 still leaves room for the 1-induction proof; a design
    whose shortest counterexample has 4 events is inconclusive, not proven,
    when the search stops at 3."""
    p = _cli("prove", "--design", "force-iret-at-stops", "--stops", "signal,syscall,ptrace-event",
             "--flag-sites", "entry-tf", "--max-depth", "0", "--format", "json")
    assert p.returncode == 0
    from models.prove import prove
    r = prove(safety_machine(make_design("force-iret-at-stops", stops="signal,syscall")), max_depth=2)
    assert r.status == "inconclusive" and "bounded" in r.reason
