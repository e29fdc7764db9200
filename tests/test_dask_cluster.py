"""The multi-machine path of docs/grading.md's "On Dask", run as documented, on this machine.

A `dask scheduler` and `dask worker SCHEDULER --nworkers 2 --nthreads 1` run as processes
of their own, and `rnn-grade autograde ASSIGNMENT --dask SCHEDULER --course ROOT` is called
by path, as on a grading cluster. The gradebook is a fresh PostgreSQL database when
RNN_TEST_POSTGRES names a server (CI: `.ci/postgres.sh`), else the course's SQLite file.
Every student must end with the per-cell scores test_autograde expects of their
submission; workers killed mid-run and a rerun must lose nobody and grade nobody twice.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import copy_course
from nbgrader.api import Gradebook
from test_autograde import EXPECTED
from test_classgrader import postgres_url  # noqa: F401 (a fixture: asked for by name below)
from test_crash import completed, orphans

from rnn_solutions.engine import course, submissions
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT, NOTEBOOK

BIN = Path(sys.executable).parent  # the project's environment: dask, rnn-grade
COPIES = {"perfect_0": "perfect", "seed_0": "seed_student"}  # more students, same answers
# {student: {grade_id: points}}: what test_autograde expects of each sample submission
SCORES = {student: EXPECTED[ASSIGNMENT, COPIES.get(student, student)]
          for student in ("perfect", "untouched", "seed_student", *COPIES)}
UNREADABLE = 2  # broken_json and lost_cells, reported, never graded
# nbgrader's first line for each student it autogrades, in autograde.log
STARTS = re.compile(r"Creating/updating student with ID '([^']+)'")


def make_course(root, db_url=None):
    """The RNN's samples (perfect, untouched, seed_student, the two unreadable ones) and
    COPIES, the other assignments' submissions left out, release generated into the
    gradebook db_url names (None: gradebook.db)."""
    copy_course(root)
    for other in root.glob("submitted/*/*"):
        if other.name != ASSIGNMENT:
            shutil.rmtree(other)
    for copy, original in COPIES.items():
        shutil.copytree(root / "submitted" / original, root / "submitted" / copy)
    if db_url:
        with open(root / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    code, log = course.nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    assert code == 0, log
    return root


@pytest.fixture
def db_url(request):
    """A new PostgreSQL database when RNN_TEST_POSTGRES is set, else None: SQLite; in CI
    (CI=true), which starts the server, its absence fails the test."""
    if not os.environ.get("RNN_TEST_POSTGRES") and os.environ.get("CI") != "true":
        return None
    return request.getfixturevalue("postgres_url")


class Cluster:
    """A scheduler and its workers, each started as `dask ...` in a process group of its
    own, with every process group a test starts (the grader's too) killed at the end."""

    def __init__(self, folder):
        self.folder, self.groups, self.workers = folder, [], None
        self.env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        self.address = None

    def start_scheduler(self):
        """`dask scheduler` on a free port of localhost; its address once it listens."""
        info = self.folder / "scheduler.json"
        self.start("scheduler", [BIN / "dask", "scheduler", "--host", "127.0.0.1",
                                 "--port", "0", "--no-dashboard", "--scheduler-file", info])
        deadline = time.monotonic() + 60
        while self.address is None and time.monotonic() < deadline:
            try:
                self.address = json.loads(info.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        assert self.address, f"no scheduler after 60 s\n{self.logs()}"

    def start(self, name, cmd):
        """Start cmd in a new process group, its output in FOLDER/NAME.log."""
        with open(self.folder / f"{name}.log", "a") as log:
            process = subprocess.Popen([str(part) for part in cmd], stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       env=self.env, cwd=self.folder)
        self.groups.append(process)
        return process

    def start_workers(self):
        """Two worker processes of one thread each, as docs/grading.md starts them on a machine;
        return once both have joined the scheduler."""
        from distributed import Client

        self.workers = self.start("workers", [
            BIN / "dask", "worker", self.address, "--nworkers", "2", "--nthreads", "1",
            "--no-dashboard", "--local-directory", self.folder / "scratch"])
        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)

    def worker_folders(self):
        """{worker address: its current directory} (the grader changes it to the course)."""
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            return client.run(os.getcwd)

    def kill(self, process):
        """SIGKILL the process's whole group and reap its leader (a worker's kernels end
        with it: bwrap runs them with --die-with-parent)."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def grade(self, root):
        """Start the documented command, called by path without an activated environment;
        return the process and the log of its output."""
        name = f"grade-{len(self.groups)}"
        process = self.start(name, [BIN / "rnn-grade", "autograde", ASSIGNMENT,
                                    "--dask", self.address, "--course", root])
        return process, self.folder / f"{name}.log"

    def logs(self):
        """The last lines of every log, for a failure's message."""
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-15:])
                         for log in sorted(self.folder.glob("*.log")))

    def close(self):
        """Kill every process group started, the last first."""
        for process in reversed(self.groups):
            self.kill(process)


@pytest.fixture
def cluster(tmp_path):
    """A running scheduler on localhost, no workers yet; killed with its workers after."""
    folder = tmp_path / "dask"
    folder.mkdir()
    running = Cluster(folder)
    try:
        running.start_scheduler()
        yield running
    finally:
        running.close()


def finish(cluster, process, log, timeout=240):
    """Wait for the grader to end; (exit code, its output)."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        cluster.kill(process)
        pytest.fail(f"rnn-grade did not finish in {timeout} s\n{cluster.logs()}")
    return process.returncode, log.read_text()


def cell_grades(root):
    """{student: {grade_id: score}} from the course's gradebook, SQLite or PostgreSQL."""
    with Gradebook(submissions.gradebook_url(root)) as gb:
        return {s.student.id: {g.name: g.score for nb in s.notebooks for g in nb.grades}
                for s in gb.find_assignment(ASSIGNMENT).submissions}


def autograded_notebooks(root):
    """{student: mtime of the autograded notebook nbgrader wrote}."""
    return {p.parent.parent.name: p.stat().st_mtime_ns
            for p in (root / "autograded").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}")}


def first_line(to_grade, already):
    """The grader's first line, for a run grading `to_grade` of the class."""
    return re.compile(rf"{to_grade} to grade with Dask at \S+ \(0 recovered\), "
                      rf"{already} already graded, {UNREADABLE} unreadable")


@pytest.mark.slow
def test_scheduler_and_workers_grade_the_class(tmp_path, db_url, cluster):
    """`rnn-grade autograde --dask tcp://...` on a separately started scheduler and two
    workers grades each student once, into the gradebook, with the expected per-cell
    scores; both workers graded."""
    root = make_course(tmp_path / "course", db_url)
    cluster.start_workers()
    process, log = cluster.grade(root)
    code, output = finish(cluster, process, log)
    assert code == 0, output
    assert first_line(len(SCORES), 0).fullmatch(output.splitlines()[0]), output
    assert cell_grades(root) == SCORES, output
    assert set(completed(root)) == set(SCORES)
    assert orphans(root) == {}
    assert (root / "gradebook.db").exists() == (db_url is None)
    started = STARTS.findall((root / "autograded" / "autograde.log").read_text())
    assert sorted(started) == sorted(SCORES), "each student graded once"
    # the Dask workers (started elsewhere) graded: each loaded the course, there
    assert sorted(cluster.worker_folders().values()) == [str(root)] * 2


def kill_workers_once_one_is_graded(cluster, root):
    """Start the grader on the course; SIGKILL every worker as soon as the first completion
    record appears. Return the grader's process and log."""
    cluster.start_workers()
    process, log = cluster.grade(root)
    deadline = time.monotonic() + 180
    while not completed(root) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert completed(root) and process.poll() is None, \
        f"no student graded while the run went on\n{cluster.logs()}"
    cluster.kill(cluster.workers)
    return process, log


def check_nobody_graded_twice(root, before, notebooks_before):
    """Every student ends graded with the expected scores; those graded before the kill
    (completion record mtimes `before`) were not graded again."""
    assert cell_grades(root) == SCORES
    after = completed(root)
    assert set(after) == set(SCORES), "nobody lost"
    assert {s: after[s] for s in before} == before, "graded twice: a new completion record"
    notebooks_after = autograded_notebooks(root)
    assert {s: notebooks_after[s] for s in before} == {s: notebooks_before[s] for s in before}
    assert orphans(root) == {}


@pytest.mark.slow
def test_workers_killed_mid_run_then_the_command_run_again(tmp_path, db_url, cluster):
    """Every worker killed (SIGKILL) once the first student is graded, the grader killed
    too when it waits for workers that never come back; workers restarted and the same
    command run again grades exactly the others: each student ends with the expected
    per-cell scores, nobody graded before the kill is graded again, nobody is lost."""
    root = make_course(tmp_path / "course", db_url)
    process, _ = kill_workers_once_one_is_graded(cluster, root)
    try:  # with no worker left the grader fails, or waits for one: then it is killed
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        cluster.kill(process)
    before, notebooks_before = completed(root), autograded_notebooks(root)
    assert 0 < len(before) < len(SCORES), f"graded before the kill: {sorted(before)}"
    rest = set(SCORES) - set(before)
    interrupted = sorted(s for s in rest if submissions.was_started(root, ASSIGNMENT, s))
    grading_log = root / "autograded" / "autograde.log"
    logged = grading_log.stat().st_size if grading_log.exists() else 0

    cluster.start_workers()
    process, log = cluster.grade(root)
    code, output = finish(cluster, process, log)
    assert code == 0, output
    assert first_line(len(rest), len(before)).fullmatch(output.splitlines()[0]), output
    if interrupted:
        assert f"regraded after an interrupted run: {', '.join(interrupted)}" in output
    check_nobody_graded_twice(root, before, notebooks_before)
    with open(grading_log, "rb") as grading:
        grading.seek(logged)
        rerun = STARTS.findall(grading.read().decode(errors="replace"))
    assert sorted(rerun) == sorted(rest), "the rerun grades each of the others once"


@pytest.mark.slow
def test_workers_killed_and_restarted_while_the_grader_waits(tmp_path, db_url, cluster):
    """Every worker killed once the first student is graded, the grader left waiting, new
    workers started: the same run finishes the class, and Dask's recomputing the results
    lost with the workers grades nobody a second time."""
    root = make_course(tmp_path / "course", db_url)
    process, log = kill_workers_once_one_is_graded(cluster, root)
    before, notebooks_before = completed(root), autograded_notebooks(root)
    assert 0 < len(before) < len(SCORES), f"graded before the kill: {sorted(before)}"
    time.sleep(2)
    assert process.poll() is None, "the grader gave up instead of waiting for workers"
    cluster.start_workers()
    code, output = finish(cluster, process, log)
    assert code == 0, output
    assert first_line(len(SCORES), 0).fullmatch(output.splitlines()[0]), output
    check_nobody_graded_twice(root, before, notebooks_before)
