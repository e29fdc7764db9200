"""Grades as an LMS imports them (lms.py): what a spreadsheet must not run, the roster."""

import pytest

from rnn_solutions.engine import lms, submissions


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)",
                                   "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value):
    """A name or id that begins like a formula gets a leading apostrophe."""
    assert lms.text(value) == "'" + value


@pytest.mark.parametrize("value", ["Doe, Jane", "jdoe", "12345", "a=b", ""])
def test_other_cells_are_written_as_they_are(value):
    """Everything else is left alone."""
    assert lms.text(value) == value


def test_a_roster_without_student_ids_is_refused_saying_why(tmp_path):
    """The roster maps nbgrader's ids: without a student_id column it names the columns it
    has."""
    path = tmp_path / "roster.csv"
    path.write_text("login,name\njdoe,Jane\n")
    with pytest.raises(submissions.CourseError, match="needs a student_id column.*login, name"):
        lms.read_roster(path)


def test_a_roster_is_read_with_its_byte_order_mark(tmp_path):
    """A roster saved by a spreadsheet (UTF-8 with a byte-order mark) is read, missing
    fields empty."""
    path = tmp_path / "roster.csv"
    path.write_bytes("\ufeffstudent_id,canvas_id,name\njdoe,17,\"Doe, Jane\"\n".encode())
    assert lms.read_roster(path)["jdoe"] == {**dict.fromkeys(lms.ROSTER, ""),
                                             "canvas_id": "17", "name": "Doe, Jane"}
