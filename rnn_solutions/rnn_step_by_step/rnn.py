"""Reference implementation of the four exercises of the RNN step-by-step notebook.

Shapes follow the notebook: n_x input features, n_h hidden units, n_y outputs,
m examples in the batch, T_x time steps. Time is the last axis.

Caches are plain tuples:
    cell cache     -- (h_next, h_prev, xt, parameters)
    sequence cache -- (list of cell caches, x)

No function modifies its arguments.
"""

import numpy as np


def softmax(z):
    """Column-wise softmax of z, shape (n_y, m), stable for large logits."""
    # subtract the column maximum: exp never overflows, the result is unchanged
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def rnn_cell_forward(xt, h_prev, parameters):
    """One forward step of the RNN cell.

    Arguments:
    xt -- input at step t, shape (n_x, m)
    h_prev -- hidden state at step t-1, shape (n_h, m)
    parameters -- dict with Whx (n_h, n_x), Whh (n_h, n_h), Wyh (n_y, n_h),
                  bh (n_h, 1), by (n_y, 1)

    Returns:
    h_next -- hidden state at step t, shape (n_h, m)
    yt_pred -- prediction at step t, shape (n_y, m)
    cache -- (h_next, h_prev, xt, parameters)
    """
    Whx, Whh, Wyh = parameters["Whx"], parameters["Whh"], parameters["Wyh"]
    bh, by = parameters["bh"], parameters["by"]
    # new hidden state from the previous state and the current input
    h_next = np.tanh(Whh @ h_prev + Whx @ xt + bh)
    # prediction from the new hidden state
    yt_pred = softmax(Wyh @ h_next + by)
    cache = (h_next, h_prev, xt, parameters)
    return h_next, yt_pred, cache


def rnn_forward(x, h0, parameters):
    """Forward pass of the RNN over a whole sequence.

    Arguments:
    x -- inputs for every step, shape (n_x, m, T_x)
    h0 -- initial hidden state, shape (n_h, m)
    parameters -- dict as in rnn_cell_forward

    Returns:
    h -- hidden states for every step, shape (n_h, m, T_x)
    y_pred -- predictions for every step, shape (n_y, m, T_x)
    caches -- (list of T_x cell caches, x)
    """
    n_x, m, T_x = x.shape
    n_y, n_h = parameters["Wyh"].shape
    h = np.zeros((n_h, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    caches = []
    h_next = h0
    for t in range(T_x):
        # one cell step, fed the state carried from step t-1
        h_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], h_next, parameters)
        h[:, :, t] = h_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    return h, y_pred, (caches, x)


def rnn_cell_backward(dh_next, cache):
    """Backward pass of one RNN cell.

    Arguments:
    dh_next -- gradient of the loss with respect to h_next, shape (n_h, m)
    cache -- (h_next, h_prev, xt, parameters) from rnn_cell_forward

    Returns:
    gradients -- dict with
        dxt (n_x, m), dh_prev (n_h, m), dWhx (n_h, n_x), dWhh (n_h, n_h), dbh (n_h, 1)
    """
    h_next, h_prev, xt, parameters = cache
    Whx, Whh = parameters["Whx"], parameters["Whh"]
    # backprop through tanh: d tanh(u) / du = 1 - tanh(u)**2 = 1 - h_next**2
    du = dh_next * (1 - h_next**2)
    # backprop through u = Whh @ h_prev + Whx @ xt + bh
    dxt = Whx.T @ du
    dh_prev = Whh.T @ du
    dWhx = du @ xt.T
    dWhh = du @ h_prev.T
    # the bias is broadcast over the batch: sum its gradient over the batch
    dbh = np.sum(du, axis=1, keepdims=True)
    return {"dxt": dxt, "dh_prev": dh_prev, "dWhx": dWhx, "dWhh": dWhh, "dbh": dbh}


def rnn_backward(dh, caches):
    """Backward pass of the RNN through time.

    Arguments:
    dh -- upstream gradient of every hidden state, shape (n_h, m, T_x)
    caches -- (list of cell caches, x) from rnn_forward

    Returns:
    gradients -- dict with
        dx (n_x, m, T_x), dh0 (n_h, m), dWhx (n_h, n_x), dWhh (n_h, n_h), dbh (n_h, 1)
    """
    cell_caches, x = caches
    n_x, m, T_x = x.shape
    n_h = dh.shape[0]
    dx = np.zeros((n_x, m, T_x))
    dWhx = np.zeros((n_h, n_x))
    dWhh = np.zeros((n_h, n_h))
    dbh = np.zeros((n_h, 1))
    dh_prevt = np.zeros((n_h, m))
    for t in reversed(range(T_x)):
        # the state at step t feeds the loss directly and the step t+1
        grads = rnn_cell_backward(dh[:, :, t] + dh_prevt, cell_caches[t])
        dx[:, :, t] = grads["dxt"]
        dh_prevt = grads["dh_prev"]
        # the parameters are shared by every step: accumulate
        dWhx += grads["dWhx"]
        dWhh += grads["dWhh"]
        dbh += grads["dbh"]
    return {"dx": dx, "dh0": dh_prevt, "dWhx": dWhx, "dWhh": dWhh, "dbh": dbh}
