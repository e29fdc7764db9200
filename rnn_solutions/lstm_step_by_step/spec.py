"""The LSTM assignment's spec: what its exercises take and return, its cases, its mistakes.

`LSTM` is its hidden checks (`engine/stepwise.py`), the declaration nbgrader_config.py
names for the assignment `lstm_step_by_step`. The notebook's examples are the original
course's draws after np.random.seed(1), so its Expected Output tables equal the published
ones.
"""

import numpy as np

from rnn_solutions.engine.spec import Exercise, Keys, Seq, Spec, Steps
from rnn_solutions.engine.stepwise import StepByStep
from rnn_solutions.lstm_step_by_step import lstm
from rnn_solutions.lstm_step_by_step.mistakes import MISTAKES
from rnn_solutions.rnn_step_by_step import rnn
from rnn_solutions.rnn_step_by_step import spec as rnn_spec

CACHE = ("h_next", "c_next", "h_prev", "c_prev", "ft", "it", "cct", "ot", "xt", None)
WEIGHTS = ("dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo")
ALIASES = ("da_prev", "da0", "da_next")  # the original course's names (a for h)
GATE, BIAS = ("n_h", "n_h+n_x"), ("n_h", 1)


def reach():
    """The finale plot: the gradient reaching each step for the student's LSTM, with
    small random weights, zero inputs, and a forget-gate bias that keeps the gate open
    (sigmoid(3) = 0.95), against the reference RNN's (spectral radius of Whh 0.8)."""
    rng = np.random.default_rng(0)
    p = {f"{w}{g}": 0.1 * rng.standard_normal((8, 16) if w == "W" else (8, 1))
         for g in "fico" for w in "Wb"}
    p |= {"Wy": rng.standard_normal((2, 8)), "by": np.zeros((2, 1)), "bf": np.full((8, 1), 3.0)}
    _, rnn_weights, _ = rnn_spec.SPEC.reach["curves"][0]
    return {"title": "Gradients through time: the cell state carries them back",
            "curves": [("your LSTM (forget-gate bias 3)", p, 8)],
            "references": [("the RNN (spectral radius of Whh 0.8)", rnn.rnn_forward,
                            rnn.rnn_backward, rnn_weights, 8)],
            "upstream": rng.standard_normal((8, 1))}


SPEC = Spec(
    name="lstm_step_by_step",
    reference=lstm,
    exercises=(
        Exercise("lstm_cell_forward", ("xt", "h_prev", "c_prev", "parameters"),
                 Seq("the return value", ("h_next", "c_next", "yt_pred", Seq("cache", CACHE)))),
        Exercise("lstm_forward", ("x", "h0", "parameters"),
                 Seq("the return value", ("h", "y", "c", Seq("caches", (
                     Steps("list of caches", Seq("cache", CACHE)), "x")))),
                 helper="lstm_cell_forward"),
        Exercise("lstm_cell_backward", ("dh_next", "dc_next", "cache"),
                 Keys("gradients", ("dxt", "dh_prev", "dc_prev", *WEIGHTS), ALIASES),
                 cache_from="lstm_cell_forward"),
        Exercise("lstm_backward", ("dh", "caches"),
                 Keys("gradients", ("dx", "dh0", *WEIGHTS), ALIASES),
                 helper="lstm_cell_backward", cache_from="lstm_forward"),
    ),
    shapes={"xt": ("n_x", "m"), "h_prev": ("n_h", "m"), "c_prev": ("n_h", "m"),
            "x": ("n_x", "m", "T_x"), "h0": ("n_h", "m"), "dh_next": ("n_h", "m"),
            "dc_next": ("n_h", "m"), "dh": ("n_h", "m", "T_x")},
    # the original course's order
    parameters={"Wf": GATE, "bf": BIAS, "Wi": GATE, "bi": BIAS, "Wo": GATE, "bo": BIAS,
                "Wc": GATE, "bc": BIAS, "Wy": ("n_y", "n_h"), "by": ("n_y", 1)},
    cache=CACHE,
    carries=("h", "c"),
    # h = ot * tanh(c) stays in [-1, 1] too
    ranges={"yt_pred": "softmax", "y": "softmax", "h_next": "tanh", "h": "tanh",
            "cct": "tanh", "ft": "sigmoid", "it": "sigmoid", "ot": "sigmoid"},
    # the RNN's sizes: n_x, n_h, n_y, m (and n_h + n_x) all differ, m = 1 and T_x = 1 included
    hidden_cases=rnn_spec.SPEC.hidden_cases,
    example_sizes={"n_x": 3, "n_h": 5, "n_y": 2, "m": 10, "T_x": 7},
    check_sizes={"n_x": 3, "n_h": 4, "n_y": 2, "m": 3, "T_x": 3},
    mistakes=MISTAKES,
    reach=reach(),
    samples="rnn_solutions.lstm_step_by_step.samples",
)
LSTM = StepByStep(SPEC)
