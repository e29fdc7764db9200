"""The LSTM step-by-step assignment: the math, and what is graded.

lstm           -- the correct implementations of the four exercises
cases          -- the original course's examples and the seeded hidden cases
layout         -- what each exercise takes and returns (grader and self-checks alike)
grading        -- its declaration (`LSTM`): a StepByStep of the modules here
mistakes       -- known mistakes, each the reference with one switch flipped
student        -- the students' helpers, shipped as lstm_utils.py (student_files.py)
figures        -- the notebook's diagram; samples/ makes the sample submissions
"""
