#!/usr/bin/env python3
"""Fetch a Debian kernel's debug vmlinux and System.map, cached between runs.

    python3 examples/debian_kernel.py 6.1.0-50-cloud-amd64     # prints the vmlinux path
    python3 examples/debian_kernel.py 6.1.0-50-cloud-amd64 --system-map

Uses `apt-get download linux-image-<release>-dbg` (run `apt-get update` once on
a new machine) and extracts only /usr/lib/debug/boot/ from the .deb.  The cache
is $SYSRET_VERIFY_KERNELS, else $XDG_CACHE_HOME/sysret-verify/kernels, else
~/.cache/sysret-verify/kernels.  Nothing is downloaded when the files exist.
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile

# The two kernels the project is tested on (shared/FACTS.md).
KERNEL_61 = "6.1.0-50-cloud-amd64"
KERNEL_612 = "6.12.107+deb12-cloud-amd64"


def cache_dir() -> str:
    base = os.environ.get("SYSRET_VERIFY_KERNELS")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        base = os.path.join(xdg, "sysret-verify", "kernels")
    os.makedirs(base, exist_ok=True)
    return base


def fetch(release: str, quiet: bool = False) -> tuple[str, str]:
    """Return (vmlinux, System.map) paths for a Debian kernel release."""
    dest = os.path.join(cache_dir(), release)
    vmlinux = os.path.join(dest, f"vmlinux-{release}")
    sysmap = os.path.join(dest, f"System.map-{release}")
    if os.path.exists(vmlinux) and os.path.exists(sysmap):
        return vmlinux, sysmap
    os.makedirs(dest, exist_ok=True)
    pkg = f"linux-image-{release}-dbg"
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        # apt-get's progress goes to stderr: stdout carries only the path we print
        out = sys.stderr if not quiet else subprocess.DEVNULL
        if not quiet:
            print(f"fetching {pkg} (about 300 MB) ...", file=sys.stderr)
        r = subprocess.run(["apt-get", "download", pkg], cwd=tmp, stdout=out, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"apt-get download {pkg} failed (run `apt-get update` first?): {r.stderr.strip()}")
        deb = glob.glob(os.path.join(tmp, "*.deb"))[0]
        cmd = f"dpkg-deb --fsys-tarfile '{deb}' | tar -x -C '{tmp}' --wildcards './usr/lib/debug/boot/*'"
        subprocess.run(cmd, shell=True, check=True)
        boot = os.path.join(tmp, "usr/lib/debug/boot")
        os.replace(os.path.join(boot, f"System.map-{release}"), sysmap)
        os.replace(os.path.join(boot, f"vmlinux-{release}"), vmlinux)  # last: marks the cache complete
    return vmlinux, sysmap


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("release", nargs="?", default=KERNEL_61, help=f"Debian kernel release (default {KERNEL_61})")
    p.add_argument("--system-map", action="store_true", help="print the System.map path instead")
    a = p.parse_args()
    try:
        vmlinux, sysmap = fetch(a.release)
    except (RuntimeError, subprocess.CalledProcessError, IndexError) as e:
        print(f"debian_kernel: error: {e}", file=sys.stderr)
        return 2
    print(sysmap if a.system_map else vmlinux)
    return 0


if __name__ == "__main__":
    sys.exit(main())
