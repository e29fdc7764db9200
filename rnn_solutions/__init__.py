"""Reference package of the RNN step-by-step assignment.

The RNN assignment (the math, and what is graded):
rnn            -- the correct implementations of the four exercises
cases          -- the seeded example and hidden cases, with the reference's outputs
grading        -- its declaration: what the hidden checks compare, and the hints (mistakes.py)
student        -- the students' helpers, shipped as rnn_utils.py (student_files.py)
figures        -- the notebook's diagrams; samples/ makes the sample submissions

The engine, the same for every assignment (how grading runs):
declaration    -- what an assignment declares: exercises, cases, checks
judge          -- the judge and the autograde preprocessor that uses it
kernel_client  -- the judge's client, installed in each grading kernel
sandbox        -- grading kernels under bubblewrap, over Unix sockets
submissions    -- what there is to grade, preconditions, completion records
course         -- `release` and `grade` commands
classgrader    -- rnn-grade: parallel, resumable autograde; report.py the class report
metadata       -- nbgrader's cell-metadata check, its schema compiled once
"""

from rnn_solutions.rnn import (
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    softmax,
)

__all__ = ["rnn_backward", "rnn_cell_backward", "rnn_cell_forward", "rnn_forward", "softmax"]
