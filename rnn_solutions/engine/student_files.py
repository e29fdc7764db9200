"""The files students get beside a notebook, made from the reference by `make release`.

    rnncheck/   -- the checks they run (self_check, gradient_check, plot_gradient_reach),
                   copied as they are: the same files in every assignment
    spec.json   -- this assignment's spec and the reference's numbers on the notebook's
                   examples: the outputs, the steps a sequence function's cell calls
                   were given and returned, the fingerprints of known mistakes; the
                   gradient check's small case; the finale plot's weights
"""

import json
import shutil
from pathlib import Path

import numpy as np

from rnn_solutions import rnncheck
from rnn_solutions.engine import spec as specs
from rnn_solutions.rnncheck.checker import gradient_reach

# significant digits kept in spec.json: the BLAS behind np.dot differs from machine to
# machine in the last bits, and the checks' tolerance (rtol 1e-6) is far looser
DIGITS = 12


def write(declaration, folder):
    """Write rnncheck/ and spec.json into the assignment's source folder."""
    package = Path(folder) / "rnncheck"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    for source in sorted(Path(rnncheck.__file__).parent.glob("*.py")):
        shutil.copyfile(source, package / source.name)
    data = json.dumps(spec_json(declaration), separators=(",", ":"))
    (Path(folder) / "spec.json").write_text(data + "\n")


def spec_json(declaration):
    """spec.json's content (see the module's docstring), every float to DIGITS digits."""
    spec, exercises = declaration.spec, {}
    for exercise in spec.exercises:
        exercises[exercise.name] = {
            "arguments": list(exercise.arguments), "returns": exercise.returns,
            "helper": exercise.helper, "tol": list(exercise.tol),
            "example": example_data(declaration, exercise.name)}
        if exercise.cache_from:
            exercises[exercise.name]["gradient_check"] = gradient_check_data(spec, exercise)
    return encode({"assignment": spec.name, "exercises": exercises, "cache": list(spec.cache),
                   "carries": list(spec.carries), "ranges": spec.ranges,
                   "reach": reach_data(spec.reach)})


def example_data(declaration, name):
    """On the notebook's example of an exercise: its inputs, the reference's arrays (in
    the order of `labelled`), the fingerprints of the known mistakes and of the engine's
    variants (`mutants.py`) that get them wrong, and, for a sequence function, the order
    of its steps and what each was given and returned."""
    case = specs.example(declaration.spec, name)
    expected = declaration.expected(case)
    known, generic = ([{"hint": hint, "outputs": changed}
                       for hint, changed in declaration.variants(name, case, expected, kind)
                       if changed] for kind in (False, True))
    order, steps = declaration.reference_steps(name, case)
    return {"inputs": list(case.inputs.values()), "expected": expected, "mistakes": known,
            "mutants": generic, "order": order, "steps": steps}


def gradient_check_data(spec, exercise):
    """The gradient check's case for a backward exercise: the forward's inputs and the
    upstream gradients (its arguments but the cache), small and seeded."""
    rng = np.random.default_rng(0)
    sizes = spec.check_sizes or spec.example_sizes
    inputs = specs.draw_inputs(spec, exercise.cache_from,
                               lambda *shape: rng.standard_normal(shape), sizes)
    upstream = [rng.standard_normal(specs.size(spec.shapes[a], sizes))
                for a in exercise.arguments[:-1]]
    return {"forward": exercise.cache_from, "inputs": list(inputs.values()),
            "upstream": upstream}


def reach_data(reach):
    """The finale plot: its title, the weights students' functions are run with, the
    loss's gradient, and the reference curves it compares them with (computed here)."""
    if not reach:
        return {}
    T_x = 60
    references = [{"label": label, "norms": gradient_reach(
        forward, backward, parameters, n_x, reach["upstream"], T_x)}
        for label, forward, backward, parameters, n_x in reach.get("references", ())]
    return {"title": reach["title"], "upstream": reach["upstream"],
            "curves": [{"label": label, "parameters": parameters, "n_x": n_x}
                       for label, parameters, n_x in reach["curves"]],
            "references": references}


def encode(value):
    """A value as JSON (rnncheck.checker.decode reads it back): an array as {"array":
    [...]}, a tuple as {"tuple": [...]}, every float rounded to DIGITS digits."""
    if isinstance(value, np.ndarray):
        return {"array": encode(value.tolist())}
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}")
    return value
