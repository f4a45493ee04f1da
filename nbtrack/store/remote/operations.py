"""Which store operations a server runs for its clients, and how a client names them.

An operation is a module-level function ``op(con, *args, **kwargs)`` that ``Store.read`` (or
``write``, ``write_registry``, ``write_stages``) runs with a DuckDB connection. A client sends
its name, ``module:qualname``; the server runs it only if the module is inside
``nbtrack.store`` (where nbtrack's SQL lives: nothing else is imported on a client's say-so),
the function carries the ``@remote_operation`` mark, and the mark names the kind of call. So
a read never runs a write (``Store.read`` has no transaction around it), and no name a client
makes up reaches anything the store did not offer.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any, Final, Literal, TypeVar, get_args

from nbtrack.errors import InvalidValueError

Kind = Literal["read", "write", "write_registry", "write_stages"]
KINDS: Final[tuple[str, ...]] = get_args(Kind)
# The package whose modules may hold operations; a name outside it is refused unimported.
PACKAGE: Final = "nbtrack.store."
_MARK: Final = "__nbtrack_remote__"

F = TypeVar("F", bound=Callable[..., Any])


def remote_operation(*kinds: Kind) -> Callable[[F], F]:
    """Mark a store function as one a server may run for a client, by these kinds of call.

    >>> @remote_operation("read")
    ... def count_runs(con): ...
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if not kinds or unknown:
        raise ValueError(f"remote_operation takes one or more of {KINDS}, got {kinds}")

    def mark(function: F) -> F:
        setattr(function, _MARK, frozenset(kinds))
        return function

    return mark


def operation_name(operation: Callable[..., Any]) -> str:
    """``module:qualname`` of a marked, module-level operation (what a client sends)."""
    module = getattr(operation, "__module__", "") or ""
    qualname = getattr(operation, "__qualname__", "") or ""
    if not hasattr(operation, _MARK) or "<" in qualname or "." in qualname:
        raise InvalidValueError(
            f"{module}.{qualname} cannot run on an nbtrack server: only module-level store "
            "functions marked @remote_operation can"
        )
    return f"{module}:{qualname}"


def resolve(name: object, kind: object) -> Callable[..., Any]:
    """The operation ``name`` refers to, if a ``kind`` call may run it; else InvalidValueError
    naming what was refused and why."""
    if kind not in KINDS:
        raise InvalidValueError(f"the kind of call {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(name, str) or name.count(":") != 1:
        raise InvalidValueError(
            f"the operation {name!r} is not a name of the form 'module:function'"
        )
    module_name, function_name = name.split(":")
    if not module_name.startswith(PACKAGE) or not function_name.isidentifier():
        raise InvalidValueError(
            f"the operation {name!r} is not a function of a module in {PACKAGE.rstrip('.')}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise InvalidValueError(f"the operation {name!r}: no module {module_name}") from None
    function = getattr(module, function_name, None)
    kinds = getattr(function, _MARK, None)
    if not inspect.isfunction(function) or not isinstance(kinds, frozenset):
        raise InvalidValueError(
            f"the operation {name!r} is not one a server runs for its clients "
            "(no @remote_operation mark)"
        )
    if kind not in kinds:
        raise InvalidValueError(
            f"the operation {name!r} is run by {' or '.join(sorted(kinds))}, not by {kind}"
        )
    return function


def check_arguments(
    operation: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Refuse arguments that do not fit the operation's parameters (after the connection)."""
    try:
        inspect.signature(operation).bind(None, *args, **kwargs)
    except TypeError as exc:
        raise InvalidValueError(
            f"the arguments do not fit {operation.__module__}:{operation.__qualname__}: {exc}"
        ) from None
