"""End to end: nbgrader autogrades the sample submissions; scores read from the gradebook."""

import csv
import io
import re
import shutil

import pytest
from conftest import ASSIGNMENTS, POINTS, ROOT, copy_course, points
from nbgrader.api import Gradebook

from rnn_solutions.engine import classgrader, cli, course, handins, submissions
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT, NOTEBOOK

FULL = dict(POINTS)  # grade_id -> points, from the master notebook
ZERO = dict.fromkeys(POINTS, 0)
# the seed student: forward right; backward of the right shapes but wrong values
SEED = {**FULL, "test_rnn_cell_backward_values": 0, "test_rnn_backward_values": 0}
LSTM = "lstm_step_by_step"
LSTM_FULL = points(LSTM)
# every LSTM answer right but lstm_backward, which carries nothing through time
NO_CARRY = {**LSTM_FULL, "test_lstm_backward_values": 0}
EXPECTED = {
    (ASSIGNMENT, "master"): FULL, (ASSIGNMENT, "perfect"): FULL,
    (ASSIGNMENT, "untouched"): ZERO, (ASSIGNMENT, "seed_student"): SEED,
    (LSTM, "master"): LSTM_FULL, (LSTM, "perfect"): LSTM_FULL,
    (LSTM, "untouched"): dict.fromkeys(LSTM_FULL, 0), (LSTM, "no_carry"): NO_CARRY,
    # the perfect answers handed in other ways (handins.py): renamed, stripped, ... all full
    **{(a, name): points(a) for a in ASSIGNMENTS for name in handins.NAMES},
}
# how the class grader recovered each damaged hand-in (the summary's RECOVERED lines)
RECOVERED = {
    "renamed": "graded '{a} (1).ipynb' as {a}.ipynb (renamed)",
    "stripped": "none of its 12 graded cells has its nbgrader metadata (copied into a new "
                "notebook, or deleted); rebuilt from the release notebook; 4 answer cells "
                "matched by function name",
    "deleted_test_cell": "1 graded cell missing (test_{first}_structure); rebuilt from the "
                         "release notebook; 4 answer cells matched by grade id",
    "byte_order_mark": "a byte-order mark before its JSON read past",
    "saved_as_txt": "graded '{a}.ipynb.txt' as {a}.ipynb (renamed)",
    "copy_beside_release": "graded '{a}-Copy1.ipynb' as {a}.ipynb, of the 2 notebooks handed "
                           "in ({a}-Copy1.ipynb, {a}.ipynb): the only one holding answers; "
                           "{a}.ipynb is the release notebook as handed out",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A copy of the course, with each master notebook submitted too, graded by
    `course.grade`: {assignment: {student: why not graded}}."""
    root = copy_course(tmp_path_factory.mktemp("course"), handins=True)
    for assignment in ASSIGNMENTS:
        notebook = submissions.notebook_name(assignment)
        master_dir = root / "submitted" / "master" / assignment
        master_dir.mkdir(parents=True)
        shutil.copy(root / "source" / assignment / notebook, master_dir / notebook)
        code, log = course.nbgrader(root, "generate_assignment", assignment, "--force")
        assert code == 0, log
    return root, course.grade(root)


def cell_scores(root, student, assignment=ASSIGNMENT):
    """{grade_id: score} of a student's submission, from the gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(assignment, assignment, student)
        return {grade.name: grade.score for grade in nb.grades}


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "student"), EXPECTED,
                         ids=[f"{a}/{s}" for a, s in EXPECTED])
def test_every_cell_scores_as_expected(graded, assignment, student):
    """Each sample submission earns exactly its expected points in every graded cell."""
    root, _ = graded
    assert cell_scores(root, student, assignment) == EXPECTED[assignment, student]


@pytest.mark.slow
@pytest.mark.parametrize("student, words", [
    ("broken_json", "not valid JSON"), ("lost_cells", "nothing to recover")])
def test_broken_submission_is_reported_and_kept_out_of_the_gradebook(graded, student, words):
    """A damaged notebook gets a clear message and no submission record in the gradebook."""
    root, problems = graded
    assert words in problems[ASSIGNMENT][student]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        graded_ids = {s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert student not in graded_ids
    assert graded_ids == {"master", "perfect", "untouched", "seed_student", *handins.NAMES}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_summary_says_what_was_recovered_and_how(graded, assignment):
    """The instructor's summary has a RECOVERED line for each damaged hand-in, naming the
    damage and how the answers were found, and none for the others."""
    root, _ = graded
    first = course.exercises(root, assignment)[0]
    lines = [line for line in classgrader.warnings_of(root, assignment).splitlines()
             if line.startswith("RECOVERED")]
    assert lines == [f"RECOVERED {student}: " + how.format(a=assignment, first=first)
                     for student, how in sorted(RECOVERED.items())]


@pytest.mark.slow
def test_recovered_answers_say_so_in_the_gradebook_and_feedback(graded):
    """Each recovered answer cell's gradebook comment says how it was found; the student's
    feedback page shows it."""
    root, _ = graded
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        comment = gb.find_comment("rnn_cell_forward", ASSIGNMENT, ASSIGNMENT, "stripped")
        untouched = gb.find_comment("rnn_cell_forward", ASSIGNMENT, ASSIGNMENT, "perfect")
        assert comment.auto_comment.startswith("Recovered by the grader: none of its 12")
        assert comment.auto_comment.endswith(
            "This answer is the code of your cell that defines rnn_cell_forward.")
        assert untouched.auto_comment is None
    html = (root / "feedback" / "stripped" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "that defines rnn_cell_forward" in html


@pytest.mark.slow
@pytest.mark.parametrize("student", ["renamed", "stripped", "deleted_test_cell"])
def test_recovered_submission_is_left_untouched(graded, student):
    """Recovery never changes the student's files: the folder is as handed in."""
    root, _ = graded
    ours, theirs = root / "submitted" / student, ROOT / "submitted" / student
    assert sorted(p.relative_to(ours) for p in ours.rglob("*")) == \
        sorted(p.relative_to(theirs) for p in theirs.rglob("*"))
    for path in theirs.rglob("*.ipynb"):
        assert (ours / path.relative_to(theirs)).read_bytes() == path.read_bytes()


@pytest.mark.slow
def test_feedback_and_csv_are_written_for_every_graded_student(graded):
    """generate_feedback writes an HTML page per graded student, export a CSV row each."""
    root, _ = graded
    for assignment, student in EXPECTED:
        assert (root / "feedback" / student / assignment / f"{assignment}.html").is_file()
    rows = [row.split(",") for row in (root / "grades.csv").read_text().splitlines()[1:]]
    scores = {(row[0], row[3]): float(row[7]) for row in rows}
    absent = {(LSTM, "seed_student"): 0, (ASSIGNMENT, "no_carry"): 0}  # no submission
    assert scores == {**{key: sum(cells.values()) for key, cells in EXPECTED.items()}, **absent}


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "images"), [(ASSIGNMENT, 4), ("lstm_step_by_step", 2)])
def test_feedback_shows_every_image(graded, assignment, images):
    """The feedback page's images (diagrams and the plot) resolve beside it or are inline."""
    root, _ = graded
    folder = root / "feedback" / "perfect" / assignment
    html = (folder / f"{assignment}.html").read_text()
    sources = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(sources) >= images
    for src in sources:
        assert src.startswith("data:image/") or (folder / src).is_file(), src


@pytest.mark.slow
def test_failing_autograde_leaves_no_half_record(graded):
    """A submission nbgrader itself fails on is reported and its new record removed."""
    root, _ = graded
    path = root / "submitted" / "untouched" / ASSIGNMENT / NOTEBOOK
    stamp = path.with_name("timestamp.txt")  # a time nbgrader cannot read: it fails
    stamp.write_text("not a time")
    try:
        problems = classgrader.autograde(root, ASSIGNMENT, out=io.StringIO())
    finally:
        stamp.unlink()
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
    try:  # refused before grading: the class grader's check, which course grade runs
        problems = classgrader.autograde(root, ASSIGNMENT, out=io.StringIO())
    finally:
        shutil.rmtree(folder.parent)
    assert f"the submission holds {link}, which is not a plain file" in problems["linker"]
    assert "linker" not in course.scores(root, ASSIGNMENT)


@pytest.mark.slow
def test_plain_nbgrader_autograde_grades_the_lstm_alike(graded):
    """`nbgrader autograde lstm_step_by_step`, unchanged, gives a student the cell scores
    the class grader gave."""
    root, _ = graded
    code, log = course.nbgrader(root, "autograde", LSTM, "--force", "--student", "no_carry")
    assert code == 0, log
    assert cell_scores(root, "no_carry", LSTM) == NO_CARRY


@pytest.mark.slow
def test_lms_exports_read_back_with_their_documented_columns(graded, tmp_path):
    """`rnn-grade export canvas` writes Canvas's student columns, a Points Possible row and
    a column per assignment and exercise; `export moodle` a username and a column per
    assignment; each holds the gradebook's totals, students mapped by the roster, a name
    that looks like a formula written as text."""
    root, _ = graded
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,canvas_id,sis_login_id,name,username\n"
                      "perfect,101,jp,\"=cmd|' /C calc'!A0\",jperfect\n")
    for lms in ("canvas", "moodle"):
        cli.main(["export", lms, "--course", str(root), "--roster", str(roster),
                  "--exercises", "--to", str(tmp_path / f"{lms}.csv")])
    totals = {a: {s: sum(r.values()) for s, r in course.scores(root, a).items()}
              for a in ASSIGNMENTS}
    with open(tmp_path / "canvas.csv", newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    assert head[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[1][0] == "Points Possible"
    for assignment in ASSIGNMENTS:
        col = head.index(assignment)
        assert float(rows[1][col]) == sum(course.max_scores(root, assignment).values())
        assert f"{assignment}: {course.exercises(root, assignment)[0]}" in head
        got = {row[1] or row[3]: row[col] for row in rows[2:]}
        want = {("101" if s == "perfect" else s): f"{t:g}" for s, t in totals[assignment].items()}
        assert {k: v for k, v in got.items() if v} == want  # blank: nothing handed in
        assert {k for k, v in got.items() if not v} == set(got) - set(want)
    perfect = next(row for row in rows[2:] if row[1] == "101")
    assert perfect[:4] == ["'=cmd|' /C calc'!A0", "101", "", "jp"]
    with open(tmp_path / "moodle.csv", newline="") as f:
        moodle = {row["Username"]: row for row in csv.DictReader(f)}
    assert moodle["jperfect"][ASSIGNMENT] == f"{totals[ASSIGNMENT]['perfect']:g}"
    assert set(moodle) == {("jperfect" if s == "perfect" else s)
                           for table in totals.values() for s in table}


@pytest.mark.slow
def test_feedback_failing_for_one_student_costs_only_their_feedback(graded, capsys):
    """An autograded notebook nbconvert cannot render (cut in half on disk) costs that
    student's feedback only: the course command names them, and still writes the export
    and prints the tables. (Last in this file: it rewrites the feedback.)"""
    root, _ = graded
    path = root / "autograded" / "extra_metadata" / ASSIGNMENT / NOTEBOOK
    original = path.read_text()
    path.write_text(original[: len(original) // 2])
    (root / "grades.csv").unlink()
    try:
        course.grade(root)
    finally:
        path.write_text(original)
    out = capsys.readouterr().out
    assert "NO FEEDBACK extra_metadata: nbgrader could not render" in out
    assert (root / "feedback" / "perfect" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    assert (root / "grades.csv").is_file() and "\nperfect " in out
