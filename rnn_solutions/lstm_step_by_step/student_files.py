"""The files the release ships for students, made from the reference by `make release`.

    lstm_utils.py          -- `student.py` standing alone: `layout.py`, the engine's
                              comparisons and three helpers of the kernel client inlined
    self_check_data.json   -- on the notebook's examples: the reference's outputs, its
                              caches (the backward examples' inputs), the steps the
                              self-check replays, the fingerprints of known mistakes; and
                              the reference RNN's gradient reach, for the final plot
"""

import json
from pathlib import Path

import numpy as np

from rnn_solutions.engine import inline
from rnn_solutions.lstm_step_by_step import cases, lstm, student
from rnn_solutions.rnn_step_by_step import rnn
from rnn_solutions.rnn_step_by_step.student import gradient_norms

HEADER = ("# Generated from rnn_solutions/lstm_step_by_step/student.py by `make release`: "
          "do not edit.\n")


def example_data(name):
    """Expected arrays, mistake fingerprints and, for the sequence functions, their steps."""
    from rnn_solutions.lstm_step_by_step.grading import LSTM

    data, case = inline.example_data(LSTM, name), cases.example(name)
    steps = _steps(name, case)
    return {**data, "steps": steps} if steps is not None else data


def _steps(name, case):
    """What the replay of a sequence function's steps holds on a case (None for a cell
    function)."""
    if name == "lstm_forward":
        return [_forward_step(cache) for cache in case.expected[3][0]]
    if name == "lstm_backward":
        return backward_steps(*case.inputs.values())
    return None


def replay(name, case):
    """The self-check's stand-in for the cell function, on any case of a sequence
    function: the judge runs it beside the reference to say what each step was fed, as
    the self-check does. None for a cell function."""
    steps = _steps(name, case)
    return None if steps is None else student.Replay(name, steps, list(case.inputs.values()))


def _forward_step(cache):
    """What the cell call of one step of a correct lstm_forward returns, as lists."""
    h_next, c_next, _, _, ft, it, cct, ot, _, p = cache
    yt_pred = rnn.softmax(p["Wy"] @ h_next + p["by"])
    return {k: v.tolist() for k, v in dict(h_next=h_next, c_next=c_next, yt_pred=yt_pred,
                                           ft=ft, it=it, cct=cct, ot=ot).items()}


def backward_steps(dh, caches):
    """What each cell call of a correct lstm_backward receives and returns, by time step."""
    cell_caches, _ = caches
    n_h, m, T_x = dh.shape
    steps, dh_prev, dc_prev = [None] * T_x, np.zeros((n_h, m)), np.zeros((n_h, m))
    for t in reversed(range(T_x)):
        dh_next, dc_next = dh[:, :, t] + dh_prev, dc_prev
        grads = lstm.lstm_cell_backward(dh_next, dc_next, cell_caches[t])
        steps[t] = {"dh_next": dh_next.tolist(), "dc_next": dc_next.tolist(),
                    **{k: v.tolist() for k, v in grads.items()}}
        dh_prev, dc_prev = grads["dh_prev"], grads["dc_prev"]
    return steps


def example_caches():
    """The reference's caches of the backward examples, without what the inputs give:
    (h_next, c_next, ft, it, cct, ot) of each (layout.example_inputs rebuilds the rest)."""
    def stored(cache):
        return [cache[k].tolist() for k in (0, 1, 4, 5, 6, 7)]

    return {"cell": stored(cases.example("lstm_cell_backward").inputs["cache"]),
            "steps": [stored(c) for c in cases.example("lstm_backward").inputs["caches"][0]]}


def write_student_files(folder):
    """Write lstm_utils.py and self_check_data.json into the assignment folder."""
    folder = Path(folder)
    (folder / "lstm_utils.py").write_text(HEADER + inline.standalone(student))
    data = {name: example_data(name) for name in cases.EXERCISES}
    data["caches"] = example_caches()
    data["rnn_gradient_reach"] = gradient_norms(rnn.rnn_forward, rnn.rnn_backward, 0.8).tolist()
    data = inline.rounded(data)
    (folder / "self_check_data.json").write_text(json.dumps(data, separators=(",", ":")) + "\n")
