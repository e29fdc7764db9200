"""A grading run killed anywhere never leaves a silent zero.

The class grader (and the course command) is killed with SIGKILL at several points of a
run, then run again as docs/grading.md says; every time each student's per-cell scores equal
those of an uninterrupted run, the students graded before the kill are not graded again,
and the gradebook holds exactly one complete submission per gradable student.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import copy_course
from sqlalchemy import create_engine, text
from test_autograde import EXPECTED
from test_classgrader import cell_grades

from rnn_solutions.engine import course, submissions
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT

COPIES = 1  # extra copies of the perfect and of the seed student's submission
GRADABLE = {"perfect", "untouched", "seed_student"} | {
    f"{name}_{i}" for name in ("perfect", "seed") for i in range(COPIES)}


def make_course(root):
    """The RNN's sample course with COPIES more perfect and seed submissions, release
    generated (the other assignments' submissions left out: what is tested here is the
    engine's, the same for every assignment)."""
    copy_course(root)
    for other in root.glob("submitted/*/*"):
        if other.name != ASSIGNMENT:
            shutil.rmtree(other)
    for i in range(COPIES):
        shutil.copytree(root / "submitted" / "perfect", root / "submitted" / f"perfect_{i}")
        shutil.copytree(root / "submitted" / "seed_student", root / "submitted" / f"seed_{i}")
    code, log = course.nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    assert code == 0, log
    return root


def grader(root, *extra):
    """The class grader's command, called by path as cron would (no activated venv)."""
    return [sys.executable, "-m", "rnn_solutions.engine.classgrader", "autograde", ASSIGNMENT,
            "--course", str(root), "--jobs", "2", *extra]


def course_command(root):
    return [sys.executable, "-m", "rnn_solutions.engine.course", "grade", str(root)]


def run(cmd, kill_when=None, timeout=300):
    """Run cmd in its own process group; SIGKILL the group as soon as kill_when(pid) holds.

    Returns (killed, output)."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True, env=env, text=True)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if kill_when is not None and kill_when(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True, process.stdout.read()
        time.sleep(0.02)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"{cmd} did not finish in {timeout} s")
    return False, process.stdout.read()


def completed(root):
    """{student: mtime of their completion record}."""
    folder = root / "autograded" / ".complete" / ASSIGNMENT
    return {p.stem: p.stat().st_mtime_ns for p in folder.glob("*.json")}


def processes():
    """{pid: (parent pid, program)} of every process on this machine; a bwrap that runs
    no kernel (the grader's check that bubblewrap works runs `true`) is "bwrap-check"."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        program = os.path.basename(argv[0])
        if program == b"bwrap" and b"ipykernel_launcher" not in argv and \
                not any(a.endswith(b"forkserver.py") for a in argv):
            program = b"bwrap-check"
        found[int(stat.parent.name)] = (int(fields[1]), program)
    return found


def kernel_parents(root_pid):
    """PIDs of the processes of root_pid's tree that started a sandboxed grading kernel."""
    table = processes()

    def in_tree(pid):
        while pid > 1:
            if pid == root_pid:
                return True
            pid = table.get(pid, (0, b""))[0]
        return False

    return [parent for parent, program in table.values()
            if program == b"bwrap" and in_tree(parent)]


KILL_POINTS = {
    # the first student's autograded folder appears: nbgrader is copying the submission
    "while copying": lambda root, pid: any((root / "autograded").glob(f"*/{ASSIGNMENT}")),
    # a kernel runs a notebook
    "while executing": lambda root, pid: bool(kernel_parents(pid)),
    # the judge's record is written after execution, just before the grades are saved
    "while saving grades": lambda root, pid: any(
        (root / "autograded" / ".judge" / ASSIGNMENT).glob("*.json")),
    # some students are done, others not
    "halfway": lambda root, pid: len(completed(root)) >= len(GRADABLE) // 2,
}


@pytest.fixture(scope="module")
def reference():
    """Per-cell scores of an uninterrupted run: each sample's (test_autograde checks them),
    the copies' those of their originals."""
    samples = {s: EXPECTED[ASSIGNMENT, s] for s in ("perfect", "untouched", "seed_student")}
    return {**samples, **{f"{name}_{i}": samples[original] for i in range(COPIES)
                          for name, original in (("perfect", "perfect"),
                                                 ("seed", "seed_student"))}}


def orphans(root):
    """Gradebook rows that belong to nothing, and submissions with missing grades."""
    queries = {
        "grades of no notebook": "SELECT count(*) FROM grade WHERE notebook_id NOT IN "
                                 "(SELECT id FROM submitted_notebook)",
        "notebooks of no submission": "SELECT count(*) FROM submitted_notebook WHERE "
                                      "assignment_id NOT IN (SELECT id FROM "
                                      "submitted_assignment)",
        "notebooks missing grades": "SELECT count(*) FROM submitted_notebook n WHERE "
                                    "(SELECT count(*) FROM grade g WHERE g.notebook_id = n.id)"
                                    " != (SELECT count(*) FROM grade_cells)",
    }
    engine = create_engine(submissions.gradebook_url(root))
    try:
        with engine.connect() as db:
            found = {name: db.execute(text(sql)).scalar() for name, sql in queries.items()}
    finally:
        engine.dispose()
    return {name: count for name, count in found.items() if count}


def check_resumed(root, reference, before, output):
    """The resumed run's outcome equals an uninterrupted run's, with nobody graded twice."""
    assert cell_grades(root) == reference
    after = completed(root)
    assert set(after) == GRADABLE
    regraded = [s for s, mtime in before.items() if after[s] != mtime]
    assert regraded == [], f"graded twice: {regraded}"
    assert orphans(root) == {}
    assert f"{len(GRADABLE) - len(before)} to grade" in output, output


@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS)
def test_class_grader_killed_then_resumed(tmp_path, reference, point):
    """Killed at `point` and run again, the class grader gives every student the scores of
    an uninterrupted run, without grading anyone twice."""
    root = make_course(tmp_path)
    killed, output = run(grader(root), lambda pid: KILL_POINTS[point](root, pid))
    assert killed, f"the run finished before {point}: {output}"
    before = completed(root)
    started = [s for s in GRADABLE - set(before)
               if submissions.was_started(root, ASSIGNMENT, s)]
    _, output = run(grader(root))
    check_resumed(root, reference, before, output)
    if started:
        assert "regraded after an interrupted run: " + ", ".join(sorted(started)) in output


@pytest.mark.slow
def test_course_command_killed_while_writing_feedback(tmp_path, reference):
    """The course command killed during feedback is finished by running it again."""
    root = make_course(tmp_path)
    killed, _ = run(course_command(root), lambda pid: (root / "feedback").exists())
    assert killed
    before = completed(root)
    _, output = run(course_command(root))
    check_resumed(root, reference, before, output)
    for student in GRADABLE:
        assert (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


@pytest.mark.slow
def test_dask_worker_killed_mid_submission(tmp_path, reference):
    """A Dask worker killed while its kernel runs: the task is run again elsewhere and every
    student's scores equal an uninterrupted run's."""
    root = make_course(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    process = subprocess.Popen(grader(root, "--dask", "local"), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, env=env,
                               text=True)
    worker, deadline = None, time.monotonic() + 120
    while worker is None and process.poll() is None and time.monotonic() < deadline:
        worker = next(iter(kernel_parents(process.pid)), None)
        time.sleep(0.02)
    assert worker, "no Dask worker ran a kernel"
    os.kill(worker, signal.SIGKILL)
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 0, output
    assert cell_grades(root) == reference
    assert set(completed(root)) == GRADABLE
    assert orphans(root) == {}
