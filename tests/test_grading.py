"""The hidden checks of every step-by-step assignment: the RNN's, the LSTM's and the
test-only GRU's (tests/gru/). The reference passes; correct answers written differently
pass; known mistakes fail with their own hint; a mistake costs only its own function.

Each variant is a small function written as a student would; `D.check(name, fn, part)`
runs it through the judge and its kernel client in this process, exactly as a graded cell
does. What holds for any assignment is checked for each declaration of
`conftest.DECLARATIONS`; what concerns one assignment (its seed student, its mistakes,
the original course's names) is checked on that assignment, with its own cases.
"""

import copy
import inspect
import re
from collections import OrderedDict

import numpy as np
import pytest
from conftest import DECLARATIONS
from gru import gru

from rnn_solutions.lstm_step_by_step import lstm
from rnn_solutions.rnn_step_by_step import rnn
from rnn_solutions.rnn_step_by_step.samples import seed_student
from rnn_solutions.rnncheck import compare

RNN, LSTM, GRU = DECLARATIONS["rnn"], DECLARATIONS["lstm"], DECLARATIONS["gru"]
PARTS = ("structure", "values")

EXERCISES = [pytest.param(key, name, id=name)
             for key, D in DECLARATIONS.items() for name in D.exercises]
SEQUENCES = [pytest.param(key, name, id=name)
             for key, D in DECLARATIONS.items() for name in D.helpers]
FORWARD_SEQUENCES = [pytest.param(key, name, id=name) for key, D in DECLARATIONS.items()
                     for name in D.helpers if not D.spec.exercise(name).cache_from]
MISTAKEN = [pytest.param(key, name, hint, id=f"{name}: {hint[:40]}")
            for key, D in DECLARATIONS.items() for name, table in D.mistakes.items()
            for hint in table]


def failure(D, name, fn, part="values"):
    """The judge's message for `fn` failing `part` of exercise `name`; the test fails if
    it passes."""
    with pytest.raises(AssertionError) as failed:
        D.check(name, fn, part)
    return str(failed.value)


def hint_lines(message):
    """The hints of a failure's message, one per line (a shape line's own hint too)."""
    return [m.group(1) for m in re.finditer(r"hint: (.*)", message)]


def example(D, name):
    """The notebook's example of exercise `name` (the first of `D.cases`)."""
    label, case = next(iter(D.cases(name)))
    assert label == "example"
    return case


def first_hidden(D, name):
    """The first hidden case of exercise `name`."""
    return list(D.cases(name))[1]


def copy_of_reference(D, name, **names):
    """The reference function compiled in a namespace of its own, as a notebook defines
    it, with `names` (a broken cell function, say) among its globals."""
    namespace = {**vars(D.reference), **names}
    exec(inspect.getsource(getattr(D.reference, name)), namespace)
    return namespace[name]


def student_with(D, name, hint):
    """A student's function making a known mistake: the mistake's code behind the
    exercise's signature (a notebook function, not a functools.partial)."""
    mistake = D.mistakes[name][hint]

    def fn(*args):
        return mistake(*args)

    fn.__name__ = name
    return fn


# ---- every assignment: the reference, the known mistakes --------------------------------------

@pytest.mark.parametrize("notebook", [False, True], ids=["module", "notebook"])
@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize(("key", "name"), EXERCISES)
def test_reference_passes_every_part(key, name, part, notebook):
    """The reference passes both parts of every exercise, as its module's function (the
    module left as it was: no stand-in stays in it) or compiled as a notebook defines it."""
    D = DECLARATIONS[key]
    before = dict(vars(D.reference))
    D.check(name, copy_of_reference(D, name) if notebook else getattr(D.reference, name), part)
    assert [k for k, v in vars(D.reference).items() if before.get(k) is not v] == []


@pytest.mark.parametrize(("key", "name", "hint"), MISTAKEN)
def test_known_mistake_fails_values_with_its_own_hint(key, name, hint):
    """A known mistake keeps its structure points, fails its values, and the report names
    that mistake's hint and no other. The wrong answer here is the MISTAKES function that
    also makes the fingerprint, so this checks the plumbing, not the diagnosis: the
    independent check is the hand-written corpus (tests/corpus.py, tests/lstm_corpus.py,
    graded in test_corpus.py and test_hints.py)."""
    D, fn = DECLARATIONS[key], student_with(DECLARATIONS[key], name, hint)
    D.check(name, fn, "structure")
    message = failure(D, name, fn)
    assert hint_lines(message) == [hint], message


@pytest.mark.parametrize(("key", "at_least"), [("rnn", 20), ("lstm", 14)])
def test_enough_mistakes_are_recognised(key, at_least):
    """The issues' bars: at least 20 RNN mistakes and 14 LSTM ones are known, each with a
    hint."""
    known = sum(len(table) for table in DECLARATIONS[key].mistakes.values())
    assert known >= at_least


def test_the_gru_declares_no_mistakes():
    """The GRU has no mistake list: its hints (below) are the engine's generic diagnoses."""
    assert GRU.mistakes == {}


@pytest.mark.parametrize(("key", "name"), [
    pytest.param(key, name, id=name) for key, D in DECLARATIONS.items() for name in D.exercises])
def test_reference_stays_in_the_declared_ranges(key, name):
    """On every case, the reference's outputs stay in the ranges the spec declares, so
    that a range hint ("outside [-1, 1], where the tanh...") is never said of a right
    value."""
    D = DECLARATIONS[key]
    outside = [f"{where}: {hint}" for where, case in D.cases(name)
               for label, value in D.labelled(name, case.expected, D.steps(case))
               if (hint := compare.range_hint(label, value, D.spec.ranges.get(leaf(label))))]
    assert outside == []


def leaf(label):
    """The array's name in a label: 'h_next' -> h_next, 'caches[0][1][4] (ft)' -> ft."""
    return label[label.rindex("(") + 1:-1] if label.endswith(")") else label


# ---- every assignment: what the checks guard against ---------------------------------------

def off_the_example(D, name):
    """The reference, with 1 added to its first output (h_next or h, a gradient) on any
    case but the notebook's example."""
    reference, shown = getattr(D.reference, name), next(iter(example(D, name).inputs.values()))

    def fn(*args):
        out = reference(*args)
        if np.shape(args[0]) == np.shape(shown) and np.array_equal(args[0], shown):
            return out
        if isinstance(out, dict):
            first = next(iter(out))
            return {**out, first: out[first] + 1}
        return (out[0] + 1, *out[1:])

    return fn


def numbers(message):
    """The numbers a message shows, as written."""
    return re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", message)


@pytest.mark.parametrize(("key", "name"), EXERCISES)
def test_hidden_case_message_shows_no_expected_value(key, name):
    """A failure on a hidden case names the output, the index and the value got, but not
    the expected value."""
    D, fn = DECLARATIONS[key], off_the_example(DECLARATIONS[key], name)
    label, case = first_hidden(D, name)
    T_x = D.steps(case)
    ours = D.labelled(name, fn(*copy.deepcopy(list(case.inputs.values()))), T_x)
    theirs = D.labelled(name, case.expected, T_x)
    [(wrong, right)] = [(lab, e) for (lab, a), (_, e) in zip(ours, theirs, strict=True)
                        if not np.array_equal(a, e)]
    message = failure(D, name, fn)
    assert message.startswith(f"{name} on the {label}:\n  - {wrong} is wrong at "), message
    assert f"got {right.flat[0] + 1:.8g}" in message, message
    assert "expected" not in message, message
    assert f"{right.flat[0]:.8g}" not in numbers(message), message


@pytest.mark.parametrize(("key", "name"), EXERCISES)
def test_input_modified_in_place_is_named(key, name):
    """A function that changes its first argument in place keeps its structure points, and
    fails its values with a hint naming that argument."""
    D = DECLARATIONS[key]
    reference, first = getattr(D.reference, name), D.spec.exercise(name).arguments[0]

    def changes_its_input(*args):
        out = reference(*copy.deepcopy(args))
        changed = args[0]
        changed += 1
        return out

    D.check(name, changes_its_input, "structure")
    assert f"hint: the argument {first} was modified in place: work on a copy" in failure(
        D, name, changes_its_input)


@pytest.mark.parametrize(("key", "name"), SEQUENCES)
def test_sequence_function_is_checked_with_the_reference_cell(key, name):
    """A sequence function calling a broken cell function still passes: the reference cell
    stands in for the notebook's while it runs, and the notebook's is put back after."""
    D = DECLARATIONS[key]
    helper = D.helpers[name]

    def broken_cell(*args):
        raise ValueError("broken")

    fn = copy_of_reference(D, name, **{helper: broken_cell})
    D.check(name, fn, "values")
    assert fn.__globals__[helper] is broken_cell


@pytest.mark.parametrize(("key", "name"), EXERCISES)
def test_exception_is_reported_with_its_type(key, name):
    """A function that raises fails with the exception's type and message."""
    def raises(*args):
        raise KeyError("Wax")

    assert f"{name} raised KeyError: 'Wax'" in failure(DECLARATIONS[key], name, raises,
                                                        "structure")


@pytest.mark.parametrize(("key", "name"), EXERCISES)
def test_answer_hard_coded_to_the_example_fails_the_hidden_cases(key, name):
    """Returning the example's expected output passes the example and fails the first
    hidden case, whose sizes differ."""
    D = DECLARATIONS[key]
    memorised = example(D, name).expected
    label, _ = first_hidden(D, name)
    message = failure(D, name, lambda *args: copy.deepcopy(memorised), "structure")
    assert message.startswith(f"{name} on the {label}:"), message


@pytest.mark.parametrize(("key", "name"), FORWARD_SEQUENCES)
def test_bare_list_of_caches_is_a_structure_problem(key, name):
    """A sequence forward returning its list of caches without x fails its structure with
    a hint saying so."""
    reference = getattr(DECLARATIONS[key].reference, name)

    def bare(*args):
        *outputs, (caches, _) = reference(*args)
        return (*outputs, caches)

    assert "hint: it is the bare list of caches" in failure(DECLARATIONS[key], name, bare,
                                                             "structure")


@pytest.mark.parametrize(("key", "name"), [
    pytest.param(key, name, id=name) for key in ("rnn", "lstm")
    for name in DECLARATIONS[key].exercises if DECLARATIONS[key].spec.exercise(name).cache_from])
def test_original_course_gradient_names_get_a_hint(key, name):
    """Gradients named as in the original course (da_prev, da0 for dh_prev, dh0) fail the
    structure part with a hint giving this notebook's names."""
    reference = getattr(DECLARATIONS[key].reference, name)

    def original_names(*args):
        return {re.sub(r"^dh", "da", k): v for k, v in reference(*args).items()}

    assert "hint: these are the original course's names" in failure(
        DECLARATIONS[key], name, original_names, "structure")


# ---- the RNN: answers written differently, the seed student, mistakes as written --------------

def rnn_cell_forward(xt, h_prev, parameters):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return rnn.rnn_cell_forward(xt, h_prev, parameters)


def rnn_cell_backward(dh_next, cache):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return rnn.rnn_cell_backward(dh_next, cache)


def rnn_cell_forward_stacked(xt, h_prev, parameters):
    """Stacked weights [Whh Whx] times [h_prev; xt]."""
    W = np.hstack([parameters["Whh"], parameters["Whx"]])
    h_next = np.tanh(W @ np.vstack([h_prev, xt]) + parameters["bh"])
    z = parameters["Wyh"] @ h_next + parameters["by"]
    y = np.exp(z) / np.exp(z).sum(axis=0)
    return h_next, y, (h_next, h_prev, xt, parameters)


def rnn_forward_while(x, h0, parameters):
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


def rnn_cell_backward_recomputed(dh_next, cache):
    """Recomputes the pre-activation from the cache; returns an extra key."""
    _, h_prev, xt, p = cache
    u = p["Whh"] @ h_prev + p["Whx"] @ xt + p["bh"]
    du = dh_next * (1 - np.tanh(u) ** 2)
    return {"dxt": p["Whx"].T @ du, "dh_prev": p["Whh"].T @ du, "dWhx": du @ xt.T,
            "dWhh": du @ h_prev.T, "dbh": du.sum(axis=1, keepdims=True), "du": du}


def rnn_backward_list_of_steps(dh, caches):
    """Collects per-step gradients and sums them at the end."""
    cell_caches, x = caches
    carry, steps = np.zeros_like(dh[:, :, 0]), []
    for t in range(dh.shape[2] - 1, -1, -1):
        g = rnn_cell_backward(dh[:, :, t] + carry, cell_caches[t])
        carry = g["dh_prev"]
        steps.append(g)
    return {"dx": np.stack([g["dxt"] for g in reversed(steps)], axis=2), "dh0": carry,
            **{k: sum(g[k] for g in steps) for k in ("dWhx", "dWhh", "dbh")}}


def rnn_cell_forward_prediction_from_h_prev(xt, h_prev, parameters):
    """Mistake 1: y from h_prev."""
    h_next, _, cache = rnn.rnn_cell_forward(xt, h_prev, parameters)
    return h_next, rnn.softmax(parameters["Wyh"] @ h_prev + parameters["by"]), cache


def rnn_cell_forward_whh_transposed(xt, h_prev, parameters):
    """Mistake 4: Whh.T instead of Whh."""
    p = {**parameters, "Whh": parameters["Whh"].T}
    h_next, y, _ = rnn.rnn_cell_forward(xt, h_prev, p)
    return h_next, y, (h_next, h_prev, xt, parameters)


def rnn_cell_forward_cache_order(xt, h_prev, parameters):
    """Mistake 5: cache in another order."""
    h_next, y, _ = rnn.rnn_cell_forward(xt, h_prev, parameters)
    return h_next, y, (h_prev, h_next, xt, parameters)


def rnn_forward_h0_every_step(x, h0, parameters):
    """Mistake 6: h0 fed to every step."""
    h, y, caches = rnn.rnn_forward(x, h0, parameters)
    for t in range(x.shape[2]):
        h[:, :, t], y[:, :, t], caches[0][t] = rnn.rnn_cell_forward(x[:, :, t], h0, parameters)
    return h, y, caches


def rnn_forward_off_by_one(x, h0, parameters):
    """Mistake 8: range(T_x - 1)."""
    h, y, (caches, _) = rnn.rnn_forward(x[:, :, :-1], h0, parameters)
    pad = np.zeros(h.shape[:2] + (1,))
    return np.concatenate([h, pad], 2), np.concatenate([y, pad[: y.shape[0]]], 2), (caches, x)


def rnn_forward_updates_h0_in_place(x, h0, parameters):
    """Mistake 10: h0 overwritten."""
    h, y, caches = rnn.rnn_forward(x, h0.copy(), parameters)
    h0[...] = h[:, :, -1]
    return h, y, caches


def rnn_cell_backward_without_dh_next(dh_next, cache):
    """Mistake 12, the seed's own: the upstream gradient is never applied."""
    return rnn.rnn_cell_backward(np.ones_like(dh_next), cache)


def rnn_cell_backward_whh_not_transposed(dh_next, cache):
    """Mistake 14: Whh @ du for dh_prev."""
    g = rnn.rnn_cell_backward(dh_next, cache)
    du = dh_next * (1 - cache[0] ** 2)
    return {**g, "dh_prev": cache[3]["Whh"] @ du}


def rnn_cell_backward_divided_by_m(dh_next, cache):
    """Mistake 17: gradients averaged over the batch."""
    m = dh_next.shape[1]
    g = rnn.rnn_cell_backward(dh_next, cache)
    return {**g, "dWhx": g["dWhx"] / m, "dWhh": g["dWhh"] / m, "dbh": g["dbh"] / m}


def rnn_cell_backward_scales_dh_next_in_place(dh_next, cache):
    """Mistake 19: dh_next *= 1 - h_next**2."""
    g = rnn.rnn_cell_backward(dh_next, cache)
    dh_next *= 1 - cache[0] ** 2
    return g


def rnn_cell_backward_old_key_names(dh_next, cache):
    """Mistake 20: the original course's key names."""
    g = rnn.rnn_cell_backward(dh_next, cache)
    return {"dxt": g["dxt"], "da_prev": g["dh_prev"], "dWax": g["dWhx"], "dWaa": g["dWhh"],
            "dba": g["dbh"]}


def rnn_backward_overwrites_parameter_gradients(dh, caches):
    """Mistake 24: dWhx = dWhxt instead of +=."""
    cell_caches, x = caches
    dx, carry = np.zeros_like(x), np.zeros_like(dh[:, :, 0])
    for t in reversed(range(dh.shape[2])):
        g = rnn_cell_backward(dh[:, :, t] + carry, cell_caches[t])
        dx[:, :, t], carry = g["dxt"], g["dh_prev"]
        dWhx, dWhh, dbh = g["dWhx"], g["dWhh"], g["dbh"]
    return {"dx": dx, "dh0": carry, "dWhx": dWhx, "dWhh": dWhh, "dbh": dbh}


def rnn_backward_updates_dh_in_place(dh, caches):
    """Mistake 27: dh[:, :, t] += carried gradient."""
    g = rnn.rnn_backward(dh, caches)
    dh[:, :, 0] += 1.0
    return g


def rnn_forward_bare_list(x, h0, parameters):
    """The seed's forward returning its list of caches without x."""
    h, y, (caches, _) = seed_student.rnn_forward(x, h0, parameters)
    return h, y, caches


RNN_VALID = [rnn_cell_forward_stacked, rnn_forward_while, rnn_cell_backward_recomputed,
             rnn_backward_list_of_steps, seed_student.rnn_cell_forward, seed_student.rnn_forward]

RNN_BUGGY = [  # (function, passes the structure part?, words of its message)
    (rnn_cell_forward_prediction_from_h_prev, True, "hint: the prediction uses h_prev"),
    (rnn_cell_forward_whh_transposed, True, "hint: Whh is transposed"),
    (rnn_cell_forward_cache_order, True,
     "hint: the cache is in another order: it must be (h_next, h_prev, xt, parameters)"),
    (rnn_forward_h0_every_step, True, "hint: every step is fed h0"),
    (rnn_forward_off_by_one, False,
     "should have 4 items, got 3; hint: one item per time step, and the input has T_x = 4"),
    (rnn_forward_updates_h0_in_place, True, "hint: the argument h0 was modified in place"),
    (rnn_cell_backward_without_dh_next, True, "hint: dh_next is never applied"),
    (rnn_cell_backward_whh_not_transposed, True, "hint: dh_prev needs Whh.T"),
    (rnn_cell_backward_divided_by_m, True, "hint: the parameter gradients are divided by m"),
    (rnn_cell_backward_scales_dh_next_in_place, True,
     "hint: the argument dh_next was modified in place"),
    (rnn_cell_backward_old_key_names, False, "hint: these are the original course's names"),
    (rnn_backward_overwrites_parameter_gradients, True,
     "hint: the parameter gradients are overwritten at each step"),
    (rnn_backward_updates_dh_in_place, True, "hint: the argument dh was modified in place"),
    (rnn_forward_bare_list, False, "hint: it is the bare list of caches"),
    (seed_student.rnn_cell_backward, True, "hint: dh_next is never applied"),
    (seed_student.rnn_backward, True,
     "hint: step 2 should be fed dh[:, :, t] plus the dh_prev of step t+1 as its dh_next "
     "(it was given dh[:, :, t] alone)"),
]


def exercise_of(fn):
    """The exercise a variant answers: the RNN's, LSTM's or GRU's name its own starts with."""
    name = fn.__name__
    return next(n for D in DECLARATIONS.values() for n in D.exercises
                if name == n or name.startswith(f"{n}_"))


def variant_id(fn):
    """A variant's test id: its name, the seed student's marked as such."""
    return f"seed_student.{fn.__name__}" if fn.__module__ == seed_student.__name__ else fn.__name__


@pytest.mark.parametrize("fn", RNN_VALID, ids=variant_id)
def test_rnn_answer_written_differently_passes(fn):
    """A correct RNN answer, however written (the seed student's forward functions too),
    passes both parts."""
    for part in PARTS:
        RNN.check(exercise_of(fn), fn, part)


@pytest.mark.parametrize(("fn", "structure_ok", "words"), RNN_BUGGY,
                         ids=[variant_id(fn) for fn, *_ in RNN_BUGGY])
def test_rnn_mistake_as_written_loses_the_values_part(fn, structure_ok, words):
    """An RNN mistake written as a student would (the seed student's backward functions
    too) fails the values part, saying why; only shape-breaking ones fail the structure
    part."""
    name = exercise_of(fn)
    if structure_ok:
        RNN.check(name, fn, "structure")
    else:
        failure(RNN, name, fn, "structure")
    message = failure(RNN, name, fn)
    assert words in message, message


# ---- the LSTM: answers written differently --------------------------------------------------

def lstm_cell_forward(xt, h_prev, c_prev, parameters):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return lstm.lstm_cell_forward(xt, h_prev, c_prev, parameters)


def lstm_cell_backward(dh_next, dc_next, cache):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return lstm.lstm_cell_backward(dh_next, dc_next, cache)


def lstm_cell_forward_stacked(xt, h_prev, c_prev, parameters):
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


def lstm_cell_forward_einsum(xt, h_prev, c_prev, parameters):
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


def lstm_forward_lists(x, h0, parameters):
    """States collected in lists and stacked at the end."""
    h_t, c_t, hs, cs, ys, caches = h0, np.zeros_like(h0), [], [], [], []
    for t in range(x.shape[-1]):
        h_t, c_t, y_t, cache = lstm_cell_forward(x[..., t], h_t, c_t, parameters)
        hs.append(h_t)
        cs.append(c_t)
        ys.append(y_t)
        caches.append(cache)
    return np.stack(hs, -1), np.stack(ys, -1), np.stack(cs, -1), (caches, x)


def lstm_cell_backward_ordered(dh_next, dc_next, cache):
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


def lstm_backward_forward_indexed(dh, caches):
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


LSTM_VALID = [lstm_cell_forward_stacked, lstm_cell_forward_einsum, lstm_forward_lists,
              lstm_cell_backward_ordered, lstm_backward_forward_indexed]


@pytest.mark.parametrize("fn", LSTM_VALID, ids=lambda fn: fn.__name__)
def test_lstm_answer_written_differently_passes(fn):
    """A correct LSTM answer passes both parts, whatever its style."""
    for part in PARTS:
        LSTM.check(exercise_of(fn), fn, part)


# ---- the GRU: wrong answers the engine explains with no mistake list --------------------------

def gru_cell_forward(xt, h_prev, parameters):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return gru.gru_cell_forward(xt, h_prev, parameters)


def gru_cell_backward(dh_next, cache):
    """Module-level name the sequence variants call, as a notebook's global would be."""
    return gru.gru_cell_backward(dh_next, cache)


def gru_forward_never_carries_h(x, h0, parameters):
    """Every step is fed h0, not the h_next of the step before."""
    n_x, m, T_x = x.shape
    n_y, n_h = parameters["Wy"].shape
    h, y, caches = np.zeros((n_h, m, T_x)), np.zeros((n_y, m, T_x)), []
    for t in range(T_x):
        h[:, :, t], y[:, :, t], cache = gru_cell_forward(x[:, :, t], h0, parameters)
        caches.append(cache)
    return h, y, (caches, x)


def gru_forward_backwards_in_time(x, h0, parameters):
    """The loop runs from t = T_x - 1 down to 0."""
    n_x, m, T_x = x.shape
    n_y, n_h = parameters["Wy"].shape
    h, y, caches, h_t = np.zeros((n_h, m, T_x)), np.zeros((n_y, m, T_x)), [None] * T_x, h0
    for t in reversed(range(T_x)):
        h_t, y[:, :, t], caches[t] = gru_cell_forward(x[:, :, t], h_t, parameters)
        h[:, :, t] = h_t
    return h, y, (caches, x)


def gru_forward_stores_h_before_the_step(x, h0, parameters):
    """h[:, :, t] is stored before step t runs: it holds the state of step t - 1."""
    n_x, m, T_x = x.shape
    n_y, n_h = parameters["Wy"].shape
    h, y, caches, h_t = np.zeros((n_h, m, T_x)), np.zeros((n_y, m, T_x)), [], h0
    for t in range(T_x):
        h[:, :, t] = h_t
        h_t, y[:, :, t], cache = gru_cell_forward(x[:, :, t], h_t, parameters)
        caches.append(cache)
    return h, y, (caches, x)


def gru_backward_without_carry(dh, caches):
    """Step t gets dh[:, :, t] alone: the dh_prev of step t+1 is never added."""
    cell_caches, x = caches
    n_h, m, T_x = dh.shape
    dx, sums = np.zeros((x.shape[0], m, T_x)), {}
    for t in reversed(range(T_x)):
        g = gru_cell_backward(dh[:, :, t], cell_caches[t])
        dx[:, :, t], dh0 = g["dxt"], g["dh_prev"]
        sums = {k: sums.get(k, 0) + g[k] for k in g if k not in ("dxt", "dh_prev")}
    return {"dx": dx, "dh0": dh0, **sums}


def gru_backward_overwrites_parameter_gradients(dh, caches):
    """dW = the step's gradient, not +=: the last step taken (t = 0) is all that is left."""
    cell_caches, x = caches
    n_h, m, T_x = dh.shape
    dx, carry = np.zeros((x.shape[0], m, T_x)), np.zeros((n_h, m))
    for t in reversed(range(T_x)):
        g = gru_cell_backward(dh[:, :, t] + carry, cell_caches[t])
        dx[:, :, t], carry = g["dxt"], g["dh_prev"]
        weights = {k: v for k, v in g.items() if k not in ("dxt", "dh_prev")}
    return {"dx": dx, "dh0": carry, **weights}


def gru_backward_averaged_over_the_batch(dh, caches):
    """The parameter gradients divided by m."""
    m = dh.shape[1]
    grads = gru.gru_backward(dh, caches)
    return {k: v / m if k[:2] in ("dW", "db") else v for k, v in grads.items()}


def gru_cell_forward_softmax_over_the_batch(xt, h_prev, parameters):
    """The softmax normalised over axis 1, the batch."""
    h_next, _, cache = gru.gru_cell_forward(xt, h_prev, parameters)
    e = np.exp(parameters["Wy"] @ h_next + parameters["by"])
    return h_next, e / e.sum(axis=1, keepdims=True), cache


def gru_cell_forward_gates_swapped_in_cache(xt, h_prev, parameters):
    """The cache holds rt where zt goes and zt where rt goes."""
    h_next, yt_pred, (h, h_prev, zt, rt, hht, xt, p) = gru.gru_cell_forward(xt, h_prev,
                                                                             parameters)
    return h_next, yt_pred, (h, h_prev, rt, zt, hht, xt, p)


def gru_cell_forward_update_gate_reversed(xt, h_prev, parameters):
    """h_next = zt h_prev + (1 - zt) hht: the update gate weighs the wrong term."""
    h_next, _, (_, _, zt, rt, hht, _, p) = gru.gru_cell_forward(xt, h_prev, parameters)
    h_next = zt * h_prev + (1 - zt) * hht
    return h_next, gru.softmax(p["Wy"] @ h_next + p["by"]), (h_next, h_prev, zt, rt, hht, xt, p)


def gru_cell_backward_tanh_slope_unsquared(dh_next, cache):
    """The candidate's tanh derivative written 1 - hht, its square missing."""
    h_next, h_prev, zt, rt, hht, xt, p = cache
    n_h = h_next.shape[0]
    dzt = dh_next * (hht - h_prev) * zt * (1 - zt)
    dhht = dh_next * zt * (1 - hht)
    dcand = p["Wh"].T @ dhht
    drt = dcand[:n_h] * h_prev * rt * (1 - rt)
    dconcat = p["Wz"].T @ dzt + p["Wr"].T @ drt
    concat = np.concatenate([h_prev, xt])
    return {"dxt": dconcat[n_h:] + dcand[n_h:],
            "dh_prev": dh_next * (1 - zt) + dconcat[:n_h] + dcand[:n_h] * rt,
            "dWz": dzt @ concat.T, "dbz": dzt.sum(axis=1, keepdims=True),
            "dWr": drt @ concat.T, "dbr": drt.sum(axis=1, keepdims=True),
            "dWh": dhht @ np.concatenate([rt * h_prev, xt]).T,
            "dbh": dhht.sum(axis=1, keepdims=True)}


def gru_cell_backward_bias_summed_over_units(dh_next, cache):
    """dbz summed over axis 0 (the units), not over the batch (axis 1)."""
    h_next, h_prev, zt, rt, hht, xt, p = cache
    dzt = dh_next * (hht - h_prev) * zt * (1 - zt)
    return {**gru.gru_cell_backward(dh_next, cache), "dbz": dzt.sum(axis=0, keepdims=True)}


GRU_WRONG = [  # (function, the words of a hint that names its cause)
    (gru_forward_never_carries_h,
     "step 1 should be fed step 0's h_next as its h_prev (it was given h0)"),
    (gru_forward_backwards_in_time,
     "the steps were taken in the order 3, 2, 1, 0; they must go 0, 1, 2, 3"),
    (gru_forward_stores_h_before_the_step, "h[..., t] holds the right value of step t - 1"),
    (gru_backward_without_carry,
     "step 2 should be fed dh[:, :, t] plus the dh_prev of step t+1 as its dh_next (it was "
     "given dh[:, :, t] alone)"),
    (gru_backward_overwrites_parameter_gradients,
     "gradients['dWz'] is the gradient of step 0 alone: add up every step's (dWz += ...)"),
    (gru_backward_averaged_over_the_batch,
     "gradients['dWz'] is the right value divided by 4: a mean where a sum is needed"),
    (gru_cell_forward_softmax_over_the_batch,
     "yt_pred is not a probability distribution in each column"),
    (gru_cell_forward_gates_swapped_in_cache, "cache[2] (zt) holds what cache[3] (rt) should hold"),
    pytest.param(gru_cell_forward_update_gate_reversed, "zt", id="update_gate_reversed"),
    pytest.param(gru_cell_backward_tanh_slope_unsquared, "tanh", id="tanh_slope_unsquared"),
    pytest.param(gru_cell_backward_bias_summed_over_units, "axis=1", id="bias_summed_over_units"),
]


@pytest.mark.parametrize(("fn", "cause"), GRU_WRONG,
                         ids=[variant_id(getattr(w, "values", w)[0]) for w in GRU_WRONG])
def test_gru_mistake_gets_a_hint_naming_its_cause(fn, cause):
    """A wrong GRU function fails its values with a hint naming the cause, from the
    engine's generic diagnoses alone (the replay, shapes, neighbours): the GRU declares no
    mistakes."""
    message = failure(GRU, exercise_of(fn), fn)
    assert any(cause in line for line in hint_lines(message)), message
