"""The declaration of a step-by-step sequence assignment, made of its parts.

An assignment like the LSTM's (a cell forward, a sequence forward, a cell backward, a
backward through time) is declared by naming its modules, not by writing checks:

    reference -- the exercises' reference functions
    layout    -- ARGUMENTS, HELPER (sequence -> cell function), RETURNS (compare.py specs),
                 labelled(name, out, T_x), steps_of(name, args)
    cases     -- EXERCISES, HIDDEN_CASES, example(name), hidden_cases(name)
    mistakes  -- {exercise: {hint: a function making that mistake}}

Each exercise is graded in two parts: "structure" (types, shapes, keys, cache layout)
and "values" (the reference's numbers, inputs left unchanged), on the notebook's example
and every hidden case. A wrong value that is the fingerprint of a known mistake gets its
hint. A sequence function runs with the reference cell function standing in for the
student's, answering only the steps of the case being checked, twice per step at most.
"""

import copy
import importlib
import types

import numpy as np

from rnn_solutions.engine import compare
from rnn_solutions.engine.declaration import Assignment

CALLS_PER_STEP = 2  # a sequence function may call the cell function twice per step


class StepByStep(Assignment):
    """A step-by-step assignment declared by its reference, layout, cases and mistakes."""

    not_a_step = ("was called with an input that is not x[:, :, t] for any t, or with other "
                  "parameters")

    def __init__(self, reference, layout, cases, mistakes, student_files=None, samples=None):
        """samples -- the name of the module writing the sample submissions, imported when
        they are written (it needs nbformat, which a grading kernel does not have)."""
        self.reference, self.layout, self.case_source = reference, layout, cases
        self.mistakes, self.student_files, self.samples = mistakes, student_files, samples
        self.exercises = cases.EXERCISES
        self.arguments = layout.ARGUMENTS
        self.helpers = layout.HELPER

    def cases(self, name):
        """The notebook's example first, then the hidden cases."""
        yield "example", self.case_source.example(name)
        hidden = zip(self.case_source.hidden_cases(name), self.case_source.HIDDEN_CASES,
                     strict=True)
        for i, (case, (_, dims)) in enumerate(hidden, start=1):
            sizes = ", ".join(f"{k}={v}" for k, v in dims._asdict().items())
            yield f"hidden case {i} ({sizes})", case

    def problems(self, name, part, case, output, args_after, label, order=(), fed=()):
        """What is wrong with `output` on `case`; hidden expected values are never shown.
        order -- the steps the student's sequence function called the cell function for;
        fed -- what the replay found its steps were fed wrong (said before any guess)."""
        T_x, expected = self.steps(case), self.expected(case)
        found = compare.output_problems(
            lambda: self.layout.labelled(name, output, T_x), expected, part,
            label == "example",
            lambda actual: list(fed) or self.diagnose(name, actual, case, expected),
            self.layout.RANGES, lambda: (list(order), *self.reference_steps(name, case)))
        if part == "structure":
            return found
        return found + compare.modified_inputs(list(case.inputs.values()), list(args_after),
                                               list(case.inputs))

    def diagnose(self, name, actual, case, expected):
        """Hints of the known mistakes whose outputs equal the student's wrong outputs;
        expected -- the reference's arrays on the case (`expected(case)`)."""
        T_x = self.steps(case)
        wrong = compare.wrong_outputs(actual, expected)
        hints = []
        for hint, mistake in self.mistakes.get(name, {}).items():
            with np.errstate(all="ignore"):  # in the judge's thread: no stderr swapping
                out = mistake(*copy.deepcopy(list(case.inputs.values())))
            try:
                theirs = compare.plain(self.layout.arrays(name, out, T_x))
            except compare.ShapeError:
                continue
            changed = {i: theirs[i] for i in range(len(theirs))
                       if theirs[i].shape != expected[i].shape
                       or compare.wrong_outputs([theirs[i]], [expected[i]])}
            if compare.fingerprint_matches(actual, wrong, changed):
                hints.append(hint)
        return hints

    def expected(self, case):
        """The reference's arrays for a case, in the layout's order."""
        return compare.plain(self.layout.arrays(case.name, case.expected, self.steps(case)))

    def steps(self, case):
        """The number of time steps of a case (1 for the cell functions)."""
        return self.layout.steps_of(case.name, list(case.inputs.values()))

    def stand_in(self, helper, args):
        return getattr(self.reference, helper)(*args)

    def calls_allowed(self, case):
        return CALLS_PER_STEP * self.steps(case)

    def step_index(self, helper, args, case):
        """The time step of the sequence case being run that a call of the cell function
        is, or None: a backward step gets step t's whole cache; a forward step gets
        x[:, :, t] (its first argument) and the case's parameters (its last)."""
        if not isinstance(args, list) or len(args) != len(self.arguments[helper]):
            return None
        if "caches" in case.inputs:
            return next((t for t, cache in enumerate(case.inputs["caches"][0])
                         if same_tree(args[-1], cache)), None)
        x = case.inputs["x"]
        if not same_tree(args[-1], case.inputs["parameters"]):
            return None
        return next((t for t in range(x.shape[2]) if same_tree(args[0], x[:, :, t])), None)

    def replay(self, name, case):
        """The students' self-check replay on `case` (the assignment's student_files
        `replay`), so the judge says what each step was fed as the self-check does."""
        make = getattr(self.student_files, "replay", None)
        return make(name, case) if make else None

    def reference_steps(self, name, case):
        """How the reference's sequence function takes the steps of `case`: (the step
        indices in the order it calls the cell function, [what each step's call returned]
        by step); ([], []) for a cell function."""
        helper = self.helpers.get(name)
        if not helper:
            return [], []
        own, order, outputs = getattr(self.reference, helper), [], {}

        def record(*args):
            out = own(*args)
            order.append(self.step_index(helper, list(args), case))
            outputs[order[-1]] = out
            return out

        # the reference's function with `record` as its cell function, in globals of its
        # own: the module stays as it is for everyone else (the judge runs in a thread);
        # the reference's sequence functions are plain module functions (no closures)
        sequence = getattr(self.reference, name)
        watched = types.FunctionType(sequence.__code__, {**vars(self.reference), helper: record},
                                     name, sequence.__defaults__)
        watched(*copy.deepcopy(list(case.inputs.values())))
        return order, [outputs[t] for t in sorted(outputs)]

    def write_student_files(self, folder):
        if self.student_files:
            self.student_files.write_student_files(folder)

    def write_samples(self, root):
        return importlib.import_module(self.samples).write_samples(root) if self.samples else []

    def check(self, name, fn, part):
        """Run the hidden checks of one part on `fn` the way production does
        (`judge.check_here`): AssertionError with the judge's message if they fail."""
        from rnn_solutions.engine import judge

        judge.check_here(f"test_{name}_{part}", fn, self)


def same_tree(theirs, ours):
    """Whether a value sent by the kernel equals ours: arrays equal, dicts with the same
    keys, tuples or lists of the same length, item by item."""
    if isinstance(ours, np.ndarray):
        return isinstance(theirs, np.ndarray) and theirs.shape == ours.shape and \
            compare.equal(theirs, ours)
    if isinstance(ours, dict):
        return isinstance(theirs, dict) and set(theirs) == set(ours) and all(
            same_tree(theirs[k], ours[k]) for k in ours)
    if isinstance(ours, tuple | list):
        return isinstance(theirs, tuple | list) and len(theirs) == len(ours) and all(
            same_tree(a, b) for a, b in zip(theirs, ours, strict=True))
    return theirs == ours
