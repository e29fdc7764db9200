"""The corpus autograded end to end through nbgrader: every function earns what it should."""

import glob
import os
import re
import time

import nbformat
import pytest
from conftest import ROOT, copy_course, in_a_container, points
from corpus import CORPUS, SANDBOX
from lstm_corpus import CORPUS as LSTM_CORPUS

from rnn_solutions.engine import classgrader, course, execute, judge, submissions
from rnn_solutions.rnn_step_by_step.samples import (
    ASSIGNMENT,
    fill_answers,
    master_answers,
)

TIMEOUT = 5  # seconds a cell may run here; the whole master notebook takes about 3


def answers_of(entry, master):
    """The answer cells of a corpus entry: the master's, edited as the entry says."""
    answers = dict(master)
    for grade_id, edits in entry.edits.items():
        for old, new in edits:
            assert old in answers[grade_id], f"{entry.name}: {old!r} not in {grade_id}"
            answers[grade_id] = answers[grade_id].replace(old, new)
    answers.update(entry.cells)
    for grade_id, code in entry.before.items():
        answers[grade_id] = code + answers[grade_id]
    return answers


def corpus_course(root, entries, config="", samples=False, assignment=ASSIGNMENT):
    """A course whose submissions of `assignment` are the corpus entries (and the samples,
    if asked), release generated."""
    copy_course(root, ("source", "release", "nbgrader_config.py",
                       *(("submitted",) if samples else ())))
    with open(root / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.ExecutePreprocessor.timeout = {TIMEOUT}\n{config}")
    notebook = submissions.notebook_name(assignment)
    release = nbformat.read(ROOT / "release" / assignment / notebook, as_version=4)
    master = master_answers(nbformat.read(ROOT / "source" / assignment / notebook, 4))
    for entry in entries:
        folder = root / "submitted" / entry.name / assignment
        folder.mkdir(parents=True)
        nb = fill_answers(release, answers_of(entry, master))
        nb.cells[1:1] = [nbformat.v4.new_markdown_cell(text) for text in entry.markdown]
        nb.metadata.update(entry.metadata)
        nbformat.write(nb, folder / notebook)
        for name, text in entry.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
    code, log = course.nbgrader(root, "generate_assignment", assignment, "--force")
    assert code == 0, log
    return root


def full_points(assignment):
    """{exercise: points} of an assignment, from its master notebook."""
    found = {}
    for grade, value in points(assignment).items():
        found[course.exercise_of(grade)] = found.get(course.exercise_of(grade), 0) + value
    return found


FULL = full_points(ASSIGNMENT)  # exercise -> points, from the master notebook


class Watch:
    """The machine's free memory and disk and its number of processes, sampled every
    tenth of a second while a class is graded: their extremes, and their values before."""

    def __init__(self):
        import shutil
        import threading

        self.read = lambda: (memory_available(), shutil.disk_usage("/tmp").free,
                             len([p for p in os.listdir("/proc") if p.isdigit()]))
        self.before = self.read()
        self.lowest, self.most, self.done = list(self.before), self.before[2], False
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while not self.done:
            memory, disk, count = self.read()
            self.lowest = [min(self.lowest[0], memory), min(self.lowest[1], disk)]
            self.most = max(self.most, count)
            time.sleep(0.1)

    def stop(self):
        self.done = True
        self.thread.join()
        return self


def memory_available():
    """The machine's available memory, in bytes."""
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) << 10 for line in f if line.startswith("MemAvailable"))


WATCHED = {}  # sandbox mode -> Watch of its corpus run


@pytest.fixture(scope="module", params=["bubblewrap", "landlock"])
def graded(tmp_path_factory, request):
    """The corpus course, every entry autograded by the class grader (feedback and export,
    the course command's other steps, are tested with the samples): on this machine
    (bubblewrap), and in the reproduced condition of a container, where namespaces are
    refused (the Landlock fallback)."""
    root = corpus_course(tmp_path_factory.mktemp(f"corpus-{request.param}"), CORPUS)
    code = ("import os\nfrom rnn_solutions.engine import classgrader\n"
            f"print(classgrader.autograde({str(root)!r}, {ASSIGNMENT!r}, jobs=3, "
            "out=open(os.devnull, 'w')))")
    watch = Watch()
    if request.param == "landlock":
        run = in_a_container(code)
        assert run.stdout == "{}\n", run.stderr[-3000:]
    else:
        with open(os.devnull, "w") as quiet:
            assert classgrader.autograde(root, ASSIGNMENT, jobs=3, out=quiet) == {}
    WATCHED[request.param] = watch.stop()
    return root


def mode_of(root):
    """The sandbox the corpus course at root was graded in."""
    return "landlock" if "landlock" in root.name else "bubblewrap"


@pytest.fixture(scope="module")
def scores(graded):
    """{entry: {exercise: points}} from the gradebook."""
    return course.scores(graded, ASSIGNMENT)


@pytest.mark.slow
@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_entry_earns_exactly_its_expected_points(graded, scores, entry):
    """Buggy and cheating functions lose their own points only; valid ones and faults in
    other functions cost nothing."""
    expected = {**FULL, **entry.expect}
    assert scores[entry.name] == pytest.approx(expected), entry.kind


def test_corpus_covers_every_class():
    """At least 25 buggy variants, 8 valid alternatives, 8 cheats, 4 runtime faults, 12
    kinds of active content and 7 attacks on the machine's resources."""
    kinds = [e.kind for e in CORPUS]
    assert kinds.count("buggy") >= 25 and kinds.count("valid") >= 8
    assert kinds.count("cheat") >= 8 and kinds.count("fault") >= 4
    assert kinds.count("active") >= 12 and kinds.count("resource") >= 7


@pytest.mark.slow
def test_attempted_forgeries_are_recorded_for_the_instructor(graded):
    """The judge names exactly the entries that sent it requests no honest notebook sends."""
    records = execute.read_records(graded, ASSIGNMENT)
    tried = {student for student, record in records.items() if record["forgeries"]}
    assert tried == {"forged_verdicts", "asks_the_judge_for_answers",
                     "malformed_socket_traffic"}


@pytest.mark.slow
def test_summary_names_the_submissions_that_tried_to_forge(graded):
    """The instructor's summary has one ATTEMPTED FORGERY line per such submission, and no
    sandbox warning."""
    lines = classgrader.warnings_of(graded, ASSIGNMENT).splitlines()
    assert sorted(line.split(":")[0] for line in lines
                  if not line.startswith(("ACTIVE CONTENT REMOVED", "KEPT OUT", "sandbox"))) == [
        f"ATTEMPTED FORGERY {name}" for name in ("asks_the_judge_for_answers",
                                                 "forged_verdicts", "malformed_socket_traffic")]


@pytest.mark.slow
def test_summary_says_once_what_protected_the_course(graded):
    """One line of the summary names the sandbox every kernel ran in: bubblewrap here, the
    Landlock fallback where namespaces are refused."""
    lines = classgrader.warnings_of(graded, ASSIGNMENT).splitlines()
    said = {"bubblewrap": "sandbox: bubblewrap (namespaces)",
            "landlock": "sandbox: Landlock fallback"}[mode_of(graded)]
    assert [line for line in lines if line.startswith(("sandbox", "WARNING"))] == [
        next(line for line in lines if line.startswith(said))]


@pytest.mark.slow
def test_summary_names_every_submission_whose_active_content_was_removed(graded):
    """One ACTIVE CONTENT REMOVED line for each active entry and for no other entry: the
    instructor learns who tried, and no honest submission is named."""
    lines = classgrader.warnings_of(graded, ASSIGNMENT).splitlines()
    named = {line.split(":")[0].removeprefix("ACTIVE CONTENT REMOVED ") for line in lines
             if line.startswith("ACTIVE CONTENT REMOVED")}
    assert named == {e.name for e in CORPUS if e.kind == "active"}


@pytest.mark.slow
def test_files_handed_in_beside_the_notebook_stay_out_of_autograded(graded):
    """autograded/ holds the release's files and the notebook; the student's HTML, SVG and
    XML are named in the summary, and their copy of a release file is the release's."""
    folder = graded / "autograded" / "files_beside_the_notebook" / ASSIGNMENT
    release = graded / "release" / ASSIGNMENT
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == \
        sorted(p.relative_to(release) for p in release.rglob("*"))
    assert (folder / "rnncheck" / "checker.py").read_bytes() == \
        (release / "rnncheck" / "checker.py").read_bytes()
    lines = classgrader.warnings_of(graded, ASSIGNMENT).splitlines()
    assert [line for line in lines if line.startswith("KEPT OUT")] == [
        "KEPT OUT files_beside_the_notebook: derivation.html, figure.svg, notes/page.xml "
        "(handed in beside the notebook, not the release's: left in submitted/ only)"]


@pytest.mark.slow
def test_every_kernel_ran_in_the_sandbox(graded):
    """Every entry was executed by a kernel sandboxed as the machine allows (the attacks on
    the course rely on it)."""
    records = execute.read_records(graded, ASSIGNMENT)
    assert len(records) == len(CORPUS)
    assert {record["sandbox"] for record in records.values()} == {mode_of(graded)}


def autograded(root, assignment, student):
    """The student's autograded notebook."""
    return nbformat.read(root / "autograded" / student / assignment / f"{assignment}.ipynb", 4)


def printed(root, student, grade_id, assignment=ASSIGNMENT):
    """What a cell of the student's autograded notebook printed."""
    nb = autograded(root, assignment, student)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.output_type == "stream")


@pytest.mark.slow
def test_no_kernel_could_open_the_machine_settings(graded):
    """Graded end to end, a submission that opens /proc/sys and /proc/sysrq-trigger for
    writing is refused every time (bwrap's /proc leaves them writable to a root grader)."""
    lines = printed(graded, "opens_machine_settings", "rnn_cell_forward").splitlines()
    assert len(lines) == 3 and all(line.startswith("REFUSED") for line in lines), lines


@pytest.mark.slow
def test_no_kernel_finds_files_another_left(graded):
    """Two submissions each leave a file in /tmp and /dev/shm and list what they find
    there: each finds its own file only (every kernel has fresh ones), or, confined by
    Landlock, can neither write nor list them."""
    for name in ("leaves_files_a", "leaves_files_b"):
        found = [line for line in printed(graded, name, "rnn_cell_forward").splitlines()
                 if line.startswith("FOUND")]
        own = {"bubblewrap": f"['rnn_corpus_left_by_{name}']", "landlock": "[]"}
        assert found == [f"FOUND {own[mode_of(graded)]}"] * 2, found


@pytest.mark.slow
def test_no_kernel_sees_another_process(graded):
    """A submission listing /proc sees only its own PID namespace: the kernel and the
    namespace's init (which ignores any signal sent from inside), no other kernel, no
    grader. Confined by Landlock, it cannot list /proc, and can signal neither the
    machine's init nor its parent."""
    lines = printed(graded, "looks_for_other_processes", "rnn_cell_forward").splitlines()
    own = int(lines[0].removeprefix("SELF "))
    if mode_of(graded) == "bubblewrap":
        assert {int(line.split()[-1]) for line in lines[1:]} == {1, own}, lines
    else:
        assert lines[1] == "CANNOT LIST /proc", lines
        assert [line.split()[0] for line in lines[2:]] == ["CANNOT", "CANNOT"], lines


@pytest.mark.slow
def test_the_machine_kept_its_resources_while_the_attacks_ran(graded):
    """Three kernels at once, among them the fork bomb, the memory hog and the fillers of
    /tmp and the notebook's folder, never took more than their limits allow: free memory
    stayed above what it was less three kernels' memory and /tmp, free disk above what it
    was less three kernels' folders and a quarter second's writing (the watchdog's), and
    the processes below three kernels' limit more."""
    watch, jobs = WATCHED[mode_of(graded)], 3
    memory, disk, count = watch.before
    assert watch.lowest[0] > memory - jobs * ((1 << 30) + (256 << 20)) - (1 << 30), watch.lowest
    assert watch.lowest[1] > disk - jobs * ((512 << 20) + (256 << 20)) - (1 << 30), watch.lowest
    assert watch.most < count + jobs * (64 + 32) + 100, watch.most


@pytest.mark.slow
def test_nothing_a_kernel_started_outlives_it(graded):
    """The process a submission left spinning after its cell is gone once grading is over,
    and so are the fork bomb's and the memory hog's children."""
    import subprocess

    from test_sandbox import left_running

    assert subprocess.run(["pgrep", "-x", "rnn-spinner"], capture_output=True,
                          text=True).stdout == ""
    assert left_running("rnn-bomb") == left_running("rnn-hog") == 0


@pytest.mark.slow
def test_every_kernel_was_forked_warm(graded):
    """No kernel fell back to a plain start, in either sandbox: the fork server ran."""
    assert "starting the kernel plain" not in (graded / "autograded" / "autograde.log").read_text()


@pytest.mark.slow
def test_the_judge_never_raised(graded):
    """The autograde log holds no traceback from the judge, whatever the kernels sent."""
    log = (graded / "autograded" / "autograde.log").read_text()
    assert judge.__file__ not in log


@pytest.mark.slow
def test_attacks_on_the_course_succeed_without_the_sandbox(tmp_path, capsys):
    """Unsandboxed, the corpus's attacks on the course directory do steal full marks: they
    are real attacks, and the sandbox is what stops them."""
    attacks = [e for e in CORPUS if e.name in ("runs_the_master_notebook",
                                               "writes_the_gradebook")]
    root = corpus_course(tmp_path, attacks, "c.JudgedExecute.sandbox = False\n")
    course.grade(root)
    assert "WARNING: grading kernels were NOT sandboxed" in capsys.readouterr().out
    deadline = time.monotonic() + 30  # the gradebook writer's process outlives its kernel
    while time.monotonic() < deadline and course.scores(root, ASSIGNMENT) != {
            e.name: FULL for e in attacks}:
        time.sleep(1)
    assert course.scores(root, ASSIGNMENT) == {e.name: FULL for e in attacks}


@pytest.mark.slow
def test_attacks_on_the_sandbox_succeed_without_it(tmp_path):
    """Unsandboxed, the corpus's attacks on the sandbox do reach the machine: a setting
    opens for writing (as root), the second submission finds the first one's file, and
    the kernel sees the machine's processes."""
    root = corpus_course(tmp_path, SANDBOX, "c.JudgedExecute.sandbox = False\n")
    try:
        with open(os.devnull, "w") as quiet:  # one worker: a, then b
            classgrader.autograde(root, ASSIGNMENT, jobs=1, out=quiet)
        said = {e.name: printed(root, e.name, "rnn_cell_forward") for e in SANDBOX}
    finally:
        for leftover in glob.glob("/tmp/rnn_corpus_left_by_*") + \
                glob.glob("/dev/shm/rnn_corpus_left_by_*"):
            os.remove(leftover)
    if os.geteuid() == 0:
        assert "OPENED FOR WRITING /proc/sys/kernel/core_pattern" in said["opens_machine_settings"]
    assert "rnn_corpus_left_by_leaves_files_a" in said["leaves_files_b"]
    assert said["looks_for_other_processes"].count("SIGNAL") > 2


def told_why(root, assignment, student):
    """Whether a graded cell of the student's autograded notebook says why it failed: a
    line starting with `hint:` in its error output (the self-check's or the judge's)."""
    nb = autograded(root, assignment, student)
    errors = [line for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")
              for out in cell.get("outputs", []) if out.output_type == "error"
              for line in "\n".join(out.traceback).splitlines()]
    return any(re.search(r"(^|[-;] )hint: ", line) for line in errors)


def untold_and_told(root, assignment, corpus):
    """(buggy entries with no `hint:` line, valid entries with one) of a graded corpus."""
    told = {e.name: told_why(root, assignment, e.name) for e in corpus
            if e.kind in ("buggy", "valid")}
    return ([e.name for e in corpus if e.kind == "buggy" and not told[e.name]],
            [e.name for e in corpus if e.kind == "valid" and told[e.name]])


@pytest.mark.slow
def test_wrong_submissions_are_told_why_and_right_ones_hear_nothing(graded):
    """Graded end to end, every buggy entry gets a `hint:` line in a failing graded cell,
    and no valid alternative gets one."""
    assert untold_and_told(graded, ASSIGNMENT, CORPUS) == ([], [])


@pytest.mark.slow
def test_wrong_lstm_submissions_are_told_why_and_right_ones_hear_nothing(lstm_graded):
    """The same for the LSTM's corpus."""
    assert untold_and_told(lstm_graded, "lstm_step_by_step", LSTM_CORPUS) == ([], [])


# ---- the LSTM's corpus ----------------------------------------------------------------------

LSTM = "lstm_step_by_step"


@pytest.fixture(scope="module")
def lstm_graded(tmp_path_factory):
    """The LSTM corpus course, every entry autograded by the class grader."""
    root = corpus_course(tmp_path_factory.mktemp("lstm_corpus"), LSTM_CORPUS, assignment=LSTM)
    with open(os.devnull, "w") as quiet:
        assert classgrader.autograde(root, LSTM, jobs=3, out=quiet) == {}
    return root


@pytest.mark.slow
@pytest.mark.parametrize("entry", LSTM_CORPUS, ids=[e.name for e in LSTM_CORPUS])
def test_lstm_entry_earns_exactly_its_expected_points(lstm_graded, entry):
    """LSTM bugs and cheats lose their own function's points only; valid alternatives and
    faults in other functions cost nothing."""
    expected = {**full_points(LSTM), **entry.expect}
    assert course.scores(lstm_graded, LSTM)[entry.name] == pytest.approx(expected), entry.kind


def test_lstm_corpus_covers_every_class():
    """At least 20 LSTM bugs, 6 valid alternatives, and cheats and faults adapted."""
    kinds = [e.kind for e in LSTM_CORPUS]
    assert kinds.count("buggy") >= 20 and kinds.count("valid") >= 6
    assert kinds.count("cheat") >= 4 and kinds.count("fault") >= 4


@pytest.mark.slow
def test_lstm_forgery_is_recorded_and_every_kernel_sandboxed(lstm_graded):
    """The judge names the LSTM forger, and only it; every LSTM kernel ran sandboxed."""
    records = execute.read_records(lstm_graded, LSTM)
    assert {s for s, r in records.items() if r["forgeries"]} == {"forged_verdicts"}
    assert len(records) == len(LSTM_CORPUS) and all(r["sandboxed"] for r in records.values())
