"""The designs for deciding SYSRET vs IRET: how each writer changes the
force-IRET flag, and the exit rule.

exit-checks          Linux 6.7+ (C): the 64-bit exit takes SYSRET only if
                     do_syscall_64's tests pass (cx == ip, r11 == flags,
                     cs/ss == __USER_CS/__USER_DS, ip < TASK_SIZE_MAX, no
                     RF/TF); RCX/R11 from the cx/r11 slots.  TS_COMPAT is
                     cleared before (arch_exit_to_user_mode_prepare).  4.15-6.6
                     (6.1: entry_64.S 125-180) test "canonical" instead of
                     "< TASK_SIZE_MAX"; the two differ only for an ip in the
                     unmapped top page, where SYSRET and IRET give the user
                     the same view (a canonical RIP), so the answers agree.
iret                 the reference: always IRET, i.e. exactly the saved frame.
force-iret           the seed proposal: writers in `flag_sites` set a flag;
                     the exit takes IRET iff the flag is set, otherwise SYSRET
                     with RCX/R11 from the cx/r11 slots and no test at all.
gerst                Brian Gerst's proposal as written (seed thread, 2018-01-25):
                     "moving the check to the places that do modify ptregs
                     (ptrace, sigreturn, and exec) which would set a flag to
                     force return with IRET if the modified regs do not satisfy
                     the criteria for SYSRET".  Each site runs do_syscall_64's
                     tests on the registers it wrote and sets the flag only when
                     they fail; a later change by another event is not re-checked.
force-iret-at-stops  Linux 3.x: every writer but ptrace ran on the slow path
                     (IRET); ptrace writes force IRET only at the stop kinds in
                     `stops` (CVE-2014-4699: ptrace_event() stops did not).  Its
                     fast path loaded RCX from the saved RIP and R11 from the
                     flags word.
compat-sysretl       the 32-bit return of its own: after SYSENTER / 32-bit
                     SYSCALL, SYSRETL iff do_fast_syscall_32's tests in
                     `compat_checks` pass (all three by default); the 64-bit
                     exit is exit-checks'.
freebsd              amd64 PCB_FULL_IRET, with FreeBSD's events (events.py):
                     set by set_regs, ptrace_set_pc, sys_sigreturn,
                     exec_setregs, sendsig, ERESTART; not by ptrace_single_step;
                     `tf_rip >= VM_MAXUSER_ADDRESS` at the end of amd64_syscall
                     sets it too.  RCX := tf_rip, R11 := tf_rflags.

Every Linux design other than compat-sysretl returns from SYSENTER / 32-bit
SYSCALL by do_fast_syscall_32's full tests, and from int $0x80 by IRET.
`flag_test`: where the flag is tested: "after" the exit-work loop (signals,
rseq, the signal-delivery stop run before the test) or "before" it (they run
after the decision).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import z3

from verify.errors import UsageError
from verify.obligations import EFLAGS_RF, EFLAGS_TF, SysretInputs

from .cpu import AMD, INTEL, UserView, iret, sysretl, sysretq, view_ite
from .state import (BODY, ENTRY_FAST32, ENTRY_SYSCALL64, FB_UCODE, FB_UCODE32, FB_UDATA, STOP_KINDS,
                    TS_COMPAT, USER32_CS, USER_CS, USER_DS, TaskState, const, task_size_max,
                    user_va_end)

DESIGNS = ("exit-checks", "force-iret", "gerst", "force-iret-at-stops", "compat-sysretl", "freebsd", "iret")
# Linux writers of SYSRET-relevant pt_regs fields (events.py).
SITES = ("ptrace", "sigreturn", "exec", "signal", "restart", "singlestep", "rseq", "uprobe-syscall")
# Not a writer: the kernel noticing, at SYSCALL entry, that the user set TF
# itself (POPF) before SYSCALL.
EXTRA_SITES = ("entry-tf",)
STOPS = tuple(STOP_KINDS)
COMPAT_CHECKS = ("landing-pad", "cs-ss", "flags")
GERST_AS_WRITTEN = "ptrace,sigreturn,exec"
FREEBSD_SITES = frozenset({"ptrace", "sigreturn", "exec", "restart", "signal"})
AT_STOPS_SITES = frozenset(set(SITES) - {"ptrace"})


@dataclass(frozen=True)
class Design:
    name: str
    flag_sites: frozenset = field(default_factory=frozenset)
    stops: frozenset = field(default_factory=frozenset)
    top_page_guard: bool = True
    cpu: str = INTEL
    la57: bool = False
    flag_test: str = "after"
    ts_compat_clear: bool = True
    compat_checks: frozenset = frozenset(COMPAT_CHECKS)
    os: str = "linux"

    # -- environment shared with the reference ------------------------------------
    def reference(self) -> "Design":
        """IRET always, in the same environment (OS, CPU, paging, top-page guard)."""
        return Design("iret", top_page_guard=self.top_page_guard, cpu=self.cpu, la57=self.la57,
                      os=self.os)

    def effective_sites(self) -> frozenset:
        if self.name in ("exit-checks", "iret", "compat-sysretl"):
            return frozenset()
        if self.name in ("force-iret", "gerst"):
            return self.flag_sites
        if self.name == "force-iret-at-stops":
            return AT_STOPS_SITES | self.flag_sites
        if self.name == "freebsd":
            return FREEBSD_SITES
        raise AssertionError(self.name)

    # -- the flag ---------------------------------------------------------------------
    def entry_flag(self, new: TaskState) -> z3.BoolRef:
        if "entry-tf" in self.effective_sites():
            return (new.flags & EFLAGS_TF) != 0
        return z3.BoolVal(False)

    def after_write(self, site: str, old: TaskState, new: TaskState) -> z3.BoolRef:
        """The flag after writer `site` changed `old` into `new`."""
        if self.name == "force-iret-at-stops" and site == "ptrace":
            codes = [c for k in self.stops for c in STOP_KINDS[k]]
            return z3.Or(old.flag, *(old.stopped == c for c in codes))
        if site not in self.effective_sites():
            return old.flag
        if self.name == "gerst":
            return z3.Or(old.flag, z3.Not(self.linux_checks(new)))
        return z3.BoolVal(True)

    def exit_work_flag(self, s: TaskState) -> z3.BoolRef:
        if self.name == "freebsd":
            # amd64_syscall: tf_rip >= VM_MAXUSER_ADDRESS (LA48 1<<47, LA57 1<<56)
            return z3.Or(s.flag, z3.UGE(s.ip, const(user_va_end(self.la57))))
        return s.flag

    def status_after_exit(self, status):
        return status & ~TS_COMPAT if self.ts_compat_clear else status

    # -- the tests -----------------------------------------------------------------------
    def linux_checks(self, s: TaskState) -> z3.BoolRef:
        """do_syscall_64's tests (arch/x86/entry/common.c 93-124, 6.12)."""
        return z3.And(s.cx == s.ip, s.r11 == s.flags, s.cs == USER_CS, s.ss == USER_DS,
                      z3.ULT(s.ip, const(task_size_max(self.la57))),
                      s.flags & (EFLAGS_RF | EFLAGS_TF) == 0)

    def compat_ok(self, s: TaskState) -> z3.BoolRef:
        """do_fast_syscall_32's tests (common.c 416-432, 6.12), those in
        `compat_checks` for the compat-sysretl design, all for the others."""
        if self.name == "iret":
            return z3.BoolVal(False)
        checks = self.compat_checks if self.name == "compat-sysretl" else frozenset(COMPAT_CHECKS)
        c = []
        if "landing-pad" in checks:
            c.append(s.ip == s.pad)
        if "cs-ss" in checks:
            c += [s.cs == USER32_CS, s.ss == USER_DS]
        if "flags" in checks:
            c.append(s.flags & (EFLAGS_RF | EFLAGS_TF | 0x20000) == 0)
        return z3.And(*c) if c else z3.BoolVal(True)

    def selectors(self):
        if self.os == "freebsd":
            return (FB_UCODE, FB_UCODE32), (FB_UDATA,)
        return (USER_CS, USER32_CS), (USER_DS,)

    # -- the exit ---------------------------------------------------------------------
    def exit(self, s: TaskState) -> "ExitInfo":
        key = (self, id(s))
        hit = _EXIT_MEMO.get(key)
        if hit is not None and hit[0] is s:
            return hit[1]
        info = self._exit(s)
        if len(_EXIT_MEMO) > 20000:
            _EXIT_MEMO.clear()
        _EXIT_MEMO[key] = (s, info)
        return info

    def _exit(self, s: TaskState) -> "ExitInfo":
        """What the return to user mode does from state `s` (in the exit-work
        loop).  For a state still in the syscall body (the invariants ask
        "what if it returned now?") the pre-loop steps are applied first."""
        pre_flag = self.exit_work_flag(s)
        flag_now = z3.If(s.phase == BODY, pre_flag, s.flag)
        latched = z3.If(s.phase == BODY, pre_flag, s.latched)
        flag_used = latched if self.flag_test == "before" else flag_now
        status = self.status_after_exit(s.status)
        if self.name in ("force-iret-at-stops", "freebsd"):
            rcx, r11 = s.ip, s.flags
        else:
            rcx, r11 = s.cx, s.r11
        if self.name in ("exit-checks", "compat-sysretl"):
            use64 = self.linux_checks(s)
        elif self.name == "iret":
            use64 = z3.BoolVal(False)
        else:
            use64 = z3.Not(flag_used)
        use_q = z3.And(s.entry == ENTRY_SYSCALL64, use64)
        use_l = z3.And(s.entry == ENTRY_FAST32, self.compat_ok(s)) if self.os == "linux" else z3.BoolVal(False)
        ucs, uss = self.selectors()
        q = sysretq(rcx, r11, s.sp, self.cpu, self.la57, ucs[0], uss[0])
        ll = sysretl(s.ip, s.flags, s.sp, USER32_CS, USER_DS)
        ir = iret(s.ip, s.sp, s.flags, s.cs, s.ss, s.cx, s.r11, self.la57, ucs, uss)
        view = view_ite(use_q, q, view_ite(use_l, ll, ir))
        inputs = SysretInputs(rcx=rcx, r11=r11, regs_ip=s.ip, regs_flags=s.flags, regs_cs=s.cs,
                              regs_ss=s.ss, ti_status=status, la57=self.la57,
                              user_cs=ucs[0], user_ds=uss[0])
        return ExitInfo(use_q, use_l, inputs, view, status)

    # -- reporting -------------------------------------------------------------
    def options(self) -> dict:
        return {"design": self.name, "os": self.os,
                "flag_sites": sorted(self.effective_sites(), key=_site_order),
                "stops": sorted(self.stops, key=STOPS.index) if self.name == "force-iret-at-stops" else [],
                "cpu": self.cpu, "top_page_guard": self.top_page_guard, "la57": self.la57,
                "flag_test": self.flag_test, "ts_compat_clear": self.ts_compat_clear,
                "compat_checks": sorted(self.compat_checks, key=COMPAT_CHECKS.index)
                if self.name == "compat-sysretl" else []}

    def label(self) -> str:
        parts = [self.name]
        if self.name in ("force-iret", "gerst"):
            parts.append("--flag-sites " + (_sites_label(self.flag_sites) or "none"))
        elif self.flag_sites:
            parts.append("--flag-sites " + ",".join(sorted(self.flag_sites, key=_site_order)))
        if self.name == "force-iret-at-stops":
            parts.append("--stops " + ",".join(sorted(self.stops, key=STOPS.index)))
        if self.name == "compat-sysretl" and self.compat_checks != frozenset(COMPAT_CHECKS):
            parts.append("--compat-checks " + (",".join(sorted(self.compat_checks, key=COMPAT_CHECKS.index))
                                               or "none"))
        if self.flag_test != "after":
            parts.append(f"--flag-test {self.flag_test}")
        if not self.ts_compat_clear:
            parts.append("--no-ts-compat-clear")
        if not self.top_page_guard:
            parts.append("--no-top-page-guard")
        if self.la57:
            parts.append("--la57")
        if self.cpu != INTEL:
            parts.append(f"--cpu {self.cpu}")
        return " ".join(parts)


# Design.exit is called several times on one state (bad state, lemma,
# witness); building the terms in Python is the cost, so it is memoised per
# state object (the state is kept in the entry, so its id is not reused).
_EXIT_MEMO: dict = {}


@dataclass(frozen=True)
class ExitInfo:
    use_sysret: z3.BoolRef     # 64-bit SYSRETQ
    use_sysretl: z3.BoolRef    # compat SYSRETL
    inputs: SysretInputs       # what SYSRETQ would consume, as the obligations see it
    view: UserView
    status: z3.BitVecRef       # thread_info.status in user mode afterwards


def _site_order(s: str) -> int:
    return (SITES + EXTRA_SITES).index(s)


def _sites_label(sites: frozenset) -> str:
    base = set(sites) - set(EXTRA_SITES)
    extra = sorted(set(sites) & set(EXTRA_SITES))
    if base == set(SITES):
        head = "all"
    elif len(base) == len(SITES) - 1:
        head = "all-but-" + (set(SITES) - base).pop()
    else:
        head = ",".join(sorted(base, key=_site_order))
    return ",".join([x for x in [head] + extra if x])


def parse_sites(text: str | None) -> frozenset:
    if text is None or text.strip() == "":
        return frozenset()
    out = set()
    for w in (x.strip() for x in text.split(",")):
        if w == "all":
            out |= set(SITES)
        elif w.startswith("all-but-") and w[8:] in SITES:
            out |= set(SITES) - {w[8:]}
        elif w in ("none", ""):
            continue
        elif w in SITES or w in EXTRA_SITES:
            out.add(w)
        else:
            raise UsageError(f"unknown flag site '{w}' (choose from {', '.join(SITES + EXTRA_SITES)}, "
                             "all, all-but-SITE, none)")
    return frozenset(out)


def _parse_list(text, vocab, what) -> frozenset:
    if text is None or text.strip() == "":
        return frozenset()
    out = set()
    for w in (x.strip() for x in text.split(",")):
        if w == "all":
            out |= set(vocab)
        elif w in vocab:
            out.add(w)
        elif w and w != "none":
            raise UsageError(f"unknown {what} '{w}' (choose from {', '.join(vocab)}, all)")
    return frozenset(out)


def parse_stops(text: str | None) -> frozenset:
    return _parse_list(text, STOPS, "stop kind")


def make_design(name: str, flag_sites: str | None = None, stops: str | None = None,
                top_page_guard: bool = True, cpu: str = INTEL, la57: bool = False,
                flag_test: str = "after", ts_compat_clear: bool = True,
                compat_checks: str | None = None) -> Design:
    if name not in DESIGNS:
        raise UsageError(f"unknown design '{name}' (choose from {', '.join(DESIGNS)})")
    if cpu not in (INTEL, AMD):
        raise UsageError(f"unknown --cpu '{cpu}' (intel or amd)")
    if flag_test not in ("before", "after"):
        raise UsageError(f"unknown --flag-test '{flag_test}' (before or after the exit-work loop)")
    if name == "gerst" and flag_sites is None:
        flag_sites = GERST_AS_WRITTEN
    sites = parse_sites(flag_sites)
    st = parse_stops(stops)
    if name == "force-iret" and flag_sites is None:
        raise UsageError("--design force-iret needs --flag-sites (a comma list of "
                         f"{','.join(SITES + EXTRA_SITES)}, all, all-but-SITE or none)")
    if name == "force-iret-at-stops":
        if stops is None:
            raise UsageError("--design force-iret-at-stops needs --stops (a comma list of "
                             f"{','.join(STOPS)})")
        if sites - set(EXTRA_SITES):
            raise UsageError("--design force-iret-at-stops fixes its own flag sites; "
                             "--flag-sites may only add entry-tf")
    elif stops is not None:
        raise UsageError(f"--stops only applies to --design force-iret-at-stops, not {name}")
    if name in ("exit-checks", "iret", "compat-sysretl", "freebsd") and sites:
        raise UsageError(f"--flag-sites does not apply to --design {name}")
    if compat_checks is not None and name != "compat-sysretl":
        raise UsageError("--compat-checks only applies to --design compat-sysretl")
    cc = frozenset(COMPAT_CHECKS) if compat_checks is None else _parse_list(compat_checks, COMPAT_CHECKS,
                                                                            "compat check")
    if flag_test == "before" and name not in ("force-iret", "gerst", "force-iret-at-stops", "freebsd"):
        raise UsageError(f"--flag-test applies to flag designs, not {name}")
    return Design(name, sites, st, top_page_guard, cpu, la57, flag_test, ts_compat_clear, cc,
                  "freebsd" if name == "freebsd" else "linux")
