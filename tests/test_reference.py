"""The reference functions of every declaration (RNN, LSTM, the test-only GRU) against
centred finite differences (float64), read generically from their specs, and the original
course's published tables.

The finite differences and the relative error are the students' gradient check's
(`rnncheck/checker.py`); the PyTorch oracle is in test_torch.py.
"""

import copy

import numpy as np
import pytest
from conftest import DECLARATIONS, same

from rnn_solutions.engine.spec import draw_inputs, example, make_case, size
from rnn_solutions.lstm_step_by_step import lstm
from rnn_solutions.rnn_step_by_step import rnn
from rnn_solutions.rnncheck.checker import numerical_gradient, rel_error

SIZES = [  # within each, the five sizes differ: an axis mixed up shows as a shape error
    {"n_x": 3, "n_h": 5, "n_y": 2, "m": 4, "T_x": 1},
    {"n_x": 4, "n_h": 3, "n_y": 5, "m": 1, "T_x": 2},
    {"n_x": 2, "n_h": 6, "n_y": 3, "m": 7, "T_x": 9},
]
# the step of the centred differences: near the cube root of float64's epsilon, where their
# rounding (~1e-16 * loss / EPS) and truncation (~EPS**2) errors balance. At 1e-6, rounding
# alone fails 1e-7 when a saturated gate makes a whole gradient tiny (GRU's dbr, m = 1)
EPS = 1e-5
EXERCISES = [(d, e.name) for d, decl in DECLARATIONS.items() for e in decl.spec.exercises]
BACKWARDS = [(d, e.name) for d, decl in DECLARATIONS.items() for e in decl.spec.exercises
             if e.cache_from]
GRADIENTS = [(d, name, key) for d, name in BACKWARDS
             for key in DECLARATIONS[d].spec.exercise(name).returns["keys"]]


def sizes_id(sizes):
    """A test id of a sizes dict: n_x3-n_h5-n_y2-m4-T_x1."""
    return "-".join(f"{k}{v}" for k, v in sizes.items())


def upstream(spec, exercise, seed, sizes):
    """Standard normal upstream gradients: the backward exercise's arguments but its cache."""
    rng = np.random.default_rng(seed)
    return {a: rng.standard_normal(size(spec.shapes[a], sizes)) for a in exercise.arguments[:-1]}


def variable(inputs, key):
    """The forward argument, or parameter, that gradient `key` = dX is taken with respect to."""
    return inputs[key[1:]] if key[1:] in inputs else inputs["parameters"][key[1:]]


# ---- finite differences ----------------------------------------------------------------------

@pytest.mark.parametrize("sizes", SIZES, ids=sizes_id)
@pytest.mark.parametrize(("declaration", "name", "key"), GRADIENTS)
def test_gradient_matches_finite_differences(declaration, name, key, sizes):
    """Each gradient dX of each backward reference equals the centred differences, float64,
    of its forward reference's outputs weighed by the upstream gradients, against X."""
    spec = DECLARATIONS[declaration].spec
    exercise = spec.exercise(name)
    forward = getattr(spec.reference, exercise.cache_from)
    case = make_case(spec, exercise.cache_from, 3, sizes)
    weights = upstream(spec, exercise, 4, sizes)
    ours = getattr(spec.reference, name)(**copy.deepcopy(weights),
                                         **{exercise.arguments[-1]: case.expected[-1]})[key]
    inputs = copy.deepcopy(case.inputs)
    # the loss: each upstream gradient dX weighs the forward output X
    returned = spec.exercise(exercise.cache_from).returns["parts"]
    outputs = [returned.index(a[1:]) for a in weights]

    def loss():
        out = forward(**inputs)
        return np.concatenate([np.ravel(out[i]) for i in outputs])

    numeric = numerical_gradient(loss, variable(inputs, key),
                                 np.concatenate([np.ravel(w) for w in weights.values()]), EPS)
    assert ours.shape == numeric.shape, f"{key}: ours {ours.shape}, numeric {numeric.shape}"
    err = rel_error(ours, numeric)
    worst = np.unravel_index(np.argmax(np.abs(ours - numeric)), ours.shape)
    assert err < 1e-7, (f"{name} {key}: relative error {err:.2e}; at {list(worst)} ours "
                        f"{ours[worst]!r}, numeric {numeric[worst]!r}\n"
                        f"ours:\n{ours}\nnumeric:\n{numeric}")


# ---- what every reference keeps to -------------------------------------------------------------

@pytest.mark.parametrize(("declaration", "name"), EXERCISES)
def test_reference_leaves_its_arguments_unchanged(declaration, name):
    """No reference function modifies its arguments."""
    spec = DECLARATIONS[declaration].spec
    rng = np.random.default_rng(5)
    inputs = draw_inputs(spec, name, lambda *shape: rng.standard_normal(shape), SIZES[2])
    before = copy.deepcopy(inputs)
    getattr(spec.reference, name)(**inputs)
    for argument, value in before.items():
        assert same(inputs[argument], value), f"{name} modified its argument {argument}"


@pytest.mark.parametrize(("declaration", "name"), BACKWARDS)
def test_backward_returns_its_keys_in_order(declaration, name):
    """Each backward reference returns exactly its exercise's gradient keys, in order."""
    spec = DECLARATIONS[declaration].spec
    ours = list(make_case(spec, name, 6, SIZES[1]).expected)
    theirs = spec.exercise(name).returns["keys"]
    assert ours == theirs, f"{name}: ours {ours}, spec {theirs}"


def test_softmax_is_stable_for_large_logits():
    """The RNN's softmax of logits near 1000 gives finite columns that sum to 1."""
    z = np.array([[1000.0, -1000.0], [1001.0, -999.0]])
    with np.errstate(all="raise"):
        out = rnn.softmax(z)
    np.testing.assert_allclose(out.sum(axis=0), 1.0)
    np.testing.assert_allclose(out[:, 0], out[:, 1])


# ---- the published tables ----------------------------------------------------------------------

def test_example_gives_the_corrected_cell_backward_values():
    """The RNN notebook's rnn_cell_backward example yields the corrected published values."""
    g = example(DECLARATIONS["rnn"].spec, "rnn_cell_backward").expected
    np.testing.assert_allclose(
        [g["dxt"][1][2], g["dh_prev"][2][3], g["dWhx"][3][1], g["dWhh"][1][2], g["dbh"][4][0]],
        [-1.3872130506, -0.152399493774, 0.410772824935, 1.15034506685, 0.20023491],
        atol=5e-9, err_msg="ours (ACTUAL) vs published (DESIRED)")  # 8 to 12 digits published


PUBLISHED = {  # (exercise, output, index): the original LSTM course's value
    ("lstm_cell_forward", 1, (2, 0)): 0.63267805,
    ("lstm_cell_forward", 0, (4, 0)): -0.66408471,
    ("lstm_cell_forward", 2, (1, 0)): 0.79913913,
    ("lstm_forward", 0, (4, 3, 6)): 0.172117767533,
    ("lstm_forward", 2, (1, 2, 1)): -0.855544916718,
    ("lstm_forward", 1, (1, 4, 3)): 0.95087346185,
    ("lstm_cell_backward", "dxt", (1, 2)): 3.23055911511,
    ("lstm_cell_backward", "dh_prev", (2, 3)): -0.0639621419711,
    ("lstm_cell_backward", "dc_prev", (2, 3)): 0.797522038797,
    ("lstm_cell_backward", "dWf", (3, 1)): -0.147954838164,
    ("lstm_cell_backward", "dWi", (1, 2)): 1.05749805523,
    ("lstm_cell_backward", "dWc", (3, 1)): 2.30456216369,
    ("lstm_cell_backward", "dWo", (1, 2)): 0.331311595289,
    ("lstm_cell_backward", "dbf", (4, 0)): 0.18864637,
    ("lstm_cell_backward", "dbi", (4, 0)): -0.40142491,
    ("lstm_cell_backward", "dbc", (4, 0)): 0.25587763,
    ("lstm_cell_backward", "dbo", (4, 0)): 0.13893342,
}


@pytest.mark.parametrize(("name", "output", "index"), PUBLISHED, ids=str)
def test_example_reproduces_the_published_table(name, output, index):
    """On the original LSTM course's inputs the reference prints its published values."""
    ours = example(DECLARATIONS["lstm"].spec, name).expected[output][index]
    theirs = PUBLISHED[name, output, index]
    assert ours == pytest.approx(theirs, abs=1e-8), f"ours {ours!r}, published {theirs!r}"


def published_backward_inputs():
    """The later course's lstm_backward example: seed 1, x (3, 10, 7) and h0 first, the
    gates' parameters, Wy and by zeros (not drawn), then dh = randn(5, 10, 4): 4 of 7
    steps used."""
    draw = np.random.RandomState(1).randn
    x, h0 = draw(3, 10, 7), draw(5, 10)
    p = {key: draw(*shape) for key, shape in (("Wf", (5, 8)), ("bf", (5, 1)), ("Wi", (5, 8)),
                                              ("bi", (5, 1)), ("Wo", (5, 8)), ("bo", (5, 1)),
                                              ("Wc", (5, 8)), ("bc", (5, 1)))}
    p["Wy"], p["by"] = np.zeros((2, 5)), np.zeros((2, 1))
    *_, caches = lstm.lstm_forward(x, h0, p)
    return draw(5, 10, 4), caches


LATER_TABLE = {("dh0", (2, 3)): 0.312770310257, ("dWf", (3, 1)): -0.0809802310938,
               ("dWi", (1, 2)): 0.40512433093, ("dWc", (3, 1)): -0.0793746735512,
               ("dWo", (1, 2)): 0.038948775763, ("dbf", (4, 0)): -0.15745657,
               ("dbi", (4, 0)): -0.50848333, ("dbc", (4, 0)): -0.42510818,
               ("dbo", (4, 0)): -0.17958196}


def test_backward_reproduces_the_later_published_table_not_the_older():
    """lstm_backward gives the later table (gradients carried through time) and not the
    older one (dh0[2][3] = -0.0959115, from a pass that never carries them)."""
    grads = lstm.lstm_backward(*published_backward_inputs())
    for (key, index), theirs in LATER_TABLE.items():
        assert grads[key][index] == pytest.approx(theirs, abs=1e-8), (
            f"{key}{list(index)}: ours {grads[key][index]!r}, published {theirs!r}")
    assert grads["dh0"][2, 3] != pytest.approx(-0.0959115, abs=1e-4)
    np.testing.assert_allclose(grads["dx"][1, 2], [0.00218254, 0.28205375, -0.48292508,
                                                    -0.43281115], atol=1e-8,
                               err_msg="dx[1, 2]: ours (ACTUAL) vs published (DESIRED)")
