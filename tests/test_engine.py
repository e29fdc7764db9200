"""One engine for every assignment: a third assignment, declared in tests/dense_layer.py,
goes through nbgrader generate_assignment and the class grader with no engine change."""

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import KERNEL, ROOT
from dense_layer import DENSE, SOLUTIONS, notebook

from rnn_solutions.engine import classgrader, course
from rnn_solutions.rnn_step_by_step.samples import strip_solution_markers

ASSIGNMENT = "dense_layer"
TESTS = Path(__file__).resolve().parent


def answers(nb, cells):
    """A copy of the release notebook with some answer cells replaced."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in cells:
            cell.source = cells[grade_id]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course of the dense-layer assignment alone, graded by the class grader."""
    root = tmp_path_factory.mktemp("dense")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nimport sys\nsys.path.insert(0, {str(TESTS)!r})\n"
                     f'c.CourseDirectory.course_id = "dense"\n'
                     f'c.JudgedExecute.declarations = {{"{ASSIGNMENT}": "dense_layer:DENSE"}}\n')
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(notebook(KERNEL), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    code, log = course.nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    assert code == 0, log
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    right = {name: strip_solution_markers(code) for name, code in SOLUTIONS.items()}
    wrong_db = right["dense_backward"].replace("dy.sum(axis=1, keepdims=True)",
                                               "dy.mean(axis=1, keepdims=True)")
    for student, cells in {"perfect": right, "untouched": {},
                           "mean_for_sum": {**right, "dense_backward": wrong_db}}.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(answers(release, cells), folder / f"{ASSIGNMENT}.ipynb")
    failures = classgrader.autograde(root, ASSIGNMENT, jobs=2, out=open(os.devnull, "w"))
    return root, failures


@pytest.mark.slow
def test_third_assignment_earns_exactly_its_points(graded):
    """Each submission earns, exercise by exercise, what its code is worth."""
    root, failures = graded
    assert failures == {}
    assert course.scores(root, ASSIGNMENT) == {
        "perfect": {"dense_forward": 3, "dense_backward": 3},
        "mean_for_sum": {"dense_forward": 3, "dense_backward": 1},
        "untouched": {"dense_forward": 0, "dense_backward": 0},
    }


@pytest.mark.slow
def test_third_assignment_feedback_names_the_wrong_gradient(graded):
    """The default checks say which output is wrong, on which case."""
    root, _ = graded
    nb = nbformat.read(root / "autograded" / "mean_for_sum" / ASSIGNMENT /
                       f"{ASSIGNMENT}.ipynb", 4)
    text = "\n".join(o.get("evalue", "") for c in nb.cells for o in c.get("outputs", []))
    assert "output['db'] is wrong" in text


def test_declaration_lists_what_the_notebook_grades():
    """The notebook's graded test cells are exactly the declaration's exercises x parts."""
    ids = [c.metadata["nbgrader"]["grade_id"] for c in notebook(KERNEL).cells
           if c.metadata["nbgrader"]["grade"]]
    assert ids == [f"test_{n}_{p}" for n in DENSE.exercises for p in ("structure", "values")]
