"""The one finding type, and the result of a check.

Every renderer (text, JSON, SARIF, JUnit, HTML) reads these and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PROVEN, VIOLATED, INCONCLUSIVE = "proven", "violated", "inconclusive"


@dataclass(frozen=True)
class PathStep:
    address: int
    symbol: str
    note: str = ""  # e.g. "variant: X86_FEATURE_LA57 replacement", "havoc: x64_sys_call"


@dataclass(frozen=True)
class Counterexample:
    registers: dict  # name -> int, at the SYSRET
    pt_regs: dict  # field -> int, the saved frame at the SYSRET
    ti_status: int
    user_entry: dict  # user registers at SYSCALL (rcx = user rip, r11 = user rflags, rsp ...)
    path: tuple  # of PathStep
    replayed: bool
    replay_note: str = ""
    detail: str = ""  # obligation-specific facts of the model (where a value came from, features)


@dataclass(frozen=True)
class Finding:
    """One obligation at one SYSRET site under one code variant."""

    obligation: str
    site: int
    site_symbol: str
    variant: str  # e.g. "4-level", "la57", "xenpv"
    variant_detail: dict
    status: str  # PROVEN | VIOLATED | INCONCLUSIVE
    reason: str
    counterexample: Counterexample | None = None
    solver_seconds: float = 0.0


@dataclass
class CheckResult:
    image_path: str
    image_name: str
    sha256: str
    build_id: str | None
    version: str | None
    findings: list[Finding] = field(default_factory=list)
    variants: list[dict] = field(default_factory=list)  # per variant: name, features, paths, seconds, solver_seconds
    assumptions: list[dict] = field(default_factory=list)  # named assumptions used: id, text
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    budget_cut: bool = False  # a time budget ended the work early: never cached
    cfg: object = None  # networkx.DiGraph of the explored region (addresses -> attributes)

    @property
    def verdict(self) -> str:
        """Fails closed: "proven" only when there are findings and every one
        is exactly "proven" (a status of any other spelling, read back from
        a cache file, is no proof: review 49)."""
        statuses = {f.status for f in self.findings}
        if VIOLATED in statuses:
            return VIOLATED
        if not self.findings or statuses != {PROVEN}:
            return INCONCLUSIVE
        return PROVEN
