"""How an output is compared with the reference's, and why a wrong one is wrong.

The judge and the students' self-check both compare with this file (it is shipped to
students as it is, beside `checker.py`). An exercise declares what it returns as nested
parts, each named (plain dicts, as spec.json holds them; engine/spec.py writes them as
Seq, Steps and Keys):

    "h_next"                                  -- an array
    None                                      -- a part that is not compared (parameters)
    {"kind": "tuple", "name", "parts"}        -- a tuple or list of exactly these parts
    {"kind": "steps", "name", "part"}         -- a list of one part per time step
    {"kind": "dict", "name", "keys", "aliases"} -- a dict holding at least these keys,
                                                 each an array (aliases: other courses')

`flatten` turns an output into labelled arrays ("cache[4] (ft)", "gradients['dWf']"),
or raises ShapeError saying what is laid out wrong; `output_problems` compares those
arrays, within an exercise's tolerance `tol` = (rtol, atol), and explains what is wrong.
Numpy only.
"""

import re
from collections.abc import Mapping, Sequence

import numpy as np

TOL = (1e-6, 1e-8)  # (rtol, atol) of an exercise that declares none
MAX_HINTS = 3  # hint lines per failed check: the likeliest causes, not every symptom


class ShapeError(Exception):
    """The output is not laid out as the exercise asks."""


def flatten(spec, value, T_x, path=None):
    """[(label, array)] of every compared array in value, in the spec's order."""
    if spec is None:
        return []
    if isinstance(spec, str):
        label = spec if path is None or path == spec else f"{path} ({spec})"
        return [(label, value)]
    name = spec["name"] if path is None else path
    if spec["kind"] == "dict":
        return [(f"{name}[{k!r}]", v) for k, v in zip(spec["keys"], _keys(spec, value, name),
                                                       strict=True)]
    if spec["kind"] == "steps":
        items = _items(value, T_x, f"{name}, one per time step,", steps_hint)
        parts = [spec["part"]] * T_x
    else:
        parts = spec["parts"]
        bare = parts and isinstance(parts[0], dict) and parts[0]["kind"] == "steps"
        if bare and T_x != len(parts) and _is_list(value) and len(value) == T_x:
            raise ShapeError(f"{name} should be the tuple ({_names(spec)}); hint: it is the "
                             f"bare {parts[0]['name']}, return ({_names(spec)})")
        items = _items(value, len(parts), f"{name} ({_names(spec)})")
    top = path is None and spec["name"] == "the return value"
    return [pair for i, (part, item) in enumerate(zip(parts, items, strict=True))
            for pair in flatten(part, item, T_x, _child(part, name, i, top))]


def build(spec, value_of):
    """The value a spec describes, each leaf (a name or None) given by value_of(leaf)."""
    if spec is None or isinstance(spec, str):
        return value_of(spec)
    if spec["kind"] == "dict":
        return {k: value_of(k) for k in spec["keys"]}
    return tuple(build(part, value_of) for part in spec["parts"])


def _child(part, name, i, top):
    """The path of the i-th item of `name`: its own name at the top, else name[i]."""
    if top:
        return part if isinstance(part, str) else part["name"]
    return f"{name}[{i}]"


def _names(spec):
    """'h_next, c_next, cache' for a Seq."""
    return ", ".join("parameters" if p is None else p if isinstance(p, str) else p["name"]
                     for p in spec["parts"])


def _is_list(value):
    """Whether value is a tuple or a list (not a string or an array)."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _items(value, length, what, hint=lambda got, length: ""):
    """value as a list of `length` items, or ShapeError (with hint(got, length) added)."""
    if not _is_list(value):
        raise ShapeError(f"{what} should be a tuple of {length}, got {type(value).__name__}")
    if len(value) != length:
        raise ShapeError(f"{what} should have {length} items, got {len(value)}"
                         f"{hint(len(value), length)}")
    return list(value)


def steps_hint(got, T_x):
    """Why a list of one item per time step has `got` items where T_x are due."""
    return (f"; hint: one item per time step, and the input has T_x = {T_x} steps: does the "
            f"loop run for t in range(T_x), with T_x read from x.shape[2], and add one item "
            f"per step?")


def _keys(spec, value, name):
    """The dict's arrays in the spec's key order, or ShapeError naming what is missing."""
    if not isinstance(value, Mapping):
        raise ShapeError(f"{name} should be a dict, got {type(value).__name__}")
    missing = [k for k in spec["keys"] if k not in value]
    if missing:
        hint = ""
        if any(k in value for k in spec["aliases"]):
            hint = "; hint: these are the original course's names, this notebook's are " + \
                ", ".join(spec["keys"])
        raise ShapeError(f"{name} is missing the keys {missing}; it has "
                         f"{sorted(map(str, value))}{hint}")
    return [value[k] for k in spec["keys"]]


def shape_problems(labelled, expected, seen=()):
    """Problems with the types and shapes of labelled arrays, given the expected arrays;
    seen -- the shapes the same arrays have on the notebook's example (for a hidden case)."""
    problems, off = [], {}
    for i, ((label, value), want) in enumerate(zip(labelled, expected, strict=True)):
        if not isinstance(value, np.ndarray):
            problems.append(f"{label} should be a numpy array, got {type(value).__name__}")
        elif value.shape != want.shape:
            off[i] = value.shape
            text = f"{label} has shape {value.shape}, expected {want.shape}"
            if i < len(seen) and value.shape == seen[i]:
                text += ("; hint: that is its shape on the notebook's example: does the "
                         "function use a name of the notebook (the example's arrays) "
                         "instead of its arguments?")
            problems.append(text + _shape_hint(value.shape, want.shape))
    swapped = [(i, j) for i in off for j in off if i < j and off[i] == expected[j].shape
               and off[j] == expected[i].shape]
    problems += [f"hint: {labelled[i][0]} and {labelled[j][0]} have each other's shapes: "
                 "are the two swapped?" for i, j in swapped[:1]]
    return problems


def _shape_hint(got, want):
    """'; hint: ...' on why an array has shape `got` where `want` is due, or ''."""
    if got == want[:1]:
        return "; hint: keep the second axis, e.g. np.sum(..., axis=1, keepdims=True)"
    if got == want[::-1]:
        return ("; hint: that is the expected shape transposed: a matrix product in the "
                "wrong order, or a .T too many or missing?")
    if len(want) == 2 and want[1] == 1 and len(got) in (1, 2) and got[-1] != want[0] and \
            got[:len(got) - 1] in ((), (1,)):
        return ("; hint: summed over the wrong axis? A bias is added to every example of the "
                "batch: its gradient sums over axis 1, np.sum(..., axis=1, keepdims=True)")
    off = [k for k in range(len(want)) if len(got) == len(want) and got[k] != want[k]]
    if len(off) == 1 and got[off[0]] in want:
        k, j = off[0], want.index(got[off[0]])
        return (f"; hint: axis {k} has {got[k]} entries, as many as axis {j} should have: is "
                "a size (T_x, say) read from the wrong axis of a shape?")
    return ""


def output_problems(labelled, expected, part, show_expected, hints=lambda actual: (),
                    ranges=None, steps=None, tol=TOL, seen=()):
    """What is wrong with an output, for one part ("structure" or "values").

    labelled -- a function giving the output's [(label, array)], or raising ShapeError;
    hints(actual) -- the hints for wrong values (the known mistakes they match);
    ranges -- {array name: "softmax", "tanh" or "sigmoid"}: what its formula keeps it to,
    so that a wrong array outside that range gets a hint saying so;
    steps -- for a sequence function, (the steps it called its cell function for, in
    order; the reference's order; what the cell function returns at each step), or a
    function giving them (called only for a wrong output);
    tol -- the exercise's (rtol, atol); seen -- shape_problems'."""
    try:
        pairs = labelled()
    except ShapeError as problem:
        return [str(problem)]
    found = shape_problems(pairs, expected, seen)
    if part == "structure" or found:
        return found
    labels, actual = zip(*pairs, strict=True)
    actual = plain(actual)
    found = value_lines(labels, actual, expected, show_expected, tol)
    if not found:
        return []
    return found + [f"hint: {hint}" for hint in value_hints(labels, actual, expected,
                                                              hints(actual), ranges, steps,
                                                              tol)]


def value_hints(labels, actual, expected, known=(), ranges=None, steps=None, tol=TOL):
    """Why the wrong arrays are wrong: the hints of the known mistakes they match (`known`)
    if any, which say it best; else what the arrays show: the order the steps were taken
    in and what a step contributed (`steps`), a range their formula keeps them to
    (`ranges`), what they are instead of the right value (as in output_problems)."""
    order, right_order, step_outputs = (steps() if callable(steps) else steps) or ((), (), ())
    turned = order_hint(order, right_order)
    if known:
        return list(dict.fromkeys([*turned, *known]))[:MAX_HINTS]
    wrong = wrong_outputs(actual, expected, tol)
    timing = [*turned, *step_hints(labels, actual, wrong, step_outputs, tol)]
    outside = [range_hint(labels[i], actual[i], (ranges or {}).get(_leaf(labels[i])))
               for i in wrong]
    near = neighbour_hints(labels, actual, expected, wrong, tol)
    return list(dict.fromkeys([*timing, *filter(None, outside), *near]))[:MAX_HINTS]


def order_hint(order, right_order):
    """[the hint] when a sequence function took its steps in the reverse of the right
    order (the steps it called its cell function for, and the reference's), else []."""
    if len(order) > 1 and list(order) == list(right_order)[::-1]:
        return [f"the steps were taken in the order {_listed(order)}; they must go "
                f"{_listed(right_order)}: the loop runs the wrong way"]
    return []


def step_hints(labels, actual, wrong, step_outputs, tol=TOL):
    """Hints for a gradient that is one step's alone, or misses or doubles one step's, or
    is what another step's call returned; step_outputs -- what the cell function was given
    and returned at each step of the reference's run, by step ({name: array})."""
    found = [hint for i in wrong if (hint := _other_step(labels[i], actual[i], step_outputs,
                                                         tol))]
    for i in wrong:
        key = re.fullmatch(r".*\['(\w+)'\]", labels[i])
        per_step = [np.asarray(out[key.group(1)]) for out in step_outputs
                    if key and isinstance(out, Mapping) and key.group(1) in out]
        if len(per_step) < 2 or len(per_step) != len(step_outputs):
            continue
        total = sum(per_step)
        for t, value in enumerate(per_step):
            for candidate, what in ((value, f"the gradient of step {t} alone: add up every "
                                              f"step's ({key.group(1)} += ...)"),
                                    (total - value, f"missing step {t}'s gradient"),
                                    (total + value, f"counting step {t}'s gradient twice")):
                if _close(actual[i], candidate, tol) and not _close(candidate, total, tol):
                    found.append(f"{labels[i]} is {what}")
                    break
            else:
                continue
            break
    return found


def _other_step(label, value, step_outputs, tol):
    """'... is the dh_prev the cell returned at step 3' when value is what one step's call
    returned under another name than the label's own (that one is step_hints' above)."""
    own = re.fullmatch(r".*\['(\w+)'\]", label)  # a gradient's key
    for t, out in enumerate(step_outputs if own else ()):
        for name, array in (out.items() if isinstance(out, Mapping) else ()):
            array = np.asarray(array)
            if name != own.group(1) and np.any(array) and _close(value, array, tol):
                return (f"{label} is the {name} of step {t}'s call of the cell function: the "
                        "step taken at the wrong time, or the wrong step's value kept?")
    return None


def _listed(steps):
    """'6, 5, 4, ..., 0' for a list of steps."""
    steps = [str(t) for t in steps]
    return ", ".join(steps if len(steps) <= 4 else [*steps[:3], "...", steps[-1]])


def range_hint(label, value, kind):
    """Why `value` cannot be what its formula gives, or None: a softmax's columns are
    probabilities summing to 1, a tanh stays in [-1, 1], a sigmoid in [0, 1]."""
    if kind == "softmax":
        broken = ("it has negative entries" if (value < 0).any() else
                  "it has entries above 1" if (value > 1).any() else
                  "its columns do not sum to 1" if not np.allclose(value.sum(axis=0), 1)
                  else None)
        return broken and (f"{label} is not a probability distribution in each column "
                           f"({broken}): it must be a softmax over axis 0")
    low = {"tanh": -1, "sigmoid": 0}.get(kind)
    if low is not None and ((value < low).any() or (value > 1).any()):
        return (f"{label} has entries outside [{low}, 1], where the {kind} that makes it "
                f"keeps it (from {value.min():.3g} to {value.max():.3g})")
    return None


# ---- what a wrong array is, if not the right value ----------------------------------------

def neighbour_hints(labels, actual, expected, wrong, tol=TOL):
    """Hints from what the wrong arrays are instead: the right value scaled or transposed,
    another array's right value, or the right values of other time steps; one hint per
    kind of finding (the first array of a list of steps stands for the others)."""
    found = {}
    for i in wrong[:12]:
        a, e = actual[i], expected[i]
        hint = _zeros(labels[i], a, e) or _scaled(labels[i], a, e, tol) or \
            _transposed(labels[i], a, e, tol) or _elsewhere(labels, i, a, expected, tol) or \
            _time_shifted(labels[i], a, e, tol)
        if hint:
            key, text = hint if isinstance(hint, tuple) else (hint, hint)
            found.setdefault(key, text)
    return list(found.values())


def _close(a, b, tol=TOL):
    """Whether two arrays have one shape and are equal within the tolerance."""
    return a.shape == b.shape and close(a, b, tol)


def close(a, b, tol=TOL):
    """np.allclose(a, b, rtol, atol) for tol = (rtol, atol), at a third of its cost for
    two float64 arrays of one shape (the judge compares thousands a submission): numpy's
    own test, |a - b| <= atol + rtol |b| where b is finite, else a == b."""
    rtol, atol = tol
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and a.dtype == b.dtype == np.float64):
        return bool(np.allclose(a, b, rtol=rtol, atol=atol))
    with np.errstate(invalid="ignore", over="ignore"):
        within = np.abs(a - b) <= atol + rtol * np.abs(b)
    return bool(((within & np.isfinite(b)) | (a == b)).all())


def equal(a, b):
    """np.array_equal(a, b) for two arrays of one shape, without its overhead (the judge
    compares thousands a submission), and without numpy's function, which a notebook
    may have patched (a self-check fooled into failing keeps the hidden checks from
    running)."""
    return bool((np.asarray(a) == b).all())


def _zeros(label, a, e):
    """'... is all zeros' when a is, and the right value is not."""
    if not np.any(a) and np.any(e):
        return f"{label} is all zeros: is it computed, or only initialised?"
    return None


def _scaled(label, a, e, tol=TOL):
    """'... is the right value divided by 10' when a is a constant multiple of e."""
    if e.size < 2 or not np.any(e):
        return None
    c = float(np.sum(a * e) / np.sum(e * e))
    if not _close(a, c * e, tol) or abs(c) < 1e-12:
        return None
    if np.isclose(c, -1):
        return f"{label} is the right value with the opposite sign: a minus too many or missing?"
    for k, word in ((1 / c, "divided by"), (c, "multiplied by")):
        if k >= 2 and np.isclose(k, round(k), rtol=1e-9, atol=1e-6):
            return (f"{label} is the right value {word} {round(k)}: a mean where a sum is "
                    "needed, or a factor too many?")
    return f"{label} is {c:.3g} times the right value: a constant factor too many or missing?"


def _transposed(label, a, e, tol=TOL):
    """'... is the right value transposed' for a square array, when it is."""
    if e.ndim == 2 and e.shape[0] == e.shape[1] and not _close(e, e.T, tol) and _close(a, e.T, tol):
        return (f"{label} is the right value transposed: a matrix product in the wrong order, "
                "or a .T too many or missing?")
    return None


def _elsewhere(labels, i, a, expected, tol=TOL):
    """'x holds what y should hold' when a is another array's right value (not a constant
    one, such as zeros: those say nothing); when x and y are the same array of two items
    of a list (two steps), (the list, that hint)."""
    for j, other in enumerate(expected):
        if j != i and np.ptp(other) > 0 and _close(a, other, tol) and \
                not _close(other, expected[i], tol):
            text = f"{labels[i]} holds what {labels[j]} should hold"
            ours, theirs = (re.findall(r"\[(\d+)\]", label) for label in (labels[i], labels[j]))
            if len(ours) != len(theirs) or _leaf(labels[i]) != _leaf(labels[j]):
                return text
            moved = [k for k in range(len(ours)) if ours[k] != theirs[k]]
            if len(moved) != 1:
                return text
            start = [m.start() for m in re.finditer(r"\[\d+\]", labels[i])][moved[0]]
            where = labels[i][:start]
            return where, (f"{text}: item {ours[moved[0]]} of {where} got item "
                           f"{theirs[moved[0]]}'s {_leaf(labels[i])} (the wrong step, or the "
                           "steps in the wrong order?)")
    return None


def _time_shifted(label, a, e, tol=TOL):
    """'the right values of other steps' when each step's slice of a time-indexed array
    (time on the last axis) is the right value of another step: shifted or reversed."""
    if e.ndim != 3 or e.shape[2] < 2:
        return None
    T_x = e.shape[2]
    found, unmatched = {}, 0  # {t: the step whose value slice t holds}; one may be none
    for t in range(T_x):
        if _close(a[..., t], e[..., t], tol):
            continue
        sources = [s for s in range(T_x) if _close(a[..., t], e[..., s], tol)]
        if sources:
            found[t] = sources[0]
        else:
            unmatched += 1
    if len(found) < 2 or unmatched > 1:
        return None
    shifts = {s - t for t, s in found.items()}
    mirrored = all(s == T_x - 1 - t for t, s in found.items())
    if mirrored and len(shifts) > 1:
        return (f"{label}[..., t] holds the right value of step T_x - 1 - t: stored at the "
                "mirrored index, or the steps taken in the wrong direction?")
    if len(shifts) == 1 and not mirrored:
        move = shifts.pop()
        return (f"{label}[..., t] holds the right value of step t {'+-'[move < 0]} "
                f"{abs(move)}: stored before the step was taken, or indexed with the wrong t?")
    return None  # no story, or more than one, fits


# ---- what an exception says --------------------------------------------------------------

def exception_hint(error, arguments, example=None):
    """Why the student's code raised `error` ("ValueError: ...") where its message says:
    shapes that want a matrix product or a transpose, arrays joined along the wrong axis,
    an index past the end of an axis, a name that is in the arguments. None otherwise.

    arguments -- {argument name: value} of the call that raised; example -- the notebook's
    example's, when the call was a hidden case's: a shape of the example's arrays that no
    argument has says the function reads a name of the notebook."""
    ours, theirs = _shapes(arguments), _shapes(example or {})
    for m in re.finditer(r"\((\d+(?:, ?\d+)*),?\)", error):
        shape = tuple(int(k) for k in m.group(1).replace(" ", "").split(","))
        if shape in theirs and shape not in ours:
            return (f"shape {shape} is that of the notebook's example's {theirs[shape]}, and "
                    "of no argument here: does the function use a name of the notebook "
                    "instead of its arguments?")
    if m := re.search(r"broadcast together with shapes \((\d+),(\d+)\) \((\d+),(\d+)\)", error):
        a, b, c, d = map(int, m.groups())
        if b == c:
            return (f"shapes ({a}, {b}) and ({c}, {d}) do not combine entry by entry, but "
                    "their matrix product is defined: is a * where np.dot (or @) is meant?")
    if m := re.search(r"shapes \((\d+),(\d+)\) and \((\d+),(\d+)\) not aligned", error):
        a, b, c, d = map(int, m.groups())
        fixes = [(a == c, "the first operand transposed (.T)"),
                 (b == d, "the second operand transposed (.T)"),
                 (d == a, "the operands in the other order")]
        fix = next((text for ok, text in fixes if ok), None)
        if fix:
            return f"np.dot of ({a}, {b}) and ({c}, {d}) is not defined; it is with {fix}"
    if m := re.search(r"along dimension (\d+), the array at index \d+ has size (\d+) and the "
                      r"array at index \d+ has size (\d+)", error):
        k, p, q = m.groups()
        return (f"the arrays differ along axis {k} ({p} and {q}), so that is the axis to "
                f"join them along: np.concatenate(..., axis={k})")
    if m := re.search(r"index (\d+) is out of bounds for axis (\d+) with size (\d+)", error):
        n, axis, size = m.groups()
        return (f"an index reached {n} on axis {axis}, which has {size} entries: is a loop "
                "bound (T_x, say) read from the wrong axis of a shape?")
    if m := re.match(r"NameError: name '(\w+)' is not defined", error):
        name, path = m.group(1), _key_path(arguments, m.group(1))
        if path:
            return (f"{name} is not defined inside the function: take it from the arguments, "
                    f"{name} = {path}[{name!r}]")
        return (f"{name} is not defined inside the function: a name of your notebook? It is "
                "not there when the function is graded: define it inside")
    return None


def _shapes(value, path=""):
    """{shape: the path of the first array of that shape} in nested arguments."""
    if isinstance(value, np.ndarray):
        return {value.shape: path}
    items = value.items() if isinstance(value, Mapping) else \
        enumerate(value) if isinstance(value, (list, tuple)) else ()
    found = {}
    for k, v in items:
        sub = k if not path else f"{path}[{k!r}]" if isinstance(k, str) else f"{path}[{k}]"
        for shape, where in _shapes(v, sub).items():
            found.setdefault(shape, where)
    return found


def _key_path(value, key, path="", depth=4):
    """The path ('caches[0][0][3]') of a dict holding `key` inside value, or None."""
    if isinstance(value, Mapping):
        if key in value and path:
            return path
        items = [(f"{k}" if not path else f"{path}[{k!r}]", v) for k, v in value.items()]
    elif isinstance(value, (list, tuple)) and depth:
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for sub, v in items:
        found = _key_path(v, key, sub, depth - 1)
        if found:
            return found
    return None


def named(spec, out):
    """{array name: array} of one step's output laid out as `spec` says (a cell's)."""
    return {_leaf(label): value for label, value in flatten(spec, out, 1)}


def _leaf(label):
    """The array name in a label: 'h_next' -> h_next, 'cache[4] (ft)' -> ft."""
    return label[label.rindex("(") + 1:-1] if label.endswith(")") else label


def wrong_outputs(actual, expected, tol=TOL):
    """Indices of the arrays of `actual` that differ from `expected`."""
    return [i for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            if not close(a, e, tol)]


def value_lines(labels, actual, expected, show_expected, tol=TOL):
    """One line per wrong array: how many entries, the first wrong index and value."""
    problems = []
    for i in wrong_outputs(actual, expected, tol):
        close = np.isclose(actual[i], expected[i], rtol=tol[0], atol=tol[1])
        index = tuple(int(k) for k in np.argwhere(~close)[0])
        text = (f"{labels[i]} is wrong at {close.size - close.sum()} of {close.size}"
                f" entries; first at index {index}: got {actual[i][index]:.8g}")
        if show_expected:
            text += f", expected {expected[i][index]:.8g}"
        problems.append(text)
    return problems


def plain(values):
    """Plain float64 ndarrays, whatever array-likes came back."""
    return [np.array(v, dtype=np.float64) for v in values]


def changed_paths(before, after, path=""):
    """Paths of the arrays, dicts and lists nested in the inputs that differ."""
    if isinstance(before, np.ndarray):
        if not np.array_equal(before, after):
            yield path
    elif isinstance(before, Mapping):
        if set(before) != set(after):
            yield path
            return
        for key in before:
            yield from changed_paths(before[key], after[key], f"{path}[{key!r}]" if path else key)
    elif isinstance(before, (list, tuple)):
        if len(before) != len(after):
            yield path
            return
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from changed_paths(b, a, f"{path}[{i}]")


def modified_inputs(pristine, inputs, names):
    """Problems for every argument the function changed in place."""
    problems = []
    for name, before, after in zip(names, pristine, inputs, strict=True):
        for path in changed_paths(before, after, name):
            problems.append(f"hint: the argument {path} was modified in place: work on a "
                            f"copy, and leave the inputs as they were")
    return problems


def fingerprint_matches(actual, wrong, changed, tol=TOL):
    """Whether a known mistake explains the wrong outputs: it changes exactly the outputs
    that are wrong (`wrong`, their indices), and changes them to what the student got.

    changed -- {index: the mistake's output} for the outputs the mistake gets wrong.
    """
    return bool(wrong) and set(wrong) == set(changed) and all(
        actual[i].shape == theirs.shape and close(actual[i], theirs, tol)
        for i, theirs in changed.items())
