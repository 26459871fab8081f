"""Result cache: a second `check` of an unchanged image answers from disk.

Key: sha256 over (the image's sha256, the tool version, the solver stack's
versions (z3, claripy, angr, pyvex), a digest of the verifier's own source,
and the System.map's content).  Not the timeout: an answer a time budget cut
short is never stored (cli.py), and a complete one does not depend on it.  The image hash is the one KernelImage.open()
already computes in a thread, so the image is read once whether the cache
hits or not; the source digest makes a development checkout safe (editing the
engine invalidates the cache, editing a renderer does not).

Value: the whole CheckResult, render-independent (findings with their
counterexamples, variants, assumptions, notes, the explored CFG's nodes and
edges), so any --format can be produced from it.

Location: $SYSRET_VERIFY_CACHE, else $XDG_CACHE_HOME/sysret-verify/results,
else ~/.cache/sysret-verify/results.  One JSON file per key, written
atomically; a corrupt or unreadable entry is a miss, and a cache that cannot
be written is silently skipped (the cache never changes an exit status).

This module must not import angr (nor verify.prove): the hit path is meant
to cost a hash and a JSON load.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile

from . import __version__
from .errors import untrusted_cache_entry
from .finding import INCONCLUSIVE, PROVEN, VIOLATED, CheckResult, Counterexample, Finding, PathStep

FORMAT = 1
# Files (paths relative to verify/) and folders whose change does not change
# a result: they only render or wire it.
_RENDER_SIDE = {"formats.py", "report", "cli.py", "cache.py", "baseline.py", "inspect.py", "run.py", "batch.py",
                "image/lines.py"}


def cache_dir() -> str:
    d = os.environ.get("SYSRET_VERIFY_CACHE")
    if d:
        return d
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "sysret-verify", "results")


_code_digest: str | None = None


def code_digest() -> str:
    """sha256 over the verifier's analysis source (verify/**.py minus the
    render side), so a changed prover never answers from an old result."""
    global _code_digest
    if _code_digest is None:
        h = hashlib.sha256()
        root = os.path.dirname(os.path.abspath(__file__))
        for dirpath, dirnames, files in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__"
                                 and os.path.normpath(os.path.join(rel_dir, d)) not in _RENDER_SIDE)
            for name in sorted(files):
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if not name.endswith(".py") or rel in _RENDER_SIDE:
                    continue
                p = os.path.join(dirpath, name)
                h.update(rel.encode() + b"\0")
                with open(p, "rb") as f:
                    h.update(f.read())
        _code_digest = h.hexdigest()
    return _code_digest


def solver_versions() -> dict:
    """The solver stack's versions (a new z3 may answer `unknown` where the
    old one did not): read from the installed distributions, without
    importing angr."""
    from importlib import metadata

    out = {}
    for dist in ("z3-solver", "claripy", "angr", "pyvex", "capstone", "pyelftools"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def key(image_sha256: str, system_map: str | None = None, system_map_sha256: str | None = None) -> str:
    """No timeout in the key: an answer a budget cut short is never stored,
    and a complete answer does not depend on the budget.  system_map_sha256:
    the hash of the map's bytes the symbols were read from (read again from
    the path only when not given)."""
    opts = {}
    if system_map_sha256:
        opts["system_map_sha256"] = system_map_sha256
    elif system_map:
        with open(system_map, "rb") as f:
            opts["system_map_sha256"] = hashlib.sha256(f.read()).hexdigest()
    blob = json.dumps({"format": FORMAT, "image": image_sha256, "tool": __version__, "code": code_digest(),
                       "solvers": solver_versions(), "options": opts}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# -- (de)serialisation --------------------------------------------------------------------


def result_to_dict(r: CheckResult) -> dict:
    findings = []
    for f in r.findings:
        d = {"obligation": f.obligation, "site": f.site, "site_symbol": f.site_symbol, "variant": f.variant,
             "variant_detail": f.variant_detail, "status": f.status, "reason": f.reason,
             "solver_seconds": f.solver_seconds, "counterexample": None}
        c = f.counterexample
        if c is not None:
            d["counterexample"] = {"registers": c.registers, "pt_regs": c.pt_regs, "ti_status": c.ti_status,
                                   "user_entry": c.user_entry,
                                   "path": [[s.address, s.symbol, s.note] for s in c.path],
                                   "replayed": c.replayed, "replay_note": c.replay_note}
        findings.append(d)
    cfg = None
    if r.cfg is not None:
        try:
            cfg = {"nodes": sorted(int(n) for n in r.cfg.nodes), "edges": sorted([int(a), int(b)] for a, b in r.cfg.edges)}
        except (AttributeError, TypeError, ValueError):
            cfg = None
    return {"image_path": r.image_path, "image_name": r.image_name, "sha256": r.sha256, "build_id": r.build_id,
            "version": r.version, "findings": findings, "variants": r.variants, "assumptions": r.assumptions,
            "notes": r.notes, "seconds": r.seconds, "cfg": cfg}


class Cfg:
    """The cached CFG: the little of networkx.DiGraph the renderers use
    (nodes, edges, `in`, successors), without importing networkx."""

    def __init__(self, nodes, edges):
        self._succ: dict[int, list[int]] = {int(n): [] for n in nodes}
        for a, b in edges:
            self._succ.setdefault(a, []).append(b)
            self._succ.setdefault(b, [])

    @property
    def nodes(self):
        return list(self._succ)

    @property
    def edges(self):
        return [(a, b) for a, bs in self._succ.items() for b in bs]

    def __contains__(self, n) -> bool:
        return n in self._succ

    def __len__(self) -> int:
        return len(self._succ)

    def successors(self, n):
        return iter(self._succ[n])


def result_from_dict(d: dict) -> CheckResult:
    findings = []
    for x in d["findings"]:
        c = x.get("counterexample")
        cex = None
        if c is not None:
            cex = Counterexample(c["registers"], c["pt_regs"], c["ti_status"], c["user_entry"],
                                 tuple(PathStep(a, s, n) for a, s, n in c["path"]), c["replayed"],
                                 c.get("replay_note", ""))
        findings.append(Finding(x["obligation"], x["site"], x["site_symbol"], x["variant"], x["variant_detail"],
                                x["status"], x["reason"], cex, x.get("solver_seconds", 0.0)))
    r = CheckResult(d["image_path"], d["image_name"], d["sha256"], d["build_id"], d["version"], findings,
                    d.get("variants", []), d.get("assumptions", []), d.get("notes", []), d.get("seconds", 0.0))
    g = d.get("cfg")
    r.cfg = Cfg(g["nodes"], g["edges"]) if g else None
    return r


# -- store / load ------------------------------------------------------------------------


def _path(k: str) -> str:
    return os.path.join(cache_dir(), k + ".json")


def load(k: str, image_path: str | None = None, expect_sha256: str | None = None) -> CheckResult | None:
    """The cached result for key `k`, or None.  `image_path` re-points the
    result at the file being checked now (the same bytes may have moved)."""
    try:
        fd = os.open(_path(k), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd) as f:
            why = untrusted_cache_entry(os.fstat(f.fileno()), os.stat(cache_dir()))
            if why:
                import sys

                print(f"sysret-verify: warning: {_path(k)}: {why}: not used (the result cache is trusted input)",
                      file=sys.stderr)
                return None
            doc = json.load(f)
        if doc.get("format") != FORMAT or doc.get("key") != k:
            return None
        r = result_from_dict(doc["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # (an entry is only what its file says: one whose statuses are not the
    # three, or whose image hash is not the one the key was made from, is
    # not an answer: review 49)
    if any(f.status not in (PROVEN, VIOLATED, INCONCLUSIVE) for f in r.findings) or \
            (expect_sha256 is not None and r.sha256 != expect_sha256):
        return None
    if image_path:
        r.image_path, r.image_name = image_path, os.path.basename(image_path)
    return r


def store(k: str, r: CheckResult) -> bool:
    d = cache_dir()
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=d)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"format": FORMAT, "key": k, "tool": __version__, "result": result_to_dict(r)}, f)
            os.replace(tmp, _path(k))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except (OSError, TypeError, ValueError):
        return False
    return True
