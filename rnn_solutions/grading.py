"""What the hidden checks compare: a student's output against the reference, per case.

Each exercise is graded in two parts, "structure" (return types, shapes, gradient keys,
cache layout) and "values" (values equal to the reference's, inputs left unchanged), on
the notebook's example and every case of `cases.HIDDEN_CASES`. `problems(...)` lists
what is wrong with one output, with a hint when a wrong output is the fingerprint of a
known mistake (`mistakes.py`); hidden expected values are never printed. The judge
(`judge.py`) calls it on outputs that come back from the student's kernel;
`check_structure(name, fn)` and `check_values(name, fn)` run a function through the same
judge and kernel client in this process, for the tests and for an instructor trying a
function by hand.

`rnn_forward` is checked with the reference `rnn_cell_forward` standing in for the
student's, and `rnn_backward` with the reference `rnn_cell_backward`, so a bug in a
cell function costs its own points only. The layout and comparison code is shared with
the students' self-checks (`student.py`, shipped as `rnn_utils.py`).
"""

import copy

import numpy as np

from rnn_solutions import cases
from rnn_solutions import student as s
from rnn_solutions.mistakes import MISTAKES


def check_structure(name, fn):
    """Assert that `fn` returns what exercise `name` must return, in the right shapes."""
    _check(name, fn, "structure")


def check_values(name, fn):
    """Assert that `fn` returns the reference's values and leaves its inputs unchanged."""
    _check(name, fn, "values")


def _check(name, fn, part):
    """Run the hidden checks of one part the way production does (`judge.check_here`):
    a judge in this process, the kernel client calling fn; AssertionError on failure."""
    from rnn_solutions import judge  # judge.py builds on this module

    judge.check_here(f"test_{name}_{part}", fn)


def problems(name, part, case, out, args_after, label):
    """What is wrong with `out`, the output of exercise `name` on `case`, for one part.

    args_after -- the arguments as they were after the call (to catch in-place changes).
    """
    expected, T_x = _expected(case), _steps(case)
    found = s.structure_problems(name, out, expected, T_x)
    if part == "structure":
        return found
    if not found:
        actual = s.plain(s.arrays(name, out, T_x))
        found = s.value_problems(name, actual, expected, T_x, show_expected=label == "example")
        if found:
            found += [f"hint: {hint}" for hint in diagnose(name, actual, case)]
    pristine = list(case.inputs.values())
    return found + s.modified_inputs(pristine, list(args_after), list(case.inputs))


def diagnose(name, actual, case):
    """Hints of the known mistakes whose outputs equal the student's wrong outputs."""
    expected, T_x = _expected(case), _steps(case)
    wrong = s.wrong_outputs(actual, expected)
    hints = []
    for hint, mistake in MISTAKES[name].items():
        with np.errstate(all="ignore"):  # in the judge's thread: no stderr swapping
            theirs = s.plain(s.arrays(name, mistake(*copy.deepcopy(list(case.inputs.values()))),
                                      T_x))
        # every output the mistake changes must be changed in the same way, and every
        # output the student got wrong must be one the mistake changes
        if len(theirs) == len(expected):
            changed = {i: theirs[i] for i in range(len(theirs))
                       if theirs[i].shape != expected[i].shape
                       or s.wrong_outputs([theirs[i]], [expected[i]])}
            if s.fingerprint_matches(actual, wrong, changed):
                hints.append(hint)
    return hints


def labelled_cases(name):
    """The notebook's example first, then the hidden cases."""
    yield "example", cases.example(name)
    for i, (case, (_, dims)) in enumerate(zip(cases.hidden_cases(name), cases.HIDDEN_CASES,
                                              strict=True), start=1):
        sizes = ", ".join(f"{k}={v}" for k, v in dims._asdict().items())
        yield f"hidden case {i} ({sizes})", case


def _expected(case):
    """The reference's arrays for a case, in the order of `student.labels`."""
    return s.arrays(case.name, case.expected, _steps(case))


def _steps(case):
    """The number of time steps of a case (1 for the cell functions)."""
    x = case.inputs.get("x", case.inputs.get("caches", (None, None))[1])
    return 1 if x is None else x.shape[2]
