"""The files the release ships for students, made from the reference by `make release`.

    rnn_utils.py           -- a copy of `student.py` (self-checks, gradient check, plot),
                              with what it shares with the grader inlined: `layout.py`
                              and three helpers of the kernel client
    self_check_data.json   -- the reference's outputs on the notebook's examples, the
                              fingerprints of known mistakes there, and the steps the
                              self-check replays for the sequence functions
"""

import json
from pathlib import Path

import numpy as np

from rnn_solutions.engine import inline
from rnn_solutions.rnn_step_by_step import layout, rnn, student
from rnn_solutions.rnn_step_by_step.cases import EXERCISES

HEADER = ("# Generated from rnn_solutions/rnn_step_by_step/student.py by `make release`: "
          "do not edit.\n")


def example_data(name):
    """Expected arrays, mistake fingerprints and (for rnn_backward) replayed steps."""
    from rnn_solutions.rnn_step_by_step.grading import RNN

    data = inline.example_data(RNN, name)
    if name == "rnn_backward":
        data["steps"] = backward_steps(*layout.example_inputs(name))
    return data


def replay(name, case):
    """The self-check's stand-in for the cell function, on any case of a sequence
    function: the judge runs it beside the reference to say what each step was fed, as
    the self-check does. None for a cell function."""
    from rnn_solutions.rnn_step_by_step.grading import RNN

    if name not in layout.HELPER:
        return None
    data = {"expected": [e.tolist() for e in RNN.expected(case)]}
    if name == "rnn_backward":
        data["steps"] = backward_steps(*case.inputs.values())
    return student.Replay(name, data, list(case.inputs.values()))


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


def write_student_files(folder):
    """Write rnn_utils.py and self_check_data.json into the assignment folder."""
    folder = Path(folder)
    # student.py standing alone: what it shares with the grader inlined
    (folder / "rnn_utils.py").write_text(HEADER + inline.standalone(student))
    data = inline.rounded({name: example_data(name) for name in EXERCISES})
    (folder / "self_check_data.json").write_text(json.dumps(data, separators=(",", ":")) + "\n")
