"""What each RNN exercise takes and returns, and how an output is compared with the reference.

The one place the grader (`grading.py`) and the students' self-checks (`student.py`) read
the assignment's layout from: argument names, gradient keys, the notebook's example
inputs, the arrays an output is made of and their labels, structure and value problems,
in-place changes, the fingerprints of known mistakes. `make release` copies it into
`rnn_utils.py` with `student.py`, so a student's self-check and the hidden checks say the
same things in the same words.
"""

from collections.abc import Mapping

import numpy as np

from rnn_solutions.engine.compare import (  # inlined
    ShapeError,
    _items,
    shape_problems,
    steps_hint,
    value_lines,
)

GRADIENT_KEYS = {
    "rnn_cell_backward": ("dxt", "dh_prev", "dWhx", "dWhh", "dbh"),
    "rnn_backward": ("dx", "dh0", "dWhx", "dWhh", "dbh"),
}
# the cell function each sequence function calls
HELPER = {"rnn_forward": "rnn_cell_forward", "rnn_backward": "rnn_cell_backward"}
EXAMPLE_SIZES = {"n_x": 3, "n_h": 5, "n_y": 2, "m": 10, "T_x": 4}
# what each array's formula keeps it to, for hints on wrong values (compare.range_hint)
RANGES = {"yt_pred": "softmax", "y_pred": "softmax", "h_next": "tanh", "h": "tanh"}


# ---- the notebook's examples ------------------------------------------------------------

def example_inputs(name):
    """The arguments of the notebook's example of exercise `name`, drawn as the notebook does."""
    n_x, n_h, n_y, m, T_x = EXAMPLE_SIZES.values()
    # the same numbers as np.random.seed(1) then np.random.randn, from a private
    # generator: the global one is left alone, and patching it changes nothing here
    draw = np.random.RandomState(1).randn
    shapes = {"Whx": (n_h, n_x), "Whh": (n_h, n_h), "Wyh": (n_y, n_h), "bh": (n_h, 1),
              "by": (n_y, 1)}
    forward = name in ("rnn_cell_forward", "rnn_forward")
    cell = name in ("rnn_cell_forward", "rnn_cell_backward")
    x = draw(n_x, m) if cell else draw(n_x, m, T_x)
    h0 = draw(n_h, m)
    order = ("Whh", "Whx", "Wyh", "bh", "by") if forward else ("Whx", "Whh", "Wyh", "bh", "by")
    p = {key: draw(*shapes[key]) for key in order}
    if forward:
        return [x, h0, p]
    if cell:
        # the forward step written out, so the example does not depend on rnn_cell_forward
        h_next = np.tanh(p["Whh"] @ h0 + p["Whx"] @ x + p["bh"])
        return [draw(n_h, m), (h_next, h0, x, p)]
    # caches from random states in (-1, 1): rnn_backward only reads the cached arrays
    h = np.tanh(draw(n_h, m, T_x))
    h_prev = [h0] + [h[:, :, t - 1] for t in range(1, T_x)]
    caches = ([(h[:, :, t], h_prev[t], x[:, :, t], p) for t in range(T_x)], x)
    return [draw(n_h, m, T_x), caches]


# ---- what each exercise returns ---------------------------------------------------------

def labels(name, T_x):
    """The names of the arrays an exercise returns, in the order of `arrays`."""
    if name == "rnn_cell_forward":
        return ["h_next", "yt_pred", "cache[0] (h_next)", "cache[1] (h_prev)", "cache[2] (xt)"]
    if name == "rnn_forward":
        out = ["h", "y_pred", "caches[1] (x)"]
        for t in range(T_x):
            out += [f"caches[0][{t}][0] (h_next)", f"caches[0][{t}][1] (h_prev)",
                    f"caches[0][{t}][2] (xt)"]
        return out
    return [f"gradients[{key!r}]" for key in GRADIENT_KEYS[name]]


def arrays(name, out, T_x):
    """The arrays an output holds, in the order of `labels`; ShapeError if it cannot."""
    if name == "rnn_cell_forward":
        parts = _items(out, 3, "the return value (h_next, yt_pred, cache)")
        cache = _items(parts[2], 4, "cache (h_next, h_prev, xt, parameters)")
        return [parts[0], parts[1], cache[0], cache[1], cache[2]]
    if name == "rnn_forward":
        h, y_pred, caches = _items(out, 3, "the return value (h, y_pred, caches)")
        if T_x != 2 and isinstance(caches, list) and len(caches) == T_x:
            raise ShapeError("caches should be the tuple (list of caches, x); hint: it is the "
                             "bare list of caches, return (caches, x)")
        cell_caches, x = _items(caches, 2, "caches (list of caches, x)")
        cell_caches = _items(cell_caches, T_x, "caches[0], one cache per time step,",
                             steps_hint)
        out = [h, y_pred, x]
        for t, cache in enumerate(cell_caches):
            cache = _items(cache, 4, f"caches[0][{t}] (h_next, h_prev, xt, parameters)")
            out += cache[:3]
        return out
    if not isinstance(out, Mapping):
        raise ShapeError(f"should return a dict of gradients, got {type(out).__name__}")
    missing = [key for key in GRADIENT_KEYS[name] if key not in out]
    if missing:
        hint = ""
        if any(key in out for key in ("da_prev", "dWax", "dWaa", "dba", "da0")):
            hint = ("; hint: these are the original course's names, this notebook's are "
                    + ", ".join(GRADIENT_KEYS[name]))
        raise ShapeError(f"the gradients dict is missing the keys {missing}; "
                         f"it has {sorted(map(str, out))}{hint}")
    return [out[key] for key in GRADIENT_KEYS[name]]


def labelled(name, out, T_x):
    """[(label, array)] of an output of exercise `name`; ShapeError if it is laid out wrong."""
    return list(zip(labels(name, T_x), arrays(name, out, T_x), strict=True))


def steps_of(name, args):
    """The number of time steps of an exercise's arguments: x's or dh's (1 for a cell)."""
    return np.shape(args[0])[2] if name in HELPER else 1


def structure_problems(name, out, expected, T_x):
    """Problems with the types and shapes of `out`, given the expected arrays."""
    try:
        actual = arrays(name, out, T_x)
    except ShapeError as problem:
        return [str(problem)]
    return shape_problems(list(zip(labels(name, T_x), actual, strict=True)), expected)


def value_problems(name, actual, expected, T_x, show_expected):
    """One line per wrong array: how many entries, the first wrong index and value."""
    return value_lines(labels(name, T_x), actual, expected, show_expected)


ARGUMENTS = {"rnn_cell_forward": ("xt", "h_prev", "parameters"),
             "rnn_forward": ("x", "h0", "parameters"),
             "rnn_cell_backward": ("dh_next", "cache"), "rnn_backward": ("dh", "caches")}
