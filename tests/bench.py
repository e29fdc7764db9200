"""Benchmark: sequential `nbgrader autograde` against the class grader, in one run.

    make bench            (or, in tests/: python bench.py [K] [JOBS] [ROUNDS])

Makes K synthetic submissions (default 40: the master's answers and the corpus's buggy,
cheating and faulty ones, in turn; the corpus entry that loops forever is left out, its
timeouts would measure the timeout), then, ROUNDS times (default 3), grades them all with
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
from test_corpus import answers_of

from rnn_solutions.engine import classgrader, course
from rnn_solutions.rnn_step_by_step.samples import (
    ASSIGNMENT,
    NOTEBOOK,
    fill_answers,
    master_answers,
)


def make_course(root, k):
    """A course copy with k submissions and its release generated."""
    copy_course(root, ("source", "release", "nbgrader_config.py"))
    release = nbformat.read(ROOT / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    master = master_answers(nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, 4))
    mix = [None] + [e for e in CORPUS if e.name != "loops_forever"]
    for i, entry in enumerate(islice(cycle(mix), k)):
        answers = master if entry is None else answers_of(entry, master)
        folder = root / "submitted" / f"s{i:03d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(fill_answers(release, answers), folder / NOTEBOOK)
    code, log = course.nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    assert code == 0, log
    return root


def timed(action):
    """Seconds the action took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def floor(runs=5):
    """Median seconds to start a kernel and run the master notebook with the judge."""
    folder = ROOT / "source" / ASSIGNMENT
    nb = nbformat.read(folder / NOTEBOOK, as_version=4)
    return statistics.median(
        timed(lambda: execute(nbformat.from_dict(nb), folder)) for _ in range(runs))


CORES = os.cpu_count() or 1


def main(k=40, jobs=CORES + 1, rounds=3):
    """Run the benchmark `rounds` times over the same submissions; print each and medians.

    The machine's speed drifts by 10-15 % from minute to minute, so each round measures
    the three figures side by side, and the summary takes the median of each quantity.
    """
    print(f"{k} submissions, {jobs} workers, {CORES} cores; seconds per submission")
    print("round  nbgrader autograde  rnn-grade  ratio   floor  rnn-grade x cores / floor")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as quiet:
        plain = make_course(Path(tmp) / "plain", k)
        parallel = make_course(Path(tmp) / "parallel", k)
        for n in range(1, rounds + 1):
            sequential = timed(lambda: course.nbgrader(plain, "autograde", ASSIGNMENT,
                                                       "--force")) / k
            ours = timed(lambda: classgrader.autograde(parallel, ASSIGNMENT, jobs, force=True,
                                                       out=quiet)) / k
            bare = floor()
            rows.append((sequential, ours, sequential / ours, bare, ours * CORES / bare))
            print(_row(n, *rows[-1]), flush=True)
        same = course.scores(plain, ASSIGNMENT) == course.scores(parallel, ASSIGNMENT)
    print(_row("median", *map(statistics.median, zip(*rows, strict=True))))
    print(f"same scores for every student: {same}")


def _row(label, sequential, ours, ratio, bare, above_floor):
    """One line of the table."""
    return (f"{label:<6} {sequential:18.2f} {ours:10.2f} {ratio:5.2f}x {bare:6.2f} "
            f"{above_floor:14.2f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
