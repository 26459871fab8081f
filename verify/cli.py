"""Command line: `sysret-verify check|inspect|model`.

Exit status (stable, see README): 0 proven, 1 violated, 2 usage or input
error, 3 inconclusive.  Errors are one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

from . import __version__
from .errors import InputError, Unsupported, VerifyError

EXIT_PROVEN, EXIT_VIOLATED, EXIT_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors already; keep its message to one line."""

    def error(self, message):  # pragma: no cover - exercised through the CLI tests
        self.exit(EXIT_INPUT, f"sysret-verify: error: {message} (see --help)\n")


CHECK_FORMATS = ("text", "json", "sarif", "junit", "html")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sysret-verify",
        description="Prove that every path to SYSRET in a built x86-64 kernel is safe.",
        epilog="exit status: 0 proven, 1 violated (counterexample), 2 usage/input error, 3 inconclusive",
    )
    p.add_argument("--version", action="version", version=f"sysret-verify {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser("check", help="prove the SYSRET obligations on a vmlinux",
                       description="Prove, on a built vmlinux, that every path from entry_SYSCALL_64 to a "
                       "sysretq meets the six obligations (see `sysret-verify check --help`).",
                       epilog="exit status: 0 proven, 1 violated, 2 input error, 3 inconclusive")
    c.add_argument("image", metavar="IMAGE", help="vmlinux ELF (with or without DWARF)")
    c.add_argument("--system-map", metavar="FILE", help="System.map for an image without a symbol table")
    c.add_argument("--format", default="text", help="text (default), json, sarif, junit or html")
    c.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    c.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                   help="give up (inconclusive, exit 3) after this long; default 600")
    c.add_argument("--quiet", action="store_true", help="no progress on stderr")

    i = sub.add_parser("inspect", help="print what the verifier reads from an image",
                       description="Print symbols, version, build id, entry sites, struct layout and "
                       "boot-time patch sites the verifier uses.")
    i.add_argument("image", metavar="IMAGE")
    i.add_argument("--system-map", metavar="FILE")
    i.add_argument("--format", default="text", help="text (default) or json")
    i.add_argument("-o", "--output", metavar="FILE")

    try:
        from models.cli import add_parser as add_model_parser
    except ImportError:  # models not built yet
        add_model_parser = None
    if add_model_parser is not None:
        add_model_parser(sub)
    return p


def _write(text: str, output: str | None) -> None:
    if output:
        try:
            with open(output, "w") as f:
                f.write(text)
        except OSError as e:
            raise InputError(f"{output}: cannot write: {e.strerror}") from None
    else:
        sys.stdout.write(text)


def _cmd_inspect(args) -> int:
    if args.format not in ("text", "json"):
        raise InputError(f"unknown --format '{args.format}' for inspect (text or json)")
    from .image import KernelImage
    from .inspect import render

    image = KernelImage.open(args.image, args.system_map)
    _write(render(image, args.format), args.output)
    return 0


def _cmd_check(args) -> int:
    if args.format not in CHECK_FORMATS:
        raise InputError(f"unknown --format '{args.format}' ({', '.join(CHECK_FORMATS)})")
    if args.timeout <= 0:
        raise InputError("--timeout must be positive")
    from .image import KernelImage

    image = KernelImage.open(args.image, args.system_map)
    try:
        from .engine import check_image
    except ImportError:
        print(f"{image.name}: inconclusive: the prover is not implemented yet", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    from .report import render_result

    result = check_image(image, timeout=args.timeout, progress=not args.quiet and sys.stderr.isatty())
    _write(render_result(result, args.format), args.output)
    return {"proven": EXIT_PROVEN, "violated": EXIT_VIOLATED}.get(result.verdict, EXIT_INCONCLUSIVE)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return _cmd_check(args)
        if args.command == "inspect":
            return _cmd_inspect(args)
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


if __name__ == "__main__":
    sys.exit(main())
