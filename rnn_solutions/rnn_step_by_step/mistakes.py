"""Known mistakes, as code: each is the wrong answer a student would compute, plus a hint.

The grader (`StepByStep.diagnose`, engine/stepwise.py) runs every mistake of an exercise
on the same inputs and gives the hints of those whose outputs the student's output
matches, on hidden cases; `make release` stores their fingerprints on the notebook's
example for the students' self-checks. Numbers in comments refer to the list of common mistakes.
"""

import numpy as np

from rnn_solutions.rnn_step_by_step import rnn


def _sigmoid(u):
    """The logistic function, a wrong activation here."""
    return 1 / (1 + np.exp(-u))


def _cell(xt, h_prev, p, act=np.tanh, whh=None, bh=True):
    """The cell's hidden state with one part swapped for a mistake."""
    whh = p["Whh"] if whh is None else whh
    return act(whh @ h_prev + p["Whx"] @ xt + (p["bh"] if bh else 0))


def _cell_forward(h_next, y, cache_first=None):
    """Builds a mistaken cell forward from its parts."""
    def variant(xt, h_prev, p):
        h = h_next(xt, h_prev, p)
        cache = (h, h_prev, xt, p) if cache_first is None else cache_first(h, h_prev, xt, p)
        return h, y(h, h_prev, p), cache
    return variant


def _softmax_over(axis):
    """Softmax normalised over another axis (None: the whole array)."""
    def y(h, h_prev, p):
        e = np.exp(p["Wyh"] @ h + p["by"])
        return e / e.sum(axis=axis, keepdims=axis is not None)
    return y


def _y(h, h_prev, p):
    """The right prediction."""
    return rnn.softmax(p["Wyh"] @ h + p["by"])


CELL_FORWARD = {
    "the prediction uses h_prev: y_t = softmax(Wyh h_t + by) uses the new state h_t (h_next)":
        _cell_forward(_cell, lambda h, h_prev, p: rnn.softmax(p["Wyh"] @ h_prev + p["by"])),
    "the softmax is taken over the batch axis: normalise each column (axis=0)":
        _cell_forward(_cell, _softmax_over(1)),
    "the softmax is taken over the whole array: normalise each column (axis=0)":
        _cell_forward(_cell, _softmax_over(None)),
    "yt_pred holds logits: apply softmax to Wyh h_t + by":
        _cell_forward(_cell, lambda h, h_prev, p: p["Wyh"] @ h + p["by"]),
    "the bias bh is missing from the hidden state":
        _cell_forward(lambda xt, h_prev, p: _cell(xt, h_prev, p, bh=False), _y),
    "the bias by is missing from the prediction":
        _cell_forward(_cell, lambda h, h_prev, p: rnn.softmax(p["Wyh"] @ h)),
    "the activation is not tanh: h_t = tanh(Whh h_prev + Whx xt + bh)":
        _cell_forward(lambda xt, h_prev, p: _cell(xt, h_prev, p, act=_sigmoid), _y),
    "Whh is transposed: use Whh @ h_prev, not Whh.T (the shapes fit because Whh is square)":
        _cell_forward(lambda xt, h_prev, p: _cell(xt, h_prev, p, whh=p["Whh"].T), _y),
    "the cache is in another order: it must be (h_next, h_prev, xt, parameters)":
        _cell_forward(_cell, _y, lambda h, h_prev, xt, p: (h_prev, h, xt, p)),
}


def _forward_with(step_h_prev=None, store_prev=False, reverse=False):
    """A mistaken loop over time built around the reference cell."""
    def variant(x, h0, p):
        T_x = x.shape[2]
        h = np.zeros((p["Whh"].shape[0], x.shape[1], T_x))
        y = np.zeros((p["Wyh"].shape[0], x.shape[1], T_x))
        caches, h_prev = [None] * T_x, h0
        for t in (reversed(range(T_x)) if reverse else range(T_x)):
            fed = h0 if step_h_prev == "h0" else h_prev
            h_next, y[:, :, t], caches[t] = rnn.rnn_cell_forward(x[:, :, t], fed, p)
            h[:, :, t] = fed if store_prev else h_next
            h_prev = h_next
        return h, y, (caches, x)
    return variant


FORWARD = {
    "every step is fed h0: feed each step the hidden state of the step before":
        _forward_with(step_h_prev="h0"),
    "h[:, :, t] holds the previous state: store the h_next that step t returns":
        _forward_with(store_prev=True),
    "the loop runs backwards in time: the forward pass goes t = 0, 1, ..., T_x - 1":
        _forward_with(reverse=True),
}


def _cell_backward_with(dtanh=None, dh_prev=None, dWhh=None, dbh=None, scale=1):
    """A mistaken cell backward: one of its lines replaced."""
    def variant(dh_next, cache):
        h_next, h_prev, xt, p = cache
        du = dh_next * (1 - h_next**2) if dtanh is None else dtanh(dh_next, h_next, h_prev)
        g = {"dxt": p["Whx"].T @ du, "dh_prev": p["Whh"].T @ du, "dWhx": du @ xt.T,
             "dWhh": du @ h_prev.T, "dbh": du.sum(axis=1, keepdims=True)}
        if dh_prev:
            g["dh_prev"] = dh_prev(du, p)
        if dWhh:
            g["dWhh"] = dWhh(du, h_next, h_prev)
        if dbh:
            g["dbh"] = dbh(du)
        for key in ("dWhx", "dWhh", "dbh"):
            g[key] = g[key] / (dh_next.shape[1] if scale == "m" else 1)
        return g
    return variant


CELL_BACKWARD = {
    "dh_next is never applied: du = dh_next * (1 - h_next**2)":
        _cell_backward_with(dtanh=lambda d, h, hp: 1 - h**2),
    "the tanh derivative is taken at h_prev: it is 1 - h_next**2":
        _cell_backward_with(dtanh=lambda d, h, hp: d * (1 - hp**2)),
    "tanh is applied twice: h_next is already tanh(u), its derivative is 1 - h_next**2":
        _cell_backward_with(dtanh=lambda d, h, hp: d * (1 - np.tanh(h) ** 2)),
    "dh_prev needs Whh.T: dh_prev = Whh.T @ du":
        _cell_backward_with(dh_prev=lambda du, p: p["Whh"] @ du),
    "dWhh is transposed: dWhh = du @ h_prev.T":
        _cell_backward_with(dWhh=lambda du, h, hp: hp @ du.T),
    "dWhh uses h_next: dWhh = du @ h_prev.T":
        _cell_backward_with(dWhh=lambda du, h, hp: du @ h.T),
    "dbh is averaged: sum du over the batch (axis=1, keepdims=True)":
        _cell_backward_with(dbh=lambda du: du.mean(axis=1, keepdims=True)),
    "the parameter gradients are divided by m: the loss is a sum, do not divide":
        _cell_backward_with(scale="m"),
}


def _backward_with(carry=True, upstream=True, forward_in_time=False, accumulate=True,
                   dh0=None, mirror_dx=False):
    """A mistaken loop back through time built around the reference cell."""
    def variant(dh, caches):
        cell_caches, x = caches
        T_x = dh.shape[2]
        g = {"dx": np.zeros(x.shape), "dWhx": 0, "dWhh": 0, "dbh": 0}
        carried = np.zeros(dh.shape[:2])
        for t in (range(T_x) if forward_in_time else reversed(range(T_x))):
            dh_t = (dh[:, :, t] if upstream else 0) + (carried if carry else 0)
            step = rnn.rnn_cell_backward(dh_t, cell_caches[t])
            g["dx"][:, :, T_x - 1 - t if mirror_dx else t] = step["dxt"]
            carried = step["dh_prev"]
            for key in ("dWhx", "dWhh", "dbh"):
                g[key] = g[key] + step[key] if accumulate else step[key]
        g["dh0"] = carried if dh0 is None else dh0(dh)
        return g
    return variant


BACKWARD = {
    "only the last time step matches: is the gradient carried from step t+1 "
    "(dh_prev) added to dh[:, :, t]?": _backward_with(carry=False),
    "every gradient is zero: each step needs dh[:, :, t] plus the carried gradient":
        _backward_with(upstream=False),
    "the loop runs forward in time: backpropagation goes from t = T_x - 1 down to 0":
        _backward_with(forward_in_time=True),
    "the parameter gradients are overwritten at each step: accumulate them with +=":
        _backward_with(accumulate=False),
    "dh0 is dh[:, :, 0]: it is the dh_prev returned by the step t = 0":
        _backward_with(dh0=lambda dh: dh[:, :, 0]),
    "dx is stored at the mirrored index: store step t's dxt at dx[:, :, t]":
        _backward_with(mirror_dx=True),
}

MISTAKES = {"rnn_cell_forward": CELL_FORWARD, "rnn_forward": FORWARD,
            "rnn_cell_backward": CELL_BACKWARD, "rnn_backward": BACKWARD}
