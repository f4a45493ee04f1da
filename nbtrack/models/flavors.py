"""Flavors: how one kind of model is written to a directory and read back.

nbtrack ships ``sklearn`` and ``python``; a package adds its own by naming a flavor object
in the entry-point group ``nbtrack.flavors``::

    [project.entry-points."nbtrack.flavors"]
    xgboost = "nbtrack_xgboost:FLAVOR"

or by calling ``register(flavor)``. The most recently registered flavor that accepts a model
saves it: the catch-all ``python`` flavor comes first, so every later one is more specific.

Loading never imports the module an ``MLmodel`` names: ``loader_module`` is looked up among
the registered flavors (an allow-list), so a model directory cannot choose the code that runs.

A flavor may let ``python_function.predict_fn`` name another method than ``predict`` (MLflow's
``pyfunc_predict_fn``, e.g. ``predict_proba``): its ``predict_fns`` attribute lists the names
it accepts; without one, only ``predict``.
"""

from __future__ import annotations

import importlib
import inspect
import keyword
import warnings
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from nbtrack.errors import InvalidValueError
from nbtrack.models.integrity import ModelFiles

GROUP = "nbtrack.flavors"
# Registration order: the generic python flavor first, so that sklearn is tried before it.
_BUILTINS = ("nbtrack.models.python", "nbtrack.models.sklearn")

_registered: list[Flavor] | None = None


class Predictor(Protocol):
    """What a flavor's loader returns: anything with ``predict``."""

    def predict(self, data: Any, /) -> Any: ...


@runtime_checkable
class Flavor(Protocol):
    """One kind of model: how to recognise, save and load it."""

    @property
    def name(self) -> str:
        """Its key under ``flavors`` in MLmodel, e.g. ``"sklearn"``."""
        ...

    @property
    def loader_module(self) -> str:
        """The ``python_function.loader_module`` it writes, and the one it loads."""
        ...

    def accepts(self, model: object) -> bool:
        """Whether it can save ``model`` (cheaply: without importing a framework)."""
        ...

    def save(self, model: object, folder: Path) -> dict[str, dict[str, Any]]:
        """Write the payload into ``folder``; return its ``flavors`` entries for MLmodel.

        ``python_function`` gets ``loader_module``, ``python_version`` and ``env`` from
        ``save_model``; a flavor adds what its loader reads (``model_path``, ...).
        """
        ...

    def load(self, files: ModelFiles, mlmodel: Mapping[str, Any]) -> Predictor:
        """Read the payload back, through ``files`` so its hashes are checked."""
        ...

    def requirements(self) -> list[str]:
        """Distribution names a model of this flavor needs installed; versions are pinned."""
        ...


class Method:
    """A model with one of its methods, chosen by ``predict_fn``, as its ``predict``; params
    reach the method when it takes them, as MLflow passes them."""

    def __init__(self, model: object, method: str) -> None:
        self.model = model
        self._method = getattr(model, method)
        self._takes_params = takes_params(self._method)

    def predict(self, data: Any, /, params: dict[str, Any] | None = None) -> Any:
        if self._takes_params:
            return self._method(data, params=params)
        return self._method(data)


def takes_params(function: Any) -> bool:
    """Whether ``function`` has a ``params`` parameter, which is how MLflow decides to pass a
    prediction's params to a model."""
    try:
        parameter = inspect.signature(function).parameters.get("params")
    except (TypeError, ValueError):  # a builtin or a callable without a signature
        return False
    return parameter is not None and parameter.kind not in (
        inspect.Parameter.VAR_KEYWORD,
        inspect.Parameter.POSITIONAL_ONLY,
    )


PUBLIC_METHODS = "any public method of the model"


def predict_fns(flavor: Flavor) -> tuple[str, ...] | str:
    """The method names ``flavor`` lets ``predict_fn`` choose: a tuple, or ``PUBLIC_METHODS``."""
    names: object = getattr(flavor, "predict_fns", ("predict",))
    if names == PUBLIC_METHODS:
        return PUBLIC_METHODS
    return tuple(names) if isinstance(names, tuple | list) else ("predict",)


def check_predict_fn(flavor: Flavor, method: str, model: object = None) -> str:
    """``method`` if ``flavor`` lets ``predict_fn`` name it (and ``model``, when given, has it).

    A name read from MLmodel is checked too: even a public-method flavor never calls a
    private or special method (``__reduce__``) by a name a file gives.
    """
    accepted = predict_fns(flavor)
    allowed = (
        isinstance(method, str)
        and method.isidentifier()
        and not keyword.iskeyword(method)
        and not method.startswith("_")
        and (accepted == PUBLIC_METHODS or method in accepted)
    )
    if not allowed:
        choices = accepted if isinstance(accepted, str) else ", ".join(accepted)
        raise InvalidValueError(
            f"pyfunc_predict_fn {method!r} is not accepted for the {flavor.name} flavor; "
            f"give one of: {choices}"
        )
    if model is not None and not callable(getattr(model, method, None)):
        raise InvalidValueError(
            f"pyfunc_predict_fn {method!r}: a {type(model).__qualname__} has no such method"
        )
    return method


def register(flavor: Flavor) -> None:
    """Make ``flavor`` available to ``save_model`` and ``load_model``, ahead of earlier ones.

    Examples
    --------
    >>> register(MyFlavor())  # doctest: +SKIP
    """
    if not isinstance(flavor, Flavor):
        raise InvalidValueError(
            f"register: {flavor!r} is not a flavor; give an object with name, loader_module, "
            "accepts, save, load and requirements"
        )
    known = _flavors()
    for other in known:
        if other is not flavor and flavor.name == other.name:
            raise InvalidValueError(f"register: a flavor named {flavor.name!r} is registered")
        if other is not flavor and flavor.loader_module == other.loader_module:
            raise InvalidValueError(
                f"register: flavor {other.name!r} already loads {flavor.loader_module!r}"
            )
    if flavor not in known:
        known.append(flavor)


def flavor_for(model: object) -> Flavor:
    """The flavor that saves ``model``: the most recently registered one that accepts it."""
    for flavor in reversed(_flavors()):
        if flavor.accepts(model):
            return flavor
    if isinstance(model, type):
        raise InvalidValueError(f"{model.__qualname__} is a class; save an instance of it")
    raise InvalidValueError(
        f"no flavor saves a {type(model).__qualname__}; give an object with a predict method "
        f"or a function of a DataFrame, or install a flavor for it (entry points {GROUP!r})"
    )


def flavor_named(name: str) -> Flavor:
    """The registered flavor called ``name``."""
    for flavor in _flavors():
        if flavor.name == name:
            return flavor
    known = ", ".join(sorted(flavor.name for flavor in _flavors()))
    raise InvalidValueError(f"no flavor is named {name!r}; the flavors are {known}")


def flavor_loading(loader_module: str) -> Flavor:
    """The flavor that loads models naming ``loader_module`` (never imported itself)."""
    for flavor in _flavors():
        if flavor.loader_module == loader_module:
            return flavor
    accepted = ", ".join(sorted(flavor.loader_module for flavor in _flavors()))
    raise InvalidValueError(
        f"refusing to load: MLmodel names the loader {loader_module!r}, which nbtrack does not "
        f"run; the loaders it accepts are {accepted}"
    )


def _flavors() -> list[Flavor]:
    """The registry, filled on first use: nothing is imported with nbtrack itself."""
    global _registered
    if _registered is None:
        _registered = [importlib.import_module(name).FLAVOR for name in _BUILTINS]
        for point in entry_points(group=GROUP):
            try:
                flavor = point.load()
                register(flavor)
            except Exception as exc:
                # A broken plug-in must not stop the flavors that work.
                warnings.warn(f"flavor {point.value!r} not loaded: {exc}", stacklevel=3)
    return _registered
