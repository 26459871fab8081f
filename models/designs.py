"""The designs for deciding SYSRET vs IRET, and their exit rule.

exit-checks         Linux 4.15+ (asm) / 6.7+ (C): every exit evaluates the six
                    obligations of verify/obligations.py on pt_regs and takes
                    SYSRET only when all hold.  RCX/R11 come from the cx/r11
                    slots (entry_64.S: `mov RCX(%rsp),%rcx`, `mov R11(%rsp),%r11`).
force-iret          the seed proposal: the writers in `flag_sites` set a flag;
                    the exit takes IRET iff the flag is set, otherwise SYSRET
                    with RCX/R11 from the cx/r11 slots and no check at all.
force-iret-at-stops Linux 3.x: sigreturn and exec force IRET (stub_execve,
                    stub_rt_sigreturn return through int_ret_from_sys_call);
                    signal delivery, syscall restart, TIF_SINGLESTEP and uprobes
                    all run on the slow "work" path, which returns with IRET;
                    ptrace writes force IRET only at the stop kinds in `stops`
                    (syscall stops were on the slow path; ptrace_event() stops
                    from fork/clone were not: CVE-2014-4699).  The 3.x fast
                    path loaded RCX from the saved RIP (`movq RIP-ARGOFFSET(%rsp),%rcx`)
                    and R11 from the flags word (RESTORE_TOP_OF_STACK copies
                    EFLAGS to the R11 slot).
freebsd             amd64 PCB_FULL_IRET: set by set_regs/ptrace_set_pc,
                    sendsig, sys_sigreturn, exec_setregs, syscall restart,
                    ptrace single-step; the fast exit loads RCX from tf_rip and
                    R11 from tf_rflags; `tf_rip >= VM_MAXUSER_ADDRESS` at the
                    end of amd64_syscall() sets the flag too.  FreeBSD has no
                    uprobes (the event is disabled).  FreeBSD's "traced
                    syscall" rule (a user-set PSL_T is cleared and SIGTRAP
                    posted, whose sendsig sets PCB_FULL_IRET) is modelled as the
                    `entry-tf` site: the exit is then by IRET.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import z3

from verify.errors import UsageError
from verify.obligations import SysretInputs, sysret_safe

from .cpu import AMD, INTEL, UserView, iret, sysret, view_ite
from .state import STOP_KINDS, TS_COMPAT, VM_MAXUSER_ADDRESS, TaskState, const

DESIGNS = ("exit-checks", "force-iret", "force-iret-at-stops", "freebsd")
# Writers of SYSRET-relevant pt_regs fields (FACTS.md "Linux writers").
SITES = ("ptrace", "sigreturn", "exec", "signal", "restart", "singlestep", "uprobe")
# Not a writer: the kernel noticing, at SYSCALL entry, that the user set TF
# itself (POPF) before SYSCALL.  No site in SITES covers that entry condition.
EXTRA_SITES = ("entry-tf",)
STOPS = tuple(STOP_KINDS)


@dataclass(frozen=True)
class Design:
    name: str
    flag_sites: frozenset = field(default_factory=frozenset)
    stops: frozenset = field(default_factory=frozenset)
    top_page_guard: bool = True
    cpu: str = INTEL

    # -- which writers set the flag ------------------------------------------
    def sets_flag(self, site: str) -> bool:
        return site in self.effective_sites()

    def effective_sites(self) -> frozenset:
        if self.name == "exit-checks":
            return frozenset()
        if self.name == "force-iret":
            return self.flag_sites
        if self.name == "force-iret-at-stops":
            # everything but ptrace is on the 3.x slow path; ptrace per stop kind
            return frozenset({"sigreturn", "exec", "signal", "restart", "singlestep", "uprobe"}) | self.flag_sites
        if self.name == "freebsd":
            return frozenset({"ptrace", "sigreturn", "exec", "signal", "restart", "singlestep",
                              "entry-tf"}) | self.flag_sites
        raise AssertionError(self.name)

    def ptrace_flag(self, stopped: z3.BitVecRef) -> z3.BoolRef:
        """Does a ptrace register write, at stop kind `stopped`, set the flag?
        For force-iret-at-stops the 3.15.4 fix sets it at every ptrace_stop();
        setting it at the write under the same stop-kind condition is the same
        for every trace that writes (a stop without a write changes nothing)."""
        if self.name == "force-iret-at-stops":
            codes = [c for k in self.stops for c in STOP_KINDS[k]]
            return z3.Or(*(stopped == c for c in codes)) if codes else z3.BoolVal(False)
        return z3.BoolVal(self.sets_flag("ptrace"))

    def has_uprobes(self) -> bool:
        return self.name != "freebsd"

    # -- the exit -------------------------------------------------------------
    def exit(self, s: TaskState) -> "ExitInfo":
        """What the syscall exit does in state `s` (the task is in the kernel).

        TS_COMPAT is cleared first in every design: arch_exit_to_user_mode_prepare()
        runs before the SYSRET decision (after signal handling, which the
        compat restart fixup needs)."""
        status = s.status & ~TS_COMPAT
        if self.name in ("exit-checks", "force-iret"):
            rcx, r11 = s.cx, s.r11
        else:  # Linux 3.x fast path and FreeBSD: RCX := saved RIP, R11 := saved RFLAGS
            rcx, r11 = s.ip, s.flags
        inputs = SysretInputs(rcx=rcx, r11=r11, regs_ip=s.ip, regs_flags=s.flags, regs_cs=s.cs,
                              regs_ss=s.ss, ti_status=status, la57=False)
        if self.name == "exit-checks":
            use_sysret = sysret_safe(inputs)
        elif self.name == "freebsd":
            use_sysret = z3.Not(z3.Or(s.flag, z3.UGE(s.ip, const(VM_MAXUSER_ADDRESS))))
        else:
            use_sysret = z3.Not(s.flag)
        # `int $0x80` returns by IRET in every design (entry_INT80_compat).
        use_sysret = z3.And(z3.Not(s.compat), use_sysret)
        view = view_ite(use_sysret, sysret(rcx, r11, s.sp, self.cpu),
                        iret(s.ip, s.sp, s.flags, s.cs, s.ss, s.cx, s.r11))
        return ExitInfo(use_sysret, inputs, view)

    # -- reporting -------------------------------------------------------------
    def options(self) -> dict:
        return {"design": self.name,
                # the sites that set the flag in this design (for
                # force-iret-at-stops ptrace is decided per stop kind: `stops`)
                "flag_sites": sorted(self.effective_sites(), key=_site_order),
                "stops": sorted(self.stops, key=STOPS.index) if self.name == "force-iret-at-stops" else [],
                "cpu": self.cpu, "top_page_guard": self.top_page_guard}

    def label(self) -> str:
        parts = [self.name]
        if self.name == "force-iret":
            parts.append("--flag-sites " + _sites_label(self.flag_sites))
        elif self.flag_sites:
            parts.append("--flag-sites " + ",".join(sorted(self.flag_sites, key=_site_order)))
        if self.name == "force-iret-at-stops":
            parts.append("--stops " + ",".join(sorted(self.stops, key=STOPS.index)))
        if not self.top_page_guard:
            parts.append("--no-top-page-guard")
        if self.cpu != INTEL:
            parts.append(f"--cpu {self.cpu}")
        return " ".join(parts)


@dataclass(frozen=True)
class ExitInfo:
    use_sysret: z3.BoolRef
    inputs: SysretInputs   # what SYSRET would consume, as the obligations see it
    view: UserView


def _site_order(s: str) -> int:
    order = SITES + EXTRA_SITES
    return order.index(s)


def _sites_label(sites: frozenset) -> str:
    base = set(sites) - set(EXTRA_SITES)
    extra = sorted(set(sites) & set(EXTRA_SITES))
    head = "all" if base == set(SITES) else ",".join(sorted(base, key=_site_order))
    return ",".join([x for x in [head] + extra if x])


def parse_sites(text: str | None) -> frozenset:
    if text is None or text.strip() == "":
        return frozenset()
    out = set()
    for w in (x.strip() for x in text.split(",")):
        if w == "all":
            out |= set(SITES)
        elif w == "none" or w == "":
            continue
        elif w in SITES or w in EXTRA_SITES:
            out.add(w)
        else:
            raise UsageError(f"unknown flag site '{w}' (choose from {', '.join(SITES + EXTRA_SITES)}, all)")
    return frozenset(out)


def parse_stops(text: str | None) -> frozenset:
    if text is None or text.strip() == "":
        return frozenset()
    out = set()
    for w in (x.strip() for x in text.split(",")):
        if w == "all":
            out |= set(STOPS)
        elif w in STOPS:
            out.add(w)
        elif w:
            raise UsageError(f"unknown stop kind '{w}' (choose from {', '.join(STOPS)}, all)")
    return frozenset(out)


def make_design(name: str, flag_sites: str | None = None, stops: str | None = None,
                top_page_guard: bool = True, cpu: str = INTEL) -> Design:
    if name not in DESIGNS:
        raise UsageError(f"unknown design '{name}' (choose from {', '.join(DESIGNS)})")
    if cpu not in (INTEL, AMD):
        raise UsageError(f"unknown --cpu '{cpu}' (intel or amd)")
    sites = parse_sites(flag_sites)
    st = parse_stops(stops)
    if name == "force-iret" and flag_sites is None:
        raise UsageError("--design force-iret needs --flag-sites (a comma list of "
                         f"{','.join(SITES + EXTRA_SITES)}, or all)")
    if name == "force-iret-at-stops":
        if stops is None:
            raise UsageError("--design force-iret-at-stops needs --stops (a comma list of "
                             f"{','.join(STOPS)})")
        if sites - set(EXTRA_SITES):
            raise UsageError("--design force-iret-at-stops fixes its own flag sites; "
                             "--flag-sites may only add entry-tf")
    elif stops is not None:
        raise UsageError(f"--stops only applies to --design force-iret-at-stops, not {name}")
    if name in ("exit-checks",) and sites:
        raise UsageError("--flag-sites does not apply to --design exit-checks")
    if name == "freebsd" and sites - set(EXTRA_SITES):
        raise UsageError("--design freebsd fixes its own flag sites (PCB_FULL_IRET writers)")
    return Design(name, sites, st, top_page_guard, cpu)


REFERENCE = Design("exit-checks")
