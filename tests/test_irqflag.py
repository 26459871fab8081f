"""The IF summary (verify/prove/irqflag.py) on out-parameters: flags saved
through a pointer to the caller's frame (6.1 `lock_timer_base(timer,
&flags)`), on the functions of tests/fixtures/irqflag_out_params.S.

irqs-off reads these summaries at every summarised call that may change
IF (docs/CATALOGUE.md#irqs-off); this pins the analysis itself: the followed shape
gives the flags back to the caller, and every way the pointer leaks leaves
the caller's IF unknown (never a guess).  Each further rule of irqflag.py
has a shape it decides and one that must stay unknown (or keep IF=1
possible): the test that would fail were the rule unsound."""
from __future__ import annotations

import pytest

from fixtures import fixture_kernels  # noqa: F401 (pytest fixture)


@pytest.fixture(scope="module")
def irq(fixture_kernels):  # noqa: F811
    from verify.image import KernelImage
    from verify.prove.program import Program
    from verify.prove.summary import Summaries

    prog = Program(KernelImage.open(fixture_kernels("irqflag_out_params"), None))
    summ = Summaries(prog)

    def effect(name, ctx="E"):
        """(IF at return or None, assumptions, the summary a caller handing
        a frame address in RSI reads, program), entered in context ctx
        ("E": IF unknown, 0: IF clear)."""
        a = prog.symbols.get(name)
        assert a is not None, name
        summ.if_effect(a, name)  # (creates the analysis)
        eff, assumed = summ._irq.effect(a, ctx)
        return eff, assumed, summ._irq.summary(a, 0, frozenset({"rsi"}), ctx), prog
    return effect


def test_lock_irqsave_and_irqrestore(irq):
    assert irq("irq_lock_irqsave")[0] == {0}
    assert irq("irq_lock_irqsave")[2][1] == {"E"}  # RAX: the flags at entry
    assert irq("irq_unlock_irqrestore")[0] == {"E", "rsi"}


def test_out_parameter_summary(irq):
    # (in context E the call to irq_lock_irqsave, made while IF may be 1,
    # is read in context "E" within E_CAP: its `cli` decides IF)
    assert irq("irq_lock_base")[0] == {0}
    eff, _assumed, summary, _prog = irq("irq_lock_base", 0)
    assert eff == {0}
    # *flags = the IF lock_base was entered with
    assert summary[3]["rsi"] == {(0, frozenset({0}))}
    assert "rsi" not in summary[2]  # the callee-saved copy, not a write of RSI


def test_caller_gets_the_flags_back(irq):
    eff, assumed, _s, prog = irq("irq_mod_timer", 0)
    # lock (IF 0), restore the saved flags: IF as at entry
    assert eff == {0}
    assert any(isinstance(a, tuple) and a[0] == "callee-saved-not-read"
               and prog.symbolize(a[1]).startswith("irq_mod_timer+") for a in assumed)


@pytest.mark.parametrize("name", ["irq_mod_timer_global", "irq_mod_timer_pushed", "irq_mod_timer_maybe",
                                  "irq_mod_timer_stored"])
def test_leaked_or_partial_out_parameter_is_unknown(irq, name):
    assert irq(name, 0)[0] is None


def test_may_store_is_a_weak_update(irq):
    summary = irq("irq_lock_base_maybe", 0)[2]
    assert summary[3]["rsi"] == {(0, frozenset({0, ("*", "rsi", 0)}))}


def test_callee_save_thunk_hands_registers_back(irq):
    assert "rsi" not in irq("irq_save_thunk", 0)[2][2]
    assert "rsi" in irq("irq_pop_other")[2][2]
    # RSI survives the thunk, so the irqrestore test refines on it
    assert irq("irq_test_thunk", 0)[0] == {"rsi"}


# -- entry context and the IF-clean pre-scan ------------------------------------------


def test_call_while_if_may_be_set_is_not_read(irq):
    # context E: the callee (sti), read in context "E" within E_CAP
    # (_read_capped_e): its sti seen
    assert irq("irq_ctx_unknown_call")[0] == {1}
    # context 0: read, and its sti seen
    assert irq("irq_ctx_unknown_call", 0)[0] == {1}
    # a `cli` after it decides IF whatever the callee did
    assert irq("irq_ctx_cli_after")[0] == {0}


def test_if_clean_callee_keeps_if(irq):
    assert irq("irq_ctx_clean")[0] == {"E"}
    # an sti two calls down: not clean (were it, IF would be "E": unsound);
    # the capped context-"E" readings see it
    eff = irq("irq_ctx_deep")[0]
    assert eff is None or 1 in eff


# -- conditional atoms ----------------------------------------------------------------


def test_conditional_atom_of_restored_flags(irq):
    eff = irq("irq_restore_then_call", 0)[0]
    # the callee read in context 0 holds only when bit 9 of flags is 0
    assert eff is not None and ("?", "rsi") in eff
    # flags saved with IF clear: the condition holds
    assert irq("irq_cond_saved", 0)[0] == {0}
    # flags with IF set: nothing is known after the call (not {0}, not {1})
    assert irq("irq_cond_set", 0)[0] is None


# -- flow-sensitive frame escape ------------------------------------------------------


def test_slot_read_before_the_leak_is_exact(irq):
    assert irq("irq_read_then_leak")[0] == {"E"}
    # read after the frame's address leaked: unknown (another CPU may write it)
    eff = irq("irq_leak_then_read")[0]
    assert eff is None or 1 in eff


# -- bit-9 tests ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["irq_and_test", "irq_and_bh", "irq_test_mem"])
def test_bit9_tests_refine(irq, name):
    assert irq(name)[0] == {"E"}


def test_bit9_register_overwritten_does_not_refine(irq):
    eff = irq("irq_and_clobbered")[0]
    assert eff is not None and 1 in eff


# -- pointers at unknown offsets, spills, returned pointers ----------------------------


def test_pointer_arithmetic(irq):
    # a store through a frame address at a known other offset: flags kept
    assert irq("irq_ptr_exact")[0] == {"E"}
    # at an unknown offset (it overwrites the flags with IF set): IF may be 1
    for name in ("irq_ptr_arith_overwrite", "irq_callee_store_any", "irq_ret_then_store"):
        eff = irq(name)[0]
        assert eff is None or 1 in eff, name
    # a derived address stored to memory leaks
    eff = irq("irq_ptr_arith_stored")[0]
    assert eff is None or 1 in eff


def test_returned_pointer_does_not_escape(irq):
    assert irq("irq_ret_then_call")[0] == {"E"}


def test_spilled_pointer(irq):
    assert irq("irq_spill_reload", 0)[0] == {0}
    # the callee loads the spilled &flags and stores IF set through it
    eff = irq("irq_spill_read_by_callee", 0)[0]
    assert eff is None or 1 in eff


def test_rax_pointer_handed_to_callee(irq):
    # a callee that does not touch RAX's pointer: the frame stays private
    assert irq("irq_rax_kept", 0)[0] == {0}
    eff = irq("irq_rax_stored", 0)[0]
    assert eff is None or 1 in eff


def test_pointer_left_in_another_register_leaks(irq):
    # the caller stores IF set through the RDX the callee left &flags in
    eff = irq("irq_moved_ptr_caller", 0)[0]
    assert eff is None or 1 in eff


# -- paravirt callee-save calls (6.12 PVUNLOCK) -----------------------------------------


def test_pv_callee_save_call_keeps_registers(irq):
    # call *pv_ops.lock.queued_spin_unlock (a struct paravirt_callee_save
    # slot by BTF): RSI, the flags, survives it, so the irqrestore test refines
    eff, assumed, _s, prog = irq("irq_pv_unlock_restore")
    assert eff == {"E", "rsi"}
    assert any(isinstance(a, tuple) and a[0] == "pv-callee-save"
               and prog.symbolize(a[1]) == "irq_pv_unlock_restore" for a in assumed)
    # an ordinary pv_ops function pointer may write RSI: IF may be 1 whatever
    eff = irq("irq_pv_plain_restore", 0)[0]
    assert eff is None or 1 in eff


# -- cmp $0 of a bit-9 word; the jcc of the flag a test sets -------------------------------


@pytest.mark.parametrize("name", ["irq_cmp_slot", "irq_cmp_reg"])
def test_cmp_zero_of_bit9_word_refines(irq, name):
    assert irq(name)[0] == {"E"}


@pytest.mark.parametrize("name", ["irq_cmp_full", "irq_cmp_restored", "irq_cmp_jae", "irq_test_jae"])
def test_cmp_or_jcc_that_does_not_test_bit9(irq, name):
    # the word has other bits, or the branch does not depend on bit 9
    # (jae after cmp/test: CF is 0): the sti may run with IF as it was
    eff = irq(name)[0]
    assert eff is not None and 1 in eff, (name, eff)


# -- out-parameter stores split by the returned AL (6.1 prb_reserve) -----------------------


def test_out_parameters_split_by_returned_al(irq):
    # e.irqflags is stored on every path returning AL != 0, and restored
    # only there: IF stays 0
    assert irq("irq_reserve_caller", 0)[0] == {0}


@pytest.mark.parametrize("name", ["irq_reserve_caller_inverted", "irq_reserve_stale_caller"])
def test_out_parameter_split_not_taken_wrongly(irq, name):
    # restored where AL is 0 (e untouched on a path), or AL from a `sete`
    # whose flags a later compare replaced: IF may be 1
    eff = irq(name, 0)[0]
    assert eff is None or 1 in eff, (name, eff)


def test_value_classes_decide_branches(irq):
    assert irq("irq_bv_zero", 0)[0] == {0}
    # a 32-bit test of a register whose low byte only is known 0: not decided
    eff = irq("irq_bv_bz_wide", 0)[0]
    assert eff is not None and 1 in eff


def test_pointer_left_in_another_register_is_followed(irq):
    # (irq_moved_ptr_caller above: a store through that RDX is seen)
    assert irq("irq_moved_ptr_kept")[0] == {"E"}


# -- assumption irqrestore-pairs (context "A") --------------------------------------
def test_lost_word_restore_under_irqrestore_pairs(irq):
    eff, assumed, _s, prog = irq("irq_a_call_region")
    assert eff == {0}
    site = prog.symbols.get("irq_a_call_region") + 1  # the call after `cli`
    assert ("irqrestore-pairs", site) in assumed
    # without the assumption (context 0 read directly): IF may be set
    eff0 = irq("irq_a_region", 0)[0]
    assert eff0 is None or 1 in eff0


def test_region_with_a_save_of_if_set_is_refused(irq):
    eff, assumed, _s, _p = irq("irq_a_call_region_bad")
    assert eff is None or 1 in eff
    assert not any(isinstance(a, tuple) and a[0] == "irqrestore-pairs" for a in assumed)


def test_known_word_forgotten_is_not_lost(irq):
    eff = irq("irq_a_call_forget_known")[0]
    assert eff is None or 1 in eff
    assert irq("irq_a_call_forget_zero")[0] == {0}


@pytest.fixture()
def irq_capped(fixture_kernels, monkeypatch):  # noqa: F811
    """A fresh analysis where no callee inside a region is summarised
    (A_CAP 0) and the irqs-off-callees rule is off: every one goes to the
    _quiet pre-scan."""
    from verify.image import KernelImage
    from verify.prove import irqflag
    from verify.prove.program import Program
    from verify.prove.summary import Summaries

    monkeypatch.setattr(irqflag, "A_CAP", 0)
    monkeypatch.setattr(irqflag, "OFF_CAPS", None)  # (irqs-off-callees off: _quiet's own tests)
    prog = Program(KernelImage.open(fixture_kernels("irqflag_out_params"), None))
    summ = Summaries(prog)

    def effect(name):
        a = prog.symbols.get(name)
        summ.if_effect(a, name)
        return summ._irq.effect(a, "E")[0]
    return effect


def test_quiet_prescan(irq_capped):
    # the restore idiom's `sti` in a capped callee: _quiet tracks no words,
    # so since review 135 it refuses every `sti` (a computed word handed
    # to the idiom was taken for one lost through memory): IF unknown
    for name in ("irq_q_call_idiom", "irq_q_call_plain", "irq_q_call_shared"):
        eff = irq_capped(name)
        assert eff is None or 1 in eff, name


# -- assumption no-sleep-irqs-off -----------------------------------------------------
def test_scheduler_entry_with_if_clear_is_dropped(irq):
    eff, assumed, _s, prog = irq("irq_s_off")
    assert eff == {0}
    site = prog.symbols.get("irq_s_off") + 1 + 3 + 2  # cli; test %rdi,%rdi; je
    assert ("no-sleep-irqs-off", site) in assumed
    # IF set at the call: not assumed, unknown
    eff, assumed, _s, _p = irq("irq_s_on")
    assert eff is None or 1 in eff
    assert not any(isinstance(a, tuple) and a[0] == "no-sleep-irqs-off" for a in assumed)
    # IF 0 only when RSI's bit 9 is: the conditional atom, never a plain 0
    eff, assumed, _s, _p = irq("irq_s_cond", 0)
    assert eff == {("?", "rsi")}
    assert any(isinstance(a, tuple) and a[0] == "no-sleep-irqs-off" for a in assumed)


def test_quiet_prescan_sleep_and_sync_core(irq_capped):
    for name in ("irq_q_call_sleep", "irq_q_call_sync"):
        eff = irq_capped(name)
        assert eff is not None and 0 in eff and all(x == 0 or (isinstance(x, tuple) and x[0] == "?") for x in eff), name
    eff = irq_capped("irq_q_call_sync_bad")
    assert eff is None or 1 in eff


# -- assumption no-warn -----------------------------------------------------------------
def _warn_sites(assumed):
    return {a[1] for a in assumed if isinstance(a, tuple) and a[0] == "no-warn"}


def test_warn_reporter_with_if_clear_is_dropped(irq):
    eff, assumed, _s, prog = irq("irq_w_off")
    assert eff == {0}
    site = prog.symbols.get("irq_w_off") + 1 + 3 + 2  # cli; test %rdi,%rdi; je
    assert _warn_sites(assumed) == {site}
    # IF set at the call: not assumed, unknown
    eff, assumed, _s, _p = irq("irq_w_on")
    assert eff is None or 1 in eff
    assert not _warn_sites(assumed)
    # IF 0 only when RSI's bit 9 is: the conditional atom, never a plain 0
    eff, assumed, _s, _p = irq("irq_w_cond", 0)
    assert eff == {("?", "rsi")}
    assert _warn_sites(assumed)


def test_warn_ud2_with_if_clear_ends_the_path(irq):
    eff, assumed, _s, prog = irq("irq_w_ud2_off")
    assert eff == {0}
    assert _warn_sites(assumed) == {prog.symbols.get("irq_w_ud2_off") + 1 + 3 + 2}
    # reached with IF set: it resumes (the `jmp` after it keeps IF 1)
    eff, assumed, _s, _p = irq("irq_w_ud2_on")
    assert eff is not None and 1 in eff
    assert not _warn_sites(assumed)
    # a BUG ud2 dies as before (not under the assumption); a WARN reached
    # with IF 0 only under RSI's bit 9 resumes into its `sti`
    eff, assumed, _s, _p = irq("irq_w_ud2_bug")
    assert eff is None or 1 in eff
    assert not _warn_sites(assumed)


def test_other_printing_call_is_read(irq):
    eff, assumed, _s, _p = irq("irq_w_other")
    assert eff is None or 1 in eff
    assert not _warn_sites(assumed)


def test_quiet_prescan_warn(irq_capped):
    for name in ("irq_q_call_warn", "irq_q_call_warn_tail"):
        eff = irq_capped(name)
        assert eff is not None and 0 in eff and all(x == 0 or (isinstance(x, tuple) and x[0] == "?") for x in eff), name
    eff = irq_capped("irq_q_call_other")
    assert eff is None or 1 in eff


# -- assumption irqs-off-callees ------------------------------------------------------
def _off_sites(assumed):
    return {a[1] for a in assumed if isinstance(a, tuple) and a[0] == "irqs-off-callees"}


def _call_site(prog, caller, callee):
    """The address of caller's `call callee` (A_CALL: `cli` (1 byte), then the call)."""
    a = prog.symbols.get(caller) + 1
    assert prog.fetch(a, 1) == b"\xe8" and a + 5 + int.from_bytes(prog.fetch(a + 1, 4), "little", signed=True) \
        == prog.symbols.get(callee), (caller, callee)
    return a


def test_off_callee_sti_is_read(irq):
    eff, assumed, _s, _p = irq("irq_o_sti")
    assert eff == {1}
    assert not _off_sites(assumed)


def test_off_callee_too_large_is_assumed(irq):
    eff, assumed, _s, prog = irq("irq_o_big")
    assert eff == {0}
    assert _off_sites(assumed) == {_call_site(prog, "irq_o_big", "irq_o_big_body")}


def test_off_callee_past_an_assumed_call_is_read(irq):
    # the helper's own `sti` after the call that ran out of its cap
    eff, _assumed, _s, _p = irq("irq_o_big_then_sti")
    assert eff is not None and 1 in eff


def test_off_callee_third_level_is_assumed(irq):
    eff, assumed, _s, prog = irq("irq_o_deep")
    assert eff == {0}
    assert _off_sites(assumed) == {_call_site(prog, "irq_o_deep2", "irq_o_deep3")}


def test_off_callee_unknown_is_not_assumed(irq):
    # a reading that finishes with IF unknown (an IRET it cannot follow)
    eff, assumed, _s, _p = irq("irq_o_iret_self")
    assert eff is None or 1 in eff
    assert not _off_sites(assumed)


def test_capped_e_reading_runs_out_unknown(fixture_kernels, monkeypatch):  # noqa: F811
    """A call made while IF may be 1 whose context-"E" reading runs out of
    E_CAP stays unknown (never assumed): irq_ctx_unknown_call's callee with
    no instruction allowed (a fresh analysis: the module's memoises it)."""
    from verify.image import KernelImage
    from verify.prove import irqflag
    from verify.prove.program import Program
    from verify.prove.summary import Summaries

    monkeypatch.setattr(irqflag, "E_CAP", 0)
    prog = Program(KernelImage.open(fixture_kernels("irqflag_out_params"), None))
    summ = Summaries(prog)
    a = prog.symbols.get("irq_ctx_unknown_call")
    eff, assumed, off = summ.if_effect(a, "irq_ctx_unknown_call")
    assert eff is None and not off
    assert not _off_sites(assumed)


def test_summary_left_by_an_exception_memoises_nothing(fixture_kernels):  # noqa: F811
    """An exception out of IrqFlagEffects.summary (the round's SIGALRM,
    rounds._time_limit, stops any line) drops every summary memoised since
    it began (review 194): those of a recursion may rest on a provisional
    result not yet stable, and the IF analysis is shared by the compat
    entries' explorations, which run after a 64-bit round that timed out.
    Asked again, the summary is what a fresh analysis gives."""
    from verify.image import KernelImage
    from verify.prove.irqflag import IrqFlagEffects
    from verify.prove.program import Program
    from verify.prove.summary import _GPR64, _md

    prog = Program(KernelImage.open(fixture_kernels("irqflag_out_params"), None))
    outer = prog.symbols.get("irq_mod_timer")
    irq = IrqFlagEffects(prog, _md, _GPR64)
    real = irq._analyse_once

    def stopped(start, *args):
        r = real(start, *args)
        if start == outer:
            assert irq.log, "irq_mod_timer's callees were summarised first"
            raise TimeoutError("the round's alarm")
        return r

    irq._analyse_once = stopped
    with pytest.raises(TimeoutError):
        irq.effect(outer, 0)
    assert irq.log == [] and not irq.active
    assert irq.memo == {}  # (the callees' summaries, side entries included, went too)
    irq._analyse_once = real
    fresh = IrqFlagEffects(prog, _md, _GPR64)
    assert irq.effect(outer, 0) == fresh.effect(outer, 0)
