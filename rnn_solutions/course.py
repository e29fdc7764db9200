"""The course's commands: make the release, grade the submissions, print the scores.

    python -m rnn_solutions.course release [COURSE]  -- students' files, release/, samples
    python -m rnn_solutions.course grade [COURSE]    -- autograde, feedback, CSV export, table

COURSE is the nbgrader course directory (default: the current directory). `grade`
first reads every submission itself: one that is not a readable notebook, or has lost
graded cells, is reported and left out, so nbgrader grades all the others and the
gradebook never holds a half-graded submission.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from rnn_solutions.samples import ASSIGNMENT, NOTEBOOK, write_samples
from rnn_solutions.student_files import write_student_files

EXERCISES = ("rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward")


def nbgrader(course, *args):
    """Run an nbgrader command in the course, from this Python environment; return its log."""
    bin_dir = os.path.dirname(sys.executable)  # nbgrader calls alembic from PATH
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                         capture_output=True, text=True)
    return run.returncode, run.stdout + run.stderr


def release(course):
    """Regenerate the students' files in source/, release/ with nbgrader, then the samples."""
    write_student_files(Path(course) / "source" / ASSIGNMENT)
    code, log = nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    if "there are submissions associated with it" in log:
        sys.exit("nbgrader refuses to change the cells of an assignment that the gradebook "
                 "holds submissions of. To start a new gradebook (its grades are lost), run "
                 "`make clean` first.")
    if code:
        sys.exit(f"nbgrader generate_assignment failed:\n{log}")
    print(f"release/{ASSIGNMENT} regenerated; samples: {', '.join(write_samples(course))}")


def graded_cells(course):
    """grade_ids of the answer and test cells every submission must keep."""
    nb = nbformat.read(Path(course) / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    meta = (cell.metadata.get("nbgrader", {}) for cell in nb.cells)
    return [m["grade_id"] for m in meta if m.get("solution") or m.get("grade")]


def check_submission(path, required):
    """None if the notebook at `path` can be graded, else what is wrong, in words."""
    if not path.exists():
        return f"no {NOTEBOOK} in the submission"
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return (f"{NOTEBOOK} is not valid JSON ({exc}); the file is damaged: "
                "ask the student to resubmit it")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for a JSON file that is no notebook
        return f"{NOTEBOOK} is JSON but not a notebook ({type(exc).__name__}: {exc})"
    present = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
    missing = [grade_id for grade_id in required if grade_id not in present]
    if missing:
        return (f"{len(missing)} graded cells are missing ({', '.join(missing)}); they were "
                "deleted or lost their metadata: ask the student to paste their answers "
                "into a fresh copy of the release notebook")
    return None


def submissions(course):
    """Student ids with a folder for the assignment under submitted/."""
    return sorted(p.parent.name for p in (Path(course) / "submitted").glob(f"*/{ASSIGNMENT}"))


def grade(course):
    """Autograde every readable submission, then feedback, CSV export and the score table."""
    course = Path(course)
    required = graded_cells(course)
    problems = {}
    for student in submissions(course):
        path = course / "submitted" / student / ASSIGNMENT / NOTEBOOK
        problem = check_submission(path, required)
        if problem:
            problems[student] = problem
    good = [s for s in submissions(course) if s not in problems]
    before = graded_students(course)
    if good:
        args = ["autograde", ASSIGNMENT, "--force"]
        if problems:
            args.append("--CourseDirectory.student_id_exclude=" + ",".join(problems))
        _, log = nbgrader(course, *args)
        (course / "autograded" / "autograde.log").write_text(log)
        for student in good:
            if failed(log, student):
                problems[student] = ("nbgrader could not grade it: see "
                                     "autograded/autograde.log")
                forget_new_submission(course, student, before)
        nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
        nbgrader(course, "export", "--to", str(course / "grades.csv"))
    print(score_table(course, problems))
    return problems


def failed(log, student):
    """Whether nbgrader's log reports an error on this student's submission."""
    marker = f"error processing assignment: {os.sep}"
    return any(marker in line and f"{os.sep}{student}{os.sep}{ASSIGNMENT}" in line
               for line in log.splitlines())


def graded_students(course):
    """Students that have a submission of the assignment in the gradebook."""
    with Gradebook(_db_url(course)) as gb:
        return {s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions}


def forget_new_submission(course, student, before):
    """Remove the record a failed autograde left for a student not graded before it."""
    if student in before:
        return
    with Gradebook(_db_url(course)) as gb:
        try:
            gb.remove_submission(ASSIGNMENT, student)
        except MissingEntry:
            pass


def _db_url(course):
    """The gradebook nbgrader_config.py names (default: gradebook.db in the course)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(Path(course).resolve())
    return coursedir.db_url


def scores(course):
    """{student: {exercise: points}} read from the gradebook's per-cell grades."""
    table = {}
    with Gradebook(_db_url(course)) as gb:
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, submission.student.id)
            row = dict.fromkeys(EXERCISES, 0.0)
            for grade in nb.grades:
                row[exercise_of(grade.name)] += grade.score
            table[submission.student.id] = row
    return table


def max_scores(course):
    """{exercise: points available} from the gradebook's grade cells."""
    with Gradebook(_db_url(course)) as gb:
        cells = gb.find_notebook(ASSIGNMENT, ASSIGNMENT).grade_cells
        out = dict.fromkeys(EXERCISES, 0.0)
        for cell in cells:
            out[exercise_of(cell.name)] += cell.max_score
        return out


def exercise_of(grade_id):
    """The exercise a test cell grades: test_rnn_forward_values -> rnn_forward."""
    return grade_id.removeprefix("test_").rsplit("_", 1)[0]


def score_table(course, problems):
    """The student x exercise table, then what could not be graded and why."""
    rows, top = scores(course), max_scores(course)
    head = ["student", *EXERCISES, "total"]
    lines = [head, ["(max)", *(f"{top[e]:g}" for e in EXERCISES), f"{sum(top.values()):g}"]]
    for student, row in sorted(rows.items()):
        if student not in problems:
            lines.append([student, *(f"{row[e]:g}" for e in EXERCISES),
                          f"{sum(row.values()):g}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                     for line in lines)
    for student, problem in sorted(problems.items()):
        text += f"\nNOT GRADED {student}: {problem}"
    return text


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["release", "grade"])
    parser.add_argument("course", nargs="?", default=".", help="course directory")
    args = parser.parse_args(argv)
    if args.command == "release":
        release(args.course)
    else:
        grade(args.course)


if __name__ == "__main__":
    main()
