"""A test-only assignment of another shape: a dense layer, forward and backward.

No time steps and no parameters dict: its spec alone makes it gradable, with self-checks
and hints from the engine (tests/test_engine.py grades it end to end).
"""

import sys

from rnn_solutions.engine.spec import Exercise, Keys, Seq, Spec
from rnn_solutions.engine.stepwise import StepByStep


def dense_forward(x, W, b):
    """y = W x + b for a batch: x (n_in, m), W (n_out, n_in), b (n_out, 1) -> y (n_out, m)."""
    return W @ x + b, (x, W, b)


def dense_backward(dy, cache):
    """Gradients of dense_forward: dy (n_out, m) -> dx (n_in, m), dW, db (n_out, 1)."""
    x, W, _ = cache
    return {"dx": W.T @ dy, "dW": dy @ x.T, "db": dy.sum(axis=1, keepdims=True)}


SPEC = Spec(
    name="dense_layer",
    reference=sys.modules[__name__],
    exercises=(
        Exercise("dense_forward", ("x", "W", "b"),
                 Seq("the return value", ("y", Seq("cache", ("x", "W", "b"))))),
        Exercise("dense_backward", ("dy", "cache"), Keys("gradients", ("dx", "dW", "db")),
                 cache_from="dense_forward"),
    ),
    shapes={"x": ("n_in", "m"), "W": ("n_out", "n_in"), "b": ("n_out", 1),
            "dy": ("n_out", "m")},
    parameters={},
    cache=("x", "W", "b"),
    carries=(),
    ranges={},
    hidden_cases=((1, {"n_in": 5, "n_out": 3, "m": 1}), (2, {"n_in": 2, "n_out": 4, "m": 6})),
    example_sizes={"n_in": 3, "n_out": 2, "m": 4},
)
DENSE = StepByStep(SPEC)
# what the notebook's first cell defines besides numpy (nothing: no activations)
PREAMBLE = ""
