"""The one pass that turns a CheckResult into what every report shows.

    annotate(result, image=None, baseline=None, source_root=None) -> Annotated

Computed once here, so that writing several formats from one proof (`check
--sarif F --html G ...`) reads the baseline and the DWARF once, and every
format says the same thing:

- per finding (`Item`): its fingerprint (verify.baseline), the function
  holding its SYSRET and its place among that function's SYSRETs (the stable
  name JUnit uses), the baseline entry accepting it, its source line;
- the source line of every address a report shows (the site and the
  counterexample path of each finding that is not proven), made relative to
  the kernel tree (verify/report/sources.py);
- the image itself, kept open for the bytes the HTML page disassembles.

`image`: a KernelImage/ElfImage, a path, or None to reopen
`result.image_path` (used only when its build id matches the result's; a
cached result of a moved or rebuilt image gets no source lines and no
disassembly, and is otherwise complete).  Close the result (`with
annotate(...) as a:`) to release the image.

Nothing here imports angr.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..baseline import accepting, fingerprints, site_function
from ..finding import INCONCLUSIVE, PROVEN, VIOLATED, CheckResult, Finding
from .sources import SourceLocation, SourcePaths

STATUSES = (PROVEN, VIOLATED, INCONCLUSIVE)


def status_counts(findings) -> dict[str, int]:
    return {s: sum(1 for f in findings if f.status == s) for s in STATUSES}


def hexv(v: int) -> str:
    """A value as reports print it: 64-bit values zero-padded to 16 digits."""
    return f"{v:#018x}" if v >= 1 << 32 else f"{v:#x}"


@dataclass(frozen=True)
class Item:
    """One finding with what the reports add to it."""

    finding: Finding
    fingerprint: str
    function: str  # the function holding the SYSRET (site symbol without +0xoff)
    site_number: int  # 1-based place of the site among `function`'s SYSRET sites (address order)
    function_sites: int  # how many SYSRET sites `function` holds
    accepted: dict | None  # the baseline entry accepting this (violated or inconclusive) finding
    source: SourceLocation | None  # the SYSRET's source line

    @property
    def name(self) -> str:
        """`obligation @ function`, numbered when the function holds several
        SYSRETs: stable when code moves (no offsets, issue 10)."""
        n = f" (SYSRET {self.site_number} of {self.function_sites})" if self.function_sites > 1 else ""
        return f"{self.finding.obligation} @ {self.function}{n}"

    @property
    def anchor(self) -> str:
        f = self.finding
        return "cx-" + re.sub(r"[^a-zA-Z0-9]+", "-", f"{f.obligation}-{f.variant}-{f.site:x}")


@dataclass
class Annotated:
    result: CheckResult
    items: list[Item]
    counts: dict[str, int]  # status -> number of findings
    baseline: object = None  # verify.baseline.Baseline or None
    paths: SourcePaths = field(default_factory=SourcePaths)
    sources: dict[int, SourceLocation] = field(default_factory=dict)  # address -> source line
    image: "ImageView | None" = None

    @property
    def accepted_count(self) -> int:
        return sum(1 for i in self.items if i.accepted is not None)

    def close(self) -> None:
        if self.image is not None:
            self.image.close()

    def __enter__(self) -> "Annotated":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def annotate(result: CheckResult, image=None, baseline=None, source_root: str | None = None,
             reopen: bool = True) -> Annotated:
    """`reopen=False`: no image at all when `image` is None (no source lines)."""
    view = ImageView(result, image, reopen)
    paths = SourcePaths(source_root)
    sources: dict[int, SourceLocation] = {}
    for f in result.findings:
        if f.status == PROVEN:
            continue
        for addr in [f.site] + ([s.address for s in f.counterexample.path] if f.counterexample else []):
            if addr not in sources:
                src = view.source_line(addr)
                if src is not None:
                    sources[addr] = paths.locate(src)
    sites_in: dict[str, list[int]] = {}
    for f in result.findings:
        fn = site_function(f.site_symbol)
        if f.site not in sites_in.setdefault(fn, []):
            sites_in[fn].append(f.site)
    for s in sites_in.values():
        s.sort()
    items = []
    for f, fp in zip(result.findings, fingerprints(result.findings)):
        fn = site_function(f.site_symbol)
        entry = accepting(baseline, f, fp)
        items.append(Item(f, fp, fn, sites_in[fn].index(f.site) + 1, len(sites_in[fn]), entry,
                          sources.get(f.site)))
    return Annotated(result, items, status_counts(result.findings), baseline, paths, sources, view)


def _elf_of(path: str):
    """The ElfImage of a vmlinux, or of a vmlinuz's payload (decompressed
    into the kernel cache the first time)."""
    from ..image import ElfImage
    from ..image.bzimage import is_bzimage

    with open(path, "rb") as f:
        head = f.read(0x270)
    if is_bzimage(head):
        from ..image import KernelImage

        return KernelImage.open(path).elf
    return ElfImage(path)


class ImageView:
    """The image behind a result, for what reports show beyond it: source
    lines (DWARF), bytes to disassemble, symbol names.  Every question
    answers None when the image is unavailable."""

    def __init__(self, result: CheckResult, image, reopen: bool = True):
        self.image = None  # object with .read(addr, n) and maybe .symbolize(addr)
        self._elf = None  # the ElfImage read for DWARF (a vmlinuz's decompressed payload)
        self._own = None
        self._lines = None
        if image is None:
            p = result.image_path
            if reopen and p and os.path.isfile(p):
                try:
                    elf = _elf_of(p)
                    if result.build_id is None or elf.build_id == result.build_id:
                        self.image = self._elf = self._own = elf
                    else:
                        elf.close()
                except Exception:  # noqa: BLE001 - a moved/changed image only loses extras
                    self.image = None
        elif isinstance(image, (str, os.PathLike)):
            from ..image import ElfImage

            self.image = self._elf = self._own = ElfImage(os.fspath(image))
        else:
            self.image = image
            self._elf = getattr(image, "elf", image)

    def source_line(self, addr: int):
        """verify.image.lines.SourceLine or None."""
        if self._elf is None or not hasattr(self._elf, "section"):
            return None
        if self._lines is None:
            from ..image.lines import SourceLines

            self._lines = SourceLines(self._elf)
        return self._lines.lookup(addr)

    def read(self, addr: int, n: int) -> bytes | None:
        if self.image is None:
            return None
        while n > 0:
            try:
                return bytes(self.image.read(addr, n))
            except Exception:  # noqa: BLE001 - end of section: read less
                n //= 2
        return None

    def symbolize(self, addr: int) -> str | None:
        f = getattr(self.image, "symbolize", None)
        if f is None:
            return None
        try:
            return f(addr)
        except Exception:  # noqa: BLE001
            return None

    def close(self) -> None:
        if self._lines is not None:
            self._lines.close()
            self._lines = None
        if self._own is not None:
            try:
                self._own.close()
            except BufferError:
                pass
            self._own = None
