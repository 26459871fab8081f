"""summary.StackWalk on tests/fixtures/summary_stack_shapes.S: the stack
shapes of real mitigation code a callee summary must read exactly (RSB
stuffing, clear_bhb_loop, srso_untrain_ret's return from its caller), and
one function per way of leaving the callee's own frame, which must make the
summary frame-unsafe (the explorer then runs the callee or gives up).  Were
a refusal rule unsound, its shape here would come out frame-safe; were a
read-exactly rule too weak, the real kernels (tests/test_real_kernels.py)
and this fixture's proof (tests/test_fixtures.py) would turn inconclusive."""
from __future__ import annotations

import pytest

from fixtures import fixture_kernels  # noqa: F401 (pytest fixture)


@pytest.fixture(scope="module")
def summary_of(fixture_kernels):  # noqa: F811
    from verify.image import KernelImage
    from verify.prove.program import Program
    from verify.prove.summary import Summaries

    prog = Program(KernelImage.open(fixture_kernels("summary_stack_shapes"), None))
    summ = Summaries(prog)

    def get(name):
        a = prog.symbols.get(name)
        assert a is not None, name
        return summ.writes_of(a, name)
    return get


@pytest.mark.parametrize("name", ["rsb_fill", "bhb_loop", "untrain_ret", "exit_helper", "shape_rsb_in_frame",
                                  "shape_cpuid_saved", "shape_frame_r12", "shape_mov_saved", "shape_fixup_rbx_saved"])
def test_real_stack_shapes_are_read_exactly(summary_of, name):
    s = summary_of(name)
    assert s.frame_unsafe == "", s.frame_unsafe


def test_exit_helper_summary_still_sees_its_own_store(summary_of):
    # (the frame-pointer spill of exit_helper is a store through RBP: "any",
    # as every store through a register; RSB stuffing and the loops add none)
    assert summary_of("rsb_fill").writes == "some" and summary_of("bhb_loop").writes == "some"


@pytest.mark.parametrize("name, why", [
    ("skip_caller_ret", "+0x8"),                  # summarised alone: it returns from its caller
    ("shape_push_ret", "-0x8"),                   # `pushq $x; ret`
    ("shape_stack_arg", "at or above its return address"),
    ("shape_store_above", "at or above its return address"),
    ("shape_store_above_rbp", "at or above its return address"),
    ("shape_skip_caller_pushed", "-0x8"),         # the caller had pushed: not its return address
    ("shape_returns_twice", "+0x8"),              # a tail jump into it: the start returns from its caller
    ("shape_unknown_rsp", "unknown"),
    ("shape_push_loop", "RSP"),
    ("shape_nested_above", "at or above its return address"),
    ("shape_cpuid_rbx", "RBX"),                   # adv_r15_cpuid_rbx's helper
    ("shape_pops_swapped", "R12, RBX"),
    ("shape_restore_below_rsp", "RBX"),           # the slot was below RSP across a call
    ("shape_restore_after_drop", "RBX"),          # ... below RSP for a while: an interrupt frame may be there
    ("shape_fixup_rbx", "RBX"),                   # the fault path's handler writes RBX (adv_r25_immreg_callee_saved)
    ("shape_fixup_unmodelled", "RBX"),            # a handler not modelled: every register may change
])
def test_frame_leaving_shapes_are_refused(summary_of, name, why):
    s = summary_of(name)
    assert s.frame_unsafe and why in s.frame_unsafe, (name, s.frame_unsafe)


def test_a_local_call_that_returns_reads_its_fall_through(summary_of):
    # the store after `call 1f` runs once 1f returns: the summary sees it
    s = summary_of("shape_local_call_returns")
    assert s.frame_unsafe == "" and s.writes == "any"


def test_code_after_a_call_whose_callee_jumps_through_a_pointer_is_read(summary_of):
    # the unknown target returns for the callee: the store after the call
    # runs and the summary must see it
    s = summary_of("shape_after_indirect_tail")
    assert s.writes == "any" and "shape_after_indirect_tail" in s.why, s.why


def test_a_bit_string_store_with_a_register_offset_writes_anything(summary_of):
    s = summary_of("shape_bts_register_offset")
    assert s.writes == "any" and "bit-string" in s.why, (s.writes, s.why)
