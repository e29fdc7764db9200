"""Benchmark: sequential `nbgrader autograde` against the class grader, in one run.

    make bench    (or, in tests/: python bench.py [K] [JOBS] [ROUNDS] [ASSIGNMENT...])

For each assignment (default: both), makes K synthetic submissions (default 40: the
master's answers and its corpus's buggy, cheating and faulty ones, in turn; the corpus
entry that loops forever is left out, its timeouts would measure the timeout), then,
ROUNDS times (default 3), grades them all with
`nbgrader autograde` and with `rnn-grade autograde --jobs JOBS` (default: cores + 1), each
in its own copy of the course, and measures the floor: starting a bare kernel and running
the master notebook once, as autograde does. It prints seconds per submission, their
ratio and the floor for each round, and the median of each column.
"""

import os
import statistics
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

import nbformat
from conftest import ROOT, copy_course, execute
from corpus import CORPUS
from lstm_corpus import CORPUS as LSTM_CORPUS
from test_corpus import answers_of

from rnn_solutions.engine import classgrader, course, submissions
from rnn_solutions.rnn_step_by_step.samples import fill_answers, master_answers

CORPORA = {"rnn_step_by_step": CORPUS, "lstm_step_by_step": LSTM_CORPUS}


def make_course(root, k, assignment):
    """A course copy with k submissions of the assignment and its release generated."""
    copy_course(root, ("source", "release", "nbgrader_config.py"))
    notebook = submissions.notebook_name(assignment)
    release = nbformat.read(ROOT / "release" / assignment / notebook, as_version=4)
    master = master_answers(nbformat.read(ROOT / "source" / assignment / notebook, 4))
    mix = [None] + [e for e in CORPORA[assignment] if e.name != "loops_forever"]
    for i, entry in enumerate(islice(cycle(mix), k)):
        answers = master if entry is None else answers_of(entry, master)
        folder = root / "submitted" / f"s{i:03d}" / assignment
        folder.mkdir(parents=True)
        nbformat.write(fill_answers(release, answers), folder / notebook)
    code, log = course.nbgrader(root, "generate_assignment", assignment, "--force")
    assert code == 0, log
    return root


def timed(action):
    """Seconds the action took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def floor(assignment, runs=5):
    """Median seconds to start a kernel and run the master notebook with the judge."""
    folder = ROOT / "source" / assignment
    nb = nbformat.read(folder / submissions.notebook_name(assignment), as_version=4)
    return statistics.median(
        timed(lambda: execute(nbformat.from_dict(nb), folder)) for _ in range(runs))


CORES = os.cpu_count() or 1


def main(k=40, jobs=CORES + 1, rounds=3, *assignments):
    """Run the benchmark of each assignment `rounds` times over the same submissions;
    print each round and the medians.

    The machine's speed drifts by 10-15 % from minute to minute, so each round measures
    the three figures side by side, and the summary takes the median of each quantity.
    """
    for assignment in assignments or CORPORA:
        bench(assignment, int(k), int(jobs), int(rounds))


def bench(assignment, k, jobs, rounds):
    """The benchmark's table for one assignment."""
    print(f"{assignment}: {k} submissions, {jobs} workers, {CORES} cores; seconds per "
          "submission")
    print("round  nbgrader autograde  rnn-grade  ratio   floor  rnn-grade x cores / floor")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as quiet:
        plain = make_course(Path(tmp) / "plain", k, assignment)
        parallel = make_course(Path(tmp) / "parallel", k, assignment)
        for n in range(1, rounds + 1):
            sequential = timed(lambda: course.nbgrader(plain, "autograde", assignment,
                                                       "--force")) / k
            ours = timed(lambda: classgrader.autograde(parallel, assignment, jobs, force=True,
                                                       out=quiet)) / k
            bare = floor(assignment)
            rows.append((sequential, ours, sequential / ours, bare, ours * CORES / bare))
            print(_row(n, *rows[-1]), flush=True)
        same = course.scores(plain, assignment) == course.scores(parallel, assignment)
    print(_row("median", *map(statistics.median, zip(*rows, strict=True))))
    print(f"same scores for every student: {same}")


def _row(label, sequential, ours, ratio, bare, above_floor):
    """One line of the table."""
    return (f"{label:<6} {sequential:18.2f} {ours:10.2f} {ratio:5.2f}x {bare:6.2f} "
            f"{above_floor:14.2f}x")


if __name__ == "__main__":
    main(*sys.argv[1:])
