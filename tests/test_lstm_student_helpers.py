"""The LSTM students' helpers (lstm_utils.py in the release): self-checks, gradient check,
the plot of how far back the gradient reaches."""

import importlib.util
import inspect
import json
import re

import matplotlib
import numpy as np
import pytest
from conftest import ROOT
from test_student_helpers import _same_data

from rnn_solutions.lstm_step_by_step import lstm
from rnn_solutions.lstm_step_by_step.cases import EXERCISES
from rnn_solutions.lstm_step_by_step.mistakes import MISTAKES
from rnn_solutions.lstm_step_by_step.samples import ASSIGNMENT, NO_CARRY
from rnn_solutions.lstm_step_by_step.student_files import write_student_files
from rnn_solutions.rnn_step_by_step.rnn import softmax

matplotlib.use("Agg")
RELEASE = ROOT / "release" / ASSIGNMENT


@pytest.fixture(scope="module")
def utils():
    """lstm_utils as a student imports it: the file in the release folder."""
    spec = importlib.util.spec_from_file_location("lstm_utils", RELEASE / "lstm_utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_student_files_are_in_sync_with_the_reference(tmp_path):
    """lstm_utils.py and self_check_data.json in source/ are what `make release` writes
    (numbers compared to a relative 1e-10: the BLAS may move their 12th digit)."""
    write_student_files(tmp_path)
    kept = ROOT / "source" / ASSIGNMENT
    stale = f"source/{ASSIGNMENT}/%s is stale: run `make release`"
    assert (tmp_path / "lstm_utils.py").read_text() == (kept / "lstm_utils.py").read_text(), (
        stale % "lstm_utils.py")
    ours = json.loads((tmp_path / "self_check_data.json").read_text())
    theirs = json.loads((kept / "self_check_data.json").read_text())
    assert _same_data(ours, theirs), stale % "self_check_data.json"


def in_notebook(source, **names):
    """The functions a notebook cell's source defines, its globals holding `names`."""
    namespace = {"np": np, "softmax": softmax, "sigmoid": lstm.sigmoid, **names}
    exec(source, namespace)
    return namespace


def reference(name):
    """The reference function as a notebook defines it, with the reference cell beside it."""
    cells = {n: getattr(lstm, n) for n in EXERCISES}
    return in_notebook(inspect.getsource(getattr(lstm, name)), GATES=lstm.GATES, **cells)[name]


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("part", ["structure", "values"])
def test_self_check_passes_a_correct_answer_and_says_so(utils, capsys, name, part):
    """The reference passes every self-check, which prints a plain success line."""
    utils.self_check(name, reference(name), part=part)
    assert f"{name}: the visible {part} checks pass." in capsys.readouterr().out


MISTAKEN = [(name, hint) for name in EXERCISES for hint in MISTAKES[name]]


@pytest.mark.parametrize(("name", "hint"), MISTAKEN, ids=[h[:40] for _, h in MISTAKEN])
def test_self_check_recognises_every_known_mistake(utils, name, hint):
    """Each known mistake fails the value self-check on the example with its own hint."""
    with pytest.raises(AssertionError, match=re.escape(f"hint: {hint}")):
        utils.self_check(name, MISTAKES[name][hint], part="values")


def test_self_check_tells_which_state_a_step_was_fed(utils):
    """An lstm_forward that restarts the cell state at zeros every step is told so."""
    def lstm_forward(x, h0, parameters):
        h_t, outs = h0, []
        for t in range(x.shape[2]):
            outs.append(lstm_cell_forward(x[:, :, t], h_t, np.zeros_like(h0), parameters))
            h_t = outs[-1][0]
        h, c, y = (np.stack([o[k] for o in outs], axis=2) for k in (0, 1, 2))
        return h, y, c, ([o[3] for o in outs], x)

    with pytest.raises(AssertionError, match=r"step 1 should be fed step 0's c_next as its "
                                             r"c_prev"):
        utils.self_check("lstm_forward", lstm_forward)


def lstm_cell_forward(xt, h_prev, c_prev, parameters):
    """A broken cell forward in this module's globals, which the self-check must not use."""
    raise ValueError("broken cell")


def test_self_check_tells_which_gradient_a_step_was_fed(utils):
    """The no_carry sample's lstm_backward is told that step t needs the carried gradients."""
    fn = in_notebook(NO_CARRY.read_text(), lstm_cell_backward=lstm.lstm_cell_backward)
    with pytest.raises(AssertionError) as failed:
        utils.self_check("lstm_backward", fn["lstm_backward"])
    report = str(failed.value)
    assert "should be fed dh[:, :, t] plus the dh_prev of step t+1 as its dh_next" in report
    assert "should be fed the dc_prev of step t+1 as its dc_next" in report


def test_self_check_of_a_sequence_is_not_charged_for_the_cell(utils, capsys):
    """A correct lstm_forward passes its self-check even when the notebook's cell is broken."""
    fn = in_notebook(inspect.getsource(lstm.lstm_forward), lstm_cell_forward=lstm_cell_forward)
    utils.self_check("lstm_forward", fn["lstm_forward"])
    assert "the visible values checks pass" in capsys.readouterr().out


@pytest.mark.parametrize(("forward", "backward"), [("lstm_cell_forward", "lstm_cell_backward"),
                                                   ("lstm_forward", "lstm_backward")])
def test_gradient_check_passes_the_reference(utils, capsys, forward, backward):
    """The reference's gradients pass, each below 1e-7."""
    errors = utils.gradient_check(reference(forward), reference(backward))
    assert len(errors) in (10, 11) and max(errors.values()) < 1e-7, errors
    assert "FAIL" not in capsys.readouterr().out


def test_gradient_check_fails_a_forgotten_path_into_the_cell_state(utils):
    """A cell backward missing dh_next's path into dc fails the check where it matters."""
    hint = next(h for h in MISTAKES["lstm_cell_backward"] if "into the cell state" in h)
    errors = utils.gradient_check(lstm.lstm_cell_forward, MISTAKES["lstm_cell_backward"][hint])
    assert errors["dc_prev"] > 1e-3 and errors["dWf"] > 1e-3


def test_the_lstm_gradient_reaches_further_back_than_the_rnns(utils):
    """With the forget gate open, the gradient from step 60 reaching step 0 is thousands of
    times larger, relative to where it started, for the LSTM than for the RNN."""
    lstm_reach = utils.gradient_reach(lstm.lstm_forward, lstm.lstm_backward)
    rnn_reach = np.array(utils._data()["rnn_gradient_reach"])
    assert lstm_reach[0] / lstm_reach[-1] > 1000 * rnn_reach[0] / rnn_reach[-1]


def test_plot_draws_both_curves(utils):
    """The finale plots two curves of 60 steps."""
    fig = utils.plot_gradient_reach(lstm.lstm_forward, lstm.lstm_backward)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and all(len(line.get_xdata()) == 60 for line in lines)
