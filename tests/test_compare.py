"""The comparisons of the judge and the self-check (rnncheck/compare.py): hints from what
an array's formula keeps it to, and the tolerance."""

import numpy as np
import pytest
from conftest import DECLARATIONS

from rnn_solutions.lstm_step_by_step import lstm
from rnn_solutions.rnn_step_by_step import rnn
from rnn_solutions.rnncheck import compare

RNN, LSTM = DECLARATIONS["rnn"], DECLARATIONS["lstm"]
RTOL, ATOL = compare.TOL

PROBABILITIES = np.array([[0.2, 0.5], [0.8, 0.5]])


@pytest.mark.parametrize(("value", "words"), [
    (PROBABILITIES - 0.3, "it has negative entries"),
    (PROBABILITIES * 1.5, "it has entries above 1"),
    (PROBABILITIES / 2, "its columns do not sum to 1"),
])
def test_a_broken_softmax_is_named(value, words):
    """Columns that cannot be softmax outputs get a hint saying how."""
    hint = compare.range_hint("yt_pred", value, "softmax")
    assert words in hint and "must be a softmax over axis 0" in hint


@pytest.mark.parametrize(("kind", "value"), [("tanh", [[-1.5, 0.2]]), ("sigmoid", [[-0.1, 0.5]])])
def test_values_outside_an_activations_range_are_named(kind, value):
    """A tanh's output below -1 or a sigmoid's below 0 gets a hint with the range seen."""
    hint = compare.range_hint("h_next", np.array(value), kind)
    assert f"outside [{-1 if kind == 'tanh' else 0}, 1]" in hint and kind in hint


@pytest.mark.parametrize(("kind", "value"), [
    ("softmax", PROBABILITIES), ("tanh", [[-1.0, 1.0]]), ("sigmoid", [[0.0, 1.0]]),
    (None, [[5.0]])])
def test_values_in_range_get_no_hint(kind, value):
    """Arrays inside their range, or with no range declared, get no range hint."""
    assert compare.range_hint("x", np.array(value), kind) is None


def unnormalised(xt, h_prev, parameters):
    """rnn_cell_forward with a softmax that forgets to divide by the column sums (a
    mistake no fingerprint knows)."""
    h_next, _, cache = rnn.rnn_cell_forward(xt, h_prev, parameters)
    return h_next, np.exp(parameters["Wyh"] @ h_next + parameters["by"]), cache


def test_rnn_unnormalised_softmax_is_told_it_is_not_probabilities():
    """An rnn_cell_forward whose softmax is not normalised hears, from the judge, that
    yt_pred is not a probability distribution, and that it must be a softmax."""
    with pytest.raises(AssertionError, match="yt_pred is not a probability distribution in "
                                             "each column"):
        RNN.check("rnn_cell_forward", unnormalised, "values")


def test_lstm_gate_without_its_sigmoid_is_named():
    """An LSTM cell whose forget gate skips its sigmoid hears that cache[4] (ft) leaves
    [0, 1]."""
    def no_sigmoid(xt, h_prev, c_prev, parameters):
        p = parameters
        concat = np.concatenate([h_prev, xt])
        ft = p["Wf"] @ concat + p["bf"]
        it = lstm.sigmoid(p["Wi"] @ concat + p["bi"])
        cct = np.tanh(p["Wc"] @ concat + p["bc"])
        ot = lstm.sigmoid(p["Wo"] @ concat + p["bo"])
        c_next = ft * c_prev + it * cct
        h_next = ot * np.tanh(c_next)
        yt = rnn.softmax(p["Wy"] @ h_next + p["by"])
        return h_next, c_next, yt, (h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, p)

    with pytest.raises(AssertionError, match=r"cache\[4\] \(ft\) has entries outside \[0, 1\]"):
        LSTM.check("lstm_cell_forward", no_sigmoid, "values")


B = np.array([1.0, -2.0, 0.0, 1e-9, 1e300])
CLOSE_PAIRS = {
    "equal": (B.copy(), B),
    "within the tolerance": (B * (1 + 0.9 * RTOL), B),
    "just past it": (B + 1.1 * (ATOL + RTOL * np.abs(B)), B),
    "infinities of one sign": (np.array([np.inf, -np.inf]), np.array([np.inf, -np.inf])),
    "infinities of opposite signs": (np.array([np.inf]), np.array([-np.inf])),
    "finite against infinite": (np.array([1e308]), np.array([np.inf])),
    "nan against nan": (np.array([np.nan]), np.array([np.nan])),
    "overflowing difference": (np.array([1.7e308]), np.array([-1.7e308])),
    "near zero": (np.array([0.9e-8, -0.9e-8]), np.zeros(2)),
    "empty": (np.zeros((0, 3)), np.zeros((0, 3))),
    "shapes that broadcast": (np.ones((2, 1)), np.ones((2, 3))),
    "not float64": (np.array([1, 2]), np.array([1.0, 2.0 + 1e-12])),
    "a list": ([1.0, 2.0], np.array([1.0, 2.0])),
    "within a looser tolerance only": (B * (1 + 1e-4), B),
}


@pytest.mark.parametrize("tol", [compare.TOL, (1e-3, 1e-5)], ids=["TOL", "looser"])
@pytest.mark.parametrize("a, b", CLOSE_PAIRS.values(), ids=CLOSE_PAIRS.keys())
def test_close_is_numpys_allclose(a, b, tol):
    """The checks' fast comparison says what np.allclose says, at the default tolerance
    and an exercise's own, on every kind of value (infinities, nan, overflow, other
    shapes and types)."""
    with np.errstate(all="ignore"):
        theirs = bool(np.allclose(a, b, rtol=tol[0], atol=tol[1]))
    assert compare.close(a, b, tol) is theirs, f"ours {compare.close(a, b, tol)}, numpy's {theirs}"
