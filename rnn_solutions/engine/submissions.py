"""What there is to grade: the students' submissions, checked before nbgrader sees them,
and the record that says a student's grading finished.

A submission is graded when its notebook is a readable notebook holding every graded cell
of the release, or can be rebuilt into one (recovery.py); the others are reported by name,
with what to do. A student counts
as graded only when a completion record, written after all of nbgrader's work for them
(autograded notebook, every grade saved), matches their current submission: a run
interrupted anywhere before that leaves no record, and the next run grades them again.
"""

import functools
import hashlib
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import nbformat

from rnn_solutions.engine import recovery


def notebook_name(assignment):
    """The notebook of an assignment: ASSIGNMENT/ASSIGNMENT.ipynb."""
    return f"{assignment}.ipynb"


def release_notebook(root, assignment):
    """The assignment's release notebook (nbformat v4)."""
    return nbformat.read(Path(root) / "release" / assignment / notebook_name(assignment),
                         as_version=4)


def graded_cells(root, assignment):
    """grade_ids of the release's answer and test cells, in the notebook's order."""
    meta = (cell.metadata.get("nbgrader", {}) for cell in release_notebook(root, assignment).cells)
    return [m["grade_id"] for m in meta if m.get("solution") or m.get("grade")]


def students(root, assignment):
    """Student ids with a folder for the assignment under submitted/."""
    return sorted(p.parent.name for p in (Path(root) / "submitted").glob(f"*/{assignment}")
                  if p.is_dir())


def examine(folder, release):
    """None if the submission in `folder` can be graded as it is, a `recovery.Recovered`
    notebook to grade in its place, or `recovery.UnrecoverableError` saying what is wrong."""
    odd = odd_files(folder)
    if odd:
        raise recovery.UnrecoverableError(
            f"the submission holds {', '.join(odd[:3])}, which is not a plain file or folder "
            "(a link, say): ask the student to submit the files themselves")
    return recovery.examine(folder, release)


# where the class grader grades rebuilt submissions from, and its notes on them
RECOVERED = Path("autograded") / ".recovered"
RECOVERY_NOTES = Path("autograded") / ".recovery"


def stage(root, assignment, student, recovered):
    """Copy the student's submission to RECOVERED/STUDENT/ASSIGNMENT with the recovered
    notebook as the assignment's; the student's notebook stays beside it, untouched (as
    ASSIGNMENT.submitted.ipynb when it had the assignment's name)."""
    name = notebook_name(assignment)
    folder = Path(root) / RECOVERED / student / assignment
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(Path(root) / "submitted" / student / assignment, folder)
    if recovered.original == name:
        os.replace(folder / name, folder / name.replace(".ipynb", ".submitted.ipynb"))
    elif not recovered.original.endswith(".ipynb"):  # saved as .ipynb.txt: graded as name
        (folder / recovered.original).unlink()
    nbformat.write(recovered.notebook, folder / name)


def unstage(root, assignment, student):
    """Remove the student's staged copy (their submission needs no recovery now)."""
    shutil.rmtree(Path(root) / RECOVERED / student / assignment, ignore_errors=True)


def write_recovery_notes(root, assignment, notes):
    """Record {student: what was recovered} for the assignment's latest run."""
    path = Path(root) / RECOVERY_NOTES / f"{assignment}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notes, indent=1, sort_keys=True))


def recovery_notes(root, assignment):
    """{student: what was recovered}, as the latest run recorded it ({} if none)."""
    try:
        return json.loads((Path(root) / RECOVERY_NOTES / f"{assignment}.json").read_text())
    except (OSError, ValueError):
        return {}


def odd_files(folder):
    """Names of what the submission folder holds besides plain files and folders.

    nbgrader copies a submission following its links, so a link to the master notebook,
    the reference or the gradebook would be graded, or shown to the student, as theirs."""
    odd = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            mode = os.lstat(os.path.join(dirpath, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                odd.append(os.path.relpath(os.path.join(dirpath, name), folder))
    return sorted(odd)


def precondition(root, assignment):
    """None if the course is ready to grade the assignment, else one line saying what to do."""
    root = Path(root)
    if not (root / "nbgrader_config.py").exists():
        return f"{root} is not a course directory (no nbgrader_config.py): run from the course"
    if not (root / "source" / assignment / notebook_name(assignment)).exists():
        known = sorted(p.name for p in (root / "source").glob("*") if p.is_dir())
        return (f"no assignment {assignment!r} in source/: the course has "
                f"{', '.join(known) or 'none'}")
    if not (root / "release" / assignment / notebook_name(assignment)).exists():
        return f"{assignment} has no release yet: run `make release` first"
    if not students(root, assignment):
        return (f"no submissions of {assignment}: put each student's notebook in "
                f"submitted/STUDENT/{assignment}/")
    return unsandboxed(root)


def unsandboxed(root):
    """None unless the course requires a sandbox (c.JudgedExecute.require_sandbox) that
    its kernels cannot have here; then one line saying so."""
    from rnn_solutions.engine import sandbox

    judged = course_config(root).get("JudgedExecute", {})
    if judged.get("require_sandbox") and \
            sandbox.mode_for(judged.get("sandbox", True)) == "none":
        return ("nothing graded: c.JudgedExecute.require_sandbox is True, and "
                + sandbox.WARNING)
    return None


# ---- completion records -----------------------------------------------------------------------

def _record(root, assignment, student):
    return Path(root) / "autograded" / ".complete" / assignment / f"{student}.json"


def digest(root, assignment, student):
    """A hash of the student's submission: every name in it, every file's contents."""
    folder = Path(root) / "submitted" / student / assignment
    sha = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        sha.update(str(path.relative_to(folder)).encode() + b"\0")
        if path.is_file() and not path.is_symlink():
            sha.update(hashlib.sha256(path.read_bytes()).digest())
    sha.update(grader_fingerprint(str(root), assignment).encode())
    return sha.hexdigest()


@functools.lru_cache
def grader_fingerprint(root, assignment):
    """A hash of what decides the grades besides the submission: the assignment's source
    folder, nbgrader_config.py and the grading package. Changing any of them (a hidden
    case, a check, a point) makes every student's record stale, so all are graded again."""
    root, package = Path(root), Path(__file__).parents[1]  # all of rnn_solutions
    sha = hashlib.sha256()
    files = [root / "nbgrader_config.py", *sorted((root / "source" / assignment).rglob("*")),
             *sorted(package.rglob("*.py"))]
    for path in files:
        if path.is_file():
            sha.update(path.name.encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()


def is_complete(root, assignment, student):
    """Whether the student's current submission was graded to the end, by this grader."""
    try:
        record = json.loads(_record(root, assignment, student).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("digest") == digest(root, assignment,
                                                                      student)


def was_started(root, assignment, student):
    """Whether a run began grading the student and stopped before the end."""
    return (Path(root) / "autograded" / student / assignment).exists() and \
        not _record(root, assignment, student).exists()


def forget_completion(root, assignment, student):
    """Remove the student's completion record (before grading them again)."""
    _record(root, assignment, student).unlink(missing_ok=True)


def mark_complete(root, assignment, student, submission_digest):
    """Write the completion record, atomically, after all of the student's grading."""
    path = _record(root, assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"digest": submission_digest}))
    os.replace(tmp, path)


# ---- the course's tools and gradebook ------------------------------------------------------

class CourseError(Exception):
    """A precondition of grading is missing; the message says what to run."""


def tools_on_path():
    """Put this Python's scripts folder on PATH: nbgrader runs `alembic` from PATH, and the
    commands must work when called by path, without an activated environment."""
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def course_config(root):
    """The course's nbgrader_config.py, loaded as nbgrader loads it."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def course_directory(root, config=None):
    """nbgrader's CourseDirectory of the course, as its nbgrader_config.py (or `config`,
    already loaded) sets it up."""
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config or course_config(root))
    coursedir.root = str(Path(root).resolve())
    return coursedir


def gradebook_url(root):
    """The gradebook nbgrader_config.py names (default: gradebook.db in the course)."""
    return course_directory(root).db_url


def declared(root):
    """{assignment: its declaration} for the assignments nbgrader_config.py declares and
    source/ holds, in name order."""
    from rnn_solutions.engine.declaration import load

    return {name: load(spec) for name, spec in declarations(root).items()}


def declarations(root):
    """{assignment: 'module:attribute' of its declaration}, as `declared` lists them."""
    specs = course_config(root).JudgedExecute.get("declarations", {})
    return {name: specs[name] for name in sorted(specs) if (Path(root) / "source" / name).is_dir()}


def execution(root):
    """(kernel name, cell timeout in seconds) that nbgrader_config.py grades with."""
    execute = course_config(root).ExecutePreprocessor
    return execute.kernel_name, execute.timeout


def require_gradebook_assignment(root, assignment):
    """CourseError unless the gradebook knows the assignment (nbgrader generate_assignment
    adds it; `make clean` removes the gradebook)."""
    from nbgrader.api import Gradebook, MissingEntry

    if not (Path(root) / "nbgrader_config.py").exists():
        raise CourseError(f"{root} is not a course directory (no nbgrader_config.py)")
    url = gradebook_url(root)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise CourseError("there is no gradebook yet: run `make release` first")
    tools_on_path()
    with Gradebook(url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"the gradebook has no assignment {assignment}: run "
                              "`make release` first") from None
