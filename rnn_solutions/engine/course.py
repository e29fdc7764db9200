"""The course's commands: make the release, grade the submissions, print the scores.

    python -m rnn_solutions.engine.course release [COURSE]  -- students' files, release/, samples
    python -m rnn_solutions.engine.course grade [COURSE]    -- autograde, feedback, export, table

COURSE is the nbgrader course directory (default: the current directory). Both commands
work on every assignment that source/ holds and nbgrader_config.py declares. `grade`
autogrades with the class grader (classgrader.py): every submission is read first, one
that is not a readable notebook or has lost graded cells is reported and left out, the
others are graded in parallel, and a run killed anywhere is finished by running `grade`
again. Then nbgrader's feedback and CSV export, and the score table.
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook

from rnn_solutions.engine import handins, judge, submissions


def nbgrader(course, *args):
    """Run an nbgrader command in the course, from this Python environment; return its log."""
    submissions.tools_on_path()  # nbgrader calls alembic from PATH
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                         capture_output=True, text=True)
    return run.returncode, run.stdout + run.stderr


def release(course):
    """For every assignment: the students' files and the instructor's `_judge.py` in source/,
    release/ with nbgrader, then the sample submissions."""
    specs = submissions.declarations(course)
    for assignment, declaration in submissions.declared(course).items():
        folder = Path(course) / "source" / assignment
        declaration.write_student_files(folder)
        (folder / "_judge.py").write_text(judge.local_module(specs[assignment]))
        code, log = nbgrader(course, "generate_assignment", assignment, "--force")
        if "there are submissions associated with it" in log:
            sys.exit("nbgrader refuses to change the cells of an assignment that the "
                     "gradebook holds submissions of. To start a new gradebook (its grades "
                     "are lost), run `make clean` first.")
        if code:
            sys.exit(f"nbgrader generate_assignment failed:\n{log}")
        samples = declaration.write_samples(course) + handins.write_samples(course, assignment)
        print(f"release/{assignment} regenerated; samples: {', '.join(samples) or 'none'}")


def grade(course, jobs=None):
    """For every assignment with submissions: autograde every readable one, feedback, and
    the score table; then the CSV export and, for several assignments, the course table
    (student x assignment). {assignment: {student: why not graded}}.

    Autograde is the class grader's (resumable: a run killed anywhere is finished by
    running this again); feedback and export are nbgrader's commands.
    """
    from rnn_solutions.engine import classgrader

    root = Path(course).resolve()
    jobs = jobs or classgrader.default_jobs()
    found = {a: submissions.students(root, a) for a in submissions.declared(root)}
    if not any(found.values()):
        raise submissions.CourseError(
            f"no submissions of {', '.join(found) or 'any assignment'}: put each student's "
            "notebook in submitted/STUDENT/ASSIGNMENT/")
    problems, no_feedback = {}, {}
    for assignment in (a for a, students in found.items() if students):
        problems[assignment] = classgrader.autograde(root, assignment, jobs=jobs,
                                                     out=sys.stderr, summary=False)
        if any((root / "autograded").glob(f"*/{assignment}")):  # nbgrader fails on none
            no_feedback[assignment] = feedback(root, assignment)
    _nbgrader_or_exit(root, "export", "--to", str(root / "grades.csv"))
    for assignment, failed in problems.items():
        print(score_table(root, failed, assignment))
        print(classgrader.warnings_of(root, assignment), end="")
        for student in no_feedback.get(assignment, []):
            print(f"NO FEEDBACK {student}: nbgrader could not render their autograded "
                  f"notebook (their grades are saved); see `nbgrader generate_feedback "
                  f"{assignment} --student {student}`")
    if len(problems) > 1:
        print(course_table(root, list(problems)))
    return problems


def feedback(root, assignment):
    """nbgrader's generate_feedback for every graded student of the assignment; the students
    it failed on (it writes the others' and names those), or exit if it failed otherwise."""
    code, log = nbgrader(root, "generate_feedback", assignment, "--force")
    failed = re.findall(rf"error processing assignment '{re.escape(assignment)}' for student "
                        r"'([^']+)'", log)
    if code and not failed:
        sys.exit(f"nbgrader generate_feedback failed:\n{log}")
    return sorted(set(failed))


def _nbgrader_or_exit(root, *args):
    """Run an nbgrader command; exit with its log if it fails."""
    code, log = nbgrader(root, *args)
    if code:
        sys.exit(f"nbgrader {args[0]} failed:\n{log}")


def exercises(course, assignment):
    """The exercises of an assignment, in the notebook's order, read from its graded test
    cells' grade ids (test_rnn_forward_values -> rnn_forward)."""
    names = [exercise_of(g) for g in submissions.graded_cells(course, assignment)
             if g.startswith("test_")]
    return list(dict.fromkeys(names))


def scores(course, assignment):
    """{student: {exercise: points}} read from the gradebook's per-cell grades."""
    table, names = {}, exercises(course, assignment)
    with Gradebook(submissions.gradebook_url(course)) as gb:
        for submission in gb.find_assignment(assignment).submissions:
            row = dict.fromkeys(names, 0.0)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    row[exercise_of(grade.name)] += grade.score
            table[submission.student.id] = row
    return table


def max_scores(course, assignment):
    """{exercise: points available} from the gradebook's grade cells."""
    out = dict.fromkeys(exercises(course, assignment), 0.0)
    with Gradebook(submissions.gradebook_url(course)) as gb:
        for notebook in gb.find_assignment(assignment).notebooks:
            for cell in notebook.grade_cells:
                out[exercise_of(cell.name)] += cell.max_score
    return out


def exercise_of(grade_id):
    """The exercise a test cell grades: test_rnn_forward_values -> rnn_forward."""
    return grade_id.removeprefix("test_").rsplit("_", 1)[0]


def score_table(course, problems, assignment):
    """The student x exercise table of an assignment, then what could not be graded and
    why."""
    rows, top = scores(course, assignment), max_scores(course, assignment)
    names = list(top)
    head = ["student", *names, "total"]
    lines = [head, ["(max)", *(f"{top[e]:g}" for e in names), f"{sum(top.values()):g}"]]
    for student, row in sorted(rows.items()):
        if student not in problems:
            lines.append([student, *(f"{row[e]:g}" for e in names),
                          f"{sum(row.values()):g}"])
    text = _columns(lines)
    for student, problem in sorted(problems.items()):
        text += f"\nNOT GRADED {student}: {problem}"
    return f"{assignment}\n{text}"


def course_table(course, assignments):
    """The student x assignment table of totals, and each student's course total; a
    student who did not hand an assignment in (or was not graded on it) has '-' there."""
    totals = {a: {s: sum(row.values()) for s, row in scores(course, a).items()}
              for a in assignments}
    top = {a: sum(max_scores(course, a).values()) for a in assignments}
    lines = [["student", *assignments, "total"],
             ["(max)", *(f"{top[a]:g}" for a in assignments), f"{sum(top.values()):g}"]]
    for student in sorted({s for table in totals.values() for s in table}):
        got = [totals[a].get(student) for a in assignments]
        lines.append([student, *("-" if g is None else f"{g:g}" for g in got),
                      f"{sum(g or 0 for g in got):g}"])
    return f"course\n{_columns(lines)}"


def _columns(lines):
    """Rows of cells as left-aligned columns."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                     for line in lines)


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["release", "grade"])
    parser.add_argument("course", nargs="?", default=".", help="course directory")
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            release(args.course)
        else:
            grade(args.course)
    except submissions.CourseError as error:
        sys.exit(f"course: {error}")
    except KeyboardInterrupt:
        sys.exit("course: interrupted; run the same command again to finish")


if __name__ == "__main__":
    main()
