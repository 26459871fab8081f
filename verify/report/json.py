"""The JSON report: one object, `schema_version` 1, described by
docs/schema/check-result.schema.json (a test validates real output)."""
from __future__ import annotations

from .. import __version__
from ..finding import CheckResult, Finding
from .annotate import hexv

TOOL = {"name": "sysret-verify", "version": __version__}
JSON_SCHEMA_VERSION = 1  # docs/schema/check-result.schema.json


def finding_dict(f: Finding) -> dict:
    d = {
        "id": f.obligation,
        "site": {"address": hexv(f.site), "symbol": f.site_symbol},
        "variant": f.variant_detail,
        "status": f.status,
        "reason": f.reason,
        "solver_seconds": round(f.solver_seconds, 4),
    }
    c = f.counterexample
    if c is not None:
        d["counterexample"] = {
            "registers": {k: hexv(v) for k, v in c.registers.items()},
            "pt_regs": {k: hexv(v) for k, v in c.pt_regs.items()},
            "ti_status": hexv(c.ti_status),
            "user_entry": {k: hexv(v) for k, v in c.user_entry.items()},
            "path": [{"address": hexv(s.address), "symbol": s.symbol, **({"note": s.note} if s.note else {})}
                     for s in c.path],
            "replayed": c.replayed,
            "replay": c.replay_note,
        }
    return d


def to_json(r: CheckResult) -> dict:
    """The JSON document of a result (a dict; batch and the cache also use it).
    It reads the result alone: no baseline, no source lines."""
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
