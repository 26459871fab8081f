"""Unit tests for engine pieces whose failure would be silent: each names the
library behaviour it guards against."""
import claripy

from fixtures import fixture_kernels  # noqa: F401 (pytest fixture)
from verify import machine


def test_interval_hull_is_sound_on_random_inputs():
    """explore._interval (used to bound an address before the solver) must
    contain every value the term takes: checked on random inputs for each
    operation it folds, including the PCID byte offset of a bit-string op."""
    import random

    import claripy

    from verify.prove.explore import _interval

    x, y, f = claripy.BVS("x", 64), claripy.BVS("y", 32), claripy.BoolS("f")
    cases = [
        0xFFFF8881000350D6 + (((claripy.If(f, x, x | 0x8000000000000000) & 0xFFFFFFFFFFFFE7FF) & 0x7FF) >> 3),
        claripy.ZeroExt(32, y) + 5, claripy.Concat(claripy.BVV(1, 8), y[7:0]), claripy.ZeroExt(32, y) << 3,
        claripy.Extract(15, 4, claripy.ZeroExt(32, y) & 0xFFF0), claripy.ZeroExt(32, y) | 0x100,
        claripy.BVV(0x100, 64) - claripy.ZeroExt(56, y[7:0]), claripy.LShR(y, 4),
        claripy.If(f, claripy.BVV(0x10, 64), claripy.ZeroExt(32, y) & 0xF),
    ]
    rng = random.Random(7)
    bounded = 0
    for t in cases:
        iv = _interval(t)
        if iv is None:
            continue
        bounded += 1
        for _ in range(60):
            s = claripy.Solver()
            s.add(x == rng.getrandbits(64))
            s.add(y == rng.getrandbits(32))
            s.add(f if rng.random() < 0.5 else claripy.Not(f))
            val = s.eval(t, 1)[0]
            assert iv[0] <= val <= iv[1], (t, iv, val)
    assert bounded == len(cases)
    assert _interval(cases[0])[1] - _interval(cases[0])[0] == 255


def test_second_entry_scan_finds_every_direct_branch_into_the_region(monkeypatch):
    """entries._candidates (the numpy scan of every offset) against a
    brute-force decode of every offset, on random code with planted
    jmp/call/jcc into a region both before and after it (negative and
    positive rel32): exactly the same rel32 branches."""
    import random
    import struct
    from types import SimpleNamespace

    from verify.prove import entries

    rng = random.Random(3)
    chunk = 1 << 16
    base, size = 0xFFFFFFFF81000000, 5 * chunk + 123
    data = bytearray(rng.getrandbits(8) for _ in range(size))
    lo, hi = base + 3 * chunk + 500, base + 3 * chunk + 900
    for _ in range(60):
        src = rng.randrange(0, size - 8)
        tgt = rng.randrange(lo, hi)
        op = rng.choice([b"\xe8", b"\xe9", b"\x0f\x84", b"\x0f\x8f"])
        data[src:src + len(op) + 4] = op + struct.pack("<i", tgt - (base + src + len(op) + 4))
    data = bytes(data)
    sec = SimpleNamespace(name=".text", addr=base, size=size, flags=0x6, has_bits=True)
    elf = SimpleNamespace(sections=[sec], section_bytes=lambda name: data)
    want = set()
    for i in range(size - 5):
        for k, ok in ((1, data[i] in (0xE8, 0xE9)), (2, data[i] == 0x0F and 0x80 <= data[i + 1] <= 0x8F)):
            if ok and i + k + 4 <= size:
                t = (base + i + k + 4 + struct.unpack_from("<i", data, i + k)[0]) & (2 ** 64 - 1)
                if lo <= t < hi:
                    want.add((base + i, t))
    got = {(s, t) for s, t in entries._candidates(elf, lo, hi) if data[s - base] in (0xE8, 0xE9, 0x0F)}
    assert want and want == got, (sorted(want - got)[:5], sorted(got - want)[:5])
    # the same with the scan's numpy steps cut small: patterns across a cut
    from verify.image import branches

    for chunk in (1000, 4099):
        monkeypatch.setattr(branches, "_CHUNK", chunk)
        got = {(s, t) for s, t in branches.scan_candidates(elf, lo, hi) if data[s - base] in (0xE8, 0xE9, 0x0F)}
        assert want == got, chunk
    monkeypatch.undo()
    # the many-range form image/entry.py's SYSRET search uses: per range, the
    # targets of exactly the single-range scan's patterns whose source lies
    # outside it (rel8 ones included), for disjoint ranges and the top one
    ranges = [(lo, hi), (base + 100, base + 2 * chunk), (base + size - 300, base + size), ((1 << 64) - 16, 1 << 64)]
    many = branches.targets_into_ranges(elf, ranges)
    for r in ranges:
        single = {(s, t) for s, t in branches.scan_candidates(elf, *r) if not r[0] <= s < r[1]}
        assert set(many[r]) == single, r
    assert many[(lo, hi)]


def test_time_limit_leaves_no_timer_behind():
    """verify.prove.rounds._time_limit: a deferral (the alarm arriving inside a
    finaliser re-arms the timer) must not outlive the limit, or SIGALRM's
    default action kills the process once the old handler is back."""
    import signal

    from verify.prove.rounds import _time_limit
    from verify.prove.explore import Inconclusive

    def __del__():  # a frame named like a finaliser
        handler = signal.getsignal(signal.SIGALRM)
        handler(signal.SIGALRM, __import__("sys")._getframe())

    old = signal.getsignal(signal.SIGALRM)
    with _time_limit(30.0):
        __del__()  # deferred: re-armed for a few ms instead of raising here
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == old
    try:
        with _time_limit(0.01):
            while True:
                pass
    except Inconclusive as e:
        assert "timeout" in str(e)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_prover_runs_angr_vex_helpers_without_importing_angr():
    """machine.vex_helpers loads angr's ccall/irop modules without angr's
    package __init__s (the prover's import: 0.5 s instead of 2.5); the
    helpers compute what angr's own copies compute, and a later `import
    angr` (benchmarks/naive_angr.py) still gets the whole of angr."""
    import subprocess
    import sys

    code = r"""
import sys
import claripy
from verify.prove import semantics
assert not [m for m in sys.modules if m == "angr" or m.startswith("angr.")], "angr stayed imported"
mine, ops = semantics._HELPERS, semantics._IROPS
import angr
from angr.engines.vex.claripy import ccall, irop
assert ccall is not mine and hasattr(angr, "Project")
class St:
    options = frozenset()
x, y = claripy.BVS("x", 64), claripy.BVS("y", 64)
# every AMD64 condition over a SUBQ thunk (cc_op 8), by both copies
for cond in range(16):
    a = mine.amd64g_calculate_condition(St(), claripy.BVV(cond, 64), claripy.BVV(0x8, 64), x, y, claripy.BVV(0, 64))
    b = ccall.amd64g_calculate_condition(St(), claripy.BVV(cond, 64), claripy.BVV(0x8, 64), x, y, claripy.BVV(0, 64))
    assert claripy.Solver().is_true(a == b), cond
for name in ("Iop_Add64", "Iop_Shr64", "Iop_CmpLT64U", "Iop_64HLto128"):
    assert type(ops.vexop_to_simop(name)).__name__ == type(irop.vexop_to_simop(name)).__name__
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-3000:]


def _one_section_elf(base, data):
    from types import SimpleNamespace

    sec = SimpleNamespace(name=".text", addr=base, size=len(data), flags=0x6, has_bits=True)
    return SimpleNamespace(sections=[sec], section_bytes=lambda name: data)


def test_second_entry_scan_at_the_top_of_the_address_space():
    """From the adversarial review of the numpy scan: a range in the top
    64 KiB of the address space makes _candidates scan the window ending at
    2**64, which np.uint64 cannot hold (an internal error, exit 4, where the
    regular-expression scan before it found the branch)."""
    import struct

    from verify.image import branches
    from verify.prove import entries

    base = (1 << 64) - 0x1000
    src = 0x10
    for op, hi in ((b"\xe9", base + 0x900), (b"\xe8", 1 << 64)):
        lo = base + 0x800
        data = bytearray(b"\x90" * 0x1000)
        data[src:src + 5] = op + struct.pack("<i", lo - (base + src + 5))
        assert (base + src, lo) in entries._candidates(_one_section_elf(base, bytes(data)), lo, hi)
        assert (base + src, lo) in branches.rel32_into(bytes(data), base, lo, hi)


def test_a_function_graph_past_the_cap_is_refused_not_built(fixture_kernels, monkeypatch):  # noqa: F811
    """cfg.MAX_FUNCTION_INSNS: a function whose graph would hold more
    instructions is a CfgError (whatever needs it is inconclusive), never a
    graph built on to the machine's memory (a jump into megabytes of int3
    padding, each falling through: adv_r21_amd_jcc16_skip reached 18 GB)."""
    import pytest

    from verify.image import KernelImage
    from verify.prove import cfg
    from verify.prove.program import Program

    prog = Program(KernelImage.open(fixture_kernels("linux61_exit_checks"), None))
    whole = prog.cfg(prog.entry.syscall_entry)
    n = sum(len(b.insns) for b in whole.blocks.values())
    monkeypatch.setattr(cfg, "MAX_FUNCTION_INSNS", n - 1)
    with pytest.raises(cfg.CfgError, match="exceeds"):
        cfg.FunctionCfg(prog, prog.entry.syscall_entry)
    monkeypatch.setattr(cfg, "MAX_FUNCTION_INSNS", n)
    assert len(cfg.FunctionCfg(prog, prog.entry.syscall_entry).blocks) == len(whole.blocks)


def test_enclosing_extents_own_the_bytes_after_a_nested_symbol():
    # tscompat._enclosing: the bytes after a sized symbol nested in another
    # are the outer one's (adv_r29_straddle_inner); overlapping and disjoint
    # extents walk up to every extent that holds the address, and no further
    import bisect

    from verify.prove import tscompat

    starts = [0, 1, 3, 20, 25, 40, 45]
    ends = [10, 3, 5, 30, 50, 42, 46]
    parent = tscompat._enclosing(starts, ends)

    def owner(addr):
        i = bisect.bisect_right(starts, addr) - 1
        while i >= 0 and addr >= ends[i]:
            i = parent[i]
        return starts[i] if i >= 0 else None

    for addr in range(60):
        holding = [s for s, e in zip(starts, ends) if s <= addr < e]
        assert owner(addr) == (max(holding) if holding else None), addr


def test_decoded_starts_go_on_after_serialize():
    # capstone 5 does not decode SERIALIZE (0f 01 e8): the instruction starts
    # after it (6.12's sync_core) are still known, and bytes that decode to
    # nothing end the list
    from verify.prove import tscompat

    code = b"\x90\x0f\x01\xe8\xeb\x00\xc3"
    assert tscompat._decoded_starts(code, 0x100) >= {0x100, 0x101, 0x104, 0x106}
    assert 0x102 not in tscompat._decoded_starts(code, 0x100)
    bad = b"\x90\x0f\x0b\xc3"  # nop; ud2; ret
    assert tscompat._decoded_starts(bad, 0) >= {0, 1, 3}
    assert tscompat._decoded_starts(b"\x90\xd6\xc3", 0) == {0}  # 0xd6: no instruction in 64-bit mode


def test_values_lower_bound_never_exceeds_the_solvers_count():
    """explore._surely_more_values skips the unguarded solver enumeration:
    wherever it says "more than limit", the solver finds more too, and the
    shapes it must not count (a variable read twice, an If, a narrow
    variable) are not counted."""
    from verify.prove.explore import _surely_more_values
    from verify import solver

    x, y = claripy.BVS("lbx", 64), claripy.BVS("lby", 64)
    b = [claripy.BVS(f"lbb{i}", 8) for i in range(8)]
    c = claripy.BVS("lbc", 2)
    more = [x, x + 0x10, claripy.Concat(*b) + 8, (x ^ y) - 3, claripy.ZeroExt(56, b[0]),
            claripy.Concat(claripy.BVV(0, 62), c) + x]
    not_counted = [x - x, x ^ x, x + (x & 1), claripy.ZeroExt(62, c),
                   claripy.If(x == 1, y, claripy.BVV(0, 64)), claripy.BVV(5, 64)]
    for t in more:
        assert _surely_more_values(t, 8), t
        assert solver.distinct_values(claripy.backends.z3.convert(t), [], 8)[0] == "more", t
    for t in not_counted:
        assert not _surely_more_values(t, 8), t


def test_phased_job_raises_again_after_a_failed_phase():
    # the compat job (rounds._Phased): once a phase raised, its generator is
    # dead and would "return" None; a later step or result() must raise the
    # same error, not hand the caller None to unpack
    import pytest

    from verify.prove.rounds import _Phased

    def job():
        yield
        raise RuntimeError("phase two failed")

    p = _Phased(job)
    p.step()
    with pytest.raises(RuntimeError, match="phase two"):
        p.step()
    with pytest.raises(RuntimeError, match="phase two"):
        p.result()

    def ok():
        yield
        return 42

    q = _Phased(ok)
    q.step()
    assert q.result() == 42 and q.result() == 42


def test_merged_flag_operations_are_computed_per_case_exactly():
    """semantics._ccall on a cc_op merged from several paths (an If tree
    over concrete operations, shared nodes included) gives, under every
    assignment of the merge conditions, what angr's helper gives for that
    path's operation: for the rflags helpers (cc_op first) and for
    calculate_condition (the condition code first, cc_op second)."""
    import itertools

    from verify.prove import semantics

    c1, c2, c3 = claripy.BoolS("c1"), claripy.BoolS("c2"), claripy.BoolS("c3")
    dep1, dep2, ndep = claripy.BVS("dep1", 64), claripy.BVS("dep2", 64), claripy.BVS("ndep", 64)
    # AMD64G_CC_OP_SUBQ 8, LOGICQ 20, INCQ 24, DECQ 28 (libvex_guest_amd64.h)
    inner = claripy.If(c2, claripy.BVV(20, 64), claripy.BVV(8, 64))
    op = claripy.If(c1, inner, claripy.If(c3, inner, claripy.BVV(28, 64)))  # (inner shared)
    helpers = semantics._CCALLS
    # an operand merged under one of the same conditions (split alongside
    # the operation: each case sees its own)
    dep1m = claripy.If(c1, dep1, dep2)
    cases = [("amd64g_calculate_rflags_c", [op, dep1, dep2, ndep], 0),
             ("amd64g_calculate_rflags_all", [op, dep1, dep2, ndep], 0),
             ("amd64g_calculate_rflags_all", [op, dep1m, dep2, ndep], 0),
             ("amd64g_calculate_condition", [claripy.BVV(4, 64), op, dep1, dep2, ndep], 1),  # CondZ
             ("amd64g_calculate_condition", [claripy.BVV(2, 64), op, dep1m, dep2, ndep], 1)]  # CondB
    for name, args, k in cases:
        got = semantics._ccall(helpers[name], args, k)
        for b1, b2, b3 in itertools.product([False, True], repeat=3):
            path_op = (20 if b2 else 8) if (b1 or b3) else 28
            path_args = [(dep1 if b1 else dep2) if x is dep1m else x for x in args]
            want = helpers[name](semantics._CC, *path_args[:k], claripy.BVV(path_op, 64), *path_args[k + 1:])
            if isinstance(want, claripy.ast.Bool):
                want = claripy.If(want, claripy.BVV(1, 64), claripy.BVV(0, 64))
            s = claripy.Solver()
            s.add(c1 == b1)
            s.add(c2 == b2)
            s.add(c3 == b3)
            s.add(got != want)
            assert not s.satisfiable(), (name, b1, b2, b3)
    # more distinct operations than MAX_CC_CASES: not rebuilt (the helper
    # itself decides, and refuses)
    wide = op
    for i, o in enumerate([1, 2, 3, 4, 5]):
        wide = claripy.If(claripy.BoolS(f"w{i}"), claripy.BVV(o, 64), wide)
    assert semantics._op_leaves(wide, semantics.MAX_CC_CASES) is None


def test_cfg_digraph_matches_networkx_on_random_graphs():
    # cfg.Digraph replaced networkx in the CFG (its import cost ~90 ms per
    # process): the explorer's block order, the loop check's dominators, the
    # branch regions' post-dominators and the witness's ancestors must be
    # exactly networkx's on any graph
    import random

    import networkx as nx

    from verify.prove.cfg import Digraph

    rng = random.Random(20261206)
    for trial in range(400):
        n = rng.randint(1, 14)
        edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, 3 * n))]
        g, ref = Digraph(), nx.DiGraph()
        for v in rng.sample(range(n), n):  # (nodes first, in a random order)
            g.add_node(v)
            ref.add_node(v)
        for u, v in edges:
            g.add_edge(u, v)
            ref.add_edge(u, v)
        assert g.nodes == list(ref.nodes) and g.edges == list(ref.edges)
        for v in range(n):
            assert list(g.successors(v)) == list(ref.successors(v))
            assert list(g.predecessors(v)) == list(ref.predecessors(v))
            assert g.out_degree(v) == ref.out_degree(v)
            assert g.ancestors(v) == nx.ancestors(ref, v)
            assert g.immediate_dominators(v) == nx.immediate_dominators(ref, v), (trial, v, edges)
        dag_edges = [(u, v) for u, v in edges if u < v]
        dag, ref_dag = Digraph(), nx.DiGraph()
        for v in range(n):
            dag.add_node(v)
            ref_dag.add_node(v)
        for u, v in dag_edges:
            dag.add_edge(u, v)
            ref_dag.add_edge(u, v)
        assert dag.topological_order() == list(nx.topological_sort(ref_dag))


def test_special_operand_address_reads_capstone_intel_text():
    # Explorer._operand_address reads the memory operand of an instruction
    # VEX does not lift (`verw (%rsp)` after the exit SWAPGS,
    # adv_r111_verw_user_after_swapgs) from capstone's Intel-syntax text; a
    # form it cannot read must give None (then counted as a fault on the
    # user's GS base), never a wrong address
    from verify.prove.explore import Explorer

    class _Ins:
        addr, size = 0x1000, 4

    class _Probe(Explorer):
        def __init__(self):
            pass

        def reg(self, st, r):
            return claripy.BVS(r, 64, explicit_name=True)

    e = _Probe()
    rsp, rax, rbx, rsi = (claripy.BVS(r, 64, explicit_name=True) for r in ("rsp", "rax", "rbx", "rsi"))
    s = claripy.Solver()
    for text, want in (("qword ptr [rsp]", rsp), ("word ptr [rip + 0x1234]", claripy.BVV(0x1000 + 4 + 0x1234, 64)),
                       ("qword ptr [rax + rbx*8 + 0x10]", rax + rbx * 8 + 0x10), ("byte ptr [rsi - 8]", rsi - 8),
                       ("dword ptr [0x1000]", claripy.BVV(0x1000, 64))):
        got = e._operand_address(None, _Ins(), text)
        assert got is not None and not s.satisfiable(extra_constraints=[got != want]), (text, got)
    for text in ("qword ptr gs:[0x10]", "dword ptr [eax]", "qword ptr fs:[rax]", "xmmword ptr [rax + xmm1*4]"):
        assert e._operand_address(None, _Ins(), text) is None, text


def test_a_word_of_byte_choices_is_tried_and_too_many_expose_every_stack():
    """Explorer._word_stack_constants: bytes that are If-choices of constants
    (a stored cmov or merge of `&ok : NULL`, adv_r123_cmov_okp) make the
    stack address they may spell; past _MAX_WORD_CHOICES words the answer
    is None, and _word_escape then exposes every stack region whole, not
    only RSP's (the word may point into any of them)."""
    import types

    import claripy

    from verify import machine
    from verify.prove import explore

    ex = object.__new__(explore.Explorer)
    ex._stack_const_memo = {}
    ex.stack_lo = machine.STACK_TOP - 0x4000
    ex.is_stack = lambda a: ex.stack_lo <= a < machine.STACK_TOP
    ok = machine.STACK_TOP - 0x100
    c = claripy.BoolS("c")
    parts = [claripy.If(c, claripy.BVV((ok >> 8 * i) & 0xFF, 8), claripy.BVV(0, 8)) for i in range(8)]
    assert ex._word_stack_constants(parts) == (ok,)
    # a symbolic arm adds no constant but keeps the constant one a choice
    x = claripy.BVS("x", 64)
    mixed = [claripy.If(c, claripy.BVV((ok >> 8 * i) & 0xFF, 8), x[8 * i + 7:8 * i]) for i in range(8)]
    assert ex._word_stack_constants(mixed) == (ok,)
    # three choices in each byte: 3**8 words, more than the cap
    d = claripy.BoolS("d")
    many = [claripy.If(c, claripy.BVV(1, 8), claripy.If(d, claripy.BVV(2, 8), claripy.BVV(3, 8)))
            for _ in range(8)]
    assert 3 ** 8 > explore._MAX_WORD_CHOICES and ex._word_stack_constants(many) is None
    st = types.SimpleNamespace(exposed=frozenset())
    ex._word_escape(st, many)
    assert set(ex._stack_regions()) <= st.exposed


def test_solver_wrapper_statuses_and_fallback():
    """verify.solver.check through new_solver (z3's qfbv tactic): sat with a
    model that satisfies the constraints, unsat, and unknown on a timeout
    (never folded into unsat, and not asked again: the default solver
    would run out the same way); a query outside bit-vectors, which the
    tactic gives up on, is asked again of the default solver and decided."""
    import z3

    from verify import solver

    x, y = z3.BitVecs("x y", 64)
    r = solver.check([x + y == 10, x == 3])
    assert r.sat and r.model.eval(y).as_long() == 7
    assert solver.check([x == 1, x == 2]).unsat
    # a 64-bit factoring query no solver finishes in 50 ms
    n = 0xC0A5123456770001
    hard = [x * y == n, z3.UGT(x, 1), z3.UGT(y, 1), z3.ULT(x, 1 << 32), z3.ULT(y, 1 << 32),
            z3.ZeroExt(64, x) * z3.ZeroExt(64, y) == n]
    r = solver.check(hard, timeout_ms=50)
    assert r.unknown and r.reason, r
    i = z3.Int("i")
    r = solver.check([i * i == 49, i < 0])  # integers: the tactic's unknown, then the default solver
    assert r.sat and r.model.eval(i).as_long() == -7
    st, vals = solver.distinct_values(x & 3, [], 8)
    assert st == "all" and sorted(vals) == [0, 1, 2, 3]
    st, vals = solver.distinct_values(x, [z3.ULT(x, 3)], 8)
    assert st == "all" and sorted(vals) == [0, 1, 2]


def test_solved_address_memo_tells_apart_terms_with_one_z3_hash():
    """Explorer._distinct remembers an address's values per (term, guard):
    z3's AstRef.hash() is 32 bits, and these two addresses of
    adv_r196_memo_hash (a harmless store below pt_regs, and one that may hit
    pt_regs->cx) share it.  The second must get its own values, not the
    first's."""
    import types

    import z3

    from verify.prove.explore import Explorer

    x = z3.BitVec("user_rdi", 64)
    a = (z3.BitVecVal(0x8A, 64) & x) + z3.BitVecVal(0xFFFFC90000007CE0, 64)
    b = (z3.BitVecVal(0x804800000, 64) & x) + z3.BitVecVal(0xFFFFC90000007FB0, 64)
    # (the premise: if a z3 upgrade changes its hash, the fixture no longer
    # collides, and this test still checks the memo keeps the two apart)
    collide = a.hash() == b.hash()
    memo = types.SimpleNamespace()
    got_a = Explorer._distinct(memo, a, None, 8, 20000)
    got_b = Explorer._distinct(memo, b, None, 8, 20000)
    assert got_a[0] == got_b[0] == "all"
    assert 0xFFFFC90000007FB0 in got_b[1] and 0xFFFFC90000007FB0 not in got_a[1], (got_a, got_b)
    assert Explorer._distinct(memo, b, None, 8, 20000) == got_b  # remembered
    assert collide, "z3's hash changed: find another colliding pair (adv_r196_memo_hash's comment) for both"


def test_return_thunks_left_by_an_exception_keep_nothing(fixture_kernels):  # noqa: F811
    """An exception out of Summaries.return_thunks (the round's SIGALRM stops
    any line) leaves neither the half-read summary in the shared cache nor
    the flag that makes every later thunk summary skip the thunks' own
    effects (review 199); asked again, it is what a fresh Summaries gives."""
    import pytest

    from verify.image import KernelImage
    from verify.prove.program import Program
    from verify.prove.summary import Summaries

    prog = Program(KernelImage.open(fixture_kernels("adv_r129_thunk_rethunk_after_swapgs"), None))
    s = Summaries(prog)
    real = s._compute
    calls = []

    def stopped(a):
        calls.append(a)
        if len(calls) == 1:
            raise KeyboardInterrupt  # (any exception: the alarm's is Inconclusive)
        return real(a)

    s._compute = stopped
    with pytest.raises(KeyboardInterrupt):
        s.return_thunks()
    assert "return-thunks" not in s._cache and not s._cache.get("return-thunks-active")
    s._compute = real
    again, fresh = s.return_thunks(), Summaries(Program(prog.image)).return_thunks()
    assert (again.may_swapgs, again.gs_access, again.writes) == (fresh.may_swapgs, fresh.gs_access, fresh.writes)
