"""Grades as an LMS imports them: `rnn-grade export canvas|moodle`.

Canvas's gradebook import (Grades > Import, a CSV file): the first columns name the student
(`Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`, which ends them), then one
column per assignment, `Title` or `Title (Canvas assignment id)`; a second row
`Points Possible` may give each column's maximum. Canvas matches a student by ID, then SIS
User ID, then SIS Login ID, then name, and an assignment column by its id, then its exact
title, else creates the assignment (instructure/canvas-lms, GradebookImporter).

Moodle's grade import (Grades > Import > CSV file): any header; at import the instructor
maps one column to a user field (username, ID number or email) and the others to grade
items (moodle/moodle, grade/import/csv).

Students are nbgrader's ids, unless a roster maps them: a CSV with a `student_id` column
(nbgrader's) and any of `canvas_id`, `sis_user_id`, `sis_login_id`, `name`, `section`,
`username`, `idnumber`, `email`, `moodle_id` (collect.py reads the roster too). Without
one, nbgrader's id is the SIS Login ID (Canvas) or the username (Moodle). A cell a
spreadsheet would run as a formula (it begins with =, +, -, @, a tab or a carriage return)
is written with a leading apostrophe.
"""

import csv
import io
from pathlib import Path

from rnn_solutions.engine import course, submissions

FORMULA = ("=", "+", "-", "@", "\t", "\r")
CANVAS_STUDENT = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
ROSTER = ("canvas_id", "sis_user_id", "sis_login_id", "name", "section", "username",
          "idnumber", "email", "moodle_id")


def text(value):
    """A text cell as no spreadsheet runs it."""
    value = str(value)
    return "'" + value if value.startswith(FORMULA) else value


def read_roster(path):
    """{nbgrader student id: {roster field: value}} from a roster CSV (module docstring)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if rows and "student_id" not in rows[0]:
        raise submissions.CourseError(f"{path}: the roster needs a student_id column "
                                      f"(nbgrader's ids); it has {', '.join(rows[0])}")
    return {row["student_id"]: {k: (row.get(k) or "") for k in ROSTER} for row in rows}


def columns(root, assignments, exercises):
    """[(title, assignment, exercise or None, points possible)] of the export."""
    out = []
    for assignment in assignments:
        top = course.max_scores(root, assignment)
        out.append((assignment, assignment, None, sum(top.values())))
        if exercises:
            out += [(f"{assignment}: {name}", assignment, name, points)
                    for name, points in top.items()]
    return out


def table(root, assignments):
    """{student: {assignment: {exercise: points}}} from the gradebook."""
    found = {}
    for assignment in assignments:
        for student, row in course.scores(root, assignment).items():
            found.setdefault(student, {})[assignment] = row
    return found


def _points(grades, assignment, exercise):
    """A student's points in a column; '' where they handed nothing in."""
    row = grades.get(assignment)
    if row is None:
        return ""
    return f"{(sum(row.values()) if exercise is None else row[exercise]):g}"


def export(root, lms, roster=None, exercises=False, assignments=None):
    """The CSV text of the course's grades for `lms` ("canvas" or "moodle")."""
    root = Path(root)
    assignments = assignments or graded_assignments(root)
    people = read_roster(roster) if roster else {}
    grades, cols = table(root, assignments), columns(root, assignments, exercises)
    names = _names(root)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if lms == "canvas":
        writer.writerow([*CANVAS_STUDENT, *(text(title) for title, *_ in cols)])
        writer.writerow(["Points Possible", "", "", "", "",
                         *(f"{points:g}" for *_, points in cols)])
    else:
        writer.writerow(["Username", "ID number", "Email address", "Full name",
                         *(text(title) for title, *_ in cols)])
    for student in sorted(grades):
        who = people.get(student, {})
        name = who.get("name") or names.get(student, student)
        if lms == "canvas":
            ident = [name, who.get("canvas_id", ""), who.get("sis_user_id", ""),
                     who.get("sis_login_id") or (student if not who else ""),
                     who.get("section", "")]
        else:
            ident = [who.get("username") or student, who.get("idnumber", ""),
                     who.get("email", ""), name]
        writer.writerow([*(text(v) for v in ident),
                         *(_points(grades[student], a, e) for _, a, e, _ in cols)])
    return out.getvalue()


def graded_assignments(root):
    """The course's assignments that the gradebook holds, in the course's order."""
    from nbgrader.api import Gradebook

    with Gradebook(submissions.gradebook_url(root)) as gb:
        held = {a.name for a in gb.assignments}
    return [a for a in submissions.declared(root) if a in held]


def _names(root):
    """{student id: "Last, First"} where the gradebook has a name."""
    from nbgrader.api import Gradebook

    with Gradebook(submissions.gradebook_url(root)) as gb:
        return {s.id: ", ".join(filter(None, [s.last_name, s.first_name]))
                for s in gb.students if s.last_name or s.first_name}
