"""The LSTM assignment's declaration: its parts, named (`engine/stepwise.py` grades them).

`LSTM` is what nbgrader_config.py names for the assignment `lstm_step_by_step`.
`check_structure(name, fn)` and `check_values(name, fn)` run a function through the judge
and kernel client in this process, as production does, for the tests and for an
instructor trying a function by hand.
"""

from functools import partial

from rnn_solutions.engine.stepwise import StepByStep
from rnn_solutions.lstm_step_by_step import cases, layout, lstm, student_files
from rnn_solutions.lstm_step_by_step.mistakes import MISTAKES

LSTM = StepByStep(lstm, layout, cases, MISTAKES, student_files,
                 "rnn_solutions.lstm_step_by_step.samples")
check_structure = partial(LSTM.check, part="structure")  # (name, fn): AssertionError if wrong
check_values = partial(LSTM.check, part="values")
