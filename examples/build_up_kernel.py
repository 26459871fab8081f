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

    linux-source-6.12/src/       pristine unpacked tree, shared by every tag
    linux-source-6.12/version    the Debian package version it came from
    <tag>/vmlinux                the result; written last, marks the tag complete
    <tag>/config, <tag>/System.map
    <tag>/build/                 `make O=` build dir (deleted after success)
    <tag>/src/                   patched copy of the tree (variants only; deleted after success)

Seeded source-level bugs: `build(patch=fn, tag="up-6.12-mybug")` copies the
pristine tree to <tag>/src (a full `cp -a`, never hardlinks, so an edit in
place cannot reach the shared tree), calls fn(srcdir), and builds from it.
The pristine tree is never built in (always `make O=`), so it stays clean.
The cache key is the tag alone: a different patch needs a different tag.
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
from typing import Callable

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


@contextlib.contextmanager
def _lock(path: str):
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
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
    r = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        tail = ""
        if logpath:
            log.flush()
            with open(logpath, errors="replace") as f:
                tail = "\n" + "".join(f.readlines()[-30:])
        raise RuntimeError(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}{tail}")


def build(patch: Callable[[str], None] | None = None, tag: str = DEFAULT_TAG, quiet: bool = False,
          jobs: int | None = None) -> str:
    """Return the path of the cached uniprocessor vmlinux for `tag`, building it if needed.

    patch: None, or a callable(srcdir) that edits a private copy of the tree
    (seeded source-level bugs).  The cache key is `tag` alone."""
    if not tag or "/" in tag or tag.startswith(".") or tag == SOURCE_PKG:
        raise RuntimeError(f"bad tag {tag!r}")
    dest = os.path.join(cache_dir(), tag)
    vmlinux = os.path.join(dest, "vmlinux")
    if os.path.exists(vmlinux):
        return vmlinux
    check_tools()
    os.makedirs(dest, exist_ok=True)
    with _lock(os.path.join(cache_dir(), f"{tag}.lock")):
        if os.path.exists(vmlinux):  # another process built it while we waited
            return vmlinux
        with _lock(os.path.join(cache_dir(), f"{SOURCE_PKG}.lock")):
            pristine = fetch_source(quiet)
        src = pristine
        if patch is not None:
            src = os.path.join(dest, "src")
            if os.path.exists(src):  # left by a failed run: start again from pristine
                shutil.rmtree(src)
            _log(f"copying the tree to {src} for the patch ...", quiet)
            subprocess.run(["cp", "-a", "--reflink=auto", pristine, src], check=True)
            patch(src)
        bdir = os.path.join(dest, "build")
        os.makedirs(bdir, exist_ok=True)
        logpath = None if not quiet else os.path.join(dest, "build.log")
        log = sys.stderr if not quiet else open(logpath, "w")
        try:
            env_make = ["make", "-C", src, f"O={bdir}", "ARCH=x86_64", "KBUILD_BUILD_USER=sysret-verify",
                        "KBUILD_BUILD_HOST=sysret-verify", "KBUILD_BUILD_TIMESTAMP=1970-01-01"]
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
            n = jobs or os.cpu_count() or 1
            _log(f"make -j{n} vmlinux (about 4 minutes on 2 cores) ...", quiet)
            _run(env_make + [f"-j{n}", "vmlinux"], log, "make vmlinux", logpath)
        finally:
            if log is not sys.stderr:
                log.close()
        shutil.copyfile(cfg, os.path.join(dest, "config"))
        shutil.copyfile(os.path.join(bdir, "System.map"), os.path.join(dest, "System.map"))
        tmp = os.path.join(dest, "vmlinux.tmp")
        shutil.copyfile(os.path.join(bdir, "vmlinux"), tmp)
        os.replace(tmp, vmlinux)  # last: marks the cache complete
        shutil.rmtree(bdir, ignore_errors=True)
        if src != pristine:
            shutil.rmtree(src, ignore_errors=True)
    return vmlinux


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tag", default=DEFAULT_TAG, help=f"cache key / directory name (default {DEFAULT_TAG})")
    p.add_argument("-j", "--jobs", type=int, help="parallel make jobs (default: number of CPUs)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr; make output goes to <tag>/build.log")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--config", action="store_true", help="print the .config path instead")
    g.add_argument("--system-map", action="store_true", help="print the System.map path instead")
    a = p.parse_args()
    try:
        vmlinux = build(tag=a.tag, quiet=a.quiet, jobs=a.jobs)
    except (RuntimeError, subprocess.CalledProcessError, IndexError, OSError) as e:
        print(f"build_up_kernel: error: {e}", file=sys.stderr)
        return 2
    d = os.path.dirname(vmlinux)
    print(os.path.join(d, "config") if a.config else os.path.join(d, "System.map") if a.system_map else vmlinux)
    return 0


if __name__ == "__main__":
    sys.exit(main())
