"""Hints from evidence: each family of diagnosis on wrong answers written for it, never on
right ones; the corpus's coverage; the self-check and the hidden checks agreeing."""

import contextlib
import functools
import importlib.util
import io
import re
import sys

import nbformat
import numpy as np
import pytest
from conftest import DECLARATIONS, ROOT
from corpus import CORPUS
from lstm_corpus import CORPUS as LSTM_CORPUS
from test_corpus import answers_of

from rnn_solutions.engine import submissions
from rnn_solutions.engine.spec import Steps
from rnn_solutions.rnn_step_by_step.samples import master_answers
from rnn_solutions.rnncheck import compare

RNG = np.random.default_rng(0)
E = RNG.standard_normal((5, 3))  # a right value


def hints_for(actual, expected=E, labels=("dW",), steps=None):
    """The hint lines for one wrong array."""
    return compare.value_hints(list(labels), [actual], [expected], steps=steps)


# ---- what a wrong array is instead ----------------------------------------------------------

@pytest.mark.parametrize(("factor", "words"), [
    (1 / 10, "dW is the right value divided by 10: a mean where a sum is needed"),
    (10, "dW is the right value multiplied by 10"),
    (-1, "dW is the right value with the opposite sign"),
    (1.7, "dW is 1.7 times the right value"),
])
def test_a_scaled_right_value_is_named(factor, words):
    """The right value times a constant: the constant, in the words of its likely cause."""
    assert hints_for(factor * E)[0].startswith(words)


def test_a_transposed_square_value_is_named():
    """A square array that is the right one transposed is told so."""
    right = RNG.standard_normal((4, 4))
    assert hints_for(right.T, right) == [
        "dW is the right value transposed: a matrix product in the wrong order, or a .T too "
        "many or missing?"]


def test_another_arrays_right_value_is_named():
    """An array holding what another output should is told which (c holding h)."""
    h, c = RNG.standard_normal((2, 5, 3, 4))
    found = compare.value_hints(["h", "c"], [h, h], [h, c])
    assert found == ["c holds what h should hold"]


def test_a_step_fed_another_steps_value_is_named_once():
    """Items of a list of steps holding other steps' values: one hint, with the steps."""
    x = RNG.standard_normal((3, 2, 3))
    labels = [f"caches[0][{t}][2] (xt)" for t in range(3)]
    expected = [x[:, :, t] for t in range(3)]
    assert compare.value_hints(labels, expected[::-1], expected) == [
        "caches[0][0][2] (xt) holds what caches[0][2][2] (xt) should hold: item 0 of "
        "caches[0] got item 2's xt (the wrong step, or the steps in the wrong order?)"]


@pytest.mark.parametrize(("make", "words"), [
    (lambda e: e[:, :, ::-1], "h[..., t] holds the right value of step T_x - 1 - t: stored "
                              "at the mirrored index"),
    (lambda e: np.concatenate([e[:, :, :1] * 0, e[:, :, :-1]], axis=2),
     "h[..., t] holds the right value of step t - 1"),
])
def test_time_slices_of_other_steps_are_named(make, words):
    """A time-indexed array whose slices are other steps' right values: shift or reversal."""
    right = RNG.standard_normal((5, 3, 4))
    assert hints_for(make(right), right, ["h"])[0].startswith(words)


def test_a_constant_right_value_is_not_named_as_what_a_wrong_array_holds():
    """A wrong array of zeros is not said to hold what a right array of zeros (c_prev of
    the first step, say) should: that says nothing; that it is all zeros does."""
    zeros, right = np.zeros((5, 3)), RNG.standard_normal((5, 3))
    assert compare.value_hints(["c_prev", "ft"], [zeros, zeros], [zeros, right]) == [
        "ft is all zeros: is it computed, or only initialised?"]


def test_values_unlike_any_neighbour_get_no_hint():
    """A wrong array that is none of the neighbours gets no guess."""
    assert hints_for(RNG.standard_normal(E.shape)) == []


# ---- shapes -------------------------------------------------------------------------------

def test_two_outputs_with_each_others_shapes_are_called_swapped():
    """dxt and dh_prev returned in each other's places: the hint says swapped."""
    dxt, dh_prev = np.zeros((3, 10)), np.zeros((5, 10))
    found = compare.shape_problems([("dxt", dh_prev), ("dh_prev", dxt)], [dxt, dh_prev])
    assert found[-1] == "hint: dxt and dh_prev have each other's shapes: are the two swapped?"


def test_a_transposed_shape_is_named():
    """An array of the transposed shape is told so on its shape line."""
    found = compare.shape_problems([("dWhx", np.zeros((3, 5)))], [np.zeros((5, 3))])
    assert found == ["dWhx has shape (3, 5), expected (5, 3); hint: that is the expected "
                     "shape transposed: a matrix product in the wrong order, or a .T too "
                     "many or missing?"]


def test_a_loop_short_of_steps_is_told_how_many_it_ran():
    """A list of one item per step with 3 items for T_x = 4 steps: the hint asks about the
    loop's bound and what it adds per step."""
    spec = Steps("caches", "h_next")
    with pytest.raises(compare.ShapeError, match=r"should have 4 items, got 3; hint: one item "
                                                 r"per time step, and the input has T_x = 4"):
        compare.flatten(spec, [np.zeros(2)] * 3, 4)


# ---- exceptions ---------------------------------------------------------------------------

def error_of(code, **names):
    """The 'Type: message' of what numpy raises running `code` (the installed numpy's
    words, which the hints must read)."""
    try:
        exec(code, {"np": np, **names})
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    raise AssertionError(f"{code} raised nothing")


@pytest.mark.parametrize(("code", "words"), [
    ("np.ones((3, 5)) * np.ones((5, 10))", "is a * where np.dot (or @) is meant?"),
    ("np.dot(np.ones((5, 3)), np.ones((5, 10)))", "with the first operand transposed (.T)"),
    ("np.dot(np.ones((5, 3)), np.ones((10, 3)))", "with the second operand transposed (.T)"),
    ("np.concatenate([np.ones((5, 10)), np.ones((3, 10))], axis=1)",
     "differ along axis 0 (5 and 3), so that is the axis to join them along"),
    ("np.ones((3, 10, 4))[:, :, 10]", "an index reached 10 on axis 2, which has 4 entries"),
])
def test_numpy_errors_are_explained(code, words):
    """Numpy's own error messages, read for what they say about shapes and axes."""
    assert words in compare.exception_hint(error_of(code), {})


def test_a_missing_name_found_in_the_arguments_is_shown_where_it_is():
    """A NameError for a parameter points to where the arguments hold it."""
    arguments = {"dh": None, "caches": ([(1, 2, 3, {"Whx": 0})], None)}
    assert compare.exception_hint("NameError: name 'Whx' is not defined", arguments) == (
        "Whx is not defined inside the function: take it from the arguments, "
        "Whx = caches[0][0][3]['Whx']")


def test_an_error_that_says_nothing_of_shapes_gets_no_hint():
    """An error whose message explains nothing more gets no guess."""
    assert compare.exception_hint(error_of("1 / 0"), {}) is None


# ---- steps --------------------------------------------------------------------------------

STEP_GRADS = [{"dW": RNG.standard_normal((2, 2))} for _ in range(3)]
TOTAL = sum(g["dW"] for g in STEP_GRADS)


@pytest.mark.parametrize(("actual", "words"), [
    (STEP_GRADS[0]["dW"], "gradients['dW'] is the gradient of step 0 alone: add up every "
                          "step's (dW += ...)"),
    (TOTAL - STEP_GRADS[1]["dW"], "gradients['dW'] is missing step 1's gradient"),
    (TOTAL + STEP_GRADS[2]["dW"], "gradients['dW'] is counting step 2's gradient twice"),
])
def test_a_gradient_dropping_or_doubling_a_step_is_named(actual, words):
    """A parameter gradient that is one step's, or misses or doubles one: which step."""
    steps = ([2, 1, 0], [2, 1, 0], STEP_GRADS)
    assert hints_for(actual, TOTAL, ["gradients['dW']"], steps) == [words]


def test_steps_taken_the_wrong_way_are_named():
    """A loop running the other way is told the order it took and the right one."""
    steps = ([0, 1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1, 0], [])
    assert hints_for(RNG.standard_normal(E.shape), steps=steps)[0] == (
        "the steps were taken in the order 0, 1, 2, ..., 6; they must go 6, 5, 4, ..., 0: "
        "the loop runs the wrong way")


def test_in_place_change_is_a_hint():
    """Changing an argument in place is named as the cause."""
    found = compare.modified_inputs([np.zeros(2)], [np.ones(2)], ["h0"])
    assert found == ["hint: the argument h0 was modified in place: work on a copy, and "
                     "leave the inputs as they were"]


# ---- the corpus ---------------------------------------------------------------------------

ASSIGNMENTS = {"rnn_step_by_step": CORPUS, "lstm_step_by_step": LSTM_CORPUS}


@functools.cache
def released_rnncheck(assignment):
    """The rnncheck package of the assignment's released folder, as its notebook imports
    it, under a name of its own: its spec() reads that folder's spec.json, and is cached
    apart from the other assignment's."""
    folder = ROOT / "release" / assignment / "rnncheck"
    name = f"rnncheck_of_{assignment}"
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package  # its relative imports look it up there
    spec.loader.exec_module(package)
    return package


@contextlib.contextmanager
def imported_as_rnncheck(package):
    """`import rnncheck` gives `package` meanwhile; sys.modules as it was afterwards."""
    saved = sys.modules.get("rnncheck")
    sys.modules["rnncheck"] = package
    try:
        yield
    finally:
        if saved is None:
            del sys.modules["rnncheck"]
        else:
            sys.modules["rnncheck"] = saved


def namespace(assignment, entry):
    """The notebook's names after its imports (the released rnncheck) and the entry's
    answer cells, in-process."""
    nb = nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", 4)
    imports = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get(
        "grade_id") == "imports")
    ns = {}
    with contextlib.redirect_stdout(io.StringIO()):
        with imported_as_rnncheck(released_rnncheck(assignment)):
            exec(imports, ns)
        for code in answers_of(entry, master_answers(nb)).values():
            with contextlib.suppress(Exception):
                exec(code, ns)
    return ns


def hint_lines(text):
    """The hints a failure's text gives, one per line."""
    return [m.group(1) for m in re.finditer(r"hint: (.*)", text)]


def hidden_failures(assignment, ns):
    """{(exercise, part): the judge's failure message} of the hidden checks, in-process."""
    declaration = submissions.declared(ROOT)[assignment]
    found = {}
    for name in declaration.exercises:
        for part in ("structure", "values"):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    declaration.check(name, ns[name], part)
            except AssertionError as failure:
                found[name, part] = str(failure)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_most_wrong_submissions_hear_why_and_right_ones_hear_nothing(assignment):
    """Every buggy entry of the corpus gets a hint from the hidden checks; no valid
    alternative gets one (they pass)."""
    told, untold = [], []
    for entry in ASSIGNMENTS[assignment]:
        if entry.kind not in ("buggy", "valid") or entry.name in ("reset_then_reimports",
                                                                   "malformed_socket_traffic"):
            continue
        text = "\n".join(hidden_failures(assignment, namespace(assignment, entry)).values())
        if entry.kind == "valid":
            assert hint_lines(text) == [], entry.name
        else:
            (told if hint_lines(text) else untold).append(entry.name)
    assert untold == []


HINTED = [(a, e) for a in ASSIGNMENTS for e in ASSIGNMENTS[a] if e.hint]


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "entry"), HINTED, ids=[e.name for _, e in HINTED])
def test_each_kind_of_mistake_gets_the_hint_naming_its_cause(assignment, entry):
    """A corpus entry written for a kind of mistake the engine explains from the spec
    (a derivative, an axis, a concatenation, a state or step, a gate) gets a hint line
    holding its cause's words from the hidden checks."""
    text = "\n".join(hidden_failures(assignment, namespace(assignment, entry)).values())
    assert any(entry.hint in line for line in hint_lines(text)), text


def wrong_parts(entry):
    """The (exercise, part) a buggy entry loses: values always, structure too when the
    exercise earns nothing (`expect`)."""
    return {(name, part) for name, points in entry.expect.items()
            for part in ("values", "structure")[:1 + (points == 0)]}


def self_check_message(assignment, ns, name, part, judged):
    """What the released self-check says of ns[name] on the example: its report, or, when
    the function itself raises, that exception as the judge words it (with its hint
    notes); the test fails if the self-check passes, or crashes with an exception the
    judge does not report (`judged`, the judge's message)."""
    check_error = released_rnncheck(assignment).checker.CheckError
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            ns["self_check"](name, ns[name], part)
    except check_error as failure:
        assert str(failure).startswith(f"{name} on the example above:\n"), str(failure)
        return str(failure)
    except Exception as exc:  # the function's own error, re-raised with its hint noted
        raised = f"{name} raised {type(exc).__name__}: {exc}"[:len(name) + 308]
        assert f"  - {raised}" in judged, f"the self-check crashed: {raised!r}; the " \
            f"judge said:\n{judged}"
        return "\n".join([raised, *getattr(exc, "__notes__", [])])
    pytest.fail(f"the self-check passed {name} ({part}); the judge said:\n{judged}")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_self_check_gives_the_hidden_checks_diagnosis(assignment):
    """For every buggy entry, the judge fails every part the entry gets wrong; where it
    fails one on the notebook's example, the released self-check fails it too, with
    exactly the same hint lines in its whole message (an exception's hint as a note on
    it). Neither may crash or pass a wrong answer."""
    compared = 0
    for entry in (e for e in ASSIGNMENTS[assignment] if e.kind == "buggy"):
        ns = namespace(assignment, entry)
        judged = hidden_failures(assignment, ns)
        assert wrong_parts(entry) <= judged.keys(), \
            (entry.name, "the judge passed", wrong_parts(entry) - judged.keys())
        for (name, part), message in judged.items():
            assert "could not be read" not in message, (entry.name, message)
            if not message.startswith(f"{name} on the example:"):
                continue
            shown = self_check_message(assignment, ns, name, part, message)
            assert hint_lines(shown) == hint_lines(message), \
                f"{entry.name}: the self-check said\n{shown}\nthe judge said\n{message}"
            compared += 1
    assert compared >= 20


def test_one_wrong_feed_is_reported_once_by_the_judge():
    """A loop started from zeros instead of h0, then carried right, is told about step 0
    only: later steps got what the step before them was answered (no cascade)."""
    from rnn_solutions.rnn_step_by_step import rnn

    nb = nbformat.read(ROOT / "source" / "rnn_step_by_step" / "rnn_step_by_step.ipynb", 4)
    code = master_answers(nb)["rnn_forward"].replace("h_next = h0", "h_next = 0 * h0")
    ns = {"np": np, "rnn_cell_forward": rnn.rnn_cell_forward}
    exec(code, ns)
    with pytest.raises(AssertionError) as failed:
        DECLARATIONS["rnn"].check("rnn_forward", ns["rnn_forward"], "values")
    assert hint_lines(str(failed.value)) == ["step 0 should be fed h0 as its h_prev"]
