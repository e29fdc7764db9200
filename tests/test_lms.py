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


ROSTER = ("student_id,canvas_id,moodle_id,name\n"
          "jdoe,1234,55,Jane Doe\n"
          "bsmith,2222,,Bob Smith\n")


def _zip(path, members):
    """A zip of {name: bytes}; a name ending in '@link' is stored as a symbolic link."""
    import stat
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name.removesuffix("@link"))
            if name.endswith("@link"):
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, data)
    return path


def _collect(tmp_path, lms_name, members):
    from rnn_solutions.engine import collect

    (tmp_path / "roster.csv").write_text(ROSTER)
    archive = _zip(tmp_path / "download.zip", members)
    lines = collect.collect(tmp_path, lms_name, "ps1", archive, tmp_path / "roster.csv")
    folders = sorted(str(p.relative_to(tmp_path / "submitted"))
                     for p in (tmp_path / "submitted").rglob("*") if p.is_file())
    return lines, folders


def test_a_canvas_download_goes_to_each_students_folder(tmp_path):
    """Canvas's names are read for the user id (mapped by the roster), the late mark and
    the file's own name; what is nobody's, unsafe or not a hand-in is named, not written."""
    lines, files = _collect(tmp_path, "canvas", {
        "doejane_1234_5678_ps1.ipynb": b"{}",
        "smithbob_late_2222_9999_ps1-1.ipynb": b"{}",
        "smithbob_late_2222_9999_notes.txt": b"n",
        "ghost_7777_1_ps1.ipynb": b"{}",
        "../../evil_1234_1_x.ipynb": b"{}",
        "doejane_1234_5679_..": b"{}",
        "doejane_1234_5679_link.ipynb@link": b"/etc/passwd",
        "__MACOSX/._doejane_1234_5678_ps1.ipynb": b"",
        "README.txt": b"",
    })
    assert files == ["bsmith/ps1/notes.txt", "bsmith/ps1/ps1-1.ipynb", "jdoe/ps1/ps1.ipynb"]
    assert lines[0] == "collected 3 files of 2 students into submitted/STUDENT/ps1/"
    assert lines[-1] == "LATE (as Canvas marks them): bsmith"
    assert sorted(lines[1:-1]) == [
        "NOT COLLECTED ../../evil_1234_1_x.ipynb: its path leaves the folder",
        "NOT COLLECTED README.txt: not named as Canvas names a hand-in",
        "NOT COLLECTED doejane_1234_5679_..: its path leaves the folder",
        "NOT COLLECTED doejane_1234_5679_link.ipynb: it is a link",
        "NOT COLLECTED ghost_7777_1_ps1.ipynb: Canvas id 7777 (ghost) is not in the roster"]


def test_a_moodle_download_in_folders_or_flat_is_collected(tmp_path):
    """Moodle's participant folders and flat names are read; a participant is found by the
    roster's moodle_id, else by full name."""
    lines, files = _collect(tmp_path, "moodle", {
        "Jane Doe_55_assignsubmission_file/ps1.ipynb": b"{}",
        "Bob Smith_66_assignsubmission_file_ps1.ipynb": b"{}",
        "Nobody Known_77_assignsubmission_file/ps1.ipynb": b"{}",
    })
    assert files == ["bsmith/ps1/ps1.ipynb", "jdoe/ps1/ps1.ipynb"]
    assert lines == ["collected 2 files of 2 students into submitted/STUDENT/ps1/",
                     "NOT COLLECTED Nobody Known_77_assignsubmission_file/ps1.ipynb: Moodle "
                     "id 77 (Nobody Known) is not in the roster"]


def test_a_new_download_replaces_a_students_earlier_files(tmp_path):
    """Collecting again replaces what an earlier download left of a student (a resubmission
    under another name leaves no stale notebook beside it)."""
    _collect(tmp_path, "canvas", {"doejane_1234_1_draft.ipynb": b"{}"})
    _, files = _collect(tmp_path, "canvas", {"doejane_1234_2_ps1.ipynb": b"{}"})
    assert files == ["jdoe/ps1/ps1.ipynb"]


def test_a_file_that_is_no_zip_is_refused_saying_so(tmp_path):
    """A damaged download gets one line, not a traceback."""
    from rnn_solutions.engine import collect

    (tmp_path / "roster.csv").write_text(ROSTER)
    (tmp_path / "download.zip").write_bytes(b"not a zip")
    with pytest.raises(submissions.CourseError, match="not a zip file that can be read"):
        collect.collect(tmp_path, "canvas", "ps1", tmp_path / "download.zip",
                        tmp_path / "roster.csv")
