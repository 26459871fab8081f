"""Property-based fuzzing of everything a user hands the tool (issue 10):
the ELF reader and what it derives (sections, symbols, BTF layout, entry
sites, patch tables), System.map, baselines and cached results.

Any outcome other than a result or a one-line input error (InputError, exit
2) is a bug.  Seeds are the fixture kernels (real ELF images with .BTF,
__bug_table, alternatives, ...) and a real System.map; hypothesis mutates
them (byte flips, overwritten ranges, truncation).  Bounded: max_examples
per property (SYSRET_VERIFY_FUZZ_EXAMPLES, default 60) and no per-example
deadline (derandomized; SYSRET_VERIFY_FUZZ_RANDOM=1 explores afresh).
A crasher found is kept as a regular test below.
"""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures import build_fixture
from verify.errors import InputError

EXAMPLES = int(os.environ.get("SYSRET_VERIFY_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("SYSRET_VERIFY_FUZZ_RANDOM") != "1",
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


_SEED: list = []


def _seed(tmp_path_factory) -> bytes:
    """The seed image's bytes (module-level, so hypothesis never prints them)."""
    if not _SEED:
        outdir = os.environ.get("SYSRET_VERIFY_FIXTURE_DIR") or str(tmp_path_factory.mktemp("fx"))
        with open(build_fixture("linux61_exit_checks", outdir), "rb") as f:
            _SEED.append(f.read())
    return _SEED[0]


def _mutations(size: int):
    """A list of edits (offset, new bytes) and an optional truncation."""
    edit = st.tuples(st.integers(0, max(0, size - 1)), st.binary(min_size=1, max_size=16))
    return st.tuples(st.lists(edit, max_size=8), st.one_of(st.none(), st.integers(0, size)))


def _apply(data: bytes, mutation) -> bytes:
    edits, cut = mutation
    b = bytearray(data)
    for off, new in edits:
        b[off:off + len(new)] = new
    return bytes(b[:cut] if cut is not None else b)


def _read_everything(path: str):
    """What `inspect` and `check` read before the prover: must give a value
    or InputError, nothing else."""
    from verify.image import KernelImage

    img = KernelImage.open(path, hash_image=False)
    img.layout  # noqa: B018  (BTF/DWARF struct layout)
    img.entry  # noqa: B018  (entry sites, sysret sites, patch sites in the entry text)
    from verify.image.patches import read_patch_sites, tables

    read_patch_sites(img)
    t = tables(img)
    t.bug_addrs  # noqa: B018
    t.extable_insns  # noqa: B018
    return img


def _reads_or_input_error(path: str) -> None:
    try:
        _read_everything(path)
    except InputError as e:
        assert str(e) and "\n" not in str(e)


def test_seed_image_reads(tmp_path_factory, tmp_path):
    p = tmp_path / "vmlinux"
    p.write_bytes(_seed(tmp_path_factory))
    assert _read_everything(str(p)).entry.sysret_sites


@FUZZ
@given(data=st.data())
def test_mutated_elf_reads_or_is_an_input_error(tmp_path_factory, data):
    seed = _seed(tmp_path_factory)
    mutated = _apply(seed, data.draw(_mutations(len(seed))))
    p = tmp_path_factory.mktemp("m") / "vmlinux"
    p.write_bytes(mutated)
    _reads_or_input_error(str(p))


def test_crasher_btf_member_type_out_of_range(tmp_path_factory, tmp_path):
    """Found by the fuzzer: a BTF member naming type id 42 of a smaller blob
    was an IndexError (a traceback), now a one-line input error."""
    seed = _seed(tmp_path_factory)
    btf = seed.find(b"\x9f\xeb\x01\x00")  # BTF magic 0xeb9f, version 1
    assert btf > 0
    p = tmp_path / "vmlinux"
    # overwrite the first struct member's type ids with 42 (beyond the blob)
    p.write_bytes(_apply(seed, ([(16920, b"\x00" * 12 + b"*")], None)))
    _reads_or_input_error(str(p))


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("0123456789abcdefTtDdWwRr _.\n\t")), max_size=400))
def test_system_map_reads_or_is_an_input_error(tmp_path_factory, text):
    from verify.image.elf import read_system_map

    p = tmp_path_factory.mktemp("s") / "System.map"
    p.write_text("ffffffff81000000 T _text\n" + text)
    try:
        read_system_map(str(p))
    except InputError as e:
        assert str(e) and "\n" not in str(e)


_JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                                          children, max_size=5),
                        max_leaves=20)


@FUZZ
@given(doc=_JSONISH, raw=st.binary(max_size=64))
def test_baseline_reads_or_is_an_input_error(tmp_path_factory, doc, raw):
    from verify import baseline

    d = tmp_path_factory.mktemp("b")
    for name, content in (("a.json", json.dumps(doc).encode()), ("b.json", raw),
                          ("c.json", json.dumps({"version": 1, "accepted": doc}).encode())):
        (d / name).write_bytes(content)
        try:
            baseline.load(str(d / name))
        except InputError as e:
            assert str(e) and "\n" not in str(e)


@FUZZ
@given(doc=_JSONISH)
def test_cached_result_reads_or_is_a_miss(tmp_path_factory, doc, monkeypatch):
    """A corrupt cache entry is a miss (None), never an exception."""
    from verify import cache

    d = tmp_path_factory.mktemp("c")
    monkeypatch.setenv("SYSRET_VERIFY_CACHE", str(d))
    k = "ab" * 32
    with open(cache._path(k), "w") as f:
        json.dump({"format": cache.FORMAT, "key": k, "result": doc}, f)
    r = cache.load(k)
    assert r is None or r.findings is not None
