"""Grading outside the student's interpreter: the judge and the autograde preprocessor.

nbgrader runs the test cells in the same Python process as the student's code, so any
verdict computed there can be faked (patched numpy, lying array subclasses, hidden
tracebacks...). Here the verdict is computed in the instructor's process instead, and
nothing the kernel says is trusted:

- `JudgedExecute` replaces nbgrader's `Execute` preprocessor (see nbgrader_config.py).
  Before running a notebook it starts a `Judge`, a thread listening on a private Unix
  socket, and installs the client module `_rnn_judge` (`kernel_client.py`) in the kernel,
  which runs in a sandbox (`sandbox.py`).
- Before each graded test cell runs, `JudgedExecute` opens that cell's window in the
  judge; after it, it closes it. The judge accepts one check session per window, for
  that cell's grade id only. It sends the case inputs (plain float64 arrays), receives
  the student's outputs case by case, in order, and computes the verdict itself: the
  reference outputs never leave it. Anything else (a message for another cell, a
  session outside a window or a second one, a message it does not understand) is refused
  and recorded as an attempted forgery, which the course's summaries name.
- Sequence functions call a stand-in for the cell function, computed by the judge one
  step at a time: only during their own window, only on the steps of the case being run
  (its inputs and parameters), and at most twice per step.
- After the notebook ran, every graded cell whose window did not end with a passing
  verdict gets an error output with the judge's message, so nbgrader scores it 0 whatever
  the cell printed. A kernel that dies is restarted, the cells that ran before are run
  again (test cells excepted), and the cell that killed it is marked, so a fault costs
  only its own cells.

The wire format is length-prefixed JSON: nothing sent by the kernel is ever unpickled
or executed by the instructor's process.
"""

import base64
import contextlib
import copy
import io
import json
import os
import re
import shutil
import socket
import struct
import tempfile
import threading
from pathlib import Path

import numpy as np
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Unicode

from rnn_solutions.engine import sandbox
from rnn_solutions.engine.declaration import load as load_declaration
from rnn_solutions.engine.kernel_client import encode, read_exactly, send

CLIENT = "_rnn_judge"
GRADE_ID = re.compile(r"^test_(?P<name>\w+?)_(?P<part>structure|values)$")
MAX_MESSAGE = 64 * 1024 * 1024
MAX_REQUEST = 4096  # the first message of a session: a check request is a few words
MAX_CONNECTIONS = 4  # at once; an honest kernel opens one at a time


# ---- wire format: kernel_client.py's, with a reader that trusts nothing -------------------

def recv(sock, limit=MAX_MESSAGE):
    """Receive one JSON object; None when the peer closed the connection.

    ValueError for anything that is not a JSON object of at most `limit` bytes.
    """
    head = read_exactly(sock, 4)
    if head is None:
        return None
    size = struct.unpack(">I", head)[0]
    if size > limit:
        raise ValueError("message too large")
    data = read_exactly(sock, size)
    if data is None:
        return None
    try:
        message = json.loads(data)
    except RecursionError:
        raise ValueError("message nested too deeply") from None
    if not isinstance(message, dict):
        raise ValueError("message is not a JSON object")
    return message


class Opaque:
    """Stands for a value the kernel could not send as an array, dict, list or number."""

    def __init__(self, type_name):
        self.type_name = type_name


def decode(value, depth=0):
    """The inverse of encode, for what the kernel sends; anything else becomes Opaque."""
    if not isinstance(value, dict) or len(value) > 2 or depth > 20:
        return Opaque("unreadable")
    try:
        if "nd" in value:
            raw = base64.b64decode(value["nd"], validate=True)
            shape = tuple(int(n) for n in value["shape"])
            if min(shape, default=0) < 0 or len(raw) != 8 * int(np.prod(shape)):
                return Opaque("unreadable")
            return np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64)
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

    def __init__(self, declaration):
        self.declaration = declaration  # the assignment's (declaration.py)
        self.verdicts = {}  # grade_id -> (passed, message)
        self.forgeries = []  # what the kernel attempted, in words, for the instructor
        self.window = None
        self.lock = threading.Lock()
        self.folder = tempfile.mkdtemp(prefix="rnn-judge-")
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
        name, labelled = window.name, list(window.declaration.cases(window.name))
        send(conn, {"helper": window.helper,
                    "helper_args": list(window.declaration.arguments.get(window.helper, ())),
                    "cases": [encode(list(case.inputs.values())) for _, case in labelled]})
        problems = {}
        for index, (label, case) in enumerate(labelled):
            message = self._outcome(conn, window, case)
            if message is None:
                return  # the kernel went away mid-check: no verdict
            if message["op"] == "raised":
                problems[index] = [f"{name} raised {str(message.get('error', ''))[:300]}"]
                continue
            found = _problems(window, case, message, label)
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

    def _outcome(self, conn, window, case):
        """The kernel's result for one case, answering its stand-in calls on the way."""
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
            send(conn, self._stand_in(window, case, decode(message.get("args")), budget))
        return None

    def _stand_in(self, window, case, args, budget):
        """The reference cell function's reply to one call, or an error the kernel raises."""
        helper, declaration = window.helper, window.declaration
        if budget < 0:
            return {"error": f"{helper} was called more often than the case needs; call it "
                             "once per step"}
        if not declaration.is_step_of(helper, args, case):
            return {"error": f"{helper} {declaration.not_a_step}"}
        try:
            with np.errstate(all="ignore"):  # not s.quiet(): it swaps the process's stderr
                return {"output": encode(declaration.stand_in(helper, args))}
        except Exception as exc:  # the student's arguments, e.g. of the wrong shapes
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}

    @staticmethod
    def _summary(name, problems, labelled):
        """(passed, message): the first failing case's problems, or a success line."""
        if not problems:
            return True, f"{name}: hidden checks passed on {len(labelled)} cases."
        index = min(problems)
        lines = "\n".join(f"  - {p}" for p in dict.fromkeys(problems[index]))
        return False, f"{name} on the {labelled[index][0]}:\n{lines}"


def _problems(window, case, message, label):
    """What is wrong with the outputs a kernel sent for one case."""
    output, args_after = decode(message["output"]), decode(message["args_after"])
    try:
        return window.declaration.problems(window.name, window.part, case, output,
                                           args_after, label)
    except Exception as exc:  # outputs decoded into shapes no check foresaw
        return [f"{window.name}'s output could not be read ({type(exc).__name__})"]


# ---- the preprocessor ------------------------------------------------------------------------

# Memory a student's kernel may use before numpy raises MemoryError instead of the
# machine killing the process; the hard limit too, so the kernel cannot raise it again.
KERNEL_SETUP = r'''
import os as _os, sys as _sys
_path = _sys.path[:]  # a resource.py in the notebook's folder must not stand in
_sys.path[:] = [p for p in _path if _os.path.abspath(p or ".") != _os.getcwd()]
import resource as _resource
_sys.path[:] = _path
_limit = int(open("/proc/self/statm").read().split()[0]) * _resource.getpagesize() + (4 << 30)
_resource.setrlimit(_resource.RLIMIT_AS, (_limit, _limit))
del _os, _sys, _path, _resource, _limit
'''


def client_module(address):
    """Code that makes kernel_client.py a module of its own, named _rnn_judge, talking to
    the judge at `address`; the result is bound to the name `_m`."""
    source = (Path(__file__).with_name("kernel_client.py")).read_text()
    return (f"import types as _types\n"
            f"_m = _types.ModuleType({CLIENT!r})\n"
            f"exec(compile({source!r}, {CLIENT!r}, 'exec'), _m.__dict__)\n"
            f"_m.ADDRESS = {address!r}\n")


def install_client(address):
    """Code that installs the client in the kernel's sys.modules (it survives %reset -f)."""
    return (client_module(address) + f"import sys as _sys\n_sys.modules[{CLIENT!r}] = _m\n"
            "del _sys, _types, _m\n")


def check_here(grade_id, fn, declaration):
    """The hidden checks of one graded cell on `fn`, run in this process exactly as in a
    grading kernel: a judge, its window open, and the kernel client. AssertionError with the
    judge's message if they fail."""
    court = Judge(declaration)
    namespace = {}
    exec(client_module(court.address), namespace)
    try:
        court.open(grade_id)
        with contextlib.redirect_stdout(io.StringIO()):
            namespace["_m"].check(grade_id, fn)
    finally:
        court.close()


class JudgedExecute(Execute):
    """nbgrader's Execute, with the judge running and graded cells decided by it."""

    sandbox = Bool(True, help="Run grading kernels in a bubblewrap sandbox (sandbox.py) "
                              "when the machine can").tag(config=True)
    declarations = Dict(value_trait=Unicode(), help="Each assignment's declaration "
                        "(declaration.py), as 'module:attribute'").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", sandbox.GradingKernelManager)
        super().__init__(**kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self.judge = Judge(self.declaration_of(resources))
        try:
            self._run_all(nb, resources, km)
        finally:
            self.judge.close()
        apply_verdicts(nb, self.judge, self.timeout)
        sandboxed = self.sandbox and sandbox.available()
        write_record(resources, {"forgeries": self.judge.forgeries, "sandboxed": sandboxed})
        if not sandboxed:
            self.log.warning("the grading kernel was NOT sandboxed: %s", sandbox.WARNING)
        return nb, self.resources

    def declaration_of(self, resources):
        """The declaration of the notebook's assignment (named by nbgrader, else by the
        notebook's folder), or None for an assignment not declared."""
        resources = resources or {}
        assignment = resources.get("nbgrader", {}).get("assignment") or \
            Path(resources.get("metadata", {}).get("path") or ".").resolve().name
        spec = self.declarations.get(assignment)
        return None if spec is None else load_declaration(spec)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.sandbox, km.binds = self.sandbox, [self.judge.folder]
        return km

    def _run_all(self, nb, resources, km):
        """Run every cell; when the kernel dies, mark the cell, restart, replay, go on."""
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        done, index = [], 0
        while index < len(nb.cells):
            try:
                with self.setup_kernel():
                    self._prepare_kernel(nb, done)
                    while index < len(nb.cells):
                        self._run_cell(nb.cells[index], resources, index)
                        done.append(index)
                        index += 1
            except DeadKernelError:
                mark(nb.cells[index], "KernelDied", "the kernel died while this cell ran: the "
                     "code called exit() or os._exit(), crashed, or ran out of memory")
                index += 1
                self.km, self.kc = None, None

    def _run_cell(self, cell, resources, index):
        """Run one cell; a graded test cell runs inside its window of the judge."""
        grade_id = judged_grade_id(cell)
        if grade_id:
            self.judge.open(grade_id)
        try:
            self.preprocess_cell(cell, resources, index)
        finally:
            if grade_id:
                self.judge.end()

    def _prepare_kernel(self, nb, done):
        """Install the client and limits, then replay the cells that ran before a restart
        (test cells excepted: their verdicts are already in)."""
        self._silent(install_client(self.judge.address) + KERNEL_SETUP)
        for i in done:
            if not judged_grade_id(nb.cells[i]):
                self.execute_cell(copy.deepcopy(nb.cells[i]), i, store_history=False)

    def _silent(self, code):
        """Execute code in the kernel without recording it in the notebook; RuntimeError
        if it fails (nbgrader then reports the submission as not graded, not as zeros)."""
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError(f"the grading kernel could not be prepared: "
                               f"{content.get('ename', 'no reply')}: {content.get('evalue', '')}")


def write_record(resources, record):
    """Keep what the judge saw of a student's notebook, for the instructor's summaries:
    autograded/.judge/ASSIGNMENT/STUDENT.json (out of the students' feedback)."""
    meta = (resources or {}).get("nbgrader")
    path = (resources or {}).get("metadata", {}).get("path")
    if not meta or not path:
        return
    folder = Path(path).resolve().parents[1] / ".judge" / meta["assignment"]
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{meta['student']}.tmp"
    tmp.write_text(json.dumps(record))
    os.replace(tmp, folder / f"{meta['student']}.json")


def read_records(root, assignment):
    """{student: record} of what the judge saw, from the last grading of each student;
    a record that cannot be read counts as unsandboxed, with no forgery."""
    records = {}
    for path in sorted((Path(root) / "autograded" / ".judge" / assignment).glob("*.json")):
        try:
            record = json.loads(path.read_text())
            records[path.stem] = {"forgeries": list(record["forgeries"]),
                                  "sandboxed": bool(record["sandboxed"])}
        except (OSError, ValueError, TypeError, KeyError):
            records[path.stem] = {"forgeries": [], "sandboxed": False}
    return records


def mark(cell, ename, message):
    """Give a cell an error output, first, so that nbgrader scores it 0 whatever follows."""
    cell.setdefault("outputs", []).insert(0, NotebookNode(
        output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"]))


def judged_grade_id(cell):
    """The grade_id of a graded test cell whose hidden checks call the judge, or None.

    In autograde nbgrader has restored every test cell's source from the master, so the
    student cannot add or remove the call; a release notebook has no hidden checks."""
    meta = cell.metadata.get("nbgrader", {})
    if (cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")
            and GRADE_ID.match(str(meta.get("grade_id", "")))
            and f"{CLIENT}.check(" in cell.source):
        return meta["grade_id"]
    return None


def apply_verdicts(nb, judge, timeout):
    """Fail every judged cell whose hidden checks did not pass, saying why."""
    for cell in nb.cells:
        grade_id = judged_grade_id(cell)
        if grade_id is None:
            continue
        verdict = judge.verdict(grade_id)
        if verdict and verdict[0]:
            for output in cell.get("outputs", []):
                if output.output_type == "stream":
                    output.name = "stdout"  # a passing answer loses nothing to stderr noise
            continue
        errors = {o.get("ename") for o in cell.get("outputs", []) if o.output_type == "error"}
        if verdict:
            message = verdict[1]
        elif errors & {"CellTimeoutError", "KeyboardInterrupt"}:
            message = f"timed out: the cell did not finish within {timeout} s"
        elif "KernelDied" in errors:
            continue  # already marked, with its reason
        else:
            message = ("the hidden checks did not run: the cell stopped at an error before "
                       "them, or the notebook's code kept them from running")
        mark(cell, "HiddenChecksFailed", message)


def execute(nb, path, config, **settings):
    """Run a notebook in `path` as autograde does, the judge included; return it executed.

    config -- the course's nbgrader_config.py (`submissions.course_config`): the kernel,
    the timeout and the declarations; settings -- JudgedExecute's traits to change."""
    JudgedExecute(config=config, **settings).preprocess(nb, {"metadata": {"path": str(path)}})
    return nb
