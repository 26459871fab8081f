"""Command line: `sysret-verify check|batch|inspect|model`.

Exit status (stable, see README): 0 proven, 1 violated, 2 usage or input
error, 3 inconclusive, 4 internal error (a bug in the tool, never a verdict).
Errors are one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .errors import InputError, Unsupported, VerifyError, internal_error

EXIT_PROVEN, EXIT_VIOLATED, EXIT_INPUT, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors already; keep its message to one line."""

    def error(self, message):  # pragma: no cover - exercised through the CLI tests
        self.exit(EXIT_INPUT, f"sysret-verify: error: {message} (see --help)\n")


CHECK_FORMATS = ("text", "json", "sarif", "junit", "html")


def build_parser(with_model: bool = True) -> argparse.ArgumentParser:
    """The whole command line; with_model=False leaves out the `model`
    command, whose parser imports the models (~50 ms of every `check`'s
    start otherwise)."""
    p = _Parser(
        prog="sysret-verify",
        description="Prove that every path to SYSRET in a built x86-64 kernel is safe.",
        epilog="exit status: 0 proven, 1 violated (counterexample), 2 usage/input error, 3 inconclusive, "
               "4 internal error (a bug in the tool)",
    )
    p.add_argument("--version", action="version", version=f"sysret-verify {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser("check", help="prove the SYSRET obligations on a vmlinux",
                       description="Prove, on a built vmlinux (or bzImage), that every path from each "
                       "SYSCALL/SYSENTER entry (entry_SYSCALL_64, entry_SYSCALL_compat, entry_SYSENTER_compat, "
                       "the ignore stubs) to a SYSRET of either width meets that SYSRET's obligations: the six "
                       "of the SYSRET CVEs (rcx-is-rip, canonical-rip, r11-is-rflags, rflags-no-rf-tf, "
                       "user-cs-ss, ts-compat-clear), the return-to-user contract (user-rsp, user-gs, user-cr3, "
                       "no-kernel-data); at a sysretl, compat-user-cs and compat-landing-pad take the place of "
                       "rcx-is-rip, canonical-rip and user-cs-ss (docs/CATALOGUE.md has each with its fix).",
                       epilog="exit status: 0 proven, 1 violated, 2 input error, 3 inconclusive, 4 internal error.  "
                       "Without a terminal, a heartbeat line goes to stderr every 30 s; every run ends with a "
                       "one-line summary on stderr.")
    c.add_argument("image", metavar="IMAGE", nargs="?",
                   help="vmlinux ELF (with or without DWARF), or a bzImage such as /boot/vmlinuz-RELEASE (symbols "
                        "from kallsyms in the image, or from a real System.map-RELEASE beside it)")
    c.add_argument("--debian", metavar="RELEASE",
                   help="instead of IMAGE: fetch (once, cached) and check Debian's kernel RELEASE, e.g. "
                        "6.1.0-50-cloud-amd64 (apt-get download of linux-image-RELEASE-dbg; needs the apt lists, "
                        "i.e. `apt-get update` once; cache: $SYSRET_VERIFY_KERNELS, else "
                        "$XDG_CACHE_HOME/sysret-verify/kernels)")
    c.add_argument("--system-map", metavar="FILE",
                   help="System.map for an image without a symbol table (a bzImage: instead of kallsyms; it must "
                        "agree with them; Debian's placeholder map is ignored)")
    c.add_argument("--format", default="text", help="text (default), json, sarif, junit or html")
    c.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    for fmt in CHECK_FORMATS:
        c.add_argument(f"--{fmt}", metavar="FILE", dest=f"also_{fmt}",
                       help=f"also write the {fmt} report to FILE (one proof, several formats)")
    c.add_argument("--source-root", metavar="DIR",
                   help="the kernel source tree as the build recorded it (where make ran, or the tree of an O= "
                        "build; need not exist here): source paths from DWARF under DIR are given relative to it "
                        "(text `file:line:`, SARIF URIs with uriBaseId SRCROOT = DIR, for GitHub code scanning); "
                        "paths outside it stay absolute.  Default: relative paths as recorded, absolute ones relative "
                        "to the compilation directory when under it, else from their first kernel top-level "
                        "directory (arch/, include/, ...) on (a guess)")
    c.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                   help="give up (inconclusive, exit 3) after this long; default 1800")
    c.add_argument("--engine", default=os.environ.get("SYSRET_VERIFY_ENGINE") or "summary", metavar="summary",
                   help="the prover (verify/prove/); the only one since the older path-merging engine, which gave "
                   "wrong 'proven' answers (issue 9), was removed.  Kept so that scripts passing it keep working; "
                   "default from $SYSRET_VERIFY_ENGINE")
    c.add_argument("--quiet", action="store_true", help="no progress on stderr")
    c.add_argument("--no-cache", action="store_true",
                   help="do not answer from (nor store into) the result cache "
                        "($SYSRET_VERIFY_CACHE, else $XDG_CACHE_HOME/sysret-verify/results)")
    c.add_argument("--baseline", metavar="FILE",
                   help="accepted findings (JSON, by fingerprint): they are reported but do not fail; "
                        "exit 0 when every violated/inconclusive finding is accepted; stale entries are listed")
    c.add_argument("--write-baseline", metavar="FILE",
                   help="write every violated/inconclusive finding of this run to FILE as accepted "
                        "(keeps the comments of --baseline), then exit as if FILE were the baseline")

    b = sub.add_parser(
        "batch", help="verify many kernels at once (local pool or Dask cluster) with one summary",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Verify a fleet of kernels in parallel, one result per kernel (keyed by build id), and "
        "write one summary: a table on stdout, DIR/summary.json, DIR/index.html linking each kernel's own "
        "HTML and JSON report (DIR/reports/).  Each kernel is proven as `check` proves it (same cache), in "
        "its own process.",
        epilog="inputs:\n"
        "  kernel image         an ELF vmlinux, or a bzImage/vmlinuz (as `check` takes them)\n"
        "  directory            every file named vmlinux* in it (and below) that is an x86-64 ELF executable,\n"
        "                       and every vmlinuz*/bzImage* with a boot header\n"
        "  Debian release       e.g. 6.1.0-50-cloud-amd64: fetched and cached on the machine that proves it\n"
        "                       (as `check --debian`)\n"
        "  list file            a text file naming one of the above per line (# comments; paths relative to it)\n"
        "\n"
        "exit status: the worst verdict, in the order proven (0) < inconclusive (3) < violated (1);\n"
        "  2 usage error, or a kernel that could not be read; 4 if any kernel hit an internal error.\n"
        "  Progress: one line on stderr per finished kernel.\n"
        "\n"
        "cluster: `dask scheduler` on one machine, `dask worker ADDRESS` on each (sysret-verify installed\n"
        "  with its `cluster` extra); kernel paths must be readable at the same path on every worker, release\n"
        "  names need nothing shared.  A worker lost mid-proof has its kernels proven again elsewhere.")
    b.add_argument("inputs", metavar="INPUT", nargs="*",
                   help="vmlinux images, directories, Debian release names or list files")
    b.add_argument("--debian", metavar="RELEASE", action="append",
                   help="a Debian kernel release (repeatable); the same as naming it as an INPUT")
    where = b.add_mutually_exclusive_group()
    where.add_argument("-j", "--jobs", type=int, metavar="N",
                       help="local pool: prove N kernels at once (default: the number of cores; each proof "
                            "needs ~400 MiB-1 GiB)")
    where.add_argument("--cluster", metavar="ADDRESS",
                       help="run on the Dask scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786) instead of a "
                            "local pool")
    b.add_argument("--retries", type=int, default=2, metavar="N",
                   help="--cluster: re-run a task that failed on its worker up to N times (default 2); tasks of a "
                        "worker that died are rescheduled by the scheduler in any case")
    b.add_argument("-o", "--output-dir", metavar="DIR", default="sysret-verify-batch",
                   help="where summary.json, index.html and reports/ go (default ./sysret-verify-batch)")
    b.add_argument("--json", metavar="FILE", help="also write the JSON summary to FILE")
    b.add_argument("--html", metavar="FILE", help="also write the HTML summary to FILE")
    b.add_argument("--baseline", metavar="SUMMARY",
                   help="an earlier batch's summary.json: show what changed (verdicts, obligations, images; "
                        "kernels new and gone); does not change the exit status")
    b.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                   help="per kernel: give up (inconclusive) after this long; default 1800")
    b.add_argument("--engine", default=os.environ.get("SYSRET_VERIFY_ENGINE") or "summary", metavar="summary",
                   help="as for check")
    b.add_argument("--no-cache", action="store_true",
                   help="prove every kernel even when the result cache (on the machine proving it) has it")
    b.add_argument("--quiet", action="store_true", help="no progress on stderr")

    i = sub.add_parser("inspect", help="print what the verifier reads from an image",
                       description="Print symbols, version, build id, entry sites, struct layout and "
                       "boot-time patch sites the verifier uses.")
    i.add_argument("image", metavar="IMAGE")
    i.add_argument("--system-map", metavar="FILE")
    i.add_argument("--format", default="text", help="text (default) or json")
    i.add_argument("-o", "--output", metavar="FILE")
    i.add_argument("--sha256", action="store_true", help="also hash the image (costs ~0.5 s per 600 MB)")

    if with_model:
        from models.cli import add_parser as add_model_parser

        add_model_parser(sub)
    return p


from .output import write_output as _write  # noqa: E402


def _cmd_inspect(args) -> int:
    if args.format not in ("text", "json"):
        raise InputError(f"unknown --format '{args.format}' for inspect (text or json)")
    from .image import KernelImage
    from .inspect import render

    image = KernelImage.open(args.image, args.system_map, hash_image=args.sha256)
    _notes(image, quiet=False)
    _write(render(image, args.format, with_sha256=args.sha256), args.output)
    return 0


def _cmd_check(args) -> int:
    if args.format not in CHECK_FORMATS:
        raise InputError(f"unknown --format '{args.format}' ({', '.join(CHECK_FORMATS)})")
    if args.timeout <= 0:
        raise InputError("--timeout must be positive")
    from .run import check_engine

    check_engine(args.engine)
    from . import baseline as bl
    from .image import KernelImage
    from .run import prove

    if (args.image is None) == (args.debian is None):
        raise InputError("give either IMAGE or --debian RELEASE (see --help)")
    # report paths are checked before the proof, so a typo does not cost it
    for path in [args.output, args.write_baseline] + [getattr(args, f"also_{f}", None) for f in CHECK_FORMATS]:
        if path and (os.path.isdir(path) or not os.path.isdir(os.path.dirname(os.path.abspath(path)))):
            raise InputError(f"{path}: cannot write a report there (a directory, or its directory does not exist)")
    prior = bl.load(args.baseline) if args.baseline else None
    if args.debian:
        from .fetch import debian_kernel

        args.image, _map = debian_kernel(args.debian, quiet=args.quiet)
    image = KernelImage.open(args.image, args.system_map)
    _notes(image, args.quiet)
    progress = not args.quiet and sys.stderr.isatty()
    # The cache lookup comes before importing the engine (and angr): a hit costs the image hash only.
    # the map the symbols came from (given, or a real System.map found beside a vmlinuz) is part of the cache key
    result, _cached = prove(image, engine=args.engine, timeout=args.timeout, system_map=image.system_map,
                            use_cache=not args.no_cache, quiet=args.quiet, progress=progress)
    if args.write_baseline:
        n = bl.write(args.write_baseline, result, prior)
        if not args.quiet:
            print(f"sysret-verify: wrote {n} accepted finding(s) to {args.write_baseline}", file=sys.stderr)
        prior = bl.load(args.write_baseline)
    from .report import annotate, render

    # one annotation (baseline, DWARF source lines) for every format written
    with annotate(result, image, prior, args.source_root) as annotated:
        _write(render(annotated, args.format), args.output)
        for fmt in CHECK_FORMATS:
            path = getattr(args, f"also_{fmt}", None)
            if path:
                _write(render(annotated, fmt), path)
    if not args.quiet and (args.output or args.format != "text"):
        from .report import summary_line

        print(f"sysret-verify: {summary_line(result)}", file=sys.stderr)
    if prior is not None:
        applied = bl.apply(result, prior)
        for f, e in applied.accepted:
            if not args.quiet:
                print(f"{image.name}: note: {f.site_symbol}: {f.obligation}: {f.status} but accepted by the baseline "
                      f"[variant {f.variant}]" + (f": {e['comment']}" if e.get("comment") else ""), file=sys.stderr)
        for e in applied.stale:
            print(f"{prior.path}: warning: stale baseline entry {e['fingerprint']} ({e.get('obligation', '?')} at "
                  f"{e.get('site_symbol', '?')}, variant {e.get('variant', '?')}): no such violated or inconclusive "
                  "finding now; remove it", file=sys.stderr)
        return bl.exit_status(result, applied)
    return {"proven": EXIT_PROVEN, "violated": EXIT_VIOLATED}.get(result.verdict, EXIT_INCONCLUSIVE)


def _notes(image, quiet: bool) -> None:
    if not quiet:
        for note in getattr(image, "notes", ()):
            print(f"sysret-verify: note: {note}", file=sys.stderr)


def main(argv=None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(with_model=not words or words[0] not in ("check", "batch", "inspect"))
    args = parser.parse_args(words)
    try:
        if args.command == "check":
            return _cmd_check(args)
        if args.command == "inspect":
            return _cmd_inspect(args)
        if args.command == "batch":
            from .batch import run_batch

            return run_batch(args)
        if args.command == "model":
            from models.cli import run as run_model

            return run_model(args)
        parser.print_help(sys.stderr)
        return EXIT_INPUT
    except InputError as e:
        print(f"sysret-verify: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except Unsupported as e:
        print(f"sysret-verify: inconclusive: {e}", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    except VerifyError as e:
        print(f"sysret-verify: error: {e}", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    except KeyboardInterrupt:
        print("sysret-verify: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("sysret-verify: inconclusive: out of memory", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    except BrokenPipeError:
        return EXIT_INPUT
    except Exception as e:  # a bug in the tool: its own status, never a verdict
        print(f"sysret-verify: {internal_error(e)} (a bug in sysret-verify; set SYSRET_VERIFY_DEBUG=1 for the "
              "traceback)", file=sys.stderr)
        if os.environ.get("SYSRET_VERIFY_DEBUG") == "1":
            raise
        return EXIT_INTERNAL


# Commands whose process may end without the interpreter's teardown: they
# start no processes or threads that need it (a check's TS_COMPAT process is
# reaped before its result is written; the image's hashing thread is a
# daemon) and write their reports through files they close.
_FAST_EXIT_COMMANDS = ("check", "inspect")


def run(argv=None) -> None:
    """The `sysret-verify` command: main(), then, for check and inspect,
    os._exit after flushing stdout and stderr.  The teardown frees a
    check's few hundred MiB of terms object by object: 0.2-0.25 s of a
    6 s check of the 6.12 kernel, after the answer is out."""
    argv = sys.argv[1:] if argv is None else argv
    status = main(argv)
    if argv and argv[0] in _FAST_EXIT_COMMANDS:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            status = EXIT_INPUT
        os._exit(status if isinstance(status, int) else 0)
    sys.exit(status)


if __name__ == "__main__":
    run()
