"""Benchmark: sequential `nbgrader autograde` against the class grader, in one run.

    make bench    (or, in tests/: python bench.py [K] [JOBS] [ROUNDS] [ASSIGNMENT...])

For each assignment (default: both), makes K synthetic submissions (default 40: the
master's answers and its corpus's buggy, cheating and faulty ones, in turn; the corpus
entry that loops forever is left out, its timeouts would measure the timeout). Then,
ROUNDS times (default 3), each in its own copy of the course:

- `nbgrader autograde` of them all, one after another, with plain kernels (the plain
  tool: a fresh kernel per notebook, as before warm kernels);
- `rnn-grade autograde --jobs JOBS` (default: twice the cores) with warm kernels (forked by the
  fork server, sandbox.py), and with `--plain-kernels`;
- the floor: starting a bare plain kernel and running the master notebook once, as
  autograde does (the median of 5).

For each it prints seconds per submission (wall time) and, per submission, the CPU
seconds of the grading processes (this process's children: nbgrader, or the workers;
for the warm run, plus the fork servers' start, measured once here) and of the kernels
(each measured by its kernel manager, kept in the judge's records; not the few that
die: corpus entries end their own process). Peak memory per
worker is sampled during the warm run: the proportional set size (PSS: pages shared by
forked processes counted once) of `rnn-grade` with its workers, fork server and kernels,
at its largest, divided by the number of workers. rnn-grade runs as its own process, as
an instructor runs it, so each run pays its own start. (As another user than root, the
fork server and supervisors, not dumpable, cannot be read and count 0.) Last, the warm
run once more with 5 x K submissions: its seconds per submission against the K run's say
whether the cost grows linearly.
The summary takes the median of each column over the rounds.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from itertools import cycle, islice
from pathlib import Path

import nbformat
from conftest import ROOT, copy_course, execute
from corpus import CORPUS
from lstm_corpus import CORPUS as LSTM_CORPUS
from test_corpus import answers_of

from rnn_solutions.engine import course, sandbox, submissions
from rnn_solutions.rnn_step_by_step.samples import fill_answers, master_answers

CORPORA = {"rnn_step_by_step": CORPUS, "lstm_step_by_step": LSTM_CORPUS}
CORES = os.cpu_count() or 1


def make_course(root, k, assignment):
    """A course copy with k submissions of the assignment and its release generated."""
    copy_course(root, ("source", "release", "nbgrader_config.py"))
    notebook = submissions.notebook_name(assignment)
    release = nbformat.read(ROOT / "release" / assignment / notebook, as_version=4)
    master = master_answers(nbformat.read(ROOT / "source" / assignment / notebook, 4))
    # not the attacks on resources: they are bounded by design, not timed
    mix = [None] + [e for e in CORPORA[assignment]
                    if e.name != "loops_forever" and e.kind != "resource"]
    for i, entry in enumerate(islice(cycle(mix), k)):
        answers = master if entry is None else answers_of(entry, master)
        folder = root / "submitted" / f"s{i:03d}" / assignment
        folder.mkdir(parents=True)
        nbformat.write(fill_answers(release, answers), folder / notebook)
    code, log = course.nbgrader(root, "generate_assignment", assignment, "--force")
    assert code == 0, log
    return root


def own_cpu(who):
    """CPU seconds of this process (RUSAGE_SELF) or of its reaped children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def kernel_cpu(root, assignment):
    """CPU seconds all kernels of the last grading of the assignment took, as the judge's
    records say (execute.py: measured by the kernel manager; a kernel that died is not)."""
    folder = Path(root) / "autograded" / ".judge" / assignment
    return sum(json.loads(p.read_text())["kernel_cpu"] for p in folder.glob("*.json"))


def measured(action, root, assignment, k, extra=0.0):
    """Run action; (wall, grading CPU, kernel CPU) in seconds per submission. Grading CPU
    is this process's reaped children's (nbgrader, or the workers) plus `extra`."""
    wall, children = time.perf_counter(), own_cpu(resource.RUSAGE_CHILDREN)
    action()
    wall = time.perf_counter() - wall
    grading = own_cpu(resource.RUSAGE_CHILDREN) - children + extra
    return wall / k, grading / k, kernel_cpu(root, assignment) / k


def fork_server_cpu():
    """CPU seconds a fork server takes to start (its imports), paid once per rnn-grade
    run (its workers share it): its process is nobody's reaped child, so it is measured
    here and added."""
    server = sandbox.prestart(submissions.execution(ROOT)[0]).started()
    used = sandbox.tree_usage(server.process.pid)["cpu"]
    sandbox.close_zygotes()
    return used


class PeakMemory:
    """Samples, while running, the PSS of a process with all its descendants; `peak` is
    the largest total in MiB (None where /proc could not be read). Once a second: the
    kernel walks every page table to answer, and at twice a second the sampling took 3%
    of the CPU of the run it measures."""

    def __init__(self, every=1.0):
        self.every, self.pid, self.peak = every, None, None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def _sample(self):
        while not self.stop.wait(self.every):
            if self.pid is None:
                continue
            parents = {}
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        parents[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
            tree, total = [self.pid], 0
            while tree:
                pid = tree.pop()
                tree += [p for p, parent in parents.items() if parent == pid]
                total += pss(pid)
            if total:
                mib = total / 1024
                self.peak = mib if self.peak is None else max(self.peak, mib)


def rnn_grade(root, assignment, jobs, warm, memory=None):
    """`rnn-grade autograde` of every submission, as an instructor runs it (its own
    process: it pays its own start); memory -- a PeakMemory to watch it."""
    command = [str(ROOT / ".venv" / "bin" / "rnn-grade"), "autograde", assignment, "--force",
               "--jobs", str(jobs), "--course", str(root)] + ([] if warm else ["--plain-kernels"])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    if memory is not None:
        memory.pid = process.pid
    _, errors = process.communicate()
    assert process.returncode == 0, errors[-2000:]


def pss(pid):
    """A process's proportional set size in KiB (0 if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cell_scores(root, assignment):
    """{student: {grade id: score}}: every graded cell's score in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(submissions.gradebook_url(root)) as gb:
        return {s.student.id: {g.name: g.score for nb in s.notebooks for g in nb.grades}
                for s in gb.find_assignment(assignment).submissions}


def floor(assignment, runs=5):
    """Median seconds to start a plain kernel and run the master notebook with the judge."""
    folder = ROOT / "source" / assignment
    nb = nbformat.read(folder / submissions.notebook_name(assignment), as_version=4)

    def once():
        start = time.perf_counter()
        execute(nbformat.from_dict(nb), folder, warm_kernels=False)
        return time.perf_counter() - start

    return statistics.median(once() for _ in range(runs))


def main(k=40, jobs=2 * CORES, rounds=3, *assignments):
    """Run the benchmark of each assignment `rounds` times; print each round, the
    medians, the scaling run and whether every run gave every cell the same score."""
    for assignment in assignments or CORPORA:
        bench(assignment, int(k), int(jobs), int(rounds))


RUNS = ("nbgrader", "warm", "plain")  # the ways of grading, as the table's columns


def bench(assignment, k, jobs, rounds):
    """The benchmark's tables for one assignment."""
    print(f"\n{assignment}: {k} submissions, {jobs} workers, {CORES} cores")
    print("seconds per submission (wall)           CPU s per submission   (grading | kernels)"
          "     warm: speed-up  x cores/floor  peak MiB/worker")
    print("round  nbgrader    warm   plain   floor  nbgrader        warm         plain"
          "       vs nbgrader")
    rows, scores = [], []
    with tempfile.TemporaryDirectory() as tmp:
        courses = {name: make_course(Path(tmp) / name, k, assignment)
                   for name in RUNS}
        starts = fork_server_cpu()  # one, shared by the warm run's workers
        for n in range(1, rounds + 1):
            runs = {"nbgrader": measured(lambda: course.nbgrader(
                courses["nbgrader"], "autograde", assignment, "--force",
                "--JudgedExecute.warm_kernels=False"), courses["nbgrader"], assignment, k)}
            with PeakMemory() as memory:
                runs["warm"] = measured(lambda: rnn_grade(courses["warm"], assignment, jobs,
                                                          True, memory),
                                        courses["warm"], assignment, k, starts)
            runs["plain"] = measured(lambda: rnn_grade(courses["plain"], assignment, jobs,
                                                       False), courses["plain"], assignment, k)
            bare = floor(assignment)
            peak = None if memory.peak is None else memory.peak / jobs
            rows.append((runs, bare, peak))
            print(_row(n, runs, bare, peak), flush=True)
            scores.append({name: cell_scores(root, assignment)
                           for name, root in courses.items()})
        print(_median_row(rows))
        big = make_course(Path(tmp) / "big", 5 * k, assignment)
        wall_big = measured(lambda: rnn_grade(big, assignment, jobs, True), big, assignment,
                            5 * k)[0]
    wall_k = statistics.median(r[0]["warm"][0] for r in rows)
    print(f"throughput, warm: {1 / wall_k:.2f} submissions/s at {k}, {1 / wall_big:.2f} at "
          f"{5 * k} ({wall_big / wall_k:.2f}x the seconds per submission)")
    same = len({repr(run) for each in scores for run in each.values()}) == 1
    print(f"same per-cell scores in every run (nbgrader, warm, plain; every round): {same}")


def _row(label, runs, bare, peak):
    """One line of the table."""
    walls = " ".join(f"{runs[name][0]:7.2f}" for name in RUNS)
    cpus = "  ".join(f"{runs[name][1]:5.2f} | {runs[name][2]:4.2f}" for name in RUNS)
    warm = runs["warm"][0]
    memory = "n/a" if peak is None else f"{peak:.0f}"
    return (f"{label:<6}{walls} {bare:7.2f}  {cpus}   {runs['nbgrader'][0] / warm:5.2f}x "
            f"{warm * CORES / bare:10.2f}x {memory:>12}")


def _median_row(rows):
    """The medians of every column."""
    runs = {name: tuple(statistics.median(r[0][name][i] for r in rows) for i in range(3))
            for name in RUNS}
    bare = statistics.median(r[1] for r in rows)
    peaks = [r[2] for r in rows if r[2] is not None]
    return _row("median", runs, bare, max(peaks) if peaks else None)


if __name__ == "__main__":
    main(*sys.argv[1:])
