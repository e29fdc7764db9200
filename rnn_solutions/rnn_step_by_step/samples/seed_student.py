"""The seed student's four answers, exactly as submitted (forward right, backward wrong).

Cells are separated by `# %%` lines; `samples.py` copies each into its answer cell.
"""
import numpy as np

from rnn_solutions.rnn_step_by_step.rnn import softmax  # noqa: F401 -- the notebook provides softmax

# %%
#FUNCTION: rnn_cell_forward

def rnn_cell_forward(xt, h_prev, parameters):
    """
    Implements a single forward step of the RNN-cell as described in Figure (2)

    Arguments:
    xt -- your input data at timestep "t", numpy array of shape (n_x, m).
    h_prev -- Hidden state at timestep "t-1", numpy array of shape (n_h, m)
    parameters -- python dictionary containing:
                        Whx -- Weight matrix multiplying the input, numpy array of shape (n_h, n_x)
                        Whh -- Weight matrix multiplying the hidden state, numpy array of shape (n_h, n_h)
                        Wyh -- Weight matrix relating the hidden-state to the output, numpy array of shape (n_y, n_h)
                        bh --  Bias, numpy array of shape (n_h, 1)
                        by -- Bias relating the hidden-state to the output, numpy array of shape (n_y, 1)
    Returns:
    h_next -- next hidden state, of shape (n_h, m)
    yt_pred -- prediction at timestep "t", numpy array of shape (n_y, m)
    cache -- tuple of values needed for the backward pass, contains (h_next, h_prev, xt, parameters)
    """
    
    # Retrieve parameters from "parameters"
    Whx = parameters["Whx"]
    Whh = parameters["Whh"]
    Wyh = parameters["Wyh"]
    bh = parameters["bh"]
    by = parameters["by"]
    
    ### START CODE HERE ### (≈2 lines)
    # compute next activation state using the formula given above
    h_next = np.tanh(np.dot(Whh, h_prev) + np.dot(Whx, xt) + bh)
    # compute output of the current cell using the formula given above
    yt_pred = softmax(np.dot(Wyh, h_next) + by)
    ### END CODE HERE ###
    
    # store values you need for backward propagation in cache
    cache = (h_next, h_prev, xt, parameters)
    
    return h_next, yt_pred, cache


# %%
#FUNCTION: rnn_forward

def rnn_forward(x, h0, parameters):
    """
    Implement the forward propagation of the recurrent neural network described in Figure (3).

    Arguments:
    x -- Input data for every time-step, of shape (n_x, m, T_x).
    h0 -- Initial hidden state, of shape (n_h, m)
    parameters -- python dictionary containing:
                        Whh -- Weight matrix multiplying the hidden state, numpy array of shape (n_h, n_h)
                        Whx -- Weight matrix multiplying the input, numpy array of shape (n_h, n_x)
                        Wyh -- Weight matrix relating the hidden-state to the output, numpy array of shape (n_y, n_h)
                        bh --  Bias numpy array of shape (n_h, 1)
                        by -- Bias relating the hidden-state to the output, numpy array of shape (n_y, 1)

    Returns:
    h -- Hidden states for every time-step, numpy array of shape (n_h, m, T_x)
    y_pred -- Predictions for every time-step, numpy array of shape (n_y, m, T_x)
    caches -- tuple of values needed for the backward pass, contains (list of caches, x)
    """
    
    # Initialize "caches" which will contain the list of all caches
    caches = []
    
    # Retrieve dimensions from shapes of x and parameters["Wyh"]
    n_x, m, T_x = x.shape
    n_y, n_h = parameters["Wyh"].shape
    
    ### START CODE HERE ###
    
    # initialize "h" and "y" with zeros (≈2 lines)
    h = np.zeros((n_h, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))

    # Initialize a_next (≈1 line)
    h_next = h0

    # loop over all time-steps
    for t in range(T_x):
        # Update next hidden state, compute the prediction, get the cache (≈1 line)
        h_next, yt_pred, cache = rnn_cell_forward(x[:,:,t], h_next, parameters)
        # Save the value of the new "next" hidden state in a (≈1 line)
        h[:,:,t] = h_next
        # Save the value of the prediction in y (≈1 line)
        y_pred[:,:,t] = yt_pred
        # Append "cache" to "caches" (≈1 line)
        caches.append(cache)
        
    ### END CODE HERE ###
    
    # store values needed for backward propagation in cache
    caches = (caches, x)
    
    return h, y_pred, caches


# %%
def rnn_cell_backward(dh_next, cache):
    """
    Implements the backward pass for the RNN-cell (single time-step).

    Arguments:
    da_next -- Gradient of loss with respect to next hidden state
    cache -- python dictionary containing useful values (output of rnn_cell_forward())

    Returns:
    gradients -- python dictionary containing:
                        dx -- Gradients of input data, of shape (n_x, m)
                        dh_prev -- Gradients of previous hidden state, of shape (n_h, m)
                        dWhx -- Gradients of input-to-hidden weights, of shape (n_h, n_x)
                        dWhh -- Gradients of hidden-to-hidden weights, of shape (n_h, n_h)
                        dbh -- Gradients of bias vector, of shape (n_h, 1)
    """
    
    # Retrieve values from cache
    (h_next, h_prev, xt, parameters) = cache
    
    # Retrieve values from parameters
    Whx = parameters["Whx"]
    Whh = parameters["Whh"]
    Wyh = parameters["Wyh"]
    bh = parameters["bh"]
    by = parameters["by"]

    ### START CODE HERE ###
    # compute the gradient of tanh with respect to h_next (≈1 line)
    dtanh = 1 - np.square(np.tanh(np.dot(Whx, xt) + np.dot(Whh, h_prev) + bh))

    # compute gradient of the loss with respect to Wxh (≈2 lines)
    dxt = np.dot(Whx.T, dtanh)
    dWhx = np.dot(dtanh, xt.T)

    # compute the gradient with respect to Whh (≈2 lines)
    dh_prev = np.dot(Whh.T, dtanh)
    dWhh = np.dot(dtanh, h_prev.T)

    # compute the gradient with respect to b (≈1 line)
    dbh = np.sum(dtanh, axis=1, keepdims=True)

    ### END CODE HERE ###
    
    # Store the gradients in a python dictionary
    gradients = {"dxt": dxt, "dh_prev": dh_prev, "dWhx": dWhx, "dWhh": dWhh, "dbh": dbh}
    
    return gradients


# %%
def rnn_backward(dh, caches):
    """
    Implement the backward pass for a RNN over an entire sequence of input data.

    Arguments:
    dh -- Upstream gradients of all hidden states, of shape (n_h, m, T_x)
    caches -- tuple containing information from the forward pass (rnn_forward)
    
    Returns:
    gradients -- python dictionary containing:
                        dx -- Gradient w.r.t. the input data, numpy-array of shape (n_x, m, T_x)
                        dh0 -- Gradient w.r.t the initial hidden state, numpy-array of shape (n_h, m)
                        dWhx -- Gradient w.r.t the input's weight matrix, numpy-array of shape (n_h, n_x)
                        dWhh -- Gradient w.r.t the hidden state's weight matrix, numpy-arrayof shape (n_h, n_h)
                        dbh -- Gradient w.r.t the bias, of shape (n_h, 1)
    """
        
     ### START CODE HERE ###

    # Retrieve values from the first cache (t=1) of caches (≈2 lines)
    (caches, x) = caches
    (h1, h0, x1, parameters) = caches[0]

    # Retrieve dimensions from dh's and x1's shapes (≈2 lines)
    n_h, m, T_x = dh.shape
    n_x, m = x1.shape

    # initialize the gradients with the right sizes (≈6 lines)
    dx = np.zeros((n_x, m, T_x))
    dWhx = np.zeros((n_h, n_x))
    dWhh = np.zeros((n_h, n_h))
    dbh = np.zeros((n_h, 1))
    dh0 = np.zeros((n_h, m))
    dh_prevt = np.zeros((n_h, m))

    # Loop through all the time steps
    for t in reversed(range(T_x)):
        # Compute gradients at time step t. Choose wisely the "dh_next" and the "cache" to use in the backward propagation step. (≈1 line)
        gradients = rnn_cell_backward(dh[:,:,t], caches[t])
        # Retrieve derivatives from gradients (≈ 1 line)
        dxt, dh_prevt, dWhxt, dWhht, dbht = gradients["dxt"], gradients["dh_prev"], gradients["dWhx"], gradients["dWhh"], gradients["dbh"]
        # Increment global derivatives w.r.t parameters by adding their derivative at time-step t (≈4 lines)
        dx[:, :, t] = dxt
        dWhx += dWhxt
        dWhh += dWhht
        dbh += dbht

    # Set dh0 to the gradient of a which has been backpropagated through all time-steps (≈1 line)
    dh0 = dh_prevt
    ### END CODE HERE ###

    # Store the gradients in a python dictionary
    gradients = {"dx": dx, "dh0": dh0, "dWhx": dWhx, "dWhh": dWhh,"dbh": dbh}
    
    return gradients
