"""Seeded inputs and reference outputs for the four exercises.

`example(name)` rebuilds the notebook's visible example (the legacy `np.random.seed(1)`
draws, in the notebook's order: `layout.example_inputs`). `make_case(name, seed, dims)`
draws fresh inputs with `np.random.default_rng(seed)` at any dimensions. Both return
a `Case`: the keyword arguments of the exercise and the reference's outputs.

`HIDDEN_CASES` lists the (seed, dims) pairs the hidden grader cells use. To add a
case, append a pair; to change seeds, edit them: the grader cells read this list.
"""

from typing import NamedTuple

import numpy as np

from rnn_solutions.rnn_step_by_step import layout, rnn

EXERCISES = ("rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward")


class Dims(NamedTuple):
    """Sizes of one case: inputs, hidden units, outputs, batch, time steps."""

    n_x: int
    n_h: int
    n_y: int
    m: int
    T_x: int


class Case(NamedTuple):
    """Inputs of one exercise (keyword arguments) and the reference's outputs."""

    name: str
    inputs: dict
    expected: object


# n_x, n_h, n_y and m all different so that a wrong transpose cannot fit;
# m = 1 and T_x = 1 are the edge cases.
HIDDEN_CASES = (
    (11, Dims(n_x=3, n_h=5, n_y=2, m=7, T_x=4)),
    (23, Dims(n_x=4, n_h=6, n_y=3, m=1, T_x=5)),
    (37, Dims(n_x=2, n_h=7, n_y=5, m=3, T_x=1)),
    (41, Dims(n_x=6, n_h=4, n_y=3, m=9, T_x=8)),
)



def _parameters(draw, d):
    """Draw a parameter dict; `draw(*shape)` gives standard normals."""
    shapes = {"Whx": (d.n_h, d.n_x), "Whh": (d.n_h, d.n_h), "Wyh": (d.n_y, d.n_h),
              "bh": (d.n_h, 1), "by": (d.n_y, 1)}
    return {key: draw(*shape) for key, shape in shapes.items()}


def _case(name, draw, d):
    """Draw the inputs of exercise `name` and run the reference on them."""
    if name == "rnn_cell_forward":
        inputs = {"xt": draw(d.n_x, d.m), "h_prev": draw(d.n_h, d.m),
                  "parameters": _parameters(draw, d)}
    elif name == "rnn_forward":
        inputs = {"x": draw(d.n_x, d.m, d.T_x), "h0": draw(d.n_h, d.m),
                  "parameters": _parameters(draw, d)}
    elif name == "rnn_cell_backward":
        _, _, cache = rnn.rnn_cell_forward(draw(d.n_x, d.m), draw(d.n_h, d.m),
                                           _parameters(draw, d))
        inputs = {"dh_next": draw(d.n_h, d.m), "cache": cache}
    elif name == "rnn_backward":
        _, _, caches = rnn.rnn_forward(draw(d.n_x, d.m, d.T_x), draw(d.n_h, d.m),
                                       _parameters(draw, d))
        inputs = {"dh": draw(d.n_h, d.m, d.T_x), "caches": caches}
    else:
        raise ValueError(f"unknown exercise {name!r}; expected one of {EXERCISES}")
    return Case(name, inputs, getattr(rnn, name)(**inputs))


def make_case(name, seed, dims):
    """Inputs and reference outputs of exercise `name`, drawn from `seed` at `dims`."""
    rng = np.random.default_rng(seed)
    return _case(name, lambda *shape: rng.standard_normal(shape), Dims(*dims))


def hidden_cases(name):
    """The cases the hidden grader cells check exercise `name` on.

    Each exercise draws from a seed of its own: with one seed, a sequence case with T_x = 1
    would hold exactly the numbers of the cell case, and the reference cell function that
    stands in during the sequence check would answer the cell function's hidden case.
    """
    offset = 1000 * EXERCISES.index(name)
    return [make_case(name, seed + offset, dims) for seed, dims in HIDDEN_CASES]


def example(name):
    """The notebook's visible example of exercise `name`, drawn as the notebook does."""
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; expected one of {EXERCISES}")
    inputs = dict(zip(layout.ARGUMENTS[name], layout.example_inputs(name), strict=True))
    return Case(name, inputs, getattr(rnn, name)(**inputs))
