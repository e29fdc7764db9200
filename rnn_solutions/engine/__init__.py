"""The grading engine, the same for every assignment: how grading runs.

declaration    -- what an assignment declares: exercises, cases, checks, student files
stepwise       -- the declaration of a step-by-step sequence assignment, from its parts
compare        -- how an output is compared with the reference's, and why it is wrong
                  (the hints; shipped to students)
selfcheck      -- the students' self-check (shipped to students); inline ships them
judge          -- the judge: cases out, outputs in, verdicts computed here
execute        -- the autograde preprocessor: the judge's windows around graded cells
kernel_client  -- the judge's client, installed in each grading kernel
sandbox        -- grading kernels under bubblewrap, over Unix sockets
submissions    -- what there is to grade, preconditions, completion records
recovery       -- renamed, stripped or damaged hand-ins rebuilt from the release
handins        -- the sample hand-ins: the perfect answers handed in other ways
course         -- `release` and `grade` commands for every assignment of the course
classgrader    -- rnn-grade: parallel, resumable autograde; report.py the class report
metadata       -- nbgrader's cell-metadata check, its schema compiled once
"""
