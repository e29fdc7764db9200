"""Shared fixtures: the course directory and throw-away copies of it."""

import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from gru.spec import GRU

from rnn_solutions.engine import execute as engine_execute
from rnn_solutions.engine import handins as engine_handins
from rnn_solutions.engine import submissions
from rnn_solutions.lstm_step_by_step.spec import LSTM
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT, NOTEBOOK
from rnn_solutions.rnn_step_by_step.spec import RNN

ROOT = Path(__file__).resolve().parents[1]
CONFIG = submissions.course_config(ROOT)  # nbgrader_config.py, loaded as nbgrader does
KERNEL, TIMEOUT = submissions.execution(ROOT)


ASSIGNMENTS = sorted(submissions.declarations(ROOT))  # every assignment of the course
# every step-by-step declaration: the course's two and the test-only GRU (tests/gru/)
DECLARATIONS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def missing(what, how):
    """A test's component is not on this machine: skip, saying how to get it; in CI
    (CI=true), whose .ci/run installs every component, fail instead of skipping."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing, yet CI installs it: {how}")
    pytest.skip(f"{what} is missing: {how}")


def import_torch():
    """PyTorch, the independent oracle of the gradient tests (test-only)."""
    try:
        import torch
    except ImportError:
        missing("PyTorch, the test-only oracle", "pip install torch==2.13.0 (.ci/run does)")
    return torch


def points(assignment=ASSIGNMENT):
    """{grade_id: points} of a master notebook's graded cells: the one place they live."""
    nb = nbformat.read(ROOT / "source" / assignment / submissions.notebook_name(assignment),
                       as_version=4)
    meta = [cell.metadata.get("nbgrader", {}) for cell in nb.cells]
    return {m["grade_id"]: m["points"] for m in meta if m.get("grade")}


POINTS = points()


def execute(nb, path, **settings):
    """Run a notebook in `path` as autograde does, the judge included; settings --
    JudgedExecute's traits to change (warm_kernels=False: a plain kernel)."""
    return engine_execute.execute(nb, path, CONFIG, **settings)


# Where containers grade (Kubernetes, Docker, Gradescope): no new namespace may be made and
# no capability is held, so bubblewrap fails; Landlock is still there. Reproduced without
# root: in a user namespace of our own, new ones are forbidden, then every capability goes.
CONTAINER = ["unshare", "--user", "--map-root-user", "sh", "-c",
             "echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv "
             "--inh-caps=-all --ambient-caps=-all --bounding-set=-all -- \"$@\"", "sh"]


def in_a_container(code, cwd=None):
    """Run Python `code` (this interpreter) in the reproduced container condition; its
    completed process, output captured."""
    import subprocess
    import sys

    return subprocess.run([*CONTAINER, sys.executable, "-c", code], cwd=cwd, text=True,
                          capture_output=True, timeout=1800, check=False)


def copy_course(dest, parts=("source", "release", "submitted", "nbgrader_config.py"),
                handins=False):
    """Copy the parts of the course nbgrader needs into dest; return dest. The hand-in
    samples (handins.py: the perfect answers handed in other ways) only if asked."""
    skip = () if handins else engine_handins.NAMES
    for part in parts:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=lambda folder, names: [
                n for n in names if Path(folder) == ROOT / "submitted" and n in skip])
        else:
            shutil.copy(src, dest / part)
    return dest


@pytest.fixture(scope="session")
def master():
    """The master notebook."""
    return nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)


@pytest.fixture(scope="session")
def release_nb():
    """The committed release notebook."""
    return nbformat.read(ROOT / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)


def grade_id(cell):
    """The cell's nbgrader grade_id, or ''."""
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def same(a, b, rtol=0.0):
    """Equal values of the same kinds, arrays compared exactly (or within rtol)."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and (
            np.array_equal(a, b) or rtol > 0 and np.allclose(a, b, rtol=rtol, atol=0))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            same(a[k], b[k], rtol) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(
            same(x, y, rtol) for x, y in zip(a, b, strict=True))
    return a == b
