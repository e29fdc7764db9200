"""The reference functions of every declaration against PyTorch, float64: each forward
function's outputs against torch's on the same inputs, each gradient against autograd's.

The RNN and the LSTM run through torch's own modules (nn.RNNCell, nn.RNN, nn.LSTMCell,
nn.LSTM), given our weights by torch.func.functional_call, so that autograd differentiates
with respect to them in our layout. torch's GRU is another variant (the reset gate applied
after the product, z weighing the old state), so the test-only GRU's formulas are written
in torch.
"""

import numpy as np
import pytest
from conftest import DECLARATIONS, import_torch
from test_reference import SIZES, sizes_id, upstream, variable

from rnn_solutions.engine.spec import make_case

FORWARDS = [(d, e.name) for d, decl in DECLARATIONS.items() for e in decl.spec.exercises
            if not e.cache_from]
BACKWARDS = [(d, e.name) for d, decl in DECLARATIONS.items() for e in decl.spec.exercises
             if e.cache_from]


@pytest.fixture(scope="module")
def torch():
    """PyTorch, the independent oracle; CI installs it (`pip install torch==2.13.0`)."""
    return import_torch()


# ---- the oracles: the forward functions in torch, in our layout (time on the last axis) ------

def predict(torch, W, b, h):
    """softmax(W h + b) over the output axis, h of one step (n_h, m) or all (n_h, m, T_x)."""
    return torch.softmax(torch.tensordot(W, h, dims=1) + b.reshape(-1, *[1] * (h.dim() - 1)),
                         dim=0)


def run(torch, module, weights, *args):
    """torch module `module` (its name in torch.nn, and its sizes) on args, with `weights`."""
    name, *sizes = module
    net = getattr(torch.nn, name)(*sizes, dtype=torch.float64)
    return torch.func.functional_call(net, weights, args)


def first_layer(weights):
    """A cell's weights under nn.RNN's or nn.LSTM's names for its first layer."""
    return {f"{k}_l0": v for k, v in weights.items()}


def rnn_weights(torch, p):
    """nn.RNNCell's weights: Whx acts on x, Whh on h; bh is our only bias."""
    return {"weight_ih": p["Whx"], "weight_hh": p["Whh"], "bias_ih": p["bh"][:, 0],
            "bias_hh": torch.zeros_like(p["bh"][:, 0])}


def rnn_cell(torch, xt, h_prev, parameters):
    """nn.RNNCell (tanh), then the prediction."""
    h_next = run(torch, ("RNNCell", xt.shape[0], h_prev.shape[0]),
                 rnn_weights(torch, parameters), xt.T, h_prev.T).T
    return {"h_next": h_next, "yt_pred": predict(torch, parameters["Wyh"], parameters["by"],
                                                 h_next)}


def rnn_sequence(torch, x, h0, parameters):
    """nn.RNN (tanh) over the sequence, then the predictions; torch wants (T_x, m, n_x)."""
    out, _ = run(torch, ("RNN", x.shape[0], h0.shape[0]),
                 first_layer(rnn_weights(torch, parameters)), x.permute(2, 1, 0), h0.T[None])
    h = out.permute(2, 1, 0)
    return {"h": h, "y_pred": predict(torch, parameters["Wyh"], parameters["by"], h)}


TORCH_ORDER = ("i", "f", "c", "o")  # PyTorch stacks its gates as i, f, g, o


def lstm_weights(torch, p):
    """nn.LSTMCell's weights: our gates stacked in torch's order; W[:, :n_h] acts on h."""
    n_h = p["bf"].shape[0]
    w = torch.cat([p["W" + g] for g in TORCH_ORDER])
    b = torch.cat([p["b" + g][:, 0] for g in TORCH_ORDER])
    return {"weight_ih": w[:, n_h:], "weight_hh": w[:, :n_h], "bias_ih": b,
            "bias_hh": torch.zeros_like(b)}


def lstm_cell(torch, xt, h_prev, c_prev, parameters):
    """nn.LSTMCell, then the prediction."""
    h_next, c_next = run(torch, ("LSTMCell", xt.shape[0], h_prev.shape[0]),
                         lstm_weights(torch, parameters), xt.T, (h_prev.T, c_prev.T))
    return {"h_next": h_next.T, "c_next": c_next.T,
            "yt_pred": predict(torch, parameters["Wy"], parameters["by"], h_next.T)}


def lstm_sequence(torch, x, h0, parameters):
    """nn.LSTM from h0 and a zero cell state, then the predictions; the cell state of every
    step (nn.LSTM returns the last only) from nn.LSTMCell stepped along."""
    c0 = torch.zeros_like(h0)
    out, _ = run(torch, ("LSTM", x.shape[0], h0.shape[0]),
                 first_layer(lstm_weights(torch, parameters)), x.permute(2, 1, 0),
                 (h0.T[None], c0.T[None]))
    h, state, c = out.permute(2, 1, 0), (h0, c0), []
    for t in range(x.shape[2]):
        step = lstm_cell(torch, x[:, :, t], *state, parameters)
        state = step["h_next"], step["c_next"]
        c.append(step["c_next"])
    return {"h": h, "y": predict(torch, parameters["Wy"], parameters["by"], h),
            "c": torch.stack(c, dim=2)}


def gru_cell(torch, xt, h_prev, parameters):
    """The test-only GRU's cell formulas (tests/gru/gru.py), written in torch."""
    p = parameters
    concat = torch.cat([h_prev, xt])
    zt = torch.sigmoid(p["Wz"] @ concat + p["bz"])
    rt = torch.sigmoid(p["Wr"] @ concat + p["br"])
    hht = torch.tanh(p["Wh"] @ torch.cat([rt * h_prev, xt]) + p["bh"])
    h_next = (1 - zt) * h_prev + zt * hht
    return {"h_next": h_next, "yt_pred": predict(torch, p["Wy"], p["by"], h_next)}


def gru_sequence(torch, x, h0, parameters):
    """gru_cell over every step of x."""
    h, y, h_next = [], [], h0
    for t in range(x.shape[2]):
        step = gru_cell(torch, x[:, :, t], h_next, parameters)
        h_next = step["h_next"]
        h.append(h_next)
        y.append(step["yt_pred"])
    return {"h": torch.stack(h, dim=2), "y": torch.stack(y, dim=2)}


ORACLES = {  # declaration -> {forward exercise: fn(torch, **its arguments as tensors)}
    "rnn": {"rnn_cell_forward": rnn_cell, "rnn_forward": rnn_sequence},
    "lstm": {"lstm_cell_forward": lstm_cell, "lstm_forward": lstm_sequence},
    "gru": {"gru_cell_forward": gru_cell, "gru_forward": gru_sequence},
}


def tensors(torch, inputs, grad=False):
    """A case's inputs as float64 tensors (autograd's leaves if grad), parameters a dict."""
    def leaf(a):
        return torch.tensor(a, dtype=torch.float64, requires_grad=grad)

    return {k: {n: leaf(v) for n, v in a.items()} if isinstance(a, dict) else leaf(a)
            for k, a in inputs.items()}


def assert_same(name, ours, theirs, rtol, what):
    """Every array of `ours` equals the tensor of that name in `theirs`, within rtol."""
    assert ours.keys() == theirs.keys(), f"{name}: ours {list(ours)}, {what} {list(theirs)}"
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key], value.detach().numpy(), rtol=rtol, atol=1e-12,
                                   err_msg=f"{name} {key}: ours (ACTUAL) vs {what} (DESIRED)")


# ---- the tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes", SIZES, ids=sizes_id)
@pytest.mark.parametrize(("declaration", "name"), FORWARDS)
def test_forward_matches_torch(torch, declaration, name, sizes):
    """Each forward reference's outputs (its cache aside) equal torch's, float64."""
    spec = DECLARATIONS[declaration].spec
    case = make_case(spec, name, 7, sizes)
    with torch.no_grad():
        theirs = ORACLES[declaration][name](torch, **tensors(torch, case.inputs))
    parts = spec.exercise(name).returns["parts"]
    ours = {part: out for part, out in zip(parts, case.expected, strict=True)
            if isinstance(part, str)}
    assert_same(name, ours, theirs, 1e-12, "torch")


@pytest.mark.parametrize("sizes", SIZES, ids=sizes_id)
@pytest.mark.parametrize(("declaration", "name"), BACKWARDS)
def test_backward_matches_torch_autograd(torch, declaration, name, sizes):
    """Every gradient of each backward reference equals autograd's vector-Jacobian product
    through torch's forward, for upstream gradients on every output they weigh, float64."""
    spec = DECLARATIONS[declaration].spec
    exercise = spec.exercise(name)
    case = make_case(spec, exercise.cache_from, 9, sizes)
    weights = upstream(spec, exercise, 10, sizes)
    ours = getattr(spec.reference, name)(**weights,
                                         **{exercise.arguments[-1]: case.expected[-1]})
    leaves = tensors(torch, case.inputs, grad=True)
    outputs = ORACLES[declaration][exercise.cache_from](torch, **leaves)
    torch.autograd.backward([outputs[a[1:]] for a in weights],
                            [torch.from_numpy(w) for w in weights.values()])
    theirs = {key: variable(leaves, key).grad for key in exercise.returns["keys"]}
    assert_same(name, ours, theirs, 1e-10, "torch autograd")
