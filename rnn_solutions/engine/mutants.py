"""Mistakes the engine finds itself: the reference with one thing changed, the way students
change it, each with a hint in the reference's own names.

For every exercise, `mutants(function, names)` reads the reference function's code and
makes one variant per change of these kinds:

    1 - X**2            -> 1 - X               tanh's derivative without its square
    1 - X**2            -> X * (1 - X)         a sigmoid's derivative for a tanh's
    A * X * (1 - X)     -> A * X               a sigmoid's derivative taken as X
    A * X * (1 - X)     -> A * (1 - X**2)      a tanh's derivative for a sigmoid's
    [a, b] joined       -> [b, a]              the halves of a concatenation swapped
    v[k:], v[:k]        -> v[:k], v[k:]        the rows of a stacked array the other way
    S += ...            -> S = ...             a sum over the steps not accumulated
    s_prev <-> s_next                          the other step's state (one use at a time)
    d <-> d_next                               a step's input gradient for its sum (dc)
    A * G, G a gate     -> A                   a gate left out of a product
    G and 1 - G         -> 1 - G and G         a gate's two roles swapped in one statement

where `names` are the arrays the spec declares a range for (its gates and activations).
The judge and the students' self-check compare a wrong output with every variant's, as
with an assignment's known mistakes, and give the hint of the one that matches: no list
to write per assignment, and a new assignment (the test-only GRU) gets them too.
"""

import ast
import copy
import inspect
import textwrap
import types


def mutants(function, gates, namespace):
    """{hint: variant of `function`} for every change above that applies once.

    gates -- names of the gate and activation arrays (the spec's ranges);
    namespace -- the globals the variants run with (the reference module's, its cell
    functions fixed: a check may stand in for them in the module meanwhile)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    found = {}
    for site, (hint, change) in enumerate(_changes(tree, set(gates))):
        variant = copy.deepcopy(tree)
        target = list(ast.walk(variant))[site_of(tree, change.node)]
        change.apply(target)
        ast.fix_missing_locations(variant)
        code = compile(variant, f"<variant {site} of {function.__name__}>", "exec")
        scope = dict(namespace)
        exec(code, scope)
        found.setdefault(hint, types.FunctionType(
            scope[function.__name__].__code__, namespace, function.__name__))
    return found


def site_of(tree, node):
    """The index of node in ast.walk(tree): where to find its copy in a copied tree."""
    return next(i for i, n in enumerate(ast.walk(tree)) if n is node)


class Change:
    """A change to one node: `apply(node)` makes it in place (on a copy of the tree)."""

    def __init__(self, node, apply):
        self.node, self.apply = node, apply


def _changes(tree, gates):
    """(hint, Change) for every change that applies in the function's tree."""
    where = _targets(tree)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    for node in ast.walk(tree):
        into = f" (in {where[node]})" if node in where else ""
        yield from _derivatives(node, into)
        yield from _joins(node, into)
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            name = ast.unparse(node.target)
            yield (f"{name} = ... where {name} += ... is meant: it is not accumulated over "
                   "the steps, only the last one counts", Change(node, _to_assign))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            for other in _related(node.id, names):
                yield (f"{other} where {node.id} belongs{into}",
                       Change(node, lambda n, other=other: setattr(n, "id", other)))
        if isinstance(node, ast.Assign):
            for gate in sorted(gates & _roles(node.value)):
                yield (f"{gate} and 1 - {gate} swapped in {where[node.value]}: each weighs "
                       "the other term", Change(node, lambda n, g=gate: setattr(
                           n, "value", _Swap(g).visit(n.value))))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for side, keep in (("left", "right"), ("right", "left")):
                gate = getattr(node, side)
                if isinstance(gate, ast.Name) and gate.id in gates:
                    yield (f"{gate.id} is missing from a product{into}: a gate left out?",
                           Change(node, lambda n, keep=keep: _replace(n, getattr(n, keep))))


def _related(name, names):
    """The names a student may write for `name`: the other step's (h_prev for h_next), and
    a gradient and the one it sums from (dc and dc_next), those the function uses."""
    for a, b in (("_prev", "_next"), ("_next", "_prev")):
        if name.endswith(a):
            yield name[:-len(a)] + b
    if name.endswith("_next") and name[:-5] in names:
        yield name[:-5]
    if f"{name}_next" in names:
        yield f"{name}_next"


def _derivatives(node, into):
    """The wrong derivatives of a tanh (1 - X**2) and of a sigmoid (A * X * (1 - X))."""
    if _is_one_minus(node, squared=True):
        x = node.right.left.id
        yield (f"1 - {x} where tanh's derivative is 1 - {x}**2: the square is missing{into}",
               Change(node, lambda n: setattr(n, "right", n.right.left)))
        yield (f"{x} * (1 - {x}), a sigmoid's derivative, where {x} is a tanh's output, whose "
               f"derivative is 1 - {x}**2{into}",
               Change(node, lambda n, x=x: _replace(n, _parse(f"{x} * (1 - {x})"))))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and \
            _is_one_minus(node.right, squared=False) and isinstance(node.left, ast.BinOp) and \
            isinstance(node.left.op, ast.Mult) and isinstance(node.left.right, ast.Name) and \
            node.left.right.id == node.right.right.id:
        x = node.right.right.id
        yield (f"{x} alone where the sigmoid's derivative is {x} * (1 - {x}){into}",
               Change(node, lambda n: _replace(n, n.left)))
        yield (f"1 - {x}**2, tanh's derivative, where {x} is a sigmoid's output, whose "
               f"derivative is {x} * (1 - {x}){into}",
               Change(node, lambda n, x=x: _replace(n, ast.BinOp(
                   n.left.left, ast.Mult(), _parse(f"(1 - {x} ** 2)")))))


def _joins(node, into):
    """The halves of np.concatenate([a, b]) swapped; v[k:] and v[:k] swapped."""
    if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("concatenate") and \
            node.args and isinstance(node.args[0], ast.List) and len(node.args[0].elts) == 2:
        a, b = (ast.unparse(e) for e in node.args[0].elts)
        yield (f"np.concatenate([{b}, {a}]) where [{a}, {b}] is meant: {a} comes first"
               f"{into}", Change(node, lambda n: n.args[0].elts.reverse()))
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) and \
            node.slice.step is None and (node.slice.lower is None) != (node.slice.upper is None):
        s, v = node.slice, ast.unparse(node.value)
        k = ast.unparse(s.lower or s.upper)
        right, wrong = (f"{v}[{k}:]", f"{v}[:{k}]") if s.lower else (f"{v}[:{k}]", f"{v}[{k}:]")
        yield (f"{wrong} where {right} is meant: the rows of {v} taken the other way round"
               f"{into}", Change(node, _swap_slice))


def _roles(value):
    """The names G that an expression uses both as 1 - G and as G elsewhere."""
    complements = {n.right.id for n in ast.walk(value) if _is_one_minus(n, squared=False)}
    inside = {id(n.right) for n in ast.walk(value) if _is_one_minus(n, squared=False)}
    alone = {n.id for n in ast.walk(value) if isinstance(n, ast.Name) and id(n) not in inside}
    return complements & alone


class _Swap(ast.NodeTransformer):
    """G made 1 - G, and 1 - G made G, at once."""

    def __init__(self, gate):
        self.gate = gate

    def visit_BinOp(self, node):  # noqa: N802 -- ast.NodeTransformer's name
        if _is_one_minus(node, squared=False) and node.right.id == self.gate:
            return ast.Name(self.gate, ast.Load())
        return self.generic_visit(node)

    def visit_Name(self, node):  # noqa: N802 -- ast.NodeTransformer's name
        if node.id == self.gate:
            return _parse(f"(1 - {self.gate})")
        return node


def _is_one_minus(node, squared):
    """Whether node is 1 - X**2 (squared) or 1 - X, X a name."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and
            isinstance(node.left, ast.Constant) and node.left.value == 1):
        return False
    x = node.right
    if squared:
        return isinstance(x, ast.BinOp) and isinstance(x.op, ast.Pow) and \
            isinstance(x.left, ast.Name) and isinstance(x.right, ast.Constant) and \
            x.right.value == 2
    return isinstance(x, ast.Name)


def _targets(tree):
    """{node: the name its statement assigns} for every node under an assignment."""
    found = {}
    for statement in ast.walk(tree):
        if isinstance(statement, (ast.Assign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else \
                [statement.target]
            name = ", ".join(ast.unparse(t) for t in targets)
            for node in ast.walk(statement.value):
                found.setdefault(node, name)
    return found


def _parse(expression):
    """The AST of an expression."""
    return ast.parse(expression, mode="eval").body


def _replace(node, new):
    """Make node (in place) a copy of new: the tree holding node then holds new."""
    new = copy.deepcopy(new)
    node.__class__ = new.__class__
    node.__dict__.clear()
    node.__dict__.update(new.__dict__)


def _to_assign(node):
    """S += E made S = E (an AugAssign becomes an Assign in place)."""
    _replace(node, ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno))


def _swap_slice(node):
    """v[k:] made v[:k], and v[:k] made v[k:]."""
    s = node.slice
    s.lower, s.upper = s.upper, s.lower
