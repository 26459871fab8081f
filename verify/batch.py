"""`sysret-verify batch`: verify a fleet of kernels, one result per input.

Pass order:

1. **inputs** (`collect_inputs`): image paths (vmlinux or bzImage/vmlinuz,
   as `check` takes), directories (every file named `vmlinux*` that is an
   x86-64 ELF executable, or `vmlinuz*`/`bzImage*` with a boot header,
   recursively), Debian
   release names, and list files (one input per line, `#` comments, paths
   relative to the list).  Bad inputs are refused before anything runs
   (one line, exit 2).
2. **run**: each input becomes one task `run_child(spec, options)`, which
   proves that kernel in a fresh child process (`python -m verify.run`,
   verify/run.py `prove_one`: the same code as `check`, cache included) and
   returns a plain record.  A fresh process per kernel because the prover's
   time limits use SIGALRM (main thread only; Dask runs tasks in threads) and
   its refinement stops at a resident size (a process that held another
   proof would answer differently); it also gives each kernel its own peak
   memory (wait4) and makes a crash one kernel's internal error.  The
   tasks run on a local pool (`--jobs N`, threads that each wait for one
   child) or on a Dask cluster (`--cluster ADDRESS`): the task carries the
   release name or path, never the kernel's bytes, so a kernel is fetched
   on the worker that proves it; Dask reschedules the tasks of a worker
   that dies, and results are collected by task, one per input.
3. **summary**: a table on stdout, `summary.json` and `index.html` in the
   output directory, each kernel's own HTML and JSON report under
   `reports/`; with `--baseline` (an earlier `summary.json`) what changed.

Exit status: the worst verdict, in the order proven (0) < inconclusive (3)
< violated (1); a kernel that could not be read (input error) makes it 2
and an internal error 4, which outrank every verdict (the batch's answer is
incomplete).  See `batch_exit`.
"""
from __future__ import annotations

import datetime
import html
import json
import os
import re
import sys
import time
import uuid

from . import __version__
from .errors import InputError
from .run import EXIT_INCONCLUSIVE, EXIT_INPUT, EXIT_INTERNAL, EXIT_PROVEN, EXIT_VIOLATED, check_engine

SCHEMA_VERSION = 1  # docs/schema/batch-summary.schema.json
KIND = "sysret-verify-batch"
# A kernel's child process is killed after --timeout plus this long (the
# prover stops itself at --timeout; this covers fetching a Debian package,
# ~280 MB, and rendering).
HARD_LIMIT_GRACE = 900.0

# --- exit status ------------------------------------------------------------------------

# Severity of a kernel's verdict: proven < inconclusive < violated.
SEVERITY = {EXIT_PROVEN: 0, EXIT_INCONCLUSIVE: 1, EXIT_VIOLATED: 2}


def batch_exit(statuses) -> int:
    """The batch's exit status from its kernels' `check`-style statuses:
    4 if any kernel hit an internal error, else 2 if any could not be read
    (input error), else the worst verdict: 1 violated > 3 inconclusive > 0
    proven.  An empty batch is a usage error (2)."""
    statuses = list(statuses)
    if not statuses:
        return EXIT_INPUT
    if EXIT_INTERNAL in statuses:
        return EXIT_INTERNAL
    if EXIT_INPUT in statuses:
        return EXIT_INPUT
    return max(statuses, key=lambda s: SEVERITY.get(s, SEVERITY[EXIT_INCONCLUSIVE]))


# --- inputs ------------------------------------------------------------------------------

_RELEASE = re.compile(r"^[0-9]+\.[0-9]+[A-Za-z0-9.+~_-]*$")  # as verify/fetch.py accepts


def _is_release(s: str) -> bool:
    return "/" not in s and bool(_RELEASE.match(s))


def _image_kind(path: str):
    """'vmlinux' for an x86-64 ELF executable, 'bzimage' for a bzImage /
    vmlinuz (the boot header's "HdrS"), 'elf' for another ELF, None for
    anything else (or unreadable)."""
    from .image.bzimage import HDRS_OFFSET, is_bzimage

    try:
        with open(path, "rb") as f:
            head = f.read(HDRS_OFFSET + 4)
    except OSError:
        return None
    if head[:4] == b"\x7fELF":
        if len(head) >= 20 and head[4] == 2 and head[5] == 1 and head[16:18] == b"\x02\x00" and \
                head[18:20] == b"\x3e\x00":
            return "vmlinux"
        return "elf"
    return "bzimage" if is_bzimage(head) else None


def _scan_dir(d: str) -> list[str]:
    """Every kernel below `d`: files named vmlinux* that are x86-64 ELF
    executables, and files named vmlinuz* or bzImage* with a boot header."""
    found = []
    for dirpath, dirnames, files in os.walk(d):
        dirnames[:] = sorted(x for x in dirnames if not x.startswith("."))
        for name in sorted(files):
            p = os.path.join(dirpath, name)
            if not os.path.isfile(p):
                continue
            if name.startswith("vmlinux") and _image_kind(p) == "vmlinux":
                found.append(p)
            elif name.startswith(("vmlinuz", "bzImage")) and _image_kind(p) == "bzimage":
                found.append(p)
    return found


def _path_spec(p: str) -> dict:
    p = os.path.abspath(p)
    return {"kind": "path", "path": p, "input": p}


def _debian_spec(r: str) -> dict:
    return {"kind": "debian", "release": r, "input": r}


def _read_list(path: str) -> list[tuple[str, str]]:
    """(entry, where) for each entry of a list file; `where` is FILE:LINE."""
    try:
        with open(path, "rb") as f:
            raw = f.read((1 << 20) + 1)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    if len(raw) > 1 << 20 or b"\0" in raw:
        raise InputError(f"{path}: neither a kernel image (ELF) nor a list of kernels (text, one per line)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: neither a kernel image (ELF) nor a list of kernels (text, one per line)") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            out.append((entry, f"{path}:{n}"))
    return out


def _resolve(entry: str, where: str | None, base: str, in_list: bool) -> list[dict]:
    shown = f"{where}: '{entry}'" if where else entry
    p = os.path.expanduser(entry)
    if not os.path.isabs(p):
        p = os.path.join(base, p)
    if os.path.isdir(p):
        found = _scan_dir(p)
        if not found:
            raise InputError(f"{shown}: no kernel in this directory (files named vmlinux* that are x86-64 ELF "
                             "executables, or vmlinuz*/bzImage* with a boot header)")
        return [_path_spec(x) for x in found]
    if os.path.exists(p):
        if not os.path.isfile(p):
            raise InputError(f"{shown}: not a regular file, a directory or a Debian release name")
        if _image_kind(p):
            return [_path_spec(p)]
        if in_list:
            raise InputError(f"{shown}: a list file inside a list file (give kernels, directories or releases)")
        entries = _read_list(p)
        if not entries:
            raise InputError(f"{shown}: names no kernel (a list file: one image, directory or release per line)")
        return [s for e, w in entries for s in _resolve(e, w, os.path.dirname(os.path.abspath(p)), True)]
    if _is_release(entry):
        return [_debian_spec(entry)]
    raise InputError(f"{shown}: no such file or directory, nor a Debian release name (e.g. 6.1.0-50-cloud-amd64)")


def collect_inputs(inputs, releases=()) -> list[dict]:
    """Specs for every kernel the arguments name, in order, duplicates
    dropped (the same resolved path or release once)."""
    specs = []
    for entry in inputs:
        if not entry:
            raise InputError("an empty input name")
        specs.extend(_resolve(entry, None, os.getcwd(), False))
    for r in releases:
        if not _is_release(r):
            raise InputError(f"--debian '{r}' is not a Debian kernel release (e.g. 6.1.0-50-cloud-amd64)")
        specs.append(_debian_spec(r))
    out, seen = [], set()
    for s in specs:
        if s["input"] not in seen:
            seen.add(s["input"])
            out.append(s)
    if not out:
        raise InputError("no kernels given (image paths, directories, Debian release names or list files)")
    return out


# --- one kernel, in a fresh process --------------------------------------------------------


def _error_record(error: str, status: int) -> dict:
    return {"exit": status, "error": error, "cached": False, "result": None, "html": None, "seconds": 0.0}


def run_child(spec: dict, options: dict) -> dict:
    """Prove one kernel in a child process and return its record
    (verify/run.py `prove_one`) plus `elapsed` (wall time here, process
    start and angr import included), `peak_mib` (the child's peak resident
    size) and `worker` (host:pid).  Never raises for a kernel's failure.
    This is the task a Dask worker runs: it needs only the installed
    package, and the kernel named by `spec` is read (or fetched) here."""
    import socket
    import subprocess
    import tempfile
    import threading

    t0 = time.monotonic()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="sysret-verify-batch-") as tmp:
        req, out, err_path = (os.path.join(tmp, n) for n in ("request.json", "record.json", "stderr"))
        with open(req, "w") as f:
            json.dump({"spec": spec, **options}, f)
        env = dict(os.environ, SYSRET_VERIFY_PARENT_PID=str(os.getpid()))
        with open(err_path, "w+") as err:
            p = subprocess.Popen([sys.executable, "-m", "verify.run", req, out], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=err, env=env)
            lock, done, killed = threading.Lock(), [False], [False]

            def hard_kill():
                with lock:
                    if not done[0]:
                        killed[0] = True
                        p.kill()

            timer = threading.Timer(float(options.get("timeout", 1800.0)) + HARD_LIMIT_GRACE, hard_kill)
            timer.daemon = True
            timer.start()
            # wait without reaping, so the timer can never signal a reused pid
            os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
            with lock:
                done[0] = True
            timer.cancel()
            _pid, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            tail = [ln for ln in err.read().splitlines() if ln.strip()][-1:]
        rec = None
        if p.returncode == 0 and os.path.exists(out):
            try:
                with open(out) as f:
                    rec = json.load(f)
            except (OSError, ValueError):
                rec = None
        if rec is None:
            if killed[0]:
                rec = _error_record(f"inconclusive: no answer within --timeout + {HARD_LIMIT_GRACE:.0f} s; "
                                    "the proof process was killed", EXIT_INCONCLUSIVE)
            elif p.returncode < 0:
                rec = _error_record(f"internal error: the proof process died of signal {-p.returncode}"
                                    + (" (out of memory?)" if -p.returncode == 9 else ""), EXIT_INTERNAL)
            else:
                rec = _error_record(f"internal error: the proof process exited {p.returncode} without an answer"
                                    + (f": {tail[0][:300]}" if tail else ""), EXIT_INTERNAL)
    rec["elapsed"] = round(time.monotonic() - t0, 3)
    if rec.get("peak_mib") is None:  # the child's own VmHWM, else wait4's (which includes this process's size)
        rec["peak_mib"] = round(usage.ru_maxrss / 1024.0, 1)
    rec["worker"] = worker
    return rec


# --- runners -------------------------------------------------------------------------------


def run_local(specs, options, jobs: int, on_done) -> None:
    """A local pool: `jobs` threads, each waiting for one child process."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="batch") as pool:
        futs = {pool.submit(run_child, s, options): i for i, s in enumerate(specs)}
        for f in as_completed(futs):
            i = futs[f]
            try:
                rec = f.result()
            except Exception as e:  # run_child itself failed (cannot start a process, disk full ...)
                rec = _error_record(f"internal error: {type(e).__name__}: {str(e)[:300]}", EXIT_INTERNAL)
            on_done(i, rec)


def run_cluster(specs, options, address: str, on_done, retries: int = 2, quiet: bool = False) -> int:
    """Dask distributed: one task per kernel on the scheduler at `address`.
    A task whose worker dies is rescheduled by the scheduler (up to its
    `distributed.scheduler.allowed-failures`, then KilledWorker: that
    kernel's internal error); `retries` re-runs a task that raised.
    Results are collected per future, so each input is reported once.
    Returns the number of workers seen at the start."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError("--cluster needs Dask: pip install 'sysret-verify[cluster]' -c constraints.txt") from None
    try:
        client = Client(address, timeout=float(os.environ.get("SYSRET_VERIFY_CLUSTER_CONNECT") or 20))
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise InputError(f"--cluster {address}: cannot connect to a Dask scheduler: {str(e)[:200]}") from None
    with client:
        nworkers = len(client.scheduler_info().get("workers", {}))
        if nworkers == 0 and not quiet:
            print(f"sysret-verify: {address}: no worker connected yet; the kernels wait for one "
                  "(start `dask worker {address}`)", file=sys.stderr, flush=True)
        token = uuid.uuid4().hex[:12]
        futs = {}
        for i, s in enumerate(specs):
            f = client.submit(run_child, s, options, key=f"sysret-verify-{token}-{i}", pure=False, retries=retries)
            futs[f] = i
        for f in as_completed(list(futs)):
            i = futs.pop(f)
            try:
                rec = f.result()
            except Exception as e:  # KilledWorker after repeated worker deaths, a worker without the package ...
                rec = _error_record(f"internal error: the cluster lost this kernel's task: {type(e).__name__}: "
                                    f"{str(e)[:300]}", EXIT_INTERNAL)
            on_done(i, rec)
    return nworkers


# --- summary -------------------------------------------------------------------------------

_COUNTED = ("proven", "violated", "inconclusive")


def kernel_entry(spec: dict, rec: dict) -> dict:
    """One kernel's line of the summary (without its key and report paths)."""
    res = rec.get("result")
    e = {"key": None, "input": spec["input"], "kind": spec["kind"], "exit": rec["exit"], "error": rec.get("error"),
         "build_id": None, "sha256": None, "version": None, "image": None, "verdict": "error",
         "obligations": {k: 0 for k in _COUNTED}, "variants": [], "findings": [],
         "seconds": rec.get("seconds"), "elapsed": rec.get("elapsed"), "cpu_seconds": rec.get("cpu_seconds"),
         "peak_mib": rec.get("peak_mib"),
         "cached": bool(rec.get("cached")), "worker": rec.get("worker"), "report": rec.get("report") or {}}
    if res:
        img = res.get("image", {})
        e.update(build_id=img.get("build_id"), sha256=img.get("sha256"), version=img.get("version"),
                 image=img.get("path"), verdict=res.get("verdict", "inconclusive"))
        for o in res.get("obligations", []):
            if o.get("status") in e["obligations"]:
                e["obligations"][o["status"]] += 1
            e["findings"].append({"id": o.get("id"), "variant": (o.get("variant") or {}).get("name"),
                                  "site": (o.get("site") or {}).get("symbol"), "status": o.get("status")})
        e["variants"] = [v.get("name") for v in res.get("variants", []) if isinstance(v, dict)]
    elif rec["exit"] == EXIT_INCONCLUSIVE:
        e["verdict"] = "inconclusive"
    return e


def assign_keys(entries: list[dict]) -> None:
    """Each kernel's key: its build id; where two different images share one
    (a patched copy keeps the build id note) the sha256 prefix is added; no
    build id: the sha256; no image read: the input."""
    by_bid: dict[str, set] = {}
    for e in entries:
        if e["build_id"]:
            by_bid.setdefault(e["build_id"], set()).add(e["sha256"])
    used = set()
    for e in entries:
        if e["build_id"]:
            k = e["build_id"] if len(by_bid[e["build_id"]]) == 1 else f"{e['build_id']}+{(e['sha256'] or '')[:12]}"
        elif e["sha256"]:
            k = f"sha256:{e['sha256'][:16]}"
        else:
            k = f"input:{e['input']}"
        base, n = k, 2
        while k in used:  # the same image given twice under different names
            k, n = f"{base}#{n}", n + 1
        used.add(k)
        e["key"] = k


def _match(baseline: dict, entries: list[dict]) -> dict:
    """Pair each kernel with the baseline's: the same input first (a
    release or path names the kernel a fleet expects), else the same image
    (sha256)."""
    old = list(baseline.get("kernels", []))
    pairs, used = {}, set()
    for how in ("input", "sha256"):
        for e in entries:
            if e["key"] in pairs or not e.get(how):
                continue
            for j, o in enumerate(old):
                if j not in used and o.get(how) == e[how]:
                    pairs[e["key"]] = o
                    used.add(j)
                    break
    gone = [o for j, o in enumerate(old) if j not in used]
    return {"pairs": pairs, "gone": gone}


def diff(baseline: dict, entries: list[dict], baseline_path: str) -> dict:
    """What changed against an earlier batch: kernels new, gone, with
    another verdict, another image, or obligations whose status changed."""
    m = _match(baseline, entries)
    changed, new, same = [], [], 0
    for e in entries:
        o = m["pairs"].get(e["key"])
        if o is None:
            new.append({"key": e["key"], "input": e["input"], "verdict": e["verdict"]})
            continue
        before = {(f.get("id"), f.get("variant"), f.get("site")): f.get("status") for f in o.get("findings", [])}
        after = {(f["id"], f["variant"], f["site"]): f["status"] for f in e["findings"]}
        obl = [{"id": k[0], "variant": k[1], "site": k[2], "before": before.get(k), "after": after.get(k)}
               for k in sorted(set(before) | set(after), key=lambda k: tuple(str(x) for x in k))
               if before.get(k) != after.get(k)]
        image_changed = bool(o.get("sha256") and e["sha256"] and o["sha256"] != e["sha256"])
        if o.get("verdict") != e["verdict"] or obl or image_changed:
            changed.append({"key": e["key"], "input": e["input"], "before": o.get("verdict"), "after": e["verdict"],
                            "image_changed": image_changed, "obligations": obl})
        else:
            same += 1
    return {"baseline": baseline_path, "unchanged": same, "changed": changed, "new": new,
            "gone": [{"key": o.get("key"), "input": o.get("input"), "verdict": o.get("verdict")} for o in m["gone"]]}


def load_baseline(path: str) -> dict:
    from .errors import require_regular_file

    require_regular_file(path, "a batch summary (summary.json of an earlier batch)")
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a batch summary (JSON): {str(e)[:200]}") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND or not isinstance(doc.get("kernels"), list):
        raise InputError(f"{path}: not a batch summary (summary.json of `sysret-verify batch`)")
    return doc


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("._")[:80] or "kernel"


def _fmt_obl(e) -> str:
    c = e["obligations"]
    return f"{c['proven']}/{c['violated']}/{c['inconclusive']}"


def render_table(summary: dict) -> str:
    rows = [("KERNEL", "BUILD ID", "VERDICT", "P/V/I", "VARIANTS", "TIME", "PEAK", "")]
    for e in summary["kernels"]:
        name = os.path.basename(e["input"]) if e["kind"] == "path" else e["input"]
        rows.append((name, (e["build_id"] or "-")[:12], e["verdict"], _fmt_obl(e) if e["error"] is None else "-",
                     ",".join(e["variants"]) or "-", f"{e['elapsed'] or 0:.1f}s",
                     f"{e['peak_mib'] or 0:.0f}MiB", ("cached" if e["cached"] else "") +
                     (f" {e['error']}" if e["error"] else "")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    out = [("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1]).rstrip() for r in rows]
    c = summary["counts"]
    run = summary["runner"]
    where = (f"cluster {run['address']} ({run['workers']} worker(s) at the start)" if run["mode"] == "cluster"
             else f"local pool, {run['jobs']} job(s)")
    out.append("")
    out.append(f"{len(summary['kernels'])} kernel(s): {c['proven']} proven, {c['violated']} violated, "
               f"{c['inconclusive']} inconclusive, {c['error']} error(s) in {summary['seconds']:.1f}s wall "
               f"({where}); exit {summary['exit']}")
    ch = summary.get("changes")
    if ch is not None:
        out.append(f"against {ch['baseline']}: {ch['unchanged']} unchanged, {len(ch['changed'])} changed, "
                   f"{len(ch['new'])} new, {len(ch['gone'])} gone")
        for x in ch["changed"]:
            what = f"{x['before']} -> {x['after']}" if x["before"] != x["after"] else x["after"]
            detail = "; ".join(f"{o['id']} [{o['variant']}] {o['before']} -> {o['after']}" for o in x["obligations"][:6])
            more = f" (+{len(x['obligations']) - 6} more)" if len(x["obligations"]) > 6 else ""
            out.append(f"  changed: {x['input']}: {what}" + (" (another image)" if x["image_changed"] else "")
                       + (f": {detail}{more}" if detail else ""))
        for x in ch["new"]:
            out.append(f"  new: {x['input']}: {x['verdict']}")
        for x in ch["gone"]:
            out.append(f"  gone: {x['input']}: was {x['verdict']}")
    return "\n".join(out) + "\n"


_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}.proven{background:#dff5df}.violated{background:#fbd9d9}
.inconclusive{background:#fff2cc}.error{background:#e8d9fb}code{font-size:12px}small{color:#666}"""


def render_html(summary: dict) -> str:
    e_ = html.escape
    c = summary["counts"]
    h = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
         '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
         f"<title>sysret-verify batch: {len(summary['kernels'])} kernels, exit {summary['exit']}</title>"
         f"<style>{_CSS}</style></head><body>",
         f"<h1>sysret-verify batch: {len(summary['kernels'])} kernel(s)</h1>",
         f"<p>{c['proven']} proven, {c['violated']} violated, {c['inconclusive']} inconclusive, {c['error']} "
         f"error(s); exit status <b>{summary['exit']}</b>; {summary['seconds']:.1f} s wall; "
         f"{e_(summary['runner']['mode'])} run; sysret-verify {e_(summary['tool']['version'])}; "
         f"started {e_(summary['started'])}</p>",
         "<table><tr><th>kernel</th><th>build id</th><th>verdict</th><th>obligations<br><small>proven / violated / "
         "inconclusive</small></th><th>variants</th><th>time</th><th>peak</th><th>report</th></tr>"]
    for e in summary["kernels"]:
        rep = e.get("report") or {}
        links = " ".join(f'<a href="{e_(rep[k])}">{k}</a>' for k in ("html", "json") if rep.get(k))
        bad = [f for f in e["findings"] if f["status"] == "violated"]
        detail = ("<br><small>violated: " + e_(", ".join(sorted({f"{f['id']} [{f['variant']}]" for f in bad})))
                  + "</small>") if bad else ""
        err = f"<br><small>{e_(e['error'])}</small>" if e["error"] else ""
        h.append(f'<tr><td><code>{e_(e["input"])}</code><br><small>{e_(e["version"] or "")}</small></td>'
                 f"<td><code>{e_((e['build_id'] or '-')[:16])}</code></td>"
                 f'<td class="{e_(e["verdict"])}">{e_(e["verdict"])}{" (cached)" if e["cached"] else ""}'
                 f"{detail}{err}</td><td class=n>{_fmt_obl(e)}</td><td>{e_(', '.join(e['variants']))}</td>"
                 f"<td class=n>{(e['elapsed'] or 0):.1f} s</td><td class=n>{(e['peak_mib'] or 0):.0f} MiB</td>"
                 f"<td>{links}</td></tr>")
    h.append("</table>")
    ch = summary.get("changes")
    if ch is not None:
        h.append(f"<h2>Changes against <code>{e_(ch['baseline'])}</code></h2><p>{ch['unchanged']} unchanged, "
                 f"{len(ch['changed'])} changed, {len(ch['new'])} new, {len(ch['gone'])} gone</p><ul>")
        for x in ch["changed"]:
            items = "".join(f"<li>{e_(str(o['id']))} [{e_(str(o['variant']))}]: {e_(str(o['before']))} &rarr; "
                            f"{e_(str(o['after']))}</li>" for o in x["obligations"])
            h.append(f"<li><code>{e_(x['input'])}</code>: {e_(str(x['before']))} &rarr; {e_(str(x['after']))}"
                     + (" (another image)" if x["image_changed"] else "") + (f"<ul>{items}</ul>" if items else "")
                     + "</li>")
        for x in ch["new"]:
            h.append(f"<li>new: <code>{e_(x['input'])}</code>: {e_(x['verdict'])}</li>")
        for x in ch["gone"]:
            h.append(f"<li>gone: <code>{e_(str(x['input']))}</code>: was {e_(str(x['verdict']))}</li>")
        h.append("</ul>")
    h.append("</body></html>\n")
    return "\n".join(h)


def build_summary(specs, records, *, started: str, seconds: float, runner: dict, baseline=None,
                  baseline_path: str | None = None) -> dict:
    entries = [kernel_entry(s, r) for s, r in zip(specs, records)]
    assign_keys(entries)
    counts = {k: sum(1 for e in entries if e["verdict"] == k) for k in _COUNTED + ("error",)}
    summary = {"schema_version": SCHEMA_VERSION, "kind": KIND,
               "tool": {"name": "sysret-verify", "version": __version__}, "started": started,
               "seconds": round(seconds, 3), "runner": runner, "exit": batch_exit(e["exit"] for e in entries),
               "counts": counts, "kernels": entries, "changes": None}
    if baseline is not None:
        summary["changes"] = diff(baseline, entries, baseline_path or "")
    return summary


# --- the command ---------------------------------------------------------------------------


def _progress_line(n: int, total: int, spec: dict, rec: dict) -> str:
    name = os.path.basename(spec["input"]) if spec["kind"] == "path" else spec["input"]
    res = rec.get("result")
    if res:
        st = [o.get("status") for o in res.get("obligations", [])]
        what = (f"{res.get('verdict')}: {st.count('proven')} proven, {st.count('violated')} violated, "
                f"{st.count('inconclusive')} inconclusive" + (" (cached)" if rec.get("cached") else ""))
    else:
        what = rec.get("error") or "no answer"
    return (f"sysret-verify: [{n}/{total}] {name}: {what} in {rec.get('elapsed', 0):.1f}s, "
            f"{rec.get('peak_mib', 0):.0f} MiB, {rec.get('worker')}")


def run_batch(args) -> int:
    """`sysret-verify batch` (verify/cli.py parses the arguments)."""
    if args.timeout <= 0:
        raise InputError("--timeout must be positive")
    if args.jobs is not None and args.jobs < 1:
        raise InputError("--jobs must be at least 1")
    if args.retries < 0:
        raise InputError("--retries must be 0 or more")
    check_engine(args.engine)
    if args.cluster is not None and not args.cluster.strip():
        raise InputError("--cluster needs the scheduler's address (e.g. tcp://HOST:8786)")
    specs = collect_inputs(args.inputs, args.debian or ())
    baseline = load_baseline(args.baseline) if args.baseline else None
    outdir = os.path.abspath(args.output_dir)
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise InputError(f"{args.output_dir}: exists and is not a directory (-o is the output directory)")
    try:
        os.makedirs(os.path.join(outdir, "reports"), exist_ok=True)
    except OSError as e:
        raise InputError(f"{args.output_dir}: cannot create the output directory: {e.strerror}") from None
    for path in (args.json, args.html):
        if path and (os.path.isdir(path) or not os.path.isdir(os.path.dirname(os.path.abspath(path)))):
            raise InputError(f"{path}: cannot write a report there (a directory, or its directory does not exist)")

    options = {"engine": args.engine, "timeout": args.timeout, "use_cache": not args.no_cache, "html": True}
    records: list = [None] * len(specs)
    names = _report_names(specs)
    done = [0]

    def on_done(i, rec):
        if records[i] is not None:  # collected once per input, whatever the runner did
            return
        # the per-kernel reports are written as soon as they arrive
        page = rec.pop("html", None)
        rec["report"] = {}
        if page is not None:
            rec["report"]["html"] = _write_text(outdir, f"reports/{names[i]}.html", page)
        if rec.get("result") is not None:
            rec["report"]["json"] = _write_text(outdir, f"reports/{names[i]}.json",
                                                json.dumps(rec["result"], indent=2) + "\n")
        records[i] = rec
        done[0] += 1
        if not args.quiet:
            print(_progress_line(done[0], len(specs), specs[i], rec), file=sys.stderr, flush=True)

    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    if args.cluster is not None:
        nworkers = run_cluster(specs, options, args.cluster, on_done, retries=args.retries, quiet=args.quiet)
        runner = {"mode": "cluster", "address": args.cluster, "workers": nworkers}
    else:
        jobs = args.jobs or os.cpu_count() or 1
        run_local(specs, options, jobs, on_done)
        runner = {"mode": "local", "jobs": jobs}
    seconds = time.monotonic() - t0
    for i, rec in enumerate(records):  # every input has exactly one record
        if rec is None:
            records[i] = _error_record("internal error: no result came back for this kernel", EXIT_INTERNAL)
    summary = build_summary(specs, records, started=started, seconds=seconds, runner=runner, baseline=baseline,
                            baseline_path=args.baseline)
    text = json.dumps(summary, indent=2) + "\n"
    _write_text(outdir, "summary.json", text)
    page = render_html(summary)
    _write_text(outdir, "index.html", page)
    if args.json:
        _write_abs(args.json, text)
    if args.html:
        _write_abs(args.html, _rebase_links(page, outdir, args.html))
    sys.stdout.write(render_table(summary))
    if not args.quiet:
        print(f"sysret-verify: batch: {os.path.join(outdir, 'summary.json')}, {os.path.join(outdir, 'index.html')}",
              file=sys.stderr)
    return summary["exit"]


def _report_names(specs) -> list[str]:
    names, used = [], set()
    for i, s in enumerate(specs):
        base = _safe(os.path.basename(s["input"]) if s["kind"] == "path" else s["input"])
        n, k = base, 2
        while n in used:
            n, k = f"{base}-{k}", k + 1
        used.add(n)
        names.append(n)
    return names


def _write_text(outdir: str, rel: str, text: str) -> str:
    _write_abs(os.path.join(outdir, rel), text)
    return rel


def _write_abs(path: str, text: str) -> None:
    try:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"{path}: cannot write: {e.strerror}") from None


def _rebase_links(page: str, outdir: str, html_path: str) -> str:
    """--html FILE elsewhere than the output directory: its links to the
    per-kernel reports point into the output directory."""
    rel = os.path.relpath(outdir, os.path.dirname(os.path.abspath(html_path)))
    if rel == ".":
        return page
    return page.replace('href="reports/', f'href="{html.escape(rel)}/reports/')
