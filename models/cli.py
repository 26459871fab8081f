"""`sysret-verify model prove|table`.

API used by verify/cli.py:
    add_parser(subparsers)  adds the `model` command (subcommands `prove`, `table`)
    run(args) -> int        exit status: 0 all properties proven, 1 a
                            counterexample exists, 2 bad arguments (one line on
                            stderr), 3 inconclusive (z3 unknown or bounded only)
`model table` exits 0 when every cell was decided (proven or violated: the
table is a report), 3 if any cell is inconclusive or vacuous.  A "vacuous"
property (proof without a reachability witness for every event and exit) is
never reported as proven.

Standalone: python -m models.cli model prove --design force-iret --flag-sites all
"""
from __future__ import annotations

import argparse
import json
import re
import sys

from verify.errors import InputError

from .designs import COMPAT_CHECKS, DESIGNS, EXTRA_SITES, SITES, STOPS, make_design

EXIT_PROVEN, EXIT_VIOLATED, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def add_parser(subparsers) -> argparse.ArgumentParser:
    m = subparsers.add_parser(
        "model", help="prove SYSRET-vs-IRET designs on z3 state-machine models",
        description="State-machine models of how a kernel decides between SYSRET and IRET, "
        "proved with z3: safety (no SYSRET faults in ring 0) and equivalence (the user sees "
        "what checking on every exit gives).",
        epilog="exit status: 0 proven, 1 counterexample, 2 usage error, 3 inconclusive")
    sub = m.add_subparsers(dest="model_command", metavar="SUBCOMMAND")
    p = sub.add_parser("prove", help="prove safety and equivalence for one design",
                       epilog="exit status: 0 proven, 1 counterexample, 2 usage error, 3 inconclusive")
    p.add_argument("--design", required=True, help=f"one of {', '.join(DESIGNS)}")
    p.add_argument("--flag-sites", metavar="S",
                   help=f"force-iret/gerst: comma list of {','.join(SITES)}, all, all-but-SITE or none, "
                   f"plus optionally {','.join(EXTRA_SITES)} (a user-set TF at SYSCALL forces IRET); "
                   "gerst defaults to ptrace,sigreturn,exec (as proposed)")
    p.add_argument("--stops", metavar="K", help=f"force-iret-at-stops: comma list of {','.join(STOPS)}")
    p.add_argument("--no-top-page-guard", action="store_true",
                   help="allow user code in the last page below the canonical boundary")
    p.add_argument("--cpu", default="intel", help="intel (default) or amd")
    p.add_argument("--la57", action="store_true", help="5-level paging: 57-bit canonical, TASK_SIZE_MAX 2^56-4096")
    p.add_argument("--flag-test", default="after", metavar="WHERE",
                   help="flag designs: test the flag before or after (default) the exit-work loop")
    p.add_argument("--no-ts-compat-clear", action="store_true",
                   help="the exit does not clear TS_COMPAT (arch_exit_to_user_mode_prepare removed)")
    p.add_argument("--compat-checks", metavar="C",
                   help=f"compat-sysretl: do_fast_syscall_32 tests to keep, comma list of "
                   f"{','.join(COMPAT_CHECKS)} (default all)")
    p.add_argument("--format", default="text", help="text (default) or json")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--max-depth", type=int, default=8, metavar="N",
                   help="give up (inconclusive) after N events without proof or counterexample")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="per z3 query")
    t = sub.add_parser("table", help="the table of designs x properties (models/README.md)")
    t.add_argument("--format", default="text", help="text (default), json or markdown")
    t.add_argument("--sources", action="store_true", help="also print every event's source citations")
    t.add_argument("--readme", metavar="FILE",
                   help="rewrite the table and the event sources between the model-table/model-sources "
                   "markers of FILE (models/README.md)")
    t.add_argument("-o", "--output", metavar="FILE")
    t.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    return m


def _err(msg: str) -> int:
    print(f"sysret-verify: error: {msg}", file=sys.stderr)
    return EXIT_USAGE


from verify.output import write_output as _write  # noqa: E402


def run(args) -> int:
    try:
        cmd = getattr(args, "model_command", None)
        if cmd == "prove":
            return _prove(args)
        if cmd == "table":
            return _table(args)
        return _err("model needs a subcommand: prove or table")
    except InputError as e:  # UsageError is an InputError
        return _err(str(e))


def _prove(args) -> int:
    from .prove import INCONCLUSIVE, VACUOUS, VIOLATED
    from .report import design_json, design_text
    from .table import run_design

    if args.format not in ("text", "json"):
        return _err(f"unknown --format '{args.format}' for model prove (text or json)")
    if args.max_depth < 0 or args.timeout <= 0:
        return _err("--max-depth must be >= 0 and --timeout positive")
    kw = dict(name=args.design, flag_sites=args.flag_sites, stops=args.stops,
              top_page_guard=not args.no_top_page_guard, cpu=args.cpu, la57=args.la57,
              flag_test=args.flag_test, ts_compat_clear=not args.no_ts_compat_clear,
              compat_checks=args.compat_checks)
    make_design(**kw)  # validate before any solving
    d, results = run_design(kw, args.max_depth, int(args.timeout * 1000))
    if args.format == "json":
        text = json.dumps(design_json(d, results), indent=2) + "\n"
    else:
        text = design_text(d, results)
    _write(text, args.output)
    st = [r.status for r in results]
    if VIOLATED in st:
        return EXIT_VIOLATED
    if INCONCLUSIVE in st or VACUOUS in st:
        return EXIT_INCONCLUSIVE
    return EXIT_PROVEN


def _table(args) -> int:
    from .report import design_json
    from .table import render_markdown, render_sources, render_text, run_table

    if args.format not in ("text", "json", "markdown"):
        return _err(f"unknown --format '{args.format}' for model table (text, json or markdown)")
    if args.jobs < 1:
        return _err("--jobs must be >= 1")
    if args.readme:
        try:
            with open(args.readme, encoding="utf-8") as f:
                old = f.read()
        except OSError as e:
            return _err(f"cannot read {args.readme}: {e.strerror}")
        if "<!-- model-table:begin -->" not in old or "<!-- model-sources:begin -->" not in old:
            return _err(f"{args.readme} has no model-table/model-sources markers")
    rows, secs = run_table(jobs=args.jobs)
    if args.readme:
        new = _splice(old, "model-table", render_markdown(rows).rstrip("\n"))
        new = _splice(new, "model-sources", render_sources().rstrip("\n"))
        new = re.sub(r"wall time for the run that wrote this table: [0-9.]+ s",
                     f"wall time for the run that wrote this table: {secs:.1f} s", new)
        _write(new, args.readme)
    if args.format == "json":
        text = json.dumps({"seconds": round(secs, 2), "rows": [
            {**design_json(d, rs), "expected": {"safety": exp[0], "equivalence": exp[1], "why": why},
             "sources": [str(s) for s in src]} for d, rs, exp, why, src in rows]}, indent=2) + "\n"
    elif args.format == "markdown":
        text = render_markdown(rows) + f"\nwall time: {secs:.1f} s\n"
        if args.sources:
            text += "\n" + render_sources()
    else:
        text = render_text(rows) + f"\nwall time: {secs:.1f} s\n"
        if args.sources:
            text += "\n" + render_sources()
    _write(text, args.output)
    return EXIT_INCONCLUSIVE if any(r.status in ("inconclusive", "vacuous")
                                    for _, rs, *_ in rows for r in rs) else 0


def _splice(text: str, name: str, body: str) -> str:
    a, b = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    i, j = text.index(a) + len(a), text.index(b)
    return text[:i] + "\n" + body + "\n" + text[j:]


def main(argv=None) -> int:
    class P(argparse.ArgumentParser):
        def error(self, message):
            self.exit(EXIT_USAGE, f"sysret-verify: error: {message} (see --help)\n")

    parser = P(prog="python -m models.cli")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=P)
    add_parser(sub)
    args = parser.parse_args(argv)
    if args.command != "model":
        return _err("the only command here is `model`")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
