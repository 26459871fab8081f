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
import os
import subprocess
import sys

# The two kernels the project is tested on (shared/FACTS.md).
KERNEL_61 = "6.1.0-50-cloud-amd64"
KERNEL_612 = "6.12.107+deb12-cloud-amd64"
# Debian's generic flavour (what most installs run): more configuration than
# cloud's (ESPFIX, the x32 ABI, Xen, PREEMPT_DYNAMIC, ...)
KERNEL_61_GENERIC = "6.1.0-50-amd64"
KERNEL_612_GENERIC = "6.12.107+deb12-amd64"


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from verify.errors import InputError  # noqa: E402
from verify.fetch import cache_dir, debian_kernel  # noqa: E402,F401  (cache_dir: used by build_up_kernel.py)


def fetch(release: str, quiet: bool = False) -> tuple[str, str]:
    """Return (vmlinux, System.map) paths for a Debian kernel release
    (the tool's own fetcher: `sysret-verify check --debian RELEASE`)."""
    try:
        return debian_kernel(release, quiet=quiet)
    except InputError as e:
        raise RuntimeError(str(e)) from None


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
