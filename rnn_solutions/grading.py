"""Checks the hidden grader cells run on a student's functions.

Each exercise is graded in two parts:
    check_structure(name, fn) -- return types, shapes, gradient keys and cache layout;
    check_values(name, fn)    -- values equal to the reference's, inputs left unchanged.
Both run the notebook's example and every case of `cases.HIDDEN_CASES`, and raise an
AssertionError that says what is wrong. Hidden expected values are never printed.

`rnn_forward` is checked with the reference `rnn_cell_forward` standing in for the
student's, and `rnn_backward` with the reference `rnn_cell_backward`, so a bug in a
cell function costs its own points only.
"""

import contextlib
import copy
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from rnn_solutions import cases, rnn
from rnn_solutions.mistakes import MISTAKES

RTOL, ATOL = 1e-6, 1e-8

# the cell function each sequence function calls, replaced by the reference's while graded
HELPER = {"rnn_forward": "rnn_cell_forward", "rnn_backward": "rnn_cell_backward"}

GRADIENT_KEYS = {
    "rnn_cell_backward": ("dxt", "dh_prev", "dWhx", "dWhh", "dbh"),
    "rnn_backward": ("dx", "dh0", "dWhx", "dWhh", "dbh"),
}


def check_structure(name, fn):
    """Assert that `fn` returns what exercise `name` must return, in the right shapes."""
    for label, case in _labelled_cases(name):
        out = _call(name, fn, case)
        _fail_on(_structure_problems(name, out, case), name, label)


def check_values(name, fn):
    """Assert that `fn` returns the reference's values and leaves its inputs unchanged."""
    for label, case in _labelled_cases(name):
        pristine = copy.deepcopy(case.inputs)
        out = _call(name, fn, case)
        problems = _structure_problems(name, out, case)
        if not problems:
            problems = _value_problems(name, out, case, show_expected=label == "example")
        problems += _modified_inputs(pristine, case.inputs)
        _fail_on(problems, name, label)


def _labelled_cases(name):
    """The notebook's example first, then the hidden cases."""
    yield "example", cases.example(name)
    for i, case in enumerate(cases.hidden_cases(name), start=1):
        dims = cases.HIDDEN_CASES[i - 1][1]
        yield f"hidden case {i} ({_dims_text(dims)})", case


def _dims_text(dims):
    """'n_x=3, n_h=5, ...' for a Dims tuple."""
    return ", ".join(f"{k}={v}" for k, v in dims._asdict().items())


def _fail_on(problems, name, label):
    """Raise one AssertionError listing every problem found on a case."""
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise AssertionError(f"{name} on the {label}:\n{lines}")


def _call(name, fn, case):
    """Call fn on the case's inputs, positionally, quietly, with the reference helper."""
    args = list(case.inputs.values())
    with _reference_helper(name, fn), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn(*args)
        except NotImplementedError:
            raise AssertionError(f"{name} is not implemented yet") from None
        except Exception as exc:
            raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def _reference_helper(name, fn):
    """Let the sequence function call the reference cell function while it is graded."""
    helper = HELPER.get(name)
    namespace = getattr(fn, "__globals__", None)
    if helper is None or namespace is None or helper not in namespace:
        yield
        return
    own = namespace[helper]
    namespace[helper] = getattr(rnn, helper)
    try:
        yield
    finally:
        namespace[helper] = own


def _expected_layout(name, case):
    """(label, expected array) pairs for every array the exercise returns."""
    exp = case.expected
    if name == "rnn_cell_forward":
        h_next, yt_pred, _ = exp
        inp = case.inputs
        return [("h_next", h_next), ("yt_pred", yt_pred), ("cache[0] (h_next)", h_next),
                ("cache[1] (h_prev)", inp["h_prev"]), ("cache[2] (xt)", inp["xt"])]
    if name == "rnn_forward":
        h, y_pred, (cell_caches, x) = exp
        layout = [("h", h), ("y_pred", y_pred), ("caches[1] (x)", x)]
        for t, (h_next, h_prev, xt, _) in enumerate(cell_caches):
            layout += [(f"caches[0][{t}][0] (h_next)", h_next),
                       (f"caches[0][{t}][1] (h_prev)", h_prev),
                       (f"caches[0][{t}][2] (xt)", xt)]
        return layout
    return [(f"gradients[{key!r}]", exp[key]) for key in GRADIENT_KEYS[name]]


def _actual_layout(name, out, case):
    """The student's arrays in the order of _expected_layout, or a list of problems."""
    if name == "rnn_cell_forward":
        parts = _unpack(out, 3, "the return value (h_next, yt_pred, cache)")
        cache = _unpack(parts[2], 4, "cache (h_next, h_prev, xt, parameters)")
        return [parts[0], parts[1], cache[0], cache[1], cache[2]]
    if name == "rnn_forward":
        h, y_pred, caches = _unpack(out, 3, "the return value (h, y_pred, caches)")
        T_x = case.inputs["x"].shape[2]
        if T_x != 2 and isinstance(caches, list) and len(caches) == T_x:
            raise _ShapeError("caches should be the tuple (list of caches, x); hint: it is the "
                              "bare list of caches, return (caches, x)")
        cell_caches, x = _unpack(caches, 2, "caches (list of caches, x)")
        cell_caches = _unpack(cell_caches, T_x, "caches[0], one cache per time step,")
        arrays = [h, y_pred, x]
        for t, cache in enumerate(cell_caches):
            cache = _unpack(cache, 4, f"caches[0][{t}] (h_next, h_prev, xt, parameters)")
            arrays += [cache[0], cache[1], cache[2]]
        return arrays
    if not isinstance(out, Mapping):
        raise _ShapeError(f"should return a dict of gradients, got {type(out).__name__}")
    missing = [key for key in GRADIENT_KEYS[name] if key not in out]
    if missing:
        hint = ""
        if any(key in out for key in ("da_prev", "dWax", "dWaa", "dba", "da0")):
            hint = "; hint: these are the original course's names, this notebook's are " + \
                ", ".join(GRADIENT_KEYS[name])
        raise _ShapeError(f"the gradients dict is missing the keys {missing}; "
                          f"it has {sorted(map(str, out))}{hint}")
    return [out[key] for key in GRADIENT_KEYS[name]]


class _ShapeError(Exception):
    """A structural problem found while unpacking a student's output."""


def _unpack(value, length, what):
    """value as a list of `length` items, or raise _ShapeError."""
    if isinstance(value, (str, bytes, np.ndarray)) or not isinstance(value, Sequence):
        raise _ShapeError(f"{what} should be a tuple of {length}, got {type(value).__name__}")
    if len(value) != length:
        raise _ShapeError(f"{what} should have {length} items, got {len(value)}")
    return list(value)


def _structure_problems(name, out, case):
    """Problems with types and shapes of the student's output."""
    try:
        actual = _actual_layout(name, out, case)
    except _ShapeError as problem:
        return [str(problem)]
    problems = []
    for (label, expected), value in zip(_expected_layout(name, case), actual, strict=True):
        if not isinstance(value, np.ndarray):
            problems.append(f"{label} should be a numpy array, got {type(value).__name__}")
        elif value.shape != expected.shape:
            text = f"{label} has shape {value.shape}, expected {expected.shape}"
            if value.shape == expected.shape[:1]:
                text += "; hint: keep the second axis, e.g. np.sum(..., axis=1, keepdims=True)"
            problems.append(text)
    return problems


def _value_problems(name, out, case, show_expected):
    """Problems with the values of a structurally correct output."""
    problems = []
    for (label, expected), value in zip(_expected_layout(name, case),
                                        _actual_layout(name, out, case), strict=True):
        actual = np.array(value, dtype=np.float64)  # a plain ndarray, whatever came back
        close = np.isclose(actual, expected, rtol=RTOL, atol=ATOL)
        if close.all():
            continue
        index = tuple(int(i) for i in np.argwhere(~close)[0])
        text = f"{label} is wrong at {close.size - close.sum()} of {close.size} entries; "
        text += f"first at index {index}: got {actual[index]:.8g}"
        if show_expected:
            text += f", expected {expected[index]:.8g}"
        problems.append(text)
    if problems:
        problems += [f"hint: {hint}" for hint in diagnose(name, out, case)]
    return problems


def diagnose(name, out, case):
    """Hints of the known mistakes whose outputs equal the student's wrong outputs."""
    actual = [np.array(a, dtype=np.float64) for a in _actual_layout(name, out, case)]
    expected = [e for _, e in _expected_layout(name, case)]
    wrong = [i for i, (a, e) in enumerate(zip(actual, expected, strict=True))
             if not np.allclose(a, e, rtol=RTOL, atol=ATOL)]
    hints = []
    for hint, mistake in MISTAKES[name].items():
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            theirs = _actual_layout(name, mistake(*copy.deepcopy(list(case.inputs.values()))), case)
        if all(actual[i].shape == theirs[i].shape
               and np.allclose(actual[i], theirs[i], rtol=RTOL, atol=ATOL) for i in wrong):
            hints.append(hint)
    return hints


def _modified_inputs(pristine, inputs):
    """Problems for every input the student's function changed in place."""
    return [f"the argument {path} was modified in place; work on a copy instead"
            for path in _changed_paths(pristine, inputs)]


def _changed_paths(before, after, path=""):
    """Paths of the arrays, dicts and lists nested in the inputs that differ."""
    if isinstance(before, np.ndarray):
        if not np.array_equal(before, after):
            yield path
    elif isinstance(before, Mapping):
        if set(before) != set(after):
            yield path
            return
        for key in before:
            yield from _changed_paths(before[key], after[key],
                                      f"{path}[{key!r}]" if path else key)
    elif isinstance(before, (list, tuple)):
        if len(before) != len(after):
            yield path
            return
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from _changed_paths(b, a, f"{path}[{i}]")
