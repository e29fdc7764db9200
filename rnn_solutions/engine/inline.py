"""Helper files that stand alone: the students' copy of code the grader shares with them.

A module of the package imports shared code with a line marked `# inlined`:

    from rnn_solutions.engine.compare import plain, value_problems  # inlined

`standalone(module)` is its source with every such import replaced by the code it
imports (recursively), and the imports that code needs: all of a module, or, for the
kernel client, only the named functions (students need three of its helpers, not its
socket code). `make release` writes the result beside each assignment's notebook, with
the reference's numbers the self-checks compare with, `rounded` to DIGITS digits.
"""

import ast
import copy
import importlib
import inspect
import re
from pathlib import Path

import numpy as np

from rnn_solutions.engine import compare, kernel_client


def standalone(module, done=None):
    """The source of `module` with its `# inlined` imports replaced by their code."""
    done = set() if done is None else done
    source = Path(module.__file__).read_text()
    lines = source.splitlines(keepends=True)
    for node in reversed(ast.parse(source).body):
        if isinstance(node, ast.ImportFrom) and "# inlined" in lines[node.lineno - 1]:
            lines[node.lineno - 1:node.end_lineno] = [_inlined(node, done, set(lines))]
    return "".join(lines)


def _inlined(node, done, present):
    """The code an `# inlined` import brings, with the imports it needs; '' if already in."""
    module = importlib.import_module(node.module)
    if module is kernel_client:  # only the named functions, each once
        imports, _ = _split(Path(module.__file__).read_text())
        names = [a.name for a in node.names if f"{module.__name__}.{a.name}" not in done]
        done.update(f"{module.__name__}.{name}" for name in names)
        code = "\n\n".join(inspect.getsource(getattr(module, name)) for name in names)
    elif module.__name__ in done:
        return ""
    else:
        done.add(module.__name__)
        imports, code = _split(standalone(module, done))
    needed = [line for line, names in imports if line not in present
              and any(re.search(rf"\b{n}\b", code) for n in names)]
    return "".join(needed) + "\n\n" + code.strip("\n") + "\n\n\n"


def _split(source):
    """([(line, names it binds)] of the imports after the docstring, this package's left
    out; the code after them)."""
    nodes = ast.parse(source).body
    lines = source.splitlines(keepends=True)
    imports, start = [], nodes[0].end_lineno  # after the docstring
    for node in nodes[1:]:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            break
        start = node.end_lineno
        if not (getattr(node, "module", "") or "").startswith("rnn_solutions"):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
            imports.append(("".join(lines[node.lineno - 1:node.end_lineno]), names))
    return imports, "".join(lines[start:])


# significant digits kept in the students' data: the BLAS behind np.dot differs from machine
# to machine in the last bits, and the self-checks' tolerance (rtol 1e-6) is far looser
DIGITS = 12


def rounded(value):
    """A JSON tree with every float rounded to DIGITS significant digits."""
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}")
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def example_data(declaration, name):
    """The reference's arrays on the notebook's example of an exercise, in the layout's
    order, and the fingerprints of the known mistakes that get them wrong there: what the
    students' self-check compares with, and the order the reference takes the steps in.
    {"expected": [...], "mistakes": [...], "order": [...]}, as lists."""
    case = declaration.case_source.example(name)
    inputs, T_x = list(case.inputs.values()), declaration.steps(case)
    expected = declaration.expected(case)
    mistakes = []
    for hint, mistake in declaration.mistakes[name].items():
        with np.errstate(all="ignore"):
            out = mistake(*copy.deepcopy(inputs))
        theirs = compare.plain(declaration.layout.arrays(name, out, T_x))
        wrong = compare.wrong_outputs(theirs, expected)
        if wrong:
            mistakes.append({"hint": hint, "outputs": {i: theirs[i].tolist() for i in wrong}})
    order, _ = declaration.reference_steps(name, case)
    return {"expected": [e.tolist() for e in expected], "mistakes": mistakes, "order": order}
