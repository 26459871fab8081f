"""Other ways into the SYSRET path than entry_SYSCALL_64.

The engine explores from entry_SYSCALL_64 only.  A SYSRET site is also
reached by any code that gets into the code from which it is reachable:
4.15-6.1's ret_from_fork-style exits, Xen PV's syscall entry jumping to
entry_SYSCALL_64_after_hwframe, or a patched kernel.  Such a path starts
from a state the exploration never built, so a "proven" at a site it
reaches means nothing for it.

Found from the image, not from names:
- the entry symbol's extent: [entry_SYSCALL_64, + its ELF size) (without a
  size, up to its last SYSRET): its own code, explored;
- W: every address of the entry text (__entry_text_start..end) from
  which a SYSRET is statically reachable: every instruction there is
  decoded from every symbol start, every target of a direct branch from
  outside the entry text, jump label and exception fixup, and every direct
  call's target met on the way (walk_seeds), every patch-site candidate
  included, with fall-through after everything but an unconditional
  transfer (after iret, int3, hlt and ud2 too), and an indirect jump
  counted as reaching SYSRET;
- a second entry is (a) a direct jmp/jcc/call, from anywhere outside the
  extent (every executable section, alternative replacements in place,
  every jump label's taken target), into W, or (b) a symbol that starts in W
  outside the extent (its address may be taken: a planted return address).
  Byte patterns are not confirmed by decoding: a false one only costs
  precision (inconclusive), a missed one would cost soundness.

Not covered (assumption `sysret-path-direct-entries`): entering W through
an indirect branch or an exception-table fixup from outside the entry text,
or through entry-text code that only an indirect branch enters.

Xen PV's entries (a branch on the control flow of an `xen_*` function from
its start, which nothing else enters: is_xen_pv_entry) are installed by the
Xen setup code as hypercall callbacks and run only in a Xen PV guest: they
count for the xenpv variant only (assumption `xen-pv-entries`).
"""
from __future__ import annotations

import bisect

from ..image.branches import alternative_branches, kernel_text, scan_candidates
from ..image.encoding import lite_decode
from ..image.patches import tables
from ..image.entry import sysret_instructions
from .cfg import CfgError, _md, decode, static_sysret_sites

WINDOW = 1 << 16


def _candidates(elf, lo: int, hi: int, extra=(), text=None) -> list:
    """branches.scan_candidates, once per image and range (the sysretq and
    the sysretl searches scan the same entry text); extra: the image's
    alternative_branches."""
    memo = elf.__dict__.setdefault("_branch_candidates", {})
    if (lo, hi) not in memo:
        w = lo & -WINDOW
        if hi <= w + WINDOW and (lo, hi) != (w, w + WINDOW):
            # a range inside one aligned 64 KiB window is cut from a scan of
            # the window (the Xen stubs next to each other: one scan, not
            # three); the scan yields exactly the sources whose target is in
            # its range, so those with a target in [lo, hi) are the range's
            memo[(lo, hi)] = [(a, t) for a, t in _candidates(elf, w, w + WINDOW, extra, text) if lo <= t < hi]
        else:
            memo[(lo, hi)] = list(scan_candidates(elf, lo, hi, extra, text))
    return memo[(lo, hi)]


def candidates(prog, lo: int, hi: int) -> list:
    """Every direct-branch byte pattern into [lo, hi): the image's text
    sections and its alternative replacements (both ways); and every static
    call site whose key holds a function in it (boot patches the site into
    a direct branch there: patches.static_call_targets)."""
    return _candidates(prog.image.elf, lo, hi, alternative_branches(prog.image) + [
        (s, f) for s, f in tables(prog.image).static_call_targets if f], kernel_text(prog.image))


def cfg_extent(prog, entry: int, cfg=None) -> list[tuple[int, int]]:
    """The bytes of the instructions of the entry's own CFG (every
    patch-site candidate's, and each site's whole on-disk range), the code
    the exploration ran from the entry: a branch there is one the
    exploration took, not another way in.  Not the entry symbol's ELF size,
    which may cover other code (a misplaced SYM_CODE_END, an alias with a
    larger size: adv_r119_size_covers_int80, _alias_size_int80), nor, without
    one, the span up to its last SYSRET (adv_r119_sizeless_extent_int80).
    A CFG that cannot be built gives the entry's first byte only
    (everything else then counts as a second entry: inconclusive, never
    proven by it)."""
    if cfg is None:
        try:
            cfg = prog.cfg(entry)
        except CfgError:
            return [(entry, entry + 1)]
    out = []
    for b in cfg.blocks.values():
        if b.node[1] is not None or b.kind == "choice":  # a candidate's bytes: the site's range on disk
            site = b.node[1][0] if b.node[1] is not None else b.addr
            if site in prog.sites:
                out.append((site, site + max(e.length for e in prog.sites[site])))
        for ins in b.insns:  # a candidate's instructions too: it may run past the site's recorded length
            out.append((ins.addr, ins.addr + ins.size))
    return out or [(entry, entry + 1)]


def symbol_extent(prog, entry: int, cfg) -> tuple[int, int]:
    """The entry symbol's own extent: the smallest ELF size of a name at its
    address (an alias with a larger one covers other code:
    adv_r119_alias_size_int80), else up to the last SYSRET its CFG reaches.
    Only for symbol starts (ways_in): a symbol the CFG reaches is explored
    only inside this too, since the CFG follows edges no path takes (a
    `jne` never taken into an int80 handler, adv_r120_cfg_dead_edge_int80)."""
    sizes = [z for n in prog.symbols.names_at(entry) if (z := prog.symbols.size_of(n))]
    if sizes:
        return entry, entry + min(sizes)
    sysrets = [b.last.addr for b in cfg.blocks.values() if b.kind in ("sysret", "sysretl")]
    return entry, (max(sysrets) + 3 if sysrets else entry + 1)


def in_extents(extents: list) -> "callable":
    """address -> whether one of the (lo, hi) ranges holds it."""
    merged: list = []
    for lo, hi in sorted(extents):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    starts = [lo for lo, _hi in merged]

    def holds(a: int) -> bool:
        i = bisect.bisect_right(starts, a) - 1
        return i >= 0 and a < merged[i][1]
    return holds


_NO_FALL = ("jmp", "ijmp", "ret", "tail", "sysret", "sysretl", "dead")


def walk_seeds(prog, lo: int, hi: int) -> list[int]:
    """Where the walk for W starts (sysret_reaching adds, as it goes, the
    in-range target of every direct call it decodes).

    Soundness: W must hold every address that (a) a second entry can target
    and (b) reaches a SYSRET.  second_entries looks for (a) among symbol
    starts, the targets of the byte-scanned direct branches (_candidates)
    and of the jump labels.  Symbol starts alone are not enough: an
    unlabelled island (a `.L` label after an unconditional jmp) entered only
    by a jump from outside the entry text is decoded by nothing else
    (fixture adv_r6_entry_island: ret_from_fork in .text jumps to such an
    island, which jumps to the SYSRET path).  So the seeds are:
    - every symbol start in [lo, hi);
    - the target of every candidate branch whose source lies OUTSIDE
      [lo, hi) (unconfirmed: a false byte pattern's target, decoded, can
      only add to W, i.e. cost precision);
    - every jump label's taken target, and every exception-table fixup in
      range (its code runs after a fault of an instruction anywhere).
    A candidate whose source lies INSIDE [lo, hi) is not a seed: if that
    branch is code the walk decodes, the walk follows it (jmp/jcc as edges,
    a call's target as a new start); entry-text code the walk never decodes
    is reached from no symbol, no direct branch from outside, no jump label,
    no fixup and no fall-through, i.e. only through an indirect branch, the
    case assumption sysret-path-direct-entries names.  (Seeding those too
    would decode the targets of byte patterns inside the entry code's own
    instructions: on Debian 6.1/6.12 such garbage, e.g. in asm_exc_nmi,
    decodes to an indirect jump and makes a false second entry.)"""

    return sorted(set(prog.symbols.addresses_in(lo, hi)) | _branch_seeds(prog, lo, hi))


def _branch_seeds(prog, lo: int, hi: int) -> set[int]:
    """The seeds other code branches to (walk_seeds but the symbol starts):
    candidate branches from outside [lo, hi), jump labels, fixups."""
    out = {t for s, t in candidates(prog, lo, hi) if not lo <= s < hi}
    out.update(t for _s, t in _jump_label_branches(prog, lo, hi))
    out.update(f for f in tables(prog.image).extable_fixup_targets if lo <= f < hi)
    return out


def sysret_reaching(prog, lo: int, hi: int, entry: int, max_nodes: int = 40000,
                    kinds: tuple = ("sysret",), trapped: list | None = None) -> set[int]:
    """W: addresses in [lo, hi) from which a 64-bit SYSRET instruction is
    statically reachable (see the module docstring for the edges).  Falling
    into `entry` (an entry point or a set of them, the compat entries) is an
    edge from real code, not from alignment fill (below).  trapped: gets
    (int3, entry point) for every fall-through into an entry point left out
    because an int3 that code runs into traps (assumption int3-traps).
    A direct call out of [lo, hi) is taken to return to its fall-through
    (assumption sysret-path-direct-entries).  A callee that bumps its
    return address past a `ret` the walk stops at returns into code no
    walk reads; a branch there into W is a way in all the same, being
    outside the entry's CFG (cfg_extent: adv_r115_entry2_call_skips_w).
    (Checking the callees instead: Summary.frame_unsafe and tscompat's
    own-stack walk both refuse 25-29 of the 58-64 interrupt handlers and C
    entry points the Debian kernels' entry text calls, measured.)"""
    stops = set(entry) if isinstance(entry, (set, frozenset, tuple, list)) else {entry}
    branch_seeds = _branch_seeds(prog, lo, hi)
    starts = sorted(set(prog.symbols.addresses_in(lo, hi)) | branch_seeds)  # walk_seeds
    succ: dict = {}
    into_entry: list = []  # (node, entry node): fall-through into an entry point
    fill: set = set()  # int3 and NOP nodes
    nop_fill: set = set()
    reaching: set = set()
    work = [(a, None) for a in starts]
    seen: set = set()
    while work:
        node = work.pop()
        if node in seen:
            continue
        seen.add(node)
        if len(seen) > max_nodes:
            raise CfgError("entry text too large to walk")
        addr, vk = node
        if not lo <= addr < hi:
            continue
        out = succ.setdefault(node, [])
        if vk is None and addr in prog.sites:
            try:
                choices = prog.site_choices(addr)
            except CfgError:
                # a candidate that cannot be placed here (a replacement with a
                # call the patcher relocates, sites that overlap): what runs
                # there is not known, so it may reach a SYSRET
                # (adv_r137_nested_site_label); and it goes on after the site
                reaching.add(node)
                end = (addr + max(e.length for e in prog.sites[addr]), None)
                out.append(end)
                work.append(end)
                continue
            for i, _c in enumerate(choices):
                out.append((addr, (addr, i)))
            work.extend(out)
            continue
        if vk is None and prog.inside_site(addr) is not None:
            # a way into the middle of a patch site (a label between two of
            # its instructions): the bytes there are whichever candidate
            # boot wrote, decoded from an offset none of them may start an
            # instruction at (`jmp` to the IRET path on disk, `jmp` to the
            # SYSRET path in the replacement: adv_r136_label_inside_alt_misaligned).
            # Taken to reach a SYSRET, as undecodable bytes are
            reaching.add(node)
            continue
        try:
            data = prog.fetch_raw(addr, 16) if vk is None else prog.site_choices(vk[0])[vk[1]][0][addr - vk[0]:]
        except CfgError:
            continue
        ins = decode(addr, data) if data else None
        if ins is None or (prog.site_inside(addr, ins.size) if vk is None else
                           prog.rewritten_inside(addr, ins.size)) is not None:
            # bytes capstone cannot decode (TLBSYNC on AMD, ...): what they
            # do and where they go on is unknown, so they may reach SYSRET
            # (adv_r23_entry2_undecoded_island).  So is an on-disk
            # instruction whose bytes run into a patch site: those past the
            # site's start are boot's choice (a `jmp` opcode before an
            # alternative that writes its displacement: adv_r145_alt_in_jmp_rel32)
            reaching.add(node)
            continue
        nxt = (addr + ins.size, vk)
        if vk is not None and addr + ins.size >= vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]):
            nxt = (addr + ins.size, None)
        if ins.kind in kinds or ins.kind in ("ijmp", "far") or (
                ins.kind in ("jmp", "jcc", "tail") and prog.thunk_register(ins.target) is not None):
            # (JMP_NOSPEC, `jmp __x86_indirect_thunk_rax`, is an indirect
            # jump, which boot may write as such: adv_r120_int80_jmp_nospec_exit;
            # a far transfer goes where data says, a VM exit to HOST_RIP among
            # them: adv_r126_la57_vmresume_exit)
            reaching.add(node)
        if ins.target is not None and ins.kind in ("jmp", "jcc", "tail", "call", "lcall"):
            # (a call is an edge too: its target runs, and need not return,
            # `call 2f; ...; 2: add $8, %rsp; jmp <SYSRET path>` of return
            # stack stuffing: adv_r23_entry2_call_island)
            t = ins.target
            tn = (t, vk) if vk is not None and vk[0] <= t < vk[0] + len(prog.site_choices(vk[0])[vk[1]][0]) \
                else (t, None)
            out.append(tn)
            work.append(tn)
        if ins.kind not in _NO_FALL:
            if nxt[0] in stops and vk is None:
                into_entry.append((node, nxt))
            else:
                out.append(nxt)
                work.append(nxt)
        if ins.mnemonic == "int3" or ins.mnemonic.startswith("nop"):
            fill.add(node)
            if ins.mnemonic != "int3":
                nop_fill.add(node)
    # Falling into an entry point is an edge from real code (an IDT handler
    # that runs on into entry_SYSCALL32_ignore reaches its SYSRET from a
    # state the entry's exploration does not build:
    # adv_r51_int80_falls_into_ignore), but not from alignment fill:
    # - an int3 traps; going on at the next byte needs a kernel debugger's
    #   `continue` there (kgdb: adv_r52_int3_resumes_into_ignore, a known
    #   gap, and the debugger owns the machine anyway), since do_int3
    #   resumes by itself only at a text_poke site it is rewriting
    #   (emulating the new instruction) or a registered kprobe, which the
    #   entry text refuses (arch_within_kprobe_blacklist).  Data in the
    #   entry text decoded as code runs into such fill (6.1's x86_verw_sel,
    #   `.word __KERNEL_DS` before entry_SYSCALL_64's int3 fill);
    # - NOP fill counts only when something runs into it: an edge from a
    #   non-fill instruction (a real `nop` at the end of code, a jump into
    #   the fill) or a seed other code branches to (a branch from outside,
    #   a jump label, a fixup: adv_r52_jmp_into_pad).  NOP fill reached
    #   only from a symbol start (6.1's nopw under
    #   __end_entry_SYSENTER_compat: a marker, not code) is entered, if at
    #   all, by an indirect branch: assumption sysret-path-direct-entries.
    def entered(kind: set) -> set:
        """The nodes of `kind` that code runs into (an edge from a non-fill
        instruction, a branch seed), and those they fall through to."""
        todo = [b for a, bs in succ.items() if a not in fill for b in bs if b in kind]
        todo += [(t, None) for t in branch_seeds if (t, None) in kind]
        live: set = set()
        while todo:
            n = todo.pop()
            if n not in live:
                live.add(n)
                todo.extend(b for b in succ.get(n, ()) if b in kind)
        return live

    live_fill = entered(nop_fill)
    # an int3 that code runs into (a compiled-in breakpoint; data decoded as
    # code running into the fill) traps all the same; the fall-through left
    # out is named where it is (adv_r52_int3_resumes_into_ignore)
    live_int3 = entered(fill - nop_fill) if trapped is not None else set()
    for node, nxt in into_entry:
        if node not in fill or node in live_fill:
            succ[node].append(nxt)
        elif node in live_int3:
            trapped.append((node[0], nxt[0]))
    pred: dict = {}
    for a, bs in succ.items():
        for b in bs:
            pred.setdefault(b, []).append(a)
    todo = list(reaching)
    while todo:
        n = todo.pop()
        for p in pred.get(n, ()):
            if p not in reaching:
                reaching.add(p)
                todo.append(p)
    return {a for a, _vk in reaching}


def _jump_label_branches(prog, lo: int, hi: int):
    """(site, taken target) of every jump label whose target is in [lo, hi):
    the on-disk bytes may be a NOP that becomes that jump at run time."""

    _lay, recs = tables(prog.image).jump_labels
    for r in recs:
        code, target = r[0], r[2]
        if lo <= target < hi:
            yield code, target


def code_outside(cfg, ranges, kinds: tuple) -> int | None:
    """The address of an instruction of the entry's CFG, outside every
    (lo, hi) of ranges, from which the CFG reaches a SYSRET of `kinds`
    (patch-site candidates included: they are placed at their site), or
    None.  W, the code that reaches a SYSRET, is searched in those
    ranges only: entry code that runs on in .text and comes back to the
    SYSRET path (a `jmp` out to a piece that jumps back) would be explored
    from the entry but not searched for other ways in, and a branch from
    elsewhere to that piece reaches the SYSRET unchecked
    (adv_r136_ool_step_fork_jump, _falloff_into_tail, _fixup_into_tail,
    _step_jump_label, _compat_ool_int80_jump).  Code outside that reaches
    no SYSRET (the Debian kernels' XENPV alternative's `jmp xen_iret`) is
    no way to one."""
    pred: dict = {}
    for b in cfg.blocks.values():
        for n in b.succs:
            pred.setdefault(n, []).append(b.node)
    todo = [b.node for b in cfg.blocks.values() if b.kind in kinds]
    reach = set(todo)
    while todo:
        for p in pred.get(todo.pop(), ()):
            if p not in reach:
                reach.add(p)
                todo.append(p)
    for node in reach:
        b = cfg.blocks.get(node)
        if b is None:
            continue
        # (a candidate's instructions are placed at its site's address: a
        # site in .text is code outside too, adv_r137_ool_alt_site_fork_jump)
        for a in [b.addr] + [ins.addr for ins in b.insns]:
            if not any(lo <= a < hi for lo, hi in ranges):
                return a
    return None


def second_entries(prog, cfg, kinds: tuple = ("sysret",), trapped: list | None = None) -> list[tuple[int, int]]:
    """(source, target) of every way into W from outside the entry's extent
    (module docstring); W for the SYSRET instructions of `kinds` ("sysret"
    for sysretq, "sysretl").  trapped: as sysret_reaching's."""
    e_lo = prog.entry.syscall_entry
    explored = in_extents(cfg_extent(prog, e_lo, cfg))
    s_lo, s_hi = symbol_extent(prog, e_lo, cfg)
    lo, hi = prog.entry.entry_text
    if not lo <= e_lo < hi:
        sec = prog.image.elf.section_at(e_lo)
        if sec is None:
            raise CfgError("the entry is in no section")
        lo, hi = sec.addr, sec.end
    outside = [b.last.addr for b in cfg.blocks.values() if b.kind in kinds and not lo <= b.last.addr < hi]
    if outside:
        # W covers the entry text only: code elsewhere that reaches this
        # SYSRET would not be seen
        raise CfgError(f"a SYSRET at {outside[0]:#x} lies outside the entry text searched for other entries")
    out = code_outside(cfg, [(lo, hi)], kinds)
    if out is not None:
        raise CfgError(f"the entry's code runs on at {prog.symbolize(out)}, outside the entry text searched "
                       "for other ways into it")
    w = sysret_reaching(prog, lo, hi, e_lo, kinds=kinds, trapped=trapped)
    # (the entry's own extent: a branch from a part of it no explored path
    # runs is reached, if at all, by a way into W found on its own: W
    # follows calls and undecodable bytes, adv_r23_entry2_call_island)
    # a branch source: explored if the CFG reaches it or it lies in the
    # entry symbol's own extent (code there no path reaches is dead, unless
    # something else enters it, which is a way in of its own: a seeded
    # `jae` made `jmp` leaves the fall-through's jump into W unreachable);
    # a symbol start: only if both hold (adv_r119_size_covers_int80,
    # adv_r120_cfg_dead_edge_int80)
    return sorted(ways_in(prog, lo, hi, w, lambda a: explored(a) or s_lo <= a < s_hi,
                          lambda a: explored(a) and s_lo <= a < s_hi, trapped))


def _starts_with_int3(prog, a: int) -> bool:
    """A symbol on an int3 (6.1's entry_SYSRETQ_end after the sysretq): code
    entered there traps at once (assumption int3-traps), no way in."""
    try:
        return prog.fetch_raw(a, 1) == b"\xcc"
    except CfgError:
        return False


def ways_in(prog, lo: int, hi: int, w, explored, explored_start=None, trapped: list | None = None) -> set:
    """(source, target) of every way into W (the addresses of [lo, hi) that
    reach a SYSRET) from outside the code `explored` (address -> bool;
    explored_start: the same for a symbol start, default explored;
    trapped: gets (start, start) for a symbol on an int3 left out):
    the direct-branch patterns, static calls and jump labels into it, and
    the symbols in it (a function entered at its start).  The explored
    code's own branches are followed by the exploration, but not its static
    calls (a call to a __SCT__ trampoline is summarised as retargeted at run
    time) nor a trampoline's own jump: those enter W even from inside it
    (adv_r22_entry_sc_inside)."""
    out = set()
    static = set(tables(prog.image).static_call_targets)
    for src, tgt in list(candidates(prog, lo, hi)) + list(_jump_label_branches(prog, lo, hi)):
        if tgt in w and (not explored(src) or (src, tgt) in static or _in_trampoline(prog, src)):
            out.add((src, tgt))
    for a in prog.symbols.addresses_in(lo, hi):
        if a in w and not (explored_start or explored)(a):
            if not _starts_with_int3(prog, a):
                out.add((a, a))
            elif trapped is not None:
                trapped.append((a, a))  # (left out under int3-traps: named in the report)
    if lo in w:
        # code before the range that runs on into its first byte
        # (adv_r91_fallthrough_into_entry: a helper at the end of the
        # section before falls into entry_SYSCALL_64); sysret_reaching reads
        # the fall-throughs inside the range only
        for src, tgt in falls_into(prog, lo):
            if not explored(src):
                out.add((src, tgt))
    # an exception-table fixup is a way in too: the fault handler sets the
    # faulting context's ip to it (ex_handler_*, arch/x86/mm/extable.c) and
    # returns there, on the faulting code's stack; the table says where
    # (adv_r87_extable_fixup_into_exit: a syscall handler's uaccess fixup
    # right after the exit's checks)
    for insn, fixups in tables(prog.image).extable_entries.items():
        for fixup, _data in fixups:
            if fixup in w and not explored(insn):
                out.add((insn, fixup))
    return out


FALL_WINDOW = 4096  # the bytes before a range read for code that runs on into it
FALL_SCAN_BYTES = 1 << 16  # how far back the function spanning the window may start (else: unsure)


def falls_into(prog, lo: int) -> set:
    """(source, lo) for every way code before lo may run on into lo.  The
    bytes before lo (FALL_WINDOW of them, in the same run of code: an
    executable section, or any allocated one below PFN_ALIGN(_etext), as
    branches.executable_runs) are decoded from every place control may enter
    them (assumption instruction-boundaries): each symbol start there and
    the start of the function spanning the window's start, each direct
    branch pattern from outside the window, jump label or exception-table
    fixup into them (its source is the way in), every patch-site candidate
    at a site.  A decode
    runs on into lo when it stops exactly at lo without an instruction
    control does not go on from (a jump, a return, SYSRET, IRET, a BUG's
    `ud2`) or an int3 (a trap: assumption int3-traps, as sysret_reaching's
    fill).  A decode from a symbol start that reaches lo through NOPs only
    (6.1's `__end_entry_SYSENTER_compat: nopw` before entry_SYSCALL_compat)
    is a label on fill, entered only by a branch (those are searched here;
    an indirect one is assumption sysret-path-direct-entries).  Unsure (bytes
    that do not decode, a candidate with no static bytes, a function
    starting too far back): (lo - 1, lo)."""
    from ..image.branches import executable_runs  # noqa: PLC0415

    img = prog.image
    run = next((r for r in executable_runs(img.elf, kernel_text(img)) if r[0].addr < lo <= r[-1].addr + r[-1].size),
               None)
    if run is None:
        return set()  # nothing runs code right before lo
    rlo = run[0].addr
    wlo = max(rlo, lo - FALL_WINDOW)
    unsure = {(lo - 1, lo)}
    s0 = prog.symbols.symbol_start(wlo) if wlo > rlo else rlo
    if s0 is None or s0 < rlo:
        s0 = rlo
    if wlo - s0 > FALL_SCAN_BYTES:
        return unsure
    sym_starts = {s0, *prog.symbols.addresses_in(wlo, lo)}
    # (as walk_seeds: a byte pattern whose source is inside the window is
    # followed by the decodes that take it for an instruction, when they do;
    # seeding its target too would decode the targets of patterns inside
    # instructions' bytes, garbage that runs on anywhere)
    branches = [(b, t) for b, t in candidates(prog, s0, lo) if not s0 <= b < lo]
    branches += list(_jump_label_branches(prog, s0, lo))
    branches += [(insn, fx) for insn, fxs in tables(img).extable_entries.items() for fx, _d in fxs if s0 <= fx < lo]
    memo: dict = {}  # address -> None | ("fall", x) | ("nops",) | ("unsure",)

    def site_at(a: int):
        """(start, end) of the patch site starting at a, "inside" when a
        is strictly inside one (nested sites too: Program.inside_site,
        adv_r139_nested_mid_falls_into_entry), else None."""
        if prog.inside_site(a) is not None:
            return "inside"
        i = bisect.bisect_right(prog._site_starts, a) - 1
        if i >= 0 and prog._site_starts[i] == a:
            return prog._site_starts[i], prog._site_ends[i]
        return None

    def straight(code: bytes, base: int):
        """A candidate's code run from its start: None (it does not go on
        past its end), "nop" (only NOPs), "code", or "unsure".  Its direct
        branches into the window are taken as the decodes' own
        (adv_r130_window_altrepl_jmp_into_xen: a replacement's `jmp`)."""
        a, seen_code = 0, False
        while a < len(code):
            try:
                ins = decode(base + a, code[a:a + 16])
            except CfgError:
                ins = None
            if ins is None:
                return "unsure"
            if ins.target is not None and ins.kind in ("jmp", "jcc", "call", "tail") and s0 <= ins.target < lo:
                inner.append((base + a, ins.target))
            if ins.mnemonic == "int3" or ins.kind in _NO_FALL:
                return None
            if ins.kind == "jcc":
                return "unsure"  # (a branch out of a candidate: not followed here)
            seen_code = seen_code or not _is_nop(ins, code[a:a + 2])  # (a call returns: it goes on)
            a += ins.size
        return "code" if seen_code else "nop"

    def outcome(a0: int):
        path = []  # (address, is_nop) in order
        a = a0
        while True:
            if a in memo:
                res = memo[a]
                break
            if a >= lo:
                res = ("nops",) if a == lo else None
                break
            site = site_at(a)
            if site is not None:
                if site == "inside":
                    res = ("unsure",)  # (a decode into the middle of a patch site)
                    break
                try:
                    kinds = {straight(c, a) if c is not None else "unsure" for c, _l, _c in prog.site_choices(a)}
                except CfgError:
                    kinds = {"unsure"}
                if "unsure" in kinds:
                    res = ("unsure",)
                    break
                if kinds <= {None}:
                    res = None
                    break
                path.append((a, kinds <= {None, "nop"}))
                a = site[1]
                continue
            try:
                data = img.read(a, min(16, lo - a + 15))
            except Exception:  # noqa: BLE001 (bytes the file does not hold)
                res = ("unsure",)
                break
            try:
                ins = decode(a, data)
            except CfgError:
                ins = None
            if ins is None or prog.site_inside(a, ins.size) is not None:
                # (an instruction whose bytes run into a patch site: boot
                # writes the rest, adv_r145_alt_in_jmp_rel32)
                res = ("unsure",)
                break
            if ins.target is not None and ins.kind in ("jmp", "jcc", "call", "tail") and s0 <= ins.target < lo:
                # a branch this decode takes inside the window: its target
                # runs too (adv_r129_window_jmp_falls_into_xen: `jmp 2f`
                # over padding to code that runs on into lo)
                inner.append((a, ins.target))
            if ins.mnemonic == "int3" or ins.kind in _NO_FALL or (ins.mnemonic == "ud2" and
                                                                 prog.after_ud2(a) == "dies"):
                res = None
                break
            path.append((a, _is_nop(ins, data[:2])))
            a += ins.size
        for x, nop in reversed(path):
            if res == ("nops",) and not nop:
                res = ("fall", x)
            memo[x] = res
        return res

    out: set = set()
    inner: list = []  # (source, target) of the branches inside the window the decodes take
    for st in sorted(sym_starts):
        r = outcome(st)
        if r is not None and r[0] == "fall":
            out.add((r[1], lo))
        elif r == ("unsure",):
            out |= unsure
    for src, t in branches:
        r = outcome(t)
        if r is not None:
            out.add((src, lo))  # a branch into code that runs on into lo
    taken: set = set()
    while inner:
        src, t = inner.pop()
        if (src, t) in taken:
            continue
        taken.add((src, t))
        r = outcome(t)
        if r is not None:
            out.add((src, lo))  # (as a branch from outside: its target runs on into lo)
    return out


def _is_nop(ins, raw: bytes) -> bool:
    return ins.mnemonic.startswith("nop") or (ins.mnemonic == "xchg" and raw[:2] == b"\x66\x90")


def _in_trampoline(prog, addr: int) -> bool:
    """Whether addr lies in a static call trampoline (Program.
    static_call_tramp: the name and the bytes static_call_update()
    patches; other code under the name is never retargeted)."""
    start = prog.symbols.symbol_start(addr)
    return start is not None and prog.static_call_tramp(start)


# Where a Xen PV function's own control flow stops: no fall-through after
# these (a `ud2`, `int3` or `hlt` may resume, but what follows it is then not
# shown to be the function's code: the extent only shrinks, never grows).
_XEN_STOP = ("jmp", "ijmp", "ret", "sysret", "sysretl", "iret", "far")
_XEN_TRAPS = ("ud2", "ud1", "ud0", "int3", "hlt")


def xen_pv_extent(prog, start: int) -> dict[int, object] | None:
    """The code of the `xen_*` function at `start`: address -> Insn of every
    instruction reached from `start` by its own direct control flow
    (fall-through, conditional and direct jumps and direct calls whose target
    lies in the range, fall-through after a call), never at or past the next
    symbol nor past the ELF size where the image gives one, and stopping at a
    patch site.  None when a name at `start` is not `xen_*` or the code
    cannot be decoded.  (Soundness: see is_xen_pv_entry.)"""
    cache = prog.__dict__.setdefault("_xen_pv_extents", {})  # per Program: one walk per xen_* start
    if start in cache:
        return cache[start]
    syms = prog.symbols
    names = syms.names_at(start)
    out = None
    if names and all(n.startswith("xen_") for n in names):
        hi = syms.next_symbol(start) or start + 1
        sized = [syms.size_of(n) for n in names if syms.get(n) == start and syms.size_of(n)]
        if sized:
            hi = min(hi, start + min(sized))
        out, work = {}, [start]
        try:
            while work:
                a = work.pop()
                if a in out or not start <= a < hi:
                    continue
                if a in prog.sites:
                    continue  # its bytes are chosen at boot: not shown to be this function's
                ins = decode(a, prog.fetch(a, 16))
                if ins is None or a + ins.size > hi:
                    continue
                out[a] = ins
                if ins.target is not None and ins.kind in ("jmp", "jcc", "call", "tail"):
                    work.append(ins.target)
                if ins.kind not in _XEN_STOP and ins.mnemonic not in _XEN_TRAPS:
                    work.append(a + ins.size)
        except CfgError:
            out = None
    cache[start] = out
    return out


def is_xen_pv_entry(prog, src: int, tgt: int) -> bool:
    """The direct branch at `src` into the exit path (at `tgt`) is Xen PV
    code: it lies on the control flow of an `xen_*` function from its start,
    and that function is entered at its start only.

    Soundness.  The exemption rests on the named assumption xen-pv-entries:
    an `xen_*` function, entered at its symbol, runs only in a Xen PV guest
    (Xen's entry stubs are registered as hypercall callbacks by the Xen setup
    code).  What must be shown from the image is that the branch is part of
    such a function as entered there.  Without ELF sizes (kallsyms, any
    System.map) the bytes from a symbol to the next one also hold padding,
    out-of-line code of other functions (.fixup, cold tails) and unnamed
    labels; and even with a size a function may be entered in its middle.
    So:
    1. the branch must be an instruction of xen_pv_extent(): reached from
       the symbol start by the function's own direct control flow, not past
       the next symbol (a label there is other code), nor past the ELF size
       when there is one.  Every such instruction runs after the function was
       entered at its start, whatever else may reach it.  Bytes after a
       `ret`/`jmp`, or after a trap, are not on it (fixture
       adv_xen_after_ret); nor is a label the walk would fall into
       (adv_xen_gap_label);
    2. nothing else enters those instructions: no direct jmp/jcc/call (byte
       scan of every executable section, alternative replacements included,
       and every jump label's taken target) from outside the extent, and no
       exception-table fixup, targets any of them but the start
       (adv_xen_mid_entry: ret_from_fork jumping to a label inside a sized
       xen_* function).  So the instructions from the start up to the branch
       run only after an entry at the start.  Indirect branches into the
       middle stay under assumption sysret-path-direct-entries, as for the
       exit path itself; running into the start from the bytes before it
       is looked for in 3.
    A fall-through after a call that does not return would put the bytes
    after it in the extent; they are entered only by what 2 looks for.
    3. nothing enters the start but the extent's own branches: no direct
       branch, jump label or fixup from elsewhere, and no code before it
       runs on into it (falls_into; a way in whose source lies inside an
       instruction of every decode around it is no instruction,
       _inside_an_instruction: Debian's 6.1 generic and 6.12 have such,
       immediates read as branch patterns) -- native code entering an
       `xen_*` function runs it outside Xen PV, whatever its name
       (adv_r127_native_jmp_xen_start, adv_r128_native_falls_into_xen).
    Every rule here can only leave a branch a second entry (inconclusive),
    never add one."""
    names = prog.symbols.symbolize(src).split("+")
    start = src - (int(names[1], 16) if len(names) > 1 else 0)
    if names[0].startswith("0x"):
        return False
    ext = xen_pv_extent(prog, start)
    if not ext or src not in ext:
        return False
    ins = ext[src]
    if ins.target != tgt or ins.kind not in ("jmp", "jcc", "call", "tail"):
        return False
    # 2: any branch into the span of the extent (an instruction of it, or a
    # byte inside one: code decoded from there could run into the branch)
    # from anything but the extent's own branch to that instruction
    # ... and 3: no branch from elsewhere enters the start either (a native
    # `jmp xen_entry_stub`: ret_from_fork jumping to a stub's first byte,
    # adv_r127_native_jmp_xen_start, is no Xen PV entry; Xen's own entries
    # are registered by address, never branched to)
    last = max(ext)
    lo, hi = start, last + ext[last].size

    for s, t in candidates(prog, lo, hi) + list(_jump_label_branches(prog, lo, hi)):
        if s not in ext or ext[s].target != t:
            return False
    # ... nor does code before it run on into it (adv_r128_native_falls_into_xen:
    # ret_from_fork without its final jump): every way falls_into finds,
    # but a byte pattern inside another instruction's bytes (Debian's 6.1
    # generic and 6.12 have such, from immediates), which runs only when
    # control enters the middle of an instruction (assumption
    # instruction-boundaries)
    for way, _lo in falls_into(prog, start):
        if not _inside_an_instruction(prog, way):
            return False
    return not any(lo <= f < hi for f in tables(prog.image).extable_fixup_targets)


def _inside_an_instruction(prog, a: int) -> bool:
    """Whether a lies inside an instruction of every decode control can make
    around it, so that a byte pattern there never runs: a is no symbol
    start, no table's instruction (a jump label's site, an exception-table
    entry), no patch site's bytes come within 15 bytes of it (a choice there
    decodes otherwise: adv_r129_altrepl_jmp_falls_into_xen,
    adv_r130_longalt_falls_into_xen), and a is an instruction start of none
    of the decodes from every symbol start in falls_into's window before it
    (adv_r131_overlap_sym_falls_into_xen), from every branch pattern, jump
    label and exception fixup into that range, and from every direct branch
    those decodes take there (adv_r129_midinsn_jmp_falls_into_xen: `jmp 1f`
    over a `b8` byte; adv_r130_fixup_jmp_falls_into_xen), while the decode
    from the start of the symbol holding it covers it with an instruction.
    Anything else is not shown to be inside one."""
    if prog.start_name(a) is not None or a in prog.sites or a in tables(prog.image).extable_entries:
        return False
    longest = prog.__dict__.get("_longest_site")
    if longest is None:
        longest = prog.__dict__["_longest_site"] = max(
            (e - b for b, e in zip(prog._site_starts, prog._site_ends)), default=0)
    i = bisect.bisect_right(prog._site_starts, a + 15) - 1
    while i >= 0 and prog._site_starts[i] > a - 15 - longest:
        if prog._site_ends[i] > a - 15:
            return False  # (any site whose bytes reach within 15 of a: adv_r130_longalt_falls_into_xen)
        i -= 1
    s0 = prog.symbols.symbol_start(a)
    if s0 is None or not 0 < a - s0 <= 1 << 16:
        return False
    # the decodes start as far back as falls_into's window (and at the
    # symbol before it): a decode from an earlier symbol may cross s0 and
    # start an instruction at a (adv_r131_overlap_sym_falls_into_xen)
    lo = min(s0, max(0, a - FALL_WINDOW))
    lo = prog.symbols.symbol_start(lo) or lo
    if a - lo > 1 << 17:
        return False
    try:
        data = prog.fetch_raw(lo, a - lo + 16)
    except CfgError:
        return False
    md = _md()
    starts: set = set()
    covered = False
    # (the seeds falls_into and assumption instruction-boundaries count:
    # every symbol start, branch patterns, jump labels, exception fixups,
    # adv_r130_fixup_jmp_falls_into_xen)
    work = [lo, s0, *prog.symbols.addresses_in(lo, a + 1)] + [t for _s, t in candidates(prog, lo, a + 1)] + \
        [t for _s, t in _jump_label_branches(prog, lo, a + 1)] + \
        [f for f in tables(prog.image).extable_fixup_targets if lo <= f <= a]
    seen: set = set()
    while work:
        x = work.pop()
        if x in seen or not lo <= x <= a:
            continue
        seen.add(x)
        for at, size, m, ops in lite_decode(md, data[x - lo:], x):
            if at == a:
                return False
            if x == s0 and at < a < at + size:
                covered = True
            if at > a or (at in starts and x != s0):
                break  # (past a, or the same decode from here on)
            starts.add(at)
            if ops.startswith("0x") and _direct_branch_mnemonic(m):
                t = int(ops, 16)
                if lo <= t <= a:
                    work.append(t)
    return covered


def _direct_branch_mnemonic(m: str) -> bool:
    m = m.split(" ")[-1]
    return m in ("call", "jmp", "xbegin") or m.startswith(("j", "loop"))


def search(prog, vs, width_of=None) -> dict:
    """The image-only half of rounds._second_entries: per SYSRET kind
    searched, (the jumps into the exit path found or None, why the search
    failed, the xen ones, {(variant, target): (SYSRETs the target's static
    walk reaches, whether it stopped at an IRET, `ret` or indirect call,
    the callees it took to return home) or None}, the int3 fall-throughs
    into an entry left out: sysret_reaching's `trapped`)."""
    mine_l = {s for s, w in (width_of or {}).items() if w == "sysretl"}
    out = {}
    for kinds in (("sysret",), ("sysretl",)) if mine_l else (("sysret",),):
        why = None
        trapped: list = []
        try:
            found = second_entries(prog, prog.cfg(prog.entry.syscall_entry), kinds=kinds, trapped=trapped)
        except CfgError as e:
            found, why = None, str(e)
        xen = {(s, t) for s, t in found or () if is_xen_pv_entry(prog, s, t)}
        reach = {}
        for v in vs:
            for src, tgt in found or ():
                # (with the IRETs, `ret`s and indirect calls the walk
                # stopped at and the callees it took to return: the caller
                # takes the target to reach every site unless none may go
                # on elsewhere, adv_r115_la57_entry2_reach_call, _pushret)
                irets, calls = set(), set()
                try:
                    sites = static_sysret_sites(prog, tgt, v["fixed"], kinds=kinds, irets=irets, calls=calls)
                    reach[(v["name"], tgt)] = (sites, stops_beyond_iret(prog, irets), sorted(calls))
                except CfgError:
                    reach[(v["name"], tgt)] = None
        out[kinds] = (found, why, xen, reach, sorted(set(trapped)))
    return out


def stops_beyond_iret(prog, stops) -> bool:
    """Whether a static walk's stops (cfg.static_sysret_sites' `irets`)
    hold a `ret` it did not follow or an indirect call (a CALL_NOSPEC thunk
    call too), which may go on anywhere: the reach of a second entry is then
    every site.  An IRET is not counted: where it goes is its frame's, the
    interrupted context's for every handler's return (6.12 asm_exc_nmi's
    three), and a second entry's code building a frame that IRETs into the
    exit path is the known gap of this rule (as before it)."""
    for a in stops:
        try:
            ins = decode(a, prog.fetch(a, 16))
        except CfgError:
            return True
        if ins is None or ins.kind != "iret":
            return True
    return False


def sysret_scan(prog) -> list:
    """image.entry.sysret_instructions: part of the end of a check that reads
    only the image, run in the TS_COMPAT process or taken back
    (rounds._work_ahead); plain values, so it crosses the pipe as it is."""
    return sysret_instructions(prog.image)


def second_entry_search(prog, vs, width_of) -> dict:
    """search(...): the other part of that work (rounds._work_ahead)."""
    return search(prog, vs, width_of)
