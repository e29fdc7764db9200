"""The students' helpers (rnn_utils.py in the release): self-checks, gradient check, plot."""

import importlib.util
import inspect
import json
import re
import subprocess
import sys

import matplotlib
import nbformat
import numpy as np
import pytest
from conftest import ROOT, execute
from nbconvert import HTMLExporter

from rnn_solutions.rnn_step_by_step import rnn
from rnn_solutions.rnn_step_by_step.mistakes import MISTAKES
from rnn_solutions.rnn_step_by_step.samples import ASSIGNMENT, seed_student
from rnn_solutions.rnn_step_by_step.student_files import write_student_files

matplotlib.use("Agg")
RELEASE = ROOT / "release" / ASSIGNMENT
EXERCISES = ("rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward")


@pytest.fixture(scope="module")
def utils():
    """rnn_utils as a student imports it: the file in the release folder."""
    spec = importlib.util.spec_from_file_location("rnn_utils", RELEASE / "rnn_utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_student_files_are_in_sync_with_the_reference(tmp_path):
    """rnn_utils.py and self_check_data.json in source/ are what `make release` writes.

    The data's numbers are rounded to 12 digits, but the BLAS behind np.dot differs from
    machine to machine in the last bits, which can still move the 12th digit: they are
    compared to a relative 1e-10, far inside the self-checks' tolerance.
    """
    write_student_files(tmp_path)
    kept = ROOT / "source" / ASSIGNMENT
    stale = f"source/{ASSIGNMENT}/%s is stale: run `make release`"
    assert (tmp_path / "rnn_utils.py").read_text() == (kept / "rnn_utils.py").read_text(), (
        stale % "rnn_utils.py")
    ours = json.loads((tmp_path / "self_check_data.json").read_text())
    theirs = json.loads((kept / "self_check_data.json").read_text())
    assert _same_data(ours, theirs), stale % "self_check_data.json"


def _same_data(a, b):
    """Equal JSON trees, numbers within a relative 1e-10 of each other."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _same_data(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same_data, a, b))
    if isinstance(a, float) and isinstance(b, float):
        return np.isclose(a, b, rtol=1e-10, atol=1e-15)
    return a == b


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("part", ["structure", "values"])
def test_self_check_passes_a_correct_answer_and_says_so(utils, capsys, name, part):
    """The reference passes every self-check, which prints a plain success line."""
    utils.self_check(name, getattr(rnn, name), part=part)
    assert f"{name}: the visible {part} checks pass." in capsys.readouterr().out


@pytest.mark.parametrize("name, words", [
    ("rnn_cell_backward", "hint: dh_next is never applied"),
    ("rnn_backward", "the gradient passed to step 2 is wrong: it was given dh[:, :, t] alone"),
])
def test_self_check_names_the_seed_students_mistake(utils, name, words):
    """The seed's backward answers fail their value self-check with the specific hint."""
    with pytest.raises(AssertionError) as failure:
        utils.self_check(name, _in_notebook(name), part="values")
    assert words in str(failure.value)


@pytest.mark.parametrize("name", EXERCISES)
def test_seed_student_passes_the_structure_self_checks(utils, name):
    """The seed's answers have the right shapes and keys."""
    utils.self_check(name, _in_notebook(name), part="structure")


def _in_notebook(name):
    """A seed function defined as in a notebook: its globals hold the other functions."""
    namespace = {"np": np, "softmax": rnn.softmax}
    for other in EXERCISES:
        exec(inspect.getsource(getattr(seed_student, other)), namespace)
    return namespace[name]


CELL_MISTAKES = [(n, hint) for n in ("rnn_cell_forward", "rnn_cell_backward")
                 for hint in MISTAKES[n]]


@pytest.mark.parametrize("name, hint", CELL_MISTAKES, ids=[h[:40] for _, h in CELL_MISTAKES])
def test_self_check_recognises_known_cell_mistakes(utils, name, hint):
    """Each known cell mistake fails the value self-check with its hint."""
    with pytest.raises(AssertionError, match=re.escape(f"hint: {hint}")):
        utils.self_check(name, MISTAKES[name][hint], part="values")


def test_self_check_tells_which_state_a_step_was_fed(utils):
    """An rnn_forward that feeds h0 to every step is told so, step by step."""
    def rnn_forward(x, h0, parameters):
        outs = [rnn_cell_forward(x[:, :, t], h0, parameters) for t in range(x.shape[2])]
        h = np.stack([o[0] for o in outs], axis=2)
        y = np.stack([o[1] for o in outs], axis=2)
        return h, y, ([o[2] for o in outs], x)

    with pytest.raises(AssertionError, match=r"step 1 should be fed the hidden state of step 0 "
                                             r"\(it was given h0\)"):
        utils.self_check("rnn_forward", rnn_forward)


def rnn_cell_forward(xt, h_prev, parameters):
    """A broken cell forward in this module's globals, which the self-check must not use."""
    raise ValueError("broken cell")


def test_self_check_of_a_sequence_is_not_charged_for_the_cell(utils, capsys):
    """A correct rnn_forward passes its self-check even when the notebook's cell is broken."""
    namespace = {"np": np, "rnn_cell_forward": rnn_cell_forward}
    exec(inspect.getsource(seed_student.rnn_forward), namespace)
    utils.self_check("rnn_forward", namespace["rnn_forward"])
    assert "the visible values checks pass" in capsys.readouterr().out


def test_self_check_reports_shapes_and_in_place_changes(utils):
    """A wrong shape is shown next to the expected one; a modified argument is named."""
    def rnn_cell_backward(dh_next, cache):
        g = rnn.rnn_cell_backward(dh_next, cache)
        dh_next *= 2
        return {**g, "dbh": g["dbh"][:, 0]}

    with pytest.raises(AssertionError) as failure:
        utils.self_check("rnn_cell_backward", rnn_cell_backward)
    message = str(failure.value)
    assert "gradients['dbh'] has shape (5,), expected (5, 1)" in message
    assert "keepdims=True" in message


def test_self_checks_work_without_the_reference_package():
    """In the release folder, with rnn_solutions unimportable, the self-check still explains."""
    seed_code = inspect.getsource(seed_student.rnn_cell_backward)
    script = (
        "import sys\nsys.modules['rnn_solutions'] = None\n"
        "import numpy as np\nfrom rnn_utils import self_check\n"
        f"{seed_code}\n"
        "try:\n    self_check('rnn_cell_backward', rnn_cell_backward)\n"
        "except AssertionError as e:\n    print(e)\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=RELEASE, capture_output=True,
                         text=True, check=True)
    assert "hint: dh_next is never applied" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("forward, backward", [
    (rnn.rnn_cell_forward, rnn.rnn_cell_backward), (rnn.rnn_forward, rnn.rnn_backward)])
def test_gradient_check_passes_correct_gradients(utils, capsys, forward, backward):
    """Correct backward functions pass every line of the gradient check."""
    errors = utils.gradient_check(forward, backward)
    assert max(errors.values()) < 1e-6, errors
    assert capsys.readouterr().out.count("   pass   ") == 5


def test_gradient_check_fails_the_seed_cell_backward(utils, capsys):
    """The seed's cell backward (dh_next never applied) fails every gradient, visibly."""
    errors = utils.gradient_check(rnn.rnn_cell_forward, seed_student.rnn_cell_backward)
    assert min(errors.values()) > 1e-2, errors
    assert capsys.readouterr().out.count("FAIL") == 5


def test_gradient_check_is_repeatable(utils):
    """The check leaves nothing changed behind it: two runs give the same errors."""
    first = utils.gradient_check(rnn.rnn_forward, rnn.rnn_backward)
    assert utils.gradient_check(rnn.rnn_forward, rnn.rnn_backward) == first


def test_gradient_norms_vanish_below_one_and_explode_above(utils):
    """With the reference, the gradient reaching step 0 shrinks for 0.8 and grows for 1.2."""
    small = utils.gradient_norms(rnn.rnn_forward, rnn.rnn_backward, 0.8)
    large = utils.gradient_norms(rnn.rnn_forward, rnn.rnn_backward, 1.2)
    assert small[0] < 1e-3 * small[-1]
    assert large[0] > 1e3 * large[-1]


def test_plot_has_log_scale_labels_and_one_line_per_scale(utils):
    """The gradient-norm plot is on a log scale with labelled axes, a line per Whh scale."""
    fig = utils.plot_gradient_norms(rnn.rnn_forward, rnn.rnn_backward, scales=(0.8, 1.0, 1.2))
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_lines()) == 3


@pytest.mark.slow
def test_executed_master_notebook_html_shows_every_image(tmp_path):
    """The executed master notebook, as HTML, references only images that resolve."""
    folder = ROOT / "source" / ASSIGNMENT
    nb = execute(nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4), folder)
    html, _ = HTMLExporter().from_notebook_node(nb)
    sources = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(sources) >= 4  # three diagrams and the gradient-norm plot
    for src in sources:
        assert src.startswith("data:image/") or (folder / src).is_file(), src


@pytest.mark.parametrize("y, label", [(1e-5, "10⁻⁵"), (1.0, "10⁰"), (1e12, "10¹²")])
def test_plot_labels_decades_in_superscript_digits(utils, y, label):
    """The log axis's decades read as 10 with the exponent in superscript digits."""
    assert utils.decade(y) == label


@pytest.mark.slow
def test_the_plot_is_drawn_once_shown_once_and_closed():
    """In a kernel with the inline backend, the finale plot's figure is drawn once (not a
    second time for a tight bounding box), reaches the notebook as one PNG, and is closed."""
    master = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    answers = [c for c in master.cells if c.cell_type == "code" and
               c.metadata.get("nbgrader", {}).get("grade_id") in (
                   "imports", "rnn_cell_forward", "rnn_forward", "rnn_cell_backward",
                   "rnn_backward")]
    count = nbformat.v4.new_code_cell(
        "from matplotlib.figure import Figure\n_draw, draws = Figure.draw, []\n"
        "Figure.draw = lambda fig, renderer: draws.append(1) or _draw(fig, renderer)")
    plot = nbformat.v4.new_code_cell("plot_gradient_norms(rnn_forward, rnn_backward);")
    after = nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n"
                                      "print(len(draws), plt.get_fignums())")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.source) for c in answers]
                                  + [count, plot, after])
    nb = execute(nb, RELEASE)
    images = [o for o in nb.cells[-2].outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, nb.cells[-2].outputs
    assert nb.cells[-1].outputs[0]["text"] == "1 []\n"


def test_self_check_says_an_unnormalised_softmax_is_not_probabilities(utils):
    """The visible self-check gives the same range hint as the judge: yt_pred from a
    softmax that forgets its normalisation is not a probability distribution."""
    def rnn_cell_forward(xt, h_prev, parameters):
        h_next, _, cache = rnn.rnn_cell_forward(xt, h_prev, parameters)
        return h_next, np.exp(parameters["Wyh"] @ h_next + parameters["by"]), cache

    with pytest.raises(AssertionError, match="hint: yt_pred is not a probability distribution"):
        utils.self_check("rnn_cell_forward", rnn_cell_forward)
