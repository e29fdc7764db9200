"""The hidden checks of a step-by-step sequence assignment, from its spec (`spec.py`).

An assignment like the LSTM's (a cell forward, a sequence forward, a cell backward, a
backward through time) is declared by its reference and its spec, not by writing checks.
Each exercise is graded in two parts: "structure" (types, shapes, keys, cache layout)
and "values" (the reference's numbers within the exercise's tolerance, inputs left
unchanged), on the notebook's example and every hidden case. A wrong value that is the
fingerprint of a known mistake gets its hint; if none is, of one of the engine's own
variants of the reference (`mutants.py`). A sequence function runs with the reference
cell function standing in for the student's, answering only the steps of the case being
checked, twice per step at most, beside the students' own replay (rnncheck/checker.py),
which says what each step was fed wrong.
"""

import copy
import importlib
import types

import numpy as np

from rnn_solutions.engine import spec as specs
from rnn_solutions.engine.declaration import Assignment
from rnn_solutions.engine.mutants import mutants
from rnn_solutions.rnncheck import compare
from rnn_solutions.rnncheck.checker import Replay

CALLS_PER_STEP = 2  # a sequence function may call the cell function twice per step


class StepByStep(Assignment):
    """A step-by-step assignment's hidden checks, from its spec."""

    not_a_step = ("was called with an input that is not x[:, :, t] for any t, or with other "
                  "parameters")

    def __init__(self, spec):
        self.spec, self.reference, self.mistakes = spec, spec.reference, spec.mistakes
        self.exercises = tuple(e.name for e in spec.exercises)
        self.arguments = {e.name: e.arguments for e in spec.exercises}
        self.helpers = {e.name: e.helper for e in spec.exercises if e.helper}
        self.example_shapes = {}  # exercise -> its arrays' shapes on the example (cases)
        self.recorded = {}  # id(case) -> (case, reference_steps of it)
        # the reference cell functions, taken now: a check of the reference's own sequence
        # function puts the kernel client's stand-in into the reference module meanwhile
        self.cells = {h: getattr(spec.reference, h) for h in self.helpers.values()}
        self.generic = {}  # exercise -> the engine's variants of it (`variants_of`)
        # what Replay reads of spec.json: the exercises, the cache's items, the carried states
        self.replayed = {"exercises": {e.name: {"arguments": list(e.arguments),
                                                "returns": e.returns, "helper": e.helper}
                                       for e in spec.exercises},
                         "cache": list(spec.cache), "carries": list(spec.carries)}

    def cases(self, name):
        """The notebook's example first, then the hidden cases."""
        example = specs.example(self.spec, name)
        # the example's shapes, for the hidden cases' shape hints: computed here, before the
        # student's function runs (a check may stand in for the reference's cell meanwhile)
        self.example_shapes[name] = [a.shape for a in self.expected(example)]
        yield "example", example
        hidden = zip(specs.hidden_cases(self.spec, name), self.spec.hidden_cases, strict=True)
        for i, (case, (_, sizes)) in enumerate(hidden, start=1):
            yield f"hidden case {i} ({', '.join(f'{k}={v}' for k, v in sizes.items())})", case

    def labelled(self, name, out, T_x):
        """[(label, array)] of an output of exercise `name`; ShapeError if it is laid out
        wrong."""
        return compare.flatten(self.spec.exercise(name).returns, out, T_x)

    def problems(self, name, part, case, output, args_after, label, order=(), fed=()):
        """What is wrong with `output` on `case`; hidden expected values are never shown.
        order -- the steps the student's sequence function called the cell function for;
        fed -- what the replay found its steps were fed wrong (said before any guess)."""
        T_x, expected, tol = self.steps(case), self.expected(case), self.spec.exercise(name).tol
        found = compare.output_problems(
            lambda: self.labelled(name, output, T_x), expected, part, label == "example",
            lambda actual: list(fed) or self.diagnose(name, actual, case, expected),
            self.spec.ranges, lambda: (list(order), *self.reference_steps(name, case)), tol,
            () if label == "example" else self.example_shapes.get(name, ()))
        if part == "structure":
            return found
        return found + compare.modified_inputs(list(case.inputs.values()), list(args_after),
                                               list(case.inputs))

    def diagnose(self, name, actual, case, expected):
        """Hints of the known mistakes whose outputs equal the student's wrong outputs, or
        if none, of the engine's own variants (`mutants.py`) that do; expected -- the
        reference's arrays on the case (`expected(case)`)."""
        tol = self.spec.exercise(name).tol
        wrong = compare.wrong_outputs(actual, expected, tol)
        for generic in (False, True):
            hints = [hint for hint, changed in self.variants(name, case, expected, generic)
                     if compare.fingerprint_matches(actual, wrong, changed, tol)]
            if hints:
                return hints
        return []

    def variants(self, name, case, expected, generic=False):
        """(hint, {index: array} of the outputs it gets wrong) of each known mistake of
        exercise `name` on `case` (generic: each of the engine's variants) that runs and
        lays its output out as the exercise asks."""
        T_x, tol = self.steps(case), self.spec.exercise(name).tol
        pool = self.variants_of(name) if generic else self.mistakes.get(name, {})
        for hint, variant in pool.items():
            try:
                with np.errstate(all="ignore"):  # in the judge's thread: no stderr swapping
                    out = variant(*copy.deepcopy(list(case.inputs.values())))
                theirs = compare.plain([a for _, a in self.labelled(name, out, T_x)])
            except Exception:  # a variant that cannot run on these inputs explains nothing
                continue
            yield hint, {i: theirs[i] for i in range(len(theirs))
                         if theirs[i].shape != expected[i].shape
                         or compare.wrong_outputs([theirs[i]], [expected[i]], tol)}

    def variants_of(self, name):
        """The engine's own variants of the reference function `name` (`mutants.py`), run
        with the reference cells taken at start; made when a wrong answer first asks for
        them, not by every grading process at start (about 0.1 s for the LSTM's)."""
        if name not in self.generic:
            namespace = {**vars(self.reference), **self.cells}
            self.generic[name] = mutants(getattr(self.reference, name), self.spec.ranges,
                                         namespace)
        return self.generic[name]

    def expected(self, case):
        """The reference's arrays for a case, in the order of its `labelled` output."""
        return compare.plain([a for _, a in self.labelled(case.name, case.expected,
                                                           self.steps(case))])

    def steps(self, case):
        """The number of time steps of a case: x's or dh's (1 for the cell functions)."""
        return np.shape(next(iter(case.inputs.values())))[2] if case.name in self.helpers \
            else 1

    def stand_in(self, helper, args):
        return self.cells[helper](*args)

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
        """The students' self-check replay (rnncheck's `Replay`) on `case`, so the judge
        says what each step was fed as the self-check does; None for a cell function."""
        if name not in self.helpers:
            return None
        _, steps = self.reference_steps(name, case)
        return Replay(self.replayed, name, list(case.inputs.values()), steps)

    def reference_steps(self, name, case):
        """How the reference's sequence function takes the steps of `case`: (the step
        indices in the order it calls the cell function, [{name: array}] by step: what
        each step's call was given and returned); ([], []) for a cell function. Run once
        per case: the judge asks for every sequence case of every submission (its replay),
        and its cases live as long as its process; nothing changes what comes back."""
        known = self.recorded.get(id(case))
        if known is None or known[0] is not case:  # kept with its case: no reused id
            known = self.recorded[id(case)] = (case, self._record_steps(name, case))
        return known[1]

    def _record_steps(self, name, case):
        """reference_steps, computed."""
        helper = self.helpers.get(name)
        if not helper:
            return [], []
        own, order, steps = self.cells[helper], [], {}
        cell = self.spec.exercise(helper)

        def record(*args):
            out = own(*args)
            order.append(self.step_index(helper, list(args), case))
            given = {k: v for k, v in zip(cell.arguments, args, strict=True)
                     if isinstance(v, np.ndarray)}
            returned = out if isinstance(out, dict) else compare.named(cell.returns, out)
            steps[order[-1]] = {**given, **returned}
            return out

        # the reference's function with `record` as its cell function, in globals of its
        # own: the module stays as it is for everyone else (the judge runs in a thread);
        # the reference's sequence functions are plain module functions (no closures)
        sequence = getattr(self.reference, name)
        watched = types.FunctionType(sequence.__code__, {**vars(self.reference), helper: record},
                                     name, sequence.__defaults__)
        watched(*copy.deepcopy(list(case.inputs.values())))
        return order, [steps[t] for t in sorted(steps)]

    def write_student_files(self, folder):
        from rnn_solutions.engine import student_files

        student_files.write(self, folder)

    def write_samples(self, root):
        samples = self.spec.samples
        return importlib.import_module(samples).write_samples(root) if samples else []

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
