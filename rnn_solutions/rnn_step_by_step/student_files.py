"""The files the release ships for students, made from the reference by `make release`.

    rnn_utils.py           -- a copy of `student.py` (self-checks, gradient check, plot),
                              with what it shares with the grader inlined: `layout.py`
                              and three helpers of the kernel client
    self_check_data.json   -- the reference's outputs on the notebook's examples, the
                              fingerprints of known mistakes there, and the steps the
                              self-check replays for the sequence functions
"""

import ast
import copy
import importlib
import inspect
import json
import re
from pathlib import Path

import numpy as np

from rnn_solutions.engine import kernel_client
from rnn_solutions.rnn_step_by_step import layout, rnn, student
from rnn_solutions.rnn_step_by_step.cases import EXERCISES
from rnn_solutions.rnn_step_by_step.mistakes import MISTAKES

HEADER = ("# Generated from rnn_solutions/rnn_step_by_step/student.py by `make release`: "
          "do not edit.\n")
# significant digits kept in the data: the BLAS behind np.dot differs from machine to
# machine in the last bits, and the self-checks' tolerance (rtol 1e-6) is far looser
DIGITS = 12


def example_data(name):
    """Expected arrays, mistake fingerprints and (for rnn_backward) replayed steps."""
    inputs = layout.example_inputs(name)
    T_x = layout.EXAMPLE_SIZES["T_x"]
    expected = layout.plain(layout.arrays(name, getattr(rnn, name)(*inputs), T_x))
    mistakes = []
    for hint, mistake in MISTAKES[name].items():
        with kernel_client.quiet():
            theirs = layout.plain(layout.arrays(name, mistake(*copy.deepcopy(inputs)), T_x))
        wrong = layout.wrong_outputs(theirs, expected)
        if wrong:
            mistakes.append({"hint": hint, "outputs": {i: theirs[i].tolist() for i in wrong}})
    data = {"expected": [e.tolist() for e in expected], "mistakes": mistakes}
    if name == "rnn_backward":
        data["steps"] = backward_steps(*inputs)
    return data


def backward_steps(dh, caches):
    """What each cell call of a correct rnn_backward receives and returns, by time step."""
    cell_caches, _ = caches
    steps, carried = [None] * dh.shape[2], np.zeros(dh.shape[:2])
    for t in reversed(range(dh.shape[2])):
        dh_next = dh[:, :, t] + carried
        grads = rnn.rnn_cell_backward(dh_next, cell_caches[t])
        steps[t] = {"dh_next": dh_next.tolist(), **{k: v.tolist() for k, v in grads.items()}}
        carried = grads["dh_prev"]
    return steps


def students_helpers():
    """student.py as students get it, standing alone: each import marked `# inlined`
    replaced by the code it imports (the named functions of the kernel client; all of
    `layout.py`), with the imports that code needs."""
    source = Path(student.__file__).read_text()
    lines = source.splitlines(keepends=True)
    own = set(lines)
    for node in reversed(ast.parse(source).body):
        first = lines[node.lineno - 1]
        if isinstance(node, ast.ImportFrom) and "# inlined" in first:
            module = importlib.import_module(node.module)
            code = _definitions(module, [a.name for a in node.names]) \
                if module is kernel_client else _body(module)
            needed = [line for line, names in _imports(module)
                      if line not in own and any(re.search(rf"\b{n}\b", code) for n in names)]
            own.update(needed)
            lines[node.lineno - 1:node.end_lineno] = ["".join(needed) + "\n\n" + code + "\n"]
    return "".join(lines)


def _imports(module):
    """[(line, names it binds)] of a module's top-level imports, this package's left out."""
    source = Path(module.__file__).read_text()
    return [(ast.get_source_segment(source, n) + "\n",
             [(a.asname or a.name).split(".")[0] for a in n.names])
            for n in ast.parse(source).body if isinstance(n, ast.Import | ast.ImportFrom)
            and not (getattr(n, "module", "") or "").startswith("rnn_solutions")]


def _definitions(module, names):
    """The source of the named functions of a module."""
    return "\n\n".join(inspect.getsource(getattr(module, name)) for name in names)


def _body(module):
    """A module's source after its docstring and imports."""
    source = Path(module.__file__).read_text()
    last = [n for n in ast.parse(source).body if isinstance(n, ast.Import | ast.ImportFrom)][-1]
    return "".join(source.splitlines(keepends=True)[last.end_lineno:]).strip("\n") + "\n"


def write_student_files(folder):
    """Write rnn_utils.py and self_check_data.json into the assignment folder."""
    folder = Path(folder)
    (folder / "rnn_utils.py").write_text(HEADER + students_helpers())
    data = rounded({name: example_data(name) for name in EXERCISES})
    (folder / "self_check_data.json").write_text(json.dumps(data, separators=(",", ":")) + "\n")


def rounded(value):
    """A JSON tree with every float rounded to DIGITS significant digits."""
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}")
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value
