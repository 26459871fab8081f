"""Writing a rendered report to -o FILE or stdout (one place, both CLIs)."""
from __future__ import annotations

import sys

from .errors import InputError


def write_output(text: str, output: str | None) -> None:
    if output:
        try:
            with open(output, "w") as f:
                f.write(text)
        except OSError as e:
            raise InputError(f"{output}: cannot write: {e.strerror}") from None
    else:
        sys.stdout.write(text)
