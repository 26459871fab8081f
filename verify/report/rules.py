"""The SARIF rules: one per obligation, with the catalogue's short and full
text, the fix, the CVEs and GitHub code scanning's `security-severity`.  The
SARIF driver lists them; the HTML page names each obligation by `short`."""
from __future__ import annotations

from .. import obligations as _obligations

# GitHub code scanning's severity (CVSS-like, 0-10) per obligation: each
# violation lets a user run code in ring 0 (SYSRET faulting on the user's
# stack, or returning with kernel-chosen state), except a stale TS_COMPAT
# (wrong syscall ABI decisions for the task).
SECURITY_SEVERITY = {"rcx-is-rip": "8.8", "canonical-rip": "9.3", "r11-is-rflags": "7.8",
                     "rflags-no-rf-tf": "7.8", "user-cs-ss": "8.8", "ts-compat-clear": "5.5"}

# One SARIF rule per obligation (ids are verify.obligations.OBLIGATION_IDS, in
# that order; tests/test_reports.py checks they agree).  The longer story of
# each, with the fix, is docs/CATALOGUE.md.
RULES: tuple[dict, ...] = (
    {"id": "rcx-is-rip", "cves": ["CVE-2006-0744", "CVE-2014-4699"],
     "short": "RCX equals the saved pt_regs->ip at SYSRET",
     "full": "SYSRET loads RIP from RCX. Unless RCX equals the saved user instruction pointer "
             "(pt_regs->ip), the user resumes somewhere other than where ptrace, a signal or sigreturn "
             "said, and a value the kernel never checked becomes the new RIP.",
     "help": "Every path to SYSRET must compare the RCX it will use with pt_regs->ip and take the IRET "
             "path when they differ (Linux 4.15+: `cmp %rcx,%r11; jne swapgs_restore_regs_and_return_to_usermode`; "
             "6.7+: `regs->cx != regs->ip` in do_syscall_64). See docs/CATALOGUE.md#rcx-is-rip."},
    {"id": "canonical-rip", "cves": ["CVE-2012-0217", "CVE-2014-4699"],
     "short": "RCX is canonical for the paging mode at SYSRET",
     "full": "On Intel CPUs SYSRET with a non-canonical RCX raises #GP in ring 0 after the user's RSP and "
             "GS are already loaded: the fault handler runs on a user-controlled stack (CVE-2012-0217). "
             "RCX must be canonical for the variant's paging mode (48-bit, or 57-bit with LA57).",
     "help": "Check the saved RIP before choosing SYSRET (`shl/sar $16` or `$7` under LA57 and compare, or "
             "`ip >= TASK_SIZE_MAX`) and use IRET otherwise; a 5-level kernel must not accept 57-bit "
             "addresses while running 4-level. See docs/CATALOGUE.md#canonical-rip."},
    {"id": "r11-is-rflags", "cves": ["CVE-2014-4699"],
     "short": "R11 equals the saved pt_regs->flags at SYSRET",
     "full": "SYSRET loads RFLAGS from R11. Unless R11 equals the saved user flags (pt_regs->flags), the user "
             "gets flags the kernel did not intend (a ptrace or sigreturn change is lost or a stale one "
             "is applied).",
     "help": "Compare R11 with pt_regs->flags on every SYSRET path and use IRET when they differ "
             "(`cmp %r11,EFLAGS(%rsp); jne`; 6.7+: `regs->r11 != regs->flags`). See docs/CATALOGUE.md#r11-is-rflags."},
    {"id": "rflags-no-rf-tf", "cves": [],
     "short": "R11 has RF and TF clear at SYSRET",
     "full": "SYSRET cannot restore RF (it clears it), and returning with TF set traps at once after SYSRET "
             "(the single-step trap can loop forever). With RF or TF in the saved flags only IRET "
             "returns the user's exact state.",
     "help": "Test `$(X86_EFLAGS_RF|X86_EFLAGS_TF)` in R11 before SYSRET and take the IRET path when "
             "either is set. See docs/CATALOGUE.md#rflags-no-rf-tf."},
    {"id": "user-cs-ss", "cves": [],
     "short": "Saved cs is __USER_CS and saved ss is __USER_DS at SYSRET",
     "full": "SYSRET loads fixed selectors (from STAR: __USER_CS 0x33 and __USER_DS 0x2b) whatever the saved "
             "frame holds. A task whose saved cs/ss differ (a 32-bit segment set by sigreturn or ptrace) "
             "would silently run with the wrong segments.",
     "help": "Compare CS(%rsp) with $__USER_CS and SS(%rsp) with $__USER_DS and use IRET when either "
             "differs. See docs/CATALOGUE.md#user-cs-ss."},
    {"id": "ts-compat-clear", "cves": [],
     "short": "TS_COMPAT is clear in thread_info.status at SYSRET",
     "full": "TS_COMPAT marks a 32-bit syscall in progress; it must be cleared before returning to user "
             "mode, or the next 64-bit syscall, ptrace and signal code treat the task as compat "
             "(syscall-restart and register-width decisions go wrong).",
     "help": "Clear TS_COMPAT (and TS_I386_REGS_POKED) in arch_exit_to_user_mode_prepare() after signal "
             "handling, on every path that reaches SYSRET, and not before a call that can set it "
             "again. See docs/CATALOGUE.md#ts-compat-clear."},
)

# the obligations whose catalogue is data in verify/obligations.py (issue 12:
# the compat sysretl obligations), after the six above
RULES = RULES + _obligations.catalogue_rules()
SECURITY_SEVERITY.update(_obligations.catalogue_severity())
