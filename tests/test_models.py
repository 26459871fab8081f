"""models/: the README table (every row's expectation), the specific answers
issue 11 names, with their counterexample traces, non-vacuity, and the CLI.

The whole table is computed once (module fixture, one process); the other
tests ask targeted questions (find_trace) or run single designs.
"""
import json
import os
import subprocess
import sys

import pytest
import z3

import verify.obligations as ob
from models import cpu, invariants
from models.designs import COMPAT_CHECKS, SITES, make_design
from models.events import LINUX_EVENTS, FREEBSD_EVENTS, Event, Src
from models.prove import (Machine, bmc_only, equivalence_machine, find_trace, prove, safety_machine,
                          witness_kinds)
from models.report import design_json, trace_json
from models.state import Inputs
from models.table import ROWS, render_markdown, run_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TF = 0x100


@pytest.fixture(scope="module")
def table():
    # in fresh interpreters (spawn): a test process has made other z3 terms
    # before, which changes z3's search order; once (a fresh-clone run of
    # the sixteenth session) a row's equivalence ended inconclusive there
    import multiprocessing

    rows, _ = run_table(jobs=2, mp_context=multiprocessing.get_context("spawn"))
    out = {}
    for d, (saf, eqv), exp, why, src in rows:
        j = design_json(d, [saf, eqv])
        out[d.label()] = (d, {p["id"]: p for p in j["properties"]}, exp, (saf, eqv))
    return out


def row(table, **kw):
    return table[make_design(**kw).label()][1]


def events(p):
    return [e["event"] for e in p["counterexample"]["trace"]]


def final(p):
    return p["counterexample"]["trace"][-1]


def assert_proven(p):
    assert p["status"] == "proven", p.get("counterexample") or p.get("reason")
    assert p["method"] == "induction"
    assert p["witnesses"] and all(p["witnesses"].values())


def assert_minimal(kw, prop, length):
    """Nothing shorter exists: the naive BMC (no invariants, no induction)
    finds no counterexample with length-1 events."""
    d = make_design(**kw)
    mc = safety_machine(d) if prop == "safety" else equivalence_machine(d)
    assert bmc_only(mc, length - 2) == "bounded"
    assert bmc_only(mc, length - 1) == "violated"


# --- the table: every row meets its expectation, every proof has witnesses -------------
def test_every_row_as_expected(table):
    assert len(table) == len(ROWS)
    for label, (d, props, exp, _) in table.items():
        got = (props["safety"]["status"], props["equivalence"]["status"])
        assert got == exp, label
        for p in props.values():
            if p["status"] == "proven":
                assert_proven(p)
            if p["status"] == "violated":
                fin = p["counterexample"]["trace"][-1]
                assert fin["event"] == "exit"
                # the concrete re-evaluation of the trace agrees with the solver
                if p["id"] == "safety":
                    assert fin["unsafe"], label
                else:
                    assert fin["differs"], label


def test_table_markdown_has_expectation_and_sources(table):
    md = render_markdown([(d, list(r), exp, "why", ROWS[0][3]) for d, _, exp, r in table.values()])
    assert "expected" in md.splitlines()[0] and "source lines" in md.splitlines()[0]
    assert "common.c do_syscall_64 71-124" in md


def test_every_event_cites_its_source():
    for ev in LINUX_EVENTS + FREEBSD_EVENTS:
        assert ev.sources and all(isinstance(s, Src) and s.file and s.function and s.versions for s in ev.sources)
    linux = {e.name: e for e in LINUX_EVENTS}
    assert any("uprobes.c" in s.file and "uretprobe" in s.function for s in linux["uprobe-syscall"].sources)
    assert any("SYSCALL_DEFINE0(uprobe)" in s.function for s in linux["uprobe-syscall"].sources)
    assert any("rseq.c" in s.file and "rseq_ip_fixup" in s.function for s in linux["rseq"].sources)
    assert "uprobe" not in linux  # no generic in-syscall uprobe event


# --- specific answers -------------------------------------------------------------------
def test_exit_checks_proven_against_iret(table):
    for kw in (dict(name="exit-checks"), dict(name="exit-checks", la57=True)):
        r = row(table, **kw)
        assert_proven(r["safety"])
        assert_proven(r["equivalence"])


def test_ts_compat_clear_can_fail(table):
    kw = dict(name="exit-checks", ts_compat_clear=False)
    s = row(table, **kw)["safety"]
    assert s["status"] == "violated" and s["trace_length"] == 3
    tr = s["counterexample"]["trace"]
    assert tr[0]["event"] in ("int80", "fast32") and tr[0]["ts_compat"] is True
    assert final(s)["unsafe"] == ["ts-compat-set"] and final(s)["ts_compat"] is True
    assert_minimal(kw, "safety", 3)


def test_user_tf_trace(table):
    e = row(table, name="force-iret", flag_sites="all")["equivalence"]
    tr = e["counterexample"]["trace"]
    assert events(e) == ["syscall", "exit-work", "exit"] and tr[0]["tf"] is True
    assert final(e)["return"] == "SYSRET" and final(e)["trap"] == "before-first-insn"
    assert final(e)["reference"]["return"] == "IRET" and final(e)["reference"]["trap"] == "after-first-insn"
    assert "rflags-no-rf-tf" in final(e)["obligations_failed"]


def test_uretprobe_early_return_is_unsafe(table):
    s = row(table, name="force-iret", flag_sites="ptrace,sigreturn,exec")["safety"]
    assert events(s) == ["syscall", "uprobe-syscall", "exit-work", "exit"]
    up = s["counterexample"]["trace"][1]
    assert up["branch"] == "early-return"
    assert final(s)["return"] == "SYSRET" and final(s)["unsafe"]   # IOPL/IF from the stack's r11, or ring-0 #GP
    assert_minimal(dict(name="force-iret", flag_sites="ptrace,sigreturn,exec"), "safety", 4)


@pytest.mark.parametrize("prop", ["safety", "equivalence"])
def test_uretprobe_ensure_sysret_branch_is_harmless(prop):
    """Without a flag site for the uprobe syscalls, the early-return branch
    gives a counterexample; the ensure-sysret branch (ip back to the
    trampoline, cx = ip, r11 = flags) never does."""
    d = make_design("force-iret", flag_sites="all-but-uprobe-syscall,entry-tf")
    mc = safety_machine(d) if prop == "safety" else equivalence_machine(d)
    k = mc.event_names.index("uprobe-syscall")

    def branch(early):
        # every uprobe syscall in the run takes this branch, and there is one
        return lambda S, sels, inps: z3.And(
            z3.Or(*(sel == k for sel in sels)),
            *(z3.Implies(sel == k, inp.bool("early") == early) for sel, inp in zip(sels, inps)))
    for depth in (3, 4):
        assert find_trace(mc, depth, branch(False)) is None
    hit = find_trace(mc, 3, branch(True))
    assert hit is not None
    tr = trace_json(d, hit)
    assert [e["event"] for e in tr] == ["syscall", "uprobe-syscall", "exit-work", "exit"]
    assert tr[1]["branch"] == "early-return" and tr[-1]["return"] == "SYSRET"


def test_rseq_abort_ip_is_a_writer():
    d = make_design("force-iret", flag_sites="all-but-rseq,entry-tf")
    saf, eqv = prove(safety_machine(d)), prove(equivalence_machine(d))
    assert saf.status == "proven"          # abort_ip < TASK_SIZE; RCX = cx stays canonical
    assert eqv.status == "violated"
    tr = trace_json(d, eqv)
    assert [e["event"] for e in tr] == ["syscall", "exit-work", "rseq", "exit"]
    assert tr[-1]["return"] == "SYSRET" and tr[-1]["reference"]["return"] == "IRET"
    assert tr[-1]["user_sees"]["rip"] != tr[-1]["reference"]["user_sees"]["rip"]
    assert int(tr[2]["abort_ip"], 16) < (1 << 47) - 4096


def test_sigreturn_r11_gives_iopl3_on_amd_too(table):
    kw = dict(name="force-iret", flag_sites="all-but-sigreturn,entry-tf", cpu="amd")
    s = row(table, **kw)["safety"]
    assert events(s) == ["syscall", "sigreturn", "exit-work", "exit"]
    w = s["counterexample"]["trace"][1]["writes"]
    assert "r11" in w
    fin = final(s)
    assert fin["return"] == "SYSRET" and fin["outcome"] == "ok"
    rflags = int(fin["user_sees"]["rflags"], 16)
    assert rflags & 0x3000 == 0x3000 and "iopl=3" in fin["unsafe"]
    assert int(w["r11"], 16) & 0x3000 == 0x3000


def test_exec_r11_zero_gives_if_clear(table):
    kw = dict(name="force-iret", flag_sites="all-but-exec,entry-tf")
    s = row(table, **kw)["safety"]
    assert events(s) == ["syscall", "exec", "exit-work", "exit"]
    assert s["counterexample"]["trace"][1]["writes"]["r11"] == "0x0"
    fin = final(s)
    assert fin["return"] == "SYSRET" and fin["outcome"] == "ok" and "if-clear" in fin["unsafe"]
    assert int(fin["user_sees"]["rflags"], 16) & 0x200 == 0


def test_amd_no_flag_sites_unsafe(table):
    s = row(table, name="force-iret", flag_sites="none", cpu="amd")["safety"]
    assert s["status"] == "violated"
    fin = final(s)
    assert fin["return"] == "SYSRET" and fin["outcome"] != "ring0-#GP"   # AMD faults in ring 3 ...
    assert fin["unsafe"] and "ring0-fault" not in fin["unsafe"]         # ... but RFLAGS still come from R11


def test_amd_noncanonical_faults_in_ring3():
    v = cpu.sysretq(z3.BitVecVal(1 << 47, 64), z3.BitVecVal(0x3202, 64), z3.BitVecVal(0, 64), cpu.AMD, False, 0x33, 0x2B)
    assert z3.simplify(v.outcome).as_long() == cpu.USER_FAULT
    assert z3.simplify(v.rflags).as_long() & 0x3000 == 0x3000
    v = cpu.sysretq(z3.BitVecVal(1 << 47, 64), z3.BitVecVal(0x202, 64), z3.BitVecVal(0, 64), cpu.INTEL, False, 0x33, 0x2B)
    assert z3.simplify(v.outcome).as_long() == cpu.RING0_FAULT


def test_top_page_guard_and_la57(table):
    for la57, bits in ((False, 47), (True, 56)):
        s = row(table, name="force-iret", flag_sites="all,entry-tf", top_page_guard=False, la57=la57)["safety"]
        tr = s["counterexample"]["trace"]
        assert int(tr[0]["user_ip"], 16) == (1 << bits) - 2 and int(tr[0]["saved_ip"], 16) == 1 << bits
        assert final(s)["outcome"] == "ring0-#GP" and final(s)["obligations_failed"] == ["canonical-rip"]
    # 1<<47 is canonical with LA57: no fault there
    v = cpu.sysretq(z3.BitVecVal(1 << 47, 64), z3.BitVecVal(0x202, 64), z3.BitVecVal(0, 64), cpu.INTEL, True, 0x33, 0x2B)
    assert z3.simplify(v.outcome).as_long() == cpu.OK
    assert make_design("exit-checks", la57=True).options()["la57"] is True


def test_flag_test_before_the_exit_work_loop(table):
    s = row(table, name="force-iret", flag_sites="all,entry-tf", flag_test="before")["safety"]
    tr = s["counterexample"]["trace"]
    i = events(s).index("exit-work")
    assert tr[i]["latched"] is False
    assert any(e["event"] in ("poke", "signal", "rseq", "restart") for e in tr[i + 1:-1])
    assert final(s)["return"] == "SYSRET" and final(s)["flag"] is True and final(s)["latched"] is False
    assert_proven(row(table, name="force-iret", flag_sites="all,entry-tf")["safety"])


def test_gerst_as_written(table):
    d = make_design("gerst")
    assert d.flag_sites == frozenset({"ptrace", "sigreturn", "exec"})
    s = row(table, name="gerst")["safety"]
    assert events(s) == ["syscall", "uprobe-syscall", "exit-work", "exit"]
    assert_proven(row(table, name="gerst", flag_sites="all,entry-tf")["safety"])
    assert_proven(row(table, name="gerst", flag_sites="all,entry-tf")["equivalence"])


def test_gerst_check_then_change_is_explored():
    """A tracer write that passes the check at the writer (so no flag), then
    a later change by an event that is not a checking site: the exit takes
    SYSRET and the user sees something IRET would not give."""
    d = make_design("gerst", flag_sites="ptrace,sigreturn,exec,entry-tf")
    mc = equivalence_machine(d)
    poke, later = mc.event_names.index("poke"), [mc.event_names.index(n) for n in ("restart", "signal", "rseq")]

    def shape(S, sels, inps):
        c = []
        for j, sel in enumerate(sels):
            for k in range(j + 1, len(sels)):
                c.append(z3.And(sel == poke, z3.Not(S[j + 1][0].flag),
                                S[j + 1][0].ip != S[j][0].ip,   # the write changed something
                                z3.Or(*(sels[k] == x for x in later))))
        return z3.Or(*c)
    hit = find_trace(mc, 6, shape)
    assert hit is not None
    tr = trace_json(d, hit)
    ev = [e["event"] for e in tr]
    j = ev.index("poke")
    assert tr[j]["check_passes"] is True and tr[j]["flag"] is False
    assert any(e["event"] in ("restart", "signal", "rseq") and e.get("check_passes") is False for e in tr[j + 1:-1])
    assert tr[-1]["return"] == "SYSRET" and tr[-1]["reference"]["return"] == "IRET"


def test_cve_2014_4699(table):
    kw = dict(name="force-iret-at-stops", stops="signal,syscall")
    s = row(table, **kw)["safety"]
    ev = events(s)
    assert ev[:3] == ["syscall", "stop", "poke"] and ev[-1] == "exit"
    tr = s["counterexample"]["trace"]
    assert tr[1]["kind"] == "ptrace-event" and tr[2]["stop"] == "ptrace-event"
    assert not ob.is_canonical_int(int(tr[2]["writes"]["ip"], 16), False)
    assert final(s)["outcome"] == "ring0-#GP"


def test_compat_sysretl_design(table):
    r = row(table, name="compat-sysretl")
    assert_proven(r["safety"])
    assert_proven(r["equivalence"])
    assert r["safety"]["witnesses"]["exit:SYSRETL"] is True
    e = row(table, name="compat-sysretl", compat_checks="cs-ss,flags")["equivalence"]
    assert events(e)[0] == "fast32" and final(e)["return"] == "SYSRETL"
    pad = int(e["counterexample"]["trace"][0]["saved_ip"], 16)
    assert 0x1000 <= pad < 1 << 32
    fin = final(e)
    assert int(fin["user_sees"]["rip"], 16) != pad                  # not at the landing pad ...
    assert fin["user_sees"]["rcx"] == fin["user_sees"]["rip"]       # ... and SYSRETL put EIP in ECX
    assert any(x.startswith("rcx ") for x in fin["differs"])
    e = row(table, name="compat-sysretl", compat_checks="landing-pad,cs-ss")["equivalence"]
    assert final(e)["return"] == "SYSRETL" and final(e)["trap"] == "before-first-insn"
    assert COMPAT_CHECKS == ("landing-pad", "cs-ss", "flags")


def test_freebsd_as_freebsd_does_it(table):
    r = row(table, name="freebsd")
    assert_proven(r["safety"])
    e = r["equivalence"]
    tr = e["counterexample"]["trace"]
    steps = [x for x in tr if x["event"] == "resume"]
    assert steps and steps[-1]["step"] is True and steps[-1]["flag"] is False   # PT_STEP: PSL_T only
    assert final(e)["return"] == "SYSRET" and final(e)["trap"] == "before-first-insn"
    assert_proven(row(table, name="freebsd", top_page_guard=False)["safety"])
    names = [x.name for x in FREEBSD_EVENTS]
    assert "uprobe-syscall" not in names and "rseq" not in names and "setregs" in names


def test_freebsd_traced_syscall_posts_sigtrap():
    d = make_design("freebsd")
    mc = safety_machine(d)
    s0, s1 = mc.fresh("a"), mc.fresh("b")
    inp = Inputs("i")
    sv = z3.Solver()
    sv.add(mc.init(s0), mc.trans(s0, s1, inp, z3.BitVecVal(mc.event_names.index("syscall"), 4)),
           inp.bv("uflags") & TF != 0)
    assert sv.check() == z3.sat
    m = sv.model()
    assert z3.is_true(m.eval(s1[0].sigtrap)) and m.eval(s1[0].flags).as_long() & TF == 0


# --- non-vacuity ---------------------------------------------------------------------------
def test_all_guards_false_is_vacuous():
    d = make_design("exit-checks")
    dead = tuple(Event(e.name, (lambda f: lambda d_, s, i: (z3.BoolVal(False), f(d_, s, i)[1]))(e.step),
                       e.sources) for e in LINUX_EVENTS)
    mc = Machine("safety", (d,), lambda ss: invariants.unsafe_exit(d, ss[0]),
                 (("safe_if_exit_now", lambda ss: invariants.safe_if_exit_now(d, ss[0])),), dead)
    r = prove(mc)
    assert r.status == "vacuous" and "vacuous" in r.reason
    assert not any(r.witnesses.values())
    assert set(r.witnesses) == set(witness_kinds(mc))


def test_witness_kinds_cover_events_and_exits():
    mc = safety_machine(make_design("exit-checks"))
    kinds = witness_kinds(mc)
    assert {"exit:SYSRET", "exit:IRET", "exit:SYSRETL"} <= set(kinds)
    assert all(f"event:{e.name}" in kinds for e in LINUX_EVENTS)


def test_equivalence_machine_is_the_design_alone():
    """The reference is evaluated on the design's own state: no second
    machine whose guards could restrict it.  SYSCALL from the last page is
    reachable in the equivalence machine of a --no-top-page-guard design."""
    d = make_design("freebsd", top_page_guard=False)
    mc = equivalence_machine(d)
    assert mc.designs == (d,)
    s0, s1 = mc.fresh("a"), mc.fresh("b")
    inp = Inputs("i")
    sv = z3.Solver()
    sv.add(mc.init(s0), mc.trans(s0, s1, inp, z3.BitVecVal(0, 4)), inp.bv("uip") == (1 << 47) - 2)
    assert sv.check() == z3.sat


def test_models_use_the_verifier_obligations():
    import models.designs as md
    assert md.SysretInputs is ob.SysretInputs
    assert cpu.is_canonical is ob.is_canonical


def test_sites_vocabulary():
    assert SITES == ("ptrace", "sigreturn", "exec", "signal", "restart", "singlestep", "rseq", "uprobe-syscall")


# --- CLI ------------------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "models.cli", "model", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes_and_json():
    p = _cli("prove", "--design", "force-iret-at-stops", "--stops", "signal,syscall", "--format", "json")
    assert p.returncode == 1
    j = json.loads(p.stdout)
    assert j["verdict"] == "violated" and j["design"] == "force-iret-at-stops"
    assert j["stops"] == ["signal", "syscall"] and j["cpu"] == "intel" and j["la57"] is False
    saf = {x["id"]: x for x in j["properties"]}["safety"]
    assert "ptrace-event" in [e.get("kind") for e in saf["counterexample"]["trace"]]
    p = _cli("prove", "--design", "compat-sysretl")
    assert p.returncode == 0 and "proven" in p.stdout and "witnesses" in p.stdout


@pytest.mark.parametrize("args", [
    ("prove", "--design", "nope"),
    ("prove", "--design", "force-iret"),
    ("prove", "--design", "force-iret", "--flag-sites", "ptrace,bogus"),
    ("prove", "--design", "force-iret-at-stops", "--stops", "fork"),
    ("prove", "--design", "exit-checks", "--cpu", "arm"),
    ("prove", "--design", "exit-checks", "--format", "xml"),
    ("prove", "--design", "exit-checks", "--stops", "signal"),
    ("prove", "--design", "force-iret", "--flag-sites", "all", "--flag-test", "middle"),
    ("prove", "--design", "exit-checks", "--compat-checks", "flags"),
])
def test_cli_usage_errors(args):
    p = _cli(*args)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and p.stdout == ""


def test_cli_vacuous_design_is_not_proven():
    """The IRET-only reference never returns by SYSRET: its proofs have no
    SYSRET witness, so they are vacuous (exit 3), not proven."""
    p = _cli("prove", "--design", "iret", "--format", "json")
    assert p.returncode == 3
    j = json.loads(p.stdout)
    assert j["verdict"] == "vacuous"
    for x in j["properties"]:
        assert x["status"] == "vacuous" and x["witnesses"]["exit:SYSRET"] is False
        assert x["witnesses"]["exit:IRET"] is True


def test_readme_splice():
    from models.cli import _splice
    text = "a\n<!-- model-table:begin -->\nold\n<!-- model-table:end -->\nb\n"
    assert _splice(text, "model-table", "new") == "a\n<!-- model-table:begin -->\nnew\n<!-- model-table:end -->\nb\n"


def test_top_level_cli_integration(tmp_path):
    vcli = pytest.importorskip("verify.cli")
    out = tmp_path / "r.json"
    assert vcli.main(["model", "prove", "--design", "exit-checks", "--la57", "--format", "json",
                      "-o", str(out)]) == 0
    assert json.loads(out.read_text())["verdict"] == "proven"


def test_unknown_is_inconclusive_never_proven():
    d = make_design("force-iret", flag_sites="all,entry-tf")
    r = prove(equivalence_machine(d), timeout_ms=1)
    assert r.status == "inconclusive" and "unknown" in r.reason


def test_bounded_is_inconclusive():
    r = prove(safety_machine(make_design("force-iret-at-stops", stops="signal,syscall")), max_depth=2)
    assert r.status == "inconclusive" and "bounded" in r.reason
