"""The course's package: the grading engine, and each assignment's reference and checks.

engine/            -- how grading runs, the same for every assignment
rnn_step_by_step/  -- the RNN assignment: reference, cases, checks, students' helpers
lstm_step_by_step/ -- the LSTM assignment, the same parts
"""

from rnn_solutions.rnn_step_by_step.rnn import (
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    softmax,
)

__all__ = ["rnn_backward", "rnn_cell_backward", "rnn_cell_forward", "rnn_forward", "softmax"]
