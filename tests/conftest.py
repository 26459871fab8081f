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
# with `--dist loadfile`; the exception is test_adversarial.py, whose ~800
# independent fixture checks, half of the suite's CPU time, are split in
# eight groups so that both processes share them and the last group to end
# is short (with two, one process ran a quarter of them alone at the end)
ADVERSARIAL_GROUPS = 8
# The order the groups are handed out in (pyproject's addopts turn off
# xdist's own, by number of tests, which put test_up_kernel.py's five tests
# and ~170 s last, one process running it alone): six adversarial groups
# first (about five minutes of both processes, while .ci/run's background
# downloads and uniprocessor builds finish), then the long real-kernel
# files, the last two adversarial groups, and every other file in
# collection order, short ones that even out the end.
_EARLY = [f"test_adversarial.py#{k}" for k in range(6)]
_LONG = ["test_real_kernels.py", "test_up_kernel.py", "test_vmlinuz.py", "test_batch.py",
         "test_adversarial.py#6", "test_adversarial.py#7"]
_RANK = {g: k for k, g in enumerate(_EARLY + _LONG)}


def _group(item, index: int) -> str:
    group = item.nodeid.split("::")[0]
    if group.endswith("test_adversarial.py"):
        group += f"#{index % ADVERSARIAL_GROUPS}"
    return group


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    groups = {}
    for i, item in enumerate(items):
        groups[item] = _group(item, i)
        item.add_marker(pytest.mark.xdist_group(groups[item]))
    # (a stable sort: within a group, and among the other files, the
    # collection order stays)
    items.sort(key=lambda it: _RANK.get(groups[it].rsplit("/", 1)[-1], len(_RANK)))


def pytest_collection_finish(session):
    """In a test process of `--dist loadgroup`, every test must carry its
    group in its node id (`...@group`, added by xdist after the hook above).
    With pytest 9.2 it did not (xdist 3.8 sets item._nodeid, which 9.2 no
    longer reads): every file was then split across both processes, and each
    made the file's session fixtures (a kernel's check, the model table)
    again, about a sixth of the suite's time.  A version that breaks it
    again stops the run here instead."""
    if getattr(session.config.option, "loadgroup", False):
        bare = [item.nodeid for item in session.items if "@" not in item.nodeid]
        if bare:
            raise pytest.UsageError(f"--dist loadgroup: {len(bare)} tests without their group in the node id "
                                    f"(e.g. {bare[0]}); pytest/pytest-xdist versions that do not work together?")
