# Generated from rnn_solutions/rnn_step_by_step/student.py by `make release`: do not edit.
"""Students' helpers for the RNN step-by-step notebook: self-checks, gradient checks, plots.

`make release` copies this file into the assignment folder as `rnn_utils.py`, beside
`self_check_data.json` (the reference's outputs on the notebook's examples and the
fingerprints of known mistakes there). It holds no solution: it only compares, with the
layout and comparison code the grader uses (`layout.py`, copied in too).

    self_check(name, fn)                       -- run fn on the notebook's example and explain
    gradient_check(forward, backward)          -- centred finite differences of your functions
    plot_gradient_norms(rnn_forward, rnn_backward) -- vanishing and exploding gradients
"""

import copy
import json
from pathlib import Path

import numpy as np

# shared with the grader; `make release` copies them into rnn_utils.py
import inspect


def bind(names, args, kwargs):
    """The arguments of a call, by position or by keyword, in the order of `names`."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = inspect.Signature([inspect.Parameter(n, kind) for n in names])
    bound = signature.bind(*args, **kwargs)  # a TypeError like Python's for a bad call
    return [bound.arguments[n] for n in names]


def parameter_names(own, names):
    """The parameter names a call of the cell function may use as keywords: those of the
    student's own cell function `own` when it has as many as the documented `names`."""
    try:
        theirs = list(inspect.signature(own).parameters)
    except (TypeError, ValueError):
        theirs = []
    return theirs if len(theirs) == len(names) else list(names)


import contextlib
import sys
import warnings


class CheckError(AssertionError):
    """A check that found something wrong. IPython shows its report alone (what is wrong,
    where, the hint), not a traceback through the helper module that raised it."""

    def _render_traceback_(self):
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


@contextlib.contextmanager
def quiet():
    """No warnings, and stderr to stdout (nbgrader scores a cell writing to stderr 0)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            contextlib.redirect_stderr(sys.stdout):
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def replaced(namespace, name, stand_in):
    """`name` bound to `stand_in` in the function's globals, restored afterwards; bound
    even when the notebook has no such function (not written yet, or its cell failed)."""
    if not name or not isinstance(namespace, dict):
        yield
        return
    missing = object()
    own = namespace.get(name, missing)
    namespace[name] = stand_in
    try:
        yield
    finally:
        if own is missing:
            namespace.pop(name, None)
        else:
            namespace[name] = own




def run_example(name, fn, part, inputs, data, labelled, arguments, helper=None, replay=None,
                ranges=None):
    """Run fn on the example's inputs and report on one part; CheckError if wrong.

    data -- the stored reference outputs ("expected") and mistakes' fingerprints
    ("mistakes"); labelled(out) -- the output's [(label, array)]; arguments -- the
    exercise's parameter names; helper, replay -- the cell function a sequence function
    calls, and the stand-in that replays it (its `problems` say what each step was fed);
    ranges -- what each array's formula keeps it to (compare.output_problems).
    """
    __tracebackhide__ = True  # an error of fn shows fn's frames, not this helper's
    expected = [np.array(e) for e in data["expected"]]
    pristine = copy.deepcopy(inputs)
    with quiet(), replaced(getattr(fn, "__globals__", None), helper, replay):
        out = fn(*inputs)
    problems = output_problems(lambda: labelled(out), expected, part, True,
                               lambda actual: stored_hints(data["mistakes"], actual, expected),
                               ranges)
    if part == "values":
        problems += getattr(replay, "problems", []) + modified_inputs(pristine, inputs,
                                                                       arguments)
    if problems:
        raise CheckError(f"{name} on the example above:\n"
                             + "\n".join(f"  - {p}" for p in dict.fromkeys(problems)))
    print(f"{name}: the visible {part} checks pass.")


def stored_hints(mistakes, actual, expected):
    """Hints of the stored mistakes whose wrong outputs equal the student's."""
    wrong = wrong_outputs(actual, expected)
    return [m["hint"] for m in mistakes if fingerprint_matches(
        actual, wrong, {int(i): np.array(v) for i, v in m["outputs"].items()})]


from collections.abc import Mapping
from collections.abc import Mapping, Sequence
from typing import NamedTuple


RTOL, ATOL = 1e-6, 1e-8


class Seq(NamedTuple):
    """A tuple of named parts."""

    name: str
    parts: tuple


class Steps(NamedTuple):
    """A list of one part per time step."""

    name: str
    part: object


class Keys(NamedTuple):
    """A dict of arrays; `aliases` maps names from other courses to this one's."""

    name: str
    keys: tuple
    aliases: dict = {}


class ShapeError(Exception):
    """The output is not laid out as the exercise asks."""


def flatten(spec, value, T_x, path=None):
    """[(label, array)] of every compared array in value, in the spec's order."""
    if spec is None:
        return []
    if isinstance(spec, str):
        label = spec if path is None or path == spec else f"{path} ({spec})"
        return [(label, value)]
    name = spec.name if path is None else path
    if isinstance(spec, Keys):
        return [(f"{name}[{k!r}]", v) for k, v in zip(spec.keys, _keys(spec, value, name),
                                                       strict=True)]
    if isinstance(spec, Steps):
        items, parts = _items(value, T_x, f"{name}, one per time step,"), [spec.part] * T_x
    else:
        items, parts = _items(value, len(spec.parts), f"{name} ({_names(spec)})"), spec.parts
    top = path is None and spec.name == "the return value"
    return [pair for i, (part, item) in enumerate(zip(parts, items, strict=True))
            for pair in flatten(part, item, T_x, _child(part, name, i, top))]


def _child(part, name, i, top):
    """The path of the i-th item of `name`: its own name at the top, else name[i]."""
    if top:
        return part if isinstance(part, str) else part.name
    return f"{name}[{i}]"


def _names(spec):
    """'h_next, c_next, cache' for a Seq."""
    return ", ".join("parameters" if p is None else p if isinstance(p, str) else p.name
                     for p in spec.parts)


def _items(value, length, what):
    """value as a list of `length` items, or ShapeError."""
    if isinstance(value, (str, bytes, np.ndarray)) or not isinstance(value, Sequence):
        raise ShapeError(f"{what} should be a tuple of {length}, got {type(value).__name__}")
    if len(value) != length:
        raise ShapeError(f"{what} should have {length} items, got {len(value)}")
    return list(value)


def _keys(spec, value, name):
    """The dict's arrays in the spec's key order, or ShapeError naming what is missing."""
    if not isinstance(value, Mapping):
        raise ShapeError(f"{name} should be a dict, got {type(value).__name__}")
    missing = [k for k in spec.keys if k not in value]
    if missing:
        hint = ""
        if any(k in value for k in spec.aliases):
            hint = "; hint: these are the original course's names, this notebook's are " + \
                ", ".join(spec.keys)
        raise ShapeError(f"{name} is missing the keys {missing}; it has "
                         f"{sorted(map(str, value))}{hint}")
    return [value[k] for k in spec.keys]


def shape_problems(labelled, expected):
    """Problems with the types and shapes of labelled arrays, given the expected arrays."""
    problems = []
    for (label, value), want in zip(labelled, expected, strict=True):
        if not isinstance(value, np.ndarray):
            problems.append(f"{label} should be a numpy array, got {type(value).__name__}")
        elif value.shape != want.shape:
            text = f"{label} has shape {value.shape}, expected {want.shape}"
            if value.shape == want.shape[:1]:
                text += "; hint: keep the second axis, e.g. np.sum(..., axis=1, keepdims=True)"
            problems.append(text)
    return problems


def output_problems(labelled, expected, part, show_expected, hints=lambda actual: (),
                    ranges=None):
    """What is wrong with an output, for one part ("structure" or "values").

    labelled -- a function giving the output's [(label, array)], or raising ShapeError;
    hints(actual) -- the hints for wrong values (the known mistakes they match);
    ranges -- {array name: "softmax", "tanh" or "sigmoid"}: what its formula keeps it to,
    so that a wrong array outside that range gets a hint saying so."""
    try:
        pairs = labelled()
    except ShapeError as problem:
        return [str(problem)]
    found = shape_problems(pairs, expected)
    if part == "structure" or found:
        return found
    labels, actual = zip(*pairs, strict=True)
    actual = plain(actual)
    found = value_lines(labels, actual, expected, show_expected)
    if not found:
        return []
    wrong = wrong_outputs(actual, expected)
    outside = [range_hint(labels[i], actual[i], (ranges or {}).get(_leaf(labels[i])))
               for i in wrong]
    return found + [f"hint: {hint}" for hint in [*filter(None, outside), *hints(actual)]]


def range_hint(label, value, kind):
    """Why `value` cannot be what its formula gives, or None: a softmax's columns are
    probabilities summing to 1, a tanh stays in [-1, 1], a sigmoid in [0, 1]."""
    if kind == "softmax":
        broken = ("it has negative entries" if (value < 0).any() else
                  "it has entries above 1" if (value > 1).any() else
                  "its columns do not sum to 1" if not np.allclose(value.sum(axis=0), 1)
                  else None)
        return broken and (f"{label} is not a probability distribution in each column "
                           f"({broken}): it must be a softmax over axis 0")
    low = {"tanh": -1, "sigmoid": 0}.get(kind)
    if low is not None and ((value < low).any() or (value > 1).any()):
        return (f"{label} has entries outside [{low}, 1], where the {kind} that makes it "
                f"keeps it (from {value.min():.3g} to {value.max():.3g})")
    return None


def _leaf(label):
    """The array name in a label: 'h_next' -> h_next, 'cache[4] (ft)' -> ft."""
    return label[label.rindex("(") + 1:-1] if label.endswith(")") else label


def wrong_outputs(actual, expected):
    """Indices of the arrays of `actual` that differ from `expected`."""
    return [i for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            if not np.allclose(a, e, rtol=RTOL, atol=ATOL)]


def value_lines(labels, actual, expected, show_expected):
    """One line per wrong array: how many entries, the first wrong index and value."""
    problems = []
    for i in wrong_outputs(actual, expected):
        close = np.isclose(actual[i], expected[i], rtol=RTOL, atol=ATOL)
        index = tuple(int(k) for k in np.argwhere(~close)[0])
        text = (f"{labels[i]} is wrong at {close.size - close.sum()} of {close.size}"
                f" entries; first at index {index}: got {actual[i][index]:.8g}")
        if show_expected:
            text += f", expected {expected[i][index]:.8g}"
        problems.append(text)
    return problems


def plain(values):
    """Plain float64 ndarrays, whatever array-likes came back."""
    return [np.array(v, dtype=np.float64) for v in values]


def changed_paths(before, after, path=""):
    """Paths of the arrays, dicts and lists nested in the inputs that differ."""
    if isinstance(before, np.ndarray):
        if not np.array_equal(before, after):
            yield path
    elif isinstance(before, Mapping):
        if set(before) != set(after):
            yield path
            return
        for key in before:
            yield from changed_paths(before[key], after[key], f"{path}[{key!r}]" if path else key)
    elif isinstance(before, (list, tuple)):
        if len(before) != len(after):
            yield path
            return
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from changed_paths(b, a, f"{path}[{i}]")


def modified_inputs(pristine, inputs, names):
    """Problems for every argument the function changed in place."""
    problems = []
    for name, before, after in zip(names, pristine, inputs, strict=True):
        for path in changed_paths(before, after, name):
            problems.append(f"the argument {path} was modified in place; work on a copy")
    return problems


def fingerprint_matches(actual, wrong, changed):
    """Whether a known mistake explains the wrong outputs: it changes exactly the outputs
    that are wrong (`wrong`, their indices), and changes them to what the student got.

    changed -- {index: the mistake's output} for the outputs the mistake gets wrong.
    """
    return bool(wrong) and set(wrong) == set(changed) and all(
        actual[i].shape == theirs.shape and np.allclose(actual[i], theirs, rtol=RTOL, atol=ATOL)
        for i, theirs in changed.items())


# ---- gradient checks ------------------------------------------------------------------------

def numerical_gradient(f, x, upstream, eps=1e-6):
    """Centred differences of sum(f() * upstream) with respect to x (restored after each)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = np.sum(f() * upstream)
        x[index] = old - eps
        minus = np.sum(f() * upstream)
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad



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
        cell_caches = _items(cell_caches, T_x, "caches[0], one cache per time step,")
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



# ---- self-checks on the notebook's examples ---------------------------------------------

def _data():
    """The reference's outputs on the examples, stored beside this file by `make release`."""
    with open(Path(__file__).with_name("self_check_data.json")) as f:
        return json.load(f)


def self_check(name, fn, part="values"):
    """Run `fn` on the notebook's example of exercise `name`; explain what is wrong, if anything.

    part -- "structure" checks types, shapes, keys and the cache layout only; "values"
    checks those, the numbers, and that the inputs are left unchanged. Raises
    CheckError (an AssertionError) with a readable report when a check fails, prints a
    line when all pass. A sequence function is run with a stand-in for your cell function
    that replays the right answers, so a bug in the cell is not reported twice.
    """
    __tracebackhide__ = True  # IPython shows the student's frames, not the helper's
    data, inputs, helper = _data()[name], example_inputs(name), HELPER.get(name)
    replay = _Replay(name, data, inputs, getattr(fn, "__globals__", {}).get(helper or ""))
    run_example(name, fn, part, inputs, data,
                lambda out: labelled(name, out, steps_of(name, inputs)), ARGUMENTS[name],
                helper, replay, RANGES)


class _Replay:
    """A stand-in for the cell function that replays the reference's steps on the example."""

    def __init__(self, name, data, inputs, own=None):
        self.name, self.data, self.inputs, self.problems = name, data, inputs, []
        self.names = parameter_names(own, ARGUMENTS.get(HELPER.get(name), ()))

    def __call__(self, *args, **kwargs):
        # called by position or by keyword, as the cell function would be
        args = bind(self.names, args, kwargs)
        if self.name == "rnn_forward":
            return self._forward_step(*args)
        return self._backward_step(*args)

    def _step_of(self, xt):
        """The time step whose input is xt."""
        x = self.inputs[0] if self.name == "rnn_forward" else self.inputs[1][1]
        for t in range(x.shape[2]):
            if np.shape(xt) == x[:, :, t].shape and np.array_equal(xt, x[:, :, t]):
                return t
        raise CheckError(f"{HELPER[self.name]} was called with an input that is not "
                             "x[:, :, t] for any t")

    def _forward_step(self, xt, h_prev, parameters):
        t = self._step_of(xt)
        h = np.array(self.data["expected"][0])
        y = np.array(self.data["expected"][1])
        right = self.inputs[1] if t == 0 else h[:, :, t - 1]
        if not np.allclose(h_prev, right, rtol=RTOL, atol=ATOL):
            which = "h0" if t == 0 else f"the hidden state of step {t - 1}"
            said = " (it was given h0)" if t and np.allclose(h_prev, self.inputs[1]) else ""
            self.problems.append(f"step {t} should be fed {which}{said}")
        return h[:, :, t], y[:, :, t], (h[:, :, t], h_prev, xt, parameters)

    def _backward_step(self, dh_next, cache):
        t = self._step_of(cache[2])
        step = self.data["steps"][t]
        dh = self.inputs[0][:, :, t]
        right = np.array(step["dh_next"])
        if not np.allclose(dh_next, right, rtol=RTOL, atol=ATOL):
            if np.allclose(dh_next, dh):
                said = ("it was given dh[:, :, t] alone: add the gradient carried from "
                        "step t+1 (dh_prev)")
            else:
                said = "it should be dh[:, :, t] plus the dh_prev that step t+1 returned"
            self.problems.append(f"the gradient passed to step {t} is wrong: {said}")
        return {key: np.array(step[key]) for key in GRADIENT_KEYS["rnn_cell_backward"]}


# ---- gradient check ------------------------------------------------------------------------

def gradient_check(forward, backward, threshold=1e-6, seed=0):
    """Compare your backward function with centred finite differences of your forward one.

    forward, backward -- rnn_cell_forward and rnn_cell_backward, or rnn_forward and
    rnn_backward. Works in float64 on a small random case; prints one line per gradient
    with its relative error, and returns {gradient: relative error}. Errors below
    `threshold` mean the gradient is right; around 1e-2 or more mean it is wrong.
    """
    sequence = forward.__name__ == "rnn_forward" or backward.__name__ == "rnn_backward"
    rng = np.random.default_rng(seed)
    n_x, n_h, n_y, m, T_x = 3, 5, 2, 4, 3
    x = rng.standard_normal((n_x, m, T_x) if sequence else (n_x, m))
    h0 = rng.standard_normal((n_h, m))
    p = {"Whx": rng.standard_normal((n_h, n_x)), "Whh": rng.standard_normal((n_h, n_h)) * 0.5,
         "Wyh": rng.standard_normal((n_y, n_h)), "bh": rng.standard_normal((n_h, 1)),
         "by": rng.standard_normal((n_y, 1))}
    upstream = rng.standard_normal((n_h, m, T_x) if sequence else (n_h, m))
    with quiet():
        grads = backward(upstream.copy(), copy.deepcopy(forward(x, h0, p)[2]))
    names = {"x" if sequence else "xt": x, "h0" if sequence else "h_prev": h0,
             "Whx": p["Whx"], "Whh": p["Whh"], "bh": p["bh"]}
    keys = GRADIENT_KEYS["rnn_backward" if sequence else "rnn_cell_backward"]
    errors = {}
    print(f"gradient check of {backward.__name__} (relative error, pass below {threshold:g}):")
    for key, (wrt, variable) in zip(keys, names.items(), strict=True):
        with quiet():
            numeric = numerical_gradient(lambda: forward(x, h0, p)[0], variable, upstream)
        ours = np.array(grads[key], dtype=np.float64)
        if ours.shape != numeric.shape:
            print(f"  {key:8s} shape {ours.shape}, expected {numeric.shape}   FAIL")
            errors[key] = np.inf
            continue
        errors[key] = float(np.max(np.abs(ours - numeric)
                                   / np.maximum(1e-8, np.abs(ours) + np.abs(numeric))))
        verdict = "pass" if errors[key] < threshold else "FAIL"
        print(f"  {key:8s} {errors[key]:.2e}   {verdict}   (gradient with respect to {wrt})")
    return errors


# ---- vanishing and exploding gradients --------------------------------------------------

def gradient_norms(rnn_forward, rnn_backward, scale, T_x=60, n_h=8, seed=0):
    """Norm of the gradient that reaches each step t from a loss on the last step.

    Whh is a random orthogonal matrix times `scale` (its spectral radius); inputs are zero,
    so the states stay at 0, where tanh has slope 1, and only Whh shapes the gradient.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n_h, n_h)))
    p = {"Whx": rng.standard_normal((n_h, n_h)), "Whh": scale * q,
         "Wyh": rng.standard_normal((2, n_h)), "bh": np.zeros((n_h, 1)), "by": np.zeros((2, 1))}
    x, h0 = np.zeros((n_h, 1, T_x)), np.zeros((n_h, 1))
    dh = np.zeros((n_h, 1, T_x))
    dh[:, :, -1] = rng.standard_normal((n_h, 1))
    _, _, caches = rnn_forward(x, h0, p)
    dx = rnn_backward(dh, caches)["dx"]
    return np.linalg.norm(dx[:, 0, :], axis=0)


def plot_gradient_norms(rnn_forward, rnn_backward, scales=(0.8, 1.0, 1.2), T_x=60):
    """Plot, on a log scale, the gradient reaching each earlier step, for several Whh scales."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for scale in scales:
        norms = gradient_norms(rnn_forward, rnn_backward, scale, T_x)
        ax.semilogy(range(T_x), norms, label=f"spectral radius of Whh = {scale}")
    ax.set_xlabel("time step t (the loss is on the last step)")
    ax.set_ylabel("norm of the gradient reaching step t")
    ax.set_title("Gradients through time: vanishing below 1, exploding above")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    plt.show()
    return fig
