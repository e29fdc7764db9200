"""How a student's output is compared with the reference's, for every assignment.

An exercise declares what it returns as a spec of nested parts, each named:

    "h_next"                    -- an array
    None                        -- a part that is not compared (the parameters dict)
    Seq("cache", (...))         -- a tuple or list of exactly these parts
    Steps("caches[0]", part)    -- a list of one part per time step
    Keys("gradients", (...))    -- a dict holding at least these keys, each an array

`flatten` turns an output into labelled arrays ("cache[4] (ft)", "gradients['dWf']"),
or raises ShapeError saying what is laid out wrong. The rest compares those arrays.
Numpy only: the students' helper files carry a copy (`make release` inlines it).
"""

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

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
