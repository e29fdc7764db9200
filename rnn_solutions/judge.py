"""Grading outside the student's interpreter: the judge and the autograde preprocessor.

nbgrader runs the test cells in the same Python process as the student's code, so any
verdict computed there can be faked (patched numpy, lying array subclasses, hidden
tracebacks...). Here the verdict is computed in the instructor's process instead:

- `JudgedExecute` replaces nbgrader's `Execute` preprocessor (see nbgrader_config.py).
  Before running a notebook it starts a `Judge`: a thread listening on a private Unix
  socket, and puts a small client module, `_rnn_judge`, into the kernel.
- A hidden test cell calls `_rnn_judge.check(grade_id, fn)`. The client asks the judge
  for the case inputs (plain float64 arrays), calls the student's function on them, and
  sends back the outputs and the arguments as plain float64 arrays. The reference
  outputs are computed by the judge, where student code never ran, and never leave it.
  Sequence functions get the reference cell function as a stand-in, also computed by the
  judge, one step at a time.
- After the notebook ran, every graded cell whose hidden checks the judge did not see
  pass gets an error output with the judge's message, so nbgrader scores it 0 whatever
  the cell printed. A kernel that dies is restarted, the cells that ran before are run
  again, and the cell that killed it is marked, so a fault costs only its own cells.

The wire format is length-prefixed JSON: nothing sent by the kernel is ever unpickled
or executed by the instructor's process.
"""

import base64
import contextlib
import copy
import json
import os
import re
import socket
import struct
import tempfile
import threading

import numpy as np
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from rnn_solutions import grading, rnn
from rnn_solutions import student as s

ENV_VAR = "RNN_JUDGE_SOCKET"
GRADE_ID = re.compile(r"^test_(?P<name>rnn_\w+?)_(?P<part>structure|values)$")
MAX_MESSAGE = 64 * 1024 * 1024


# ---- wire format (the kernel's copy is in CLIENT below) ------------------------------------

def send(sock, obj):
    """Send one JSON message, prefixed by its length."""
    data = json.dumps(obj).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv(sock):
    """Receive one JSON message; None when the peer closed the connection."""
    head = _read(sock, 4)
    if head is None:
        return None
    size = struct.unpack(">I", head)[0]
    if size > MAX_MESSAGE:
        raise ValueError("message too large")
    data = _read(sock, size)
    return None if data is None else json.loads(data)


def _read(sock, size):
    """Exactly `size` bytes, or None at end of stream."""
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def encode(value):
    """Plain JSON for arrays (as float64 bytes), dicts, tuples, lists and numbers."""
    if isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value, dtype="<f8")
        return {"nd": base64.b64encode(a.tobytes()).decode(), "shape": list(a.shape)}
    if isinstance(value, dict):
        return {"dict": [[str(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, (tuple, list)):
        return {type(value).__name__: [encode(v) for v in value]}
    return {"float": float(value)}


class Opaque:
    """Stands for a value the kernel could not send as an array, dict, list or number."""

    def __init__(self, type_name):
        self.type_name = type_name


def decode(value):
    """The inverse of encode, for what the kernel sends; unknown shapes become Opaque."""
    if not isinstance(value, dict) or len(value) > 2:
        return Opaque("unreadable")
    if "nd" in value:
        raw = base64.b64decode(value["nd"])
        shape = tuple(int(n) for n in value["shape"])
        if len(raw) != 8 * int(np.prod(shape)):
            return Opaque("unreadable")
        return np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64)
    if "dict" in value:
        return {str(k): decode(v) for k, v in value["dict"]}
    if "tuple" in value:
        return tuple(decode(v) for v in value["tuple"])
    if "list" in value:
        return [decode(v) for v in value["list"]]
    if "float" in value:
        return float(value["float"])
    return Opaque(str(value.get("other", "unreadable")))


# ---- the judge ----------------------------------------------------------------------------

class Judge:
    """Serves case inputs, reference stand-ins and verdicts to one notebook's kernel."""

    def __init__(self):
        self.verdicts = {}  # grade_id -> list of (passed, message)
        self.lock = threading.Lock()
        self.folder = tempfile.mkdtemp(prefix="rnn-judge-")
        self.address = os.path.join(self.folder, "socket")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.address)
        self.server.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        """Stop listening and remove the socket."""
        self.server.close()
        with contextlib.suppress(OSError):
            os.unlink(self.address)
            os.rmdir(self.folder)

    def verdict(self, grade_id):
        """(passed, message) for a graded cell, or None if its checks never reported."""
        with self.lock:
            results = self.verdicts.get(grade_id)
        if not results:
            return None
        failed = [message for passed, message in results if not passed]
        return (False, failed[0]) if failed else (True, results[-1][1])

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            try:
                self._check(conn)
            except (OSError, ValueError, KeyError, TypeError):
                pass  # a broken or hostile client: it gets no verdict, so its cell fails

    def _check(self, conn):
        """One hidden check: send the cases, judge what comes back, record the verdict."""
        request = recv(conn)
        match = GRADE_ID.match(str(request.get("grade_id", "")))
        if request.get("op") != "check" or not match:
            return
        grade_id, name, part = match.group(0), match.group("name"), match.group("part")
        labelled = list(grading.labelled_cases(name))
        send(conn, {"helper": s.HELPER.get(name),
                    "cases": [encode(list(case.inputs.values())) for _, case in labelled]})
        problems, answered = {}, set()
        while (message := recv(conn)) is not None and message.get("op") != "done":
            index = int(message.get("case", -1))
            if not 0 <= index < len(labelled):
                continue
            label, case = labelled[index]
            if message["op"] == "helper":
                args = decode(message["args"])
                helper = getattr(rnn, s.HELPER[name])
                with s.quiet():
                    send(conn, encode(helper(*args)))
            elif message["op"] == "raised":
                answered.add(index)
                problems.setdefault(index, [f"{name} raised {message.get('error', '')[:300]}"])
            elif message["op"] == "result":
                answered.add(index)
                found = grading.problems(name, part, case, decode(message["output"]),
                                         decode(message["args_after"]), label)
                if found:
                    problems.setdefault(index, found)
        if message is None:
            return  # the kernel went away mid-check: no verdict
        if len(answered) < len(labelled):
            problems.setdefault(-1, ["the hidden checks did not run on every case"])
        verdict = self._summary(name, problems, labelled)
        with self.lock:
            self.verdicts.setdefault(grade_id, []).append(verdict)
        send(conn, {"passed": verdict[0], "message": verdict[1]})

    @staticmethod
    def _summary(name, problems, labelled):
        """(passed, message): the first failing case's problems, or a success line."""
        if not problems:
            return True, f"{name}: hidden checks passed on {len(labelled)} cases."
        index = min(problems)
        where = labelled[index][0] if index >= 0 else "hidden cases"
        lines = "\n".join(f"  - {p}" for p in dict.fromkeys(problems[index]))
        return False, f"{name} on the {where}:\n{lines}"


# ---- the client, run inside the kernel -------------------------------------------------------

CLIENT = r'''
import base64 as _b64, json as _json, os as _os, socket as _socket, struct as _struct
import contextlib as _contextlib, sys as _sys, types as _types, warnings as _warnings
import numpy as _np

def _send(sock, obj):
    data = _json.dumps(obj).encode()
    sock.sendall(_struct.pack(">I", len(data)) + data)

def _recv(sock):
    def read(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("the grader closed the connection")
            buf += chunk
        return buf
    return _json.loads(read(_struct.unpack(">I", read(4))[0]))

def _encode(value):
    try:
        if isinstance(value, _np.ndarray):
            a = _np.ascontiguousarray(_np.array(value, dtype="<f8", subok=False))
            return {"nd": _b64.b64encode(a.tobytes()).decode(), "shape": list(a.shape)}
        if type(value) is dict:
            return {"dict": [[str(k), _encode(v)] for k, v in value.items()]}
        if type(value) in (tuple, list):
            return {type(value).__name__: [_encode(v) for v in value]}
        if type(value) in (int, float) or isinstance(value, _np.floating):
            return {"float": float(value)}
    except Exception:
        pass
    return {"other": type(value).__name__}

def _decode(value):
    if "nd" in value:
        raw = _b64.b64decode(value["nd"])
        return _np.frombuffer(raw, dtype="<f8").reshape(value["shape"]).copy()
    if "dict" in value:
        return {k: _decode(v) for k, v in value["dict"]}
    if "tuple" in value:
        return tuple(_decode(v) for v in value["tuple"])
    if "list" in value:
        return [_decode(v) for v in value["list"]]
    return value["float"]

def check(grade_id, fn):
    """Run the hidden checks of one graded cell; the grader decides the verdict."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.connect(_os.environ["RNN_JUDGE_SOCKET"])
    with sock:
        _send(sock, {"op": "check", "grade_id": grade_id})
        plan = _recv(sock)
        namespace = getattr(fn, "__globals__", {})
        helper = plan["helper"]
        missing = object()
        own = namespace.get(helper, missing) if helper else missing
        for index, encoded in enumerate(plan["cases"]):
            args = _decode(encoded)
            def stand_in(*step_args, _index=index):
                _send(sock, {"op": "helper", "case": _index, "args": _encode(list(step_args))})
                out = _decode(_recv(sock))
                if helper == "rnn_cell_forward":
                    return out[0], out[1], (out[0], step_args[1], step_args[0], step_args[2])
                return out
            if helper:
                namespace[helper] = stand_in
            try:
                with _warnings.catch_warnings(), _np.errstate(all="ignore"), \
                        _contextlib.redirect_stderr(_sys.stdout):
                    _warnings.simplefilter("ignore")
                    out = fn(*args)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                _send(sock, {"op": "raised", "case": index, "error": error})
                continue
            finally:
                if helper and own is missing:
                    namespace.pop(helper, None)
                elif helper:
                    namespace[helper] = own
            _send(sock, {"op": "result", "case": index, "output": _encode(out),
                         "args_after": _encode(list(args))})
        _send(sock, {"op": "done"})
        verdict = _recv(sock)
    if not verdict["passed"]:
        raise AssertionError(verdict["message"])
    print(verdict["message"])

_module = _types.ModuleType("_rnn_judge")
_module.check = check
_sys.modules["_rnn_judge"] = _module
del _module
'''

# Memory a student's kernel may use before numpy raises MemoryError instead of the
# machine killing the process.
KERNEL_SETUP = r'''
import resource as _resource
_soft = int(open("/proc/self/statm").read().split()[0]) * _resource.getpagesize() + (4 << 30)
_resource.setrlimit(_resource.RLIMIT_AS, (_soft, _resource.RLIM_INFINITY))
del _resource, _soft
'''


# ---- the preprocessor ------------------------------------------------------------------------

class JudgedExecute(Execute):
    """nbgrader's Execute, with the judge running and graded cells decided by it."""

    def preprocess(self, nb, resources=None, km=None):
        judge = Judge()
        previous = os.environ.get(ENV_VAR)
        os.environ[ENV_VAR] = judge.address  # the kernel inherits it
        try:
            self._run_all(nb, resources, km)
        finally:
            judge.close()
            if previous is None:
                os.environ.pop(ENV_VAR, None)
            else:
                os.environ[ENV_VAR] = previous
        apply_verdicts(nb, judge, self.timeout)
        return nb, self.resources

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
                        self.preprocess_cell(nb.cells[index], resources, index)
                        done.append(index)
                        index += 1
            except DeadKernelError:
                mark(nb.cells[index], "KernelDied", "the kernel died while this cell ran: the "
                     "code called exit() or os._exit(), crashed, or ran out of memory")
                index += 1
                self.km, self.kc = None, None

    def _prepare_kernel(self, nb, done):
        """Install the client and limits, then replay the cells that ran before a restart."""
        self._silent(KERNEL_SETUP + CLIENT)
        for i in done:
            self.execute_cell(copy.deepcopy(nb.cells[i]), i, store_history=False)

    def _silent(self, code):
        """Execute code in the kernel without recording it in the notebook."""
        self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))


def mark(cell, ename, message):
    """Give a cell an error output, first, so that nbgrader scores it 0 whatever follows."""
    cell.setdefault("outputs", []).insert(0, NotebookNode(
        output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"]))


def judged_cells(nb):
    """(cell, grade_id) of every graded cell that calls the judge."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and "_rnn_judge.check(" in cell.source:
            yield cell, meta["grade_id"]


def apply_verdicts(nb, judge, timeout):
    """Fail every judged cell whose hidden checks did not pass, saying why."""
    for cell, grade_id in judged_cells(nb):
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


def execute(nb, path, kernel_name="rnn-step-by-step", timeout=30):
    """Run a notebook in `path` as autograde does, the judge included; return it executed."""
    JudgedExecute(kernel_name=kernel_name, timeout=timeout).preprocess(
        nb, {"metadata": {"path": str(path)}})
    return nb
