"""The LSTM step-by-step assignment: the math, and what is graded.

lstm           -- the correct implementations of the four exercises
spec           -- what they take and return, the cases, the declaration `LSTM`
mistakes       -- known mistakes, each the reference with one switch flipped
figures        -- the notebook's diagram; samples/ makes the sample submissions
"""
