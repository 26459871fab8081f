"""Run `sysret-verify` in a child process that starts with the verifier and
angr already imported.

`python -m verify.cli check` on a fixture spends about 1.8 CPU-s importing
angr before a proof that often takes less; the adversarial tests run it
some 220 times.  Here each run is a child forked from a multiprocessing
fork server (standard library) that imported those modules once, so the
import is paid once per test process.

The child is what a command line run is, minus the import: a fresh process
per check, forked from a server that never ran one (no state of an earlier
proof can reach a later one), its own main thread (the prover's SIGALRM
limits), its own stdout/stderr, the caller's environment and working
directory, `verify.cli.main` with the arguments, its exit status, and the
atexit handlers run at the end as the interpreter would.  What it does not
reproduce is the import itself, which tests/test_cli_input.py and the
other subprocess tests still run the plain way.
"""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import tempfile

# what `check` imports on its way to a verdict (the fork server imports
# them once; a module not listed is imported in the child as usual)
PRELOAD = ["verify.cli", "verify.run", "verify.image", "verify.prove", "verify.prove.rounds", "verify.report",
           "angr", "claripy", "z3"]
_context = None


def _fork_server():
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _context = ctx
    return _context


def _child(argv, env, cwd, out_path, err_path):
    import atexit
    import sys

    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, path in ((1, out_path), (2, err_path)):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(f, fd)
        os.close(f)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    from verify.cli import main

    try:
        status = main(argv)
    except SystemExit as e:  # argparse's usage errors
        status = e.code if isinstance(e.code, int) else 2
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status or 0)


def run_cli(argv: list, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m verify.cli *argv`, forked from the fork server: a
    CompletedProcess with returncode, stdout and stderr (text).  env: the
    child's whole environment (default: this process's)."""
    with tempfile.TemporaryDirectory(prefix="clirun-") as d:
        out, err = os.path.join(d, "out"), os.path.join(d, "err")
        p = _fork_server().Process(target=_child, args=(list(argv), dict(os.environ if env is None else env), os.getcwd(), out, err))
        p.start()
        p.join(timeout)
        if p.is_alive():
            p.kill()
            p.join()
            raise subprocess.TimeoutExpired(["verify.cli", *argv], timeout)
        with open(out) as fo, open(err) as fe:
            return subprocess.CompletedProcess(["verify.cli", *argv], p.exitcode, fo.read(), fe.read())
