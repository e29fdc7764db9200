"""A third assignment, made only for the tests: a dense layer, forward and backward.

It proves the engine is general: this declaration and a tiny notebook (`notebook()`) go
through `nbgrader generate_assignment` and autograde with the engine as it is.
"""

from typing import NamedTuple

import nbformat
import numpy as np

from rnn_solutions.engine.declaration import Assignment


def dense_forward(x, W, b):
    """y = W x + b for a batch: x (n_in, m), W (n_out, n_in), b (n_out, 1)."""
    return W @ x + b, (x, W, b)


def dense_backward(dy, cache):
    """Gradients of dense_forward: dy (n_out, m) -> dx, dW, db."""
    x, W, _ = cache
    return {"dx": W.T @ dy, "dW": dy @ x.T, "db": dy.sum(axis=1, keepdims=True)}


class Case(NamedTuple):
    inputs: dict
    expected: object


class DenseLayer(Assignment):
    """Two exercises, no helpers: the defaults of declaration.py do the comparing."""

    exercises = ("dense_forward", "dense_backward")
    arguments = {"dense_forward": ("x", "W", "b"), "dense_backward": ("dy", "cache")}

    def cases(self, name):
        for label, seed, (n_in, n_out, m) in (("example", 0, (3, 2, 4)),
                                               ("hidden case 1", 1, (5, 3, 1)),
                                               ("hidden case 2", 2, (2, 4, 6))):
            draw = np.random.default_rng(seed).standard_normal
            x, W, b = draw((n_in, m)), draw((n_out, n_in)), draw((n_out, 1))
            if name == "dense_forward":
                inputs = {"x": x, "W": W, "b": b}
            else:
                inputs = {"dy": draw((n_out, m)), "cache": (x, W, b)}
            yield label, Case(inputs, globals()[name](*inputs.values()))


DENSE = DenseLayer()

SOLUTIONS = {
    "dense_forward": "def dense_forward(x, W, b):\n    ### BEGIN SOLUTION\n"
                     "    return W @ x + b, (x, W, b)\n    ### END SOLUTION\n",
    "dense_backward": "def dense_backward(dy, cache):\n    ### BEGIN SOLUTION\n"
                      "    x, W, _ = cache\n"
                      '    return {"dx": W.T @ dy, "dW": dy @ x.T, '
                      '"db": dy.sum(axis=1, keepdims=True)}\n    ### END SOLUTION\n',
}
POINTS = {"structure": 1, "values": 2}


def notebook(kernel):
    """The master notebook: an answer cell and two graded test cells per exercise."""
    def meta(grade_id, **flags):
        return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "locked": False,
                             "grade": False, "solution": False, **flags}}

    cells = [nbformat.v4.new_code_cell("import numpy as np", metadata=meta("imports",
                                                                        locked=True))]
    for name in DENSE.exercises:
        cells.append(nbformat.v4.new_code_cell(SOLUTIONS[name],
                                               metadata=meta(name, solution=True)))
        for part, points in POINTS.items():
            grade_id = f"test_{name}_{part}"
            source = (f'"""{name}: the {part} checks."""\n### BEGIN HIDDEN TESTS\n'
                      f"import _judge\n_judge.check({grade_id!r}, {name})\n"
                      "### END HIDDEN TESTS\n")
            cells.append(nbformat.v4.new_code_cell(source, metadata=meta(
                grade_id, grade=True, locked=True, points=points)))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    return nb
