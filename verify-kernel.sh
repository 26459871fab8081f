#!/usr/bin/env bash
# One command for a fresh machine: set up sysret-verify in ./.venv, fetch a
# Debian kernel's debug vmlinux (default: 6.1.0-50-cloud-amd64) and prove it.
#
#   ./verify-kernel.sh                                # Debian 6.1 cloud kernel
#   ./verify-kernel.sh 6.12.107+deb12-cloud-amd64     # another Debian release
#   ./verify-kernel.sh 6.1.0-50-cloud-amd64 --format json -o result.json
#
# Needs Python 3.11 and apt-get (run as root, or with sudo available, for
# `apt-get update` the first time).  Exit status is sysret-verify's:
# 0 proven, 1 violated, 2 input error, 3 inconclusive, 4 internal error.
set -euo pipefail
cd "$(dirname "$0")"
release="${1:-6.1.0-50-cloud-amd64}"; shift || true

if [ ! -x .venv/bin/sysret-verify ]; then
    echo "setting up .venv (pinned dependencies; a few minutes the first time) ..." >&2
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -c constraints.txt -e .
    # (an editable install writes no bytecode; compiled once here, not per run)
    .venv/bin/python -m compileall -q verify models >/dev/null
fi
if ! apt-cache policy "linux-image-${release}-dbg" 2>/dev/null | grep -q Candidate; then
    echo "apt-get update ..." >&2
    apt-get update -qq
fi
exec .venv/bin/sysret-verify check --debian "$release" "$@"
