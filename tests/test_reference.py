"""The reference functions against centred finite differences and PyTorch autograd.

The finite differences are those of the students' gradient check (`engine/compare.py`).
"""

import numpy as np
import pytest
from conftest import import_torch

from rnn_solutions.engine.compare import numerical_gradient
from rnn_solutions.lstm_step_by_step import cases as lstm_cases
from rnn_solutions.lstm_step_by_step import lstm
from rnn_solutions.rnn_step_by_step import cases, rnn

SIZES = [
    cases.Dims(n_x=3, n_h=5, n_y=2, m=4, T_x=1),
    cases.Dims(n_x=4, n_h=3, n_y=5, m=1, T_x=3),
    cases.Dims(n_x=2, n_h=6, n_y=3, m=7, T_x=10),
]


def rel_error(a, b):
    """CS231n's relative error: max |a - b| / max(1e-8, |a| + |b|)."""
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


@pytest.mark.parametrize("dims", SIZES, ids=str)
@pytest.mark.parametrize("wrt", ["xt", "h_prev", "Whx", "Whh", "bh"])
def test_cell_backward_matches_finite_differences(dims, wrt):
    """Each gradient of rnn_cell_backward equals the centred difference of the cell, float64."""
    case = cases.make_case("rnn_cell_backward", 3, dims)
    _, h_prev, xt, parameters = case.inputs["cache"]
    xt, h_prev = xt.copy(), h_prev.copy()
    parameters = {k: v.copy() for k, v in parameters.items()}
    variables = {"xt": xt, "h_prev": h_prev, **parameters}
    dh_next = case.inputs["dh_next"]
    ours = rnn.rnn_cell_backward(dh_next, rnn.rnn_cell_forward(xt, h_prev, parameters)[2])

    def cell():
        return rnn.rnn_cell_forward(xt, h_prev, parameters)[0]

    numeric = numerical_gradient(cell, variables[wrt], dh_next)
    key = {"xt": "dxt", "h_prev": "dh_prev"}.get(wrt, "d" + wrt)
    err = rel_error(ours[key], numeric)
    assert err < 1e-7, f"{key}: relative error {err:.2e}\nours:\n{ours[key]}\nnumeric:\n{numeric}"


@pytest.mark.parametrize("dims", SIZES, ids=str)
@pytest.mark.parametrize("wrt", ["x", "h0", "Whx", "Whh", "bh"])
def test_backward_matches_finite_differences(dims, wrt):
    """Each gradient of rnn_backward equals the centred difference of rnn_forward, float64."""
    case = cases.make_case("rnn_forward", 5, dims)
    x, h0 = case.inputs["x"].copy(), case.inputs["h0"].copy()
    parameters = {k: v.copy() for k, v in case.inputs["parameters"].items()}
    variables = {"x": x, "h0": h0, **parameters}
    dh = np.random.default_rng(6).standard_normal((dims.n_h, dims.m, dims.T_x))
    ours = rnn.rnn_backward(dh, rnn.rnn_forward(x, h0, parameters)[2])

    def forward():
        return rnn.rnn_forward(x, h0, parameters)[0]

    numeric = numerical_gradient(forward, variables[wrt], dh)
    key = "d" + wrt
    err = rel_error(ours[key], numeric)
    assert err < 1e-7, f"{key}: relative error {err:.2e}\nours:\n{ours[key]}\nnumeric:\n{numeric}"


@pytest.fixture(scope="module")
def torch():
    """PyTorch, the independent oracle; CI installs it (`pip install torch==2.13.0`)."""
    return import_torch()


@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_forward_matches_torch_rnn(torch, dims):
    """rnn_forward's hidden states equal torch.nn.RNN's (tanh) with the same weights, float64."""
    case = cases.make_case("rnn_forward", 7, dims)
    x, h0, p = case.inputs["x"], case.inputs["h0"], case.inputs["parameters"]
    net = torch.nn.RNN(dims.n_x, dims.n_h, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(p["Whx"]))
        net.weight_hh_l0.copy_(torch.from_numpy(p["Whh"]))
        net.bias_ih_l0.copy_(torch.from_numpy(p["bh"][:, 0]))
        net.bias_hh_l0.zero_()
        # torch wants (T_x, m, n_x); ours is (n_x, m, T_x)
        theirs, _ = net(torch.from_numpy(x.transpose(2, 1, 0)),
                        torch.from_numpy(h0.T[None]))
    ours = case.expected[0]
    np.testing.assert_allclose(ours, theirs.numpy().transpose(2, 1, 0), rtol=1e-12, atol=1e-12)


def torch_forward(torch, x, h0, p):
    """Our forward pass written with torch tensors: h stacked over time, and y."""
    h, hs, ys = h0, [], []
    for t in range(x.shape[2]):
        h = torch.tanh(p["Whh"] @ h + p["Whx"] @ x[:, :, t] + p["bh"])
        hs.append(h)
        ys.append(torch.softmax(p["Wyh"] @ h + p["by"], dim=0))
    return torch.stack(hs, dim=2), torch.stack(ys, dim=2)


@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_forward_predictions_match_torch(torch, dims):
    """rnn_forward's predictions equal a softmax over the output axis computed by torch."""
    case = cases.make_case("rnn_forward", 8, dims)
    tensors = {k: torch.from_numpy(v) for k, v in case.inputs["parameters"].items()}
    _, y = torch_forward(torch, torch.from_numpy(case.inputs["x"]),
                         torch.from_numpy(case.inputs["h0"]), tensors)
    np.testing.assert_allclose(case.expected[1], y.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_backward_matches_torch_autograd(torch, dims):
    """Every gradient of rnn_backward equals torch autograd's vector-Jacobian product, float64."""
    case = cases.make_case("rnn_forward", 9, dims)
    inputs = case.inputs
    dh = np.random.default_rng(10).standard_normal((dims.n_h, dims.m, dims.T_x))
    ours = rnn.rnn_backward(dh, case.expected[2])
    leaves = {"x": torch.tensor(inputs["x"], requires_grad=True),
              "h0": torch.tensor(inputs["h0"], requires_grad=True),
              **{k: torch.tensor(v, requires_grad=True) for k, v in inputs["parameters"].items()}}
    h, _ = torch_forward(torch, leaves["x"], leaves["h0"], leaves)
    h.backward(torch.from_numpy(dh))
    for name in ("x", "h0", "Whx", "Whh", "bh"):
        theirs = leaves[name].grad.numpy()
        np.testing.assert_allclose(ours["d" + name], theirs, rtol=1e-10, atol=1e-12,
                                   err_msg=f"d{name}: ours vs torch autograd")


@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_cell_backward_matches_torch_autograd(torch, dims):
    """Every gradient of rnn_cell_backward equals torch autograd's for one step, float64."""
    case = cases.make_case("rnn_cell_backward", 12, dims)
    _, h_prev, xt, p = case.inputs["cache"]
    leaves = {"xt": torch.tensor(xt, requires_grad=True),
              "h_prev": torch.tensor(h_prev, requires_grad=True),
              **{k: torch.tensor(v, requires_grad=True) for k, v in p.items()}}
    h = torch.tanh(leaves["Whh"] @ leaves["h_prev"] + leaves["Whx"] @ leaves["xt"]
                   + leaves["bh"])
    h.backward(torch.from_numpy(case.inputs["dh_next"]))
    keys = {"xt": "dxt", "h_prev": "dh_prev", "Whx": "dWhx", "Whh": "dWhh", "bh": "dbh"}
    for name, key in keys.items():
        np.testing.assert_allclose(case.expected[key], leaves[name].grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=f"{key}: ours vs torch")


def test_softmax_is_stable_for_large_logits():
    """softmax of logits near 1000 gives finite columns that sum to 1."""
    z = np.array([[1000.0, -1000.0], [1001.0, -999.0]])
    with np.errstate(all="raise"):
        out = rnn.softmax(z)
    np.testing.assert_allclose(out.sum(axis=0), 1.0)
    np.testing.assert_allclose(out[:, 0], out[:, 1])


@pytest.mark.parametrize(("assignment", "module", "name"),
                         [("rnn", rnn, n) for n in cases.EXERCISES]
                         + [("lstm", lstm, n) for n in lstm_cases.EXERCISES])
def test_reference_leaves_inputs_unchanged(assignment, module, name):
    """No reference function, of either assignment, modifies its arguments."""
    import copy

    case = (cases if assignment == "rnn" else lstm_cases).make_case(name, 4,
                                                                     cases.Dims(3, 5, 2, 4, 3))
    before = copy.deepcopy(case.inputs)
    getattr(module, name)(**case.inputs)
    for key, value in before.items():
        assert _equal(value, case.inputs[key]), f"{name} modified its argument {key}"


def _equal(a, b):
    """Deep equality of nested tuples, lists, dicts and arrays."""
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_example_gives_the_corrected_cell_backward_values():
    """The notebook's rnn_cell_backward example yields the corrected published values."""
    g = cases.example("rnn_cell_backward").expected
    np.testing.assert_allclose(
        [g["dxt"][1][2], g["dh_prev"][2][3], g["dWhx"][3][1], g["dWhh"][1][2], g["dbh"][4][0]],
        [-1.3872130506, -0.152399493774, 0.410772824935, 1.15034506685, 0.20023491],
        atol=5e-9)  # the published values have 8 to 12 digits
