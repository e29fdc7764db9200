"""Feedback seconds after a student hands in: `rnn-grade serve`.

    rnn-grade serve [--course DIR] [--jobs N] [--once]

Watches the course's inbound folder in nbgrader's exchange (`nbgrader submit` puts each
hand-in there as STUDENT+ASSIGNMENT+TIMESTAMP+RANDOM). Each new hand-in is collected (that
one, into submitted/), graded by a worker of the class grader (the same judge, sandbox and
warm kernels; the workers and their fork server stay up between hand-ins), and its
feedback generated and released to that student: `nbgrader fetch_feedback` (or the
assignment list's button) brings it back. A hand-in that cannot be graded gets its
"NOT GRADED ... what to do" line as its feedback. When a student hands in again before the
last one was taken, only the latest is graded (the older one is "superseded").

Attempts: `c.GradingService.attempts = {"rnn_step_by_step": 3}` allows three graded
hand-ins per student in each `c.GradingService.period` seconds; a hand-in past that is
collected and kept, graded by the next batch run (`rnn-grade autograde`, the course
command), and its feedback says so and when the next attempt is allowed.

Nothing is lost: each hand-in's outcome is recorded (autograded/.service/NAME.json) only
once its feedback is released; a service killed at any moment and started again does
every hand-in that has no record, and grades none twice (a submission graded already,
as the class grader's completion record says, is not graded again). Every outcome is
also a line of autograded/service.log (JSON: student, assignment, time, score, hints),
for the instructor.
"""

import concurrent.futures as futures
import contextlib
import functools
import html
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from traitlets import Dict, Float, Integer
from traitlets.config import Configurable

from rnn_solutions.engine import classgrader, recovery, submissions

DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"  # nbgrader's Exchange.root default
PR_SET_PDEATHSIG = 1


class GradingService(Configurable):
    """`rnn-grade serve`'s settings, in nbgrader_config.py as c.GradingService.<name>."""

    attempts = Dict(value_trait=Integer(), help="Graded hand-ins allowed per student in "
                    "each period, per assignment (an assignment not named: no limit)"
                    ).tag(config=True)
    period = Integer(24 * 3600, help="The period of `attempts`, in seconds").tag(config=True)
    jobs = Integer(2, help="Worker processes grading hand-ins side by side").tag(config=True)
    poll = Float(0.1, help="Seconds between two looks at the exchange's inbound folder"
                 ).tag(config=True)


def parse(name):
    """(student, assignment, timestamp) of an inbound hand-in's folder name, or None."""
    parts = name.rsplit("+", 3)
    return tuple(parts[:3]) if len(parts) == 4 and all(parts[:3]) else None


class Journal:
    """The service's records (autograded/.service/NAME.json, one per hand-in done) and
    the instructor's log (autograded/service.log)."""

    def __init__(self, root):
        self.folder = Path(root) / "autograded" / ".service"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = Path(root) / "autograded" / "service.log"
        self.names = {p.stem for p in self.folder.glob("*.json")}  # the hand-ins done

    def done(self, name):
        return name in self.names

    def record(self, name, outcome):
        """Keep a hand-in's outcome: the record (written whole), then the log's line (a
        service killed between the two leaves the line out, never a hand-in undone)."""
        partial = self.folder / f".{name}.json"
        partial.write_text(json.dumps(outcome))
        partial.replace(self.folder / f"{name}.json")
        self.names.add(name)
        with open(self.log, "a") as f:
            f.write(json.dumps({"handin": name, **outcome}) + "\n")

    def graded_since(self, student, assignment, since):
        """The times of the student's graded hand-ins of the assignment since `since`."""
        times = []
        for name in self.names:
            if (parse(name) or ())[:2] == (student, assignment):
                with contextlib.suppress(OSError, ValueError, KeyError):
                    outcome = json.loads((self.folder / f"{name}.json").read_text())
                    if outcome["state"] == "graded" and outcome["at"] >= since:
                        times.append(outcome["at"])
        return sorted(times)


def serve(root, once=False, jobs=None, out=sys.stdout):
    """Grade the hand-ins that arrive in the exchange until interrupted (once: until none
    is left to do); jobs -- workers (default: c.GradingService.jobs)."""
    root = Path(root).resolve()
    config = submissions.course_config(root)
    settings = GradingService(config=config)
    if jobs:
        settings.jobs = jobs
    course_id = submissions.course_directory(root, config).course_id
    inbound = Path(config.Exchange.get("root", DEFAULT_EXCHANGE)) / course_id / "inbound"
    journal = Journal(root)
    server = classgrader._prestart(root, warm=True)
    if server is not None:
        with contextlib.suppress(Exception):
            server.started()
    context = multiprocessing.get_context("fork" if classgrader._can_fork() else "spawn")
    print(f"serving {inbound} with {settings.jobs} workers", file=out, flush=True)
    before = signal.signal(signal.SIGTERM, stop)  # a service manager's stop, as Ctrl-C
    pool = futures.ProcessPoolExecutor(settings.jobs, mp_context=context,
                                       initializer=start_worker, initargs=(root,))
    try:
        loop(pool, settings, inbound, journal, once, out)
    except KeyboardInterrupt:
        print("stopped: the hand-ins not finished are done when the service starts again",
              file=out, flush=True)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        signal.signal(signal.SIGTERM, before)


def stop(*_):
    """SIGTERM: stop as Ctrl-C does."""
    raise KeyboardInterrupt


def loop(pool, settings, inbound, journal, once, out):
    """Hand each waiting hand-in to the workers, one per student's assignment at a time;
    record each outcome as it comes."""
    running = {}  # future -> (hand-in name, student, assignment)
    for _ in range(settings.jobs):  # every worker loads nbgrader now, not at a hand-in
        pool.submit(time.sleep, 0)
    while True:
        busy = {(s, a) for _, s, a in running.values()}
        for name, student, assignment in waiting(inbound, journal, running, out):
            if (student, assignment) in busy:
                continue  # its previous hand-in first
            busy.add((student, assignment))
            held = held_until(journal, settings, student, assignment)
            running[pool.submit(handle, name, str(inbound / name), student, assignment,
                                held)] = (name, student, assignment)
        finished, _ = futures.wait(running, timeout=settings.poll,
                                   return_when=futures.FIRST_COMPLETED)
        for future in finished:
            name, student, assignment = running.pop(future)
            outcome = outcome_of(future, student, assignment)
            journal.record(name, outcome)
            print(f"{name}: {outcome['state']} {outcome.get('score', '')}".rstrip(),
                  file=out, flush=True)
        if once and not running and not list(waiting(inbound, journal, running, out)):
            return


def ready(folder):
    """Whether `nbgrader submit` has finished writing a hand-in: it copies the files,
    then writes timestamp.txt, then submission_secret.txt (128 characters). A hand-in
    without a secret (an older nbgrader's) is taken a minute after its timestamp."""
    with contextlib.suppress(OSError):
        if len((folder / "submission_secret.txt").read_text()) == 128:
            return True
        return time.time() - (folder / "timestamp.txt").stat().st_mtime > 60
    return False


def start_worker(root):
    """A worker: the class grader's (nbgrader and the course loaded once), killed with
    the service (a hand-in it had not finished is done again at the next start), whose
    feedback pages reuse the templates they compiled (nbconvert compiles them for each
    page: a fifth of a page's time) and the code they highlighted."""
    import jinja2
    from nbconvert.exporters.templateexporter import TemplateExporter

    class Compiled(jinja2.BytecodeCache):
        """Each template's compiled code, kept by its name and source's checksum."""

        def __init__(self):
            self.kept = {}

        def load_bytecode(self, bucket):
            if bucket.key in self.kept:
                bucket.bytecode_from_string(self.kept[bucket.key])

        def dump_bytecode(self, bucket):
            self.kept[bucket.key] = bucket.bytecode_to_string()

    compiled, create = Compiled(), TemplateExporter._create_environment

    def environment(self):
        made = create(self)
        made.bytecode_cache = compiled
        return made

    TemplateExporter._create_environment = environment
    remember_highlighting()
    remember_markdown()
    import ctypes

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the service ends: so do we
    classgrader._start_worker(root)


HIGHLIGHTED = 20000  # cells' HTML a worker keeps, of each kind (a few KiB each)


def remember_highlighting():
    """Syntax-highlight each code cell's source once per worker: every hand-in of an
    assignment holds the same test and example cells (pygments took a quarter of a
    feedback page's time). The page is the same: highlighting depends on the source, the
    language and the cell's magics_language only."""
    from nbconvert.filters.highlight import Highlight2HTML

    highlight, kept = Highlight2HTML.__call__, {}

    def remembered(self, source, language=None, metadata=None):
        key = (source, language, self.pygments_lexer, repr(self.extra_formatter_options),
               (metadata or {}).get("magics_language"))
        if key not in kept:
            if len(kept) >= HIGHLIGHTED:
                kept.clear()
            kept[key] = highlight(self, source, language, metadata)
        return kept[key]

    Highlight2HTML.__call__ = remembered


def remember_markdown():
    """Render each markdown cell once per worker (every hand-in holds the release's):
    the same HTML, which depends on the source, the cell's attachments, the exporter's
    settings and, for embedded images only, the notebook's folder."""
    from nbconvert.exporters.html import HTMLExporter

    render, kept = HTMLExporter.markdown2html, {}

    @functools.wraps(render)  # jinja passes the context as the original asks
    def remembered(self, context, source):
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        key = (source, repr(cell.get("attachments", {})), path if self.embed_images else "",
               self.anchor_link_text, self.exclude_anchor_links, repr(self.lexer_options))
        if key not in kept:
            if len(kept) >= HIGHLIGHTED:
                kept.clear()
            kept[key] = render(self, context, source)
        return kept[key]

    HTMLExporter.markdown2html = remembered


def waiting(inbound, journal, running, out):
    """The hand-ins without a record, oldest first: (name, student, assignment). A hand-in
    followed by a later one of the same student and assignment is recorded superseded;
    one that `nbgrader submit` is still writing waits."""
    taken = {name for name, _, _ in running.values()}
    names = [n for n in (os.listdir(inbound) if inbound.is_dir() else [])
             if parse(n) and n not in taken and not journal.done(n) and ready(inbound / n)]
    latest = {}
    for name in sorted(names, key=lambda n: parse(n)[2]):
        latest[parse(name)[:2]] = name
    for name in sorted(names, key=lambda n: parse(n)[2]):
        student, assignment, _ = parse(name)
        if latest[(student, assignment)] != name:
            journal.record(name, {"state": "superseded", "student": student,
                                  "assignment": assignment, "at": time.time()})
            print(f"{name}: superseded", file=out, flush=True)
            continue
        yield name, student, assignment


def held_until(journal, settings, student, assignment):
    """None if the hand-in may be graded now, else when the student's next graded attempt
    is allowed (seconds since the epoch)."""
    limit = settings.attempts.get(assignment)
    if limit is None:
        return None
    times = journal.graded_since(student, assignment, time.time() - settings.period)
    return None if len(times) < limit else times[len(times) - limit] + settings.period


def outcome_of(future, student, assignment):
    """A finished hand-in's outcome; a worker that failed makes it "not graded"."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 -- recorded, and the service goes on
        return {"state": "not graded", "student": student, "assignment": assignment,
                "at": time.time(), "why": f"the grading worker failed: {exc}"}


def handle(name, source, student, assignment, held=None):
    """In a worker: collect the hand-in at `source`, grade it (unless held), generate and
    release its feedback; its outcome. One student's assignment is handled by one process
    at a time (a worker of a killed service may still be finishing it)."""
    import fcntl

    root = Path(classgrader._api.coursedir.root)
    with open(root / "autograded" / ".service" / f".{student}+{assignment}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _handle(name, source, student, assignment, held)


def _handle(name, source, student, assignment, held):
    api = classgrader._api
    root = Path(api.coursedir.root)
    outcome = {"student": student, "assignment": assignment, "at": time.time()}
    collect(api, source, student, assignment)
    if held is not None:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(held))
        release_page(api, student, assignment, "Kept, not graded yet", (
            "You have used the graded attempts this assignment allows for now. This hand-in "
            "is kept: it will be graded in the course's next grading run, or you may hand "
            f"in again for immediate feedback from {when}."))
        return {**outcome, "state": "held", "until": held}
    try:
        found = submissions.examine(root / "submitted" / student / assignment,
                                    submissions.release_notebook(root, assignment))
    except recovery.UnrecoverableError as error:
        return not_graded(api, outcome, str(error))
    comments, digest = classgrader.staged(root, assignment, student, found)
    now = not submissions.is_complete(root, assignment, student)  # graded already: once
    if now:
        _, success, error, _ = classgrader._grade(assignment, student, comments, digest)
        if not success:
            classgrader._forget_failed(root, assignment, student)
            return not_graded(api, outcome, "nbgrader could not grade it: " +
                              classgrader._last_line(error))
    made = api.generate_feedback(assignment, student)
    if made.get("success"):
        for_each_notebook(root, student, assignment)
        api.release_feedback(assignment, student)
    else:  # graded all the same: the student hears so, the instructor reads why
        release_page(api, student, assignment, "Graded", (
            "This hand-in was graded, but its feedback page could not be made; your "
            "instructor has the details."))
    return {**outcome, "state": "graded", "graded_now": now,
            **score_of(root, student, assignment),
            **({} if made.get("success") else {
                "no_feedback": classgrader._last_line(made.get("error") or "")})}


def collect(api, source, student, assignment):
    """This hand-in into submitted/STUDENT/ASSIGNMENT, as `nbgrader collect` copies one
    (whole: copied beside it first, then put in place)."""
    dest = Path(api.coursedir.format_path(api.coursedir.submitted_directory, student,
                                          assignment))
    partial = dest.with_name(f".{assignment}.collecting")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    collector = api.exchange.Collect(coursedir=api.coursedir,
                                     authenticator=api.authenticator, parent=api)
    collector.do_copy(source, str(partial))
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)


def not_graded(api, outcome, why):
    """Release a NOT GRADED page as the hand-in's feedback; its outcome."""
    release_page(api, outcome["student"], outcome["assignment"], "NOT GRADED",
                 f"NOT GRADED: {why}")
    return {**outcome, "state": "not graded", "why": why}


def release_page(api, student, assignment, title, text):
    """A page of ours (for each notebook of the hand-in) as its feedback, released."""
    root = Path(api.coursedir.root)
    submitted = root / "submitted" / student / assignment
    folder = root / "feedback" / student / assignment
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in ("timestamp.txt", "submission_secret.txt"):
        if (submitted / name).exists():
            shutil.copy(submitted / name, folder / name)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head><body><h1>{html.escape(assignment)}: {html.escape(title)}</h1>"
            f"<p>{html.escape(text)}</p></body></html>")
    for notebook in submitted.glob("*.ipynb"):
        (folder / f"{notebook.stem}.html").write_text(page)
    api.release_feedback(assignment, student)


def for_each_notebook(root, student, assignment):
    """The feedback under the name of each notebook of the hand-in as well (the student's
    `fetch_feedback` looks for it by the name they handed in: a renamed notebook is graded
    as ASSIGNMENT.ipynb)."""
    folder = root / "feedback" / student / assignment
    made = folder / f"{assignment}.html"
    for notebook in (root / "submitted" / student / assignment).glob("*.ipynb"):
        if notebook.stem != assignment and made.exists():
            shutil.copy(made, folder / f"{notebook.stem}.html")


def score_of(root, student, assignment):
    """{"score", "max_score", "hints": {grade_id: what the grader said}} of a graded one."""
    from nbgrader.api import Gradebook

    from rnn_solutions.engine.gradescope import feedback_of

    with Gradebook(submissions.gradebook_url(root)) as gb:
        submission = gb.find_submission(assignment, student)
        score, most = submission.score, submission.max_score
    hints = {g: text for g, text in feedback_of(root, assignment, student).items() if text}
    return {"score": score, "max_score": most, "hints": hints}
