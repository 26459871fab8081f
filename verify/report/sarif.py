"""SARIF 2.1.0, as GitHub code scanning reads it.

- one rule per obligation (verify/report/rules.py), `security-severity` a string;
- one result per violated (error) or inconclusive (warning) finding, with
  the stable fingerprint (`partialFingerprints`, the baseline's), the
  counterexample as a code flow, and the baseline's verdict
  (`suppressions`, `baselineState`) when a baseline is given;
- a location is the source line when the image has DWARF: a URI relative to
  the kernel tree with `uriBaseId` SRCROOT (`--source-root` gives SRCROOT's
  absolute URI in `originalUriBaseIds`), or an absolute `file:` URI for a
  file outside the tree (verify/report/sources.py); without DWARF, the image
  itself.  The instruction address is always given too.
"""
from __future__ import annotations

import os
import re
from urllib.parse import quote

from .. import __version__
from ..baseline import FINGERPRINT_KEY, site_function
from ..finding import PROVEN, VIOLATED, Finding
from .annotate import Annotated, hexv
from .rules import RULES, SECURITY_SEVERITY

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "SRCROOT"
# SARIF addresses are JSON integers that consumers read as signed 64-bit:
# a kernel address (>= 2^63) does not fit.  Locations give the address
# relative to __START_KERNEL_map (x86-64's kernel text mapping base) and the
# full address as text in `name`.
KERNEL_MAP_BASE = 0xFFFFFFFF80000000


def _rules() -> list[dict]:
    rules = []
    for r in RULES:
        rules.append({
            "id": r["id"],
            "name": "".join(w.capitalize() for w in re.split(r"[^a-zA-Z0-9]+", r["id"])),
            "shortDescription": {"text": r["short"]},
            "fullDescription": {"text": r["full"]},
            "help": {"text": r["help"], "markdown": r["help"]},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "kernel", "x86-64"], "precision": "very-high",
                           "security-severity": SECURITY_SEVERITY.get(r["id"], "7.0"), "cve": r["cves"]},
        })
    return rules


def _location(a: Annotated, addr: int, symbol: str, image_uri: str) -> dict:
    addr_obj: dict = {"name": hexv(addr), "fullyQualifiedName": symbol, "kind": "instruction"}
    if KERNEL_MAP_BASE <= addr < KERNEL_MAP_BASE + (1 << 31):
        addr_obj["relativeAddress"] = addr - KERNEL_MAP_BASE  # from __START_KERNEL_map
    elif addr < (1 << 63):
        addr_obj["absoluteAddress"] = addr
    phys: dict = {"address": addr_obj}
    src = a.sources.get(addr)
    if src is None:
        phys["artifactLocation"] = {"uri": image_uri, "index": 0}
    elif src.relative:
        phys["artifactLocation"] = {"uri": quote(src.path), "uriBaseId": SRCROOT}
        phys["region"] = {"startLine": src.line}
    else:
        phys["artifactLocation"] = {"uri": "file://" + quote(src.path)}
        phys["region"] = {"startLine": src.line}
    return {"physicalLocation": phys,
            "logicalLocations": [{"name": site_function(symbol), "fullyQualifiedName": symbol, "kind": "function"}]}


def _values(f: Finding) -> dict:
    c = f.counterexample
    d = {"status": f.status, "variant": f.variant_detail, "site": {"address": hexv(f.site), "symbol": f.site_symbol},
         "solverSeconds": round(f.solver_seconds, 4)}
    if c is not None:
        d["counterexample"] = {
            "registersAtSysret": {k: hexv(v) for k, v in c.registers.items()},
            "ptRegs": {k: hexv(v) for k, v in c.pt_regs.items()},
            "tiStatus": hexv(c.ti_status),
            "userEntry": {k: hexv(v) for k, v in c.user_entry.items()},
            "replayed": c.replayed,
            "replay": c.replay_note,
        }
    return d


def to_sarif(a: Annotated) -> dict:
    r = a.result
    rules = _rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    image_uri = "file://" + os.path.abspath(r.image_path) if r.image_path else r.image_name
    artifacts = [{"location": {"uri": image_uri}, "description": {"text": r.version or r.image_name},
                  "roles": ["analysisTarget"], "hashes": {"sha-256": r.sha256}}]
    results = []
    for item in a.items:
        f = item.finding
        if f.status == PROVEN:
            continue
        msg = (f"{f.obligation} violated at {f.site_symbol} [variant {f.variant}]: {f.reason}"
               if f.status == VIOLATED else
               f"{f.obligation} inconclusive at {f.site_symbol} [variant {f.variant}]: {f.reason}")
        res = {
            "ruleId": f.obligation,
            "level": "error" if f.status == VIOLATED else "warning",
            "kind": "fail" if f.status == VIOLATED else "open",
            "message": {"text": msg},
            "locations": [_location(a, f.site, f.site_symbol, image_uri)],
            "partialFingerprints": {FINGERPRINT_KEY: item.fingerprint},
            "properties": _values(f),
        }
        if f.obligation in index:
            res["ruleIndex"] = index[f.obligation]
        c = f.counterexample
        if c is not None and c.path:
            steps = []
            for i, s in enumerate(c.path):
                steps.append({"location": {**_location(a, s.address, s.symbol, image_uri),
                                           "message": {"text": s.note or s.symbol}},
                              "executionOrder": i,
                              "importance": "essential" if s.note else "unimportant"})
            res["codeFlows"] = [{
                "message": {"text": f"path from entry_SYSCALL_64 to SYSRET at {f.site_symbol} "
                                    f"({'replayed' if c.replayed else 'not replayed'})"},
                "threadFlows": [{"locations": steps}]}]
        if item.accepted is not None:
            res["suppressions"] = [{"kind": "external", "status": "accepted",
                                    "justification": item.accepted.get("comment") or f"accepted in {a.baseline.path}"}]
            res["baselineState"] = "unchanged"
        elif a.baseline is not None:
            res["baselineState"] = "new"
        results.append(res)
    srcroot: dict = {"description": {"text": "the kernel source tree the image was built from"}}
    if a.paths.root_uri:
        srcroot["uri"] = a.paths.root_uri
    run = {
        "tool": {"driver": {"name": "sysret-verify", "version": __version__, "semanticVersion": __version__,
                            "rules": rules}},
        # (no finding at all: nothing was decided, which a reader of the
        # results alone would take for a clean run: review 49)
        "invocations": [{"executionSuccessful": bool(r.findings),
                         **({} if r.findings else {"toolExecutionNotifications": [
                             {"level": "error", "message": {"text": "; ".join(r.notes) or
                                                            "no obligation was decided"}}]}),
                         "properties": {"seconds": round(r.seconds, 3)}}],
        "originalUriBaseIds": {SRCROOT: srcroot},
        "artifacts": artifacts,
        "results": results,
        "properties": {"verdict": r.verdict, "counts": a.counts,
                       "image": {"path": r.image_path, "sha256": r.sha256, "buildId": r.build_id,
                                 "version": r.version},
                       "variants": r.variants, "assumptions": r.assumptions, "notes": r.notes},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
