"""Test-only GRU reference, step by step, in the conventions of the LSTM reference.

The RNN assignment's notation (n_x, n_h, n_y, m, T_x; time is the last axis). The gates
act on concat = [h_prev; xt], the candidate on [rt * h_prev; xt]; both stack along axis 0.
No function modifies its arguments.

Caches are plain tuples:
    cell cache     -- (h_next, h_prev, zt, rt, hht, xt, parameters)
    sequence cache -- (list of cell caches, x)
"""

import numpy as np

from rnn_solutions.rnn_step_by_step.rnn import softmax

GATES = ("z", "r", "h")  # update, reset, candidate: W and b of each


def sigmoid(z):
    """Elementwise logistic function."""
    return 1 / (1 + np.exp(-z))


def gru_cell_forward(xt, h_prev, parameters):
    """One forward step of the GRU cell.

    Arguments:
    xt -- input at step t, shape (n_x, m)
    h_prev -- hidden state at step t-1, shape (n_h, m)
    parameters -- dict with Wz, Wr, Wh (n_h, n_h + n_x), bz, br, bh (n_h, 1),
                  Wy (n_y, n_h), by (n_y, 1)

    Returns:
    h_next -- hidden state at step t, shape (n_h, m)
    yt_pred -- prediction at step t, shape (n_y, m)
    cache -- (h_next, h_prev, zt, rt, hht, xt, parameters)
    """
    p = parameters
    concat = np.concatenate([h_prev, xt], axis=0)
    # update and reset gates open between 0 and 1
    zt = sigmoid(p["Wz"] @ concat + p["bz"])
    rt = sigmoid(p["Wr"] @ concat + p["br"])
    # the candidate sees only the part of h_prev the reset gate lets through
    hht = np.tanh(p["Wh"] @ np.concatenate([rt * h_prev, xt], axis=0) + p["bh"])
    # move from the old hidden state towards the candidate, as far as the update gate says
    h_next = (1 - zt) * h_prev + zt * hht
    # prediction from the new hidden state
    yt_pred = softmax(p["Wy"] @ h_next + p["by"])
    return h_next, yt_pred, (h_next, h_prev, zt, rt, hht, xt, parameters)


def gru_forward(x, h0, parameters):
    """Forward pass of the GRU over a whole sequence.

    Arguments:
    x -- inputs for every step, shape (n_x, m, T_x)
    h0 -- initial hidden state, shape (n_h, m)
    parameters -- dict as in gru_cell_forward

    Returns:
    h -- hidden states for every step, shape (n_h, m, T_x)
    y -- predictions for every step, shape (n_y, m, T_x)
    caches -- (list of T_x cell caches, x)
    """
    n_x, m, T_x = x.shape
    n_y, n_h = parameters["Wy"].shape
    h, y = np.zeros((n_h, m, T_x)), np.zeros((n_y, m, T_x))
    caches, h_next = [], h0
    for t in range(T_x):
        # one cell step, fed the hidden state carried from step t-1
        h_next, yt_pred, cache = gru_cell_forward(x[:, :, t], h_next, parameters)
        h[:, :, t], y[:, :, t] = h_next, yt_pred
        caches.append(cache)
    return h, y, (caches, x)


def gru_cell_backward(dh_next, cache):
    """Backward pass of one GRU cell.

    Arguments:
    dh_next -- gradient of the loss with respect to h_next, shape (n_h, m)
    cache -- (h_next, h_prev, zt, rt, hht, xt, parameters) from gru_cell_forward

    Returns:
    gradients -- dict with dxt (n_x, m), dh_prev (n_h, m),
        dWz, dWr, dWh (n_h, n_h + n_x), dbz, dbr, dbh (n_h, 1)
    """
    h_next, h_prev, zt, rt, hht, xt, parameters = cache
    n_h = h_next.shape[0]
    # backprop through h_next = (1 - zt) * h_prev + zt * hht, then zt's sigmoid, hht's tanh
    dzt = dh_next * (hht - h_prev) * zt * (1 - zt)
    dhht = dh_next * zt * (1 - hht**2)
    # backprop through the candidate's affine map of [rt * h_prev; xt], then rt's sigmoid
    dcand = parameters["Wh"].T @ dhht
    drt = dcand[:n_h] * h_prev * rt * (1 - rt)
    # backprop through the update and reset gates' affine maps of concat = [h_prev; xt]
    dconcat = parameters["Wz"].T @ dzt + parameters["Wr"].T @ drt
    # weights: each gate's gradient times the input it multiplied; biases: summed over m
    concat = np.concatenate([h_prev, xt], axis=0)
    gradients = {"dWz": dzt @ concat.T, "dbz": np.sum(dzt, axis=1, keepdims=True),
                 "dWr": drt @ concat.T, "dbr": np.sum(drt, axis=1, keepdims=True),
                 "dWh": dhht @ np.concatenate([rt * h_prev, xt], axis=0).T,
                 "dbh": np.sum(dhht, axis=1, keepdims=True)}
    # h_prev reaches h_next directly, through concat and through rt * h_prev; xt, both
    dh_prev = dh_next * (1 - zt) + dconcat[:n_h] + dcand[:n_h] * rt
    return {"dxt": dconcat[n_h:] + dcand[n_h:], "dh_prev": dh_prev, **gradients}


def gru_backward(dh, caches):
    """Backward pass of the GRU through time.

    Arguments:
    dh -- upstream gradient of every hidden state, shape (n_h, m, T_x)
    caches -- (list of cell caches, x) from gru_forward

    Returns:
    gradients -- dict with dx (n_x, m, T_x), dh0 (n_h, m),
        dWz, dWr, dWh (n_h, n_h + n_x), dbz, dbr, dbh (n_h, 1)
    """
    cell_caches, x = caches
    n_h, m, T_x = dh.shape
    dx, dh_prevt = np.zeros((x.shape[0], m, T_x)), np.zeros((n_h, m))
    sums = dict.fromkeys([f"d{w}{g}" for g in GATES for w in "Wb"], 0)
    for t in reversed(range(T_x)):
        # the hidden state at step t feeds the loss and step t+1
        grads = gru_cell_backward(dh[:, :, t] + dh_prevt, cell_caches[t])
        dx[:, :, t], dh_prevt = grads["dxt"], grads["dh_prev"]
        # the parameters are shared by every step: accumulate
        sums = {key: total + grads[key] for key, total in sums.items()}
    return {"dx": dx, "dh0": dh_prevt, **sums}
