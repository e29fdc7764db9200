"""A third assignment, made only for the tests: a GRU step by step, declared as a spec.

It proves the spec: the reference (`gru.py`) and this file are all a GRU needs to be
graded end to end, self-checks and hints included, with no change to the engine.
"""

from gru import gru

from rnn_solutions.engine.spec import Exercise, Keys, Seq, Spec, Steps
from rnn_solutions.engine.stepwise import StepByStep

CACHE = ("h_next", "h_prev", "zt", "rt", "hht", "xt", None)
WEIGHTS = ("dWz", "dbz", "dWr", "dbr", "dWh", "dbh")
GATE, BIAS = ("n_h", "n_h+n_x"), ("n_h", 1)

SPEC = Spec(
    name="gru_step_by_step",
    reference=gru,
    exercises=(
        Exercise("gru_cell_forward", ("xt", "h_prev", "parameters"),
                 Seq("the return value", ("h_next", "yt_pred", Seq("cache", CACHE)))),
        Exercise("gru_forward", ("x", "h0", "parameters"),
                 Seq("the return value", ("h", "y", Seq("caches", (
                     Steps("list of caches", Seq("cache", CACHE)), "x")))),
                 helper="gru_cell_forward"),
        Exercise("gru_cell_backward", ("dh_next", "cache"),
                 Keys("gradients", ("dxt", "dh_prev", *WEIGHTS)), cache_from="gru_cell_forward"),
        Exercise("gru_backward", ("dh", "caches"), Keys("gradients", ("dx", "dh0", *WEIGHTS)),
                 helper="gru_cell_backward", cache_from="gru_forward"),
    ),
    shapes={"xt": ("n_x", "m"), "h_prev": ("n_h", "m"), "x": ("n_x", "m", "T_x"),
            "h0": ("n_h", "m"), "dh_next": ("n_h", "m"), "dh": ("n_h", "m", "T_x")},
    parameters={"Wz": GATE, "bz": BIAS, "Wr": GATE, "br": BIAS, "Wh": GATE, "bh": BIAS,
                "Wy": ("n_y", "n_h"), "by": ("n_y", 1)},
    cache=CACHE,
    carries=("h",),
    # h_next = (1 - zt) h_prev + zt hht leaves [-1, 1] when h_prev does: no range for h
    ranges={"yt_pred": "softmax", "y": "softmax", "hht": "tanh", "zt": "sigmoid",
            "rt": "sigmoid"},
    hidden_cases=((5, {"n_x": 3, "n_h": 4, "n_y": 2, "m": 5, "T_x": 3}),
                  (6, {"n_x": 2, "n_h": 5, "n_y": 3, "m": 1, "T_x": 1})),
    example_sizes={"n_x": 3, "n_h": 5, "n_y": 2, "m": 4, "T_x": 4},
)
GRU = StepByStep(SPEC)
