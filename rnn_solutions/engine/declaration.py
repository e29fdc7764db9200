"""What the grading engine needs to know of an assignment: its declaration.

The judge, the kernel client and the class grader are the same for every assignment; each
assignment declares itself once, as a subclass of `Assignment`, and nbgrader_config.py
names it (`c.JudgedExecute.declarations = {"ASSIGNMENT": "module:attribute"}`). Points
and grade ids live in the master notebook: a graded test cell `test_NAME_PART` (PART is
`structure` or `values`) whose hidden part calls `_judge.check("test_NAME_PART", NAME)`
is judged on the declaration's cases of exercise NAME. `course release` asks it for the
files students get and the sample submissions.

The defaults compare any nested output (arrays, dicts, tuples, lists, numbers) with the
reference's: `structure` checks kinds, keys, lengths and shapes, `values` the numbers too
(compare.py's tolerance and wording) and that the inputs were left unchanged. An assignment
with richer feedback (hints for known mistakes, named cache layouts) overrides `problems`.
"""

import importlib
from collections.abc import Mapping

import numpy as np

from rnn_solutions.engine import compare


class Assignment:
    """An assignment's exercises, cases and checks; subclass it and fill in the blanks."""

    exercises = ()  # the graded functions, in the notebook's order
    arguments = {}  # exercise -> its parameter names, in order
    helpers = {}  # sequence exercise -> the cell exercise it calls (the judge stands in)
    not_a_step = "was called with inputs that are not one step of the case being checked"

    def cases(self, name):
        """[(label, Case)] the hidden checks run exercise `name` on; each Case has
        `inputs` (parameter name -> value, in order) and `expected` (the reference's)."""
        raise NotImplementedError

    def problems(self, name, part, case, output, args_after, label, order=(), fed=()):
        """What is wrong with `output`, the student's output on `case`, for one part;
        order -- the steps a sequence function called its cell function for, in order;
        fed -- what its steps were fed wrong (the `replay`'s problems)."""
        found = layout_problems(case.expected, output, "output")
        if part == "values" and not found:
            found = value_problems(case.expected, output, "output", show=label == "example")
        if part == "values":
            found += changed_inputs(case.inputs, args_after)
        return found

    def stand_in(self, helper, args):
        """The reference `helper` on `args`, for a sequence function's call."""
        raise NotImplementedError

    def calls_allowed(self, case):
        """How many calls of the stand-in a sequence function may make on `case`."""
        return 0

    def replay(self, name, case):
        """An object noting what each step of a sequence function is fed (called with a
        step's arguments; its `problems` say what was wrong), or None."""
        return None

    def step_index(self, helper, args, case):
        """The time step of `case` that a call of `helper` with `args` is, or None (then
        the call is refused)."""
        return None

    def write_student_files(self, folder):
        """Write the files students get beside the notebook into the source folder
        (`course release` runs this before nbgrader generate_assignment)."""

    def write_samples(self, root):
        """Write the assignment's sample submissions under root/submitted; return their
        names (`course release` runs this after nbgrader generate_assignment)."""
        return []


def load(spec):
    """The declaration named by 'module:attribute'."""
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)


def layout_problems(expected, actual, path):
    """Differences of kind, keys, length or shape between two nested outputs."""
    if isinstance(expected, np.ndarray):
        if not isinstance(actual, np.ndarray):
            return [f"{path} should be a numpy array, got {type(actual).__name__}"]
        if actual.shape != expected.shape:
            return [f"{path} has shape {actual.shape}, expected {expected.shape}"]
        return []
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{path} should be a dict, got {type(actual).__name__}"]
        missing = [k for k in expected if k not in actual]
        if missing:
            return [f"{path} is missing the keys {missing}"]
        return [p for k in expected for p in layout_problems(expected[k], actual[k],
                                                               f"{path}[{k!r}]")]
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            return [f"{path} should be a sequence of {len(expected)} items"]
        return [p for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for p in layout_problems(e, a, f"{path}[{i}]")]
    return []


def value_problems(expected, actual, path, show):
    """Arrays of `actual` that differ from `expected` (same layout), one line each."""
    if isinstance(expected, np.ndarray):
        return compare.value_lines([path], [actual], [expected], show)
    if isinstance(expected, Mapping):
        return [p for k in expected for p in value_problems(expected[k], actual[k],
                                                              f"{path}[{k!r}]", show)]
    if isinstance(expected, (tuple, list)):
        return [p for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for p in value_problems(e, a, f"{path}[{i}]", show)]
    return []


def changed_inputs(pristine, after):
    """One line per argument the function modified in place."""
    found = []
    for (name, before), now in zip(pristine.items(), after, strict=False):
        if layout_problems(before, now, name) or value_problems(before, now, name, False):
            found.append(f"the argument {name} was modified in place; work on a copy")
    return found
