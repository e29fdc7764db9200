"""Known LSTM mistakes, as code: each is the wrong answer a student would compute, with a hint.

Each exercise's mistakes are the reference with one thing changed, written as switches
of one small implementation per exercise, so a mistake reads as what differs. The grader
compares a wrong output with each mistake's output on the same inputs and prints the
hints of those that match (`stepwise.py`); `make release` stores their fingerprints on the
notebook's examples for the students' self-checks.
"""

from functools import partial

import numpy as np

from rnn_solutions.lstm_step_by_step import lstm
from rnn_solutions.rnn_step_by_step.rnn import softmax


def _cell_forward(xt, h_prev, c_prev, p, order="hx", update=True, forget=True,
                  squash="c_next", candidate=np.tanh, y_from="h_next"):
    """lstm_cell_forward with one step done wrong."""
    concat = np.concatenate([h_prev, xt] if order == "hx" else [xt, h_prev])
    ft = lstm.sigmoid(p["Wf"] @ concat + p["bf"])
    it = lstm.sigmoid(p["Wi"] @ concat + p["bi"])
    cct = candidate(p["Wc"] @ concat + p["bc"])
    ot = lstm.sigmoid(p["Wo"] @ concat + p["bo"])
    c_next = (ft if forget else 1) * c_prev + (it if update else 1) * cct
    h_next = ot * np.tanh(c_next if squash == "c_next" else c_prev)
    yt_pred = softmax(p["Wy"] @ (h_next if y_from == "h_next" else h_prev) + p["by"])
    return h_next, c_next, yt_pred, (h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, p)


def _forward(x, h0, p, c0="zeros", carry_h=True, carry_c=True):
    """lstm_forward with the loop done wrong, around the reference cell."""
    n_h, m = h0.shape
    h, c, y, caches = [], [], [], []
    h_next, c_next = h0, (np.zeros((n_h, m)) if c0 == "zeros" else h0)
    for t in range(x.shape[2]):
        h_in = h_next if carry_h else h0
        c_in = c_next if carry_c else np.zeros((n_h, m))
        h_next, c_next, yt, cache = lstm.lstm_cell_forward(x[:, :, t], h_in, c_in, p)
        for stored, value in ((h, h_next), (c, c_next), (y, yt), (caches, cache)):
            stored.append(value)
    return np.stack(h, 2), np.stack(y, 2), np.stack(c, 2), (caches, x)


def _cell_backward(dh_next, dc_next, cache, dh_into_dc=True, sigmoid_slope="g(1-g)",
                   tanh_slope="1-g**2", forget_with="c_prev", order="hx", batch_mean=False):
    """lstm_cell_backward with one step done wrong."""
    h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, p = cache
    n_h, m = h_next.shape

    def slope(g):
        return g * (1 - g) if sigmoid_slope == "g(1-g)" else g

    tanh_c = np.tanh(c_next)
    dot = dh_next * tanh_c * slope(ot)
    dc = dc_next + (dh_next * ot * (1 - tanh_c**2) if dh_into_dc else 0)
    dft = dc * (c_prev if forget_with == "c_prev" else c_next) * slope(ft)
    dit = dc * cct * slope(it)
    dcct = dc * it * ((1 - cct**2) if tanh_slope == "1-g**2" else (1 - cct))
    concat = np.concatenate([h_prev, xt] if order == "hx" else [xt, h_prev])
    grads, dconcat = {}, 0
    for gate, du in zip(lstm.GATES, (dft, dit, dcct, dot), strict=True):
        grads["dW" + gate] = du @ concat.T / (m if batch_mean else 1)
        grads["db" + gate] = np.sum(du, axis=1, keepdims=True) / (m if batch_mean else 1)
        dconcat = dconcat + p["W" + gate].T @ du
    return {"dxt": dconcat[n_h:], "dh_prev": dconcat[:n_h], "dc_prev": dc * ft, **grads}


def _backward(dh, caches, carry_h=True, carry_c=True, accumulate=True, dh0="carried"):
    """lstm_backward with the loop done wrong, around the reference cell."""
    cell_caches, x = caches
    n_h, m, T_x = dh.shape
    grads = {"dx": np.zeros((x.shape[0], m, T_x))}
    sums = {}
    dh_prevt, dc_prevt = np.zeros((n_h, m)), np.zeros((n_h, m))
    for t in reversed(range(T_x)):
        step = lstm.lstm_cell_backward(dh[:, :, t] + (dh_prevt if carry_h else 0),
                                       dc_prevt if carry_c else np.zeros((n_h, m)),
                                       cell_caches[t])
        grads["dx"][:, :, t] = step["dxt"]
        dh_prevt, dc_prevt = step["dh_prev"], step["dc_prev"]
        for key in (k for k in step if k[:2] in ("dW", "db")):
            sums[key] = sums.get(key, 0) + step[key] if accumulate else step[key]
    first = dh[:, :, 0] if dh0 == "dh[:, :, 0]" else dh_prevt
    return {**grads, "dh0": first, **sums}


MISTAKES = {
    "lstm_cell_forward": {
        "concat is [xt; h_prev]: stack h_prev first, concat = [h_prev; xt] (axis 0)":
            partial(_cell_forward, order="xh"),
        "h_next squashes c_prev: h_next = ot * tanh(c_next), the new cell state":
            partial(_cell_forward, squash="c_prev"),
        "the update gate is missing: c_next = ft * c_prev + it * cct":
            partial(_cell_forward, update=False),
        "the forget gate is missing: c_next = ft * c_prev + it * cct":
            partial(_cell_forward, forget=False),
        "the candidate cct is a sigmoid: it is tanh(Wc concat + bc)":
            partial(_cell_forward, candidate=lstm.sigmoid),
        "the prediction uses h_prev: yt_pred = softmax(Wy h_next + by)":
            partial(_cell_forward, y_from="h_prev"),
    },
    "lstm_forward": {
        "the cell state does not start at zeros: c starts at np.zeros((n_h, m)), not h0":
            partial(_forward, c0="h0"),
        "every step is fed h0: feed each step the hidden state of the step before":
            partial(_forward, carry_h=False),
        "the cell state is not carried: feed each step the c_next of the step before":
            partial(_forward, carry_c=False),
    },
    "lstm_cell_backward": {
        "the gradient through h_next into the cell state is missing: "
        "dc = dc_next + dh_next * ot * (1 - tanh(c_next)**2)":
            partial(_cell_backward, dh_into_dc=False),
        "a sigmoid's derivative is g * (1 - g), not g":
            partial(_cell_backward, sigmoid_slope="g"),
        "tanh's derivative at the candidate is 1 - cct**2, not 1 - cct":
            partial(_cell_backward, tanh_slope="1-g"),
        "the forget gate's gradient multiplies c_prev, not c_next: "
        "dft = dc * c_prev * ft * (1 - ft)":
            partial(_cell_backward, forget_with="c_next"),
        "concat is [h_prev; xt] in the weight gradients too: dW = du @ concat.T":
            partial(_cell_backward, order="xh"),
        "the parameter gradients are averaged over the batch: the loss is a sum, do not "
        "divide by m":
            partial(_cell_backward, batch_mean=True),
    },
    "lstm_backward": {
        "dc_prev is not carried: pass the dc_prev of step t+1 as step t's dc_next":
            partial(_backward, carry_c=False),
        "dh_prev is not carried: step t gets dh[:, :, t] plus the dh_prev of step t+1":
            partial(_backward, carry_h=False),
        "nothing is carried through time (the older published table's mistake): each step "
        "needs dh_prev and dc_prev from step t+1":
            partial(_backward, carry_h=False, carry_c=False),
        "the parameter gradients are overwritten at each step: accumulate them with +=":
            partial(_backward, accumulate=False),
        "dh0 is dh[:, :, 0]: it is the dh_prev returned by the step t = 0":
            partial(_backward, dh0="dh[:, :, 0]"),
    },
}
