"""Grade a whole class in parallel: `rnn-grade autograde ASSIGNMENT --jobs N`.

`nbgrader autograde` grades one submission after another and pays for a new nbgrader
process each time it is run. Here N worker processes each load nbgrader and the course
configuration once, then autograde one student at a time through nbgrader's own API
(`NbGraderAPI.autograde`), into the same gradebook, with the same preprocessors, so the
scores are nbgrader's. A student counts as graded only when their completion record
(`submissions.py`) matches their current submission: a run killed anywhere (while
copying, executing, saving grades) is resumed by running the same command again, which
grades exactly the students without one and says which of them an interrupted run had
started. `--force` regrades everyone. A submission that fails is reported and the others
go on; a progress line shows the ETA; the summary names the submissions that tried to
forge their grades, and says loudly when kernels could not be sandboxed.

    rnn-grade autograde ASSIGNMENT [--jobs N] [--force] [--course DIR] [--dask SCHEDULER]
    rnn-grade report ASSIGNMENT [--course DIR]
"""

import concurrent.futures as futures
import contextlib
import gc
import multiprocessing
import os
import sys
import threading
import time
import warnings
from pathlib import Path

from rnn_solutions.engine import execute, recovery, sandbox, submissions
from rnn_solutions.engine.report import write_report

_api = None  # the worker's NbGraderAPI, made once per worker process
KERNEL_START_FAILURES = ("Kernel died before replying", "Kernel didn't respond")


def _start_worker(root, warm=True):
    """Load nbgrader and the course's nbgrader_config.py once in this worker; warm --
    whether its kernels are forked warm (sandbox.py), else started plain."""
    global _api
    from nbgrader.apps import NbGraderAPI

    # nbgrader's own SQLAlchemy usage warns on every submission; the scores are unaffected
    warnings.filterwarnings("ignore", message=".*not in session.*")
    _share_gradebook_engine()
    os.chdir(root)
    submissions.tools_on_path()
    config = submissions.course_config(root)
    if not warm:
        config.JudgedExecute.warm_kernels = False
    _api = NbGraderAPI(submissions.course_directory(root, config), config=config)


def _share_gradebook_engine():
    """In this worker, one database engine per gradebook, its tables checked once.

    nbgrader makes about ten `Gradebook` objects per submission, each with a new engine
    that inspects the tables, creates missing ones, checks the course and is disposed:
    about half of the grading process's own CPU (measured: 142 of ~280 ms per
    submission; 46 with one engine). The rows written are the same."""
    import nbgrader.api as api
    from sqlalchemy.orm import scoped_session, sessionmaker

    if getattr(api.Gradebook, "shared_engines", None) is not None:
        return
    engines, checked, check_once = {}, set(), api.Gradebook.__init__
    new_engine = api.create_engine

    def engine(url, **options):
        key = (str(url), tuple(sorted(options.items())))
        if key not in engines:
            engines[key] = new_engine(url, **options)
        return engines[key]

    def init(self, db_url, course_id="default_course", authenticator=None):
        if (str(db_url), course_id) not in checked:
            check_once(self, db_url, course_id, authenticator)  # with the shared engine
            checked.add((str(db_url), course_id))
            return
        self.engine = engine(db_url, echo=False, future=True)
        self.db = scoped_session(sessionmaker(autoflush=True, bind=self.engine, future=True))
        self.course_id, self.authenticator = course_id, authenticator

    api.create_engine = engine
    api.Gradebook.__init__ = init
    api.Gradebook.close = lambda self: self.db.remove()  # the engine stays for the next
    api.Gradebook.shared_engines = engines


def _grade_at(root, assignment, student, comments=None, staged=None):
    """Autograde one student on a Dask worker, loading nbgrader there on first use.

    Dask runs a task again when the worker holding its result dies; `_on_dask` removed the
    records of the students it grades, so a record matching the submission says this
    task already graded the student, who is not graded twice."""
    if submissions.is_complete(root, assignment, student):
        return student, True, "", f"[INFO] {student}: graded already (a task run again)\n"
    if _api is None or Path(_api.coursedir.root) != Path(root):
        _start_worker(root)
    return _grade(assignment, student, comments, staged)


def _grade(assignment, student, comments=None, staged=None, tries=2):
    """Autograde one student in this worker; (student, success, error text, log).

    comments -- None, or {answer grade_id: comment} for a recovered submission: it is
    graded from its staged copy (submissions.RECOVERED), and each comment is saved as the
    answer cell's automatic comment in the gradebook (the feedback shows it);
    staged -- the digest of the submission when that copy was made (the record says so).
    The completion record is removed first and written last, once nbgrader has saved
    every grade. A kernel that fails to start is tried again once.
    """
    root = _api.coursedir.root
    graded = staged or submissions.digest(root, assignment, student)  # what this run grades
    submissions.forget_completion(root, assignment, student)
    submitted = _api.coursedir.submitted_directory
    if comments is not None:
        _api.coursedir.submitted_directory = str(submissions.RECOVERED)
    try:
        for _ in range(tries):
            result = _api.autograde(assignment, student, force=True, create=True)
            error = result.get("error") or ""
            log = result.get("log") or ""
            if result.get("success") or \
                    not any(m in error + log for m in KERNEL_START_FAILURES):
                break
    finally:
        _api.coursedir.submitted_directory = submitted
    success = bool(result.get("success")) and _all_grades_saved(assignment, student)
    if success:
        _save_comments(assignment, student, comments or {})
        submissions.mark_complete(root, assignment, student, graded)
    elif result.get("success"):
        error = "nbgrader reported success, but the gradebook lacks some of the grades"
    return student, success, error, log


def _all_grades_saved(assignment, student):
    """Whether the gradebook holds a score for every autograded cell of the submission
    (nbgrader creates the grade rows empty when it starts, and fills them at the end)."""
    from nbgrader.api import MissingEntry

    with _api.gradebook as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return False
        grades = [g for nb in submission.notebooks for g in nb.grades]
        return bool(grades) and all(g.auto_score is not None
                                    for g in grades if not g.needs_manual_grade)


def _save_comments(assignment, student, comments):
    """Add each comment to the automatic comment of its answer cell in the gradebook."""
    if not comments:
        return
    with _api.gradebook as gb:
        for grade_id, text in comments.items():
            comment = gb.find_comment(grade_id, assignment, assignment, student)
            comment.auto_comment = " ".join(filter(None, [comment.auto_comment, text]))
        gb.db.commit()


def autograde(root, assignment, jobs=2, force=False, out=sys.stderr, dask=None,
              summary=True, warm=True, early=None):
    """Autograde every submission of the assignment with `jobs` workers; return failures.

    warm -- fork each kernel from the worker's warm fork server (sandbox.py), as the
    course's configuration says by default; False: start every kernel plain (local
    workers only: Dask workers follow the configuration).

    summary -- print the NOT GRADED, forgery and sandbox lines at the end (the course
    command prints them under its score table instead).

    dask -- None: worker processes on this machine; "local": a Dask LocalCluster of `jobs`
    worker processes; any other string: the address of a running Dask scheduler, whose
    workers see the course directory at the same path (a shared filesystem).
    early -- a fork server started before the grader loaded (cli.py), or None: used if it
    is the one the course grades with, else closed.
    CourseError when a precondition is missing (no release, no gradebook, ...).
    """
    root = Path(root).resolve()
    problem = submissions.precondition(root, assignment)
    if problem:
        raise submissions.CourseError(problem)
    submissions.require_gradebook_assignment(root, assignment)
    release = submissions.release_notebook(root, assignment)
    server = None if dask else _prestart(root, warm)
    if early is not None and early is not server:
        early.close()  # started for a kernel the course does not grade with
    everyone = submissions.students(root, assignment)
    in_gradebook = _graded_students(root, assignment)
    # todo: {student: (gradebook comments, digest of the staged copy) if recovered, else
    # (None, None)}
    failures, todo, interrupted, recovered = {}, {}, [], {}
    for student in everyone:
        try:
            found = submissions.examine(root / "submitted" / student / assignment, release)
        except recovery.UnrecoverableError as error:
            failures[student] = str(error)
            continue
        if found:
            recovered[student] = found.summary()
        if force or student not in in_gradebook or \
                not submissions.is_complete(root, assignment, student):
            todo[student] = staged(root, assignment, student, found)
            if submissions.was_started(root, assignment, student):
                interrupted.append(student)
    submissions.write_recovery_notes(root, assignment, recovered)
    skipped = len(everyone) - len(todo) - len(failures)
    workers = f"{jobs} workers" if not dask or dask == "local" else f"Dask at {dask}"
    print(f"{len(todo)} to grade with {workers} ({len(recovered)} recovered), "
          f"{skipped} already graded, {len(failures)} unreadable", file=out)
    if interrupted:
        print(f"regraded after an interrupted run: {', '.join(interrupted)}", file=out)
    progress = Progress(len(todo), out)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # workers side by side: no BLAS spinning
    kind = sandbox.mode_for(submissions.course_config(root).JudgedExecute.get("sandbox", True))
    execute.say_protection(None, kind)  # the log says it once, below: not every worker
    results = _on_dask(root, assignment, todo, jobs, dask) if dask else \
        _on_processes(root, assignment, todo, jobs, out, warm, server if todo else None)
    (root / "autograded").mkdir(exist_ok=True)
    with open(root / "autograded" / "autograde.log", "a") as log_file:
        log_file.write(f"[INFO] {sandbox.protection(kind)}\n")  # once, for every worker
        for student, success, error, log in results:
            log_file.write(log)
            if not success:
                failures[student] = "nbgrader could not grade it: " + _last_line(error)
                _forget_failed(root, assignment, student)
            progress.step(student)
    if summary:
        for student, found in sorted(failures.items()):
            print(f"NOT GRADED {student}: {found}", file=out)
        print(warnings_of(root, assignment), file=out, end="")
    return failures


def staged(root, assignment, student, found):
    """What _grade needs of a student's submission that examine() found readable:
    (comments, digest) of a recovered one, staged now (the digest first: a resubmission
    while staging is graded again), or (None, None) for one graded as it is."""
    if found:
        digest = submissions.digest(root, assignment, student)
        submissions.stage(root, assignment, student, found)
        return found.comments(), digest
    submissions.unstage(root, assignment, student)
    return None, None


def warnings_of(root, assignment):
    """Lines for the instructor: recovered submissions, attempted forgeries, kernels that
    were not sandboxed."""
    text = "".join(f"RECOVERED {student}: {notes}\n" for student, notes
                   in sorted(submissions.recovery_notes(root, assignment).items()))
    records = execute.read_records(root, assignment)
    for student, record in records.items():
        if record["forgeries"]:
            first = record["forgeries"][0]
            text += (f"ATTEMPTED FORGERY {student}: the judge refused "
                     f"{len(record['forgeries'])} requests from the notebook (first: {first})\n")
        if record["removed"]:
            text += (f"ACTIVE CONTENT REMOVED {student}: {'; '.join(record['removed'])}; "
                     "its pages show the rest as text\n")
        if record["kept_out"]:
            text += (f"KEPT OUT {student}: {', '.join(record['kept_out'])} (handed in beside "
                     "the notebook, not the release's: left in submitted/ only)\n")
    # what protected the course in this run (once, for every kernel alike); else here
    kinds = {record["sandbox"] for record in records.values()} or {sandbox.mode()}
    return text + "".join(sandbox.protection(kind) + "\n" for kind in sorted(kinds))


def _graded_students(root, assignment):
    """Students with a submission of the assignment in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(submissions.gradebook_url(root)) as gb:
        return {s.student.id for s in gb.find_assignment(assignment).submissions}


def _forget_failed(root, assignment, student):
    """Remove what a failed autograde left: a submission without grades in the gradebook,
    and a completion record another try of the same student may have written."""
    from nbgrader.api import Gradebook, MissingEntry

    submissions.forget_completion(root, assignment, student)
    with Gradebook(submissions.gradebook_url(root)) as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass


def default_jobs():
    """Twice the cores: a worker also waits (on its kernel, the judge, the gradebook's
    writes to disk), and with warm kernels one per core leaves cores idle (measured on
    2 cores, 40 submissions: 0.53 s per submission with 3 workers, 0.46 with 4)."""
    return 2 * (os.cpu_count() or 1)


def _can_fork():
    """Whether worker processes may be forked from this one: only without other threads
    (a caller such as pytest or a notebook may have some)."""
    return threading.active_count() == 1


def _prestart(root, warm):
    """The warm kernels' fork server, starting now (beside the reading of submissions
    and the imports) for the workers to share; None if they will not share one."""
    judged = submissions.course_config(root).JudgedExecute
    if warm and _can_fork() and judged.get("sandbox", True) and \
            judged.get("warm_kernels", True):
        return sandbox.prestart(submissions.execution(root)[0])
    return None


def _on_processes(root, assignment, todo, jobs, out, warm=True, server=None):
    """Grade on local worker processes; yield (student, success, error, log) as they finish.

    The workers are forked from this process once it has imported nbgrader and `server`
    (the warm kernels' fork server, or None) is ready: they share both instead of paying
    for each (2.5 and 1 core-seconds). A worker that dies costs the students it had,
    reported as not graded, not the run."""
    forked = _can_fork()
    import nbgrader.apps  # noqa: F401 -- imported once here, inherited by every worker
    import nbgrader.converters.autograde  # noqa: F401

    if server is not None:
        with contextlib.suppress(sandbox.ForkError):  # else each kernel starts plain
            server.started()
    if forked:
        # what the workers inherit is never garbage: their collections skip it (a full
        # one scanned it all, 90 ms every few submissions) and leave its pages shared
        gc.freeze()
    context = multiprocessing.get_context("fork" if forked else "spawn")
    with futures.ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                                     initargs=(root, warm)) as pool:
        running = {pool.submit(_grade, assignment, student, *recovered): student
                   for student, recovered in todo.items()}
        try:
            for done in futures.as_completed(running):
                yield _result(done, running[done])
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            print("\ninterrupted: run again to grade the rest", file=out)
            raise
        finally:
            gc.unfreeze()  # this process's own collections as before


def _on_dask(root, assignment, todo, jobs, address):
    """Grade on Dask workers; yield (student, success, error, log) as they finish."""
    from distributed import Client, LocalCluster, as_completed

    if address == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    else:
        cluster = address
    with Client(cluster) as client:
        for student in todo:  # from now on, a student's record is this run's (_grade_at)
            submissions.forget_completion(root, assignment, student)
        running = {client.submit(_grade_at, str(root), assignment, student, *recovered,
                                 pure=False): student for student, recovered in todo.items()}
        for done in as_completed(running):
            result = _result(done, running.pop(done))
            done.release()  # read: not kept on a worker, nor computed again if it dies
            yield result
    if address == "local":
        cluster.close()


def _result(done, student):
    """A finished task's (student, success, error, log); a task that raised (its worker
    died, say) is a failure with the exception as its error."""
    try:
        return done.result()
    except Exception as exc:
        return student, False, f"the grading worker failed ({type(exc).__name__}: {exc})", ""


def _last_line(text):
    """The last non-empty line of a traceback."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


class Progress:
    """A one-line progress bar with the elapsed time and the ETA."""

    def __init__(self, total, out):
        self.total, self.done, self.out, self.start = total, 0, out, time.monotonic()

    def step(self, student):
        self.done += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        bar = "#" * (30 * self.done // self.total)
        print(f"\r[{bar:<30}] {self.done}/{self.total}  {elapsed:5.0f}s elapsed, "
              f"ETA {eta:4.0f}s  ({student})", end="", file=self.out, flush=True)
        if self.done == self.total:
            print(file=self.out)


def run(args, early=None):
    """Run rnn-grade's command (`args`, parsed by cli.py, which may have started the fork
    server: `early`)."""
    submissions.tools_on_path()
    try:
        if args.command == "autograde":
            jobs = default_jobs() if args.jobs is None else args.jobs
            autograde(args.course, args.assignment, jobs, args.force, dask=args.dask,
                      warm=not args.plain_kernels, early=early)
        elif args.command == "collect":
            from rnn_solutions.engine import collect

            print("\n".join(collect.collect(args.course, args.lms, args.assignment, args.zip,
                                            args.roster)))
        elif args.command == "export":
            from rnn_solutions.engine import lms

            path = Path(args.to or Path(args.course) / f"grades_{args.lms}.csv")
            path.write_text(lms.export(args.course, args.lms, args.roster, args.exercises),
                            encoding="utf-8")
            print(f"{path} written: import it in {args.lms.capitalize()}'s gradebook")
        elif args.command == "serve":
            from rnn_solutions.engine import service

            service.serve(args.course, once=args.once, jobs=args.jobs)
        elif args.command == "gradescope":
            from rnn_solutions.engine import gradescope

            path = gradescope.build(args.course, args.assignment, args.to)
            print(f"{path} written: upload it as the assignment's autograder on Gradescope")
        else:
            submissions.require_gradebook_assignment(args.course, args.assignment)
            print(write_report(args.course, args.assignment))
    except submissions.CourseError as error:
        sys.exit(f"rnn-grade: {error}")
    except KeyboardInterrupt:
        sys.exit("rnn-grade: interrupted; run the same command again to grade the rest")


if __name__ == "__main__":
    from rnn_solutions.engine import cli

    cli.main()
