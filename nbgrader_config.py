"""nbgrader configuration of the course: this directory is the course directory."""

c = get_config()  # noqa: F821 -- injected by nbgrader when it loads this file

c.CourseDirectory.course_id = "rnn-step-by-step"

# nbgrader's default, and each master's _judge.py: the hidden checks in the instructor's own
# kernel (rnn_solutions/engine/judge.py), neither released nor taken from a submission
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "_judge.py"]

# Grade in the project's own environment, whatever kernels the user has installed:
# `make setup` installs this kernelspec into the project's virtual environment.
c.ExecutePreprocessor.kernel_name = "rnn-step-by-step"

# A cell that runs longer than this is interrupted and fails (the whole notebook takes ~3 s).
c.ExecutePreprocessor.timeout = 30

# Hidden checks are judged outside the student's kernel (rnn_solutions/engine/judge.py):
# JudgedExecute (execute.py) takes the place of nbgrader's Execute. CheckCellMetadataOnce is
# nbgrader's CheckCellMetadata with its schema compiled once (rnn_solutions/engine/metadata.py).
# The rest, and the order, is nbgrader's default.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from rnn_solutions.engine.execute import JudgedExecute  # noqa: E402
from rnn_solutions.engine.metadata import CheckCellMetadataOnce  # noqa: E402
from rnn_solutions.engine.sanitize import SanitizeSubmission  # noqa: E402

c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadataOnce,
]
c.Autograde.autograde_preprocessors = [
    JudgedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SanitizeSubmission,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadataOnce,
]

# Nothing a student wrote runs in a page an instructor or a student opens
# (rnn_solutions/engine/sanitize.py): SanitizeSubmission cleans the autograded notebook
# above, and again the notebook each feedback page and each formgrader page is made from
# (one autograded by another configuration, say); in feedback before nbgrader's GetGrades
# adds the gradebook's scores and comments, which no student could have forged then.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [SanitizeSubmission, GetGrades, CSSHTMLHeaderPreprocessor]
c.HTMLExporter.preprocessors = [SanitizeSubmission]

# `nbgrader validate` (and the formgrader's Validate button) runs the same judged execution,
# so a master notebook's hidden checks are judged as autograde judges them. nbgrader does
# not make the validator's preprocessors configurable: its class default is replaced here.
from nbgrader.validator import Validator  # noqa: E402

Validator.preprocessors.default_value = [CheckCellMetadataOnce, ClearOutput, JudgedExecute]

# What each assignment grades (rnn_solutions/engine/declaration.py): its exercises, cases, checks.
c.JudgedExecute.declarations = {
    "rnn_step_by_step": "rnn_solutions.rnn_step_by_step.spec:RNN",
    "lstm_step_by_step": "rnn_solutions.lstm_step_by_step.spec:LSTM",
}

# Where grading kernels cannot be sandboxed (neither bubblewrap nor Landlock: docs/grading.md
# #the-sandbox), grade anyway with a WARNING (False) or grade nothing (True).
c.JudgedExecute.require_sandbox = False
