"""What each LSTM exercise takes and returns: the one place the grader (`grading.py`) and
the students' self-checks (`student.py`) read it from. `make release` copies it into
`lstm_utils.py` with `student.py` and the engine's comparisons (`compare.py`).
"""

import functools
import json
from pathlib import Path

import numpy as np

from rnn_solutions.engine.compare import Keys, Seq, Steps, flatten  # inlined

ARGUMENTS = {"lstm_cell_forward": ("xt", "h_prev", "c_prev", "parameters"),
             "lstm_forward": ("x", "h0", "parameters"),
             "lstm_cell_backward": ("dh_next", "dc_next", "cache"),
             "lstm_backward": ("dh", "caches")}
# the cell function each sequence function calls
HELPER = {"lstm_forward": "lstm_cell_forward", "lstm_backward": "lstm_cell_backward"}
EXAMPLE_SIZES = {"n_x": 3, "n_h": 5, "n_y": 2, "m": 10, "T_x": 7}
# what each array's formula keeps it to, for hints on wrong values (compare.range_hint):
# h = ot * tanh(c) stays in [-1, 1] too
RANGES = {"yt_pred": "softmax", "y": "softmax", "h_next": "tanh", "h": "tanh",
          "cct": "tanh", "ft": "sigmoid", "it": "sigmoid", "ot": "sigmoid"}

CACHE = ("h_next", "c_next", "h_prev", "c_prev", "ft", "it", "cct", "ot", "xt", None)
GATE_GRADIENTS = ("dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo")
# the original course's names for this notebook's (a for the hidden state)
ALIASES = {"da_prev": "dh_prev", "da0": "dh0", "da_next": "dh_next"}
RETURNS = {
    "lstm_cell_forward": Seq("the return value", ("h_next", "c_next", "yt_pred",
                                                  Seq("cache", CACHE))),
    "lstm_forward": Seq("the return value", (
        "h", "y", "c", Seq("caches", (Steps("list of caches", Seq("cache", CACHE)), "x")))),
    "lstm_cell_backward": Keys("gradients", ("dxt", "dh_prev", "dc_prev", *GATE_GRADIENTS),
                               ALIASES),
    "lstm_backward": Keys("gradients", ("dx", "dh0", *GATE_GRADIENTS), ALIASES),
}


def labelled(name, out, T_x):
    """[(label, array)] of an output of exercise `name`; ShapeError if it is laid out wrong."""
    return flatten(RETURNS[name], out, T_x)


def arrays(name, out, T_x):
    """The arrays of an output, in the order of `labelled`."""
    return [value for _, value in labelled(name, out, T_x)]


def steps_of(name, args):
    """The number of time steps of an exercise's arguments: x's or dh's (1 for a cell)."""
    return np.shape(args[0])[2] if name in HELPER else 1


# ---- the notebook's examples ------------------------------------------------------------

def example_inputs(name):
    """The arguments of the notebook's example of exercise `name`: the original course's
    draws after np.random.seed(1). The backward examples' caches are the reference's, read
    from self_check_data.json (computing them would give the forward exercises away)."""
    n_x, n_h, n_y, m, T_x = EXAMPLE_SIZES.values()
    # the same numbers as np.random.seed(1) then np.random.randn, from a private
    # generator: the global one is left alone, and patching it changes nothing here
    draw = np.random.RandomState(1).randn
    sequence = name in ("lstm_forward", "lstm_backward")
    x = draw(n_x, m, T_x) if sequence else draw(n_x, m)
    h0 = draw(n_h, m)
    c_prev = None if sequence else draw(n_h, m)
    gate, bias = (n_h, n_h + n_x), (n_h, 1)
    p = {key: draw(*shape) for key, shape in (
        ("Wf", gate), ("bf", bias), ("Wi", gate), ("bi", bias), ("Wo", gate), ("bo", bias),
        ("Wc", gate), ("bc", bias), ("Wy", (n_y, n_h)), ("by", (n_y, 1)))}
    if name == "lstm_cell_forward":
        return [x, h0, c_prev, p]
    if name == "lstm_forward":
        return [x, h0, p]
    stored = example_caches()
    if name == "lstm_cell_backward":
        return [draw(n_h, m), draw(n_h, m), _cache(stored["cell"], h0, c_prev, x, p)]
    caches, h_prev, c_prev = [], h0, np.zeros((n_h, m))
    for t, arrays in enumerate(stored["steps"]):
        caches.append(_cache(arrays, h_prev, c_prev, x[:, :, t], p))
        h_prev, c_prev = caches[-1][0], caches[-1][1]
    return [draw(n_h, m, T_x), (caches, x)]


def example_caches():
    """The reference's caches on the backward examples, as self_check_data.json stores
    them: the six arrays of each that the inputs do not give (h_next, c_next and the gates)."""
    return _data()["caches"]


@functools.cache
def _data():
    """self_check_data.json, stored beside this file by `make release`: the reference's
    outputs on the examples and their caches; read once (every self-check and graded cell
    asks for them; nothing changes them: each use copies them into arrays)."""
    with open(Path(__file__).with_name("self_check_data.json")) as f:
        return json.load(f)


def _cache(stored, h_prev, c_prev, xt, parameters):
    """A cell cache from its six stored arrays and the step's inputs."""
    h_next, c_next, ft, it, cct, ot = (np.array(a) for a in stored)
    return (h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, parameters)
