"""The HTML report: one self-contained page (inline CSS and SVG, no scripts,
no fetches): the verdict, obligations x (variant, site), the variants, and
for each finding that is not proven its counterexample registers, the path
drawn through the CFG (verify/report/pathsvg.py) and the disassembly of each
block on it (capstone, imported here only)."""
from __future__ import annotations

import bisect

from .. import __version__
from ..finding import INCONCLUSIVE, PROVEN, VIOLATED
from .annotate import Annotated, ImageView, hexv
from .pathsvg import esc as _e, nodes, path_svg
from .rules import RULES

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
code,pre,.mono{font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,monospace}
table{border-collapse:collapse;margin:6px 0} th,td{border:1px solid #d6dae3;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f9} .meta td:first-child{color:#5a6275;white-space:nowrap}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
.proven{background:#1f8a4c} .violated{background:#c62828} .inconclusive{background:#b26a00} .accepted{background:#6a5acd}
td.st{text-align:center;vertical-align:middle;font-weight:600;color:#fff} td.st a{color:#fff}
.big{font-size:18px;padding:4px 14px}
.regs td.hot{background:#ffe3e3;font-weight:600}
pre.dis{background:#f7f8fb;border:1px solid #e1e4ea;padding:6px 10px;margin:2px 0 10px;overflow-x:auto}
.dis .cur{background:#ffe3e3;display:inline-block;width:100%}
.blk{font-weight:600;margin-top:8px} .note{color:#5a6275} .svgwrap{overflow-x:auto;border:1px solid #e1e4ea;background:#fff}
.cx{border-left:4px solid #c62828;padding-left:14px;margin:18px 0} .cx.inc{border-color:#b26a00}
small{color:#5a6275}
"""

_HOT = {"rcx-is-rip": {"rcx", "ip"}, "canonical-rip": {"rcx", "ip"}, "r11-is-rflags": {"r11", "flags"},
        "rflags-no-rf-tf": {"r11"}, "user-cs-ss": {"cs", "ss"}, "ts-compat-clear": {"ti_status"},
        "compat-user-cs": {"cs", "ss"}, "compat-landing-pad": {"rcx", "ip"}}


class _Disassembler:
    def __init__(self, image: ImageView | None, cfg, extra: list[int]):
        self.image = image
        self.bounds = sorted(set(nodes(cfg)) | set(extra))
        self.cache: dict[int, list] = {}
        self.cs = None
        if image is not None and image.image is not None:
            try:
                import capstone

                self.cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
                self.cs.syntax = capstone.CS_OPT_SYNTAX_ATT
            except Exception:  # noqa: BLE001
                self.cs = None

    def block(self, start: int) -> list[tuple[int, str, str]] | None:
        if self.cs is None:
            return None
        if start in self.cache:
            return self.cache[start]
        i = bisect.bisect_right(self.bounds, start)
        end = self.bounds[i] if i < len(self.bounds) else start + 256
        size = max(1, min(end - start, 256))
        data = self.image.read(start, size + 15)
        out = []
        if data:
            for insn in self.cs.disasm(data, start):
                if insn.address >= start + size and out:
                    break
                out.append((insn.address, insn.mnemonic, insn.op_str))
                m = insn.mnemonic
                if m.startswith("j") or m.startswith("ret") or m.startswith("call") or m in (
                        "sysretq", "sysret", "iretq", "ud2", "int3", "hlt") or len(out) >= 48:
                    break
        self.cache[start] = out
        return out


def _regs_table(title: str, values: dict, hot: set) -> str:
    cells = "".join(f'<tr><td class="mono">{_e(k)}</td><td class="mono{" hot" if k in hot else ""}">{_e(hexv(v))}</td></tr>'
                    .replace('class="mono hot"', 'class="mono hot"') for k, v in values.items())
    return f'<table class="regs"><tr><th colspan="2">{_e(title)}</th></tr>{cells}</table>'


def to_html(a: Annotated) -> str:
    r, counts = a.result, a.counts
    h = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
         '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">',
         f"<title>sysret-verify: {_e(r.image_name)}: {_e(r.verdict)}</title><style>{_CSS}</style></head><body>"]
    h.append(f'<h1>sysret-verify: {_e(r.image_name)} <span class="badge big {r.verdict}">{r.verdict.upper()}</span></h1>')
    h.append(f"<p>{counts[PROVEN]} proven, {counts[VIOLATED]} violated, {counts[INCONCLUSIVE]} inconclusive "
             f"(obligation × SYSRET site × code variant) in {r.seconds:.1f} s."
             + (f" {a.accepted_count} accepted by the baseline." if a.baseline is not None else "") + "</p>")
    h.append('<table class="meta">')
    for k, v in (("image", r.image_path), ("version", r.version or "unknown"), ("sha256", r.sha256),
                 ("build id", r.build_id or "none"), ("tool", f"sysret-verify {__version__}")):
        h.append(f'<tr><td>{_e(k)}</td><td class="mono">{_e(v)}</td></tr>')
    h.append("</table>")

    # obligations x (variant, site)
    cols: list[tuple[str, int, str]] = []
    for f in r.findings:
        key = (f.variant, f.site, f.site_symbol)
        if key not in cols:
            cols.append(key)
    by = {(i.finding.obligation, i.finding.variant, i.finding.site): i for i in a.items}
    oids = [rule["id"] for rule in RULES] + sorted({f.obligation for f in r.findings} - {x["id"] for x in RULES})
    short = {rule["id"]: rule["short"] for rule in RULES}
    h.append("<h2>Obligations × variants</h2><table><tr><th>obligation</th>")
    for v, _site, sym in cols:
        h.append(f'<th>{_e(v)}<br><small class="mono">{_e(sym)}</small></th>')
    h.append("</tr>")
    for oid in oids:
        h.append(f'<tr><td><b class="mono">{_e(oid)}</b><br><small>{_e(short.get(oid, ""))}</small></td>')
        for v, site, _sym in cols:
            hit = by.get((oid, v, site))
            if hit is None:
                h.append("<td>—</td>")
                continue
            f = hit.finding
            cls = "accepted" if hit.accepted is not None else f.status
            label = f.status + (" (accepted)" if hit.accepted is not None else "")
            if f.status != PROVEN:
                label = f'<a href="#{hit.anchor}">{_e(label)}</a>'
            h.append(f'<td class="st {cls}" title="{_e(f.reason)}">{label}</td>')
        h.append("</tr>")
    h.append("</table>")

    if r.variants:
        h.append("<h2>Variants</h2><table><tr><th>variant</th><th>paging</th><th>features</th><th>paths</th>"
                 "<th>reach SYSRET</th><th>explore</th><th>solver</th></tr>")
        for v in r.variants:
            feats = ", ".join(f"{k}={'on' if val else 'off'}" for k, val in (v.get("features") or {}).items())
            h.append(f"<tr><td>{_e(v.get('name'))}</td><td>{_e(v.get('paging', ''))}</td><td class='mono'>{_e(feats)}</td>"
                     f"<td>{_e(v.get('paths', ''))}</td><td>{_e(v.get('sysret_paths', ''))}</td>"
                     f"<td>{float(v.get('seconds', 0)):.2f} s</td><td>{float(v.get('solver_seconds', 0)):.2f} s</td></tr>")
        h.append("</table>")

    sites = [f.site for f in r.findings]
    dis = _Disassembler(a.image, r.cfg, sites + [s.address for f in r.findings if f.counterexample
                                             for s in f.counterexample.path])
    bad = [i for i in a.items if i.finding.status != PROVEN]
    if bad:
        h.append("<h2>Counterexamples and open questions</h2>")
    for item in bad:
        f, c, accepted = item.finding, item.finding.counterexample, item.accepted is not None
        inc = " inc" if f.status == INCONCLUSIVE else ""
        badge = f'<span class="badge {"accepted" if accepted else f.status}">{f.status}' \
                f'{" · accepted" if accepted else ""}</span>'
        h.append(f'<div class="cx{inc}" id="{item.anchor}"><h3>{badge} <span class="mono">{_e(f.obligation)}</span> at '
                 f'<span class="mono">{_e(f.site_symbol)}</span> ({_e(hexv(f.site))}), variant {_e(f.variant)}</h3>')
        h.append(f"<p>{_e(f.reason)}</p>")
        if item.source:
            h.append(f'<p class="note">source: <span class="mono">{_e(item.source)}</span></p>')
        if accepted:
            h.append(f'<p class="note">accepted by the baseline: {_e(item.accepted.get("comment") or a.baseline.path)}</p>')
        if c is None:
            h.append("</div>")
            continue
        hot = _HOT.get(f.obligation, set())
        h.append(f'<p class="note">replayed: {"yes" if c.replayed else "no"} — {_e(c.replay_note)}</p>')
        h.append('<div style="display:flex;gap:14px;flex-wrap:wrap;align-items:flex-start">')
        h.append(_regs_table("registers at SYSRET", c.registers, hot))
        h.append(_regs_table("saved pt_regs at SYSRET", c.pt_regs, hot))
        h.append(_regs_table("thread_info", {"ti_status": c.ti_status}, hot))
        h.append(_regs_table("user registers at SYSCALL", c.user_entry, set()))
        h.append("</div>")
        h.append(f'<h3 id="{item.anchor}-path">Path through the CFG ({len(c.path)} steps)</h3>')
        h.append(f'<div class="svgwrap">{path_svg(r.cfg, c.path, f.site, a.image)}</div>')
        h.append(f'<details open id="{item.anchor}-dis"><summary>disassembly of each block on the path</summary>'
                 '<p class="note">Bytes as they are in the image file. At a boot-time patch site the path runs the '
                 'variant named in its note (alternative replacement, static key, paravirt), not these bytes.</p>')
        seen = set()
        for n, s in enumerate(c.path):
            if s.address in seen:
                continue
            seen.add(s.address)
            where = a.sources.get(s.address)
            h.append(f'<div class="blk mono">{n + 1}. {_e(hexv(s.address))} &lt;{_e(s.symbol)}&gt;'
                     + (f' <span class="note">{_e(where)}</span>' if where else "")
                     + (f' <span class="note">; {_e(s.note)}</span>' if s.note else "") + "</div>")
            insns = dis.block(s.address)
            if insns is None:
                h.append('<pre class="dis">(no image bytes: pass the image to see disassembly)</pre>')
                continue
            lines = []
            for addr, m, ops in insns:
                text = f"{addr:x}:  {m:<8} {ops}"
                lines.append(f'<span class="cur">{_e(text)}</span>' if addr == f.site else _e(text))
            h.append('<pre class="dis">' + "\n".join(lines) + "</pre>")
        h.append("</details></div>")

    if r.assumptions:
        h.append("<h2>Assumptions used</h2><ul>")
        for asm in r.assumptions:
            h.append(f'<li><b class="mono">{_e(asm.get("id"))}</b>: {_e(asm.get("text", ""))}</li>')
        h.append("</ul>")
    if r.notes:
        h.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in r.notes) + "</ul>")
    h.append('<p><small>Exit status: 0 proven, 1 violated, 2 input error, 3 inconclusive. '
             'Only "proven" means safe.</small></p></body></html>')
    return "\n".join(h) + "\n"
