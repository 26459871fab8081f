"""Property-based fuzzing of the vmlinuz readers (issue 10, item 7): the
bzImage boot header, the payload in each of the seven compressions, the
kallsyms tables (inside a payload and on their own), Debian's placeholder
System.map detection.

Same rules as tests/test_fuzz_inputs.py: any outcome other than a result or
a one-line InputError is a bug; seeds are a fixture kernel wrapped as a
bzImage (with its symtab, and stripped with kallsyms in .rodata) and
synthetic kallsyms tables; bounded by SYSRET_VERIFY_FUZZ_EXAMPLES (default
60) per property, derandomized unless SYSRET_VERIFY_FUZZ_RANDOM=1.  Every
crasher found is kept as a regular test at the end.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bzimage_util import (METHODS, PAYLOAD_OFFSET, PM_OFFSET, compress, kallsyms_blob, make_bzimage, payload_of,
                          sample_symbols, strip_with_kallsyms)
from fixtures import build_fixture
from verify.errors import InputError

EXAMPLES = int(os.environ.get("SYSRET_VERIFY_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("SYSRET_VERIFY_FUZZ_RANDOM") != "1",
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_SEEDS: dict = {}


def _seeds(tmp_path_factory) -> dict:
    """{(method, 'symtab'|'kallsyms'): bzImage bytes}, built once."""
    if not _SEEDS:
        outdir = os.environ.get("SYSRET_VERIFY_FIXTURE_DIR") or str(tmp_path_factory.mktemp("fx"))
        with open(build_fixture("linux61_exit_checks", outdir), "rb") as f:
            elf = f.read()
        from verify.image import KernelImage

        ref = KernelImage.open(build_fixture("linux61_exit_checks", outdir), hash_image=False)
        syms = [(s.addr, s.kind, s.name) for s in ref.symbols.items()]
        stripped = strip_with_kallsyms(elf, syms, str(tmp_path_factory.mktemp("strip")))
        for method in METHODS:
            _SEEDS[(method, "symtab")] = make_bzimage(compress(elf, method))
            _SEEDS[(method, "kallsyms")] = make_bzimage(compress(stripped, method))
        _SEEDS["kallsyms-blobs"] = {layout: kallsyms_blob(sample_symbols(300), layout, True)
                                    for layout in ("6.12", "6.1", "old")}
    return _SEEDS


def _apply(data: bytes, edits, cut) -> bytes:
    b = bytearray(data)
    for off, new in edits:
        b[off:off + len(new)] = new
    return bytes(b[:cut] if cut is not None else b)


def _edits(lo: int, hi: int):
    return st.lists(st.tuples(st.integers(lo, max(lo, hi - 1)), st.binary(min_size=1, max_size=8)), max_size=6)


def _reads_or_input_error(path: str) -> None:
    """What check/inspect read before the prover."""
    from verify.image import KernelImage

    try:
        img = KernelImage.open(path, hash_image=False)
        img.entry  # noqa: B018
        img.layout  # noqa: B018
    except InputError as e:
        assert str(e) and "\n" not in str(e)


@pytest.fixture
def kernels_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SYSRET_VERIFY_KERNELS", str(tmp_path_factory.mktemp("kernels")))


def test_seeds_read(tmp_path_factory, tmp_path, kernels_dir):
    from verify.image import KernelImage

    for (method, symbols), bz in ((k, v) for k, v in _seeds(tmp_path_factory).items() if isinstance(k, tuple)):
        p = tmp_path / f"vmlinuz-{method}-{symbols}"
        p.write_bytes(bz)
        img = KernelImage.open(str(p))
        assert (img.compression, img.symbol_source) == (method, symbols) and img.entry.sysret_sites


@FUZZ
@given(data=st.data())
def test_mutated_boot_header(tmp_path_factory, kernels_dir, data):
    """Edits in the boot sector, setup and the start of the payload; cuts anywhere."""
    seeds = _seeds(tmp_path_factory)
    key = (data.draw(st.sampled_from(METHODS)), data.draw(st.sampled_from(["symtab", "kallsyms"])))
    bz = seeds[key]
    edits = data.draw(_edits(0x1F0, PM_OFFSET + PAYLOAD_OFFSET + 32))
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(bz))))
    p = tmp_path_factory.mktemp("h") / "vmlinuz"
    p.write_bytes(_apply(bz, edits, cut))
    _reads_or_input_error(str(p))


@FUZZ
@given(data=st.data())
def test_mutated_payload(tmp_path_factory, kernels_dir, data):
    """Edits inside the compressed payload of each method."""
    seeds = _seeds(tmp_path_factory)
    key = (data.draw(st.sampled_from(METHODS)), data.draw(st.sampled_from(["symtab", "kallsyms"])))
    bz = seeds[key]
    start, length = payload_of(bz)
    edits = data.draw(_edits(start, start + length))
    p = tmp_path_factory.mktemp("p") / "vmlinuz"
    p.write_bytes(_apply(bz, edits, None))
    _reads_or_input_error(str(p))


@FUZZ
@given(data=st.data())
def test_mutated_kallsyms_tables(tmp_path_factory, data):
    from verify.image.kallsyms import parse_rodata

    blobs = _seeds(tmp_path_factory)["kallsyms-blobs"]
    blob = blobs[data.draw(st.sampled_from(sorted(blobs)))]
    edits = data.draw(_edits(0, len(blob)))
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(blob))))
    try:
        k = parse_rodata(_apply(blob, edits, cut), 0xFFFFFFFF82000000, "rodata")
    except InputError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert all(isinstance(n, str) and isinstance(a, int) for a, n, _t in k.entries)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("0123456789abcdefBTt _.<>-\n")), max_size=200),
       extra=st.sampled_from(["", "The real System.map is in the linux-image-<version>-dbg package\n"]))
def test_placeholder_detection_never_raises(tmp_path_factory, text, extra):
    from verify.image.vmlinuz import is_placeholder_map

    p = tmp_path_factory.mktemp("m") / "System.map"
    p.write_text(extra + text)
    assert is_placeholder_map(str(p)) in (True, False)
