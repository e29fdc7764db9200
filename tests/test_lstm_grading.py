"""The LSTM's hidden checks: correct answers written differently pass, known mistakes fail
with their own hint, and a mistake costs only its own function.

Each variant is a small function written as a student would; the checks run in this
process exactly as they do in a graded cell (the judge and its kernel client).
"""

import copy
import inspect
from collections import OrderedDict

import numpy as np
import pytest

from rnn_solutions.lstm_step_by_step import grading, lstm
from rnn_solutions.lstm_step_by_step.mistakes import MISTAKES


def lstm_cell_forward(xt, h_prev, c_prev, parameters):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return lstm.lstm_cell_forward(xt, h_prev, c_prev, parameters)


def lstm_cell_backward(dh_next, dc_next, cache):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return lstm.lstm_cell_backward(dh_next, dc_next, cache)


# ---- correct answers written differently -------------------------------------------------

def cell_forward_stacked(xt, h_prev, c_prev, parameters):
    """One matrix for all four gates, split after one product."""
    p = parameters
    n_h = h_prev.shape[0]
    W = np.vstack([p["Wf"], p["Wi"], p["Wc"], p["Wo"]])
    b = np.vstack([p["bf"], p["bi"], p["bc"], p["bo"]])
    z = W @ np.vstack([h_prev, xt]) + b
    ft, it, ot = (1 / (1 + np.exp(-z[k * n_h:(k + 1) * n_h])) for k in (0, 1, 3))
    cct = np.tanh(z[2 * n_h:3 * n_h])
    c_next = ft * c_prev + it * cct
    h_next = ot * np.tanh(c_next)
    e = np.exp(p["Wy"] @ h_next + p["by"])
    return h_next, c_next, e / e.sum(axis=0), [h_next, c_next, h_prev, c_prev, ft, it, cct,
                                               ot, xt, parameters]


def cell_forward_einsum(xt, h_prev, c_prev, parameters):
    """Each gate's weight split into its h and x parts, products by einsum."""
    n_h = h_prev.shape[0]

    def gate(name, act):
        W = parameters["W" + name]
        z = np.einsum("ij,jm->im", W[:, :n_h], h_prev) + np.einsum("ij,jm->im", W[:, n_h:], xt)
        return act(z + parameters["b" + name])

    ft, it, ot = (gate(g, lstm.sigmoid) for g in "fio")
    cct = gate("c", np.tanh)
    c_next = ft * c_prev + it * cct
    h_next = ot * np.tanh(c_next)
    z = parameters["Wy"] @ h_next + parameters["by"]
    y = np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)
    return h_next, c_next, y, (h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, parameters)


def forward_lists(x, h0, parameters):
    """States collected in lists and stacked at the end."""
    h_t, c_t, hs, cs, ys, caches = h0, np.zeros_like(h0), [], [], [], []
    for t in range(x.shape[-1]):
        h_t, c_t, y_t, cache = lstm_cell_forward(x[..., t], h_t, c_t, parameters)
        hs.append(h_t)
        cs.append(c_t)
        ys.append(y_t)
        caches.append(cache)
    return np.stack(hs, -1), np.stack(ys, -1), np.stack(cs, -1), (caches, x)


def cell_backward_ordered(dh_next, dc_next, cache):
    """Gradients in an OrderedDict, the gates' derivatives written with tanh(c) recomputed."""
    h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, p = cache
    n_h = h_next.shape[0]
    dc = dc_next + dh_next * ot * (1 - np.tanh(c_next) ** 2)
    pre = {"f": dc * c_prev * ft * (1 - ft), "i": dc * cct * it * (1 - it),
           "c": dc * it * (1 - cct ** 2), "o": dh_next * np.tanh(c_next) * ot * (1 - ot)}
    concat = np.vstack([h_prev, xt])
    grads = OrderedDict()
    grads["dc_prev"] = dc * ft
    dconcat = sum(p["W" + g].T @ d for g, d in pre.items())
    grads["dh_prev"], grads["dxt"] = dconcat[:n_h], dconcat[n_h:]
    for g, d in pre.items():
        grads["dW" + g] = d @ concat.T
        grads["db" + g] = d.sum(axis=1, keepdims=True)
    return grads


def backward_forward_indexed(dh, caches):
    """Loops over k = 0..T_x-1 with t = T_x - 1 - k; gradients summed from a list."""
    cell_caches, x = caches
    T_x = dh.shape[2]
    dh_c, dc_c, steps = np.zeros_like(dh[:, :, 0]), np.zeros_like(dh[:, :, 0]), {}
    for k in range(T_x):
        t = T_x - 1 - k
        steps[t] = lstm_cell_backward(dh[:, :, t] + dh_c, dc_c, cell_caches[t])
        dh_c, dc_c = steps[t]["dh_prev"], steps[t]["dc_prev"]
    keys = [f"d{w}{g}" for g in "fico" for w in "Wb"]
    return {"dx": np.stack([steps[t]["dxt"] for t in range(T_x)], axis=2), "dh0": dh_c,
            **{k: sum(steps[t][k] for t in range(T_x)) for k in keys}}


VALID = [
    ("lstm_cell_forward", cell_forward_stacked),
    ("lstm_cell_forward", cell_forward_einsum),
    ("lstm_forward", forward_lists),
    ("lstm_cell_backward", cell_backward_ordered),
    ("lstm_backward", backward_forward_indexed),
    *[(name, None) for name in grading.LSTM.exercises],  # the reference's own code
]


def copy_of_reference(name):
    """The reference function compiled in a namespace of its own, as a notebook defines it:
    the stand-in replaces the cell function there, not in the reference module the judge
    computes with (in one process, that would have the judge call itself)."""
    namespace = dict(vars(lstm))
    exec(inspect.getsource(getattr(lstm, name)), namespace)
    return namespace[name]


@pytest.mark.parametrize(("name", "fn"), VALID, ids=lambda v: getattr(v, "__name__", v))
def test_correct_answer_written_differently_passes(name, fn):
    """A right answer passes both parts, whatever its style."""
    fn = fn or copy_of_reference(name)
    grading.check_structure(name, fn)
    grading.check_values(name, fn)


# ---- known mistakes -------------------------------------------------------------------------

MISTAKEN = [(name, hint) for name, hints in MISTAKES.items() for hint in hints]


def student_with(name, hint):
    """A student's function making the mistake: the mistake's code behind the exercise's
    signature (keyword arguments bind as for the real function)."""
    mistake = MISTAKES[name][hint]

    def fn(*args):
        return mistake(*args)

    fn.__name__ = name
    return fn


@pytest.mark.parametrize(("name", "hint"), MISTAKEN, ids=[h[:40] for _, h in MISTAKEN])
def test_known_mistake_fails_values_with_its_own_hint(name, hint):
    """A known mistake keeps its structure points, fails its values, and the report names
    that mistake's hint and no other."""
    fn = student_with(name, hint)
    grading.check_structure(name, fn)
    with pytest.raises(AssertionError) as failed:
        grading.check_values(name, fn)
    hints = [line for line in str(failed.value).splitlines() if "hint:" in line]
    assert hints == [f"  - hint: {hint}"], str(failed.value)


def test_there_are_at_least_fourteen_known_mistakes():
    """The issue's bar: 14 known LSTM mistakes, each with a hint."""
    assert len(MISTAKEN) >= 14


# ---- no double penalty, no hard-coding, no in-place changes ----------------------------------

def test_sequence_forward_is_graded_with_the_reference_cell():
    """lstm_forward calling a broken lstm_cell_forward still passes: the judge's stand-in
    replaces the notebook's cell function while lstm_forward runs."""
    namespace = {"np": np, "lstm_cell_forward": lambda *a: 1 / 0}
    exec(inspect.getsource(forward_lists), namespace)
    grading.check_values("lstm_forward", namespace["forward_lists"])


def test_answer_hard_coded_to_the_example_fails_the_hidden_cases():
    """Returning the example's expected output earns nothing on the hidden cases."""
    example = dict(grading.LSTM.cases("lstm_cell_backward"))["example"].expected

    def memorised(dh_next, dc_next, cache):
        return copy.deepcopy(example)

    with pytest.raises(AssertionError, match="hidden case 1"):
        grading.check_structure("lstm_cell_backward", memorised)


def test_modifying_an_input_in_place_fails_values_and_says_so():
    """Changing dh in place is reported by name."""
    def in_place(dh, caches):
        dh *= 1.0
        dh[0, 0, 0] += 1
        return lstm.lstm_backward(dh, caches)

    with pytest.raises(AssertionError, match="the argument dh was modified in place"):
        grading.check_values("lstm_backward", in_place)


def test_original_course_gradient_names_get_a_hint():
    """Gradients named as in the original course (da_prev) are reported with this one's names."""
    def original_names(dh_next, dc_next, cache):
        g = lstm.lstm_cell_backward(dh_next, dc_next, cache)
        g["da_prev"] = g.pop("dh_prev")
        return g

    with pytest.raises(AssertionError, match="the original course's names"):
        grading.check_structure("lstm_cell_backward", original_names)


def test_bare_list_of_caches_is_a_structure_problem():
    """lstm_forward returning the list of caches without x fails its structure with a
    message naming caches."""
    def bare(x, h0, parameters):
        h, y, c, (caches, _) = lstm.lstm_forward(x, h0, parameters)
        return h, y, c, caches

    with pytest.raises(AssertionError, match="caches"):
        grading.check_structure("lstm_forward", bare)
