"""The tool's own errors.  Low-level parse errors (pyelftools, struct, OSError)
are turned into these in one place per layer, so the CLI can map them to exit
codes and print one clear line."""


class VerifyError(Exception):
    """Base class."""


class InputError(VerifyError):
    """Bad input: not a kernel, wrong architecture, missing symbols, unreadable
    file, mismatched System.map.  Exit status 2."""


class UsageError(InputError):
    """Bad command-line usage.  Exit status 2."""


class Unsupported(VerifyError):
    """The analysis met something it has no model for (an instruction, a code
    layout, a loop it cannot cut).  Makes the answer inconclusive (exit 3),
    never 'proven'."""
