"""Reference package of the RNN step-by-step assignment.

rnn      -- the correct implementations of the four exercises
cases    -- the seeded inputs and reference outputs the hidden grader cells use
grading  -- the checks the hidden grader cells run on a student's functions
"""

from rnn_solutions.rnn import (
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    softmax,
)

__all__ = ["rnn_backward", "rnn_cell_backward", "rnn_cell_forward", "rnn_forward", "softmax"]
