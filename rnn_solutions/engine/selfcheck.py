"""The students' self-check, the same for every assignment: run a function on the
notebook's example, compare with the reference's stored outputs, explain what is wrong.

Numpy only: `make release` inlines it into each assignment's helper file, whose
`self_check(name, fn)` gathers the example's inputs, data and replay and calls `run_example`.
"""

import copy

import numpy as np

from rnn_solutions.engine.compare import (  # inlined
    MAX_HINTS,
    equal,
    exception_hint,
    fingerprint_matches,
    modified_inputs,
    output_problems,
    wrong_outputs,
)
from rnn_solutions.engine.kernel_client import (  # inlined
    CheckError,
    bind,
    parameter_names,
    quiet,
    replaced,
)


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
