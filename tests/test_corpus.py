"""The corpus autograded end to end through nbgrader: every function earns what it should."""

import nbformat
import pytest
from conftest import ROOT, copy_course
from corpus import CORPUS

from rnn_solutions import course
from rnn_solutions.samples import ASSIGNMENT, NOTEBOOK, fill_answers, master_answers

FULL = {"rnn_cell_forward": 5, "rnn_forward": 5, "rnn_cell_backward": 6, "rnn_backward": 6}
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


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    """Grade every corpus entry with `course.grade`; {entry: {exercise: points}}."""
    root = copy_course(tmp_path_factory.mktemp("corpus"), ("source", "release",
                                                          "nbgrader_config.py"))
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.ExecutePreprocessor.timeout = {TIMEOUT}\n")
    release = nbformat.read(ROOT / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    master = master_answers(nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, 4))
    for entry in CORPUS:
        folder = root / "submitted" / entry.name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(fill_answers(release, answers_of(entry, master)), folder / NOTEBOOK)
    code, log = course.nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    assert code == 0, log
    problems = course.grade(root)
    assert problems == {}
    return course.scores(root)


@pytest.mark.slow
@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_entry_earns_exactly_its_expected_points(scores, entry):
    """Buggy and cheating functions lose their own points only; valid ones and faults in
    other functions cost nothing."""
    expected = {**FULL, **entry.expect}
    assert scores[entry.name] == pytest.approx(expected), entry.kind


def test_corpus_covers_every_class():
    """At least 25 buggy variants, 8 valid alternatives, 8 cheats and 4 runtime faults."""
    kinds = [e.kind for e in CORPUS]
    assert kinds.count("buggy") >= 25 and kinds.count("valid") >= 8
    assert kinds.count("cheat") >= 8 and kinds.count("fault") >= 4
