"""Every named assumption the prover may use: one place, one text each.
A report lists those it used and where (explore.Exploration.assumptions)."""

ASSUMPTIONS = {
    "abi-callee-saved": "A callee that is summarised, not followed, returns to its return address with RSP "
    "popped and RBX, RBP, R12-R15 as it found them (the SysV ABI every kernel C function is compiled to).  "
    "The return, RSP and the callee-saved registers are checked on the code the summary reads "
    "(summary.StackWalk: stores through RSP stay below each frame's return address, every `ret` runs at its "
    "frame's entry RSP with RBX, RBP, R12-R15 kept or restored from where they were saved; a callee that fails it is "
    "run, not summarised); this covers code the summary does not read: unknown callees, a closure past "
    "the summary's size limit, and the rest of a closure once its walk reaches code fixed only at run time (a "
    "static call, the dispatch).",
    "abi-frames": "A callee writes its callers' stack frames only through stack addresses it was given: a "
    "stack address escapes when it is in a register at a call, stored to public memory, or stored inside a "
    "range that escaped, and exposes its whole frame (between the return addresses below and above it).",
    "private-regions": "The task stack, the entry trampoline stack, the per-CPU area and the current "
    "task_struct are distinct regions (a store into the per-CPU entry stack page, the trampoline stack under "
    "its per-CPU address, is refused); a syscall never runs with current == init_task (the idle task never "
    "enters user mode), so absolute stores do not reach the current task.",
    "pcid-flush-mask-writers": "Under PTI with PCID, a bit of the per-CPU user_pcid_flush_mask is cleared only "
    "by the exit's SWITCH_TO_USER_CR3 (calling.h: `btr`, then a CR3 write that flushes that user ASID) or by "
    "code that flushes the ASID itself; invalidate_user_asid (tlbflush.h) only sets bits.  The analysis follows "
    "the clears the code it reads makes (a cleared bit is owed until a flushing write; a summarised callee "
    "that writes the mask owes every bit pending before it); a store through a pointer it does not know, or "
    "code it does not read, is taken not to clear one.",
    "instruction-boundaries": "Control enters the image's code only at instruction boundaries of a decode from "
    "a symbol's start (falling through from the symbols before it: back to the first whose own decode ends where "
    "the next begins, at most 8), from a direct-branch byte pattern's target "
    "(rel32/rel16/rel8 jmp, jcc, call, loop, xbegin, and a 66-prefixed branch's AMD length, from anywhere in the "
    "image's executable sections, every allocated section below _etext, or alternative replacements, confirmed or "
    "not), a jump label's taken target, a static call key's function as the image holds it or an exception-table "
    "fixup: no indirect jump, no `ret` to an address the code planted on the stack and no static call retargeted "
    "at run time (static_call_update) lands "
    "inside what those decodes take for one instruction (compiled kernel code returns only to the address its "
    "call pushed; indirect targets carry ENDBR landing pads under IBT).  A decode through bytes capstone cannot "
    "decode resumes at every byte after them, except in a decode from a byte pattern nothing confirms.  The "
    "search for SYSRET instructions that no analysed entry reaches (image/entry.py sysret_instructions) relies "
    "on it.",
    "espfix-alias": "CONFIG_X86_ESPFIX64 (arch/x86/kernel/espfix_64.c, init_espfix_ap): every address "
    "espfix_stack | (X & 0xffff0000) is a read-only alias of the page espfix_waddr points into, at the same "
    "offset, so native_irq_return_ldt's IRET reads the frame it copied through espfix_waddr; the page is this "
    "CPU's and nothing else writes it between the copy and the IRET.",
    "exit-ip-flags-user-data": "A value the exit code loads from kernel memory and stores into pt_regs->ip or "
    "->flags is user data: the compat fast path's landing pad is current->mm->context.vdso plus an offset "
    "(a user address the kernel keeps in its memory), and the image does not say which kernel words hold "
    "user addresses (mm_context_t.vdso beside .vdso_image, a kernel pointer).",
    "return-thunk": "`jmp __x86_return_thunk` (and the other return thunks) behaves as `ret` for memory and "
    "registers (boot patches each return site to `ret` or a jump to the chosen thunk: their writes are "
    "per-CPU call-depth counters and a WARN's state).  Their %gs accesses, SWAPGS and CR3 writes are read from "
    "the code of every return thunk in the image, not assumed.",
    "paravirt-native": "Outside XENPV, the pv_ops slots hold their linked functions at boot.",
    "callee-saved-not-read": "A summarised callee reads RBX, RBP and R12-R15 only to save and restore "
    "them (compiled C): a pointer into a caller's frame held there across a call is not the callee's to "
    "write through (the IF summary's out-parameters, prove/irqflag.py).",
    "c-prototype-args": "A function whose BTF prototype describes compiled C (not pahole's `void f(void)` "
    "placeholder, under a name no other function has) reads, stores and passes on only the argument "
    "registers its prototype declares: what a caller left in the others is not handed to it (C cannot name "
    "them; a static call's targets have the key's C type, static_call_update() type-checks them).  Used by "
    "the IF summary where a pointer into a frame is left in such a register (prove/irqflag.py).",
    "pv-callee-save": "An indirect call through a pv_ops slot of type struct paravirt_callee_save (e.g. "
    "pv_ops.lock.queued_spin_unlock) reaches a PV_CALLEE_SAVE thunk, which keeps every register but RAX: every "
    "writer of such a slot stores PV_CALLEE_SAVE(func) (paravirt.c's native default, kvm_spinlock_init, "
    "xen_init_spinlocks, hv_init_spinlocks in 6.1/6.12) and the PVOP_CALLEE call sites declare only RAX clobbered "
    "(arch/x86/include/asm/paravirt.h, paravirt_types.h).  The IF summary keeps the other registers' tags "
    "across such a call (prove/irqflag.py).",
    "irqrestore-pairs": "A flags word that an irq-restore restores (arch_local_irq_restore's `test $0x200; je; "
    "sti`, popf, a callee whose IF at return is an argument's bit 9), when the analysis has lost it through memory "
    "(a forgotten, escaped or never-written frame slot, an unknown out-parameter, a load from memory it does not "
    "follow), was saved by a pushf (local_irq_save) executed on this CPU inside the same region: during the "
    "call, entered with interrupts off, that the IF summary reads in context 0 (the kernel's irqsave/irqrestore "
    "nesting discipline, which lockdep's irq-flags tracing checks at run time).  Its bit 9 is then taken as 0 only "
    "where the analysis shows every pushf and every call of the region runs with IF exactly 0 (by induction over "
    "the region's execution every restored lost word is then 0); else the word stays unknown.  Words the analysis "
    "knows keep their value; inside a callee closure read by the stateless pre-scan (irqflag._quiet), which tracks "
    "no words, every restored word counts as lost, once the caller has shown it hands the callee no word it knows "
    "with bit 9 possibly set.  Recorded at the call that starts the region (prove/irqflag.py).",
    "no-sleep-irqs-off": "Code that runs with interrupts disabled does not call a function that may sleep: "
    "schedule() and what calls it to sleep (might_sleep()'s rule, kernel/sched/core.c __might_sleep / "
    "__might_resched; CONFIG_DEBUG_ATOMIC_SLEEP reports every violation as \"BUG: sleeping function called from "
    "invalid context\").  The IF summary takes a direct call of the scheduler's sleeping entry points, found in "
    "the image by name (__schedule, schedule, schedule_preempt_disabled, schedule_timeout, io_schedule, "
    "io_schedule_timeout, schedule_idle, schedule_user), made where IF is exactly 0 as a path that does not "
    "exist (dropped), never as a result; functions that schedule only after testing irqs_disabled() or "
    "preemptible() themselves (__cond_resched, preempt_schedule*) are read, not assumed.  Recorded at each such "
    "call (prove/irqflag.py, IrqFlagEffects._sleeper).",
    "no-warn": "No WARN fires on the way to user mode: WARN*() marks a condition that must never happen "
    "(include/asm-generic/bug.h: \"significant kernel issues that need prompt attention if they should ever appear "
    "at runtime\"; Documentation/process/coding-style.rst, \"Do not WARN lightly\": \"WARN*() is intended for "
    "unexpected, this-should-never-happen situations\"); syzbot reports every WARN as a bug and panic_on_warn turns "
    "one into a panic.  The IF summary takes a direct call of the WARN reporters, found in the image by name "
    "(__warn_printk, which WARN(cond, fmt)/WARN_ONCE call right before their ud2 on x86; warn_slowpath_fmt; "
    "__warn), and a WARN's ud2 (listed in __bug_table with BUGFLAG_WARNING), made or reached where IF is exactly 0, "
    "as a path that does not exist (dropped), never as a result; printk and pr_*() calls outside a WARN are read.  "
    "Only the IF analysis uses it: the register obligations still follow a WARN's ud2 to where it resumes.  "
    "Recorded at each such call or ud2 (prove/irqflag.py, IrqFlagEffects._warner, _warn_ud2).",
    "irq-flag-preserved": "A callee whose target the image does not fix (an indirect or static call) "
    "returns with the interrupt flag as it found it.",
    "tracepoint-probes-preserve-user-state": "Tracepoint probes (static calls __SCT__tp_func_*) do not "
    "write the current task's pt_regs or thread_info.",
    "saved-cs-rpl3": "pt_regs->cs always has RPL 3 on the syscall path: entry pushes __USER_CS, ptrace's "
    "putreg refuses a CS without RPL 3, sigreturn ORs in 3; a havoc keeps this.  So an IRET from the saved "
    "frame returns to user mode.",
    "saved-flags-upper-zero": "pt_regs->flags has its upper 32 bits zero after any kernel code writes it: "
    "RFLAGS has no bits there, the entries save RFLAGS (pushfq) or SYSCALL's R11 (RFLAGS), ptrace's "
    "set_flags() masks with FLAG_MASK, sigreturn takes only the FIX_EFLAGS bits (6.1/6.12 "
    "arch/x86/kernel/ptrace.c, signal.c); a summarised callee's havoc keeps this.  So a compat task's R11 "
    "after SYSRETL holds no kernel data above bit 31.",
    "saved-frame-is-user": "An IRET whose CS is the saved pt_regs->cs returns to user mode: every writer of "
    "pt_regs->cs (entry, ptrace, sigreturn) forces RPL 3.",
    "ud2-not-listed-dies": "A `ud2` that is in neither __bug_table nor __ex_table never resumes: the #UD "
    "handler resumes only WARNs and exception-table fixups, else die() ends the task (no kernel debugger "
    "rewrites the return address).  Likewise an `int3` in the padding after a function: no kprobe or "
    "text_poke owns padding, so the #BP handler dies there (a function that runs off its end stops).",
    "kstack-offset-translation": "After RSP moves down by an amount the analysis does not fix (at most "
    "8 KiB, checked), the code below behaves the same for every amount: it never reads or compares RSP's "
    "numeric value (accesses above the new RSP through it are refused).",
    "sysret-path-direct-entries": "Code outside entry_SYSCALL_64 enters the part of the exit path that reaches "
    "SYSRET only by direct jumps, calls or xbegin aborts (found by scanning every executable section and every "
    "alternative replacement, relocated and as copied) or by static calls to the function their key holds in the "
    "image, never by an indirect branch, a static call retargeted at run time (static_call_update), an "
    "exception-table fixup or a planted return address.",
    "xen-pv-entries": "Xen PV's entry points (xen_* code, e.g. xen_entry_SYSCALL_64 jumping to "
    "entry_SYSCALL_64_after_hwframe) are installed only as Xen hypercall callbacks, so a xen_* function "
    "entered at its symbol runs only in the xenpv variant (exempt: a jump on its control flow from that symbol, "
    "which no direct branch or exception fixup enters elsewhere).",
    "ts-compat-writers": "TS_COMPAT in thread_info.status is thread-synchronous (no other task writes it, "
    "arch/x86/include/asm/thread_info.h), and the kernel sets it only as `current_thread_info()->status |= "
    "TS_COMPAT` does (compat syscall entry, 32-bit exec, arch_uprobe_get_xol_area): so a callee whose target the "
    "image does not fix (an indirect or static call) does not set it, and code writes the status field only "
    "through a pointer derived from current_task: read by the function itself, handed to it by a direct caller "
    "in an argument register or stack argument (a C function's arguments per its BTF prototype), or returned "
    "by a direct callee, and followed through registers, stack slots and constant offsets (an indexed store "
    "stays inside its array, above the field; a shifted or multiplied pointer or a difference of two is not "
    "one; a string store writes upwards, DF being clear in kernel code (the ABI at every call and return); a pointer loaded from memory is not the current task unless the function itself stored it in that "
    "stack slot: one a callee wrote through a pointer to the caller's frame counts as memory).  Control reaches another "
    "function only at its symbol's start (or by an exception fixup), never runs off a symbol's end, returns "
    "only to its return address unless its own code drops that address (checked for every callee of a function "
    "taken to never return: its own stack is balanced at each ret), and "
    ".altinstr_aux code only tests a CPU feature and branches back.",
    "ptregs-writers-user-data": "A summarised callee whose code the analysis cannot read to its end (its "
    "closure reaches a static or indirect call, or the dispatch) writes pt_regs only with the task's user "
    "register state (signal frames, ptrace, syscall return values, restart), never with a kernel address or "
    "kernel memory: no-kernel-data and user-rsp take such a slot as the saved user value.  A callee read to its "
    "end gets no such credit: the slots it may write are marked as possibly kernel data, and a counterexample "
    "through it follows it.",
    "kernel-calls-keep-gs-cr3": "Code the analysis cannot read (the syscall dispatch, an indirect or static "
    "call, and a summarised callee whose closure reaches such code: its summary stops reading there, so the "
    "rest of its code is covered too; a SWAPGS, GS-MSR write or CR3 write it read before counts) returns with the GS base it was called with, and, without PTI, with CR3 as the entry code left it: "
    "every SWAPGS outside the entry code is paired with interrupts off (native_load_gs_index, the paranoid "
    "entries restore the GS base before returning), and a context switch away and back reloads the current "
    "task's own page tables (switch_mm_irqs_off; a different PCID/ASID is invisible to user mode).  Under PTI no "
    "such assumption is made: CR3 after such a call is unknown (a CR3 Linux builds: bit 63 clear, a PCID field "
    "under 16: kern_pcid(asid) <= TLB_NR_DYN_ASIDS), and the exit's SWITCH_TO_USER_CR3 derives the "
    "user CR3 from the CR3 it reads.  It also leaves the SYSCALL/SYSRET MSRs (EFER, STAR, LSTAR, CSTAR, "
    "SYSCALL_MASK) as it found them, or as boot set them: a kernel that loads another value (KVM's guest "
    "MSRs) registers a user-return notifier that restores them before user mode (kvm_on_user_return, run by "
    "the exit work), and clears a user ASID's flush bit in user_pcid_flush_mask only where that ASID is "
    "flushed.",
}
