"""Finding fingerprints and baselines of accepted findings.

A fingerprint names one obligation x SYSRET site x code variant in a way that
survives a rebuild: it hashes the obligation id, the *function* holding the
SYSRET (the site symbol without its `+0xoff`, which moves whenever the code
before it changes) and the variant name, never an address.  When one function
holds several SYSRET sites they are told apart by their order in it (`#2`,
`#3`, ...).  The same value is SARIF's `partialFingerprints["sysretVerify/v1"]`,
so code scanning and the baseline agree on what "the same finding" is.

Baseline file (JSON, written by `check --write-baseline FILE`):

    {"version": 1, "tool": "sysret-verify",
     "accepted": [{"fingerprint": "...", "obligation": "canonical-rip",
                   "site_symbol": "entry_SYSRETQ_unsafe_stack+0x3",
                   "variant": "4-level", "comment": "why this is accepted"}]}

A bare JSON list of those entries is accepted too.  `fingerprint` and
`status` decide a match: an entry accepts a finding of its fingerprint only
in the status it was accepted in ("violated" accepts a violation or an
inconclusive, "inconclusive" or no status only an inconclusive), so a
baseline that accepted "inconclusive: a static call's target is unknown"
does not later accept a real violation of that obligation at that SYSRET
(review 49); the other fields are for the reader.

With `--baseline FILE`, a violated or inconclusive finding whose fingerprint is
listed is *accepted*: it is still reported (SARIF marks it suppressed, JUnit
skipped), but does not fail the gate.  Exit status: 0 when every violated and
inconclusive finding is accepted; otherwise 1 if an unaccepted finding is
violated, else 3.  A run with no findings at all stays 3.  Entries matching no
violated/inconclusive finding are *stale* (fixed, or the site was renamed):
they are listed on stderr and should be removed; they do not change the exit
status.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from .errors import InputError, require_regular_file
from .finding import INCONCLUSIVE, VIOLATED

FINGERPRINT_KEY = "sysretVerify/v1"
FORMAT_VERSION = 1
_OFF = re.compile(r"\+0x[0-9a-fA-F]+$")


def site_function(site_symbol: str) -> str:
    return _OFF.sub("", site_symbol)


def _fp(obligation: str, site_key: str, variant: str) -> str:
    h = hashlib.sha256(f"{obligation}\0{site_key}\0{variant}".encode())
    return h.hexdigest()[:32]


def fingerprints(findings) -> list[str]:
    """One fingerprint per finding, in order (see the module docstring)."""
    sites_by_fn: dict[str, list[int]] = {}
    for f in findings:
        fn = site_function(f.site_symbol)
        if f.site not in sites_by_fn.setdefault(fn, []):
            sites_by_fn[fn].append(f.site)
    out = []
    for f in findings:
        fn = site_function(f.site_symbol)
        sites = sorted(sites_by_fn[fn])
        key = fn if len(sites) == 1 or sites.index(f.site) == 0 else f"{fn}#{sites.index(f.site) + 1}"
        out.append(_fp(f.obligation, key, f.variant))
    return out


def fingerprint(finding) -> str:
    """The fingerprint of a finding alone (exact when its function holds one SYSRET)."""
    return fingerprints([finding])[0]


@dataclass
class Baseline:
    path: str
    entries: dict = field(default_factory=dict)  # fingerprint -> entry dict


def load(path: str) -> Baseline:
    require_regular_file(path, "a baseline")
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (baseline)") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read baseline: {e.strerror}") from None
    except ValueError as e:
        raise InputError(f"{path}: not a JSON baseline: {e}") from None
    items = data.get("accepted") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError(f"{path}: a baseline is a JSON list of accepted findings (or {{\"accepted\": [...]}})")
    entries = {}
    for i, e in enumerate(items):
        if not isinstance(e, dict) or not isinstance(e.get("fingerprint"), str):
            raise InputError(f"{path}: entry {i} has no \"fingerprint\" string")
        entries[e["fingerprint"]] = e
    return Baseline(path, entries)


def entries_for(result, previous: Baseline | None = None) -> list[dict]:
    """Baseline entries accepting every violated or inconclusive finding of
    `result`; comments are carried over from `previous` for the same fingerprint."""
    out = []
    for f, fp in zip(result.findings, fingerprints(result.findings)):
        if f.status not in (VIOLATED, INCONCLUSIVE):
            continue
        old = previous.entries.get(fp, {}) if previous else {}
        out.append({"fingerprint": fp, "obligation": f.obligation, "site_symbol": f.site_symbol,
                    "variant": f.variant, "status": f.status,
                    "comment": old.get("comment", "")})
    return out


def write(path: str, result, previous: Baseline | None = None) -> int:
    entries = entries_for(result, previous)
    doc = {"version": FORMAT_VERSION, "tool": "sysret-verify", "image": result.image_name,
           "accepted": entries}
    try:
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    except OSError as e:
        raise InputError(f"{path}: cannot write baseline: {e.strerror}") from None
    return len(entries)


@dataclass
class Applied:
    accepted: list  # (finding, entry)
    failing: list  # findings (violated or inconclusive) not accepted
    stale: list  # entries that match no violated/inconclusive finding


def accepting(baseline: Baseline | None, finding, fp: str) -> dict | None:
    """The baseline entry that accepts this finding, or None: one of its
    fingerprint whose status covers the finding's (the rule above).  The
    one test: the exit status (apply) and every report's "accepted"
    (report.annotate: SARIF's suppression, JUnit's skip) agree."""
    if baseline is None or finding.status not in (VIOLATED, INCONCLUSIVE):
        return None
    e = baseline.entries.get(fp)
    if e is not None and (finding.status == INCONCLUSIVE or e.get("status") == VIOLATED):
        return e
    return None


def apply(result, baseline: Baseline) -> Applied:
    accepted, failing, matched = [], [], set()
    for f, fp in zip(result.findings, fingerprints(result.findings)):
        if f.status not in (VIOLATED, INCONCLUSIVE):
            continue
        matched.add(fp)
        e = accepting(baseline, f, fp)
        if e is not None:
            accepted.append((f, e))
        else:
            failing.append(f)
    # (an entry that matches a finding it does not accept, an "inconclusive"
    # entry for what is now a violation, is not stale: the finding fails)
    stale = [e for fp, e in baseline.entries.items() if fp not in matched]
    return Applied(accepted, failing, stale)


def exit_status(result, applied: Applied) -> int:
    """0 / 1 / 3 under a baseline (see the module docstring)."""
    if not result.findings:
        return 3
    if any(f.status == VIOLATED for f in applied.failing):
        return 1
    if applied.failing:
        return 3
    return 0
