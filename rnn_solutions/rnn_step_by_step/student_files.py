"""The files the release ships for students, made from the reference by `make release`.

    rnn_utils.py           -- a copy of `student.py` (self-checks, gradient check, plot),
                              with what it shares with the grader inlined: `layout.py`
                              and three helpers of the kernel client
    self_check_data.json   -- the reference's outputs on the notebook's examples, the
                              fingerprints of known mistakes there, and the steps the
                              self-check replays for the sequence functions
"""

import copy
import json
from pathlib import Path

import numpy as np

from rnn_solutions.engine import compare, inline, kernel_client
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
    expected = compare.plain(layout.arrays(name, getattr(rnn, name)(*inputs), T_x))
    mistakes = []
    for hint, mistake in MISTAKES[name].items():
        with kernel_client.quiet():
            theirs = compare.plain(layout.arrays(name, mistake(*copy.deepcopy(inputs)), T_x))
        wrong = compare.wrong_outputs(theirs, expected)
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
    """student.py as students get it: standing alone, what it shares with the grader
    inlined (`layout.py`, the comparisons, three helpers of the kernel client)."""
    return inline.standalone(student)


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
