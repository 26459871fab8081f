"""Work that runs beside the exploration, in forked processes.

The TS_COMPAT effects of the callees an exploration summarises
(tscompat.py: the closure of the exit path, seconds on 6.12) are independent
of the exploration until its queries: on two cores they are computed beside
it (tseffects.py) by

    Server(handler) a child answering requests handler(req) in order; the
                    parent asks without waiting and collects answers later

The child is forked from the parent after the image and the Program are
built, so it shares those pages copy-on-write and reads nothing again.
Values cross a pipe as pickles.  Nothing here changes a verdict: the child
computes exactly what the parent would compute in-process, which is what
happens when forking is off (SYSRET_VERIFY_PARALLEL=0, or no os.fork) or the
child dies (then the parent does the work itself).
"""
from __future__ import annotations

import gc
import os
import pickle
import select
import struct
import sys
import traceback

_HEADER = struct.Struct("<Q")


def _fork() -> int:
    """os.fork(), after moving every object to the GC's permanent
    generation: a collection in either process would otherwise write the GC
    header of every old object and copy its page (copy-on-write), which
    doubled the memory the children took."""
    gc.collect()
    gc.freeze()
    return os.fork()


def rss_mib() -> float:
    """This process's resident set now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") / 1048576)
    except (OSError, ValueError, IndexError):
        return 0.0


def enabled() -> bool:
    return hasattr(os, "fork") and os.environ.get("SYSRET_VERIFY_PARALLEL", "1") != "0"



def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int) -> bytes | None:
    out = bytearray()
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            return None
        out += chunk
    return bytes(out)


def _frame(obj) -> bytes:
    try:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # an unpicklable value or exception: its text
        data = pickle.dumps(("error", RuntimeError(f"{type(e).__name__}: {e}")))
    return _HEADER.pack(len(data)) + data


def _recv(fd: int):
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(head)[0])
    if body is None:
        return None
    return pickle.loads(body)


def _child_exit(code: int = 0):
    # no atexit handlers, no flushing of buffers the parent also holds
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except BaseException as e:  # noqa: BLE001 - carried to the parent, raised there
        e.__traceback__ = None
        try:
            pickle.dumps(e)
        except Exception:
            e = RuntimeError(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        return ("error", e)


def _unwrap(outcome):
    kind, value = outcome
    if kind == "error":
        raise value
    return value


class Server:
    """A child answering handler(request) for each request, in order.  ask()
    returns a ticket at once; answer(ticket) waits for that answer.  `warm()`
    runs in the child before the first request (shared preparation).
    Without fork, or once the child has died, the handler runs here, at
    answer() time."""

    def __init__(self, handler, warm=None, fork: bool = True):
        self._handler = handler
        self._answers: dict[int, tuple] = {}
        self._asked: list = []  # requests in order, for a local fallback
        self._next_answer = 0
        self._failed = None  # _local's first failed outcome
        self._pid = None
        if not (fork and enabled()):
            return
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        pid = _fork()
        if pid == 0:  # the child
            os.close(req_w)
            os.close(ans_r)
            try:
                if warm is not None:
                    _outcome(warm)  # a failing warm-up fails again, visibly, in the handler
                failed = None  # as Server._local: nothing is answered after a failure
                while True:
                    req = _recv(req_r)
                    if req is None:
                        break
                    out = failed or _outcome(handler, req)
                    if out[0] == "error":
                        failed = out
                    _write_all(ans_w, _frame(out))
            finally:
                _child_exit()
        os.close(req_r)
        os.close(ans_w)
        os.set_blocking(req_w, False)
        self._pid, self._req, self._ans = pid, req_w, ans_r

    def ask(self, request) -> int:
        ticket = len(self._asked)
        self._asked.append(request)
        if self._pid is not None:
            self._send(_frame(request))
        return ticket

    def answer(self, ticket: int):
        while ticket not in self._answers:
            if self._pid is None:
                # in the order asked, as the child answers: an answer may
                # depend on what was read before it (tscompat.py's pass
                # budget is one per check), and must not depend on which
                # answer the parent waits for first
                first = min(t for t in range(ticket + 1) if t not in self._answers)
                self._answers[first] = self._local(self._asked[first])
                continue
            self._receive_one()
        return _unwrap(self._answers[ticket])

    def _local(self, request):
        """The handler's outcome here.  After one that failed (the round's
        SIGALRM can stop the handler between any two bytecodes, leaving its
        memo tables half written), every later request gets that failure:
        no answer is read from a state an interrupted one left."""
        if self._failed is None:
            out = _outcome(self._handler, request)
            if out[0] == "error":
                self._failed = out
            return out
        return self._failed

    def _receive_one(self) -> None:
        """Read the child's next answer and file it under the next ticket.
        Anything raised on the way (the round's SIGALRM between the read and
        the filing, or inside a frame) leaves the stream out of step: the
        child is dropped and what it has not answered is computed here
        (answers already filed were read whole and in order)."""
        try:
            got = _recv(self._ans)
            if got is None:
                self._died()
                return
            self._answers[self._next_answer] = got
            self._next_answer += 1
        except BaseException:
            self.close()
            raise

    def ready(self, tickets) -> bool:
        """Whether every one of `tickets` has its answer here, reading what
        the child has sent so far without waiting for more; True without a
        child (the answers are then computed at answer() time anyway)."""
        while self._pid is not None and any(t not in self._answers for t in tickets):
            try:
                readable, _w, _x = select.select([self._ans], [], [], 0)
            except BaseException:
                self.close()
                raise
            if not readable:
                return False
            self._receive_one()
        return True

    def close(self):
        if self._pid is not None:
            os.close(self._req)
            os.close(self._ans)
            try:
                os.kill(self._pid, 9)
            except ProcessLookupError:
                pass
            os.waitpid(self._pid, 0)
            self._pid = None

    def _send(self, data: bytes):
        """Write a request, reading answers meanwhile: the child may be
        blocked writing an answer into a full pipe."""
        view = memoryview(data)
        try:
            while view:
                readable, writable, _ = select.select([self._ans], [self._req], [])
                if readable:
                    self._receive_one()
                    if self._pid is None:
                        return
                if writable:
                    try:
                        view = view[os.write(self._req, view):]
                    except BlockingIOError:
                        pass
                    except BrokenPipeError:
                        self._died()
                        return
        except BaseException:
            # a request written in part: the child would read garbage
            if self._pid is not None:
                self.close()
            raise

    def _died(self):
        """The child is gone: what it did not answer is computed here."""
        try:
            os.close(self._req)
            os.close(self._ans)
        finally:
            os.waitpid(self._pid, 0)
            self._pid = None

