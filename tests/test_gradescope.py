"""Gradescope: the autograder zip (gradescope.py) grades hand-ins in a local directory laid
out as Gradescope lays out /autograder, in the reproduced condition of a container (where
bubblewrap fails, as in Gradescope's), and what a hand-in does there cannot change them."""

import json
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from conftest import ASSIGNMENTS, CONTAINER, ROOT
from test_autograde import EXPECTED

from rnn_solutions.engine import gradescope, submissions
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT

# each assignment's samples: the perfect answers, the seed student's (or LSTM's carry-less
# backward), and the untouched release
SAMPLES = {a: [s for (b, s) in EXPECTED if b == a and s != "master" and
               (ROOT / "submitted" / s / a).is_dir() and s in
               ("perfect", "seed_student", "no_carry", "untouched")] for a in ASSIGNMENTS}


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    """{assignment: its autograder zip}, built from this course."""
    folder = tmp_path_factory.mktemp("zips")
    return {a: gradescope.build(ROOT, a, folder / f"autograder_{a}.zip") for a in ASSIGNMENTS}


def autograder(zip_path, folder):
    """A fresh /autograder layout in folder: source/ (the zip, unpacked), submission/,
    results/; its root."""
    root = folder / "autograder"
    with zipfile.ZipFile(zip_path) as zipped:
        zipped.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "results").mkdir()  # as Gradescope makes it: writable, to the grader
    return root


def run_autograder(root):
    """Run the zip's run_autograder on root, in the container condition (the grader's
    Python stands in for setup.sh's); results.json, and what it printed."""
    env = {"RNN_AUTOGRADER_ROOT": str(root), "RNN_AUTOGRADER_PYTHON": sys.executable,
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*CONTAINER, "bash", str(root / "source" / "run_autograder")],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text()), done.stdout


def test_the_zip_holds_what_gradescope_runs(zips):
    """setup.sh and run_autograder at the root, executable; the engine, the course and a
    gradebook; no submission and no grade."""
    for assignment, path in zips.items():
        with zipfile.ZipFile(path) as zipped:
            names = zipped.namelist()
            modes = {i.filename: i.external_attr >> 16 for i in zipped.infolist()}
        assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
        assert {"course/gradebook.db", "course/nbgrader_config.py", "pyproject.toml",
                f"course/release/{assignment}/{assignment}.ipynb",
                "rnn_solutions/engine/gradescope.py"} <= set(names)
        assert not [n for n in names if n.startswith(("course/submitted", "course/autograded"))]


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "sample"),
                         [(a, s) for a in ASSIGNMENTS for s in SAMPLES[a]])
def test_a_sample_earns_its_points(zips, tmp_path, assignment, sample):
    """Each test cell's score in results.json is what the class grader gives the sample;
    the total is their sum, and the sandbox in force is the Landlock fallback."""
    root = autograder(zips[assignment], tmp_path)
    for path in (ROOT / "submitted" / sample / assignment).glob("*.ipynb"):
        shutil.copy(path, root / "submission")
    results, printed = run_autograder(root)
    scores = {t["name"]: t["score"] for t in results["tests"]}
    assert scores == pytest.approx(EXPECTED[(assignment, sample)])
    assert results["score"] == pytest.approx(sum(scores.values()))
    assert "sandbox: Landlock fallback" in printed
    assert all(t["max_score"] > 0 and t["status"] in ("passed", "failed")
               for t in results["tests"])


@pytest.mark.slow
def test_a_failed_cell_says_why_and_no_hidden_value(zips, tmp_path):
    """The seed student's failed cells carry the grader's message (its hint); no passing
    cell says anything."""
    assignment = ASSIGNMENT
    root = autograder(zips[assignment], tmp_path)
    shutil.copy(ROOT / "submitted" / "seed_student" / assignment / f"{assignment}.ipynb",
                root / "submission")
    results, _ = run_autograder(root)
    for test in results["tests"]:
        if test["status"] == "failed":
            assert test["output"].startswith("HiddenChecksFailed: "), test
        else:
            assert test["output"] == "", test


ATTACKS = {  # code put first in an answer cell: it goes on only if the attack worked
    "rnn_cell_forward": "open({root!r} + '/source/rnn_solutions/rnn_step_by_step/rnn.py')"
                        ".read()\n",
    "rnn_forward": "open({root!r} + '/results/results.json', 'w').write("
                   "'{{\"score\": 1000, \"tests\": []}}')\n",
}


@pytest.mark.slow
def test_a_hand_in_can_neither_read_the_source_nor_write_the_results(zips, tmp_path):
    """The perfect answers, with one answer cell that first reads the hidden references and
    another that first writes results.json: both are refused, so those two functions are
    never defined and their cells earn nothing; every other cell earns its points."""
    assignment = ASSIGNMENT
    root = autograder(zips[assignment], tmp_path)
    nb = nbformat.read(ROOT / "submitted" / "perfect" / assignment / f"{assignment}.ipynb",
                       as_version=4)
    for cell in nb.cells:
        for function, code in ATTACKS.items():
            if f"def {function}(" in cell.source:
                cell.source = code.format(root=str(root)) + cell.source
    assert (root / "source/rnn_solutions/rnn_step_by_step/rnn.py").is_file()  # is there
    nbformat.write(nb, root / "submission" / f"{assignment}.ipynb")
    results, _ = run_autograder(root)
    scores = {t["name"]: t["score"] for t in results["tests"]}
    lost = {g for g in submissions.graded_cells(ROOT, assignment)
            if g.startswith(("test_rnn_cell_forward", "test_rnn_forward"))}
    assert {g for g, s in scores.items() if s == 0} == lost, scores
    assert results["score"] == pytest.approx(sum(scores.values()))
