"""The class grader gives nbgrader's scores, resumes, and survives broken submissions."""

import os
import time
import uuid

import nbformat
import pytest
from conftest import missing
from corpus import CORPUS
from nbgrader.api import Gradebook
from test_corpus import corpus_course

from rnn_solutions.engine import classgrader, course
from rnn_solutions.engine.report import write_report
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT, NOTEBOOK

# a bug, a cheat and two faults: what the class grader must handle as nbgrader does
SOME = ("carry_never_added", "kills_its_process", "raises", "patched_numpy")


def make_course(root, config=""):
    """A course with the sample submissions and a few corpus entries, release generated."""
    return corpus_course(root, [e for e in CORPUS if e.name in SOME], config, samples=True)


def cell_grades(root):
    """{student: {grade_id: score}} from the gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s.student.id: {g.name: g.score for g in
                               gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT,
                                                           s.student.id).grades}
                for s in gb.find_assignment(ASSIGNMENT).submissions}


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same course graded by `nbgrader autograde` with plain kernels (each started
    fresh) and by the class grader with warm ones (forked by its fork server)."""
    plain = make_course(tmp_path_factory.mktemp("plain"))
    parallel = make_course(tmp_path_factory.mktemp("parallel"))
    code, log = course.nbgrader(plain, "autograde", ASSIGNMENT, "--force",
                                "--CourseDirectory.student_id_exclude=broken_json,lost_cells",
                                "--JudgedExecute.warm_kernels=False")
    assert code == 0, log
    failures = classgrader.autograde(parallel, ASSIGNMENT, jobs=2, out=open(os.devnull, "w"))
    return plain, parallel, failures


@pytest.mark.slow
def test_class_grader_records_nbgraders_per_cell_scores(both):
    """Every student gets, cell by cell, the scores sequential nbgrader autograde gives
    (a bug, a process killing itself, a patched numpy: warm kernels as plain ones)."""
    plain, parallel, _ = both
    ours = cell_grades(parallel)
    assert ours == cell_grades(plain)
    assert len(ours) == 3 + len(SOME)


@pytest.mark.slow
def test_dask_local_cluster_records_the_same_scores(both, tmp_path):
    """On a Dask LocalCluster of two worker processes, every cell scores as with nbgrader."""
    plain, _, _ = both
    root = make_course(tmp_path)
    failures = classgrader.autograde(root, ASSIGNMENT, jobs=2, dask="local",
                                     out=open(os.devnull, "w"))
    assert set(failures) == {"broken_json", "lost_cells"}
    assert cell_grades(root) == cell_grades(plain)


@pytest.fixture
def postgres_url():
    """A new, empty database on the PostgreSQL server that .ci/run starts."""
    server = os.environ.get("RNN_TEST_POSTGRES")
    if not server:
        missing("a PostgreSQL server (RNN_TEST_POSTGRES)",
                "source .ci/postgres.sh, as .ci/run does, starts one and sets it")
    import psycopg2

    name = f"rnn_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(f"{server}/postgres")
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    yield f"{server.replace('postgresql://', 'postgresql+psycopg2://')}/{name}"
    admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


@pytest.mark.slow
def test_postgres_gradebook_with_concurrent_writers(both, tmp_path, postgres_url):
    """With a PostgreSQL gradebook and three workers writing at once, every cell scores as
    with sequential nbgrader on SQLite, and the course commands read it back."""
    plain, _, _ = both
    root = make_course(tmp_path, f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    assert not (root / "gradebook.db").exists()
    classgrader.autograde(root, ASSIGNMENT, jobs=3, out=open(os.devnull, "w"))
    with Gradebook(postgres_url) as gb:
        ours = {s.student.id: {g.name: g.score for g in gb.find_submission_notebook(
            ASSIGNMENT, ASSIGNMENT, s.student.id).grades}
            for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert ours == cell_grades(plain)
    assert course.scores(root, ASSIGNMENT) == course.scores(plain, ASSIGNMENT)


@pytest.mark.slow
def test_broken_submissions_are_reported_and_the_rest_graded(both):
    """Unreadable notebooks are named with their problem; nobody else is lost."""
    _, parallel, failures = both
    assert set(failures) == {"broken_json", "lost_cells"}
    assert "broken_json" not in cell_grades(parallel)


@pytest.mark.slow
def test_second_run_resumes_without_regrading(both):
    """A run after a complete one grades nothing; a resubmission is graded again."""
    _, parallel, _ = both
    assert "0 to grade" in _run(parallel)
    submitted = parallel / "submitted" / "untouched" / ASSIGNMENT / NOTEBOOK
    later = time.time() + 60  # touched, same content: nothing new to grade
    os.utime(submitted, (later, later))
    assert "0 to grade" in _run(parallel)
    nb = nbformat.read(submitted, as_version=4)
    nb.metadata["resubmitted"] = True  # a resubmission
    nbformat.write(nb, submitted)
    assert "1 to grade" in _run(parallel)


def _run(root):
    """Run the class grader, return what it printed."""
    log = root / "run.log"
    with open(log, "w") as out:
        classgrader.autograde(root, ASSIGNMENT, jobs=2, out=out)
    return log.read_text()


@pytest.mark.slow
def test_report_writes_png_csv_and_names_frequent_mistakes(both):
    """The class report has a row per student, a PNG, and the recognised mistakes."""
    _, parallel, _ = both
    table = write_report(parallel, ASSIGNMENT)
    rows = (parallel / f"class_report_{ASSIGNMENT}.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 + len(SOME)
    assert (parallel / f"class_report_{ASSIGNMENT}.png").read_bytes()[:4] == b"\x89PNG"
    assert "dh_next is never applied" in table
    assert "rnn_cell_backward" in table and "full marks" in table
