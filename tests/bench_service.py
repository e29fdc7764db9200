"""Benchmark: feedback at hand-in time (`rnn-grade serve`, service.py) beside the class
grader's batch run, in one run.

    make bench-service    (or, in tests/: python bench_service.py [K] [JOBS] [ASSIGNMENT])

- batch: K submissions (bench.py's mix: the master's answers and the corpus's buggy,
  cheating and faulty ones) graded by `rnn-grade autograde --jobs JOBS`, its own process,
  then their feedback made by `nbgrader generate_feedback` (the course command's way):
  hand-ins per second of each, and of both;
- one hand-in on a quiet machine, 10 times: a student's `nbgrader submit` of the master's
  answers while the service (`rnn-grade serve --jobs JOBS`, started before) waits:
  seconds from submit's return until the feedback is in the exchange, where
  `nbgrader fetch_feedback` takes it; the median and the largest;
- a burst: K hand-ins from K students put in the exchange's inbound folder at once
  (the same mix, each laid out as `nbgrader submit` lays one out, with its own name and
  secret): seconds until every feedback is released; hand-ins per second, and their ratio
  to the batch's (autograde alone, and autograde with feedback).
"""

import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import make_course
from conftest import ROOT

from rnn_solutions.engine import course

CORES = os.cpu_count() or 1
COURSE_ID = "rnn-step-by-step"


def exchange_course(root, k, assignment):
    """make_course's course, released to an exchange beside it; the exchange's course
    folder."""
    make_course(root, k, assignment)
    exchange = root.parent / f"{root.name}-exchange"
    exchange.mkdir()
    with open(root / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
    code, log = course.nbgrader(root, "release_assignment", assignment, "--force")
    assert code == 0, log
    return exchange / COURSE_ID


def released(folder):
    """How many feedback pages the exchange holds."""
    return len(list((folder / "feedback").glob("*.html")))


def wait_for(folder, count, deadline=600):
    """Wait until the exchange holds `count` feedback pages; the time it happened."""
    end = time.monotonic() + deadline
    while released(folder) < count:
        assert time.monotonic() < end, f"{released(folder)} of {count} pages released"
        time.sleep(0.005)
    return time.monotonic()


def batch(base, k, jobs, assignment):
    """Seconds `rnn-grade autograde` takes for k submissions, and then `nbgrader
    generate_feedback` for them all (as the course command runs it)."""
    root = base / "batch"
    make_course(root, k, assignment)
    start = time.monotonic()
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "rnn-grade"), "autograde", assignment,
                           "--jobs", str(jobs), "--course", str(root)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    graded = time.monotonic()
    code, log = course.nbgrader(root, "generate_feedback", assignment, "--force")
    assert code == 0, log
    return graded - start, time.monotonic() - graded


def one_at_a_time(root, folder, assignment, runs=10):
    """Latencies of `runs` hand-ins of one student, each submitted once the last is back."""
    home = root.parent / "student"
    shutil.copytree(ROOT / "release" / assignment, home / assignment)
    shutil.copy(root / "submitted" / "s000" / assignment / f"{assignment}.ipynb",
                home / assignment)  # the master's answers
    options = ["--course", COURSE_ID, f"--Exchange.root={folder.parent}",
               "--CourseDirectory.student_id=solo", f"--Exchange.cache={root.parent / 'cache'}"]
    latencies = []
    for _ in range(runs):
        before = released(folder)
        code, log = course.nbgrader(home, "submit", assignment, *options)
        assert code == 0, log
        submitted = time.monotonic()
        latencies.append(wait_for(folder, before + 1) - submitted)
    return latencies


def burst(root, folder, k, assignment):
    """Seconds from k hand-ins put in the inbound folder at once to all their feedback."""
    before = released(folder)
    staging = root.parent / "staging"
    for i in range(k):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S.000000 UTC", time.gmtime())
        hand_in = staging / f"s{i:03d}+{assignment}+{stamp}+{secrets.token_urlsafe(9)}"
        shutil.copytree(root / "submitted" / f"s{i:03d}" / assignment, hand_in)
        (hand_in / "timestamp.txt").write_text(stamp)
        (hand_in / "submission_secret.txt").write_text(secrets.token_hex(64))
    start = time.monotonic()
    for hand_in in staging.iterdir():
        hand_in.rename(folder / "inbound" / hand_in.name)
    return wait_for(folder, before + k) - start


def main(k=200, jobs=2 * CORES, assignment="rnn_step_by_step"):
    k, jobs = int(k), int(jobs)
    with tempfile.TemporaryDirectory(prefix="bench-service-") as base:
        base = Path(base)
        batch_seconds, feedback_seconds = batch(base, k, jobs, assignment)
        root = base / "service"
        folder = exchange_course(root, k, assignment)
        server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "rnn-grade"), "serve",
                                   "--jobs", str(jobs), "--course", str(root)],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert server.stdout.readline().startswith("serving"), "the service did not start"
            time.sleep(3)  # its workers load nbgrader: a quiet machine
            latencies = one_at_a_time(root, folder, assignment)
            burst_seconds = burst(root, folder, k, assignment)
        finally:
            server.terminate()
            server.wait()
    print(f"\n{assignment}, {k} hand-ins, {jobs} workers, {CORES} cores")
    print(f"{'':<36}{'seconds':>10}{'hand-ins/s':>12}")
    both = batch_seconds + feedback_seconds
    for label, seconds in (("batch: rnn-grade autograde", batch_seconds),
                           ("  then nbgrader generate_feedback", feedback_seconds),
                           ("  both", both), ("burst: rnn-grade serve", burst_seconds)):
        print(f"{label:<36}{seconds:>10.1f}{k / seconds:>12.2f}")
    print(f"{'one hand-in: median of 10':<36}{statistics.median(latencies):>10.2f}")
    print(f"{'one hand-in: largest of 10':<36}{max(latencies):>10.2f}")
    print(f"burst throughput / batch autograde's: {batch_seconds / burst_seconds:.2f}; "
          f"/ batch autograde and feedback's: {both / burst_seconds:.2f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
