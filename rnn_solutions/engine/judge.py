"""The judge: the hidden checks' verdicts, computed where student code never runs.

nbgrader runs the test cells in the same Python process as the student's code, so any
verdict computed there can be faked (patched numpy, lying array subclasses, hidden
tracebacks...). Here the verdict is computed in the instructor's process instead, and
nothing the kernel says is trusted:

- A `Judge` is a thread listening on a private Unix socket; the kernel reaches it through
  the client module `_judge` (`kernel_client.py`), which the grader installs in the kernel
  (`execute.py`, where the autograde preprocessor opens and closes the windows).
- Before each graded test cell runs, the preprocessor opens that cell's window in the
  judge; after it, it closes it. The judge accepts one check session per window, for
  that cell's grade id only. It sends the case inputs (plain float64 arrays), receives
  the student's outputs case by case, in order, and computes the verdict itself: the
  reference outputs never leave it. Anything else (a message for another cell, a
  session outside a window or a second one, a message it does not understand) is refused
  and recorded as an attempted forgery, which the course's summaries name.
- Sequence functions call a stand-in for the cell function, computed by the judge one
  step at a time: only during their own window, only on the steps of the case being run
  (its inputs and parameters), and only as often as the declaration allows.

The wire format is JSON followed by its arrays' bytes (`kernel_client.py`): nothing sent
by the kernel is ever unpickled or executed by the instructor's process. This module needs
only numpy and the standard library, so the instructor's own kernel can run the same
checks (`check_here`).
"""

import contextlib
import functools
import hmac
import io
import json
import math
import os
import re
import secrets
import shutil
import socket
import struct
import tempfile
import threading
from pathlib import Path

import numpy as np

from rnn_solutions.engine import sandbox
from rnn_solutions.engine.declaration import load
from rnn_solutions.engine.kernel_client import WIRE, encode, frame, read_message, send
from rnn_solutions.rnncheck.compare import exception_hint

CLIENT = "_judge"  # the client module's name in the kernel
CLIENT_SOURCES = (Path(__file__).parents[1] / "rnncheck" / "calls.py",
                  Path(__file__).with_name("kernel_client.py"))
GRADE_ID = re.compile(r"^test_(?P<name>\w+?)_(?P<part>structure|values)$")
MAX_MESSAGE = 64 * 1024 * 1024
MAX_REQUEST = 4096  # the first message of a session: a check request is a few words
MAX_CONNECTIONS = 4  # at once; an honest kernel opens one at a time
TOKEN_WAIT = 5  # seconds a connection on a TCP port has to send its token


# ---- wire format: kernel_client.py's, with a reader that trusts nothing -------------------

def recv(sock, limit=MAX_MESSAGE):
    """Receive one JSON object, its arrays read from the bytes after it (`_Arrays`); None
    when the peer closed the connection.

    ValueError for anything that is not a JSON object with its arrays' bytes, of at most
    `limit` bytes in all.
    """
    framed = read_message(sock, limit)
    if framed is None:
        return None
    data, raw = framed
    arrays = _Arrays(raw)
    try:
        message = json.loads(data, object_hook=arrays)
    except RecursionError:
        raise ValueError("message nested too deeply") from None
    if not isinstance(message, dict):
        raise ValueError("message is not a JSON object")
    if arrays.offset != len(arrays.buffer):
        raise ValueError("bytes that no array of the message holds")
    return message


class _Arrays:
    """json's hook: each {"nd": shape} becomes the array of the next 8 x size bytes, in
    the order the JSON names them, so that no byte is read twice; one whose shape is not
    a list of sizes, or whose bytes are missing, becomes Opaque and takes none."""

    def __init__(self, raw):
        self.buffer, self.offset = bytearray(raw), 0  # writable: each array is its own

    def __call__(self, node):
        shape = node.get("nd")
        if shape is None:
            return node
        if len(node) != 1 or type(shape) is not list or len(shape) > 32:
            return Opaque("unreadable")
        for n in shape:
            if type(n) is not int or n < 0:
                return Opaque("unreadable")
        # math.prod: exact for any sizes (np.prod overflows)
        size = 8 * math.prod(shape)
        if size > len(self.buffer) - self.offset:
            return Opaque("unreadable")
        value = np.frombuffer(self.buffer, WIRE, size // 8, self.offset).reshape(shape)
        self.offset += size
        return value if WIRE == np.float64 else value.astype(np.float64)  # byte order


class Opaque:
    """Stands for a value the kernel could not send as an array, dict, list or number."""

    def __init__(self, type_name):
        self.type_name = type_name


def decode(value, depth=0):
    """The inverse of encode, for what the kernel sends (its arrays already read by
    `recv`); anything else becomes Opaque."""
    if isinstance(value, np.ndarray | Opaque):
        return value
    if not isinstance(value, dict) or len(value) > 2 or depth > 20:
        return Opaque("unreadable")
    try:
        if "dict" in value:
            return {str(k): decode(v, depth + 1) for k, v in value["dict"]}
        if "tuple" in value:
            return tuple(decode(v, depth + 1) for v in value["tuple"])
        if "list" in value:
            return [decode(v, depth + 1) for v in value["list"]]
        if "float" in value:
            return float(value["float"])
    except (TypeError, ValueError, OverflowError):
        return Opaque("unreadable")
    return Opaque(str(value.get("other", "unreadable"))[:100])


# ---- the judge ----------------------------------------------------------------------------

class ForgeryError(Exception):
    """The kernel did what no honest client does; the message says what."""


class Window:
    """The graded cell that is running, and what its one check session may do."""

    def __init__(self, grade_id, declaration):
        match = GRADE_ID.match(grade_id)
        self.grade_id, self.name, self.part = grade_id, match["name"], match["part"]
        if declaration is None or self.name not in declaration.exercises:
            raise RuntimeError(f"{grade_id} calls the judge, but the notebook's assignment "
                               "declares no such exercise: see c.JudgedExecute.declarations")
        self.declaration = declaration
        # the cell function the exercise calls, answered by the judge, or None
        self.helper = declaration.helpers.get(self.name)
        self.taken = False  # a check session has started in this window


class Judge:
    """Serves case inputs and reference stand-ins to one notebook's kernel; keeps verdicts.

    The preprocessor calls `open(grade_id)` before a graded test cell and `end()` after
    it; the kernel's check sessions are honoured only inside those windows.
    """

    def __init__(self, declaration, tcp=False):
        """tcp -- listen on a loopback port instead of a Unix socket (for a kernel that may
        not make Unix sockets: sandbox.mode() "landlock"); `address` says where."""
        self.declaration = declaration  # the assignment's (declaration.py)
        self.verdicts = {}  # grade_id -> (passed, message)
        self.forgeries = []  # what the kernel attempted, in words, for the instructor
        self.window = None
        self.lock = threading.Lock()
        self.folder = tempfile.mkdtemp(prefix="rnn-judge-", dir=sandbox.shared_folder())
        # on a loopback port any process of the machine may connect (a client of the
        # grader's whose kernel port was taken, say): a connection is the kernel's only once
        # it sent this token, which the kernel's client holds
        self.token = secrets.token_hex(16).encode() if tcp else b""
        if tcp:
            self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.server.bind(("127.0.0.1", 0))
            self.address = self.server.getsockname()
        else:
            self.address = os.path.join(self.folder, "socket")
            self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.server.bind(self.address)
        self.server.listen(8)
        self.connections = set()
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def close(self):
        """Stop listening, end every session, and remove the socket's folder."""
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept
        self.server.close()
        with self.lock:
            self.window = None
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        shutil.rmtree(self.folder, ignore_errors=True)

    def open(self, grade_id):
        """The graded cell `grade_id` starts: its check session may begin. RuntimeError if
        the assignment's declaration has no such exercise."""
        window = Window(grade_id, self.declaration)
        with self.lock:
            self.window = window

    def end(self):
        """The running graded cell finished: no session is honoured until the next opens."""
        with self.lock:
            self.window = None

    def verdict(self, grade_id):
        """(passed, message) for a graded cell, or None if its checks never reported."""
        with self.lock:
            return self.verdicts.get(grade_id)

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                crowded = len(self.connections) >= MAX_CONNECTIONS
                if not crowded:
                    self.connections.add(conn)
            if crowded:
                self._refuse(conn, f"opened more than {MAX_CONNECTIONS} connections at once")
                conn.close()
                continue
            try:
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
            except RuntimeError:  # no more threads: the kernel gets no session
                conn.close()

    def _serve(self, conn):
        """One connection from the kernel; every byte of it is treated as hostile."""
        with conn:
            try:
                if not self._authenticated(conn):
                    return  # not the kernel's: closed, nothing recorded against it
                self._session(conn)
            except ForgeryError as attempt:
                self._refuse(conn, str(attempt))
            except (ValueError, KeyError, TypeError, IndexError, AttributeError,
                    RecursionError, struct.error) as exc:
                self._refuse(conn, f"sent a message the judge does not understand "
                                   f"({type(exc).__name__})")
            except OSError:
                pass  # the kernel went away: its cell has no verdict, so it fails
            finally:
                with self.lock:
                    self.connections.discard(conn)

    def _authenticated(self, conn):
        """Whether the connection is the kernel's: it first sent the token (always so on
        a Unix socket, which only the kernel can reach); read within TOKEN_WAIT seconds."""
        if not self.token:
            return True
        conn.settimeout(TOKEN_WAIT)
        got = b""
        with contextlib.suppress(OSError):
            while len(got) < len(self.token):
                chunk = conn.recv(len(self.token) - len(got))
                if not chunk:
                    break
                got += chunk
        conn.settimeout(None)
        return hmac.compare_digest(got, self.token)

    def _refuse(self, conn, attempt):
        """Record an attempted forgery; tell the kernel no more than that it was refused."""
        with self.lock:
            self.forgeries.append(attempt)
        with contextlib.suppress(OSError):
            send(conn, {"error": "the grader refused this request"})

    def _claim(self, request):
        """The window a check request may run in; ForgeryError if it may not run at all."""
        if request.get("op") != "check":
            raise ForgeryError(f"sent {str(request.get('op'))[:40]!r} before asking for a check")
        grade_id = str(request.get("grade_id"))[:80]
        with self.lock:
            window = self.window
            if window is None:
                raise ForgeryError(f"asked to check {grade_id!r} while no graded cell was "
                                   "running")
            if grade_id != window.grade_id:
                raise ForgeryError(f"asked to check {grade_id!r} while {window.grade_id} was "
                                   "running")
            if window.taken:
                raise ForgeryError(f"opened a second check session during {window.grade_id}")
            window.taken = True
        return window

    def _session(self, conn):
        """One hidden check: send the cases, judge what comes back, record the verdict."""
        request = recv(conn, limit=MAX_REQUEST)
        if request is None:
            return
        window = self._claim(request)
        name = window.name
        labelled, plan = _plan(window.declaration, name)
        conn.sendall(plan)
        problems = {}  # of the first failing case only: the verdict shows no other
        for index, (label, case) in enumerate(labelled):
            # once a case failed, the later ones are answered and read, not judged
            judged = not problems
            # the steps the stand-in answered, in the order asked, and what they were fed
            order, replay = [], window.declaration.replay(name, case) if judged else None
            message = self._outcome(conn, window, case, order, replay)
            if message is None:
                return  # the kernel went away mid-check: no verdict
            if not judged:
                continue
            if message["op"] == "raised":
                problems[index] = _raised(name, message, case,
                                          labelled[0][1].inputs if index else None)
                continue
            found = _problems(window, case, message, label, order,
                              getattr(replay, "problems", []))
            if found:
                problems[index] = found
        done = recv(conn)
        if done is None:
            return
        if done.get("op") != "done":
            raise ForgeryError(f"sent {str(done.get('op'))[:40]!r} after the last case")
        verdict = self._summary(name, problems, labelled)
        with self.lock:
            if self.window is not window:
                return  # the cell ended first (a timeout): it has no verdict, so it fails
            self.verdicts[window.grade_id] = verdict
        send(conn, {"passed": verdict[0], "message": verdict[1]})

    def _outcome(self, conn, window, case, order, replay):
        """The kernel's result for one case, answering its stand-in calls on the way;
        order -- a list noting the step each call was; replay -- the self-check's replay
        (or None), noting what each step was fed."""
        budget = window.declaration.calls_allowed(case)
        while (message := recv(conn)) is not None:
            op = message.get("op")
            if op in ("result", "raised"):
                return message
            if op != "helper" or not window.helper:
                raise ForgeryError(f"sent {str(op)[:40]!r} during {window.grade_id}")
            if self.window is not window:
                return None  # the cell ended (a timeout): the stand-in answers no more
            budget -= 1
            send(conn, self._stand_in(window, case, decode(message.get("args")), budget,
                                      order, replay))
        return None

    def _stand_in(self, window, case, args, budget, order, replay):
        """The reference cell function's reply to one call, or an error the kernel raises."""
        helper, declaration = window.helper, window.declaration
        if budget < 0:
            return {"error": f"{helper} was called more often than the case needs; call it "
                             "once per step"}
        step = declaration.step_index(helper, args, case)
        if step is None:
            return {"error": f"{helper} {declaration.not_a_step}"}
        order.append(step)
        if replay is not None:
            with contextlib.suppress(Exception), np.errstate(all="ignore"):
                replay(*args)  # notes what the step was fed; the reference answers
        try:
            with np.errstate(all="ignore"):  # not s.quiet(): it swaps the process's stderr
                out = declaration.stand_in(helper, args)
        except Exception as exc:  # the student's arguments, e.g. of the wrong shapes
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}
        if replay is not None:
            replay.answered(step, out)
        return {"output": encode(out)}

    @staticmethod
    def _summary(name, problems, labelled):
        """(passed, message): the first failing case's problems, or a success line."""
        if not problems:
            return True, f"{name}: hidden checks passed on {len(labelled)} cases."
        index = min(problems)
        lines = "\n".join(f"  - {p}" for p in dict.fromkeys(problems[index]))
        return False, f"{name} on the {labelled[index][0]}:\n{lines}"


@functools.cache
def _plan(declaration, name):
    """An exercise's [(label, case)] and the message that sends the kernel their inputs,
    made once per process: the cases are seeded, the same for every submission, and their
    arrays read-only, so that no check can change them for the next submission."""
    labelled = list(declaration.cases(name))
    for _, case in labelled:
        _read_only(case)
    helper = declaration.helpers.get(name)
    return labelled, frame({
        "helper": helper, "helper_args": list(declaration.arguments.get(helper, ())),
        "cases": [encode(list(case.inputs.values())) for _, case in labelled]})


def _read_only(tree):
    """Make every array in a nested structure of tuples, lists and dicts read-only."""
    if isinstance(tree, np.ndarray):
        tree.flags.writeable = False
    elif isinstance(tree, dict):
        for value in tree.values():
            _read_only(value)
    elif isinstance(tree, tuple | list):
        for value in tree:
            _read_only(value)


def _raised(name, message, case, example=None):
    """The lines for a case on which the student's function raised: the exception, the
    student's line that raised it (as the kernel tells; text only), and why, where the
    exception's message shows it; example -- the example's inputs, for a hidden case."""
    error = str(message.get("error", ""))[:300]
    line = " ".join(str(message.get("line", "")).split())[:120]
    hint = exception_hint(error, case.inputs, example)
    return [f"{name} raised {error}" + (f" (at `{line}`)" if line else ""),
            *([f"hint: {hint}"] if hint else [])]


def _problems(window, case, message, label, order, fed):
    """What is wrong with the outputs a kernel sent for one case."""
    output, args_after = decode(message["output"]), decode(message["args_after"])
    try:
        return window.declaration.problems(window.name, window.part, case, output,
                                           args_after, label, order, fed)
    except Exception as exc:  # outputs decoded into shapes no check foresaw
        return [f"{window.name}'s output could not be read ({type(exc).__name__})"]


def client_module(address, token=b""):
    """Code that makes kernel_client.py a module of its own, named _judge, talking to
    the judge at `address` (with its token, on a TCP port), with the code of
    rnncheck/calls.py (which it imports from the package outside a kernel) run in it
    first; the result is bound to the name `_m`."""
    calls, source = (path.read_text() for path in CLIENT_SOURCES)
    return (f"import types as _types\n"
            f"_m = _types.ModuleType({CLIENT!r})\n"
            f"exec(compile({calls!r}, {CLIENT!r}, 'exec'), _m.__dict__)\n"
            f"exec(compile({source!r}, {CLIENT!r}, 'exec'), _m.__dict__)\n"
            f"_m.ADDRESS, _m.TOKEN = {address!r}, {token!r}\n")


def check_here(grade_id, fn, declaration, show=False):
    """The hidden checks of one graded cell on `fn`, run in this process exactly as in a
    grading kernel: a judge, its window open, and the kernel client. AssertionError with the
    judge's message if they fail; the success line printed if `show`."""
    court = Judge(declaration)
    namespace = {}
    exec(client_module(court.address, court.token), namespace)
    try:
        court.open(grade_id)
        with contextlib.nullcontext() if show else contextlib.redirect_stdout(io.StringIO()):
            namespace["_m"].check(grade_id, fn)
    finally:
        court.close()


# ---- the hidden checks in the instructor's own kernel ---------------------------------------

LOCAL = '''"""The hidden checks in your own kernel (Run All in JupyterLab). Generated by
`make release` (rnn_solutions/engine/judge.py): do not edit.

Under nbgrader (autograde, validate) the grader installs its client as `_judge` before
any cell runs, and this file is never read; it is not released to students
(nbgrader_config.py ignores it). Here the judge and its client run in this kernel, on
the reference: the instructor's own code needs no protection.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2]))  # the course directory
from rnn_solutions.engine.judge import local_check  # noqa: E402

check = local_check({spec!r})
'''


def local_module(spec):
    """The source of `_judge.py` for the master notebook's folder of the assignment whose
    declaration is `spec` ('module:attribute')."""
    return LOCAL.format(spec=spec)


def local_check(spec):
    """`check(grade_id, fn)` judging in this process, printing what the grader's prints."""
    declaration = load(spec)
    return lambda grade_id, fn: check_here(grade_id, fn, declaration, show=True)
