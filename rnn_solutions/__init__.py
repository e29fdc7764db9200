"""Reference package of the RNN step-by-step assignment.

rnn            -- the correct implementations of the four exercises
cases          -- the seeded example and hidden cases, with the reference's outputs
grading        -- what the hidden checks compare, and the hints (mistakes.py)
judge          -- the judge and the autograde preprocessor that uses it
student        -- the students' helpers, shipped as rnn_utils.py (student_files.py)
course         -- `release` and `grade` commands; samples/ makes the sample submissions
classgrader    -- rnn-grade: parallel, resumable autograde; report.py the class report
figures        -- the notebook's diagrams
"""

from rnn_solutions.rnn import (
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    softmax,
)

__all__ = ["rnn_backward", "rnn_cell_backward", "rnn_cell_forward", "rnn_forward", "softmax"]
