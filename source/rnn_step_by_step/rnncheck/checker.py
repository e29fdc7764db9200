"""Checks you can run on your own functions, the same for every assignment of the course.

    self_check(name, fn, part="values")   -- run fn on the notebook's example and explain
                                             what is wrong, if anything
    gradient_check(forward, backward)     -- compare your gradients with centred finite
                                             differences of your forward function
    plot_gradient_reach(forward, backward) -- how far back your gradients reach in time

What an exercise takes and returns, its example and the reference's outputs there come
from `spec.json`, beside the notebook (written from the reference by the course's
`make release`). This file holds no solution: it only runs your code and compares. The
comparisons and hints are `compare.py`'s, the very ones the grader's hidden checks use.
"""

import copy
import functools
import json
from pathlib import Path

import numpy as np

from .calls import CheckError, bind, parameter_names, quiet, replaced
from .compare import (
    MAX_HINTS,
    build,
    close,
    equal,
    exception_hint,
    fingerprint_matches,
    flatten,
    modified_inputs,
    named,
    output_problems,
    wrong_outputs,
)
from .plots import plot_through_time


@functools.cache
def spec():
    """spec.json, beside the folder of this package (the notebook's folder); read once."""
    with open(Path(__file__).resolve().parents[1] / "spec.json") as f:
        return json.load(f)


def decode(value):
    """A value of spec.json as Python: {"array": ...} an array, {"tuple": [...]} a tuple."""
    if isinstance(value, dict):
        if "array" in value:
            return np.array(value["array"], dtype=np.float64)
        if "tuple" in value:
            return tuple(decode(v) for v in value["tuple"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def steps_of(exercise, inputs):
    """The number of time steps of an exercise's inputs: x's or dh's (1 for a cell)."""
    return np.shape(inputs[0])[2] if exercise["helper"] else 1


# ---- self-checks on the notebook's examples ---------------------------------------------

def self_check(name, fn, part="values"):
    """Run `fn` on the notebook's example of exercise `name`; explain what is wrong, if anything.

    part -- "structure" checks types, shapes, keys and the cache layout only; "values"
    checks those, the numbers, and that the inputs are left unchanged. Raises
    CheckError (an AssertionError) with a readable report when a check fails, prints a
    line when all pass. A sequence function is run with a stand-in for your cell function
    that replays the right answers, so a bug in the cell is not reported twice.
    """
    __tracebackhide__ = True  # IPython shows the student's frames, not the helper's
    exercise = spec()["exercises"][name]
    example, helper = exercise["example"], exercise["helper"]
    inputs, pristine = decode(example["inputs"]), decode(example["inputs"])
    expected = decode(example["expected"])
    own = getattr(fn, "__globals__", {}).get(helper or "")
    steps = decode(example.get("steps", []))
    replay = Replay(spec(), name, inputs, steps, own) if helper else None
    with quiet(), replaced(getattr(fn, "__globals__", None), helper, replay):
        try:
            out = fn(*inputs)
        except Exception as exc:  # your own error, shown with a hint beneath it
            hint = exception_hint(f"{type(exc).__name__}: {exc}",
                                  dict(zip(exercise["arguments"], inputs, strict=False)))
            if hint and hasattr(exc, "add_note"):  # Python 3.11+ (PEP 678)
                exc.add_note(f"hint: {hint}")
            raise
    tol, fed = tuple(exercise["tol"]), getattr(replay, "problems", [])
    problems = output_problems(
        lambda: flatten(exercise["returns"], out, steps_of(exercise, inputs)), expected, part,
        True, lambda actual: fed or stored_hints(example["mistakes"], actual, expected, tol)
        or stored_hints(example["mutants"], actual, expected, tol),
        spec()["ranges"], (getattr(replay, "order", []), example["order"], steps), tol)
    if part == "values":
        if fed and not problems:  # the replayed steps came out right, but were fed wrong
            problems = [f"hint: {line}" for line in fed[:MAX_HINTS]]
        problems += modified_inputs(pristine, inputs, exercise["arguments"])
    if problems:
        raise CheckError(f"{name} on the example above:\n"
                         + "\n".join(f"  - {p}" for p in dict.fromkeys(problems)))
    print(f"{name}: the visible {part} checks pass.")


def stored_hints(mistakes, actual, expected, tol):
    """Hints of the mistakes whose wrong outputs on the example equal yours: the known ones
    first; if none, the grader's own variants of the reference."""
    wrong = wrong_outputs(actual, expected, tol)
    return [m["hint"] for m in mistakes if fingerprint_matches(
        actual, wrong, {int(i): decode(v) for i, v in m["outputs"].items()}, tol)]


class Replay:
    """A stand-in for the cell function a sequence function calls, on one case: each step
    gets the reference cell's answer (`steps`: what the reference's own run gave and fed
    each step). It notes the order the steps were asked for (`order`) and each state or
    gradient a step was fed wrong (`problems`). The grader runs it beside its own
    stand-in, which tells it the cell's real answers (`answered`): a step is then checked
    against what the step before it was really answered."""

    def __init__(self, spec, name, inputs, steps, own=None):
        """spec -- spec.json; name, inputs -- the sequence function and its arguments;
        steps -- [{name: array}] by step; own -- your cell function, to bind calls."""
        self.cell = spec["exercises"][spec["exercises"][name]["helper"]]
        self.carries, self.cache = spec["carries"], spec["cache"]
        self.given = dict(zip(spec["exercises"][name]["arguments"], inputs, strict=True))
        self.forward, self.steps = "x" in self.given, steps
        self.upstream = spec["exercises"][name]["arguments"][0]  # dh of the backward pass
        self.names = parameter_names(own, self.cell["arguments"])
        self.problems, self.order, self.answers = [], [], {}  # {step: answer} if told

    def answered(self, t, out):
        """The cell function's real answer at step t (the grader's stand-in's)."""
        self.answers[t] = out if self.forward else dict(out)

    def __call__(self, *args, **kwargs):
        # called by position or by keyword, as the cell function would be
        call = dict(zip(self.cell["arguments"], bind(self.names, args, kwargs), strict=True))
        return self.forward_step(call) if self.forward else self.backward_step(call)

    def step_of(self, xt):
        """The time step whose input is xt (noted in `order`)."""
        x = self.given["x"] if self.forward else self.given["caches"][1]
        for t in range(x.shape[2]):
            if np.shape(xt) == x[:, :, t].shape and equal(xt, x[:, :, t]):
                self.order.append(t)
                return t
        raise CheckError("the cell function was called with an input that is not x[:, :, t] "
                         "for any t")

    def fed(self, t, what, given, right, source, alone=None):
        """Note that step t was fed the wrong `what`; `source` says what it should get,
        `alone` (name, value) what it may have been given instead."""
        if _same(given, right):
            return
        said = f" (it was given {alone[0]})" if alone and _same(given, alone[1]) else ""
        self.problems.append(f"step {t} should be fed {source} as its {what}{said}")

    def forward_step(self, call):
        """Check the states step t is fed (h0, or the step before's; zeros for another
        state), and answer with the reference's outputs at step t."""
        t = self.step_of(call["xt"])
        for s in self.carries:
            start = (f"{s}0", self.given[f"{s}0"]) if f"{s}0" in self.given else \
                ("zeros", np.zeros_like(self.steps[0][f"{s}_next"]))
            right, source = start[1], start[0]
            if t:  # what the step before was really answered, if told, else the reference's
                before = self.answers.get(t - 1)
                right = (named(self.cell["returns"], before) if before is not None
                         else self.steps[t - 1])[f"{s}_next"]
                source = f"step {t - 1}'s {s}_next"
            self.fed(t, f"{s}_prev", call[f"{s}_prev"], right, source, start if t else None)
        return build(self.cell["returns"], lambda leaf: call["parameters"] if leaf is None
                     else call[leaf] if leaf in call else self.steps[t][leaf])

    def backward_step(self, call):
        """Check the gradients step t is fed (dh[:, :, t], plus what step t+1 returned),
        and answer with the reference's gradients at step t."""
        t = self.step_of(call["cache"][self.cache.index("xt")])
        after, last = self.answers.get(t + 1), t == len(self.steps) - 1
        dh_t = self.given[self.upstream][:, :, t]
        for i, s in enumerate(self.carries):
            what = f"d{s}_next"
            parts = [f"{self.upstream}[:, :, t]"] * (i == 0) + \
                [f"the d{s}_prev of step t+1"] * (not last)
            right = self.steps[t][what]
            if after:  # what the step after was really answered
                right = (dh_t if i == 0 else 0) + after[f"d{s}_prev"]
            alone = (f"{self.upstream}[:, :, t] alone", dh_t) if i == 0 and not last else None
            self.fed(t, what, call[what], right, " plus ".join(parts) or "zeros", alone)
        return {k: self.steps[t][k] for k in self.cell["returns"]["keys"]}


def _same(given, right):
    """Whether what a step was given is the right array."""
    given = np.asarray(given, dtype=np.float64)
    return given.shape == np.shape(right) and close(given, np.asarray(right, dtype=float))


# ---- gradient check ------------------------------------------------------------------------

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


def rel_error(a, b):
    """The largest difference relative to the largest entry: max |a - b| / max(|a| + |b|).

    Not entry by entry: a saturated gate gives entries near 1e-9, whose centred
    differences carry a rounding error of about 1e-10 whatever the gradient."""
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b))))


def gradient_check(forward, backward, threshold=1e-6):
    """Compare your backward function with centred finite differences of your forward one.

    forward, backward -- a cell's forward and backward functions, or the sequence's. Works
    in float64 on a small random case; prints one line per gradient with its relative
    error (`rel_error`), and returns {gradient: relative error}. Errors below
    `threshold` mean the gradient is right; around 1e-2 or more mean it is wrong.
    """
    name, exercise = _backward_exercise(backward)
    check = exercise["gradient_check"]
    inputs = decode(check["inputs"])
    upstream = dict(zip(exercise["arguments"], decode(check["upstream"]), strict=False))
    returned = spec()["exercises"][check["forward"]]["returns"]["parts"]
    # the loss: each upstream gradient dX weighs the forward output X
    outputs = [returned.index(key[1:]) for key in upstream]
    with quiet():
        grads = backward(*copy.deepcopy(list(upstream.values())),
                         copy.deepcopy(forward(*inputs)[-1]))
    arguments = dict(zip(spec()["exercises"][check["forward"]]["arguments"], inputs,
                         strict=True))
    weights = np.concatenate([np.ravel(u) for u in upstream.values()])

    def loss():  # the outputs the upstream gradients weigh, as one array
        out = forward(*inputs)
        return np.concatenate([np.ravel(out[i]) for i in outputs])

    errors = {}
    print(f"gradient check of {name} (relative error, pass below {threshold:g}):")
    for key in exercise["returns"]["keys"]:  # dX is the gradient of the input or weight X
        variable = arguments[key[1:]] if key[1:] in arguments else \
            arguments["parameters"][key[1:]]
        with quiet():
            numeric = numerical_gradient(loss, variable, weights)
        ours = np.array(grads.get(key, np.nan) if isinstance(grads, dict) else np.nan,
                        dtype=np.float64)
        if ours.shape != numeric.shape:
            print(f"  {key:8s} shape {ours.shape}, expected {numeric.shape}   FAIL")
            errors[key] = np.inf
            continue
        errors[key] = rel_error(ours, numeric)
        print(f"  {key:8s} {errors[key]:.2e}   {'pass' if errors[key] < threshold else 'FAIL'}")
    return errors


def _backward_exercise(backward):
    """(name, exercise) of the backward function given: by its name, else by its
    parameter names; CheckError if it is neither."""
    exercises = spec()["exercises"]
    name = getattr(backward, "__name__", "")
    if name in exercises and "gradient_check" in exercises[name]:
        return name, exercises[name]
    theirs = parameter_names(backward, ())
    for name, exercise in exercises.items():
        if "gradient_check" in exercise and theirs == exercise["arguments"]:
            return name, exercise
    raise CheckError("gradient_check(forward, backward) takes a cell's forward and backward "
                     "functions, or the whole sequence's: " + ", ".join(
                         n for n, e in exercises.items() if "gradient_check" in e))


# ---- how far back the gradient reaches ------------------------------------------------------

def gradient_reach(forward, backward, parameters, n_x, upstream, T_x):
    """Norm of the gradient that reaches each step t from a loss on the last step, with
    n_x zero inputs: upstream, of shape (n_h, 1), is the loss's gradient of the last h."""
    x, h0 = np.zeros((n_x, 1, T_x)), np.zeros(upstream.shape)
    dh = np.zeros((*upstream.shape, T_x))
    dh[:, :, -1] = upstream
    dx = backward(dh, forward(x, h0, parameters)[-1])["dx"]
    return np.linalg.norm(dx[:, 0, :], axis=0)


def plot_gradient_reach(forward, backward, T_x=60):
    """Plot, on a log scale, the norm of the gradient reaching each earlier step from a
    loss on the last, for your forward and backward functions (and the reference's
    curves the notebook compares them with)."""
    reach = spec()["reach"]
    curves = [(c["label"], gradient_reach(forward, backward, decode(c["parameters"]), c["n_x"],
                                          decode(reach["upstream"]), T_x))
              for c in reach["curves"]]
    curves += [(ref["label"], decode(ref["norms"])[:T_x]) for ref in reach["references"]]
    return plot_through_time(curves, reach["title"])
