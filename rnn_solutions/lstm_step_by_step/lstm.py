"""Reference implementation of the four exercises of the LSTM step-by-step notebook.

The RNN assignment's notation: n_x input features, n_h hidden units, n_y outputs, m
examples in the batch, T_x time steps; h is the hidden state, c the cell state. Time is
the last axis. Every gate acts on concat = [h_prev; xt], stacked along axis 0, with a
weight of shape (n_h, n_h + n_x): its first n_h columns act on h_prev, the rest on xt.

Caches are plain tuples:
    cell cache     -- (h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, parameters)
    sequence cache -- (list of cell caches, x)

No function modifies its arguments.
"""

import numpy as np

from rnn_solutions.rnn_step_by_step.rnn import softmax

GATES = ("f", "i", "c", "o")  # forget, update (input), candidate, output: W and b of each


def sigmoid(z):
    """Elementwise logistic function."""
    return 1 / (1 + np.exp(-z))


def lstm_cell_forward(xt, h_prev, c_prev, parameters):
    """One forward step of the LSTM cell.

    Arguments:
    xt -- input at step t, shape (n_x, m)
    h_prev -- hidden state at step t-1, shape (n_h, m)
    c_prev -- cell state at step t-1, shape (n_h, m)
    parameters -- dict with Wf, Wi, Wc, Wo (n_h, n_h + n_x), bf, bi, bc, bo (n_h, 1),
                  Wy (n_y, n_h), by (n_y, 1)

    Returns:
    h_next -- hidden state at step t, shape (n_h, m)
    c_next -- cell state at step t, shape (n_h, m)
    yt_pred -- prediction at step t, shape (n_y, m)
    cache -- (h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, parameters)
    """
    p = parameters
    concat = np.concatenate([h_prev, xt], axis=0)
    # forget, update and output gates open between 0 and 1; the candidate is a tanh
    ft = sigmoid(p["Wf"] @ concat + p["bf"])
    it = sigmoid(p["Wi"] @ concat + p["bi"])
    cct = np.tanh(p["Wc"] @ concat + p["bc"])
    ot = sigmoid(p["Wo"] @ concat + p["bo"])
    # keep part of the old cell state, add part of the candidate
    c_next = ft * c_prev + it * cct
    # expose part of the squashed cell state
    h_next = ot * np.tanh(c_next)
    # prediction from the new hidden state
    yt_pred = softmax(p["Wy"] @ h_next + p["by"])
    cache = (h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return h_next, c_next, yt_pred, cache


def lstm_forward(x, h0, parameters):
    """Forward pass of the LSTM over a whole sequence; the cell state starts at zeros.

    Arguments:
    x -- inputs for every step, shape (n_x, m, T_x)
    h0 -- initial hidden state, shape (n_h, m)
    parameters -- dict as in lstm_cell_forward

    Returns:
    h -- hidden states for every step, shape (n_h, m, T_x)
    y -- predictions for every step, shape (n_y, m, T_x)
    c -- cell states for every step, shape (n_h, m, T_x)
    caches -- (list of T_x cell caches, x)
    """
    n_x, m, T_x = x.shape
    n_y, n_h = parameters["Wy"].shape
    h = np.zeros((n_h, m, T_x))
    c = np.zeros((n_h, m, T_x))
    y = np.zeros((n_y, m, T_x))
    caches = []
    h_next, c_next = h0, np.zeros((n_h, m))
    for t in range(T_x):
        # one cell step, fed both states carried from step t-1
        h_next, c_next, yt_pred, cache = lstm_cell_forward(x[:, :, t], h_next, c_next,
                                                           parameters)
        h[:, :, t], c[:, :, t], y[:, :, t] = h_next, c_next, yt_pred
        caches.append(cache)
    return h, y, c, (caches, x)


def lstm_cell_backward(dh_next, dc_next, cache):
    """Backward pass of one LSTM cell.

    Arguments:
    dh_next -- gradient of the loss with respect to h_next, shape (n_h, m)
    dc_next -- gradient of the loss with respect to c_next, shape (n_h, m)
    cache -- (h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, parameters)
             from lstm_cell_forward

    Returns:
    gradients -- dict with dxt (n_x, m), dh_prev (n_h, m), dc_prev (n_h, m),
        dWf, dWi, dWc, dWo (n_h, n_h + n_x), dbf, dbi, dbc, dbo (n_h, 1)
    """
    h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, parameters = cache
    n_h = h_next.shape[0]
    tanh_c = np.tanh(c_next)
    # backprop through h_next = ot * tanh(c_next): into the output gate's sigmoid...
    dot = dh_next * tanh_c * ot * (1 - ot)
    # ...and into the cell state, which also receives the gradient carried from step t+1
    dc = dc_next + dh_next * ot * (1 - tanh_c**2)
    # backprop through c_next = ft * c_prev + it * cct, then each gate's activation
    dft = dc * c_prev * ft * (1 - ft)
    dit = dc * cct * it * (1 - it)
    dcct = dc * it * (1 - cct**2)
    # backprop through each gate's affine map of concat = [h_prev; xt]
    concat = np.concatenate([h_prev, xt], axis=0)
    gradients, dconcat = {}, 0
    for gate, du in zip(GATES, (dft, dit, dcct, dot), strict=True):
        gradients["dW" + gate] = du @ concat.T
        # the bias is broadcast over the batch: sum its gradient over the batch
        gradients["db" + gate] = np.sum(du, axis=1, keepdims=True)
        dconcat = dconcat + parameters["W" + gate].T @ du
    # the first n_h rows of concat are h_prev, the rest xt
    return {"dxt": dconcat[n_h:], "dh_prev": dconcat[:n_h], "dc_prev": dc * ft, **gradients}


def lstm_backward(dh, caches):
    """Backward pass of the LSTM through time.

    Arguments:
    dh -- upstream gradient of every hidden state, shape (n_h, m, T_x)
    caches -- (list of cell caches, x) from lstm_forward; the first T_x are used

    Returns:
    gradients -- dict with dx (n_x, m, T_x), dh0 (n_h, m),
        dWf, dWi, dWc, dWo (n_h, n_h + n_x), dbf, dbi, dbc, dbo (n_h, 1)
    """
    cell_caches, x = caches
    n_h, m, T_x = dh.shape
    n_x = x.shape[0]
    dx = np.zeros((n_x, m, T_x))
    sums = {f"d{w}{g}": np.zeros_like(cell_caches[0][9][f"{w}{g}"])
            for g in GATES for w in "Wb"}
    dh_prevt, dc_prevt = np.zeros((n_h, m)), np.zeros((n_h, m))
    for t in reversed(range(T_x)):
        # the hidden state at step t feeds the loss and step t+1; the cell state, step t+1
        grads = lstm_cell_backward(dh[:, :, t] + dh_prevt, dc_prevt, cell_caches[t])
        dx[:, :, t] = grads["dxt"]
        dh_prevt, dc_prevt = grads["dh_prev"], grads["dc_prev"]
        # the parameters are shared by every step: accumulate
        for key in sums:
            sums[key] += grads[key]
    return {"dx": dx, "dh0": dh_prevt, **sums}
