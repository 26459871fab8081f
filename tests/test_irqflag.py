"""The IF summary (verify/prove/irqflag.py) on out-parameters: flags saved
through a pointer to the caller's frame (6.1 `lock_timer_base(timer,
&flags)`), on the functions of tests/fixtures/irqflag_out_params.S.

irqs-off is not decided yet (docs/CATALOGUE.md#irqs-off), so no check
reads these summaries; this pins the analysis itself: the followed shape
gives the flags back to the caller, and every way the pointer leaks leaves
the caller's IF unknown (never a guess)."""
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

    def effect(name):
        a = prog.symbols.get(name)
        assert a is not None, name
        eff, assumed = summ.if_effect(a, name)
        # the summary a caller handing a frame address in RSI reads
        return eff, assumed, summ._irq.summary(a, 0, frozenset({"rsi"})), prog
    return effect


def test_lock_irqsave_and_irqrestore(irq):
    assert irq("irq_lock_irqsave")[0] == {0}
    assert irq("irq_lock_irqsave")[2][1] == {"E"}  # RAX: the flags at entry
    assert irq("irq_unlock_irqrestore")[0] == {"E", "rsi"}


def test_out_parameter_summary(irq):
    eff, _assumed, summary, _prog = irq("irq_lock_base")
    assert eff == {0}
    # *flags = the IF lock_base was entered with
    assert summary[3]["rsi"] == {(0, frozenset({"E"}))}
    assert "rsi" not in summary[2]  # the callee-saved copy, not a write of RSI


def test_caller_gets_the_flags_back(irq):
    eff, assumed, _s, prog = irq("irq_mod_timer")
    # lock (IF 0), restore the saved flags: IF as at entry (or 0)
    assert eff == {0, "E"}
    assert any(isinstance(a, tuple) and a[0] == "callee-saved-not-read"
               and prog.symbolize(a[1]).startswith("irq_mod_timer+") for a in assumed)


@pytest.mark.parametrize("name", ["irq_mod_timer_global", "irq_mod_timer_pushed", "irq_mod_timer_maybe",
                                  "irq_mod_timer_stored"])
def test_leaked_or_partial_out_parameter_is_unknown(irq, name):
    assert irq(name)[0] is None


def test_may_store_is_a_weak_update(irq):
    summary = irq("irq_lock_base_maybe")[2]
    assert summary[3]["rsi"] == {(0, frozenset({"E", ("*", "rsi", 0)}))}


def test_callee_save_thunk_hands_registers_back(irq):
    assert "rsi" not in irq("irq_save_thunk")[2][2]
    assert "rsi" in irq("irq_pop_other")[2][2]
    # RSI survives the thunk, so the irqrestore test refines on it
    assert irq("irq_test_thunk")[0] == {"rsi"}
