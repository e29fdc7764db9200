"""The hidden checks: correct answers written differently pass, known mistakes fail.

Each variant is a small function written as a student would; the checks run in this
process exactly as they do in a graded cell.
"""

import numpy as np
import pytest

from rnn_solutions.rnn_step_by_step import grading, rnn
from rnn_solutions.rnn_step_by_step.mistakes import MISTAKES
from rnn_solutions.rnn_step_by_step.samples import seed_student


def rnn_cell_forward(xt, h_prev, parameters):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return rnn.rnn_cell_forward(xt, h_prev, parameters)


def rnn_cell_backward(dh_next, cache):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return rnn.rnn_cell_backward(dh_next, cache)


# ---- correct answers written differently -------------------------------------------------

def cell_forward_stacked(xt, h_prev, parameters):
    """Stacked weights [Whh Whx] times [h_prev; xt]."""
    W = np.hstack([parameters["Whh"], parameters["Whx"]])
    h_next = np.tanh(W @ np.vstack([h_prev, xt]) + parameters["bh"])
    z = parameters["Wyh"] @ h_next + parameters["by"]
    y = np.exp(z) / np.exp(z).sum(axis=0)
    return h_next, y, (h_next, h_prev, xt, parameters)


def forward_while(x, h0, parameters):
    """A while loop and a list of caches built with +=."""
    n_x, m, T_x = x.shape
    n_y, n_h = parameters["Wyh"].shape
    h, y, caches, t, h_t = np.zeros((n_h, m, T_x)), np.zeros((n_y, m, T_x)), [], 0, h0
    while t < T_x:
        h_t, y_t, cache = rnn_cell_forward(x[..., t], h_t, parameters)
        h[..., t], y[..., t] = h_t, y_t
        caches += [cache]
        t += 1
    return h, y, (caches, x)


def cell_backward_recomputed(dh_next, cache):
    """Recomputes the pre-activation from the cache; returns an extra key."""
    _, h_prev, xt, p = cache
    u = p["Whh"] @ h_prev + p["Whx"] @ xt + p["bh"]
    du = dh_next * (1 - np.tanh(u) ** 2)
    return {"dxt": p["Whx"].T @ du, "dh_prev": p["Whh"].T @ du, "dWhx": du @ xt.T,
            "dWhh": du @ h_prev.T, "dbh": du.sum(axis=1, keepdims=True), "du": du}


def backward_list_of_steps(dh, caches):
    """Collects per-step gradients and sums them at the end."""
    cell_caches, x = caches
    carry, steps = np.zeros_like(dh[:, :, 0]), []
    for t in range(dh.shape[2] - 1, -1, -1):
        g = rnn_cell_backward(dh[:, :, t] + carry, cell_caches[t])
        carry = g["dh_prev"]
        steps.append(g)
    return {"dx": np.stack([g["dxt"] for g in reversed(steps)], axis=2), "dh0": carry,
            **{k: sum(g[k] for g in steps) for k in ("dWhx", "dWhh", "dbh")}}


VALID = [
    ("rnn_cell_forward", cell_forward_stacked),
    ("rnn_forward", forward_while),
    ("rnn_cell_backward", cell_backward_recomputed),
    ("rnn_backward", backward_list_of_steps),
    ("rnn_cell_forward", seed_student.rnn_cell_forward),
    ("rnn_forward", seed_student.rnn_forward),
]


@pytest.mark.parametrize("name, fn", VALID, ids=lambda v: getattr(v, "__name__", v))
def test_valid_answer_passes_structure_and_values(name, fn):
    """A correct answer, however written, passes both graded parts."""
    grading.check_structure(name, fn)
    grading.check_values(name, fn)


# ---- known mistakes ------------------------------------------------------------------------

def cell_forward_prediction_from_h_prev(xt, h_prev, parameters):
    """Mistake 1: y from h_prev."""
    h_next, _, cache = rnn.rnn_cell_forward(xt, h_prev, parameters)
    return h_next, rnn.softmax(parameters["Wyh"] @ h_prev + parameters["by"]), cache


def cell_forward_whh_transposed(xt, h_prev, parameters):
    """Mistake 4: Whh.T instead of Whh."""
    p = {**parameters, "Whh": parameters["Whh"].T}
    h_next, y, _ = rnn.rnn_cell_forward(xt, h_prev, p)
    return h_next, y, (h_next, h_prev, xt, parameters)


def cell_forward_cache_order(xt, h_prev, parameters):
    """Mistake 5: cache in another order."""
    h_next, y, _ = rnn.rnn_cell_forward(xt, h_prev, parameters)
    return h_next, y, (h_prev, h_next, xt, parameters)


def forward_h0_every_step(x, h0, parameters):
    """Mistake 6: h0 fed to every step."""
    h, y, caches = rnn.rnn_forward(x, h0, parameters)
    for t in range(x.shape[2]):
        h[:, :, t], y[:, :, t], caches[0][t] = rnn.rnn_cell_forward(x[:, :, t], h0, parameters)
    return h, y, caches


def forward_off_by_one(x, h0, parameters):
    """Mistake 8: range(T_x - 1)."""
    h, y, (caches, _) = rnn.rnn_forward(x[:, :, :-1], h0, parameters)
    pad = np.zeros(h.shape[:2] + (1,))
    return np.concatenate([h, pad], 2), np.concatenate([y, pad[: y.shape[0]]], 2), (caches, x)


def forward_updates_h0_in_place(x, h0, parameters):
    """Mistake 10: h0 overwritten."""
    h, y, caches = rnn.rnn_forward(x, h0.copy(), parameters)
    h0[...] = h[:, :, -1]
    return h, y, caches


def cell_backward_without_dh_next(dh_next, cache):
    """Mistake 12, the seed's own: the upstream gradient is never applied."""
    return rnn.rnn_cell_backward(np.ones_like(dh_next), cache)


def cell_backward_whh_not_transposed(dh_next, cache):
    """Mistake 14: Whh @ du for dh_prev."""
    g = rnn.rnn_cell_backward(dh_next, cache)
    du = dh_next * (1 - cache[0] ** 2)
    return {**g, "dh_prev": cache[3]["Whh"] @ du}


def cell_backward_divided_by_m(dh_next, cache):
    """Mistake 17: gradients averaged over the batch."""
    m = dh_next.shape[1]
    g = rnn.rnn_cell_backward(dh_next, cache)
    return {**g, "dWhx": g["dWhx"] / m, "dWhh": g["dWhh"] / m, "dbh": g["dbh"] / m}


def cell_backward_scales_dh_next_in_place(dh_next, cache):
    """Mistake 19: dh_next *= 1 - h_next**2."""
    g = rnn.rnn_cell_backward(dh_next, cache)
    dh_next *= 1 - cache[0] ** 2
    return g


def cell_backward_old_key_names(dh_next, cache):
    """Mistake 20: the original course's key names."""
    g = rnn.rnn_cell_backward(dh_next, cache)
    return {"dxt": g["dxt"], "da_prev": g["dh_prev"], "dWax": g["dWhx"], "dWaa": g["dWhh"],
            "dba": g["dbh"]}


def backward_overwrites_parameter_gradients(dh, caches):
    """Mistake 24: dWhx = dWhxt instead of +=."""
    g = rnn.rnn_backward(dh[:, :, :1], (caches[0][:1], caches[1][:, :, :1]))
    full = rnn.rnn_backward(dh, caches)
    return {**full, "dWhx": g["dWhx"], "dWhh": g["dWhh"], "dbh": g["dbh"]}


def backward_updates_dh_in_place(dh, caches):
    """Mistake 27: dh[:, :, t] += carried gradient."""
    g = rnn.rnn_backward(dh, caches)
    dh[:, :, 0] += 1.0
    return g


def hard_coded_example(xt, h_prev, parameters):
    """Returns the visible example's answer whatever the input."""
    from rnn_solutions.rnn_step_by_step import cases

    return cases.example("rnn_cell_forward").expected


BUGGY = [  # (exercise, function, passes the structure part?)
    ("rnn_cell_forward", cell_forward_prediction_from_h_prev, True),
    ("rnn_cell_forward", cell_forward_whh_transposed, True),
    ("rnn_cell_forward", cell_forward_cache_order, True),
    ("rnn_forward", forward_h0_every_step, True),
    ("rnn_forward", forward_off_by_one, False),
    ("rnn_forward", forward_updates_h0_in_place, True),
    ("rnn_cell_backward", cell_backward_without_dh_next, True),
    ("rnn_cell_backward", cell_backward_whh_not_transposed, True),
    ("rnn_cell_backward", cell_backward_divided_by_m, True),
    ("rnn_cell_backward", cell_backward_scales_dh_next_in_place, True),
    ("rnn_cell_backward", cell_backward_old_key_names, False),
    ("rnn_backward", backward_overwrites_parameter_gradients, True),
    ("rnn_backward", backward_updates_dh_in_place, True),
    ("rnn_cell_backward", seed_student.rnn_cell_backward, True),
    ("rnn_backward", seed_student.rnn_backward, True),
    ("rnn_cell_forward", hard_coded_example, False),
]


@pytest.mark.parametrize("name, fn, structure_ok", BUGGY, ids=lambda v: getattr(v, "__name__", v))
def test_mistake_loses_the_values_part(name, fn, structure_ok):
    """A known mistake fails the values part; only shape-breaking ones fail the structure part."""
    if structure_ok:
        grading.check_structure(name, fn)
    else:
        with pytest.raises(AssertionError):
            grading.check_structure(name, fn)
    with pytest.raises(AssertionError):
        grading.check_values(name, fn)


def test_in_place_change_is_named_in_the_message():
    """Modifying an argument is reported by its name."""
    with pytest.raises(AssertionError, match="argument dh_next was modified in place"):
        grading.check_values("rnn_cell_backward", cell_backward_scales_dh_next_in_place)


def test_hidden_case_message_shows_no_expected_value():
    """A failure on a hidden case names the output and index but not the expected value."""
    def wrong_only_on_hidden(dh_next, cache):
        g = rnn.rnn_cell_backward(dh_next, cache)
        return g if dh_next.shape == (5, 10) else {**g, "dbh": g["dbh"] + 1}

    with pytest.raises(AssertionError) as failure:
        grading.check_values("rnn_cell_backward", wrong_only_on_hidden)
    message = str(failure.value)
    assert "hidden case 1" in message and "gradients['dbh']" in message
    assert "expected" not in message


def test_sequence_function_is_checked_with_the_reference_cell():
    """rnn_backward is graded with the reference cell function: a cell bug is not charged twice."""
    def broken_cell(dh_next, cache):
        raise ValueError("broken")

    namespace = {"rnn_cell_backward": broken_cell, "np": np}
    exec(_source_of_rnn_backward(), namespace)
    grading.check_values("rnn_backward", namespace["rnn_backward"])
    assert namespace["rnn_cell_backward"] is broken_cell  # restored afterwards


def _source_of_rnn_backward():
    """The seed student's rnn_backward, with the missing carry added: a correct answer."""
    import inspect

    source = inspect.getsource(seed_student.rnn_backward)
    return source.replace("rnn_cell_backward(dh[:,:,t], caches[t])",
                          "rnn_cell_backward(dh[:,:,t] + dh_prevt, caches[t])")


def test_exception_is_reported_with_its_type():
    """A function that raises fails with the exception's type and message."""
    def raises(xt, h_prev, parameters):
        raise KeyError("Wax")

    with pytest.raises(AssertionError, match="raised KeyError"):
        grading.check_structure("rnn_cell_forward", raises)


# ---- recognised mistakes ------------------------------------------------------------------

KNOWN = [(name, hint) for name, table in MISTAKES.items() for hint in table]


@pytest.mark.parametrize("name, hint", KNOWN, ids=[h[:40] for _, h in KNOWN])
def test_known_mistake_is_recognised_by_its_fingerprint(name, hint):
    """Each coded mistake fails the values part and the failure carries its own hint."""
    mistake = MISTAKES[name][hint]
    with pytest.raises(AssertionError) as failure:
        grading.check_values(name, mistake)
    assert f"hint: {hint}" in str(failure.value)


def test_at_least_twenty_mistakes_are_recognised():
    """The grader recognises at least 20 of the listed mistakes by fingerprint."""
    assert len(KNOWN) >= 20


@pytest.mark.parametrize("fn, words", [
    (cell_backward_old_key_names, "original course's names"),
    (lambda xt, h_prev, p: seed_student.rnn_forward(xt, h_prev, p)[:2] + (
        seed_student.rnn_forward(xt, h_prev, p)[2][0],), "bare list of caches"),
], ids=["old keys", "bare list"])
def test_structural_mistake_gets_a_hint(fn, words):
    """Mistakes that break the structure are named in the structure failure."""
    name = "rnn_cell_backward" if fn is cell_backward_old_key_names else "rnn_forward"
    with pytest.raises(AssertionError, match=words):
        grading.check_structure(name, fn)
