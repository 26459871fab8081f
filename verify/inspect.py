"""`sysret-verify inspect`: print what the verifier reads from an image.

Everything here comes from the image layer; nothing imports angr (2 s of
import time).  Pass order: identity, symbols, entry sites, layout, then the
functions on the syscall path (entry text, do_syscall_64 and the exit-path
functions it calls directly, to depth 3) and the boot-time patch sites in them.
"""
from __future__ import annotations

import json

from . import __version__
from .image.entry import other_sysret_sites

# Functions on the way back to user mode: followed from do_syscall_64 through
# direct calls when their name contains one of these.
PATH_KEYWORDS = ("exit_to_user_mode", "enter_from_user_mode", "syscall", "ct_user", "amd_clear_divider",
                 "user_mode", "arch_exit", "rseq_handle_notify_resume")
NOT_FOLLOWED = ("x64_sys_call", "sys_call_table", "ia32_sys_call", "x32_sys_call")
PATH_DEPTH = 3
MAX_PATH_FUNCTIONS = 24


def _hex(v):
    return None if v is None else f"{v:#x}"


def _addr(image, a):
    return None if a is None else {"address": _hex(a), "symbol": image.symbolize(a)}


def path_functions(image) -> list[tuple[str, int, int]]:
    """[(name, start, end)] of the functions on the syscall path after the entry
    text: do_syscall_64 and what it calls directly that matches PATH_KEYWORDS."""
    from .image.entry import decode_calls, function_range

    syms = image.symbols
    root = image.entry.do_syscall_64
    out: list[tuple[str, int, int]] = []
    seen = set()
    frontier = [(syms.symbolize(root), root)]
    for depth in range(PATH_DEPTH + 1):
        nxt = []
        for name, addr in frontier:
            if addr in seen or len(out) >= MAX_PATH_FUNCTIONS:
                continue
            seen.add(addr)
            rng = function_range(image, name)
            if rng is None:
                continue
            out.append((name, rng[0], rng[1]))
            if depth == PATH_DEPTH:
                continue
            for _at, tgt, _op in decode_calls(image, *rng):
                if tgt is None or tgt in seen:
                    continue
                callee = syms.symbolize(tgt)
                if "+" in callee or callee in NOT_FOLLOWED:
                    continue
                if any(k in callee for k in PATH_KEYWORDS):
                    nxt.append((callee, tgt))
        frontier = nxt
    return out


def collect(image, with_sha256: bool = False) -> dict:
    if with_sha256:
        image.elf.prefetch_sha256()  # overlaps the rest; read last
    syms = image.symbols
    e = image.entry
    lay = image.layout
    entry = {
        "syscall_entry": _addr(image, e.syscall_entry),
        "entry_text": [_hex(e.entry_text[0]), _hex(e.entry_text[1])],
        "sysret_sites": [_addr(image, a) for a in e.sysret_sites],
        "iret_sites": [_addr(image, a) for a in e.iret_sites],
        # every SYSRET of every entry (issue 12): 64-bit and compat
        "entries": [{"name": n, "address": _hex(a)} for n, a in e.entries],
        # ... and every other SYSRET instruction of the image's code: no
        # entry (entry null, entries empty), inconclusive in `check`
        "all_sysret_sites": [{**_addr(image, s["address"]), "width": s["width"], "entry": s["entry"],
                              "entries": list(s["entries"])} for s in e.all_sysret_sites] + [
            {**_addr(image, s["address"]), "width": s["width"], "entry": None, "entries": []}
            for s in other_sysret_sites(image, {x["address"] for x in e.all_sysret_sites} | set(e.sysret_sites))],
        "do_syscall_64_call": _addr(image, e.do_syscall_64_call),
        "do_syscall_64": _addr(image, e.do_syscall_64),
        "dispatch": {
            "name": e.dispatch.get("name"),
            "address": _hex(e.dispatch.get("address")),
            "call": _addr(image, e.dispatch.get("call")),
        },
        "instructions_reached": len(e.reached),
    }

    def fact(f):
        return {"value": f.value, "hex": _hex(f.value), "source": f.source}

    layout = {
        "type_source": lay.type_source,
        "pt_regs": {k: fact(v) for k, v in lay.pt_regs.items()},
        "pt_regs_size": fact(lay.pt_regs_size),
        "ti_flags": fact(lay.ti_flags),
        "ti_status": fact(lay.ti_status),
        "percpu": {k: fact(getattr(lay, k)) for k in ("current_task", "top_of_stack", "tss_sp0", "tss_sp2",
                                                       "percpu_gs")},
        "constants": {k: fact(v) for k, v in lay.constants.items()},
    }
    regions = [("entry text", e.entry_text[0], e.entry_text[1])] + path_functions(image)
    sites = []
    seen = set()
    for region, lo, hi in regions:
        for s in image.patch_sites(lo, hi):
            if region == "entry text" and not any(a in e.reached for a in range(s.addr, s.addr + s.length)):
                continue  # not on the syscall path (other entry points share the entry text)
            k = (s.source, s.addr)
            if k in seen:
                continue
            seen.add(k)
            sites.append({
                "region": region,
                "kind": s.kind,
                "address": _hex(s.addr),
                "symbol": image.symbolize(s.addr),
                "length": s.length,
                "feature": s.feature,
                "feature_name": s.feature_name,
                "flags": s.flags,
                "target": _hex(s.target),
                "key": _addr(image, s.key) if s.key is not None else None,
                "detail": s.detail,
                "source": s.source,
                "variants": [{"label": v.label, "code": v.code.hex() if v.code is not None else None}
                             for v in s.variants],
            })
    # Hashing 600 MB costs more than everything else inspect does: only on request.
    ident = {"sha256": image.sha256 if with_sha256 else None}
    return {
        "tool": {"name": "sysret-verify", "version": __version__},
        "image": {
            "path": image.path,
            "sha256": ident["sha256"],
            "build_id": image.build_id,
            "version": image.version,
            "release": image.release,
            "format": getattr(image, "format", "ELF"),
            "compression": getattr(image, "compression", None),
        },
        "symbols": {"source": syms.source, "count": len(syms)},
        # where the proof's inputs came from (issue 10): types from BTF or
        # DWARF; symbols from the ELF symtab, a System.map or kallsyms
        "layout_source": lay.type_source,
        "symbol_source": getattr(image, "symbol_source", "symtab"),
        "entry": entry,
        "layout": layout,
        "path_functions": [{"name": n, "address": _hex(a), "end": _hex(b)} for n, a, b in regions[1:]],
        "patch_sites": sites,
    }


def render(image, fmt: str = "text", with_sha256: bool = False) -> str:
    data = collect(image, with_sha256)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return _text(data)


def _text(d: dict) -> str:
    out = []
    w = out.append
    im = d["image"]
    w(f"image:      {im['path']}")
    if im["sha256"]:
        w(f"sha256:     {im['sha256']}")
    w(f"build id:   {im['build_id']}")
    w(f"version:    {im['version']}")
    if im.get("format") == "bzImage":
        w(f"format:     bzImage, {im['compression']} payload")
    w(f"symbols:    {d['symbols']['count']} from {d['symbols']['source']}")
    w(f"layout source: {d['layout_source']}")
    w(f"symbol source: {d['symbol_source']}")
    e = d["entry"]
    w("")
    w("entry:")
    w(f"  entry_SYSCALL_64      {e['syscall_entry']['address']}")
    w(f"  entry text            {e['entry_text'][0]} .. {e['entry_text'][1]}")
    for s in e["sysret_sites"]:
        w(f"  sysretq               {s['address']}  {s['symbol']}")
    for s in e["iret_sites"]:
        w(f"  iretq                 {s['address']}  {s['symbol']}")
    if e.get("entries"):
        w("  SYSRET entries        " + ", ".join(f"{x['name']} {x['address']}" for x in e["entries"]))
    for s in e.get("all_sysret_sites", ()):
        w(f"  {s['width']:<21} {s['address']}  {s['symbol']:<40} from {', '.join(s['entries']) or 'no SYSRET entry'}")
    c = e["do_syscall_64_call"]
    w(f"  call do_syscall_64    {c['address'] + '  ' + c['symbol'] if c else 'not found'}")
    w(f"  do_syscall_64         {e['do_syscall_64']['address']}")
    dp = e["dispatch"]
    call = dp["call"]
    w(f"  dispatch              {dp['name']} {dp['address']}"
      + (f", called at {call['address']}  {call['symbol']}" if call else ", call not found"))
    lay = d["layout"]
    w("")
    w(f"layout (types from {lay['type_source']}):")
    for k, f in lay["pt_regs"].items():
        w(f"  pt_regs.{k:<8} {f['value']:>4}   {f['source']}")
    w(f"  sizeof(pt_regs)  {lay['pt_regs_size']['value']:>4}   {lay['pt_regs_size']['source']}")
    for k in ("ti_flags", "ti_status"):
        w(f"  {k:<16} {lay[k]['value']:>4}   {lay[k]['source']}")
    for k, f in lay["percpu"].items():
        w(f"  %gs:{k:<12} {f['hex']:>8}   {f['source']}")
    for k, f in lay["constants"].items():
        w(f"  {k:<22} {f['hex']:>18}   {f['source']}")
    w("")
    w("syscall path functions: " + ", ".join(f["name"] for f in d["path_functions"]))
    w("")
    w(f"patch sites on the path ({len(d['patch_sites'])}):")
    for s in d["patch_sites"]:
        extra = s["feature_name"] or s["detail"]
        w(f"  {s['address']}  {s['symbol']:<48} {s['kind']:<12} len {s['length']:<2} {extra}")
        for v in s["variants"]:
            w(f"      {v['code'] if v['code'] is not None else '(data)':<32} {v['label']}")
    return "\n".join(out) + "\n"
