"""The text report: objtool-like lines, then a summary.

    arch/x86/entry/entry_64.S:225: error: entry_SYSRETQ_unsafe_stack+0x3: canonical-rip: ... [variant 4-level]

A finding is located by its source line when the image has DWARF (like the
kernel's other checkers), else by the image name.  A finding the baseline
accepts prints as `note:`, not error/warning.
"""
from __future__ import annotations

from ..finding import INCONCLUSIVE, PROVEN, VIOLATED, CheckResult
from .annotate import Annotated, hexv, status_counts


def to_text(a: Annotated) -> str:
    r = a.result
    out = []
    name = r.image_name
    for item in a.items:
        f = item.finding
        where = str(item.source) if item.source else name
        if item.accepted is not None:
            out.append(f"{where}: note: {f.site_symbol}: {f.obligation}: {f.status} but accepted by the baseline: "
                       f"{f.reason} [variant {f.variant}]")
            continue
        if f.status == VIOLATED:
            out.append(f"{where}: error: {f.site_symbol}: {f.obligation}: {f.reason} [variant {f.variant}]")
            c = f.counterexample
            if c is not None:
                u = c.user_entry
                out.append(f"{name}: note: {f.site_symbol}: counterexample (replayed: {'yes' if c.replayed else 'no'}): "
                           f"user rip={hexv(u.get('rcx', 0))} rflags={hexv(u.get('r11', 0))}; at SYSRET "
                           f"rcx={hexv(c.registers['rcx'])} r11={hexv(c.registers['r11'])} "
                           f"pt_regs ip={hexv(c.pt_regs.get('ip', 0))} flags={hexv(c.pt_regs.get('flags', 0))} "
                           f"cs={hexv(c.pt_regs.get('cs', 0))} ss={hexv(c.pt_regs.get('ss', 0))} "
                           f"ti_status={hexv(c.ti_status)}")
                steps = [s for s in c.path if s.note]
                for s in steps[-12:]:
                    out.append(f"{name}: note: {s.symbol}: {s.note}")
        elif f.status == INCONCLUSIVE:
            out.append(f"{where}: warning: {f.site_symbol}: {f.obligation}: inconclusive: {f.reason} "
                       f"[variant {f.variant}]")
    out.append("")
    out.append(f"{name}: {r.version or 'unknown version'}")
    for v in r.variants:
        out.append(f"  variant {v['name']}: {v.get('blocks', 0)} blocks explored in {v.get('rounds', 0)} "
                   f"round(s), {v.get('sysret_paths', 0)} SYSRET arrival(s), following "
                   f"{', '.join(v.get('followed', [])) or 'no calls'}")
    if r.assumptions:
        out.append("  assumptions: " + ", ".join(a["id"] for a in r.assumptions))
    if not r.findings:
        # (nothing was decided: the notes say why)
        out += [f"  note: {n}" for n in r.notes]
    out.append(summary_line(r))
    return "\n".join(out) + "\n"


def summary_line(r: CheckResult) -> str:
    """The one-line verdict every run ends with (text output and stderr)."""
    counts = status_counts(r.findings)
    return (f"{r.image_name}: {r.verdict}: {counts[PROVEN]} proven, {counts[VIOLATED]} violated, "
            f"{counts[INCONCLUSIVE]} inconclusive (obligation x site x variant) in {r.seconds:.1f}s")
