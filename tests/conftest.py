"""Shared test fixtures: the real Debian kernels (downloaded once, cached), the
uniprocessor kernel built from source (cached) and the assembled fixture
kernels."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))

import build_up_kernel  # noqa: E402
import debian_kernel  # noqa: E402


def _fetch(release):
    try:
        return debian_kernel.fetch(release, quiet=True)
    except Exception as e:  # a missing kernel must fail loudly in CI, not skip
        pytest.fail(f"cannot fetch Debian kernel {release}: {e}")


@pytest.fixture(scope="session")
def kernel61():
    """(vmlinux, System.map) of Debian 6.1 cloud: checks in assembly."""
    return _fetch(debian_kernel.KERNEL_61)


@pytest.fixture(scope="session")
def kernel612():
    """(vmlinux, System.map) of Debian 6.12 cloud: checks in C."""
    return _fetch(debian_kernel.KERNEL_612)


@pytest.fixture(scope="session")
def kernel61_generic():
    """(vmlinux, System.map) of Debian 6.1 generic (amd64): ESPFIX's IRET
    path, the x32 dispatch."""
    return _fetch(debian_kernel.KERNEL_61_GENERIC)


@pytest.fixture(scope="session")
def kernel_up():
    """(vmlinux, System.map) of the uniprocessor 6.12 kernel (per-CPU data as
    plain globals), built from Debian's linux-source-6.12 on first use."""
    try:
        vmlinux = build_up_kernel.build(quiet=True)
    except Exception as e:  # a missing kernel must fail loudly in CI, not skip
        pytest.fail(f"cannot build the uniprocessor kernel: {e}")
    return vmlinux, os.path.join(os.path.dirname(vmlinux), "System.map")


# The README's test command runs two test processes with `--dist loadgroup`.
# Every test file is one group, so a file's session and module fixtures (a
# Debian kernel's check, the uniprocessor build) are made in one process, as
# with `--dist loadfile`; the exception is test_adversarial.py, whose ~380
# independent fixture checks, half of the suite's CPU time, are split in
# eight groups so that both processes share them and the last group to end
# is short (with two, one process ran a quarter of them alone at the end)
ADVERSARIAL_GROUPS = 8


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for i, item in enumerate(items):
        group = item.nodeid.split("::")[0]
        if group.endswith("test_adversarial.py"):
            group += f"#{i % ADVERSARIAL_GROUPS}"
        item.add_marker(pytest.mark.xdist_group(group))
