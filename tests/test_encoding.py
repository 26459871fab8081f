"""The one SYSRET classifier (verify/image/encoding.py) on every encoding
shape, and capstone's agreement with it (encoding.SPECIAL and
the summaries read capstone's mnemonic; cfg.decode and image.entry read the
classifier: they must never disagree).

The argument (Intel SDM Vol. 2B SYSRET, Vol. 2A 2.2.1, Vol. 1 3.6.1):
- SYSRET's pseudocode branches only on "operand size is 64-bit" (return to
  64-bit mode, RIP := RCX, CS := STAR[63:48]+16) versus everything else
  (return to compatibility mode, RIP := ECX, CS := STAR[63:48]).  The
  operand size is 64 iff the effective REX.W is 1 (REX.W overrides 0x66);
  0x66 alone gives operand size 16, which is "not 64-bit": the same
  compatibility-mode return as the 32-bit default, no 16-bit form.
- A REX prefix counts only when it immediately precedes the opcode (here
  the 0F escape); "other placements are ignored".  So a REX followed by a
  legacy prefix or by another REX does not set the width.
- REX.R/X/B select no operand of SYSRET: `49 0f 07` (REX.WB, the
  adv_r9_compat_rex_sysretq fixture) is SYSRETQ like `48 0f 07`.
- LOCK makes SYSRET #UD; more than 15 bytes is #GP: neither is a SYSRET.
"""
from __future__ import annotations

import pytest

from verify.image.encoding import is_iretq, sysret_at, sysret_width

CASES = [
    ("480f07", "sysretq"),       # the assembler's sysretq: REX.W
    ("490f07", "sysretq"),       # REX.WB: B is ignored, W=1 (adv_r9_compat_rex_sysretq)
    ("4f0f07", "sysretq"),       # REX.WRXB: W=1
    ("4c0f07", "sysretq"),       # REX.WR
    ("400f07", "sysretl"),       # a REX with W=0: 32-bit
    ("470f07", "sysretl"),       # REX.RXB, W=0
    ("0f07", "sysretl"),         # the assembler's sysretl
    ("660f07", "sysretl"),       # 0x66: operand size 16 is "not 64-bit": the compat return
    ("66480f07", "sysretq"),     # 0x66 then REX.W: REX.W wins (and is last)
    ("48660f07", "sysretl"),     # REX.W not immediately before the opcode: ignored
    ("48400f07", "sysretl"),     # two REX: only the last (W=0) counts
    ("40480f07", "sysretq"),     # two REX: the last has W=1
    ("f3480f07", "sysretq"),     # rep prefix, ignored by SYSRET
    ("f20f07", "sysretl"),       # repne, ignored
    ("2e0f07", "sysretl"),       # segment override, ignored in 64-bit mode
    ("65490f07", "sysretq"),     # gs override then REX.WB
    ("67490f07", "sysretq"),     # address size then REX.WB
    ("66" * 12 + "480f07", "sysretq"),  # 15 bytes: the longest legal form
    ("66" * 13 + "480f07", None),       # 16 bytes: #GP, no SYSRET
    ("f00f07", None),            # LOCK: #UD
    ("f0480f07", None),          # LOCK with REX.W: #UD
    ("0f05", None),              # syscall
    ("48cf", None),              # iretq
    ("0f0b", None),              # ud2
]


@pytest.mark.parametrize("hexbytes,width", CASES)
def test_sysret_width(hexbytes, width):
    raw = bytes.fromhex(hexbytes)
    assert sysret_width(raw) == width
    # at the start of a window of code: the same width and the full length
    got = sysret_at(raw + b"\xcc" * 16)
    assert got == ((width, len(raw)) if width else None)


def test_sysret_width_wants_exactly_one_instruction():
    assert sysret_width(b"\x48\x0f\x07\x90") is None  # bytes after the opcode
    assert sysret_width(b"\x0f") is None
    assert sysret_width(b"") is None


@pytest.mark.parametrize("hexbytes,width", CASES)
def test_capstone_agrees(hexbytes, width):
    """Capstone's mnemonic says the same width (sysretq / sysret), or it does
    not decode a SYSRET there at all."""
    from verify.image.entry import _md

    raw = bytes.fromhex(hexbytes)
    insn = next(_md().disasm(raw + b"\xcc" * 4, 0x1000, 1), None)
    if width is None:
        assert insn is None or not insn.mnemonic.startswith("sysret") or insn.size != len(raw)
    else:
        assert insn is not None and insn.size == len(raw)
        assert insn.mnemonic == ("sysretq" if width == "sysretq" else "sysret")


@pytest.mark.parametrize("hexbytes,kind", [(h, w) for h, w in CASES if w])
def test_cfg_decode_kind(hexbytes, kind):
    """cfg.decode (the prover's CFG, static walks, the explorer) gives the
    classifier's width: kind "sysret" for sysretq, "sysretl" for 32-bit."""
    from verify.prove.cfg import decode

    ins = decode(0x1000, bytes.fromhex(hexbytes) + b"\xcc" * 4)
    assert ins.kind == ("sysret" if kind == "sysretq" else "sysretl")


@pytest.mark.parametrize("hexbytes,iretq", [("48cf", True), ("4fcf", True), ("6648cf", True), ("cf", False),
                                             ("66cf", False), ("48", False), ("4866cf", False)])
def test_is_iretq(hexbytes, iretq):
    assert is_iretq(bytes.fromhex(hexbytes)) is iretq


@pytest.mark.parametrize("raw,expected", [
    (b"\x0f\x01\xca", False),          # clac
    (b"\xf2\x0f\x01\xca", True),       # ERETS (FRED): capstone 5 reads clac
    (b"\xf3\x0f\x01\xca", True),       # ERETU (FRED)
    (b"\xf2\x0f\x00\xf0", True),       # LKGS %ax: capstone reads lldt/other
    (b"\xf3\x0f\x01\xc6", True),       # WRMSRLIST
    (b"\x0f\x01\xf8", False),          # swapgs
    (b"\x66\x0f\x01\xf8", True),       # prefixed swapgs: no longer plain swapgs
    (b"\x48\x0f\x07", False),          # sysretq: not group 6/7
    (b"\x65\x48\x8b\x04\x25\x00\x00\x00\x00", False),  # a %gs load
])
def test_prefixed_system_insn(raw, expected):
    """Group-6/7 system instructions with a 66/F2/F3 prefix are other
    instructions of newer ISA extensions: no model (cfg.decode gives them
    kind "far", summary.py treats them as unreadable code)."""
    from verify.prove.cfg import decode, prefixed_system_insn
    assert prefixed_system_insn(raw) is expected
    if expected:
        ins = decode(0x1000, raw + b"\x90" * 8)
        assert ins is None or ins.kind == "far"


@pytest.mark.parametrize("raw,kind", [
    (b"\x66\x0f\x85\x00\x00\x80\xff", "far"),   # jne: rel16 and 5 bytes on AMD
    (b"\x2e\x66\x0f\x84\x10\x00\x00\x00", "far"),  # the prefix after another one
    (b"\x66\xe9\x10\x00\x00\x00", "far"),       # jmp
    (b"\x66\xe8\x10\x00\x00\x00", "far"),       # call
    (b"\x66\xc3", "far"),                       # ret: pops 16 bits on AMD
    (b"\x0f\x85\x10\x00\x00\x00", "jcc"),       # the same jne without it
    (b"\x2e\x0f\x84\x10\x00\x00\x00", "jcc"),   # a branch hint is no operand size
    (b"\x66\x90", "plain"),                     # xchg %ax,%ax: not a branch
])
def test_operand_size_prefixed_branches_have_no_model(raw, kind):
    """Intel ignores a 0x66 prefix on a near branch in 64-bit mode, AMD
    honours it (rel16, IP truncated to 16 bits): capstone reads Intel's
    length only, so such a branch has no model (adv_r21_amd_jcc16_skip)."""
    from verify.image.encoding import operand_size_prefixed
    from verify.prove.cfg import decode
    assert operand_size_prefixed(raw) is (kind == "far" or raw.startswith(b"\x66"))
    assert decode(0x1000, raw + b"\x90" * 8).kind == kind


@pytest.mark.parametrize("raw,ignored,kind", [
    (b"\x48\x3e\x39\x43\x58", True, "special"),    # REX.W, DS: a 32-bit cmp on the CPU (adv_r39_rex_ignored_cmp)
    (b"\x48\x40\x39\x43\x58", True, "special"),    # REX.W, REX: only the last counts (adv_r39_rex_rex_cmp)
    (b"\x4d\x2e\x89\xe4", True, "special"),        # `mov %esp,%esp` on the CPU, `mov %r12,%r12` in VEX
    (b"\x3e\x48\x39\x43\x58", False, "plain"),     # the REX last: a 64-bit cmp everywhere
    (b"\x66\x48\x0f\x7e\xc0", False, "plain"),     # mandatory prefix, then REX: movq
    (b"\xf3\x48\x0f\xb8\xc0", False, "plain"),     # popcnt
    (b"\x65\x48\x8b\x04\x25\x00\x00\x00\x00", False, "plain"),  # a %gs load
    (b"\xf3\x48\x0f\xbd\xc8", False, "special"),   # lzcnt: bsr on a CPU without it (adv_r39_lzcnt_canonical)
    (b"\xf3\x48\x0f\xbc\xc8", False, "special"),   # tzcnt: bsf likewise
    (b"\xf3\x48\x0f\x1e\xcb", False, "special"),   # rdsspq %rbx: VEX lifts a NOP (adv_r39_rdssp_leak)
])
def test_instructions_vex_reads_otherwise(raw, ignored, kind):
    """A REX prefix is honoured only right before the opcode (SDM Vol. 2A
    2.2.1); VEX applies an ignored one, so such an instruction is never
    lifted (Explorer._special refuses it).  lzcnt/tzcnt/rdssp depend on the
    CPU: modelled by the explorer, never lifted by VEX."""
    from verify.image.encoding import ignored_rex
    from verify.prove.cfg import decode
    assert ignored_rex(raw) is ignored
    assert decode(0x1000, raw + b"\x90" * 8).kind == kind


# Where capstone's reading is corrected for every reader (cfg.disasm_one,
# cfg.decode; eighteenth session, reviews 74-76): a prefix that leaves a
# control transfer what it is, UD1's ModRM, UD0's vendor-dependent length,
# a 16-bit BSWAP's unlisted write.
@pytest.mark.parametrize("raw, mnemonic, kind", [
    ("f2e800000000", "call", "call"),        # bnd call (adv_r74_bnd_call)
    ("f3c3", "ret", "ret"),                  # repz ret (adv_r74_rep_ret)
    ("3eff24c500000000", "jmp", "ijmp"),     # notrack jmp (adv_r74_notrack_jmp)
    ("3ef2e800000000", "call", "call"),      # bnd notrack call
    ("f3aa", "rep stosb", "plain"),          # a string prefix stays
])
def test_transfer_prefixes(raw, mnemonic, kind):
    from verify.prove.cfg import _md, decode, disasm_one

    data = bytes.fromhex(raw) + b"\x90" * 16
    assert disasm_one(_md(), data, 0x1000).mnemonic == mnemonic
    assert decode(0x1000, data).kind == kind


@pytest.mark.parametrize("raw, size", [
    ("0fb9c0", 3),                 # ModRM, register form
    ("0fb94010", 4),               # disp8 (adv_r78_ud1_modrm_resume's 0f b9 40 eb)
    ("0fb98400000000aa", 8),       # SIB + disp32
    ("670fb94090", 5),             # 0x67: the same ModRM layout
])
def test_ud1_takes_its_modrm(raw, size):
    from verify.prove.cfg import _md, decode, disasm_one

    data = bytes.fromhex(raw) + b"\x90" * 16
    assert decode(0x1000, data).size == size
    assert disasm_one(_md(), data, 0x1000).size == size


def test_ud0_and_bswap16_have_no_model():
    from verify.prove.cfg import _md, decode, disasm_one

    assert disasm_one(_md(), bytes.fromhex("0fff00") + b"\x90" * 8, 0) is None
    assert decode(0, bytes.fromhex("0fff00") + b"\x90" * 8).kind == "far"
    bswap = disasm_one(_md(), bytes.fromhex("660fcb") + b"\x90" * 8, 0)  # bswap %bx (adv_r76_bswap16_rbx)
    assert "bx" in [bswap.reg_name(r) for r in bswap.regs_access()[1]]
    assert decode(0, bytes.fromhex("660fcb") + b"\x90" * 8).kind == "far"


@pytest.mark.parametrize("raw, addr32", [
    ("678360 10fd", True),         # andl $-3, 0x10(%eax) (adv_r75_addr32_ts_clear's form)
    ("67488d4008", True),          # lea 8(%eax),%rax: a truncated address too
    ("48836010fd", False),         # the same through %rax
    ("67e800000000", False),       # addr32 call: no memory operand
])
def test_addr32_memory(raw, addr32):
    from verify.prove.cfg import _md, addr32_memory

    ci = next(_md().disasm(bytes.fromhex(raw.replace(" ", "")), 0, 1))
    assert addr32_memory(ci) is addr32


def test_linear_decode_takes_the_cpu_length_of_ud1():
    """Every linear reader decodes through encoding.lite_decode: capstone
    reads `0f b9 81 3d 00 00 00` as a 2-byte ud1 and the store after it as
    part of a `cmp` (adv_r82_ud1_hides_ts_set); a UD0 ends the decode."""
    from verify.image.encoding import lite_decode, modrm_length
    from verify.prove.cfg import _md

    code = bytes.fromhex("0fb9813d000000" "83481002" "90" "c3")
    assert [(a, s, m) for a, s, m, _o in lite_decode(_md(), code, 0x100)] == [
        (0x100, 7, "ud1"), (0x107, 4, "or"), (0x10b, 1, "nop"), (0x10c, 1, "ret")]
    assert len(list(lite_decode(_md(), code, 0x100, 2))) == 2  # (a count counts across the restart)
    assert [m for _a, _s, m, _o in lite_decode(_md(), bytes.fromhex("90" "0fff00" "90c3"), 0)] == ["nop"]
    assert [m for _a, _s, m, _o in lite_decode(_md(), bytes.fromhex("900fb905"), 0)] == ["nop"]  # cut short
    assert modrm_length(bytes.fromhex("04 25 00000000"), 0) == 6  # SIB with no base: disp32
    assert modrm_length(bytes.fromhex("44 24 08"), 0) == 3
