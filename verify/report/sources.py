"""Where a source line is, as the reports name it.

The image layer gives each address the path the build recorded
(verify/image/lines.py: absolute for in-tree and `O=` builds, relative for
builds made with `-ffile-prefix-map`).  Reports want the path in the kernel
tree (`arch/x86/entry/entry_64.S`): that is what GitHub code scanning
resolves against the checkout (SARIF `uriBaseId` SRCROOT), and what an
editor opens from `file:line:` in the text report.

    SourcePaths(root=None).locate(source_line) -> SourceLocation

With `--source-root DIR` (the kernel source tree as the build recorded it:
the directory `make` ran in, or the tree an `O=` build was made from; it need
not exist on this machine), a path under DIR is made relative to it, and one
outside it (a generated header in an `O=` object tree, a file of another
tree) is kept absolute: exact, no guessing.  Without it:

1. a relative path is kept (in-tree and prefix-mapped builds record paths
   relative to the tree);
2. an absolute path under the compilation directory is made relative to it
   (an in-tree build: make runs at the top of the tree);
3. otherwise the part from the first kernel top-level directory (`arch/`,
   `include/`, ...) on is kept: a guess, right for the usual layouts
   (Debian's 6.1 build: `/build/reproducible-path/linux-6.1.176/arch/...`),
   that `--source-root` makes exact;
4. otherwise the path stays absolute.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

# Top-level directories of the kernel tree that hold code the SYSRET path
# runs (rule 3).  Not `usr/`, `tools/` or `scripts/`: they also occur in the
# paths trees are kept at (/usr/src/linux, ...).
KERNEL_TOP_DIRS = ("arch", "kernel", "include", "mm", "fs", "drivers", "lib", "init", "net", "security", "block",
                   "crypto", "ipc", "virt", "io_uring")


@dataclass(frozen=True)
class SourceLocation:
    path: str  # relative to the source root when `relative`, else absolute (or as recorded)
    line: int
    relative: bool  # relative to the kernel source tree (SARIF uriBaseId SRCROOT)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def _under(path: str, root: str) -> str | None:
    """`path` relative to `root` when it lies inside it, else None."""
    if path == root or not path.startswith(root.rstrip("/") + "/"):
        return None
    return path[len(root.rstrip("/")) + 1:]


class SourcePaths:
    def __init__(self, root: str | None = None):
        self.root = os.path.normpath(os.path.abspath(root)) if root else None

    @property
    def root_uri(self) -> str | None:
        """The root as an absolute `file:` URI ending in `/` (SARIF 3.14.14), or None."""
        if self.root is None:
            return None
        from urllib.parse import quote

        return "file://" + quote(self.root.rstrip("/") + "/")

    def locate(self, src) -> SourceLocation:
        """`src`: a verify.image.lines.SourceLine (path, line, comp_dir)."""
        path, line, comp_dir = src
        if not os.path.isabs(path):
            return SourceLocation(path, line, not path.startswith("../"))
        if self.root is not None:
            rel = _under(path, self.root)
            if rel is None and os.path.exists(path) and os.path.exists(self.root):
                rel = _under(os.path.realpath(path), os.path.realpath(self.root))  # through symlinks
            return SourceLocation(rel, line, True) if rel else SourceLocation(path, line, False)
        rel = _under(path, os.path.normpath(comp_dir)) if os.path.isabs(comp_dir) else None
        if rel is None:
            parts = path.split("/")
            top = next((i for i, p in enumerate(parts) if p in KERNEL_TOP_DIRS), None)
            rel = "/".join(parts[top:]) if top is not None else None
        return SourceLocation(rel, line, True) if rel else SourceLocation(path, line, False)
