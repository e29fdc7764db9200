"""The judge's client: runs inside the student's kernel as the module `_judge`.

The grader (`judge.py`) puts this file's source into the kernel as a module of its own in
`sys.modules`, so `%reset -f` and rebinding names in the notebook leave it working. It
needs only the standard library and numpy (the kernel has no rnn_solutions). It decides
nothing: it asks the judge for the inputs of the running cell's checks, runs the
student's function on them and sends back what came out, as plain float64 arrays. The
judge computes every verdict; a kernel that patches this module only loses its points.

What a check needs to call a function (`bind`, `replaced`, `quiet`, `CheckError`) is the
students' self-check's too: `rnncheck/calls.py`, whose code the grader puts into this
module before this file's own.

Wire format: each message is its JSON, then the bytes of the arrays in it, each prefixed
by its length. An array is {"nd": shape} in the JSON, and takes the next 8 x size bytes
(float64, little-endian) in the order the JSON names them: no base64, and no byte shared
by two arrays. The judge sends with `send` and `encode` from here, and reads with its own
`recv` and `decode`, which trust nothing.
"""

import json
import math
import socket
import struct
import traceback
from collections.abc import Mapping

import numpy as np

if __name__ != "_judge":  # in a kernel, the grader has put calls.py's code here already
    from rnn_solutions.rnncheck.calls import (
        CheckError,
        bind,
        parameter_names,
        quiet,
        replaced,
    )

# the judge's Unix socket, or (host, port) on loopback where a kernel may not make Unix
# sockets (sandbox.mode() "landlock"); set by the grader when it installs this module
ADDRESS = None
TOKEN = b""  # sent first on a TCP port: the judge's proof that the connection is ours
WIRE = np.dtype("<f8")  # the arrays' bytes: float64, little-endian


# ---- wire format --------------------------------------------------------------------------

def send(sock, obj):
    """Send one message (see the wire format above)."""
    sock.sendall(frame(obj))


def frame(obj):
    """One message as sent: the lengths of its JSON and of its arrays' bytes, its JSON,
    then its arrays' bytes. `obj` holds what `encode` made: its arrays are taken out here,
    in the order json writes them."""
    blob = []

    def array(value):  # json's hook for what it cannot write: encode's arrays only
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{type(value).__name__} is not sendable")
        blob.append(value.tobytes())
        return {"nd": list(value.shape)}

    data = json.dumps(obj, default=array).encode()
    raw = b"".join(blob)
    return struct.pack(">II", len(data), len(raw)) + data + raw


def recv(sock):
    """Receive one message, its arrays as arrays of their own."""
    framed = read_message(sock)
    if framed is None:
        raise ConnectionError("the grader closed the connection")
    data, raw = framed
    offset = 0

    def array(node):
        nonlocal offset
        if "nd" not in node:
            return node
        count = math.prod(node["nd"])
        value = np.frombuffer(raw, WIRE, count, offset).reshape(node["nd"]).copy()
        offset += 8 * count
        return value

    return json.loads(data, object_hook=array)


def read_message(sock, limit=None):
    """(a message's JSON, its arrays' bytes), or None at end of stream; ValueError, before
    reading them, if they are more than `limit` bytes."""
    head = read_exactly(sock, 8)
    if head is None:
        return None
    size, nbytes = struct.unpack(">II", head)
    if limit is not None and size + nbytes > limit:
        raise ValueError("message too large")
    data = read_exactly(sock, size)
    raw = None if data is None else read_exactly(sock, nbytes)
    return None if raw is None else (data, raw)


def read_exactly(sock, size):
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
    """Plain JSON for dicts, tuples, lists and numbers, and float64 arrays (which `frame`
    sends as bytes).

    Any mapping is sent as a dict (an OrderedDict of gradients is a right answer), a tuple
    or list of any subclass as a tuple or list (a namedtuple cache too)."""
    try:
        if isinstance(value, np.ndarray):
            return np.ascontiguousarray(np.array(value, dtype=WIRE, subok=False))
        if isinstance(value, Mapping):
            return {"dict": [[str(k), encode(v)] for k, v in value.items()]}
        if isinstance(value, (tuple, list)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            return {kind: [encode(v) for v in value]}
        if isinstance(value, (int, float, np.integer, np.floating)) and \
                not isinstance(value, bool):
            return {"float": float(value)}
    except Exception:  # whatever cannot be read is sent as its type name
        pass
    return {"other": type(value).__name__}


def decode(value):
    """The inverse of encode (arrays arrive as arrays, made by `recv`)."""
    if isinstance(value, np.ndarray):
        return value
    if "dict" in value:
        return {k: decode(v) for k, v in value["dict"]}
    if "tuple" in value:
        return tuple(decode(v) for v in value["tuple"])
    if "list" in value:
        return [decode(v) for v in value["list"]]
    return value["float"]


# ---- the checks -----------------------------------------------------------------------------

class StandIn:
    """The reference cell function, computed by the judge one step at a time."""

    def __init__(self, sock, name, names, own=None):
        self.sock, self.__name__ = sock, name
        self.names = parameter_names(own, names)

    def __call__(self, *args, **kwargs):
        send(self.sock, {"op": "helper", "args": encode(bind(self.names, args, kwargs))})
        reply = recv(self.sock)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return decode(reply["output"])


def raising_line(exc):
    """The last line of the notebook's own code (its cells: ipykernel names their files
    ipykernel_PID/...) in exc's traceback, or ''."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "ipykernel_" in f.filename or f.filename.startswith("<ipython-input")]
    return (frames[-1].line or "") if frames else ""


def check(grade_id, fn):
    """Run the hidden checks of the graded cell that is running; the judge decides."""
    tcp = isinstance(ADDRESS, tuple)
    with socket.socket(socket.AF_INET if tcp else socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(ADDRESS)
        sock.sendall(TOKEN)
        send(sock, {"op": "check", "grade_id": grade_id})
        plan = recv(sock)
        if "error" in plan:
            raise CheckError(plan["error"])
        helper, namespace = plan["helper"], getattr(fn, "__globals__", None)
        own = namespace.get(helper) if helper and isinstance(namespace, dict) else None
        stand_in = StandIn(sock, helper, plan["helper_args"], own) if helper else None
        for encoded in plan["cases"]:
            args = decode(encoded)
            try:
                with replaced(namespace, helper, stand_in), quiet():
                    out = fn(*args)
            except Exception as exc:
                send(sock, {"op": "raised", "error": f"{type(exc).__name__}: {exc}",
                            "line": raising_line(exc)})
                continue
            send(sock, {"op": "result", "output": encode(out), "args_after": encode(list(args))})
        send(sock, {"op": "done"})
        verdict = recv(sock)
    if not verdict["passed"]:
        raise CheckError(verdict["message"])
    print(verdict["message"])
