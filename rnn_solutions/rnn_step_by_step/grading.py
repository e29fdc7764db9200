"""The RNN assignment's declaration (declaration.py): what its hidden checks compare.

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
the students' self-checks (`layout.py`, shipped in `rnn_utils.py`). `RNN` is the
declaration nbgrader_config.py names for the assignment `rnn_step_by_step`.
"""

import copy

import numpy as np

from rnn_solutions.engine import compare
from rnn_solutions.engine.declaration import Assignment
from rnn_solutions.rnn_step_by_step import cases, layout, rnn, student_files
from rnn_solutions.rnn_step_by_step.mistakes import MISTAKES

CALLS_PER_STEP = 2  # a sequence function may call the cell function twice per step


class RnnStepByStep(Assignment):
    """The four exercises of the RNN step-by-step notebook."""

    exercises = cases.EXERCISES
    arguments = layout.ARGUMENTS
    helpers = layout.HELPER
    not_a_step = ("was called with an input that is not x[:, :, t] for any t, or with other "
                  "parameters")

    def cases(self, name):
        return labelled_cases(name)

    def problems(self, name, part, case, output, args_after, label):
        return problems(name, part, case, output, args_after, label)

    def stand_in(self, helper, args):
        return getattr(rnn, helper)(*args)

    def calls_allowed(self, case):
        return CALLS_PER_STEP * _steps(case)

    def is_step_of(self, helper, args, case):
        return _is_step_of(helper, args, case)

    def write_student_files(self, folder):
        student_files.write_student_files(folder)

    def write_samples(self, root):
        from rnn_solutions.rnn_step_by_step import samples  # nbformat: not in a kernel

        return samples.write_samples(root)


RNN = RnnStepByStep()


def check_structure(name, fn):
    """Assert that `fn` returns what exercise `name` must return, in the right shapes."""
    _check(name, fn, "structure")


def check_values(name, fn):
    """Assert that `fn` returns the reference's values and leaves its inputs unchanged."""
    _check(name, fn, "values")


def _check(name, fn, part):
    """Run the hidden checks of one part the way production does (`judge.check_here`):
    a judge in this process, the kernel client calling fn; AssertionError on failure."""
    from rnn_solutions.engine import judge

    judge.check_here(f"test_{name}_{part}", fn, RNN)


def problems(name, part, case, out, args_after, label):
    """What is wrong with `out`, the output of exercise `name` on `case`, for one part.

    args_after -- the arguments as they were after the call (to catch in-place changes).
    """
    expected, T_x = _expected(case), _steps(case)
    found = layout.structure_problems(name, out, expected, T_x)
    if part == "structure":
        return found
    if not found:
        actual = compare.plain(layout.arrays(name, out, T_x))
        found = layout.value_problems(name, actual, expected, T_x,
                                      show_expected=label == "example")
        if found:
            found += [f"hint: {hint}" for hint in diagnose(name, actual, case)]
    pristine = list(case.inputs.values())
    return found + compare.modified_inputs(pristine, list(args_after), list(case.inputs))


def diagnose(name, actual, case):
    """Hints of the known mistakes whose outputs equal the student's wrong outputs."""
    expected, T_x = _expected(case), _steps(case)
    wrong = compare.wrong_outputs(actual, expected)
    hints = []
    for hint, mistake in MISTAKES[name].items():
        with np.errstate(all="ignore"):  # in the judge's thread: no stderr swapping
            out = mistake(*copy.deepcopy(list(case.inputs.values())))
            theirs = compare.plain(layout.arrays(name, out, T_x))
        # every output the mistake changes must be changed in the same way, and every
        # output the student got wrong must be one the mistake changes
        if len(theirs) == len(expected):
            changed = {i: theirs[i] for i in range(len(theirs))
                       if theirs[i].shape != expected[i].shape
                       or compare.wrong_outputs([theirs[i]], [expected[i]])}
            if compare.fingerprint_matches(actual, wrong, changed):
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
    return layout.arrays(case.name, case.expected, _steps(case))


def _steps(case):
    """The number of time steps of a case (1 for the cell functions)."""
    x = case.inputs.get("x", case.inputs.get("caches", (None, None))[1])
    return 1 if x is None else x.shape[2]


def _is_step_of(helper, args, case):
    """Whether a call of the cell function is one step of the sequence case being run:
    its input is x[:, :, t] for some t and its parameters are the case's."""
    if not isinstance(args, list) or len(args) != len(layout.ARGUMENTS[helper]):
        return False
    if helper == "rnn_cell_backward":  # the cache must be one step's, whole
        caches = case.inputs["caches"][0]
        return any(_same_cache(args[1], cache) for cache in caches)
    xt, params = args[0], args[2]
    x, own = case.inputs["x"], case.inputs["parameters"]
    return _same_parameters(params, own) and any(_same(xt, x[:, :, t])
                                                 for t in range(x.shape[2]))


def _same_cache(theirs, ours):
    """Whether a cell cache sent by the kernel equals (h_next, h_prev, xt, parameters)."""
    return isinstance(theirs, tuple | list) and len(theirs) == 4 and all(
        _same(a, b) for a, b in zip(theirs[:3], ours[:3], strict=True)) and \
        _same_parameters(theirs[3], ours[3])


def _same_parameters(theirs, ours):
    """Whether a parameter dict sent by the kernel equals ours."""
    return isinstance(theirs, dict) and set(theirs) == set(ours) and all(
        _same(theirs[k], ours[k]) for k in ours)


def _same(a, b):
    """Whether a is an array equal to b."""
    return isinstance(a, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
