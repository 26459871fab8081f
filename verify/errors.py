"""The tool's own errors.  Low-level parse errors (pyelftools, struct, OSError)
are turned into these in one place per layer, so the CLI can map them to exit
codes and print one clear line."""
import os
import stat


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


def require_regular_file(path: str, what: str) -> None:
    """A one-line InputError at once for anything but a regular file: opening
    a FIFO would wait for a writer, a character device may never end."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: no such file ({what})") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read {what}: {e.strerror}") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a directory, not {what}")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode) else
                "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise InputError(f"{path}: is {kind}, not {what} (a regular file is required)")


def untrusted_cache_entry(entry: os.stat_result, directory: os.stat_result) -> str:
    """Why a cache entry (stat of the file and of its directory) is not to be
    believed, or "": a cached result is a proof taken without re-proving, and
    a cached decompressed vmlinux is the code checked, so only an entry no
    one else could have written counts (a result's key is made of public
    facts: anyone could plant an all-proven entry where the directory lets
    them, review 174): the entry and its directory owned by this user, and
    not writable by every user.  (Group write is let be: a umask of 002
    with a group of one's own is common on CI machines.)"""
    uid = os.geteuid()
    if entry.st_uid != uid or directory.st_uid != uid:
        return "owned by another user"
    if entry.st_mode & 0o002 or directory.st_mode & 0o002:
        return "writable by every user"
    return ""


def internal_error(e: BaseException) -> str:
    """`internal error: Type: message at file:line` (the innermost frame) for
    an exception that is a bug in the tool: its own exit status, never a
    verdict."""
    where = ""
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
    return f"internal error: {type(e).__name__}: {str(e)[:300]}{where}"
