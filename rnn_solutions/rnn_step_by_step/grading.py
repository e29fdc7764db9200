"""The RNN assignment's declaration: its parts, named (`engine/stepwise.py` grades them).

Each exercise is graded in two parts, "structure" (return types, shapes, gradient keys,
cache layout) and "values" (values equal to the reference's, inputs left unchanged), on
the notebook's example and every case of `cases.HIDDEN_CASES`, with a hint when a wrong
output is the fingerprint of a known mistake (`mistakes.py`); hidden expected values are
never printed. `rnn_forward` is checked with the reference `rnn_cell_forward` standing in
for the student's, and `rnn_backward` with the reference `rnn_cell_backward`, so a bug in
a cell function costs its own points only. The layout is shared with the students'
self-checks (`layout.py`, shipped in `rnn_utils.py`).

`RNN` is the declaration nbgrader_config.py names for the assignment `rnn_step_by_step`.
`check_structure(name, fn)` and `check_values(name, fn)` run a function through the same
judge and kernel client in this process, for the tests and for an instructor trying a
function by hand.
"""

from functools import partial

from rnn_solutions.engine.stepwise import StepByStep
from rnn_solutions.rnn_step_by_step import cases, layout, rnn, student_files
from rnn_solutions.rnn_step_by_step.mistakes import MISTAKES

RNN = StepByStep(rnn, layout, cases, MISTAKES, student_files,
                 "rnn_solutions.rnn_step_by_step.samples")
check_structure = partial(RNN.check, part="structure")  # (name, fn): AssertionError if wrong
check_values = partial(RNN.check, part="values")
