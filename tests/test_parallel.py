"""verify/prove/parallel.py: the TS_COMPAT effects are answered by a forked
process (tseffects.py); a verdict must not depend on whether it ran, died
or was switched off."""
import os
import signal

import pytest
from fixtures import fixture_kernels  # noqa: F401 (pytest fixture)

from verify.prove import parallel


def _square(x):
    if x == "boom":
        raise ValueError("the handler failed")
    return x * x


@pytest.mark.parametrize("forking", ["1", "0"])
def test_answers_in_order_with_and_without_fork(forking, monkeypatch):
    monkeypatch.setenv("SYSRET_VERIFY_PARALLEL", forking)
    s = parallel.Server(_square)
    try:
        assert (s._pid is not None) == (forking == "1")
        tickets = [s.ask(i) for i in range(200)]
        assert [s.answer(t) for t in reversed(tickets)] == [i * i for i in reversed(range(200))]
    finally:
        s.close()


def test_an_exception_in_the_child_is_raised_in_the_parent():
    s = parallel.Server(_square)
    try:
        t = s.ask("boom")
        ok = s.ask(3)
        with pytest.raises(ValueError, match="the handler failed"):
            s.answer(t)
        assert s.answer(ok) == 9
    finally:
        s.close()


def test_a_dead_child_is_replaced_by_local_answers():
    # killed (out of memory, say) after answering some: the rest are computed
    # in the parent, the same values
    s = parallel.Server(_square)
    try:
        assert s.answer(s.ask(2)) == 4
        os.kill(s._pid, signal.SIGKILL)
        tickets = [s.ask(i) for i in range(5)]
        assert [s.answer(t) for t in tickets] == [0, 1, 4, 9, 16]
        assert s._pid is None
    finally:
        s.close()


def test_large_requests_do_not_deadlock():
    # requests and answers bigger than a pipe buffer, asked before any answer
    # is read: the parent drains answers while it writes
    s = parallel.Server(lambda b: b + b)
    try:
        blob = b"x" * 100_000
        tickets = [s.ask(blob) for _ in range(8)]
        assert all(s.answer(t) == blob + blob for t in tickets)
    finally:
        s.close()


@pytest.mark.parametrize("name", ["linux612_c_checks", "missing_ts_compat_clear", "ts_compat_cleared_before_call"])
def test_same_findings_in_one_process(name, fixture_kernels, tmp_path):
    """The whole check with the TS_COMPAT process and without it: the same
    status and reason for every (obligation, site, variant)."""
    import json
    import subprocess
    import sys

    path = fixture_kernels(name)
    got = []
    for forking in ("1", "0"):
        out = tmp_path / f"r{forking}.json"
        env = dict(os.environ, SYSRET_VERIFY_PARALLEL=forking)
        subprocess.run([sys.executable, "-m", "verify.cli", "check", path, "--no-cache", "--format", "json",
                        "-o", str(out)], env=env, capture_output=True, text=True, timeout=600)
        doc = json.loads(out.read_text())
        got.append(sorted((o["id"], o["site"]["address"], o["variant"]["name"], o["status"])
                          for o in doc["obligations"]))
    assert got[0] == got[1]
    assert got[0]


def test_ready_reads_without_waiting():
    s = parallel.Server(lambda x: (__import__("time").sleep(x), x)[1])
    try:
        slow = s.ask(1.0)
        assert not s.ready([slow])  # the child is still sleeping: no wait here
        assert s.answer(slow) == 1.0 and s.ready([slow])
    finally:
        s.close()


@pytest.mark.parametrize("name", ["linux612_c_checks", "pti_exit_checks", "missing_canonical_check",
                                  "missing_ts_compat_clear"])
def test_early_decisions_change_no_finding(name, fixture_kernels, monkeypatch):
    """rounds._hold_without_ts_pins (obligations decided before the TS_COMPAT
    answers, without their pins) runs only when the answers are late, which on
    a small kernel they never are: forced here, every (obligation, site,
    variant) keeps its status, and it must have held something where the
    fixture is proven there."""
    from verify.image import KernelImage
    from verify.prove import check_image, rounds, tseffects

    def findings():
        res = check_image(KernelImage.open(fixture_kernels(name)), timeout=600)
        return sorted((f.obligation, f.site, f.variant, f.status) for f in res.findings)

    normal = findings()
    held = []
    orig = rounds._hold_without_ts_pins

    def spy(*a, **k):
        out = orig(*a, **k)
        held.extend(h for _q, h, _dt in out.values())
        return out

    monkeypatch.setattr(tseffects.TsEffects, "ready", lambda self, ex: False)
    monkeypatch.setattr(rounds, "_hold_without_ts_pins", spy)
    forced = findings()
    assert forced == normal and normal
    assert held, "the early pass did not run"
    if any(status == "proven" for *_r, status in normal):
        assert any(held), "the early pass held nothing at a site where obligations are proven"
