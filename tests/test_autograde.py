"""End to end: nbgrader autogrades the sample submissions; scores read from the gradebook."""

import re
import shutil

import nbformat
import pytest
from conftest import POINTS, copy_course
from nbgrader.api import Gradebook

from rnn_solutions.engine import course
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT, NOTEBOOK

FULL = dict(POINTS)  # grade_id -> points, from the master notebook
ZERO = dict.fromkeys(POINTS, 0)
# the seed student: forward right; backward of the right shapes but wrong values
SEED = {**FULL, "test_rnn_cell_backward_values": 0, "test_rnn_backward_values": 0}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A copy of the course, with the master notebook submitted too, graded by `course.grade`."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    master_dir = root / "submitted" / "master" / ASSIGNMENT
    master_dir.mkdir(parents=True)
    shutil.copy(root / "source" / ASSIGNMENT / NOTEBOOK, master_dir / NOTEBOOK)
    code, log = course.nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    assert code == 0, log
    problems = course.grade(root)[ASSIGNMENT]
    return root, problems


def cell_scores(root, student):
    """{grade_id: score} of a student's submission, from the gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {grade.name: grade.score for grade in nb.grades}


@pytest.mark.slow
@pytest.mark.parametrize("student, expected", [
    ("master", FULL), ("perfect", FULL), ("untouched", ZERO), ("seed_student", SEED)])
def test_every_cell_scores_as_expected(graded, student, expected):
    """Each sample submission earns exactly its expected points in every graded cell."""
    root, _ = graded
    assert cell_scores(root, student) == expected


@pytest.mark.slow
@pytest.mark.parametrize("student, words", [
    ("broken_json", "not valid JSON"), ("lost_cells", "graded cells are missing")])
def test_broken_submission_is_reported_and_kept_out_of_the_gradebook(graded, student, words):
    """A damaged notebook gets a clear message and no submission record in the gradebook."""
    root, problems = graded
    assert words in problems[student]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        graded_ids = {s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert student not in graded_ids
    assert graded_ids == {"master", "perfect", "untouched", "seed_student"}


@pytest.mark.slow
def test_feedback_and_csv_are_written_for_every_graded_student(graded):
    """generate_feedback writes an HTML page per graded student, export a CSV row each."""
    root, _ = graded
    for student in ("master", "perfect", "untouched", "seed_student"):
        assert (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    rows = (root / "grades.csv").read_text().splitlines()
    scores = {row.split(",")[3]: float(row.split(",")[7]) for row in rows[1:]}
    assert scores == {"master": 22, "perfect": 22, "untouched": 0, "seed_student": 14}


@pytest.mark.slow
def test_feedback_shows_every_image(graded):
    """The feedback page's images (diagrams and the plot) resolve beside it or are inline."""
    root, _ = graded
    folder = root / "feedback" / "perfect" / ASSIGNMENT
    html = (folder / f"{ASSIGNMENT}.html").read_text()
    sources = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(sources) >= 4
    for src in sources:
        assert src.startswith("data:image/") or (folder / src).is_file(), src


@pytest.mark.slow
def test_failing_autograde_leaves_no_half_record(graded):
    """A submission nbgrader itself fails on is reported and its new record removed."""
    root, _ = graded
    path = root / "submitted" / "untouched" / ASSIGNMENT / NOTEBOOK
    original = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # metadata of a schema from the future: nbgrader refuses it
        cell.metadata.get("nbgrader", {})["schema_version"] = 99
    nbformat.write(nb, path)
    try:
        problems = course.grade(root)[ASSIGNMENT]
    finally:
        path.write_bytes(original)
    assert "nbgrader could not grade it" in problems["untouched"]
    assert "untouched" not in course.scores(root, ASSIGNMENT)
    assert course.scores(root, ASSIGNMENT)["perfect"]["rnn_backward"] == 6


@pytest.mark.slow
@pytest.mark.parametrize("link, target", [
    (NOTEBOOK, f"../../../source/{ASSIGNMENT}/{NOTEBOOK}"),
    ("notes.py", "../../../rnn_solutions/rnn_step_by_step/rnn.py"),
    ("grades.db", "../../../gradebook.db"),
], ids=["the master notebook", "the reference", "the gradebook"])
def test_submission_with_a_link_is_refused(graded, link, target):
    """A link in a submission (nbgrader would follow it and grade or show its target as the
    student's) is refused by name, and the student is not graded."""
    root, _ = graded
    folder = root / "submitted" / "linker" / ASSIGNMENT
    shutil.copytree(root / "submitted" / "untouched" / ASSIGNMENT, folder)
    (folder / link).unlink(missing_ok=True)
    (folder / link).symlink_to(target)
    try:
        problems = course.grade(root)[ASSIGNMENT]
    finally:
        shutil.rmtree(folder.parent)
    assert f"the submission holds {link}, which is not a plain file" in problems["linker"]
    assert "linker" not in course.scores(root, ASSIGNMENT)
