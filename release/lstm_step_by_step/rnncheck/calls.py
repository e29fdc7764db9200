"""How a check calls a student's function: bound arguments, a stand-in for the cell
function it calls, no warnings on stderr, and the error a failed check raises.

Shared by the students' self-check (`checker.py`) and the grader's client in the kernel
(`kernel_client.py`, which the grader installs with this file's code in it).
"""

import contextlib
import inspect
import sys
import warnings

import numpy as np


class CheckError(AssertionError):
    """A check that found something wrong. IPython shows its report alone (what is wrong,
    where, the hint), not a traceback through the helper module that raised it."""

    def _render_traceback_(self):
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


def bind(names, args, kwargs):
    """The arguments of a call, by position or by keyword, in the order of `names`."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = inspect.Signature([inspect.Parameter(n, kind) for n in names])
    bound = signature.bind(*args, **kwargs)  # a TypeError like Python's for a bad call
    return [bound.arguments[n] for n in names]


def parameter_names(own, names):
    """The parameter names a call of the cell function may use as keywords: those of the
    student's own cell function `own` when it has as many as the documented `names`."""
    try:
        theirs = list(inspect.signature(own).parameters)
    except (TypeError, ValueError):
        theirs = []
    return theirs if len(theirs) == len(names) else list(names)


@contextlib.contextmanager
def replaced(namespace, name, stand_in):
    """`name` bound to `stand_in` in the function's globals, restored afterwards; bound
    even when the notebook has no such function (not written yet, or its cell failed)."""
    if not name or not isinstance(namespace, dict):
        yield
        return
    missing = object()
    own = namespace.get(name, missing)
    namespace[name] = stand_in
    try:
        yield
    finally:
        if own is missing:
            namespace.pop(name, None)
        else:
            namespace[name] = own


@contextlib.contextmanager
def quiet():
    """No warnings, and stderr to stdout (nbgrader scores a cell writing to stderr 0)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            contextlib.redirect_stderr(sys.stdout):
        warnings.simplefilter("ignore")
        yield
