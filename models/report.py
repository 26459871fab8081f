"""Turn PropertyResults into the JSON object and a readable story.

A counterexample trace is a list of events, each a dict with "event" and the
values that matter for it (registers the writer changed, the stop kind, the
branch a uprobe syscall took, whether a Gerst-style check at the writer
passed, ...), ending with the exit: how the design returned, what the user
saw, what IRET from the same frame gives, which obligations of
verify/obligations.py failed at a SYSRET, and which safety conditions broke.
"""
from __future__ import annotations

import z3

from verify.obligations import OBLIGATIONS

from .cpu import OK, RING0_FAULT, USER_FAULT, VIEW_REGS
from .designs import Design
from .prove import PROVEN, VACUOUS, VIOLATED, PropertyResult
from .state import (EFLAGS_IOPL, EFLAGS_NT, EFLAGS_VM, REGS, STOP_PTRACE_EVENT, STOP_SIGNAL,
                    STOP_SYSCALL_ENTRY, STOP_SYSCALL_EXIT, TS_COMPAT, WIDTHS, TaskState)

STOP_WORDS = {STOP_SIGNAL: "signal", STOP_SYSCALL_ENTRY: "syscall-entry",
              STOP_SYSCALL_EXIT: "syscall-exit", STOP_PTRACE_EVENT: "ptrace-event"}


def _h(v: int) -> str:
    return hex(v)


def _concrete(vals: dict) -> TaskState:
    mk = {}
    for n, v in vals.items():
        mk[n] = z3.BoolVal(v) if isinstance(v, bool) else z3.BitVecVal(v, WIDTHS.get(n, 64))
    return TaskState(**mk)


def _ev(e):
    v = z3.simplify(e)
    return z3.is_true(v) if z3.is_bool(v) else v.as_long()


def exit_summary(d: Design, vals: dict) -> dict:
    """Evaluate the design's exit on concrete state values."""
    s = _concrete(vals)
    e = d.exit(s)
    q, ll = _ev(e.use_sysret), _ev(e.use_sysretl)
    view = {n: _ev(getattr(e.view, n)) for n in VIEW_REGS}
    out = {"return": "SYSRET" if q else "SYSRETL" if ll else "IRET",
           "outcome": _outcome_word(_ev(e.view.outcome)), "trap": _trap_word(_ev(e.view.trap)),
           "user_sees": {n: _h(view[n]) for n in VIEW_REGS}}
    if q:
        out["rcx"], out["r11"] = _h(_ev(e.inputs.rcx)), _h(_ev(e.inputs.r11))
        out["obligations_failed"] = [o.id for o in OBLIGATIONS if not _ev(o.predicate(e.inputs))]
    st = _ev(e.status)
    unsafe = []
    fl = view["rflags"]
    if _ev(e.view.outcome) == RING0_FAULT:
        unsafe.append("ring0-fault")
    else:
        if fl & EFLAGS_IOPL:
            unsafe.append(f"iopl={(fl & EFLAGS_IOPL) >> 12}")
        if not fl & 0x200:
            unsafe.append("if-clear")
        if fl & EFLAGS_VM:
            unsafe.append("vm-set")
        if fl & EFLAGS_NT and not vals["flags"] & EFLAGS_NT:
            unsafe.append("nt-set")
    if st & TS_COMPAT:
        unsafe.append("ts-compat-set")
    out["unsafe"] = unsafe
    out["ts_compat"] = bool(st & TS_COMPAT)
    return out


def _outcome_word(o: int) -> str:
    return {OK: "ok", USER_FAULT: "user-#GP", RING0_FAULT: "ring0-#GP"}[o]


def _trap_word(t: int) -> str:
    return {0: "none", 1: "before-first-insn", 2: "after-first-insn"}[t]


def _changed(before: dict, after: dict) -> dict:
    return {r: _h(after[r]) for r in REGS if before[r] != after[r]}


def _check_passes(vals: dict, d: Design) -> bool:
    return _ev(d.linux_checks(_concrete(vals)))


def trace_json(d: Design, res: PropertyResult) -> list:
    out = []
    for st in res.steps:
        b, a, i = st.before[0], st.after[0], st.inputs
        e = {"event": st.event}
        if st.event in ("syscall", "int80", "fast32"):
            e.update({"saved_ip": _h(a["ip"]), "user_rflags": _h(a["flags"]), "tf": bool(i.get("uflags", 0) & 0x100)})
            if "uip" in i:
                e["user_ip"] = _h(i["uip"])
            if st.event != "syscall" or d.os == "freebsd":
                e["ts_compat"] = bool(a["status"] & TS_COMPAT)
            if d.os == "freebsd":
                e["sigtrap"] = a["sigtrap"]
        elif st.event == "stop":
            e["kind"] = STOP_WORDS[a["stopped"]]
        elif st.event in ("poke", "setregs"):
            e.update({"stop": STOP_WORDS.get(b["stopped"], "?"), "writes": _changed(b, a)})
        elif st.event == "resume":
            e.update({"step": bool(i.get("step")), "writes": _changed(b, a)})
            if "setpc" in i:
                e["setpc"] = bool(i["setpc"])
        elif st.event == "sigreturn":
            e["writes"] = _changed(b, a)
        elif st.event == "exec":
            e.update({"entry": _h(a["ip"]), "32bit": bool(i.get("is32", False)), "writes": _changed(b, a)})
        elif st.event == "signal":
            e.update({"handler": _h(a["ip"]), "ia32": bool(i.get("ia32", False)), "writes": _changed(b, a)})
        elif st.event == "restart":
            e["ip"] = _h(a["ip"])
        elif st.event == "rseq":
            e["abort_ip"] = _h(a["ip"])
        elif st.event == "uprobe-syscall":
            e.update({"syscall": "sys_uprobe" if i.get("sys_uprobe") else "sys_uretprobe",
                      "branch": "early-return" if i.get("early") else "ensure-sysret",
                      "writes": _changed(b, a)})
        elif st.event == "exit-work":
            e["latched"] = a["latched"]
        if d.name == "gerst" and st.event in ("poke", "sigreturn", "exec", "signal", "restart", "resume",
                                              "rseq", "uprobe-syscall"):
            e["check_passes"] = _check_passes(a, d)
        e["flag"] = a["flag"]
        out.append(e)
    fin = {"event": "exit", "flag": res.final[0]["flag"], "latched": res.final[0]["latched"],
           **exit_summary(d, res.final[0])}
    if res.id == "equivalence":
        ref = fin["reference"] = exit_summary(d.reference(), res.final[-1])
        # the registers the equivalence compares (cpu.views_equal): no RCX/R11
        # on FreeBSD (its syscall ABI clobbers them) or in a return to 32-bit code
        compat = fin["return"] == "SYSRETL" or ref["user_sees"]["cs"] == "0x23" or fin["user_sees"]["cs"] == "0x23"
        at_pad = fin["user_sees"]["rip"] == hex(res.final[-1]["pad"])
        regs = [r for r in VIEW_REGS if not (r in ("rcx", "r11") and d.os == "freebsd")
                and not (compat and (r == "r11" or (r == "rcx" and at_pad)))]
        fin["differs"] = ([f"outcome {fin['outcome']} vs {ref['outcome']}"] if ref["outcome"] != fin["outcome"] else []) \
            + [f"{k} {fin['user_sees'][k]} vs {ref['user_sees'][k]}" for k in regs
               if fin["user_sees"][k] != ref["user_sees"][k]] \
            + ([f"trap {fin['trap']} vs {ref['trap']}"] if ref["trap"] != fin["trap"] else [])
    out.append(fin)
    return out


def property_json(d: Design, res: PropertyResult) -> dict:
    p = {"id": res.id, "status": res.status, "method": res.method,
         "seconds": round(res.seconds, 3), "invariants": res.invariants, "lemmas": res.lemmas}
    if res.status in (PROVEN, VACUOUS):
        p["k"] = res.k
        p["witnesses"] = res.witnesses
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
    if VACUOUS in st and "inconclusive" not in st:
        return "vacuous"
    return "inconclusive"




def design_json(d: Design, results) -> dict:
    return {"verdict": verdict(results), **d.options(), "label": d.label(),
            "properties": [property_json(d, r) for r in results]}


# --- text -----------------------------------------------------------------------------
def _w(e) -> str:
    return ", ".join(f"{k}={v}" for k, v in e.get("writes", {}).items()) or "nothing new"


def _sentence(e: dict) -> str:
    ev = e["event"]
    if ev == "syscall":
        tf = " with TF set in its own RFLAGS (POPF)" if e["tf"] else ""
        extra = "; SIGTRAP posted, TF cleared (traced syscall)" if e.get("sigtrap") else ""
        return f"the task executes SYSCALL at {e.get('user_ip')}{tf}; saved ip = {e['saved_ip']}{extra}"
    if ev == "int80":
        return f"the task executes int $0x80 at {e.get('user_ip')} (TS_COMPAT set)"
    if ev == "fast32":
        return f"32-bit code enters by SYSENTER/SYSCALL through the vDSO; ip := landing pad {e['saved_ip']} (TS_COMPAT set)"
    if ev == "stop":
        return f"the tracer stops the task at a {e['kind']} stop"
    if ev in ("poke", "setregs"):
        chk = "" if "check_passes" not in e else (" (check at the writer passes: no flag)" if e["check_passes"]
                                                  else " (check at the writer fails: flag set)")
        return f"the tracer, at the {e['stop']} stop, writes {_w(e)}{chk}"
    if ev == "resume":
        what = "PTRACE_SINGLESTEP (TF set)" if e["step"] else "PTRACE_CONT"
        if e.get("setpc"):
            what += f", new pc ({_w(e)})"
        return f"the tracer resumes the task with {what}"
    if ev == "sigreturn":
        return f"sigreturn loads from the user's frame: {_w(e)}"
    if ev == "exec":
        return f"execve of a {'32' if e['32bit'] else '64'}-bit binary, entry {e['entry']}: {_w(e)}"
    if ev == "signal":
        return f"a signal is delivered: {_w(e)}"
    if ev == "restart":
        return f"the syscall is restarted: ip -= 2 -> {e['ip']}"
    if ev == "rseq":
        return f"rseq_ip_fixup moves ip to the abort handler {e['abort_ip']}"
    if ev == "uprobe-syscall":
        return f"{e['syscall']} returns by its {e['branch']} branch: {_w(e)}"
    if ev == "exit-work":
        return "the syscall body ends; the exit-work loop starts (flag here: " + \
            ("set)" if e["latched"] else "clear)")
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
        s += f": #GP delivered to user mode, RFLAGS={e['user_sees']['rflags']}"
    else:
        s += f": user sees RIP={e['user_sees']['rip']} RFLAGS={e['user_sees']['rflags']}"
        if e["trap"] != "none":
            s += f", single-step trap {e['trap'].replace('-', ' ')}"
    if e.get("unsafe"):
        s += " UNSAFE: " + ", ".join(e["unsafe"])
    ref = e.get("reference")
    if ref:
        s += f"; IRET from the same frame gives {ref['outcome']}"
        diffs = e.get("differs", [])
        if diffs and e["outcome"] != "ring0-#GP":
            s += " (differs: " + "; ".join(diffs) + ")"
    return s


def design_text(d: Design, results) -> str:
    lines = [f"design: {d.label()}", f"verdict: {verdict(results)}"]
    for r in results:
        if r.status == PROVEN:
            how = "induction (1-inductive)" if r.method == "induction" else f"k-induction, k={r.k}"
            lines.append(f"  {r.id}: proven by {how}, lemmas {', '.join(r.lemmas) or 'none'}; "
                         f"witnesses: all {len(r.witnesses)} reached [{r.seconds:.2f}s]")
        elif r.status == VIOLATED:
            tr = trace_json(d, r)
            lines.append(f"  {r.id}: VIOLATED, minimal trace of {r.trace_length} events "
                         f"(BMC found nothing shorter) [{r.seconds:.2f}s]")
            for n, e in enumerate(tr, 1):
                text = _exit_story(e, d.cpu) if n == len(tr) else _sentence(e)
                lines.append(f"    {n}. {text}")
        elif r.status == VACUOUS:
            lines.append(f"  {r.id}: VACUOUS (not proven): {r.reason}")
        else:
            lines.append(f"  {r.id}: INCONCLUSIVE: {r.reason}")
    return "\n".join(lines) + "\n"
