#!/usr/bin/env python3
"""Build a small uniprocessor (CONFIG_SMP=n) x86-64 Linux 6.12 vmlinux, cached.

    python3 examples/build_up_kernel.py                # prints the vmlinux path
    python3 examples/build_up_kernel.py --config       # prints the .config path

The source is Debian's `linux-source-6.12` (`apt-get download`, run `apt-get
update` once on a new machine).  The kernel is `make ARCH=x86_64 tinyconfig`
plus the options in CONFIG_SET / CONFIG_UNSET: 64-bit, SMP off (per-CPU
variables become plain globals, `(var)(%rip)` instead of `%gs:var`), IA32
emulation (TS_COMPAT, the compat entries), PTI, 5-level paging, CPU
mitigations, printk, BUG, kallsyms.  Only `make vmlinux` is built (4 minutes on 2
cores, fetch and unpack included; about 7 with the other core busy).

Debug info (DWARF, toolchain default) is kept ON although the symbol table
alone names every function: the prover reads the pt_regs, task_struct and
tss_struct layouts from .BTF or DWARF and refuses an image with neither.

Build dependencies (Debian packages; this script checks for them but never
installs anything):

    apt-get install gcc make flex bison bc libelf-dev xz-utils

libelf-dev is for objtool, which the CPU mitigations (retpoline, rethunk)
select; libssl-dev is not needed (no modules, no signing, no trusted keys).

Cache, under $SYSRET_VERIFY_KERNELS (else $XDG_CACHE_HOME/sysret-verify/kernels,
else ~/.cache/sysret-verify/kernels), the same directory as debian_kernel.py:

    linux-source-6.12/src/       unpacked tree, shared by every tag
    linux-source-6.12/version    the Debian package version it came from
    linux-source-6.12.lock       held by every build (tree and build dir)
    up-6.12/build/               the `make O=` build dir, kept for the variants
    <tag>/vmlinux                the result; written last, marks the tag complete
    <tag>/config, <tag>/System.map
    <tag>/orig/<relpath>         originals of the files a variant edited (only
                                 while it builds, or after it was killed)

Seeded source-level bugs:

    build(edits=[(relpath, old, new), ...], tag="up-6.12-mybug")
    python3 examples/build_up_kernel.py --seeded up-6.12-nocanon   # see SEEDED

builds the base kernel first if needed, then backs up each edited file to
<tag>/orig/, replaces `old` (which must occur exactly once, else
RuntimeError naming the file) by `new` in the shared tree, runs an incremental
`make vmlinux` in up-6.12/build (only what depends on the edited files is
recompiled, then vmlinux is relinked: about a minute for a .c file), copies
the result to <tag>/vmlinux and restores the originals, in a `finally`.  A
backup left by a killed build is restored at the start of the next build().
Restored files get a new mtime, so the next make recompiles whatever was
built from the edited text; up-6.12/vmlinux is only ever written by an
unedited build.  The cache key is the tag alone: different edits need a
different tag.  The tree is never built in (always `make O=`).
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from debian_kernel import cache_dir  # noqa: E402

SOURCE_PKG = "linux-source-6.12"
DEFAULT_TAG = "up-6.12"

# apt packages the build needs (also in .ci/run).
BUILD_DEPS = ("gcc", "make", "flex", "bison", "bc", "libelf-dev", "xz-utils")
# tool -> package that provides it (checked before building).
_TOOLS = {"gcc": "gcc", "make": "make", "flex": "flex", "bison": "bison", "bc": "bc",
          "ld": "binutils", "perl": "perl-base", "xz": "xz-utils", "tar": "tar", "dpkg-deb": "dpkg"}

# Applied with scripts/config on top of tinyconfig, then `make olddefconfig`.
CONFIG_SET = (
    "64BIT", "IA32_EMULATION", "PRINTK", "BUG", "KALLSYMS",
    "CPU_MITIGATIONS", "MITIGATION_PAGE_TABLE_ISOLATION", "X86_5LEVEL",
    "CC_OPTIMIZE_FOR_PERFORMANCE",  # -O2 like Debian's kernels (tinyconfig picks -Os)
    "DEBUG_KERNEL", "DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT",  # types for the prover
)
CONFIG_UNSET = (
    "SMP", "PARAVIRT", "CC_OPTIMIZE_FOR_SIZE", "DEBUG_INFO_NONE", "DEBUG_INFO_BTF",
    "DEBUG_INFO_REDUCED", "DEBUG_INFO_SPLIT", "GCC_PLUGINS", "MODULES",
)
# Checked in the final .config: value, or None for "is not set".
CONFIG_REQUIRED = {
    "X86_64": "y", "64BIT": "y", "SMP": None, "IA32_EMULATION": "y", "PRINTK": "y", "BUG": "y",
    "KALLSYMS": "y", "MITIGATION_PAGE_TABLE_ISOLATION": "y", "X86_5LEVEL": "y", "DEBUG_INFO": "y",
}

# Seeded source-level bugs (tests/test_up_kernel.py): tag -> edits for build().
SEEDED = {
    # do_syscall_64 no longer sends a non-canonical RIP to IRET (CVE-2012-0217).
    "up-6.12-nocanon": [("arch/x86/entry/common.c",
                         "\tif (unlikely(regs->ip >= TASK_SIZE_MAX))\n\t\treturn false;\n", "")],
    # arch_exit_to_user_mode_prepare no longer clears TS_COMPAT.
    "up-6.12-tscompat": [("arch/x86/include/asm/entry-common.h",
                          "\tcurrent_thread_info()->status &= ~(TS_COMPAT | TS_I386_REGS_POKED);\n", "")],
}


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"build_up_kernel: {msg}", file=sys.stderr)


def check_tools() -> None:
    """Raise RuntimeError naming the apt packages a build would miss."""
    missing = sorted({pkg for tool, pkg in _TOOLS.items() if shutil.which(tool) is None})
    if shutil.which("gcc") is not None:
        # objtool links against libelf; same probe as the kernel's Makefile.
        r = subprocess.run(["gcc", "-x", "c", "-", "-lelf", "-o", os.devnull], input="#include <gelf.h>\nint main(void){return 0;}\n",
                           capture_output=True, text=True)
        if r.returncode != 0:
            missing.append("libelf-dev")
    if missing:
        raise RuntimeError(f"missing build dependencies; run: apt-get install {' '.join(missing)}")


# Descriptors of the locks held: make inherits them, so a make orphaned by a
# killed build keeps the lock until it exits (no second make in its build dir).
_HELD: list[int] = []


@contextlib.contextmanager
def _lock(path: str):
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        _HELD.append(f.fileno())
        try:
            yield
        finally:
            _HELD.remove(f.fileno())
            fcntl.flock(f, fcntl.LOCK_UN)


def fetch_source(quiet: bool = False) -> str:
    """Return the pristine kernel tree of linux-source-6.12, unpacking it once."""
    base = os.path.join(cache_dir(), SOURCE_PKG)
    src = os.path.join(base, "src")
    if os.path.exists(os.path.join(src, "Makefile")):
        return src
    os.makedirs(base, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        out = sys.stderr if not quiet else subprocess.DEVNULL
        _log(f"fetching {SOURCE_PKG} (about 150 MB) ...", quiet)
        r = subprocess.run(["apt-get", "download", SOURCE_PKG], cwd=tmp, stdout=out, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"apt-get download {SOURCE_PKG} failed (run `apt-get update` first?): {r.stderr.strip()}")
        deb = glob.glob(os.path.join(tmp, "*.deb"))[0]
        version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(f"dpkg-deb --fsys-tarfile '{deb}' | tar -x -C '{tmp}' --wildcards './usr/src/*.tar.*'", shell=True, check=True)
        os.unlink(deb)
        tarballs = glob.glob(os.path.join(tmp, "usr/src/*.tar.*"))
        if len(tarballs) != 1:
            raise RuntimeError(f"{SOURCE_PKG}: expected one tarball under /usr/src, found {tarballs}")
        _log(f"unpacking {os.path.basename(tarballs[0])} (about 1.7 GB) ...", quiet)
        unpack = os.path.join(tmp, "unpack")
        os.mkdir(unpack)
        subprocess.run(["tar", "-x", "-f", tarballs[0], "-C", unpack], check=True)
        os.unlink(tarballs[0])
        tops = os.listdir(unpack)
        if len(tops) != 1 or not os.path.exists(os.path.join(unpack, tops[0], "Makefile")):
            raise RuntimeError(f"{SOURCE_PKG}: tarball does not hold one kernel tree: {tops}")
        with open(os.path.join(base, "version"), "w") as f:
            f.write(version + "\n")
        if os.path.exists(src):  # a partial tree from an interrupted run (no Makefile)
            shutil.rmtree(src)
        os.replace(os.path.join(unpack, tops[0]), src)  # last: marks the source complete
    return src


def read_config(path: str) -> dict[str, str | None]:
    """CONFIG_FOO=val -> {"FOO": "val"}; "# CONFIG_FOO is not set" -> {"FOO": None}."""
    cfg: dict[str, str | None] = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("CONFIG_") and "=" in line:
                k, v = line.split("=", 1)
                cfg[k[len("CONFIG_"):]] = v
            elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
                cfg[line[len("# CONFIG_"):-len(" is not set")]] = None
    return cfg


def _run(cmd: list[str], log, what: str, logpath: str | None) -> None:
    r = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, pass_fds=tuple(_HELD))
    if r.returncode != 0:
        tail = ""
        if logpath:
            log.flush()
            with open(logpath, errors="replace") as f:
                tail = "\n" + "".join(f.readlines()[-30:])
        raise RuntimeError(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}{tail}")


_TMP = ".sysret-verify.tmp"


def _restore_leftovers(src: str, quiet: bool) -> None:
    """Put back every file a seeded build edited in the shared tree and did not
    restore (process killed): <cache>/<tag>/orig/<relpath> holds the original
    bytes.  Restoring gives the file a new mtime, so the next make recompiles
    what was built from the edited text."""
    for orig in sorted(glob.glob(os.path.join(cache_dir(), "*", "orig"))):
        for root, _dirs, files in os.walk(orig):
            for name in files:
                path = os.path.join(root, name)
                if name.endswith(".tmp"):  # backup interrupted before the edit: the tree is untouched
                    os.unlink(path)
                    continue
                rel = os.path.relpath(path, orig)
                _log(f"restoring {rel} in the shared tree (left edited by an interrupted build)", quiet)
                with open(path, "rb") as f:
                    _write_atomic(os.path.join(src, rel), f.read())
                os.unlink(path)
                with contextlib.suppress(FileNotFoundError):  # an edit killed mid-write
                    os.unlink(os.path.join(src, rel) + _TMP)
        shutil.rmtree(orig)


def _write_atomic(path: str, data: bytes) -> None:
    tmp = path + _TMP
    with open(tmp, "wb") as f:
        f.write(data)
    if os.path.exists(path):
        shutil.copymode(path, tmp)
    os.replace(tmp, path)


def _edited_contents(src: str, edits: list[tuple[str, str, str]]) -> dict[str, bytes]:
    """Check every edit, then return {relpath: new content} (nothing written).
    `old` must occur exactly once in the file (after the earlier edits of the
    same file)."""
    new: dict[str, bytes] = {}
    for rel, old, repl in edits:
        if os.path.isabs(rel) or ".." in rel.split("/"):
            raise RuntimeError(f"edit path must be relative to the tree: {rel!r}")
        if not old:
            raise RuntimeError(f"{rel}: empty text to replace")
        path = os.path.join(src, rel)
        if rel not in new:
            if not os.path.isfile(path):
                raise RuntimeError(f"{rel}: no such file in {src}")
            with open(path, "rb") as f:
                new[rel] = f.read()
        n = new[rel].count(old.encode())
        if n != 1:
            raise RuntimeError(f"{rel}: the text to replace occurs {n} times, not once: {old!r}")
        new[rel] = new[rel].replace(old.encode(), repl.encode())
    return new


def _make(src: str, bdir: str) -> list[str]:
    return ["make", "-C", src, f"O={bdir}", "ARCH=x86_64", "KBUILD_BUILD_USER=sysret-verify",
            "KBUILD_BUILD_HOST=sysret-verify", "KBUILD_BUILD_TIMESTAMP=1970-01-01", "KBUILD_BUILD_VERSION=1"]


def _configure(src: str, bdir: str, log, logpath: str | None, quiet: bool) -> None:
    """tinyconfig + CONFIG_SET/CONFIG_UNSET in bdir, once (marker file)."""
    marker = os.path.join(bdir, ".sysret-verify-configured")
    if os.path.exists(marker):
        return
    env_make = _make(src, bdir)
    _log(f"configuring in {bdir} ...", quiet)
    _run(env_make + ["tinyconfig"], log, "make tinyconfig", logpath)
    cfg = os.path.join(bdir, ".config")
    cmd = [os.path.join(src, "scripts", "config"), "--file", cfg]
    for opt in CONFIG_SET:
        cmd += ["-e", opt]
    for opt in CONFIG_UNSET:
        cmd += ["-d", opt]
    _run(cmd, log, "scripts/config", logpath)
    _run(env_make + ["olddefconfig"], log, "make olddefconfig", logpath)
    have = read_config(cfg)
    def show(k: str, v: str | None) -> str:
        return f"CONFIG_{k}={'n' if v is None else v}"
    bad = [f"{show(k, have[k]) if k in have else f'CONFIG_{k} absent'} (want {show(k, v)})"
           for k, v in CONFIG_REQUIRED.items() if k not in have or have[k] != v]
    if bad:
        raise RuntimeError(f"{cfg}: options did not stick after olddefconfig: {', '.join(bad)}")
    open(marker, "w").close()


def _make_vmlinux(src: str, bdir: str, dest: str, jobs: int | None, quiet: bool, what: str) -> None:
    """Configure bdir if needed, `make vmlinux` there (incremental), and copy
    vmlinux, .config and System.map to dest (vmlinux last)."""
    os.makedirs(bdir, exist_ok=True)
    logpath = None if not quiet else os.path.join(dest, "build.log")
    log = sys.stderr if not quiet else open(logpath, "w")
    try:
        _configure(src, bdir, log, logpath, quiet)
        n = jobs or os.cpu_count() or 1
        _log(f"make -j{n} vmlinux ({what}) ...", quiet)
        _run(_make(src, bdir) + [f"-j{n}", "vmlinux"], log, "make vmlinux", logpath)
    finally:
        if log is not sys.stderr:
            log.close()
    shutil.copyfile(os.path.join(bdir, ".config"), os.path.join(dest, "config"))
    shutil.copyfile(os.path.join(bdir, "System.map"), os.path.join(dest, "System.map"))
    tmp = os.path.join(dest, "vmlinux.tmp")
    shutil.copyfile(os.path.join(bdir, "vmlinux"), tmp)
    os.replace(tmp, os.path.join(dest, "vmlinux"))  # last: marks the cache complete


def build(edits: list[tuple[str, str, str]] | None = None, tag: str = DEFAULT_TAG, quiet: bool = False,
          jobs: int | None = None) -> str:
    """Return the path of the cached uniprocessor vmlinux for `tag`, building it if needed.

    edits: None for the base kernel (tag must be DEFAULT_TAG), or a list of
    (relpath, old, new) text replacements for a seeded variant under another
    tag; `old` must occur exactly once in the file.  The edits are made in the
    shared tree, built incrementally in the base build dir, and always undone.
    The cache key is `tag` alone: different edits need a different tag."""
    if not tag or "/" in tag or tag.startswith(".") or tag == SOURCE_PKG:
        raise RuntimeError(f"bad tag {tag!r}")
    if edits is not None and tag == DEFAULT_TAG:
        raise RuntimeError(f"tag {DEFAULT_TAG!r} is the unedited kernel; a seeded variant needs its own tag")
    if edits is None and tag != DEFAULT_TAG:
        raise RuntimeError(f"tag {tag!r}: only a seeded variant (edits=[...]) has a tag other than {DEFAULT_TAG!r}")
    dest = os.path.join(cache_dir(), tag)
    vmlinux = os.path.join(dest, "vmlinux")
    leftovers = glob.glob(os.path.join(cache_dir(), "*", "orig"))
    if os.path.exists(vmlinux) and not leftovers:
        return vmlinux
    check_tools()
    # One lock for the shared tree and the base build dir: every build uses both.
    with _lock(os.path.join(cache_dir(), f"{SOURCE_PKG}.lock")):
        src = fetch_source(quiet)
        _restore_leftovers(src, quiet)
        if os.path.exists(vmlinux):  # another process built it while we waited
            return vmlinux
        base = os.path.join(cache_dir(), DEFAULT_TAG)
        bdir = os.path.join(base, "build")
        os.makedirs(base, exist_ok=True)
        if edits is None or not os.path.exists(os.path.join(bdir, "vmlinux")) \
                or not os.path.exists(os.path.join(base, "vmlinux")):
            # The base kernel first (about 4 minutes on 2 cores, 7 with the other core busy).
            _make_vmlinux(src, bdir, base, jobs, quiet, "base kernel; a full build takes about 4 minutes on 2 cores")
            if edits is None:
                return vmlinux
        new = _edited_contents(src, edits)  # checks every edit before touching the tree
        os.makedirs(dest, exist_ok=True)
        orig = os.path.join(dest, "orig")
        if os.path.exists(orig):
            shutil.rmtree(orig)
        try:
            for rel, data in new.items():
                backup = os.path.join(orig, rel)
                os.makedirs(os.path.dirname(backup), exist_ok=True)
                shutil.copyfile(os.path.join(src, rel), backup + ".tmp")
                os.replace(backup + ".tmp", backup)  # the backup exists before the edit
                _write_atomic(os.path.join(src, rel), data)
            _make_vmlinux(src, bdir, dest, jobs, quiet, f"{tag}: incremental, {len(new)} edited file(s)")
        finally:
            # Undo the edits even on failure; the base build dir keeps the
            # objects of the edited text until the next make recompiles the
            # restored (newer) files.
            _restore_leftovers(src, quiet=True)
    return vmlinux


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeded", choices=sorted(SEEDED), help="build this seeded variant instead of the base kernel")
    p.add_argument("-j", "--jobs", type=int, help="parallel make jobs (default: number of CPUs)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr; make output goes to <tag>/build.log")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--config", action="store_true", help="print the .config path instead")
    g.add_argument("--system-map", action="store_true", help="print the System.map path instead")
    a = p.parse_args()
    try:
        if a.seeded:
            vmlinux = build(edits=SEEDED[a.seeded], tag=a.seeded, quiet=a.quiet, jobs=a.jobs)
        else:
            vmlinux = build(quiet=a.quiet, jobs=a.jobs)
    except (RuntimeError, subprocess.CalledProcessError, IndexError, OSError) as e:
        print(f"build_up_kernel: error: {e}", file=sys.stderr)
        return 2
    d = os.path.dirname(vmlinux)
    print(os.path.join(d, "config") if a.config else os.path.join(d, "System.map") if a.system_map else vmlinux)
    return 0


if __name__ == "__main__":
    sys.exit(main())
