"""The grading engine, the same for every assignment: how grading runs.

spec           -- an assignment declared once: its exercises, cases, carried states, mistakes
stepwise       -- the hidden checks of a step-by-step assignment, from its spec
mutants        -- the engine's own variants of a reference, for hints on wrong answers
declaration    -- what the judge asks of an assignment (StepByStep answers)
student_files  -- what students get: rnncheck/ (../rnncheck, copied) and spec.json
judge          -- the judge: cases out, outputs in, verdicts computed here
execute        -- the autograde preprocessor: the judge's windows around graded cells
kernel_client  -- the judge's client, installed in each grading kernel
sandbox        -- grading kernels under bubblewrap, over Unix sockets, forked warm
forkserver     -- the fork server warm kernels come from (runs in the students' Python)
submissions    -- what there is to grade, preconditions, completion records
recovery       -- renamed, stripped or damaged hand-ins rebuilt from the release
handins        -- the sample hand-ins: the perfect answers handed in other ways
course         -- `release` and `grade` commands for every assignment of the course
classgrader    -- rnn-grade: parallel, resumable autograde; report.py the class report
cli            -- rnn-grade's entry point: the fork server starts before the grader loads
metadata       -- nbgrader's cell-metadata check, its schema compiled once
"""

import sys

# jsonschema, on import, loads rfc3987-syntax (installed with jupyter) for its IRI format
# checker, which compiles 39 grammars: a core-second in every process of ours that has
# not imported jsonschema yet (the course commands, rnn-grade and its workers). Neither
# nbformat nor nbgrader checks formats; without the module, jsonschema leaves that
# checker out. nbgrader's own processes import jsonschema before this: unchanged.
sys.modules.setdefault("rfc3987_syntax", None)
