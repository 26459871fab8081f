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
