"""What students get beside each notebook: rnncheck/ (self_check, gradient_check,
plot_gradient_reach) and spec.json, checked in every assignment's released folder."""

import ast
import copy
import functools
import importlib.util
import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest
from conftest import ASSIGNMENTS, ROOT, execute
from nbconvert import HTMLExporter

from rnn_solutions import rnncheck
from rnn_solutions.engine import student_files, submissions
from rnn_solutions.lstm_step_by_step.samples import NO_CARRY
from rnn_solutions.rnn_step_by_step.samples import seed_student

matplotlib.use("Agg")
DECLARED = submissions.declared(ROOT)  # {assignment: its declaration}
PACKAGE = Path(rnncheck.__file__).parent  # rnn_solutions/rnncheck, shipped as it is
NOTEBOOK_CALLS = ("gradient_check", "plot_gradient_reach", "self_check")
FOLDERS = [(where, a) for a in ASSIGNMENTS for where in ("source", "release")]


def exercises(assignment, kind=None):
    """The assignment's Exercises; kind "sequence" (calls a cell function), "backward"
    (takes a forward's cache) or "cell backward" keeps those only."""
    keep = {None: lambda e: True, "sequence": lambda e: e.helper,
            "backward": lambda e: e.cache_from,
            "cell backward": lambda e: e.cache_from and not e.helper}[kind]
    return [e for e in DECLARED[assignment].spec.exercises if keep(e)]


@functools.cache
def released(assignment):
    """release/<assignment>/rnncheck imported as the notebook there imports it, under a
    module name of its own: each copy reads its own ../spec.json (spec() is cached per
    copy), and no __pycache__ is written into the release."""
    init = ROOT / "release" / assignment / "rnncheck" / "__init__.py"
    name = f"released_rnncheck_{assignment}"
    found = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(init.parent)])
    package = importlib.util.module_from_spec(found)
    sys.modules[name] = package
    writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        found.loader.exec_module(package)
    finally:
        sys.dont_write_bytecode = writes
    return package


def in_notebook(sources, namespace, **names):
    """The functions `sources` define, run in one namespace as a notebook's cells are
    (`namespace` its earlier names), then `names` bound in it (a broken cell, say)."""
    namespace = dict(namespace)
    for source in sources:
        exec(source, namespace)
    namespace.update(names)
    return namespace


def reference(assignment, **names):
    """The reference's exercises as a notebook defines them: in one namespace holding the
    reference module's names (np, softmax, sigmoid, ...), then `names`."""
    module = DECLARED[assignment].spec.reference
    return in_notebook([inspect.getsource(getattr(module, e.name))
                        for e in exercises(assignment)],
                       {k: v for k, v in vars(module).items() if not k.startswith("__")},
                       **names)


def seed():
    """The seed student's four answers (forward right, backward wrong), as submitted."""
    return in_notebook([inspect.getsource(getattr(seed_student, e.name))
                        for e in exercises("rnn_step_by_step")],
                       {"np": np, "softmax": seed_student.softmax})


def failure(assignment, name, fn, part="values"):
    """The report of a self-check that must fail."""
    with pytest.raises(AssertionError) as failed:
        released(assignment).self_check(name, fn, part=part)
    return str(failed.value)


# ---- the files are what `make release` writes -----------------------------------------

@pytest.mark.parametrize(("where", "assignment"), FOLDERS)
def test_student_files_are_in_sync_with_the_reference(tmp_path, where, assignment):
    """rnncheck/*.py in source/<a> and release/<a> are byte for byte what
    student_files.write makes from the declaration now, and spec.json holds the same
    data (its numbers to 1e-10: the BLAS of another machine may move their 12th digit)."""
    student_files.write(DECLARED[assignment], tmp_path)
    kept = ROOT / where / assignment
    ours = sorted(p.name for p in (tmp_path / "rnncheck").iterdir())
    theirs = sorted(p.name for p in (kept / "rnncheck").iterdir() if p.name != "__pycache__")
    assert theirs == ours, f"{where}/{assignment}/rnncheck holds {theirs}, expected {ours}"
    stale = [f"{where}/{assignment}/rnncheck/{n}" for n in ours
             if (kept / "rnncheck" / n).read_bytes() != (tmp_path / "rnncheck" / n).read_bytes()]
    data = [json.loads((folder / "spec.json").read_text()) for folder in (kept, tmp_path)]
    stale += [] if _same_data(*data) else [f"{where}/{assignment}/spec.json"]
    assert not stale, f"stale, run `make release`: {stale}"


def _same_data(a, b):
    """Two JSON trees equal, their floats within 1e-10 relative."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and \
            abs(a - b) <= 1e-10 * max(1.0, abs(b))
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same_data, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _same_data(a[k], b[k]) for k in a)
    return a == b


def test_rnncheck_is_the_same_in_every_assignment():
    """Every assignment's rnncheck/, in source/ and release/, is rnn_solutions/rnncheck."""
    package = {p.name: p.read_bytes() for p in PACKAGE.glob("*.py")}
    differ = [f"{where}/{a}/rnncheck" for where, a in FOLDERS
              if {p.name: p.read_bytes()
                  for p in (ROOT / where / a / "rnncheck").glob("*.py")} != package]
    assert not differ, f"not rnn_solutions/rnncheck byte for byte: {differ}"


# ---- what rnncheck ships --------------------------------------------------------------

def test_checker_is_at_most_400_lines():
    """rnncheck/checker.py, the file students open to read a check, stays short."""
    lines = len((PACKAGE / "checker.py").read_text().splitlines())
    assert lines <= 400, f"checker.py has {lines} lines, at most 400"


def test_the_notebooks_call_the_three_checks():
    """Each release notebook imports from rnncheck exactly self_check, gradient_check and
    plot_gradient_reach: the roots of what rnncheck must ship."""
    for assignment in ASSIGNMENTS:
        nb = submissions.release_notebook(ROOT, assignment)
        imported = {alias.name for cell in nb.cells if cell.cell_type == "code"
                    and "rnncheck" in cell.source
                    for node in ast.walk(ast.parse(cell.source))
                    if isinstance(node, ast.ImportFrom) and node.module == "rnncheck"
                    for alias in node.names}
        assert imported == set(NOTEBOOK_CALLS), (assignment, sorted(imported))


def module_reads(node, bound=frozenset()):
    """The names `node` reads from its module's globals: in each function or lambda, the
    names it loads that are not its parameters, its locals or an enclosing function's."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        outside = [*node.args.defaults, *node.args.kw_defaults,
                   *getattr(node, "decorator_list", [])]
        body = node.body if isinstance(node.body, list) else [node.body]
        args = node.args
        own = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                               args.vararg, args.kwarg) if a} | bound_in(body)
        return set().union(*(module_reads(n, bound) for n in outside if n),
                           *(module_reads(n, bound | own) for n in body))
    if isinstance(node, ast.Name):
        return {node.id} - bound if isinstance(node.ctx, ast.Load) else set()
    return set().union(*(module_reads(n, bound) for n in ast.iter_child_nodes(node)))


def bound_in(nodes):
    """The names a function body binds (not looking into the functions it defines)."""
    names = set()
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif not isinstance(node, ast.Lambda):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names.add(node.id)
            names |= bound_in(ast.iter_child_nodes(node))
    return names


def reachable(package):
    """({(module, name): node} of the package's top-level functions, classes and assigned
    names, the set of those reached from NOTEBOOK_CALLS): a definition reaches every
    top-level name it reads, through the modules' relative imports; a class's methods
    are part of it."""
    defined, imported = {}, {}
    for path in sorted(package.glob("*.py")):
        module, imported[path.stem] = path.stem, {}
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported[module].update({a.asname or a.name: (node.module, a.name)
                                         for a in node.names})
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined[module, node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    defined.update({(module, n.id): node for n in ast.walk(target)
                                    if isinstance(n, ast.Name)})

    def resolve(module, name):
        if (module, name) in defined:
            return module, name
        return resolve(*imported[module][name]) if name in imported[module] else None

    reached, todo = set(), [resolve("__init__", name) for name in NOTEBOOK_CALLS]
    while todo:
        key = todo.pop()
        if key not in reached:
            reached.add(key)
            todo += filter(None, (resolve(key[0], n) for n in module_reads(defined[key])))
    return defined, reached


def test_every_shipped_function_is_reachable_from_the_notebooks_calls():
    """Every function and class rnncheck's modules define is reached, through the names
    function bodies read, from self_check, gradient_check or plot_gradient_reach."""
    defined, reached = reachable(PACKAGE)
    assert {("checker", n) for n in NOTEBOOK_CALLS} <= reached
    unreached = sorted(f"{module}.{name}" for (module, name), node in defined.items()
                       if isinstance(node, (ast.FunctionDef, ast.ClassDef))
                       and (module, name) not in reached)
    assert not unreached, f"shipped to students but never reached from {NOTEBOOK_CALLS}: " \
        f"{unreached}"


def imports(tree):
    """[(module, optional)] of every import in a module, at any depth; optional: inside
    a try whose handler catches ImportError (the module works without it)."""
    optional = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try) and any(
        h.type is not None and {n.id for n in ast.walk(h.type) if isinstance(n, ast.Name)}
        & {"ImportError", "ModuleNotFoundError"} for h in t.handlers)
        for stmt in t.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in optional) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(("." * node.level + (node.module or ""), id(node) in optional))
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_shipped_files_import_only_numpy_matplotlib_and_the_standard_library(assignment):
    """release/<a>/rnncheck imports numpy, matplotlib, the standard library and itself
    (never rnn_solutions); anything else only inside try/except ImportError."""
    allowed = {"numpy", "matplotlib"} | set(sys.stdlib_module_names)
    bad = [f"{path.name}: {module}"
           for path in sorted((ROOT / "release" / assignment / "rnncheck").glob("*.py"))
           for module, optional in imports(ast.parse(path.read_text()))
           if not (module.startswith(".") or module.split(".")[0] in allowed or optional)]
    assert not bad, f"imports a student may not have: {bad}"


# ---- self_check ---------------------------------------------------------------------

SELF_CHECKS = [(a, e.name, part) for a in ASSIGNMENTS for e in exercises(a)
               for part in ("structure", "values")]


@pytest.mark.parametrize(("assignment", "name", "part"), SELF_CHECKS)
def test_self_check_passes_the_reference_and_says_so(capsys, assignment, name, part):
    """The reference passes every self-check, which prints a plain success line."""
    released(assignment).self_check(name, reference(assignment)[name], part=part)
    assert f"{name}: the visible {part} checks pass." in capsys.readouterr().out


MISTAKEN = [(a, name, hint) for a in ASSIGNMENTS
            for name, hints in DECLARED[a].mistakes.items() for hint in hints]


@pytest.mark.parametrize(("assignment", "name", "hint"), MISTAKEN,
                         ids=[f"{a}-{hint[:40]}" for a, _, hint in MISTAKEN])
def test_self_check_gives_every_known_mistake_its_hint(assignment, name, hint):
    """Each known mistake fails the value self-check on the example with its own hint."""
    report = failure(assignment, name, DECLARED[assignment].mistakes[name][hint])
    assert f"hint: {hint}" in report, report


def rnn_cell_forward(xt, h_prev, parameters):
    """A broken cell in this module's globals: the self-check stands in for it."""
    raise ValueError("broken cell")


def lstm_cell_forward(xt, h_prev, c_prev, parameters):
    """A broken cell in this module's globals: the self-check stands in for it."""
    raise ValueError("broken cell")


def rnn_forward_feeding_h0(x, h0, parameters):
    """rnn_forward that feeds h0 to every step."""
    outs = [rnn_cell_forward(x[:, :, t], h0, parameters) for t in range(x.shape[2])]
    h, y = (np.stack([o[k] for o in outs], axis=2) for k in (0, 1))
    return h, y, ([o[2] for o in outs], x)


def lstm_forward_restarting_c(x, h0, parameters):
    """lstm_forward that restarts the cell state at zeros every step."""
    h_t, outs = h0, []
    for t in range(x.shape[2]):
        outs.append(lstm_cell_forward(x[:, :, t], h_t, np.zeros_like(h0), parameters))
        h_t = outs[-1][0]
    h, c, y = (np.stack([o[k] for o in outs], axis=2) for k in (0, 1, 2))
    return h, y, c, ([o[3] for o in outs], x)


STALE_STATE = [
    ("rnn_step_by_step", "rnn_forward", rnn_forward_feeding_h0,
     "step 1 should be fed step 0's h_next as its h_prev (it was given h0)"),
    ("lstm_step_by_step", "lstm_forward", lstm_forward_restarting_c,
     "step 1 should be fed step 0's c_next as its c_prev (it was given zeros)"),
]


@pytest.mark.parametrize(("assignment", "name", "fn", "words"), STALE_STATE,
                         ids=[a for a, *_ in STALE_STATE])
def test_self_check_tells_which_state_a_step_was_fed(assignment, name, fn, words):
    """A forward pass that does not carry a state from step to step is told, step by
    step, what it should have fed and what it fed instead."""
    report = failure(assignment, name, fn)
    assert words in report, report


NO_CARRY_SAMPLES = {  # a sample backward pass of each assignment that carries nothing
    "rnn_step_by_step": inspect.getsource(seed_student.rnn_backward),
    "lstm_step_by_step": NO_CARRY.read_text(),
}


@pytest.mark.parametrize("assignment", NO_CARRY_SAMPLES)
def test_self_check_tells_which_gradient_a_step_was_fed(assignment):
    """A sample backward pass carrying nothing back through time (the RNN's seed
    student, the LSTM's no_carry) is told, for every carried state, what step T_x - 2
    should be fed from step T_x - 1."""
    spec = DECLARED[assignment].spec
    name, = [e.name for e in exercises(assignment, "backward") if e.helper]
    fn = in_notebook([NO_CARRY_SAMPLES[assignment]], {"np": np})[name]
    report = failure(assignment, name, fn)
    t = spec.example_sizes["T_x"] - 2
    for i, s in enumerate(spec.carries):
        source = "dh[:, :, t] plus " * (i == 0) + f"the d{s}_prev of step t+1"
        said = " (it was given dh[:, :, t] alone)" * (i == 0)
        assert f"step {t} should be fed {source} as its d{s}_next{said}" in report, report


SEQUENCES = [(a, e.name, e.helper) for a in ASSIGNMENTS for e in exercises(a, "sequence")]


@pytest.mark.parametrize(("assignment", "name", "helper"), SEQUENCES)
def test_self_check_of_a_sequence_is_not_charged_for_the_cell(capsys, assignment, name,
                                                                helper):
    """A correct sequence function passes its self-check even when the notebook's cell
    function is broken."""
    def broken(*args, **kwargs):
        raise ValueError("broken cell")

    fn = reference(assignment, **{helper: broken})[name]
    released(assignment).self_check(name, fn)
    assert f"{name}: the visible values checks pass." in capsys.readouterr().out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_self_check_reports_shapes_and_in_place_changes(assignment):
    """A cell backward returning a bias gradient without its second axis, and doubling
    its upstream gradient in place, is shown the expected shape and told the argument
    was modified."""
    exercise, = exercises(assignment, "cell backward")
    returned = exercise.returns
    key = next(k for k in returned["keys"] if k.startswith("db"))
    upstream = exercise.arguments[0]
    right = reference(assignment)[exercise.name]

    def wrong(*args):
        gradients = right(*args)
        args[0][...] *= 2
        return {**gradients, key: gradients[key][:, 0]}

    report = failure(assignment, exercise.name, wrong)
    n_h = DECLARED[assignment].spec.example_sizes["n_h"]
    for words in (f"{returned['name']}[{key!r}] has shape ({n_h},), expected ({n_h}, 1)",
                  "keepdims=True", f"hint: the argument {upstream} was modified in place"):
        assert words in report, report


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_self_check_says_an_unnormalised_softmax_is_not_probabilities(assignment):
    """The reference cell forward with a softmax that forgets to normalise is told that
    its prediction is not a probability distribution (the judge's range hint)."""
    cell = exercises(assignment)[0]
    predictions = [p for p in cell.returns["parts"] if isinstance(p, str)
                   and DECLARED[assignment].spec.ranges.get(p) == "softmax"]
    fn = reference(assignment, softmax=np.exp)[cell.name]
    report = failure(assignment, cell.name, fn)
    for prediction in predictions:
        assert f"hint: {prediction} is not a probability distribution" in report, report


SEED_VALUES = {  # what the seed student's answers get from the value self-check
    "rnn_cell_forward": None,  # passes
    "rnn_forward": None,
    "rnn_cell_backward": "hint: dh_next is never applied",
    "rnn_backward": "step 2 should be fed dh[:, :, t] plus the dh_prev of step t+1 as its "
                    "dh_next (it was given dh[:, :, t] alone)",
}


@pytest.mark.parametrize("name", SEED_VALUES)
def test_seed_student_passes_the_structure_self_checks(name):
    """The seed's answers have the right types, shapes and keys."""
    released("rnn_step_by_step").self_check(name, seed()[name], part="structure")


@pytest.mark.parametrize(("name", "words"), SEED_VALUES.items())
def test_seed_students_value_self_checks(capsys, name, words):
    """The seed's forward answers pass their value self-check; its backward ones fail it
    with the specific hint."""
    if words is None:
        released("rnn_step_by_step").self_check(name, seed()[name])
        assert f"{name}: the visible values checks pass." in capsys.readouterr().out
    else:
        report = failure("rnn_step_by_step", name, seed()[name])
        assert words in report, report


WITHOUT_THE_PACKAGE = {  # a wrong sample answer of each assignment, and its hint
    "rnn_step_by_step": ("rnn_cell_backward", inspect.getsource(seed_student.rnn_cell_backward),
                         "hint: dh_next is never applied"),
    "lstm_step_by_step": ("lstm_backward", NO_CARRY.read_text(),
                          "should be fed the dc_prev of step t+1 as its dc_next"),
}


@pytest.mark.parametrize("assignment", WITHOUT_THE_PACKAGE)
def test_self_checks_work_without_the_reference_package(assignment):
    """In the release folder, with rnn_solutions (and IPython) unimportable, a fresh
    Python's self-check still explains a sample's mistake."""
    name, source, words = WITHOUT_THE_PACKAGE[assignment]
    script = (
        "import sys\nsys.modules['rnn_solutions'] = sys.modules['IPython'] = None\n"
        "import numpy as np\nfrom rnncheck import self_check\n"
        f"{source}\n"
        f"try:\n    self_check({name!r}, {name})\n"
        "except AssertionError as e:\n    print(e)\n")
    run = subprocess.run([sys.executable, "-B", "-c", script], capture_output=True,
                         cwd=ROOT / "release" / assignment, text=True, check=True)
    assert words in run.stdout, run.stdout + run.stderr


# ---- gradient_check -----------------------------------------------------------------

PAIRS = [(a, e.cache_from, e.name) for a in ASSIGNMENTS for e in exercises(a, "backward")]


def gradient_lines(out):
    """{gradient: its verdict} of the lines gradient_check printed."""
    return dict(re.findall(r"^  (\w+)\s.*\s(pass|FAIL)$", out, re.MULTILINE))


@pytest.mark.parametrize(("assignment", "forward", "backward"), PAIRS)
def test_gradient_check_passes_the_reference(capsys, assignment, forward, backward):
    """The reference's gradients pass, each below 1e-7 (the pass mark is 1e-6), one printed
    line per gradient."""
    fns = reference(assignment)
    errors = released(assignment).gradient_check(fns[forward], fns[backward])
    keys = DECLARED[assignment].spec.exercise(backward).returns["keys"]
    assert list(errors) == keys and max(errors.values()) < 1e-7, errors
    assert gradient_lines(capsys.readouterr().out) == dict.fromkeys(keys, "pass")


BACKWARD_MISTAKES = [(a, e.cache_from, e.name, hint) for a in ASSIGNMENTS
                     for e in exercises(a, "backward") for hint in DECLARED[a].mistakes[e.name]]


@pytest.mark.parametrize(("assignment", "forward", "backward", "hint"), BACKWARD_MISTAKES,
                         ids=[f"{a}-{hint[:40]}" for a, _, _, hint in BACKWARD_MISTAKES])
def test_gradient_check_fails_a_known_backward_mistake(capsys, assignment, forward,
                                                       backward, hint):
    """A known mistake of a backward exercise fails the gradient check (> 1e-2) on the
    gradients it gets wrong, and passes the others: those where its gradients differ
    from the reference's on the check's own case, compared directly."""
    helpers, fns = released(assignment), reference(assignment)
    mistake = DECLARED[assignment].mistakes[backward][hint]

    def wrong(*args):  # named as the student's function, so the check knows it
        return mistake(*args)

    wrong.__name__ = backward
    errors = helpers.gradient_check(fns[forward], wrong)
    printed = gradient_lines(capsys.readouterr().out)
    case = helpers.checker.spec()["exercises"][backward]["gradient_check"]
    upstream = helpers.checker.decode(case["upstream"])
    cache = fns[forward](*helpers.checker.decode(case["inputs"]))[-1]
    ours, theirs = (fn(*copy.deepcopy(upstream), copy.deepcopy(cache))
                    for fn in (mistake, fns[backward]))
    differ = {k for k in errors if helpers.checker.rel_error(ours[k], theirs[k]) > 1e-2}
    failed = {k for k, e in errors.items() if e > 1e-2}
    assert differ, "the mistake gives the reference's gradients on the check's case"
    assert failed == differ, f"failed {sorted(failed)}, wrong {sorted(differ)}: {errors}"
    assert printed == {k: "FAIL" if e >= 1e-6 else "pass" for k, e in errors.items()}


def test_gradient_check_fails_the_seed_cell_backward(capsys):
    """The seed's cell backward (dh_next never applied) fails every gradient, visibly."""
    fns = reference("rnn_step_by_step")
    errors = released("rnn_step_by_step").gradient_check(fns["rnn_cell_forward"],
                                                         seed()["rnn_cell_backward"])
    assert min(errors.values()) > 1e-2, errors
    assert set(gradient_lines(capsys.readouterr().out).values()) == {"FAIL"}


@pytest.mark.parametrize(("assignment", "forward", "backward"), PAIRS)
def test_gradient_check_is_repeatable(assignment, forward, backward):
    """The check leaves nothing changed behind it: two runs give the same errors."""
    fns, helpers = reference(assignment), released(assignment)
    first = helpers.gradient_check(fns[forward], fns[backward])
    assert helpers.gradient_check(fns[forward], fns[backward]) == first


# ---- plot_gradient_reach ------------------------------------------------------------

def finale(assignment):
    """The lines of the finale plot drawn with the reference's sequence functions, as the
    notebook draws it (T_x = 60), by label."""
    import matplotlib.pyplot as plt

    backward, = exercises(assignment, "sequence")[1:]
    fns = reference(assignment)
    fig = released(assignment).plot_gradient_reach(fns[backward.cache_from],
                                                   fns[backward.name], T_x=60)
    plt.close(fig)
    return fig, {line.get_label(): np.asarray(line.get_ydata()) for line in fig.axes[0].lines}


CURVES = {"rnn_step_by_step": 3, "lstm_step_by_step": 2}  # three radii; the LSTM and the RNN


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_plot_draws_every_curve_on_a_labelled_log_scale(assignment):
    """The finale plot has the spec's title, labelled log axes, and one 60-step curve per
    curve and reference of the spec (RNN 3, LSTM 2)."""
    reach = DECLARED[assignment].spec.reach
    fig, lines = finale(assignment)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_title() == reach["title"]
    labels = [c[0] for c in reach["curves"]] + [r[0] for r in reach.get("references", ())]
    assert list(lines) == labels
    assert {label: len(y) for label, y in lines.items()} == dict.fromkeys(labels, 60)
    assert len(lines) == CURVES.get(assignment, len(labels))


def test_rnn_gradient_vanishes_below_one_and_explodes_above():
    """With the reference, the RNN plot's gradient reaching step 0 shrinks for a spectral
    radius of 0.8 and grows for 1.2."""
    _, lines = finale("rnn_step_by_step")
    small, large = (lines[f"spectral radius of Whh = {s}"] for s in (0.8, 1.2))
    assert small[0] < 1e-3 * small[-1], (small[0], small[-1])
    assert large[0] > 1e3 * large[-1], (large[0], large[-1])


def test_the_lstm_gradient_reaches_further_back_than_the_rnns():
    """With the forget gate open, the gradient from step 60 reaching step 0 is thousands
    of times larger, relative to where it started, for the LSTM than for the RNN."""
    _, lines = finale("lstm_step_by_step")
    (_, lstm_reach), (_, rnn_reach) = lines.items()
    assert lstm_reach[0] / lstm_reach[-1] > 1000 * rnn_reach[0] / rnn_reach[-1]


@pytest.mark.parametrize(("y", "label"), [(1e-5, "10⁻⁵"), (1.0, "10⁰"), (1e12, "10¹²")])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_plot_labels_decades_in_superscript_digits(assignment, y, label):
    """The log axis's decades read as 10 with the exponent in superscript digits."""
    assert released(assignment).plots.decade(y) == label


def markdown_images(nb):
    """The images the notebook's markdown cells show."""
    return {src for cell in nb.cells if cell.cell_type == "markdown"
            for src in re.findall(r'!\[[^]]*\]\(([^)\s]+)|<img[^>]*src="([^"]+)"', cell.source)
            for src in src if src}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_executed_master_notebook_html_shows_every_image(assignment):
    """The executed master notebook, as HTML, shows its diagrams and the finale plot,
    and references only images that resolve."""
    folder = ROOT / "source" / assignment
    master = nbformat.read(folder / submissions.notebook_name(assignment), as_version=4)
    diagrams = markdown_images(master)
    nb = execute(master, folder)
    html, _ = HTMLExporter().from_notebook_node(nb)
    sources = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(sources) >= len(diagrams) + 1, (sorted(diagrams), len(sources))
    for src in sources:
        assert src.startswith("data:image/") or (folder / src).is_file(), src


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_plot_is_drawn_once_shown_once_and_closed(tmp_path, assignment):
    """In a kernel with the inline backend, the finale plot's figure is drawn once (not a
    second time for a tight bounding box), reaches the notebook as one PNG, and is closed."""
    master = nbformat.read(ROOT / "source" / assignment / submissions.notebook_name(assignment),
                           as_version=4)
    code = [c for c in master.cells if c.cell_type == "code"]
    answers = [c.source for c in code if c.metadata.get("nbgrader", {}).get("grade_id") in
               ("imports", *(e.name for e in exercises(assignment)))]
    plot, = [c.source for c in code if c.source.lstrip().startswith("plot_gradient_reach(")]
    count = ("from matplotlib.figure import Figure\n_draw, draws = Figure.draw, []\n"
             "Figure.draw = lambda fig, renderer: draws.append(1) or _draw(fig, renderer)")
    after = "import matplotlib.pyplot as plt\nprint(len(draws), plt.get_fignums())"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s)
                                         for s in [*answers, count, plot, after]])
    folder = shutil.copytree(ROOT / "release" / assignment, tmp_path / assignment)
    nb = execute(nb, folder)
    images = [o for o in nb.cells[-2].outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, nb.cells[-2].outputs
    assert nb.cells[-1].outputs[0]["text"] == "1 []\n"
