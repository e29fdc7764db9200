"""The RNN step-by-step assignment: the math, and what is graded.

rnn            -- the correct implementations of the four exercises
spec           -- what they take and return, the cases, the declaration `RNN`
mistakes       -- known mistakes, coded as the wrong answers they give
figures        -- the notebook's diagrams; samples/ makes the sample submissions
"""
