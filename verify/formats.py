"""The old home of the SARIF, JUnit and HTML renderers, kept so that code
importing it still works.  Everything lives in verify/report/ now: this
module only re-exports."""
from __future__ import annotations

from .report import render as _render
from .report.annotate import annotate
from .report.pathsvg import path_svg
from .report.rules import RULES, SECURITY_SEVERITY
from .report.sarif import KERNEL_MAP_BASE, SARIF_SCHEMA
from .report.sources import SourcePaths

FORMATS = ("sarif", "junit", "html")

__all__ = ["FORMATS", "KERNEL_MAP_BASE", "RULES", "SARIF_SCHEMA", "SECURITY_SEVERITY", "SourceLines", "path_svg",
           "render", "site_lines"]


def render(result, fmt: str, image=None, baseline=None) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    return _render(result, fmt, image=image, baseline=baseline)


def site_lines(result, image=None) -> dict:
    """SYSRET site address -> (source file, line), for the sites with a
    non-proven finding (empty without DWARF)."""
    with annotate(result, image) as a:
        return {i.finding.site: (i.source.path, i.source.line) for i in a.items if i.source is not None}


class SourceLines:
    """verify.image.lines.SourceLines whose lookup gives (path, line) with
    the path placed in the kernel tree as the reports place it."""

    def __init__(self, path: str):
        from .image.lines import SourceLines as _Lines

        self._lines = _Lines(path)
        self.ok, self.why = self._lines.ok, self._lines.why

    def lookup(self, addr: int) -> tuple[str, int] | None:
        src = self._lines.lookup(addr)
        if src is None:
            return None
        loc = SourcePaths().locate(src)
        return loc.path, loc.line

    def close(self) -> None:
        self._lines.close()
