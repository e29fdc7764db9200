"""What the grading engine needs to know of an assignment: its declaration.

The judge, the kernel client and the class grader are the same for every assignment; each
assignment declares itself once, as a subclass of `Assignment`, and nbgrader_config.py
names it (`c.JudgedExecute.declarations = {"ASSIGNMENT": "module:attribute"}`): a
`StepByStep` of its spec (`stepwise.py`, `spec.py`). Points
and grade ids live in the master notebook: a graded test cell `test_NAME_PART` (PART is
`structure` or `values`) whose hidden part calls `_judge.check("test_NAME_PART", NAME)`
is judged on the declaration's cases of exercise NAME. `course release` asks it for the
files students get and the sample submissions.
"""

import importlib


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
        raise NotImplementedError

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
