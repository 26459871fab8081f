"""Layer 6, reports: render a CheckResult.  text and json here; every format
reads the same Finding type (verify.finding)."""
from __future__ import annotations

import json

from . import __version__
from .finding import INCONCLUSIVE, PROVEN, VIOLATED, CheckResult, Finding

TOOL = {"name": "sysret-verify", "version": __version__}


def _hex(v: int) -> str:
    return f"{v:#018x}" if v >= 1 << 32 else f"{v:#x}"


def finding_dict(f: Finding) -> dict:
    d = {
        "id": f.obligation,
        "site": {"address": _hex(f.site), "symbol": f.site_symbol},
        "variant": f.variant_detail,
        "status": f.status,
        "reason": f.reason,
        "solver_seconds": round(f.solver_seconds, 4),
    }
    c = f.counterexample
    if c is not None:
        d["counterexample"] = {
            "registers": {k: _hex(v) for k, v in c.registers.items()},
            "pt_regs": {k: _hex(v) for k, v in c.pt_regs.items()},
            "ti_status": _hex(c.ti_status),
            "user_entry": {k: _hex(v) for k, v in c.user_entry.items()},
            "path": [{"address": _hex(s.address), "symbol": s.symbol, **({"note": s.note} if s.note else {})}
                     for s in c.path],
            "replayed": c.replayed,
            "replay": c.replay_note,
        }
    return d


JSON_SCHEMA_VERSION = 1  # docs/schema/check-result.schema.json


def to_json(r: CheckResult) -> dict:
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": TOOL,
        "image": {"path": r.image_path, "sha256": r.sha256, "build_id": r.build_id, "version": r.version},
        "verdict": r.verdict,
        "obligations": [finding_dict(f) for f in r.findings],
        "variants": r.variants,
        "assumptions": r.assumptions,
        "notes": r.notes,
        "seconds": round(r.seconds, 3),
    }


def to_text(r: CheckResult, lines: dict | None = None, accepted: frozenset = frozenset()) -> str:
    """objtool-style lines.  lines: site address -> (file, line) from DWARF,
    used as the location when known (`arch/x86/entry/entry_64.S:225:`, like
    the kernel's other checkers), else the image name.  accepted: ids
    (id(finding)) a baseline accepts: printed as `note:`, not error/warning."""
    out = []
    name = r.image_name
    lines = lines or {}
    for f in r.findings:
        where = f"{lines[f.site][0]}:{lines[f.site][1]}" if f.site in lines else name
        if id(f) in accepted and f.status in (VIOLATED, INCONCLUSIVE):
            out.append(f"{where}: note: {f.site_symbol}: {f.obligation}: {f.status} but accepted by the baseline: "
                       f"{f.reason} [variant {f.variant}]")
            continue
        if f.status == VIOLATED:
            out.append(f"{where}: error: {f.site_symbol}: {f.obligation}: {f.reason} [variant {f.variant}]")
            c = f.counterexample
            if c is not None:
                u = c.user_entry
                out.append(f"{name}: note: {f.site_symbol}: counterexample (replayed: {'yes' if c.replayed else 'no'}): "
                           f"user rip={_hex(u.get('rcx', 0))} rflags={_hex(u.get('r11', 0))}; at SYSRET "
                           f"rcx={_hex(c.registers['rcx'])} r11={_hex(c.registers['r11'])} "
                           f"pt_regs ip={_hex(c.pt_regs.get('ip', 0))} flags={_hex(c.pt_regs.get('flags', 0))} "
                           f"cs={_hex(c.pt_regs.get('cs', 0))} ss={_hex(c.pt_regs.get('ss', 0))} "
                           f"ti_status={_hex(c.ti_status)}")
                steps = [s for s in c.path if s.note]
                for s in steps[-12:]:
                    out.append(f"{name}: note: {s.symbol}: {s.note}")
        elif f.status == INCONCLUSIVE:
            out.append(f"{where}: warning: {f.site_symbol}: {f.obligation}: inconclusive: {f.reason} "
                       f"[variant {f.variant}]")
    counts = {s: sum(1 for f in r.findings if f.status == s) for s in (PROVEN, VIOLATED, INCONCLUSIVE)}
    out.append("")
    out.append(f"{name}: {r.version or 'unknown version'}")
    for v in r.variants:
        out.append(f"  variant {v['name']}: {v.get('blocks', 0)} blocks explored in {v.get('rounds', 0)} "
                   f"round(s), {v.get('sysret_paths', 0)} SYSRET arrival(s), following "
                   f"{', '.join(v.get('followed', [])) or 'no calls'}")
    if r.assumptions:
        out.append("  assumptions: " + ", ".join(a["id"] for a in r.assumptions))
    out.append(summary_line(r))
    return "\n".join(out) + "\n"


def summary_line(r: CheckResult) -> str:
    """The one-line verdict every run ends with (text output and stderr)."""
    counts = {s: sum(1 for f in r.findings if f.status == s) for s in (PROVEN, VIOLATED, INCONCLUSIVE)}
    return (f"{r.image_name}: {r.verdict}: {counts[PROVEN]} proven, {counts[VIOLATED]} violated, "
            f"{counts[INCONCLUSIVE]} inconclusive (obligation x site x variant) in {r.seconds:.1f}s")


def render_result(r: CheckResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_json(r), indent=2) + "\n"
    if fmt == "text":
        return to_text(r)
    from . import formats  # sarif, junit, html

    return formats.render(r, fmt)
