"""Hand-ins from an LMS download: `rnn-grade collect canvas|moodle ASSIGNMENT ZIP --roster R`.

Canvas's "Download Submissions" zip names each file at its top
`{name}[_late]_{user id}_{submission id}_{file name}` (the name in lower case without
punctuation; instructure/canvas-lms, ContentZipper). Moodle's "Download all submissions"
puts each participant's files in `{Full Name}_{participant id}_assignsubmission_file/`,
or, flat, prefixes their names with it (moodle/moodle, mod/assign downloader). Each file
goes to `submitted/STUDENT/ASSIGNMENT/`, the student found in the roster (lms.py's: a
`student_id` column, and `canvas_id` for Canvas, `moodle_id` or else the full `name` for
Moodle, whose participant ids differ from one assignment to the next). A file of nobody
the roster knows is not collected, and said so; so is a member that would land outside
its folder, a link, or one larger than MAX_BYTES. Canvas's late mark is reported.
"""

import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from rnn_solutions.engine import lms, submissions

PATTERNS = {
    "canvas": re.compile(r"(?P<name>[^/_]+?)_(?P<late>late_)?(?P<lms_id>\d+)_\d+_"
                         r"(?P<file>[^/]+)\Z"),
    "moodle": re.compile(r"(?P<name>[^/]+?)_(?P<lms_id>\d+)_assignsubmission_file[/_]"
                         r"(?P<file>[^/]+)\Z"),
}
MAX_BYTES = 64 << 20  # a notebook with its outputs is a few MB at most


def collect(root, lms_name, assignment, archive, roster):
    """Copy the hand-ins of an LMS download into submitted/; the report's lines."""
    people = lms.read_roster(roster)
    key = "canvas_id" if lms_name == "canvas" else "moodle_id"
    by_id = {row[key]: student for student, row in people.items() if row[key]}
    by_name = {row["name"]: student for student, row in people.items() if row["name"]}
    collected, lines, late = {}, [], set()
    try:
        zipped = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as error:
        raise submissions.CourseError(
            f"{archive}: not a zip file that can be read ({error})") from None
    with zipped:
        for member in zipped.infolist():
            path = PurePosixPath(member.filename)
            if member.is_dir() or "__MACOSX" in path.parts or path.name.startswith("._"):
                continue
            found = PATTERNS[lms_name].search(member.filename)
            problem = _unsafe(member, path)
            student = None
            if found and found["file"] in (".", ".."):
                problem = "its path leaves the folder"
            if found and not problem:
                student = by_id.get(found["lms_id"]) or (
                    by_name.get(found["name"]) if lms_name == "moodle" else None)
                if student is None:
                    problem = (f"{lms_name.capitalize()} id {found['lms_id']} "
                               f"({found['name']}) is not in the roster")
            elif not problem:
                problem = f"not named as {lms_name.capitalize()} names a hand-in"
            if problem:
                lines.append(f"NOT COLLECTED {member.filename}: {problem}")
                continue
            folder = Path(root) / "submitted" / student / assignment
            if student not in collected:
                shutil.rmtree(folder, ignore_errors=True)  # this download replaces the last
                folder.mkdir(parents=True)
            with zipped.open(member) as source, open(folder / found["file"], "wb") as target:
                shutil.copyfileobj(source, target)
            collected.setdefault(student, []).append(found["file"])
            if found.groupdict().get("late"):
                late.add(student)
    lines.insert(0, f"collected {sum(map(len, collected.values()))} files of "
                    f"{len(collected)} students into submitted/STUDENT/{assignment}/")
    if late:
        lines.append(f"LATE (as {lms_name.capitalize()} marks them): {', '.join(sorted(late))}")
    return lines


def _unsafe(member, path):
    """Why a zip member may not be written, or None."""
    if path.is_absolute() or ".." in path.parts:
        return "its path leaves the folder"
    if stat.S_ISLNK(member.external_attr >> 16):
        return "it is a link"
    if member.file_size > MAX_BYTES:
        return f"larger than {MAX_BYTES >> 20} MB"
    return None
