"""Benchmark: sequential `nbgrader autograde` against the class grader, in one run.

    make bench            (or: python tests/bench.py [K] [JOBS])

Makes K synthetic submissions (default 40: the master's answers and the corpus's buggy,
cheating and faulty ones, in turn; the corpus entry that loops forever is left out, its
timeouts would measure the timeout), grades them once with `nbgrader autograde` and once
with `rnn-grade autograde --jobs JOBS` (default: cores + 1), each in its own copy of the
course, and prints seconds per submission, their ratio, and the floor: starting a bare
kernel and running the master notebook once, as autograde does.
"""

import os
import statistics
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

import nbformat
from conftest import ROOT, copy_course
from corpus import CORPUS
from test_corpus import answers_of

from rnn_solutions import classgrader, course, judge
from rnn_solutions.samples import ASSIGNMENT, NOTEBOOK, fill_answers, master_answers


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


def floor(runs=3):
    """Median seconds to start a kernel and run the master notebook with the judge."""
    folder = ROOT / "source" / ASSIGNMENT
    nb = nbformat.read(folder / NOTEBOOK, as_version=4)
    return statistics.median(
        timed(lambda: judge.execute(nbformat.from_dict(nb), folder)) for _ in range(runs))


CORES = os.cpu_count() or 1


def main(k=40, jobs=CORES + 1):
    """Run the benchmark and print its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = make_course(Path(tmp) / "plain", k)
        parallel = make_course(Path(tmp) / "parallel", k)
        sequential = timed(lambda: course.nbgrader(plain, "autograde", ASSIGNMENT, "--force"))
        with open(os.devnull, "w") as quiet:
            ours = timed(lambda: classgrader.autograde(parallel, ASSIGNMENT, jobs, out=quiet))
        same = course.scores(plain) == course.scores(parallel)
    bare = floor()
    print(f"{k} submissions, {jobs} workers, {CORES} cores")
    print(f"nbgrader autograde (sequential): {sequential / k:6.2f} s per submission")
    print(f"rnn-grade autograde --jobs {jobs}:    {ours / k:6.2f} s per submission")
    print(f"ratio:                           {sequential / ours:6.2f}x")
    print(f"floor (kernel + master notebook): {bare:5.2f} s; class grader per submission "
          f"x cores = {ours / k * CORES:.2f} s = "
          f"{ours / k * CORES / bare:.2f}x the floor")
    print(f"same scores for every student: {same}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
