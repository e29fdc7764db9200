"""Seeded inputs and reference outputs for the four LSTM exercises.

`example(name)` rebuilds the notebook's visible example: the original course's
`np.random.seed(1)` draws, in its order, so the notebook's Expected Output tables equal
the published ones. `make_case(name, seed, dims)` draws fresh inputs with
`np.random.default_rng(seed)` at any dimensions. Both return a `Case` (the RNN
assignment's): the keyword arguments of the exercise and the reference's outputs.
`HIDDEN_CASES` lists the (seed, dims) pairs the hidden checks use.
"""

import numpy as np

from rnn_solutions.lstm_step_by_step import lstm

# the RNN's sizes: n_x, n_h, n_y, m (and n_h + n_x) all differ, m = 1 and T_x = 1 included
from rnn_solutions.rnn_step_by_step.cases import HIDDEN_CASES, Case, Dims  # noqa: F401

EXERCISES = ("lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward")
ARGUMENTS = {"lstm_cell_forward": ("xt", "h_prev", "c_prev", "parameters"),
             "lstm_forward": ("x", "h0", "parameters"),
             "lstm_cell_backward": ("dh_next", "dc_next", "cache"),
             "lstm_backward": ("dh", "caches")}
EXAMPLE_SIZES = Dims(n_x=3, n_h=5, n_y=2, m=10, T_x=7)

def parameters(draw, d):
    """Draw a parameter dict in the original course's order; `draw(*shape)` gives
    standard normals."""
    gate, bias = (d.n_h, d.n_h + d.n_x), (d.n_h, 1)
    shapes = {"Wf": gate, "bf": bias, "Wi": gate, "bi": bias, "Wo": gate, "bo": bias,
              "Wc": gate, "bc": bias, "Wy": (d.n_y, d.n_h), "by": (d.n_y, 1)}
    return {key: draw(*shape) for key, shape in shapes.items()}


def _inputs(name, draw, d):
    """Draw the inputs of exercise `name` in the original course's order."""
    if name == "lstm_cell_forward":
        return {"xt": draw(d.n_x, d.m), "h_prev": draw(d.n_h, d.m), "c_prev": draw(d.n_h, d.m),
                "parameters": parameters(draw, d)}
    if name == "lstm_forward":
        return {"x": draw(d.n_x, d.m, d.T_x), "h0": draw(d.n_h, d.m),
                "parameters": parameters(draw, d)}
    if name == "lstm_cell_backward":
        *_, cache = lstm.lstm_cell_forward(**_inputs("lstm_cell_forward", draw, d))
        return {"dh_next": draw(d.n_h, d.m), "dc_next": draw(d.n_h, d.m), "cache": cache}
    if name == "lstm_backward":
        *_, caches = lstm.lstm_forward(**_inputs("lstm_forward", draw, d))
        return {"dh": draw(d.n_h, d.m, d.T_x), "caches": caches}
    raise ValueError(f"unknown exercise {name!r}; expected one of {EXERCISES}")


def _case(name, draw, d):
    """The inputs of exercise `name` and the reference's outputs on them."""
    inputs = _inputs(name, draw, d)
    return Case(name, inputs, getattr(lstm, name)(**inputs))


def make_case(name, seed, dims):
    """Inputs and reference outputs of exercise `name`, drawn from `seed` at `dims`."""
    rng = np.random.default_rng(seed)
    return _case(name, lambda *shape: rng.standard_normal(shape), Dims(*dims))


def hidden_cases(name):
    """The cases the hidden checks run exercise `name` on, from a seed of its own."""
    offset = 1000 * EXERCISES.index(name)
    return [make_case(name, seed + offset, dims) for seed, dims in HIDDEN_CASES]


def example(name):
    """The notebook's visible example of exercise `name`: after np.random.seed(1), the
    draws of the original course (the cell examples without a time axis)."""
    d = EXAMPLE_SIZES if name in ("lstm_forward", "lstm_backward") else EXAMPLE_SIZES._replace(
        T_x=1)
    # the legacy generator's numbers, from a private one: the global state is left alone
    return _case(name, np.random.RandomState(1).randn, d)
