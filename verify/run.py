"""One proof of one kernel, shared by `check` and `batch`.

`prove(image, ...)` is the part of `check` between opening the image and
rendering: the result cache (verify/cache.py: key, load, store; an answer a
time budget cut short is never stored), the heartbeat, the engine.  `check`
calls it in its own process; `batch` runs `prove_one` (this module as a
program, `python -m verify.run`) in a fresh child process per kernel, so
every kernel is proven the way `check` proves it: in a main thread (the
prover's SIGALRM time limits work only there) and in a process that holds no
other proof's memory (the prover stops refinement at a resident size, so a
long-lived process would change answers).

This module must not import angr at import time: a cache hit costs a hash.
"""
from __future__ import annotations

import json
import os
import sys
import time

from .errors import InputError, Unsupported, VerifyError, internal_error

HEARTBEAT_SECONDS = 30.0

# exit statuses, as `check` uses them (verify/cli.py)
EXIT_PROVEN, EXIT_VIOLATED, EXIT_INPUT, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 4

ENGINES = ("summary",)


def check_engine(name: str) -> None:
    """`--engine` (or $SYSRET_VERIFY_ENGINE) names the prover: "summary", the
    only one.  The older path-merging engine ("merged", verify/engine.py until
    2026-12-07) gave wrong "proven" answers on unsafe fixtures (issue 9) and was
    removed; a script still asking for it gets this error, not another
    engine's answer in its place."""
    if name == "merged":
        raise InputError("the 'merged' engine was removed (it gave wrong 'proven' answers, issue 9); "
                         "use --engine summary (the default), or unset $SYSRET_VERIFY_ENGINE")
    if name not in ENGINES:
        raise InputError(f"unknown engine '{name}' (from --engine or $SYSRET_VERIFY_ENGINE): summary")


class heartbeat:
    """Without a terminal (CI logs), one line on stderr every
    HEARTBEAT_SECONDS while a proof runs, so a silent job is never mistaken
    for a hung one."""

    def __init__(self, name: str, enabled: bool):
        import threading

        self.name, self.enabled = name, enabled
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def _run(self):
        every = float(os.environ.get("SYSRET_VERIFY_HEARTBEAT") or HEARTBEAT_SECONDS)
        while not self._stop.wait(every):
            print(f"sysret-verify: {self.name}: still proving, {time.monotonic() - self._t0:.0f} s elapsed",
                  file=sys.stderr, flush=True)

    def __enter__(self):
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        return False


def prove(image, *, engine: str = "summary", timeout: float = 1800.0, system_map: str | None = None,
          use_cache: bool = True, quiet: bool = False, progress: bool = False):
    """(CheckResult, answered_from_cache) for an opened KernelImage: the
    cache first (before importing the engine and angr), else a proof, stored
    unless a budget cut it short."""
    from . import cache

    map_sha = getattr(image.symbols, "sha256", None) if system_map else None
    key = cache.key(image.sha256 + ":" + engine, system_map, map_sha) if use_cache else None
    result = cache.load(key, image.path, image.sha256) if key else None
    if result is not None:
        if not quiet:
            print(f"sysret-verify: {image.name}: answered from the cache ({cache.cache_dir()}; --no-cache to re-prove)",
                  file=sys.stderr)
        return result, True
    with heartbeat(image.name, enabled=not quiet and not sys.stderr.isatty()):
        from .prove import check_image

        result = check_image(image, timeout=timeout, progress=progress)
    if not image.elf.unchanged():
        # written while it was checked: the code read and the hash reported
        # may be of different bytes (review 174)
        raise InputError(f"{image.path}: the file changed while it was checked: check it again")
    # an answer a time budget cut short may differ on another run or
    # machine: it is not cached
    cut = result.budget_cut or any("timeout" in f.reason for f in result.findings if f.status != "proven")
    if key and not cut:
        cache.store(key, result)
    return result, False


def exit_status(verdict: str) -> int:
    return {"proven": EXIT_PROVEN, "violated": EXIT_VIOLATED}.get(verdict, EXIT_INCONCLUSIVE)


def prove_one(spec: dict, *, engine: str = "summary", timeout: float = 1800.0, use_cache: bool = True,
              html: bool = True) -> dict:
    """Prove one kernel named by `spec` ({"kind": "path", "path": P} or
    {"kind": "debian", "release": R}; a release is fetched and cached here,
    as `check --debian` does) and return a plain record, never raising:

      exit      the kernel's status as `check` would exit (0/1/3, 2 input
                error, 4 internal error)
      error     the one-line error when there is no result
      cached    answered from the result cache
      result    the JSON report (verify/report/json.py to_json) or None
      html      the self-contained HTML report (verify/report/html.py) or None
      seconds   wall time of this call (fetch + open + proof + render)
    """
    t0 = time.monotonic()
    rec = {"exit": EXIT_INTERNAL, "error": None, "cached": False, "result": None, "html": None}
    try:
        from .image import KernelImage
        from .report import to_json

        system_map = spec.get("system_map")
        if spec.get("kind") == "debian":
            from .fetch import debian_kernel

            path, _map = debian_kernel(spec["release"], quiet=True)
        else:
            path = spec["path"]
        image = KernelImage.open(path, system_map)
        # as check: the map the symbols came from (given, or found beside a vmlinuz) is part of the cache key
        result, rec["cached"] = prove(image, engine=engine, timeout=timeout,
                                      system_map=getattr(image, "system_map", system_map), use_cache=use_cache,
                                      quiet=True)
        rec["result"] = to_json(result)
        if html:
            from .report import render

            rec["html"] = render(result, "html", image=image)
        rec["exit"] = exit_status(result.verdict)
    except InputError as e:
        rec.update(exit=EXIT_INPUT, error=f"error: {e}")
    except (Unsupported, VerifyError, MemoryError) as e:
        rec.update(exit=EXIT_INCONCLUSIVE, error=f"inconclusive: {e or 'out of memory'}")
    except Exception as e:  # a bug in the tool: its own status, never a verdict
        rec.update(exit=EXIT_INTERNAL, error=internal_error(e))
    rec["seconds"] = round(time.monotonic() - t0, 3)
    return rec


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when the thread that started it dies (a
    batch worker killed mid-proof must not leave its proof running)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent and os.getppid() != parent:  # the parent died before prctl
        os._exit(EXIT_INTERNAL)


def _peak_mib() -> float | None:
    """This process's peak resident size (VmHWM).  Not the parent's wait4
    ru_maxrss: that also counts the parent's resident size at the exec
    (Linux carries the old address space's high-water mark over)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def main(argv=None) -> int:
    """`python -m verify.run REQUEST.json RECORD.json`: the child process
    batch starts per kernel.  REQUEST: {"spec", "engine", "timeout",
    "use_cache", "html"}; the record (prove_one) is written to RECORD."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m verify.run REQUEST.json RECORD.json", file=sys.stderr)
        return EXIT_INPUT
    _die_with_parent(int(os.environ.get("SYSRET_VERIFY_PARENT_PID") or 0))
    with open(argv[0]) as f:
        req = json.load(f)
    rec = prove_one(req["spec"], engine=req.get("engine", "summary"), timeout=float(req.get("timeout", 1800.0)),
                    use_cache=bool(req.get("use_cache", True)), html=bool(req.get("html", True)))
    rec["peak_mib"] = _peak_mib()
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    rec["cpu_seconds"] = round(ru.ru_utime + ru.ru_stime, 3)  # import included: the work, whatever the load
    tmp = argv[1] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rec, f)
    os.replace(tmp, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
