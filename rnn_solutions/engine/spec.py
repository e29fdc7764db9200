"""An assignment, declared once: its reference module and its spec.

A spec says what each exercise takes and returns (`Exercise`, its output as nested named
parts: `Seq`, `Steps`, `Keys`, which rnncheck/compare.py reads), the shapes its arguments
are drawn at, what a step carries to the next, the ranges of its outputs, its example and
seeded hidden cases, and its known mistakes. The engine does the rest, the same way for
every assignment: the hidden checks (`stepwise.py`), the students' spec.json
(`student_files.py`), the samples.

Naming conventions the engine relies on (the course's): a cell function takes `xt`, the
carried states as `h_prev` (`c_prev`, ...) and `parameters`, and returns the new states
`h_next` (...), a prediction and a cache holding `xt`; its sequence function takes `x`,
`h0` and `parameters`. A cell's backward function takes `dh_next` (`dc_next`, ...) and
the cache, and returns gradients `dX` for its inputs and weights X; its sequence one
takes `dh` and `caches` = (list of cell caches, x).
"""

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from rnn_solutions.rnncheck.compare import TOL


class Seq(dict):
    """A tuple of exactly these named parts."""

    def __init__(self, name, parts):
        super().__init__(kind="tuple", name=name, parts=list(parts))


class Steps(dict):
    """A list of one part per time step."""

    def __init__(self, name, part):
        super().__init__(kind="steps", name=name, part=part)


class Keys(dict):
    """A dict of arrays; `aliases` are other courses' names for them."""

    def __init__(self, name, keys, aliases=()):
        super().__init__(kind="dict", name=name, keys=list(keys), aliases=list(aliases))


@dataclass(frozen=True)
class Exercise:
    """One graded function."""

    name: str
    arguments: tuple  # its parameter names, in order
    returns: object  # what it returns: Seq, Steps, Keys (nested named parts)
    helper: str = None  # a sequence function: the cell function it calls
    cache_from: str = None  # a backward function: the forward one its cache comes from
    tol: tuple = TOL  # (rtol, atol) its outputs are compared with


@dataclass(frozen=True)
class Spec:
    """An assignment's exercises and data; see the module's docstring."""

    name: str  # the assignment, as nbgrader names it
    reference: object  # the module of the reference functions
    exercises: tuple  # Exercise, in the notebook's order
    shapes: dict  # argument -> its shape, in sizes: ("n_h", "m"); "n_h+n_x" adds two
    parameters: dict  # parameter -> its shape, in the order they are drawn
    cache: tuple  # the names of a cell cache's items (None: the parameters)
    carries: tuple  # the states a step carries to the next: ("h",) or ("h", "c")
    ranges: dict  # output -> "softmax", "tanh" or "sigmoid": what its formula keeps it to
    hidden_cases: tuple  # (seed, {size: value}) of each hidden case
    example_sizes: dict  # the sizes of the notebook's examples
    check_sizes: dict = None  # the students' gradient check's (default: example_sizes)
    mistakes: dict = field(default_factory=dict)  # exercise -> {hint: wrong function}
    # name -> the notebook's example arguments; default: the original course's draws
    # after np.random.seed(1), in the order of `shapes` and `parameters`
    example_inputs: object = None
    reach: dict = field(default_factory=dict)  # the finale plot (student_files.reach)
    samples: str = None  # the module writing the sample submissions

    def exercise(self, name):
        """The Exercise called `name`; ValueError if there is none."""
        for exercise in self.exercises:
            if exercise.name == name:
                return exercise
        raise ValueError(f"unknown exercise {name!r}; expected one of "
                         f"{[e.name for e in self.exercises]}")


class Case(NamedTuple):
    """Inputs of one exercise (keyword arguments) and the reference's outputs."""

    name: str
    inputs: dict
    expected: object


def size(shape, sizes):
    """A shape in numbers: ("n_h+n_x", "m") -> (8, 10)."""
    return tuple(d if isinstance(d, int) else sum(sizes[n] for n in d.split("+"))
                 for d in shape)


def draw_inputs(spec, name, draw, sizes):
    """The arguments of exercise `name` at `sizes`, from draw(*shape) (standard normals):
    a backward function's cache is the reference forward's on inputs drawn first."""
    exercise, inputs = spec.exercise(name), {}
    if exercise.cache_from:
        forward = draw_inputs(spec, exercise.cache_from, draw, sizes)
        cache = getattr(spec.reference, exercise.cache_from)(**forward)[-1]
    for argument in exercise.arguments:
        if argument == "parameters":
            inputs[argument] = {k: draw(*size(s, sizes)) for k, s in spec.parameters.items()}
        elif argument in spec.shapes:
            inputs[argument] = draw(*size(spec.shapes[argument], sizes))
        else:  # the cache, last
            inputs[argument] = cache
    return inputs


def make_case(spec, name, seed, sizes):
    """Inputs and reference outputs of exercise `name`, drawn from `seed` at `sizes`."""
    rng = np.random.default_rng(seed)
    inputs = draw_inputs(spec, name, lambda *shape: rng.standard_normal(shape), sizes)
    return Case(name, inputs, getattr(spec.reference, name)(**inputs))


def hidden_cases(spec, name):
    """The cases the hidden checks run exercise `name` on.

    Each exercise draws from a seed of its own: with one seed, a sequence case with T_x = 1
    would hold exactly the numbers of the cell case, and the reference cell function that
    stands in during the sequence check would answer the cell function's hidden case.
    """
    offset = 1000 * [e.name for e in spec.exercises].index(name)
    return [make_case(spec, name, seed + offset, sizes) for seed, sizes in spec.hidden_cases]


def example(spec, name):
    """The notebook's visible example of exercise `name`."""
    exercise = spec.exercise(name)
    if spec.example_inputs:
        inputs = dict(zip(exercise.arguments, spec.example_inputs(name), strict=True))
    else:  # the legacy generator's numbers, from a private one: the global one is left alone
        inputs = draw_inputs(spec, name, np.random.RandomState(1).randn, spec.example_sizes)
    return Case(name, inputs, getattr(spec.reference, name)(**inputs))
