"""The grading engine, the same for every assignment: how grading runs.

declaration    -- what an assignment declares: exercises, cases, checks, student files
judge          -- the judge and the autograde preprocessor that uses it
kernel_client  -- the judge's client, installed in each grading kernel
sandbox        -- grading kernels under bubblewrap, over Unix sockets
submissions    -- what there is to grade, preconditions, completion records
course         -- `release` and `grade` commands for every assignment of the course
classgrader    -- rnn-grade: parallel, resumable autograde; report.py the class report
metadata       -- nbgrader's cell-metadata check, its schema compiled once
"""
