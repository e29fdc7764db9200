"""One engine for every assignment: two test-only assignments declared by a spec alone, a
dense layer (tests/dense_layer.py) and a GRU step by step (tests/gru/), go through
`make release`'s student files, nbgrader generate_assignment and the class grader, self-checks
and hints included, with no engine change."""

import inspect
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import KERNEL, ROOT
from dense_layer import DENSE
from gru import gru
from gru.spec import GRU

from rnn_solutions.engine import classgrader, course
from rnn_solutions.rnn_step_by_step import rnn

TESTS = Path(__file__).resolve().parent
GRU_FORWARD = inspect.getsource(gru.gru_forward)
GRU_BACKWARD = inspect.getsource(gru.gru_backward)
# assignment: (its declaration as nbgrader_config.py names it, the declaration, what the
# notebook's first cell defines, {student: ({exercise: wrong code}, {exercise: points},
# a hint line their feedback must hold)})
ASSIGNMENTS = {
    "dense_layer": ("dense_layer:DENSE", DENSE, "", {
        "mean_for_sum": ({"dense_backward": inspect.getsource(DENSE.reference.dense_backward)
                          .replace("dy.sum(axis=1", "dy.mean(axis=1")},
                         {"dense_forward": 3, "dense_backward": 1},
                         "gradients['db'] is the right value divided by"),
    }),
    "gru_step_by_step": ("gru.spec:GRU", GRU, inspect.getsource(rnn.softmax) + "\n\n" +
                         inspect.getsource(gru.sigmoid) + f"\nGATES = {gru.GATES!r}\n", {
        "no_carry": ({"gru_forward": GRU_FORWARD.replace(
            "gru_cell_forward(x[:, :, t], h_next, parameters)",
            "gru_cell_forward(x[:, :, t], h0, parameters)")},
            {"gru_cell_forward": 3, "gru_forward": 1, "gru_cell_backward": 3,
             "gru_backward": 3},
            "step 1 should be fed step 0's h_next as its h_prev (it was given h0)"),
        "no_carry_back": ({"gru_backward": GRU_BACKWARD.replace(
            "dh[:, :, t] + dh_prevt", "dh[:, :, t]")},
            {"gru_cell_forward": 3, "gru_forward": 3, "gru_cell_backward": 3,
             "gru_backward": 1},
            "plus the dh_prev of step t+1 as its dh_next (it was given dh[:, :, t] alone)"),
    }),
}
POINTS = {"structure": 1, "values": 2}


def meta(grade_id, **flags):
    """A cell's nbgrader metadata."""
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "locked": False,
                         "grade": False, "solution": False, **flags}}


def notebook(declaration, preamble):
    """The master notebook: imports, then per exercise its reference as the answer and
    two graded test cells, a visible self-check over the hidden checks."""
    cells = [nbformat.v4.new_code_cell(
        f"import numpy as np\nfrom rnncheck import self_check\n{preamble}",
        metadata=meta("imports", locked=True))]
    for name in declaration.exercises:
        answer = inspect.getsource(getattr(declaration.reference, name))
        cells.append(nbformat.v4.new_code_cell(
            f"### BEGIN SOLUTION\n{answer}### END SOLUTION\n", metadata=meta(name,
                                                                             solution=True)))
        for part, points in POINTS.items():
            grade_id = f"test_{name}_{part}"
            source = (f'"""{name}: the {part} checks."""\n'
                      f"self_check({name!r}, {name}, part={part!r})\n"
                      "### BEGIN HIDDEN TESTS\n"
                      f"import _judge\n_judge.check({grade_id!r}, {name})\n"
                      "### END HIDDEN TESTS\n")
            cells.append(nbformat.v4.new_code_cell(source, metadata=meta(
                grade_id, grade=True, locked=True, points=points)))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    return nb


def answers(nb, cells):
    """A copy of the release notebook with some answer cells replaced."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in cells:
            cell.source = cells[grade_id]
    return nb


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """A course of one test-only assignment, released and graded by the class grader."""
    assignment = request.param
    named, declaration, preamble, wrong = ASSIGNMENTS[assignment]
    root = tmp_path_factory.mktemp(assignment)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nimport sys\nsys.path.insert(0, {str(TESTS)!r})\n"
                     f'c.CourseDirectory.course_id = "{assignment}"\n'
                     f'c.JudgedExecute.declarations = {{"{assignment}": "{named}"}}\n')
    source = root / "source" / assignment
    source.mkdir(parents=True)
    nb = notebook(declaration, preamble)
    nbformat.write(nb, source / f"{assignment}.ipynb")
    declaration.write_student_files(source)
    code, log = course.nbgrader(root, "generate_assignment", assignment, "--force")
    assert code == 0, log
    release = nbformat.read(root / "release" / assignment / f"{assignment}.ipynb", 4)
    right = {name: inspect.getsource(getattr(declaration.reference, name))
             for name in declaration.exercises}
    students = {"perfect": right, "untouched": {}} | {
        student: {**right, **cells} for student, (cells, _, _) in wrong.items()}
    for student, cells in students.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(answers(release, cells), folder / f"{assignment}.ipynb")
    failures = classgrader.autograde(root, assignment, jobs=2, out=open(os.devnull, "w"))
    return assignment, root, failures


@pytest.mark.slow
def test_assignment_earns_exactly_its_points(graded):
    """Each submission earns, exercise by exercise, what its code is worth."""
    assignment, root, failures = graded
    _, declaration, _, wrong = ASSIGNMENTS[assignment]
    full = {name: sum(POINTS.values()) for name in declaration.exercises}
    assert failures == {}
    assert course.scores(root, assignment) == {
        "perfect": full, "untouched": dict.fromkeys(full, 0),
        **{student: points for student, (_, points, _) in wrong.items()}}


@pytest.mark.slow
def test_wrong_answers_get_their_hint_in_the_feedback(graded):
    """Each wrong submission's autograded notebook holds the hint line that names its
    cause, from the engine's diagnoses (neither assignment lists known mistakes)."""
    assignment, root, _ = graded
    for student, (_, _, hint) in ASSIGNMENTS[assignment][3].items():
        nb = nbformat.read(root / "autograded" / student / assignment /
                           f"{assignment}.ipynb", 4)
        text = "\n".join(o.get("evalue", "") for c in nb.cells for o in c.get("outputs", []))
        assert f"hint: {hint}" in text or hint in text, text


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_declaration_lists_what_the_notebook_grades(assignment):
    """The notebook's graded test cells are exactly the declaration's exercises x parts."""
    _, declaration, preamble, _ = ASSIGNMENTS[assignment]
    ids = [c.metadata["nbgrader"]["grade_id"] for c in notebook(declaration, preamble).cells
           if c.metadata["nbgrader"]["grade"]]
    assert ids == [f"test_{n}_{p}" for n in declaration.exercises for p in POINTS]
