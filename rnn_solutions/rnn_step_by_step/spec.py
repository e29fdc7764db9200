"""The RNN assignment's spec: what its exercises take and return, its cases, its mistakes.

`RNN` is its hidden checks (`engine/stepwise.py`), the declaration nbgrader_config.py
names for the assignment `rnn_step_by_step`. `rnn_forward` is checked with the reference
`rnn_cell_forward` standing in for the student's, and `rnn_backward` with the reference
`rnn_cell_backward`, so a bug in a cell function costs its own points only.
"""

import numpy as np

from rnn_solutions.engine.spec import Exercise, Keys, Seq, Spec, Steps
from rnn_solutions.engine.stepwise import StepByStep
from rnn_solutions.rnn_step_by_step import rnn
from rnn_solutions.rnn_step_by_step.mistakes import MISTAKES

CACHE = ("h_next", "h_prev", "xt", None)
WEIGHTS = ("dWhx", "dWhh", "dbh")
ALIASES = ("da_prev", "dWax", "dWaa", "dba", "da0")  # the original course's names


def example_inputs(name):
    """The arguments of the notebook's example of exercise `name`, drawn as the notebook
    does: after np.random.seed(1), in its order."""
    n_x, n_h, n_y, m, T_x = SPEC.example_sizes.values()
    # the same numbers as np.random.seed(1) then np.random.randn, from a private
    # generator: the global one is left alone, and patching it changes nothing here
    draw = np.random.RandomState(1).randn
    shapes = {"Whx": (n_h, n_x), "Whh": (n_h, n_h), "Wyh": (n_y, n_h), "bh": (n_h, 1),
              "by": (n_y, 1)}
    forward = name in ("rnn_cell_forward", "rnn_forward")
    cell = name in ("rnn_cell_forward", "rnn_cell_backward")
    x = draw(n_x, m) if cell else draw(n_x, m, T_x)
    h0 = draw(n_h, m)
    order = ("Whh", "Whx", "Wyh", "bh", "by") if forward else ("Whx", "Whh", "Wyh", "bh", "by")
    p = {key: draw(*shapes[key]) for key in order}
    if forward:
        return [x, h0, p]
    if cell:
        # the forward step written out, so the example does not depend on rnn_cell_forward
        h_next = np.tanh(p["Whh"] @ h0 + p["Whx"] @ x + p["bh"])
        return [draw(n_h, m), (h_next, h0, x, p)]
    # caches from random states in (-1, 1): rnn_backward only reads the cached arrays
    h = np.tanh(draw(n_h, m, T_x))
    h_prev = [h0] + [h[:, :, t - 1] for t in range(1, T_x)]
    caches = ([(h[:, :, t], h_prev[t], x[:, :, t], p) for t in range(T_x)], x)
    return [draw(n_h, m, T_x), caches]


def reach():
    """The finale plot: the gradient reaching each step, for three spectral radii of Whh
    (a random orthogonal matrix times each). Inputs are zero, so the states stay at 0,
    where tanh has slope 1, and only Whh shapes the gradient."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    p = {"Whx": rng.standard_normal((8, 8)), "Wyh": rng.standard_normal((2, 8)),
         "bh": np.zeros((8, 1)), "by": np.zeros((2, 1))}
    return {"title": "Gradients through time: vanishing below 1, exploding above",
            "curves": [(f"spectral radius of Whh = {s}", {**p, "Whh": s * q}, 8)
                       for s in (0.8, 1.0, 1.2)],
            "upstream": rng.standard_normal((8, 1))}


SPEC = Spec(
    name="rnn_step_by_step",
    reference=rnn,
    exercises=(
        Exercise("rnn_cell_forward", ("xt", "h_prev", "parameters"),
                 Seq("the return value", ("h_next", "yt_pred", Seq("cache", CACHE)))),
        Exercise("rnn_forward", ("x", "h0", "parameters"),
                 Seq("the return value", ("h", "y_pred", Seq("caches", (
                     Steps("list of caches", Seq("cache", CACHE)), "x")))),
                 helper="rnn_cell_forward"),
        Exercise("rnn_cell_backward", ("dh_next", "cache"),
                 Keys("gradients", ("dxt", "dh_prev", *WEIGHTS), ALIASES),
                 cache_from="rnn_cell_forward"),
        Exercise("rnn_backward", ("dh", "caches"),
                 Keys("gradients", ("dx", "dh0", *WEIGHTS), ALIASES),
                 helper="rnn_cell_backward", cache_from="rnn_forward"),
    ),
    shapes={"xt": ("n_x", "m"), "h_prev": ("n_h", "m"), "x": ("n_x", "m", "T_x"),
            "h0": ("n_h", "m"), "dh_next": ("n_h", "m"), "dh": ("n_h", "m", "T_x")},
    parameters={"Whx": ("n_h", "n_x"), "Whh": ("n_h", "n_h"), "Wyh": ("n_y", "n_h"),
                "bh": ("n_h", 1), "by": ("n_y", 1)},
    cache=CACHE,
    carries=("h",),
    ranges={"yt_pred": "softmax", "y_pred": "softmax", "h_next": "tanh", "h": "tanh"},
    # n_x, n_h, n_y and m all different so that a wrong transpose cannot fit;
    # m = 1 and T_x = 1 are the edge cases
    hidden_cases=(
        (11, {"n_x": 3, "n_h": 5, "n_y": 2, "m": 7, "T_x": 4}),
        (23, {"n_x": 4, "n_h": 6, "n_y": 3, "m": 1, "T_x": 5}),
        (37, {"n_x": 2, "n_h": 7, "n_y": 5, "m": 3, "T_x": 1}),
        (41, {"n_x": 6, "n_h": 4, "n_y": 3, "m": 9, "T_x": 8}),
    ),
    example_sizes={"n_x": 3, "n_h": 5, "n_y": 2, "m": 10, "T_x": 4},
    check_sizes={"n_x": 3, "n_h": 4, "n_y": 2, "m": 3, "T_x": 3},
    mistakes=MISTAKES,
    example_inputs=example_inputs,
    reach=reach(),
    samples="rnn_solutions.rnn_step_by_step.samples",
)
RNN = StepByStep(SPEC)
