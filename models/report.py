"""Turn PropertyResults into the JSON object and a readable story.

A counterexample trace is a list of events, each a dict with "event" and the
values that matter for it (registers the writer changed, the stop kind, ...),
ending with the exit: how the design returned, what the user saw, what
exit-checks would have done, and which obligations of verify/obligations.py
failed at the SYSRET.
"""
from __future__ import annotations

import z3

from verify.obligations import OBLIGATIONS

from .cpu import OK, RING0_FAULT, USER_FAULT, VIEW_REGS
from .designs import REFERENCE, Design
from .prove import PROVEN, VIOLATED, PropertyResult
from .state import REGS, STOP_PTRACE_EVENT, STOP_SIGNAL, STOP_SYSCALL_ENTRY, \
    STOP_SYSCALL_EXIT, TaskState

STOP_WORDS = {STOP_SIGNAL: "signal", STOP_SYSCALL_ENTRY: "syscall-entry",
              STOP_SYSCALL_EXIT: "syscall-exit", STOP_PTRACE_EVENT: "ptrace-event"}


def _h(v: int) -> str:
    return hex(v)


def _concrete(vals: dict) -> TaskState:
    mk = {}
    for n, v in vals.items():
        if isinstance(v, bool):
            mk[n] = z3.BoolVal(v)
        else:
            mk[n] = z3.BitVecVal(v, 32 if n == "status" else 3 if n == "stopped" else 64)
    return TaskState(**mk)


def _ev(e):
    v = z3.simplify(e)
    return z3.is_true(v) if z3.is_bool(v) else v.as_long()


def exit_summary(d: Design, vals: dict) -> dict:
    """Evaluate the design's exit on concrete state values."""
    s = _concrete(vals)
    e = d.exit(s)
    used = _ev(e.use_sysret)
    view = {n: _ev(getattr(e.view, n)) for n in VIEW_REGS}
    out = {"return": "SYSRET" if used else "IRET", "outcome": _outcome_word(_ev(e.view.outcome)),
           "trap": _trap_word(_ev(e.view.trap)),
           "user_sees": {n: _h(view[n]) for n in VIEW_REGS}}
    if used:
        out["rcx"], out["r11"] = _h(_ev(e.inputs.rcx)), _h(_ev(e.inputs.r11))
        out["obligations_failed"] = [o.id for o in OBLIGATIONS if not _ev(o.predicate(e.inputs))]
    return out


def _outcome_word(o: int) -> str:
    return {OK: "ok", USER_FAULT: "user-#GP", RING0_FAULT: "ring0-#GP"}[o]


def _trap_word(t: int) -> str:
    return {0: "none", 1: "before-first-insn", 2: "after-first-insn"}[t]


def _changed(before: dict, after: dict) -> dict:
    return {r: _h(after[r]) for r in REGS if before[r] != after[r]}


def trace_json(d: Design, res: PropertyResult) -> list:
    out = []
    for st in res.steps:
        b, a, i = st.before[0], st.after[0], st.inputs
        e = {"event": st.event}
        if st.event in ("syscall", "compat-syscall"):
            e.update({"user_ip": _h(i["uip"]), "saved_ip": _h(a["ip"]), "user_rflags": _h(a["flags"]),
                      "tf": bool(a["flags"] & 0x100)})
        elif st.event == "stop":
            e["kind"] = STOP_WORDS[a["stopped"]]
        elif st.event == "ptrace":
            e.update({"stop": STOP_WORDS.get(b["stopped"], "?"), "writes": _changed(b, a)})
        elif st.event == "sigreturn":
            e["writes"] = _changed(b, a)
        elif st.event == "exec":
            e.update({"entry": _h(a["ip"]), "32bit": bool(i.get("is32", False))})
        elif st.event == "signal":
            e["handler"] = _h(a["ip"])
        elif st.event == "restart":
            e["ip"] = _h(a["ip"])
        elif st.event == "uprobe":
            e.update({"ip": _h(a["ip"]), "uretprobe": bool(i.get("uret", False)),
                      "tf": bool(i.get("probe_tf", False)), "writes": _changed(b, a)})
        elif st.event == "exit":
            e["return"] = exit_summary(d, b)["return"]
        e["flag"] = a["flag"]
        out.append(e)
    fin = {"event": "exit", "flag": res.final[0]["flag"], **exit_summary(d, res.final[0])}
    if res.id == "equivalence":
        fin["reference"] = exit_summary(REFERENCE, res.final[1])
    out.append(fin)
    return out


def property_json(d: Design, res: PropertyResult) -> dict:
    p = {"id": res.id, "status": res.status, "method": res.method,
         "seconds": round(res.seconds, 3), "invariants": res.invariants}
    if res.status == PROVEN:
        p["k"] = res.k
    if res.status == VIOLATED:
        p["trace_length"] = res.trace_length
        p["minimal"] = True  # BMC found nothing shorter (depths 0..n-1 unsat)
        p["counterexample"] = {"trace": trace_json(d, res)}
    if res.reason:
        p["reason"] = res.reason
    return p


def verdict(results) -> str:
    st = [r.status for r in results]
    if VIOLATED in st:
        return "violated"
    if all(s == PROVEN for s in st):
        return "proven"
    return "inconclusive"


def design_json(d: Design, results) -> dict:
    return {"verdict": verdict(results), **d.options(), "label": d.label(),
            "properties": [property_json(d, r) for r in results]}


# --- text -----------------------------------------------------------------------------
def _sentence(e: dict) -> str:
    ev = e["event"]
    if ev == "syscall":
        tf = " with TF set in its own RFLAGS (POPF)" if e["tf"] else ""
        return f"the task executes SYSCALL at {e['user_ip']}{tf}; pt_regs ip = cx = {e['saved_ip']}"
    if ev == "compat-syscall":
        return f"the task executes int $0x80 at {e['user_ip']} (TS_COMPAT set)"
    if ev == "stop":
        what = {"ptrace-event": "ptrace-event stop (a fork/clone/exec event)",
                "signal": "signal-delivery stop"}.get(e["kind"], e["kind"] + " stop")
        return f"the tracer stops the task at a {what}"
    if ev == "ptrace":
        w = ", ".join(f"{k}={v}" for k, v in e["writes"].items()) or "the same values back"
        return f"the tracer, at the {e['stop']} stop, writes {w}"
    if ev == "sigreturn":
        w = ", ".join(f"{k}={v}" for k, v in e["writes"].items()) or "nothing new"
        return f"rt_sigreturn loads from the user's frame: {w}"
    if ev == "exec":
        return f"execve of a {'32' if e['32bit'] else '64'}-bit binary, entry {e['entry']} (cx, r11 zeroed)"
    if ev == "signal":
        return f"a signal is delivered: ip := handler {e['handler']}, TF/DF/RF cleared, cx untouched"
    if ev == "restart":
        return f"the syscall is restarted: ip -= 2 -> {e['ip']}, cx still the old ip"
    if ev == "singlestep":
        return "the tracer resumes the task with PTRACE_SINGLESTEP: TF set in pt_regs->flags"
    if ev == "uprobe":
        kind = "the uretprobe syscall (cx := ip, r11 := flags)" if e["uretprobe"] else "a uprobe"
        return f"{kind} sets ip = {e['ip']}{' and TF' if e['tf'] else ''}"
    if ev == "exit":
        return f"the task returns to user mode with {e['return']}"
    return ev


def _exit_story(e: dict, cpu: str) -> str:
    flag = "flag set" if e["flag"] else "flag clear"
    s = f"the task returns with {e['return']} ({flag})"
    if e["return"] == "SYSRET":
        s += f", RCX={e['rcx']} R11={e['r11']}"
        if e.get("obligations_failed"):
            s += f" [fails: {', '.join(e['obligations_failed'])}]"
    if e["outcome"] == "ring0-#GP":
        s += f": ring-0 #GP on {cpu.capitalize()} (non-canonical RCX, user RSP/GS live)"
    elif e["outcome"] == "user-#GP":
        s += ": #GP delivered to user mode"
    else:
        s += f": user sees RIP={e['user_sees']['rip']} RFLAGS={e['user_sees']['rflags']}"
        if e["trap"] != "none":
            s += f", single-step trap {e['trap'].replace('-', ' ')}"
    ref = e.get("reference")
    if ref:
        s += f"; exit-checks would take {ref['return']}"
        diffs = [f"{k} {e['user_sees'][k]} vs {ref['user_sees'][k]}" for k in VIEW_REGS
                 if e["user_sees"][k] != ref["user_sees"][k]]
        if ref["outcome"] != e["outcome"]:
            diffs.insert(0, f"outcome {e['outcome']} vs {ref['outcome']}")
        if ref["trap"] != e["trap"]:
            diffs.append(f"trap {e['trap']} vs {ref['trap']}")
        if diffs and e["outcome"] != "ring0-#GP":
            s += " (differs: " + "; ".join(diffs) + ")"
    return s


def story(d: Design, trace: list) -> str:
    parts = [_sentence(e) for e in trace[:-1]] + [_exit_story(trace[-1], d.cpu)]
    return "; ".join(parts) + "."


def design_text(d: Design, results) -> str:
    lines = [f"design: {d.label()}", f"verdict: {verdict(results)}"]
    for r in results:
        if r.status == PROVEN:
            how = "induction (1-inductive)" if r.method == "induction" else f"k-induction, k={r.k}"
            lines.append(f"  {r.id}: proven by {how} [{r.seconds:.2f}s]")
        elif r.status == VIOLATED:
            tr = trace_json(d, r)
            lines.append(f"  {r.id}: VIOLATED, minimal trace of {r.trace_length} events "
                         f"(BMC found nothing shorter) [{r.seconds:.2f}s]")
            for n, e in enumerate(tr, 1):
                text = _exit_story(e, d.cpu) if n == len(tr) else _sentence(e)
                lines.append(f"    {n}. {text}")
        else:
            lines.append(f"  {r.id}: INCONCLUSIVE: {r.reason}")
    return "\n".join(lines) + "\n"
