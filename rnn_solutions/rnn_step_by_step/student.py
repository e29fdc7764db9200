"""Students' helpers for the RNN step-by-step notebook: self-checks, gradient checks, plots.

`make release` copies this file into the assignment folder as `rnn_utils.py`, beside
`self_check_data.json` (the reference's outputs on the notebook's examples and the
fingerprints of known mistakes there). It holds no solution: it only compares, with the
layout and comparison code the grader uses (`layout.py`, copied in too).

    self_check(name, fn)                       -- run fn on the notebook's example and explain
    gradient_check(forward, backward)          -- centred finite differences of your functions
    plot_gradient_norms(rnn_forward, rnn_backward) -- vanishing and exploding gradients
"""

import copy
import functools
import json
from pathlib import Path

import numpy as np

# shared with the grader; `make release` copies them into rnn_utils.py
from rnn_solutions.engine.compare import (  # inlined
    ATOL,
    RTOL,
    numerical_gradient,
)
from rnn_solutions.engine.kernel_client import quiet  # inlined
from rnn_solutions.engine.plots import plot_through_time  # inlined
from rnn_solutions.engine.selfcheck import StepReplay, run_example  # inlined
from rnn_solutions.rnn_step_by_step.layout import (  # inlined
    ARGUMENTS,
    GRADIENT_KEYS,
    HELPER,
    RANGES,
    example_inputs,
    labelled,
    steps_of,
)

# ---- self-checks on the notebook's examples ---------------------------------------------

@functools.cache
def _data():
    """The reference's outputs on the examples, stored beside this file by `make release`;
    read once (every self-check and graded cell asks for them; nothing changes them)."""
    with open(Path(__file__).with_name("self_check_data.json")) as f:
        return json.load(f)


def self_check(name, fn, part="values"):
    """Run `fn` on the notebook's example of exercise `name`; explain what is wrong, if anything.

    part -- "structure" checks types, shapes, keys and the cache layout only; "values"
    checks those, the numbers, and that the inputs are left unchanged. Raises
    CheckError (an AssertionError) with a readable report when a check fails, prints a
    line when all pass. A sequence function is run with a stand-in for your cell function
    that replays the right answers, so a bug in the cell is not reported twice.
    """
    __tracebackhide__ = True  # IPython shows the student's frames, not the helper's
    data, inputs, helper = _data()[name], example_inputs(name), HELPER.get(name)
    replay = Replay(name, data, inputs, getattr(fn, "__globals__", {}).get(helper or ""))
    run_example(name, fn, part, inputs, data,
                lambda out: labelled(name, out, steps_of(name, inputs)), ARGUMENTS[name],
                helper, replay, RANGES)


class Replay(StepReplay):
    """The self-check's stand-in for the cell function (engine/selfcheck.py's StepReplay),
    replaying the reference's steps on the example from the stored outputs."""

    def __init__(self, name, data, inputs, own=None):
        helper = HELPER.get(name)
        super().__init__(name, inputs, helper, name == "rnn_forward", own,
                         ARGUMENTS.get(helper, ()))
        self.data = data

    def forward_step(self, xt, h_prev, parameters):
        t = self.step_of(xt)
        h = np.array(self.data["expected"][0])
        y = np.array(self.data["expected"][1])
        right = self.inputs[1] if t == 0 else self.answers.get(t - 1, [h[:, :, t - 1]])[0]
        if not np.allclose(h_prev, right, rtol=RTOL, atol=ATOL):
            which = "h0" if t == 0 else f"the hidden state of step {t - 1}"
            said = " (it was given h0)" if t and np.allclose(h_prev, self.inputs[1]) else ""
            self.problems.append(f"step {t} should be fed {which}{said}")
        return h[:, :, t], y[:, :, t], (h[:, :, t], h_prev, xt, parameters)

    def backward_step(self, dh_next, cache):
        t = self.step_of(cache[2])
        step = self.data["steps"][t]
        dh = self.inputs[0][:, :, t]
        after = self.answers.get(t + 1)
        right = dh + after["dh_prev"] if after else np.array(step["dh_next"])
        if not np.allclose(dh_next, right, rtol=RTOL, atol=ATOL):
            if np.allclose(dh_next, dh):
                said = ("it was given dh[:, :, t] alone: add the gradient carried from "
                        "step t+1 (dh_prev)")
            else:
                said = "it should be dh[:, :, t] plus the dh_prev that step t+1 returned"
            self.problems.append(f"the gradient passed to step {t} is wrong: {said}")
        return {key: np.array(step[key]) for key in GRADIENT_KEYS["rnn_cell_backward"]}


# ---- gradient check ------------------------------------------------------------------------

def gradient_check(forward, backward, threshold=1e-6, seed=0):
    """Compare your backward function with centred finite differences of your forward one.

    forward, backward -- rnn_cell_forward and rnn_cell_backward, or rnn_forward and
    rnn_backward. Works in float64 on a small random case; prints one line per gradient
    with its relative error, and returns {gradient: relative error}. Errors below
    `threshold` mean the gradient is right; around 1e-2 or more mean it is wrong.
    """
    sequence = forward.__name__ == "rnn_forward" or backward.__name__ == "rnn_backward"
    rng = np.random.default_rng(seed)
    n_x, n_h, n_y, m, T_x = 3, 5, 2, 4, 3
    x = rng.standard_normal((n_x, m, T_x) if sequence else (n_x, m))
    h0 = rng.standard_normal((n_h, m))
    p = {"Whx": rng.standard_normal((n_h, n_x)), "Whh": rng.standard_normal((n_h, n_h)) * 0.5,
         "Wyh": rng.standard_normal((n_y, n_h)), "bh": rng.standard_normal((n_h, 1)),
         "by": rng.standard_normal((n_y, 1))}
    upstream = rng.standard_normal((n_h, m, T_x) if sequence else (n_h, m))
    with quiet():
        grads = backward(upstream.copy(), copy.deepcopy(forward(x, h0, p)[2]))
    names = {"x" if sequence else "xt": x, "h0" if sequence else "h_prev": h0,
             "Whx": p["Whx"], "Whh": p["Whh"], "bh": p["bh"]}
    keys = GRADIENT_KEYS["rnn_backward" if sequence else "rnn_cell_backward"]
    errors = {}
    print(f"gradient check of {backward.__name__} (relative error, pass below {threshold:g}):")
    for key, (wrt, variable) in zip(keys, names.items(), strict=True):
        with quiet():
            numeric = numerical_gradient(lambda: forward(x, h0, p)[0], variable, upstream)
        ours = np.array(grads[key], dtype=np.float64)
        if ours.shape != numeric.shape:
            print(f"  {key:8s} shape {ours.shape}, expected {numeric.shape}   FAIL")
            errors[key] = np.inf
            continue
        errors[key] = float(np.max(np.abs(ours - numeric)
                                   / np.maximum(1e-8, np.abs(ours) + np.abs(numeric))))
        verdict = "pass" if errors[key] < threshold else "FAIL"
        print(f"  {key:8s} {errors[key]:.2e}   {verdict}   (gradient with respect to {wrt})")
    return errors


# ---- vanishing and exploding gradients --------------------------------------------------

def gradient_norms(rnn_forward, rnn_backward, scale, T_x=60, n_h=8, seed=0):
    """Norm of the gradient that reaches each step t from a loss on the last step.

    Whh is a random orthogonal matrix times `scale` (its spectral radius); inputs are zero,
    so the states stay at 0, where tanh has slope 1, and only Whh shapes the gradient.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n_h, n_h)))
    p = {"Whx": rng.standard_normal((n_h, n_h)), "Whh": scale * q,
         "Wyh": rng.standard_normal((2, n_h)), "bh": np.zeros((n_h, 1)), "by": np.zeros((2, 1))}
    x, h0 = np.zeros((n_h, 1, T_x)), np.zeros((n_h, 1))
    dh = np.zeros((n_h, 1, T_x))
    dh[:, :, -1] = rng.standard_normal((n_h, 1))
    _, _, caches = rnn_forward(x, h0, p)
    dx = rnn_backward(dh, caches)["dx"]
    return np.linalg.norm(dx[:, 0, :], axis=0)


def plot_gradient_norms(rnn_forward, rnn_backward, scales=(0.8, 1.0, 1.2), T_x=60):
    """Plot, on a log scale, the gradient reaching each earlier step, for several Whh scales."""
    return plot_through_time(
        [(f"spectral radius of Whh = {scale}",
          gradient_norms(rnn_forward, rnn_backward, scale, T_x)) for scale in scales],
        "Gradients through time: vanishing below 1, exploding above")
