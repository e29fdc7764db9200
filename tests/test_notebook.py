"""Every master notebook, its release and the sample submissions agree with the reference."""

import contextlib
import copy
import io
import json
import re

import nbformat
import numpy as np
import pytest
from conftest import ASSIGNMENTS, KERNEL, ROOT, copy_course, execute, grade_id, same
from nbclient import NotebookClient

from rnn_solutions.engine import course, handins, judge, submissions
from rnn_solutions.lstm_step_by_step import lstm
from rnn_solutions.rnn_step_by_step import rnn, samples
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT, NOTEBOOK
from rnn_solutions.rnncheck.checker import decode

DECLARED = submissions.declared(ROOT)
# each assignment's reference, and what its notebook's first cell defines
REFERENCE = {
    "rnn_step_by_step": (rnn, {"softmax": rnn.softmax}),
    "lstm_step_by_step": (lstm, {"softmax": rnn.softmax, "sigmoid": lstm.sigmoid}),
}
EXERCISES = [(a, name) for a in ASSIGNMENTS for name in DECLARED[a].exercises]
# the stored reference arrays (the LSTM's backward examples' caches) keep 12 digits
ROUNDED = 1e-11


def test_every_assignment_has_its_reference_here():
    """The table above covers every assignment the course declares."""
    assert set(REFERENCE) == set(ASSIGNMENTS)


def reference_namespace(assignment):
    """What an example cell sees: numpy, the notebook's helpers, the reference functions."""
    module, helpers = REFERENCE[assignment]
    return {"np": np, **helpers,
            **{name: getattr(module, name) for name in DECLARED[assignment].exercises}}


def master_notebook(assignment):
    """The master notebook of an assignment."""
    return nbformat.read(ROOT / "source" / assignment / submissions.notebook_name(assignment), 4)


def release_notebook(assignment):
    """The committed release notebook of an assignment."""
    return nbformat.read(ROOT / "release" / assignment / submissions.notebook_name(assignment),
                         4)


def students_example(assignment, name):
    """The example's inputs a student's self-check runs on, from the release's spec.json."""
    with open(ROOT / "release" / assignment / "spec.json") as f:
        return decode(json.load(f)["exercises"][name]["example"]["inputs"])


@pytest.mark.parametrize(("assignment", "name"), EXERCISES, ids=[f"{a}/{n}" for a, n in EXERCISES])
def test_example_cell_feeds_the_self_checks_inputs(assignment, name):
    """The arguments the notebook's example cell passes are, array for array, the inputs the
    self-check uses (stored in the students' spec.json)."""
    cells = {grade_id(c): c for c in master_notebook(assignment).cells}
    calls, namespace = [], reference_namespace(assignment)
    reference = namespace[name]

    def spy(*args):
        calls.append(copy.deepcopy(args))
        return reference(*args)

    namespace[name] = spy
    with contextlib.redirect_stdout(io.StringIO()):
        exec(cells[f"example_{name}"].source, namespace)
    assert len(calls) == 1
    assert same(list(calls[0]), students_example(assignment, name), ROUNDED)


@pytest.mark.parametrize(("assignment", "name"), EXERCISES, ids=[f"{a}/{n}" for a, n in EXERCISES])
def test_self_check_inputs_are_the_hidden_checks_example(assignment, name):
    """The students' example inputs are the grader's example case, array for array."""
    case = dict(DECLARED[assignment].cases(name))["example"]
    assert same(students_example(assignment, name), list(case.inputs.values()), ROUNDED)


@pytest.mark.parametrize(("assignment", "name"), EXERCISES, ids=[f"{a}/{n}" for a, n in EXERCISES])
def test_expected_output_is_what_the_reference_prints(assignment, name):
    """Each 'Expected output' block equals what the reference prints for its example cell."""
    cells = {grade_id(c): c for c in master_notebook(assignment).cells}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(cells[f"example_{name}"].source, reference_namespace(assignment))
    shown = re.search(r"```\n(.*)\n```", cells[f"example_{name}_expected"].source,
                      re.S).group(1)
    assert shown == printed.getvalue().rstrip("\n"), (
        f"notebook shows:\n{shown}\nreference prints:\n{printed.getvalue()}")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_in_sync_with_source(tmp_path, assignment):
    """Regenerating release/ from source/ with nbgrader gives the committed files."""
    fresh = copy_course(tmp_path, ("source", "nbgrader_config.py"))
    code, log = course.nbgrader(fresh, "generate_assignment", assignment, "--force")
    assert code == 0, log
    made = sorted(p.relative_to(fresh) for p in (fresh / "release").rglob("*") if p.is_file())
    kept = sorted(p.relative_to(ROOT) for p in (ROOT / "release" / assignment).rglob("*")
                  if p.is_file())
    assert made == kept, "release/ has other files than nbgrader makes: run `make release`"
    for path in made:
        assert (fresh / path).read_bytes() == (ROOT / path).read_bytes(), (
            f"{path} differs from what nbgrader makes of source/: run `make release`")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_samples_are_in_sync_with_release(tmp_path, assignment):
    """Rewriting the sample submissions from the committed release gives the committed ones."""
    fresh = copy_course(tmp_path, ("source", "release"))
    made = DECLARED[assignment].write_samples(fresh) + handins.write_samples(fresh, assignment)
    committed = {p.relative_to(ROOT) for p in ROOT.glob(f"submitted/*/{assignment}/*")}
    assert {p.relative_to(fresh) for p in fresh.glob(f"submitted/*/{assignment}/*")} == \
        committed, f"the samples are not {made}: run `make release`"
    for path in committed:
        assert (fresh / path).read_bytes() == (ROOT / path).read_bytes(), (
            f"{path} is stale: run `make release`")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_hidden_test_or_reference_import(assignment):
    """No solution line, hidden test or mention of rnn_solutions reaches the release."""
    text = (ROOT / "release" / assignment / submissions.notebook_name(assignment)).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "rnn_solutions"):
        assert marker not in text, f"release contains {marker!r}"
    released = "\n".join(cell.source for cell in release_notebook(assignment).cells)
    for cell in master_notebook(assignment).cells:
        if "### BEGIN SOLUTION" not in cell.source:
            continue
        inside = cell.source.split("### BEGIN SOLUTION\n")[1].split("### END SOLUTION")[0]
        for line in filter(None, map(str.strip, inside.splitlines())):
            assert line not in released, f"solution line of {grade_id(cell)} in release: {line}"


def test_sample_seed_student_keeps_the_seed_code_exactly():
    """The seed student's sample holds the seed's four answers, character for character."""
    nb = nbformat.read(ROOT / "submitted" / "seed_student" / ASSIGNMENT / NOTEBOOK, 4)
    answers = {grade_id(c): c.source for c in nb.cells
               if grade_id(c) in DECLARED[ASSIGNMENT].exercises}
    assert answers == samples.seed_answers()
    assert "dtanh = 1 - np.square(np.tanh(" in answers["rnn_cell_backward"]


def run_notebook(nb, cwd):
    """Execute nb in the project's kernel, errors allowed; return the executed notebook."""
    nb = nbformat.from_dict(nb)
    NotebookClient(nb, kernel_name=KERNEL, timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def errors(nb):
    """(grade_id or index, ename) of every error output."""
    return [(grade_id(c) or i, o.ename) for i, c in enumerate(nb.cells)
            for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_master_notebook_runs_without_errors(assignment):
    """The master notebook, run as autograde runs it, raises nothing: every check passes."""
    nb = execute(master_notebook(assignment), ROOT / "source" / assignment)
    assert errors(nb) == []


@pytest.mark.slow
def test_grading_kernel_cannot_import_the_reference(release_nb):
    """The kernel submissions run in is the students' environment: no rnn_solutions there."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import rnn_solutions")])
    assert errors(run_notebook(nb, ROOT / "release" / ASSIGNMENT)) == [(0, "ModuleNotFoundError")]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_fails_only_with_not_implemented(assignment):
    """In the students' environment, every error of the untouched release is NotImplementedError."""
    nb = run_notebook(release_notebook(assignment), ROOT / "release" / assignment)
    found = errors(nb)
    assert {ename for _, ename in found} == {"NotImplementedError"}, found
    for name in DECLARED[assignment].exercises:
        assert any(str(where).startswith(f"example_{name}") for where, _ in found), name


# a wrong sample of each assignment, a function its visible self-check fails, what the
# failure says, and the students' checks' module
WRONG = {
    "rnn_step_by_step": ("seed_student", "rnn_cell_backward",
                         "hint: dh_next is never applied: du = dh_next * (1 - h_next**2)",
                         "rnncheck"),
    "lstm_step_by_step": ("no_carry", "lstm_backward",
                          "should be fed the dc_prev of step t+1 as its dc_next",
                          "rnncheck"),
}


def traceback_of(nb, grade):
    """(ename, the traceback as the student sees it, colours removed) of a cell's error."""
    cell = next(c for c in nb.cells if grade_id(c) == grade)
    error = next(o for o in cell.outputs if o.output_type == "error")
    return error.ename, re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback))


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_failed_self_check_shows_its_report_without_helper_frames(assignment):
    """A wrong answer's failing self-check shows what is wrong and the hint, and no frame
    of the helper module (no traceback at all): in JupyterLab as in the feedback."""
    student, name, words, helpers = WRONG[assignment]
    notebook = submissions.notebook_name(assignment)
    nb = run_notebook(nbformat.read(ROOT / "submitted" / student / assignment / notebook, 4),
                      ROOT / "release" / assignment)
    ename, shown = traceback_of(nb, f"test_{name}_values")
    assert ename == "CheckError"
    assert shown.startswith(f"CheckError: {name} on the example above:\n  - "), shown
    assert words in shown
    for frame_marker in ("Traceback", "File ", helpers, "checker.py", "self_check("):
        assert frame_marker not in shown, shown


@pytest.mark.slow
def test_students_own_exception_keeps_its_traceback_without_helper_frames():
    """An exception raised in the student's function shows the student's line, and the
    self-check's frames between the cell and the student's code are hidden."""
    nb = nbformat.read(ROOT / "submitted" / "perfect" / ASSIGNMENT / NOTEBOOK, 4)
    cell = next(c for c in nb.cells if grade_id(c) == "rnn_cell_forward")
    cell.source = cell.source.replace("parameters):\n", "parameters):\n    xt[0, 99]\n", 1)
    nb = run_notebook(nb, ROOT / "release" / ASSIGNMENT)
    ename, shown = traceback_of(nb, "test_rnn_cell_forward_structure")
    assert ename == "IndexError"
    assert "----> 2     xt[0, 99]" in shown and "in rnn_cell_forward" in shown, shown
    assert "skipping hidden 1 frame" in shown, shown  # self_check's own
    assert "rnncheck" not in shown and "checker.py" not in shown, shown


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_figures_are_local_files_that_exist(assignment):
    """Every image the notebook shows is a file shipped in the assignment folder."""
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)",
                        "\n".join(c.source for c in master_notebook(assignment).cells))
    assert images
    for image in images:
        assert "://" not in image, f"remote image {image}"
        for folder in ("source", "release"):
            assert (ROOT / folder / assignment / image).is_file(), f"{folder}: {image} missing"


MASTERS = ASSIGNMENTS


@pytest.mark.parametrize("assignment", MASTERS)
def test_local_judge_is_in_sync_and_not_released(assignment):
    """Each master's _judge.py is what `make release` writes, and no student gets it."""
    spec = submissions.declarations(ROOT)[assignment]
    local = ROOT / "source" / assignment / "_judge.py"
    assert local.read_text() == judge.local_module(spec), "stale _judge.py: run `make release`"
    assert not (ROOT / "release" / assignment / "_judge.py").exists()


@pytest.mark.slow
@pytest.mark.parametrize("assignment", MASTERS)
def test_master_runs_green_in_the_instructors_own_kernel(assignment):
    """Run All in a plain kernel, without the grader (JupyterLab's): every cell passes,
    the hidden checks judged in the kernel by the master folder's _judge.py."""
    nb = run_notebook(master_notebook(assignment), ROOT / "source" / assignment)
    assert errors(nb) == []
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    judged = [c for c in nb.cells if "_judge.check(" in c.source]
    assert judged and printed.count("hidden checks passed") == len(judged)


@pytest.mark.slow
def test_instructors_own_kernel_fails_a_wrong_answer():
    """In the instructor's kernel the local hidden checks can fail: a broken master answer
    fails its hidden checks there with the judge's message."""
    nb = master_notebook(ASSIGNMENT)
    cell = next(c for c in nb.cells if grade_id(c) == "rnn_cell_forward")
    cell.source = cell.source.replace("yt_pred = softmax(", "yt_pred = 2 * softmax(")
    assert "2 * softmax(" in cell.source
    visible = 'self_check("rnn_cell_forward"'
    for c in nb.cells:  # the visible self-check would stop the cell first
        c.source = c.source.replace(visible, "0 and " + visible)
    found = dict(errors(run_notebook(nb, ROOT / "source" / ASSIGNMENT)))
    assert found.get("test_rnn_cell_forward_values") == "CheckError", found
    assert "test_rnn_cell_forward_structure" not in found, found


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted((ROOT / "source").glob("*/*.ipynb")),
                         ids=lambda p: p.parent.name)
def test_nbgrader_validate_passes_on_every_master(path):
    """`nbgrader validate` on a master notebook judges its hidden checks and passes."""
    code, log = course.nbgrader(ROOT, "validate", str(path))
    assert code == 0 and "Success! Your notebook passes all the tests." in log, log
