"""The LSTM reference against the original course's published numbers, centred finite
differences (float64) and PyTorch's own LSTM with autograd.

The finite differences are those of the students' gradient check, the same helper as the
RNN's (CS231n's way: one numeric-gradient helper for every layer).
"""

import numpy as np
import pytest
from conftest import import_torch

from rnn_solutions.engine.compare import numerical_gradient
from rnn_solutions.lstm_step_by_step import cases, lstm

SIZES = [
    cases.Dims(n_x=3, n_h=5, n_y=2, m=4, T_x=1),
    cases.Dims(n_x=4, n_h=3, n_y=5, m=1, T_x=3),
    cases.Dims(n_x=2, n_h=6, n_y=3, m=7, T_x=9),
]
WEIGHTS = [f"{w}{g}" for g in lstm.GATES for w in "Wb"]


def rel_error(a, b):
    """The largest difference relative to the largest entry: max |a - b| / max(|a| + |b|).

    Not entry by entry (CS231n's): a saturated gate gives entries near 1e-9, whose
    centred differences carry a rounding error of about 1e-10 whatever the gradient."""
    return np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b)))


# ---- the published tables -------------------------------------------------------------------

PUBLISHED = {  # (exercise, output, index): the original course's value
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
    """On the original course's inputs the reference prints its published values."""
    ours = cases.example(name).expected[output][index]
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
                                                    -0.43281115], atol=1e-8)


# ---- finite differences ----------------------------------------------------------------------

def fresh(case_inputs):
    """Copies of a cell case's forward inputs (xt, h_prev, c_prev, parameters)."""
    cache = case_inputs["cache"]
    h_prev, c_prev, xt, p = cache[2].copy(), cache[3].copy(), cache[8].copy(), cache[9]
    return xt, h_prev, c_prev, {k: v.copy() for k, v in p.items()}


@pytest.mark.parametrize("dims", SIZES, ids=str)
@pytest.mark.parametrize("wrt", ["xt", "h_prev", "c_prev", *WEIGHTS])
def test_cell_backward_matches_finite_differences(dims, wrt):
    """Each gradient of lstm_cell_backward equals the centred difference of the cell's
    h_next and c_next against dh_next and dc_next, float64."""
    case = cases.make_case("lstm_cell_backward", 3, dims)
    xt, h_prev, c_prev, p = fresh(case.inputs)
    variables = {"xt": xt, "h_prev": h_prev, "c_prev": c_prev, **p}
    upstream = np.concatenate([case.inputs["dh_next"], case.inputs["dc_next"]])

    def cell():
        h_next, c_next, *_ = lstm.lstm_cell_forward(xt, h_prev, c_prev, p)
        return np.concatenate([h_next, c_next])

    numeric = numerical_gradient(cell, variables[wrt], upstream)
    key = {"xt": "dxt", "h_prev": "dh_prev", "c_prev": "dc_prev"}.get(wrt, "d" + wrt)
    ours = case.expected[key]
    err = rel_error(ours, numeric)
    assert err < 1e-7, f"{key}: relative error {err:.2e}\nours:\n{ours}\nnumeric:\n{numeric}"


@pytest.mark.parametrize("dims", SIZES, ids=str)
@pytest.mark.parametrize("wrt", ["x", "h0", *WEIGHTS])
def test_backward_matches_finite_differences(dims, wrt):
    """Each gradient of lstm_backward equals the centred difference of lstm_forward's h
    against dh, float64."""
    case = cases.make_case("lstm_forward", 5, dims)
    x, h0 = case.inputs["x"].copy(), case.inputs["h0"].copy()
    p = {k: v.copy() for k, v in case.inputs["parameters"].items()}
    variables = {"x": x, "h0": h0, **p}
    dh = np.random.default_rng(6).standard_normal((dims.n_h, dims.m, dims.T_x))
    ours = lstm.lstm_backward(dh, case.expected[3])["d" + wrt]
    numeric = numerical_gradient(lambda: lstm.lstm_forward(x, h0, p)[0], variables[wrt], dh)
    err = rel_error(ours, numeric)
    assert err < 1e-7, f"d{wrt}: relative error {err:.2e}\nours:\n{ours}\nnumeric:\n{numeric}"


# ---- PyTorch ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    """PyTorch, the independent oracle; CI installs it (`pip install torch==2.13.0`)."""
    return import_torch()


TORCH_ORDER = ("i", "f", "c", "o")  # PyTorch stacks its gates as i, f, g, o


def load_torch(torch, module, p, n_h, suffix=""):
    """Copy our weights into a torch LSTM or LSTMCell: W[:, :n_h] acts on h, the rest on x."""
    stacked = np.concatenate([p["W" + g] for g in TORCH_ORDER])
    with torch.no_grad():
        getattr(module, "weight_hh" + suffix).copy_(torch.from_numpy(stacked[:, :n_h]))
        getattr(module, "weight_ih" + suffix).copy_(torch.from_numpy(stacked[:, n_h:]))
        getattr(module, "bias_ih" + suffix).copy_(
            torch.from_numpy(np.concatenate([p["b" + g][:, 0] for g in TORCH_ORDER])))
        getattr(module, "bias_hh" + suffix).zero_()


def torch_gradients(module, n_h, suffix=""):
    """Our parameter gradients, read back from a torch module's."""
    w_hh = getattr(module, "weight_hh" + suffix).grad.numpy()
    w_ih = getattr(module, "weight_ih" + suffix).grad.numpy()
    b = getattr(module, "bias_ih" + suffix).grad.numpy()
    found = {}
    for k, g in enumerate(TORCH_ORDER):
        rows = slice(k * n_h, (k + 1) * n_h)
        found["dW" + g] = np.concatenate([w_hh[rows], w_ih[rows]], axis=1)
        found["db" + g] = b[rows, None]
    return found


@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_forward_matches_torch_lstm(torch, dims):
    """lstm_forward's hidden and cell states equal torch.nn.LSTM's, float64."""
    case = cases.make_case("lstm_forward", 7, dims)
    x, h0, p = case.inputs["x"], case.inputs["h0"], case.inputs["parameters"]
    net = torch.nn.LSTM(dims.n_x, dims.n_h, dtype=torch.float64)
    load_torch(torch, net, p, dims.n_h, "_l0")
    c0 = torch.zeros(1, dims.m, dims.n_h, dtype=torch.float64)
    with torch.no_grad():  # torch wants (T_x, m, n_x); ours is (n_x, m, T_x)
        out, _ = net(torch.from_numpy(x.transpose(2, 1, 0)), (torch.from_numpy(h0.T[None]), c0))
    h, _, c, _ = case.expected
    np.testing.assert_allclose(h, out.numpy().transpose(2, 1, 0), rtol=1e-12, atol=1e-12)
    assert c.shape == h.shape


@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_backward_matches_torch_autograd(torch, dims):
    """Every gradient of lstm_backward equals autograd's through torch.nn.LSTM, float64."""
    case = cases.make_case("lstm_forward", 9, dims)
    x, h0, p = case.inputs["x"], case.inputs["h0"], case.inputs["parameters"]
    dh = np.random.default_rng(10).standard_normal((dims.n_h, dims.m, dims.T_x))
    ours = lstm.lstm_backward(dh, case.expected[3])
    net = torch.nn.LSTM(dims.n_x, dims.n_h, dtype=torch.float64)
    load_torch(torch, net, p, dims.n_h, "_l0")
    xs = torch.tensor(x.transpose(2, 1, 0), requires_grad=True)
    hs = torch.tensor(h0.T[None], requires_grad=True)
    out, _ = net(xs, (hs, torch.zeros(1, dims.m, dims.n_h, dtype=torch.float64)))
    out.backward(torch.from_numpy(dh.transpose(2, 1, 0)))
    theirs = {"dx": xs.grad.numpy().transpose(2, 1, 0), "dh0": hs.grad.numpy()[0].T,
              **torch_gradients(net, dims.n_h, "_l0")}
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key], value, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{key}: ours vs torch autograd")


@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_cell_backward_matches_torch_autograd(torch, dims):
    """Every gradient of lstm_cell_backward equals autograd's through torch.nn.LSTMCell,
    for an upstream gradient on both h_next and c_next, float64."""
    case = cases.make_case("lstm_cell_backward", 12, dims)
    xt, h_prev, c_prev, p = fresh(case.inputs)
    cell = torch.nn.LSTMCell(dims.n_x, dims.n_h, dtype=torch.float64)
    load_torch(torch, cell, p, dims.n_h)
    leaves = [torch.tensor(a.T, requires_grad=True) for a in (xt, h_prev, c_prev)]
    h_next, c_next = cell(leaves[0], (leaves[1], leaves[2]))
    torch.autograd.backward([h_next, c_next], [torch.from_numpy(case.inputs["dh_next"].T),
                                               torch.from_numpy(case.inputs["dc_next"].T)])
    theirs = {"dxt": leaves[0].grad.numpy().T, "dh_prev": leaves[1].grad.numpy().T,
              "dc_prev": leaves[2].grad.numpy().T, **torch_gradients(cell, dims.n_h)}
    for key, value in theirs.items():
        np.testing.assert_allclose(case.expected[key], value, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{key}: ours vs torch autograd")
