"""Params a cell states as literals: ``lr = 0.1`` at the top level of a ``%%track`` cell; and
the names a cell surely assigned, for ``--metrics``.

The cell is read, never run. A name counts when its last binding at the top level assigns
a literal and nothing else in the cell may change it: a later non-literal assignment, a
loop or ``with``/``except`` target, an import, ``del``, ``+=``, a walrus, a ``global`` in a
function, an item or attribute assignment (``cfg["a"] = 2``) or a mutating method
(``layers.append(8)``) all drop it. Logging a wrong value as a param is worse than logging
none; a variable named with ``--params`` is always logged.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from nbtrack.errors import InvalidValueError
from nbtrack.tracking.validation import check_name, param_value

# Top-level await is how IPython runs a cell, so such a cell must still be read.
_COMPILE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT

# The list and dict methods that change the object: the literal is then not its value.
_MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "clear",
        "sort",
        "reverse",
        "update",
        "setdefault",
        "popitem",
    }
)


class _NotLiteral:
    def __repr__(self) -> str:
        return "<not a literal>"


_NOT_LITERAL = _NotLiteral()


def literal_params(code: str) -> dict[str, object]:
    """The literals assigned at the top level of a cell, as params, in order of appearance.

    ``code`` is the cell after IPython's ``transform_cell`` (``!cmd`` and ``%magic`` lines
    are Python calls by then). Tuples become lists; values a param cannot hold (bytes,
    sets, complex numbers, non-str dict keys) and names starting with ``_`` are left out.
    A cell that does not parse gives ``{}``: running it reports the error.

    Examples
    --------
    >>> literal_params("lr = 0.1\\nlayers = (64, 32)\\nfor i in range(3):\\n    step = i\\n")
    {'lr': 0.1, 'layers': [64, 32]}
    """
    try:
        tree = compile(code, "<cell>", "exec", flags=_COMPILE_FLAGS, dont_inherit=True)
        reader = _Reader()
        reader.block(tree.body)
    except (SyntaxError, ValueError, RecursionError):
        # ValueError: NUL bytes or lone surrogates in the source. RecursionError: an
        # expression nested deeper than the parser or the walk below can follow.
        return {}
    return reader.params()


def assigned_names(code: str) -> set[str]:
    """The names the cell's top-level statements assign (``acc = ...``, ``acc, f1 = ...``,
    ``acc += ...``, ``acc: float = ...``): a cell that ran to its end ran every one of them.

    Names bound only in a loop, a branch, a ``with`` or ``try`` block or a function are left
    out, as that code may not have run. A cell that does not parse gives an empty set.

    Examples
    --------
    >>> sorted(assigned_names("acc, f1 = 0.9, 0.8\nif x:\n    auc = 0.7\nn += 1\n"))
    ['acc', 'f1', 'n']
    """
    try:
        tree = compile(code, "<cell>", "exec", flags=_COMPILE_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign) or (
            isinstance(node, ast.AnnAssign) and node.value is not None
        ):
            targets = [node.target]
        for target in targets:
            names |= _target_names(target)
    return names


def _target_names(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Starred):
        return _target_names(node.value)
    if isinstance(node, ast.Tuple | ast.List):
        return {name for element in node.elts for name in _target_names(element)}
    return set()  # `cfg["a"] = 1`, `model.score = 2`: no name is bound


class _Reader:
    """Walks the top-level statements in order, tracking what each name last holds."""

    def __init__(self) -> None:
        self.last: dict[str, object] = {}  # name -> literal or _NOT_LITERAL, first seen first
        self.poisoned: set[str] = set()

    def block(self, body: Iterable[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            self.effects(node.value)
            for target in node.targets:
                self.bind(target, node.value)
        elif isinstance(node, ast.AnnAssign):
            self.effects(node.annotation)
            if node.value is not None:  # `lr: float` alone declares, binds nothing
                self.effects(node.value)
                self.bind(node.target, node.value)
        elif isinstance(node, ast.If):
            self.effects(node.test)
            self.block(node.body)
            self.block(node.orelse)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                self.effects(item)
            self.block(node.body)
        elif isinstance(node, ast.Try | ast.TryStar):
            self.block(node.body)
            for handler in node.handlers:
                self.handler(handler)
            self.block(node.orelse)
            self.block(node.finalbody)
        elif isinstance(node, ast.Match):
            self.effects(node.subject)
            for case in node.cases:
                self.effects(case.pattern)
                if case.guard is not None:
                    self.effects(case.guard)
                self.block(case.body)
        else:
            # Loops, definitions, imports, expressions, del, +=: nothing to capture, but
            # whatever they bind or change is no longer the literal it was.
            self.effects(node)

    def handler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.effects(node.type)
        if node.name is not None:
            self.last[node.name] = _NOT_LITERAL  # Python deletes it when the handler ends
        self.block(node.body)

    def bind(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.last[target.id] = _literal(value)
        elif (pairs := _pairs(target, value)) is not None:
            for name, item in pairs:
                self.bind(name, item)
        else:
            self.effects(target)

    def effects(self, node: ast.AST) -> None:
        found = _Effects()
        found.visit(node)
        if found.star_import:
            for name in self.last:
                self.last[name] = _NOT_LITERAL
        for name in found.changed:
            self.last[name] = _NOT_LITERAL
        self.poisoned |= found.poisoned

    def params(self) -> dict[str, object]:
        params: dict[str, object] = {}
        for name, value in self.last.items():
            if value is _NOT_LITERAL or name in self.poisoned or name.startswith("_"):
                continue
            try:
                check_name(name, "param key")
                param_value(name, value)
            except InvalidValueError:
                continue  # NUL, lone surrogate, over 64 KiB: not ours to fail the cell over
            params[name] = value
        return params


def _pairs(target: ast.expr, value: ast.expr) -> list[tuple[ast.expr, ast.expr]] | None:
    """``a, b = 1, 2``: both sides spelled out, element for element; else None."""
    if not isinstance(target, ast.Tuple | ast.List) or not isinstance(value, ast.Tuple | ast.List):
        return None
    if len(target.elts) != len(value.elts):
        return None
    if any(isinstance(e, ast.Starred) for e in [*target.elts, *value.elts]):
        return None
    return list(zip(target.elts, value.elts, strict=True))


def _literal(node: ast.expr) -> object:
    """The value of a literal a param can hold, else _NOT_LITERAL."""
    if isinstance(node, ast.Constant):
        value = node.value
        # bytes, complex and Ellipsis are constants too, but not param values.
        if value is None or isinstance(value, bool | int | float | str):
            return value
        return _NOT_LITERAL
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        # A signed number is a literal; `-x`, `-True` and `--1` are not.
        operand = node.operand
        number = operand.value if isinstance(operand, ast.Constant) else None
        if isinstance(number, int | float) and not isinstance(number, bool):
            return -number if isinstance(node.op, ast.USub) else +number
        return _NOT_LITERAL
    if isinstance(node, ast.List | ast.Tuple):
        items = [_literal(element) for element in node.elts]
        return _NOT_LITERAL if any(item is _NOT_LITERAL for item in items) else items
    if isinstance(node, ast.Dict):
        result: dict[str, object] = {}
        for key, element in zip(node.keys, node.values, strict=True):
            # key None is a ** unpacking.
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return _NOT_LITERAL
            item = _literal(element)
            if item is _NOT_LITERAL:
                return _NOT_LITERAL
            result[key.value] = item
        return result
    return _NOT_LITERAL


class _Effects(ast.NodeVisitor):
    """What running some code may do to module-level names.

    ``changed``: names it rebinds or mutates at the top level, in order. ``poisoned``: names
    a function or class body may change whenever it runs, so never a literal.
    """

    def __init__(self) -> None:
        self.changed: list[str] = []
        self.poisoned: set[str] = set()
        self.star_import = False
        self._scope_depth = 0  # > 0 inside a function, lambda or class body
        self._in_comprehension_target = False

    def _rebound(self, name: str) -> None:
        # Names bound in a function or a comprehension's `for` stay local to it.
        if self._scope_depth == 0 and not self._in_comprehension_target:
            self.changed.append(name)

    def _mutated(self, node: ast.expr) -> None:
        while isinstance(node, ast.Subscript | ast.Attribute):
            node = node.value
        if isinstance(node, ast.Name):
            if self._scope_depth:
                self.poisoned.add(node.id)
            else:
                self.changed.append(node.id)

    def _nested_scope(self, outer: Iterable[ast.AST | None], inner: Iterable[ast.AST]) -> None:
        for node in outer:
            if node is not None:
                self.visit(node)
        self._scope_depth += 1
        for node in inner:
            self.visit(node)
        self._scope_depth -= 1

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._rebound(node.id)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._mutated(node.value)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._mutated(node.value)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in _MUTATING_METHODS
            and isinstance(func.value, ast.Name)
        ):
            self._mutated(func.value)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        # A walrus binds in the enclosing function even from inside a comprehension.
        self.visit(node.value)
        if self._scope_depth == 0:
            self.changed.append(node.target.id)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is None:
            self.visit(node.annotation)  # a bare annotation binds nothing
        else:
            self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        if self._scope_depth:
            self.poisoned.update(node.names)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._rebound(alias.asname or alias.name.partition(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.star_import = True
            else:
                self._rebound(alias.asname or alias.name)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name is not None:
            self._rebound(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name is not None:
            self._rebound(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name is not None:
            self._rebound(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest is not None:
            self._rebound(node.rest)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._rebound(node.name)
        self._nested_scope([*node.decorator_list, node.args, node.returns], node.body)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._rebound(node.name)
        self._nested_scope([*node.decorator_list, node.args, node.returns], node.body)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._nested_scope([node.args], [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._rebound(node.name)
        self._nested_scope([*node.decorator_list, *node.bases, *node.keywords], node.body)

    def _comprehension(self, generators: list[ast.comprehension], *results: ast.expr) -> None:
        for generator in generators:
            self.visit(generator.iter)
            outer, self._in_comprehension_target = self._in_comprehension_target, True
            self.visit(generator.target)
            self._in_comprehension_target = outer
            for condition in generator.ifs:
                self.visit(condition)
        for result in results:
            self.visit(result)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node.generators, node.elt)

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._comprehension(node.generators, node.elt)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._comprehension(node.generators, node.elt)

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node.generators, node.key, node.value)
