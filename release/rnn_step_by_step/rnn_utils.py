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
import functools
import json
from pathlib import Path

import numpy as np

# shared with the grader; `make release` copies them into rnn_utils.py





import io
import math


def plot_through_time(curves, title):
    """Plot each (label, norms) curve against the time step on a log scale, show it, and
    return the (closed) figure.

    curves -- [(label, norms)], norms of shape (T_x,): the gradient reaching each step
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullLocator

    fig, ax = plt.subplots(figsize=(7, 4))
    # fixed margins that fit the labels: no tight bounding box to draw the figure for
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.12, top=0.92)
    for label, norms in curves:
        ax.semilogy(range(len(norms)), norms, label=label)
    ax.set_xlabel("time step t (the loss is on the last step)")
    ax.set_ylabel("norm of the gradient reaching step t")
    ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)
    # decades labelled in plain text (10⁻⁵): matplotlib's $10^{-5}$ goes through its
    # mathtext parser, a twentieth of a second in every fresh kernel; no minor ticks
    # between decades (each is a tick object of five artists: as much again)
    ax.yaxis.set_major_formatter(FuncFormatter(decade))
    ax.yaxis.set_minor_locator(NullLocator())
    show(fig)
    return fig


def decade(y, _position=None):
    """The label of the tick at y = 10^k: '10' and k in superscript digits."""
    return "10" + str(round(math.log10(y))).translate(SUPERSCRIPTS)


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def show(fig):
    """Show fig in the notebook drawn once, as a PNG, and close it.

    IPython's inline backend draws every figure twice (once to find its tight bounding
    box): for the finale plot, more CPU than all the notebook's checks. Outside the
    inline backend, matplotlib's own show.
    """
    import matplotlib.pyplot as plt

    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None or "inline" not in plt.get_backend():
        plt.show()
        return
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    display(Image(png.getvalue(), format="png"))


import contextlib
import inspect
import sys
import traceback
import warnings


class CheckError(AssertionError):
    """A check that found something wrong. IPython shows its report alone (what is wrong,
    where, the hint), not a traceback through the helper module that raised it."""

    def _render_traceback_(self):
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


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
        try:
            out = fn(*inputs)
        except Exception as exc:  # the student's own error, shown with the hint beneath it
            hint = exception_hint(f"{type(exc).__name__}: {exc}", dict(zip(arguments, inputs,
                                                                           strict=False)))
            if hint and hasattr(exc, "add_note"):  # Python 3.11+ (PEP 678)
                exc.add_note(f"hint: {hint}")
            raise
    steps = (getattr(replay, "order", []), data.get("order", []), data.get("steps", []))
    fed = getattr(replay, "problems", [])  # what the steps were fed wrong: said first
    problems = output_problems(
        lambda: labelled(out), expected, part, True,
        lambda actual: fed or stored_hints(data["mistakes"], actual, expected), ranges, steps)
    if part == "values":
        if fed and not problems:  # the replayed steps came out right, but were fed wrong
            problems = [f"hint: {line}" for line in fed[:MAX_HINTS]]
        problems += modified_inputs(pristine, inputs, arguments)
    if problems:
        raise CheckError(f"{name} on the example above:\n"
                             + "\n".join(f"  - {p}" for p in dict.fromkeys(problems)))
    print(f"{name}: the visible {part} checks pass.")


def stored_hints(mistakes, actual, expected):
    """Hints of the stored mistakes whose wrong outputs equal the student's."""
    wrong = wrong_outputs(actual, expected)
    return [m["hint"] for m in mistakes if fingerprint_matches(
        actual, wrong, {int(i): np.array(v) for i, v in m["outputs"].items()})]


class StepReplay:
    """A stand-in for a sequence function's cell function on one case: it replays the
    reference's steps and notes which state or gradient each step was fed (`problems`)
    and in which order the steps were asked for (`order`). An assignment's Replay says
    how a step is replayed (`forward_step`, `backward_step`).

    The judge runs it beside its own stand-in, which answers each call with the reference
    cell on what it was given, and tells it those answers (`answered`): a step is then
    checked against what the step before it was really answered."""

    def __init__(self, name, inputs, helper, forward, own=None, arguments=()):
        """name, inputs -- the sequence function and its arguments on the case; helper --
        its cell function's name; forward -- whether it is the forward pass (its input x
        first) or the backward one (caches = (list of caches, x) last); own, arguments --
        the student's cell function and the cell's parameter names, to bind calls."""
        self.name, self.inputs, self.helper, self.forward = name, inputs, helper, forward
        self.names = parameter_names(own, arguments)
        self.problems, self.order, self.answers = [], [], {}  # {step: answer} if told

    def answered(self, t, out):
        """The cell function's real answer at step t (the judge's stand-in's)."""
        self.answers[t] = out

    def __call__(self, *args, **kwargs):
        # called by position or by keyword, as the cell function would be
        args = bind(self.names, args, kwargs)
        return self.forward_step(*args) if self.forward else self.backward_step(*args)

    def step_of(self, xt):
        """The time step whose input is xt (noted in `order`)."""
        x = self.inputs[0] if self.forward else self.inputs[1][1]
        for t in range(x.shape[2]):
            if np.shape(xt) == x[:, :, t].shape and equal(xt, x[:, :, t]):
                self.order.append(t)
                return t
        raise CheckError(f"{self.helper} was called with an input that is not x[:, :, t] "
                         "for any t")


from collections.abc import Mapping
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple


RTOL, ATOL = 1e-6, 1e-8
MAX_HINTS = 3  # hint lines per failed check: the likeliest causes, not every symptom


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
        items = _items(value, T_x, f"{name}, one per time step,", steps_hint)
        parts = [spec.part] * T_x
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


def _items(value, length, what, hint=lambda got, length: ""):
    """value as a list of `length` items, or ShapeError (with hint(got, length) added)."""
    if isinstance(value, (str, bytes, np.ndarray)) or not isinstance(value, Sequence):
        raise ShapeError(f"{what} should be a tuple of {length}, got {type(value).__name__}")
    if len(value) != length:
        raise ShapeError(f"{what} should have {length} items, got {len(value)}"
                         f"{hint(len(value), length)}")
    return list(value)


def steps_hint(got, T_x):
    """Why a list of one item per time step has `got` items where T_x are due."""
    return (f"; hint: one item per time step, and the input has T_x = {T_x} steps: does the "
            f"loop run for t in range(T_x), with T_x read from x.shape[2], and add one item "
            f"per step?")


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
    problems, off = [], {}
    for i, ((label, value), want) in enumerate(zip(labelled, expected, strict=True)):
        if not isinstance(value, np.ndarray):
            problems.append(f"{label} should be a numpy array, got {type(value).__name__}")
        elif value.shape != want.shape:
            off[i] = value.shape
            text = f"{label} has shape {value.shape}, expected {want.shape}"
            if value.shape == want.shape[:1]:
                text += "; hint: keep the second axis, e.g. np.sum(..., axis=1, keepdims=True)"
            elif value.shape == want.shape[::-1]:
                text += ("; hint: that is the expected shape transposed: a matrix product "
                         "in the wrong order, or a .T too many or missing?")
            problems.append(text)
    swapped = [(i, j) for i in off for j in off if i < j and off[i] == expected[j].shape
               and off[j] == expected[i].shape]
    problems += [f"hint: {labelled[i][0]} and {labelled[j][0]} have each other's shapes: "
                 "are the two swapped?" for i, j in swapped[:1]]
    return problems


def output_problems(labelled, expected, part, show_expected, hints=lambda actual: (),
                    ranges=None, steps=None):
    """What is wrong with an output, for one part ("structure" or "values").

    labelled -- a function giving the output's [(label, array)], or raising ShapeError;
    hints(actual) -- the hints for wrong values (the known mistakes they match);
    ranges -- {array name: "softmax", "tanh" or "sigmoid"}: what its formula keeps it to,
    so that a wrong array outside that range gets a hint saying so;
    steps -- for a sequence function, (the steps it called its cell function for, in
    order; the reference's order; what the cell function returns at each step), or a
    function giving them (called only for a wrong output)."""
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
    return found + [f"hint: {hint}" for hint in value_hints(labels, actual, expected,
                                                              hints(actual), ranges, steps)]


def value_hints(labels, actual, expected, known=(), ranges=None, steps=None):
    """Why the wrong arrays are wrong: the hints of the known mistakes they match (`known`)
    if any, which say it best; else what the arrays show: the order the steps were taken
    in and what a step contributed (`steps`), a range their formula keeps them to
    (`ranges`), what they are instead of the right value (as in output_problems)."""
    order, right_order, step_outputs = (steps() if callable(steps) else steps) or ((), (), ())
    turned = order_hint(order, right_order)
    if known:
        return list(dict.fromkeys([*turned, *known]))[:MAX_HINTS]
    wrong = wrong_outputs(actual, expected)
    timing = [*turned, *step_hints(labels, actual, wrong, step_outputs)]
    outside = [range_hint(labels[i], actual[i], (ranges or {}).get(_leaf(labels[i])))
               for i in wrong]
    near = neighbour_hints(labels, actual, expected, wrong)
    return list(dict.fromkeys([*timing, *filter(None, outside), *near]))[:MAX_HINTS]


def order_hint(order, right_order):
    """[the hint] when a sequence function took its steps in the reverse of the right
    order (the steps it called its cell function for, and the reference's), else []."""
    if len(order) > 1 and list(order) == list(right_order)[::-1]:
        return [f"the steps were taken in the order {_listed(order)}; they must go "
                f"{_listed(right_order)}: the loop runs the wrong way"]
    return []


def step_hints(labels, actual, wrong, step_outputs):
    """Hints for a gradient that is one step's alone, or misses or doubles one step's;
    step_outputs -- what the cell function returns at each step of the reference's run,
    by step (a dict of gradients for a backward pass)."""
    found = []
    for i in wrong:
        key = re.fullmatch(r".*\['(\w+)'\]", labels[i])
        per_step = [np.asarray(out[key.group(1)]) for out in step_outputs
                    if key and isinstance(out, Mapping) and key.group(1) in out]
        if len(per_step) < 2 or len(per_step) != len(step_outputs):
            continue
        total = sum(per_step)
        for t, value in enumerate(per_step):
            for candidate, what in ((value, f"the gradient of step {t} alone: add up every "
                                              f"step's ({key.group(1)} += ...)"),
                                    (total - value, f"missing step {t}'s gradient"),
                                    (total + value, f"counting step {t}'s gradient twice")):
                if _close(actual[i], candidate) and not _close(candidate, total):
                    found.append(f"{labels[i]} is {what}")
                    break
            else:
                continue
            break
    return found


def _listed(steps):
    """'6, 5, 4, ..., 0' for a list of steps."""
    steps = [str(t) for t in steps]
    return ", ".join(steps if len(steps) <= 4 else [*steps[:3], "...", steps[-1]])


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


# ---- what a wrong array is, if not the right value ----------------------------------------

def neighbour_hints(labels, actual, expected, wrong):
    """Hints from what the wrong arrays are instead: the right value scaled or transposed,
    another array's right value, or the right values of other time steps; one hint per
    kind of finding (the first array of a list of steps stands for the others)."""
    found = {}
    for i in wrong[:12]:
        a, e = actual[i], expected[i]
        hint = _scaled(labels[i], a, e) or _transposed(labels[i], a, e) or \
            _elsewhere(labels, i, a, expected) or _time_shifted(labels[i], a, e)
        if hint:
            key, text = hint if isinstance(hint, tuple) else (hint, hint)
            found.setdefault(key, text)
    return list(found.values())


def _close(a, b):
    """Whether two arrays are equal within the checks' tolerance."""
    return a.shape == b.shape and close(a, b)


def close(a, b):
    """np.allclose(a, b, rtol=RTOL, atol=ATOL), at a third of its cost for two float64
    arrays of one shape (the judge compares thousands a submission): numpy's own test,
    |a - b| <= ATOL + RTOL |b| where b is finite, else a == b."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and a.dtype == b.dtype == np.float64):
        return bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))
    with np.errstate(invalid="ignore", over="ignore"):
        within = np.abs(a - b) <= ATOL + RTOL * np.abs(b)
    return bool(((within & np.isfinite(b)) | (a == b)).all())


def equal(a, b):
    """np.array_equal(a, b) for two arrays of one shape, without its overhead (the judge
    compares thousands a submission), and without numpy's function, which a notebook
    may have patched (a self-check fooled into failing keeps the hidden checks from
    running)."""
    return bool((np.asarray(a) == b).all())


def _scaled(label, a, e):
    """'... is the right value divided by 10' when a is a constant multiple of e."""
    if e.size < 2 or not np.any(e):
        return None
    c = float(np.sum(a * e) / np.sum(e * e))
    if not _close(a, c * e) or abs(c) < 1e-12:
        return None
    if np.isclose(c, -1):
        return f"{label} is the right value with the opposite sign: a minus too many or missing?"
    for k, word in ((1 / c, "divided by"), (c, "multiplied by")):
        if k >= 2 and np.isclose(k, round(k), rtol=1e-9, atol=1e-6):
            return (f"{label} is the right value {word} {round(k)}: a mean where a sum is "
                    "needed, or a factor too many?")
    return f"{label} is {c:.3g} times the right value: a constant factor too many or missing?"


def _transposed(label, a, e):
    """'... is the right value transposed' for a square array, when it is."""
    if e.ndim == 2 and e.shape[0] == e.shape[1] and not _close(e, e.T) and _close(a, e.T):
        return (f"{label} is the right value transposed: a matrix product in the wrong order, "
                "or a .T too many or missing?")
    return None


def _elsewhere(labels, i, a, expected):
    """'x holds what y should hold' when a is another array's right value (not a constant
    one, such as zeros: those say nothing); when x and y are the same array of two items
    of a list (two steps), (the list, that hint)."""
    for j, other in enumerate(expected):
        if j != i and np.ptp(other) > 0 and _close(a, other) and not _close(other, expected[i]):
            text = f"{labels[i]} holds what {labels[j]} should hold"
            ours, theirs = (re.findall(r"\[(\d+)\]", label) for label in (labels[i], labels[j]))
            if len(ours) != len(theirs) or _leaf(labels[i]) != _leaf(labels[j]):
                return text
            moved = [k for k in range(len(ours)) if ours[k] != theirs[k]]
            if len(moved) != 1:
                return text
            start = [m.start() for m in re.finditer(r"\[\d+\]", labels[i])][moved[0]]
            where = labels[i][:start]
            return where, (f"{text}: item {ours[moved[0]]} of {where} got item "
                           f"{theirs[moved[0]]}'s {_leaf(labels[i])} (the wrong step, or the "
                           "steps in the wrong order?)")
    return None


def _time_shifted(label, a, e):
    """'the right values of other steps' when each step's slice of a time-indexed array
    (time on the last axis) is the right value of another step: shifted or reversed."""
    if e.ndim != 3 or e.shape[2] < 2:
        return None
    T_x = e.shape[2]
    found, unmatched = {}, 0  # {t: the step whose value slice t holds}; one may be none
    for t in range(T_x):
        if _close(a[..., t], e[..., t]):
            continue
        sources = [s for s in range(T_x) if _close(a[..., t], e[..., s])]
        if sources:
            found[t] = sources[0]
        else:
            unmatched += 1
    if len(found) < 2 or unmatched > 1:
        return None
    shifts = {s - t for t, s in found.items()}
    mirrored = all(s == T_x - 1 - t for t, s in found.items())
    if mirrored and len(shifts) > 1:
        return (f"{label}[..., t] holds the right value of step T_x - 1 - t: stored at the "
                "mirrored index, or the steps taken in the wrong direction?")
    if len(shifts) == 1 and not mirrored:
        move = shifts.pop()
        return (f"{label}[..., t] holds the right value of step t {'+-'[move < 0]} "
                f"{abs(move)}: stored before the step was taken, or indexed with the wrong t?")
    return None  # no story, or more than one, fits


# ---- what an exception says --------------------------------------------------------------

def exception_hint(error, arguments):
    """Why the student's code raised `error` ("ValueError: ...") where its message says:
    shapes that want a matrix product or a transpose, arrays joined along the wrong axis,
    an index past the end of an axis, a name that is in the arguments. None otherwise.

    arguments -- {argument name: value} of the call that raised."""
    if m := re.search(r"broadcast together with shapes \((\d+),(\d+)\) \((\d+),(\d+)\)", error):
        a, b, c, d = map(int, m.groups())
        if b == c:
            return (f"shapes ({a}, {b}) and ({c}, {d}) do not combine entry by entry, but "
                    "their matrix product is defined: is a * where np.dot (or @) is meant?")
    if m := re.search(r"shapes \((\d+),(\d+)\) and \((\d+),(\d+)\) not aligned", error):
        a, b, c, d = map(int, m.groups())
        fixes = [(a == c, "the first operand transposed (.T)"),
                 (b == d, "the second operand transposed (.T)"),
                 (d == a, "the operands in the other order")]
        fix = next((text for ok, text in fixes if ok), None)
        if fix:
            return f"np.dot of ({a}, {b}) and ({c}, {d}) is not defined; it is with {fix}"
    if m := re.search(r"along dimension (\d+), the array at index \d+ has size (\d+) and the "
                      r"array at index \d+ has size (\d+)", error):
        k, p, q = m.groups()
        return (f"the arrays differ along axis {k} ({p} and {q}), so that is the axis to "
                f"join them along: np.concatenate(..., axis={k})")
    if m := re.search(r"index (\d+) is out of bounds for axis (\d+) with size (\d+)", error):
        n, axis, size = m.groups()
        return (f"an index reached {n} on axis {axis}, which has {size} entries: is a loop "
                "bound (T_x, say) read from the wrong axis of a shape?")
    if m := re.match(r"NameError: name '(\w+)' is not defined", error):
        name, path = m.group(1), _key_path(arguments, m.group(1))
        if path:
            return (f"{name} is not defined inside the function: take it from the arguments, "
                    f"{name} = {path}[{name!r}]")
        return (f"{name} is not defined inside the function: a name of your notebook? It is "
                "not there when the function is graded: define it inside")
    return None


def _key_path(value, key, path="", depth=4):
    """The path ('caches[0][0][3]') of a dict holding `key` inside value, or None."""
    if isinstance(value, Mapping):
        if key in value and path:
            return path
        items = [(f"{k}" if not path else f"{path}[{k!r}]", v) for k, v in value.items()]
    elif isinstance(value, (list, tuple)) and depth:
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for sub, v in items:
        found = _key_path(v, key, sub, depth - 1)
        if found:
            return found
    return None


def _leaf(label):
    """The array name in a label: 'h_next' -> h_next, 'cache[4] (ft)' -> ft."""
    return label[label.rindex("(") + 1:-1] if label.endswith(")") else label


def wrong_outputs(actual, expected):
    """Indices of the arrays of `actual` that differ from `expected`."""
    return [i for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            if not close(a, e)]


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
            problems.append(f"hint: the argument {path} was modified in place: work on a "
                            f"copy, and leave the inputs as they were")
    return problems


def fingerprint_matches(actual, wrong, changed):
    """Whether a known mistake explains the wrong outputs: it changes exactly the outputs
    that are wrong (`wrong`, their indices), and changes them to what the student got.

    changed -- {index: the mistake's output} for the outputs the mistake gets wrong.
    """
    return bool(wrong) and set(wrong) == set(changed) and all(
        actual[i].shape == theirs.shape and close(actual[i], theirs)
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



# ---- self-checks on the notebook's examples ---------------------------------------------

@functools.cache
def _data():
    """The reference's outputs on the examples, stored beside this file by `make release`;
    read once (every self-check and graded cell asks for them; nothing changes them)."""
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
    replay = Replay(name, data, inputs, getattr(fn, "__globals__", {}).get(helper or ""))
    run_example(name, fn, part, inputs, data,
                lambda out: labelled(name, out, steps_of(name, inputs)), ARGUMENTS[name],
                helper, replay, RANGES)


class Replay(StepReplay):
    """The self-check's stand-in for the cell function (engine/selfcheck.py's StepReplay),
    replaying the reference's steps on the example from the stored outputs."""

    def __init__(self, name, data, inputs, own=None):
        helper = HELPER.get(name)
        super().__init__(name, inputs, helper, name == "rnn_forward", own,
                         ARGUMENTS.get(helper, ()))
        self.data = data

    def forward_step(self, xt, h_prev, parameters):
        t = self.step_of(xt)
        h = np.array(self.data["expected"][0])
        y = np.array(self.data["expected"][1])
        right = self.inputs[1] if t == 0 else self.answers.get(t - 1, [h[:, :, t - 1]])[0]
        if not np.allclose(h_prev, right, rtol=RTOL, atol=ATOL):
            which = "h0" if t == 0 else f"the hidden state of step {t - 1}"
            said = " (it was given h0)" if t and np.allclose(h_prev, self.inputs[1]) else ""
            self.problems.append(f"step {t} should be fed {which}{said}")
        return h[:, :, t], y[:, :, t], (h[:, :, t], h_prev, xt, parameters)

    def backward_step(self, dh_next, cache):
        t = self.step_of(cache[2])
        step = self.data["steps"][t]
        dh = self.inputs[0][:, :, t]
        after = self.answers.get(t + 1)
        right = dh + after["dh_prev"] if after else np.array(step["dh_next"])
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
    return plot_through_time(
        [(f"spectral radius of Whh = {scale}",
          gradient_norms(rnn_forward, rnn_backward, scale, T_x)) for scale in scales],
        "Gradients through time: vanishing below 1, exploding above")
