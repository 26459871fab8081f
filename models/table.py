"""The table of designs x properties (models/README.md, `model table`).

Each row is (design arguments, what the issue expected).  The `entry-tf`
rows are ours: they add the one entry condition no writer covers (a
user-set TF at SYSCALL), so that the writer-based counterexamples the issue
asks about become the minimal ones.
"""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

from .designs import SITES, make_design
from .prove import equivalence_machine, prove, safety_machine

ALL_BUT_EXEC = ",".join(s for s in SITES if s != "exec")

# (kwargs for make_design, expected per the issue)
ROWS = (
    (dict(name="exit-checks"), "safe and (trivially) equivalent: proven"),
    (dict(name="force-iret", flag_sites="all"), "proven, unless an entry condition no writer covers"),
    (dict(name="force-iret", flag_sites="all,entry-tf"), "(ours) proven"),
    (dict(name="force-iret", flag_sites="ptrace,sigreturn,exec"), "not equivalent: a writer outside the three"),
    (dict(name="force-iret", flag_sites="ptrace,sigreturn,exec,entry-tf"), "(ours) trace through a writer outside the three"),
    (dict(name="force-iret", flag_sites="all", top_page_guard=False), "unsafe: SYSCALL from the last user page"),
    (dict(name="force-iret", flag_sites=ALL_BUT_EXEC), "a counterexample through exec"),
    (dict(name="force-iret", flag_sites=ALL_BUT_EXEC + ",entry-tf"), "(ours) a counterexample through exec"),
    (dict(name="force-iret-at-stops", stops="signal,syscall"), "unsafe: CVE-2014-4699"),
    (dict(name="force-iret-at-stops", stops="signal,syscall,ptrace-event"), "proven"),
    (dict(name="force-iret-at-stops", stops="signal,syscall,ptrace-event", flag_sites="entry-tf"), "(ours) proven"),
    (dict(name="freebsd"), "whatever the proof says"),
    (dict(name="freebsd", top_page_guard=False), "(ours) canonical test replaces the guard"),
    (dict(name="exit-checks", cpu="amd"), "whatever the proof says"),
    (dict(name="force-iret", flag_sites="all", cpu="amd"), "whatever the proof says"),
    (dict(name="force-iret", flag_sites="all,entry-tf", top_page_guard=False, cpu="amd"), "whatever the proof says"),
    (dict(name="force-iret", flag_sites="ptrace,sigreturn,exec,entry-tf", cpu="amd"), "whatever the proof says"),
    (dict(name="force-iret-at-stops", stops="signal,syscall", cpu="amd"), "whatever the proof says"),
    (dict(name="force-iret-at-stops", stops="signal,syscall", flag_sites="entry-tf", cpu="amd"), "whatever the proof says"),
    (dict(name="freebsd", cpu="amd"), "whatever the proof says"),
)


def run_design(kw: dict, max_depth: int = 8, timeout_ms: int = 60000):
    d = make_design(**kw)
    return d, [prove(safety_machine(d), max_depth, timeout_ms),
               prove(equivalence_machine(d), max_depth, timeout_ms)]


def _job(args):
    kw, max_depth, timeout_ms = args
    return run_design(kw, max_depth, timeout_ms)


def run_table(rows=ROWS, jobs: int = 2, max_depth: int = 8, timeout_ms: int = 60000):
    """[(design, [safety, equivalence], expected)], and the wall time."""
    t0 = time.perf_counter()
    work = [(kw, max_depth, timeout_ms) for kw, _ in rows]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as ex:
            out = list(ex.map(_job, work))
    else:
        out = [_job(w) for w in work]
    return [(d, rs, exp) for (d, rs), (_, exp) in zip(out, rows)], time.perf_counter() - t0


def _cell(r) -> str:
    if r.status == "proven":
        return f"proven ({r.method}{', k=' + str(r.k) if r.k > 1 else ''})"
    if r.status == "violated":
        return f"VIOLATED ({r.trace_length} events)"
    return "inconclusive"


def _trace_words(d, r) -> str:
    if r.status != "violated":
        return ""
    from .report import trace_json
    tr = trace_json(d, r)
    words = []
    for e in tr[:-1]:
        w = e["event"]
        if w == "stop":
            w += f"({e['kind']})"
        elif w == "syscall" and e.get("tf"):
            w += "(TF)"
        elif w == "ptrace":
            w += "(" + ",".join(e["writes"]) + ")"
        elif w == "uprobe" and e.get("uretprobe"):
            w = "uretprobe"
        words.append(w)
    fin = tr[-1]
    words.append(f"exit:{fin['return']}/{fin['outcome']}")
    return " > ".join(words)


def render_text(rows) -> str:
    lines = []
    for d, (saf, eqv), exp in rows:
        lines.append(f"{d.label()}")
        lines.append(f"    safety:      {_cell(saf):28} {_trace_words(d, saf)}")
        lines.append(f"    equivalence: {_cell(eqv):28} {_trace_words(d, eqv)}")
        lines.append(f"    expected:    {exp}")
    return "\n".join(lines) + "\n"


def render_markdown(rows) -> str:
    out = ["| design | safety | equivalence | minimal trace(s) | expected (issue) |",
           "|---|---|---|---|---|"]
    for d, (saf, eqv), exp in rows:
        tr = "; ".join(x for x in (("S: " + _trace_words(d, saf)) if saf.status == "violated" else "",
                                   ("E: " + _trace_words(d, eqv)) if eqv.status == "violated" else "") if x)
        out.append(f"| `{d.label()}` | {_cell(saf)} | {_cell(eqv)} | {tr} | {exp} |")
    return "\n".join(out) + "\n"
