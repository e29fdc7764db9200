"""The RNN step-by-step assignment: the math, and what is graded.

rnn            -- the correct implementations of the four exercises
cases          -- the seeded example and hidden cases, with the reference's outputs
layout         -- what each exercise takes and returns (grader and self-checks alike)
grading        -- its declaration (`RNN`): a StepByStep of the modules here
mistakes       -- known mistakes, coded as the wrong answers they give
student        -- the students' helpers, shipped as rnn_utils.py (student_files.py)
figures        -- the notebook's diagrams; samples/ makes the sample submissions
"""
