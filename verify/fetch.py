"""Fetch a Debian kernel's debug vmlinux and System.map by release, cached.

`sysret-verify check --debian RELEASE` uses this: `apt-get download
linux-image-RELEASE-dbg` (no root needed; the package lists must exist, i.e.
`apt-get update` once on a new machine), then only /usr/lib/debug/boot/ is
extracted from the .deb.  The cache is $SYSRET_VERIFY_KERNELS, else
$XDG_CACHE_HOME/sysret-verify/kernels, else ~/.cache/sysret-verify/kernels;
nothing is downloaded when both files exist.  apt-get's progress goes to
stderr (stdout stays for the report); the vmlinux is moved into place last,
so an interrupted fetch is never mistaken for a cached one.  Two processes
fetching the same package (two checks, or CI's prefetch and a test) take
turns on a lock file in the release's directory: the second finds the files
the first put in place instead of downloading them again.
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

from .errors import InputError

# what a Debian kernel release looks like (6.1.0-50-cloud-amd64, 6.12.107+deb12-cloud-amd64)
_RELEASE = re.compile(r"^[0-9]+\.[0-9]+[A-Za-z0-9.+~_-]*$")


def cache_dir() -> str:
    base = os.environ.get("SYSRET_VERIFY_KERNELS")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        base = os.path.join(xdg, "sysret-verify", "kernels")
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as e:
        raise InputError(f"{base}: cannot make the kernel cache directory: {e.strerror or e} "
                         "(SYSRET_VERIFY_KERNELS, else $XDG_CACHE_HOME/sysret-verify/kernels)") from None
    return base


@contextlib.contextmanager
def _fetch_lock(dest: str):
    """One fetch at a time into `dest` (flock: released when the process
    ends, however it ends)."""
    with open(os.path.join(dest, ".fetch.lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def debian_kernel(release: str, quiet: bool = False) -> tuple[str, str]:
    """(vmlinux, System.map) paths for a Debian kernel release, fetched once."""
    if not _RELEASE.match(release or ""):
        raise InputError(f"'{release}' is not a Debian kernel release (e.g. 6.1.0-50-cloud-amd64)")
    dest = os.path.join(cache_dir(), release)
    vmlinux = os.path.join(dest, f"vmlinux-{release}")
    sysmap = os.path.join(dest, f"System.map-{release}")
    if os.path.exists(vmlinux) and os.path.exists(sysmap):
        return vmlinux, sysmap
    for tool in ("apt-get", "dpkg-deb", "tar"):
        if shutil.which(tool) is None:
            raise InputError(f"--debian needs `{tool}` (a Debian or Ubuntu machine)")
    os.makedirs(dest, exist_ok=True)
    pkg = f"linux-image-{release}-dbg"
    with _fetch_lock(dest), tempfile.TemporaryDirectory(dir=dest) as tmp:
        if os.path.exists(vmlinux) and os.path.exists(sysmap):  # fetched while we waited
            return vmlinux, sysmap
        boot = _download_and_unpack(pkg, tmp, [f"System.map-{release}", f"vmlinux-{release}"],
                                    "usr/lib/debug/boot", quiet, f"several hundred MB, once; cached in {dest}")
        try:
            os.replace(os.path.join(boot, f"System.map-{release}"), sysmap)
            os.replace(os.path.join(boot, f"vmlinux-{release}"), vmlinux)  # last: marks the cache complete
        except FileNotFoundError:
            raise InputError(f"{pkg} has no vmlinux-{release} under /usr/lib/debug/boot") from None
    return vmlinux, sysmap


def debian_vmlinuz(release: str, quiet: bool = False) -> tuple[str, str]:
    """(vmlinuz, System.map) as Debian installs them in /boot, from
    `linux-image-RELEASE-unsigned` (fetched once, cached beside the -dbg
    files under RELEASE/boot/).  The System.map there is Debian's one-line
    placeholder: symbols come from kallsyms inside the vmlinuz."""
    if not _RELEASE.match(release or ""):
        raise InputError(f"'{release}' is not a Debian kernel release (e.g. 6.1.0-50-cloud-amd64)")
    dest = os.path.join(cache_dir(), release, "boot")
    vmlinuz = os.path.join(dest, f"vmlinuz-{release}")
    sysmap = os.path.join(dest, f"System.map-{release}")
    if os.path.exists(vmlinuz) and os.path.exists(sysmap):
        return vmlinuz, sysmap
    for tool in ("apt-get", "dpkg-deb", "tar"):
        if shutil.which(tool) is None:
            raise InputError(f"fetching a Debian vmlinuz needs `{tool}` (a Debian or Ubuntu machine)")
    os.makedirs(dest, exist_ok=True)
    pkg = f"linux-image-{release}-unsigned"
    with _fetch_lock(dest), tempfile.TemporaryDirectory(dir=dest) as tmp:
        if os.path.exists(vmlinuz) and os.path.exists(sysmap):  # fetched while we waited
            return vmlinuz, sysmap
        boot = _download_and_unpack(pkg, tmp, [f"System.map-{release}", f"vmlinuz-{release}"], "boot", quiet,
                                    f"once; cached in {dest}")
        try:
            os.replace(os.path.join(boot, f"System.map-{release}"), sysmap)
            os.replace(os.path.join(boot, f"vmlinuz-{release}"), vmlinuz)  # last: marks the cache complete
        except FileNotFoundError:
            raise InputError(f"{pkg} has no /boot/vmlinuz-{release}") from None
    return vmlinuz, sysmap


def _download_and_unpack(pkg: str, tmp: str, names: list[str], subdir: str, quiet: bool, note: str) -> str:
    """`apt-get download pkg` into tmp (apt's own output on stderr, never
    stdout, which a script may read), then the .deb's files `names` under
    `subdir` unpacked there; returns tmp/subdir.

    tar stops reading once every named file is out (--occurrence): the
    -dbg packages put /usr/lib/debug/boot before the modules' debug files,
    so the rest of the archive (about two thirds of a 6.1 cloud package's
    decompression, 14 of 21 CPU-s) is never decompressed.  dpkg-deb then
    dies of the closed pipe, which is expected; a file missing from the
    package is tar's error."""
    if not quiet:
        print(f"sysret-verify: fetching {pkg} ({note})", file=sys.stderr, flush=True)
    r = subprocess.run(["apt-get", "download", pkg], cwd=tmp, stdout=sys.stderr if not quiet else
                       subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or ["apt-get failed"])[-1]
        raise InputError(f"apt-get download {pkg} failed: {msg} (no such release, or run `apt-get update` first)")
    debs = glob.glob(os.path.join(tmp, "*.deb"))
    if not debs:
        raise InputError(f"apt-get download {pkg} produced no .deb")
    members = [f"./{subdir}/{n}" for n in names]
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", debs[0]], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as deb:
        t = subprocess.run(["tar", "-x", "-C", tmp, "--occurrence=1", *members], stdin=deb.stdout,
                           stderr=subprocess.PIPE, text=True)
        deb.stdout.close()  # (tar is done: dpkg-deb's next write fails with EPIPE, or it already finished)
        deb_err = deb.stderr.read().decode(errors="replace")
    # dpkg-deb's own failure counts only when tar did not get the files: a
    # dpkg-deb cut off by tar's early exit reports the broken pipe
    if t.returncode != 0 or not all(os.path.isfile(os.path.join(tmp, subdir, n)) for n in names):
        why = t.stderr.strip() or deb_err.strip() or f"dpkg-deb exited with {deb.returncode}"
        raise InputError(f"cannot unpack {os.path.basename(debs[0])}: {why[:200]}")
    return os.path.join(tmp, subdir)
