"""Students' helpers for the LSTM step-by-step notebook: self-checks, gradient checks, a plot.

`make release` copies this file into the assignment folder as `lstm_utils.py`, with what
it shares with the grader inlined (`layout.py`, the engine's comparisons), beside
`self_check_data.json` (the reference's outputs on the notebook's examples, its caches
there, and the fingerprints of known mistakes). It holds no solution: it only compares.

    self_check(name, fn)                   -- run fn on the notebook's example and explain
    gradient_check(forward, backward)      -- centred finite differences of your functions
    plot_gradient_reach(lstm_forward, lstm_backward) -- the LSTM's gradient against the RNN's
"""

import copy
import inspect

import numpy as np

# shared with the grader; `make release` copies them into lstm_utils.py
from rnn_solutions.engine.compare import (  # inlined
    close,
    numerical_gradient,
)
from rnn_solutions.engine.kernel_client import quiet  # inlined
from rnn_solutions.engine.plots import plot_through_time  # inlined
from rnn_solutions.engine.selfcheck import StepReplay, run_example  # inlined
from rnn_solutions.lstm_step_by_step.layout import (  # inlined
    ARGUMENTS,
    HELPER,
    RANGES,
    _data,
    example_inputs,
    labelled,
    steps_of,
)

# ---- self-checks on the notebook's examples ---------------------------------------------

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
    own = getattr(fn, "__globals__", {}).get(helper or "")
    replay = Replay(name, data.get("steps"), inputs, own)
    run_example(name, fn, part, inputs, data,
                lambda out: labelled(name, out, steps_of(name, inputs)), ARGUMENTS[name],
                helper, replay, RANGES)


class Replay(StepReplay):
    """The self-check's stand-in for the cell function (engine/selfcheck.py's StepReplay),
    replaying the reference's steps on the example."""

    def __init__(self, name, steps, inputs, own=None):
        helper = HELPER.get(name)
        super().__init__(name, inputs, helper, name == "lstm_forward", own,
                         ARGUMENTS.get(helper, ()))
        self.steps = steps

    def _fed(self, t, what, given, right, source):
        """Note a step fed the wrong state or gradient: `source` says what it should get."""
        if not close(given, right):
            self.problems.append(f"step {t} should be fed {source} as its {what}")

    def forward_step(self, xt, h_prev, c_prev, parameters):
        t = self.step_of(xt)
        step = {k: np.array(v) for k, v in self.steps[t].items()}
        if t and t - 1 in self.answers:  # what the step before was really answered
            h_right, c_right = self.answers[t - 1][:2]
        elif t:
            h_right, c_right = self.steps[t - 1]["h_next"], self.steps[t - 1]["c_next"]
        else:
            h_right, c_right = self.inputs[1], np.zeros_like(self.inputs[1])
        before = f"step {t - 1}'s" if t else None
        self._fed(t, "h_prev", h_prev, np.array(h_right), f"{before} h_next" if t else "h0")
        self._fed(t, "c_prev", c_prev, np.array(c_right), f"{before} c_next" if t else "zeros")
        cache = (step["h_next"], step["c_next"], h_prev, c_prev, step["ft"], step["it"],
                 step["cct"], step["ot"], xt, parameters)
        return step["h_next"], step["c_next"], step["yt_pred"], cache

    def backward_step(self, dh_next, dc_next, cache):
        t = self.step_of(cache[8])
        step = {k: np.array(v) for k, v in self.steps[t].items()}
        last, after = t == len(self.steps) - 1, self.answers.get(t + 1)
        if after:  # what the step after was really answered
            step["dh_next"] = self.inputs[0][:, :, t] + after["dh_prev"]
            step["dc_next"] = after["dc_prev"]
        self._fed(t, "dh_next", dh_next, step["dh_next"],
                  "dh[:, :, t]" if last else "dh[:, :, t] plus the dh_prev of step t+1")
        self._fed(t, "dc_next", dc_next, step["dc_next"],
                  "zeros" if last else "the dc_prev of step t+1")
        return {k: v for k, v in step.items() if k not in ("dh_next", "dc_next")}


# ---- gradient check ------------------------------------------------------------------------

def gradient_check(forward, backward, threshold=1e-6, seed=0):
    """Compare your backward function with centred finite differences of your forward one.

    forward, backward -- lstm_cell_forward and lstm_cell_backward, or lstm_forward and
    lstm_backward. Works in float64 on a small random case; prints one line per gradient
    with its relative error, and returns {gradient: relative error}. Errors below
    `threshold` mean the gradient is right; around 1e-2 or more mean it is wrong.
    """
    sequence = len(inspect.signature(forward).parameters) == 3  # (x, h0, parameters)
    rng = np.random.default_rng(seed)
    n_x, n_h, n_y, m, T_x = 3, 4, 2, 3, 3
    draw = rng.standard_normal
    x = draw((n_x, m, T_x) if sequence else (n_x, m))
    h0, c0 = draw((n_h, m)), draw((n_h, m))
    p = {f"{w}{g}": draw((n_h, n_h + n_x) if w == "W" else (n_h, 1))
         for g in "fico" for w in "Wb"} | {"Wy": draw((n_y, n_h)), "by": draw((n_y, 1))}
    dh, dc = draw((n_h, m, T_x) if sequence else (n_h, m)), draw((n_h, m))

    def run():  # the outputs the upstream gradients weigh, as one array
        if sequence:
            return forward(x, h0, p)[0]
        h_next, c_next, *_ = forward(x, h0, c0, p)
        return np.concatenate([h_next, c_next])

    with quiet():
        if sequence:
            grads = backward(dh.copy(), copy.deepcopy(forward(x, h0, p)[3]))
        else:
            grads = backward(dh.copy(), dc.copy(), copy.deepcopy(forward(x, h0, c0, p)[3]))
    upstream = dh if sequence else np.concatenate([dh, dc])
    variables = {"dx": x, "dh0": h0} if sequence else {"dxt": x, "dh_prev": h0, "dc_prev": c0}
    variables |= {"d" + k: v for k, v in p.items() if k[0] in "Wb" and k[1] in "fico"}
    errors = {}
    name = getattr(backward, "__name__", "your backward function")
    print(f"gradient check of {name} (relative error, pass below {threshold:g}):")
    for key, variable in variables.items():
        with quiet():
            numeric = numerical_gradient(run, variable, upstream)
        ours = np.array(grads.get(key, np.nan), dtype=np.float64)
        if ours.shape != numeric.shape:
            print(f"  {key:8s} shape {ours.shape}, expected {numeric.shape}   FAIL")
            errors[key] = np.inf
            continue
        errors[key] = float(np.max(np.abs(ours - numeric))
                            / max(1e-8, np.max(np.abs(ours) + np.abs(numeric))))
        print(f"  {key:8s} {errors[key]:.2e}   {'pass' if errors[key] < threshold else 'FAIL'}")
    return errors


# ---- how far back the gradient reaches ------------------------------------------------------

def gradient_reach(lstm_forward, lstm_backward, forget_bias=3.0, T_x=60, n_h=8, seed=0):
    """Norm of the gradient that reaches each step t from a loss on the last step.

    Small random weights, zero inputs, and a forget-gate bias that keeps the gate open
    (sigmoid(3) = 0.95): the cell state carries the gradient back almost unchanged."""
    rng = np.random.default_rng(seed)
    p = {f"{w}{g}": 0.1 * rng.standard_normal((n_h, 2 * n_h) if w == "W" else (n_h, 1))
         for g in "fico" for w in "Wb"} | {"Wy": rng.standard_normal((2, n_h)),
                                            "by": np.zeros((2, 1))}
    p["bf"] = np.full((n_h, 1), forget_bias)
    x, h0 = np.zeros((n_h, 1, T_x)), np.zeros((n_h, 1))
    dh = np.zeros((n_h, 1, T_x))
    dh[:, :, -1] = rng.standard_normal((n_h, 1))
    dx = lstm_backward(dh, lstm_forward(x, h0, p)[3])["dx"]
    return np.linalg.norm(dx[:, 0, :], axis=0)


def plot_gradient_reach(lstm_forward, lstm_backward, T_x=60):
    """Plot, on a log scale, the gradient reaching each step for your LSTM and for the
    reference RNN of the previous assignment (spectral radius of Whh 0.8)."""
    return plot_through_time(
        [("your LSTM (forget-gate bias 3)", gradient_reach(lstm_forward, lstm_backward, T_x=T_x)),
         ("the RNN (spectral radius of Whh 0.8)", _data()["rnn_gradient_reach"][:T_x])],
        "Gradients through time: the cell state carries them back")
