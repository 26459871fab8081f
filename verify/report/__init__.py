"""Layer 6, reports.  A CheckResult is annotated once, then rendered:

    annotated = annotate(result, image=None, baseline=None, source_root=None)
    render(annotated, fmt) -> str            fmt: text, json, sarif, junit, html

`annotate` (annotate.py) computes what every format shows beside the
result: fingerprints, baseline acceptance, site names, source lines made
relative to the kernel tree (sources.py, over the image layer's DWARF line
reader verify/image/lines.py), and keeps the image open for the HTML
disassembly.  Each format module only renders an Annotated: text.py,
json.py, sarif.py, junit.py, html.py (with pathsvg.py); rules.py holds the
SARIF rules.  `render(result, fmt, image=..., baseline=..., source_root=...)`
annotates and renders in one call.

Nothing here imports angr; capstone is imported only for HTML.
"""
from __future__ import annotations

import json as _json

from ..finding import CheckResult
from .annotate import Annotated, annotate
from .json import JSON_SCHEMA_VERSION, TOOL, finding_dict, to_json
from .text import summary_line

FORMATS = ("text", "json", "sarif", "junit", "html")

__all__ = ["FORMATS", "JSON_SCHEMA_VERSION", "TOOL", "Annotated", "annotate", "finding_dict", "render",
           "render_result", "summary_line", "to_json", "to_text"]


def render(x, fmt: str, image=None, baseline=None, source_root: str | None = None) -> str:
    """`x`: an Annotated, or a CheckResult (annotated here with `image`,
    `baseline` and `source_root`, then closed)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if isinstance(x, CheckResult):
        with annotate(x, image, baseline, source_root, reopen=fmt in ("text", "sarif", "html")) as a:
            return render(a, fmt)
    if fmt == "json":
        return _json.dumps(to_json(x.result), indent=2) + "\n"
    if fmt == "text":
        from .text import to_text

        return to_text(x)
    if fmt == "sarif":
        from .sarif import to_sarif

        return _json.dumps(to_sarif(x), indent=2) + "\n"
    if fmt == "junit":
        from .junit import to_junit

        return to_junit(x)
    from .html import to_html

    return to_html(x)


def to_text(x) -> str:
    """The text report of an Annotated, or of a bare CheckResult (no image
    reopened, no baseline)."""
    from .text import to_text as text

    return text(x if isinstance(x, Annotated) else annotate(x, reopen=False))


def render_result(r: CheckResult, fmt: str) -> str:
    """Kept for callers of the old verify.report: `render(r, fmt)`."""
    return render(r, fmt)
