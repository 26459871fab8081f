#!/usr/bin/env bash
# Verify a Debian kernel by release: `sysret-verify check --debian RELEASE`
# fetches its -dbg package (cached) and checks the debug vmlinux.
#
# usage: examples/verify-debian-kernel.sh RELEASE [sysret-verify check options...]
#   e.g. examples/verify-debian-kernel.sh 6.1.0-50-cloud-amd64
#        examples/verify-debian-kernel.sh 6.12.107+deb12-cloud-amd64 --format sarif -o k.sarif
#
# The package (linux-image-RELEASE-dbg, ~300 MB) comes from apt (run
# `apt-get update` once on a new machine); only /usr/lib/debug/boot/ is kept, in
# $SYSRET_VERIFY_KERNELS or $XDG_CACHE_HOME/sysret-verify/kernels.  Results are
# cached too (see docs/GUIDE.md); pass --no-cache to re-prove.
# Exit status is sysret-verify's: 0 proven, 1 violated, 2 input error, 3 inconclusive.
set -euo pipefail

sv="${SYSRET_VERIFY:-sysret-verify}"

usage() {
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") usage >&2; echo "usage error: RELEASE is required" >&2; exit 2 ;;
esac
release="$1"; shift

exec "$sv" check --debian "$release" "$@"
