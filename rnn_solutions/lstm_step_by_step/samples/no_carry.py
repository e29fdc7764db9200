def lstm_backward(dh, caches):
    """
    Implement the backward pass for the LSTM over an entire sequence.

    Arguments:
    dh -- gradients of the loss with respect to the hidden states, numpy array of shape (n_h, m, T_x)
    caches -- (list of cell caches, x) from lstm_forward

    Returns:
    gradients -- python dictionary containing:
                        dx -- gradient of the inputs, numpy array of shape (n_x, m, T_x)
                        dh0 -- gradient of the initial hidden state, numpy array of shape (n_h, m)
                        dWf, dWi, dWc, dWo -- gradients of the gates' weights, numpy arrays of shape (n_h, n_h + n_x)
                        dbf, dbi, dbc, dbo -- gradients of the gates' biases, numpy arrays of shape (n_h, 1)
    """
    # Retrieve values from the first cache (t=1) of caches
    (caches, x) = caches
    (h1, c1, h0, c0, f1, i1, cc1, o1, x1, parameters) = caches[0]

    # Retrieve dimensions from dh's and x1's shapes
    n_h, m, T_x = dh.shape
    n_x, m = x1.shape

    # initialize the gradients with the right sizes
    dx = np.zeros((n_x, m, T_x))
    dh0 = np.zeros((n_h, m))
    dh_prevt = np.zeros((n_h, m))
    dc_prevt = np.zeros((n_h, m))
    dWf = np.zeros((n_h, n_h + n_x))
    dWi = np.zeros((n_h, n_h + n_x))
    dWc = np.zeros((n_h, n_h + n_x))
    dWo = np.zeros((n_h, n_h + n_x))
    dbf = np.zeros((n_h, 1))
    dbi = np.zeros((n_h, 1))
    dbc = np.zeros((n_h, 1))
    dbo = np.zeros((n_h, 1))

    # loop back over the whole sequence
    for t in reversed(range(T_x)):
        # Compute all gradients using lstm_cell_backward
        gradients = lstm_cell_backward(dh[:, :, t], dc_prevt, caches[t])
        # Store or add the gradient to the parameters' previous step's gradient
        dx[:, :, t] = gradients["dxt"]
        dWf += gradients["dWf"]
        dWi += gradients["dWi"]
        dWc += gradients["dWc"]
        dWo += gradients["dWo"]
        dbf += gradients["dbf"]
        dbi += gradients["dbi"]
        dbc += gradients["dbc"]
        dbo += gradients["dbo"]
    # Set the first activation's gradient to the backpropagated gradient dh_prev.
    dh0 = gradients["dh_prev"]

    # Store the gradients in a python dictionary
    gradients = {"dx": dx, "dh0": dh0, "dWf": dWf, "dbf": dbf, "dWi": dWi, "dbi": dbi,
                 "dWc": dWc, "dbc": dbc, "dWo": dWo, "dbo": dbo}

    return gradients
