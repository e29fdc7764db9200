"""The grading service (service.py) with nbgrader's real exchange: students hand in with
`nbgrader submit` (each their own CourseDirectory.student_id and cache), the service
grades, the students get their feedback with `nbgrader fetch_feedback`."""

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, copy_course
from test_autograde import EXPECTED
from test_sandbox import left_running

from rnn_solutions.engine import classgrader, course, service
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT

COURSE_ID = "rnn-step-by-step"  # nbgrader_config.py's
# the sample a student hands in -> the score its feedback shows
SCORE = {s: sum(EXPECTED[(ASSIGNMENT, s)].values()) for s in ("perfect", "seed_student",
                                                             "untouched")}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    """A course whose assignment is released to an exchange of its own (one graded
    attempt a day allowed); the folder that holds the course, the exchange and the
    students' homes."""
    base = tmp_path_factory.mktemp("exchange")
    root = copy_course(base / "course", parts=("source", "release", "nbgrader_config.py"))
    (base / "exchange").mkdir()
    with open(root / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.Exchange.root = {str(base / 'exchange')!r}\n"
                f"c.GradingService.attempts = {{{ASSIGNMENT!r}: 1}}\n")
    for step in ("generate_assignment", "release_assignment"):
        code, log = course.nbgrader(root, step, ASSIGNMENT, "--force")
        assert code == 0, log
    return base


def as_student(base, student):
    """nbgrader's options that make a command this student's."""
    return ["--course", COURSE_ID, f"--Exchange.root={base / 'exchange'}",
            f"--CourseDirectory.student_id={student}",
            f"--Exchange.cache={base / 'cache' / student}"]


def submit(base, hand_ins):
    """Each student of {student: sample} hands in that sample's notebook (all at once)."""
    running = []
    for student, sample in hand_ins.items():
        home = base / "students" / student
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(ROOT / "release" / ASSIGNMENT, home / ASSIGNMENT)
        shutil.copy(ROOT / "submitted" / sample / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                    home / ASSIGNMENT)
        running.append(subprocess.Popen(
            [sys.executable, "-m", "nbgrader", "submit", ASSIGNMENT, *as_student(base, student)],
            cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for process in running:
        assert process.wait(timeout=120) == 0, process.stdout.read()


def fetched(base, student):
    """What `nbgrader fetch_feedback` brings the student: {timestamp: page}."""
    home = base / "students" / student
    code, log = course.nbgrader(home, "fetch_feedback", ASSIGNMENT, *as_student(base, student))
    assert code == 0, log
    return {p.parent.name: p.read_text()
            for p in (home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html")}


def serve_once(base, jobs=None):
    """Run the service until no hand-in is left; what it printed."""
    said = io.StringIO()
    service.serve(base / "course", once=True, jobs=jobs, out=said)
    return said.getvalue()


def outcomes(base, student):
    """The service's log lines of the student's hand-ins, in order."""
    log = base / "course" / "autograded" / "service.log"
    lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [line for line in lines if line["student"] == student]


def score_shown(page):
    """The total score a feedback page shows."""
    return float(re.search(r"Score: ([0-9.]+) / ", page).group(1))


@pytest.mark.slow
def test_each_student_fetches_the_feedback_of_their_hand_in(exchange):
    """Three students hand in at once; once the service has run, each one's
    fetch_feedback brings one page, with the score of what they handed in."""
    hand_ins = {"ada": "perfect", "bo": "seed_student", "cy": "untouched"}
    submit(exchange, hand_ins)
    serve_once(exchange)
    for student, sample in hand_ins.items():
        pages = fetched(exchange, student)
        assert len(pages) == 1, pages.keys()
        assert score_shown(next(iter(pages.values()))) == SCORE[sample], student
        assert [o["state"] for o in outcomes(exchange, student)] == ["graded"]


@pytest.mark.slow
def test_a_workers_caches_leave_the_feedback_page_as_nbgrader_makes_it(exchange):
    """One worker makes two pages of the same answers, the second from its compiled
    templates and highlighted code: byte for byte the page `nbgrader generate_feedback`
    makes afresh."""
    submit(exchange, {"kai": "seed_student", "lou": "seed_student"})
    serve_once(exchange, jobs=1)
    root = exchange / "course"
    page = root / "feedback" / "lou" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    made = page.read_text()
    code, log = course.nbgrader(root, "generate_feedback", ASSIGNMENT, "--student", "lou",
                                "--force")
    assert code == 0, log
    assert page.read_text() == made


@pytest.mark.slow
def test_a_broken_hand_in_gets_its_not_graded_line_as_feedback(exchange):
    """A notebook that is not valid JSON is not graded; the student's feedback says so and
    what to do."""
    submit(exchange, {"dee": "broken_json"})
    serve_once(exchange)
    (page,) = fetched(exchange, "dee").values()
    assert "NOT GRADED" in page and "resubmit" in page, page
    assert [o["state"] for o in outcomes(exchange, "dee")] == ["not graded"]


@pytest.mark.slow
def test_past_the_attempt_limit_a_hand_in_is_kept_for_the_batch_run(exchange):
    """With one graded attempt a day, a second hand-in is collected but not graded: its
    feedback says so and when, the gradebook keeps the first grade, and the next batch
    run grades the second."""
    submit(exchange, {"eve": "untouched"})
    serve_once(exchange)
    submit(exchange, {"eve": "perfect"})
    serve_once(exchange)
    pages = fetched(exchange, "eve")
    first, second = (pages[k] for k in sorted(pages))
    assert score_shown(first) == SCORE["untouched"]
    assert "Kept, not graded yet" in second and "next grading run" in second, second
    assert [o["state"] for o in outcomes(exchange, "eve")] == ["graded", "held"]
    root = exchange / "course"
    assert sum(course.scores(root, ASSIGNMENT)["eve"].values()) == SCORE["untouched"]
    classgrader.autograde(root, ASSIGNMENT, jobs=1, out=io.StringIO())
    assert sum(course.scores(root, ASSIGNMENT)["eve"].values()) == SCORE["perfect"]


@pytest.mark.slow
def test_a_hand_in_without_a_record_is_done_again_but_not_graded_twice(exchange):
    """As if the service had been killed after grading and before recording: the hand-in
    is done again (feedback released), and the grader does not run a second time."""
    submit(exchange, {"fay": "seed_student"})
    serve_once(exchange)
    records = exchange / "course" / "autograded" / ".service"
    for record in records.glob("fay+*.json"):
        record.unlink()
    serve_once(exchange)
    assert [(o["state"], o["graded_now"]) for o in outcomes(exchange, "fay")] == \
        [("graded", True), ("graded", False)]
    (page,) = fetched(exchange, "fay").values()
    assert score_shown(page) == SCORE["seed_student"]


@pytest.mark.slow
def test_a_service_killed_and_started_again_loses_no_hand_in(exchange):
    """The service, killed (SIGKILL, its main process only, as the OOM killer would) as
    soon as it has finished one of four hand-ins: none of its workers is left; started
    again, it gives each hand-in exactly one outcome and its student their feedback."""
    hand_ins = {"gus": "perfect", "hal": "seed_student", "ivy": "untouched", "jo": "perfect"}
    submit(exchange, hand_ins)
    log = exchange / "course" / "autograded" / "service.log"
    before = log.read_text().count("\n") if log.exists() else 0
    running = subprocess.Popen([sys.executable, "-m", "rnn_solutions.engine.classgrader", "serve",
                                "--course", str(exchange / "course")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while (log.read_text().count("\n") if log.exists() else 0) == before:
        assert time.monotonic() < deadline and running.poll() is None
        time.sleep(0.02)
    os.kill(running.pid, signal.SIGKILL)
    running.wait()
    deadline = time.monotonic() + 10
    while left_running(f"serve --course {exchange / 'course'}", "-f"):
        assert time.monotonic() < deadline, "a worker outlived the service"
        time.sleep(0.05)
    serve_once(exchange)
    for student, sample in hand_ins.items():
        assert [o["state"] for o in outcomes(exchange, student)] == ["graded"], student
        (page,) = fetched(exchange, student).values()
        assert score_shown(page) == SCORE[sample], student


def test_a_hand_ins_name_is_read_as_nbgrader_writes_it():
    """STUDENT+ASSIGNMENT+TIMESTAMP+RANDOM, a student id with a + of its own included;
    anything else is no hand-in."""
    assert service.parse("a+b+rnn+2026-12-07 10:00:00.1 UTC+xyz") == \
        ("a+b", "rnn", "2026-12-07 10:00:00.1 UTC")
    assert service.parse("notes.txt") is None and service.parse("+rnn+t+r") is None


def test_a_hand_in_is_ready_once_its_secret_is_written(tmp_path):
    """Files copied and timestamp written but no secret yet: still being written; a
    128-character secret: ready."""
    (tmp_path / "timestamp.txt").write_text("2026-12-07 10:00:00.1 UTC")
    assert not service.ready(tmp_path)
    (tmp_path / "submission_secret.txt").write_text("f" * 64)
    assert not service.ready(tmp_path)
    (tmp_path / "submission_secret.txt").write_text("f" * 128)
    assert service.ready(tmp_path)


def test_the_attempt_limit_counts_graded_hand_ins_of_the_period(tmp_path):
    """Two graded attempts a day: after two graded hand-ins (a held or superseded one not
    counted), the next waits until a day after the earlier of the two."""
    journal = service.Journal(tmp_path)
    settings = service.GradingService(attempts={ASSIGNMENT: 2})
    now = time.time()
    for i, state in enumerate(["graded", "superseded", "held", "graded"]):
        journal.record(f"ann+{ASSIGNMENT}+t{i}+r", {"state": state, "at": now - 100 + i})
    journal.record(f"bob+{ASSIGNMENT}+t0+r", {"state": "graded", "at": now})
    journal.record(f"ann+{ASSIGNMENT}+t9+r", {"state": "graded", "at": now - 2 * 86400})
    assert service.held_until(journal, settings, "ann", ASSIGNMENT) == now - 100 + 86400
    assert service.held_until(journal, settings, "bob", ASSIGNMENT) is None
    assert service.held_until(journal, settings, "ann", "lstm_step_by_step") is None
