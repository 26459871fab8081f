"""The picture of a counterexample path through the explored CFG (inline
SVG for the HTML page)."""
from __future__ import annotations

import html

from .annotate import hexv


def esc(s) -> str:
    return html.escape(str(s), quote=True)


def _succ(cfg, n) -> list:
    if cfg is None:
        return []
    try:
        return list(cfg.successors(n)) if n in cfg else []
    except Exception:  # noqa: BLE001
        return []


def nodes(cfg) -> list[int]:
    if cfg is None:
        return []
    try:
        return sorted(cfg.nodes)
    except Exception:  # noqa: BLE001
        return []


MAX_SVG_ROWS = 300


def path_svg(cfg, path, site: int, image=None) -> str:
    """A layered picture of one counterexample path through the CFG.

    Layout: the path's blocks in first-visit order down one column (row =
    first visit); every CFG successor not on the path (a branch the path did
    not take: usually the IRET exit) goes to the right of the block that
    branches to it.  The path's own transitions are red: downward ones are
    straight, backward ones (loops) arc on the left.
    """
    order: list[int] = []
    notes: dict[int, str] = {}
    syms: dict[int, str] = {}
    for s in path:
        if s.address not in syms:
            order.append(s.address)
            syms[s.address] = s.symbol
        if s.note:
            notes.setdefault(s.address, s.note)
    truncated = max(0, len(order) - MAX_SVG_ROWS)
    order = order[:MAX_SVG_ROWS]
    row = {a: i for i, a in enumerate(order)}
    NW, NH, RH, LM, OW, GAP = 330, 26, 40, 70, 280, 40
    off: dict[int, tuple[int, int]] = {}  # address -> (row, col)
    per_row: dict[int, int] = {}
    for a in order:
        for s in sorted(_succ(cfg, a)):
            if s in row or s in off:
                continue
            k = per_row.get(row[a], 0)
            if k >= 3:
                continue
            per_row[row[a]] = k + 1
            off[s] = (row[a], k)
    width = max(LM + NW + GAP + max([c for _, c in off.values()] + [0]) * (OW + 14) + OW + 30,
                LM + NW + 8 + 62 * 7 if notes else 0)
    height = len(order) * RH + 30 + (24 if truncated else 0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="ui-monospace,DejaVu Sans Mono,monospace" font-size="11.5">',
           '<defs><marker id="ar" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">'
           '<path d="M0,0 L8,4 L0,8 z" fill="#c62828"/></marker>'
           '<marker id="ag" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">'
           '<path d="M0,0 L8,4 L0,8 z" fill="#8a93a6"/></marker></defs>']

    def top(a):
        return 12 + row[a] * RH

    # grey edges: CFG edges to off-path blocks and between path blocks the path did not take
    taken = set()
    for x, y in zip(path, list(path)[1:]):
        taken.add((x.address, y.address))
    for a in order:
        for s in _succ(cfg, a):
            if (a, s) in taken:
                continue
            if s in off:
                r, c = off[s]
                x2 = LM + NW + GAP + c * (OW + 14)
                y2 = 12 + r * RH + NH / 2
                out.append(f'<path d="M{LM + NW},{top(a) + NH / 2} C{LM + NW + 20},{top(a) + NH / 2} {x2 - 20},{y2} '
                           f'{x2},{y2}" fill="none" stroke="#8a93a6" stroke-dasharray="4 3" marker-end="url(#ag)"/>')
            elif s in row and s != a:
                x = LM + NW * 0.75
                out.append(f'<line x1="{x}" y1="{top(a) + NH}" x2="{x}" y2="{top(s)}" stroke="#c3c8d3" '
                           f'stroke-dasharray="3 3"/>' if row[s] > row[a] else "")
    # red edges: the path's transitions
    drawn = set()
    for a, b in taken:
        if a not in row or b not in row or (a, b) in drawn:
            continue
        drawn.add((a, b))
        if row[b] == row[a] + 1:
            x = LM + NW / 2
            out.append(f'<line x1="{x}" y1="{top(a) + NH}" x2="{x}" y2="{top(b) - 1}" stroke="#c62828" '
                       f'stroke-width="1.6" marker-end="url(#ar)"/>')
        else:
            bend = LM - 14 - min(50, 6 * abs(row[b] - row[a]) ** 0.5 * 3)
            y1, y2 = top(a) + NH / 2, top(b) + NH / 2
            out.append(f'<path d="M{LM},{y1} C{bend},{y1} {bend},{y2} {LM - 1},{y2}" fill="none" stroke="#c62828" '
                       f'stroke-width="1.4" marker-end="url(#ar)"/>')
    for a in order:
        y = top(a)
        is_site = a == site
        fill = "#ffe3e3" if is_site else ("#fff6e0" if a in notes else "#ffffff")
        label = syms[a] if len(syms[a]) <= 40 else syms[a][:39] + "…"
        tip = f"{hexv(a)} {syms[a]}" + (f" — {notes[a]}" if a in notes else "")
        out.append(f'<g><title>{esc(tip)}</title><rect x="{LM}" y="{y}" width="{NW}" height="{NH}" rx="4" fill="{fill}" '
                   f'stroke="#c62828" stroke-width="{2 if is_site else 1.2}"/>'
                   f'<text x="{LM + 8}" y="{y + 17}">{esc(label)}</text>'
                   f'<text x="{LM + NW - 6}" y="{y + 17}" text-anchor="end" fill="#8a93a6">{row[a] + 1}</text></g>')
        if a in notes:
            n = notes[a] if len(notes[a]) <= 60 else notes[a][:59] + "…"
            out.append(f'<text x="{LM + NW + 8}" y="{y + 17}" fill="#9a5b00" font-size="10.5">{esc(n)}</text>'
                       if not any(off_r == row[a] for off_r, _ in off.values()) else "")
    for s, (r, c) in off.items():
        x, y = LM + NW + GAP + c * (OW + 14), 12 + r * RH
        name = (image.symbolize(s) if image else None) or hexv(s)
        label = name if len(name) <= 36 else name[:35] + "…"
        out.append(f'<g><title>{esc(hexv(s) + " " + name)} (not on this path)</title><rect x="{x}" y="{y}" width="{OW}" '
                   f'height="{NH}" rx="4" fill="#f3f5f9" stroke="#8a93a6" stroke-dasharray="4 3"/>'
                   f'<text x="{x + 8}" y="{y + 17}" fill="#5a6275">{esc(label)}</text></g>')
    if truncated:
        out.append(f'<text x="{LM}" y="{height - 8}" fill="#5a6275">… {truncated} more blocks not drawn</text>')
    out.append("</svg>")
    return "".join(out)
